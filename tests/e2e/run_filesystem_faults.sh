#!/usr/bin/env bash
# kvsweep run on a full disk (a small tmpfs): one line naming the file and the cause, exit 4 (2 when not
# even the empty file fits), no signal, every row written before intact and no partial row; once there is
# room, --resume completes every point exactly once. In-process and under mpirun. Issue 27 item 2: this
# aborted (exit 134), left a phantom row and could make the file unresumable. Then a read-only
# filesystem: said so (item 8: it was blamed on another writer).
# Needs root to mount a tmpfs: skipped (77) where mounting is not allowed.
# Usage: bash run_filesystem_faults.sh <path-to-kvsweep> <tests-dir>
# shellcheck source=lib/run_common.sh
source "$(dirname "$0")/lib/run_common.sh" "$@"
SWEEP=$RUNDATA/disk.yaml
MNT=$WORK/mnt
mkdir -p "$MNT"
if ! mount -t tmpfs -o size=64k tmpfs "$MNT" 2>/dev/null; then
  echo "SKIP run_filesystem_faults: cannot mount a tmpfs here (needs root)"
  exit 77
fi
umount "$MNT"
# Unmount before run_common's cleanup removes $WORK, keeping the test's exit code for it.
trap 'st=$?; set +e; umount "$MNT" 2>/dev/null; (exit $st); cleanup' EXIT
OUT=$MNT/out.h5

# well_formed FILE: every row has a 16-digit id and status ok, one row per point (nothing half-written).
well_formed() {
  "$PY" - "$1" <<'PY'
import re, sys, pandas as pd
df = pd.read_hdf(sys.argv[1], "points")
bad = [i for i in df.point_id if not re.fullmatch(r"[0-9a-f]{16}", i)]
assert not bad and (df.status == "ok").all(), f"{sys.argv[1]}: rows {list(df.point_id)} statuses {set(df.status)}"
assert df.point_id.is_unique, f"{sys.argv[1]}: a point written twice"
print(len(df))
PY
}

declare -A seen
for case in 200:in 420:in 600:mpi 700:in 850:mpi; do
  kb=${case%%:*} mode=${case##*:}
  mount -t tmpfs -o "size=${kb}k" tmpfs "$MNT"
  name=full-$kb-$mode
  if [[ $mode == in ]]; then run_kv "$name" run "$SWEEP" -o "$OUT" --detail -q; else run_mpi "$name" 3 run "$SWEEP" -o "$OUT" --detail -q; fi
  [[ $RC -eq 2 || $RC -eq 4 ]] || { show "$WORK/$name.err"; fail "$name: exit $RC, expected 4 (or 2 at create)"; }
  errors=$(grep -c '^kvsweep: error: ' "$WORK/$name.err" || true)
  [[ $errors -eq 1 ]] || { show "$WORK/$name.err"; fail "$name: $errors error lines, expected one"; }
  grep -q "^kvsweep: error: $OUT: .*No space left on device" "$WORK/$name.err" ||
    { show "$WORK/$name.err"; fail "$name: the error line does not name $OUT and the full disk"; }
  ! grep -q "terminate\|Segmentation\|H5Ldelete" "$WORK/$name.err" || { show "$WORK/$name.err"; fail "$name: crashed"; }
  [[ ! -e $OUT.lock ]] || fail "$name: $OUT.lock left behind"
  if [[ $RC -eq 2 ]]; then
    [[ ! -e $OUT ]] || fail "$name: a file that could not be created was left behind"
    n=0
  else
    grep -q "row(s) this run wrote before are intact; fix that, then rerun with --resume" "$WORK/$name.err" ||
      { show "$WORK/$name.err"; fail "$name: the line does not say the rows are intact and to --resume"; }
    n=$(well_formed "$OUT") || fail "$name: $OUT unreadable or with a partial row after the full disk"
    save_rows "$OUT" "$WORK/$name.rows"
  fi
  seen[$RC]=1
  note "$name: exit $RC with $n rows: $(grep '^kvsweep: error' "$WORK/$name.err" | cut -c1-140)"
  # Room again: --resume finishes, keeping what was written.
  mount -o remount,size=8m "$MNT"
  run_kv "$name-resume" run "$SWEEP" -o "$OUT" --detail --resume -q
  expect_rc "$name-resume" 0
  [[ $n -eq 0 ]] || check_prefix "$OUT" "$WORK/$name.rows"
  check_complete "$OUT" "$SWEEP" 24
  umount "$MNT"
done
[[ -n ${seen[4]:-} && -n ${seen[2]:-} ]] || fail "the sizes no longer cover both a refused create and a full disk mid-run"

# A read-only filesystem: --resume of a file there, or a new file, is refused with that cause (exit 2).
mount -t tmpfs -o size=8m tmpfs "$MNT"
run_kv ro-setup run "$SWEEP" -o "$OUT" -q
expect_rc ro-setup 0
mount -o remount,ro "$MNT"
run_kv ro-resume run "$SWEEP" -o "$OUT" --resume -q
expect_rc ro-resume 2
grep -q "^kvsweep: error: $OUT: the filesystem of $MNT is read-only: write the results elsewhere (-o)" \
  "$WORK/ro-resume.err" || { show "$WORK/ro-resume.err"; fail "ro-resume: message"; }
run_kv ro-new run "$SWEEP" -o "$MNT/new.h5" -q
expect_rc ro-new 2
grep -q "read-only" "$WORK/ro-new.err" || { show "$WORK/ro-new.err"; fail "ro-new: message"; }
umount "$MNT"
echo "PASS run_filesystem_faults"
