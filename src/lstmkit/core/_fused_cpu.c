/* _fused_cpu.c — CPU feature detection, the LSTMKIT_ISA switch, flush-to-zero.
 * See _fused_cpu.h for what each function promises. */
#include "_fused_cpu.h"

#include <stdlib.h>
#include <string.h>

#if defined(__x86_64__) || defined(_M_X64)
#define LK_X86 1
#if defined(_MSC_VER) && !defined(__clang__)
#include <intrin.h>
#include <immintrin.h>
#else
#include <cpuid.h>
#endif
#include <xmmintrin.h>
#elif defined(__aarch64__) || defined(_M_ARM64)
#define LK_ARM64 1
#endif

/* Which packed kernels this build compiled (the build defines none of these away on
 * x86 / aarch64; another architecture has only the BLAS loop). */
#if defined(LK_X86)
static const lk_isa built_best = LK_ISA_AVX512;
#elif defined(LK_ARM64)
static const lk_isa built_best = LK_ISA_NEON;
#else
static const lk_isa built_best = LK_ISA_BLAS;
#endif

#if defined(LK_X86)
static void cpuid(unsigned leaf, unsigned sub, unsigned r[4])
{
#if defined(_MSC_VER) && !defined(__clang__)
    int v[4];
    __cpuidex(v, (int)leaf, (int)sub);
    for (int k = 0; k < 4; k++) r[k] = (unsigned)v[k];
#else
    if (!__get_cpuid_count(leaf, sub, &r[0], &r[1], &r[2], &r[3])) r[0] = r[1] = r[2] = r[3] = 0;
#endif
}

static unsigned long long xcr0(void)
{
#if defined(_MSC_VER) && !defined(__clang__)
    return _xgetbv(0);
#else
    unsigned lo, hi;
    __asm__ volatile("xgetbv" : "=a"(lo), "=d"(hi) : "c"(0));
    return ((unsigned long long)hi << 32) | lo;
#endif
}

static lk_isa detect(void)
{
    unsigned r1[4], r7[4], r0[4];
    cpuid(0, 0, r0);
    if (r0[0] < 7) return LK_ISA_SSE2;
    cpuid(1, 0, r1);
    cpuid(7, 0, r7);
    int osxsave = (r1[2] >> 27) & 1, avx = (r1[2] >> 28) & 1, fma = (r1[2] >> 12) & 1;
    if (!osxsave || !avx) return LK_ISA_SSE2;          /* (xgetbv would fault) */
    unsigned long long x = xcr0();
    int os_avx = (x & 0x6) == 0x6, os_avx512 = (x & 0xe6) == 0xe6;
    int avx2 = (r7[1] >> 5) & 1, avx512f = (r7[1] >> 16) & 1, avx512dq = (r7[1] >> 17) & 1;
    int avx512vl = (r7[1] >> 31) & 1;         /* (every AVX-512 CPU but the Xeon Phi) */
    if (os_avx512 && avx512f && avx512dq && avx512vl && fma) return LK_ISA_AVX512;
    if (os_avx && avx2 && fma) return LK_ISA_AVX2;
    return LK_ISA_SSE2;
}
#else
static lk_isa detect(void) { return built_best; }
#endif

lk_isa lk_isa_best(void)
{
    static int best = -1;            /* (a benign race: every thread computes the same) */
    if (best < 0) {
        lk_isa d = detect();
        best = d < built_best ? d : built_best;
    }
    return (lk_isa)best;
}

const char *lk_isa_name(lk_isa isa)
{
    switch (isa) {
    case LK_ISA_AVX512: return "avx512";
    case LK_ISA_AVX2: return "avx2";
    case LK_ISA_SSE2: return "sse2";
    case LK_ISA_NEON: return "neon";
    default: return "blas";
    }
}

int lk_isa_lanes(lk_isa isa)
{
    return isa == LK_ISA_AVX512 ? 16 : isa == LK_ISA_AVX2 ? 8 : isa == LK_ISA_BLAS ? 0 : 4;
}

int lk_isa_choice(const char **why)
{
    lk_isa best = lk_isa_best(), baseline = best == LK_ISA_NEON ? LK_ISA_NEON
                                            : best == LK_ISA_BLAS ? LK_ISA_BLAS : LK_ISA_SSE2;
    const char *mk = getenv("LSTMKIT_NO_MK"), *e = getenv("LSTMKIT_ISA");
    *why = NULL;
    if (mk && *mk && strcmp(mk, "0") != 0) return LK_ISA_BLAS;
    if (!e || !*e || !strcmp(e, "auto") || !strcmp(e, "native")) return best;
    lk_isa want;
    if (!strcmp(e, "avx512")) want = LK_ISA_AVX512;
    else if (!strcmp(e, "avx2")) want = LK_ISA_AVX2;
    else if (!strcmp(e, "sse2")) want = LK_ISA_SSE2;
    else if (!strcmp(e, "neon")) want = LK_ISA_NEON;
    else if (!strcmp(e, "baseline")) want = baseline;
    else if (!strcmp(e, "blas")) want = LK_ISA_BLAS;
    else {
        *why = "LSTMKIT_ISA: expected one of auto, avx512, avx2, baseline (sse2 / neon), blas";
        return -1;
    }
    int other_arch = (want == LK_ISA_NEON) != (best == LK_ISA_NEON) && want != LK_ISA_BLAS;
    if (other_arch || want > best) {
        *why = other_arch ? "LSTMKIT_ISA names another architecture's ISA: using the best here"
                          : "LSTMKIT_ISA asks for more than this CPU has: using the best here";
        return best;
    }
    return want;
}

unsigned long lk_ftz_on(void)
{
#if defined(LK_X86)
    unsigned int old = _mm_getcsr();
    _mm_setcsr(old | 0x8040u);                      /* FTZ (bit 15) | DAZ (bit 6) */
    return old;
#elif defined(LK_ARM64) && !defined(_MSC_VER)
    unsigned long old;
    __asm__ volatile("mrs %0, fpcr" : "=r"(old));
    __asm__ volatile("msr fpcr, %0" : : "r"(old | (1ul << 24)));   /* FZ */
    return old;
#else
    return 0;
#endif
}

void lk_ftz_restore(unsigned long saved)
{
#if defined(LK_X86)
    _mm_setcsr((unsigned int)saved);
#elif defined(LK_ARM64) && !defined(_MSC_VER)
    __asm__ volatile("msr fpcr, %0" : : "r"(saved));
#else
    (void)saved;
#endif
}
