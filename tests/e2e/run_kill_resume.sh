#!/usr/bin/env bash
# kill -9 in the middle of a sweep, then --resume: every point ends with exactly one ok row, and the rows
# written before the kill are kept byte for byte. Three ways to die:
#   1. an in-process run (kill -9 kvsweep);
#   2. mpirun -n 3, kill -9 of rank 0 (the writer): mpirun must end the job; resumed in-process (a file
#      is resumable whichever way it was started);
#   3. mpirun -n 2, kill -9 of mpirun itself: its orphaned ranks must go away on their own; resumed with
#      mpirun -n 3.
# Usage: bash run_kill_resume.sh <path-to-kvsweep> <tests-dir>
# shellcheck source=lib/run_common.sh
source "$(dirname "$0")/lib/run_common.sh" "$@"
SWEEP=$RUNDATA/slow.yaml  # 16 points of ~0.15 s
MIN_ROWS=3

# After a kill: the file is readable, has fewer rows than points (else the sweep is too short to test
# anything), and its rows are saved; then --resume finishes it with exactly one ok row per point.
after_kill() {
  local tag=$1 out=$2 n
  n=$(rows "$out") || fail "$tag: $out unreadable after kill -9"
  [[ $n -ge $MIN_ROWS ]] || fail "$tag: $n rows after kill -9, expected at least $MIN_ROWS"
  [[ $n -lt 16 ]] || fail "$tag: all 16 points finished before the kill; the test sweep is too short"
  note "$tag: killed with $n rows written"
  save_rows "$out" "$WORK/$tag.rows"
}

# 1. in-process
OUT=$WORK/inproc.h5
start_kv inproc run "$SWEEP" -o "$OUT" -q
KV=$(child_of "$BG")
wait_rows "$OUT" "$MIN_ROWS" "$KV" >/dev/null
kill -9 "$KV"
wait_bg inproc "$BG"
[[ $RC -eq 137 ]] || fail "inproc: exit code $RC after kill -9, expected 137"
after_kill inproc "$OUT"
# Resuming without --resume is refused; with it, only the missing points run.
run_kv inproc-again run "$SWEEP" -o "$OUT" -q
expect_rc inproc-again 2
run_kv inproc-resume run "$SWEEP" -o "$OUT" --resume -q
expect_rc inproc-resume 0
check_prefix "$OUT" "$WORK/inproc.rows"
check_complete "$OUT" "$SWEEP" 16
# A second --resume has nothing to do: no new row, exit 0.
run_kv inproc-noop run "$SWEEP" -o "$OUT" --resume -q
expect_rc inproc-noop 0
[[ $(rows "$OUT") -eq 16 ]] || fail "a --resume of a finished file added rows"

# 2. mpirun -n 3, kill -9 rank 0
OUT=$WORK/rank0.h5
start_mpi rank0 3 run "$SWEEP" -o "$OUT" -q
MPI=$(child_of "$BG")
R0=$(rank_pid "$MPI" 0)
R1=$(rank_pid "$MPI" 1)
R2=$(rank_pid "$MPI" 2)
wait_rows "$OUT" "$MIN_ROWS" "$R0" >/dev/null
T0=$(date +%s)
kill -9 "$R0"
wait_bg rank0 "$BG"
[[ $RC -ne 0 ]] || fail "rank0: mpirun exited 0 after rank 0 was killed"
[[ $(($(date +%s) - T0)) -le 20 ]] || fail "rank0: mpirun took more than 20 s to end after rank 0 died"
wait_gone 10 "$R1" "$R2"
note "rank0: mpirun exit code $RC"
after_kill rank0 "$OUT"
run_kv rank0-resume run "$SWEEP" -o "$OUT" --resume -q
expect_rc rank0-resume 0
check_prefix "$OUT" "$WORK/rank0.rows"
check_complete "$OUT" "$SWEEP" 16

# 3. mpirun -n 2, kill -9 mpirun. Its ranks are orphaned and keep running for about a second (rank 0 may
# write one more row) before they notice; wait for them, then resume.
OUT=$WORK/mpirun.h5
start_mpi mpirun 2 run "$SWEEP" -o "$OUT" -q
MPI=$(child_of "$BG")
R0=$(rank_pid "$MPI" 0)
R1=$(rank_pid "$MPI" 1)
wait_rows "$OUT" "$MIN_ROWS" "$R0" >/dev/null
kill -9 "$MPI"
wait_bg mpirun "$BG"
wait_gone 15 "$R0" "$R1"
note "mpirun: exit code $RC (kill -9)"
after_kill mpirun "$OUT"
run_mpi mpirun-resume 3 run "$SWEEP" -o "$OUT" --resume -q
expect_rc mpirun-resume 0
check_prefix "$OUT" "$WORK/mpirun.rows"
check_complete "$OUT" "$SWEEP" 16
echo "PASS run_kill_resume"
