#!/usr/bin/env bash
# kvsweep run --detail: every point gets its row and a per-step series for each policy that produced a
# schedule step by step, named by that policy -- fm_dual only where the Lagrangian bound ran -- in-process
# and under mpirun alike (the same bytes). Each series sums to its policy's total_time_s in the row, so a
# series filed under the wrong name fails. Issue 27 item 1: with fm_dual listed and no Lagrangian the run
# aborted after its first row ("terminate called without an active exception").
# Usage: bash run_detail.sh <path-to-kvsweep> <tests-dir>
# shellcheck source=lib/run_common.sh
source "$(dirname "$0")/lib/run_common.sh" "$@"

# check_detail FILE POINTS DUAL: POINTS ok rows, a detail group for each, every series summing to its
# policy's total; DUAL=yes: fm_dual has a series at every point, no: at none.
check_detail() {
  "$PY" - "$@" <<'PY'
import sys, h5py, numpy as np, pandas as pd
path, points, dual = sys.argv[1], int(sys.argv[2]), sys.argv[3] == "yes"
df = pd.read_hdf(path, "points")
assert len(df) == points and (df.status == "ok").all(), f"{path}: {len(df)} rows, statuses {set(df.status)}"
with h5py.File(path, "r") as f:
    groups = f["detail"]
    assert sorted(groups) == sorted(df.point_id), f"{path}: detail groups {sorted(groups)} vs rows {sorted(df.point_id)}"
    n = 0
    for _, row in df.iterrows():
        g = groups[row.point_id]
        names = sorted(k[: -len("_step_time_s")] for k in g)
        assert "static" in names and "oracle" not in names, names
        assert ("fm_dual" in names) == dual, f"{row.point_id}: fm_dual series present: {'fm_dual' in names}"
        for p in names:
            s = g[p + "_step_time_s"][:]
            assert len(s) == row.decode_tokens, (p, len(s))
            total = row[p + "_total_time_s"]
            assert abs(s.sum() - total) <= 1e-9 * total, f"{row.point_id} {p}: steps sum to {s.sum()}, row says {total}"
            n += 1
print(f"{path}: {points} points, {n} series, each summing to its policy's total")
PY
}

# 1. The issue's sweep: default policies (fm_dual without the Lagrangian), in-process and on 3 ranks.
run_kv inproc run "$RUNDATA/detail.yaml" -o "$WORK/in.h5" --detail -q
expect_rc inproc 0
grep -q "terminate" "$WORK/inproc.err" && { show "$WORK/inproc.err"; fail "inproc: terminate on stderr"; }
check_detail "$WORK/in.h5" 6 no
run_mpi mpi 3 run "$RUNDATA/detail.yaml" -o "$WORK/mpi.h5" --detail -q
expect_rc mpi 0
check_detail "$WORK/mpi.h5" 6 no
"$PY" - "$WORK/in.h5" "$WORK/mpi.h5" <<'PY'
import sys, h5py, numpy as np
with h5py.File(sys.argv[1], "r") as a, h5py.File(sys.argv[2], "r") as b:
    for pid in a["detail"]:
        assert sorted(a["detail"][pid]) == sorted(b["detail"][pid]), pid
        for s in a["detail"][pid]:
            assert np.array_equal(a["detail"][pid][s][:], b["detail"][pid][s][:]), (pid, s)
print("in-process and 3-rank detail identical")
PY

# 2. Where the Lagrangian runs, fm_dual's schedule has its own per-step times.
run_kv dual run "$RUNDATA/detail-dual.yaml" -o "$WORK/dual.h5" --detail -q
expect_rc dual 0
check_detail "$WORK/dual.h5" 2 yes
run_mpi dual-mpi 2 run "$RUNDATA/detail-dual.yaml" -o "$WORK/dual-mpi.h5" --detail -q
expect_rc dual-mpi 0
check_detail "$WORK/dual-mpi.h5" 2 yes
echo "PASS run_detail"
