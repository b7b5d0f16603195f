#!/usr/bin/env bash
# Batches from the command line (issue 25): a batched point evaluates with B sequences, blocks and a
# per-transfer cost; bad batch input gets one line at its file:line:col and exit 2 from validate, eval
# and run alike, with nothing written; a small batched sweep runs, resumes, loads into pandas and gets
# report.py's figures against its axes and analysis/serving_report.py's.
# Usage: bash batch_cli.sh <path-to-kvsweep> <tests-dir>
set -euo pipefail
KVSWEEP=$(realpath "$1")
TESTS=$(realpath "$2")
WORK=$(mktemp -d)
trap 'rm -rf "$WORK"' EXIT
fail() { echo "FAIL: $*" >&2; exit 1; }
run() { RC=0; "$@" || RC=$?; }
source "$(dirname "$0")/lib/refusals.sh"

# 1. One batched point, three ways: token by token, blocks of 16, blocks of 16 with O = 4 KiB.
cat > "$WORK/batch.yaml" <<'YAML'
model: llama-3.1-8b
hardware: gh200-measured
batch_size: 3
prompt_tokens: 300
prompt_tokens_spread: 0.5
decode_tokens: 12
hbm_capacity_ratio: 0.3
policies: [unlimited_hbm, static]
points:
  - {name: tokens}
  - {name: blocks, kv_block_tokens: 16}
  - {name: blocks-o, kv_block_tokens: 16, link_transfer_overhead_bytes: 4096}
  - {name: pages, kv_block_tokens: 16, read_unit: block}
YAML
"$KVSWEEP" eval "$WORK/batch.yaml" --json > "$WORK/batch.json"
/usr/bin/python3 - "$WORK/batch.json" <<'PY'
import json, sys
pts = {p["name"]: p for p in json.load(open(sys.argv[1]))["points"]}
t = pts["tokens"]
assert t["batch_size"] == 3 and len(t["batch_prompt_tokens"]) == 3, t["batch_prompt_tokens"]
assert all(150 <= p <= 450 for p in t["batch_prompt_tokens"]), t["batch_prompt_tokens"]
assert len(set(t["batch_prompt_tokens"])) > 1, "the spread drew equal prompts"
assert t["kv_footprint_entries"] == sum(p + 12 for p in t["batch_prompt_tokens"]) * t["layers"]
for name, p in pts.items():
    s, u = p["policies"]["static"], p["policies"]["unlimited_hbm"]
    assert abs(s["throughput_tok_s"] - 3 * 12 / s["total_time_s"]) < 1e-9 * s["throughput_tok_s"], name
    assert p["lower_bound_s"] <= s["total_time_s"] * (1 + 1e-12), name
    assert p["bounds"]["bandwidth_split_s"] <= u["total_time_s"] * (1 + 1e-12), name
    assert s["peak_resident_entries"] <= p["hbm_kv_capacity_entries"], name
# The same sequences: blocks only change placement; a transfer cost only adds link bytes (and time where
# the link binds: not here, where the weights make every step HBM-bound); whole pages read more.
assert pts["blocks"]["policies"]["static"]["reads"] == t["policies"]["static"]["reads"]
bo, b = pts["blocks-o"]["policies"]["static"], pts["blocks"]["policies"]["static"]
assert bo["link_bytes"] > b["link_bytes"] and bo["total_time_s"] >= b["total_time_s"], (bo, b)
assert pts["pages"]["policies"]["static"]["reads"] > pts["blocks"]["policies"]["static"]["reads"]
assert pts["blocks-o"]["link_transfer_overhead_bytes"] == 4096
PY

# The oracle on a batch of blocks where the link binds (h100-pcie5: 64 GB/s, O = 24 KiB): annealed from the
# best policy, faster than it, its schedule judged again (eval reports the judge's time); too large a
# batch for oracle.max_memory_gb keeps its seed (windows are a lone sequence's).
cat > "$WORK/oracle.yaml" <<'YAML'
model: {name: light, layers: 4, kv_bytes_per_token_layer: 4096, weight_bytes_per_layer: 1000000}
hardware: h100-pcie5
batch_size: 3
prompt_tokens: 200
decode_tokens: 16
kv_block_tokens: 4
hbm_capacity_ratio: 0.3
policies: [static, reactive_lru, belady, oracle]
oracle: {moves: 300000}
points:
  - {name: whole}
  - {name: too-large, decode_tokens: 15, oracle: {moves: 300000, max_memory_gb: 0.000001}}
YAML
"$KVSWEEP" eval "$WORK/oracle.yaml" --json > "$WORK/oracle.json"
/usr/bin/python3 - "$WORK/oracle.json" <<'PY'
import json, sys
pts = {p["name"]: p for p in json.load(open(sys.argv[1]))["points"]}
w, big = pts["whole"], pts["too-large"]
def best_policy(p):
    return min(p["policies"][n]["total_time_s"] for n in ("static", "reactive_lru", "belady"))
best = best_policy(w)
o = w["oracle"]
assert o["annealed"] and abs(o["seed_time_s"] - best) <= 1e-12 * best, o
assert w["policies"]["oracle"]["total_time_s"] < best * (1 - 1e-3), (w["policies"]["oracle"], best)
assert w["policies"]["oracle"]["peak_resident_entries"] <= w["hbm_kv_capacity_entries"]
assert not big["oracle"]["annealed"] and "not annealed" in big["oracle"]["note"], big["oracle"]
assert abs(big["policies"]["oracle"]["total_time_s"] - best_policy(big)) <= 1e-12 * best_policy(big)
PY

# 2. Bad batch input: one line, exit 2, from validate, eval and run, and nothing written.
write() { printf '%s\n' "$2" > "$WORK/$1"; }
base=$'model: llama-3.1-8b\nhardware: gh200-measured\ndecode_tokens: 8\npolicies: [static]'
write block0.yaml "$base"$'\nprompt_tokens: 100\nkv_block_tokens: 0'
write block3.yaml "$base"$'\nprompt_tokens: 100\nkv_block_tokens: 3'
write prompts.yaml "$base"$'\nbatch_size: 3\nbatch_prompt_tokens: [100, 200]'
write both.yaml "$base"$'\nprompt_tokens: 100\nbatch_prompt_tokens: [100, 200]'
write dram.yaml $'model: llama-3.1-8b\nhardware: {name: small, hbm_bw_gbps: 3400, link_read_gbps: 375, link_write_gbps: 297, dram_bw_gbps: 486, hbm_capacity_gb: 96, dram_capacity_gb: 1}\ndecode_tokens: 8\nprompt_tokens: 4000\nbatch_size: 16\npolicies: [static]'
printf 'n,l,tokens\n4,0,"[0, 1]"\n5,0,"[2, 4]"\n' > "$WORK/seq.csv"      # P = 4, D = 2, L = 1
write files.yaml $'model: {name: tiny, layers: 1, kv_bytes_per_token_layer: 64, weight_bytes_per_layer: 0}\nhardware: gh200-measured\nhbm_kv_capacity_entries: 4\nbatch_size: 3\ntrace: {files: [seq.csv, seq.csv]}\npolicies: [static]'
cases=(
  "block0.yaml|6:18|kv_block_tokens: 0 is out of range [1, 4096]"
  "block3.yaml|6:18|kv_block_tokens: 3 is not a power of two; allowed: 1, 2, 4, ..., 4096 (vLLM's 16, SGLang's 64 and 256)"
  "prompts.yaml|6:1|batch_prompt_tokens: 2 prompt lengths for batch_size 3; give one per sequence"
  "both.yaml|5:1|prompt_tokens: batch_prompt_tokens (at 6:1) gives every prompt already; give one or the other"
  "files.yaml|4:1|batch_size: 3 but trace.files gives 2 sequences (one per file); remove batch_size or make them agree"
)
expect_refusals "validate;eval;run -o out.h5" "${cases[@]}"
# Recorded sequences, one file each: the batch reads what the files read, each in its own segment.
write twofiles.yaml $'model: {name: tiny, layers: 1, kv_bytes_per_token_layer: 64, weight_bytes_per_layer: 0}\nhardware: gh200-measured\nhbm_kv_capacity_entries: 4\npolicies: [unlimited_hbm, static]\npoints:\n  - {trace: {file: seq.csv}}\n  - {trace: {files: [seq.csv, seq.csv]}}'
"$KVSWEEP" eval "$WORK/twofiles.yaml" --json > "$WORK/twofiles.json"
/usr/bin/python3 - "$WORK/twofiles.json" <<'PY'
import json, sys
one, two = json.load(open(sys.argv[1]))["points"]
assert one["batch_size"] == 1 and two["batch_size"] == 2 and two["batch_prompt_tokens"] == [4, 4]
assert two["policies"]["static"]["reads"] == 2 * one["policies"]["static"]["reads"] == 2 * 4
assert two["kv_footprint_entries"] == 2 * one["kv_footprint_entries"] == 12
PY
# Sequences that do not decode in lockstep: the file that differs is named.
printf 'n,l,tokens\n4,0,"[0]"\n5,0,"[1]"\n6,0,"[5]"\n' > "$WORK/seq3.csv"  # D = 3
write lockstep.yaml $'model: {name: tiny, layers: 1, kv_bytes_per_token_layer: 64, weight_bytes_per_layer: 0}\nhardware: gh200-measured\nhbm_kv_capacity_entries: 4\ntrace: {files: [seq.csv, seq3.csv]}\npolicies: [static]'
run "$KVSWEEP" validate "$WORK/lockstep.yaml" 2> "$WORK/err"
[[ $RC -eq 2 && $(wc -l < "$WORK/err") -eq 1 ]] || fail "lockstep: exit $RC: $(cat "$WORK/err")"
grep -q "^kvsweep: error: $WORK/seq3.csv: has D = 3, L = 1 but $WORK/seq.csv" "$WORK/err" || fail "lockstep: $(cat "$WORK/err")"
# The batch whose KV does not fit in DRAM: named with both sizes.
run "$KVSWEEP" validate "$WORK/dram.yaml" 2> "$WORK/err"
[[ $RC -eq 2 && $(wc -l < "$WORK/err") -eq 1 ]] || fail "dram: exit $RC: $(cat "$WORK/err")"
grep -q "exceeds its 1 GB of DRAM (dram_capacity_gb)" "$WORK/err" || fail "dram: $(cat "$WORK/err")"

# 3. A batched sweep: run, resume (nothing to do), one pandas call.
cat > "$WORK/sweep.yaml" <<'YAML'
model: llama-3.1-8b
hardware: gh200-measured
prompt_tokens: 256
decode_tokens: 8
hbm_capacity_ratio: 0.25
batch_size: [1, 2, 4]
kv_block_tokens: [1, 16]
policies: [unlimited_hbm, static, reactive_lru, page, belady]
YAML
(cd "$WORK" && "$KVSWEEP" run sweep.yaml -o out.h5 > /dev/null 2>&1) || fail "run"
(cd "$WORK" && "$KVSWEEP" run sweep.yaml -o out.h5 --resume > "$WORK/resume.txt" 2>&1) || fail "resume: $(cat "$WORK/resume.txt")"
PYTHONPATH="$TESTS/../analysis" /usr/bin/python3 - "$WORK/out.h5" <<'PY'
import sys
import kvsweep_results as kr
df = kr.load(sys.argv[1])
assert len(df) == 6 and (df.status == "ok").all(), df[["batch_size", "kv_block_tokens", "status"]]
assert sorted(df.batch_size.unique()) == [1, 2, 4]
assert sorted(df.kv_block_tokens.unique()) == [1, 16]
assert {"batch_size", "kv_block_tokens"} <= set(kr.varying_parameters(df))
# Time over the batch grows with B, tokens per second too.
one = df[(df.kv_block_tokens == 1)].sort_values("batch_size")
assert one.static_throughput_tok_s.is_monotonic_increasing, one.static_throughput_tok_s
PY
# report.py draws the sweep's own axes: throughput over static against batch size and block size.
/usr/bin/python3 "$TESTS/../analysis/report.py" "$WORK/out.h5" -o "$WORK/report" -q || fail "report.py"
for axis in batch_size kv_block_tokens; do
  [[ -s "$WORK/report/speedup_vs_$axis.png" ]] || fail "report.py drew no speedup_vs_$axis.png: $(ls "$WORK/report")"
done
# The serving study's report on it: one figure per (sparsity, block size), blocks, byte mix, a row per point.
/usr/bin/python3 "$TESTS/../analysis/serving_report.py" "$WORK/out.h5" -o "$WORK/serving" > /dev/null || fail "serving_report.py"
for f in serving_speedup_vs_batch_s0.6_k1.png serving_speedup_vs_batch_s0.6_k16.png serving_blocks.png serving_byte_mix.png; do
  [[ -s "$WORK/serving/$f" ]] || fail "serving_report.py drew no $f: $(ls "$WORK/serving")"
done
rows=$(grep -c "^| llama-3.1-8b | gh200-measured | 256 | 0.6 |" "$WORK/serving/serving.md")
[[ "$rows" == 6 ]] || fail "serving.md has $rows point rows, not 6"
# The best schedule is at least the best LRU-style one and never below the certified bound.
/usr/bin/python3 - "$WORK/serving/serving.md" <<'PY' || fail "serving.md: best / LRU-style or gap out of range"
import sys
rows = [l.strip().strip("|").split("|") for l in open(sys.argv[1]) if l.startswith("| llama")]
head = [h.strip() for h in next(l for l in open(sys.argv[1]) if l.startswith("| model")).strip().strip("|").split("|")]
over, gap = head.index("best / best LRU-style"), head.index("gap to bound %")
assert rows and all(float(r[over]) >= 1.0 for r in rows), [r[over] for r in rows]
assert all(float(r[gap]) >= 0.0 for r in rows), [r[gap] for r in rows]
PY
/usr/bin/python3 "$TESTS/../analysis/serving_report.py" "$WORK/nothing.h5" -o "$WORK/serving2" 2> "$WORK/err" && fail "serving_report.py on a missing file"
grep -q "nothing.h5" "$WORK/err" || fail "serving_report.py's error names no file: $(cat "$WORK/err")"
echo "batch_cli: ok"
