/* ops.h - every operation of the TRM, one forward and one backward each.
 *
 * Conventions (llm.c style):
 *   - Shapes in comments; activations are row-major [rows, features].
 *   - Backward functions ADD into their gradient outputs (callers zero
 *     them), except op_rope_backward which rotates a gradient in place.
 *   - Any gradient output may be NULL when it is not needed.
 * The derivations are in docs/backward.md.
 */
#ifndef TRM_OPS_H
#define TRM_OPS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Linear layer: out[N,O] = in[N,I] . W[O,I]^T (+ b[O]). */
void op_linear_forward(float *out, const float *in, const float *W, const float *b,
                    int N, int I, int O);
/* The same with W^T pre-packed by matmul_pack_b(tb = true, K = I, N = O)
 * under the same bf16 flag (kernels/matmul.h). */
void op_linear_forward_packed(float *out, const float *in, const void *Wp, bool bf16,
                           int N, int I, int O);
/* din[N,I] += dout . W;  dW[O,I] += dout^T . in;  db[O] += sum_n dout. */
void op_linear_backward(float *din, float *dW, float *db, const float *dout,
                     const float *in, const float *W, int N, int I, int O);

/* The same with din overwritten (no bias). */
void op_linear_backward_set(float *din, float *dW, const float *dout, const float *in,
                         const float *W, int N, int I, int O);

/* Embedding gradient: dtable[ids[n],:] += scale * dout[n,:] (the forward
 * lookup is done inside the ACT step). */
void op_embedding_backward(float *dtable, const float *dout, const int32_t *ids,
                        int N, int D, float scale);

/* Parameter-free RMSNorm over the last axis of in + res, in[N,C]:
 * out = x / sqrt(mean(x^2) + eps) with x = in + res (res may be NULL; out
 * may alias in or res); inv_rms[N] keeps 1/sqrt(...). */
void op_add_rmsnorm_forward(float *out, float *inv_rms, const float *in, const float *res,
                         int N, int C, float eps);
/* din[N,C] += inv_rms * (dout - out * mean(dout * out)). */
void op_rmsnorm_backward(float *din, const float *dout, const float *out,
                      const float *inv_rms, int N, int C);

/* The same, overwriting din. */
void op_rmsnorm_backward_set(float *din, const float *dout, const float *out,
                          const float *inv_rms, int N, int C);

/* SwiGLU activation: m[N,I] = silu(gu[:, :I]) * gu[:, I:], gu [N, 2I]. */
void op_swiglu_forward(float *m, const float *gu, int N, int I);
/* dgu[N,2I] += (dm * u * silu'(g), dm * silu(g)). */
void op_swiglu_backward(float *dgu, const float *dm, const float *gu, int N, int I);

/* The same, overwriting dgu. */
void op_swiglu_backward_set(float *dgu, const float *dm, const float *gu, int N, int I);

/* RoPE tables [L, hd]: angle(p, i) = p * theta^(-2 (i mod hd/2) / hd). */
void op_rope_tables(float *cos_t, float *sin_t, int L, int hd, float theta);
/* Rotates, in place, the first n_heads heads (hd each) of every row of
 * x[rows, row_stride]; row r sits at position r mod L. Half-rotation
 * convention: x' = x cos + [-x2, x1] sin. */
void op_rope_forward(float *x, int rows, int L, int n_heads, int hd, int row_stride,
                  const float *cos_t, const float *sin_t);
/* Applies the transposed rotation to a gradient, in place. */
void op_rope_backward(float *dx, int rows, int L, int n_heads, int hd, int row_stride,
                   const float *cos_t, const float *sin_t);

/* Non-causal multi-head attention, scale 1/sqrt(hd).
 * qkv [B, L, 3*H*hd] (Q heads, then K heads, then V heads);
 * out [B, L, H*hd]; probs [B, H, L, L] softmax weights kept for backward
 * (may be NULL in inference). */
void op_attention_forward(float *out, float *probs, const float *qkv, int B, int L,
                       int H, int hd);
/* dqkv [B, L, 3*H*hd] += gradient through the attention. probs may be
 * NULL: the weights are then recomputed from qkv (the same numbers). */
void op_attention_backward(float *dqkv, const float *dout, const float *qkv,
                        const float *probs, int B, int L, int H, int hd);

/* The same, overwriting dqkv. */
void op_attention_backward_set(float *dqkv, const float *dout, const float *qkv,
                            const float *probs, int B, int L, int H, int hd);

/* out[b, c, r] = in[b, r, c] for in [B, R, C]. */
void op_transpose_last2(float *out, const float *in, int B, int R, int C);

/* dst[i] = a[i] + b[i] (dst may alias a or b). */
void op_vec_add(float *dst, const float *a, const float *b, size_t n);
/* dst[i] += a[i]. */
void op_vec_acc(float *dst, const float *a, size_t n);

/* ---- losses (per token / per row, in double) ---- */

/* Stablemax cross entropy of one token over V logits:
 * s(v) = v + 1 (v >= 0), 1 / (1 - v + 1e-30) (v < 0); loss = -log(s_l / sum s);
 * op_softmax_ce_smooth: ordinary softmax. Label-smoothed: cross entropy
 * against the target (1 - eps) onehot(label) + eps / V, i.e.
 * (1 - eps) (-log p_label) + eps mean_i(-log p_i) with p the stablemax /
 * softmax probabilities (the softmax one is PyTorch's
 * cross_entropy(label_smoothing = eps)); eps = 0 is the plain loss, bit for
 * bit. If dlogits is not NULL, writes scale * dloss/dlogits (overwrites). */
double op_stablemax_ce_smooth(const float *logits, int V, int label, double eps,
                           float *dlogits, double scale);
double op_softmax_ce_smooth(const float *logits, int V, int label, double eps,
                         float *dlogits, double scale);
/* BCE with logits: max(x,0) - x t + log(1 + exp(-|x|)); *dx = sigmoid(x) - t. */
double op_bce_with_logits(double x, double t, double *dx);

#endif
