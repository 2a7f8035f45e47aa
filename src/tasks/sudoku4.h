/* sudoku4.h - 4x4 Sudoku (2x2 boxes): a small task for smoke tests, CPU
 * learning tests and curricula. Cells 0 = blank, 1..4; tokens v + 1
 * (blank 1, digits 2..5), vocab 6, seq_len 16. All 288 solution grids
 * are enumerated once, so uniqueness is an exact count. */
#ifndef TRM_TASKS_SUDOKU4_H
#define TRM_TASKS_SUDOKU4_H

#include <stdint.h>

#include "trm.h"

#define SUDOKU4_CELLS 16
#define SUDOKU4_VOCAB 6
#define SUDOKU4_GRIDS 288

/* The 288 valid grids, in lexicographic order. */
const int8_t (*sudoku4_grids(void))[16];
/* Number of valid grids agreeing with the nonzero cells of q (0..288). */
int sudoku4_count(const int8_t q[16]);
/* A random puzzle with `blanks` blank cells and exactly one solution
 * (blanks is lowered by one on each of 100 failed draws). */
void sudoku4_random(int8_t q[16], int8_t a[16], int blanks, uint64_t rng[4]);

/* Writes DIR/{train,test} and identifiers.json: n_train + n_test distinct
 * random puzzles (test questions never in train), one group each. */
int sudoku4_build(const char *dir, long n_train, long n_test, int blanks, uint64_t seed, trm_err *err);

#endif
