#!/usr/bin/env bash
# A worker rank that dies (kill -9) while points are in flight ends the whole job -- no hang: mpirun stops
# every rank well before the timeout -- and the file keeps every row written; --resume then completes
# every point exactly once.
# Usage: bash run_worker_dies.sh <path-to-kvsweep> <tests-dir>
# shellcheck source=lib/run_common.sh
source "$(dirname "$0")/lib/run_common.sh" "$@"
SWEEP=$RUNDATA/slow.yaml  # 16 points of ~0.15 s
OUT=$WORK/out.h5

start_mpi dies 3 run "$SWEEP" -o "$OUT" -q
MPI=$(child_of "$BG")
R0=$(rank_pid "$MPI" 0)
R1=$(rank_pid "$MPI" 1)
R2=$(rank_pid "$MPI" 2)
# Both workers busy: at least 2 rows written and the run going on.
wait_rows "$OUT" 2 "$R0" >/dev/null
T0=$(date +%s%N)
kill -9 "$R2"
wait_bg dies "$BG"
DT=$((($(date +%s%N) - T0) / 1000000))
[[ $RC -ne 0 ]] || fail "dies: mpirun exited 0 although rank 2 was killed"
[[ $DT -lt 20000 ]] || fail "dies: the job took $DT ms to end after a worker died"
# Rank 0 says which rank died, not that somebody pressed Ctrl-C.
grep -q "^kvsweep: worker rank 2 (pid $R2\(, [a-z ]*[0-9]*\)\?) died; mpirun ends the whole job when a rank dies" \
  "$WORK/dies.err" || { show "$WORK/dies.err"; fail "dies: rank 0 does not say that rank 2 died"; }
grep -q "Ctrl-C" "$WORK/dies.err" && { show "$WORK/dies.err"; fail "dies: blamed on a Ctrl-C"; }
wait_gone 10 "$R0" "$R1"
N=$(rows "$OUT") || fail "dies: $OUT unreadable after the worker died"
[[ $N -ge 2 && $N -lt 16 ]] || fail "dies: $N rows; expected 2..15"
note "dies: rank 2 killed -> mpirun exit $RC after $DT ms, $N rows kept"
save_rows "$OUT" "$WORK/dies.rows"

run_mpi resume 3 run "$SWEEP" -o "$OUT" --resume -q
expect_rc resume 0
check_prefix "$OUT" "$WORK/dies.rows"
check_complete "$OUT" "$SWEEP" 16
echo "PASS run_worker_dies"
