/* test_sudoku_build.c - the difficulty rating (nodes and backtracks of
 * the solver's uniqueness search), the grid keys and leak check that keep
 * held-out solution grids out of training, and rating distributions. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tasks/sudoku.h"
#include "tasks/sudoku_build.h"

/* The first puzzle of tdoku's forum_hardest_1106 and its solution. */
static const char *Q1 = "........8..3...4...9..2..6.....79.......612...6.5.2.7...8...5...1.....2.4.5.....3";
static const char *A1 = "621943758783615492594728361142879635357461289869532174238197546916354827475286913";
/* A 17-clue puzzle and its solution (7 nodes: hidden singles and locked
 * candidates do not finish it). */
static const char *Q2 = ".................1.....2.3......3.2...1.4......5....6..3......4.7..8...962...7...";
static const char *A2 = "953168742862734951417952836746893125281645397395271468138529674574386219629417583";

static void cells(const char *s, int8_t g[81]) {
    for (int i = 0; i < 81; i++) g[i] = (int8_t)(s[i] >= '1' && s[i] <= '9' ? s[i] - '0' : 0);
}

/* Digit d -> 10 - d, then the transpose: an equivalent grid that differs
 * from the original in almost every cell. */
static void relabel_transpose(const int8_t g[81], int8_t out[81]) {
    for (int r = 0; r < 9; r++)
        for (int c = 0; c < 9; c++) {
            int8_t v = g[r * 9 + c];
            out[c * 9 + r] = (int8_t)(v ? 10 - v : 0);
        }
}

/* ---------------------------------------------------------------- rating */

static void test_rating_easy_and_hard(void **state) {
    (void)state;
    int8_t q[81], sol[81], a[81];
    sudoku_rating r;
    cells(A2, a);
    memcpy(q, a, 81);
    for (int i = 0; i < 81; i += 4) q[i] = 0; /* 21 scattered blanks: singles solve it */
    assert_int_equal(sudoku_solve_rated(q, sol, 2, &r), 1);
    assert_memory_equal(sol, a, 81);
    assert_int_equal(r.nodes, 1); /* the root is the only node, no dead end */
    assert_int_equal(r.backtracks, 0);
    cells(Q2, q);
    assert_int_equal(sudoku_solve_rated(q, sol, 2, &r), 1);
    assert_memory_equal(sol, a, 81);
    assert_int_equal(r.nodes, 7);
    assert_int_equal(r.backtracks, 3);
    cells(Q1, q);
    assert_int_equal(sudoku_solve_rated(q, sol, 2, &r), 1);
    /* the values docs/sudoku-hard.md quotes for this puzzle */
    assert_int_equal(r.nodes, 342);
    assert_int_equal(r.backtracks, 171);
    long nodes;
    assert_int_equal(sudoku_solve(q, NULL, 2, &nodes), 1);
    assert_int_equal(nodes, r.nodes); /* the same search as --min-nodes */
}

/* The full uniqueness tree does not depend on the names of the digits. */
static void test_rating_relabel_invariant(void **state) {
    (void)state;
    int8_t q[81], qr[81];
    sudoku_rating r, rr;
    cells(Q1, q);
    for (int i = 0; i < 81; i++) qr[i] = (int8_t)(q[i] ? (q[i] % 9) + 1 : 0); /* d -> d + 1 mod 9 */
    sudoku_solve_rated(q, NULL, 2, &r);
    sudoku_solve_rated(qr, NULL, 2, &rr);
    assert_int_equal(r.nodes, rr.nodes);
    assert_int_equal(r.backtracks, rr.backtracks);
}

/* No solution or a clash: a rating, never a crash. */
static void test_rating_unsolvable(void **state) {
    (void)state;
    int8_t q[81];
    sudoku_rating r;
    cells(Q1, q);
    q[0] = q[8]; /* 8 twice in row 1: clashing givens */
    assert_int_equal(sudoku_solve_rated(q, NULL, 2, &r), 0);
    assert_int_equal(r.nodes, 0);
    assert_int_equal(r.backtracks, 0);
}

/* sudoku_load stores both ratings per puzzle. */
static void test_load_backtracks(void **state) {
    (void)state;
    char path[] = "/tmp/trm_sudoku_build_XXXXXX";
    int fd = mkstemp(path);
    assert_true(fd >= 0);
    FILE *f = fdopen(fd, "w");
    fprintf(f, "question,answer\n%s,%s\n%s\n", Q1, A1, Q2);
    fclose(f);
    sudoku_set s;
    trm_err e;
    assert_int_equal(sudoku_load(path, &s, &e), 0);
    remove(path);
    assert_int_equal(s.n, 2);
    assert_int_equal(s.nodes[0], 342);
    assert_int_equal(s.backtracks[0], 171);
    assert_int_equal(s.nodes[1], 7);
    assert_int_equal(s.backtracks[1], 3);
    sudoku_set_free(&s);
}

/* ---------------------------------------------------------------- keys and leaks */

static void test_grid_key(void **state) {
    (void)state;
    int8_t a[81], b[81], swapped[81];
    uint8_t ka[81], kb[81], ks[81];
    cells(A1, a);
    relabel_transpose(a, b);
    sudoku_grid_key(a, ka);
    sudoku_grid_key(b, kb);
    assert_memory_equal(ka, kb, 81);
    /* the first row of the key is 1..9 (digits by first appearance) */
    for (int i = 0; i < 9; i++) assert_int_equal(ka[i], i + 1);
    /* documented limit: a row swap inside a band is another key */
    memcpy(swapped, a, 81);
    memcpy(swapped, a + 9, 9);
    memcpy(swapped + 9, a, 9);
    sudoku_grid_key(swapped, ks);
    assert_memory_not_equal(ka, ks, 81);
}

/* A held-out solution hidden in training, relabelled and transposed, is
 * found and dropped; the other training puzzles stay. */
static void test_leak_dropped(void **state) {
    (void)state;
    int8_t held[81], train[3 * 81];
    cells(A1, held);
    cells(A2, train);                       /* unrelated */
    relabel_transpose(held, train + 81);    /* the leak */
    cells(A2, train + 162);
    for (int i = 0; i < 81; i++) train[162 + i] = (int8_t)(train[162 + i] % 9 + 1); /* A2 relabelled */
    sudoku_keyset ks = {0};
    assert_int_equal(sudoku_keyset_add(&ks, held, 1), 0);
    sudoku_keyset_seal(&ks);
    bool keep[3] = {true, true, true};
    assert_int_equal(sudoku_mark_leaks(train, 3, &ks, keep), 1);
    assert_true(keep[0]);
    assert_false(keep[1]);
    assert_true(keep[2]);
    /* a puzzle already dropped (keep false) is not counted again */
    assert_int_equal(sudoku_mark_leaks(train, 3, &ks, keep), 0);
    sudoku_keyset_free(&ks);
    /* held-out A2 catches both A2 and its relabelling */
    sudoku_keyset ks2 = {0};
    int8_t a2[81];
    cells(A2, a2);
    for (int k = 0; k < 40; k++) assert_int_equal(sudoku_keyset_add(&ks2, a2, 1), 0); /* repeats, growth */
    sudoku_keyset_seal(&ks2);
    bool keep2[3] = {true, true, true};
    assert_int_equal(sudoku_mark_leaks(train, 3, &ks2, keep2), 2);
    assert_false(keep2[0]);
    assert_true(keep2[1]);
    assert_false(keep2[2]);
    sudoku_keyset_free(&ks2);
}

/* An empty held-out set drops nothing. */
static void test_leak_empty_set(void **state) {
    (void)state;
    int8_t a[81];
    cells(A1, a);
    sudoku_keyset ks = {0};
    sudoku_keyset_seal(&ks);
    bool keep[1] = {true};
    assert_int_equal(sudoku_mark_leaks(a, 1, &ks, keep), 0);
    assert_true(keep[0]);
    sudoku_keyset_free(&ks);
}

/* ---------------------------------------------------------------- distributions */

static void test_rating_stats(void **state) {
    (void)state;
    long v[10] = {5, 0, 1, 2, 3, 4, 9, 8, 7, 100};
    int idx[3] = {9, 1, 2};
    sudoku_rating_stats st;
    assert_int_equal(sudoku_rating_stats_of(v, NULL, 10, &st), 0);
    assert_int_equal(st.n, 10);
    assert_int_equal(st.min, 0);
    assert_int_equal(st.max, 100);
    assert_int_equal(st.p10, 0);   /* sorted 0 1 2 3 4 5 7 8 9 100: ranks 1, 3, 5, ... */
    assert_int_equal(st.p25, 2);
    assert_int_equal(st.p50, 4);
    assert_int_equal(st.p75, 8);
    assert_int_equal(st.p90, 9);
    assert_int_equal(st.p99, 100);
    assert_true(st.mean > 13.89 && st.mean < 13.91);
    /* bins: {0} {1} {2,3} {4..7} {8..15} ... {64..127} */
    long want[8] = {1, 1, 2, 3, 2, 0, 0, 1};
    for (int b = 0; b < 8; b++) assert_int_equal(st.hist[b], want[b]);
    assert_int_equal(sudoku_rating_stats_of(v, idx, 3, &st), 0);
    assert_int_equal(st.n, 3);
    assert_int_equal(st.p50, 1);
    assert_int_equal(st.max, 100);
    assert_int_equal(sudoku_rating_stats_of(v, NULL, 0, &st), 0);
    assert_int_equal(st.n, 0);
}

static void test_rating_json_and_csv(void **state) {
    (void)state;
    long nodes[2] = {342, 1}, bt[2] = {171, 0}; /* any values: only the format is checked */
    int8_t q[162], a[162];
    cells(Q1, q);
    cells(Q2, q + 81);
    cells(A1, a);
    cells(A2, a + 81);
    char *buf = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&buf, &len);
    assert_int_equal(sudoku_split_rating_json(f, nodes, bt, NULL, 2), 0);
    fclose(f);
    assert_non_null(strstr(buf, "{\"puzzles\":2,\"nodes\":{\"min\":1,"));
    assert_non_null(strstr(buf, "\"hist\":{\"1\":1,\"256-511\":1}}"));
    assert_non_null(strstr(buf, "\"backtracks\":{\"min\":0,"));
    assert_non_null(strstr(buf, "\"hist\":{\"0\":1,\"128-255\":1}}}"));
    free(buf);
    int idx[1] = {1};
    f = open_memstream(&buf, &len);
    sudoku_write_ratings_csv(f, "test", q, a, nodes, bt, idx, 1);
    fclose(f);
    char want[256];
    snprintf(want, sizeof want, "test,%s,%s,1,0\n", Q2, A2);
    assert_string_equal(buf, want);
    free(buf);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_rating_easy_and_hard),
        cmocka_unit_test(test_rating_relabel_invariant),
        cmocka_unit_test(test_rating_unsolvable),
        cmocka_unit_test(test_load_backtracks),
        cmocka_unit_test(test_grid_key),
        cmocka_unit_test(test_leak_dropped),
        cmocka_unit_test(test_leak_empty_set),
        cmocka_unit_test(test_rating_stats),
        cmocka_unit_test(test_rating_json_and_csv),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
