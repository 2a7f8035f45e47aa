/* test_train.c - training through the public API only (trm.h): progress,
 * evaluation and start/end reports come through callbacks, the caller's
 * stop flag saves a resumable state, and the library itself writes nothing
 * to stderr or stdout. Also the one key=value mechanism of the arch and
 * training configs (core/keyval) and its messages. The dataset is built by
 * the 4x4 Sudoku builder (setup only; the training uses trm.h alone). */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "trm.h"
#include "tasks/sudoku4.h"
#include "testutil.h"

/* ---------------------------------------------------------------- helpers */

typedef struct {
    int64_t progress[64];
    int n_progress;
    trm_train_event events[8];
    int n_events;
    trm_train_eval evals[8];
    int n_evals;
    int n_eval_progress;
    volatile sig_atomic_t stop;
    int64_t stop_at_step;   /* raise stop at this progress step (0: never) */
    bool stop_in_eval;      /* raise stop at the first evaluated batch */
} recorder;

static void rec_progress(void *ctx, const trm_train_progress *p) {
    recorder *r = ctx;
    if (r->n_progress < 64) r->progress[r->n_progress++] = p->step;
    assert_true(p->end_step >= p->step);
    assert_true(p->examples_per_s > 0);
    if (r->stop_at_step && p->step == r->stop_at_step) r->stop = 1;
}

static void rec_event(void *ctx, const trm_train_event *e) {
    recorder *r = ctx;
    if (r->n_events < 8) r->events[r->n_events++] = *e;
}

static void rec_eval(void *ctx, const trm_train_eval *e) {
    recorder *r = ctx;
    if (r->n_evals < 8) r->evals[r->n_evals++] = *e;
}

static void rec_eval_progress(void *ctx, const trm_train_eval_progress *p) {
    recorder *r = ctx;
    r->n_eval_progress++;
    assert_true(p->seen <= p->total);
    if (r->stop_in_eval && p->seen > 0) r->stop = 1;
}

static trm_train_run_opts opts_for(recorder *r, const char *out, bool resume) {
    trm_train_run_opts o = {.data_dir = tpath("data"), .out_dir = out, .resume = resume, .stop = &r->stop};
    o.cb = (trm_train_callbacks){r, rec_event, rec_progress, rec_eval_progress, rec_eval};
    return o;
}

static void small_arch(trm_config *c) {
    trm_err e;
    trm_config_default(c);
    const char *kv[][2] = {{"hidden_size", "16"}, {"num_heads", "2"}, {"expansion", "2"}, {"L_layers", "1"},
                           {"H_cycles", "1"}, {"L_cycles", "1"}, {"halt_max_steps", "2"},
                           {"puzzle_emb_ndim", "16"}, {"puzzle_emb_len", "1"}};
    for (size_t i = 0; i < sizeof kv / sizeof kv[0]; i++) assert_int_equal(trm_config_set(c, kv[i][0], kv[i][1], &e), 0);
}

static void small_train(trm_train_config *tc) {
    trm_train_config_default(tc);
    tc->global_batch_size = 8;
    tc->epochs = 4;
    tc->eval_interval = 0;   /* evaluate at the last step */
    tc->max_steps = 6;
    tc->log_every = 1;
    tc->eval_max_examples = 8;
    tc->optim.lr_warmup_steps = 2;
}

/* Runs trm_train_run with fds 1 and 2 sent to a file; returns its rc and
 * asserts the file stayed empty. */
static int run_silent(const trm_train_config *tc, const trm_train_run_opts *o, trm_err *e) {
    trm_config arch;
    small_arch(&arch);
    fflush(stdout);
    fflush(stderr);
    int saved1 = dup(1), saved2 = dup(2), fd = open(tpath("output"), O_WRONLY | O_CREAT | O_TRUNC, 0644);
    assert_true(saved1 >= 0 && saved2 >= 0 && fd >= 0);
    dup2(fd, 1);
    dup2(fd, 2);
    int rc = trm_train_run(&arch, tc, o, e);
    fflush(stdout);
    fflush(stderr);
    dup2(saved1, 1);
    dup2(saved2, 2);
    close(saved1);
    close(saved2);
    struct stat st;
    assert_int_equal(fstat(fd, &st), 0);
    close(fd);
    if (st.st_size != 0) fail_msg("trm_train_run wrote %lld bytes to stdout/stderr", (long long)st.st_size);
    return rc;
}

static bool same_file(const char *a, const char *b) {
    FILE *fa = fopen(a, "rb"), *fb = fopen(b, "rb");
    bool same = fa && fb;
    int ca = 0, cb = 0;
    while (same && ca != EOF) {
        ca = fgetc(fa);
        cb = fgetc(fb);
        same = ca == cb;
    }
    if (fa) fclose(fa);
    if (fb) fclose(fb);
    return same;
}

/* ---------------------------------------------------------------- training */

static void test_progress_and_events(void **state) {
    (void)state;
    recorder r = {0};
    trm_train_config tc;
    small_train(&tc);
    trm_train_run_opts o = opts_for(&r, tpath("straight"), false);
    trm_err e;
    if (run_silent(&tc, &o, &e)) fail_msg("%s", e.msg);
    assert_int_equal(r.n_progress, 6);
    for (int i = 0; i < r.n_progress; i++) assert_int_equal(r.progress[i], i + 1); /* every step, increasing */
    assert_int_equal(r.n_events, 2);
    assert_int_equal(r.events[0].kind, TRM_TRAIN_STARTED);
    assert_false(r.events[0].resumed);
    assert_int_equal(r.events[0].step, 0);
    assert_true(r.events[0].num_params > 0);
    assert_int_equal(r.events[1].kind, TRM_TRAIN_DONE);
    assert_int_equal(r.events[1].step, 6);
    assert_int_equal(r.n_evals, 1);
    assert_true(r.evals[0].evaluated && !r.evals[0].stopped);
    assert_int_equal(r.evals[0].step, 6);
    assert_int_equal(r.evals[0].examples, 8);
    assert_true(r.n_eval_progress >= 2); /* the start (seen 0) and each batch */
    struct stat st;
    assert_int_equal(stat(tpath("straight/checkpoint.safetensors"), &st), 0);
    assert_int_equal(stat(tpath("straight/curves.svg"), &st), -1); /* drawing is the caller's */
}

/* The stop flag ends the run after the step at hand with a saved state
 * that resumes to the same model as the uninterrupted run. */
static void test_stop_flag_resumes(void **state) {
    (void)state;
    recorder r = {.stop_at_step = 3};
    trm_train_config tc;
    small_train(&tc);
    trm_train_run_opts o = opts_for(&r, tpath("stopped"), false);
    trm_err e;
    if (run_silent(&tc, &o, &e)) fail_msg("%s", e.msg);
    assert_int_equal(r.n_progress, 3);
    assert_int_equal(r.n_evals, 0);
    assert_int_equal(r.events[r.n_events - 1].kind, TRM_TRAIN_INTERRUPTED);
    assert_int_equal(r.events[r.n_events - 1].step, 3);

    recorder r2 = {0};
    o = opts_for(&r2, tpath("stopped"), true);
    if (run_silent(&tc, &o, &e)) fail_msg("%s", e.msg);
    assert_int_equal(r2.events[0].kind, TRM_TRAIN_STARTED);
    assert_true(r2.events[0].resumed);
    assert_int_equal(r2.events[0].step, 3);
    assert_int_equal(r2.progress[0], 4);
    assert_int_equal(r2.events[r2.n_events - 1].kind, TRM_TRAIN_DONE);
    assert_true(same_file(tpath("stopped/checkpoint.safetensors"), tpath("straight/checkpoint.safetensors")));
}

/* A stop during an evaluation ends it at the next batch: reported as
 * stopped (partial), and the run saves and ends. */
static void test_stop_during_eval(void **state) {
    (void)state;
    recorder r = {.stop_in_eval = true};
    trm_train_config tc;
    small_train(&tc);
    tc.eval_batch_size = 1;
    trm_train_run_opts o = opts_for(&r, tpath("eval_stop"), false);
    trm_err e;
    if (run_silent(&tc, &o, &e)) fail_msg("%s", e.msg);
    assert_int_equal(r.n_evals, 1);
    assert_true(r.evals[0].evaluated && r.evals[0].stopped);
    assert_int_equal(r.events[r.n_events - 1].kind, TRM_TRAIN_INTERRUPTED);
    struct stat st;
    assert_int_equal(stat(tpath("eval_stop/state.safetensors"), &st), 0);
}

/* Without callbacks or a stop flag the run still trains (all optional). */
static void test_no_callbacks(void **state) {
    (void)state;
    trm_train_config tc;
    small_train(&tc);
    tc.max_steps = 2;
    trm_train_run_opts o = {.data_dir = tpath("data"), .out_dir = tpath("bare")};
    trm_err e;
    if (run_silent(&tc, &o, &e)) fail_msg("%s", e.msg);
}

static void test_run_error_message(void **state) {
    (void)state;
    recorder r = {0};
    trm_train_config tc;
    small_train(&tc);
    trm_train_run_opts o = opts_for(&r, tpath("nodata"), false);
    o.data_dir = tpath("nowhere");
    trm_err e;
    assert_int_equal(run_silent(&tc, &o, &e), -1);
    assert_contains(e.msg, "nowhere");
    assert_int_equal(r.n_events, 0);
}

/* ---------------------------------------------------------------- config keys */

static void expect_err(int rc, const trm_err *e, const char *msg) {
    assert_int_equal(rc, -1);
    assert_string_equal(e->msg, msg);
}

static void test_train_keys(void **state) {
    (void)state;
    trm_train_config tc;
    trm_err e;
    trm_train_config_default(&tc);
    assert_int_equal(trm_train_config_set(&tc, "hidden_size", "8", &e), 1); /* not a training key */
    expect_err(trm_train_config_set(&tc, "lr", "-1", &e), &e, "training field lr: expected a non-negative number, got '-1'");
    expect_err(trm_train_config_set(&tc, "log_every", "1.5", &e), &e, "training field log_every: expected an integer, got '1.5'");
    expect_err(trm_train_config_set(&tc, "global_batch_size", "0", &e), &e, "training field global_batch_size: expected >= 1");
    expect_err(trm_train_config_set(&tc, "beta1", "1", &e), &e, "training field beta1: expected a number in [0, 1), got '1'");
    expect_err(trm_train_config_set(&tc, "replay_failures", "1.5", &e), &e,
               "training field replay_failures: expected a fraction in [0, 1], got '1.5'");
    expect_err(trm_train_config_set(&tc, "step_weight", "0", &e), &e, "training field step_weight: expected a number > 0, got '0'");
    expect_err(trm_train_config_set(&tc, "loss_type", "l2", &e), &e, "training field loss_type: expected stablemax or softmax, got 'l2'");
    expect_err(trm_train_config_set(&tc, "muon_adam", "muon", &e), &e,
               "training field muon_adam: expected adamw or adam_atan2, got 'muon'");
    expect_err(trm_train_config_set(&tc, "ema", "yes", &e), &e, "training field ema: expected true or false, got 'yes'");
    expect_err(trm_train_config_set(&tc, "halt_schedule", "0:2000", &e), &e,
               "training field halt_schedule: phase 1: N=2000 out of range 1..1024");
    assert_int_equal(tc.global_batch_size, 768); /* a refused value changes nothing */
    assert_int_equal(trm_train_config_set(&tc, "loss_type", "softmax_cross_entropy", &e), 0);
    assert_int_equal(tc.loss_type, TRM_LOSS_SOFTMAX);
    assert_int_equal(trm_train_config_set(&tc, "nocarry_warmup", "auto", &e), 0);
    assert_int_equal(tc.nocarry_warmup, -1);
    /* a seed takes all 64 bits (UINT64_MAX was refused), and 1e3 is a thousand
     * (it was read as 1) */
    assert_int_equal(trm_train_config_set(&tc, "seed", "18446744073709551615", &e), 0);
    assert_true(tc.seed == UINT64_MAX);
    expect_err(trm_train_config_set(&tc, "seed", "18446744073709551616", &e), &e,
               "training field seed: expected an integer, got '18446744073709551616'");
    assert_int_equal(trm_train_config_set(&tc, "seed", "1e3", &e), 0);
    assert_true(tc.seed == 1000);
    /* the optimizer keys set tc.optim */
    assert_int_equal(trm_train_config_set(&tc, "lr", "0.001", &e), 0);
    assert_true(tc.optim.lr == 0.001f);
    /* the key's names are the optimizer's own */
    for (int k = TRM_OPTIM_ADAM_ATAN2; k <= TRM_OPTIM_MUON; k++) {
        assert_int_equal(trm_train_config_set(&tc, "optimizer", trm_optimizer_name((trm_optimizer)k), &e), 0);
        assert_int_equal(tc.optim.optimizer, k);
    }
    char *json = trm_train_config_to_json(&tc);
    assert_contains(json, "\"lr\":0.001,");
    assert_contains(json, "\"seed\":1000,");
    assert_contains(json, "\"loss_type\":\"softmax\"");
    assert_contains(json, "\"nocarry_warmup\":\"auto\"");
    free(json);
}

/* The optimizer's defaults come from one place. */
static void test_optim_defaults(void **state) {
    (void)state;
    trm_train_config tc;
    trm_optim_config oc;
    trm_train_config_default(&tc);
    memset(&oc, 0, sizeof oc); /* padding compares equal too */
    trm_optim_config_default(&oc);
    assert_memory_equal(&tc.optim, &oc, sizeof oc);
}

static void test_arch_keys(void **state) {
    (void)state;
    trm_config c;
    trm_err e;
    trm_config_default(&c);
    expect_err(trm_config_set(&c, "hidden_size", "1.5", &e), &e, "config field hidden_size: expected an integer, got '1.5'");
    expect_err(trm_config_set(&c, "expansion", "x", &e), &e, "config field expansion: expected a number, got 'x'");
    expect_err(trm_config_set(&c, "pos_encodings", "x", &e), &e,
               "config field pos_encodings: expected rope, learned or none, got 'x'");
    assert_int_equal(trm_config_set(&c, "bogus", "1", &e), -1);
    assert_contains(e.msg, "unknown config field 'bogus' (expected one of: hidden_size, num_heads,");
    assert_int_equal(trm_config_set(&c, "num_heads", "-3", &e), 0); /* signed; validate refuses it */
    expect_err(trm_config_from_json(&c, "{\"pos_encodings\":\"x\"}", &e), &e,
               "config field pos_encodings: expected \"rope\", \"learned\" or \"none\"");
    expect_err(trm_config_from_json(&c, "{\"L_layers\":1.5}", &e), &e, "config field L_layers: expected an integer");
    assert_int_equal(trm_config_from_json(&c, "{\"pos_encodings\":\"learned\",\"rms_norm_eps\":1e-6}", &e), 0);
    assert_int_equal(c.pos_encodings, TRM_POS_LEARNED);
    char *json = trm_config_to_json(&c);
    assert_contains(json, "\"pos_encodings\":\"learned\"");
    assert_contains(json, "\"rms_norm_eps\":9.99999997e-07"); /* %.9g, as checkpoints have it */
    free(json);
}

static int setup(void **state) {
    (void)state;
    trm_err e;
    if (tu_make_dir("/tmp/trm_train_XXXXXX")) return -1;
    if (sudoku4_build(tpath("data"), 64, 16, 4, 1, &e)) {
        fprintf(stderr, "setup: %s\n", e.msg);
        return -1;
    }
    return 0;
}

static int teardown(void **state) {
    (void)state;
    return tu_remove_dir();
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_progress_and_events), cmocka_unit_test(test_stop_flag_resumes),
        cmocka_unit_test(test_stop_during_eval), cmocka_unit_test(test_no_callbacks),
        cmocka_unit_test(test_run_error_message), cmocka_unit_test(test_train_keys),
        cmocka_unit_test(test_optim_defaults), cmocka_unit_test(test_arch_keys),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
