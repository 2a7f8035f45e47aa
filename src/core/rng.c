/* rng.c - xoshiro256** and the truncated-normal initializer. */
#include <math.h>

#include "core/rng.h"

static uint64_t splitmix64(uint64_t *x) {
    uint64_t z = (*x += 0x9E3779B97F4A7C15ull);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
}

void rng_seed(uint64_t s[4], uint64_t seed) {
    for (int i = 0; i < 4; i++) s[i] = splitmix64(&seed);
}

static inline uint64_t rotl(uint64_t x, int k) { return (x << k) | (x >> (64 - k)); }

uint64_t rng_next(uint64_t s[4]) {
    uint64_t result = rotl(s[1] * 5, 7) * 9, t = s[1] << 17;
    s[2] ^= s[0];
    s[3] ^= s[1];
    s[1] ^= s[2];
    s[0] ^= s[3];
    s[2] ^= t;
    s[3] = rotl(s[3], 45);
    return result;
}

float rng_uniform(uint64_t s[4]) { return (float)(rng_next(s) >> 40) * 0x1.0p-24f; }

int rng_int(uint64_t s[4], int lo, int hi) {
    uint64_t range = (uint64_t)((int64_t)hi - lo) + 1, limit = UINT64_MAX - UINT64_MAX % range;
    uint64_t x;
    do x = rng_next(s); while (x >= limit);
    return (int)((int64_t)lo + (int64_t)(x % range));
}

/* Giles' single-precision-style initial guess refined by two Newton
 * steps on erf, which brings it to double accuracy. */
double rng_erfinv(double x) {
    if (x <= -1.0) return -INFINITY;
    if (x >= 1.0) return INFINITY;
    double w = -log((1.0 - x) * (1.0 + x)), p;
    if (w < 5.0) {
        w -= 2.5;
        p = 2.81022636e-08;
        p = 3.43273939e-07 + p * w;
        p = -3.5233877e-06 + p * w;
        p = -4.39150654e-06 + p * w;
        p = 0.00021858087 + p * w;
        p = -0.00125372503 + p * w;
        p = -0.00417768164 + p * w;
        p = 0.246640727 + p * w;
        p = 1.50140941 + p * w;
    } else {
        w = sqrt(w) - 3.0;
        p = -0.000200214257;
        p = 0.000100950558 + p * w;
        p = 0.00134934322 + p * w;
        p = -0.00367342844 + p * w;
        p = 0.00573950773 + p * w;
        p = -0.0076224613 + p * w;
        p = 0.00943887047 + p * w;
        p = 1.00167406 + p * w;
        p = 2.83297682 + p * w;
    }
    double y = p * x;
    for (int i = 0; i < 2; i++) {
        double err = erf(y) - x;
        y -= err / (2.0 / sqrt(M_PI) * exp(-y * y));
    }
    return y;
}

void rng_trunc_normal(uint64_t s[4], float *out, long n, double std) {
    if (std == 0.0) {
        for (long i = 0; i < n; i++) out[i] = 0.0f;
        return;
    }
    const double a = erf(-2.0 / M_SQRT2), b = erf(2.0 / M_SQRT2);
    const double c = std * 1.1368472343385565;
    for (long i = 0; i < n; i++) {
        double u = a + (b - a) * ((double)(rng_next(s) >> 11) * 0x1.0p-53);
        double v = M_SQRT2 * rng_erfinv(u) * c;
        if (v < -2.0 * c) v = -2.0 * c;
        if (v > 2.0 * c) v = 2.0 * c;
        out[i] = (float)v;
    }
}
