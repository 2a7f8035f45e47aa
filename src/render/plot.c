/* plot.c - training curves of a run: loss (top) and accuracy (bottom)
 * against step, train and eval records as separate series.
 *
 * One layout, two back ends: the plot is described once in logical
 * pixels (960 x 600) through a handful of primitives (line, curve, dot,
 * text, rectangle) that either write hand-made SVG or rasterise onto a
 * canvas at twice the size (so the 5x7 font is legible) for PNG. Losses
 * use a log axis when they span more than 30x (TRM losses fall by orders
 * of magnitude), else a linear one from 0; accuracy is 0..1. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "io/fileio.h"
#include "render/render.h"
#include "render/internal.h"

#define PLOT_W 960
#define LEGEND_W PLOT_LEGEND_W
#define PLOT_H 600
#define PNG_K PLOT_PNG_K

const rgb8 PLOT_BLACK = {0, 0, 0}, PLOT_WHITE = {255, 255, 255}, PLOT_FRAME = {150, 150, 150};
#define BLACK PLOT_BLACK
#define WHITE PLOT_WHITE
#define FRAME PLOT_FRAME
static const rgb8 INK = {60, 60, 60}, GRIDC = {225, 225, 225};
/* one colour per series (SER_* order); eval series also get dots */
static const rgb8 COLORS[SER_COUNT] = {
    {31, 119, 180}, {255, 127, 14}, {44, 160, 44},
    {31, 119, 180}, {148, 103, 189}, {44, 160, 44}, {214, 39, 40},
};

/* ---------------------------------------------------------------- primitives */

static void svg_color(FILE *f, rgb8 c) { fprintf(f, "#%02x%02x%02x", c.r, c.g, c.b); }

static void svg_escaped(FILE *f, const char *s) {
    for (; *s; s++) {
        switch (*s) {
        case '&': fputs("&amp;", f); break;
        case '<': fputs("&lt;", f); break;
        case '>': fputs("&gt;", f); break;
        case '"': fputs("&quot;", f); break;
        default: fputc(*s, f);
        }
    }
}

void plot_line(plot_drawer *d, double x0, double y0, double x1, double y1, rgb8 c, double width) {
    if (d->svg) {
        fprintf(d->svg, "<line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\" stroke=\"", x0, y0, x1, y1);
        svg_color(d->svg, c);
        fprintf(d->svg, "\" stroke-width=\"%g\"/>\n", width);
    } else {
        int w = (int)lround(width * PNG_K);
        canvas_line(d->cv, x0 * PNG_K, y0 * PNG_K, x1 * PNG_K, y1 * PNG_K, w < 1 ? 1 : w, c);
    }
}

void plot_rect(plot_drawer *d, double x, double y, double w, double h, rgb8 fill, rgb8 stroke) {
    if (d->svg) {
        fprintf(d->svg, "<rect x=\"%.1f\" y=\"%.1f\" width=\"%.1f\" height=\"%.1f\" fill=\"", x, y, w, h);
        svg_color(d->svg, fill);
        fputs("\" stroke=\"", d->svg);
        svg_color(d->svg, stroke);
        fputs("\"/>\n", d->svg);
    } else {
        int X = (int)lround(x * PNG_K), Y = (int)lround(y * PNG_K), W = (int)lround(w * PNG_K), H = (int)lround(h * PNG_K);
        canvas_fill(d->cv, X, Y, W, H, fill);
        canvas_frame(d->cv, X, Y, W, H, 1, stroke);
    }
}

void plot_dot(plot_drawer *d, double x, double y, double r, rgb8 c) {
    if (d->svg) {
        fprintf(d->svg, "<circle cx=\"%.1f\" cy=\"%.1f\" r=\"%g\" fill=\"", x, y, r);
        svg_color(d->svg, c);
        fputs("\"/>\n", d->svg);
    } else {
        canvas_disc(d->cv, x * PNG_K, y * PNG_K, r * PNG_K, c);
    }
}

void plot_text(plot_drawer *d, double x, double y, const char *s, int anchor, bool big, rgb8 c) {
    if (d->svg) {
        static const char *const anchors[3] = {"start", "middle", "end"};
        fprintf(d->svg, "<text x=\"%.1f\" y=\"%.1f\" font-size=\"%d\" text-anchor=\"%s\" "
                        "dominant-baseline=\"middle\" fill=\"", x, y, big ? 15 : 11, anchors[anchor + 1]);
        svg_color(d->svg, c);
        fputs("\">", d->svg);
        svg_escaped(d->svg, s);
        fputs("</text>\n", d->svg);
    } else {
        int scale = big ? 3 : 2, w = font_text_width(s, scale);
        int X = (int)lround(x * PNG_K) - (anchor + 1) * w / 2, Y = (int)lround(y * PNG_K) - FONT_H * scale / 2;
        canvas_text(d->cv, X, Y, s, scale, c);
    }
}

/* ---------------------------------------------------------------- axes */

double plot_px(const plot_axis *a, double v) {
    double lo = a->log ? log10(a->lo) : a->lo, hi = a->log ? log10(a->hi) : a->hi;
    double t = a->log ? log10(v) : v;
    return a->p0 + (t - lo) / (hi - lo) * (a->p1 - a->p0);
}

/* 1, 2 or 5 times a power of ten, near raw. */
static double nice_step(double raw) {
    double p = pow(10, floor(log10(raw))), m = raw / p;
    return (m < 1.5 ? 1 : m < 3.5 ? 2 : m < 7.5 ? 5 : 10) * p;
}

/* 1, 2 and 5 times the powers of ten inside a log axis. */
static int fine_ticks(const plot_axis *a, double *out, int max) {
    static const double M[3] = {1, 2, 5};
    int n = 0;
    for (double e = floor(log10(a->lo)); e <= ceil(log10(a->hi)); e++)
        for (int k = 0; k < 3 && n < max; k++) {
            double v = M[k] * pow(10, e);
            if (v >= a->lo * (1 - 1e-9) && v <= a->hi * (1 + 1e-9)) out[n++] = v;
        }
    return n;
}

/* Tick values inside the axis range; returns how many (at most max). */
static int ticks(const plot_axis *a, double *out, int max) {
    int n = 0;
    if (a->log && a->fine && a->hi / a->lo <= 100 * (1 + 1e-9)) return fine_ticks(a, out, max);
    if (a->log) {
        for (double e = ceil(log10(a->lo) - 1e-9); e <= log10(a->hi) + 1e-9 && n < max; e++) out[n++] = pow(10, e);
        return n;
    }
    double step = nice_step((a->hi - a->lo) / 5);
    for (double v = ceil(a->lo / step - 1e-9) * step; v <= a->hi + 1e-9 * step && n < max; v += step)
        out[n++] = fabs(v) < 1e-12 * step ? 0 : v;
    return n;
}

void plot_range(const metric_series *s, int n, bool ys, double *lo, double *hi) {
    *lo = INFINITY, *hi = -INFINITY;
    for (int k = 0; k < n; k++)
        for (int i = 0; i < s[k].n; i++) {
            double v = ys ? s[k].y[i] : s[k].x[i];
            *lo = v < *lo ? v : *lo;
            *hi = v > *hi ? v : *hi;
        }
}

plot_axis plot_linear_axis(double lo, double hi, double p0, double p1) {
    plot_axis a = {0, 1, false, p0, p1, false};
    if (lo <= hi) a.lo = lo >= 0 ? 0 : lo, a.hi = hi > a.lo ? hi : a.lo + 1;
    return a;
}

plot_axis plot_value_axis(double lo, double hi, double bottom, double top) {
    plot_axis a = {0, 1, false, bottom, top, false};
    if (!(lo <= hi)) return a;
    if (lo > 0 && hi / lo > 30) {
        a.log = true;
        a.lo = pow(10, floor(log10(lo))), a.hi = pow(10, ceil(log10(hi)));
        return a;
    }
    a.lo = lo >= 0 ? 0 : lo;
    if (hi <= a.lo) {
        a.hi = a.lo + 1;
        return a;
    }
    double step = nice_step((hi - a.lo) / 5);
    a.hi = a.lo + step * ceil((hi - a.lo) / step); /* end on a tick */
    return a;
}

/* ---------------------------------------------------------------- panels */

/* "%g", or on fine axes 2e13 (no "+" and no leading zeros in the
 * exponent, which take room and say nothing). */
static void tick_label(const plot_axis *a, double v, char *s, size_t n) {
    int e = (int)floor(log10(v) + 1e-9);
    if (!a->fine || (e >= -3 && e <= 4)) {
        snprintf(s, n, "%g", v);
        return;
    }
    snprintf(s, n, "%ge%d", round(v / pow(10, e) * 100) / 100, e);
}

void plot_axes(plot_drawer *d, const plot_panel *p, const plot_axis *ax, const plot_axis *ay) {
    double t[64];
    char s[96];
    plot_rect(d, p->left, p->top, p->right - p->left, p->bottom - p->top, WHITE, FRAME);
    int n = ticks(ay, t, 64);
    for (int i = 0; i < n; i++) {
        double y = plot_px(ay, t[i]);
        plot_line(d, p->left, y, p->right, y, GRIDC, 1);
        plot_line(d, p->left - 4, y, p->left, y, INK, 1);
        tick_label(ay, t[i], s, sizeof s);
        plot_text(d, p->left - 7, y, s, 1, false, INK);
    }
    n = ticks(ax, t, 64);
    for (int i = 0; i < n; i++) {
        double x = plot_px(ax, t[i]);
        plot_line(d, x, p->top, x, p->bottom, GRIDC, 1);
        plot_line(d, x, p->bottom, x, p->bottom + 4, INK, 1);
        tick_label(ax, t[i], s, sizeof s);
        plot_text(d, x, p->bottom + 13, s, 0, false, INK);
    }
    plot_line(d, p->left, p->bottom, p->right, p->bottom, INK, 1);
    plot_line(d, p->left, p->top, p->left, p->bottom, INK, 1);
    snprintf(s, sizeof s, "%s%s", p->label, ay->log ? " (log scale)" : "");
    plot_text(d, p->left, p->top - 10, s, -1, false, BLACK);
}

void plot_curve(plot_drawer *d, const metric_series *s, const plot_axis *ax, const plot_axis *ay, rgb8 c) {
    if (d->svg) {
        fputs("<polyline fill=\"none\" stroke=\"", d->svg);
        svg_color(d->svg, c);
        fputs("\" stroke-width=\"1.5\" stroke-linejoin=\"round\" data-series=\"", d->svg);
        svg_escaped(d->svg, s->name);
        fputs("\" points=\"", d->svg);
        for (int i = 0; i < s->n; i++)
            fprintf(d->svg, "%s%.1f,%.1f", i ? " " : "", plot_px(ax, s->x[i]), plot_px(ay, s->y[i]));
        fputs("\"/>\n", d->svg);
    } else {
        for (int i = 1; i < s->n; i++)
            plot_line(d, plot_px(ax, s->x[i - 1]), plot_px(ay, s->y[i - 1]), plot_px(ax, s->x[i]), plot_px(ay, s->y[i]), c, 1.5);
    }
    if (s->eval || s->n == 1)
        for (int i = 0; i < s->n; i++) plot_dot(d, plot_px(ax, s->x[i]), plot_px(ay, s->y[i]), 3, c);
}

/* The legend sits right of its panel, where it can hide no curve. */
static void draw_legend(plot_drawer *d, const metrics_log *log, const plot_panel *p) {
    int rows = 0;
    for (int k = p->first; k < p->last; k++) rows += log->s[k].n > 0;
    if (!rows) return;
    double w = LEGEND_W - 12, h = rows * 16 + 8, x = p->right + 12, y = p->top;
    plot_rect(d, x, y, w, h, WHITE, FRAME);
    for (int k = p->first, r = 0; k < p->last; k++) {
        if (!log->s[k].n) continue;
        double yy = y + 12 + 16 * r++;
        plot_line(d, x + 8, yy, x + 30, yy, COLORS[k], 2);
        if (log->s[k].eval) plot_dot(d, x + 19, yy, 3, COLORS[k]);
        plot_text(d, x + 36, yy, log->s[k].name, -1, false, BLACK);
    }
}

static void draw_panel(plot_drawer *d, const metrics_log *log, const plot_panel *p, const plot_axis *ax, const plot_axis *ay) {
    plot_axes(d, p, ax, ay);
    for (int k = p->first; k < p->last; k++)
        if (log->s[k].n) plot_curve(d, &log->s[k], ax, ay, COLORS[k]);
    draw_legend(d, log, p);
}

typedef struct {
    const metrics_log *log;
    const char *source;
} run_plot;

/* The whole plot; title is the metrics file, shortened from the left. */
static void draw_plot(plot_drawer *d, const void *ctx) {
    const metrics_log *log = ((const run_plot *)ctx)->log;
    const char *source = ((const run_plot *)ctx)->source;
    char title[128];
    size_t n = strlen(source);
    snprintf(title, sizeof title, "training curves: %s%s", n > 70 ? "..." : "", n > 70 ? source + n - 70 : source);
    plot_rect(d, 0, 0, PLOT_W, PLOT_H, WHITE, WHITE);
    plot_text(d, PLOT_W / 2.0, 18, title, 0, true, BLACK);
    plot_panel loss = {70, PLOT_W - LEGEND_W - 10, 55, 285, "loss", 0, SER_FIRST_ACC};
    plot_panel acc = {70, PLOT_W - LEGEND_W - 10, 335, 560, "accuracy", SER_FIRST_ACC, SER_COUNT};
    double lo, hi;
    plot_range(log->s, SER_COUNT, false, &lo, &hi);
    plot_axis ax = plot_linear_axis(lo, hi, loss.left, loss.right);
    plot_range(log->s, SER_FIRST_ACC, true, &lo, &hi);
    plot_axis ly = plot_value_axis(lo, hi, loss.bottom, loss.top), ay = {0, 1, false, acc.bottom, acc.top, false};
    draw_panel(d, log, &loss, &ax, &ly);
    draw_panel(d, log, &acc, &ax, &ay);
    plot_text(d, (loss.left + loss.right) / 2, PLOT_H - 14, "step", 0, false, BLACK);
}

/* ---------------------------------------------------------------- files */

static bool ends_with(const char *s, const char *suffix) {
    size_t n = strlen(s), m = strlen(suffix);
    return n >= m && !strcasecmp(s + n - m, suffix);
}

static int write_svg(const char *out, int w, int h, plot_draw_fn draw, const void *ctx, trm_err *err) {
    char tmp[IO_TMP_PATH];
    FILE *f = io_tmp_fopen(out, tmp, sizeof tmp, err);
    if (!f) return -1;
    fprintf(f, "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
               "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"%d\" height=\"%d\" viewBox=\"0 0 %d %d\" "
               "font-family=\"DejaVu Sans, Helvetica, Arial, sans-serif\">\n", w, h, w, h);
    plot_drawer d = {f, NULL};
    draw(&d, ctx);
    fputs("</svg>\n", f);
    return io_tmp_commit(f, tmp, out, true, err);
}

static int write_png(const char *out, int w, int h, plot_draw_fn draw, const void *ctx, trm_err *err) {
    canvas *cv = canvas_new(w * PNG_K, h * PNG_K, WHITE);
    if (!cv) return trm_errf(err, "%s: out of memory", out);
    plot_drawer d = {NULL, cv};
    draw(&d, ctx);
    int rc = canvas_write_png(cv, out, err);
    canvas_free(cv);
    return rc;
}

int plot_format(const char *out, bool *svg, trm_err *err) {
    *svg = ends_with(out, ".svg");
    if (!*svg && !ends_with(out, ".png"))
        return trm_errf(err, "%s: unknown picture format (the name must end in .svg or .png)", out);
    return 0;
}

int plot_write(const char *out, int w, int h, plot_draw_fn draw, const void *ctx, trm_err *err) {
    bool svg;
    if (plot_format(out, &svg, err)) return -1;
    return svg ? write_svg(out, w, h, draw, ctx, err) : write_png(out, w, h, draw, ctx, err);
}

int plot_metrics(const char *jsonl_path, const char *out_path, trm_err *err) {
    bool svg;
    if (plot_format(out_path, &svg, err)) return -1;
    metrics_log log;
    if (metrics_read(jsonl_path, &log, err)) return -1;
    run_plot rp = {&log, jsonl_path};
    int rc = plot_write(out_path, PLOT_W, PLOT_H, draw_plot, &rp, err);
    metrics_free(&log);
    return rc;
}
