/* vec_avx512.c - AVX-512 versions of the element-wise ops (ops.c calls
 * them through vec_kernels() when the ISA is avx512; the portable loops stay
 * the reference, and vec_avx2.c / vec_neon.c have every one in 8 and 4
 * lanes). SwiGLU, AdamATan2 with its atan2, and the exp polynomials are
 * vec_simd.h's, written once for the three ISAs; this file defines its
 * vector macros and has the rest.
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

/* vec_simd.h's vectors: 16 floats, 8 doubles, 16-bit lane masks. */
#define VF __m512
#define VW 16
#define VM __mmask16
#define VFN TGT static inline
#define VF_SET1(s) _mm512_set1_ps(s)
#define VF_ZERO() _mm512_setzero_ps()
#define VF_ADD _mm512_add_ps
#define VF_SUB _mm512_sub_ps
#define VF_MUL _mm512_mul_ps
#define VF_DIV _mm512_div_ps
#define VF_MIN _mm512_min_ps
#define VF_MAX _mm512_max_ps
#define VF_SQRT _mm512_sqrt_ps
#define VF_ABS _mm512_abs_ps
#define VF_ROUND(a) _mm512_roundscale_ps(a, _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC)
#define VF_FMA _mm512_fmadd_ps
#define VF_FNMA _mm512_fnmadd_ps
#define VF_LOAD(p, n) _mm512_maskz_loadu_ps(tail(n), p)
#define VF_STORE(p, a, n) _mm512_mask_storeu_ps(p, tail(n), a)
#define VF_SCALE2N _mm512_scalef_ps
#define VF_OR_SIGN(a, b) _mm512_castsi512_ps(_mm512_or_si512(_mm512_castps_si512(a), \
    _mm512_and_si512(_mm512_castps_si512(b), _mm512_set1_epi32((int)0x80000000u))))
#define VM_EQ(a, b) _mm512_cmp_ps_mask(a, b, _CMP_EQ_OQ)
#define VM_GT(a, b) _mm512_cmp_ps_mask(a, b, _CMP_GT_OQ)
#define VM_UNORD(a, b) _mm512_cmp_ps_mask(a, b, _CMP_UNORD_Q)
#define VF_SEL(m, a, b) _mm512_mask_mov_ps(b, m, a)
#define VD __m512d
#define VD_SET1(s) _mm512_set1_pd(s)
#define VD_MUL _mm512_mul_pd
#define VD_FMA _mm512_fmadd_pd
#define VD_FNMA _mm512_fnmadd_pd
#define VD_ROUND(a) _mm512_roundscale_pd(a, _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC)
#define VD_SCALE2N _mm512_scalef_pd
#include "kernels/vec_simd.h"

TGT static inline __m512 exp16(__m512 x) {
    x = _mm512_min_ps(_mm512_max_ps(x, _mm512_set1_ps(-104.0f)), _mm512_set1_ps(89.0f));
    __m512d lo = vs_expd(_mm512_cvtps_pd(_mm512_castps512_ps256(x)));
    __m512d hi = vs_expd(_mm512_cvtps_pd(_mm256_castpd_ps(_mm512_extractf64x4_pd(_mm512_castps_pd(x), 1))));
    __m256 l = _mm512_cvtpd_ps(lo), h = _mm512_cvtpd_ps(hi);
    return _mm512_castpd_ps(_mm512_insertf64x4(_mm512_castps_pd(_mm512_castps256_ps512(l)), _mm256_castps_pd(h), 1));
}

TGT void v512_exp(float *y, const float *x, int n) {
    for (int i = 0; i < n; i += 16) {
        __mmask16 m = tail(n - i);
        _mm512_mask_storeu_ps(y + i, m, exp16(_mm512_maskz_loadu_ps(m, x + i)));
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

const trm_vec_kernels vec_kernels_avx512 = {
    v512_exp,         vs_swiglu_row,        vs_swiglu_bwd_row, v512_add_rmsnorm_row, v512_rmsnorm_bwd_row,
    v512_softmax_row, v512_softmax_bwd_row, vs_adam_atan2,     vs_atan2_nonneg_x,    v512_transpose,
};
#endif
