#!/usr/bin/env bash
# Stop signals: SIGTERM (and SIGUSR1, Slurm's warning signal) stop a run after the point in progress: exit
# code 3, a message on stderr, a readable file with the finished rows; --resume then completes every point
# exactly once. A second signal stops at once; --grace bounds the wait for the point in progress.
# Under mpirun the signal goes to rank 0 (the master), or SIGUSR1 to mpirun, which forwards it to every
# rank. (SIGTERM to mpirun itself is mpirun's business: it forwards SIGTERM to the ranks, SIGKILLs them ~2 s
# later whatever --grace says, and exits 1; not tested here.)
# Usage: bash run_signal.sh <path-to-kvsweep> <tests-dir>
# shellcheck source=lib/run_common.sh
source "$(dirname "$0")/lib/run_common.sh" "$@"
SWEEP=$RUNDATA/slow.yaml  # 16 points of ~0.15 s
LONG=$RUNDATA/long.yaml   # 2 points of ~8 s

# stop_and_resume TAG SIGNAL SIGNUM: an in-process run, SIGNAL after 2 rows, then --resume.
stop_and_resume() {
  local tag=$1 sig=$2 num=$3 out=$WORK/$1.h5 kv seen n t0 dt
  start_kv "$tag" run "$SWEEP" -o "$out"
  kv=$(child_of "$BG")
  seen=$(wait_rows "$out" 2 "$kv")
  t0=$(date +%s%N)
  kill -"$sig" "$kv"
  wait_bg "$tag" "$BG"
  dt=$((($(date +%s%N) - t0) / 1000000))
  expect_rc "$tag" 3
  grep -q "kvsweep: signal $num: finishing the point in progress" "$WORK/$tag.err" ||
    { show "$WORK/$tag.err"; fail "$tag: no message about signal $num on stderr"; }
  grep -q "stopped by a signal: rerun with --resume" "$WORK/$tag.err" ||
    { show "$WORK/$tag.err"; fail "$tag: no 'stopped by a signal' summary"; }
  n=$(rows "$out") || fail "$tag: $out unreadable after SIG$sig"
  [[ $n -ge $seen && $n -lt 16 ]] || fail "$tag: $n rows after SIG$sig (seen $seen before it); expected $seen..15"
  [[ $dt -lt 10000 ]] || fail "$tag: took $dt ms to stop after SIG$sig"
  [[ $(has_end_time "$out") == no ]] || fail "$tag: end_time written on a stopped run"
  note "$tag: SIG$sig with $seen rows written -> exit 3 after $dt ms with $n rows"
  save_rows "$out" "$WORK/$tag.rows"
  run_kv "$tag-resume" run "$SWEEP" -o "$out" --resume -q
  expect_rc "$tag-resume" 0
  check_prefix "$out" "$WORK/$tag.rows"
  check_complete "$out" "$SWEEP" 16
  [[ $(has_end_time "$out") == yes ]] || fail "$tag-resume: no end_time after the run completed"
}

# 1. SIGTERM and SIGUSR1, in-process
stop_and_resume term TERM 15
stop_and_resume usr1 USR1 10

# 2. A second signal ends the run at once, while the first waits for the point in progress.
OUT=$WORK/twice.h5
start_kv twice run "$LONG" -o "$OUT" -q
KV=$(child_of "$BG")
wait_file "$OUT" "$KV"
sleep 0.3
kill -TERM "$KV"
sleep 1
alive "$KV" || { show "$WORK/twice.err"; fail "twice: the run ended 1 s after one SIGTERM (grace 60 s, a point of ~8 s)"; }
T0=$(date +%s%N)
kill -TERM "$KV"
wait_bg twice "$BG"
DT=$((($(date +%s%N) - T0) / 1000000))
expect_rc twice 3
grep -q "second signal: stopping now" "$WORK/twice.err" || { show "$WORK/twice.err"; fail "twice: no second-signal message"; }
[[ $DT -lt 3000 ]] || fail "twice: took $DT ms to stop after the second signal"
N=$(rows "$OUT") || fail "twice: $OUT unreadable"
[[ $N -eq 0 ]] || fail "twice: $N rows, but no point can have finished"
note "twice: second SIGTERM -> exit 3 after $DT ms"

# 3. --grace: the point in progress is abandoned when the grace period runs out.
OUT=$WORK/grace.h5
start_kv grace run "$LONG" -o "$OUT" -q --grace 0.5
KV=$(child_of "$BG")
wait_file "$OUT" "$KV"
sleep 0.3
T0=$(date +%s%N)
kill -TERM "$KV"
wait_bg grace "$BG"
DT=$((($(date +%s%N) - T0) / 1000000))
expect_rc grace 3
grep -q "grace period over" "$WORK/grace.err" || { show "$WORK/grace.err"; fail "grace: no 'grace period over' message"; }
[[ $DT -ge 400 && $DT -lt 5000 ]] || fail "grace: stopped $DT ms after SIGTERM with --grace 0.5"
N=$(rows "$OUT") || fail "grace: $OUT unreadable"
[[ $N -eq 0 ]] || fail "grace: $N rows, but no point can have finished"
note "grace: --grace 0.5 -> exit 3 after $DT ms"

# The same two under mpirun -n 2, signalling rank 0: the second signal (or the end of the grace period)
# aborts the job (MPI_Abort with code 3, which mpirun passes on).
for mode in twice grace; do
  tag=mpi-$mode
  OUT=$WORK/$tag.h5
  if [[ $mode == twice ]]; then start_mpi "$tag" 2 run "$LONG" -o "$OUT" -q; else start_mpi "$tag" 2 run "$LONG" -o "$OUT" -q --grace 0.5; fi
  MPI=$(child_of "$BG")
  R0=$(rank_pid "$MPI" 0)
  R1=$(rank_pid "$MPI" 1)
  wait_file "$OUT" "$R0"
  sleep 0.3
  kill -TERM "$R0"
  if [[ $mode == twice ]]; then
    sleep 1
    alive "$R0" || { show "$WORK/$tag.err"; fail "$tag: rank 0 ended 1 s after one SIGTERM"; }
    kill -TERM "$R0"
  fi
  T0=$(date +%s%N)
  wait_bg "$tag" "$BG"
  DT=$((($(date +%s%N) - T0) / 1000000))
  expect_rc "$tag" 3
  [[ $DT -lt 10000 ]] || fail "$tag: the job took $DT ms to end"
  wait_gone 10 "$R0" "$R1"
  N=$(rows "$OUT") || fail "$tag: $OUT unreadable"
  [[ $N -eq 0 ]] || fail "$tag: $N rows, but no point can have finished"
  note "$tag: exit 3, job ended $DT ms after the last signal"
done

# 4. mpirun -n 3: SIGTERM to rank 0 stops the run (the workers finish their points), exit 3 through
# mpirun; SIGUSR1 to mpirun is forwarded to every rank, with the same result. Then --resume completes.
# mpi_stop TAG SIGNAL SIGNUM TARGET(rank0|mpirun)
mpi_stop() {
  local tag=$1 sig=$2 num=$3 target=$4 out=$WORK/$1.h5 mpi r0 seen n
  start_mpi "$tag" 3 run "$SWEEP" -o "$out"
  mpi=$(child_of "$BG")
  r0=$(rank_pid "$mpi" 0)
  seen=$(wait_rows "$out" 2 "$r0")
  if [[ $target == rank0 ]]; then kill -"$sig" "$r0"; else kill -"$sig" "$mpi"; fi
  wait_bg "$tag" "$BG"
  expect_rc "$tag" 3
  grep -q "kvsweep: signal $num: no new points" "$WORK/$tag.err" ||
    { show "$WORK/$tag.err"; fail "$tag: no message about signal $num from rank 0"; }
  n=$(rows "$out") || fail "$tag: $out unreadable"
  [[ $n -ge $seen && $n -lt 16 ]] || fail "$tag: $n rows after SIG$sig (seen $seen before it); expected $seen..15"
  note "$tag: SIG$sig to $target with $seen rows -> exit 3 with $n rows"
  run_mpi "$tag-resume" 3 run "$SWEEP" -o "$out" --resume -q
  expect_rc "$tag-resume" 0
  check_complete "$out" "$SWEEP" 16
}
mpi_stop mpi-term TERM 15 rank0
mpi_stop mpi-usr1 USR1 10 mpirun
echo "PASS run_signal"
