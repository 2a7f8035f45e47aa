/* test_bind.c - the helpers for foreign callers (trm.h "bindings", what
 * python/trm uses): puzzles as text (trm_task_parse / trm_task_format),
 * heap configs, dataset builds by key (trm_build_args_*) and training
 * reported as JSON records with a stop by return value
 * (trm_train_run_json). */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tasks/task.h" /* the builders' key tables */
#include "testutil.h"
#include "trm.h"

static const char *Q9 = "........8..3...4...9..2..6.....79.......612...6.5.2.7...8...5...1.....2.4.5.....3";
static const char *A9 = "621943758783615492594728361142879635357461289869532174238197546916354827475286913";

TU_TMP_DIR_GROUP(group_setup, group_teardown, "/tmp/trm_bind_XXXXXX")

/* ---------------------------------------------------------------- text forms */

static void test_parse_format_round_trip(void **state) {
    (void)state;
    const trm_task *t = trm_task_by_name("sudoku");
    int32_t in[81], lab[81];
    bool has = true;
    trm_err e = {{0}};
    assert_int_equal(trm_task_parse(t, Q9, 81, in, lab, &has, &e), 0);
    assert_false(has);
    char text[200];
    assert_int_equal(trm_task_format(t, in, 81, text, sizeof text, &e), 0);
    assert_string_equal(text, Q9);
    /* "question,answer": the answer comes back as the label */
    char line[200];
    snprintf(line, sizeof line, "%s,%s", Q9, A9);
    assert_int_equal(trm_task_parse(t, line, 81, in, lab, &has, &e), 0);
    assert_true(has);
    assert_int_equal(trm_task_format(t, lab, 81, text, sizeof text, &e), 0);
    assert_string_equal(text, A9);
    /* no label buffer: parsed all the same */
    assert_int_equal(trm_task_parse(t, Q9, 81, in, NULL, NULL, &e), 0);
}

static void test_parse_format_errors(void **state) {
    (void)state;
    const trm_task *t = trm_task_by_name("sudoku");
    int32_t in[900];
    trm_err e = {{0}};
    assert_int_equal(trm_task_parse(t, "123", 81, in, NULL, NULL, &e), -1);
    assert_non_null(strstr(e.msg, "expected 81 cells"));
    assert_int_equal(trm_task_parse(t, Q9, 80, in, NULL, NULL, &e), -1);
    assert_string_equal(e.msg, "task sudoku has no board of 80 tokens");
    assert_int_equal(trm_task_parse(trm_task_by_name("arc"), "0", 900, in, NULL, NULL, &e), -1);
    assert_string_equal(e.msg, "task arc has no one-line puzzle form (its puzzles are files)");
    assert_int_equal(trm_task_parse(t, Q9, 81, in, NULL, NULL, &e), 0);
    char small[81];
    assert_int_equal(trm_task_format(t, in, 81, small, sizeof small, &e), -1);
    assert_string_equal(e.msg, "trm_task_format: 82 bytes of text do not fit a buffer of 81");
}

/* ---------------------------------------------------------------- heap configs */

static void test_config_new(void **state) {
    (void)state;
    trm_err e = {{0}};
    trm_config *c = trm_config_new("tiny", &e), ref;
    assert_non_null(c);
    assert_int_equal(trm_config_preset(&ref, "tiny", &e), 0);
    assert_memory_equal(c, &ref, sizeof ref);
    trm_free(c);
    assert_null(trm_config_new("nope", &e));
    assert_non_null(strstr(e.msg, "nope"));
    trm_train_config *tc = trm_train_config_new();
    assert_non_null(tc);
    assert_int_equal(trm_train_config_set(tc, "lr", "0.5", &e), 0);
    assert_true(tc->optim.lr == 0.5f);
    trm_free(tc);
    trm_free(NULL);
}

/* ---------------------------------------------------------------- builds by key */

static void test_build_args_errors(void **state) {
    (void)state;
    trm_err e = {{0}};
    assert_null(trm_build_args_new("chess", &e));
    assert_string_equal(e.msg, "unknown task 'chess' (expected sudoku, sudoku4, maze or arc)");
    trm_build_args *b = trm_build_args_new("sudoku4", &e);
    assert_non_null(b);
    assert_int_equal(trm_build_args_set(b, "blanks", "13", &e), -1);
    assert_string_equal(e.msg, "build option blanks: expected an integer in [1, 12], got '13'");
    assert_int_equal(trm_build_args_set(b, "num_aug", "3", &e), -1);
    assert_string_equal(e.msg, "build option num_aug: not an option of the sudoku4 builder");
    assert_int_equal(trm_build_args_set(b, "seed", "-1", &e), -1);
    assert_string_equal(e.msg, "build option seed: expected a non-negative integer, got '-1'");
    assert_int_equal(trm_build_args_set(b, "train_size", "x", &e), -1);
    trm_build_args_free(b);
    b = trm_build_args_new("maze", &e);
    assert_int_equal(trm_build_args_set(b, "aug", "maybe", &e), -1);
    assert_string_equal(e.msg, "build option aug: expected true, false, 1 or 0, got 'maybe'");
    trm_build_args_free(b);
    trm_build_args_free(NULL);
}

/* A family's own option given to another family's builder is refused,
 * naming the key and the builder. */
static void test_build_args_other_family(void **state) {
    (void)state;
    const char *cases[][3] = {
        {"arc", "aug", "build option aug: not an option of the arc builder"},
        {"maze", "blanks", "build option blanks: not an option of the maze builder"},
        {"maze", "num_aug", "build option num_aug: not an option of the maze builder"},
        {"sudoku", "input_prefix", "build option input_prefix: not an option of the sudoku builder"},
        {"sudoku4", "min_nodes", "build option min_nodes: not an option of the sudoku4 builder"},
        {"sudoku4", "aug", "build option aug: not an option of the sudoku4 builder"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        trm_err e = {{0}};
        trm_build_args *b = trm_build_args_new(cases[i][0], &e);
        assert_non_null(b);
        assert_int_equal(trm_build_args_set(b, cases[i][1], "1", &e), -1);
        assert_string_equal(e.msg, cases[i][2]);
        trm_build_args_free(b);
    }
}

/* Every key of every builder's table (task.h build_keys) is taken by its
 * own builder, its integers' range is enforced, and the keys of the other
 * tables that are not its own are refused. */
static void test_build_keys_tables(void **state) {
    (void)state;
    const trm_task *const *ts = task_list();
    int n_keys = 0;
    for (int i = 0; ts[i]; i++) {
        trm_err e = {{0}};
        trm_build_args *b = trm_build_args_new(ts[i]->name, &e);
        assert_non_null(b);
        for (const build_key *k = ts[i]->build_keys; k && k->key; k++, n_keys++) {
            char lo[32], over[32];
            snprintf(lo, sizeof lo, "%ld", k->lo);
            snprintf(over, sizeof over, "%ld", k->hi + 1);
            const char *v = k->kind == BUILD_KEY_BOOL ? "true" : k->kind == BUILD_KEY_STR ? "x" : lo;
            if (trm_build_args_set(b, k->key, v, &e)) fail_msg("%s %s=%s: %s", ts[i]->name, k->key, v, e.msg);
            if (k->kind == BUILD_KEY_LONG || k->kind == BUILD_KEY_INT) {
                assert_int_equal(trm_build_args_set(b, k->key, over, &e), -1);
                assert_non_null(strstr(e.msg, "expected an integer in ["));
            }
        }
        for (int j = 0; ts[j]; j++)
            for (const build_key *k = ts[j]->build_keys; k && k->key; k++) {
                bool own = false;
                for (const build_key *m = ts[i]->build_keys; m && m->key; m++) own |= !strcmp(m->key, k->key);
                if (own) continue;
                char want[128];
                snprintf(want, sizeof want, "build option %s: not an option of the %s builder", k->key, ts[i]->name);
                assert_int_equal(trm_build_args_set(b, k->key, "1", &e), -1);
                assert_string_equal(e.msg, want);
            }
        trm_build_args_free(b);
    }
    assert_int_equal(n_keys, 7 + 1 + 1 + 6); /* sudoku, sudoku4, maze, arc */
}

/* Builds a small 4x4 Sudoku dataset at tpath("data"); the training test
 * below reads it. */
static void test_build_args_sudoku4(void **state) {
    (void)state;
    trm_err e = {{0}};
    trm_build_args *b = trm_build_args_new("sudoku4", &e);
    assert_non_null(b);
    const char *kv[][2] = {{"out", tpath("data")}, {"train_size", "64"}, {"test_size", "16"},
                           {"blanks", "6"}, {"seed", "3"}};
    for (size_t i = 0; i < sizeof kv / sizeof kv[0]; i++) assert_int_equal(trm_build_args_set(b, kv[i][0], kv[i][1], &e), 0);
    trm_build_result r;
    if (trm_build_args_run(b, &r, &e)) fail_msg("%s", e.msg);
    assert_int_equal(r.train_examples, 64);
    assert_int_equal(r.test_examples, 16);
    trm_build_result_free(&r);
    trm_build_args_free(b);
    trm_err e2;
    trm_split *s = trm_split_open(tpath("data"), "train", &e2);
    assert_non_null(s);
    assert_int_equal(trm_split_meta(s)->seq_len, 16);
    trm_split_close(s);
}

/* ---------------------------------------------------------------- training as JSON */

typedef struct {
    int n, progress, started, done, interrupted, evals;
    int stop_at_progress; /* return 1 at this progress record (0: never) */
} json_rec;

static int on_record(void *ctx, const char *rec) {
    json_rec *r = ctx;
    r->n++;
    assert_true(rec[0] == '{' && rec[strlen(rec) - 1] == '}');
    if (strstr(rec, "\"type\":\"progress\"")) {
        assert_non_null(strstr(rec, "\"lm_loss\":"));
        if (++r->progress == r->stop_at_progress) return 1;
    }
    if (strstr(rec, "\"kind\":\"started\"")) r->started++;
    if (strstr(rec, "\"kind\":\"done\"")) r->done++;
    if (strstr(rec, "\"kind\":\"interrupted\"")) r->interrupted++;
    if (strstr(rec, "\"type\":\"eval\"")) r->evals++;
    return 0;
}

static void small_configs(trm_config **arch, trm_train_config **tc) {
    trm_err e = {{0}};
    *arch = trm_config_new(NULL, &e);
    *tc = trm_train_config_new();
    assert_true(*arch && *tc);
    const char *kv[][2] = {{"hidden_size", "16"}, {"num_heads", "2"}, {"expansion", "2"}, {"L_layers", "1"},
                           {"H_cycles", "1"}, {"L_cycles", "1"}, {"halt_max_steps", "2"},
                           {"puzzle_emb_ndim", "16"}, {"puzzle_emb_len", "1"}};
    for (size_t i = 0; i < sizeof kv / sizeof kv[0]; i++) assert_int_equal(trm_config_set(*arch, kv[i][0], kv[i][1], &e), 0);
    const char *tkv[][2] = {{"global_batch_size", "8"}, {"epochs", "4"}, {"eval_interval", "0"},
                            {"max_steps", "6"}, {"log_every", "1"}, {"eval_max_examples", "8"},
                            {"lr_warmup_steps", "2"}};
    for (size_t i = 0; i < sizeof tkv / sizeof tkv[0]; i++) assert_int_equal(trm_train_config_set(*tc, tkv[i][0], tkv[i][1], &e), 0);
}

static void test_train_run_json(void **state) {
    (void)state;
    trm_config *arch;
    trm_train_config *tc;
    small_configs(&arch, &tc);
    trm_err e = {{0}};
    json_rec r = {0};
    if (trm_train_run_json(arch, tc, tpath("data"), tpath("run"), false, false, on_record, &r, &e)) fail_msg("%s", e.msg);
    assert_int_equal(r.started, 1);
    assert_int_equal(r.done, 1);
    assert_int_equal(r.progress, 6);
    assert_int_equal(r.evals, 1);
    /* a non-zero answer stops the run: saved, interrupted, 0 returned */
    json_rec s = {.stop_at_progress = 2};
    if (trm_train_run_json(arch, tc, tpath("data"), tpath("run2"), false, false, on_record, &s, &e)) fail_msg("%s", e.msg);
    assert_int_equal(s.interrupted, 1);
    assert_int_equal(s.done, 0);
    assert_int_equal(s.progress, 2);
    /* errors come back as trm_train_run's */
    assert_int_equal(trm_train_run_json(arch, tc, tpath("nodata"), tpath("run3"), false, false, NULL, NULL, &e), -1);
    assert_non_null(strstr(e.msg, "nodata"));
    trm_free(arch);
    trm_free(tc);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_parse_format_round_trip),
        cmocka_unit_test(test_parse_format_errors),
        cmocka_unit_test(test_config_new),
        cmocka_unit_test(test_build_args_errors),
        cmocka_unit_test(test_build_args_other_family),
        cmocka_unit_test(test_build_keys_tables),
        cmocka_unit_test(test_build_args_sudoku4),
        cmocka_unit_test(test_train_run_json),
    };
    return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
