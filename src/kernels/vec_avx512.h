/* vec_avx512.h - AVX-512 row kernels behind ops.c (through vec_kernels(),
 * kernels/cpu.h; x86-64 only, call only when the ISA is avx512).
 * Semantics equal the portable loops in ops.c up to rounding; they are
 * those of every ISA's vec_kernels() table (vec_avx2.c, vec_neon.c), whose
 * width-independent entries are vec_simd.h's vs_* functions. */
#ifndef TRM_VEC_AVX512_H
#define TRM_VEC_AVX512_H

#include <stdbool.h>

void v512_exp(float *y, const float *x, int n);
/* swiglu_row(m, g, u, I): m = silu(g) u; swiglu_bwd_row(dg, du, d, g, u,
 * I, add): accumulate into dg, du (else overwrite). Both vec_simd.h's. */
float v512_add_rmsnorm_row(float *y, const float *x, const float *res, int C, float eps);
void v512_rmsnorm_bwd_row(float *dx, const float *dy, const float *y, float r, int C, bool add);
void v512_softmax_row(float *row, int C);
void v512_softmax_bwd_row(float *d, const float *p, int C, float scale);
/* adam_atan2(p, m, v, g, n, decay, c1, c2, step, sqrt_bc2): AdamATan2 on
 * n elements (optim.c's loop, same order of operations):
 * p *= decay; m += c1 (g - m); v += c2 (g^2 - v);
 * p -= step * atan2(m, sqrt(v) / sqrt_bc2). atan2 to ~2 ulp.
 * atan2_nonneg_x(r, y, x, n): atan2(y, x) for n pairs, x >= 0 or NaN (what
 * AdamATan2 needs); exposed for tests. Both vec_simd.h's. */
/* out[c * ldo + r] = in[r * ldi + c], r < R, c < C. */
void v512_transpose(float *out, int ldo, const float *in, int ldi, int R, int C);

#endif
