/* arc_task.c - ARC-AGI behind the task interface (task.h).
 *
 * Boards are the 30x30 canvas of spec 4.4 (PAD 0, EOS 1, colour c ->
 * c + 2). Augmentations act on the grid a board shows, not on the canvas:
 * the grid is cropped (spec 5.2), transformed (dihedral x colour
 * permutation with colour 0 fixed, as the builder draws them) and put
 * back at the top-left with its EOS markers, the layout of test inputs
 * and of predictions. So invert(apply(x)) == x for every board in that
 * layout, and a prediction's stray tokens beyond its crop are dropped, as
 * the evaluator drops them. */
#include <stdio.h>
#include <string.h>

#include "core/rng.h"
#include "tasks/arc.h"
#include "tasks/task.h"

static int board(int seq_len, int *rows, int *cols) {
    *rows = *cols = seq_len == ARC_SEQ_LEN ? ARC_MAX : 0;
    return *rows != 0;
}

/* The cropped grid as rows of digits joined by '\n' (at most 900 digits
 * + 29 newlines + NUL); "" for an empty crop. */
static void format(const int32_t *tok, int seq_len, char *out) {
    arc_grid g;
    (void)seq_len;
    arc_crop(tok, &g);
    for (int r = 0; r < g.rows; r++) {
        if (r) *out++ = '\n';
        for (int c = 0; c < g.cols; c++) *out++ = (char)('0' + ARC_AT(&g, r, c));
    }
    *out = 0;
}

/* A colour permutation with 0 fixed, as token relabelling: PAD and EOS
 * stay, token c + 2 -> perm[c] + 2. */
static void draw_aug(int seq_len, trm_aug *aug, uint64_t rng[4]) {
    (void)seq_len;
    task_aug_identity(aug);
    aug->dihedral = rng_int(rng, 0, 7);
    int colours[10];
    for (int c = 0; c < 10; c++) colours[c] = c;
    for (int k = 9; k > 1; k--) {
        int j = rng_int(rng, 1, k), t = colours[k];
        colours[k] = colours[j];
        colours[j] = t;
    }
    for (int c = 0; c < 10; c++) aug->perm[c + 2] = (uint8_t)(colours[c] + 2);
}

static void colour_perm(const trm_aug *aug, uint8_t perm[10]) {
    for (int c = 0; c < 10; c++) {
        int t = aug->perm[c + 2] - 2;
        perm[c] = (uint8_t)(t >= 0 && t < 10 ? t : c);
    }
}

static void apply_aug(const trm_aug *aug, int seq_len, const int32_t *in, int32_t *out) {
    arc_grid g, h;
    uint8_t perm[10];
    (void)seq_len;
    colour_perm(aug, perm);
    arc_crop(in, &g);
    arc_aug_apply(&g, aug->dihedral, perm, &h);
    arc_encode(&h, 0, 0, out);
}

static void invert_aug(const trm_aug *aug, int seq_len, const int32_t *in, int32_t *out) {
    arc_grid g, h;
    uint8_t perm[10];
    (void)seq_len;
    colour_perm(aug, perm);
    arc_crop(in, &g);
    arc_aug_invert(&g, aug->dihedral, perm, &h);
    arc_encode(&h, 0, 0, out);
}

static int verify(const int32_t *input, const int32_t *pred, int seq_len) {
    (void)input, (void)pred, (void)seq_len;
    return -1; /* ARC has no checker: only the hidden output says */
}

/* The standard ARC palette; PAD and EOS in two greys no colour uses. */
static trm_cell_style style(int32_t token, bool given) {
    static const uint8_t pal[10][3] = {
        {0x00, 0x00, 0x00}, {0x00, 0x74, 0xD9}, {0xFF, 0x41, 0x36}, {0x2E, 0xCC, 0x40}, {0xFF, 0xDC, 0x00},
        {0xAA, 0xAA, 0xAA}, {0xF0, 0x12, 0xBE}, {0xFF, 0x85, 0x1B}, {0x7F, 0xDB, 0xFF}, {0x87, 0x0C, 0x25}};
    trm_cell_style s = {{0x30, 0x30, 0x30}, "  ", false}; /* PAD: dark grey, blank */
    (void)given;
    if (token == ARC_EOS) {
        s.rgb[0] = s.rgb[1] = s.rgb[2] = 0xE8;
        strcpy(s.glyph, " $");
        s.dark_text = true;
    } else if (token >= 2 && token <= 11) {
        const uint8_t *p = pal[token - 2];
        memcpy(s.rgb, p, 3);
        s.glyph[0] = ' ', s.glyph[1] = (char)('0' + token - 2), s.glyph[2] = 0;
        /* dark glyphs on light fills (ITU-R BT.601 luma) */
        s.dark_text = 299 * p[0] + 587 * p[1] + 114 * p[2] > 140000;
    } else if (token != ARC_PAD) {
        strcpy(s.glyph, " ?");
        s.rgb[0] = 0xFF, s.rgb[1] = s.rgb[2] = 0x78;
        s.dark_text = true;
    }
    return s;
}

static void crop(const int32_t *tok, int seq_len, int *rows, int *cols) {
    (void)seq_len;
    arc_crop_size(tok, rows, cols);
}

extern const trm_task_file_ops arc_file_ops;     /* arc_solve.c */
extern const trm_task_scorer_ops arc_scorer_ops; /* arc_score.c */

/* The builder's own keys (trm_build_args_set). */
static const build_key arc_keys[] = {
    {"input_prefix", BUILD_KEY_STR, 0, 0, offsetof(trm_build_opts, arc.input_prefix)},
    {"subsets", BUILD_KEY_STR, 0, 0, offsetof(trm_build_opts, arc.subsets)},
    {"test_set", BUILD_KEY_STR, 0, 0, offsetof(trm_build_opts, arc.test_set)},
    {"test_set2", BUILD_KEY_STR, 0, 0, offsetof(trm_build_opts, arc.test_set2)},
    {"num_aug", BUILD_KEY_LONG, 0, 100000, offsetof(trm_build_opts, arc.num_aug)},
    {"skip_bad", BUILD_KEY_BOOL, 0, 0, offsetof(trm_build_opts, arc.skip_bad)},
    {NULL, 0, 0, 0, 0},
};

const trm_task task_arc = {
    .name = "arc",
    .description = "ARC-AGI grids on a 30x30 canvas (spec 4.4): PAD 0, EOS 1, colours 2..11; vocab 12, seq_len 900",
    .vocab_size = ARC_VOCAB,
    .board = board,
    .valid_word = "valid solution",
    .invalid_word = "breaks the rules",
    .cells_word = "cells to fill",
    .file = &arc_file_ops,
    .scorer = &arc_scorer_ops,
    .parse = NULL,
    .format = format,
    .draw_aug = draw_aug,
    .apply_aug = apply_aug,
    .invert_aug = invert_aug,
    .verify = verify,
    .style = style,
    .crop = crop,
    .build = arc_build_dataset,
    .build_defaults = arc_build_defaults,
    .build_keys = arc_keys,
};
