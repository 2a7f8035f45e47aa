/* cpu.c - the kernels' instruction set: detected once, TRM_CPU to
 * override it (cpu.h), and the per-ISA kernel tables. */
#include <stdlib.h>
#include <string.h>

#include "kernels/cpu.h"

#if defined(__x86_64__) && defined(__GNUC__)
#define HAVE_X86 1
extern const trm_vec_kernels vec_kernels_avx512, vec_kernels_avx2;
extern const trm_gemm_kernels gemm_avx512_kernels, gemm_avx2_kernels;
#else
#define HAVE_X86 0
#endif

/* NEON is in the ARMv8-A base: an ARM64 build needs no run-time test */
#if defined(__aarch64__) && defined(__ARM_NEON)
#define HAVE_NEON 1
extern const trm_vec_kernels trm_vec_neon;
extern const trm_gemm_kernels trm_gemm_neon_kernels;
#else
#define HAVE_NEON 0
#endif

static const char *const NAMES[TRM_ISA_COUNT] = {"portable", "avx2", "avx512", "neon"};

/* What TRM_CPU's refusal names as missing. */
static const char *const FEATURES[TRM_ISA_COUNT] = {"nothing", "AVX2 + FMA", "AVX-512F", "ARM64 NEON"};

static int g_hw = -1;     /* bit per supported ISA; bit 8: avx512bf16 */
static int g_isa = -1;    /* -1: not chosen yet */
static int g_no_bf16;     /* TRM_CPU=noavx512bf16 */
static int g_limit = TRM_ISA_COUNT - 1; /* cpu_limit: the best ISA the CPU may claim */

static int hw(void) {
    if (g_hw < 0) {
        int f = 1 << TRM_ISA_PORTABLE;
#if HAVE_X86
        __builtin_cpu_init();
        if (__builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma")) f |= 1 << TRM_ISA_AVX2;
        if (__builtin_cpu_supports("avx512f")) f |= 1 << TRM_ISA_AVX512;
        if ((f & 1 << TRM_ISA_AVX512) && __builtin_cpu_supports("avx512bf16")) f |= 1 << 8;
#endif
#if HAVE_NEON
        f |= 1 << TRM_ISA_NEON;
#endif
        g_hw = f;
    }
    return g_hw;
}

bool cpu_isa_supported(trm_isa isa) {
    return (unsigned)isa <= (unsigned)g_limit && (hw() & 1 << isa);
}


static trm_isa best(void) {
    for (int i = TRM_ISA_COUNT - 1; i > 0; i--)
        if (cpu_isa_supported((trm_isa)i)) return (trm_isa)i;
    return TRM_ISA_PORTABLE;
}

void cpu_limit(trm_isa max) {
    g_limit = (unsigned)max < TRM_ISA_COUNT ? (int)max : TRM_ISA_COUNT - 1;
    if (g_isa > g_limit) g_isa = (int)best();
}

/* TRM_CPU's ISA: -1 unset or "native", -2 unknown, else the ISA. */
static int env_isa(void) {
    const char *e = getenv("TRM_CPU");
    if (!e || !*e || !strcmp(e, "native")) return -1;
    if (!strcmp(e, "noavx512bf16")) return TRM_ISA_AVX512;
    for (int i = 0; i < TRM_ISA_COUNT; i++)
        if (!strcmp(e, NAMES[i])) return i;
    return -2;
}

trm_isa cpu_isa(void) {
    if (g_isa < 0) {
        int want = env_isa();
        const char *e = getenv("TRM_CPU");
        g_no_bf16 = e && !strcmp(e, "noavx512bf16");
        g_isa = want >= 0 && cpu_isa_supported((trm_isa)want) ? want : (int)best();
    }
    return (trm_isa)g_isa;
}

trm_isa cpu_set_isa(trm_isa isa) {
    cpu_isa();
    if (cpu_isa_supported(isa)) g_isa = (int)isa;
    return cpu_isa();
}

const char *cpu_isa_name(trm_isa isa) {
    return (unsigned)isa < TRM_ISA_COUNT ? NAMES[isa] : "unknown";
}

int trm_cpu_check_env(trm_err *err) {
    int want = env_isa();
    const char *e = getenv("TRM_CPU");
    if (want == -2)
        return trm_errf(err, "TRM_CPU=%s: expected native, avx512, avx2, neon, portable or noavx512bf16", e);
    if (want >= 0 && !cpu_isa_supported((trm_isa)want))
        return trm_errf(err, "TRM_CPU=%s: this CPU lacks %s (the best it runs is %s)", e, FEATURES[want],
                        NAMES[best()]);
    return 0;
}

bool cpu_has_avx512(void) { return cpu_isa() == TRM_ISA_AVX512; }

bool cpu_has_avx512bf16(void) { return cpu_has_avx512() && (hw() & 1 << 8) && !g_no_bf16; }

const trm_vec_kernels *vec_kernels(void) {
    switch (cpu_isa()) {
#if HAVE_X86
    case TRM_ISA_AVX512: return &vec_kernels_avx512;
    case TRM_ISA_AVX2: return &vec_kernels_avx2;
#endif
#if HAVE_NEON
    case TRM_ISA_NEON: return &trm_vec_neon;
#endif
    default: return NULL;
    }
}

const trm_gemm_kernels *gemm_isa(void) {
    switch (cpu_isa()) {
#if HAVE_X86
    case TRM_ISA_AVX512: return &gemm_avx512_kernels;
    case TRM_ISA_AVX2: return &gemm_avx2_kernels;
#endif
#if HAVE_NEON
    case TRM_ISA_NEON: return &trm_gemm_neon_kernels;
#endif
    default: return NULL;
    }
}

const char *trm_cpu_isa_active(void) { return cpu_isa_name(cpu_isa()); }
