/* plot_compare.c - a study's comparison plot: the held-out results of
 * several runs (one colour each) against training FLOPs or step.
 *
 * Three panels share the x axis: eval accuracy (per token), eval
 * exact_accuracy (whole puzzles), both 0..1, and eval lm_loss (linear,
 * or log past 30x like the single-run plot), so recipes of different
 * cost are compared at equal compute. FLOPs come from each eval record's
 * top-level "flops" (cumulative, as trm train logs it) and go on a log
 * axis, since recipes differ by factors. Drawn with plot.c's layer, so
 * SVG and PNG show the same picture. */
#include <limits.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "render/internal.h"
#include "render/render.h"

#define CMP_W 960
#define CMP_H 800
#define PANELS 3
#define LEGEND_CHARS 22 /* what fits in the legend box at 6 px a character */

/* Tableau colours, told apart on white and in print */
static const rgb8 RUN_COLORS[TRM_PLOT_MAX_RUNS] = {
    {31, 119, 180}, {255, 127, 14}, {44, 160, 44}, {214, 39, 40},
    {148, 103, 189}, {140, 86, 75}, {227, 119, 194}, {127, 127, 127},
};
static const int PANEL_SER[PANELS] = {SER_EVAL_ACC, SER_EVAL_EXACT, SER_EVAL_LM};
static const char *const PANEL_LABEL[PANELS] = {
    "eval accuracy (per token)", "eval exact_accuracy (whole puzzles)", "eval lm_loss"};
static const char *const PANEL_KEY[PANELS] = {"accuracy", "exact_accuracy", "lm_loss"};

typedef struct {
    metrics_log log;
    char label[128];
    char names[PANELS][160]; /* "label: accuracy", the SVG's data-series */
} cmp_run;

typedef struct {
    const cmp_run *runs;
    int n;
    bool flops;
} cmp_plot;

/* ---------------------------------------------------------------- runs */

/* The run's name: the folder of a metrics.jsonl (resolved, so "." and a
 * trailing slash still give the folder's name), else the file's name
 * without .jsonl. */
static void run_name(const char *path, char *out, size_t n) {
    const char *slash = strrchr(path, '/'), *base = slash ? slash + 1 : path;
    size_t len = strlen(base);
    if (strcmp(base, "metrics.jsonl")) {
        bool jsonl = len > 6 && !strcmp(base + len - 6, ".jsonl");
        snprintf(out, n, "%.*s", (int)(jsonl ? len - 6 : len), base);
        return;
    }
    char dir[PATH_MAX], real[PATH_MAX];
    snprintf(dir, sizeof dir, "%.*s", slash ? (int)(slash - path) : 1, slash ? path : ".");
    if (slash == path) snprintf(dir, sizeof dir, "/");
    const char *d = realpath(dir, real) ? real : dir;
    const char *b = strrchr(d, '/');
    snprintf(out, n, "%.*s", (int)n - 1, b && b[1] ? b + 1 : d);
}

/* The FLOPs logged with the eval record of this step, if any. */
static bool flops_at(const metric_series *flops, double step, double *f) {
    int lo = 0, hi = flops->n - 1;
    while (lo <= hi) {
        int mid = (lo + hi) / 2;
        if (flops->x[mid] == step) return *f = flops->y[mid], true;
        if (flops->x[mid] < step) lo = mid + 1;
        else hi = mid - 1;
    }
    return false;
}

/* Each point's step replaced by its training FLOPs; a point at 0 FLOPs
 * (an evaluation before any training) has no place on a log axis. */
static int to_flops(metric_series *s, const metric_series *flops, const char *path, trm_err *err) {
    int m = 0;
    for (int i = 0; i < s->n; i++) {
        double f;
        if (!flops_at(flops, s->x[i], &f))
            return trm_errf(err, "%s: the eval record of step %g has no \"flops\" field (needed for --x flops; "
                                 "--x step plots without)", path, s->x[i]);
        if (f <= 0) continue;
        s->x[m] = f, s->y[m] = s->y[i], m++;
    }
    s->n = m;
    return 0;
}

static int load_run(cmp_run *r, const char *path, const char *label, bool flops, trm_err *err) {
    if (metrics_read(path, &r->log, err)) return -1;
    if (!r->log.eval_records)
        return trm_errf(err, "%s: no eval records (the comparison plots held-out results: "
                             "train with eval_interval set)", path);
    if (label && !*label) return trm_errf(err, "%s: empty label", path);
    if (label) snprintf(r->label, sizeof r->label, "%.*s", (int)sizeof r->label - 1, label);
    else run_name(path, r->label, sizeof r->label);
    for (int p = 0; p < PANELS; p++) {
        metric_series *s = &r->log.s[PANEL_SER[p]];
        if (flops && to_flops(s, &r->log.s[SER_EVAL_FLOPS], path, err)) return -1;
        snprintf(r->names[p], sizeof r->names[p], "%s: %s", r->label, PANEL_KEY[p]);
        s->name = r->names[p];
    }
    return 0;
}

/* ---------------------------------------------------------------- axes */

/* The largest of 1, 2, 5 times a power of ten at or below v, and the
 * smallest at or above: a log axis that ends on labelled ticks. */
static double nice_floor(double v) {
    double p = pow(10, floor(log10(v))), m = v / p * (1 + 1e-9);
    return (m >= 5 ? 5 : m >= 2 ? 2 : 1) * p;
}

static double nice_ceil(double v) {
    double p = pow(10, floor(log10(v))), m = v / p * (1 - 1e-9);
    return (m <= 1 ? 1 : m <= 2 ? 2 : m <= 5 ? 5 : 10) * p;
}

static plot_axis x_axis(const cmp_plot *c, double left, double right) {
    double lo = INFINITY, hi = -INFINITY;
    for (int r = 0; r < c->n; r++)
        for (int p = 0; p < PANELS; p++) {
            double l, h;
            plot_range(&c->runs[r].log.s[PANEL_SER[p]], 1, false, &l, &h);
            lo = l < lo ? l : lo, hi = h > hi ? h : hi;
        }
    if (!c->flops) return plot_linear_axis(lo, hi, left, right);
    plot_axis a = {1, 10, true, left, right, true};
    if (lo <= hi) {
        a.lo = nice_floor(lo), a.hi = nice_ceil(hi);
        if (a.hi <= a.lo) a.hi = nice_ceil(a.lo * 1.5); /* one point */
    }
    return a;
}

static plot_axis loss_axis(const cmp_plot *c, const plot_panel *p) {
    double lo = INFINITY, hi = -INFINITY;
    for (int r = 0; r < c->n; r++) {
        double l, h;
        plot_range(&c->runs[r].log.s[SER_EVAL_LM], 1, true, &l, &h);
        lo = l < lo ? l : lo, hi = h > hi ? h : hi;
    }
    return plot_value_axis(lo, hi, p->bottom, p->top);
}

/* ---------------------------------------------------------------- drawing */

/* One legend for all panels (a run has one colour throughout), right of
 * the top panel; labels too long for the box end in "...". */
static void draw_legend(plot_drawer *d, const cmp_plot *c, const plot_panel *p) {
    double x = p->right + 12, y = p->top;
    plot_rect(d, x, y, PLOT_LEGEND_W - 12, c->n * 16 + 8, PLOT_WHITE, PLOT_FRAME);
    for (int r = 0; r < c->n; r++) {
        char shown[LEGEND_CHARS + 1];
        const char *label = c->runs[r].label;
        if (strlen(label) > LEGEND_CHARS) snprintf(shown, sizeof shown, "%.*s...", LEGEND_CHARS - 3, label);
        else snprintf(shown, sizeof shown, "%.*s", LEGEND_CHARS, label);
        double yy = y + 12 + 16 * r;
        plot_line(d, x + 8, yy, x + 30, yy, RUN_COLORS[r], 2);
        plot_dot(d, x + 19, yy, 3, RUN_COLORS[r]);
        plot_text(d, x + 36, yy, shown, -1, false, PLOT_BLACK);
    }
}

static void draw_compare(plot_drawer *d, const void *ctx) {
    const cmp_plot *c = ctx;
    plot_rect(d, 0, 0, CMP_W, CMP_H, PLOT_WHITE, PLOT_WHITE);
    plot_text(d, CMP_W / 2.0, 18, c->flops ? "held-out results against training FLOPs" : "held-out results against step",
              0, true, PLOT_BLACK);
    plot_panel panel[PANELS];
    for (int p = 0; p < PANELS; p++)
        panel[p] = (plot_panel){70, CMP_W - PLOT_LEGEND_W - 10, 55 + 250 * p, 255 + 250 * p, PANEL_LABEL[p], 0, 0};
    plot_axis ax = x_axis(c, panel[0].left, panel[0].right);
    for (int p = 0; p < PANELS; p++) {
        plot_axis ay = {0, 1, false, panel[p].bottom, panel[p].top, false};
        if (PANEL_SER[p] == SER_EVAL_LM) ay = loss_axis(c, &panel[p]);
        plot_axes(d, &panel[p], &ax, &ay);
        for (int r = 0; r < c->n; r++) {
            const metric_series *s = &c->runs[r].log.s[PANEL_SER[p]];
            if (s->n) plot_curve(d, s, &ax, &ay, RUN_COLORS[r]);
        }
    }
    draw_legend(d, c, &panel[0]);
    plot_text(d, (panel[0].left + panel[0].right) / 2, CMP_H - 14,
              c->flops ? "training FLOPs (log scale)" : "step", 0, false, PLOT_BLACK);
}

int plot_compare_runs(const char *const *jsonl_paths, const char *const *labels, int n, trm_plot_x x,
                     const char *out_path, trm_err *err) {
    if (n < 1 || n > TRM_PLOT_MAX_RUNS)
        return trm_errf(err, "cannot compare %d runs: give 1 to %d", n, TRM_PLOT_MAX_RUNS);
    bool svg;
    if (plot_format(out_path, &svg, err)) return -1;
    cmp_run *runs = calloc((size_t)n, sizeof *runs);
    if (!runs) return trm_errf(err, "%s: out of memory", out_path);
    int rc = 0;
    for (int i = 0; i < n && rc == 0; i++)
        rc = load_run(&runs[i], jsonl_paths[i], labels ? labels[i] : NULL, x == TRM_PLOT_X_FLOPS, err);
    if (rc == 0) {
        cmp_plot c = {runs, n, x == TRM_PLOT_X_FLOPS};
        rc = plot_write(out_path, CMP_W, CMP_H, draw_compare, &c, err);
    }
    for (int i = 0; i < n; i++) metrics_free(&runs[i].log);
    free(runs);
    return rc;
}
