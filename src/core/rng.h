/* rng.h - our own seeded RNG (xoshiro256**, seeded by splitmix64) and the
 * JAX-style truncated normal the reference initialises with. */
#ifndef TRM_RNG_H
#define TRM_RNG_H

#include <stdint.h>

void rng_seed(uint64_t s[4], uint64_t seed);
uint64_t rng_next(uint64_t s[4]);
/* Uniform in [0, 1) with 24 random bits (exactly representable floats). */
float rng_uniform(uint64_t s[4]);
/* Uniform integer in [lo, hi] (inclusive), unbiased. */
int rng_int(uint64_t s[4], int lo, int hi);
/* Inverse error function, double precision. */
double rng_erfinv(double x);
/* Standard normal truncated to [-2, 2], rescaled so the std is std, and
 * clipped to +-2 * 1.1368472343385565 * std (spec 1.7). */
void rng_trunc_normal(uint64_t s[4], float *out, long n, double std);

#endif
