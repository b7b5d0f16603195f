#!/usr/bin/python3
"""Compares two `kvsweep eval --json` documents field by field: every field of EXPECTED must be in ACTUAL
with an equal value (NaN equals NaN; fields ACTUAL adds, such as a new column, are not differences),
except the fields that measure this run rather than the point (timings, the oracle's best-vs-time
curve, versions, the file a point came from).

usage: eval_json_diff.py EXPECTED.json ACTUAL.json     exit 0 if equal, 1 with the differences listed
As a module: differences(expected, actual) -> list of "path: expected vs actual" lines.
"""
import json
import math
import re
import sys

# A path (".points[0].policies.oracle.cpu_s") matching this measures the run, not the point.
VOLATILE = re.compile(
    r"(^|\.)(cpu_s|wall_s|trace_s|elapsed_s|source|kvsweep_version|git\w*)$"
    r"|\.best_vs_time(\.|\[|$)|_wall_s$|seconds_per|time_unix")


def differences(expected, actual, where=""):
    out = []
    if VOLATILE.search(where):
        return out
    if isinstance(expected, dict) and isinstance(actual, dict):
        for k in expected:
            if k not in actual:
                if not VOLATILE.search(f"{where}.{k}"):
                    out.append(f"{where}.{k}: missing")
                continue
            out += differences(expected[k], actual[k], f"{where}.{k}")
    elif isinstance(expected, list) and isinstance(actual, list):
        if len(expected) != len(actual):
            return [f"{where}: {len(expected)} elements vs {len(actual)}"]
        for i, (e, a) in enumerate(zip(expected, actual)):
            out += differences(e, a, f"{where}[{i}]")
    elif isinstance(expected, float) and isinstance(actual, float) and math.isnan(expected) and math.isnan(actual):
        pass
    elif type(expected) is not type(actual) and not (
            isinstance(expected, (int, float)) and isinstance(actual, (int, float))
            and not isinstance(expected, bool) and not isinstance(actual, bool)):
        out.append(f"{where}: {expected!r} vs {actual!r} (types differ)")
    elif expected != actual:
        out.append(f"{where}: {expected!r} vs {actual!r}")
    return out


def load(path):
    with open(path) as f:
        return json.load(f)


def main(argv):
    if len(argv) != 3:
        print(__doc__.strip().splitlines()[2], file=sys.stderr)
        return 2
    diffs = differences(load(argv[1]), load(argv[2]))
    for d in diffs[:40]:
        print(d)
    if len(diffs) > 40:
        print(f"... and {len(diffs) - 40} more")
    return 1 if diffs else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
