"""The figures of analysis/report.py, one function each: draw(ok, ctx) -> (matplotlib Figure, caption),
or raise Skip(reason) when the sweep lacks what the figure needs.

`ok` is the DataFrame of the points whose latest attempt is ok (kvsweep_results.load); `ctx` a Context.
Parameters a figure does not plot are pooled: speedups by their geometric mean (the mean of ratios), byte
shares by summing bytes. Pooling is fair only when every plotted group holds the same values of the
pooled parameter (a full grid); when not (a sweep of `points:` entries, say), that parameter is first fixed
at the value most groups have (balance()). Every title says what was pooled and what was fixed.
"""

import dataclasses

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
from matplotlib.patches import Patch  # noqa: E402
from matplotlib.ticker import MaxNLocator  # noqa: E402

from kvsweep_results import geomean  # noqa: E402

# One colour and marker per policy, the same in every figure.
STYLE = {
    "unlimited_hbm": ("black", "*"), "static": ("tab:gray", "s"), "reactive_lru": ("tab:blue", "o"),
    "page": ("tab:orange", "v"), "streaming": ("tab:green", "^"), "h2o": ("tab:purple", "D"),
    "belady": ("tab:brown", "P"), "sa_guided": ("tab:red", "X"), "fm_tracking": ("tab:pink", "p"),
    "fm_dual": ("tab:cyan", "d"), "oracle": ("gold", "h"),
}
LABELS = {
    "model": "model", "sparsity": "sparsity", "variation": "variation", "hardware": "hardware",
    "hbm_capacity_ratio": "HBM share", "hbm_capacity_gb": "HBM GB", "hbm_kv_capacity_entries": "HBM entries",
    "link_read_gbps": "link read", "link_write_gbps": "link write", "prompt_tokens": "prompt",
    "decode_tokens": "decode", "kv_accounting": "KV accounting", "trace": "trace", "batch_size": "batch size",
    "kv_block_tokens": "block tokens", "link_transfer_overhead_bytes": "transfer overhead (B)",
}


class Skip(Exception):
    """The figure cannot be drawn from this sweep; str() says why."""


@dataclasses.dataclass
class Context:
    policies: list  # the sweep's policies with results, in the sweep's order
    varying: list   # point parameters that vary (kvsweep_results.varying_parameters)
    published: object = None  # a DataFrame from report.load_published(), drawn as markers on Figs. 3 and 4
    online: list = dataclasses.field(default_factory=list)  # the policies that decide from past reads only


# Columns of analysis/data/paper_published.csv and the kvsweep policy each stands for.
PUBLISHED_POLICIES = {"best": "unlimited_hbm", "static": "static", "reactive": "reactive_lru",
                      "page": "page", "sa": "sa_guided"}


def published_row(published, sparsity, variation):
    """The published row at (sparsity, variation), Fig. 3's for `actual`; None when there is none."""
    if published is None:
        return None
    rows = published[np.isclose(published.sparsity, sparsity) & (published.variation == variation)]
    return rows.iloc[0] if len(rows) else None


def style(policy):
    return STYLE.get(policy, ("tab:cyan", "."))


def pooled_note(rows, ctx, shown, per, counts, fixed=(), how="geometric mean"):
    """'at c = v; geometric mean over a, b: n points per <per>': the parameters fixed by balance() and those
    that still vary among `rows` outside `shown`."""
    fixed = dict(fixed)
    others = [LABELS.get(c, c) for c in ctx.varying
              if c not in shown and c not in fixed and rows[c].nunique(dropna=False) > 1]
    at = ", ".join(f"{LABELS.get(c, c)} = {v}" for c, v in fixed.items())
    lo, hi = (int(min(counts)), int(max(counts))) if len(counts) else (0, 0)
    n = f"{lo}" if lo == hi else f"{lo}-{hi}"
    unit = "point" if hi == 1 else "points"
    if not others:
        return (f"at {at}; " if at else "other parameters fixed; ") + f"{n} {unit} per {per}"
    return (f"at {at}; " if at else "") + f"{how} over {', '.join(others)}: {n} {unit} per {per}"


def balance(ok, ctx, shown):
    """(rows, fixed, follows): the rows left after fixing each varying parameter outside `shown` whose values
    differ between the groups of `shown` (pooling would compare unlike mixes) at the value found in the
    most groups (ties: the most rows); `fixed` lists (parameter, value) in that order. A parameter with one
    value per group (a zipped partner, say) follows the shown ones and is left alone, listed in `follows`.
    """
    fixed, follows = [], []
    keys = [ok[c].astype(str) for c in shown]
    for c in ctx.varying:
        if c in shown or c not in ok:
            continue
        values = ok[c].astype(str)
        per_group = values.groupby(keys, dropna=False).agg(lambda v: tuple(sorted(set(v))))
        if per_group.nunique() <= 1:
            continue
        if (per_group.map(len) == 1).all():
            follows.append(c)
            continue
        cover = {v: (sum(v in g for g in per_group), int((values == v).sum())) for v in values.unique()}
        ref = max(cover, key=lambda v: cover[v])
        ok = ok[values == ref]
        keys = [ok[k].astype(str) for k in shown]
        fixed.append((c, ref))
    return ok, fixed, follows


def need_policies(ctx, *names):
    for name in names:
        if name not in ctx.policies:
            raise Skip(f"the sweep has no `{name}` results (figure is normalised to or shows it)")


def need_varying(ok, column, what):
    if column not in ok:
        raise Skip(f"no `{column}` column")
    values = ok[column].dropna()
    values = values[values != ""] if values.dtype == object else values
    distinct = sorted(values.unique())
    if len(distinct) < 2:
        shown = ", ".join(str(v) for v in distinct) or "none"
        raise Skip(f"{what} does not vary (`{column}`: {shown})")
    return distinct


def panels(n, width=4.2, height=3.6, ncols_max=3):
    ncols = min(n, ncols_max)
    nrows = (n + ncols - 1) // ncols
    fig, axes = plt.subplots(nrows, ncols, figsize=(width * ncols + 1.8, height * nrows + 0.9),
                             squeeze=False, layout="constrained")
    for ax in axes.flat[n:]:
        ax.set_visible(False)
    return fig, list(axes.flat[:n])


def sparsity_groups(ok):
    """(label, rows) per sparsity value (trace-file points, sparsity NaN, in a group of their own)."""
    groups = [(f"sparsity {s:g}", ok[ok.sparsity == s]) for s in sorted(ok.sparsity.dropna().unique())]
    if ok.sparsity.isna().any():
        groups.append(("trace file", ok[ok.sparsity.isna()]))
    return groups


def facets(ok):
    """(label, rows) per model x hardware when the points vary them: the user's axes get panels of their
    own rather than a mean over them. One ("", ok) when neither varies."""
    keys = [c for c in ("model", "hardware") if c in ok and ok[c].nunique() > 1]
    if not keys:
        return [("", ok)]
    out = []
    for values, rows in ok.groupby(keys if len(keys) > 1 else keys[0], sort=False):
        values = values if isinstance(values, tuple) else (values,)
        out.append((", ".join(str(v) for v in values), rows))
    return out


def with_facet(facet, label):
    return f"{facet}, {label}" if facet else label


def offsets(n, spread):
    """x offsets of n series around 0, `spread` apart: equal values stay visible side by side."""
    return [(i - (n - 1) / 2) * spread for i in range(n)]


def speedup_vs_sparsity(ok, ctx):
    """The paper's Fig. 3: throughput vs sparsity per policy, normalised to static; one panel per model x
    hardware when they vary."""
    need_policies(ctx, "static")
    need_varying(ok, "sparsity", "sparsity")
    groups = []
    for facet, rows in facets(ok[ok.sparsity.notna()]):
        if rows.sparsity.nunique() < 2:
            continue
        rows, fixed, follows = balance(rows, ctx, ["sparsity"])
        if rows.sparsity.nunique() >= 2:
            groups.append((facet, rows, fixed, follows))
    if not groups:
        raise Skip("no model/hardware has points at two sparsities")
    fig, axes = panels(len(groups), width=6.0, height=4.4, ncols_max=2)
    drew_published = False
    notes = []
    for ax, (facet, rows, fixed, follows) in zip(axes, groups):
        xs = sorted(rows.sparsity.unique())
        span = 100 * (xs[-1] - xs[0])
        dx = offsets(len(ctx.policies), 0.004 * span)
        for p, d in zip(ctx.policies, dx):
            y = [geomean(rows.loc[rows.sparsity == x, f"{p}_speedup_vs_static"]) for x in xs]
            color, marker = style(p)
            ax.plot([100 * x + d for x in xs], y, marker=marker, color=color, label=p, alpha=0.9,
                    linestyle="--" if p in ("unlimited_hbm", "static") else "-")
        for method, p in PUBLISHED_POLICIES.items():
            pub = [published_row(ctx.published, x, "actual") for x in xs]
            pts = [(100 * x, r["static"] / r[method]) for x, r in zip(xs, pub) if r is not None]
            if not pts or p not in ctx.policies or method == "static":
                continue
            color, marker = style(p)
            ax.plot(*zip(*pts), marker=marker, markersize=9, markerfacecolor="none", markeredgecolor=color,
                    linestyle="none", label=f"paper: {method}")
            drew_published = True
        counts = [int((rows.sparsity == x).sum()) for x in xs]
        note = pooled_note(rows, ctx, {"sparsity", "model", "hardware", *follows}, "sparsity", counts, fixed)
        notes.append(with_facet(facet, note) if facet else note)
        ax.set_xlabel("sparsity (% of past tokens not read per step)")
        ax.set_ylabel("throughput / static's throughput (x)")
        ax.set_title(facet or "all points", fontsize=10)
        ax.grid(alpha=0.3)
    axes[-1].legend(loc="center left", bbox_to_anchor=(1.01, 0.5), fontsize=8)
    note = "; ".join(dict.fromkeys(notes))
    if drew_published:
        note += "; hollow markers: the paper's published latencies (static / method)"
    per = ", one panel per model x hardware" if groups[0][0] else ""
    fig.suptitle(f"Throughput vs sparsity, normalised to static{per}\n({note})", fontsize=10, wrap=True)
    return fig, (f"Throughput of each policy over static's at each sparsity (the paper's Fig. 3){per}; {note}. "
                 "Policies are offset slightly along x so that equal values stay visible.")


def variation_levels(ok):
    """The variation values, least variation (highest step-to-step Jaccard target) first."""
    values = [v for v in ok.variation.unique() if v != ""]
    jac = {v: float(ok.loc[ok.variation == v, "target_jaccard"].iloc[0]) for v in values}
    return sorted(values, key=lambda v: -jac[v]), jac


def variation_bars(ok, ctx):
    """The paper's Fig. 4: throughput at low / actual / high variation, normalised to unlimited_hbm."""
    need_policies(ctx, "unlimited_hbm")
    need_varying(ok, "variation", "variation")
    # Generators (synthetic.model) get panels of their own rather than being pooled or fixed.
    by_model = "synthetic_model" in ok and ok.synthetic_model[ok.synthetic_model != ""].nunique() > 1
    shown_keys = ["sparsity", "variation"] + (["synthetic_model"] if by_model else [])
    ok, fixed, follows = balance(ok[ok.variation != ""], ctx, shown_keys)
    groups = []
    for facet, frows in facets(ok):
        for label, rows in sparsity_groups(frows):
            models = sorted(rows.synthetic_model.unique()) if by_model else [None]
            for m in models:
                sub = rows if m is None else rows[rows.synthetic_model == m]
                if sub.variation.nunique() > 1:
                    groups.append((with_facet(facet, label if m is None else f"{label}, {m} trace"), sub))
    if not groups:
        raise Skip("no sparsity has points at two variation levels")
    ok = pd.concat([rows for _, rows in groups])
    levels, jac = variation_levels(ok)
    shown = [p for p in ctx.policies if p != "unlimited_hbm"]
    counts = [int((rows.variation == v).sum()) for _, rows in groups for v in levels]
    fig, axes = panels(len(groups), width=max(4.2, 0.25 * len(shown) * len(levels)), ncols_max=2)
    width = 0.8 / max(1, len(shown))
    drew_published = False
    for ax, (label, rows) in zip(axes, groups):
        labelled = False  # the legend is the last panel's: label the first marker of each
        for i, p in enumerate(shown):
            ratio = rows[f"{p}_throughput_tok_s"] / rows["unlimited_hbm_throughput_tok_s"]
            mean = [geomean(ratio[rows.variation == v]) for v in levels]
            x = np.arange(len(levels)) + (i - (len(shown) - 1) / 2) * width
            ax.bar(x, mean, width, color=style(p)[0], label=p)
            method = {v: k for k, v in PUBLISHED_POLICIES.items()}.get(p)
            pub = [published_row(ctx.published, float(rows.sparsity.iloc[0]), v) for v in levels]
            pts = [(xi, r["best"] / r[method]) for xi, r in zip(x, pub) if method and r is not None]
            if pts:
                ax.plot(*zip(*pts), marker=style(p)[1], markersize=8, markerfacecolor="none",
                        markeredgecolor="black", linestyle="none",
                        label="paper (hollow)" if not labelled else None)
                drew_published = labelled = True
        ax.axhline(1.0, color="black", linestyle="--", linewidth=1, label="unlimited_hbm")
        ax.set_xticks(np.arange(len(levels)), [f"{v}\n(Jaccard {jac[v]:g})" for v in levels])
        ax.set_title(label, fontsize=10)
        ax.set_ylabel("throughput / unlimited_hbm's (x)")
        ax.grid(axis="y", alpha=0.3)
    axes[-1].legend(loc="center left", bbox_to_anchor=(1.01, 0.5), fontsize=8)
    note = pooled_note(ok, ctx, {*shown_keys, "model", "hardware", *follows}, "bar", [c for c in counts if c], fixed)
    if drew_published:
        note += "; hollow markers: the paper's published latencies (unlimited / method)"
    fig.suptitle("Throughput at each trace variation, normalised to unlimited_hbm, one panel per sparsity\n"
                 f"({note})", fontsize=10)
    return fig, ("Throughput over unlimited_hbm's at each variation level (the paper's Fig. 4), one panel "
                 f"per sparsity; {note}.")


def hbm_breakdown(ok, ctx):
    """The paper's Fig. 5: share of the bytes read that come from HBM, weights vs KV, per policy.

    Bytes read at a point: weights W*L*D (always from HBM) + KV e*reads; from HBM: weights + e*hbm_hits
    (the hits HBM served: with balanced reads some resident entries are read from DRAM's copy; files
    before schema 3 have no hbm_hits and served every hit from HBM). Their ratio is the row's
    <policy>_hbm_hit_rate (checked here); points are pooled by summing bytes.
    """
    needed = ["weight_bytes_per_layer", "layers", "decode_tokens", "kv_bytes_per_token_layer"]
    missing = [c for c in needed if c not in ok]
    if missing:
        raise Skip(f"columns missing: {', '.join(missing)}")
    pols = [p for p in ctx.policies if f"{p}_reads" in ok and f"{p}_hits" in ok]
    if not pols or not len(ok):
        raise Skip("no policy has <policy>_reads and <policy>_hits")
    served = {p: f"{p}_hbm_hits" if f"{p}_hbm_hits" in ok else f"{p}_hits" for p in pols}
    weights = ok.weight_bytes_per_layer * ok.layers * ok.decode_tokens
    for p in pols:
        derived = (weights + ok.kv_bytes_per_token_layer * ok[served[p]]) / (
            weights + ok.kv_bytes_per_token_layer * ok[f"{p}_reads"])
        worst = float((derived - ok[f"{p}_hbm_hit_rate"]).abs().max())
        if not worst <= 1e-9:
            raise Skip(f"weights + KV hits do not add up to {p}_hbm_hit_rate (off by {worst:.3g})")
    ok, fixed, follows = balance(ok, ctx, ["sparsity", "model", "hardware"])
    groups = [(with_facet(facet, label), rows) for facet, frows in facets(ok) for label, rows in sparsity_groups(frows)]
    # Two panels per group: all bytes (weights included: they can dwarf the KV), and the KV reads alone.
    fig, axes = panels(2 * len(groups), width=max(4.2, 0.5 * len(pols)), ncols_max=2)
    for k, (label, rows) in enumerate(groups):
        ax, kv_ax = axes[2 * k], axes[2 * k + 1]
        w = (rows.weight_bytes_per_layer * rows.layers * rows.decode_tokens).sum()
        e = rows.kv_bytes_per_token_layer
        for i, p in enumerate(pols):
            total = w + (e * rows[f"{p}_reads"]).sum()
            ws, hs = 100 * w / total, 100 * (e * rows[served[p]]).sum() / total
            ax.bar(i, ws, color="tab:gray")
            ax.bar(i, hs, bottom=ws, color="tab:blue")
            ax.bar(i, 100 - ws - hs, bottom=ws + hs, color="white", edgecolor="lightgray", hatch="///")
            ax.text(i, 101, f"{ws + hs:.1f}", ha="center", va="bottom", fontsize=7)
            kv_read = (e * rows[f"{p}_reads"]).sum()
            if kv_read > 0:
                kv = 100 * (e * rows[served[p]]).sum() / kv_read
                kv_ax.bar(i, kv, color="tab:blue")
                kv_ax.text(i, kv + 1, f"{kv:.1f}", ha="center", va="bottom", fontsize=7)
        n = f"{len(rows)} point{'s' if len(rows) != 1 else ''}"
        for a in (ax, kv_ax):
            a.set_xticks(range(len(pols)), pols, rotation=45, ha="right", fontsize=8)
            a.set_ylim(0, 108)
        ax.set_ylabel("share of all bytes read (%)")
        kv_ax.set_ylabel("share of KV bytes read (%)")
        ax.set_title(f"{label} ({n}): all bytes", fontsize=10)
        kv_ax.set_title(f"{label}: KV reads HBM served", fontsize=10)
    handles = [Patch(color="tab:gray", label="weights (HBM)"),
               Patch(color="tab:blue", label="KV hits served by HBM"),
               Patch(facecolor="white", edgecolor="lightgray", hatch="///", label="KV over the link")]
    axes[-1].legend(handles=handles, loc="center left", bbox_to_anchor=(1.01, 0.5), fontsize=8)
    pooled = pooled_note(ok, ctx, {"sparsity", "model", "hardware", *follows}, "panel",
                         [len(rows) for _, rows in groups], fixed, how="bytes summed")
    fig.suptitle("HBM hit rate (number over each bar, %): left, all bytes read (weights vs KV); right, the KV "
                 f"reads alone\n({pooled})", fontsize=10)
    return fig, ("Bytes read from HBM as a share of all bytes read (the paper's Fig. 5; left of each pair), split "
                 "into weights (W x L x D, always in HBM) and KV hits HBM served (e x hbm_hits); the rest is KV "
                 "read over the link (misses, and with balanced reads the hits read from DRAM's copy). Right of "
                 "each pair: the share of the KV bytes alone that HBM served, which the weights can hide on the "
                 f"left. One pair per sparsity (and model x hardware when they vary); {pooled}.")


def capacity_axis(ok):
    kinds = set(ok.capacity_kind)
    if kinds == {"hbm_capacity_ratio"}:
        return "hbm_capacity_ratio", "HBM share of the final KV footprint"
    if kinds == {"hbm_capacity_gb"}:
        return "hbm_capacity_gb", "HBM capacity (GB)"
    return "capacity_share", "HBM for KV / final KV footprint"


def oracle_heatmap(ok, ctx):
    """Oracle speedup over static over HBM capacity x link bandwidth, one panel per model."""
    need_policies(ctx, "static", "oracle")
    cap, cap_label = capacity_axis(ok)
    need_varying(ok, cap, "HBM capacity")
    need_varying(ok, "link_read_gbps", "link bandwidth")
    ok, fixed, follows = balance(ok, ctx, ["model", "hardware", cap, "link_read_gbps"])
    ys = need_varying(ok, cap, "HBM capacity")
    xs = need_varying(ok, "link_read_gbps", "link bandwidth")
    write_follows = ok.groupby("link_read_gbps").link_write_gbps.nunique().max() == 1
    xlabels = [f"{x:g}/{ok.loc[ok.link_read_gbps == x, 'link_write_gbps'].iloc[0]:g}" if write_follows
               else f"{x:g}" for x in xs]
    xtitle = "link bandwidth read/write (GB/s)" if write_follows else "link read bandwidth (GB/s)"
    groups = facets(ok) if ok.model.nunique() > 1 or ok.hardware.nunique() > 1 else [(f"model {ok.model.iloc[0]}", ok)]
    models = [label for label, _ in groups]
    grids, counts = [], []
    for _, rows in groups:
        grid = np.full((len(ys), len(xs)), np.nan)
        for i, y in enumerate(ys):
            for j, x in enumerate(xs):
                cell = rows.loc[(rows[cap] == y) & (rows.link_read_gbps == x), "oracle_speedup_vs_static"]
                counts.append(len(cell))
                grid[i, j] = geomean(cell)
        grids.append(grid)
    finite = np.concatenate([g[np.isfinite(g)] for g in grids])
    if not finite.size:
        raise Skip("no point has an oracle_speedup_vs_static")
    fig, axes = panels(len(models), width=max(3.6, 1.1 * len(xs)), height=max(3.0, 0.6 * len(ys) + 1.5))
    for ax, m, grid in zip(axes, models, grids):
        im = ax.imshow(grid, origin="lower", cmap="viridis", vmin=finite.min(), vmax=finite.max(),
                       aspect="auto")
        for (i, j), v in np.ndenumerate(grid):
            if np.isfinite(v):
                dark = v < finite.min() + 0.6 * (finite.max() - finite.min())
                ax.text(j, i, f"{v:.2f}", ha="center", va="center", fontsize=8,
                        color="white" if dark else "black")
        ax.set_xticks(range(len(xs)), xlabels, fontsize=8)
        ax.set_yticks(range(len(ys)), [f"{y:g}" for y in ys], fontsize=8)
        ax.set_xlabel(xtitle)
        if ax.get_subplotspec().is_first_col():
            ax.set_ylabel(cap_label)
        ax.set_title(m, fontsize=10)
    fig.colorbar(im, ax=axes, label="oracle throughput / static's (x)", shrink=0.9)
    shown = {"model", "hardware", cap, "link_read_gbps", "link_write_gbps", "hbm_capacity_ratio", "hbm_capacity_gb",
             "hbm_kv_capacity_entries"}
    note = pooled_note(ok, ctx, shown | set(follows), "cell", [c for c in counts if c], fixed)
    fig.suptitle("Oracle speedup over static by HBM capacity and link bandwidth, one panel per model (x hardware)\n"
                 f"({note})", fontsize=10)
    return fig, (f"The token-level oracle's throughput over static's, by {cap_label} and link "
                 f"bandwidth, one panel per model; {note}.")


def gap_distribution(ok, ctx):
    """Histogram of gap_to_bound (oracle time over the best lower bound, minus 1)."""
    if "gap_to_bound" not in ok or not ok.gap_to_bound.notna().any():
        raise Skip("no point has a gap_to_bound (the sweep has no `oracle`)")
    rows = ok[ok.gap_to_bound.notna()]
    gaps = 100 * rows.gap_to_bound.clip(lower=0)  # -1e-15 is rounding where the oracle meets the bound
    models = list(dict.fromkeys(rows.model))
    bins = np.histogram_bin_edges(gaps, bins=min(30, max(5, int(np.sqrt(len(gaps))) * 2)))
    fig, ax = plt.subplots(figsize=(7.0, 4.2), layout="constrained")
    ax.hist([gaps[rows.model == m] for m in models], bins=bins, stacked=True,
            label=[f"model {m}" for m in models], edgecolor="white")
    ax.axvline(gaps.median(), color="black", linestyle="--", linewidth=1,
               label=f"median {gaps.median():.2f} %")
    ax.set_xlabel("gap to the lower bound (%): oracle time / max(lower bounds) - 1")
    ax.set_ylabel("points")
    ax.yaxis.set_major_locator(MaxNLocator(integer=True))
    ax.set_title(f"Oracle's gap to the lower bound over {len(rows)} points (max {gaps.max():.2f} %)",
                 fontsize=10)
    ax.legend(fontsize=8)
    ax.grid(axis="y", alpha=0.3)
    return fig, (f"How far the token-level oracle's time is above the best lower bound, over {len(rows)} "
                 f"points (stacked by model): median {gaps.median():.2f} %, max {gaps.max():.2f} %. "
                 "The optimum schedule lies between the two.")


def point_labels(rows, ctx):
    """One short label per point from the parameters that vary (or its name / id)."""
    shown = [p for p in ctx.varying if p in rows] or ["name"]
    def label(r):
        parts = [f"{LABELS.get(p, p)} {r[p]:g}" if isinstance(r[p], float) else f"{r[p]}"
                 for p in shown if not (isinstance(r[p], float) and r[p] != r[p]) and r[p] != ""]
        return ", ".join(parts) if parts else r["point_id"]
    return [label(r) for _, r in rows.iterrows()]


def gap_by_point(ok, ctx):
    """Per point, where the certified gap is: from free_migration (or bandwidth_split) to the largest
    bound (what the Lagrangian or the MILP recovered), then from that bound to the best schedule."""
    if "best_gap" not in ok or not ok.best_gap.notna().any():
        raise Skip("no point has a certified gap (results before schema 4)")
    rows = ok[ok.best_gap.notna()]
    if len(rows) > 100:
        raise Skip(f"{len(rows)} points: too many for one bar each (see gap_to_bound.png and the certificates)")
    base = rows[["bandwidth_split_s", "free_migration_s"]].max(axis=1)
    bound = rows.lower_bound_s
    rise = 100 * (bound / base - 1)          # the bound's rise over the simple bounds
    gap = 100 * rows.best_gap.clip(lower=0)  # what is left between the best schedule and the bound
    labels = point_labels(rows, ctx)
    fig, ax = plt.subplots(figsize=(8.0, max(2.5, 0.22 * len(rows) + 1.2)), layout="constrained")
    y = np.arange(len(rows))
    ax.barh(y, rise, color="tab:green", label="bound raised above free_migration (Lagrangian or MILP)")
    ax.barh(y, gap, left=rise, color="tab:red", label="certified gap left: best schedule / best bound - 1")
    for k, (_, r) in enumerate(rows.iterrows()):
        ax.text(rise.iloc[k] + gap.iloc[k], k, f" {gap.iloc[k]:.2f} % ({r['best_schedule']}, {r['lower_bound_kind']})",
                va="center", fontsize=7)
    ax.set_yticks(y, labels, fontsize=7)
    ax.invert_yaxis()
    ax.axvline(1.0, color="black", linestyle=":", linewidth=1)
    ax.set_xlabel("% of the simple bound (max of bandwidth_split and free_migration)")
    ax.set_title(f"Where the gap is, per point: median certified gap {gap.median():.2f} %, max {gap.max():.2f} %",
                 fontsize=10)
    ax.legend(fontsize=7, loc="upper center", bbox_to_anchor=(0.5, -0.12 - 0.6 / len(rows)), ncols=1)
    ax.margins(x=0.35)
    return fig, ("Per point: the green part is how far the best bound (lower_bound_kind) lies above the simple "
                 "bounds, the red part the certified gap that is left between the fastest capacity-respecting "
                 "schedule (named) and that bound; the optimum lies inside the red part. Dotted: 1 %.")


def headroom_captured(ok, ctx):
    """Per point, the share of the headroom (static to the certified bound) the best online policy
    captures, against each of sparsity, variation, HBM capacity and batch size that the points vary."""
    if "headroom_captured" not in ok or not ok.headroom_captured.notna().any():
        raise Skip("no point has headroom_captured (results before schema 11, or static at the bound everywhere)")
    rows = ok[ok.headroom_captured.notna()]
    cap, cap_label = capacity_axis(rows)
    axes = [(c, label) for c, label in (("sparsity", "sparsity"), ("variation", "variation"), (cap, cap_label),
                                        ("batch_size", "batch size"))
            if c in rows and rows[c].replace("", np.nan).nunique(dropna=True) > 1]
    if not axes:
        raise Skip("none of sparsity, variation, HBM capacity, batch size varies")
    fig, panel = panels(len(axes))
    names = list(dict.fromkeys(rows.best_online))
    colors = {n: f"C{i}" for i, n in enumerate(names)}
    for ax, (c, label) in zip(panel, axes):
        if c == "variation":
            order, _ = variation_levels(rows)
            x = rows[c].map({v: i for i, v in enumerate(order)})
            ax.set_xticks(range(len(order)), order, fontsize=8)
        else:
            x = rows[c].astype(float)
        for n in names:
            sel = rows.best_online == n
            ax.scatter(x[sel], 100 * rows.headroom_captured[sel], s=14, alpha=0.7, color=colors[n], label=n)
        med = (100 * rows.headroom_captured).groupby(x).median()
        ax.plot(med.index, med.values, color="black", linewidth=1, label="median")
        ax.axhline(90, color="grey", linestyle=":", linewidth=1)
        ax.set_xlabel(label)
        ax.set_ylabel("headroom captured (%)")
        ax.grid(alpha=0.3)
    panel[0].legend(fontsize=7, title="best online policy", title_fontsize=7)
    low = rows.loc[rows.headroom_captured.idxmin()]
    fig.suptitle(f"Share of the headroom (static to certified bound) the best online policy captures, "
                 f"{len(rows)} points (min {100 * rows.headroom_captured.min():.1f} %)", fontsize=10)
    return fig, (f"Per point, (static - best online) / (static - lower bound): how much of what placement can "
                 f"gain a policy that sees only past reads gets, against each axis that varies (dotted: 90 %). "
                 f"Lowest: {100 * low.headroom_captured:.1f} % by {low.best_online} at point `{low.point_id}`.")


def _values(ok, column):
    """The distinct non-empty values of a column, in order of appearance ([] when it is missing)."""
    if column not in ok:
        return []
    return [v for v in pd.unique(ok[column]) if not (isinstance(v, float) and np.isnan(v)) and v != ""]


def _span(ok, column, fmt="{:,.0f}"):
    vals = sorted(_values(ok, column))
    if not vals:
        return None
    return fmt.format(vals[0]) if len(vals) == 1 else f"{fmt.format(vals[0])}-{fmt.format(vals[-1])}"


def setting(ok):
    """What was simulated, in one line, so that a figure forwarded alone can be read: the model(s) with
    their number formats, the hardware, the HBM given to KV, P and D, and the trace (sparsity and
    variation of a synthetic one). A parameter that varies shows its range or its values."""
    parts = []
    models = _values(ok, "model")
    if models:
        def with_dtypes(m):
            rows = ok[ok["model"] == m]
            w, kv = _values(rows, "weight_dtype"), _values(rows, "kv_dtype")
            return f"{m} ({'/'.join(w)} weights, {'/'.join(kv)} KV)" if w and kv else m
        parts.append(("model " if len(models) == 1 else "models ") + ", ".join(with_dtypes(m) for m in models))
    hardware = _values(ok, "hardware")
    if hardware:
        hw = ", ".join(hardware)
        link = _span(ok, "link_read_gbps")
        parts.append(f"on {hw}" + (f" (link read {link} GB/s)" if link else ""))
    for column, text, fmt in (("hbm_capacity_ratio", "HBM for KV {} of the final KV footprint", "{:g}"),
                              ("hbm_capacity_gb", "HBM {} GB", "{:g}"),
                              ("hbm_kv_capacity_entries", "HBM for KV {} entries", "{:,.0f}")):
        span = _span(ok, column, fmt)
        if span:
            parts.append(text.format(span))
    p, d = _span(ok, "prompt_tokens"), _span(ok, "decode_tokens")
    if p and d:
        parts.append(f"P = {p}, D = {d} tokens")
    if "synthetic" in _values(ok, "trace"):
        sparsity, variation = _span(ok, "sparsity", "{:g}"), _values(ok, "variation")
        parts.append(f"synthetic trace, sparsity {sparsity}, variation {', '.join(map(str, variation))}")
    files = [t for t in _values(ok, "trace") if t != "synthetic"]
    if files:
        parts.append("trace " + ", ".join(files))
    return "Simulated: " + "; ".join(parts) + f" ({len(ok)} point{'s' if len(ok) != 1 else ''})."


def stamp(fig, text):
    """Writes `text` under the figure, small, wrapped to its width (kept by bbox_inches='tight')."""
    fig.text(0.0, -0.01, text, ha="left", va="top", fontsize=7, wrap=True, color="0.25")


# File name, heading, drawing function: the order of report.md.
# Fig. 3 draws sparsity (with the paper's markers); every other numeric axis gets speedup_vs_axis.
AXIS_FIGURE_SKIP = {"sparsity"}


def numeric_axes(ok, ctx):
    """The numeric point parameters that vary between the ok points, in ctx.varying's order, without one
    that only follows an earlier one value for value (a zipped partner: its figure would be a copy)."""
    out = []
    for c in ctx.varying:
        if c in AXIS_FIGURE_SKIP or c not in ok or not pd.api.types.is_numeric_dtype(ok[c]):
            continue
        if ok[c].dropna().nunique() < 2:
            continue
        follows = any(ok.groupby(a)[c].nunique().max() == 1 and ok.groupby(c)[a].nunique().max() == 1 for a in out)
        if not follows:
            out.append(c)
    return out


def speedup_vs_axis(column):
    """draw(ok, ctx) for throughput over static's against `column`, one line per policy and the certified
    bound (static's time over the best lower bound: no schedule beats static by more), one panel per model
    x hardware when they vary; the other varying parameters are fixed by balance() or pooled."""
    label = LABELS.get(column, column.replace("_", " "))

    def draw(ok, ctx):
        need_policies(ctx, "static")
        need_varying(ok, column, label)
        groups = []
        for facet, rows in facets(ok[ok[column].notna()]):
            if rows[column].nunique() < 2:
                continue
            rows, fixed, follows = balance(rows, ctx, [column])
            if rows[column].nunique() >= 2:
                groups.append((facet, rows, fixed, follows))
        if not groups:
            raise Skip(f"no model/hardware has points at two values of {column}")
        fig, axes = panels(len(groups), width=6.0, height=4.4, ncols_max=2)
        notes = []
        for ax, (facet, rows, fixed, follows) in zip(axes, groups):
            xs = sorted(rows[column].unique())
            for p in ctx.policies:
                if f"{p}_speedup_vs_static" not in rows:
                    continue
                y = [geomean(rows.loc[rows[column] == x, f"{p}_speedup_vs_static"]) for x in xs]
                color, marker = style(p)
                ax.plot(xs, y, marker=marker, color=color, label=p, alpha=0.9,
                        linestyle="--" if p in ("unlimited_hbm", "static") else "-")
            if {"static_total_time_s", "lower_bound_s"} <= set(rows.columns):
                bound = rows.static_total_time_s / rows.lower_bound_s
                y = [geomean(bound[rows[column] == x]) for x in xs]
                ax.plot(xs, y, color="black", linestyle=":", marker="_", markersize=12,
                        label="certified bound: static / lower bound")
            if xs[0] > 0 and xs[-1] / xs[0] >= 8:
                ax.set_xscale("log", base=2)
            counts = [int((rows[column] == x).sum()) for x in xs]
            note = pooled_note(rows, ctx, {column, "model", "hardware", *follows}, label, counts, fixed)
            notes.append(with_facet(facet, note) if facet else note)
            ax.set_xlabel(label + f" (`{column}`)")
            ax.set_ylabel("throughput / static's throughput (x)")
            ax.set_title(facet or "all points", fontsize=10)
            ax.grid(alpha=0.3)
        axes[-1].legend(loc="center left", bbox_to_anchor=(1.01, 0.5), fontsize=8)
        note = "; ".join(dict.fromkeys(notes))
        per = ", one panel per model x hardware" if groups[0][0] else ""
        fig.suptitle(f"Throughput vs {label}, normalised to static{per}\n({note})", fontsize=10, wrap=True)
        return fig, (f"Throughput of each policy over static's against `{column}`{per}, with the certified bound "
                     f"(no schedule can beat static by more); {note}.")

    return draw


def axis_figures(ok, ctx):
    """(file, heading, draw) of the throughput-vs-axis figure of each numeric axis the points vary."""
    return [(f"speedup_vs_{c}.png", f"Throughput vs {LABELS.get(c, c.replace('_', ' '))}", speedup_vs_axis(c))
            for c in numeric_axes(ok, ctx)]


FIGURES = [
    ("fig3_speedup_vs_sparsity.png", "Throughput vs sparsity (Fig. 3)", speedup_vs_sparsity),
    ("fig4_variation.png", "Throughput vs trace variation (Fig. 4)", variation_bars),
    ("fig5_hbm_hit_breakdown.png", "HBM hit rate, weights vs KV (Fig. 5)", hbm_breakdown),
    ("oracle_speedup_heatmap.png", "Oracle speedup by capacity and link", oracle_heatmap),
    ("gap_to_bound.png", "Oracle's gap to the lower bound", gap_distribution),
    ("gap_by_point.png", "Where the gap is, per point", gap_by_point),
    ("headroom_captured.png", "Headroom the best online policy captures", headroom_captured),
]
