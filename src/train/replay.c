/* replay.c - the failure replay buffer of `trm train --replay-failures`. */
#include "train/replay.h"

#include <stdlib.h>
#include <string.h>

#include "core/rng.h"
#include "model/model.h"

struct trm_replay {
    int cap, S;
    float ratio;
    const trm_task *task;
    bool augment;
    int32_t *in, *lab, *pid;   /* [cap, S], [cap, S], [cap] */
    int64_t meta[3];           /* count, head (next slot to overwrite), rows replaced */
    uint64_t rng[4];
    int32_t *tmp;              /* [S] */
};

trm_replay *replay_new(int capacity, int seq_len, float ratio, const trm_task *task, bool augment,
                           uint64_t seed, trm_err *err) {
    if (capacity < 1 || !(ratio > 0 && ratio <= 1)) {
        trm_errf(err, "replay: capacity %d, ratio %g (expected >= 1 and (0, 1])", capacity, ratio);
        return NULL;
    }
    trm_replay *r = calloc(1, sizeof *r);
    if (r) {
        r->cap = capacity, r->S = seq_len, r->ratio = ratio, r->task = task;
        r->augment = augment && task && task->draw_aug;
        /* zeroed: the unfilled slots are saved with the state too */
        r->in = calloc((size_t)capacity * seq_len, sizeof(int32_t));
        r->lab = calloc((size_t)capacity * seq_len, sizeof(int32_t));
        r->pid = calloc((size_t)capacity, sizeof(int32_t));
        r->tmp = malloc(sizeof(int32_t) * (size_t)seq_len);
        rng_seed(r->rng, seed);
    }
    if (!r || !r->in || !r->lab || !r->pid || !r->tmp) {
        replay_free(r);
        trm_errf(err, "out of memory for a replay buffer of %d examples", capacity);
        return NULL;
    }
    return r;
}

void replay_free(trm_replay *r) {
    if (!r) return;
    free(r->in); free(r->lab); free(r->pid); free(r->tmp);
    free(r);
}

/* Row b of the batch <- kept example k under a fresh augmentation. */
static void put_row(trm_replay *r, int k, int b, int32_t *in, int32_t *lab, int32_t *pid) {
    size_t S = (size_t)r->S;
    const int32_t *ki = r->in + (size_t)k * S, *kl = r->lab + (size_t)k * S;
    if (r->augment) {
        trm_aug aug;
        r->task->draw_aug(r->S, &aug, r->rng);
        r->task->apply_aug(&aug, r->S, ki, in + b * S);
        r->task->apply_aug(&aug, r->S, kl, lab + b * S); /* -100 is outside the relabelling */
    } else {
        memcpy(in + b * S, ki, S * sizeof(int32_t));
        memcpy(lab + b * S, kl, S * sizeof(int32_t));
    }
    pid[b] = r->pid[k];
}

void replay_mix(trm_replay *r, const trm_act *a, int32_t *in, int32_t *lab, int32_t *pid) {
    for (int b = 0; b < a->batch; b++) {
        if (!a->halted[b] || r->meta[0] == 0) continue; /* only rows that take new data */
        if (rng_uniform(r->rng) >= r->ratio) continue;
        put_row(r, rng_int(r->rng, 0, (int)r->meta[0] - 1), b, in, lab, pid);
        r->meta[2]++;
    }
}

static bool row_wrong(const trm_model *m, const trm_act *a, int b) {
    int S = m->cfg.seq_len, V = m->cfg.vocab_size;
    for (int t = 0; t < S; t++) {
        int32_t l = a->labels[(size_t)b * S + t];
        if (l == TRM_IGNORE_LABEL) continue;
        if (trm_argmax(a->logits + ((size_t)b * S + t) * V, V, NULL) != l) return true;
    }
    return false;
}

void replay_collect(trm_replay *r, const trm_model *m, const trm_act *a) {
    size_t S = (size_t)r->S;
    for (int b = 0; b < a->batch; b++) {
        if (!a->halted[b] || !row_wrong(m, a, b)) continue;
        int k = r->meta[0] < r->cap ? (int)r->meta[0]++ : (int)r->meta[1];
        if (r->meta[0] == r->cap && k == r->meta[1]) r->meta[1] = (r->meta[1] + 1) % r->cap; /* oldest goes */
        memcpy(r->in + k * S, a->inputs + (size_t)b * S, S * sizeof(int32_t));
        memcpy(r->lab + k * S, a->labels + (size_t)b * S, S * sizeof(int32_t));
        r->pid[k] = a->puzzle_ids[b];
    }
}

int replay_save(const trm_replay *r, st_writer *w, trm_err *err) {
    int64_t s2[2] = {r->cap, r->S}, s1[1] = {r->cap}, s3[1] = {3}, s4[1] = {4};
    if (st_writer_add(w, "replay.inputs", ST_I32, 2, s2, r->in, err) ||
        st_writer_add(w, "replay.labels", ST_I32, 2, s2, r->lab, err) ||
        st_writer_add(w, "replay.puzzle_ids", ST_I32, 1, s1, r->pid, err) ||
        st_writer_add(w, "replay.meta", ST_I64, 1, s3, r->meta, err) ||
        st_writer_add(w, "replay.rng", ST_I64, 1, s4, r->rng, err))
        return -1;
    return 0;
}

static int get(const st_file *f, const char *name, st_dtype dt, int64_t numel, void *dst, trm_err *err) {
    const st_tensor *t = st_find(f, name);
    if (!t) return trm_errf(err, "%s: missing tensor %s", f->path, name);
    if (t->dtype != dt || t->numel != numel)
        return trm_errf(err, "%s: tensor %s: expected %s with %lld values (replay buffer of another size?)", f->path,
                        name, st_dtype_name(dt), (long long)numel);
    memcpy(dst, t->data, t->nbytes);
    return 0;
}

int replay_load(trm_replay *r, const st_file *f, trm_err *err) {
    if (!st_find(f, "replay.meta")) { memset(r->meta, 0, sizeof r->meta); return 0; }
    int64_t n = (int64_t)r->cap * r->S;
    if (get(f, "replay.inputs", ST_I32, n, r->in, err) || get(f, "replay.labels", ST_I32, n, r->lab, err) ||
        get(f, "replay.puzzle_ids", ST_I32, r->cap, r->pid, err) || get(f, "replay.meta", ST_I64, 3, r->meta, err) ||
        get(f, "replay.rng", ST_I64, 4, r->rng, err))
        return -1;
    if (r->meta[0] < 0 || r->meta[0] > r->cap || r->meta[1] < 0 || r->meta[1] >= r->cap)
        return trm_errf(err, "%s: replay.meta out of range", f->path);
    return 0;
}
