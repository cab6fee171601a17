/* _fused_cpu.h — which vector ISA the packed kernel may use here, and flush-to-zero.
 *
 * x86-64: AVX-512 needs the CPUID bits (AVX512F, DQ, VL, and AVX/OSXSAVE) *and* an OS that saves
 * the wide registers (XCR0 bits 1, 2 for AVX; 5, 6, 7 for the opmask and zmm state);
 * AVX2 needs AVX2 + FMA in CPUID and XCR0 bits 1, 2. SSE2 is the x86-64 baseline.
 * aarch64: NEON is the baseline. Detection runs once; the choice is read at every call
 * from LSTMKIT_ISA so a test (or a user) can force a narrower path without re-importing:
 *
 *     LSTMKIT_ISA=avx512 | avx2 | baseline (sse2 on x86, neon on aarch64) | blas
 *
 * `blas` (also LSTMKIT_NO_MK=1) is the C loop calling the BLAS every step. A wider ISA
 * than the CPU has is clamped to the best one available (lk_isa_choice says so).
 */
#ifndef LK_FUSED_CPU_H
#define LK_FUSED_CPU_H

typedef enum {
    LK_ISA_BLAS = 0,    /* no packed kernel: a BLAS call per step */
    LK_ISA_SSE2 = 1,    /* x86-64 baseline, 4 lanes */
    LK_ISA_NEON = 2,    /* aarch64 baseline, 4 lanes */
    LK_ISA_AVX2 = 3,    /* AVX2 + FMA, 8 lanes */
    LK_ISA_AVX512 = 4,  /* AVX-512F, 16 lanes */
} lk_isa;

/* The widest ISA this CPU, this OS and this build support (detected once). */
lk_isa lk_isa_best(void);

/* The ISA to run now: LSTMKIT_ISA / LSTMKIT_NO_MK applied to lk_isa_best().
 * Returns -1 for an LSTMKIT_ISA value it does not know (*why says what was expected);
 * *why is also set (else NULL) when a request was clamped to what is available. */
int lk_isa_choice(const char **why);

const char *lk_isa_name(lk_isa isa);
int lk_isa_lanes(lk_isa isa);

/* Flush-to-zero and denormals-are-zero for this thread (x86 MXCSR bits 15 and 6;
 * aarch64 FPCR.FZ, which flushes inputs and results): denormal floats are 20-100×
 * slower on most CPUs, and LSTM states decaying towards 0 produce them.
 * lk_ftz_on returns the previous state, for lk_ftz_restore. */
unsigned long lk_ftz_on(void);
void lk_ftz_restore(unsigned long saved);

#endif /* LK_FUSED_CPU_H */
