#!/usr/bin/python3
"""Sweep-engine time with many `exclude:` rules: writes sweeps of 99,000 points (30 prompt lengths x 10
decode lengths x 30 HBM shares x 11 sparsities) with 0, 50 and 2,000 random exclude rules, and times
`kvsweep validate` and `kvsweep expand --format csv` on each, for every binary given (side by side,
alternating; wall and CPU seconds, best of N rounds). Rules name 3 or 4 of the 4 axes, with one value or
a list of 2, spelled as a sweep author might (0.5 and 5e-1 alike), each leaving out a small share of the
points. The binaries must agree on every point (the output of both commands compared byte for byte).

Usage: /usr/bin/python3 scripts/bench-exclude.py [KVSWEEP ...] [--rules 0,50,2000] [--rounds N] [--keep DIR]
       (default binary: ./build/src/kvsweep)
"""
import argparse
import hashlib
import os
import random
import resource
import subprocess
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

AXES = {
    "prompt_tokens": [1000 * (i + 1) for i in range(30)],
    "decode_tokens": [100 * (i + 1) for i in range(10)],
    "hbm_capacity_ratio": [round(0.03 * (i + 1), 2) for i in range(30)],
    "sparsity": [round(0.05 + 0.08 * i, 2) for i in range(11)],
}


def spell(v, rng):
    """The value as a sweep author might write it: 0.5, 0.50 or 5e-1 all mean 0.5."""
    if isinstance(v, float) and rng.random() < 0.3:
        return "%.3e" % v if rng.random() < 0.5 else "%.4f" % v
    return str(v)


def sweep_text(rules, seed):
    rng = random.Random(seed)
    lines = ["# %d points, %d exclude rules (scripts/bench-exclude.py)" % (
        len(AXES["prompt_tokens"]) * len(AXES["decode_tokens"]) * len(AXES["hbm_capacity_ratio"]) *
        len(AXES["sparsity"]), rules),
        "model: llama-3.1-8b", "hardware: gh200-measured", "policies: [static, belady]"]
    for name, values in AXES.items():
        lines.append("%s: [%s]" % (name, ", ".join(str(v) for v in values)))
    if rules:
        lines.append("exclude:")
    names = list(AXES)
    for _ in range(rules):
        # All 4 axes or 3 of them, mostly one value each: a rule drops 0.001-0.1 % of the points, 2,000
        # of them about a tenth (fewer axes would drop whole slices).
        keys = rng.sample(names, rng.choice([3, 4, 4, 4, 4]))
        pairs = []
        for k in keys:
            values = rng.sample(AXES[k], rng.choice([1, 1, 1, 2]))
            if len(values) == 1:
                pairs.append("%s: %s" % (k, spell(values[0], rng)))
            else:
                pairs.append("%s: [%s]" % (k, ", ".join(spell(v, rng) for v in values)))
        lines.append("  - {%s}" % ", ".join(pairs))
    return "\n".join(lines) + "\n"


def timed(cmd):
    """Wall and CPU (user + system) seconds of one run, and its stdout."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    t0 = time.perf_counter()
    r = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    wall = time.perf_counter() - t0
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if r.returncode != 0:
        sys.exit("%s failed (exit %d): %s" % (" ".join(cmd), r.returncode, r.stderr[-2000:]))
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return wall, cpu, r.stdout


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("kvsweep", nargs="*", default=[os.path.join(ROOT, "build", "src", "kvsweep")])
    ap.add_argument("--rules", default="0,50,2000", help="comma-separated rule counts")
    ap.add_argument("--rounds", type=int, default=2)
    ap.add_argument("--keep", help="write the sweep files here instead of a temporary directory")
    args = ap.parse_args()
    counts = [int(x) for x in args.rules.split(",")]
    work = args.keep or tempfile.mkdtemp(prefix="kvsweep-bench-exclude-")
    os.makedirs(work, exist_ok=True)
    files = {}
    for n in counts:
        files[n] = os.path.join(work, "exclude-%d.yaml" % n)
        with open(files[n], "w") as f:
            f.write(sweep_text(n, seed=n + 1))
    print("%-9s %6s  %-40s %9s %9s %9s %8s" % ("command", "rules", "binary", "wall s", "worst s", "CPU s",
                                                  "points"))
    for n in counts:
        for command in ("validate", "expand"):
            best = {k: float("inf") for k in args.kvsweep}
            worst = {k: 0.0 for k in args.kvsweep}
            cpu = {k: float("inf") for k in args.kvsweep}
            points, digest = {}, {}
            for _ in range(args.rounds):
                for k in args.kvsweep:  # alternate: a loaded machine slows both alike
                    cmd = [k, command, files[n]] + (["--format", "csv"] if command == "expand" else [])
                    wall, used, out = timed(cmd)
                    best[k] = min(best[k], wall)
                    worst[k] = max(worst[k], wall)
                    cpu[k] = min(cpu[k], used)
                    points[k] = (out.split()[1] if command == "validate" else
                                 str(max(0, out.count("\n") - 1)))
                    digest[k] = hashlib.sha1(out.encode()).hexdigest()
            if len(set(points.values())) > 1 or len(set(digest.values())) > 1:
                sys.exit("the binaries disagree on the points of %s: %s" % (files[n], points))
            for k in args.kvsweep:
                print("%-9s %6d  %-40s %9.2f %9.2f %9.2f %8s" % (command, n, k[-40:], best[k], worst[k], cpu[k],
                                                               points[k]))
            sys.stdout.flush()
    if not args.keep:
        for f in files.values():
            os.remove(f)
        os.rmdir(work)


if __name__ == "__main__":
    main()
