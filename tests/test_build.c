/* test_build.c - the dataset builders through the public API
 * (trm_build_dataset, trm.h): Sudoku from CSV (splits, augmentation, the
 * leak check against --test-input and --holdout, ratings), Maze (CSV,
 * repeats, the dihedral versions, a test split of another size) and ARC
 * (folders of task files, versions, identifiers, test_puzzles.json), each
 * checked in the written dataset; bad inputs give one message naming the
 * file and line and leave no output. And the generators (trm_generate_puzzles)
 * whose CSV the builders read. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "data/dataset.h"
#include "testutil.h"
#include "trm.h"

/* A 17-clue puzzle with one solution, and that solution. */
static const char *Q = ".................1.....2.3......3.2...1.4......5....6..3......4.7..8...962...7...";
static const char *A = "953168742862734951417952836746893125281645397395271468138529674574386219629417583";

TU_TMP_DIR_GROUP(setup, teardown, "/tmp/trm_build_XXXXXX")

static bool exists(const char *path) { return access(path, F_OK) == 0; }

/* Notes the builders report, joined with newlines. */
static char g_notes[4096];
static void note(void *ctx, const char *line) {
    (void)ctx;
    size_t n = strlen(g_notes);
    snprintf(g_notes + n, sizeof g_notes - n, "%s\n", line);
}

static void opts(trm_build_opts *o, const char *task, const char *out) {
    trm_build_opts_init(o, task);
    o->out = out;
    o->note = note;
    g_notes[0] = 0;
}

/* ---------------------------------------------------------------- Sudoku */

/* Row r0 and r1 of a grid string swapped (same band: still a Sudoku with
 * one solution, but another solution grid up to relabelling/transpose). */
static void swap_rows(const char *in, int r0, int r1, char *out) {
    memcpy(out, in, 82);
    memcpy(out + r0 * 9, in + r1 * 9, 9);
    memcpy(out + r1 * 9, in + r0 * 9, 9);
}

/* Digits d -> 10 - d: the same grid up to relabelling (a leak). */
static void relabel(const char *in, char *out) {
    for (int i = 0; i < 81; i++) out[i] = in[i] >= '1' && in[i] <= '9' ? (char)('0' + 10 - (in[i] - '0')) : in[i];
    out[81] = 0;
}

/* question,answer lines of the base puzzle with rows (0,r) swapped, r in rows[]. */
static void sudoku_csv(const char *path, const int *rows, int n, bool relabelled) {
    char text[4096] = "question,answer\n";
    for (int k = 0; k < n; k++) {
        char q[82], a[82];
        swap_rows(Q, 0, rows[k], q);
        swap_rows(A, 0, rows[k], a);
        if (relabelled) {
            char t[82];
            relabel(q, t), memcpy(q, t, 82);
            relabel(a, t), memcpy(a, t, 82);
        }
        size_t len = strlen(text);
        snprintf(text + len, sizeof text - len, "%s,%s\n", q, a);
    }
    tu_write_text(path, text);
}

static void tokens_of(const char *s, int32_t *tok) {
    for (int i = 0; i < 81; i++) tok[i] = s[i] >= '1' && s[i] <= '9' ? s[i] - '0' + 1 : 1;
}

static void test_sudoku_csv(void **state) {
    (void)state;
    static const int rows[4] = {0, 1, 2, 0}; /* the last repeats the first: dropped */
    static const int test_rows[1] = {1};
    sudoku_csv(tpath("in.csv"), rows, 4, false);
    sudoku_csv(tpath("test.csv"), test_rows, 1, true); /* relabelled copy of input 2 */
    trm_build_opts o;
    opts(&o, "sudoku", tpath("ds"));
    o.input = tpath("in.csv");
    o.test_input = tpath("test.csv");
    o.sudoku.aug = 2;
    trm_build_result r;
    trm_err e = {{0}};
    assert_int_equal(trm_build_dataset("sudoku", &o, &r, &e), 0);
    /* 4 puzzles: 1 repeat and 1 sharing a solution grid with the test puzzle leave */
    assert_int_equal(r.train_groups, 2);
    assert_int_equal(r.train_examples, 6);
    assert_int_equal(r.test_examples, 1);
    assert_int_equal(r.leaks_dropped, 1);
    assert_non_null(strstr(r.ratings_json, "\"train\":{\"puzzles\":2,"));
    assert_non_null(strstr(g_notes, "2 usable input puzzles (1 repeats, 0 below --min-nodes, 1 sharing a solution grid"));
    trm_build_result_free(&r);
    assert_true(exists(tpath("ds/ratings.json")));
    assert_true(exists(tpath("ds/identifiers.json")));

    trm_split *s = trm_split_open(tpath("ds"), "train", &e);
    assert_non_null(s);
    assert_int_equal(trm_split_meta(s)->vocab_size, 11);
    assert_int_equal(trm_split_num_groups(s), 2);
    assert_int_equal(trm_split_num_puzzles(s), 6);
    /* group 0 is input 1 (rows 0,0: the base puzzle), original first */
    int32_t in[81], lab[81], want[81];
    trm_split_example(s, 0, in, lab);
    tokens_of(Q, want);
    assert_memory_equal(in, want, sizeof want);
    tokens_of(A, want);
    assert_memory_equal(lab, want, sizeof want);
    trm_split_close(s);
    s = trm_split_open(tpath("ds"), "test", &e);
    assert_non_null(s);
    assert_int_equal(trm_split_num_examples(s), 1);
    trm_split_close(s);
}

static void test_sudoku_holdout_and_test_only(void **state) {
    (void)state;
    static const int rows[3] = {0, 1, 2}, held[1] = {2};
    sudoku_csv(tpath("in.csv"), rows, 3, false);
    sudoku_csv(tpath("held.csv"), held, 1, true);
    trm_build_opts o;
    opts(&o, "sudoku", tpath("ho"));
    o.input = tpath("in.csv");
    o.sudoku.holdout = tpath("held.csv");
    o.sudoku.test_only = true;
    o.sudoku.ratings = tpath("ratings.csv");
    trm_build_result r;
    trm_err e;
    assert_int_equal(trm_build_dataset("sudoku", &o, &r, &e), 0);
    assert_int_equal(r.leaks_dropped, 1);
    assert_int_equal(r.train_examples, 0);
    assert_int_equal(r.test_examples, 2);
    trm_build_result_free(&r);
    assert_false(exists(tpath("ho/train")));
    assert_true(exists(tpath("ho/test/dataset.json")));
    assert_true(exists(tpath("ratings.csv")));
}

static void test_sudoku_errors(void **state) {
    (void)state;
    trm_build_opts o;
    trm_build_result r;
    trm_err e;
    tu_write_text(tpath("bad.csv"), "question,answer\n12345,1\n");
    opts(&o, "sudoku", tpath("bad"));
    o.input = tpath("bad.csv");
    assert_int_equal(trm_build_dataset("sudoku", &o, &r, &e), -1);
    assert_contains(e.msg, "bad.csv:2: expected 81 cells");
    assert_false(exists(tpath("bad")));
    /* two solutions: the 17-clue puzzle without its last clue */
    char q[82], text[256];
    memcpy(q, Q, 82);
    q[77] = '.';
    snprintf(text, sizeof text, "%s\n", q);
    tu_write_text(tpath("two.txt"), text);
    o.input = tpath("two.txt");
    assert_int_equal(trm_build_dataset("sudoku", &o, &r, &e), -1);
    assert_contains(e.msg, "two.txt:1:");
    assert_false(exists(tpath("bad")));
    /* sizes: more train puzzles than the inputs hold */
    static const int rows[2] = {0, 1};
    sudoku_csv(tpath("two.csv"), rows, 2, false);
    o.input = tpath("two.csv");
    o.train_size = 3;
    assert_int_equal(trm_build_dataset("sudoku", &o, &r, &e), -1);
    assert_string_equal(e.msg, "--train-size 3: only 2 puzzles available");
    assert_false(exists(tpath("bad")));
    /* the ranges the CLI's options allow hold for library callers too */
    o.train_size = -1, o.sudoku.aug = -1;
    assert_int_equal(trm_build_dataset("sudoku", &o, &r, &e), -1);
    assert_string_equal(e.msg, "aug -1: expected 0..1000000");
    o.sudoku.aug = 0, o.train_size = 0;
    assert_int_equal(trm_build_dataset("sudoku", &o, &r, &e), -1);
    assert_string_equal(e.msg, "train_size 0: expected -1 (all) or 1..1073741824");
    o.train_size = -1, o.sudoku.test_only = true, o.test_input = tpath("two.csv");
    assert_int_equal(trm_build_dataset("sudoku", &o, &r, &e), -1);
    assert_contains(e.msg, "--test-only writes only a test split of --input");
    assert_false(exists(tpath("bad")));
    assert_int_equal(trm_build_dataset("nosuch", &o, &r, &e), -1);
    assert_string_equal(e.msg, "unknown task 'nosuch'");
}

/* ---------------------------------------------------------------- Sudoku 4x4 */

static void test_sudoku4(void **state) {
    (void)state;
    trm_build_opts o;
    opts(&o, "sudoku4", tpath("s4"));
    assert_int_equal(o.train_size, 2000); /* the defaults */
    assert_int_equal(o.sudoku4.blanks, 8);
    o.train_size = 20, o.test_size = 5;
    trm_build_result r;
    trm_err e;
    assert_int_equal(trm_build_dataset("sudoku4", &o, &r, &e), 0);
    assert_int_equal(r.train_examples, 20);
    trm_split *s = trm_split_open(tpath("s4"), "test", &e);
    assert_non_null(s);
    assert_int_equal(trm_split_meta(s)->seq_len, 16);
    assert_int_equal(trm_split_num_examples(s), 5);
    trm_split_close(s);
}

/* ---------------------------------------------------------------- Maze */

/* Four 4x4 mazes (a corridor in each row), the first one twice. */
static const char *MAZES =
    "question,answer\n"
    "S  G############,SooG############\n"
    "####S  G########,####SooG########\n"
    "########G  S####,########GooS####\n"
    "############S  G,############SooG\n"
    "S  G############,SooG############\n";

static void test_maze_csv(void **state) {
    (void)state;
    tu_write_text(tpath("m.csv"), MAZES);
    trm_build_opts o;
    opts(&o, "maze", tpath("mz"));
    o.input = tpath("m.csv");
    o.test_size = 1;
    o.maze.aug = true;
    trm_build_result r;
    trm_err e;
    assert_int_equal(trm_build_dataset("maze", &o, &r, &e), 0);
    assert_int_equal(r.train_groups, 3);
    assert_int_equal(r.train_examples, 24); /* 8 dihedral versions each */
    assert_int_equal(r.test_examples, 1);
    assert_non_null(strstr(g_notes, "4 usable 4x4 input mazes (1 repeats, 0 also in --test-input dropped); train 3 x 8 versions, test 1"));
    trm_split *s = trm_split_open(tpath("mz"), "train", &e);
    assert_non_null(s);
    assert_int_equal(trm_split_meta(s)->vocab_size, 6);
    assert_int_equal(trm_split_num_groups(s), 3);
    /* every version: one S (3), one G (4), two path cells (5), 12 walls */
    for (int64_t i = 0; i < trm_split_num_examples(s); i++) {
        int32_t in[16], lab[16];
        int count[6] = {0};
        trm_split_example(s, i, in, lab);
        for (int k = 0; k < 16; k++) count[lab[k]]++, assert_true(in[k] == lab[k] || (in[k] == 2 && lab[k] == 5));
        assert_int_equal(count[1], 12);
        assert_int_equal(count[3], 1);
        assert_int_equal(count[4], 1);
        assert_int_equal(count[5], 2);
    }
    /* version 1 of group 0 is the 90-degree turn of version 0: not equal */
    int32_t v0[16], v1[16], lab[16];
    trm_split_example(s, 0, v0, lab);
    trm_split_example(s, 1, v1, lab);
    assert_memory_not_equal(v0, v1, sizeof v0);
    trm_split_close(s);
}

static void test_maze_errors(void **state) {
    (void)state;
    trm_build_opts o;
    trm_build_result r;
    trm_err e;
    tu_write_text(tpath("bad.csv"), "question,answer\nS  G############,SooG############\nSS G############,SooG############\n");
    opts(&o, "maze", tpath("mbad"));
    o.input = tpath("bad.csv");
    assert_int_equal(trm_build_dataset("maze", &o, &r, &e), -1);
    assert_contains(e.msg, "bad.csv:3: question: 2 'S' cells; expected exactly one");
    assert_false(exists(tpath("mbad")));
    /* a test input of another size */
    tu_write_text(tpath("m.csv"), MAZES);
    tu_write_text(tpath("big.csv"), "question,answer\nS  G#####################,SooG#####################\n");
    o.input = tpath("m.csv");
    o.test_input = tpath("big.csv");
    assert_int_equal(trm_build_dataset("maze", &o, &r, &e), -1);
    assert_contains(e.msg, "big.csv: 5x5 mazes; expected 4x4 like the --input mazes");
    assert_false(exists(tpath("mbad")));
    /* test mazes that are all the inputs: nothing left to train on */
    o.test_input = tpath("m.csv");
    assert_int_equal(trm_build_dataset("maze", &o, &r, &e), -1);
    assert_string_equal(e.msg, "no input mazes left: 1 repeats, 4 also in --test-input");
}

/* ---------------------------------------------------------------- ARC */

static void arc_task_file(const char *path, int seed) {
    char text[512];
    snprintf(text, sizeof text,
             "{\"train\": [{\"input\": [[%d, 1], [2, 3]], \"output\": [[3, 2], [1, %d]]}], "
             "\"test\": [{\"input\": [[0, %d], [4, 0]], \"output\": [[%d, 0], [0, 4]]}]}",
             seed, seed, seed, seed);
    tu_write_text(path, text);
}

static void arc_folders(void) {
    mkdir(tpath("tr"), 0777);
    mkdir(tpath("ev"), 0777);
    arc_task_file(tpath("tr/aaaa0001.json"), 5);
    arc_task_file(tpath("tr/aaaa0002.json"), 6);
    arc_task_file(tpath("ev/bbbb0001.json"), 7);
}

static void test_arc_folders(void **state) {
    (void)state;
    arc_folders();
    char subsets[512];
    snprintf(subsets, sizeof subsets, "training=%s,evaluation=%s", tpath("tr"), tpath("ev"));
    trm_build_opts o;
    opts(&o, "arc", tpath("arc"));
    assert_int_equal(o.seed, 42); /* the reference's */
    o.arc.subsets = subsets;
    o.arc.num_aug = 2;
    trm_build_result r;
    trm_err e;
    assert_int_equal(trm_build_dataset("arc", &o, &r, &e), 0);
    assert_int_equal(r.train_groups, 3);
    assert_int_equal(r.train_puzzles, 9); /* 3 versions of each task */
    assert_int_equal(r.test_groups, 1);
    assert_int_equal(r.test_puzzles, 3);
    assert_int_equal(r.identifiers, 10); /* "<blank>" and 9 versions */
    assert_int_equal(r.short_groups, 0);
    /* train: both pairs of the training tasks, only the demonstration of the test set's */
    assert_int_equal(r.train_examples, 2 * 3 * 2 + 1 * 3);
    assert_int_equal(r.test_examples, 3);
    assert_non_null(strstr(g_notes, "3 tasks, 10 identifiers; 0 of 3 groups short of 3 versions"));
    FILE *f = fopen(tpath("arc/test_puzzles.json"), "r");
    assert_non_null(f);
    char buf[1024] = {0};
    assert_true(fread(buf, 1, sizeof buf - 1, f) > 0);
    fclose(f);
    assert_non_null(strstr(buf, "{\"bbbb0001\": {\"train\": [{\"input\": [[7, 1], [2, 3]]"));
    trm_split *s = trm_split_open(tpath("arc"), "test", &e);
    assert_non_null(s);
    assert_int_equal(trm_split_meta(s)->seq_len, 900);
    assert_int_equal(trm_split_meta(s)->num_puzzle_identifiers, 10);
    trm_split_close(s);
}

static void test_arc_errors(void **state) {
    (void)state;
    arc_folders();
    char subsets[512];
    trm_build_opts o;
    trm_build_result r;
    trm_err e;
    snprintf(subsets, sizeof subsets, "training=%s", tpath("tr"));
    opts(&o, "arc", tpath("abad"));
    o.arc.subsets = subsets;
    assert_int_equal(trm_build_dataset("arc", &o, &r, &e), -1);
    assert_contains(e.msg, "--test-set evaluation: not one of --subsets (training=");
    assert_false(exists(tpath("abad")));
    o.arc.subsets = "training"; /* Kaggle files without a prefix */
    assert_int_equal(trm_build_dataset("arc", &o, &r, &e), -1);
    assert_string_equal(e.msg, "subset 'training': give --input-prefix for Kaggle files, or NAME=DIR for a folder");
    /* a malformed task file: named in the message, or left out with skip_bad */
    tu_write_text(tpath("ev/bad.json"), "{\"train\": [{\"input\": [[1]]}]}");
    snprintf(subsets, sizeof subsets, "training=%s,evaluation=%s", tpath("tr"), tpath("ev"));
    o.arc.subsets = subsets;
    o.arc.num_aug = 0;
    assert_int_equal(trm_build_dataset("arc", &o, &r, &e), -1);
    assert_contains(e.msg, "bad.json");
    assert_false(exists(tpath("abad")));
    o.arc.skip_bad = true;
    assert_int_equal(trm_build_dataset("arc", &o, &r, &e), 0);
    assert_contains(g_notes, "skipped: ");
    assert_int_equal(r.train_groups, 3);
    o.seed = 1ull << 32;
    assert_int_equal(trm_build_dataset("arc", &o, &r, &e), -1);
    assert_string_equal(e.msg, "seed 4294967296: expected 0..4294967295");
}

/* ---------------------------------------------------------------- generators */

static char *read_all(const char *path) {
    FILE *f = fopen(path, "r");
    assert_non_null(f);
    static char buf[1 << 16];
    size_t n = fread(buf, 1, sizeof buf - 1, f);
    buf[n] = 0;
    fclose(f);
    return buf;
}

/* New Sudoku puzzles: the same file for a seed, one solution each, and
 * they build a dataset. */
static void test_sudoku_gen(void **state) {
    (void)state;
    trm_gen_opts g;
    trm_gen_opts_init(&g, "sudoku");
    assert_int_equal(g.sudoku.max_tries, 100); /* the defaults */
    g.out = tpath("g1.csv"), g.count = 4, g.seed = 7, g.sudoku.min_blanks = 50;
    trm_gen_result r;
    trm_err e;
    assert_int_equal(trm_generate_puzzles("sudoku", &g, &r, &e), 0);
    char first[4096];
    snprintf(first, sizeof first, "%s", read_all(tpath("g1.csv")));
    g.out = tpath("g2.csv");
    assert_int_equal(trm_generate_puzzles("sudoku", &g, &r, &e), 0);
    assert_string_equal(read_all(tpath("g2.csv")), first);
    assert_int_equal(strncmp(first, "question,answer\n", 16), 0);
    int lines = 0, blanks = 0;
    for (const char *p = first; *p; p++) lines += *p == '\n';
    for (const char *p = first + 16; *p && *p != ','; p++) blanks += *p == '.';
    assert_int_equal(lines, 5);
    assert_true(blanks >= 50);
    trm_build_opts o;
    opts(&o, "sudoku", tpath("gds"));
    o.input = tpath("g1.csv");
    trm_build_result br;
    assert_int_equal(trm_build_dataset("sudoku", &o, &br, &e), 0); /* every puzzle solved, one solution */
    assert_int_equal(br.train_groups, 4);
    trm_build_result_free(&br);
    /* a target no grid reaches: nothing written */
    g.out = tpath("g3.csv"), g.count = 1, g.sudoku.min_nodes = 1000000, g.sudoku.max_tries = 1;
    assert_int_equal(trm_generate_puzzles("sudoku", &g, &r, &e), -1);
    assert_string_equal(e.msg, "puzzle 1: no grid of 1 tried reached --min-nodes 1000000 and --min-blanks 50 "
                               "(lower them or raise --max-tries)");
    assert_false(exists(tpath("g3.csv")));
    assert_int_equal(trm_generate_puzzles("arc", &g, &r, &e), -1);
    assert_string_equal(e.msg, "task arc has no puzzle generator");
}

static void test_maze_gen(void **state) {
    (void)state;
    trm_gen_opts g;
    trm_gen_opts_init(&g, "maze");
    g.out = tpath("m.csv"), g.count = 6, g.seed = 3, g.maze.side = 6, g.maze.min_path = 5;
    trm_gen_result r;
    trm_err e;
    assert_int_equal(trm_generate_puzzles("maze", &g, &r, &e), 0);
    assert_true(r.path_min >= 5 && r.path_max >= r.path_min && r.path_mean >= r.path_min);
    trm_build_opts o;
    opts(&o, "maze", tpath("mds"));
    o.input = tpath("m.csv");
    trm_build_result br;
    assert_int_equal(trm_build_dataset("maze", &o, &br, &e), 0); /* every maze passes the checks */
    assert_true(br.train_groups >= 1);
    g.maze.min_path = 36;
    assert_int_equal(trm_generate_puzzles("maze", &g, &r, &e), -1);
    assert_string_equal(e.msg, "--min-path 36: a 6x6 maze has paths of at most 35 moves");
    g.out = tpath("m2.csv"), g.maze.side = 3, g.maze.min_path = 8, g.maze.max_tries = 2;
    assert_int_equal(trm_generate_puzzles("maze", &g, &r, &e), -1);
    assert_contains(e.msg, "maze 1: none of 2 random boards had a path of >= 8 moves");
    assert_false(exists(tpath("m2.csv")));
    g.maze.wall_lo = 0.5f, g.maze.wall_hi = 0.25f;
    assert_int_equal(trm_generate_puzzles("maze", &g, &r, &e), -1);
    assert_string_equal(e.msg, "walls 0.5-0.25: expected 0 <= LO <= HI < 1");
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_sudoku_csv, setup, teardown),
        cmocka_unit_test_setup_teardown(test_sudoku_holdout_and_test_only, setup, teardown),
        cmocka_unit_test_setup_teardown(test_sudoku_errors, setup, teardown),
        cmocka_unit_test_setup_teardown(test_sudoku4, setup, teardown),
        cmocka_unit_test_setup_teardown(test_maze_csv, setup, teardown),
        cmocka_unit_test_setup_teardown(test_maze_errors, setup, teardown),
        cmocka_unit_test_setup_teardown(test_arc_folders, setup, teardown),
        cmocka_unit_test_setup_teardown(test_arc_errors, setup, teardown),
        cmocka_unit_test_setup_teardown(test_sudoku_gen, setup, teardown),
        cmocka_unit_test_setup_teardown(test_maze_gen, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
