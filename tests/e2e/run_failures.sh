#!/usr/bin/env bash
# A point that throws at evaluation time becomes a row with status "failed" and its error; the run goes
# on with the other points and exits 1. --resume retries only the failed point (attempt 2, 3, ...) until
# --max-attempts; once its input is fixed, a retry succeeds and its ok row is the latest. Failure rows
# travel from MPI workers too.
# Usage: bash run_failures.sh <path-to-kvsweep> <tests-dir>
# shellcheck source=lib/run_common.sh
source "$(dirname "$0")/lib/run_common.sh" "$@"
# A copy, so that the corrupt trace file can be repaired later (trace files are found beside the YAML).
cp "$RUNDATA/failing.yaml" "$RUNDATA/good_trace.csv" "$RUNDATA/corrupt_trace.csv" "$WORK/"
SWEEP=$WORK/failing.yaml
OUT=$WORK/out.h5
BAD=$(timeout "$LIMIT" "$KVSWEEP" expand "$SWEEP" --format json 2>/dev/null | "$PY" -c '
import json, sys
print(next(p["point_id"] for p in json.load(sys.stdin)["points"] if "corrupt" in p["trace"]))')
[[ -n $BAD ]] || fail "no point of the sweep reads corrupt_trace.csv"

# check_rows FILE NROWS "ATTEMPT STATUS ..." : the table has NROWS rows; the rows of the corrupt point are,
# in order, the given (attempt, status) pairs; every other point has one ok row, attempt 1.
check_rows() {
  "$PY" - "$1" "$2" "$BAD" "$3" <<'PY'
import math, sys, pandas as pd
path, nrows, bad, want = sys.argv[1], int(sys.argv[2]), sys.argv[3], sys.argv[4].split()
df = pd.read_hdf(path, "points")
assert len(df) == nrows, f"{path}: {len(df)} rows, expected {nrows}"
mine = df[df.point_id == bad]
got = [x for a, s in zip(mine.attempt, mine.status) for x in (str(a), s)]
assert got == want, f"{path}: rows of the corrupt point (attempt, status): {got}, expected {want}"
for _, r in mine[mine.status == "failed"].iterrows():
    assert "corrupt_trace.csv" in r.error and "appears more than once" in r.error, r.error
    assert math.isnan(r.static_total_time_s) and math.isnan(r.oracle_total_time_s) and math.isnan(r.lower_bound_s)
for _, r in mine[mine.status == "ok"].iterrows():
    assert r.error == "" and r.oracle_total_time_s > 0
rest = df[df.point_id != bad]
assert (rest.status == "ok").all() and (rest.attempt == 1).all() and rest.point_id.is_unique, rest[["point_id", "status", "attempt"]]
assert (rest.error == "").all()
assert len(rest) == 5, f"{len(rest)} rows of the 5 good points"
print(f"{path}: {nrows} rows; corrupt point: {' '.join(want)}")
PY
}

# 1. First run: one failed row, five ok rows, exit 1, the failure named on stderr.
run_kv first run "$SWEEP" -o "$OUT" -q
expect_rc first 1
grep -q "kvsweep: point $BAD (.*) failed: .*corrupt_trace.csv:5: .*appears more than once" "$WORK/first.err" ||
  { show "$WORK/first.err"; fail "first: stderr does not name the failed point and its error"; }
grep -q "5 ok, 1 failed" "$WORK/first.err" || { show "$WORK/first.err"; fail "first: summary is not '5 ok, 1 failed'"; }
check_rows "$OUT" 6 "1 failed"

# 2. --resume retries the failed point only: attempt 2 (still failing), exit 1.
run_kv second run "$SWEEP" -o "$OUT" --resume -q
expect_rc second 1
grep -q "0 ok, 1 failed, 5 skipped" "$WORK/second.err" || { show "$WORK/second.err"; fail "second: summary"; }
check_rows "$OUT" 7 "1 failed 2 failed"

# 3. --max-attempts 2: the point has failed twice, so nothing runs; still exit 1 (a point is not ok).
run_kv capped run "$SWEEP" -o "$OUT" --resume --max-attempts 2 -q
expect_rc capped 1
grep -q "0 ok, 0 failed, 6 skipped" "$WORK/capped.err" || { show "$WORK/capped.err"; fail "capped: summary"; }
check_rows "$OUT" 7 "1 failed 2 failed"

# 4. The default (3 attempts) allows one more; then the cap is reached.
run_kv third run "$SWEEP" -o "$OUT" --resume -q
expect_rc third 1
check_rows "$OUT" 8 "1 failed 2 failed 3 failed"
run_kv fourth run "$SWEEP" -o "$OUT" --resume -q
expect_rc fourth 1
check_rows "$OUT" 8 "1 failed 2 failed 3 failed"

# 5. Repair the trace file and allow more attempts: attempt 4 succeeds, exit 0, the latest row is ok.
cp "$WORK/good_trace.csv" "$WORK/corrupt_trace.csv"
run_kv fixed run "$SWEEP" -o "$OUT" --resume --max-attempts 5 -q
expect_rc fixed 0
check_rows "$OUT" 9 "1 failed 2 failed 3 failed 4 ok"
check_complete "$OUT" "$SWEEP" 9

# 6. The same failure under mpirun -n 2: the worker's failed row reaches the file, exit 1; a resume under
# mpirun retries it as attempt 2.
cp "$RUNDATA/corrupt_trace.csv" "$WORK/corrupt_trace.csv"
run_mpi mpi 2 run "$SWEEP" -o "$WORK/mpi.h5" -q
expect_rc mpi 1
grep -q "kvsweep: point $BAD (.*) failed: .*appears more than once" "$WORK/mpi.err" ||
  { show "$WORK/mpi.err"; fail "mpi: stderr does not name the failed point"; }
check_rows "$WORK/mpi.h5" 6 "1 failed"
run_mpi mpi-resume 3 run "$SWEEP" -o "$WORK/mpi.h5" --resume -q
expect_rc mpi-resume 1
check_rows "$WORK/mpi.h5" 7 "1 failed 2 failed"
echo "PASS run_failures"
