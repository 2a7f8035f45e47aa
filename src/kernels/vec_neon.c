/* vec_neon.c - ARM64 (AdvSIMD) versions of the element-wise ops, the
 * counterparts of vec_avx512.c / vec_avx2.c: the NEON table of vec_kernels()
 * (kernels/cpu.h; semantics in vec_avx512.h). The portable loops of ops.c
 * stay the reference. SwiGLU, AdamATan2 with its atan2 and the exp
 * polynomials are vec_simd.h's, the code of the x86 paths, instantiated
 * here for 4 lanes (so atan2 gives the x86 kernels' bits); the rest is
 * this file's, with 4x4 register transposes.
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

/* 2^n for integral doubles n in [-151, 129], as exponent bits. */
static inline float64x2_t pow2d(float64x2_t n) {
    return vreinterpretq_f64_s64(vshlq_n_s64(vaddq_s64(vcvtq_s64_f64(n), vdupq_n_s64(1023)), 52));
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

/* vec_simd.h's vectors: 4 floats, 2 doubles, masks as all-ones lanes. */
#define VF float32x4_t
#define VW 4
#define VM uint32x4_t
#define VFN static inline
#define VF_SET1 vdupq_n_f32
#define VF_ZERO() vdupq_n_f32(0.0f)
#define VF_ADD vaddq_f32
#define VF_SUB vsubq_f32
#define VF_MUL vmulq_f32
#define VF_DIV vdivq_f32
#define VF_MIN vminq_f32
#define VF_MAX vmaxq_f32
#define VF_SQRT vsqrtq_f32
#define VF_ABS vabsq_f32
#define VF_ROUND vrndnq_f32
#define VF_FMA(a, b, c) vfmaq_f32(c, a, b)
#define VF_FNMA(a, b, c) vfmsq_f32(c, a, b)
#define VF_LOAD(p, n) ld(p, n, 0.0f)
#define VF_STORE st
#define VF_SCALE2N scale2n
#define VF_OR_SIGN(a, b) vreinterpretq_f32_u32(vorrq_u32(vreinterpretq_u32_f32(a), \
    vandq_u32(vreinterpretq_u32_f32(b), vdupq_n_u32(0x80000000u))))
#define VM_EQ vceqq_f32
#define VM_GT vcgtq_f32
#define VM_UNORD(a, b) vmvnq_u32(vandq_u32(vceqq_f32(a, a), vceqq_f32(b, b)))
#define VF_SEL vbslq_f32
#define VD float64x2_t
#define VD_SET1 vdupq_n_f64
#define VD_MUL vmulq_f64
#define VD_FMA(a, b, c) vfmaq_f64(c, a, b)
#define VD_FNMA(a, b, c) vfmsq_f64(c, a, b)
#define VD_ROUND vrndnq_f64
#define VD_SCALE2N(p, n) vmulq_f64(p, pow2d(n))
#include "kernels/vec_simd.h"

static inline float32x4_t exp4(float32x4_t x) {
    x = vminq_f32(vmaxq_f32(x, vdupq_n_f32(-104.0f)), vdupq_n_f32(89.0f));
    float64x2_t lo = vs_expd(vcvt_f64_f32(vget_low_f32(x))), hi = vs_expd(vcvt_high_f64_f32(x));
    return vcvt_high_f32_f64(vcvt_f32_f64(lo), hi);
}

static void vneon_exp(float *y, const float *x, int n) {
    for (int i = 0; i < n; i += 4) st(y + i, exp4(ld(x + i, n - i, 0.0f)), n - i);
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
    vneon_exp,         vs_swiglu_row,         vs_swiglu_bwd_row, vneon_add_rmsnorm_row, vneon_rmsnorm_bwd_row,
    vneon_softmax_row, vneon_softmax_bwd_row, vs_adam_atan2,     vs_atan2_nonneg_x,     vneon_transpose,
};
#endif
