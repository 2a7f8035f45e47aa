/* test_neon.c - the ARM64 NEON kernels (gemm_neon.c's tiles in gemm.c's
 * driver, vec_neon.c's table) against the portable references: the
 * portable GEMM backend on odd shapes, every transpose, edge tiles, K
 * blocks, column panels, leading dimensions, pre-packed B and inside a
 * parallel region; the row kernels against ops.c's portable loops
 * (written out here) on row lengths around the vector width; exp bit for
 * bit against a scalar replica of its own arithmetic and within 1 ulp of
 * expf; atan2 within 3 ulp of double atan2 and bit for bit its scalar
 * replica (the x86 kernels' bits), AdamATan2 bit for bit optim.c's update
 * with that atan2, transposes bit for bit the plain loop. Tolerances are stated per test (the summation orders differ from
 * the portable loops', so those comparisons cannot be bit-equal).
 * Off ARM64 every test is a named skip; `make test-arm64` runs them under
 * qemu-aarch64. */
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
#include "support/vec_ref.h"
#include "trm.h"

#define NEED_NEON()                                                         \
    do {                                                                    \
        if (cpu_set_isa(TRM_ISA_NEON) != TRM_ISA_NEON) {                \
            printf("    skipped: not an ARM64 build (NEON kernels off)\n"); \
            skip();                                                         \
        }                                                                   \
    } while (0)

/* Crossing every blocking boundary of gemm_neon.c / gemm.c (MR 12, NR 8,
 * KC 512, MC 120, column tiles 8..256, NCMAX 4096) and the model's shapes. */
static const int SHAPES[][3] = {
    {1, 1, 1},    {1, 2, 300},   {2, 1, 3},    {5, 6, 7},    {12, 8, 512}, {13, 9, 513},
    {11, 7, 511}, {24, 16, 1025}, {97, 97, 16}, {33, 64, 97}, {130, 13, 9}, {9, 100, 7},
    {3, 4100, 5}, {121, 97, 513}, {130, 300, 70},
};
#define N_SHAPES (sizeof SHAPES / sizeof SHAPES[0])

/* max |C_neon - C_portable| / max |C_portable| for one product; C starts
 * random (NaN where beta is 0: it must not be read). */
static double gemm_case(bool ta, bool tb, int M, int N, int K, float alpha, float beta,
                        uint64_t seed, bool inside_parallel, bool packed) {
    int lda = (ta ? M : K) + 3, ldb = (tb ? K : N) + 1, ldc = N + 5;
    size_t na = (size_t)(ta ? K : M) * lda, nb = (size_t)(tb ? N : K) * ldb, nc = (size_t)M * ldc;
    gc_rng r;
    gc_seed(&r, seed);
    float *A = gc_alloc(na), *B = gc_alloc(nb), *C = gc_alloc(nc);
    gc_fill_random(&r, A, na, -1, 1);
    gc_fill_random(&r, B, nb, -1, 1);
    gc_fill_random(&r, C, nc, -1, 1);
    if (beta == 0.0f)
        for (int i = 0; i < M; i++)
            for (int j = 0; j < N; j++) C[(size_t)i * ldc + j] = NAN;
    float *P = gc_dup(C, nc);
    assert_int_equal(trm_matmul_set_backend(TRM_MATMUL_PORTABLE), TRM_MATMUL_PORTABLE);
    gemm_f32(ta, tb, M, N, K, alpha, A, lda, B, ldb, beta, P, ldc);
    if (packed) { /* weights packed once (matmul_pack_b), as the model's x W^T */
        void *Bp = malloc(matmul_packed_b_bytes(K, N, false) + 1);
        assert_non_null(Bp);
        matmul_pack_b(Bp, tb, K, N, B, ldb, false);
        gemm_simd_packed(ta, M, N, K, alpha, A, lda, Bp, beta, C, ldc, false);
        free(Bp);
    } else if (inside_parallel) {
        #pragma omp parallel num_threads(2)
        {
            #pragma omp single
            gemm_simd(ta, tb, M, N, K, alpha, A, lda, B, ldb, beta, C, ldc, false);
        }
    } else {
        gemm_simd(ta, tb, M, N, K, alpha, A, lda, B, ldb, beta, C, ldc, false);
    }
    double maxref = 0.0, maxe = 0.0;
    for (int i = 0; i < M; i++)
        for (int j = 0; j < ldc; j++) {
            size_t o = (size_t)i * ldc + j;
            if (j >= N) { /* padding between rows stays untouched */
                if (memcmp(&C[o], &P[o], sizeof(float))) fail_msg("row %d padding %d written", i, j);
                continue;
            }
            maxref = fmax(maxref, fabs(P[o]));
            maxe = fmax(maxe, isfinite(C[o]) ? fabs((double)C[o] - P[o]) : INFINITY);
        }
    free(A); free(B); free(C); free(P);
    return maxref > 0 ? maxe / maxref : maxe;
}

/* The GEMM: tolerance 1e-5 of the largest entry (fp32 sums of up to 513
 * terms of |a b| <= 1 in another order, FMA against mul + add). */
static void test_gemm(void **state) {
    (void)state;
    NEED_NEON();
    const float ab[3][2] = {{1.0f, 0.0f}, {0.7f, -0.3f}, {-1.3f, 1.0f}};
    double worst = 0.0;
    int cases = 0;
    uint64_t seed = 1;
    for (size_t s = 0; s < N_SHAPES; s++)
        for (int t = 0; t < 4; t++)
            for (int k = 0; k < 3; k++) {
                const int *sh = SHAPES[s];
                double e = gemm_case(t & 1, t >> 1, sh[0], sh[1], sh[2], ab[k][0], ab[k][1], seed++, false,
                                     k == 2);
                if (!(e < 1e-5))
                    fail_msg("neon gemm ta %d tb %d M %d N %d K %d alpha %g beta %g: rel %g", t & 1,
                             t >> 1, sh[0], sh[1], sh[2], ab[k][0], ab[k][1], e);
                worst = fmax(worst, e);
                cases++;
            }
    for (int t = 0; t < 4; t++) { /* single-threaded inside a parallel region */
        double e = gemm_case(t & 1, t >> 1, 97, 97, 16, 1.0f, 1.0f, seed++, true, false);
        assert_true(e < 1e-5);
        cases++;
    }
    /* K = 0 and alpha = 0: C = beta C */
    float C[6] = {1, 2, 3, 4, 5, 6}, A[1] = {0}, B[1] = {0};
    gemm_simd(false, false, 2, 3, 0, 1.0f, A, 1, B, 3, 0.5f, C, 3, false);
    for (int i = 0; i < 6; i++) assert_true(C[i] == 0.5f * (i + 1));
    gemm_simd(false, false, 2, 3, 1, 0.0f, A, 1, B, 3, 0.0f, C, 3, false);
    for (int i = 0; i < 6; i++) assert_true(C[i] == 0.0f);
    printf("    neon gemm: %d cases, worst rel %.2e against portable (tol 1e-5)\n", cases, worst);
}

/* The dispatch: neon is the ISA of an ARM64 build (TRM_CPU=neon accepted),
 * its tables are vec_kernels() / gemm_isa(), TRM_MATMUL_NEON its backend
 * (the default without BLAS; "neon" in the one name parser) with packed
 * weights; TRM_CPU=portable turns all of it off. */
static void test_dispatch(void **state) {
    (void)state;
    NEED_NEON();
    trm_err e;
    setenv("TRM_CPU", "neon", 1);
    assert_int_equal(trm_cpu_check_env(&e), 0);
    unsetenv("TRM_CPU");
    assert_string_equal(trm_cpu_isa_active(), "neon");
    assert_non_null(vec_kernels());
    assert_non_null(gemm_isa());
    trm_matmul_backend b = TRM_MATMUL_PORTABLE;
    assert_int_equal(trm_matmul_backend_parse("neon", &b), 0);
    assert_int_equal(b, TRM_MATMUL_NEON);
    assert_int_equal(trm_matmul_set_backend(TRM_MATMUL_NEON), TRM_MATMUL_NEON);
    assert_string_equal(trm_matmul_backend_name(TRM_MATMUL_NEON), "neon");
    assert_true(matmul_wants_packed(1)); /* gemm.c's pre-packed weights */
    float A[6] = {1, 2, 3, 4, 5, 6}, B[6] = {1, 0, 0, 1, 1, 1}, C[4];
    gemm_f32(false, false, 2, 2, 3, 1.0f, A, 3, B, 2, 0.0f, C, 2);
    assert_true(C[0] == 4 && C[1] == 5 && C[2] == 10 && C[3] == 11);
    assert_int_equal(cpu_set_isa(TRM_ISA_PORTABLE), TRM_ISA_PORTABLE);
    assert_null(vec_kernels());
    assert_int_not_equal(trm_matmul_get_backend(), TRM_MATMUL_NEON); /* follows the ISA */
    assert_int_equal(cpu_set_isa(TRM_ISA_NEON), TRM_ISA_NEON);
}

static int ulp_diff(float a, float b) {
    int32_t ia, ib;
    memcpy(&ia, &a, 4);
    memcpy(&ib, &b, 4);
    if (ia < 0) ia = (int32_t)0x80000000 - ia;
    if (ib < 0) ib = (int32_t)0x80000000 - ib;
    return abs(ia - ib);
}

/* vec_neon.c's exp, one value at a time in scalar double with fma(): the
 * same operations in the same order, so the same float bit for bit. */
static float exp_replica(float xf) {
    double x = fmin(fmax(xf, -104.0), 89.0);
    double n = nearbyint(x * 1.4426950408889634), r = fma(-n, 0.6931471805599453, x);
    static const double c[9] = {1.0 / 40320, 1.0 / 5040, 1.0 / 720, 1.0 / 120, 1.0 / 24,
                                1.0 / 6,     0.5,        1.0,       1.0};
    double p = 1.0 / 362880;
    for (int i = 0; i < 9; i++) p = fma(p, r, c[i]);
    return (float)ldexp(p, (int)n);
}

static void test_exp(void **state) {
    (void)state;
    NEED_NEON();
    enum { N = 100003 };
    float *x = gc_alloc(N), *y = gc_alloc(N);
    for (int i = 0; i < N; i++) x[i] = -103.0f + 191.0f * (float)i / (N - 1);
    x[0] = -150.0f; x[1] = 0.0f; x[2] = -0.0f; x[3] = 1e-30f; x[4] = 88.7f;
    vec_kernels()->exp(y, x, N);
    int worst = 0, differ = 0;
    for (int i = 0; i < N; i++) {
        if (memcmp(&y[i], &(float){exp_replica(x[i])}, 4))
            fail_msg("exp(%.9g) = %.9g, its scalar replica %.9g", x[i], y[i], exp_replica(x[i]));
        float want = expf(x[i]);
        int d = isfinite(want) && want > 1e-37f ? ulp_diff(y[i], want) : (fabsf(y[i] - want) < 1e-37f ? 0 : 99);
        worst = d > worst ? d : worst;
        differ += d != 0;
    }
    printf("    exp: %d values, bit-equal to the scalar replica; max %d ulp from expf, %d differ\n",
           N, worst, differ);
    assert_true(worst <= 1);
    assert_true(differ < N / 1000);
    free(x); free(y);
}

/* Row lengths around the 4-lane width and the model's widths. */
static const int LENS[] = {1, 2, 3, 4, 5, 7, 8, 9, 97, 512, 515};
#define N_LENS (sizeof LENS / sizeof LENS[0])

/* max |a - b| / max(max |b|, floor) over n: the floor is the scale of the
 * inputs where the result may cancel to far below it. */
static double rel_err(const float *a, const float *b, int n, double floor) {
    double m = floor, e = 0;
    for (int i = 0; i < n; i++) {
        m = fmax(m, fabs(b[i]));
        e = fmax(e, isfinite(a[i]) ? fabs((double)a[i] - b[i]) : INFINITY);
    }
    return e / m;
}

#define CHECK_REL(what, n, a, b, tol) CHECK_REL_FLOOR(what, n, a, b, tol, 1e-30)
#define CHECK_REL_FLOOR(what, n, a, b, tol, floor)                                       \
    do {                                                                                 \
        double e_ = rel_err(a, b, n, floor);                                                    \
        if (!(e_ <= (tol))) fail_msg("%s, C %d: rel %.3g > %.1g", what, n, e_, (double)(tol)); \
    } while (0)

static float sig(float x) { return 1.0f / (1.0f + expf(-x)); }

/* SwiGLU forward and backward (add and set): tolerance 4e-6 of the row's
 * largest value (exp within ~1 ulp of expf, then a few products). */
static void test_swiglu(void **state) {
    (void)state;
    NEED_NEON();
    gc_rng r;
    gc_seed(&r, 7);
    for (size_t l = 0; l < N_LENS; l++) {
        int I = LENS[l];
        float *g = gc_alloc(I), *u = gc_alloc(I), *d = gc_alloc(I), *m = gc_alloc(I), *mr = gc_alloc(I);
        float *dg = gc_alloc(I), *du = gc_alloc(I), *dgr = gc_alloc(I), *dur = gc_alloc(I);
        gc_fill_random(&r, g, I, -9, 9);
        gc_fill_random(&r, u, I, -2, 2);
        gc_fill_random(&r, d, I, -2, 2);
        vec_kernels()->swiglu_row(m, g, u, I);
        for (int i = 0; i < I; i++) mr[i] = g[i] * sig(g[i]) * u[i];
        CHECK_REL("swiglu forward", I, m, mr, 4e-6);
        for (int add = 0; add < 2; add++) {
            gc_fill_random(&r, dg, I, -1, 1);
            gc_fill_random(&r, du, I, -1, 1);
            for (int i = 0; i < I; i++) {
                float s = sig(g[i]);
                dgr[i] = (add ? dg[i] : 0.0f) + d[i] * u[i] * s * (1.0f + g[i] * (1.0f - s));
                dur[i] = (add ? du[i] : 0.0f) + d[i] * g[i] * s;
            }
            vec_kernels()->swiglu_bwd_row(dg, du, d, g, u, I, add);
            CHECK_REL("swiglu backward dg", I, dg, dgr, 4e-6);
            CHECK_REL("swiglu backward du", I, du, dur, 4e-6);
        }
        free(g); free(u); free(d); free(m); free(mr); free(dg); free(du); free(dgr); free(dur);
    }
}

/* RMSNorm forward (with and without the residual, in place) and backward:
 * tolerance 1e-6 relative (double sums in another order, one rounding). */
static void test_rmsnorm(void **state) {
    (void)state;
    NEED_NEON();
    gc_rng r;
    gc_seed(&r, 11);
    for (size_t l = 0; l < N_LENS; l++) {
        int C = LENS[l];
        float *x = gc_alloc(C), *res = gc_alloc(C), *y = gc_alloc(C), *yr = gc_alloc(C);
        gc_fill_random(&r, x, C, -3, 3);
        gc_fill_random(&r, res, C, -3, 3);
        for (int with_res = 0; with_res < 2; with_res++) {
            double ss = 0;
            for (int c = 0; c < C; c++) {
                yr[c] = with_res ? x[c] + res[c] : x[c];
                ss += (double)yr[c] * yr[c];
            }
            float rr = (float)(1.0 / sqrt(ss / C + 1e-5f));
            for (int c = 0; c < C; c++) yr[c] *= rr;
            memcpy(y, x, sizeof(float) * C); /* y aliases x */
            float rv = vec_kernels()->add_rmsnorm_row(y, y, with_res ? res : NULL, C, 1e-5f);
            assert_true(fabsf(rv - rr) <= 1e-6f * rr);
            CHECK_REL("add_rmsnorm forward", C, y, yr, 1e-6);
        }
        float *dy = gc_alloc(C), *dx = gc_alloc(C), *dxr = gc_alloc(C);
        gc_fill_random(&r, dy, C, -1, 1);
        for (int add = 0; add < 2; add++) {
            gc_fill_random(&r, dx, C, -1, 1);
            double dot = 0;
            for (int c = 0; c < C; c++) dot += (double)dy[c] * yr[c];
            float mean = (float)(dot / C);
            for (int c = 0; c < C; c++) dxr[c] = (add ? dx[c] : 0.0f) + 0.7f * (dy[c] - yr[c] * mean);
            vec_kernels()->rmsnorm_bwd_row(dx, dy, yr, 0.7f, C, add);
            /* dy - y mean(dy y) cancels when C is small (C = 1: dy (1 - y^2), y^2 = 1) */
            CHECK_REL_FLOOR("rmsnorm backward", C, dx, dxr, 1e-6, 1.0);
        }
        free(x); free(res); free(y); free(yr); free(dy); free(dx); free(dxr);
    }
}

/* Softmax and its backward: tolerance 1e-6 relative (fp32 sums in another
 * order; exp within 1 ulp of expf). */
static void test_softmax(void **state) {
    (void)state;
    NEED_NEON();
    gc_rng r;
    gc_seed(&r, 13);
    for (size_t l = 0; l < N_LENS; l++) {
        int C = LENS[l];
        float *s = gc_alloc(C), *sr = gc_alloc(C), *d = gc_alloc(C), *dr = gc_alloc(C);
        gc_fill_random(&r, s, C, -20, 20);
        if (C > 3) s[2] = -INFINITY; /* a masked score */
        memcpy(sr, s, sizeof(float) * C);
        float mx = sr[0], sum = 0.0f;
        for (int c = 1; c < C; c++) mx = sr[c] > mx ? sr[c] : mx;
        for (int c = 0; c < C; c++) sum += (sr[c] = expf(sr[c] - mx));
        for (int c = 0; c < C; c++) sr[c] *= 1.0f / sum;
        vec_kernels()->softmax_row(s, C);
        CHECK_REL("softmax", C, s, sr, 1e-6);
        gc_fill_random(&r, d, C, -1, 1);
        memcpy(dr, d, sizeof(float) * C);
        float dot = 0.0f;
        for (int c = 0; c < C; c++) dot += sr[c] * dr[c];
        for (int c = 0; c < C; c++) dr[c] = 0.125f * sr[c] * (dr[c] - dot);
        vec_kernels()->softmax_bwd_row(d, sr, C, 0.125f);
        CHECK_REL("softmax backward", C, d, dr, 1e-5); /* d - dot cancels */
        free(s); free(sr); free(d); free(dr);
    }
}

/* atan2 (x >= 0): within 3 ulp of double atan2 and bit for bit its scalar
 * replica, i.e. the same bits as the AVX-512 / AVX2 kernels, over
 * magnitudes 1e-30..1e30 and the edge cases (tests/support/vec_ref.c, the
 * check test_kernels.c runs on the x86 paths). */
static void test_atan2(void **state) {
    (void)state;
    NEED_NEON();
    double worst;
    char msg[256];
    if (vref_check_atan2(vec_kernels()->atan2_nonneg_x, 100003, &worst, msg, sizeof msg)) fail_msg("%s", msg);
    printf("    neon atan2 (x >= 0): 100003 values, worst %.2f ulp (tol 3), bit-equal to the scalar replica\n",
           worst);
}

/* AdamATan2 on lengths around the 4-lane width: bit for bit optim.c's
 * update with the NEON atan2 in place of atan2f (same operations in the
 * same order), and within 1e-6 of the portable update (atan2f; the step
 * is 1e-3, so 3 ulp of atan2 are ~1e-10). Nothing past n is written. */
static void test_adam_atan2(void **state) {
    (void)state;
    NEED_NEON();
    const trm_vec_kernels *v = vec_kernels();
    gc_rng r;
    gc_seed(&r, 17);
    for (size_t l = 0; l < N_LENS; l++) {
        int n = LENS[l], np = n + 3;
        float *p = gc_alloc(np), *m = gc_alloc(np), *w = gc_alloc(np), *g = gc_alloc(np);
        float *pr = gc_alloc(np), *mr = gc_alloc(np), *wr = gc_alloc(np), *pp = gc_alloc(np);
        gc_fill_random(&r, p, np, -1, 1);
        gc_fill_random(&r, m, np, -1, 1);
        gc_fill_random(&r, w, np, 0, 1);
        gc_fill_random(&r, g, np, -1, 1);
        if (n > 4) { g[1] = 0.0f; m[1] = 0.0f; w[1] = 0.0f; } /* atan2(0, 0) */
        memcpy(pr, p, sizeof(float) * np); memcpy(mr, m, sizeof(float) * np); memcpy(wr, w, sizeof(float) * np);
        for (int i = 0; i < n; i++) {
            pr[i] *= 0.999f;
            mr[i] += 0.1f * (g[i] - mr[i]);
            wr[i] += 0.05f * (g[i] * g[i] - wr[i]);
            float den = sqrtf(wr[i]) / 0.3f, a;
            v->atan2_nonneg_x(&a, &mr[i], &den, 1);
            pp[i] = pr[i] - 1e-3f * atan2f(mr[i], den);
            pr[i] -= 1e-3f * a;
        }
        for (int i = n; i < np; i++) pp[i] = pr[i];
        v->adam_atan2(p, m, w, g, n, 0.999f, 0.1f, 0.05f, 1e-3f, 0.3f);
        assert_memory_equal(p, pr, sizeof(float) * np);
        assert_memory_equal(m, mr, sizeof(float) * np);
        assert_memory_equal(w, wr, sizeof(float) * np);
        CHECK_REL_FLOOR("adam_atan2 against atan2f", np, p, pp, 1e-6, 1.0);
        free(p); free(m); free(w); free(g); free(pr); free(mr); free(wr); free(pp);
    }
}

/* Transposes of R x C for R, C around the 4-lane tile (and the model's 97,
 * 512) with padded strides: bit for bit the plain loop, and nothing
 * outside the R x C block of out written. */
static void test_transpose(void **state) {
    (void)state;
    NEED_NEON();
    static const int D[] = {1, 2, 3, 4, 5, 7, 8, 9, 97};
    enum { ND = sizeof D / sizeof D[0] };
    gc_rng r;
    gc_seed(&r, 19);
    int cases = 0;
    for (int a = 0; a < ND + 1; a++)
        for (int b = 0; b < ND + 1; b++) {
            int R = a < ND ? D[a] : 512, C = b < ND ? D[b] : 512;
            if (R * C > 512 * 97) continue;
            int ldi = C + 3, ldo = R + 2;
            size_t ni = (size_t)R * ldi, no = (size_t)C * ldo;
            float *in = gc_alloc(ni), *out = gc_alloc(no), *want = gc_alloc(no);
            gc_fill_random(&r, in, ni, -1, 1);
            gc_fill_random(&r, out, no, -1, 1);
            memcpy(want, out, sizeof(float) * no);
            for (int i = 0; i < R; i++)
                for (int j = 0; j < C; j++) want[(size_t)j * ldo + i] = in[(size_t)i * ldi + j];
            vec_kernels()->transpose(out, ldo, in, ldi, R, C);
            if (memcmp(out, want, sizeof(float) * no)) fail_msg("neon transpose %d x %d differs", R, C);
            free(in); free(out); free(want);
            cases++;
        }
    printf("    neon transpose: %d shapes bit-equal to the plain loop\n", cases);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_gemm),    cmocka_unit_test(test_dispatch), cmocka_unit_test(test_exp),
        cmocka_unit_test(test_swiglu),  cmocka_unit_test(test_rmsnorm),  cmocka_unit_test(test_softmax),
        cmocka_unit_test(test_atan2),   cmocka_unit_test(test_adam_atan2), cmocka_unit_test(test_transpose),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
