#!/usr/bin/env bash
# `cmake --install` puts a working kvsweep and kvsweep-mpirun into <prefix>/bin (what scripts/build.sh does
# for PATH).
# Usage: bash install.sh <path-to-kvsweep> <tests-dir>
set -euo pipefail
KVSWEEP=$1
BUILD=$(cd "$(dirname "$KVSWEEP")/.." && pwd)
WORK=$(mktemp -d)
trap 'rm -rf "$WORK"' EXIT
fail() { echo "FAIL: $*" >&2; exit 1; }

cmake --install "$BUILD" --prefix "$WORK/prefix" > "$WORK/install.out"
[[ -x "$WORK/prefix/bin/kvsweep" ]] || fail "no bin/kvsweep under the prefix: $(cat "$WORK/install.out")"
"$WORK/prefix/bin/kvsweep" --version > "$WORK/version.out"
grep -q '^kvsweep [0-9]' "$WORK/version.out" || fail "the installed kvsweep does not run: $(cat "$WORK/version.out")"
cmp -s "$KVSWEEP" "$WORK/prefix/bin/kvsweep" || "$WORK/prefix/bin/kvsweep" --help > /dev/null ||
  fail "the installed kvsweep differs and does not run"
[[ -x "$WORK/prefix/bin/kvsweep-mpirun" ]] || fail "no bin/kvsweep-mpirun under the prefix"
"$WORK/prefix/bin/kvsweep-mpirun" --help > "$WORK/launcher.out"
grep -q 'Ctrl-C' "$WORK/launcher.out" || fail "kvsweep-mpirun --help says nothing about Ctrl-C"
echo "install: all checks passed"
