/* solve.c - the public read-only views of trm_model and trm_act, and
 * trm_solve: the one place a batch of puzzles becomes answers (argmax
 * tokens, confidence, steps, verdict) for solve, eval, demo, bench and
 * replay alike, so they cannot drift apart. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "model/model.h"

/* ------------------------------------------------------------ model views */

const trm_config *trm_model_config(const trm_model *m) { return &m->cfg; }
int trm_model_num_tensors(const trm_model *m) { return m->n_tensors; }

trm_tensor *trm_model_tensor(trm_model *m, int i) {
    return i >= 0 && i < m->n_tensors ? &m->tensors[i] : NULL;
}

/* ------------------------------------------------------------ ACT views */

int trm_act_batch(const trm_act *a) { return a->batch; }
trm_mode trm_act_mode(const trm_act *a) { return a->mode; }
const float *trm_act_logits(const trm_act *a) { return a->logits; }
const float *trm_act_q_halt(const trm_act *a) { return a->q_halt; }
const float *trm_act_q_continue(const trm_act *a) { return a->q_continue; }
const int32_t *trm_act_steps(const trm_act *a) { return a->steps; }
const bool *trm_act_halted(const trm_act *a) { return a->halted; }
void trm_act_set_step_cap(trm_act *a, int cap) { a->step_cap = cap > 0 ? cap : 0; }
int trm_act_step_cap(const trm_act *a) { return a->step_cap; }

void trm_act_carry_view(trm_act *a, trm_act_carry *c) {
    const trm_model *m = a->model;
    *c = (trm_act_carry){.batch = a->batch, .L = m->L, .hidden_size = m->cfg.hidden_size,
                         .seq_len = m->cfg.seq_len, .y = a->y, .z = a->z, .steps = a->steps,
                         .halted = a->halted, .inputs = a->inputs, .labels = a->labels,
                         .puzzle_ids = a->puzzle_ids, .rng = a->rng};
}

/* ------------------------------------------------------------ answers */

int trm_argmax(const float *lg, int n, int *second) {
    int i1 = 0;
    if (!second) {
        for (int v = 1; v < n; v++)
            if (lg[v] > lg[i1]) i1 = v;
        return i1;
    }
    /* one pass for both, as the search has always ranked them */
    int i2 = -1;
    for (int v = 1; v < n; v++) {
        if (lg[v] > lg[i1]) { i2 = i1; i1 = v; }
        else if (i2 < 0 || lg[v] > lg[i2]) i2 = v;
    }
    *second = i2;
    return i1;
}

void trm_argmax_rows(const float *logits, size_t rows, int V, int32_t *tokens) {
    for (size_t i = 0; i < rows; i++) tokens[i] = trm_argmax(logits + i * V, V, NULL);
}

double trm_confidence(float q_halt) { return 1.0 / (1.0 + exp(-(double)q_halt)); }

/* ------------------------------------------------------------ trm_solve */

/* Row b's answer from the last step: tokens, q_halt, steps. */
static void take_row(const trm_act *a, int b, int step, const trm_solve_out *out) {
    int S = a->model->cfg.seq_len, V = a->model->cfg.vocab_size;
    trm_argmax_rows(a->logits + (size_t)b * S * V, (size_t)S, V, out->tokens + (size_t)b * S);
    if (out->q_halt) out->q_halt[b] = a->q_halt[b];
    if (out->confidence) out->confidence[b] = trm_confidence(a->q_halt[b]);
    if (out->steps) out->steps[b] = step;
}

static void judge_rows(const trm_batch *bt, int S, const trm_solve_opts *o, const trm_solve_out *out) {
    if (!out->verdict && !out->violations) return;
    for (int b = 0; b < bt->batch; b++) {
        int v = o->check ? o->check(o->check_ctx, bt->inputs + (size_t)b * S, out->tokens + (size_t)b * S, S) : -1;
        if (out->violations) out->violations[b] = v < 0 ? -1 : v;
        if (out->verdict) out->verdict[b] = v < 0 ? TRM_UNCHECKED : v == 0 ? TRM_SOLVED : TRM_REJECTED;
    }
}

/* The steps proper on a ready state; done[b] marks rows already answered. */
static int run_steps(trm_model *m, trm_act *a, const trm_batch *bt, const trm_solve_opts *o, int steps,
                     bool *done, const trm_solve_out *out, trm_err *err) {
    int left = bt->batch;
    for (int s = 1; s <= steps && left > 0; s++) {
        if (trm_act_step(m, a, bt, NULL, err)) return -1;
        if (o->on_step && o->on_step(o->step_ctx, a, s, err)) return -1;
        for (int b = 0; b < bt->batch; b++) {
            if (done[b] || (s < steps && !(o->early_halt && a->q_halt[b] > 0.0f))) continue;
            take_row(a, b, s, out);
            done[b] = true;
            left--;
        }
    }
    return 0;
}

int trm_solve(trm_model *m, trm_act *a, const trm_batch *bt, const trm_solve_opts *o,
              trm_solve_out *out, trm_err *err) {
    static const trm_solve_opts defaults = {0};
    if (!o) o = &defaults;
    int steps = o->max_steps > 0 ? o->max_steps : m->cfg.halt_max_steps;
    if (!out || !out->tokens) return trm_errf(err, "solve: no buffer for the answer tokens");
    if (steps < 1) return trm_errf(err, "solve: max_steps %d: expected >= 1", steps);
    trm_act *own = a ? NULL : trm_act_new(m, bt->batch, TRM_EVAL, 0, err);
    if (!a && !(a = own)) return -1;
    if (a->model != m || a->mode != TRM_EVAL || a->batch != bt->batch) {
        trm_act_free(own);
        return trm_errf(err, "solve: needs an evaluation ACT state of this model with %d rows", bt->batch);
    }
    bool *done = calloc((size_t)bt->batch, sizeof(bool));
    if (!done) { trm_act_free(own); return trm_errf(err, "out of memory"); }
    /* rows halt at the solve's step count, whatever the config's cap */
    int saved_cap = a->step_cap;
    a->step_cap = steps;
    trm_act_reset(a);
    int rc = run_steps(m, a, bt, o, steps, done, out, err);
    a->step_cap = saved_cap;
    if (rc == 0) judge_rows(bt, m->cfg.seq_len, o, out);
    free(done);
    trm_act_free(own);
    return rc;
}
