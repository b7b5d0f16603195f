#!/usr/bin/python3
"""The serving study's figures and tables (sweeps/serving.yaml, docs/serving.md).

    /usr/bin/python3 analysis/serving_report.py results/serving.h5 -o results/serving-report

writes into the output directory (created if needed) serving.md and:
  serving_speedup_vs_batch_s<sparsity>_k<block>.png  throughput over static against the batch size: the
      best schedule, the best LRU-style baseline (reactive_lru, page), everything in HBM and the certified
      bound; one panel per model x hardware (rows) and context (columns)
  serving_blocks.png      the best schedule's time with blocks of 16 tokens over single tokens, by batch
  serving_byte_mix.png    the weights' share of the bytes a decode step reads, by batch
Every number is a point of the file (nothing pooled): a panel without points at two batch sizes is left
out. The files it writes are overwritten; nothing else in the directory is touched.
Exit codes: 0 done, 2 bad input (one line on stderr naming the file).
"""

import argparse
import os
import sys

sys.dont_write_bytecode = True  # no __pycache__ in the source tree
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import kvsweep_results as kr  # noqa: E402
import matplotlib  # noqa: E402

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402

import kvsweep_figures as kf  # noqa: E402

DPI = 110
LRU_STYLE = ["reactive_lru", "page"]  # demand caching a serving runtime can run (vLLM-style paging)
SETUP = ["model", "hardware", "prompt_tokens", "sparsity", "kv_block_tokens"]


def derived(ok):
    """Columns of the study: speedups over static of the best schedule, the best LRU-style baseline,
    unlimited HBM and the certified bound; the best schedule over the best LRU-style baseline; the gap
    between the best schedule and the bound; batch throughput; the weights' share of bytes read."""
    ok = ok.copy()
    ok["best_x"] = ok.static_total_time_s / ok.best_time_s
    lru = [p for p in LRU_STYLE if f"{p}_total_time_s" in ok]
    ok["lru_x"] = ok.static_total_time_s / ok[[f"{p}_total_time_s" for p in lru]].min(axis=1) if lru else np.nan
    ok["unlimited_x"] = ok.static_total_time_s / ok.unlimited_hbm_total_time_s
    ok["bound_x"] = ok.static_total_time_s / ok.lower_bound_s
    ok["best_over_lru"] = ok.best_x / ok.lru_x
    ok["gap_pct"] = 100 * (ok.best_time_s / ok.lower_bound_s - 1)
    ok["batch_tok_s"] = ok.batch_size * ok.decode_tokens / ok.best_time_s
    weights = ok.weight_bytes_per_layer * ok.layers * ok.decode_tokens
    ok["weight_share"] = weights / (weights + ok.kv_bytes_per_token_layer * ok.static_reads)
    return ok


def context_label(p):
    return f"{p // 1024}K" if p % 1024 == 0 else str(p)


def speedup_figure(ok, sparsity, block):
    rows = ok[(ok.sparsity == sparsity) & (ok.kv_block_tokens == block)]
    pairs = list(rows.groupby(["model", "hardware"], sort=False).groups)
    contexts = sorted(rows.prompt_tokens.unique())
    if not pairs or not contexts:
        return None
    fig, axes = plt.subplots(len(pairs), len(contexts), figsize=(3.6 * len(contexts), 2.9 * len(pairs)),
                             squeeze=False, sharex=True)
    lines = [("best_x", "best schedule", "tab:red", "-"), ("lru_x", "best LRU-style (reactive_lru, page)", "tab:blue", "-"),
             ("unlimited_x", "everything in HBM", "tab:gray", "--"), ("bound_x", "certified bound", "black", ":")]
    for i, (model, hw) in enumerate(pairs):
        for j, p in enumerate(contexts):
            ax = axes[i][j]
            sel = rows[(rows.model == model) & (rows.hardware == hw) & (rows.prompt_tokens == p)].sort_values("batch_size")
            if len(sel) < 2:
                ax.set_axis_off()
                ax.set_title(f"{model}, {hw}, {context_label(p)}: not servable", fontsize=8)
                continue
            for column, label, color, style in lines:
                ax.plot(sel.batch_size, sel[column], color=color, linestyle=style, marker="o", markersize=3, label=label)
            ax.axhline(1.0, color="0.6", linewidth=0.8)
            ax.set_xscale("log", base=2)
            ax.ticklabel_format(axis="y", useOffset=False)
            ax.set_title(f"{model}, {hw}, context {context_label(p)}", fontsize=8)
            ax.grid(alpha=0.3)
            if j == 0:
                ax.set_ylabel("throughput / static's (x)", fontsize=8)
            if i == len(pairs) - 1:
                ax.set_xlabel("batch size B", fontsize=8)
    handles, labels = next((a.get_legend_handles_labels() for a in axes.flat if a.lines), ([], []))
    fig.legend(handles, labels, loc="upper center", ncol=4, fontsize=8, bbox_to_anchor=(0.5, 1.0))
    fig.suptitle(f"Throughput over static against batch size: sparsity {sparsity:g}, blocks of {block} token"
                 f"{'s' if block > 1 else ''}", fontsize=10, y=1.03)
    kf.stamp(fig, kf.setting(rows))
    return fig


def blocks_figure(ok):
    one, sixteen = ok[ok.kv_block_tokens == 1], ok[ok.kv_block_tokens == 16]
    keys = [k for k in SETUP + ["batch_size"] if k != "kv_block_tokens"]
    both = one.merge(sixteen, on=keys, suffixes=("_1", "_16"))
    if both.empty:
        return None
    both["ratio"] = both.best_time_s_16 / both.best_time_s_1
    pairs = list(both.groupby(["model", "hardware"], sort=False).groups)
    fig, axes = plt.subplots(1, len(pairs), figsize=(3.8 * len(pairs), 3.2), squeeze=False)
    for ax, (model, hw) in zip(axes[0], pairs):
        for (p, s), sel in both[(both.model == model) & (both.hardware == hw)].groupby(["prompt_tokens", "sparsity"]):
            sel = sel.sort_values("batch_size")
            ax.plot(sel.batch_size, sel.ratio, marker="o", markersize=3,
                    linestyle="-" if s == ok.sparsity.max() else "--", label=f"{context_label(p)}, sparsity {s:g}")
        ax.axhline(1.0, color="0.6", linewidth=0.8)
        ax.set_xscale("log", base=2)
        ax.set_title(f"{model}, {hw}", fontsize=8)
        ax.set_xlabel("batch size B", fontsize=8)
        ax.grid(alpha=0.3)
        ax.legend(fontsize=6)
    axes[0][0].set_ylabel("best time, k = 16 / k = 1", fontsize=8)
    fig.suptitle("What placing KV in blocks of 16 tokens costs the best schedule", fontsize=10)
    kf.stamp(fig, kf.setting(both.rename(columns={"best_time_s_1": "best_time_s"})))
    return fig


def byte_mix_figure(ok):
    rows = ok[ok.kv_block_tokens == ok.kv_block_tokens.min()]
    models = list(dict.fromkeys(rows.model))
    fig, axes = plt.subplots(1, len(models), figsize=(3.8 * len(models), 3.2), squeeze=False)
    for ax, model in zip(axes[0], models):
        for (p, s), sel in rows[rows.model == model].groupby(["prompt_tokens", "sparsity"]):
            sel = sel.drop_duplicates("batch_size").sort_values("batch_size")
            ax.plot(sel.batch_size, 100 * sel.weight_share, marker="o", markersize=3,
                    linestyle="-" if s == rows.sparsity.max() else "--", label=f"{context_label(p)}, sparsity {s:g}")
        ax.set_xscale("log", base=2)
        ax.set_ylim(0, 100)
        ax.set_title(model, fontsize=8)
        ax.set_xlabel("batch size B", fontsize=8)
        ax.grid(alpha=0.3)
        ax.legend(fontsize=6)
    axes[0][0].set_ylabel("weights, % of the bytes a step reads", fontsize=8)
    fig.suptitle("Weights vs KV in the bytes read, against batch size", fontsize=10)
    kf.stamp(fig, kf.setting(rows))
    return fig


def table(ok):
    """One markdown row per point, grouped by setup, batch size last."""
    head = ["model", "hardware", "context", "sparsity", "k", "B", "weights % of bytes", "best schedule",
            "best / static", "best LRU-style / static", "best / best LRU-style", "everything in HBM / static",
            "bound / static", "gap to bound %", "batch tok/s (best)"]
    out = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for _, r in ok.sort_values(SETUP + ["batch_size"]).iterrows():
        out.append("| " + " | ".join([
            r.model, r.hardware, context_label(int(r.prompt_tokens)), f"{r.sparsity:g}", str(int(r.kv_block_tokens)),
            str(int(r.batch_size)), f"{100 * r.weight_share:.0f}", r.best_schedule, f"{r.best_x:.2f}", f"{r.lru_x:.2f}",
            f"{r.best_over_lru:.2f}", f"{r.unlimited_x:.2f}", f"{r.bound_x:.2f}", f"{r.gap_pct:.1f}", f"{r.batch_tok_s:,.0f}"]) + " |")
    return "\n".join(out)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("results", help="results file of sweeps/serving.yaml (or any sweep over batch_size)")
    ap.add_argument("-o", "--out", required=True, help="output directory")
    args = ap.parse_args()
    try:
        df = kr.load(args.results, in_sweep_only=True)
    except kr.ResultsFileError as e:
        print(f"serving_report.py: {e}", file=sys.stderr)
        return 2
    need = {"batch_size", "kv_block_tokens", "best_time_s", "lower_bound_s", "static_total_time_s", "unlimited_hbm_total_time_s"}
    if not need <= set(df.columns):
        print(f"serving_report.py: {args.results}: not a batched sweep with static and unlimited_hbm "
              f"(missing {', '.join(sorted(need - set(df.columns)))})", file=sys.stderr)
        return 2
    ok = derived(df[df.status == "ok"])
    os.makedirs(args.out, exist_ok=True)
    written = []
    for s in sorted(ok.sparsity.unique(), reverse=True):
        for k in sorted(ok.kv_block_tokens.unique(), reverse=True):
            written.append((f"serving_speedup_vs_batch_s{s:g}_k{k}.png", speedup_figure(ok, s, k)))
    written += [("serving_blocks.png", blocks_figure(ok)), ("serving_byte_mix.png", byte_mix_figure(ok))]
    lines = ["# Serving study", "", kf.setting(ok), "", f"{len(ok)} ok points, {int((df.status != 'ok').sum())} failed.", ""]
    for name, fig in written:
        if fig is None:
            continue
        fig.savefig(os.path.join(args.out, name), dpi=DPI, bbox_inches="tight")
        plt.close(fig)
        lines += [f"![{name}]({name})", ""]
    lines += [table(ok), ""]
    with open(os.path.join(args.out, "serving.md"), "w") as f:
        f.write("\n".join(lines))
    print(os.path.join(args.out, "serving.md"))
    return 0


if __name__ == "__main__":
    sys.exit(main())
