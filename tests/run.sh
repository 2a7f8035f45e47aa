#!/usr/bin/env bash
# tests/run.sh BUILD_DIR - runs the whole suite against one build.
#   1. the PyTorch reference's self-checks and parameter counts
#   2. parity fixtures from the reference (regenerated when its code changes)
#   3. every C test binary BUILD_DIR/tests/test_* (cmocka, TAP output)
#   4. the CLI tests (tests/cli.sh)
# Prints TAP-style lines per test and ends with "N passed, N failed".
set -u
BUILD=${1:-build}
ROOT=$(cd "$(dirname "$0")/.." && pwd)
cd "$ROOT"
PY=/usr/bin/python3   # Debian's python3 with python3-torch
export TRM_FIXTURES=${TRM_FIXTURES:-$ROOT/build/fixtures}
passed=0 failed=0
log=$(mktemp)
trap 'rm -f "$log"' EXIT

# Counts "ok"/"not ok" TAP lines of one producer; echoes everything.
tally() {
    local name=$1; shift
    local t0=$SECONDS
    "$@" >"$log" 2>&1
    local rc=$?
    cat "$log"
    local ok bad
    ok=$(grep -cE '^ok ' "$log")
    # cmocka prints a skipped test as "not ok N # SKIP" (a TAP directive,
    # not a failure); skips are named on their own line, never silent
    bad=$(grep -E '^not ok ' "$log" | grep -cv '# SKIP')
    grep -qE '^not ok .*# SKIP' "$log" && echo "# $name: skipped: $(grep -E '^not ok .*# SKIP' "$log" | sed 's/.*# SKIP //' | tr '\n' ' ')"
    if [ "$rc" -ne 0 ] && [ "$bad" -eq 0 ]; then
        echo "not ok - $name exited with status $rc"
        bad=1
    fi
    passed=$((passed + ok)); failed=$((failed + bad))
    echo "# $name: $ok passed, $bad failed ($((SECONDS - t0)) s)"
}

# A single check as one TAP line.
check() {
    local name=$1; shift
    if "$@" >"$log" 2>&1; then echo "ok - $name"; passed=$((passed + 1)); return 0
    else cat "$log"; echo "not ok - $name"; failed=$((failed + 1)); return 1; fi
}

start=$SECONDS
check "reference: PyTorch model self-test" $PY tests/reference/trm_ref.py
check "reference: parameter counts of spec 1.9" $PY tests/reference/check_params.py
check "reference: safetensors reader/writer self-test" $PY tests/reference/safetensors_io.py
check "reference: optimizer self-test (spec 9 anchors)" $PY tests/reference/optim_ref.py
check "tools: checkpoint converter round trip" $PY tests/reference/test_convert_checkpoint.py

stamp="$TRM_FIXTURES/.stamp"
src_hash=$(cat tests/reference/*.py | sha256sum | cut -c1-16)
if [ ! -f "$stamp" ] || [ "$(cat "$stamp")" != "$src_hash" ]; then
    rm -rf "$TRM_FIXTURES"
    check "reference: generate parity fixtures" $PY tests/reference/make_fixtures.py "$TRM_FIXTURES" \
        && check "reference: generate optimizer fixtures" \
               $PY tests/reference/make_optim_fixtures.py "$TRM_FIXTURES/optim" \
        && echo "$src_hash" > "$stamp"
fi

for t in "$BUILD"/tests/test_*; do
    [ -x "$t" ] || continue
    tally "$(basename "$t")" env CMOCKA_MESSAGE_OUTPUT=TAP "$t"
done
tally "cli.sh" tests/cli.sh "$BUILD/trm"
tally "arc.sh" tests/arc.sh "$BUILD/trm"
tally "maze.sh" tests/maze.sh "$BUILD/trm"
tally "check_arc_builder.py" $PY tests/reference/check_arc_builder.py "$BUILD/trm"
tally "train.sh" tests/train.sh "$BUILD/trm"
tally "search.sh" tests/search.sh "$BUILD/trm"
tally "tasks_cli.sh" tests/tasks_cli.sh "$BUILD/trm"
tally "recipes.sh" tests/recipes.sh "$BUILD/trm"
# The learning test trains for ~1000 steps: it runs in the optimized build
# only (make test); under the sanitizers (make sanitize) every other test
# still exercises the same training code.
if [ "${TRM_SKIP_LEARNING:-0}" = 1 ]; then
    echo "# learn.sh, learn_maze.sh, learn_recipes.sh: not run in this (sanitizer) pass; make test runs them"
else
    tally "learn.sh" tests/learn.sh "$BUILD/trm"
    tally "learn_maze.sh" tests/learn_maze.sh "$BUILD/trm"
    tally "learn_recipes.sh" tests/learn_recipes.sh "$BUILD/trm"
fi

echo "# suite ran in $((SECONDS - start)) s"
echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
