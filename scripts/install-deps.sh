#!/usr/bin/env bash
# Installs the Debian 12 packages kvsweep needs; skips the ones already present (idempotent).
#
#   bash scripts/install-deps.sh run   # to build kvsweep and run sweeps: compiler, OpenMPI, HDF5, oneTBB,
#                                      # yaml-cpp, CLI11, COIN-OR Cbc, pandas/h5py/tables/matplotlib
#   bash scripts/install-deps.sh       # (or `all`) the above plus what the tests need: GoogleTest, Google
#                                      # Benchmark, hdf5-tools, pytest, Slurm (slurm-wlm, munge: the
#                                      # Slurm test starts a one-node Slurm of its own, then stops it) and
#                                      # PyTorch (python3-torch, for analysis/capture_trace.py, with
#                                      # libopenblas0-pthread: else torch uses the reference BLAS)
set -euo pipefail
profile=${1:-all}
run=(g++ cmake make git pkg-config libopenmpi-dev openmpi-bin libhdf5-dev libtbb-dev libyaml-cpp-dev
     libcli11-dev coinor-libcbc-dev python3-pandas python3-h5py python3-tables python3-matplotlib)
tests=(libgtest-dev libbenchmark-dev hdf5-tools python3-pytest slurm-wlm munge python3-torch libopenblas0-pthread)
case "$profile" in
  run) packages=("${run[@]}") ;;
  all) packages=("${run[@]}" "${tests[@]}") ;;
  *) echo "install-deps: unknown profile '$profile'; allowed: run, all" >&2; exit 2 ;;
esac
missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -eq 0 ]; then
  echo "install-deps: all ${#packages[@]} packages ($profile) present"
  exit 0
fi
echo "install-deps: installing ${missing[*]}"
sudo=""
[ "$(id -u)" -eq 0 ] || sudo="sudo"
$sudo apt-get update -q
DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -q --no-install-recommends "${missing[@]}"
