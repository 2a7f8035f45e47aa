/* muon.c - Muon: SGD momentum whose update is orthogonalised by a quintic
 * Newton-Schulz iteration (Keller Jordan's formulation), for the 2-D weight
 * matrices of the blocks. The products run on the project's matmul
 * (kernels/matmul.h): they are the whole cost of a Muon step.
 */
#include <math.h>
#include <string.h>

#include "kernels/matmul.h"
#include "optim/muon.h"
#include "trm.h"

/* Coefficients chosen (by Keller Jordan) to push every singular value of
 * the normalised matrix into roughly [0.7, 1.2] in five iterations: the
 * iteration need not converge to the exact polar factor, only near it. */
#define NS_A 3.4445f
#define NS_B (-4.7750f)
#define NS_C 2.0315f

static int imin(int a, int b) { return a < b ? a : b; }
static int imax(int a, int b) { return a > b ? a : b; }

/* X, Y [r, c] and A, B [r, r] with r = min(rows, cols). */
size_t muon_work_floats(int rows, int cols) {
    size_t r = (size_t)imin(rows, cols), c = (size_t)imax(rows, cols);
    return 2 * r * c + 2 * r * r;
}

/* dst [c, r] = src [r, c]^T */
static void transpose(const float *src, int r, int c, float *dst) {
    for (int i = 0; i < r; i++)
        for (int j = 0; j < c; j++) dst[(size_t)j * r + i] = src[(size_t)i * c + j];
}

/* X <- X / (||X||_F + 1e-7); the norm summed in double */
static void normalise(float *X, size_t n) {
    double s = 0;
    for (size_t i = 0; i < n; i++) s += (double)X[i] * X[i];
    float inv = (float)(1.0 / (sqrt(s) + 1e-7));
    for (size_t i = 0; i < n; i++) X[i] *= inv;
}

void muon_ns(const float *G, int rows, int cols, int steps, float *out, float *work) {
    bool tall = rows > cols;
    int r = imin(rows, cols), c = imax(rows, cols);
    size_t n = (size_t)r * c;
    float *X = work, *Y = X + n, *A = Y + n, *B = A + (size_t)r * r;
    if (tall) transpose(G, rows, cols, X);
    else memcpy(X, G, sizeof(float) * n);
    normalise(X, n);
    /* the reference runs this in bf16; ours stays fp32 (the bf16 products
     * of gemm_f32 would round X at every iteration) */
    trm_precision prec = trm_matmul_get_precision();
    if (prec != TRM_PRECISION_FP32) trm_matmul_set_precision(TRM_PRECISION_FP32);
    for (int s = 0; s < steps; s++) {
        gemm_f32(false, true, r, r, c, 1.0f, X, c, X, c, 0.0f, A, r);     /* A = X X^T */
        for (size_t i = 0; i < (size_t)r * r; i++) B[i] = NS_B * A[i];
        gemm_f32(false, false, r, r, r, NS_C, A, r, A, r, 1.0f, B, r);    /* B = b A + c A A */
        for (size_t i = 0; i < n; i++) Y[i] = NS_A * X[i];
        gemm_f32(false, false, r, c, r, 1.0f, B, r, X, c, 1.0f, Y, c);    /* Y = a X + B X */
        float *t = X; X = Y; Y = t;
    }
    if (prec != TRM_PRECISION_FP32) trm_matmul_set_precision(prec);
    if (tall) transpose(X, r, c, out);
    else memcpy(out, X, sizeof(float) * n);
}

void muon_update(float *W, const float *G, float *M, int rows, int cols, float lr, float mu,
                     bool nesterov, float wd, int ns_steps, float *work) {
    size_t n = (size_t)rows * cols;
    float *U = work, *ns_work = work + n;
    #pragma omp parallel for schedule(static) if (n > 65536)
    for (size_t i = 0; i < n; i++) {
        M[i] += (1.0f - mu) * (G[i] - M[i]);
        U[i] = nesterov ? G[i] + mu * (M[i] - G[i]) : M[i];
    }
    muon_ns(U, rows, cols, ns_steps, U, ns_work);
    /* scaled so that the update's RMS grows with out/in for tall matrices,
     * as in the published Muon */
    float step = lr * sqrtf(fmaxf(1.0f, (float)rows / (float)cols)), decay = 1.0f - lr * wd;
    #pragma omp parallel for schedule(static) if (n > 65536)
    for (size_t i = 0; i < n; i++) W[i] = W[i] * decay - step * U[i];
}
