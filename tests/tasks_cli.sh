#!/usr/bin/env bash
# tests/tasks_cli.sh TRM - `trm solve` and `trm eval` on every task (TAP
# lines): 4x4 Sudoku and Maze models trained here for a few steps, an ARC
# model on a small dataset built from ../shared (skipped without it);
# task checkers, PNG output, the ARC evaluator's JSON and submission, and
# one-line errors for bad input.
. "$(dirname "$0")/lib.sh" # TRM, PY, TMP, n, ok/bad/skip, expect_ok/expect_err
SHARED=${TRM_SHARED:-../shared}
export OMP_NUM_THREADS=1
ERR_LINES=5 # training logs are long: the end says what went wrong
# Every file is a PNG: signature, a 13-byte IHDR first with a sane size
# (wider than tall: boards side by side), IEND last.
png_ok() {
    $PY - "$@" <<'PYEOF'
import struct, sys
assert len(sys.argv) > 1, "no files"
for p in sys.argv[1:]:
    b = open(p, "rb").read()
    assert b[:8] == b"\x89PNG\r\n\x1a\n", (p, "signature")
    n, typ = struct.unpack(">I4s", b[8:16])
    assert n == 13 and typ == b"IHDR", (p, n, typ)
    w, h = struct.unpack(">II", b[16:24])
    assert 0 < h < w < 20000, (p, w, h)
    assert b[-8:-4] == b"IEND", (p, "IEND")
PYEOF
}
# json_check FILE EXPR: EXPR (Python, d = the JSON object) holds
json_check() {
    $PY -c "import json,sys; d=json.load(open(sys.argv[1])); assert $2, d" "$1" 2>"$TMP/pyerr"
}
TINY="--preset tiny hidden_size=32 num_heads=2 puzzle_emb_ndim=32 global_batch_size=16 epochs=1 eval_interval=0 --quiet"

# ---------------------------------------------------------------- 4x4 Sudoku
S4=$TMP/s4
expect_ok "data sudoku4" "$TRM" data sudoku4 --out "$S4" --train-size 100 --test-size 12 --seed 3
expect_ok "train a sudoku4 model for 3 steps" "$TRM" train --data "$S4" --out "$TMP/s4run" $TINY max_steps=3
CK4=$TMP/s4run/checkpoint.safetensors
expect_ok "eval sudoku4 with --render-wrong" "$TRM" eval --checkpoint "$CK4" --data "$S4" --quiet --render-wrong 2 --png-dir "$TMP/wrong4"
cp "$TMP/out" "$TMP/eval4.json"
json_check "$TMP/eval4.json" "d['task']=='sudoku4' and d['examples']==12 and 0<=d['verified_rate']<=1 and d['verified_rate']>=d['exact_accuracy'] and d['verified']==round(d['verified_rate']*12)" \
    && ok "eval JSON: task, verified (valid-solution) rate >= exact accuracy" || { bad "eval sudoku4 JSON"; cat "$TMP/eval4.json" "$TMP/pyerr"; }
wrong=$($PY -c "import json; d=json.load(open('$TMP/eval4.json')); print(min(2, 12 - round(d['exact_accuracy'] * 12)))")
[ "$(ls "$TMP/wrong4" | grep -c '^wrong-.*\.png$')" -eq "$wrong" ] && json_check "$TMP/eval4.json" "d['rendered_wrong']==$wrong" \
    && ok "eval --render-wrong 2 draws the first $wrong wrong predictions" || { bad "render-wrong count"; ls "$TMP/wrong4"; }
png_ok "$TMP"/wrong4/*.png && ok "rendered wrong predictions are valid PNGs" || bad "wrong-prediction PNGs"
P4=$($PY -c "
import numpy as np
q = np.load('$S4/test/all__inputs.npy')[0]; a = np.load('$S4/test/all__labels.npy')[0]
f = lambda r: ''.join('.' if t == 1 else str(t - 1) for t in r)
print(f(q) + ',' + f(a))")
expect_ok "solve a 4x4 puzzle with its answer, --png" "$TRM" solve --checkpoint "$CK4" "$P4" --color never --png "$TMP/s4.png"
grep -qE "^1 puzzles: [01] obey the rules; [01]/1 match the known answer .* of blank cells right" "$TMP/out" \
    && grep -qE "confidence [0-9.]+ \| steps 8 \| (valid solution|breaks the rules)" "$TMP/out" \
    && ok "solve sudoku4 prints the checker's verdict and a summary" || { bad "solve sudoku4 output"; cat "$TMP/out"; }
png_ok "$TMP/s4.png" && ok "solve --png writes a valid PNG" || bad "solve --png"
printf '# two puzzles\n%s\n\n%s\n' "$P4" "${P4%%,*}" | "$TRM" solve --checkpoint "$CK4" --json >"$TMP/out" 2>"$TMP/err"
[ "$(wc -l <"$TMP/out")" -eq 2 ] && $PY -c "
import json; r = [json.loads(l) for l in open('$TMP/out')]
assert len(r[0]['solution']) == 16 and 'correct' in r[0] and 'correct' not in r[1] and r[1]['valid'] in (True, False)" \
    && ok "solve --json: one object per puzzle, 'correct' only with an answer" || { bad "solve sudoku4 --json"; cat "$TMP/out" "$TMP/err"; }

# ---------------------------------------------------------------- Maze
expect_ok "data maze-gen 6x6" "$TRM" data maze-gen --count 40 --size 6 --out "$TMP/mz.csv" --seed 5
expect_ok "data maze" "$TRM" data maze --input "$TMP/mz.csv" --out "$TMP/mz" --test-size 8
expect_ok "train a maze model for 3 steps" "$TRM" train --data "$TMP/mz" --out "$TMP/mzrun" $TINY max_steps=3
CKM=$TMP/mzrun/checkpoint.safetensors
expect_ok "eval maze" "$TRM" eval --checkpoint "$CKM" --data "$TMP/mz" --quiet
json_check "$TMP/out" "d['task']=='maze' and d['examples']==8 and 0<=d['verified_rate']<=1 and d['verified_rate']>=d['exact_accuracy']" \
    && ok "eval maze reports the valid-path rate" || { bad "eval maze JSON"; cat "$TMP/out"; }
# maze lines start with walls ('#') or open cells (' '): neither is a comment
sed -n '2,4p' "$TMP/mz.csv" >"$TMP/three.txt"
expect_ok "solve three mazes from a file, --png-dir" "$TRM" solve --checkpoint "$CKM" --file "$TMP/three.txt" --color never --png-dir "$TMP/mzpng"
grep -qE "^3 puzzles: [0-3] obey the rules; [0-3]/3 match the known answer .* of path cells right" "$TMP/out" \
    && grep -qE "(valid shortest path|not a valid shortest path)" "$TMP/out" \
    && ok "solve maze: every line read, verdict in path words" || { bad "solve maze output"; tail -3 "$TMP/out"; }
[ "$(ls "$TMP/mzpng" | wc -l)" -eq 3 ] && png_ok "$TMP"/mzpng/puzzle-000{1,2,3}.png \
    && ok "solve --png-dir writes one valid PNG per maze" || { bad "maze PNGs"; ls "$TMP/mzpng"; }
"$TRM" solve --checkpoint "$CKM" --file "$TMP/three.txt" --color always >"$TMP/out" 2>&1
grep -qE $'\033\\[[0-9;]*48;2;' "$TMP/out" && ok "solve --color always draws 24-bit colour cells" || bad "solve --color always"

# ---------------------------------------------------------------- bad input
printf '%s\nxx\n' "$(sed -n 2p "$TMP/mz.csv")" >"$TMP/bad.txt"
expect_err "solve: malformed maze line names file:line" "bad.txt:2: " "$TRM" solve --checkpoint "$CKM" --file "$TMP/bad.txt" --json
expect_err "solve: --task of another shape" "not a sudoku model" "$TRM" solve --checkpoint "$CKM" --task sudoku "$P4"
expect_err "solve: unknown --task" "unknown task 'chess'" "$TRM" solve --checkpoint "$CKM" --task chess x
expect_err "solve: --png with several puzzles" "--png draws one puzzle, 3 given" "$TRM" solve --checkpoint "$CKM" --file "$TMP/three.txt" --png "$TMP/x.png"
[ ! -e "$TMP/x.png" ] && ok "no PNG left after the error" || bad "partial PNG"
expect_err "eval: --render-wrong without --png-dir" "--png-dir" "$TRM" eval --checkpoint "$CKM" --data "$TMP/mz" --render-wrong 2
expect_err "eval: --submission on a non-ARC dataset" "not an ARC dataset" "$TRM" eval --checkpoint "$CKM" --data "$TMP/mz" --submission "$TMP/s.json"
expect_err "eval: two checkpoints without --pool" "add --pool" "$TRM" eval --checkpoint "$CKM" --checkpoint "$CKM" --data "$TMP/mz"
expect_err "eval: a dataset of another task" "does not fit" "$TRM" eval --checkpoint "$CK4" --data "$TMP/mz"

# ---------------------------------------------------------------- ARC
if [ ! -d "$SHARED/data/arc-agi-1/evaluation" ]; then
    skip "ARC solve/eval" "no $SHARED/data/arc-agi-1"
    echo "1..$n"; exit 0
fi
mkdir -p "$TMP/arctr" "$TMP/arcev"
cp $(ls -d "$SHARED"/data/arc-agi-1/training/*.json | head -2) "$TMP/arctr/"
cp $(ls -d "$SHARED"/data/arc-agi-1/evaluation/*.json | head -2) "$TMP/arcev/"
TASK=$(ls "$TMP/arcev" | head -1)
expect_ok "data arc: 4 tasks, 3 versions each" "$TRM" data arc --out "$TMP/arc" --subsets "training=$TMP/arctr,evaluation=$TMP/arcev" --test-set evaluation --num-aug 2
# a --test-set outside --subsets used to build no test split and exit 0
expect_err "data arc: --test-set not among --subsets" "--test-set evaluation: not one of --subsets" \
    "$TRM" data arc --out "$TMP/arcnotest" --subsets "training=$TMP/arctr" --num-aug 2
[ ! -e "$TMP/arcnotest" ] && ok "data arc: the refused build wrote nothing" || bad "data arc: refused build left $TMP/arcnotest"
ARCARGS="--preset arc1-att hidden_size=32 num_heads=2 puzzle_emb_ndim=32 puzzle_emb_len=1 L_layers=1 H_cycles=1 L_cycles=1 halt_max_steps=2 global_batch_size=8 epochs=1 eval_interval=0 --quiet"
expect_ok "train an ARC model for 1 step" "$TRM" train --data "$TMP/arc" --out "$TMP/arcrun" $ARCARGS max_steps=1
CKA=$TMP/arcrun/checkpoint.safetensors
expect_ok "eval ARC with --submission" "$TRM" eval --checkpoint "$CKA" --data "$TMP/arc" --quiet --submission "$TMP/sub.json"
cp "$TMP/out" "$TMP/arceval.json"
json_check "$TMP/arceval.json" "d['task']=='arc' and d['arc']['tasks']==2 and d['arc']['unmatched_rows']==0 and d['arc']['inputs_predicted']==d['arc']['test_inputs'] and d['arc']['rows']==d['examples'] and all(0<=d['arc']['pass@%d'%k]<=1 for k in (1,2,5,10,100,1000)) and d['arc']['pass@1']<=d['arc']['pass@2']<=d['arc']['pass@1000']" \
    && ok "eval ARC: pass@K, every row mapped back to a test input" || { bad "eval ARC JSON"; cat "$TMP/arceval.json" "$TMP/pyerr"; }
$PY - "$TMP/sub.json" "$TMP/arc/test_puzzles.json" <<'PYEOF' && ok "submission.json: two attempts per test input, grids of colours" || bad "submission.json"
import json, sys
sub, tp = json.load(open(sys.argv[1])), json.load(open(sys.argv[2]))
assert list(sub) == list(tp), (list(sub), list(tp))
for k, v in tp.items():
    assert len(sub[k]) == len(v["test"])
    for a in sub[k]:
        for g in (a["attempt_1"], a["attempt_2"]):
            assert g and all(len(r) == len(g[0]) and all(0 <= c <= 9 for c in r) for r in g)
PYEOF
expect_ok "eval ARC --pool of two checkpoints" "$TRM" eval --checkpoint "$CKA" --checkpoint "$CKA" --pool --data "$TMP/arc" --quiet
json_check "$TMP/out" "len(d['runs'])==2 and d['arc']['checkpoints_pooled']==2 and d['arc']['rows']==2*d['runs'][0]['examples']" \
    && ok "pooled eval counts the votes of both runs" || { bad "eval --pool"; cat "$TMP/out"; }
expect_ok "solve an ARC task file, --png" "$TRM" solve --checkpoint "$CKA" --data "$TMP/arc" "$TMP/arcev/$TASK" --color never --png-dir "$TMP/arcpng"
grep -qE "^task ${TASK%.json}, test input 1: 3 versions" "$TMP/out" && grep -qE "^attempt 1: [0-9]+ votes.*\| (attempt [12] is right|both attempts are wrong)" "$TMP/out" \
    && ok "solve ARC: votes over the 3 versions, attempts checked against the known output" || { bad "solve ARC output"; head -3 "$TMP/out"; }
png_ok "$TMP"/arcpng/*.png && ok "solve ARC --png-dir writes valid PNGs" || bad "ARC PNGs"
expect_ok "solve ARC --json" "$TRM" solve --checkpoint "$CKA" --data "$TMP/arc" "$TMP/arcev/$TASK" --json
$PY -c "
import json; r = [json.loads(l) for l in open('$TMP/out')]
assert r and all(x['versions'] == 3 and x['attempt_1'] and x['attempt_2'] and 'correct' in x for x in r)" \
    && ok "solve ARC --json: attempts, votes, correctness" || { bad "solve ARC --json"; cat "$TMP/out"; }
OTHER=$(ls -d "$SHARED"/data/arc-agi-1/evaluation/*.json | tail -1)
expect_err "solve ARC: a task the model was not trained on" "is not in .*identifiers.json" "$TRM" solve --checkpoint "$CKA" --data "$TMP/arc" "$OTHER"
expect_err "solve ARC: no --data" "give --data DIR" "$TRM" solve --checkpoint "$CKA" "$TMP/arcev/$TASK"
echo '{"train": []}' >"$TMP/broken.json"
expect_err "solve ARC: malformed task file" "broken.json" "$TRM" solve --checkpoint "$CKA" --data "$TMP/arc" "$TMP/broken.json"

echo "1..$n"
