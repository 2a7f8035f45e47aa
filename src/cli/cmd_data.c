/* cmd_data.c - `trm data`: dataset builders.
 *
 *   trm data sudoku      puzzle collections -> a dataset in the reference's
 *                        format (spec 4.1/4.2), with seeded splits and
 *                        validity-preserving augmentation
 *   trm data sudoku-gen  new unique-solution puzzles -> question,answer CSV
 *
 * Everything is checked (inputs parsed and solved, sizes, output place)
 * before anything is written, so a bad input costs one error line and
 * leaves no partial output. */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli/cli.h"
#include "cli/data_common.h"
#include "core/rng.h"
#include "data/dataset.h"
#include "tasks/sudoku.h"
#include "tasks/sudoku_build.h"
#include "tasks/sudoku4.h"
#include "trm.h"

#define REFERENCE_AUG 1000 /* the reference's --num-aug for Sudoku-Extreme */
#define GEN_MAX_TRIES 100

/* ---------------------------------------------------------------- shared helpers */

static void usage_data(FILE *out) {
    fprintf(out,
            "usage: trm data <builder> [options]     (trm data <builder> --help)\n\n"
            "builders:\n"
            "  sudoku      puzzle collections -> dataset in the reference format\n"
            "  sudoku-gen  generate new unique-solution puzzles as question,answer CSV\n"
            "  sudoku4     random 4x4 Sudoku puzzles -> dataset (small; tests, curricula)\n"
            "  maze        maze question,answer CSV or npy splits -> dataset (spec 4.3)\n"
            "  maze-gen    generate new n x n mazes with a unique shortest path as CSV\n"
            "  arc         ARC-AGI task files -> dataset, as the reference builds it (spec 4.4)\n");
}

/* Progress lines only on a terminal: logs and tests get the summary. */
static bool show_progress(void) { return isatty(2); }

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

/* Adds one file's puzzles to the pool ctx (a data_each_file callback). */
static int load_file(const char *cmd, const char *f, void *ctx) {
    pool *p = ctx;
    sudoku_set s;
    trm_err e;
    if (sudoku_load(f, &s, &e)) return die(cmd, "%s", e.msg);
    int rc = pool_add(p, &s) ? die(cmd, "out of memory after %d puzzles", p->n) : 0;
    sudoku_set_free(&s);
    return rc;
}

/* Loads a comma-separated list of files into one pool. */
static int load_files(const char *cmd, const char *list, pool *p) {
    int rc = data_each_file(cmd, list, load_file, p);
    if (rc == 0 && p->n == 0) rc = die(cmd, "no input files in '%s'", list);
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
    data_rowset seen; /* question rows of p */
    bool *keep = malloc(p->n ? (size_t)p->n : 1);
    if (!keep || data_rowset_init(&seen, p->q, 81, p->n)) {
        free(keep);
        return -1;
    }
    *dups = *easy = *leaks = 0;
    for (int k = 0; k < p->n; k++) {
        const int8_t *q = p->q + (size_t)k * 81;
        keep[k] = false;
        if (data_rowset_has(&seen, q, k)) (*dups)++;
        else if (p->nodes[k] < min_nodes) (*easy)++;
        else keep[k] = true;
    }
    if (held) *leaks = sudoku_mark_leaks(p->a, p->n, held, keep);
    pool_compact(p, keep);
    free(keep);
    free(seen.slot);
    return 0;
}

/* ---------------------------------------------------------------- trm data sudoku */

typedef struct {
    data_split_opts split;   /* --input, --out, sizes, --seed */
    long aug, min_nodes;
    long blanks, blanks_max; /* 0 = keep the questions */
    const char *holdout, *ratings; /* --holdout files, --ratings CSV */
    bool test_only;
} sudoku_opts;

static void usage_sudoku(FILE *out) {
    fprintf(out,
            "usage: trm data sudoku --input FILE[,FILE...] --out DIR [options]\n\n"
            "Builds a Sudoku dataset in the reference's format (spec 4.2): inputs are\n"
            "the question tokens, labels the solution tokens (every cell supervised),\n"
            "one shared puzzle identifier. Inputs are 81-character lines ('.' or '0'\n"
            "blank, '#' comments) or CSV with a question column (question,answer or\n"
            "sapientinc's source,question,answer,rating); every puzzle is solved and\n"
            "must have exactly one solution. Repeated puzzles are dropped.\n"
            "train: N puzzles drawn without replacement, each a group of 1 + K\n"
            "versions (the original, then K random augmentations); test: M other\n"
            "puzzles of the same inputs, or of --test-input, not augmented.\n"
            "Held-out puzzles never reach train: a puzzle whose solution grid equals\n"
            "that of a test or --holdout puzzle, up to digit relabelling and\n"
            "transposition, leaves the train pool (the leak check). Each puzzle is\n"
            "rated by trm's solver: nodes and backtracks (dead ends) of its uniqueness\n"
            "search; DIR/ratings.json and the summary give each split's distribution.\n\n"
            "  --input FILE[,FILE...]       puzzle collections to draw from\n"
            "  --out DIR                    output directory (created if missing)\n"
            "  --train-size N               train puzzles (default: all minus test)\n"
            "  --test-size M                test puzzles from the inputs, or a seeded draw\n"
            "                               of M of --test-input (default: 0 / all)\n"
            "  --test-input FILE[,FILE...]  test puzzles from these files (all, or\n"
            "                               --test-size of them); their solution grids\n"
            "                               leave the train pool\n"
            "  --holdout FILE[,FILE...]     puzzles held out for other test sets: not\n"
            "                               written, their solution grids leave the pools\n"
            "  --test-only                  write only DIR/test: all --input puzzles (or a\n"
            "                               --test-size draw), for a held-out set that\n"
            "                               trm eval --data DIR scores\n"
            "  --ratings FILE               per-puzzle ratings as CSV\n"
            "                               split,question,answer,nodes,backtracks\n"
            "  --aug K                      augmented versions per train puzzle\n"
            "                               (default: 0; the reference uses %d)\n"
            "  --seed S                     RNG seed for the draw and augmentation (default: 0)\n"
            "  --min-nodes X                keep only input puzzles whose solver search\n"
            "                               needs >= X nodes, a difficulty (default: 1)\n"
            "  --blanks K | K1-K2           replace every question (each version) by its\n"
            "                               solution with K (or uniformly K1..K2) random\n"
            "                               cells blanked, redrawn until the puzzle has one\n"
            "                               solution: easier puzzles from real grids, for\n"
            "                               curricula and smoke tests (default: 0 = off)\n\n"
            "Ratings are those of the input puzzles (before --blanks and --aug).\n\n"
            "Prints {\"train_groups\":..,\"train_examples\":..,\"test_examples\":..,\"out\":..,\n"
            "\"leaks_dropped\":..,\"ratings\":{\"train\":..,\"test\":..}}.\n",
            REFERENCE_AUG);
}

/* The options of the held-out splits: 1 when c was one, 0 when not. */
static int hard_option(int c, const char *arg, sudoku_opts *o) {
    switch (c) {
    case 'H': o->holdout = arg; return 1;
    case 'r': o->ratings = arg; return 1;
    case 'T': o->test_only = true; return 1;
    default: return 0;
    }
}

/* After getopt: the combinations hard_option's options allow; nonzero
 * after the error line. --test-size with --test-input is a draw from
 * them here, so the shared check must not see it as a clash. */
static int hard_check(const char *cmd, int argc, char **argv, const sudoku_opts *o) {
    data_split_opts s = o->split;
    s.test_size_set = s.test_size_set && !s.test_input;
    if (data_split_check(cmd, argc, argv, &s)) return 1;
    if (o->test_only && (o->split.test_input || o->split.train_size >= 0))
        return die(cmd, "--test-only writes only a test split of --input: no --test-input or --train-size");
    return 0;
}

/* Returns 0 to go on, or exit code + 1 (help 0, bad value 1, bad usage 2). */
static int parse_sudoku(int argc, char **argv, sudoku_opts *o) {
    static const struct option opts[] = {
        {"input", required_argument, 0, 'i'}, {"out", required_argument, 0, 'o'},
        {"train-size", required_argument, 0, 'n'}, {"test-size", required_argument, 0, 'm'},
        {"test-input", required_argument, 0, 't'}, {"aug", required_argument, 0, 'k'},
        {"seed", required_argument, 0, 's'}, {"min-nodes", required_argument, 0, 'x'},
        {"blanks", required_argument, 0, 'b'}, {"help", no_argument, 0, 'h'},
        {"holdout", required_argument, 0, 'H'}, {"ratings", required_argument, 0, 'r'},
        {"test-only", no_argument, 0, 'T'}, {0, 0, 0, 0}};
    const char *cmd = "data sudoku";
    *o = (sudoku_opts){.split.train_size = -1, .min_nodes = 1};
    int c;
    optind = 1;
    opterr = 0; /* we print our own one-line errors */
    while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
        int shared = data_split_option(cmd, c, optarg, &o->split);
        if (shared < 0) return 2; /* a bad value: exit 1 */
        if (shared || hard_option(c, optarg, o)) continue;
        switch (c) {
        case 'k':
            if (data_parse_long(optarg, 0, 1000000, &o->aug)) return die(cmd, "--aug: expected an integer in [0, 1000000], got '%s'", optarg) + 1;
            break;
        case 'x':
            if (data_parse_long(optarg, 1, 1L << 40, &o->min_nodes)) return die(cmd, "--min-nodes: expected an integer >= 1, got '%s'", optarg) + 1;
            break;
        case 'b': {
            char lo[32] = {0};
            const char *dash = strchr(optarg, '-');
            snprintf(lo, sizeof lo, "%.*s", dash ? (int)(dash - optarg) : 31, optarg);
            if (data_parse_long(lo, 0, 64, &o->blanks) ||
                (dash && data_parse_long(dash + 1, o->blanks, 64, &o->blanks_max)))
                return die(cmd, "--blanks: expected K or K1-K2 with 0 <= K1 <= K2 <= 64, got '%s'", optarg) + 1;
            if (!dash) o->blanks_max = o->blanks;
            break;
        }
        case 'h': usage_sudoku(stdout); return 1;
        default: return bad_option(cmd, argc, argv) + 2;
        }
    }
    return hard_check(cmd, argc, argv, o) ? 3 : 0; /* bad usage: exit 2 */
}

/* One example (question tokens -> solution tokens) as its own puzzle. */
static int add_version(trm_split_writer *w, const int8_t q[81], const int8_t a[81], trm_err *e) {
    int32_t in[81], lab[81];
    sudoku_to_tokens(q, in);
    sudoku_to_tokens(a, lab);
    if (trm_split_writer_puzzle(w, 0, e)) return -1;
    return trm_split_writer_example(w, in, lab, e);
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
static trm_split_writer *build_split(const pool *p, const int *idx, int n, long aug, const long blanks[2],
                                     const char *name, uint64_t rng[4], trm_err *e) {
    trm_split_writer *w = trm_split_writer_new(SUDOKU_CELLS, SUDOKU_VOCAB);
    if (!w) {
        trm_errf(e, "out of memory");
        return NULL;
    }
    double t0 = data_now_s(), last = t0;
    for (int g = 0; g < n; g++) {
        const int8_t *q = p->q + (size_t)idx[g] * 81, *a = p->a + (size_t)idx[g] * 81;
        if (trm_split_writer_group(w, e) || add_version_blanked(w, q, a, blanks, rng, e)) goto fail;
        for (long k = 0; k < aug; k++) {
            int8_t qa[81], aa[81];
            sudoku_augment(q, a, qa, aa, rng);
            if (add_version_blanked(w, qa, aa, blanks, rng, e)) goto fail;
        }
        if (show_progress() && (data_now_s() - last > 0.25 || g + 1 == n)) {
            last = data_now_s();
            fprintf(stderr, "\rtrm data: %s %d/%d groups (%.0f examples/s)   ", name, g + 1, n,
                    (double)(g + 1) * (1 + aug) / (last - t0 + 1e-9));
        }
    }
    if (show_progress() && n) fputc('\n', stderr);
    return w;
fail:
    trm_split_writer_free(w);
    return NULL;
}

/* Sizes of the split, checked against what the inputs hold and the
 * format's 2^31 examples (the train split holds 1 + aug versions each). */
static int plan_sizes(const sudoku_opts *o, int pool_n, bool external_test, int *n_train, int *n_test) {
    const char *cmd = "data sudoku";
    if (o->test_only) { /* everything (or a draw) is test; nothing is trained on */
        *n_train = 0, *n_test = o->split.test_size_set ? (int)o->split.test_size : pool_n;
        return *n_test > pool_n ? die(cmd, "--test-size %d: only %d puzzles available in the inputs", *n_test, pool_n) : 0;
    }
    if (data_plan_sizes(cmd, "puzzles", o->split.test_size, o->split.train_size, pool_n, external_test, n_train, n_test)) return 1;
    if ((double)*n_train * (1 + o->aug) > 2147483647.0)
        return die(cmd, "%d train puzzles x %ld versions exceed the format's 2^31 examples", *n_train, 1 + o->aug);
    return 0;
}

/* What run_sudoku works on. */
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
static int draw_from(const char *cmd, pool *p, long m, uint64_t rng[4]) {
    if (m > p->n) return die(cmd, "--test-size %ld: only %d puzzles in --test-input", m, p->n);
    int *perm = data_draw_split(p->n, (int)m, 0, rng);
    bool *keep = calloc(p->n ? (size_t)p->n : 1, 1);
    if (perm && keep) {
        for (long k = 0; k < m; k++) keep[perm[k]] = true;
        pool_compact(p, keep);
    }
    free(perm);
    free(keep);
    return perm && keep ? 0 : die(cmd, "out of memory");
}

/* Loads the inputs, draws --test-size of --test-input when asked, and
 * drops from --input repeats, puzzles below --min-nodes and the held-out
 * solution grids (--test-input, --holdout). */
static int load_plan(const sudoku_opts *o, sudoku_plan *pl, uint64_t rng[4]) {
    const char *cmd = "data sudoku";
    int xe, xl;
    if (load_files(cmd, o->split.input, &pl->in) ||
        (o->split.test_input && load_files(cmd, o->split.test_input, &pl->ext)) ||
        (o->holdout && load_files(cmd, o->holdout, &pl->held)))
        return 1;
    if (pool_filter(&pl->ext, NULL, 1, &pl->xdups, &xe, &xl)) return die(cmd, "out of memory");
    if (o->split.test_input && o->split.test_size_set && draw_from(cmd, &pl->ext, o->split.test_size, rng)) return 1;
    if (sudoku_keyset_add(&pl->keys, pl->ext.a, pl->ext.n) || sudoku_keyset_add(&pl->keys, pl->held.a, pl->held.n))
        return die(cmd, "out of memory");
    sudoku_keyset_seal(&pl->keys);
    if (pool_filter(&pl->in, &pl->keys, o->min_nodes, &pl->dups, &pl->easy, &pl->leaks)) return die(cmd, "out of memory");
    if (pl->in.n == 0)
        return die(cmd, "no input puzzles left: %d repeats, %d below --min-nodes %ld, %d sharing a solution grid "
                   "with a held-out puzzle", pl->dups, pl->easy, o->min_nodes, pl->leaks);
    return 0;
}

/* The train draw: the first n of order[0..avail) whose solution grid is
 * not that of a test puzzle (test_keys; NULL: none), sorted into file
 * order. Without such leaks it is exactly data_draw_split's train draw.
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
static int plan_splits(const sudoku_opts *o, sudoku_plan *pl, uint64_t rng[4]) {
    const char *cmd = "data sudoku";
    bool ext = o->split.test_input != NULL;
    int skipped = 0, want;
    if (plan_sizes(o, pl->in.n, ext, &pl->n_train, &pl->n_test)) return 1;
    want = pl->n_train;
    pl->perm = data_draw_split(pl->in.n, pl->n_test, 0, rng);
    pl->tp = ext ? &pl->ext : &pl->in;
    pl->test_idx = ext ? data_iota(pl->ext.n) : pl->perm;
    pl->train_idx = malloc(sizeof(int) * (want ? want : 1));
    int drawn = pl->n_test; /* perm[0..drawn) went to test, the rest is for train */
    if (ext) pl->n_test = pl->ext.n;
    sudoku_keyset tk = {0}; /* solution grids of a test draw from the inputs */
    bool oom = !pl->perm || !pl->test_idx || !pl->train_idx;
    for (int k = 0; !oom && k < drawn; k++) oom = sudoku_keyset_add(&tk, pl->in.a + (size_t)pl->perm[k] * 81, 1);
    if (oom) {
        sudoku_keyset_free(&tk);
        return die(cmd, "out of memory");
    }
    sudoku_keyset_seal(&tk);
    pl->n_train = take_train(&pl->in, pl->perm + drawn, pl->in.n - drawn, &tk, want, pl->train_idx, &skipped);
    sudoku_keyset_free(&tk);
    pl->leaks += skipped;
    if (pl->n_train < want && o->split.train_size >= 0)
        return die(cmd, "--train-size %d: only %d puzzles left after the test split and the leak check", want, pl->n_train);
    if (pl->n_train < 1 && !o->test_only)
        return die(cmd, "no puzzles left for the train split (%d share a solution grid with a test puzzle)", skipped);
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
static int write_ratings_json(const char *cmd, const char *dir, const char *ratings) {
    char path[DATA_TMP_PATH], tmp[DATA_TMP_PATH];
    if (snprintf(path, sizeof path - 16, "%s/ratings.json", dir) >= (int)sizeof path - 16) return die(cmd, "%s: path too long", dir);
    FILE *f = data_open_tmp(cmd, path, tmp);
    if (!f) return 1;
    fprintf(f, "{\"rating\":\"%s\",%s}\n", RATING_NOTE, ratings);
    if (data_commit_tmp(cmd, f, ferror(f), tmp, path)) {
        remove(tmp);
        return 1;
    }
    return 0;
}

/* The per-puzzle --ratings CSV into rf (opened before the work). */
static int write_ratings_csv(FILE *rf, const sudoku_plan *pl, bool test_only) {
    fputs(SUDOKU_RATINGS_HEADER, rf);
    if (!test_only)
        sudoku_write_ratings_csv(rf, "train", pl->in.q, pl->in.a, pl->in.nodes, pl->in.backtracks, pl->train_idx, pl->n_train);
    sudoku_write_ratings_csv(rf, "test", pl->tp->q, pl->tp->a, pl->tp->nodes, pl->tp->backtracks, pl->test_idx, pl->n_test);
    return ferror(rf) ? -1 : 0;
}

/* DIR/test (and identifiers.json) alone: a held-out set for trm eval. */
static int write_test_only(const char *cmd, const char *dir, trm_split_writer *test) {
    static const char *const names[1] = {"<blank>"};
    trm_err e;
    if (trm_split_writer_finish(test, dir, "test", 1, &e) || trm_write_identifiers(dir, names, 1, &e))
        return die(cmd, "%s", e.msg);
    return 0;
}

/* Writes the splits, DIR/ratings.json, the --ratings CSV and the summary. */
static int write_all(const sudoku_opts *o, const sudoku_plan *pl, trm_split_writer *train, trm_split_writer *test,
                     FILE *rf, const char *rtmp) {
    const char *cmd = "data sudoku";
    char *ratings = ratings_json(pl, o->test_only);
    if (!ratings) return die(cmd, "out of memory");
    int rc = o->test_only ? write_test_only(cmd, o->split.out, test)
                          : data_write_dataset(cmd, o->split.out, train, test);
    if (rc == 0) rc = write_ratings_json(cmd, o->split.out, ratings);
    if (rc == 0 && rf) rc = data_commit_tmp(cmd, rf, write_ratings_csv(rf, pl, o->test_only), rtmp, o->ratings);
    else if (rf) fclose(rf);
    char *extra = NULL;
    if (rc == 0 && asprintf(&extra, "\"leaks_dropped\":%d,\"ratings\":{%s}", pl->leaks, ratings) < 0)
        extra = NULL, rc = die(cmd, "out of memory");
    if (rc == 0) data_print_summary_extra(pl->n_train, (long)pl->n_train * (1 + o->aug), pl->n_test, o->split.out, extra);
    free(extra);
    free(ratings);
    return rc;
}

static int run_sudoku(const sudoku_opts *o) {
    const char *cmd = "data sudoku";
    sudoku_plan pl = {0};
    trm_split_writer *train = NULL, *test = NULL;
    int rc = 1;
    bool created = false; /* DIR is new: a failure removes it whole (all of it is ours) */
    char rtmp[DATA_TMP_PATH];
    FILE *rf = o->ratings ? data_open_tmp(cmd, o->ratings, rtmp) : NULL; /* a bad path fails before the work */
    if (o->ratings && !rf) return 1;
    uint64_t rng[4];
    rng_seed(rng, o->split.seed);
    if (load_plan(o, &pl, rng) || plan_splits(o, &pl, rng) || data_prepare_out(cmd, o->split.out, &created)) goto done;
    fprintf(stderr, "trm data: %d usable input puzzles (%d repeats, %d below --min-nodes, %d sharing a solution "
            "grid with a held-out puzzle dropped); train %d x %ld versions, test %d", pl.in.n, pl.dups, pl.easy,
            pl.leaks, pl.n_train, 1 + o->aug, pl.n_test);
    fprintf(stderr, pl.xdups ? " (%d repeats dropped)\n" : "\n", pl.xdups);
    trm_err e;
    const long blanks[2] = {o->blanks, o->blanks_max};
    if (!o->test_only) train = build_split(&pl.in, pl.train_idx, pl.n_train, o->aug, blanks, "train", rng, &e);
    if (train || o->test_only) test = build_split(pl.tp, pl.test_idx, pl.n_test, 0, blanks, "test", rng, &e);
    if ((!train && !o->test_only) || !test) { die(cmd, "%s", e.msg); goto done; }
    rc = write_all(o, &pl, train, test, rf, rtmp);
    rf = NULL; /* closed by write_all */
done:
    if (rf) fclose(rf);
    if (rc && o->ratings) remove(rtmp);
    if (rc && created) data_remove_tree(o->split.out);
    trm_split_writer_free(train);
    trm_split_writer_free(test);
    plan_free(&pl);
    return rc;
}

/* ---------------------------------------------------------------- trm data sudoku-gen */

typedef struct {
    const char *out;
    long count, min_nodes, min_blanks, max_tries;
    uint64_t seed;
} gen_opts;

static void usage_gen(FILE *out) {
    fprintf(out,
            "usage: trm data sudoku-gen --count N --out FILE [options]\n\n"
            "Generates N new Sudoku puzzles with exactly one solution and writes them as\n"
            "question,answer CSV ('.' blanks), the input format of trm data sudoku. Each\n"
            "comes from a random full grid with clues removed in random order while\n"
            "the solution stays unique, then hardened (a clue swapped at a time) up to\n"
            "the difficulty target. Deterministic for a seed, whatever the threads.\n\n"
            "  --count N       puzzles to generate\n"
            "  --out FILE      output CSV (written to FILE.tmp.<pid>, then renamed)\n"
            "  --min-nodes X   difficulty: solver search nodes >= X (default: 1; 10 takes\n"
            "                  ~20 ms a puzzle, 50 about a second)\n"
            "  --min-blanks B  at least B blank cells (default: 0; minimal puzzles have\n"
            "                  53-60)\n"
            "  --max-tries T   full grids tried per puzzle before giving up (default: %d)\n"
            "  --seed S        RNG seed (default: 0)\n", GEN_MAX_TRIES);
}

static int parse_gen(int argc, char **argv, gen_opts *o) {
    static const struct option opts[] = {
        {"count", required_argument, 0, 'n'}, {"out", required_argument, 0, 'o'},
        {"min-nodes", required_argument, 0, 'x'}, {"min-blanks", required_argument, 0, 'b'},
        {"max-tries", required_argument, 0, 't'}, {"seed", required_argument, 0, 's'},
        {"help", no_argument, 0, 'h'}, {0, 0, 0, 0}};
    const char *cmd = "data sudoku-gen";
    *o = (gen_opts){.count = -1, .min_nodes = 1, .max_tries = GEN_MAX_TRIES};
    int c;
    optind = 1;
    opterr = 0;
    while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
        switch (c) {
        case 'o': o->out = optarg; break;
        case 'n':
            if (data_parse_long(optarg, 1, 1L << 30, &o->count)) return die(cmd, "--count: expected an integer >= 1, got '%s'", optarg) + 1;
            break;
        case 'x':
            if (data_parse_long(optarg, 1, 1L << 40, &o->min_nodes)) return die(cmd, "--min-nodes: expected an integer >= 1, got '%s'", optarg) + 1;
            break;
        case 'b':
            if (data_parse_long(optarg, 0, 64, &o->min_blanks)) return die(cmd, "--min-blanks: expected an integer in [0, 64] (a unique puzzle has >= 17 clues), got '%s'", optarg) + 1;
            break;
        case 't':
            if (data_parse_long(optarg, 1, 1L << 30, &o->max_tries)) return die(cmd, "--max-tries: expected an integer >= 1, got '%s'", optarg) + 1;
            break;
        case 's':
            if (data_parse_u64(optarg, &o->seed)) return die(cmd, "--seed: expected a non-negative integer, got '%s'", optarg) + 1;
            break;
        case 'h': usage_gen(stdout); return 1;
        default: return bad_option(cmd, argc, argv) + 2;
        }
    }
    return data_gen_check(cmd, argc, argv, o->count, o->out) ? 3 : 0; /* bad usage: exit 2 */
}

/* Generates all puzzles in parallel; returns the index of one that failed
 * (its target was not reached in max_tries grids) or -1. */
static long generate_all(const gen_opts *o, int8_t *q, int8_t *a) {
    long failed = -1, done = 0;
    double t0 = data_now_s(), last = t0;
#pragma omp parallel for schedule(dynamic, 1)
    for (long k = 0; k < o->count; k++) {
        long f;
#pragma omp atomic read
        f = failed;
        if (f >= 0) continue; /* give up early */
        uint64_t rng[4];
        data_item_rng(rng, o->seed, k);
        int rc = sudoku_generate(q + k * 81, a + k * 81, o->min_nodes, (int)o->min_blanks, (int)o->max_tries, rng);
#pragma omp critical(progress)
        {
            if (rc && failed < 0) failed = k;
            done++;
            if (show_progress() && (data_now_s() - last > 0.25 || done == o->count)) {
                last = data_now_s();
                fprintf(stderr, "\rtrm data sudoku-gen: %ld/%ld puzzles (%.1f/s)   ", done, o->count,
                        done / (last - t0 + 1e-9));
            }
        }
    }
    if (show_progress()) fputc('\n', stderr);
    return failed;
}

static int write_csv(FILE *f, const gen_opts *o, const int8_t *q, const int8_t *a) {
    fprintf(f, "question,answer\n");
    for (long k = 0; k < o->count; k++) {
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

static int run_gen(const gen_opts *o) {
    const char *cmd = "data sudoku-gen";
    char tmp[DATA_TMP_PATH];
    FILE *f = data_open_tmp(cmd, o->out, tmp);
    if (!f) return 1;
    int8_t *q = malloc((size_t)o->count * 81), *a = malloc((size_t)o->count * 81);
    int rc = 1;
    if (!q || !a) {
        die(cmd, "out of memory for %ld puzzles", o->count);
        goto fail;
    }
    double t0 = data_now_s();
    long bad = generate_all(o, q, a);
    if (bad >= 0) {
        die(cmd, "puzzle %ld: no grid of %ld tried reached --min-nodes %ld and --min-blanks %ld "
            "(lower them or raise --max-tries)", bad + 1, o->max_tries, o->min_nodes, o->min_blanks);
        goto fail;
    }
    int werr = data_commit_tmp(cmd, f, write_csv(f, o, q, a), tmp, o->out);
    f = NULL; /* closed by data_commit_tmp, whatever happened */
    if (werr) goto fail;
    fprintf(stderr, "trm data sudoku-gen: %ld puzzles in %.1f s -> %s\n", o->count, data_now_s() - t0, o->out);
    rc = 0;
fail:
    if (f) fclose(f);
    if (rc) remove(tmp);
    free(q);
    free(a);
    return rc;
}

/* ---------------------------------------------------------------- dispatch */

/* ---------------------------------------------------------------- trm data sudoku4 */

static void usage_sudoku4(FILE *out) {
    fprintf(out,
            "usage: trm data sudoku4 --out DIR [options]\n\n"
            "Random 4x4 Sudoku puzzles (2x2 boxes) with a unique solution, as a dataset\n"
            "in the reference's format (seq_len 16, vocab 6): a task small enough to\n"
            "learn on a CPU in a minute. Test puzzles never occur in train.\n\n"
            "  --out DIR          output directory (created if missing)\n"
            "  --train-size N     train puzzles (default: 2000)\n"
            "  --test-size M      test puzzles (default: 200)\n"
            "  --blanks K         blank cells per puzzle, 1..12 (default: 8)\n"
            "  --seed S           RNG seed (default: 0)\n");
}

static int cmd_data_sudoku4(int argc, char **argv) {
    static const struct option opts[] = {
        {"out", required_argument, 0, 'o'}, {"train-size", required_argument, 0, 'n'},
        {"test-size", required_argument, 0, 'm'}, {"blanks", required_argument, 0, 'b'},
        {"seed", required_argument, 0, 's'}, {"help", no_argument, 0, 'h'}, {0, 0, 0, 0}};
    const char *cmd = "data sudoku4", *out = NULL;
    long n_train = 2000, n_test = 200, blanks = 8;
    uint64_t seed = 0;
    int c;
    optind = 1;
    opterr = 0;
    while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
        switch (c) {
        case 'o': out = optarg; break;
        case 'n': if (data_parse_long(optarg, 1, 1000000, &n_train)) return die(cmd, "--train-size: expected 1..1000000, got '%s'", optarg); break;
        case 'm': if (data_parse_long(optarg, 0, 1000000, &n_test)) return die(cmd, "--test-size: expected 0..1000000, got '%s'", optarg); break;
        case 'b': if (data_parse_long(optarg, 1, 12, &blanks)) return die(cmd, "--blanks: expected 1..12, got '%s'", optarg); break;
        case 's': if (data_parse_u64(optarg, &seed)) return die(cmd, "--seed: expected a non-negative integer, got '%s'", optarg); break;
        case 'h': usage_sudoku4(stdout); return 0;
        default: return bad_option(cmd, argc, argv) + 1;
        }
    }
    if (data_extra_arg(cmd, argc, argv)) return 2;
    if (!out) return die(cmd, "--out is required (see trm data sudoku4 --help)") + 1;
    bool created = false;
    trm_err e;
    if (data_prepare_out("data sudoku", out, &created)) return 1; /* its messages always said "data sudoku" */
    if (sudoku4_build(out, n_train, n_test, (int)blanks, seed, &e)) {
        if (created) data_remove_tree(out);
        return die(cmd, "%s", e.msg);
    }
    data_print_summary(n_train, n_train, n_test, out);
    return 0;
}

int cmd_data(int argc, char **argv) {
    if (argc < 2) {
        fprintf(stderr, "trm data: expected a builder: sudoku or sudoku-gen (see trm data --help)\n");
        return 2;
    }
    const char *b = argv[1];
    if (!strcmp(b, "--help") || !strcmp(b, "-h") || !strcmp(b, "help")) {
        usage_data(stdout);
        return 0;
    }
    if (!strcmp(b, "sudoku")) {
        sudoku_opts o;
        int prc = parse_sudoku(argc - 1, argv + 1, &o);
        return prc ? prc - 1 : run_sudoku(&o);
    }
    if (!strcmp(b, "sudoku-gen")) {
        gen_opts o;
        int prc = parse_gen(argc - 1, argv + 1, &o);
        return prc ? prc - 1 : run_gen(&o);
    }
    if (!strcmp(b, "sudoku4")) return cmd_data_sudoku4(argc - 1, argv + 1);
    if (!strcmp(b, "maze")) return cmd_data_maze(argc - 1, argv + 1);
    if (!strcmp(b, "maze-gen")) return cmd_data_maze_gen(argc - 1, argv + 1);
    if (!strcmp(b, "arc")) return cmd_data_arc(argc - 1, argv + 1);
    fprintf(stderr, "trm data: unknown builder '%s' (expected one of: sudoku, sudoku-gen, sudoku4, maze, maze-gen, arc; see trm data --help)\n", b);
    return 2;
}
