/* cmd_demo.c - `trm demo` (the default job): a live demonstration of the
 * whole pipeline on a task a laptop learns in about a minute: random 4x4
 * Sudoku puzzles are generated, a tiny TRM trains on them from scratch
 * (progress on stderr), then solves puzzles it has never seen (boards and
 * accuracy on stdout). */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli/cli.h"
#include "io/fileio.h" /* io_remove_tree */

typedef struct {
    const char *out;
    long steps, train_size;
    int blanks, shown;
    uint64_t seed;
} demo_opts;

static void usage(FILE *out) {
    fprintf(out,
            "usage: trm demo [options]\n\n"
            "Generates random 4x4 Sudoku puzzles, trains a tiny TRM on them from scratch\n"
            "(progress on stderr), then solves held-out puzzles (stdout): the engine,\n"
            "the recursion, deep supervision, AdamATan2 and evaluation, end to end.\n\n"
            "  --steps N        training steps (default: 600, about a minute on 2 cores)\n"
            "  --train-size N   training puzzles (default: 3000)\n"
            "  --blanks K       blank cells per puzzle, 1..12 (default: 6)\n"
            "  --show N         held-out puzzles to print (default: 3)\n"
            "  --seed N         RNG seed (default: 0)\n"
            "  --out DIR        keep the dataset and the run here (default: a temporary\n"
            "                   directory, removed at the end)\n");
}

static int parse(int argc, char **argv, demo_opts *o) {
    static const struct option opts[] = {
        {"steps", required_argument, 0, 's'}, {"train-size", required_argument, 0, 'n'},
        {"blanks", required_argument, 0, 'b'}, {"show", required_argument, 0, 'w'},
        {"seed", required_argument, 0, 'r'}, {"out", required_argument, 0, 'o'},
        {"help", no_argument, 0, 'h'}, {0, 0, 0, 0}};
    *o = (demo_opts){.steps = 600, .train_size = 3000, .blanks = 6, .shown = 3, .seed = 0};
    int c;
    optind = 1;
    opterr = 0;
    while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
        long long v = 0;
        switch (c) {
        case 's': if (opt_ll("demo", "--steps", optarg, 1, 10000000, &v)) return 1; o->steps = v; break;
        case 'n': if (opt_ll("demo", "--train-size", optarg, 64, 1000000, &v)) return 1; o->train_size = v; break;
        case 'b': if (opt_int("demo", "--blanks", optarg, 1, 12, &o->blanks)) return 1; break;
        case 'w': if (opt_int("demo", "--show", optarg, 0, 200, &o->shown)) return 1; break;
        case 'r': if (opt_u64("demo", "--seed", optarg, &o->seed)) return 1; break;
        case 'o': o->out = optarg; break;
        case 'h': usage(stdout); exit(0);
        default: return bad_option("demo", argc, argv);
        }
    }
    if (optind < argc) return die("demo", "unexpected argument '%s' (see trm demo --help)", argv[optind]);
    return 0;
}

/* ------------------------------------------------------------ output */

static void print_boards(const int32_t *in, const int32_t *lab, const int32_t *pred) {
    for (int r = 0; r < 4; r++) {
        for (int part = 0; part < 3; part++) {
            const int32_t *g = part == 0 ? in : part == 1 ? pred : lab;
            printf("  ");
            for (int c = 0; c < 4; c++) {
                int t = g[r * 4 + c], v = t - 1;
                char mark = part == 1 && in[r * 4 + c] == 1 ? (t == lab[r * 4 + c] ? ' ' : '*') : ' ';
                printf("%s%c%c", c == 2 ? "| " : "", v >= 1 && v <= 4 ? '0' + v : '.', mark);
            }
            printf(part < 2 ? "   " : "\n");
        }
        if (r == 1) printf("  ----+-----     ----+-----     ----+-----\n");
    }
}

/* Solves the first `shown` test puzzles and prints them. */
static int show_solutions(const char *ckpt, const char *data, int shown) {
    trm_err e;
    trm_model *m = cli_checkpoint_load(ckpt, &e);
    trm_split *s = m ? trm_split_open(data, "test", &e) : NULL;
    int32_t in[200 * 16], lab[200 * 16], pred[200 * 16];
    double conf[200];
    for (int b = 0; s && b < shown; b++) trm_split_example(s, b, in + 16 * b, lab + 16 * b);
    trm_batch bt = {shown, in, lab, NULL};
    trm_solve_out out = {.tokens = pred, .confidence = conf};
    if (!s || trm_solve(m, NULL, &bt, NULL, &out, &e)) {
        trm_split_close(s);
        trm_model_free(m);
        return die("demo", "%s", e.msg);
    }
    printf("\nheld-out puzzles (question | model's answer, * = wrong | solution):\n");
    for (int b = 0; b < shown; b++) {
        printf("\n");
        print_boards(in + 16 * b, lab + 16 * b, pred + 16 * b);
        printf("  confidence sigmoid(q_halt) = %.3f\n", conf[b]);
    }
    trm_split_close(s);
    trm_model_free(m);
    return 0;
}

/* ------------------------------------------------------------ run */

static int run_demo(const demo_opts *o, const char *dir) {
    char data[4200], run[4200], ckpt[4300];
    snprintf(data, sizeof data, "%s/data", dir);
    snprintf(run, sizeof run, "%s/run", dir);
    snprintf(ckpt, sizeof ckpt, "%s/checkpoint.safetensors", run);
    trm_err e;
    fprintf(stderr, "trm demo: %ld random 4x4 Sudoku puzzles with %d blanks (+200 held out) in %s\n",
            o->train_size, o->blanks, dir);
    trm_build_opts bo;
    trm_build_opts_init(&bo, "sudoku4");
    bo.out = data, bo.train_size = o->train_size, bo.test_size = 200, bo.sudoku4.blanks = o->blanks, bo.seed = o->seed;
    trm_build_result br;
    if (trm_build_dataset("sudoku4", &bo, &br, &e)) return die("demo", "%s", e.msg);
    trm_build_result_free(&br);
    trm_config arch;
    trm_config_preset(&arch, "tiny", &e);
    arch.H_cycles = 2, arch.L_cycles = 2, arch.halt_max_steps = 4;
    trm_train_config tc;
    trm_train_config_default(&tc);
    tc.global_batch_size = 64;
    tc.epochs = (double)o->steps * tc.global_batch_size / o->train_size + 1;
    tc.max_steps = o->steps;
    tc.optim.lr = 2e-3f;
    tc.optim.lr_warmup_steps = 20;
    tc.ema = false; /* a 0.999 EMA would still mostly hold the initial weights */
    tc.eval_interval = 0;
    tc.seed = o->seed;
    trm_train_run_opts ro = {.data_dir = data, .out_dir = run};
    if (cli_train_run(&arch, &tc, &ro, false, &e)) return die("demo", "%s", e.msg);
    trm_model *m = cli_checkpoint_load(ckpt, &e);
    trm_split *s = m ? trm_split_open(data, "test", &e) : NULL;
    trm_eval_result r;
    int rc = s ? trm_evaluate(m, s, 0, 200, 0, false, &r, &e) : -1;
    trm_split_close(s);
    trm_model_free(m);
    if (rc) return die("demo", "%s", e.msg);
    printf("after %ld steps: %.1f%% of 200 unseen puzzles solved exactly, %.1f%% of cells right\n", o->steps,
           100 * r.exact_accuracy, 100 * r.accuracy);
    trm_eval_result_free(&r);
    return o->shown ? show_solutions(ckpt, data, o->shown) : 0;
}

int cmd_demo(int argc, char **argv) {
    demo_opts o;
    if (parse(argc, argv, &o)) return 2;
    char tmp[] = "/tmp/trm-demo-XXXXXX";
    const char *dir = o.out;
    if (!dir && !(dir = mkdtemp(tmp))) return die("demo", "cannot create a temporary directory in /tmp");
    int rc = run_demo(&o, dir);
    if (!o.out) io_remove_tree(tmp);
    return rc;
}
