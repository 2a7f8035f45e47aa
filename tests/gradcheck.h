/* gradcheck.h - header-only helpers for finite-difference gradient tests.
 *
 * Usage: put the inputs of an op in float arrays, write a callback that
 * computes the scalar S = sum(G * f(X)) from the current contents of those
 * arrays (G a fixed random upstream gradient), run the op's backward to get
 * the analytic dS/dX, then
 *
 *     gc_result r = gc_fd_check(x, n, analytic, h, S_callback, ctx);
 *     assert_true(gc_check("op dx", r, GC_TOL_F32));
 *
 * gc_fd_check perturbs x[i] by +-h in place (restoring it afterwards) and
 * divides by the step actually taken, (float)(x+h) - (float)(x-h), so that
 * a callback computing S in double from the float inputs gives a sharp
 * derivative (only the O(h^2) truncation error remains).
 *
 * Error measure: rel = max_i |a_i - n_i| / max(max_i |n_i|, GC_REL_FLOOR).
 * A non-finite analytic or numerical value gives rel = +inf.
 *
 * Tolerances:
 *   GC_TOL_F32  S from the float32 forward, h ~ 1e-2: S has rounding noise
 *               ~ 6e-8 * sum|G f| ~ 1e-6, divided by 2h ~ 2e-2 that gives an
 *               absolute FD noise ~ 1e-4 on O(1) gradients; 2e-3 leaves a
 *               wide margin and is still far below any convention error
 *               (a sign flip or a missing term gives rel ~ 1).
 *   GC_TOL_F64  S from a double reference forward, h ~ 1e-3: truncation
 *               ~ h^2 ~ 1e-6 and the float32 analytic gradient's own
 *               rounding ~ 1e-6, so 1e-4.
 * Everything here is static inline: include it in any test file.
 */
#ifndef TRM_TESTS_GRADCHECK_H
#define TRM_TESTS_GRADCHECK_H

#include <math.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define GC_TOL_F32 2e-3
#define GC_TOL_F64 1e-4
#define GC_REL_FLOOR 1e-3

/* ---------------------------------------------------------------- RNG */

/* splitmix64: tiny, seedable, good enough for test data. */
typedef struct {
    uint64_t s;
} gc_rng;

static inline void gc_seed(gc_rng *r, uint64_t seed) { r->s = seed; }

static inline uint64_t gc_u64(gc_rng *r) {
    uint64_t z = (r->s += 0x9E3779B97F4A7C15ull);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
}

/* Uniform in [0, 1), 53 bits. */
static inline double gc_uniform(gc_rng *r) {
    return (double)(gc_u64(r) >> 11) * (1.0 / 9007199254740992.0);
}

/* Uniform integer in [0, n). */
static inline int gc_randint(gc_rng *r, int n) {
    return (int)(gc_u64(r) % (uint64_t)n);
}

/* Standard normal (Box-Muller). */
static inline double gc_normal(gc_rng *r) {
    double u1 = 1.0 - gc_uniform(r); /* (0, 1] */
    double u2 = gc_uniform(r);
    return sqrt(-2.0 * log(u1)) * cos(6.283185307179586 * u2);
}

/* x[i] ~ U(lo, hi). */
static inline void gc_fill_random(gc_rng *r, float *x, size_t n, float lo, float hi) {
    for (size_t i = 0; i < n; i++) x[i] = (float)(lo + (hi - lo) * gc_uniform(r));
}

/* x[i] ~ N(0, std^2). */
static inline void gc_fill_normal(gc_rng *r, float *x, size_t n, float std) {
    for (size_t i = 0; i < n; i++) x[i] = (float)(std * gc_normal(r));
}

/* ---------------------------------------------------------------- memory */

/* calloc that aborts on failure (tests only). */
static inline float *gc_alloc(size_t n) {
    float *p = (float *)calloc(n ? n : 1, sizeof(float));
    if (!p) {
        fprintf(stderr, "gradcheck: out of memory\n");
        abort();
    }
    return p;
}

static inline double *gc_alloc_d(size_t n) {
    double *p = (double *)calloc(n ? n : 1, sizeof(double));
    if (!p) {
        fprintf(stderr, "gradcheck: out of memory\n");
        abort();
    }
    return p;
}

static inline float *gc_dup(const float *x, size_t n) {
    float *p = gc_alloc(n);
    memcpy(p, x, n * sizeof(float));
    return p;
}

/* ---------------------------------------------------------------- sums */

/* sum_i g[i] * f[i], accumulated in double. */
static inline double gc_dot(const float *g, const float *f, size_t n) {
    double s = 0.0;
    for (size_t i = 0; i < n; i++) s += (double)g[i] * (double)f[i];
    return s;
}

static inline double gc_dot_d(const float *g, const double *f, size_t n) {
    double s = 0.0;
    for (size_t i = 0; i < n; i++) s += (double)g[i] * f[i];
    return s;
}

/* out[i] = a[i] - b[i]: the part a backward added to a pre-filled buffer. */
static inline void gc_sub(float *out, const float *a, const float *b, size_t n) {
    for (size_t i = 0; i < n; i++) out[i] = a[i] - b[i];
}

/* ---------------------------------------------------------------- compare */

typedef struct {
    double max_abs_err; /* max |a - ref| */
    double max_abs_ref; /* max |ref| */
    double rel;         /* max_abs_err / max(max_abs_ref, GC_REL_FLOOR) */
    size_t worst;       /* index of the largest error */
} gc_result;

static inline gc_result gc_compare_d(const float *a, const double *ref, size_t n) {
    gc_result r = {0.0, 0.0, 0.0, 0};
    int bad = 0;
    for (size_t i = 0; i < n; i++) {
        double e = fabs((double)a[i] - ref[i]);
        if (!isfinite(e)) {
            if (!bad) r.worst = i;
            bad = 1;
            continue;
        }
        if (e > r.max_abs_err) {
            r.max_abs_err = e;
            if (!bad) r.worst = i;
        }
        if (fabs(ref[i]) > r.max_abs_ref) r.max_abs_ref = fabs(ref[i]);
    }
    r.rel = r.max_abs_err / fmax(r.max_abs_ref, GC_REL_FLOOR);
    if (bad) r.rel = r.max_abs_err = INFINITY;
    return r;
}

static inline gc_result gc_compare(const float *a, const float *ref, size_t n) {
    double *d = gc_alloc_d(n);
    for (size_t i = 0; i < n; i++) d[i] = ref[i];
    gc_result r = gc_compare_d(a, d, n);
    free(d);
    return r;
}

/* Merges two results into the worse one (for reporting one number). */
static inline gc_result gc_worse(gc_result a, gc_result b) { return b.rel > a.rel ? b : a; }

/* Prints one line and returns 1 when r.rel <= tol. */
static inline int gc_check(const char *what, gc_result r, double tol) {
    int ok = r.rel <= tol; /* false for NaN / inf */
    printf("    %-44s rel %.2e  (abs %.2e, max|ref| %.2e, at %zu; tol %.0e)%s\n", what,
           r.rel, r.max_abs_err, r.max_abs_ref, r.worst, tol, ok ? "" : "  FAIL");
    fflush(stdout);
    return ok;
}

/* ---------------------------------------------------------------- FD */

/* Computes S from the current contents of the inputs. */
typedef double (*gc_scalar_fn)(void *ctx);

/* Central differences of S with respect to x[i] for i = 0, stride,
 * 2 stride, ... (stride >= 1), compared with analytic[i]. x is modified
 * during the call and restored exactly. */
static inline gc_result gc_fd_check_strided(float *x, size_t n, const float *analytic,
                                            float h, gc_scalar_fn S, void *ctx,
                                            size_t stride) {
    if (stride == 0) stride = 1;
    size_t m = (n + stride - 1) / stride;
    double *num = gc_alloc_d(m);
    float *ana = gc_alloc(m);
    for (size_t k = 0, i = 0; i < n; i += stride, k++) {
        float orig = x[i];
        float xp = orig + h, xm = orig - h;
        x[i] = xp;
        double sp = S(ctx);
        x[i] = xm;
        double sm = S(ctx);
        x[i] = orig;
        num[k] = (sp - sm) / ((double)xp - (double)xm);
        ana[k] = analytic[i];
    }
    gc_result r = gc_compare_d(ana, num, m);
    r.worst *= stride;
    free(num);
    free(ana);
    return r;
}

static inline gc_result gc_fd_check(float *x, size_t n, const float *analytic, float h,
                                    gc_scalar_fn S, void *ctx) {
    return gc_fd_check_strided(x, n, analytic, h, S, ctx, 1);
}

/* The same for a scalar function of doubles (losses computed in double):
 * num = (S(x+h) - S(x-h)) / 2h for every x[i]. */
static inline gc_result gc_fd_check_d(double *x, size_t n, const double *analytic,
                                      double h, gc_scalar_fn S, void *ctx) {
    double *num = gc_alloc_d(n);
    gc_result r = {0.0, 0.0, 0.0, 0};
    int bad = 0;
    for (size_t i = 0; i < n; i++) {
        double orig = x[i];
        x[i] = orig + h;
        double sp = S(ctx);
        x[i] = orig - h;
        double sm = S(ctx);
        x[i] = orig;
        num[i] = (sp - sm) / (2.0 * h);
        double e = fabs(analytic[i] - num[i]);
        if (!isfinite(e)) {
            bad = 1;
            r.worst = i;
            continue;
        }
        if (e > r.max_abs_err) {
            r.max_abs_err = e;
            r.worst = i;
        }
        if (fabs(num[i]) > r.max_abs_ref) r.max_abs_ref = fabs(num[i]);
    }
    r.rel = r.max_abs_err / fmax(r.max_abs_ref, GC_REL_FLOOR);
    if (bad) r.rel = r.max_abs_err = INFINITY;
    free(num);
    return r;
}

#endif /* TRM_TESTS_GRADCHECK_H */
