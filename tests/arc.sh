#!/usr/bin/env bash
# tests/arc.sh TRM - `trm data arc` from the command line (TAP lines): usage
# and option errors, malformed inputs (one error line naming file and task,
# nothing written), --skip-bad, and a small build whose files agree with
# each other. Byte equality with the reference builder is
# tests/reference/check_arc_builder.py's job.
. "$(dirname "$0")/lib.sh" # TRM, PY, TMP, n, ok/bad, expect_ok/expect_err_code
SHARED=${TRM_SHARED:-../shared}

# ---- usage
"$TRM" data arc --help >"$TMP/out" 2>&1 && grep -q "^usage: trm data arc" "$TMP/out" \
    && ok "data arc --help prints usage" || bad "data arc --help"
grep -q "(default: 1000)" "$TMP/out" && ok "--help prints defaults" || bad "--help prints defaults"
"$TRM" data --help | grep -q "^  arc " && ok "trm data --help lists arc" || bad "trm data --help lists arc"
expect_err_code "missing --out" 2 "--out is required" "$TRM" data arc
expect_err_code "unknown option" 2 "frob" "$TRM" data arc --frob --out "$TMP/x"
expect_err_code "stray argument" 2 "unexpected argument 'extra'" "$TRM" data arc --out "$TMP/x" extra
expect_err_code "bad --num-aug" 1 "--num-aug: expected an integer" "$TRM" data arc --num-aug -1 --out "$TMP/x"
expect_err_code "bad --seed" 1 "--seed: expected an integer in \[0, 4294967295\]" "$TRM" data arc --seed 4294967296 --out "$TMP/x"
expect_err_code "Kaggle subset without --input-prefix" 1 "subset 'training': give --input-prefix" \
    "$TRM" data arc --out "$TMP/x"
expect_err_code "bad --subsets item" 1 "--subsets: bad item" "$TRM" data arc --subsets "=foo" --out "$TMP/x"
expect_err_code "missing Kaggle file" 1 "nowhere_training_challenges.json: cannot open" \
    "$TRM" data arc --input-prefix "$TMP/nowhere" --subsets training --test-set training --out "$TMP/x"
expect_err_code "missing folder" 1 "$TMP/nodir: cannot open folder" \
    "$TRM" data arc --subsets "evaluation=$TMP/nodir" --out "$TMP/x"
expect_err_code "--test-set not among --subsets" 1 "--test-set evaluation: not one of --subsets \(training=" \
    "$TRM" data arc --subsets "training=$TMP" --out "$TMP/x"
expect_err_code "--test-set2 not among --subsets" 1 "--test-set2 concept: not one of --subsets" \
    "$TRM" data arc --subsets "evaluation=$TMP" --test-set2 concept --out "$TMP/x"
[ ! -e "$TMP/x" ] && ok "failed runs write nothing" || bad "failed runs write nothing"

# ---- malformed tasks
mkdir -p "$TMP/in" "$TMP/dup/a" "$TMP/dup/b"
good='{"train": [{"input": [[1, 2]], "output": [[2, 1]]}], "test": [{"input": [[3, 0]], "output": [[0, 3]]}]}'
echo "$good" >"$TMP/in/good1.json"
echo "$good" >"$TMP/in/good2.json"
echo '{"train": [{"input": [[1, 2], [3]], "output": [[1]]}], "test": [{"input": [[1]]}]}' >"$TMP/in/ragged.json"
expect_err_code "ragged rows: file, task and place" 1 "in/ragged.json: task ragged: train pair 1 input: row 2 has 1 cells" \
    "$TRM" data arc --subsets "evaluation=$TMP/in" --out "$TMP/x"
echo '{"train": [{"input": [[1, 12]], "output": [[1]]}], "test": [{"input": [[1]]}]}' >"$TMP/in/ragged.json"
expect_err_code "colour outside 0-9" 1 "task ragged: train pair 1 input: cell \(1, 2\) is out of range" \
    "$TRM" data arc --subsets "evaluation=$TMP/in" --out "$TMP/x"
echo '{"train": [{"input": [[1]]}], "test": [{"input": [[1]]}]}' >"$TMP/in/ragged.json"
expect_err_code "missing output" 1 "task ragged: train pair 1 output: missing" \
    "$TRM" data arc --subsets "evaluation=$TMP/in" --out "$TMP/x"
echo '{"train": [{"input": [[1]], "output": [[1]]}], "test": "no"}' >"$TMP/in/ragged.json"
expect_err_code "wrong type" 1 "task ragged: \"test\" is not a list" \
    "$TRM" data arc --subsets "evaluation=$TMP/in" --out "$TMP/x"
$PY -c "import json; print(json.dumps({'train': [{'input': [[0]*31], 'output': [[1]]}], 'test': [{'input': [[1]]}]}))" \
    >"$TMP/in/ragged.json"
expect_err_code "grid over 30x30" 1 "row 1 has 31 cells \(expected 1..30\)" \
    "$TRM" data arc --subsets "evaluation=$TMP/in" --out "$TMP/x"
[ ! -e "$TMP/x" ] && ok "malformed input writes nothing" || bad "malformed input writes nothing"
echo '{"train": [' >"$TMP/in/zz_syntax.json"
"$TRM" data arc --subsets "evaluation=$TMP/in" --skip-bad --num-aug 3 --out "$TMP/skip" >"$TMP/out" 2>"$TMP/err"
rc=$?
if [ $rc -eq 0 ] && grep -q "skipped: .*ragged.json" "$TMP/err" && grep -qE "skipped: .*zz_syntax.json: line [0-9]+: not valid JSON" "$TMP/err" \
    && grep -q '"train_groups":2' "$TMP/out"; then ok "--skip-bad lists skipped files and builds the rest"
else bad "--skip-bad (exit $rc)"; cat "$TMP/out" "$TMP/err"; fi
echo "$good" >"$TMP/dup/a/same.json"
echo "$good" >"$TMP/dup/b/same.json"
expect_err_code "one task id twice in a subset" 1 "task same appears twice in subset 'training'" \
    "$TRM" data arc --subsets "training=$TMP/dup" --test-set training --out "$TMP/x"
# task ids that cJSON would cut short or that hold control characters
mkdir -p "$TMP/nul"
task='{"train": [{"input": [[1]], "output": [[1]]}], "test": [{"input": [[1]]}]}'
printf '{"x\\u0000y": %s, "x": %s}\n' "$task" "$task" >"$TMP/nul/k_training_challenges.json"
expect_err_code "task id with \\u0000 is refused, not cut to its prefix" 1 \
    "k_training_challenges.json: line 1: a string holds a NUL character" \
    "$TRM" data arc --input-prefix "$TMP/nul/k" --subsets training --test-set training --out "$TMP/x"
printf '{"x\\u001by": %s}\n' "$task" >"$TMP/nul/k_training_challenges.json"
expect_err_code "task id with a control character" 1 "task id with control character 0x1b at byte 1" \
    "$TRM" data arc --input-prefix "$TMP/nul/k" --subsets training --test-set training --out "$TMP/x"
printf '{"x\\\\u0000y": %s}\n' "$task" >"$TMP/nul/k_training_challenges.json"
"$TRM" data arc --input-prefix "$TMP/nul/k" --subsets training --test-set training --num-aug 0 --out "$TMP/nulok" \
    >"$TMP/out" 2>"$TMP/err" && grep -qF 'x\\u0000y' "$TMP/nulok/identifiers.json" \
    && ok "an escaped backslash before u0000 is an ordinary id" || { bad "escaped backslash id"; cat "$TMP/err"; }
[ ! -e "$TMP/x" ] && ok "bad task ids write nothing" || bad "bad task ids write nothing"
touch "$TMP/file"
expect_err_code "--out is a file" 1 "exists and is not a directory" \
    "$TRM" data arc --subsets "evaluation=$TMP/dup/a" --out "$TMP/file"

# ---- a small real build: the files agree with each other
if [ -d "$SHARED/data/arc-agi-1/evaluation" ]; then
    mkdir -p "$TMP/ev" "$TMP/tr"
    for f in $(ls "$SHARED/data/arc-agi-1/evaluation" | head -3); do cp "$SHARED/data/arc-agi-1/evaluation/$f" "$TMP/ev/"; done
    for f in $(ls "$SHARED/data/arc-agi-1/training" | head -4); do cp "$SHARED/data/arc-agi-1/training/$f" "$TMP/tr/"; done
    if "$TRM" data arc --subsets "training=$TMP/tr,evaluation=$TMP/ev" --num-aug 20 --out "$TMP/ds" >"$TMP/out" 2>"$TMP/err"; then
        ok "small build"
        $PY - "$TMP/ds" "$TMP/out" <<'EOF' && ok "small build: counts, identifiers, test_puzzles and arrays agree" || bad "small build: consistency"
import json, sys, numpy as np
d, summary = sys.argv[1], json.load(open(sys.argv[2]))
ids = json.load(open(f"{d}/identifiers.json"))
tp = json.load(open(f"{d}/test_puzzles.json"))
tr, te = (json.load(open(f"{d}/{s}/dataset.json")) for s in ("train", "test"))
assert ids[0] == "<blank>" and len(ids) == tr["num_puzzle_identifiers"] == te["num_puzzle_identifiers"] == summary["identifiers"]
assert tr["total_groups"] == 7 and te["total_groups"] == 3 and len(tp) == 3, (tr, te, list(tp))
assert tr["total_puzzles"] == summary["train_puzzles"] and te["total_puzzles"] == summary["test_puzzles"]
assert all("output" in p for t in tp.values() for p in t["test"])
for s, meta in (("train", tr), ("test", te)):
    x = np.load(f"{d}/{s}/all__inputs.npy"); y = np.load(f"{d}/{s}/all__labels.npy")
    pid = np.load(f"{d}/{s}/all__puzzle_identifiers.npy"); pi = np.load(f"{d}/{s}/all__puzzle_indices.npy")
    gi = np.load(f"{d}/{s}/all__group_indices.npy")
    assert x.dtype == np.uint8 and x.shape == y.shape and x.shape[1] == 900 and x.max() <= 11
    assert pi[-1] == len(x) and gi[-1] == len(pid) == meta["total_puzzles"] and len(gi) == meta["total_groups"] + 1
    assert pid.min() >= 1 and pid.max() < len(ids)
# every test-split version names a test puzzle and undoes to its input
te_pid = np.load(f"{d}/test/all__puzzle_identifiers.npy")
assert all(ids[i].split("|||")[0] in tp for i in te_pid)
EOF
    else bad "small build"; cat "$TMP/err"; fi
else
    ok "small build # SKIP $SHARED/data/arc-agi-1 not found"
fi
echo "1..$n"
