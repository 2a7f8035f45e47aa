/* vec_avx2.c - AVX2 + FMA versions of the element-wise ops: vec_avx512.c's
 * kernels in 8-lane vectors (semantics in vec_avx512.h), for CPUs without
 * AVX-512 (Zen 1-3, Haswell..Comet Lake) and TRM_CPU=avx2. Compiled with
 * function-level target attributes, so the binary runs on any x86-64 and
 * only vec_kernels() (kernels/cpu.h) decides to call them.
 *
 * SwiGLU, AdamATan2 with its atan2 and the exp polynomials are
 * vec_simd.h's (the code the AVX-512 and NEON paths run too), instantiated
 * here for 8 lanes. Every op gives the same bits as the AVX-512 one: the
 * element-wise arithmetic is the same sequence of IEEE operations (2^n by exponent
 * arithmetic where AVX-512 has vscalef, the result being exact or rounded
 * once either way), and the reductions (softmax sums, the norms' double
 * sums) keep AVX-512's 16 partial sums as two 8-lane vectors and combine
 * them in the order of GCC's _mm512_reduce_add_ps / _pd. tests/test_kernels.c
 * checks bit equality, which keeps the model's numbers independent of the
 * ISA it runs on.
 */
#include <math.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "kernels/cpu.h"

#if defined(__x86_64__) && defined(__GNUC__)
#include <immintrin.h>
#include "kernels/avx2_util.h"
#define TGT TGT_AVX2


/* 2^n for integral doubles n in [-1022, 1023], as exponent bits. */
TGT static inline __m256d pow2d(__m256d n) {
    const __m256d magic = _mm256_set1_pd(6755399441055744.0); /* 2^52 + 2^51: n in the low bits */
    __m256i ni = _mm256_sub_epi64(_mm256_castpd_si256(_mm256_add_pd(n, magic)), _mm256_castpd_si256(magic));
    return _mm256_castsi256_pd(_mm256_slli_epi64(_mm256_add_epi64(ni, _mm256_set1_epi64x(1023)), 52));
}

/* 2^k as float for integral k in [-126, 127]. */
TGT static inline __m256 pow2f(__m256i k) {
    return _mm256_castsi256_ps(_mm256_slli_epi32(_mm256_add_epi32(k, _mm256_set1_epi32(127)), 23));
}

/* AVX-512's vscalef p 2^n, n in [-150, 128], as p 2^(n/2) 2^(n - n/2):
 * the first product is exact, the second rounds once (to a subnormal, or
 * overflows), as vscalef does. */
TGT static inline __m256 scale2n(__m256 p, __m256 n) {
    __m256i ni = _mm256_cvtps_epi32(n), n1 = _mm256_srai_epi32(ni, 1);
    return _mm256_mul_ps(_mm256_mul_ps(p, pow2f(n1)), pow2f(_mm256_sub_epi32(ni, n1)));
}

/* vec_simd.h's vectors: 8 floats, 4 doubles, masks as all-ones lanes.
 * p 2^n in double is exact here, as vscalefpd's. */
#define VF __m256
#define VW 8
#define VM __m256
#define VFN TGT static inline
#define VF_SET1(s) _mm256_set1_ps(s)
#define VF_ZERO() _mm256_setzero_ps()
#define VF_ADD _mm256_add_ps
#define VF_SUB _mm256_sub_ps
#define VF_MUL _mm256_mul_ps
#define VF_DIV _mm256_div_ps
#define VF_MIN _mm256_min_ps
#define VF_MAX _mm256_max_ps
#define VF_SQRT _mm256_sqrt_ps
#define VF_ABS(a) _mm256_and_ps(a, _mm256_castsi256_ps(_mm256_set1_epi32(0x7fffffff)))
#define VF_ROUND(a) _mm256_round_ps(a, _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC)
#define VF_FMA _mm256_fmadd_ps
#define VF_FNMA _mm256_fnmadd_ps
#define VF_LOAD load8
#define VF_STORE store8
#define VF_SCALE2N scale2n
#define VF_OR_SIGN(a, b) _mm256_or_ps(a, _mm256_and_ps(b, _mm256_castsi256_ps(_mm256_set1_epi32((int)0x80000000u))))
#define VM_EQ(a, b) _mm256_cmp_ps(a, b, _CMP_EQ_OQ)
#define VM_GT(a, b) _mm256_cmp_ps(a, b, _CMP_GT_OQ)
#define VM_UNORD(a, b) _mm256_cmp_ps(a, b, _CMP_UNORD_Q)
#define VF_SEL(m, a, b) _mm256_blendv_ps(b, a, m)
#define VD __m256d
#define VD_SET1(s) _mm256_set1_pd(s)
#define VD_MUL _mm256_mul_pd
#define VD_FMA _mm256_fmadd_pd
#define VD_FNMA _mm256_fnmadd_pd
#define VD_ROUND(a) _mm256_round_pd(a, _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC)
#define VD_SCALE2N(p, n) _mm256_mul_pd(p, pow2d(n))
#include "kernels/vec_simd.h"

TGT static inline __m256 exp8(__m256 x) {
    x = _mm256_min_ps(_mm256_max_ps(x, _mm256_set1_ps(-104.0f)), _mm256_set1_ps(89.0f));
    __m256d lo = vs_expd(_mm256_cvtps_pd(_mm256_castps256_ps128(x)));
    __m256d hi = vs_expd(_mm256_cvtps_pd(_mm256_extractf128_ps(x, 1)));
    return _mm256_insertf128_ps(_mm256_castps128_ps256(_mm256_cvtpd_ps(lo)), _mm256_cvtpd_ps(hi), 1);
}

TGT static void v256_exp(float *y, const float *x, int n) {
    for (int i = 0; i < n; i += 8) store8(y + i, exp8(load8(x + i, n - i)), n - i);
}

/* ---- reductions in AVX-512's order: lane l of a 16-lane accumulator is
 * lane l % 8 of lo (l < 8) or hi; GCC's _mm512_reduce_add_ps adds the two
 * 256-bit halves, then the 128-bit halves, then pairs (2,3)+(0,1), then
 * lanes 0 + 1. */
TGT static inline float reduce16_ps(__m256 lo, __m256 hi) {
    __m256 t3 = _mm256_add_ps(hi, lo);
    __m128 t6 = _mm_add_ps(_mm256_extractf128_ps(t3, 1), _mm256_castps256_ps128(t3));
    __m128 t8 = _mm_add_ps(t6, _mm_shuffle_ps(t6, t6, _MM_SHUFFLE(1, 0, 3, 2)));
    return _mm_cvtss_f32(t8) + _mm_cvtss_f32(_mm_shuffle_ps(t8, t8, 1));
}

/* _mm512_reduce_add_pd(s0 + s1) with s0 = [a0 | b0] (AVX-512 lanes 0-7 of
 * each 16: a0 lanes 0-3, b0 4-7) and s1 = [a1 | b1] (lanes 8-15). */
TGT static inline double reduce_pd(__m256d a0, __m256d b0, __m256d a1, __m256d b1) {
    __m256d t3 = _mm256_add_pd(_mm256_add_pd(b0, b1), _mm256_add_pd(a0, a1));
    __m128d t6 = _mm_add_pd(_mm256_extractf128_pd(t3, 1), _mm256_castpd256_pd128(t3));
    return _mm_cvtsd_f64(t6) + _mm_cvtsd_f64(_mm_unpackhi_pd(t6, t6));
}

/* d[0..3] += lo half of v squared (or times w), d[4..7] the high half. */
TGT static inline void acc_pd(__m256d *a, __m256d *b, __m256 v, __m256 w) {
    *a = _mm256_fmadd_pd(_mm256_cvtps_pd(_mm256_castps256_ps128(v)), _mm256_cvtps_pd(_mm256_castps256_ps128(w)), *a);
    *b = _mm256_fmadd_pd(_mm256_cvtps_pd(_mm256_extractf128_ps(v, 1)), _mm256_cvtps_pd(_mm256_extractf128_ps(w, 1)), *b);
}

/* sum of (x + res)^2 (res may be NULL) in double; writes x + res to y. */
TGT static double sumsq(float *y, const float *x, const float *res, int C) {
    __m256d a0 = _mm256_setzero_pd(), b0 = a0, a1 = a0, b1 = a0;
    for (int c = 0; c < C; c += 16) {
        int k = C - c;   /* lanes of this 16-block: [0, 8) lo, [8, 16) hi */
        __m256 v0 = load8(x + c, k), v1 = load8(x + c + 8, k - 8);
        if (res) {
            v0 = _mm256_add_ps(v0, load8(res + c, k));
            v1 = _mm256_add_ps(v1, load8(res + c + 8, k - 8));
            store8(y + c, v0, k);
            store8(y + c + 8, v1, k - 8);
        }
        acc_pd(&a0, &b0, v0, v0);
        acc_pd(&a1, &b1, v1, v1);
    }
    return reduce_pd(a0, b0, a1, b1);
}

TGT static float v256_add_rmsnorm_row(float *y, const float *x, const float *res, int C, float eps) {
    double ss = sumsq(y, x, res, C);
    const float *src = res ? y : x;
    float r = (float)(1.0 / sqrt(ss / C + eps));
    __m256 rv = _mm256_set1_ps(r);
    for (int c = 0; c < C; c += 8) store8(y + c, _mm256_mul_ps(load8(src + c, C - c), rv), C - c);
    return r;
}

TGT static void v256_rmsnorm_bwd_row(float *dx, const float *dy, const float *y, float r, int C, bool add) {
    __m256d a0 = _mm256_setzero_pd(), b0 = a0, a1 = a0, b1 = a0;
    for (int c = 0; c < C; c += 16) {
        int k = C - c;   /* lanes of this 16-block: [0, 8) lo, [8, 16) hi */
        acc_pd(&a0, &b0, load8(dy + c, k), load8(y + c, k));
        acc_pd(&a1, &b1, load8(dy + c + 8, k - 8), load8(y + c + 8, k - 8));
    }
    float mean = (float)(reduce_pd(a0, b0, a1, b1) / C);
    __m256 rv = _mm256_set1_ps(r), mv = _mm256_set1_ps(mean);
    for (int c = 0; c < C; c += 8) {
        int k = C - c;
        __m256 a = load8(dy + c, k), b = load8(y + c, k);
        __m256 d0 = add ? load8(dx + c, k) : _mm256_setzero_ps();
        store8(dx + c, _mm256_fmadd_ps(rv, _mm256_fnmadd_ps(b, mv, a), d0), k);
    }
}

/* n valid floats from p, `fill` in the other lanes. */
TGT static inline __m256 load8_or(const float *p, int n, float fill) {
    __m256 v = load8(p, n);
    return n >= 8 ? v : _mm256_blendv_ps(_mm256_set1_ps(fill), v, _mm256_castsi256_ps(lanes8(n)));
}

TGT static void v256_softmax_row(float *row, int C) {
    __m256 mx = _mm256_set1_ps(-INFINITY);
    for (int c = 0; c < C; c += 8) mx = _mm256_max_ps(mx, load8_or(row + c, C - c, -INFINITY));
    __m128 m4 = _mm_max_ps(_mm256_extractf128_ps(mx, 1), _mm256_castps256_ps128(mx));
    m4 = _mm_max_ps(m4, _mm_shuffle_ps(m4, m4, _MM_SHUFFLE(1, 0, 3, 2)));
    m4 = _mm_max_ps(m4, _mm_shuffle_ps(m4, m4, 1));
    __m256 m = _mm256_set1_ps(_mm_cvtss_f32(m4)), lo = _mm256_setzero_ps(), hi = lo;
    for (int c = 0; c < C; c += 16) {
        int k = C - c;   /* lanes of this 16-block: [0, 8) lo, [8, 16) hi */
        __m256 e0 = _mm256_and_ps(exp8(_mm256_sub_ps(load8(row + c, k), m)), _mm256_castsi256_ps(lanes8(k)));
        __m256 e1 = _mm256_and_ps(exp8(_mm256_sub_ps(load8(row + c + 8, k - 8), m)), _mm256_castsi256_ps(lanes8(k - 8)));
        lo = _mm256_add_ps(lo, e0);
        hi = _mm256_add_ps(hi, e1);
        store8(row + c, e0, k);
        store8(row + c + 8, e1, k - 8);
    }
    __m256 inv = _mm256_set1_ps(1.0f / reduce16_ps(lo, hi));
    for (int c = 0; c < C; c += 8) store8(row + c, _mm256_mul_ps(load8(row + c, C - c), inv), C - c);
}

TGT static void v256_softmax_bwd_row(float *d, const float *p, int C, float scale) {
    __m256 lo = _mm256_setzero_ps(), hi = lo;
    for (int c = 0; c < C; c += 16) {
        int k = C - c;   /* lanes of this 16-block: [0, 8) lo, [8, 16) hi */
        lo = _mm256_fmadd_ps(load8(p + c, k), load8(d + c, k), lo);
        hi = _mm256_fmadd_ps(load8(p + c + 8, k - 8), load8(d + c + 8, k - 8), hi);
    }
    __m256 dot = _mm256_set1_ps(reduce16_ps(lo, hi)), sc = _mm256_set1_ps(scale);
    for (int c = 0; c < C; c += 8) {
        int k = C - c;
        __m256 v = _mm256_mul_ps(_mm256_mul_ps(sc, load8(p + c, k)), _mm256_sub_ps(load8(d + c, k), dot));
        store8(d + c, v, k);
    }
}

/* ---- transposes */

TGT static void v256_transpose(float *out, int ldo, const float *in, int ldi, int R, int C) {
    __m256 t[8];
    for (int r0 = 0; r0 < R; r0 += 8) {
        int nr = R - r0 < 8 ? R - r0 : 8;
        for (int c0 = 0; c0 < C; c0 += 8) {
            int nc = C - c0 < 8 ? C - c0 : 8;
            load_tr8(t, in + (size_t)r0 * ldi + c0, (size_t)ldi, nr, nc);
            for (int j = 0; j < nc; j++) store8(out + (size_t)(c0 + j) * ldo + r0, t[j], nr);
        }
    }
}

const trm_vec_kernels vec_kernels_avx2 = {
    v256_exp,         vs_swiglu_row,        vs_swiglu_bwd_row, v256_add_rmsnorm_row, v256_rmsnorm_bwd_row,
    v256_softmax_row, v256_softmax_bwd_row, vs_adam_atan2,     vs_atan2_nonneg_x,    v256_transpose,
};
#endif
