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
int train_state_check(const st_file *f, const trm_model *m, const trm_train_config *tc, int64_t end_step,
                          int row_steps, trm_err *err);

/* Evaluation (trm_evaluate, trm_eval_opts, ...) is public: include/trm.h. */

#endif
