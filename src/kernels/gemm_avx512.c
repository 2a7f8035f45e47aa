/* gemm_avx512.c - the project's own GEMM for AVX-512 CPUs (fp32 FMA and
 * AVX512-BF16 dot products), selected at run time.
 *
 * Layout (written for this project; the scheme is the textbook one of
 * Goto & van de Geijn): C[M,N] = alpha op(A) op(B) + beta C is cut into
 * K blocks of KC; for each, op(B)'s rows are packed into slivers of NR = 32
 * columns ([kc][32], zero padded) and op(A) into slivers of MR = 14 rows
 * ([kc][14]). A 14x32 register tile (28 zmm accumulators) runs over kc:
 * per k two vector loads of B, 14 broadcasts of A, 28 FMAs. Edge tiles
 * use masked loads/stores, so any M, N, K, leading dimension and transpose
 * is handled without a scratch tile.
 *
 * bf16: A and B are rounded to bf16 (round to nearest even) while packing,
 * in pairs along K ([kc/2][32][2] for B, [kc/2][14][2] for A), and
 * vdpbf16ps accumulates in fp32: bf16 operands, fp32 accumulation. On an
 * AVX-512 CPU without AVX512-BF16 the same rounded operands go through the
 * fp32 kernel (same numbers up to summation order).
 *
 * Threads: a call from outside any parallel region packs and computes with
 * the whole OpenMP team (tiles of MC rows x NT columns, row-major order so
 * one thread keeps its A block in L2); a call from inside one (attention's
 * per-head products) runs on the calling thread. Pack buffers are per
 * calling thread and grow once; nothing is allocated in steady state.
 */
#include <omp.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "kernels/matmul.h"

#if defined(__x86_64__) && defined(__GNUC__)
#define HAVE_X86 1
#include <immintrin.h>
#include "kernels/avx512_tr16.h"
#else
#define HAVE_X86 0
#endif

#define MR 14       /* 14 x 32 tile: 28 accumulators + 2 B vectors + 1 broadcast = 31 zmm */
#define NR 32
/* fp32 K block: a 64 KB B sliver, streamed from L2. KC 256 kept the sliver
 * in L1 but cut the model's K = 512 products in two passes over C (tens of
 * MB, through memory twice); one pass measured ~20% faster on one core. */
#define KC 512
#define KCB 512     /* bf16: a 32 KB sliver (1024 measured no faster) */
#define MC 112      /* rows per tile: an A block of MC x KC stays in L2 */
#define NT 256      /* columns per tile */
#define NCMAX 4096  /* columns per packed B panel */

static inline int cdiv(int a, int b) { return (a + b - 1) / b; }
static inline int imin(int a, int b) { return a < b ? a : b; }

/* ------------------------------------------------------------ CPU features */

static int g_cpu = -1; /* bit 0 avx512f, bit 1 avx512bf16 */

static int cpu_flags(void) {
    if (g_cpu < 0) {
        int f = 0;
#if HAVE_X86
        __builtin_cpu_init();
        if (__builtin_cpu_supports("avx512f")) f |= 1;
        if ((f & 1) && __builtin_cpu_supports("avx512bf16")) f |= 2;
#endif
        const char *e = getenv("TRM_CPU"); /* "portable" / "noavx512bf16": testing aid */
        if (e && !strcmp(e, "portable")) f = 0;
        if (e && !strcmp(e, "noavx512bf16")) f &= 1;
        g_cpu = f;
    }
    return g_cpu;
}

bool trm_cpu_has_avx512(void) { return cpu_flags() & 1; }
bool trm_cpu_has_avx512bf16(void) { return (cpu_flags() & 2) != 0; }

/* ------------------------------------------------------------ bf16 */

uint16_t trm_f32_to_bf16(float x) {
    uint32_t u;
    memcpy(&u, &x, 4);
    if ((u & 0x7fffffffu) > 0x7f800000u) return (uint16_t)((u >> 16) | 0x40); /* quiet NaN */
    u += 0x7fffu + ((u >> 16) & 1u);
    return (uint16_t)(u >> 16);
}

float trm_bf16_to_f32(uint16_t h) {
    uint32_t u = (uint32_t)h << 16;
    float x;
    memcpy(&x, &u, 4);
    return x;
}


/* ------------------------------------------------------------ packing */

/* Packing is a transpose for the common cases (x W^T packs both operands
 * across their rows), so it runs in AVX-512 too: 16x16 register
 * transposes, masked loads/stores at the edges, bf16 conversion in
 * registers. Layouts:
 *   fp32 B sliver [kc][32], A sliver [kc][14];
 *   bf16 B sliver [kc/2][32] pairs, A sliver [kc/2][14] pairs, a pair being
 *   (k even, k odd) in one 32-bit word (low half the even k);
 *   mode 2 (bf16 emulation) as fp32 with values rounded to bf16. */

#if HAVE_X86
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
#endif

/* Bytes of one packed sliver of kc steps. */
static size_t sliver_bytes(int mode, int rows, int kc) {
    return mode == 1 ? (size_t)cdiv(kc, 2) * rows * 2 * sizeof(uint16_t)
                     : (size_t)kc * rows * sizeof(float);
}

/* ------------------------------------------------------------ micro-kernels */

#if HAVE_X86
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
#endif

/* ------------------------------------------------------------ buffers */

#if HAVE_X86 /* off x86 only the bf16 helpers and the stubs below are built */
typedef struct {
    void *p;
    size_t cap;
} buf_t;

static _Thread_local buf_t tl_a, tl_b;

static void *buf_get(buf_t *b, size_t bytes) {
    if (bytes > b->cap) {
        free(b->p);
        size_t cap = bytes + bytes / 4 + 4096;
        cap = (cap + 63) & ~(size_t)63;
        b->p = aligned_alloc(64, cap);
        b->cap = b->p ? cap : 0;
    }
    return b->p;
}
#endif

/* ------------------------------------------------------------ driver */

/* mode: 0 fp32, 1 bf16 (vdpbf16ps), 2 bf16-rounded operands through fp32 */
static int pick_mode(bool bf16) {
    if (!bf16) return 0;
    return trm_cpu_has_avx512bf16() ? 1 : 2;
}

size_t trm_packed_b_bytes(int K, int N, bool bf16) {
    int mode = pick_mode(bf16), kcmax = mode == 1 ? KCB : KC;
    size_t total = 0;
    for (int jc = 0; jc < N; jc += NCMAX) {
        int nc = imin(NCMAX, N - jc);
        for (int pc = 0; pc < K; pc += kcmax)
            total += (size_t)cdiv(nc, NR) * sliver_bytes(mode, NR, imin(kcmax, K - pc));
    }
    return total;
}

/* Packs all of op(B) [K, N] in the driver's block order. */
void trm_pack_b(void *dst, bool tb, int K, int N, const float *B, int ldb, bool bf16) {
#if HAVE_X86
    int mode = pick_mode(bf16), kcmax = mode == 1 ? KCB : KC;
    char *d = dst;
    for (int jc = 0; jc < N; jc += NCMAX) {
        int nc = imin(NCMAX, N - jc);
        for (int pc = 0; pc < K; pc += kcmax) {
            int kc = imin(kcmax, K - pc), ns = cdiv(nc, NR);
            size_t sb = sliver_bytes(mode, NR, kc);
            long work = (long)kc * nc;
            #pragma omp parallel for schedule(static) if (!omp_in_parallel() && work > 65536)
            for (int s = 0; s < ns; s++)
                pack_b_sliver(d + (size_t)s * sb, mode, tb, B, ldb, pc, kc, jc + s * NR,
                              imin(NR, nc - s * NR));
            d += (size_t)ns * sb;
        }
    }
#else
    (void)dst; (void)tb; (void)K; (void)N; (void)B; (void)ldb; (void)bf16;
#endif
}

#if HAVE_X86
static void scale_c(int M, int N, float beta, float *C, int ldc) {
    for (int i = 0; i < M; i++) {
        float *c = C + (size_t)i * ldc;
        if (beta == 0.0f) memset(c, 0, sizeof(float) * (size_t)N);
        else if (beta != 1.0f) for (int j = 0; j < N; j++) c[j] *= beta;
    }
}

/* Work split for thread t of n over `count` items: [*lo, *hi). */
static inline void split(int count, int t, int n, int *lo, int *hi) {
    *lo = (int)((long)count * t / n);
    *hi = (int)((long)count * (t + 1) / n);
}

typedef struct {
    bool ta, tb;
    int M, N, K, lda, ldb, ldc, mode, kcmax;
    float alpha, beta;
    const float *A, *B;
    const char *Bpre;
    char *Ap, *Bp;
    float *C;
} gemm_ctx;

/* All (jc, pc) blocks, as thread t of n; `sync` separates the phases
 * (packing, then tiles) when n > 1. */
static void gemm_body(const gemm_ctx *g, int t, int n) {
    const char *Bnext = g->Bpre;
    int lo, hi;
    for (int jc = 0; jc < g->N; jc += NCMAX) {
        int nc = imin(NCMAX, g->N - jc), ns = cdiv(nc, NR), ms = cdiv(g->M, MR);
        for (int pc = 0; pc < g->K; pc += g->kcmax) {
            int kc = imin(g->kcmax, g->K - pc);
            size_t b_sb = sliver_bytes(g->mode, NR, kc), a_s = sliver_bytes(g->mode, MR, kc);
            const char *Bblk = g->Bpre ? Bnext : g->Bp;
            if (g->Bpre) Bnext += (size_t)ns * b_sb;
            float bt = pc == 0 ? g->beta : 1.0f;
            /* tiles: MC rows x NT columns; narrower when there are few rows */
            int mt = cdiv(g->M, MC), nt_cols = NT;
            while (nt_cols > NR && mt * cdiv(nc, nt_cols) < 4 * n) nt_cols /= 2;
            int nct = cdiv(nc, nt_cols), tiles = mt * nct;
            if (n > 1) {
                #pragma omp barrier
            }
            if (!g->Bpre) {
                split(ns, t, n, &lo, &hi);
                for (int s = lo; s < hi; s++)
                    pack_b_sliver(g->Bp + (size_t)s * b_sb, g->mode, g->tb, g->B, g->ldb, pc, kc,
                                  jc + s * NR, imin(NR, nc - s * NR));
            }
            split(ms, t, n, &lo, &hi);
            for (int s = lo; s < hi; s++)
                pack_a_sliver(g->Ap + (size_t)s * a_s, g->mode, g->ta, g->A, g->lda, s * MR,
                              imin(MR, g->M - s * MR), pc, kc);
            if (n > 1) {
                #pragma omp barrier
            }
            split(tiles, t, n, &lo, &hi);
            for (int tt = lo; tt < hi; tt++) {
                int ic = (tt / nct) * MC, jt = (tt % nct) * nt_cols;
                int i_end = imin(g->M, ic + MC), j_end = imin(nc, jt + nt_cols);
                for (int j = jt; j < j_end; j += NR) {
                    const char *bs = Bblk + (size_t)(j / NR) * b_sb;
                    int nr = imin(NR, j_end - j);
                    for (int i = ic; i < i_end; i += MR) {
                        const char *as = g->Ap + (size_t)(i / MR) * a_s;
                        float *c = g->C + (size_t)i * g->ldc + jc + j;
                        int mr = imin(MR, i_end - i), ldc = g->ldc;
                        if (g->mode == 1) {
                            if (nr > 16) ukr_bf16(kc, as, bs, c, ldc, mr, nr, g->alpha, bt);
                            else ukr_bf16_n16(kc, as, bs, c, ldc, mr, nr, g->alpha, bt);
                        } else if (nr > 16) {
                            ukr_f32(kc, (const float *)as, (const float *)bs, c, ldc, mr, nr, g->alpha, bt);
                        } else {
                            ukr_f32_n16(kc, (const float *)as, (const float *)bs, c, ldc, mr, nr, g->alpha, bt);
                        }
                    }
                }
            }
        }
    }
}
#endif

/* The driver; Bpre is op(B) packed by trm_pack_b (same bf16 flag) or NULL.
 * One parallel region per call (barriers between phases); none at all
 * for small products or inside a parallel region. */
static void gemm_run(bool ta, bool tb, int M, int N, int K, float alpha, const float *A,
                     int lda, const float *B, int ldb, const void *Bpre, float beta, float *C,
                     int ldc, bool bf16) {
#if HAVE_X86
    if (M <= 0 || N <= 0) return;
    if (K <= 0 || alpha == 0.0f) { scale_c(M, N, beta, C, ldc); return; }
    int mode = pick_mode(bf16), kcmax = mode == 1 ? KCB : KC;
    bool par = !omp_in_parallel() && (double)M * N * K > 4e6 && omp_get_max_threads() > 1;
    size_t a_sb = sliver_bytes(mode, MR, kcmax);
    char *Ap = buf_get(&tl_a, (size_t)cdiv(M, MR) * a_sb);
    char *Bp = NULL;
    if (!Bpre) Bp = buf_get(&tl_b, (size_t)cdiv(imin(N, NCMAX), NR) * sliver_bytes(mode, NR, kcmax));
    if (!Ap || (!Bpre && !Bp)) abort(); /* out of memory in a kernel: nothing sane to return */
    gemm_ctx g = {ta, tb, M, N, K, lda, ldb, ldc, mode, kcmax, alpha, beta, A, B, Bpre, Ap, Bp, C};
    if (par) {
        #pragma omp parallel
        gemm_body(&g, omp_get_thread_num(), omp_get_num_threads());
    } else {
        gemm_body(&g, 0, 1);
    }
#else
    (void)ta; (void)tb; (void)M; (void)N; (void)K; (void)alpha; (void)A; (void)lda; (void)B;
    (void)ldb; (void)Bpre; (void)beta; (void)C; (void)ldc; (void)bf16;
    abort(); /* never selected without x86 AVX-512 */
#endif
}

void trm_gemm_avx512(bool ta, bool tb, int M, int N, int K, float alpha, const float *A,
                     int lda, const float *B, int ldb, float beta, float *C, int ldc, bool bf16) {
    gemm_run(ta, tb, M, N, K, alpha, A, lda, B, ldb, NULL, beta, C, ldc, bf16);
}

void trm_gemm_avx512_packed(bool ta, int M, int N, int K, float alpha, const float *A, int lda,
                            const void *Bp, float beta, float *C, int ldc, bool bf16) {
    gemm_run(ta, false, M, N, K, alpha, A, lda, NULL, 0, Bp, beta, C, ldc, bf16);
}
