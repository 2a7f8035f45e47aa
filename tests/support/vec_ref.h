/* vec_ref.h - checks of the SIMD element-wise kernels shared by the test
 * files of several ISAs (test_kernels.c for x86, test_neon.c for ARM64),
 * so each ISA's kernel meets the same test. */
#ifndef TRM_TESTS_VEC_REF_H
#define TRM_TESTS_VEC_REF_H

#include <stddef.h>

/* The SIMD atan2 for x >= 0 (vec_avx512.c's atan2_nonneg_x16, vec_avx2.c's,
 * vec_neon.c's), one value at a time in scalar float with fmaf: the same
 * IEEE operations in the same order, so the same bits (NaN: any NaN). */
float vref_atan2_replica(float y, float x);

/* Checks atan2(y, n pairs) of one ISA's table entry on n values (n >= 11):
 * magnitudes 1e-30..1e30 of both signs, |y| ~ x, and the edge cases (zeros
 * of both signs, infinities, NaN, subnormals). Each result must have the
 * sign of atan2f's, be within 3 ulp of double atan2, and equal
 * vref_atan2_replica bit for bit. Returns 0 with the worst error in ulp in
 * *worst, or -1 with one line in msg. */
int vref_check_atan2(void (*atan2_nonneg_x)(float *r, const float *y, const float *x, int n), int n,
                     double *worst, char *msg, size_t msg_size);

#endif
