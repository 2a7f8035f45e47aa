/* build_args.c - dataset builds with their options set by key, for
 * foreign-function callers (trm.h "bindings": trm_build_args_*). The keys
 * every builder reads are here; each family's own come from its task's
 * build_keys table (task.h), so nothing here names a task. */
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/util.h"
#include "tasks/task.h"

#define BUILD_MAX_STRINGS 16

struct trm_build_args {
    const trm_task *task;
    trm_build_opts o;
    char *strings[BUILD_MAX_STRINGS]; /* the copies o's string fields point to */
    int n_strings;
};

/* "unknown task 'X' (expected a, b or c)": the tasks that have a builder. */
static void *unknown_task(const char *name, trm_err *err) {
    char list[256] = "";
    size_t len = 0;
    const trm_task *const *ts = task_list();
    int n = 0, k = 0;
    for (int i = 0; ts[i]; i++) n += ts[i]->build != NULL;
    for (int i = 0; ts[i] && len < sizeof list; i++) {
        if (!ts[i]->build) continue;
        const char *sep = k == 0 ? "" : k == n - 1 ? " or " : ", ";
        len += (size_t)snprintf(list + len, sizeof list - len, "%s%s", sep, ts[i]->name);
        k++;
    }
    trm_errf(err, "unknown task '%s' (expected %s)", name ? name : "(null)", list);
    return NULL;
}

trm_build_args *trm_build_args_new(const char *task, trm_err *err) {
    const trm_task *t = task ? trm_task_by_name(task) : NULL;
    if (!t || !t->build) return unknown_task(task, err);
    trm_build_args *b = calloc(1, sizeof *b);
    if (!b) return trm_errf(err, "out of memory"), NULL;
    b->task = t;
    trm_build_opts_init(&b->o, t->name);
    return b;
}

void trm_build_args_free(trm_build_args *b) {
    if (!b) return;
    for (int i = 0; i < b->n_strings; i++) free(b->strings[i]);
    free(b);
}

/* core/util.h's strict parsers, in the builders' wording ([lo, hi]). */
static int set_long(const char *key, const char *v, long lo, long hi, long *out, trm_err *err) {
    long long x;
    if (util_parse_ll(key, v, lo, hi, &x, NULL))
        return trm_errf(err, "build option %s: expected an integer in [%ld, %ld], got '%s'", key, lo, hi, v);
    *out = (long)x;
    return 0;
}

static int set_bool(const char *key, const char *v, bool *out, trm_err *err) {
    if (!strcmp(v, "true") || !strcmp(v, "1")) *out = true;
    else if (!strcmp(v, "false") || !strcmp(v, "0")) *out = false;
    else return trm_errf(err, "build option %s: expected true, false, 1 or 0, got '%s'", key, v);
    return 0;
}

/* o's string fields point into b: a copy of v that lives as long as b. */
static int set_str(trm_build_args *b, const char *key, const char *v, const char **out, trm_err *err) {
    if (b->n_strings == BUILD_MAX_STRINGS) return trm_errf(err, "build option %s: too many string options set", key);
    char *s = strdup(v);
    if (!s) return trm_errf(err, "out of memory");
    b->strings[b->n_strings++] = s;
    *out = s;
    return 0;
}

/* The family's own key k (its task's build_keys); 1 when k is none of them. */
static int set_family(trm_build_args *b, const char *k, const char *v, trm_err *err) {
    const build_key *keys = b->task->build_keys;
    for (int i = 0; keys && keys[i].key; i++) {
        if (strcmp(keys[i].key, k)) continue;
        void *field = (char *)&b->o + keys[i].off;
        long x = 0;
        switch (keys[i].kind) {
        case BUILD_KEY_LONG: return set_long(k, v, keys[i].lo, keys[i].hi, field, err);
        case BUILD_KEY_INT:
            if (set_long(k, v, keys[i].lo, keys[i].hi, &x, err)) return -1;
            *(int *)field = (int)x;
            return 0;
        case BUILD_KEY_BOOL: return set_bool(k, v, field, err);
        case BUILD_KEY_STR: return set_str(b, k, v, field, err);
        }
    }
    return 1;
}

int trm_build_args_set(trm_build_args *b, const char *key, const char *value, trm_err *err) {
    if (!b || !key || !value) return trm_errf(err, "trm_build_args_set: no builder, key or value");
    trm_build_opts *o = &b->o;
    if (!strcmp(key, "out")) return set_str(b, key, value, &o->out, err);
    if (!strcmp(key, "input")) return set_str(b, key, value, &o->input, err);
    if (!strcmp(key, "test_input")) return set_str(b, key, value, &o->test_input, err);
    if (!strcmp(key, "train_size")) return set_long(key, value, -1, 1L << 40, &o->train_size, err);
    if (!strcmp(key, "test_size")) {
        if (set_long(key, value, 0, 1L << 40, &o->test_size, err)) return -1;
        o->test_size_set = true;
        return 0;
    }
    if (!strcmp(key, "seed"))
        return util_parse_u64(key, value, &o->seed, NULL)
                   ? trm_errf(err, "build option seed: expected a non-negative integer, got '%s'", value)
                   : 0;
    int r = set_family(b, key, value, err);
    return r <= 0 ? r : trm_errf(err, "build option %s: not an option of the %s builder", key, b->task->name);
}

int trm_build_args_run(trm_build_args *b, trm_build_result *res, trm_err *err) {
    if (!b || !res) return trm_errf(err, "trm_build_args_run: no builder or result");
    return trm_build_dataset(b->task->name, &b->o, res, err);
}
