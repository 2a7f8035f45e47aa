/* ops_ref.h - operations the tests use as references or shorthands but
 * libtrm itself never calls, so they are compiled into the tests only
 * (tests/support/ops_ref.c) rather than shipped in the library. Same
 * conventions as kernels/ops.h. */
#ifndef TRM_TESTS_OPS_REF_H
#define TRM_TESTS_OPS_REF_H

#include <stdint.h>

/* Embedding lookup: out[n,:] = scale * table[ids[n],:], table [V,D]. */
void op_embedding_forward(float *out, const int32_t *ids, const float *table, int N, int D, float scale);

/* Parameter-free RMSNorm over the last axis of in[N,C] (op_add_rmsnorm_forward
 * without a residual); out may alias in. */
void op_rmsnorm_forward(float *out, float *inv_rms, const float *in, int N, int C, float eps);

/* Unsmoothed cross entropies of one token (the *_ce_smooth of ops.h at
 * eps = 0, bit for bit). */
double op_stablemax_ce(const float *logits, int V, int label, float *dlogits, double scale);
double op_softmax_ce(const float *logits, int V, int label, float *dlogits, double scale);

/* bfloat16 bit pattern -> float (exact). */
float trm_bf16_to_f32(uint16_t h);

#endif
