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

# ---- SIGINT during a long evaluation: it ends at the next batch, the run
# saves and stops, and the partial evaluation is not logged
"$TRM" data sudoku --input data/sudoku-demo/puzzles.csv --out "$TMP/de" --test-size 200 --seed 1 >/dev/null 2>&1
"$TRM" train --data "$TMP/de" --preset tiny global_batch_size=8 epochs=50 eval_interval=0.2 eval_batch_size=1 \
    --out "$TMP/ev" >"$TMP/out" 2>"$TMP/err" &
pid=$!
for i in $(seq 100); do grep -q "eval: [0-9]*/200" "$TMP/err" && break; sleep 0.1; done
kill -INT $pid
t0=$SECONDS
wait $pid
rc=$?
[ $rc -eq 0 ] && [ $((SECONDS - t0)) -le 5 ] && grep -q "interrupted: saved state" "$TMP/err" \
    && ! grep -q '"eval"' "$TMP/ev/metrics.jsonl" \
    && ok "SIGINT during an evaluation stops at once, saves, logs no partial evaluation" \
    || { bad "SIGINT during evaluation (exit $rc, $((SECONDS - t0)) s)"; tail -c 300 "$TMP/err"; }

# ---- SIGKILL at any point: the last state saved is whole and resumes
"$TRM" train $COMMON --out "$TMP/k" max_steps=100000 checkpoint_every=3 >/dev/null 2>&1 &
pid=$!
for i in $(seq 100); do [ -f "$TMP/k/state.safetensors" ] && break; sleep 0.1; done
sleep 0.7
kill -KILL $pid
wait $pid 2>/dev/null
expect_ok "a run killed with SIGKILL resumes from its last state" "$TRM" train --data "$D" --out "$TMP/k" --resume stop_after=2
ls "$TMP/k" | grep -q "tmp" && bad "a temporary file of the killed run is left" || ok "no temporary file is left after the resume"

$PY - "$TMP/k/metrics.jsonl" <<'PYEOF' && ok "after a SIGKILL and resume, metrics.jsonl has each step once" || bad "metrics steps repeat after SIGKILL + resume"
import json, sys
recs = [json.loads(l) for l in open(sys.argv[1])]
steps = [r["step"] for r in recs if "lm_loss" in r]  # training records (an eval record nests its lm_loss)
assert steps == sorted(set(steps)), steps
PYEOF

# ---- the run folder: nothing lost, one run at a time (issue 11)
# patch FILE TENSOR INDEX V[,V...]: overwrite elements of a safetensors file in place
patch() {
    $PY - "$@" <<'PYEOF'
import json, struct, sys
path, name, idx, val = sys.argv[1], sys.argv[2], int(sys.argv[3]), sys.argv[4]
with open(path, "r+b") as f:
    (n,) = struct.unpack("<Q", f.read(8)); t = json.loads(f.read(n))[name]
    fmt, size = {"I32": ("<i", 4), "I64": ("<q", 8), "F32": ("<f", 4)}[t["dtype"]]
    f.seek(8 + n + t["data_offsets"][0] + idx * size)
    for v in val.split(","): f.write(struct.pack(fmt, float(v) if fmt == "<f" else int(float(v))))
PYEOF
}
expect_ok "a run stopped at step 10 to resume from" "$TRM" train $COMMON --out "$TMP/s" max_steps=20 stop_after=10
bad_state() { # NAME PATTERN TENSOR INDEX VALUE
    rm -rf "$TMP/sp" && cp -r "$TMP/s" "$TMP/sp" && patch "$TMP/sp/state.safetensors" "$3" "$4" "$5"
    expect_err "resume rejects $1" "$2" "$TRM" train --data "$D" --out "$TMP/sp" --resume
}
bad_state "a token id past the vocabulary" "carry.inputs\[0\] = 99999: expected a token id in \[0, 11\)" carry.inputs 0 99999
bad_state "a negative puzzle id" "carry.puzzle_ids\[0\] = -7: expected a puzzle id in \[0, " carry.puzzle_ids 0 -7
bad_state "a label past the vocabulary" "carry.labels\[0\] = 99999: expected a label in \[0, 11\) or -100" carry.labels 0 99999
bad_state "a negative label" "carry.labels\[5\] = -5: expected a label" carry.labels 5 -5
bad_state "a negative step counter" "run.counters: step -5 out of range" run.counters 0 -5
bad_state "a step counter past the run's end" "run.counters: step 1000000000000000 out of range: this run ends at step 20" run.counters 0 1e15
bad_state "an optimizer step that is not the run's" "optim.steps = 11: expected the run's step 10" optim.steps 0 11
bad_state "a NaN Adam moment" "adam_m.lm_head.weight\[3\] = nan: expected a finite value" adam_m.lm_head.weight 3 nan
bad_state "a negative Adam second moment" "adam_v.lm_head.weight\[0\] = -1: expected a finite value >= 0" adam_v.lm_head.weight 0 -1
bad_state "an infinite weight" "live.lm_head.weight\[1\] = inf" live.lm_head.weight 1 inf
bad_state "a NaN in the carry" "carry.z\[7\] = nan" carry.z 7 nan
bad_state "a halted flag of 2" "carry.halted\[1\] = 2: expected a halted flag in \[0, 2\)" carry.halted 1 2
bad_state "a step count past halt_max_steps" "carry.steps\[0\] = 99: expected a step count" carry.steps 0 99
bad_state "an all-zero loader RNG" "loader.rng: all-zero RNG state" loader.rng 0 0,0,0,0


# --resume keeps the saved config: a preset does not replace it, explicit keys override it (and say so)
meta() { $PY -c "import sys; sys.path.insert(0, 'tests/reference'); from safetensors_io import read_header; import json; h, _ = read_header(sys.argv[1]); print(json.loads(h['__metadata__']['train_config'])[sys.argv[2]])" "$@"; }
rm -rf "$TMP/sp" && cp -r "$TMP/s" "$TMP/sp"
expect_ok "resume --preset (the run's own) keeps the saved training config" "$TRM" train --data "$D" --out "$TMP/sp" --resume --preset tiny stop_after=2
[ "$(meta "$TMP/sp/state.safetensors" lr)" = 0.001 ] && [ "$(meta "$TMP/sp/state.safetensors" epochs)" = 1 ] \
    && [ "$(meta "$TMP/sp/state.safetensors" eval_interval)" = 0.5 ] && ok "saved lr, epochs and eval_interval survive --resume --preset" \
    || bad "--resume --preset replaced the saved config (lr $(meta "$TMP/sp/state.safetensors" lr))"
grep -q "stop_after=2 replaces the saved run's 10" "$TMP/err" && ok "an override on --resume is printed" || { bad "override not printed"; cat "$TMP/err"; }
expect_ok "resume with lr=2e-3" "$TRM" train --data "$D" --out "$TMP/sp" --resume lr=2e-3 stop_after=1
grep -q "lr=0.002 replaces the saved run's 0.001" "$TMP/err" && [ "$(meta "$TMP/sp/state.safetensors" lr)" = 0.002 ] \
    && ok "an explicit key=value overrides the saved config on --resume" || bad "lr override on --resume"
expect_err "resume with a conflicting preset" "--preset sudoku-att conflicts with the run being resumed: hidden_size is 512 in the preset, 64 in the saved run" \
    "$TRM" train --data "$D" --out "$TMP/sp" --resume --preset sudoku-att

# a finished run's folder is not overwritten by a fresh run
lines=$(wc -l <"$TMP/a/metrics.jsonl"); cp "$TMP/a/checkpoint.safetensors" "$TMP/ck.bak"
expect_err "a fresh run refuses a folder holding a run" "run folder is not empty \(it holds .*\): continue that run with --resume, or start over in it with --force" \
    "$TRM" train $COMMON --out "$TMP/a" max_steps=1
[ "$(wc -l <"$TMP/a/metrics.jsonl")" -eq "$lines" ] && cmp -s "$TMP/a/checkpoint.safetensors" "$TMP/ck.bak" \
    && ok "the refused run left metrics and checkpoint untouched" || bad "the earlier run was damaged"
cp -r "$TMP/a" "$TMP/f"
expect_ok "--force starts over in a used folder" "$TRM" train $COMMON --out "$TMP/f" max_steps=1 --force
[ "$(grep -c "\"lr\"" "$TMP/f/metrics.jsonl")" -eq 1 ] && ok "--force begins a fresh metrics log" || bad "--force metrics"
expect_err "--resume and --force together" "give one" "$TRM" train --data "$D" --out "$TMP/f" --resume --force

# one run per folder: a second run on a busy folder stops at once, touching nothing
"$TRM" train $COMMON --out "$TMP/l" max_steps=100000 checkpoint_every=2 >/dev/null 2>&1 &
pid=$!
for i in $(seq 100); do [ -f "$TMP/l/state.safetensors" ] && break; sleep 0.1; done
expect_err "a second run on a busy folder is refused" "l: another trm train is running in this run folder" \
    "$TRM" train --data "$D" --out "$TMP/l" --resume --quiet
expect_err "... also with --force" "l: another trm train is running in this run folder" \
    "$TRM" train $COMMON --out "$TMP/l" --force --quiet
kill -INT $pid; wait $pid
expect_ok "the first run, interrupted, resumes" "$TRM" train --data "$D" --out "$TMP/l" --resume stop_after=1

# an unwritable run folder is found before training, not at the first save
if [ "$(id -u)" -ne 0 ]; then
    mkdir "$TMP/ro" && chmod 555 "$TMP/ro"
    expect_err "an unwritable --out fails before the first step" "ro: cannot write in the run folder: Permission denied" \
        "$TRM" train $COMMON --out "$TMP/ro" max_steps=20
    chmod 755 "$TMP/ro"
else # root writes anywhere a permission bit forbids; /proc/self is a folder no one can add to
    expect_err "an unwritable --out fails before the first step" "/proc/self: cannot write in the run folder" \
        "$TRM" train $COMMON --out /proc/self max_steps=20
fi
grep -q "step " "$TMP/err" && bad "training ran before the folder was found unwritable" || ok "no training step ran"
# the run folder is made by io_mkdir_p: a file on the way is named
echo x > "$TMP/afile"
expect_err "train: --out under a file" "afile: exists and is not a directory" \
    "$TRM" train $COMMON --out "$TMP/afile/run" max_steps=20

# a loss that turns non-finite stops the run, keeping the last good state
rm -rf "$TMP/sp" && cp -r "$TMP/s" "$TMP/sp"
# (stderr also has the override notes: the error is its last line)
"$TRM" train --data "$D" --out "$TMP/sp" --resume lr=1e30 lr_warmup_steps=0 --quiet >/dev/null 2>"$TMP/err"
rc=$?
[ $rc -eq 1 ] && tail -1 "$TMP/err" | grep -qE "step 12: training loss is not finite .*: stopped; the last good state \(step 10\) is kept in .*sp/state.safetensors" \
    && ok "a non-finite loss stops training with an error" || { bad "non-finite loss (exit $rc)"; cat "$TMP/err"; }
cmp -s "$TMP/s/state.safetensors" "$TMP/sp/state.safetensors" && cmp -s "$TMP/s/checkpoint.safetensors" "$TMP/sp/checkpoint.safetensors" \
    && ok "the last good state and checkpoint are not overwritten by the diverged run" || bad "diverged run overwrote the saved state"
expect_err "a fresh run that diverges says nothing was saved" "training loss is not finite .*nothing was saved" \
    "$TRM" train $COMMON --out "$TMP/nan" lr=1e30 lr_warmup_steps=0 max_steps=20 --quiet

# metrics logged after the last save (a SIGKILL) are dropped on resume, not repeated
rm -rf "$TMP/sp" && cp -r "$TMP/s" "$TMP/sp"
printf '{"step":15,"lr":0.001,"lm_loss":1}\n{"step":20,"eval":{"examples":8}}\n{"step":25,"lm_lo' >>"$TMP/sp/metrics.jsonl"
expect_ok "resume after logging past the last save" "$TRM" train --data "$D" --out "$TMP/sp" --resume stop_after=0
$PY - "$TMP/sp/metrics.jsonl" "$TMP/a/metrics.jsonl" <<'PYEOF' && ok "metrics.jsonl of a resumed run equals the uninterrupted run's (no repeats, no torn line)" || bad "metrics after resume"
import json, sys
strip = lambda r: {k: v for k, v in r.items() if k != "examples_per_s"}
a = [strip(json.loads(l)) for l in open(sys.argv[1])]; b = [strip(json.loads(l)) for l in open(sys.argv[2])]
assert a == b, (a, b)
PYEOF

# max_steps only stops: the LR schedule and evaluations follow the epochs (S_total = 30 here)
expect_ok "max_steps=10 with a cosine schedule" "$TRM" train $COMMON --out "$TMP/m10" max_steps=10 lr_min_ratio=0
$PY - "$TMP/m10/metrics.jsonl" <<'PYEOF' && ok "max_steps does not end the LR decay early" || bad "max_steps shortened the LR schedule"
import json, math, sys
r = [json.loads(l) for l in open(sys.argv[1]) if '"lr"' in l][-1]
want = 1e-3 * 0.5 * (1 + math.cos(math.pi * (10 - 2) / (30 - 2)))
assert r["step"] == 10 and abs(r["lr"] - want) < 1e-8, (r, want)
PYEOF
expect_ok "max_steps=20" "$TRM" train $COMMON --out "$TMP/m20" max_steps=20
[ "$(grep -o '"step":[0-9]*,"eval"' "$TMP/m20/metrics.jsonl" | tr '\n' ' ')" = '"step":15,"eval" "step":20,"eval" ' ] \
    && ok "evaluations every eval_interval epochs (step 15 of 30) and at the stop" || { bad "eval cadence"; cat "$TMP/m20/metrics.jsonl"; }
expect_ok "max_steps=30 (= S_total)" "$TRM" train $COMMON --out "$TMP/m30" max_steps=30
expect_ok "max_steps=32 runs past S_total" "$TRM" train $COMMON --out "$TMP/m32" max_steps=32
grep -q "step 32/32" "$TMP/err" && cmp -s "$TMP/m30/checkpoint.safetensors" "$TMP/m32/checkpoint.safetensors" \
    && ok "steps past S_total run and change nothing" || bad "steps past S_total"

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
expect_err "train: --resume of a missing run folder" "empty: no such run folder \(nothing to --resume\)" \
    "$TRM" train --data "$D" --out "$TMP/empty" --resume global_batch_size=768
mkdir -p "$TMP/empty2"
expect_err "train: --resume without state" "empty2/state.safetensors: no training state in this run folder" \
    "$TRM" train --data "$D" --out "$TMP/empty2" --resume
expect_err "train: vocab_size that is not the dataset's" "vocab_size=12 was given, but the dataset .* has vocab_size 11" \
    "$TRM" train $COMMON --out "$TMP/x" vocab_size=12
expect_err "train: seq_len that is not the dataset's" "seq_len=80 was given, but the dataset .* has seq_len 81" \
    "$TRM" train $COMMON --out "$TMP/x" seq_len=80
expect_err "solve: malformed puzzle" "81" "$TRM" solve --checkpoint "$TMP/a/checkpoint.safetensors" "12345"
expect_err "eval: dataset of another task" "does not fit" "$TRM" eval --checkpoint "${TRM_FIXTURES:-build/fixtures}/att_small/weights.safetensors" --data "$D"

echo "1..$n"
