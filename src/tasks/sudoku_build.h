/* sudoku_build.h - helpers of the Sudoku dataset builders: keeping
 * held-out solution grids out of training (the leak check) and the
 * difficulty distribution of a split (ratings from sudoku_solve_rated).
 *
 * The leak check compares SOLUTION grids, not questions: two puzzles with
 * the same solution teach the same answer. Grids are compared through a
 * key that is the same for a grid, its digit relabellings, its transpose
 * and their combinations (sudoku_grid_key). Row, column, band and stack
 * permutations are NOT folded into the key.
 */
#ifndef TRM_TASKS_SUDOKU_BUILD_H
#define TRM_TASKS_SUDOKU_BUILD_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "trm.h"

/* Key of a grid: of the grid and its transpose, each with its digits
 * renamed 1, 2, 3, ... in order of first appearance (row-major; blanks
 * stay 0), the lexicographically smaller. Equal keys <=> the grids are
 * equal up to digit relabelling and transposition. */
void sudoku_grid_key(const int8_t grid[81], uint8_t key[81]);

/* A set of grid keys: add grids, seal (sort), then query. */
typedef struct {
    int n, cap;
    uint8_t *keys; /* [n, 81], sorted once sealed */
} sudoku_keyset;

/* Adds the keys of n grids (grids[k * 81 ...]); -1 when out of memory. */
int sudoku_keyset_add(sudoku_keyset *s, const int8_t *grids, int n);
void sudoku_keyset_seal(sudoku_keyset *s);
/* Whether grid's key is in the (sealed) set. */
bool sudoku_keyset_has(const sudoku_keyset *s, const int8_t grid[81]);
void sudoku_keyset_free(sudoku_keyset *s);

/* keep[k] = false for every k < n whose solution (answers[k * 81 ...])
 * is in held; returns how many were newly dropped. */
int sudoku_mark_leaks(const int8_t *answers, int n, const sudoku_keyset *held, bool *keep);

/* Distribution of one rating (nodes or backtracks) over a split:
 * nearest-rank quantiles (q = v[ceil(p n) - 1] of the sorted values) and
 * a histogram in powers of two: bin 0 holds 0, bin b >= 1 holds
 * [2^(b-1), 2^b - 1]. */
#define SUDOKU_HIST_BINS 64
typedef struct {
    long n, min, max, p10, p25, p50, p75, p90, p99;
    double mean;
    long hist[SUDOKU_HIST_BINS];
} sudoku_rating_stats;

/* Stats of v[idx[k]] for k < n (idx NULL: v[0..n)); -1 out of memory. */
int sudoku_rating_stats_of(const long *v, const int *idx, int n, sudoku_rating_stats *st);

/* {"puzzles":N,"nodes":{...},"backtracks":{...}} of the puzzles idx[0..n)
 * (idx NULL: all n), each {"min","p10","p25","median","p75","p90","p99",
 * "max","mean","hist":{"0":..,"1":..,"2-3":..,...}} (empty bins left out). */
int sudoku_split_rating_json(FILE *f, const long *nodes, const long *backtracks, const int *idx, int n);

/* Per-puzzle ratings as CSV rows "split,question,answer,nodes,backtracks"
 * ('.' blanks) of the puzzles idx[0..n) (idx NULL: all n); the header is
 * the caller's (SUDOKU_RATINGS_HEADER). A file of these rows loads back
 * with sudoku_load (it has question and answer columns). */
#define SUDOKU_RATINGS_HEADER "split,question,answer,nodes,backtracks\n"
void sudoku_write_ratings_csv(FILE *f, const char *split, const int8_t *q, const int8_t *a, const long *nodes,
                              const long *backtracks, const int *idx, int n);

/* The dataset builders, the build hooks of task_sudoku (o->input,
 * o->test_input, o->sudoku.*) and task_sudoku4 (o->train_size,
 * o->test_size, o->sudoku4.blanks), with their defaults. */
int sudoku_build_dataset(const trm_build_opts *o, trm_build_result *res, trm_err *err);
void sudoku_build_defaults(trm_build_opts *o);
int sudoku4_build_dataset(const trm_build_opts *o, trm_build_result *res, trm_err *err);
void sudoku4_build_defaults(trm_build_opts *o);
/* The generator, task_sudoku's generate hook: o->sudoku.*. */
int sudoku_generate_csv(const trm_gen_opts *o, trm_gen_result *res, trm_err *err);
void sudoku_gen_defaults(trm_gen_opts *o);

#endif
