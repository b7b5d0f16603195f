"""analysis/report.py run as a user runs it, on files written by the real kvsweep binary."""

import os
import shutil
import struct
import subprocess

import h5py
import numpy as np
import pandas as pd
import pytest

import kvsweep_figures
import kvsweep_results as kr
from conftest import ANALYSIS, DATA, REPORT, report, run_sweep

PUBLISHED = os.path.join(ANALYSIS, "data", "paper_published.csv")

ALL = [name for name, _, _ in kvsweep_figures.FIGURES]
# data/grid.yaml's numeric axes besides sparsity (link_write_gbps follows link_read_gbps: no figure of its own).
GRID_AXES = ["speedup_vs_hbm_capacity_ratio.png", "speedup_vs_link_read_gbps.png"]
PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


def png_size(path):
    """(width, height) of a PNG, checking its signature and IHDR chunk."""
    with open(path, "rb") as f:
        head = f.read(24)
    assert head[:8] == PNG_SIGNATURE and head[12:16] == b"IHDR", f"{path} is not a PNG"
    return struct.unpack(">II", head[16:24])


def points_in_table(md):
    return [line for line in md.splitlines() if line.startswith("| `")]


def test_every_figure_from_a_full_grid(grid_h5, tmp_path):
    out = tmp_path / "report"
    r = report(grid_h5, str(out))
    assert r.returncode == 0, r.stderr
    assert r.stdout.splitlines()[-1].startswith(f"report.py: {len(ALL) + len(GRID_AXES)} figures, 0 skipped")
    md = (out / "report.md").read_text()
    for name in ALL + GRID_AXES:
        width, height = png_size(out / name)
        assert width > 400 and height > 250 and os.path.getsize(out / name) > 10000, name
        assert f"]({name})" in md, name
    assert "Skipped figures" not in md
    assert len(points_in_table(md)) == 2 * 72  # the points table and the certificates table
    header = next(line for line in md.splitlines() if line.startswith("| point_id"))
    for column in ["model", "sparsity", "variation", "hbm_capacity_ratio", "link_read_gbps", "oracle gap",
                   "best schedule", "certified gap", "bound",
                   "sa_guided (offline)", "unlimited_hbm (online)"]:
        assert f"| {column} |" in header, column
    # The two families apart: every online policy's column before the first offline one.
    assert header.rindex("(online)") < header.index("(offline)"), header
    # The user's model axis gets panels of its own, never a mean over it.
    assert ("tiny-kv4, geometric mean over variation, HBM share, link read, link write: 12 points per sparsity; "
            "tiny-kv2, geometric mean over variation, HBM share, link read, link write: 12 points per sparsity"
            in md), md
    assert sorted(os.listdir(out)) == sorted(ALL + GRID_AXES + ["report.md"])
    # Each axis figure: throughput over static against the axis, with the certified bound.
    assert "Throughput of each policy over static's against `hbm_capacity_ratio`, one panel per model x hardware" in md
    # What was simulated, in the report and (the same line) under every figure
    assert ("- Simulated: models tiny-kv4, tiny-kv2; on gh200-measured (link read 375-900 GB/s); HBM for KV "
            "0.1-0.25 of the final KV footprint; P = 512, D = 32 tokens; synthetic trace, sparsity 0.5-0.8, "
            "variation low, actual, high (72 points)." in md)


def test_setting_names_model_dtypes_hardware_and_sizes():
    import pandas as pd
    ok = pd.DataFrame({"model": ["llama-3.1-70b"] * 2, "weight_dtype": ["fp8"] * 2, "kv_dtype": ["bf16"] * 2,
                       "hardware": ["gh200-measured"] * 2, "link_read_gbps": [375.0, 375.0],
                       "hbm_capacity_ratio": [0.25, 0.25], "hbm_capacity_gb": [np.nan, np.nan],
                       "prompt_tokens": [16384, 16384], "decode_tokens": [1024, 1024],
                       "trace": ["synthetic"] * 2, "sparsity": [0.6, 0.9], "variation": ["actual"] * 2})
    assert kvsweep_figures.setting(ok) == (
        "Simulated: model llama-3.1-70b (fp8 weights, bf16 KV); on gh200-measured (link read 375 GB/s); "
        "HBM for KV 0.25 of the final KV footprint; P = 16,384, D = 1,024 tokens; synthetic trace, "
        "sparsity 0.6-0.9, variation actual (2 points).")


def test_figures_skipped_when_axes_or_policies_are_missing(points_h5, tmp_path):
    out = tmp_path / "report"
    r = report(points_h5, str(out))
    assert r.returncode == 0, r.stderr
    md = (out / "report.md").read_text()
    made = ["fig3_speedup_vs_sparsity.png", "fig5_hbm_hit_breakdown.png", "gap_by_point.png", "headroom_captured.png"]
    assert sorted(os.listdir(out)) == sorted(made + ["report.md"])
    for name in made:
        png_size(out / name)
        assert f"]({name})" in md
    skipped = md.split("## Skipped figures", 1)[1].split("## Points", 1)[0]
    assert "`fig4_variation.png`" in skipped and "no `unlimited_hbm` results" in skipped
    assert "`oracle_speedup_heatmap.png`" in skipped and "no `oracle` results" in skipped
    assert "`gap_to_bound.png`" in skipped and "no point has a gap_to_bound" in skipped
    assert "sweep axes: none" in md and "vary between the ok points: sparsity" in md
    assert len(points_in_table(md)) == 2 * 2 and "sparse-0.8" in md  # names differ, so they are shown (two tables)


def subset(results, path, keep):
    """A copy of a results file holding only the rows for which keep(table) is true."""
    shutil.copy(results, path)
    with h5py.File(path, "a") as f:
        table = f["points"][()]
        del f["points"]
        f["points"] = table[keep(table)]
    return str(path)


def test_axes_that_do_not_vary_are_named_in_the_skip_reason(grid_h5, tmp_path):
    # The grid's rows at one sparsity, variation and HBM share.
    sub = subset(grid_h5, tmp_path / "slice.h5", lambda t: (t["sparsity"] == 0.6)
                 & (t["variation"] == b"actual") & (t["hbm_capacity_ratio"] == 0.25))
    assert len(kr.load(sub)) == 4  # 2 models x 2 links
    out = tmp_path / "report"
    r = report(sub, str(out))
    assert r.returncode == 0, r.stderr
    md = (out / "report.md").read_text()
    assert "sparsity does not vary (`sparsity`: 0.6)" in md
    assert "variation does not vary (`variation`: actual)" in md
    assert "HBM capacity does not vary (`hbm_capacity_ratio`: 0.25)" in md
    # The link still varies: its own axis figure is drawn.
    assert sorted(os.listdir(out)) == ["fig5_hbm_hit_breakdown.png", "gap_by_point.png", "gap_to_bound.png",
                                       "report.md", "speedup_vs_link_read_gbps.png"]
    # Every ok point has a row in the certificates table, with its bounds and certified gap.
    certificates = md.split("## Certificates", 1)[1].split("##", 1)[0]
    assert len(points_in_table(certificates)) == 4 and "free_migration" in certificates


def test_an_incomplete_grid_is_sliced_not_pooled(grid_h5, tmp_path):
    # The paper's design, cut from the grid at one model, HBM share and link: sparsity varies at variation
    # actual, variation varies at sparsity 0.6 only. Pooling Fig. 3 over variation would mix three
    # variations at 0.6 with one elsewhere, so variation is fixed at actual instead (and said so).
    sub = subset(grid_h5, tmp_path / "paper.h5", lambda t: (t["model"] == b"tiny-kv4")
                 & (t["hbm_capacity_ratio"] == 0.25) & (t["link_read_gbps"] == 375)
                 & ((t["variation"] == b"actual") | (t["sparsity"] == 0.6)))
    df = kr.load(sub)
    assert len(df) == 5
    out = tmp_path / "report"
    r = report(sub, str(out))
    assert r.returncode == 0, r.stderr
    md = (out / "report.md").read_text()
    assert "at each sparsity (the paper's Fig. 3); at variation = actual; 1 point per sparsity." in md
    assert "One pair per sparsity (and model x hardware when they vary); at variation = actual; 1 point per panel." in md  # Fig. 5
    assert "one panel per sparsity; other parameters fixed; 1 point per bar." in md  # Fig. 4: 0.6 only
    assert sorted(os.listdir(out)) == sorted(["fig3_speedup_vs_sparsity.png", "fig4_variation.png",
                                              "fig5_hbm_hit_breakdown.png", "gap_to_bound.png", "gap_by_point.png",
                                              "headroom_captured.png", "report.md"])


def test_failed_points_and_retries_are_reported(retry_h5, tmp_path):
    out = tmp_path / "report"
    r = report(retry_h5, str(out))
    assert r.returncode == 0, r.stderr
    md = (out / "report.md").read_text()
    df = kr.load(retry_h5)
    broken = df[df.status == "failed"].iloc[0]
    assert "points: 3 ok, 1 failed (6 rows: 2 earlier attempts superseded" in md
    failed = md.split("## Failed points", 1)[1]
    assert f"`{broken.point_id}` | 2 |" in failed and "appears more than once" in failed
    assert len(points_in_table(md.split("## Certificates", 1)[0])) == 4
    assert len(points_in_table(md.split("## Certificates", 1)[1].split("## Failed points", 1)[0])) == 3  # ok ones


def test_rerun_overwrites_its_own_files_and_nothing_else(points_h5, grid_h5, tmp_path):
    out = tmp_path / "report"
    assert report(grid_h5, str(out)).returncode == 0
    (out / "notes.txt").write_text("mine\n")
    before = (out / "fig3_speedup_vs_sparsity.png").read_bytes()
    r = report(points_h5, str(out))
    assert r.returncode == 0, r.stderr
    assert (out / "notes.txt").read_text() == "mine\n"
    assert (out / "fig3_speedup_vs_sparsity.png").read_bytes() != before  # redrawn from the new file
    assert (out / "fig4_variation.png").exists()  # stale, but not deleted: said so in report.md
    md = (out / "report.md").read_text()
    assert "An older copy in this directory is from an earlier report" in md.split("`fig4_variation.png`")[1]
    assert "](fig4_variation.png)" not in md


def test_runs_from_any_directory_with_the_default_output(points_h5, tmp_path):
    shutil.copy(points_h5, tmp_path / "p.h5")
    r = subprocess.run(["/usr/bin/python3", REPORT, "p.h5", "-q"], cwd=tmp_path, capture_output=True,
                       text=True, timeout=120)
    assert r.returncode == 0 and r.stdout == "" and r.stderr == ""
    assert (tmp_path / "p-report" / "report.md").exists()  # RESULTS minus .h5, plus -report


@pytest.mark.parametrize("case", ["missing", "text", "foreign", "output_is_a_file"])
def test_bad_input_exits_2_with_one_line(case, grid_h5, tmp_path):
    results, out = grid_h5, tmp_path / "report"
    if case == "missing":
        results = str(tmp_path / "nope.h5")
    elif case == "text":
        results = str(tmp_path / "text.h5")
        open(results, "w").write("hello\n")
    elif case == "foreign":
        results = str(tmp_path / "foreign.h5")
        with h5py.File(results, "w") as f:
            f["x"] = np.arange(3)
    else:
        out.write_text("a file\n")
    r = report(results, str(out))
    assert r.returncode == 2
    lines = r.stderr.splitlines()
    assert len(lines) == 1 and lines[0].startswith("report.py: "), r.stderr
    assert (str(out) if case == "output_is_a_file" else results) in lines[0]
    if case != "output_is_a_file":
        assert not out.exists()  # nothing created for a bad input


@pytest.fixture(scope="module")
def paper_h5(kvsweep, tmp_path_factory):
    """data/paper.yaml: the paper's experiment in miniature, Fig. 4 on both generators."""
    out = str(tmp_path_factory.mktemp("paper") / "paper.h5")
    run_sweep(kvsweep, os.path.join(DATA, "paper.yaml"), out)
    return out


def test_published_markers_and_one_fig4_panel_per_generator(paper_h5, tmp_path):
    out = tmp_path / "report"
    r = report(paper_h5, str(out), "--published", PUBLISHED)
    assert r.returncode == 0, r.stderr
    md = (out / "report.md").read_text()
    fig3 = md.split("### Throughput vs sparsity (Fig. 3)")[1].split("###")[0]
    fig4 = md.split("### Throughput vs trace variation (Fig. 4)")[1].split("###")[0]
    assert "hollow markers: the paper's published latencies (static / method)" in fig3
    assert "synthetic_model = spans" in fig3  # Fig. 3 compares the span traces only
    assert "hollow markers: the paper's published latencies (unlimited / method)" in fig4
    assert "synthetic_model" not in fig4  # a panel per generator: neither pooled nor fixed
    # Without --published: the same figures, no markers.
    plain = tmp_path / "plain"
    assert report(paper_h5, str(plain)).returncode == 0
    assert "hollow" not in (plain / "report.md").read_text()
    assert os.path.getsize(out / "fig3_speedup_vs_sparsity.png") != os.path.getsize(
        plain / "fig3_speedup_vs_sparsity.png")


@pytest.mark.parametrize("case", ["missing", "no_columns"])
def test_bad_published_file_exits_2_before_writing(case, paper_h5, tmp_path):
    bad = tmp_path / "pub.csv"
    if case == "no_columns":
        bad.write_text("# provenance\nfigure,sparsity\nfig3,0.4\n")
    out = tmp_path / "report"
    r = report(paper_h5, str(out), "--published", str(bad))
    assert r.returncode == 2
    lines = r.stderr.splitlines()
    assert len(lines) == 1 and lines[0].startswith(f"report.py: {bad}"), r.stderr
    assert not out.exists()


def test_surprises_explain_idle_hbm_a_schedule_beating_unlimited_and_no_gain():
    import report as rp
    df = pd.DataFrame({
        "hbm_reads": ["balanced", "resident"], "sparsity": [0.9, 0.5],
        "weight_bytes_per_layer": [1e6, 1e6], "layers": [2, 2], "decode_tokens": [10, 10],
        "kv_bytes_per_token_layer": [1e3, 1e3], "static_reads": [1000, 1000],
        "unlimited_hbm_hbm_hits": [0, 1000], "unlimited_hbm_reads": [1000, 1000],
        "unlimited_hbm_speedup_vs_static": [1.0, 1.1], "static_speedup_vs_static": [1.0, 1.0],
        "sa_guided_speedup_vs_static": [1.004, 1.2],
    })
    ctx = kvsweep_figures.Context(policies=["unlimited_hbm", "static", "sa_guided"], varying=["sparsity"])
    notes = rp.surprises(df, ctx)
    assert len(notes) == 3, notes
    assert notes[0].startswith("At 1 point even `unlimited_hbm` (all KV fits in HBM) reads only 0.0 % of its KV")
    assert "The weights, 95 % of the bytes read there" in notes[0]  # 2e7 / (2e7 + 1e6)
    assert notes[1].startswith("Faster than `unlimited_hbm`: `sa_guided` (up to 9.1 %, 1 point)")
    assert notes[2].startswith("At 1 point (sparsity 0.9) no schedule is even 1 % faster than `static`: there "
                               "the weights are 95 % of the bytes a step reads")
