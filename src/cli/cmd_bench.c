/* cmd_bench.c - `trm bench`: speed of training and solving on a preset.
 *
 * Training step = one ACT supervision step on a random batch, loss,
 * backward, AdamATan2 (+ sign-SGD) and EMA: what `trm train` does per
 * step. Solving = trm_solve: halt_max_steps evaluation steps from a fresh
 * carry and the answers' argmax: what `trm solve` / `trm eval` do per
 * batch. Prints examples/s, achieved GFLOP/s (matrix products, spec
 * 1.12's accounting), MFU against the
 * CPU's FMA peak measured here and now (and against the best sgemm this
 * process can run), peak RSS, and with --profile the time per op family.
 * --gemm measures the matrix-product backends instead (OpenBLAS as the
 * environment configures it, the project's AVX-512 fp32 / bf16 kernels,
 * and oneDNN when libdnnl.so.2 can be loaded).
 */
#include <dlfcn.h>
#include <getopt.h>
#include <math.h>
#include <omp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>

#include "cli/cli.h"
#include "kernels/matmul.h"
#include "kernels/prof.h"
#include "trm.h"

#if defined(__x86_64__) && defined(__GNUC__)
#include <immintrin.h>
#define BENCH_X86 1
#else
#define BENCH_X86 0
#endif

static void usage(FILE *out) {
    fprintf(out,
            "usage: trm bench [--preset NAME] [--batch B] [--mode train|solve|both] [options]\n"
            "       trm bench --gemm [--precision fp32|bf16]\n\n"
            "Times training steps and/or solving on random data for a preset and\n"
            "prints examples/s, GFLOP/s, MFU (against the FMA peak measured here)\n"
            "and peak RSS. docs/performance.md explains every number.\n\n"
            "  --preset NAME        one of: %s (default sudoku-att)\n"
            "  --batch B            examples per batch (default 32 for train, 1 for solve)\n"
            "  --mode M             train, solve or both (default both)\n"
            "  --steps K            timed training steps / solves; the median is reported (default 3)\n"
            "  --warmup W           untimed steps first (default 1)\n"
            "  --solve-steps S      supervision steps per solve (default halt_max_steps)\n"
            "  --precision P        fp32 (default) or bf16 matrix products\n"
            "  --matmul NAME        onednn, avx512, avx2, neon, openblas or portable (default: the library's choice;\n"
            "                       avx512 / avx2 / neon need that ISA active: TRM_CPU=avx2 selects the AVX2 kernels)\n"
            "  --set key=value      override a config field\n"
            "  --profile            time per op family (matmul, attention, norms, ...)\n"
            "  --no-peak            skip measuring the FMA peak and sgemm ceiling\n"
            "  --gemm               benchmark the matrix-product backends on the model's shapes\n"
            "  --json               one JSON object on stdout instead of the report\n"
            CLI_MEMCHECK_HELP,
            trm_preset_names());
}

/* ------------------------------------------------------------ peaks */

#if BENCH_X86
/* 12 independent FMA chains per thread (named registers, not an array, so
 * nothing goes through memory): enough to cover latency x FMA ports. */
#define CH(X) X(0) X(1) X(2) X(3) X(4) X(5) X(6) X(7) X(8) X(9) X(10) X(11)
__attribute__((target("avx512f"))) static double fma_loop_512(long iters) {
    __m512 b = _mm512_set1_ps(0.999999f), c = _mm512_set1_ps(1e-7f);
#define D5(i) __m512 a##i = _mm512_set1_ps((float)i);
    CH(D5)
    for (long it = 0; it < iters; it++) {
#define F5(i) a##i = _mm512_fmadd_ps(a##i, b, c);
        CH(F5)
        __asm__ volatile("" ::: "memory");
    }
    float s = 0;
#define S5(i) s += _mm512_reduce_add_ps(a##i);
    CH(S5)
    return s;
}
__attribute__((target("avx2,fma"))) static double fma_loop_256(long iters) {
    __m256 b = _mm256_set1_ps(0.999999f), c = _mm256_set1_ps(1e-7f);
#define D2(i) __m256 a##i = _mm256_set1_ps((float)i);
    CH(D2)
    for (long it = 0; it < iters; it++) {
#define F2(i) a##i = _mm256_fmadd_ps(a##i, b, c);
        CH(F2)
        __asm__ volatile("" ::: "memory");
    }
    float s = 0, t[8];
#define S2(i) _mm256_storeu_ps(t, a##i); for (int j = 0; j < 8; j++) s += t[j];
    CH(S2)
    return s;
}
#endif

/* Peak fp32 FMA GFLOP/s of all threads running at once (best of 3). */
static double measure_fma_peak(int *lanes) {
#if BENCH_X86
    bool w512 = cpu_has_avx512();
    *lanes = w512 ? 16 : 8;
    long iters = 4000000;
    double best = 0, sink = 0;
    for (int rep = 0; rep < 3; rep++) {
        double t0 = trm_prof_now();
        #pragma omp parallel reduction(+ : sink)
        sink += w512 ? fma_loop_512(iters) : fma_loop_256(iters);
        double dt = trm_prof_now() - t0;
        double fl = (double)iters * 12 * (*lanes) * 2 * omp_get_max_threads();
        if (fl / dt > best) best = fl / dt;
    }
    if (sink == 12345.678) fprintf(stderr, " ");
    return best / 1e9;
#else
    *lanes = 1;
    return 0;
#endif
}

static float *rand_buf(size_t n, uint64_t *s) {
    float *p = malloc(n * sizeof(float));
    if (!p) return NULL;
    for (size_t i = 0; i < n; i++) {
        *s = *s * 6364136223846793005ull + 1442695040888963407ull;
        p[i] = (float)((*s >> 40) & 0xffff) / 65536.0f - 0.5f;
    }
    return p;
}

/* oneDNN, loaded at run time when present (no build dependency): the fp32
 * GEMM through the engine's loader, the bf16 one for comparison only. */
typedef int (*dnnl_bf16_fn)(char, char, int64_t, int64_t, int64_t, float, const uint16_t *, int64_t,
                            const uint16_t *, int64_t, float, float *, int64_t);
static trm_dnnl_sgemm_fn g_dnnl_sgemm;
static dnnl_bf16_fn g_dnnl_bf16;

static void load_dnnl(void) {
    static int tried;
    if (tried++) return;
    if (!(g_dnnl_sgemm = matmul_onednn_sgemm())) return;
    void *h = dlopen("libdnnl.so.2", RTLD_NOW | RTLD_LOCAL | RTLD_NOLOAD);
    if (h) *(void **)&g_dnnl_bf16 = dlsym(h, "dnnl_gemm_bf16bf16f32");
}

typedef enum { GB_OPENBLAS, GB_AVX512, GB_AVX512_BF16, GB_DNNL, GB_DNNL_BF16, GB_PORTABLE, GB_N } gemm_be;
static const char *GB_NAMES[GB_N] = {"openblas", "avx512", "avx512-bf16", "onednn", "onednn-bf16", "portable"};

/* GB_AVX512 is our fp32 kernels on whichever ISA runs (TRM_CPU=avx2: the AVX2 ones) */
static const char *gb_name(gemm_be b) { return b == GB_AVX512 ? trm_cpu_isa_active() : GB_NAMES[b]; }

static bool gemm_be_ok(gemm_be b) {
    switch (b) {
    case GB_OPENBLAS: {
        trm_matmul_backend prev = trm_matmul_get_backend();
        bool ok = trm_matmul_set_backend(TRM_MATMUL_BLAS) == TRM_MATMUL_BLAS;
        trm_matmul_set_backend(prev);
        return ok;
    }
    case GB_AVX512: return gemm_isa() != NULL; /* our kernels on the active ISA (avx2, avx512, neon) */
    case GB_AVX512_BF16: return cpu_has_avx512();
    case GB_DNNL: load_dnnl(); return g_dnnl_sgemm != NULL;
    case GB_DNNL_BF16: load_dnnl(); return g_dnnl_bf16 != NULL && cpu_has_avx512bf16();
    default: return true;
    }
}

static double bench_now(void) { return trm_prof_now(); }

/* Median GFLOP/s of op(A)[M,K] op(B)[K,N] on backend b. */
static double time_gemm(gemm_be b, bool ta, bool tb, int M, int N, int K, int reps) {
    uint64_t s = 42;
    float *A = rand_buf((size_t)M * K, &s), *B = rand_buf((size_t)K * N, &s), *C = rand_buf((size_t)M * N, &s);
    uint16_t *Ah = NULL, *Bh = NULL;
    if (b == GB_DNNL_BF16) {
        Ah = malloc(sizeof(uint16_t) * (size_t)M * K);
        Bh = malloc(sizeof(uint16_t) * (size_t)K * N);
        for (size_t i = 0; i < (size_t)M * K; i++) Ah[i] = matmul_f32_to_bf16(A[i]);
        for (size_t i = 0; i < (size_t)K * N; i++) Bh[i] = matmul_f32_to_bf16(B[i]);
    }
    int lda = ta ? M : K, ldb = tb ? K : N;
    trm_matmul_backend prev = trm_matmul_get_backend();
    trm_precision pp = trm_matmul_get_precision();
    double t[16];
    if (reps > 16) reps = 16;
    for (int r = -1; r < reps; r++) {
        double t0 = bench_now();
        switch (b) {
        case GB_OPENBLAS: trm_matmul_set_backend(TRM_MATMUL_BLAS); trm_matmul_set_precision(TRM_PRECISION_FP32);
            gemm_f32(ta, tb, M, N, K, 1, A, lda, B, ldb, 0, C, N); break;
        case GB_PORTABLE: trm_matmul_set_backend(TRM_MATMUL_PORTABLE); trm_matmul_set_precision(TRM_PRECISION_FP32);
            gemm_f32(ta, tb, M, N, K, 1, A, lda, B, ldb, 0, C, N); break;
        case GB_AVX512: gemm_simd(ta, tb, M, N, K, 1, A, lda, B, ldb, 0, C, N, false); break;
        case GB_AVX512_BF16: gemm_simd(ta, tb, M, N, K, 1, A, lda, B, ldb, 0, C, N, true); break;
        case GB_DNNL: g_dnnl_sgemm(ta ? 'T' : 'N', tb ? 'T' : 'N', M, N, K, 1, A, lda, B, ldb, 0, C, N); break;
        case GB_DNNL_BF16: g_dnnl_bf16(ta ? 'T' : 'N', tb ? 'T' : 'N', M, N, K, 1, Ah, lda, Bh, ldb, 0, C, N); break;
        default: break;
        }
        if (r >= 0) t[r] = bench_now() - t0;
    }
    trm_matmul_set_backend(prev);
    trm_matmul_set_precision(pp);
    for (int i = 1; i < reps; i++)
        for (int j = i; j > 0 && t[j] < t[j - 1]; j--) { double x = t[j]; t[j] = t[j - 1]; t[j - 1] = x; }
    free(A); free(B); free(C); free(Ah); free(Bh);
    return 2.0 * M * N * K / t[reps / 2] / 1e9;
}

/* ------------------------------------------------------------ helpers */

static double median(double *v, int n) {
    for (int i = 1; i < n; i++)
        for (int j = i; j > 0 && v[j] < v[j - 1]; j--) { double x = v[j]; v[j] = v[j - 1]; v[j - 1] = x; }
    return n ? (n % 2 ? v[n / 2] : 0.5 * (v[n / 2 - 1] + v[n / 2])) : 0;
}

static double peak_rss_mb(void) {
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    return ru.ru_maxrss / 1024.0;
}

static uint64_t g_rng = 0x9e3779b97f4a7c15ull;
static int rnd(int n) {
    g_rng ^= g_rng << 13; g_rng ^= g_rng >> 7; g_rng ^= g_rng << 17;
    return (int)(g_rng % (uint64_t)n);
}

static void random_batch(const trm_config *c, int B, int32_t *in, int32_t *lab, int32_t *pid) {
    for (int i = 0; i < B * c->seq_len; i++) {
        in[i] = 1 + rnd(c->vocab_size - 1);
        lab[i] = 1 + rnd(c->vocab_size - 1);
    }
    for (int b = 0; b < B; b++) pid[b] = rnd(c->num_puzzle_identifiers);
}

typedef struct {
    double step_s, ex_per_s, gflops, rss_mb, prof[PROF_N], prof_total;
    bool ok;
} run_result;

/* ------------------------------------------------------------ train */

static int bench_train(const trm_config *c, int B, int steps, int warmup, bool profile,
                       run_result *r, trm_err *e) {
    trm_model *m = trm_model_new(c, 1, e);
    if (!m) return -1;
    trm_optim_config oc;
    trm_optim_config_default(&oc);
    trm_optim *opt = trm_optim_new(m, &oc, e);
    trm_ema *ema = opt ? trm_ema_new(m, 0.999f, e) : NULL;
    trm_act *a = ema ? trm_act_new(m, B, TRM_TRAIN, 7, e) : NULL;
    int32_t *in = malloc(sizeof(int32_t) * (size_t)B * c->seq_len);
    int32_t *lab = malloc(sizeof(int32_t) * (size_t)B * c->seq_len);
    int32_t *pid = malloc(sizeof(int32_t) * (size_t)B);
    double *t = calloc((size_t)steps + 1, sizeof(double));
    int rc = -1;
    if (!a || !in || !lab || !pid || !t) { if (a) trm_errf(e, "out of memory"); goto out; }
    for (int s = -warmup; s < steps; s++) {
        if (s == 0) { prof_reset(); prof_enabled = profile; }
        double t0 = trm_prof_now();
        PROF(PROF_DATA, random_batch(c, B, in, lab, pid));
        trm_batch bt = {B, in, lab, pid};
        if (trm_act_step(m, a, &bt, NULL, e)) goto out;
        trm_metrics mt;
        PROF(PROF_HEADS, trm_act_loss(m, a, TRM_LOSS_STABLEMAX, &mt));
        PROF(PROF_OPTIM, trm_model_zero_grad(m));
        if (trm_act_backward(m, a, 1.0f / B, e)) goto out;
        PROF(PROF_OPTIM, trm_optim_step(opt, m, a));
        PROF(PROF_OPTIM, trm_ema_update(ema, m));
        if (s >= 0) t[s] = trm_prof_now() - t0;
        if (!isfinite(mt.total)) { trm_errf(e, "loss is not finite"); goto out; }
    }
    prof_enabled = false;
    double total = 0;
    for (int s = 0; s < steps; s++) total += t[s];
    for (int k = 0; k < PROF_N; k++) r->prof[k] = prof_seconds[k] / steps;
    r->prof_total = total / steps;
    r->step_s = median(t, steps);
    r->ex_per_s = B / r->step_s;
    r->gflops = trm_step_flops(c, B, TRM_TRAIN) / r->step_s / 1e9;
    r->rss_mb = peak_rss_mb();
    r->ok = true;
    rc = 0;
out:
    prof_enabled = false;
    free(in); free(lab); free(pid); free(t);
    trm_act_free(a);
    trm_ema_free(ema);
    trm_optim_free(opt);
    trm_model_free(m);
    return rc;
}

/* ------------------------------------------------------------ solve */

static int bench_solve(const trm_config *c, int B, int steps, int warmup, int sup_steps,
                       bool profile, run_result *r, trm_err *e) {
    trm_model *m = trm_model_new(c, 1, e);
    if (!m) return -1;
    trm_act *a = trm_act_new(m, B, TRM_EVAL, 7, e);
    int32_t *in = malloc(sizeof(int32_t) * (size_t)B * c->seq_len);
    int32_t *lab = malloc(sizeof(int32_t) * (size_t)B * c->seq_len);
    int32_t *pid = malloc(sizeof(int32_t) * (size_t)B);
    int32_t *pred = malloc(sizeof(int32_t) * (size_t)B * c->seq_len);
    double *t = calloc((size_t)steps + 1, sizeof(double));
    int rc = -1;
    if (!a || !in || !lab || !pid || !pred || !t) { if (a) trm_errf(e, "out of memory"); goto out; }
    trm_solve_opts so = {.max_steps = sup_steps};
    trm_solve_out sout = {.tokens = pred};
    for (int s = -warmup; s < steps; s++) {
        if (s == 0) { prof_reset(); prof_enabled = profile; }
        random_batch(c, B, in, lab, pid);
        trm_batch bt = {B, in, NULL, pid};
        double t0 = trm_prof_now();
        if (trm_solve(m, a, &bt, &so, &sout, e)) goto out;
        if (s >= 0) t[s] = trm_prof_now() - t0;
    }
    prof_enabled = false;
    double total = 0;
    for (int s = 0; s < steps; s++) total += t[s];
    for (int k = 0; k < PROF_N; k++) r->prof[k] = prof_seconds[k] / steps;
    r->prof_total = total / steps;
    r->step_s = median(t, steps);
    r->ex_per_s = B / r->step_s;
    r->gflops = trm_step_flops(c, B, TRM_EVAL) * sup_steps / r->step_s / 1e9;
    r->rss_mb = peak_rss_mb();
    r->ok = true;
    rc = 0;
out:
    prof_enabled = false;
    free(in); free(lab); free(pid); free(pred); free(t);
    trm_act_free(a);
    trm_model_free(m);
    return rc;
}

/* ------------------------------------------------------------ gemm table */

static int bench_gemm(const trm_config *c, bool json) {
    int D = c->hidden_size, L = trm_config_total_len(c), I = trm_swiglu_width(D, c->expansion);
    int N32 = 32 * L;
    struct { const char *what; bool ta, tb; int M, N, K; } shapes[] = {
        {"square 1536", false, false, 1536, 1536, 1536},
        {"qkv fwd (B32)", false, true, N32, 3 * D, D},
        {"gate_up fwd (B32)", false, true, N32, 2 * I, D},
        {"down fwd (B32)", false, true, N32, D, I},
        {"down dX (B32)", false, false, N32, I, D},
        {"down dW (B32)", true, false, D, I, N32},
        {"gate_up fwd (B1)", false, true, L, 2 * I, D},
        {"attn QK^T head", false, true, L, L, D / c->num_heads},
    };
    int n = sizeof shapes / sizeof shapes[0];
    if (json) printf("{\"gemm\":[");
    else {
        printf("GFLOP/s (median of 5, %d threads; OPENBLAS_CORETYPE=%s)\n", omp_get_max_threads(),
               getenv("OPENBLAS_CORETYPE") ? getenv("OPENBLAS_CORETYPE") : "(unset)");
        printf("%-20s %6s %6s %6s", "shape", "M", "N", "K");
        for (int b = 0; b < GB_N; b++) if (b != GB_PORTABLE && gemm_be_ok(b)) printf(" %11s", gb_name(b));
        printf("\n");
    }
    for (int i = 0; i < n; i++) {
        if (json) printf("%s{\"shape\":\"%s\",\"M\":%d,\"N\":%d,\"K\":%d", i ? "," : "", shapes[i].what,
                         shapes[i].M, shapes[i].N, shapes[i].K);
        else printf("%-20s %6d %6d %6d", shapes[i].what, shapes[i].M, shapes[i].N, shapes[i].K);
        for (int b = 0; b < GB_N; b++) {
            if (b == GB_PORTABLE || !gemm_be_ok(b)) continue;
            double g = time_gemm(b, shapes[i].ta, shapes[i].tb, shapes[i].M, shapes[i].N, shapes[i].K, 5);
            if (json) printf(",\"%s\":%.1f", gb_name(b), g);
            else { printf(" %11.1f", g); fflush(stdout); }
        }
        printf(json ? "}" : "\n");
    }
    if (json) printf("]}\n");
    return 0;
}

/* ------------------------------------------------------------ report */

static void print_result(const char *what, const run_result *r, int B, double peak, double ceil,
                         bool profile, bool json, bool first) {
    if (json) {
        printf("%s\"%s\":{\"batch\":%d,\"seconds\":%.4f,\"examples_per_s\":%.4f,\"gflops\":%.2f,"
               "\"mfu\":%.4f,\"sgemm_fraction\":%.4f,\"peak_rss_mb\":%.1f",
               first ? "" : ",", what, B, r->step_s, r->ex_per_s, r->gflops, peak > 0 ? r->gflops / peak : 0,
               ceil > 0 ? r->gflops / ceil : 0, r->rss_mb);
        if (profile) {
            printf(",\"profile\":{");
            double covered = 0;
            for (int k = 0; k < PROF_N; k++) {
                printf("\"%s\":%.4f,", prof_name(k), r->prof[k]);
                covered += r->prof[k];
            }
            printf("\"other\":%.4f}", r->prof_total - covered);
        }
        printf("}");
        return;
    }
    printf("%-6s batch %-4d %9.3f s  %9.2f examples/s  %7.1f GFLOP/s  MFU %5.1f%%  (%5.1f%% of sgemm)  peak RSS %.0f MB\n",
           what, B, r->step_s, r->ex_per_s, r->gflops, peak > 0 ? 100 * r->gflops / peak : 0,
           ceil > 0 ? 100 * r->gflops / ceil : 0, r->rss_mb);
    if (profile) {
        double covered = 0;
        printf("       profile (s per %s):", !strcmp(what, "train") ? "step" : "solve");
        for (int k = 0; k < PROF_N; k++) {
            if (r->prof[k] <= 0) continue;
            printf(" %s %.3f (%.0f%%)", prof_name(k), r->prof[k], 100 * r->prof[k] / r->prof_total);
            covered += r->prof[k];
        }
        printf(" other %.3f\n", r->prof_total - covered);
    }
    fflush(stdout);
}

/* Fails before any allocation when the runs would not fit in memory. */
static int check_memory(const trm_config *c, bool train, bool solve, int batch, bool ignore) {
    int64_t params = trm_config_num_params(c);
    char what[64];
    snprintf(what, sizeof what, "training at batch %d", batch ? batch : 32);
    if (train && cli_memory_check("bench", cli_train_bytes(c, params, batch ? batch : 32, 0), what, ignore)) return 1;
    snprintf(what, sizeof what, "solving at batch %d", batch ? batch : 1);
    if (solve && cli_memory_check("bench", cli_solve_bytes(c, params, batch ? batch : 1), what, ignore)) return 1;
    return 0;
}

int cmd_bench(int argc, char **argv) {
    static const struct option opts[] = {
        {"preset", required_argument, 0, 'p'}, {"batch", required_argument, 0, 'b'},
        {"mode", required_argument, 0, 'm'}, {"steps", required_argument, 0, 'k'},
        {"warmup", required_argument, 0, 'w'}, {"solve-steps", required_argument, 0, 'S'},
        {"precision", required_argument, 0, 'P'}, {"matmul", required_argument, 0, 'M'},
        {"set", required_argument, 0, 's'}, {"profile", no_argument, 0, 'r'},
        {"no-peak", no_argument, 0, 'n'}, {"gemm", no_argument, 0, 'g'},
        {"json", no_argument, 0, 'j'}, {"ignore-memory-check", no_argument, 0, 'I'},
        {"help", no_argument, 0, 'h'}, {0, 0, 0, 0}};
    const char *preset = "sudoku-att", *mode = "both", *prec = "fp32", *mm = NULL;
    int batch = 0, steps = 3, warmup = 1, sup = 0, n_sets = 0, o;
    bool profile = false, json = false, no_peak = false, gemm = false, no_memcheck = false;
    char *sets[64];
    optind = 1;
    opterr = 0;
    while ((o = getopt_long(argc, argv, "p:b:m:k:w:S:P:M:s:rngjh", opts, NULL)) != -1) {
        switch (o) {
        case 'p': preset = optarg; break;
        case 'b': if (opt_int("bench", "--batch", optarg, 1, 1000000, &batch)) return 1; break;
        case 'm': mode = optarg; break;
        case 'k': if (opt_int("bench", "--steps", optarg, 1, 1000000, &steps)) return 1; break;
        case 'w': if (opt_int("bench", "--warmup", optarg, 0, 1000000, &warmup)) return 1; break;
        case 'S': if (opt_int("bench", "--solve-steps", optarg, 1, 100000, &sup)) return 1; break;
        case 'P': prec = optarg; break;
        case 'M': mm = optarg; break;
        case 's':
            if (n_sets == 64) return die("bench", "too many --set options (max 64)");
            sets[n_sets++] = optarg;
            break;
        case 'r': profile = true; break;
        case 'n': no_peak = true; break;
        case 'g': gemm = true; break;
        case 'j': json = true; break;
        case 'I': no_memcheck = true; break;
        case 'h': usage(stdout); return 0;
        default: return bad_option("bench", argc, argv) + 1;
        }
    }
    if (optind < argc) return die("bench", "unexpected argument '%s' (see trm bench --help)", argv[optind]);
    bool do_train = !strcmp(mode, "train") || !strcmp(mode, "both");
    bool do_solve = !strcmp(mode, "solve") || !strcmp(mode, "both");
    if (!do_train && !do_solve) return die("bench", "--mode: expected train, solve or both, got '%s'", mode);
    if (strcmp(prec, "fp32") && strcmp(prec, "bf16"))
        return die("bench", "--precision: expected fp32 or bf16, got '%s'", prec);
    if (!strcmp(prec, "bf16") && trm_matmul_set_precision(TRM_PRECISION_BF16) != TRM_PRECISION_BF16)
        return die("bench", "--precision bf16: needs an AVX-512 CPU");
    if (mm) {
        trm_matmul_backend want;
        if (trm_matmul_backend_parse(mm, &want)) return die("bench", "--matmul: expected onednn, avx512, avx2, neon, openblas or portable, got '%s'", mm);
        if (trm_matmul_set_backend(want) != want) return die("bench", "--matmul %s: not available in this build or CPU", mm);
    }
    const char *cputime = getenv("TRM_BENCH_CPUTIME"); /* set and not "0": CPU time */
    if (cputime && *cputime && strcmp(cputime, "0")) prof_clock = CLOCK_PROCESS_CPUTIME_ID;
    trm_err e;
    trm_config c;
    if (trm_config_preset(&c, preset, &e)) return die("bench", "%s", e.msg);
    for (int i = 0; i < n_sets; i++) {
        char *eq = strchr(sets[i], '=');
        if (!eq) return die("bench", "--set %s: expected key=value", sets[i]);
        *eq = 0;
        if (trm_config_set(&c, sets[i], eq + 1, &e)) return die("bench", "%s", e.msg);
    }
    if (trm_config_validate(&c, &e)) return die("bench", "%s", e.msg);
    if (gemm) return bench_gemm(&c, json);
    if (!sup) sup = c.halt_max_steps;
    if (check_memory(&c, do_train, do_solve, batch, no_memcheck)) return 1;

    double peak = 0, ceil = 0;
    int lanes = 0;
    if (!no_peak) {
        peak = measure_fma_peak(&lanes);
        bool bf = trm_matmul_get_precision() == TRM_PRECISION_BF16;
        double g_own = gemm_isa() ? time_gemm(bf ? GB_AVX512_BF16 : GB_AVX512, false, true, 2048, 1536, 512, 3) : 0;
        double g_blas = gemm_be_ok(GB_OPENBLAS) ? time_gemm(GB_OPENBLAS, false, true, 2048, 1536, 512, 3) : 0;
        double g_dnnl = !bf && gemm_be_ok(GB_DNNL) ? time_gemm(GB_DNNL, false, true, 2048, 1536, 512, 3) : 0;
        ceil = g_own > g_blas ? g_own : g_blas;
        if (g_dnnl > ceil) ceil = g_dnnl;
        if (!json)
            printf("CPU: %d threads, fp32 FMA peak %.0f GFLOP/s (%d-wide, measured); sgemm 2048x1536x512: "
                   "%s%s %.0f, openblas %.0f, onednn %.0f GFLOP/s\n", omp_get_max_threads(), peak, lanes,
                   trm_cpu_isa_active(), bf ? "-bf16" : "", g_own, g_blas, g_dnnl);
    }
    if (!json)
        printf("preset %s, kernels %s, matmul %s, precision %s, %d steps (median) after %d warm-up, %s time\n", preset,
               trm_cpu_isa_active(), trm_matmul_backend_name(trm_matmul_get_backend()), prec, steps, warmup,
               prof_clock == CLOCK_MONOTONIC ? "wall-clock" : "CPU");
    else
        printf("{\"preset\":\"%s\",\"isa\":\"%s\",\"matmul\":\"%s\",\"precision\":\"%s\",\"threads\":%d,\"fma_peak_gflops\":%.1f,"
               "\"sgemm_gflops\":%.1f", preset, trm_cpu_isa_active(), trm_matmul_backend_name(trm_matmul_get_backend()), prec,
               omp_get_max_threads(), peak, ceil);
    fflush(stdout);
    int rc = 0;
    if (do_train) {
        int B = batch ? batch : 32;
        run_result r = {0};
        if (bench_train(&c, B, steps, warmup, profile, &r, &e)) rc = die("bench", "%s", e.msg);
        else {
            if (json) printf(",");
            print_result("train", &r, B, peak, ceil, profile, json, true);
        }
    }
    if (do_solve && rc == 0) {
        int B = batch ? batch : 1;
        run_result r = {0};
        if (bench_solve(&c, B, steps, warmup, sup, profile, &r, &e)) rc = die("bench", "%s", e.msg);
        else {
            if (json) printf(",");
            print_result("solve", &r, B, peak, ceil, profile, json, true);
        }
    }
    if (json) printf("}\n");
    return rc;
}
