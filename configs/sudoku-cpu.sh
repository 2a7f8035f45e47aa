#!/usr/bin/env bash
# configs/sudoku-cpu.sh - the CPU recipe behind models/sudoku-cpu: the best
# Sudoku TRM we could train on a 2-core machine in about an hour.
#
# Data: the 49,151 real grids of the 17-clue collection
# (../shared/data/sudoku/tdoku-17-clue). Raw 17-clue puzzles (64 blanks) are
# far out of reach for a model this small trained this briefly, so training
# uses a curriculum of easier puzzles cut from the same real solution grids:
# each training version blanks 8..56 random cells (unique solution
# enforced). 1,000 grids are held out (never trained on) for evaluation.
#
# Model: the `tiny` preset (hidden 64, 4 heads, 2 layers) with T=2, n=3
# and up to 8 supervision steps: ~133k parameters.
#
# usage: configs/sudoku-cpu.sh [RUN_DIR]    (resumable: rerun to continue)
set -euo pipefail
cd "$(dirname "$0")/.."
TRM=${TRM:-build/trm}
SRC=../shared/data/sudoku/tdoku-17-clue/puzzles2_17_clue.csv
DATA=${DATA:-data/sudoku-17-curriculum}
RUN=${1:-runs/sudoku-cpu}
[ -f "$DATA/train/dataset.json" ] || \
    "$TRM" data sudoku --input "$SRC" --out "$DATA" --train-size 45000 --test-size 1000 --blanks 8-56 --seed 0
if [ -f "$RUN/state.safetensors" ]; then
    exec "$TRM" train --data "$DATA" --out "$RUN" --resume
fi
exec "$TRM" train --data "$DATA" --out "$RUN" --preset tiny \
    H_cycles=2 L_cycles=3 halt_max_steps=8 \
    global_batch_size=64 epochs=9 max_steps=6000 \
    lr=1e-3 lr_warmup_steps=200 weight_decay=0.1 puzzle_emb_lr=1e-3 \
    ema=true ema_rate=0.998 \
    eval_interval=1.5 eval_max_examples=500 checkpoint_every=250 log_every=50 seed=0
