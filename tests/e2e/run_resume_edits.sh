#!/usr/bin/env bash
# --resume after editing the sweep file (docs/running.md "Which edits resume"): a file is tied to what it
# computes, not to the sweep's text.
#   - comments and `name:` labels: resumes, nothing to run;
#   - a value added to an axis, a scalar key turned into an axis: only the new points run, same file;
#   - values removed: their rows stay, and kvsweep_results.load() marks them in_sweep=False;
#   - policies, an oracle budget or the seed changed for points the file holds: refused (exit 2, the file
#     byte for byte unchanged) with a message naming the change and the ways out;
#   - under mpirun, new points of a sweep with fewer policies than the file's columns are written in the
#     file's layout.
# Usage: bash run_resume_edits.sh <path-to-kvsweep> <tests-dir>
# shellcheck source=lib/run_common.sh
source "$(dirname "$0")/lib/run_common.sh" "$@"
SWEEP=$RUNDATA/grid.yaml  # 12 points, seed 3, all policies but exact
OUT=$WORK/out.h5

# edit NAME SED...: $WORK/NAME.yaml, grid.yaml edited by sed, and different from it.
edit() {
  local name=$1
  shift
  sed "$@" "$SWEEP" >"$WORK/$name.yaml"
  cmp -s "$SWEEP" "$WORK/$name.yaml" && fail "$name: the sed expression changed nothing"
  return 0
}
# says NAME TEXT: stderr of the last run holds TEXT.
says() { grep -qF -- "$2" "$WORK/$1.err" || { show "$WORK/$1.err"; fail "$1: stderr lacks '$2'"; }; }
# refused NAME TEXT: exit 2, TEXT on stderr, $OUT unchanged.
refused() {
  expect_rc "$1" 2
  says "$1" "$2"
  cmp -s "$OUT" "$WORK/before.h5" || fail "$1: $OUT was modified by a refused resume"
  note "$1: refused, file untouched"
}
# in_sweep FILE: "<rows> <in_sweep rows> <in_sweep_only rows>" from kvsweep_results.load().
in_sweep() {
  PYTHONPATH=$TESTS/../analysis "$PY" - "$1" <<'PY'
import sys, kvsweep_results as kr
df = kr.load(sys.argv[1])
print(len(df), int(df.in_sweep.sum()), len(kr.load(sys.argv[1], in_sweep_only=True)))
PY
}

run_kv first run "$SWEEP" -o "$OUT" -q
expect_rc first 0
[[ $(rows "$OUT") -eq 12 ]] || fail "first: expected 12 rows"

# 1. Comments and labels: resumes, runs nothing.
edit comments -e '1i # a comment added at the top' -e 's/^seed: 3$/seed: 3  # same seed/' -e '$a name: renamed'
run_kv comments run "$WORK/comments.yaml" -o "$OUT" --resume -q
expect_rc comments 0
says comments "resuming $OUT: 12 of 12 points finished before, 0 new to the file"
[[ $(rows "$OUT") -eq 12 ]] || fail "comments: rows were added"

# 2. A value added to an axis: the 4 new points run into the same file.
edit widened -e 's/^hbm_capacity_ratio: \[0.1, 0.25, 0.5\]$/hbm_capacity_ratio: [0.1, 0.25, 0.5, 0.75]/'
save_rows "$OUT" "$WORK/widened.rows"
run_kv widened run "$WORK/widened.yaml" -o "$OUT" --resume -q
expect_rc widened 0
says widened "12 of 16 points finished before, 4 new to the file"
check_complete "$OUT" "$WORK/widened.yaml" 16
check_prefix "$OUT" "$WORK/widened.rows"

# 3. Values removed: nothing runs, the rows stay, load() tells them apart.
edit narrowed -e 's/^sparsity: \[0.5, 0.8\]$/sparsity: [0.5]/' -e 's/^hbm_capacity_ratio: .*$/hbm_capacity_ratio: [0.1, 0.25, 0.5, 0.75]/'
run_kv narrowed run "$WORK/narrowed.yaml" -o "$OUT" --resume -q
expect_rc narrowed 0
says narrowed "8 of 8 points finished before, 0 new to the file; 8 point(s) in the file are no longer in the sweep"
[[ $(rows "$OUT") -eq 16 ]] || fail "narrowed: rows were added or lost"
read -r all kept only < <(in_sweep "$OUT")
[[ $all -eq 16 && $kept -eq 8 && $only -eq 8 ]] || fail "narrowed: load() gave $all rows, $kept in_sweep, in_sweep_only $only; expected 16, 8, 8"
note "narrowed: load() has 16 points, 8 in the sweep"

# 4. A scalar key turned into an axis: the new hardware's 8 points run; axis_names grows.
cat "$WORK/narrowed.yaml" >"$WORK/hw.yaml"
sed -i 's/^hardware: gh200-measured$/hardware: [gh200-measured, gh200-spec]/' "$WORK/hw.yaml"
run_kv hw run "$WORK/hw.yaml" -o "$OUT" --resume -q
expect_rc hw 0
says hw "8 of 16 points finished before, 8 new to the file; 8 point(s) in the file are no longer in the sweep"
check_complete_subset() {  # every point of the sweep has an ok latest row (rows of other points allowed)
  point_ids "$2" >"$WORK/ids.txt"
  HDF5_USE_FILE_LOCKING=FALSE "$PY" - "$1" "$WORK/ids.txt" <<'PY'
import sys, h5py, pandas as pd
ids = open(sys.argv[2]).read().split()
df = pd.read_hdf(sys.argv[1], "points").drop_duplicates("point_id", keep="last").set_index("point_id")
assert all(i in df.index and df.status[i] == "ok" for i in ids), "a point of the sweep lacks an ok row"
with h5py.File(sys.argv[1], "r") as f:
    axes = f.attrs["axis_names"]
    axes = axes.decode() if isinstance(axes, bytes) else axes
assert axes.split(",") == ["prompt_tokens", "decode_tokens", "sparsity", "hbm_capacity_ratio", "hardware"], axes
PY
}
check_complete_subset "$OUT" "$WORK/hw.yaml"
cp "$OUT" "$WORK/before.h5"

# 5. Changes to the results of points in the file: refused, untouched.
edit policies -e '$a policies: [static, belady]'
run_kv policies run "$WORK/policies.yaml" -o "$OUT" --resume -q
refused policies "the sweep changes the results of points this file holds: policies [unlimited_hbm,static,reactive_lru,page,streaming,h2o,lru_hot,ema,arc,history,bandit,belady,sa_guided,fm_tracking,fm_dual,oracle] in the file, [static,belady] in the sweep"
says policies "restore those settings to resume, write to a new file (-o NEW.h5), or --force to start over"
edit exact -e '$a policies: [unlimited_hbm, static, reactive_lru, page, streaming, h2o, belady, sa_guided, fm_tracking, fm_dual, oracle, exact]'
run_kv exact run "$WORK/exact.yaml" -o "$OUT" --resume -q
refused exact "the sweep now lists policy exact, which this file has no columns for"
edit budget -e 's/^oracle: {moves: 2.0e5, sa_rounds: 2}$/oracle: {moves: 2.0e5, sa_rounds: 2, lagrangian_passes: 7}/'
run_kv budget run "$WORK/budget.yaml" -o "$OUT" --resume -q
refused budget "oracle.lagrangian_passes 300 in the file, 7 in the sweep (12 points)"
edit seed -e 's/^seed: 3$/seed: 4/'
run_kv seed run "$WORK/seed.yaml" -o "$OUT" --resume -q
refused seed "seed 3 in the file, 4 in the sweep: a new seed gives every point another trace"
# A command-line override of a budget counts like an edit.
run_kv override run "$WORK/hw.yaml" -o "$OUT" --resume -q --oracle-moves 1e5
refused override "oracle.moves 200000 in the file, 100000 in the sweep"

# 6. Under mpirun: a sweep whose points are all new and list fewer policies than the file has columns
# for: workers write rows in the file's layout, with the policies they ran.
edit fewer -e 's/^hbm_capacity_ratio: .*$/hbm_capacity_ratio: [0.3]/' -e '$a policies: [static, belady]'
run_mpi fewer 3 run "$WORK/fewer.yaml" -o "$OUT" --resume -q
expect_rc fewer 0
HDF5_USE_FILE_LOCKING=FALSE "$PY" - "$OUT" <<'PY' || fail "fewer: rows of the new points are wrong"
import sys, numpy as np, pandas as pd
df = pd.read_hdf(sys.argv[1], "points")
new = df[df.hbm_capacity_ratio == 0.3]
assert len(new) == 4 and (new.status == "ok").all(), new[["point_id", "status", "error"]]
assert (new.policies == "static,belady").all(), new.policies.tolist()
assert new.static_total_time_s.notna().all() and new.oracle_total_time_s.isna().all()
assert "oracle_total_time_s" in df.columns  # the file's columns are kept
PY
note "fewer: 4 new points under mpirun in the file's layout"
echo "PASS"
