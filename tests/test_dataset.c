/* test_dataset.c - the puzzle dataset format (spec 4.1) and loader (spec
 * 3.5): writer -> reader round trips, one test per validation error (a
 * valid split with one file corrupted), the loader's sampling rules,
 * exact resume, and interop with the reference's numpy-based format
 * through tests/reference/check_dataset_interop.py.
 *
 * Test datasets use seq_len 4 and vocab 17 and encode the example index
 * in the input tokens (4 bits per position, +1), so that every batch row
 * can be traced back to its example. Puzzle p has identifier p + 1. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <dirent.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/rng.h"
#include "data/dataset.h"
#include "io/npy.h"
#include "testutil.h"

#define SEQ 4
#define VOCAB 17

/* ---------------------------------------------------------------- fixtures */

TU_TMP_DIR_GROUP(group_setup, group_teardown, "/tmp/trm_dataset_XXXXXX")

static int enc_input(int64_t ex, int k) { return (int)((ex >> (4 * k)) & 15) + 1; }
static int enc_label(int64_t ex, int k) { return (int)((ex + k) % VOCAB); } /* 0 = ignored */

static int64_t decode_example(const int32_t *row) {
    int64_t ex = 0;
    for (int k = 0; k < SEQ; k++)
        ex |= (int64_t)(row[k] - 1) << (4 * k);
    return ex;
}

/* A layout: n_groups groups, group g with group_sizes[g] puzzles, puzzle p
 * (counted over all groups) with puzzle_sizes[p] examples. */
typedef struct {
    int n_groups;
    const int *group_sizes;
    const int *puzzle_sizes;
} layout;

/* groups {2, 1, 3} puzzles; examples {1,2 | 3 | 1,1,2}: 6 puzzles, 10 examples */
static const int std_groups[] = {2, 1, 3}, std_puzzles[] = {1, 2, 3, 1, 1, 2};
static const layout std_layout = {3, std_groups, std_puzzles};

/* Writes DIR/<split> with the layout; returns the number of puzzles. */
static int write_layout(const char *dir, const char *split, const layout *ly) {
    trm_err err = {{0}};
    trm_split_writer *w = split_writer_new(SEQ, VOCAB);
    assert_non_null(w);
    int p = 0;
    int64_t ex = 0;
    for (int g = 0; g < ly->n_groups; g++) {
        assert_int_equal(split_writer_group(w, &err), 0);
        for (int j = 0; j < ly->group_sizes[g]; j++, p++) {
            assert_int_equal(split_writer_puzzle(w, p + 1, &err), 0);
            for (int e = 0; e < ly->puzzle_sizes[p]; e++, ex++) {
                int32_t in[SEQ], lab[SEQ];
                for (int k = 0; k < SEQ; k++)
                    in[k] = enc_input(ex, k), lab[k] = enc_label(ex, k);
                if (split_writer_example(w, in, lab, &err))
                    fail_msg("%s", err.msg);
            }
        }
    }
    if (split_writer_finish(w, dir, split, p + 1, &err))
        fail_msg("%s", err.msg);
    split_writer_free(w);
    return p;
}

static trm_split *open_ok(const char *dir, const char *split) {
    trm_err err = {{0}};
    trm_split *s = trm_split_open(dir, split, &err);
    if (!s)
        fail_msg("trm_split_open(%s/%s): %s", dir, split, err.msg);
    return s;
}

/* A fresh valid std split in tpath(name); returns DIR (static buffer). */
static const char *fresh(const char *name) {
    static char dir[PATH_MAX];
    snprintf(dir, sizeof dir, "%s", tpath(name));
    write_layout(dir, "train", &std_layout);
    return dir;
}

/* DIR/train/<file>, in a small ring of static buffers. */
static const char *fpath(const char *dir, const char *file) {
    static char ring[4][PATH_MAX];
    static int next;
    char *p = ring[next++ % 4];
    snprintf(p, PATH_MAX, "%s/train/%s", dir, file);
    return p;
}

/* trm_split_open must fail with one line naming file (in DIR/train) and
 * the needles. */
static void expect_open_error(const char *dir, const char *file, const char *needle,
                              const char *needle2) {
    trm_err err = {{0}};
    trm_split *s = trm_split_open(dir, "train", &err);
    if (s) {
        trm_split_close(s);
        fail_msg("trm_split_open(%s) accepted a corrupt split (%s)", dir, needle);
    }
    assert_contains(err.msg, fpath(dir, file));
    assert_contains(err.msg, needle);
    if (needle2)
        assert_contains(err.msg, needle2);
    assert_null(strchr(err.msg, '\n'));
}

static void write_npy(const char *path, const char *descr, int ndim, const int64_t *shape,
                      const void *data) {
    trm_err err = {{0}};
    if (npy_write(path, descr, ndim, shape, data, &err))
        fail_msg("%s", err.msg);
}

static void write_i32(const char *path, const int32_t *v, int64_t n) {
    write_npy(path, "<i4", 1, &n, v);
}

static void write_text(const char *path, const char *txt) {
    FILE *fp = fopen(path, "w");
    assert_non_null(fp);
    fputs(txt, fp);
    assert_int_equal(fclose(fp), 0);
}

static char *read_all(const char *path) {
    FILE *fp = fopen(path, "rb");
    assert_non_null(fp);
    static char buf[8192];
    size_t n = fread(buf, 1, sizeof buf - 1, fp);
    fclose(fp);
    buf[n] = '\0';
    return buf;
}

/* The std split's inputs, as uint8 [10, SEQ]. */
static void std_inputs(uint8_t *out) {
    for (int ex = 0; ex < 10; ex++)
        for (int k = 0; k < SEQ; k++)
            out[ex * SEQ + k] = (uint8_t)enc_input(ex, k);
}

/* ---------------------------------------------------------------- round trip */

static void test_roundtrip(void **state) {
    (void)state;
    const char *dir = fresh("rt");
    const char *names[] = {"<blank>", "a", "b", "c", "d", "e", "f \"quoted\""};
    trm_err err = {{0}};
    assert_int_equal(dataset_write_identifiers(dir, names, 7, &err), 0);
    assert_string_equal(read_all(tpath("rt/identifiers.json")),
                        "[\"<blank>\",\"a\",\"b\",\"c\",\"d\",\"e\",\"f \\\"quoted\\\"\"]");

    trm_split *s = open_ok(dir, "train");
    const trm_dataset_meta *m = trm_split_meta(s);
    assert_int_equal(m->seq_len, SEQ);
    assert_int_equal(m->vocab_size, VOCAB);
    assert_int_equal(m->pad_id, 0);
    assert_true(m->has_ignore_label);
    assert_int_equal(m->ignore_label_id, 0);
    assert_int_equal(m->blank_identifier_id, 0);
    assert_int_equal(m->num_puzzle_identifiers, 7);
    assert_int_equal(m->total_groups, 3);
    assert_int_equal(m->total_puzzles, 3); /* groups, like the reference's Sudoku builder */
    assert_true(m->mean_puzzle_examples == 10.0 / 6.0);
    assert_int_equal(m->n_sets, 1);
    assert_int_equal(trm_split_num_examples(s), 10);
    assert_int_equal(trm_split_num_puzzles(s), 6);
    assert_int_equal(trm_split_num_groups(s), 3);

    int64_t a, b, ex = 0;
    for (int g = 0, p = 0; g < 3; g++) {
        trm_split_group_range(s, g, &a, &b);
        assert_int_equal(a, p);
        assert_int_equal(b, p + std_groups[g]);
        for (; p < b; p++) {
            assert_int_equal(trm_split_puzzle_id(s, p), p + 1);
            trm_split_puzzle_range(s, p, &a, &b);
            assert_int_equal(a, ex);
            assert_int_equal(b, ex + std_puzzles[p]);
            ex = b;
            trm_split_group_range(s, g, &a, &b);
        }
    }
    for (ex = 0; ex < 10; ex++) {
        int32_t in[SEQ], lab[SEQ];
        trm_split_example(s, ex, in, lab);
        for (int k = 0; k < SEQ; k++) {
            assert_int_equal(in[k], enc_input(ex, k));
            int want = enc_label(ex, k);
            assert_int_equal(lab[k], want == 0 ? TRM_IGNORE_LABEL : want);
        }
    }
    trm_split_close(s);

    /* the reference's dtypes and the dataset.json it would write */
    npy_view v;
    assert_int_equal(npy_map(fpath(dir, "all__inputs.npy"), &v, &err), 0);
    assert_string_equal(v.descr, "|u1");
    npy_unmap(&v);
    assert_int_equal(npy_map(fpath(dir, "all__group_indices.npy"), &v, &err), 0);
    assert_string_equal(v.descr, "<i4");
    npy_unmap(&v);
    assert_string_equal(read_all(fpath(dir, "dataset.json")),
                        "{\"pad_id\": 0, \"ignore_label_id\": 0, \"blank_identifier_id\": 0, "
                        "\"vocab_size\": 17, \"seq_len\": 4, \"num_puzzle_identifiers\": 7, "
                        "\"total_groups\": 3, \"mean_puzzle_examples\": 1.6666666666666667, "
                        "\"total_puzzles\": 3, \"sets\": [\"all\"]}");
}

/* Whether dir holds an entry containing needle. */
static bool dir_has(const char *dir, const char *needle) {
    DIR *d = opendir(dir);
    assert_non_null(d);
    bool found = false;
    for (struct dirent *e; (e = readdir(d));)
        found |= strstr(e->d_name, needle) != NULL;
    closedir(d);
    return found;
}

static void test_writer_replaces(void **state) {
    (void)state;
    const char *dir = tpath("deep/er/rep"); /* DIR is created, parents too */
    write_layout(dir, "train", &std_layout);
    static const int g1[] = {1}, p1[] = {2};
    const layout small = {1, g1, p1};
    write_layout(dir, "train", &small);
    trm_split *s = open_ok(dir, "train");
    assert_int_equal(trm_split_num_examples(s), 2);
    assert_int_equal(trm_split_meta(s)->mean_puzzle_examples, 2);
    trm_split_close(s);
    assert_false(dir_has(dir, ".tmp."));
    assert_false(dir_has(dir, ".old."));
    assert_false(dir_has(fpath(dir, ""), ".tmp."));
    /* an empty split (no groups) is a valid format */
    trm_split_writer *w = split_writer_new(SEQ, VOCAB);
    trm_err err = {{0}};
    assert_int_equal(split_writer_finish(w, dir, "test", 1, &err), 0);
    split_writer_free(w);
    s = open_ok(dir, "test");
    assert_int_equal(trm_split_num_examples(s), 0);
    assert_int_equal(trm_split_num_groups(s), 0);
    assert_true(trm_split_meta(s)->mean_puzzle_examples == 0);
    trm_split_close(s);
}

static void test_writer_errors(void **state) {
    (void)state;
    assert_null(split_writer_new(0, VOCAB));
    assert_null(split_writer_new(SEQ, 0));
    assert_null(split_writer_new(SEQ, 257));
    trm_err err = {{0}};
    trm_split_writer *w = split_writer_new(SEQ, VOCAB);
    int32_t in[SEQ] = {1, 2, 3, 4}, lab[SEQ] = {0, 0, 16, 1};
    assert_int_equal(split_writer_puzzle(w, 1, &err), -1);
    assert_contains(err.msg, "before any group");
    assert_int_equal(split_writer_group(w, &err), 0);
    assert_int_equal(split_writer_example(w, in, lab, &err), -1);
    assert_contains(err.msg, "before any puzzle");
    assert_int_equal(split_writer_puzzle(w, -2, &err), -1);
    assert_contains(err.msg, "negative id -2");
    assert_int_equal(split_writer_puzzle(w, 5, &err), 0);
    in[2] = VOCAB;
    assert_int_equal(split_writer_example(w, in, lab, &err), -1);
    assert_contains(err.msg, "example 0 position 2: input token 17 not in [0, vocab_size 17)");
    in[2] = 3, lab[0] = -100;
    assert_int_equal(split_writer_example(w, in, lab, &err), -1);
    assert_contains(err.msg, "label token -100");
    lab[0] = 0;
    assert_int_equal(split_writer_example(w, in, lab, &err), 0);
    assert_int_equal(split_writer_finish(w, tpath("werr"), "train", 5, &err), -1);
    assert_contains(err.msg, "largest puzzle id 5");
    assert_int_equal(split_writer_finish(w, tpath("werr"), "a/b", 6, &err), -1);
    assert_contains(err.msg, "bad split name");
    assert_int_equal(split_writer_finish(w, tpath("werr"), "train", 6, &err), 0);
    split_writer_free(w);
    const char *bad[] = {"<blank>", NULL};
    assert_int_equal(dataset_write_identifiers(tpath("werr"), bad, 2, &err), -1);
    assert_contains(err.msg, "identifier 1: NULL name");
}

/* ---------------------------------------------------------------- validation: arrays */

static void test_bad_inputs_dtype(void **state) {
    (void)state;
    const char *dir = fresh("v_float");
    float x[10 * SEQ] = {0};
    const int64_t sh[2] = {10, SEQ};
    write_npy(fpath(dir, "all__inputs.npy"), "<f4", 2, sh, x);
    expect_open_error(dir, "all__inputs.npy", "descr", "'<f4'");
}

static void test_bad_inputs_shape(void **state) {
    (void)state;
    const char *dir = fresh("v_shape");
    uint8_t x[10 * (SEQ + 1)] = {0};
    const int64_t sh[2] = {10, SEQ + 1};
    write_npy(fpath(dir, "all__inputs.npy"), "|u1", 2, sh, x);
    expect_open_error(dir, "all__inputs.npy", "shape: expected [N, seq_len 4]", "found [10, 5]");
    const int64_t flat = 10 * SEQ;
    write_npy(fpath(dir, "all__inputs.npy"), "|u1", 1, &flat, x);
    expect_open_error(dir, "all__inputs.npy", "shape", "found [40]");
}

static void test_bad_labels_rows(void **state) {
    (void)state;
    const char *dir = fresh("v_rows");
    uint8_t x[9 * SEQ] = {0};
    const int64_t sh[2] = {9, SEQ};
    write_npy(fpath(dir, "all__labels.npy"), "|u1", 2, sh, x);
    expect_open_error(dir, "all__labels.npy", "9 examples", "has 10");
}

static void test_bad_puzzle_indices(void **state) {
    (void)state;
    const char *dir = fresh("v_pidx");
    const char *f = fpath(dir, "all__puzzle_indices.npy");
    const int32_t nonmono[7] = {0, 3, 1, 6, 7, 8, 10};
    write_i32(f, nonmono, 7);
    expect_open_error(dir, "all__puzzle_indices.npy", "index 2: 1 < previous 3", "non-decreasing");
    const int32_t past[7] = {0, 1, 3, 6, 7, 8, 11};
    write_i32(f, past, 7);
    expect_open_error(dir, "all__puzzle_indices.npy", "index 6: last offset 11",
                      "number of examples 10");
    const int32_t start[7] = {1, 1, 3, 6, 7, 8, 10};
    write_i32(f, start, 7);
    expect_open_error(dir, "all__puzzle_indices.npy", "index 0: 1", "start at 0");
    write_i32(f, start, 0);
    expect_open_error(dir, "all__puzzle_indices.npy", "empty", NULL);
    const int64_t sh[2] = {1, 7};
    write_npy(f, "<i4", 2, sh, past);
    expect_open_error(dir, "all__puzzle_indices.npy", "shape", "2-D");
    float fl[7] = {0};
    write_npy(f, "<f4", 1, &sh[1], fl);
    expect_open_error(dir, "all__puzzle_indices.npy", "descr", "integer");
}

static void test_bad_group_indices(void **state) {
    (void)state;
    const char *dir = fresh("v_gidx");
    const char *f = fpath(dir, "all__group_indices.npy");
    const int32_t past[4] = {0, 2, 3, 7};
    write_i32(f, past, 4);
    expect_open_error(dir, "all__group_indices.npy", "last offset 7", "number of puzzles 6");
    const int32_t nonmono[4] = {0, 4, 3, 6};
    write_i32(f, nonmono, 4);
    expect_open_error(dir, "all__group_indices.npy", "index 2: 3 < previous 4", NULL);
}

static void test_bad_puzzle_ids(void **state) {
    (void)state;
    const char *dir = fresh("v_ids");
    const char *f = fpath(dir, "all__puzzle_identifiers.npy");
    int32_t ids[6] = {1, 2, 3, 7, 5, 6};
    write_i32(f, ids, 6);
    expect_open_error(dir, "all__puzzle_identifiers.npy", "puzzle 3: id 7",
                      "[0, num_puzzle_identifiers 7)");
    ids[3] = 4, ids[5] = -1;
    write_i32(f, ids, 6);
    expect_open_error(dir, "all__puzzle_identifiers.npy", "puzzle 5: id -1", NULL);
    write_i32(f, ids, 5);
    expect_open_error(dir, "all__puzzle_identifiers.npy", "shape: expected [6]", "5 elements");
}

static void test_bad_tokens(void **state) {
    (void)state;
    const char *dir = fresh("v_tok");
    uint8_t x[10 * SEQ];
    const int64_t sh[2] = {10, SEQ};
    std_inputs(x);
    x[2 * SEQ + 3] = VOCAB;
    write_npy(fpath(dir, "all__inputs.npy"), "|u1", 2, sh, x);
    expect_open_error(dir, "all__inputs.npy", "example 2 position 3: token 17",
                      "not in [0, vocab_size 17)");
    std_inputs(x);
    write_npy(fpath(dir, "all__inputs.npy"), "|u1", 2, sh, x);
    int16_t neg[10 * SEQ] = {0};
    neg[9 * SEQ + 1] = -3;
    write_npy(fpath(dir, "all__inputs.npy"), "<i2", 2, sh, neg);
    expect_open_error(dir, "all__inputs.npy", "example 9 position 1: token -3", NULL);
    write_npy(fpath(dir, "all__inputs.npy"), "|u1", 2, sh, x);
    uint8_t lab[10 * SEQ] = {0};
    lab[9 * SEQ] = 200;
    write_npy(fpath(dir, "all__labels.npy"), "|u1", 2, sh, lab);
    expect_open_error(dir, "all__labels.npy", "example 9 position 0: token 200", NULL);
}

/* uint8 tokens are checked a 1 MB block at a time: a bad token in the
 * second block (past 2^20 elements) is still found and named exactly, and
 * a clean split of that size opens. */
static void test_bad_token_far(void **state) {
    (void)state;
    enum { N = (1 << 20) / SEQ + 10 };
    trm_err err = {{0}};
    trm_split_writer *w = split_writer_new(SEQ, VOCAB);
    assert_non_null(w);
    assert_int_equal(split_writer_group(w, &err), 0);
    assert_int_equal(split_writer_puzzle(w, 1, &err), 0);
    int32_t in[SEQ] = {1, 2, 3, 4}, lab[SEQ] = {0, 1, 2, 3};
    for (int i = 0; i < N; i++) assert_int_equal(split_writer_example(w, in, lab, &err), 0);
    const char *dir = tpath("v_far");
    assert_int_equal(split_writer_finish(w, dir, "train", 2, &err), 0);
    split_writer_free(w);
    trm_split *ok = trm_split_open(dir, "train", &err);
    assert_non_null(ok);
    trm_split_close(ok);
    /* the data is the file's tail: example N - 3, position 2 */
    FILE *f = fopen(fpath(dir, "all__inputs.npy"), "r+b");
    assert_non_null(f);
    assert_int_equal(fseek(f, -(long)(3 * SEQ - 2), SEEK_END), 0);
    assert_int_equal(fputc(VOCAB + 3, f), VOCAB + 3);
    fclose(f);
    char want[64];
    snprintf(want, sizeof want, "example %d position 2: token %d", N - 3, VOCAB + 3);
    expect_open_error(dir, "all__inputs.npy", want, "not in [0, vocab_size 17)");
}

/* Every integer dtype the reference's astype(np.int32) would take. */
static void test_other_int_dtypes(void **state) {
    (void)state;
    const char *dir = fresh("v_dtypes");
    const char *descrs[] = {"|i1", "<i2", "<u2", "<i4", "<u4", "<i8"};
    const int64_t sh[2] = {10, SEQ};
    for (int d = 0; d < 6; d++) {
        int size = descrs[d][2] - '0';
        uint8_t buf[10 * SEQ * 8] = {0};
        for (int i = 0; i < 10 * SEQ; i++) /* little-endian small values */
            buf[i * size] = (uint8_t)enc_input(i / SEQ, i % SEQ);
        write_npy(fpath(dir, "all__inputs.npy"), descrs[d], 2, sh, buf);
        trm_split *s = open_ok(dir, "train");
        int32_t in[SEQ], lab[SEQ];
        trm_split_example(s, 7, in, lab);
        assert_int_equal(decode_example(in), 7);
        trm_split_close(s);
    }
}

static void test_missing_files(void **state) {
    (void)state;
    const char *dir = fresh("v_missing");
    assert_int_equal(remove(fpath(dir, "all__labels.npy")), 0);
    expect_open_error(dir, "all__labels.npy", "cannot open", "No such file");
    assert_int_equal(remove(fpath(dir, "dataset.json")), 0);
    expect_open_error(dir, "dataset.json", "cannot open", NULL);
    dir = fresh("v_missing2");
    assert_int_equal(remove(fpath(dir, "all__group_indices.npy")), 0);
    expect_open_error(dir, "all__group_indices.npy", "cannot open", NULL);
}

/* ---------------------------------------------------------------- validation: dataset.json */

static const char *const meta_keys[10] = {
    "pad_id", "ignore_label_id", "blank_identifier_id", "vocab_size", "seq_len",
    "num_puzzle_identifiers", "total_groups", "mean_puzzle_examples", "total_puzzles", "sets"};

/* The std split's dataset.json with one field omitted (omit < 0: none)
 * or given a replacement value text. */
static void write_meta(const char *dir, int field, const char *value) {
    static const char *const vals[10] = {"0", "0", "0", "17", "4", "7", "3", "1.66", "3",
                                         "[\"all\"]"};
    char txt[1024] = "{";
    for (int i = 0; i < 10; i++) {
        if (i == field && !value)
            continue;
        size_t n = strlen(txt);
        snprintf(txt + n, sizeof txt - n, "%s\"%s\": %s", n > 1 ? ", " : "", meta_keys[i],
                 i == field ? value : vals[i]);
    }
    strcat(txt, "}");
    write_text(fpath(dir, "dataset.json"), txt);
}

static void test_meta_missing_fields(void **state) {
    (void)state;
    const char *dir = fresh("m_missing");
    for (int f = 0; f < 10; f++) {
        write_meta(dir, f, NULL);
        char needle[64];
        snprintf(needle, sizeof needle, "field '%s'", meta_keys[f]);
        expect_open_error(dir, "dataset.json", needle, "missing");
    }
    write_meta(dir, -1, NULL);
    trm_split_close(open_ok(dir, "train"));
}

static void test_meta_bad_values(void **state) {
    (void)state;
    const char *dir = fresh("m_bad");
    static const struct {
        int field;
        const char *value, *needle, *needle2;
    } cases[] = {
        {3, "\"17\"", "field 'vocab_size'", "expected an integer"},
        {3, "true", "field 'vocab_size'", "expected an integer"},
        {4, "4.5", "field 'seq_len'", "expected an integer"},
        {4, "0", "field 'seq_len'", "outside [1,"},
        {0, "17", "field 'pad_id'", "not < vocab_size 17"},
        {2, "7", "field 'blank_identifier_id'", "outside [0, 6]"},
        {1, "\"x\"", "field 'ignore_label_id'", "integer or null"},
        {7, "\"1\"", "field 'mean_puzzle_examples'", "number"},
        {9, "[\"train\"]", "field 'sets'", "\"all\""},
        {9, "\"all\"", "field 'sets'", "list of strings"},
        {9, "[\"all\", 3]", "field 'sets'", "element 1"},
        {6, "4", "field 'total_groups'", "holds 3 groups"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        write_meta(dir, cases[i].field, cases[i].value);
        expect_open_error(dir, "dataset.json", cases[i].needle, cases[i].needle2);
    }
    write_text(fpath(dir, "dataset.json"), "{\"pad_id\": 0,");
    expect_open_error(dir, "dataset.json", "not valid JSON", NULL);
    write_text(fpath(dir, "dataset.json"), "[1]");
    expect_open_error(dir, "dataset.json", "JSON object", NULL);
    /* accepted variants: integral floats, extra sets, a large ignore id */
    write_meta(dir, 3, "17.0");
    trm_split_close(open_ok(dir, "train"));
    write_meta(dir, 9, "[\"all\", \"other\"]");
    trm_split *s = open_ok(dir, "train");
    assert_int_equal(trm_split_meta(s)->n_sets, 2);
    trm_split_close(s);
}

/* null ignore_label_id: labels keep their 0s; any label must then be a
 * vocabulary token. With an ignore id outside the vocabulary, labels may
 * hold it (it becomes -100). */
static void test_meta_ignore_label(void **state) {
    (void)state;
    const char *dir = fresh("m_null");
    write_meta(dir, 1, "null");
    trm_split *s = open_ok(dir, "train");
    assert_false(trm_split_meta(s)->has_ignore_label);
    int32_t in[SEQ], lab[SEQ];
    trm_split_example(s, 0, in, lab); /* example 0: labels 0 1 2 3 */
    assert_int_equal(lab[0], 0);
    trm_split_close(s);

    uint8_t x[10 * SEQ] = {0};
    x[5] = 255;
    const int64_t sh[2] = {10, SEQ};
    write_npy(fpath(dir, "all__labels.npy"), "|u1", 2, sh, x);
    expect_open_error(dir, "all__labels.npy", "example 1 position 1: token 255", NULL);
    write_meta(dir, 1, "255");
    s = open_ok(dir, "train");
    trm_split_example(s, 1, in, lab);
    assert_int_equal(lab[1], TRM_IGNORE_LABEL);
    assert_int_equal(lab[0], 0);
    trm_split_close(s);
}

/* ---------------------------------------------------------------- npy mapping */

static void test_npy_map(void **state) {
    (void)state;
    trm_err err = {{0}};
    npy_view v;
    const int64_t sh[2] = {2, 3};
    const int16_t d[6] = {-1, 2, -300, 4, 5, 32767};
    write_npy(tpath("map.npy"), "<i2", 2, sh, d);
    assert_int_equal(npy_map(tpath("map.npy"), &v, &err), 0);
    assert_int_equal(v.ndim, 2);
    assert_int_equal(v.shape[1], 3);
    assert_int_equal(v.numel, 6);
    assert_int_equal(v.itemsize, 2);
    int64_t a[4];
    int32_t b[4];
    npy_view_get_i64(&v, 2, 4, a);
    npy_view_get_i32(&v, 2, 4, b);
    assert_int_equal(a[0], -300);
    assert_int_equal(b[3], 32767);
    npy_unmap(&v);
    npy_unmap(&v); /* idempotent */
    const uint64_t big[1] = {1};
    const int64_t one = 1;
    write_npy(tpath("map_u8.npy"), "<u8", 1, &one, big);
    assert_int_equal(npy_map(tpath("map_u8.npy"), &v, &err), -1);
    assert_contains(err.msg, "unsupported dtype '<u8'");
    assert_null(v.map);
    assert_int_equal(npy_map(tpath("nothere.npy"), &v, &err), -1);
    assert_contains(err.msg, "nothere.npy");
}

/* ---------------------------------------------------------------- loader */

typedef struct {
    int32_t in[64 * SEQ], lab[64 * SEQ], ids[64];
} batch_buf;

static trm_loader *loader_ok(const trm_split *s, int batch, bool train, uint64_t seed) {
    trm_err err = {{0}};
    trm_loader *l = loader_new(s, batch, train, seed, &err);
    if (!l)
        fail_msg("loader_new: %s", err.msg);
    return l;
}

static int64_t group_of_puzzle(const trm_split *s, int64_t p) {
    for (int64_t g = 0;; g++) {
        int64_t a, b;
        trm_split_group_range(s, g, &a, &b);
        if (p < b)
            return g;
    }
}

/* Checks one train batch of B rows against the rules of spec 3.5: runs of
 * one puzzle each, distinct examples of that puzzle, every run complete
 * except possibly the last (truncated at the batch end). Marks the groups
 * used in group_seen (a group at most once per epoch) and counts each
 * puzzle in puzzle_hits. */
static void check_train_batch(const trm_split *s, const batch_buf *bb, int B, bool *group_seen,
                              int *puzzle_hits) {
    for (int r = 0; r < B;) {
        int64_t p = bb->ids[r] - 1, a, b;
        trm_split_puzzle_range(s, p, &a, &b);
        int run = 0;
        bool used[64] = {false};
        for (; r + run < B && bb->ids[r + run] == bb->ids[r]; run++) {
            int64_t ex = decode_example(bb->in + (r + run) * SEQ);
            assert_true(ex >= a && ex < b);
            if (used[ex - a]) {
                /* the same puzzle again right away: only possible where the
                 * batch crosses into the next epoch */
                assert_null(group_seen);
                break;
            }
            used[ex - a] = true;
            for (int k = 0; k < SEQ; k++) {
                int want = enc_label(ex, k);
                assert_int_equal(bb->lab[(r + run) * SEQ + k], want ? want : TRM_IGNORE_LABEL);
            }
        }
        if (r + run < B)
            assert_int_equal(run, b - a); /* only the batch's last run is truncated */
        int64_t g = group_of_puzzle(s, p);
        if (group_seen) { /* NULL when a batch may straddle two epochs */
            assert_false(group_seen[g]);
            group_seen[g] = true;
        }
        puzzle_hits[p]++;
        r += run;
    }
}

/* One example per puzzle (Sudoku-like): 10 groups of 3 puzzles. */
static const int sud_groups[10] = {3, 3, 3, 3, 3, 3, 3, 3, 3, 3};
static const int sud_puzzles[30] = {1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1,
                                    1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1};
static const layout sud_layout = {10, sud_groups, sud_puzzles};

/* Several examples per puzzle, some larger than the batch (ARC-like). */
static const int arc_groups[6] = {2, 2, 2, 2, 2, 2};
static const int arc_puzzles[12] = {3, 3, 1, 2, 5, 4, 2, 2, 1, 1, 3, 1};
static const layout arc_layout = {6, arc_groups, arc_puzzles};

static void test_loader_one_example_puzzles(void **state) {
    (void)state;
    write_layout(tpath("l_sud"), "train", &sud_layout);
    trm_split *s = open_ok(tpath("l_sud"), "train");
    int puzzle_hits[30] = {0};
    /* B = 5 divides the 10 groups: every group exactly once per epoch */
    trm_loader *l = loader_ok(s, 5, true, 7);
    batch_buf bb;
    int64_t first_order[10], order[10];
    bool some_epoch_differs = false;
    for (int e = 0; e < 6; e++) {
        bool seen[10] = {false};
        for (int i = 0; i < 2; i++) {
            assert_int_equal(loader_next(l, bb.in, bb.lab, bb.ids), 5);
            trm_loader_state st;
            loader_get_state(l, &st);
            assert_int_equal(st.epoch, e);
            assert_true(loader_epoch_progress(l) == (i + 1) * 0.5);
            check_train_batch(s, &bb, 5, seen, puzzle_hits);
            for (int r = 0; r < 5; r++)
                order[i * 5 + r] = group_of_puzzle(s, bb.ids[r] - 1);
        }
        for (int g = 0; g < 10; g++)
            assert_true(seen[g]);
        if (e == 0)
            memcpy(first_order, order, sizeof order);
        else
            some_epoch_differs |= memcmp(first_order, order, sizeof order) != 0;
    }
    assert_true(some_epoch_differs);
    loader_free(l);

    /* B = 4: batches run on across epoch boundaries (nothing dropped), so
     * every 5 batches (20 rows) cover exactly two epochs: each group twice */
    l = loader_ok(s, 4, true, 7);
    for (int w = 0; w < 16; w++) {
        int count[10] = {0};
        for (int i = 0; i < 5; i++) {
            assert_int_equal(loader_next(l, bb.in, bb.lab, bb.ids), 4);
            check_train_batch(s, &bb, 4, NULL, puzzle_hits);
            for (int r = 0; r < 4; r++) count[group_of_puzzle(s, bb.ids[r] - 1)]++;
        }
        for (int g = 0; g < 10; g++)
            assert_int_equal(count[g], 2);
        trm_loader_state st;
        loader_get_state(l, &st);
        assert_int_equal(st.epoch, 2 * w + 1); /* the epoch advances lazily */
    }
    loader_free(l);

    /* iterations of one epoch: the reference's drop-last, 2 of 10 groups
     * per epoch never reach a batch */
    l = loader_ok(s, 4, true, 7);
    loader_set_iteration(l, 1);
    for (int e = 0; e < 20; e++) {
        bool seen[10] = {false};
        int used = 0;
        for (int i = 0; i < 2; i++) {
            assert_int_equal(loader_next(l, bb.in, bb.lab, bb.ids), 4);
            trm_loader_state st;
            loader_get_state(l, &st);
            assert_int_equal(st.epoch, e);
            check_train_batch(s, &bb, 4, seen, puzzle_hits);
        }
        for (int g = 0; g < 10; g++) used += seen[g];
        assert_int_equal(used, 8);
    }
    for (int p = 0; p < 30; p++) /* the puzzle choice reaches every version */
        assert_true(puzzle_hits[p] > 0);
    loader_free(l);
    trm_split_close(s);
}

static void test_loader_multi_example_puzzles(void **state) {
    (void)state;
    write_layout(tpath("l_arc"), "train", &arc_layout);
    trm_split *s = open_ok(tpath("l_arc"), "train");
    int puzzle_hits[12] = {0};
    batch_buf bb;
    trm_loader *l = loader_ok(s, 4, true, 3);
    int64_t epoch = 0;
    int64_t first_of_p4[5], orders_differ = 0, have_p4 = 0;
    for (int i = 0; i < 300; i++) {
        assert_int_equal(loader_next(l, bb.in, bb.lab, bb.ids), 4);
        trm_loader_state st;
        loader_get_state(l, &st);
        epoch = st.epoch;
        check_train_batch(s, &bb, 4, NULL, puzzle_hits);
        /* puzzle 4 (5 examples, truncated to at most 4): its order varies */
        if (bb.ids[0] == 5) {
            if (!have_p4++)
                for (int r = 0; r < 4; r++)
                    first_of_p4[r] = decode_example(bb.in + r * SEQ);
            else
                orders_differ += decode_example(bb.in) != first_of_p4[0];
        }
    }
    assert_true(epoch > 20);
    for (int p = 0; p < 12; p++)
        assert_true(puzzle_hits[p] > 0);
    assert_true(orders_differ > 0);
    loader_free(l);

    /* a batch larger than any puzzle: runs of several puzzles per batch */
    l = loader_ok(s, 9, true, 3);
    for (int i = 0; i < 50; i++) {
        assert_int_equal(loader_next(l, bb.in, bb.lab, bb.ids), 9);
        check_train_batch(s, &bb, 9, NULL, puzzle_hits);
    }
    loader_free(l);
    trm_split_close(s);
}

static bool same_batches(trm_loader *a, trm_loader *b, int B, int n) {
    batch_buf x, y;
    for (int i = 0; i < n; i++) {
        int na = loader_next(a, x.in, x.lab, x.ids);
        int nb = loader_next(b, y.in, y.lab, y.ids);
        if (na != nb || memcmp(x.in, y.in, sizeof(int32_t) * B * SEQ) ||
            memcmp(x.lab, y.lab, sizeof(int32_t) * B * SEQ) ||
            memcmp(x.ids, y.ids, sizeof(int32_t) * B))
            return false;
    }
    return true;
}

static void test_loader_determinism(void **state) {
    (void)state;
    write_layout(tpath("l_det"), "train", &arc_layout);
    trm_split *s = open_ok(tpath("l_det"), "train");
    trm_loader *a = loader_ok(s, 4, true, 11), *b = loader_ok(s, 4, true, 11);
    trm_loader *c = loader_ok(s, 4, true, 12);
    assert_true(same_batches(a, b, 4, 40));
    loader_rewind(a);
    loader_rewind(b);
    assert_false(same_batches(a, c, 4, 40));
    loader_rewind(a);
    trm_loader *d = loader_ok(s, 4, true, 11);
    assert_true(same_batches(a, d, 4, 40)); /* rewind = a new loader */
    loader_free(a);
    loader_free(b);
    loader_free(c);
    loader_free(d);
    trm_split_close(s);
}

static void test_loader_test_mode(void **state) {
    (void)state;
    /* puzzle 1 is empty: example 2 belongs to puzzle 2 (id 3) */
    static const int g[2] = {2, 1}, p[3] = {2, 0, 3};
    const layout ly = {2, g, p};
    write_layout(tpath("l_test"), "test", &ly);
    trm_split *s = open_ok(tpath("l_test"), "test");
    static const int32_t want_ids[5] = {1, 1, 3, 3, 3};
    trm_loader *l = loader_ok(s, 3, false, 0);
    batch_buf bb;
    for (int pass = 0; pass < 2; pass++) {
        int64_t next_ex = 0;
        for (int i = 0; i < 2; i++) {
            int n = loader_next(l, bb.in, bb.lab, bb.ids);
            assert_int_equal(n, i == 0 ? 3 : 2);
            for (int r = 0; r < n; r++, next_ex++) {
                assert_int_equal(decode_example(bb.in + r * SEQ), next_ex);
                assert_int_equal(bb.ids[r], want_ids[next_ex]);
            }
            for (int r = n; r < 3; r++) {
                assert_int_equal(bb.ids[r], 0);
                for (int k = 0; k < SEQ; k++) {
                    assert_int_equal(bb.in[r * SEQ + k], 0);
                    assert_int_equal(bb.lab[r * SEQ + k], TRM_IGNORE_LABEL);
                }
            }
        }
        assert_true(loader_epoch_progress(l) == 1.0);
        assert_int_equal(loader_next(l, bb.in, bb.lab, bb.ids), 0);
        assert_int_equal(loader_next(l, bb.in, bb.lab, bb.ids), 0);
        loader_rewind(l);
    }
    loader_free(l);
    /* test mode takes any batch size, even beyond the split */
    l = loader_ok(s, 64, false, 0);
    assert_int_equal(loader_next(l, bb.in, bb.lab, bb.ids), 5);
    loader_free(l);
    trm_split_close(s);
}

/* Loader A runs k batches; B starts from A's state; both must agree on
 * the next m batches. */
static void check_resume(const trm_split *s, int B, bool train, int k, int m) {
    trm_loader *a = loader_ok(s, B, train, 5), *b = loader_ok(s, B, train, 5);
    batch_buf bb;
    for (int i = 0; i < k; i++)
        loader_next(a, bb.in, bb.lab, bb.ids);
    trm_loader_state st;
    loader_get_state(a, &st);
    trm_err err = {{0}};
    assert_int_equal(loader_set_state(b, &st, &err), 0);
    if (!same_batches(a, b, B, m))
        fail_msg("resume after %d batches (B=%d, train=%d) diverged", k, B, train);
    loader_free(a);
    loader_free(b);
}

static void test_loader_resume(void **state) {
    (void)state;
    write_layout(tpath("l_res"), "train", &arc_layout);
    write_layout(tpath("l_res2"), "train", &sud_layout);
    trm_split *s = open_ok(tpath("l_res"), "train"), *s2 = open_ok(tpath("l_res2"), "train");
    static const int ks[] = {0, 1, 2, 3, 5, 8, 13, 21};
    for (size_t i = 0; i < sizeof ks / sizeof ks[0]; i++) {
        check_resume(s, 4, true, ks[i], 12);  /* truncated puzzles, dropped tails */
        check_resume(s, 9, true, ks[i], 12);
        check_resume(s2, 5, true, ks[i], 12); /* epoch ends exactly at a batch end */
        check_resume(s2, 3, true, ks[i], 12);
        check_resume(s, 4, false, ks[i] % 5, 6);
    }
    /* a state from a fresh loader restores a fresh loader */
    trm_loader *a = loader_ok(s, 4, true, 5), *b = loader_ok(s, 4, true, 5);
    batch_buf bb;
    trm_loader_state st;
    loader_get_state(b, &st);
    for (int i = 0; i < 7; i++)
        loader_next(b, bb.in, bb.lab, bb.ids);
    trm_err err = {{0}};
    assert_int_equal(loader_set_state(b, &st, &err), 0);
    assert_true(same_batches(a, b, 4, 10));
    loader_free(a);
    loader_free(b);
    trm_split_close(s);
    trm_split_close(s2);
}

static void test_loader_errors(void **state) {
    (void)state;
    const char *dir = fresh("l_err");
    trm_split *s = open_ok(dir, "train");
    trm_err err = {{0}};
    assert_null(loader_new(s, 0, false, 1, &err));
    assert_contains(err.msg, "batch size 0");
    /* an epoch yields at most 2 + 3 + 2 = 7 examples */
    assert_null(loader_new(s, 8, true, 1, &err));
    assert_contains(err.msg, "at most 7 examples");
    trm_loader *l = loader_ok(s, 7, true, 1);
    trm_loader_state st = {0, 1, {0, 0, 0, 0}};
    assert_int_equal(loader_set_state(l, &st, &err), -1);
    assert_contains(err.msg, "all-zero RNG");
    st.rng[2] = 9, st.cursor = 4;
    assert_int_equal(loader_set_state(l, &st, &err), -1);
    assert_contains(err.msg, "cursor 4 out of range");
    st.cursor = 3, st.epoch = -1;
    assert_int_equal(loader_set_state(l, &st, &err), -1);
    st.epoch = 2;
    assert_int_equal(loader_set_state(l, &st, &err), 0);
    loader_free(l);
    /* at the end of epoch 2: the next batch comes from epoch 3 (B = 3 is
     * filled by any puzzle choice, the smallest epoch having 5 examples) */
    l = loader_ok(s, 3, true, 1);
    assert_int_equal(loader_set_state(l, &st, &err), 0);
    batch_buf bb;
    assert_int_equal(loader_next(l, bb.in, bb.lab, bb.ids), 3);
    loader_get_state(l, &st);
    assert_int_equal(st.epoch, 3);
    loader_free(l);
    trm_split_close(s);
}

/* ---------------------------------------------------------------- interop (reference format) */

static const char interop_py[] = "tests/reference/check_dataset_interop.py";

/* The script is found relative to the repository root (tests/run.sh runs
 * from there); elsewhere they fail rather than pass silently. */
static bool have_python(void) {
    return access(interop_py, R_OK) == 0 && access("/usr/bin/python3", X_OK) == 0 &&
           system("/usr/bin/python3 -c 'import numpy' 2>/dev/null") == 0;
}

static void test_reads_reference_built(void **state) {
    (void)state;
    if (!have_python())
        fail_msg("needs /usr/bin/python3 with numpy, run from the repository root (tests/run.sh does)");
    char cmd[PATH_MAX + 128];
    snprintf(cmd, sizeof cmd, "/usr/bin/python3 %s --write %s", interop_py, tpath("ref"));
    assert_int_equal(system(cmd), 0);
    trm_split *s = open_ok(tpath("ref"), "train");
    const trm_dataset_meta *m = trm_split_meta(s);
    assert_int_equal(m->seq_len, 81);
    assert_int_equal(m->vocab_size, 11);
    assert_int_equal(m->num_puzzle_identifiers, 1);
    assert_int_equal(trm_split_num_groups(s), 4);
    assert_int_equal(trm_split_num_puzzles(s), 16);
    assert_int_equal(trm_split_num_examples(s), 16);
    for (int64_t ex = 0; ex < 16; ex++) {
        int32_t in[81], lab[81];
        trm_split_example(s, ex, in, lab);
        for (int k = 0; k < 81; k++) {
            assert_true(lab[k] >= 2 && lab[k] <= 10); /* a full solution */
            assert_true(in[k] == 1 || in[k] == lab[k]); /* blank or the given digit */
        }
    }
    trm_err err = {{0}};
    trm_loader *l = loader_new(s, 4, true, 1, &err);
    assert_non_null(l);
    int32_t in[4 * 81], lab[4 * 81], ids[4];
    assert_int_equal(loader_next(l, in, lab, ids), 4);
    loader_free(l);
    trm_split_close(s);
    s = open_ok(tpath("ref"), "test");
    assert_int_equal(trm_split_num_examples(s), 5);
    trm_split_close(s);
}

static void test_reference_reads_ours(void **state) {
    (void)state;
    if (!have_python())
        fail_msg("needs /usr/bin/python3 with numpy, run from the repository root (tests/run.sh does)");
    const char *dir = fresh("ours");
    write_layout(dir, "test", &arc_layout);
    const char *names[] = {"<blank>", "a", "b", "c", "d", "e", "f", "g", "h", "i", "j", "k", "l"};
    trm_err err = {{0}};
    assert_int_equal(dataset_write_identifiers(dir, names, 13, &err), 0);
    char cmd[PATH_MAX + 128];
    snprintf(cmd, sizeof cmd, "/usr/bin/python3 %s %s", interop_py, dir);
    assert_int_equal(system(cmd), 0);
    /* and it notices damage */
    const int32_t past[4] = {0, 2, 3, 7};
    write_i32(fpath(dir, "all__group_indices.npy"), past, 4);
    snprintf(cmd, sizeof cmd, "/usr/bin/python3 %s %s 2>/dev/null", interop_py, dir);
    assert_int_not_equal(system(cmd), 0);
}

/* dataset_batch_reveal: only cells whose question differs from a kept answer
 * change, each to its answer; 0 reveals nothing; the share revealed is
 * about max_frac / 2 (u uniform in [0, max_frac)); the same stream gives the
 * same batch. */
static void test_batch_reveal(void **state) {
    (void)state;
    enum { R = 200, S = 81 };
    static int32_t in[R * S], lab[R * S], orig[R * S], again[R * S];
    uint64_t rng[4];
    rng_seed(rng, 7);
    int64_t unknown = 0;
    for (int i = 0; i < R * S; i++) {
        lab[i] = i % 13 == 0 ? -100 : 2 + (int)(rng_next(rng) % 9); /* some ignored labels */
        orig[i] = rng_next(rng) % 3 == 0 ? lab[i] : 1;               /* a third given */
        if (orig[i] == -100) orig[i] = 1;
        unknown += lab[i] >= 0 && orig[i] != lab[i];
    }
    memcpy(in, orig, sizeof in);
    rng_seed(rng, 1);
    assert_int_equal(dataset_batch_reveal(in, lab, R, S, 0.0, rng), 0);
    assert_memory_equal(in, orig, sizeof in);
    rng_seed(rng, 1);
    int64_t n = dataset_batch_reveal(in, lab, R, S, 0.8, rng), changed = 0;
    for (int i = 0; i < R * S; i++) {
        if (in[i] == orig[i]) continue;
        changed++;
        assert_true(lab[i] >= 0);
        assert_int_equal(in[i], lab[i]);
    }
    assert_int_equal(changed, n);
    double share = (double)n / (double)unknown; /* expectation 0.4 */
    assert_true(share > 0.33 && share < 0.47);
    memcpy(again, orig, sizeof again);
    rng_seed(rng, 1);
    assert_int_equal(dataset_batch_reveal(again, lab, R, S, 0.8, rng), n);
    assert_memory_equal(again, in, sizeof in);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_roundtrip),
        cmocka_unit_test(test_writer_replaces),
        cmocka_unit_test(test_writer_errors),
        cmocka_unit_test(test_bad_inputs_dtype),
        cmocka_unit_test(test_bad_inputs_shape),
        cmocka_unit_test(test_bad_labels_rows),
        cmocka_unit_test(test_bad_puzzle_indices),
        cmocka_unit_test(test_bad_group_indices),
        cmocka_unit_test(test_bad_puzzle_ids),
        cmocka_unit_test(test_bad_tokens),
        cmocka_unit_test(test_bad_token_far),
        cmocka_unit_test(test_other_int_dtypes),
        cmocka_unit_test(test_missing_files),
        cmocka_unit_test(test_meta_missing_fields),
        cmocka_unit_test(test_meta_bad_values),
        cmocka_unit_test(test_meta_ignore_label),
        cmocka_unit_test(test_npy_map),
        cmocka_unit_test(test_loader_one_example_puzzles),
        cmocka_unit_test(test_loader_multi_example_puzzles),
        cmocka_unit_test(test_loader_determinism),
        cmocka_unit_test(test_batch_reveal),
        cmocka_unit_test(test_loader_test_mode),
        cmocka_unit_test(test_loader_resume),
        cmocka_unit_test(test_loader_errors),
        cmocka_unit_test(test_reads_reference_built),
        cmocka_unit_test(test_reference_reads_ours),
    };
    return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
