#!/usr/bin/env bash
# configs/sudoku-cpu-eval.sh CHECKPOINT - accuracy of a Sudoku checkpoint on
# held-out puzzles of each shared collection, as a markdown table.
#   - 17-clue grids held out by configs/sudoku-cpu.sh (same seed, same 1,000
#     grids): cut to 20 / 30 / 40 / 50 blanks, and the real 17-clue puzzles
#   - forum-hardest-1106 and msolve most-difficult: never seen in training
set -euo pipefail
cd "$(dirname "$0")/.."
TRM=${TRM:-build/trm}
CK=${1:-models/sudoku-cpu.safetensors}
SH=../shared/data/sudoku
E=${EVAL_DIR:-data/sudoku-eval}
N=${EVAL_N:-1000}
build() { # name input [extra args]
    local name=$1 in=$2; shift 2
    [ -f "$E/$name/test/dataset.json" ] || "$TRM" data sudoku --input "$in" --out "$E/$name" "$@" >/dev/null 2>&1
}
for b in 20 30 40 50; do
    build "17clue-grids-$b-blanks" $SH/tdoku-17-clue/puzzles2_17_clue.csv --train-size 1 --test-size 1000 --seed 0 --blanks $b
done
build 17clue-real $SH/tdoku-17-clue/puzzles2_17_clue.csv --train-size 1 --test-size 1000 --seed 0
build forum-hardest-1106 $SH/tdoku-forum-hardest-1106/puzzles6_forum_hardest_1106.csv --train-size 1 --test-size 374 --seed 0
build msolve-most-difficult $SH/msolve-hardest/most_difficult.csv --train-size 1 --test-size 99 --seed 0
echo "| held-out set | puzzles | blanks | exact accuracy | cell accuracy |"
echo "|---|---|---|---|---|"
for d in "$E"/*/; do
    name=$(basename "$d")
    r=$("$TRM" eval --checkpoint "$CK" --data "$d" --max-examples "$N" --quiet)
    blanks=$(/usr/bin/python3 -c "import numpy as np; a=np.load('$d/test/all__inputs.npy')[:$N]; print(f'{(a==1).sum(1).mean():.1f}')")
    echo "$r" | /usr/bin/python3 -c "import json,sys; d=json.load(sys.stdin); print(f\"| $name | {d['examples']} | $blanks | {d['exact_accuracy']:.3f} | {d['accuracy']:.3f} |\")"
done
