/* search_cli.h - the test-time compute options shared by `trm solve` and
 * `trm eval` (--search and its options, --rollouts, --cycles), so both
 * commands spell and check them the same way. */
#ifndef TRM_SEARCH_CLI_H
#define TRM_SEARCH_CLI_H

#include <getopt.h>
#include <stdbool.h>
#include <stdio.h>

#include "trm.h"

/* getopt_long entries; the codes are outside the ASCII short options. */
#define TRM_SEARCH_OPT_BASE 0x5300
#define TRM_SEARCH_LONG_OPTIONS                                                        \
    {"search", no_argument, 0, TRM_SEARCH_OPT_BASE + 0},                               \
    {"budget", required_argument, 0, TRM_SEARCH_OPT_BASE + 1},                         \
    {"search-time", required_argument, 0, TRM_SEARCH_OPT_BASE + 2},                    \
    {"search-policy", required_argument, 0, TRM_SEARCH_OPT_BASE + 3},                  \
    {"patience", required_argument, 0, TRM_SEARCH_OPT_BASE + 4},                       \
    {"branch-steps", required_argument, 0, TRM_SEARCH_OPT_BASE + 5},                   \
    {"search-seed", required_argument, 0, TRM_SEARCH_OPT_BASE + 6},                    \
    {"commit-fresh", no_argument, 0, TRM_SEARCH_OPT_BASE + 7},                         \
    {"no-share", no_argument, 0, TRM_SEARCH_OPT_BASE + 8},                             \
    {"rollouts", required_argument, 0, TRM_SEARCH_OPT_BASE + 9},                       \
    {"noise", required_argument, 0, TRM_SEARCH_OPT_BASE + 10},                         \
    {"cycles", required_argument, 0, TRM_SEARCH_OPT_BASE + 11}

typedef struct {
    bool on;               /* --search given */
    bool any;              /* some search option given (they need --search) */
    long long budget;      /* supervision steps; 0 = default */
    bool budget_times;     /* budget given as "Kx": K x halt_max_steps */
    bool noise_set;        /* --noise given (it needs --rollouts) */
    int cycles_T, cycles_n;/* --cycles T,n; 0 = the checkpoint's (no --search needed) */
    trm_search_opts o;     /* everything else */
} trm_search_cli;

void trm_search_cli_init(trm_search_cli *c);
/* Handles one getopt code: 0 = handled, 1 = not a search option,
 * -1 = a bad value (err says which option and what was expected). */
int trm_search_cli_parse(trm_search_cli *c, int code, const char *arg, trm_err *err);
/* After parsing, once the model is known: fills the budget (default 4 x
 * halt_max_steps, with --rollouts K: K x halt_max_steps) and checks the
 * combination (search options without --search are an error). */
int trm_search_cli_finish(trm_search_cli *c, const trm_config *cfg, trm_err *err);
/* --cycles T,n given: runs m at that depth (trm_model_set_cycles); else
 * leaves m as loaded. */
int trm_search_cli_apply_cycles(const trm_search_cli *c, trm_model *m, trm_err *err);
/* The options' lines for --help. */
void trm_search_cli_help(FILE *out);
/* One line of totals after `trm solve --search`. */
void trm_search_print_summary(FILE *out, const trm_search_stats *s, int64_t budget);
/* ,"search":{...} of one puzzle (trm solve --json). */
void trm_search_print_result_json(FILE *out, const trm_search_result *r);
/* ,"search":{...} with the totals of an evaluation (for trm eval's JSON). */
void trm_search_print_json(FILE *out, const trm_search_eval_ctx *c);

#endif
