/* train.h - the training driver behind `trm train` (spec 3.3-3.5):
 * datasets -> ACT steps -> loss -> backward -> sign-SGD + AdamATan2 ->
 * EMA, with periodic evaluation, JSONL metrics, atomic checkpoints and
 * exact resume. */
#ifndef TRM_TRAIN_H
#define TRM_TRAIN_H

#include <signal.h>
#include <stdbool.h>
#include <stdint.h>

#include "io/safetensors.h"
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
    int64_t max_steps;             /* stop after this step (0: at S_total); schedule and eval cadence
                                    * stay as the epochs define them, steps past S_total are no-ops */
    int64_t stop_after;            /* save and stop after this many steps of one invocation (0: never) */
    float replay_failures;         /* fraction of fresh rows replaced by kept failures (0: off; train/replay.h) */
    /* the dense optimizer and Muon's fields (trm_optim_config; defaults from
     * trm_optim_config_default) */
    trm_optimizer optimizer, muon_adam;
    float adam_eps, muon_lr, muon_momentum, muon_weight_decay;
    bool muon_nesterov;
    int muon_ns_steps;
    /* training-graph recipes (docs/training.md, "Recipes"); the defaults are the reference's */
    float label_smoothing;         /* cross entropy against (1 - eps) onehot + eps / V (0: off) */
    float step_weight;             /* carry graph: a row's loss at supervision step t weighs R^(t-1) (1: off) */
    int graph;                     /* TRM_GRAPH_CARRY (reference) or TRM_GRAPH_NOCARRY */
    int nocarry_warmup;            /* nocarry: warm-up steps drawn from [0, this] per batch (-1: halt_max_steps - 1) */
    char cycles_schedule[256];     /* "F0:T,n;F1:T,n;..." (H_cycles, L_cycles by fraction of training; "" = off) */
    char halt_schedule[256];       /* "F0:N;F1:N;..." (halt_max_steps by fraction of training; "" = off) */
} trm_train_config;

enum { TRM_GRAPH_CARRY = 0, TRM_GRAPH_NOCARRY = 1 };

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
    bool force;             /* start afresh in a run directory that is not empty */
    /* dataset fields the user gave explicitly (0: not given); they must
     * match the dataset's */
    int vocab_size, seq_len, num_puzzle_identifiers;
} trm_train_run_opts;

/* Runs (or resumes) a training run. arch: vocab_size, seq_len and
 * num_puzzle_identifiers are taken from the dataset. Returns 0 on
 * success (also when stopped by SIGINT/SIGTERM after saving). */
int trm_train_run(const trm_config *arch, const trm_train_config *tc,
                  const trm_train_run_opts *opts, trm_err *err);

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

/* Evaluation (trm_evaluate, trm_eval_opts, ...) is public: include/trm.h. */

#endif
