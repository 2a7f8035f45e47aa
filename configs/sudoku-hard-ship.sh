#!/usr/bin/env bash
# configs/sudoku-hard-ship.sh - the long run of the hard-Sudoku study's best
# recipe (issue 13, docs/sudoku-hard.md "The ship run"): Muon 0.005 + the
# no-carry graph with a warm-up of at most 2 steps and the depth curriculum
# (T,n) = (1,2) -> (2,4) -> (3,6), on the main training pool, hidden 128,
# batch 64, 6 epochs (9,048 steps, about 2.2e15 training FLOPs, sized for
# about 6 hours of a 2-core machine), EMA 0.999, evaluated every quarter
# epoch on 200 held-out real 17-clue puzzles at its trained depth (3 steps).
#
# The run spans sessions: stop it with SIGINT (it saves its state), then
#   configs/sudoku-hard-ship.sh --save    copies the run's state.safetensors
#                                         and metrics.jsonl to resume/ (commit
#                                         them), and
#   configs/sudoku-hard-ship.sh           continues: from RUN's own state, or
#                                         on a fresh clone from resume/'s copy.
#
# usage: configs/sudoku-hard-ship.sh [--save] [key=value ...]
# env:   RUN (runs/sudoku-hard-ship), SAVED (resume/sudoku-hard-ship), plus
#        configs/sudoku-hard-study.sh's (TRM, DATA, OMP_NUM_THREADS)
set -euo pipefail
cd "$(dirname "$0")/.."
RUN=${RUN:-runs/sudoku-hard-ship}
SAVED=${SAVED:-resume/sudoku-hard-ship}

if [ "${1:-}" = "--save" ]; then
    [ -f "$RUN/state.safetensors" ] || { echo "sudoku-hard-ship: $RUN/state.safetensors: no run state to save" >&2; exit 1; }
    mkdir -p "$SAVED"
    for f in state.safetensors metrics.jsonl; do
        cp "$RUN/$f" "$SAVED/$f.tmp" && mv "$SAVED/$f.tmp" "$SAVED/$f"
    done
    echo "sudoku-hard-ship: saved $RUN's state and metrics to $SAVED" >&2
    exit 0
fi

# A fresh clone continues from the committed copy, never over a newer run.
if [ ! -f "$RUN/state.safetensors" ] && [ -f "$SAVED/state.safetensors" ]; then
    mkdir -p "$RUN"
    cp "$SAVED/state.safetensors" "$SAVED/metrics.jsonl" "$RUN/"
    echo "sudoku-hard-ship: continuing from $SAVED" >&2
fi
EPOCHS=6 EVALS=24 EVAL_N=200 HIDDEN=128 BATCH=64 SPLIT=main \
    exec bash configs/sudoku-hard-study.sh best "$RUN" nocarry_warmup=2 eval_steps=3 "$@"
