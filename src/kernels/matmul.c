/* matmul.c - GEMM behind one interface: OpenBLAS or portable C.
 *
 * OpenBLAS is the OpenMP flavour, so its threads and ours share one pool.
 * We never touch OPENBLAS_* environment variables: the user's (or the
 * machine's) choice of kernels is respected.
 */
#include <omp.h>
#include <string.h>

#include "kernels/matmul.h"
#include "trm.h"

#ifdef TRM_HAVE_BLAS
#include <cblas.h>
static trm_matmul_backend g_backend = TRM_MATMUL_BLAS;
#else
static trm_matmul_backend g_backend = TRM_MATMUL_PORTABLE;
#endif

trm_matmul_backend trm_matmul_set_backend(trm_matmul_backend b) {
#ifdef TRM_HAVE_BLAS
    g_backend = b;
#else
    (void)b;
#endif
    return g_backend;
}

trm_matmul_backend trm_matmul_get_backend(void) { return g_backend; }

const char *trm_matmul_backend_name(trm_matmul_backend b) {
    return b == TRM_MATMUL_BLAS ? "openblas" : "portable";
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
#ifdef TRM_HAVE_BLAS
    if (g_backend == TRM_MATMUL_BLAS && K > 0) {
        cblas_sgemm(CblasRowMajor, trans_a ? CblasTrans : CblasNoTrans,
                    trans_b ? CblasTrans : CblasNoTrans, M, N, K, alpha, A, lda,
                    B, ldb, beta, C, ldc);
        return;
    }
#endif
    gemm_portable(trans_a, trans_b, M, N, K, alpha, A, lda, B, ldb, beta, C, ldc);
}
