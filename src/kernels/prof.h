/* prof.h - a per-op wall-clock profile of the engine (off by default).
 *
 * PROF(cat, stmt) runs stmt and, when profiling is on, adds its wall time
 * to the category. Calls are placed at op granularity on the calling
 * (master) thread, never nested, so the categories add up to the time of
 * a step (whatever is not covered shows as "other" in `trm bench`).
 */
#ifndef TRM_PROF_H
#define TRM_PROF_H

#include <stdbool.h>
#include <time.h>

typedef enum {
    PROF_MATMUL,     /* linear layers (forward and backward) */
    PROF_ATTENTION,  /* scores, softmax, weighted sums (+ backward), RoPE */
    PROF_NORM,       /* RMSNorm (with its residual add) fwd + bwd */
    PROF_ELEMWISE,   /* SwiGLU, adds, copies, transposes */
    PROF_HEADS,      /* output heads, loss, halting */
    PROF_OPTIM,      /* optimizer and EMA */
    PROF_DATA,       /* batch assembly, input embedding, carry reset */
    PROF_N
} trm_prof_cat;

extern bool prof_enabled;
/* CLOCK_MONOTONIC (default) or CLOCK_PROCESS_CPUTIME_ID (`trm bench` with
 * TRM_BENCH_CPUTIME=1: on a shared, overloaded machine, single-threaded
 * runs are then timed by the CPU they got, not by the wall clock). */
extern clockid_t prof_clock;
extern double prof_seconds[PROF_N];
const char *prof_name(int cat);
void prof_reset(void);

static inline double trm_prof_now(void) {
    struct timespec t;
    clock_gettime(prof_clock, &t);
    return (double)t.tv_sec + 1e-9 * (double)t.tv_nsec;
}

#define PROF(cat, stmt)                                              \
    do {                                                             \
        if (prof_enabled) {                                      \
            double prof_t0_ = trm_prof_now();                        \
            stmt;                                                    \
            prof_seconds[cat] += trm_prof_now() - prof_t0_;      \
        } else {                                                     \
            stmt;                                                    \
        }                                                            \
    } while (0)

#endif
