#!/usr/bin/env bash
# End-to-end checks of `kvsweep validate` and `kvsweep expand`: a good sweep passes (exit 0, one OK line),
# every file of the bad-sweep corpus exits 2 with its file:line:col and writes nothing, expand prints the
# same points in its three formats, and eval accepts a sweep.
# Usage: bash sweep_cli.sh <path-to-kvsweep> <tests-dir>
set -euo pipefail

KVSWEEP=$(realpath "$1")  # absolute: the bad sweeps run from an empty directory
TESTS=$(realpath "$2")
DATA=${KVSWEEP_TEST_DATA:-$TESTS/data}
SWEEPS=$TESTS/../sweeps
WORK=$(mktemp -d)
trap 'rm -rf "$WORK"' EXIT

fail() { echo "FAIL: $*" >&2; exit 1; }
run() { RC=0; "$@" || RC=$?; }

cat > "$WORK/grid.yaml" <<'YAML'
model: [llama-3.1-8b, llama-2-7b]
hardware: gh200-measured
prompt_tokens: [1000, 2000]
decode_tokens: [10, 20]
zip: [[prompt_tokens, decode_tokens]]
hbm_capacity_ratio: [0.2, 0.4, 0.6]
synthetic: {span_tokens: [8, 16]}
exclude:
  - {model: llama-2-7b, hbm_capacity_ratio: 0.6}
policies: [static, belady]
YAML
N=20  # 2 models x 2 zipped lengths x 3 ratios x 2 spans, minus 2 x 2 for the excluded pair

# 1. validate: one OK line, exit 0
OUT=$("$KVSWEEP" validate "$WORK/grid.yaml")
[[ "$OUT" == "OK: $N points (axes: model, prompt_tokens, decode_tokens, hbm_capacity_ratio, synthetic.span_tokens)" ]] \
  || fail "validate printed: $OUT"
for f in "$SWEEPS"/*.yaml; do
  "$KVSWEEP" validate "$f" | grep -q '^OK: ' || fail "shipped sweep $f does not validate"
done

# 2. every bad sweep: exit 2, its file:line:col on stderr (the one its first line expects), nothing on
#    stdout, no file written (run in an empty directory)
mkdir "$WORK/cwd"
count=0
for f in "$DATA"/sweeps/bad/*.yaml; do
  pos=$(head -1 "$f" | sed -n 's/^# expect: \([0-9]*:[0-9]*\) .*/\1/p')
  [[ -n "$pos" ]] || fail "$f: first line lacks '# expect: L:C ...'"
  head -2 "$f" | tail -1 | grep -q '^# Wrong: ' || fail "$f: second line must say what is wrong"
  for cmd in validate expand; do
    (cd "$WORK/cwd" && run "$KVSWEEP" $cmd "$f" > "$WORK/out" 2> "$WORK/err"; echo "$RC" > "$WORK/rc")
    [[ $(cat "$WORK/rc") -eq 2 ]] || fail "$cmd $f exited $(cat "$WORK/rc"), expected 2"
    grep -q "^kvsweep: error: $f:$pos: " "$WORK/err" || fail "$cmd $f: no '$f:$pos:' in: $(cat "$WORK/err")"
    [[ ! -s "$WORK/out" ]] || fail "$cmd $f printed to stdout: $(cat "$WORK/out")"
    [[ -z "$(ls -A "$WORK/cwd")" ]] || fail "$cmd $f wrote files: $(ls -A "$WORK/cwd")"
  done
  count=$((count + 1))
done
[[ $count -ge 12 ]] || fail "only $count bad sweeps"

# A bad --format is a usage error: exit 2.
run "$KVSWEEP" expand "$WORK/grid.yaml" --format yaml > /dev/null 2>&1
[[ $RC -eq 2 ]] || fail "--format yaml exited $RC"

# 3. expand in three formats: the same ids, the JSON shape {"points": [...], "total": N}
"$KVSWEEP" expand "$WORK/grid.yaml" > "$WORK/table.txt"
"$KVSWEEP" expand "$WORK/grid.yaml" --format table > "$WORK/table2.txt"
cmp -s "$WORK/table.txt" "$WORK/table2.txt" || fail "the default format is not the table"
"$KVSWEEP" expand "$WORK/grid.yaml" --format csv > "$WORK/points.csv" 2> "$WORK/csv.err"
"$KVSWEEP" expand "$WORK/grid.yaml" --format json > "$WORK/points.json"
grep -q "^total: $N points; estimated " "$WORK/table.txt" || fail "table lacks its totals: $(tail -1 "$WORK/table.txt")"
grep -q "^total: $N points" "$WORK/csv.err" || fail "csv totals missing on stderr"
[[ $(head -1 "$WORK/table.txt" | awk '{print $2}') == point_id ]] || fail "table header: $(head -1 "$WORK/table.txt")"
/usr/bin/python3 - "$WORK" "$N" <<'PY'
import csv, json, sys
work, n = sys.argv[1], int(sys.argv[2])
doc = json.load(open(f"{work}/points.json"))
assert set(doc) == {"points", "total"}, doc.keys()
assert doc["total"] == n == len(doc["points"]), (doc["total"], len(doc["points"]))
ids = [p["point_id"] for p in doc["points"]]
assert len(set(ids)) == n and all(len(i) == 16 for i in ids), ids
for p in doc["points"]:
    for key in ("model", "hardware", "prompt_tokens", "decode_tokens", "capacity", "sparsity", "variation",
                "estimated_s", "cost_estimate", "axes"):
        assert key in p, (key, p)
    assert p["prompt_tokens"] == 100 * p["decode_tokens"], p
    assert not (p["model"] == "llama-2-7b" and p["capacity"] == 0.6), p
    assert p["axes"]["synthetic.span_tokens"] in ("8", "16"), p["axes"]
    assert p["estimated_s"] > 0
    assert p["estimated_lagrangian_s"] > 0, p  # the bound may run at every point (shown apart)
rows = list(csv.DictReader(open(f"{work}/points.csv")))
assert [r["point_id"] for r in rows] == ids, "csv and json differ"
table_ids = [line.split()[1] for line in open(f"{work}/table.txt").read().splitlines()[1:-1]]
assert table_ids == ids, "table and json differ"
PY

# The Lagrangian bound's share of the estimate: named in the totals with the key that skips it, and
# gone (0 at every point) once that key is set.
grep -q "^total: $N points; .*; plus up to .* of Lagrangian bound at $N point(s), .*(oracle.lagrangian_passes: 0 skips it)" \
  "$WORK/table.txt" || fail "table totals lack the Lagrangian bound: $(tail -1 "$WORK/table.txt")"
head -1 "$WORK/table.txt" | grep -q " estimated_s  estimated_lagrangian_s " || fail "table header: $(head -1 "$WORK/table.txt")"
{ cat "$WORK/grid.yaml"; echo "oracle: {lagrangian_passes: 0}"; } > "$WORK/no-bound.yaml"
"$KVSWEEP" expand "$WORK/no-bound.yaml" > "$WORK/no-bound.txt"
! grep -q "Lagrangian" "$WORK/no-bound.txt" || fail "lagrangian_passes 0 still names the bound: $(tail -1 "$WORK/no-bound.txt")"
"$KVSWEEP" expand "$WORK/no-bound.yaml" --format json | /usr/bin/python3 -c '
import json, sys
assert all(p["estimated_lagrangian_s"] == 0 for p in json.load(sys.stdin)["points"])
' || fail "lagrangian_passes 0 leaves a Lagrangian estimate"

# 4. eval takes a sweep: every point of it
cat > "$WORK/tiny.yaml" <<'YAML'
model: {name: tiny, layers: 2, kv_bytes_per_token_layer: 4096, weight_bytes_per_layer: 1.0e6}
hardware: gh200-measured
hbm_capacity_ratio: [0.2, 0.5]
prompt_tokens: 200
decode_tokens: 20
policies: [static, belady]
YAML
"$KVSWEEP" eval "$WORK/tiny.yaml" --json > "$WORK/eval.json"
"$KVSWEEP" expand "$WORK/tiny.yaml" --format json > "$WORK/tiny-expand.json"
/usr/bin/python3 -c '
import json, sys
ev, ex = (json.load(open(f)) for f in sys.argv[1:3])
assert [p["point_id"] for p in ev["points"]] == [p["point_id"] for p in ex["points"]], (ev, ex)
' "$WORK/eval.json" "$WORK/tiny-expand.json"
echo "sweep_cli: ok ($count bad sweeps)"
