#!/usr/bin/env bash
# kvsweep run gives the same numbers however it is run: in-process with 1 and 2 TBB threads, and under
# `mpirun -n 2` (one worker rank) and `mpirun -n 3` (two); also `mpirun -n 1` (MPI, but every point on
# rank 0). Every run exits 0 and writes exactly one ok row per point, and every column that does not
# depend on timing or placement is identical across the files after sorting by point_id.
# Usage: bash run_ranks.sh <path-to-kvsweep> <tests-dir>
# shellcheck source=lib/run_common.sh
source "$(dirname "$0")/lib/run_common.sh" "$@"
SWEEP=$RUNDATA/grid.yaml

run_kv t1 run "$SWEEP" -o "$WORK/t1.h5" --threads 1
expect_rc t1 0
# The first ETA, before any point is done, is the cost model's for these workers and threads.
grep -q "ETA ~[0-9]* s (estimate, 1 x 1 thread)" "$WORK/t1.err" || { show "$WORK/t1.err"; fail "no estimate for 1 x 1 thread"; }
run_kv t2 run "$SWEEP" -o "$WORK/t2.h5" --threads 2 -v
expect_rc t2 0
grep -q "to run in-process x 2 thread(s)" "$WORK/t2.err" || { show "$WORK/t2.err"; fail "-v did not say in-process x 2 threads"; }
run_mpi n2 2 run "$SWEEP" -o "$WORK/n2.h5" -v
expect_rc n2 0
grep -q "on 1 worker rank(s)" "$WORK/n2.err" || { show "$WORK/n2.err"; fail "mpirun -n 2: not 1 worker rank"; }
run_mpi n3 3 run "$SWEEP" -o "$WORK/n3.h5" -v
expect_rc n3 0
grep -q "on 2 worker rank(s)" "$WORK/n3.err" || { show "$WORK/n3.err"; fail "mpirun -n 3: not 2 worker ranks"; }
grep -q "(estimate, 2 x [0-9]* thread" "$WORK/n3.err" || { show "$WORK/n3.err"; fail "mpirun -n 3: estimate not for 2 workers"; }
run_mpi n1 1 run "$SWEEP" -o "$WORK/n1.h5" -q
expect_rc n1 0

for f in t1 t2 n1 n2 n3; do
  check_complete "$WORK/$f.h5" "$SWEEP" 12
done

# Where the rows were evaluated: rank 0 in-process and with one rank, only worker ranks (1, or 1 and 2)
# otherwise; the provenance says whether MPI was used.
"$PY" - "$WORK" <<'PY'
import sys, h5py, pandas as pd
w = sys.argv[1]
ranks = {f: set(pd.read_hdf(f"{w}/{f}.h5", "points")["worker_rank"]) for f in ("t1", "t2", "n1", "n2", "n3")}
assert ranks["t1"] == ranks["t2"] == ranks["n1"] == {0}, ranks
assert ranks["n2"] == {1}, ranks
assert ranks["n3"] <= {1, 2} and ranks["n3"], ranks
for f in ("t1", "n1", "n2"):
    with h5py.File(f"{w}/{f}.h5", "r") as h:
        mpi = h.attrs["mpi_version"]
        mpi = mpi.decode() if isinstance(mpi, bytes) else mpi
        assert ("none" in mpi) == (f == "t1"), (f, mpi)
        assert "end_time" in h.attrs, f
print("ranks:", {k: sorted(v) for k, v in ranks.items()})
PY

same_metrics "$WORK/t1.h5" "$WORK/t2.h5"
same_metrics "$WORK/t1.h5" "$WORK/n2.h5"
same_metrics "$WORK/t1.h5" "$WORK/n3.h5"
same_metrics "$WORK/t1.h5" "$WORK/n1.h5"
echo "PASS run_ranks"
