/* dist.c - the process group of a data-parallel run: MPI_COMM_WORLD when
 * built with MPI and started by a launcher, else a group of one (dist.h). */
#include <limits.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <omp.h>

#include "dist/dist.h"

#ifdef TRM_HAVE_MPI
#include <mpi.h>
#endif

static int g_rank = 0, g_size = 1;
static bool g_agreed = false; /* the last failure was agreed by every rank */
#ifdef TRM_HAVE_MPI
static bool g_joined = false; /* MPI_Init was called */
#endif

int trm_dist_rank(void) { return g_rank; }
int trm_dist_size(void) { return g_size; }

bool trm_dist_have_mpi(void) {
#ifdef TRM_HAVE_MPI
    return true;
#else
    return false;
#endif
}

/* Cores this process may run on (mpirun may bind each rank to a few). */
static int usable_cores(void) {
    cpu_set_t set;
    if (sched_getaffinity(0, sizeof set, &set) == 0 && CPU_COUNT(&set) > 0) return CPU_COUNT(&set);
    long n = sysconf(_SC_NPROCESSORS_ONLN);
    return n > 0 ? (int)n : 1;
}

/* P ranks x T threads must not exceed the host's cores: oversubscribed
 * OpenMP threads spin against each other and every rank slows down. */
static void set_threads(int local_ranks) {
    const char *env = getenv("OMP_NUM_THREADS");
    if (env && *env) return; /* the user's choice (mpirun -x OMP_NUM_THREADS=N) */
    long online = sysconf(_SC_NPROCESSORS_ONLN);
    int share = online > 0 ? (int)(online / (local_ranks > 0 ? local_ranks : 1)) : 1;
    int n = usable_cores();
    if (share < n) n = share;
    omp_set_num_threads(n > 0 ? n : 1);
}

#ifdef TRM_HAVE_MPI
/* Set by mpirun / srun / hydra in every process they start. */
static bool launched_by_mpi(void) {
    static const char *const vars[] = {"OMPI_COMM_WORLD_SIZE", "PMIX_RANK", "PMI_SIZE", "PMI_RANK",
                                       "MV2_COMM_WORLD_SIZE"};
    for (size_t i = 0; i < sizeof vars / sizeof vars[0]; i++)
        if (getenv(vars[i])) return true;
    return false;
}

static int mpi_fail(int code, const char *what, trm_err *err) {
    char s[MPI_MAX_ERROR_STRING];
    int len = 0;
    if (MPI_Error_string(code, s, &len) != MPI_SUCCESS) snprintf(s, sizeof s, "error %d", code);
    return trm_errf(err, "rank %d: %s failed: %s (did another rank die?)", g_rank, what, s);
}
#define MPI_TRY(call, what) do { int c_ = (call); if (c_ != MPI_SUCCESS) return mpi_fail(c_, what, err); } while (0)
#endif

int trm_dist_init(trm_err *err) {
#ifdef TRM_HAVE_MPI
    if (g_joined || !launched_by_mpi()) return 0;
    int provided;
    /* OpenMP threads compute, only the main thread calls MPI */
    if (MPI_Init_thread(NULL, NULL, MPI_THREAD_FUNNELED, &provided) != MPI_SUCCESS)
        return trm_errf(err, "MPI_Init failed (started by mpirun, but cannot join the job)");
    g_joined = true;
    MPI_Comm_set_errhandler(MPI_COMM_WORLD, MPI_ERRORS_RETURN);
    MPI_Comm_rank(MPI_COMM_WORLD, &g_rank);
    MPI_Comm_size(MPI_COMM_WORLD, &g_size);
    MPI_Comm local;
    int local_ranks = 1;
    if (MPI_Comm_split_type(MPI_COMM_WORLD, MPI_COMM_TYPE_SHARED, 0, MPI_INFO_NULL, &local) == MPI_SUCCESS) {
        MPI_Comm_size(local, &local_ranks);
        MPI_Comm_free(&local);
    }
    set_threads(local_ranks);
#else
    (void)err;
    (void)set_threads;
#endif
    return 0;
}

void trm_dist_exit(int rc) {
#ifdef TRM_HAVE_MPI
    if (!g_joined) return;
    g_joined = false;
    if (rc != 0 && g_size > 1 && !g_agreed) MPI_Abort(MPI_COMM_WORLD, rc);
    MPI_Finalize();
#else
    (void)rc;
#endif
}

#ifdef TRM_HAVE_MPI
static int too_big(size_t n, trm_err *err) {
    return n > INT_MAX ? trm_errf(err, "rank %d: %zu elements in one message (at most %d)", g_rank, n, INT_MAX) : 0;
}

static MPI_Datatype elem_type(size_t elem) {
    return elem == 8 ? MPI_INT64_T : elem == 4 ? MPI_INT32_T : MPI_BYTE;
}
#endif

int trm_dist_sum_f32(float *buf, size_t n, trm_err *err) {
#ifdef TRM_HAVE_MPI
    if (g_size > 1) {
        if (too_big(n, err)) return -1;
        MPI_TRY(MPI_Allreduce(MPI_IN_PLACE, buf, (int)n, MPI_FLOAT, MPI_SUM, MPI_COMM_WORLD), "all-reduce");
    }
#else
    (void)buf; (void)n; (void)err;
#endif
    return 0;
}

int trm_dist_sum_f64(double *buf, size_t n, trm_err *err) {
#ifdef TRM_HAVE_MPI
    if (g_size > 1) {
        if (too_big(n, err)) return -1;
        MPI_TRY(MPI_Allreduce(MPI_IN_PLACE, buf, (int)n, MPI_DOUBLE, MPI_SUM, MPI_COMM_WORLD), "all-reduce");
    }
#else
    (void)buf; (void)n; (void)err;
#endif
    return 0;
}

int trm_dist_gather(const void *send, void *recv, size_t n, size_t elem, bool all_ranks, trm_err *err) {
#ifdef TRM_HAVE_MPI
    if (g_size > 1) {
        if (elem != 1 && elem != 4 && elem != 8) return trm_errf(err, "gather: element size %zu", elem);
        if (too_big(n * (size_t)g_size, err)) return -1;
        MPI_Datatype t = elem_type(elem);
        if (all_ranks)
            MPI_TRY(MPI_Allgather(send, (int)n, t, recv, (int)n, t, MPI_COMM_WORLD), "all-gather");
        else
            MPI_TRY(MPI_Gather(send, (int)n, t, recv, (int)n, t, 0, MPI_COMM_WORLD), "gather");
        return 0;
    }
#else
    (void)err; (void)all_ranks;
#endif
    if (recv != send) memmove(recv, send, n * elem);
    return 0;
}

int trm_dist_bcast(void *buf, size_t bytes, int root, trm_err *err) {
#ifdef TRM_HAVE_MPI
    if (g_size > 1) {
        if (too_big(bytes, err)) return -1;
        MPI_TRY(MPI_Bcast(buf, (int)bytes, MPI_BYTE, root, MPI_COMM_WORLD), "broadcast");
    }
#else
    (void)buf; (void)bytes; (void)root; (void)err;
#endif
    return 0;
}

int trm_dist_barrier(trm_err *err) {
#ifdef TRM_HAVE_MPI
    if (g_size > 1) MPI_TRY(MPI_Barrier(MPI_COMM_WORLD), "barrier");
#else
    (void)err;
#endif
    return 0;
}

bool trm_dist_any(bool flag) {
#ifdef TRM_HAVE_MPI
    if (g_size > 1) {
        int in = flag, out = in;
        /* a broken group counts as "stop": nothing good comes of going on */
        if (MPI_Allreduce(&in, &out, 1, MPI_INT, MPI_MAX, MPI_COMM_WORLD) != MPI_SUCCESS) return true;
        return out != 0;
    }
#endif
    return flag;
}

int trm_dist_agree(int rc, trm_err *err) {
    int first = rc ? g_rank : g_size; /* the lowest failing rank */
#ifdef TRM_HAVE_MPI
    if (g_size > 1) {
        int in = first;
        if (MPI_Allreduce(&in, &first, 1, MPI_INT, MPI_MIN, MPI_COMM_WORLD) != MPI_SUCCESS) {
            g_agreed = false;
            return trm_errf(err, "rank %d: the ranks cannot agree (did another rank die?)", g_rank);
        }
    }
#endif
    if (first == g_size) return 0;
    g_agreed = true;
    if (first != g_rank) err->msg[0] = 0;
    else if (g_rank > 0) {
        char m[sizeof err->msg];
        snprintf(m, sizeof m, "%s", err->msg);
        trm_errf(err, "rank %d: %s", g_rank, m);
    }
    return -1;
}

void trm_dist_same_failure(trm_err *err) {
    g_agreed = true;
    if (g_rank != 0) err->msg[0] = 0;
}
