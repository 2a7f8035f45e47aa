/* eval.c - evaluation over a dataset split (spec 3.5 test loader): every
 * batch starts from a fresh carry and runs a fixed number of supervision
 * steps; metrics are those of the last step (optionally of every step).
 *
 * One loop serves every consumer: the plain metrics here, and through the
 * per-row callback the task checkers and the ARC voting evaluator of
 * `trm eval`, so they all see the same predictions. */
#include <stdlib.h>
#include <string.h>

#include "data/dataset.h"
#include "dist/dist.h"
#include "train/train.h"

void trm_eval_result_free(trm_eval_result *r) {
    free(r->exact_by_step);
    free(r->accuracy_by_step);
    r->exact_by_step = r->accuracy_by_step = NULL;
}

/* Running sums of the exact / token / q_halt accuracy. */
typedef struct {
    double exact, acc, q_acc;
    int64_t rows;
} score_sums;

/* Scores rows [0, n_valid) with at least one label (spec 2.4 "valid"). */
static void score_rows(int S, const int32_t *pred, const int32_t *lab, const float *q_halt,
                       int n_valid, score_sums *s) {
    for (int b = 0; b < n_valid; b++) {
        int count = 0, right = 0;
        for (int t = 0; t < S; t++) {
            int32_t l = lab[(size_t)b * S + t];
            if (l == TRM_IGNORE_LABEL) continue;
            count++;
            right += pred[(size_t)b * S + t] == l;
        }
        if (count == 0) continue;
        bool ok = right == count;
        s->exact += ok;
        s->acc += (double)right / count;
        if (q_halt) s->q_acc += (q_halt[b] >= 0.0f) == ok;
        s->rows++;
    }
}

/* Per-step accumulators (only for per_step). */
typedef struct {
    double *exact, *acc;
    int32_t *pred;
} step_track;

/* Per-step scoring of trm_solve's steps (--per-step). */
typedef struct {
    step_track *tr;
    const trm_batch *bt;
    int S, V, n_valid;
} step_scorer;

static int score_step(void *ctx, const trm_act *a, int step, trm_err *err) {
    (void)err;
    step_scorer *sc = ctx;
    score_sums ss = {0};
    trm_argmax_rows(trm_act_logits(a), (size_t)sc->n_valid * sc->S, sc->V, sc->tr->pred);
    score_rows(sc->S, sc->tr->pred, sc->bt->labels, NULL, sc->n_valid, &ss);
    sc->tr->exact[step - 1] += ss.exact;
    sc->tr->acc[step - 1] += ss.acc;
    return 0;
}

/* The default batch solver: trm_solve's `steps` plain supervision steps
 * from a fresh carry, optionally scoring every step. */
static int solve_plain(trm_model *m, trm_act *a, const trm_batch *bt, int steps, int n_valid,
                       step_track *tr, int32_t *pred, float *q_halt, trm_err *err) {
    const trm_config *c = trm_model_config(m);
    step_scorer sc = {tr, bt, c->seq_len, c->vocab_size, n_valid};
    trm_solve_opts so = {.max_steps = steps, .on_step = tr ? score_step : NULL, .step_ctx = &sc};
    trm_solve_out out = {.tokens = pred, .q_halt = q_halt};
    return trm_solve(m, a, bt, &so, &out, err);
}

static int call_rows(const trm_eval_opts *o, int S, int64_t first, int n, const int32_t *in,
                     const int32_t *lab, const int32_t *pid, const int32_t *pred, const float *q,
                     trm_err *err) {
    for (int b = 0; b < n && o->on_row; b++) {
        trm_eval_row row = {first + b, in + (size_t)b * S, lab + (size_t)b * S, pid[b],
                            pred + (size_t)b * S, q[b]};
        if (o->on_row(o->row_ctx, &row, err)) return -1;
    }
    return 0;
}

/* Buffers of one evaluation. */
typedef struct {
    int32_t *in, *lab, *pid, *pred;
    float *q;
    step_track tr;
} eval_bufs;

static int bufs_alloc(eval_bufs *b, int batch, int S, int steps, bool per_step) {
    size_t bs = (size_t)batch * S;
    b->in = malloc(sizeof(int32_t) * bs);
    b->lab = malloc(sizeof(int32_t) * bs);
    b->pred = malloc(sizeof(int32_t) * bs);
    b->pid = malloc(sizeof(int32_t) * (size_t)batch);
    b->q = malloc(sizeof(float) * (size_t)batch);
    if (per_step) {
        b->tr.exact = calloc((size_t)steps, sizeof(double));
        b->tr.acc = calloc((size_t)steps, sizeof(double));
        b->tr.pred = malloc(sizeof(int32_t) * bs);
    }
    return b->in && b->lab && b->pred && b->pid && b->q &&
                   (!per_step || (b->tr.exact && b->tr.acc && b->tr.pred))
               ? 0
               : -1;
}

static void bufs_free(eval_bufs *b) {
    free(b->in); free(b->lab); free(b->pid); free(b->pred); free(b->q);
    free(b->tr.exact); free(b->tr.acc); free(b->tr.pred);
}

static void fill_result(trm_eval_result *out, const score_sums *s, double loss, int64_t seen,
                        int steps, eval_bufs *b, bool per_step) {
    double d = s->rows ? (double)s->rows : 1.0;
    out->examples = s->rows;
    out->exact_accuracy = s->exact / d;
    out->accuracy = s->acc / d;
    out->q_halt_accuracy = s->q_acc / d;
    out->mean_steps = steps;
    out->lm_loss = loss / (seen ? (double)seen : 1.0);
    out->n_steps = steps;
    if (!per_step) return;
    for (int i = 0; i < steps; i++) { b->tr.exact[i] /= d; b->tr.acc[i] /= d; }
    out->exact_by_step = b->tr.exact;
    out->accuracy_by_step = b->tr.acc;
    b->tr.exact = b->tr.acc = NULL;
}

/* DDP: the sums of every rank's slices (split evaluation). */
static int reduce_sums(score_sums *s, double *loss, step_track *tr, int steps, trm_err *err) {
    double v[5] = {s->exact, s->acc, s->q_acc, (double)s->rows, *loss};
    if (dist_sum_f64(v, 5, err) || (tr->exact && (dist_sum_f64(tr->exact, (size_t)steps, err) ||
                                                      dist_sum_f64(tr->acc, (size_t)steps, err))))
        return -1;
    *s = (score_sums){v[0], v[1], v[2], (int64_t)v[3]};
    *loss = v[4];
    return 0;
}

/* Whether to stop before the next batch; a split evaluation stops on
 * every rank together. */
static bool stop_now(const trm_eval_opts *o) {
    bool stop = o->stop && *o->stop;
    return o->split ? dist_any(stop) : stop;
}

int trm_evaluate_opts(trm_model *m, const trm_split *split, const trm_eval_opts *o,
                      trm_eval_result *out, trm_err *err) {
    memset(out, 0, sizeof *out);
    const trm_config *c = trm_model_config(m);
    int steps = o->steps > 0 ? o->steps : c->halt_max_steps, S = c->seq_len;
    bool per_step = o->per_step && !o->solve;
    if (o->per_step && o->solve) return trm_errf(err, "per-step accuracy needs the plain solver");
    int64_t total = trm_split_num_examples(split);
    if (o->max_examples > 0 && o->max_examples < total) total = o->max_examples;
    int batch = o->batch;
    if (batch > total && total > 0) batch = (int)total;
    if (batch < 1) batch = 1;
    /* DDP: this rank solves rows [lo, lo + lb) of every batch (all of it
     * in one process); a rank with no rows only joins the sums */
    int P = o->split ? dist_size() : 1, R = o->split ? dist_rank() : 0;
    if (P > 1 && (o->on_row || o->solve))
        return trm_errf(err, "a split evaluation takes the plain solver and no per-row callback");
    int lo = (int)((int64_t)batch * R / P), lb = (int)((int64_t)batch * (R + 1) / P) - lo;
    trm_loader *ld = loader_new(split, batch, false, 0, err);
    if (!ld) return -1;
    trm_act *a = trm_act_new(m, lb > 0 ? lb : 1, TRM_EVAL, 0, err);
    eval_bufs b = {0};
    int rc = 0;
    if (!a || bufs_alloc(&b, batch, S, steps, per_step)) {
        rc = a ? trm_errf(err, "out of memory for evaluation batch %d", batch) : -1;
        goto done;
    }
    /* evaluation halts only at the step cap: a pluggable solver gets it at `steps` */
    trm_act_set_step_cap(a, steps);
    int64_t seen = 0;
    score_sums sums = {0};
    double loss = 0;
    int n;
    while (rc == 0 && seen < total && !stop_now(o) && (n = loader_next(ld, b.in, b.lab, b.pid)) > 0) {
        if (seen + n > total) n = (int)(total - seen);
        int nl = n - lo < 0 ? 0 : n - lo < lb ? n - lo : lb; /* real rows in this rank's slice */
        trm_batch bt = {lb, b.in + (size_t)lo * S, b.lab + (size_t)lo * S, b.pid + lo};
        /* rows past max_examples hold real examples the loader read ahead:
         * solved along, but neither scored nor in the loss */
        for (size_t i = (size_t)(lo + nl) * S; i < (size_t)(lo + lb) * S; i++) b.lab[i] = TRM_IGNORE_LABEL;
        seen += n;
        if (lb == 0) continue;
        rc = o->solve ? o->solve(o->solve_ctx, m, a, &bt, steps, b.pred, b.q, err)
                      : solve_plain(m, a, &bt, steps, nl, per_step ? &b.tr : NULL, b.pred, b.q, err);
        if (rc == 0) rc = call_rows(o, S, seen - n, nl, bt.inputs, bt.labels, bt.puzzle_ids, b.pred, b.q, err);
        if (rc) break;
        trm_metrics mt;
        trm_act_loss(m, a, TRM_LOSS_STABLEMAX, &mt);
        loss += mt.lm_loss;
        score_rows(S, b.pred, bt.labels, b.q, nl, &sums);
        double exact = sums.rows ? sums.exact / sums.rows : 0.0;
        if (o->on_progress) o->on_progress(o->progress_ctx, seen, total, exact);
    }
    if (rc == 0 && P > 1) rc = reduce_sums(&sums, &loss, &b.tr, steps, err);
    if (rc == 0) fill_result(out, &sums, loss, seen, steps, &b, per_step);
    out->stopped = rc == 0 && seen < total;
done:
    bufs_free(&b);
    trm_act_free(a);
    loader_free(ld);
    return rc;
}

int trm_evaluate(trm_model *m, const trm_split *split, int steps, int batch, int64_t max_examples,
                 bool per_step, trm_eval_result *out, trm_err *err) {
    trm_eval_opts o = {.steps = steps, .batch = batch, .max_examples = max_examples, .per_step = per_step};
    return trm_evaluate_opts(m, split, &o, out, err);
}
