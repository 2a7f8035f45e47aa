/* prof.c - storage of the per-op profile (prof.h). */
#include <string.h>

#include "kernels/prof.h"

bool trm_prof_enabled = false;
clockid_t trm_prof_clock = CLOCK_MONOTONIC;
double trm_prof_seconds[PROF_N];

const char *trm_prof_name(int cat) {
    static const char *names[PROF_N] = {"matmul", "attention", "norm", "elementwise",
                                        "heads+loss", "optimizer", "data"};
    return cat >= 0 && cat < PROF_N ? names[cat] : "?";
}

void trm_prof_reset(void) { memset(trm_prof_seconds, 0, sizeof trm_prof_seconds); }
