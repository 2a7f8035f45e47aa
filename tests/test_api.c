/* test_api.c - the public API as a program sees it: only include/trm.h
 * (and testutil.h, which itself includes only trm.h). Creates and loads a
 * model, solves batches with trm_solve and checks them against the
 * accessors (tokens = argmax of the logits after the same steps,
 * confidence, steps <= max, verdict = the task checker), that the
 * caller's config is never changed, and that evaluation and search run
 * from a dataset folder written here by hand. */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "testutil.h"
#include "trm.h"

/* the point of this file: no internal header may sneak in */
#if defined(TRM_MODEL_MODEL_H) || defined(TRM_MODEL_INTERNAL_H) || defined(TRM_DATA_DATASET_H) || \
    defined(TRM_SEARCH_H)
#error "test_api.c must use only include/trm.h"
#endif

#define B 3

/* A tiny Sudoku model (vocab 11, seq_len 81) with halt_max_steps 2, so a
 * solve of more steps than the config allows shows whether it edits it. */
static trm_model *tiny_model(void) {
    trm_config c;
    trm_err e;
    assert_int_equal(trm_config_preset(&c, "tiny", &e), 0);
    c.hidden_size = 32, c.num_heads = 2, c.puzzle_emb_ndim = 32;
    c.H_cycles = 1, c.L_cycles = 1, c.halt_max_steps = 2, c.num_puzzle_identifiers = 2;
    trm_model *m = trm_model_new(&c, 3, &e);
    assert_non_null(m);
    return m;
}

/* Puzzles: row b has b + 1 blank cells in a valid grid's tokens (2..10 =
 * digits 1..9, 1 = blank). */
static void puzzles(int32_t *in, int n) {
    for (int b = 0; b < n; b++)
        for (int i = 0; i < 81; i++) {
            int r = i / 9, col = i % 9;
            int digit = (r * 3 + r / 3 + col) % 9; /* a valid Sudoku */
            in[b * 81 + i] = i <= b ? 1 : 2 + digit;
        }
}

/* The reference run: k plain steps on a fresh state, rows capped at k. */
static trm_act *run_steps(trm_model *m, const trm_batch *bt, int k) {
    trm_err e;
    trm_act *a = trm_act_new(m, bt->batch, TRM_EVAL, 0, &e);
    assert_non_null(a);
    trm_act_set_step_cap(a, k);
    for (int s = 0; s < k; s++) assert_int_equal(trm_act_step(m, a, bt, NULL, &e), 0);
    return a;
}

static void test_accessors(void **state) {
    (void)state;
    trm_model *m = tiny_model();
    const trm_config *c = trm_model_config(m);
    assert_int_equal(c->seq_len, 81);
    int n = trm_model_num_tensors(m);
    assert_true(n > 0);
    assert_null(trm_model_tensor(m, -1));
    assert_null(trm_model_tensor(m, n));
    for (int i = 0; i < n; i++) assert_ptr_equal(trm_model_find(m, trm_model_tensor(m, i)->name), trm_model_tensor(m, i));
    trm_err e;
    trm_act *a = trm_act_new(m, B, TRM_EVAL, 0, &e);
    assert_int_equal(trm_act_batch(a), B);
    assert_int_equal(trm_act_mode(a), TRM_EVAL);
    assert_non_null(trm_act_logits(a));
    assert_non_null(trm_act_q_continue(a));
    trm_act_carry cv;
    trm_act_carry_view(a, &cv);
    assert_int_equal(cv.batch, B);
    assert_int_equal(cv.seq_len, 81);
    assert_int_equal(cv.hidden_size, 32);
    assert_int_equal(trm_act_row_floats(a), (size_t)cv.L * cv.hidden_size);
    trm_act_free(a);
    trm_model_free(m);
}

static void test_argmax(void **state) {
    (void)state;
    float v[5] = {1, 3, 3, -2, 2};
    int second;
    assert_int_equal(trm_argmax(v, 5, NULL), 1); /* first of the tied maxima */
    assert_int_equal(trm_argmax(v, 5, &second), 1);
    assert_int_equal(second, 2);
    assert_int_equal(trm_argmax(v, 1, &second), 0);
    assert_int_equal(second, -1);
    assert_true(fabs(trm_confidence(0.0f) - 0.5) < 1e-12);
    assert_true(fabs(trm_confidence(2.0f) - 1.0 / (1.0 + exp(-2.0))) < 1e-15);
}

/* trm_solve over more steps than halt_max_steps: the answers are those of
 * exactly that many steps, and the config stays as it was. */
static void test_solve_matches_steps(void **state) {
    (void)state;
    trm_model *m = tiny_model();
    trm_config before = *trm_model_config(m);
    int32_t in[B * 81], tok[B * 81], want[B * 81], steps[B], viol[B];
    double conf[B];
    float q[B];
    trm_verdict verdict[B];
    puzzles(in, B);
    trm_batch bt = {B, in, NULL, NULL};
    const trm_task *t = trm_task_by_name("sudoku");
    assert_non_null(t);
    assert_string_equal(trm_task_name(t), "sudoku");
    trm_solve_opts o = {.max_steps = 5, .check = trm_task_check, .check_ctx = (void *)t};
    trm_solve_out out = {tok, q, conf, steps, verdict, viol};
    trm_err e;
    assert_int_equal(trm_solve(m, NULL, &bt, &o, &out, &e), 0);
    assert_memory_equal(&before, trm_model_config(m), sizeof before);

    trm_act *a = run_steps(m, &bt, 5);
    trm_argmax_rows(trm_act_logits(a), (size_t)B * 81, 11, want);
    assert_memory_equal(tok, want, sizeof want);
    for (int b = 0; b < B; b++) {
        assert_int_equal(steps[b], 5);
        assert_true(q[b] == trm_act_q_halt(a)[b]);
        assert_true(conf[b] == trm_confidence(q[b]));
        int v = trm_task_check((void *)t, in + b * 81, tok + b * 81, 81);
        assert_int_equal(viol[b], v);
        assert_int_equal(verdict[b], v < 0 ? TRM_UNCHECKED : v == 0 ? TRM_SOLVED : TRM_REJECTED);
    }
    trm_act_free(a);
    trm_model_free(m);
}

/* A checker that accepts everything, one that cannot tell, and none. */
static int accept_all(void *ctx, const int32_t *in, const int32_t *ans, int S) {
    (void)ctx, (void)in, (void)ans, (void)S;
    return 0;
}
static int cannot_tell(void *ctx, const int32_t *in, const int32_t *ans, int S) {
    (void)ctx, (void)in, (void)ans, (void)S;
    return -1;
}

static void test_verdicts(void **state) {
    (void)state;
    trm_model *m = tiny_model();
    int32_t in[B * 81], tok[B * 81], viol[B];
    trm_verdict verdict[B];
    puzzles(in, B);
    trm_batch bt = {B, in, NULL, NULL};
    trm_solve_out out = {.tokens = tok, .verdict = verdict, .violations = viol};
    trm_err e;
    trm_check_fn fns[3] = {accept_all, cannot_tell, NULL};
    trm_verdict want[3] = {TRM_SOLVED, TRM_UNCHECKED, TRM_UNCHECKED};
    for (int k = 0; k < 3; k++) {
        trm_solve_opts o = {.max_steps = 1, .check = fns[k]};
        assert_int_equal(trm_solve(m, NULL, &bt, &o, &out, &e), 0);
        for (int b = 0; b < B; b++) {
            assert_int_equal(verdict[b], want[k]);
            assert_int_equal(viol[b], k == 0 ? 0 : -1);
        }
    }
    trm_model_free(m);
}

/* early_halt: with q_halt forced positive every row answers at step 1;
 * forced negative, every row runs all steps. A caller's state keeps its
 * step cap. */
static void test_early_halt(void **state) {
    (void)state;
    trm_model *m = tiny_model();
    trm_tensor *qw = trm_model_find(m, "q_head.weight"), *qb = trm_model_find(m, "q_head.bias");
    assert_non_null(qw);
    assert_non_null(qb);
    memset(qw->data, 0, sizeof(float) * (size_t)qw->numel);
    int32_t in[B * 81], tok[B * 81], want[B * 81], steps[B];
    puzzles(in, B);
    trm_batch bt = {B, in, NULL, NULL};
    trm_err e;
    trm_act *a = trm_act_new(m, B, TRM_EVAL, 0, &e);
    trm_act_set_step_cap(a, 7);
    for (int sign = -1; sign <= 1; sign += 2) {
        qb->data[0] = (float)sign;
        trm_solve_opts o = {.max_steps = 4, .early_halt = true};
        trm_solve_out out = {.tokens = tok, .steps = steps};
        assert_int_equal(trm_solve(m, a, &bt, &o, &out, &e), 0);
        assert_int_equal(trm_act_step_cap(a), 7);
        int k = sign > 0 ? 1 : 4;
        trm_act *ref = run_steps(m, &bt, k);
        trm_argmax_rows(trm_act_logits(ref), (size_t)B * 81, 11, want);
        assert_memory_equal(tok, want, sizeof want);
        for (int b = 0; b < B; b++) assert_int_equal(steps[b], k);
        trm_act_free(ref);
    }
    trm_act_free(a);
    trm_model_free(m);
}

static void test_solve_errors(void **state) {
    (void)state;
    trm_model *m = tiny_model();
    int32_t in[B * 81], tok[B * 81];
    puzzles(in, B);
    trm_batch bt = {B, in, NULL, NULL};
    trm_err e;
    trm_solve_out none = {0}, out = {.tokens = tok};
    assert_int_equal(trm_solve(m, NULL, &bt, NULL, &none, &e), -1);
    assert_string_equal(e.msg, "solve: no buffer for the answer tokens");
    trm_act *a = trm_act_new(m, B + 1, TRM_EVAL, 0, &e);
    assert_int_equal(trm_solve(m, a, &bt, NULL, &out, &e), -1);
    assert_string_equal(e.msg, "solve: needs an evaluation ACT state of this model with 3 rows");
    trm_act_free(a);
    a = trm_act_new(m, B, TRM_TRAIN, 0, &e);
    assert_int_equal(trm_solve(m, a, &bt, NULL, &out, &e), -1);
    trm_act_free(a);
    trm_model_free(m);
}

/* ---- a dataset folder written by hand (the format is public) */

static void write_npy_i32(const char *path, int ndim, const int64_t *shape, const int32_t *v) {
    char dict[128], shp[64] = "";
    int64_t n = 1;
    for (int i = 0; i < ndim; i++) {
        snprintf(shp + strlen(shp), sizeof shp - strlen(shp), "%lld,%s", (long long)shape[i], ndim > 1 && i == 0 ? " " : "");
        n *= shape[i];
    }
    if (ndim > 1) shp[strlen(shp) - 1] = 0; /* (4, 81) without the trailing comma */
    int len = snprintf(dict, sizeof dict, "{'descr': '<i4', 'fortran_order': False, 'shape': (%s), }", shp);
    while ((10 + len + 1) % 64) dict[len++] = ' ';
    dict[len++] = '\n';
    FILE *f = fopen(path, "wb");
    assert_non_null(f);
    unsigned char head[10] = {0x93, 'N', 'U', 'M', 'P', 'Y', 1, 0, (unsigned char)(len & 255), (unsigned char)(len >> 8)};
    fwrite(head, 1, 10, f);
    fwrite(dict, 1, (size_t)len, f);
    fwrite(v, sizeof(int32_t), (size_t)n, f);
    fclose(f);
}

#define N_EX 4

/* DIR/test: N_EX examples, one puzzle and group each, labels 0 (ignored)
 * on the givens. */
static const char *write_dataset(int32_t *in) {
    static char dir[PATH_MAX];
    snprintf(dir, sizeof dir, "%s", tpath("data"));
    char path[PATH_MAX + 64];
    mkdir(dir, 0777);
    snprintf(path, sizeof path, "%s/test", dir);
    mkdir(path, 0777);
    int32_t lab[N_EX * 81], pid[N_EX] = {0}, pidx[N_EX + 1], gidx[N_EX + 1];
    puzzles(in, N_EX);
    for (int i = 0; i < N_EX * 81; i++) lab[i] = in[i] == 1 ? 2 + (i % 9) : 0;
    for (int i = 0; i <= N_EX; i++) pidx[i] = gidx[i] = i;
    int64_t s2[2] = {N_EX, 81}, s1[1] = {N_EX}, s1p[1] = {N_EX + 1};
    snprintf(path, sizeof path, "%s/test/all__inputs.npy", dir);
    write_npy_i32(path, 2, s2, in);
    snprintf(path, sizeof path, "%s/test/all__labels.npy", dir);
    write_npy_i32(path, 2, s2, lab);
    snprintf(path, sizeof path, "%s/test/all__puzzle_identifiers.npy", dir);
    write_npy_i32(path, 1, s1, pid);
    snprintf(path, sizeof path, "%s/test/all__puzzle_indices.npy", dir);
    write_npy_i32(path, 1, s1p, pidx);
    snprintf(path, sizeof path, "%s/test/all__group_indices.npy", dir);
    write_npy_i32(path, 1, s1p, gidx);
    snprintf(path, sizeof path, "%s/test/dataset.json", dir);
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    fprintf(f, "{\"pad_id\": 0, \"ignore_label_id\": 0, \"blank_identifier_id\": 0, \"vocab_size\": 11, "
               "\"seq_len\": 81, \"num_puzzle_identifiers\": 2, \"total_groups\": %d, "
               "\"mean_puzzle_examples\": 1.0, \"total_puzzles\": %d, \"sets\": [\"all\"]}", N_EX, N_EX);
    fclose(f);
    return dir;
}

typedef struct {
    int32_t pred[N_EX * 81];
    float q[N_EX];
    int rows;
} seen_rows;

static int keep_row(void *ctx, const trm_eval_row *r, trm_err *err) {
    (void)err;
    seen_rows *s = ctx;
    memcpy(s->pred + r->index * 81, r->pred, sizeof(int32_t) * 81);
    s->q[r->index] = r->q_halt;
    s->rows++;
    return 0;
}

typedef struct {
    int calls;
    int64_t seen, total;
    double exact;
} progress_rec;

static void count_progress(void *ctx, int64_t seen, int64_t total, double exact) {
    progress_rec *p = ctx;
    p->calls++, p->seen = seen, p->total = total, p->exact = exact;
}

/* Evaluation from trm.h sees exactly trm_solve's answers (also with
 * split, a no-op in one process); the search runs from trm.h too and
 * stays within its budget. */
static void test_eval_and_search(void **state) {
    (void)state;
    assert_int_equal(tu_make_dir("/tmp/trm_api_XXXXXX"), 0);
    int32_t in[N_EX * 81], tok[N_EX * 81];
    float q[N_EX];
    const char *dir = write_dataset(in);
    trm_err e;
    trm_split *s = trm_split_open(dir, "test", &e);
    if (!s) fail_msg("%s", e.msg);
    assert_int_equal(trm_split_num_examples(s), N_EX);
    assert_int_equal(trm_split_meta(s)->seq_len, 81);
    trm_model *m = tiny_model();
    trm_config before = *trm_model_config(m);

    seen_rows seen = {0};
    trm_eval_opts o = {.steps = 3, .batch = N_EX, .on_row = keep_row, .row_ctx = &seen};
    trm_eval_result r;
    assert_int_equal(trm_evaluate_opts(m, s, &o, &r, &e), 0);
    assert_int_equal(seen.rows, N_EX);
    assert_int_equal(r.examples, N_EX);
    trm_batch bt = {N_EX, in, NULL, NULL};
    trm_solve_opts so = {.max_steps = 3};
    trm_solve_out out = {.tokens = tok, .q_halt = q};
    assert_int_equal(trm_solve(m, NULL, &bt, &so, &out, &e), 0);
    assert_memory_equal(seen.pred, tok, sizeof tok);
    assert_memory_equal(seen.q, q, sizeof q);

    /* progress comes through on_progress after every batch, and the
     * library prints nothing itself */
    progress_rec pr = {0};
    trm_eval_opts op = {.steps = 3, .batch = 3, .on_progress = count_progress, .progress_ctx = &pr};
    trm_eval_result rp;
    tu_stderr_begin();
    int prc = trm_evaluate_opts(m, s, &op, &rp, &e);
    const char *printed = tu_stderr_end();
    assert_int_equal(prc, 0);
    assert_string_equal(printed, "");
    assert_int_equal(pr.calls, (N_EX + 2) / 3); /* the last batch is partial */
    assert_int_equal(pr.seen, N_EX);
    assert_int_equal(pr.total, N_EX);
    assert_true(pr.exact == rp.exact_accuracy);
    /* the same numbers as one batch of all rows: the rows of the last,
     * partial batch that hold no example add nothing to the loss */
    assert_true(rp.exact_accuracy == r.exact_accuracy);
    assert_true(fabs(rp.accuracy - r.accuracy) <= 1e-12);
    if (!(fabs(rp.lm_loss - r.lm_loss) <= 1e-6 * fabs(r.lm_loss)))
        fail_msg("lm_loss at batch 3: %.9g, at batch %d: %.9g", rp.lm_loss, N_EX, r.lm_loss);
    trm_eval_result_free(&rp);
    /* max_examples cutting a full batch short: the rows past it are not
     * scored and add nothing to the loss (batches of 2 rows of 4, cut at
     * 3, against one batch of those 3) */
    trm_eval_opts o3 = {.steps = 3, .batch = 3};
    trm_eval_opts ocut = {.steps = 3, .batch = 2, .max_examples = 3};
    trm_eval_result r3, rcut;
    assert_int_equal(trm_evaluate_opts(m, s, &o3, &r3, &e), 0);
    trm_eval_opts o3only = o3;
    o3only.max_examples = 3;
    trm_eval_result_free(&r3);
    assert_int_equal(trm_evaluate_opts(m, s, &o3only, &r3, &e), 0);
    assert_int_equal(trm_evaluate_opts(m, s, &ocut, &rcut, &e), 0);
    assert_int_equal(rcut.examples, 3);
    assert_true(rcut.exact_accuracy == r3.exact_accuracy);
    if (!(fabs(rcut.lm_loss - r3.lm_loss) <= 1e-6 * fabs(r3.lm_loss)))
        fail_msg("lm_loss of 3 examples in batches of 2: %.9g, in a batch of 3: %.9g", rcut.lm_loss,
                 r3.lm_loss);
    trm_eval_result_free(&r3);
    trm_eval_result_free(&rcut);

    /* split (data-parallel evaluation) changes nothing in a single
     * process: the per-row callback still sees every row, same result */
    seen_rows seen1 = {0};
    trm_eval_opts o1 = o;
    o1.row_ctx = &seen1;
    o1.split = true;
    trm_eval_result r1;
    assert_int_equal(trm_evaluate_opts(m, s, &o1, &r1, &e), 0);
    assert_int_equal(seen1.rows, N_EX);
    assert_memory_equal(seen1.pred, tok, sizeof tok);
    assert_int_equal(r1.examples, N_EX);
    assert_true(r1.exact_accuracy == r.exact_accuracy && r1.accuracy == r.accuracy && r1.lm_loss == r.lm_loss);
    trm_eval_result_free(&r1);
    trm_eval_result_free(&r);

    trm_search_opts sop;
    trm_search_opts_default(&sop, trm_model_config(m));
    sop.budget = 4;
    trm_act *a = trm_act_new(m, 2, TRM_EVAL, 0, &e);
    int32_t ans[N_EX * 81];
    trm_search_result res[N_EX];
    memset(res, 0, sizeof res);
    const trm_task *t = trm_task_detect(11, 81);
    assert_non_null(t);
    assert_int_equal(trm_search_run(m, a, t, in, NULL, N_EX, 0, &sop, ans, res, NULL, &e), 0);
    for (int i = 0; i < N_EX; i++) {
        assert_true(res[i].evals <= 4);
        assert_int_equal(res[i].violations, trm_task_check((void *)t, in + i * 81, ans + i * 81, 81));
    }
    assert_int_equal(trm_act_step_cap(a), 0);
    assert_memory_equal(&before, trm_model_config(m), sizeof before);
    trm_act_free(a);
    trm_model_free(m);
    trm_split_close(s);
    tu_remove_dir();
}

/* A checkpoint round trip through the public API solves the same. */
static void test_checkpoint_solve(void **state) {
    (void)state;
    assert_int_equal(tu_make_dir("/tmp/trm_api_XXXXXX"), 0);
    trm_model *m = tiny_model();
    trm_err e;
    assert_int_equal(trm_checkpoint_save(m, tpath("m.safetensors"), &e), 0);
    trm_model *m2 = trm_checkpoint_load(tpath("m.safetensors"), &e);
    assert_non_null(m2);
    int32_t in[B * 81], t1[B * 81], t2[B * 81];
    puzzles(in, B);
    trm_batch bt = {B, in, NULL, NULL};
    trm_solve_out o1 = {.tokens = t1}, o2 = {.tokens = t2};
    assert_int_equal(trm_solve(m, NULL, &bt, NULL, &o1, &e), 0);
    assert_int_equal(trm_solve(m2, NULL, &bt, NULL, &o2, &e), 0);
    assert_memory_equal(t1, t2, sizeof t1);
    /* its config, read back from the metadata without loading */
    char *cfg = NULL, *none = (char *)"x";
    assert_int_equal(trm_checkpoint_metadata(tpath("m.safetensors"), "config", &cfg, &e), 0);
    assert_non_null(cfg);
    trm_config back;
    assert_int_equal(trm_config_from_json(&back, cfg, &e), 0);
    assert_true(cfg_equal(&back, trm_model_config(m)));
    trm_free(cfg);
    assert_int_equal(trm_checkpoint_metadata(tpath("m.safetensors"), "train_config", &none, &e), 0);
    assert_null(none); /* a checkpoint has no training config */
    assert_int_equal(trm_checkpoint_metadata(tpath("absent.safetensors"), "config", &cfg, &e), -1);
    assert_contains(e.msg, "absent.safetensors");
    trm_model_free(m);
    trm_model_free(m2);
    tu_remove_dir();
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_accessors),         cmocka_unit_test(test_argmax),
        cmocka_unit_test(test_solve_matches_steps), cmocka_unit_test(test_verdicts),
        cmocka_unit_test(test_early_halt),        cmocka_unit_test(test_solve_errors),
        cmocka_unit_test(test_eval_and_search),   cmocka_unit_test(test_checkpoint_solve),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
