/* neon.h - the ARM64 (AdvSIMD / NEON) kernels: the GEMM (gemm_neon.c)
 * and the row kernels behind ops.c (vec_neon.c).
 *
 * Both files compile on every target, as the AVX-512 ones do: off ARM64
 * trm_cpu_has_neon() is false, nothing dispatches to them, and their
 * entry points abort if called anyway. Semantics equal the portable loops
 * of matmul.c / ops.c up to rounding (tests/test_neon.c states the
 * tolerances). NEON is part of the ARMv8-A base, so no run-time feature
 * test is needed; TRM_CPU=portable turns them off (testing aid). */
#ifndef TRM_NEON_H
#define TRM_NEON_H

#include <stdbool.h>

#if defined(__aarch64__) && defined(__ARM_NEON)
#define TRM_NEON 1
#else
#define TRM_NEON 0
#endif

bool trm_cpu_has_neon(void);

/* C = alpha op(A) op(B) + beta C, the contract of trm_gemm (matmul.h). */
void trm_gemm_neon(bool ta, bool tb, int M, int N, int K, float alpha, const float *A, int lda,
                   const float *B, int ldb, float beta, float *C, int ldc);

/* The row kernels, with the semantics of vec_avx512.h's of the same name. */
void vneon_exp(float *y, const float *x, int n);
void vneon_swiglu_row(float *m, const float *g, const float *u, int I);
void vneon_swiglu_bwd_row(float *dg, float *du, const float *d, const float *g, const float *u,
                          int I, bool add);
float vneon_add_rmsnorm_row(float *y, const float *x, const float *res, int C, float eps);
void vneon_rmsnorm_bwd_row(float *dx, const float *dy, const float *y, float r, int C, bool add);
void vneon_softmax_row(float *row, int C);
void vneon_softmax_bwd_row(float *d, const float *p, int C, float scale);

#endif
