/* vec_ref.c - shared checks of the SIMD element-wise kernels (see vec_ref.h). */
#include "support/vec_ref.h"

#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "gradcheck.h"

float vref_atan2_replica(float y, float x) {
    if (isnan(y) || isnan(x)) return NAN;
    float a = fabsf(y);
    float num = a < x ? a : x, den = a > x ? a : x;
    float t = num / den;
    if (den == 0.0f) t = 0.0f;
    if (num == INFINITY) t = 1.0f;
    int big = t > 0.4142135623730950f;
    if (big) t = (t - 1.0f) / (t + 1.0f);
    float base = big ? 0.78539816339744830962f : 0.0f;
    float z = t * t;
    float q = fmaf(8.05374449538e-2f, z, -1.38776856032e-1f);
    q = fmaf(q, z, 1.99777106478e-1f);
    q = fmaf(q, z, -3.33329491539e-1f);
    float qz = q * z;
    float r = base + fmaf(qz, t, t);
    if (a > x) r = 1.57079632679489661923f - r;
    uint32_t rb, yb;
    memcpy(&rb, &r, 4);
    memcpy(&yb, &y, 4);
    rb |= yb & 0x80000000u;
    memcpy(&r, &rb, 4);
    return r;
}

int vref_check_atan2(void (*atan2_nonneg_x)(float *r, const float *y, const float *x, int n), int n,
                     double *worst, char *msg, size_t msg_size) {
    float *y = calloc((size_t)n, sizeof(float)), *x = calloc((size_t)n, sizeof(float)), *r = calloc((size_t)n, sizeof(float));
    if (!y || !x || !r) abort();
    gc_rng g;
    gc_seed(&g, 5);
    for (int i = 0; i < n; i++) {
        float u[3];
        gc_fill_random(&g, u, 3, -1, 1);
        y[i] = copysignf(powf(10.0f, 30.0f * u[0]), u[2]);
        x[i] = i % 7 == 0 ? fabsf(y[i]) * (1.0f + 0.01f * u[1]) : powf(10.0f, 30.0f * u[1]);
    }
    const float ey[] = {0.0f, -0.0f, 1.0f, -1.0f, INFINITY, -INFINITY, 0.0f, INFINITY, NAN, 1.0f, 1e-45f};
    const float ex[] = {0.0f, 0.0f, 0.0f, 0.0f, INFINITY, INFINITY, 5.0f, 3.0f, 1.0f, NAN, 1e-45f};
    int ne = (int)(sizeof ey / sizeof ey[0]);
    for (int i = 0; i < ne && i < n; i++) { y[i] = ey[i]; x[i] = ex[i]; }
    atan2_nonneg_x(r, y, x, n);
    int rc = 0;
    *worst = 0.0;
    for (int i = 0; i < n && rc == 0; i++) {
        float want = atan2f(y[i], x[i]), rep = vref_atan2_replica(y[i], x[i]);
        if (isnan(want)) {
            if (!isnan(r[i])) rc = -1, snprintf(msg, msg_size, "atan2(%g, %g) = %g, want NaN", y[i], x[i], r[i]);
            continue;
        }
        if (signbit(want) != signbit(r[i])) {
            snprintf(msg, msg_size, "atan2(%g, %g) = %g: sign differs from %g", y[i], x[i], r[i], want);
            rc = -1;
        } else if (memcmp(&r[i], &rep, 4)) {
            snprintf(msg, msg_size, "atan2(%.9g, %.9g) = %.9g, its scalar replica %.9g", y[i], x[i], r[i], rep);
            rc = -1;
        } else {
            double ulp = fmax(nextafterf(fabsf(want), INFINITY) - fabsf(want), 1e-45);
            double e = fabs((double)r[i] - atan2((double)y[i], (double)x[i])) / ulp;
            if (!(e <= 3.0)) {
                snprintf(msg, msg_size, "atan2(%.9g, %.9g) = %.9g, want %.9g (%.1f ulp)", y[i], x[i], r[i], want, e);
                rc = -1;
            }
            *worst = fmax(*worst, e);
        }
    }
    free(y); free(x); free(r);
    return rc;
}
