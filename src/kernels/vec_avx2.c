/* vec_avx2.c - AVX2 + FMA versions of the element-wise ops: vec_avx512.c's
 * kernels in 8-lane vectors (semantics in vec_avx512.h), for CPUs without
 * AVX-512 (Zen 1-3, Haswell..Comet Lake) and TRM_CPU=avx2. Compiled with
 * function-level target attributes, so the binary runs on any x86-64 and
 * only trm_vec() (kernels/cpu.h) decides to call them.
 *
 * Every op gives the same bits as the AVX-512 one: the element-wise
 * arithmetic is the same sequence of IEEE operations (2^n by exponent
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

/* vec_avx512.c's exp8d on 4 doubles: p * 2^n is exact here, as scalef's. */
TGT static inline __m256d exp4d(__m256d x) {
    __m256d n = _mm256_round_pd(_mm256_mul_pd(x, _mm256_set1_pd(1.4426950408889634)),
                                _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
    __m256d r = _mm256_fnmadd_pd(n, _mm256_set1_pd(0.6931471805599453), x);
    __m256d p = _mm256_set1_pd(1.0 / 362880);
    p = _mm256_fmadd_pd(p, r, _mm256_set1_pd(1.0 / 40320));
    p = _mm256_fmadd_pd(p, r, _mm256_set1_pd(1.0 / 5040));
    p = _mm256_fmadd_pd(p, r, _mm256_set1_pd(1.0 / 720));
    p = _mm256_fmadd_pd(p, r, _mm256_set1_pd(1.0 / 120));
    p = _mm256_fmadd_pd(p, r, _mm256_set1_pd(1.0 / 24));
    p = _mm256_fmadd_pd(p, r, _mm256_set1_pd(1.0 / 6));
    p = _mm256_fmadd_pd(p, r, _mm256_set1_pd(0.5));
    p = _mm256_fmadd_pd(p, r, _mm256_set1_pd(1.0));
    p = _mm256_fmadd_pd(p, r, _mm256_set1_pd(1.0));
    return _mm256_mul_pd(p, pow2d(n));
}

TGT static inline __m256 exp8(__m256 x) {
    x = _mm256_min_ps(_mm256_max_ps(x, _mm256_set1_ps(-104.0f)), _mm256_set1_ps(89.0f));
    __m256d lo = exp4d(_mm256_cvtps_pd(_mm256_castps256_ps128(x)));
    __m256d hi = exp4d(_mm256_cvtps_pd(_mm256_extractf128_ps(x, 1)));
    return _mm256_insertf128_ps(_mm256_castps128_ps256(_mm256_cvtpd_ps(lo)), _mm256_cvtpd_ps(hi), 1);
}

TGT static void v256_exp(float *y, const float *x, int n) {
    for (int i = 0; i < n; i += 8) store8(y + i, exp8(load8(x + i, n - i)), n - i);
}

/* 2^k as float for integral k in [-126, 127]. */
TGT static inline __m256 pow2f(__m256i k) {
    return _mm256_castsi256_ps(_mm256_slli_epi32(_mm256_add_epi32(k, _mm256_set1_epi32(127)), 23));
}

/* vec_avx512.c's exp16f. vscalef's p 2^n, n in [-150, 128], is p 2^(n/2)
 * 2^(n - n/2) here: the first product is exact, the second rounds once
 * (to a subnormal, or overflows), as vscalef does. */
TGT static inline __m256 exp8f(__m256 x) {
    x = _mm256_min_ps(_mm256_max_ps(x, _mm256_set1_ps(-104.0f)), _mm256_set1_ps(88.8f));
    __m256 n = _mm256_round_ps(_mm256_mul_ps(x, _mm256_set1_ps(1.44269504088896341f)),
                               _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
    __m256 r = _mm256_fnmadd_ps(n, _mm256_set1_ps(0.693359375f), x);
    r = _mm256_fnmadd_ps(n, _mm256_set1_ps(-2.12194440e-4f), r);
    __m256 p = _mm256_set1_ps(1.9875691500e-4f);
    p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(1.3981999507e-3f));
    p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(8.3334519073e-3f));
    p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(4.1665795894e-2f));
    p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(1.6666665459e-1f));
    p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(5.0000001201e-1f));
    p = _mm256_fmadd_ps(p, _mm256_mul_ps(r, r), _mm256_add_ps(r, _mm256_set1_ps(1.0f)));
    __m256i ni = _mm256_cvtps_epi32(n), n1 = _mm256_srai_epi32(ni, 1);
    return _mm256_mul_ps(_mm256_mul_ps(p, pow2f(n1)), pow2f(_mm256_sub_epi32(ni, n1)));
}

TGT static inline __m256 sigmoid8(__m256 g) {
    __m256 one = _mm256_set1_ps(1.0f);
    return _mm256_div_ps(one, _mm256_add_ps(one, exp8f(_mm256_sub_ps(_mm256_setzero_ps(), g))));
}

TGT static void v256_swiglu_row(float *m, const float *g, const float *u, int I) {
    for (int i = 0; i < I; i += 8) {
        __m256 gv = load8(g + i, I - i), uv = load8(u + i, I - i);
        store8(m + i, _mm256_mul_ps(_mm256_mul_ps(gv, sigmoid8(gv)), uv), I - i);
    }
}

TGT static void v256_swiglu_bwd_row(float *dg, float *du, const float *d, const float *g, const float *u,
                                    int I, bool add) {
    __m256 one = _mm256_set1_ps(1.0f);
    for (int i = 0; i < I; i += 8) {
        int k = I - i;
        __m256 gv = load8(g + i, k), uv = load8(u + i, k), dv = load8(d + i, k), s = sigmoid8(gv);
        __m256 silu = _mm256_mul_ps(gv, s);
        __m256 dsilu = _mm256_mul_ps(s, _mm256_fmadd_ps(gv, _mm256_sub_ps(one, s), one));
        __m256 a0 = add ? load8(dg + i, k) : _mm256_setzero_ps();
        __m256 b0 = add ? load8(du + i, k) : _mm256_setzero_ps();
        store8(dg + i, _mm256_fmadd_ps(_mm256_mul_ps(dv, uv), dsilu, a0), k);
        store8(du + i, _mm256_fmadd_ps(dv, silu, b0), k);
    }
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

/* vec_avx512.c's atan2_nonneg_x16 with blends for the masks. */
TGT static inline __m256 atan2_nonneg_x8(__m256 y, __m256 x) {
    __m256 a = _mm256_and_ps(y, _mm256_castsi256_ps(_mm256_set1_epi32(0x7fffffff)));
    __m256 num = _mm256_min_ps(a, x), den = _mm256_max_ps(a, x);
    __m256 t = _mm256_div_ps(num, den);
    __m256 zero = _mm256_cmp_ps(den, _mm256_setzero_ps(), _CMP_EQ_OQ);
    __m256 both_inf = _mm256_cmp_ps(num, _mm256_set1_ps(INFINITY), _CMP_EQ_OQ);
    __m256 nan = _mm256_cmp_ps(y, x, _CMP_UNORD_Q);
    t = _mm256_blendv_ps(t, _mm256_setzero_ps(), zero);
    t = _mm256_blendv_ps(t, _mm256_set1_ps(1.0f), both_inf);
    __m256 big = _mm256_cmp_ps(t, _mm256_set1_ps(0.4142135623730950f), _CMP_GT_OQ);
    __m256 tr = _mm256_div_ps(_mm256_sub_ps(t, _mm256_set1_ps(1.0f)), _mm256_add_ps(t, _mm256_set1_ps(1.0f)));
    t = _mm256_blendv_ps(t, tr, big);
    __m256 base = _mm256_and_ps(big, _mm256_set1_ps(0.78539816339744830962f));
    __m256 z = _mm256_mul_ps(t, t);
    __m256 q = _mm256_fmadd_ps(_mm256_set1_ps(8.05374449538e-2f), z, _mm256_set1_ps(-1.38776856032e-1f));
    q = _mm256_fmadd_ps(q, z, _mm256_set1_ps(1.99777106478e-1f));
    q = _mm256_fmadd_ps(q, z, _mm256_set1_ps(-3.33329491539e-1f));
    __m256 r = _mm256_add_ps(base, _mm256_fmadd_ps(_mm256_mul_ps(q, z), t, t));
    __m256 swap = _mm256_cmp_ps(a, x, _CMP_GT_OQ);
    r = _mm256_blendv_ps(r, _mm256_sub_ps(_mm256_set1_ps(1.57079632679489661923f), r), swap);
    r = _mm256_blendv_ps(r, _mm256_set1_ps(NAN), nan);   /* min/max drop NaNs */
    __m256 sign = _mm256_and_ps(y, _mm256_castsi256_ps(_mm256_set1_epi32((int)0x80000000u)));
    return _mm256_or_ps(r, sign);
}

TGT static void v256_atan2_nonneg_x(float *r, const float *y, const float *x, int n) {
    for (int i = 0; i < n; i += 8) store8(r + i, atan2_nonneg_x8(load8(y + i, n - i), load8(x + i, n - i)), n - i);
}

TGT static void v256_adam_atan2(float *p, float *m, float *v, const float *g, long n, float decay, float c1,
                                float c2, float step, float sqrt_bc2) {
    __m256 vdecay = _mm256_set1_ps(decay), vc1 = _mm256_set1_ps(c1), vc2 = _mm256_set1_ps(c2);
    __m256 vstep = _mm256_set1_ps(step), vbc = _mm256_set1_ps(sqrt_bc2);
    for (long i = 0; i < n; i += 8) {
        int k = n - i < 8 ? (int)(n - i) : 8;
        __m256 gi = load8(g + i, k), pi = load8(p + i, k), mi = load8(m + i, k), vi = load8(v + i, k);
        pi = _mm256_mul_ps(pi, vdecay);
        mi = _mm256_add_ps(mi, _mm256_mul_ps(vc1, _mm256_sub_ps(gi, mi)));
        vi = _mm256_add_ps(vi, _mm256_mul_ps(vc2, _mm256_sub_ps(_mm256_mul_ps(gi, gi), vi)));
        __m256 den = _mm256_div_ps(_mm256_sqrt_ps(vi), vbc);
        pi = _mm256_sub_ps(pi, _mm256_mul_ps(vstep, atan2_nonneg_x8(mi, den)));
        store8(p + i, pi, k);
        store8(m + i, mi, k);
        store8(v + i, vi, k);
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

const trm_vec_kernels trm_vec_avx2 = {
    v256_exp,         v256_swiglu_row,      v256_swiglu_bwd_row, v256_add_rmsnorm_row, v256_rmsnorm_bwd_row,
    v256_softmax_row, v256_softmax_bwd_row, v256_adam_atan2,     v256_atan2_nonneg_x,  v256_transpose,
};
#endif
