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

/* Draws n boards left to right. question (may be NULL) tells which cells
 * were given (drawn as givens); truth (may be NULL) marks the cells of
 * each board that differ from it (red glyph / red frame in pictures).
 * Boards are cropped with the task's crop when it has one. */
void trm_render_text(FILE *f, const trm_task *t, int seq_len, const int32_t *question,
                     const int32_t *truth, const trm_board_view *boards, int n, bool color);
int trm_render_png(const char *path, const trm_task *t, int seq_len, const int32_t *question,
                   const int32_t *truth, const trm_board_view *boards, int n, trm_err *err);

/* Loss and accuracy curves of a run: reads metrics.jsonl (train and eval
 * records as written by trm train) and writes an SVG (path ends in .svg)
 * or PNG (.png). Errors name the file and line of a bad record. */
int trm_plot_metrics(const char *jsonl_path, const char *out_path, trm_err *err);

#endif
