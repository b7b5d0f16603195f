#!/usr/bin/python3
"""Figures and a markdown summary of a kvsweep results file.

    /usr/bin/python3 analysis/report.py results/quick.h5 -o results/quick-report

writes into the output directory (created if needed) report.md and the PNG figures the sweep's axes
allow: throughput vs sparsity normalised to static (the paper's Fig. 3), throughput at each variation
normalised to unlimited_hbm (Fig. 4), the HBM hit rate split into weights and KV (Fig. 5), the oracle's
speedup over static by HBM capacity x link bandwidth (one panel per model), the distribution of the
oracle's gap to the lower bound, and throughput over static with the certified bound against each other
numeric parameter the sweep varies (speedup_vs_<parameter>.png, one panel per model x hardware). A figure the sweep cannot support is skipped and report.md says why.
The files it writes are overwritten; nothing else in the directory is touched.
Exit codes: 0 done, 2 bad input (one line on stderr naming the file).
"""

import argparse
import os
import sys
import textwrap

sys.dont_write_bytecode = True  # no __pycache__ in the source tree
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import kvsweep_results as kr  # noqa: E402
import pandas as pd  # noqa: E402

DPI = 110


def cell(value):
    """A table cell: numbers in %g, text with markdown's pipe escaped."""
    if isinstance(value, float):
        return "" if value != value else f"{value:g}"
    return str(value).replace("|", "\\|")


def sweep_order(df):
    """Rows in the sweep's expansion order (the k of source `file#k`); file order when unparsable."""
    keys = df["source"].str.rsplit("#", n=1).str[-1]
    if not keys.str.isdigit().all():
        return df
    return df.assign(_k=keys.astype(int)).sort_values("_k", kind="stable").drop(columns="_k")


def points_table(df, ctx):
    """The markdown table of the points: parameters that vary, status, speedups, oracle gap."""
    params = ctx.varying + (["name"] if df["name"].nunique() > 1 else [])
    # Online policies (past reads only) first, then those that see the future.
    shown = ([p for p in ctx.policies if p != "static" and p in ctx.online] +
             [p for p in ctx.policies if p != "static" and p not in ctx.online])
    best = "best_gap" in df  # files before schema 4 have only the oracle's gap
    head = ["point_id"] + params + ["status"] + [f"{p} ({'online' if p in ctx.online else 'offline'})" for p in shown]
    head += ["oracle gap"] if "oracle" in ctx.policies else []
    head += ["best schedule", "certified gap", "bound"] if best else []
    online = "headroom_captured" in df  # schema 11
    head += ["best online", "online gap", "headroom captured"] if online else []
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for _, r in sweep_order(df).iterrows():
        row = [f"`{r['point_id']}`"] + [cell(r[p]) for p in params] + [r["status"]]
        row += [f"{r[f'{p}_speedup_vs_static']:.3f}" if r["status"] == "ok" else "" for p in shown]
        if "oracle" in ctx.policies:
            g = r["gap_to_bound"]
            row.append(f"{100 * max(g, 0.0):.2f} %" if g == g else "")
        if best:
            g = r["best_gap"]
            row += [cell(r["best_schedule"]), f"{100 * max(g, 0.0):.2f} %" if g == g else "",
                    cell(r["lower_bound_kind"])]
        if online:
            g, h = r["online_gap"], r["headroom_captured"]
            row += [cell(r["best_online"]), f"{100 * max(g, 0.0):.2f} %" if g == g else "",
                    f"{100 * h:.1f} %" if h == h else ""]
        lines.append("| " + " | ".join(row) + " |")
    return lines


def certificate_table(df, ctx):
    """Per point: every bound, the gap of the constructive schedules and the oracle, the dual's progress."""
    # Files from before the certificate columns (schema < 6) have no table.
    if any(c not in df for c in ("lower_bound_s", "lower_bound_kind", "best_schedule", "best_gap")):
        return []
    gaps = [p for p in ("fm_tracking", "fm_dual", "oracle") if p in ctx.policies]
    lag = "lagrangian_s" in df
    head = ["point_id"] + ctx.varying + ["bandwidth_split_s", "free_migration_s"] + (["lagrangian_s"] if lag else [])
    head += ["best bound", "best schedule", "certified gap"] + [f"{p} gap" for p in gaps]
    head += ["dual passes", "dual by pass"] if lag else []
    lines = ["## Certificates", "",
             "Where each point's gap is: its bounds (s), the largest of which certifies; the fastest "
             "capacity-respecting schedule and its gap to that bound; the gaps of the constructive schedules "
             "and of the oracle; the Lagrangian's passes and its bound after passes 1, 2, 5, 10, 20, 40, ... "
             "(empty where it was not computed: the baselines' gap was already below `oracle.lagrangian_gap`).",
             "", "| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for _, r in sweep_order(df[df["status"] == "ok"]).iterrows():
        lb = r["lower_bound_s"]
        row = [f"`{r['point_id']}`"] + [cell(r[p]) for p in ctx.varying]
        row += [f"{r['bandwidth_split_s']:.6g}", f"{r['free_migration_s']:.6g}"]
        row += [f"{r['lagrangian_s']:.6g}" if lag and r["lagrangian_s"] == r["lagrangian_s"] else ""] if lag else []
        row += [cell(r["lower_bound_kind"]), cell(r["best_schedule"]), f"{100 * max(r['best_gap'], 0.0):.3f} %"]
        for p in gaps:
            t = r[f"{p}_total_time_s"]
            row.append(f"{100 * max(t / lb - 1, 0.0):.3f} %" if t == t else "")
        if lag:
            passes = r["lagrangian_passes"]
            row += ["" if passes != passes else f"{passes:.0f} ({r['lagrangian_stop_reason']})",
                    cell(r["lagrangian_by_pass"]) if passes == passes else ""]
        lines.append("| " + " | ".join(row) + " |")
    return lines + [""]


def provenance(path, meta, rows, latest):
    ok, failed = int((latest["status"] == "ok").sum()), int((latest["status"] != "ok").sum())

    def m(key):
        return meta.get(key, "?")

    done = (f"completed {meta['end_time']}" if meta.get("end_time") else
            "**not completed** (no end_time: a run is still writing it, or stopped; `kvsweep run --resume` "
            "finishes it)")
    return [
        f"Results file: `{os.path.abspath(path)}`",
        "",
        f"- sweep `{m('sweep_hash')}`, schema {m('schema_version')}; kvsweep {m('kvsweep_version')} "
        f"(git {m('git_sha')}), HDF5 {m('hdf5_version')}, MPI {m('mpi_version')}; host {m('host')}; "
        f"started {m('start_time')}, {done}",
        f"- points: {ok} ok, {failed} failed ({len(rows)} rows: {len(rows) - len(latest)} earlier attempts "
        "superseded by a later row of the same point)",
        f"- policies: online (decide from past reads only): "
        f"{', '.join(p for p in meta.get('policies', []) if p in meta.get('online_policies', [])) or 'none'}; "
        f"offline (see the future): "
        f"{', '.join(p for p in meta.get('policies', []) if p not in meta.get('online_policies', [])) or 'none'}",
        f"- sweep axes: {', '.join(meta.get('axis_names', [])) or 'none'}",
    ]


PUBLISHED_COLUMNS = ("best", "static", "reactive", "page", "sa")  # kvsweep_figures.PUBLISHED_POLICIES


def load_published(path):
    """Published latencies (figure, sparsity, variation, then one column per method), as in
    analysis/data/paper_published.csv; '#' lines are provenance. Raises ResultsFileError naming the file."""
    try:
        df = pd.read_csv(path, comment="#")
    except (OSError, pd.errors.ParserError, UnicodeDecodeError) as e:
        raise kr.ResultsFileError(f"{path}: cannot read published values ({e})") from None
    needed = ["figure", "sparsity", "variation", *PUBLISHED_COLUMNS]
    missing = [c for c in needed if c not in df]
    if missing:
        raise kr.ResultsFileError(f"{path}: missing column(s) {', '.join(missing)}; needed: {', '.join(needed)}")
    return df


def _range(values, fmt="{:.0f}"):
    lo, hi = fmt.format(min(values)), fmt.format(max(values))
    return lo if lo == hi else f"{lo}-{hi}"


def _points(n):
    return f"{n} point{'s' if n != 1 else ''}"


def surprises(ok, ctx):
    """Sentences that explain the results most likely to puzzle a reader, each with its numbers: HBM left
    idle for KV although it could hold everything, a schedule faster than unlimited HBM, no gain at all."""
    notes = []
    if not len(ok):
        return notes
    pols = [p for p in ctx.policies if f"{p}_speedup_vs_static" in ok]
    modes = ok["hbm_reads"] if "hbm_reads" in ok else pd.Series("", index=ok.index)  # older files: none
    if "unlimited_hbm" in pols and {"unlimited_hbm_hbm_hits", "unlimited_hbm_reads"} <= set(ok.columns):
        kv = ok.unlimited_hbm_hbm_hits / ok.unlimited_hbm_reads
        low = ok[(kv < 0.2) & (modes == "balanced")]
        if len(low):
            w = low.weight_bytes_per_layer * low.layers * low.decode_tokens
            share = w / (w + low.kv_bytes_per_token_layer * low.unlimited_hbm_reads)
            notes.append(
                f"At {_points(len(low))} even `unlimited_hbm` (all KV fits in HBM) reads only "
                f"{_range(100 * kv[low.index], '{:.1f}')} % of its KV bytes from HBM. "
                "That is the balanced read mode (`hbm_reads: balanced`): DRAM keeps a copy of every entry and "
                "HBM serves only the share of reads that minimises the step time. The weights, "
                f"{_range(100 * share)} % of the bytes read there, already keep HBM "
                "busy, so KV is read faster over the link in parallel, and where it sits hardly matters "
                "(docs/cost-model.md).")
    faster = []
    for p in pols:
        if p in ("unlimited_hbm", "oracle") or "unlimited_hbm_speedup_vs_static" not in ok:
            continue
        resident = ok[modes == "resident"]
        gain = resident[f"{p}_speedup_vs_static"] / resident.unlimited_hbm_speedup_vs_static - 1
        if (gain > 1e-3).any():
            faster.append(f"`{p}` (up to {100 * gain.max():.1f} %, {_points(int((gain > 1e-3).sum()))})")
    if faster:
        notes.append(
            "Faster than `unlimited_hbm`: " + ", ".join(faster) + ". With every resident read served by HBM "
            "(`hbm_reads: resident`) unlimited HBM reads all KV from HBM alone, while a schedule that leaves some "
            "KV in DRAM reads it over the link at the same time: two tiers in parallel beat one "
            "(docs/cost-model.md).")
    best = [f"{p}_speedup_vs_static" for p in pols if p != "unlimited_hbm"]
    if best:
        top = ok[best].max(axis=1)
        flat = ok[top < 1.01]
        if len(flat):
            where = ""
            if "sparsity" in flat and flat.sparsity.notna().any():
                where = f" (sparsity {', '.join(f'{v:g}' for v in sorted(flat.sparsity.dropna().unique()))})"
            weights = ""
            if "static_reads" in flat:
                w = flat.weight_bytes_per_layer * flat.layers * flat.decode_tokens
                share = 100 * w / (w + flat.kv_bytes_per_token_layer * flat.static_reads)
                weights = (f": there the weights are {_range(share)} % of the bytes a step "
                           "reads, so the KV reads that placement can move decide little of the time")
            notes.append(f"At {_points(len(flat))}{where} no schedule is even 1 % faster than `static`{weights}. "
                         "That is a finding, not a failure: dynamic placement has nothing to win there.")
    return notes


def write_report(path, out_dir, quiet, published=None):
    import matplotlib.pyplot as plt  # here, so that bad input is reported without loading matplotlib

    import kvsweep_figures as figures
    meta = kr.load_meta(path)
    rows = kr.load(path, all_attempts=True)
    latest = kr.latest_attempts(rows)  # from the same read: a running sweep may append in between
    ok = latest[latest["status"] == "ok"].reset_index(drop=True)
    ctx = figures.Context(policies=kr.policies(ok, meta), varying=kr.varying_parameters(ok, meta),
                          published=published, online=meta["online_policies"])

    md = [f"# kvsweep report: {os.path.basename(path)}", ""] + provenance(path, meta, rows, latest)
    md += [f"- parameters that vary between the ok points: {', '.join(ctx.varying) or 'none'}"]
    simulated = figures.setting(ok) if len(ok) else "Simulated: no point is ok yet."
    md += [f"- {simulated}", ""]
    notes = surprises(ok, ctx)
    if notes:
        md += ["## What may surprise you", ""] + [f"- {n}" for n in notes] + [""]
    made, skipped = [], []
    md += ["## Figures", ""]
    for name, heading, draw in figures.FIGURES + (figures.axis_figures(ok, ctx) if len(ok) else []):
        try:
            if not len(ok):
                raise figures.Skip("no point is ok yet")
            fig, caption = draw(ok, ctx)
        except figures.Skip as why:
            skipped.append((name, heading, str(why)))
            continue
        figures.stamp(fig, simulated)  # a PNG forwarded alone still says what was simulated
        fig.savefig(os.path.join(out_dir, name), dpi=DPI, bbox_inches="tight")
        plt.close(fig)
        made.append(name)
        md += [f"### {heading}", "", f"![{heading}]({name})", "", caption, ""]
    if not made:
        md += ["None (see below).", ""]
    if skipped:
        md += ["## Skipped figures", ""]
        for name, heading, why in skipped:
            stale = (" An older copy in this directory is from an earlier report."
                     if os.path.exists(os.path.join(out_dir, name)) else "")
            md.append(f"- `{name}` ({heading}): {why}.{stale}")
        md.append("")
    md += ["## Points", "",
           "Throughput over static's (x) per policy for the latest attempt at each point, in the sweep's "
           "order; `oracle gap` is gap_to_bound, the oracle's time over the best lower bound minus 1; "
           "`certified gap` is the same for the point's fastest capacity-respecting schedule (`best schedule`), "
           "against the bound named in `bound`: the optimum lies between the two. `best online` is the fastest "
           "policy that decides from past reads only (an online policy, as a runtime must), `online gap` its "
           "certified gap, `headroom captured` = (static - best online) / (static - bound): the share of what "
           "placement can gain that it gets.", ""]
    md += points_table(latest, ctx) + [""]
    md += certificate_table(latest, ctx)
    bad = latest[latest["status"] != "ok"]
    if len(bad):
        md += ["## Failed points", "", "| point_id | attempt | error |", "|---|---|---|"]
        md += [f"| `{r['point_id']}` | {r['attempt']} | {cell(r['error'])} |" for _, r in bad.iterrows()]
        md.append("")
    md += ["## Reading the file yourself", "", "```python",
           "import sys; sys.path.insert(0, 'analysis')   # from the repository root",
           "import kvsweep_results as kr",
           f"df = kr.load('{path}')   # latest attempt per point, str columns, NaN where n/a",
           "```", ""]
    with open(os.path.join(out_dir, "report.md"), "w", encoding="utf-8") as f:
        f.write("\n".join(md))
    if not quiet:
        for n in notes:
            print(textwrap.fill(f"report.py: note: {n}", width=110, subsequent_indent="  "))
        print(f"report.py: {len(made)} figures, {len(skipped)} skipped "
              f"({', '.join(n for n, _, _ in skipped) or 'none'}) -> {os.path.join(out_dir, 'report.md')}")


def main(argv=None):
    parser = argparse.ArgumentParser(
        description="Figures (PNG) and a markdown summary (report.md) of a kvsweep results file.")
    parser.add_argument("results", help="HDF5 results file written by kvsweep run")
    parser.add_argument("-o", "--output", metavar="DIR",
                        help="output directory, created if needed; the report's own files are overwritten, "
                             "nothing else is touched (default: RESULTS without .h5, plus -report)")
    parser.add_argument("-q", "--quiet", action="store_true", help="print nothing on success")
    parser.add_argument("--published", metavar="CSV",
                        help="published latencies drawn as hollow markers on Figs. 3 and 4 "
                             "(e.g. analysis/data/paper_published.csv)")
    args = parser.parse_args(argv)
    out_dir = args.output or os.path.splitext(args.results)[0] + "-report"
    try:
        kr.load_meta(args.results)  # the input's errors first, before creating anything
        published = load_published(args.published) if args.published else None
        if os.path.exists(out_dir) and not os.path.isdir(out_dir):
            raise kr.ResultsFileError(f"{out_dir}: exists and is not a directory")
        try:
            os.makedirs(out_dir, exist_ok=True)
        except OSError as e:
            raise kr.ResultsFileError(f"{out_dir}: cannot create the directory ({e.strerror})") from None
        write_report(args.results, out_dir, args.quiet, published)
    except kr.ResultsFileError as e:
        print(f"report.py: {e}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
