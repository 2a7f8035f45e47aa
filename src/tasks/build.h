/* build.h - what the dataset builders (src/tasks/<family>_build.c) share:
 * the output folder, the seeded split draw, the size plan, per-item RNG
 * streams, a set of byte rows, and the notes and progress they report
 * through the caller's trm_build_opts callbacks (the library prints
 * nothing). The public entry point is trm_build_dataset (trm.h), which
 * calls the task's build hook (task.h). */
#ifndef TRM_TASKS_BUILD_H
#define TRM_TASKS_BUILD_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "data/dataset.h"
#include "trm.h"

/* Size of a path buffer: an output path plus ".tmp.<pid>" and a file name. */
#define BUILD_PATH 4200

/* A new array 0, 1, ..., n-1 (all of a split, in file order); NULL when
 * out of memory; the caller frees. */
int *build_iota(int n);

/* 64-bit FNV-1a of n bytes. */
uint64_t build_fnv1a(const void *bytes, size_t n);

/* Item k's own RNG stream from the seed, so that parallel generators give
 * the same output whatever the threads. */
void build_item_rng(uint64_t rng[4], uint64_t seed, long k);

/* Makes generated item k (0, or -1 when its target was not reached) from
 * its own RNG stream, with the calling thread's scratch (NULL when none
 * was asked); *stat is a number gathered over the items (maze: the path
 * length). */
typedef int (*build_item_fn)(void *ctx, long k, uint64_t rng[4], void *scratch, long *stat);

/* Sum, min and max of the items' stats. */
typedef struct {
    long sum, min, max;
} build_gen_stats;

/* The generators' parallel loop: makes items 0..o->count-1 on OpenMP
 * threads (dynamic schedule), item k from build_item_rng(o->seed, k) so
 * the output does not depend on the threads; o->progress after each item;
 * once an item fails the rest are skipped. Returns the lowest failed
 * index seen, or -1. */
long build_generate_all(const trm_gen_opts *o, build_item_fn make, void *ctx, size_t scratch_bytes,
                        build_gen_stats *st);

/* Monotonic seconds, for rates and durations. */
double build_now_s(void);

/* Calls each(file, ctx, err) for the files of a comma-separated list, in
 * order, until one fails: -1 (err set by it), or 0. */
int build_each_file(const char *list, int (*each)(const char *file, void *ctx, trm_err *err), void *ctx,
                    trm_err *err);

/* mkdir -p DIR (an existing directory is fine). *created is set only when
 * this call made DIR itself: only then may a failure remove it. */
int build_make_dir(const char *dir, bool *created, trm_err *err);

/* build_make_dir, then proves DIR takes files (a probe file), so a bad
 * place fails before any work. */
int build_prepare_out(const char *dir, bool *created, trm_err *err);

/* Removes DIR and everything below it (a failed build's own output). */
void build_remove_tree(const char *dir);

/* A seeded shuffle of 0..n-1: the first n_test indices are the test draw,
 * the next n_train the train draw, each sorted back into file order (the
 * order of groups does not matter to training; file order keeps the
 * files easy to inspect). NULL when out of memory; the caller frees. */
int *build_draw_split(int n, int n_test, int n_train, uint64_t rng[4]);

/* Split sizes from test_size/train_size (train_size < 0: all that is
 * left), checked against the pool_n items the inputs hold; noun names
 * them in messages ("puzzles", "mazes"). */
int build_plan_sizes(const char *noun, long test_size, long train_size, int pool_n, bool external_test,
                     int *n_train, int *n_test, trm_err *err);

/* Writes DIR/train, DIR/test and identifiers.json ["<blank>"] (each atomic
 * on its own), for builders with the one shared puzzle identifier. */
int build_write_dataset(const char *dir, trm_split_writer *train, trm_split_writer *test, trm_err *err);

/* Opens out's temporary sibling tmp ("OUT.tmp.<pid>") for writing, before
 * the work so that a bad path fails at once; NULL after the error. */
FILE *build_tmp_open(const char *out, char tmp[BUILD_PATH], trm_err *err);

/* Closes f (always) and, when werr is 0 and the close worked, renames tmp
 * onto out; -1 after the error, tmp removed. */
int build_tmp_commit(FILE *f, int werr, const char *tmp, const char *out, trm_err *err);

/* The option checks of the library entry points (the CLI checks the same
 * ranges while parsing): -1 with "NAME V: expected LO..HI" unless
 * lo <= v <= hi. */
int build_check_range(const char *name, long v, long lo, long hi, trm_err *err);

/* An informational line through o->note (nothing when it is NULL). */
void build_note(const trm_build_opts *o, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* Progress through o->progress: done of total items and the line that
 * says so (e.g. "train 12/100 groups (300 examples/s)"); the line is only
 * formatted when there is a callback. */
void build_progress(const trm_build_opts *o, long done, long total, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

/* Open-addressing set of fixed-length byte rows (rows[k * len ...]), by
 * row index: drops repeated questions and keeps train and test disjoint.
 * rows must stay in place while the set is used. */
typedef struct {
    const uint8_t *rows;
    size_t len;
    int *slot; /* -1 = empty */
    size_t mask;
} build_rowset;

/* Room for n rows; -1 when out of memory. Free with free(set->slot). */
int build_rowset_init(build_rowset *s, const void *rows, size_t len, int n);

/* Whether row q is in the set; with add >= 0, inserts index add when absent. */
bool build_rowset_has(build_rowset *s, const void *q, int add);

#endif
