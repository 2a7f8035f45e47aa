/* eval.c - evaluation over a dataset split (spec 3.5 test loader): every
 * batch starts from a fresh carry and runs a fixed number of supervision
 * steps; metrics are those of the last step (optionally of every step). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "data/dataset.h"
#include "train/train.h"

void trm_eval_result_free(trm_eval_result *r) {
    free(r->exact_by_step);
    free(r->accuracy_by_step);
    r->exact_by_step = r->accuracy_by_step = NULL;
}

/* Exact / token accuracy of rows [0, n_valid) with at least one label. */
static void score_rows(const trm_model *m, const trm_act *a, int n_valid, double *exact,
                       double *acc, double *q_acc, int64_t *rows) {
    int S = m->cfg.seq_len, V = m->cfg.vocab_size;
    for (int b = 0; b < n_valid; b++) {
        int count = 0, right = 0;
        for (int t = 0; t < S; t++) {
            int32_t lab = a->labels[(size_t)b * S + t];
            if (lab == TRM_IGNORE_LABEL) continue;
            const float *lg = a->logits + ((size_t)b * S + t) * V;
            int best = 0;
            for (int v = 1; v < V; v++)
                if (lg[v] > lg[best]) best = v;
            count++;
            right += best == lab;
        }
        if (count == 0) continue;
        bool ok = right == count;
        *exact += ok;
        *acc += (double)right / count;
        if (q_acc) *q_acc += (a->q_halt[b] >= 0.0f) == ok;
        (*rows)++;
    }
}

int trm_evaluate(trm_model *m, const trm_split *split, int steps, int batch, int64_t max_examples,
                 bool per_step, bool progress, trm_eval_result *out, trm_err *err) {
    memset(out, 0, sizeof *out);
    const trm_config *c = &m->cfg;
    if (steps <= 0) steps = c->halt_max_steps;
    int64_t total = trm_split_num_examples(split);
    if (max_examples > 0 && max_examples < total) total = max_examples;
    if (batch > total && total > 0) batch = (int)total;
    if (batch < 1) batch = 1;
    trm_loader *ld = trm_loader_new(split, batch, false, 0, err);
    if (!ld) return -1;
    trm_act *a = trm_act_new(m, batch, TRM_EVAL, 0, err);
    int32_t *in = malloc(sizeof(int32_t) * (size_t)batch * c->seq_len);
    int32_t *lab = malloc(sizeof(int32_t) * (size_t)batch * c->seq_len);
    int32_t *pid = malloc(sizeof(int32_t) * (size_t)batch);
    double *ex_step = per_step ? calloc((size_t)steps, sizeof(double)) : NULL;
    double *acc_step = per_step ? calloc((size_t)steps, sizeof(double)) : NULL;
    int rc = 0;
    if (!a || !in || !lab || !pid || (per_step && (!ex_step || !acc_step))) {
        rc = a ? trm_errf(err, "out of memory for evaluation batch %d", batch) : -1;
        goto done;
    }
    /* evaluation halts only at the step cap: lift it so `steps` run */
    int saved_cap = m->cfg.halt_max_steps;
    if (m->cfg.halt_max_steps < steps) m->cfg.halt_max_steps = steps;
    int64_t seen = 0, rows = 0;
    double exact = 0, acc = 0, q_acc = 0, loss = 0;
    int n;
    while (rc == 0 && seen < total && (n = trm_loader_next(ld, in, lab, pid)) > 0) {
        if (seen + n > total) n = (int)(total - seen);
        trm_batch bt = {batch, in, lab, pid};
        trm_act_reset(a);
        for (int s = 0; rc == 0 && s < steps; s++) {
            rc = trm_act_step(m, a, &bt, NULL, err);
            if (rc == 0 && per_step) {
                int64_t r = 0;
                score_rows(m, a, n, &ex_step[s], &acc_step[s], NULL, &r);
            }
        }
        if (rc) break;
        trm_metrics mt;
        trm_act_loss(m, a, TRM_LOSS_STABLEMAX, &mt);
        loss += mt.lm_loss;
        score_rows(m, a, n, &exact, &acc, &q_acc, &rows);
        seen += n;
        if (progress) fprintf(stderr, "\reval: %lld/%lld examples, exact %.4f", (long long)seen,
                              (long long)total, rows ? exact / rows : 0.0);
    }
    if (progress) fputc('\n', stderr);
    m->cfg.halt_max_steps = saved_cap;
    if (rc == 0) {
        double d = rows ? (double)rows : 1.0;
        out->examples = rows;
        out->exact_accuracy = exact / d;
        out->accuracy = acc / d;
        out->q_halt_accuracy = q_acc / d;
        out->mean_steps = steps;
        out->lm_loss = loss / (seen ? (double)seen : 1.0);
        out->n_steps = steps;
        if (per_step) {
            for (int s = 0; s < steps; s++) { ex_step[s] /= d; acc_step[s] /= d; }
            out->exact_by_step = ex_step;
            out->accuracy_by_step = acc_step;
            ex_step = acc_step = NULL;
        }
    }
done:
    free(ex_step); free(acc_step); free(in); free(lab); free(pid);
    trm_act_free(a);
    trm_loader_free(ld);
    return rc;
}
