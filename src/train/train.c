/* train.c - the training loop (spec 3.3): one ACT supervision step per
 * batch, loss over all rows, backward of total / batch, sign-SGD on the
 * batch's puzzle rows then AdamATan2, then EMA. Periodic evaluation with
 * the EMA weights; atomic checkpoints; exact resume; the caller's stop
 * flag saves and stops. Progress, evaluations and the run's start and end
 * go to the caller's callbacks: nothing here prints, plots or handles
 * signals (src/cli/cmd_train.c does, for `trm train`).
 *
 * Data-parallel (docs/mpi.md, src/dist/ddp.h): in a group of P > 1 ranks
 * each trains on its slice of every batch; rank 0 alone writes the run
 * folder; every phase's success is agreed by all ranks.
 *
 * Run directory:
 *   checkpoint.safetensors   model to use (EMA weights when EMA is on)
 *   state.safetensors        everything needed to resume bit for bit
 *   metrics.jsonl            one JSON object per log interval / evaluation
 *   train.lock               flock'ed by the run using the folder
 */
#include <cjson/cJSON.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "core/keyval.h"
#include "core/util.h" /* util_now_s */
#include "core/rng.h"
#include "data/dataset.h"
#include "dist/ddp.h"   /* DDP: data-parallel call sites are marked "DDP:" */
#include "dist/dist.h"
#include "model/model.h"
#include "io/fileio.h" /* io_fopen_log: metrics.jsonl never through a link */
#include "io/jsonout.h" /* JSON_NUM: null for a diverged loss, so each line stays JSON */
#include "io/safetensors.h"
#include "train/replay.h"
#include "train/train.h"

/* ------------------------------------------------------------ config */

void trm_train_config_default(trm_train_config *c) {
    memset(c, 0, sizeof *c);
    c->global_batch_size = 768;
    c->epochs = 100000;
    c->eval_interval = 10000;
    trm_optim_config_default(&c->optim); /* the optimizer's defaults live in optim.c only */
    c->ema = true; /* every README run of the reference sets ema=True */
    c->ema_rate = 0.999f;
    c->loss_type = TRM_LOSS_STABLEMAX;
    c->log_every = 10;
    c->step_weight = 1.0f;
    c->nocarry_warmup = -1;
}

/* ------------------------------------------------------------ schedules */

/* A piecewise-constant schedule over the fraction of training done:
 * phase i holds v[i] from frac[i] on (frac[0] = 0, increasing, < 1). */
#define MAX_PHASES 16
typedef struct {
    int n;
    double frac[MAX_PHASES];
    int v[MAX_PHASES][2];
} schedule;

/* Parses "F0:a[,b];F1:a[,b];..." with nv values per phase, each in
 * [lo[k], hi[k]]; "" is no schedule (n = 0). */
static int parse_schedule(const char *key, const char *text, int nv, const char *const *names, const int *lo,
                          const int *hi, const char *form, schedule *out, trm_err *err) {
    memset(out, 0, sizeof *out);
    for (const char *p = text; *p;) {
        const char *end = strchr(p, ';');
        int len = end ? (int)(end - p) : (int)strlen(p), i = out->n;
        if (i == MAX_PHASES) return trm_errf(err, "training field %s: more than %d phases", key, MAX_PHASES);
        char *q;
        errno = 0;
        out->frac[i] = strtod(p, &q);
        bool ok = q > p && *q == ':' && isfinite(out->frac[i]);
        for (int k = 0; ok && k < nv; k++) {
            const char *v = q + 1;
            errno = 0;
            long x = strtol(v, &q, 10);
            ok = q > v && !errno && *q == (k == nv - 1 ? *(p + len) : ',');
            if (ok && (x < lo[k] || x > hi[k]))
                return trm_errf(err, "training field %s: phase %d: %s=%ld out of range %d..%d", key, i + 1, names[k], x,
                                lo[k], hi[k]);
            out->v[i][k] = (int)x;
        }
        if (!ok || q != p + len)
            return trm_errf(err, "training field %s: phase %d '%.*s': expected %s", key, i + 1, len, p, form);
        if (i == 0 && out->frac[0] != 0)
            return trm_errf(err, "training field %s: the first phase must start at fraction 0, got %g", key, out->frac[0]);
        if (i > 0 && !(out->frac[i] > out->frac[i - 1] && out->frac[i] < 1))
            return trm_errf(err, "training field %s: phase %d starts at %g: fractions must increase and stay below 1",
                            key, i + 1, out->frac[i]);
        out->n++;
        p = end ? end + 1 : p + len;
    }
    return 0;
}

static int parse_cycles_schedule(const char *text, schedule *out, trm_err *err) {
    static const char *const names[2] = {"T", "n"};
    static const int lo[2] = {1, 1}, hi[2] = {TRM_LIMIT_CYCLES, TRM_LIMIT_CYCLES}; /* what a checkpoint may ask for */
    return parse_schedule("cycles_schedule", text, 2, names, lo, hi, "FRACTION:T,n (e.g. 0:1,2;0.3:2,4;0.6:3,6)", out,
                          err);
}

static int parse_halt_schedule(const char *text, schedule *out, trm_err *err) {
    static const char *const names[1] = {"N"};
    static const int lo[1] = {1}, hi[1] = {TRM_LIMIT_HALT_MAX_STEPS}; /* halt_max_steps, likewise */
    return parse_schedule("halt_schedule", text, 1, names, lo, hi, "FRACTION:N (e.g. 0:2;0.5:8)", out, err);
}

static int parse_hint_schedule(const char *text, schedule *out, trm_err *err) {
    static const char *const names[1] = {"P"};
    static const int lo[1] = {0}, hi[1] = {100}; /* a percentage */
    return parse_schedule("hint_schedule", text, 1, names, lo, hi, "FRACTION:PERCENT (e.g. 0:60;0.3:30;0.6:0)", out,
                          err);
}

/* The phase that holds at `done` of `total` steps. Comparing the quotient
 * (correctly rounded) with the parsed fraction puts step 30 of 100 in the
 * phase starting at 0.3. */
static int phase_at(const schedule *s, int64_t done, int64_t total) {
    double f = (double)done / (double)total;
    int i = 0;
    while (i + 1 < s->n && f >= s->frac[i + 1]) i++;
    return i;
}

/* ------------------------------------------------------------ keys */

/* The schedules are checked when set, not at the run's start. */
static int check_cycles(const char *v, trm_err *err) {
    schedule sc;
    return parse_cycles_schedule(v, &sc, err);
}

static int check_halt(const char *v, trm_err *err) {
    schedule sc;
    return parse_halt_schedule(v, &sc, err);
}

static int check_hints(const char *v, trm_err *err) {
    schedule sc;
    return parse_hint_schedule(v, &sc, err);
}

_Static_assert(sizeof(trm_loss_kind) == sizeof(int) && sizeof(trm_optimizer) == sizeof(int), "KV_ENUM stores an int");
static const kv_name LOSS_NAMES[] = {
    {"stablemax", TRM_LOSS_STABLEMAX, false}, {"softmax", TRM_LOSS_SOFTMAX, false},
    {"stablemax_cross_entropy", TRM_LOSS_STABLEMAX, true}, {"softmax_cross_entropy", TRM_LOSS_SOFTMAX, true},
    {NULL, 0, false}};
static const kv_name OPTIM_NAMES[] = {
    {"adam_atan2", TRM_OPTIM_ADAM_ATAN2, false}, {"adamw", TRM_OPTIM_ADAMW, false}, {"muon", TRM_OPTIM_MUON, false},
    {NULL, 0, false}};
/* Muon's other tensors take an Adam */
static const kv_name ADAM_NAMES[] = {
    {"adamw", TRM_OPTIM_ADAMW, false}, {"adam_atan2", TRM_OPTIM_ADAM_ATAN2, false}, {NULL, 0, false}};
static const kv_name GRAPH_NAMES[] = {
    {"carry", TRM_GRAPH_CARRY, false}, {"nocarry", TRM_GRAPH_NOCARRY, false}, {NULL, 0, false}};

#define TC trm_train_config
#define T(m, k) KV_F(TC, m, k)
#define O(m, k) KV_FN(TC, #m, optim.m, k) /* an optimizer key: a field of tc->optim */
#define RANGE(n, m, k, l, h, lo_op, hi_op, what) \
    {.name = n, .type = k, .off = offsetof(TC, m), .lo = l, .hi = h, .lo_open = lo_op, .hi_open = hi_op, .expect = what}
#define UNIT(n, m) RANGE(n, m, KV_FLOAT, 0, 1, false, true, "a number in [0, 1)")
#define ENUM(n, m, names_) {.name = n, .type = KV_ENUM, .off = offsetof(TC, m), .names = names_}
#define SCHED(m, fn) {.name = #m, .type = KV_STRING, .off = offsetof(TC, m), .size = sizeof(((TC *)0)->m), .check = fn}
/* In the order of the saved train_config (and of the reference's yaml). */
static const kv_field KEYS[] = {
    {.name = "global_batch_size", .type = KV_INT, .off = offsetof(TC, global_batch_size), .lo = 1, .hi = 1e9,
     .expect = ">= 1", .no_got = true},
    T(epochs, KV_DOUBLE), T(eval_interval, KV_DOUBLE),
    O(lr, KV_FLOAT), O(lr_min_ratio, KV_FLOAT), O(lr_warmup_steps, KV_I64), UNIT("beta1", optim.beta1),
    UNIT("beta2", optim.beta2), O(weight_decay, KV_FLOAT), O(puzzle_emb_lr, KV_FLOAT),
    O(puzzle_emb_weight_decay, KV_FLOAT), T(seed, KV_U64), T(ema, KV_BOOL), UNIT("ema_rate", ema_rate),
    ENUM("loss_type", loss_type, LOSS_NAMES), T(checkpoint_every, KV_I64), T(eval_max_examples, KV_I64),
    T(eval_batch_size, KV_INT),
    RANGE("eval_steps", eval_steps, KV_INT, 0, TRM_LIMIT_HALT_MAX_STEPS, false, false, "an integer in [0, 1024] (0: halt_max_steps)"),
    T(log_every, KV_INT), T(max_steps, KV_I64), T(stop_after, KV_I64),
    RANGE("replay_failures", replay_failures, KV_FLOAT, 0, 1, false, false, "a fraction in [0, 1]"),
    ENUM("optimizer", optim.optimizer, OPTIM_NAMES), ENUM("muon_adam", optim.muon_adam, ADAM_NAMES),
    O(adam_eps, KV_FLOAT), O(muon_lr, KV_FLOAT), UNIT("muon_momentum", optim.muon_momentum),
    O(muon_weight_decay, KV_FLOAT), O(muon_nesterov, KV_BOOL),
    RANGE("muon_ns_steps", optim.muon_ns_steps, KV_INT, 1, 100, false, false, "an integer in [1, 100]"),
    UNIT("label_smoothing", label_smoothing),
    RANGE("step_weight", step_weight, KV_FLOAT, 0, HUGE_VAL, true, false, "a number > 0"),
    ENUM("graph", graph, GRAPH_NAMES), T(nocarry_warmup, KV_AUTO_INT),
    SCHED(cycles_schedule, check_cycles), SCHED(halt_schedule, check_halt), SCHED(hint_schedule, check_hints),
};
static const kv_table TABLE = {"training field", KEYS, sizeof KEYS / sizeof KEYS[0], KV_NONNEG, true};

int trm_train_config_set(trm_train_config *c, const char *key, const char *v, trm_err *err) {
    return kv_set(&TABLE, c, key, v, err);
}

char *trm_train_config_to_json(const trm_train_config *c) {
    cJSON *o = kv_to_json(&TABLE, c);
    char *s = o ? cJSON_PrintUnformatted(o) : NULL;
    cJSON_Delete(o);
    return s;
}

/* ------------------------------------------------------------ run state */

typedef struct {
    trm_train_config tc;
    trm_model *m;          /* live weights */
    trm_model *eval_m;     /* EMA copy for evaluation and checkpoints */
    trm_optim *opt;
    trm_ema *ema;
    trm_act *act;
    trm_split *train, *test;
    trm_loader *loader;
    trm_replay *replay;    /* failure replay (replay_failures > 0), else NULL */
    ddp *dp;               /* DDP: this rank's part of a data-parallel run (NULL: one process) */
    int64_t step;
    int64_t total_steps;   /* S_total: the LR schedule's end, from the epochs */
    int64_t end_step;      /* where this run stops: max_steps, else S_total */
    int64_t saved_step;    /* step of the state on disk (-1: none yet) */
    int lock_fd;           /* RUN/train.lock, flock'ed for the whole run */
    int32_t *in, *lab, *pid;
    trm_config arch;       /* the run's architecture; schedules change m's depth per phase */
    schedule cycles, halt, hints; /* n = 0: off */
    uint64_t warm_rng[4];  /* nocarry: warm-up step counts */
    double flops;          /* training FLOPs so far (trm_step_flops of the graphs run) */
    char path_state[4096], path_ckpt[4096], path_metrics[4096];
    const trm_train_callbacks *cb;      /* the caller's reports (any may be NULL) */
    const volatile sig_atomic_t *stop;  /* the caller's stop flag, or NULL */
} run;

static bool stop_raised(const run *r) { return r->stop && *r->stop; }

static void add_name(st_writer *w, const char *prefix, const char *name, st_dtype dt, int ndim,
                     const int64_t *shape, const void *data, int *rc, trm_err *err) {
    char full[160];
    snprintf(full, sizeof full, "%s%s", prefix, name);
    if (*rc == 0) *rc = st_writer_add(w, full, dt, ndim, shape, data, err);
}

static int save_state(run *r, trm_err *err) {
    st_writer *w = st_writer_new();
    if (!w) return trm_errf(err, "out of memory");
    int rc = 0;
    trm_model *m = r->m;
    char *arch = trm_config_to_json(&r->arch), *tcj = trm_train_config_to_json(&r->tc);
    rc = st_writer_meta(w, "config", arch, err);
    if (rc == 0) rc = st_writer_meta(w, "train_config", tcj, err);
    if (rc == 0) rc = st_writer_meta(w, "format", "trm-train-state", err);
    for (int i = 0; i < m->n_tensors; i++) {
        trm_tensor *t = &m->tensors[i];
        add_name(w, "live.", t->name, ST_F32, t->ndim, t->shape, t->data, &rc, err);
        if (!t->trainable) continue;
        for (int k = 0; k < 2; k++) /* Adam's m and v, or Muon's momentum */
            if (trm_optim_moment_name(r->opt, i, k))
                add_name(w, trm_optim_moment_name(r->opt, i, k), t->name, ST_F32, t->ndim, t->shape,
                         trm_optim_moment(r->opt, i, k), &rc, err);
        if (r->ema) add_name(w, "ema.", t->name, ST_F32, t->ndim, t->shape, trm_ema_shadow(r->ema, i), &rc, err);
    }
    trm_act_carry a; /* the carry, through its documented view */
    ddp_carry_view(r->dp, r->act, &a); /* DDP: the whole batch's carry, gathered by save_all */
    int64_t B = a.batch, L = a.L, D = a.hidden_size, S = a.seq_len;
    int64_t s_yz[3] = {B, L, D}, s_bs[2] = {B, S}, s_b[1] = {B}, s4[1] = {4}, s1[1] = {1};
    int32_t *halted = malloc(sizeof(int32_t) * (size_t)B);
    for (int b = 0; b < B && halted; b++) halted[b] = a.halted[b];
    trm_loader_state ls;
    loader_get_state(r->loader, &ls);
    int64_t steps = trm_optim_steps(r->opt), counters[3] = {r->step, ls.epoch, ls.cursor};
    int64_t s3[1] = {3};
    add_name(w, "carry.", "y", ST_F32, 3, s_yz, a.y, &rc, err);
    add_name(w, "carry.", "z", ST_F32, 3, s_yz, a.z, &rc, err);
    add_name(w, "carry.", "steps", ST_I32, 1, s_b, a.steps, &rc, err);
    add_name(w, "carry.", "halted", ST_I32, 1, s_b, halted, &rc, err);
    add_name(w, "carry.", "inputs", ST_I32, 2, s_bs, a.inputs, &rc, err);
    add_name(w, "carry.", "labels", ST_I32, 2, s_bs, a.labels, &rc, err);
    add_name(w, "carry.", "puzzle_ids", ST_I32, 1, s_b, a.puzzle_ids, &rc, err);
    add_name(w, "carry.", "rng", ST_I64, 1, s4, a.rng, &rc, err);
    add_name(w, "loader.", "rng", ST_I64, 1, s4, ls.rng, &rc, err);
    add_name(w, "run.", "counters", ST_I64, 1, s3, counters, &rc, err);
    add_name(w, "optim.", "steps", ST_I64, 1, s1, &steps, &rc, err);
    add_name(w, "run.", "flops", ST_F64, 1, s1, &r->flops, &rc, err);
    add_name(w, "nocarry.", "rng", ST_I64, 1, s4, r->warm_rng, &rc, err);
    if (!halted) rc = trm_errf(err, "out of memory");
    if (rc == 0 && r->replay) rc = replay_save(r->replay, w, err);
    if (rc == 0) rc = st_writer_write(w, r->path_state, err);
    st_writer_free(w);
    free(halted); free(arch); free(tcj);
    return rc;
}

/* Reads a tensor of the state file into dst, checking dtype and size. */
static int state_get(const st_file *f, const char *prefix, const char *name, st_dtype dt, int64_t numel,
                     void *dst, trm_err *err) {
    char full[160];
    snprintf(full, sizeof full, "%s%s", prefix, name);
    const st_tensor *t = st_find(f, full);
    if (!t) return trm_errf(err, "%s: missing tensor %s (not a state of this run?)", f->path, full);
    if (t->dtype != dt || t->numel != numel)
        return trm_errf(err, "%s: tensor %s: expected %s with %lld values, got %s with %lld", f->path, full,
                        st_dtype_name(dt), (long long)numel, st_dtype_name(t->dtype), (long long)t->numel);
    memcpy(dst, t->data, t->nbytes);
    return 0;
}

/* The most supervision steps a carry row can show: the largest
 * halt_max_steps of the schedule, or a nocarry warm-up plus its step. */
static int max_row_steps(const run *r) {
    int n = r->arch.halt_max_steps;
    for (int i = 0; i < r->halt.n; i++) n = r->halt.v[i][0] > n ? r->halt.v[i][0] : n;
    /* nocarry_warmup=auto (-1) draws below the phase's halt_max_steps */
    if (r->tc.graph == TRM_GRAPH_NOCARRY && r->tc.nocarry_warmup + 1 > n) n = r->tc.nocarry_warmup + 1;
    return n;
}

static int load_state(run *r, trm_err *err) {
    st_file *f = st_open(r->path_state, err);
    if (!f) return -1;
    trm_model *m = r->m;
    int rc = train_state_check(f, m, &r->tc, r->end_step, max_row_steps(r), err);
    for (int i = 0; rc == 0 && i < m->n_tensors; i++) {
        trm_tensor *t = &m->tensors[i];
        rc = state_get(f, "live.", t->name, ST_F32, t->numel, t->data, err);
        if (rc || !t->trainable) continue;
        for (int k = 0; k < 2 && rc == 0; k++)
            if (trm_optim_moment_name(r->opt, i, k))
                rc = state_get(f, trm_optim_moment_name(r->opt, i, k), t->name, ST_F32, t->numel,
                               trm_optim_moment(r->opt, i, k), err);
        if (rc == 0 && r->ema) rc = state_get(f, "ema.", t->name, ST_F32, t->numel, trm_ema_shadow(r->ema, i), err);
    }
    if (rc == 0) rc = ddp_carry_alloc(r->dp, err); /* DDP: read the whole batch's carry, keep this rank's slice */
    trm_act_carry a; /* the carry, through its documented view */
    ddp_carry_view(r->dp, r->act, &a);
    int64_t B = a.batch, NLD = B * a.L * a.hidden_size, BS = B * a.seq_len;
    int32_t *halted = malloc(sizeof(int32_t) * (size_t)B);
    trm_loader_state ls;
    int64_t counters[3], steps;
    if (rc == 0) rc = state_get(f, "carry.", "y", ST_F32, NLD, a.y, err);
    if (rc == 0) rc = state_get(f, "carry.", "z", ST_F32, NLD, a.z, err);
    if (rc == 0) rc = state_get(f, "carry.", "steps", ST_I32, B, a.steps, err);
    if (rc == 0) rc = halted ? state_get(f, "carry.", "halted", ST_I32, B, halted, err) : trm_errf(err, "out of memory");
    if (rc == 0) rc = state_get(f, "carry.", "inputs", ST_I32, BS, a.inputs, err);
    if (rc == 0) rc = state_get(f, "carry.", "labels", ST_I32, BS, a.labels, err);
    if (rc == 0) rc = state_get(f, "carry.", "puzzle_ids", ST_I32, B, a.puzzle_ids, err);
    if (rc == 0) rc = state_get(f, "carry.", "rng", ST_I64, 4, a.rng, err);
    if (rc == 0) rc = state_get(f, "loader.", "rng", ST_I64, 4, ls.rng, err);
    if (rc == 0) rc = state_get(f, "run.", "counters", ST_I64, 3, counters, err);
    if (rc == 0) rc = state_get(f, "optim.", "steps", ST_I64, 1, &steps, err);
    if (rc == 0) rc = state_get(f, "run.", "flops", ST_F64, 1, &r->flops, err);
    if (rc == 0) rc = state_get(f, "nocarry.", "rng", ST_I64, 4, r->warm_rng, err);
    if (rc == 0 && r->replay) rc = replay_load(r->replay, f, err);
    if (rc == 0) {
        for (int b = 0; b < B; b++) a.halted[b] = halted[b] != 0;
        r->step = r->saved_step = counters[0];
        ls.epoch = counters[1];
        ls.cursor = counters[2];
        trm_optim_set_steps(r->opt, steps);
        rc = loader_set_state(r->loader, &ls, err);
        ddp_carry_scatter(r->dp, r->act); /* DDP */
    }
    ddp_carry_release(r->dp);
    free(halted);
    st_close(f);
    return rc;
}

/* ------------------------------------------------------------ logging */

static void append_jsonl(const char *path, const char *line) {
    if (!dist_root()) return; /* DDP: rank 0 writes the log */
    FILE *f = io_fopen_log(path, false, NULL);
    if (!f) return;
    fprintf(f, "%s\n", line);
    fclose(f);
}

typedef struct { trm_metrics sum; int64_t steps; double t0; } log_window;

/* One metrics record and the progress callback, over the steps since the
 * last one. */
static void log_train(run *r, log_window *w, double run_t0, int64_t start_step) {
    const trm_metrics *s = &w->sum;
    double el = util_now_s() - w->t0, B = r->tc.global_batch_size, n = w->steps * B;
    double cnt = s->count > 0 ? s->count : 1;
    double total_el = util_now_s() - run_t0;
    const trm_optim_config *oc = &r->tc.optim;
    trm_train_progress p = {
        .step = r->step, .end_step = r->end_step,
        /* past S_total the optimizer does nothing (spec 3.3) */
        .lr = r->step > r->total_steps ? 0.0f
            : trm_lr_at(oc->lr, r->step, oc->lr_warmup_steps, r->total_steps, oc->lr_min_ratio),
        .lm_loss = s->lm_loss / n, .q_halt_loss = s->q_halt_loss / n, .accuracy = s->accuracy / cnt,
        .exact_accuracy = s->exact_accuracy / cnt, .q_halt_accuracy = s->q_halt_accuracy / cnt,
        .steps = s->steps / cnt, .examples_per_s = n / (el > 0 ? el : 1e-9),
        .eta_s = (r->end_step - r->step) * total_el / (double)(r->step - start_step > 0 ? r->step - start_step : 1),
        .flops = r->flops};
    char line[1024];
    snprintf(line, sizeof line,
             "{\"step\":%lld,\"lr\":%.6g,\"lm_loss\":%s,\"q_halt_loss\":%s,\"accuracy\":%s,"
             "\"exact_accuracy\":%s,\"q_halt_accuracy\":%s,\"steps\":%.4g,\"count\":%.0f,"
             "\"examples_per_s\":%.4g,\"flops\":%.10g}",
             (long long)r->step, p.lr, JSON_NUM(p.lm_loss), JSON_NUM(p.q_halt_loss), JSON_NUM(p.accuracy),
             JSON_NUM(p.exact_accuracy), JSON_NUM(p.q_halt_accuracy), p.steps, s->count, p.examples_per_s, r->flops);
    append_jsonl(r->path_metrics, line);
    if (r->cb->on_progress) r->cb->on_progress(r->cb->ctx, &p);
    memset(w, 0, sizeof *w);
    w->t0 = util_now_s();
}

/* ------------------------------------------------------------ phases */

static trm_model *current_eval_model(run *r) {
    if (!r->ema) return r->m;
    trm_ema_apply(r->ema, r->m, r->eval_m);
    return r->eval_m;
}

static void eval_progress(void *ctx, int64_t seen, int64_t total, double exact) {
    const run *r = ctx;
    trm_train_eval_progress p = {r->step, seen, total, exact};
    if (r->cb->on_eval_progress) r->cb->on_eval_progress(r->cb->ctx, &p);
}

/* The metrics record of a finished evaluation, and its report. */
static void log_eval(const run *r, const trm_eval_result *res, trm_train_eval *ev) {
    char line[512];
    snprintf(line, sizeof line,
             "{\"step\":%lld,\"eval\":{\"examples\":%lld,\"exact_accuracy\":%s,\"accuracy\":%s,"
             "\"q_halt_accuracy\":%s,\"lm_loss\":%s,\"steps\":%d},\"flops\":%.10g}",
             (long long)r->step, (long long)res->examples, JSON_NUM(res->exact_accuracy), JSON_NUM(res->accuracy),
             JSON_NUM(res->q_halt_accuracy), JSON_NUM(res->lm_loss), res->n_steps, r->flops);
    append_jsonl(r->path_metrics, line);
    ev->examples = res->examples;
    ev->exact_accuracy = res->exact_accuracy;
    ev->accuracy = res->accuracy;
    ev->q_halt_accuracy = res->q_halt_accuracy;
    ev->lm_loss = res->lm_loss;
    ev->steps = res->n_steps;
}

/* Evaluates the EMA model on the test split (when there is one), logs the
 * result and reports it. */
static int evaluate_and_log(run *r, trm_err *err) {
    trm_train_eval ev = {.step = r->step};
    if (r->test) {
        trm_eval_result res;
        int eb = r->tc.eval_batch_size > 0 ? r->tc.eval_batch_size : r->tc.global_batch_size;
        int64_t total = trm_split_num_examples(r->test), max = r->tc.eval_max_examples;
        eval_progress(r, 0, max > 0 && max < total ? max : total, 0);
        /* a stop during a long evaluation ends it at the next batch: the
         * run then saves and stops, and a partial evaluation is not logged */
        trm_eval_opts eo = {.steps = r->tc.eval_steps, .batch = eb, .max_examples = max, .stop = r->stop,
                            .on_progress = eval_progress, .progress_ctx = r,
                            .split = true}; /* DDP: each rank its slice of every batch, sums reduced */
        if (trm_evaluate_opts(current_eval_model(r), r->test, &eo, &res, err)) return -1;
        ev.evaluated = true;
        ev.stopped = res.stopped;
        if (!res.stopped) log_eval(r, &res, &ev);
        trm_eval_result_free(&res);
    }
    if (r->cb->on_eval) r->cb->on_eval(r->cb->ctx, &ev);
    return 0;
}

/* checkpoint.safetensors is the model to use, at the depth it was trained
 * and evaluated at: a no-carry run with eval_steps K has learned K steps
 * (warm-up + one), not halt_max_steps, so its file records K as
 * halt_max_steps and `trm eval`/`trm solve` run K by default
 * (docs/training.md, "Schedules"). */
static int save_model(run *r, trm_err *err) {
    trm_model *m = current_eval_model(r);
    int kept = m->cfg.halt_max_steps;
    if (r->tc.graph == TRM_GRAPH_NOCARRY && r->tc.eval_steps > 0) m->cfg.halt_max_steps = r->tc.eval_steps;
    int rc = trm_checkpoint_save(m, r->path_ckpt, err);
    m->cfg.halt_max_steps = kept;
    return rc;
}

static int save_all(run *r, trm_err *err) {
    /* DDP: rank 0 writes, from the carry gathered from every rank; every
     * rank learns whether the save worked */
    int rc = ddp_carry_gather(r->dp, r->act, err);
    if (rc == 0 && dist_root())
        rc = save_state(r, err) || save_model(r, err) ? -1 : 0;
    ddp_carry_release(r->dp);
    if (dist_agree(rc, err)) return -1;
    r->saved_step = r->step;
    return 0;
}

/* A non-finite loss means the weights or the carry went bad: training on
 * would only spread NaN, and saving would replace the last good state. */
static int check_loss(const run *r, const trm_metrics *mt, trm_err *err) {
    if (isfinite(mt->lm_loss) && isfinite(mt->q_halt_loss)) return 0;
    char kept[4200];
    if (r->saved_step >= 0)
        snprintf(kept, sizeof kept, "the last good state (step %lld) is kept in %s", (long long)r->saved_step,
                 r->path_state);
    else
        snprintf(kept, sizeof kept, "nothing was saved");
    return trm_errf(err, "step %lld: training loss is not finite (lm_loss %g, q_halt_loss %g): stopped; %s "
                    "(a lower lr may help)", (long long)r->step + 1, mt->lm_loss, mt->q_halt_loss, kept);
}

/* Sets the model's (and the EMA copy's) depth and halting to the phases
 * of the schedules that hold at training step r->step (0-based). */
static void apply_phase(run *r) {
    trm_config *c = &r->m->cfg;
    if (r->cycles.n) {
        int i = phase_at(&r->cycles, r->step, r->total_steps);
        c->H_cycles = r->cycles.v[i][0];
        c->L_cycles = r->cycles.v[i][1];
    }
    if (r->halt.n) c->halt_max_steps = r->halt.v[phase_at(&r->halt, r->step, r->total_steps)][0];
    if (r->eval_m) {
        r->eval_m->cfg.H_cycles = c->H_cycles;
        r->eval_m->cfg.L_cycles = c->L_cycles;
        r->eval_m->cfg.halt_max_steps = c->halt_max_steps;
    }
}

/* The forward of one step's training graph, counting its FLOPs: the
 * reference's carry (one supervision step), or nocarry (W detached
 * warm-up steps, W uniform in [0, W_max] per batch, then one step). */
static int run_graph(run *r, const trm_batch *bt, trm_err *err) {
    const trm_config *c = &r->m->cfg;
    int gb = r->tc.global_batch_size; /* DDP: bt is this rank's slice; the FLOPs count the whole batch */
    double train_flops = trm_step_flops(c, gb, TRM_TRAIN);
    if (r->tc.graph == TRM_GRAPH_CARRY) {
        if (trm_act_step(r->m, r->act, bt, ddp_draws(r->dp, r->act, c), err)) return -1;
        r->flops += train_flops;
        return 0;
    }
    int wmax = r->tc.nocarry_warmup >= 0 ? r->tc.nocarry_warmup : c->halt_max_steps - 1;
    int W = wmax > 0 ? rng_int(r->warm_rng, 0, wmax) : 0;
    if (trm_act_step_detached(r->m, r->act, bt, W, err)) return -1;
    r->flops += train_flops + W * trm_step_flops(c, gb, TRM_EVAL);
    return 0;
}

/* hint_schedule: part of the fresh rows' answers shown in their questions
 * (dataset_batch_reveal). The draws come from a stream seeded by the run's
 * seed and the step, so a resumed run (and every rank of a data-parallel
 * one, which all hold the whole batch here) draws the same without any
 * state in state.safetensors. */
static void reveal_hints(run *r) {
    if (!r->hints.n) return;
    int percent = r->hints.v[phase_at(&r->hints, r->step, r->total_steps)][0];
    if (percent == 0) return;
    uint64_t rng[4];
    rng_seed(rng, (r->tc.seed + 5) * 0x9E3779B97F4A7C15ull + (uint64_t)r->step);
    dataset_batch_reveal(r->in, r->lab, r->tc.global_batch_size, r->arch.seq_len, percent / 100.0, rng);
}

/* One training step (spec 3.3); returns 1 past S_total (a no-op step). */
static int train_step(run *r, log_window *w, trm_err *err) {
    int B = r->tc.global_batch_size;
    apply_phase(r);
    loader_next(r->loader, r->in, r->lab, r->pid);
    reveal_hints(r);
    if (r->replay) replay_mix(r->replay, r->act, r->in, r->lab, r->pid);
    trm_batch gbt = {B, r->in, r->lab, r->pid};
    trm_batch bt = ddp_slice(r->dp, &gbt, r->arch.seq_len); /* DDP: this rank's rows */
    if (run_graph(r, &bt, err)) return -1;
    trm_metrics mt;
    trm_loss_opts lo = {r->tc.loss_type, r->tc.label_smoothing, r->tc.step_weight};
    trm_act_loss_opts(r->m, r->act, &lo, &mt);
    if (ddp_reduce_metrics(r->dp, &mt, err)) return -1; /* DDP: the whole batch's sums */
    if (check_loss(r, &mt, err)) {
        dist_same_failure(err); /* DDP: every rank stops here on the same sums */
        return -1;
    }
    if (r->replay) replay_collect(r->replay, r->m, r->act);
    trm_model_zero_grad(r->m);
    if (trm_act_backward(r->m, r->act, 1.0f / B, err)) return -1;
    int skipped;
    if (ddp_optim_step(r->dp, r->opt, r->m, r->act, &skipped, err)) return -1; /* DDP: reduce, gather, step */
    /* no EMA drift on no-op steps (spec 3.4 note) */
    if (!skipped && r->ema) trm_ema_update(r->ema, r->m);
    r->step++;
    w->steps++;
    w->sum.lm_loss += mt.lm_loss;
    w->sum.q_halt_loss += mt.q_halt_loss;
    w->sum.count += mt.count;
    w->sum.accuracy += mt.accuracy;
    w->sum.exact_accuracy += mt.exact_accuracy;
    w->sum.q_halt_accuracy += mt.q_halt_accuracy;
    w->sum.steps += mt.steps;
    return skipped;
}

/* ------------------------------------------------------------ setup */

/* A run killed mid-save leaves "<file>.tmp.<pid>" beside the intact old
 * file; such leftovers are removed when the run starts again (under the
 * lock, so never another live run's file). */
static void remove_stale_temps(const char *dir) {
    DIR *d = opendir(dir);
    if (!d) return;
    struct dirent *ent;
    while ((ent = readdir(d))) {
        if (!strstr(ent->d_name, ".safetensors.tmp.") && strncmp(ent->d_name, "metrics.jsonl.tmp.", 18)) continue;
        char path[4400];
        snprintf(path, sizeof path, "%s/%s", dir, ent->d_name);
        remove(path);
    }
    closedir(d);
}

/* Fails now, not at the first save after all the training, when the run
 * folder cannot take new files. */
static int check_writable(const char *dir, trm_err *err) {
    if (io_probe_dir(dir, NULL) == 0) return 0;
    return trm_errf(err, "%s: cannot write in the run folder: %s", dir, strerror(errno));
}

/* One run per folder: two would delete each other's temporary files and
 * interleave metrics.jsonl. The lock lives as long as the process. */
static int lock_run_dir(run *r, const char *dir, trm_err *err) {
    char path[4200];
    snprintf(path, sizeof path, "%s/train.lock", dir);
    r->lock_fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0644);
    if (r->lock_fd < 0) return trm_errf(err, "%s: cannot create: %s", path, strerror(errno));
    if (flock(r->lock_fd, LOCK_EX | LOCK_NB) == 0) return 0;
    if (errno == EWOULDBLOCK)
        return trm_errf(err, "%s: another trm train is running in this run folder (it holds %s); wait for it or "
                        "choose another --out", dir, path);
    return trm_errf(err, "%s: cannot lock: %s", path, strerror(errno));
}

/* What a fresh run would destroy: anything but the lock and empty files
 * (a run that failed before its first step leaves just those). Returns the
 * first such name in buf, or 0. */
static int dir_has_run(const char *dir, char *buf, size_t n) {
    DIR *d = opendir(dir);
    if (!d) return 0;
    struct dirent *ent;
    int found = 0;
    while (!found && (ent = readdir(d))) {
        char path[4400];
        struct stat st;
        if (!strcmp(ent->d_name, ".") || !strcmp(ent->d_name, "..") || !strcmp(ent->d_name, "train.lock")) continue;
        snprintf(path, sizeof path, "%s/%s", dir, ent->d_name);
        if (stat(path, &st) == 0 && S_ISREG(st.st_mode) && st.st_size == 0) continue;
        snprintf(buf, n, "%s", ent->d_name);
        found = 1;
    }
    closedir(d);
    return found;
}

/* The run folder, before any data is read: created, writable, locked, and
 * (for a fresh run) not holding another run's results. */
static int prepare_run_dir(run *r, const trm_train_run_opts *o, trm_err *err) {
    char name[256];
    struct stat st;
    snprintf(r->path_state, sizeof r->path_state, "%s/state.safetensors", o->out_dir);
    snprintf(r->path_ckpt, sizeof r->path_ckpt, "%s/checkpoint.safetensors", o->out_dir);
    snprintf(r->path_metrics, sizeof r->path_metrics, "%s/metrics.jsonl", o->out_dir);
    if (!dist_root()) return 0; /* DDP: rank 0 owns the run folder */
    if (io_mkdir_p(o->out_dir, NULL, err)) return -1;
    if (stat(o->out_dir, &st) || !S_ISDIR(st.st_mode)) return trm_errf(err, "%s: not a directory", o->out_dir);
    if (check_writable(o->out_dir, err) || lock_run_dir(r, o->out_dir, err)) return -1;
    if (!o->resume && !o->force && dir_has_run(o->out_dir, name, sizeof name))
        return trm_errf(err, "%s: run folder is not empty (it holds %s): continue that run with --resume, or "
                        "start over in it with --force (replaces its checkpoint, state and metrics)", o->out_dir, name);
    remove_stale_temps(o->out_dir);
    return 0;
}

/* vocab_size, seq_len and num_puzzle_identifiers come from the dataset; a
 * value the user gave that disagrees is an error, not silently replaced. */
static int check_given(const char *key, int given, int data, const char *dir, trm_err *err) {
    if (given == 0 || given == data) return 0;
    return trm_errf(err, "%s=%d was given, but the dataset %s has %s %d (leave it out: it is taken from the dataset)",
                    key, given, dir, key, data);
}

/* Parses the schedules, checks the recipe keys against each other and
 * seeds the warm-up RNG. */
static int open_recipes(run *r, trm_err *err) {
    if (parse_cycles_schedule(r->tc.cycles_schedule, &r->cycles, err) ||
        parse_halt_schedule(r->tc.halt_schedule, &r->halt, err) || parse_hint_schedule(r->tc.hint_schedule, &r->hints, err))
        return -1;
    if (r->tc.graph == TRM_GRAPH_NOCARRY && r->tc.step_weight != 1.0f)
        return trm_errf(err, "training field step_weight: weighs the supervision steps of graph=carry; "
                             "graph=nocarry trains only the final step (leave step_weight=1)");
    rng_seed(r->warm_rng, r->tc.seed + 3);
    return 0;
}

static int max_L_cycles(const run *r) {
    int n = r->arch.L_cycles;
    for (int i = 0; i < r->cycles.n; i++) n = r->cycles.v[i][1] > n ? r->cycles.v[i][1] : n;
    return n;
}

static int open_run(run *r, const trm_config *arch_in, const trm_train_run_opts *o, trm_err *err) {
    char path[4096];
    if (!(r->train = trm_split_open(o->data_dir, "train", err))) return -1;
    snprintf(path, sizeof path, "%s/test/dataset.json", o->data_dir);
    struct stat st;
    if (stat(path, &st) == 0 && !(r->test = trm_split_open(o->data_dir, "test", err))) return -1;
    const trm_dataset_meta *meta = trm_split_meta(r->train);
    if (check_given("vocab_size", o->vocab_size, meta->vocab_size, o->data_dir, err) ||
        check_given("seq_len", o->seq_len, meta->seq_len, o->data_dir, err) ||
        check_given("num_puzzle_identifiers", o->num_puzzle_identifiers, meta->num_puzzle_identifiers, o->data_dir, err))
        return -1;
    trm_config arch = *arch_in;
    arch.vocab_size = meta->vocab_size;
    arch.seq_len = meta->seq_len;
    arch.num_puzzle_identifiers = meta->num_puzzle_identifiers;
    if (!(r->m = trm_model_new(&arch, r->tc.seed, err))) return -1;
    r->arch = arch;
    if (open_recipes(r, err)) return -1;
    if (r->tc.ema && (!(r->eval_m = trm_model_alloc(&arch, err)) || !(r->ema = trm_ema_new(r->m, r->tc.ema_rate, err))))
        return -1;
    if (r->eval_m && r->m->puzzle_emb && trm_model_share_tensor(r->eval_m, r->m, "puzzle_emb.weights", err))
        return -1;
    trm_optim_config oc = r->tc.optim;
    /* S_total = floor(epochs * groups * mean examples / batch) (spec 3.5) */
    r->total_steps = (int64_t)floor(r->tc.epochs * (double)trm_split_num_groups(r->train) *
                                    meta->mean_puzzle_examples / r->tc.global_batch_size);
    /* max_steps only stops the run: the schedule and the eval cadence stay
     * as the epochs define them (the reference's step budget) */
    r->end_step = r->tc.max_steps > 0 ? r->tc.max_steps : r->total_steps;
    if (r->total_steps < 1) return trm_errf(err, "training would run 0 steps (epochs %g x %lld groups / batch %d)",
                                            r->tc.epochs, (long long)trm_split_num_groups(r->train), r->tc.global_batch_size);
    oc.total_steps = r->total_steps;
    if (!(r->opt = trm_optim_new(r->m, &oc, err))) return -1;
    int B = r->tc.global_batch_size;
    /* the ACT buffers hold the deepest phase's activations */
    r->m->cfg.L_cycles = max_L_cycles(r);
    if (ddp_open(&r->dp, r->m, B, err)) return -1; /* DDP: the carry holds this rank's rows */
    r->act = trm_act_new(r->m, ddp_rows(r->dp, B), TRM_TRAIN, r->tc.seed + 1, err);
    r->m->cfg = r->arch;
    if (!r->act) return -1;
    if (!(r->loader = loader_new(r->train, B, true, r->tc.seed, err))) return -1;
    /* the reference drops the partial batch once per eval_interval epochs */
    loader_set_iteration(r->loader, r->tc.eval_interval >= 1 ? (int64_t)r->tc.eval_interval : 0);
    if (r->tc.replay_failures > 0 && r->dp)
        return trm_errf(err, "replay_failures=%g needs a single process: failure replay is not data-parallel yet "
                        "(run without mpirun, or replay_failures=0)", r->tc.replay_failures);
    if (r->tc.replay_failures > 0) {
        /* fresh augmentations only where puzzle ids do not name augmented versions */
        const trm_task *task = trm_task_detect(arch.vocab_size, arch.seq_len);
        if (!(r->replay = replay_new(4 * B, arch.seq_len, r->tc.replay_failures, task,
                                         arch.num_puzzle_identifiers <= 1, r->tc.seed + 2, err)))
            return -1;
    }
    r->in = malloc(sizeof(int32_t) * (size_t)B * arch.seq_len);
    r->lab = malloc(sizeof(int32_t) * (size_t)B * arch.seq_len);
    r->pid = malloc(sizeof(int32_t) * (size_t)B);
    if (!r->in || !r->lab || !r->pid) return trm_errf(err, "out of memory for batch %d", B);
    return 0;
}

static void close_run(run *r) {
    ddp_free(r->dp);
    loader_free(r->loader);
    replay_free(r->replay);
    trm_split_close(r->train);
    trm_split_close(r->test);
    trm_act_free(r->act);
    trm_optim_free(r->opt);
    trm_ema_free(r->ema);
    trm_model_free(r->eval_m);
    trm_model_free(r->m);
    free(r->in); free(r->lab); free(r->pid);
    if (r->lock_fd >= 0) close(r->lock_fd); /* releases the flock */
}

/* ------------------------------------------------------------ main loop */

static int64_t eval_every_steps(const run *r) {
    if (r->tc.eval_interval <= 0 || r->tc.epochs <= 0) return 0;
    int64_t k = (int64_t)floor(r->total_steps * (r->tc.eval_interval / r->tc.epochs));
    return k > 0 ? k : 1;
}

/* The run's start or end, to the caller. */
static void report(const run *r, trm_train_event_kind kind, int64_t start, bool resumed, const char *data_dir) {
    trm_train_event e = {.kind = kind, .step = r->step, .start_step = start, .end_step = r->end_step,
                         .num_params = trm_model_num_params(r->m), .batch = r->tc.global_batch_size,
                         .resumed = resumed, .data_dir = data_dir, .state_path = r->path_state,
                         .checkpoint_path = r->path_ckpt};
    if (r->cb->on_event) r->cb->on_event(r->cb->ctx, &e);
}

static int loop(run *r, const trm_train_run_opts *o, trm_err *err) {
    int64_t eval_every = eval_every_steps(r), start = r->step;
    log_window w = {.t0 = util_now_s()};
    double t0 = util_now_s();
    int64_t stop_at = r->tc.stop_after > 0 ? start + r->tc.stop_after : INT64_MAX;
    bool stopped = false; /* DDP: a stop raised on any rank stops all of them at the same step */
    while (r->step < r->end_step && r->step < stop_at && !(stopped = dist_any(stop_raised(r)))) {
        if (train_step(r, &w, err) < 0) return -1;
        bool last = r->step == r->end_step;
        if (r->tc.log_every > 0 && (r->step % r->tc.log_every == 0 || last)) log_train(r, &w, t0, start);
        bool do_eval = last || (eval_every > 0 && r->step % eval_every == 0);
        if (do_eval && evaluate_and_log(r, err)) return -1;
        bool do_save = do_eval || (r->tc.checkpoint_every > 0 && r->step % r->tc.checkpoint_every == 0);
        if (do_save && save_all(r, err)) return -1;
    }
    /* a stop during the last step still counts; collective, and every rank
     * gets here with the same stopped */
    stopped = stopped || dist_any(stop_raised(r));
    if ((stopped || r->step < r->end_step) && save_all(r, err)) return -1;
    report(r, stopped ? TRM_TRAIN_INTERRUPTED : r->step < r->end_step ? TRM_TRAIN_STOPPED : TRM_TRAIN_DONE, start,
           o->resume, o->data_dir);
    return 0;
}

/* The record's step if the line is one of ours ({"step":N,...}), else -1. */
static int64_t record_step(const char *line) {
    if (strncmp(line, "{\"step\":", 8)) return -1;
    char *end;
    long long v = strtoll(line + 8, &end, 10);
    return end > line + 8 && (*end == ',' || *end == '}') && v >= 0 ? v : -1;
}

/* A run killed after logging past its last save would log those steps
 * again on resume: drop the records after the saved step (and a last line
 * torn by the kill), replacing the file atomically. */
static int truncate_metrics(const char *path, int64_t step, trm_err *err) {
    if (access(path, F_OK) != 0 && errno == ENOENT) return 0;
    FILE *f = util_fopen_regular(path, err); /* never a FIFO or through a link's target */
    if (!f) return -1;
    char *buf = NULL;
    long n = fseek(f, 0, SEEK_END) == 0 ? ftell(f) : -1;
    if (n >= 0 && fseek(f, 0, SEEK_SET) == 0 && (buf = malloc((size_t)n + 1)) && fread(buf, 1, (size_t)n, f) != (size_t)n)
        n = -1;
    fclose(f);
    if (n < 0 || !buf) { free(buf); return trm_errf(err, "%s: cannot read", path); }
    buf[n] = 0;
    size_t kept = 0;
    for (char *p = buf; p < buf + n;) {
        char *nl = memchr(p, '\n', (size_t)(buf + n - p));
        if (!nl) break; /* torn last line */
        size_t len = (size_t)(nl - p) + 1;
        *nl = 0;
        bool keep = record_step(p) <= step;
        *nl = '\n';
        if (keep) {
            memmove(buf + kept, p, len);
            kept += len;
        }
        p = nl + 1;
    }
    int rc = 0;
    if (kept < (size_t)n) {
        const void *bufs[1] = {buf};
        size_t lens[1] = {kept};
        rc = io_write_atomic(path, bufs, lens, 1, err);
    }
    free(buf);
    return rc;
}

/* A fresh run starts a fresh log; a resumed one continues its own. */
static int start_metrics(run *r, bool resume, trm_err *err) {
    if (resume) return truncate_metrics(r->path_metrics, r->step, err);
    FILE *f = io_fopen_log(r->path_metrics, true, err);
    if (!f) return -1;
    fclose(f);
    return 0;
}

int trm_train_run(const trm_config *arch, const trm_train_config *tc, const trm_train_run_opts *o,
                  trm_err *err) {
    run r;
    memset(&r, 0, sizeof r);
    r.tc = *tc;
    r.saved_step = -1;
    r.lock_fd = -1;
    r.cb = &o->cb;
    r.stop = o->stop;
    /* DDP: every rank passes each phase or all stop there, one of them saying why */
    int rc = dist_agree(prepare_run_dir(&r, o, err), err);
    if (rc == 0) rc = dist_agree(open_run(&r, arch, o, err), err);
    if (rc == 0 && o->resume) rc = dist_agree(load_state(&r, err), err);
    if (rc == 0) rc = dist_agree(dist_root() ? start_metrics(&r, o->resume, err) : 0, err);
    if (rc == 0) {
        report(&r, TRM_TRAIN_STARTED, r.step, o->resume, o->data_dir);
        rc = loop(&r, o, err);
    }
    close_run(&r);
    return rc;
}
