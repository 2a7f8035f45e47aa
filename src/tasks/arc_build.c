/* arc_build.c - the ARC-AGI dataset builder (task "arc", trm data arc):
 * task files -> a dataset in the reference's format, by the procedure of
 * its build_arc_dataset.py (spec 4.4), draw for draw.
 *
 * The reference's randomness is NumPy's legacy global RNG seeded once;
 * core/nprand reproduces the calls it makes, in the same order:
 *   1. per subset: shuffle the task list; per task: up to 5 x num_aug
 *      trials of randint(0, 8) (dihedral) + permutation(1..9) (colours),
 *      keeping the versions whose task hash is new;
 *   2. train split, per version: randint(0, examples) picks the example
 *      kept at (0, 0), every other one gets randint offsets (translation);
 *   3. test split, per version: the same randint (its result unused).
 * So the same inputs and seed give the reference's bytes.
 *
 * Everything is read and checked before anything is written; the splits
 * are streamed to disk (the ARC-1 train split is 6.5 GB). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/nprand.h"
#include "data/dataset.h"
#include "io/fileio.h" /* io_write_atomic */
#include "tasks/arc.h"
#include "tasks/build.h"

#define ARC_RETRIES 5        /* trials per wanted augmentation (ARCAugmentRetriesFactor) */
#define MAX_SUBSETS 16
typedef struct {
    char name[128];
    const char *dir; /* NULL: Kaggle files under the prefix */
    arc_set set;
} subset;

/* One original task and its accepted versions (version 0 = original). */
typedef struct {
    const arc_task *task;
    bool is_test;        /* its test pairs go to the test split */
    int n_ver;
    uint8_t *t;          /* [n_ver] dihedral ids */
    uint8_t (*perm)[10]; /* [n_ver] colour maps */
    int32_t *ident;      /* [n_ver] puzzle identifiers */
} group;

typedef struct {
    subset sub[MAX_SUBSETS];
    int n_sub;
    group *groups; /* in processing order (subset order, shuffled tasks) */
    int n_groups, n_short;
    char **names;  /* identifier -> name; names[0] = "<blank>" */
    int n_names;
} build;

/* ---------------------------------------------------------------- loading */

/* "a,b=DIR,c" into b->sub. */
static int split_subsets(const trm_build_opts *o, char *list, build *b, trm_err *err) {
    for (char *save = NULL, *item = strtok_r(list, ",", &save); item; item = strtok_r(NULL, ",", &save)) {
        if (b->n_sub == MAX_SUBSETS) return trm_errf(err, "--subsets: more than %d subsets", MAX_SUBSETS);
        subset *s = &b->sub[b->n_sub];
        char *eq = strchr(item, '=');
        if (eq) *eq = 0, s->dir = eq + 1;
        if (!*item || strlen(item) >= sizeof s->name || (eq && !*s->dir))
            return trm_errf(err, "--subsets: bad item '%s' (expected NAME or NAME=DIR)", item);
        snprintf(s->name, sizeof s->name, "%s", item);
        if (!s->dir && !o->arc.input_prefix)
            return trm_errf(err, "subset '%s': give --input-prefix for Kaggle files, or NAME=DIR for a folder", item);
        b->n_sub++;
    }
    if (b->n_sub == 0) return trm_errf(err, "--subsets: no subsets");
    /* a test set outside --subsets would silently build no test split */
    const char *want[2] = {o->arc.test_set, o->arc.test_set2};
    for (int k = 0; k < 2; k++) {
        bool found = !want[k];
        for (int i = 0; i < b->n_sub && !found; i++) found = !strcmp(b->sub[i].name, want[k]);
        if (!found)
            return trm_errf(err, "--test-set%s %s: not one of --subsets (%s)", k ? "2" : "", want[k], o->arc.subsets);
    }
    return 0;
}

static int load_subset(const trm_build_opts *o, subset *s, trm_err *err) {
    int rc;
    if (s->dir) {
        rc = arc_load_dir(s->dir, o->arc.skip_bad, &s->set, err);
    } else {
        char ch[4096], so[4096];
        snprintf(ch, sizeof ch, "%s_%s_challenges.json", o->arc.input_prefix, s->name);
        snprintf(so, sizeof so, "%s_%s_solutions.json", o->arc.input_prefix, s->name);
        bool have_sol = access(so, F_OK) == 0;
        rc = arc_load_kaggle(ch, have_sol ? so : NULL, o->arc.skip_bad, &s->set, err);
        if (!rc && !have_sol) /* as the reference: not an error */
            build_note(o, "%s: no solutions file, test outputs are the dummy [[0]]", so);
    }
    if (rc) return -1;
    for (int i = 0; i < s->set.n_skipped; i++) build_note(o, "skipped: %s", s->set.skipped[i]);
    for (int i = 0; i < s->set.n; i++)
        for (int j = 0; j < i; j++)
            if (!strcmp(s->set.tasks[i].id, s->set.tasks[j].id))
                return trm_errf(err, "%s: task %s appears twice in subset '%s' (also in %s)", s->set.tasks[i].file,
                           s->set.tasks[i].id, s->name, s->set.tasks[j].file);
    if (s->set.n == 0) return trm_errf(err, "subset '%s': no tasks", s->name);
    return 0;
}

/* ---------------------------------------------------------------- augmentation */

/* Digests seen for one task: open addressing on their first bytes. */
typedef struct {
    uint8_t (*slot)[32];
    bool *used;
    size_t mask;
} digest_set;

static int dset_init(digest_set *d, long want) {
    size_t cap = 16;
    while (cap < 2 * (size_t)want + 2) cap *= 2;
    d->slot = malloc(32 * cap);
    d->used = calloc(cap, 1);
    d->mask = cap - 1;
    return d->slot && d->used ? 0 : -1;
}

static void dset_free(digest_set *d) {
    free(d->slot);
    free(d->used);
}

/* Inserts; false when already there. */
static bool dset_add(digest_set *d, const uint8_t digest[32]) {
    uint64_t h;
    memcpy(&h, digest, 8);
    for (size_t i = h & d->mask;; i = (i + 1) & d->mask) {
        if (!d->used[i]) {
            d->used[i] = true;
            memcpy(d->slot[i], digest, 32);
            return true;
        }
        if (!memcmp(d->slot[i], digest, 32)) return false;
    }
}

static void hex_to_digest(const char hex[65], uint8_t d[32]) {
    for (int i = 0; i < 32; i++) {
        int hi = hex[2 * i] <= '9' ? hex[2 * i] - '0' : hex[2 * i] - 'a' + 10;
        int lo = hex[2 * i + 1] <= '9' ? hex[2 * i + 1] - '0' : hex[2 * i + 1] - 'a' + 10;
        d[i] = (uint8_t)(hi << 4 | lo);
    }
}

/* The task hash of a version: all pairs of both splits (the reference
 * hashes every destination's examples; the sort makes order moot). */
static int version_digest(const arc_task *t, int dih, const uint8_t perm[10], arc_pair *scratch,
                          const arc_pair **ptr, uint8_t d[32]) {
    int n = 0;
    for (int k = 0; k < t->n_train; k++, n++) {
        arc_aug_apply(&t->train[k].in, dih, perm, &scratch[n].in);
        arc_aug_apply(&t->train[k].out, dih, perm, &scratch[n].out);
        ptr[n] = &scratch[n];
    }
    for (int k = 0; k < t->n_test; k++, n++) {
        arc_aug_apply(&t->test[k].in, dih, perm, &scratch[n].in);
        arc_aug_apply(&t->test[k].out, dih, perm, &scratch[n].out);
        ptr[n] = &scratch[n];
    }
    char hex[65];
    if (arc_pairs_hash_hex(ptr, n, hex)) return -1;
    hex_to_digest(hex, d);
    return 0;
}

/* Version 0 plus up to num_aug new ones out of 5 x num_aug trials. */
static int augment(group *g, long num_aug, np_rng *r) {
    const arc_task *t = g->task;
    int n_pairs = t->n_train + t->n_test;
    arc_pair *scratch = malloc(sizeof *scratch * n_pairs);
    const arc_pair **ptr = malloc(sizeof *ptr * n_pairs);
    digest_set seen = {0};
    g->t = calloc((size_t)num_aug + 1, 1);
    g->perm = calloc((size_t)num_aug + 1, 10);
    int rc = -1;
    if (!scratch || !ptr || !g->t || !g->perm || dset_init(&seen, num_aug + 1)) goto done;
    static const uint8_t id[10] = {0, 1, 2, 3, 4, 5, 6, 7, 8, 9};
    memcpy(g->perm[0], id, 10);
    g->n_ver = 1;
    uint8_t d[32];
    if (num_aug > 0) {
        if (version_digest(t, 0, id, scratch, ptr, d)) goto done;
        dset_add(&seen, d);
    }
    for (long trial = 0; num_aug > 0 && trial < ARC_RETRIES * num_aug; trial++) {
        int dih = (int)np_randint(r, 0, 8);
        uint8_t perm[10] = {0, 1, 2, 3, 4, 5, 6, 7, 8, 9};
        np_shuffle(r, perm + 1, 9, 1);
        if (version_digest(t, dih, perm, scratch, ptr, d)) goto done;
        if (dset_add(&seen, d)) {
            g->t[g->n_ver] = (uint8_t)dih;
            memcpy(g->perm[g->n_ver], perm, 10);
            g->n_ver++;
        }
        if (g->n_ver >= num_aug + 1) break;
    }
    rc = 0;
done:
    free(scratch);
    free(ptr);
    dset_free(&seen);
    return rc;
}

static bool is_test_subset(const trm_build_opts *o, const char *name) {
    return !strcmp(name, o->arc.test_set) || (o->arc.test_set2 && !strcmp(name, o->arc.test_set2));
}

/* Step 1: per subset, shuffle, then augment each task in the new order. */
static int plan_groups(const trm_build_opts *o, build *b, np_rng *r, trm_err *err) {
    int total = 0;
    for (int s = 0; s < b->n_sub; s++) total += b->sub[s].set.n;
    b->groups = calloc((size_t)total, sizeof *b->groups);
    if (!b->groups) return trm_errf(err, "out of memory");
    double t0 = build_now_s();
    for (int s = 0; s < b->n_sub; s++) {
        arc_set *set = &b->sub[s].set;
        int *order = malloc(sizeof *order * set->n);
        if (!order) return trm_errf(err, "out of memory");
        for (int i = 0; i < set->n; i++) order[i] = i;
        np_shuffle(r, order, (size_t)set->n, sizeof *order);
        for (int i = 0; i < set->n; i++) {
            group *g = &b->groups[b->n_groups++];
            g->task = &set->tasks[order[i]];
            g->is_test = is_test_subset(o, b->sub[s].name);
            if (augment(g, o->arc.num_aug, r)) {
                free(order);
                return trm_errf(err, "out of memory");
            }
            b->n_short += g->n_ver < o->arc.num_aug + 1;
            build_progress(o, i + 1, set->n, "augmenting %s: %d/%d tasks (%.0f s)", b->sub[s].name, i + 1, set->n,
                           build_now_s() - t0);
        }
        free(order);
    }
    return 0;
}

/* ---------------------------------------------------------------- identifiers */

typedef struct {
    int32_t *slot; /* identifier, 0 = empty */
    size_t mask;
} name_map;

static uint64_t str_hash(const char *s) {
    uint64_t h = 1469598103934665603ull; /* FNV-1a */
    for (; *s; s++) h = (h ^ (uint8_t)*s) * 1099511628211ull;
    return h;
}

/* The identifier of name, assigning the next one to a new name (first
 * appearance order, as the reference's identifier_map). */
static int32_t name_id(build *b, name_map *m, const char *name) {
    size_t i = str_hash(name) & m->mask;
    for (; m->slot[i]; i = (i + 1) & m->mask)
        if (!strcmp(b->names[m->slot[i]], name)) return m->slot[i];
    char *copy = strdup(name);
    if (!copy) return -1;
    b->names[b->n_names] = copy;
    m->slot[i] = b->n_names;
    return b->n_names++;
}

/* Step 2 (no randomness): identifiers over the train split's versions,
 * then the test split's (the same names). */
static int assign_ids(build *b, trm_err *err) {
    size_t n = 1, cap = 16;
    for (int g = 0; g < b->n_groups; g++) n += (size_t)b->groups[g].n_ver;
    while (cap < 2 * n) cap *= 2;
    name_map m = {calloc(cap, sizeof(int32_t)), cap - 1};
    b->names = calloc(n, sizeof *b->names);
    if (!m.slot || !b->names || !(b->names[0] = strdup("<blank>"))) {
        free(m.slot);
        return trm_errf(err, "out of memory");
    }
    b->n_names = 1;
    int rc = 0;
    for (int k = 0; k < b->n_groups && rc == 0; k++) {
        group *g = &b->groups[k];
        if (!(g->ident = malloc(sizeof *g->ident * g->n_ver))) rc = trm_errf(err, "out of memory");
        for (int v = 0; v < g->n_ver && rc == 0; v++) {
            char name[512];
            if (v == 0) snprintf(name, sizeof name, "%s", g->task->id);
            else if (arc_version_name(g->task->id, g->t[v], g->perm[v], name, sizeof name) < 0)
                rc = trm_errf(err, "task %s: id too long", g->task->id);
            if (rc == 0 && (g->ident[v] = name_id(b, &m, name)) < 0) rc = trm_errf(err, "out of memory");
        }
    }
    free(m.slot);
    return rc;
}

/* ---------------------------------------------------------------- splits */

/* The examples of version v of group g in a split: the test split gets the
 * test pairs; the train split the demonstrations, plus (outside the test
 * set) the test pairs, in the source object's key order. */
static int split_pairs(const group *g, bool test_split, const arc_pair **out) {
    const arc_task *t = g->task;
    int n = 0;
    if (test_split) {
        for (int k = 0; k < t->n_test; k++) out[n++] = &t->test[k];
        return n;
    }
    bool with_test = !g->is_test;
    if (with_test && t->test_first)
        for (int k = 0; k < t->n_test; k++) out[n++] = &t->test[k];
    for (int k = 0; k < t->n_train; k++) out[n++] = &t->train[k];
    if (with_test && !t->test_first)
        for (int k = 0; k < t->n_test; k++) out[n++] = &t->test[k];
    return n;
}

typedef struct {
    int64_t groups, puzzles, examples;
} split_counts;

static int max_i(int a, int b) { return a > b ? a : b; }

/* One version's examples: the kept example at (0, 0), the others at random
 * offsets when translating. */
static int write_version(trm_split_writer *w, const group *g, int v, bool translate, const arc_pair **pairs,
                         np_rng *r, split_counts *cnt, trm_err *e) {
    int n = split_pairs(g, !translate, pairs);
    int keep = (int)np_randint(r, 0, n);
    if (split_writer_puzzle(w, g->ident[v], e)) return -1;
    for (int k = 0; k < n; k++) {
        arc_grid in, out;
        int32_t ti[ARC_SEQ_LEN], to[ARC_SEQ_LEN];
        arc_aug_apply(&pairs[k]->in, g->t[v], g->perm[v], &in);
        arc_aug_apply(&pairs[k]->out, g->t[v], g->perm[v], &out);
        int r0 = 0, c0 = 0;
        if (translate && k != keep) {
            r0 = (int)np_randint(r, 0, ARC_MAX - max_i(in.rows, out.rows) + 1);
            c0 = (int)np_randint(r, 0, ARC_MAX - max_i(in.cols, out.cols) + 1);
        }
        arc_encode(&in, r0, c0, ti);
        arc_encode(&out, r0, c0, to);
        if (split_writer_example(w, ti, to, e)) return -1;
        cnt->examples++;
    }
    return 0;
}

static int write_split(const trm_build_opts *o, build *b, bool test_split, np_rng *r, split_counts *cnt,
                       trm_err *err) {
    const char *name = test_split ? "test" : "train", *out = o->out;
    trm_split_writer *w = split_writer_open(out, name, ARC_SEQ_LEN, ARC_VOCAB, err);
    if (!w) return -1;
    split_writer_count_puzzles(w, true);
    memset(cnt, 0, sizeof *cnt);
    int most = 1;
    for (int k = 0; k < b->n_groups; k++) most = max_i(most, b->groups[k].task->n_train + b->groups[k].task->n_test);
    const arc_pair **pairs = malloc(sizeof *pairs * most);
    if (!pairs) {
        split_writer_free(w);
        return trm_errf(err, "out of memory");
    }
    double t0 = build_now_s();
    for (int k = 0; k < b->n_groups; k++) {
        const group *g = &b->groups[k];
        if (test_split && !g->is_test) continue;
        if (split_writer_group(w, err)) goto fail;
        for (int v = 0; v < g->n_ver; v++, cnt->puzzles++)
            if (write_version(w, g, v, !test_split, pairs, r, cnt, err)) goto fail;
        cnt->groups++;
        build_progress(o, k + 1, b->n_groups, "writing %s: %d/%d groups (%.0f s)", name, k + 1, b->n_groups,
                       build_now_s() - t0);
    }
    if (split_writer_finish(w, out, name, b->n_names, err)) goto fail;
    split_writer_free(w);
    free(pairs);
    return 0;
fail:
    split_writer_free(w);
    free(pairs);
    return -1;
}

/* ---------------------------------------------------------------- JSON files */

/* A growing text buffer. */
typedef struct {
    char *p;
    size_t len, cap;
    bool oom;
} text;

static void put(text *t, const char *s, size_t n) {
    if (t->oom) return;
    if (t->len + n + 1 > t->cap) {
        size_t cap = t->cap ? t->cap : 1 << 16;
        while (cap < t->len + n + 1) cap *= 2;
        char *p = realloc(t->p, cap);
        if (!p) {
            t->oom = true;
            return;
        }
        t->p = p, t->cap = cap;
    }
    memcpy(t->p + t->len, s, n);
    t->len += n;
    t->p[t->len] = 0;
}

static void puts_(text *t, const char *s) { put(t, s, strlen(s)); }

/* A JSON string as Python's json.dump writes it (ensure_ascii: non-ASCII
 * as \uXXXX, astral characters as surrogate pairs). */
static void put_string(text *t, const char *s) {
    puts_(t, "\"");
    for (const unsigned char *p = (const unsigned char *)s; *p;) {
        char buf[16];
        unsigned c = *p++;
        if (c >= 0x80) { /* decode UTF-8 (cJSON and file names give valid UTF-8) */
            int extra = c >= 0xf0 ? 3 : c >= 0xe0 ? 2 : 1;
            c &= 0x3f >> extra;
            for (int i = 0; i < extra && (*p & 0xc0) == 0x80; i++) c = c << 6 | (*p++ & 0x3f);
        }
        if (c == '"' || c == '\\') snprintf(buf, sizeof buf, "\\%c", c);
        else if (c == '\n') snprintf(buf, sizeof buf, "\\n");
        else if (c == '\r') snprintf(buf, sizeof buf, "\\r");
        else if (c == '\t') snprintf(buf, sizeof buf, "\\t");
        else if (c == '\b') snprintf(buf, sizeof buf, "\\b");
        else if (c == '\f') snprintf(buf, sizeof buf, "\\f");
        else if (c < 0x20 || (c >= 0x7f && c < 0x10000 && c != 0x7f)) snprintf(buf, sizeof buf, "\\u%04x", c);
        else if (c >= 0x10000)
            snprintf(buf, sizeof buf, "\\u%04x\\u%04x", 0xd800 + ((c - 0x10000) >> 10), 0xdc00 + ((c - 0x10000) & 0x3ff));
        else buf[0] = (char)c, buf[1] = 0;
        puts_(t, buf);
    }
    puts_(t, "\"");
}

static void put_grid(text *t, const arc_grid *g) {
    puts_(t, "[");
    for (int r = 0; r < g->rows; r++) {
        puts_(t, r ? ", [" : "[");
        for (int c = 0; c < g->cols; c++) {
            char d[4] = {',', ' ', (char)('0' + ARC_AT(g, r, c)), 0};
            puts_(t, c ? d : d + 2);
        }
        puts_(t, "]");
    }
    puts_(t, "]");
}

static void put_pairs(text *t, const arc_pair *p, int n) {
    puts_(t, "[");
    for (int k = 0; k < n; k++) {
        puts_(t, k ? ", {\"input\": " : "{\"input\": ");
        put_grid(t, &p[k].in);
        puts_(t, ", \"output\": ");
        put_grid(t, &p[k].out);
        puts_(t, "}");
    }
    puts_(t, "]");
}

static int write_text(const char *dir, const char *file, text *t, trm_err *err) {
    char path[BUILD_PATH];
    if (t->oom) {
        free(t->p);
        memset(t, 0, sizeof *t);
        return trm_errf(err, "%s/%s: out of memory", dir, file);
    }
    snprintf(path, sizeof path, "%s/%s", dir, file);
    const void *bufs[1] = {t->p};
    size_t lens[1] = {t->len};
    int rc = io_write_atomic(path, bufs, lens, 1, err);
    free(t->p);
    memset(t, 0, sizeof *t);
    return rc ? -1 : 0;
}

/* identifiers.json: ["<blank>", name1, ...] as json.dump writes it. */
static int write_identifiers(const build *b, const char *out, trm_err *err) {
    text t = {0};
    puts_(&t, "[");
    for (int i = 0; i < b->n_names; i++) {
        if (i) puts_(&t, ", ");
        put_string(&t, b->names[i]);
    }
    puts_(&t, "]");
    return write_text(out, "identifiers.json", &t, err);
}

/* test_puzzles.json: {id: task} for the test set's tasks in processing
 * order, each with its test outputs, keys in the source's order. */
static int write_test_puzzles(const build *b, const char *out, trm_err *err) {
    text t = {0};
    int n = 0;
    puts_(&t, "{");
    for (int k = 0; k < b->n_groups; k++) {
        const arc_task *task = b->groups[k].task;
        if (!b->groups[k].is_test) continue;
        if (n++) puts_(&t, ", ");
        put_string(&t, task->id);
        puts_(&t, task->test_first ? ": {\"test\": " : ": {\"train\": ");
        put_pairs(&t, task->test_first ? task->test : task->train, task->test_first ? task->n_test : task->n_train);
        puts_(&t, task->test_first ? ", \"train\": " : ", \"test\": ");
        put_pairs(&t, task->test_first ? task->train : task->test, task->test_first ? task->n_train : task->n_test);
        puts_(&t, "}");
    }
    puts_(&t, "}");
    return write_text(out, "test_puzzles.json", &t, err);
}

/* ---------------------------------------------------------------- run */

static void build_free(build *b) {
    for (int k = 0; k < b->n_groups; k++) {
        free(b->groups[k].t);
        free(b->groups[k].perm);
        free(b->groups[k].ident);
    }
    free(b->groups);
    for (int i = 0; i < b->n_names; i++) free(b->names[i]);
    free(b->names);
    for (int s = 0; s < b->n_sub; s++) arc_set_free(&b->sub[s].set);
}

/* The note of what was built, and the counts. */
static void report(const build *b, const trm_build_opts *o, const split_counts *tr, const split_counts *te, double secs,
                   trm_build_result *res) {
    build_note(o, "%d tasks, %d identifiers; %d of %d groups short of %ld versions; %.1f s", b->n_groups, b->n_names,
               b->n_short, b->n_groups, o->arc.num_aug + 1, secs);
    *res = (trm_build_result){.train_groups = tr->groups, .train_puzzles = tr->puzzles,
                              .train_examples = tr->examples, .test_groups = te->groups,
                              .test_puzzles = te->puzzles, .test_examples = te->examples,
                              .identifiers = b->n_names, .short_groups = b->n_short};
}

int arc_build_dataset(const trm_build_opts *o, trm_build_result *res, trm_err *err) {
    if (build_check_range("num_aug", o->arc.num_aug, 0, 100000, err)) return -1;
    if (o->seed > 0xffffffffull) /* NumPy seeds are 32-bit */
        return trm_errf(err, "seed %llu: expected 0..4294967295", (unsigned long long)o->seed);
    if (!o->arc.test_set) return trm_errf(err, "no test set given");
    build b = {0};
    split_counts tr = {0}, te = {0};
    bool created = false;
    int rc = -1, n_test = 0;
    double t0 = build_now_s();
    char *list = strdup(o->arc.subsets ? o->arc.subsets : "");
    if (!list) return trm_errf(err, "out of memory");
    if (split_subsets(o, list, &b, err)) goto done;
    for (int s = 0; s < b.n_sub; s++)
        if (load_subset(o, &b.sub[s], err)) goto done;
    np_rng r;
    np_seed(&r, (uint32_t)o->seed);
    if (plan_groups(o, &b, &r, err) || assign_ids(&b, err)) goto done;
    for (int k = 0; k < b.n_groups; k++) n_test += b.groups[k].is_test;
    if (build_make_dir(o->out, &created, err) || write_split(o, &b, false, &r, &tr, err) ||
        (n_test && write_split(o, &b, true, &r, &te, err)) || write_identifiers(&b, o->out, err) ||
        write_test_puzzles(&b, o->out, err))
        goto done;
    report(&b, o, &tr, &te, build_now_s() - t0, res);
    rc = 0;
done:
    if (rc && created) build_remove_tree(o->out);
    build_free(&b);
    free(list);
    return rc;
}

void arc_build_defaults(trm_build_opts *o) {
    o->seed = 42;
    o->arc.subsets = "training,evaluation,concept", o->arc.test_set = "evaluation", o->arc.num_aug = 1000;
}
