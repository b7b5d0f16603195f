#!/usr/bin/python3
"""Sweep-engine throughput, side by side in one run: in-process, 1 worker rank (mpirun -n 2) and 2 worker
ranks (mpirun -n 3) on the same sweep, alternating, N rounds. Prints each run's wall time, the time
spent outside the points (startup, planning, messages, HDF5 writes: wall minus the busiest rank's time
inside points) per point, and the 2-vs-1-worker speedup. Then the master's overhead per point on 400
points of ~1 ms (baselines only, tiny shape), where the fixed startup is amortised.

Usage (after scripts/build.sh): /usr/bin/python3 scripts/bench-sweep.py [SWEEP.yaml] [--rounds N]
"""
import argparse
import os
import subprocess
import sys
import tempfile
import time

import h5py

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
KV = os.path.join(ROOT, "build", "src", "kvsweep")
# Open MPI as root; --bind-to none, else a lone worker rank is pinned to one core.
MPIRUN = ["mpirun", "--oversubscribe", "--bind-to", "none"]
ENV = dict(os.environ, OMPI_ALLOW_RUN_AS_ROOT="1", OMPI_ALLOW_RUN_AS_ROOT_CONFIRM="1",
           HDF5_USE_FILE_LOCKING="FALSE")


# 400 points of about a millisecond each: 20 capacities x 20 sparsities, baselines only.
TINY_SWEEP = """
model: {name: tiny, layers: 2, kv_bytes_per_token_layer: 16384, weight_bytes_per_layer: 1.0e6}
hardware: gh200-measured
prompt_tokens: 256
decode_tokens: 16
hbm_capacity_ratio: [0.05, 0.1, 0.15, 0.2, 0.25, 0.3, 0.35, 0.4, 0.45, 0.5, 0.55, 0.6, 0.65, 0.7, 0.75, 0.8, 0.85, 0.9, 0.92, 0.95]
sparsity: [0.05, 0.1, 0.15, 0.2, 0.25, 0.3, 0.35, 0.4, 0.45, 0.5, 0.55, 0.6, 0.65, 0.7, 0.75, 0.8, 0.85, 0.9, 0.92, 0.95]
seed: 1
variation: actual
policies: [static, reactive_lru, belady]
"""


def run(mode, sweep, out):
    cmd = [KV, "run", sweep, "-o", out, "-q"]
    if mode != "in-process":
        cmd = MPIRUN + ["-n", mode[-1]] + cmd
    t0 = time.perf_counter()
    subprocess.run(cmd, env=ENV, check=True, stdout=subprocess.DEVNULL)
    wall = time.perf_counter() - t0
    with h5py.File(out, "r") as f:
        rows = f["points"][:]
    # Busiest rank's time inside points: the rest of the wall is startup, planning, messages, writes.
    per_rank = {}
    for r in rows:
        per_rank[int(r["worker_rank"])] = per_rank.get(int(r["worker_rank"]), 0.0) + float(r["wall_s"])
    return wall, len(rows), max(per_rank.values())


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("sweep", nargs="?", default=os.path.join(ROOT, "sweeps", "quick.yaml"))
    ap.add_argument("--rounds", type=int, default=2)
    args = ap.parse_args()
    modes = ["in-process", "mpirun -n 2", "mpirun -n 3"]
    walls = {m: [] for m in modes}
    with tempfile.TemporaryDirectory() as work:
        for k in range(args.rounds):
            for m in modes:
                out = os.path.join(work, f"{m.replace(' ', '')}-{k}.h5")
                wall, n, inside = run(m, args.sweep, out)
                walls[m].append(wall)
                print(f"{m:12s} round {k + 1}: {wall:6.2f} s wall, {n} points, busiest rank {inside:6.2f} s "
                      f"inside points, {(wall - inside) * 1e3 / n:6.1f} ms per point outside them", flush=True)
        tiny = os.path.join(work, "tiny.yaml")
        with open(tiny, "w") as f:
            f.write(TINY_SWEEP)
        for m in modes:
            wall, n, inside = run(m, tiny, os.path.join(work, f"tiny-{m.replace(' ', '')}.h5"))
            print(f"{m:12s} {n} tiny points: {wall:6.2f} s wall, busiest rank {inside:5.2f} s inside points, "
                  f"{(wall - inside) * 1e3 / n:5.2f} ms per point outside them", flush=True)
    mean = {m: sum(v) / len(v) for m, v in walls.items()}
    print("means: " + ", ".join(f"{m} {mean[m]:.2f} s" for m in modes))
    print(f"2 worker ranks vs 1: {mean['mpirun -n 2'] / mean['mpirun -n 3']:.2f}x faster")


if __name__ == "__main__":
    sys.exit(main())
