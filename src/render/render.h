/* render.h - pictures of boards and training curves.
 *
 * Boards of any task (through its trm_cell_style) drawn side by side:
 * in the terminal (ANSI 24-bit colour backgrounds, or plain glyphs) and
 * to PNG. Training curves from a run's metrics.jsonl to SVG or PNG.
 * Files are written to a temporary name and renamed. */
#ifndef TRM_RENDER_RENDER_H
#define TRM_RENDER_RENDER_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "tasks/task.h"
#include "trm.h"

/* One board to draw: seq_len tokens and a caption ("input", "prediction",
 * "truth"). */
typedef struct {
    const int32_t *tokens;
    const char *title;
} trm_board_view;

/* Draws n boards left to right, each under its title. question (may be
 * NULL) tells which cells were given (the task's style draws them as
 * givens); truth (may be NULL) marks the cells of each board that differ
 * from it: '*' in the cell's first column in text (bold red in colour),
 * a red frame in pictures. A board whose tokens pointer is the question
 * or the truth itself is never marked. Boards are cropped with the
 * task's crop when it has one (ARC), and then their captions carry the
 * size ("prediction 3x4"), so a prediction of the wrong size shows.
 *
 * Text: two columns per cell; color = ANSI 24-bit backgrounds from the
 * style, else plain glyphs without trailing spaces. PNG: layout in
 * src/render/board_png.c; written to a temporary name and renamed;
 * errors name the file. */
void render_board_text(FILE *f, const trm_task *t, int seq_len, const int32_t *question,
                     const int32_t *truth, const trm_board_view *boards, int n, bool color);
int render_board_png(const char *path, const trm_task *t, int seq_len, const int32_t *question,
                   const int32_t *truth, const trm_board_view *boards, int n, trm_err *err);

/* Loss and accuracy curves of a run: reads metrics.jsonl (train and eval
 * records as written by trm train) and writes an SVG (path ends in .svg)
 * or PNG (.png): loss panel (train lm_loss and q_halt_loss, eval lm_loss)
 * above an accuracy panel (train and eval accuracy and exact_accuracy).
 * Errors name the file and line of a bad record; a file without any
 * train or eval record is an error too. */
int plot_metrics(const char *jsonl_path, const char *out_path, trm_err *err);

/* A study's comparison: the held-out (eval) results of n runs, one colour
 * each, in three panels - eval accuracy, eval exact_accuracy (0..1) and
 * eval lm_loss - against the cumulative training FLOPs logged with each
 * eval record (log axis) or against step (linear). labels[i] names run i
 * in the legend (NULL: each run's folder name, or its file's name when
 * it is not a metrics.jsonl). Errors: more than TRM_PLOT_MAX_RUNS runs, a
 * run without eval records, an eval record without "flops" (x = flops),
 * and those of plot_metrics. SVG or PNG by out_path's name. */
#define TRM_PLOT_MAX_RUNS 8
typedef enum { TRM_PLOT_X_FLOPS, TRM_PLOT_X_STEP } trm_plot_x;
int plot_compare_runs(const char *const *jsonl_paths, const char *const *labels, int n, trm_plot_x x,
                     const char *out_path, trm_err *err);

#endif
