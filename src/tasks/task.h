/* task.h - one interface for every puzzle family.
 *
 * A task says how a puzzle becomes tokens and back, how it is augmented
 * and how the augmentation is undone, how an answer is checked, and how a
 * board looks. Sudoku, 4x4 Sudoku, Maze and ARC implement it
 * (src/tasks/<name>.c); a new family is one new file plus one line in the
 * registry (src/tasks/task.c).
 *
 * Everything works on token sequences of the model's layout: seq_len
 * tokens, row-major on a rows x cols board (rows * cols == seq_len), PAD
 * token 0. Families with richer data (an ARC task file with many grids)
 * keep their own API next to this one; the interface is what the generic
 * code (solve, eval, search, rendering) needs.
 */
#ifndef TRM_TASKS_TASK_H
#define TRM_TASKS_TASK_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "trm.h"

/* An augmentation, with everything needed to undo it. */
typedef struct {
    int dihedral;        /* 0..7, spec 4.5 (0 = identity) */
    uint8_t perm[32];    /* token relabelling: token t -> perm[t] (identity when unused) */
    int row_perm[32];    /* row/column permutations (Sudoku); identity when unused */
    int col_perm[32];
    int dr, dc;          /* translation (ARC train split) */
} trm_aug;

/* How one token is drawn: a fill colour for pictures and ANSI
 * backgrounds, and a one- or two-byte glyph for plain text. */
typedef struct {
    uint8_t rgb[3];
    char glyph[3];       /* NUL-terminated, printed centred in a 2-column cell */
    bool dark_text;      /* glyph drawn dark on this fill */
} trm_cell_style;

typedef struct trm_task trm_task;
struct trm_task {
    const char *name;          /* "sudoku", "sudoku4", "maze", "arc" */
    const char *description;   /* one line for --help */
    int vocab_size;
    /* Board geometry for a model of seq_len tokens; 0 if this task cannot
     * use that length (mazes are any n x n). */
    int (*board)(int seq_len, int *rows, int *cols);

    /* One puzzle as text (a line of a file, a command-line argument) ->
     * input tokens and, when the text carries one, the answer. Returns 0,
     * or -1 with what was expected (the caller adds file:line). NULL when
     * the family has no one-line form (ARC: task files). */
    int (*parse)(const char *text, int seq_len, int32_t *input, int32_t *label, bool *has_label,
                 trm_err *err);
    /* Tokens -> the text form parse reads (NUL-terminated, at most
     * seq_len + 1 bytes plus separators the task needs). */
    void (*format)(const int32_t *tokens, int seq_len, char *out);

    /* Draws a random validity-preserving augmentation for a puzzle of this
     * length; apply/invert map a token sequence through it (invert(apply(x))
     * == x). */
    void (*draw_aug)(int seq_len, trm_aug *aug, uint64_t rng[4]);
    void (*apply_aug)(const trm_aug *aug, int seq_len, const int32_t *in, int32_t *out);
    void (*invert_aug)(const trm_aug *aug, int seq_len, const int32_t *in, int32_t *out);

    /* Checks a predicted answer against its puzzle: 0 = a valid answer,
     * n > 0 = n violations (a measure of how wrong, for search), -1 = the
     * task has no checker (ARC). A valid answer may still differ from the
     * stored label only when the puzzle has several answers. */
    int (*verify)(const int32_t *input, const int32_t *pred, int seq_len);

    /* Style of a token (given = token of the question, so tasks can draw
     * givens apart from filled cells). */
    trm_cell_style (*style)(int32_t token, bool given);
    /* The part of the board worth drawing (ARC crops at its EOS markers);
     * NULL = the whole board. */
    void (*crop)(const int32_t *tokens, int seq_len, int *rows, int *cols);

    /* Builds a dataset of this family from o (trm_build_dataset, trm.h);
     * NULL when the family has no builder. */
    int (*build)(const trm_build_opts *o, trm_build_result *res, trm_err *err);
    /* The builder's defaults over trm_build_opts_init's (NULL: none). */
    void (*build_defaults)(trm_build_opts *o);
};

/* The registry. */
const trm_task *trm_task_by_name(const char *name);
/* The task a model or dataset of this vocabulary and length belongs to:
 * (11, 81) sudoku, (6, 16) sudoku4, (6, n*n) maze, (12, 900) arc; NULL if
 * none. */
const trm_task *trm_task_detect(int vocab_size, int seq_len);
/* All tasks, NULL-terminated. */
const trm_task *const *trm_task_list(void);

/* Shared helpers for tasks on square or rectangular boards. */
/* Dihedral transform id 0..7 (spec 4.5) of a rows x cols board of tokens;
 * out gets the transformed board, whose shape is (*out_rows, *out_cols). */
void trm_dihedral(int id, const int32_t *in, int rows, int cols, int32_t *out, int *out_rows,
                  int *out_cols);
/* The inverse id: [0, 3, 2, 1, 4, 5, 6, 7][id]. */
int trm_dihedral_inverse(int id);
void trm_aug_identity(trm_aug *aug);

#endif
