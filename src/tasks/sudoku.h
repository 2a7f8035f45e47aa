/* sudoku.h - the Sudoku task (spec 4.2): parsing puzzle collections, an
 * exact solver, validity-preserving augmentation, a generator, tokens.
 *
 * A grid is 81 int8 cells, row-major: 0 = blank, 1..9 = digit.
 * Tokens (the reference's encoding): cell v -> v + 1, so blank = 1,
 * digits = 2..10, vocab 11 (0 = PAD never occurs).
 */
#ifndef TRM_TASKS_SUDOKU_H
#define TRM_TASKS_SUDOKU_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "trm.h"

#define SUDOKU_CELLS 81
#define SUDOKU_VOCAB 11

typedef struct {
    int n;
    int8_t *q;      /* [n, 81] questions */
    int8_t *a;      /* [n, 81] solutions (always filled after loading) */
    long *nodes;    /* [n] solver search nodes (difficulty; see sudoku_rating) */
    long *backtracks; /* [n] dead ends of that search */
} sudoku_set;

/* Parses one collection line: 81 cells ('.' or '0' blank, '1'-'9'),
 * optionally followed by ",<81-digit answer>" (CSV) and anything after
 * more commas ignored. Returns 0, or -1 with a message naming what was
 * expected (the caller adds file:line). */
int sudoku_parse_line(const char *line, int8_t q[81], int8_t a[81], bool *has_answer, trm_err *err);

/* Loads a collection: plain 81-char lines or `question,answer` CSV (a
 * header line starting with "question" and '#' comment / empty lines are
 * skipped; other CSV columns such as source or rating are tolerated as
 * in sapientinc/sudoku-extreme: source,question,answer,rating). Missing
 * answers are solved; puzzles without a unique solution, answers that
 * contradict the givens or break the rules are errors naming file:line. */
int sudoku_load(const char *path, sudoku_set *out, trm_err *err);
void sudoku_set_free(sudoku_set *s);

/* Exact solver (bitmask constraint propagation + search on the cell with
 * fewest candidates). Counts solutions up to max_solutions; the first
 * one goes to `solution` (may be NULL); *nodes (may be NULL) gets the
 * number of search nodes, the difficulty rating. Returns the count. */
int sudoku_solve(const int8_t q[81], int8_t solution[81], int max_solutions, long *nodes);

/* The difficulty rating of a search: nodes = calls of the search (the root
 * plus one per guess: a candidate digit placed in the branch cell), and
 * backtracks = those whose propagation ran into a contradiction (dead
 * ends). With max_solutions 2 on a unique puzzle the whole tree is
 * searched, so both depend only on the puzzle (not on digit order); they
 * do change under row/column permutations and transposition, as the
 * branch cell's ties are broken by position. 0, 0 when the givens clash. */
typedef struct {
    long nodes, backtracks;
} sudoku_rating;

/* sudoku_solve with the rating of the search (r may be NULL). */
int sudoku_solve_rated(const int8_t q[81], int8_t solution[81], int max_solutions, sudoku_rating *r);

/* Rule violations of a grid: duplicate digits in a row, column or box
 * (each extra occurrence counts one), blanks, and cells that disagree
 * with the nonzero givens (givens may be NULL). 0 = a valid solution. */
int sudoku_violations(const int8_t grid[81], const int8_t givens[81]);

/* One random validity-preserving transform applied to q and a alike
 * (spec 4.2): digit relabelling, transpose with p = 0.5, band and row
 * permutations, stack and column permutations. */
void sudoku_augment(const int8_t q[81], const int8_t a[81], int8_t q_out[81], int8_t a_out[81],
                    uint64_t rng[4]);

/* A new puzzle with a unique solution: a random full grid, then clues
 * removed in random order while the solution stays unique, keeping the
 * result only if its difficulty (solver nodes) >= min_nodes and it has
 * at least min_blanks blanks; retries up to max_tries grids. Returns 0 or
 * -1 if nothing qualified. */
int sudoku_generate(int8_t q[81], int8_t a[81], long min_nodes, int min_blanks, int max_tries,
                    uint64_t rng[4]);

void sudoku_to_tokens(const int8_t grid[81], int32_t tokens[81]);
/* Tokens back to cells; out-of-range tokens become 0 (blank). */
void sudoku_from_tokens(const int32_t tokens[81], int8_t grid[81]);

/* Prints a 9x9 board; with truth, wrong cells are marked (ANSI red when
 * color, '*' otherwise); givens are shown plain, filled cells distinct. */
void sudoku_print(FILE *f, const int8_t grid[81], const int8_t givens[81], const int8_t *truth,
                  bool color);

#endif
