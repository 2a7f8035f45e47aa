/* act.c - one supervision step of the TRM under the ACT wrapper.
 *
 * Spec 1.5-1.6: halted rows restart from (y_init, z_init) with new data;
 * then T cycles of (n latent updates z = f(z, y + x), one answer update
 * y = f(y, z)), only the last cycle kept for backward; then the heads.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "core/rng.h"
#include "kernels/matmul.h"
#include "kernels/ops.h"
#include "kernels/prof.h"
#include "model/internal.h"

#define SQRT_HALF 0.707106781f /* the reference's learned-position scale */

struct trm_act_work {
    float *x;            /* [B, L, D] input embedding */
    float *inj;          /* [B, L, D] y + x */
    float *ping, *pong;  /* [B, L, D] scratch states for inference */
    block_acts scratch;  /* one block's buffers for inference */
    /* training only */
    block_acts *saved;   /* [apps] last-cycle activations */
    int apps;            /* (n + 1) * L_layers for the n allocated: a depth
                            schedule may run fewer latent updates than that */
    float *y_prev;       /* [B, L, D] y entering the last cycle */
    block_grads grads;
    float *d_logits;     /* [B, seq_len, V] d total / d logits */
    float *d_q;          /* [B] d total / d q_halt */
    float *d_y, *d_z, *d_x, *d_tmp; /* [B, L, D] */
    float *puzzle_grad;  /* [B, ndim] */
    /* the blocks' weights packed for the AVX-512 GEMM, redone every step
     * (weights change between steps) and reused by its T (n + 1) network
     * applications; allocated on the first step that needs them */
    block_packed *packed;    /* [L_layers] */
    char *pack_buf;
    size_t pack_cap;
};

/* ------------------------------------------------------------ lifecycle */

static void work_free(trm_act_work *w, const trm_model *m) {
    if (!w) return;
    (void)m;
    if (w->saved)
        for (int i = 0; i < w->apps; i++) block_acts_free(&w->saved[i]);
    block_acts_free(&w->scratch);
    block_grads_free(&w->grads);
    float *bufs[] = {w->x, w->inj, w->ping, w->pong, w->y_prev, w->d_logits, w->d_q,
                     w->d_y, w->d_z, w->d_x, w->d_tmp, w->puzzle_grad};
    for (size_t i = 0; i < sizeof bufs / sizeof bufs[0]; i++) free(bufs[i]);
    free(w->saved);
    free(w->packed);
    free(w->pack_buf);
    free(w);
}

static trm_act_work *work_new(const trm_model *m, int B, trm_mode mode) {
    const trm_config *c = &m->cfg;
    size_t NLD = (size_t)B * m->L * c->hidden_size;
    trm_act_work *w = calloc(1, sizeof *w);
    if (!w) return NULL;
    bool ok = (w->x = calloc(NLD, 4)) && (w->inj = calloc(NLD, 4)) &&
              (w->ping = calloc(NLD, 4)) && (w->pong = calloc(NLD, 4)) &&
              block_acts_alloc(&w->scratch, m, B, false, false) == 0;
    if (ok && mode == TRM_TRAIN) {
        int apps = (c->L_cycles + 1) * c->L_layers;
        ok = (w->saved = calloc((size_t)apps, sizeof(block_acts))) != NULL;
        if (ok) w->apps = apps;
        for (int i = 0; ok && i < apps; i++) {
            ok = block_acts_alloc(&w->saved[i], m, B, true, i % c->L_layers == 0) == 0;
            /* needed only inside the forward; the backward recomputes them */
            block_acts *sv = &w->saved[i], *sc = &w->scratch;
            sv->m = sc->m;
            sv->mt = sc->mt;
            sv->xt = sc->xt;
            sv->gut = sc->gut;
            sv->h1t = sc->h1t;
            sv->borrowed = true;
        }
        ok = ok && (w->y_prev = calloc(NLD, 4)) && block_grads_alloc(&w->grads, m, B) == 0 &&
             (w->d_logits = calloc((size_t)B * c->seq_len * c->vocab_size, 4)) &&
             (w->d_q = calloc((size_t)B, 4)) && (w->d_y = calloc(NLD, 4)) &&
             (w->d_z = calloc(NLD, 4)) && (w->d_x = calloc(NLD, 4)) &&
             (w->d_tmp = calloc(NLD, 4)) &&
             (w->puzzle_grad = calloc((size_t)B * (c->puzzle_emb_ndim + 1), 4));
    }
    if (!ok) { work_free(w, m); return NULL; }
    return w;
}

trm_act *trm_act_new(const trm_model *m, int batch, trm_mode mode, uint64_t seed, trm_err *err) {
    if (batch < 1) { trm_errf(err, "batch size: expected >= 1, got %d", batch); return NULL; }
    const trm_config *c = &m->cfg;
    size_t NLD = (size_t)batch * m->L * c->hidden_size, BS = (size_t)batch * c->seq_len;
    trm_act *a = calloc(1, sizeof *a);
    if (!a) { trm_errf(err, "out of memory"); return NULL; }
    a->batch = batch;
    a->mode = mode;
    a->y = calloc(NLD, 4);
    a->z = calloc(NLD, 4);
    a->steps = calloc((size_t)batch, 4);
    a->halted = calloc((size_t)batch, sizeof(bool));
    a->inputs = calloc(BS, 4);
    a->labels = calloc(BS, 4);
    a->puzzle_ids = calloc((size_t)batch, 4);
    a->logits = calloc(BS * c->vocab_size, 4);
    a->q_halt = calloc((size_t)batch, 4);
    a->q_continue = calloc((size_t)batch, 4);
    a->work = work_new(m, batch, mode);
    if (!a->y || !a->z || !a->steps || !a->halted || !a->inputs || !a->labels ||
        !a->puzzle_ids || !a->logits || !a->q_halt || !a->q_continue || !a->work) {
        trm_errf(err, "out of memory allocating ACT state for batch %d", batch);
        if (a->work) work_free(a->work, m);
        a->work = NULL;
        trm_act_free(a);
        return NULL;
    }
    a->model = m;
    rng_seed(a->rng, seed);
    trm_act_reset(a);
    return a;
}

void trm_act_free(trm_act *a) {
    if (!a) return;
    if (a->work) work_free(a->work, a->model);
    free(a->y); free(a->z); free(a->steps); free(a->halted); free(a->inputs);
    free(a->labels); free(a->puzzle_ids); free(a->logits); free(a->q_halt);
    free(a->q_continue);
    free(a);
}

void trm_act_reset(trm_act *a) {
    for (int b = 0; b < a->batch; b++) {
        a->halted[b] = true;
        a->steps[b] = 0;
    }
}

const float *trm_act_puzzle_grad(const trm_act *a) {
    return a->model->cfg.puzzle_emb_ndim > 0 && a->work->saved ? a->work->puzzle_grad : NULL;
}

/* ------------------------------------------------------------ input */

/* Validates the rows that will load new data: the halted ones, or all. */
static int check_batch(const trm_model *m, const trm_act *a, const trm_batch *bt, bool all, trm_err *err) {
    const trm_config *c = &m->cfg;
    if (bt->batch != a->batch)
        return trm_errf(err, "batch: expected %d rows, got %d", a->batch, bt->batch);
    for (int b = 0; b < bt->batch; b++) {
        if (!all && !a->halted[b]) continue; /* rows still running never read the new data */
        for (int t = 0; t < c->seq_len; t++) {
            int32_t v = bt->inputs[(size_t)b * c->seq_len + t];
            if (v < 0 || v >= c->vocab_size)
                return trm_errf(err, "inputs[%d][%d]: token id %d out of range [0, %d)", b, t, v, c->vocab_size);
            if (bt->labels) {
                int32_t l = bt->labels[(size_t)b * c->seq_len + t];
                if (l != TRM_IGNORE_LABEL && (l < 0 || l >= c->vocab_size))
                    return trm_errf(err, "labels[%d][%d]: %d is neither -100 nor in [0, %d)", b, t, l, c->vocab_size);
            }
        }
        int32_t id = bt->puzzle_ids ? bt->puzzle_ids[b] : 0;
        if (id < 0 || id >= c->num_puzzle_identifiers)
            return trm_errf(err, "puzzle_identifiers[%d]: %d out of range [0, %d)", b, id, c->num_puzzle_identifiers);
    }
    return 0;
}

/* x = sqrt(D) * [puzzle prefix ; token embeddings] (spec 1.3). */
static void input_embedding(const trm_model *m, const trm_act *a, float *x) {
    const trm_config *c = &m->cfg;
    int D = c->hidden_size, L = m->L, P = m->P, S = c->seq_len;
    float scale = sqrtf((float)D), inner = c->pos_encodings == TRM_POS_LEARNED ? SQRT_HALF : 1.0f;
    #pragma omp parallel for schedule(static)
    for (int b = 0; b < a->batch; b++) {
        float *xb = x + (size_t)b * L * D;
        memset(xb, 0, sizeof(float) * (size_t)P * D);
        if (c->puzzle_emb_ndim > 0)
            memcpy(xb, m->puzzle_emb + (size_t)a->puzzle_ids[b] * c->puzzle_emb_ndim,
                   sizeof(float) * (size_t)c->puzzle_emb_ndim);
        for (int t = 0; t < S; t++)
            memcpy(xb + (size_t)(P + t) * D, m->embed_tokens + (size_t)a->inputs[(size_t)b * S + t] * D,
                   sizeof(float) * (size_t)D);
        for (int p = 0; p < L; p++) {
            float *row = xb + (size_t)p * D;
            const float *pos = m->embed_pos ? m->embed_pos + (size_t)p * D : NULL;
            for (int d = 0; d < D; d++) row[d] = scale * (inner * (row[d] + (pos ? pos[d] : 0.0f)));
        }
    }
}

static void input_embedding_backward(trm_model *m, trm_act *a, const float *dx) {
    const trm_config *c = &m->cfg;
    int D = c->hidden_size, L = m->L, P = m->P, S = c->seq_len, B = a->batch;
    float k = sqrtf((float)D) * (c->pos_encodings == TRM_POS_LEARNED ? SQRT_HALF : 1.0f);
    trm_tensor *tok = trm_model_find(m, "embed_tokens.embedding_weight");
    for (int b = 0; b < B; b++)
        op_embedding_backward(tok->grad, dx + ((size_t)b * L + P) * D, a->inputs + (size_t)b * S, S, D, k);
    if (m->embed_pos) {
        float *dpos = trm_model_find(m, "embed_pos.embedding_weight")->grad;
        for (int b = 0; b < B; b++)
            for (size_t i = 0; i < (size_t)L * D; i++) dpos[i] += k * dx[(size_t)b * L * D + i];
    }
    if (c->puzzle_emb_ndim > 0)
        for (int b = 0; b < B; b++)
            for (int j = 0; j < c->puzzle_emb_ndim; j++)
                a->work->puzzle_grad[(size_t)b * c->puzzle_emb_ndim + j] = k * dx[(size_t)b * L * D + j];
}

/* ------------------------------------------------------------ network */

/* Packs every block weight (op(B) = W^T) for this step when the AVX-512
 * kernels run the products of a batch of B (with oneDNN, only small
 * batches); otherwise (or out of memory) leaves w->packed NULL and the
 * blocks use the plain product. */
static void pack_weights(const trm_model *m, trm_act_work *w, int B) {
    const trm_config *c = &m->cfg;
    bool bf16 = matmul_bf16();
    if (!matmul_wants_packed(B * m->L)) { free(w->packed); w->packed = NULL; return; }
    int layers = c->L_layers, D = c->hidden_size, L = m->L, I = m->I, It = m->It;
    /* (K, N) of each packed W^T, in block_packed's member order */
    int kn[6][2] = {{D, 3 * D}, {D, D}, {L, 2 * It}, {It, L}, {D, 2 * I}, {I, D}};
    bool use[6] = {!c->mlp_t, !c->mlp_t, c->mlp_t, c->mlp_t, true, true};
    size_t need = 0;
    for (int l = 0; l < layers; l++)
        for (int k = 0; k < 6; k++)
            if (use[k]) need += (matmul_packed_b_bytes(kn[k][0], kn[k][1], bf16) + 63) & ~(size_t)63;
    if (!w->packed) w->packed = calloc(layers > 0 ? (size_t)layers : 1, sizeof(block_packed)); /* layers >= 1 (validated); says so to gcc */
    if (need > w->pack_cap) {
        free(w->pack_buf);
        w->pack_buf = aligned_alloc(64, need);
        w->pack_cap = w->pack_buf ? need : 0;
    }
    if (!w->packed || !w->pack_buf) { free(w->packed); w->packed = NULL; return; }
    char *dst = w->pack_buf;
    for (int l = 0; l < layers; l++) {
        const trm_block_params *p = &m->blocks[l];
        const float *W[6] = {p->qkv_w, p->o_w, p->tok_gu_w, p->tok_down_w, p->gu_w, p->down_w};
        const void **slot[6] = {&w->packed[l].qkv, &w->packed[l].o, &w->packed[l].tok_gu,
                                &w->packed[l].tok_down, &w->packed[l].gu, &w->packed[l].down};
        for (int k = 0; k < 6; k++) {
            *slot[k] = NULL;
            if (!use[k]) continue;
            matmul_pack_b(dst, true, kn[k][0], kn[k][1], W[k], kn[k][0], bf16);
            *slot[k] = dst;
            dst += (matmul_packed_b_bytes(kn[k][0], kn[k][1], bf16) + 63) & ~(size_t)63;
        }
    }
}

/* h = f(h, inj): the L_layers blocks applied to h + inj. With `saved` the
 * activations are kept (training's last cycle), else scratch is reused. */
static void reasoning_forward(const trm_model *m, trm_act_work *w, int B, float *h,
                              const float *inj, block_acts *saved) {
    size_t n = (size_t)B * m->L * m->cfg.hidden_size;
    int layers = m->cfg.L_layers;
    if (saved) {
        PROF(PROF_ELEMWISE, op_vec_add(saved[0].own_in, h, inj, n));
        for (int l = 0; l < layers; l++) {
            if (l > 0) saved[l].in = saved[l - 1].out;
            block_forward(m, l, w->packed ? &w->packed[l] : NULL, &saved[l], B);
        }
        PROF(PROF_ELEMWISE, memcpy(h, saved[layers - 1].out, n * sizeof(float)));
        return;
    }
    PROF(PROF_ELEMWISE, op_vec_add(w->ping, h, inj, n));
    block_acts *s = &w->scratch;
    float *keep_out = s->out;
    for (int l = 0; l < layers; l++) {
        s->in = l % 2 == 0 ? w->ping : w->pong;
        s->out = l % 2 == 0 ? w->pong : w->ping;
        block_forward(m, l, w->packed ? &w->packed[l] : NULL, s, B);
    }
    PROF(PROF_ELEMWISE, memcpy(h, s->out, n * sizeof(float)));
    s->out = keep_out;
}

/* d_out [N, D] -> d_in [N, D] = gradient wrt (h + inj) of one application. */
static void reasoning_backward(trm_model *m, trm_act_work *w, int B, block_acts *saved,
                               const float *d_out, float *d_in) {
    size_t n = (size_t)B * m->L * m->cfg.hidden_size;
    int layers = m->cfg.L_layers;
    const float *d = d_out;
    for (int l = layers - 1; l >= 0; l--) {
        /* alternate between d_in and d_tmp so the last write lands in d_in */
        float *dst = (layers - 1 - l) % 2 == (layers - 1) % 2 ? d_in : w->d_tmp;
        if (dst == d) dst = dst == d_in ? w->d_tmp : d_in;
        block_backward(m, l, w->packed ? &w->packed[l] : NULL, &saved[l], B, d, dst, &w->grads);
        d = dst;
    }
    if (d != d_in) PROF(PROF_ELEMWISE, memcpy(d_in, d, n * sizeof(float)));
}

/* logits = lm_head(y)[:, P:], (q_halt, q_continue) = q_head(y[:, 0]). */
static void heads_forward(const trm_model *m, trm_act *a) {
    const trm_config *c = &m->cfg;
    int D = c->hidden_size, L = m->L, S = c->seq_len, V = c->vocab_size;
    for (int b = 0; b < a->batch; b++) {
        const float *yb = a->y + (size_t)b * L * D;
        op_linear_forward(a->logits + (size_t)b * S * V, yb + (size_t)m->P * D, m->lm_head, NULL, S, D, V);
        float q[2];
        op_linear_forward(q, yb, m->q_head_w, m->q_head_b, 1, D, 2);
        a->q_halt[b] = q[0];
        a->q_continue[b] = q[1];
    }
}

/* ------------------------------------------------------------ the step */

static void reset_halted_rows(const trm_model *m, trm_act *a, const trm_batch *bt) {
    const trm_config *c = &m->cfg;
    int D = c->hidden_size, L = m->L, S = c->seq_len;
    for (int b = 0; b < a->batch; b++) {
        if (!a->halted[b]) continue;
        for (int p = 0; p < L; p++) {
            memcpy(a->y + ((size_t)b * L + p) * D, m->H_init, sizeof(float) * (size_t)D);
            memcpy(a->z + ((size_t)b * L + p) * D, m->L_init, sizeof(float) * (size_t)D);
        }
        a->steps[b] = 0;
        memcpy(a->inputs + (size_t)b * S, bt->inputs + (size_t)b * S, sizeof(int32_t) * (size_t)S);
        for (int t = 0; t < S; t++)
            a->labels[(size_t)b * S + t] = bt->labels ? bt->labels[(size_t)b * S + t] : TRM_IGNORE_LABEL;
        a->puzzle_ids[b] = bt->puzzle_ids ? bt->puzzle_ids[b] : 0;
    }
}

/* The T cycles of one supervision step on the carry, from the input
 * embedding in w->x; keep_last: the last cycle's activations are kept for
 * trm_act_backward. Then the heads. */
static void recurse(const trm_model *m, trm_act *a, bool keep_last) {
    const trm_config *c = &m->cfg;
    trm_act_work *w = a->work;
    int B = a->batch, layers = c->L_layers;
    size_t n = (size_t)B * m->L * c->hidden_size;
    for (int cyc = 0; cyc < c->H_cycles; cyc++) {
        bool keep = keep_last && cyc == c->H_cycles - 1;
        if (keep) PROF(PROF_ELEMWISE, memcpy(w->y_prev, a->y, n * sizeof(float)));
        for (int i = 0; i < c->L_cycles; i++) {
            PROF(PROF_ELEMWISE, op_vec_add(w->inj, a->y, w->x, n));
            reasoning_forward(m, w, B, a->z, w->inj, keep ? &w->saved[i * layers] : NULL);
        }
        reasoning_forward(m, w, B, a->y, a->z, keep ? &w->saved[c->L_cycles * layers] : NULL);
    }
    PROF(PROF_HEADS, heads_forward(m, a));
}

static void inner_forward(const trm_model *m, trm_act *a) {
    PROF(PROF_DATA, input_embedding(m, a, a->work->x));
    PROF(PROF_MATMUL, pack_weights(m, a->work, a->batch));
    recurse(m, a, a->mode == TRM_TRAIN);
}

/* The training buffers hold the activations of the L_cycles the state was
 * created with; a model whose depth grew since (a schedule's phase beyond
 * the allocation) is refused rather than overrun. */
static int check_depth(const trm_model *m, const trm_act *a, trm_err *err) {
    const trm_config *c = &m->cfg;
    if (a->mode != TRM_TRAIN || (c->L_cycles + 1) * c->L_layers <= a->work->apps) return 0;
    return trm_errf(err, "L_cycles %d: this training state was allocated for at most %d", c->L_cycles,
                    a->work->apps / c->L_layers - 1);
}

static void update_halting(const trm_model *m, trm_act *a, const trm_explore *draws) {
    const trm_config *c = &m->cfg;
    for (int b = 0; b < a->batch; b++) {
        a->steps[b] += 1;
        bool halted = a->steps[b] >= (a->step_cap > 0 ? a->step_cap : c->halt_max_steps);
        if (a->mode == TRM_TRAIN && c->halt_max_steps > 1) {
            halted = halted || a->q_halt[b] > 0.0f;
            float u = draws ? draws->u[b] : rng_uniform(a->rng);
            int k = draws ? draws->k[b] : rng_int(a->rng, 2, c->halt_max_steps);
            int min_steps = u < c->halt_exploration_prob ? k : 0;
            halted = halted && a->steps[b] >= min_steps;
        }
        a->halted[b] = halted;
    }
}

int trm_act_step(trm_model *m, trm_act *a, const trm_batch *batch, const trm_explore *draws,
                 trm_err *err) {
    if (check_depth(m, a, err) || check_batch(m, a, batch, false, err)) return -1;
    PROF(PROF_DATA, reset_halted_rows(m, a, batch));
    inner_forward(m, a);
    update_halting(m, a, draws);
    return 0;
}

int trm_act_step_detached(trm_model *m, trm_act *a, const trm_batch *batch, int warmup, trm_err *err) {
    if (a->mode != TRM_TRAIN) return trm_errf(err, "a detached step needs an ACT state created in training mode");
    if (warmup < 0) return trm_errf(err, "warm-up steps: expected >= 0, got %d", warmup);
    if (check_depth(m, a, err) || check_batch(m, a, batch, true, err)) return -1;
    trm_act_reset(a); /* every row loads the batch */
    PROF(PROF_DATA, reset_halted_rows(m, a, batch));
    PROF(PROF_DATA, input_embedding(m, a, a->work->x));
    PROF(PROF_MATMUL, pack_weights(m, a->work, a->batch));
    for (int s = 0; s < warmup; s++) recurse(m, a, false);
    recurse(m, a, true);
    for (int b = 0; b < a->batch; b++) {
        a->steps[b] = warmup + 1;
        a->halted[b] = true; /* each row's episode ends here */
    }
    return 0;
}

/* ------------------------------------------------------------ loss */

void trm_act_loss(const trm_model *m, trm_act *a, trm_loss_kind kind, trm_metrics *out) {
    trm_loss_opts o = {kind, 0.0f, 1.0f};
    trm_act_loss_opts(m, a, &o, out);
}

void trm_act_loss_opts(const trm_model *m, trm_act *a, const trm_loss_opts *o, trm_metrics *out) {
    const trm_config *c = &m->cfg;
    int S = c->seq_len, V = c->vocab_size;
    double eps = o->label_smoothing;
    float *d_logits = a->mode == TRM_TRAIN ? a->work->d_logits : NULL;
    memset(out, 0, sizeof *out);
    for (int b = 0; b < a->batch; b++) {
        const int32_t *lab = a->labels + (size_t)b * S;
        int count = 0, correct = 0;
        for (int t = 0; t < S; t++) count += lab[t] != TRM_IGNORE_LABEL;
        double divisor = count > 0 ? count : 1, row_loss = 0.0;
        /* the row's weight R^(t - 1) at supervision step t (exactly 1 for R = 1) */
        double wt = o->step_weight == 1.0f ? 1.0 : pow(o->step_weight, a->steps[b] - 1);
        for (int t = 0; t < S; t++) {
            const float *lg = a->logits + ((size_t)b * S + t) * V;
            float *dl = d_logits ? d_logits + ((size_t)b * S + t) * V : NULL;
            if (lab[t] == TRM_IGNORE_LABEL) {
                if (dl) memset(dl, 0, sizeof(float) * (size_t)V);
                continue;
            }
            row_loss += o->kind == TRM_LOSS_SOFTMAX ? op_softmax_ce_smooth(lg, V, lab[t], eps, dl, wt / divisor)
                                                    : op_stablemax_ce_smooth(lg, V, lab[t], eps, dl, wt / divisor);
            correct += trm_argmax(lg, V, NULL) == lab[t];
        }
        bool seq_correct = correct == count;
        double dq;
        double bce = op_bce_with_logits(a->q_halt[b], seq_correct ? 1.0 : 0.0, &dq);
        out->lm_loss += wt * (row_loss / divisor);
        out->q_halt_loss += wt * bce;
        if (a->mode == TRM_TRAIN) a->work->d_q[b] = (float)(0.5 * dq * wt);
        if (a->halted[b] && count > 0) {
            out->count += 1;
            out->accuracy += correct / divisor;
            out->exact_accuracy += seq_correct;
            out->q_halt_accuracy += (a->q_halt[b] >= 0.0f) == seq_correct;
            out->steps += a->steps[b];
        }
    }
    out->total = out->lm_loss + 0.5 * out->q_halt_loss;
}

/* ------------------------------------------------------------ backward */

/* d y from both heads, scaled by grad_scale. */
static void heads_backward(trm_model *m, trm_act *a, float s) {
    const trm_config *c = &m->cfg;
    trm_act_work *w = a->work;
    int D = c->hidden_size, L = m->L, S = c->seq_len, V = c->vocab_size;
    float *g_lm = trm_model_find(m, "lm_head.weight")->grad;
    float *g_qw = trm_model_find(m, "q_head.weight")->grad;
    float *g_qb = trm_model_find(m, "q_head.bias")->grad;
    memset(w->d_y, 0, sizeof(float) * (size_t)a->batch * L * D);
    for (int b = 0; b < a->batch; b++) {
        const float *yb = a->y + (size_t)b * L * D;
        float *dyb = w->d_y + (size_t)b * L * D;
        const float *dl = w->d_logits + (size_t)b * S * V;
        /* dy[P:] += s dl W_lm ; dW_lm += s dl^T y[P:] */
        gemm_f32(false, false, S, D, V, s, dl, V, m->lm_head, D, 1.0f, dyb + (size_t)m->P * D, D);
        gemm_f32(true, false, V, D, S, s, dl, V, yb + (size_t)m->P * D, D, 1.0f, g_lm, D);
        float dq = s * w->d_q[b]; /* q_continue has no loss in TRM */
        for (int d = 0; d < D; d++) {
            dyb[d] += dq * m->q_head_w[d];
            g_qw[d] += dq * yb[d];
        }
        g_qb[0] += dq;
    }
}

int trm_act_backward(trm_model *m, trm_act *a, float grad_scale, trm_err *err) {
    if (a->mode != TRM_TRAIN) return trm_errf(err, "backward needs an ACT state created in training mode");
    const trm_config *c = &m->cfg;
    trm_act_work *w = a->work;
    int B = a->batch, layers = c->L_layers, n = c->L_cycles;
    size_t NLD = (size_t)B * m->L * c->hidden_size;
    if (check_depth(m, a, err)) return -1;
    PROF(PROF_HEADS, heads_backward(m, a, grad_scale));
    /* y = f(y_prev, z_n): only z_n carries gradient */
    reasoning_backward(m, w, B, &w->saved[n * layers], w->d_y, w->d_z);
    PROF(PROF_ELEMWISE, memset(w->d_x, 0, NLD * sizeof(float)));
    for (int i = n - 1; i >= 0; i--) {
        /* z_{i+1} = f(z_i, y_prev + x): the sum's gradient goes to both */
        reasoning_backward(m, w, B, &w->saved[i * layers], w->d_z, w->d_y);
        PROF(PROF_ELEMWISE, op_vec_acc(w->d_x, w->d_y, NLD));
        float *t = w->d_z; w->d_z = w->d_y; w->d_y = t;
    }
    PROF(PROF_DATA, input_embedding_backward(m, a, w->d_x));
    return 0;
}

/* ------------------------------------------------------------ row access */

size_t trm_act_row_floats(const trm_act *a) {
    return (size_t)a->model->L * a->model->cfg.hidden_size;
}

void trm_act_get_row(const trm_act *a, int b, float *y, float *z) {
    size_t n = trm_act_row_floats(a);
    memcpy(y, a->y + (size_t)b * n, n * sizeof(float));
    memcpy(z, a->z + (size_t)b * n, n * sizeof(float));
}

void trm_act_set_row(trm_act *a, int b, const float *y, const float *z, const int32_t *inputs,
                     int32_t puzzle_id, int32_t steps) {
    const trm_model *m = a->model;
    int D = m->cfg.hidden_size, S = m->cfg.seq_len;
    size_t n = trm_act_row_floats(a);
    float *yb = a->y + (size_t)b * n, *zb = a->z + (size_t)b * n;
    for (int p = 0; p < m->L; p++) {
        memcpy(yb + (size_t)p * D, y ? y + (size_t)p * D : m->H_init, sizeof(float) * (size_t)D);
        memcpy(zb + (size_t)p * D, z ? z + (size_t)p * D : m->L_init, sizeof(float) * (size_t)D);
    }
    memcpy(a->inputs + (size_t)b * S, inputs, sizeof(int32_t) * (size_t)S);
    for (int t = 0; t < S; t++) a->labels[(size_t)b * S + t] = TRM_IGNORE_LABEL;
    a->puzzle_ids[b] = puzzle_id;
    a->steps[b] = steps;
    a->halted[b] = false;
}

/* ------------------------------------------------------------ test-time compute */

int trm_model_set_cycles(trm_model *m, int H_cycles, int L_cycles, trm_err *err) {
    if (H_cycles < 1 || H_cycles > TRM_MAX_CYCLES || L_cycles < 1 || L_cycles > TRM_MAX_CYCLES)
        return trm_errf(err, "cycles: expected 1 <= T, n <= %d, got T = %d, n = %d", TRM_MAX_CYCLES, H_cycles, L_cycles);
    m->cfg.H_cycles = H_cycles;
    m->cfg.L_cycles = L_cycles;
    return 0;
}

/* One standard normal draw (Box-Muller on 53-bit uniforms; u1 in (0, 1]
 * so the log is finite). */
static double std_normal(uint64_t rng[4]) {
    double u1 = (double)((rng_next(rng) >> 11) + 1) * 0x1p-53;
    double u2 = (double)(rng_next(rng) >> 11) * 0x1p-53;
    return sqrt(-2.0 * log(u1)) * cos(6.283185307179586 * u2);
}

void trm_act_perturb_z(trm_act *a, int b, float sigma, uint64_t rng[4]) {
    if (sigma == 0.0f) return;
    size_t n = trm_act_row_floats(a);
    float *zb = a->z + (size_t)b * n;
    for (size_t i = 0; i < n; i++) zb[i] += sigma * (float)std_normal(rng);
}

/* ------------------------------------------------------------ cost */

size_t trm_act_memory_bytes(const trm_config *c, int batch, trm_mode mode) {
    size_t B = batch, L = trm_config_total_len(c), D = c->hidden_size, S = c->seq_len;
    size_t V = c->vocab_size, NLD = B * L * D, BS = B * S;
    /* trm_act_new: carry and outputs */
    size_t bytes = 4 * (2 * NLD + B + BS + BS + B + BS * V + 2 * B) + B * sizeof(bool);
    /* work_new: x, inj, ping, pong and one block's scratch */
    size_t f = 4 * NLD + block_acts_floats(c, batch, false, false);
    if (mode == TRM_TRAIN) {
        int apps = (c->L_cycles + 1) * c->L_layers;
        for (int i = 0; i < apps; i++) f += block_acts_floats(c, batch, true, i % c->L_layers == 0);
        bytes += (size_t)apps * sizeof(block_acts);
        f += NLD + block_grads_floats(c, batch) + BS * V + B + 4 * NLD + B * (size_t)(c->puzzle_emb_ndim + 1);
    }
    return bytes + 4 * f;
}

/* Matrix-product FLOPs (2 per multiply-add) of one network application
 * and of the heads, per example (spec 1.12's accounting). */
static void app_flops(const trm_config *c, double *app, double *heads) {
    double D = c->hidden_size, L = trm_config_total_len(c), S = c->seq_len, V = c->vocab_size;
    double I = trm_swiglu_width(c->hidden_size, c->expansion), per_layer;
    if (c->mlp_t) {
        double It = trm_swiglu_width((int)L, c->expansion);
        per_layer = 2 * D * L * 2 * It + 2 * D * It * L;
    } else {
        per_layer = 2 * L * D * 3 * D + 2 * 2 * L * L * D + 2 * L * D * D;
    }
    per_layer += 2 * L * D * 2 * I + 2 * L * I * D;
    *app = per_layer * c->L_layers;
    *heads = 2 * S * D * V + 2 * D * 2;
}

double trm_step_flops(const trm_config *c, int batch, trm_mode mode) {
    double app, heads;
    app_flops(c, &app, &heads);
    double fwd = c->H_cycles * (c->L_cycles + 1) * app + heads;
    if (mode == TRM_TRAIN) fwd += 2 * ((c->L_cycles + 1) * app + heads);
    return fwd * batch;
}
