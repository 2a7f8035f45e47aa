#!/usr/bin/env bash
# bench/avx2.sh - the fair AVX2 comparison of issue 14 on one core: trm's
# AVX2 path (TRM_CPU=avx2) against the PyTorch model held to AVX2 as well
# (bench/compare.py --isa avx2 sets ATEN_CPU_CAPABILITY=avx2,
# DNNL_MAX_CPU_ISA=AVX2 and OPENBLAS_CORETYPE=Haswell for both processes),
# timed by CPU time (OMP_NUM_THREADS=1 TRM_BENCH_CPUTIME=1), so it runs on
# an AVX-512 machine as an AVX2 one would and on a shared machine too.
# Cases: training sudoku-att and sudoku-mlp at batch 8, maze-att at batch
# 2; batch-1 solving (16 supervision steps) and batch-64 solving (1 step)
# of sudoku-att. Extra arguments go to compare.py (e.g. --trm-steps 1
# --torch-steps 1 for a quick check, --case to run fewer cases).
#   bench/avx2.sh                 # the whole table (tens of minutes)
set -eu
cd "$(dirname "$0")/.."
cases=()
for c in sudoku-att:train:8 sudoku-mlp:train:8 maze-att:train:2 sudoku-att:solve:1 sudoku-att:solve:64:1; do
    cases+=(--case "$c")
done
# --case given by the caller replaces the list
for arg in "$@"; do [ "$arg" = --case ] && cases=(); done
OMP_NUM_THREADS=1 TRM_BENCH_CPUTIME=1 exec /usr/bin/python3 bench/compare.py --isa avx2 "${cases[@]}" "$@"
