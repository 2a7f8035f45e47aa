/* nprand.c - MT19937 (Matsumoto & Nishimura 1998) and NumPy's legacy
 * bounded-integer and shuffle algorithms (see nprand.h). */
#include "core/nprand.h"

#include <string.h>

#define N 624
#define M 397

void np_seed(np_rng *r, uint32_t seed) {
    r->key[0] = seed;
    for (int i = 1; i < N; i++) r->key[i] = 1812433253u * (r->key[i - 1] ^ (r->key[i - 1] >> 30)) + (uint32_t)i;
    r->pos = N; /* the first draw regenerates the block */
}

static void regenerate(np_rng *r) {
    uint32_t *k = r->key;
    for (int i = 0; i < N; i++) {
        uint32_t y = (k[i] & 0x80000000u) | (k[(i + 1) % N] & 0x7fffffffu);
        k[i] = k[(i + M) % N] ^ (y >> 1) ^ (y & 1 ? 0x9908b0dfu : 0);
    }
    r->pos = 0;
}

uint32_t np_next32(np_rng *r) {
    if (r->pos >= N) regenerate(r);
    uint32_t y = r->key[r->pos++];
    y ^= y >> 11;
    y ^= (y << 7) & 0x9d2c5680u;
    y ^= (y << 15) & 0xefc60000u;
    return y ^ (y >> 18);
}

static uint64_t next64(np_rng *r) {
    uint64_t hi = np_next32(r);
    return hi << 32 | np_next32(r);
}

/* The smallest all-ones mask covering max. */
static uint64_t mask_of(uint64_t max) {
    uint64_t m = max;
    for (int s = 1; s < 64; s *= 2) m |= m >> s;
    return m;
}

uint64_t np_interval(np_rng *r, uint64_t max) {
    if (max == 0) return 0;
    uint64_t mask = mask_of(max), v;
    if (max <= 0xffffffffu) {
        while ((v = np_next32(r) & mask) > max) {}
    } else {
        while ((v = next64(r) & mask) > max) {}
    }
    return v;
}

/* Legacy randint uses the masked path too; its special cases: an empty
 * range draws nothing, a full 32-bit range takes one raw draw. */
int64_t np_randint(np_rng *r, int64_t low, int64_t high) {
    uint64_t rng = (uint64_t)(high - 1 - low);
    if (rng == 0) return low;
    if (rng == 0xffffffffu) return low + (int64_t)np_next32(r);
    return low + (int64_t)np_interval(r, rng);
}

void np_shuffle(np_rng *r, void *items, size_t n, size_t size) {
    unsigned char *a = items, tmp[256];
    if (size > sizeof tmp) return; /* our callers shuffle small records or pointers */
    for (size_t i = n > 0 ? n - 1 : 0; i >= 1; i--) {
        size_t j = (size_t)np_interval(r, i);
        memcpy(tmp, a + i * size, size);
        memcpy(a + i * size, a + j * size, size);
        memcpy(a + j * size, tmp, size);
    }
}
