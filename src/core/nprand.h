/* nprand.h - NumPy's legacy global RNG (np.random.seed / RandomState):
 * MT19937 and the few legacy algorithms the reference's ARC builder calls,
 * reproduced draw for draw so that `trm data arc` can write the same bytes
 * as build_arc_dataset.py for the same seed.
 *
 *   np.random.seed(s)          np_seed (init_genrand, s < 2^32)
 *   np.random.randint(lo, hi)  np_randint: masked rejection on 32-bit draws;
 *                              a one-value range draws nothing
 *   np.random.shuffle(x)       np_shuffle_*: Fisher-Yates from the end, each
 *                              index by np_interval (masked rejection)
 *   np.random.permutation(a)   a copy, then shuffle
 */
#ifndef TRM_CORE_NPRAND_H
#define TRM_CORE_NPRAND_H

#include <stddef.h>
#include <stdint.h>

typedef struct {
    uint32_t key[624];
    int pos;
} np_rng;

void np_seed(np_rng *r, uint32_t seed);
uint32_t np_next32(np_rng *r);
/* Uniform in [0, max], the legacy random_interval. */
uint64_t np_interval(np_rng *r, uint64_t max);
/* randint(low, high) with high > low (exclusive), default dtype int64. */
int64_t np_randint(np_rng *r, int64_t low, int64_t high);
/* shuffle of n items of size bytes each (in place). */
void np_shuffle(np_rng *r, void *items, size_t n, size_t size);

#endif
