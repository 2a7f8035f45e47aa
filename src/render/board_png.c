/* board_png.c - boards side by side as a PNG picture.
 *
 * Layout (pixels): a 10 px margin; above each board its caption in the
 * 5x7 font at scale 2 (14 px tall, 20 px band); boards 20 px apart, each
 * panel as wide as its board or caption. A board is cols x rows square
 * cells of side S (20 when the largest drawn board has up to 12 cells a
 * side, 16 up to 20, else 12) separated and surrounded by 1 px grid
 * lines, so a board is cols * (S + 1) + 1 wide. A cell is its style's
 * fill with the glyph's letters or digits on top (scale 2 in cells of
 * 18 px and more); a cell that differs from the truth gets a 2 px red
 * frame inside it (yellow on fills near that red, where red would
 * vanish). */
#include <ctype.h>
#include <stdlib.h>
#include <string.h>

#include "render/render.h"
#include "render/internal.h"

#define MARGIN 10
#define GAP 20
#define CAPTION_SCALE 2
#define CAPTION_BAND 20

static const rgb8 WHITE = {255, 255, 255}, GRID = {96, 96, 96}, INK = {40, 40, 40};
static const rgb8 RED = {220, 0, 0}, YELLOW = {255, 230, 0}, LIGHT = {245, 245, 245}, DARK = {20, 20, 20};

typedef struct {
    int rows, cols, x, width;
    char caption[160];
} panel;

static int cell_side(int rows, int cols) {
    int m = rows > cols ? rows : cols;
    return m <= 12 ? 20 : m <= 20 ? 16 : 12;
}

/* Only letters, digits and '?' of a glyph are drawn: fill glyphs such as
 * Maze's "##" or Sudoku's blank "." stand in for colour in plain text,
 * and in a picture the colour is there. */
static void draw_glyph(canvas *cv, int x, int y, int side, const cell_look *L) {
    char g[3] = {0};
    const char *s = L->style.glyph;
    size_t n = strnlen(s, 2), k = 0;
    for (size_t i = 0; i < n; i++)
        if (isalnum((unsigned char)s[i]) || s[i] == '?') g[k++] = s[i];
    if (!k) return;
    int scale = side >= 18 ? 2 : 1, w = font_text_width(g, scale), h = FONT_H * scale;
    canvas_text(cv, x + (side - w) / 2, y + (side - h) / 2, g, scale, L->style.dark_text ? DARK : LIGHT);
}

static void draw_cell(canvas *cv, int x, int y, int side, const cell_look *L) {
    const uint8_t *f = L->style.rgb;
    canvas_fill(cv, x, y, side, side, (rgb8){f[0], f[1], f[2]});
    draw_glyph(cv, x, y, side, L);
    if (L->wrong) canvas_frame(cv, x, y, side, side, 2, board_near_red(f) ? YELLOW : RED);
}

static void draw_board(canvas *cv, const trm_task *t, int cols_full, const int32_t *question,
                       const int32_t *truth, const int32_t *tokens, const panel *p, int side) {
    int pitch = side + 1, y0 = MARGIN + CAPTION_BAND;
    canvas_fill(cv, p->x, y0, p->cols * pitch + 1, p->rows * pitch + 1, GRID);
    for (int r = 0; r < p->rows; r++)
        for (int c = 0; c < p->cols; c++) {
            cell_look L = board_cell(t, tokens, question, truth, r * cols_full + c);
            draw_cell(cv, p->x + 1 + c * pitch, y0 + 1 + r * pitch, side, &L);
        }
    canvas_text(cv, p->x, MARGIN, p->caption, CAPTION_SCALE, INK);
}

int render_board_png(const char *path, const trm_task *t, int seq_len, const int32_t *question,
                   const int32_t *truth, const trm_board_view *boards, int n, trm_err *err) {
    int R, C;
    if (n <= 0) return trm_errf(err, "%s: no boards to draw", path);
    if (board_shape(t, seq_len, &R, &C, err)) return -1;
    panel *p = calloc((size_t)n, sizeof *p);
    if (!p) return trm_errf(err, "%s: out of memory", path);
    int big_r = 0, big_c = 0, W = MARGIN, H = 0;
    for (int k = 0; k < n; k++) {
        board_crop(t, seq_len, boards[k].tokens, R, C, &p[k].rows, &p[k].cols);
        big_r = p[k].rows > big_r ? p[k].rows : big_r;
        big_c = p[k].cols > big_c ? p[k].cols : big_c;
    }
    int side = cell_side(big_r, big_c); /* small ARC grids get big cells */
    for (int k = 0; k < n; k++) {
        board_caption(t, boards[k].title, p[k].rows, p[k].cols, p[k].caption, sizeof p[k].caption);
        int bw = p[k].cols * (side + 1) + 1, cw = font_text_width(p[k].caption, CAPTION_SCALE);
        int bh = p[k].rows * (side + 1) + 1;
        p[k].x = W;
        p[k].width = bw > cw ? bw : cw;
        W += p[k].width + (k + 1 < n ? GAP : MARGIN);
        H = bh > H ? bh : H;
    }
    canvas *cv = canvas_new(W, MARGIN + CAPTION_BAND + H + MARGIN, WHITE);
    int rc = cv ? 0 : trm_errf(err, "%s: out of memory for a %dx%d picture", path, W, H);
    for (int k = 0; k < n && cv; k++) draw_board(cv, t, C, question, truth, boards[k].tokens, &p[k], side);
    if (cv) rc = canvas_write_png(cv, path, err);
    canvas_free(cv);
    free(p);
    return rc;
}
