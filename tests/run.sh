#!/usr/bin/env bash
# tests/run.sh BUILD_DIR - runs the whole suite against one build.
#   1. the PyTorch reference's self-checks and parameter counts
#   2. parity fixtures from the reference (regenerated when its code changes)
#   3. every C test binary BUILD_DIR/tests/test_* (cmocka, TAP output)
#      and test_parity / test_model again with TRM_CPU=avx2 (the AVX2 path)
#   4. the CLI tests (tests/cli.sh and the other tests/*.sh)
#   5. the fuzz harnesses replaying their seeds and committed crash inputs
#   6. with TRM_FUZZ_SECONDS=N (make check sets 10): the libFuzzer harnesses,
#      N s each, and their committed crash inputs (fuzz/run.sh; a named skip
#      without clang/libFuzzer)
# Prints TAP-style lines per test and ends with "N passed, N failed".
set -u
BUILD=${1:-build}
ROOT=$(cd "$(dirname "$0")/.." && pwd)
cd "$ROOT"
PY=/usr/bin/python3   # Debian's python3 with python3-torch
export TRM_FIXTURES=${TRM_FIXTURES:-$ROOT/build/fixtures}
passed=0 failed=0 skipped=0 skip_names=""
log=$(mktemp)
trap 'rm -f "$log"' EXIT

# Counts the TAP lines of one producer; echoes everything. A line with a
# "# SKIP" directive (any case; cmocka writes "not ok N # SKIP", tests/lib.sh
# and the Python checks "ok N - name # skip why") is a skip: neither a pass
# nor a failure, and named in the producer's summary line and at the end.
tally() {
    local name=$1; shift
    local t0=$SECONDS
    "$@" >"$log" 2>&1
    local rc=$?
    cat "$log"
    local ok bad skip
    skip=$(grep -iE '^(not )?ok .*# SKIP' "$log")
    ok=$(grep -E '^ok ' "$log" | grep -civ '# SKIP')
    bad=$(grep -E '^not ok ' "$log" | grep -civ '# SKIP')
    if [ -n "$skip" ]; then
        skipped=$((skipped + $(printf '%s\n' "$skip" | wc -l)))
        skip_names+="# $name: skipped: $(printf '%s\n' "$skip" | sed -E 's/^(not )?ok [0-9]* *-? *//' | tr '\n' ';')"$'\n'
    fi
    if [ "$rc" -ne 0 ] && [ "$bad" -eq 0 ]; then
        echo "not ok - $name exited with status $rc"
        bad=1
    fi
    passed=$((passed + ok)); failed=$((failed + bad))
    echo "# $name: $ok passed, $bad failed${skip:+, $(printf '%s\n' "$skip" | wc -l) skipped} ($((SECONDS - t0)) s)"
}

# A single check as one TAP line.
check() {
    local name=$1; shift
    if "$@" >"$log" 2>&1; then echo "ok - $name"; passed=$((passed + 1)); return 0
    else cat "$log"; echo "not ok - $name"; failed=$((failed + 1)); return 1; fi
}

start=$SECONDS
# The sanitizer pass (make sanitize: TRM_SUITE_PASS=sanitizer) runs what
# exercises the C code again under ASan + UBSan and leaves out what does not
# or what repeats code the pass already covers: the Python-only checks, the
# TRM_CPU=avx2 repeat of the model tests (the AVX2 kernels run under the
# sanitizers in test_kernels / test_ops, and a whole AVX2 training step in
# test_kernels' avx2 = avx512 test) and the ~1000-step learning tests (the
# same training code runs in every other test). make test runs all of them.
sanitizer_pass=0
[ "${TRM_SUITE_PASS:-}" = sanitizer ] && sanitizer_pass=1
if [ "$sanitizer_pass" = 1 ]; then
    echo "# Python-only checks (reference self-tests, converter, builder shim, arm64 stage): not run in this (sanitizer) pass; make test runs them"
else
    check "reference: PyTorch model self-test" $PY tests/reference/trm_ref.py
    check "reference: parameter counts of spec 1.9" $PY tests/reference/check_params.py
    check "reference: safetensors reader/writer self-test" $PY tests/reference/safetensors_io.py
    check "reference: optimizer self-test (spec 9 anchors)" $PY tests/reference/optim_ref.py
    check "reference: Muon and AdamW self-test" $PY tests/reference/muon_ref.py
    check "tools: checkpoint converter round trip" $PY tests/reference/test_convert_checkpoint.py
    check "check_arc_builder.py: missing reference or data is a named skip, pydantic 1 gets the shim" \
        $PY tests/reference/test_check_arc_builder.py
    # the ARM64 stage of make check (tests/cross_arm64.sh) names what it lacks
    check "arm64 stage: a named skip without the cross compiler" \
        bash -c 'CROSS_ARM64=no-such- tests/cross_arm64.sh | grep -q "^ok - .*# SKIP missing: no-such-gcc"'
fi

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
# The whole-model parity tests again on the AVX2 path, forced with
# TRM_CPU=avx2 (also on an AVX-512 CPU): both SIMD paths are tested
# wherever the suite runs (src/kernels/cpu.h). A named skip on a CPU
# without AVX2 + FMA (trm refuses the setting, and says why).
if [ "$sanitizer_pass" = 1 ]; then
    echo "# test_parity, test_model (TRM_CPU=avx2): not run in this (sanitizer) pass; make test runs them"
elif cpu_err=$(TRM_CPU=avx2 "$BUILD/trm" info --preset tiny 2>&1 >/dev/null); then
    for t in test_parity test_model; do
        [ -x "$BUILD/tests/$t" ] && tally "$t (TRM_CPU=avx2)" env TRM_CPU=avx2 CMOCKA_MESSAGE_OUTPUT=TAP "$BUILD/tests/$t"
    done
else
    tally "test_parity, test_model (TRM_CPU=avx2)" echo "ok - TRM_CPU=avx2 parity runs # SKIP ${cpu_err#trm: }"
fi
tally "cli.sh" tests/cli.sh "$BUILD/trm"
tally "arc.sh" tests/arc.sh "$BUILD/trm"
tally "files.sh" tests/files.sh "$BUILD/trm"
tally "plot.sh" tests/plot.sh "$BUILD/trm"
tally "maze.sh" tests/maze.sh "$BUILD/trm"
tally "check_arc_builder.py" $PY tests/reference/check_arc_builder.py "$BUILD/trm"
tally "train.sh" tests/train.sh "$BUILD/trm"
tally "mpi.sh" tests/mpi.sh "$BUILD/trm"
tally "muon.sh" tests/muon.sh "$BUILD/trm"
tally "search.sh" tests/search.sh "$BUILD/trm"
tally "tasks_cli.sh" tests/tasks_cli.sh "$BUILD/trm"
tally "sudoku_hard.sh" tests/sudoku_hard.sh "$BUILD/trm"
tally "recipes.sh" tests/recipes.sh "$BUILD/trm"
tally "install.sh" tests/install.sh "$BUILD/trm"
tally "python.sh" tests/python.sh "$BUILD/trm"
# The learning test trains for ~1000 steps: it runs in the optimized build
# only (make test); under the sanitizers (make sanitize) every other test
# still exercises the same training code.
if [ "$sanitizer_pass" = 1 ]; then
    echo "# learn.sh, learn_maze.sh, learn_recipes.sh: not run in this (sanitizer) pass; make test runs them"
else
    # One thread each, side by side: learn.sh on one core, the other two
    # after each other on the other (a tiny model gains little from a
    # second thread; this saves about a third of their wall time).
    learn_out=$(mktemp) learn_rc=$(mktemp)
    { tests/learn.sh "$BUILD/trm" >"$learn_out" 2>&1; echo $? >"$learn_rc"; } &
    learn_pid=$!
    tally "learn_maze.sh" tests/learn_maze.sh "$BUILD/trm"
    tally "learn_recipes.sh" tests/learn_recipes.sh "$BUILD/trm"
    wait "$learn_pid"
    tally "learn.sh (ran beside the two above)" bash -c 'cat "$1"; exit "$(cat "$2")"' _ "$learn_out" "$learn_rc"
    rm -f "$learn_out" "$learn_rc"
fi

# The fuzz harnesses with a plain main, on their seeds and on every input
# that once crashed one (fuzz/regressions/<name>/), in this build (gcc, or
# ASan + UBSan in make sanitize), with or without clang.
for h in "$BUILD"/fuzz/replay_*; do
    [ -x "$h" ] || continue
    name=${h##*/replay_}
    inputs=$(ls -d fuzz/corpus/"$name"/* fuzz/regressions/"$name"/* 2>/dev/null)
    [ -n "$inputs" ] || continue
    # shellcheck disable=SC2086 # one argument per file (names without spaces)
    tally "fuzz replay $name" "$h" $inputs
done
if [ -n "${TRM_FUZZ_SECONDS:-}" ] && [ "$TRM_FUZZ_SECONDS" -gt 0 ]; then
    tally "fuzz/run.sh" env FUZZ_SECONDS="$TRM_FUZZ_SECONDS" fuzz/run.sh
fi

echo "# suite ran in $((SECONDS - start)) s"
printf '%s' "$skip_names"
echo "$passed passed, $failed failed, $skipped skipped"
[ "$failed" -eq 0 ]
