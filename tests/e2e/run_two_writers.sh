#!/usr/bin/env bash
# Two kvsweep runs on one results file with HDF5's own file locking off (HDF5_USE_FILE_LOCKING=FALSE, as
# a user who reads results while a sweep runs may set it): the second run, with --force or --resume, is
# refused at once (exit 2, one line naming the file and the run that holds it), the file is left alone,
# and the first run completes a readable file. Issue 27 item 3: both exited 0 and the file no longer
# opened; two --resume runs computed every point twice.
# Usage: bash run_two_writers.sh <path-to-kvsweep> <tests-dir>
# shellcheck source=lib/run_common.sh
source "$(dirname "$0")/lib/run_common.sh" "$@"
export HDF5_USE_FILE_LOCKING=FALSE
SWEEP=$RUNDATA/slow.yaml  # 16 points, ~2.5 s in-process
OUT=$WORK/c.h5

for second in force resume mpi; do
  rm -f "$OUT"
  start_kv first-$second run "$SWEEP" -o "$OUT" -q
  FIRST=$(child_of "$BG")
  wait_rows "$OUT" 1 "$FIRST" >/dev/null
  case $second in
    force) run_kv second-$second run "$RUNDATA/grid.yaml" -o "$OUT" --force -q ;;
    resume) run_kv second-$second run "$SWEEP" -o "$OUT" --resume -q ;;
    mpi) run_mpi second-$second 2 run "$SWEEP" -o "$OUT" --resume -q ;;
  esac
  expect_rc second-$second 2
  grep -q "^kvsweep: error: $OUT: another kvsweep run is writing it (its lock $OUT.lock is held by pid $FIRST on " \
    "$WORK/second-$second.err" || { show "$WORK/second-$second.err"; fail "second-$second: message"; }
  alive "$FIRST" || fail "second-$second: the first run ended before the second was refused: the test proves nothing"
  wait_bg first-$second "$BG"
  expect_rc first-$second 0
  check_complete "$OUT" "$SWEEP" 16
  [[ ! -e $OUT.lock ]] || fail "$OUT.lock left after the run"
done
echo "PASS run_two_writers"
