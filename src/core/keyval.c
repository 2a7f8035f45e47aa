/* keyval.c - table-driven key=value configs (keyval.h). */
#include <errno.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/keyval.h"

const kv_field *kv_find(const kv_table *t, const char *key) {
    for (size_t i = 0; i < t->n; i++)
        if (!strcmp(t->fields[i].name, key)) return &t->fields[i];
    return NULL;
}

void kv_list_names(const kv_table *t, char *buf, size_t n) {
    size_t used = 0;
    buf[0] = 0;
    for (size_t i = 0; i < t->n && used < n; i++)
        used += (size_t)snprintf(buf + used, n - used, "%s%s", i ? ", " : "", t->fields[i].name);
}

/* "a, b or c" of an enum's (non-alias) names, each quoted when asked. */
static void enum_list(const kv_name *names, bool quote, char *buf, size_t n) {
    int count = 0, k = 0;
    for (const kv_name *e = names; e->name; e++) count += !e->alias;
    size_t used = 0;
    buf[0] = 0;
    for (const kv_name *e = names; e->name && used < n; e++) {
        if (e->alias) continue;
        const char *sep = k == 0 ? "" : k == count - 1 ? " or " : ", ";
        used += (size_t)snprintf(buf + used, n - used, quote ? "%s\"%s\"" : "%s%s", sep, e->name);
        k++;
    }
}

static const char *enum_name(const kv_name *names, int v) {
    for (const kv_name *e = names; e->name; e++)
        if (!e->alias && e->value == v) return e->name;
    return "?";
}

static int enum_parse(const kv_name *names, const char *s, int *v) {
    for (const kv_name *e = names; e->name; e++)
        if (!strcmp(e->name, s)) { *v = e->value; return 0; }
    return -1;
}

static bool in_range(const kv_field *f, double d) {
    if (!f->expect) return true;
    return (f->lo_open ? d > f->lo : d >= f->lo) && (f->hi_open ? d < f->hi : d <= f->hi);
}

static int range_error(const kv_table *t, const kv_field *f, const char *v, trm_err *err) {
    if (f->no_got) return trm_errf(err, "%s %s: expected %s", t->what, f->name, f->expect);
    return trm_errf(err, "%s %s: expected %s, got '%s'", t->what, f->name, f->expect, v);
}

/* Stores d (already checked) into the field. */
static void store(const kv_field *f, void *p, double d, const char *v) {
    switch (f->type) {
    case KV_INT:
    case KV_AUTO_INT: *(int *)p = (int)d; break;
    case KV_I64: *(int64_t *)p = (int64_t)d; break;
    /* a seed written as plain digits keeps all 64 bits (a double has 53) */
    case KV_U64: *(uint64_t *)p = strspn(v, "0123456789") == strlen(v) ? strtoull(v, NULL, 10) : (uint64_t)d; break;
    case KV_DOUBLE: *(double *)p = d; break;
    case KV_FLOAT: *(float *)p = (float)d; break;
    default: break;
    }
}

/* The arch config's reading: a signed int (strtol) or any finite float. */
static int number_signed(const kv_table *t, const kv_field *f, const char *v, double *d, trm_err *err) {
    char *end = NULL;
    errno = 0;
    if (f->type == KV_FLOAT || f->type == KV_DOUBLE) {
        *d = strtod(v, &end);
        if (end == v || *end || errno || !isfinite((float)*d))
            return trm_errf(err, "%s %s: expected a number, got '%s'", t->what, f->name, v);
        return 0;
    }
    long x = strtol(v, &end, 10);
    if (end == v || *end || errno || x < -2147483647L || x > 2147483647L)
        return trm_errf(err, "%s %s: expected an integer, got '%s'", t->what, f->name, v);
    *d = (double)x;
    return 0;
}

/* The training config's reading: a non-negative number, integral for the
 * integer types. */
static int number_nonneg(const kv_table *t, const kv_field *f, const char *v, double *d, trm_err *err) {
    char *end = NULL;
    errno = 0;
    *d = strtod(v, &end);
    if (end == v || *end || errno || !isfinite(*d) || *d < 0)
        return trm_errf(err, "%s %s: expected a non-negative number, got '%s'", t->what, f->name, v);
    /* UINT64_MAX is not a double: the cap of a u64 is 2^64, excluded
     * (a value of exactly 2^64 would overflow the conversion) */
    double cap = f->type == KV_I64 ? 9e18 : f->type == KV_U64 ? 18446744073709551616.0 : 1e9;
    bool digits = strspn(v, "0123456789") == strlen(v);
    /* plain digits are read exactly (strtoull, below); any other form must stay under 2^64 */
    bool over = f->type == KV_U64 ? !digits && *d >= cap : *d > cap;
    errno = 0;
    /* plain digits past UINT64_MAX round to a double within the cap */
    bool wraps = f->type == KV_U64 && digits && (strtoull(v, NULL, 10), errno == ERANGE);
    if (f->type != KV_FLOAT && f->type != KV_DOUBLE && (*d != floor(*d) || over || wraps))
        return trm_errf(err, "%s %s: expected an integer, got '%s'", t->what, f->name, v);
    return 0;
}

static int set_string(const kv_table *t, const kv_field *f, void *p, const char *v, trm_err *err) {
    if (strlen(v) >= f->size) return trm_errf(err, "%s %s: longer than %zu characters", t->what, f->name, f->size - 1);
    if (f->check && f->check(v, err)) return -1;
    snprintf((char *)p, f->size, "%s", v);
    return 0;
}

int kv_set(const kv_table *t, void *obj, const char *key, const char *v, trm_err *err) {
    const kv_field *f = kv_find(t, key);
    if (!f) return 1;
    void *p = (char *)obj + f->off;
    char names[256];
    switch (f->type) {
    case KV_BOOL:
        if (!strcmp(v, "true") || !strcmp(v, "True") || !strcmp(v, "1")) *(bool *)p = true;
        else if (!strcmp(v, "false") || !strcmp(v, "False") || !strcmp(v, "0")) *(bool *)p = false;
        else return trm_errf(err, "%s %s: expected true or false, got '%s'", t->what, key, v);
        return 0;
    case KV_ENUM:
        if (enum_parse(f->names, v, (int *)p) == 0) return 0;
        enum_list(f->names, false, names, sizeof names);
        return trm_errf(err, "%s %s: expected %s, got '%s'", t->what, key, names, v);
    case KV_STRING: return set_string(t, f, p, v, err);
    case KV_AUTO_INT:
        if (!strcmp(v, "auto")) { *(int *)p = -1; return 0; }
        break;
    default: break;
    }
    double d;
    if ((t->numbers == KV_SIGNED ? number_signed : number_nonneg)(t, f, v, &d, err)) return -1;
    if (!in_range(f, d)) return range_error(t, f, v, err);
    store(f, p, d, v);
    return 0;
}

int kv_set_json(const kv_table *t, void *obj, const kv_field *f, const cJSON *it, trm_err *err) {
    void *p = (char *)obj + f->off;
    char names[256];
    switch (f->type) {
    case KV_BOOL:
        if (!cJSON_IsBool(it)) return trm_errf(err, "%s %s: expected true or false", t->what, f->name);
        *(bool *)p = cJSON_IsTrue(it);
        return 0;
    case KV_ENUM:
        if (cJSON_IsString(it) && enum_parse(f->names, it->valuestring, (int *)p) == 0) return 0;
        enum_list(f->names, true, names, sizeof names);
        return trm_errf(err, "%s %s: expected %s", t->what, f->name, names);
    case KV_STRING:
        if (!cJSON_IsString(it)) return trm_errf(err, "%s %s: expected a string", t->what, f->name);
        return set_string(t, f, p, it->valuestring, err);
    case KV_FLOAT:
    case KV_DOUBLE:
        if (!cJSON_IsNumber(it) || !isfinite(f->type == KV_FLOAT ? (float)it->valuedouble : it->valuedouble))
            return trm_errf(err, "%s %s: expected a finite number", t->what, f->name);
        break;
    case KV_AUTO_INT:
        if (cJSON_IsString(it) && !strcmp(it->valuestring, "auto")) { *(int *)p = -1; return 0; }
        /* fall through */
    default: {
        double cap = f->type == KV_I64 ? 9e18 : f->type == KV_U64 ? 1.8e19 : 2147483647.0;
        if (!cJSON_IsNumber(it) || it->valuedouble != floor(it->valuedouble) || fabs(it->valuedouble) > cap)
            return trm_errf(err, "%s %s: expected an integer", t->what, f->name);
    }
    }
    if (!in_range(f, it->valuedouble)) return trm_errf(err, "%s %s: expected %s", t->what, f->name, f->expect);
    store(f, p, it->valuedouble, "");
    return 0;
}

/* The shortest decimal that reads back as v: lr=1e-3 is saved (and shown
 * on --resume) as 0.001, not 0.00100000005. */
static void fmt_float(char *buf, size_t n, float v) {
    for (int digits = 6; digits <= 9; digits++) {
        snprintf(buf, n, "%.*g", digits, v);
        if (strtof(buf, NULL) == v) return;
    }
}

static void add_field(const kv_table *t, const kv_field *f, const void *p, cJSON *o) {
    char buf[40];
    switch (f->type) {
    case KV_INT: cJSON_AddNumberToObject(o, f->name, *(const int *)p); return;
    case KV_I64: snprintf(buf, sizeof buf, "%lld", (long long)*(const int64_t *)p); break;
    case KV_U64: snprintf(buf, sizeof buf, "%llu", (unsigned long long)*(const uint64_t *)p); break;
    case KV_DOUBLE: snprintf(buf, sizeof buf, "%.17g", *(const double *)p); break;
    case KV_FLOAT:
        if (t->shortest_floats) fmt_float(buf, sizeof buf, *(const float *)p);
        else snprintf(buf, sizeof buf, "%.9g", *(const float *)p);
        break;
    case KV_BOOL: cJSON_AddBoolToObject(o, f->name, *(const bool *)p); return;
    case KV_ENUM: cJSON_AddStringToObject(o, f->name, enum_name(f->names, *(const int *)p)); return;
    case KV_AUTO_INT:
        if (*(const int *)p < 0) cJSON_AddStringToObject(o, f->name, "auto");
        else cJSON_AddNumberToObject(o, f->name, *(const int *)p);
        return;
    case KV_STRING: cJSON_AddStringToObject(o, f->name, (const char *)p); return;
    }
    /* numbers as printed, not through a double (64-bit integers stay exact) */
    cJSON_AddItemToObject(o, f->name, cJSON_CreateRaw(buf));
}

cJSON *kv_to_json(const kv_table *t, const void *obj) {
    cJSON *o = cJSON_CreateObject();
    for (size_t i = 0; o && i < t->n; i++) add_field(t, &t->fields[i], (const char *)obj + t->fields[i].off, o);
    return o;
}
