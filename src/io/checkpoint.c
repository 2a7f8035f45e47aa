/* checkpoint.c - TRM weights as safetensors with the reference's names.
 *
 * Written as "model.inner.<name>" (the reference's loss-head wrapper),
 * F32, with the arch config as JSON in __metadata__["config"]. Read with
 * or without the "_orig_mod.", "model." and "inner." prefixes, F32 or BF16,
 * so a checkpoint converted from the reference loads unchanged.
 *
 * The puzzle table (1.8 GB for ARC-1, 2.4 GB for ARC-2) is not read into
 * the heap when it is F32 at a 4-byte aligned offset: the model keeps the
 * file's mapping and points the table into it, made copy-on-write so a
 * caller that does write to it (training from a checkpoint) gets private
 * copies of just the pages it touches. Evaluation reads only the rows of
 * its batches, so only those pages become resident. The file must not be
 * rewritten in place while the model lives (trm replaces files by rename).
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "io/safetensors.h"
#include "model/internal.h" /* model_layout */
#include "trm.h"

#define SAVE_PREFIX "model.inner."

/* ------------------------------------------------------------ save */

int trm_checkpoint_save(const trm_model *m, const char *path, trm_err *err) {
    trm_err e;
    if (trm_config_validate(&m->cfg, &e)) return trm_errf(err, "%s: not saved: %s", path, e.msg);
    st_writer *w = st_writer_new();
    if (!w) return trm_errf(err, "%s: out of memory", path);
    char *cfg = trm_config_to_json(&m->cfg);
    int rc = cfg ? st_writer_meta(w, "config", cfg, err) : trm_errf(err, "%s: out of memory", path);
    if (rc == 0) rc = st_writer_meta(w, "format", "trm", err);
    for (int i = 0; rc == 0 && i < m->n_tensors; i++) {
        const trm_tensor *t = &m->tensors[i];
        char name[160];
        snprintf(name, sizeof name, SAVE_PREFIX "%s", t->name);
        rc = st_writer_add(w, name, ST_F32, t->ndim, t->shape, t->data, err);
    }
    if (rc == 0) rc = st_writer_write(w, path, err);
    st_writer_free(w);
    free(cfg);
    return rc;
}

/* ------------------------------------------------------------ load */

/* Strips the reference's wrapper prefixes, in the order they nest. */
static const char *bare_name(const char *name) {
    static const char *prefixes[] = {"_orig_mod.", "model.", "inner."};
    for (int i = 0; i < 3; i++) {
        size_t n = strlen(prefixes[i]);
        if (strncmp(name, prefixes[i], n) == 0) name += n;
    }
    return name;
}

static int read_config(const st_file *f, trm_config *cfg, trm_err *err) {
    const char *json = st_metadata(f, "config");
    if (!json)
        return trm_errf(err, "%s: no \"config\" entry in __metadata__ (convert reference "
                        "checkpoints with tools/convert_checkpoint.py --config)", f->path);
    trm_config_default(cfg);
    trm_err e;
    if (trm_config_from_json(cfg, json, &e) || trm_config_validate(cfg, &e))
        return trm_errf(err, "%s: __metadata__.config: %s", f->path, e.msg);
    return 0;
}

static int check_shape(const st_file *f, const st_tensor *st, const trm_tensor *t, trm_err *err) {
    bool same = st->ndim == t->ndim;
    for (int d = 0; same && d < t->ndim; d++) same = st->shape[d] == t->shape[d];
    if (same) return 0;
    char want[64], got[128];
    int n = 0;
    for (int d = 0; d < t->ndim; d++) n += snprintf(want + n, sizeof want - n, "%s%lld", d ? ", " : "", (long long)t->shape[d]);
    n = 0;
    got[0] = 0;
    for (int d = 0; d < st->ndim && n < (int)sizeof got - 24; d++)
        n += snprintf(got + n, sizeof got - n, "%s%lld", d ? ", " : "", (long long)st->shape[d]);
    return trm_errf(err, "%s: tensor %s: expected shape [%s], got [%s]", f->path, st->name, want, got);
}

/* Points the puzzle table into the file's mapping instead of copying it;
 * returns -1 (copy instead) when it is not F32 or not 4-byte aligned, or
 * the pages cannot be made copy-on-write. */
static int map_table(const st_file *f, const st_tensor *st, trm_model *m, trm_tensor *t) {
    size_t off = (size_t)(st->data - (const uint8_t *)f->map);
    if (st->dtype != ST_F32 || off % sizeof(float) || st->nbytes == 0) return -1;
    size_t page = (size_t)sysconf(_SC_PAGESIZE), lo = off - off % page;
    size_t hi = off + st->nbytes;
    hi = hi % page ? hi + page - hi % page : hi;
    if (hi > f->size) hi = f->size;
    if (mprotect((uint8_t *)f->map + lo, hi - lo, PROT_READ | PROT_WRITE)) return -1;
    free(t->data); /* the zeroed heap buffer of trm_model_alloc */
    t->data = (float *)((uint8_t *)f->map + off);
    t->storage = TRM_TENSOR_MAPPED;
    m->puzzle_emb = t->data;
    m->mapping = (uint8_t *)f->map + lo; /* the table's pages; see keep_table_pages */
    m->mapping_size = hi - lo;
    return 0;
}

/* Hands the table's pages of f's mapping to the model and unmaps the rest
 * (the other tensors were copied), so a small model does not keep its
 * whole file mapped. */
static void keep_table_pages(st_file *f, trm_model *m) {
    uint8_t *base = f->map, *lo = m->mapping, *hi = lo + m->mapping_size;
    if (lo > base) munmap(base, (size_t)(lo - base));
    if (hi < base + f->size) munmap(hi, (size_t)(base + f->size - hi));
    f->map = NULL;
}

/* The checks of one file tensor against the model's table: known name,
 * seen once, same shape, a floating-point dtype. *out gets the model's
 * tensor. */
static int match_tensor(const st_file *f, const st_tensor *st, trm_model *m, bool *seen,
                        trm_tensor **out, trm_err *err) {
    trm_tensor *t = trm_model_find(m, bare_name(st->name));
    if (!t)
        return trm_errf(err, "%s: unexpected tensor %s (not part of a %s TRM with this config)",
                        f->path, st->name, m->cfg.mlp_t ? "mlp_t" : "attention");
    int idx = (int)(t - m->tensors);
    if (seen[idx])
        return trm_errf(err, "%s: tensor %s appears twice (as %s and an earlier name with other prefixes)",
                        f->path, t->name, st->name);
    seen[idx] = true;
    if (check_shape(f, st, t, err)) return -1;
    if (st->dtype != ST_F32 && st->dtype != ST_BF16 && st->dtype != ST_F16 && st->dtype != ST_F64)
        return trm_errf(err, "%s: tensor %s: expected dtype F32, BF16, F16 or F64, got %s", f->path,
                        st->name, st_dtype_name(st->dtype));
    *out = t;
    return 0;
}

/* Checks every file tensor against m's table and, with fill, copies (or
 * maps) the data in. Without fill m may be a model_layout (no storage):
 * that pass runs first, so a config that disagrees with the tensors is a
 * shape error rather than an allocation of the config's size. */
static int load_tensors(const st_file *f, trm_model *m, bool fill, trm_err *err) {
    bool *seen = calloc((size_t)m->n_tensors, sizeof(bool));
    if (!seen) return trm_errf(err, "out of memory");
    int rc = 0;
    for (int i = 0; rc == 0 && i < f->n; i++) {
        const st_tensor *st = &f->tensors[i];
        trm_tensor *t = NULL;
        rc = match_tensor(f, st, m, seen, &t, err);
        if (rc || !fill) continue;
        if (t->data == m->puzzle_emb && map_table(f, st, m, t) == 0) continue;
        rc = st_to_f32(f, st, t->data, err);
    }
    for (int i = 0; rc == 0 && i < m->n_tensors; i++)
        if (!seen[i]) rc = trm_errf(err, "%s: missing tensor model.inner.%s", f->path, m->tensors[i].name);
    free(seen);
    return rc;
}

/* A mapped puzzle table larger than this is not scanned: reading all of
 * ARC-1's 1.8 GB would undo the lazy mapping that keeps evaluation from
 * touching rows it never uses. */
#define SCAN_MAPPED_MAX ((int64_t)64 << 20)

static int64_t count_nonfinite(const trm_tensor *t) {
    int64_t n = 0;
    for (int64_t i = 0; i < t->numel; i++) n += !isfinite(t->data[i]);
    return n;
}

int trm_model_nonfinite(const trm_model *m, trm_nonfinite *out) {
    *out = (trm_nonfinite){0};
    for (int i = 0; i < m->n_tensors; i++) {
        const trm_tensor *t = &m->tensors[i];
        if (t->storage == TRM_TENSOR_MAPPED && (int64_t)sizeof(float) * t->numel > SCAN_MAPPED_MAX)
            continue;
        int64_t n = count_nonfinite(t);
        if (!n) continue;
        if (!out->tensors++) out->first = t->name, out->first_count = n, out->first_numel = t->numel;
    }
    return out->tensors;
}

/* Config and tensors agree, checked on a layout before any allocation. */
static int check_layout(const st_file *f, const trm_config *cfg, trm_err *err) {
    trm_err e;
    trm_model *lay = model_layout(cfg, &e);
    if (!lay) return trm_errf(err, "%s: %s", f->path, e.msg);
    int rc = load_tensors(f, lay, false, err);
    trm_model_free(lay);
    if (rc == 0 && trm_config_check_limits(cfg, &e))
        rc = trm_errf(err, "%s: __metadata__.config: %s", f->path, e.msg);
    return rc;
}

trm_model *trm_checkpoint_load(const char *path, trm_err *err) {
    st_file *f = st_open(path, err);
    if (!f) return NULL;
    trm_config cfg;
    trm_model *m = NULL;
    if (read_config(f, &cfg, err) == 0 && check_layout(f, &cfg, err) == 0) {
        trm_err e;
        m = trm_model_alloc(&cfg, &e);
        if (!m) trm_errf(err, "%s: %s", path, e.msg);
        else {
            int rc = load_tensors(f, m, true, err);
            if (m->mapping) keep_table_pages(f, m); /* the model owns them now */
            if (rc) { trm_model_free(m); m = NULL; }
        }
    }
    st_close(f);
    return m;
}

int trm_checkpoint_metadata(const char *path, const char *key, char **out, trm_err *err) {
    *out = NULL;
    st_file *f = st_open(path, err);
    if (!f) return -1;
    const char *v = st_metadata(f, key);
    int rc = 0;
    if (v && !(*out = strdup(v))) rc = trm_errf(err, "out of memory");
    st_close(f);
    return rc;
}
