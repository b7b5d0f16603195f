#!/usr/bin/python3
"""The position profile's calibration (docs/traces.md "Synthetic traces"), as run once to set the defaults of
`synthetic.recency_slope` and `synthetic.uniform_share`.

    /usr/bin/python3 analysis/calibrate_profile.py [--kvsweep build/src/kvsweep] [--top 8]

The target: the share of the real trace's reads that land in the first C / L = 16,586 tokens, which the
authors' published static latencies fix. Static holds exactly those tokens at every layer and is
link-bound at every step under their accounting, so T_static = e * misses / B_link, i.e.
misses = T_static * 450e9 / 16,384, and share = 1 - misses / reads with their read counts
reads = sum over n = 31,299 .. 41,538 of L * ceil((1 - s)(n + 1)).

The search: one `kvsweep eval` of static over a grid of (recency_slope, uniform_share) at the paper's six
sparsities, at 1/16 of P, D, C and the weights (the profile is relative to n, so the share does not
depend on the scale); static's kv_hit_rate is the share. Ranked by the largest error of static's time
(its error in misses, (1 - share) / (1 - target) - 1) over the six sparsities. Only static enters:
nothing is tuned to a dynamic policy.
"""
import argparse
import json
import math
import os
import subprocess
import sys
import tempfile

import pandas as pd

HERE = os.path.dirname(os.path.abspath(__file__))
PUBLISHED = os.path.join(HERE, "data", "paper_published.csv")
SLOPES = [3, 4, 5, 6, 7, 8, 9, 10]
UNIFORM = [0, 0.1, 0.2, 0.3]

GRID = """\
model: {{name: llama-3.1-8b-paper-1/16, layers: 32, kv_bytes_per_token_layer: 16384, weight_bytes_per_layer: 10180608}}
hardware: paper-table1
hbm_kv_capacity_entries: 33172   # 530,765 / 16: 1,036 tokens per layer
hbm_reads: balanced
prompt_tokens: 1956
decode_tokens: 639
variation: actual
policies: [static]
sparsity: [{sparsities}]
synthetic: {{recency_slope: [{slopes}], uniform_share: [{uniform}]}}
"""


def target_share(static_s, sparsity, prompt=31299, steps=10240, layers=32, e=16384, link=450e9):
    misses = static_s * link / e
    reads = layers * sum(math.ceil((1 - sparsity) * (n + 1)) for n in range(prompt, prompt + steps))
    return 1 - misses / reads


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--kvsweep", default=os.path.join(HERE, "..", "build", "src", "kvsweep"))
    ap.add_argument("--top", type=int, default=8, help="how many (slope, uniform) pairs to print")
    args = ap.parse_args(argv)
    if not os.path.isfile(args.kvsweep):
        print(f"calibrate_profile.py: --kvsweep: '{args.kvsweep}' does not exist; build first "
              "(bash scripts/build.sh)", file=sys.stderr)
        return 2
    pub = pd.read_csv(PUBLISHED, comment="#")
    fig3 = pub[pub.figure == "fig3"]
    targets = {round(s, 4): target_share(t, s) for s, t in zip(fig3.sparsity, fig3.static)}
    print("target share of reads in the first 16,586 tokens: " +
          ", ".join(f"{100 * s:.0f} %: {v:.5f}" for s, v in targets.items()))
    with tempfile.TemporaryDirectory() as tmp:
        path = os.path.join(tmp, "grid.yaml")
        with open(path, "w") as f:
            f.write(GRID.format(sparsities=", ".join(f"{s:g}" for s in targets),
                                slopes=", ".join(map(str, SLOPES)), uniform=", ".join(map(str, UNIFORM))))
        out = subprocess.run([args.kvsweep, "eval", path, "--json"], check=True, capture_output=True, text=True)
    points = json.loads(out.stdout)["points"]
    # The grid's order: sparsity outermost, then recency_slope, then uniform_share (the YAML's key order).
    rows = []
    i = 0
    for s in targets:
        for a in SLOPES:
            for u in UNIFORM:
                share = points[i]["policies"]["static"]["kv_hit_rate"]
                rows.append({"sparsity": s, "recency_slope": a, "uniform_share": u, "share": share,
                             "static_error": (1 - share) / (1 - targets[s]) - 1})
                i += 1
    df = pd.DataFrame(rows)
    worst = df.groupby(["recency_slope", "uniform_share"]).static_error.agg(lambda v: v.abs().max())
    print("\n| recency_slope | uniform_share | " + " | ".join(f"share {100 * s:.0f} %" for s in targets) +
          " | largest static error |")
    print("|---|---|" + "---|" * len(targets) + "---|")
    for (a, u), err in worst.sort_values().head(args.top).items():
        sel = df[(df.recency_slope == a) & (df.uniform_share == u)]
        print(f"| {a:g} | {u:g} | " + " | ".join(f"{v:.4f}" for v in sel.share) + f" | {100 * err:.1f} % |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
