/* vec_avx512.h - AVX-512 row kernels behind ops.c (through trm_vec(),
 * kernels/cpu.h; x86-64 only, call only when the ISA is avx512).
 * Semantics equal the portable loops in ops.c up to rounding; vec_avx2.h's
 * v256_* have the same semantics. */
#ifndef TRM_VEC_AVX512_H
#define TRM_VEC_AVX512_H

#include <stdbool.h>

void v512_exp(float *y, const float *x, int n);
void v512_swiglu_row(float *m, const float *g, const float *u, int I);
/* add: accumulate into dg, du (else overwrite). */
void v512_swiglu_bwd_row(float *dg, float *du, const float *d, const float *g, const float *u, int I,
                         bool add);
float v512_add_rmsnorm_row(float *y, const float *x, const float *res, int C, float eps);
void v512_rmsnorm_bwd_row(float *dx, const float *dy, const float *y, float r, int C, bool add);
void v512_softmax_row(float *row, int C);
void v512_softmax_bwd_row(float *d, const float *p, int C, float scale);
/* AdamATan2 on n elements (optim.c's loop, same order of operations):
 * p *= decay; m += c1 (g - m); v += c2 (g^2 - v);
 * p -= step * atan2(m, sqrt(v) / sqrt_bc2). atan2 to ~2 ulp. */
void v512_adam_atan2(float *p, float *m, float *v, const float *g, long n, float decay, float c1,
                     float c2, float step, float sqrt_bc2);
/* atan2(y, x) for n pairs, x >= 0 or NaN (what AdamATan2 needs); exposed
 * for tests. */
void v512_atan2_nonneg_x(float *r, const float *y, const float *x, int n);
/* out[c * ldo + r] = in[r * ldi + c], r < R, c < C. */
void v512_transpose(float *out, int ldo, const float *in, int ldi, int R, int C);

#endif
