/* avx2_util.h - 8-lane helpers shared by the AVX2 kernels (gemm_avx2.c,
 * vec_avx2.c): partial loads/stores that touch no memory past n, and an
 * 8x8 fp32 transpose in registers (the operand packing and mlp_t's token
 * mixing). x86-64 + GCC/Clang only: include after <immintrin.h>. */
#ifndef TRM_AVX2_UTIL_H
#define TRM_AVX2_UTIL_H

#define TGT_AVX2 __attribute__((target("avx2,fma")))

/* Lanes [0, n) of 8 set (n may be <= 0 or >= 8). */
TGT_AVX2 static inline __m256i lanes8(int n) {
    return _mm256_cmpgt_epi32(_mm256_set1_epi32(n), _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7));
}

/* n valid floats from p, zeros in the other lanes. */
TGT_AVX2 static inline __m256 load8(const float *p, int n) {
    if (n >= 8) return _mm256_loadu_ps(p);
    return n > 0 ? _mm256_maskload_ps(p, lanes8(n)) : _mm256_setzero_ps();
}

TGT_AVX2 static inline void store8(float *p, __m256 v, int n) {
    if (n >= 8) _mm256_storeu_ps(p, v);
    else if (n > 0) _mm256_maskstore_ps(p, lanes8(n), v);
}

/* r[0..7] rows become columns, in place (unpack, shuffle, lane permute). */
TGT_AVX2 static inline void tr8(__m256 r[8]) {
    __m256 t[8], u[8];
    for (int i = 0; i < 4; i++) {
        t[2 * i] = _mm256_unpacklo_ps(r[2 * i], r[2 * i + 1]);
        t[2 * i + 1] = _mm256_unpackhi_ps(r[2 * i], r[2 * i + 1]);
    }
    for (int i = 0; i < 2; i++) {
        u[4 * i] = _mm256_shuffle_ps(t[4 * i], t[4 * i + 2], _MM_SHUFFLE(1, 0, 1, 0));
        u[4 * i + 1] = _mm256_shuffle_ps(t[4 * i], t[4 * i + 2], _MM_SHUFFLE(3, 2, 3, 2));
        u[4 * i + 2] = _mm256_shuffle_ps(t[4 * i + 1], t[4 * i + 3], _MM_SHUFFLE(1, 0, 1, 0));
        u[4 * i + 3] = _mm256_shuffle_ps(t[4 * i + 1], t[4 * i + 3], _MM_SHUFFLE(3, 2, 3, 2));
    }
    for (int i = 0; i < 4; i++) {
        r[i] = _mm256_permute2f128_ps(u[i], u[4 + i], 0x20);
        r[4 + i] = _mm256_permute2f128_ps(u[i], u[4 + i], 0x31);
    }
}

/* Loads rows [0, nrows) x columns [0, ncols) of an 8x8 tile at X (row
 * stride ld; zeros elsewhere) and transposes it: r[j] is column j. */
TGT_AVX2 static inline void load_tr8(__m256 r[8], const float *X, size_t ld, int nrows, int ncols) {
    for (int i = 0; i < 8; i++) r[i] = i < nrows ? load8(X + (size_t)i * ld, ncols) : _mm256_setzero_ps();
    tr8(r);
}

#endif
