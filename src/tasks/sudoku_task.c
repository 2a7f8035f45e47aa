/* sudoku_task.c - Sudoku (9x9) and 4x4 Sudoku behind the task interface.
 *
 * Tokens: blank 1, digit d -> d + 1 (spec 4.2). One implementation serves
 * both sizes: n x n boards with b x b boxes (n = b * b). */
#include <stdio.h>
#include <string.h>

#include "core/rng.h"
#include "tasks/sudoku.h"
#include "tasks/sudoku4.h"
#include "tasks/sudoku_build.h"
#include "tasks/task.h"

/* Side of the board for a seq_len, 0 when it is not this family's. */
static int side_of(int seq_len, int want) { return seq_len == want * want ? want : 0; }

static int board9(int seq_len, int *rows, int *cols) {
    *rows = *cols = side_of(seq_len, 9);
    return *rows != 0;
}

static int board4(int seq_len, int *rows, int *cols) {
    *rows = *cols = side_of(seq_len, 4);
    return *rows != 0;
}

static int isqrt_small(int n) { return n == 16 ? 4 : n == 81 ? 9 : 0; }

/* "question" or "question,answer": n*n cells, '.' or '0' blank. */
static int parse_cells(const char *p, int n, int32_t *tok, const char *what, trm_err *err) {
    int side = n == 16 ? 4 : 9, k = 0;
    for (; k < n && p[k] && p[k] != ','; k++) {
        char ch = p[k];
        if (ch == '.' || ch == '0') tok[k] = 1;
        else if (ch >= '1' && ch <= '0' + side) tok[k] = ch - '0' + 1;
        else return trm_errf(err, "%s: cell %d is '%c'; expected '.', '0' or '1'-'%d'", what, k + 1, ch, side);
    }
    if (k != n) return trm_errf(err, "%s: %d cells; expected %d", what, k, n);
    return 0;
}

static int parse_any(const char *text, int seq_len, int32_t *input, int32_t *label, bool *has_label,
                     trm_err *err) {
    while (*text == ' ' || *text == '\t') text++;
    if (parse_cells(text, seq_len, input, "question", err)) return -1;
    const char *p = text + seq_len;
    while (*p == ' ' || *p == '\t') p++;
    *has_label = false;
    if (*p == ',') {
        p++;
        while (*p == ' ' || *p == '\t') p++;
        if (*p && *p != '\n' && *p != '\r') {
            if (parse_cells(p, seq_len, label, "answer", err)) return -1;
            for (int i = 0; i < seq_len; i++) {
                if (label[i] == 1) return trm_errf(err, "answer: cell %d is blank", i + 1);
                if (input[i] != 1 && input[i] != label[i])
                    return trm_errf(err, "answer: cell %d contradicts the given %d", i + 1, input[i] - 1);
            }
            *has_label = true;
            p += seq_len;
        }
    }
    while (*p == ' ' || *p == '\t' || *p == '\r' || *p == '\n') p++;
    if (*p && *p != ',') return trm_errf(err, "unexpected text after the puzzle: '%.20s'", p);
    return 0;
}

static void format_any(const int32_t *tok, int seq_len, char *out) {
    for (int i = 0; i < seq_len; i++) out[i] = tok[i] >= 2 && tok[i] <= 10 ? (char)('0' + tok[i] - 1) : '.';
    out[seq_len] = 0;
}

/* Shuffle of a[lo..hi) */
static void shuffle_range(int *a, int lo, int hi, uint64_t rng[4]) {
    for (int k = hi - 1; k > lo; k--) {
        int j = rng_int(rng, lo, k), t = a[k];
        a[k] = a[j];
        a[j] = t;
    }
}

/* Bands in random order, rows inside each band in random order. */
static void line_perm(int *perm, int side, int box, uint64_t rng[4]) {
    int bands[3] = {0, 1, 2};
    shuffle_range(bands, 0, box, rng);
    for (int g = 0; g < box; g++) {
        int lines[3] = {0, 1, 2};
        shuffle_range(lines, 0, box, rng);
        for (int k = 0; k < box; k++) perm[g * box + k] = bands[g] * box + lines[k];
    }
    (void)side;
}

static void draw_aug(int seq_len, trm_aug *aug, uint64_t rng[4]) {
    int side = isqrt_small(seq_len), box = side == 4 ? 2 : 3;
    task_aug_identity(aug);
    int digits[10];
    for (int d = 0; d <= side; d++) digits[d] = d;
    shuffle_range(digits, 1, side + 1, rng);
    for (int d = 1; d <= side; d++) aug->perm[d + 1] = (uint8_t)(digits[d] + 1);
    aug->dihedral = rng_uniform(rng) < 0.5f ? 6 : 0; /* transpose */
    line_perm(aug->row_perm, side, box, rng);
    line_perm(aug->col_perm, side, box, rng);
}

/* out cell (i, j) comes from source cell src(i, j) of in. */
static int source_cell(const trm_aug *a, int side, int i, int j) {
    int r = a->row_perm[i], c = a->col_perm[j];
    return a->dihedral == 6 ? c * side + r : r * side + c;
}

static void apply_aug(const trm_aug *a, int seq_len, const int32_t *in, int32_t *out) {
    int side = isqrt_small(seq_len);
    for (int i = 0; i < side; i++)
        for (int j = 0; j < side; j++) {
            int32_t t = in[source_cell(a, side, i, j)];
            out[i * side + j] = t >= 0 && t < 32 ? a->perm[t] : t;
        }
}

static void invert_aug(const trm_aug *a, int seq_len, const int32_t *in, int32_t *out) {
    int side = isqrt_small(seq_len);
    uint8_t inv[32];
    for (int t = 0; t < 32; t++) inv[a->perm[t]] = (uint8_t)t;
    for (int i = 0; i < side; i++)
        for (int j = 0; j < side; j++) {
            int32_t t = in[i * side + j];
            out[source_cell(a, side, i, j)] = t >= 0 && t < 32 ? inv[t] : t;
        }
}

/* Duplicates in rows, columns and boxes (each extra occurrence counts
 * one), blank or invalid cells, and cells that disagree with the givens. */
static int verify(const int32_t *input, const int32_t *pred, int seq_len) {
    int side = isqrt_small(seq_len), box = side == 4 ? 2 : 3, bad = 0;
    for (int i = 0; i < seq_len; i++) {
        if (pred[i] < 2 || pred[i] > side + 1) bad++;
        else if (input && input[i] >= 2 && input[i] != pred[i]) bad++;
    }
    for (int u = 0; u < 3 * side; u++) {
        int seen[10] = {0};
        for (int k = 0; k < side; k++) {
            int r, c;
            if (u < side) r = u, c = k;
            else if (u < 2 * side) r = k, c = u - side;
            else {
                int b = u - 2 * side;
                r = b / box * box + k / box;
                c = b % box * box + k % box;
            }
            int32_t t = pred[r * side + c];
            if (t >= 2 && t <= side + 1 && seen[t - 1]++) bad++;
        }
    }
    return bad;
}

static trm_cell_style style(int32_t token, bool given) {
    trm_cell_style s = {{255, 255, 255}, " .", true};
    if (token >= 2 && token <= 10) {
        s.glyph[0] = ' ';
        s.glyph[1] = (char)('0' + token - 1);
        s.glyph[2] = 0;
        if (given) s.rgb[0] = s.rgb[1] = s.rgb[2] = 215;
        else s.rgb[0] = 225, s.rgb[1] = 240, s.rgb[2] = 255;
    } else if (token != 1) {
        strcpy(s.glyph, " ?");
        s.rgb[1] = s.rgb[2] = 120;
    }
    return s;
}

/* ---------------------------------------------------------------- presentation (trm solve) */

/* 9x9 Sudoku lines keep their established parser (quoted CSV fields and
 * all, sudoku_parse_line). */
static int parse_line9(const char *text, int seq_len, int32_t *input, int32_t *label, bool *has_label,
                       trm_err *err) {
    (void)seq_len;
    int8_t q[81], ans[81];
    if (sudoku_parse_line(text, q, ans, has_label, err)) return -1;
    sudoku_to_tokens(q, input);
    sudoku_to_tokens(ans, label);
    return 0;
}

/* Why the puzzle cannot be solved, or NULL. The answer's own checks come
 * first: they name a cell. */
static const char *impossible(const int32_t *in, const int32_t *lab, bool has, int S, char *buf, size_t n) {
    int blanks = 0;
    for (int i = 0; i < S; i++) blanks += in[i] == 1;
    /* verify without givens counts the blanks plus the repeated digits */
    int repeats = verify(NULL, in, S) - blanks;
    if (repeats > 0) return snprintf(buf, n, "the givens break the rules (%d repeated digits)", repeats), buf;
    int side = S == 16 ? 4 : 9;
    for (int i = 0; has && i < S; i++)
        if (in[i] != 1 && lab[i] != in[i])
            return snprintf(buf, n, "the answer contradicts the given at cell %d (row %d, column %d)", i + 1,
                            i / side + 1, i % side + 1), buf;
    int viol = has ? verify(in, lab, S) : 0;
    if (viol > 0) return snprintf(buf, n, "the answer breaks the rules (%d violations)", viol), buf;
    int8_t q[81];
    for (int i = 0; i < S; i++) q[i] = (int8_t)(in[i] - 1);
    if (!has && (S == 81 ? sudoku_solve(q, NULL, 1, NULL) : sudoku4_count(q)) == 0) return "the puzzle has no solution";
    return NULL;
}

/* The 9x9 board as sudoku_print draws it (boxes, givens, wrong cells). */
static void print9(FILE *f, const int32_t *in, const int32_t *pred, const int32_t *lab, bool has, bool color) {
    int8_t grid[81], q[81], ans[81];
    sudoku_from_tokens(pred, grid);
    sudoku_from_tokens(in, q);
    sudoku_from_tokens(lab, ans);
    sudoku_print(f, grid, q, has ? ans : NULL, color);
}

/* The builders' own keys (trm_build_args_set). */
static const build_key sudoku_keys[] = {
    {"aug", BUILD_KEY_LONG, 0, 1000000, offsetof(trm_build_opts, sudoku.aug)},
    {"min_nodes", BUILD_KEY_LONG, 1, 1L << 40, offsetof(trm_build_opts, sudoku.min_nodes)},
    {"blanks", BUILD_KEY_LONG, 0, 64, offsetof(trm_build_opts, sudoku.blanks)},
    {"blanks_max", BUILD_KEY_LONG, 0, 64, offsetof(trm_build_opts, sudoku.blanks_max)},
    {"holdout", BUILD_KEY_STR, 0, 0, offsetof(trm_build_opts, sudoku.holdout)},
    {"ratings", BUILD_KEY_STR, 0, 0, offsetof(trm_build_opts, sudoku.ratings)},
    {"test_only", BUILD_KEY_BOOL, 0, 0, offsetof(trm_build_opts, sudoku.test_only)},
    {NULL, 0, 0, 0, 0},
};

static const build_key sudoku4_keys[] = {
    {"blanks", BUILD_KEY_INT, 1, 12, offsetof(trm_build_opts, sudoku4.blanks)},
    {NULL, 0, 0, 0, 0},
};

const trm_task task_sudoku = {
    .name = "sudoku",
    .description = "9x9 Sudoku (spec 4.2): tokens blank 1, digits 2..10; vocab 11, seq_len 81",
    .vocab_size = SUDOKU_VOCAB,
    .board = board9,
    .valid_word = "valid solution",
    .invalid_word = "breaks the rules",
    .cells_word = "blank cells",
    .parse_line = parse_line9,
    .impossible = impossible,
    .print = print9,
    .build = sudoku_build_dataset,
    .build_defaults = sudoku_build_defaults,
    .build_keys = sudoku_keys,
    .generate = sudoku_generate_csv,
    .gen_defaults = sudoku_gen_defaults,
    .parse = parse_any,
    .format = format_any,
    .draw_aug = draw_aug,
    .apply_aug = apply_aug,
    .invert_aug = invert_aug,
    .verify = verify,
    .style = style,
    .crop = NULL,
};

const trm_task task_sudoku4 = {
    .name = "sudoku4",
    .description = "4x4 Sudoku with 2x2 boxes: tokens blank 1, digits 2..5; vocab 6, seq_len 16",
    .vocab_size = SUDOKU4_VOCAB,
    .board = board4,
    .valid_word = "valid solution",
    .invalid_word = "breaks the rules",
    .cells_word = "blank cells",
    .impossible = impossible,
    .build = sudoku4_build_dataset,
    .build_defaults = sudoku4_build_defaults,
    .build_keys = sudoku4_keys,
    .parse = parse_any,
    .format = format_any,
    .draw_aug = draw_aug,
    .apply_aug = apply_aug,
    .invert_aug = invert_aug,
    .verify = verify,
    .style = style,
    .crop = NULL,
};
