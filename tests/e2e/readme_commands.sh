#!/usr/bin/env bash
# Every command the README prints works as copied: each line of its ```sh blocks runs in a copy of the
# repository (as root on this machine, like a user after `bash scripts/run-default.sh`), in order, each
# must exit 0; then each ```python block runs with /usr/bin/python3. The commands are read from README.md
# itself, never kept here. Not run: the two set-up commands `bash scripts/run-default.sh` and
# `bash scripts/test.sh` (CI runs the second; a fresh Debian runs the first: ../shared/tools/fresh-debian).
# `kvsweep` and `kvsweep-mpirun` are this build's (scripts/build.sh installs them on PATH the same way).
# Usage: bash readme_commands.sh <path-to-kvsweep> <tests-dir>
set -euo pipefail
KVSWEEP=$(realpath "$1")
ROOT=$(realpath "$2/..")
WORK=$(mktemp -d)
trap 'rm -rf "$WORK"' EXIT
fail() { echo "FAIL: $*" >&2; exit 1; }

mkdir -p "$WORK/bin" "$WORK/repo"
ln -s "$KVSWEEP" "$WORK/bin/kvsweep"
ln -s "$ROOT/scripts/kvsweep-mpirun" "$WORK/bin/kvsweep-mpirun"
export PATH="$WORK/bin:$PATH"
# The repository as a clone has it (tracked and new files, not build outputs).
(cd "$ROOT" && git ls-files -co --exclude-standard -z | grep -zv '^build/' |
  xargs -0 cp --parents -t "$WORK/repo" 2>/dev/null) || fail "could not copy the repository"
cd "$WORK/repo"
# What scripts/run-default.sh leaves behind, which the README's report command reads.
mkdir -p results
kvsweep run sweeps/quick.yaml -o results/quick.h5 -q || fail "could not run sweeps/quick.yaml"

# blocks LANG: the lines of the README's ```LANG blocks, one block after another ("#--" between blocks).
blocks() {
  awk -v lang="$1" '
    /^[[:space:]]*```/ { if (inside) { inside = 0; print "#--"; next } if ($0 ~ "```" lang "[[:space:]]*$") { inside = 1; next } }
    inside { sub(/^  /, ""); print }' "$ROOT/README.md"
}

n=0
while IFS= read -r line; do
  [[ -z ${line// /} || $line == "#--" || $line == \#* ]] && continue
  case $line in
    "bash scripts/run-default.sh"* | "bash scripts/test.sh"*) continue ;;
  esac
  n=$((n + 1))
  echo "-- \$ $line"
  # As a user's shell runs it; exports carry over to the next lines (troubleshooting's).
  eval "$line" >"$WORK/out.txt" 2>&1 || { cat "$WORK/out.txt" >&2; fail "README command failed: $line"; }
done < <(blocks sh)
[[ $n -ge 8 ]] || fail "only $n commands found in README.md's sh blocks"

p=0
blocks python | awk -v dir="$WORK" 'BEGIN { k = 0 } /^#--$/ { k++; next } { print > (dir "/snippet" k ".py") }'
for f in "$WORK"/snippet*.py; do
  [[ -e $f ]] || continue
  p=$((p + 1))
  echo "-- python $(basename "$f")"
  /usr/bin/python3 "$f" >"$WORK/out.txt" 2>&1 || { cat "$f" "$WORK/out.txt" >&2; fail "README python block failed"; }
done
[[ $p -ge 1 ]] || fail "no python block found in README.md"
echo "PASS: $n README commands and $p python blocks ran as printed"
