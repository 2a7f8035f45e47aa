/* test_task.c - the task interface: the registry, the dihedral transforms
 * of spec 4.5 and, for every registered task, augmentation round trips,
 * validity preservation and parse/format round trips; the presentation
 * hooks trm solve uses (verdict words, impossible-puzzle checks, line
 * parser, board printer, ARC task files). */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <ftw.h>
#include <sys/stat.h>

#include "core/rng.h"
#include "tasks/sudoku.h"
#include "tasks/task.h"

/* A solved 9x9 grid and a puzzle of it, as tokens. */
static const char *A9 = "621943758783615492594728361142879635357461289869532174238197546916354827475286913";
static const char *Q9 = "........8..3...4...9..2..6.....79.......612...6.5.2.7...8...5...1.....2.4.5.....3";

static void tokens_of(const char *s, int32_t *t, int n) {
    for (int i = 0; i < n; i++) t[i] = s[i] >= '1' && s[i] <= '9' ? s[i] - '0' + 1 : 1;
}

/* ---------------------------------------------------------------- dihedral */

/* Spec 4.5's table on a 2x3 board with distinct entries. */
static void test_dihedral_table(void **state) {
    (void)state;
    const int32_t a[6] = {1, 2, 3, 4, 5, 6}; /* [[1 2 3] [4 5 6]] */
    static const int32_t want[8][6] = {
        {1, 2, 3, 4, 5, 6}, /* identity */
        {3, 6, 2, 5, 1, 4}, /* rot90 ccw: 3x2 */
        {6, 5, 4, 3, 2, 1}, /* rot180 */
        {4, 1, 5, 2, 6, 3}, /* rot270 ccw */
        {3, 2, 1, 6, 5, 4}, /* flip lr */
        {4, 5, 6, 1, 2, 3}, /* flip ud */
        {1, 4, 2, 5, 3, 6}, /* transpose */
        {6, 3, 5, 2, 4, 1}, /* anti-transpose */
    };
    for (int id = 0; id < 8; id++) {
        int32_t out[6];
        int r, c;
        task_dihedral(id, a, 2, 3, out, &r, &c);
        bool swap = id == 1 || id == 3 || id == 6 || id == 7;
        assert_int_equal(r, swap ? 3 : 2);
        assert_int_equal(c, swap ? 2 : 3);
        assert_memory_equal(out, want[id], sizeof out);
    }
}

/* inverse(transform(A)) == A on random non-square boards. */
static void test_dihedral_round_trip(void **state) {
    (void)state;
    uint64_t rng[4];
    rng_seed(rng, 7);
    for (int trial = 0; trial < 50; trial++) {
        int R = rng_int(rng, 1, 30), C = rng_int(rng, 1, 30);
        int32_t a[900], b[900], back[900];
        for (int i = 0; i < R * C; i++) a[i] = rng_int(rng, 0, 11);
        for (int id = 0; id < 8; id++) {
            int r, c, r2, c2;
            task_dihedral(id, a, R, C, b, &r, &c);
            task_dihedral(task_dihedral_inverse(id), b, r, c, back, &r2, &c2);
            assert_int_equal(r2, R);
            assert_int_equal(c2, C);
            assert_memory_equal(back, a, sizeof(int32_t) * (size_t)(R * C));
        }
    }
}

/* ---------------------------------------------------------------- registry */

static void test_registry(void **state) {
    (void)state;
    const trm_task *s = trm_task_by_name("sudoku");
    assert_non_null(s);
    assert_ptr_equal(trm_task_detect(11, 81), s);
    assert_ptr_equal(trm_task_detect(6, 16), trm_task_by_name("sudoku4"));
    assert_null(trm_task_by_name("no-such-task"));
    assert_null(trm_task_detect(11, 80));
    int n = 0;
    for (const trm_task *const *t = task_list(); *t; t++, n++) {
        assert_non_null((*t)->name);
        assert_non_null((*t)->board);
        assert_non_null((*t)->draw_aug);
        assert_non_null((*t)->apply_aug);
        assert_non_null((*t)->invert_aug);
        assert_non_null((*t)->verify);
        assert_non_null((*t)->style);
        assert_ptr_equal(trm_task_by_name((*t)->name), *t);
    }
    assert_true(n >= 2);
}

/* ---------------------------------------------------------------- every task */

/* A seq_len each task accepts (mazes: any n*n; pick the smallest that
 * works among a few candidates). */
static int some_len(const trm_task *t) {
    static const int lens[] = {81, 16, 900, 100, 64};
    int r, c;
    for (size_t i = 0; i < sizeof lens / sizeof *lens; i++)
        if (t->board(lens[i], &r, &c) && r * c == lens[i]) return lens[i];
    return 0;
}

/* A random board of task t: any tokens, except for tasks that crop
 * (ARC), whose augmentations act on the shown grid: there a random h x w
 * grid of colour tokens at the top-left with its EOS markers (spec 4.4),
 * the layout of test inputs and predictions. */
static void random_board(const trm_task *t, int n, int32_t *a, uint64_t rng[4]) {
    if (!t->crop) {
        for (int i = 0; i < n; i++) a[i] = rng_int(rng, 0, t->vocab_size - 1);
        return;
    }
    int side = n == 900 ? 30 : 0, h = rng_int(rng, 1, side), w = rng_int(rng, 1, side);
    for (int i = 0; i < n; i++) {
        int r = i / side, c = i % side;
        if (r < h && c < w) a[i] = rng_int(rng, 2, t->vocab_size - 1);
        else a[i] = (r == h && c < w) || (c == w && r < h) ? 1 : 0;
    }
}

/* apply then invert is the identity on random boards, for every
 * registered task and many drawn augmentations. */
static void test_aug_round_trip_all_tasks(void **state) {
    (void)state;
    uint64_t rng[4];
    rng_seed(rng, 11);
    for (const trm_task *const *t = task_list(); *t; t++) {
        int n = some_len(*t);
        assert_true(n > 0);
        int32_t a[900], b[900], back[900];
        for (int trial = 0; trial < 40; trial++) {
            random_board(*t, n, a, rng);
            trm_aug aug;
            (*t)->draw_aug(n, &aug, rng);
            (*t)->apply_aug(&aug, n, a, b);
            (*t)->invert_aug(&aug, n, b, back);
            assert_memory_equal(back, a, sizeof(int32_t) * (size_t)n);
        }
    }
}

/* Sudoku augmentations keep a solution valid and its puzzle consistent;
 * at least one drawn augmentation changes the board. */
static void test_sudoku_aug_preserves_validity(void **state) {
    (void)state;
    const trm_task *t = trm_task_by_name("sudoku");
    int32_t q[81], a[81], qa[81], aa[81];
    tokens_of(Q9, q, 81);
    tokens_of(A9, a, 81);
    assert_int_equal(t->verify(q, a, 81), 0);
    uint64_t rng[4];
    rng_seed(rng, 3);
    int changed = 0;
    for (int k = 0; k < 100; k++) {
        trm_aug aug;
        t->draw_aug(81, &aug, rng);
        t->apply_aug(&aug, 81, q, qa);
        t->apply_aug(&aug, 81, a, aa);
        assert_int_equal(t->verify(qa, aa, 81), 0);
        changed += memcmp(aa, a, sizeof a) != 0;
    }
    assert_true(changed >= 99);
}

static void test_sudoku_verify_counts(void **state) {
    (void)state;
    const trm_task *t = trm_task_by_name("sudoku");
    int32_t q[81], a[81];
    tokens_of(Q9, q, 81);
    tokens_of(A9, a, 81);
    assert_int_equal(t->verify(q, a, 81), 0);
    assert_int_equal(t->verify(NULL, a, 81), 0);
    /* swap two digits of a row: two column duplicates each side */
    int32_t b[81];
    memcpy(b, a, sizeof b);
    b[0] = a[1], b[1] = a[0];
    assert_true(t->verify(NULL, b, 81) > 0);
    /* a blank cell is a violation */
    memcpy(b, a, sizeof b);
    b[40] = 1;
    assert_int_equal(t->verify(NULL, b, 81), 1);
    /* disagreeing with a given is a violation even on a valid grid */
    int32_t g[81];
    for (int i = 0; i < 81; i++) g[i] = 1;
    g[0] = a[0] == 2 ? 3 : 2;
    assert_true(t->verify(g, a, 81) >= 1);
}

static void test_sudoku4_verify(void **state) {
    (void)state;
    const trm_task *t = trm_task_by_name("sudoku4");
    /* 1234/3412/2143/4321 */
    const int32_t good[16] = {2, 3, 4, 5, 4, 5, 2, 3, 3, 2, 5, 4, 5, 4, 3, 2};
    assert_int_equal(t->verify(NULL, good, 16), 0);
    int32_t bad[16];
    memcpy(bad, good, sizeof bad);
    bad[5] = 4; /* row 1 now 3,3,..: a row duplicate, a column duplicate and a box duplicate */
    assert_int_equal(t->verify(NULL, bad, 16), 3);
}

/* parse -> format gives the canonical text; errors say what was expected. */
static void test_parse_format(void **state) {
    (void)state;
    const trm_task *t = trm_task_by_name("sudoku");
    int32_t in[81], lab[81];
    bool has;
    trm_err e;
    char line[256], out[128];
    snprintf(line, sizeof line, "%s,%s\n", Q9, A9);
    assert_int_equal(t->parse(line, 81, in, lab, &has, &e), 0);
    assert_true(has);
    t->format(in, 81, out);
    assert_string_equal(out, Q9);
    t->format(lab, 81, out);
    assert_string_equal(out, A9);
    assert_int_equal(t->parse(Q9, 81, in, lab, &has, &e), 0);
    assert_false(has);
    assert_int_equal(t->parse("12x", 81, in, lab, &has, &e), -1);
    assert_non_null(strstr(e.msg, "cell 3"));
    assert_int_equal(t->parse("123", 81, in, lab, &has, &e), -1);
    assert_non_null(strstr(e.msg, "expected 81"));
    /* answer contradicting a given */
    char bad[200];
    snprintf(bad, sizeof bad, "%s,%s", A9, A9);
    bad[82] = bad[82] == '1' ? '2' : '1';
    assert_int_equal(t->parse(bad, 81, in, lab, &has, &e), -1);
    const trm_task *t4 = trm_task_by_name("sudoku4");
    assert_int_equal(t4->parse("1.3.........4..2", 16, in, lab, &has, &e), 0);
    assert_int_equal(t4->parse("1.5.........4..2", 16, in, lab, &has, &e), -1);
    assert_non_null(strstr(e.msg, "'1'-'4'"));
}

/* ---------------------------------------------------------------- presentation hooks */

/* Every task words its verdicts and can build a dataset, so that callers
 * (trm solve, trm data) need no task names. */
static void test_hooks_complete(void **state) {
    (void)state;
    for (const trm_task *const *t = task_list(); *t; t++) {
        assert_non_null((*t)->valid_word);
        assert_non_null((*t)->invalid_word);
        assert_non_null((*t)->cells_word);
        assert_non_null((*t)->build);
        assert_true((*t)->parse || (*t)->file); /* one-line puzzles or puzzle files */
    }
    assert_string_equal(trm_task_by_name("maze")->valid_word, "valid shortest path");
    assert_string_equal(trm_task_by_name("arc")->cells_word, "cells to fill");
    assert_string_equal(trm_task_by_name("sudoku4")->cells_word, "blank cells");
}

/* Why a Sudoku cannot be solved: the givens, the answer, no solution. */
static void test_sudoku_impossible(void **state) {
    (void)state;
    const trm_task *t = trm_task_by_name("sudoku");
    int32_t in[81], lab[81];
    char buf[160];
    tokens_of(Q9, in, 81);
    tokens_of(A9, lab, 81);
    assert_null(t->impossible(in, lab, true, 81, buf, sizeof buf));
    assert_null(t->impossible(in, lab, false, 81, buf, sizeof buf));
    in[0] = in[8]; /* a second 8 in row 1 */
    assert_string_equal(t->impossible(in, lab, false, 81, buf, sizeof buf),
                        "the givens break the rules (1 repeated digits)");
    tokens_of(Q9, in, 81);
    lab[8] = 2; /* the given 8 of cell 9 answered as 1 */
    assert_string_equal(t->impossible(in, lab, true, 81, buf, sizeof buf),
                        "the answer contradicts the given at cell 9 (row 1, column 9)");
    tokens_of(A9, lab, 81);
    lab[0] = lab[1]; /* a blank answered against the rules */
    assert_string_equal(t->impossible(in, lab, true, 81, buf, sizeof buf), "the answer breaks the rules (3 violations)");
    /* 1..8 in row 1 and a 9 in column 9 below: cell 9 has no digit left */
    for (int i = 0; i < 81; i++) in[i] = 1;
    for (int i = 0; i < 8; i++) in[i] = i + 2;
    in[9 * 4 + 8] = 10;
    assert_string_equal(t->impossible(in, lab, false, 81, buf, sizeof buf), "the puzzle has no solution");
    const trm_task *t4 = trm_task_by_name("sudoku4");
    int32_t q4[16] = {2, 3, 4, 1, 1, 1, 1, 5, 1, 1, 1, 1, 1, 1, 1, 1}; /* row 1: 1 2 3 _, column 4: 4 below */
    assert_string_equal(t4->impossible(q4, q4, false, 16, buf, sizeof buf), "the puzzle has no solution");
}

/* A maze whose goal is walled off. */
static void test_maze_impossible(void **state) {
    (void)state;
    const trm_task *t = trm_task_by_name("maze");
    int32_t in[16], lab[16];
    bool has;
    trm_err e;
    char buf[160];
    assert_int_equal(t->parse("S  G############", 16, in, lab, &has, &e), 0);
    assert_null(t->impossible(in, lab, has, 16, buf, sizeof buf));
    assert_int_equal(t->parse("S #G############", 16, in, lab, &has, &e), 0);
    assert_string_equal(t->impossible(in, lab, has, 16, buf, sizeof buf), "G cannot be reached from S");
}

/* 9x9 lines through sudoku_parse_line (quoted CSV fields too), and its
 * board printer. */
static void test_sudoku_line_and_print(void **state) {
    (void)state;
    const trm_task *t = trm_task_by_name("sudoku");
    int32_t in[81], lab[81], want[81];
    bool has;
    trm_err e;
    char line[256];
    snprintf(line, sizeof line, "\"%s\",\"%s\"\n", Q9, A9);
    assert_int_equal(t->parse_line(line, 81, in, lab, &has, &e), 0);
    assert_true(has);
    tokens_of(A9, want, 81);
    assert_memory_equal(lab, want, sizeof want);
    assert_null(trm_task_by_name("maze")->parse_line); /* the plain parse */
    char *buf = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&buf, &len);
    t->print(f, in, lab, lab, true, false);
    fclose(f);
    /* filled cells marked ', the given 8 of cell 9 plain */
    assert_non_null(strstr(buf, " 6' 2' 1' | 9' 4' 3' | 7' 5' 8 \n"));
    free(buf);
}

/* ---------------------------------------------------------------- ARC task files */

static char g_dir[64];

static const char *dpath(const char *name) {
    static char ring[4][256];
    static int next;
    char *p = ring[next++ % 4];
    snprintf(p, 256, "%s/%s", g_dir, name);
    return p;
}

static void put_file(const char *path, const char *text) {
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    fputs(text, f);
    fclose(f);
}

static int rm_entry(const char *p, const struct stat *sb, int flag, struct FTW *ftw) {
    (void)sb, (void)flag, (void)ftw;
    return remove(p);
}

/* A dataset of one evaluation task (2 versions), then its file solved by
 * an "identity model" (pred = input): every version votes for the input
 * grid, which is not the test output. */
static void test_arc_file(void **state) {
    (void)state;
    snprintf(g_dir, sizeof g_dir, "/tmp/trm_task_XXXXXX");
    assert_non_null(mkdtemp(g_dir));
    mkdir(dpath("ev"), 0777);
    const char *task = "{\"train\": [{\"input\": [[1, 2]], \"output\": [[2, 1]]}], "
                       "\"test\": [{\"input\": [[3, 4]], \"output\": [[4, 3]]}]}";
    put_file(dpath("ev/cafe0001.json"), task);
    char subsets[256];
    snprintf(subsets, sizeof subsets, "evaluation=%s", dpath("ev"));
    trm_build_opts o;
    trm_build_opts_init(&o, "arc");
    o.out = dpath("ds");
    o.arc.subsets = subsets;
    o.arc.num_aug = 1;
    trm_build_result r;
    trm_err e;
    assert_int_equal(trm_build_dataset("arc", &o, &r, &e), 0);
    int n_ids = (int)r.identifiers;
    assert_int_equal(n_ids, 3);

    const trm_task_file_ops *ops = trm_task_by_name("arc")->file;
    assert_non_null(ops);
    assert_null(ops->open(dpath("none.json"), &e));
    assert_non_null(strstr(e.msg, "none.json"));
    put_file(dpath("notest.json"), "{\"train\": [{\"input\": [[1]], \"output\": [[1]]}], \"test\": []}");
    assert_null(ops->open(dpath("notest.json"), &e));
    assert_non_null(strstr(e.msg, "notest.json: task notest: \"test\" has no pairs"));
    /* a task the dataset does not hold */
    put_file(dpath("other.json"), task);
    trm_task_file *f = ops->open(dpath("other.json"), &e);
    assert_non_null(f);
    const int32_t *in, *pid;
    int n;
    assert_int_equal(ops->prepare(f, dpath("ds"), n_ids, &in, &pid, &n, &e), -1);
    assert_non_null(strstr(e.msg, "task other is not in "));
    ops->free(f);
    /* a model with a smaller puzzle table than the dataset's */
    f = ops->open(dpath("ev/cafe0001.json"), &e);
    assert_non_null(f);
    assert_int_equal(ops->prepare(f, dpath("ds"), 2, &in, &pid, &n, &e), -1);
    assert_non_null(strstr(e.msg, "outside the model's puzzle table (2 rows)"));
    ops->free(f);

    f = ops->open(dpath("ev/cafe0001.json"), &e);
    assert_non_null(f);
    assert_int_equal(ops->n_inputs(f), 1);
    assert_int_equal(ops->prepare(f, dpath("ds"), n_ids, &in, &pid, &n, &e), 0);
    assert_int_equal(n, 2); /* 2 versions x 1 test input */
    float q[2] = {0, 0};
    assert_int_equal(ops->add(f, in, q, &e), 0);
    trm_task_answer a;
    assert_int_equal(ops->answer(f, 0, &a, &e), 0);
    assert_string_equal(a.title, "task cafe0001, test input 1: 2 versions, 1 distinct answers");
    assert_non_null(strstr(a.verdict, "attempt 1: 2 votes, confidence 0.5000"));
    assert_non_null(strstr(a.verdict, "| both attempts are wrong"));
    assert_non_null(strstr(a.json, "{\"task\":\"cafe0001\",\"test\":0,\"versions\":2,\"candidates\":1,\"attempt_1\":[[3,4]]"));
    assert_non_null(strstr(a.json, "\"correct\":false}"));
    assert_string_equal(a.name, "cafe0001-test-1");
    assert_int_equal(a.n_boards, 4);
    assert_non_null(a.truth);
    ops->free(f);
    nftw(g_dir, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_dihedral_table),
        cmocka_unit_test(test_dihedral_round_trip),
        cmocka_unit_test(test_registry),
        cmocka_unit_test(test_aug_round_trip_all_tasks),
        cmocka_unit_test(test_sudoku_aug_preserves_validity),
        cmocka_unit_test(test_sudoku_verify_counts),
        cmocka_unit_test(test_sudoku4_verify),
        cmocka_unit_test(test_parse_format),
        cmocka_unit_test(test_hooks_complete),
        cmocka_unit_test(test_sudoku_impossible),
        cmocka_unit_test(test_maze_impossible),
        cmocka_unit_test(test_sudoku_line_and_print),
        cmocka_unit_test(test_arc_file),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
