/* test_arc.c - the ARC family: SHA-256 vectors, NumPy's legacy RNG draws,
 * grid and task hashes against values computed with the reference's code,
 * dihedral x colour round trips, the canvas encoding and crop, version
 * names, task-file errors, the task interface, the streaming dataset
 * writer, every shared ARC file (counts of spec 4.4 and the PROVENANCE
 * files), and `trm data arc` determinism (the binary next to build/tests).
 * Byte equality with the reference builder is checked by
 * tests/reference/check_arc_builder.py. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <limits.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "core/nprand.h"
#include "core/rng.h"
#include "core/sha256.h"
#include "data/dataset.h"
#include "tasks/arc.h"
#include "tasks/task.h"
#include "testutil.h"

static char g_trm[PATH_MAX]; /* the trm binary: ../trm from this test */

TU_TMP_DIR_GROUP(group_setup, group_teardown, "/tmp/trm_arc_XXXXXX")

static void random_grid(arc_grid *g, uint64_t rng[4]) {
    g->rows = rng_int(rng, 1, ARC_MAX);
    g->cols = rng_int(rng, 1, ARC_MAX);
    for (int i = 0; i < g->rows * g->cols; i++) g->cell[i] = (uint8_t)rng_int(rng, 0, 9);
}

static void random_perm(uint8_t perm[10], uint64_t rng[4]) {
    for (int c = 0; c < 10; c++) perm[c] = (uint8_t)c;
    for (int k = 9; k > 1; k--) {
        int j = rng_int(rng, 1, k);
        uint8_t t = perm[k];
        perm[k] = perm[j], perm[j] = t;
    }
}

/* ---------------------------------------------------------------- hashes */

static void hex_of(const char *s, size_t n, char hex[65]) {
    uint8_t d[32];
    sha256(s, n, d);
    sha256_hex(d, hex);
}

static void test_sha256_vectors(void **state) {
    (void)state;
    char hex[65];
    hex_of("", 0, hex);
    assert_string_equal(hex, "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
    hex_of("abc", 3, hex);
    assert_string_equal(hex, "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
    const char *m448 = "abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq"; /* FIPS 180-2 */
    hex_of(m448, strlen(m448), hex);
    assert_string_equal(hex, "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1");
    /* a million 'a' in odd-sized pieces: exercises the block buffering */
    static char a[1000];
    memset(a, 'a', sizeof a);
    sha256_ctx c;
    sha256_init(&c);
    for (size_t done = 0, k = 1; done < 1000000; k = k % 997 + 1) {
        size_t n = 1000000 - done < k ? 1000000 - done : k;
        sha256_update(&c, a, n);
        done += n;
    }
    uint8_t d[32];
    sha256_final(&c, d);
    sha256_hex(d, hex);
    assert_string_equal(hex, "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0");
}

/* Values from the reference's grid_hash / puzzle_hash (Python, hashlib). */
static void test_grid_and_task_hash(void **state) {
    (void)state;
    arc_grid a = {2, 3, {1, 2, 3, 4, 5, 6}}, b = {1, 1, {7}};
    char hex[65];
    arc_grid_hash_hex(&a, hex);
    assert_string_equal(hex, "8a85482c8c93e41992c7fef9efca7b25d8e75bcc87bedf3e5f203700a34e9a6a");
    arc_grid_hash_hex(&b, hex);
    assert_string_equal(hex, "b44aeb3ea4489f5a532950e5ff789e718031e15cc04d6f00a26f627895b0ce08");
    arc_pair p[2] = {{a, b}, {b, a}};
    const arc_pair *ptr[2] = {&p[1], &p[0]}; /* order must not matter */
    assert_int_equal(arc_pairs_hash_hex(ptr, 2, hex), 0);
    assert_string_equal(hex, "925d1c91ffa962a57f5cd24bc0a24cb2143447be8b0ceb9276c875006edaae47");
    const arc_pair *one[1] = {&p[0]};
    char hex1[65];
    arc_pairs_hash_hex(one, 1, hex1);
    assert_string_not_equal(hex, hex1);
}

/* ---------------------------------------------------------------- NumPy RNG */

/* np.random.seed(42 / 12345) then the calls below, in NumPy 1.24. */
static void test_numpy_legacy_rng(void **state) {
    (void)state;
    np_rng r;
    np_seed(&r, 42);
    assert_int_equal(np_next32(&r), 1608637542u);
    assert_int_equal(np_next32(&r), 3421126067u);
    assert_int_equal(np_next32(&r), 4083286876u);
    np_seed(&r, 42);
    assert_int_equal(np_randint(&r, 0, 8), 6);
    assert_int_equal(np_randint(&r, 0, 1000), 435);
    uint8_t p[9] = {1, 2, 3, 4, 5, 6, 7, 8, 9}, want[9] = {6, 1, 4, 7, 3, 2, 9, 5, 8};
    np_shuffle(&r, p, 9, 1);
    assert_memory_equal(p, want, 9);
    assert_int_equal(np_randint(&r, 0, 1), 0); /* draws nothing */
    assert_int_equal(np_randint(&r, 0, 23), 20);

    np_seed(&r, 12345);
    const int64_t w30[5] = {2, 5, 29, 1, 4};
    for (int i = 0; i < 5; i++) assert_int_equal(np_randint(&r, 0, 30), w30[i]);
    assert_int_equal(np_randint(&r, 0, 1), 0);
    assert_int_equal(np_randint(&r, 0, 1000000), 896425);
    uint8_t q[9] = {1, 2, 3, 4, 5, 6, 7, 8, 9}, wq[9] = {1, 5, 8, 4, 7, 2, 9, 3, 6};
    np_shuffle(&r, q, 9, 1);
    assert_memory_equal(q, wq, 9);
    int x[20], wx[20] = {4, 12, 19, 3, 15, 8, 0, 5, 17, 14, 7, 6, 2, 1, 10, 13, 11, 9, 18, 16};
    for (int i = 0; i < 20; i++) x[i] = i;
    np_shuffle(&r, x, 20, sizeof *x);
    assert_memory_equal(x, wx, sizeof x);
}

/* ---------------------------------------------------------------- grids */

static void test_dihedral_known(void **state) {
    (void)state;
    /* A = [[1,2,3],[4,5,6]]; rot90 (np.rot90, counter-clockwise) = [[3,6],[2,5],[1,4]] */
    arc_grid a = {2, 3, {1, 2, 3, 4, 5, 6}}, o;
    static const uint8_t want[8][6] = {{1, 2, 3, 4, 5, 6}, {3, 6, 2, 5, 1, 4}, {6, 5, 4, 3, 2, 1},
                                       {4, 1, 5, 2, 6, 3}, {3, 2, 1, 6, 5, 4}, {4, 5, 6, 1, 2, 3},
                                       {1, 4, 2, 5, 3, 6}, {6, 3, 5, 2, 4, 1}};
    for (int t = 0; t < 8; t++) {
        arc_grid_dihedral(&a, t, &o);
        bool swap = t == 1 || t == 3 || t == 6 || t == 7;
        assert_int_equal(o.rows, swap ? 3 : 2);
        assert_int_equal(o.cols, swap ? 2 : 3);
        assert_memory_equal(o.cell, want[t], 6);
    }
    /* colours first, then geometry: D_1(perm(A)) */
    uint8_t perm[10] = {0, 9, 8, 7, 6, 5, 4, 3, 2, 1};
    arc_aug_apply(&a, 1, perm, &o);
    const uint8_t w[6] = {7, 4, 8, 5, 9, 6};
    assert_memory_equal(o.cell, w, 6);
}

static void test_aug_round_trips(void **state) {
    (void)state;
    uint64_t rng[4];
    rng_seed(rng, 7);
    for (int k = 0; k < 400; k++) {
        arc_grid g, a, back;
        uint8_t perm[10];
        random_grid(&g, rng);
        random_perm(perm, rng);
        int t = k % 8;
        arc_aug_apply(&g, t, perm, &a);
        arc_aug_invert(&a, t, perm, &back);
        assert_true(arc_grid_equal(&g, &back));
        /* agrees with the token-board helper of task.c */
        int32_t in[ARC_SEQ_LEN], out[ARC_SEQ_LEN];
        int R, C;
        for (int i = 0; i < g.rows * g.cols; i++) in[i] = perm[g.cell[i]];
        task_dihedral(t, in, g.rows, g.cols, out, &R, &C);
        assert_int_equal(R, a.rows);
        assert_int_equal(C, a.cols);
        for (int i = 0; i < R * C; i++) assert_int_equal(out[i], a.cell[i]);
        /* colour 0 stays 0 */
        for (int i = 0; i < g.rows * g.cols; i++) assert_true((g.cell[i] == 0) == (perm[g.cell[i]] == 0));
    }
}

/* ---------------------------------------------------------------- canvas */

static void test_encode_eos(void **state) {
    (void)state;
    arc_grid g = {2, 3, {1, 2, 3, 4, 5, 6}};
    int32_t tok[ARC_SEQ_LEN];
    arc_encode(&g, 4, 7, tok);
    for (int r = 0; r < 30; r++)
        for (int c = 0; c < 30; c++) {
            int want = ARC_PAD;
            if (r >= 4 && r < 6 && c >= 7 && c < 10) want = g.cell[(r - 4) * 3 + c - 7] + 2;
            else if (r == 6 && c >= 7 && c < 10) want = ARC_EOS; /* below the last row */
            else if (c == 10 && r >= 4 && r < 6) want = ARC_EOS; /* right of the last column */
            assert_int_equal(tok[r * 30 + c], want);
        }
    /* corner (6, 10) stays PAD; a full-height grid has only the column */
    assert_int_equal(tok[6 * 30 + 10], ARC_PAD);
    arc_grid tall = {30, 2, {0}};
    arc_encode(&tall, 0, 28, tok);
    for (int r = 0; r < 30; r++) assert_int_equal(tok[r * 30 + 28], 2);
    int eos = 0;
    for (int i = 0; i < ARC_SEQ_LEN; i++) eos += tok[i] == ARC_EOS;
    assert_int_equal(eos, 0); /* c0 + w == 30 and r0 + h == 30: no room for markers */
    arc_grid wide = {3, 30, {0}};
    arc_encode(&wide, 0, 0, tok);
    for (int c = 0; c < 30; c++) assert_int_equal(tok[3 * 30 + c], ARC_EOS);
}

static void test_crop(void **state) {
    (void)state;
    uint64_t rng[4];
    rng_seed(rng, 11);
    int32_t tok[ARC_SEQ_LEN];
    for (int k = 0; k < 200; k++) {
        arc_grid g, c;
        random_grid(&g, rng);
        arc_encode(&g, 0, 0, tok);
        arc_crop(tok, &c);
        assert_true(arc_grid_equal(&g, &c));
    }
    /* a translated grid shows nothing at the origin */
    arc_grid g = {2, 2, {1, 1, 1, 1}}, c;
    arc_encode(&g, 1, 0, tok);
    arc_crop(tok, &c);
    assert_int_equal(c.rows * c.cols, 0);
    /* ragged predictions: rows narrow the width; the first largest area wins.
     * row 0: 5 colours, row 1: 3, row 2: 3, row 3: EOS -> 5x1=5, 3x2=6, 3x3=9 */
    memset(tok, 0, sizeof tok);
    for (int c0 = 0; c0 < 5; c0++) tok[c0] = 3;
    for (int r = 1; r < 3; r++)
        for (int c0 = 0; c0 < 3; c0++) tok[r * 30 + c0] = 11;
    tok[3 * 30] = ARC_EOS;
    int rows, cols;
    arc_crop_size(tok, &rows, &cols);
    assert_int_equal(rows, 3);
    assert_int_equal(cols, 3);
    /* 12 and beyond are not colours */
    tok[1] = 12;
    arc_crop_size(tok, &rows, &cols);
    assert_int_equal(rows, 3);
    assert_int_equal(cols, 1);
}

/* ---------------------------------------------------------------- names */

static void test_version_names(void **state) {
    (void)state;
    uint8_t perm[10] = {0, 3, 1, 2, 9, 8, 7, 6, 5, 4}, p[10];
    char name[64], id[32];
    int t;
    assert_int_equal(arc_version_name("007bbfb7", 5, perm, name, sizeof name), 26);
    assert_string_equal(name, "007bbfb7|||t5|||0312987654");
    assert_int_equal(arc_parse_version(name, id, sizeof id, &t, p), 0);
    assert_string_equal(id, "007bbfb7");
    assert_int_equal(t, 5);
    assert_memory_equal(p, perm, 10);
    assert_int_equal(arc_parse_version("Copy3", id, sizeof id, &t, p), 0);
    assert_string_equal(id, "Copy3");
    assert_int_equal(t, 0);
    for (int c = 0; c < 10; c++) assert_int_equal(p[c], c);
    assert_int_equal(arc_version_name("007bbfb7", 5, perm, name, 20), -1); /* does not fit */
    const char *bad[] = {"a|||t8|||0123456789", "a|||x1|||0123456789", "a|||t1|||0123456788",
                         "a|||t1|||012345678", "a|||t1|||01234567890", "a|||t1||0123456789", "a|||t1|||01234x6789"};
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++)
        if (arc_parse_version(bad[i], id, sizeof id, &t, p) != -1) fail_msg("accepted '%s'", bad[i]);
    assert_int_equal(arc_parse_version("averyveryverylongid", id, 8, &t, p), -1);
}

/* ---------------------------------------------------------------- files */

static const char *GOOD = "{\"test\": [{\"input\": [[1]], \"output\": [[2]]}], "
                          "\"train\": [{\"input\": [[1, 2], [3, 4]], \"output\": [[4, 3], [2, 1]]}]}";

static void test_load_good(void **state) {
    (void)state;
    mkdir(tpath("good"), 0777);
    mkdir(tpath("good/sub"), 0777);
    tu_write_text(tpath("good/b1.json"), GOOD);
    tu_write_text(tpath("good/sub/a2.json"), "{\"train\": [{\"input\": [[0]], \"output\": [[0, 0]]}], "
                                           "\"test\": [{\"input\": [[5]]}]}");
    arc_set s = {0};
    trm_err e;
    assert_int_equal(arc_load_dir(tpath("good"), false, &s, &e), 0);
    assert_int_equal(s.n, 2); /* sorted by path: b1.json < sub/a2.json */
    assert_string_equal(s.tasks[0].id, "b1");
    assert_string_equal(s.tasks[1].id, "a2");
    assert_true(s.tasks[0].test_first);
    assert_false(s.tasks[1].test_first);
    assert_true(s.tasks[0].test_outputs);
    assert_false(s.tasks[1].test_outputs); /* missing output: the dummy [[0]] */
    assert_int_equal(s.tasks[1].test[0].out.rows, 1);
    assert_int_equal(s.tasks[1].test[0].out.cell[0], 0);
    const arc_grid *g = &s.tasks[0].train[0].in;
    assert_int_equal(g->rows, 2);
    assert_int_equal(ARC_AT(g, 1, 0), 3);
    arc_set_free(&s);
}

/* One malformed task -> an error naming the file, the task and the place. */
static void expect_bad(const char *json, const char *needle) {
    const char *path = tpath("bad/t9.json");
    mkdir(tpath("bad"), 0777);
    tu_write_text(path, json);
    arc_set s = {0};
    trm_err e;
    if (arc_load_dir(tpath("bad"), false, &s, &e) != -1) fail_msg("accepted %s", json);
    assert_int_equal(s.n, 0);
    assert_contains(e.msg, path);
    if (!strstr(needle, "JSON")) assert_contains(e.msg, "task t9");
    assert_contains(e.msg, needle);
    arc_set_free(&s);
    remove(path);
}

static void test_load_errors(void **state) {
    (void)state;
    expect_bad("{\"train\": [{\"input\": [[1, 2], [3]], \"output\": [[1]]}], \"test\": [{\"input\": [[1]]}]}",
               "train pair 1 input: row 2 has 1 cells, row 1 has 2");
    expect_bad("{\"train\": [{\"input\": [[1, 10]], \"output\": [[1]]}], \"test\": [{\"input\": [[1]]}]}",
               "cell (1, 2) is out of range");
    expect_bad("{\"train\": [{\"input\": [[-1]], \"output\": [[1]]}], \"test\": [{\"input\": [[1]]}]}",
               "cell (1, 1) is out of range");
    expect_bad("{\"train\": [{\"input\": [[1.5]], \"output\": [[1]]}], \"test\": [{\"input\": [[1]]}]}",
               "out of range");
    expect_bad("{\"train\": [{\"input\": [[\"1\"]], \"output\": [[1]]}], \"test\": [{\"input\": [[1]]}]}",
               "not a number");
    expect_bad("{\"train\": [{\"input\": [[true]], \"output\": [[1]]}], \"test\": [{\"input\": [[1]]}]}",
               "not a number");
    expect_bad("{\"train\": [{\"input\": [[1]]}], \"test\": [{\"input\": [[1]]}]}", "train pair 1 output: missing");
    expect_bad("{\"train\": [{\"input\": [[1]], \"output\": [[1]]}]}", "missing \"test\"");
    expect_bad("{\"test\": [{\"input\": [[1]]}]}", "missing \"train\"");
    expect_bad("{\"train\": [], \"test\": [{\"input\": [[1]]}]}", "\"train\" has no pairs");
    expect_bad("{\"train\": {}, \"test\": [{\"input\": [[1]]}]}", "\"train\" is not a list");
    expect_bad("{\"train\": [[1]], \"test\": [{\"input\": [[1]]}]}", "train pair 1 is not an object");
    expect_bad("{\"train\": [{\"input\": [], \"output\": [[1]]}], \"test\": [{\"input\": [[1]]}]}", "0 rows");
    expect_bad("{\"train\": [{\"input\": [[]], \"output\": [[1]]}], \"test\": [{\"input\": [[1]]}]}",
               "row 1 has 0 cells");
    expect_bad("{\"train\": [{\"input\": [1, 2], \"output\": [[1]]}], \"test\": [{\"input\": [[1]]}]}",
               "row 1 is not a list");
    expect_bad("[1, 2]", "not an object");
    expect_bad("{\"train\": [{\"input\": [[1]], \"output\": [[1]]}],\n \"test\": [{\"input\": [[1]]}", "line 2: not valid JSON");
    /* 31 rows, and 31 columns */
    char big[4096];
    strcpy(big, "{\"train\": [{\"input\": [");
    for (int r = 0; r < 31; r++) strcat(big, r ? ", [1]" : "[1]");
    strcat(big, "], \"output\": [[1]]}], \"test\": [{\"input\": [[1]]}]}");
    expect_bad(big, "train pair 1 input: 31 rows (expected 1..30)");
    strcpy(big, "{\"train\": [{\"input\": [[1]], \"output\": [[1]]}], \"test\": [{\"input\": [[1]], \"output\": [[");
    for (int c = 0; c < 31; c++) strcat(big, c ? ", 0" : "0");
    strcat(big, "]]}]}");
    expect_bad(big, "test pair 1 output: row 1 has 31 cells (expected 1..30)");
}

static void test_skip_bad(void **state) {
    (void)state;
    mkdir(tpath("mixed"), 0777);
    tu_write_text(tpath("mixed/ok.json"), GOOD);
    tu_write_text(tpath("mixed/x1.json"), "{\"train\": 3, \"test\": []}");
    tu_write_text(tpath("mixed/x2.json"), "{ nope");
    arc_set s = {0};
    trm_err e;
    assert_int_equal(arc_load_dir(tpath("mixed"), false, &s, &e), -1);
    assert_contains(e.msg, "x1.json");
    arc_set_free(&s);
    assert_int_equal(arc_load_dir(tpath("mixed"), true, &s, &e), 0);
    assert_int_equal(s.n, 1);
    assert_string_equal(s.tasks[0].id, "ok");
    assert_int_equal(s.n_skipped, 2);
    assert_contains(s.skipped[0], "x1.json");
    assert_contains(s.skipped[1], "x2.json");
    arc_set_free(&s);
}

static void test_kaggle_errors(void **state) {
    (void)state;
    tu_write_text(tpath("k_challenges.json"), "{\"aa\": {\"train\": [{\"input\": [[1]], \"output\": [[2]]}], "
                                           "\"test\": [{\"input\": [[3]]}, {\"input\": [[4]]}]}}");
    tu_write_text(tpath("k_sol_ok.json"), "{\"aa\": [[[5]], [[6, 7]]]}");
    tu_write_text(tpath("k_sol_short.json"), "{\"aa\": [[[5]]]}");
    tu_write_text(tpath("k_sol_none.json"), "{\"bb\": []}");
    tu_write_text(tpath("k_sol_bad.json"), "{\"aa\": [[[5]], [[6, 17]]]}");
    arc_set s = {0};
    trm_err e;
    assert_int_equal(arc_load_kaggle(tpath("k_challenges.json"), tpath("k_sol_ok.json"), false, &s, &e), 0);
    assert_int_equal(s.n, 1);
    assert_true(s.tasks[0].test_outputs);
    assert_int_equal(s.tasks[0].test[1].out.cols, 2);
    assert_int_equal(s.tasks[0].test[1].out.cell[1], 7);
    arc_set_free(&s);
    assert_int_equal(arc_load_kaggle(tpath("k_challenges.json"), NULL, false, &s, &e), 0);
    assert_false(s.tasks[0].test_outputs);
    arc_set_free(&s);
    assert_int_equal(arc_load_kaggle(tpath("k_challenges.json"), tpath("k_sol_short.json"), false, &s, &e), -1);
    assert_contains(e.msg, "task aa: expected a list of 2 solution grids");
    arc_set_free(&s);
    assert_int_equal(arc_load_kaggle(tpath("k_challenges.json"), tpath("k_sol_none.json"), false, &s, &e), -1);
    assert_contains(e.msg, "task aa: no solutions");
    arc_set_free(&s);
    assert_int_equal(arc_load_kaggle(tpath("k_challenges.json"), tpath("k_sol_bad.json"), false, &s, &e), -1);
    assert_contains(e.msg, "k_sol_bad.json: task aa: test pair 2 solution: cell (1, 2) is out of range");
    arc_set_free(&s);
    assert_int_equal(arc_load_kaggle(tpath("k_challenges.json"), tpath("k_sol_bad.json"), true, &s, &e), 0);
    assert_int_equal(s.n, 0);
    assert_int_equal(s.n_skipped, 1);
    arc_set_free(&s);
    assert_int_equal(arc_load_kaggle(tpath("missing.json"), NULL, false, &s, &e), -1);
    assert_contains(e.msg, "missing.json: cannot open");
}

/* ---------------------------------------------------------------- task interface */

static void test_task_interface(void **state) {
    (void)state;
    const trm_task *t = trm_task_by_name("arc");
    assert_non_null(t);
    assert_ptr_equal(trm_task_detect(12, 900), t);
    assert_int_equal(t->vocab_size, 12);
    int rows, cols;
    assert_true(t->board(900, &rows, &cols));
    assert_int_equal(rows, 30);
    assert_false(t->board(81, &rows, &cols));
    assert_null(t->parse);
    arc_grid g = {2, 3, {1, 2, 3, 4, 5, 0}};
    int32_t tok[ARC_SEQ_LEN], a[ARC_SEQ_LEN], back[ARC_SEQ_LEN];
    arc_encode(&g, 0, 0, tok);
    char text[1000];
    t->format(tok, 900, text);
    assert_string_equal(text, "123\n450");
    t->crop(tok, 900, &rows, &cols);
    assert_int_equal(rows * 10 + cols, 23);
    assert_int_equal(t->verify(tok, tok, 900), -1);
    uint64_t rng[4];
    rng_seed(rng, 3);
    bool changed = false;
    for (int k = 0; k < 50; k++) {
        trm_aug aug;
        t->draw_aug(900, &aug, rng);
        assert_int_equal(aug.perm[0], 0); /* PAD, EOS and colour 0 stay */
        assert_int_equal(aug.perm[1], 1);
        assert_int_equal(aug.perm[2], 2);
        assert_in_range(aug.dihedral, 0, 7);
        t->apply_aug(&aug, 900, tok, a);
        t->invert_aug(&aug, 900, a, back);
        assert_memory_equal(back, tok, sizeof tok);
        changed |= memcmp(a, tok, sizeof tok) != 0;
    }
    assert_true(changed);
    /* 12 distinct fills: PAD, EOS and the palette */
    trm_cell_style s[12];
    for (int k = 0; k < 12; k++) s[k] = t->style(k, true);
    for (int i = 0; i < 12; i++)
        for (int j = 0; j < i; j++) assert_memory_not_equal(s[i].rgb, s[j].rgb, 3);
    const uint8_t blue[3] = {0x00, 0x74, 0xD9}, maroon[3] = {0x87, 0x0C, 0x25};
    assert_memory_equal(t->style(3, false).rgb, blue, 3);
    assert_memory_equal(t->style(11, false).rgb, maroon, 3);
}

/* ---------------------------------------------------------------- streaming writer */

static void test_stream_writer(void **state) {
    (void)state;
    trm_err e;
    const char *dir = tpath("stream");
    trm_split_writer *w = split_writer_open(dir, "train", 900, 12, &e);
    assert_non_null(w);
    split_writer_count_puzzles(w, true);
    int32_t in[900], lab[900];
    for (int g = 0; g < 3; g++) {
        assert_int_equal(split_writer_group(w, &e), 0);
        for (int p = 0; p < 2; p++) {
            assert_int_equal(split_writer_puzzle(w, 1 + g * 2 + p, &e), 0);
            for (int x = 0; x < 1 + p; x++) {
                for (int i = 0; i < 900; i++) in[i] = (i + g + x) % 12, lab[i] = (i * 7 + p) % 12;
                assert_int_equal(split_writer_example(w, in, lab, &e), 0);
            }
        }
    }
    in[5] = 12; /* out of the vocabulary */
    assert_int_equal(split_writer_example(w, in, lab, &e), -1);
    assert_int_equal(split_writer_finish(w, dir, "train", 7, &e), 0);
    split_writer_free(w);
    trm_split *s = trm_split_open(dir, "train", &e);
    if (!s) fail_msg("%s", e.msg);
    assert_int_equal(trm_split_num_examples(s), 9);
    assert_int_equal(trm_split_num_puzzles(s), 6);
    assert_int_equal(trm_split_meta(s)->total_puzzles, 6); /* count_puzzles */
    trm_split_example(s, 8, in, lab);
    assert_int_equal(in[0], (0 + 2 + 1) % 12);
    assert_int_equal(trm_split_puzzle_id(s, 5), 6);
    trm_split_close(s);
    /* numpy's header: 128 bytes for a 2-D uint8 array, growth padding */
    FILE *f = fopen(tpath("stream/train/all__inputs.npy"), "rb");
    char head[129] = {0};
    assert_int_equal(fread(head, 1, 128, f), 128);
    fclose(f);
    const char *dict = "{'descr': '|u1', 'fortran_order': False, 'shape': (9, 900), }";
    assert_memory_equal(head + 10, dict, strlen(dict));
    for (size_t i = 10 + strlen(dict); i < 127; i++) assert_int_equal(head[i], ' ');
    assert_int_equal(head[127], '\n');
    /* an unfinished stream leaves nothing behind */
    w = split_writer_open(dir, "test", 900, 12, &e);
    assert_non_null(w);
    split_writer_group(w, &e);
    split_writer_puzzle(w, 1, &e);
    split_writer_example(w, lab, lab, &e);
    split_writer_free(w);
    char tmp[64];
    snprintf(tmp, sizeof tmp, "stream/test.tmp.%ld", (long)getpid());
    struct stat st;
    assert_int_not_equal(stat(tpath(tmp), &st), 0);
    assert_int_not_equal(stat(tpath("stream/test"), &st), 0);
}

/* ---------------------------------------------------------------- shared files */

/* The shared data folder, absolute (symlinks use it): a named skip without
 * one, a failure when it lacks the ARC files (tu_shared_need). */
static const char *shared_root(void) {
    static char root[PATH_MAX];
    char data[PATH_MAX];
    snprintf(data, sizeof data, "%s", tu_shared_need("data/arc-kaggle-combined"));
    *strrchr(data, '/') = 0; /* .../data */
    if (!realpath(data, root)) fail_msg("%s: %s", data, strerror(errno));
    return root;
}

static void count(const arc_set *s, int *train, int *test) {
    *train = *test = 0;
    for (int i = 0; i < s->n; i++) *train += s->tasks[i].n_train, *test += s->tasks[i].n_test;
}

/* Spec 4.4's table (Kaggle files) and the PROVENANCE counts (folders). */
static void test_shared_files(void **state) {
    (void)state;
    const char *root = shared_root();
    static const struct {
        const char *what;
        int tasks, train, test;
    } want[] = {{"training", 400, 1302, 416},    {"evaluation", 400, 1363, 419}, {"concept", 160, 427, 480},
                {"training2", 1000, 3232, 1076}, {"evaluation2", 120, 358, 172},
                {"arc-agi-1/training", 400, 1302, 416}, {"arc-agi-1/evaluation", 400, 1363, 419},
                {"arc-agi-2/training", 1000, 3232, 1076}, {"arc-agi-2/evaluation", 120, 359, 167},
                {"conceptarc/corpus", 160, 427, 480},   {"conceptarc/MinimalTasks", 16, 46, 48}};
    for (size_t k = 0; k < sizeof want / sizeof *want; k++) {
        char a[PATH_MAX], b[PATH_MAX];
        arc_set s = {0};
        trm_err e;
        int rc;
        if (strchr(want[k].what, '/')) {
            snprintf(a, sizeof a, "%s/%s", root, want[k].what);
            rc = arc_load_dir(a, false, &s, &e);
        } else {
            snprintf(a, sizeof a, "%s/arc-kaggle-combined/arc-agi_%s_challenges.json", root, want[k].what);
            snprintf(b, sizeof b, "%s/arc-kaggle-combined/arc-agi_%s_solutions.json", root, want[k].what);
            rc = arc_load_kaggle(a, b, false, &s, &e);
        }
        if (rc) fail_msg("%s", e.msg);
        int tr, te;
        count(&s, &tr, &te);
        if (s.n != want[k].tasks || tr != want[k].train || te != want[k].test)
            fail_msg("%s: %d tasks, %d + %d pairs; expected %d, %d + %d", want[k].what, s.n, tr, te, want[k].tasks,
                     want[k].train, want[k].test);
        for (int i = 0; i < s.n; i++) assert_true(s.tasks[i].test_outputs);
        arc_set_free(&s);
    }
}

/* ---------------------------------------------------------------- trm data arc */

static int run(const char *args) {
    char cmd[8192];
    snprintf(cmd, sizeof cmd, "%s data arc %s >/dev/null 2>%s", g_trm, args, tpath("stderr.txt"));
    int rc = system(cmd);
    return WIFEXITED(rc) ? WEXITSTATUS(rc) : -1;
}

static bool same_file(const char *a, const char *b) {
    FILE *fa = fopen(a, "rb"), *fb = fopen(b, "rb");
    bool same = fa && fb;
    while (same) {
        int ca = fgetc(fa), cb = fgetc(fb);
        if (ca != cb) same = false;
        if (ca == EOF) break;
    }
    if (fa) fclose(fa);
    if (fb) fclose(fb);
    return same;
}

static void test_build_deterministic(void **state) {
    (void)state;
    if (access(g_trm, X_OK)) fail_msg("%s: no trm binary next to the tests", g_trm);
    const char *root = shared_root();
    char args[4096];
    /* ConceptARC's first concept folder and three ARC-1 evaluation tasks */
    mkdir(tpath("ev"), 0777);
    const char *ids[3] = {"00576224", "009d5c81", "00dbd492"};
    for (int i = 0; i < 3; i++) {
        char src[PATH_MAX], dst[PATH_MAX];
        snprintf(src, sizeof src, "%s/arc-agi-1/evaluation/%s.json", root, ids[i]);
        snprintf(dst, sizeof dst, "%s/ev/%s.json", tu_dir, ids[i]);
        assert_int_equal(symlink(src, dst), 0);
    }
    const char *fmt = "--subsets concept=%s/conceptarc/corpus/AboveBelow,evaluation=%s --num-aug 8 --seed %d --out %s";
    snprintf(args, sizeof args, fmt, root, tpath("ev"), 5, tpath("b1"));
    assert_int_equal(run(args), 0);
    snprintf(args, sizeof args, fmt, root, tpath("ev"), 5, tpath("b2"));
    assert_int_equal(run(args), 0);
    snprintf(args, sizeof args, fmt, root, tpath("ev"), 6, tpath("b3"));
    assert_int_equal(run(args), 0);
    static const char *files[] = {"identifiers.json", "test_puzzles.json", "train/all__inputs.npy",
                                  "train/all__labels.npy", "train/all__puzzle_identifiers.npy",
                                  "train/dataset.json", "test/all__inputs.npy", "test/all__puzzle_indices.npy"};
    for (size_t i = 0; i < sizeof files / sizeof *files; i++) {
        char a[PATH_MAX], b[PATH_MAX];
        snprintf(a, sizeof a, "%s/b1/%s", tu_dir, files[i]);
        snprintf(b, sizeof b, "%s/b2/%s", tu_dir, files[i]);
        if (!same_file(a, b)) fail_msg("%s differs between two runs with one seed", files[i]);
    }
    char a[PATH_MAX], b[PATH_MAX];
    snprintf(a, sizeof a, "%s/b1/train/all__inputs.npy", tu_dir);
    snprintf(b, sizeof b, "%s/b3/train/all__inputs.npy", tu_dir);
    assert_false(same_file(a, b));
    /* the splits: 13 groups (10 concept + 3 evaluation) of 9 versions at most */
    trm_err e;
    trm_split *s = trm_split_open(tpath("b1"), "train", &e);
    if (!s) fail_msg("%s", e.msg);
    assert_int_equal(trm_split_num_groups(s), 13);
    assert_true(trm_split_num_puzzles(s) <= 13 * 9 && trm_split_num_puzzles(s) > 13 * 5);
    trm_split_close(s);
    s = trm_split_open(tpath("b1"), "test", &e);
    if (!s) fail_msg("%s", e.msg);
    assert_int_equal(trm_split_num_groups(s), 3);
    trm_split_close(s);
}

static void test_build_bad_input(void **state) {
    (void)state;
    mkdir(tpath("badin"), 0777);
    tu_write_text(tpath("badin/ok.json"), GOOD);
    tu_write_text(tpath("badin/zz.json"), "{\"train\": [{\"input\": [[1, 2], [3]], \"output\": [[1]]}], \"test\": []}");
    char args[4096];
    snprintf(args, sizeof args, "--subsets evaluation=%s --out %s", tpath("badin"), tpath("never"));
    assert_int_equal(run(args), 1);
    FILE *f = fopen(tpath("stderr.txt"), "r");
    char msg[1024] = "";
    assert_non_null(f);
    assert_non_null(fgets(msg, sizeof msg, f));
    fclose(f);
    assert_contains(msg, "zz.json: task zz: ");
    struct stat st;
    assert_int_not_equal(stat(tpath("never"), &st), 0); /* nothing written */
    snprintf(args, sizeof args, "--subsets evaluation=%s --skip-bad --num-aug 2 --out %s", tpath("badin"),
             tpath("skipped"));
    assert_int_equal(run(args), 0);
    assert_int_equal(stat(tpath("skipped/train/dataset.json"), &st), 0);
}

int main(int argc, char **argv) {
    (void)argc;
    /* build/tests/test_arc -> build/trm */
    snprintf(g_trm, sizeof g_trm, "%s", argv[0]);
    char *slash = strrchr(g_trm, '/');
    if (slash) *slash = 0;
    else strcpy(g_trm, ".");
    strncat(g_trm, "/../trm", sizeof g_trm - strlen(g_trm) - 1);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_sha256_vectors),     cmocka_unit_test(test_grid_and_task_hash),
        cmocka_unit_test(test_numpy_legacy_rng),   cmocka_unit_test(test_dihedral_known),
        cmocka_unit_test(test_aug_round_trips),    cmocka_unit_test(test_encode_eos),
        cmocka_unit_test(test_crop),               cmocka_unit_test(test_version_names),
        cmocka_unit_test(test_load_good),          cmocka_unit_test(test_load_errors),
        cmocka_unit_test(test_skip_bad),           cmocka_unit_test(test_kaggle_errors),
        cmocka_unit_test(test_task_interface),     cmocka_unit_test(test_stream_writer),
        cmocka_unit_test(test_shared_files),       cmocka_unit_test(test_build_deterministic),
        cmocka_unit_test(test_build_bad_input),
    };
    return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
