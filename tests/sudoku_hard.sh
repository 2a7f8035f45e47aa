#!/usr/bin/env bash
# tests/sudoku_hard.sh TRM - the hard Sudoku split (configs/sudoku-hard-data.sh)
# on a tiny copy of the shared collections with planted leaks: held-out
# solution grids, relabelled and transposed, hidden in the training files
# must be dropped; the independent check must catch a leak; the datasets
# must train and evaluate; bad combinations get one error line.
. "$(dirname "$0")/lib.sh" # TRM, PY, TMP, n, ok/bad/skip, expect_ok/expect_err
SHARED=${TRM_SHARED:-../shared}/data/sudoku
export OMP_NUM_THREADS=1
ERR_LINES=5
json_check() {
    $PY -c "import json,sys; d=json.load(open(sys.argv[1])); assert $2, d" "$1" 2>"$TMP/pyerr"
}
# A question,answer line with digits d -> 10 - d and the grid transposed:
# the same puzzle under a symmetry the leak check must see through.
relabel_transpose() {
    awk -F, '{ for (f = 1; f <= 2; f++) { t = ""
                 for (c = 0; c < 9; c++) for (r = 0; r < 9; r++) {
                     ch = substr($f, r * 9 + c + 1, 1); t = t (ch == "." ? "." : 10 - ch) }
                 printf "%s%s", t, (f == 1 ? "," : "\n") } }'
}

if [ ! -d "$SHARED/tdoku-17-clue" ]; then
    skip "hard split on a tiny copy" "no $SHARED (set TRM_SHARED)"
    echo "1..$n"
    exit 0
fi
D=$TMP/sudoku
mkdir -p "$D/tdoku-17-clue" "$D/tdoku-forum-hardest-1905-11plus" "$D/tdoku-forum-hardest-1106" "$D/msolve-hardest"
C17=$D/tdoku-17-clue/puzzles2_17_clue.csv
F1905=$D/tdoku-forum-hardest-1905-11plus/puzzles5_forum_hardest_1905_11+.csv
F1106=$D/tdoku-forum-hardest-1106/puzzles6_forum_hardest_1106.csv
M=$D/msolve-hardest
head -13 "$SHARED/tdoku-17-clue/puzzles2_17_clue.csv" >"$C17"                 # 12 puzzles
head -6 "$SHARED/tdoku-forum-hardest-1106/puzzles6_forum_hardest_1106.csv" >"$F1106" # 5
for f in hardest_to_solve hardest_to_verify most_difficult; do
    head -4 "$SHARED/msolve-hardest/$f.csv" >"$M/$f.csv"                        # 3 each
done
tail -1 "$M/hardest_to_solve.csv" >>"$M/most_difficult.csv"                   # a repeat: 8 distinct
# training file: 20 forum puzzles, then planted leaks of a 1106, an
# msolve and a 17-clue puzzle (relabelled and transposed)
{
    head -21 "$SHARED/tdoku-forum-hardest-1905-11plus/puzzles5_forum_hardest_1905_11+.csv"
    sed -n 3p "$F1106" | relabel_transpose
    sed -n 2p "$M/hardest_to_verify.csv" | relabel_transpose
} >"$F1905"
# the 17-clue leak only counts when its original is in the test draw:
# N17=12 draws all 12
sed -n 5p "$C17" | relabel_transpose >>"$F1905"

OUT=$TMP/hard
expect_ok "sudoku-hard-data.sh on a tiny copy" env TRM="$TRM" SUDOKU_DATA="$D" N17=12 configs/sudoku-hard-data.sh "$OUT"
grep -q "leak check passed: 20 train grids" "$TMP/err" && ok "the script's own leak check ran and passed" \
    || { bad "script leak check"; cat "$TMP/err"; }
# main: input 12 (17-clue) + 23 (forum); the 12 test puzzles and the 3
# planted copies share held-out grids: 15 dropped, 20 train
json_check "$OUT/main.json" "d['train_groups']==20 and d['test_examples']==12 and d['leaks_dropped']==15 and d['ratings']['train']['puzzles']==20 and d['ratings']['test']['puzzles']==12" \
    && ok "main: planted leaks (relabelled + transposed) dropped, 17-clue test drawn" || { bad "main summary"; cat "$OUT/main.json"; }
json_check "$OUT/forum-1106.json" "d['test_examples']==5 and d['train_groups']==0 and d['ratings']['test']['nodes']['min']>=1" \
    && ok "forum-1106: a test-only dataset of all its puzzles, rated" || bad "forum-1106 summary"
json_check "$OUT/msolve.json" "d['test_examples']==9" \
    && ok "msolve: the three lists, the repeat dropped" || { bad "msolve summary"; cat "$OUT/msolve.json"; }
[ -d "$OUT/forum-1106/test" ] && [ ! -e "$OUT/forum-1106/train" ] && [ -f "$OUT/main/ratings.json" ] && [ -d "$OUT/main/train" ] \
    && ok "layout: main/{train,test}, forum-1106/test only, ratings.json" || bad "dataset layout"
[ "$(grep -c '^train,' "$OUT/main.ratings.csv")" = 20 ] && [ "$(grep -c '^test,' "$OUT/main.ratings.csv")" = 12 ] \
    && ok "main.ratings.csv: one row per train and test puzzle" || bad "ratings CSV rows"

# the check catches a leak: a train file holding a relabelled, transposed
# held-out grid
{ echo question,answer; sed -n 2p "$F1106" | relabel_transpose; } >"$TMP/leaky.csv"
expect_err_code "--check-leaks names a planted leak" 1 \
    "1 train puzzles share a held-out solution grid \(first: .*leaky.csv:2 has that of .*puzzles6_forum_hardest_1106.csv:2\)" \
    configs/sudoku-hard-data.sh --check-leaks "$TMP/leaky.csv" "$F1106"

# the datasets work with train and eval
TINY="--preset tiny hidden_size=32 num_heads=2 puzzle_emb_ndim=32 halt_max_steps=2 global_batch_size=8 max_steps=2 eval_interval=0 --quiet"
expect_ok "trm train --data main" "$TRM" train --data "$OUT/main" --out "$TMP/run" $TINY
CK=$TMP/run/checkpoint.safetensors
for s in forum-1106:5 msolve:9 main:12; do
    set -- "${s%%:*}" "${s##*:}"
    "$TRM" eval --checkpoint "$CK" --data "$OUT/$1" --quiet >"$TMP/ev.json" 2>"$TMP/err" \
        && json_check "$TMP/ev.json" "d['examples']==$2" && ok "trm eval --data $1 scores its $2 puzzles" \
        || { bad "eval $1"; cat "$TMP/err" "$TMP/ev.json"; }
done

# the curriculum pool: main's 17-clue grids that are not held out, as
# easier puzzles; the test split is main's (a draw of 8 leaves 4 grids)
H8=$TMP/hard8
expect_ok "sudoku-hard-data.sh --curriculum (builds main first)" env TRM="$TRM" SUDOKU_DATA="$D" N17=8 configs/sudoku-hard-data.sh --curriculum "$H8"
grep -q "leak check passed: 4 train grids" "$TMP/err" && ok "curriculum: the leak check ran on its 4 train grids" \
    || { bad "curriculum leak check"; cat "$TMP/err"; }
$PY - "$H8" <<'PYEOF' 2>"$TMP/pyerr" && ok "curriculum: 8..56 blanks of the same grids, main's test split" || { bad "curriculum data"; cat "$TMP/pyerr"; }
import numpy as np, sys, filecmp
h = sys.argv[1]
x = np.load(f"{h}/curriculum/train/all__inputs.npy"); y = np.load(f"{h}/curriculum/train/all__labels.npy")
blanks = (x == 1).sum(1)
assert len(x) == 4 and blanks.min() >= 8 and blanks.max() <= 56, blanks
assert ((x == 1) | (x == y)).all()   # every given is the solution's digit
assert filecmp.cmp(f"{h}/main/test/all__labels.npy", f"{h}/curriculum/test/all__labels.npy", shallow=False)
PYEOF

# the study's recipes (configs/sudoku-hard-study.sh) each train on the split
# and resume when rerun (a small model, two steps, then two more)
for r in reference muon nocarry replay best hints curriculum cpu; do
    DATA_R=$OUT EPOCHS_R=1 # 20 train puzzles: 5 steps
    case $r in curriculum | cpu) DATA_R=$H8 EPOCHS_R=4 ;; esac # 4 puzzles: 4 steps
    if TRM=$TRM DATA=$DATA_R HIDDEN=32 BATCH=4 EPOCHS=$EPOCHS_R EVAL_N=4 bash configs/sudoku-hard-study.sh $r "$TMP/study-$r" \
           halt_max_steps=2 H_cycles=1 L_cycles=2 stop_after=2 --quiet >"$TMP/out" 2>"$TMP/err" &&
       TRM=$TRM DATA=$DATA_R bash configs/sudoku-hard-study.sh $r "$TMP/study-$r" stop_after=2 --quiet >"$TMP/out" 2>>"$TMP/err"; then
        $PY - "$TMP/study-$r/metrics.jsonl" <<'PYEOF' && ok "study recipe $r trains, logs flops and resumes" || bad "study recipe $r: metrics"
import json, sys
rows = [json.loads(l) for l in open(sys.argv[1])]
f = [r["flops"] for r in rows]
assert rows[-1]["step"] == 4 and f[0] > 0 and f[-1] > f[0] and all(b >= a for a, b in zip(f, f[1:])), rows
PYEOF
    else bad "study recipe $r"; cat "$TMP/err"; fi
done
# the one-command evaluation of a checkpoint on every held-out set: plain,
# deeper recursion and rollouts, a row each
if TRM=$TRM DATA=$OUT EVAL_N=3 ROLLOUTS=2 configs/sudoku-hard-eval.sh "$CK" >"$TMP/table" 2>"$TMP/err"; then
    [ "$(grep -c '^| [a-z0-9-]* | [a-z]*: .* | 3 | [01]\.[0-9]* | [01]\.[0-9]* | [0-9.]* |$' "$TMP/table")" = 9 ] \
        && grep -q '| forum-1106 | deeper: T,n = 4,2, 2 steps |' "$TMP/table" && grep -q '| msolve | rollouts: 2 x 2 steps, noise 1.0 |' "$TMP/table" \
        && ok "sudoku-hard-eval.sh: 3 sets x (plain, deeper, rollouts)" || { bad "sudoku-hard-eval.sh table"; cat "$TMP/table"; }
else bad "sudoku-hard-eval.sh"; cat "$TMP/err"; fi
expect_err_code "sudoku-hard-eval.sh: a missing checkpoint" 1 "nope.safetensors: no such checkpoint file" \
    configs/sudoku-hard-eval.sh "$TMP/nope.safetensors"
expect_err_code "sudoku-hard-eval.sh: an unknown held-out set" 1 "no such held-out set" \
    env TRM="$TRM" DATA="$OUT" SETS=easy configs/sudoku-hard-eval.sh "$CK"
expect_err "study: an unknown recipe, before any data build" "unknown recipe 'fast'" env DATA="$TMP/no-data" bash configs/sudoku-hard-study.sh fast "$TMP/study-x"
expect_err "study: an unknown training pool" "SPLIT=easy: expected main or curriculum" env DATA="$TMP/no-data" SPLIT=easy bash configs/sudoku-hard-study.sh best "$TMP/study-x"
# SPLIT picks the pool of any recipe: best on the curriculum pool
TRM=$TRM DATA=$H8 SPLIT=curriculum HIDDEN=32 BATCH=4 EPOCHS=1 EVAL_N=4 bash configs/sudoku-hard-study.sh best "$TMP/study-bc" \
    halt_max_steps=2 H_cycles=1 L_cycles=2 --quiet >"$TMP/out" 2>"$TMP/err" && grep -q '"step":1,' "$TMP/study-bc/metrics.jsonl" \
    && ok "study: SPLIT=curriculum trains best on the curriculum pool" || { bad "study SPLIT=curriculum"; cat "$TMP/err"; }

# the ship run (configs/sudoku-hard-ship.sh) spans sessions: --save copies its
# state to SAVED, and a fresh RUN continues from that copy
SHIP_ENV=(env TRM="$TRM" DATA="$OUT" RUN="$TMP/ship" SAVED="$TMP/ship-saved")
SHIP_SMALL="hidden_size=32 num_heads=1 puzzle_emb_ndim=32 global_batch_size=4 eval_max_examples=4 halt_max_steps=2 H_cycles=1 L_cycles=2"
expect_err_code "ship: --save before any run" 1 "ship/state.safetensors: no run state to save" \
    "${SHIP_ENV[@]}" configs/sudoku-hard-ship.sh --save
# shellcheck disable=SC2086 # SHIP_SMALL is a list of keys
if "${SHIP_ENV[@]}" configs/sudoku-hard-ship.sh $SHIP_SMALL stop_after=2 --quiet >"$TMP/out" 2>"$TMP/err" &&
   "${SHIP_ENV[@]}" configs/sudoku-hard-ship.sh --save 2>>"$TMP/err" && rm -r "$TMP/ship" &&
   "${SHIP_ENV[@]}" configs/sudoku-hard-ship.sh stop_after=2 --quiet >"$TMP/out" 2>"$TMP/err2" &&
   grep -q "continuing from $TMP/ship-saved" "$TMP/err2"; then
    $PY - "$TMP/ship/metrics.jsonl" "$TMP/ship/state.safetensors" <<'PYEOF' && ok "ship: saved, then continued on a fresh RUN from the saved state" || bad "ship: continued run's metrics"
import json, sys
rows = [json.loads(l) for l in open(sys.argv[1])]
steps = [r["step"] for r in rows]
assert steps == [1, 2, 3, 4], steps   # 1-2 from the saved copy, 3-4 continued
meta = json.loads(open(sys.argv[2], "rb").read()[8:8 + int.from_bytes(open(sys.argv[2], "rb").read(8), "little")])["__metadata__"]
assert '"hidden_size":32' in meta["config"].replace(" ", ""), meta["config"][:200]
PYEOF
else bad "ship: save and continue"; cat "$TMP/err" "$TMP/err2" 2>/dev/null; fi

# bad combinations: one line, exit 2 (usage) or 1 (data)
expect_err_code "--test-only with --test-input" 2 "--test-only writes only a test split" \
    "$TRM" data sudoku --input "$C17" --test-input "$F1106" --test-only --out "$TMP/x1"
expect_err_code "--test-size larger than --test-input" 1 "--test-size 99: only 5 puzzles in --test-input" \
    "$TRM" data sudoku --input "$C17" --test-input "$F1106" --test-size 99 --out "$TMP/x2"
expect_err_code "--holdout file missing" 1 "nope.csv" \
    "$TRM" data sudoku --input "$C17" --holdout "$TMP/nope.csv" --out "$TMP/x3"
expect_err_code "everything held out" 1 "no input puzzles left: 0 repeats, 0 below --min-nodes 1, 5 sharing a solution grid" \
    "$TRM" data sudoku --input "$F1106" --holdout "$F1106" --out "$TMP/x4"
expect_err_code "--ratings in a missing folder fails before the work" 1 "nodir/r.csv" \
    "$TRM" data sudoku --input "$C17" --out "$TMP/x5" --ratings "$TMP/nodir/r.csv"
# a test draw from the inputs: a train puzzle with a drawn puzzle's grid
# (relabelled, transposed) is passed over
{ sed -n 2p "$F1106"; sed -n 2p "$F1106" | relabel_transpose; } >"$TMP/pair.csv"
expect_err_code "test drawn from --input: its relabelled copy leaves train" 1 \
    "no puzzles left for the train split \(1 share a solution grid with a test puzzle\)" \
    "$TRM" data sudoku --input "$TMP/pair.csv" --test-size 1 --out "$TMP/x6"
[ ! -e "$TMP/x1" ] && [ ! -e "$TMP/x2" ] && [ ! -e "$TMP/x4" ] && [ ! -e "$TMP/x5" ] && [ ! -e "$TMP/x6" ] \
    && ok "no output left after the errors" || bad "output left after an error"
echo "1..$n"
