/* dist.h - the process group of a data-parallel run (docs/mpi.md).
 *
 * Built with MPI (make MPI=1; auto-detected from mpicc) a process started
 * by mpirun joins MPI_COMM_WORLD; a process started without a launcher,
 * and every process of a build without MPI, is a group of one: rank 0 of
 * size 1, where every collective is a copy or does nothing. So callers
 * never need #ifdefs.
 *
 * Errors: the collectives return -1 with a one-line message (the default
 * MPI handler would abort the job from inside the library instead). */
#ifndef TRM_DIST_H
#define TRM_DIST_H

#include <stdbool.h>
#include <stddef.h>

#include "trm.h"

/* Joins the group when launched by mpirun (or another MPI launcher), and
 * gives each rank its share of the cores: OMP_NUM_THREADS when set, else
 * the cores this rank may run on divided among the ranks of its host.
 * Safe to call once per process; returns -1 on failure. */
int trm_dist_init(trm_err *err);
/* Leaves the group: after a failure every rank agreed on (or success) it
 * finalizes; after a failure of this rank alone it aborts the whole job,
 * since the other ranks may be waiting in a collective for it. */
void trm_dist_exit(int rc);

int trm_dist_rank(void);
int trm_dist_size(void);
static inline bool trm_dist_root(void) { return trm_dist_rank() == 0; }
/* Whether this build can join an MPI job. */
bool trm_dist_have_mpi(void);

/* In-place sum over the ranks. */
int trm_dist_sum_f32(float *buf, size_t n, trm_err *err);
int trm_dist_sum_f64(double *buf, size_t n, trm_err *err);
/* recv[rank * n .. ] = rank's send[0 .. n), elements of elem bytes (1, 4
 * or 8); all_ranks: every rank receives (all-gather), else only rank 0
 * (recv is ignored elsewhere). */
int trm_dist_gather(const void *send, void *recv, size_t n, size_t elem, bool all_ranks, trm_err *err);
/* Rank root's buf to every rank. */
int trm_dist_bcast(void *buf, size_t bytes, int root, trm_err *err);
int trm_dist_barrier(trm_err *err);
/* Whether any rank has flag set (collective). */
bool trm_dist_any(bool flag);

/* Collective agreement on a phase's result: every rank passes its rc and
 * gets 0 when all succeeded, else -1. Then the lowest failing rank keeps
 * its message (as "rank N: ..." when N > 0) and the other ranks get an
 * empty one, so one line reaches the user; trm_dist_exit then finalizes
 * instead of aborting. */
int trm_dist_agree(int rc, trm_err *err);
/* A failure every rank reached by the same computation (e.g. from reduced
 * values): rank 0 keeps the message, the others get an empty one. */
void trm_dist_same_failure(trm_err *err);

#endif
