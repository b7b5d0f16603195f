#!/usr/bin/env bash
# Issue 27 items 4 and 8: trace files that used to pass `validate` and then crash (a trace starting at
# step 0: no prompt) or be misread ("no data lines after the header" for a gzip file) are refused where
# they are first read — validate, trace convert, trace stats, eval — with file:line, what is wrong and
# what to do, exit 2, no output file. `run` turns the point into a failed row instead of a crash.
# Usage: bash trace_refusals.sh <path-to-kvsweep> <tests-dir>
set -euo pipefail

KVSWEEP=$1
TESTS=$2
DATA=${KVSWEEP_TEST_DATA:-$TESTS/data}
WORK=$(mktemp -d)
trap 'rm -rf "$WORK"' EXIT

fail() { echo "FAIL: $*" >&2; exit 1; }
run() { RC=0; "$@" || RC=$?; }

# expect_refusal WHAT FRAGMENT CMD...: exit 2, one line on stderr containing FRAGMENT, nothing on stdout
expect_refusal() {
  local what=$1 fragment=$2
  shift 2
  run "$@" > "$WORK/out" 2> "$WORK/err"
  [[ $RC -eq 2 ]] || fail "$what exited $RC, expected 2: $(cat "$WORK/err")"
  grep -qF -- "$fragment" "$WORK/err" || fail "$what: stderr lacks '$fragment': $(cat "$WORK/err")"
  [[ $(wc -l < "$WORK/err") -eq 1 ]] || fail "$what: more than one line on stderr: $(cat "$WORK/err")"
  [[ ! -s "$WORK/out" ]] || fail "$what wrote to stdout: $(cat "$WORK/out")"
}

point() {  # point FILE TRACE: a 2-layer point on that trace file
  cat > "$WORK/$1" <<YAML
model: {name: tiny, layers: 2, kv_bytes_per_token_layer: 16384, weight_bytes_per_layer: 1.0e6}
hardware: gh200-measured
trace: {file: $2}
hbm_kv_capacity_entries: 4
YAML
}

# 1. A CSV trace whose first step is 0 (no prompt): validate said OK, eval and run exited 139 in `page`.
printf 'n,l,tokens\n0,0,"[]"\n0,1,"[]"\n1,0,"[0]"\n1,1,"[0]"\n' > "$WORK/p0.csv"
point p0.yaml p0.csv
NO_PROMPT="p0.csv:2: the first step is 0, so the trace has no prompt (P = 0)"
expect_refusal "validate of a P = 0 trace" "$NO_PROMPT" "$KVSWEEP" validate "$WORK/p0.yaml"
expect_refusal "trace convert of a P = 0 trace" "$NO_PROMPT" "$KVSWEEP" trace convert "$WORK/p0.csv" "$WORK/p0.h5"
[[ ! -e "$WORK/p0.h5" && ! -e "$WORK/p0.h5.tmp" ]] || fail "trace convert of a P = 0 trace wrote a file"
expect_refusal "trace stats of a P = 0 trace" "$NO_PROMPT" "$KVSWEEP" trace stats "$WORK/p0.csv"
expect_refusal "eval of a P = 0 trace" "$NO_PROMPT" "$KVSWEEP" eval "$WORK/p0.yaml"
run "$KVSWEEP" run "$WORK/p0.yaml" -o "$WORK/p0-results.h5" -q > /dev/null 2> "$WORK/run.err"
[[ $RC -eq 1 ]] || fail "run of a P = 0 trace exited $RC, expected 1 (a failed row): $(cat "$WORK/run.err")"
grep -qF "$NO_PROMPT" "$WORK/run.err" || fail "run did not say why the point failed: $(cat "$WORK/run.err")"
run "$KVSWEEP" run "$WORK/p0.yaml" -o "$WORK/p0-results.h5" --resume -q > /dev/null 2> "$WORK/resume.err"
[[ $RC -eq 1 ]] || fail "run --resume of a P = 0 trace exited $RC, expected 1: $(cat "$WORK/resume.err")"

# ... and the same trace in the HDF5 format (written here by h5py, since kvsweep no longer writes one).
/usr/bin/python3 - "$WORK/p0-trace.h5" <<'PY'
import sys
import h5py
import numpy as np
with h5py.File(sys.argv[1], "w") as f:
    for k, v in {"format": "kvsweep-trace", "format_version": 1, "prompt_tokens": 0, "decode_tokens": 2,
                 "layers": 2}.items():
        f.attrs[k] = v
    f["offsets"] = np.array([0, 0, 0, 1, 2], dtype=np.uint64)
    f["tokens"] = np.array([0, 0], dtype=np.uint32)
PY
point p0-h5.yaml p0-trace.h5
H5_NO_PROMPT="p0-trace.h5: attribute 'prompt_tokens' is 0, so the trace has no prompt"
expect_refusal "validate of a P = 0 HDF5 trace" "$H5_NO_PROMPT" "$KVSWEEP" validate "$WORK/p0-h5.yaml"
expect_refusal "trace convert of a P = 0 HDF5 trace" "$H5_NO_PROMPT" \
  "$KVSWEEP" trace convert "$WORK/p0-trace.h5" "$WORK/p0-back.h5"
[[ ! -e "$WORK/p0-back.h5" ]] || fail "trace convert of a P = 0 HDF5 trace wrote a file"
expect_refusal "eval of a P = 0 HDF5 trace" "$H5_NO_PROMPT" "$KVSWEEP" eval "$WORK/p0-h5.yaml"

# 2. A compressed trace (item 8): "no data lines after the header" before; now what it is and the command
# that decompresses it, for a .gz name and for a gzip file renamed .csv.
cp "$DATA/tiny_trace.csv" "$WORK/t.csv"
gzip -k "$WORK/t.csv"
point gz.yaml t.csv.gz
expect_refusal "validate of a .csv.gz trace" \
  "t.csv.gz:1: compressed file (gzip): decompress it first (gunzip -k $WORK/t.csv.gz)" \
  "$KVSWEEP" validate "$WORK/gz.yaml"
cp "$WORK/t.csv.gz" "$WORK/renamed.csv"
point renamed.yaml renamed.csv
expect_refusal "validate of a gzip file named .csv" \
  "renamed.csv:1: compressed file (gzip): decompress it first (gunzip -c $WORK/renamed.csv > decompressed.csv)" \
  "$KVSWEEP" validate "$WORK/renamed.yaml"
expect_refusal "trace stats of a .csv.gz file" "compressed file (gzip)" "$KVSWEEP" trace stats "$WORK/t.csv.gz"
# Decompressed as told, it passes.
gunzip -c "$WORK/renamed.csv" > "$WORK/decompressed.csv"
point ok.yaml decompressed.csv
"$KVSWEEP" validate "$WORK/ok.yaml" | grep -q '^OK: 1 point' || fail "the decompressed trace does not validate"

# 3. Other binary content given as a CSV trace: NUL bytes.
{ printf 'n,l,tokens\n4,0,"[0]"\n'; printf '4,1,"[1]\0\0\0"\n'; } > "$WORK/nul.csv"
point nul.yaml nul.csv
expect_refusal "validate of a trace with NUL bytes" "nul.csv:3: binary content (a NUL byte at byte 29)" \
  "$KVSWEEP" validate "$WORK/nul.yaml"

echo "trace refusals: OK"
