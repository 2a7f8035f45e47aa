/* cmd_data_maze.c - `trm data maze` and `trm data maze-gen`.
 *
 *   trm data maze      question,answer CSV files or reference-format npy
 *                      splits -> a dataset in the reference's format
 *                      (spec 4.1/4.3), optionally with the 8 dihedral
 *                      transforms of every train maze (the library's
 *                      builder, src/tasks/maze_build.c; options here)
 *   trm data maze-gen  new n x n mazes with a long, unique shortest path
 *                      -> question,answer CSV
 *
 * Every maze is checked (one S, one G, valid cells, the answer a shortest
 * path) before anything is written; a bad input costs one error line
 * naming file:line and leaves no partial output. */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli/cli.h"
#include "cli/data_common.h"
#include "core/util.h"
#include "trm.h"

/* ---------------------------------------------------------------- trm data maze */

typedef struct {
    data_split_opts split; /* --input, --out, sizes, --seed */
    bool aug;
} maze_opts;

static void usage_maze(FILE *out) {
    fprintf(out,
            "usage: trm data maze --input SRC[,SRC...] --out DIR [options]\n\n"
            "Builds a Maze dataset in the reference's format (spec 4.3): inputs are the\n"
            "question tokens ('#' 1, ' ' 2, 'S' 3, 'G' 4), labels the answer with its\n"
            "shortest path 'o' 5 (every cell supervised), vocab 6, seq_len n*n, one shared\n"
            "puzzle identifier 0. A source is a CSV file (a header naming question and\n"
            "answer columns, or bare question,answer lines; n*n characters of \"# SGo\"\n"
            "each, row-major) or a split directory of a reference-format dataset (e.g.\n"
            "../shared/data/maze-30x30-hard-1k/train). Every maze is checked: n x n,\n"
            "one S and one G, and the answer is the question with ' ' -> 'o' on exactly\n"
            "one shortest S-to-G path. Repeated mazes are dropped.\n"
            "train: N mazes drawn without replacement, one group each (with --aug,\n"
            "8 puzzles: the dihedral transforms of spec 4.5); test: M other mazes of the\n"
            "inputs, or all of --test-input, not augmented.\n\n"
            "  --input SRC[,SRC...]       mazes to draw from\n"
            "  --out DIR                  output directory (created if missing)\n"
            "  --train-size N             train mazes (default: all minus test)\n"
            "  --test-size M              test mazes from the inputs (default: 0)\n"
            "  --test-input SRC[,SRC...]  test mazes from other sources (all of them;\n"
            "                             mazes also in these leave the train pool)\n"
            "  --aug                      the 8 dihedral transforms of each train maze\n"
            "                             (default: off, as the reference's README command)\n"
            "  --seed S                   RNG seed of the draw (default: 0)\n\n"
            "Reference recipe: --input DATA/train.csv --test-input DATA/test.csv.\n"
            "Prints {\"train_groups\":..,\"train_examples\":..,\"test_examples\":..,\"out\":..}.\n");
}

/* Returns 0 to go on, or exit code + 1 (help 0, bad value 1, bad usage 2). */
static int parse_maze(int argc, char **argv, maze_opts *o) {
    static const struct option opts[] = {
        {"input", required_argument, 0, 'i'}, {"out", required_argument, 0, 'o'},
        {"train-size", required_argument, 0, 'n'}, {"test-size", required_argument, 0, 'm'},
        {"test-input", required_argument, 0, 't'}, {"aug", no_argument, 0, 'a'},
        {"seed", required_argument, 0, 's'}, {"help", no_argument, 0, 'h'}, {0, 0, 0, 0}};
    const char *cmd = "data maze";
    *o = (maze_opts){.split.train_size = -1};
    int c;
    optind = 1;
    opterr = 0;
    while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
        int shared = data_split_option(cmd, c, optarg, &o->split);
        if (shared < 0) return 2; /* a bad value: exit 1 */
        if (shared) continue;
        switch (c) {
        case 'a': o->aug = true; break;
        case 'h': usage_maze(stdout); return 1;
        default: return bad_option(cmd, argc, argv) + 2;
        }
    }
    return data_split_check(cmd, argc, argv, &o->split) ? 3 : 0; /* bad usage: exit 2 */
}

/* The build is the library's (src/tasks/maze_build.c); this prints. */
static int run_maze(const maze_opts *o) {
    trm_build_opts b;
    data_build_opts(&b, "maze", &o->split, "trm data maze: ");
    b.maze.aug = o->aug;
    trm_build_result r;
    if (data_run_build("data maze", "maze", &b, &r)) return 1;
    data_print_summary(r.train_groups, r.train_examples, r.test_examples, o->split.out);
    trm_build_result_free(&r);
    return 0;
}

int cmd_data_maze(int argc, char **argv) {
    maze_opts o;
    int prc = parse_maze(argc, argv, &o);
    return prc ? prc - 1 : run_maze(&o);
}

/* ---------------------------------------------------------------- trm data maze-gen */

typedef struct {
    const char *out;
    long count;
    trm_gen_opts g; /* its maze part */
    uint64_t seed;
} gen_opts;

static void usage_gen(FILE *out) {
    trm_gen_opts d;
    trm_gen_opts_init(&d, "maze");
    fprintf(out,
            "usage: trm data maze-gen --count N --out FILE [options]\n\n"
            "Generates N new n x n mazes and writes them as question,answer CSV (the\n"
            "input format of trm data maze). Each maze: every cell a wall with a\n"
            "probability drawn from --walls, S on a random open cell, G on a random cell\n"
            "at least --min-path moves from S (Maze-Hard: 30x30 with shortest paths of\n"
            "109-153 moves; --min-path 110 matches that length). Unless --allow-ties, cells on\n"
            "other shortest paths are then walled until exactly one shortest S-to-G\n"
            "path remains (the label is the only valid answer). Deterministic for a\n"
            "seed, whatever the threads. Repeats are possible on small boards; trm data\n"
            "maze drops them.\n\n"
            "  --count N       mazes to generate\n"
            "  --out FILE      output CSV (written to FILE.tmp.<pid>, then renamed)\n"
            "  --size N        side of the board, 2..1000 (default: %d)\n"
            "  --min-path L    shortest S-to-G path at least L moves (default: %d)\n"
            "  --walls LO-HI   range of the wall probability (default: %.2f-%.2f)\n"
            "  --allow-ties    keep mazes with several shortest paths\n"
            "  --max-tries T   random boards per maze before giving up (default: %ld)\n"
            "  --seed S        RNG seed (default: 0)\n",
            d.maze.side, d.maze.min_path, d.maze.wall_lo, d.maze.wall_hi, d.maze.max_tries);
}

static int parse_walls(const char *s, float *lo, float *hi) {
    char a[64];
    const char *dash = *s ? strchr(s + 1, '-') : NULL; /* past a leading sign */
    size_t n = dash ? (size_t)(dash - s) : strlen(s);
    if (n >= sizeof a) return -1;
    snprintf(a, sizeof a, "%.*s", (int)n, s);
    double l, h;
    if (util_parse_double("", a, 0, 1, false, &l, NULL)) return -1;
    h = l;
    if (dash && util_parse_double("", dash + 1, l, 1, false, &h, NULL)) return -1;
    if (!(h < 1)) return -1;
    *lo = (float)l, *hi = (float)h;
    return 0;
}

static int parse_gen(int argc, char **argv, gen_opts *o) {
    static const struct option opts[] = {
        {"count", required_argument, 0, 'n'}, {"out", required_argument, 0, 'o'},
        {"size", required_argument, 0, 'z'}, {"min-path", required_argument, 0, 'p'},
        {"walls", required_argument, 0, 'w'}, {"allow-ties", no_argument, 0, 'u'},
        {"max-tries", required_argument, 0, 't'}, {"seed", required_argument, 0, 's'},
        {"help", no_argument, 0, 'h'}, {0, 0, 0, 0}};
    const char *cmd = "data maze-gen";
    *o = (gen_opts){.count = -1};
    trm_gen_opts_init(&o->g, "maze");
    long v;
    int c;
    optind = 1;
    opterr = 0;
    while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
        switch (c) {
        case 'o': o->out = optarg; break;
        case 'u': o->g.maze.unique = false; break;
        case 'n':
            if (data_parse_long(optarg, 1, 1L << 28, &o->count)) return die(cmd, "--count: expected an integer in [1, 2^28], got '%s'", optarg) + 1;
            break;
        case 'z':
            if (data_parse_long(optarg, 2, 1000, &v)) return die(cmd, "--size: expected an integer in [2, 1000], got '%s'", optarg) + 1;
            o->g.maze.side = (int)v;
            break;
        case 'p':
            if (data_parse_long(optarg, 1, 1000000, &v)) return die(cmd, "--min-path: expected an integer >= 1, got '%s'", optarg) + 1;
            o->g.maze.min_path = (int)v;
            break;
        case 'w':
            if (parse_walls(optarg, &o->g.maze.wall_lo, &o->g.maze.wall_hi)) return die(cmd, "--walls: expected P or LO-HI with 0 <= LO <= HI < 1, got '%s'", optarg) + 1;
            break;
        case 't':
            if (data_parse_long(optarg, 1, 1L << 40, &o->g.maze.max_tries)) return die(cmd, "--max-tries: expected an integer >= 1, got '%s'", optarg) + 1;
            break;
        case 's':
            if (data_parse_u64(optarg, &o->seed)) return die(cmd, "--seed: expected a non-negative integer, got '%s'", optarg) + 1;
            break;
        case 'h': usage_gen(stdout); return 1;
        default: return bad_option(cmd, argc, argv) + 2;
        }
    }
    if (data_gen_check(cmd, argc, argv, o->count, o->out)) return 3; /* bad usage: exit 2 */
    int n = o->g.maze.side;
    if (o->g.maze.min_path > n * n - 1)
        return die(cmd, "--min-path %d: a %dx%d maze has paths of at most %d moves", o->g.maze.min_path, n, n, n * n - 1) + 1;
    return 0;
}

/* Progress: on a terminal a line redrawn 4 times a second; in logs one
 * line every 15 s, so long runs show they are alive. */
static void gen_progress(void *ctx, long done, long total, double secs) {
    static double last = 0;
    (void)ctx;
    bool tty = isatty(2);
    if (secs - last < (tty ? 0.25 : 15.0) && done != total) return;
    if (!tty && done == total) return;
    last = secs;
    fprintf(stderr, tty ? "\rtrm data maze-gen: %ld/%ld mazes (%.1f/s)   " : "trm data maze-gen: %ld/%ld mazes (%.1f/s)\n",
            done, total, done / (secs + 1e-9));
    if (tty && done == total) fputc('\n', stderr);
}

/* The generator is the library's (src/tasks/maze_build.c); this prints. */
static int run_gen(const gen_opts *o) {
    trm_gen_opts g;
    trm_gen_opts_init(&g, "maze");
    g.out = o->out, g.count = o->count, g.seed = o->seed, g.progress = gen_progress;
    g.maze = o->g.maze;
    trm_gen_result r;
    trm_err e;
    if (trm_generate_puzzles("maze", &g, &r, &e)) return die("data maze-gen", "%s", e.msg);
    fprintf(stderr, "trm data maze-gen: %ld %dx%d mazes in %.1f s, shortest paths %d-%d moves (mean %.1f) -> %s\n",
            o->count, o->g.maze.side, o->g.maze.side, r.secs, r.path_min, r.path_max, r.path_mean, o->out);
    return 0;
}

int cmd_data_maze_gen(int argc, char **argv) {
    gen_opts o;
    int prc = parse_gen(argc, argv, &o);
    return prc ? prc - 1 : run_gen(&o);
}
