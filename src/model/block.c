/* block.c - one post-norm block of the network, forward and backward.
 *
 *   attention:  h1 = rms(x + o_proj(attn(rope(qkv_proj(x)))))
 *   mlp_t:      h1 = rms_L(x^T + swiglu_L(x^T))^T        (norm over L)
 *   both:       out = rms(h1 + down(silu(g) * u)),  [g|u] = gate_up(h1)
 */
#include <stdlib.h>
#include <string.h>

#include "kernels/matmul.h"
#include "kernels/ops.h"
#include "kernels/prof.h"
#include "model/internal.h"

#define ALLOC(ptr, count) do { if (!((ptr) = calloc((size_t)(count), sizeof(float)))) return -1; } while (0)

/* The token MLP runs over B*D rows in chunks of TOK_CHUNK: a chunk's
 * gate/up output and SwiGLU (6 MB at It = 512) stay in cache between the
 * two products, where all of them (100 MB at batch 32) went through
 * memory at ~9 GB/s, and its scratch is a chunk, not the batch. */
#define TOK_CHUNK 1024

/* The channel MLP's SwiGLU runs on chunks of MLP_CHUNK rows right after
 * the chunk's gate/up product, while it is in cache (its output, m, is
 * a chunk-sized scratch: only the down product reads it). */
#define MLP_CHUNK 512

static size_t mlp_rows(int N) { return N < MLP_CHUNK ? (size_t)N : MLP_CHUNK; }

static size_t tok_rows(const trm_config *c, int B) {
    size_t rows = (size_t)B * c->hidden_size;
    return rows < TOK_CHUNK ? rows : TOK_CHUNK;
}

/* Rows of the chunk starting at r0 of a loop over `total` rows. */
static inline int chunk_len(int total, int r0, int chunk) {
    return total - r0 < chunk ? total - r0 : chunk;
}

/* Floats allocated by block_acts_alloc / block_grads_alloc, from the
 * config alone (trm_act_memory_bytes). Keep in step with the allocators. */
size_t block_acts_floats(const trm_config *c, int B, bool saved, bool own_in) {
    size_t D = c->hidden_size, L = trm_config_total_len(c), N = (size_t)B * L;
    size_t I = trm_swiglu_width(c->hidden_size, c->expansion);
    size_t It = c->mlp_t ? trm_swiglu_width((int)L, c->expansion) : 0, n = 0, TR = tok_rows(c, B);
    if (own_in) n += N * D;
    /* training-saved blocks borrow m (and mlp_t's xt, gut, mt, h1t) and
     * keep no attention weights: the backward recomputes them */
    if (c->mlp_t) n += (saved ? 0 : N * D + TR * 3 * It + N * D) + (size_t)B * D;
    else n += N * 3 * D + N * D + N;
    return n + N * D + N * 2 * I + (saved ? 0 : mlp_rows((int)N) * I) + N * D + N;
}

size_t block_grads_floats(const trm_config *c, int B) {
    size_t D = c->hidden_size, L = trm_config_total_len(c), N = (size_t)B * L;
    size_t I = trm_swiglu_width(c->hidden_size, c->expansion);
    size_t It = c->mlp_t ? trm_swiglu_width((int)L, c->expansion) : 0;
    size_t mw = N * I, tw = tok_rows(c, B) * It, big = mw > tw ? mw : tw;
    return N * D + 3 * big + N * D + (c->mlp_t ? 1 : N * 3 * D) + 2 * N * D + (c->mlp_t ? 2 * tw : 1);
}

int block_acts_alloc(block_acts *a, const trm_model *m, int B, bool saved, bool own_in) {
    memset(a, 0, sizeof *a);
    const trm_config *c = &m->cfg;
    size_t D = c->hidden_size, L = m->L, N = (size_t)B * L;
    if (own_in) { ALLOC(a->own_in, N * D); a->in = a->own_in; }
    if (c->mlp_t) {
        if (!saved) {
            ALLOC(a->xt, N * D);
            ALLOC(a->gut, tok_rows(c, B) * 2 * m->It);
            ALLOC(a->mt, tok_rows(c, B) * m->It);
            ALLOC(a->h1t, N * D);
        }
        ALLOC(a->rinv1, (size_t)B * D);
    } else {
        /* no attention weights [B, H, L, L]: the backward recomputes them
         * from qkv (bit for bit), which at L = 916 saves 27 MB per example
         * and block application for ~5% more attention work */
        ALLOC(a->qkv, N * 3 * D);
        ALLOC(a->att, N * D);
        ALLOC(a->rinv1, N);
    }
    ALLOC(a->h1, N * D);
    ALLOC(a->gu, N * 2 * m->I);
    if (!saved) ALLOC(a->m, mlp_rows((int)N) * m->I);
    ALLOC(a->out, N * D);
    ALLOC(a->rinv2, N);
    return 0;
}

void block_acts_free(block_acts *a) {
    bool own = !a->borrowed;
    float *bufs[] = {a->own_in, a->qkv, a->probs, a->att, a->rinv1, a->h1, a->gu, a->out,
                     a->rinv2, own ? a->xt : NULL, own ? a->gut : NULL, own ? a->h1t : NULL,
                     own ? a->m : NULL, own ? a->mt : NULL};
    for (size_t i = 0; i < sizeof bufs / sizeof bufs[0]; i++) free(bufs[i]);
    memset(a, 0, sizeof *a);
}

int block_grads_alloc(block_grads *g, const trm_model *m, int B) {
    memset(g, 0, sizeof *g);
    size_t D = m->cfg.hidden_size, L = m->L, N = (size_t)B * L;
    size_t mw = N * m->I, tw = tok_rows(&m->cfg, B) * m->It;
    size_t big = mw > tw ? mw : tw;
    ALLOC(g->d_h1, N * D);
    ALLOC(g->d_m, big);
    ALLOC(g->d_gu, 2 * big);
    ALLOC(g->d_att, N * D);
    ALLOC(g->d_qkv, m->cfg.mlp_t ? 1 : N * 3 * D);
    ALLOC(g->d_t, N * D);
    ALLOC(g->d_t2, N * D);
    ALLOC(g->gut, m->cfg.mlp_t ? 2 * tw : 1);
    return 0;
}

void block_grads_free(block_grads *g) {
    float *bufs[] = {g->d_h1, g->d_m, g->d_gu, g->d_att, g->d_qkv, g->d_t, g->d_t2, g->gut};
    for (size_t i = 0; i < sizeof bufs / sizeof bufs[0]; i++) free(bufs[i]);
    memset(g, 0, sizeof *g);
}

/* ------------------------------------------------------------ forward */

/* out = in W^T, from the packed weight when there is one. */
#define LINEAR(pkw, out, in, W, N, I, O)                                                   \
    do {                                                                                  \
        if (pkw) PROF(PROF_MATMUL, op_linear_forward_packed(out, in, pkw, matmul_bf16(), N, I, O)); \
        else PROF(PROF_MATMUL, op_linear_forward(out, in, W, NULL, N, I, O));                \
    } while (0)

static void token_mix_forward(const trm_model *m, const trm_block_params *p,
                              const block_packed *pk, block_acts *a, int B) {
    int D = m->cfg.hidden_size, L = m->L, It = m->It;
    PROF(PROF_ELEMWISE, op_transpose_last2(a->xt, a->in, B, L, D));                                   /* [B, D, L] */
    for (int r0 = 0; r0 < B * D; r0 += TOK_CHUNK) {
        int R = chunk_len(B * D, r0, TOK_CHUNK);
        const float *xt = a->xt + (size_t)r0 * L;
        LINEAR(pk ? pk->tok_gu : NULL, a->gut, xt, p->tok_gu_w, R, L, 2 * It);           /* [R, 2It] */
        PROF(PROF_ELEMWISE, op_swiglu_forward(a->mt, a->gut, R, It));                                 /* [R, It] */
        LINEAR(pk ? pk->tok_down : NULL, a->h1t + (size_t)r0 * L, a->mt, p->tok_down_w, R, It, L); /* [R, L] */
    }
    PROF(PROF_NORM, op_add_rmsnorm_forward(a->h1t, a->rinv1, a->h1t, a->xt, B * D, L, m->cfg.rms_norm_eps)); /* over L */
    PROF(PROF_ELEMWISE, op_transpose_last2(a->h1, a->h1t, B, D, L));                                  /* [B, L, D] */
}

static void attention_sub_forward(const trm_model *m, const trm_block_params *p,
                                  const block_packed *pk, block_acts *a, int B) {
    const trm_config *c = &m->cfg;
    int D = c->hidden_size, L = m->L, N = B * L, H = c->num_heads, hd = D / H;
    LINEAR(pk ? pk->qkv : NULL, a->qkv, a->in, p->qkv_w, N, D, 3 * D);               /* [N, 3D] */
    if (m->rope_cos) PROF(PROF_ATTENTION, op_rope_forward(a->qkv, N, L, 2 * H, hd, 3 * D, m->rope_cos, m->rope_sin));
    PROF(PROF_ATTENTION, op_attention_forward(a->att, a->probs, a->qkv, B, L, H, hd));                 /* [N, D] */
    LINEAR(pk ? pk->o : NULL, a->h1, a->att, p->o_w, N, D, D);
    PROF(PROF_NORM, op_add_rmsnorm_forward(a->h1, a->rinv1, a->h1, a->in, N, D, c->rms_norm_eps));
}

void block_forward(const trm_model *m, int layer, const block_packed *pk, block_acts *a, int B) {
    const trm_block_params *p = &m->blocks[layer];
    int D = m->cfg.hidden_size, N = B * m->L, I = m->I;
    if (m->cfg.mlp_t) token_mix_forward(m, p, pk, a, B);
    else attention_sub_forward(m, p, pk, a, B);
    for (int r0 = 0; r0 < N; r0 += MLP_CHUNK) {
        int R = chunk_len(N, r0, MLP_CHUNK);
        float *gu = a->gu + (size_t)r0 * 2 * I;
        LINEAR(pk ? pk->gu : NULL, gu, a->h1 + (size_t)r0 * D, p->gu_w, R, D, 2 * I);   /* [R, 2I] */
        PROF(PROF_ELEMWISE, op_swiglu_forward(a->m, gu, R, I));                                       /* [R, I] */
        LINEAR(pk ? pk->down : NULL, a->out + (size_t)r0 * D, a->m, p->down_w, R, I, D);   /* [R, D] */
    }
    PROF(PROF_NORM, op_add_rmsnorm_forward(a->out, a->rinv2, a->out, a->h1, N, D, m->cfg.rms_norm_eps));
}

/* ------------------------------------------------------------ backward */

/* d_h1 [N, D] -> d_in [N, D] (written) through the token-mixing sub-block.
 * A saved block kept only h1, rinv1 and its input: the transposes h1t and
 * xt, the token gate/up output gut and mt = swiglu(gut) are recomputed here
 * with the forward's code and packs, so they are bit-equal to the forward's
 * (for sudoku-mlp they were 80% of a training step's activations).
 * The "_set" ops write their gradient instead of adding to a zeroed buffer,
 * which saves a memset pass per buffer. */
static void token_mix_backward(const trm_block_params *p, const trm_block_params *gp,
                               const block_packed *pk, const trm_model *m, const block_acts *a,
                               int B, const float *d_h1, float *d_in, block_grads *g) {
    int D = m->cfg.hidden_size, L = m->L, It = m->It;
    size_t NT = (size_t)B * D;
    float *h1t = g->d_att, *xt = g->d_t;   /* d_att is free in the mlp_t variant */
    PROF(PROF_ELEMWISE, op_transpose_last2(g->d_t, d_h1, B, L, D));                                   /* [B, D, L] */
    PROF(PROF_ELEMWISE, op_transpose_last2(h1t, a->h1, B, L, D));                                     /* [B, D, L] */
    PROF(PROF_NORM, op_rmsnorm_backward_set(g->d_t2, g->d_t, h1t, a->rinv1, (int)NT, L));         /* d(xt + ft) */
    PROF(PROF_ELEMWISE, op_transpose_last2(xt, a->in, B, L, D));                                      /* [B, D, L] */
    /* chunk by chunk as in the forward (same calls: the same bits); the
     * weight gradients sum over chunks */
    for (int r0 = 0; r0 < (int)NT; r0 += TOK_CHUNK) {
        int R = chunk_len((int)NT, r0, TOK_CHUNK);
        const float *xc = xt + (size_t)r0 * L;
        float *d_c = g->d_t2 + (size_t)r0 * L;   /* d(xt + ft), then + d xt through the MLP */
        LINEAR(pk ? pk->tok_gu : NULL, g->gut, xc, p->tok_gu_w, R, L, 2 * It);             /* [R, 2It] */
        PROF(PROF_ELEMWISE, op_swiglu_forward(g->d_gu, g->gut, R, It));                       /* mt in d_gu */
        PROF(PROF_MATMUL, op_linear_backward_set(g->d_m, gp->tok_down_w, d_c, g->d_gu, p->tok_down_w, R, It, L));
        PROF(PROF_ELEMWISE, op_swiglu_backward_set(g->d_gu, g->d_m, g->gut, R, It));
        PROF(PROF_MATMUL, op_linear_backward(d_c, gp->tok_gu_w, NULL, g->d_gu, xc, p->tok_gu_w, R, L, 2 * It));
    }
    PROF(PROF_ELEMWISE, op_transpose_last2(d_in, g->d_t2, B, D, L));                                  /* [B, L, D] */
}

static void attention_sub_backward(const trm_block_params *p, const trm_block_params *gp,
                                   const trm_model *m, const block_acts *a, int B,
                                   const float *d_h1, float *d_in, block_grads *g) {
    const trm_config *c = &m->cfg;
    int D = c->hidden_size, L = m->L, N = B * L, H = c->num_heads, hd = D / H;
    /* d(in + o): the residual's share goes straight to d_in */
    PROF(PROF_NORM, op_rmsnorm_backward_set(d_in, d_h1, a->h1, a->rinv1, N, D));
    PROF(PROF_MATMUL, op_linear_backward_set(g->d_att, gp->o_w, d_in, a->att, p->o_w, N, D, D));
    PROF(PROF_ATTENTION, op_attention_backward_set(g->d_qkv, g->d_att, a->qkv, a->probs, B, L, H, hd));
    if (m->rope_cos) PROF(PROF_ATTENTION, op_rope_backward(g->d_qkv, N, L, 2 * H, hd, 3 * D, m->rope_cos, m->rope_sin));
    /* qkv_proj saw the un-rotated input, so its weight gradient uses `in` */
    PROF(PROF_MATMUL, op_linear_backward(d_in, gp->qkv_w, NULL, g->d_qkv, a->in, p->qkv_w, N, D, 3 * D));
}

void block_backward(trm_model *m, int layer, const block_packed *pk, const block_acts *a, int B,
                    const float *d_out, float *d_in, block_grads *g) {
    const trm_block_params *p = &m->blocks[layer];
    trm_block_params gp = block_grad_ptrs(m, layer);
    int D = m->cfg.hidden_size, N = B * m->L, I = m->I;
    /* channel MLP: out = rms(h1 + down(swiglu(gate_up(h1)))) */
    PROF(PROF_NORM, op_rmsnorm_backward_set(g->d_h1, d_out, a->out, a->rinv2, N, D));             /* d(h1 + f) */
    /* m = swiglu(gu) is not kept (it was the largest saved tensor but one):
     * recompute it in d_gu, which is overwritten right after */
    PROF(PROF_ELEMWISE, op_swiglu_forward(g->d_gu, a->gu, N, I));
    PROF(PROF_MATMUL, op_linear_backward_set(g->d_m, gp.down_w, g->d_h1, g->d_gu, p->down_w, N, I, D));
    PROF(PROF_ELEMWISE, op_swiglu_backward_set(g->d_gu, g->d_m, a->gu, N, I));
    PROF(PROF_MATMUL, op_linear_backward(g->d_h1, gp.gu_w, NULL, g->d_gu, a->h1, p->gu_w, N, D, 2 * I));
    if (m->cfg.mlp_t) token_mix_backward(p, &gp, pk, m, a, B, g->d_h1, d_in, g);
    else attention_sub_backward(p, &gp, m, a, B, g->d_h1, d_in, g);
}
