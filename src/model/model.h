/* model.h - the layouts of trm_model and trm_act, which trm.h keeps
 * opaque: only libtrm's own sources (and white-box tests) include this;
 * programs use trm.h's accessors, so the layouts can change without
 * breaking them. */
#ifndef TRM_MODEL_MODEL_H
#define TRM_MODEL_MODEL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "trm.h"

typedef struct trm_act_work trm_act_work; /* saved activations, scratch */

typedef struct {
    float *qkv_w;      /* [3D, D]          attention variant */
    float *o_w;        /* [D, D]           attention variant */
    float *tok_gu_w;   /* [2It, L]         mlp_t variant */
    float *tok_down_w; /* [L, It]          mlp_t variant */
    float *gu_w;       /* [2I, D] */
    float *down_w;     /* [D, I] */
} trm_block_params;

struct trm_model {
    trm_config cfg;
    int L;             /* total positions: prefix + seq_len */
    int P;             /* prefix positions */
    int I;             /* channel SwiGLU width */
    int It;            /* token SwiGLU width (mlp_t) */
    /* weights, pointing into tensors[] */
    float *embed_tokens;   /* [V, D] */
    float *embed_pos;      /* [L, D] or NULL */
    float *lm_head;        /* [V, D] */
    float *q_head_w;       /* [2, D] */
    float *q_head_b;       /* [2] */
    float *puzzle_emb;     /* [num_puzzle_identifiers, ndim] or NULL */
    float *H_init;         /* [D]  y_init */
    float *L_init;         /* [D]  z_init */
    trm_block_params *blocks; /* [L_layers] */
    float *rope_cos;       /* [L, head_dim] or NULL (not saved) */
    float *rope_sin;
    trm_tensor *tensors;
    int n_tensors;
    /* set when the weights live in a mapped file rather than heap memory */
    void *mapping;
    size_t mapping_size;
};

/* The persistent ACT carry of a batch plus the outputs of its last step. */
struct trm_act {
    int batch;
    trm_mode mode;
    /* carry */
    float *y;              /* [B, L, D]  answer state (reference z_H) */
    float *z;              /* [B, L, D]  latent state (reference z_L) */
    int32_t *steps;        /* [B] */
    bool *halted;          /* [B] */
    int32_t *inputs;       /* [B, seq_len] current data */
    int32_t *labels;       /* [B, seq_len] */
    int32_t *puzzle_ids;   /* [B] */
    /* outputs of the last step */
    float *logits;         /* [B, seq_len, V] */
    float *q_halt;         /* [B] */
    float *q_continue;     /* [B] */
    uint64_t rng[4];       /* exploration RNG state */
    const trm_model *model;
    trm_act_work *work;
    int step_cap;          /* trm_act_set_step_cap: replaces halt_max_steps in the
                              halting rule when > 0 */
};

#endif
