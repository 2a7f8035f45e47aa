/* board_text.c - boards side by side in a terminal or a log.
 *
 * Every cell takes two columns. In colour, the cell is its style's fill as
 * an ANSI 24-bit background with the glyph on top in dark or light text;
 * plain, the glyph alone. A cell that differs from the truth starts with
 * '*' either way (and is bold red in colour), so a log read without
 * colours still shows the mistakes. Lines of plain output carry no
 * trailing spaces. */
#include <stdlib.h>
#include <string.h>

#include "render/render.h"
#include "render/internal.h"

#define GAP 3 /* spaces between boards */

typedef struct {
    int rows, cols, width; /* drawn cells; width in columns incl. caption */
    char caption[160];
} panel;

/* The two characters of a cell: the glyph right-aligned, '*' first when wrong. */
static void cell_chars(const cell_look *L, char out[2]) {
    const char *g = L->style.glyph;
    size_t len = strnlen(g, 2);
    out[0] = len == 2 ? g[0] : ' ';
    out[1] = len == 2 ? g[1] : len == 1 ? g[0] : ' ';
    if (L->wrong) out[0] = '*';
}

/* Colour escapes for one cell; red text on red fills would vanish, so
 * wrong cells on fills near red are marked in yellow instead. Only
 * changes are written (*last holds the previous cell's escape), which
 * keeps a 30x30 maze row short. */
static void cell_escape(FILE *f, const cell_look *L, char last[64]) {
    const uint8_t *bg = L->style.rgb;
    const char *fg = L->wrong ? (board_near_red(bg) ? "1;38;2;255;255;0" : "1;38;2;220;0;0")
                     : L->style.dark_text ? "38;2;20;20;20" : "38;2;245;245;245";
    char esc[64];
    snprintf(esc, sizeof esc, "\033[0;48;2;%d;%d;%d;%sm", bg[0], bg[1], bg[2], fg);
    if (strcmp(esc, last)) fputs(esc, f);
    memcpy(last, esc, sizeof esc);
}

/* Row r of one panel into f; returns the columns written. */
static int panel_row(FILE *f, const trm_task *t, int cols_full, const int32_t *question, const int32_t *truth,
                     const trm_board_view *b, const panel *p, int r, bool color) {
    if (r >= p->rows) return 0;
    char last[64] = "";
    for (int c = 0; c < p->cols; c++) {
        cell_look L = board_cell(t, b->tokens, question, truth, r * cols_full + c);
        char ch[2];
        cell_chars(&L, ch);
        if (color) cell_escape(f, &L, last);
        fwrite(ch, 1, 2, f);
    }
    if (color) fputs("\033[0m", f);
    return 2 * p->cols;
}

static void pad(FILE *f, int n) {
    for (int i = 0; i < n; i++) fputc(' ', f);
}

/* Writes one output line into a memory stream first so plain lines can
 * lose their trailing spaces before they reach f. */
static void emit_line(FILE *f, char *buf, size_t len, bool color) {
    if (!color)
        while (len > 0 && buf[len - 1] == ' ') len--;
    fwrite(buf, 1, len, f);
    fputc('\n', f);
}

static void draw_lines(FILE *f, const trm_task *t, int cols_full, const int32_t *question, const int32_t *truth,
                       const trm_board_view *boards, const panel *p, int n, bool color) {
    int height = 0;
    for (int k = 0; k < n; k++) height = p[k].rows > height ? p[k].rows : height;
    char *buf = NULL;
    size_t len = 0;
    for (int r = -1; r < height; r++) {
        FILE *m = open_memstream(&buf, &len);
        if (!m) return;
        for (int k = 0; k < n; k++) {
            int used = r < 0 ? fprintf(m, "%s", p[k].caption)
                             : panel_row(m, t, cols_full, question, truth, &boards[k], &p[k], r, color);
            if (k + 1 < n) pad(m, p[k].width - used + GAP);
        }
        fclose(m);
        emit_line(f, buf, len, color);
        free(buf);
        buf = NULL;
    }
}

void render_board_text(FILE *f, const trm_task *t, int seq_len, const int32_t *question,
                     const int32_t *truth, const trm_board_view *boards, int n, bool color) {
    int R, C;
    trm_err e;
    if (n <= 0) return;
    if (board_shape(t, seq_len, &R, &C, &e)) {
        fprintf(f, "(%s)\n", e.msg);
        return;
    }
    panel *p = calloc((size_t)n, sizeof *p);
    if (!p) return;
    for (int k = 0; k < n; k++) {
        board_crop(t, seq_len, boards[k].tokens, R, C, &p[k].rows, &p[k].cols);
        board_caption(t, boards[k].title, p[k].rows, p[k].cols, p[k].caption, sizeof p[k].caption);
        int cap = (int)strlen(p[k].caption);
        p[k].width = 2 * p[k].cols > cap ? 2 * p[k].cols : cap;
    }
    draw_lines(f, t, C, question, truth, boards, p, n, color);
    free(p);
}
