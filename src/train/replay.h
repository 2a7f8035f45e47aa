/* replay.h - learning from its own failures (`trm train --replay-failures R`,
 * docs/search.md): training rows that halt with a wrong answer are kept in
 * a ring buffer, and a fraction R of the rows that load new data take a
 * kept failure instead, each time under a fresh augmentation. The buffer
 * and its RNG are part of the training state, so resume stays exact. */
#ifndef TRM_TRAIN_REPLAY_H
#define TRM_TRAIN_REPLAY_H

#include <stdbool.h>
#include <stdint.h>

#include "io/safetensors.h"
#include "tasks/task.h"
#include "trm.h"

typedef struct trm_replay trm_replay;

/* capacity examples of seq_len tokens; ratio in (0, 1]; task (may be NULL)
 * gives the augmentations, used only when augment is set (datasets whose
 * puzzle ids name augmented versions must not be re-augmented). */
trm_replay *replay_new(int capacity, int seq_len, float ratio, const trm_task *task, bool augment,
                           uint64_t seed, trm_err *err);
void replay_free(trm_replay *r);
/* Before a step: each row that will load new data (a->halted) takes a kept
 * failure with probability ratio, in place in the batch in/lab/pid. */
void replay_mix(trm_replay *r, const trm_act *a, int32_t *in, int32_t *lab, int32_t *pid);
/* After a step: keeps the rows that halted with a wrong answer (any
 * labelled token's argmax wrong). */
void replay_collect(trm_replay *r, const trm_model *m, const trm_act *a);
/* Training-state tensors "replay.*" (the writer borrows r's buffers). A
 * state without them (saved before the option was on) loads as empty. */
int replay_save(const trm_replay *r, st_writer *w, trm_err *err);
int replay_load(trm_replay *r, const st_file *f, trm_err *err);

#endif
