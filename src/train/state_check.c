/* state_check.c - train_state_check: a training state is checked as
 * strictly as a checkpoint before --resume uses any of it. A state is our
 * own output, but it may be truncated, edited or come from another run,
 * and its carry feeds straight into index arithmetic (token ids index the
 * embedding, puzzle ids the puzzle table, labels the logits): one bad int
 * was a segfault, heap corruption or a silent out-of-bounds read. */
#include <math.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "model/model.h"
#include "train/train.h"

static void fmt_shape(char *buf, size_t n, int ndim, const int64_t *shape) {
    size_t k = (size_t)snprintf(buf, n, "[");
    for (int i = 0; i < ndim && k < n; i++)
        k += (size_t)snprintf(buf + k, n - k, "%s%lld", i ? ", " : "", (long long)shape[i]);
    if (k < n) snprintf(buf + k, n - k, "]");
}

/* The tensor `name`, if it has dtype dt and exactly this shape. */
static const st_tensor *want(const st_file *f, const char *name, st_dtype dt, int ndim, const int64_t *shape,
                             trm_err *err) {
    const st_tensor *t = st_find(f, name);
    if (!t) {
        trm_errf(err, "%s: missing tensor %s (not a state of this run?)", f->path, name);
        return NULL;
    }
    bool same = t->dtype == dt && t->ndim == ndim;
    for (int i = 0; same && i < ndim; i++) same = t->shape[i] == shape[i];
    if (same) return t;
    char ws[96], gs[96];
    fmt_shape(ws, sizeof ws, ndim, shape);
    fmt_shape(gs, sizeof gs, t->ndim, t->shape);
    trm_errf(err, "%s: tensor %s: expected %s %s, got %s %s", f->path, name, st_dtype_name(dt), ws,
             st_dtype_name(t->dtype), gs);
    return NULL;
}

/* Tensor data may be unaligned in the mapping (safetensors.h). */
static float f32_at(const st_tensor *t, int64_t i) {
    float v;
    memcpy(&v, t->data + 4 * i, 4);
    return v;
}
static int32_t i32_at(const st_tensor *t, int64_t i) {
    int32_t v;
    memcpy(&v, t->data + 4 * i, 4);
    return v;
}
static int64_t i64_at(const st_tensor *t, int64_t i) {
    int64_t v;
    memcpy(&v, t->data + 8 * i, 8);
    return v;
}

/* F32 tensor `name` of this shape, all finite (and >= 0 when nonneg). */
static int check_f32(const st_file *f, const char *name, int ndim, const int64_t *shape, bool nonneg,
                     trm_err *err) {
    const st_tensor *t = want(f, name, ST_F32, ndim, shape, err);
    if (!t) return -1;
    for (int64_t i = 0; i < t->numel; i++) {
        float v = f32_at(t, i);
        if (!isfinite(v) || (nonneg && v < 0))
            return trm_errf(err, "%s: %s[%lld] = %g: expected a finite value%s", f->path, name, (long long)i, v,
                            nonneg ? " >= 0" : "");
    }
    return 0;
}

/* The first n values of I32 tensor t lie in [lo, hi) or equal `also`
 * (pass lo for no exception); `what` names them in the error. */
static int check_range(const st_file *f, const st_tensor *t, int64_t n, int64_t lo, int64_t hi, int32_t also,
                       const char *what, trm_err *err) {
    for (int64_t i = 0; i < n; i++) {
        int32_t v = i32_at(t, i);
        if ((v < lo || v >= hi) && v != also)
            return trm_errf(err, "%s: %s[%lld] = %d: expected %s in [%lld, %lld)%s", f->path, t->name, (long long)i,
                            v, what, (long long)lo, (long long)hi, also != lo ? " or -100 (ignored)" : "");
    }
    return 0;
}

/* An xoshiro state of all zeros would only ever yield zeros. */
static int check_rng(const st_file *f, const char *name, trm_err *err) {
    int64_t s4[1] = {4};
    const st_tensor *t = want(f, name, ST_I64, 1, s4, err);
    if (!t) return -1;
    if (!(i64_at(t, 0) | i64_at(t, 1) | i64_at(t, 2) | i64_at(t, 3)))
        return trm_errf(err, "%s: %s: all-zero RNG state", f->path, name);
    return 0;
}

/* The buffers each tensor has in the state: live weights; the optimizer's
 * (Adam's m and v, or Muon's momentum for the matrices Muon trains, as
 * trm_optim_moment_name names them); the EMA shadow. */
static int check_weights(const st_file *f, const trm_model *m, const trm_train_config *tc, trm_err *err) {
    char name[160];
    for (int i = 0; i < m->n_tensors; i++) {
        const trm_tensor *t = &m->tensors[i];
        bool muon = tc->optim.optimizer == TRM_OPTIM_MUON && trm_optim_muon_tensor(t);
        const char *pre[4] = {"live.", muon ? "muon_m." : "adam_m.", muon ? NULL : "adam_v.", tc->ema ? "ema." : NULL};
        for (int k = 0; k < (t->trainable ? 4 : 1); k++) {
            if (!pre[k]) continue;
            snprintf(name, sizeof name, "%s%s", pre[k], t->name);
            if (check_f32(f, name, t->ndim, t->shape, k == 2, err)) return -1; /* adam_v is a mean square */
        }
    }
    return 0;
}

/* Inputs, labels and puzzle ids of `rows` examples (tensors prefix+...). */
static int check_examples(const st_file *f, const trm_config *c, const char *prefix, int64_t cap, int64_t rows,
                          trm_err *err) {
    int64_t s_bs[2] = {cap, c->seq_len}, s_b[1] = {cap}, n = rows * c->seq_len;
    int64_t npi = c->num_puzzle_identifiers > 1 ? c->num_puzzle_identifiers : 1;
    char a[64], b[64], p[64];
    snprintf(a, sizeof a, "%sinputs", prefix);
    snprintf(b, sizeof b, "%slabels", prefix);
    snprintf(p, sizeof p, "%spuzzle_ids", prefix);
    const st_tensor *in = want(f, a, ST_I32, 2, s_bs, err), *lab = in ? want(f, b, ST_I32, 2, s_bs, err) : NULL;
    const st_tensor *pid = lab ? want(f, p, ST_I32, 1, s_b, err) : NULL;
    if (!pid || check_range(f, in, n, 0, c->vocab_size, 0, "a token id", err) ||
        check_range(f, lab, n, 0, c->vocab_size, TRM_IGNORE_LABEL, "a label", err) ||
        check_range(f, pid, rows, 0, npi, 0, "a puzzle id", err))
        return -1;
    return 0;
}

/* The ACT carry: a running row has taken 1..halt_max_steps-1 steps. */
static int check_carry(const st_file *f, const trm_model *m, int64_t B, int row_steps, trm_err *err) {
    int64_t s_yz[3] = {B, m->L, m->cfg.hidden_size}, s_b[1] = {B};
    int hms = row_steps > 0 ? row_steps : m->cfg.halt_max_steps;
    if (check_f32(f, "carry.y", 3, s_yz, false, err) || check_f32(f, "carry.z", 3, s_yz, false, err)) return -1;
    const st_tensor *st = want(f, "carry.steps", ST_I32, 1, s_b, err);
    const st_tensor *h = st ? want(f, "carry.halted", ST_I32, 1, s_b, err) : NULL;
    if (!h || check_range(f, st, B, 0, (int64_t)hms + 1, 0, "a step count", err) ||
        check_range(f, h, B, 0, 2, 0, "a halted flag", err))
        return -1;
    for (int64_t b = 0; b < B; b++)
        if (!i32_at(h, b) && (i32_at(st, b) < 1 || i32_at(st, b) >= hms))
            return trm_errf(err, "%s: carry.steps[%lld] = %d for a running row: expected 1..%d", f->path,
                            (long long)b, i32_at(st, b), hms - 1);
    if (check_examples(f, &m->cfg, "carry.", B, B, err)) return -1;
    return check_rng(f, "carry.rng", err);
}

/* run.counters = {step, loader epoch, loader cursor}; the optimizer has
 * taken exactly one (possibly no-op) step per training step. */
static int check_counters(const st_file *f, int64_t end_step, trm_err *err) {
    int64_t s3[1] = {3}, s1[1] = {1};
    const st_tensor *c = want(f, "run.counters", ST_I64, 1, s3, err);
    const st_tensor *o = c ? want(f, "optim.steps", ST_I64, 1, s1, err) : NULL;
    if (!o) return -1;
    int64_t step = i64_at(c, 0), epoch = i64_at(c, 1), cursor = i64_at(c, 2);
    if (step < 0 || (end_step > 0 && step > end_step))
        return trm_errf(err, "%s: run.counters: step %lld out of range: this run ends at step %lld "
                        "(raise max_steps or epochs to go on)", f->path, (long long)step, (long long)end_step);
    if (epoch < 0 || cursor < 0)
        return trm_errf(err, "%s: run.counters: loader epoch %lld / cursor %lld: expected >= 0", f->path,
                        (long long)epoch, (long long)cursor);
    if (i64_at(o, 0) != step)
        return trm_errf(err, "%s: optim.steps = %lld: expected the run's step %lld", f->path,
                        (long long)i64_at(o, 0), (long long)step);
    int64_t s1f[1] = {1};
    const st_tensor *fl = want(f, "run.flops", ST_F64, 1, s1f, err);
    if (!fl) return -1;
    double flops;
    memcpy(&flops, fl->data, sizeof flops);
    if (!(flops >= 0 && flops < 1e30))
        return trm_errf(err, "%s: run.flops = %g: expected a finite count >= 0", f->path, flops);
    return check_rng(f, "loader.rng", err) || check_rng(f, "nocarry.rng", err) ? -1 : 0;
}

/* The replay buffer (train/replay.c) holds 4 x batch examples; only the
 * first meta[0] are filled. A state saved with the option off has none. */
static int check_replay(const st_file *f, const trm_config *c, int64_t B, trm_err *err) {
    if (!st_find(f, "replay.meta")) return 0;
    int64_t cap = 4 * B, s3[1] = {3};
    const st_tensor *meta = want(f, "replay.meta", ST_I64, 1, s3, err);
    if (!meta) return -1;
    int64_t count = i64_at(meta, 0), head = i64_at(meta, 1), used = i64_at(meta, 2);
    if (count < 0 || count > cap || head < 0 || head >= cap || used < 0)
        return trm_errf(err, "%s: replay.meta = {%lld, %lld, %lld}: expected count in [0, %lld], head in [0, %lld), "
                        "used >= 0", f->path, (long long)count, (long long)head, (long long)used,
                        (long long)cap, (long long)cap);
    if (check_examples(f, c, "replay.", cap, count, err)) return -1;
    return check_rng(f, "replay.rng", err);
}

int train_state_check(const st_file *f, const trm_model *m, const trm_train_config *tc, int64_t end_step,
                          int row_steps, trm_err *err) {
    const char *fmt = st_metadata(f, "format"), *arch = st_metadata(f, "config");
    if (!fmt || strcmp(fmt, "trm-train-state"))
        return trm_errf(err, "%s: not a trm training state (metadata format is '%s')", f->path, fmt ? fmt : "missing");
    char *mine = trm_config_to_json(&m->cfg);
    int rc = 0;
    if (!arch || !mine || strcmp(arch, mine))
        rc = trm_errf(err, "%s: saved arch config differs from this run's (%s); resume with the same options",
                      f->path, arch ? arch : "missing");
    free(mine);
    int64_t B = tc->global_batch_size;
    if (rc || check_weights(f, m, tc, err) || check_carry(f, m, B, row_steps, err) || check_counters(f, end_step, err))
        return -1;
    return tc->replay_failures > 0 ? check_replay(f, &m->cfg, B, err) : 0;
}
