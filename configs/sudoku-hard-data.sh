#!/usr/bin/env bash
# configs/sudoku-hard-data.sh - the fixed hard Sudoku split (issue 13;
# docs/sudoku-hard.md): held-out test sets that no training run sees, and
# the training pool of the rest of the shared hard collections.
#
#   OUT/main/              train/ + test/: trm train --data OUT/main
#       train: 17-clue (minus the 1000 test puzzles) + forum-hardest-1905-11+,
#              minus every puzzle whose solution grid is that of a held-out
#              puzzle, up to digit relabelling and transposition
#       test:  1000 real 17-clue puzzles (a seed-0 draw)
#   OUT/forum-1106/test/   all of forum-hardest-1106 (375): trm eval --data
#   OUT/msolve/test/       all of msolve-hardest, repeats dropped
#   OUT/curriculum/        only with --curriculum (the recipes cpu and
#       curriculum of configs/sudoku-hard-study.sh): train: every 17-clue
#       grid not held out (not in main's test, 1106 or msolve), each
#       question its solution with 8..56 random blanks (easier puzzles from
#       real grids, the data of models/sudoku-cpu); test: main's test split
#   OUT/<set>.ratings.csv  per-puzzle ratings (split,question,answer,nodes,backtracks)
#   OUT/<set>.json         trm's summary with each split's rating distribution
#
# Then an independent check (awk, not trm's code) that no held-out
# solution grid, relabelled or transposed, is among the train puzzles.
#
# usage: configs/sudoku-hard-data.sh [OUT]          (default: data/sudoku-hard)
#        configs/sudoku-hard-data.sh --curriculum [OUT]   (builds OUT first when missing)
#        configs/sudoku-hard-data.sh --check-leaks TRAIN.csv HELDOUT.csv...
#            (CSV files with an answer column; exit 1 naming any leak)
# env: TRM (build/trm), SUDOKU_DATA (../shared/data/sudoku), N17 (1000), SEED (0)
set -euo pipefail
cd "$(dirname "$0")/.."

# Key of each answer in CSV files (column "answer" by header, else the
# 2nd): digits renamed by first appearance, of the grid and its transpose
# the smaller. Prints "key file:line" per row. Keys get a letter in front
# so that awk compares them as strings, not as 81-digit numbers.
grid_keys() {
    awk -F, '
    function relabel(g,   i, d, m, out, next_) {
        split("", m); out = ""; next_ = 1
        for (i = 1; i <= 81; i++) {
            d = substr(g, i, 1)
            if (!(d in m)) m[d] = next_++
            out = out m[d]
        }
        return "k" out
    }
    FNR == 1 { col = 2; for (i = 1; i <= NF; i++) if ($i == "answer") col = i; if ($1 ~ /^[a-z]/) next }
    {
        g = $col; t = ""
        if (length(g) != 81) { printf "%s:%d: expected an 81-digit answer\n", FILENAME, FNR > "/dev/stderr"; exit 2 }
        for (c = 0; c < 9; c++) for (r = 0; r < 9; r++) t = t substr(g, r * 9 + c + 1, 1)
        a = relabel(g); b = relabel(t)
        print (a < b ? a : b), FILENAME ":" FNR
    }' "$@"
}

# Exit 1 when a train answer's key is a held-out answer's key.
check_leaks() {
    local train=$1
    shift
    grid_keys "$@" >"$TMPK/held"
    grid_keys "$train" >"$TMPK/train"
    awk 'NR == FNR { held[$1] = $2; next }
         ($1 in held) { printf "%s has that of %s\n", $2, held[$1]; n++ }
         END { exit n > 0 }' "$TMPK/held" "$TMPK/train" >"$TMPK/leaks" || {
        echo "sudoku-hard-data: $(wc -l <"$TMPK/leaks") train puzzles share a held-out solution grid" \
            "(first: $(head -1 "$TMPK/leaks"))" >&2
        return 1
    }
    echo "sudoku-hard-data: leak check passed: $(wc -l <"$TMPK/train") train grids, $(wc -l <"$TMPK/held") held-out grids, none shared (up to relabelling and transposition)" >&2
}

TMPK=$(mktemp -d)
trap 'rm -rf "$TMPK"' EXIT

if [ "${1:-}" = --check-leaks ]; then
    shift
    [ $# -ge 2 ] || { echo "usage: $0 --check-leaks TRAIN.csv HELDOUT.csv..." >&2; exit 2; }
    check_leaks "$@"
    exit
fi

CURRICULUM=0
if [ "${1:-}" = --curriculum ]; then CURRICULUM=1; shift; fi
TRM=${TRM:-build/trm}
D=${SUDOKU_DATA:-../shared/data/sudoku}
OUT=${1:-data/sudoku-hard}
N17=${N17:-1000}
SEED=${SEED:-0}
C17=$D/tdoku-17-clue/puzzles2_17_clue.csv
F1905=$D/tdoku-forum-hardest-1905-11plus/puzzles5_forum_hardest_1905_11+.csv
F1106=$D/tdoku-forum-hardest-1106/puzzles6_forum_hardest_1106.csv
MS=$D/msolve-hardest/hardest_to_solve.csv,$D/msolve-hardest/hardest_to_verify.csv,$D/msolve-hardest/most_difficult.csv
IFS=, read -r -a msfiles <<<"$MS"

# --curriculum: the easier pool, held out exactly as main is; the same
# independent leak check.
if [ "$CURRICULUM" = 1 ]; then
    [ -f "$OUT/main/test/dataset.json" ] || bash "$0" "$OUT" >&2
    grep '^test,' "$OUT/main.ratings.csv" | cut -d, -f2,3 | sed '1i question,answer' >"$TMPK/test17.csv"
    trap 'rm -rf "$TMPK" "$OUT/curriculum.tmp"' EXIT
    rm -rf "$OUT/curriculum" "$OUT/curriculum.tmp"
    "$TRM" data sudoku --input "$C17" --holdout "$TMPK/test17.csv,$F1106,$MS" --blanks 8-56 --seed "$SEED" \
        --out "$OUT/curriculum.tmp" --ratings "$OUT/curriculum.ratings.csv" >"$OUT/curriculum.json"
    rm -rf "$OUT/curriculum.tmp/test"
    cp -r "$OUT/main/test" "$OUT/curriculum.tmp/test"
    grep '^train,' "$OUT/curriculum.ratings.csv" | sed '1i split,question,answer,nodes,backtracks' >"$TMPK/train.csv"
    check_leaks "$TMPK/train.csv" "$TMPK/test17.csv" "$F1106" "${msfiles[@]}"
    mv "$OUT/curriculum.tmp" "$OUT/curriculum"
    echo "curriculum: $(cat "$OUT/curriculum.json")"
    exit
fi
mkdir -p "$OUT"

# The held-out sets first: test-only datasets of all their puzzles.
"$TRM" data sudoku --input "$F1106" --test-only --out "$OUT/forum-1106" \
    --ratings "$OUT/forum-1106.ratings.csv" >"$OUT/forum-1106.json"
"$TRM" data sudoku --input "$MS" --test-only --out "$OUT/msolve" \
    --ratings "$OUT/msolve.ratings.csv" >"$OUT/msolve.json"
# Training pool and the 17-clue test draw; 1106 and msolve held out.
"$TRM" data sudoku --input "$C17,$F1905" --test-input "$C17" --test-size "$N17" --seed "$SEED" \
    --holdout "$F1106,$MS" --out "$OUT/main" --ratings "$OUT/main.ratings.csv" >"$OUT/main.json"

# Independent check: train answers against every held-out answer, from the
# source files themselves for 1106 and msolve.
grep '^train,' "$OUT/main.ratings.csv" | sed '1i split,question,answer,nodes,backtracks' >"$TMPK/train.csv"
grep '^test,' "$OUT/main.ratings.csv" | sed '1i split,question,answer,nodes,backtracks' >"$TMPK/test17.csv"
groups=$(sed 's/.*"train_groups":\([0-9]*\).*/\1/' "$OUT/main.json")
rows=$(($(wc -l <"$TMPK/train.csv") - 1))
[ "$groups" = "$rows" ] || { echo "sudoku-hard-data: $rows train rows in main.ratings.csv, $groups train groups" >&2; exit 1; }
check_leaks "$TMPK/train.csv" "$TMPK/test17.csv" "$F1106" "${msfiles[@]}"
for s in main forum-1106 msolve; do echo "$s: $(cat "$OUT/$s.json")"; done
