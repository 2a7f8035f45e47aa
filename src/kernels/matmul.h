/* matmul.h - the one matrix-product interface of trm.
 *
 * C[M,N] = alpha * op(A)[M,K] . op(B)[K,N] + beta * C, row-major, with
 * leading dimensions (row strides) given explicitly so callers can address
 * heads inside a packed QKV buffer. op(X) is X or X^T.
 * Backed by OpenBLAS when compiled in, else (or on request) by a portable
 * C kernel; both give results equal to rounding.
 */
#ifndef TRM_MATMUL_H
#define TRM_MATMUL_H

#include <stdbool.h>

void trm_gemm(bool trans_a, bool trans_b, int M, int N, int K, float alpha,
              const float *A, int lda, const float *B, int ldb, float beta,
              float *C, int ldc);

/* True while running inside an OpenMP parallel region of our own, where
 * the matmul must stay single-threaded. */
bool trm_in_parallel(void);

#endif
