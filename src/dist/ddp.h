/* ddp.h - data-parallel training as the reference's DDP (spec 3.1b, 3.3,
 * 3.5; docs/mpi.md): every rank loads the whole global batch and trains
 * on its contiguous slice with its own ACT carry; the dense gradients are
 * summed over the ranks (backward already scales by 1 / global batch, so
 * the sum is the global mean, as the reference); the puzzle rows and their
 * gradients are gathered so sign-SGD sees the whole batch; the halting
 * exploration is drawn for the whole batch from one stream. So a run's
 * weights do not depend on the number of ranks (up to the order of the
 * floating-point sums), and the state file always holds the whole batch's
 * carry: a run resumes with any number of ranks.
 *
 * A NULL ddp is a single process: every function then does what the
 * single-process trainer did (or nothing). */
#ifndef TRM_DDP_H
#define TRM_DDP_H

#include "trm.h"

typedef struct ddp ddp;

/* NULL in *out for a group of one. Fails when the global batch does not
 * split evenly over the ranks. */
int ddp_open(ddp **out, const trm_model *m, int global_batch, trm_err *err);
void ddp_free(ddp *d);
/* This rank's rows of the global batch: [offset, offset + rows). */
int ddp_rows(const ddp *d, int global_batch);
int ddp_offset(const ddp *d);
/* This rank's slice of a global batch of seq_len S. */
trm_batch ddp_slice(const ddp *d, const trm_batch *global, int S);
/* The halting exploration of the next trm_act_step, drawn for the whole
 * batch from a->rng exactly as a single process would draw them, and this
 * rank's slice returned; NULL when nothing is drawn (single process, or
 * halt_max_steps 1). */
const trm_explore *ddp_draws(ddp *d, trm_act *a, const trm_config *c);
/* Sums the step's metrics over the ranks. */
int ddp_reduce_metrics(ddp *d, trm_metrics *mt, trm_err *err);
/* trm_optim_step after summing the dense gradients and gathering the
 * puzzle rows and their gradients; *skipped as trm_optim_step's return. */
int ddp_optim_step(ddp *d, trm_optim *o, trm_model *m, const trm_act *a, int *skipped, trm_err *err);

/* "; exchange per step and rank (rank R): X MB in Y ms" over the steps
 * so far of this process's latest data-parallel run (time in the
 * collectives, waiting for the slowest rank included); "" when it took no
 * data-parallel step. For the CLI's closing line (the library prints
 * nothing). */
const char *ddp_comm_note(void);

/* The carry of the whole batch, for the state file. ddp_carry_gather
 * (collective) assembles it on rank 0 from every rank's slice;
 * ddp_carry_alloc makes an empty one (to load into, then
 * ddp_carry_scatter gives this rank its slice); ddp_carry_release frees
 * it. ddp_carry_view views it when present, else local's carry
 * (trm_act_carry_view). */
int ddp_carry_gather(ddp *d, trm_act *local, trm_err *err);
int ddp_carry_alloc(ddp *d, trm_err *err);
void ddp_carry_scatter(const ddp *d, trm_act *local);
void ddp_carry_release(ddp *d);
void ddp_carry_view(ddp *d, trm_act *local, trm_act_carry *out);

#endif
