/* arc_eval.c - the ARC evaluator of spec 5.2 (see arc_eval.h).
 *
 * Rows are aggregated as they arrive, so memory grows with the distinct
 * candidates, not with the rows: each distinct grid is stored once (by
 * its hash), and each (test input, grid) pair keeps a vote count, the sum
 * of its confidences (summed in arrival order, as the reference does) and
 * the sequence number of its first vote (the reference's stable-sort
 * tie-break). */
#include <cjson/cJSON.h>
#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "eval/arc_eval.h"
#include "io/fileio.h" /* io_write_atomic, util_fopen_regular */
#include "io/jsonout.h" /* json_nul_escape_at */

const int arc_eval_ks[ARC_EVAL_NK] = {1, 2, 5, 10, 100, 1000};

/* ------------------------------------------------------------ hash map */

/* Open addressing from a 64-bit hash to an element index; equality is
 * decided by the caller's callback, so keys live in the elements. */
typedef struct {
    uint64_t *h;
    int *idx;      /* -1 = empty */
    size_t cap, n;
} imap;

typedef bool (*imap_eq)(const void *ctx, int idx);

static void imap_free(imap *m) { free(m->h); free(m->idx); memset(m, 0, sizeof *m); }

static int imap_find(const imap *m, uint64_t h, imap_eq eq, const void *ctx) {
    if (!m->cap) return -1;
    for (size_t p = h & (m->cap - 1);; p = (p + 1) & (m->cap - 1)) {
        if (m->idx[p] < 0) return -1;
        if (m->h[p] == h && eq(ctx, m->idx[p])) return m->idx[p];
    }
}

static void imap_put_raw(imap *m, uint64_t h, int idx) {
    size_t p = h & (m->cap - 1);
    while (m->idx[p] >= 0) p = (p + 1) & (m->cap - 1);
    m->h[p] = h;
    m->idx[p] = idx;
    m->n++;
}

/* Inserts a key known to be absent; grows at half load. */
static int imap_put(imap *m, uint64_t h, int idx) {
    if (2 * (m->n + 1) > m->cap) {
        imap old = *m;
        size_t cap = old.cap ? 2 * old.cap : 64;
        m->h = malloc(cap * sizeof *m->h);
        m->idx = malloc(cap * sizeof *m->idx);
        if (!m->h || !m->idx) { free(m->h); free(m->idx); *m = old; return -1; }
        m->cap = cap;
        m->n = 0;
        for (size_t i = 0; i < cap; i++) m->idx[i] = -1;
        for (size_t i = 0; i < old.cap; i++)
            if (old.idx[i] >= 0) imap_put_raw(m, old.h[i], old.idx[i]);
        imap_free(&old);
    }
    imap_put_raw(m, h, idx);
    return 0;
}

static uint64_t mix64(uint64_t x) {
    x ^= x >> 33; x *= 0xff51afd7ed558ccdULL;
    x ^= x >> 33; x *= 0xc4ceb9fe1a85ec53ULL;
    return x ^ (x >> 33);
}

static uint64_t digest64(const uint8_t d[32]) {
    uint64_t x;
    memcpy(&x, d, 8);
    return x;
}

static uint64_t str_hash(const char *s) {
    uint64_t h = 1469598103934665603ULL;
    for (; *s; s++) h = (h ^ (uint8_t)*s) * 1099511628211ULL;
    return h;
}

/* ------------------------------------------------------------ state */

typedef struct {
    uint8_t digest[32];
    int rows, cols;
    size_t off;        /* cells in e->pool */
} stored_grid;

typedef struct {
    int slot, grid, votes;
    double conf_sum;
    int64_t first;     /* sequence number of the first vote */
} cand;

typedef struct {
    int task, test;
    int canon;         /* the first slot with the same task and input */
    uint8_t digest[32];
} slot_info;

struct arc_eval {
    arc_names names;
    arc_set tests;
    slot_info *slots;
    int n_slots;
    imap slot_map;
    stored_grid *grids;
    int n_grids, cap_grids;
    uint8_t *pool;
    size_t pool_len, pool_cap;
    imap grid_map;
    cand *cands;
    int n_cands, cap_cands;
    imap cand_map;
    int64_t rows, unmatched, seq;
    bool oom;          /* an allocation failed while recording */
};

/* ------------------------------------------------------------ names */

void arc_names_free(arc_names *n) {
    if (!n) return;
    free(n->names);
    free(n->pool);
    memset(n, 0, sizeof *n);
}

static char *read_text(const char *path, size_t *len, trm_err *err) {
    FILE *f = util_fopen_regular(path, err);
    if (!f) return NULL;
    size_t cap = 1 << 16, n = 0;
    char *buf = malloc(cap);
    size_t k;
    while (buf && (k = fread(buf + n, 1, cap - n - 1, f)) > 0) {
        n += k;
        if (n + 1 == cap) {
            char *nb = realloc(buf, cap *= 2);
            if (!nb) { free(buf); buf = NULL; }
            buf = nb;
        }
    }
    fclose(f);
    if (!buf) { trm_errf(err, "%s: out of memory", path); return NULL; }
    buf[n] = 0;
    *len = n;
    return buf;
}

/* Copies the strings of a parsed JSON array into one pool. */
static int names_from_json(const cJSON *arr, const char *path, arc_names *out, trm_err *err) {
    int n = cJSON_GetArraySize(arr);
    size_t total = 0;
    const cJSON *it;
    int i = 0;
    cJSON_ArrayForEach(it, arr) {
        if (!cJSON_IsString(it))
            return trm_errf(err, "%s: entry %d is not a string", path, i);
        total += strlen(it->valuestring) + 1;
        i++;
    }
    out->names = malloc(sizeof(char *) * (size_t)(n ? n : 1));
    out->pool = malloc(total ? total : 1);
    if (!out->names || !out->pool) { arc_names_free(out); return trm_errf(err, "%s: out of memory", path); }
    size_t off = 0;
    i = 0;
    cJSON_ArrayForEach(it, arr) {
        size_t l = strlen(it->valuestring) + 1;
        memcpy(out->pool + off, it->valuestring, l);
        out->names[i++] = out->pool + off;
        off += l;
    }
    out->n = n;
    return 0;
}

int arc_names_read(const char *dir, arc_names *out, trm_err *err) {
    memset(out, 0, sizeof *out);
    char path[4096];
    snprintf(path, sizeof path, "%s/identifiers.json", dir);
    size_t len;
    char *text = read_text(path, &len, err);
    if (!text) return -1;
    /* a NUL would cut a name short: two versions could then share one */
    size_t nul = json_nul_escape_at(text, len);
    cJSON *arr = nul < len ? NULL : cJSON_ParseWithLength(text, len);
    free(text);
    int rc;
    if (nul < len) rc = trm_errf(err, "%s: byte %zu: a name holds a NUL character (\\u0000)", path, nul);
    else if (!arr || !cJSON_IsArray(arr)) rc = trm_errf(err, "%s: expected a JSON array of identifier names", path);
    else rc = names_from_json(arr, path, out, err);
    cJSON_Delete(arr);
    return rc;
}

/* ------------------------------------------------------------ slots */

typedef struct {
    const arc_eval *e;
    const char *task_id;
    const uint8_t *digest;
} slot_key;

static bool slot_eq(const void *ctx, int idx) {
    const slot_key *k = ctx;
    const slot_info *s = &k->e->slots[idx];
    return !memcmp(s->digest, k->digest, 32) && !strcmp(k->e->tests.tasks[s->task].id, k->task_id);
}

static uint64_t slot_hash(const char *task_id, const uint8_t digest[32]) {
    return mix64(str_hash(task_id) ^ digest64(digest));
}

static int find_slot(const arc_eval *e, const char *task_id, const uint8_t digest[32]) {
    slot_key k = {e, task_id, digest};
    return imap_find(&e->slot_map, slot_hash(task_id, digest), slot_eq, &k);
}

/* One slot per test input; duplicate inputs of a task share the first
 * one's candidates, as the reference keys them by (task, input hash). */
static int build_slots(arc_eval *e, trm_err *err) {
    int n = 0;
    for (int i = 0; i < e->tests.n; i++) n += e->tests.tasks[i].n_test;
    e->slots = calloc((size_t)(n ? n : 1), sizeof *e->slots);
    if (!e->slots) return trm_errf(err, "out of memory");
    for (int i = 0; i < e->tests.n; i++) {
        const arc_task *t = &e->tests.tasks[i];
        for (int j = 0; j < t->n_test; j++) {
            slot_info *s = &e->slots[e->n_slots];
            s->task = i;
            s->test = j;
            arc_grid_hash(&t->test[j].in, s->digest);
            int prev = find_slot(e, t->id, s->digest);
            s->canon = prev >= 0 ? prev : e->n_slots;
            if (prev < 0 && imap_put(&e->slot_map, slot_hash(t->id, s->digest), e->n_slots))
                return trm_errf(err, "out of memory");
            e->n_slots++;
        }
    }
    return 0;
}

static int slot_of(const arc_eval *e, int task, int test) {
    int s = 0;
    for (int i = 0; i < task; i++) s += e->tests.tasks[i].n_test;
    return e->slots[s + test].canon;
}

/* ------------------------------------------------------------ lifecycle */

arc_eval *arc_eval_new(arc_names *names, arc_set *tests, trm_err *err) {
    arc_eval *e = calloc(1, sizeof *e);
    if (!e) { trm_errf(err, "out of memory"); return NULL; }
    e->names = *names;
    e->tests = *tests;
    memset(names, 0, sizeof *names);
    memset(tests, 0, sizeof *tests);
    if (build_slots(e, err)) { arc_eval_free(e); return NULL; }
    return e;
}

arc_eval *arc_eval_open(const char *dir, trm_err *err) {
    arc_names names;
    if (arc_names_read(dir, &names, err)) return NULL;
    char path[4096];
    snprintf(path, sizeof path, "%s/test_puzzles.json", dir);
    arc_set tests = {0};
    if (arc_load_kaggle(path, NULL, false, &tests, err)) {
        arc_names_free(&names);
        arc_set_free(&tests);
        return NULL;
    }
    if (tests.n == 0) {
        trm_errf(err, "%s: no tasks", path);
        arc_names_free(&names);
        arc_set_free(&tests);
        return NULL;
    }
    return arc_eval_new(&names, &tests, err);
}

void arc_eval_free(arc_eval *e) {
    if (!e) return;
    arc_names_free(&e->names);
    arc_set_free(&e->tests);
    free(e->slots);
    free(e->grids);
    free(e->pool);
    free(e->cands);
    imap_free(&e->slot_map);
    imap_free(&e->grid_map);
    imap_free(&e->cand_map);
    free(e);
}

const arc_set *arc_eval_tests(const arc_eval *e) { return &e->tests; }

/* ------------------------------------------------------------ recording */

typedef struct {
    const arc_eval *e;
    const uint8_t *digest;
} grid_key;

static bool grid_eq(const void *ctx, int idx) {
    const grid_key *k = ctx;
    return !memcmp(k->e->grids[idx].digest, k->digest, 32);
}

static bool grow(void **p, int *cap, int need, size_t elem) {
    if (need <= *cap) return true;
    int nc = *cap ? 2 * *cap : 256;
    void *np = realloc(*p, (size_t)nc * elem);
    if (!np) return false;
    *p = np;
    *cap = nc;
    return true;
}

/* The index of grid g in the store, adding it if new; -1 on OOM. */
static int store_grid(arc_eval *e, const arc_grid *g) {
    uint8_t d[32];
    arc_grid_hash(g, d);
    grid_key k = {e, d};
    int idx = imap_find(&e->grid_map, digest64(d), grid_eq, &k);
    if (idx >= 0) return idx;
    size_t cells = (size_t)g->rows * g->cols;
    if (e->pool_len + cells > e->pool_cap) {
        size_t nc = e->pool_cap ? 2 * e->pool_cap : 1 << 16;
        while (nc < e->pool_len + cells) nc *= 2;
        uint8_t *np = realloc(e->pool, nc);
        if (!np) return -1;
        e->pool = np;
        e->pool_cap = nc;
    }
    if (!grow((void **)&e->grids, &e->cap_grids, e->n_grids + 1, sizeof *e->grids)) return -1;
    stored_grid *s = &e->grids[e->n_grids];
    memcpy(s->digest, d, 32);
    s->rows = g->rows;
    s->cols = g->cols;
    s->off = e->pool_len;
    if (cells) memcpy(e->pool + e->pool_len, g->cell, cells); /* pool is NULL until a grid has cells */
    e->pool_len += cells;
    if (imap_put(&e->grid_map, digest64(d), e->n_grids)) return -1;
    return e->n_grids++;
}

typedef struct {
    const arc_eval *e;
    int slot, grid;
} cand_key;

static bool cand_eq(const void *ctx, int idx) {
    const cand_key *k = ctx;
    return k->e->cands[idx].slot == k->slot && k->e->cands[idx].grid == k->grid;
}

static void vote(arc_eval *e, int slot, int grid, double conf) {
    uint64_t h = mix64(((uint64_t)(uint32_t)slot << 32) | (uint32_t)grid);
    cand_key k = {e, slot, grid};
    int idx = imap_find(&e->cand_map, h, cand_eq, &k);
    if (idx < 0) {
        if (!grow((void **)&e->cands, &e->cap_cands, e->n_cands + 1, sizeof *e->cands) ||
            imap_put(&e->cand_map, h, e->n_cands)) {
            e->oom = true;
            return;
        }
        idx = e->n_cands++;
        e->cands[idx] = (cand){slot, grid, 0, 0.0, e->seq};
    }
    e->cands[idx].votes++;
    e->cands[idx].conf_sum += conf;
}

void arc_eval_add_grid(arc_eval *e, const char *task_id, const arc_grid *input,
                       const arc_grid *candidate, double conf) {
    uint8_t d[32];
    arc_grid_hash(input, d);
    e->rows++;
    e->seq++;
    int slot = find_slot(e, task_id, d);
    if (slot < 0) { e->unmatched++; return; }
    int g = store_grid(e, candidate);
    if (g < 0) { e->oom = true; return; }
    vote(e, e->slots[slot].canon, g, conf);
}

int arc_eval_invert_board(const char *name, const int32_t *tokens, char *task_id, size_t cap,
                          arc_grid *out, trm_err *err) {
    int t;
    uint8_t perm[10];
    if (arc_parse_version(name, task_id, cap, &t, perm))
        return trm_errf(err, "identifier '%s': not a task id or \"<id>|||t<t>|||<10 digits>\"", name);
    arc_grid g;
    arc_crop(tokens, &g);
    arc_aug_invert(&g, t, perm, out);
    return 0;
}

int arc_eval_add(arc_eval *e, int32_t puzzle_id, const int32_t *input, const int32_t *pred,
                 float q_halt, trm_err *err) {
    if (puzzle_id == 0) return 0;
    if (puzzle_id < 0 || puzzle_id >= e->names.n)
        return trm_errf(err, "puzzle id %d is not in identifiers.json (%d names)", puzzle_id, e->names.n);
    const char *name = e->names.names[puzzle_id];
    char id[256];
    arc_grid in, out;
    if (arc_eval_invert_board(name, input, id, sizeof id, &in, err) ||
        arc_eval_invert_board(name, pred, id, sizeof id, &out, err))
        return -1;
    arc_eval_add_grid(e, id, &in, &out, 1.0 / (1.0 + exp(-(double)q_halt)));
    if (e->oom) return trm_errf(err, "out of memory recording ARC candidates");
    return 0;
}

int arc_eval_on_row(void *ctx, const trm_eval_row *row, trm_err *err) {
    return arc_eval_add(ctx, row->puzzle_id, row->input, row->pred, row->q_halt, err);
}

/* ------------------------------------------------------------ ranking */

static int cmp_rank(const void *pa, const void *pb) {
    const cand *a = *(const cand *const *)pa, *b = *(const cand *const *)pb;
    if (a->votes != b->votes) return a->votes > b->votes ? -1 : 1;
    double ma = a->conf_sum / a->votes, mb = b->conf_sum / b->votes;
    if (ma != mb) return ma > mb ? -1 : 1;
    return a->first < b->first ? -1 : a->first > b->first;
}

static void grid_of(const arc_eval *e, int idx, arc_grid *g) {
    const stored_grid *s = &e->grids[idx];
    g->rows = s->rows;
    g->cols = s->cols;
    if (s->rows > 0 && s->cols > 0) memcpy(g->cell, e->pool + s->off, (size_t)s->rows * s->cols); /* pool may be NULL */
}

/* The candidates of a slot, sorted; caller frees. */
static const cand **ranked_list(const arc_eval *e, int slot, int *n) {
    *n = 0;
    for (int i = 0; i < e->n_cands; i++) *n += e->cands[i].slot == slot;
    const cand **list = malloc(sizeof *list * (size_t)(*n ? *n : 1));
    if (!list) { *n = 0; return NULL; }
    int k = 0;
    for (int i = 0; i < e->n_cands; i++)
        if (e->cands[i].slot == slot) list[k++] = &e->cands[i];
    qsort(list, (size_t)k, sizeof *list, cmp_rank);
    return list;
}

int arc_eval_ranked(const arc_eval *e, int task, int test, arc_candidate *out, int max) {
    int n;
    const cand **list = ranked_list(e, slot_of(e, task, test), &n);
    for (int i = 0; i < n && i < max; i++) {
        grid_of(e, list[i]->grid, &out[i].grid);
        out[i].votes = list[i]->votes;
        out[i].conf = list[i]->conf_sum / list[i]->votes;
    }
    free(list);
    return n;
}

/* ------------------------------------------------------------ scoring */

/* How many of the K values the true output of one test input passes. */
static void score_input(const arc_eval *e, int task, int test, int hits[ARC_EVAL_NK], bool *any) {
    uint8_t want[32];
    arc_grid_hash(&e->tests.tasks[task].test[test].out, want);
    int n;
    const cand **list = ranked_list(e, slot_of(e, task, test), &n);
    *any = n > 0;
    int rank = -1;
    for (int i = 0; i < n && rank < 0; i++)
        if (!memcmp(e->grids[list[i]->grid].digest, want, 32)) rank = i;
    for (int k = 0; k < ARC_EVAL_NK; k++) hits[k] += rank >= 0 && rank < arc_eval_ks[k];
    free(list);
}

void arc_eval_score(const arc_eval *e, arc_eval_result *out) {
    memset(out, 0, sizeof *out);
    for (int i = 0; i < e->tests.n; i++) {
        const arc_task *t = &e->tests.tasks[i];
        int hits[ARC_EVAL_NK] = {0};
        for (int j = 0; j < t->n_test; j++) {
            bool any;
            score_input(e, i, j, hits, &any);
            out->inputs_predicted += any;
        }
        out->test_inputs += t->n_test;
        for (int k = 0; k < ARC_EVAL_NK && t->n_test; k++) out->pass[k] += (double)hits[k] / t->n_test;
    }
    out->tasks = e->tests.n;
    for (int k = 0; k < ARC_EVAL_NK && out->tasks; k++) out->pass[k] /= out->tasks;
    out->rows = e->rows;
    out->unmatched = e->unmatched;
}

/* ------------------------------------------------------------ submission */

typedef struct {
    char *s;
    size_t n, cap;
    bool oom;
} strbuf;

static void sb_put(strbuf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void sb_put(strbuf *b, const char *fmt, ...) {
    va_list ap;
    for (;;) {
        va_start(ap, fmt);
        int k = b->oom ? 0 : vsnprintf(b->s ? b->s + b->n : NULL, b->s ? b->cap - b->n : 0, fmt, ap);
        va_end(ap);
        if (b->oom || (b->s && (size_t)k < b->cap - b->n)) { b->n += (size_t)k; return; }
        size_t nc = b->cap ? b->cap * 2 : 1 << 16;
        while (nc < b->n + (size_t)k + 1) nc *= 2;
        char *ns = realloc(b->s, nc);
        if (!ns) { b->oom = true; return; }
        b->s = ns;
        b->cap = nc;
    }
}

static void put_grid(strbuf *b, const arc_grid *g) {
    sb_put(b, "[");
    for (int r = 0; r < g->rows; r++) {
        sb_put(b, "%s[", r ? "," : "");
        for (int c = 0; c < g->cols; c++) sb_put(b, "%s%d", c ? "," : "", ARC_AT(g, r, c));
        sb_put(b, "]");
    }
    sb_put(b, "]");
}

static void put_string(strbuf *b, const char *s) {
    sb_put(b, "\"");
    for (; *s; s++) {
        unsigned char ch = (unsigned char)*s;
        if (ch == '"' || ch == '\\') sb_put(b, "\\%c", ch);
        else if (ch < 0x20) sb_put(b, "\\u%04x", ch);
        else sb_put(b, "%c", ch);
    }
    sb_put(b, "\"");
}

static void put_attempts(strbuf *b, const arc_eval *e, int task, int test) {
    arc_candidate top[2];
    int n = arc_eval_ranked(e, task, test, top, 2);
    if (n == 0) { top[0].grid.rows = top[0].grid.cols = 1; top[0].grid.cell[0] = 0; }
    if (n < 2) top[1] = top[0];
    sb_put(b, "%s{\"attempt_1\":", test ? "," : "");
    put_grid(b, &top[0].grid);
    sb_put(b, ",\"attempt_2\":");
    put_grid(b, &top[1].grid);
    sb_put(b, "}");
}

int arc_eval_write_submission(const arc_eval *e, const char *path, trm_err *err) {
    strbuf b = {0};
    sb_put(&b, "{");
    for (int i = 0; i < e->tests.n; i++) {
        const arc_task *t = &e->tests.tasks[i];
        sb_put(&b, "%s", i ? "," : "");
        put_string(&b, t->id);
        sb_put(&b, ":[");
        for (int j = 0; j < t->n_test; j++) put_attempts(&b, e, i, j);
        sb_put(&b, "]");
    }
    sb_put(&b, "}\n");
    int rc;
    if (b.oom) rc = trm_errf(err, "%s: out of memory", path);
    else {
        const void *bufs[1] = {b.s};
        size_t lens[1] = {b.n};
        rc = io_write_atomic(path, bufs, lens, 1, err);
    }
    free(b.s);
    return rc;
}
