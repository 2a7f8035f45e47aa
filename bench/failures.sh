#!/usr/bin/env bash
# bench/failures.sh - training with and without failure replay
# (`trm train --replay-failures R`), the same data, steps and seeds; prints
# the held-out exact accuracy curves side by side as a markdown table.
#   TRM=build/trm  STEPS=600  SEEDS="0 1 2 3"  RATIO=0.25  BLANKS=8  OUT=runs/failures
# 4x4 Sudoku with BLANKS of 16 cells blank, the tiny preset (T = 2, n = 2, up
# to 4 supervision steps), batch 64, evaluation every 4 epochs (125 steps)
# and at STEPS on 500 held-out puzzles. Minutes per run on 2 idle CPU cores.
set -euo pipefail
cd "$(dirname "$0")/.."
TRM=${TRM:-build/trm}
STEPS=${STEPS:-600}
SEEDS=${SEEDS:-0 1 2 3}
RATIO=${RATIO:-0.25}
OUT=${OUT:-runs/failures}
BLANKS=${BLANKS:-8}
D=${DATA:-runs/data/sudoku4-${BLANKS}blanks} # runs/ is gitignored
export OMP_NUM_THREADS=${OMP_NUM_THREADS:-1}
[ -f "$D/test/dataset.json" ] || "$TRM" data sudoku4 --out "$D" --train-size 2000 --test-size 500 --blanks "$BLANKS" --seed 0 >/dev/null
COMMON="--data $D --preset tiny H_cycles=2 L_cycles=2 halt_max_steps=4 global_batch_size=64 epochs=40
        lr=2e-3 lr_warmup_steps=20 ema=false max_steps=$STEPS eval_interval=$((40 / 10)) eval_max_examples=500 log_every=50 --quiet"
for seed in $SEEDS; do
    for arm in plain replay; do
        run=$OUT/$arm-s$seed
        [ -f "$run/checkpoint.safetensors" ] && grep -q "\"step\":$STEPS,\"eval\"" "$run/metrics.jsonl" 2>/dev/null && continue
        extra=""; [ $arm = replay ] && extra="--replay-failures $RATIO"
        "$TRM" train $COMMON seed=$seed --out "$run" $extra --force # an unfinished run starts over
    done
done
/usr/bin/python3 - "$OUT" "$SEEDS" <<'PYEOF'
import json, sys
out, seeds = sys.argv[1], sys.argv[2].split()
def curve(run):
    rows = [json.loads(l) for l in open(f"{out}/{run}/metrics.jsonl")]
    return {r["step"]: r["eval"] for r in rows if "eval" in r}
c = {(a, s): curve(f"{a}-s{s}") for a in ("plain", "replay") for s in seeds}
steps = sorted(c[("plain", seeds[0])])
mean = lambda a, st, k: sum(c[(a, s)][st][k] for s in seeds) / len(seeds)
head = " | ".join(f"plain s{s} | replay s{s}" for s in seeds)
print(f"| step | exact: {head} | exact: plain mean | exact: replay mean | token acc.: plain mean | token acc.: replay mean |")
print("|---" * (5 + 2 * len(seeds)) + "|")
for st in steps:
    cells = " | ".join(f"{c[('plain', s)][st]['exact_accuracy']:.3f} | {c[('replay', s)][st]['exact_accuracy']:.3f}" for s in seeds)
    print(f"| {st} | {cells} | {mean('plain', st, 'exact_accuracy'):.3f} | {mean('replay', st, 'exact_accuracy'):.3f} "
          f"| {mean('plain', st, 'accuracy'):.3f} | {mean('replay', st, 'accuracy'):.3f} |")
PYEOF
