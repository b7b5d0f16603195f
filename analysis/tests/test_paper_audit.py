"""analysis/paper_audit.py: verdicts from the published latencies and kvsweep's bounds, run as a user runs
it, with a stand-in for `kvsweep eval --json` whose bounds the test chooses (the real evaluation takes a
minute at the paper's scale; docs/paper.md "The paper, audited" shows its output)."""

import json
import os
import stat
import subprocess

import pandas as pd

from conftest import ANALYSIS

AUDIT = os.path.join(ANALYSIS, "paper_audit.py")

# Per sparsity: (unlimited_hbm, bandwidth_split, free_migration). 40 %: a bound above the published SA
# (40.305 s); 80 %: a bandwidth bound above the published best (16.887 s); elsewhere below both.
BOUNDS = {0.4: (31.9, 31.9, 62.87), 0.5: (28.25, 28.25, 31.5), 0.6: (24.6, 24.6, 24.6),
          0.8: (17.287, 17.286, 17.0), 0.85: (14.8, 14.8, 14.0), 0.9: (13.4, 13.4, 13.0)}


def fake_kvsweep(tmp_path):
    points = [{"policies": {"unlimited_hbm": {"total_time_s": u}}, "hbm_kv_capacity_entries": 530765,
               "bounds": {"bandwidth_split_s": b, "free_migration_s": f}} for u, b, f in BOUNDS.values()]
    path = tmp_path / "kvsweep"
    path.write_text("#!/bin/sh\n[ \"$1\" = eval ] && [ \"$3\" = --json ] || exit 9\n"
                    f"cat <<'JSON'\n{json.dumps({'points': points})}\nJSON\n")
    path.chmod(path.stat().st_mode | stat.S_IEXEC)
    return str(path)


def test_verdicts_table_and_csv(tmp_path):
    csv = tmp_path / "audit.csv"
    r = subprocess.run(["/usr/bin/python3", AUDIT, "--kvsweep", fake_kvsweep(tmp_path), "--csv", str(csv)],
                       capture_output=True, text=True, timeout=60)
    assert r.returncode == 0, r.stderr
    t = pd.read_csv(csv)
    verdict = dict(zip(t.sparsity, zip(t.sa_verdict, t.best_verdict, t.bound_kind)))
    assert verdict[0.4] == ("impossible", "consistent", "free_migration")
    assert verdict[0.8] == ("consistent", "impossible", "bandwidth_split")
    assert verdict[0.6][:2] == ("consistent", "consistent")
    row = t[t.sparsity == 0.4].iloc[0]
    assert abs(row.max_speedup_over_static - 189.69611276 / 62.87) < 1e-9
    assert "| 40 % | 189.696 | 31.905 | 40.305 |" in r.stdout
    assert "impossible" in r.stdout and "the paper claims up to 5.87x" in r.stdout


def test_missing_binary_exits_2(tmp_path):
    r = subprocess.run(["/usr/bin/python3", AUDIT, "--kvsweep", str(tmp_path / "nope")], capture_output=True,
                       text=True, timeout=60)
    assert r.returncode == 2 and len(r.stderr.splitlines()) == 1 and "--kvsweep" in r.stderr


def test_calibration_targets_follow_from_the_published_static():
    """The shares tests/unit/trace/synthetic_test.cpp pins the generator to, derived from the published
    static latencies by analysis/calibrate_profile.py's formula."""
    import sys
    sys.path.insert(0, ANALYSIS)
    import calibrate_profile as cp
    pub = pd.read_csv(os.path.join(ANALYSIS, "data", "paper_published.csv"), comment="#")
    fig3 = pub[pub.figure == "fig3"]
    got = [cp.target_share(t, s) for s, t in zip(fig3.sparsity, fig3.static)]
    for g, want in zip(got, [0.27237, 0.23225, 0.19445, 0.12381, 0.10729, 0.09072]):
        assert abs(g - want) < 2e-5, (g, want)
