/* test_ops.c - every op of src/kernels/ops.h against finite differences.
 *
 * For an op f with inputs X and a random upstream gradient G we take the
 * scalar S = sum(G * f(X)); the op's backward must give dS/dX. Each input
 * (weights and biases included) is checked element by element with
 * central differences twice:
 *   - "f32": S from the op's own float32 forward (accumulated in double),
 *     h = 1e-2, tolerance GC_TOL_F32 = 2e-3 on
 *     rel = max|a - n| / max(max|n|, 1e-3) (float32 rounding noise of the
 *     forward divided by 2h, see gradcheck.h);
 *   - "f64": S from an independent double-precision reference forward
 *     written here, h = 1e-3, tolerance GC_TOL_F64 = 1e-4 (only O(h^2)
 *     truncation and the float32 rounding of the analytic gradient).
 * Gradient buffers are pre-filled with random values before each backward
 * and the filling is subtracted afterwards: this checks that backwards ADD
 * (as ops.h says) rather than overwrite. Losses are computed in double by
 * the ops themselves, so their checks use FD in double with tighter
 * tolerances. Sizes are small and deliberately not multiples of 4.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <math.h>
#include <omp.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "gradcheck.h"
#include "kernels/matmul.h"
#include "kernels/ops.h"
#include "support/ops_ref.h"
#include "trm.h"

#define H_F32 1e-2f
#define H_F64 1e-3f

/* Forward values compared with a double reference: float32 rounding of
 * O(1) values through a handful of operations. */
#define TOL_FWD 1e-5

/* |a - b| <= tol in double (this cmocka has no assert_double_equal). */
#define assert_near(a, b, tol)                                                          \
    do {                                                                                \
        double a_ = (a), b_ = (b);                                                      \
        if (!(fabs(a_ - b_) <= (tol)))                                                  \
            fail_msg("%s = %.17g, expected %.17g (tol %g)", #a, a_, b_, (double)(tol)); \
    } while (0)

/* Pre-fills a gradient buffer with random values and keeps a copy. */
static float *prefill(gc_rng *r, float **keep, size_t n) {
    float *g = gc_alloc(n);
    gc_fill_random(r, g, n, -1.0f, 1.0f);
    *keep = gc_dup(g, n);
    return g;
}

/* Replaces g by g - keep (what the backward added), frees keep. */
static void added_part(float *g, float *keep, size_t n) {
    gc_sub(g, g, keep, n);
    free(keep);
}

/* ================================================================ linear */

typedef struct {
    int N, I, O;
    float *in, *W, *b; /* b may be NULL */
    const float *G;
    float *out;
} lin_ctx;

static double lin_S_f(void *p) {
    lin_ctx *c = p;
    op_linear_forward(c->out, c->in, c->W, c->b, c->N, c->I, c->O);
    return gc_dot(c->G, c->out, (size_t)c->N * c->O);
}

static double lin_ref(const lin_ctx *c, int n, int o) {
    double s = c->b ? c->b[o] : 0.0;
    for (int i = 0; i < c->I; i++)
        s += (double)c->in[(size_t)n * c->I + i] * c->W[(size_t)o * c->I + i];
    return s;
}

static double lin_S_d(void *p) {
    lin_ctx *c = p;
    double S = 0.0;
    for (int n = 0; n < c->N; n++)
        for (int o = 0; o < c->O; o++) S += (double)c->G[(size_t)n * c->O + o] * lin_ref(c, n, o);
    return S;
}

static void check_linear(bool bias) {
    const int N = 5, I = 7, O = 6;
    gc_rng r;
    gc_seed(&r, bias ? 11 : 12);
    float *in = gc_alloc(N * I), *W = gc_alloc(O * I), *b = gc_alloc(O);
    float *G = gc_alloc(N * O), *out = gc_alloc(N * O);
    gc_fill_random(&r, in, N * I, -1, 1);
    gc_fill_random(&r, W, O * I, -1, 1);
    gc_fill_random(&r, b, O, -1, 1);
    gc_fill_random(&r, G, N * O, -1, 1);
    lin_ctx c = {N, I, O, in, W, bias ? b : NULL, G, out};

    /* forward vs double */
    op_linear_forward(out, in, W, c.b, N, I, O);
    double ref[5 * 6];
    for (int n = 0; n < N; n++)
        for (int o = 0; o < O; o++) ref[n * O + o] = lin_ref(&c, n, o);
    assert_true(gc_check("linear forward", gc_compare_d(out, ref, N * O), TOL_FWD));

    /* backward, accumulating into pre-filled buffers */
    float *kin, *kW, *kb;
    float *din = prefill(&r, &kin, N * I), *dW = prefill(&r, &kW, O * I);
    float *db = prefill(&r, &kb, O);
    float *db_before = gc_dup(db, O);
    op_linear_backward(din, dW, bias ? db : NULL, G, in, W, N, I, O);
    if (!bias) /* db NULL: nothing to write; our buffer must be untouched */
        assert_memory_equal(db, db_before, O * sizeof(float));
    added_part(din, kin, N * I);
    added_part(dW, kW, O * I);
    added_part(db, kb, O);

    assert_true(gc_check("linear d_in  f32", gc_fd_check(in, N * I, din, H_F32, lin_S_f, &c), GC_TOL_F32));
    assert_true(gc_check("linear d_in  f64", gc_fd_check(in, N * I, din, H_F64, lin_S_d, &c), GC_TOL_F64));
    assert_true(gc_check("linear d_W   f32", gc_fd_check(W, O * I, dW, H_F32, lin_S_f, &c), GC_TOL_F32));
    assert_true(gc_check("linear d_W   f64", gc_fd_check(W, O * I, dW, H_F64, lin_S_d, &c), GC_TOL_F64));
    if (bias) {
        assert_true(gc_check("linear d_b   f32", gc_fd_check(b, O, db, H_F32, lin_S_f, &c), GC_TOL_F32));
        assert_true(gc_check("linear d_b   f64", gc_fd_check(b, O, db, H_F64, lin_S_d, &c), GC_TOL_F64));
    }

    /* NULL gradient outputs: each remaining one is unchanged by the others. */
    float *din2 = gc_alloc(N * I), *dW2 = gc_alloc(O * I);
    op_linear_backward(din2, NULL, NULL, G, in, W, N, I, O);
    op_linear_backward(NULL, dW2, NULL, G, in, W, N, I, O);
    assert_true(gc_check("linear d_in alone == d_in", gc_compare(din2, din, N * I), 1e-6));
    assert_true(gc_check("linear d_W alone == d_W", gc_compare(dW2, dW, O * I), 1e-6));

    free(din2); free(dW2); free(db_before);
    free(in); free(W); free(b); free(G); free(out); free(din); free(dW); free(db);
}

static void test_linear_bias(void **state) {
    (void)state;
    check_linear(true);
}

static void test_linear_nobias(void **state) {
    (void)state;
    check_linear(false);
}

/* ================================================================ embedding */

typedef struct {
    int N, D;
    const int32_t *ids;
    float *table;
    float scale;
    const float *G;
    float *out;
} emb_ctx;

static double emb_S_f(void *p) {
    emb_ctx *c = p;
    op_embedding_forward(c->out, c->ids, c->table, c->N, c->D, c->scale);
    return gc_dot(c->G, c->out, (size_t)c->N * c->D);
}

static double emb_S_d(void *p) {
    emb_ctx *c = p;
    double S = 0.0;
    for (int n = 0; n < c->N; n++)
        for (int d = 0; d < c->D; d++)
            S += (double)c->G[n * c->D + d] * (double)c->scale * c->table[c->ids[n] * c->D + d];
    return S;
}

static void test_embedding(void **state) {
    (void)state;
    enum { V = 6, D = 7, N = 9 };
    const int32_t ids[N] = {1, 3, 1, 0, 5, 3, 1, 2, 1}; /* 4 unused, 1 four times */
    const float scale = sqrtf((float)D);                /* the TRM's sqrt(D) */
    gc_rng r;
    gc_seed(&r, 21);
    float *table = gc_alloc(V * D), *G = gc_alloc(N * D), *out = gc_alloc(N * D);
    gc_fill_random(&r, table, V * D, -1, 1);
    gc_fill_random(&r, G, N * D, -1, 1);
    emb_ctx c = {N, D, ids, table, scale, G, out};

    op_embedding_forward(out, ids, table, N, D, scale);
    double ref[N * D];
    for (int n = 0; n < N; n++)
        for (int d = 0; d < D; d++) ref[n * D + d] = (double)scale * table[ids[n] * D + d];
    assert_true(gc_check("embedding forward", gc_compare_d(out, ref, N * D), 1e-6));

    float *keep, *dt = prefill(&r, &keep, V * D);
    float *before = gc_dup(dt, V * D);
    op_embedding_backward(dt, G, ids, N, D, scale);
    /* the unused row 4 is bit-for-bit untouched */
    assert_memory_equal(dt + 4 * D, before + 4 * D, D * sizeof(float));
    added_part(dt, keep, V * D);
    assert_true(gc_check("embedding d_table f32", gc_fd_check(table, V * D, dt, H_F32, emb_S_f, &c), GC_TOL_F32));
    assert_true(gc_check("embedding d_table f64", gc_fd_check(table, V * D, dt, H_F64, emb_S_d, &c), GC_TOL_F64));
    free(before); free(table); free(G); free(out); free(dt);
}

/* ================================================================ rmsnorm */

typedef struct {
    int N, C;
    float eps;
    float *in;
    const float *G;
    float *out, *inv;
} rms_ctx;

static double rms_S_f(void *p) {
    rms_ctx *c = p;
    op_rmsnorm_forward(c->out, c->inv, c->in, c->N, c->C, c->eps);
    return gc_dot(c->G, c->out, (size_t)c->N * c->C);
}

static double rms_inv_ref(const float *x, int C, float eps) {
    double ss = 0.0;
    for (int i = 0; i < C; i++) ss += (double)x[i] * x[i];
    return 1.0 / sqrt(ss / C + (double)eps);
}

static double rms_S_d(void *p) {
    rms_ctx *c = p;
    double S = 0.0;
    for (int n = 0; n < c->N; n++) {
        const float *x = c->in + (size_t)n * c->C;
        double inv = rms_inv_ref(x, c->C, c->eps);
        for (int i = 0; i < c->C; i++) S += (double)c->G[(size_t)n * c->C + i] * x[i] * inv;
    }
    return S;
}

/* One rmsnorm configuration: forward vs double, aliasing, backward FD.
 * amp scales the inputs; for tiny inputs (eps dominant) only the double
 * FD is used, with h scaled down. */
static void check_rmsnorm(int N, int C, float amp, uint64_t seed, const char *tag) {
    const float eps = 1e-5f;
    char what[96];
    gc_rng r;
    gc_seed(&r, seed);
    size_t n = (size_t)N * C;
    float *in = gc_alloc(n), *G = gc_alloc(n), *out = gc_alloc(n);
    float *inv = gc_alloc(N), *inv2 = gc_alloc(N);
    gc_fill_random(&r, in, n, -amp, amp);
    for (int i = 0; i < C; i++) in[i] += 0.5f * amp; /* a row with a mean */
    gc_fill_random(&r, G, n, -1, 1);
    rms_ctx c = {N, C, eps, in, G, out, inv};

    op_rmsnorm_forward(out, inv, in, N, C, eps);
    double *ref = gc_alloc_d(n), *iref = gc_alloc_d(N);
    for (int k = 0; k < N; k++) {
        iref[k] = rms_inv_ref(in + (size_t)k * C, C, eps);
        for (int i = 0; i < C; i++) ref[(size_t)k * C + i] = in[(size_t)k * C + i] * iref[k];
    }
    snprintf(what, sizeof what, "rmsnorm%s forward", tag);
    assert_true(gc_check(what, gc_compare_d(out, ref, n), TOL_FWD));
    /* relative check of inv_rms (it is ~ 1/amp) */
    for (int k = 0; k < N; k++) {
        double e = fabs(inv[k] - iref[k]) / iref[k];
        if (!(e < 1e-5)) fail_msg("rmsnorm inv_rms[%d] = %.9g, expected %.9g", k, inv[k], iref[k]);
    }

    /* out aliasing in */
    float *buf = gc_dup(in, n);
    op_rmsnorm_forward(buf, inv2, buf, N, C, eps);
    snprintf(what, sizeof what, "rmsnorm%s forward in place", tag);
    assert_true(gc_check(what, gc_compare(buf, out, n), 1e-6));
    snprintf(what, sizeof what, "rmsnorm%s inv_rms in place", tag);
    assert_true(gc_check(what, gc_compare(inv2, inv, N), 1e-6));

    float *keep, *din = prefill(&r, &keep, n);
    op_rmsnorm_backward(din, G, out, inv, N, C);
    added_part(din, keep, n);
    if (amp >= 0.1f) {
        snprintf(what, sizeof what, "rmsnorm%s d_in f32", tag);
        assert_true(gc_check(what, gc_fd_check(in, n, din, H_F32 * amp, rms_S_f, &c), GC_TOL_F32));
    }
    snprintf(what, sizeof what, "rmsnorm%s d_in f64", tag);
    assert_true(gc_check(what, gc_fd_check(in, n, din, amp < 0.1f ? 1e-6f : H_F64, rms_S_d, &c), GC_TOL_F64));

    free(buf); free(ref); free(iref);
    free(in); free(G); free(out); free(inv); free(inv2); free(din);
}

static void test_rmsnorm(void **state) {
    (void)state;
    check_rmsnorm(5, 7, 2.0f, 31, "");
    check_rmsnorm(3, 33, 1.0f, 32, "[C=33]");
    /* mean(x^2) ~ 1e-6 < eps: the eps term matters in forward and backward */
    check_rmsnorm(2, 7, 2e-3f, 33, "[tiny, eps-dominated]");
}

/* ================================================================ swiglu */

typedef struct {
    int N, I;
    float *gu;
    const float *G;
    float *m;
} swi_ctx;

static double silu_d(double g) { return g / (1.0 + exp(-g)); }

static double swi_S_f(void *p) {
    swi_ctx *c = p;
    op_swiglu_forward(c->m, c->gu, c->N, c->I);
    return gc_dot(c->G, c->m, (size_t)c->N * c->I);
}

static double swi_S_d(void *p) {
    swi_ctx *c = p;
    double S = 0.0;
    for (int n = 0; n < c->N; n++)
        for (int i = 0; i < c->I; i++) {
            const float *row = c->gu + (size_t)n * 2 * c->I;
            S += (double)c->G[n * c->I + i] * silu_d(row[i]) * row[c->I + i];
        }
    return S;
}

static void test_swiglu(void **state) {
    (void)state;
    enum { N = 5, I = 7 };
    gc_rng r;
    gc_seed(&r, 41);
    float *gu = gc_alloc(N * 2 * I), *G = gc_alloc(N * I), *m = gc_alloc(N * I);
    gc_fill_random(&r, gu, N * 2 * I, -3, 3);
    gc_fill_random(&r, G, N * I, -1, 1);
    swi_ctx c = {N, I, gu, G, m};

    op_swiglu_forward(m, gu, N, I);
    double ref[N * I];
    for (int n = 0; n < N; n++)
        for (int i = 0; i < I; i++) ref[n * I + i] = silu_d(gu[n * 2 * I + i]) * gu[n * 2 * I + I + i];
    assert_true(gc_check("swiglu forward", gc_compare_d(m, ref, N * I), TOL_FWD));

    float *keep, *dgu = prefill(&r, &keep, N * 2 * I);
    op_swiglu_backward(dgu, G, gu, N, I);
    added_part(dgu, keep, N * 2 * I);
    assert_true(gc_check("swiglu d_gu f32", gc_fd_check(gu, N * 2 * I, dgu, H_F32, swi_S_f, &c), GC_TOL_F32));
    assert_true(gc_check("swiglu d_gu f64", gc_fd_check(gu, N * 2 * I, dgu, H_F64, swi_S_d, &c), GC_TOL_F64));
    free(gu); free(G); free(m); free(dgu);
}

/* ================================================================ rope */

static void test_rope_tables(void **state) {
    (void)state;
    enum { L = 8, HD = 64 };
    float *cs = gc_alloc(L * HD), *sn = gc_alloc(L * HD);
    op_rope_tables(cs, sn, L, HD, 10000.0f);
    /* spec: f_1 = 0.7498942093324559, f_31 = 1.333521432163324e-4; at
     * position 1 the angle is f_k, in both halves */
    const double f1 = 0.7498942093324559, f31 = 1.333521432163324e-4;
    for (int half = 0; half < 2; half++) {
        int o = HD + half * (HD / 2);
        assert_near(cs[o + 0], cos(1.0), 1e-6); /* f_0 = 1 */
        assert_near(sn[o + 0], sin(1.0), 1e-6);
        assert_near(cs[half * (HD / 2)], 1.0, 0.0); /* position 0: angle 0 */
        assert_near(sn[half * (HD / 2)], 0.0, 0.0);
        double a1 = atan2(sn[o + 1], cs[o + 1]);
        double a31 = atan2(sn[o + 31], cs[o + 31]);
        if (fabs(a1 - f1) > 1e-6) fail_msg("rope angle(1, k=1) = %.10g, expected %.10g", a1, f1);
        if (fabs(a31 - f31) / f31 > 1e-5) fail_msg("rope angle(1, k=31) = %.10g, expected %.10g", a31, f31);
    }
    /* every entry: angle(p, i) = p * 10000^(-2 (i mod 32) / 64) */
    double maxe = 0.0;
    for (int p = 0; p < L; p++)
        for (int i = 0; i < HD; i++) {
            double a = p * pow(10000.0, -2.0 * (i % (HD / 2)) / HD);
            maxe = fmax(maxe, fabs(cs[p * HD + i] - cos(a)));
            maxe = fmax(maxe, fabs(sn[p * HD + i] - sin(a)));
        }
    printf("    op_rope_tables max abs err                      %.2e (tol 1e-5)\n", maxe);
    assert_true(maxe < 1e-5);
    free(cs); free(sn);
}

typedef struct {
    int rows, L, H, hd, stride;
    float *x;
    const float *G;
    float *tmp;
    const float *cs, *sn;
} rope_ctx;

static double rope_S_f(void *p) {
    rope_ctx *c = p;
    size_t n = (size_t)c->rows * c->stride;
    memcpy(c->tmp, c->x, n * sizeof(float));
    op_rope_forward(c->tmp, c->rows, c->L, c->H, c->hd, c->stride, c->cs, c->sn);
    return gc_dot(c->G, c->tmp, n);
}

/* Double reference: angles from the formula, half-rotation convention,
 * columns past H*hd are passed through unchanged. */
static void rope_ref(double *y, const rope_ctx *c, double theta) {
    int half = c->hd / 2;
    for (int r = 0; r < c->rows; r++) {
        int p = r % c->L;
        const float *x = c->x + (size_t)r * c->stride;
        double *o = y + (size_t)r * c->stride;
        for (int j = 0; j < c->stride; j++) o[j] = x[j];
        for (int h = 0; h < c->H; h++)
            for (int k = 0; k < half; k++) {
                double a = p * pow(theta, -2.0 * k / c->hd);
                double x1 = x[h * c->hd + k], x2 = x[h * c->hd + half + k];
                o[h * c->hd + k] = x1 * cos(a) - x2 * sin(a);
                o[h * c->hd + half + k] = x2 * cos(a) + x1 * sin(a);
            }
    }
}

static double g_rope_theta;

static double rope_S_d(void *p) {
    rope_ctx *c = p;
    size_t n = (size_t)c->rows * c->stride;
    double *y = gc_alloc_d(n);
    rope_ref(y, c, g_rope_theta);
    double S = gc_dot_d(c->G, y, n);
    free(y);
    return S;
}

static void test_rope(void **state) {
    (void)state;
    /* B = 2 sequences of L = 5 rows; 2 heads of hd = 6 (odd half) rotated,
     * then 5 extra columns that must stay untouched. theta = 10 so that
     * every frequency gives a sizeable angle. */
    enum { B = 2, L = 5, H = 2, HD = 6, STRIDE = H * HD + 5, ROWS = B * L };
    const size_t n = ROWS * STRIDE;
    g_rope_theta = 10.0;
    gc_rng r;
    gc_seed(&r, 51);
    float *cs = gc_alloc(L * HD), *sn = gc_alloc(L * HD);
    op_rope_tables(cs, sn, L, HD, (float)g_rope_theta);
    float *x = gc_alloc(n), *G = gc_alloc(n), *y = gc_alloc(n), *tmp = gc_alloc(n);
    gc_fill_random(&r, x, n, -1, 1);
    gc_fill_random(&r, G, n, -1, 1);
    rope_ctx c = {ROWS, L, H, HD, STRIDE, x, G, tmp, cs, sn};

    memcpy(y, x, n * sizeof(float));
    op_rope_forward(y, ROWS, L, H, HD, STRIDE, cs, sn);
    double *ref = gc_alloc_d(n);
    rope_ref(ref, &c, g_rope_theta);
    assert_true(gc_check("rope forward", gc_compare_d(y, ref, n), TOL_FWD));
    for (int row = 0; row < ROWS; row++) {
        /* untouched tail, bit for bit */
        assert_memory_equal(y + row * STRIDE + H * HD, x + row * STRIDE + H * HD, (STRIDE - H * HD) * sizeof(float));
        /* a rotation: the norm of each (k, k + hd/2) pair is preserved */
        for (int h = 0; h < H; h++)
            for (int k = 0; k < HD / 2; k++) {
                const float *a = x + row * STRIDE + h * HD, *b = y + row * STRIDE + h * HD;
                double n0 = hypot(a[k], a[k + HD / 2]), n1 = hypot(b[k], b[k + HD / 2]);
                if (fabs(n0 - n1) > 1e-6 * fmax(n0, 1.0))
                    fail_msg("rope pair norm changed: row %d head %d k %d: %g -> %g", row, h, k, n0, n1);
            }
    }

    /* backward: S = G . R x is linear, so dS/dx = R^T G = op_rope_backward(G) */
    float *dx = gc_dup(G, n);
    op_rope_backward(dx, ROWS, L, H, HD, STRIDE, cs, sn);
    for (int row = 0; row < ROWS; row++)
        assert_memory_equal(dx + row * STRIDE + H * HD, G + row * STRIDE + H * HD, (STRIDE - H * HD) * sizeof(float));
    assert_true(gc_check("rope d_x f32", gc_fd_check(x, n, dx, H_F32, rope_S_f, &c), GC_TOL_F32));
    assert_true(gc_check("rope d_x f64", gc_fd_check(x, n, dx, H_F64, rope_S_d, &c), GC_TOL_F64));

    /* R^T R = 1 */
    op_rope_backward(y, ROWS, L, H, HD, STRIDE, cs, sn);
    assert_true(gc_check("rope backward(forward(x)) == x", gc_compare(y, x, n), 1e-6));

    free(cs); free(sn); free(x); free(G); free(y); free(tmp); free(ref); free(dx);
}

/* ================================================================ attention */

typedef struct {
    int B, L, H, hd;
    float *qkv;
    const float *G;
    float *out, *probs;
} att_ctx;

static double att_S_f(void *p) {
    att_ctx *c = p;
    op_attention_forward(c->out, c->probs, c->qkv, c->B, c->L, c->H, c->hd);
    return gc_dot(c->G, c->out, (size_t)c->B * c->L * c->H * c->hd);
}

/* Naive double attention; probs_d may be NULL. */
static void att_ref(double *out, double *probs_d, const att_ctx *c) {
    int B = c->B, L = c->L, H = c->H, hd = c->hd, W = 3 * H * hd;
    double scale = 1.0 / sqrt((double)hd);
    double *p = gc_alloc_d(L);
    for (int b = 0; b < B; b++)
        for (int h = 0; h < H; h++)
            for (int i = 0; i < L; i++) {
                const float *q = c->qkv + (size_t)(b * L + i) * W + h * hd;
                double mx = -INFINITY, z = 0.0;
                for (int j = 0; j < L; j++) {
                    const float *k = c->qkv + (size_t)(b * L + j) * W + H * hd + h * hd;
                    double s = 0.0;
                    for (int d = 0; d < hd; d++) s += (double)q[d] * k[d];
                    p[j] = s * scale;
                    mx = fmax(mx, p[j]);
                }
                for (int j = 0; j < L; j++) z += (p[j] = exp(p[j] - mx));
                for (int j = 0; j < L; j++) p[j] /= z;
                if (probs_d)
                    for (int j = 0; j < L; j++) probs_d[((size_t)(b * H + h) * L + i) * L + j] = p[j];
                double *o = out + (size_t)(b * L + i) * H * hd + h * hd;
                for (int d = 0; d < hd; d++) {
                    double s = 0.0;
                    for (int j = 0; j < L; j++) s += p[j] * c->qkv[(size_t)(b * L + j) * W + 2 * H * hd + h * hd + d];
                    o[d] = s;
                }
            }
    free(p);
}

static double att_S_d(void *p) {
    att_ctx *c = p;
    size_t n = (size_t)c->B * c->L * c->H * c->hd;
    double *o = gc_alloc_d(n);
    att_ref(o, NULL, c);
    double S = gc_dot_d(c->G, o, n);
    free(o);
    return S;
}

static void check_attention(int B, int L, int H, int hd, uint64_t seed) {
    char what[96];
    gc_rng r;
    gc_seed(&r, seed);
    size_t nq = (size_t)B * L * 3 * H * hd, no = (size_t)B * L * H * hd, np = (size_t)B * H * L * L;
    float *qkv = gc_alloc(nq), *G = gc_alloc(no), *out = gc_alloc(no), *out2 = gc_alloc(no);
    float *probs = gc_alloc(np);
    gc_fill_random(&r, qkv, nq, -1.5f, 1.5f);
    gc_fill_random(&r, G, no, -1, 1);
    att_ctx c = {B, L, H, hd, qkv, G, out, probs};

    op_attention_forward(out, probs, qkv, B, L, H, hd);
    double *oref = gc_alloc_d(no), *pref = gc_alloc_d(np);
    att_ref(oref, pref, &c);
    snprintf(what, sizeof what, "attention(%d,%d,%d,%d) forward", B, L, H, hd);
    assert_true(gc_check(what, gc_compare_d(out, oref, no), TOL_FWD));
    assert_true(gc_check("attention probs", gc_compare_d(probs, pref, np), TOL_FWD));
    for (size_t row = 0; row < (size_t)B * H * L; row++) {
        double s = 0.0;
        for (int j = 0; j < L; j++) s += probs[row * L + j];
        if (fabs(s - 1.0) > 1e-5) fail_msg("attention probs row %zu sums to %.9g", row, s);
    }
    op_attention_forward(out2, NULL, qkv, B, L, H, hd);
    assert_true(gc_check("attention forward, probs NULL", gc_compare(out2, out, no), 1e-6));

    float *keep, *dqkv = prefill(&r, &keep, nq);
    op_attention_backward(dqkv, G, qkv, probs, B, L, H, hd);
    added_part(dqkv, keep, nq);
    /* op_attention_forward opens an OpenMP region on every call; the ~500
     * calls of the FD loop run single-threaded so that the file stays fast
     * on a loaded machine (the threaded path is what produced out, probs
     * and dqkv above). */
    int nthreads = omp_get_max_threads();
    omp_set_num_threads(1);
    snprintf(what, sizeof what, "attention(%d,%d,%d,%d) d_qkv f32", B, L, H, hd);
    gc_result rf = gc_fd_check(qkv, nq, dqkv, H_F32, att_S_f, &c);
    omp_set_num_threads(nthreads);
    assert_true(gc_check(what, rf, GC_TOL_F32));
    snprintf(what, sizeof what, "attention(%d,%d,%d,%d) d_qkv f64", B, L, H, hd);
    assert_true(gc_check(what, gc_fd_check(qkv, nq, dqkv, H_F64, att_S_d, &c), GC_TOL_F64));

    free(qkv); free(G); free(out); free(out2); free(probs); free(oref); free(pref); free(dqkv);
}

static void test_attention(void **state) {
    (void)state;
    check_attention(2, 5, 2, 4, 61);
    check_attention(1, 7, 3, 3, 62);
    /* L > ATT_ROWS (112): three row blocks, dK and dV summed across them */
    check_attention(1, 230, 1, 2, 63);
}

/* ================================================================ composite */

/* y = rmsnorm(x + linear(x)) with a square W and a bias, chained by hand
 * the way a post-norm block does it (rmsnorm in place). */
typedef struct {
    int N, C;
    float *x, *W, *b;
    const float *G;
    float *h, *lin, *inv;
} comp_ctx;

static void comp_forward(comp_ctx *c) {
    op_linear_forward(c->lin, c->x, c->W, c->b, c->N, c->C, c->C);
    op_vec_add(c->h, c->x, c->lin, (size_t)c->N * c->C);
    op_rmsnorm_forward(c->h, c->inv, c->h, c->N, c->C, 1e-5f);
}

static double comp_S_f(void *p) {
    comp_ctx *c = p;
    comp_forward(c);
    return gc_dot(c->G, c->h, (size_t)c->N * c->C);
}

static double comp_S_d(void *p) {
    comp_ctx *c = p;
    int N = c->N, C = c->C;
    double S = 0.0, *h = gc_alloc_d(C);
    for (int n = 0; n < N; n++) {
        double ss = 0.0;
        for (int o = 0; o < C; o++) {
            double s = c->x[n * C + o] + (double)c->b[o];
            for (int i = 0; i < C; i++) s += (double)c->x[n * C + i] * c->W[o * C + i];
            h[o] = s;
            ss += s * s;
        }
        double inv = 1.0 / sqrt(ss / C + 1e-5);
        for (int o = 0; o < C; o++) S += (double)c->G[n * C + o] * h[o] * inv;
    }
    free(h);
    return S;
}

static void test_composite(void **state) {
    (void)state;
    enum { N = 5, C = 7 };
    gc_rng r;
    gc_seed(&r, 71);
    float *x = gc_alloc(N * C), *W = gc_alloc(C * C), *b = gc_alloc(C), *G = gc_alloc(N * C);
    float *h = gc_alloc(N * C), *lin = gc_alloc(N * C), *inv = gc_alloc(N);
    gc_fill_random(&r, x, N * C, -1, 1);
    gc_fill_random(&r, W, C * C, -0.5f, 0.5f);
    gc_fill_random(&r, b, C, -0.5f, 0.5f);
    gc_fill_random(&r, G, N * C, -1, 1);
    comp_ctx c = {N, C, x, W, b, G, h, lin, inv};

    comp_forward(&c);
    /* backward by hand: dh = rmsnorm'(G); dx = dh (residual) + linear'(dh) */
    float *dh = gc_alloc(N * C);
    op_rmsnorm_backward(dh, G, h, inv, N, C);
    float *kx, *kW, *kb;
    float *dx = prefill(&r, &kx, N * C), *dW = prefill(&r, &kW, C * C), *db = prefill(&r, &kb, C);
    op_vec_acc(dx, dh, N * C);
    op_linear_backward(dx, dW, db, dh, x, W, N, C, C);
    added_part(dx, kx, N * C);
    added_part(dW, kW, C * C);
    added_part(db, kb, C);

    assert_true(gc_check("composite d_x f32", gc_fd_check(x, N * C, dx, H_F32, comp_S_f, &c), GC_TOL_F32));
    assert_true(gc_check("composite d_x f64", gc_fd_check(x, N * C, dx, H_F64, comp_S_d, &c), GC_TOL_F64));
    assert_true(gc_check("composite d_W f32", gc_fd_check(W, C * C, dW, H_F32, comp_S_f, &c), GC_TOL_F32));
    assert_true(gc_check("composite d_W f64", gc_fd_check(W, C * C, dW, H_F64, comp_S_d, &c), GC_TOL_F64));
    assert_true(gc_check("composite d_b f32", gc_fd_check(b, C, db, H_F32, comp_S_f, &c), GC_TOL_F32));
    assert_true(gc_check("composite d_b f64", gc_fd_check(b, C, db, H_F64, comp_S_d, &c), GC_TOL_F64));
    free(x); free(W); free(b); free(G); free(h); free(lin); free(inv); free(dh); free(dx); free(dW); free(db);
}

/* ================================================================ transpose, vec */

static void test_transpose(void **state) {
    (void)state;
    enum { B = 2, R = 3, C = 5, n = B * R * C };
    float in[n], out[n], back[n];
    for (int i = 0; i < n; i++) in[i] = (float)i + 0.25f;
    op_transpose_last2(out, in, B, R, C);
    for (int b = 0; b < B; b++)
        for (int r = 0; r < R; r++)
            for (int c = 0; c < C; c++)
                if (out[(b * C + c) * R + r] != in[(b * R + r) * C + c])
                    fail_msg("transpose out[%d,%d,%d] = %g, expected %g", b, c, r,
                             out[(b * C + c) * R + r], in[(b * R + r) * C + c]);
    op_transpose_last2(back, out, B, C, R);
    assert_memory_equal(back, in, sizeof in);
}

static void test_vec(void **state) {
    (void)state;
    enum { n = 37 };
    gc_rng r;
    gc_seed(&r, 81);
    float a[n], b[n], d[n], a2[n], b2[n];
    gc_fill_random(&r, a, n, -1, 1);
    gc_fill_random(&r, b, n, -1, 1);
    op_vec_add(d, a, b, n);
    for (int i = 0; i < n; i++) assert_true(d[i] == a[i] + b[i]);
    memcpy(a2, a, sizeof a);
    op_vec_add(a2, a2, b, n); /* dst aliases a */
    assert_memory_equal(a2, d, sizeof d);
    memcpy(b2, b, sizeof b);
    op_vec_add(b2, a, b2, n); /* dst aliases b */
    assert_memory_equal(b2, d, sizeof d);
    memcpy(a2, a, sizeof a);
    op_vec_acc(a2, b, n);
    assert_memory_equal(a2, d, sizeof d);
    memcpy(a2, a, sizeof a);
    op_vec_acc(a2, b, 13); /* only the first 13 */
    assert_memory_equal(a2, d, 13 * sizeof(float));
    assert_memory_equal(a2 + 13, a + 13, (n - 13) * sizeof(float));
}

/* ================================================================ losses */

typedef double (*ce_fn)(const float *, int, int, float *, double);

typedef struct {
    ce_fn f;
    float *logits;
    int V, label;
} ce_ctx;

static double ce_S(void *p) {
    ce_ctx *c = p;
    return c->f(c->logits, c->V, c->label, NULL, 1.0);
}

/* FD of a per-token loss computed in double from float logits. */
static gc_result ce_fd(ce_fn f, float *logits, int V, int label, double scale, float h) {
    float *dl = gc_alloc(V);
    for (int i = 0; i < V; i++) dl[i] = 123.0f; /* must be overwritten */
    double loss = f(logits, V, label, dl, scale);
    double loss2 = f(logits, V, label, NULL, scale);
    if (loss != loss2) fail_msg("loss depends on dlogits: %.17g vs %.17g", loss, loss2);
    for (int i = 0; i < V; i++) dl[i] = (float)(dl[i] / scale);
    ce_ctx c = {f, logits, V, label};
    gc_result r = gc_fd_check(logits, V, dl, h, ce_S, &c);
    free(dl);
    return r;
}

static void test_stablemax(void **state) {
    (void)state;
    /* spec 2.2 worked example: s = (3, 0.5, 1, 1.5), sum 6 */
    float ex[4] = {2.0f, -1.0f, 0.0f, 0.5f};
    const double logp[4] = {-log(2.0), -log(12.0), -log(6.0), -log(4.0)};
    const double spec6[4] = {-0.693147, -2.484907, -1.791759, -1.386294};
    assert_near(op_stablemax_ce(ex, 4, 0, NULL, 1.0), 0.6931471805599453, 1e-12);
    for (int l = 0; l < 4; l++) {
        double loss = op_stablemax_ce(ex, 4, l, NULL, 1.0);
        assert_near(loss, -logp[l], 1e-12);
        assert_near(-loss, spec6[l], 1e-6);
    }
    /* explicit gradient of the example, label 0: s'/S - [i=0] s'(2)/s(2)
     * with s' = (1, 1/4, 1, 1) */
    float dl[4];
    op_stablemax_ce(ex, 4, 0, dl, 2.0);
    const double g[4] = {2.0 * (1.0 / 6 - 1.0 / 3), 2.0 * (0.25 / 6), 2.0 / 6, 2.0 / 6};
    assert_true(gc_check("stablemax example dlogits (scale 2)", gc_compare_d(dl, g, 4), 1e-6));

    gc_result worst = {0, 0, 0, 0};
    gc_rng r;
    gc_seed(&r, 91);
    float lg[7];
    for (int t = 0; t < 6; t++) {
        gc_fill_random(&r, lg, 7, -3, 3);
        worst = gc_worse(worst, ce_fd(op_stablemax_ce, lg, 7, t, 0.37, 1e-3f));
    }
    assert_true(gc_check("stablemax dlogits (scale 0.37) FD", worst, 1e-5));

    /* logits exactly 0 (s switches branch there; s and s' are continuous,
     * s'' is not, so the central difference has an O(h) error: small h) */
    float z[5] = {0.0f, 0.0f, -0.5f, 1.25f, 0.0f};
    worst = ce_fd(op_stablemax_ce, z, 5, 0, 1.0, 1e-5f);
    worst = gc_worse(worst, ce_fd(op_stablemax_ce, z, 5, 3, 1.0, 1e-5f));
    worst = gc_worse(worst, ce_fd(op_stablemax_ce, z, 5, 2, 1.0, 1e-5f));
    assert_true(gc_check("stablemax dlogits at logits == 0 FD", worst, 1e-4));
    /* and the value there: s = (1, 1, 2/3, 2.25, 1), S = 5.9166..., s'(0) = 1 */
    const double S0 = 1 + 1 + 1 / 1.5 + 2.25 + 1;
    assert_near(op_stablemax_ce(z, 5, 0, NULL, 1.0), log(S0), 1e-12);
    float dz[5];
    op_stablemax_ce(z, 5, 0, dz, 1.0);
    assert_near(dz[0], 1 / S0 - 1.0, 1e-6);
    assert_near(dz[1], 1 / S0, 1e-6);
    assert_near(dz[2], (1 / 2.25) / S0, 1e-6);
}

static void test_softmax(void **state) {
    (void)state;
    gc_rng r;
    gc_seed(&r, 101);
    float lg[9];
    double maxe = 0.0;
    for (int t = 0; t < 9; t++) {
        gc_fill_random(&r, lg, 9, -4, 4);
        double m = -INFINITY, z = 0.0;
        for (int i = 0; i < 9; i++) m = fmax(m, lg[i]);
        for (int i = 0; i < 9; i++) z += exp(lg[i] - m);
        double ref = m + log(z) - lg[t];
        maxe = fmax(maxe, fabs(op_softmax_ce(lg, 9, t, NULL, 1.0) - ref) / fmax(ref, 1.0));
    }
    printf("    softmax loss vs formula                      rel %.2e (tol 1e-6)\n", maxe);
    assert_true(maxe < 1e-6);
    /* spec 2.2: softmax on the stablemax example gives 0.342350 */
    float ex[4] = {2.0f, -1.0f, 0.0f, 0.5f};
    assert_near(op_softmax_ce(ex, 4, 0, NULL, 1.0), 0.342350, 1e-6);
    /* large logits: no overflow */
    float big[3] = {1000.0f, 999.0f, -1000.0f};
    double lb = op_softmax_ce(big, 3, 1, NULL, 1.0);
    assert_near(lb, 1.0 + log(1.0 + exp(-1.0)), 1e-6);

    gc_result worst = {0, 0, 0, 0};
    for (int t = 0; t < 9; t++) {
        gc_fill_random(&r, lg, 9, -4, 4);
        worst = gc_worse(worst, ce_fd(op_softmax_ce, lg, 9, t, 0.37, 1e-3f));
    }
    assert_true(gc_check("softmax dlogits (scale 0.37) FD", worst, 1e-5));
}

/* ---- label smoothing (training key label_smoothing) */

typedef double (*ce_smooth_fn)(const float *, int, int, double, float *, double);

typedef struct {
    ce_smooth_fn f;
    float *logits;
    int V, label;
    double eps;
} ces_ctx;

static double ces_S(void *p) {
    ces_ctx *c = p;
    return c->f(c->logits, c->V, c->label, c->eps, NULL, 1.0);
}

static gc_result ces_fd(ce_smooth_fn f, float *logits, int V, int label, double eps, double scale, float h) {
    float *dl = gc_alloc(V);
    for (int i = 0; i < V; i++) dl[i] = 123.0f; /* must be overwritten */
    f(logits, V, label, eps, dl, scale);
    for (int i = 0; i < V; i++) dl[i] = (float)(dl[i] / scale);
    ces_ctx c = {f, logits, V, label, eps};
    gc_result r = gc_fd_check(logits, V, dl, h, ces_S, &c);
    free(dl);
    return r;
}

/* The smoothed loss written out in double: sum_i q_i (-log p_i) with
 * q = (1 - eps) onehot + eps / V and log p from the plain loss's own
 * definition (-log p_i = ce(logits, i)). */
static double ce_smooth_ref(ce_fn plain, const float *lg, int V, int label, double eps) {
    double L = 0.0;
    for (int i = 0; i < V; i++) L += ((i == label) * (1.0 - eps) + eps / V) * plain(lg, V, i, NULL, 1.0);
    return L;
}

static void check_smooth(const char *name, ce_smooth_fn f, ce_fn plain) {
    gc_rng r;
    gc_seed(&r, 131);
    float lg[9];
    float z[5] = {0.0f, 0.0f, -0.5f, 1.25f, 0.0f}; /* stablemax's branch point */
    double maxe = 0.0;
    gc_result worst = {0, 0, 0, 0};
    const double eps[3] = {0.1, 0.2, 0.9};
    for (int e = 0; e < 3; e++)
        for (int t = 0; t < 9; t++) {
            gc_fill_random(&r, lg, 9, -4, 4);
            maxe = fmax(maxe, fabs(f(lg, 9, t, eps[e], NULL, 1.0) - ce_smooth_ref(plain, lg, 9, t, eps[e])));
            worst = gc_worse(worst, ces_fd(f, lg, 9, t, eps[e], 0.37, 1e-3f));
        }
    printf("    %s smoothed loss vs written-out target    abs %.2e (tol 1e-12)\n", name, maxe);
    assert_true(maxe < 1e-12);
    char what[96];
    snprintf(what, sizeof what, "%s label_smoothing dlogits (scale 0.37) FD", name);
    assert_true(gc_check(what, worst, 1e-5));
    worst = ces_fd(f, z, 5, 0, 0.2, 1.0, 1e-5f);
    worst = gc_worse(worst, ces_fd(f, z, 5, 3, 0.2, 1.0, 1e-5f));
    snprintf(what, sizeof what, "%s label_smoothing dlogits at logits == 0 FD", name);
    assert_true(gc_check(what, worst, 1e-4));
    /* eps = 0 is the plain loss bit for bit, value and gradient */
    float d0[9], d1[9];
    gc_fill_random(&r, lg, 9, -4, 4);
    assert_true(f(lg, 9, 4, 0.0, d0, 0.37) == plain(lg, 9, 4, d1, 0.37));
    assert_memory_equal(d0, d1, sizeof d0);
}

static void test_ce_label_smoothing(void **state) {
    (void)state;
    check_smooth("stablemax", op_stablemax_ce_smooth, op_stablemax_ce);
    check_smooth("softmax", op_softmax_ce_smooth, op_softmax_ce);
    /* the gradient of a smoothed target sums to zero over the vocabulary
     * (softmax) and, at eps = 1, pushes every class alike: the uniform
     * logits are a minimum */
    float u[4] = {0.3f, 0.3f, 0.3f, 0.3f}, du[4];
    op_softmax_ce_smooth(u, 4, 2, 1.0, du, 1.0);
    for (int i = 0; i < 4; i++) assert_near(du[i], 0.0, 1e-7);
    assert_near(op_softmax_ce_smooth(u, 4, 2, 1.0, NULL, 1.0), log(4.0), 1e-12);
}

static void test_bce(void **state) {
    (void)state;
    double dx;
    assert_near(op_bce_with_logits(-5.0, 0.0, NULL), 0.006715348489117967, 1e-15);
    assert_near(op_bce_with_logits(-5.0, 1.0, NULL), 5.006715348489118, 1e-14);
    assert_near(op_bce_with_logits(-5.0, 1.0, &dx), 5.006715348489118, 1e-14);
    assert_near(dx, 1.0 / (1.0 + exp(5.0)) - 1.0, 1e-15);
    /* large |x|: finite, and the exact asymptotics */
    const double xs[4] = {100.0, -100.0, 1000.0, -1000.0};
    for (int i = 0; i < 4; i++)
        for (int t = 0; t <= 1; t++) {
            double l = op_bce_with_logits(xs[i], t, &dx);
            assert_true(isfinite(l) && isfinite(dx));
            double expect = (xs[i] > 0) == (t == 1) ? 0.0 : fabs(xs[i]);
            assert_near(l, expect, 1e-12);
            double sig = xs[i] > 0 ? 1.0 : 0.0;
            assert_near(dx, sig - t, 1e-12);
        }
    /* dx vs central differences in double */
    const double x0[6] = {-5.0, -1.3, -0.2, 0.0, 0.7, 4.0}, ts[3] = {0.0, 1.0, 0.3};
    double maxe = 0.0;
    for (int i = 0; i < 6; i++)
        for (int k = 0; k < 3; k++) {
            const double h = 1e-5;
            op_bce_with_logits(x0[i], ts[k], &dx);
            double num = (op_bce_with_logits(x0[i] + h, ts[k], NULL) - op_bce_with_logits(x0[i] - h, ts[k], NULL)) / (2 * h);
            maxe = fmax(maxe, fabs(dx - num));
        }
    printf("    bce dx vs FD                                 abs %.2e (tol 1e-8)\n", maxe);
    assert_true(maxe < 1e-8);
}

/* ================================================================ matmul */

static double gemm_check(bool ta, bool tb, int M, int N, int K, float alpha, float beta,
                         uint64_t seed) {
    const int pad = 3;
    int lda = (ta ? M : K) + pad, ldb = (tb ? K : N) + pad + 1, ldc = N + pad + 2;
    int arows = ta ? K : M, brows = tb ? N : K;
    gc_rng r;
    gc_seed(&r, seed);
    float *A = gc_alloc((size_t)arows * lda), *B = gc_alloc((size_t)brows * ldb);
    float *C = gc_alloc((size_t)M * ldc);
    gc_fill_random(&r, A, (size_t)arows * lda, -1, 1);
    gc_fill_random(&r, B, (size_t)brows * ldb, -1, 1);
    gc_fill_random(&r, C, (size_t)M * ldc, -1, 1);
    if (beta == 0.0f) /* beta = 0: C is not read (BLAS semantics) */
        for (int i = 0; i < M; i++)
            for (int j = 0; j < N; j++) C[(size_t)i * ldc + j] = NAN;
    float *C0 = gc_dup(C, (size_t)M * ldc);
    double *ref = gc_alloc_d((size_t)M * N);
    double maxref = 0.0, maxe = 0.0;
    for (int i = 0; i < M; i++)
        for (int j = 0; j < N; j++) {
            double s = 0.0;
            for (int k = 0; k < K; k++) {
                double a = ta ? A[(size_t)k * lda + i] : A[(size_t)i * lda + k];
                double b = tb ? B[(size_t)j * ldb + k] : B[(size_t)k * ldb + j];
                s += a * b;
            }
            double c0 = beta == 0.0f ? 0.0 : C0[(size_t)i * ldc + j];
            ref[(size_t)i * N + j] = alpha * s + beta * c0;
            maxref = fmax(maxref, fabs(ref[(size_t)i * N + j]));
        }
    gemm_f32(ta, tb, M, N, K, alpha, A, lda, B, ldb, beta, C, ldc);
    for (int i = 0; i < M; i++) {
        for (int j = 0; j < N; j++) {
            double e = fabs(C[(size_t)i * ldc + j] - ref[(size_t)i * N + j]);
            maxe = isfinite(e) ? fmax(maxe, e) : INFINITY;
        }
        /* the padding past N is untouched */
        if (memcmp(C + (size_t)i * ldc + N, C0 + (size_t)i * ldc + N, (size_t)(ldc - N) * sizeof(float)))
            fail_msg("gemm_f32 wrote past column N (ta %d tb %d)", ta, tb);
    }
    free(A); free(B); free(C); free(C0); free(ref);
    return maxe / fmax(maxref, 1e-3);
}

/* Our kernels' backend on the group's ISA, else OpenBLAS (or portable). */
static trm_matmul_backend own_backend(void) {
    trm_isa isa = cpu_isa();
    return isa == TRM_ISA_AVX512 ? TRM_MATMUL_AVX512 : isa == TRM_ISA_AVX2 ? TRM_MATMUL_AVX2
         : isa == TRM_ISA_NEON ? TRM_MATMUL_NEON : TRM_MATMUL_BLAS;
}

static int teardown_backend(void **state) {
    (void)state;
    trm_matmul_set_backend(own_backend());
    return 0;
}

static void test_matmul(void **state) {
    (void)state;
    /* OpenBLAS, portable, and our kernels on this group's ISA (OpenBLAS again on the portable path) */
    const trm_matmul_backend backends[3] = {TRM_MATMUL_BLAS, TRM_MATMUL_PORTABLE, own_backend()};
    const int sizes[2][3] = {{5, 6, 7}, {37, 29, 45}}; /* the second crosses the OpenMP threshold */
    const float ab[3][2] = {{1.0f, 0.0f}, {0.7f, -0.3f}, {-1.3f, 1.0f}};
    for (int be = 0; be < 3; be++) {
        trm_matmul_backend got = trm_matmul_set_backend(backends[be]);
#ifndef TRM_HAVE_BLAS
        if (backends[be] == TRM_MATMUL_BLAS) continue; /* not in this build: portable instead */
#endif
        assert_int_equal(got, backends[be]);
        assert_int_equal(trm_matmul_get_backend(), backends[be]);
        double worst = 0.0;
        uint64_t seed = 1000;
        for (int s = 0; s < 2; s++)
            for (int t = 0; t < 4; t++)
                for (int k = 0; k < 3; k++) {
                    double e = gemm_check(t & 1, t >> 1, sizes[s][0], sizes[s][1], sizes[s][2],
                                          ab[k][0], ab[k][1], seed++);
                    if (!(e < 1e-5))
                        fail_msg("gemm_f32 %s ta %d tb %d M %d N %d K %d alpha %g beta %g: rel err %g",
                                 trm_matmul_backend_name(backends[be]), t & 1, t >> 1, sizes[s][0],
                                 sizes[s][1], sizes[s][2], ab[k][0], ab[k][1], e);
                    worst = fmax(worst, e);
                }
        /* K = 0: C = beta C */
        float C[6] = {1, 2, 3, 4, 5, 6}, A[1] = {0}, B[1] = {0};
        gemm_f32(false, false, 2, 3, 0, 1.0f, A, 1, B, 3, 0.5f, C, 3);
        for (int i = 0; i < 6; i++) assert_near(C[i], 0.5f * (i + 1), 0.0f);
        printf("    gemm_f32 %-9s 24 cases (4 trans x 3 alpha/beta x 2 sizes) rel %.2e (tol 1e-5)\n",
               trm_matmul_backend_name(trm_matmul_get_backend()), worst);
    }
    trm_matmul_set_backend(own_backend());
}

/* Every test runs once per instruction-set path this CPU has (kernels/cpu.h:
 * portable, avx2, avx512), each against the same double references; a path
 * the CPU lacks is a named skip. */
static trm_isa g_group_isa;

static int setup_isa(void **state) {
    (void)state;
    if (cpu_set_isa(g_group_isa) != g_group_isa) return -1;
    trm_matmul_set_backend(own_backend());
    return 0;
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_linear_bias),
        cmocka_unit_test(test_linear_nobias),
        cmocka_unit_test(test_embedding),
        cmocka_unit_test(test_rmsnorm),
        cmocka_unit_test(test_swiglu),
        cmocka_unit_test(test_rope_tables),
        cmocka_unit_test(test_rope),
        cmocka_unit_test(test_attention),
        cmocka_unit_test(test_composite),
        cmocka_unit_test(test_transpose),
        cmocka_unit_test(test_vec),
        cmocka_unit_test(test_stablemax),
        cmocka_unit_test(test_softmax),
        cmocka_unit_test(test_ce_label_smoothing),
        cmocka_unit_test(test_bce),
        cmocka_unit_test_teardown(test_matmul, teardown_backend),
    };
    int rc = 0;
    for (int i = 0; i < TRM_ISA_COUNT; i++) {
        if (!cpu_isa_supported((trm_isa)i)) {
            printf("ok - ops on %s # SKIP this CPU lacks %s\n", cpu_isa_name((trm_isa)i), cpu_isa_name((trm_isa)i));
            continue;
        }
        char name[64];
        snprintf(name, sizeof name, "ops on %s", cpu_isa_name((trm_isa)i));
        g_group_isa = (trm_isa)i;
        rc |= cmocka_run_group_tests_name(name, tests, setup_isa, NULL);
    }
    return rc;
}
