/* sudoku4.c - 4x4 Sudoku by enumeration (288 grids). */
#include <stdbool.h>
#include <string.h>

#include "core/rng.h"
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
