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

# The showcase the default job solves: two held-out puzzles of each kind.
SHOW=${SHOWCASE:-models/sudoku-cpu-showcase.csv}
/usr/bin/python3 - "$E" "$SHOW" <<'PYEOF'
import sys, numpy as np
e, out = sys.argv[1], sys.argv[2]
kinds = [("17clue-grids-20-blanks", "20 blanks"), ("17clue-grids-30-blanks", "30 blanks"),
         ("17clue-grids-40-blanks", "40 blanks"), ("17clue-real", "real 17-clue puzzles (64 blanks)")]
dec = lambda row: "".join("." if t == 1 else str(t - 1) for t in row)
with open(out + ".tmp", "w") as f:
    f.write("# held-out puzzles from grids of the 17-clue collection that the model never saw\n")
    f.write("question,answer\n")
    for name, label in kinds:
        x = np.load(f"{e}/{name}/test/all__inputs.npy"); y = np.load(f"{e}/{name}/test/all__labels.npy")
        f.write(f"# {label}\n")
        for i in range(2):
            f.write(f"{dec(x[i])},{dec(y[i])}\n")
import os; os.replace(out + ".tmp", out)
PYEOF
