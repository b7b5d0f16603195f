"""kvsweep_results: load / load_meta / load_detail on files written by the real kvsweep binary."""

import json
import os
import re
import signal
import subprocess
import time

import h5py
import numpy as np
import pandas as pd
import pytest

import kvsweep_results as kr
from conftest import DATA, report, run_sweep

GRID_POLICIES = ["unlimited_hbm", "static", "reactive_lru", "page", "streaming", "h2o", "belady", "sa_guided",
                 "oracle"]


def sweep_hash(text):
    """kvsweep's sweep hash (core/hash.hpp): FNV-1a 64 over the bytes, then splitmix64, 16 hex digits."""
    m = (1 << 64) - 1
    h = 0xcbf29ce484222325
    for b in text.encode():
        h = ((h ^ b) * 0x100000001b3) & m
    h = (h + 0x9e3779b97f4a7c15) & m
    h = ((h ^ (h >> 30)) * 0xbf58476d1ce4e5b9) & m
    h = ((h ^ (h >> 27)) * 0x94d049bb133111eb) & m
    return f"{h ^ (h >> 31):016x}"


def test_one_row_per_point_with_the_ids_expand_gives(grid_h5, kvsweep):
    df = kr.load(grid_h5)
    expand = subprocess.run([kvsweep, "expand", os.path.join(DATA, "grid.yaml"), "--format", "json"],
                            capture_output=True, text=True, check=True)
    ids = [p["point_id"] for p in json.loads(expand.stdout)["points"]]
    assert len(df) == len(ids) == 72
    assert sorted(df.point_id) == sorted(ids)
    assert (df.status == "ok").all() and (df.attempt == 1).all()


def test_best_schedule_and_certified_gap(grid_h5):
    """best_schedule is the fastest capacity-respecting policy, best_gap its time over the larger bound."""
    df = kr.load(grid_h5)
    times = df[[c for c in df.columns if c.endswith("_total_time_s") and not c.startswith("unlimited_hbm")]]
    assert (df.best_time_s == times.min(axis=1)).all()
    for _, r in df.iterrows():
        assert r[f"{r.best_schedule}_total_time_s"] == r.best_time_s
        bounds = {"bandwidth_split": r.bandwidth_split_s, "free_migration": r.free_migration_s,
                  "lagrangian": r.lagrangian_s}
        assert r.lower_bound_s == bounds[r.lower_bound_kind] == np.nanmax(list(bounds.values()))
        # The Lagrangian bound is computed exactly where the baselines' gap without it was above the threshold.
        baselines = [c for c in times.columns if c.split("_total_time_s")[0] not in ("fm_dual", "oracle", "exact")]
        gap_without = r[baselines].min() / max(r.bandwidth_split_s, r.free_migration_s) - 1
        assert np.isnan(r.lagrangian_s) == (gap_without <= r.oracle_lagrangian_gap)
    assert np.allclose(df.best_gap, df.best_time_s / df.lower_bound_s - 1)
    assert (df.best_gap >= -1e-12).all() and (df.best_gap <= df.gap_to_bound + 1e-12).all()


def test_dtypes_and_decoded_strings(grid_h5):
    df = kr.load(grid_h5)
    assert df.in_sweep.dtype == bool and df.in_sweep.all()  # added by load(): every point is in the sweep
    df = df.drop(columns="in_sweep")
    assert set(df.dtypes.astype(str)) == {"float64", "int64", "object"}
    for c in df.columns[df.dtypes == object]:
        assert all(type(v) is str for v in df[c]), c  # decoded, never bytes
    for c in ["sparsity", "hbm_capacity_ratio", "link_read_gbps", "oracle_total_time_s", "gap_to_bound"]:
        assert df[c].dtype == np.float64, c
    for c in ["prompt_tokens", "decode_tokens", "layers", "attempt", "worker_rank", "seed"]:
        assert df[c].dtype == np.int64, c
    assert df.point_id.str.fullmatch(r"[0-9a-f]{16}").all()  # no NUL padding left
    assert set(df.model) == {"tiny-kv4", "tiny-kv2"}
    assert set(df.variation) == {"low", "actual", "high"}
    assert set(df.error) == {""}
    assert sorted(df.sparsity.unique()) == [0.5, 0.6, 0.8]
    assert df.oracle_total_time_s.notna().all() and df.sa_guided_total_time_s.notna().all()


def test_utf8_text_is_decoded(kvsweep, tmp_path):
    with open(os.path.join(DATA, "points.yaml"), encoding="utf-8") as f:
        text = f.read().replace("name: tiny-kv4", 'name: "tiny-Ωé"')
    sweep = tmp_path / "utf8.yaml"
    sweep.write_text(text, encoding="utf-8")
    out = str(tmp_path / "utf8.h5")
    run_sweep(kvsweep, str(sweep), out)
    assert set(kr.load(out).model) == {"tiny-Ωé"}
    assert kr.load_meta(out)["sweep_yaml"] == text


def test_pandas_read_hdf_reads_the_same_table(grid_h5):
    # The one-call path of README.md "Loading results" and docs/results.md "One call": PyTables reads
    # the fixed-length strings as str.
    pd.testing.assert_frame_equal(pd.read_hdf(grid_h5, "points"),
                                  kr.load(grid_h5, all_attempts=True).drop(columns="in_sweep"))


def test_load_while_this_process_has_the_file_open(grid_h5):
    with h5py.File(grid_h5, "r"):  # with HDF5's lock: a second open must use the same locking
        assert len(kr.load(grid_h5)) == 72 and kr.load_meta(grid_h5)["format"] == "kvsweep-results"


def test_latest_attempt_wins(retry_h5):
    rows = kr.load(retry_h5, all_attempts=True)
    df = kr.load(retry_h5)
    assert len(rows) == 6 and len(df) == 4
    assert df.point_id.is_unique
    pd.testing.assert_frame_equal(df, rows.drop_duplicates("point_id", keep="last").reset_index(drop=True))
    by_trace = df.set_index(df.trace.map(os.path.basename))
    flaky, broken = by_trace.loc["flaky_trace.csv"], by_trace.loc["broken_trace.csv"]
    assert (flaky.status, flaky.attempt, flaky.error) == ("ok", 2, "")
    assert flaky.static_total_time_s > 0
    assert (broken.status, broken.attempt) == ("failed", 2)
    assert "appears more than once" in broken.error and np.isnan(broken.static_total_time_s)
    first = rows[(rows.point_id == flaky.point_id) & (rows.attempt == 1)].iloc[0]
    assert first.status == "failed"
    assert (df[df.trace == "synthetic"].attempt == 1).all()


def test_load_meta(grid_h5):
    meta = kr.load_meta(grid_h5)
    with open(os.path.join(DATA, "grid.yaml"), encoding="utf-8") as f:
        text = f.read()
    assert meta["format"] == "kvsweep-results"
    assert meta["schema_version"] == kr.SCHEMA_VERSION and type(meta["schema_version"]) is int
    assert meta["sweep_yaml"] == text
    assert meta["sweep_hash"] == sweep_hash(text)
    assert meta["axis_names"] == ["model", "sparsity", "variation", "hbm_capacity_ratio", "link_read_gbps",
                                  "link_write_gbps"]
    assert meta["policies"] == GRID_POLICIES
    iso = r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ"
    assert re.fullmatch(iso, meta["start_time"]) and re.fullmatch(iso, meta["end_time"])
    for key in ["kvsweep_version", "git_sha", "hdf5_version", "host", "tbb_version", "yaml_cpp_version",
                "mpi_version"]:
        assert isinstance(meta[key], str) and meta[key], key
    assert kr.policies(kr.load(grid_h5), meta) == GRID_POLICIES


def test_long_sweep_text_is_read_from_its_dataset(kvsweep, tmp_path):
    with open(os.path.join(DATA, "points.yaml"), encoding="utf-8") as f:
        text = f.read() + "".join(f"# padding line {i:05d} to make the sweep text longer than 60000 bytes\n"
                                  for i in range(1000))
    sweep = tmp_path / "long.yaml"
    sweep.write_text(text, encoding="utf-8")
    out = str(tmp_path / "long.h5")
    run_sweep(kvsweep, str(sweep), out)
    with h5py.File(out, "r") as f:
        assert f.attrs["sweep_yaml"].decode() == f"{len(text)} bytes, in dataset /sweep_yaml"
    meta = kr.load_meta(out)
    assert meta["sweep_yaml"] == text and meta["sweep_hash"] == sweep_hash(text)


def test_points_entries_vary_without_axes(points_h5):
    meta = kr.load_meta(points_h5)
    df = kr.load(points_h5)
    assert meta["axis_names"] == [] and meta["policies"] == ["static", "reactive_lru", "belady"]
    assert kr.varying_parameters(df, meta) == ["sparsity"]
    assert kr.policies(df, meta) == ["static", "reactive_lru", "belady"]
    assert "oracle_total_time_s" not in df and df.gap_to_bound.isna().all()  # no oracle block, gap n/a


def test_load_detail(points_h5):
    df = kr.load(points_h5)
    for _, row in df.iterrows():
        steps = kr.load_detail(points_h5, row.point_id)
        assert list(steps.columns) == ["static", "reactive_lru", "belady"]
        assert len(steps) == row.decode_tokens == 32 and steps.index.name == "step"
        for p in steps.columns:
            assert steps[p].sum() == pytest.approx(row[f"{p}_total_time_s"], rel=1e-9)
    with pytest.raises(kr.ResultsFileError, match=re.escape(points_h5) + ": no per-step detail"):
        kr.load_detail(points_h5, "0123456789abcdef")


def test_load_while_a_run_writes_the_file(kvsweep, tmp_path):
    out = str(tmp_path / "live.h5")
    cmd = [kvsweep, "run", os.path.join(DATA, "live.yaml"), "-o", out, "-q", "--grace", "5"]
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    try:
        deadline, df = time.monotonic() + 60, None
        while time.monotonic() < deadline:
            try:
                df = kr.load(out)
                if len(df):
                    break
            except kr.ResultsFileError:
                pass  # not created yet, or its attributes not yet written
            time.sleep(0.02)
        assert proc.poll() is None, "the run ended before a row could be read while it ran"
        assert df is not None and 1 <= len(df) < 16
        assert (df.status == "ok").all() and df.point_id.str.fullmatch(r"[0-9a-f]{16}").all()
        assert kr.load_meta(out)["end_time"] is None
        if os.environ.get("HDF5_USE_FILE_LOCKING", "").upper() != "FALSE":
            with pytest.raises(OSError):  # the writer holds HDF5's lock: a plain open fails
                h5py.File(out, "r")
        r = report(out, str(tmp_path / "live-report"), "-q")
        assert r.returncode == 0, r.stderr
        assert "**not completed**" in (tmp_path / "live-report" / "report.md").read_text()
    finally:
        proc.send_signal(signal.SIGTERM)
        _, err = proc.communicate(timeout=60)
    assert proc.returncode in (0, 3), err  # 3: stopped by the signal
    after = kr.load(out)
    assert len(after) >= len(df) and set(df.point_id) <= set(after.point_id)


def one_line_error(call, path):
    with pytest.raises(kr.ResultsFileError) as e:
        call(path)
    msg = str(e.value)
    assert "\n" not in msg and msg.startswith(str(path) + ": ")
    return msg


def test_errors_name_the_file(tmp_path, kvsweep):
    missing = tmp_path / "missing.h5"
    assert one_line_error(kr.load, missing).endswith("no such file")
    text = tmp_path / "notes.h5"
    text.write_text("not hdf5\n")
    assert "not an HDF5 file" in one_line_error(kr.load, text)
    assert "is a directory" in one_line_error(kr.load_meta, tmp_path)
    foreign = tmp_path / "foreign.h5"
    with h5py.File(foreign, "w") as f:
        f["points"] = np.zeros(3)
    assert "not a kvsweep results file (it has no format attribute" in one_line_error(kr.load, foreign)
    trace = tmp_path / "trace.h5"
    subprocess.run([kvsweep, "trace", "convert", os.path.join(DATA, "good_trace.csv"), str(trace)],
                   check=True, capture_output=True)
    assert "its format attribute is 'kvsweep-trace'" in one_line_error(kr.load_meta, trace)
    table_less = tmp_path / "tableless.h5"
    with h5py.File(table_less, "w") as f:
        f.attrs["format"] = "kvsweep-results"
    assert "without its /points table" in one_line_error(kr.load, table_less)
