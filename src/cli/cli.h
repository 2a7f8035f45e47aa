/* cli.h - the subcommands of the trm program. Each returns the exit code. */
#ifndef TRM_CLI_H
#define TRM_CLI_H

#include <stdbool.h>
#include <stdint.h>

#include "trm.h"

int cmd_info(int argc, char **argv);
int cmd_bench(int argc, char **argv);
int cmd_forward(int argc, char **argv);
int cmd_demo(int argc, char **argv);
int cmd_train(int argc, char **argv);
int cmd_eval(int argc, char **argv);
int cmd_solve(int argc, char **argv);
int cmd_data(int argc, char **argv);
int cmd_plot(int argc, char **argv);
int cmd_render(int argc, char **argv);
/* trm data maze / maze-gen (cmd_data_maze.c); argv[0] is the builder. */
int cmd_data_maze(int argc, char **argv);
int cmd_data_maze_gen(int argc, char **argv);
/* trm data arc (cmd_data_arc.c); argv[0] is the builder. */
int cmd_data_arc(int argc, char **argv);

/* Prints "trm <cmd>: <msg>" on stderr and returns 1 (for `return die(...)`). */
int die(const char *cmd, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* The one-line error for an option getopt rejected (call from the '?'
 * branch); returns 1. */
int bad_option(const char *cmd, int argc, char **argv);

/* Strict option values (core/util.h's parsers, cli_util.c): 0, or 1 after
 * "trm CMD: --opt: expected an integer in LO..HI, got 'TEXT'". */
int opt_int(const char *cmd, const char *opt, const char *s, int lo, int hi, int *out);
int opt_ll(const char *cmd, const char *opt, const char *s, long long lo, long long hi, long long *out);
int opt_u64(const char *cmd, const char *opt, const char *s, uint64_t *out);
int opt_double(const char *cmd, const char *opt, const char *s, double lo, double hi, bool lo_open, double *out);

/* trm info's memory figures (bytes): the training state (weights,
 * gradients, two Adam moments, EMA: 5 fp32 copies of the trainable
 * parameters, plus the puzzle table and its EMA copy), and the weights. */
double cli_train_state_bytes(const trm_config *c, int64_t params);
double cli_weight_bytes(const trm_config *c, int64_t params);
/* Estimated bytes of training at batch B (evaluating at eval_batch, 0 =
 * none) and of solving at batch B: the figures trm info prints. */
double cli_train_bytes(const trm_config *c, int64_t params, int batch, int eval_batch);
double cli_solve_bytes(const trm_config *c, int64_t params, int batch);

/* The check before a large allocation (bench, train, eval, solve): 0 when
 * `need` bytes fit in the available memory or `ignore` (the command's
 * --ignore-memory-check) is set; else 1 after the error line. */
int cli_memory_check(const char *cmd, double need, const char *what, bool ignore);

/* trm_train_run as `trm train` runs it (cmd_train.c): its progress, evaluations and
 * start/end lines printed on stderr (the progress and eval lines not when quiet),
 * RUN/curves.svg redrawn, SIGINT/SIGTERM saving the state and stopping. Sets ro's
 * callbacks and stop flag. */
int cli_train_run(const trm_config *arch, const trm_train_config *tc, trm_train_run_opts *ro, bool quiet,
                  trm_err *err);

/* trm_checkpoint_load, plus one warning line on stderr when the weights
 * hold NaN or infinite values (trm_model_nonfinite): "warning: PATH:
 * tensor NAME has N NaN or infinite values of M[ (K tensors have some)];
 * the model's outputs will not be finite". */
trm_model *cli_checkpoint_load(const char *path, trm_err *err);

/* mkdir -p dir (io_mkdir_p); 0, or 1 after "trm CMD: [OPT ]DIR: exists and
 * is not a directory" or "...: cannot create directory: REASON". */
int cli_make_dir(const char *cmd, const char *opt, const char *dir);

/* The help line of --ignore-memory-check, for the commands' usage. */
#define CLI_MEMCHECK_HELP \
    "  --ignore-memory-check  run even when the estimated memory (trm info) exceeds the\n" \
    "                    available memory (also TRM_NO_MEMCHECK=1)\n"

#endif
