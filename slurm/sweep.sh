#!/usr/bin/env bash
# One kvsweep sweep as a Slurm batch job: rank 0 (the master) plus worker ranks, results in one HDF5 file.
#
#   sbatch slurm/sweep.sh [SWEEP.yaml] [OUT.h5] [KVSWEEP-RUN-ARGS...]
#
# SWEEP defaults to sweeps/quick.yaml of this repository; OUT to results/<SWEEP's file name>.h5. Relative
# paths start at the job's working directory (where sbatch was called, unless --chdir); the folder of OUT
# is created. The job always passes --resume: a requeued or resubmitted job skips the points already finished
# and retries failed ones, and the first start creates the file.
#
# Options: the #SBATCH lines below are defaults; sbatch's command line (and SBATCH_* variables) override
# them, e.g. `sbatch -n 9 -c 8 -t 12:00:00 -p long -A myproject slurm/sweep.sh sweeps/paper.yaml`.
#   -n / --ntasks           MPI ranks, all nodes together: one master (it hands out points and writes the
#                           file; it evaluates nothing) + the workers. The default 3 = master + 2 workers:
#                           on 2 cores two one-thread workers beat one two-thread worker (docs/performance.md,
#                           "Sweep engine"), and the master's CPU mostly idles. Several nodes: `-N 4 -n 33 -c 8`
#                           (give -n: it is a total, and the default 3 would stay).
#   -c / --cpus-per-task    TBB threads per worker (kvsweep reads SLURM_CPUS_PER_TASK).
#   -t / --time             the time limit. --signal=B:USR1@300 warns this script 300 s before it (Slurm
#                           may send it up to a minute earlier); the script passes SIGUSR1 on to kvsweep,
#                           which hands out no more points, lets the points in flight finish within
#                           --grace (default 60 s; keep it well below the warning), flushes and exits 3.
#                           The job then requeues itself (see KVSWEEP_REQUEUE).
#   --output                the job's log: slurm-<job name>-<job id>.out in the submit directory (it must
#                           exist when the job starts, so not results/, which the job creates). Requeued
#                           starts append to the same log.
#
# Environment (sbatch passes the submitting shell's environment to the job):
#   KVSWEEP             the kvsweep binary; else `kvsweep` on PATH; else build/src/kvsweep of this
#                       repository, built once (scripts/build.sh, under a lock) if it is missing
#   KVSWEEP_ARGS        more `kvsweep run` arguments, split on spaces (e.g. "--grace 120 -v")
#   KVSWEEP_LAUNCHER    srun (default: `srun --mpi=pmix`; Debian's Open MPI has PMIx only) or mpirun
#                       (Open MPI's own launcher inside the allocation, when srun's PMIx does not work)
#   KVSWEEP_MODULES     environment modules to `module load` first, e.g. "gcc/12 openmpi/4.1 hdf5/1.10"
#   KVSWEEP_REQUEUE     1 (default): after the warning signal, requeue the job (`scontrol requeue`) so that
#                       it continues with --resume; 0: just end with exit code 3
#   KVSWEEP_MAX_REQUEUES  no self-requeue once the job has restarted this often (default 10), so that a
#                       sweep that cannot advance (a point longer than the time limit) does not loop forever
#   KVSWEEP_ROOT        the repository (for the default sweep, the binary fallback and the git sha in the
#                       log); found from the submitted script's path otherwise
# Partition, account, QOS: `sbatch -p/-A/-q`, or SBATCH_PARTITION / SBATCH_ACCOUNT / SBATCH_QOS.
#
# Exit code: kvsweep's (0 every point ok, 1 some points failed, 2 bad input, 3 stopped by a signal: run
# again, it resumes; 4 the results file could not be written, e.g. a full disk: free space, run again). A plain `scancel` sends SIGTERM to every process of the job, kvsweep included, and
# SIGKILL after the cluster's KillWait: the rows finished so far are in the file either way (flushed one
# by one), so resubmitting the same command completes the sweep. `scancel -b -s USR1 JOB` does what the
# time-limit warning does: finish the points in flight, stop, requeue.
#
#SBATCH --job-name=kvsweep
#SBATCH --nodes=1
#SBATCH --ntasks=3
#SBATCH --cpus-per-task=1
#SBATCH --time=01:00:00
#SBATCH --output=slurm-%x-%j.out
#SBATCH --open-mode=append
#SBATCH --requeue
# B: the warning goes to this script only. Without B: Slurm would signal the job steps' tasks instead,
# which reaches kvsweep under srun but not the ranks mpirun starts, and this script could not tell a
# warning (requeue) from any other stop.
#SBATCH --signal=B:USR1@300
set -euo pipefail

say() { echo "sweep.sh: $*"; }
die() {
  echo "sweep.sh: error: $*" >&2
  exit 2
}

[[ -n ${SLURM_JOB_ID:-} ]] || die "not inside a Slurm job: submit with 'sbatch slurm/sweep.sh [SWEEP.yaml] [OUT.h5]'"

# The warning can come at any time from now on: remembered, passed on to kvsweep once it runs.
warned=0
launcher_pid=""
# shellcheck disable=SC2317  # trap handlers
on_warning() {
  warned=1
  say "SIGUSR1 (time-limit warning or scancel -s USR1): kvsweep finishes the points in flight and stops"
  if [[ -n $launcher_pid ]]; then kill -USR1 "$launcher_pid" 2>/dev/null || true; fi
}
trap on_warning USR1
# On SIGTERM (scancel, time limit) Slurm signals every process of the job itself: wait for kvsweep's
# verdict rather than die first and leave the log without it.
terminated=0
# shellcheck disable=SC2317  # trap handlers
on_term() {
  terminated=1
  say "SIGTERM: the job is being cancelled or out of time; waiting for kvsweep"
}
trap on_term TERM

# The repository: the one the submitted script lives in (Slurm runs a copy in its spool directory, but
# `scontrol show job` names the original, followed by the arguments).
find_root() {
  local script candidate
  script=$(scontrol show job "$SLURM_JOB_ID" 2>/dev/null | sed -n 's/^ *Command=\([^ ]*\).*/\1/p' | head -n 1 || true)
  for candidate in "${KVSWEEP_ROOT:-}" "$(dirname "${BASH_SOURCE[0]}")/.." "$(dirname "$script")/.."; do
    if [[ -n $candidate && -f $candidate/slurm/sweep.sh && -d $candidate/sweeps ]]; then
      (cd "$candidate" && pwd)
      return
    fi
  done
  echo "$SLURM_SUBMIT_DIR"
}

load_modules() {
  [[ -n ${KVSWEEP_MODULES:-} ]] || return 0
  local init
  set +u  # module systems' init scripts use unset variables
  if ! type module >/dev/null 2>&1; then
    for init in /etc/profile.d/lmod.sh /etc/profile.d/modules.sh /usr/share/lmod/lmod/init/bash \
      /usr/share/modules/init/bash; do
      if [[ -f $init ]]; then
        # shellcheck disable=SC1090
        source "$init"
        break
      fi
    done
  fi
  type module >/dev/null 2>&1 || die "KVSWEEP_MODULES is set but there is no 'module' command"
  # shellcheck disable=SC2086  # a list of modules
  module load $KVSWEEP_MODULES || die "module load $KVSWEEP_MODULES failed"
  set -u
}

# The binary: $KVSWEEP, else kvsweep on PATH, else the repository's build (built here: once per job, in
# this batch script, never per task; a lock keeps two jobs from building at the same time).
find_binary() {
  if [[ -n ${KVSWEEP:-} ]]; then
    [[ -x $KVSWEEP ]] || die "KVSWEEP=$KVSWEEP is not an executable"
    realpath "$KVSWEEP"
  elif command -v kvsweep >/dev/null; then
    command -v kvsweep
  else
    if [[ ! -x $ROOT/build/src/kvsweep ]]; then
      [[ -f $ROOT/scripts/build.sh ]] || die "no kvsweep: set KVSWEEP, put kvsweep on PATH or set KVSWEEP_ROOT"
      mkdir -p "$ROOT/build"
      say "no $ROOT/build/src/kvsweep: building it (scripts/build.sh; or waiting for a job building it)" >&2
      # shellcheck disable=SC2016  # expanded by the inner bash
      flock "$ROOT/build/.slurm-build.lock" bash -c \
        '[[ -x $1/build/src/kvsweep ]] || bash "$1/scripts/build.sh"' _ "$ROOT" >&2 ||
        die "scripts/build.sh failed"
    fi
    echo "$ROOT/build/src/kvsweep"
  fi
}

load_modules
ROOT=$(find_root)
SWEEP=${1:-$ROOT/sweeps/quick.yaml}
name=$(basename "$SWEEP")
OUT=${2:-results/${name%.*}.h5}
EXTRA=("${@:3}")
[[ -f $SWEEP ]] || die "no sweep file $SWEEP (relative paths start at $PWD)"
mkdir -p "$(dirname "$OUT")"
BIN=$(find_binary)
# shellcheck disable=SC2206  # KVSWEEP_ARGS is split on spaces on purpose
ARGS=(run "$SWEEP" -o "$OUT" --resume ${KVSWEEP_ARGS:-} "${EXTRA[@]}")

case ${KVSWEEP_LAUNCHER:-srun} in
  # srun starts every task of the allocation (no -n here, so sbatch's -n/-N decide). Slurm 22.05's srun
  # no longer inherits --cpus-per-task from sbatch: pass it on. --kill-on-bad-exit: a rank that dies
  # ends the step instead of leaving the master waiting for its point.
  srun) LAUNCH=(srun --mpi=pmix --kill-on-bad-exit=1 --cpus-per-task="${SLURM_CPUS_PER_TASK:-1}") ;;
  # mpirun reads the allocation (hosts, slots) from Slurm's variables. --bind-to none: Open MPI would
  # otherwise pin a rank's TBB threads to one core.
  mpirun) LAUNCH=(mpirun --bind-to none) ;;
  *) die "KVSWEEP_LAUNCHER=$KVSWEEP_LAUNCHER: use srun or mpirun" ;;
esac

sha=$(git -C "$ROOT" describe --always --dirty --abbrev=12 2>/dev/null || echo unknown)
say "job $SLURM_JOB_ID (start $((${SLURM_RESTART_COUNT:-0} + 1))) on ${SLURM_JOB_NODELIST:-?}:" \
  "nodes=${SLURM_JOB_NUM_NODES:-?} tasks=${SLURM_NTASKS:-?} threads=${SLURM_CPUS_PER_TASK:-?}" \
  "sweep=$SWEEP out=$OUT binary=$BIN ($("$BIN" --version 2>/dev/null || echo '?')) git=$sha" \
  "launcher=${LAUNCH[0]} repo=$ROOT started=$(date -Is)"
say "${LAUNCH[*]} $BIN ${ARGS[*]}"

if [[ $terminated -eq 1 || $warned -eq 1 ]]; then
  rc=3  # stopped before kvsweep started: nothing to drain (after a warning: straight to the requeue)
  say "not starting kvsweep: signalled during setup"
else
  "${LAUNCH[@]}" "$BIN" "${ARGS[@]}" &
  launcher_pid=$!
  # `wait` returns early when a trapped signal arrives: wait again while the launcher still runs.
  while true; do
    rc=0
    wait "$launcher_pid" || rc=$?
    kill -0 "$launcher_pid" 2>/dev/null || break
  done
  say "kvsweep exited with $rc at $(date -Is)"
fi
if [[ $rc -eq 138 && $warned -eq 1 ]]; then
  # The warning reached kvsweep before it had installed its handlers (while starting MPI): killed by the
  # signal. Every finished row is in the file all the same; resumable like a drained stop.
  say "kvsweep was still starting when the warning came; the file is resumable: counted as exit 3"
  rc=3
fi

if [[ $rc -eq 3 && $warned -eq 1 && ${KVSWEEP_REQUEUE:-1} != 0 ]]; then
  if [[ ${SLURM_RESTART_COUNT:-0} -lt ${KVSWEEP_MAX_REQUEUES:-10} ]]; then
    say "requeueing job $SLURM_JOB_ID: it continues with --resume when it starts again"
    scontrol requeue "$SLURM_JOB_ID" || say "scontrol requeue failed: resubmit the same command to continue"
  else
    say "not requeueing: the job has restarted ${SLURM_RESTART_COUNT:-0} times (KVSWEEP_MAX_REQUEUES)"
  fi
fi
exit "$rc"
