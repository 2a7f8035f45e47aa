/* ops.c - forward and backward of every TRM operation (fp32, OpenMP).
 * Derivations: docs/backward.md. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "kernels/matmul.h"
#include "kernels/ops.h"
#include "kernels/cpu.h"

/* Parallelise element loops only when they are big enough to pay for the
 * fork, and never inside a parallel region of our own. */
#define PAR_MIN 32768
#define OMP_FOR _Pragma("omp parallel for schedule(static) if (!omp_in_parallel() && work > PAR_MIN)")
#include <omp.h>

/* ------------------------------------------------------------ linear */

void op_linear_forward(float *out, const float *in, const float *W, const float *b,
                    int N, int I, int O) {
    gemm_f32(false, true, N, O, I, 1.0f, in, I, W, I, 0.0f, out, O);
    if (b) {
        long work = (long)N * O;
        OMP_FOR
        for (int n = 0; n < N; n++)
            for (int o = 0; o < O; o++) out[(size_t)n * O + o] += b[o];
    }
}

void op_linear_forward_packed(float *out, const float *in, const void *Wp, bool bf16,
                           int N, int I, int O) {
    gemm_simd_packed(false, N, O, I, 1.0f, in, I, Wp, 0.0f, out, O, bf16);
}

void op_linear_backward_set(float *din, float *dW, const float *dout, const float *in,
                         const float *W, int N, int I, int O) {
    gemm_f32(false, false, N, I, O, 1.0f, dout, O, W, I, 0.0f, din, I);
    if (dW) gemm_f32(true, false, O, I, N, 1.0f, dout, O, in, I, 1.0f, dW, I);
}

void op_linear_backward(float *din, float *dW, float *db, const float *dout,
                     const float *in, const float *W, int N, int I, int O) {
    if (din) gemm_f32(false, false, N, I, O, 1.0f, dout, O, W, I, 1.0f, din, I);
    if (dW) gemm_f32(true, false, O, I, N, 1.0f, dout, O, in, I, 1.0f, dW, I);
    if (db)
        for (int n = 0; n < N; n++)
            for (int o = 0; o < O; o++) db[o] += dout[(size_t)n * O + o];
}

/* ------------------------------------------------------------ embedding */

void op_embedding_backward(float *dtable, const float *dout, const int32_t *ids,
                        int N, int D, float scale) {
    /* serial: rows with equal ids would race */
    for (int n = 0; n < N; n++) {
        float *row = dtable + (size_t)ids[n] * D;
        const float *g = dout + (size_t)n * D;
        for (int d = 0; d < D; d++) row[d] += scale * g[d];
    }
}

/* ------------------------------------------------------------ rmsnorm */

void op_add_rmsnorm_forward(float *out, float *inv_rms, const float *in, const float *res,
                         int N, int C, float eps) {
    long work = (long)N * C;
    const trm_vec_kernels *v = vec_kernels();
    OMP_FOR
    for (int n = 0; n < N; n++) {
        const float *x = in + (size_t)n * C, *rs = res ? res + (size_t)n * C : NULL;
        float *y = out + (size_t)n * C, r;
        if (v) {
            r = v->add_rmsnorm_row(y, x, rs, C, eps);
        } else {
            double ss = 0.0;
            if (rs) {
                for (int c = 0; c < C; c++) y[c] = x[c] + rs[c];
                x = y;
            }
            for (int c = 0; c < C; c++) ss += (double)x[c] * x[c];
            r = (float)(1.0 / sqrt(ss / C + eps));
            for (int c = 0; c < C; c++) y[c] = x[c] * r;
        }
        if (inv_rms) inv_rms[n] = r;
    }
}

static void rmsnorm_bwd(float *din, const float *dout, const float *out,
                        const float *inv_rms, int N, int C, bool add) {
    long work = (long)N * C;
    const trm_vec_kernels *v = vec_kernels();
    OMP_FOR
    for (int n = 0; n < N; n++) {
        const float *dy = dout + (size_t)n * C, *y = out + (size_t)n * C;
        float *dx = din + (size_t)n * C;
        if (v) { v->rmsnorm_bwd_row(dx, dy, y, inv_rms[n], C, add); continue; }
        double dot = 0.0;
        for (int c = 0; c < C; c++) dot += (double)dy[c] * y[c];
        float mean = (float)(dot / C), r = inv_rms[n];
        for (int c = 0; c < C; c++) dx[c] = (add ? dx[c] : 0.0f) + r * (dy[c] - y[c] * mean);
    }
}

void op_rmsnorm_backward(float *din, const float *dout, const float *out,
                      const float *inv_rms, int N, int C) {
    rmsnorm_bwd(din, dout, out, inv_rms, N, C, true);
}

void op_rmsnorm_backward_set(float *din, const float *dout, const float *out,
                          const float *inv_rms, int N, int C) {
    rmsnorm_bwd(din, dout, out, inv_rms, N, C, false);
}

/* ------------------------------------------------------------ swiglu */

static inline float sigmoidf_(float x) { return 1.0f / (1.0f + expf(-x)); }

void op_swiglu_forward(float *m, const float *gu, int N, int I) {
    long work = (long)N * I;
    const trm_vec_kernels *v = vec_kernels();
    OMP_FOR
    for (int n = 0; n < N; n++) {
        const float *g = gu + (size_t)n * 2 * I, *u = g + I;
        float *o = m + (size_t)n * I;
        if (v) { v->swiglu_row(o, g, u, I); continue; }
        for (int i = 0; i < I; i++) o[i] = g[i] * sigmoidf_(g[i]) * u[i];
    }
}

static void swiglu_bwd(float *dgu, const float *dm, const float *gu, int N, int I, bool add) {
    long work = (long)N * I;
    const trm_vec_kernels *v = vec_kernels();
    OMP_FOR
    for (int n = 0; n < N; n++) {
        const float *g = gu + (size_t)n * 2 * I, *u = g + I, *d = dm + (size_t)n * I;
        float *dg = dgu + (size_t)n * 2 * I, *du = dg + I;
        if (v) { v->swiglu_bwd_row(dg, du, d, g, u, I, add); continue; }
        for (int i = 0; i < I; i++) {
            float s = sigmoidf_(g[i]), silu = g[i] * s;
            dg[i] = (add ? dg[i] : 0.0f) + d[i] * u[i] * s * (1.0f + g[i] * (1.0f - s));
            du[i] = (add ? du[i] : 0.0f) + d[i] * silu;
        }
    }
}

void op_swiglu_backward(float *dgu, const float *dm, const float *gu, int N, int I) {
    swiglu_bwd(dgu, dm, gu, N, I, true);
}

void op_swiglu_backward_set(float *dgu, const float *dm, const float *gu, int N, int I) {
    swiglu_bwd(dgu, dm, gu, N, I, false);
}

/* ------------------------------------------------------------ rope */

void op_rope_tables(float *cos_t, float *sin_t, int L, int hd, float theta) {
    int half = hd / 2;
    for (int i = 0; i < half; i++) {
        /* the reference computes the frequencies in fp32 */
        float inv_freq = (float)(1.0 / pow((double)theta, (double)(2 * i) / hd));
        for (int p = 0; p < L; p++) {
            float ang = (float)p * inv_freq;
            cos_t[(size_t)p * hd + i] = cos_t[(size_t)p * hd + i + half] = cosf(ang);
            sin_t[(size_t)p * hd + i] = sin_t[(size_t)p * hd + i + half] = sinf(ang);
        }
    }
}

/* sign = +1 applies R(p), sign = -1 applies R(p)^T. */
static void rope_apply(float *x, int rows, int L, int n_heads, int hd,
                       int row_stride, const float *cos_t, const float *sin_t,
                       float sign) {
    int half = hd / 2;
    long work = (long)rows * n_heads * hd;
    OMP_FOR
    for (int r = 0; r < rows; r++) {
        const float *c = cos_t + (size_t)(r % L) * hd, *s = sin_t + (size_t)(r % L) * hd;
        for (int h = 0; h < n_heads; h++) {
            float *v = x + (size_t)r * row_stride + (size_t)h * hd;
            for (int i = 0; i < half; i++) {
                float a = v[i], b = v[i + half];
                v[i] = a * c[i] - sign * b * s[i];
                v[i + half] = b * c[i + half] + sign * a * s[i + half];
            }
        }
    }
}

void op_rope_forward(float *x, int rows, int L, int n_heads, int hd, int row_stride,
                  const float *cos_t, const float *sin_t) {
    rope_apply(x, rows, L, n_heads, hd, row_stride, cos_t, sin_t, 1.0f);
}

void op_rope_backward(float *dx, int rows, int L, int n_heads, int hd, int row_stride,
                   const float *cos_t, const float *sin_t) {
    rope_apply(dx, rows, L, n_heads, hd, row_stride, cos_t, sin_t, -1.0f);
}

/* ------------------------------------------------------------ attention */

static void softmax_rows(float *S, int R, int C) {
    const trm_vec_kernels *v = vec_kernels();
    if (v) {
        for (int r = 0; r < R; r++) v->softmax_row(S + (size_t)r * C, C);
        return;
    }
    for (int r = 0; r < R; r++) {
        float *row = S + (size_t)r * C, mx = row[0];
        for (int c = 1; c < C; c++) mx = row[c] > mx ? row[c] : mx;
        float sum = 0.0f;
        for (int c = 0; c < C; c++) sum += (row[c] = expf(row[c] - mx));
        float inv = 1.0f / sum;
        for (int c = 0; c < C; c++) row[c] *= inv;
    }
}

/* A per-thread scratch that grows and is kept: the score matrices of
 * long sequences (L = 916: 3.3 MB) would otherwise be mmap'ed, faulted in
 * and unmapped on every call. */
static _Thread_local float *tl_scratch[5];
static _Thread_local size_t tl_scratch_n[5];

static float *thread_scratch(int which, size_t n) {
    if (n > tl_scratch_n[which]) {
        free(tl_scratch[which]);
        /* 64-byte aligned: packed GEMM operands are read with aligned loads */
        tl_scratch[which] = aligned_alloc(64, (n * sizeof(float) + 63) & ~(size_t)63);
        tl_scratch_n[which] = tl_scratch[which] ? n : 0;
    }
    return tl_scratch[which];
}

/* op(B) of a head's products packed once for all its row blocks (into
 * thread scratch `slot`), when our kernels run them; NULL otherwise (the
 * OpenBLAS / portable backends), and att_gemm then takes B as it is. */
static void *att_pack(int slot, bool tb, int K, int N, const float *B, int ldb) {
    /* per-head products are small (and run inside a parallel region, so
     * never on oneDNN): the question is whether our kernels run them */
    if (!matmul_wants_packed(0)) return NULL;
    bool bf16 = matmul_bf16();
    void *p = thread_scratch(slot, (matmul_packed_b_bytes(K, N, bf16) + 3) / 4);
    if (p) matmul_pack_b(p, tb, K, N, B, ldb, bf16);
    return p;
}

static void att_gemm(bool ta, int M, int N, int K, float alpha, const float *A, int lda,
                     const void *Bp, bool tb, const float *B, int ldb, float beta, float *C, int ldc) {
    if (Bp) gemm_simd_packed(ta, M, N, K, alpha, A, lda, Bp, beta, C, ldc, matmul_bf16());
    else gemm_f32(ta, tb, M, N, K, alpha, A, lda, B, ldb, beta, C, ldc);
}

/* Attention runs per (batch, head) and, inside one, per block of ATT_ROWS
 * query rows: a block's scores (ATT_ROWS x L: 400 KB at Maze's L = 916)
 * stay in L2 from QK^T through softmax to PV, where the whole L x L
 * matrix (3.3 MB) went through memory three times. A row's weights do not
 * depend on the block it is in, so blocking changes no forward value; the
 * backward sums dK and dV over blocks. Sudoku (L = 97) is one block. */
#define ATT_ROWS 112

void op_attention_forward(float *out, float *probs, const float *qkv, int B, int L,
                       int H, int hd) {
    int D = H * hd, ld = 3 * D;
    float scale = 1.0f / sqrtf((float)hd);
    #pragma omp parallel if (!omp_in_parallel() && (long)B * H * L * L * hd > (1L << 21))
    {
        float *scratch = probs ? NULL : thread_scratch(0, (size_t)ATT_ROWS * L);
        #pragma omp for schedule(static) collapse(2)
        for (int b = 0; b < B; b++)
            for (int h = 0; h < H; h++) {
                const float *q = qkv + (size_t)b * L * ld + (size_t)h * hd;
                const float *k = q + D, *v = q + 2 * D;
                void *kT = att_pack(2, true, hd, L, k, ld), *vp = att_pack(3, false, L, hd, v, ld);
                for (int r0 = 0; r0 < L; r0 += ATT_ROWS) {
                    int R = L - r0 < ATT_ROWS ? L - r0 : ATT_ROWS;
                    float *P = probs ? probs + ((size_t)b * H + h) * L * L + (size_t)r0 * L : scratch;
                    att_gemm(false, R, L, hd, scale, q + (size_t)r0 * ld, ld, kT, true, k, ld, 0.0f, P, L);
                    softmax_rows(P, R, L);
                    att_gemm(false, R, hd, L, 1.0f, P, L, vp, false, v, ld, 0.0f,
                             out + ((size_t)b * L + r0) * D + (size_t)h * hd, D);
                }
            }
    }
}

static void attention_bwd(float *dqkv, const float *dout, const float *qkv,
                          const float *probs, int B, int L, int H, int hd, float beta) {
    int D = H * hd, ld = 3 * D;
    const trm_vec_kernels *vec = vec_kernels();
    float scale = 1.0f / sqrtf((float)hd);
    #pragma omp parallel if (!omp_in_parallel() && (long)B * H * L * L * hd > (1L << 21))
    {
        float *dP = thread_scratch(0, (size_t)ATT_ROWS * L);
        float *Pre = probs ? NULL : thread_scratch(1, (size_t)ATT_ROWS * L);
        #pragma omp for schedule(static) collapse(2)
        for (int b = 0; b < B; b++)
            for (int h = 0; h < H; h++) {
                size_t off = (size_t)b * L * ld + (size_t)h * hd;
                const float *q = qkv + off, *k = q + D, *v = q + 2 * D;
                float *dq = dqkv + off, *dk = dq + D, *dv = dq + 2 * D;
                void *kT = probs ? NULL : att_pack(2, true, hd, L, k, ld);
                void *vT = att_pack(3, true, hd, L, v, ld), *kp = att_pack(4, false, L, hd, k, ld);
                for (int r0 = 0; r0 < L; r0 += ATT_ROWS) {
                    int R = L - r0 < ATT_ROWS ? L - r0 : ATT_ROWS;
                    float bkv = r0 == 0 ? beta : 1.0f;   /* dK, dV: summed over blocks */
                    const float *qb = q + (size_t)r0 * ld, *P;
                    if (probs) {
                        P = probs + ((size_t)b * H + h) * L * L + (size_t)r0 * L;
                    } else { /* the forward's weights again, by the same code: bit for bit */
                        att_gemm(false, R, L, hd, scale, qb, ld, kT, true, k, ld, 0.0f, Pre, L);
                        softmax_rows(Pre, R, L);
                        P = Pre;
                    }
                    const float *dO = dout + ((size_t)b * L + r0) * D + (size_t)h * hd;
                    /* dV += P^T dO ; dP = dO V^T */
                    gemm_f32(true, false, L, hd, R, 1.0f, P, L, dO, D, bkv, dv, ld);
                    att_gemm(false, R, L, hd, 1.0f, dO, D, vT, true, v, ld, 0.0f, dP, L);
                    /* dS = P * (dP - rowsum(P * dP)), times the score scale */
                    if (vec) for (int i = 0; i < R; i++) vec->softmax_bwd_row(dP + (size_t)i * L, P + (size_t)i * L, L, scale);
                    else for (int i = 0; i < R; i++) {
                        const float *p = P + (size_t)i * L;
                        float *d = dP + (size_t)i * L, dot = 0.0f;
                        for (int j = 0; j < L; j++) dot += p[j] * d[j];
                        for (int j = 0; j < L; j++) d[j] = scale * p[j] * (d[j] - dot);
                    }
                    /* dQ (this block's rows) += dS K ; dK += dS^T Q */
                    att_gemm(false, R, hd, L, 1.0f, dP, L, kp, false, k, ld, beta, dq + (size_t)r0 * ld, ld);
                    gemm_f32(true, false, L, hd, R, 1.0f, dP, L, qb, ld, bkv, dk, ld);
                }
            }
    }
}

void op_attention_backward(float *dqkv, const float *dout, const float *qkv,
                        const float *probs, int B, int L, int H, int hd) {
    attention_bwd(dqkv, dout, qkv, probs, B, L, H, hd, 1.0f);
}

void op_attention_backward_set(float *dqkv, const float *dout, const float *qkv,
                            const float *probs, int B, int L, int H, int hd) {
    attention_bwd(dqkv, dout, qkv, probs, B, L, H, hd, 0.0f);
}

/* ------------------------------------------------------------ elementwise */

void op_transpose_last2(float *out, const float *in, int B, int R, int C) {
    long work = (long)B * R * C;
    const trm_vec_kernels *v = vec_kernels();
    if (v) {
        /* batch 1 has one matrix: split it in row bands so both threads work */
        int bands = B == 1 && R >= 64 ? 4 : 1;
        #pragma omp parallel for collapse(2) schedule(static) if (!omp_in_parallel() && work > PAR_MIN)
        for (int b = 0; b < B; b++)
            for (int k = 0; k < bands; k++) {
                int r0 = (int)((long)R * k / bands) / 16 * 16, r1 = k == bands - 1 ? R : (int)((long)R * (k + 1) / bands) / 16 * 16;
                if (r1 <= r0) continue;
                /* rows r0..r1 of in[b] are columns r0..r1 of out[b] */
                v->transpose(out + (size_t)b * R * C + r0, R, in + (size_t)b * R * C + (size_t)r0 * C, C,
                               r1 - r0, C);
            }
        return;
    }
    OMP_FOR
    for (int b = 0; b < B; b++) {
        const float *src = in + (size_t)b * R * C;
        float *dst = out + (size_t)b * R * C;
        for (int r = 0; r < R; r++)
            for (int c = 0; c < C; c++) dst[(size_t)c * R + r] = src[(size_t)r * C + c];
    }
}

void op_vec_add(float *dst, const float *a, const float *b, size_t n) {
    long work = (long)n;
    OMP_FOR
    for (size_t i = 0; i < n; i++) dst[i] = a[i] + b[i];
}

void op_vec_acc(float *dst, const float *a, size_t n) {
    long work = (long)n;
    OMP_FOR
    for (size_t i = 0; i < n; i++) dst[i] += a[i];
}

/* ------------------------------------------------------------ losses */

static inline double stablemax_s(double v) { return v >= 0 ? v + 1.0 : 1.0 / (1.0 - v + 1e-30); }
static inline double stablemax_ds(double v) {
    if (v >= 0) return 1.0;
    double t = 1.0 - v + 1e-30;
    return 1.0 / (t * t);
}

/* With p = s / S: -log p_i = log S - log s_i, so the smoothed loss is
 * (1 - eps)(log S - log s_l) + eps (log S - mean_i log s_i) and its
 * gradient s'_j / S - ((1 - eps)[j = l] + eps / V) s'_j / s_j. The eps
 * terms are skipped at eps = 0, which keeps the unsmoothed numbers bit for
 * bit. */
double op_stablemax_ce_smooth(const float *logits, int V, int label, double eps,
                           float *dlogits, double scale) {
    double S = 0.0, sum_log_s = 0.0;
    for (int i = 0; i < V; i++) {
        double s = stablemax_s(logits[i]);
        S += s;
        if (eps > 0) sum_log_s += log(s);
    }
    double sl = stablemax_s(logits[label]);
    if (dlogits) {
        for (int i = 0; i < V; i++) {
            double ds = stablemax_ds(logits[i]), g = ds / S;
            if (i == label) g -= (1.0 - eps) * ds / sl;
            if (eps > 0) g -= eps / V * ds / stablemax_s(logits[i]);
            dlogits[i] = (float)(scale * g);
        }
    }
    double nll = -log(sl / S);
    if (!(eps > 0)) return nll;
    return (1.0 - eps) * nll + eps * (log(S) - sum_log_s / V);
}

/* -log p_i = mx + log S - logits_i: the smoothed loss is
 * (1 - eps) nll + eps (mx + log S - mean(logits)), as PyTorch's
 * cross_entropy(label_smoothing = eps); gradient p_j - (1 - eps)[j = l] - eps / V. */
double op_softmax_ce_smooth(const float *logits, int V, int label, double eps,
                         float *dlogits, double scale) {
    double mx = logits[0];
    for (int i = 1; i < V; i++) mx = logits[i] > mx ? logits[i] : mx;
    double S = 0.0, sum = 0.0;
    for (int i = 0; i < V; i++) {
        S += exp(logits[i] - mx);
        if (eps > 0) sum += logits[i];
    }
    if (dlogits)
        for (int i = 0; i < V; i++) {
            double g = exp(logits[i] - mx) / S - (i == label) * (1.0 - eps);
            if (eps > 0) g -= eps / V;
            dlogits[i] = (float)(scale * g);
        }
    double nll = -(logits[label] - mx - log(S));
    if (!(eps > 0)) return nll;
    return (1.0 - eps) * nll + eps * (mx + log(S) - sum / V);
}

double op_bce_with_logits(double x, double t, double *dx) {
    if (dx) *dx = 1.0 / (1.0 + exp(-x)) - t;
    return (x > 0 ? x : 0) - x * t + log1p(exp(-fabs(x)));
}
