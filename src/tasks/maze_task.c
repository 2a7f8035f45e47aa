/* maze_task.c - the Maze family behind the task interface (task.h).
 *
 * Any n x n board with n >= 2; tokens of spec 4.3 (maze.h). The sudoku4
 * task shares vocab 6 and claims seq_len 16 first in the registry, so a
 * 4 x 4 maze model has to name its task explicitly. */
#include <string.h>

#include "core/rng.h"
#include "tasks/maze.h"
#include "tasks/task.h"

static int board(int seq_len, int *rows, int *cols) {
    *rows = *cols = maze_side(seq_len);
    return *rows != 0;
}

/* "question" or "question,answer" (or "question,"), each exactly seq_len
 * cells; spaces are open cells, so nothing but the line end is trimmed. */
static int parse(const char *text, int seq_len, int32_t *input, int32_t *label, bool *has_label, trm_err *err) {
    *has_label = false;
    if (!maze_side(seq_len)) return trm_errf(err, "a maze has n*n cells with n >= 2; got %d", seq_len);
    if (maze_parse_cells(text, seq_len, input, "question", err) || maze_check_question(input, seq_len, err))
        return -1;
    const char *p = text + seq_len;
    if (*p == ',' && p[1] && p[1] != '\n' && p[1] != '\r') {
        if (maze_parse_cells(p + 1, seq_len, label, "answer", err) || maze_check_pair(input, label, seq_len, err))
            return -1;
        *has_label = true;
        p += 1 + seq_len;
    } else if (*p == ',') {
        p++;
    }
    while (*p == '\r' || *p == '\n') p++;
    if (*p) return trm_errf(err, "unexpected text after the maze: '%.20s'; expected the end of the line", p);
    return 0;
}

static void format(const int32_t *tokens, int seq_len, char *out) {
    for (int i = 0; i < seq_len; i++) out[i] = maze_char_of(tokens[i]);
    out[seq_len] = 0;
}

/* The 8 dihedral transforms (spec 4.3 --aug); tokens are never relabelled. */
static void draw_aug(int seq_len, trm_aug *aug, uint64_t rng[4]) {
    (void)seq_len;
    task_aug_identity(aug);
    aug->dihedral = rng_int(rng, 0, 7);
}

static void apply_aug(const trm_aug *aug, int seq_len, const int32_t *in, int32_t *out) {
    int n = maze_side(seq_len);
    task_dihedral(aug->dihedral, in, n, n, out, NULL, NULL);
}

static void invert_aug(const trm_aug *aug, int seq_len, const int32_t *in, int32_t *out) {
    int n = maze_side(seq_len);
    task_dihedral(task_dihedral_inverse(aug->dihedral), in, n, n, out, NULL, NULL);
}

static int verify(const int32_t *input, const int32_t *pred, int seq_len) {
    return maze_violations(input, pred, seq_len);
}

static trm_cell_style make_style(uint8_t r, uint8_t g, uint8_t b, const char *glyph, bool dark_text) {
    trm_cell_style s = {{r, g, b}, "", dark_text};
    memcpy(s.glyph, glyph, strlen(glyph) + 1);
    return s;
}

static trm_cell_style style(int32_t token, bool given) {
    (void)given; /* every cell but the path is given */
    switch (token) {
    case MAZE_WALL: return make_style(40, 40, 48, "##", false);
    case MAZE_OPEN: return make_style(235, 235, 228, "  ", true);
    case MAZE_START: return make_style(40, 170, 70, " S", false);
    case MAZE_GOAL: return make_style(210, 50, 50, " G", false);
    case MAZE_PATH: return make_style(250, 180, 40, " o", true);
    default: return make_style(255, 255, 255, " ?", true); /* PAD or out of vocabulary */
    }
}

/* A maze whose goal cannot be reached has no answer. */
static const char *impossible(const int32_t *in, const int32_t *lab, bool has, int S, char *buf, size_t n) {
    (void)lab, (void)has, (void)buf, (void)n;
    return maze_solve(in, S, NULL, NULL) < 0 ? "G cannot be reached from S" : NULL;
}

/* The builder's own keys (trm_build_args_set). */
static const build_key maze_keys[] = {
    {"aug", BUILD_KEY_BOOL, 0, 0, offsetof(trm_build_opts, maze.aug)},
    {NULL, 0, 0, 0, 0},
};

const trm_task task_maze = {
    .name = "maze",
    .description = "n x n mazes (spec 4.3): '#' 1, ' ' 2, 'S' 3, 'G' 4, path 'o' 5; vocab 6, seq_len n*n",
    .vocab_size = MAZE_VOCAB,
    .board = board,
    .valid_word = "valid shortest path",
    .invalid_word = "not a valid shortest path",
    .cells_word = "path cells",
    .impossible = impossible,
    .parse = parse,
    .format = format,
    .draw_aug = draw_aug,
    .apply_aug = apply_aug,
    .invert_aug = invert_aug,
    .verify = verify,
    .style = style,
    .crop = NULL,
    .build = maze_build_dataset,
    .build_keys = maze_keys,
    .generate = maze_generate_csv,
    .gen_defaults = maze_gen_opts_defaults,
};
