#!/usr/bin/env bash
# configs/sudoku-hard-study.sh - the recipes of the hard-Sudoku study
# (issue 13, docs/sudoku-hard.md): one model, one dataset, one schedule
# length; only the recipe changes. Every run logs its cumulative training
# FLOPs (metrics.jsonl "flops"), so curves compare at equal compute.
#
# usage: configs/sudoku-hard-study.sh RECIPE [RUN_DIR] [key=value ...]
#   RECIPE    reference  the paper's Sudoku recipe (AdamATan2 lr 1e-4,
#                        weight decay 1.0, carry graph, T=3 n=6, 16 steps, EMA)
#             muon       reference + Muon (lr 0.005) on the block matrices,
#                        AdamW on the rest, label smoothing 0.2, cosine to 0
#             nocarry    reference + the no-carry graph and the CGAR depth
#                        curriculum (T,n) = (1,2) -> (2,4) -> (3,6) at 30%/60%
#             replay     reference + failure replay (a quarter of new rows)
#             best       muon + nocarry (all of the above but replay)
#             hints      muon + hints: new rows show part of their answer as
#                        givens, up to 60% -> 30% -> 0% of the unknown cells
#             curriculum muon on the curriculum pool (DATA/curriculum, built
#                        by configs/sudoku-hard-data.sh --curriculum): the
#                        17-clue training grids as puzzles of 8..56 blanks
#             cpu        models/sudoku-cpu's recipe (configs/sudoku-cpu.sh) on
#                        the curriculum pool: its own small model (hidden 64,
#                        T=2 n=3, 8 steps; HIDDEN is ignored), AdamATan2 lr 1e-3
#   RUN_DIR   default runs/hard-RECIPE; rerun to continue (--resume)
#   key=value extra training or model keys (e.g. stop_after=200)
# env: TRM (build/trm), DATA (data/sudoku-hard; built by
#      configs/sudoku-hard-data.sh when missing), HIDDEN (128), BATCH (64),
#      EPOCHS (2: the schedule's length, 96,497 puzzles per epoch),
#      SPLIT (the training pool: main, or curriculum; default: the recipe's),
#      EVALS (20 evaluations over the schedule), EVAL_N (200 held-out 17-clue puzzles each)
set -euo pipefail
cd "$(dirname "$0")/.."
TRM=${TRM:-build/trm}
DATA=${DATA:-data/sudoku-hard}
HIDDEN=${HIDDEN:-128}
BATCH=${BATCH:-64}
EPOCHS=${EPOCHS:-2}
EVALS=${EVALS:-20}
EVAL_N=${EVAL_N:-200}
RECIPE=${1:?usage: configs/sudoku-hard-study.sh RECIPE [RUN_DIR] [key=value ...]}
RUN=${2:-runs/hard-$RECIPE}
shift $(( $# >= 2 ? 2 : 1 ))

MODEL="--preset sudoku-att hidden_size=$HIDDEN num_heads=$((HIDDEN / 32)) puzzle_emb_ndim=$HIDDEN"
COMMON="global_batch_size=$BATCH epochs=$EPOCHS eval_interval=$(awk -v e="$EPOCHS" -v k="$EVALS" 'BEGIN { print e / k }')
        eval_max_examples=$EVAL_N eval_batch_size=100 log_every=10 checkpoint_every=50 seed=0
        lr=1e-4 lr_warmup_steps=100 weight_decay=1.0 puzzle_emb_lr=1e-4 puzzle_emb_weight_decay=1.0
        ema=true ema_rate=0.999"
# muon_lr 0.005, not the published 0.02: 0.02 collapsed at hidden 128 (docs/sudoku-hard.md)
MUON="optimizer=muon muon_lr=0.005 label_smoothing=0.2 lr_min_ratio=0"
NOCARRY="graph=nocarry cycles_schedule=0:1,2;0.3:2,4;0.6:3,6"
HINTS="hint_schedule=0:60;0.5:30;0.8:0"
case "$RECIPE" in
    reference) KEYS="" ;;
    muon) KEYS="$MUON" ;;
    nocarry) KEYS="$NOCARRY" ;;
    replay) KEYS="replay_failures=0.25" ;;
    best) KEYS="$MUON $NOCARRY" ;;
    hints) KEYS="$MUON $HINTS" ;;
    curriculum) KEYS="$MUON" ;;
    cpu) MODEL="--preset tiny H_cycles=2 L_cycles=3 halt_max_steps=8"
         KEYS="lr=1e-3 lr_warmup_steps=200 weight_decay=0.1 puzzle_emb_lr=1e-3 puzzle_emb_weight_decay=0.1 ema_rate=0.998" ;;
    *) echo "sudoku-hard-study: unknown recipe '$RECIPE' (reference, muon, nocarry, replay, best, hints, curriculum, cpu)" >&2; exit 1 ;;
esac
POOL=main
case "$RECIPE" in curriculum | cpu) POOL=curriculum ;; esac
SPLIT=${SPLIT:-$POOL}
case "$SPLIT" in main | curriculum) ;; *) echo "sudoku-hard-study: SPLIT=$SPLIT: expected main or curriculum" >&2; exit 1 ;; esac

# The recipe is checked first: a typo must not start the data build.
[ -f "$DATA/main/train/dataset.json" ] || bash configs/sudoku-hard-data.sh "$DATA" >&2
[ -f "$DATA/$SPLIT/train/dataset.json" ] || bash configs/sudoku-hard-data.sh --curriculum "$DATA" >&2
if [ -f "$RUN/state.safetensors" ]; then
    exec "$TRM" train --data "$DATA/$SPLIT" --out "$RUN" --resume "$@"
fi
# shellcheck disable=SC2086 # word splitting of the key lists is intended
exec "$TRM" train --data "$DATA/$SPLIT" --out "$RUN" $MODEL $COMMON $KEYS "$@"
