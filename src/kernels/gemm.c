/* gemm.c - the project's GEMM driver, the same for every ISA; the packing
 * and register-tile micro-kernels come from the active ISA's table
 * (gemm_isa(): gemm_avx512.c's 14x32 tile, gemm_avx2.c's 6x16).
 *
 * Layout (the textbook scheme of Goto & van de Geijn): C[M,N] = alpha
 * op(A) op(B) + beta C is cut into K blocks of kc; for each, op(B)'s rows
 * are packed into slivers of nr columns and op(A) into slivers of mr rows,
 * and the micro-kernel runs an mr x nr tile over kc. Every ISA uses the
 * same kc, so an element of C sees the same sequence of fp32 FMAs on all
 * of them: the AVX2 and AVX-512 products are equal bit for bit
 * (tests/test_kernels.c checks it).
 *
 * Threads: a call from outside any parallel region packs and computes with
 * the whole OpenMP team (tiles of mc rows x NT columns, row-major order so
 * one thread keeps its A block in L2); a call from inside one (attention's
 * per-head products) runs on the calling thread. Pack buffers are per
 * calling thread and grow once; nothing is allocated in steady state.
 */
#include <omp.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "kernels/cpu.h"
#include "kernels/matmul.h"

#define NT 256      /* columns per tile (a multiple of every nr) */
#define NCMAX 4096  /* columns per packed B panel */

static inline int cdiv(int a, int b) { return (a + b - 1) / b; }
static inline int imin(int a, int b) { return a < b ? a : b; }

/* ------------------------------------------------------------ bf16 */

uint16_t matmul_f32_to_bf16(float x) {
    uint32_t u;
    memcpy(&u, &x, 4);
    if ((u & 0x7fffffffu) > 0x7f800000u) return (uint16_t)((u >> 16) | 0x40); /* quiet NaN */
    u += 0x7fffu + ((u >> 16) & 1u);
    return (uint16_t)(u >> 16);
}

/* ------------------------------------------------------------ buffers */

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

/* ------------------------------------------------------------ driver */

/* Bytes of one packed sliver of kc steps. */
static size_t sliver_bytes(int mode, int rows, int kc) {
    return mode == 1 ? (size_t)cdiv(kc, 2) * rows * 2 * sizeof(uint16_t)
                     : (size_t)kc * rows * sizeof(float);
}

/* mode: 0 fp32, 1 bf16 (vdpbf16ps), 2 bf16-rounded operands through fp32 */
static int pick_mode(const trm_gemm_kernels *k, bool bf16) {
    if (!bf16 || !k->bf16) return 0;
    return cpu_has_avx512bf16() ? 1 : 2;
}

static int kc_max(const trm_gemm_kernels *k, int mode) { return mode == 1 ? k->kcb : k->kc; }

size_t matmul_packed_b_bytes(int K, int N, bool bf16) {
    const trm_gemm_kernels *k = gemm_isa();
    if (!k) return 0;
    int mode = pick_mode(k, bf16), kcmax = kc_max(k, mode);
    size_t total = 0;
    for (int jc = 0; jc < N; jc += NCMAX) {
        int nc = imin(NCMAX, N - jc);
        for (int pc = 0; pc < K; pc += kcmax)
            total += (size_t)cdiv(nc, k->nr) * sliver_bytes(mode, k->nr, imin(kcmax, K - pc));
    }
    return total;
}

/* Packs all of op(B) [K, N] in the driver's block order. */
void matmul_pack_b(void *dst, bool tb, int K, int N, const float *B, int ldb, bool bf16) {
    const trm_gemm_kernels *k = gemm_isa();
    if (!k) return;
    int mode = pick_mode(k, bf16), kcmax = kc_max(k, mode), NR = k->nr;
    char *d = dst;
    for (int jc = 0; jc < N; jc += NCMAX) {
        int nc = imin(NCMAX, N - jc);
        for (int pc = 0; pc < K; pc += kcmax) {
            int kc = imin(kcmax, K - pc), ns = cdiv(nc, NR);
            size_t sb = sliver_bytes(mode, NR, kc);
            long work = (long)kc * nc;
            #pragma omp parallel for schedule(static) if (!omp_in_parallel() && work > 65536)
            for (int s = 0; s < ns; s++)
                k->pack_b(d + (size_t)s * sb, mode, tb, B, ldb, pc, kc, jc + s * NR, imin(NR, nc - s * NR));
            d += (size_t)ns * sb;
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

/* Work split for thread t of n over `count` items: [*lo, *hi). */
static inline void split(int count, int t, int n, int *lo, int *hi) {
    *lo = (int)((long)count * t / n);
    *hi = (int)((long)count * (t + 1) / n);
}

typedef struct {
    const trm_gemm_kernels *k;
    bool ta, tb;
    int M, N, K, lda, ldb, ldc, mode, kcmax;
    float alpha, beta;
    const float *A, *B;
    const char *Bpre;
    char *Ap, *Bp;
    float *C;
} gemm_ctx;

/* The tiles [lo, hi) of one (jc, pc) block: mc rows x nt_cols columns each. */
static void run_tiles(const gemm_ctx *g, int lo, int hi, int nct, int nt_cols, int jc, int nc, int kc,
                      const char *Bblk, float bt) {
    const trm_gemm_kernels *k = g->k;
    int MR = k->mr, NR = k->nr;
    size_t b_sb = sliver_bytes(g->mode, NR, kc), a_s = sliver_bytes(g->mode, MR, kc);
    for (int tt = lo; tt < hi; tt++) {
        int ic = (tt / nct) * k->mc, jt = (tt % nct) * nt_cols;
        int i_end = imin(g->M, ic + k->mc), j_end = imin(nc, jt + nt_cols);
        for (int j = jt; j < j_end; j += NR) {
            const char *bs = Bblk + (size_t)(j / NR) * b_sb;
            int nr = imin(NR, j_end - j);
            for (int i = ic; i < i_end; i += MR)
                k->ukr(g->mode, kc, g->Ap + (size_t)(i / MR) * a_s, bs, g->C + (size_t)i * g->ldc + jc + j,
                       g->ldc, imin(MR, i_end - i), nr, g->alpha, bt);
        }
    }
}

/* All (jc, pc) blocks, as thread t of n; barriers separate the phases
 * (packing, then tiles) when n > 1. */
static void gemm_body(const gemm_ctx *g, int t, int n) {
    const trm_gemm_kernels *k = g->k;
    int MR = k->mr, NR = k->nr;
    const char *Bnext = g->Bpre;
    int lo, hi;
    for (int jc = 0; jc < g->N; jc += NCMAX) {
        int nc = imin(NCMAX, g->N - jc), ns = cdiv(nc, NR), ms = cdiv(g->M, MR);
        for (int pc = 0; pc < g->K; pc += g->kcmax) {
            int kc = imin(g->kcmax, g->K - pc);
            size_t b_sb = sliver_bytes(g->mode, NR, kc), a_s = sliver_bytes(g->mode, MR, kc);
            const char *Bblk = g->Bpre ? Bnext : g->Bp;
            if (g->Bpre) Bnext += (size_t)ns * b_sb;
            /* tiles: mc rows x NT columns; narrower when there are few rows */
            int mt = cdiv(g->M, k->mc), nt_cols = NT;
            while (nt_cols > NR && mt * cdiv(nc, nt_cols) < 4 * n) nt_cols /= 2;
            int nct = cdiv(nc, nt_cols);
            if (n > 1) {
                #pragma omp barrier
            }
            if (!g->Bpre) {
                split(ns, t, n, &lo, &hi);
                for (int s = lo; s < hi; s++)
                    k->pack_b(g->Bp + (size_t)s * b_sb, g->mode, g->tb, g->B, g->ldb, pc, kc, jc + s * NR,
                              imin(NR, nc - s * NR));
            }
            split(ms, t, n, &lo, &hi);
            for (int s = lo; s < hi; s++)
                k->pack_a(g->Ap + (size_t)s * a_s, g->mode, g->ta, g->A, g->lda, s * MR,
                          imin(MR, g->M - s * MR), pc, kc);
            if (n > 1) {
                #pragma omp barrier
            }
            split(mt * nct, t, n, &lo, &hi);
            run_tiles(g, lo, hi, nct, nt_cols, jc, nc, kc, Bblk, pc == 0 ? g->beta : 1.0f);
        }
    }
}

/* The driver; Bpre is op(B) packed by matmul_pack_b (same bf16 flag) or NULL.
 * One parallel region per call (barriers between phases); none at all
 * for small products or inside a parallel region. */
static void gemm_run(bool ta, bool tb, int M, int N, int K, float alpha, const float *A,
                     int lda, const float *B, int ldb, const void *Bpre, float beta, float *C,
                     int ldc, bool bf16) {
    if (M <= 0 || N <= 0) return;
    if (K <= 0 || alpha == 0.0f) { scale_c(M, N, beta, C, ldc); return; }
    const trm_gemm_kernels *k = gemm_isa();
    if (!k) abort(); /* callers check matmul_wants_packed / the backend first */
    int mode = pick_mode(k, bf16), kcmax = kc_max(k, mode);
    bool par = !omp_in_parallel() && (double)M * N * K > 4e6 && omp_get_max_threads() > 1;
    char *Ap = buf_get(&tl_a, (size_t)cdiv(M, k->mr) * sliver_bytes(mode, k->mr, kcmax));
    char *Bp = NULL;
    if (!Bpre) Bp = buf_get(&tl_b, (size_t)cdiv(imin(N, NCMAX), k->nr) * sliver_bytes(mode, k->nr, kcmax));
    if (!Ap || (!Bpre && !Bp)) abort(); /* out of memory in a kernel: nothing sane to return */
    gemm_ctx g = {k, ta, tb, M, N, K, lda, ldb, ldc, mode, kcmax, alpha, beta, A, B, Bpre, Ap, Bp, C};
    if (par) {
        #pragma omp parallel
        gemm_body(&g, omp_get_thread_num(), omp_get_num_threads());
    } else {
        gemm_body(&g, 0, 1);
    }
}

void gemm_simd(bool ta, bool tb, int M, int N, int K, float alpha, const float *A,
                   int lda, const float *B, int ldb, float beta, float *C, int ldc, bool bf16) {
    gemm_run(ta, tb, M, N, K, alpha, A, lda, B, ldb, NULL, beta, C, ldc, bf16);
}

void gemm_simd_packed(bool ta, int M, int N, int K, float alpha, const float *A, int lda,
                          const void *Bp, float beta, float *C, int ldc, bool bf16) {
    gemm_run(ta, false, M, N, K, alpha, A, lda, NULL, 0, Bp, beta, C, ldc, bf16);
}
