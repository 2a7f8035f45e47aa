/* train.h - internals of the training driver (spec 3.3-3.5): datasets ->
 * ACT steps -> loss -> backward -> sign-SGD + AdamATan2 -> EMA, with
 * periodic evaluation, JSONL metrics, atomic checkpoints and exact resume.
 * trm_train_run, its config and its callbacks are public (trm.h); this
 * header has the state check and the evaluation shared with `trm eval`. */
#ifndef TRM_TRAIN_H
#define TRM_TRAIN_H

#include <signal.h>
#include <stdbool.h>
#include <stdint.h>

#include "io/safetensors.h"
#include "trm.h"

/* Validates a training state (RUN/state.safetensors, opened with st_open)
 * before anything of it is used: format, arch config, the dtype and shape
 * of every tensor, finite weights / Adam moments / EMA / carry, token ids
 * < vocab_size, labels in range or TRM_IGNORE_LABEL, puzzle ids in [0,
 * num_puzzle_identifiers), step counters and halting flags consistent,
 * non-zero RNG states, and the replay buffer when tc->replay_failures > 0.
 * m gives the arch and tensor list; end_step bounds the saved step (0:
 * unbounded); row_steps bounds a row's supervision-step count (0: the
 * arch's halt_max_steps; schedules and nocarry warm-ups may go further).
 * Returns -1 with one line naming the file and the tensor. */
int trm_train_state_check(const st_file *f, const trm_model *m, const trm_train_config *tc, int64_t end_step,
                          int row_steps, trm_err *err);

/* ---- evaluation (shared with `trm eval`) */

typedef struct {
    int64_t examples;
    double exact_accuracy, accuracy, q_halt_accuracy, mean_steps, lm_loss;
    int n_steps;                 /* supervision steps run */
    bool stopped;                /* trm_eval_opts.stop was raised: partial, not to be reported */
    double *exact_by_step;       /* [n_steps] when per_step was asked, else NULL */
    double *accuracy_by_step;
} trm_eval_result;

/* Evaluates m on a split (spec 3.5 test loader, fresh carry per batch,
 * `steps` supervision steps, default halt_max_steps when 0). */
struct trm_split;
int trm_evaluate(trm_model *m, const struct trm_split *split, int steps, int batch,
                 int64_t max_examples, bool per_step, bool progress, trm_eval_result *out,
                 trm_err *err);
void trm_eval_result_free(trm_eval_result *r);

/* One evaluated example, as seen after the last supervision step. The
 * pointers are valid only during the callback. */
typedef struct {
    int64_t index;          /* example index in the split */
    const int32_t *input;   /* [seq_len] */
    const int32_t *label;   /* [seq_len]; TRM_IGNORE_LABEL where ignored */
    int32_t puzzle_id;
    const int32_t *pred;    /* [seq_len] predicted tokens (argmax of the logits) */
    float q_halt;           /* halting logit; sigmoid = confidence */
} trm_eval_row;

/* Called once per real (non-padding) example, in split order; a non-zero
 * return stops the evaluation with that error. */
typedef int (*trm_eval_row_fn)(void *ctx, const trm_eval_row *row, trm_err *err);

/* Solves one batch: fills pred [batch, seq_len] and q_halt [batch]. The
 * default runs `steps` plain supervision steps from a fresh carry; a
 * test-time search plugs in here. lm_loss is taken from a's last step. */
typedef int (*trm_eval_solve_fn)(void *ctx, trm_model *m, trm_act *a, const trm_batch *bt,
                                 int steps, int32_t *pred, float *q_halt, trm_err *err);

typedef struct {
    int steps;               /* 0 = halt_max_steps */
    int batch;
    int64_t max_examples;    /* 0 = all */
    bool per_step;           /* only with the default solver */
    bool progress;
    trm_eval_row_fn on_row;  /* may be NULL */
    void *row_ctx;
    trm_eval_solve_fn solve; /* NULL = plain recursion */
    void *solve_ctx;
    const volatile sig_atomic_t *stop; /* may be NULL; when it turns non-zero the
                                          evaluation ends after the batch at hand */
    /* may be NULL: called after each batch with the examples done so far
     * and their exact accuracy (training reports it through its callbacks) */
    void (*on_progress)(void *ctx, int64_t seen, int64_t total, double exact);
    void *progress_ctx;
} trm_eval_opts;

/* trm_evaluate with a per-row callback and a pluggable batch solver. */
int trm_evaluate_opts(trm_model *m, const struct trm_split *split, const trm_eval_opts *o,
                      trm_eval_result *out, trm_err *err);

#endif
