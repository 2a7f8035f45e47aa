#!/usr/bin/env bash
# tests/recipes.sh TRM - the training-graph recipes of `trm train`
# (docs/training.md, "Recipes"): graph=nocarry with depth and halting
# schedules and label smoothing resumes bit for bit, metrics carry the
# cumulative training FLOPs with the documented formula, and bad recipe
# values give one clear error line (TAP lines).
. "$(dirname "$0")/lib.sh" # TRM, PY, TMP, n, ok/bad, expect_ok/expect_err
# Single-threaded: bit-exact resume compares runs made with equal thread counts.
export OMP_NUM_THREADS=1
ERR_LINES=5
ERR_STDOUT_ANY=1

D=$TMP/d
expect_ok "data sudoku4 builds a small task" "$TRM" data sudoku4 --out "$D" --train-size 200 --test-size 16 --blanks 6 --seed 0
# a small model: these checks are about the training graph, not learning
SMALL="--data $D --preset tiny hidden_size=32 num_heads=2 puzzle_emb_ndim=32 global_batch_size=8 epochs=0.4 lr=1e-3
       lr_warmup_steps=2 eval_interval=0 eval_max_examples=8 log_every=2 seed=3"
# (epochs 0.4 x 200 puzzles / batch 8 = 10 steps: the schedules' fractions are of those)
RECIPE="graph=nocarry cycles_schedule=0:1,1;0.3:2,1;0.6:1,2 halt_schedule=0:2;0.5:3 label_smoothing=0.2"

# ---- exact resume of a nocarry + schedules run: 10 steps == 4 + 6
expect_ok "train graph=nocarry with schedules and label smoothing" "$TRM" train $SMALL $RECIPE --out "$TMP/a" --quiet
expect_ok "the same run stops after 4 steps" "$TRM" train $SMALL $RECIPE --out "$TMP/b" stop_after=4 --quiet
expect_ok "and resumes with its saved recipe" "$TRM" train --data "$D" --out "$TMP/b" --resume stop_after=0 --quiet
cmp -s "$TMP/a/checkpoint.safetensors" "$TMP/b/checkpoint.safetensors" \
    && ok "nocarry + schedules: resumed checkpoint is byte-identical" || bad "nocarry + schedules: resume is not exact"
$PY - "$TMP/a" "$TMP/b" <<'PYEOF' && ok "nocarry + schedules: full state and metrics (flops included) identical after resume" || bad "nocarry resume state or metrics differ"
import json, sys
sys.path.insert(0, "tests/reference")
from safetensors_io import load_file
(a, ma), (b, mb) = (load_file(d + "/state.safetensors", as_torch=False) for d in sys.argv[1:3])
assert a.keys() == b.keys() and "nocarry.rng" in a and "run.flops" in a
for k in a: assert (a[k] == b[k]).all(), k
assert ma == mb
def rows(d):
    out = [json.loads(l) for l in open(d + "/metrics.jsonl")]
    for r in out: r.pop("examples_per_s", None)
    return out
ra, rb = rows(sys.argv[1]), rows(sys.argv[2])
assert ra == rb, (ra, rb)
assert json.loads(ma["train_config"])["cycles_schedule"] == "0:1,1;0.3:2,1;0.6:1,2"
PYEOF

# ---- the checkpoint carries the config of the phase it was saved in (the last: T=1, n=2, N=3)
$PY - "$TMP/a/checkpoint.safetensors" "$TMP/a/state.safetensors" <<'PYEOF' && ok "checkpoint has the last phase's depth, state the run's own" || bad "phase config in checkpoint"
import json, sys
sys.path.insert(0, "tests/reference")
from safetensors_io import load_file
_, mc = load_file(sys.argv[1], as_torch=False); _, ms = load_file(sys.argv[2], as_torch=False)
c, s = json.loads(mc["config"]), json.loads(ms["config"])
assert (c["H_cycles"], c["L_cycles"], c["halt_max_steps"]) == (1, 2, 3), c
assert (s["H_cycles"], s["L_cycles"], s["halt_max_steps"]) == (2, 2, 8), s
PYEOF

# ---- FLOPs: the carry graph adds trm_step_flops(TRAIN) per step; the
# schedule's phases change it. Per example of this model (D 32, L 82, S 81,
# V 6: 2 layers of attention + SwiGLU): app = network application, heads.
$PY - "$TMP" "$TRM" "$D" <<'PYEOF' && ok "metrics flops: carry graph with a cycles schedule follows the documented formula" || bad "flops formula"
import json, subprocess, sys
tmp, trm, d = sys.argv[1:4]
data = json.load(open(d + "/train/dataset.json"))
V, S, D, L, layers, B = data["vocab_size"], data["seq_len"], 32, data["seq_len"] + 1, 2, 8
per_layer_att = 2 * L * D * 3 * D + 2 * 2 * L * L * D + 2 * L * D * D
def swiglu(h, e=4.0):
    import math
    return int(-(-round(e * h * 2 / 3) // 256) * 256)
I = swiglu(D)
app = layers * (per_layer_att + 2 * L * D * 2 * I + 2 * L * I * D)
heads = 2 * S * D * V + 2 * D * 2
def train_flops(T, n): return B * (T * (n + 1) * app + heads + 2 * ((n + 1) * app + heads))
run = tmp + "/c"
subprocess.run([trm, "train", "--data", d, "--out", run, "--preset", "tiny", "hidden_size=32", "num_heads=2",
                "puzzle_emb_ndim=32", "global_batch_size=8", "epochs=0.16", "eval_interval=0", "log_every=1",
                "cycles_schedule=0:1,1;0.5:2,3", "--quiet"], check=True)
rows = [json.loads(l) for l in open(run + "/metrics.jsonl") if '"lm_loss"' in l]
want, got = 0.0, [r["flops"] for r in rows]
for step in range(4):
    want += train_flops(*((1, 1) if step < 2 else (2, 3)))
    assert abs(got[step] - want) <= 1e-9 * want, (step, got[step], want)
PYEOF
$PY - "$TMP/a/metrics.jsonl" <<'PYEOF' && ok "metrics flops: increasing, on train and eval records" || bad "flops in metrics"
import json, sys
rows = [json.loads(l) for l in open(sys.argv[1])]
f = [r["flops"] for r in rows]
assert all(x > 0 for x in f) and all(b >= a for a, b in zip(f, f[1:])), f
assert "eval" in rows[-1] and rows[-1]["flops"] == rows[-2]["flops"]
PYEOF

# ---- eval_steps: evaluation at the depth a no-carry run trains at; it may
# change on resume (it only changes what is measured)
expect_ok "eval_steps=2 with graph=nocarry" "$TRM" train $SMALL graph=nocarry halt_schedule=0:2 eval_interval=0.2 eval_steps=2 \
    stop_after=5 --out "$TMP/ev" --quiet
expect_ok "resumed with eval_steps=3" "$TRM" train --data "$D" --out "$TMP/ev" --resume eval_steps=3 stop_after=0 --quiet
$PY - "$TMP/ev/metrics.jsonl" <<'PYEOF' && ok "eval records ran 2 steps before the resume and 3 after (steps 5 and 10)" || bad "eval_steps not honoured"
import json, sys
ev = [(r["step"], r["eval"]["steps"]) for r in map(json.loads, open(sys.argv[1])) if "eval" in r]
assert ev == [(5, 2), (10, 3)], ev
PYEOF
# the model file records the depth the no-carry run was evaluated at as its
# halt_max_steps (the default depth of trm eval/solve); a carry run's keeps
# the trained one whatever eval_steps says
"$TRM" info --checkpoint "$TMP/ev/checkpoint.safetensors" > "$TMP/ev-info.json" 2>&1
grep -q '"halt_max_steps":3,' "$TMP/ev-info.json" \
    && ok "nocarry eval_steps=3: checkpoint.safetensors has halt_max_steps 3" || bad "nocarry checkpoint depth: $(cat "$TMP/ev-info.json")"
expect_ok "carry run with eval_steps=2" "$TRM" train $SMALL halt_max_steps=4 eval_interval=0.5 eval_steps=2 --out "$TMP/evc" --quiet
"$TRM" info --checkpoint "$TMP/evc/checkpoint.safetensors" > "$TMP/evc-info.json" 2>&1
grep -q '"halt_max_steps":4,' "$TMP/evc-info.json" \
    && ok "carry eval_steps=2: checkpoint.safetensors keeps halt_max_steps 4" || bad "carry checkpoint depth: $(cat "$TMP/evc-info.json")"

# ---- hint_schedule: carry graph, resume exact (the draws are per step, not
# state), a 0% phase draws nothing, and the hints change what is trained
HINTS="hint_schedule=0:80;0.5:0"
expect_ok "train with hint_schedule (carry graph)" "$TRM" train $SMALL $HINTS --out "$TMP/h1" --quiet
expect_ok "the same run stops after 3 steps" "$TRM" train $SMALL $HINTS --out "$TMP/h2" stop_after=3 --quiet
expect_ok "and resumes with its saved hint_schedule" "$TRM" train --data "$D" --out "$TMP/h2" --resume stop_after=0 --quiet
cmp -s "$TMP/h1/checkpoint.safetensors" "$TMP/h2/checkpoint.safetensors" \
    && ok "hint_schedule: resumed checkpoint is byte-identical" || bad "hint_schedule: resume is not exact"
expect_ok "train with hint_schedule=0:0" "$TRM" train $SMALL "hint_schedule=0:0" --out "$TMP/h0" --quiet
expect_ok "train without hints" "$TRM" train $SMALL --out "$TMP/hn" --quiet
cmp -s "$TMP/h0/checkpoint.safetensors" "$TMP/hn/checkpoint.safetensors" \
    && ok "hint_schedule=0:0 trains exactly as no hints" || bad "a 0% hint phase changed training"
cmp -s "$TMP/h1/checkpoint.safetensors" "$TMP/hn/checkpoint.safetensors" \
    && bad "hint_schedule=0:80 trained exactly as no hints" || ok "hints change the trained model"
$PY - "$TMP/h1" <<'PYEOF' && ok "hint_schedule is kept in the state's train_config" || bad "hint_schedule not saved"
import json, sys
sys.path.insert(0, "tests/reference")
from safetensors_io import load_file
_, m = load_file(sys.argv[1] + "/state.safetensors", as_torch=False)
assert json.loads(m["train_config"])["hint_schedule"] == "0:80;0.5:0"
PYEOF

# ---- bad recipe values: one line naming the field and what was expected
X="$TRM train $SMALL --out $TMP/x"
expect_err "cycles_schedule: must start at 0" "cycles_schedule: the first phase must start at fraction 0, got 0.1" $X "cycles_schedule=0.1:1,2"
expect_err "cycles_schedule: fractions increase" "cycles_schedule: phase 3 starts at 0.2: fractions must increase and stay below 1" \
    $X "cycles_schedule=0:1,2;0.5:2,2;0.2:3,3"
expect_err "cycles_schedule: fraction below 1" "phase 2 starts at 1: fractions must increase" $X "cycles_schedule=0:1,2;1:2,2"
expect_err "cycles_schedule: T,n pairs" "cycles_schedule: phase 2 '0.3:2': expected FRACTION:T,n" $X "cycles_schedule=0:1,2;0.3:2"
expect_err "cycles_schedule: n >= 1" "cycles_schedule: phase 1: n=0 out of range 1..256" $X "cycles_schedule=0:1,0"
expect_err "halt_schedule: one value" "halt_schedule: phase 1 '0:2,3': expected FRACTION:N" $X "halt_schedule=0:2,3"
expect_err "halt_schedule: N >= 1" "halt_schedule: phase 2: N=0 out of range 1..1024" $X "halt_schedule=0:4;0.5:0"
expect_err "hint_schedule: a percentage" "hint_schedule: phase 2: P=101 out of range 0..100" $X "hint_schedule=0:50;0.5:101"
expect_err "hint_schedule: form" "hint_schedule: phase 1 '0:0.5': expected FRACTION:PERCENT" $X "hint_schedule=0:0.5"
expect_err "graph: carry or nocarry" "training field graph: expected carry or nocarry, got 'none'" $X graph=none
expect_err "label_smoothing < 1" "training field label_smoothing: expected a number in \[0, 1\), got '1'" $X label_smoothing=1
expect_err "step_weight > 0" "training field step_weight: expected a number > 0, got '0'" $X step_weight=0
expect_err "nocarry_warmup: integer or auto" "training field nocarry_warmup: expected a non-negative number, got 'many'" $X nocarry_warmup=many
expect_err "seed of exactly 2^64 written as a float" "training field seed: expected an integer, got '1.8446744073709551616e19'" $X seed=1.8446744073709551616e19
expect_err "eval_steps >= 0" "training field eval_steps: expected a non-negative number, got '-1'" $X eval_steps=-1
expect_err "eval_steps <= 1024" "training field eval_steps: expected an integer in \\[0, 1024\\]" $X eval_steps=2000
expect_err "step_weight with nocarry" "step_weight: weighs the supervision steps of graph=carry" $X graph=nocarry step_weight=0.7

echo "1..$n"
