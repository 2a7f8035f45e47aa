/* matmul.c - GEMM behind one interface: the project's AVX-512 kernels
 * (gemm_avx512.c), OpenBLAS, or portable C, chosen at run time.
 *
 * Default: the AVX-512 kernels when the CPU has AVX-512F (they beat the
 * OpenBLAS kernels Debian's OpenBLAS picks here; docs/performance.md),
 * else OpenBLAS when compiled in, else portable C. TRM_MATMUL=openblas |
 * avx512 | portable in the environment overrides the default, and
 * TRM_PRECISION=bf16 starts the process with bf16 products (so every
 * command can run in bf16 without an option of its own).
 * OpenBLAS is the OpenMP flavour, so its threads and ours share one pool.
 * We never touch OPENBLAS_* environment variables: the user's (or the
 * machine's) choice of kernels is respected.
 */
#include <omp.h>
#include <stdlib.h>
#include <string.h>

#include "kernels/matmul.h"
#include "trm.h"

#ifdef TRM_HAVE_BLAS
#include <cblas.h>
#endif

static int g_backend = -1;      /* -1: not chosen yet */
static int g_bf16 = -1;         /* -1: not chosen yet (TRM_PRECISION=bf16 sets it) */

static bool backend_ok(trm_matmul_backend b) {
    switch (b) {
    case TRM_MATMUL_PORTABLE: return true;
    case TRM_MATMUL_AVX512: return trm_cpu_has_avx512();
#ifdef TRM_HAVE_BLAS
    case TRM_MATMUL_BLAS: return true;
#endif
    default: return false;
    }
}

static trm_matmul_backend backend(void) {
    if (g_backend < 0) {
        trm_matmul_backend b = trm_cpu_has_avx512() ? TRM_MATMUL_AVX512 :
#ifdef TRM_HAVE_BLAS
                               TRM_MATMUL_BLAS;
#else
                               TRM_MATMUL_PORTABLE;
#endif
        const char *e = getenv("TRM_MATMUL");
        if (e) {
            trm_matmul_backend want = !strcmp(e, "openblas") || !strcmp(e, "blas") ? TRM_MATMUL_BLAS
                                    : !strcmp(e, "portable") ? TRM_MATMUL_PORTABLE
                                    : !strcmp(e, "avx512") ? TRM_MATMUL_AVX512 : b;
            if (backend_ok(want)) b = want;
        }
        g_backend = (int)b;
    }
    return (trm_matmul_backend)g_backend;
}

trm_matmul_backend trm_matmul_set_backend(trm_matmul_backend b) {
    if (backend_ok(b)) g_backend = (int)b;
    return backend();
}

trm_matmul_backend trm_matmul_get_backend(void) { return backend(); }

const char *trm_matmul_backend_name(trm_matmul_backend b) {
    return b == TRM_MATMUL_BLAS ? "openblas" : b == TRM_MATMUL_AVX512 ? "avx512" : "portable";
}

trm_precision trm_matmul_set_precision(trm_precision p) {
    g_bf16 = p == TRM_PRECISION_BF16 && trm_cpu_has_avx512();
    return trm_matmul_get_precision();
}

bool trm_matmul_bf16(void) {
    if (g_bf16 < 0) {
        const char *e = getenv("TRM_PRECISION");
        g_bf16 = e && !strcmp(e, "bf16") && trm_cpu_has_avx512();
    }
    return g_bf16 == 1;
}

trm_precision trm_matmul_get_precision(void) {
    return trm_matmul_bf16() ? TRM_PRECISION_BF16 : TRM_PRECISION_FP32;
}

bool trm_in_parallel(void) { return omp_in_parallel(); }

/* ------------------------------------------------------------ portable */

/* Element accessors for op(A) and op(B). */
#define AT(X, ld, t, r, c) ((t) ? (X)[(size_t)(c) * (ld) + (r)] : (X)[(size_t)(r) * (ld) + (c)])

/* Blocked over K so the inner loop streams rows of B when B is not
 * transposed (the common case for x W^T is trans_b, handled by a dot
 * product form). Accumulates in float, like BLAS. */
static void gemm_portable(bool ta, bool tb, int M, int N, int K, float alpha,
                          const float *A, int lda, const float *B, int ldb,
                          float beta, float *C, int ldc) {
    #pragma omp parallel for schedule(static) if (!omp_in_parallel() && (long)M * N * K > 32768)
    for (int i = 0; i < M; i++) {
        float *c = C + (size_t)i * ldc;
        if (beta == 0.0f) memset(c, 0, sizeof(float) * (size_t)N);
        else if (beta != 1.0f) for (int j = 0; j < N; j++) c[j] *= beta;
        if (!tb) {
            for (int k = 0; k < K; k++) {
                float a = alpha * AT(A, lda, ta, i, k);
                const float *b = B + (size_t)k * ldb;
                for (int j = 0; j < N; j++) c[j] += a * b[j];
            }
        } else {
            for (int j = 0; j < N; j++) {
                const float *b = B + (size_t)j * ldb;
                float s = 0.0f;
                if (!ta) {
                    const float *a = A + (size_t)i * lda;
                    for (int k = 0; k < K; k++) s += a[k] * b[k];
                } else {
                    for (int k = 0; k < K; k++) s += A[(size_t)k * lda + i] * b[k];
                }
                c[j] += alpha * s;
            }
        }
    }
}

void trm_gemm(bool trans_a, bool trans_b, int M, int N, int K, float alpha,
              const float *A, int lda, const float *B, int ldb, float beta,
              float *C, int ldc) {
    if (M <= 0 || N <= 0) return;
    trm_matmul_backend be = backend();
    bool bf16 = trm_matmul_bf16();
    if (be == TRM_MATMUL_AVX512 || bf16) {
        trm_gemm_avx512(trans_a, trans_b, M, N, K, alpha, A, lda, B, ldb, beta, C, ldc, bf16);
        return;
    }
#ifdef TRM_HAVE_BLAS
    if (be == TRM_MATMUL_BLAS && K > 0) {
        cblas_sgemm(CblasRowMajor, trans_a ? CblasTrans : CblasNoTrans,
                    trans_b ? CblasTrans : CblasNoTrans, M, N, K, alpha, A, lda,
                    B, ldb, beta, C, ldc);
        return;
    }
#endif
    gemm_portable(trans_a, trans_b, M, N, K, alpha, A, lda, B, ldb, beta, C, ldc);
}
