/* data_common.c - helpers shared by the `trm data` commands (see
 * data_common.h): option parsing and printing. The builders themselves
 * are the library's (src/tasks/<family>_build.c). */
#include "cli/data_common.h"

#include <getopt.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli/cli.h"
#include "core/util.h"
#include "io/jsonout.h"
#include "trm.h"

/* Quiet forms of core/util.h's strict parsers: the builders word their
 * own messages (ranges such as "K1-K2"). */
int data_parse_long(const char *s, long lo, long hi, long *out) {
    long long v;
    if (util_parse_ll("", s, lo, hi, &v, NULL)) return -1;
    *out = (long)v;
    return 0;
}

int data_parse_u64(const char *s, uint64_t *out) { return util_parse_u64("", s, out, NULL); }

void data_print_summary(long train_groups, long train_examples, long test_examples, const char *out) {
    data_print_summary_extra(train_groups, train_examples, test_examples, out, NULL);
}

void data_print_summary_extra(long train_groups, long train_examples, long test_examples, const char *out,
                              const char *extra) {
    printf("{\"train_groups\":%ld,\"train_examples\":%ld,\"test_examples\":%ld,\"out\":", train_groups,
           train_examples, test_examples);
    json_put_string(stdout, out);
    printf(extra ? ",%s}\n" : "}\n", extra);
}

int data_split_option(const char *cmd, int c, const char *arg, data_split_opts *s) {
    switch (c) {
    case 'i': s->input = arg; return 1;
    case 'o': s->out = arg; return 1;
    case 't': s->test_input = arg; return 1;
    case 'n':
        if (data_parse_long(arg, 1, 1L << 30, &s->train_size)) return -die(cmd, "--train-size: expected an integer >= 1, got '%s'", arg);
        return 1;
    case 'm':
        if (data_parse_long(arg, 0, 1L << 30, &s->test_size)) return -die(cmd, "--test-size: expected an integer >= 0, got '%s'", arg);
        s->test_size_set = true;
        return 1;
    case 's':
        if (data_parse_u64(arg, &s->seed)) return -die(cmd, "--seed: expected a non-negative integer, got '%s'", arg);
        return 1;
    default: return 0;
    }
}

int data_extra_arg(const char *cmd, int argc, char **argv) {
    return optind < argc ? die(cmd, "unexpected argument '%s' (see trm %s --help)", argv[optind], cmd) : 0;
}

int data_gen_check(const char *cmd, int argc, char **argv, long count, const char *out) {
    if (data_extra_arg(cmd, argc, argv)) return 1;
    if (count < 0 || !out) return die(cmd, "--count and --out are required (see trm %s --help)", cmd);
    return 0;
}

int data_split_check(const char *cmd, int argc, char **argv, const data_split_opts *s) {
    if (data_extra_arg(cmd, argc, argv)) return 1;
    if (!s->input || !s->out) return die(cmd, "--input and --out are required (see trm %s --help)", cmd);
    if (s->test_size_set && s->test_input) return die(cmd, "--test-size and --test-input exclude each other");
    return 0;
}

/* Notes: one stderr line each, after the command's prefix. */
static void note_line(void *ctx, const char *line) { fprintf(stderr, "%s%s\n", (const char *)ctx, line); }

/* Progress only on a terminal (logs and tests get the summary): one line
 * redrawn at most 4 times a second, ended when a stage is done. */
static void progress_line(void *ctx, const char *line, long done, long total) {
    static double last;
    if (!isatty(2)) return;
    double t = util_now_s();
    if (done != total && t - last < 0.25) return;
    last = t;
    fprintf(stderr, "\r%s%s   ", (const char *)ctx, line);
    if (done == total) fputc('\n', stderr);
}

void data_build_opts(trm_build_opts *b, const char *task, const data_split_opts *s, const char *prefix) {
    trm_build_opts_init(b, task);
    if (s) {
        b->input = s->input, b->test_input = s->test_input, b->out = s->out;
        b->train_size = s->train_size, b->test_size = s->test_size, b->test_size_set = s->test_size_set;
        b->seed = s->seed;
    }
    b->note = note_line, b->progress = progress_line;
    b->ctx = (void *)prefix;
}

int data_run_build(const char *cmd, const char *task, const trm_build_opts *b, trm_build_result *r) {
    trm_err e;
    return trm_build_dataset(task, b, r, &e) ? die(cmd, "%s", e.msg) : 0;
}
