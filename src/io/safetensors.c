/* safetensors.c - read (mmap) and write .safetensors files.
 *
 * Every check on open exists so that a corrupt or hostile file produces a
 * one-line error naming the file and the offending field instead of an
 * out-of-bounds read later: all offsets and sizes are validated against
 * the mapping before any tensor pointer is handed out.
 */
#include "io/safetensors.h"

#include "io/fileio.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <math.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cjson/cJSON.h>

/* JSON numbers are doubles; integers beyond 2^53 cannot be represented
 * exactly, so larger shapes/offsets are rejected rather than rounded. */
#define ST_MAX_JSON_INT ((double)(1ULL << 53))

/* ---------------------------------------------------------------- dtypes */

static const struct {
    const char *name;
    int size;
} st_dtypes[] = {
    [ST_F32] = {"F32", 4}, [ST_BF16] = {"BF16", 2}, [ST_F16] = {"F16", 2},
    [ST_F64] = {"F64", 8}, [ST_I32] = {"I32", 4},   [ST_I64] = {"I64", 8},
    [ST_I16] = {"I16", 2}, [ST_I8] = {"I8", 1},     [ST_U8] = {"U8", 1},
    [ST_BOOL] = {"BOOL", 1},
};
#define ST_NDTYPES ((int)(sizeof st_dtypes / sizeof st_dtypes[0]))

const char *st_dtype_name(st_dtype d) {
    return (unsigned)d < (unsigned)ST_NDTYPES ? st_dtypes[d].name : "?";
}

int st_dtype_size(st_dtype d) {
    return (unsigned)d < (unsigned)ST_NDTYPES ? st_dtypes[d].size : 0;
}

int st_dtype_parse(const char *s, st_dtype *out) {
    for (int i = 0; i < ST_NDTYPES; i++) {
        if (strcmp(s, st_dtypes[i].name) == 0) {
            *out = (st_dtype)i;
            return 0;
        }
    }
    return -1;
}

/* ---------------------------------------------------------------- half floats */

float st_bf16_to_f32(uint16_t h) {
    uint32_t u = (uint32_t)h << 16;
    float f;
    memcpy(&f, &u, sizeof f);
    return f;
}

float st_f16_to_f32(uint16_t h) {
    int sign = (h >> 15) & 1, exp = (h >> 10) & 0x1f, man = h & 0x3ff;
    float v;
    if (exp == 0)
        v = ldexpf((float)man, -24); /* zero and subnormals */
    else if (exp == 31)
        v = man ? NAN : INFINITY;
    else
        v = ldexpf((float)(man | 0x400), exp - 25);
    return sign ? -v : v;
}

/* Little-endian loads that work at any alignment. */
static uint16_t ld16(const uint8_t *p) { return (uint16_t)(p[0] | (p[1] << 8)); }

static uint64_t ld64(const uint8_t *p) {
    uint64_t v = 0;
    for (int i = 7; i >= 0; i--)
        v = (v << 8) | p[i];
    return v;
}

/* ---------------------------------------------------------------- mapping */

int st_map_file(const char *path, void **map, size_t *size, trm_err *err) {
    int fd = util_open_regular(path, size, err);
    if (fd < 0)
        return -1;
    *map = NULL;
    if (*size > 0) {
        *map = mmap(NULL, *size, PROT_READ, MAP_PRIVATE, fd, 0);
        if (*map == MAP_FAILED) {
            int e = errno;
            close(fd);
            *map = NULL;
            return trm_errf(err, "%s: cannot map: %s", path, strerror(e));
        }
    }
    close(fd); /* the mapping keeps the file alive */
    return 0;
}

/* ---------------------------------------------------------------- header validation */

/* Returns the offset of the first invalid UTF-8 byte (or NUL, which would
 * silently truncate names in cJSON), or len when the text is valid. */
static size_t utf8_invalid_at(const uint8_t *s, size_t len) {
    size_t i = 0;
    while (i < len) {
        uint8_t c = s[i];
        int n = c < 0x80 ? 0 : (c & 0xe0) == 0xc0 ? 1 : (c & 0xf0) == 0xe0 ? 2
              : (c & 0xf8) == 0xf0 ? 3 : -1;
        if (c == 0 || n < 0 || c == 0xc0 || c == 0xc1 || c > 0xf4 ||
            (size_t)n >= len - i)
            return i;
        for (int k = 1; k <= n; k++)
            if ((s[i + k] & 0xc0) != 0x80)
                return i;
        /* overlong 3/4-byte forms, UTF-16 surrogates, > U+10FFFF */
        if ((c == 0xe0 && s[i + 1] < 0xa0) || (c == 0xed && s[i + 1] > 0x9f) ||
            (c == 0xf0 && s[i + 1] < 0x90) || (c == 0xf4 && s[i + 1] > 0x8f))
            return i;
        i += (size_t)n + 1;
    }
    return len;
}

/* An exact non-negative JSON integer. */
static bool json_u53(const cJSON *v, uint64_t *out) {
    if (!cJSON_IsNumber(v))
        return false;
    double d = v->valuedouble;
    if (!(d >= 0 && d <= ST_MAX_JSON_INT) || d != floor(d))
        return false;
    *out = (uint64_t)d;
    return true;
}

static int parse_dtype(const st_file *f, const char *name, const cJSON *e, st_tensor *t,
                       trm_err *err) {
    const cJSON *d = cJSON_GetObjectItemCaseSensitive(e, "dtype");
    if (!cJSON_IsString(d))
        return trm_errf(err, "%s: tensor '%s': dtype: expected a string such as \"F32\"",
                        f->path, name);
    if (st_dtype_parse(d->valuestring, &t->dtype) != 0)
        return trm_errf(err, "%s: tensor '%s': dtype: unknown dtype '%s' (expected "
                        "F32, BF16, F16, F64, I32, I64, I16, I8, U8 or BOOL)",
                        f->path, name, d->valuestring);
    return 0;
}

static int parse_shape(const st_file *f, const char *name, const cJSON *e, st_tensor *t,
                       trm_err *err) {
    const cJSON *s = cJSON_GetObjectItemCaseSensitive(e, "shape");
    int n = cJSON_IsArray(s) ? cJSON_GetArraySize(s) : -1;
    if (n < 0 || n > ST_MAX_DIMS)
        return trm_errf(err, "%s: tensor '%s': shape: expected an array of at most %d "
                        "non-negative integers", f->path, name, ST_MAX_DIMS);
    t->ndim = n;
    t->numel = 1;
    int i = 0;
    for (const cJSON *v = s->child; v; v = v->next, i++) {
        uint64_t dim;
        if (!json_u53(v, &dim))
            return trm_errf(err, "%s: tensor '%s': shape[%d]: expected a non-negative "
                            "integer", f->path, name, i);
        if (dim > 0 && (uint64_t)t->numel > (uint64_t)INT64_MAX / dim)
            return trm_errf(err, "%s: tensor '%s': shape: element count overflows 64 bits",
                            f->path, name);
        t->shape[i] = (int64_t)dim;
        t->numel *= (int64_t)dim;
    }
    return 0;
}

static int parse_offsets(const st_file *f, const char *name, const cJSON *e, st_tensor *t,
                         size_t data_start, trm_err *err) {
    const cJSON *o = cJSON_GetObjectItemCaseSensitive(e, "data_offsets");
    uint64_t b, en, data_size = f->size - data_start;
    if (!cJSON_IsArray(o) || cJSON_GetArraySize(o) != 2 || !json_u53(o->child, &b) ||
        !json_u53(o->child->next, &en) || b > en)
        return trm_errf(err, "%s: tensor '%s': data_offsets: expected [begin, end] with "
                        "0 <= begin <= end", f->path, name);
    if (en > data_size)
        return trm_errf(err, "%s: tensor '%s': data_offsets: end %llu is past the data "
                        "section (%llu bytes)", f->path, name,
                        (unsigned long long)en, (unsigned long long)data_size);
    uint64_t size = (uint64_t)st_dtype_size(t->dtype);
    if ((uint64_t)t->numel > UINT64_MAX / size || en - b != (uint64_t)t->numel * size)
        return trm_errf(err, "%s: tensor '%s': data_offsets: span %llu bytes, expected "
                        "%lld elements x %d bytes (%s)", f->path, name,
                        (unsigned long long)(en - b), (long long)t->numel, (int)size,
                        st_dtype_name(t->dtype));
    t->data = (const uint8_t *)f->map + data_start + b;
    t->nbytes = (size_t)(en - b);
    return 0;
}

static int parse_entry(st_file *f, const cJSON *e, st_tensor *t, size_t data_start,
                       trm_err *err) {
    if (!cJSON_IsObject(e))
        return trm_errf(err, "%s: tensor '%s': expected an object with dtype, shape and "
                        "data_offsets", f->path, e->string);
    if (parse_dtype(f, e->string, e, t, err) || parse_shape(f, e->string, e, t, err) ||
        parse_offsets(f, e->string, e, t, data_start, err))
        return -1;
    t->name = strdup(e->string);
    return t->name ? 0 : trm_errf(err, "%s: out of memory", f->path);
}

static int parse_metadata(st_file *f, const cJSON *m, trm_err *err) {
    if (!cJSON_IsObject(m))
        return trm_errf(err, "%s: __metadata__: expected an object of string values", f->path);
    int n = cJSON_GetArraySize(m);
    f->meta_keys = calloc((size_t)n + 1, sizeof *f->meta_keys);
    f->meta_vals = calloc((size_t)n + 1, sizeof *f->meta_vals);
    if (!f->meta_keys || !f->meta_vals)
        return trm_errf(err, "%s: out of memory", f->path);
    for (const cJSON *v = m->child; v; v = v->next) {
        if (!cJSON_IsString(v))
            return trm_errf(err, "%s: __metadata__: value of '%s': expected a string",
                            f->path, v->string);
        f->meta_keys[f->n_meta] = strdup(v->string);
        f->meta_vals[f->n_meta] = strdup(v->valuestring);
        f->n_meta++;
        if (!f->meta_keys[f->n_meta - 1] || !f->meta_vals[f->n_meta - 1])
            return trm_errf(err, "%s: out of memory", f->path);
    }
    return 0;
}

/* ---------------------------------------------------------------- cross-tensor checks */

static int cmp_name(const void *a, const void *b) {
    return strcmp((*(const st_tensor *const *)a)->name, (*(const st_tensor *const *)b)->name);
}

static int cmp_extent(const void *a, const void *b) {
    const st_tensor *x = *(const st_tensor *const *)a, *y = *(const st_tensor *const *)b;
    if (x->data != y->data)
        return x->data < y->data ? -1 : 1;
    return (x->nbytes > y->nbytes) - (x->nbytes < y->nbytes);
}

/* Duplicate names would make st_find ambiguous; overlapping extents mean a
 * corrupt header. Sorting makes both checks linear after the sort. */
static int check_tensor_set(const st_file *f, trm_err *err) {
    if (f->n < 2)
        return 0;
    const st_tensor **p = malloc((size_t)f->n * sizeof *p);
    if (!p)
        return trm_errf(err, "%s: out of memory", f->path);
    for (int i = 0; i < f->n; i++)
        p[i] = &f->tensors[i];
    int rc = 0;
    qsort(p, (size_t)f->n, sizeof *p, cmp_name);
    for (int i = 1; i < f->n && rc == 0; i++)
        if (strcmp(p[i - 1]->name, p[i]->name) == 0)
            rc = trm_errf(err, "%s: tensor '%s': name appears twice in the header",
                          f->path, p[i]->name);
    qsort(p, (size_t)f->n, sizeof *p, cmp_extent);
    const st_tensor *prev = NULL; /* last non-empty tensor */
    for (int i = 0; i < f->n && rc == 0; i++) {
        if (p[i]->nbytes == 0)
            continue;
        if (prev && prev->data + prev->nbytes > p[i]->data)
            rc = trm_errf(err, "%s: tensor '%s': data_offsets: overlaps tensor '%s'",
                          f->path, p[i]->name, prev->name);
        prev = p[i];
    }
    free(p);
    return rc;
}

/* ---------------------------------------------------------------- open */

/* Reads and checks the length prefix; *hlen is then within the file. */
static int read_header_len(const st_file *f, uint64_t *hlen, trm_err *err) {
    if (f->size < 8)
        return trm_errf(err, "%s: %s (%zu bytes); expected at least the 8-byte header length",
                        f->path, f->size ? "file too short" : "empty file", f->size);
    *hlen = ld64(f->map);
    if (*hlen > ST_MAX_HEADER)
        return trm_errf(err, "%s: header length %llu is absurdly large (limit %llu); not a "
                        "safetensors file?", f->path, (unsigned long long)*hlen,
                        (unsigned long long)ST_MAX_HEADER);
    if (*hlen > f->size - 8)
        return trm_errf(err, "%s: header length %llu runs past the end of the file "
                        "(%zu bytes)", f->path, (unsigned long long)*hlen, f->size);
    return 0;
}

/* Parses the header text; cJSON wants a NUL-terminated copy, which also
 * keeps its reads inside memory the sanitizers can see. */
static cJSON *parse_header_json(const st_file *f, uint64_t hlen, trm_err *err) {
    const uint8_t *h = (const uint8_t *)f->map + 8;
    size_t bad = utf8_invalid_at(h, (size_t)hlen);
    if (bad < hlen) {
        trm_errf(err, "%s: header: invalid UTF-8 or NUL at byte %zu", f->path, bad);
        return NULL;
    }
    char *txt = malloc((size_t)hlen + 1);
    if (!txt) {
        trm_errf(err, "%s: out of memory for a %llu-byte header", f->path,
                 (unsigned long long)hlen);
        return NULL;
    }
    memcpy(txt, h, (size_t)hlen);
    txt[hlen] = '\0';
    const char *end = NULL;
    cJSON *root = cJSON_ParseWithOpts(txt, &end, true);
    if (!root)
        trm_errf(err, "%s: header: not valid JSON (error near byte %ld)", f->path,
                 end ? (long)(end - txt) : -1L);
    else if (!cJSON_IsObject(root)) {
        trm_errf(err, "%s: header: expected a JSON object", f->path);
        cJSON_Delete(root);
        root = NULL;
    }
    free(txt);
    return root;
}

static int parse_header(st_file *f, trm_err *err) {
    uint64_t hlen = 0;
    if (read_header_len(f, &hlen, err))
        return -1;
    cJSON *root = parse_header_json(f, hlen, err);
    if (!root)
        return -1;
    int n = cJSON_GetArraySize(root), rc = 0;
    f->tensors = calloc((size_t)n + 1, sizeof *f->tensors);
    if (!f->tensors)
        rc = trm_errf(err, "%s: out of memory", f->path);
    for (const cJSON *e = root->child; e && rc == 0; e = e->next) {
        if (strcmp(e->string, "__metadata__") == 0)
            rc = f->meta_keys ? trm_errf(err, "%s: __metadata__ appears twice", f->path)
                              : parse_metadata(f, e, err);
        else if ((rc = parse_entry(f, e, &f->tensors[f->n], 8 + (size_t)hlen, err)) == 0)
            f->n++;
    }
    cJSON_Delete(root);
    return rc ? rc : check_tensor_set(f, err);
}

st_file *st_open(const char *path, trm_err *err) {
    st_file *f = calloc(1, sizeof *f);
    if (!f || !(f->path = strdup(path))) {
        free(f);
        trm_errf(err, "%s: out of memory", path);
        return NULL;
    }
    if (st_map_file(path, &f->map, &f->size, err) || parse_header(f, err)) {
        st_close(f);
        return NULL;
    }
    return f;
}

void st_close(st_file *f) {
    if (!f)
        return;
    if (f->map)
        munmap(f->map, f->size);
    for (int i = 0; i < f->n; i++)
        free(f->tensors[i].name);
    for (int i = 0; i < f->n_meta; i++) {
        free(f->meta_keys[i]);
        free(f->meta_vals[i]);
    }
    free(f->tensors);
    free(f->meta_keys);
    free(f->meta_vals);
    free(f->path);
    free(f);
}

const st_tensor *st_find(const st_file *f, const char *name) {
    for (int i = 0; f && i < f->n; i++)
        if (strcmp(f->tensors[i].name, name) == 0)
            return &f->tensors[i];
    return NULL;
}

const char *st_metadata(const st_file *f, const char *key) {
    for (int i = 0; f && i < f->n_meta; i++)
        if (strcmp(f->meta_keys[i], key) == 0)
            return f->meta_vals[i];
    return NULL;
}

/* ---------------------------------------------------------------- conversion */

static const char *fpath(const st_file *f) { return f && f->path ? f->path : "(safetensors)"; }

int st_to_f32(const st_file *f, const st_tensor *t, float *dst, trm_err *err) {
    const uint8_t *p = t->data;
    switch (t->dtype) {
    case ST_F32:
        if (t->nbytes)
            memcpy(dst, p, t->nbytes);
        return 0;
    case ST_BF16:
        for (int64_t i = 0; i < t->numel; i++)
            dst[i] = st_bf16_to_f32(ld16(p + 2 * i));
        return 0;
    case ST_F16:
        for (int64_t i = 0; i < t->numel; i++)
            dst[i] = st_f16_to_f32(ld16(p + 2 * i));
        return 0;
    case ST_F64:
        for (int64_t i = 0; i < t->numel; i++) {
            double d;
            memcpy(&d, p + 8 * i, sizeof d);
            dst[i] = (float)d;
        }
        return 0;
    default:
        return trm_errf(err, "%s: tensor '%s': dtype %s: expected a floating-point dtype "
                        "(F32, BF16, F16 or F64)", fpath(f), t->name, st_dtype_name(t->dtype));
    }
}

/* One element of an integer dtype, widened to int64. */
static int64_t load_int(st_dtype d, const uint8_t *p) {
    switch (d) {
    case ST_I64: return (int64_t)ld64(p);
    case ST_I32: return (int32_t)(ld16(p) | ((uint32_t)ld16(p + 2) << 16));
    case ST_I16: return (int16_t)ld16(p);
    case ST_I8:  return (int8_t)p[0];
    case ST_U8:  return p[0];
    default:     return p[0] != 0; /* BOOL */
    }
}

int st_to_i32(const st_file *f, const st_tensor *t, int32_t *dst, trm_err *err) {
    switch (t->dtype) {
    case ST_I32: case ST_I64: case ST_I16: case ST_I8: case ST_U8: case ST_BOOL: break;
    default:
        return trm_errf(err, "%s: tensor '%s': dtype %s: expected an integer dtype "
                        "(I32, I64, I16, I8, U8 or BOOL)", fpath(f), t->name,
                        st_dtype_name(t->dtype));
    }
    int size = st_dtype_size(t->dtype);
    for (int64_t i = 0; i < t->numel; i++) {
        int64_t v = load_int(t->dtype, t->data + size * i);
        if (v < INT32_MIN || v > INT32_MAX)
            return trm_errf(err, "%s: tensor '%s': element %lld = %lld is outside the "
                            "int32 range", fpath(f), t->name, (long long)i, (long long)v);
        dst[i] = (int32_t)v;
    }
    return 0;
}

/* ---------------------------------------------------------------- writer */

typedef struct {
    char *name;
    st_dtype dtype;
    int ndim;
    int64_t shape[ST_MAX_DIMS];
    const void *data;
    size_t nbytes;
} st_wentry;

struct st_writer {
    st_wentry *e;
    int n, cap;
    char **mk, **mv;
    int nm, mcap;
};

st_writer *st_writer_new(void) { return calloc(1, sizeof(st_writer)); }

void st_writer_free(st_writer *w) {
    if (!w)
        return;
    for (int i = 0; i < w->n; i++)
        free(w->e[i].name);
    for (int i = 0; i < w->nm; i++) {
        free(w->mk[i]);
        free(w->mv[i]);
    }
    free(w->e);
    free(w->mk);
    free(w->mv);
    free(w);
}

/* Byte size of a shape, or -1 on a bad dimension or overflow. */
static int64_t shape_nbytes(int ndim, const int64_t *shape, int elem) {
    uint64_t n = (uint64_t)elem;
    for (int i = 0; i < ndim; i++) {
        if (shape[i] < 0 || (double)shape[i] > ST_MAX_JSON_INT)
            return -1;
        if (shape[i] > 0 && n > (uint64_t)INT64_MAX / (uint64_t)shape[i])
            return -1;
        n *= (uint64_t)shape[i];
    }
    return (int64_t)n;
}

int st_writer_add(st_writer *w, const char *name, st_dtype dtype, int ndim,
                  const int64_t *shape, const void *data, trm_err *err) {
    if (!name || !*name || strcmp(name, "__metadata__") == 0)
        return trm_errf(err, "st_writer_add: invalid tensor name '%s'", name ? name : "");
    if (!st_dtype_size(dtype) || ndim < 0 || ndim > ST_MAX_DIMS)
        return trm_errf(err, "st_writer_add: tensor '%s': bad dtype or ndim %d (max %d)",
                        name, ndim, ST_MAX_DIMS);
    int64_t nbytes = shape_nbytes(ndim, shape, st_dtype_size(dtype));
    if (nbytes < 0)
        return trm_errf(err, "st_writer_add: tensor '%s': shape has a negative or too "
                        "large dimension", name);
    if (nbytes > 0 && !data)
        return trm_errf(err, "st_writer_add: tensor '%s': data is NULL", name);
    for (int i = 0; i < w->n; i++)
        if (strcmp(w->e[i].name, name) == 0)
            return trm_errf(err, "st_writer_add: tensor '%s' added twice", name);
    if (w->n == w->cap) {
        int cap = w->cap ? 2 * w->cap : 16;
        st_wentry *e = realloc(w->e, (size_t)cap * sizeof *e);
        if (!e)
            return trm_errf(err, "st_writer_add: out of memory");
        w->e = e;
        w->cap = cap;
    }
    st_wentry *e = &w->e[w->n];
    if (!(e->name = strdup(name)))
        return trm_errf(err, "st_writer_add: out of memory");
    e->dtype = dtype;
    e->ndim = ndim;
    for (int i = 0; i < ndim; i++)
        e->shape[i] = shape[i];
    e->data = data;
    e->nbytes = (size_t)nbytes;
    w->n++;
    return 0;
}

int st_writer_meta(st_writer *w, const char *key, const char *value, trm_err *err) {
    if (!key || !value)
        return trm_errf(err, "st_writer_meta: key and value must not be NULL");
    char *v = strdup(value);
    if (!v)
        return trm_errf(err, "st_writer_meta: out of memory");
    for (int i = 0; i < w->nm; i++) {
        if (strcmp(w->mk[i], key) == 0) {
            free(w->mv[i]);
            w->mv[i] = v;
            return 0;
        }
    }
    if (w->nm == w->mcap) {
        int cap = w->mcap ? 2 * w->mcap : 8;
        char **mk = realloc(w->mk, (size_t)cap * sizeof *mk);
        if (mk)
            w->mk = mk;
        char **mv = mk ? realloc(w->mv, (size_t)cap * sizeof *mv) : NULL;
        if (mv)
            w->mv = mv;
        if (!mk || !mv) {
            free(v);
            return trm_errf(err, "st_writer_meta: out of memory");
        }
        w->mcap = cap;
    }
    if (!(w->mk[w->nm] = strdup(key))) {
        free(v);
        return trm_errf(err, "st_writer_meta: out of memory");
    }
    w->mv[w->nm++] = v;
    return 0;
}

/* cJSON prints large doubles in exponent form; raw nodes keep 64-bit
 * integers exact and the output byte-for-byte deterministic. */
static cJSON *json_int_array(const int64_t *v, int n) {
    cJSON *a = cJSON_CreateArray();
    for (int i = 0; a && i < n; i++) {
        char buf[24];
        snprintf(buf, sizeof buf, "%lld", (long long)v[i]);
        cJSON *x = cJSON_CreateRaw(buf);
        if (!x || !cJSON_AddItemToArray(a, x)) {
            cJSON_Delete(x);
            cJSON_Delete(a);
            return NULL;
        }
    }
    return a;
}

static bool add_entry_json(cJSON *root, const st_wentry *e, uint64_t begin) {
    int64_t offs[2] = {(int64_t)begin, (int64_t)(begin + e->nbytes)};
    cJSON *o = cJSON_CreateObject();
    cJSON *shape = json_int_array(e->shape, e->ndim), *off = json_int_array(offs, 2);
    bool ok = o && shape && off && cJSON_AddStringToObject(o, "dtype", st_dtype_name(e->dtype));
    ok = ok && cJSON_AddItemToObject(o, "shape", shape);
    if (!ok)
        cJSON_Delete(shape);
    ok = ok && cJSON_AddItemToObject(o, "data_offsets", off);
    if (!ok)
        cJSON_Delete(off);
    ok = ok && cJSON_AddItemToObject(root, e->name, o);
    if (!ok)
        cJSON_Delete(o);
    return ok;
}

/* The header text, padded with spaces so that the data section (which
 * follows the 8-byte prefix) starts 8-byte aligned. */
static char *build_header(const st_writer *w, size_t *len) {
    cJSON *root = cJSON_CreateObject();
    bool ok = root != NULL;
    if (ok && w->nm > 0) {
        cJSON *m = cJSON_AddObjectToObject(root, "__metadata__");
        ok = m != NULL;
        for (int i = 0; ok && i < w->nm; i++)
            ok = cJSON_AddStringToObject(m, w->mk[i], w->mv[i]) != NULL;
    }
    uint64_t off = 0;
    for (int i = 0; ok && i < w->n; i++) {
        ok = add_entry_json(root, &w->e[i], off);
        off += w->e[i].nbytes;
    }
    char *txt = ok ? cJSON_PrintUnformatted(root) : NULL;
    cJSON_Delete(root);
    if (!txt)
        return NULL;
    size_t n = strlen(txt), padded = (n + 7) & ~(size_t)7;
    char *out = realloc(txt, padded + 1);
    if (!out) {
        free(txt);
        return NULL;
    }
    memset(out + n, ' ', padded - n);
    out[padded] = '\0';
    *len = padded;
    return out;
}

int st_writer_write(st_writer *w, const char *path, trm_err *err) {
    size_t hlen = 0;
    char *header = build_header(w, &hlen);
    const void **bufs = calloc((size_t)w->n + 2, sizeof *bufs);
    size_t *lens = calloc((size_t)w->n + 2, sizeof *lens);
    int rc;
    if (!header || !bufs || !lens) {
        rc = trm_errf(err, "%s: out of memory building the safetensors header", path);
    } else {
        uint8_t prefix[8];
        for (int i = 0; i < 8; i++)
            prefix[i] = (uint8_t)((uint64_t)hlen >> (8 * i));
        bufs[0] = prefix, lens[0] = 8;
        bufs[1] = header, lens[1] = hlen;
        for (int i = 0; i < w->n; i++)
            bufs[i + 2] = w->e[i].data, lens[i + 2] = w->e[i].nbytes;
        rc = io_write_atomic(path, (const void *const *)bufs, lens, w->n + 2, err);
    }
    free(header);
    free(bufs);
    free(lens);
    return rc;
}
