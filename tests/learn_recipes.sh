#!/usr/bin/env bash
# tests/learn_recipes.sh TRM - the learning test of the hard-Sudoku study's
# best recipe (docs/training.md, "Recipes"; docs/sudoku-hard.md): the 4x4
# Sudoku of tests/learn.sh, trained with Muon (lr 0.005) on the block
# matrices and AdamW on the rest, no carry across steps (detached warm-up
# steps, loss on the final step), a growing depth (T, n) = (1, 1) then
# (2, 2), a halting schedule of 2 then 3 supervision steps, and label
# smoothing 0.1, must reach a fixed exact accuracy on unseen puzzles.
# Chance level is ~0; the measured value (0.69) is in docs/training.md; it
# costs about half the CPU time of tests/learn.sh. Deterministic by seed at
# a fixed thread count (1 here: tests/run.sh runs the learning tests side
# by side, a core each).
. "$(dirname "$0")/lib.sh" # TRM, TMP, n, ok/bad
export OMP_NUM_THREADS=1
THRESHOLD=0.35

"$TRM" data sudoku4 --out "$TMP/d" --train-size 3000 --test-size 200 --blanks 6 --seed 0 >/dev/null 2>"$TMP/err" \
    && ok "data sudoku4 builds the task" || { bad "data sudoku4"; cat "$TMP/err"; }
ARGS="--data $TMP/d --preset tiny global_batch_size=64 epochs=100 lr=2e-3 lr_warmup_steps=20 ema=false
      eval_interval=0 log_every=100 seed=0 max_steps=800 graph=nocarry cycles_schedule=0:1,1;0.3:2,2
      halt_schedule=0:2;0.5:3 label_smoothing=0.1 optimizer=muon muon_lr=0.005"

start=$SECONDS
"$TRM" train $ARGS --out "$TMP/run" --quiet 2>"$TMP/err" || { bad "train"; cat "$TMP/err"; }
# the run's own final evaluation: all 200 test puzzles at the last phase's depth and halting
acc=$(sed -n 's/.*"eval":{.*"exact_accuracy":\([0-9.e-]*\).*/\1/p' "$TMP/run/metrics.jsonl" | tail -1)
echo "# recipes learning test: exact accuracy $acc on 200 unseen 4x4 puzzles after 800 steps ($((SECONDS - start)) s); threshold $THRESHOLD"
awk -v a="${acc:-0}" -v t=$THRESHOLD 'BEGIN { exit !(a >= t) }' \
    && ok "muon + nocarry + depth/halt schedules + label smoothing learn 4x4 Sudoku: exact accuracy $acc >= $THRESHOLD" \
    || bad "recipes learning: exact accuracy ${acc:-none} < $THRESHOLD"
echo "1..$n"
