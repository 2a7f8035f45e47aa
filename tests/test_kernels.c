/* test_kernels.c - the performance kernels against plain references, on
 * every instruction-set path this CPU runs (kernels/cpu.h; the ISA tests
 * run once per path, as a group named after it): the GEMM (fp32; bf16 on
 * AVX-512) on odd shapes, every transpose, edge tiles, K blocks and
 * leading dimensions; the pre-packed operand path; bf16 rounding; the
 * element-wise rows; the fused ops against the unfused ones (values and
 * finite-difference gradients); and the AVX2 path against the AVX-512 one,
 * bit for bit, kernel by kernel and through a whole training step. */
#include <math.h>
#include <omp.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "gradcheck.h"
#include "kernels/matmul.h"
#include "kernels/ops.h"
#include "kernels/cpu.h"
#include "support/ops_ref.h"
#include "support/vec_ref.h"
#include "kernels/vec_avx512.h"
#include "model/model.h" /* white-box: reads the model and ACT state directly */
#include "trm.h"

/* Shapes the model uses and odd ones crossing every blocking boundary
 * (MR 12, NR 32, KC 256 / 512, MC 96, tile widths). */
static const int SHAPES[][3] = {
    {1, 1, 1},    {1, 2, 512},   {2, 1, 3},      {5, 6, 7},      {13, 33, 7},
    {12, 32, 256}, {11, 31, 255}, {25, 65, 257},  {97, 97, 64},   {97, 64, 97},
    {130, 300, 513}, {200, 47, 1030}, {37, 1100, 19}, {300, 200, 600},
};
#define N_SHAPES (sizeof SHAPES / sizeof SHAPES[0])

static float bf16r(float x) { return trm_bf16_to_f32(matmul_f32_to_bf16(x)); }

/* Double-precision references, kept for the whole run: the plain and
 * packed products, every backend and every ISA group see the same seeded
 * operands, and their references (O(MNK), the slow part under the
 * sanitizers) are computed once. The operands come from the key's seed,
 * so the key identifies the reference. */
typedef struct {
    uint64_t seed;
    int M, N, K;
    bool ta, tb;
    float alpha, beta;
    bool rounded;
} ref_key;
typedef struct ref_entry { ref_key key; double *ref; struct ref_entry *next; } ref_entry;
static ref_entry *ref_cache;

static bool ref_key_eq(const ref_key *a, const ref_key *b) {
    return a->seed == b->seed && a->M == b->M && a->N == b->N && a->K == b->K && a->ta == b->ta &&
           a->tb == b->tb && a->alpha == b->alpha && a->beta == b->beta && a->rounded == b->rounded;
}

static const double *ref_cached(const ref_key *k) {
    for (ref_entry *e = ref_cache; e; e = e->next)
        if (ref_key_eq(&e->key, k)) return e->ref;
    return NULL;
}

static void ref_keep(const ref_key *k, double *ref) {
    ref_entry *e = calloc(1, sizeof *e);
    assert_non_null(e);
    e->key = *k;
    e->ref = ref;
    e->next = ref_cache;
    ref_cache = e;
}

static void ref_cache_free(void) {
    while (ref_cache) {
        ref_entry *e = ref_cache;
        ref_cache = e->next;
        free(e->ref);
        free(e);
    }
}

/* Runs one product through `fn` (0 gemm_simd on the active ISA, 1 packed, 2 gemm_f32
 * on the selected backend) and returns
 * max |C - ref| / max |ref| with ref in double from (optionally
 * bf16-rounded) operands. */
static double check_one(int fn, bool ta, bool tb, int M, int N, int K, float alpha, float beta,
                        bool bf16, bool ref_rounded, uint64_t seed, bool inside_parallel) {
    int lda = (ta ? M : K) + 3, ldb = (tb ? K : N) + 1, ldc = N + 5;
    int arows = ta ? K : M, brows = tb ? N : K;
    gc_rng r;
    gc_seed(&r, seed);
    float *A = gc_alloc((size_t)arows * lda), *B = gc_alloc((size_t)brows * ldb);
    float *C = gc_alloc((size_t)M * ldc);
    gc_fill_random(&r, A, (size_t)arows * lda, -1, 1);
    gc_fill_random(&r, B, (size_t)brows * ldb, -1, 1);
    gc_fill_random(&r, C, (size_t)M * ldc, -1, 1);
    if (beta == 0.0f)
        for (int i = 0; i < M; i++)
            for (int j = 0; j < N; j++) C[(size_t)i * ldc + j] = NAN;
    float *C0 = gc_dup(C, (size_t)M * ldc);
    double maxref = 0.0, maxe = 0.0;
    const ref_key key = {seed, M, N, K, ta, tb, alpha, beta, ref_rounded};
    const double *ref = ref_cached(&key);
    double *own = NULL;
    if (!ref) {
        own = gc_alloc_d((size_t)M * N);
        for (int i = 0; i < M; i++)
            for (int j = 0; j < N; j++) {
                double s = 0.0;
                for (int k = 0; k < K; k++) {
                    float a = ta ? A[(size_t)k * lda + i] : A[(size_t)i * lda + k];
                    float b = tb ? B[(size_t)j * ldb + k] : B[(size_t)k * ldb + j];
                    if (ref_rounded) { a = bf16r(a); b = bf16r(b); }
                    s += (double)a * b;
                }
                double c0 = beta == 0.0f ? 0.0 : C0[(size_t)i * ldc + j];
                own[(size_t)i * N + j] = alpha * s + beta * c0;
            }
        ref = own;
        ref_keep(&key, own);
        own = NULL;
    }
    for (size_t i = 0; i < (size_t)M * N; i++) maxref = fmax(maxref, fabs(ref[i]));
    void *Bp = NULL;
    if (fn == 1) {
        Bp = aligned_alloc(64, (matmul_packed_b_bytes(K, N, bf16) + 63) & ~(size_t)63);
        matmul_pack_b(Bp, tb, K, N, B, ldb, bf16);
    }
    if (inside_parallel) {
        #pragma omp parallel num_threads(2)
        {
            #pragma omp single
            gemm_simd(ta, tb, M, N, K, alpha, A, lda, B, ldb, beta, C, ldc, bf16);
        }
    } else if (fn == 1) {
        gemm_simd_packed(ta, M, N, K, alpha, A, lda, Bp, beta, C, ldc, bf16);
    } else if (fn == 2) {
        gemm_f32(ta, tb, M, N, K, alpha, A, lda, B, ldb, beta, C, ldc);
    } else {
        gemm_simd(ta, tb, M, N, K, alpha, A, lda, B, ldb, beta, C, ldc, bf16);
    }
    for (int i = 0; i < M; i++) {
        for (int j = 0; j < N; j++) {
            double e = fabs(C[(size_t)i * ldc + j] - ref[(size_t)i * N + j]);
            maxe = isfinite(e) ? fmax(maxe, e) : INFINITY;
        }
        if (memcmp(C + (size_t)i * ldc + N, C0 + (size_t)i * ldc + N, (size_t)(ldc - N) * sizeof(float)))
            fail_msg("gemm wrote past column N (M %d N %d K %d)", M, N, K);
    }
    free(A); free(B); free(C); free(C0); free(own); free(Bp);
    return maxe / fmax(maxref, 1e-3);
}

/* The bf16 tests run on the AVX-512 path (the only one with bf16
 * products) whatever the group's ISA; 1 (a named skip) without it. */
static int need_avx512(void) { return cpu_set_isa(TRM_ISA_AVX512) == TRM_ISA_AVX512 ? 0 : 1; }

static void test_gemm_fp32(void **state) {
    (void)state;
    const float ab[3][2] = {{1.0f, 0.0f}, {0.7f, -0.3f}, {-1.3f, 1.0f}};
    double worst = 0.0;
    int cases = 0;
    uint64_t seed = 1;
    for (size_t s = 0; s < N_SHAPES; s++)
        for (int t = 0; t < 4; t++)
            for (int k = 0; k < 3; k++) {
                const int *sh = SHAPES[s];
                const uint64_t operands = seed++; /* plain and packed on the same operands */
                for (int fn = 0; fn < 2; fn++) {
                    double e = check_one(fn, t & 1, t >> 1, sh[0], sh[1], sh[2], ab[k][0], ab[k][1],
                                         false, false, operands, false);
                    if (!(e < 1e-5))
                        fail_msg("%s fp32 %s ta %d tb %d M %d N %d K %d alpha %g beta %g: rel %g",
                                 trm_cpu_isa_active(), fn ? "packed" : "plain", t & 1, t >> 1, sh[0], sh[1], sh[2],
                                 ab[k][0], ab[k][1], e);
                    worst = fmax(worst, e);
                    cases++;
                }
            }
    /* single-threaded inside a parallel region (attention's per-head calls) */
    for (int t = 0; t < 4; t++) {
        double e = check_one(0, t & 1, t >> 1, 97, 97, 64, 1.0f, 1.0f, false, false, seed++, true);
        assert_true(e < 1e-5);
        cases++;
    }
    /* K = 0 and alpha = 0: C = beta C */
    float C[6] = {1, 2, 3, 4, 5, 6}, A[1] = {0}, B[1] = {0};
    gemm_simd(false, false, 2, 3, 0, 1.0f, A, 1, B, 3, 0.5f, C, 3, false);
    for (int i = 0; i < 6; i++) assert_true(C[i] == 0.5f * (i + 1));
    printf("    %s fp32 gemm: %d cases, worst rel %.2e (tol 1e-5)\n", trm_cpu_isa_active(), cases, worst);
}

/* gemm_f32 on every backend this machine has, on the shapes above and on
 * ones large enough for oneDNN to take them (smaller ones fall back to our
 * kernels inside the onednn backend); results deterministic call to call. */
static void test_gemm_backends(void **state) {
    (void)state;
    static const int BIG[][3] = {{300, 200, 600}, {3104 / 4, 1536 / 4, 512}, {512, 1537, 97}, {97, 3072, 512}};
    trm_matmul_backend all[] = {TRM_MATMUL_ONEDNN, TRM_MATMUL_BLAS, TRM_MATMUL_AVX512, TRM_MATMUL_AVX2,
                                TRM_MATMUL_PORTABLE};
    trm_matmul_backend prev = trm_matmul_get_backend();
    trm_precision pp = trm_matmul_set_precision(TRM_PRECISION_FP32);
    /* A backend other than oneDNN computes the same whatever path is
     * active (OpenBLAS and the portable loops ignore it; the avx2 / avx512
     * backends name their kernels), so it is checked once per run, in the
     * first group that has it. oneDNN hands small products to our kernels
     * on the active path: checked in every group. */
    static bool done[sizeof all / sizeof all[0]];
    int checked = 0;
    for (size_t b = 0; b < sizeof all / sizeof all[0]; b++) {
        if (trm_matmul_set_backend(all[b]) != all[b]) {
            printf("    backend %s: not available in this build, on this machine or on the %s path, not checked\n",
                   trm_matmul_backend_name(all[b]), trm_cpu_isa_active());
            continue;
        }
        if (done[b] && all[b] != TRM_MATMUL_ONEDNN) {
            printf("    backend %s: checked in an earlier group\n", trm_matmul_backend_name(all[b]));
            checked++;
            continue;
        }
        done[b] = true;
        double worst = 0.0;
        int cases = 0;
        uint64_t seed = 100;
        for (size_t s = 0; s < N_SHAPES + sizeof BIG / sizeof BIG[0]; s++) {
            const int *sh = s < N_SHAPES ? SHAPES[s] : BIG[s - N_SHAPES];
            for (int t = 0; t < 4; t++) {
                double e = check_one(2, t & 1, t >> 1, sh[0], sh[1], sh[2], 0.7f, s % 2 ? -0.3f : 0.0f,
                                     false, false, seed++, false);
                if (!(e < 1e-5))
                    fail_msg("%s: ta %d tb %d M %d N %d K %d: rel %g", trm_matmul_backend_name(all[b]),
                             t & 1, t >> 1, sh[0], sh[1], sh[2], e);
                worst = fmax(worst, e);
                cases++;
            }
        }
        /* the same product twice gives the same bits */
        int M = 700, N = 300, K = 257;
        float *A = gc_alloc((size_t)M * K), *B = gc_alloc((size_t)N * K);
        float *C1 = gc_alloc((size_t)M * N), *C2 = gc_alloc((size_t)M * N);
        gc_rng r;
        gc_seed(&r, 7);
        gc_fill_random(&r, A, (size_t)M * K, -1, 1);
        gc_fill_random(&r, B, (size_t)N * K, -1, 1);
        gemm_f32(false, true, M, N, K, 1.0f, A, K, B, K, 0.0f, C1, N);
        gemm_f32(false, true, M, N, K, 1.0f, A, K, B, K, 0.0f, C2, N);
        assert_memory_equal(C1, C2, sizeof(float) * (size_t)M * N);
        free(A); free(B); free(C1); free(C2);
        printf("    backend %s: %d cases, worst rel %.2e (tol 1e-5), deterministic\n",
               trm_matmul_backend_name(all[b]), cases, worst);
        checked++;
    }
    trm_matmul_set_backend(prev);
    trm_matmul_set_precision(pp);
    assert_true(checked >= 1);
}

static void test_gemm_bf16(void **state) {
    (void)state;
    if (need_avx512()) { printf("    skipped: this CPU lacks AVX-512 (bf16 products need it)\n"); skip(); }
    double worst_r = 0.0, worst_u = 0.0;
    uint64_t seed = 500;
    for (size_t s = 0; s < N_SHAPES; s++)
        for (int t = 0; t < 4; t++) {
            const int *sh = SHAPES[s];
            for (int fn = 0; fn < 2; fn++) {
                /* against the product of the bf16-rounded operands: fp32 accumulation only */
                double e = check_one(fn, t & 1, t >> 1, sh[0], sh[1], sh[2], 0.7f, -0.3f, true, true,
                                     seed++, false);
                if (!(e < 1e-5))
                    fail_msg("bf16 %s ta %d tb %d M %d N %d K %d: rel %g vs rounded operands",
                             fn ? "packed" : "plain", t & 1, t >> 1, sh[0], sh[1], sh[2], e);
                worst_r = fmax(worst_r, e);
                /* against the exact fp32 product: bf16's 8-bit mantissa */
                double u = check_one(fn, t & 1, t >> 1, sh[0], sh[1], sh[2], 1.0f, 0.0f, true, false,
                                     seed++, false);
                if (!(u < 2e-2))
                    fail_msg("bf16 ta %d tb %d M %d N %d K %d: rel %g vs fp32", t & 1, t >> 1, sh[0],
                             sh[1], sh[2], u);
                worst_u = fmax(worst_u, u);
            }
        }
    printf("    bf16 gemm (%s): worst rel %.2e vs rounded operands (tol 1e-5), %.2e vs fp32 (tol 2e-2)\n",
           cpu_has_avx512bf16() ? "vdpbf16ps" : "emulated", worst_r, worst_u);
}

static void test_bf16_rounding(void **state) {
    (void)state;
    /* round to nearest, ties to even; NaN stays NaN; inf stays inf */
    assert_int_equal(matmul_f32_to_bf16(1.0f), 0x3f80);
    float x;
    uint32_t u = 0x3f808000u; /* exactly halfway between 0x3f80 and 0x3f81: even is 0x3f80 */
    memcpy(&x, &u, 4);
    assert_int_equal(matmul_f32_to_bf16(x), 0x3f80);
    u = 0x3f818000u; /* halfway, odd below: rounds up to 0x3f82 */
    memcpy(&x, &u, 4);
    assert_int_equal(matmul_f32_to_bf16(x), 0x3f82);
    u = 0x3f808001u;
    memcpy(&x, &u, 4);
    assert_int_equal(matmul_f32_to_bf16(x), 0x3f81);
    assert_true(isnan(trm_bf16_to_f32(matmul_f32_to_bf16(NAN))));
    assert_true(isinf(trm_bf16_to_f32(matmul_f32_to_bf16(INFINITY))));
    assert_true(trm_bf16_to_f32(matmul_f32_to_bf16(-2.5f)) == -2.5f);
}

/* ================================================================ element-wise */

static int ulp_diff(float a, float b) {
    int32_t ia, ib;
    memcpy(&ia, &a, 4);
    memcpy(&ib, &b, 4);
    if (ia < 0) ia = (int32_t)0x80000000 - ia;
    if (ib < 0) ib = (int32_t)0x80000000 - ib;
    return abs(ia - ib);
}

static void test_exp(void **state) {
    (void)state;
    enum { N = 200003 };
    float *x = gc_alloc(N), *y = gc_alloc(N);
    for (int i = 0; i < N; i++) x[i] = -103.0f + 191.0f * (float)i / (N - 1);
    x[0] = -150.0f; x[1] = 0.0f; x[2] = -0.0f; x[3] = 1e-30f; x[4] = 88.7f;
    vec_kernels()->exp(y, x, N);
    int worst = 0, differ = 0;
    for (int i = 0; i < N; i++) {
        float want = expf(x[i]);
        int d = isfinite(want) && want > 1e-37f ? ulp_diff(y[i], want) : (fabsf(y[i] - want) < 1e-37f ? 0 : 99);
        worst = d > worst ? d : worst;
        differ += d != 0;
    }
    printf("    %s exp: %d values in [-103, 88], max %d ulp from expf, %d differ\n", trm_cpu_isa_active(), N, worst, differ);
    assert_true(worst <= 1);
    assert_true(differ < N / 1000);
    free(x); free(y);
}

/* y = rms(x + res), double reference. */
static void ref_add_rms(double *y, double *r, const float *x, const float *res, int N, int C, float eps) {
    for (int n = 0; n < N; n++) {
        double ss = 0;
        for (int c = 0; c < C; c++) {
            double v = (double)x[(size_t)n * C + c] + (res ? (double)res[(size_t)n * C + c] : 0.0);
            ss += v * v;
        }
        r[n] = 1.0 / sqrt(ss / C + eps);
        for (int c = 0; c < C; c++)
            y[(size_t)n * C + c] = ((double)x[(size_t)n * C + c] + (res ? (double)res[(size_t)n * C + c] : 0.0)) * r[n];
    }
}

typedef struct { float *x, *res, *g; int N, C; } rms_ctx;

static double rms_S(void *p) {
    rms_ctx *c = p;
    size_t n = (size_t)c->N * c->C;
    double *y = gc_alloc_d(n), *r = gc_alloc_d((size_t)c->N);
    ref_add_rms(y, r, c->x, c->res, c->N, c->C, 1e-5f);
    double s = gc_dot_d(c->g, y, n);
    free(y); free(r);
    return s;
}

/* op_add_rmsnorm_forward = op_vec_add + op_rmsnorm_forward; its gradient with
 * respect to both inputs is op_rmsnorm_backward's (finite differences). */
/* AdamATan2's vector atan2 (x >= 0) against libm's double atan2 (3 ulp)
 * and bit for bit against its scalar replica, over magnitudes 1e-30..1e30
 * and the edge cases (tests/support/vec_ref.c, shared with test_neon.c). */
static void test_atan2(void **state) {
    (void)state;
    enum { N = 200000 };
    double worst;
    char msg[256];
    if (vref_check_atan2(vec_kernels()->atan2_nonneg_x, N, &worst, msg, sizeof msg)) fail_msg("%s", msg);
    printf("    %s atan2 (x >= 0): %d values, worst %.2f ulp (tol 3), bit-equal to the scalar replica\n",
           trm_cpu_isa_active(), N, worst);
}

static void test_add_rmsnorm(void **state) {
    (void)state;
    const int shapes[][2] = {{3, 5}, {7, 97}, {16, 512}, {5, 33}};
    for (size_t t = 0; t < sizeof shapes / sizeof shapes[0]; t++) {
        int N = shapes[t][0], C = shapes[t][1];
        size_t n = (size_t)N * C;
        gc_rng r;
        gc_seed(&r, 77 + t);
        float *x = gc_alloc(n), *res = gc_alloc(n), *g = gc_alloc(n), *y = gc_alloc(n), *ri = gc_alloc((size_t)N);
        gc_fill_normal(&r, x, n, 1.0f);
        gc_fill_normal(&r, res, n, 1.0f);
        gc_fill_normal(&r, g, n, 1.0f);
        double *yr = gc_alloc_d(n), *rr = gc_alloc_d((size_t)N);
        ref_add_rms(yr, rr, x, res, N, C, 1e-5f);
        op_add_rmsnorm_forward(y, ri, x, res, N, C, 1e-5f);
        assert_true(gc_check("op_add_rmsnorm_forward value", gc_compare_d(y, yr, n), 1e-6));
        /* aliasing: out = in (as the blocks call it) */
        float *x2 = gc_dup(x, n);
        op_add_rmsnorm_forward(x2, NULL, x2, res, N, C, 1e-5f);
        assert_true(memcmp(x2, y, n * sizeof(float)) == 0);
        float *dx = gc_alloc(n);
        memset(dx, 0, n * sizeof(float));
        op_rmsnorm_backward(dx, g, y, ri, N, C);
        rms_ctx ctx = {x, res, g, N, C};
        assert_true(gc_check("add_rmsnorm d/d in (FD)", gc_fd_check_strided(x, n, dx, 1e-3f, rms_S, &ctx, 7), GC_TOL_F64));
        assert_true(gc_check("add_rmsnorm d/d res (FD)", gc_fd_check_strided(res, n, dx, 1e-3f, rms_S, &ctx, 5), GC_TOL_F64));
        free(x); free(res); free(g); free(y); free(ri); free(yr); free(rr); free(x2); free(dx);
    }
}

/* The ISA's rows against the portable formulas, in double. */
static void test_vec_rows(void **state) {
    (void)state;
    const trm_vec_kernels *v = vec_kernels();
    const int widths[] = {1, 15, 16, 17, 97, 1536};
    for (size_t t = 0; t < sizeof widths / sizeof widths[0]; t++) {
        int I = widths[t];
        gc_rng r;
        gc_seed(&r, 900 + t);
        float *g = gc_alloc((size_t)I), *u = gc_alloc((size_t)I), *d = gc_alloc((size_t)I), *m = gc_alloc((size_t)I);
        float *dg = gc_alloc((size_t)I), *du = gc_alloc((size_t)I);
        gc_fill_normal(&r, g, (size_t)I, 3.0f);
        gc_fill_normal(&r, u, (size_t)I, 1.0f);
        gc_fill_normal(&r, d, (size_t)I, 1.0f);
        gc_fill_normal(&r, dg, (size_t)I, 1.0f);
        gc_fill_normal(&r, du, (size_t)I, 1.0f);
        double *mr = gc_alloc_d((size_t)I), *dgr = gc_alloc_d((size_t)I), *dur = gc_alloc_d((size_t)I);
        for (int i = 0; i < I; i++) {
            double s = 1.0 / (1.0 + exp(-(double)g[i])), silu = g[i] * s;
            mr[i] = silu * u[i];
            dgr[i] = dg[i] + (double)d[i] * u[i] * s * (1.0 + g[i] * (1.0 - s));
            dur[i] = du[i] + (double)d[i] * silu;
        }
        v->swiglu_row(m, g, u, I);
        v->swiglu_bwd_row(dg, du, d, g, u, I, true);
        assert_true(gc_compare_d(m, mr, (size_t)I).rel < 1e-6);
        assert_true(gc_compare_d(dg, dgr, (size_t)I).rel < 1e-6);
        assert_true(gc_compare_d(du, dur, (size_t)I).rel < 1e-6);
        /* softmax and its backward */
        float *row = gc_dup(g, (size_t)I), *dd = gc_dup(d, (size_t)I);
        double mx = -INFINITY, sum = 0;
        for (int i = 0; i < I; i++) mx = fmax(mx, g[i]);
        for (int i = 0; i < I; i++) sum += exp(g[i] - mx);
        for (int i = 0; i < I; i++) mr[i] = exp(g[i] - mx) / sum;
        v->softmax_row(row, I);
        assert_true(gc_compare_d(row, mr, (size_t)I).rel < 1e-6);
        double dot = 0;
        for (int i = 0; i < I; i++) dot += (double)row[i] * d[i];
        for (int i = 0; i < I; i++) dgr[i] = 0.125 * row[i] * (d[i] - dot);
        v->softmax_bwd_row(dd, row, I, 0.125f);
        assert_true(gc_compare_d(dd, dgr, (size_t)I).rel < 1e-5);
        free(g); free(u); free(d); free(m); free(dg); free(du); free(mr); free(dgr); free(dur); free(row); free(dd);
    }
    printf("    %s swiglu fwd/bwd, softmax fwd/bwd rows: 6 widths within 1e-6 / 1e-5 of double\n", trm_cpu_isa_active());
}

/* trm_act_memory_bytes equals what trm_act_new allocates (glibc's
 * allocation counters before and after, within 1%% + 64 KB). */
#include <malloc.h>
static void test_act_memory(void **state) {
    (void)state;
#ifdef __SANITIZE_ADDRESS__
    printf("    skipped: AddressSanitizer's allocator does not report to mallinfo2\n");
    skip();
#endif
    const char *presets[] = {"tiny", "sudoku-mlp"};
    for (int p = 0; p < 2; p++)
        for (int mode = 0; mode < 2; mode++) {
            trm_config c;
            trm_err e;
            assert_int_equal(trm_config_preset(&c, presets[p], &e), 0);
            trm_model *m = trm_model_new(&c, 1, &e);
            assert_non_null(m);
            struct mallinfo2 a = mallinfo2();
            trm_act *act = trm_act_new(m, 3, mode, 1, &e);
            assert_non_null(act);
            struct mallinfo2 b = mallinfo2();
            double got = (double)(b.uordblks - a.uordblks) + (double)(b.hblkhd - a.hblkhd);
            double want = (double)trm_act_memory_bytes(&c, 3, mode);
            printf("    %s %s batch 3: allocated %.0f bytes, predicted %.0f\n", presets[p],
                   mode ? "train" : "eval", got, want);
            assert_true(fabs(got - want) <= 0.01 * want + 65536);
            trm_act_free(act);
            trm_model_free(m);
        }
}

/* ================================================================ bf16 model */

/* One training step (forward, loss, backward) of a model (D 128, T 2,
 * n 2) in fp32 and in bf16: logits, q, carry, loss and every gradient
 * must agree within bf16 tolerances: 8-bit mantissa operands (2^-9
 * relative rounding) with fp32 accumulation, through 12 block
 * applications, measured 1e-2 .. 4e-2 of the largest value; bounds 6e-2
 * on values, 1e-2 on the loss, 1e-1 on gradients (max-abs relative). */
static double rel_err(const float *a, const float *b, size_t n) {
    double e = 0, m = 0;
    for (size_t i = 0; i < n; i++) {
        e = fmax(e, fabs((double)a[i] - b[i]));
        m = fmax(m, fabs((double)b[i]));
    }
    return e / fmax(m, 1e-6);
}

typedef struct {
    float *logits, *q, *y, *grads;
    size_t nlog, ny, ngrad;
    double loss;
} model_run;

static void run_model(const char *preset, bool bf16, model_run *out) {
    trm_config c;
    trm_err e;
    assert_int_equal(trm_config_preset(&c, preset, &e), 0);
    c.H_cycles = 2;
    c.L_cycles = 2;
    c.hidden_size = 128;
    c.num_heads = 2;
    c.puzzle_emb_ndim = 128;
    trm_model *m = trm_model_new(&c, 5, &e);
    assert_non_null(m);
    /* non-degenerate heads so q and its gradients are not trivially zero */
    gc_rng r;
    gc_seed(&r, 3);
    gc_fill_normal(&r, m->q_head_w, 2 * (size_t)c.hidden_size, 0.05f);
    int B = 3;
    int32_t *in = malloc(sizeof(int32_t) * (size_t)B * c.seq_len), *lab = malloc(sizeof(int32_t) * (size_t)B * c.seq_len);
    for (int i = 0; i < B * c.seq_len; i++) { in[i] = 1 + gc_randint(&r, c.vocab_size - 1); lab[i] = 1 + gc_randint(&r, c.vocab_size - 1); }
    trm_batch bt = {B, in, lab, NULL};
    assert_int_equal(trm_matmul_set_precision(bf16 ? TRM_PRECISION_BF16 : TRM_PRECISION_FP32),
                     bf16 ? TRM_PRECISION_BF16 : TRM_PRECISION_FP32);
    trm_act *a = trm_act_new(m, B, TRM_TRAIN, 1, &e);
    assert_non_null(a);
    float u[3] = {1, 1, 1};
    int32_t k[3] = {2, 2, 2};
    trm_explore ex = {u, k};
    assert_int_equal(trm_act_step(m, a, &bt, &ex, &e), 0);
    trm_metrics mt;
    trm_act_loss(m, a, TRM_LOSS_STABLEMAX, &mt);
    trm_model_zero_grad(m);
    assert_int_equal(trm_act_backward(m, a, 1.0f / B, &e), 0);
    out->loss = mt.total;
    out->nlog = (size_t)B * c.seq_len * c.vocab_size;
    out->logits = gc_dup(a->logits, out->nlog);
    out->q = gc_dup(a->q_halt, (size_t)B);
    out->ny = (size_t)B * m->L * c.hidden_size;
    out->y = gc_dup(a->y, out->ny);
    out->ngrad = 0;
    for (int i = 0; i < m->n_tensors; i++) if (m->tensors[i].grad) out->ngrad += (size_t)m->tensors[i].numel;
    out->grads = gc_alloc(out->ngrad);
    size_t off = 0;
    for (int i = 0; i < m->n_tensors; i++)
        if (m->tensors[i].grad) {
            memcpy(out->grads + off, m->tensors[i].grad, sizeof(float) * (size_t)m->tensors[i].numel);
            off += (size_t)m->tensors[i].numel;
        }
    trm_matmul_set_precision(TRM_PRECISION_FP32);
    trm_act_free(a);
    trm_model_free(m);
    free(in); free(lab);
}

static void test_bf16_model(void **state) {
    (void)state;
    if (need_avx512()) { printf("    skipped: this CPU lacks AVX-512 (bf16 products need it)\n"); skip(); }
    const char *presets[] = {"sudoku-att", "sudoku-mlp"};
    for (int p = 0; p < 2; p++) {
        model_run f, b;
        run_model(presets[p], false, &f);
        run_model(presets[p], true, &b);
        double el = rel_err(b.logits, f.logits, f.nlog), ey = rel_err(b.y, f.y, f.ny);
        double eq = rel_err(b.q, f.q, 3), eg = rel_err(b.grads, f.grads, f.ngrad);
        double dl = fabs(b.loss - f.loss) / fabs(f.loss);
        printf("    %s bf16 vs fp32: logits %.1e, carry y %.1e, q_halt %.1e, loss %.1e, gradients %.1e\n",
               presets[p], el, ey, eq, dl, eg);
        assert_true(el < 6e-2 && ey < 6e-2 && eq < 6e-2 && dl < 1e-2 && eg < 1e-1);
        /* and bf16 really is a different path (not silently fp32) */
        assert_true(el > 1e-6);
        free(f.logits); free(f.q); free(f.y); free(f.grads);
        free(b.logits); free(b.q); free(b.y); free(b.grads);
    }
}

static void test_transpose_bands(void **state) {
    (void)state;
    const int shapes[][3] = {{1, 97, 512}, {1, 512, 97}, {3, 17, 33}, {1, 64, 1}, {2, 100, 70}, {1, 1, 5}};
    for (size_t t = 0; t < sizeof shapes / sizeof shapes[0]; t++) {
        int B = shapes[t][0], R = shapes[t][1], C = shapes[t][2];
        size_t n = (size_t)B * R * C;
        gc_rng r;
        gc_seed(&r, 40 + t);
        float *in = gc_alloc(n), *out = gc_alloc(n);
        gc_fill_random(&r, in, n, -1, 1);
        op_transpose_last2(out, in, B, R, C);
        for (int b = 0; b < B; b++)
            for (int i = 0; i < R; i++)
                for (int j = 0; j < C; j++)
                    assert_true(out[(size_t)b * R * C + (size_t)j * R + i] == in[(size_t)b * R * C + (size_t)i * C + j]);
        free(in); free(out);
    }
}

/* The "_set" backward variants equal memset + the accumulating op,
 * bit for bit, and ignore what the output held (NaN here); attention's
 * backward without kept weights equals the one with them. */
static void test_set_variants(void **state) {
    (void)state;
    gc_rng r;
    gc_seed(&r, 11);
    int N = 37, I = 29, O = 45, C = 97, L = 13, H = 2, hd = 8, B = 3;
    size_t big = 8192;
    float *x = gc_alloc(big), *y = gc_alloc(big), *w = gc_alloc(big), *d = gc_alloc(big), *ri = gc_alloc(big);
    float *o1 = gc_alloc(big), *o2 = gc_alloc(big), *g1 = gc_alloc(big), *g2 = gc_alloc(big);
    gc_fill_random(&r, x, big, -1, 1);
    gc_fill_random(&r, y, big, -1, 1);
    gc_fill_random(&r, w, big, -1, 1);
    gc_fill_random(&r, d, big, -1, 1);
    gc_fill_random(&r, ri, big, 0.5f, 2);
#define RESET() do { for (size_t i = 0; i < big; i++) { o1[i] = 0.0f; o2[i] = NAN; g1[i] = g2[i] = 0.0f; } } while (0)
    RESET();
    op_linear_backward(o1, g1, NULL, d, x, w, N, I, O);
    op_linear_backward_set(o2, g2, d, x, w, N, I, O);
    assert_memory_equal(o1, o2, sizeof(float) * (size_t)N * I);
    assert_memory_equal(g1, g2, sizeof(float) * (size_t)O * I);
    RESET();
    op_rmsnorm_backward(o1, d, y, ri, N, C);
    op_rmsnorm_backward_set(o2, d, y, ri, N, C);
    assert_memory_equal(o1, o2, sizeof(float) * (size_t)N * C);
    RESET();
    op_swiglu_backward(o1, d, x, N, I);
    op_swiglu_backward_set(o2, d, x, N, I);
    assert_memory_equal(o1, o2, sizeof(float) * (size_t)N * 2 * I);
    /* attention: probs from a forward pass */
    int D = H * hd;
    float *att = gc_alloc((size_t)B * L * D), *probs = gc_alloc((size_t)B * H * L * L);
    op_attention_forward(att, probs, x, B, L, H, hd);
    RESET();
    op_attention_backward(o1, d, x, probs, B, L, H, hd);
    op_attention_backward_set(o2, d, x, probs, B, L, H, hd);
    assert_memory_equal(o1, o2, sizeof(float) * (size_t)B * L * 3 * D);
    /* without the kept weights: recomputed from qkv, the same bits */
    for (size_t i = 0; i < big; i++) o2[i] = NAN;
    op_attention_backward_set(o2, d, x, NULL, B, L, H, hd);
    assert_memory_equal(o1, o2, sizeof(float) * (size_t)B * L * 3 * D);
    /* several row blocks of queries (L > 112): the same bits again */
    {
        int Lb = 150, hb = 8;
        size_t nq = (size_t)Lb * 3 * hb;
        float *pr = gc_alloc((size_t)Lb * Lb), *at = gc_alloc((size_t)Lb * hb);
        float *a1 = gc_alloc(nq), *a2 = gc_alloc(nq);
        op_attention_forward(at, pr, x, 1, Lb, 1, hb);
        op_attention_backward_set(a1, d, x, pr, 1, Lb, 1, hb);
        op_attention_backward_set(a2, d, x, NULL, 1, Lb, 1, hb);
        assert_memory_equal(a1, a2, sizeof(float) * nq);
        free(pr); free(at); free(a1); free(a2);
    }
#undef RESET
    free(x); free(y); free(w); free(d); free(ri); free(o1); free(o2); free(g1); free(g2); free(att); free(probs);
}

/* ================================================================ AVX2 = AVX-512 */

/* Both SIMD paths on this CPU (an AVX-512 one runs the AVX2 path too);
 * else a named skip. */
static void need_both(void) {
    if (!cpu_isa_supported(TRM_ISA_AVX512) || !cpu_isa_supported(TRM_ISA_AVX2)) {
        printf("    skipped: needs a CPU with both AVX2 and AVX-512 (this one runs: %s)\n",
               cpu_isa_supported(TRM_ISA_AVX2) ? "avx2" : "portable");
        skip();
    }
}

/* C of one product (plain or through matmul_pack_b) on `isa`. */
static float *gemm_on(trm_isa isa, bool packed, bool ta, bool tb, int M, int N, int K, const float *A, int lda,
                      const float *B, int ldb, float beta, const float *C0, int ldc) {
    assert_int_equal(cpu_set_isa(isa), isa);
    float *C = gc_dup(C0, (size_t)M * ldc);
    if (packed) {
        void *Bp = aligned_alloc(64, (matmul_packed_b_bytes(K, N, false) + 63) & ~(size_t)63);
        matmul_pack_b(Bp, tb, K, N, B, ldb, false);
        gemm_simd_packed(ta, M, N, K, 0.7f, A, lda, Bp, beta, C, ldc, false);
        free(Bp);
    } else {
        gemm_simd(ta, tb, M, N, K, 0.7f, A, lda, B, ldb, beta, C, ldc, false);
    }
    return C;
}

/* The AVX2 GEMM gives the AVX-512 one's bits (same K blocks, the same FMA
 * chain per element), plain and pre-packed, every transpose and shape. */
static void test_gemm_isa_bits(void **state) {
    (void)state;
    need_both();
    int cases = 0;
    for (size_t s = 0; s < N_SHAPES; s++)
        for (int t = 0; t < 8; t++) {
            const int *sh = SHAPES[s];
            int M = sh[0], N = sh[1], K = sh[2];
            bool ta = t & 1, tb = (t >> 1) & 1, packed = t >> 2;
            int lda = (ta ? M : K) + 3, ldb = (tb ? K : N) + 1, ldc = N + 5;
            size_t na = (size_t)(ta ? K : M) * lda, nb = (size_t)(tb ? N : K) * ldb, nc = (size_t)M * ldc;
            gc_rng r;
            gc_seed(&r, 3000 + s * 8 + t);
            float *A = gc_alloc(na), *B = gc_alloc(nb), *C0 = gc_alloc(nc);
            gc_fill_random(&r, A, na, -1, 1);
            gc_fill_random(&r, B, nb, -1, 1);
            gc_fill_random(&r, C0, nc, -1, 1);
            float beta = s % 2 ? -0.3f : 0.0f;
            float *c512 = gemm_on(TRM_ISA_AVX512, packed, ta, tb, M, N, K, A, lda, B, ldb, beta, C0, ldc);
            float *c2 = gemm_on(TRM_ISA_AVX2, packed, ta, tb, M, N, K, A, lda, B, ldb, beta, C0, ldc);
            if (memcmp(c512, c2, nc * sizeof(float)))
                fail_msg("avx2 != avx512 bits: %s ta %d tb %d M %d N %d K %d", packed ? "packed" : "plain", ta, tb, M, N, K);
            free(A); free(B); free(C0); free(c512); free(c2);
            cases++;
        }
    printf("    gemm avx2 = avx512 bit for bit: %d cases\n", cases);
}

/* Every element-wise kernel on both paths, bit for bit, over widths that
 * cross the 8- and 16-lane edges. */
static void test_vec_isa_bits(void **state) {
    (void)state;
    need_both();
    const trm_vec_kernels *k[2];
    assert_int_equal(cpu_set_isa(TRM_ISA_AVX512), TRM_ISA_AVX512);
    k[0] = vec_kernels();
    assert_int_equal(cpu_set_isa(TRM_ISA_AVX2), TRM_ISA_AVX2);
    k[1] = vec_kernels();
    assert_true(k[0] && k[1] && k[0] != k[1]);
    const int widths[] = {1, 7, 8, 9, 15, 16, 17, 31, 97, 512, 1537};
    for (size_t w = 0; w < sizeof widths / sizeof widths[0]; w++) {
        int n = widths[w];
        size_t sz = (size_t)n * sizeof(float);
        gc_rng r;
        gc_seed(&r, 4000 + w);
        float *x = gc_alloc((size_t)n), *y = gc_alloc((size_t)n), *z = gc_alloc((size_t)n), *o[2][4];
        gc_fill_normal(&r, x, (size_t)n, 4.0f);
        gc_fill_normal(&r, y, (size_t)n, 1.0f);
        gc_fill_random(&r, z, (size_t)n, 0.0f, 2.0f);
        if (n > 9) { x[3] = -120.0f; x[4] = 95.0f; x[5] = 0.0f; y[6] = 0.0f; z[6] = 0.0f; } /* clamps, zeros */
        for (int i = 0; i < 2; i++) {
            for (int j = 0; j < 4; j++) o[i][j] = gc_dup(y, (size_t)n);
            float rr[2];
            k[i]->exp(o[i][0], x, n);
            k[i]->swiglu_row(o[i][1], x, y, n);
            k[i]->swiglu_bwd_row(o[i][2], o[i][3], z, x, y, n, true);
            rr[0] = k[i]->add_rmsnorm_row(o[i][2], o[i][2], x, n, 1e-5f);
            k[i]->rmsnorm_bwd_row(o[i][3], y, o[i][2], rr[0], n, w % 2);
            rr[1] = k[i]->add_rmsnorm_row(o[i][1], o[i][1], NULL, n, 1e-5f);
            o[i][1][0] += rr[1];
            k[i]->softmax_row(o[i][0], n);
            k[i]->softmax_bwd_row(o[i][3], o[i][0], n, 0.125f);
        }
        const char *what[4] = {"exp + softmax", "swiglu + rmsnorm", "swiglu bwd + add_rmsnorm", "rmsnorm bwd + softmax bwd"};
        for (int j = 0; j < 4; j++)
            if (memcmp(o[0][j], o[1][j], sz)) fail_msg("width %d: %s differ between avx512 and avx2", n, what[j]);
        /* AdamATan2 (and its atan2) on n parameters */
        float *p[2], *m[2], *v[2], *a2[2];
        for (int i = 0; i < 2; i++) {
            p[i] = gc_dup(x, (size_t)n); m[i] = gc_dup(y, (size_t)n); v[i] = gc_dup(z, (size_t)n); a2[i] = gc_alloc((size_t)n);
            k[i]->adam_atan2(p[i], m[i], v[i], y, n, 0.999f, 0.1f, 0.05f, 1e-3f, 0.3f);
            k[i]->atan2_nonneg_x(a2[i], x, z, n);
        }
        if (memcmp(p[0], p[1], sz) || memcmp(m[0], m[1], sz) || memcmp(v[0], v[1], sz) || memcmp(a2[0], a2[1], sz))
            fail_msg("width %d: adam_atan2 / atan2 differ between avx512 and avx2", n);
        /* transposes of n x 3 and 3 x n (and with padded strides) */
        /* big holds up to 19 rows of stride n + 2 (n * 40 read past it for n = 1) */
        float *big = gc_alloc((size_t)(n + 2) * 40), *t0 = gc_alloc((size_t)n * 40), *t1 = gc_alloc((size_t)n * 40);
        gc_fill_random(&r, big, (size_t)(n + 2) * 40, -1, 1);
        for (int R = 1; R <= 19; R += 9) {
            memset(t0, 0, (size_t)n * 40 * sizeof(float));
            memset(t1, 0, (size_t)n * 40 * sizeof(float));
            k[0]->transpose(t0, R + 1, big, n + 2, R, n);
            k[1]->transpose(t1, R + 1, big, n + 2, R, n);
            if (memcmp(t0, t1, (size_t)n * 40 * sizeof(float))) fail_msg("transpose %d x %d differs", R, n);
        }
        for (int i = 0; i < 2; i++) {
            for (int j = 0; j < 4; j++) free(o[i][j]);
            free(p[i]); free(m[i]); free(v[i]); free(a2[i]);
        }
        free(x); free(y); free(z); free(big); free(t0); free(t1);
    }
    printf("    exp, swiglu, rmsnorm, softmax (fwd, bwd), adam_atan2, atan2, transpose: avx2 = avx512 bit for bit, 11 widths\n");
}

/* A whole training step (forward, loss, backward) on the AVX2 path equals
 * the AVX-512 one bit for bit when both run our kernels (oneDNN, which
 * picks its own kernels per ISA, is the one thing that may differ). */
static void test_model_isa_bits(void **state) {
    (void)state;
    need_both();
    const char *presets[] = {"sudoku-att", "sudoku-mlp"};
    for (int p = 0; p < 2; p++) {
        model_run a, b;
        assert_int_equal(cpu_set_isa(TRM_ISA_AVX512), TRM_ISA_AVX512);
        assert_int_equal(trm_matmul_set_backend(TRM_MATMUL_AVX512), TRM_MATMUL_AVX512);
        run_model(presets[p], false, &a);
        assert_int_equal(cpu_set_isa(TRM_ISA_AVX2), TRM_ISA_AVX2);
        assert_int_equal(trm_matmul_set_backend(TRM_MATMUL_AVX2), TRM_MATMUL_AVX2);
        run_model(presets[p], false, &b);
        assert_memory_equal(a.logits, b.logits, a.nlog * sizeof(float));
        assert_memory_equal(a.q, b.q, 3 * sizeof(float));
        assert_memory_equal(a.y, b.y, a.ny * sizeof(float));
        assert_memory_equal(a.grads, b.grads, a.ngrad * sizeof(float));
        assert_true(a.loss == b.loss);
        printf("    %s training step: avx2 = avx512 bit for bit (logits, q, carry, loss, %zu gradients)\n",
               presets[p], a.ngrad);
        free(a.logits); free(a.q); free(a.y); free(a.grads);
        free(b.logits); free(b.q); free(b.y); free(b.grads);
    }
}

/* TRM_CPU: names and refusals (the CLI prints these lines and exits 1);
 * a smaller CPU is simulated with cpu_limit. */
static void test_cpu_env(void **state) {
    (void)state;
    const char *prev = getenv("TRM_CPU");
    char *saved = prev ? strdup(prev) : NULL;
    trm_isa isa0 = cpu_isa();
    trm_err e;
    setenv("TRM_CPU", "sse9", 1);
    assert_int_equal(trm_cpu_check_env(&e), -1);
    assert_string_equal(e.msg, "TRM_CPU=sse9: expected native, avx512, avx2, neon, portable or noavx512bf16");
    const char *ok[] = {"native", "portable", "", NULL};
    for (int i = 0; ok[i]; i++) {
        setenv("TRM_CPU", ok[i], 1);
        assert_int_equal(trm_cpu_check_env(&e), 0);
    }
    if (cpu_isa_supported(TRM_ISA_AVX2)) {
        cpu_limit(TRM_ISA_AVX2);
        setenv("TRM_CPU", "avx512", 1);
        assert_int_equal(trm_cpu_check_env(&e), -1);
        assert_string_equal(e.msg, "TRM_CPU=avx512: this CPU lacks AVX-512F (the best it runs is avx2)");
        assert_true(cpu_isa() != TRM_ISA_AVX512 && cpu_set_isa(TRM_ISA_AVX512) != TRM_ISA_AVX512);
        setenv("TRM_CPU", "avx2", 1);
        assert_int_equal(trm_cpu_check_env(&e), 0);
    }
    cpu_limit(TRM_ISA_PORTABLE);
    setenv("TRM_CPU", "avx2", 1);
    assert_int_equal(trm_cpu_check_env(&e), -1);
    assert_string_equal(e.msg, "TRM_CPU=avx2: this CPU lacks AVX2 + FMA (the best it runs is portable)");
    assert_int_equal(cpu_isa(), TRM_ISA_PORTABLE);
    assert_null(vec_kernels());
    assert_null(gemm_isa());
    cpu_limit(TRM_ISA_COUNT - 1);
    assert_int_equal(cpu_set_isa(isa0), isa0);
    if (saved) setenv("TRM_CPU", saved, 1);
    else unsetenv("TRM_CPU");
    free(saved);
}

/* ================================================================ groups */

static trm_isa g_group_isa;

static int setup_isa(void **state) {
    (void)state;
    return cpu_set_isa(g_group_isa) == g_group_isa ? 0 : -1;
}

/* The whole-CPU tests start from the process's own choice (TRM_CPU). */
static trm_isa g_start_isa;
static int setup_native(void **state) {
    (void)state;
    cpu_set_isa(g_start_isa);
    return 0;
}

int main(void) {
    g_start_isa = cpu_isa();
    /* once per SIMD path: its kernels against the references */
    const struct CMUnitTest simd[] = {
        cmocka_unit_test(test_gemm_fp32),
        cmocka_unit_test(test_gemm_backends),
        cmocka_unit_test(test_exp),
        cmocka_unit_test(test_atan2),
        cmocka_unit_test(test_add_rmsnorm),
        cmocka_unit_test(test_vec_rows),
        cmocka_unit_test(test_transpose_bands),
        cmocka_unit_test(test_set_variants),
    };
    /* the portable path: the ops these tests reach through ops.c */
    const struct CMUnitTest portable[] = {
        cmocka_unit_test(test_gemm_backends),
        cmocka_unit_test(test_add_rmsnorm),
        cmocka_unit_test(test_transpose_bands),
        cmocka_unit_test(test_set_variants),
    };
    const struct CMUnitTest other[] = {
        cmocka_unit_test(test_bf16_rounding),
        cmocka_unit_test(test_cpu_env),
        cmocka_unit_test(test_gemm_bf16),
        cmocka_unit_test(test_act_memory),
        cmocka_unit_test(test_bf16_model),
        cmocka_unit_test(test_gemm_isa_bits),
        cmocka_unit_test(test_vec_isa_bits),
        cmocka_unit_test(test_model_isa_bits),
    };
    int rc = 0;
    for (int i = 0; i < TRM_ISA_COUNT; i++) {
        const char *name = cpu_isa_name((trm_isa)i);
        if (!cpu_isa_supported((trm_isa)i)) {
            printf("ok - kernels on %s # SKIP this CPU lacks %s\n", name, name);
            continue;
        }
        char group[64];
        snprintf(group, sizeof group, "kernels on %s", name);
        g_group_isa = (trm_isa)i;
        if (i == TRM_ISA_PORTABLE) rc |= cmocka_run_group_tests_name(group, portable, setup_isa, NULL);
        else rc |= cmocka_run_group_tests_name(group, simd, setup_isa, NULL);
    }
    rc |= cmocka_run_group_tests_name("kernels: bf16, memory, avx2 = avx512", other, setup_native, NULL);
    ref_cache_free();
    return rc;
}
