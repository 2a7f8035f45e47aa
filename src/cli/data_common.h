/* data_common.h - helpers shared by the `trm data` commands (cmd_data.c,
 * cmd_data_maze.c, cmd_data_arc.c): option parsing and printing, so that
 * they parse and report the same way; the builders are the library's
 * (trm_build_dataset). Functions that print errors take the command name
 * (e.g. "data maze") for the "trm <cmd>: ..." line. */
#ifndef TRM_CLI_DATA_COMMON_H
#define TRM_CLI_DATA_COMMON_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "trm.h"

/* A decimal integer in [lo, hi], the whole string; 0 or -1 (out untouched). */
int data_parse_long(const char *s, long lo, long hi, long *out);

/* A non-negative decimal integer (no sign); 0 or -1 (out untouched). */
int data_parse_u64(const char *s, uint64_t *out);

/* Prints the builders' summary line on stdout:
 * {"train_groups":..,"train_examples":..,"test_examples":..,"out":"DIR"} */
void data_print_summary(long train_groups, long train_examples, long test_examples, const char *out);
/* The same with more members: extra (NULL: none) is inserted as is
 * before the closing brace, e.g. "\"k\":1,\"m\":{...}". */
void data_print_summary_extra(long train_groups, long train_examples, long test_examples, const char *out,
                              const char *extra);

/* After getopt: the error line for an argument left over ("unexpected
 * argument 'X' (see trm CMD --help)") and nonzero, or 0 when none is. */
int data_extra_arg(const char *cmd, int argc, char **argv);

/* After getopt, for the generators (sudoku-gen, maze-gen): no stray
 * argument, --count (count >= 0) and --out given; nonzero after the error
 * line. */
int data_gen_check(const char *cmd, int argc, char **argv, long count, const char *out);

/* The options trm data sudoku and trm data maze share: the sources, the
 * output and the draw of the splits. */
typedef struct {
    const char *input, *test_input, *out;
    long train_size, test_size; /* train_size -1 = all minus test */
    bool test_size_set;
    uint64_t seed;
} data_split_opts;

/* Takes getopt's option c when it is a shared one ('i' --input, 'o' --out,
 * 't' --test-input, 'n' --train-size, 'm' --test-size, 's' --seed): 1 when
 * taken, 0 when c is not one of them, -1 for a bad value (after the error
 * line). */
int data_split_option(const char *cmd, int c, const char *arg, data_split_opts *s);

/* After getopt: no stray argument, --input and --out given, not both
 * --test-size and --test-input; nonzero after the error line. */
int data_split_check(const char *cmd, int argc, char **argv, const data_split_opts *s);

/* The builder options of task from its defaults and the shared options s
 * (NULL: none), with notes and progress printed on stderr after prefix
 * (e.g. "trm data maze: "). */
void data_build_opts(trm_build_opts *b, const char *task, const data_split_opts *s, const char *prefix);

/* trm_build_dataset, its error as the command's line; 0 or 1. */
int data_run_build(const char *cmd, const char *task, const trm_build_opts *b, trm_build_result *r);

#endif
