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
#include <stddef.h>
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

/* One answer to a puzzle of a puzzle file (trm_task_file_ops), ready to
 * show: the lines around its boards, its --json line and its boards
 * (input, attempts, and the truth when the file has it). Owned by the
 * file handle; valid until the next answer or free. */
typedef struct {
    char title[512];          /* the line before the boards */
    char verdict[512];        /* the line after them */
    char *json;               /* one JSON object, no newline */
    char name[320];           /* file stem for a picture of it, e.g. "<task>-test-1" */
    const int32_t *board[4];  /* seq_len tokens each */
    const char *label[4];
    int n_boards;
    const int32_t *given, *truth; /* the question and the truth (NULL: unknown) for drawing */
} trm_task_answer;

/* Families whose puzzles come as files holding several inputs, solved
 * against the dataset the model was trained on (ARC task files: every
 * augmented version of the task is solved, inverted and voted on). The
 * caller runs the model: open, prepare, solve the rows, add the answers,
 * then read each input's answer. */
typedef struct trm_task_file trm_task_file;
typedef struct {
    /* The caller's messages when a file run lacks something. */
    const char *need_data, *need_file, *no_search;
    /* Reads the file; NULL with an error naming it. */
    trm_task_file *(*open)(const char *path, trm_err *err);
    /* Its inputs (each gets one answer). */
    int (*n_inputs)(const trm_task_file *f);
    /* Binds it to the dataset folder data_dir of a model with n_table
     * puzzle identifiers, and lays out the rows to solve: *n rows of
     * seq_len input tokens and their puzzle identifiers (the handle's). */
    int (*prepare)(trm_task_file *f, const char *data_dir, int n_table, const int32_t **in, const int32_t **pid,
                   int *n, trm_err *err);
    /* The model's answers to those rows: pred [n, seq_len], q_halt [n]. */
    int (*add)(trm_task_file *f, const int32_t *pred, const float *q_halt, trm_err *err);
    /* Input j's answer. */
    int (*answer)(trm_task_file *f, int j, trm_task_answer *out, trm_err *err);
    void (*free)(trm_task_file *f);
} trm_task_file_ops;

/* Families whose datasets are scored beyond the per-row checker (ARC:
 * the predictions of every augmented version are inverted and voted on,
 * pass@K, a Kaggle submission). trm eval feeds every evaluated row of
 * every checkpoint to one handle, then asks for its report. */
typedef struct trm_task_scorer trm_task_scorer;
typedef struct {
    /* What such a dataset is, for the caller's message ("an ARC dataset
     * (vocab 12, ...)"). */
    const char *what;
    /* Whether the dataset folder dir, of metadata meta, is one. */
    bool (*accepts)(const char *dir, const trm_dataset_meta *meta);
    /* Reads what scoring needs from dir; NULL with an error naming it. */
    trm_task_scorer *(*open)(const char *dir, trm_err *err);
    /* One evaluated row (trm_eval_row_fn's contract). */
    int (*add)(trm_task_scorer *s, const trm_eval_row *row, trm_err *err);
    /* Writes the submission file of the answers so far. */
    int (*write_submission)(const trm_task_scorer *s, const char *path, trm_err *err);
    /* Appends the report to a JSON object being written to out, as
     * ",\"<key>\":{...}"; pooled = the rows of n_ck checkpoints, and
     * submission the file written (or NULL). */
    void (*print_json)(const trm_task_scorer *s, FILE *out, int n_ck, const char *submission);
    void (*free)(trm_task_scorer *s);
} trm_task_scorer_ops;

/* One of a builder's own options, set by key (trm_build_args_set, trm.h):
 * the field of trm_build_opts at byte offset off. A task lists its keys
 * in build_keys, so the by-key setter names no task. */
typedef enum {
    BUILD_KEY_LONG, /* long in [lo, hi] */
    BUILD_KEY_INT,  /* int in [lo, hi] */
    BUILD_KEY_BOOL, /* bool: true, false, 1 or 0 */
    BUILD_KEY_STR,  /* const char *: a copy that lives as long as the setter's handle */
} build_key_kind;

typedef struct {
    const char *key;
    build_key_kind kind;
    long lo, hi;
    size_t off;
} build_key;

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

    /* ---- presentation (trm solve), so that no caller names a task */
    /* Words for the checker's verdict on an answer, and for the cells
     * whose accuracy is counted. */
    const char *valid_word, *invalid_word, *cells_word;
    /* One puzzle line as trm solve reads it (a file line, an argument);
     * NULL: parse. */
    int (*parse_line)(const char *text, int seq_len, int32_t *input, int32_t *label, bool *has_label,
                      trm_err *err);
    /* Why a puzzle cannot be solved (givens that break the rules, no
     * solution), in buf or a constant, or NULL; the caller still checks
     * a given answer with verify. NULL: no such check. */
    const char *(*impossible)(const int32_t *input, const int32_t *label, bool has_label, int seq_len, char *buf,
                              size_t n);
    /* Prints the prediction as the family's own text board (givens of
     * input marked, cells differing from label when given); NULL: the
     * generic board drawing. */
    void (*print)(FILE *f, const int32_t *input, const int32_t *pred, const int32_t *label, bool has_label,
                  bool color);
    /* Puzzle files (ARC); NULL: one-line puzzles only. */
    const trm_task_file_ops *file;
    /* Dataset scoring beyond verify (ARC's voting, trm eval); NULL: none. */
    const trm_task_scorer_ops *scorer;

    /* Builds a dataset of this family from o (trm_build_dataset, trm.h);
     * NULL when the family has no builder. */
    int (*build)(const trm_build_opts *o, trm_build_result *res, trm_err *err);
    /* The builder's defaults over trm_build_opts_init's (NULL: none). */
    void (*build_defaults)(trm_build_opts *o);
    /* The builder's own option keys beyond the shared ones (out, input,
     * seed, ...), ended by a {NULL} entry; NULL: none. */
    const build_key *build_keys;
    /* Generates new puzzles as question,answer CSV (trm_generate_puzzles)
     * and its defaults; NULL when the family has no generator. */
    int (*generate)(const trm_gen_opts *o, trm_gen_result *res, trm_err *err);
    void (*gen_defaults)(trm_gen_opts *o);
};

/* The registry. */
const trm_task *trm_task_by_name(const char *name);
/* The task a model or dataset of this vocabulary and length belongs to:
 * (11, 81) sudoku, (6, 16) sudoku4, (6, n*n) maze, (12, 900) arc; NULL if
 * none. */
const trm_task *trm_task_detect(int vocab_size, int seq_len);
/* All tasks, NULL-terminated. */
const trm_task *const *task_list(void);

/* Shared helpers for tasks on square or rectangular boards. */
/* Dihedral transform id 0..7 (spec 4.5) of a rows x cols board of tokens;
 * out gets the transformed board, whose shape is (*out_rows, *out_cols). */
void task_dihedral(int id, const int32_t *in, int rows, int cols, int32_t *out, int *out_rows,
                  int *out_cols);
/* The inverse id: [0, 3, 2, 1, 4, 5, 6, 7][id]. */
int task_dihedral_inverse(int id);
void task_aug_identity(trm_aug *aug);

#endif
