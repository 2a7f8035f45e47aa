/* prof.c - storage of the per-op profile (prof.h). */
#include <string.h>

#include "kernels/prof.h"

bool prof_enabled = false;
clockid_t prof_clock = CLOCK_MONOTONIC;
double prof_seconds[PROF_N];

const char *prof_name(int cat) {
    static const char *names[PROF_N] = {"matmul", "attention", "norm", "elementwise",
                                        "heads+loss", "optimizer", "data"};
    return cat >= 0 && cat < PROF_N ? names[cat] : "?";
}

void prof_reset(void) { memset(prof_seconds, 0, sizeof prof_seconds); }
