/* internal.h - what the model's source files share (not public API). */
#ifndef TRM_MODEL_INTERNAL_H
#define TRM_MODEL_INTERNAL_H

#include <stdbool.h>
#include <stddef.h>

#include "model/model.h"
#include "trm.h"

/* A model with every tensor's name and shape but no storage (data and
 * grad NULL; free with trm_model_free): what a checkpoint must hold,
 * checked before anything of the config's size is allocated. */
trm_model *model_layout(const trm_config *cfg, trm_err *err);

/* Activations of one block application, N = B*L rows (spec 1.4).
 * `in` is borrowed (the previous block's out, or the injected state);
 * the rest is owned. Buffers of the other variant stay NULL. */
typedef struct {
    const float *in;  /* [N, D]   block input */
    float *own_in;    /* [N, D]   storage for `in` of a layer-0 block */
    /* attention variant */
    float *qkv;       /* [N, 3D]  projections, RoPE applied to Q and K */
    float *probs;     /* [B, H, L, L] attention weights: NULL (recomputed) */
    float *att;       /* [N, D]   attention output before o_proj */
    /* mlp_t variant (token mixing along L, per channel) */
    float *xt;        /* [B, D, L] transposed input */
    float *gut;       /* [B*D, 2It] */
    float *mt;        /* [B*D, It] */
    float *h1t;       /* [B, D, L] normalised over L */
    /* shared */
    float *rinv1;     /* [N] or [B*D] inverse RMS of the first norm */
    float *h1;        /* [N, D] after the first sub-block */
    float *gu;        /* [N, 2I] */
    float *m;         /* [N, I]  silu(g) * u */
    float *out;       /* [N, D] block output */
    float *rinv2;     /* [N] */
    bool borrowed;    /* m, and for mlp_t also xt / gut / mt / h1t, point into
                         the forward scratch (a training-saved block: the
                         backward recomputes them) */
} block_acts;

/* Gradient scratch of a block backward, sized for one batch. */
typedef struct {
    float *d_h1;      /* [N, D] */
    float *d_m;       /* [N, I] or [B*D, It] (whichever is larger) */
    float *d_gu;      /* [N, 2I] or [B*D, 2It] */
    float *d_att;     /* [N, D] */
    float *d_qkv;     /* [N, 3D] */
    float *d_t;       /* [B, D, L] */
    float *d_t2;      /* [B, D, L] */
    float *gut;       /* [B*D, 2It] mlp_t: the token gate/up output, recomputed */
} block_grads;

/* A block's weights packed for the AVX-512 GEMM (op(B) = W^T), valid for
 * one supervision step; NULL members fall back to the plain product. */
typedef struct {
    const void *qkv, *o, *tok_gu, *tok_down, *gu, *down;
} block_packed;

/* saved: a training block application kept for backward (no SwiGLU output,
 * no attention weights, none of mlp_t's transposed or token-MLP tensors:
 * the caller points them at a scratch and the backward recomputes them);
 * else a forward-only scratch that owns everything. */
int block_acts_alloc(block_acts *a, const trm_model *m, int B, bool saved, bool own_in);
void block_acts_free(block_acts *a);
size_t block_acts_floats(const trm_config *c, int B, bool saved, bool own_in);
size_t block_grads_floats(const trm_config *c, int B);
int block_grads_alloc(block_grads *g, const trm_model *m, int B);
void block_grads_free(block_grads *g);

/* One block: acts->in -> acts->out. pk may be NULL. */
void block_forward(const trm_model *m, int layer, const block_packed *pk, block_acts *a, int B);
/* d_out [N, D] -> d_in [N, D] (overwritten), accumulating weight grads.
 * pk: the packs the forward used (so recomputed products are bit-equal). */
void block_backward(trm_model *m, int layer, const block_packed *pk, const block_acts *a, int B,
                    const float *d_out, float *d_in, block_grads *g);

/* Weight-gradient pointers of a block (parallel to trm_block_params). */
trm_block_params block_grad_ptrs(const trm_model *m, int layer);

#endif
