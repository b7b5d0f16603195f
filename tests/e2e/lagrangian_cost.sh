#!/usr/bin/env bash
# The Lagrangian bound runs whatever the policies listed (issue 25): its cost is visible before and while
# it runs. expand names its share of the estimate with the key that skips it; eval --verbose and run say
# when a point is in it (why, passes, gap); oracle.lagrangian_passes: 0 removes it everywhere.
# Usage: bash lagrangian_cost.sh <path-to-kvsweep> <tests-dir>
set -euo pipefail

KVSWEEP=$(realpath "$1")
WORK=$(mktemp -d)
trap 'rm -rf "$WORK"' EXIT

fail() { echo "FAIL: $*" >&2; exit 1; }

# Neither oracle nor fm_dual listed; the baselines leave a gap (static alone), and lagrangian_gap 0 keeps
# the bound going for its 6 passes.
cat > "$WORK/on.yaml" <<'YAML'
model: {name: kv-heavy, layers: 4, kv_bytes_per_token_layer: 16384, weight_bytes_per_layer: 1.0e6}
hardware: gh200-measured
hbm_capacity_ratio: 0.2
prompt_tokens: 2000
decode_tokens: 200
sparsity: 0.8
seed: 7
policies: [unlimited_hbm, static]
oracle: {lagrangian_gap: 0, lagrangian_passes: 6}
YAML
sed 's/lagrangian_passes: 6/lagrangian_passes: 0/' "$WORK/on.yaml" > "$WORK/off.yaml"

# 1. expand: the share, per point and in the totals, and how to skip it
"$KVSWEEP" expand "$WORK/on.yaml" > "$WORK/expand-on.txt"
grep -q "^total: 1 points; .*; plus up to [0-9]* s of Lagrangian bound at 1 point(s), .*(oracle.lagrangian_passes: 0 skips it)" \
  "$WORK/expand-on.txt" || fail "expand totals: $(tail -1 "$WORK/expand-on.txt")"
"$KVSWEEP" expand "$WORK/off.yaml" > "$WORK/expand-off.txt"
! grep -q "Lagrangian" "$WORK/expand-off.txt" || fail "expand with the bound off: $(tail -1 "$WORK/expand-off.txt")"
for f in on off; do "$KVSWEEP" expand "$WORK/$f.yaml" --format json > "$WORK/expand-$f.json"; done
/usr/bin/python3 - "$WORK/expand-on.json" "$WORK/expand-off.json" <<'PY'
import json, sys
on, off = (json.load(open(f))["points"][0] for f in sys.argv[1:3])
assert 0 < on["estimated_lagrangian_s"], on
assert off["estimated_lagrangian_s"] == 0, off
assert abs(on["estimated_s"] - off["estimated_s"]) < 1e-6 * on["estimated_s"], (on, off)  # shown apart
PY

# 2. eval --verbose: the bound announced with its gap, its cost and the key, then its passes (stderr is
#    not a terminal: a line per tenth, the last at 6/6)
"$KVSWEEP" eval "$WORK/on.yaml" --verbose > /dev/null 2> "$WORK/eval-on.err"
grep -q "^kvsweep: Lagrangian bound: the baselines leave a certified gap [0-9.]* % (above oracle.lagrangian_gap 0 %); up to 6 passes, estimated up to [0-9]* s (oracle.lagrangian_passes: 0 skips it)$" \
  "$WORK/eval-on.err" || fail "eval --verbose does not announce the bound: $(cat "$WORK/eval-on.err")"
grep -q "^kvsweep: 100%  6/6 bound passes .*  gap [0-9.]* %$" "$WORK/eval-on.err" \
  || fail "eval --verbose shows no passes: $(cat "$WORK/eval-on.err")"
"$KVSWEEP" eval "$WORK/off.yaml" --verbose > /dev/null 2> "$WORK/eval-off.err"
! grep -q "Lagrangian\|bound passes" "$WORK/eval-off.err" || fail "eval --verbose with the bound off: $(cat "$WORK/eval-off.err")"

# 3. run (in-process): the progress line names the phase when it starts; --verbose says why and how to skip it
(cd "$WORK" && "$KVSWEEP" run on.yaml -o on.h5 --verbose 2> run-on.err)
grep -q "^kvsweep: 0/1 points done, .*  now: bound pass 0/6, gap [0-9.]* %$" "$WORK/run-on.err" \
  || fail "run's progress line lacks the bound: $(cat "$WORK/run-on.err")"
grep -q "^kvsweep: point [0-9a-f]* (on.yaml): Lagrangian bound, .* up to 6 passes, .*oracle.lagrangian_passes: 0 skips it)$" \
  "$WORK/run-on.err" || fail "run --verbose does not announce the bound: $(cat "$WORK/run-on.err")"
(cd "$WORK" && "$KVSWEEP" run off.yaml -o off.h5 --verbose 2> run-off.err)
! grep -q "Lagrangian\|bound pass" "$WORK/run-off.err" || fail "run with the bound off: $(cat "$WORK/run-off.err")"
echo "lagrangian_cost: ok"
