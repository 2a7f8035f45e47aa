#!/usr/bin/env bash
# configs/maze-cpu.sh - a Maze TRM that trains on a 2-core CPU in about an
# hour (66 minutes on a shared machine): 0.46 exact accuracy on 500 unseen
# mazes (docs/maze.md).
# 8x8 mazes with a unique shortest path of >= 10 moves (Maze-Hard is 30x30
# with >= 109 moves; see docs/maze.md), the tiny preset (hidden 64,
# 4 heads, 2 layers, RoPE) with T=2, n=2 and up to 4 supervision steps:
# ~132k parameters.
#
# Data: 16,000 generated mazes (seed 0); 500 held out for evaluation (never
# trained on); every train maze comes with its 8 dihedral transforms, one
# drawn per epoch (spec 4.3 --aug).
#
# usage: configs/maze-cpu.sh [RUN_DIR]    (resumable: rerun to continue)
set -euo pipefail
cd "$(dirname "$0")/.."
TRM=${TRM:-build/trm}
DATA=${DATA:-data/maze-8x8}
RUN=${1:-runs/maze-cpu}
if [ ! -f "$DATA/train/dataset.json" ]; then
    mkdir -p "$DATA"
    "$TRM" data maze-gen --size 8 --count 16000 --min-path 10 --seed 0 --out "$DATA/mazes.csv"
    "$TRM" data maze --input "$DATA/mazes.csv" --out "$DATA" --test-size 500 --aug --seed 0
fi
if [ -f "$RUN/state.safetensors" ]; then
    exec "$TRM" train --data "$DATA" --out "$RUN" --resume
fi
exec "$TRM" train --data "$DATA" --out "$RUN" --preset tiny \
    H_cycles=2 L_cycles=2 halt_max_steps=4 \
    global_batch_size=64 epochs=16 \
    lr=2e-3 lr_warmup_steps=50 weight_decay=0.1 puzzle_emb_lr=2e-3 \
    ema=true ema_rate=0.995 \
    eval_interval=2 eval_max_examples=500 checkpoint_every=100 log_every=20 seed=0
