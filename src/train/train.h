/* train.h - the training driver behind `trm train` (spec 3.3-3.5):
 * datasets -> ACT steps -> loss -> backward -> sign-SGD + AdamATan2 ->
 * EMA, with periodic evaluation, JSONL metrics, atomic checkpoints and
 * exact resume. */
#ifndef TRM_TRAIN_H
#define TRM_TRAIN_H

#include <stdbool.h>
#include <stdint.h>

#include "trm.h"

/* Training hyper-parameters, named as the reference's cfg_pretrain.yaml
 * where it has a name. */
typedef struct {
    int global_batch_size;
    double epochs;
    double eval_interval;          /* epochs between evaluations (0: only at the end) */
    float lr, lr_min_ratio;
    int64_t lr_warmup_steps;
    float beta1, beta2, weight_decay;
    float puzzle_emb_lr, puzzle_emb_weight_decay;
    uint64_t seed;
    bool ema;
    float ema_rate;
    trm_loss_kind loss_type;
    int64_t checkpoint_every;      /* steps between state saves (0: at evals only) */
    int64_t eval_max_examples;     /* 0: the whole test split */
    int eval_batch_size;
    int log_every;                 /* steps between JSONL train records */
    int64_t max_steps;             /* cap on the run's total steps (0: S_total); sets the LR schedule */
    int64_t stop_after;            /* save and stop after this many steps of one invocation (0: never) */
} trm_train_config;

void trm_train_config_default(trm_train_config *c);
/* Sets a training field by name; returns 1 if key is not a training
 * field (so callers can try the arch config), 0 on success, -1 on a bad
 * value. */
int trm_train_config_set(trm_train_config *c, const char *key, const char *value, trm_err *err);
char *trm_train_config_to_json(const trm_train_config *c);

typedef struct {
    const char *data_dir;   /* dataset with train/ (and test/) */
    const char *out_dir;    /* run directory */
    bool resume;
    bool quiet;             /* no progress line on stderr */
} trm_train_run_opts;

/* Runs (or resumes) a training run. arch: vocab_size, seq_len and
 * num_puzzle_identifiers are taken from the dataset. Returns 0 on
 * success (also when stopped by SIGINT/SIGTERM after saving). */
int trm_train_run(const trm_config *arch, const trm_train_config *tc,
                  const trm_train_run_opts *opts, trm_err *err);

/* ---- evaluation (shared with `trm eval`) */

typedef struct {
    int64_t examples;
    double exact_accuracy, accuracy, q_halt_accuracy, mean_steps, lm_loss;
    int n_steps;                 /* supervision steps run */
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

#endif
