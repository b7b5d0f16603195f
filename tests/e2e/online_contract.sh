#!/usr/bin/env bash
# The information contract end to end (issue 26 item 1, docs/design/online.md): two recorded traces equal
# up to decode step m and different after it; `kvsweep run --detail` on both, alone and as a batch of two
# in blocks of 2. Every policy the results file names online (attribute online_policies) has per-step
# times identical before m; belady, which sees the future, has some that differ (so the test can fail).
# `eval --json` says "online" per policy, the same set.
# Usage: bash online_contract.sh <path-to-kvsweep> <tests-dir>
# shellcheck source=lib/run_common.sh
source "$(dirname "$0")/lib/run_common.sh" "$@"

# P = 32, D = 24, L = 2; every existing token read with probability 0.3; from step m = 44 on the altered
# file draws from another generator.
"$PY" - "$WORK" <<'PY'
import random, sys
P, D, L, m = 32, 24, 2, 44
for name, seed_after in (("base", 7), ("alt", 8)):
    before, after = random.Random(1), random.Random(seed_after)
    with open(f"{sys.argv[1]}/{name}.csv", "w") as f:
        f.write("n,l,tokens\n")
        for n in range(P, P + D):
            rng = before if n < m else after
            for l in range(L):
                f.write(f'{n},{l},"[{", ".join(str(t) for t in range(n) if rng.random() < 0.3)}]"\n')
PY
cat > "$WORK/contract.yaml" <<'YAML'
model: {name: tiny, layers: 2, kv_bytes_per_token_layer: 4096, weight_bytes_per_layer: 12288}
hardware: gh200-measured
hbm_kv_capacity_entries: 40
policies: [unlimited_hbm, static, reactive_lru, page, streaming, h2o, lru_hot, ema, arc, history, bandit, belady, sa_guided, fm_tracking]
points:
  - {name: lone-base, trace: {file: base.csv}}
  - {name: lone-alt, trace: {file: alt.csv}}
  - {name: batch-base, kv_block_tokens: 2, trace: {files: [base.csv, base.csv]}}
  - {name: batch-alt, kv_block_tokens: 2, trace: {files: [base.csv, alt.csv]}}
YAML
run_kv run run "$WORK/contract.yaml" -o "$WORK/contract.h5" --detail -q
expect_rc run 0
run_kv eval eval "$WORK/contract.yaml" --json
expect_rc eval 0
"$PY" - "$WORK/contract.h5" "$WORK/eval.out" <<'PY'
import json, sys, h5py, numpy as np, pandas as pd
path, eval_json = sys.argv[1], sys.argv[2]
P, m = 32, 44
df = pd.read_hdf(path, "points").set_index("name")
assert (df.status == "ok").all(), set(df.status)
with h5py.File(path, "r") as f:
    v = f.attrs["online_policies"]
    online = [p for p in (v.decode() if isinstance(v, bytes) else str(v)).split(",") if p]
    detail = {name: {k[: -len("_step_time_s")]: f["detail"][df.loc[name, "point_id"]][k][:]
                     for k in f["detail"][df.loc[name, "point_id"]]} for name in df.index}
assert sorted(online) == sorted(["unlimited_hbm", "static", "reactive_lru", "streaming", "h2o", "lru_hot", "ema", "arc",
                                 "history", "bandit"]), online
for kind in ("lone", "batch"):
    a, b = detail[f"{kind}-base"], detail[f"{kind}-alt"]
    for p in online:
        assert np.array_equal(a[p][: m - P], b[p][: m - P]), f"{kind}: online {p} differs before step {m}"
    assert not np.array_equal(a["belady"][: m - P], b["belady"][: m - P]), f"{kind}: belady identical before {m}"
    assert not np.array_equal(a["static"], b["static"]), f"{kind}: the traces do not differ after {m}"
    print(f"{kind}: {len(online)} online policies identical before step {m}; belady differs")
points = json.load(open(eval_json))["points"]
for point in points:
    flagged = sorted(p for p, r in point["policies"].items() if r["online"])
    assert flagged == sorted(online), (point["name"], flagged)
print("eval --json flags the same policies online")
PY
echo "PASS online_contract"
