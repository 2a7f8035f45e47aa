/* internal.h - what the renderers share: a 5x7 bitmap font, an RGB
 * canvas that rasterises rectangles, lines and text and saves itself as
 * PNG, files written through a temporary name, and board geometry. */
#ifndef TRM_RENDER_INTERNAL_H
#define TRM_RENDER_INTERNAL_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "tasks/task.h"
#include "trm.h"

/* ---------------------------------------------------------------- font */

#define FONT_W 5
#define FONT_H 7
#define FONT_ADVANCE 6 /* glyph plus one column of spacing */

/* Row r (0 = top) of the glyph of ch as 5 bits, bit 4 = leftmost pixel.
 * Characters outside ASCII 32..126 are drawn as '?'. */
unsigned font_row(char ch, int r);
/* Width in pixels of s drawn at this scale (no trailing spacing). */
int font_text_width(const char *s, int scale);

/* ---------------------------------------------------------------- canvas */

typedef struct {
    uint8_t r, g, b;
} rgb8;

typedef struct {
    int w, h;
    uint8_t *px; /* w * h * 3, row-major */
} canvas;

/* A canvas filled with bg; NULL when out of memory. */
canvas *canvas_new(int w, int h, rgb8 bg);
void canvas_free(canvas *c);
/* Everything clips to the canvas. */
void canvas_fill(canvas *c, int x, int y, int w, int h, rgb8 col);
/* A frame `thick` pixels wide just inside the rectangle. */
void canvas_frame(canvas *c, int x, int y, int w, int h, int thick, rgb8 col);
/* A straight line `width` pixels thick between two points (pixel
 * coordinates, rounded). */
void canvas_line(canvas *c, double x0, double y0, double x1, double y1, int width, rgb8 col);
void canvas_disc(canvas *c, double cx, double cy, double radius, rgb8 col);
/* Text with its top-left corner at (x, y), each font pixel scale x scale. */
void canvas_text(canvas *c, int x, int y, const char *s, int scale, rgb8 col);
/* Saves as 8-bit RGB PNG through path.tmp.<pid> + rename. */
int canvas_write_png(const canvas *c, const char *path, trm_err *err);


/* ---------------------------------------------------------------- boards */

/* The full board of the task at seq_len (rows x cols, stride = cols);
 * -1 with a message when the task has no board of that length. */
int board_shape(const trm_task *t, int seq_len, int *rows, int *cols, trm_err *err);
/* The drawn part of one board: the task's crop, clamped to the board
 * (0 x 0 when the task finds no grid in it). */
void board_crop(const trm_task *t, int seq_len, const int32_t *tokens, int rows, int cols,
                int *crop_rows, int *crop_cols);

/* Whether a fill is too close to the red that marks wrong cells for the
 * mark to show (Maze's goal, ARC's red, orange and maroon): such cells are
 * marked in yellow instead. */
bool board_near_red(const uint8_t rgb[3]);

/* How cell i of a board is drawn: its style and whether it differs from
 * the truth. A board that is the question or the truth itself (same
 * pointer) is never marked; elsewhere any cell unlike the truth is. */
typedef struct {
    trm_cell_style style;
    bool wrong;
} cell_look;
cell_look board_cell(const trm_task *t, const int32_t *tokens, const int32_t *question,
                     const int32_t *truth, int i);

/* The caption of a board: its title, plus "RxC" on tasks that crop, so
 * a prediction of the wrong size shows (ARC). */
void board_caption(const trm_task *t, const char *title, int crop_rows, int crop_cols, char *out,
                   size_t n);

/* ---------------------------------------------------------------- metrics */

/* The curves plot_metrics draws, in drawing order: losses first. */
enum {
    SER_TRAIN_LM, SER_TRAIN_QHALT, SER_EVAL_LM, /* loss panel */
    SER_TRAIN_ACC, SER_TRAIN_EXACT, SER_EVAL_ACC, SER_EVAL_EXACT, /* accuracy panel */
    SER_COUNT,
    SER_FIRST_ACC = SER_TRAIN_ACC
};

typedef struct {
    const char *name; /* "train lm_loss", ... */
    bool eval;
    double *x, *y;    /* step, value */
    int n, cap;
} metric_series;

/* Read but not drawn by plot_metrics: the cumulative training FLOPs
 * (top-level "flops") of each eval record, y against step x, which the
 * comparison plot uses as its x axis. */
enum { SER_EVAL_FLOPS = SER_COUNT, SER_READ };

typedef struct {
    metric_series s[SER_READ];
    int train_records, eval_records;
} metrics_log;

/* Reads metrics.jsonl: train records (step + top-level lm_loss,
 * q_halt_loss, accuracy, exact_accuracy) and eval records (step + an
 * "eval" object, + top-level flops). Empty lines and unknown fields are
 * skipped; NaN and infinities (printf writes them as bare nan / inf) are
 * gaps. Each series comes out in step order, one point per step (the
 * last logged). Errors name file:line. */
int metrics_read(const char *path, metrics_log *log, trm_err *err);
void metrics_free(metrics_log *log);

/* ---------------------------------------------------------------- plots */

/* The drawing layer of plot.c, shared with the comparison plot
 * (plot_compare.c): pictures are laid out in logical pixels and drawn
 * either as SVG or onto a canvas PLOT_PNG_K times the size. */
#define PLOT_PNG_K 2 /* canvas pixels per logical pixel */
#define PLOT_LEGEND_W 180 /* right of the panels */

extern const rgb8 PLOT_BLACK, PLOT_WHITE, PLOT_FRAME;

typedef struct {
    FILE *svg;  /* SVG back end when set, */
    canvas *cv; /* else the PNG canvas */
} plot_drawer;

typedef struct {
    double lo, hi; /* data range */
    bool log;
    double p0, p1; /* pixels of lo and hi */
    /* Tick labels as 2e13 and, over at most two decades, ticks at 1, 2
     * and 5 times each power of ten (the FLOPs axis); else decades and
     * %g labels. */
    bool fine;
} plot_axis;

typedef struct {
    double left, right, top, bottom;
    const char *label;
    int first, last; /* series drawn (plot_metrics) */
} plot_panel;

void plot_line(plot_drawer *d, double x0, double y0, double x1, double y1, rgb8 c, double width);
void plot_rect(plot_drawer *d, double x, double y, double w, double h, rgb8 fill, rgb8 stroke);
void plot_dot(plot_drawer *d, double x, double y, double r, rgb8 c);
/* Text centred vertically on y; anchor -1 start, 0 middle, 1 end. */
void plot_text(plot_drawer *d, double x, double y, const char *s, int anchor, bool big, rgb8 c);
/* Frame, grid, ticks with labels, and the panel's label above it. */
void plot_axes(plot_drawer *d, const plot_panel *p, const plot_axis *ax, const plot_axis *ay);
/* One series as a line (SVG: a polyline whose data-series is its name),
 * with dots on eval series and lone points. */
void plot_curve(plot_drawer *d, const metric_series *s, const plot_axis *ax, const plot_axis *ay, rgb8 c);
/* The range [lo, hi] of the values of n series (ys) or of their x. */
void plot_range(const metric_series *s, int n, bool ys, double *lo, double *hi);
/* Linear from 0 (or lo when negative) to hi: the step axis. */
plot_axis plot_linear_axis(double lo, double hi, double p0, double p1);
/* Log when the values span more than 30x, else linear from 0 ending on
 * a tick: the loss axis. */
plot_axis plot_value_axis(double lo, double hi, double p0, double p1);

/* Writes a w x h picture drawn by draw(d, ctx) to out, SVG or PNG by its
 * name (checked first by plot_format), through a temporary name. */
typedef void (*plot_draw_fn)(plot_drawer *d, const void *ctx);
int plot_format(const char *out, bool *svg, trm_err *err);
int plot_write(const char *out, int w, int h, plot_draw_fn draw, const void *ctx, trm_err *err);

#endif
