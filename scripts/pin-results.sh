#!/usr/bin/env bash
# Compares two kvsweep binaries on every point of the given sweeps: each point's `kvsweep eval --json`
# field by field (tests/support/eval_json_diff.py; timings, versions and paths ignored). For changes
# that must not move results (a refactor, issue 25's batch 1), over the whole shipped sweeps (hours:
# `kvsweep expand` estimates each) or a part:
#   scripts/pin-results.sh OLD_KVSWEEP NEW_KVSWEEP sweeps/first.yaml sweeps/quick.yaml
#   POINTS="0 3" scripts/pin-results.sh OLD NEW sweeps/paper.yaml        (only these indexes)
# Exit 0 when every point is identical, 1 otherwise; the JSON stays in $KEEP (default: a temp dir).
set -euo pipefail
if (( $# < 3 )); then
  sed -n '2,9p' "$0" >&2
  exit 2
fi
old=$(realpath "$1"); new=$(realpath "$2"); shift 2
here=$(cd "$(dirname "$0")/.." && pwd)
out=${KEEP:-$(mktemp -d)}
mkdir -p "$out"
status=0
for sweep in "$@"; do
  n=$("$new" expand --format csv "$sweep" 2>/dev/null | tail -n +2 | grep -c .)
  for k in ${POINTS:-$(seq 0 $((n - 1)))}; do
    base="$out/$(basename "$sweep" .yaml)-$k"
    "$old" eval "$sweep" --point "$k" --json > "$base.old.json"
    "$new" eval "$sweep" --point "$k" --json > "$base.new.json"
    if /usr/bin/python3 "$here/tests/support/eval_json_diff.py" "$base.old.json" "$base.new.json" > "$base.diff"; then
      echo "identical: $sweep point $k"
    else
      echo "DIFFERS:   $sweep point $k ($(wc -l < "$base.diff") fields, $base.diff)"
      status=1
    fi
  done
done
exit "$status"
