/* test_sudoku.c - the Sudoku task: line parsing and collection loading
 * (formats and error messages), the exact solver, rule violations,
 * augmentation validity, the generator and tokens; then the solver
 * against the shared collections' published answers. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <limits.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/rng.h"
#include "tasks/sudoku.h"
#include "testutil.h"

/* The first puzzle of tdoku's forum_hardest_1106 and its solution. */
static const char *Q1 = "........8..3...4...9..2..6.....79.......612...6.5.2.7...8...5...1.....2.4.5.....3";
static const char *A1 = "621943758783615492594728361142879635357461289869532174238197546916354827475286913";
/* An easy one (singles only) from the 17-clue list and its solution. */
static const char *Q2 = ".................1.....2.3......3.2...1.4......5....6..3......4.7..8...962...7...";
static const char *A2 = "953168742862734951417952836746893125281645397395271468138529674574386219629417583";

/* ---------------------------------------------------------------- helpers */

TU_TMP_DIR_GROUP(group_setup, group_teardown, "/tmp/trm_sudoku_XXXXXX")

static void grid_of(const char *s, int8_t g[81]) {
    for (int i = 0; i < 81; i++) g[i] = (int8_t)(s[i] >= '1' && s[i] <= '9' ? s[i] - '0' : 0);
}

static int blanks_of(const int8_t g[81]) {
    int n = 0;
    for (int i = 0; i < 81; i++) n += g[i] == 0;
    return n;
}

/* "Q,A" (or other joins) into a static buffer. */
static const char *join(const char *a, const char *sep, const char *b) {
    static char buf[4][512];
    static int next;
    char *p = buf[next++ % 4];
    snprintf(p, 512, "%s%s%s", a, sep, b);
    return p;
}

/* ---------------------------------------------------------------- parsing */

static void test_parse_plain(void **state) {
    (void)state;
    int8_t q[81], a[81], want[81];
    bool has = true;
    trm_err e;
    assert_int_equal(sudoku_parse_line(Q1, q, a, &has, &e), 0);
    assert_false(has);
    grid_of(Q1, want);
    assert_memory_equal(q, want, 81);
    /* '0' blanks, trailing CR LF and spaces */
    char zeros[128];
    snprintf(zeros, sizeof zeros, "%s  \r\n", Q1);
    for (char *p = zeros; *p; p++)
        if (*p == '.') *p = '0';
    assert_int_equal(sudoku_parse_line(zeros, q, a, &has, &e), 0);
    assert_memory_equal(q, want, 81);
}

static void test_parse_csv(void **state) {
    (void)state;
    int8_t q[81], a[81], wq[81], wa[81];
    bool has = false;
    trm_err e;
    grid_of(Q1, wq);
    grid_of(A1, wa);
    assert_int_equal(sudoku_parse_line(join(Q1, ",", A1), q, a, &has, &e), 0);
    assert_true(has);
    assert_memory_equal(q, wq, 81);
    assert_memory_equal(a, wa, 81);
    /* further columns (a rating) are ignored; CRLF tolerated */
    char line[256];
    snprintf(line, sizeof line, "%s,%s,3.5\r\n", Q1, A1);
    assert_int_equal(sudoku_parse_line(line, q, a, &has, &e), 0);
    assert_true(has);
    assert_memory_equal(a, wa, 81);
}

static void test_parse_errors(void **state) {
    (void)state;
    int8_t q[81], a[81];
    bool has;
    trm_err e;
    assert_int_equal(sudoku_parse_line(Q1 + 1, q, a, &has, &e), -1);
    assert_contains(e.msg, "expected 81 cells");
    assert_contains(e.msg, "got 80");
    char bad[128];
    snprintf(bad, sizeof bad, "%s", Q1);
    bad[4] = 'x';
    assert_int_equal(sudoku_parse_line(bad, q, a, &has, &e), -1);
    assert_contains(e.msg, "cell 5 (row 1, column 5)");
    assert_contains(e.msg, "'x'");
    snprintf(bad, sizeof bad, "%s", A1);
    bad[80] = '.';
    assert_int_equal(sudoku_parse_line(join(Q1, ",", bad), q, a, &has, &e), -1);
    assert_contains(e.msg, "answer cell 81");
    assert_int_equal(sudoku_parse_line(join(Q1, ",", "123"), q, a, &has, &e), -1);
    assert_contains(e.msg, "answer: expected 81 digits");
    assert_int_equal(sudoku_parse_line(join(Q1, ",", ""), q, a, &has, &e), -1);
    assert_contains(e.msg, "answer");
    assert_int_equal(sudoku_parse_line("", q, a, &has, &e), -1);
    assert_contains(e.msg, "got 0 characters");
}

/* ---------------------------------------------------------------- loading */

static void assert_loads(const char *path, int n, const char *q0, const char *a0) {
    sudoku_set s;
    trm_err e;
    if (sudoku_load(path, &s, &e)) fail_msg("%s", e.msg);
    assert_int_equal(s.n, n);
    int8_t wq[81], wa[81];
    grid_of(q0, wq);
    grid_of(a0, wa);
    assert_memory_equal(s.q, wq, 81);
    assert_memory_equal(s.a, wa, 81);
    for (int k = 0; k < s.n; k++) assert_true(s.nodes[k] >= 1);
    sudoku_set_free(&s);
}

static void test_load_txt(void **state) {
    (void)state;
    /* comments, blank lines, CRLF, trailing spaces; answers get solved */
    char text[1024];
    snprintf(text, sizeof text, "# a comment\r\n\r\n%s  \r\n#\r\n%s\r\n", Q1, Q2);
    tu_write_text(tpath("p.txt"), text);
    assert_loads(tpath("p.txt"), 2, Q1, A1);
}

static void test_load_csv(void **state) {
    (void)state;
    char text[1024];
    snprintf(text, sizeof text, "question,answer\n%s,%s\n%s,%s\n", Q1, A1, Q2, A2);
    tu_write_text(tpath("h.csv"), text);
    assert_loads(tpath("h.csv"), 2, Q1, A1);
    snprintf(text, sizeof text, "%s,%s\n%s,%s\n", Q2, A2, Q1, A1); /* no header */
    tu_write_text(tpath("n.csv"), text);
    assert_loads(tpath("n.csv"), 2, Q2, A2);
}

static void test_load_sapientinc(void **state) {
    (void)state;
    /* sapientinc/sudoku-extreme: source,question,answer,rating */
    char text[1024];
    snprintf(text, sizeof text, "source,question,answer,rating\r\npuzzles0_kaggle,%s,%s,0\r\n"
             "puzzles6_forum_hardest_1106,%s,%s,58\r\n", Q2, A2, Q1, A1);
    tu_write_text(tpath("s.csv"), text);
    assert_loads(tpath("s.csv"), 2, Q2, A2);
}

/* Loads text and expects an error containing each of the needles. */
static void assert_load_fails(const char *text, const char *n1, const char *n2) {
    tu_write_text(tpath("bad.csv"), text);
    sudoku_set s;
    trm_err e;
    assert_int_equal(sudoku_load(tpath("bad.csv"), &s, &e), -1);
    assert_contains(e.msg, tpath("bad.csv"));
    assert_contains(e.msg, n1);
    if (n2) assert_contains(e.msg, n2);
    assert_null(s.q);
}

static void test_load_errors(void **state) {
    (void)state;
    char text[1024], q[82];
    snprintf(text, sizeof text, "question,answer\n%s,%s\n%s\n", Q1, A1, Q1 + 1);
    assert_load_fails(text, ":3:", "expected 81 cells");
    /* answer disagreeing with a given */
    char a[82];
    snprintf(a, sizeof a, "%s", A1);
    a[8] = a[8] == '8' ? '7' : '8';
    snprintf(text, sizeof text, "%s,%s\n", Q1, a);
    assert_load_fails(text, ":1:", "contradicts the givens at cell 9");
    /* an answer that breaks the rules but agrees with the givens */
    snprintf(a, sizeof a, "%s", A1);
    a[0] = a[0] == '1' ? '2' : '1';
    snprintf(text, sizeof text, "# c\n%s,%s\n", Q1, a);
    assert_load_fails(text, ":2:", "breaks the Sudoku rules");
    /* too few clues: many solutions */
    snprintf(q, sizeof q, "%s", Q1);
    q[8] = '.';
    snprintf(text, sizeof text, "%s\n%s\n", Q2, q);
    assert_load_fails(text, ":2:", "more than one solution");
    /* clashing givens: none */
    snprintf(q, sizeof q, "%s", Q1);
    q[0] = '8';
    snprintf(text, sizeof text, "%s\n", q);
    assert_load_fails(text, ":1:", "no solution");
    assert_load_fails("# only a comment\n", "no puzzles", NULL);
    assert_load_fails("source,rating\n", ":1:", "no 'question' column");
    snprintf(text, sizeof text, "source,question,answer,rating\nx,%s\n", Q1);
    assert_load_fails(text, ":2:", "expected 3 comma-separated columns");
    sudoku_set s;
    trm_err e;
    assert_int_equal(sudoku_load(tpath("missing.csv"), &s, &e), -1);
    assert_contains(e.msg, "missing.csv: cannot open: No such file");
}

/* A binary file, an endless line or a directory fail at once, naming the
 * line, instead of being read into memory whole (or read as "no puzzles"). */
static void test_load_binary(void **state) {
    (void)state;
    char text[512];
    snprintf(text, sizeof text, "%s\n", Q1);
    FILE *fp = fopen(tpath("nul.csv"), "wb");
    assert_non_null(fp);
    fputs(text, fp);
    fwrite("\0\0\0\n", 1, 4, fp);
    fclose(fp);
    sudoku_set s;
    trm_err e;
    assert_int_equal(sudoku_load(tpath("nul.csv"), &s, &e), -1);
    assert_contains(e.msg, "nul.csv:2: NUL byte at column 1");
    fp = fopen(tpath("long.csv"), "wb");
    assert_non_null(fp);
    for (int i = 0; i < 70000; i++) fputc('.', fp);
    fclose(fp);
    assert_int_equal(sudoku_load(tpath("long.csv"), &s, &e), -1);
    assert_contains(e.msg, "long.csv:1: line longer than 65536 bytes");
    assert_int_equal(sudoku_load(tu_dir, &s, &e), -1);
    assert_contains(e.msg, "is a directory");
}

/* ---------------------------------------------------------------- solver */

static void test_solve_known(void **state) {
    (void)state;
    int8_t q[81], a[81], sol[81];
    long nodes = 0;
    grid_of(Q1, q);
    grid_of(A1, a);
    assert_int_equal(sudoku_solve(q, sol, 2, &nodes), 1);
    assert_memory_equal(sol, a, 81);
    assert_true(nodes > 1); /* a hard puzzle needs guesses */
    grid_of(Q2, q);
    grid_of(A2, a);
    assert_int_equal(sudoku_solve(q, sol, 1, &nodes), 1);
    assert_memory_equal(sol, a, 81);
    assert_true(nodes >= 1);
    assert_int_equal(sudoku_solve(q, NULL, 5, NULL), 1); /* NULL outputs allowed */
}

/* A full grid with a "deadly rectangle" blanked has exactly 2 solutions:
 * cells (r1,c1) (r1,c2) (r2,c1) (r2,c2) in two boxes holding a b / b a. */
static void test_solve_two_solutions(void **state) {
    (void)state;
    int8_t g[81];
    grid_of(A1, g);
    int found = 0;
    for (int r1 = 0; r1 < 9 && !found; r1++)
        for (int r2 = r1 + 1; r2 < r1 / 3 * 3 + 3 && !found; r2++)
            for (int c1 = 0; c1 < 9 && !found; c1++)
                for (int c2 = (c1 / 3 + 1) * 3; c2 < 9 && !found; c2++)
                    if (g[r1 * 9 + c1] == g[r2 * 9 + c2] && g[r1 * 9 + c2] == g[r2 * 9 + c1]) {
                        g[r1 * 9 + c1] = g[r1 * 9 + c2] = g[r2 * 9 + c1] = g[r2 * 9 + c2] = 0;
                        found = 1;
                    }
    assert_true(found);
    int8_t sol[81];
    long nodes;
    assert_int_equal(sudoku_solve(g, sol, 10, &nodes), 2);
    assert_int_equal(sudoku_violations(sol, g), 0);
    assert_int_equal(sudoku_solve(g, sol, 1, NULL), 1); /* the cap stops the count */
    int8_t empty[81] = {0};
    assert_int_equal(sudoku_solve(empty, NULL, 7, NULL), 7);
}

static void test_solve_invalid(void **state) {
    (void)state;
    int8_t q[81], sol[81];
    long nodes = -1;
    grid_of(Q2, q);
    q[0] = 1, q[1] = 1; /* clashing givens */
    assert_int_equal(sudoku_solve(q, sol, 2, &nodes), 0);
    assert_true(nodes >= 0);
    /* no clash among the givens, yet row 1 cannot hold a 1..8 + 9 twice:
     * cell (1,9) sees 9 in its column */
    memset(q, 0, 81);
    for (int c = 0; c < 8; c++) q[c] = (int8_t)(c + 1);
    q[8 + 9 * 4] = 9;
    assert_int_equal(sudoku_solve(q, sol, 2, &nodes), 0);
    assert_true(nodes > 0);
    q[40] = 12; /* out of range */
    assert_int_equal(sudoku_solve(q, sol, 2, NULL), 0);
}

/* ---------------------------------------------------------------- rules */

static void test_violations(void **state) {
    (void)state;
    int8_t g[81], q[81];
    grid_of(A1, g);
    grid_of(Q1, q);
    assert_int_equal(sudoku_violations(g, NULL), 0);
    assert_int_equal(sudoku_violations(g, q), 0);
    /* swapping two cells of a row keeps the row but breaks two columns
     * (and the boxes when they differ) */
    int8_t s[81];
    memcpy(s, g, 81);
    int8_t t = s[0];
    s[0] = s[5], s[5] = t;
    assert_true(sudoku_violations(s, NULL) > 0);
    /* a given disagreed with: exactly one more */
    int8_t q2[81];
    memcpy(q2, q, 81);
    for (int i = 0; i < 81; i++)
        if (q2[i]) {
            q2[i] = (int8_t)(q2[i] % 9 + 1);
            break;
        }
    assert_int_equal(sudoku_violations(g, q2), 1);
    /* blanks count */
    memcpy(s, g, 81);
    s[10] = 0, s[20] = 0;
    assert_int_equal(sudoku_violations(s, NULL), 2);
    assert_int_equal(sudoku_violations(q, NULL), blanks_of(q));
}

/* ---------------------------------------------------------------- augmentation */

static void test_augment_valid(void **state) {
    (void)state;
    int8_t q[81], a[81], qa[81], aa[81], sol[81];
    grid_of(Q1, q);
    grid_of(A1, a);
    uint64_t rng[4];
    rng_seed(rng, 7);
    for (int k = 0; k < 100; k++) {
        sudoku_augment(q, a, qa, aa, rng);
        assert_int_equal(sudoku_violations(aa, qa), 0);
        assert_int_equal(blanks_of(qa), blanks_of(q));
        assert_int_equal(sudoku_solve(qa, sol, 2, NULL), 1);
        assert_memory_equal(sol, aa, 81);
    }
}

/* Each part of the transform happens: on a grid with two markers in one
 * row (digits 1 and 2 at cells (0,0) and (0,3)), about half of the draws
 * turn that row into a column (transpose), the markers visit every row
 * and column (band/row and stack/column permutations), and digit 1 is
 * relabelled to every digit. */
static void test_augment_changes(void **state) {
    (void)state;
    int8_t m[81] = {0}, mo[81], full_a[81], fa[81], x[81];
    m[0] = 1, m[3] = 2;
    grid_of(A1, full_a);
    uint64_t rng[4];
    rng_seed(rng, 11);
    int transposed = 0, rows_seen = 0, cols_seen = 0, digits_seen = 0, n = 200;
    for (int k = 0; k < n; k++) {
        sudoku_augment(m, full_a, mo, fa, rng);
        assert_int_equal(sudoku_violations(fa, NULL), 0);
        int cell[2], v[2], found = 0;
        for (int i = 0; i < 81; i++)
            if (mo[i]) {
                assert_true(found < 2);
                cell[found] = i, v[found++] = mo[i];
            }
        assert_int_equal(found, 2);
        assert_int_not_equal(v[0], v[1]);
        bool same_row = cell[0] / 9 == cell[1] / 9, same_col = cell[0] % 9 == cell[1] % 9;
        assert_true(same_row != same_col);
        transposed += same_col;
        for (int j = 0; j < 2; j++) {
            rows_seen |= 1 << (cell[j] / 9);
            cols_seen |= 1 << (cell[j] % 9);
            digits_seen |= 1 << v[j];
        }
    }
    assert_in_range(transposed, 60, 140);
    assert_int_equal(rows_seen, 0x1FF);
    assert_int_equal(cols_seen, 0x1FF);
    assert_int_equal(digits_seen, 0x3FE);
    /* and grids do change */
    int8_t q[81], a[81], qa[81], aa[81];
    grid_of(Q1, q);
    grid_of(A1, a);
    sudoku_augment(q, a, qa, aa, rng);
    assert_memory_not_equal(qa, q, 81);
    assert_memory_not_equal(aa, a, 81);
    memcpy(x, qa, 81);
    sudoku_augment(q, a, qa, aa, rng);
    assert_memory_not_equal(qa, x, 81);
}

/* ---------------------------------------------------------------- generator */

static void test_generate(void **state) {
    (void)state;
    uint64_t r1[4], r2[4], r3[4];
    rng_seed(r1, 5);
    rng_seed(r2, 5);
    rng_seed(r3, 6);
    int8_t q1[81], a1[81], q2[81], a2[81], q3[81], a3[81], sol[81];
    long nodes;
    assert_int_equal(sudoku_generate(q1, a1, 1, 50, 200, r1), 0);
    assert_int_equal(sudoku_generate(q2, a2, 1, 50, 200, r2), 0);
    assert_int_equal(sudoku_generate(q3, a3, 1, 50, 200, r3), 0);
    assert_memory_equal(q1, q2, 81); /* same seed, same puzzle */
    assert_memory_equal(a1, a2, 81);
    assert_memory_not_equal(q1, q3, 81);
    assert_true(blanks_of(q1) >= 50);
    assert_int_equal(sudoku_violations(a1, q1), 0);
    assert_int_equal(sudoku_solve(q1, sol, 2, &nodes), 1);
    assert_memory_equal(sol, a1, 81);
    /* a difficulty target */
    assert_int_equal(sudoku_generate(q1, a1, 3, 0, 2000, r1), 0);
    assert_int_equal(sudoku_solve(q1, sol, 2, &nodes), 1);
    assert_true(nodes >= 3);
    assert_memory_equal(sol, a1, 81);
    /* an unreachable one fails within max_tries */
    assert_int_equal(sudoku_generate(q1, a1, 1, 81, 3, r1), -1);
}

/* ---------------------------------------------------------------- tokens, printing */

static void test_tokens(void **state) {
    (void)state;
    int8_t q[81], back[81];
    int32_t tok[81];
    grid_of(Q1, q);
    sudoku_to_tokens(q, tok);
    for (int i = 0; i < 81; i++) {
        assert_int_equal(tok[i], q[i] + 1);
        assert_true(tok[i] >= 1 && tok[i] < SUDOKU_VOCAB);
    }
    sudoku_from_tokens(tok, back);
    assert_memory_equal(back, q, 81);
    tok[0] = 0, tok[1] = 11, tok[2] = -3, tok[3] = 10;
    sudoku_from_tokens(tok, back);
    assert_int_equal(back[0], 0);
    assert_int_equal(back[1], 0);
    assert_int_equal(back[2], 0);
    assert_int_equal(back[3], 9);
}

static void test_print(void **state) {
    (void)state;
    int8_t q[81], a[81], g[81];
    grid_of(Q1, q);
    grid_of(A1, a);
    memcpy(g, a, 81);
    g[0] = (int8_t)(g[0] % 9 + 1); /* a wrong filled cell (cell 0 is blank in Q1) */
    char buf[4096] = {0};
    FILE *f = fmemopen(buf, sizeof buf - 1, "w");
    assert_non_null(f);
    sudoku_print(f, g, q, a, false);
    fclose(f);
    assert_int_equal(buf[2], '*');   /* wrong: marked */
    assert_non_null(strstr(buf, "8 ")); /* the given 8 of cell 9: plain */
    assert_non_null(strchr(buf, '\'')); /* filled: distinct */
    memset(buf, 0, sizeof buf);
    f = fmemopen(buf, sizeof buf - 1, "w");
    sudoku_print(f, g, q, a, true);
    fclose(f);
    assert_non_null(strstr(buf, "\033[1;31m"));
}

/* ---------------------------------------------------------------- shared data */

static void test_shared_hardest(void **state) {
    (void)state;
    /* a named skip without the shared data folder; a failure when it is
     * there without this file */
    const char *csv = tu_shared_need("data/sudoku/tdoku-forum-hardest-1106/puzzles6_forum_hardest_1106.csv");
    sudoku_set s, t;
    trm_err e;
    if (sudoku_load(csv, &s, &e)) fail_msg("%s", e.msg); /* checks answers vs the solver */
    assert_int_equal(s.n, 375);
    int8_t sol[81];
    long total = 0;
    for (int k = 0; k < s.n; k++) {
        long nodes;
        assert_int_equal(sudoku_solve(s.q + 81 * k, sol, 2, &nodes), 1);
        assert_memory_equal(sol, s.a + 81 * k, 81);
        assert_int_equal(nodes, s.nodes[k]);
        total += nodes;
    }
    assert_true(total > s.n); /* the hardest list needs guessing */
    /* the .txt (comments, no answers) gives the same puzzles, solved */
    char txt[PATH_MAX];
    snprintf(txt, sizeof txt, "%s", csv);
    memcpy(txt + strlen(txt) - 3, "txt", 3);
    if (sudoku_load(txt, &t, &e)) fail_msg("%s", e.msg);
    assert_int_equal(t.n, s.n);
    assert_memory_equal(t.q, s.q, 81 * (size_t)s.n);
    assert_memory_equal(t.a, s.a, 81 * (size_t)s.n);
    sudoku_set_free(&s);
    sudoku_set_free(&t);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_parse_plain),
        cmocka_unit_test(test_parse_csv),
        cmocka_unit_test(test_parse_errors),
        cmocka_unit_test(test_load_txt),
        cmocka_unit_test(test_load_csv),
        cmocka_unit_test(test_load_sapientinc),
        cmocka_unit_test(test_load_errors),
        cmocka_unit_test(test_load_binary),
        cmocka_unit_test(test_solve_known),
        cmocka_unit_test(test_solve_two_solutions),
        cmocka_unit_test(test_solve_invalid),
        cmocka_unit_test(test_violations),
        cmocka_unit_test(test_augment_valid),
        cmocka_unit_test(test_augment_changes),
        cmocka_unit_test(test_generate),
        cmocka_unit_test(test_tokens),
        cmocka_unit_test(test_print),
        cmocka_unit_test(test_shared_hardest),
    };
    return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
