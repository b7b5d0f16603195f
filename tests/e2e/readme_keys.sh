#!/usr/bin/env bash
# The README's YAML reference must be exactly what `kvsweep eval --keys` prints.
set -euo pipefail
kvsweep=$1
tests=$2
readme="$tests/../README.md"
diff <(sed -n '/<!-- keys:begin -->/,/<!-- keys:end -->/p' "$readme" | sed '1d;$d') <("$kvsweep" eval --keys) \
  || { echo "README YAML reference is stale: regenerate it with 'kvsweep eval --keys'"; exit 1; }
echo "readme_keys: ok"
