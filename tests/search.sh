#!/usr/bin/env bash
# tests/search.sh TRM - the test-time search and failure replay from the
# command line (TAP lines): trm eval/solve --search options, budgets and
# bad values, determinism by seed, --cycles (test-time depth), --rollouts,
# and trm train --replay-failures with exact resume.
. "$(dirname "$0")/lib.sh" # TRM, PY, TMP, n, ok/bad, expect_ok/expect_err
export OMP_NUM_THREADS=1 # bit-exact resume compares runs with equal thread counts
ERR_LINES=5                # training logs are long: the end says what went wrong
# json_check NAME FILE PYTHON-EXPR (d = the parsed JSON of FILE's first line)
json_check() {
    local name=$1 file=$2 expr=$3
    if $PY -c "import json,sys; d=json.loads(open(sys.argv[1]).readline()); assert $expr, d" "$file" 2>"$TMP/pyerr"; then ok "$name"
    else bad "$name"; tail -2 "$TMP/pyerr"; fi
}

# ---- a small 4x4 model (a few training steps: the search needs a model, not a good one)
D=$TMP/data
expect_ok "data sudoku4" "$TRM" data sudoku4 --out "$D" --train-size 300 --test-size 20 --blanks 8
COMMON="--data $D --preset tiny H_cycles=2 L_cycles=2 halt_max_steps=4 global_batch_size=16 epochs=2 lr=2e-3 lr_warmup_steps=5 ema=false eval_interval=0 log_every=5 --quiet"
expect_ok "train a tiny 4x4 model" "$TRM" train $COMMON --out "$TMP/m" max_steps=15
CK=$TMP/m/checkpoint.safetensors

# ---- trm eval --search
expect_ok "eval --search --budget 8" "$TRM" eval --checkpoint "$CK" --data "$D" --quiet --search --budget 8
json_check "eval --search reports budget, evals and verification" "$TMP/out" \
    "d['search']['budget'] == 8 and d['search']['puzzles'] == 20 and 0 < d['search']['evals_per_puzzle'] <= 8 and d['search']['verified'] == d['verified']"
cp "$TMP/out" "$TMP/first.json"
expect_ok "eval --search again, same seed" "$TRM" eval --checkpoint "$CK" --data "$D" --quiet --search --budget 8
$PY - "$TMP/first.json" "$TMP/out" <<'PYEOF' && ok "eval --search is deterministic by seed" || bad "eval --search deterministic"
import json, sys
a, b = (json.load(open(p)) for p in sys.argv[1:])
for d in (a, b): d["search"].pop("seconds")
assert a == b, (a, b)
PYEOF
expect_ok "eval --search --budget 3x" "$TRM" eval --checkpoint "$CK" --data "$D" --quiet --search --budget 3x --search-policy fix,commit,reseed --patience 1
json_check "--budget 3x is 3 x halt_max_steps" "$TMP/out" "d['search']['budget'] == 12 and d['search']['policy'] == 'fix,commit,reseed' and d['search']['evals_per_puzzle'] <= 12"
expect_ok "eval --search --max-examples 5 --batch 4" "$TRM" eval --checkpoint "$CK" --data "$D" --quiet --search --budget 4 --max-examples 5 --batch 4
json_check "the search covers exactly the evaluated examples" "$TMP/out" "d['examples'] == 5 and d['search']['puzzles'] == 5 and d['search']['evals'] <= 20"
expect_ok "eval without --search" "$TRM" eval --checkpoint "$CK" --data "$D" --quiet
json_check "without --search the output has no search record" "$TMP/out" "'search' not in d and d['steps'] == 4"

expect_err "eval: --budget 0" "--budget: expected supervision steps >= 1" "$TRM" eval --checkpoint "$CK" --data "$D" --search --budget 0
expect_err "eval: --budget abc" "--budget: expected" "$TRM" eval --checkpoint "$CK" --data "$D" --search --budget abc
expect_err "eval: --budget 4y" "--budget: expected" "$TRM" eval --checkpoint "$CK" --data "$D" --search --budget 4y
expect_err "eval: --budget without --search" "need --search" "$TRM" eval --checkpoint "$CK" --data "$D" --budget 8
expect_err "eval: unknown branch kind" "unknown branch 'guess'" "$TRM" eval --checkpoint "$CK" --data "$D" --search --search-policy aug,guess
expect_err "eval: --patience -1" "--patience: expected" "$TRM" eval --checkpoint "$CK" --data "$D" --search --patience -1
expect_err "eval: --search-time 0" "--search-time: expected seconds > 0" "$TRM" eval --checkpoint "$CK" --data "$D" --search --search-time 0
expect_err "eval: --search with --per-step" "per-step" "$TRM" eval --checkpoint "$CK" --data "$D" --quiet --search --per-step

# ---- trm solve --search
P=$($PY -c "
import numpy as np
x = np.load('$D/test/all__inputs.npy')[0]; y = np.load('$D/test/all__labels.npy')[0]
f = lambda r: ''.join('.' if t == 1 else str(t - 1) for t in r)
print(f(x) + ',' + f(y))")
expect_ok "solve --search --json" "$TRM" solve --checkpoint "$CK" "$P" --search --budget 6 --json
json_check "solve --search reports the search per puzzle" "$TMP/out" \
    "d['search']['evals'] <= 6 and d['steps'] == d['search']['evals'] and d['search']['branches'] >= 1 and d['search']['verified'] == d['valid']"
grep -q "^search: budget 6 steps per puzzle" "$TMP/err" && ok "solve --search prints its totals" || bad "solve --search totals"
expect_ok "solve --search, boards" "$TRM" solve --checkpoint "$CK" "$P" --search --search-time 30 --color never
grep -q "search: .* branches, answer from a" "$TMP/out" && ok "solve --search shows the branches per board" || bad "solve --search board line"
expect_err "solve: --search-policy empty" "search policy" "$TRM" solve --checkpoint "$CK" "$P" --search --search-policy ""
expect_err "solve: --branch-steps x" "--branch-steps: expected" "$TRM" solve --checkpoint "$CK" "$P" --search --branch-steps x
expect_err "solve: --patience without --search" "need --search" "$TRM" solve --checkpoint "$CK" "$P" --patience 2

# ---- --cycles T,n: test-time depth (eval and solve, with or without --search)
expect_ok "eval (checkpoint's depth)" "$TRM" eval --checkpoint "$CK" --data "$D" --quiet
cp "$TMP/out" "$TMP/plain.json"
json_check "eval reports the depth it ran and its FLOPs" "$TMP/plain.json" "d['H_cycles'] == 2 and d['L_cycles'] == 2 and d['flops_per_step'] > 0"
expect_ok "eval --cycles 2,2 (the checkpoint's values)" "$TRM" eval --checkpoint "$CK" --data "$D" --quiet --cycles 2,2
cmp -s "$TMP/plain.json" "$TMP/out" && ok "--cycles equal to the checkpoint's gives identical results" || bad "--cycles 2,2 differs from the default"
expect_ok "eval --cycles 4,3" "$TRM" eval --checkpoint "$CK" --data "$D" --quiet --cycles 4,3
$PY - "$TMP/plain.json" "$TMP/out" <<'PYEOF' && ok "--cycles 4,3 runs deeper: more FLOPs, other outputs" || bad "--cycles 4,3"
import json, sys
a, b = (json.load(open(p)) for p in sys.argv[1:])
assert b["H_cycles"] == 4 and b["L_cycles"] == 3, b
assert abs(b["flops_per_step"] / a["flops_per_step"] - 2 * 4 * 4 / (2 * 2 * 3)) < 0.2, (a, b)  # T (n + 1) network applications dominate
assert b["lm_loss"] != a["lm_loss"], (a, b)
PYEOF
expect_ok "eval --search --cycles 3,2" "$TRM" eval --checkpoint "$CK" --data "$D" --quiet --search --budget 4 --cycles 3,2
json_check "the search runs at the --cycles depth" "$TMP/out" "d['H_cycles'] == 3 and d['search']['evals_per_puzzle'] <= 4"
expect_ok "solve --cycles 3,1 --json" "$TRM" solve --checkpoint "$CK" "$P" --cycles 3,1 --json
for bad_cycles in 0,2 2,0 2 2,65 a,b 2,2,2 ,2 -1,3 2x,2; do
    expect_err "eval: --cycles $bad_cycles" "^trm eval: --cycles: expected T,n \\(H_cycles,L_cycles\\) with 1 <= T, n <= 64" \
        "$TRM" eval --checkpoint "$CK" --data "$D" --cycles "$bad_cycles"
done
expect_err "solve: --cycles 9,99" "^trm solve: --cycles: expected T,n" "$TRM" solve --checkpoint "$CK" "$P" --cycles 9,99

# ---- --search --rollouts K --noise SIGMA: K noisy lanes per puzzle, picked by the checker, else q
expect_ok "eval --search --rollouts 4 --noise 0 --budget 16" "$TRM" eval --checkpoint "$CK" --data "$D" --quiet --search --rollouts 4 --noise 0 --budget 16
$PY - "$TMP/plain.json" "$TMP/out" <<'PYEOF' && ok "rollouts with sigma 0 answer as the plain model" || bad "rollouts sigma 0"
import json, sys
a, b = (json.load(open(p)) for p in sys.argv[1:])
s = b["search"]
assert s["policy"] == "rollouts" and s["rollouts"] == 4 and s["lane_steps"] == 4 and s["evals_per_puzzle"] == 16, s
assert b["exact_accuracy"] == a["exact_accuracy"] and b["accuracy"] == a["accuracy"] and b["verified"] == a.get("verified", 0), (a, b)
assert s["chosen_by_checker"] + s["chosen_by_q"] == s["puzzles"] == 20, s
PYEOF
expect_ok "eval --search --rollouts 4 --noise 0.5" "$TRM" eval --checkpoint "$CK" --data "$D" --quiet --search --rollouts 4 --noise 0.5 --search-seed 3
cp "$TMP/out" "$TMP/r1.json"
json_check "rollouts: default budget 4 x halt_max_steps per lane" "$TMP/r1.json" "d['search']['budget'] == 16 and d['search']['lane_steps'] == 4 and d['search']['noise'] == 0.5 and d['search']['seed'] == 3"
expect_ok "eval rollouts again, same seed" "$TRM" eval --checkpoint "$CK" --data "$D" --quiet --search --rollouts 4 --noise 0.5 --search-seed 3
$PY - "$TMP/r1.json" "$TMP/out" <<'PYEOF' && ok "rollouts are deterministic by seed" || bad "rollouts deterministic"
import json, sys
a, b = (json.load(open(p)) for p in sys.argv[1:])
for d in (a, b): d["search"].pop("seconds")
assert a == b, (a, b)
PYEOF
expect_ok "solve --search --rollouts 3 --json" "$TRM" solve --checkpoint "$CK" "$P" --search --rollouts 3 --noise 0.2 --json
json_check "solve reports the chosen lane and why" "$TMP/out" \
    "d['search']['found_by'] == 'rollout' and 0 <= d['search']['lane'] < 3 and d['search']['chosen_by'] == ('checker' if d['valid'] else 'q_halt') and d['search']['evals'] == 12"
grep -q "^rollouts: answer chosen by the checker for [01] puzzles, by the highest sigmoid(q_halt) for [01]" "$TMP/err" && ok "solve --rollouts prints how answers were chosen" || bad "solve --rollouts summary"
expect_err "eval: --rollouts 0" "^trm eval: --rollouts: expected lanes per puzzle in 1..1024, got '0'" "$TRM" eval --checkpoint "$CK" --data "$D" --search --rollouts 0
expect_err "eval: --rollouts 8 --budget 4" "^trm eval: search rollouts: a budget of 4 supervision steps per puzzle gives 8 lanes less than one step each" \
    "$TRM" eval --checkpoint "$CK" --data "$D" --search --rollouts 8 --budget 4
expect_err "eval: --noise -1" "^trm eval: --noise: expected a standard deviation in \\[0, 100\\], got '-1'" "$TRM" eval --checkpoint "$CK" --data "$D" --search --rollouts 2 --noise -1
expect_err "eval: --noise nan" "^trm eval: --noise: expected" "$TRM" eval --checkpoint "$CK" --data "$D" --search --rollouts 2 --noise nan
expect_err "eval: --noise without --rollouts" "^trm eval: --noise: needs --rollouts K" "$TRM" eval --checkpoint "$CK" --data "$D" --search --noise 0.3
expect_err "solve: --rollouts without --search" "need --search" "$TRM" solve --checkpoint "$CK" "$P" --rollouts 4

# ---- trm train --replay-failures: exact resume with the buffer in the state
expect_ok "train --replay-failures 0.5 (20 steps)" "$TRM" train $COMMON --out "$TMP/a" max_steps=20 --replay-failures 0.5
expect_ok "train --replay-failures 0.5, 10 steps then stop" "$TRM" train $COMMON --out "$TMP/b" max_steps=20 stop_after=10 --replay-failures 0.5
expect_ok "resume without repeating the option" "$TRM" train --data "$D" --out "$TMP/b" --resume stop_after=0 --quiet
cmp -s "$TMP/a/checkpoint.safetensors" "$TMP/b/checkpoint.safetensors" && ok "replay: resumed checkpoint is byte-identical" || bad "replay: resume not exact"
$PY - "$TMP/a/state.safetensors" "$TMP/b/state.safetensors" <<'PYEOF' && ok "replay: full state identical, replay buffer saved and used" || bad "replay: state"
import sys
sys.path.insert(0, "tests/reference")
from safetensors_io import load_file
a, _ = load_file(sys.argv[1], as_torch=False); b, _ = load_file(sys.argv[2], as_torch=False)
assert a.keys() == b.keys()
for k in a: assert (a[k] == b[k]).all(), k
meta = a["replay.meta"]
assert meta[0] > 0 and meta[2] > 0, meta  # failures kept, rows replayed
PYEOF
expect_ok "train without the option" "$TRM" train $COMMON --out "$TMP/c" max_steps=20
$PY - "$TMP/c/state.safetensors" <<'PYEOF' && ok "replay is off by default (no buffer in the state)" || bad "replay default"
import sys
sys.path.insert(0, "tests/reference")
from safetensors_io import load_file
a, _ = load_file(sys.argv[1], as_torch=False)
assert not any(k.startswith("replay.") for k in a)
PYEOF
cmp -s "$TMP/a/checkpoint.safetensors" "$TMP/c/checkpoint.safetensors" && bad "replay changed nothing" || ok "replay changes what the model trains on"
expect_err "train: --replay-failures 1.5" "replay_failures: expected a fraction" "$TRM" train $COMMON --out "$TMP/d" --replay-failures 1.5
expect_err "train: --replay-failures x" "replay_failures: expected a non-negative number" "$TRM" train $COMMON --out "$TMP/d" --replay-failures x

echo "1..$n"
