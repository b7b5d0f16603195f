# shellcheck shell=bash
# Bad input, refused alike by every command: exit 2, one line `kvsweep: error: FILE:LINE:COL: MESSAGE`,
# nothing on stdout and nothing written. Sourced (never run) by tests that set KVSWEEP and WORK.
#
#   source "$(dirname "$0")/lib/refusals.sh"
#   expect_refusals "validate;eval;run -o out.h5" "file.yaml|6:18|message" ...   (files in $WORK)

expect_refusals() {
  local commands=$1 c cmd file pos msg rc
  shift
  mkdir -p "$WORK/cwd"
  for c in "$@"; do
    IFS='|' read -r file pos msg <<< "$c"
    IFS=';' read -ra cmds <<< "$commands"
    for cmd in "${cmds[@]}"; do
      # shellcheck disable=SC2086  # $cmd holds a command and its flags
      rc=$(cd "$WORK/cwd" && { "$KVSWEEP" $cmd "$WORK/$file" > "$WORK/out" 2> "$WORK/err"; echo $?; } || true)
      [[ $rc -eq 2 ]] || { echo "FAIL: $cmd $file exited $rc: $(cat "$WORK/err")" >&2; exit 1; }
      [[ $(wc -l < "$WORK/err") -eq 1 ]] || { echo "FAIL: $cmd $file: not one line: $(cat "$WORK/err")" >&2; exit 1; }
      grep -qxF "kvsweep: error: $WORK/$file:$pos: $msg" "$WORK/err" ||
        { echo "FAIL: $cmd $file: $(cat "$WORK/err")" >&2; exit 1; }
      [[ ! -s "$WORK/out" ]] || { echo "FAIL: $cmd $file printed: $(cat "$WORK/out")" >&2; exit 1; }
      [[ -z "$(ls -A "$WORK/cwd")" ]] || { echo "FAIL: $cmd $file wrote: $(ls -A "$WORK/cwd")" >&2; exit 1; }
    done
  done
}
