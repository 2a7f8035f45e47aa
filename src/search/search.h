/* search.h - test-time search: a TRM that checks its own work and goes
 * back when the work is wrong (docs/search.md).
 *
 * Every supervision step of every branch is scored twice: by the model
 * (sigmoid(q_halt)) and, for tasks with a checker, by task->verify
 * (violations, disagreement with the givens included). The best state seen
 * so far (its recursion carry y, z and its inputs) is kept; when a branch
 * stops improving (or runs its length) the search goes back to that state
 * and branches: commit an uncertain cell to its second-best value as a new
 * given, run the puzzle under a fresh augmentation, or re-seed the latent.
 * The search stops for a puzzle as soon as its answer passes the checker,
 * or when its budget of supervision steps (network evaluations) is spent.
 * No classical solver is involved: every answer is one the model wrote.
 *
 * Puzzles are searched in batches: the rows of one trm_act are lanes, each
 * running one branch of one puzzle; a lane freed by a finished puzzle takes
 * the next puzzle, and once none is left, idle lanes run extra branches of
 * the puzzles still unsolved.
 *
 * Rollouts (opts.rollouts = K > 0) replace the branching: K lanes per
 * puzzle run from a fresh carry for budget / K supervision steps each,
 * every lane but lane 0 with Gaussian noise (opts.noise) added to its z
 * before every step; the answer is the lane the checker accepts (highest
 * q among those), else the lane with the highest sigmoid(q_halt).
 */
#ifndef TRM_SEARCH_H
#define TRM_SEARCH_H

#include <stdbool.h>
#include <stdint.h>

#include "tasks/task.h"
#include "trm.h"

typedef enum {
    TRM_BRANCH_PLAIN = 0,   /* the first branch: the model as trained, fresh carry */
    TRM_BRANCH_AUG = 1,     /* fresh carry, the puzzle under a new random augmentation */
    TRM_BRANCH_COMMIT = 2,  /* best state, one uncertain cell fixed to its 2nd-best value */
    TRM_BRANCH_RESEED = 3,  /* fresh y, z = z_init + noise */
    TRM_BRANCH_FIX = 4,     /* fresh carry, the best state's most confident conflict-free cells as givens */
    TRM_BRANCH_ROLLOUT = 5, /* a rollout lane (opts.rollouts); not a policy entry */
    TRM_BRANCH_KINDS = 6,
} trm_branch_kind;

const char *trm_branch_name(trm_branch_kind k);

#define TRM_SEARCH_MAX_POLICY 8
#define TRM_SEARCH_MAX_ROLLOUTS 1024
#define TRM_SEARCH_MAX_NOISE 100.0f

typedef struct {
    int64_t budget;        /* supervision steps per puzzle, >= 1 */
    double time_limit;     /* wall seconds for the whole call; 0 = none */
    int branch_steps;      /* longest branch; 0 = the caller's step count (halt_max_steps) */
    int patience;          /* end a branch after this many steps without a better score; 0 = never */
    trm_branch_kind policy[TRM_SEARCH_MAX_POLICY]; /* branches after the plain one, cycled */
    int n_policy;
    bool commit_fresh;     /* commit branches restart from a fresh carry (else resume the best state) */
    float reseed_std;      /* noise added to z_init by reseed branches */
    float fix_fraction;    /* share of the conflict-free filled cells a fix branch turns into givens */
    bool share_lanes;      /* idle lanes run extra branches of unsolved puzzles */
    int rollouts;          /* K > 0: K noisy rollouts per puzzle instead of branching; 0 = off */
    float noise;           /* rollouts: std of the noise added to z of lanes 1..K-1 before every step */
    uint64_t seed;
    /* Test hooks, NULL in normal use. after_step runs after every batch step
     * and may rewrite a->logits / a->q_halt (a stub scorer); on_step sees
     * every scored step of every lane (answer in the puzzle's frame). */
    int (*after_step)(void *ctx, trm_act *a, trm_err *err);
    void *hook_ctx;
    void (*on_step)(void *ctx, int puzzle, trm_branch_kind kind, const int32_t *answer,
                    int violations, float q);
    void *trace_ctx;
} trm_search_opts;

/* Defaults: budget 4 x halt_max_steps, patience 2, policy "fix,aug",
 * commits resume the best state, reseed_std 0.5, fix_fraction 0.5, lanes
 * shared, no rollouts (noise 0), seed 0. */
void trm_search_opts_default(trm_search_opts *o, const trm_config *cfg);
/* "aug,commit,reseed" style list -> o->policy. */
int trm_search_set_policy(trm_search_opts *o, const char *list, trm_err *err);
/* Checks every field (budget >= 1, patience >= 0, rollouts 0..
 * TRM_SEARCH_MAX_ROLLOUTS with budget >= rollouts, noise 0..
 * TRM_SEARCH_MAX_NOISE, ...). */
int trm_search_opts_check(const trm_search_opts *o, trm_err *err);

/* What the search did for one puzzle. */
typedef struct {
    float q;               /* sigmoid(q_halt) at the step the answer came from */
    float q_logit;
    int violations;        /* task->verify of the answer; -1 = no checker */
    bool verified;         /* the answer passed the checker */
    int64_t evals;         /* supervision steps charged to this puzzle (<= budget) */
    int branches;          /* branches started, the plain one included */
    trm_branch_kind found_by;
    bool started;          /* false when the time limit ran out first */
    int lane;              /* rollouts: the lane chosen (by the checker when verified, else by q); -1 = none */
} trm_search_result;

/* Totals over calls (callers sum them across batches). */
typedef struct {
    int64_t puzzles, verified, evals, branches;
    int64_t row_steps;     /* rows computed by the batch, idle lanes included */
    int64_t found_by[TRM_BRANCH_KINDS];
    int64_t rollout_puzzles;  /* puzzles run as rollouts (the rest of them were chosen by q) */
    double seconds;
} trm_search_stats;

/* Searches n puzzles (inputs [n, seq_len] in the task's token layout,
 * puzzle ids [n] or NULL) using the rows of a (a TRM_EVAL state of model m)
 * as lanes; writes answers [n, seq_len] and res [n]; adds to stats (may be
 * NULL). task must fit the model (vocab, seq_len). first_index numbers the
 * puzzles for their random streams, so results do not depend on how a
 * caller splits a set into calls. */
int trm_search_run(trm_model *m, trm_act *a, const trm_task *task, const int32_t *inputs,
                   const int32_t *puzzle_ids, int n, int64_t first_index,
                   const trm_search_opts *o, int32_t *answers, trm_search_result *res,
                   trm_search_stats *stats, trm_err *err);

/* ---- plugging the search into trm_evaluate_opts (train/train.h) */

typedef struct {
    trm_search_opts opts;
    const trm_task *task;
    trm_search_stats stats;
    int64_t next_index;    /* puzzles searched so far (their index base) */
    int64_t max_puzzles;   /* search at most this many (the evaluation's max_examples); 0 = all */
    int64_t solved, evals_solved; /* exactly right vs the labels, and their evals */
    double deadline;       /* absolute, from opts.time_limit at the first call; 0 = none */
} trm_search_eval_ctx;

/* A trm_eval_solve_fn: searches the batch's real rows (rows whose labels
 * are all ignored are the loader's padding and are skipped). */
int trm_search_eval_solve(void *ctx, trm_model *m, trm_act *a, const trm_batch *bt, int steps,
                          int32_t *pred, float *q_halt, trm_err *err);

#endif
