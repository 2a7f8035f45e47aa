/* ddp.c - data-parallel training over the ranks of dist.h (ddp.h). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/rng.h"
#include "core/util.h" /* util_now_s */
#include "dist/ddp.h"
#include "dist/dist.h"
#include "model/model.h" /* the gradients and the carry's rows */

struct ddp {
    int rank, size;
    int B, rows;          /* global batch, rows per rank */
    size_t S, LD;         /* seq_len; floats of one carry row of y (and of z) */
    int L, D;             /* positions, hidden size: the carry's shape */
    int nd;               /* puzzle_emb_ndim */
    float *u;             /* [B] exploration draws */
    int32_t *k;           /* [B] */
    trm_explore ex;       /* this rank's slice of u, k */
    int32_t *ids;         /* [B] gathered puzzle ids */
    float *pgrad;         /* [B, nd] gathered puzzle-row gradients */
    trm_act_carry carry;  /* the whole batch's carry while saving or loading */
    uint64_t carry_rng[4];
    bool have_carry;
};

/* The exchange of the latest run's steps so far (ddp_comm_note): seconds
 * in the collectives (waiting for the slowest rank included) and bytes
 * each rank sent into them. Process-wide, so the CLI can report it after
 * the library's run has ended its own records. */
static struct {
    int rank;
    double s, bytes;
    int64_t steps;
} g_comm;

int ddp_open(ddp **out, const trm_model *m, int B, trm_err *err) {
    *out = NULL;
    int P = dist_size();
    if (P == 1) return 0;
    /* equal slices keep every collective a plain (all-)gather, as the
     * reference's DDP, which asserts the same */
    if (B % P)
        return trm_errf(err, "global_batch_size=%d does not split over %d ranks: each rank takes an equal slice "
                        "(use a multiple of %d)", B, P, P);
    ddp *d = calloc(1, sizeof *d);
    if (!d) return trm_errf(err, "out of memory");
    d->rank = dist_rank();
    d->size = P;
    d->B = B;
    d->rows = B / P;
    d->S = (size_t)m->cfg.seq_len;
    d->L = m->L;
    d->D = m->cfg.hidden_size;
    d->LD = (size_t)m->L * (size_t)m->cfg.hidden_size;
    d->nd = m->cfg.puzzle_emb_ndim;
    memset(&g_comm, 0, sizeof g_comm);
    g_comm.rank = d->rank;
    d->u = malloc(sizeof(float) * (size_t)B);
    d->k = malloc(sizeof(int32_t) * (size_t)B);
    d->ids = malloc(sizeof(int32_t) * (size_t)B);
    d->pgrad = malloc(sizeof(float) * (size_t)B * (size_t)(d->nd > 0 ? d->nd : 1));
    *out = d;
    if (!d->u || !d->k || !d->ids || !d->pgrad) return trm_errf(err, "out of memory for the batch of %d", B);
    return 0;
}

void ddp_free(ddp *d) {
    if (!d) return;
    ddp_carry_release(d);
    free(d->u); free(d->k); free(d->ids); free(d->pgrad);
    free(d);
}

int ddp_rows(const ddp *d, int B) { return d ? d->rows : B; }
int ddp_offset(const ddp *d) { return d ? d->rank * d->rows : 0; }

trm_batch ddp_slice(const ddp *d, const trm_batch *g, int S) {
    if (!d) return *g;
    size_t off = (size_t)ddp_offset(d);
    trm_batch b = {d->rows, g->inputs + off * (size_t)S, g->labels ? g->labels + off * (size_t)S : NULL,
                   g->puzzle_ids ? g->puzzle_ids + off : NULL};
    return b;
}

/* The order of the draws is update_halting's (act.c): u then k, row by row. */
const trm_explore *ddp_draws(ddp *d, trm_act *a, const trm_config *c) {
    if (!d || c->halt_max_steps <= 1) return NULL;
    for (int b = 0; b < d->B; b++) {
        d->u[b] = rng_uniform(a->rng);
        d->k[b] = rng_int(a->rng, 2, c->halt_max_steps);
    }
    d->ex.u = d->u + ddp_offset(d);
    d->ex.k = d->k + ddp_offset(d);
    return &d->ex;
}

int ddp_reduce_metrics(ddp *d, trm_metrics *mt, trm_err *err) {
    if (!d) return 0;
    double t0 = util_now_s();
    int rc = dist_sum_f64((double *)mt, sizeof *mt / sizeof(double), err);
    g_comm.s += util_now_s() - t0;
    g_comm.bytes += sizeof *mt;
    return rc;
}

int ddp_optim_step(ddp *d, trm_optim *o, trm_model *m, const trm_act *a, int *skipped, trm_err *err) {
    if (!d) {
        *skipped = trm_optim_step(o, m, a);
        return 0;
    }
    double t0 = util_now_s();
    /* SUM, as the reference: backward already divided by the global batch */
    for (int i = 0; i < m->n_tensors; i++) {
        trm_tensor *t = &m->tensors[i];
        if (!t->trainable || !t->grad) continue;
        if (dist_sum_f32(t->grad, (size_t)t->numel, err)) return -1;
        g_comm.bytes += 4.0 * (double)t->numel;
    }
    const float *g = trm_act_puzzle_grad(a);
    if (g && (dist_gather(a->puzzle_ids, d->ids, (size_t)d->rows, 4, true, err) ||
              dist_gather(g, d->pgrad, (size_t)d->rows * (size_t)d->nd, 4, true, err)))
        return -1;
    if (g) g_comm.bytes += 4.0 * d->rows * (1.0 + d->nd);
    g_comm.s += util_now_s() - t0;
    g_comm.steps++;
    *skipped = trm_optim_step_rows(o, m, g ? d->ids : NULL, g ? d->pgrad : NULL, d->B);
    return 0;
}

const char *ddp_comm_note(void) {
    static char buf[160];
    if (g_comm.steps == 0) return "";
    double n = (double)g_comm.steps;
    snprintf(buf, sizeof buf, "; exchange per step and rank (rank %d): %.3f MB in %.2f ms", g_comm.rank,
             g_comm.bytes / n / 1e6, 1e3 * g_comm.s / n);
    return buf;
}

/* ------------------------------------------------------------ carry */

int ddp_carry_alloc(ddp *d, trm_err *err) {
    if (!d) return 0;
    ddp_carry_release(d);
    trm_act_carry *c = &d->carry;
    size_t B = (size_t)d->B;
    *c = (trm_act_carry){.batch = d->B, .L = d->L, .hidden_size = d->D, .seq_len = (int)d->S, .rng = d->carry_rng};
    c->y = malloc(sizeof(float) * B * d->LD);
    c->z = malloc(sizeof(float) * B * d->LD);
    c->steps = malloc(sizeof(int32_t) * B);
    c->halted = malloc(sizeof(bool) * B);
    c->inputs = malloc(sizeof(int32_t) * B * d->S);
    c->labels = malloc(sizeof(int32_t) * B * d->S);
    c->puzzle_ids = malloc(sizeof(int32_t) * B);
    d->have_carry = true;
    if (!c->y || !c->z || !c->steps || !c->halted || !c->inputs || !c->labels || !c->puzzle_ids)
        return trm_errf(err, "rank %d: out of memory for the carry of the batch of %d", d->rank, d->B);
    return 0;
}

void ddp_carry_release(ddp *d) {
    if (!d || !d->have_carry) return;
    trm_act_carry *c = &d->carry;
    free(c->y); free(c->z); free(c->steps); free(c->halted);
    free(c->inputs); free(c->labels); free(c->puzzle_ids);
    memset(c, 0, sizeof *c);
    d->have_carry = false;
}

void ddp_carry_view(ddp *d, trm_act *local, trm_act_carry *out) {
    if (d && d->have_carry) *out = d->carry;
    else trm_act_carry_view(local, out);
}

/* Rank r's rows land at r * rows: the global batch order. */
int ddp_carry_gather(ddp *d, trm_act *local, trm_err *err) {
    if (!d) return 0;
    int rc = d->rank == 0 ? ddp_carry_alloc(d, err) : 0;
    if (dist_agree(rc, err)) return -1;
    trm_act_carry a, *c = &d->carry;
    trm_act_carry_view(local, &a);
    size_t n = (size_t)d->rows;
    if (dist_gather(a.y, c->y, n * d->LD, 4, false, err) ||
        dist_gather(a.z, c->z, n * d->LD, 4, false, err) ||
        dist_gather(a.steps, c->steps, n, 4, false, err) ||
        dist_gather(a.halted, c->halted, n * sizeof(bool), 1, false, err) ||
        dist_gather(a.inputs, c->inputs, n * d->S, 4, false, err) ||
        dist_gather(a.labels, c->labels, n * d->S, 4, false, err) ||
        dist_gather(a.puzzle_ids, c->puzzle_ids, n, 4, false, err))
        return -1;
    memcpy(d->carry_rng, a.rng, sizeof d->carry_rng); /* the same stream on every rank */
    return 0;
}

void ddp_carry_scatter(const ddp *d, trm_act *local) {
    if (!d || !d->have_carry) return;
    const trm_act_carry *c = &d->carry;
    trm_act_carry a;
    trm_act_carry_view(local, &a);
    size_t n = (size_t)d->rows, o = (size_t)ddp_offset(d);
    memcpy(a.y, c->y + o * d->LD, sizeof(float) * n * d->LD);
    memcpy(a.z, c->z + o * d->LD, sizeof(float) * n * d->LD);
    memcpy(a.steps, c->steps + o, sizeof(int32_t) * n);
    memcpy(a.halted, c->halted + o, sizeof(bool) * n);
    memcpy(a.inputs, c->inputs + o * d->S, sizeof(int32_t) * n * d->S);
    memcpy(a.labels, c->labels + o * d->S, sizeof(int32_t) * n * d->S);
    memcpy(a.puzzle_ids, c->puzzle_ids + o, sizeof(int32_t) * n);
    memcpy(a.rng, c->rng, sizeof d->carry_rng);
}
