/* matmul.c - GEMM behind one interface: oneDNN's fp32 GEMM for large
 * products, the project's kernels (gemm.c on the ISA of kernels/cpu.h:
 * AVX-512 or AVX2 + FMA), OpenBLAS, or portable C, chosen at run time.
 *
 * Default: on an AVX-512 or AVX2 CPU, oneDNN when libdnnl.so.2 loads
 * (whole training steps 6-26% faster than on our kernels alone; ours
 * stays faster on small ones: batch-1 products with weights packed once
 * per step, attention's per-head products; docs/performance.md) with our
 * kernels for the small products, else our kernels alone (they beat the
 * OpenBLAS kernels Debian's OpenBLAS picks here), else OpenBLAS when
 * compiled in, else portable C. oneDNN is loaded with dlopen: it is not a
 * build dependency, and without it nothing changes but speed.
 * On ARM64 (the neon ISA): OpenBLAS when compiled in (its kernels are tuned
 * per ARM core; ours, gemm_neon.c, were only run under qemu, not timed),
 * else our NEON kernels, never portable C.
 * TRM_MATMUL=onednn | openblas | avx512 | avx2 | neon | portable in the
 * environment overrides the default (avx512 / avx2 / neon: the kernels of
 * the ISA TRM_CPU selects, so only that one is accepted), and
 * TRM_PRECISION=bf16 starts the process with bf16 products (so every
 * command can run in bf16 without an option of its own).
 * OpenBLAS is the OpenMP flavour, so its threads and ours share one pool.
 * We never touch OPENBLAS_* environment variables: the user's (or the
 * machine's) choice of kernels is respected.
 */
#include <dlfcn.h>
#include <pthread.h>
#include <signal.h>
#include <omp.h>
#include <stdlib.h>
#include <string.h>

#include "kernels/matmul.h"
#include "trm.h"

#ifdef TRM_HAVE_BLAS
#include <cblas.h>
#endif

static int g_backend = -1;      /* -1: not chosen yet */
static int g_bf16 = -1;         /* -1: not chosen yet (TRM_PRECISION=bf16 sets it) */

/* ------------------------------------------------------------ oneDNN */

/* Sanitizer builds do not load oneDNN unless TRM_MATMUL=onednn asks for it:
 * its JIT code and threads are not instrumented, and LeakSanitizer's exit
 * scan crashes once it has been loaded (measured). */
#if defined(__SANITIZE_ADDRESS__)
#define SANITIZED 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define SANITIZED 1
#endif
#endif
#ifndef SANITIZED
#define SANITIZED 0
#endif

static trm_dnnl_sgemm_fn g_dnnl;
static int g_dnnl_tried;

trm_dnnl_sgemm_fn matmul_onednn_sgemm(void) {
    if (!g_dnnl_tried) {
        g_dnnl_tried = 1;
        const char *e = getenv("TRM_MATMUL");
        if (SANITIZED && !(e && !strcmp(e, "onednn"))) return NULL;
        /* TRM_CPU=avx2 on a wider CPU: oneDNN too is held to AVX2, so the
         * forced path measures what an AVX2 machine runs (a user's own
         * setting wins) */
        if (cpu_isa() == TRM_ISA_AVX2 && cpu_isa_supported(TRM_ISA_AVX512))
            setenv("DNNL_MAX_CPU_ISA", "AVX2", 0);
        void *h = dlopen("libdnnl.so.2", RTLD_NOW | RTLD_LOCAL);
        if (h) *(void **)&g_dnnl = dlsym(h, "dnnl_sgemm");
    }
    return g_dnnl;
}

/* Small products stay on our kernels. `trm bench --gemm`, 2 threads:
 * 97x3072x512 (a batch-1 x W^T) 246-283 GFLOP/s on ours (more with the
 * per-step pre-packed weights), 170-223 on oneDNN; 3104-row products go
 * the other way. 256 rows is a point between the measured sizes, not a
 * measured crossover. */
#define ONEDNN_MIN_ROWS 256
#define ONEDNN_MIN_FLOPS 16e6

static bool onednn_takes(int M, int N, int K) {
    return (double)M * N * K >= ONEDNN_MIN_FLOPS && M >= 16 && N >= 16 && K >= 16 &&
           !omp_in_parallel();
}

/* dnnl_sgemm with asynchronous signals held off. A signal arriving inside
 * it corrupted oneDNN's heap in ~5% of interrupted training runs (glibc
 * abort in free() under dnnl_sgemm; 7 of 80 runs stopped by SIGINT at a
 * random time; 0 of 140 with signals masked, 0 of 40 without oneDNN,
 * 0 of 25 not interrupted), although trm train's handler only sets a flag: the
 * likely cause is JIT code using stack below its red zone, which a signal
 * frame overwrites. Held signals are delivered when the call returns;
 * faults (SIGSEGV and the like) stay unmasked. */
static void onednn_call(bool ta, bool tb, int M, int N, int K, float alpha, const float *A, int lda,
                        const float *B, int ldb, float beta, float *C, int ldc) {
    static const int faults[] = {SIGSEGV, SIGBUS, SIGFPE, SIGILL, SIGTRAP, SIGABRT};
    sigset_t block, old;
    sigfillset(&block);
    for (size_t i = 0; i < sizeof faults / sizeof faults[0]; i++) sigdelset(&block, faults[i]);
    pthread_sigmask(SIG_BLOCK, &block, &old);
    g_dnnl(ta ? 'T' : 'N', tb ? 'T' : 'N', M, N, K, alpha, A, lda, B, ldb, beta, C, ldc);
    pthread_sigmask(SIG_SETMASK, &old, NULL);
}

/* Whether b runs the project's kernels (gemm.c on that ISA). */
static bool own_kernels(trm_matmul_backend b) {
    return b == TRM_MATMUL_AVX512 || b == TRM_MATMUL_AVX2 || b == TRM_MATMUL_NEON;
}

/* The backend of our kernels on the active ISA, else the fallback. */
static trm_matmul_backend own_backend(void) {
    switch (cpu_isa()) {
    case TRM_ISA_AVX512: return TRM_MATMUL_AVX512;
    case TRM_ISA_AVX2: return TRM_MATMUL_AVX2;
#ifndef TRM_HAVE_BLAS
    case TRM_ISA_NEON: return TRM_MATMUL_NEON;
#endif
    default:
#ifdef TRM_HAVE_BLAS
        return TRM_MATMUL_BLAS;
#else
        return TRM_MATMUL_PORTABLE;
#endif
    }
}

static bool backend_ok(trm_matmul_backend b) {
    switch (b) {
    case TRM_MATMUL_PORTABLE: return true;
    case TRM_MATMUL_AVX512: return cpu_isa() == TRM_ISA_AVX512;
    case TRM_MATMUL_AVX2: return cpu_isa() == TRM_ISA_AVX2;
    case TRM_MATMUL_NEON: return cpu_isa() == TRM_ISA_NEON;
    case TRM_MATMUL_ONEDNN: return matmul_onednn_sgemm() != NULL;
#ifdef TRM_HAVE_BLAS
    case TRM_MATMUL_BLAS: return true;
#endif
    default: return false;
    }
}

static trm_matmul_backend backend(void) {
    /* our kernels' backend follows an ISA switched since (cpu_set_isa) */
    if (own_kernels((trm_matmul_backend)g_backend) && !backend_ok((trm_matmul_backend)g_backend))
        g_backend = (int)own_backend();
    if (g_backend < 0) {
        trm_matmul_backend b = own_backend();
        if ((b == TRM_MATMUL_AVX512 || b == TRM_MATMUL_AVX2) && backend_ok(TRM_MATMUL_ONEDNN))
            b = TRM_MATMUL_ONEDNN;
        const char *e = getenv("TRM_MATMUL");
        if (e) {
            trm_matmul_backend want = b; /* an unknown name keeps the default */
            if (trm_matmul_backend_parse(e, &want) == 0 && backend_ok(want)) b = want;
        }
        g_backend = (int)b;
    }
    return (trm_matmul_backend)g_backend;
}

trm_matmul_backend trm_matmul_set_backend(trm_matmul_backend b) {
    if (backend_ok(b)) g_backend = (int)b;
    return backend();
}

trm_matmul_backend trm_matmul_get_backend(void) { return backend(); }

int trm_matmul_backend_parse(const char *name, trm_matmul_backend *out) {
    static const struct { const char *name; trm_matmul_backend b; } names[] = {
        {"onednn", TRM_MATMUL_ONEDNN}, {"avx512", TRM_MATMUL_AVX512},  {"avx2", TRM_MATMUL_AVX2},
        {"neon", TRM_MATMUL_NEON},     {"openblas", TRM_MATMUL_BLAS},
        {"blas", TRM_MATMUL_BLAS},     {"portable", TRM_MATMUL_PORTABLE},
    };
    for (size_t i = 0; name && i < sizeof names / sizeof *names; i++)
        if (!strcmp(name, names[i].name)) {
            *out = names[i].b;
            return 0;
        }
    return -1;
}

const char *trm_matmul_backend_name(trm_matmul_backend b) {
    return b == TRM_MATMUL_BLAS ? "openblas" : b == TRM_MATMUL_AVX512 ? "avx512"
         : b == TRM_MATMUL_AVX2 ? "avx2" : b == TRM_MATMUL_NEON ? "neon"
         : b == TRM_MATMUL_ONEDNN ? "onednn" : "portable";
}

trm_precision trm_matmul_set_precision(trm_precision p) {
    g_bf16 = p == TRM_PRECISION_BF16 && cpu_has_avx512();
    return trm_matmul_get_precision();
}

bool matmul_bf16(void) {
    if (g_bf16 < 0) {
        const char *e = getenv("TRM_PRECISION");
        g_bf16 = e && !strcmp(e, "bf16") && cpu_has_avx512();
    }
    return g_bf16 == 1;
}

trm_precision trm_matmul_get_precision(void) {
    return matmul_bf16() ? TRM_PRECISION_BF16 : TRM_PRECISION_FP32;
}

bool matmul_wants_packed(int rows) {
    trm_matmul_backend be = backend();
    if (matmul_bf16()) return true;
    if (own_kernels(be)) return true;
    return be == TRM_MATMUL_ONEDNN && gemm_isa() && rows < ONEDNN_MIN_ROWS;
}

/* ------------------------------------------------------------ portable */

/* Element accessors for op(A) and op(B). */
#define AT(X, ld, t, r, c) ((t) ? (X)[(size_t)(c) * (ld) + (r)] : (X)[(size_t)(r) * (ld) + (c)])

/* Blocked over K so the inner loop streams rows of B when B is not
 * transposed (the common case for x W^T is trans_b, handled by a dot
 * product form). Accumulates in float, like BLAS. */
static void gemm_portable(bool ta, bool tb, int M, int N, int K, float alpha,
                          const float *A, int lda, const float *B, int ldb,
                          float beta, float *C, int ldc) {
    #pragma omp parallel for schedule(static) if (!omp_in_parallel() && (long)M * N * K > 32768)
    for (int i = 0; i < M; i++) {
        float *c = C + (size_t)i * ldc;
        if (beta == 0.0f) memset(c, 0, sizeof(float) * (size_t)N);
        else if (beta != 1.0f) for (int j = 0; j < N; j++) c[j] *= beta;
        if (!tb) {
            for (int k = 0; k < K; k++) {
                float a = alpha * AT(A, lda, ta, i, k);
                const float *b = B + (size_t)k * ldb;
                for (int j = 0; j < N; j++) c[j] += a * b[j];
            }
        } else {
            for (int j = 0; j < N; j++) {
                const float *b = B + (size_t)j * ldb;
                float s = 0.0f;
                if (!ta) {
                    const float *a = A + (size_t)i * lda;
                    for (int k = 0; k < K; k++) s += a[k] * b[k];
                } else {
                    for (int k = 0; k < K; k++) s += A[(size_t)k * lda + i] * b[k];
                }
                c[j] += alpha * s;
            }
        }
    }
}

void gemm_f32(bool trans_a, bool trans_b, int M, int N, int K, float alpha,
              const float *A, int lda, const float *B, int ldb, float beta,
              float *C, int ldc) {
    if (M <= 0 || N <= 0) return;
    trm_matmul_backend be = backend();
    bool bf16 = matmul_bf16();
    if (be == TRM_MATMUL_ONEDNN && !bf16) {
        if (K > 0 && onednn_takes(M, N, K)) {
            onednn_call(trans_a, trans_b, M, N, K, alpha, A, lda, B, ldb, beta, C, ldc);
            return;
        }
        /* the small products: our kernels (oneDNN itself runs on any x86) */
        be = own_backend();
    }
    if (own_kernels(be) || bf16) {
        gemm_simd(trans_a, trans_b, M, N, K, alpha, A, lda, B, ldb, beta, C, ldc, bf16);
        return;
    }
#ifdef TRM_HAVE_BLAS
    if (be == TRM_MATMUL_BLAS && K > 0) {
        cblas_sgemm(CblasRowMajor, trans_a ? CblasTrans : CblasNoTrans,
                    trans_b ? CblasTrans : CblasNoTrans, M, N, K, alpha, A, lda,
                    B, ldb, beta, C, ldc);
        return;
    }
#endif
    gemm_portable(trans_a, trans_b, M, N, K, alpha, A, lda, B, ldb, beta, C, ldc);
}
