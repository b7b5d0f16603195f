#!/usr/bin/env bash
# Issue 27 item 4: no point that validates may crash kvsweep. Tiny edge-case points — P = 1, D = 1,
# L = 1, a context crossing a 64-token word, steps that read nothing or every past token, capacities 0,
# 1, exactly the footprint and far above it, knobs at both ends of their ranges (page_tokens 2^32 - 1
# crashed `page`) — through `kvsweep eval` with the default policy list (the oracle, its (W, R) tuning
# and the bounds included) and `kvsweep run`: both must finish (exit 0, no signal), every schedule
# within capacity and no faster than the certified lower bound, every row `ok`.
# Usage: bash eval_edge_points.sh <path-to-kvsweep> <tests-dir>
set -euo pipefail

KVSWEEP=$1
WORK=$(mktemp -d)
trap 'rm -rf "$WORK"' EXIT

fail() { echo "FAIL: $*" >&2; exit 1; }

# trace FILE P D L RULE: a CSV trace whose (step n, layer l) reads the past tokens RULE picks:
# none, all, newest (n - 1), flip (nothing at even steps after P, everything at odd ones).
trace() {
  local file=$1 p=$2 d=$3 layers=$4 rule=$5
  awk -v P="$p" -v D="$d" -v L="$layers" -v rule="$rule" 'BEGIN {
    print "n,l,tokens"
    for (n = P; n < P + D; n++) for (l = 0; l < L; l++) {
      s = ""
      for (t = 0; t < n; t++) {
        read = rule == "all" || (rule == "newest" && t == n - 1) || (rule == "flip" && (n - P) % 2 == 1)
        if (read) s = s (s == "" ? "" : ", ") t
      }
      printf "%d,%d,\"[%s]\"\n", n, l, s
    }
  }' > "$WORK/$file"
}
trace t1.csv 1 1 1 all      # the smallest point there is: footprint 2
trace t2.csv 1 3 2 none     # no step reads anything
trace t3.csv 2 2 2 all      # every step reads every past token: footprint 8
trace t4.csv 1 70 1 newest  # the context crosses a 64-token word
trace t5.csv 63 3 2 flip    # ... at the first decode step; reads alternate between nothing and all

cat > "$WORK/edge.yaml" <<'YAML'
hardware: gh200-measured
hbm_kv_capacity_entries: [0, 1, 2, 8, 1000000]
hbm_reads: [balanced, resident]
policy_params:
  page_tokens: [1, 16777216]       # the largest allowed (config/limits.hpp), far past every P here
  streaming_sinks: [0, 16777216]
  h2o_recent_share: [0, 1]
  belady_lookahead: [1, 4096]
  sa_window: [1, 4096]
  sa_fraction: [1.0e-9, 1]
  fm_lookahead: [1, 4096]
zip: [[hbm_reads, policy_params.page_tokens, policy_params.streaming_sinks, policy_params.h2o_recent_share,
       policy_params.belady_lookahead, policy_params.sa_window, policy_params.sa_fraction, policy_params.fm_lookahead]]
oracle: {replicas: 2, moves: 2.0e4, moves_per_round: 500, patience_rounds: 3, sa_replicas: 1, sa_rounds: 2,
         sa_w_max: 4096, lagrangian_passes: 20, lagrangian_gap: 0}
points:
  - model: {name: one-layer, layers: 1, kv_bytes_per_token_layer: 16384, weight_bytes_per_layer: 1.0e5}
    trace: [{file: t1.csv}, {file: t4.csv}]
  - model: {name: two-layer, layers: 2, kv_bytes_per_token_layer: 16384, weight_bytes_per_layer: 0.0}
    trace: [{file: t2.csv}, {file: t3.csv}, {file: t5.csv}]
YAML

"$KVSWEEP" validate "$WORK/edge.yaml" > "$WORK/validate.out" || fail "validate refused the edge points"
grep -q '^OK: 50 points' "$WORK/validate.out" || fail "expected 50 points: $(cat "$WORK/validate.out")"

RC=0
"$KVSWEEP" eval "$WORK/edge.yaml" --json > "$WORK/eval.json" 2> "$WORK/eval.err" || RC=$?
[[ $RC -eq 0 ]] || fail "eval exited $RC (a signal is 128 + its number): $(tail -5 "$WORK/eval.err")"
/usr/bin/python3 - "$WORK/eval.json" <<'PY'
import json, math, sys
points = json.load(open(sys.argv[1]))["points"]
assert len(points) == 50, len(points)
for p in points:
    where = "%s (P=%d D=%d L=%d C=%d %s)" % (p["source"], p["prompt_tokens"], p["decode_tokens"], p["layers"],
                                           p["hbm_kv_capacity_entries"], p["hbm_reads"])
    names = list(p["policies"])
    for want in ("unlimited_hbm", "static", "reactive_lru", "page", "streaming", "h2o", "belady", "sa_guided",
                 "fm_tracking", "oracle"):
        assert want in names, "%s: no %s in %s" % (where, want, names)
    bound = p["lower_bound_s"]
    assert math.isfinite(bound) and bound > 0, (where, bound)
    for name, m in p["policies"].items():
        t = m["total_time_s"]
        assert math.isfinite(t) and t > 0, (where, name, t)
        if name == "unlimited_hbm":
            continue
        assert m["peak_resident_entries"] <= p["hbm_kv_capacity_entries"], \
            "%s: %s holds %d entries, capacity %d" % (where, name, m["peak_resident_entries"],
                                                     p["hbm_kv_capacity_entries"])
        assert t >= bound * (1 - 1e-9), "%s: %s at %.17g s beats the lower bound %.17g s" % (where, name, t, bound)
    assert p["best_gap"] >= -1e-9, (where, p["best_gap"])
print("eval: %d edge points, every schedule within capacity and above the bound" % len(points))
PY

RC=0
"$KVSWEEP" run "$WORK/edge.yaml" -o "$WORK/edge.h5" -q > "$WORK/run.out" 2> "$WORK/run.err" || RC=$?
[[ $RC -eq 0 ]] || fail "run exited $RC: $(tail -5 "$WORK/run.err")"
/usr/bin/python3 - "$WORK/edge.h5" <<'PY'
import sys
import h5py
with h5py.File(sys.argv[1], "r") as f:
    rows = f["points"][:]
status = [s.decode() if isinstance(s, bytes) else s for s in rows["status"]]
assert len(status) == 50 and all(s == "ok" for s in status), status
print("run: 50 rows, all ok")
PY
