/* data_common.c - helpers shared by the `trm data` builders (see
 * data_common.h). Kept out of libtrm: they print CLI error lines. */
#include "cli/data_common.h"

#include <errno.h>
#include <getopt.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"
#include "core/rng.h"
#include "core/util.h"
#include "io/fileio.h"
#include "trm.h"

/* Quiet forms of core/util.h's strict parsers: the builders word their
 * own messages (ranges such as "K1-K2"). */
int data_parse_long(const char *s, long lo, long hi, long *out) {
    long long v;
    if (trm_parse_ll("", s, lo, hi, &v, NULL)) return -1;
    *out = (long)v;
    return 0;
}

int data_parse_u64(const char *s, uint64_t *out) { return trm_parse_u64("", s, out, NULL); }

double data_now_s(void) { return trm_now_s(); }

/* s as a JSON string literal (quotes and backslashes escaped, control
 * characters as \u escapes). */
static void json_string(FILE *f, const char *s) {
    fputc('"', f);
    for (; *s; s++) {
        unsigned char c = (unsigned char)*s;
        if (c == '"' || c == '\\') fprintf(f, "\\%c", c);
        else if (c < 0x20) fprintf(f, "\\u%04x", c);
        else fputc(c, f);
    }
    fputc('"', f);
}

void data_print_summary(long train_groups, long train_examples, long test_examples, const char *out) {
    data_print_summary_extra(train_groups, train_examples, test_examples, out, NULL);
}

void data_print_summary_extra(long train_groups, long train_examples, long test_examples, const char *out,
                              const char *extra) {
    printf("{\"train_groups\":%ld,\"train_examples\":%ld,\"test_examples\":%ld,\"out\":", train_groups,
           train_examples, test_examples);
    json_string(stdout, out);
    printf(extra ? ",%s}\n" : "}\n", extra);
}

int *data_iota(int n) {
    int *a = malloc(sizeof(int) * (n ? n : 1));
    for (int k = 0; a && k < n; k++) a[k] = k;
    return a;
}

uint64_t data_fnv1a(const void *bytes, size_t n) {
    const uint8_t *b = bytes;
    uint64_t h = 1469598103934665603ull;
    for (size_t i = 0; i < n; i++) h = (h ^ b[i]) * 1099511628211ull;
    return h;
}

void data_item_rng(uint64_t rng[4], uint64_t seed, long k) {
    rng_seed(rng, seed ^ (0x9E3779B97F4A7C15ull * (uint64_t)(k + 1)));
}

int data_each_file(const char *cmd, const char *list, int (*each)(const char *cmd, const char *file, void *ctx),
                   void *ctx) {
    char *copy = strdup(list); /* strtok_r writes into it */
    if (!copy) return die(cmd, "out of memory");
    int rc = 0;
    for (char *save = NULL, *f = strtok_r(copy, ",", &save); f && rc == 0; f = strtok_r(NULL, ",", &save))
        rc = each(cmd, f, ctx);
    free(copy);
    return rc;
}

int data_make_dir(const char *cmd, const char *dir, bool *created) {
    trm_err e;
    return io_mkdir_p(dir, created, &e) ? die(cmd, "%s", e.msg) : 0;
}

int data_prepare_out(const char *cmd, const char *dir, bool *created) {
    if (data_make_dir(cmd, dir, created)) return 1;
    trm_err e;
    return io_probe_dir(dir, &e) ? die(cmd, "%s: not writable (%s)", dir, e.msg) : 0;
}

void data_remove_tree(const char *dir) { io_remove_tree(dir); }

static int cmp_int(const void *x, const void *y) { return *(const int *)x - *(const int *)y; }

int *data_draw_split(int n, int n_test, int n_train, uint64_t rng[4]) {
    int *perm = malloc(sizeof(int) * (n ? n : 1));
    if (!perm) return NULL;
    for (int k = 0; k < n; k++) perm[k] = k;
    for (int k = n - 1; k > 0; k--) {
        int j = rng_int(rng, 0, k), t = perm[k];
        perm[k] = perm[j], perm[j] = t;
    }
    qsort(perm, n_test, sizeof(int), cmp_int);
    qsort(perm + n_test, n_train, sizeof(int), cmp_int);
    return perm;
}

int data_split_option(const char *cmd, int c, const char *arg, data_split_opts *s) {
    switch (c) {
    case 'i': s->input = arg; return 1;
    case 'o': s->out = arg; return 1;
    case 't': s->test_input = arg; return 1;
    case 'n':
        if (data_parse_long(arg, 1, 1L << 30, &s->train_size)) return -die(cmd, "--train-size: expected an integer >= 1, got '%s'", arg);
        return 1;
    case 'm':
        if (data_parse_long(arg, 0, 1L << 30, &s->test_size)) return -die(cmd, "--test-size: expected an integer >= 0, got '%s'", arg);
        s->test_size_set = true;
        return 1;
    case 's':
        if (data_parse_u64(arg, &s->seed)) return -die(cmd, "--seed: expected a non-negative integer, got '%s'", arg);
        return 1;
    default: return 0;
    }
}

int data_extra_arg(const char *cmd, int argc, char **argv) {
    return optind < argc ? die(cmd, "unexpected argument '%s' (see trm %s --help)", argv[optind], cmd) : 0;
}

int data_gen_check(const char *cmd, int argc, char **argv, long count, const char *out) {
    if (data_extra_arg(cmd, argc, argv)) return 1;
    if (count < 0 || !out) return die(cmd, "--count and --out are required (see trm %s --help)", cmd);
    return 0;
}

int data_split_check(const char *cmd, int argc, char **argv, const data_split_opts *s) {
    if (data_extra_arg(cmd, argc, argv)) return 1;
    if (!s->input || !s->out) return die(cmd, "--input and --out are required (see trm %s --help)", cmd);
    if (s->test_size_set && s->test_input) return die(cmd, "--test-size and --test-input exclude each other");
    return 0;
}

int data_plan_sizes(const char *cmd, const char *noun, long test_size, long train_size, int pool_n,
                    bool external_test, int *n_train, int *n_test) {
    *n_test = external_test ? 0 : (int)test_size;
    if (*n_test > pool_n) return die(cmd, "--test-size %d: only %d %s available in the inputs", *n_test, pool_n, noun);
    int left = pool_n - *n_test;
    *n_train = train_size < 0 ? left : (int)train_size;
    if (*n_train > left)
        return die(cmd, "--train-size %d: only %d %s available%s", *n_train, left, noun,
                   *n_test ? " after the test split" : "");
    if (*n_train < 1)
        return die(cmd, "no %s left for the train split (%d available, %d for test)", noun, pool_n, *n_test);
    return 0;
}

int data_write_dataset(const char *cmd, const char *dir, trm_split_writer *train, trm_split_writer *test) {
    static const char *const names[1] = {"<blank>"};
    trm_err e;
    if (trm_split_writer_finish(train, dir, "train", 1, &e) || trm_split_writer_finish(test, dir, "test", 1, &e) ||
        trm_write_identifiers(dir, names, 1, &e))
        return die(cmd, "%s", e.msg);
    return 0;
}

FILE *data_open_tmp(const char *cmd, const char *out, char tmp[DATA_TMP_PATH]) {
    trm_err e;
    FILE *f = io_tmp_fopen(out, tmp, DATA_TMP_PATH, &e);
    if (!f) die(cmd, "%s", e.msg);
    return f;
}

int data_commit_tmp(const char *cmd, FILE *f, int werr, const char *tmp, const char *out) {
    trm_err e;
    if (werr) {
        int en = errno ? errno : EIO;
        io_tmp_commit(f, tmp, out, false, NULL); /* discards tmp */
        return die(cmd, "%s: write failed: %s", out, strerror(en));
    }
    if (io_tmp_commit(f, tmp, out, true, &e)) return die(cmd, "%s", e.msg);
    return 0;
}

int data_rowset_init(data_rowset *s, const void *rows, size_t len, int n) {
    size_t cap = 16;
    while (cap < 2 * (size_t)n) cap *= 2;
    s->rows = rows, s->len = len, s->mask = cap - 1;
    if (!(s->slot = malloc(sizeof(int) * cap))) return -1;
    memset(s->slot, 0xff, sizeof(int) * cap);
    return 0;
}

bool data_rowset_has(data_rowset *s, const void *q, int add) {
    for (size_t h = data_fnv1a(q, s->len) & s->mask;; h = (h + 1) & s->mask) {
        int k = s->slot[h];
        if (k < 0) {
            if (add >= 0) s->slot[h] = add;
            return false;
        }
        if (!memcmp(s->rows + (size_t)k * s->len, q, s->len)) return true;
    }
}
