/* bind.c - helpers for foreign-function callers (python/trm over ctypes):
 * heap objects and key=value setters instead of struct layouts, JSON
 * records instead of report structs (trm.h, "bindings"). Each one is a
 * thin wrapper over the public API; nothing here has logic of its own. */
#include <stdarg.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/util.h"
#include "io/jsonout.h"
#include "trm.h"

void trm_free(void *p) { free(p); }

trm_config *trm_config_new(const char *preset, trm_err *err) {
    trm_config *c = malloc(sizeof *c);
    if (!c) return trm_errf(err, "out of memory"), NULL;
    trm_config_default(c);
    if (preset && *preset && trm_config_preset(c, preset, err)) {
        free(c);
        return NULL;
    }
    return c;
}

trm_train_config *trm_train_config_new(void) {
    trm_train_config *c = malloc(sizeof *c);
    if (c) trm_train_config_default(c);
    return c;
}

/* ---------------------------------------------------------------- training as JSON records */

typedef struct {
    trm_train_json_fn fn;
    void *ctx;
    volatile sig_atomic_t stop;
} json_run;

/* Formats one record and hands it to the caller; its non-zero answer
 * raises the run's stop flag. */
static void emit(json_run *r, const char *type, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static void emit(json_run *r, const char *type, const char *fmt, ...) {
    if (!r->fn) return;
    char *buf = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&buf, &len);
    if (!f) return;
    fprintf(f, "{\"type\":\"%s\",", type);
    va_list ap;
    va_start(ap, fmt);
    vfprintf(f, fmt, ap);
    va_end(ap);
    fputc('}', f);
    if (fclose(f) == 0 && r->fn(r->ctx, buf)) r->stop = 1;
    free(buf);
}

static const char *event_name(trm_train_event_kind k) {
    static const char *const names[] = {"started", "interrupted", "stopped", "done"};
    return (unsigned)k < 4 ? names[k] : "unknown";
}

/* A JSON string value (escaped) or null, for the event's paths. */
static char *json_str(const char *s) {
    char *buf = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&buf, &len);
    if (!f) return NULL;
    if (s) json_put_string(f, s);
    else fputs("null", f);
    fclose(f);
    return buf;
}

static void on_event(void *ctx, const trm_train_event *e) {
    char *d = json_str(e->data_dir), *s = json_str(e->state_path), *c = json_str(e->checkpoint_path);
    emit(ctx, "event",
         "\"kind\":\"%s\",\"step\":%" PRId64 ",\"start_step\":%" PRId64 ",\"end_step\":%" PRId64
         ",\"num_params\":%" PRId64 ",\"batch\":%d,\"resumed\":%s,\"data_dir\":%s,\"state_path\":%s,"
         "\"checkpoint_path\":%s",
         event_name(e->kind), e->step, e->start_step, e->end_step, e->num_params, e->batch,
         e->resumed ? "true" : "false", d ? d : "null", s ? s : "null", c ? c : "null");
    free(d); free(s); free(c);
}

static void on_progress(void *ctx, const trm_train_progress *p) {
    emit(ctx, "progress",
         "\"step\":%" PRId64 ",\"end_step\":%" PRId64 ",\"lr\":%s,\"lm_loss\":%s,\"q_halt_loss\":%s,"
         "\"accuracy\":%s,\"exact_accuracy\":%s,\"q_halt_accuracy\":%s,\"steps\":%s,"
         "\"examples_per_s\":%s,\"eta_s\":%s,\"flops\":%s",
         p->step, p->end_step, JSON_NUM(p->lr), JSON_NUM(p->lm_loss), JSON_NUM(p->q_halt_loss),
         JSON_NUM(p->accuracy), JSON_NUM(p->exact_accuracy), JSON_NUM(p->q_halt_accuracy), JSON_NUM(p->steps),
         JSON_NUM(p->examples_per_s), JSON_NUM(p->eta_s), JSON_NUM(p->flops));
}

static void on_eval_progress(void *ctx, const trm_train_eval_progress *p) {
    emit(ctx, "eval_progress", "\"step\":%" PRId64 ",\"seen\":%" PRId64 ",\"total\":%" PRId64 ",\"exact_accuracy\":%s",
         p->step, p->seen, p->total, JSON_NUM(p->exact_accuracy));
}

static void on_eval(void *ctx, const trm_train_eval *e) {
    emit(ctx, "eval",
         "\"step\":%" PRId64 ",\"evaluated\":%s,\"stopped\":%s,\"examples\":%" PRId64 ",\"exact_accuracy\":%s,"
         "\"accuracy\":%s,\"q_halt_accuracy\":%s,\"lm_loss\":%s,\"steps\":%d",
         e->step, e->evaluated ? "true" : "false", e->stopped ? "true" : "false", e->examples,
         JSON_NUM(e->exact_accuracy), JSON_NUM(e->accuracy), JSON_NUM(e->q_halt_accuracy), JSON_NUM(e->lm_loss),
         e->steps);
}

int trm_train_run_json(const trm_config *arch, const trm_train_config *tc, const char *data_dir,
                       const char *out_dir, bool resume, bool force, trm_train_json_fn fn, void *ctx,
                       trm_err *err) {
    if (!arch || !tc || !data_dir || !out_dir) return trm_errf(err, "trm_train_run_json: no config, data or output directory");
    json_run r = {.fn = fn, .ctx = ctx};
    trm_train_run_opts o = {
        .data_dir = data_dir, .out_dir = out_dir, .resume = resume, .force = force,
        .cb = {.ctx = &r, .on_event = on_event, .on_progress = on_progress,
               .on_eval_progress = on_eval_progress, .on_eval = on_eval},
        .stop = &r.stop,
    };
    return trm_train_run(arch, tc, &o, err);
}

/* ---------------------------------------------------------------- dataset builds by key */

#define BUILD_MAX_STRINGS 16

struct trm_build_args {
    char task[16];
    trm_build_opts o;
    char *strings[BUILD_MAX_STRINGS]; /* the copies o's string fields point to */
    int n_strings;
};

trm_build_args *trm_build_args_new(const char *task, trm_err *err) {
    const trm_task *t = task ? trm_task_by_name(task) : NULL;
    if (!t) return trm_errf(err, "unknown task '%s' (expected sudoku, sudoku4, maze or arc)", task ? task : "(null)"), NULL;
    trm_build_args *b = calloc(1, sizeof *b);
    if (!b) return trm_errf(err, "out of memory"), NULL;
    snprintf(b->task, sizeof b->task, "%s", trm_task_name(t));
    trm_build_opts_init(&b->o, b->task);
    return b;
}

void trm_build_args_free(trm_build_args *b) {
    if (!b) return;
    for (int i = 0; i < b->n_strings; i++) free(b->strings[i]);
    free(b);
}

/* core/util.h's strict parsers, in the builders' wording ([lo, hi]). */
static int set_long(const char *key, const char *v, long lo, long hi, long *out, trm_err *err) {
    long long x;
    if (trm_parse_ll(key, v, lo, hi, &x, NULL))
        return trm_errf(err, "build option %s: expected an integer in [%ld, %ld], got '%s'", key, lo, hi, v);
    *out = (long)x;
    return 0;
}

static int set_bool(const char *key, const char *v, bool *out, trm_err *err) {
    if (!strcmp(v, "true") || !strcmp(v, "1")) *out = true;
    else if (!strcmp(v, "false") || !strcmp(v, "0")) *out = false;
    else return trm_errf(err, "build option %s: expected true, false, 1 or 0, got '%s'", key, v);
    return 0;
}

/* o's string fields point into b: a copy of v that lives as long as b. */
static int set_str(trm_build_args *b, const char *key, const char *v, const char **out, trm_err *err) {
    if (b->n_strings == BUILD_MAX_STRINGS) return trm_errf(err, "build option %s: too many string options set", key);
    char *s = strdup(v);
    if (!s) return trm_errf(err, "out of memory");
    b->strings[b->n_strings++] = s;
    *out = s;
    return 0;
}

/* The family's own keys; 1 when key is none of them. */
static int set_family(trm_build_args *b, const char *k, const char *v, trm_err *err) {
    trm_build_opts *o = &b->o;
    long x = 0;
    if (!strcmp(b->task, "sudoku")) {
        if (!strcmp(k, "aug")) return set_long(k, v, 0, 1000000, &o->sudoku.aug, err);
        if (!strcmp(k, "min_nodes")) return set_long(k, v, 1, 1L << 40, &o->sudoku.min_nodes, err);
        if (!strcmp(k, "blanks")) return set_long(k, v, 0, 64, &o->sudoku.blanks, err);
        if (!strcmp(k, "blanks_max")) return set_long(k, v, 0, 64, &o->sudoku.blanks_max, err);
        if (!strcmp(k, "holdout")) return set_str(b, k, v, &o->sudoku.holdout, err);
        if (!strcmp(k, "ratings")) return set_str(b, k, v, &o->sudoku.ratings, err);
        if (!strcmp(k, "test_only")) return set_bool(k, v, &o->sudoku.test_only, err);
    } else if (!strcmp(b->task, "sudoku4")) {
        if (!strcmp(k, "blanks")) {
            if (set_long(k, v, 1, 12, &x, err)) return -1;
            o->sudoku4.blanks = (int)x;
            return 0;
        }
    } else if (!strcmp(b->task, "maze")) {
        if (!strcmp(k, "aug")) return set_bool(k, v, &o->maze.aug, err);
    } else if (!strcmp(b->task, "arc")) {
        if (!strcmp(k, "input_prefix")) return set_str(b, k, v, &o->arc.input_prefix, err);
        if (!strcmp(k, "subsets")) return set_str(b, k, v, &o->arc.subsets, err);
        if (!strcmp(k, "test_set")) return set_str(b, k, v, &o->arc.test_set, err);
        if (!strcmp(k, "test_set2")) return set_str(b, k, v, &o->arc.test_set2, err);
        if (!strcmp(k, "num_aug")) return set_long(k, v, 0, 100000, &o->arc.num_aug, err);
        if (!strcmp(k, "skip_bad")) return set_bool(k, v, &o->arc.skip_bad, err);
    }
    return 1;
}

int trm_build_args_set(trm_build_args *b, const char *key, const char *value, trm_err *err) {
    if (!b || !key || !value) return trm_errf(err, "trm_build_args_set: no builder, key or value");
    trm_build_opts *o = &b->o;
    if (!strcmp(key, "out")) return set_str(b, key, value, &o->out, err);
    if (!strcmp(key, "input")) return set_str(b, key, value, &o->input, err);
    if (!strcmp(key, "test_input")) return set_str(b, key, value, &o->test_input, err);
    if (!strcmp(key, "train_size")) return set_long(key, value, -1, 1L << 40, &o->train_size, err);
    if (!strcmp(key, "test_size")) {
        if (set_long(key, value, 0, 1L << 40, &o->test_size, err)) return -1;
        o->test_size_set = true;
        return 0;
    }
    if (!strcmp(key, "seed"))
        return trm_parse_u64(key, value, &o->seed, NULL)
                   ? trm_errf(err, "build option seed: expected a non-negative integer, got '%s'", value)
                   : 0;
    int r = set_family(b, key, value, err);
    return r <= 0 ? r : trm_errf(err, "build option %s: not an option of the %s builder", key, b->task);
}

int trm_build_args_run(trm_build_args *b, trm_build_result *res, trm_err *err) {
    if (!b || !res) return trm_errf(err, "trm_build_args_run: no builder or result");
    return trm_build_dataset(b->task, &b->o, res, err);
}
