#!/usr/bin/env bash
# slurm/sweep.sh on a real single-node Slurm cluster started for this test (tests/slurm/lib/cluster.sh):
#   1. a sweep submitted as it is (3 tasks: master + 2 workers under `srun --mpi=pmix`, default output
#      name) completes: one ok row per point, read with pandas and h5py; the same with KVSWEEP_LAUNCHER=mpirun;
#   2. the time-limit warning (`scancel -b -s USR1`, what --signal=B:USR1@300 does) drains the sweep:
#      exit code 3 (KVSWEEP_REQUEUE=0), or by default the job requeues itself and, released, completes;
#   3. a plain `scancel` (SIGTERM, drained) and a hard one (`scancel -s KILL JOB.0`: SIGKILL to kvsweep),
#      each followed by resubmitting the same command, end with every point exactly once.
# Slurm that cannot start fails the test (it never skips). The daemons are stopped by PID at exit, and
# no job process is left behind.
# Usage: bash slurm_sweep.sh <path-to-kvsweep> <tests-dir>   (KVSWEEP_SLURM_KEEP=DIR: on failure, copy
# the work directory there: job logs, results, daemon logs, slurm.conf)
# shellcheck source-path=SCRIPTDIR
# shellcheck source=../e2e/lib/run_common.sh
source "$(dirname "$0")/../e2e/lib/run_common.sh" "$@"
# shellcheck source=lib/cluster.sh
source "$(dirname "$0")/lib/cluster.sh"

LOG=""
on_exit() {
  local rc=$?
  set +e
  if [[ $rc -ne 0 && -n $LOG && -f $LOG ]]; then show "$LOG"; fi  # the last job's log
  if [[ $rc -ne 0 && -n ${KVSWEEP_SLURM_KEEP:-} ]]; then rm -rf "$KVSWEEP_SLURM_KEEP"; cp -r "$WORK" "$KVSWEEP_SLURM_KEEP"; fi
  cluster_stop
  (exit "$rc")
  cleanup  # run_common.sh's: background processes, $WORK, the exit code
}
trap on_exit EXIT

T_START=$(date +%s%N)
ms_since() { echo $((($(date +%s%N) - $1) / 1000000)); }

# A Slurm job of the machine running this test must not leak its settings into the test's jobs.
while read -r var; do [[ $var == SLURM_CONF ]] || unset "$var"; done < <(compgen -e | grep -E '^(SLURM|SBATCH|SRUN|SALLOC)_' || true)

ROOT=$(dirname "$TESTS")
SCRIPT=$ROOT/slurm/sweep.sh
GRID=$RUNDATA/grid.yaml  # 12 tiny points
INTR=$TESTS/data/sweeps/slurm/interrupt.yaml  # 24 points of ~0.2 s
JOBS=$WORK/jobs          # the submit directory: logs and results/ land here
mkdir -p "$JOBS"
export KVSWEEP  # the binary under test, for slurm/sweep.sh

cluster_start "$WORK/cluster"
note "cluster up in $(ms_since "$T_START") ms ($SLURM_CONF)"

# sub NAME [VAR=VALUE...] -- SWEEP.sh-ARGS...: submit slurm/sweep.sh from $JOBS with extra environment.
sub() {
  local name=$1 envs=()
  shift
  while [[ $1 != -- ]]; do envs+=("$1"); shift; done
  shift
  JOB=$(cd "$JOBS" && env "${envs[@]}" sbatch --parsable "$SCRIPT" "$@" 2>"$WORK/$name.sbatch.err") ||
    { show "$WORK/$name.sbatch.err"; cluster_fail "$name: sbatch refused slurm/sweep.sh $*"; }
  JOB=${JOB%%;*}
  LOG=$JOBS/slurm-kvsweep-$JOB.out
}

# expect_job ID STATE EXITCODE: the finished job's state and ExitCode (e.g. 3:0).
expect_job() {
  wait_job "$1" 60
  [[ $STATE == "$2" && $EXIT == "$3" ]] ||
    { show "$JOBS/slurm-kvsweep-$1.out"; cluster_fail "job $1: $STATE with exit code $EXIT, expected $2 with $3"; }
}

# in_log PATTERN [WHAT]: the job's log has a line matching PATTERN (grep -E).
in_log() {
  grep -qE -- "$1" "$LOG" || { show "$LOG"; fail "job $JOB: no line '${2:-$1}' in its log"; }
}

# wait_job_rows FILE N ID: until FILE has N rows; fails if job ID ends first, or after 60 s. Prints the count.
wait_job_rows() {
  HDF5_USE_FILE_LOCKING=FALSE "$PY" - "$@" <<'PY'
import subprocess, sys, time, h5py
path, want, job = sys.argv[1], int(sys.argv[2]), sys.argv[3]
deadline, n = time.time() + 60, -1
while time.time() < deadline:
    try:
        with h5py.File(path, "r") as f:
            n = f["points"].shape[0]
    except Exception:  # not created yet, or caught mid-write
        pass
    if n >= want:
        print(n)
        sys.exit(0)
    state = subprocess.run(["squeue", "-h", "-j", job, "-o", "%T"], capture_output=True, text=True).stdout.strip()
    if state not in ("PENDING", "CONFIGURING", "RUNNING"):
        sys.exit(f"FAIL: job {job} is '{state}' with {n} rows in {path}, before {want} were written")
    time.sleep(0.05)
sys.exit(f"FAIL: {path} has {n} rows after 60 s, expected {want}")
PY
}

# 1. As submitted: defaults (3 tasks, 1 thread each, output results/<sweep name>.h5 in the submit dir).
T0=$(date +%s%N)
sub full KVSWEEP_ARGS=-v -- "$GRID"
wait_running "$JOB" 30
FIRST_START_MS=$(ms_since "$T0")
expect_job "$JOB" COMPLETED 0:0
FIRST_JOB_MS=$(ms_since "$T0")
OUT=$JOBS/results/grid.h5
[[ -f $OUT ]] || { show "$LOG"; fail "full: no $OUT (the default output name)"; }
in_log "^sweep\.sh: job $JOB \(start 1\) on localhost: nodes=1 tasks=3 threads=1 .*git=.* repo=$ROOT " "header"
in_log "srun --mpi=pmix .* run $GRID -o results/grid\.h5 --resume -v$"
in_log "12 points, 12 to run on 2 worker rank\(s\) x 1 thread\(s\)" "2 worker ranks x 1 thread"
in_log "^sweep\.sh: kvsweep exited with 0 "
check_complete "$OUT" "$GRID" 12
[[ $(has_end_time "$OUT") == yes ]] || fail "full: no end_time in $OUT"
"$PY" - "$OUT" <<'PY' || fail "full: the rows do not come from the worker ranks"
import sys, h5py, pandas as pd
with h5py.File(sys.argv[1], "r") as f:
    table = f["points"][:]
df = pd.read_hdf(sys.argv[1], "points")
assert len(table) == len(df) == 12, (len(table), len(df))
ranks = set(int(r) for r in table["worker_rank"])
assert ranks <= {1, 2}, f"rows from ranks {ranks}: rank 0 is the master, it evaluates nothing"
assert (df.status == "ok").all()
print(f"{sys.argv[1]}: h5py and pandas agree on 12 rows, evaluated by ranks {sorted(ranks)}")
PY
note "full: submit -> running in $FIRST_START_MS ms, -> completed in $FIRST_JOB_MS ms"

T0=$(date +%s%N)
sub mpirun KVSWEEP_LAUNCHER=mpirun -- "$GRID" results/grid-mpirun.h5
expect_job "$JOB" COMPLETED 0:0
in_log "^sweep\.sh: mpirun --bind-to none .* run $GRID -o results/grid-mpirun\.h5 --resume$"
check_complete "$JOBS/results/grid-mpirun.h5" "$GRID" 12
note "mpirun: completed in $(ms_since "$T0") ms"

# 2. The time-limit warning. Slurm sends it to the batch shell (B:) up to a minute early at its own pace;
# `scancel -b -s USR1` delivers the same signal to the same process now.
OUT=$JOBS/results/warned.h5
sub warn-stop KVSWEEP_REQUEUE=0 -- "$INTR" results/warned.h5
SEEN=$(wait_job_rows "$OUT" 2 "$JOB")
T0=$(date +%s%N)
scancel --batch --signal=USR1 "$JOB"
expect_job "$JOB" FAILED 3:0
N1=$(rows "$OUT")
[[ $N1 -ge $SEEN && $N1 -lt 24 ]] || fail "warn-stop: $N1 rows after the warning (seen $SEEN before it)"
in_log "^sweep\.sh: SIGUSR1 "
in_log "kvsweep: signal 10: no new points"
in_log "stopped by a signal: rerun with --resume"
in_log "^sweep\.sh: kvsweep exited with 3 "
! grep -q requeueing "$LOG" || fail "warn-stop: requeued with KVSWEEP_REQUEUE=0"
note "warn-stop: warning with $SEEN rows -> exit 3 in $(ms_since "$T0") ms with $N1 rows"
save_rows "$OUT" "$WORK/warned.rows"

# Resubmitted with the default KVSWEEP_REQUEUE=1: warned again, it requeues itself. A requeued job is not
# eligible for ~2 minutes (Slurm's fixed delay): release it at once.
sub warn-requeue -- "$INTR" results/warned.h5
SEEN=$(wait_job_rows "$OUT" $((N1 + 2)) "$JOB")
scancel --batch --signal=USR1 "$JOB"
REQUEUED=0
DEADLINE=$((SECONDS + 30))
while ((SECONDS < DEADLINE)); do
  [[ $(job_field "$JOB" JobState) == PENDING && $(job_field "$JOB" Restarts) == 1 ]] && { REQUEUED=1; break; }
  sleep 0.05
done
[[ $REQUEUED -eq 1 ]] || { show "$LOG"; cluster_fail "warn-requeue: job $JOB is $(job_field "$JOB" JobState) after 30 s, not requeued"; }
N2=$(rows "$OUT")
[[ $N2 -ge $SEEN && $N2 -lt 24 ]] || fail "warn-requeue: $N2 rows after the warning (seen $SEEN before it)"
REQUEUE_DELAY_S=$(($(date -d "$(job_field "$JOB" EligibleTime)" +%s) - $(date +%s)))
note "warn-requeue: warning with $SEEN rows -> $N2 rows, requeued, eligible in $REQUEUE_DELAY_S s: releasing it"
# What that delay guarantees, and an immediate start does not: the first start's step has ended (else the
# new step 0 of the same job finds its PMIx socket taken, and srun exits 0 without running anything), and
# its credential was revoked in an earlier second (else the new start is refused as revoked).
cluster_quiet 30
sleep 1.1
T0=$(date +%s%N)
scontrol update JobId="$JOB" StartTime=now
expect_job "$JOB" COMPLETED 0:0
[[ $(grep -c "^sweep\.sh: job $JOB (start" "$LOG") -eq 2 ]] || { show "$LOG"; fail "warn-requeue: not 2 starts in one log"; }
in_log "^sweep\.sh: requeueing job $JOB"
in_log "^sweep\.sh: job $JOB \(start 2\)"
in_log "^sweep\.sh: kvsweep exited with 0 "
check_prefix "$OUT" "$WORK/warned.rows"
check_complete "$OUT" "$INTR" 24
note "warn-requeue: the requeued start completed in $(ms_since "$T0") ms"

# 3. scancel: plain (SIGTERM to every process of the job: kvsweep drains within KillWait), then hard
# (SIGKILL to the ranks), then the same command once more completes the sweep.
OUT=$JOBS/results/cancelled.h5
sub cancel -- "$INTR" results/cancelled.h5
SEEN=$(wait_job_rows "$OUT" 2 "$JOB")
scancel "$JOB"
expect_job "$JOB" CANCELLED 3:0
in_log "kvsweep: signal 15: no new points"
in_log "^sweep\.sh: kvsweep exited with 3 "
N1=$(rows "$OUT")
[[ $N1 -ge $SEEN && $N1 -lt 24 ]] || fail "cancel: $N1 rows after scancel (seen $SEEN before it)"
note "cancel: scancel with $SEEN rows -> cancelled, kvsweep exit 3 with $N1 rows"
save_rows "$OUT" "$WORK/cancelled.rows"

sub kill -- "$INTR" results/cancelled.h5
SEEN=$(wait_job_rows "$OUT" $((N1 + 2)) "$JOB")
scancel --signal=KILL "$JOB.0"
expect_job "$JOB" FAILED 137:0
in_log "^sweep\.sh: kvsweep exited with 137 "
! grep -q "stopped by a signal" <(sed -n "/job $JOB (start 1)/,\$p" "$LOG") || fail "kill: kvsweep was not killed"
N2=$(rows "$OUT") || fail "kill: $OUT unreadable after SIGKILL"
[[ $N2 -ge $SEEN && $N2 -lt 24 ]] || fail "kill: $N2 rows after SIGKILL (seen $SEEN before it)"
check_prefix "$OUT" "$WORK/cancelled.rows"
note "kill: SIGKILL to the ranks with $SEEN rows -> job failed (137) with $N2 rows, file readable"

sub resubmit -- "$INTR" results/cancelled.h5
expect_job "$JOB" COMPLETED 0:0
check_prefix "$OUT" "$WORK/cancelled.rows"
check_complete "$OUT" "$INTR" 24

cluster_quiet 30
note "total $(ms_since "$T_START") ms"
echo "PASS slurm_sweep"
