#!/usr/bin/env bash
# Points too large for the machine are refused before anything runs (issue 27): `expand` prints each
# point's estimated peak memory beside its cost; validate, expand, eval and run refuse (exit 2, one line
# per point naming it and its estimate) points whose estimate exceeds the machine's physical memory or
# --max-memory-gb, and run does so before its output file exists.
# Usage: bash memory_estimate.sh <path-to-kvsweep> <tests-dir>
set -euo pipefail
KVSWEEP=$(realpath "$1")
WORK=$(mktemp -d)
trap 'rm -rf "$WORK"' EXIT
fail() { echo "FAIL: $*" >&2; exit 1; }
run() { RC=0; "$@" || RC=$?; }

# Two points: 512 tokens (~25 MB) and 16896 tokens with the oracle (~0.5 GB).
cat > "$WORK/two.yaml" <<'YAML'
model: llama-2-7b
hardware: gh200-measured
hbm_capacity_ratio: 0.25
decode_tokens: 512
prompt_tokens: [512, 16384]
policies: [static, belady, oracle]
oracle: {moves: 1.0e5}
YAML
"$KVSWEEP" expand "$WORK/two.yaml" --format json > "$WORK/two.json"
/usr/bin/python3 - "$WORK/two.json" <<'PY'
import json, sys
pts = json.load(open(sys.argv[1]))["points"]
mem = [p["estimated_memory_gb"] for p in pts]
assert 0.02 < mem[0] < 0.1 and 0.3 < mem[1] < 1.0, mem
PY
"$KVSWEEP" expand "$WORK/two.yaml" > "$WORK/table.txt"
head -1 "$WORK/table.txt" | grep -q "estimated_s  estimated_lagrangian_s  estimated_memory_gb$" || fail "table header: $(head -1 "$WORK/table.txt")"
grep -q "^total: 2 points; .* at most 0\.[0-9]* GB of memory per point" "$WORK/table.txt" || fail "$(tail -1 "$WORK/table.txt")"

# A limit between the two: the second point is refused, by every command, at its source; nothing runs
# and run writes no file.
mkdir "$WORK/cwd"
for cmd in validate expand eval "run -o out.h5"; do
  (cd "$WORK/cwd" && run "$KVSWEEP" $cmd "$WORK/two.yaml" --max-memory-gb 0.2 > "$WORK/out" 2> "$WORK/err"; echo "$RC" > "$WORK/rc")
  [[ $(cat "$WORK/rc") -eq 2 ]] || fail "$cmd exited $(cat "$WORK/rc"): $(cat "$WORK/err")"
  [[ $(wc -l < "$WORK/err") -eq 1 ]] || fail "$cmd: $(cat "$WORK/err")"
  grep -q "^kvsweep: error: $WORK/two.yaml#1: point [0-9a-f]\{16\} needs an estimated 0\.[0-9]* GB of memory at its peak (oracle: .*), more than --max-memory-gb 0.2; lower oracle.max_memory_gb (now 4 GB" "$WORK/err" \
    || fail "$cmd: $(cat "$WORK/err")"
  [[ ! -s "$WORK/out" ]] || fail "$cmd printed: $(cat "$WORK/out")"
  [[ -z "$(ls -A "$WORK/cwd")" ]] || fail "$cmd wrote: $(ls -A "$WORK/cwd")"
done
# Within the limit: accepted.
"$KVSWEEP" validate "$WORK/two.yaml" --max-memory-gb 2 | grep -q "^OK: 2 points" || fail "validate under 2 GB"
# The flag is checked by CLI11: a usage error, exit 2.
run "$KVSWEEP" validate "$WORK/two.yaml" --max-memory-gb 0 > /dev/null 2>&1
[[ $RC -eq 2 ]] || fail "--max-memory-gb 0 exited $RC"

# Every value in range, the point absurdly large: refused against this machine's physical memory by
# default (its oracle alone would hold 2^24 x 1024 entries x 2^20 states).
cat > "$WORK/huge.yaml" <<'YAML'
model: {name: huge, layers: 1024, kv_bytes_per_token_layer: 1024, weight_bytes_per_layer: 1.0e6}
hardware: {name: pool, hbm_bw_gbps: 8000, link_read_gbps: 450, link_write_gbps: 450, dram_bw_gbps: 512}
hbm_capacity_ratio: 0.1
prompt_tokens: 16777216
decode_tokens: 1048576
YAML
run "$KVSWEEP" validate "$WORK/huge.yaml" > "$WORK/out" 2> "$WORK/err"
[[ $RC -eq 2 ]] || fail "huge: validate exited $RC: $(cat "$WORK/out")"
grep -q "^kvsweep: error: $WORK/huge.yaml: point [0-9a-f]\{16\} needs an estimated [0-9.e+]* GB of memory at its peak .*, more than this machine's [0-9.]* GB of physical memory" "$WORK/err" \
  || fail "huge: $(cat "$WORK/err")"
echo "memory_estimate: ok"
