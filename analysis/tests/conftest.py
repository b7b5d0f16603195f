"""Fixtures: results files made by the real kvsweep binary on the small sweeps in data/.

The binary is $KVSWEEP (CTest passes $<TARGET_FILE:kvsweep>), else build/src/kvsweep of this checkout.
Run: KVSWEEP=build/src/kvsweep /usr/bin/python3 -m pytest -q -p no:cacheprovider analysis/tests
"""

import os
import shutil
import subprocess
import sys

import pytest

HERE = os.path.dirname(os.path.abspath(__file__))
ANALYSIS = os.path.dirname(HERE)
DATA = os.path.join(HERE, "data")
REPORT = os.path.join(ANALYSIS, "report.py")
sys.path.insert(0, ANALYSIS)


@pytest.fixture(scope="session")
def kvsweep():
    path = os.environ.get("KVSWEEP") or os.path.join(os.path.dirname(ANALYSIS), "build", "src", "kvsweep")
    if not os.access(path, os.X_OK):
        pytest.fail(f"kvsweep binary not found at {path}: build it (bash scripts/build.sh) or set KVSWEEP")
    return path


def run_sweep(kvsweep, sweep, out, *flags, expect=0):
    """Runs `kvsweep run SWEEP -o OUT` in-process (no mpirun), checking its exit code."""
    proc = subprocess.run([kvsweep, "run", sweep, "-o", out, "-q", *flags], capture_output=True, text=True,
                          timeout=120)
    assert proc.returncode == expect, f"kvsweep run {sweep}: exit {proc.returncode}\n{proc.stderr}"
    return proc


@pytest.fixture(scope="session")
def grid_h5(kvsweep, tmp_path_factory):
    """data/grid.yaml: 72 points over model x sparsity x variation x HBM share x link, every policy."""
    out = str(tmp_path_factory.mktemp("grid") / "grid.h5")
    run_sweep(kvsweep, os.path.join(DATA, "grid.yaml"), out)
    return out


@pytest.fixture(scope="session")
def points_h5(kvsweep, tmp_path_factory):
    """data/points.yaml: 2 points differing in sparsity (no axes), no unlimited_hbm, no oracle; --detail."""
    out = str(tmp_path_factory.mktemp("points") / "points.h5")
    run_sweep(kvsweep, os.path.join(DATA, "points.yaml"), out, "--detail")
    return out


@pytest.fixture(scope="session")
def retry_h5(kvsweep, tmp_path_factory):
    """data/retry.yaml run, its flaky trace fixed, then resumed: 4 points, 6 rows (see the YAML)."""
    d = tmp_path_factory.mktemp("retry")
    shutil.copy(os.path.join(DATA, "retry.yaml"), d)
    shutil.copy(os.path.join(DATA, "corrupt_trace.csv"), d / "flaky_trace.csv")
    shutil.copy(os.path.join(DATA, "corrupt_trace.csv"), d / "broken_trace.csv")
    out = str(d / "retry.h5")
    run_sweep(kvsweep, str(d / "retry.yaml"), out, expect=1)
    shutil.copy(os.path.join(DATA, "good_trace.csv"), d / "flaky_trace.csv")
    run_sweep(kvsweep, str(d / "retry.yaml"), out, "--resume", expect=1)
    return out


def report(results, out_dir, *flags, cwd=None):
    """Runs analysis/report.py as a user would: /usr/bin/python3 and the script's path."""
    return subprocess.run(["/usr/bin/python3", REPORT, results, "-o", out_dir, *flags], capture_output=True,
                          text=True, timeout=120, cwd=cwd)
