/* arc.h - ARC-AGI tasks: grids, task files, the 30x30 token canvas, the
 * augmentations and their names, and the grid hash (spec 4.4, 4.5, 5.2).
 *
 * This is the family's rich API (the task interface of task.h only sees
 * token boards): the dataset builder (`trm data arc`) and the ARC
 * evaluator both work on it.
 *
 * Grids are h x w (1..30 each; 0 x 0 only as the result of an empty
 * crop), colours 0..9, stored row-major with stride w in a fixed buffer,
 * so the first rows * cols bytes are exactly the reference's
 * `grid.tobytes()`.
 */
#ifndef TRM_TASKS_ARC_H
#define TRM_TASKS_ARC_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "trm.h"

#define ARC_MAX 30                     /* canvas side */
#define ARC_SEQ_LEN (ARC_MAX * ARC_MAX) /* 900 tokens */
#define ARC_VOCAB 12                   /* PAD 0, EOS 1, colour c -> c + 2 */
#define ARC_PAD 0
#define ARC_EOS 1
#define ARC_NAME_SEP "|||"             /* version names: "<id>|||t<t>|||<10 digits>" */

typedef struct {
    int rows, cols;
    uint8_t cell[ARC_MAX * ARC_MAX]; /* cell (r, c) at r * cols + c */
} arc_grid;

#define ARC_AT(g, r, c) ((g)->cell[(r) * (g)->cols + (c)])

typedef struct {
    arc_grid in, out;
} arc_pair;

typedef struct {
    char *id;              /* task id (file name without .json, or the Kaggle key) */
    char *file;            /* the file it came from, for messages */
    int n_train, n_test;
    arc_pair *train;       /* demonstration pairs */
    arc_pair *test;        /* test pairs; outputs from the solutions when known */
    bool test_outputs;     /* false: test outputs were missing and are the dummy [[0]] */
    bool test_first;       /* "test" came before "train" in the source object (Kaggle
                            * files do); the reference keeps that order for examples */
} arc_task;

typedef struct {
    int n;
    arc_task *tasks;       /* in file order (Kaggle) or sorted by path (folders) */
    int n_skipped;         /* with skip_bad: one line per skipped task, "file: task: why" */
    char **skipped;
} arc_set;

void arc_set_free(arc_set *s);

/* ------------------------------------------------------------ reading */

/* Every *.json file under dir, subfolders too (one task each, {"train":
 * [...], "test": [...]}, test pairs with "output"; other keys ignored),
 * sorted by path below dir; id = file name minus ".json".
 * A malformed task (missing keys, wrong types, ragged rows, colours
 * outside 0-9, grids over 30x30) is an error naming file and task id, and
 * nothing is returned; with skip_bad it is left out and listed in
 * s->skipped instead. Tasks are appended to s (which may hold tasks). */
int arc_load_dir(const char *dir, bool skip_bad, arc_set *s, trm_err *err);

/* A Kaggle "combined" challenges file {id: {"train": [...], "test":
 * [{"input"}...]}} and its solutions {id: [grid, ...]}. solutions NULL:
 * test outputs come from the challenges themselves when present (a
 * test_puzzles.json written by `trm data arc` has them), otherwise they are
 * the dummy [[0]] (test_outputs false), as the reference does. Appends. */
int arc_load_kaggle(const char *challenges, const char *solutions, bool skip_bad, arc_set *s,
                    trm_err *err);

/* A single per-task file (the folder format); appends one task. */
int arc_load_file(const char *path, arc_set *s, trm_err *err);

/* ------------------------------------------------------------ grids */

bool arc_grid_equal(const arc_grid *a, const arc_grid *b);
/* Colour map: out = perm[in] cell-wise (perm is a permutation of 0..9). */
void arc_grid_permute(const arc_grid *in, const uint8_t perm[10], arc_grid *out);
/* Dihedral transform t (0..7, spec 4.5); out may not alias in. */
void arc_grid_dihedral(const arc_grid *in, int t, arc_grid *out);
/* The augmentation of a version: D_t(perm(G)) (colours first, then
 * geometry, as the reference). */
void arc_aug_apply(const arc_grid *in, int t, const uint8_t perm[10], arc_grid *out);
/* Its inverse: sigma(D_inv(t)(G)) with sigma = perm^-1. */
void arc_aug_invert(const arc_grid *in, int t, const uint8_t perm[10], arc_grid *out);

/* ------------------------------------------------------------ tokens */

/* Puts g on the 30x30 canvas (tokens[900]) with its top-left at (r0, c0):
 * colour c -> c + 2, EOS after the last row (columns c0..c0+w-1) and after
 * the last column (rows r0..r0+h-1) where they fit, PAD elsewhere
 * (spec 4.4 step 4). The caller keeps r0 + h <= 30 and c0 + w <= 30. */
void arc_encode(const arc_grid *g, int r0, int c0, int32_t *tokens);
/* The grid a token board shows (spec 5.2 step 2): the largest top-left
 * block of colour tokens, found row by row; 0 x 0 when the first token is
 * not a colour. Tokens outside 2..11 end a row's scan. */
void arc_crop(const int32_t *tokens, arc_grid *out);
/* Only the crop's size. */
void arc_crop_size(const int32_t *tokens, int *rows, int *cols);

/* ------------------------------------------------------------ names */

/* "<id>|||t<t>|||<perm[0]..perm[9]>" into out; returns the length, or -1
 * when it does not fit in cap. */
int arc_version_name(const char *id, int t, const uint8_t perm[10], char *out, size_t cap);
/* The inverse: the task id (up to the first "|||") into id, and t / perm.
 * A name without "|||" is an original: t 0, identity perm. Returns -1 on
 * a malformed suffix (t outside 0..7, digits not a permutation of 0..9). */
int arc_parse_version(const char *name, char *id, size_t cap, int *t, uint8_t perm[10]);

/* ------------------------------------------------------------ hashes */

/* SHA-256 of the bytes [rows, cols] followed by the cells, row-major
 * (the reference's grid_hash); hex is 64 lowercase digits + NUL. */
void arc_grid_hash(const arc_grid *g, uint8_t digest[32]);
void arc_grid_hash_hex(const arc_grid *g, char hex[65]);
/* The reference's puzzle_hash over a list of pairs: SHA-256 (hex) of the
 * sorted "hash(in)|hash(out)" strings joined by "|". -1 when out of
 * memory (over 64 pairs needs a buffer). */
int arc_pairs_hash_hex(const arc_pair *const *pairs, int n, char hex[65]);

/* The ARC dataset builder (arc_build.c), task_arc's build hook:
 * o->arc.* (subsets, test sets, versions), o->seed (NumPy's, < 2^32). */
int arc_build_dataset(const trm_build_opts *o, trm_build_result *res, trm_err *err);
void arc_build_defaults(trm_build_opts *o);

#endif
