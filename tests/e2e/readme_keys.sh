#!/usr/bin/env bash
# The YAML reference of docs/yaml-reference.md (its table between the keys markers) must be exactly what
# `kvsweep eval --keys` prints; scripts/update-readme-tables.sh regenerates it.
set -euo pipefail
kvsweep=$1
tests=$2
doc="$tests/../docs/yaml-reference.md"
[ -f "$doc" ] || { echo "readme_keys: $doc is missing"; exit 1; }
grep -qxF '<!-- keys:begin -->' "$doc" && grep -qxF '<!-- keys:end -->' "$doc" \
  || { echo "readme_keys: $doc lacks the <!-- keys:begin --> / <!-- keys:end --> markers"; exit 1; }
diff <(sed -n '/^<!-- keys:begin -->$/,/^<!-- keys:end -->$/p' "$doc" | sed '1d;$d') <("$kvsweep" eval --keys) \
  || { echo "$doc YAML reference is stale: run 'bash scripts/update-readme-tables.sh'"; exit 1; }
echo "readme_keys: ok"
