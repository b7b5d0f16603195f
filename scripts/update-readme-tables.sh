#!/usr/bin/env bash
# Regenerates the two generated tables of the reference pages from the built binary: the point keys
# (`kvsweep eval --keys`) in docs/yaml-reference.md and the result columns (`kvsweep eval --columns`) in
# docs/results.md. tests/e2e/readme_keys.sh and ResultSchema.ReadmeDocumentsEveryColumn fail until this
# is run after a change to either.
#
#   bash scripts/update-readme-tables.sh [KVSWEEP] [DOCS_DIR]    # defaults: ./build/src/kvsweep, docs
#
# Each table lies between a `<!-- NAME:begin -->` and a `<!-- NAME:end -->` line (NAME: keys,
# result-columns); exactly the lines between them are replaced, and a file whose table is current is left
# untouched. A missing or repeated marker, or a failing command, changes nothing and exits non-zero.
set -euo pipefail
cd "$(dirname "$0")/.."
kvsweep=${1:-./build/src/kvsweep}
docs=${2:-docs}
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

replace() {  # file, marker name, command...
  local doc=$1 name=$2
  local tmp="$work/$name.md" table="$work/$name.table"
  local begin="<!-- $name:begin -->" end="<!-- $name:end -->"
  shift 2
  if [ "$(grep -cxF -- "$begin" "$doc")" != 1 ] || [ "$(grep -cxF -- "$end" "$doc")" != 1 ]; then
    echo "update-readme-tables: $doc needs exactly one '$begin' line and one '$end' line" >&2
    exit 1
  fi
  "$@" > "$table"
  awk -v begin="$begin" -v end="$end" -v table="$table" '
    $0 == begin { print; while ((getline line < table) > 0) print line; skip = 1; seen = 1; next }
    $0 == end { if (!seen) exit 3; skip = 0 }
    !skip { print }' "$doc" > "$tmp" \
    || { echo "update-readme-tables: $doc: '$end' comes before '$begin'" >&2; exit 1; }
  if cmp -s "$tmp" "$doc"; then
    echo "update-readme-tables: $doc ($name) is current"
  else
    cat "$tmp" > "$doc"  # keeps the file's mode and inode
    echo "update-readme-tables: $doc ($name) regenerated"
  fi
}

replace "$docs/yaml-reference.md" keys "$kvsweep" eval --keys
replace "$docs/results.md" result-columns "$kvsweep" eval --columns
