/* sudoku_build.c - the Sudoku dataset builders (task_sudoku's and
 * task_sudoku4's build hooks) and their helpers: the leak check and
 * rating distributions (see sudoku_build.h). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tasks/sudoku_build.h"

#include "core/rng.h"
#include "data/dataset.h"
#include "tasks/build.h"
#include "tasks/sudoku.h"
#include "tasks/sudoku4.h"

/* ---------------------------------------------------------------- grid keys */

/* Digits renamed by order of first appearance; blanks (0) stay 0. */
static void relabel(const int8_t g[81], uint8_t out[81]) {
    uint8_t map[10] = {0};
    uint8_t next = 1;
    for (int i = 0; i < 81; i++) {
        int d = g[i];
        if (d < 1 || d > 9) {
            out[i] = 0;
            continue;
        }
        if (!map[d]) map[d] = next++;
        out[i] = map[d];
    }
}

void sudoku_grid_key(const int8_t grid[81], uint8_t key[81]) {
    int8_t t[81];
    uint8_t kt[81];
    for (int r = 0; r < 9; r++)
        for (int c = 0; c < 9; c++) t[c * 9 + r] = grid[r * 9 + c];
    relabel(grid, key);
    relabel(t, kt);
    if (memcmp(kt, key, 81) < 0) memcpy(key, kt, 81);
}

/* ---------------------------------------------------------------- key sets */

int sudoku_keyset_add(sudoku_keyset *s, const int8_t *grids, int n) {
    if (s->n + n > s->cap) {
        int cap = s->n + n > 2 * s->cap ? s->n + n : 2 * s->cap; /* one at a time stays linear */
        uint8_t *k = realloc(s->keys, (size_t)(cap ? cap : 1) * 81);
        if (!k) return -1;
        s->keys = k;
        s->cap = cap;
    }
    for (int k = 0; k < n; k++) sudoku_grid_key(grids + (size_t)k * 81, s->keys + (size_t)(s->n + k) * 81);
    s->n += n;
    return 0;
}

static int cmp_key(const void *x, const void *y) { return memcmp(x, y, 81); }

void sudoku_keyset_seal(sudoku_keyset *s) {
    if (s->n) qsort(s->keys, (size_t)s->n, 81, cmp_key);
}

bool sudoku_keyset_has(const sudoku_keyset *s, const int8_t grid[81]) {
    uint8_t key[81];
    sudoku_grid_key(grid, key);
    return s->n && bsearch(key, s->keys, (size_t)s->n, 81, cmp_key) != NULL;
}

void sudoku_keyset_free(sudoku_keyset *s) {
    free(s->keys);
    memset(s, 0, sizeof *s);
}

int sudoku_mark_leaks(const int8_t *answers, int n, const sudoku_keyset *held, bool *keep) {
    int dropped = 0;
    for (int k = 0; k < n; k++)
        if (keep[k] && sudoku_keyset_has(held, answers + (size_t)k * 81)) keep[k] = false, dropped++;
    return dropped;
}

/* ---------------------------------------------------------------- rating stats */

static int cmp_long(const void *x, const void *y) {
    long a = *(const long *)x, b = *(const long *)y;
    return (a > b) - (a < b);
}

/* Bin of v: 0 for v <= 0, else 1 + floor(log2 v). */
static int hist_bin(long v) {
    int b = 0;
    while (v > 0 && b < SUDOKU_HIST_BINS - 1) v >>= 1, b++;
    return b;
}

/* Nearest rank: the smallest value with at least p of the values <= it. */
static long quantile(const long *sorted, long n, double p) {
    long r = (long)(p * (double)n + 0.999999);
    return sorted[r < 1 ? 0 : r > n ? n - 1 : r - 1];
}

int sudoku_rating_stats_of(const long *v, const int *idx, int n, sudoku_rating_stats *st) {
    memset(st, 0, sizeof *st);
    if (n <= 0) return 0;
    long *s = malloc(sizeof(long) * (size_t)n);
    if (!s) return -1;
    double sum = 0;
    for (int k = 0; k < n; k++) {
        s[k] = v[idx ? idx[k] : k];
        sum += (double)s[k];
    }
    qsort(s, (size_t)n, sizeof(long), cmp_long);
    *st = (sudoku_rating_stats){n, s[0], s[n - 1], quantile(s, n, 0.10), quantile(s, n, 0.25),
                                quantile(s, n, 0.50), quantile(s, n, 0.75), quantile(s, n, 0.90),
                                quantile(s, n, 0.99), sum / n, {0}};
    for (int k = 0; k < n; k++) st->hist[hist_bin(s[k])]++;
    free(s);
    return 0;
}

static void stats_json(FILE *f, const sudoku_rating_stats *st) {
    fprintf(f, "{\"min\":%ld,\"p10\":%ld,\"p25\":%ld,\"median\":%ld,\"p75\":%ld,\"p90\":%ld,\"p99\":%ld,"
            "\"max\":%ld,\"mean\":%.2f,\"hist\":{", st->min, st->p10, st->p25, st->p50, st->p75, st->p90,
            st->p99, st->max, st->mean);
    const char *sep = "";
    for (int b = 0; b < SUDOKU_HIST_BINS; b++) {
        if (!st->hist[b]) continue;
        long lo = b ? 1L << (b - 1) : 0, hi = b ? (long)((1UL << b) - 1) : 0;
        if (lo == hi) fprintf(f, "%s\"%ld\":%ld", sep, lo, st->hist[b]);
        else fprintf(f, "%s\"%ld-%ld\":%ld", sep, lo, hi, st->hist[b]);
        sep = ",";
    }
    fprintf(f, "}}");
}

int sudoku_split_rating_json(FILE *f, const long *nodes, const long *backtracks, const int *idx, int n) {
    sudoku_rating_stats sn, sb;
    if (sudoku_rating_stats_of(nodes, idx, n, &sn) || sudoku_rating_stats_of(backtracks, idx, n, &sb)) return -1;
    fprintf(f, "{\"puzzles\":%d,\"nodes\":", n);
    stats_json(f, &sn);
    fprintf(f, ",\"backtracks\":");
    stats_json(f, &sb);
    fputc('}', f);
    return 0;
}

/* ---------------------------------------------------------------- per-puzzle CSV */

void sudoku_write_ratings_csv(FILE *f, const char *split, const int8_t *q, const int8_t *a, const long *nodes,
                              const long *backtracks, const int *idx, int n) {
    char qs[82], as[82];
    for (int k = 0; k < n; k++) {
        int j = idx ? idx[k] : k;
        for (int i = 0; i < 81; i++) {
            int8_t v = q[(size_t)j * 81 + i];
            qs[i] = v >= 1 && v <= 9 ? (char)('0' + v) : '.';
            as[i] = (char)('0' + a[(size_t)j * 81 + i]);
        }
        qs[81] = as[81] = 0;
        fprintf(f, "%s,%s,%s,%ld,%ld\n", split, qs, as, nodes[j], backtracks[j]);
    }
}

/* ================================================================ the dataset builder
 * (task "sudoku", trm data sudoku): puzzle collections -> a dataset in
 * the reference's format (spec 4.1/4.2), with seeded splits, the leak
 * check and validity-preserving augmentation. Everything is checked
 * (inputs parsed and solved, sizes, output place) before anything is
 * written. */

/* ---------------------------------------------------------------- puzzle pools */

/* Puzzles gathered from several files. */
typedef struct {
    int n, cap;
    int8_t *q, *a;
    long *nodes, *backtracks; /* the rating (sudoku_rating) */
} pool;

static void pool_free(pool *p) {
    free(p->q);
    free(p->a);
    free(p->nodes);
    free(p->backtracks);
    memset(p, 0, sizeof *p);
}

static int pool_add(pool *p, const sudoku_set *s) {
    if (p->n + s->n > p->cap) {
        int cap = p->n + s->n;
        int8_t *q = realloc(p->q, (size_t)cap * 81);
        if (q) p->q = q;
        int8_t *a = q ? realloc(p->a, (size_t)cap * 81) : NULL;
        if (a) p->a = a;
        long *nodes = a ? realloc(p->nodes, sizeof(long) * cap) : NULL;
        if (nodes) p->nodes = nodes;
        long *bt = nodes ? realloc(p->backtracks, sizeof(long) * cap) : NULL;
        if (!bt) return -1;
        p->backtracks = bt;
        p->cap = cap;
    }
    memcpy(p->q + (size_t)p->n * 81, s->q, (size_t)s->n * 81);
    memcpy(p->a + (size_t)p->n * 81, s->a, (size_t)s->n * 81);
    memcpy(p->nodes + p->n, s->nodes, sizeof(long) * s->n);
    memcpy(p->backtracks + p->n, s->backtracks, sizeof(long) * s->n);
    p->n += s->n;
    return 0;
}

/* Adds one file's puzzles to the pool ctx (a build_each_file callback). */
static int load_file(const char *f, void *ctx, trm_err *err) {
    pool *p = ctx;
    sudoku_set s;
    if (sudoku_load(f, &s, err)) return -1;
    int rc = pool_add(p, &s) ? trm_errf(err, "out of memory after %d puzzles", p->n) : 0;
    sudoku_set_free(&s);
    return rc;
}

/* Loads a comma-separated list of files into one pool. */
static int load_files(const char *list, pool *p, trm_err *err) {
    int rc = build_each_file(list, load_file, p, err);
    if (rc == 0 && p->n == 0) rc = trm_errf(err, "no input files in '%s'", list);
    return rc;
}

static int cmp_index(const void *x, const void *y) { return *(const int *)x - *(const int *)y; }

/* Keeps the pool's puzzles that pass keep[], in order. */
static void pool_compact(pool *p, const bool *keep) {
    int m = 0;
    for (int k = 0; k < p->n; k++) {
        if (!keep[k]) continue;
        memmove(p->q + (size_t)m * 81, p->q + (size_t)k * 81, 81);
        memmove(p->a + (size_t)m * 81, p->a + (size_t)k * 81, 81);
        p->backtracks[m] = p->backtracks[k];
        p->nodes[m++] = p->nodes[k];
    }
    p->n = m;
}

/* Drops repeated questions, puzzles easier than min_nodes and (when
 * held is given) puzzles whose solution grid is held out (the leak
 * check, sudoku_build.h). Counts what went. */
static int pool_filter(pool *p, const sudoku_keyset *held, long min_nodes, int *dups, int *easy, int *leaks) {
    build_rowset seen; /* question rows of p */
    bool *keep = malloc(p->n ? (size_t)p->n : 1);
    if (!keep || build_rowset_init(&seen, p->q, 81, p->n)) {
        free(keep);
        return -1;
    }
    *dups = *easy = *leaks = 0;
    for (int k = 0; k < p->n; k++) {
        const int8_t *q = p->q + (size_t)k * 81;
        keep[k] = false;
        if (build_rowset_has(&seen, q, k)) (*dups)++;
        else if (p->nodes[k] < min_nodes) (*easy)++;
        else keep[k] = true;
    }
    if (held) *leaks = sudoku_mark_leaks(p->a, p->n, held, keep);
    pool_compact(p, keep);
    free(keep);
    free(seen.slot);
    return 0;
}


/* One example (question tokens -> solution tokens) as its own puzzle. */
static int add_version(trm_split_writer *w, const int8_t q[81], const int8_t a[81], trm_err *e) {
    int32_t in[81], lab[81];
    sudoku_to_tokens(q, in);
    sudoku_to_tokens(a, lab);
    if (split_writer_puzzle(w, 0, e)) return -1;
    return split_writer_example(w, in, lab, e);
}

/* q = the solution a with k random cells blank and exactly one solution
 * (so the label is the only right answer): a few uniform draws, then a
 * greedy pass in random order that blanks a cell only while the puzzle
 * stays unique (reaches any k up to that order's minimal puzzle). */
static int blank_cells(const int8_t a[81], long k, int8_t q[81], uint64_t rng[4], trm_err *e) {
    int cells[81];
    for (int tries = 0; tries < 40; tries++) {
        for (int i = 0; i < 81; i++) cells[i] = i;
        memcpy(q, a, 81);
        long blank = 0;
        for (int i = 0; i < 81 && blank < k; i++) { /* Fisher-Yates, drawn lazily */
            int j = rng_int(rng, i, 80), t = cells[i];
            cells[i] = cells[j], cells[j] = t;
            q[cells[i]] = 0;
            /* the greedy tries keep only cells whose removal keeps one solution */
            if (tries >= 20 && sudoku_solve(q, NULL, 2, NULL) != 1) q[cells[i]] = a[cells[i]];
            else blank++;
        }
        if (blank == k && sudoku_solve(q, NULL, 2, NULL) == 1) return 0;
    }
    return trm_errf(e, "--blanks %ld: no unique-solution puzzle with that many blanks found (use fewer)", k);
}

/* One version, its question re-blanked from the solution when asked. */
static int add_version_blanked(trm_split_writer *w, const int8_t q[81], const int8_t a[81], const long blanks_range[2],
                               uint64_t rng[4], trm_err *e) {
    long blanks = blanks_range[0];
    if (blanks_range[1] > blanks) blanks = rng_int(rng, (int)blanks, (int)blanks_range[1]);
    if (blanks == 0) return add_version(w, q, a, e);
    int8_t qb[81];
    if (blank_cells(a, blanks, qb, rng, e)) return -1;
    return add_version(w, qb, a, e);
}


/* Groups of 1 + aug versions of the puzzles idx[0..n). */
static trm_split_writer *build_split(const trm_build_opts *o, const pool *p, const int *idx, int n, long aug,
                                     const char *name, uint64_t rng[4], trm_err *e) {
    const long blanks[2] = {o->sudoku.blanks, o->sudoku.blanks_max};
    trm_split_writer *w = split_writer_new(SUDOKU_CELLS, SUDOKU_VOCAB);
    if (!w) {
        trm_errf(e, "out of memory");
        return NULL;
    }
    double t0 = build_now_s();
    for (int g = 0; g < n; g++) {
        const int8_t *q = p->q + (size_t)idx[g] * 81, *a = p->a + (size_t)idx[g] * 81;
        if (split_writer_group(w, e) || add_version_blanked(w, q, a, blanks, rng, e)) goto fail;
        for (long k = 0; k < aug; k++) {
            int8_t qa[81], aa[81];
            sudoku_augment(q, a, qa, aa, rng);
            if (add_version_blanked(w, qa, aa, blanks, rng, e)) goto fail;
        }
        build_progress(o, g + 1, n, "%s %d/%d groups (%.0f examples/s)", name, g + 1, n,
                       (double)(g + 1) * (1 + aug) / (build_now_s() - t0 + 1e-9));
    }
    return w;
fail:
    split_writer_free(w);
    return NULL;
}

/* Sizes of the split, checked against what the inputs hold and the
 * format's 2^31 examples (the train split holds 1 + aug versions each). */
static int plan_sizes(const trm_build_opts *o, int pool_n, bool external_test, int *n_train, int *n_test,
                      trm_err *err) {
    if (o->sudoku.test_only) { /* everything (or a draw) is test; nothing is trained on */
        *n_train = 0, *n_test = o->test_size_set ? (int)o->test_size : pool_n;
        return *n_test > pool_n ? trm_errf(err, "--test-size %d: only %d puzzles available in the inputs", *n_test, pool_n) : 0;
    }
    if (build_plan_sizes("puzzles", o->test_size, o->train_size, pool_n, external_test, n_train, n_test, err)) return -1;
    if ((double)*n_train * (1 + o->sudoku.aug) > 2147483647.0)
        return trm_errf(err, "%d train puzzles x %ld versions exceed the format's 2^31 examples", *n_train, 1 + o->sudoku.aug);
    return 0;
}

/* What sudoku_build_dataset works on. */
typedef struct {
    pool in, ext, held;     /* --input, --test-input, --holdout */
    sudoku_keyset keys;     /* solution grids of ext and held: kept out of train */
    const pool *tp;         /* the test pool: ext, or in (a draw from the inputs) */
    int *perm, *test_idx, *train_idx; /* test_idx into tp, train_idx into in */
    int n_train, n_test, dups, easy, leaks, xdups;
} sudoku_plan;

static void plan_free(sudoku_plan *pl) {
    pool_free(&pl->in);
    pool_free(&pl->ext);
    pool_free(&pl->held);
    sudoku_keyset_free(&pl->keys);
    if (pl->test_idx != pl->perm) free(pl->test_idx);
    free(pl->perm);
    free(pl->train_idx);
}

/* Keeps a seeded draw of m of p's puzzles, in file order. */
static int draw_from(pool *p, long m, uint64_t rng[4], trm_err *err) {
    if (m > p->n) return trm_errf(err, "--test-size %ld: only %d puzzles in --test-input", m, p->n);
    int *perm = build_draw_split(p->n, (int)m, 0, rng);
    bool *keep = calloc(p->n ? (size_t)p->n : 1, 1);
    if (perm && keep) {
        for (long k = 0; k < m; k++) keep[perm[k]] = true;
        pool_compact(p, keep);
    }
    free(perm);
    free(keep);
    return perm && keep ? 0 : trm_errf(err, "out of memory");
}

/* Loads the inputs, draws --test-size of --test-input when asked, and
 * drops from --input repeats, puzzles below --min-nodes and the held-out
 * solution grids (--test-input, --holdout). */
static int load_plan(const trm_build_opts *o, sudoku_plan *pl, uint64_t rng[4], trm_err *err) {
    int xe, xl;
    if (!o->input) return trm_errf(err, "no input puzzles given");
    if (load_files(o->input, &pl->in, err) || (o->test_input && load_files(o->test_input, &pl->ext, err)) ||
        (o->sudoku.holdout && load_files(o->sudoku.holdout, &pl->held, err)))
        return -1;
    if (pool_filter(&pl->ext, NULL, 1, &pl->xdups, &xe, &xl)) return trm_errf(err, "out of memory");
    if (o->test_input && o->test_size_set && draw_from(&pl->ext, o->test_size, rng, err)) return -1;
    if (sudoku_keyset_add(&pl->keys, pl->ext.a, pl->ext.n) || sudoku_keyset_add(&pl->keys, pl->held.a, pl->held.n))
        return trm_errf(err, "out of memory");
    sudoku_keyset_seal(&pl->keys);
    if (pool_filter(&pl->in, &pl->keys, o->sudoku.min_nodes, &pl->dups, &pl->easy, &pl->leaks)) return trm_errf(err, "out of memory");
    if (pl->in.n == 0)
        return trm_errf(err, "no input puzzles left: %d repeats, %d below --min-nodes %ld, %d sharing a solution grid "
                   "with a held-out puzzle", pl->dups, pl->easy, o->sudoku.min_nodes, pl->leaks);
    return 0;
}

/* The train draw: the first n of order[0..avail) whose solution grid is
 * not that of a test puzzle (test_keys; NULL: none), sorted into file
 * order. Without such leaks it is exactly build_draw_split's train draw.
 * Returns how many were taken; *skipped counts the leaks passed over. */
static int take_train(const pool *in, const int *order, int avail, const sudoku_keyset *test_keys, int n,
                      int *out, int *skipped) {
    int taken = 0;
    *skipped = 0;
    for (int k = 0; k < avail && taken < n; k++) {
        if (test_keys && sudoku_keyset_has(test_keys, in->a + (size_t)order[k] * 81)) (*skipped)++;
        else out[taken++] = order[k];
    }
    qsort(out, (size_t)taken, sizeof(int), cmp_index);
    return taken;
}

/* Draws the test split (or takes --test-input) and the train split. */
static int plan_splits(const trm_build_opts *o, sudoku_plan *pl, uint64_t rng[4], trm_err *err) {
    bool ext = o->test_input != NULL;
    int skipped = 0, want;
    if (plan_sizes(o, pl->in.n, ext, &pl->n_train, &pl->n_test, err)) return -1;
    want = pl->n_train;
    pl->perm = build_draw_split(pl->in.n, pl->n_test, 0, rng);
    pl->tp = ext ? &pl->ext : &pl->in;
    pl->test_idx = ext ? build_iota(pl->ext.n) : pl->perm;
    pl->train_idx = malloc(sizeof(int) * (want ? want : 1));
    int drawn = pl->n_test; /* perm[0..drawn) went to test, the rest is for train */
    if (ext) pl->n_test = pl->ext.n;
    sudoku_keyset tk = {0}; /* solution grids of a test draw from the inputs */
    bool oom = !pl->perm || !pl->test_idx || !pl->train_idx;
    for (int k = 0; !oom && k < drawn; k++) oom = sudoku_keyset_add(&tk, pl->in.a + (size_t)pl->perm[k] * 81, 1);
    if (oom) {
        sudoku_keyset_free(&tk);
        return trm_errf(err, "out of memory");
    }
    sudoku_keyset_seal(&tk);
    pl->n_train = take_train(&pl->in, pl->perm + drawn, pl->in.n - drawn, &tk, want, pl->train_idx, &skipped);
    sudoku_keyset_free(&tk);
    pl->leaks += skipped;
    if (pl->n_train < want && o->train_size >= 0)
        return trm_errf(err, "--train-size %d: only %d puzzles left after the test split and the leak check", want, pl->n_train);
    if (pl->n_train < 1 && !o->sudoku.test_only)
        return trm_errf(err, "no puzzles left for the train split (%d share a solution grid with a test puzzle)", skipped);
    return 0;
}

/* "train":{..},"test":{..} (test only with --test-only): the rating
 * distribution of each split, malloc'ed; NULL when out of memory. */
static char *ratings_json(const sudoku_plan *pl, bool test_only) {
    char *buf = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&buf, &len);
    if (!f) return NULL;
    int rc = 0;
    if (!test_only) {
        fputs("\"train\":", f);
        rc |= sudoku_split_rating_json(f, pl->in.nodes, pl->in.backtracks, pl->train_idx, pl->n_train);
        fputc(',', f);
    }
    fputs("\"test\":", f);
    rc |= sudoku_split_rating_json(f, pl->tp->nodes, pl->tp->backtracks, pl->test_idx, pl->n_test);
    if (fclose(f) || rc) {
        free(buf);
        return NULL;
    }
    return buf;
}

#define RATING_NOTE "nodes and backtracks (dead ends) of trm's uniqueness search (docs/sudoku-hard.md)"

/* DIR/ratings.json: what the rating is and each split's distribution. */
static int write_ratings_json(const char *dir, const char *ratings, trm_err *err) {
    char path[BUILD_PATH], tmp[BUILD_PATH];
    if (snprintf(path, sizeof path - 16, "%s/ratings.json", dir) >= (int)sizeof path - 16)
        return trm_errf(err, "%s: path too long", dir);
    FILE *f = build_tmp_open(path, tmp, err);
    if (!f) return -1;
    fprintf(f, "{\"rating\":\"%s\",%s}\n", RATING_NOTE, ratings);
    return build_tmp_commit(f, ferror(f), tmp, path, err);
}

/* The per-puzzle ratings CSV into rf (opened before the work). */
static int write_ratings_csv(FILE *rf, const sudoku_plan *pl, bool test_only) {
    fputs(SUDOKU_RATINGS_HEADER, rf);
    if (!test_only)
        sudoku_write_ratings_csv(rf, "train", pl->in.q, pl->in.a, pl->in.nodes, pl->in.backtracks, pl->train_idx, pl->n_train);
    sudoku_write_ratings_csv(rf, "test", pl->tp->q, pl->tp->a, pl->tp->nodes, pl->tp->backtracks, pl->test_idx, pl->n_test);
    return ferror(rf) ? -1 : 0;
}

/* DIR/test (and identifiers.json) alone: a held-out set for trm eval. */
static int write_test_only(const char *dir, trm_split_writer *test, trm_err *err) {
    static const char *const names[1] = {"<blank>"};
    if (split_writer_finish(test, dir, "test", 1, err) || dataset_write_identifiers(dir, names, 1, err)) return -1;
    return 0;
}

/* Writes the splits, DIR/ratings.json and the ratings CSV; fills res. */
static int write_all(const trm_build_opts *o, const sudoku_plan *pl, trm_split_writer *train, trm_split_writer *test,
                     FILE *rf, const char *rtmp, trm_build_result *res, trm_err *err) {
    char *ratings = ratings_json(pl, o->sudoku.test_only);
    if (!ratings) {
        if (rf) fclose(rf);
        return trm_errf(err, "out of memory");
    }
    int rc = o->sudoku.test_only ? write_test_only(o->out, test, err) : build_write_dataset(o->out, train, test, err);
    if (rc == 0) rc = write_ratings_json(o->out, ratings, err);
    if (rc == 0 && rf) rc = build_tmp_commit(rf, write_ratings_csv(rf, pl, o->sudoku.test_only), rtmp, o->sudoku.ratings, err);
    else if (rf) fclose(rf);
    if (rc) {
        free(ratings);
        return -1;
    }
    long versions = 1 + o->sudoku.aug;
    *res = (trm_build_result){.train_groups = pl->n_train, .train_puzzles = pl->n_train * versions,
                              .train_examples = pl->n_train * versions, .test_groups = pl->n_test,
                              .test_puzzles = pl->n_test, .test_examples = pl->n_test, .identifiers = 1,
                              .leaks_dropped = pl->leaks, .ratings_json = ratings};
    return 0;
}

/* The note of what the inputs held and what the splits get. */
static void note_plan(const trm_build_opts *o, const sudoku_plan *pl) {
    char tail[64] = "";
    if (pl->xdups) snprintf(tail, sizeof tail, " (%d repeats dropped)", pl->xdups);
    build_note(o, "%d usable input puzzles (%d repeats, %d below --min-nodes, %d sharing a solution grid with a "
               "held-out puzzle dropped); train %d x %ld versions, test %d%s", pl->in.n, pl->dups, pl->easy,
               pl->leaks, pl->n_train, 1 + o->sudoku.aug, pl->n_test, tail);
}

/* The ranges trm data sudoku's options allow, for callers of the library. */
static int check_opts(const trm_build_opts *o, trm_err *err) {
    if (o->train_size == 0 || build_check_range("train_size", o->train_size, -1, 1L << 30, err))
        return trm_errf(err, "train_size %ld: expected -1 (all) or 1..%ld", o->train_size, 1L << 30);
    if (build_check_range("test_size", o->test_size, 0, 1L << 30, err) ||
        build_check_range("aug", o->sudoku.aug, 0, 1000000, err) ||
        build_check_range("min_nodes", o->sudoku.min_nodes, 1, 1L << 40, err) ||
        build_check_range("blanks", o->sudoku.blanks, 0, 64, err) ||
        build_check_range("blanks_max", o->sudoku.blanks_max, 0, 64, err))
        return -1;
    if (o->sudoku.test_only && (o->test_input || o->train_size >= 0))
        return trm_errf(err, "--test-only writes only a test split of --input: no --test-input or --train-size");
    return 0;
}

int sudoku_build_dataset(const trm_build_opts *o, trm_build_result *res, trm_err *err) {
    if (check_opts(o, err)) return -1;
    sudoku_plan pl = {0};
    trm_split_writer *train = NULL, *test = NULL;
    int rc = -1;
    bool created = false; /* DIR is new: a failure removes it whole (all of it is ours) */
    char rtmp[BUILD_PATH];
    FILE *rf = NULL;
    if (o->sudoku.ratings && !(rf = build_tmp_open(o->sudoku.ratings, rtmp, err)))
        return -1; /* a bad path fails before the work */
    uint64_t rng[4];
    rng_seed(rng, o->seed);
    if (load_plan(o, &pl, rng, err) || plan_splits(o, &pl, rng, err) || build_prepare_out(o->out, &created, err))
        goto done;
    note_plan(o, &pl);
    if (!o->sudoku.test_only) train = build_split(o, &pl.in, pl.train_idx, pl.n_train, o->sudoku.aug, "train", rng, err);
    if (train || o->sudoku.test_only) test = build_split(o, pl.tp, pl.test_idx, pl.n_test, 0, "test", rng, err);
    if ((!train && !o->sudoku.test_only) || !test) goto done;
    rc = write_all(o, &pl, train, test, rf, rtmp, res, err);
    rf = NULL; /* closed by write_all */
done:
    if (rf) fclose(rf);
    if (rc && o->sudoku.ratings) remove(rtmp);
    if (rc && created) build_remove_tree(o->out);
    split_writer_free(train);
    split_writer_free(test);
    plan_free(&pl);
    return rc;
}

void sudoku_build_defaults(trm_build_opts *o) { o->sudoku.min_nodes = 1; }

/* ---------------------------------------------------------------- 4x4 Sudoku */

int sudoku4_build_dataset(const trm_build_opts *o, trm_build_result *res, trm_err *err) {
    if (build_check_range("train_size", o->train_size, 1, 1000000, err) ||
        build_check_range("test_size", o->test_size, 0, 1000000, err) ||
        build_check_range("blanks", o->sudoku4.blanks, 1, 12, err))
        return -1;
    bool created = false;
    if (build_prepare_out(o->out, &created, err)) return -1;
    if (sudoku4_build(o->out, o->train_size, o->test_size, o->sudoku4.blanks, o->seed, err)) {
        if (created) build_remove_tree(o->out);
        return -1;
    }
    *res = (trm_build_result){.train_groups = o->train_size, .train_puzzles = o->train_size,
                              .train_examples = o->train_size, .test_groups = o->test_size,
                              .test_puzzles = o->test_size, .test_examples = o->test_size, .identifiers = 1};
    return 0;
}

void sudoku4_build_defaults(trm_build_opts *o) {
    o->train_size = 2000, o->test_size = 200, o->sudoku4.blanks = 8;
}

/* ================================================================ the generator
 * (trm data sudoku-gen): new unique-solution puzzles as question,answer
 * CSV ('.' blanks), each from a random full grid with clues removed, then
 * hardened up to the difficulty target (sudoku_generate). */

#define GEN_MAX_TRIES 100

void sudoku_gen_defaults(trm_gen_opts *o) {
    o->sudoku.min_nodes = 1, o->sudoku.min_blanks = 0, o->sudoku.max_tries = GEN_MAX_TRIES;
}

/* The puzzles' rows and the options (build_generate_all). */
typedef struct {
    const trm_gen_opts *o;
    int8_t *q, *a;
} sudoku_job;

/* Puzzle k into its rows: -1 when its target was not reached in
 * max_tries grids. */
static int make_puzzle(void *ctx, long k, uint64_t rng[4], void *scratch, long *stat) {
    (void)scratch, (void)stat;
    const sudoku_job *j = ctx;
    return sudoku_generate(j->q + k * 81, j->a + k * 81, j->o->sudoku.min_nodes, (int)j->o->sudoku.min_blanks,
                           (int)j->o->sudoku.max_tries, rng);
}

static int write_gen_csv(FILE *f, long count, const int8_t *q, const int8_t *a) {
    fprintf(f, "question,answer\n");
    for (long k = 0; k < count; k++) {
        char line[165];
        for (int i = 0; i < 81; i++) {
            line[i] = q[k * 81 + i] ? (char)('0' + q[k * 81 + i]) : '.';
            line[82 + i] = (char)('0' + a[k * 81 + i]);
        }
        line[81] = ',';
        line[163] = '\n';
        line[164] = 0;
        fputs(line, f);
    }
    return ferror(f) ? -1 : 0;
}

int sudoku_generate_csv(const trm_gen_opts *o, trm_gen_result *res, trm_err *err) {
    if (build_check_range("count", o->count, 1, 1L << 30, err) ||
        build_check_range("min_nodes", o->sudoku.min_nodes, 1, 1L << 40, err) ||
        build_check_range("min_blanks", o->sudoku.min_blanks, 0, 64, err) ||
        build_check_range("max_tries", o->sudoku.max_tries, 1, 1L << 30, err))
        return -1;
    char tmp[BUILD_PATH];
    FILE *f = build_tmp_open(o->out, tmp, err); /* a bad path fails before the work */
    if (!f) return -1;
    int8_t *q = malloc((size_t)o->count * 81), *a = malloc((size_t)o->count * 81);
    int rc = -1;
    double t0 = build_now_s();
    sudoku_job job = {o, q, a};
    build_gen_stats st;
    long bad = q && a ? build_generate_all(o, make_puzzle, &job, 0, &st) : -1;
    if (!q || !a) trm_errf(err, "out of memory for %ld puzzles", o->count);
    else if (bad >= 0)
        trm_errf(err, "puzzle %ld: no grid of %ld tried reached --min-nodes %ld and --min-blanks %ld (lower them or "
                 "raise --max-tries)", bad + 1, o->sudoku.max_tries, o->sudoku.min_nodes, o->sudoku.min_blanks);
    else rc = build_tmp_commit(f, write_gen_csv(f, o->count, q, a), tmp, o->out, err);
    if (rc && (!q || !a || bad >= 0)) { /* not handed to the commit */
        fclose(f);
        remove(tmp);
    }
    res->secs = build_now_s() - t0;
    free(q);
    free(a);
    return rc;
}
