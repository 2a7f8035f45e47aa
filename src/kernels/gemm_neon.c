/* gemm_neon.c - the project's fp32 GEMM for ARM64 (AdvSIMD), the
 * counterpart of gemm_avx512.c with the same Goto & van de Geijn layout:
 * op(B) is packed in K blocks of KC into slivers of NR = 12 columns
 * ([kc][12], zero padded), op(A) into slivers of MR = 8 rows ([kc][8]).
 * An 8x12 register tile (24 q-register accumulators + 3 B vectors + 2 A
 * vectors = 29 of the 32 NEON registers) runs over kc: per k three loads
 * of B, two of A and 24 lane-indexed FMAs. Edge tiles go through a small
 * scratch tile, so any M, N, K, leading dimension and transpose works.
 *
 * Blocking (MC rows x NT columns per thread tile, an A block of MC x KC =
 * 128 KB meant for L2, a B sliver of KC x NR = 12 KB for L1) is sized from
 * the Cortex-A76 (Raspberry Pi 5) caches, not measured: this code was only
 * run under qemu, where instruction counts say nothing about speed.
 *
 * Threads: a call from outside a parallel region packs and computes with
 * the whole OpenMP team; a call from inside one (attention's per-head
 * products) runs on the calling thread. Pack buffers are per calling
 * thread and grow once. Accumulation is fp32 FMA in k order per K block
 * (the portable kernel multiplies and adds separately, so results agree
 * to rounding, not bit for bit).
 */
#include <math.h>
#include <omp.h>
#include <stdlib.h>
#include <string.h>

#include "kernels/neon.h"

bool trm_cpu_has_neon(void) {
    static int g = -1;
    if (g < 0) {
        const char *e = getenv("TRM_CPU"); /* "portable": testing aid, as for AVX-512 */
        g = TRM_NEON && !(e && !strcmp(e, "portable"));
    }
    return g == 1;
}

#if TRM_NEON
#include <arm_neon.h>

#define MR 8
#define NR 12
#define KC 256
#define MC 128      /* rows per thread tile */
#define NT 96       /* columns per thread tile (8 slivers) */
#define NCMAX 4092  /* columns per packed B panel (a multiple of NR) */

static inline int cdiv(int a, int b) { return (a + b - 1) / b; }
static inline int imin(int a, int b) { return a < b ? a : b; }

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

#define ROWS(X) X(0) X(1) X(2) X(3) X(4) X(5) X(6) X(7)
#define DECL(i) float32x4_t c##i##0 = vdupq_n_f32(0.0f), c##i##1 = c##i##0, c##i##2 = c##i##0;
#define FMA(i, av, l)                                   \
    c##i##0 = vfmaq_laneq_f32(c##i##0, b0, av, l);      \
    c##i##1 = vfmaq_laneq_f32(c##i##1, b1, av, l);      \
    c##i##2 = vfmaq_laneq_f32(c##i##2, b2, av, l);
#define SPILL(i)                         \
    vst1q_f32(t + (i) * NR, c##i##0);    \
    vst1q_f32(t + (i) * NR + 4, c##i##1); \
    vst1q_f32(t + (i) * NR + 8, c##i##2);

/* t[8][12] = A sliver . B sliver over kc. */
static void ukr(int kc, const float *restrict a, const float *restrict b, float *restrict t) {
    ROWS(DECL)
    for (int k = 0; k < kc; k++) {
        float32x4_t b0 = vld1q_f32(b), b1 = vld1q_f32(b + 4), b2 = vld1q_f32(b + 8);
        float32x4_t a0 = vld1q_f32(a), a1 = vld1q_f32(a + 4);
        FMA(0, a0, 0) FMA(1, a0, 1) FMA(2, a0, 2) FMA(3, a0, 3)
        FMA(4, a1, 0) FMA(5, a1, 1) FMA(6, a1, 2) FMA(7, a1, 3)
        a += MR;
        b += NR;
    }
    ROWS(SPILL)
}

/* C[mr][nr] = alpha t + beta C (C is not read when beta is 0: it may hold
 * NaN, as BLAS allows). */
static void store(float *c, int ldc, const float *t, int mr, int nr, float alpha, float beta) {
    if (nr == NR) {
        for (int i = 0; i < mr; i++)
            for (int q = 0; q < NR; q += 4) {
                float *cr = c + (size_t)i * ldc + q;
                float32x4_t v = vmulq_n_f32(vld1q_f32(t + i * NR + q), alpha);
                if (beta != 0.0f) v = vfmaq_n_f32(v, vld1q_f32(cr), beta);
                vst1q_f32(cr, v);
            }
        return;
    }
    for (int i = 0; i < mr; i++)
        for (int j = 0; j < nr; j++) {
            float *cr = c + (size_t)i * ldc + j, v = alpha * t[i * NR + j];
            *cr = beta != 0.0f ? fmaf(*cr, beta, v) : v;
        }
}

typedef struct {
    float *p;
    size_t cap;
} buf_t;

static _Thread_local buf_t tl_a, tl_b;

static float *buf_get(buf_t *b, size_t n) {
    if (n > b->cap) {
        free(b->p);
        b->p = aligned_alloc(64, (n * sizeof(float) + 63) & ~(size_t)63);
        b->cap = b->p ? n : 0;
    }
    return b->p;
}

typedef struct {
    bool ta, tb;
    int M, lda, ldb, ldc;
    float alpha;
    const float *A, *B;
    float *C, *Ap, *Bp;
} gemm_ctx;

/* One K block [pc, pc + kc) of the panel of columns [jc, jc + nc). */
static void block(const gemm_ctx *g, bool par, int jc, int nc, int pc, int kc, float beta) {
    int ns = cdiv(nc, NR), ms = cdiv(g->M, MR);
    int mt = cdiv(g->M, MC), nct = cdiv(nc, NT);
    #pragma omp parallel if (par)
    {
        #pragma omp for schedule(static)
        for (int s = 0; s < ns; s++)
            pack(g->Bp + (size_t)s * NR * kc, NR, !g->tb, g->B, g->ldb, jc + s * NR,
                 imin(NR, nc - s * NR), pc, kc);
        #pragma omp for schedule(static)
        for (int s = 0; s < ms; s++)
            pack(g->Ap + (size_t)s * MR * kc, MR, g->ta, g->A, g->lda, s * MR,
                 imin(MR, g->M - s * MR), pc, kc);
        float t[MR * NR];
        /* row-major tile order: consecutive tiles of a thread share an A block */
        #pragma omp for schedule(static)
        for (int tt = 0; tt < mt * nct; tt++) {
            int i0 = (tt / nct) * MC, j0 = (tt % nct) * NT;
            int i1 = imin(g->M, i0 + MC), j1 = imin(nc, j0 + NT);
            for (int j = j0; j < j1; j += NR)
                for (int i = i0; i < i1; i += MR) {
                    ukr(kc, g->Ap + (size_t)(i / MR) * MR * kc, g->Bp + (size_t)(j / NR) * NR * kc, t);
                    store(g->C + (size_t)i * g->ldc + jc + j, g->ldc, t, imin(MR, i1 - i),
                          imin(NR, j1 - j), g->alpha, beta);
                }
        }
    }
}

static void scale_c(int M, int N, float beta, float *C, int ldc) {
    for (int i = 0; i < M; i++) {
        float *c = C + (size_t)i * ldc;
        if (beta == 0.0f) memset(c, 0, sizeof(float) * (size_t)N);
        else if (beta != 1.0f) for (int j = 0; j < N; j++) c[j] *= beta;
    }
}

void trm_gemm_neon(bool ta, bool tb, int M, int N, int K, float alpha, const float *A, int lda,
                   const float *B, int ldb, float beta, float *C, int ldc) {
    if (M <= 0 || N <= 0) return;
    if (K <= 0 || alpha == 0.0f) { scale_c(M, N, beta, C, ldc); return; }
    bool par = !omp_in_parallel() && (double)M * N * K > 1e6 && omp_get_max_threads() > 1;
    float *Ap = buf_get(&tl_a, (size_t)cdiv(M, MR) * MR * imin(K, KC));
    float *Bp = buf_get(&tl_b, (size_t)cdiv(imin(N, NCMAX), NR) * NR * imin(K, KC));
    if (!Ap || !Bp) abort(); /* out of memory in a kernel: nothing sane to return */
    gemm_ctx g = {ta, tb, M, lda, ldb, ldc, alpha, A, B, C, Ap, Bp};
    for (int jc = 0; jc < N; jc += NCMAX)
        for (int pc = 0; pc < K; pc += KC)
            block(&g, par, jc, imin(NCMAX, N - jc), pc, imin(KC, K - pc), pc == 0 ? beta : 1.0f);
}
#else
void trm_gemm_neon(bool ta, bool tb, int M, int N, int K, float alpha, const float *A, int lda,
                   const float *B, int ldb, float beta, float *C, int ldc) {
    (void)ta; (void)tb; (void)M; (void)N; (void)K; (void)alpha; (void)A; (void)lda; (void)B;
    (void)ldb; (void)beta; (void)C; (void)ldc;
    abort(); /* never selected off ARM64 (trm_cpu_has_neon() is false) */
}
#endif
