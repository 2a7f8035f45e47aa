/* maze.h - the Maze task (spec 4.3): n x n mazes, a shortest-path solver,
 * a checker for predicted paths, a generator, and readers for the
 * Maze-Hard files (question,answer CSV and reference-format npy splits).
 *
 * A maze is n * n tokens, row-major (any n >= 2; Maze-Hard is 30 x 30):
 *   '#' wall 1, ' ' open 2, 'S' start 3, 'G' goal 4, 'o' path 5; PAD 0;
 *   vocab 6.
 * A question has only walls, open cells and exactly one S and one G. Its
 * answer is the question with the open cells of one shortest S-to-G path
 * (4-neighbour moves through non-wall cells) set to 'o'. Path length is
 * counted in moves: a path of L moves has L - 1 'o' cells.
 */
#ifndef TRM_TASKS_MAZE_H
#define TRM_TASKS_MAZE_H

#include <stdbool.h>
#include <stdint.h>

#include "trm.h"

#define MAZE_VOCAB 6

enum { MAZE_PAD = 0, MAZE_WALL = 1, MAZE_OPEN = 2, MAZE_START = 3, MAZE_GOAL = 4, MAZE_PATH = 5 };

/* Side n of a seq_len = n * n board with n >= 2, else 0. */
int maze_side(int seq_len);
/* '#' ' ' 'S' 'G' 'o' -> token 1..5; anything else -> -1. */
int maze_token_of(char c);
/* Token -> its character; '?' for tokens outside 1..5. */
char maze_char_of(int32_t token);

/* Reads exactly seq_len cells from text (stopping early at ',' or the end
 * of the line is an error). what names the field in messages. */
int maze_parse_cells(const char *text, int seq_len, int32_t *tok, const char *what, trm_err *err);
/* A question: only walls, open cells, one S and one G. */
int maze_check_question(const int32_t *q, int seq_len, trm_err *err);
/* A labelled pair: a valid question, and an answer that is the question
 * with ' ' -> 'o' on exactly the cells of one shortest S-to-G path. */
int maze_check_pair(const int32_t *q, const int32_t *a, int seq_len, trm_err *err);

/* Breadth-first search from S. Returns the shortest S-to-G length in
 * moves, or -1 when G cannot be reached (or the board has no single S and
 * G). answer (may be NULL) gets q with one shortest path marked (ties
 * broken in a fixed order); n_paths (may be NULL) gets the number of
 * distinct shortest paths, saturated at MAZE_MANY_PATHS. 'o' cells in q
 * count as open. */
#define MAZE_MANY_PATHS 1000000000L
int maze_solve(const int32_t *q, int seq_len, int32_t *answer, long *n_paths);

/* How far pred is from a valid answer to question q (q NULL: the question
 * is pred with its 'o' cells opened). 0 = pred is q with its open cells on
 * one shortest S-to-G path set to 'o' and nothing else changed. Otherwise
 * the sum of: cells that differ from q other than ' ' -> 'o' (walls, S or
 * G changed, paths on walls, stray tokens), the pieces the path falls
 * into beyond one (S, G and the 'o' cells; 1 when a single cell is
 * missing), and |path cells - (shortest length - 1)| (a detour, a missing
 * or a stray 'o'). When G is unreachable every 'o' counts. A malformed q
 * (not one S and one G) adds 1. */
int maze_violations(const int32_t *q, const int32_t *pred, int seq_len);

/* The generator. Each try draws a wall probability uniformly in
 * [wall_lo, wall_hi], sets every cell a wall with it, places S on a
 * random open cell and G on a random cell reachable at >= min_path moves.
 * With unique, cells that lie on another shortest path than the marked
 * one are walled one at a time until the shortest path is unique (the
 * marked path stays, so its length does not change): "unique" means
 * exactly one S-to-G cell sequence has the shortest length, so the label
 * is the only valid answer. */
typedef struct {
    int side;            /* n >= 2 */
    int min_path;        /* shortest path at least this many moves, >= 1 */
    float wall_lo, wall_hi;
    bool unique;
    long max_tries;      /* random boards per maze before giving up */
} maze_gen_opts;

void maze_gen_defaults(maze_gen_opts *o);
/* q and a get seq_len = side^2 tokens; *path_len (may be NULL) the
 * shortest length. Returns 0, or -1 when max_tries boards gave nothing. */
int maze_generate(const maze_gen_opts *o, uint64_t rng[4], int32_t *q, int32_t *a, int *path_len);

/* Mazes read from files, every one checked with maze_check_pair. */
typedef struct {
    int n;             /* mazes */
    int seq_len;       /* side * side, the same for all */
    uint8_t *q, *a;    /* [n, seq_len] tokens */
    long *where;       /* [n] CSV line (1-based) or npy row (0-based) */
} maze_set;

/* Loads path: a CSV file (a header naming columns question and answer,
 * e.g. question,answer or sapientinc's source,question,answer,rating; or
 * no header and question,answer lines), or a split directory of a
 * reference-format dataset (all__inputs.npy / all__labels.npy, uint8 or
 * any integer [N, n*n]). Errors name file:line (CSV) or file: row k (npy)
 * and what was expected. */
int maze_load(const char *path, maze_set *s, trm_err *err);
void maze_set_free(maze_set *s);

/* The Maze dataset builder (maze_build.c), task_maze's build hook:
 * o->input (and o->test_input) CSV or npy sources, o->maze.aug. */
int maze_build_dataset(const trm_build_opts *o, trm_build_result *res, trm_err *err);
/* The maze generator (maze_build.c), task_maze's generate hook:
 * o->maze.* (maze_gen_opts' fields), and its defaults (maze_gen_defaults). */
int maze_generate_csv(const trm_gen_opts *o, trm_gen_result *res, trm_err *err);
void maze_gen_opts_defaults(trm_gen_opts *o);

#endif
