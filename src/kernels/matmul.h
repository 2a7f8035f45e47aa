/* matmul.h - the one matrix-product interface of trm.
 *
 * C[M,N] = alpha * op(A)[M,K] . op(B)[K,N] + beta * C, row-major, with
 * leading dimensions (row strides) given explicitly so callers can address
 * heads inside a packed QKV buffer. op(X) is X or X^T.
 * Backed by oneDNN, the project's AVX-512 or AVX2 kernels (fp32; AVX-512
 * also bf16 operands with fp32 accumulation), OpenBLAS, or a portable C
 * kernel; all give results
 * equal to rounding (bf16: to bf16 rounding of the operands).
 */
#ifndef TRM_MATMUL_H
#define TRM_MATMUL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "kernels/cpu.h"

void gemm_f32(bool trans_a, bool trans_b, int M, int N, int K, float alpha,
              const float *A, int lda, const float *B, int ldb, float beta,
              float *C, int ldc);

/* True when products run with bf16 operands (trm_matmul_set_precision). */
bool matmul_bf16(void);

/* True when x W^T with `rows` rows runs on the project's kernels, so that
 * weights packed for them (matmul_pack_b) will be used; false when the
 * backend sends it elsewhere (oneDNN for many rows, BLAS, portable). */
bool matmul_wants_packed(int rows);

/* oneDNN's dnnl_sgemm, when libdnnl.so.2 can be loaded (NULL if not). */
typedef int (*trm_dnnl_sgemm_fn)(char ta, char tb, int64_t M, int64_t N, int64_t K, float alpha,
                                 const float *A, int64_t lda, const float *B, int64_t ldb,
                                 float beta, float *C, int64_t ldc);
trm_dnnl_sgemm_fn matmul_onednn_sgemm(void);

/* ---- gemm.c: the project's kernels on the active ISA (kernels/cpu.h;
 * call only when gemm_isa() is not NULL) ---- */
uint16_t matmul_f32_to_bf16(float x);   /* round to nearest even */
void gemm_simd(bool ta, bool tb, int M, int N, int K, float alpha, const float *A,
                   int lda, const float *B, int ldb, float beta, float *C, int ldc, bool bf16);
/* op(B) [K, N] packed once for many products (weights reused within a
 * step), in the active ISA's layout. */
size_t matmul_packed_b_bytes(int K, int N, bool bf16);
void matmul_pack_b(void *dst, bool tb, int K, int N, const float *B, int ldb, bool bf16);
void gemm_simd_packed(bool ta, int M, int N, int K, float alpha, const float *A, int lda,
                          const void *Bp, float beta, float *C, int ldc, bool bf16);

#endif
