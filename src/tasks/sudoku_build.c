/* sudoku_build.c - leak check and rating distributions for the Sudoku
 * dataset builders (see sudoku_build.h). */
#include <stdlib.h>
#include <string.h>

#include "tasks/sudoku_build.h"

/* ---------------------------------------------------------------- grid keys */

/* Digits renamed by order of first appearance; blanks (0) stay 0. */
static void relabel(const int8_t g[81], uint8_t out[81]) {
    uint8_t map[10] = {0};
    uint8_t next = 1;
    for (int i = 0; i < 81; i++) {
        int d = g[i];
        if (d < 1 || d > 9) {
            out[i] = 0;
            continue;
        }
        if (!map[d]) map[d] = next++;
        out[i] = map[d];
    }
}

void sudoku_grid_key(const int8_t grid[81], uint8_t key[81]) {
    int8_t t[81];
    uint8_t kt[81];
    for (int r = 0; r < 9; r++)
        for (int c = 0; c < 9; c++) t[c * 9 + r] = grid[r * 9 + c];
    relabel(grid, key);
    relabel(t, kt);
    if (memcmp(kt, key, 81) < 0) memcpy(key, kt, 81);
}

/* ---------------------------------------------------------------- key sets */

int sudoku_keyset_add(sudoku_keyset *s, const int8_t *grids, int n) {
    if (s->n + n > s->cap) {
        int cap = s->n + n > 2 * s->cap ? s->n + n : 2 * s->cap; /* one at a time stays linear */
        uint8_t *k = realloc(s->keys, (size_t)(cap ? cap : 1) * 81);
        if (!k) return -1;
        s->keys = k;
        s->cap = cap;
    }
    for (int k = 0; k < n; k++) sudoku_grid_key(grids + (size_t)k * 81, s->keys + (size_t)(s->n + k) * 81);
    s->n += n;
    return 0;
}

static int cmp_key(const void *x, const void *y) { return memcmp(x, y, 81); }

void sudoku_keyset_seal(sudoku_keyset *s) {
    if (s->n) qsort(s->keys, (size_t)s->n, 81, cmp_key);
}

bool sudoku_keyset_has(const sudoku_keyset *s, const int8_t grid[81]) {
    uint8_t key[81];
    sudoku_grid_key(grid, key);
    return s->n && bsearch(key, s->keys, (size_t)s->n, 81, cmp_key) != NULL;
}

void sudoku_keyset_free(sudoku_keyset *s) {
    free(s->keys);
    memset(s, 0, sizeof *s);
}

int sudoku_mark_leaks(const int8_t *answers, int n, const sudoku_keyset *held, bool *keep) {
    int dropped = 0;
    for (int k = 0; k < n; k++)
        if (keep[k] && sudoku_keyset_has(held, answers + (size_t)k * 81)) keep[k] = false, dropped++;
    return dropped;
}

/* ---------------------------------------------------------------- rating stats */

static int cmp_long(const void *x, const void *y) {
    long a = *(const long *)x, b = *(const long *)y;
    return (a > b) - (a < b);
}

/* Bin of v: 0 for v <= 0, else 1 + floor(log2 v). */
static int hist_bin(long v) {
    int b = 0;
    while (v > 0 && b < SUDOKU_HIST_BINS - 1) v >>= 1, b++;
    return b;
}

/* Nearest rank: the smallest value with at least p of the values <= it. */
static long quantile(const long *sorted, long n, double p) {
    long r = (long)(p * (double)n + 0.999999);
    return sorted[r < 1 ? 0 : r > n ? n - 1 : r - 1];
}

int sudoku_rating_stats_of(const long *v, const int *idx, int n, sudoku_rating_stats *st) {
    memset(st, 0, sizeof *st);
    if (n <= 0) return 0;
    long *s = malloc(sizeof(long) * (size_t)n);
    if (!s) return -1;
    double sum = 0;
    for (int k = 0; k < n; k++) {
        s[k] = v[idx ? idx[k] : k];
        sum += (double)s[k];
    }
    qsort(s, (size_t)n, sizeof(long), cmp_long);
    *st = (sudoku_rating_stats){n, s[0], s[n - 1], quantile(s, n, 0.10), quantile(s, n, 0.25),
                                quantile(s, n, 0.50), quantile(s, n, 0.75), quantile(s, n, 0.90),
                                quantile(s, n, 0.99), sum / n, {0}};
    for (int k = 0; k < n; k++) st->hist[hist_bin(s[k])]++;
    free(s);
    return 0;
}

static void stats_json(FILE *f, const sudoku_rating_stats *st) {
    fprintf(f, "{\"min\":%ld,\"p10\":%ld,\"p25\":%ld,\"median\":%ld,\"p75\":%ld,\"p90\":%ld,\"p99\":%ld,"
            "\"max\":%ld,\"mean\":%.2f,\"hist\":{", st->min, st->p10, st->p25, st->p50, st->p75, st->p90,
            st->p99, st->max, st->mean);
    const char *sep = "";
    for (int b = 0; b < SUDOKU_HIST_BINS; b++) {
        if (!st->hist[b]) continue;
        long lo = b ? 1L << (b - 1) : 0, hi = b ? (long)((1UL << b) - 1) : 0;
        if (lo == hi) fprintf(f, "%s\"%ld\":%ld", sep, lo, st->hist[b]);
        else fprintf(f, "%s\"%ld-%ld\":%ld", sep, lo, hi, st->hist[b]);
        sep = ",";
    }
    fprintf(f, "}}");
}

int sudoku_split_rating_json(FILE *f, const long *nodes, const long *backtracks, const int *idx, int n) {
    sudoku_rating_stats sn, sb;
    if (sudoku_rating_stats_of(nodes, idx, n, &sn) || sudoku_rating_stats_of(backtracks, idx, n, &sb)) return -1;
    fprintf(f, "{\"puzzles\":%d,\"nodes\":", n);
    stats_json(f, &sn);
    fprintf(f, ",\"backtracks\":");
    stats_json(f, &sb);
    fputc('}', f);
    return 0;
}

/* ---------------------------------------------------------------- per-puzzle CSV */

void sudoku_write_ratings_csv(FILE *f, const char *split, const int8_t *q, const int8_t *a, const long *nodes,
                              const long *backtracks, const int *idx, int n) {
    char qs[82], as[82];
    for (int k = 0; k < n; k++) {
        int j = idx ? idx[k] : k;
        for (int i = 0; i < 81; i++) {
            int8_t v = q[(size_t)j * 81 + i];
            qs[i] = v >= 1 && v <= 9 ? (char)('0' + v) : '.';
            as[i] = (char)('0' + a[(size_t)j * 81 + i]);
        }
        qs[81] = as[81] = 0;
        fprintf(f, "%s,%s,%s,%ld,%ld\n", split, qs, as, nodes[j], backtracks[j]);
    }
}
