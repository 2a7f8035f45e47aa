/* vec_neon.c - ARM64 (AdvSIMD) versions of the element-wise ops, the
 * counterparts of vec_avx512.c / vec_avx2.c: the NEON table of trm_vec()
 * (kernels/cpu.h; semantics in vec_avx512.h). The portable loops of ops.c
 * stay the reference. Every entry has a NEON version (AdamATan2 with its
 * atan2, and the transposes since the issue 14 leftovers).
 *
 * The arithmetic is vec_avx512.c's, step for step, 4 lanes at a time:
 * exp in double (n ln2 + r reduction, degree-9 Taylor polynomial, 2^n
 * from the exponent bits) rounded to float, the same float as expf but in
 * rare cases; the cheaper float exp (Cephes' polynomial) in SwiGLU's
 * sigmoid; sums of squares of the norms in double. NEON has no masked
 * loads, so the last partial vector of a row goes through a padded
 * 4-float copy (ld / st below) and every loop keeps one code path.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "kernels/cpu.h"

#if defined(__aarch64__) && defined(__ARM_NEON)
#include <arm_neon.h>

/* The n (< 4: a row's tail) or 4 floats at p; missing lanes are `pad`. */
static inline float32x4_t ld(const float *p, int n, float pad) {
    if (n >= 4) return vld1q_f32(p);
    float t[4] = {pad, pad, pad, pad};
    memcpy(t, p, sizeof(float) * (size_t)n);
    return vld1q_f32(t);
}

static inline void st(float *p, float32x4_t v, int n) {
    if (n >= 4) { vst1q_f32(p, v); return; }
    float t[4];
    vst1q_f32(t, v);
    memcpy(p, t, sizeof(float) * (size_t)n);
}

/* v with the lanes from n on zeroed. */
static inline float32x4_t first(float32x4_t v, int n) {
    static const uint32_t idx[4] = {0, 1, 2, 3};
    uint32x4_t keep = vcltq_u32(vld1q_u32(idx), vdupq_n_u32((uint32_t)n));
    return vbslq_f32(keep, v, vdupq_n_f32(0.0f));
}

/* e^x for 2 doubles, |x| <= 104 (vec_avx512.c's exp8d). */
static inline float64x2_t exp2d(float64x2_t x) {
    float64x2_t n = vrndnq_f64(vmulq_n_f64(x, 1.4426950408889634));
    float64x2_t r = vfmsq_f64(x, n, vdupq_n_f64(0.6931471805599453));
    static const double c[9] = {1.0 / 40320, 1.0 / 5040, 1.0 / 720, 1.0 / 120, 1.0 / 24,
                                1.0 / 6,     0.5,        1.0,       1.0};
    float64x2_t p = vdupq_n_f64(1.0 / 362880);
    for (int i = 0; i < 9; i++) p = vfmaq_f64(vdupq_n_f64(c[i]), p, r);
    /* 2^n, n in [-151, 129]: a normal double, so one exact product */
    int64x2_t e = vshlq_n_s64(vaddq_s64(vcvtq_s64_f64(n), vdupq_n_s64(1023)), 52);
    return vmulq_f64(p, vreinterpretq_f64_s64(e));
}

static inline float32x4_t exp4(float32x4_t x) {
    x = vminq_f32(vmaxq_f32(x, vdupq_n_f32(-104.0f)), vdupq_n_f32(89.0f));
    float64x2_t lo = exp2d(vcvt_f64_f32(vget_low_f32(x))), hi = exp2d(vcvt_high_f64_f32(x));
    return vcvt_high_f32_f64(vcvt_f32_f64(lo), hi);
}

static void vneon_exp(float *y, const float *x, int n) {
    for (int i = 0; i < n; i += 4) st(y + i, exp4(ld(x + i, n - i, 0.0f)), n - i);
}

/* 2^n (n integral, in [-150, 128]) times p, in two factors so that each
 * stays a normal float (one factor would leave the exponent range). */
static inline float32x4_t scale2n(float32x4_t p, float32x4_t n) {
    int32x4_t ni = vcvtq_s32_f32(n), n1 = vshrq_n_s32(ni, 1), n2 = vsubq_s32(ni, n1);
    int32x4_t bias = vdupq_n_s32(127);
    float32x4_t s1 = vreinterpretq_f32_s32(vshlq_n_s32(vaddq_s32(n1, bias), 23));
    float32x4_t s2 = vreinterpretq_f32_s32(vshlq_n_s32(vaddq_s32(n2, bias), 23));
    return vmulq_f32(vmulq_f32(p, s1), s2);
}

/* e^x in float, about 1 ulp (vec_avx512.c's exp16f). */
static inline float32x4_t exp4f(float32x4_t x) {
    x = vminq_f32(vmaxq_f32(x, vdupq_n_f32(-104.0f)), vdupq_n_f32(88.8f));
    float32x4_t n = vrndnq_f32(vmulq_n_f32(x, 1.44269504088896341f));
    float32x4_t r = vfmsq_f32(x, n, vdupq_n_f32(0.693359375f));
    r = vfmsq_f32(r, n, vdupq_n_f32(-2.12194440e-4f));
    static const float c[5] = {1.3981999507e-3f, 8.3334519073e-3f, 4.1665795894e-2f,
                               1.6666665459e-1f, 5.0000001201e-1f};
    float32x4_t p = vdupq_n_f32(1.9875691500e-4f);
    for (int i = 0; i < 5; i++) p = vfmaq_f32(vdupq_n_f32(c[i]), p, r);
    p = vfmaq_f32(vaddq_f32(r, vdupq_n_f32(1.0f)), p, vmulq_f32(r, r));
    return scale2n(p, n);
}

static inline float32x4_t sigmoid4(float32x4_t g) {
    float32x4_t one = vdupq_n_f32(1.0f);
    return vdivq_f32(one, vaddq_f32(one, exp4f(vnegq_f32(g))));
}

static void vneon_swiglu_row(float *m, const float *g, const float *u, int I) {
    for (int i = 0; i < I; i += 4) {
        int k = I - i;
        float32x4_t gv = ld(g + i, k, 0.0f), uv = ld(u + i, k, 0.0f);
        st(m + i, vmulq_f32(vmulq_f32(gv, sigmoid4(gv)), uv), k);
    }
}

/* dg (+)= d u s (1 + g (1 - s)); du (+)= d silu(g). */
static void vneon_swiglu_bwd_row(float *dg, float *du, const float *d, const float *g, const float *u,
                          int I, bool add) {
    float32x4_t one = vdupq_n_f32(1.0f), zero = vdupq_n_f32(0.0f);
    for (int i = 0; i < I; i += 4) {
        int k = I - i;
        float32x4_t gv = ld(g + i, k, 0.0f), uv = ld(u + i, k, 0.0f), dv = ld(d + i, k, 0.0f);
        float32x4_t s = sigmoid4(gv), silu = vmulq_f32(gv, s);
        float32x4_t dsilu = vmulq_f32(s, vfmaq_f32(one, gv, vsubq_f32(one, s)));
        float32x4_t a0 = add ? ld(dg + i, k, 0.0f) : zero, b0 = add ? ld(du + i, k, 0.0f) : zero;
        st(dg + i, vfmaq_f32(a0, vmulq_f32(dv, uv), dsilu), k);
        st(du + i, vfmaq_f32(b0, dv, silu), k);
    }
}

/* sum of a b over one row in double (two accumulators of 2 lanes). */
static double dot_d(const float *a, const float *b, int C) {
    float64x2_t s0 = vdupq_n_f64(0.0), s1 = s0;
    for (int c = 0; c < C; c += 4) {
        float32x4_t x = ld(a + c, C - c, 0.0f), y = ld(b + c, C - c, 0.0f);
        s0 = vfmaq_f64(s0, vcvt_f64_f32(vget_low_f32(x)), vcvt_f64_f32(vget_low_f32(y)));
        s1 = vfmaq_f64(s1, vcvt_high_f64_f32(x), vcvt_high_f64_f32(y));
    }
    return vaddvq_f64(vaddq_f64(s0, s1));
}

/* y = (x + res) / rms(x + res) over one row; returns the inverse rms.
 * y may alias x or res. */
static float vneon_add_rmsnorm_row(float *y, const float *x, const float *res, int C, float eps) {
    if (res) {
        for (int c = 0; c < C; c += 4)
            st(y + c, vaddq_f32(ld(x + c, C - c, 0.0f), ld(res + c, C - c, 0.0f)), C - c);
        x = y;
    }
    float r = (float)(1.0 / sqrt(dot_d(x, x, C) / C + eps));
    for (int c = 0; c < C; c += 4) st(y + c, vmulq_n_f32(ld(x + c, C - c, 0.0f), r), C - c);
    return r;
}

/* dx (+)= r (dy - y mean(dy y)) over one row. */
static void vneon_rmsnorm_bwd_row(float *dx, const float *dy, const float *y, float r, int C, bool add) {
    float mean = (float)(dot_d(dy, y, C) / C);
    float32x4_t rv = vdupq_n_f32(r), mv = vdupq_n_f32(mean), zero = vdupq_n_f32(0.0f);
    for (int c = 0; c < C; c += 4) {
        int k = C - c;
        float32x4_t a = ld(dy + c, k, 0.0f), b = ld(y + c, k, 0.0f);
        float32x4_t d0 = add ? ld(dx + c, k, 0.0f) : zero;
        st(dx + c, vfmaq_f32(d0, rv, vfmsq_f32(a, b, mv)), k);
    }
}

/* Row softmax in place (max subtracted, fp32 sum). */
static void vneon_softmax_row(float *row, int C) {
    float32x4_t mx = vdupq_n_f32(-INFINITY), sum = vdupq_n_f32(0.0f);
    for (int c = 0; c < C; c += 4) mx = vmaxq_f32(mx, ld(row + c, C - c, -INFINITY));
    float32x4_t m = vdupq_n_f32(vmaxvq_f32(mx));
    for (int c = 0; c < C; c += 4) {
        int k = C - c;
        float32x4_t e = exp4(vsubq_f32(ld(row + c, k, -INFINITY), m)); /* pad lanes: e^-inf = 0 */
        if (k < 4) e = first(e, k);                                     /* exp4 clamps: zero them */
        sum = vaddq_f32(sum, e);
        st(row + c, e, k);
    }
    float32x4_t inv = vdupq_n_f32(1.0f / vaddvq_f32(sum));
    for (int c = 0; c < C; c += 4) st(row + c, vmulq_f32(ld(row + c, C - c, 0.0f), inv), C - c);
}

/* d = scale p (d - dot(p, d)) over one row (attention's softmax backward). */
static void vneon_softmax_bwd_row(float *d, const float *p, int C, float scale) {
    float32x4_t acc = vdupq_n_f32(0.0f);
    for (int c = 0; c < C; c += 4) acc = vfmaq_f32(acc, ld(p + c, C - c, 0.0f), ld(d + c, C - c, 0.0f));
    float32x4_t dot = vdupq_n_f32(vaddvq_f32(acc));
    for (int c = 0; c < C; c += 4) {
        int k = C - c;
        float32x4_t pv = ld(p + c, k, 0.0f);
        st(d + c, vmulq_f32(vmulq_n_f32(pv, scale), vsubq_f32(ld(d + c, k, 0.0f), dot)), k);
    }
}
/* atan2(y, x) for x >= 0 (vec_avx512.c's atan2_nonneg_x16, the same IEEE
 * operations in the same order, so the same bits as the x86 paths): with
 * a = |y|, t = min(a, x) / max(a, x), Cephes' reduction (t > tan(pi/8):
 * pi/4 + atan((t-1)/(t+1))) and degree-4 odd polynomial, pi/2 - atan(t)
 * when a > x, the sign of y; atan2(0, 0) = 0, atan2(inf, inf) = pi/4, NaN
 * in, NaN out (NEON's min/max keep NaNs, the blend below settles it as on
 * x86). About 2 ulp (tests/test_neon.c: against double atan2). */
static inline float32x4_t atan2_nonneg_x4(float32x4_t y, float32x4_t x) {
    float32x4_t zero = vdupq_n_f32(0.0f), one = vdupq_n_f32(1.0f);
    float32x4_t a = vabsq_f32(y);
    float32x4_t num = vminq_f32(a, x), den = vmaxq_f32(a, x);
    float32x4_t t = vdivq_f32(num, den);
    t = vbslq_f32(vceqq_f32(den, zero), zero, t);
    t = vbslq_f32(vceqq_f32(num, vdupq_n_f32(INFINITY)), one, t);
    uint32x4_t big = vcgtq_f32(t, vdupq_n_f32(0.4142135623730950f));
    t = vbslq_f32(big, vdivq_f32(vsubq_f32(t, one), vaddq_f32(t, one)), t);
    float32x4_t base = vbslq_f32(big, vdupq_n_f32(0.78539816339744830962f), zero);
    float32x4_t z = vmulq_f32(t, t);
    float32x4_t q = vfmaq_f32(vdupq_n_f32(-1.38776856032e-1f), vdupq_n_f32(8.05374449538e-2f), z);
    q = vfmaq_f32(vdupq_n_f32(1.99777106478e-1f), q, z);
    q = vfmaq_f32(vdupq_n_f32(-3.33329491539e-1f), q, z);
    float32x4_t r = vaddq_f32(base, vfmaq_f32(t, vmulq_f32(q, z), t));
    r = vbslq_f32(vcgtq_f32(a, x), vsubq_f32(vdupq_n_f32(1.57079632679489661923f), r), r);
    uint32x4_t ordered = vandq_u32(vceqq_f32(y, y), vceqq_f32(x, x));
    r = vbslq_f32(ordered, r, vdupq_n_f32(NAN));
    uint32x4_t sign = vandq_u32(vreinterpretq_u32_f32(y), vdupq_n_u32(0x80000000u));
    return vreinterpretq_f32_u32(vorrq_u32(vreinterpretq_u32_f32(r), sign));
}

static void vneon_atan2_nonneg_x(float *r, const float *y, const float *x, int n) {
    for (int i = 0; i < n; i += 4) st(r + i, atan2_nonneg_x4(ld(y + i, n - i, 0.0f), ld(x + i, n - i, 0.0f)), n - i);
}

/* AdamATan2 (optim.c's loop, same order of operations; semantics in
 * vec_avx512.h), with the vector atan2 above. */
static void vneon_adam_atan2(float *p, float *m, float *v, const float *g, long n, float decay, float c1,
                             float c2, float step, float sqrt_bc2) {
    float32x4_t vdecay = vdupq_n_f32(decay), vc1 = vdupq_n_f32(c1), vc2 = vdupq_n_f32(c2);
    float32x4_t vstep = vdupq_n_f32(step), vbc = vdupq_n_f32(sqrt_bc2);
    for (long i = 0; i < n; i += 4) {
        int k = n - i < 4 ? (int)(n - i) : 4;
        float32x4_t gi = ld(g + i, k, 0.0f), pi = ld(p + i, k, 0.0f);
        float32x4_t mi = ld(m + i, k, 0.0f), vi = ld(v + i, k, 0.0f);
        pi = vmulq_f32(pi, vdecay);
        mi = vaddq_f32(mi, vmulq_f32(vc1, vsubq_f32(gi, mi)));
        vi = vaddq_f32(vi, vmulq_f32(vc2, vsubq_f32(vmulq_f32(gi, gi), vi)));
        float32x4_t den = vdivq_f32(vsqrtq_f32(vi), vbc);
        pi = vsubq_f32(pi, vmulq_f32(vstep, atan2_nonneg_x4(mi, den)));
        st(p + i, pi, k);
        st(m + i, mi, k);
        st(v + i, vi, k);
    }
}

/* out[c * ldo + r] = in[r * ldi + c] for r < R, c < C, in 4x4 register
 * tiles (trn1/trn2 on 32-bit, then on 64-bit lanes); rows past R of a
 * tile are zeros, lanes past C or R are neither read nor written. */
static void vneon_transpose(float *out, int ldo, const float *in, int ldi, int R, int C) {
    for (int r0 = 0; r0 < R; r0 += 4) {
        int nr = R - r0 < 4 ? R - r0 : 4;
        for (int c0 = 0; c0 < C; c0 += 4) {
            int nc = C - c0;
            float32x4_t v[4];
            for (int i = 0; i < 4; i++)
                v[i] = i < nr ? ld(in + (size_t)(r0 + i) * ldi + c0, nc, 0.0f) : vdupq_n_f32(0.0f);
            float32x4_t t0 = vtrn1q_f32(v[0], v[1]), t1 = vtrn2q_f32(v[0], v[1]);
            float32x4_t t2 = vtrn1q_f32(v[2], v[3]), t3 = vtrn2q_f32(v[2], v[3]);
            float64x2_t d0 = vreinterpretq_f64_f32(t0), d1 = vreinterpretq_f64_f32(t1);
            float64x2_t d2 = vreinterpretq_f64_f32(t2), d3 = vreinterpretq_f64_f32(t3);
            float32x4_t o[4] = {
                vreinterpretq_f32_f64(vtrn1q_f64(d0, d2)), vreinterpretq_f32_f64(vtrn1q_f64(d1, d3)),
                vreinterpretq_f32_f64(vtrn2q_f64(d0, d2)), vreinterpretq_f32_f64(vtrn2q_f64(d1, d3)),
            };
            for (int j = 0; j < 4 && j < nc; j++) st(out + (size_t)(c0 + j) * ldo + r0, o[j], nr);
        }
    }
}

const trm_vec_kernels trm_vec_neon = {
    vneon_exp,         vneon_swiglu_row,      vneon_swiglu_bwd_row, vneon_add_rmsnorm_row, vneon_rmsnorm_bwd_row,
    vneon_softmax_row, vneon_softmax_bwd_row, vneon_adam_atan2,     vneon_atan2_nonneg_x,  vneon_transpose,
};
#endif
