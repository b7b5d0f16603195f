# shellcheck shell=bash
# Shared helpers of the `kvsweep run` end-to-end tests (tests/e2e/run_*.sh). Sourced, never run: it lives
# in a subfolder because every tests/e2e/*.sh is a test.
#
#   source "$(dirname "$0")/lib/run_common.sh" "$@"    # $1 = path to kvsweep, $2 = the tests directory
#
# Sets KVSWEEP, TESTS, RUNDATA (tests/data/sweeps/run), WORK (a fresh temporary directory, removed at exit
# together with every background process the test started) and the MPI environment (root, oversubscribe).
# Every kvsweep/mpirun call goes through `timeout`, so that nothing can hang CI.
set -euo pipefail

KVSWEEP=$(realpath "$1")
TESTS=$(realpath "$2")
# shellcheck disable=SC2034  # used by the tests that source this file
RUNDATA=$TESTS/data/sweeps/run
PY=/usr/bin/python3                 # Debian's python3-h5py/-pandas/-tables are for this interpreter
LIMIT=${KVSWEEP_E2E_TIMEOUT:-120}   # seconds any single kvsweep/mpirun call may take
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1  # CI runs as root
MPIRUN=(mpirun --oversubscribe)

WORK=$(mktemp -d)
BG_PIDS=()  # `timeout` processes started in the background by start_kv / start_mpi

# Every descendant of a process (children first found by their parent id), deepest last.
descendants() {
  local p
  for p in $(pgrep -P "$1" 2>/dev/null || true); do
    echo "$p"
    descendants "$p"
  done
}

cleanup() {
  local rc=$? p
  for p in "${BG_PIDS[@]}"; do
    if kill -0 "$p" 2>/dev/null; then
      for d in $(descendants "$p"); do kill -9 "$d" 2>/dev/null || true; done
      kill -9 "$p" 2>/dev/null || true
    fi
  done
  rm -rf "$WORK"
  exit "$rc"
}
trap cleanup EXIT

fail() {
  echo "FAIL: $*" >&2
  exit 1
}

note() { echo "-- $*"; }

# Show a command's stderr (for a failure message).
show() { echo "---- $1 ----" >&2; cat "$1" >&2 || true; echo "----" >&2; }

# run_kv NAME ARGS...: kvsweep in the foreground; RC = its exit code, stdout/stderr in $WORK/NAME.{out,err}.
run_kv() {
  local name=$1
  shift
  RC=0
  timeout "$LIMIT" "$KVSWEEP" "$@" >"$WORK/$name.out" 2>"$WORK/$name.err" || RC=$?
  [[ $RC -ne 124 ]] || { show "$WORK/$name.err"; fail "$name: kvsweep $* did not end within $LIMIT s"; }
}

# run_mpi NAME NRANKS ARGS...: as run_kv under mpirun -n NRANKS.
run_mpi() {
  local name=$1 n=$2
  shift 2
  RC=0
  timeout "$LIMIT" "${MPIRUN[@]}" -n "$n" "$KVSWEEP" "$@" >"$WORK/$name.out" 2>"$WORK/$name.err" || RC=$?
  [[ $RC -ne 124 ]] || { show "$WORK/$name.err"; fail "$name: mpirun -n $n kvsweep $* did not end within $LIMIT s"; }
}

# expect_rc NAME WANT: the last run_kv/run_mpi/wait_bg gave exit code WANT.
expect_rc() {
  [[ $RC -eq $2 ]] || { show "$WORK/$1.err"; fail "$1: exit code $RC, expected $2"; }
}

# start_kv NAME ARGS... / start_mpi NAME NRANKS ARGS...: in the background; BG = the pid of `timeout`
# (kvsweep or mpirun is its only child).
start_kv() {
  local name=$1
  shift
  timeout "$LIMIT" "$KVSWEEP" "$@" >"$WORK/$name.out" 2>"$WORK/$name.err" &
  BG=$!
  BG_PIDS+=("$BG")
}
start_mpi() {
  local name=$1 n=$2
  shift 2
  timeout "$LIMIT" "${MPIRUN[@]}" -n "$n" "$KVSWEEP" "$@" >"$WORK/$name.out" 2>"$WORK/$name.err" &
  BG=$!
  BG_PIDS+=("$BG")
}

# wait_bg NAME PID: wait for a background run; RC = its exit code (fails on the timeout's 124).
wait_bg() {
  RC=0
  wait "$2" 2>/dev/null || RC=$?  # (quiet: bash would report a killed job)
  [[ $RC -ne 124 ]] || { show "$WORK/$1.err"; fail "$1: did not end within $LIMIT s"; }
}

# child_of PID: the (first) child process of PID, waiting up to 10 s for it to appear.
child_of() {
  local i c
  for ((i = 0; i < 200; i++)); do
    c=$(pgrep -P "$1" 2>/dev/null | head -n 1 || true)
    [[ -n $c ]] && { echo "$c"; return 0; }
    sleep 0.05
  done
  fail "process $1 has no child after 10 s"
}

# rank_pid MPIRUN_PID RANK: the process of MPI rank RANK among mpirun's children (from the
# OMPI_COMM_WORLD_RANK in its environment), waiting up to 10 s for it.
rank_pid() {
  local i p r
  for ((i = 0; i < 200; i++)); do
    for p in $(pgrep -P "$1" 2>/dev/null || true); do
      r=$(tr '\0' '\n' <"/proc/$p/environ" 2>/dev/null | sed -n 's/^OMPI_COMM_WORLD_RANK=//p' || true)
      [[ $r == "$2" ]] && { echo "$p"; return 0; }
    done
    sleep 0.05
  done
  fail "no rank $2 among the children of mpirun ($1) after 10 s"
}

# alive PID: the process exists and is not a zombie.
alive() {
  [[ -e /proc/$1 ]] && ! grep -q '^State:[[:space:]]*Z' "/proc/$1/status" 2>/dev/null
}

# wait_gone SECONDS PID...: wait until none of the processes is alive; fail after SECONDS.
wait_gone() {
  local limit=$1 p any i
  shift
  for ((i = 0; i < limit * 20; i++)); do
    any=0
    for p in "$@"; do alive "$p" && any=1; done
    [[ $any -eq 0 ]] && return 0
    sleep 0.05
  done
  fail "processes $* still alive after $limit s"
}

# wait_file PATH PID: wait until PATH exists (the run has installed its signal handlers and created the
# file); fail if PID ends first or after 30 s.
wait_file() {
  local i
  for ((i = 0; i < 600; i++)); do
    [[ -e $1 ]] && return 0
    alive "$2" || fail "the run ($2) ended before creating $1"
    sleep 0.05
  done
  fail "$1 not created within 30 s"
}

# rows FILE: the number of rows of /points (the file may be open in a writer).
rows() {
  HDF5_USE_FILE_LOCKING=FALSE "$PY" - "$1" <<'PY'
import sys, h5py
with h5py.File(sys.argv[1], "r") as f:
    print(f["points"].shape[0])
PY
}

# has_end_time FILE: prints yes or no (the root attribute end_time, written when a run completes).
has_end_time() {
  HDF5_USE_FILE_LOCKING=FALSE "$PY" - "$1" <<'PY'
import sys, h5py
with h5py.File(sys.argv[1], "r") as f:
    print("yes" if "end_time" in f.attrs else "no")
PY
}

# wait_rows FILE N PID: poll the row count (the writer flushes after every row) until it reaches N; fail if
# PID ends first (then the sweep is too short for the test) or after 60 s. Prints the count seen.
wait_rows() {
  HDF5_USE_FILE_LOCKING=FALSE "$PY" - "$@" <<'PY'
import os, sys, time, h5py
path, want, pid = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
def alive(p):
    try:
        with open(f"/proc/{p}/status") as s:
            return not any(l.startswith("State:") and "Z" in l.split()[1] for l in s)
    except FileNotFoundError:
        return False
deadline = time.time() + 60
n = -1
while time.time() < deadline:
    try:
        with h5py.File(path, "r") as f:
            n = f["points"].shape[0]
    except Exception:  # not created yet, or caught mid-write: try again
        pass
    if n >= want:
        print(n)
        sys.exit(0)
    if not alive(pid):
        sys.exit(f"FAIL: the run ({pid}) ended with {n} rows in {path}, before {want} were written")
    time.sleep(0.02)
sys.exit(f"FAIL: {path} has {n} rows after 60 s, expected {want}")
PY
}

# point_ids SWEEP: every point id of a sweep, one a line (from `kvsweep expand --format json`).
point_ids() {
  timeout "$LIMIT" "$KVSWEEP" expand "$1" --format json 2>/dev/null |
    "$PY" -c 'import json, sys; print("\n".join(p["point_id"] for p in json.load(sys.stdin)["points"]))'
}

# check_complete FILE SWEEP [MAX_ROWS]: every point of SWEEP has exactly one ok row and it is the point's
# latest row, no row names a point outside the sweep, and (optionally) the table has at most MAX_ROWS rows.
check_complete() {
  point_ids "$2" >"$WORK/ids.txt"
  HDF5_USE_FILE_LOCKING=FALSE "$PY" - "$1" "$WORK/ids.txt" "${3:-}" <<'PY'
import sys, pandas as pd
path, ids_file, max_rows = sys.argv[1], sys.argv[2], sys.argv[3]
ids = open(ids_file).read().split()
assert ids, "no point ids from kvsweep expand"
df = pd.read_hdf(path, "points")
stray = set(df.point_id) - set(ids)
assert not stray, f"{path}: rows of points not in the sweep: {sorted(stray)}"
ok = df[df.status == "ok"]
counts = ok.point_id.value_counts()
missing = [i for i in ids if i not in counts]
dups = counts[counts > 1]
assert not missing, f"{path}: {len(missing)} of {len(ids)} points have no ok row: {missing}"
assert dups.empty, f"{path}: points with more than one ok row: {dups.to_dict()}"
latest = df.drop_duplicates("point_id", keep="last").set_index("point_id").status
assert (latest == "ok").all(), f"{path}: latest row not ok: {latest[latest != 'ok'].to_dict()}"
if max_rows:
    assert len(df) <= int(max_rows), f"{path}: {len(df)} rows, expected at most {max_rows}"
print(f"{path}: {len(ids)} points, one ok row each ({len(df)} rows)")
PY
}

# save_rows FILE OUT: the table's raw records (every column, bytes as written) into OUT.
save_rows() {
  HDF5_USE_FILE_LOCKING=FALSE "$PY" - "$1" "$2" <<'PY'
import sys, h5py
with h5py.File(sys.argv[1], "r") as f:
    open(sys.argv[2], "wb").write(f["points"][:].tobytes())
PY
}

# check_prefix FILE SAVED: the first rows of FILE are byte for byte the rows saved by save_rows.
check_prefix() {
  HDF5_USE_FILE_LOCKING=FALSE "$PY" - "$1" "$2" <<'PY'
import sys, h5py
before = open(sys.argv[2], "rb").read()
with h5py.File(sys.argv[1], "r") as f:
    after = f["points"][:]
size = after.dtype.itemsize
assert len(before) % size == 0, "the row layout changed"
n = len(before) // size
assert len(after) >= n, f"{sys.argv[1]}: {len(after)} rows, fewer than the {n} written before"
assert after[:n].tobytes() == before, f"{sys.argv[1]}: the first {n} rows changed"
print(f"{sys.argv[1]}: the {n} rows written before are unchanged")
PY
}

# same_metrics FILE_A FILE_B: one ok row per point in each, and after sorting by point_id every column is
# identical (NaN equals NaN) except those that depend on timing or placement.
same_metrics() {
  "$PY" - "$1" "$2" <<'PY'
import re, sys, numpy as np, pandas as pd
a, b = (pd.read_hdf(p, "points") for p in sys.argv[1:3])
volatile = re.compile(r"wall|cpu_s|trace_s|time_unix|start|end|host|rank")
for name, df in zip(sys.argv[1:3], (a, b)):
    assert (df.status == "ok").all() and df.point_id.is_unique, f"{name}: not exactly one ok row per point"
assert list(a.columns) == list(b.columns), "different columns"
a, b = (df.sort_values("point_id").reset_index(drop=True) for df in (a, b))
assert list(a.point_id) == list(b.point_id), "different points"
cols = [c for c in a.columns if not volatile.search(c)]
for must in ("oracle_total_time_s", "sa_guided_total_time_s", "sa_window", "oracle_moves_accepted", "lower_bound_s"):
    assert must in cols, must
diff = []
for c in cols:
    x, y = a[c].to_numpy(), b[c].to_numpy()
    if x.dtype.kind == "f":
        same = (x == y) | (np.isnan(x) & np.isnan(y))
    else:
        same = x == y
    if not same.all():
        i = int(np.argmin(same))
        diff.append(f"{c} (point {a.point_id[i]}: {x[i]!r} vs {y[i]!r})")
assert not diff, f"{sys.argv[1]} vs {sys.argv[2]}: {len(diff)} columns differ: " + "; ".join(diff[:8])
print(f"{sys.argv[1]} == {sys.argv[2]}: {len(cols)} columns x {len(a)} points identical")
PY
}
