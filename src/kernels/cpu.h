/* cpu.h - which instruction set the kernels run on, chosen once per
 * process at run time (the binary itself runs on any x86-64).
 *
 * cpu_isa() is the one switch every SIMD kernel follows: the GEMM
 * (gemm.c's driver with the per-ISA packing and micro-kernels of
 * gemm_avx512.c / gemm_avx2.c: gemm_isa()) and the element-wise rows
 * (vec_kernels(): one table of function pointers per ISA, vec_avx512.c /
 * vec_avx2.c / vec_neon.c; NULL means ops.c's portable loops). A new ISA
 * adds an enum value, its detection in cpu.c and its two tables (NEON:
 * gemm_neon.c, vec_neon.c).
 *
 * Default: the best the CPU has. TRM_CPU in the environment overrides it:
 *   native    the default
 *   avx512    AVX-512F (+ AVX512-BF16 when present)
 *   avx2      AVX2 + FMA, also on an AVX-512 CPU (so both paths are tested
 *             wherever the suite runs)
 *   neon      ARM64 AdvSIMD (part of ARMv8-A: every ARM64 CPU has it)
 *   portable  the plain C loops, OpenBLAS for the products
 *   noavx512bf16  avx512 without AVX512-BF16 (tests the bf16 emulation)
 * A value the CPU cannot run, or an unknown one, is refused by
 * trm_cpu_check_env (the CLI stops with its message); the library itself
 * then falls back to native. */
#ifndef TRM_CPU_H
#define TRM_CPU_H

#include <stdbool.h>

#include "trm.h"

typedef enum {
    TRM_ISA_PORTABLE = 0,
    TRM_ISA_AVX2 = 1,     /* AVX2 + FMA (Haswell, Zen 1-3) */
    TRM_ISA_AVX512 = 2,   /* AVX-512F (Skylake-SP, Zen 4-5) */
    TRM_ISA_NEON = 3,     /* ARM64 AdvSIMD (Cortex-A76 of the Raspberry Pi 5, Apple M) */
    TRM_ISA_COUNT
} trm_isa;

/* The ISA the kernels run on now. */
trm_isa cpu_isa(void);
/* Whether this CPU can run `isa` (whatever TRM_CPU says). */
bool cpu_isa_supported(trm_isa isa);
/* Switches the kernels to `isa` when the CPU supports it (tests loop over
 * the paths this way); returns the ISA in effect. Weights packed under
 * one ISA (matmul_pack_b) must be packed again after a switch. */
trm_isa cpu_set_isa(trm_isa isa);
const char *cpu_isa_name(trm_isa isa);
/* 0 when TRM_CPU is unset or names an ISA this CPU runs, else -1 with one
 * line in err. */
int trm_cpu_check_env(trm_err *err);
/* Tests: act as if the CPU ran nothing better than `max` (TRM_ISA_COUNT - 1
 * lifts the limit), to check the refusals of a smaller CPU on any one. */
void cpu_limit(trm_isa max);
/* True when the AVX-512 kernels run (TRM_CPU permitting). */
bool cpu_has_avx512(void);
/* True when the AVX-512 kernels run and the CPU has AVX512-BF16. */
bool cpu_has_avx512bf16(void);

/* Element-wise row kernels of one ISA (semantics: vec_avx512.h). */
typedef struct {
    void (*exp)(float *y, const float *x, int n);
    void (*swiglu_row)(float *m, const float *g, const float *u, int I);
    void (*swiglu_bwd_row)(float *dg, float *du, const float *d, const float *g, const float *u, int I,
                           bool add);
    float (*add_rmsnorm_row)(float *y, const float *x, const float *res, int C, float eps);
    void (*rmsnorm_bwd_row)(float *dx, const float *dy, const float *y, float r, int C, bool add);
    void (*softmax_row)(float *row, int C);
    void (*softmax_bwd_row)(float *d, const float *p, int C, float scale);
    void (*adam_atan2)(float *p, float *m, float *v, const float *g, long n, float decay, float c1,
                       float c2, float step, float sqrt_bc2);
    void (*atan2_nonneg_x)(float *r, const float *y, const float *x, int n);
    void (*transpose)(float *out, int ldo, const float *in, int ldi, int R, int C);
} trm_vec_kernels;

/* The active ISA's table, NULL on the portable path. */
const trm_vec_kernels *vec_kernels(void);

/* GEMM building blocks of one ISA, driven by gemm.c (Goto / van de Geijn
 * blocking). mode: 0 fp32, 1 bf16 pairs (vdpbf16ps), 2 bf16-rounded fp32;
 * an ISA without bf16 has bf16 = false and only sees mode 0. */
typedef struct {
    int mr, nr;       /* register tile */
    int kc, kcb, mc;  /* K block (fp32, bf16 pairs), rows per tile (multiple of mr) */
    bool bf16;
    /* one nr-column sliver of op(B)[k0:k0+kc, j0:j0+n] ([kc][nr], zero padded) */
    void (*pack_b)(void *dst, int mode, bool tb, const float *B, int ldb, int k0, int kc, int j0, int n);
    /* one mr-row sliver of op(A)[i0:i0+m, k0:k0+kc] ([kc][mr]) */
    void (*pack_a)(void *dst, int mode, bool ta, const float *A, int lda, int i0, int m, int k0, int kc);
    /* C[m, n] = alpha a.b + beta C for one tile (m <= mr, n <= nr) */
    void (*ukr)(int mode, int kc, const void *a, const void *b, float *c, int ldc, int m, int n,
                float alpha, float beta);
} trm_gemm_kernels;

/* The active ISA's GEMM kernels, NULL on the portable path. */
const trm_gemm_kernels *gemm_isa(void);

#endif
