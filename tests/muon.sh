#!/usr/bin/env bash
# tests/muon.sh TRM - training with optimizer=muon end to end: the training
# keys, the state file's Muon momentum, bit-exact resume, and bad values
# (TAP lines).
. "$(dirname "$0")/lib.sh" # TRM, PY, TMP, n, ok/bad, expect_ok/expect_err
# Single-threaded: bit-exact resume compares runs made with equal thread
# counts.
export OMP_NUM_THREADS=1
ERR_LINES=5
ERR_STDOUT_ANY=1

D=$TMP/data
expect_ok "trm data sudoku builds a dataset" "$TRM" data sudoku --input data/sudoku-demo/puzzles.csv \
    --out "$D" --test-size 8 --aug 1 --seed 1
COMMON="--data $D --preset tiny global_batch_size=8 epochs=1 lr_warmup_steps=2 eval_interval=0 eval_max_examples=8 log_every=5 max_steps=10"
MUON="optimizer=muon muon_lr=0.02 lr=1e-4 muon_weight_decay=0.1"

# ---- the published recipe's keys run, and the state holds Muon's momentum
expect_ok "trm train optimizer=muon muon_lr=0.02 lr=1e-4 runs" "$TRM" train $COMMON $MUON --out "$TMP/a"
$PY - "$TMP/a/state.safetensors" <<'PYEOF' && ok "state: muon_m for the 8 block matrices, adam_m/adam_v for the rest, optimizer=muon saved" || bad "Muon state file"
import json, sys
sys.path.insert(0, "tests/reference")
from safetensors_io import load_file
t, meta = load_file(sys.argv[1], as_torch=False)
tc = json.loads(meta["train_config"])
assert tc["optimizer"] == "muon" and tc["muon_adam"] == "adamw" and abs(tc["muon_lr"] - 0.02) < 1e-9, tc
muon = sorted(k[len("muon_m."):] for k in t if k.startswith("muon_m."))
assert len(muon) == 8 and all(k.startswith("L_level.layers.") for k in muon), muon
assert not any(k.startswith("adam_") and k.split(".", 1)[1] in muon for k in t)
adam = sorted(k[len("adam_m."):] for k in t if k.startswith("adam_m."))
assert adam == sorted(k[len("adam_v."):] for k in t if k.startswith("adam_v.")), adam
assert "lm_head.weight" in adam and "embed_tokens.embedding_weight" in adam and "q_head.bias" in adam, adam
assert any(abs(v).max() > 0 for k, v in t.items() if k.startswith("muon_m.")), "momentum never moved"
PYEOF

# ---- exact resume of a Muon run: 4 + 6 steps == 10 steps, bit for bit
expect_ok "muon run stops after 4 steps (stop_after)" "$TRM" train $COMMON $MUON --out "$TMP/b" stop_after=4
expect_ok "muon run --resume continues" "$TRM" train --data "$D" --out "$TMP/b" --resume stop_after=0
cmp -s "$TMP/a/checkpoint.safetensors" "$TMP/b/checkpoint.safetensors" \
    && ok "resumed Muon run's checkpoint is byte-identical to the uninterrupted run's" || bad "Muon resume is not exact"
$PY - "$TMP/a/state.safetensors" "$TMP/b/state.safetensors" <<'PYEOF' && ok "resumed Muon run's state (weights, Muon momentum, Adam moments, EMA) is identical" || bad "Muon resume state differs"
import sys
sys.path.insert(0, "tests/reference")
from safetensors_io import load_file
a, _ = load_file(sys.argv[1], as_torch=False); b, _ = load_file(sys.argv[2], as_torch=False)
assert a.keys() == b.keys()
for k in a: assert (a[k] == b[k]).all(), k
PYEOF
# a Muon state does not load into an Adam run (no momentum taken for a moment)
expect_err "resuming a Muon run as adam_atan2 is refused" "optimizer=\"adam_atan2\" cannot change in a run being resumed \(it was trained with \"muon\"\)" \
    "$TRM" train --data "$D" --out "$TMP/b" --resume optimizer=adam_atan2 max_steps=12

# ---- bad values: one line naming the field and what it takes
expect_err "optimizer=sgd" "training field optimizer: expected adam_atan2, adamw or muon, got 'sgd'" \
    "$TRM" train $COMMON --out "$TMP/x" optimizer=sgd
expect_err "muon_adam=muon" "training field muon_adam: expected adamw or adam_atan2, got 'muon'" \
    "$TRM" train $COMMON --out "$TMP/x" optimizer=muon muon_adam=muon
expect_err "muon_ns_steps=0" "training field muon_ns_steps: expected an integer in \[1, 100\], got '0'" \
    "$TRM" train $COMMON --out "$TMP/x" optimizer=muon muon_ns_steps=0
expect_err "muon_momentum=1" "training field muon_momentum: expected a number in \[0, 1\), got '1'" \
    "$TRM" train $COMMON --out "$TMP/x" optimizer=muon muon_momentum=1
expect_err "muon_nesterov=maybe" "training field muon_nesterov: expected true or false, got 'maybe'" \
    "$TRM" train $COMMON --out "$TMP/x" muon_nesterov=maybe
[ -e "$TMP/x" ] && bad "a refused run left a run directory" || ok "refused runs create nothing"

echo "1..$n"
