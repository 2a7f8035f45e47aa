/* test_maze.c - the Maze task: tokens, dihedral transforms and their
 * inverses, the BFS solver, the answer checker on valid and broken paths,
 * the generator's invariants, the task interface (parse, format,
 * augmentation, style, registry), the CSV / npy readers and their error
 * messages, and the shared Maze-Hard files. */
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
#include "io/npy.h"
#include "tasks/maze.h"
#include "tasks/task.h"
#include "testutil.h"

extern const trm_task task_maze;

/* A 5x5 maze ('.' = open, for readability) whose only shortest path (8
 * moves) runs along the top row and down the right column; the other way
 * round the left side takes 12 moves. */
static const char *MQ = "S...."
                        ".###."
                        ".#..."
                        ".#.#."
                        "...#G";
static const char *MA = "Soooo"
                        ".###o"
                        ".#..o"
                        ".#.#o"
                        "...#G";
static const char *DETOUR = "S...."
                            "o###."
                            "o#ooo"
                            "o#o#o"
                            "ooo#G";

/* ---------------------------------------------------------------- helpers */

TU_TMP_DIR_GROUP(group_setup, group_teardown, "/tmp/trm_maze_XXXXXX")

/* '.' -> ' ' (test strings are easier to read with dots). */
static const char *spaced(const char *s) {
    static char buf[4][2048];
    static int next;
    char *p = buf[next++ % 4];
    snprintf(p, 2048, "%s", s);
    for (char *c = p; *c; c++)
        if (*c == '.') *c = ' ';
    return p;
}

/* Tokens of a dotted board string. */
static void toks(const char *s, int32_t *t) {
    trm_err e;
    int n = (int)strlen(s);
    if (maze_parse_cells(spaced(s), n, t, "board", &e)) fail_msg("%s", e.msg);
}

static int count_tok(const int32_t *t, int n, int32_t v) {
    int c = 0;
    for (int i = 0; i < n; i++) c += t[i] == v;
    return c;
}

/* ---------------------------------------------------------------- tokens */

static void test_tokens(void **state) {
    (void)state;
    const char *cs = "# SGo";
    for (int t = 1; t <= 5; t++) {
        assert_int_equal(maze_token_of(cs[t - 1]), t);
        assert_int_equal(maze_char_of(t), cs[t - 1]);
    }
    assert_int_equal(maze_token_of('.'), -1);
    assert_int_equal(maze_token_of(0), -1);
    assert_int_equal(maze_char_of(0), '?');
    assert_int_equal(maze_char_of(6), '?');
    assert_int_equal(maze_side(900), 30);
    assert_int_equal(maze_side(4), 2);
    assert_int_equal(maze_side(1), 0);
    assert_int_equal(maze_side(899), 0);
    assert_int_equal(maze_side(46340 * 46340), 46340);
    assert_int_equal(maze_side(2147483647), 0); /* no overflow on the way */
}

/* ---------------------------------------------------------------- dihedral */

/* Spec 4.5 on a 2 x 3 board [[1 2 3] [4 5 6]]. */
static void test_dihedral_table(void **state) {
    (void)state;
    const int32_t a[6] = {1, 2, 3, 4, 5, 6};
    static const int32_t want[8][6] = {
        {1, 2, 3, 4, 5, 6}, {3, 6, 2, 5, 1, 4}, {6, 5, 4, 3, 2, 1}, {4, 1, 5, 2, 6, 3},
        {3, 2, 1, 6, 5, 4}, {4, 5, 6, 1, 2, 3}, {1, 4, 2, 5, 3, 6}, {6, 3, 5, 2, 4, 1}};
    for (int id = 0; id < 8; id++) {
        int32_t out[6];
        int r, c;
        task_dihedral(id, a, 2, 3, out, &r, &c);
        assert_memory_equal(out, want[id], sizeof out);
        bool swap = id == 1 || id == 3 || id == 6 || id == 7;
        assert_int_equal(r, swap ? 3 : 2);
        assert_int_equal(c, swap ? 2 : 3);
    }
}

/* Every transform followed by its inverse is the identity, on random
 * boards of every shape up to 7 x 7, square or not. */
static void test_dihedral_round_trip(void **state) {
    (void)state;
    uint64_t rng[4];
    rng_seed(rng, 7);
    int32_t a[49], b[49], c[49];
    for (int R = 1; R <= 7; R++)
        for (int C = 1; C <= 7; C++)
            for (int id = 0; id < 8; id++) {
                for (int i = 0; i < R * C; i++) a[i] = rng_int(rng, 0, 1000);
                int r1, c1, r2, c2;
                task_dihedral(id, a, R, C, b, &r1, &c1);
                task_dihedral(task_dihedral_inverse(id), b, r1, c1, c, &r2, &c2);
                assert_int_equal(r2, R);
                assert_int_equal(c2, C);
                assert_memory_equal(a, c, sizeof(int32_t) * R * C);
                if (R >= 2 && C >= 2 && id != 0) { /* a real move (on a line some are not) */
                    bool moved = r1 != R || memcmp(a, b, sizeof(int32_t) * R * C) != 0;
                    assert_true(moved);
                }
            }
    assert_int_equal(task_dihedral_inverse(1), 3);
    assert_int_equal(task_dihedral_inverse(3), 1);
    for (int id = 0; id < 8; id++)
        if (id != 1 && id != 3) assert_int_equal(task_dihedral_inverse(id), id);
}

/* The task's augmentation: all 8 transforms drawn, each keeps a maze and
 * its answer a valid pair, and invert undoes apply. */
static void test_task_augmentation(void **state) {
    (void)state;
    const trm_task *t = &task_maze;
    maze_gen_opts o;
    maze_gen_defaults(&o);
    o.side = 10, o.min_path = 12;
    uint64_t rng[4];
    rng_seed(rng, 3);
    int seen[8] = {0};
    int32_t q[100], a[100], tq[100], ta[100], back[100];
    for (int k = 0; k < 80; k++) {
        assert_int_equal(maze_generate(&o, rng, q, a, NULL), 0);
        trm_aug aug;
        t->draw_aug(100, &aug, rng);
        assert_true(aug.dihedral >= 0 && aug.dihedral < 8);
        seen[aug.dihedral]++;
        t->apply_aug(&aug, 100, q, tq);
        t->apply_aug(&aug, 100, a, ta);
        trm_err e;
        if (maze_check_pair(tq, ta, 100, &e)) fail_msg("transform %d: %s", aug.dihedral, e.msg);
        assert_int_equal(t->verify(tq, ta, 100), 0);
        t->invert_aug(&aug, 100, ta, back);
        assert_memory_equal(back, a, sizeof a);
        t->invert_aug(&aug, 100, tq, back);
        assert_memory_equal(back, q, sizeof q);
    }
    for (int id = 0; id < 8; id++) assert_true(seen[id] > 0);
}

/* ---------------------------------------------------------------- solver */

static void test_solve_known(void **state) {
    (void)state;
    int32_t q[25], a[25], want[25];
    long paths;
    toks(MQ, q);
    toks(MA, want);
    assert_int_equal(maze_solve(q, 25, a, &paths), 8);
    assert_int_equal(paths, 1);
    assert_memory_equal(a, want, sizeof a);
    /* an open 3 x 3 board, corner to corner: 4 moves, C(4, 2) = 6 paths */
    int32_t o[9], oa[9];
    toks("S.......G", o);
    assert_int_equal(maze_solve(o, 9, oa, &paths), 4);
    assert_int_equal(paths, 6);
    assert_int_equal(count_tok(oa, 9, MAZE_PATH), 3);
    assert_int_equal(maze_violations(o, oa, 9), 0);
    /* adjacent S and G: 1 move, no path cells */
    toks("SG##", o);
    assert_int_equal(maze_solve(o, 4, oa, &paths), 1);
    assert_int_equal(paths, 1);
    assert_int_equal(count_tok(oa, 4, MAZE_PATH), 0);
}

static void test_solve_unreachable(void **state) {
    (void)state;
    int32_t q[9], a[9];
    long paths = 5;
    toks("S#.##...G", q);
    assert_int_equal(maze_solve(q, 9, a, &paths), -1);
    assert_int_equal(paths, 0);
    assert_memory_equal(a, q, sizeof q); /* nothing marked */
    toks("S#..#...S", q); /* two S, no G */
    assert_int_equal(maze_solve(q, 9, NULL, NULL), -1);
    assert_int_equal(maze_solve(q, 8, NULL, NULL), -1); /* not n*n */
}

/* ---------------------------------------------------------------- verifier */

static int viol(const char *q, const char *pred) {
    int32_t tq[25], tp[25];
    toks(q, tq);
    toks(pred, tp);
    return maze_violations(tq, tp, 25);
}

static void test_verify_valid(void **state) {
    (void)state;
    assert_int_equal(viol(MQ, MA), 0);
    int32_t p[25];
    toks(MA, p);
    assert_int_equal(maze_violations(NULL, p, 25), 0); /* question from pred */
    assert_int_equal(task_maze.verify(NULL, p, 25), 0);
}

static void test_verify_invalid(void **state) {
    (void)state;
    /* a wall opened, and a wall turned into path */
    assert_int_equal(viol(MQ, "Soooo" ".##.o" ".#..o" ".#.#o" "...#G"), 1);
    assert_int_equal(viol(MQ, "Soooo" ".o##o" ".#..o" ".#.#o" "...#G"), 1);
    /* S or G overwritten */
    assert_int_equal(viol(MQ, "ooooo" ".###o" ".#..o" ".#.#o" "...#G"), 1);
    assert_int_equal(viol(MQ, "Soooo" ".###o" ".#..o" ".#.#o" "...#o"), 1);
    /* a gap: one path cell missing -> 2 pieces (+1), 6 of 7 cells (+1) */
    assert_int_equal(viol(MQ, "So.oo" ".###o" ".#..o" ".#.#o" "...#G"), 2);
    /* a stray 'o' away from the path: +1 piece, +1 cell */
    assert_int_equal(viol(MQ, "Soooo" ".###o" ".#..o" ".#.#o" "o..#G"), 2);
    /* a stray 'o' touching the path: connected, but one cell too many */
    assert_int_equal(viol(MQ, "Soooo" ".###o" ".#.oo" ".#.#o" "...#G"), 1);
    /* a connected path that is not shortest: 11 cells for 7 */
    assert_int_equal(viol(MQ, DETOUR), 4);
    int32_t p[25];
    toks(DETOUR, p);
    assert_int_equal(maze_violations(NULL, p, 25), 4);
    /* the question returned unchanged: S and G apart, 7 cells missing */
    assert_int_equal(viol(MQ, MQ), 8);
    /* a PAD or out-of-vocabulary token */
    toks(MA, p);
    p[5] = MAZE_PAD;
    int32_t q[25];
    toks(MQ, q);
    assert_int_equal(maze_violations(q, p, 25), 1);
    p[5] = 9;
    assert_int_equal(maze_violations(q, p, 25), 1);
}

static void test_verify_unreachable_and_malformed(void **state) {
    (void)state;
    int32_t q[9], p[9];
    toks("S#.##...G", q); /* G unreachable: the right answer marks nothing */
    assert_int_equal(maze_violations(q, q, 9), 0);
    toks("S#o##...G", p);
    assert_int_equal(maze_violations(q, p, 9), 1);
    toks("S#.##...S", q); /* no single S and G */
    assert_true(maze_violations(q, q, 9) >= 1);
    assert_true(maze_violations(q, q, 8) >= 1); /* not n*n */
}

static void test_check_pair_messages(void **state) {
    (void)state;
    int32_t q[25], a[25];
    trm_err e;
    toks(MQ, q);
    toks(MA, a);
    assert_int_equal(maze_check_pair(q, a, 25, &e), 0);
    toks(DETOUR, a);
    assert_int_equal(maze_check_pair(q, a, 25, &e), -1);
    assert_contains(e.msg, "11 'o' cells; a shortest path of 8 moves has 7");
    toks("So.oo" ".###o" ".#..o" ".#.#o" "...#G", a);
    assert_int_equal(maze_check_pair(q, a, 25, &e), -1);
    assert_contains(e.msg, "do not join S to G (2 separate pieces)");
    toks("Soooo" ".o##o" ".#..o" ".#.#o" "...#G", a);
    assert_int_equal(maze_check_pair(q, a, 25, &e), -1);
    assert_contains(e.msg, "cell 7 (row 1, col 1) is 'o' where the question has '#'");
    toks("S#.##...G", q);
    assert_int_equal(maze_check_pair(q, q, 9, &e), -1);
    assert_contains(e.msg, "G cannot be reached from S");
    toks("S#.o#...G", q);
    assert_int_equal(maze_check_question(q, 9, &e), -1);
    assert_contains(e.msg, "cell 4 (row 1, col 0) is 'o'; expected '#', ' ', 'S' or 'G'");
    toks("S#..#...S", q);
    assert_int_equal(maze_check_question(q, 9, &e), -1);
    assert_contains(e.msg, "2 'S' cells; expected exactly one");
    toks("S#..#....", q);
    assert_int_equal(maze_check_question(q, 9, &e), -1);
    assert_contains(e.msg, "0 'G' cells");
}

/* ---------------------------------------------------------------- generator */

/* S and G once each, the stored answer valid, the path at least min_path
 * long and (unique) the only shortest one, so the solver's answer equals
 * the label. */
static void check_generated(int side, int min_path, bool unique, int count, uint64_t seed) {
    maze_gen_opts o;
    maze_gen_defaults(&o);
    o.side = side, o.min_path = min_path, o.unique = unique;
    int L = side * side, ties = 0;
    int32_t *q = malloc(sizeof(int32_t) * 3 * L), *a = q + L, *s = q + 2 * L;
    uint64_t rng[4];
    rng_seed(rng, seed);
    for (int k = 0; k < count; k++) {
        int d = 0;
        long paths;
        trm_err e;
        assert_int_equal(maze_generate(&o, rng, q, a, &d), 0);
        assert_int_equal(count_tok(q, L, MAZE_START), 1);
        assert_int_equal(count_tok(q, L, MAZE_GOAL), 1);
        assert_int_equal(count_tok(q, L, MAZE_PATH), 0);
        if (maze_check_pair(q, a, L, &e)) fail_msg("%dx%d maze %d: %s", side, side, k, e.msg);
        assert_int_equal(maze_solve(q, L, s, &paths), d);
        assert_true(d >= min_path);
        assert_int_equal(count_tok(a, L, MAZE_PATH), d - 1);
        if (unique) {
            assert_int_equal(paths, 1);
            assert_memory_equal(s, a, sizeof(int32_t) * L);
        }
        ties += paths > 1;
    }
    if (!unique) assert_true(ties > 0); /* without the fix-up, ties occur */
    free(q);
}

static void test_generate_invariants(void **state) {
    (void)state;
    check_generated(6, 6, true, 200, 1);
    check_generated(10, 14, true, 100, 2);
    check_generated(10, 14, false, 100, 2);
    check_generated(2, 1, true, 20, 3);
    check_generated(30, 110, true, 3, 4);
}

static void test_generate_open_board(void **state) {
    (void)state;
    /* no walls drawn: uniqueness comes only from walling the ties */
    maze_gen_opts o;
    maze_gen_defaults(&o);
    o.side = 8, o.min_path = 10, o.wall_lo = o.wall_hi = 0;
    int32_t q[64], a[64];
    uint64_t rng[4];
    rng_seed(rng, 5);
    int d;
    long paths;
    assert_int_equal(maze_generate(&o, rng, q, a, &d), 0);
    assert_int_equal(maze_solve(q, 64, NULL, &paths), d);
    assert_int_equal(paths, 1);
    assert_true(count_tok(q, 64, MAZE_WALL) > 0);
}

static void test_generate_deterministic_and_failing(void **state) {
    (void)state;
    maze_gen_opts o;
    maze_gen_defaults(&o);
    o.side = 12, o.min_path = 16;
    int32_t q1[144], a1[144], q2[144], a2[144];
    uint64_t r1[4], r2[4];
    rng_seed(r1, 99);
    rng_seed(r2, 99);
    assert_int_equal(maze_generate(&o, r1, q1, a1, NULL), 0);
    assert_int_equal(maze_generate(&o, r2, q2, a2, NULL), 0);
    assert_memory_equal(q1, q2, sizeof q1);
    assert_memory_equal(a1, a2, sizeof a1);
    assert_int_equal(maze_generate(&o, r1, q2, a2, NULL), 0); /* the stream moves on */
    assert_true(memcmp(q1, q2, sizeof q1) != 0);
    /* an open 3 x 3 board has no path of 8 moves */
    o.side = 3, o.min_path = 8, o.wall_lo = o.wall_hi = 0, o.max_tries = 50;
    assert_int_equal(maze_generate(&o, r1, q1, a1, NULL), -1);
}

/* ---------------------------------------------------------------- task interface */

static void test_task_parse(void **state) {
    (void)state;
    const trm_task *t = &task_maze;
    int32_t in[25], lab[25], wq[25], wa[25];
    bool has = true;
    trm_err e;
    char line[128];
    toks(MQ, wq);
    toks(MA, wa);
    assert_int_equal(t->parse(spaced(MQ), 25, in, lab, &has, &e), 0);
    assert_false(has);
    assert_memory_equal(in, wq, sizeof in);
    snprintf(line, sizeof line, "%s,%s\r\n", spaced(MQ), spaced(MA));
    assert_int_equal(t->parse(line, 25, in, lab, &has, &e), 0);
    assert_true(has);
    assert_memory_equal(lab, wa, sizeof lab);
    snprintf(line, sizeof line, "%s,\n", spaced(MQ));
    assert_int_equal(t->parse(line, 25, in, lab, &has, &e), 0);
    assert_false(has);
    char out[26];
    t->format(lab, 25, out);
    assert_string_equal(out, spaced(MA));
}

static void test_task_parse_errors(void **state) {
    (void)state;
    const trm_task *t = &task_maze;
    int32_t in[25], lab[25];
    bool has;
    trm_err e;
    char line[128];
    assert_int_equal(t->parse(spaced(MQ) + 1, 25, in, lab, &has, &e), -1);
    assert_contains(e.msg, "question: 24 cells; expected 25");
    snprintf(line, sizeof line, "%s", spaced(MQ));
    line[2] = 'x';
    assert_int_equal(t->parse(line, 25, in, lab, &has, &e), -1);
    assert_contains(e.msg, "cell 3 is 'x'");
    snprintf(line, sizeof line, "%s", spaced(MQ));
    line[3] = 'S';
    assert_int_equal(t->parse(line, 25, in, lab, &has, &e), -1);
    assert_contains(e.msg, "2 'S' cells");
    snprintf(line, sizeof line, "%s,%s", spaced(MQ), spaced(DETOUR));
    assert_int_equal(t->parse(line, 25, in, lab, &has, &e), -1);
    assert_contains(e.msg, "11 'o' cells");
    snprintf(line, sizeof line, "%s,%s", spaced(MQ), "S");
    assert_int_equal(t->parse(line, 25, in, lab, &has, &e), -1);
    assert_contains(e.msg, "answer: 1 cells; expected 25");
    snprintf(line, sizeof line, "%s,%s,4", spaced(MQ), spaced(MA));
    assert_int_equal(t->parse(line, 25, in, lab, &has, &e), -1);
    assert_contains(e.msg, "unexpected text after the maze: ',4'");
    assert_int_equal(t->parse(spaced(MQ), 24, in, lab, &has, &e), -1);
    assert_contains(e.msg, "n*n cells");
}

static void test_task_style_and_registry(void **state) {
    (void)state;
    const trm_task *t = &task_maze;
    trm_cell_style w = t->style(MAZE_WALL, true), o = t->style(MAZE_OPEN, true);
    trm_cell_style s = t->style(MAZE_START, true), g = t->style(MAZE_GOAL, true), p = t->style(MAZE_PATH, false);
    assert_true(w.rgb[0] + w.rgb[1] + w.rgb[2] < 200);          /* walls dark */
    assert_true(o.rgb[0] + o.rgb[1] + o.rgb[2] > 600);          /* open light */
    assert_true(s.rgb[1] > s.rgb[0] + 60 && s.rgb[1] > s.rgb[2] + 60); /* S green */
    assert_true(g.rgb[0] > g.rgb[1] + 60 && g.rgb[0] > g.rgb[2] + 60); /* G red */
    assert_true(p.rgb[0] > 200 && p.rgb[1] > 120 && p.rgb[2] < 100);  /* path yellow-orange */
    assert_non_null(strchr(s.glyph, 'S'));
    assert_non_null(strchr(g.glyph, 'G'));
    assert_non_null(strchr(p.glyph, 'o'));
    assert_non_null(strchr(w.glyph, '#'));
    for (int tok = 0; tok < 7; tok++) assert_true(strlen(t->style(tok, false).glyph) <= 2);
    assert_ptr_equal(trm_task_by_name("maze"), t);
    assert_ptr_equal(trm_task_detect(6, 900), t);
    assert_ptr_equal(trm_task_detect(6, 36), t);
    assert_ptr_equal(trm_task_detect(6, 16), trm_task_by_name("sudoku4"));
    assert_null(trm_task_detect(6, 17));
    int r, c;
    assert_int_equal(t->board(900, &r, &c), 1);
    assert_int_equal(r, 30);
    assert_int_equal(c, 30);
    assert_int_equal(t->board(30, &r, &c), 0);
    assert_int_equal(t->vocab_size, 6);
    assert_null(t->crop);
}

/* ---------------------------------------------------------------- files */

/* One CSV line "Q,A" of the 5x5 maze with optional edits. */
static const char *csv_pair(const char *q, const char *a) {
    static char buf[4][128];
    static int next;
    char *p = buf[next++ % 4];
    snprintf(p, 128, "%s,%s\n", spaced(q), spaced(a));
    return p;
}

static void test_load_csv(void **state) {
    (void)state;
    char text[1024];
    maze_set s;
    trm_err e;
    snprintf(text, sizeof text, "question,answer\n%s\n%s", csv_pair(MQ, MA), csv_pair("S...G....", "SoooG...."));
    /* a size change is an error; here the second is 3x3 */
    tu_write_text(tpath("mixed.csv"), text);
    assert_int_equal(maze_load(tpath("mixed.csv"), &s, &e), -1);
    assert_contains(e.msg, "mixed.csv:4: question has 9 cells; expected 25 like the first maze (line 2)");
    snprintf(text, sizeof text, "question,answer\r\n%s%s", csv_pair(MQ, MA), csv_pair(MQ, MA));
    tu_write_text(tpath("ok.csv"), text);
    if (maze_load(tpath("ok.csv"), &s, &e)) fail_msg("%s", e.msg);
    assert_int_equal(s.n, 2);
    assert_int_equal(s.seq_len, 25);
    assert_int_equal(s.where[1], 3);
    int32_t want[25];
    toks(MA, want);
    for (int i = 0; i < 25; i++) assert_int_equal(s.a[25 + i], want[i]);
    maze_set_free(&s);
    /* no header; sapientinc's four columns */
    tu_write_text(tpath("bare.csv"), csv_pair(MQ, MA));
    if (maze_load(tpath("bare.csv"), &s, &e)) fail_msg("%s", e.msg);
    assert_int_equal(s.n, 1);
    maze_set_free(&s);
    snprintf(text, sizeof text, "source,question,answer,rating\nlehnert,%s,%s,0\n", spaced(MQ), spaced(MA));
    tu_write_text(tpath("four.csv"), text);
    if (maze_load(tpath("four.csv"), &s, &e)) fail_msg("%s", e.msg);
    assert_int_equal(s.n, 1);
    assert_int_equal(s.q[0], MAZE_START);
    maze_set_free(&s);
}

static void expect_load_error(const char *name, const char *text, const char *msg) {
    maze_set s;
    trm_err e;
    tu_write_text(tpath(name), text);
    assert_int_equal(maze_load(tpath(name), &s, &e), -1);
    assert_contains(e.msg, name);
    assert_contains(e.msg, msg);
    assert_null(s.q);
}

static void test_load_csv_errors(void **state) {
    (void)state;
    char text[1024];
    snprintf(text, sizeof text, "question,answer\n%s%s", csv_pair(MQ, MA), csv_pair("S...x....", "SoooG...."));
    expect_load_error("badchar.csv", text, ":3: question has 9 cells; expected 25");
    snprintf(text, sizeof text, "%s", csv_pair(MQ, MA));
    text[1] = 'x';
    expect_load_error("badchar2.csv", text, ":1: question: cell 2 is 'x'");
    expect_load_error("notsquare.csv", "S..G..,S..G..\n", ":1: question has 6 cells, not n*n");
    snprintf(text, sizeof text, "%s\n", spaced(MQ));
    expect_load_error("noanswer.csv", text, ":1: no answer; expected question,answer");
    expect_load_error("twog.csv", csv_pair("S...G...G", "S...G...G"), ":1: question: 2 'G' cells");
    expect_load_error("detour.csv", csv_pair(MQ, DETOUR), ":1: answer: 11 'o' cells");
    expect_load_error("extra.csv", "question,answer\nS..G,S..G,x\n", ":2: 3 fields; expected 2");
    expect_load_error("empty.csv", "question,answer\n", "no mazes found");
    expect_load_error("header.csv", "question,rating\n", ":1: header has no answer column");
    maze_set s;
    trm_err e;
    assert_int_equal(maze_load(tpath("missing.csv"), &s, &e), -1);
    assert_contains(e.msg, "No such file");
}

static void write_npy_split(const char *dir, const uint8_t *in, const uint8_t *lab, int n, int L) {
    char p[PATH_MAX];
    trm_err e;
    int64_t shape[2] = {n, L};
    snprintf(p, sizeof p, "%s/all__inputs.npy", dir);
    if (npy_write(p, "|u1", 2, shape, in, &e)) fail_msg("%s", e.msg);
    snprintf(p, sizeof p, "%s/all__labels.npy", dir);
    if (npy_write(p, "|u1", 2, shape, lab, &e)) fail_msg("%s", e.msg);
}

static void test_load_npy(void **state) {
    (void)state;
    char dir[PATH_MAX + 8], ds[PATH_MAX];
    snprintf(ds, sizeof ds, "%s", tpath("ds"));
    snprintf(dir, sizeof dir, "%s/train", ds);
    assert_int_equal(mkdir(ds, 0777), 0);
    assert_int_equal(mkdir(dir, 0777), 0);
    int32_t q[25], a[25];
    uint8_t in[50], lab[50];
    toks(MQ, q);
    toks(MA, a);
    for (int r = 0; r < 2; r++)
        for (int i = 0; i < 25; i++) in[r * 25 + i] = (uint8_t)q[i], lab[r * 25 + i] = (uint8_t)a[i];
    write_npy_split(dir, in, lab, 2, 25);
    maze_set s;
    trm_err e;
    if (maze_load(dir, &s, &e)) fail_msg("%s", e.msg);
    assert_int_equal(s.n, 2);
    assert_memory_equal(s.a, lab, 50);
    assert_int_equal(s.where[1], 1);
    maze_set_free(&s);
    assert_int_equal(maze_load(ds, &s, &e), -1);
    assert_contains(e.msg, "a dataset directory; name one of its splits");
    in[25 + 3] = MAZE_START; /* row 1 gets a second S */
    write_npy_split(dir, in, lab, 2, 25);
    assert_int_equal(maze_load(dir, &s, &e), -1);
    assert_contains(e.msg, "all__inputs.npy: row 1: question: 2 'S' cells");
    in[25 + 3] = 9; /* a token outside the vocabulary */
    write_npy_split(dir, in, lab, 2, 25);
    assert_int_equal(maze_load(dir, &s, &e), -1);
    assert_contains(e.msg, "row 1: question: cell 4 (row 0, col 3) is token 9");
    write_npy_split(dir, in, lab, 2, 24);
    assert_int_equal(maze_load(dir, &s, &e), -1);
    assert_contains(e.msg, "shape must be [N, n*n]");
}

/* ---------------------------------------------------------------- shared data */

/* PROVENANCE.md: 1000 mazes per split, 30x30, shortest paths train
 * 109-146 moves (mean 114.1), test 109-153 (mean 113.5); the CSV and the
 * npy split hold the same mazes. */
static void check_shared_split(const char *split, int lo, int hi, double mean) {
    char rel[128];
    snprintf(rel, sizeof rel, "data/maze-30x30-hard-1k/%s.csv", split);
    const char *p = tu_shared_need(rel); /* a named skip without the shared data */
    maze_set c, n;
    trm_err e;
    if (maze_load(p, &c, &e)) fail_msg("%s", e.msg); /* checks every maze and answer */
    snprintf(rel, sizeof rel, "data/maze-30x30-hard-1k/%s", split);
    p = tu_shared_need(rel);
    if (maze_load(p, &n, &e)) fail_msg("%s", e.msg);
    assert_int_equal(c.n, 1000);
    assert_int_equal(c.seq_len, 900);
    assert_int_equal(n.n, 1000);
    assert_memory_equal(c.q, n.q, 900 * 1000);
    assert_memory_equal(c.a, n.a, 900 * 1000);
    int32_t q[900], a[900];
    int mn = 1 << 30, mx = 0;
    long sum = 0;
    for (int k = 0; k < c.n; k++) {
        for (int i = 0; i < 900; i++) q[i] = c.q[k * 900 + i], a[i] = c.a[k * 900 + i];
        int d = maze_solve(q, 900, NULL, NULL);
        assert_int_equal(task_maze.verify(q, a, 900), 0);
        mn = d < mn ? d : mn, mx = d > mx ? d : mx, sum += d;
    }
    assert_int_equal(mn, lo);
    assert_int_equal(mx, hi);
    assert_true(sum / 1000.0 > mean - 0.05 && sum / 1000.0 < mean + 0.05);
    maze_set_free(&c);
    maze_set_free(&n);
}

static void test_shared_maze_hard(void **state) {
    (void)state;
    check_shared_split("test", 109, 153, 113.5);
    check_shared_split("train", 109, 146, 114.1);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_tokens),
        cmocka_unit_test(test_dihedral_table),
        cmocka_unit_test(test_dihedral_round_trip),
        cmocka_unit_test(test_task_augmentation),
        cmocka_unit_test(test_solve_known),
        cmocka_unit_test(test_solve_unreachable),
        cmocka_unit_test(test_verify_valid),
        cmocka_unit_test(test_verify_invalid),
        cmocka_unit_test(test_verify_unreachable_and_malformed),
        cmocka_unit_test(test_check_pair_messages),
        cmocka_unit_test(test_generate_invariants),
        cmocka_unit_test(test_generate_open_board),
        cmocka_unit_test(test_generate_deterministic_and_failing),
        cmocka_unit_test(test_task_parse),
        cmocka_unit_test(test_task_parse_errors),
        cmocka_unit_test(test_task_style_and_registry),
        cmocka_unit_test(test_load_csv),
        cmocka_unit_test(test_load_csv_errors),
        cmocka_unit_test(test_load_npy),
        cmocka_unit_test(test_shared_maze_hard),
    };
    return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
