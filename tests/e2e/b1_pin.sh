#!/usr/bin/env bash
# Batch 1 stays bit-identical (issue 25): the points listed in tests/data/golden/b1/MANIFEST give the
# same `kvsweep eval --json` as the build before batches, field by field (tests/support/eval_json_diff.py
# ignores only timings, versions and the source path).
#   KVSWEEP_UPDATE_GOLDEN=1 bash tests/e2e/b1_pin.sh build/src/kvsweep tests   rewrites the golden files
#   (only when a change is meant to move these numbers: say so in the commit and the issue note).
set -euo pipefail
kvsweep=$(realpath "$1")
root=$(realpath "$2/..")  # $2: the tests directory, as ctest passes it
golden="$root/tests/data/golden/b1"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
cd "$root"
failed=0
while read -r sweep k; do
  [[ -z "$sweep" || "$sweep" == \#* ]] && continue
  name="$(basename "$sweep" .yaml)-$k.json"
  "$kvsweep" eval "$sweep" --point "$k" --json > "$tmp/$name"
  if [[ "${KVSWEEP_UPDATE_GOLDEN:-0}" == 1 ]]; then
    cp "$tmp/$name" "$golden/$name"
    echo "wrote $golden/$name"
  elif ! /usr/bin/python3 "$root/tests/support/eval_json_diff.py" "$golden/$name" "$tmp/$name"; then
    echo "FAIL: $sweep point $k differs from $golden/$name (above: path, expected vs actual)"
    failed=1
  else
    echo "ok: $sweep point $k"
  fi
done < "$golden/MANIFEST"
exit "$failed"
