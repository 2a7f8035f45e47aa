#!/usr/bin/env bash
# configs/sudoku-hard-eval.sh CHECKPOINT - a hard-Sudoku checkpoint on the
# held-out sets of the fixed split (configs/sudoku-hard-data.sh,
# docs/sudoku-hard.md), three ways, as one markdown table on stdout:
#   plain      trm eval at the checkpoint's depth (or STEPS supervision steps)
#   deeper     the same with --cycles DEEP: more recursion per step than trained
#              (docs/search.md, "Test-time compute")
#   rollouts   --search --rollouts K --noise SIGMA at K x the plain budget:
#              K lanes of STEPS steps, the checker's or the halting head's pick
# Each row: puzzles, exact accuracy, cell accuracy (all 81 cells) and the
# wall seconds per puzzle of that evaluation (BATCH puzzles at a time).
# env: TRM (build/trm), DATA (data/sudoku-hard; built when missing),
#      SETS ("main forum-1106 msolve"; main is the 1000 real 17-clue puzzles),
#      EVAL_N (0 = every puzzle of a set), STEPS (0 = the checkpoint's
#      halt_max_steps; a no-carry model wants its trained depth),
#      DEEP (T,n; default: twice the checkpoint's T, same n),
#      ROLLOUTS (8), NOISE (1.0), BATCH (64)
set -euo pipefail
cd "$(dirname "$0")/.."
TRM=${TRM:-build/trm}
DATA=${DATA:-data/sudoku-hard}
SETS=${SETS:-main forum-1106 msolve}
EVAL_N=${EVAL_N:-0}
ROLLOUTS=${ROLLOUTS:-8}
NOISE=${NOISE:-1.0}
BATCH=${BATCH:-64}
PY=/usr/bin/python3
CK=${1:?usage: configs/sudoku-hard-eval.sh CHECKPOINT}
die() { echo "sudoku-hard-eval: $*" >&2; exit 1; }
[ -f "$CK" ] || die "$CK: no such checkpoint file"
[ -x "$PY" ] || die "$PY is needed to read trm's JSON (Debian package python3)"

# One `trm info` gives the depth the model was trained with.
INFO=$("$TRM" info --checkpoint "$CK") || exit 1
read -r T N HMAX < <(echo "$INFO" | $PY -c \
    "import json,sys; c=json.load(sys.stdin)['config']; print(c['H_cycles'], c['L_cycles'], c['halt_max_steps'])")
STEPS=${STEPS:-0}
[ "$STEPS" = 0 ] && STEPS=$HMAX
DEEP=${DEEP:-$((2 * T)),$N}
[ -f "$DATA/main/test/dataset.json" ] || bash configs/sudoku-hard-data.sh "$DATA" >&2

# row SET MODE [extra trm eval options]: one evaluation, one table row
row() {
    local set=$1 mode=$2 t0 t1 out
    shift 2
    echo "sudoku-hard-eval: $set, $mode" >&2
    t0=$(date +%s.%N)
    out=$("$TRM" eval --checkpoint "$CK" --data "$DATA/$set" --max-examples "$EVAL_N" \
          --steps "$STEPS" --batch "$BATCH" --quiet "$@") || exit 1
    t1=$(date +%s.%N)
    echo "$out" | $PY -c "
import json, sys
d = json.load(sys.stdin)
n = d['examples']
print(f\"| $set | $mode | {n} | {d['exact_accuracy']:.3f} | {d['accuracy']:.3f} | {($t1 - $t0) / max(n, 1):.3f} |\")"
}

for s in $SETS; do
    [ -f "$DATA/$s/test/dataset.json" ] || die "$DATA/$s/test/dataset.json: no such held-out set (SETS: main forum-1106 msolve)"
done
# The table is printed whole at the end: a failed evaluation leaves no half table.
TABLE="| held-out set | test-time compute | puzzles | exact | cells | s/puzzle |
|---|---|---|---|---|---|"
for s in $SETS; do
    TABLE+=$'\n'$(row "$s" "plain: T,n = $T,$N, $STEPS steps")
    TABLE+=$'\n'$(row "$s" "deeper: T,n = $DEEP, $STEPS steps" --cycles "$DEEP")
    TABLE+=$'\n'$(row "$s" "rollouts: $ROLLOUTS x $STEPS steps, noise $NOISE" \
        --search --rollouts "$ROLLOUTS" --noise "$NOISE" --budget "$((ROLLOUTS * STEPS))")
done
echo "$TABLE"
