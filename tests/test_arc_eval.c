/* test_arc_eval.c - the ARC evaluator (spec 5.2): voting order and its
 * tie-breaks, pass@K fractions per task, missing predictions, the Kaggle
 * submission, version names and their inverses on token boards; the
 * per-row callback and batch-solver hook of trm_evaluate_opts; and the
 * mapped puzzle table of trm_checkpoint_load. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <cjson/cJSON.h>
#include <math.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "data/dataset.h"
#include "eval/arc_eval.h"
#include "tasks/arc.h"
#include "tasks/task.h"
#include "model/model.h" /* white-box: reads the model and ACT state directly */
#include "testutil.h"
#include "train/train.h"

/* ---------------------------------------------------------------- helpers */

/* A grid from a row-major digit string. */
static arc_grid G(int rows, int cols, const char *digits) {
    arc_grid g;
    memset(&g, 0, sizeof g);
    g.rows = rows;
    g.cols = cols;
    for (int i = 0; i < rows * cols; i++) g.cell[i] = (uint8_t)(digits[i] - '0');
    return g;
}

/* A task with n_test test pairs (inputs distinct), no demonstrations. */
static void add_task(arc_set *s, const char *id, int n_test, const arc_grid *ins, const arc_grid *outs) {
    s->tasks = realloc(s->tasks, sizeof(arc_task) * (size_t)(s->n + 1));
    arc_task *t = &s->tasks[s->n++];
    memset(t, 0, sizeof *t);
    t->id = strdup(id);
    t->file = strdup("test");
    t->n_test = n_test;
    t->test = calloc((size_t)n_test, sizeof(arc_pair));
    t->test_outputs = true;
    for (int j = 0; j < n_test; j++) { t->test[j].in = ins[j]; t->test[j].out = outs[j]; }
}

static arc_names names_of(int n, const char *const *list) {
    arc_names a = {0};
    size_t total = 0;
    for (int i = 0; i < n; i++) total += strlen(list[i]) + 1;
    a.n = n;
    a.names = malloc(sizeof(char *) * (size_t)n);
    a.pool = malloc(total);
    size_t off = 0;
    for (int i = 0; i < n; i++) {
        strcpy(a.pool + off, list[i]);
        a.names[i] = a.pool + off;
        off += strlen(list[i]) + 1;
    }
    return a;
}

static const arc_grid IN1 = {2, 2, {1, 2, 3, 4}}, IN2 = {1, 3, {5, 5, 6}}, IN3 = {1, 1, {7}};

/* Task "aa" with two test inputs, task "bb" with one. */
static arc_eval *two_tasks(void) {
    arc_set s = {0};
    arc_grid ins[2] = {IN1, IN2}, outs[2] = {G(1, 1, "1"), G(1, 2, "22")};
    add_task(&s, "aa", 2, ins, outs);
    arc_grid in3[1] = {IN3}, out3[1] = {G(2, 1, "33")};
    add_task(&s, "bb", 1, in3, out3);
    const char *const list[] = {"<blank>", "aa", "bb"};
    arc_names nm = names_of(3, list);
    trm_err e;
    arc_eval *ev = arc_eval_new(&nm, &s, &e);
    assert_non_null(ev);
    return ev;
}

/* ---------------------------------------------------------------- voting */

static void test_vote_order_and_mean_confidence(void **state) {
    (void)state;
    arc_eval *ev = two_tasks();
    arc_grid A = G(1, 1, "4"), B = G(1, 1, "5"), C = G(1, 2, "66");
    /* A: 3 votes, mean 0.2; B: 2 votes, mean 0.9; C: 2 votes, mean 0.5 */
    arc_eval_add_grid(ev, "aa", &IN1, &C, 0.4);
    arc_eval_add_grid(ev, "aa", &IN1, &A, 0.1);
    arc_eval_add_grid(ev, "aa", &IN1, &B, 0.8);
    arc_eval_add_grid(ev, "aa", &IN1, &A, 0.2);
    arc_eval_add_grid(ev, "aa", &IN1, &C, 0.6);
    arc_eval_add_grid(ev, "aa", &IN1, &B, 1.0);
    arc_eval_add_grid(ev, "aa", &IN1, &A, 0.3);
    arc_candidate c[5];
    int n = arc_eval_ranked(ev, 0, 0, c, 5);
    assert_int_equal(n, 3);
    assert_true(arc_grid_equal(&c[0].grid, &A));
    assert_int_equal(c[0].votes, 3);
    assert_true(fabs(c[0].conf - 0.2) < 1e-12);
    assert_true(arc_grid_equal(&c[1].grid, &B));   /* more confident than C at equal votes */
    assert_true(fabs(c[1].conf - 0.9) < 1e-12);
    assert_true(arc_grid_equal(&c[2].grid, &C));
    assert_int_equal(c[2].votes, 2);
    /* the other test input of the task has nothing */
    assert_int_equal(arc_eval_ranked(ev, 0, 1, c, 5), 0);
    arc_eval_free(ev);
}

static void test_full_tie_keeps_first_seen(void **state) {
    (void)state;
    arc_eval *ev = two_tasks();
    arc_grid A = G(1, 1, "4"), B = G(1, 1, "5");
    arc_eval_add_grid(ev, "aa", &IN2, &B, 0.5);
    arc_eval_add_grid(ev, "aa", &IN2, &A, 0.5);
    arc_candidate c[2];
    assert_int_equal(arc_eval_ranked(ev, 0, 1, c, 2), 2);
    assert_true(arc_grid_equal(&c[0].grid, &B));
    assert_true(arc_grid_equal(&c[1].grid, &A));
    arc_eval_free(ev);
}

/* An untrained model's prediction crops to an empty grid: as the first
 * grid stored, its zero cells once went to memcpy(NULL, ..., 0), which
 * UBSan (make sanitize) rejects. */
static void test_empty_first_candidate(void **state) {
    (void)state;
    arc_eval *ev = two_tasks();
    arc_grid empty = G(0, 0, ""), A = G(1, 1, "4");
    arc_eval_add_grid(ev, "aa", &IN2, &empty, 0.5);
    arc_eval_add_grid(ev, "aa", &IN2, &A, 0.4);
    arc_candidate c[2];
    assert_int_equal(arc_eval_ranked(ev, 0, 1, c, 2), 2);
    assert_int_equal(c[0].grid.rows, 0);
    assert_int_equal(c[0].grid.cols, 0);
    assert_true(arc_grid_equal(&c[1].grid, &A));
    arc_eval_free(ev);
}

static void test_pass_at_k_fractions_and_missing(void **state) {
    (void)state;
    arc_eval *ev = two_tasks();
    arc_grid T1 = G(1, 1, "1"), T2 = G(1, 2, "22"), X = G(1, 1, "8"), Y = G(1, 1, "9");
    /* input 1 of "aa": the truth wins the vote */
    arc_eval_add_grid(ev, "aa", &IN1, &T1, 0.5);
    arc_eval_add_grid(ev, "aa", &IN1, &T1, 0.5);
    arc_eval_add_grid(ev, "aa", &IN1, &X, 0.9);
    /* input 2 of "aa": the truth ranks third */
    arc_eval_add_grid(ev, "aa", &IN2, &X, 0.9);
    arc_eval_add_grid(ev, "aa", &IN2, &X, 0.9);
    arc_eval_add_grid(ev, "aa", &IN2, &Y, 0.8);
    arc_eval_add_grid(ev, "aa", &IN2, &T2, 0.1);
    /* a row for an input that is not a test input of "aa" */
    arc_eval_add_grid(ev, "aa", &IN3, &T1, 0.5);
    /* "bb" gets nothing */
    arc_eval_result r;
    arc_eval_score(ev, &r);
    assert_int_equal(r.tasks, 2);
    assert_int_equal(r.test_inputs, 3);
    assert_int_equal(r.inputs_predicted, 2);
    assert_int_equal(r.rows, 8);
    assert_int_equal(r.unmatched, 1);
    /* task aa: 1/2 at K = 1, 2; 2/2 from K = 5; task bb: 0; mean of tasks */
    assert_true(fabs(r.pass[0] - 0.25) < 1e-12);
    assert_true(fabs(r.pass[1] - 0.25) < 1e-12);
    assert_true(fabs(r.pass[2] - 0.5) < 1e-12);
    assert_true(fabs(r.pass[5] - 0.5) < 1e-12);
    arc_eval_free(ev);
}

/* ---------------------------------------------------------------- submission */

static void expect_grid(const cJSON *j, const arc_grid *g) {
    assert_true(cJSON_IsArray(j));
    assert_int_equal(cJSON_GetArraySize(j), g->rows);
    for (int r = 0; r < g->rows; r++) {
        const cJSON *row = cJSON_GetArrayItem(j, r);
        assert_int_equal(cJSON_GetArraySize(row), g->cols);
        for (int c = 0; c < g->cols; c++) assert_int_equal(cJSON_GetArrayItem(row, c)->valueint, ARC_AT(g, r, c));
    }
}

static void test_submission_json(void **state) {
    (void)state;
    assert_int_equal(tu_make_dir("/tmp/trm_arceval_XXXXXX"), 0);
    arc_eval *ev = two_tasks();
    arc_grid A = G(2, 1, "12"), B = G(1, 1, "3");
    arc_eval_add_grid(ev, "aa", &IN1, &A, 0.4);
    arc_eval_add_grid(ev, "aa", &IN1, &A, 0.4);
    arc_eval_add_grid(ev, "aa", &IN1, &B, 0.9);
    arc_eval_add_grid(ev, "aa", &IN2, &B, 0.3);   /* one candidate: repeated */
    trm_err e;
    const char *path = tpath("submission.json");
    assert_int_equal(arc_eval_write_submission(ev, path, &e), 0);
    FILE *f = fopen(path, "r");
    assert_non_null(f);
    char buf[4096];
    size_t n = fread(buf, 1, sizeof buf - 1, f);
    fclose(f);
    buf[n] = 0;
    cJSON *j = cJSON_Parse(buf);
    assert_non_null(j);
    assert_int_equal(cJSON_GetArraySize(j), 2);
    assert_string_equal(j->child->string, "aa");     /* test_puzzles.json order */
    const cJSON *aa = cJSON_GetObjectItem(j, "aa"), *bb = cJSON_GetObjectItem(j, "bb");
    assert_int_equal(cJSON_GetArraySize(aa), 2);
    expect_grid(cJSON_GetObjectItem(cJSON_GetArrayItem(aa, 0), "attempt_1"), &A);
    expect_grid(cJSON_GetObjectItem(cJSON_GetArrayItem(aa, 0), "attempt_2"), &B);
    expect_grid(cJSON_GetObjectItem(cJSON_GetArrayItem(aa, 1), "attempt_1"), &B);
    expect_grid(cJSON_GetObjectItem(cJSON_GetArrayItem(aa, 1), "attempt_2"), &B);
    arc_grid zero = G(1, 1, "0");   /* no prediction: [[0]] keeps the list aligned */
    assert_int_equal(cJSON_GetArraySize(bb), 1);
    expect_grid(cJSON_GetObjectItem(cJSON_GetArrayItem(bb, 0), "attempt_1"), &zero);
    expect_grid(cJSON_GetObjectItem(cJSON_GetArrayItem(bb, 0), "attempt_2"), &zero);
    cJSON_Delete(j);
    /* an unwritable path is an error naming it, and nothing is left */
    assert_int_equal(arc_eval_write_submission(ev, tpath("nodir/s.json"), &e), -1);
    assert_contains(e.msg, "nodir");
    arc_eval_free(ev);
    tu_remove_dir();
}

/* ---------------------------------------------------------------- names */

static void test_names_and_inverse_round_trip(void **state) {
    (void)state;
    const arc_grid g = G(2, 3, "012345");
    uint8_t perm[10] = {0, 3, 1, 2, 9, 8, 7, 6, 5, 4};
    for (int t = 0; t < 8; t++) {
        char name[128], id[64];
        assert_true(arc_version_name("0a1b2c3d", t, perm, name, sizeof name) > 0);
        arc_grid aug, back;
        arc_aug_apply(&g, t, perm, &aug);
        int32_t tok[ARC_SEQ_LEN];
        arc_encode(&aug, 0, 0, tok);
        trm_err e;
        assert_int_equal(arc_eval_invert_board(name, tok, id, sizeof id, &back, &e), 0);
        assert_string_equal(id, "0a1b2c3d");
        assert_true(arc_grid_equal(&back, &g));
    }
    /* the bare id is the original */
    int32_t tok[ARC_SEQ_LEN];
    arc_encode(&g, 0, 0, tok);
    char id[64];
    arc_grid back;
    trm_err e;
    assert_int_equal(arc_eval_invert_board("0a1b2c3d", tok, id, sizeof id, &back, &e), 0);
    assert_true(arc_grid_equal(&back, &g));
    assert_int_equal(arc_eval_invert_board("x|||t9|||0123456789", tok, id, sizeof id, &back, &e), -1);
    assert_contains(e.msg, "x|||t9|||0123456789");
    assert_int_equal(arc_eval_invert_board("x|||t1|||0123456788", tok, id, sizeof id, &back, &e), -1);
}

/* Rows of augmented versions vote for the original's test input. */
static void test_add_rows_by_puzzle_id(void **state) {
    (void)state;
    arc_set s = {0};
    arc_grid ins[1] = {IN1}, outs[1] = {G(1, 2, "78")};
    add_task(&s, "cc", 1, ins, outs);
    uint8_t perm[10] = {0, 2, 1, 3, 4, 5, 6, 7, 8, 9};
    char v1[64];
    arc_version_name("cc", 1, perm, v1, sizeof v1);
    const char *const list[] = {"<blank>", "cc", v1, "other"};
    arc_names nm = names_of(4, list);
    trm_err e;
    arc_eval *ev = arc_eval_new(&nm, &s, &e);
    assert_non_null(ev);
    int32_t in0[ARC_SEQ_LEN], pr0[ARC_SEQ_LEN], in1[ARC_SEQ_LEN], pr1[ARC_SEQ_LEN];
    arc_grid ai, ao;
    arc_encode(&IN1, 0, 0, in0);
    arc_encode(&outs[0], 0, 0, pr0);
    arc_aug_apply(&IN1, 1, perm, &ai);
    arc_aug_apply(&outs[0], 1, perm, &ao);
    arc_encode(&ai, 0, 0, in1);
    arc_encode(&ao, 0, 0, pr1);
    assert_int_equal(arc_eval_add(ev, 1, in0, pr0, 0.0f, &e), 0);
    assert_int_equal(arc_eval_add(ev, 2, in1, pr1, 2.0f, &e), 0);
    assert_int_equal(arc_eval_add(ev, 0, in1, pr0, 0.0f, &e), 0);     /* padding: skipped */
    assert_int_equal(arc_eval_add(ev, 4, in1, pr0, 0.0f, &e), -1);    /* not in identifiers */
    assert_contains(e.msg, "puzzle id 4");
    /* through the trm_evaluate row callback as well */
    trm_eval_row row = {0, in1, pr1, 2, pr1, -2.0f};
    assert_int_equal(arc_eval_on_row(ev, &row, &e), 0);
    arc_candidate c[2];
    assert_int_equal(arc_eval_ranked(ev, 0, 0, c, 2), 1);
    assert_int_equal(c[0].votes, 3);
    double want = (0.5 + 1.0 / (1.0 + exp(-2.0)) + 1.0 / (1.0 + exp(2.0))) / 3.0;
    assert_true(fabs(c[0].conf - want) < 1e-12);
    arc_eval_result r;
    arc_eval_score(ev, &r);
    assert_true(r.pass[0] == 1.0 && r.rows == 3);
    arc_eval_free(ev);
}

static void test_open_reads_files_and_reports_errors(void **state) {
    (void)state;
    assert_int_equal(tu_make_dir("/tmp/trm_arceval_XXXXXX"), 0);
    trm_err e;
    assert_null(arc_eval_open(tu_dir, &e));
    assert_contains(e.msg, "identifiers.json");
    FILE *f = fopen(tpath("identifiers.json"), "w");
    fputs("[\"<blank>\", 3]", f);
    fclose(f);
    assert_null(arc_eval_open(tu_dir, &e));
    assert_contains(e.msg, "entry 1");
    f = fopen(tpath("identifiers.json"), "w");
    fputs("[\"<blank>\", \"t1\", \"t1|||t2|||0213456789\"]", f);
    fclose(f);
    f = fopen(tpath("test_puzzles.json"), "w");
    fputs("{\"t1\": {\"train\": [{\"input\": [[1]], \"output\": [[2]]}], \"test\": [{\"input\": [[1, 2]], \"output\": [[3]]}]}}", f);
    fclose(f);
    arc_eval *ev = arc_eval_open(tu_dir, &e);
    if (!ev) fail_msg("%s", e.msg);
    assert_int_equal(arc_eval_tests(ev)->n, 1);
    assert_int_equal(arc_eval_tests(ev)->tasks[0].n_test, 1);
    arc_grid in = G(1, 2, "12"), out = G(1, 1, "3");
    arc_eval_add_grid(ev, "t1", &in, &out, 0.7);
    arc_eval_result r;
    arc_eval_score(ev, &r);
    assert_true(r.pass[0] == 1.0);
    arc_eval_free(ev);
    tu_remove_dir();
}

/* ---------------------------------------------------------------- the per-row callback */

#define S 16
#define V 6
#define NEX 5

static trm_model *tiny_model(int n_ids) {
    trm_config c;
    trm_err e;
    assert_int_equal(trm_config_preset(&c, "tiny", &e), 0);
    c.hidden_size = 16;
    c.num_heads = 2;
    c.puzzle_emb_ndim = 16;
    c.vocab_size = V;
    c.seq_len = S;
    c.num_puzzle_identifiers = n_ids;
    c.halt_max_steps = 2;
    trm_model *m = trm_model_new(&c, 7, &e);
    assert_non_null(m);
    return m;
}

static void write_split(const char *dir) {
    trm_err e;
    trm_split_writer *w = split_writer_new(S, V);
    for (int i = 0; i < NEX; i++) {
        int32_t in[S], lab[S];
        for (int t = 0; t < S; t++) { in[t] = 1 + (i + t) % 5; lab[t] = 1 + (i * t) % 5; }
        assert_int_equal(split_writer_group(w, &e), 0);
        assert_int_equal(split_writer_puzzle(w, i + 1, &e), 0);
        assert_int_equal(split_writer_example(w, in, lab, &e), 0);
    }
    assert_int_equal(split_writer_finish(w, dir, "test", NEX + 1, &e), 0);
    split_writer_free(w);
}

typedef struct {
    int calls;
    int64_t index[NEX];
    int32_t pid[NEX];
    int exact;
    int fail_at;
    const trm_split *split;
} rows_seen;

static int collect(void *ctx, const trm_eval_row *r, trm_err *err) {
    rows_seen *s = ctx;
    if (s->calls == s->fail_at) return trm_errf(err, "stop at row %d", s->calls);
    int32_t in[S], lab[S];
    trm_split_example(s->split, r->index, in, lab);
    assert_memory_equal(in, r->input, sizeof in);
    assert_memory_equal(lab, r->label, sizeof lab);
    bool ok = true;
    for (int t = 0; t < S; t++) {
        assert_true(r->pred[t] >= 0 && r->pred[t] < V);
        ok &= r->pred[t] == r->label[t];
    }
    s->exact += ok;
    s->index[s->calls] = r->index;
    s->pid[s->calls++] = r->puzzle_id;
    return 0;
}

/* A batch solver that answers with the labels: exact accuracy 1. */
static int oracle(void *ctx, trm_model *m, trm_act *a, const trm_batch *bt, int steps, int32_t *pred,
                  float *q, trm_err *err) {
    (*(int *)ctx)++;
    trm_act_reset(a);
    if (trm_act_step(m, a, bt, NULL, err)) return -1;
    (void)steps;
    for (int i = 0; i < bt->batch * S; i++) pred[i] = bt->labels[i] < 0 ? 0 : bt->labels[i];
    for (int b = 0; b < bt->batch; b++) q[b] = 1.0f;
    return 0;
}

static void test_eval_row_callback(void **state) {
    (void)state;
    assert_int_equal(tu_make_dir("/tmp/trm_arceval_XXXXXX"), 0);
    write_split(tu_dir);
    trm_err e;
    trm_split *sp = trm_split_open(tu_dir, "test", &e);
    assert_non_null(sp);
    trm_model *m = tiny_model(NEX + 1);
    rows_seen seen = {.fail_at = -1, .split = sp};
    /* batch 2 over 5 examples: the last batch has a padding row, never shown */
    trm_eval_opts o = {.steps = 2, .batch = 2, .on_row = collect, .row_ctx = &seen};
    trm_eval_result r, plain;
    assert_int_equal(trm_evaluate_opts(m, sp, &o, &r, &e), 0);
    assert_int_equal(seen.calls, NEX);
    for (int i = 0; i < NEX; i++) { assert_int_equal(seen.index[i], i); assert_int_equal(seen.pid[i], i + 1); }
    assert_true(fabs(r.exact_accuracy - (double)seen.exact / NEX) < 1e-12);
    /* the old entry point gives the same numbers */
    assert_int_equal(trm_evaluate(m, sp, 2, 2, 0, true, &plain, &e), 0);
    assert_true(plain.exact_accuracy == r.exact_accuracy && plain.accuracy == r.accuracy &&
                plain.lm_loss == r.lm_loss && plain.examples == NEX);
    assert_non_null(plain.exact_by_step);
    assert_true(plain.exact_by_step[1] == r.exact_accuracy);
    trm_eval_result_free(&plain);
    /* an error from the callback stops the evaluation with its message */
    rows_seen stop = {.fail_at = 3, .split = sp};
    o.row_ctx = &stop;
    assert_int_equal(trm_evaluate_opts(m, sp, &o, &r, &e), -1);
    assert_contains(e.msg, "stop at row 3");
    /* the batch-solver hook replaces the recursion */
    int batches = 0;
    rows_seen s2 = {.fail_at = -1, .split = sp};
    trm_eval_opts o2 = {.steps = 2, .batch = 2, .on_row = collect, .row_ctx = &s2, .solve = oracle, .solve_ctx = &batches};
    assert_int_equal(trm_evaluate_opts(m, sp, &o2, &r, &e), 0);
    assert_int_equal(batches, 3);
    assert_true(r.exact_accuracy == 1.0 && r.q_halt_accuracy == 1.0 && s2.exact == NEX);
    o2.per_step = true;
    assert_int_equal(trm_evaluate_opts(m, sp, &o2, &r, &e), -1);
    trm_model_free(m);
    trm_split_close(sp);
    tu_remove_dir();
}

/* ---------------------------------------------------------------- the whole loop on ARC rows */

/* A dataset as the builder lays out a test split: versions of one task,
 * each its own puzzle id, test input at (0, 0), label the output. */
static void write_arc_split(const char *dir, const arc_grid *in, const arc_grid *out, int n_ver,
                            const int *ts, const uint8_t perms[][10]) {
    trm_err e;
    trm_split_writer *w = split_writer_new(ARC_SEQ_LEN, ARC_VOCAB);
    assert_int_equal(split_writer_group(w, &e), 0);
    for (int v = 0; v < n_ver; v++) {
        arc_grid ai, ao;
        arc_aug_apply(in, ts[v], perms[v], &ai);
        arc_aug_apply(out, ts[v], perms[v], &ao);
        int32_t ti[ARC_SEQ_LEN], tl[ARC_SEQ_LEN];
        arc_encode(&ai, 0, 0, ti);
        arc_encode(&ao, 0, 0, tl);
        assert_int_equal(split_writer_puzzle(w, v + 1, &e), 0);
        assert_int_equal(split_writer_example(w, ti, tl, &e), 0);
    }
    assert_int_equal(split_writer_finish(w, dir, "test", n_ver + 1, &e), 0);
    split_writer_free(w);
}

/* Answers with the labels (ignored cells -> PAD), confidence from q. */
static int label_oracle(void *ctx, trm_model *m, trm_act *a, const trm_batch *bt, int steps,
                        int32_t *pred, float *q, trm_err *err) {
    (void)ctx; (void)m; (void)a; (void)steps; (void)err;
    for (int i = 0; i < bt->batch * ARC_SEQ_LEN; i++) pred[i] = bt->labels[i] < 0 ? 0 : bt->labels[i];
    for (int b = 0; b < bt->batch; b++) q[b] = 0.0f;
    return 0;
}

/* trm_eval_opts.on_row over a task's scorer. */
typedef struct {
    const trm_task *t;
    trm_task_scorer *s;
} scorer_rows;

static int scorer_row(void *ctx, const trm_eval_row *row, trm_err *err) {
    scorer_rows *c = ctx;
    return c->t->scorer->add(c->s, row, err);
}

static void test_eval_loop_feeds_arc_votes(void **state) {
    (void)state;
    assert_int_equal(tu_make_dir("/tmp/trm_arceval_XXXXXX"), 0);
    const arc_grid in = G(2, 3, "120034"), out = G(3, 2, "560789");
    enum { NV = 5 };
    const int ts[NV] = {0, 1, 3, 6, 7};
    const uint8_t perms[NV][10] = {{0, 1, 2, 3, 4, 5, 6, 7, 8, 9}, {0, 9, 8, 7, 6, 5, 4, 3, 2, 1},
                                   {0, 2, 1, 4, 3, 6, 5, 8, 7, 9}, {0, 5, 6, 7, 8, 9, 1, 2, 3, 4},
                                   {0, 3, 1, 2, 5, 4, 9, 8, 6, 7}};
    write_arc_split(tu_dir, &in, &out, NV, ts, perms);
    char names_buf[NV][64];
    const char *list[NV + 1] = {"<blank>"};
    for (int v = 0; v < NV; v++) {
        if (v == 0) snprintf(names_buf[v], sizeof names_buf[v], "t0");
        else arc_version_name("t0", ts[v], perms[v], names_buf[v], sizeof names_buf[v]);
        list[v + 1] = names_buf[v];
    }
    arc_set s = {0};
    add_task(&s, "t0", 1, &in, &out);
    arc_names nm = names_of(NV + 1, list);
    trm_err e;
    arc_eval *ev = arc_eval_new(&nm, &s, &e);
    trm_split *sp = trm_split_open(tu_dir, "test", &e);
    assert_non_null(sp);
    trm_config c;
    assert_int_equal(trm_config_preset(&c, "tiny", &e), 0);
    c.hidden_size = 16; c.num_heads = 2; c.puzzle_emb_ndim = 16;
    c.vocab_size = ARC_VOCAB; c.seq_len = ARC_SEQ_LEN; c.num_puzzle_identifiers = NV + 1;
    trm_model *m = trm_model_new(&c, 1, &e);
    assert_non_null(m);
    /* batch 4 over 5 rows: three padding rows, none of them voting */
    trm_eval_opts o = {.steps = 1, .batch = 4, .on_row = arc_eval_on_row, .row_ctx = ev, .solve = label_oracle};
    trm_eval_result r;
    assert_int_equal(trm_evaluate_opts(m, sp, &o, &r, &e), 0);
    arc_eval_result sc;
    arc_eval_score(ev, &sc);
    assert_int_equal(sc.rows, NV);
    assert_int_equal(sc.unmatched, 0);
    assert_true(sc.pass[0] == 1.0);
    arc_candidate top[1];
    assert_int_equal(arc_eval_ranked(ev, 0, 0, top, 1), 1);   /* every version inverts to one grid */
    assert_int_equal(top[0].votes, NV);
    assert_true(fabs(top[0].conf - 0.5) < 1e-12);
    arc_eval_free(ev);

    /* the same through the task table's scorer (what trm eval uses) */
    FILE *f = fopen(tpath("identifiers.json"), "w");
    for (int v = 0; v <= NV; v++) fprintf(f, "%s\"%s\"", v ? ", " : "[", list[v]);
    fputs("]", f);
    fclose(f);
    f = fopen(tpath("test_puzzles.json"), "w");
    fputs("{\"t0\": {\"train\": [{\"input\": [[1]], \"output\": [[2]]}], \"test\": [{\"input\": [[1, 2, 0], [0, 3, 4]], "
          "\"output\": [[5, 6], [0, 7], [8, 9]]}]}}", f);
    fclose(f);
    const trm_task *t = trm_task_detect(ARC_VOCAB, ARC_SEQ_LEN);
    assert_non_null(t);
    assert_non_null(t->scorer);
    assert_true(t->scorer->accepts(tu_dir, trm_split_meta(sp)));
    trm_dataset_meta other = *trm_split_meta(sp);
    other.vocab_size = 11;
    assert_false(t->scorer->accepts(tu_dir, &other));
    for (const trm_task *const *o2 = task_list(); *o2; o2++) /* only ARC scores datasets */
        if (*o2 != t) assert_null((*o2)->scorer);
    scorer_rows sr = {t, t->scorer->open(tu_dir, &e)};
    if (!sr.s) fail_msg("%s", e.msg);
    o.on_row = scorer_row, o.row_ctx = &sr;
    assert_int_equal(trm_evaluate_opts(m, sp, &o, &r, &e), 0);
    char *json = NULL;
    size_t len = 0;
    FILE *mem = open_memstream(&json, &len);
    fputs("{\"x\":1", mem);
    t->scorer->print_json(sr.s, mem, 1, NULL);
    fputs("}", mem);
    fclose(mem);
    cJSON *j = cJSON_Parse(json);
    if (!j) fail_msg("not JSON: %s", json);
    cJSON *arc = cJSON_GetObjectItem(j, "arc");
    assert_non_null(arc);
    assert_true(cJSON_GetObjectItem(arc, "pass@1")->valuedouble == 1.0);
    assert_int_equal(cJSON_GetObjectItem(arc, "rows")->valueint, NV);
    assert_int_equal(cJSON_GetObjectItem(arc, "checkpoints_pooled")->valueint, 1);
    cJSON_Delete(j);
    free(json);
    assert_int_equal(t->scorer->write_submission(sr.s, tpath("sub.json"), &e), 0);
    struct stat st;
    assert_int_equal(stat(tpath("sub.json"), &st), 0);
    t->scorer->free(sr.s);
    trm_model_free(m);
    trm_split_close(sp);
    tu_remove_dir();
}

/* ---------------------------------------------------------------- mapped puzzle table */

static void test_checkpoint_maps_puzzle_table(void **state) {
    (void)state;
    assert_int_equal(tu_make_dir("/tmp/trm_arceval_XXXXXX"), 0);
    trm_model *m = tiny_model(5000);
    for (int64_t i = 0; i < 5000LL * 16; i++) m->puzzle_emb[i] = (float)i * 0.5f;
    trm_err e;
    const char *path = tpath("ck.safetensors");
    assert_int_equal(trm_checkpoint_save(m, path, &e), 0);
    trm_model *l = trm_checkpoint_load(path, &e);
    assert_non_null(l);
    assert_non_null(l->mapping);
    assert_true((const char *)l->puzzle_emb >= (const char *)l->mapping &&
                (const char *)l->puzzle_emb < (const char *)l->mapping + l->mapping_size);
    assert_true(trm_model_find(l, "puzzle_emb.weights")->data == l->puzzle_emb);
    assert_memory_equal(l->puzzle_emb, m->puzzle_emb, sizeof(float) * 5000 * 16);
    assert_memory_equal(l->lm_head, m->lm_head, sizeof(float) * V * 16);
    /* copy-on-write: writable in memory, the file unchanged */
    l->puzzle_emb[17] = -1.0f;
    trm_model *l2 = trm_checkpoint_load(path, &e);
    assert_non_null(l2);
    assert_true(l2->puzzle_emb[17] == m->puzzle_emb[17]);
    trm_model_free(l2);
    trm_model_free(l);
    trm_model_free(m);
    tu_remove_dir();
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_vote_order_and_mean_confidence),
        cmocka_unit_test(test_full_tie_keeps_first_seen),
        cmocka_unit_test(test_empty_first_candidate),
        cmocka_unit_test(test_pass_at_k_fractions_and_missing),
        cmocka_unit_test(test_submission_json),
        cmocka_unit_test(test_names_and_inverse_round_trip),
        cmocka_unit_test(test_add_rows_by_puzzle_id),
        cmocka_unit_test(test_open_reads_files_and_reports_errors),
        cmocka_unit_test(test_eval_row_callback),
        cmocka_unit_test(test_eval_loop_feeds_arc_votes),
        cmocka_unit_test(test_checkpoint_maps_puzzle_table),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
