#!/usr/bin/env python3
"""Where the best online policy falls short: its misses by reuse distance, beside an offline policy's.

Reads the JSON of `kvsweep eval --misses --json POINTS.yaml` and writes, for every point, the share of
all reads in each reuse-distance class (decode steps since the entry was last read: `first`, 1, 2-4,
5-16, 17-64, 65-256, >256), the share of all reads the best online policy misses in each class, and the
same for a policy that sees the future (`--offline`, default belady): a markdown table and a figure.

    kvsweep eval --misses --json POINTS.yaml > misses.json
    kvsweep expand --format json POINTS.yaml > points.json     # the points' axis values, for labels
    /usr/bin/python3 analysis/online_misses.py misses.json --expand points.json -o DIR [--offline belady]
"""
import argparse
import json
import os
import sys

CLASSES = ["first", "1", "2-4", "5-16", "17-64", "65-256", ">256"]


def fail(message):
    print(f"online_misses.py: {message}", file=sys.stderr)
    sys.exit(2)


def point_label(p):
    return p.get("name") or p["point_id"]


def load(path):
    try:
        with open(path) as f:
            doc = json.load(f)
    except (OSError, json.JSONDecodeError) as e:
        fail(f"{path}: {e}")
    points = doc.get("points", [doc])
    rows = []
    for p in points:
        pols = p.get("policies", {})
        best = p.get("best_online")
        if best is None or best not in pols or "misses_by_reuse" not in pols[best]:
            fail(f"{path}: point {p.get('point_id')} has no miss profile for its best online policy "
                 "(run kvsweep eval with --misses, and at least one online policy)")
        rows.append(p)
    return rows


def shares(counts, reads):
    return [100.0 * counts[c] / reads if reads else float("nan") for c in CLASSES]


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("json", help="output of kvsweep eval --misses --json")
    ap.add_argument("-o", "--out", default=".", help="directory for online_misses.md and online_misses.png")
    ap.add_argument("--offline", default="belady", help="the future-seeing policy to compare with (default belady)")
    ap.add_argument("--expand", help="output of kvsweep expand --format json for the same file: sparsity and variation per point")
    a = ap.parse_args()
    points = load(a.json)
    if a.expand:
        try:
            with open(a.expand) as f:
                axes = {q["point_id"]: q for q in json.load(f)["points"]}
        except (OSError, json.JSONDecodeError, KeyError) as e:
            fail(f"{a.expand}: {e}")
        for p in points:
            q = axes.get(p["point_id"])
            if q is None:
                fail(f"{a.expand}: no point {p['point_id']} (expand the same file that was evaluated)")
            p["sparsity"], p["variation"] = q.get("sparsity", ""), q.get("variation", "")
    os.makedirs(a.out, exist_ok=True)

    lines = ["| point | sparsity | variation | policy | " + " | ".join(CLASSES) + " | all |",
             "|---|---|---|---|" + "---|" * (len(CLASSES) + 1)]
    bars = []
    for p in points:
        best = p["best_online"]
        pols = p["policies"]
        reads_by = pols[best]["reads_by_reuse"]
        reads = sum(reads_by.values())
        sp = p.get("sparsity", "")
        head = f"| {point_label(p)} | {round(sp, 3) if isinstance(sp, float) else sp} | {p.get('variation', '')} |"
        rows = [("(reads)", reads_by), (f"{best} (best online)", pols[best]["misses_by_reuse"])]
        if a.offline in pols and "misses_by_reuse" in pols[a.offline]:
            rows.append((f"{a.offline} (offline)", pols[a.offline]["misses_by_reuse"]))
        for label, counts in rows:
            s = shares(counts, reads)
            lines.append(f"{head} {label} | " + " | ".join(f"{x:.1f}" for x in s) + f" | {sum(s):.1f} |")
        bars.append((p, best, shares(pols[best]["misses_by_reuse"], reads),
                     shares(pols[a.offline]["misses_by_reuse"], reads) if a.offline in pols and "misses_by_reuse" in pols[a.offline] else None))
    md = os.path.join(a.out, "online_misses.md")
    with open(md, "w") as f:
        f.write("Misses by reuse distance, % of all reads (a row sums to the miss rate; `(reads)`: the trace's "
                "reads per class)\n\n" + "\n".join(lines) + "\n")

    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import numpy as np

    fig, ax = plt.subplots(figsize=(max(6, 0.9 * len(bars) + 2), 4.2))
    x = np.arange(len(bars))
    colors = plt.cm.viridis(np.linspace(0, 0.95, len(CLASSES)))
    width = 0.38
    for side, offset in ((0, -width / 2), (1, width / 2)):
        bottom = np.zeros(len(bars))
        for c in range(len(CLASSES)):
            vals = np.array([(b[2] if side == 0 else (b[3] or [0] * len(CLASSES)))[c] for b in bars])
            ax.bar(x + offset, vals, width, bottom=bottom, color=colors[c],
                   edgecolor="black" if side == 1 else "none", linewidth=0.4,
                   label=f"reuse {CLASSES[c]}" if side == 0 else None)
            bottom += vals
    ax.set_xticks(x)
    ax.set_xticklabels([f"{point_label(b[0])}\n{round(b[0]['sparsity'], 3) if isinstance(b[0].get('sparsity'), float) else ''} {b[0].get('variation', '')}\n{b[1]}"
                        for b in bars], fontsize=7)
    ax.set_ylabel("misses, % of all reads")
    ax.set_title(f"Best online policy (left) vs {a.offline} (right, outlined): misses by reuse distance", fontsize=9)
    ax.legend(fontsize=7, ncol=4)
    fig.tight_layout()
    png = os.path.join(a.out, "online_misses.png")
    fig.savefig(png, dpi=130)
    print(f"wrote {md} and {png}")


if __name__ == "__main__":
    main()
