/* metrics_read.c - a run's metrics.jsonl as curves to plot.
 *
 * trm train appends one JSON object per line: train records every
 * log_every steps ({"step":..,"lm_loss":..,...}) and eval records
 * ({"step":..,"eval":{...},"flops":..}). Records of other kinds (fields we do not
 * know) are tolerated, so newer writers do not break older plotters; a
 * line that is not a JSON object with a numeric step is an error naming
 * file:line. */
#include <cjson/cJSON.h>
#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "io/fileio.h" /* util_fopen_regular */
#include "render/internal.h"

static const char *const NAMES[SER_READ] = {
    "train lm_loss", "train q_halt_loss", "eval lm_loss",
    "train accuracy", "train exact_accuracy", "eval accuracy", "eval exact_accuracy",
    "eval flops",
};

static int push(metric_series *s, double x, double y) {
    if (s->n == s->cap) {
        int cap = s->cap ? 2 * s->cap : 64;
        double *nx = realloc(s->x, sizeof *nx * cap);
        if (!nx) return -1;
        s->x = nx;
        double *ny = realloc(s->y, sizeof *ny * cap);
        if (!ny) return -1;
        s->y = ny;
        s->cap = cap;
    }
    s->x[s->n] = x, s->y[s->n] = y, s->n++;
    return 0;
}

/* A word of the line starting at p (outside strings) that printf writes
 * for non-finite doubles; returns its length or 0. */
static size_t nonfinite_word(const char *p) {
    static const char *const words[] = {"-infinity", "infinity", "-nan", "nan", "-inf", "inf"};
    for (size_t k = 0; k < sizeof words / sizeof *words; k++) {
        size_t n = strlen(words[k]);
        if (!strncasecmp(p, words[k], n) && !isalnum((unsigned char)p[n])) return n;
    }
    return 0;
}

/* The line with bare nan / inf values replaced by null, which cJSON reads
 * (a diverged run's log still plots, with gaps). Caller frees. */
static char *nonfinite_to_null(const char *line) {
    size_t len = strlen(line);
    char *out = malloc(len * 2 + 8), *o = out;
    if (!out) return NULL;
    bool in_str = false;
    for (const char *p = line; *p;) {
        size_t n = 0;
        if (in_str) {
            if (*p == '\\' && p[1]) *o++ = *p++;
            else if (*p == '"') in_str = false;
        } else if (*p == '"') {
            in_str = true;
        } else if ((p == line || !isalnum((unsigned char)p[-1])) && (n = nonfinite_word(p))) {
            memcpy(o, "null", 4), o += 4, p += n;
            continue;
        }
        *o++ = *p++;
    }
    *o = 0;
    return out;
}

/* Adds obj[key] to series s at step; absent or null fields add nothing. */
static int take(const cJSON *obj, const char *key, metric_series *s, double step, const char *where,
                trm_err *err) {
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(obj, key);
    if (!v || cJSON_IsNull(v)) return 0;
    if (!cJSON_IsNumber(v)) return trm_errf(err, "%s: \"%s\" is not a number", where, key);
    if (!isfinite(v->valuedouble)) return 0;
    if (push(s, step, v->valuedouble)) return trm_errf(err, "%s: out of memory", where);
    return 0;
}

static int take_record(const cJSON *rec, metrics_log *log, const char *where, trm_err *err) {
    const cJSON *step = cJSON_GetObjectItemCaseSensitive(rec, "step");
    if (!cJSON_IsNumber(step)) return trm_errf(err, "%s: record has no numeric \"step\"", where);
    double x = step->valuedouble;
    const cJSON *ev = cJSON_GetObjectItemCaseSensitive(rec, "eval");
    if (ev && !cJSON_IsObject(ev)) return trm_errf(err, "%s: \"eval\" is not an object", where);
    metric_series *s = log->s;
    if (ev) {
        log->eval_records++;
        return take(rec, "flops", &s[SER_EVAL_FLOPS], x, where, err) ||
               take(ev, "lm_loss", &s[SER_EVAL_LM], x, where, err) ||
               take(ev, "accuracy", &s[SER_EVAL_ACC], x, where, err) ||
               take(ev, "exact_accuracy", &s[SER_EVAL_EXACT], x, where, err) ? -1 : 0;
    }
    if (cJSON_GetObjectItemCaseSensitive(rec, "lm_loss")) log->train_records++;
    return take(rec, "lm_loss", &s[SER_TRAIN_LM], x, where, err) ||
           take(rec, "q_halt_loss", &s[SER_TRAIN_QHALT], x, where, err) ||
           take(rec, "accuracy", &s[SER_TRAIN_ACC], x, where, err) ||
           take(rec, "exact_accuracy", &s[SER_TRAIN_EXACT], x, where, err) ? -1 : 0;
}

/* A run resumed after a kill logs some steps again (it restarts from its
 * last saved state): points are put in step order, and of several at one
 * step the one logged last is kept, so curves never run backwards. */
typedef struct {
    double x, y;
    int order;
} point;

static int point_cmp(const void *a, const void *b) {
    const point *p = a, *q = b;
    if (p->x != q->x) return p->x < q->x ? -1 : 1;
    return p->order - q->order;
}

static int sort_series(metric_series *s) {
    if (s->n < 2) return 0;
    point *pt = malloc(sizeof *pt * s->n);
    if (!pt) return -1;
    for (int i = 0; i < s->n; i++) pt[i] = (point){s->x[i], s->y[i], i};
    qsort(pt, s->n, sizeof *pt, point_cmp);
    int m = 0;
    for (int i = 0; i < s->n; i++) {
        if (m > 0 && s->x[m - 1] == pt[i].x) m--; /* a later record of the same step wins */
        s->x[m] = pt[i].x, s->y[m] = pt[i].y, m++;
    }
    s->n = m;
    free(pt);
    return 0;
}

static bool blank_line(const char *s) {
    while (*s && isspace((unsigned char)*s)) s++;
    return *s == 0;
}

static int read_line(const char *text, metrics_log *log, const char *where, trm_err *err) {
    char *clean = nonfinite_to_null(text);
    if (!clean) return trm_errf(err, "%s: out of memory", where);
    cJSON *rec = cJSON_Parse(clean);
    free(clean);
    int rc = 0;
    if (!rec) rc = trm_errf(err, "%s: not valid JSON", where);
    else if (!cJSON_IsObject(rec)) rc = trm_errf(err, "%s: not a JSON object", where);
    else rc = take_record(rec, log, where, err);
    cJSON_Delete(rec);
    return rc;
}

int metrics_read(const char *path, metrics_log *log, trm_err *err) {
    memset(log, 0, sizeof *log);
    for (int k = 0; k < SER_READ; k++) {
        log->s[k].name = NAMES[k];
        log->s[k].eval = k == SER_EVAL_LM || k >= SER_EVAL_ACC;
    }
    FILE *f = util_fopen_regular(path, err);
    if (!f) return -1;
    char *line = NULL, where[4200];
    size_t cap = 0;
    int rc = 0;
    for (long no = 1; rc == 0 && getline(&line, &cap, f) != -1; no++) {
        if (blank_line(line)) continue;
        snprintf(where, sizeof where, "%s:%ld", path, no);
        rc = read_line(line, log, where, err);
    }
    free(line);
    fclose(f);
    if (rc == 0 && log->train_records + log->eval_records == 0)
        rc = trm_errf(err, "%s: no train or eval records to plot", path);
    for (int k = 0; k < SER_READ && rc == 0; k++)
        if (sort_series(&log->s[k])) rc = trm_errf(err, "%s: out of memory", path);
    if (rc) metrics_free(log);
    return rc;
}

void metrics_free(metrics_log *log) {
    for (int k = 0; k < SER_READ; k++) {
        free(log->s[k].x);
        free(log->s[k].y);
        log->s[k].x = log->s[k].y = NULL;
        log->s[k].n = log->s[k].cap = 0;
    }
}
