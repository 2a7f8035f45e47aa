#!/usr/bin/env bash
# bench/all.sh - every number of docs/performance.md in one run (~15-25 min
# on 2 cores; PyTorch steps dominate). Writes the raw outputs to $OUT.
#   1. trm vs PyTorch, fp32, the issue's cases (bench/compare.py)
#   2. trm bf16 vs trm fp32 on the same cases
#   3. profile of one sudoku-att training step (batch 32) by op family:
#      before (TRM_CPU=portable: OpenBLAS + the portable element-wise loops,
#      i.e. the engine as it was before this work) and after
#   4. the GEMM backends on the model's shapes: OpenBLAS as the environment
#      runs it, and (one command, nothing else changed) with the OPENBLAS_*
#      variables unset; the project's AVX-512 fp32 / bf16; oneDNN if loadable
set -u
cd "$(dirname "$0")/.."
TRM=${TRM:-build/trm}
OUT=${OUT:-${TMPDIR:-/tmp}/trm-bench}
mkdir -p "$OUT"
echo "# $(date -u +%FT%TZ) $(nproc) cores, load $(cut -d' ' -f1-3 /proc/loadavg)" | tee "$OUT/env.txt"
bench/compare.py "$@" | tee "$OUT/compare-fp32.txt"
bench/compare.py --bf16-vs-fp32 --isa native "$@" | tee "$OUT/compare-bf16.txt"
for cpu in portable avx2 native; do
    echo "== TRM_CPU=$cpu"
    TRM_CPU=$cpu "$TRM" bench --preset sudoku-att --mode train --batch 32 --steps 2 --profile --no-peak
done | tee "$OUT/profile.txt"
"$TRM" bench --gemm | tee "$OUT/gemm.txt"
env -u OPENBLAS_CORETYPE -u OPENBLAS_L2_SIZE "$TRM" bench --gemm | tee "$OUT/gemm-openblas-unpinned.txt"
