#!/usr/bin/env bash
# Regenerates the README's two generated tables (the YAML keys and the result columns) from the built
# binary; tests/e2e/readme_keys.sh and ResultSchema.ReadmeDocumentsEveryColumn fail until this is run.
set -euo pipefail
cd "$(dirname "$0")/.."
kvsweep=${1:-./build/src/kvsweep}
doc=${2:-README.md}
replace() {  # marker, command
  local tmp
  tmp=$(mktemp)
  "${@:2}" > "$tmp.table"
  awk -v begin="<!-- $1:begin -->" -v end="<!-- $1:end -->" -v table="$tmp.table" '
    $0 == begin { print; while ((getline line < table) > 0) print line; skip = 1; next }
    $0 == end { skip = 0 }
    !skip { print }' "$doc" > "$tmp"
  mv "$tmp" "$doc"
  rm -f "$tmp.table"
}
replace keys "$kvsweep" eval --keys
replace result-columns "$kvsweep" eval --columns
echo "update-readme-tables: $doc regenerated"
