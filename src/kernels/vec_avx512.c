/* vec_avx512.c - AVX-512 versions of the element-wise ops (ops.c calls
 * them through trm_vec() when the ISA is avx512; the portable loops stay
 * the reference, and vec_avx2.c repeats every one in 8-lane vectors).
 *
 * gcc does not vectorise expf, so SwiGLU and softmax spent more time in
 * exp than the matrix products around them on small batches. exp here
 * runs in double (range reduction x = n ln2 + r, a degree-9 Taylor
 * polynomial, a 2^n scale by vscalefpd) and rounds to float: the same
 * float as expf but in the rarest cases (tests/test_kernels.c checks it),
 * so the parity bounds do not move.
 * Sums of squares / dot products of the norms accumulate in double, as the
 * portable code does.
 */
#include <math.h>
#include <stdbool.h>
#include <stddef.h>

#include "kernels/cpu.h"
#include "kernels/vec_avx512.h"

#if defined(__x86_64__) && defined(__GNUC__)
#include <immintrin.h>
#include "kernels/avx512_tr16.h"
#define TGT __attribute__((target("avx512f")))

static inline __mmask16 tail(int n) { return n >= 16 ? (__mmask16)0xffff : (__mmask16)((1u << n) - 1u); }

/* e^x for 8 doubles, |x| <= 104: x = n ln2 + r, |r| <= ln2/2, degree-9
 * Taylor polynomial for e^r (truncation < 1e-11 relative), 2^n by scalef.
 * Rounded to float this is expf to within the last bit in all but rare
 * ties, so swapping it for libm's expf does not move the results. */
TGT static inline __m512d exp8d(__m512d x) {
    __m512d n = _mm512_roundscale_pd(_mm512_mul_pd(x, _mm512_set1_pd(1.4426950408889634)),
                                     _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
    __m512d r = _mm512_fnmadd_pd(n, _mm512_set1_pd(0.6931471805599453), x);
    __m512d p = _mm512_set1_pd(1.0 / 362880);
    p = _mm512_fmadd_pd(p, r, _mm512_set1_pd(1.0 / 40320));
    p = _mm512_fmadd_pd(p, r, _mm512_set1_pd(1.0 / 5040));
    p = _mm512_fmadd_pd(p, r, _mm512_set1_pd(1.0 / 720));
    p = _mm512_fmadd_pd(p, r, _mm512_set1_pd(1.0 / 120));
    p = _mm512_fmadd_pd(p, r, _mm512_set1_pd(1.0 / 24));
    p = _mm512_fmadd_pd(p, r, _mm512_set1_pd(1.0 / 6));
    p = _mm512_fmadd_pd(p, r, _mm512_set1_pd(0.5));
    p = _mm512_fmadd_pd(p, r, _mm512_set1_pd(1.0));
    p = _mm512_fmadd_pd(p, r, _mm512_set1_pd(1.0));
    return _mm512_scalef_pd(p, n);
}

TGT static inline __m512 exp16(__m512 x) {
    x = _mm512_min_ps(_mm512_max_ps(x, _mm512_set1_ps(-104.0f)), _mm512_set1_ps(89.0f));
    __m512d lo = exp8d(_mm512_cvtps_pd(_mm512_castps512_ps256(x)));
    __m512d hi = exp8d(_mm512_cvtps_pd(_mm256_castpd_ps(_mm512_extractf64x4_pd(_mm512_castps_pd(x), 1))));
    __m256 l = _mm512_cvtpd_ps(lo), h = _mm512_cvtpd_ps(hi);
    return _mm512_castpd_ps(_mm512_insertf64x4(_mm512_castps_pd(_mm512_castps256_ps512(l)), _mm256_castps_pd(h), 1));
}

TGT void v512_exp(float *y, const float *x, int n) {
    for (int i = 0; i < n; i += 16) {
        __mmask16 m = tail(n - i);
        _mm512_mask_storeu_ps(y + i, m, exp16(_mm512_maskz_loadu_ps(m, x + i)));
    }
}

/* e^x in float: the same reduction with ln2 split in two (exact n ln2)
 * and Cephes' degree-6 expf polynomial (public-domain coefficients), about
 * 1 ulp. Half the cost of exp16; used where the result feeds a product
 * (SwiGLU's sigmoid), not a normalisation. */
TGT static inline __m512 exp16f(__m512 x) {
    x = _mm512_min_ps(_mm512_max_ps(x, _mm512_set1_ps(-104.0f)), _mm512_set1_ps(88.8f));
    __m512 n = _mm512_roundscale_ps(_mm512_mul_ps(x, _mm512_set1_ps(1.44269504088896341f)),
                                    _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
    __m512 r = _mm512_fnmadd_ps(n, _mm512_set1_ps(0.693359375f), x);
    r = _mm512_fnmadd_ps(n, _mm512_set1_ps(-2.12194440e-4f), r);
    __m512 p = _mm512_set1_ps(1.9875691500e-4f);
    p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(1.3981999507e-3f));
    p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(8.3334519073e-3f));
    p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(4.1665795894e-2f));
    p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(1.6666665459e-1f));
    p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(5.0000001201e-1f));
    p = _mm512_fmadd_ps(p, _mm512_mul_ps(r, r), _mm512_add_ps(r, _mm512_set1_ps(1.0f)));
    return _mm512_scalef_ps(p, n);
}

TGT static inline __m512 sigmoid16(__m512 g) {
    __m512 one = _mm512_set1_ps(1.0f);
    return _mm512_div_ps(one, _mm512_add_ps(one, exp16f(_mm512_sub_ps(_mm512_setzero_ps(), g))));
}

/* m = silu(g) * u over one row of I. */
TGT void v512_swiglu_row(float *m, const float *g, const float *u, int I) {
    for (int i = 0; i < I; i += 16) {
        __mmask16 k = tail(I - i);
        __m512 gv = _mm512_maskz_loadu_ps(k, g + i), uv = _mm512_maskz_loadu_ps(k, u + i);
        _mm512_mask_storeu_ps(m + i, k, _mm512_mul_ps(_mm512_mul_ps(gv, sigmoid16(gv)), uv));
    }
}

/* dg += d u s (1 + g (1 - s)); du += d silu(g). */
TGT void v512_swiglu_bwd_row(float *dg, float *du, const float *d, const float *g, const float *u, int I,
                             bool add) {
    __m512 one = _mm512_set1_ps(1.0f);
    for (int i = 0; i < I; i += 16) {
        __mmask16 k = tail(I - i);
        __m512 gv = _mm512_maskz_loadu_ps(k, g + i), uv = _mm512_maskz_loadu_ps(k, u + i);
        __m512 dv = _mm512_maskz_loadu_ps(k, d + i), s = sigmoid16(gv);
        __m512 silu = _mm512_mul_ps(gv, s);
        __m512 dsilu = _mm512_mul_ps(s, _mm512_fmadd_ps(gv, _mm512_sub_ps(one, s), one));
        __m512 a0 = add ? _mm512_maskz_loadu_ps(k, dg + i) : _mm512_setzero_ps();
        __m512 b0 = add ? _mm512_maskz_loadu_ps(k, du + i) : _mm512_setzero_ps();
        __m512 a = _mm512_fmadd_ps(_mm512_mul_ps(dv, uv), dsilu, a0);
        __m512 b = _mm512_fmadd_ps(dv, silu, b0);
        _mm512_mask_storeu_ps(dg + i, k, a);
        _mm512_mask_storeu_ps(du + i, k, b);
    }
}

/* sum of v^2 (res NULL) or of (x + res)^2, in double; writes x + res to y. */
TGT static double sumsq(float *y, const float *x, const float *res, int C) {
    __m512d s0 = _mm512_setzero_pd(), s1 = _mm512_setzero_pd();
    for (int c = 0; c < C; c += 16) {
        __mmask16 k = tail(C - c);
        __m512 v = _mm512_maskz_loadu_ps(k, x + c);
        if (res) {
            v = _mm512_add_ps(v, _mm512_maskz_loadu_ps(k, res + c));
            _mm512_mask_storeu_ps(y + c, k, v);
        }
        __m512d lo = _mm512_cvtps_pd(_mm512_castps512_ps256(v));
        __m512d hi = _mm512_cvtps_pd(_mm256_castpd_ps(_mm512_extractf64x4_pd(_mm512_castps_pd(v), 1)));
        s0 = _mm512_fmadd_pd(lo, lo, s0);
        s1 = _mm512_fmadd_pd(hi, hi, s1);
    }
    return _mm512_reduce_add_pd(_mm512_add_pd(s0, s1));
}

/* y = (x + res) / rms(x + res) over one row; returns the inverse rms.
 * y may alias x or res. */
TGT float v512_add_rmsnorm_row(float *y, const float *x, const float *res, int C, float eps) {
    double ss = sumsq(y, x, res, C);
    const float *src = res ? y : x;
    float r = (float)(1.0 / sqrt(ss / C + eps));
    __m512 rv = _mm512_set1_ps(r);
    for (int c = 0; c < C; c += 16) {
        __mmask16 k = tail(C - c);
        _mm512_mask_storeu_ps(y + c, k, _mm512_mul_ps(_mm512_maskz_loadu_ps(k, src + c), rv));
    }
    return r;
}

/* dx += r (dy - y mean(dy y)) over one row. */
TGT void v512_rmsnorm_bwd_row(float *dx, const float *dy, const float *y, float r, int C, bool add) {
    __m512d s0 = _mm512_setzero_pd(), s1 = _mm512_setzero_pd();
    for (int c = 0; c < C; c += 16) {
        __mmask16 k = tail(C - c);
        __m512 a = _mm512_maskz_loadu_ps(k, dy + c), b = _mm512_maskz_loadu_ps(k, y + c);
        __m512d alo = _mm512_cvtps_pd(_mm512_castps512_ps256(a));
        __m512d ahi = _mm512_cvtps_pd(_mm256_castpd_ps(_mm512_extractf64x4_pd(_mm512_castps_pd(a), 1)));
        __m512d blo = _mm512_cvtps_pd(_mm512_castps512_ps256(b));
        __m512d bhi = _mm512_cvtps_pd(_mm256_castpd_ps(_mm512_extractf64x4_pd(_mm512_castps_pd(b), 1)));
        s0 = _mm512_fmadd_pd(alo, blo, s0);
        s1 = _mm512_fmadd_pd(ahi, bhi, s1);
    }
    float mean = (float)(_mm512_reduce_add_pd(_mm512_add_pd(s0, s1)) / C);
    __m512 rv = _mm512_set1_ps(r), mv = _mm512_set1_ps(mean);
    for (int c = 0; c < C; c += 16) {
        __mmask16 k = tail(C - c);
        __m512 a = _mm512_maskz_loadu_ps(k, dy + c), b = _mm512_maskz_loadu_ps(k, y + c);
        __m512 d0 = add ? _mm512_maskz_loadu_ps(k, dx + c) : _mm512_setzero_ps();
        __m512 d = _mm512_fmadd_ps(rv, _mm512_fnmadd_ps(b, mv, a), d0);
        _mm512_mask_storeu_ps(dx + c, k, d);
    }
}

/* Row softmax in place (max-subtracted, fp32 sum as the portable code). */
TGT void v512_softmax_row(float *row, int C) {
    __m512 mx = _mm512_set1_ps(-INFINITY);
    for (int c = 0; c < C; c += 16)
        mx = _mm512_max_ps(mx, _mm512_mask_loadu_ps(_mm512_set1_ps(-INFINITY), tail(C - c), row + c));
    __m512 m = _mm512_set1_ps(_mm512_reduce_max_ps(mx)), sum = _mm512_setzero_ps();
    for (int c = 0; c < C; c += 16) {
        __mmask16 k = tail(C - c);
        __m512 e = exp16(_mm512_sub_ps(_mm512_maskz_loadu_ps(k, row + c), m));
        e = _mm512_maskz_mov_ps(k, e);
        sum = _mm512_add_ps(sum, e);
        _mm512_mask_storeu_ps(row + c, k, e);
    }
    __m512 inv = _mm512_set1_ps(1.0f / _mm512_reduce_add_ps(sum));
    for (int c = 0; c < C; c += 16) {
        __mmask16 k = tail(C - c);
        _mm512_mask_storeu_ps(row + c, k, _mm512_mul_ps(_mm512_maskz_loadu_ps(k, row + c), inv));
    }
}

/* d = scale p (d - dot(p, d)) over one row (attention's softmax backward). */
TGT void v512_softmax_bwd_row(float *d, const float *p, int C, float scale) {
    __m512 acc = _mm512_setzero_ps();
    for (int c = 0; c < C; c += 16) {
        __mmask16 k = tail(C - c);
        acc = _mm512_fmadd_ps(_mm512_maskz_loadu_ps(k, p + c), _mm512_maskz_loadu_ps(k, d + c), acc);
    }
    __m512 dot = _mm512_set1_ps(_mm512_reduce_add_ps(acc)), sc = _mm512_set1_ps(scale);
    for (int c = 0; c < C; c += 16) {
        __mmask16 k = tail(C - c);
        __m512 pv = _mm512_maskz_loadu_ps(k, p + c);
        __m512 v = _mm512_mul_ps(_mm512_mul_ps(sc, pv), _mm512_sub_ps(_mm512_maskz_loadu_ps(k, d + c), dot));
        _mm512_mask_storeu_ps(d + c, k, v);
    }
}

/* atan2(y, x) for x >= 0: with a = |y|, t = min(a, x) / max(a, x) in
 * [0, 1], atan(t) by Cephes' reduction (t > tan(pi/8): pi/4 + atan((t-1) /
 * (t+1))) and its degree-4 odd polynomial in t^2 (~1-2 ulp); pi/2 - atan(t)
 * when a > x; the sign of y. atan2(0, 0) = 0 and atan2(inf, inf) = pi/4, as
 * libm; NaN in, NaN out. */
TGT static inline __m512 atan2_nonneg_x16(__m512 y, __m512 x) {
    __m512i yi = _mm512_castps_si512(y);
    __m512 a = _mm512_castsi512_ps(_mm512_and_si512(yi, _mm512_set1_epi32(0x7fffffff)));
    __m512 num = _mm512_min_ps(a, x), den = _mm512_max_ps(a, x);
    __m512 t = _mm512_div_ps(num, den);
    __mmask16 zero = _mm512_cmp_ps_mask(den, _mm512_setzero_ps(), _CMP_EQ_OQ);
    __mmask16 both_inf = _mm512_cmp_ps_mask(num, _mm512_set1_ps(INFINITY), _CMP_EQ_OQ);
    __mmask16 nan = _mm512_cmp_ps_mask(y, x, _CMP_UNORD_Q);
    t = _mm512_mask_mov_ps(t, zero, _mm512_setzero_ps());
    t = _mm512_mask_mov_ps(t, both_inf, _mm512_set1_ps(1.0f));
    __mmask16 big = _mm512_cmp_ps_mask(t, _mm512_set1_ps(0.4142135623730950f), _CMP_GT_OQ);
    __m512 tr = _mm512_div_ps(_mm512_sub_ps(t, _mm512_set1_ps(1.0f)), _mm512_add_ps(t, _mm512_set1_ps(1.0f)));
    t = _mm512_mask_mov_ps(t, big, tr);
    __m512 base = _mm512_mask_mov_ps(_mm512_setzero_ps(), big, _mm512_set1_ps(0.78539816339744830962f));
    __m512 z = _mm512_mul_ps(t, t);
    __m512 q = _mm512_fmadd_ps(_mm512_set1_ps(8.05374449538e-2f), z, _mm512_set1_ps(-1.38776856032e-1f));
    q = _mm512_fmadd_ps(q, z, _mm512_set1_ps(1.99777106478e-1f));
    q = _mm512_fmadd_ps(q, z, _mm512_set1_ps(-3.33329491539e-1f));
    __m512 r = _mm512_add_ps(base, _mm512_fmadd_ps(_mm512_mul_ps(q, z), t, t));
    __mmask16 swap = _mm512_cmp_ps_mask(a, x, _CMP_GT_OQ);
    r = _mm512_mask_sub_ps(r, swap, _mm512_set1_ps(1.57079632679489661923f), r);
    r = _mm512_mask_mov_ps(r, nan, _mm512_set1_ps(NAN));   /* min/max drop NaNs */
    __m512i sign = _mm512_and_si512(yi, _mm512_set1_epi32((int)0x80000000u));
    return _mm512_castsi512_ps(_mm512_or_si512(_mm512_castps_si512(r), sign));
}

TGT void v512_atan2_nonneg_x(float *r, const float *y, const float *x, int n) {
    for (int i = 0; i < n; i += 16) {
        __mmask16 k = tail(n - i);
        _mm512_mask_storeu_ps(r + i, k, atan2_nonneg_x16(_mm512_maskz_loadu_ps(k, y + i), _mm512_maskz_loadu_ps(k, x + i)));
    }
}

TGT void v512_adam_atan2(float *p, float *m, float *v, const float *g, long n, float decay, float c1,
                         float c2, float step, float sqrt_bc2) {
    __m512 vdecay = _mm512_set1_ps(decay), vc1 = _mm512_set1_ps(c1), vc2 = _mm512_set1_ps(c2);
    __m512 vstep = _mm512_set1_ps(step), vbc = _mm512_set1_ps(sqrt_bc2);
    for (long i = 0; i < n; i += 16) {
        __mmask16 k = tail((int)(n - i < 16 ? n - i : 16));
        __m512 gi = _mm512_maskz_loadu_ps(k, g + i), pi = _mm512_maskz_loadu_ps(k, p + i);
        __m512 mi = _mm512_maskz_loadu_ps(k, m + i), vi = _mm512_maskz_loadu_ps(k, v + i);
        pi = _mm512_mul_ps(pi, vdecay);
        mi = _mm512_add_ps(mi, _mm512_mul_ps(vc1, _mm512_sub_ps(gi, mi)));
        vi = _mm512_add_ps(vi, _mm512_mul_ps(vc2, _mm512_sub_ps(_mm512_mul_ps(gi, gi), vi)));
        __m512 den = _mm512_div_ps(_mm512_sqrt_ps(vi), vbc);
        pi = _mm512_sub_ps(pi, _mm512_mul_ps(vstep, atan2_nonneg_x16(mi, den)));
        _mm512_mask_storeu_ps(p + i, k, pi);
        _mm512_mask_storeu_ps(m + i, k, mi);
        _mm512_mask_storeu_ps(v + i, k, vi);
    }
}

/* out[c * ldo + r] = in[r * ldi + c] for r < R, c < C, in 16x16 tiles. */
TGT void v512_transpose(float *out, int ldo, const float *in, int ldi, int R, int C) {
    __m512 t[16];
    for (int r0 = 0; r0 < R; r0 += 16) {
        int nr = R - r0 < 16 ? R - r0 : 16;
        for (int c0 = 0; c0 < C; c0 += 16) {
            int nc = C - c0 < 16 ? C - c0 : 16;
            __mmask16 m = tail(nc);
            for (int i = 0; i < 16; i++)
                t[i] = i < nr ? _mm512_maskz_loadu_ps(m, in + (size_t)(r0 + i) * ldi + c0) : _mm512_setzero_ps();
            avx512_tr16(t);
            __mmask16 mo = tail(nr);
            for (int j = 0; j < nc; j++) _mm512_mask_storeu_ps(out + (size_t)(c0 + j) * ldo + r0, mo, t[j]);
        }
    }
}

const trm_vec_kernels trm_vec_avx512 = {
    v512_exp,        v512_swiglu_row,    v512_swiglu_bwd_row, v512_add_rmsnorm_row,   v512_rmsnorm_bwd_row,
    v512_softmax_row, v512_softmax_bwd_row, v512_adam_atan2,  v512_atan2_nonneg_x, v512_transpose,
};
#endif
