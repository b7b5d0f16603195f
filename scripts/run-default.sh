#!/usr/bin/env bash
# One command from a fresh Debian 12 clone: install packages, build, run the default sweep
# (sweeps/quick.yaml, 3 points) into results/quick.h5 on local MPI (rank 0 + 2 workers; in-process when
# mpirun is missing), then draw its figures and report.md into results/quick-report/.
#
#   bash scripts/run-default.sh [kvsweep run options...]     e.g. -v, --threads 1, --oracle-moves 1e6
#
# The run always resumes: a rerun keeps results/quick.h5, evaluates only what is missing or failed (so a
# finished sweep is done at once) and redraws the report. Pass --force to evaluate everything again.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install-deps.sh run   # what the demo needs; scripts/test.sh installs the rest
bash scripts/build.sh --no-tests

sweep=sweeps/quick.yaml
out=results/quick.h5
report=results/quick-report
mkdir -p results

mode=(--resume)
for arg in "$@"; do
  [ "$arg" = "--force" ] && mode=()  # --force and --resume exclude each other
done
run=(./build/src/kvsweep run "$sweep" -o "$out" "${mode[@]}" "$@")
if command -v mpirun >/dev/null 2>&1; then
  if [ "$(id -u)" -eq 0 ]; then
    export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1
  fi
  # --bind-to none: OpenMPI would pin each rank to one core, idling the workers' TBB threads.
  # scripts/kvsweep-mpirun: mpirun whose Ctrl-C lets the points in flight finish (exit 3, then rerun).
  run=(scripts/kvsweep-mpirun --oversubscribe --bind-to none -n 3 "${run[@]}")
fi
echo "run-default: ${run[*]}"
status=0
"${run[@]}" || status=$?
# 0: every point ok; 1: some points failed (their rows say why; the report lists them); else stop here.
if [ "$status" -gt 1 ]; then
  echo "run-default: kvsweep run exited with $status; $out keeps every finished point (rerun to resume)" >&2
  exit "$status"
fi

/usr/bin/python3 analysis/report.py "$out" -o "$report"
echo
echo "run-default: results  $out"
echo "run-default: report   $report/report.md"
# The figures this report drew (report.md says why any other was skipped).
grep -o '](.*\.png)' "$report/report.md" | sed "s|^](|run-default: figure   $report/|; s|)\$||" || true
if [ "$status" -ne 0 ]; then
  echo "run-default: some points failed (see $report/report.md); rerun to retry them" >&2
fi
exit "$status"
