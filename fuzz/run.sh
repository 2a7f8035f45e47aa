#!/usr/bin/env bash
# fuzz/run.sh - builds the libFuzzer harnesses (make fuzz-build), replays the
# committed crash inputs fuzz/regressions/<name>/*, then fuzzes each harness
# for FUZZ_SECONDS (default 60) from fuzz/corpus/<name>/ (the committed seeds
# are read, never written; new inputs go to a scratch corpus). TAP lines;
# without clang/libFuzzer the whole stage is one named skip.
#   FUZZ_SECONDS=N   time per harness      FUZZ_ONLY="npy config"  a subset
#   FUZZ_CC, FUZZ_BUILD as in the Makefile  FUZZ_KEEP=DIR  keep the grown corpora there
# A crash writes its input to FUZZ_BUILD/artifacts/<name>/ and fails.
set -u
cd "$(dirname "$0")/.."
SECONDS_EACH=${FUZZ_SECONDS:-60}
CC_F=${FUZZ_CC:-$(command -v clang || command -v clang-14 || echo clang)}
FB=${FUZZ_BUILD:-build-fuzz}
n=0
ok() { n=$((n + 1)); echo "ok $n - $1"; }
bad() { n=$((n + 1)); echo "not ok $n - $1"; }

work=$(mktemp -d)
trap 'rm -rf "$work"; echo "1..$n"' EXIT
# besides clang: libFuzzer's runtime (libclang-rt-14-dev) and, for the
# library's OpenMP code, clang's omp.h and libomp (libomp-14-dev)
printf '#include <omp.h>\nint LLVMFuzzerTestOneInput(const unsigned char *d, unsigned long n) { (void)d; (void)n; return omp_get_max_threads() < 0; }\n' >"$work/probe.c"
if ! "$CC_F" -fopenmp -fsanitize=fuzzer "$work/probe.c" -o "$work/probe" >/dev/null 2>&1; then
    n=$((n + 1)); echo "ok $n - fuzzing # SKIP $CC_F with libFuzzer not available (Debian: clang-14 libclang-rt-14-dev libomp-14-dev)"
    exit 0
fi
if ! make -s -j"${JOBS:-1}" FUZZ_CC="$CC_F" FUZZ_BUILD="$FB" fuzz-build >"$work/build.log" 2>&1; then
    tail -20 "$work/build.log"; bad "fuzz harnesses build"; exit 1
fi
ok "fuzz harnesses build"
# the harnesses write every input to a file: a RAM file system is ~10x
# faster. Their scratch folders go in one folder removed at exit, since a
# crashing harness cannot remove its own.
scratch_parent=${TMPDIR:-}
if [ -z "$scratch_parent" ] && [ -d /dev/shm ] && [ -w /dev/shm ]; then scratch_parent=/dev/shm; fi
TMPDIR=$(mktemp -d -p "${scratch_parent:-/tmp}" trm_fuzz_run.XXXXXX) || exit 1
export TMPDIR
trap 'rm -rf "$work" "$TMPDIR"; echo "1..$n"' EXIT
names=${FUZZ_ONLY:-$(ls fuzz/fuzz_*.c | sed "s|fuzz/fuzz_||; s|\.c$||")}
status=0
for name in $names; do
    bin=$FB/fuzz/fuzz_$name
    [ -x "$bin" ] || { bad "fuzz_$name: no harness $bin"; status=1; continue; }
    if [ -d "fuzz/regressions/$name" ]; then
        if "$bin" -runs=1 fuzz/regressions/"$name"/* >"$work/log" 2>&1; then
            ok "fuzz_$name: $(ls fuzz/regressions/"$name" | wc -l) regression inputs replay cleanly"
        else
            grep -E 'ERROR|SUMMARY|Running:' "$work/log" | tail -4; bad "fuzz_$name: regression replay"; status=1
        fi
    fi
    corpus=$work/corpus/$name
    mkdir -p "$corpus" "$FB/artifacts/$name"
    # seeds too big to commit: the state and checkpoint of fuzz_resume's own run
    : >"$work/empty"
    # (without them fuzz_resume reaches a quarter of its code, fuzz_safetensors
    # half: a seed that was not written fails the stage instead of passing quietly)
    seed=
    if [ "$name" = resume ]; then
        seed=$corpus/fresh_state
        FUZZ_RESUME_SEED="$seed" "$bin" -runs=1 "$work/empty" >"$work/seed.log" 2>&1
    elif [ "$name" = safetensors ] && [ -x "$FB/fuzz/fuzz_resume" ]; then
        seed=$corpus/checkpoint
        FUZZ_CHECKPOINT_SEED="$seed" "$FB/fuzz/fuzz_resume" -runs=1 "$work/empty" >"$work/seed.log" 2>&1
    fi
    if [ -n "$seed" ] && [ ! -s "$seed" ]; then
        grep -E '^fuzz_|ERROR' "$work/seed.log" | head -2
        bad "fuzz_$name: seed ${seed##*/} not written by fuzz_resume"; status=1
    fi
    nice "$bin" -max_total_time="$SECONDS_EACH" -timeout=30 -rss_limit_mb=2048 -print_final_stats=1 \
        -artifact_prefix="$FB/artifacts/$name/" "$corpus" $(ls -d "fuzz/corpus/$name" 2>/dev/null) >"$work/log" 2>&1
    rc=$?
    runs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$work/log")
    cov=$(grep -E '^#[0-9]+' "$work/log" | tail -1 | grep -oE 'cov: [0-9]+ ft: [0-9]+')
    if [ $rc -eq 0 ]; then
        ok "fuzz_$name: $SECONDS_EACH s, ${runs:-?} runs, ${cov:-no coverage line}"
    else
        grep -E '==ERROR|SUMMARY|runtime error|Test unit written|deadly signal|^ERROR|^INFO: .*(failed|not)' "$work/log" | head -6
        bad "fuzz_$name: crashed after ${runs:-?} runs (input in $FB/artifacts/$name/)"
        status=1
    fi
    if [ -n "${FUZZ_KEEP:-}" ]; then mkdir -p "$FUZZ_KEEP/$name" && cp -r "$corpus"/. "$FUZZ_KEEP/$name/"; fi
done
exit $status
