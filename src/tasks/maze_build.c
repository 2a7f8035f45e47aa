/* maze_build.c - the Maze dataset builder (task "maze", trm data maze):
 * question,answer CSV files or reference-format npy splits -> a dataset
 * in the reference's format (spec 4.1/4.3), optionally with the 8
 * dihedral transforms of every train maze.
 *
 * Every maze is checked (one S, one G, valid cells, the answer a shortest
 * path) before anything is written; a bad input costs one error naming
 * file:line and leaves no partial output. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/rng.h"
#include "data/dataset.h"
#include "tasks/build.h"
#include "tasks/maze.h"
#include "tasks/task.h"

/* ---------------------------------------------------------------- maze pools */

/* Mazes merged from several sources of one size. */
typedef struct {
    maze_set all;          /* merged (where unused) */
    int cap;
    char first_src[4096];  /* the source that fixed seq_len, for messages */
} pool;

static int pool_append(pool *p, const maze_set *s) {
    if (p->all.n + s->n > p->cap) {
        int cap = p->all.n + s->n;
        uint8_t *q = realloc(p->all.q, (size_t)cap * s->seq_len);
        if (q) p->all.q = q;
        uint8_t *a = q ? realloc(p->all.a, (size_t)cap * s->seq_len) : NULL;
        if (!a) return -1;
        p->all.a = a;
        p->cap = cap;
    }
    memcpy(p->all.q + (size_t)p->all.n * s->seq_len, s->q, (size_t)s->n * s->seq_len);
    memcpy(p->all.a + (size_t)p->all.n * s->seq_len, s->a, (size_t)s->n * s->seq_len);
    p->all.n += s->n;
    return 0;
}

/* What load_source adds to and checks against. */
typedef struct {
    pool *p;
    int want_len;         /* > 0: the size the mazes must have ... */
    const char *want_src; /* ... like these (for messages) */
} load_ctx;

/* Adds one source's mazes to the pool (a build_each_file callback); all
 * must share one size. */
static int load_source(const char *f, void *ctx, trm_err *err) {
    const load_ctx *l = ctx;
    pool *p = l->p;
    maze_set s;
    int rc = 0;
    if (maze_load(f, &s, err)) return -1;
    int want = p->all.seq_len ? p->all.seq_len : l->want_len;
    const char *from = p->all.seq_len ? p->first_src : l->want_src;
    if (want && s.seq_len != want) {
        int n = maze_side(s.seq_len), m = maze_side(want);
        rc = trm_errf(err, "%s: %dx%d mazes; expected %dx%d like %s", f, n, n, m, m, from);
    } else {
        if (!p->all.seq_len) p->all.seq_len = s.seq_len, snprintf(p->first_src, sizeof p->first_src, "%s", f);
        if (pool_append(p, &s)) rc = trm_errf(err, "out of memory after %d mazes", p->all.n);
    }
    maze_set_free(&s);
    return rc;
}

/* Loads a comma-separated list of sources; all mazes must share one size
 * (want_len > 0: that of the pool named by want_src). */
static int load_sources(const char *list, int want_len, const char *want_src, pool *p, trm_err *err) {
    load_ctx l = {p, want_len, want_src};
    return build_each_file(list, load_source, &l, err);
}

/* Drops repeated questions and (with other) questions also in other;
 * keeps the order. Counts what went. */
static int pool_filter(maze_set *s, const maze_set *other, int *dups, int *overlap) {
    build_rowset seen, theirs = {0}; /* question rows of s, of other */
    bool *keep = malloc(s->n ? (size_t)s->n : 1);
    *dups = *overlap = 0;
    if (!keep || build_rowset_init(&seen, s->q, s->seq_len, s->n)) {
        free(keep);
        return -1;
    }
    if (other && build_rowset_init(&theirs, other->q, other->seq_len, other->n)) {
        free(keep);
        free(seen.slot);
        return -1;
    }
    for (int k = 0; other && k < other->n; k++) build_rowset_has(&theirs, other->q + (size_t)k * other->seq_len, k);
    int L = s->seq_len, m = 0;
    for (int k = 0; k < s->n; k++) { /* decide first: the set points at rows by index */
        const uint8_t *q = s->q + (size_t)k * L;
        keep[k] = false;
        if (build_rowset_has(&seen, q, k)) (*dups)++;
        else if (other && build_rowset_has(&theirs, q, -1)) (*overlap)++;
        else keep[k] = true;
    }
    for (int k = 0; k < s->n; k++) {
        if (!keep[k]) continue;
        memmove(s->q + (size_t)m * L, s->q + (size_t)k * L, L);
        memmove(s->a + (size_t)m * L, s->a + (size_t)k * L, L);
        m++;
    }
    free(keep);
    free(seen.slot);
    free(theirs.slot);
    s->n = m;
    return 0;
}

/* ---------------------------------------------------------------- the build */

/* One group per maze: the maze, then (aug) its 7 other dihedral images. */
static trm_split_writer *build_split(const maze_set *s, const int *idx, int n, bool aug, trm_err *e) {
    int L = s->seq_len, side = maze_side(L);
    trm_split_writer *w = split_writer_new(L, MAZE_VOCAB);
    int32_t *buf = malloc(sizeof(int32_t) * 4 * L);
    if (!w || !buf) {
        trm_errf(e, "out of memory");
        goto fail;
    }
    int32_t *q = buf, *a = buf + L, *tq = buf + 2 * L, *ta = buf + 3 * L;
    for (int g = 0; g < n; g++) {
        for (int i = 0; i < L; i++) q[i] = s->q[(size_t)idx[g] * L + i], a[i] = s->a[(size_t)idx[g] * L + i];
        if (split_writer_group(w, e)) goto fail;
        for (int t = 0; t < (aug ? 8 : 1); t++) {
            task_dihedral(t, q, side, side, tq, NULL, NULL);
            task_dihedral(t, a, side, side, ta, NULL, NULL);
            if (split_writer_puzzle(w, 0, e) || split_writer_example(w, tq, ta, e)) goto fail;
        }
    }
    free(buf);
    return w;
fail:
    free(buf);
    split_writer_free(w);
    return NULL;
}

/* What the inputs held, for the note. */
typedef struct {
    int dups, overlap, xdups;
} drops;

/* Loads and filters the pools; n_train/n_test planned. */
static int gather(const trm_build_opts *o, pool *in, pool *ext, int *n_train, int *n_test, drops *dr, trm_err *err) {
    int dups = 0, overlap = 0, xdups = 0, xo = 0;
    if (!o->input) return trm_errf(err, "no input mazes given");
    if (load_sources(o->input, 0, NULL, in, err)) return -1;
    if (o->test_input && load_sources(o->test_input, in->all.seq_len, "the --input mazes", ext, err)) return -1;
    if ((o->test_input && pool_filter(&ext->all, NULL, &xdups, &xo)) ||
        pool_filter(&in->all, o->test_input ? &ext->all : NULL, &dups, &overlap))
        return trm_errf(err, "out of memory");
    if (in->all.n == 0) return trm_errf(err, "no input mazes left: %d repeats, %d also in --test-input", dups, overlap);
    *dr = (drops){dups, overlap, xdups};
    return build_plan_sizes("mazes", o->test_size, o->train_size, in->all.n, o->test_input != NULL, n_train, n_test,
                            err);
}

/* The test split: all of --test-input, or the first n_test of the draw. */
static trm_split_writer *test_split(const trm_build_opts *o, const pool *in, const pool *ext, const int *perm,
                                    int n_test, trm_err *err) {
    if (!o->test_input) return build_split(&in->all, perm, n_test, false, err);
    int *all = build_iota(ext->all.n);
    trm_split_writer *w = all ? build_split(&ext->all, all, ext->all.n, false, err) : NULL;
    if (!all) trm_errf(err, "out of memory");
    free(all);
    return w;
}

int maze_build_dataset(const trm_build_opts *o, trm_build_result *res, trm_err *err) {
    if (build_check_range("train_size", o->train_size, -1, 1L << 30, err) ||
        build_check_range("test_size", o->test_size, 0, 1L << 30, err))
        return -1;
    pool in = {0}, ext = {0};
    trm_split_writer *train = NULL, *test = NULL;
    int *perm = NULL, rc = -1, n_train = 0, n_test = 0;
    bool created = false;
    drops dr = {0, 0, 0};
    if (gather(o, &in, &ext, &n_train, &n_test, &dr, err) || build_prepare_out(o->out, &created, err)) goto done;
    int side = maze_side(in.all.seq_len), versions = o->maze.aug ? 8 : 1;
    int n_test_out = o->test_input ? ext.all.n : n_test;
    build_note(o, "%d usable %dx%d input mazes (%d repeats, %d also in --test-input dropped); train %d x %d versions, "
               "test %d%s", in.all.n, side, side, dr.dups, dr.overlap, n_train, versions, n_test_out,
               dr.xdups ? " (repeats in --test-input dropped)" : "");
    uint64_t rng[4];
    rng_seed(rng, o->seed);
    if (!(perm = build_draw_split(in.all.n, n_test, n_train, rng))) {
        trm_errf(err, "out of memory");
        goto done;
    }
    train = build_split(&in.all, perm + n_test, n_train, o->maze.aug, err);
    if (train) test = test_split(o, &in, &ext, perm, n_test, err);
    if (!train || !test || build_write_dataset(o->out, train, test, err)) goto done;
    *res = (trm_build_result){.train_groups = n_train, .train_puzzles = (long)n_train * versions,
                              .train_examples = (long)n_train * versions, .test_groups = n_test_out,
                              .test_puzzles = n_test_out, .test_examples = n_test_out, .identifiers = 1};
    rc = 0;
done:
    if (rc && created) build_remove_tree(o->out);
    split_writer_free(train);
    split_writer_free(test);
    free(perm);
    maze_set_free(&in.all);
    maze_set_free(&ext.all);
    return rc;
}

/* ================================================================ the generator
 * (trm data maze-gen): new n x n mazes with a long, unique shortest path
 * as question,answer CSV (maze_generate). */

void maze_gen_opts_defaults(trm_gen_opts *o) {
    maze_gen_opts d;
    maze_gen_defaults(&d);
    o->maze.side = d.side, o->maze.min_path = d.min_path, o->maze.wall_lo = d.wall_lo, o->maze.wall_hi = d.wall_hi;
    o->maze.unique = d.unique, o->maze.max_tries = d.max_tries;
}

/* The mazes' rows and the generator's options (build_generate_all). */
typedef struct {
    const maze_gen_opts *g;
    uint8_t *q, *a;
} maze_job;

/* Maze k into its rows; *len its shortest path. scratch: 2 * L tokens. */
static int make_maze(void *ctx, long k, uint64_t rng[4], void *scratch, long *len) {
    const maze_job *j = ctx;
    int L = j->g->side * j->g->side, d = 0;
    int32_t *bq = scratch, *ba = bq + L;
    int rc = maze_generate(j->g, rng, bq, ba, &d);
    for (int i = 0; rc == 0 && i < L; i++) j->q[k * L + i] = (uint8_t)bq[i], j->a[k * L + i] = (uint8_t)ba[i];
    *len = d;
    return rc;
}

static int write_gen_csv(FILE *f, long count, int L, const uint8_t *q, const uint8_t *a) {
    char *line = malloc(2 * (size_t)L + 2);
    if (!line) return -1;
    fprintf(f, "question,answer\n");
    for (long k = 0; k < count; k++) {
        for (int i = 0; i < L; i++) {
            line[i] = maze_char_of(q[k * L + i]);
            line[L + 1 + i] = maze_char_of(a[k * L + i]);
        }
        line[L] = ',';
        line[2 * L + 1] = '\n';
        fwrite(line, 1, 2 * (size_t)L + 2, f);
    }
    free(line);
    return ferror(f) ? -1 : 0;
}

int maze_generate_csv(const trm_gen_opts *o, trm_gen_result *res, trm_err *err) {
    maze_gen_opts g = {o->maze.side, o->maze.min_path, o->maze.wall_lo, o->maze.wall_hi, o->maze.unique,
                       o->maze.max_tries};
    if (build_check_range("count", o->count, 1, 1L << 28, err) || build_check_range("side", g.side, 2, 1000, err) ||
        build_check_range("max_tries", g.max_tries, 1, 1L << 40, err))
        return -1;
    if (!(g.wall_lo >= 0 && g.wall_lo <= g.wall_hi && g.wall_hi < 1))
        return trm_errf(err, "walls %g-%g: expected 0 <= LO <= HI < 1", g.wall_lo, g.wall_hi);
    int n = g.side, L = n * n, rc = -1;
    if (g.min_path < 1 || g.min_path > L - 1)
        return trm_errf(err, "--min-path %d: a %dx%d maze has paths of at most %d moves", g.min_path, n, n, L - 1);
    char tmp[BUILD_PATH];
    FILE *f = build_tmp_open(o->out, tmp, err); /* a bad path fails before the work */
    if (!f) return -1;
    uint8_t *q = malloc((size_t)o->count * L), *a = malloc((size_t)o->count * L);
    double t0 = build_now_s();
    build_gen_stats ps = {0, 0, 0};
    maze_job job = {&g, q, a};
    long bad = q && a ? build_generate_all(o, make_maze, &job, sizeof(int32_t) * 2 * (size_t)L, &ps) : -1;
    if (!q || !a) trm_errf(err, "out of memory for %ld mazes", o->count);
    else if (bad >= 0)
        trm_errf(err, "maze %ld: none of %ld random boards had a path of >= %d moves (lower --min-path, widen "
                 "--walls or raise --max-tries)", bad + 1, g.max_tries, g.min_path);
    else rc = build_tmp_commit(f, write_gen_csv(f, o->count, L, q, a), tmp, o->out, err);
    if (rc && (!q || !a || bad >= 0)) { /* not handed to the commit */
        fclose(f);
        remove(tmp);
    }
    *res = (trm_gen_result){build_now_s() - t0, (int)ps.min, (int)ps.max, (double)ps.sum / (double)o->count};
    free(q);
    free(a);
    return rc;
}
