/* sudoku4.c - 4x4 Sudoku by enumeration (288 grids). */
#include <stdbool.h>
#include <string.h>

#include <stdlib.h>

#include "core/rng.h"
#include "data/dataset.h"
#include "tasks/sudoku4.h"

static int8_t g_grids[SUDOKU4_GRIDS][16];
static int g_n;

static bool fits(const int8_t *g, int cell, int v) {
    int r = cell / 4, c = cell % 4, br = r / 2 * 2, bc = c / 2 * 2;
    for (int i = 0; i < 4; i++)
        if (g[r * 4 + i] == v || g[i * 4 + c] == v || g[(br + i / 2) * 4 + bc + i % 2] == v) return false;
    return true;
}

static void fill(int8_t *g, int cell) {
    if (cell == 16) {
        memcpy(g_grids[g_n++], g, 16);
        return;
    }
    for (int v = 1; v <= 4; v++)
        if (fits(g, cell, v)) {
            g[cell] = (int8_t)v;
            fill(g, cell + 1);
            g[cell] = 0;
        }
}

const int8_t (*sudoku4_grids(void))[16] {
    /* one-time enumeration; callers are single-threaded at build time */
    if (g_n == 0) {
        int8_t g[16] = {0};
        fill(g, 0);
    }
    return (const int8_t(*)[16])g_grids;
}

int sudoku4_count(const int8_t q[16]) {
    const int8_t(*grids)[16] = sudoku4_grids();
    int n = 0;
    for (int k = 0; k < SUDOKU4_GRIDS; k++) {
        bool ok = true;
        for (int i = 0; i < 16 && ok; i++) ok = q[i] == 0 || q[i] == grids[k][i];
        n += ok;
    }
    return n;
}

void sudoku4_random(int8_t q[16], int8_t a[16], int blanks, uint64_t rng[4]) {
    const int8_t(*grids)[16] = sudoku4_grids();
    memcpy(a, grids[rng_int(rng, 0, SUDOKU4_GRIDS - 1)], 16);
    for (int tries = 0;; tries++) {
        if (tries > 0 && tries % 100 == 0 && blanks > 0) blanks--;
        int cells[16];
        for (int i = 0; i < 16; i++) cells[i] = i;
        memcpy(q, a, 16);
        for (int i = 0; i < blanks; i++) {
            int j = rng_int(rng, i, 15), t = cells[i];
            cells[i] = cells[j], cells[j] = t;
            q[cells[i]] = 0;
        }
        if (sudoku4_count(q) == 1) return;
    }
}

/* ------------------------------------------------------------ datasets */

/* A set of 4x4 questions, each packed base 5 into a nonzero key. */
typedef struct { uint64_t *key; size_t mask; } keyset;

static int keyset_init(keyset *s, long n) {
    size_t cap = 16;
    while (cap < 2 * (size_t)n) cap *= 2;
    s->mask = cap - 1;
    return (s->key = calloc(cap, sizeof(uint64_t))) ? 0 : -1;
}

/* Inserts k; returns true if it was already there. */
static bool keyset_add(keyset *s, uint64_t k) {
    for (size_t h = (k * 0x9E3779B97F4A7C15ull) & s->mask;; h = (h + 1) & s->mask) {
        if (s->key[h] == k) return true;
        if (s->key[h] == 0) { s->key[h] = k; return false; }
    }
}

/* Draws distinct puzzles (by question) into one split. */
static int sudoku4_split(trm_split_writer *w, int n, int blanks, uint64_t rng[4], keyset *seen, trm_err *e) {
    for (int k = 0, tries = 0; k < n; tries++) {
        if (tries > 1000 * (n + 10)) return trm_errf(e, "only %d distinct puzzles with %d blanks found", k, blanks);
        int8_t q[16], a[16];
        sudoku4_random(q, a, blanks, rng);
        uint64_t key = 1;
        for (int i = 0; i < 16; i++) key = key * 5 + (uint64_t)q[i];
        if (keyset_add(seen, key)) continue;
        int32_t in[16], lab[16];
        for (int i = 0; i < 16; i++) in[i] = q[i] + 1, lab[i] = a[i] + 1;
        if (split_writer_group(w, e) || split_writer_puzzle(w, 0, e) ||
            split_writer_example(w, in, lab, e))
            return -1;
        k++;
    }
    return 0;
}

int sudoku4_build(const char *dir, long n_train, long n_test, int blanks, uint64_t seed, trm_err *err) {
    static const char *const names[1] = {"<blank>"};
    uint64_t rng[4];
    rng_seed(rng, seed);
    keyset seen = {0};
    trm_split_writer *train = split_writer_new(SUDOKU4_CELLS, SUDOKU4_VOCAB);
    trm_split_writer *test = split_writer_new(SUDOKU4_CELLS, SUDOKU4_VOCAB);
    int rc = -1;
    if (!train || !test || keyset_init(&seen, n_train + n_test)) {
        trm_errf(err, "out of memory");
        goto done;
    }
    /* test first, so train can never contain a test question */
    if (sudoku4_split(test, (int)n_test, blanks, rng, &seen, err) ||
        sudoku4_split(train, (int)n_train, blanks, rng, &seen, err))
        goto done;
    if (split_writer_finish(train, dir, "train", 1, err) || split_writer_finish(test, dir, "test", 1, err) ||
        dataset_write_identifiers(dir, names, 1, err))
        goto done;
    rc = 0;
done:
    free(seen.key);
    split_writer_free(train);
    split_writer_free(test);
    return rc;
}
