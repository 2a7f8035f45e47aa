/* npy.c - read and write NumPy .npy files.
 *
 * The header is a Python dict literal; it is parsed by hand (rather than
 * with a general parser) because only three keys with fixed value types
 * are legal, which keeps every failure specific and every read bounded by
 * the header length.
 */
#include "io/npy.h"

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#include "io/fileio.h"      /* io_write_atomic */
#include "io/safetensors.h" /* st_map_file, st_f16_to_f32 */

static const uint8_t npy_magic[6] = {0x93, 'N', 'U', 'M', 'P', 'Y'};

/* ---------------------------------------------------------------- dtypes */

typedef struct {
    char order; /* '<' '>' '=' '|' */
    char kind;  /* 'i' 'u' 'b' 'f' */
    int size;   /* bytes per element */
} npy_dtype;

/* Parses a simple descr such as "<i4"; -1 for anything else (structured,
 * strings, complex, ...). '|' ("not applicable") only makes sense for
 * one-byte types. */
static int parse_descr(const char *s, npy_dtype *d) {
    if (strlen(s) != 3 || !strchr("<>=|", s[0]) || !strchr("iubf", s[1]) ||
        !strchr("1248", s[2]))
        return -1;
    d->order = s[0];
    d->kind = s[1];
    d->size = s[2] - '0';
    bool ok = d->kind == 'i' || d->kind == 'u' ? true
            : d->kind == 'b'                  ? d->size == 1
                                              : d->size >= 2; /* f2 f4 f8 */
    if (d->order == '|' && d->size != 1)
        ok = false;
    return ok ? 0 : -1;
}

/* ---------------------------------------------------------------- header dict */

typedef struct {
    const char *p, *end, *start;
} cursor;

typedef struct {
    char descr[32];
    char bad_key[32]; /* set when the dict holds a key we do not know */
    npy_dtype dt;
    bool fortran;
    npy_shape shape;
    size_t data_off;
} npy_header;

static void skip_ws(cursor *c) {
    while (c->p < c->end && (*c->p == ' ' || *c->p == '\t' || *c->p == '\n' || *c->p == '\r'))
        c->p++;
}

/* Skips whitespace, then consumes ch if it is next. */
static bool eat(cursor *c, char ch) {
    skip_ws(c);
    if (c->p < c->end && *c->p == ch) {
        c->p++;
        return true;
    }
    return false;
}

/* A quoted Python string without escapes (none occur in valid headers). */
static const char *parse_str(cursor *c, char *out, size_t cap) {
    skip_ws(c);
    if (c->p >= c->end || (*c->p != '\'' && *c->p != '"'))
        return "expected a quoted string";
    char q = *c->p++;
    size_t n = 0;
    while (c->p < c->end && *c->p != q) {
        if (*c->p == '\\' || n + 1 >= cap)
            return "string too long or escaped";
        out[n++] = *c->p++;
    }
    if (c->p >= c->end)
        return "unterminated string";
    c->p++;
    out[n] = '\0';
    return NULL;
}

static const char *parse_bool(cursor *c, bool *v) {
    skip_ws(c);
    size_t left = (size_t)(c->end - c->p);
    if (left >= 4 && memcmp(c->p, "True", 4) == 0) {
        c->p += 4, *v = true;
        return NULL;
    }
    if (left >= 5 && memcmp(c->p, "False", 5) == 0) {
        c->p += 5, *v = false;
        return NULL;
    }
    return "fortran_order: expected True or False";
}

static const char *parse_dim(cursor *c, int64_t *v) {
    skip_ws(c);
    if (c->p >= c->end || *c->p < '0' || *c->p > '9')
        return "shape: expected a non-negative integer";
    int64_t x = 0;
    while (c->p < c->end && *c->p >= '0' && *c->p <= '9') {
        if (x > (INT64_MAX - 9) / 10)
            return "shape: dimension too large";
        x = 10 * x + (*c->p++ - '0');
    }
    if (c->p < c->end && (*c->p == 'L' || *c->p == 'l'))
        c->p++; /* Python 2 long suffix */
    *v = x;
    return NULL;
}

/* "()", "(5,)", "(3, 81)", trailing comma optional; checks numel overflow. */
static const char *parse_shape(cursor *c, npy_shape *s) {
    if (!eat(c, '('))
        return "shape: expected a tuple";
    s->ndim = 0;
    s->numel = 1;
    while (!eat(c, ')')) {
        if (s->ndim == NPY_MAX_DIMS)
            return "shape: more than 8 dimensions";
        int64_t d;
        const char *e = parse_dim(c, &d);
        if (e)
            return e;
        if (d > 0 && s->numel > INT64_MAX / d)
            return "shape: element count overflows 64 bits";
        s->shape[s->ndim++] = d;
        s->numel *= d;
        if (!eat(c, ',')) {
            if (!eat(c, ')'))
                return "shape: expected ',' or ')'";
            break;
        }
    }
    return NULL;
}

static const char *parse_value(cursor *c, const char *key, npy_header *h, unsigned *seen) {
    if (strcmp(key, "descr") == 0) {
        skip_ws(c);
        if (c->p < c->end && *c->p == '[')
            return "descr: structured dtypes are not supported";
        *seen |= 1;
        return parse_str(c, h->descr, sizeof h->descr);
    }
    if (strcmp(key, "fortran_order") == 0) {
        *seen |= 2;
        return parse_bool(c, &h->fortran);
    }
    if (strcmp(key, "shape") == 0) {
        *seen |= 4;
        return parse_shape(c, &h->shape);
    }
    snprintf(h->bad_key, sizeof h->bad_key, "%s", key);
    return "unexpected key";
}

static const char *parse_dict(cursor *c, npy_header *h) {
    unsigned seen = 0;
    if (!eat(c, '{'))
        return "expected '{'";
    while (!eat(c, '}')) {
        char key[32];
        const char *e = parse_str(c, key, sizeof key);
        if (!e && !eat(c, ':'))
            e = "expected ':'";
        if (e || (e = parse_value(c, key, h, &seen)))
            return e;
        if (!eat(c, ',')) {
            if (!eat(c, '}'))
                return "expected ',' or '}'";
            break;
        }
    }
    skip_ws(c);
    if (c->p != c->end)
        return "unexpected text after the dict";
    return seen == 7 ? NULL : "missing key (need descr, fortran_order and shape)";
}

/* ---------------------------------------------------------------- reading */

static int read_header(const char *path, const uint8_t *b, size_t size, npy_header *h,
                       trm_err *err) {
    if (size < 10)
        return trm_errf(err, "%s: %s (%zu bytes); expected a .npy preamble of at least 10",
                        path, size ? "truncated file" : "empty file", size);
    if (memcmp(b, npy_magic, sizeof npy_magic) != 0)
        return trm_errf(err, "%s: bad magic: expected \\x93NUMPY, not a .npy file", path);
    int major = b[6], minor = b[7];
    if (major < 1 || major > 3 || minor != 0)
        return trm_errf(err, "%s: unsupported .npy format version %d.%d (expected 1.0, "
                        "2.0 or 3.0)", path, major, minor);
    size_t pre = major == 1 ? 10 : 12;
    if (size < pre)
        return trm_errf(err, "%s: truncated header: file ends inside the preamble", path);
    size_t hlen = major == 1 ? (size_t)(b[8] | b[9] << 8)
                             : (size_t)b[8] | (size_t)b[9] << 8 | (size_t)b[10] << 16 |
                                   (size_t)b[11] << 24;
    if (hlen > size - pre)
        return trm_errf(err, "%s: truncated header: header length %zu runs past the end of "
                        "the file (%zu bytes)", path, hlen, size);
    memset(h, 0, sizeof *h);
    cursor c = {(const char *)b + pre, (const char *)b + pre + hlen, (const char *)b + pre};
    const char *e = parse_dict(&c, h);
    if (e && h->bad_key[0])
        return trm_errf(err, "%s: header: unexpected key '%s' (expected descr, "
                        "fortran_order and shape)", path, h->bad_key);
    if (e)
        return trm_errf(err, "%s: header: %s (at header byte %ld)", path, e,
                        (long)(c.p - c.start));
    h->data_off = pre + hlen;
    return 0;
}

static int check_dtype(const char *path, npy_header *h, bool want_float, trm_err *err) {
    if (parse_descr(h->descr, &h->dt) != 0)
        return trm_errf(err, "%s: descr: unsupported dtype '%s'", path, h->descr);
    if ((h->dt.kind == 'f') != want_float)
        return trm_errf(err, "%s: descr: '%s' is not %s", path, h->descr,
                        want_float ? "a float type (expected f2, f4 or f8)"
                                   : "an integer type (expected i1-i8, u1-u8 or b1)");
    if (h->fortran)
        return trm_errf(err, "%s: fortran_order: True is not supported (expected a "
                        "C-order array)", path);
    return 0;
}

static int check_size(const char *path, const npy_header *h, size_t size, trm_err *err) {
    uint64_t want = (uint64_t)h->shape.numel * (uint64_t)h->dt.size;
    uint64_t have = size - h->data_off;
    if ((uint64_t)h->shape.numel > UINT64_MAX / (uint64_t)h->dt.size || want > SIZE_MAX / 2)
        return trm_errf(err, "%s: shape: array too large", path);
    if (have < want)
        return trm_errf(err, "%s: truncated data: expected %llu bytes (%lld x '%s'), found "
                        "%llu", path, (unsigned long long)want, (long long)h->shape.numel,
                        h->descr, (unsigned long long)have);
    if (have > want)
        return trm_errf(err, "%s: data size mismatch: expected %llu bytes (%lld x '%s'), "
                        "found %llu", path, (unsigned long long)want,
                        (long long)h->shape.numel, h->descr, (unsigned long long)have);
    return 0;
}

/* An element's bits as an unsigned integer, honouring its byte order. */
static uint64_t load_bits(const uint8_t *p, const npy_dtype *d) {
    bool big = d->order == '>';
    uint64_t v = 0;
    for (int k = 0; k < d->size; k++)
        v = (v << 8) | p[big ? k : d->size - 1 - k];
    return v;
}

static bool native(const npy_dtype *d, char kind, int size) {
    return d->kind == kind && d->size == size && d->order != '>';
}

static int to_i32(const char *path, const npy_header *h, const uint8_t *src, int32_t *dst,
                  trm_err *err) {
    const npy_dtype *d = &h->dt;
    if (native(d, 'i', 4)) {
        memcpy(dst, src, (size_t)h->shape.numel * 4);
        return 0;
    }
    for (int64_t i = 0; i < h->shape.numel; i++) {
        uint64_t u = load_bits(src + i * d->size, d);
        int shift = 64 - 8 * d->size;
        /* sign-extend via the top bits; two's complement conversion is
         * implementation-defined but what gcc and clang do */
        int64_t v = d->kind == 'i' ? (int64_t)(u << shift) >> shift : (int64_t)u;
        if (d->kind == 'b')
            v = u != 0;
        if ((d->kind == 'u' && u > INT32_MAX) || v < INT32_MIN || v > INT32_MAX)
            return trm_errf(err, "%s: element %lld = %s%llu is outside the int32 range "
                            "(descr '%s')", path, (long long)i,
                            d->kind == 'i' && v < 0 ? "-" : "",
                            d->kind == 'i' && v < 0 ? 0ULL - (unsigned long long)v
                                                    : (unsigned long long)u,
                            h->descr);
        dst[i] = (int32_t)v;
    }
    return 0;
}

static void to_f32(const npy_header *h, const uint8_t *src, float *dst) {
    const npy_dtype *d = &h->dt;
    if (native(d, 'f', 4)) {
        memcpy(dst, src, (size_t)h->shape.numel * 4);
        return;
    }
    for (int64_t i = 0; i < h->shape.numel; i++) {
        uint64_t u = load_bits(src + i * d->size, d);
        if (d->size == 2) {
            dst[i] = st_f16_to_f32((uint16_t)u);
        } else if (d->size == 4) {
            uint32_t w = (uint32_t)u;
            memcpy(&dst[i], &w, 4);
        } else {
            double x;
            memcpy(&x, &u, 8);
            dst[i] = (float)x;
        }
    }
}

static void *npy_load(const char *path, bool want_float, npy_shape *shape, trm_err *err) {
    void *map = NULL;
    size_t size = 0;
    if (st_map_file(path, &map, &size, err))
        return NULL;
    npy_header h;
    void *out = NULL;
    if (!read_header(path, map, size, &h, err) && !check_dtype(path, &h, want_float, err) &&
        !check_size(path, &h, size, err)) {
        /* 4-byte outputs either way; +1 so an empty array is not NULL */
        out = malloc((size_t)h.shape.numel * 4 + 1);
        const uint8_t *src = (const uint8_t *)map + h.data_off;
        if (!out)
            trm_errf(err, "%s: out of memory for %lld elements", path,
                     (long long)h.shape.numel);
        else if (want_float)
            to_f32(&h, src, out);
        else if (to_i32(path, &h, src, out, err)) {
            free(out);
            out = NULL;
        }
    }
    if (map)
        munmap(map, size);
    if (out && shape)
        *shape = h.shape;
    return out;
}

int32_t *npy_read_i32(const char *path, npy_shape *shape, trm_err *err) {
    return npy_load(path, false, shape, err);
}

float *npy_read_f32(const char *path, npy_shape *shape, trm_err *err) {
    return npy_load(path, true, shape, err);
}

/* ---------------------------------------------------------------- mapping */

/* The integer dtypes the mapping reader converts at access time; big
 * endian and u8 (values beyond int64) are left to npy_read_i32. */
static bool mappable(const npy_dtype *d) {
    if (d->order == '>' || (d->kind != 'i' && d->kind != 'u'))
        return false;
    return !(d->kind == 'u' && d->size == 8);
}

void npy_unmap(npy_view *v) {
    if (v && v->map)
        munmap(v->map, v->size);
    if (v)
        memset(v, 0, sizeof *v);
}

int npy_map(const char *path, npy_view *v, trm_err *err) {
    memset(v, 0, sizeof *v);
    void *map = NULL;
    size_t size = 0;
    if (st_map_file(path, &map, &size, err))
        return -1;
    npy_header h;
    int rc = read_header(path, map, size, &h, err);
    if (!rc && (parse_descr(h.descr, &h.dt) != 0 || !mappable(&h.dt)))
        rc = trm_errf(err, "%s: descr: unsupported dtype '%s' (expected an integer type: "
                      "|u1 |i1 <i2 <u2 <i4 <u4 <i8)", path, h.descr);
    if (!rc && h.fortran)
        rc = trm_errf(err, "%s: fortran_order: True is not supported (expected a C-order "
                      "array)", path);
    if (!rc)
        rc = check_size(path, &h, size, err);
    if (rc) {
        if (map)
            munmap(map, size);
        return -1;
    }
    v->map = map;
    v->size = size;
    v->data = (const uint8_t *)map + h.data_off;
    snprintf(v->descr, sizeof v->descr, "%.7s", h.descr); /* 3 chars, checked above */
    v->kind = h.dt.kind;
    v->itemsize = h.dt.size;
    v->ndim = h.shape.ndim;
    memcpy(v->shape, h.shape.shape, sizeof v->shape);
    v->numel = h.shape.numel;
    return 0;
}

/* One little-endian element; memcpy because data may be unaligned. The
 * switch sits outside the loops so that each loop stays a plain,
 * vectorisable conversion (the Sudoku train inputs are 81 M bytes). */
#define NPY_GET_LOOP(T, OUT)                                                   \
    do {                                                                       \
        const uint8_t *p = v->data + first * (int64_t)sizeof(T);               \
        for (int64_t i = 0; i < n; i++) {                                      \
            T x;                                                               \
            memcpy(&x, p + i * (int64_t)sizeof(T), sizeof(T));                 \
            dst[i] = (OUT)x;                                                   \
        }                                                                      \
    } while (0)

void npy_view_get_i64(const npy_view *v, int64_t first, int64_t n, int64_t *dst) {
    switch (v->itemsize * (v->kind == 'u' ? -1 : 1)) {
    case -1: NPY_GET_LOOP(uint8_t, int64_t); break;
    case 1: NPY_GET_LOOP(int8_t, int64_t); break;
    case -2: NPY_GET_LOOP(uint16_t, int64_t); break;
    case 2: NPY_GET_LOOP(int16_t, int64_t); break;
    case -4: NPY_GET_LOOP(uint32_t, int64_t); break;
    case 4: NPY_GET_LOOP(int32_t, int64_t); break;
    default: NPY_GET_LOOP(int64_t, int64_t); break;
    }
}

void npy_view_get_i32(const npy_view *v, int64_t first, int64_t n, int32_t *dst) {
    switch (v->itemsize * (v->kind == 'u' ? -1 : 1)) {
    case -1: NPY_GET_LOOP(uint8_t, int32_t); break;
    case 1: NPY_GET_LOOP(int8_t, int32_t); break;
    case -2: NPY_GET_LOOP(uint16_t, int32_t); break;
    case 2: NPY_GET_LOOP(int16_t, int32_t); break;
    case -4: NPY_GET_LOOP(uint32_t, int32_t); break;
    case 4: NPY_GET_LOOP(int32_t, int32_t); break;
    default: NPY_GET_LOOP(int64_t, int32_t); break;
    }
}

#undef NPY_GET_LOOP

/* ---------------------------------------------------------------- writing */

/* The version 1.0 header text, space-padded and newline-terminated so
 * that the data starts 64-byte aligned as numpy does it. Eight dimensions
 * of at most 19 digits keep it far below the 65535-byte v1 limit. */
static size_t format_header(char *buf, size_t cap, const char *descr, int ndim,
                            const int64_t *shape) {
    char dims[NPY_MAX_DIMS * 24] = "";
    size_t n = 0;
    for (int i = 0; i < ndim; i++)
        n += (size_t)snprintf(dims + n, sizeof dims - n, "%s%lld", i ? ", " : "",
                              (long long)shape[i]);
    if (ndim == 1)
        snprintf(dims + n, sizeof dims - n, ",");
    int len = snprintf(buf, cap, "{'descr': '%s', 'fortran_order': False, 'shape': (%s), }",
                       descr, dims);
    size_t total = ((10 + (size_t)len + 1 + 63) / 64) * 64 - 10;
    memset(buf + len, ' ', total - 1 - (size_t)len);
    buf[total - 1] = '\n';
    return total;
}

int npy_write(const char *path, const char *descr, int ndim, const int64_t *shape,
              const void *data, trm_err *err) {
    npy_dtype d;
    if (!descr || parse_descr(descr, &d) != 0 || d.order == '>')
        return trm_errf(err, "%s: npy_write: unsupported descr '%s' (expected a "
                        "little-endian numeric type such as '<f4' or '<i4')", path,
                        descr ? descr : "(null)");
    if (ndim < 0 || ndim > NPY_MAX_DIMS)
        return trm_errf(err, "%s: npy_write: ndim %d out of range 0..%d", path, ndim,
                        NPY_MAX_DIMS);
    uint64_t nbytes = (uint64_t)d.size;
    for (int i = 0; i < ndim; i++) {
        if (shape[i] < 0 || (shape[i] > 0 && nbytes > (uint64_t)INT64_MAX / (uint64_t)shape[i]))
            return trm_errf(err, "%s: npy_write: shape[%d] = %lld is negative or too large",
                            path, i, (long long)shape[i]);
        nbytes *= (uint64_t)shape[i];
    }
    if (nbytes > 0 && !data)
        return trm_errf(err, "%s: npy_write: data is NULL", path);
    /* numpy's canonical spelling: '|' for one-byte types, '<' otherwise */
    char canon[4] = {d.size == 1 ? '|' : '<', d.kind, (char)('0' + d.size), '\0'};
    char header[512];
    size_t hlen = format_header(header, sizeof header, canon, ndim, shape);
    uint8_t pre[10];
    memcpy(pre, npy_magic, 6);
    pre[6] = 1, pre[7] = 0;
    pre[8] = (uint8_t)(hlen & 0xff), pre[9] = (uint8_t)(hlen >> 8);
    const void *bufs[3] = {pre, header, data};
    size_t lens[3] = {sizeof pre, hlen, (size_t)nbytes};
    return io_write_atomic(path, bufs, lens, 3, err);
}
