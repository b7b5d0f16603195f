#!/usr/bin/env bash
# Configures and builds kvsweep (Release) into ./build, then installs the binary so that `kvsweep` is on
# PATH: into $KVSWEEP_PREFIX/bin (default /usr/local/bin) when that is writable; otherwise it says how.
#   bash scripts/build.sh           # kvsweep, the tests and the benchmarks
#   bash scripts/build.sh --no-tests  # kvsweep alone (what scripts/run-default.sh builds)
set -euo pipefail
cd "$(dirname "$0")/.."
tests=ON
[ "${1:-}" = "--no-tests" ] && tests=OFF
cmake -S . -B build -DCMAKE_BUILD_TYPE=Release -DKVSWEEP_BUILD_TESTS=$tests -DKVSWEEP_BUILD_BENCHMARKS=$tests >/dev/null
cmake --build build -j"$(nproc)"
prefix=${KVSWEEP_PREFIX:-/usr/local}
if mkdir -p "$prefix/bin" 2>/dev/null && [[ -w "$prefix/bin" ]]; then
  cmake --install build --prefix "$prefix" >/dev/null
  echo "build.sh: installed $prefix/bin/kvsweep ($("$prefix/bin/kvsweep" --version))"
else
  echo "build.sh: $prefix/bin is not writable: run kvsweep as ./build/src/kvsweep, or install it with" \
       "KVSWEEP_PREFIX=\$HOME/.local bash scripts/build.sh (and put \$HOME/.local/bin on PATH)" >&2
fi
