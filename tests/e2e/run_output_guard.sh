#!/usr/bin/env bash
# kvsweep run never clobbers or mixes up results by accident, and bad input exits 2 touching nothing:
# an existing output needs --resume or --force (exit 2, the file byte for byte unchanged, the message names
# it); --force overwrites; --resume refuses a sweep that changes the file's results and files that are not results; a bad
# sweep or a bad flag exits 2 without creating the output; the same under mpirun.
# Usage: bash run_output_guard.sh <path-to-kvsweep> <tests-dir>
# shellcheck source=lib/run_common.sh
source "$(dirname "$0")/lib/run_common.sh" "$@"
SWEEP=$RUNDATA/grid.yaml
OUT=$WORK/out.h5

# unchanged TAG: $OUT is byte for byte the saved copy.
unchanged() { cmp -s "$OUT" "$WORK/copy.h5" || fail "$1: $OUT was modified"; }
# refused TAG WHAT: the last run exited 2 and said WHAT on stderr.
refused() {
  expect_rc "$1" 2
  grep -q -- "$2" "$WORK/$1.err" || { show "$WORK/$1.err"; fail "$1: stderr lacks '$2'"; }
}

run_kv first run "$SWEEP" -o "$OUT" -q
expect_rc first 0
cp "$OUT" "$WORK/copy.h5"

# 1. An existing output without --resume/--force: exit 2, named, untouched (in-process and under mpirun).
run_kv again run "$SWEEP" -o "$OUT" -q
refused again "$OUT: the output file exists"
unchanged again
run_mpi again-mpi 2 run "$SWEEP" -o "$OUT" -q
refused again-mpi "$OUT: the output file exists"
unchanged again-mpi

# 2. --resume with a sweep that would change the results already in the file (an oracle budget): exit 2,
# untouched (run_resume_edits.sh tries every kind of edit).
sed 's/^oracle: {moves: 2.0e5, sa_rounds: 2}$/oracle: {moves: 3.0e5, sa_rounds: 2}/' "$SWEEP" >"$WORK/other.yaml"
cmp -s "$SWEEP" "$WORK/other.yaml" && fail "could not derive another sweep from grid.yaml"
run_kv other run "$WORK/other.yaml" -o "$OUT" --resume -q
refused other "$OUT: the sweep changes the results of points this file holds: oracle.moves 200000 in the file, 300000 in the sweep (12 points)"
unchanged other
# ... and --resume of files that are not kvsweep results: a text file, a kvsweep trace (HDF5).
echo "not hdf5" >"$WORK/text.h5"
cp "$WORK/text.h5" "$WORK/text.copy"
run_kv text run "$SWEEP" -o "$WORK/text.h5" --resume -q
refused text "text.h5: not an HDF5 file"
cmp -s "$WORK/text.h5" "$WORK/text.copy" || fail "text: the file was modified"
run_kv convert trace convert "$TESTS/data/tiny_trace.csv" "$WORK/trace.h5"
expect_rc convert 0
cp "$WORK/trace.h5" "$WORK/trace.copy"
run_kv trace run "$SWEEP" -o "$WORK/trace.h5" --resume -q
refused trace "trace.h5: not a kvsweep results file"
cmp -s "$WORK/trace.h5" "$WORK/trace.copy" || fail "trace: the file was modified"

# 3. A bad sweep: exit 2 with file:line:col, no output created, an existing output untouched even with
# --force or --resume (the sweep is checked before the file is opened).
n=0
for bad in "$TESTS"/data/sweeps/bad/*.yaml; do
  name=$(basename "$bad" .yaml)
  run_kv "bad-$name" run "$bad" -o "$WORK/bad.h5" -q
  refused "bad-$name" "$(basename "$bad"):[0-9]*:[0-9]*: "
  [[ ! -e $WORK/bad.h5 ]] || fail "bad-$name: $WORK/bad.h5 was created"
  n=$((n + 1))
done
[[ $n -ge 5 ]] || fail "only $n bad sweeps found in $TESTS/data/sweeps/bad"
BAD=$TESTS/data/sweeps/bad/unknown_key.yaml
for flag in --force --resume; do
  run_kv "bad$flag" run "$BAD" -o "$OUT" "$flag" -q
  refused "bad$flag" "unknown_key.yaml:"
  unchanged "bad$flag"
done
run_mpi bad-mpi 2 run "$BAD" -o "$WORK/bad.h5" -q
refused bad-mpi "unknown_key.yaml:"
[[ ! -e $WORK/bad.h5 ]] || fail "bad-mpi: $WORK/bad.h5 was created"

# 4. Bad flags and arguments: exit 2, nothing created or touched.
check_flags() {
  local tag=$1
  shift
  run_kv "$tag" run "$@"
  expect_rc "$tag" 2
  [[ -s $WORK/$tag.err ]] || fail "$tag: nothing on stderr"
  [[ ! -e $WORK/new.h5 ]] || fail "$tag: $WORK/new.h5 was created"
  unchanged "$tag"
}
check_flags flag-unknown "$SWEEP" -o "$WORK/new.h5" --no-such-flag
check_flags flag-both "$SWEEP" -o "$OUT" --resume --force
check_flags flag-no-output "$SWEEP"
check_flags flag-threads "$SWEEP" -o "$WORK/new.h5" --threads 0
check_flags flag-attempts "$SWEEP" -o "$WORK/new.h5" --max-attempts 0
check_flags flag-grace "$SWEEP" -o "$WORK/new.h5" --grace -1
check_flags flag-no-sweep "$WORK/no_such_sweep.yaml" -o "$WORK/new.h5"
check_flags flag-extra "$SWEEP" "$SWEEP" -o "$WORK/new.h5"

# 5. --force overwrites (a fresh file: 12 rows, not 24); --resume of a missing file starts afresh.
run_kv force run "$SWEEP" -o "$OUT" --force -q
expect_rc force 0
cmp -s "$OUT" "$WORK/copy.h5" && fail "force: the file was not rewritten"
check_complete "$OUT" "$SWEEP" 12
run_kv fresh run "$SWEEP" -o "$WORK/fresh.h5" --resume -q
expect_rc fresh 0
check_complete "$WORK/fresh.h5" "$SWEEP" 12

# 6. A file another run is writing: a second run with --resume or with --force is refused (exit 2, the
# message names the file and says why) and the first run is not harmed: HDF5 truncates before it locks,
# so --force must check the lock before it truncates.
SLOW=$RUNDATA/slow.yaml
start_kv busy run "$SLOW" -o "$WORK/busy.h5" -q
KV=$(child_of "$BG")
wait_rows "$WORK/busy.h5" 1 "$KV" >/dev/null
for flag in --resume --force; do
  run_kv "busy$flag" run "$SLOW" -o "$WORK/busy.h5" "$flag" -q
  refused "busy$flag" "busy.h5: another kvsweep run is writing it (its lock $WORK/busy.h5.lock is held by pid $KV on "
done
wait_bg busy "$BG"
expect_rc busy 0
check_complete "$WORK/busy.h5" "$SLOW" 16
# ... and an output in a directory that does not exist: exit 2, one line naming it.
run_kv nodir run "$SWEEP" -o "$WORK/no/such/dir/out.h5" -q
refused nodir "no/such/dir/out.h5"
[[ $(wc -l <"$WORK/nodir.err") -eq 1 ]] || { show "$WORK/nodir.err"; fail "nodir: more than one line on stderr"; }

# 7. -o naming one of the run's inputs -- the sweep file, through a symbolic or a hard link too, or a
# point's trace file -- is refused even with --force (exit 2), the input untouched (copies: a regression
# must not destroy the test data).
mkdir -p "$WORK/in"
cp "$RUNDATA/failing.yaml" "$RUNDATA/good_trace.csv" "$RUNDATA/corrupt_trace.csv" "$WORK/in/"
ln -s failing.yaml "$WORK/in/symlink.yaml"
ln "$WORK/in/failing.yaml" "$WORK/in/hardlink.yaml"
for target in failing.yaml symlink.yaml hardlink.yaml good_trace.csv; do
  cp "$WORK/in/$target" "$WORK/in.copy"
  run_kv "input-$target" run "$WORK/in/failing.yaml" -o "$WORK/in/$target" --force -q
  refused "input-$target" "^kvsweep: error: -o $WORK/in/$target: this is the"
  cmp -s "$WORK/in/$target" "$WORK/in.copy" || fail "input-$target: the input was overwritten"
done
grep -q "this is the trace file .*good_trace.csv of point" "$WORK/input-good_trace.csv.err" ||
  { show "$WORK/input-good_trace.csv.err"; fail "input-good_trace.csv: does not name the trace file"; }

# 8. A results file cut short (an interrupted copy) is called damaged, with its sizes, not busy.
cp "$WORK/copy.h5" "$WORK/cut.h5"
size=$(stat -c %s "$WORK/cut.h5")
truncate -s $((size / 2)) "$WORK/cut.h5"
run_kv cut run "$SWEEP" -o "$WORK/cut.h5" --resume -q
refused cut "cut.h5: damaged: truncated at $((size / 2)) of $size bytes"
grep -q "another" "$WORK/cut.err" && { show "$WORK/cut.err"; fail "cut: blames another writer"; }
echo "PASS run_output_guard"
