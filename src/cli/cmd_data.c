/* cmd_data.c - `trm data`: dataset builders.
 *
 *   trm data sudoku      puzzle collections -> a dataset in the reference's
 *                        format (spec 4.1/4.2), with seeded splits and
 *                        validity-preserving augmentation
 *   trm data sudoku-gen  new unique-solution puzzles -> question,answer CSV
 *
 * Everything is checked (inputs parsed and solved, sizes, output place)
 * before anything is written, so a bad input costs one error line and
 * leaves no partial output. */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli/cli.h"
#include "cli/data_common.h"
#include "trm.h"

#define REFERENCE_AUG 1000 /* the reference's --num-aug for Sudoku-Extreme */

/* ---------------------------------------------------------------- shared helpers */

static void usage_data(FILE *out) {
    fprintf(out,
            "usage: trm data <builder> [options]     (trm data <builder> --help)\n\n"
            "builders:\n"
            "  sudoku      puzzle collections -> dataset in the reference format\n"
            "  sudoku-gen  generate new unique-solution puzzles as question,answer CSV\n"
            "  sudoku4     random 4x4 Sudoku puzzles -> dataset (small; tests, curricula)\n"
            "  maze        maze question,answer CSV or npy splits -> dataset (spec 4.3)\n"
            "  maze-gen    generate new n x n mazes with a unique shortest path as CSV\n"
            "  arc         ARC-AGI task files -> dataset, as the reference builds it (spec 4.4)\n");
}

/* Progress lines only on a terminal: logs and tests get the summary. */
/* ---------------------------------------------------------------- trm data sudoku */

typedef struct {
    data_split_opts split;   /* --input, --out, sizes, --seed */
    long aug, min_nodes;
    long blanks, blanks_max; /* 0 = keep the questions */
    const char *holdout, *ratings; /* --holdout files, --ratings CSV */
    bool test_only;
} sudoku_opts;

static void usage_sudoku(FILE *out) {
    fprintf(out,
            "usage: trm data sudoku --input FILE[,FILE...] --out DIR [options]\n\n"
            "Builds a Sudoku dataset in the reference's format (spec 4.2): inputs are\n"
            "the question tokens, labels the solution tokens (every cell supervised),\n"
            "one shared puzzle identifier. Inputs are 81-character lines ('.' or '0'\n"
            "blank, '#' comments) or CSV with a question column (question,answer or\n"
            "sapientinc's source,question,answer,rating); every puzzle is solved and\n"
            "must have exactly one solution. Repeated puzzles are dropped.\n"
            "train: N puzzles drawn without replacement, each a group of 1 + K\n"
            "versions (the original, then K random augmentations); test: M other\n"
            "puzzles of the same inputs, or of --test-input, not augmented.\n"
            "Held-out puzzles never reach train: a puzzle whose solution grid equals\n"
            "that of a test or --holdout puzzle, up to digit relabelling and\n"
            "transposition, leaves the train pool (the leak check). Each puzzle is\n"
            "rated by trm's solver: nodes and backtracks (dead ends) of its uniqueness\n"
            "search; DIR/ratings.json and the summary give each split's distribution.\n\n"
            "  --input FILE[,FILE...]       puzzle collections to draw from\n"
            "  --out DIR                    output directory (created if missing)\n"
            "  --train-size N               train puzzles (default: all minus test)\n"
            "  --test-size M                test puzzles from the inputs, or a seeded draw\n"
            "                               of M of --test-input (default: 0 / all)\n"
            "  --test-input FILE[,FILE...]  test puzzles from these files (all, or\n"
            "                               --test-size of them); their solution grids\n"
            "                               leave the train pool\n"
            "  --holdout FILE[,FILE...]     puzzles held out for other test sets: not\n"
            "                               written, their solution grids leave the pools\n"
            "  --test-only                  write only DIR/test: all --input puzzles (or a\n"
            "                               --test-size draw), for a held-out set that\n"
            "                               trm eval --data DIR scores\n"
            "  --ratings FILE               per-puzzle ratings as CSV\n"
            "                               split,question,answer,nodes,backtracks\n"
            "  --aug K                      augmented versions per train puzzle\n"
            "                               (default: 0; the reference uses %d)\n"
            "  --seed S                     RNG seed for the draw and augmentation (default: 0)\n"
            "  --min-nodes X                keep only input puzzles whose solver search\n"
            "                               needs >= X nodes, a difficulty (default: 1)\n"
            "  --blanks K | K1-K2           replace every question (each version) by its\n"
            "                               solution with K (or uniformly K1..K2) random\n"
            "                               cells blanked, redrawn until the puzzle has one\n"
            "                               solution: easier puzzles from real grids, for\n"
            "                               curricula and smoke tests (default: 0 = off)\n\n"
            "Ratings are those of the input puzzles (before --blanks and --aug).\n\n"
            "Prints {\"train_groups\":..,\"train_examples\":..,\"test_examples\":..,\"out\":..,\n"
            "\"leaks_dropped\":..,\"ratings\":{\"train\":..,\"test\":..}}.\n",
            REFERENCE_AUG);
}

/* The options of the held-out splits: 1 when c was one, 0 when not. */
static int hard_option(int c, const char *arg, sudoku_opts *o) {
    switch (c) {
    case 'H': o->holdout = arg; return 1;
    case 'r': o->ratings = arg; return 1;
    case 'T': o->test_only = true; return 1;
    default: return 0;
    }
}

/* After getopt: the combinations hard_option's options allow; nonzero
 * after the error line. --test-size with --test-input is a draw from
 * them here, so the shared check must not see it as a clash. */
static int hard_check(const char *cmd, int argc, char **argv, const sudoku_opts *o) {
    data_split_opts s = o->split;
    s.test_size_set = s.test_size_set && !s.test_input;
    if (data_split_check(cmd, argc, argv, &s)) return 1;
    if (o->test_only && (o->split.test_input || o->split.train_size >= 0))
        return die(cmd, "--test-only writes only a test split of --input: no --test-input or --train-size");
    return 0;
}

/* Returns 0 to go on, or exit code + 1 (help 0, bad value 1, bad usage 2). */
static int parse_sudoku(int argc, char **argv, sudoku_opts *o) {
    static const struct option opts[] = {
        {"input", required_argument, 0, 'i'}, {"out", required_argument, 0, 'o'},
        {"train-size", required_argument, 0, 'n'}, {"test-size", required_argument, 0, 'm'},
        {"test-input", required_argument, 0, 't'}, {"aug", required_argument, 0, 'k'},
        {"seed", required_argument, 0, 's'}, {"min-nodes", required_argument, 0, 'x'},
        {"blanks", required_argument, 0, 'b'}, {"help", no_argument, 0, 'h'},
        {"holdout", required_argument, 0, 'H'}, {"ratings", required_argument, 0, 'r'},
        {"test-only", no_argument, 0, 'T'}, {0, 0, 0, 0}};
    const char *cmd = "data sudoku";
    *o = (sudoku_opts){.split.train_size = -1, .min_nodes = 1};
    int c;
    optind = 1;
    opterr = 0; /* we print our own one-line errors */
    while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
        int shared = data_split_option(cmd, c, optarg, &o->split);
        if (shared < 0) return 2; /* a bad value: exit 1 */
        if (shared || hard_option(c, optarg, o)) continue;
        switch (c) {
        case 'k':
            if (data_parse_long(optarg, 0, 1000000, &o->aug)) return die(cmd, "--aug: expected an integer in [0, 1000000], got '%s'", optarg) + 1;
            break;
        case 'x':
            if (data_parse_long(optarg, 1, 1L << 40, &o->min_nodes)) return die(cmd, "--min-nodes: expected an integer >= 1, got '%s'", optarg) + 1;
            break;
        case 'b': {
            char lo[32] = {0};
            const char *dash = strchr(optarg, '-');
            snprintf(lo, sizeof lo, "%.*s", dash ? (int)(dash - optarg) : 31, optarg);
            if (data_parse_long(lo, 0, 64, &o->blanks) ||
                (dash && data_parse_long(dash + 1, o->blanks, 64, &o->blanks_max)))
                return die(cmd, "--blanks: expected K or K1-K2 with 0 <= K1 <= K2 <= 64, got '%s'", optarg) + 1;
            if (!dash) o->blanks_max = o->blanks;
            break;
        }
        case 'h': usage_sudoku(stdout); return 1;
        default: return bad_option(cmd, argc, argv) + 2;
        }
    }
    return hard_check(cmd, argc, argv, o) ? 3 : 0; /* bad usage: exit 2 */
}
/* The build is the library's (src/tasks/sudoku_build.c); this prints. */
static int run_sudoku(const sudoku_opts *o) {
    trm_build_opts b;
    data_build_opts(&b, "sudoku", &o->split, "trm data: ");
    b.sudoku.aug = o->aug, b.sudoku.min_nodes = o->min_nodes;
    b.sudoku.blanks = o->blanks, b.sudoku.blanks_max = o->blanks_max;
    b.sudoku.holdout = o->holdout, b.sudoku.ratings = o->ratings, b.sudoku.test_only = o->test_only;
    trm_build_result r;
    if (data_run_build("data sudoku", "sudoku", &b, &r)) return 1;
    char *extra = NULL;
    int rc = asprintf(&extra, "\"leaks_dropped\":%ld,\"ratings\":{%s}", r.leaks_dropped, r.ratings_json) < 0;
    if (rc) rc = die("data sudoku", "out of memory");
    else data_print_summary_extra(r.train_groups, r.train_examples, r.test_examples, o->split.out, extra);
    free(extra);
    trm_build_result_free(&r);
    return rc;
}

/* ---------------------------------------------------------------- trm data sudoku-gen */

/* Progress lines only on a terminal: logs and tests get the summary. */
static bool show_progress(void) { return isatty(2); }

typedef struct {
    const char *out;
    long count, min_nodes, min_blanks, max_tries;
    uint64_t seed;
} gen_opts;

static void usage_gen(FILE *out) {
    trm_gen_opts d;
    trm_gen_opts_init(&d, "sudoku");
    fprintf(out,
            "usage: trm data sudoku-gen --count N --out FILE [options]\n\n"
            "Generates N new Sudoku puzzles with exactly one solution and writes them as\n"
            "question,answer CSV ('.' blanks), the input format of trm data sudoku. Each\n"
            "comes from a random full grid with clues removed in random order while\n"
            "the solution stays unique, then hardened (a clue swapped at a time) up to\n"
            "the difficulty target. Deterministic for a seed, whatever the threads.\n\n"
            "  --count N       puzzles to generate\n"
            "  --out FILE      output CSV (written to FILE.tmp.<pid>, then renamed)\n"
            "  --min-nodes X   difficulty: solver search nodes >= X (default: 1; 10 takes\n"
            "                  ~20 ms a puzzle, 50 about a second)\n"
            "  --min-blanks B  at least B blank cells (default: 0; minimal puzzles have\n"
            "                  53-60)\n"
            "  --max-tries T   full grids tried per puzzle before giving up (default: %d)\n"
            "  --seed S        RNG seed (default: 0)\n", (int)d.sudoku.max_tries);
}

static int parse_gen(int argc, char **argv, gen_opts *o) {
    static const struct option opts[] = {
        {"count", required_argument, 0, 'n'}, {"out", required_argument, 0, 'o'},
        {"min-nodes", required_argument, 0, 'x'}, {"min-blanks", required_argument, 0, 'b'},
        {"max-tries", required_argument, 0, 't'}, {"seed", required_argument, 0, 's'},
        {"help", no_argument, 0, 'h'}, {0, 0, 0, 0}};
    const char *cmd = "data sudoku-gen";
    trm_gen_opts d;
    trm_gen_opts_init(&d, "sudoku");
    *o = (gen_opts){.count = -1, .min_nodes = d.sudoku.min_nodes, .max_tries = d.sudoku.max_tries};
    int c;
    optind = 1;
    opterr = 0;
    while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
        switch (c) {
        case 'o': o->out = optarg; break;
        case 'n':
            if (data_parse_long(optarg, 1, 1L << 30, &o->count)) return die(cmd, "--count: expected an integer >= 1, got '%s'", optarg) + 1;
            break;
        case 'x':
            if (data_parse_long(optarg, 1, 1L << 40, &o->min_nodes)) return die(cmd, "--min-nodes: expected an integer >= 1, got '%s'", optarg) + 1;
            break;
        case 'b':
            if (data_parse_long(optarg, 0, 64, &o->min_blanks)) return die(cmd, "--min-blanks: expected an integer in [0, 64] (a unique puzzle has >= 17 clues), got '%s'", optarg) + 1;
            break;
        case 't':
            if (data_parse_long(optarg, 1, 1L << 30, &o->max_tries)) return die(cmd, "--max-tries: expected an integer >= 1, got '%s'", optarg) + 1;
            break;
        case 's':
            if (data_parse_u64(optarg, &o->seed)) return die(cmd, "--seed: expected a non-negative integer, got '%s'", optarg) + 1;
            break;
        case 'h': usage_gen(stdout); return 1;
        default: return bad_option(cmd, argc, argv) + 2;
        }
    }
    return data_gen_check(cmd, argc, argv, o->count, o->out) ? 3 : 0; /* bad usage: exit 2 */
}

/* Progress: a line redrawn on a terminal, 4 times a second. */
static void gen_progress(void *ctx, long done, long total, double secs) {
    static double last = -1;
    (void)ctx;
    if (!show_progress() || (secs - last < 0.25 && done != total)) return;
    last = secs;
    fprintf(stderr, "\rtrm data sudoku-gen: %ld/%ld puzzles (%.1f/s)   ", done, total, done / (secs + 1e-9));
    if (done == total) fputc('\n', stderr);
}

/* The generator is the library's (src/tasks/sudoku_build.c); this prints. */
static int run_gen(const gen_opts *o) {
    trm_gen_opts g;
    trm_gen_opts_init(&g, "sudoku");
    g.out = o->out, g.count = o->count, g.seed = o->seed;
    g.sudoku.min_nodes = o->min_nodes, g.sudoku.min_blanks = o->min_blanks, g.sudoku.max_tries = o->max_tries;
    g.progress = gen_progress;
    trm_gen_result r;
    trm_err e;
    if (trm_generate_puzzles("sudoku", &g, &r, &e)) return die("data sudoku-gen", "%s", e.msg);
    fprintf(stderr, "trm data sudoku-gen: %ld puzzles in %.1f s -> %s\n", o->count, r.secs, o->out);
    return 0;
}

/* ---------------------------------------------------------------- trm data sudoku4 */

static void usage_sudoku4(FILE *out) {
    fprintf(out,
            "usage: trm data sudoku4 --out DIR [options]\n\n"
            "Random 4x4 Sudoku puzzles (2x2 boxes) with a unique solution, as a dataset\n"
            "in the reference's format (seq_len 16, vocab 6): a task small enough to\n"
            "learn on a CPU in a minute. Test puzzles never occur in train.\n\n"
            "  --out DIR          output directory (created if missing)\n"
            "  --train-size N     train puzzles (default: 2000)\n"
            "  --test-size M      test puzzles (default: 200)\n"
            "  --blanks K         blank cells per puzzle, 1..12 (default: 8)\n"
            "  --seed S           RNG seed (default: 0)\n");
}

static int cmd_data_sudoku4(int argc, char **argv) {
    static const struct option opts[] = {
        {"out", required_argument, 0, 'o'}, {"train-size", required_argument, 0, 'n'},
        {"test-size", required_argument, 0, 'm'}, {"blanks", required_argument, 0, 'b'},
        {"seed", required_argument, 0, 's'}, {"help", no_argument, 0, 'h'}, {0, 0, 0, 0}};
    const char *cmd = "data sudoku4", *out = NULL;
    long n_train = 2000, n_test = 200, blanks = 8;
    uint64_t seed = 0;
    int c;
    optind = 1;
    opterr = 0;
    while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
        switch (c) {
        case 'o': out = optarg; break;
        case 'n': if (data_parse_long(optarg, 1, 1000000, &n_train)) return die(cmd, "--train-size: expected 1..1000000, got '%s'", optarg); break;
        case 'm': if (data_parse_long(optarg, 0, 1000000, &n_test)) return die(cmd, "--test-size: expected 0..1000000, got '%s'", optarg); break;
        case 'b': if (data_parse_long(optarg, 1, 12, &blanks)) return die(cmd, "--blanks: expected 1..12, got '%s'", optarg); break;
        case 's': if (data_parse_u64(optarg, &seed)) return die(cmd, "--seed: expected a non-negative integer, got '%s'", optarg); break;
        case 'h': usage_sudoku4(stdout); return 0;
        default: return bad_option(cmd, argc, argv) + 1;
        }
    }
    if (data_extra_arg(cmd, argc, argv)) return 2;
    if (!out) return die(cmd, "--out is required (see trm data sudoku4 --help)") + 1;
    trm_build_opts b;
    data_build_opts(&b, "sudoku4", NULL, "trm data sudoku4: ");
    b.out = out, b.train_size = n_train, b.test_size = n_test, b.sudoku4.blanks = (int)blanks, b.seed = seed;
    trm_build_result r;
    if (data_run_build(cmd, "sudoku4", &b, &r)) return 1;
    data_print_summary(r.train_groups, r.train_examples, r.test_examples, out);
    trm_build_result_free(&r);
    return 0;
}

static int cmd_data_sudoku(int argc, char **argv) {
    sudoku_opts o;
    int prc = parse_sudoku(argc, argv, &o);
    return prc ? prc - 1 : run_sudoku(&o);
}

static int cmd_data_sudoku_gen(int argc, char **argv) {
    gen_opts o;
    int prc = parse_gen(argc, argv, &o);
    return prc ? prc - 1 : run_gen(&o);
}

/* The builders by name (argv[0] of each is the builder's name). */
static const struct {
    const char *name;
    int (*run)(int argc, char **argv);
} g_builders[] = {
    {"sudoku", cmd_data_sudoku}, {"sudoku-gen", cmd_data_sudoku_gen}, {"sudoku4", cmd_data_sudoku4},
    {"maze", cmd_data_maze},     {"maze-gen", cmd_data_maze_gen},     {"arc", cmd_data_arc},
};

int cmd_data(int argc, char **argv) {
    if (argc < 2) {
        fprintf(stderr, "trm data: expected a builder: sudoku or sudoku-gen (see trm data --help)\n");
        return 2;
    }
    const char *b = argv[1];
    if (!strcmp(b, "--help") || !strcmp(b, "-h") || !strcmp(b, "help")) {
        usage_data(stdout);
        return 0;
    }
    for (size_t i = 0; i < sizeof g_builders / sizeof g_builders[0]; i++)
        if (!strcmp(b, g_builders[i].name)) return g_builders[i].run(argc - 1, argv + 1);
    fprintf(stderr, "trm data: unknown builder '%s' (expected one of: sudoku, sudoku-gen, sudoku4, maze, maze-gen, arc; see trm data --help)\n", b);
    return 2;
}
