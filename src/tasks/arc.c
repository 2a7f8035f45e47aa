/* arc.c - ARC-AGI grids and task files (see arc.h).
 *
 * Task files are checked as strictly as the reference builder's asserts
 * (and a bit more: it crashes where we report): every grid a non-empty
 * rectangle of at most 30 x 30 integers 0..9, every pair an object with
 * "input" and "output", every task an object with "train" and "test"
 * (other keys are ignored). The first problem is reported with file, task id and place. */
#include "tasks/arc.h"

#include <cjson/cJSON.h>
#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/sha256.h"
#include "io/fileio.h" /* util_fopen_regular */
#include "io/jsonout.h" /* json_nul_escape_at */
#include "tasks/task.h"

/* ---------------------------------------------------------------- sets */

static void task_free(arc_task *t) {
    free(t->id);
    free(t->file);
    free(t->train);
    free(t->test);
    memset(t, 0, sizeof *t);
}

void arc_set_free(arc_set *s) {
    for (int i = 0; i < s->n; i++) task_free(&s->tasks[i]);
    for (int i = 0; i < s->n_skipped; i++) free(s->skipped[i]);
    free(s->tasks);
    free(s->skipped);
    memset(s, 0, sizeof *s);
}

static int set_push(arc_set *s, arc_task *t, trm_err *err) {
    arc_task *grown = realloc(s->tasks, sizeof *grown * (s->n + 1));
    if (!grown) return trm_errf(err, "%s: out of memory", t->file);
    s->tasks = grown;
    s->tasks[s->n++] = *t;
    memset(t, 0, sizeof *t);
    return 0;
}

static int note_skipped(arc_set *s, const char *line, trm_err *err) {
    char **grown = realloc(s->skipped, sizeof *grown * (s->n_skipped + 1));
    char *copy = strdup(line);
    if (!grown || !copy) {
        free(copy);
        if (grown) s->skipped = grown;
        return trm_errf(err, "out of memory");
    }
    s->skipped = grown;
    s->skipped[s->n_skipped++] = copy;
    return 0;
}

/* ---------------------------------------------------------------- JSON reading */

static char *slurp(const char *path, size_t *len, trm_err *err) {
    FILE *f = util_fopen_regular(path, err);
    if (!f) return NULL;
    size_t cap = 1 << 16, n = 0;
    char *buf = malloc(cap);
    while (buf) {
        n += fread(buf + n, 1, cap - n, f);
        if (n < cap) break;
        char *g = realloc(buf, cap * 2);
        if (!g) free(buf);
        buf = g, cap *= 2;
    }
    bool bad = ferror(f);
    fclose(f);
    if (!buf || bad) {
        trm_errf(err, "%s: cannot read (%s)", path, buf ? "I/O error" : "out of memory");
        free(buf);
        return NULL;
    }
    *len = n;
    return buf;
}

/* The parsed document; a syntax error is reported with its line. */
static cJSON *parse_file(const char *path, trm_err *err) {
    size_t len;
    char *txt = slurp(path, &len, err);
    if (!txt) return NULL;
    const char *end = NULL;
    size_t nul = json_nul_escape_at(txt, len);
    cJSON *root = nul < len ? NULL : cJSON_ParseWithLengthOpts(txt, len, &end, false);
    if (!root) {
        int line = 1;
        if (nul < len) end = txt + nul;
        for (const char *p = txt; end && p < end && p < txt + len; p++) line += *p == '\n';
        /* cJSON would cut a task id "x\u0000y" to "x" without a word */
        if (nul < len) trm_errf(err, "%s: line %d: a string holds a NUL character (\\u0000); task ids and keys cannot", path, line);
        else trm_errf(err, "%s: line %d: not valid JSON", path, line);
    }
    free(txt);
    return root;
}

/* Where a grid sits, for messages: "train pair 2 input". */
typedef struct {
    const char *file, *task, *part;
    int pair;
    const char *side;
} where;

static int grid_err(const where *w, trm_err *err, const char *what) {
    if (w->pair >= 0)
        return trm_errf(err, "%s: task %s: %s pair %d %s: %s", w->file, w->task, w->part, w->pair + 1,
                        w->side, what);
    return trm_errf(err, "%s: task %s: %s %s: %s", w->file, w->task, w->part, w->side, what);
}

static int parse_row(const cJSON *row, int r, arc_grid *g, const where *w, trm_err *err) {
    char msg[160];
    if (!cJSON_IsArray(row)) {
        snprintf(msg, sizeof msg, "row %d is not a list", r + 1);
        return grid_err(w, err, msg);
    }
    int n = cJSON_GetArraySize(row);
    if (r == 0) g->cols = n;
    if (n != g->cols || n < 1 || n > ARC_MAX) {
        snprintf(msg, sizeof msg, n != g->cols ? "row %d has %d cells, row 1 has %d (rows must be equally long)"
                                               : "row %d has %d cells (expected 1..30)", r + 1, n, g->cols);
        return grid_err(w, err, msg);
    }
    int c = 0;
    for (const cJSON *v = row->child; v; v = v->next, c++) {
        double x = cJSON_IsNumber(v) ? v->valuedouble : -1;
        if (x < 0 || x > 9 || x != (int)x) {
            snprintf(msg, sizeof msg, "cell (%d, %d) is %s (expected an integer colour 0..9)", r + 1, c + 1,
                     cJSON_IsNumber(v) ? "out of range" : "not a number");
            return grid_err(w, err, msg);
        }
        g->cell[r * g->cols + c] = (uint8_t)x;
    }
    return 0;
}

static int parse_grid(const cJSON *j, arc_grid *g, const where *w, trm_err *err) {
    if (!j) return grid_err(w, err, "missing");
    if (!cJSON_IsArray(j)) return grid_err(w, err, "not a list of rows");
    int n = cJSON_GetArraySize(j);
    if (n < 1 || n > ARC_MAX) {
        char msg[80];
        snprintf(msg, sizeof msg, "%d rows (expected 1..30)", n);
        return grid_err(w, err, msg);
    }
    g->rows = n;
    g->cols = 0;
    int r = 0;
    for (const cJSON *row = j->child; row; row = row->next, r++)
        if (parse_row(row, r, g, w, err)) return -1;
    return 0;
}

/* A list of pairs; test pairs may lack "output" (dummy [[0]], *complete
 * cleared) unless outputs are required. */
static int parse_pairs(const cJSON *j, const char *part, bool need_out, arc_pair **out, int *n,
                       bool *complete, const where *base, trm_err *err) {
    where w = *base;
    w.part = part, w.pair = -1, w.side = "";
    if (!j) return trm_errf(err, "%s: task %s: missing \"%s\"", w.file, w.task, part);
    if (!cJSON_IsArray(j)) return trm_errf(err, "%s: task %s: \"%s\" is not a list", w.file, w.task, part);
    *n = cJSON_GetArraySize(j);
    if (*n < 1) return trm_errf(err, "%s: task %s: \"%s\" has no pairs", w.file, w.task, part);
    *out = calloc((size_t)*n, sizeof **out);
    if (!*out) return trm_errf(err, "%s: out of memory", w.file);
    int k = 0;
    for (const cJSON *p = j->child; p; p = p->next, k++) {
        w.pair = k;
        if (!cJSON_IsObject(p)) return trm_errf(err, "%s: task %s: %s pair %d is not an object", w.file, w.task, part, k + 1);
        w.side = "input";
        if (parse_grid(cJSON_GetObjectItemCaseSensitive(p, "input"), &(*out)[k].in, &w, err)) return -1;
        w.side = "output";
        const cJSON *o = cJSON_GetObjectItemCaseSensitive(p, "output");
        if (!o && !need_out) {
            (*out)[k].out.rows = (*out)[k].out.cols = 1; /* the reference's dummy [[0]] */
            *complete = false;
        } else if (parse_grid(o, &(*out)[k].out, &w, err)) {
            return -1;
        }
    }
    return 0;
}

/* One task object; test outputs optional (filled in later or dummies). */
static int parse_task(const cJSON *j, const char *id, const char *file, bool need_test_out, arc_task *t,
                      trm_err *err) {
    memset(t, 0, sizeof *t);
    t->id = strdup(id);
    t->file = strdup(file);
    if (!t->id || !t->file) return trm_errf(err, "%s: out of memory", file);
    for (const unsigned char *c = (const unsigned char *)id; *c; c++)
        if (*c < 0x20 || *c == 0x7f)
            return trm_errf(err, "%s: task id with control character 0x%02x at byte %d: expected printable characters",
                            file, *c, (int)(c - (const unsigned char *)id));
    if (!*id) return trm_errf(err, "%s: empty task id", file);
    if (!cJSON_IsObject(j)) return trm_errf(err, "%s: task %s: not an object", file, id);
    /* other keys are ignored: ARC-1's 9edfc990.json has a "name" */
    where w = {file, id, "", -1, ""};
    const cJSON *train = cJSON_GetObjectItemCaseSensitive(j, "train");
    const cJSON *test = cJSON_GetObjectItemCaseSensitive(j, "test");
    t->test_outputs = true;
    t->test_first = test && j->child == test;
    if (parse_pairs(train, "train", true, &t->train, &t->n_train, &t->test_outputs, &w, err) ||
        parse_pairs(test, "test", need_test_out, &t->test, &t->n_test, &t->test_outputs, &w, err))
        return -1;
    return 0;
}

/* Parses and appends; a bad task is an error, or (skip_bad) a note. */
static int add_task(const cJSON *j, const char *id, const char *file, bool skip_bad, arc_set *s, trm_err *err) {
    arc_task t;
    trm_err e;
    int rc = parse_task(j, id, file, false, &t, &e);
    if (rc == 0) rc = set_push(s, &t, err);
    else if (skip_bad) rc = note_skipped(s, e.msg, err);
    else *err = e;
    task_free(&t);
    return rc;
}

/* ---------------------------------------------------------------- loading */

static int load_one(const char *path, const char *id, bool skip_bad, arc_set *s, trm_err *err) {
    trm_err e;
    cJSON *root = parse_file(path, &e);
    int rc;
    if (!root) rc = skip_bad ? note_skipped(s, e.msg, err) : (*err = e, -1);
    else rc = add_task(root, id, path, skip_bad, s, err);
    cJSON_Delete(root);
    return rc;
}

int arc_load_file(const char *path, arc_set *s, trm_err *err) {
    const char *base = strrchr(path, '/');
    base = base ? base + 1 : path;
    size_t len = strlen(base);
    bool json = len > 5 && !strcmp(base + len - 5, ".json");
    char id[256];
    snprintf(id, sizeof id, "%.*s", (int)(json ? len - 5 : len), base);
    return load_one(path, id, false, s, err);
}

static int cmp_str(const void *a, const void *b) {
    return strcmp(*(char *const *)a, *(char *const *)b);
}

typedef struct {
    char **names;
    int n;
} name_list;

static int list_add(name_list *l, const char *name) {
    char **g = realloc(l->names, sizeof *g * (l->n + 1));
    if (!g) return -1;
    l->names = g;
    if (!(g[l->n] = strdup(name))) return -1;
    l->n++;
    return 0;
}

static void list_free(name_list *l) {
    for (int i = 0; i < l->n; i++) free(l->names[i]);
    free(l->names);
}

/* The *.json files under root/rel (paths relative to root), into
 * subfolders too (ConceptARC's corpus has one per concept). */
static int list_json(const char *root, const char *rel, int depth, name_list *l, trm_err *err) {
    char path[4096];
    snprintf(path, sizeof path, "%s%s%s", root, *rel ? "/" : "", rel);
    DIR *d = opendir(path);
    if (!d) return trm_errf(err, "%s: cannot open folder: %s", path, strerror(errno));
    int rc = 0;
    for (struct dirent *e; rc == 0 && (e = readdir(d));) {
        if (e->d_name[0] == '.') continue;
        char sub[4096];
        size_t len = strlen(e->d_name);
        snprintf(sub, sizeof sub, "%s%s%s", rel, *rel ? "/" : "", e->d_name);
        if (len > 5 && !strcmp(e->d_name + len - 5, ".json")) {
            if (list_add(l, sub)) rc = trm_errf(err, "%s: out of memory", root);
        } else if (depth < 4 && (e->d_type == DT_DIR || e->d_type == DT_UNKNOWN)) {
            char full[8200]; /* DT_UNKNOWN too: whatever opens as a folder is one */
            snprintf(full, sizeof full, "%s/%s", root, sub);
            DIR *sd = opendir(full);
            if (sd) {
                closedir(sd);
                rc = list_json(root, sub, depth + 1, l, err);
            }
        }
    }
    closedir(d);
    return rc;
}

int arc_load_dir(const char *dir, bool skip_bad, arc_set *s, trm_err *err) {
    name_list l = {0};
    int rc = list_json(dir, "", 0, &l, err);
    if (rc == 0 && l.n == 0) rc = trm_errf(err, "%s: no .json task files", dir);
    if (rc == 0) qsort(l.names, (size_t)l.n, sizeof *l.names, cmp_str);
    for (int i = 0; rc == 0 && i < l.n; i++) {
        char path[8200], id[256];
        const char *base = strrchr(l.names[i], '/');
        base = base ? base + 1 : l.names[i];
        snprintf(path, sizeof path, "%s/%s", dir, l.names[i]);
        snprintf(id, sizeof id, "%.*s", (int)strlen(base) - 5, base);
        rc = load_one(path, id, skip_bad, s, err);
    }
    list_free(&l);
    return rc;
}

/* Puts the solutions' grids in as test outputs (the reference requires one
 * per test input). */
static int add_solutions(arc_task *t, const cJSON *sol, const char *file, trm_err *err) {
    if (!sol) return trm_errf(err, "%s: task %s: no solutions", file, t->id);
    if (!cJSON_IsArray(sol) || cJSON_GetArraySize(sol) != t->n_test)
        return trm_errf(err, "%s: task %s: expected a list of %d solution grids (one per test input)", file, t->id,
                        t->n_test);
    where w = {file, t->id, "test", 0, "solution"};
    const cJSON *g = sol->child;
    for (int k = 0; k < t->n_test; k++, g = g->next) {
        w.pair = k;
        if (parse_grid(g, &t->test[k].out, &w, err)) return -1;
    }
    t->test_outputs = true;
    return 0;
}

static int kaggle_tasks(const cJSON *ch, const cJSON *sol, const char *chf, const char *solf, bool skip_bad,
                        arc_set *s, trm_err *err) {
    for (const cJSON *j = ch->child; j; j = j->next) {
        arc_task t;
        trm_err e;
        int rc = parse_task(j, j->string, chf, false, &t, &e);
        if (rc == 0 && sol) rc = add_solutions(&t, cJSON_GetObjectItemCaseSensitive(sol, j->string), solf, &e);
        if (rc == 0) rc = set_push(s, &t, err);
        else if (skip_bad) rc = note_skipped(s, e.msg, err);
        else *err = e;
        task_free(&t);
        if (rc) return -1;
    }
    return 0;
}

int arc_load_kaggle(const char *challenges, const char *solutions, bool skip_bad, arc_set *s, trm_err *err) {
    cJSON *ch = parse_file(challenges, err), *sol = NULL;
    int rc = -1;
    if (!ch) return -1;
    if (solutions && !(sol = parse_file(solutions, err))) goto done;
    if (!cJSON_IsObject(ch)) {
        trm_errf(err, "%s: not an object of tasks {id: task}", challenges);
        goto done;
    }
    if (sol && !cJSON_IsObject(sol)) {
        trm_errf(err, "%s: not an object of solutions {id: [grid, ...]}", solutions);
        goto done;
    }
    rc = kaggle_tasks(ch, sol, challenges, solutions, skip_bad, s, err);
done:
    cJSON_Delete(ch);
    cJSON_Delete(sol);
    return rc;
}

/* ---------------------------------------------------------------- grids */

bool arc_grid_equal(const arc_grid *a, const arc_grid *b) {
    return a->rows == b->rows && a->cols == b->cols && !memcmp(a->cell, b->cell, (size_t)a->rows * a->cols);
}

void arc_grid_permute(const arc_grid *in, const uint8_t perm[10], arc_grid *out) {
    out->rows = in->rows, out->cols = in->cols;
    for (int i = 0; i < in->rows * in->cols; i++) out->cell[i] = in->cell[i] < 10 ? perm[in->cell[i]] : in->cell[i];
}

/* Spec 4.5 on uint8 cells (task_dihedral works on int32 token boards; this
 * runs for every grid of every trial, so it avoids the conversions). */
void arc_grid_dihedral(const arc_grid *in, int t, arc_grid *out) {
    int R = in->rows, C = in->cols;
    bool swap = t == 1 || t == 3 || t == 6 || t == 7;
    out->rows = swap ? C : R, out->cols = swap ? R : C;
    uint8_t *o = out->cell;
    for (int i = 0; i < out->rows; i++)
        for (int j = 0; j < out->cols; j++) {
            int r, c;
            switch (t) {
            case 1: r = j, c = C - 1 - i; break;
            case 2: r = R - 1 - i, c = C - 1 - j; break;
            case 3: r = R - 1 - j, c = i; break;
            case 4: r = i, c = C - 1 - j; break;
            case 5: r = R - 1 - i, c = j; break;
            case 6: r = j, c = i; break;
            case 7: r = R - 1 - j, c = C - 1 - i; break;
            default: r = i, c = j; break;
            }
            *o++ = in->cell[r * C + c];
        }
}

void arc_aug_apply(const arc_grid *in, int t, const uint8_t perm[10], arc_grid *out) {
    arc_grid tmp;
    arc_grid_permute(in, perm, &tmp);
    arc_grid_dihedral(&tmp, t, out);
}

void arc_aug_invert(const arc_grid *in, int t, const uint8_t perm[10], arc_grid *out) {
    uint8_t inv[10];
    for (int c = 0; c < 10; c++) inv[perm[c] % 10] = (uint8_t)c;
    arc_grid tmp;
    arc_grid_dihedral(in, task_dihedral_inverse(t), &tmp);
    arc_grid_permute(&tmp, inv, out);
}

/* ---------------------------------------------------------------- tokens */

void arc_encode(const arc_grid *g, int r0, int c0, int32_t *tok) {
    memset(tok, 0, sizeof(int32_t) * ARC_SEQ_LEN);
    for (int r = 0; r < g->rows; r++)
        for (int c = 0; c < g->cols; c++) tok[(r0 + r) * ARC_MAX + c0 + c] = ARC_AT(g, r, c) + 2;
    int er = r0 + g->rows, ec = c0 + g->cols;
    if (er < ARC_MAX)
        for (int c = c0; c < ec; c++) tok[er * ARC_MAX + c] = ARC_EOS;
    if (ec < ARC_MAX)
        for (int r = r0; r < er; r++) tok[r * ARC_MAX + ec] = ARC_EOS;
}

/* Spec 5.2 step 2: row r (1-based count) narrows the running width to the
 * first non-colour token; the first largest area r * width wins. */
void arc_crop_size(const int32_t *tok, int *rows, int *cols) {
    int width = ARC_MAX, best = 0;
    *rows = *cols = 0;
    for (int r = 1; r <= ARC_MAX; r++) {
        const int32_t *row = tok + (r - 1) * ARC_MAX;
        for (int c = 0; c < width; c++)
            if (row[c] < 2 || row[c] > 11) {
                width = c;
                break;
            }
        if (r * width > best) best = r * width, *rows = r, *cols = width;
    }
}

void arc_crop(const int32_t *tok, arc_grid *out) {
    arc_crop_size(tok, &out->rows, &out->cols);
    for (int r = 0; r < out->rows; r++)
        for (int c = 0; c < out->cols; c++) ARC_AT(out, r, c) = (uint8_t)(tok[r * ARC_MAX + c] - 2);
}

/* ---------------------------------------------------------------- names */

int arc_version_name(const char *id, int t, const uint8_t perm[10], char *out, size_t cap) {
    char digits[11];
    for (int i = 0; i < 10; i++) digits[i] = (char)('0' + perm[i] % 10);
    digits[10] = 0;
    int n = snprintf(out, cap, "%s" ARC_NAME_SEP "t%d" ARC_NAME_SEP "%s", id, t, digits);
    return n < 0 || (size_t)n >= cap ? -1 : n;
}

int arc_parse_version(const char *name, char *id, size_t cap, int *t, uint8_t perm[10]) {
    const char *sep = strstr(name, ARC_NAME_SEP);
    size_t idlen = sep ? (size_t)(sep - name) : strlen(name);
    if (idlen >= cap) return -1;
    memcpy(id, name, idlen);
    id[idlen] = 0;
    *t = 0;
    for (int i = 0; i < 10; i++) perm[i] = (uint8_t)i;
    if (!sep) return 0;
    const char *p = sep + 3;
    if (p[0] != 't' || p[1] < '0' || p[1] > '7' || strncmp(p + 2, ARC_NAME_SEP, 3)) return -1;
    *t = p[1] - '0';
    p += 5;
    int seen = 0;
    for (int i = 0; i < 10; i++) {
        if (p[i] < '0' || p[i] > '9' || seen >> (p[i] - '0') & 1) return -1;
        seen |= 1 << (p[i] - '0');
        perm[i] = (uint8_t)(p[i] - '0');
    }
    return p[10] ? -1 : 0;
}

/* ---------------------------------------------------------------- hashes */

void arc_grid_hash(const arc_grid *g, uint8_t digest[32]) {
    sha256_ctx c;
    uint8_t shape[2] = {(uint8_t)g->rows, (uint8_t)g->cols};
    sha256_init(&c);
    sha256_update(&c, shape, 2);
    sha256_update(&c, g->cell, (size_t)g->rows * g->cols);
    sha256_final(&c, digest);
}

void arc_grid_hash_hex(const arc_grid *g, char hex[65]) {
    uint8_t d[32];
    arc_grid_hash(g, d);
    sha256_hex(d, hex);
}

/* "hash(in)|hash(out)": 129 characters + NUL. */
typedef struct {
    char s[130];
} pair_key;

static int cmp_key(const void *a, const void *b) { return strcmp(a, b); }

int arc_pairs_hash_hex(const arc_pair *const *pairs, int n, char hex[65]) {
    pair_key stack[64], *keys = n <= 64 ? stack : malloc(sizeof *keys * (size_t)n);
    sha256_ctx c;
    sha256_init(&c);
    if (!keys) return -1;
    for (int i = 0; i < n; i++) {
        arc_grid_hash_hex(&pairs[i]->in, keys[i].s);
        keys[i].s[64] = '|';
        arc_grid_hash_hex(&pairs[i]->out, keys[i].s + 65);
    }
    qsort(keys, (size_t)n, sizeof *keys, cmp_key);
    for (int i = 0; i < n; i++) {
        if (i) sha256_update(&c, "|", 1);
        sha256_update(&c, keys[i].s, 129);
    }
    uint8_t d[32];
    sha256_final(&c, d);
    sha256_hex(d, hex);
    if (keys != stack) free(keys);
    return 0;
}
