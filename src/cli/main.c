/* main.c - the trm command line: one program, one subcommand per job. */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <getopt.h>
#include <unistd.h>

#include "cli/cli.h"
#include "trm.h"

typedef struct {
    const char *name;
    int (*run)(int argc, char **argv);
    const char *summary;
} command;

static const command COMMANDS[] = {
    {"demo", cmd_demo, "learn 4x4 Sudoku from scratch, then solve unseen puzzles (default)"},
    {"info", cmd_info, "print a preset's or checkpoint's config and parameter count as JSON"},
    {"forward", cmd_forward, "run evaluation steps on token rows (.npy) and write logits"},
    {"train", cmd_train, "train a model on a dataset (reference format), with exact resume"},
    {"eval", cmd_eval, "accuracy of a checkpoint on a dataset split, at any test-time depth"},
    {"solve", cmd_solve, "solve Sudoku puzzles given as text, file or stdin"},
    {"data", cmd_data, "build datasets in the reference format (sudoku, sudoku4) or generate puzzles"},
    {"bench", cmd_bench, "time training steps and solving on a preset (GFLOP/s, MFU, peak RSS, profile)"},
    {"plot", cmd_plot, "draw a run's loss and accuracy curves (metrics.jsonl) as SVG or PNG"},
    {"render", cmd_render, "draw dataset examples (input and label) in the terminal or as PNG"},
};
#define N_COMMANDS (sizeof COMMANDS / sizeof COMMANDS[0])

int die(const char *cmd, const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    fprintf(stderr, "trm %s: ", cmd);
    vfprintf(stderr, fmt, ap);
    fputc('\n', stderr);
    va_end(ap);
    return 1;
}

int bad_option(const char *cmd, int argc, char **argv) {
    const char *arg = optind - 1 < argc && optind >= 1 ? argv[optind - 1] : "?";
    return die(cmd, "unknown option or missing value: '%s' (see trm %s --help)", arg, cmd);
}

static void usage(FILE *out) {
    fprintf(out,
            "trm %s - Tiny Recursive Models in C\n\n"
            "usage: trm <command> [options]     (trm <command> --help for its options)\n\n"
            "commands:\n", TRM_VERSION);
    for (size_t i = 0; i < N_COMMANDS; i++)
        fprintf(out, "  %-9s %s\n", COMMANDS[i].name, COMMANDS[i].summary);
    fprintf(out, "\npresets: %s\nmatmul backend: %s\n", trm_preset_names(),
            trm_matmul_backend_name(trm_matmul_get_backend()));
}

/* A bundled file, from the working directory or else from the directory
 * above the binary (build/trm -> the checkout). NULL if neither exists. */
static const char *find_asset(const char *rel, char *buf, size_t n) {
    if (access(rel, R_OK) == 0) return rel;
    char exe[4096];
    ssize_t len = readlink("/proc/self/exe", exe, sizeof exe - 1);
    if (len <= 0) return NULL;
    exe[len] = 0;
    for (int up = 0; up < 2; up++) {
        char *slash = strrchr(exe, '/');
        if (slash) *slash = 0;
    }
    snprintf(buf, n, "%s/%s", exe, rel);
    return access(buf, R_OK) == 0 ? buf : NULL;
}

/* One shipped model solves its showcase file, as `trm solve --file` would. */
static int solve_showcase(const char *model, const char *puzzles, const char *what) {
    fprintf(stderr, "trm: %s: solving %s with %s\n", what, puzzles, model);
    char *argv[] = {"solve", "--checkpoint", (char *)model, "--file", (char *)puzzles, NULL};
    return cmd_solve(5, argv);
}

/* The default job: the shipped Sudoku models solve their bundled showcase
 * puzzles (boards, accuracy, speed): the CPU model easy held-out puzzles,
 * then the hard model real 17-clue and forum-hardest ones (models/README.md).
 * Without the CPU model's files, the learning demo. */
static int default_job(void) {
    char mbuf[4200], pbuf[4200], hmbuf[4200], hpbuf[4200];
    const char *model = find_asset("models/sudoku-cpu.safetensors", mbuf, sizeof mbuf);
    const char *puzzles = find_asset("models/sudoku-cpu-showcase.csv", pbuf, sizeof pbuf);
    if (!model || !puzzles) {
        char *argv[] = {"demo", NULL};
        return cmd_demo(1, argv);
    }
    fprintf(stderr, "trm: the shipped models solve held-out puzzles (trm --help lists every command; "
                    "trm demo trains a model live)\n");
    int rc = solve_showcase(model, puzzles, "easy puzzles, models/sudoku-cpu");
    const char *hard = find_asset("models/sudoku-hard.safetensors", hmbuf, sizeof hmbuf);
    const char *hard_puzzles = find_asset("models/sudoku-hard-showcase.csv", hpbuf, sizeof hpbuf);
    if (rc == 0 && hard && hard_puzzles) {
        printf("\n");
        rc = solve_showcase(hard, hard_puzzles, "hard puzzles, models/sudoku-hard");
    }
    return rc;
}

int main(int argc, char **argv) {
    if (argc < 2) return default_job();
    if (!strcmp(argv[1], "--help") || !strcmp(argv[1], "-h") || !strcmp(argv[1], "help")) {
        usage(stdout);
        return 0;
    }
    if (!strcmp(argv[1], "--version")) {
        printf("trm %s\n", TRM_VERSION);
        return 0;
    }
    trm_err cpu_err; /* TRM_CPU naming an ISA this CPU lacks: stop before any kernel runs */
    if (trm_cpu_check_env(&cpu_err)) {
        fprintf(stderr, "trm: %s\n", cpu_err.msg);
        return 1;
    }
    for (size_t i = 0; i < N_COMMANDS; i++)
        if (!strcmp(argv[1], COMMANDS[i].name)) return COMMANDS[i].run(argc - 1, argv + 1);
    fprintf(stderr, "trm: unknown command '%s' (expected one of: demo, info, forward, train, eval, solve, data, plot, bench, render; see trm --help)\n", argv[1]);
    return 2;
}
