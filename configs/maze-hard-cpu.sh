#!/usr/bin/env bash
# configs/maze-hard-cpu.sh - the study's best recipe (Muon) on the shared
# Maze-Hard data (30x30, 1000 training mazes, 1000 held-out test mazes) at a
# size one thread of a 2-core CPU trains in under 2 hours (docs/maze.md,
# "Maze-Hard on a CPU budget": measured, it learns no more than copying the
# question at this budget; 1.6e14 FLOPs, 0 valid paths; with the no-carry
# graph and depth curriculum given as options, 5.7e14 FLOPs, token accuracy
# 0.885 against the copy's 0.875, still 0 valid paths).
#
# Model: the maze-att architecture (RoPE attention, 2 layers, 16 puzzle
# prefix positions) at hidden 64 / 2 heads, T = 2, n = 2, up to 4
# supervision steps: 131,970 + 64 parameters, 8.0e9 training FLOPs per
# example (`trm info`). Data: the 1000 training mazes with their 8 dihedral
# transforms (--aug); evaluations on 200 of the 1000 test mazes, never
# trained on.
#
# usage: configs/maze-hard-cpu.sh [RUN_DIR] [key=value ...]
#        (resumable: rerun to continue)
# env:   TRM (build/trm), DATA (data/maze-hard-aug), EPOCHS (20),
#        EVALS (5), EVAL_N (200)
set -euo pipefail
cd "$(dirname "$0")/.."
TRM=${TRM:-build/trm}
DATA=${DATA:-data/maze-hard-aug}
SRC=${SRC:-../shared/data/maze-30x30-hard-1k}
EPOCHS=${EPOCHS:-20}
EVALS=${EVALS:-5}
EVAL_N=${EVAL_N:-200}
RUN=${1:-runs/maze-hard-cpu}
shift $(( $# >= 1 ? 1 : 0 ))
if [ ! -f "$DATA/train/dataset.json" ]; then
    [ -f "$SRC/train.csv" ] || { echo "maze-hard-cpu: no Maze-Hard data at $SRC (set SRC to the folder holding train.csv and test.csv)" >&2; exit 1; }
    "$TRM" data maze --input "$SRC/train.csv" --test-input "$SRC/test.csv" --out "$DATA" --aug >&2
fi
if [ -f "$RUN/state.safetensors" ]; then
    exec "$TRM" train --data "$DATA" --out "$RUN" --resume "$@"
fi
exec "$TRM" train --data "$DATA" --out "$RUN" --preset maze-att \
    hidden_size=64 num_heads=2 puzzle_emb_ndim=64 H_cycles=2 L_cycles=2 halt_max_steps=4 \
    global_batch_size=16 epochs="$EPOCHS" \
    eval_interval="$(awk -v e="$EPOCHS" -v k="$EVALS" 'BEGIN { print e / k }')" \
    eval_max_examples="$EVAL_N" eval_batch_size=50 \
    optimizer=muon muon_lr=0.005 label_smoothing=0.2 lr_min_ratio=0 \
    lr=1e-3 lr_warmup_steps=50 weight_decay=0.1 puzzle_emb_lr=1e-3 \
    ema=true ema_rate=0.99 checkpoint_every=25 log_every=5 seed=0 "$@"
