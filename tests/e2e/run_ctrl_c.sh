#!/usr/bin/env bash
# Ctrl-C under MPI, sent as a terminal sends it: SIGINT to the foreground process group.
# 1. kvsweep-mpirun (the command docs print): the points in flight finish and are saved, the rest are
#    left for --resume; exit 3; the last line says what was saved and what is left. Then the newcomer's
#    loop: widen an axis and --resume into the same file.
# 2. Plain mpirun: mpirun SIGTERMs the ranks and SIGKILLs them 1 s later. kvsweep's last line still says
#    how many points were abandoned and to rerun with --resume, and every row in the file is whole. mpirun
#    itself exits 1 (it sets that when it is interrupted, whatever the ranks return: not kvsweep's choice).
# 3. A second Ctrl-C under kvsweep-mpirun ends the job at once: exit 3.
# Usage: bash run_ctrl_c.sh <path-to-kvsweep> <tests-dir>
# shellcheck source=lib/run_common.sh
source "$(dirname "$0")/lib/run_common.sh" "$@"
LAUNCHER=$TESTS/../scripts/kvsweep-mpirun
# 4 points of ~4 s each (the oracle's whole move budget): with 2 workers, 2 in flight and 2 waiting.
sed -e 's/^hbm_capacity_ratio: .*$/hbm_capacity_ratio: [0.2, 0.3, 0.4, 0.5]/' \
  -e 's/moves: 2.0e8/moves: 1.0e8/' "$RUNDATA/long.yaml" >"$WORK/four.yaml"
SWEEP=$WORK/four.yaml
MPI_ARGS=(--oversubscribe -n 3 --bind-to none)

# start_group NAME CMD...: CMD in a process group of its own, as a terminal's foreground job; PID = its
# pid = its group. (Job control on, so that CMD does not start with SIGINT ignored, as background jobs of
# a script otherwise do.) A watchdog kills the group after $LIMIT s.
start_group() {
  local name=$1
  shift
  set -m
  "$@" >"$WORK/$name.out" 2>"$WORK/$name.err" </dev/null &
  PID=$!
  set +m
  BG_PIDS+=("$PID")
  (sleep "$LIMIT"; kill -KILL -- "-$PID") >/dev/null 2>&1 &  # (not holding the test's stdout open)
  WATCHDOG=$!
}
# finish_group NAME: wait for it; RC = its exit code.
finish_group() {
  RC=0
  wait "$PID" 2>/dev/null || RC=$?
  kill "$WATCHDOG" 2>/dev/null || true
}
# ctrl_c: SIGINT to the whole foreground group, as the terminal does.
ctrl_c() { kill -INT -- "-$PID"; }
# in_flight FILE: wait until both workers are evaluating (the file exists and 2 worker ranks run).
in_flight() {
  wait_file "$1" "$PID"
  sleep 1.5  # both workers have their first point: rank 0 hands them out at once
}
last_line() { grep '^kvsweep' "$WORK/$1.err" | tail -n 1; }

# 1. kvsweep-mpirun: Ctrl-C drains.
OUT=$WORK/drain.h5
start_group drain "$LAUNCHER" "${MPI_ARGS[@]}" "$KVSWEEP" run "$SWEEP" -o "$OUT" -q
in_flight "$OUT"
T0=$(date +%s)
ctrl_c
finish_group drain
DT=$(($(date +%s) - T0))
[[ $RC -eq 3 ]] || { show "$WORK/drain.err"; fail "drain: exit code $RC, expected 3"; }
LAST=$(last_line drain)
[[ $LAST == *"stopped by a signal: rerun with --resume to finish; this run wrote 2 ok and 0 failed row(s); 0 point(s) in flight abandoned, 2 not started; $OUT has 2 rows"* ]] ||
  { show "$WORK/drain.err"; fail "drain: last line is '$LAST'"; }
grep -q "kvsweep-mpirun: stopping: no new points" "$WORK/drain.err" || { show "$WORK/drain.err"; fail "drain: no launcher message"; }
[[ $(rows "$OUT") -eq 2 ]] || fail "drain: expected the 2 points in flight saved"
note "drain: Ctrl-C -> both points in flight saved, exit 3, $DT s"
# ... widen an axis and resume into the same file.
sed 's/^hbm_capacity_ratio: .*$/hbm_capacity_ratio: [0.2, 0.3, 0.4, 0.5, 0.6]/' "$SWEEP" >"$WORK/five.yaml"
start_group resume "$LAUNCHER" "${MPI_ARGS[@]}" "$KVSWEEP" run "$WORK/five.yaml" -o "$OUT" --resume -q
finish_group resume
[[ $RC -eq 0 ]] || { show "$WORK/resume.err"; fail "resume: exit code $RC"; }
grep -q "resuming $OUT: 2 of 5 points finished before, 3 new to the file" "$WORK/resume.err" ||
  { show "$WORK/resume.err"; fail "resume: no resume summary"; }
check_complete "$OUT" "$WORK/five.yaml" 5
note "resume: widened axis, 3 points run into the same file ($(($(date +%s) - T0)) s since the Ctrl-C)"

# 2. Plain mpirun: killed a second after Ctrl-C, but honest.
OUT=$WORK/plain.h5
start_group plain mpirun "${MPI_ARGS[@]}" "$KVSWEEP" run "$SWEEP" -o "$OUT" -q
in_flight "$OUT"
T0=$(date +%s)
ctrl_c
finish_group plain
DT=$(($(date +%s) - T0))
[[ $RC -eq 1 ]] || { show "$WORK/plain.err"; fail "plain: mpirun exit code $RC (Open MPI 4.1 exits 1 when interrupted)"; }
LAST=$(last_line plain)
[[ $LAST == *"stopped by a signal: rerun with --resume to finish; this run wrote 0 ok and 0 failed row(s); 2 point(s) in flight abandoned, 2 not started; $OUT has 0 rows"*"kvsweep-mpirun"* ]] ||
  { show "$WORK/plain.err"; fail "plain: last line is '$LAST'"; }
[[ $(rows "$OUT") -eq 0 ]] || fail "plain: rows in the file, but no point could finish"
[[ $DT -le 5 ]] || fail "plain: took $DT s"
note "plain mpirun: Ctrl-C -> honest last line, file readable, mpirun exit 1, $DT s"
HDF5_USE_FILE_LOCKING=FALSE "$PY" - "$OUT" <<'PY' || fail "plain: the file does not resume"
import sys, h5py
with h5py.File(sys.argv[1], "r") as f:
    assert f["points"].shape[0] == 0 and "end_time" not in f.attrs
PY

# 3. Two Ctrl-C under kvsweep-mpirun: the job ends now.
OUT=$WORK/twice.h5
start_group twice "$LAUNCHER" "${MPI_ARGS[@]}" "$KVSWEEP" run "$SWEEP" -o "$OUT" -q
in_flight "$OUT"
T0=$(date +%s)
ctrl_c
sleep 0.5
ctrl_c
finish_group twice
DT=$(($(date +%s) - T0))
[[ $RC -eq 3 ]] || { show "$WORK/twice.err"; fail "twice: exit code $RC, expected 3"; }
[[ $DT -le 5 ]] || fail "twice: took $DT s after the second Ctrl-C"
grep -q "kvsweep-mpirun: ending the job now" "$WORK/twice.err" || { show "$WORK/twice.err"; fail "twice: no message"; }
LAST=$(last_line twice)
[[ $LAST == *"point(s) in flight abandoned"*"rerun with"* || $LAST == *"rerun with --resume"* ]] ||
  { show "$WORK/twice.err"; fail "twice: last line is '$LAST'"; }
rows "$OUT" >/dev/null || fail "twice: file unreadable"
note "twice: second Ctrl-C -> exit 3 after $DT s"
echo "PASS"
