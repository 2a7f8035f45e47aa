/* build.c - the dataset builders' entry point and shared helpers (see
 * build.h). Library code: errors go to the caller's trm_err, notes and
 * progress to its callbacks. */
#include "tasks/build.h"

#include <errno.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "core/rng.h"
#include "core/util.h"
#include "io/fileio.h"
#include "tasks/task.h"

/* ---------------------------------------------------------------- entry point */

void trm_build_opts_init(trm_build_opts *o, const char *task) {
    *o = (trm_build_opts){.train_size = -1};
    const trm_task *t = task ? trm_task_by_name(task) : NULL;
    if (t && t->build_defaults) t->build_defaults(o);
}

int trm_build_dataset(const char *task, const trm_build_opts *o, trm_build_result *res, trm_err *err) {
    memset(res, 0, sizeof *res);
    const trm_task *t = task ? trm_task_by_name(task) : NULL;
    if (!t) return trm_errf(err, "unknown task '%s'", task ? task : "(null)");
    if (!t->build) return trm_errf(err, "task %s has no dataset builder", t->name);
    if (!o->out) return trm_errf(err, "no output directory given");
    int rc = t->build(o, res, err);
    if (rc) trm_build_result_free(res);
    return rc;
}

void trm_build_result_free(trm_build_result *res) {
    free(res->ratings_json);
    res->ratings_json = NULL;
}

void trm_gen_opts_init(trm_gen_opts *o, const char *task) {
    *o = (trm_gen_opts){.count = 1};
    const trm_task *t = task ? trm_task_by_name(task) : NULL;
    if (t && t->gen_defaults) t->gen_defaults(o);
}

int trm_generate_puzzles(const char *task, const trm_gen_opts *o, trm_gen_result *res, trm_err *err) {
    memset(res, 0, sizeof *res);
    const trm_task *t = task ? trm_task_by_name(task) : NULL;
    if (!t) return trm_errf(err, "unknown task '%s'", task ? task : "(null)");
    if (!t->generate) return trm_errf(err, "task %s has no puzzle generator", t->name);
    if (!o->out || o->count < 1) return trm_errf(err, "no output file or no puzzles to generate");
    return t->generate(o, res, err);
}

FILE *build_tmp_open(const char *out, char tmp[BUILD_PATH], trm_err *err) {
    return io_tmp_fopen(out, tmp, BUILD_PATH, err);
}

int build_tmp_commit(FILE *f, int werr, const char *tmp, const char *out, trm_err *err) {
    if (werr) {
        int en = errno ? errno : EIO;
        io_tmp_commit(f, tmp, out, false, NULL); /* discards tmp */
        remove(tmp);
        return trm_errf(err, "%s: write failed: %s", out, strerror(en));
    }
    if (io_tmp_commit(f, tmp, out, true, err)) {
        remove(tmp);
        return -1;
    }
    return 0;
}

int build_check_range(const char *name, long v, long lo, long hi, trm_err *err) {
    return v < lo || v > hi ? trm_errf(err, "%s %ld: expected %ld..%ld", name, v, lo, hi) : 0;
}

/* ---------------------------------------------------------------- reporting */

void build_note(const trm_build_opts *o, const char *fmt, ...) {
    if (!o->note) return;
    char line[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(line, sizeof line, fmt, ap);
    va_end(ap);
    o->note(o->ctx, line);
}

void build_progress(const trm_build_opts *o, long done, long total, const char *fmt, ...) {
    if (!o->progress) return;
    char line[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(line, sizeof line, fmt, ap);
    va_end(ap);
    o->progress(o->ctx, line, done, total);
}

/* ---------------------------------------------------------------- small helpers */

int *build_iota(int n) {
    int *a = malloc(sizeof(int) * (n ? n : 1));
    for (int k = 0; a && k < n; k++) a[k] = k;
    return a;
}

uint64_t build_fnv1a(const void *bytes, size_t n) {
    const uint8_t *b = bytes;
    uint64_t h = 1469598103934665603ull;
    for (size_t i = 0; i < n; i++) h = (h ^ b[i]) * 1099511628211ull;
    return h;
}

void build_item_rng(uint64_t rng[4], uint64_t seed, long k) {
    rng_seed(rng, seed ^ (0x9E3779B97F4A7C15ull * (uint64_t)(k + 1)));
}

double build_now_s(void) { return util_now_s(); }

long build_generate_all(const trm_gen_opts *o, build_item_fn make, void *ctx, size_t scratch_bytes,
                        build_gen_stats *st) {
    long failed = -1, done = 0;
    double t0 = build_now_s();
    *st = (build_gen_stats){0, LONG_MAX, LONG_MIN};
#pragma omp parallel
    {
        void *scratch = scratch_bytes ? malloc(scratch_bytes) : NULL;
#pragma omp for schedule(dynamic, 1)
        for (long k = 0; k < o->count; k++) {
            long f, v = 0;
#pragma omp atomic read
            f = failed;
            if (f >= 0) continue; /* give up early */
            uint64_t rng[4];
            build_item_rng(rng, o->seed, k);
            int rc = scratch_bytes && !scratch ? -1 : make(ctx, k, rng, scratch, &v);
#pragma omp critical /* unnamed: a named one is a global symbol of libtrm.so */
            {
                if (rc && (failed < 0 || k < failed)) failed = k;
                done++;
                if (rc == 0) {
                    st->sum += v;
                    if (v < st->min) st->min = v;
                    if (v > st->max) st->max = v;
                }
                if (o->progress) o->progress(o->ctx, done, o->count, build_now_s() - t0);
            }
        }
        free(scratch);
    }
    return failed;
}

int build_each_file(const char *list, int (*each)(const char *file, void *ctx, trm_err *err), void *ctx,
                    trm_err *err) {
    char *copy = strdup(list); /* strtok_r writes into it */
    if (!copy) return trm_errf(err, "out of memory");
    int rc = 0;
    for (char *save = NULL, *f = strtok_r(copy, ",", &save); f && rc == 0; f = strtok_r(NULL, ",", &save))
        rc = each(f, ctx, err);
    free(copy);
    return rc ? -1 : 0;
}

/* ---------------------------------------------------------------- output folder */

int build_make_dir(const char *dir, bool *created, trm_err *err) { return io_mkdir_p(dir, created, err); }

int build_prepare_out(const char *dir, bool *created, trm_err *err) {
    if (build_make_dir(dir, created, err)) return -1;
    trm_err e;
    return io_probe_dir(dir, &e) ? trm_errf(err, "%s: not writable (%s)", dir, e.msg) : 0;
}

void build_remove_tree(const char *dir) { io_remove_tree(dir); }

/* ---------------------------------------------------------------- splits */

static int cmp_int(const void *x, const void *y) { return *(const int *)x - *(const int *)y; }

int *build_draw_split(int n, int n_test, int n_train, uint64_t rng[4]) {
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

int build_plan_sizes(const char *noun, long test_size, long train_size, int pool_n, bool external_test,
                     int *n_train, int *n_test, trm_err *err) {
    *n_test = external_test ? 0 : (int)test_size;
    if (*n_test > pool_n)
        return trm_errf(err, "--test-size %d: only %d %s available in the inputs", *n_test, pool_n, noun);
    int left = pool_n - *n_test;
    *n_train = train_size < 0 ? left : (int)train_size;
    if (*n_train > left)
        return trm_errf(err, "--train-size %d: only %d %s available%s", *n_train, left, noun,
                        *n_test ? " after the test split" : "");
    if (*n_train < 1)
        return trm_errf(err, "no %s left for the train split (%d available, %d for test)", noun, pool_n, *n_test);
    return 0;
}

int build_write_dataset(const char *dir, trm_split_writer *train, trm_split_writer *test, trm_err *err) {
    static const char *const names[1] = {"<blank>"};
    if (split_writer_finish(train, dir, "train", 1, err) || split_writer_finish(test, dir, "test", 1, err) ||
        dataset_write_identifiers(dir, names, 1, err))
        return -1;
    return 0;
}

/* ---------------------------------------------------------------- row sets */

int build_rowset_init(build_rowset *s, const void *rows, size_t len, int n) {
    size_t cap = 16;
    while (cap < 2 * (size_t)n) cap *= 2;
    s->rows = rows, s->len = len, s->mask = cap - 1;
    if (!(s->slot = malloc(sizeof(int) * cap))) return -1;
    memset(s->slot, 0xff, sizeof(int) * cap);
    return 0;
}

bool build_rowset_has(build_rowset *s, const void *q, int add) {
    for (size_t h = build_fnv1a(q, s->len) & s->mask;; h = (h + 1) & s->mask) {
        int k = s->slot[h];
        if (k < 0) {
            if (add >= 0) s->slot[h] = add;
            return false;
        }
        if (!memcmp(s->rows + (size_t)k * s->len, q, s->len)) return true;
    }
}
