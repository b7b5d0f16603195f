#!/usr/bin/env bash
# kvsweep judge and eval --record-schedule (issue 26 item 4, docs/schedule-file.md):
# 1. every policy's recorded schedule, judged, gives the policy's time bit for bit (a lone sequence and
#    a batch of two in blocks of 2; every policy (the online ones too), fm_dual, the oracle and the exact MILP included);
# 2. bad schedules (capacity, an entry that does not exist yet, the wrong shape, and the other row
#    errors) are refused with one line naming the file and the state, sequence, layer and block, exit 2;
# 3. --record-schedule refuses a file already there (untouched) and a YAML of several points;
# 4. the numpy example (analysis/examples/lru_schedule.py) writes reactive_lru's schedule: the judge
#    gives reactive_lru's time exactly.
# Usage: bash judge_cli.sh <path-to-kvsweep> <tests-dir>
# shellcheck source=lib/run_common.sh
source "$(dirname "$0")/lib/run_common.sh" "$@"
cd "$WORK"

cat > tiny.yaml <<'YAML'
model: {name: tiny, layers: 2, kv_bytes_per_token_layer: 4096, weight_bytes_per_layer: 12288}
hardware: gh200-measured
prompt_tokens: 24
decode_tokens: 8
hbm_kv_capacity_entries: 24
policies: [unlimited_hbm, static, reactive_lru, page, streaming, h2o, lru_hot, ema, arc, history, bandit, belady, sa_guided, fm_tracking, fm_dual, oracle, exact]
oracle: {moves: 20000, lagrangian_gap: 0}
points:
  - {}
  - {batch_size: 2, kv_block_tokens: 2, hbm_kv_capacity_entries: 40}
YAML

# 1. Round trips.
for pt in 0 1; do
  run_kv "rec$pt" eval tiny.yaml --point "$pt" --record-schedule "rec$pt" --json
  expect_rc "rec$pt" 0
  for f in rec"$pt"/*.h5; do
    name=$(basename "$f" .h5)
    run_kv "judge-$pt-$name" judge tiny.yaml --point "$pt" "$f" --json
    expect_rc "judge-$pt-$name" 0
  done
  "$PY" - "$pt" <<'PY'
import json, sys
pt = sys.argv[1]
policies = json.load(open(f"rec{pt}.out"))["points"][0]["policies"]
assert len(policies) == 17, sorted(policies)
for name, p in policies.items():
    j = json.load(open(f"judge-{pt}-{name}.out"))
    assert j["total_time_s"] == p["total_time_s"], (pt, name, j["total_time_s"], p["total_time_s"])
    assert j["lower_bound_s"] > 0 and (j["certified_gap"] is None) == (name == "unlimited_hbm"), (name, j)
    assert j["point"]["policies"]["schedule"]["total_time_s"] == p["total_time_s"]
print(f"point {pt}: {len(policies)} recorded schedules judged to their policies' times exactly")
PY
done

# 2. Bad schedules, written from a good one (static's of the lone point: C = 24, P = 24, D = 8, L = 2).
"$PY" <<'PY'
import shutil, h5py, numpy as np
def bad(name, edit):
    shutil.copy("rec0/static.h5", f"{name}.h5")
    with h5py.File(f"{name}.h5", "r+") as f:
        edit(f)
def rows(f, which, extra):
    old = f[which][:]
    new = np.concatenate([old, np.array(extra, dtype=old.dtype)])
    new = new[np.argsort(new["state"], kind="stable")]
    del f[which]
    f[which] = new
# static holds tokens 0..11 of both layers (24 entries) from prefill on: one promotion more is over.
bad("capacity", lambda f: rows(f, "promote", [(3, 0, 1, 20)]))
# at state 2 a sequence has 26 tokens: token 26 does not exist yet.
bad("future", lambda f: rows(f, "promote", [(2, 0, 0, 26)]))
bad("shape", lambda f: f.attrs.modify("decode_tokens", 9))
bad("evict", lambda f: rows(f, "evict", [(4, 0, 1, 20)]))
bad("again", lambda f: rows(f, "promote", [(5, 0, 0, 3)]))
def unsorted(f):  # rows of state 6 before rows of state 2
    r = np.array([(6, 0, 0, 1), (2, 0, 0, 2)], dtype=f["evict"].dtype)
    del f["evict"]
    f["evict"] = r
bad("order", unsorted)
PY
check_refusal() {  # NAME EXPECTED-MESSAGE-AFTER-"kvsweep: error: NAME.h5: "
  run_kv "bad-$1" judge tiny.yaml --point 0 "$1.h5"
  expect_rc "bad-$1" 2
  [[ $(wc -l < "bad-$1.err") -eq 1 && ! -s "bad-$1.out" ]] || { show "bad-$1.err"; fail "$1: not one line on stderr alone"; }
  grep -qF "kvsweep: error: $1.h5: $2" "bad-$1.err" || { show "bad-$1.err"; fail "$1: expected: $2"; }
}
check_refusal capacity "state 3, sequence 0, layer 1, block 20: HBM holds 25 entries in this state, above its capacity of 24"
check_refusal future "state 2, sequence 0, layer 0, block 26: holds an entry that does not exist yet (the sequence has 26 tokens"
check_refusal shape "schedule for P=24 D=9 L=2 k=1 but the point's trace is P=24 D=8 L=2 k=1"
check_refusal evict "state 4, sequence 0, layer 1, block 20: evicts a block that is not held"
check_refusal again "state 5, sequence 0, layer 0, block 3: promotes a block that is already held"
check_refusal order "state 2, sequence 0, layer 0, block 2: /evict is not sorted by state"
run_kv missing judge tiny.yaml --point 0 nothing.h5
expect_rc missing 2
grep -qF "kvsweep: error: nothing.h5: no such schedule file" missing.err || fail "missing: $(cat missing.err)"
echo "bad schedules refused"

# 3. --record-schedule leaves a schedule already there alone, and records one point at a time.
cp rec0/static.h5 keep.h5
run_kv again eval tiny.yaml --point 0 --record-schedule rec0
expect_rc again 2
grep -qF "kvsweep: error: --record-schedule: rec0/unlimited_hbm.h5 exists" again.err || fail "again: $(cat again.err)"
cmp -s keep.h5 rec0/static.h5 || fail "an existing schedule was touched"
run_kv several eval tiny.yaml --record-schedule several
expect_rc several 2
grep -qF "kvsweep: error: --record-schedule: records the schedules of one point; tiny.yaml has 2 points" several.err ||
  fail "several: $(cat several.err)"
[[ ! -e several ]] || fail "several: a directory was created"
echo "record-schedule refusals ok"

# 4. The numpy example: reactive_lru in numpy, judged.
cp "$TESTS/../analysis/examples/point.yaml" ex.yaml
run_kv convert trace convert ex.yaml ex-trace.h5
expect_rc convert 0
"$PY" "$TESTS/../analysis/examples/lru_schedule.py" ex-trace.h5 600 -o lru.h5 > example.out || fail "lru_schedule.py failed"
run_kv exjudge judge ex.yaml lru.h5 --json
expect_rc exjudge 0
run_kv exeval eval ex.yaml --json
expect_rc exeval 0
"$PY" - <<'PY'
import json
judged = json.load(open("exjudge.out"))["total_time_s"]
lru = json.load(open("exeval.out"))["points"][0]["policies"]["reactive_lru"]["total_time_s"]
assert judged == lru, (judged, lru)
print(f"numpy LRU judged {judged!r} s = reactive_lru's")
PY
echo "PASS judge_cli"
