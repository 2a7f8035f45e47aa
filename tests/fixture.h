/* fixture.h - reading the PyTorch fixtures (tests/reference) in C tests.
 * Include after <cmocka.h>: failures end the running test. */
#ifndef TRM_TEST_FIXTURE_H
#define TRM_TEST_FIXTURE_H

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "io/safetensors.h"
#include "trm.h"

/* One step file of a fixture, and where it is (for messages). */
typedef struct { st_file *f; const char *where; } step_file;

static inline const st_tensor *fx_find(step_file *s, const char *name, size_t expect) {
    const st_tensor *t = st_find(s->f, name);
    if (!t) fail_msg("%s: missing tensor %s", s->where, name);
    if ((size_t)t->numel != expect)
        fail_msg("%s: %s has %lld values, expected %zu", s->where, name, (long long)t->numel, expect);
    return t;
}

static inline float *get_f32(step_file *s, const char *name, size_t expect) {
    const st_tensor *t = fx_find(s, name, expect);
    float *out = malloc(sizeof(float) * (expect ? expect : 1));
    trm_err e;
    if (st_to_f32(s->f, t, out, &e)) fail_msg("%s", e.msg);
    return out;
}

static inline int32_t *get_i32(step_file *s, const char *name, size_t expect) {
    const st_tensor *t = fx_find(s, name, expect);
    int32_t *out = malloc(sizeof(int32_t) * (expect ? expect : 1));
    trm_err e;
    if (st_to_i32(s->f, t, out, &e)) fail_msg("%s", e.msg);
    return out;
}

/* Element idx of an F64 tensor (losses and metrics are stored in double). */
static inline double get_f64(step_file *s, const char *name, int idx) {
    const st_tensor *t = st_find(s->f, name);
    if (!t || t->dtype != ST_F64 || t->numel <= idx) fail_msg("%s: missing F64 tensor %s[%d]", s->where, name, idx);
    double v;
    memcpy(&v, t->data + 8 * idx, 8);
    return v;
}

/* A whole small text file (meta.json), or NULL. */
static inline char *read_text(const char *path) {
    FILE *f = fopen(path, "rb");
    if (!f) return NULL;
    fseek(f, 0, SEEK_END);
    long n = ftell(f);
    fseek(f, 0, SEEK_SET);
    char *s = malloc((size_t)(n > 0 ? n : 0) + 1);
    size_t got = n > 0 ? fread(s, 1, (size_t)n, f) : 0;
    s[got] = 0;
    fclose(f);
    return s;
}

#endif
