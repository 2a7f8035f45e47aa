/* sudoku.c - the Sudoku task (spec 4.2): collection parsing, an exact
 * solver, validity-preserving augmentation, a puzzle generator, tokens.
 *
 * The solver keeps, per digit, bitboards of the cells it may still take,
 * one 27-bit word per band of three rows, so every row, column and box of
 * a digit is checked with a few word operations. Each search node applies
 * naked singles, hidden singles and locked candidates to a fixpoint, then
 * guesses on a two-candidate cell (the one whose guess eliminates most).
 * On one core that is ~0.15 ms to solve and ~0.25 ms to prove unique for
 * an average forum-hardest puzzle, and the node count of the uniqueness
 * search is the difficulty rating (sudoku_set.nodes, --min-nodes), with
 * its dead ends (contradictions, sudoku_set.backtracks) as a second one. */
#include <ctype.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "core/rng.h"
#include "core/util.h"
#include "tasks/sudoku.h"

/* ---------------------------------------------------------------- geometry */

/* Cells of each unit: rows, then columns, then boxes (row-major inside). */
static const int8_t UNIT[27][9] = {
    { 0,  1,  2,  3,  4,  5,  6,  7,  8}, { 9, 10, 11, 12, 13, 14, 15, 16, 17},
    {18, 19, 20, 21, 22, 23, 24, 25, 26}, {27, 28, 29, 30, 31, 32, 33, 34, 35},
    {36, 37, 38, 39, 40, 41, 42, 43, 44}, {45, 46, 47, 48, 49, 50, 51, 52, 53},
    {54, 55, 56, 57, 58, 59, 60, 61, 62}, {63, 64, 65, 66, 67, 68, 69, 70, 71},
    {72, 73, 74, 75, 76, 77, 78, 79, 80},
    { 0,  9, 18, 27, 36, 45, 54, 63, 72}, { 1, 10, 19, 28, 37, 46, 55, 64, 73},
    { 2, 11, 20, 29, 38, 47, 56, 65, 74}, { 3, 12, 21, 30, 39, 48, 57, 66, 75},
    { 4, 13, 22, 31, 40, 49, 58, 67, 76}, { 5, 14, 23, 32, 41, 50, 59, 68, 77},
    { 6, 15, 24, 33, 42, 51, 60, 69, 78}, { 7, 16, 25, 34, 43, 52, 61, 70, 79},
    { 8, 17, 26, 35, 44, 53, 62, 71, 80},
    { 0,  1,  2,  9, 10, 11, 18, 19, 20}, { 3,  4,  5, 12, 13, 14, 21, 22, 23},
    { 6,  7,  8, 15, 16, 17, 24, 25, 26}, {27, 28, 29, 36, 37, 38, 45, 46, 47},
    {30, 31, 32, 39, 40, 41, 48, 49, 50}, {33, 34, 35, 42, 43, 44, 51, 52, 53},
    {54, 55, 56, 63, 64, 65, 72, 73, 74}, {57, 58, 59, 66, 67, 68, 75, 76, 77},
    {60, 61, 62, 69, 70, 71, 78, 79, 80},
};

/* ---------------------------------------------------------------- solver */

/* Bitboards by band: a band is 3 rows, 27 cells, one 27-bit word with
 * bit r*9+c for row r of the band (0-2) and column c. Cell i lives in
 * band i/27 at bit i%27. Rows, boxes and the band's part of a column are
 * then constant masks, and all 27 units of a digit are checked with a
 * few dozen word operations. */
#define BAND 0x7FFFFFFu
#define ROW9 0x1FFu
static inline uint32_t row_mask(int r) { return ROW9 << (9 * r); }
static inline uint32_t col_mask(int c) { return 0x40201u << c; }
static inline uint32_t box_mask(int j) { return 0x1C0E07u << (3 * j); }

typedef struct {
    uint32_t cand[9][3];   /* blank cells where digit d+1 may go, per band */
    uint32_t placed[9][3]; /* cells holding digit d+1 */
    uint32_t blank[3];
    /* digits whose candidates changed since hidden singles (bit d) and
     * locked candidates last looked at them: the rules revisit only these */
    uint16_t dirty_hidden, dirty_locked;
} board;

typedef struct {
    int max, count;
    long nodes, backtracks;
    int8_t *solution;
    uint64_t *rng;   /* non-NULL: try a node's digits in random order */
} search;

/* Digit d (0-based) into blank cell p (0-26) of band b. */
static inline void place(board *s, int b, int p, int d) {
    uint32_t bit = 1u << p;
    int r = p / 9, c = p % 9;
    unsigned touched = 1u << d;
    for (int e = 0; e < 9; e++)
        if (s->cand[e][b] & bit) s->cand[e][b] &= ~bit, touched |= 1u << e;
    s->dirty_hidden |= touched;
    s->dirty_locked |= touched;
    s->cand[d][b] &= ~(row_mask(r) | box_mask(c / 3));
    for (int k = 0; k < 3; k++) s->cand[d][k] &= ~col_mask(c);
    s->placed[d][b] |= bit;
    s->blank[b] &= ~bit;
}

/* Loads the givens; false when they already clash (or a cell is out of
 * range), i.e. the puzzle has no solution. */
static bool board_init(board *s, const int8_t q[81]) {
    s->dirty_hidden = s->dirty_locked = 0x1FF;
    for (int b = 0; b < 3; b++) {
        s->blank[b] = BAND;
        for (int d = 0; d < 9; d++) s->cand[d][b] = BAND, s->placed[d][b] = 0;
    }
    for (int i = 0; i < 81; i++) {
        if (q[i] == 0) continue;
        if (q[i] < 0 || q[i] > 9 || !(s->cand[q[i] - 1][i / 27] & (1u << (i % 27)))) return false;
        place(s, i / 27, i % 27, q[i] - 1);
    }
    return true;
}

/* Cells with exactly one candidate get it. Returns the number placed, or
 * -1 when a blank has no candidate left. */
static int naked_singles(board *s) {
    int placed = 0;
    for (int b = 0; b < 3; b++) {
        uint32_t ones = 0, twos = 0;
        for (int d = 0; d < 9; d++) {
            twos |= ones & s->cand[d][b];
            ones |= s->cand[d][b];
        }
        if (s->blank[b] & ~ones) return -1;
        for (uint32_t m = ones & ~twos; m; m &= m - 1) {
            int p = __builtin_ctz(m), d = 0;
            /* an earlier single of this batch may have taken the candidate */
            while (d < 9 && !(s->cand[d][b] & (1u << p))) d++;
            if (d == 9) return -1;
            place(s, b, p, d);
            placed++;
        }
    }
    return placed;
}

/* Bit 3j set when the 3-bit group j of x has exactly one bit. */
static inline uint32_t groups_with_one(uint32_t x) {
    uint32_t a = x & 0x49, b = (x >> 1) & 0x49, c = (x >> 2) & 0x49;
    return (a ^ b ^ c) & ~(a & b & c);
}

/* Whether digit d has a place (a candidate or itself) in every unit. */
static bool digit_feasible(const board *s, int d) {
    uint32_t cols = 0;
    for (int b = 0; b < 3; b++) {
        uint32_t a = s->cand[d][b] | s->placed[d][b];
        uint32_t r0 = a & ROW9, r1 = (a >> 9) & ROW9, r2 = a >> 18, o = r0 | r1 | r2;
        if (!r0 || !r1 || !r2 || ((o | o >> 1 | o >> 2) & 0x49) != 0x49) return false;
        cols |= o;
    }
    return cols == ROW9;
}

/* Cells that are digit d's only candidate in their row, column or box. */
static void sole_cells(const board *s, int d, uint32_t out[3]) {
    uint32_t o[3], t[3];
    for (int b = 0; b < 3; b++) {
        uint32_t w = s->cand[d][b], r0 = w & ROW9, r1 = (w >> 9) & ROW9, r2 = w >> 18;
        o[b] = r0 | r1 | r2;            /* columns with >= 1 candidate in the band */
        t[b] = (r0 & r1) | ((r0 | r1) & r2); /* ... with >= 2 */
        out[b] = 0;
        for (int k = 0; k < 3; k++) {
            uint32_t x = (w >> (9 * k)) & ROW9;
            if (x && !(x & (x - 1))) out[b] |= x << (9 * k);
        }
        uint32_t boxes = groups_with_one(o[b]) & ~((t[b] | t[b] >> 1 | t[b] >> 2) & 0x49);
        for (int j = 0; j < 3; j++)
            if (boxes & (1u << (3 * j))) out[b] |= w & box_mask(j);
    }
    uint32_t once = o[0] | o[1] | o[2];
    uint32_t twice = t[0] | t[1] | t[2] | (o[0] & o[1]) | ((o[0] | o[1]) & o[2]);
    uint32_t cs = once & ~twice;
    for (int b = 0; b < 3; b++) out[b] |= s->cand[d][b] & (cs | cs << 9 | cs << 18);
}

/* Digits with a single possible cell in some unit go there. Returns the
 * number placed, or -1 when a digit has no place left in some unit. */
static int hidden_singles(board *s) {
    int placed = 0;
    for (int d = 0; d < 9; d++) {
        if (!(s->dirty_hidden & (1u << d))) continue;
        s->dirty_hidden &= ~(1u << d); /* place() sets it again if d moves */
        if (!digit_feasible(s, d)) return -1;
        uint32_t sole[3];
        sole_cells(s, d, sole);
        for (int b = 0; b < 3; b++)
            for (uint32_t m = sole[b]; m; m &= m - 1) {
                int p = __builtin_ctz(m);
                /* gone since: another sole cell of d or another digit took
                 * it, and either way a unit now lacks d */
                if (!(s->cand[d][b] & (1u << p))) return -1;
                place(s, b, p, d);
                placed++;
            }
    }
    return placed;
}

/* Locked candidates inside one band for digit d: a box whose cells lie in
 * one row clear that row elsewhere (pointing); a row whose cells lie in
 * one box clear that box elsewhere (claiming). */
static uint32_t lock_rows(uint32_t w) {
    for (int j = 0; j < 3; j++) {
        uint32_t in = w & box_mask(j);
        for (int k = 0; k < 3; k++)
            if (in && !(in & ~row_mask(k))) w &= ~(row_mask(k) & ~box_mask(j));
    }
    for (int k = 0; k < 3; k++) {
        uint32_t in = w & row_mask(k);
        for (int j = 0; j < 3; j++)
            if (in && !(in & ~box_mask(j))) w &= ~(box_mask(j) & ~row_mask(k));
    }
    return w;
}

/* The same across bands for columns: a box whose cells lie in one column
 * clears it in the other bands; a column whose cells lie in one band's
 * box clears the box's other columns. */
static void lock_cols(uint32_t w[3]) {
    for (int b = 0; b < 3; b++)
        for (int j = 0; j < 3; j++) {
            uint32_t in = w[b] & box_mask(j);
            uint32_t cols = ((in | in >> 9 | in >> 18) >> (3 * j)) & 7;
            if (!cols || (cols & (cols - 1))) continue;
            int c = 3 * j + __builtin_ctz(cols);
            for (int k = 0; k < 3; k++)
                if (k != b) w[k] &= ~col_mask(c);
        }
    for (int c = 0; c < 9; c++) {
        int bands = 0, last = 0;
        for (int b = 0; b < 3; b++)
            if (w[b] & col_mask(c)) bands++, last = b;
        if (bands == 1) w[last] &= ~(box_mask(c / 3) & ~col_mask(c));
    }
}

/* Returns whether anything was eliminated. Cheap next to the search it
 * saves on hard puzzles. */
static bool locked_candidates(board *s) {
    bool changed = false;
    for (int d = 0; d < 9; d++) {
        if (!(s->dirty_locked & (1u << d))) continue;
        s->dirty_locked &= ~(1u << d);
        uint32_t w[3];
        for (int b = 0; b < 3; b++) w[b] = lock_rows(s->cand[d][b]);
        lock_cols(w);
        for (int b = 0; b < 3; b++)
            if (w[b] != s->cand[d][b]) {
                s->cand[d][b] = w[b];
                s->dirty_hidden |= 1u << d;
                s->dirty_locked |= 1u << d;
                changed = true;
            }
    }
    return changed;
}

/* Deductions to a fixpoint: -1 on a contradiction, else 0. Cheaper rules
 * first; each success starts over from the cheapest. */
static int propagate(board *s) {
    for (;;) {
        int n = naked_singles(s);
        if (n < 0) return -1;
        if (n > 0) continue;
        if (!(s->blank[0] | s->blank[1] | s->blank[2])) return 0;
        n = hidden_singles(s);
        if (n < 0) return -1;
        if (n > 0) continue;
        if (!locked_candidates(s)) return 0;
    }
}

/* Portable popcount: without -mpopcnt, __builtin_popcount is a libgcc
 * call, which costs more than this on 27-bit words. */
static inline int popcount32(uint32_t x) {
    x = x - ((x >> 1) & 0x55555555u);
    x = (x & 0x33333333u) + ((x >> 2) & 0x33333333u);
    x = (x + (x >> 4)) & 0x0F0F0F0Fu;
    return (int)((x * 0x01010101u) >> 24);
}

/* How many candidates of cell (b, p)'s digits its peers hold: what a
 * guess there eliminates. */
static int guess_reach(const board *s, int b, int p) {
    int r = p / 9, c = p % 9, n = 0;
    for (int d = 0; d < 9; d++) {
        if (!(s->cand[d][b] & (1u << p))) continue;
        n += popcount32(s->cand[d][b] & (row_mask(r) | box_mask(c / 3)));
        for (int k = 0; k < 3; k++)
            if (k != b) n += popcount32(s->cand[d][k] & col_mask(c));
    }
    return n;
}

/* The cell to guess on, as band * 27 + bit: among the two-candidate cells
 * (there almost always are some once singles stall) the one whose guess
 * eliminates most, which cuts the search of hard puzzles 2-5x against the
 * first such cell; else the blank with the fewest candidates. */
static int branch_cell(const board *s) {
    int best = -1, best_n = -1;
    for (int b = 0; b < 3; b++) {
        uint32_t ones = 0, twos = 0, threes = 0;
        for (int d = 0; d < 9; d++) {
            threes |= twos & s->cand[d][b];
            twos |= ones & s->cand[d][b];
            ones |= s->cand[d][b];
        }
        for (uint32_t m = twos & ~threes; m; m &= m - 1) {
            int p = __builtin_ctz(m), n = guess_reach(s, b, p);
            if (n > best_n) best_n = n, best = 27 * b + p;
        }
    }
    if (best >= 0) return best;
    best_n = 10;
    for (int b = 0; b < 3; b++)
        for (uint32_t m = s->blank[b]; m; m &= m - 1) {
            int p = __builtin_ctz(m), n = 0;
            for (int d = 0; d < 9; d++) n += (s->cand[d][b] >> p) & 1;
            if (n < best_n) best_n = n, best = 27 * b + p;
        }
    return best;
}

/* The candidate digits (0-based) of cell i, in increasing or (with rng)
 * random order. */
static int digit_order(const board *s, int i, uint64_t *rng, int out[9]) {
    int n = 0;
    for (int d = 0; d < 9; d++)
        if (s->cand[d][i / 27] & (1u << (i % 27))) out[n++] = d;
    for (int k = n - 1; rng && k > 0; k--) {
        int j = rng_int(rng, 0, k), t = out[k];
        out[k] = out[j];
        out[j] = t;
    }
    return n;
}

static void found(search *se, const board *s) {
    if (se->count++ > 0 || !se->solution) return;
    for (int d = 0; d < 9; d++)
        for (int b = 0; b < 3; b++)
            for (uint32_t m = s->placed[d][b]; m; m &= m - 1)
                se->solution[27 * b + __builtin_ctz(m)] = (int8_t)(d + 1);
}

static void search_node(search *se, board *s) {
    se->nodes++;
    if (propagate(s) < 0) {
        se->backtracks++; /* a dead end: the search goes back up */
        return;
    }
    if (!(s->blank[0] | s->blank[1] | s->blank[2])) {
        found(se, s);
        return;
    }
    int i = branch_cell(s), digits[9], n = digit_order(s, i, se->rng, digits);
    for (int k = 0; k < n && se->count < se->max; k++) {
        board child = *s;
        place(&child, i / 27, i % 27, digits[k]);
        search_node(se, &child);
    }
}

static int solve_with(const int8_t q[81], int8_t solution[81], int max_solutions, sudoku_rating *r,
                      uint64_t *rng) {
    search se = {max_solutions < 1 ? 1 : max_solutions, 0, 0, 0, solution, rng};
    board s;
    if (board_init(&s, q)) search_node(&se, &s);
    if (r) *r = (sudoku_rating){se.nodes, se.backtracks};
    return se.count;
}

int sudoku_solve_rated(const int8_t q[81], int8_t solution[81], int max_solutions, sudoku_rating *r) {
    return solve_with(q, solution, max_solutions, r, NULL);
}

int sudoku_solve(const int8_t q[81], int8_t solution[81], int max_solutions, long *nodes) {
    sudoku_rating r;
    int count = solve_with(q, solution, max_solutions, &r, NULL);
    if (nodes) *nodes = r.nodes;
    return count;
}

/* ---------------------------------------------------------------- rules */

int sudoku_violations(const int8_t grid[81], const int8_t givens[81]) {
    int v = 0;
    for (int u = 0; u < 27; u++) {
        int seen[10] = {0};
        for (int k = 0; k < 9; k++) {
            int d = grid[UNIT[u][k]];
            if (d >= 1 && d <= 9 && seen[d]++) v++;
        }
    }
    for (int i = 0; i < 81; i++) {
        if (grid[i] < 1 || grid[i] > 9) v++;
        else if (givens && givens[i] && givens[i] != grid[i]) v++;
    }
    return v;
}

/* ---------------------------------------------------------------- augmentation */

/* In-place Fisher-Yates shuffle of n ints. */
static void shuffle(int *a, int n, uint64_t rng[4]) {
    for (int k = n - 1; k > 0; k--) {
        int j = rng_int(rng, 0, k), t = a[k];
        a[k] = a[j];
        a[j] = t;
    }
}

/* 3 groups in random order, each with its 3 lines in random order: the
 * reference's band/row (and stack/column) permutation. */
static void line_perm(int perm[9], uint64_t rng[4]) {
    int groups[3] = {0, 1, 2};
    shuffle(groups, 3, rng);
    for (int g = 0; g < 3; g++) {
        int lines[3] = {0, 1, 2};
        shuffle(lines, 3, rng);
        for (int k = 0; k < 3; k++) perm[g * 3 + k] = groups[g] * 3 + lines[k];
    }
}

/* Draws in the reference's order (shuffle_sudoku): digit map, transpose
 * flag, rows, columns. */
void sudoku_augment(const int8_t q[81], const int8_t a[81], int8_t q_out[81], int8_t a_out[81],
                    uint64_t rng[4]) {
    int digit_map[10] = {0, 1, 2, 3, 4, 5, 6, 7, 8, 9}, rows[9], cols[9];
    shuffle(digit_map + 1, 9, rng);
    bool transpose = rng_uniform(rng) < 0.5f;
    line_perm(rows, rng);
    line_perm(cols, rng);
    for (int i = 0; i < 9; i++)
        for (int j = 0; j < 9; j++) {
            int r = rows[i], c = cols[j], src = transpose ? c * 9 + r : r * 9 + c;
            int qv = q[src], av = a[src];
            q_out[i * 9 + j] = (int8_t)(qv >= 0 && qv <= 9 ? digit_map[qv] : qv);
            a_out[i * 9 + j] = (int8_t)(av >= 0 && av <= 9 ? digit_map[av] : av);
        }
}

/* ---------------------------------------------------------------- generator */

/* Removes clues of q in random order, each only if the solution stays
 * unique. One pass leaves a minimal puzzle: a clue that was needed with
 * more clues present is still needed with fewer. */
static void remove_clues(int8_t q[81], uint64_t rng[4]) {
    int order[81];
    for (int i = 0; i < 81; i++) order[i] = i;
    shuffle(order, 81, rng);
    for (int k = 0; k < 81; k++) {
        int i = order[k];
        int8_t v = q[i];
        if (!v) continue;
        q[i] = 0;
        if (sudoku_solve(q, NULL, 2, NULL) != 1) q[i] = v;
    }
}

static long difficulty(const int8_t q[81]) {
    long nodes;
    sudoku_solve(q, NULL, 2, &nodes);
    return nodes;
}

/* Hill climbing towards a difficulty: put one random clue of the solution
 * back, make the puzzle minimal again along another random order, and
 * keep the result unless it got easier. Random minimal puzzles are mostly
 * easy (over half need no guess), so plain retries would almost never
 * reach a few dozen nodes; a couple of hundred such steps do. */
#define HARDEN_STEPS 200
static long harden(int8_t q[81], const int8_t grid[81], long nodes, long target, uint64_t rng[4]) {
    for (int step = 0; step < HARDEN_STEPS && nodes < target; step++) {
        int8_t t[81];
        memcpy(t, q, 81);
        int i = rng_int(rng, 0, 80);
        while (t[i]) i = (i + 1) % 81; /* a minimal puzzle always has blanks */
        t[i] = grid[i];
        remove_clues(t, rng);
        long n = difficulty(t);
        if (n >= nodes) {
            memcpy(q, t, 81);
            nodes = n;
        }
    }
    return nodes;
}

int sudoku_generate(int8_t q[81], int8_t a[81], long min_nodes, int min_blanks, int max_tries,
                    uint64_t rng[4]) {
    for (int t = 0; t < max_tries; t++) {
        int8_t empty[81] = {0}, grid[81];
        solve_with(empty, grid, 1, NULL, rng); /* random digit order -> random full grid */
        memcpy(q, grid, 81);
        remove_clues(q, rng);
        long nodes = harden(q, grid, difficulty(q), min_nodes, rng);
        int blanks = 0;
        for (int i = 0; i < 81; i++) blanks += q[i] == 0;
        if (nodes >= min_nodes && blanks >= min_blanks) {
            memcpy(a, grid, 81);
            return 0;
        }
    }
    return -1;
}

/* ---------------------------------------------------------------- tokens */

void sudoku_to_tokens(const int8_t grid[81], int32_t tokens[81]) {
    for (int i = 0; i < 81; i++) tokens[i] = grid[i] + 1;
}

void sudoku_from_tokens(const int32_t tokens[81], int8_t grid[81]) {
    for (int i = 0; i < 81; i++) grid[i] = (int8_t)(tokens[i] >= 1 && tokens[i] <= 10 ? tokens[i] - 1 : 0);
}

/* ---------------------------------------------------------------- printing */

/* Without colour, a filled (non-given) cell carries a ' and a wrong one a
 * '*' so the two kinds stay distinguishable in logs and pipes. */
void sudoku_print(FILE *f, const int8_t grid[81], const int8_t givens[81], const int8_t *truth,
                  bool color) {
    for (int r = 0; r < 9; r++) {
        if (r && r % 3 == 0) fprintf(f, "----------+----------+---------\n");
        for (int c = 0; c < 9; c++) {
            int i = r * 9 + c, d = grid[i];
            bool given = givens && givens[i], wrong = truth && !given && d != truth[i];
            char ch = d >= 1 && d <= 9 ? (char)('0' + d) : '.';
            char mark = wrong ? '*' : (givens && !given && d ? '\'' : ' ');
            fprintf(f, "%s", c && c % 3 == 0 ? " |" : "");
            if (!color) fprintf(f, " %c%c", ch, mark);
            else if (wrong) fprintf(f, " \033[1;31m%c\033[0m ", ch);
            else if (givens && !given && d) fprintf(f, " \033[36m%c\033[0m ", ch);
            else fprintf(f, " %c ", ch);
        }
        fputc('\n', f);
    }
}

/* ---------------------------------------------------------------- parsing */

/* A field of a CSV line: [p, p + n), trimmed of spaces and one pair of
 * double quotes. */
typedef struct {
    const char *p;
    int n;
} field;

static field trim_field(const char *p, int n) {
    while (n > 0 && isspace((unsigned char)*p)) p++, n--;
    while (n > 0 && isspace((unsigned char)p[n - 1])) n--;
    if (n >= 2 && p[0] == '"' && p[n - 1] == '"') p++, n -= 2;
    return (field){p, n};
}

/* Splits line at commas into at most max fields; returns the count. */
static int split_fields(const char *line, field *out, int max) {
    int n = 0;
    const char *p = line;
    for (;;) {
        const char *comma = strchr(p, ',');
        int len = comma ? (int)(comma - p) : (int)strlen(p);
        if (n < max) out[n] = trim_field(p, len);
        n++;
        if (!comma) return n;
        p = comma + 1;
    }
}

/* A character for a message: printable ones as is, others as hex. */
static const char *show_char(char ch, char buf[8]) {
    if (isprint((unsigned char)ch)) snprintf(buf, 8, "'%c'", ch);
    else snprintf(buf, 8, "0x%02x", (unsigned char)ch);
    return buf;
}

static int parse_question(field f, int8_t q[81], trm_err *err) {
    char b[8];
    if (f.n != 81)
        return trm_errf(err, "expected 81 cells ('.' or '0' blank, '1'-'9'), got %d characters", f.n);
    for (int i = 0; i < 81; i++) {
        char ch = f.p[i];
        if (ch == '.' || ch == '0') q[i] = 0;
        else if (ch >= '1' && ch <= '9') q[i] = (int8_t)(ch - '0');
        else return trm_errf(err, "cell %d (row %d, column %d): expected '.', '0' or '1'-'9', got %s",
                             i + 1, i / 9 + 1, i % 9 + 1, show_char(ch, b));
    }
    return 0;
}

static int parse_answer(field f, int8_t a[81], trm_err *err) {
    char b[8];
    if (f.n != 81) return trm_errf(err, "answer: expected 81 digits '1'-'9', got %d characters", f.n);
    for (int i = 0; i < 81; i++) {
        char ch = f.p[i];
        if (ch < '1' || ch > '9')
            return trm_errf(err, "answer cell %d (row %d, column %d): expected a digit '1'-'9', got %s",
                            i + 1, i / 9 + 1, i % 9 + 1, show_char(ch, b));
        a[i] = (int8_t)(ch - '0');
    }
    return 0;
}

/* Question from field qcol, answer (when acol >= 0 and present) from acol. */
static int parse_columns(const char *line, int qcol, int acol, int8_t q[81], int8_t a[81],
                         bool *has_answer, trm_err *err) {
    field f[64];
    int n = split_fields(line, f, 64), need = (qcol > acol ? qcol : acol) + 1;
    if (n > 64) return trm_errf(err, "expected at most 64 comma-separated columns, got %d", n);
    if (n < need && (qcol > 0 || acol > 1))
        return trm_errf(err, "expected %d comma-separated columns (as in the header), got %d", need, n);
    if (parse_question(f[qcol], q, err)) return -1;
    *has_answer = acol >= 0 && acol < n;
    if (!*has_answer) return 0;
    if (f[acol].n == 0) return trm_errf(err, "expected an 81-digit answer after the comma, got nothing");
    return parse_answer(f[acol], a, err);
}

int sudoku_parse_line(const char *line, int8_t q[81], int8_t a[81], bool *has_answer, trm_err *err) {
    return parse_columns(line, 0, 1, q, a, has_answer, err);
}

/* ---------------------------------------------------------------- loading */

/* Column names accepted in a header (sapientinc uses question/answer;
 * other public dumps use puzzle/solution or quizzes/solutions). */
static bool name_is(field f, const char *const *names) {
    for (; *names; names++)
        if ((int)strlen(*names) == f.n && !strncasecmp(f.p, *names, f.n)) return true;
    return false;
}

/* A header is a first data line starting with a letter: finds the
 * question and answer (-1 if none) columns. */
static int parse_header(const char *line, int *qcol, int *acol, trm_err *err) {
    static const char *const QN[] = {"question", "puzzle", "quizzes", "quiz", NULL};
    static const char *const AN[] = {"answer", "solution", "solutions", NULL};
    field f[64];
    int n = split_fields(line, f, 64);
    *qcol = *acol = -1;
    for (int k = 0; k < n && k < 64; k++) {
        if (*qcol < 0 && name_is(f[k], QN)) *qcol = k;
        else if (*acol < 0 && name_is(f[k], AN)) *acol = k;
    }
    if (*qcol < 0)
        return trm_errf(err, "header has no 'question' column (expected e.g. question,answer or "
                        "source,question,answer,rating)");
    return 0;
}

/* The parsed lines of a file before checking: questions, answers as
 * given (has[k] false when absent) and line numbers for messages. */
typedef struct {
    int n, cap;
    int8_t *q, *a;
    bool *has;
    int *line;
} raw_set;

static int raw_push(raw_set *r, const int8_t q[81], const int8_t a[81], bool has, int line) {
    if (r->n == r->cap) {
        int cap = r->cap ? 2 * r->cap : 1024;
        int8_t *nq = realloc(r->q, (size_t)cap * 81), *na = nq ? realloc(r->a, (size_t)cap * 81) : NULL;
        if (nq) r->q = nq;
        if (na) r->a = na;
        bool *nh = na ? realloc(r->has, (size_t)cap) : NULL;
        if (nh) r->has = nh;
        int *nl = nh ? realloc(r->line, sizeof(int) * cap) : NULL;
        if (!nl) return -1;
        r->line = nl;
        r->cap = cap;
    }
    memcpy(r->q + (size_t)r->n * 81, q, 81);
    memcpy(r->a + (size_t)r->n * 81, a, 81);
    r->has[r->n] = has;
    r->line[r->n++] = line;
    return 0;
}

static void raw_free(raw_set *r) {
    free(r->q);
    free(r->a);
    free(r->has);
    free(r->line);
}

/* Strips the line ending and trailing blanks in place (CRLF files). */
static void chomp(char *s) {
    size_t n = strlen(s);
    while (n > 0 && isspace((unsigned char)s[n - 1])) s[--n] = 0;
}

/* Lines are bounded (TRM_LINE_MAX) and NUL-free: a binary file fails at
 * once instead of being read into memory. */
static int read_lines(const char *path, FILE *fp, raw_set *r, trm_err *err) {
    char *buf = malloc(TRM_LINE_MAX + 1);
    int lineno = 0, qcol = 0, acol = 1, rc = buf ? 0 : trm_errf(err, "%s: out of memory", path), got;
    bool first = true;
    trm_err le;
    while (rc == 0 && (got = util_read_line(fp, buf, TRM_LINE_MAX + 1, &le)) != 0) {
        lineno++;
        if (got < 0) {
            rc = trm_errf(err, "%s:%d: %s", path, lineno, le.msg);
            break;
        }
        chomp(buf);
        const char *s = buf;
        while (isspace((unsigned char)*s)) s++;
        if (!*s || *s == '#') continue;
        trm_err e;
        int8_t q[81], a[81];
        bool has;
        if (first && isalpha((unsigned char)*s)) {
            if (parse_header(s, &qcol, &acol, &e)) rc = trm_errf(err, "%s:%d: %s", path, lineno, e.msg);
        } else if (parse_columns(s, qcol, acol, q, a, &has, &e)) {
            rc = trm_errf(err, "%s:%d: %s", path, lineno, e.msg);
        } else if (raw_push(r, q, a, has, lineno)) {
            rc = trm_errf(err, "%s: out of memory after %d puzzles", path, r->n);
        }
        first = false;
    }
    free(buf);
    return rc;
}

enum { OK = 0, NO_SOLUTION, MANY_SOLUTIONS, ANSWER_BAD };

/* Solves puzzle k (up to 2 solutions: uniqueness) and checks a given
 * answer; fills the answer when absent. The nodes of this uniqueness
 * search are the difficulty rating. */
static int check_one(raw_set *r, int k, long *nodes, long *backtracks) {
    int8_t *q = r->q + (size_t)k * 81, *a = r->a + (size_t)k * 81, sol[81];
    *nodes = *backtracks = 0;
    if (r->has[k] && sudoku_violations(a, q)) return ANSWER_BAD;
    sudoku_rating rating;
    int count = sudoku_solve_rated(q, sol, 2, &rating);
    *nodes = rating.nodes, *backtracks = rating.backtracks;
    if (count == 0) return NO_SOLUTION;
    if (count > 1) return MANY_SOLUTIONS;
    if (r->has[k] && memcmp(sol, a, 81)) return ANSWER_BAD; /* unreachable: a valid answer is the solution */
    memcpy(a, sol, 81);
    return OK;
}

static int report(const char *path, const raw_set *r, int k, int status, trm_err *err) {
    const int8_t *q = r->q + (size_t)k * 81, *a = r->a + (size_t)k * 81;
    int line = r->line[k];
    if (status == NO_SOLUTION) return trm_errf(err, "%s:%d: the puzzle has no solution", path, line);
    if (status == MANY_SOLUTIONS)
        return trm_errf(err, "%s:%d: the puzzle has more than one solution", path, line);
    for (int i = 0; i < 81; i++)
        if (q[i] && q[i] != a[i])
            return trm_errf(err, "%s:%d: the answer contradicts the givens at cell %d (row %d, column %d)",
                            path, line, i + 1, i / 9 + 1, i % 9 + 1);
    return trm_errf(err, "%s:%d: the answer breaks the Sudoku rules (%d violations)", path, line,
                    sudoku_violations(a, NULL));
}

/* Checks every puzzle (in parallel: the hard collections take seconds
 * serially) and reports the first bad one in file order. */
static int check_all(const char *path, raw_set *r, long *nodes, long *backtracks, trm_err *err) {
    int *status = malloc(sizeof(int) * (r->n ? r->n : 1));
    if (!status) return trm_errf(err, "%s: out of memory for %d puzzles", path, r->n);
#pragma omp parallel for schedule(dynamic, 256)
    for (int k = 0; k < r->n; k++) status[k] = check_one(r, k, &nodes[k], &backtracks[k]);
    int rc = 0;
    for (int k = 0; k < r->n && rc == 0; k++)
        if (status[k] != OK) rc = report(path, r, k, status[k], err);
    free(status);
    return rc;
}

int sudoku_load(const char *path, sudoku_set *out, trm_err *err) {
    memset(out, 0, sizeof *out);
    FILE *fp = util_open_text(path, err);
    if (!fp) return -1;
    raw_set r = {0};
    int rc = read_lines(path, fp, &r, err);
    if (fp != stdin) fclose(fp);
    if (rc == 0 && r.n == 0) rc = trm_errf(err, "%s: no puzzles found (expected 81-cell lines or question,answer CSV)", path);
    long *nodes = rc == 0 ? malloc(sizeof(long) * r.n) : NULL;
    long *backtracks = nodes ? malloc(sizeof(long) * r.n) : NULL;
    if (rc == 0 && !backtracks) rc = trm_errf(err, "%s: out of memory for %d puzzles", path, r.n);
    if (rc == 0) rc = check_all(path, &r, nodes, backtracks, err);
    if (rc) {
        raw_free(&r);
        free(nodes);
        free(backtracks);
        return -1;
    }
    /* shrink-free hand-over: the raw arrays become the set's */
    *out = (sudoku_set){r.n, r.q, r.a, nodes, backtracks};
    free(r.has);
    free(r.line);
    return 0;
}

void sudoku_set_free(sudoku_set *s) {
    if (!s) return;
    free(s->q);
    free(s->a);
    free(s->nodes);
    free(s->backtracks);
    memset(s, 0, sizeof *s);
}
