/* bind.c - helpers for foreign-function callers (python/trm over ctypes):
 * heap objects instead of struct layouts, JSON records instead of report
 * structs (trm.h, "bindings"). Each one is a thin wrapper over the public
 * API; nothing here has logic of its own. Dataset builds by key are the
 * builders' (tasks/build_args.c). */
#include <stdarg.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>

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
