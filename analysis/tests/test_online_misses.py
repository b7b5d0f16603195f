"""analysis/online_misses.py on the real `kvsweep eval --misses --json` of two small points."""

import json
import os
import subprocess
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
SCRIPT = os.path.join(os.path.dirname(HERE), "online_misses.py")

POINTS = """
model: {name: tiny, layers: 3, kv_bytes_per_token_layer: 16384, weight_bytes_per_layer: 2.0e5}
hardware: paper-table1
hbm_capacity_ratio: 0.3
prompt_tokens: 300
decode_tokens: 40
variation: high
seed: 2
sparsity: [0.5, 0.8]
policies: [static, reactive_lru, lru_hot, ema, belady]
"""


def test_table_and_figure_from_eval_misses(kvsweep, tmp_path):
    yaml = tmp_path / "points.yaml"
    yaml.write_text(POINTS)
    ev = subprocess.run([kvsweep, "eval", "--misses", "--json", str(yaml)], capture_output=True, text=True, timeout=120)
    assert ev.returncode == 0, ev.stderr
    (tmp_path / "misses.json").write_text(ev.stdout)
    ex = subprocess.run([kvsweep, "expand", "--format", "json", str(yaml)], capture_output=True, text=True, timeout=60)
    assert ex.returncode == 0, ex.stderr
    (tmp_path / "points.json").write_text(ex.stdout)
    out = tmp_path / "out"
    run = subprocess.run([sys.executable, SCRIPT, str(tmp_path / "misses.json"), "--expand", str(tmp_path / "points.json"),
                          "-o", str(out)], capture_output=True, text=True, timeout=120)
    assert run.returncode == 0, run.stderr
    assert (out / "online_misses.png").stat().st_size > 0
    table = (out / "online_misses.md").read_text().splitlines()
    doc = json.loads(ev.stdout)
    for p in doc["points"]:
        best = p["best_online"]
        pol = p["policies"][best]
        reads = sum(pol["reads_by_reuse"].values())
        miss_rate = 100.0 * sum(pol["misses_by_reuse"].values()) / reads
        # the best online policy's row sums to its miss rate, which is 1 - its KV hit rate
        rows = [r for r in table if f" {best} (best online) |" in r and f"| {p['name'] or p['point_id']} |" in r]
        assert any(abs(float(r.split("|")[-2]) - miss_rate) < 0.051 for r in rows), (best, miss_rate, rows)
        assert abs(miss_rate - 100.0 * (1 - pol["kv_hit_rate"])) < 1e-6
    assert sum(" (reads) |" in r for r in table) == 2
    assert sum(" belady (offline) |" in r for r in table) == 2


def test_refuses_a_file_without_miss_profiles(kvsweep, tmp_path):
    bad = tmp_path / "plain.json"
    bad.write_text(json.dumps({"points": [{"point_id": "x", "best_online": "ema", "policies": {"ema": {}}}]}))
    run = subprocess.run([sys.executable, SCRIPT, str(bad), "-o", str(tmp_path)], capture_output=True, text=True, timeout=60)
    assert run.returncode == 2
    assert len(run.stderr.strip().splitlines()) == 1 and "--misses" in run.stderr
