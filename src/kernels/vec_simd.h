/* vec_simd.h - the element-wise kernels whose arithmetic does not depend
 * on the vector width, written once: included by vec_avx512.c, vec_avx2.c
 * and vec_neon.c, each after defining the macros below for its own vectors.
 * Every ISA thus runs the same IEEE operations in the same order, which is
 * what makes their results bit-equal (tests/test_kernels.c,
 * tests/test_neon.c). The reductions (norms, softmax) and the exp of a
 * float vector through two double halves stay in each ISA's file: their
 * order and lane layout are the ISA's own.
 *
 * The includer defines (a, b, c float vectors, m a lane mask):
 *   VF, VW          float vector type, its number of lanes
 *   VM              lane mask type (a compare's result)
 *   VFN             qualifiers of the functions here (static inline + the
 *                   x86 target attribute)
 *   VF_SET1(s), VF_ZERO(), VF_ADD/SUB/MUL/DIV/MIN/MAX(a, b), VF_SQRT(a),
 *   VF_ABS(a), VF_ROUND(a)  (to nearest even)
 *   VF_FMA(a, b, c)   a b + c, one rounding;  VF_FNMA(a, b, c)  c - a b
 *   VF_LOAD(p, n)     min(n, VW) floats from p, zeros in the other lanes,
 *                     nothing read past them (n > 0)
 *   VF_STORE(p, a, n) the first min(n, VW) lanes of a to p, nothing else
 *   VF_SCALE2N(p, n)  p 2^n for integral n in [-150, 128], rounded once
 *   VF_OR_SIGN(a, b)  a with the sign bit of b or'ed in
 *   VM_EQ/GT(a, b)    ordered compares;  VM_UNORD(a, b)  a or b is NaN
 *   VF_SEL(m, a, b)   a in the lanes of m, b elsewhere
 *   VD, VD_SET1, VD_MUL, VD_FMA, VD_FNMA, VD_ROUND, VD_SCALE2N(p, n)
 *                   the same for double vectors (2^n with n in [-151, 129])
 * and gets the static functions vs_expd, vs_expf, vs_sigmoid,
 * vs_swiglu_row, vs_swiglu_bwd_row, vs_atan2, vs_atan2_nonneg_x and
 * vs_adam_atan2 (semantics: vec_avx512.h). */
#ifndef TRM_VEC_SIMD_H
#define TRM_VEC_SIMD_H

/* e^x for |x| <= 104 in double: x = n ln2 + r, |r| <= ln2/2, degree-9
 * Taylor polynomial for e^r (truncation < 1e-11 relative), p 2^n exact.
 * Rounded to float this is expf to within the last bit in all but rare
 * ties, so swapping it for libm's expf does not move the results. */
VFN VD vs_expd(VD x) {
    static const double c[9] = {1.0 / 40320, 1.0 / 5040, 1.0 / 720, 1.0 / 120, 1.0 / 24,
                                1.0 / 6,     0.5,        1.0,       1.0};
    VD n = VD_ROUND(VD_MUL(x, VD_SET1(1.4426950408889634)));
    VD r = VD_FNMA(n, VD_SET1(0.6931471805599453), x);
    VD p = VD_SET1(1.0 / 362880);
    for (int i = 0; i < 9; i++) p = VD_FMA(p, r, VD_SET1(c[i]));
    return VD_SCALE2N(p, n);
}

/* e^x in float: the same reduction with ln2 split in two (exact n ln2)
 * and Cephes' degree-6 expf polynomial (public-domain coefficients), about
 * 1 ulp. Half the cost of the double one; used where the result feeds a
 * product (SwiGLU's sigmoid), not a normalisation. */
VFN VF vs_expf(VF x) {
    static const float c[5] = {1.3981999507e-3f, 8.3334519073e-3f, 4.1665795894e-2f, 1.6666665459e-1f,
                               5.0000001201e-1f};
    x = VF_MIN(VF_MAX(x, VF_SET1(-104.0f)), VF_SET1(88.8f));
    VF n = VF_ROUND(VF_MUL(x, VF_SET1(1.44269504088896341f)));
    VF r = VF_FNMA(n, VF_SET1(0.693359375f), x);
    r = VF_FNMA(n, VF_SET1(-2.12194440e-4f), r);
    VF p = VF_SET1(1.9875691500e-4f);
    for (int i = 0; i < 5; i++) p = VF_FMA(p, r, VF_SET1(c[i]));
    p = VF_FMA(p, VF_MUL(r, r), VF_ADD(r, VF_SET1(1.0f)));
    return VF_SCALE2N(p, n);
}

VFN VF vs_sigmoid(VF g) {
    VF one = VF_SET1(1.0f);
    return VF_DIV(one, VF_ADD(one, vs_expf(VF_SUB(VF_ZERO(), g))));
}

/* m = silu(g) u over one row of I. */
VFN void vs_swiglu_row(float *m, const float *g, const float *u, int I) {
    for (int i = 0; i < I; i += VW) {
        VF gv = VF_LOAD(g + i, I - i), uv = VF_LOAD(u + i, I - i);
        VF_STORE(m + i, VF_MUL(VF_MUL(gv, vs_sigmoid(gv)), uv), I - i);
    }
}

/* dg (+)= d u s (1 + g (1 - s)); du (+)= d silu(g). */
VFN void vs_swiglu_bwd_row(float *dg, float *du, const float *d, const float *g, const float *u, int I,
                           bool add) {
    VF one = VF_SET1(1.0f);
    for (int i = 0; i < I; i += VW) {
        int k = I - i;
        VF gv = VF_LOAD(g + i, k), uv = VF_LOAD(u + i, k), dv = VF_LOAD(d + i, k), s = vs_sigmoid(gv);
        VF silu = VF_MUL(gv, s);
        VF dsilu = VF_MUL(s, VF_FMA(gv, VF_SUB(one, s), one));
        VF a0 = add ? VF_LOAD(dg + i, k) : VF_ZERO();
        VF b0 = add ? VF_LOAD(du + i, k) : VF_ZERO();
        VF_STORE(dg + i, VF_FMA(VF_MUL(dv, uv), dsilu, a0), k);
        VF_STORE(du + i, VF_FMA(dv, silu, b0), k);
    }
}

/* atan2(y, x) for x >= 0: with a = |y|, t = min(a, x) / max(a, x) in
 * [0, 1], atan(t) by Cephes' reduction (t > tan(pi/8): pi/4 + atan((t-1) /
 * (t+1))) and its degree-4 odd polynomial in t^2 (~1-2 ulp); pi/2 - atan(t)
 * when a > x; the sign of y. atan2(0, 0) = 0 and atan2(inf, inf) = pi/4, as
 * libm; NaN in, NaN out (whatever min/max make of NaNs is overwritten). */
VFN VF vs_atan2(VF y, VF x) {
    VF zero = VF_ZERO(), one = VF_SET1(1.0f), a = VF_ABS(y);
    VF num = VF_MIN(a, x), den = VF_MAX(a, x);
    VF t = VF_DIV(num, den);
    t = VF_SEL(VM_EQ(den, zero), zero, t);
    t = VF_SEL(VM_EQ(num, VF_SET1(INFINITY)), one, t);
    VM big = VM_GT(t, VF_SET1(0.4142135623730950f));
    t = VF_SEL(big, VF_DIV(VF_SUB(t, one), VF_ADD(t, one)), t);
    VF base = VF_SEL(big, VF_SET1(0.78539816339744830962f), zero);
    VF z = VF_MUL(t, t);
    VF q = VF_FMA(VF_SET1(8.05374449538e-2f), z, VF_SET1(-1.38776856032e-1f));
    q = VF_FMA(q, z, VF_SET1(1.99777106478e-1f));
    q = VF_FMA(q, z, VF_SET1(-3.33329491539e-1f));
    VF r = VF_ADD(base, VF_FMA(VF_MUL(q, z), t, t));
    r = VF_SEL(VM_GT(a, x), VF_SUB(VF_SET1(1.57079632679489661923f), r), r);
    r = VF_SEL(VM_UNORD(y, x), VF_SET1(NAN), r);
    return VF_OR_SIGN(r, y);
}

VFN void vs_atan2_nonneg_x(float *r, const float *y, const float *x, int n) {
    for (int i = 0; i < n; i += VW) VF_STORE(r + i, vs_atan2(VF_LOAD(y + i, n - i), VF_LOAD(x + i, n - i)), n - i);
}

/* AdamATan2 on n elements (optim.c's loop, the same order of operations). */
VFN void vs_adam_atan2(float *p, float *m, float *v, const float *g, long n, float decay, float c1, float c2,
                       float step, float sqrt_bc2) {
    VF vdecay = VF_SET1(decay), vc1 = VF_SET1(c1), vc2 = VF_SET1(c2);
    VF vstep = VF_SET1(step), vbc = VF_SET1(sqrt_bc2);
    for (long i = 0; i < n; i += VW) {
        int k = n - i < VW ? (int)(n - i) : VW;
        VF gi = VF_LOAD(g + i, k), pi = VF_LOAD(p + i, k), mi = VF_LOAD(m + i, k), vi = VF_LOAD(v + i, k);
        pi = VF_MUL(pi, vdecay);
        mi = VF_ADD(mi, VF_MUL(vc1, VF_SUB(gi, mi)));
        vi = VF_ADD(vi, VF_MUL(vc2, VF_SUB(VF_MUL(gi, gi), vi)));
        VF den = VF_DIV(VF_SQRT(vi), vbc);
        pi = VF_SUB(pi, VF_MUL(vstep, vs_atan2(mi, den)));
        VF_STORE(p + i, pi, k);
        VF_STORE(m + i, mi, k);
        VF_STORE(v + i, vi, k);
    }
}

#endif
