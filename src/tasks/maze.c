/* maze.c - Maze boards: tokens, breadth-first shortest paths, the answer
 * checker, the generator and the Maze-Hard file readers (see maze.h). */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "core/util.h"
#include "core/rng.h"
#include "io/fileio.h" /* util_fopen_regular */
#include "io/npy.h"
#include "tasks/maze.h"

static const char g_chars[] = "?# SGo"; /* token t -> g_chars[t] */

int maze_side(int seq_len) {
    if (seq_len < 4) return 0;
    long long n = 2; /* 64-bit: n * n must not overflow near INT_MAX */
    while (n * n < seq_len) n++;
    return n * n == seq_len ? (int)n : 0;
}

int maze_token_of(char c) {
    const char *p = c ? strchr(g_chars + 1, c) : NULL;
    return p ? (int)(p - g_chars) : -1;
}

char maze_char_of(int32_t token) { return token >= 1 && token <= 5 ? g_chars[token] : '?'; }

/* A token for messages: "'#'" for the five cell kinds, "token 9" else. */
static const char *describe(int32_t t, char buf[24]) {
    if (t >= 1 && t <= 5) snprintf(buf, 24, "'%c'", g_chars[t]);
    else snprintf(buf, 24, "token %d", (int)t);
    return buf;
}

int maze_parse_cells(const char *text, int seq_len, int32_t *tok, const char *what, trm_err *err) {
    int k = 0;
    for (; k < seq_len && text[k] && text[k] != ',' && text[k] != '\n' && text[k] != '\r'; k++) {
        int t = maze_token_of(text[k]);
        if (t < 0)
            return trm_errf(err, "%s: cell %d is '%c' (byte 0x%02x); expected one of '#', ' ', 'S', 'G', 'o'",
                            what, k + 1, text[k] >= 32 && text[k] < 127 ? text[k] : '?', (unsigned char)text[k]);
        tok[k] = t;
    }
    if (k != seq_len) return trm_errf(err, "%s: %d cells; expected %d", what, k, seq_len);
    return 0;
}

/* ---------------------------------------------------------------- search */

/* The up-to-4 neighbours of cell v on an n x n board, in a fixed order. */
static int neighbours(int n, int v, int nb[4]) {
    int r = v / n, c = v % n, k = 0;
    if (r > 0) nb[k++] = v - n;
    if (c > 0) nb[k++] = v - 1;
    if (c < n - 1) nb[k++] = v + 1;
    if (r < n - 1) nb[k++] = v + n;
    return k;
}

static bool passable(int32_t t) { return t >= MAZE_OPEN && t <= MAZE_PATH; }

/* Moves from src to every cell over passable cells (-1: unreachable);
 * queue gets the cells in visiting order. Returns how many were reached. */
static int bfs(const int32_t *b, int n, int src, int *dist, int *queue) {
    for (int i = 0; i < n * n; i++) dist[i] = -1;
    int head = 0, tail = 0;
    dist[src] = 0;
    queue[tail++] = src;
    while (head < tail) {
        int v = queue[head++], nb[4], k = neighbours(n, v, nb);
        for (int j = 0; j < k; j++)
            if (dist[nb[j]] < 0 && passable(b[nb[j]])) {
                dist[nb[j]] = dist[v] + 1;
                queue[tail++] = nb[j];
            }
    }
    return tail;
}

/* The positions of the single S and G; -1 unless there is exactly one of each. */
static int endpoints(const int32_t *b, int seq_len, int *s, int *g) {
    int ns = 0, ng = 0;
    *s = *g = 0;
    for (int i = 0; i < seq_len; i++) {
        if (b[i] == MAZE_START) *s = i, ns++;
        if (b[i] == MAZE_GOAL) *g = i, ng++;
    }
    return ns == 1 && ng == 1 ? 0 : -1;
}

/* Marks one shortest path into a (walking back from g along decreasing
 * distance); with rng the predecessor is drawn at random, else the first
 * in neighbour order. */
static void mark_path(int32_t *a, int n, const int *dist, int g, uint64_t *rng) {
    for (int v = g; dist[v] > 1;) {
        int nb[4], k = neighbours(n, v, nb), pred[4], np = 0;
        for (int j = 0; j < k; j++)
            if (dist[nb[j]] == dist[v] - 1) pred[np++] = nb[j];
        v = pred[rng && np > 1 ? rng_int(rng, 0, np - 1) : 0];
        a[v] = MAZE_PATH;
    }
}

/* Number of shortest paths from the BFS source to every cell, saturated. */
static long count_paths(int n, const int *dist, const int *queue, int reached, int target) {
    long *cnt = calloc((size_t)n * n, sizeof(long));
    if (!cnt) return MAZE_MANY_PATHS;
    cnt[queue[0]] = 1;
    for (int i = 1; i < reached; i++) {
        int v = queue[i], nb[4], k = neighbours(n, v, nb);
        long c = 0;
        for (int j = 0; j < k; j++)
            if (dist[nb[j]] == dist[v] - 1) c += cnt[nb[j]];
        cnt[v] = c < MAZE_MANY_PATHS ? c : MAZE_MANY_PATHS;
    }
    long r = cnt[target];
    free(cnt);
    return r;
}

int maze_solve(const int32_t *q, int seq_len, int32_t *answer, long *n_paths) {
    int n = maze_side(seq_len), s, g, d = -1;
    if (n_paths) *n_paths = 0;
    if (!n || endpoints(q, seq_len, &s, &g)) return -1;
    int *dist = malloc(sizeof(int) * 2 * seq_len);
    if (!dist) return -1;
    int *queue = dist + seq_len, reached = bfs(q, n, s, dist, queue);
    d = dist[g];
    if (d >= 0 && n_paths) *n_paths = count_paths(n, dist, queue, reached, g);
    if (answer) {
        for (int i = 0; i < seq_len; i++) answer[i] = q[i] == MAZE_PATH ? MAZE_OPEN : q[i];
        if (d >= 0) mark_path(answer, n, dist, g, NULL);
    }
    free(dist);
    return d;
}

/* ---------------------------------------------------------------- checking */

/* How a predicted board relates to its question. */
typedef struct {
    int bad_cells;   /* changed cells other than ' ' -> 'o' */
    int path_cells;  /* 'o' on cells open in the question */
    int pieces;      /* connected pieces of {S, G, path cells} */
    int shortest;    /* moves, -1 unreachable */
    int first_bad;   /* first changed cell, -1 none */
} path_report;

/* Connected pieces of the cells with in_set[] (4-neighbour). */
static int count_pieces(int n, uint8_t *in_set, int *queue) {
    int pieces = 0;
    for (int v0 = 0; v0 < n * n; v0++) {
        if (in_set[v0] != 1) continue;
        pieces++;
        int head = 0, tail = 0;
        queue[tail++] = v0;
        in_set[v0] = 2; /* visited */
        while (head < tail) {
            int v = queue[head++], nb[4], k = neighbours(n, v, nb);
            for (int j = 0; j < k; j++)
                if (in_set[nb[j]] == 1) in_set[nb[j]] = 2, queue[tail++] = nb[j];
        }
    }
    return pieces;
}

/* q must have one S and one G (checked by the callers). */
static int analyse(const int32_t *q, const int32_t *pred, int n, path_report *r) {
    int L = n * n, s, g;
    memset(r, 0, sizeof *r);
    r->first_bad = -1;
    endpoints(q, L, &s, &g);
    int *dist = malloc(sizeof(int) * 2 * L);
    uint8_t *in_set = calloc((size_t)L, 1);
    if (!dist || !in_set) {
        free(dist);
        free(in_set);
        return -1;
    }
    for (int i = 0; i < L; i++) {
        int32_t qt = q[i] == MAZE_PATH ? MAZE_OPEN : q[i];
        bool ok = qt == MAZE_OPEN ? pred[i] == MAZE_OPEN || pred[i] == MAZE_PATH : pred[i] == qt;
        if (!ok && r->first_bad < 0) r->first_bad = i;
        r->bad_cells += !ok;
        if (qt == MAZE_OPEN && pred[i] == MAZE_PATH) in_set[i] = 1, r->path_cells++;
    }
    in_set[s] = in_set[g] = 1;
    bfs(q, n, s, dist, dist + L);
    r->shortest = dist[g];
    r->pieces = count_pieces(n, in_set, dist + L);
    free(dist);
    free(in_set);
    return 0;
}

static int report_violations(const path_report *r) {
    if (r->shortest < 0) return r->bad_cells + r->path_cells;
    return r->bad_cells + (r->pieces - 1) + abs(r->path_cells - (r->shortest - 1));
}

int maze_violations(const int32_t *q, const int32_t *pred, int seq_len) {
    int n = maze_side(seq_len), s, g;
    if (!n) return 1;
    int32_t *own = NULL;
    if (!q) { /* the question is the prediction without its path */
        if (!(own = calloc((size_t)seq_len, sizeof(int32_t)))) return 1;
        for (int i = 0; i < seq_len; i++) own[i] = pred[i] == MAZE_PATH ? MAZE_OPEN : pred[i];
        q = own;
    }
    int bad;
    if (endpoints(q, seq_len, &s, &g)) { /* no path to speak of: count changed cells */
        bad = 1;
        for (int i = 0; i < seq_len; i++) bad += pred[i] != q[i] && !(q[i] == MAZE_OPEN && pred[i] == MAZE_PATH);
    } else {
        path_report r;
        bad = analyse(q, pred, n, &r) ? 1 : report_violations(&r);
    }
    free(own);
    return bad;
}

int maze_check_question(const int32_t *q, int seq_len, trm_err *err) {
    int n = maze_side(seq_len), ns = 0, ng = 0;
    char b[24];
    if (!n) return trm_errf(err, "question: %d cells is not n*n for a side n >= 2", seq_len);
    for (int i = 0; i < seq_len; i++) {
        if (q[i] < MAZE_WALL || q[i] > MAZE_GOAL)
            return trm_errf(err, "question: cell %d (row %d, col %d) is %s; expected '#', ' ', 'S' or 'G'",
                            i + 1, i / n, i % n, describe(q[i], b));
        ns += q[i] == MAZE_START;
        ng += q[i] == MAZE_GOAL;
    }
    if (ns != 1) return trm_errf(err, "question: %d 'S' cells; expected exactly one", ns);
    if (ng != 1) return trm_errf(err, "question: %d 'G' cells; expected exactly one", ng);
    return 0;
}

int maze_check_pair(const int32_t *q, const int32_t *a, int seq_len, trm_err *err) {
    if (maze_check_question(q, seq_len, err)) return -1;
    int n = maze_side(seq_len);
    path_report r;
    char b1[24], b2[24];
    if (analyse(q, a, n, &r)) return trm_errf(err, "out of memory");
    if (r.first_bad >= 0) {
        int i = r.first_bad;
        return trm_errf(err, "answer: cell %d (row %d, col %d) is %s where the question has %s; expected "
                        "the question with ' ' -> 'o' on the path", i + 1, i / n, i % n,
                        describe(a[i], b1), describe(q[i], b2));
    }
    if (r.shortest < 0) return trm_errf(err, "question: G cannot be reached from S");
    if (r.pieces > 1)
        return trm_errf(err, "answer: the 'o' cells do not join S to G (%d separate pieces); expected a "
                        "shortest path of %d moves", r.pieces, r.shortest);
    if (r.path_cells != r.shortest - 1)
        return trm_errf(err, "answer: %d 'o' cells; a shortest path of %d moves has %d", r.path_cells,
                        r.shortest, r.shortest - 1);
    return 0;
}

/* ---------------------------------------------------------------- generator */

void maze_gen_defaults(maze_gen_opts *o) {
    *o = (maze_gen_opts){.side = 30, .min_path = 1, .wall_lo = 0.30f, .wall_hi = 0.45f,
                         .unique = true, .max_tries = 100000};
}

/* Scratch of one generation: distances from S and G, a queue. */
typedef struct {
    int *ds, *dg, *queue, *cand;
} gen_buf;

/* A random board with S placed; G on a cell >= min_path moves away.
 * Returns the shortest length, or -1 for a board that cannot take it. */
static int draw_board(const maze_gen_opts *o, uint64_t rng[4], int32_t *q, gen_buf *w) {
    int n = o->side, L = n * n, open = 0, need = o->min_path > 1 ? o->min_path : 1; /* G != S */
    float p = o->wall_lo + (o->wall_hi - o->wall_lo) * rng_uniform(rng);
    for (int i = 0; i < L; i++) {
        q[i] = rng_uniform(rng) < p ? MAZE_WALL : MAZE_OPEN;
        open += q[i] == MAZE_OPEN;
    }
    if (open < 2) return -1;
    int k = rng_int(rng, 0, open - 1), s = 0;
    for (int i = 0; i < L; i++)
        if (q[i] == MAZE_OPEN && k-- == 0) s = i;
    q[s] = MAZE_START;
    int reached = bfs(q, n, s, w->ds, w->queue), far = 0;
    for (int i = 0; i < reached; i++)
        if (w->ds[w->queue[i]] >= need) w->cand[far++] = w->queue[i];
    if (far == 0) return -1;
    int g = w->cand[rng_int(rng, 0, far - 1)];
    q[g] = MAZE_GOAL;
    return w->ds[g];
}

/* Walls, one at a time, cells on a shortest path other than the one
 * marked in a, until that path is the only one (spec of "unique" in
 * maze.h). Returns the number of cells walled. */
static int make_unique(int n, int s, int g, int d, int32_t *q, int32_t *a, uint64_t rng[4], gen_buf *w) {
    for (int walled = 0;; walled++) {
        bfs(q, n, s, w->ds, w->queue);
        bfs(q, n, g, w->dg, w->queue);
        int nc = 0;
        for (int v = 0; v < n * n; v++)
            if (q[v] == MAZE_OPEN && a[v] != MAZE_PATH && w->ds[v] >= 0 && w->dg[v] >= 0 && w->ds[v] + w->dg[v] == d)
                w->cand[nc++] = v;
        if (nc == 0) return walled;
        int v = w->cand[rng_int(rng, 0, nc - 1)];
        q[v] = a[v] = MAZE_WALL;
    }
}

int maze_generate(const maze_gen_opts *o, uint64_t rng[4], int32_t *q, int32_t *a, int *path_len) {
    int n = o->side, L = n * n, rc = -1;
    gen_buf w = {malloc(sizeof(int) * 4 * L), NULL, NULL, NULL};
    if (n < 2 || !w.ds) {
        free(w.ds);
        return -1;
    }
    w.dg = w.ds + L, w.queue = w.ds + 2 * L, w.cand = w.ds + 3 * L;
    for (long t = 0; t < o->max_tries && rc < 0; t++) {
        int d = draw_board(o, rng, q, &w), s, g;
        if (d < 0) continue;
        endpoints(q, L, &s, &g);
        memcpy(a, q, sizeof(int32_t) * L);
        mark_path(a, n, w.ds, g, rng);
        if (o->unique) make_unique(n, s, g, d, q, a, rng, &w);
        if (path_len) *path_len = d;
        rc = 0;
    }
    free(w.ds);
    return rc;
}

/* ---------------------------------------------------------------- files */

void maze_set_free(maze_set *s) {
    if (!s) return;
    free(s->q);
    free(s->a);
    free(s->where);
    memset(s, 0, sizeof *s);
}

/* Appends one checked maze (growing the arrays by doubling). */
static int set_add(maze_set *s, int *cap, const int32_t *q, const int32_t *a, long where) {
    if (s->n == *cap) {
        int nc = *cap ? 2 * *cap : 256;
        uint8_t *nq = realloc(s->q, (size_t)nc * s->seq_len);
        if (nq) s->q = nq;
        uint8_t *na = nq ? realloc(s->a, (size_t)nc * s->seq_len) : NULL;
        if (na) s->a = na;
        long *nw = na ? realloc(s->where, sizeof(long) * nc) : NULL;
        if (!nw) return -1;
        s->where = nw;
        *cap = nc;
    }
    for (int i = 0; i < s->seq_len; i++) {
        s->q[(size_t)s->n * s->seq_len + i] = (uint8_t)q[i];
        s->a[(size_t)s->n * s->seq_len + i] = (uint8_t)a[i];
    }
    s->where[s->n++] = where;
    return 0;
}

#define CSV_MAX_FIELDS 16

/* Splits line at commas (mazes hold no commas or quotes; a field wrapped
 * in double quotes is unwrapped). Returns the field count. */
static int split_fields(char *line, char *f[CSV_MAX_FIELDS], int len[CSV_MAX_FIELDS]) {
    int k = 0;
    for (char *p = line;; p++) {
        char *e = strchr(p, ',');
        if (k == CSV_MAX_FIELDS) return k + 1; /* too many: the caller reports it */
        f[k] = p;
        len[k] = e ? (int)(e - p) : (int)strlen(p);
        if (len[k] >= 2 && p[0] == '"' && p[len[k] - 1] == '"') f[k]++, len[k] -= 2;
        k++;
        if (!e) return k;
        p = e;
    }
}

/* Column layout of a CSV: from a header naming question/answer, or
 * question,answer when the first line is a maze. */
typedef struct {
    int qcol, acol, ncols;
    bool header_seen;
} csv_layout;

/* Reads the header when line is one; returns 1 if it was, 0 if not, -1 on error. */
static int read_header(const char *path, long ln, char *line, csv_layout *c, trm_err *err) {
    char *f[CSV_MAX_FIELDS];
    int len[CSV_MAX_FIELDS], k = split_fields(line, f, len);
    c->qcol = c->acol = -1;
    c->ncols = k;
    for (int i = 0; i < k && i < CSV_MAX_FIELDS; i++) {
        if (len[i] == 8 && !strncmp(f[i], "question", 8)) c->qcol = i;
        if (len[i] == 6 && !strncmp(f[i], "answer", 6)) c->acol = i;
    }
    if (c->qcol < 0) { /* not a header: a question,answer line */
        *c = (csv_layout){0, 1, 2, true};
        return 0;
    }
    c->header_seen = true;
    if (c->acol < 0) return trm_errf(err, "%s:%ld: header has no answer column; expected question,answer", path, ln);
    return 1;
}

/* One data line: its fields, sizes and the maze itself. */
static int read_maze_line(const char *path, long ln, char *line, const csv_layout *c, maze_set *s, int *cap,
                          int32_t **buf, trm_err *err) {
    char *f[CSV_MAX_FIELDS];
    int len[CSV_MAX_FIELDS], k = split_fields(line, f, len);
    if (k == 1 && c->ncols >= 2)
        return trm_errf(err, "%s:%ld: no answer; expected question,answer", path, ln);
    if (k != c->ncols) return trm_errf(err, "%s:%ld: %d fields; expected %d", path, ln, k, c->ncols);
    int L = len[c->qcol];
    if (s->seq_len == 0) {
        if (!maze_side(L))
            return trm_errf(err, "%s:%ld: question has %d cells, not n*n for a side n >= 2", path, ln, L);
        s->seq_len = L;
        if (!(*buf = malloc(sizeof(int32_t) * 2 * L))) return trm_errf(err, "%s: out of memory", path);
    }
    if (L != s->seq_len)
        return trm_errf(err, "%s:%ld: question has %d cells; expected %d like the first maze (line %ld)", path, ln, L,
                        s->seq_len, s->where[0]);
    if (len[c->acol] != s->seq_len)
        return trm_errf(err, "%s:%ld: answer has %d cells; expected %d", path, ln, len[c->acol], s->seq_len);
    int32_t *q = *buf, *a = *buf + s->seq_len;
    trm_err e;
    if (maze_parse_cells(f[c->qcol], s->seq_len, q, "question", &e) ||
        maze_parse_cells(f[c->acol], s->seq_len, a, "answer", &e) || maze_check_pair(q, a, s->seq_len, &e))
        return trm_errf(err, "%s:%ld: %s", path, ln, e.msg);
    if (set_add(s, cap, q, a, ln)) return trm_errf(err, "%s: out of memory after %d mazes", path, s->n);
    return 0;
}

/* Longest CSV line: question and answer of the largest maze (1000 x 1000,
 * trm data maze-gen's limit) plus room for other columns. The bound (and
 * the refusal of NUL bytes) keeps a binary file from being read whole. */
#define MAZE_LINE_MAX (2 * 1000 * 1000 + 1024)

static int load_csv(const char *path, maze_set *s, trm_err *err) {
    FILE *fp = util_open_text(path, err);
    if (!fp) return -1;
    char *line = malloc(MAZE_LINE_MAX + 1);
    int cap = 0, rc = line ? 0 : trm_errf(err, "%s: out of memory", path), r;
    int32_t *buf = NULL;
    csv_layout c = {0};
    trm_err le;
    for (long ln = 1; rc == 0 && (r = util_read_line(fp, line, MAZE_LINE_MAX + 1, &le)) != 0; ln++) {
        if (r < 0) {
            rc = trm_errf(err, "%s:%ld: %s", path, ln, le.msg);
            break;
        }
        size_t got = strlen(line);
        while (got > 0 && line[got - 1] == '\r') line[--got] = 0;
        if (got == 0) continue; /* blank line (a maze row is never empty) */
        if (!c.header_seen) { /* the first line: a header, or already a maze */
            int h = read_header(path, ln, line, &c, err);
            if (h < 0) rc = -1;
            if (h != 0) continue;
        }
        rc = read_maze_line(path, ln, line, &c, s, &cap, &buf, err);
    }
    if (rc == 0 && s->n == 0) rc = trm_errf(err, "%s: no mazes found; expected question,answer CSV lines", path);
    free(line);
    free(buf);
    if (fp != stdin) fclose(fp);
    return rc;
}

/* A split directory of the reference format: inputs and labels [N, n*n]. */
static int load_npy(const char *dir, maze_set *s, trm_err *err) {
    char pi[4200], pl[4200];
    snprintf(pi, sizeof pi, "%s/all__inputs.npy", dir);
    snprintf(pl, sizeof pl, "%s/all__labels.npy", dir);
    npy_shape si, sl;
    int32_t *in = npy_read_i32(pi, &si, err), *lab = in ? npy_read_i32(pl, &sl, err) : NULL;
    int rc = 0, cap = 0;
    if (!lab) rc = -1;
    else if (si.ndim != 2 || si.shape[1] > (1 << 24) || !maze_side((int)si.shape[1]))
        rc = trm_errf(err, "%s: shape must be [N, n*n] with a side n >= 2", pi);
    else if (sl.ndim != 2 || sl.shape[0] != si.shape[0] || sl.shape[1] != si.shape[1])
        rc = trm_errf(err, "%s: shape differs from %s's [%lld, %lld]", pl, pi, (long long)si.shape[0],
                      (long long)si.shape[1]);
    else if (si.shape[0] == 0) rc = trm_errf(err, "%s: no mazes (0 rows)", pi);
    if (rc == 0) s->seq_len = (int)si.shape[1];
    for (int64_t r = 0; rc == 0 && r < si.shape[0]; r++) {
        trm_err e;
        const int32_t *q = in + r * s->seq_len, *a = lab + r * s->seq_len;
        if (maze_check_pair(q, a, s->seq_len, &e)) rc = trm_errf(err, "%s: row %lld: %s", pi, (long long)r, e.msg);
        else if (set_add(s, &cap, q, a, (long)r)) rc = trm_errf(err, "%s: out of memory", pi);
    }
    free(in);
    free(lab);
    return rc;
}

int maze_load(const char *path, maze_set *s, trm_err *err) {
    memset(s, 0, sizeof *s);
    struct stat st;
    if (stat(path, &st)) return trm_errf(err, "%s: %s", path, strerror(errno));
    int rc;
    if (S_ISDIR(st.st_mode)) {
        char probe[4200];
        snprintf(probe, sizeof probe, "%s/all__inputs.npy", path);
        if (stat(probe, &st) == 0) rc = load_npy(path, s, err);
        else {
            snprintf(probe, sizeof probe, "%s/train", path);
            rc = stat(probe, &st) == 0
                     ? trm_errf(err, "%s: a dataset directory; name one of its splits (%s/train or %s/test)", path, path, path)
                     : trm_errf(err, "%s: no all__inputs.npy; expected a CSV file or a dataset split directory", path);
        }
    } else {
        rc = load_csv(path, s, err);
    }
    if (rc) maze_set_free(s);
    return rc;
}
