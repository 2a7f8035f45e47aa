/* keyval.h - the one key=value mechanism of trm's configs. A config is a
 * struct plus a table of its fields (name, type, offset, allowed range or
 * names); the table sets a field from text ("lr=1e-3") or from a JSON
 * value and writes the whole struct as a JSON object. The architecture
 * config (core/config.c) and the training config (train/train.c) are two
 * such tables; each keeps the messages it always gave ("config field ...",
 * "training field ..."). */
#ifndef TRM_CORE_KEYVAL_H
#define TRM_CORE_KEYVAL_H

#include <cjson/cJSON.h>
#include <stdbool.h>
#include <stddef.h>

#include "trm.h"

typedef enum {
    KV_INT,      /* int */
    KV_I64,      /* int64_t */
    KV_U64,      /* uint64_t (seeds) */
    KV_DOUBLE,   /* double */
    KV_FLOAT,    /* float */
    KV_BOOL,     /* bool: true/True/1, false/False/0 */
    KV_ENUM,     /* an int-sized enum named by `names` */
    KV_AUTO_INT, /* int, or "auto" stored as -1 */
    KV_STRING,   /* char[size], checked by `check` */
} kv_type;

/* One name of an enum value; alias names parse but are neither printed
 * nor listed in messages. A table of them ends with {NULL}. */
typedef struct {
    const char *name;
    int value;
    bool alias;
} kv_name;

typedef struct {
    const char *name;
    kv_type type;
    size_t off;
    size_t size;               /* KV_STRING: the buffer's size */
    const kv_name *names;      /* KV_ENUM */
    /* numbers: allowed range, checked when `expect` is set; the message is
     * "expected <expect>, got '<text>'" (without the got part when no_got) */
    double lo, hi;
    bool lo_open, hi_open, no_got;
    const char *expect;
    /* KV_STRING: validates the text (its message names the field); may be NULL */
    int (*check)(const char *value, trm_err *err);
} kv_field;

/* How a table reads numbers given as text: the arch config takes signed
 * integers (strtol) and any finite number; the training config takes
 * non-negative numbers, integers written any way strtod reads (1e3). */
typedef enum { KV_SIGNED, KV_NONNEG } kv_numbers;

typedef struct {
    const char *what;          /* message prefix: "config field", "training field" */
    const kv_field *fields;
    size_t n;
    kv_numbers numbers;
    bool shortest_floats;      /* JSON floats: shortest text that reads back, else %.9g */
} kv_table;

/* Table entries: KV_F(struct, field, type) names the field by its member
 * name; KV_FN(struct, "name", member, type) by another. */
#define KV_F(S, m, t) {.name = #m, .type = t, .off = offsetof(S, m)}
#define KV_FN(S, n, m, t) {.name = n, .type = t, .off = offsetof(S, m)}

const kv_field *kv_find(const kv_table *t, const char *key);
/* Sets field `key` of obj from text: 0, 1 when the table has no such key
 * (so a caller can try another table), -1 with the message on a bad
 * value (obj unchanged). */
int kv_set(const kv_table *t, void *obj, const char *key, const char *value, trm_err *err);
/* Sets field f from a JSON value of its type (a checkpoint's metadata):
 * 0, or -1 with "<what> <name>: expected ...". */
int kv_set_json(const kv_table *t, void *obj, const kv_field *f, const cJSON *item, trm_err *err);
/* Every field as a JSON object, in table order (NULL when out of memory). */
cJSON *kv_to_json(const kv_table *t, const void *obj);
/* "a, b, c" of the table's field names into buf. */
void kv_list_names(const kv_table *t, char *buf, size_t n);

#endif
