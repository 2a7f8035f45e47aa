/* test_task.c - the task interface: the registry, the dihedral transforms
 * of spec 4.5 and, for every registered task, augmentation round trips,
 * validity preservation and parse/format round trips. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

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
        trm_dihedral(id, a, 2, 3, out, &r, &c);
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
            trm_dihedral(id, a, R, C, b, &r, &c);
            trm_dihedral(trm_dihedral_inverse(id), b, r, c, back, &r2, &c2);
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
    for (const trm_task *const *t = trm_task_list(); *t; t++, n++) {
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
    for (const trm_task *const *t = trm_task_list(); *t; t++) {
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
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
