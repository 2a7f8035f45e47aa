/* model.c - parameters of the TRM: names, shapes, initialisation.
 *
 * Every tensor has the reference's state_dict name (spec 1.10) so that
 * checkpoints move between trm and PyTorch unchanged.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#include "core/rng.h"
#include "kernels/ops.h"
#include "model/internal.h"

/* ------------------------------------------------------------ tensor table */

typedef enum { INIT_LECUN, INIT_STD, INIT_ZERO, INIT_CONST } init_kind;

/* Appends a tensor and, with alloc, its storage (and gradient if
 * trainable); without, only its name and shape (model_layout). */
static trm_tensor *add_tensor(trm_model *m, bool alloc, const char *name, int ndim, int64_t d0,
                              int64_t d1, bool trainable) {
    trm_tensor *t = &m->tensors[m->n_tensors++];
    snprintf(t->name, sizeof t->name, "%s", name);
    t->ndim = ndim;
    t->shape[0] = d0;
    t->shape[1] = d1;
    t->numel = ndim == 1 ? d0 : d0 * d1;
    t->trainable = trainable;
    if (!alloc) return t;
    t->data = calloc((size_t)t->numel, sizeof(float));
    t->grad = trainable ? calloc((size_t)t->numel, sizeof(float)) : NULL;
    if (!t->data || (trainable && !t->grad)) return NULL;
    return t;
}

/* Creates every tensor with zero contents (or, without alloc, no
 * contents); returns -1 on allocation failure. */
static int build_tensors(trm_model *m, bool alloc) {
    const trm_config *c = &m->cfg;
    int D = c->hidden_size, V = c->vocab_size;
    m->tensors = calloc((size_t)(10 + 6 * c->L_layers), sizeof(trm_tensor));
    if (!m->tensors) return -1;
    m->blocks = calloc((size_t)c->L_layers, sizeof(trm_block_params));
    if (!m->blocks) return -1;
    trm_tensor *t;
#define ADD(ptr, name, nd, a, b, tr) do { if (!(t = add_tensor(m, alloc, name, nd, a, b, tr))) return -1; ptr = t->data; } while (0)
    ADD(m->embed_tokens, "embed_tokens.embedding_weight", 2, V, D, true);
    if (c->pos_encodings == TRM_POS_LEARNED)
        ADD(m->embed_pos, "embed_pos.embedding_weight", 2, m->L, D, true);
    ADD(m->lm_head, "lm_head.weight", 2, V, D, true);
    ADD(m->q_head_w, "q_head.weight", 2, 2, D, true);
    ADD(m->q_head_b, "q_head.bias", 1, 2, 0, true);
    if (c->puzzle_emb_ndim > 0)
        ADD(m->puzzle_emb, "puzzle_emb.weights", 2, c->num_puzzle_identifiers, c->puzzle_emb_ndim, false);
    ADD(m->H_init, "H_init", 1, D, 0, false);
    ADD(m->L_init, "L_init", 1, D, 0, false);
    for (int l = 0; l < c->L_layers; l++) {
        trm_block_params *b = &m->blocks[l];
        char name[96];
#define LAYER(ptr, suffix, a, bb) do { snprintf(name, sizeof name, "L_level.layers.%d.%s", l, suffix); ADD(ptr, name, 2, a, bb, true); } while (0)
        if (c->mlp_t) {
            LAYER(b->tok_gu_w, "mlp_t.gate_up_proj.weight", 2 * m->It, m->L);
            LAYER(b->tok_down_w, "mlp_t.down_proj.weight", m->L, m->It);
        } else {
            LAYER(b->qkv_w, "self_attn.qkv_proj.weight", 3 * D, D);
            LAYER(b->o_w, "self_attn.o_proj.weight", D, D);
        }
        LAYER(b->gu_w, "mlp.gate_up_proj.weight", 2 * m->I, D);
        LAYER(b->down_w, "mlp.down_proj.weight", D, m->I);
#undef LAYER
    }
#undef ADD
    return 0;
}

/* ------------------------------------------------------------ init */

/* Spec 1.7: LeCun truncated normal for matrices (std 1/sqrt(in)),
 * 1/sqrt(D) for embeddings, zeros for q_head weight and the puzzle table,
 * -5 for the q_head bias, std 1 for y_init / z_init. */
static void init_tensor(trm_model *m, trm_tensor *t, uint64_t rng[4]) {
    int D = m->cfg.hidden_size;
    const char *n = t->name;
    if (!strcmp(n, "q_head.weight") || !strcmp(n, "puzzle_emb.weights")) return; /* zeros */
    if (!strcmp(n, "q_head.bias")) {
        for (int64_t i = 0; i < t->numel; i++) t->data[i] = -5.0f;
        return;
    }
    double std;
    if (!strcmp(n, "H_init") || !strcmp(n, "L_init")) std = 1.0;
    else if (strstr(n, "embedding_weight")) std = 1.0 / sqrt((double)D);
    else std = 1.0 / sqrt((double)t->shape[1]); /* [out, in] */
    rng_trunc_normal(rng, t->data, (long)t->numel, std);
}

/* ------------------------------------------------------------ lifecycle */

static int derive_sizes(trm_model *m, trm_err *err) {
    if (trm_config_validate(&m->cfg, err)) return -1;
    const trm_config *c = &m->cfg;
    m->P = trm_config_prefix_len(c);
    m->L = trm_config_total_len(c);
    m->I = trm_swiglu_width(c->hidden_size, c->expansion);
    m->It = c->mlp_t ? trm_swiglu_width(m->L, c->expansion) : 0;
    return 0;
}

static int build_rope(trm_model *m) {
    const trm_config *c = &m->cfg;
    if (c->pos_encodings != TRM_POS_ROPE || c->mlp_t) return 0;
    int hd = c->hidden_size / c->num_heads;
    m->rope_cos = calloc((size_t)m->L * hd, sizeof(float));
    m->rope_sin = calloc((size_t)m->L * hd, sizeof(float));
    if (!m->rope_cos || !m->rope_sin) return -1;
    op_rope_tables(m->rope_cos, m->rope_sin, m->L, hd, c->rope_theta);
    return 0;
}

/* A model with all tensors zero: the checkpoint loader fills it. */
trm_model *trm_model_alloc(const trm_config *cfg, trm_err *err) {
    trm_model *m = calloc(1, sizeof *m);
    if (!m) { trm_errf(err, "out of memory"); return NULL; }
    m->cfg = *cfg;
    if (derive_sizes(m, err)) { trm_model_free(m); return NULL; }
    if (build_tensors(m, true) || build_rope(m)) {
        trm_model_free(m);
        trm_errf(err, "out of memory allocating the model");
        return NULL;
    }
    return m;
}

trm_model *model_layout(const trm_config *cfg, trm_err *err) {
    trm_model *m = calloc(1, sizeof *m);
    if (!m) { trm_errf(err, "out of memory"); return NULL; }
    m->cfg = *cfg;
    if (derive_sizes(m, err)) { trm_model_free(m); return NULL; }
    if (build_tensors(m, false)) {
        trm_model_free(m);
        trm_errf(err, "out of memory");
        return NULL;
    }
    return m;
}

trm_model *trm_model_new(const trm_config *cfg, uint64_t seed, trm_err *err) {
    trm_model *m = trm_model_alloc(cfg, err);
    if (!m) return NULL;
    uint64_t rng[4];
    rng_seed(rng, seed);
    for (int i = 0; i < m->n_tensors; i++) init_tensor(m, &m->tensors[i], rng);
    return m;
}

/* Releases t's data as its storage says: only heap data is this
 * tensor's own (mapped pages go with the model's mapping, borrowed data
 * with the model that lent it). */
static void release_data(trm_tensor *t) {
    switch (t->storage) {
    case TRM_TENSOR_HEAP: free(t->data); break;
    case TRM_TENSOR_MAPPED: break;   /* munmap of m->mapping */
    case TRM_TENSOR_BORROWED: break; /* the lender's */
    }
    t->data = NULL;
}

void trm_model_free(trm_model *m) {
    if (!m) return;
    for (int i = 0; i < m->n_tensors; i++) {
        release_data(&m->tensors[i]);
        free(m->tensors[i].grad);
    }
    if (m->mapping) munmap(m->mapping, m->mapping_size);
    free(m->tensors);
    free(m->blocks);
    free(m->rope_cos);
    free(m->rope_sin);
    free(m);
}

/* The model's named pointer fields follow tensors[] (set by build_tensors);
 * only the puzzle table needs re-pointing when it is shared. */
int trm_model_share_tensor(trm_model *dst, const trm_model *src, const char *name, trm_err *err) {
    trm_tensor *d = trm_model_find(dst, name), *s = trm_model_find((trm_model *)src, name);
    if (!d || !s || d->numel != s->numel)
        return trm_errf(err, "cannot share tensor %s: missing or of another size", name);
    if (d->data == dst->puzzle_emb) dst->puzzle_emb = s->data;
    else if (strcmp(name, "puzzle_emb.weights"))
        return trm_errf(err, "cannot share tensor %s: only the puzzle table can be shared", name);
    release_data(d);
    d->data = s->data;
    d->storage = TRM_TENSOR_BORROWED;
    return 0;
}

int64_t trm_model_num_params(const trm_model *m) {
    int64_t n = 0;
    for (int i = 0; i < m->n_tensors; i++)
        if (m->tensors[i].trainable) n += m->tensors[i].numel;
    return n;
}

trm_tensor *trm_model_find(trm_model *m, const char *name) {
    for (int i = 0; i < m->n_tensors; i++)
        if (!strcmp(m->tensors[i].name, name)) return &m->tensors[i];
    return NULL;
}

void trm_model_zero_grad(trm_model *m) {
    for (int i = 0; i < m->n_tensors; i++)
        if (m->tensors[i].grad) memset(m->tensors[i].grad, 0, sizeof(float) * (size_t)m->tensors[i].numel);
}

static float *grad_of(const trm_model *m, const float *data) {
    if (!data) return NULL;
    for (int i = 0; i < m->n_tensors; i++)
        if (m->tensors[i].data == data) return m->tensors[i].grad;
    return NULL;
}

trm_block_params block_grad_ptrs(const trm_model *m, int layer) {
    const trm_block_params *p = &m->blocks[layer];
    trm_block_params g = {
        .qkv_w = grad_of(m, p->qkv_w), .o_w = grad_of(m, p->o_w),
        .tok_gu_w = grad_of(m, p->tok_gu_w), .tok_down_w = grad_of(m, p->tok_down_w),
        .gu_w = grad_of(m, p->gu_w), .down_w = grad_of(m, p->down_w),
    };
    return g;
}
