/* gemm_avx2.c - the GEMM's packing and micro-kernel for AVX2 + FMA CPUs
 * (16 ymm registers); gemm.c drives them. Compiled with function-level
 * target attributes: the binary runs on any x86-64, and gemm_isa()
 * (kernels/cpu.h) calls these only when the ISA is avx2.
 *
 * op(B)'s rows are packed into slivers of NR = 16 columns ([kc][16], zero
 * padded) and op(A) into slivers of MR = 6 rows ([kc][6]). A 6x16 tile
 * (12 ymm accumulators + 2 B vectors + 1 broadcast = 15 registers) runs
 * over kc: per k two loads of B, 6 broadcasts of A, 12 FMAs. KC equals the
 * AVX-512 path's, so every element of C is the same chain of FMAs there
 * and here: the two paths give the same bits. fp32 only (bf16 products
 * need AVX-512: trm_matmul_set_precision refuses them on this path).
 */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "kernels/cpu.h"

#if defined(__x86_64__) && defined(__GNUC__)
#include <immintrin.h>
#include "kernels/avx2_util.h"
#define TGT TGT_AVX2

#define MR 6
#define NR 16
#define KC 512      /* = gemm_avx512.c's KC: same sums, same bits */
#define MC 120      /* rows per tile (a multiple of MR): a 240 KB A block in L2 */

static inline int imin(int a, int b) { return a < b ? a : b; }

/* ------------------------------------------------------------ packing */

/* A sliver of `width` (6 or 16) lanes per k from rows of X running along k
 * (the transposing case, X + j * ld + k, j < nvalid): 8x8 register
 * transposes, zeros past the valid rows and columns. */
TGT static void pack_tr(float *d, int width, const float *X, size_t ld, int nvalid, int kc) {
    __m256 r[8];
    for (int h = 0; h < width; h += 8) {
        int nr = imin(8, nvalid - h), w = imin(8, width - h);
        for (int k = 0; k < kc; k += 8) {
            int kn = imin(8, kc - k);
            load_tr8(r, X + (size_t)h * ld + k, ld, nr, kn);
            for (int kk = 0; kk < kn; kk++) store8(d + (size_t)(k + kk) * width + h, r[kk], w);
        }
    }
}

/* The copying case: X + k * ld + j, j < nvalid. */
TGT static void pack_cp(float *d, int width, const float *X, size_t ld, int nvalid, int kc) {
    for (int k = 0; k < kc; k++)
        for (int h = 0; h < width; h += 8)
            store8(d + (size_t)k * width + h, load8(X + (size_t)k * ld + h, nvalid - h), width - h);
}

static void pack_b_sliver(void *dst, int mode, bool tb, const float *B, int ldb, int k0, int kc, int j0, int nr) {
    (void)mode; /* fp32 only */
    if (tb) pack_tr(dst, NR, B + (size_t)j0 * ldb + k0, (size_t)ldb, nr, kc);
    else pack_cp(dst, NR, B + (size_t)k0 * ldb + j0, (size_t)ldb, nr, kc);
}

static void pack_a_sliver(void *dst, int mode, bool ta, const float *A, int lda, int i0, int mr, int k0, int kc) {
    (void)mode;
    if (!ta) pack_tr(dst, MR, A + (size_t)i0 * lda + k0, (size_t)lda, mr, kc);
    else pack_cp(dst, MR, A + (size_t)k0 * lda + i0, (size_t)lda, mr, kc);
}

/* ------------------------------------------------------------ micro-kernels */

#define ROWS(X) X(0) X(1) X(2) X(3) X(4) X(5)
#define PREFETCH_C(i) if (i < mr) { _mm_prefetch((const char *)(c + (size_t)(i) * ldc), _MM_HINT_T0); \
                                    _mm_prefetch((const char *)(c + (size_t)(i) * ldc + 8), _MM_HINT_T0); }

/* alpha acc + beta C for row i, as the AVX-512 kernel computes it. */
TGT static inline void store_row(float *cr, __m256 acc, int n, __m256 valpha, __m256 vbeta, float beta) {
    __m256 v = _mm256_mul_ps(valpha, acc);
    if (beta != 0.0f) v = _mm256_fmadd_ps(vbeta, load8(cr, n), v);
    store8(cr, v, n);
}

TGT static void ukr_6x16(int kc, const float *restrict a, const float *restrict b, float *c, int ldc, int mr,
                         int nr, float alpha, float beta) {
    ROWS(PREFETCH_C)
#define DECL(i) __m256 c##i##a = _mm256_setzero_ps(), c##i##b = _mm256_setzero_ps();
    ROWS(DECL)
    for (int k = 0; k < kc; k++) {
        __m256 b0 = _mm256_load_ps(b), b1 = _mm256_load_ps(b + 8), t;
#define FMA(i) t = _mm256_broadcast_ss(a + i); c##i##a = _mm256_fmadd_ps(t, b0, c##i##a); c##i##b = _mm256_fmadd_ps(t, b1, c##i##b);
        ROWS(FMA)
        a += MR;
        b += NR;
    }
    __m256 valpha = _mm256_set1_ps(alpha), vbeta = _mm256_set1_ps(beta);
#define STORE(i) if (i < mr) { store_row(c + (size_t)(i) * ldc, c##i##a, nr, valpha, vbeta, beta); \
                               store_row(c + (size_t)(i) * ldc + 8, c##i##b, nr - 8, valpha, vbeta, beta); }
    ROWS(STORE)
}

/* Right-edge tiles of at most 8 columns: half the work. */
TGT static void ukr_6x8(int kc, const float *restrict a, const float *restrict b, float *c, int ldc, int mr,
                        int nr, float alpha, float beta) {
#define DECL8(i) __m256 c##i##a = _mm256_setzero_ps();
    ROWS(DECL8)
    for (int k = 0; k < kc; k++) {
        __m256 b0 = _mm256_load_ps(b), t;
#define FMA8(i) t = _mm256_broadcast_ss(a + i); c##i##a = _mm256_fmadd_ps(t, b0, c##i##a);
        ROWS(FMA8)
        a += MR;
        b += NR;
    }
    __m256 valpha = _mm256_set1_ps(alpha), vbeta = _mm256_set1_ps(beta);
#define STORE8(i) if (i < mr) store_row(c + (size_t)(i) * ldc, c##i##a, nr, valpha, vbeta, beta);
    ROWS(STORE8)
}

static void ukr(int mode, int kc, const void *a, const void *b, float *c, int ldc, int mr, int nr,
                float alpha, float beta) {
    (void)mode;
    if (nr > 8) ukr_6x16(kc, a, b, c, ldc, mr, nr, alpha, beta);
    else ukr_6x8(kc, a, b, c, ldc, mr, nr, alpha, beta);
}

const trm_gemm_kernels gemm_avx2_kernels = {MR, NR, KC, KC, MC, false, pack_b_sliver, pack_a_sliver, ukr};
#endif
