#!/usr/bin/env bash
# End-to-end checks of `kvsweep trace`: convert CSV -> HDF5, identical stats from both, refusal to
# overwrite (exit 2, output byte-identical), bad input (exit 2, file:line on stderr, no output).
# Usage: bash trace_cli.sh <path-to-kvsweep> <tests-dir>
set -euo pipefail

KVSWEEP=$1
TESTS=$2
DATA=${KVSWEEP_TEST_DATA:-$TESTS/data}
WORK=$(mktemp -d)
trap 'rm -rf "$WORK"' EXIT

fail() { echo "FAIL: $*" >&2; exit 1; }

# Runs the command, stores its exit code in RC (set -e must not end the script on an expected failure).
run() { RC=0; "$@" || RC=$?; }

# 1. convert the tiny CSV trace to HDF5
"$KVSWEEP" trace convert "$DATA/tiny_trace.csv" "$WORK/tiny.h5" > "$WORK/convert.out"
[[ -s "$WORK/tiny.h5" ]] || fail "convert wrote no file"
[[ ! -e "$WORK/tiny.h5.tmp" ]] || fail "convert left its temporary file"
head -c 8 "$WORK/tiny.h5" | od -An -c | grep -q 'H   D   F' || fail "output is not HDF5"

# 2. stats --json of both files: same numbers (only the "trace" name differs)
"$KVSWEEP" trace stats --json "$DATA/tiny_trace.csv" | grep -v '"trace":' > "$WORK/csv.json"
"$KVSWEEP" trace stats --json "$WORK/tiny.h5" | grep -v '"trace":' > "$WORK/h5.json"
diff "$WORK/csv.json" "$WORK/h5.json" || fail "stats differ between CSV and HDF5"
grep -q '"decode_tokens": 4' "$WORK/csv.json" || fail "unexpected shape: $(cat "$WORK/csv.json")"
grep -q '"layers": 2' "$WORK/csv.json" || fail "unexpected layers"
grep -q '"prompt_tokens": 6' "$WORK/csv.json" || fail "unexpected prompt_tokens"
"$KVSWEEP" trace stats "$WORK/tiny.h5" | grep -q '^mean_jaccard' || fail "table output lacks mean_jaccard"
# --first-tokens: the share of reads in tokens < N, the same from both files; a point file (and a
# random_swap one) defaults N to C / L
"$KVSWEEP" trace stats --json --first-tokens 2 "$WORK/tiny.h5" | grep -q '"first_tokens": 2' ||
  fail "stats --first-tokens lacks first_tokens"
cat > "$WORK/point.yaml" <<'YAML'
model: llama-3.1-8b-paper
hardware: paper-table1
hbm_kv_capacity_entries: 3200
prompt_tokens: 300
decode_tokens: 20
synthetic: {model: random_swap}
YAML
"$KVSWEEP" trace stats "$WORK/point.yaml" | grep -q '^first_token_share .* in tokens < 100 ' ||
  fail "stats on a point file lacks first_token_share at C / L = 100: $("$KVSWEEP" trace stats "$WORK/point.yaml" | head -12)"
# A sweep file: --point counts its points as `kvsweep expand` numbers them (from 0); out of range: exit 2
cat > "$WORK/sweep.yaml" <<'YAML'
model: llama-3.1-8b
hardware: paper-table1
hbm_capacity_ratio: 0.5
prompt_tokens: [200, 300]
decode_tokens: 10
YAML
"$KVSWEEP" expand "$WORK/sweep.yaml" > "$WORK/expand.out"
grep -q '^1 .* 300 ' "$WORK/expand.out" || fail "expand does not number the 300-token point 1"
"$KVSWEEP" trace stats --json --point 1 "$WORK/sweep.yaml" > "$WORK/point1.json"
grep -q '"prompt_tokens": 300' "$WORK/point1.json" || fail "trace stats --point 1 of a sweep is not its second point"
run "$KVSWEEP" trace stats --point 2 "$WORK/sweep.yaml" 2> "$WORK/range.err"
[[ $RC -eq 2 ]] || fail "--point out of range exited $RC, expected 2"
grep -q -- "--point: 2 is out of range: .* has 2 point(s)" "$WORK/range.err" || fail "no range message: $(cat "$WORK/range.err")"

# validate reads the trace files of a sweep in full: a bad one is refused at its line (exit 2), a good
# one passes, and a point too large for its hardware at the file's shape is refused
cat > "$WORK/bad_trace_point.yaml" <<YAML
model: {name: t, layers: 2, kv_bytes_per_token_layer: 64, weight_bytes_per_layer: 1000}
hardware: paper-table1
hbm_kv_capacity_entries: 4
trace: {file: $DATA/bad_traces/token_not_past.csv}
YAML
run "$KVSWEEP" validate "$WORK/bad_trace_point.yaml" 2> "$WORK/validate.err"
[[ $RC -eq 2 ]] || fail "validate of a point with a bad trace exited $RC, expected 2"
grep -qF "token_not_past.csv:4: token 5 at step 5 is not a past token" "$WORK/validate.err" ||
  fail "validate did not name the bad line: $(cat "$WORK/validate.err")"
sed "s|bad_traces/token_not_past.csv|tiny_trace.csv|" "$WORK/bad_trace_point.yaml" > "$WORK/good_trace_point.yaml"
"$KVSWEEP" validate "$WORK/good_trace_point.yaml" > "$WORK/validate.out"
grep -q '^OK: 1 point' "$WORK/validate.out" || fail "validate refused a good trace"
sed "s|hardware: paper-table1|hardware: {name: box, hbm_bw_gbps: 1000, link_read_gbps: 100, link_write_gbps: 100, dram_bw_gbps: 200, hbm_capacity_gb: 1.0e-7}|" \
  "$WORK/good_trace_point.yaml" > "$WORK/too_big_point.yaml"
run "$KVSWEEP" validate "$WORK/too_big_point.yaml" 2> "$WORK/too_big.err"
[[ $RC -eq 2 ]] || fail "validate of a point too large for its hardware exited $RC, expected 2"
grep -q "t on box does not fit" "$WORK/too_big.err" || fail "no feasibility message: $(cat "$WORK/too_big.err")"

# 3. converting onto an existing file without --force: exit 2, file byte-identical
cp "$WORK/tiny.h5" "$WORK/before.h5"
run "$KVSWEEP" trace convert "$DATA/tiny_trace.csv" "$WORK/tiny.h5" 2> "$WORK/exists.err"
[[ $RC -eq 2 ]] || fail "overwrite without --force exited $RC, expected 2"
grep -q "$WORK/tiny.h5: .*--force" "$WORK/exists.err" || fail "no useful message: $(cat "$WORK/exists.err")"
cmp -s "$WORK/tiny.h5" "$WORK/before.h5" || fail "existing output was modified"
# ... and with --force it is replaced (and converting the HDF5 file itself works)
"$KVSWEEP" trace convert --force "$WORK/before.h5" "$WORK/tiny.h5" > /dev/null

# 4. a bad trace: exit 2, "file:line" on stderr, no output created (nor a temporary file)
BAD="$DATA/bad_traces/token_not_past.csv"
run "$KVSWEEP" trace convert "$BAD" "$WORK/bad.h5" 2> "$WORK/bad.err"
[[ $RC -eq 2 ]] || fail "bad trace exited $RC, expected 2"
grep -qF "$BAD:4: token 5 at step 5 is not a past token" "$WORK/bad.err" || fail "no file:line: $(cat "$WORK/bad.err")"
[[ ! -e "$WORK/bad.h5" && ! -e "$WORK/bad.h5.tmp" ]] || fail "output created for a bad trace"

# ... also when it would replace an existing file with --force: that file stays as it was
run "$KVSWEEP" trace convert --force "$BAD" "$WORK/tiny.h5" 2> /dev/null
[[ $RC -eq 2 ]] || fail "bad trace with --force exited $RC, expected 2"
"$KVSWEEP" trace stats "$WORK/tiny.h5" > /dev/null || fail "existing output damaged by a failed --force convert"

# 5. stats on a bad trace and on a missing file: exit 2
run "$KVSWEEP" trace stats "$BAD" 2> "$WORK/stats.err"
[[ $RC -eq 2 ]] || fail "stats on a bad trace exited $RC"
grep -qF "$BAD:4:" "$WORK/stats.err" || fail "stats: no file:line"
run "$KVSWEEP" trace stats "$WORK/missing.csv" 2> /dev/null
[[ $RC -eq 2 ]] || fail "stats on a missing file exited $RC"

echo "trace_cli: all checks passed"
