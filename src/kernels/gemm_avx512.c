/* gemm_avx512.c - the GEMM's packing and micro-kernels for AVX-512 CPUs
 * (fp32 FMA and AVX512-BF16 dot products); gemm.c drives them.
 *
 * op(B)'s rows are packed into slivers of NR = 32 columns ([kc][32], zero
 * padded) and op(A) into slivers of MR = 14 rows ([kc][14]). A 14x32
 * register tile (28 zmm accumulators) runs over kc: per k two vector loads
 * of B, 14 broadcasts of A, 28 FMAs. Edge tiles use masked loads/stores,
 * so any M, N, K, leading dimension and transpose is handled without a
 * scratch tile.
 *
 * bf16: A and B are rounded to bf16 (round to nearest even) while packing,
 * in pairs along K ([kc/2][32][2] for B, [kc/2][14][2] for A), and
 * vdpbf16ps accumulates in fp32: bf16 operands, fp32 accumulation. On an
 * AVX-512 CPU without AVX512-BF16 the same rounded operands go through the
 * fp32 kernel (same numbers up to summation order).
 */
#include <omp.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "kernels/cpu.h"
#include "kernels/matmul.h"

#if defined(__x86_64__) && defined(__GNUC__)
#include <immintrin.h>
#include "kernels/avx512_tr16.h"

#define MR 14       /* 14 x 32 tile: 28 accumulators + 2 B vectors + 1 broadcast = 31 zmm */
#define NR 32
/* fp32 K block: a 64 KB B sliver, streamed from L2. KC 256 kept the sliver
 * in L1 but cut the model's K = 512 products in two passes over C (tens of
 * MB, through memory twice); one pass measured ~20% faster on one core.
 * gemm_avx2.c uses the same KC, which keeps the two paths bit-equal. */
#define KC 512
#define KCB 512     /* bf16: a 32 KB sliver (1024 measured no faster) */
#define MC 112      /* rows per tile: an A block of MC x KC stays in L2 */

static inline int cdiv(int a, int b) { return (a + b - 1) / b; }
static inline int imin(int a, int b) { return a < b ? a : b; }

/* ------------------------------------------------------------ packing */

/* Packing is a transpose for the common cases (x W^T packs both operands
 * across their rows), so it runs in AVX-512 too: 16x16 register
 * transposes, masked loads/stores at the edges, bf16 conversion in
 * registers. Layouts:
 *   fp32 B sliver [kc][32], A sliver [kc][14];
 *   bf16 B sliver [kc/2][32] pairs, A sliver [kc/2][14] pairs, a pair being
 *   (k even, k odd) in one 32-bit word (low half the even k);
 *   mode 2 (bf16 emulation) as fp32 with values rounded to bf16. */

#define TGT __attribute__((target("avx512f")))
#define TGT_BF16 __attribute__((target("avx512f,avx512bf16")))

static inline __mmask16 lanes(int n) {
    return n >= 16 ? (__mmask16)0xffff : n <= 0 ? (__mmask16)0 : (__mmask16)((1u << n) - 1u);
}

/* x rounded to bf16 (nearest even), kept as fp32. */
TGT static inline __m512 rnd_bf16(__m512 x) {
    __m512i u = _mm512_castps_si512(x);
    __m512i lsb = _mm512_and_si512(_mm512_srli_epi32(u, 16), _mm512_set1_epi32(1));
    u = _mm512_add_epi32(u, _mm512_add_epi32(lsb, _mm512_set1_epi32(0x7fff)));
    return _mm512_castsi512_ps(_mm512_and_si512(u, _mm512_set1_epi32((int)0xffff0000u)));
}

/* 16 pairs (x0 even k, x1 odd k) as bf16 in 32-bit words. */
TGT_BF16 static inline __m512i pair_bf16(__m512 x0, __m512 x1) {
    __m512i lo = _mm512_cvtepu16_epi32((__m256i)_mm512_cvtneps_pbh(x0));
    __m512i hi = _mm512_cvtepu16_epi32((__m256i)_mm512_cvtneps_pbh(x1));
    return _mm512_or_si512(lo, _mm512_slli_epi32(hi, 16));
}

/* Loads a 16x16 tile of X (rows r0.. with stride ld, columns c0..),
 * nrows x ncols valid, zeros elsewhere, and transposes it. */
TGT static inline void load_tr16(__m512 r[16], const float *X, size_t ld, int nrows, int ncols) {
    __mmask16 m = lanes(ncols);
    for (int i = 0; i < 16; i++)
        r[i] = i < nrows ? _mm512_maskz_loadu_ps(m, X + (size_t)i * ld) : _mm512_setzero_ps();
    avx512_tr16(r);
}

/* fp32 / emulated: a sliver of `width` (14 or 32) output lanes per k from
 * rows of X that run along k (the transposing case): X + j * ld + k. */
TGT static void pack_tr_f32(float *d, int width, const float *X, size_t ld, int nvalid, int kc, bool rnd) {
    __m512 r[16];
    for (int h = 0; h < width; h += 16) {
        int nr = imin(16, nvalid - h);
        __mmask16 sm = lanes(imin(16, width - h));
        for (int k = 0; k < kc; k += 16) {
            int kn = imin(16, kc - k);
            if (nr > 0) load_tr16(r, X + (size_t)h * ld + k, ld, nr, kn);
            else for (int i = 0; i < 16; i++) r[i] = _mm512_setzero_ps();
            for (int kk = 0; kk < kn; kk++)
                _mm512_mask_storeu_ps(d + (size_t)(k + kk) * width + h, sm, rnd ? rnd_bf16(r[kk]) : r[kk]);
        }
    }
}

/* fp32 / emulated, the copying case: X + k * ld + j, j < nvalid. */
TGT static void pack_cp_f32(float *d, int width, const float *X, size_t ld, int nvalid, int kc, bool rnd) {
    for (int k = 0; k < kc; k++)
        for (int h = 0; h < width; h += 16) {
            __m512 v = _mm512_maskz_loadu_ps(lanes(nvalid - h), X + (size_t)k * ld + h);
            _mm512_mask_storeu_ps(d + (size_t)k * width + h, lanes(width - h), rnd ? rnd_bf16(v) : v);
        }
}

/* bf16 pairs, transposing case. */
TGT_BF16 static void pack_tr_bf16(uint32_t *d, int width, const float *X, size_t ld, int nvalid, int kc) {
    __m512 r[16];
    for (int h = 0; h < width; h += 16) {
        int nr = imin(16, nvalid - h);
        __mmask16 sm = lanes(imin(16, width - h));
        for (int k = 0; k < kc; k += 16) {
            int kn = imin(16, kc - k);
            if (nr > 0) load_tr16(r, X + (size_t)h * ld + k, ld, nr, kn);
            else for (int i = 0; i < 16; i++) r[i] = _mm512_setzero_ps();
            for (int kk = 0; kk < kn; kk += 2)
                _mm512_mask_storeu_epi32(d + (size_t)((k + kk) / 2) * width + h, sm, pair_bf16(r[kk], r[kk + 1]));
        }
    }
}

/* bf16 pairs, copying case. */
TGT_BF16 static void pack_cp_bf16(uint32_t *d, int width, const float *X, size_t ld, int nvalid, int kc) {
    for (int k = 0; k < kc; k += 2)
        for (int h = 0; h < width; h += 16) {
            __mmask16 lm = lanes(nvalid - h);
            __m512 v0 = _mm512_maskz_loadu_ps(lm, X + (size_t)k * ld + h);
            __m512 v1 = k + 1 < kc ? _mm512_maskz_loadu_ps(lm, X + (size_t)(k + 1) * ld + h) : _mm512_setzero_ps();
            _mm512_mask_storeu_epi32(d + (size_t)(k / 2) * width + h, lanes(width - h), pair_bf16(v0, v1));
        }
}

/* One NR-column sliver of op(B)[k0:k0+kc, j0:j0+nr]. */
static void pack_b_sliver(void *dst, int mode, bool tb, const float *B, int ldb, int k0,
                          int kc, int j0, int nr) {
    const float *X = tb ? B + (size_t)j0 * ldb + k0 : B + (size_t)k0 * ldb + j0;
    if (mode == 1) {
        if (tb) pack_tr_bf16(dst, NR, X, (size_t)ldb, nr, kc);
        else pack_cp_bf16(dst, NR, X, (size_t)ldb, nr, kc);
    } else {
        if (tb) pack_tr_f32(dst, NR, X, (size_t)ldb, nr, kc, mode == 2);
        else pack_cp_f32(dst, NR, X, (size_t)ldb, nr, kc, mode == 2);
    }
}

/* One MR-row sliver of op(A)[i0:i0+mr, k0:k0+kc]. */
static void pack_a_sliver(void *dst, int mode, bool ta, const float *A, int lda, int i0,
                          int mr, int k0, int kc) {
    const float *X = ta ? A + (size_t)k0 * lda + i0 : A + (size_t)i0 * lda + k0;
    if (mode == 1) {
        if (!ta) pack_tr_bf16(dst, MR, X, (size_t)lda, mr, kc);
        else pack_cp_bf16(dst, MR, X, (size_t)lda, mr, kc);
    } else {
        if (!ta) pack_tr_f32(dst, MR, X, (size_t)lda, mr, kc, mode == 2);
        else pack_cp_f32(dst, MR, X, (size_t)lda, mr, kc, mode == 2);
    }
}

/* ------------------------------------------------------------ micro-kernels */

#define ROWS(X) X(0) X(1) X(2) X(3) X(4) X(5) X(6) X(7) X(8) X(9) X(10) X(11) X(12) X(13)
#define DECL(i) __m512 c##i##a = _mm512_setzero_ps(), c##i##b = _mm512_setzero_ps();

/* Writes alpha * acc + beta * C for row i under the column masks. */
#define STORE(i)                                                                         \
    if (i < mr) {                                                                        \
        float *cr = c + (size_t)(i) * ldc;                                               \
        __m512 va = _mm512_mul_ps(valpha, c##i##a), vb = _mm512_mul_ps(valpha, c##i##b); \
        if (beta != 0.0f) {                                                              \
            va = _mm512_fmadd_ps(vbeta, _mm512_maskz_loadu_ps(m0, cr), va);              \
            vb = _mm512_fmadd_ps(vbeta, _mm512_maskz_loadu_ps(m1, cr + 16), vb);         \
        }                                                                                \
        _mm512_mask_storeu_ps(cr, m0, va);                                               \
        if (m1) _mm512_mask_storeu_ps(cr + 16, m1, vb);                                  \
    }

#define MASKS                                                                              \
    __mmask16 m0 = nr >= 16 ? (__mmask16)0xffff : (__mmask16)((1u << nr) - 1u);           \
    __mmask16 m1 = nr >= 32 ? (__mmask16)0xffff                                           \
                            : nr > 16 ? (__mmask16)((1u << (nr - 16)) - 1u) : (__mmask16)0; \
    __m512 valpha = _mm512_set1_ps(alpha), vbeta = _mm512_set1_ps(beta);

/* The C tile is usually not in cache (C of a training product is tens of
 * MB): ask for its lines now so they arrive while the k loop runs. */
#define PREFETCH_C(i) if (i < mr) { _mm_prefetch((const char *)(c + (size_t)(i) * ldc), _MM_HINT_T0); \
                                    _mm_prefetch((const char *)(c + (size_t)(i) * ldc + 16), _MM_HINT_T0); }

TGT static void ukr_f32(int kc, const float *restrict a, const float *restrict b, float *c,
                        int ldc, int mr, int nr, float alpha, float beta) {
    ROWS(PREFETCH_C)
    ROWS(DECL)
    for (int k = 0; k < kc; k++) {
        __m512 b0 = _mm512_load_ps(b), b1 = _mm512_load_ps(b + 16), t;
#define FMA(i) t = _mm512_set1_ps(a[i]); c##i##a = _mm512_fmadd_ps(t, b0, c##i##a); c##i##b = _mm512_fmadd_ps(t, b1, c##i##b);
        ROWS(FMA)
#undef FMA
        a += MR;
        b += NR;
    }
    MASKS
    ROWS(STORE)
}

/* Right-edge tiles of at most 16 columns (N = 97 = 3 x 32 + 1 in the
 * token MLP and attention of Sudoku): half the work of the 32-wide tile. */
#define DECL16(i) __m512 c##i##a = _mm512_setzero_ps();
#define STORE16(i)                                                                       \
    if (i < mr) {                                                                        \
        float *cr = c + (size_t)(i) * ldc;                                               \
        __m512 va = _mm512_mul_ps(valpha, c##i##a);                                      \
        if (beta != 0.0f) va = _mm512_fmadd_ps(vbeta, _mm512_maskz_loadu_ps(m0, cr), va); \
        _mm512_mask_storeu_ps(cr, m0, va);                                               \
    }

TGT static void ukr_f32_n16(int kc, const float *restrict a, const float *restrict b, float *c,
                            int ldc, int mr, int nr, float alpha, float beta) {
    ROWS(DECL16)
    for (int k = 0; k < kc; k++) {
        __m512 b0 = _mm512_load_ps(b), t;
#define FMA16(i) t = _mm512_set1_ps(a[i]); c##i##a = _mm512_fmadd_ps(t, b0, c##i##a);
        ROWS(FMA16)
#undef FMA16
        a += MR;
        b += NR;
    }
    MASKS
    (void)m1;
    ROWS(STORE16)
}

TGT_BF16 static void ukr_bf16_n16(int kc, const void *restrict av, const void *restrict bv, float *c,
                                  int ldc, int mr, int nr, float alpha, float beta) {
    const int32_t *a = av;
    const __m512i *b = bv;
    int kp = cdiv(kc, 2);
    ROWS(DECL16)
    for (int p = 0; p < kp; p++) {
        __m512bh b0 = (__m512bh)_mm512_load_si512(b), t;
#define DP16(i) t = (__m512bh)_mm512_set1_epi32(a[i]); c##i##a = _mm512_dpbf16_ps(c##i##a, t, b0);
        ROWS(DP16)
#undef DP16
        a += MR;
        b += 2;
    }
    MASKS
    (void)m1;
    ROWS(STORE16)
}

TGT_BF16 static void ukr_bf16(int kc, const void *restrict av, const void *restrict bv, float *c,
                              int ldc, int mr, int nr, float alpha, float beta) {
    const int32_t *a = av;
    const __m512i *b = bv;
    int kp = cdiv(kc, 2);
    ROWS(PREFETCH_C)
    ROWS(DECL)
    for (int p = 0; p < kp; p++) {
        __m512bh b0 = (__m512bh)_mm512_load_si512(b), b1 = (__m512bh)_mm512_load_si512(b + 1), t;
#define DP(i) t = (__m512bh)_mm512_set1_epi32(a[i]); c##i##a = _mm512_dpbf16_ps(c##i##a, t, b0); c##i##b = _mm512_dpbf16_ps(c##i##b, t, b1);
        ROWS(DP)
#undef DP
        a += MR;
        b += 2;
    }
    MASKS
    ROWS(STORE)
}

static void ukr(int mode, int kc, const void *a, const void *b, float *c, int ldc, int mr, int nr,
                float alpha, float beta) {
    if (mode == 1) {
        if (nr > 16) ukr_bf16(kc, a, b, c, ldc, mr, nr, alpha, beta);
        else ukr_bf16_n16(kc, a, b, c, ldc, mr, nr, alpha, beta);
    } else if (nr > 16) {
        ukr_f32(kc, a, b, c, ldc, mr, nr, alpha, beta);
    } else {
        ukr_f32_n16(kc, a, b, c, ldc, mr, nr, alpha, beta);
    }
}

const trm_gemm_kernels gemm_avx512_kernels = {MR, NR, KC, KCB, MC, true, pack_b_sliver, pack_a_sliver, ukr};
#endif
