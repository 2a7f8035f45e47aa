/* cmd_data_arc.c - `trm data arc`: ARC-AGI task files -> a dataset in the
 * reference's format, by the procedure of its build_arc_dataset.py
 * (spec 4.4), draw for draw. The options are parsed here; the builder
 * is the library's (src/tasks/arc_build.c). */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"
#include "cli/data_common.h"
#include "trm.h"

typedef struct {
    const char *prefix, *subsets, *test_set, *test_set2, *out;
    long num_aug;
    uint64_t seed;
    bool skip_bad;
} arc_opts;

/* ---------------------------------------------------------------- options */

static void usage_arc(FILE *out) {
    fprintf(out,
            "usage: trm data arc --out DIR [--input-prefix P] [options]\n\n"
            "Builds an ARC-AGI dataset exactly as the reference's build_arc_dataset.py\n"
            "(spec 4.4): every task's demonstration pairs (and, outside the test set, its\n"
            "test pairs) go to the train split, the test set's test pairs to the test\n"
            "split; each task gets up to --num-aug distinct dihedral x colour-permutation\n"
            "versions (colour 0 fixed), each version its own puzzle identifier; train\n"
            "examples are translated on the 30x30 canvas. Writes DIR/train, DIR/test,\n"
            "DIR/identifiers.json and DIR/test_puzzles.json. Same inputs and seed give\n"
            "the reference's bytes.\n\n"
            "  --out DIR            output directory (created if missing)\n"
            "  --input-prefix P     Kaggle combined files: subset S is read from\n"
            "                       P_S_challenges.json and (if present) P_S_solutions.json,\n"
            "                       e.g. ../shared/data/arc-kaggle-combined/arc-agi\n"
            "  --subsets LIST       comma-separated subsets in order; NAME (Kaggle files) or\n"
            "                       NAME=DIR (a folder of per-task JSON files, subfolders\n"
            "                       too, sorted by path) (default: training,evaluation,concept)\n"
            "  --test-set NAME      the subset whose test pairs form the test split\n"
            "                       (default: evaluation)\n"
            "  --test-set2 NAME     a second one (default: none)\n"
            "  --num-aug N          augmented versions per task, at most (default: 1000)\n"
            "  --seed S             NumPy legacy RNG seed, < 2^32 (default: 42)\n"
            "  --skip-bad           leave out malformed tasks (listed on stderr) instead\n"
            "                       of failing\n\n"
            "ARC-1 (the paper's): --subsets training,evaluation,concept --test-set evaluation\n"
            "ARC-2: --subsets training2,evaluation2,concept --test-set evaluation2\n");
}

static int parse_arc(int argc, char **argv, arc_opts *o) {
    static const struct option opts[] = {
        {"out", required_argument, 0, 'o'}, {"input-prefix", required_argument, 0, 'p'},
        {"subsets", required_argument, 0, 'S'}, {"test-set", required_argument, 0, 't'},
        {"test-set2", required_argument, 0, 'T'}, {"num-aug", required_argument, 0, 'n'},
        {"seed", required_argument, 0, 's'}, {"skip-bad", no_argument, 0, 'k'},
        {"help", no_argument, 0, 'h'}, {0, 0, 0, 0}};
    const char *cmd = "data arc";
    *o = (arc_opts){.subsets = "training,evaluation,concept", .test_set = "evaluation", .num_aug = 1000, .seed = 42};
    int c;
    optind = 1;
    opterr = 0;
    while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
        switch (c) {
        case 'o': o->out = optarg; break;
        case 'p': o->prefix = optarg; break;
        case 'S': o->subsets = optarg; break;
        case 't': o->test_set = optarg; break;
        case 'T': o->test_set2 = optarg; break;
        case 'k': o->skip_bad = true; break;
        case 'n':
            if (data_parse_long(optarg, 0, 100000, &o->num_aug))
                return die(cmd, "--num-aug: expected an integer in [0, 100000], got '%s'", optarg) + 1;
            break;
        case 's':
            if (data_parse_u64(optarg, &o->seed) || o->seed > 0xffffffffull) /* NumPy seeds are 32-bit */
                return die(cmd, "--seed: expected an integer in [0, 4294967295], got '%s'", optarg) + 1;
            break;
        case 'h': usage_arc(stdout); return 1;
        default: return bad_option(cmd, argc, argv) + 2;
        }
    }
    if (data_extra_arg(cmd, argc, argv)) return 3; /* bad usage: exit 2 */
    if (!o->out) return die(cmd, "--out is required (see trm data arc --help)") + 2;
    return 0;
}

/* The build is the library's (src/tasks/arc_build.c); this prints. */
static int run_arc(const arc_opts *o) {
    trm_build_opts b;
    data_build_opts(&b, "arc", NULL, "trm data arc: ");
    b.out = o->out, b.seed = o->seed;
    b.arc.input_prefix = o->prefix, b.arc.subsets = o->subsets, b.arc.test_set = o->test_set;
    b.arc.test_set2 = o->test_set2, b.arc.num_aug = o->num_aug, b.arc.skip_bad = o->skip_bad;
    trm_build_result r;
    if (data_run_build("data arc", "arc", &b, &r)) return 1;
    printf("{\"identifiers\":%ld,\"train_groups\":%ld,\"train_puzzles\":%ld,\"train_examples\":%ld,"
           "\"test_groups\":%ld,\"test_puzzles\":%ld,\"test_examples\":%ld,\"short_groups\":%ld}\n",
           r.identifiers, r.train_groups, r.train_puzzles, r.train_examples, r.test_groups, r.test_puzzles,
           r.test_examples, r.short_groups);
    trm_build_result_free(&r);
    return 0;
}

int cmd_data_arc(int argc, char **argv) {
    arc_opts o;
    int prc = parse_arc(argc, argv, &o);
    return prc ? prc - 1 : run_arc(&o);
}
