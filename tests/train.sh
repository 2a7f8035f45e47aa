#!/usr/bin/env bash
# tests/train.sh TRM - end to end: trm data -> train -> eval -> solve,
# exact resume, SIGINT, dataset interoperability with the reference's
# loader, and bad input (TAP lines).
. "$(dirname "$0")/lib.sh" # TRM, PY, TMP, n, ok/bad, expect_ok/expect_err
# Single-threaded: bit-exact resume compares runs made with equal thread
# counts, and tiny models run fastest on one thread anyway.
export OMP_NUM_THREADS=1
ERR_LINES=5       # training logs are long: the end says what went wrong
ERR_STDOUT_ANY=1  # these checks look at stderr only (some commands print before failing)

# ---- a small dataset from the bundled puzzles
D=$TMP/data
expect_ok "trm data sudoku builds a dataset" "$TRM" data sudoku --input data/sudoku-demo/puzzles.csv \
    --out "$D" --test-size 16 --aug 3 --seed 1
$PY tests/reference/check_dataset_interop.py "$D" >"$TMP/py" 2>&1 && ok "the reference's loader reads the trm-built dataset" \
    || { bad "reference loader on trm dataset"; cat "$TMP/py"; }
$PY - "$D" <<'PYEOF' && ok "dataset shape: 240 groups x 4 augmented versions, 16 test puzzles" || bad "dataset shape"
import json, sys, numpy as np
d = sys.argv[1]
tr = json.load(open(d + "/train/dataset.json")); te = json.load(open(d + "/test/dataset.json"))
assert tr["seq_len"] == 81 and tr["vocab_size"] == 11 and tr["total_groups"] == 240, tr
assert np.load(d + "/train/all__inputs.npy").shape == (960, 81)
assert np.load(d + "/test/all__inputs.npy").shape == (16, 81)
PYEOF

# ---- train, checkpoint, metrics
COMMON="--data $D --preset tiny global_batch_size=8 epochs=1 lr=1e-3 lr_warmup_steps=2 eval_interval=0.5 eval_max_examples=8 log_every=5"
expect_ok "trm train runs" "$TRM" train $COMMON --out "$TMP/a" max_steps=20
grep -q "step 20/20" "$TMP/err" && ok "train shows progress with step/total" || bad "train progress line"
[ -f "$TMP/a/checkpoint.safetensors" ] && [ -f "$TMP/a/state.safetensors" ] && ok "train writes checkpoint and state" || bad "train outputs"
$PY - "$TMP/a/metrics.jsonl" <<'PYEOF' && ok "metrics.jsonl: train and eval records, valid JSON" || bad "metrics.jsonl"
import json, sys
rows = [json.loads(l) for l in open(sys.argv[1])]
train = [r for r in rows if "lm_loss" in r]; ev = [r for r in rows if "eval" in r]
assert len(train) == 4 and train[-1]["step"] == 20, rows
assert len(ev) == 2 and ev[-1]["eval"]["examples"] == 8, ev
for r in train: assert r["examples_per_s"] > 0 and 0 <= r["accuracy"] <= 1
PYEOF
expect_ok "info reads the trained checkpoint" "$TRM" info --checkpoint "$TMP/a/checkpoint.safetensors"
[ "$(grep -c '<polyline' "$TMP/a/curves.svg" 2>/dev/null)" -eq 7 ] && ok "train draws RUN/curves.svg (7 curves)" \
    || bad "train curves.svg"
expect_ok "trm plot draws a run's curves as PNG" "$TRM" plot "$TMP/a" -o "$TMP/a/curves.png"
expect_ok "trm render draws a dataset example" "$TRM" render --data "$D" --index 2 --png "$TMP/ex.png"
"$TRM" render --data "$D" --count 2 --color never | grep -c '^input *label$' | grep -qx 2 \
    && ok "trm render prints input beside label" || bad "trm render text"
expect_err "plot: bad record names file:line" "m.jsonl:2: not valid JSON" \
    sh -c 'printf "{\"step\":1,\"lm_loss\":1}\n{oops\n" >"$1/m.jsonl" && "$2" plot "$1/m.jsonl"' sh "$TMP" "$TRM"

# ---- exact resume: 10 + 10 steps == 20 steps, bit for bit
expect_ok "train stops after 10 steps (stop_after)" "$TRM" train $COMMON --out "$TMP/b" max_steps=20 stop_after=10
expect_ok "train --resume continues" "$TRM" train --data "$D" --out "$TMP/b" --resume stop_after=0
cmp -s "$TMP/a/checkpoint.safetensors" "$TMP/b/checkpoint.safetensors" && ok "resumed run's checkpoint is byte-identical to the uninterrupted run's" \
    || bad "resume is not exact"
$PY - "$TMP/a/state.safetensors" "$TMP/b/state.safetensors" <<'PYEOF' && ok "resumed run's full training state (weights, Adam moments, EMA, carry, loader) is identical" || bad "resume state differs"
import sys
sys.path.insert(0, "tests/reference")
from safetensors_io import load_file
a, _ = load_file(sys.argv[1], as_torch=False); b, _ = load_file(sys.argv[2], as_torch=False)
assert a.keys() == b.keys()
for k in a: assert (a[k] == b[k]).all(), k
PYEOF

# ---- SIGINT saves and stops; resume finishes
"$TRM" train $COMMON --out "$TMP/c" max_steps=100000 >"$TMP/out" 2>"$TMP/err" &
pid=$!
for i in $(seq 50); do [ -s "$TMP/c/metrics.jsonl" ] && break; sleep 0.2; done
kill -INT $pid
wait $pid
rc=$?
[ $rc -eq 0 ] && grep -q "interrupted: saved state" "$TMP/err" && [ -f "$TMP/c/state.safetensors" ] \
    && ok "SIGINT saves the state and exits 0" || { bad "SIGINT handling (exit $rc)"; tail -3 "$TMP/err"; }
expect_ok "a run stopped by SIGINT resumes" "$TRM" train --data "$D" --out "$TMP/c" --resume stop_after=3

# ---- SIGKILL at any point: the last state saved is whole and resumes
"$TRM" train $COMMON --out "$TMP/k" max_steps=100000 checkpoint_every=3 >/dev/null 2>&1 &
pid=$!
for i in $(seq 100); do [ -f "$TMP/k/state.safetensors" ] && break; sleep 0.1; done
sleep 0.7
kill -KILL $pid
wait $pid 2>/dev/null
expect_ok "a run killed with SIGKILL resumes from its last state" "$TRM" train --data "$D" --out "$TMP/k" --resume stop_after=2
ls "$TMP/k" | grep -q "tmp" && bad "a temporary file of the killed run is left" || ok "no temporary file is left after the resume"

# ---- eval and solve
expect_ok "trm eval" "$TRM" eval --checkpoint "$TMP/a/checkpoint.safetensors" --data "$D" --steps 3 --per-step --quiet
$PY -c "import json,sys; d=json.load(open('$TMP/out')); assert d['examples']==16 and len(d['by_step'])==3 and 0<=d['accuracy']<=1" \
    && ok "eval prints JSON with per-step accuracy" || { bad "eval JSON"; cat "$TMP/out"; }
P=$(sed -n 2p data/sudoku-demo/puzzles.csv | cut -d, -f1)
expect_ok "trm solve PUZZLE" "$TRM" solve --checkpoint "$TMP/a/checkpoint.safetensors" "$P" --color never
grep -q "confidence" "$TMP/out" && ok "solve prints a board with confidence" || bad "solve output"
grep -qE "^1 puzzles: [01] obey the rules; .*ms per puzzle" "$TMP/out" \
    && ok "solve prints a summary with accuracy and speed" || { bad "solve summary"; tail -2 "$TMP/out"; }
head -4 data/sudoku-demo/puzzles.csv | "$TRM" solve --checkpoint "$TMP/a/checkpoint.safetensors" --json >"$TMP/out" 2>"$TMP/err" \
    && [ "$(wc -l <"$TMP/out")" -eq 3 ] && $PY -c "import json; [json.loads(l) for l in open('$TMP/out')]" \
    && ok "solve --json reads stdin, one JSON object per puzzle" || { bad "solve --json"; cat "$TMP/err"; }
grep -qE "^3 puzzles: [0-3] obey the rules; [0-3]/3 match the known answer" "$TMP/err" \
    && ok "solve reports accuracy against known answers" || { bad "solve accuracy summary"; cat "$TMP/err"; }

# ---- bad input
expect_err "train: missing dataset" "nowhere" "$TRM" train --data "$TMP/nowhere" --out "$TMP/x"
expect_err "train: unknown key" "unknown config field 'bogus'" "$TRM" train $COMMON --out "$TMP/x" bogus=1
expect_err "train: bad value" "training field lr" "$TRM" train $COMMON --out "$TMP/x" lr=fast
expect_err "train: --resume without state" "state.safetensors" "$TRM" train --data "$D" --out "$TMP/empty" --resume
expect_err "solve: malformed puzzle" "81" "$TRM" solve --checkpoint "$TMP/a/checkpoint.safetensors" "12345"
expect_err "eval: dataset of another task" "does not fit" "$TRM" eval --checkpoint "${TRM_FIXTURES:-build/fixtures}/att_small/weights.safetensors" --data "$D"

echo "1..$n"
