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
"$KVSWEEP" expand "$WORK/sweep.yaml" | grep -q '^1 .* 300 ' || fail "expand does not number the 300-token point 1"
"$KVSWEEP" trace stats --json --point 1 "$WORK/sweep.yaml" | grep -q '"prompt_tokens": 300' ||
  fail "trace stats --point 1 of a sweep is not its second point"
run "$KVSWEEP" trace stats --point 2 "$WORK/sweep.yaml" 2> "$WORK/range.err"
[[ $RC -eq 2 ]] || fail "--point out of range exited $RC, expected 2"
grep -q -- "--point: 2 is out of range: .* has 2 point(s)" "$WORK/range.err" || fail "no range message: $(cat "$WORK/range.err")"

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
