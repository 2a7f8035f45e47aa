/* data_common.h - helpers shared by the `trm data` builders (cmd_data.c,
 * cmd_data_maze.c, cmd_data_arc.c). One copy, so that the builders parse,
 * report and clean up the same way. Functions that print errors take the
 * command name (e.g. "data maze") for the "trm <cmd>: ..." line. */
#ifndef TRM_CLI_DATA_COMMON_H
#define TRM_CLI_DATA_COMMON_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "data/dataset.h"

/* Size of the buffer data_open_tmp fills (an output path plus ".tmp.<pid>"). */
#define DATA_TMP_PATH 4200

/* A decimal integer in [lo, hi], the whole string; 0 or -1 (out untouched). */
int data_parse_long(const char *s, long lo, long hi, long *out);

/* A non-negative decimal integer (no sign); 0 or -1 (out untouched). */
int data_parse_u64(const char *s, uint64_t *out);

/* Monotonic seconds, for rates and durations. */
double data_now_s(void);

/* Prints the builders' summary line on stdout:
 * {"train_groups":..,"train_examples":..,"test_examples":..,"out":"DIR"} */
void data_print_summary(long train_groups, long train_examples, long test_examples, const char *out);
/* The same with more members: extra (NULL: none) is inserted as is
 * before the closing brace, e.g. "\"k\":1,\"m\":{...}". */
void data_print_summary_extra(long train_groups, long train_examples, long test_examples, const char *out,
                              const char *extra);

/* A new array 0, 1, ..., n-1 (all of a split, in file order); NULL when
 * out of memory; the caller frees. */
int *data_iota(int n);

/* 64-bit FNV-1a of n bytes. */
uint64_t data_fnv1a(const void *bytes, size_t n);

/* Item k's own RNG stream from the seed, so that parallel generators give
 * the same output whatever the threads. */
void data_item_rng(uint64_t rng[4], uint64_t seed, long k);

/* Calls each(cmd, file, ctx) for the files of a comma-separated list, in
 * order, until one returns nonzero (after its error line): that value,
 * or 0. */
int data_each_file(const char *cmd, const char *list, int (*each)(const char *cmd, const char *file, void *ctx),
                   void *ctx);

/* mkdir -p DIR (an existing directory is fine). *created is set only when
 * this call made DIR itself: only then may a failure remove it. */
int data_make_dir(const char *cmd, const char *dir, bool *created);

/* data_make_dir, then proves DIR takes files (a probe file), so a bad
 * place fails before any work. */
int data_prepare_out(const char *cmd, const char *dir, bool *created);

/* Removes DIR and everything below it (a failed build's own output). */
void data_remove_tree(const char *dir);

/* A seeded shuffle of 0..n-1: the first n_test indices are the test draw,
 * the next n_train the train draw, each sorted back into file order (the
 * order of groups does not matter to training; file order keeps the
 * files easy to inspect). NULL when out of memory; the caller frees. */
int *data_draw_split(int n, int n_test, int n_train, uint64_t rng[4]);

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

/* Split sizes from --test-size/--train-size (train_size < 0: all that is
 * left), checked against the pool_n items the inputs hold; noun names
 * them in messages ("puzzles", "mazes"). */
int data_plan_sizes(const char *cmd, const char *noun, long test_size, long train_size, int pool_n,
                    bool external_test, int *n_train, int *n_test);

/* Writes DIR/train, DIR/test and identifiers.json ["<blank>"] (each atomic
 * on its own), for builders with the one shared puzzle identifier. */
int data_write_dataset(const char *cmd, const char *dir, trm_split_writer *train, trm_split_writer *test);

/* Opens out's temporary sibling tmp ("OUT.tmp.<pid>") for writing, before
 * the work so that a bad path fails at once; NULL after the error line. */
FILE *data_open_tmp(const char *cmd, const char *out, char tmp[DATA_TMP_PATH]);

/* Closes f (always) and, when werr is 0 and the close worked, renames tmp
 * onto out; nonzero after the error line (the caller removes tmp). */
int data_commit_tmp(const char *cmd, FILE *f, int werr, const char *tmp, const char *out);

/* Open-addressing set of fixed-length byte rows (rows[k * len ...]), by
 * row index: drops repeated questions and keeps train and test disjoint.
 * rows must stay in place while the set is used. */
typedef struct {
    const uint8_t *rows;
    size_t len;
    int *slot; /* -1 = empty */
    size_t mask;
} data_rowset;

/* Room for n rows; -1 when out of memory. Free with free(set->slot). */
int data_rowset_init(data_rowset *s, const void *rows, size_t len, int n);

/* Whether row q is in the set; with add >= 0, inserts index add when absent. */
bool data_rowset_has(data_rowset *s, const void *q, int add);

#endif
