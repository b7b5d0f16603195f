#!/usr/bin/env bash
# Values that passed `validate` and failed later (issue 27): each is refused by validate, eval and run
# alike, exit 2, one line at its file:line:col naming what is allowed, and run writes nothing. A knob
# that is in range never allocates by its value: page_tokens past the sequence evaluates as the sequence.
# Usage: bash validate_ranges.sh <path-to-kvsweep> <tests-dir>
set -euo pipefail
KVSWEEP=$(realpath "$1")
WORK=$(mktemp -d)
trap 'rm -rf "$WORK"' EXIT
fail() { echo "FAIL: $*" >&2; exit 1; }
run() { RC=0; "$@" || RC=$?; }
source "$(dirname "$0")/lib/refusals.sh"

point() {  # file, extra lines
  printf 'model: llama-2-7b\nhardware: gh200-measured\nprompt_tokens: 512\ndecode_tokens: 16\n%s\npolicies: [static, page]\n' "$2" > "$WORK/$1"
}
# file | expected file:line:col | message
point page.yaml $'hbm_capacity_ratio: 0.5\npolicy_params: {page_tokens: 2147483648}'
point gb.yaml 'hbm_capacity_gb: 1e300'
point gbmax.yaml 'hbm_capacity_gb: 18446744073709551615'
point link.yaml $'hbm_capacity_ratio: 0.5\nlink_read_gbps: 1e-6'
point linkfast.yaml $'hbm_capacity_ratio: 0.5\nlink_read_gbps: 1e300'
printf 'model: llama-2-7b\nhardware: {name: big, hbm_bw_gbps: 3400, link_read_gbps: 375, link_write_gbps: 297, dram_bw_gbps: 486}\nhbm_kv_capacity_entries: 1000\nprompt_tokens: 4000000000\ndecode_tokens: 16\n' > "$WORK/tokens.yaml"
cases=(
  "page.yaml|6:30|policy_params.page_tokens: 2147483648 is out of range [1, 16777216]"
  "gb.yaml|5:18|hbm_capacity_gb: 1e300 is out of range (0, 1e+06]"
  "gbmax.yaml|5:18|hbm_capacity_gb: 18446744073709551615 is out of range (0, 1e+06]"
  "link.yaml|6:17|link_read_gbps: 1e-6 is out of range [0.1, 1e+06]"
  "linkfast.yaml|6:17|link_read_gbps: 1e300 is out of range [0.1, 1e+06]"
  "tokens.yaml|4:16|prompt_tokens: 4000000000 is out of range [1, 16777216]"
)
expect_refusals "validate;expand;eval;run -o out.h5" "${cases[@]}"

# page_tokens as long as allowed, on a 528-token point: the same schedule as a page of all 528 tokens,
# in little memory (it was a counting sort over page_tokens * L keys, 4.3 GB, assigned at every step).
point long-page.yaml $'hbm_capacity_ratio: 0.5\npolicy_params: {page_tokens: 16777216}'
point one-page.yaml $'hbm_capacity_ratio: 0.5\npolicy_params: {page_tokens: 528}'
# Peak RSS of the child in KB (ru_maxrss; GNU time is not on a fresh Debian).
/usr/bin/python3 -c 'import resource, subprocess, sys
subprocess.run(sys.argv[2:], stdout=open(sys.argv[1], "w"), check=True)
print(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss)' "$WORK/long.json" "$KVSWEEP" eval "$WORK/long-page.yaml" --json > "$WORK/rss"
"$KVSWEEP" eval "$WORK/one-page.yaml" --json > "$WORK/one.json"
rss_kb=$(tail -1 "$WORK/rss")
[[ $rss_kb -lt 500000 ]] || fail "page_tokens 16777216 took $rss_kb KB"
/usr/bin/python3 - "$WORK/long.json" "$WORK/one.json" <<'PY'
import json, sys
a, b = (json.load(open(f))["points"][0]["policies"]["page"] for f in sys.argv[1:3])
for k in ("total_time_s", "hits", "promotions", "prefetches"):
    assert a[k] == b[k], (k, a[k], b[k])
PY
echo "validate_ranges: ok"
