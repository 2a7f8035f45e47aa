#!/usr/bin/env bash
# bench/search.sh - test-time search vs "more supervision steps" on held-out
# Sudoku, same checkpoint, at budgets of 1x, 2x, 4x, 8x the plain model's
# network evaluations (supervision steps); prints a markdown table.
#   TRM=build/trm  CK=models/sudoku-cpu.safetensors  N=200  SETS="30 40 50"
#   POLICY=fix,aug  OUT=runs/search-bench
# Held-out sets: the 1,000 17-clue grids configs/sudoku-cpu.sh held out,
# cut to 30 / 40 / 50 blanks (built exactly as configs/sudoku-cpu-eval.sh does),
# the first N puzzles of each. Results are cached per run in OUT/*.json.
set -euo pipefail
cd "$(dirname "$0")/.."
TRM=${TRM:-build/trm}
CK=${CK:-models/sudoku-cpu.safetensors}
N=${N:-200}
SETS=${SETS:-30 40 50}
POLICY=${POLICY:-fix,aug}
OUT=${OUT:-runs/search-bench}
E=${EVAL_DIR:-data/sudoku-eval}
SH=../shared/data/sudoku
export OMP_NUM_THREADS=${OMP_NUM_THREADS:-1}
mkdir -p "$OUT"
K=$("$TRM" info --checkpoint "$CK" | /usr/bin/python3 -c "import json,sys; print(json.load(sys.stdin)['config']['halt_max_steps'])")
run() { # name args...: one eval, cached in OUT/name.json
    local f=$OUT/$1.json; shift
    [ -s "$f" ] && return 0
    "$TRM" eval --checkpoint "$CK" --max-examples "$N" --quiet "$@" >"$f.tmp"
    mv "$f.tmp" "$f"
}
for b in $SETS; do
    d=$E/17clue-grids-$b-blanks
    [ -f "$d/test/dataset.json" ] || "$TRM" data sudoku --input $SH/tdoku-17-clue/puzzles2_17_clue.csv --out "$d" \
        --train-size 1 --test-size 1000 --seed 0 --blanks "$b" >/dev/null
    for x in 1 2 4 8; do
        run "b$b-steps-${x}x" --data "$d" --steps $((x * K))
        run "b$b-search-${x}x" --data "$d" --search --budget "${x}x" --search-policy "$POLICY"
    done
done
/usr/bin/python3 - "$OUT" "$SETS" "$K" "$N" "$POLICY" <<'PYEOF'
import json, sys
out, sets, K, N, pol = sys.argv[1], sys.argv[2].split(), int(sys.argv[3]), sys.argv[4], sys.argv[5]
print(f"| blanks | budget (steps per puzzle) | more steps: exact | more steps: checked valid | more steps: steps per solved puzzle | search: exact | search: checked valid | search: mean steps used | search: steps per solved puzzle | search: batch rows computed per puzzle |")
print("|---|---|---|---|---|---|---|---|---|---|")
for b in sets:
    for x in (1, 2, 4, 8):
        s = json.load(open(f"{out}/b{b}-steps-{x}x.json")); q = json.load(open(f"{out}/b{b}-search-{x}x.json"))
        r = q["search"]
        per_solved = f"{x * K / s['exact_accuracy']:.1f}" if s["exact_accuracy"] > 0 else "-"
        print(f"| {b} | {x}x ({x * K}) | {s['exact_accuracy']:.3f} | {s.get('verified_rate', float('nan')):.3f} | {per_solved} | {q['exact_accuracy']:.3f} | {r['verified_rate']:.3f} "
              f"| {r['evals_per_puzzle']:.1f} | {r['evals_per_solved']:.1f} | {r['row_steps'] / r['puzzles']:.1f} |")
print(f"\n{N} puzzles per set; plain model = {K} supervision steps (1x); search policy {pol}.")
PYEOF
