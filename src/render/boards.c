/* boards.c - board geometry and per-cell looks shared by the text and
 * PNG renderers, so both draw the same cells and mark the same errors. */
#include <stdio.h>
#include <stdlib.h>

#include "render/internal.h"

int board_shape(const trm_task *t, int seq_len, int *rows, int *cols, trm_err *err) {
    if (!t->board(seq_len, rows, cols) || *rows <= 0 || *cols <= 0 || *rows * *cols != seq_len)
        return trm_errf(err, "task %s has no board of %d tokens", t->name, seq_len);
    return 0;
}

void board_crop(const trm_task *t, int seq_len, const int32_t *tokens, int rows, int cols,
                int *crop_rows, int *crop_cols) {
    *crop_rows = rows, *crop_cols = cols;
    if (!t->crop) return;
    t->crop(tokens, seq_len, crop_rows, crop_cols);
    /* a crop never grows the board; an empty one (a prediction with no
     * grid) draws as its caption alone */
    if (*crop_rows > rows) *crop_rows = rows;
    if (*crop_cols > cols) *crop_cols = cols;
    if (*crop_rows < 0 || *crop_cols < 0) *crop_rows = *crop_cols = 0;
}

bool board_near_red(const uint8_t rgb[3]) {
    return abs(rgb[0] - 220) + rgb[1] + rgb[2] < 200;
}

cell_look board_cell(const trm_task *t, const int32_t *tokens, const int32_t *question,
                     const int32_t *truth, int i) {
    cell_look L;
    bool given = question && question[i] == tokens[i];
    L.style = t->style(tokens[i], given);
    L.wrong = truth && tokens != truth && tokens != question && tokens[i] != truth[i];
    return L;
}

void board_caption(const trm_task *t, const char *title, int crop_rows, int crop_cols, char *out,
                   size_t n) {
    const char *s = title ? title : "";
    if (t->crop) snprintf(out, n, "%s %dx%d", s, crop_rows, crop_cols);
    else snprintf(out, n, "%s", s);
}
