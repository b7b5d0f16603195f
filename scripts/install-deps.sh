#!/usr/bin/env bash
# Installs the Debian 12 packages kvsweep needs; skips the ones already present (idempotent).
set -euo pipefail
packages=(g++ cmake make git libgtest-dev libbenchmark-dev libopenmpi-dev openmpi-bin libhdf5-dev hdf5-tools
          libtbb-dev libyaml-cpp-dev libcli11-dev coinor-libcbc-dev pkg-config python3-pandas python3-h5py python3-matplotlib python3-tables
          python3-pytest slurm-wlm munge)
missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -eq 0 ]; then
  echo "install-deps: all ${#packages[@]} packages present"
  exit 0
fi
echo "install-deps: installing ${missing[*]}"
sudo=""
[ "$(id -u)" -eq 0 ] || sudo="sudo"
$sudo apt-get update -q
DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -q --no-install-recommends "${missing[@]}"
