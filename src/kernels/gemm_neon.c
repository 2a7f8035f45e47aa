/* gemm_neon.c - the GEMM's packing and micro-kernel for ARM64 (AdvSIMD);
 * gemm.c drives them (blocking, threads, pre-packed weights), as it does
 * gemm_avx512.c's and gemm_avx2.c's. gemm_isa() (kernels/cpu.h) hands
 * this table out on an ARM64 build; off ARM64 nothing here is compiled.
 *
 * op(B) is packed into slivers of NR = 8 columns ([kc][8], zero padded),
 * op(A) into slivers of MR = 12 rows ([kc][12]). A 12x8 register tile (24
 * q-register accumulators + 2 B vectors + 3 A vectors = 29 of the 32 NEON
 * registers) runs over kc: per k two loads of B, three of A and 24
 * lane-indexed FMAs. (NR is 8, not 12 with the 8x12 shape, because the
 * driver's column tiles are powers of two: NR must divide them.) KC is the
 * x86 paths' 512, so every element of C is the same chain of fp32 FMAs as
 * there; the portable kernel multiplies and adds separately, so the two
 * agree to rounding (tests/test_neon.c).
 *
 * Blocking (MC x KC = 240 KB of A for L2, a KC x NR = 16 KB B sliver for
 * L1) is sized from the Cortex-A76 (Raspberry Pi 5) caches, not measured:
 * this code was only run under qemu, where instruction counts say nothing
 * about speed. fp32 only (bf16 products need AVX-512).
 */
#include <math.h>
#include <stdbool.h>
#include <stddef.h>
#include <string.h>

#include "kernels/cpu.h"

#if defined(__aarch64__) && defined(__ARM_NEON)
#include <arm_neon.h>

#define MR 12
#define NR 8
#define KC 512      /* = the x86 paths' KC: the same sums */
#define MC 120      /* rows per tile (a multiple of MR) */

/* op(X)[r][c] of a row-major X with leading dimension ld. */
#define AT(X, ld, t, r, c) ((t) ? (X)[(size_t)(c) * (ld) + (r)] : (X)[(size_t)(r) * (ld) + (c)])

/* d[k * w + i] = op(X)[r0 + i][k0 + k] for i < n (zeros up to w), k < kc.
 * op(A) rows become A slivers (tr = ta); op(B)^T rows B slivers (tr = !tb).
 * The loop order follows X's memory order. */
static void pack(float *d, int w, bool tr, const float *X, int ld, int r0, int n, int k0, int kc) {
    if (n < w) memset(d, 0, sizeof(float) * (size_t)w * kc);
    if (tr) {
        for (int k = 0; k < kc; k++)
            for (int i = 0; i < n; i++) d[(size_t)k * w + i] = AT(X, ld, true, r0 + i, k0 + k);
    } else {
        for (int i = 0; i < n; i++)
            for (int k = 0; k < kc; k++) d[(size_t)k * w + i] = AT(X, ld, false, r0 + i, k0 + k);
    }
}

static void pack_b_sliver(void *dst, int mode, bool tb, const float *B, int ldb, int k0, int kc, int j0, int nr) {
    (void)mode; /* fp32 only */
    pack(dst, NR, !tb, B, ldb, j0, nr, k0, kc);
}

static void pack_a_sliver(void *dst, int mode, bool ta, const float *A, int lda, int i0, int mr, int k0, int kc) {
    (void)mode;
    pack(dst, MR, ta, A, lda, i0, mr, k0, kc);
}

#define ROWS(X) X(0) X(1) X(2) X(3) X(4) X(5) X(6) X(7) X(8) X(9) X(10) X(11)
#define DECL(i) float32x4_t c##i##0 = vdupq_n_f32(0.0f), c##i##1 = c##i##0;
#define FMA(i, av, l)                              \
    c##i##0 = vfmaq_laneq_f32(c##i##0, b0, av, l); \
    c##i##1 = vfmaq_laneq_f32(c##i##1, b1, av, l);
#define SPILL(i)                      \
    vst1q_f32(t + (i) * NR, c##i##0); \
    vst1q_f32(t + (i) * NR + 4, c##i##1);

/* t[12][8] = A sliver . B sliver over kc. */
static void tile(int kc, const float *restrict a, const float *restrict b, float *restrict t) {
    ROWS(DECL)
    for (int k = 0; k < kc; k++) {
        float32x4_t b0 = vld1q_f32(b), b1 = vld1q_f32(b + 4);
        float32x4_t a0 = vld1q_f32(a), a1 = vld1q_f32(a + 4), a2 = vld1q_f32(a + 8);
        FMA(0, a0, 0) FMA(1, a0, 1) FMA(2, a0, 2) FMA(3, a0, 3)
        FMA(4, a1, 0) FMA(5, a1, 1) FMA(6, a1, 2) FMA(7, a1, 3)
        FMA(8, a2, 0) FMA(9, a2, 1) FMA(10, a2, 2) FMA(11, a2, 3)
        a += MR;
        b += NR;
    }
    ROWS(SPILL)
}

/* C[mr][nr] = alpha t + beta C for one tile, as the x86 kernels round it
 * (C is not read when beta is 0: it may hold NaN, as BLAS allows). */
static void ukr(int mode, int kc, const void *a, const void *b, float *c, int ldc, int mr, int nr,
                float alpha, float beta) {
    (void)mode;
    float t[MR * NR];
    tile(kc, a, b, t);
    for (int i = 0; i < mr; i++) {
        float *cr = c + (size_t)i * ldc;
        int j = 0;
        for (; j + 4 <= nr; j += 4) {
            float32x4_t v = vmulq_n_f32(vld1q_f32(t + i * NR + j), alpha);
            if (beta != 0.0f) v = vfmaq_n_f32(v, vld1q_f32(cr + j), beta);
            vst1q_f32(cr + j, v);
        }
        for (; j < nr; j++) {
            float v = alpha * t[i * NR + j];
            cr[j] = beta != 0.0f ? fmaf(cr[j], beta, v) : v;
        }
    }
}

const trm_gemm_kernels trm_gemm_neon_kernels = {MR, NR, KC, KC, MC, false, pack_b_sliver, pack_a_sliver, ukr};
#endif
