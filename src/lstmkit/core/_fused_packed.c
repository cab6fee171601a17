/* _fused_packed.c — picks the compiled packed kernel for an ISA (see _fused_packed.h). */
#include "_fused_packed.h"

#include "_fused_threads.h"

#include <stdlib.h>
#include <string.h>

#if defined(__x86_64__) || defined(_M_X64)
#define LK_X86 1
#elif defined(__aarch64__) || defined(_M_ARM64)
#define LK_ARM64 1
#endif

int lk_packed_forward(lk_isa isa, const lk_fwd_args *a)
{
    switch (isa) {
#if defined(LK_X86)
    case LK_ISA_AVX512: return lk_forward_avx512(a);
    case LK_ISA_AVX2: return lk_forward_avx2(a);
    case LK_ISA_SSE2: return lk_forward_sse2(a);
#elif defined(LK_ARM64)
    case LK_ISA_NEON: return lk_forward_neon(a);
#endif
    default: return -1;
    }
}

int lk_packed_backward(lk_isa isa, const lk_bwd_args *a)
{
    switch (isa) {
#if defined(LK_X86)
    case LK_ISA_AVX512: return lk_backward_avx512(a);
    case LK_ISA_AVX2: return lk_backward_avx2(a);
    case LK_ISA_SSE2: return lk_backward_sse2(a);
#elif defined(LK_ARM64)
    case LK_ISA_NEON: return lk_backward_neon(a);
#endif
    default: return -1;
    }
}

double lk_packed_peak(lk_isa isa, int nthreads, double (*clock)(void), double seconds)
{
    switch (isa) {
#if defined(LK_X86)
    case LK_ISA_AVX512: return lk_peak_avx512(nthreads, clock, seconds);
    case LK_ISA_AVX2: return lk_peak_avx2(nthreads, clock, seconds);
    case LK_ISA_SSE2: return lk_peak_sse2(nthreads, clock, seconds);
#elif defined(LK_ARM64)
    case LK_ISA_NEON: return lk_peak_neon(nthreads, clock, seconds);
#endif
    default: return 0.0;
    }
}

int lk_packed_threads(lk_idx B, lk_idx H, int avail)
{
    lk_idx chunks = (H + LK_CU - 1) / LK_CU;
    int n = avail < 1 ? 1 : avail;
    /* Tiny steps: the wait costs more than it saves. But from H = 160 two threads pay at
     * any B: each reads half of W_h every step, and the halves stay in two cores' L2.
     * Measured on Intel family 6 model 167 (2 MB L2, avx512, LSTM, T = 200, D = H, in one
     * process with the bench's settle), 1 → 2 threads, ms: inference B = 1, H = 160 1.55 →
     * 1.27; B = 1, H = 256 4.05 → 2.33; B = 1, H = 384 15.5 → 4.77; B = 2, H = 192 3.52 →
     * 2.44; training B = 2, H = 192 10.5 → 8.3; B = 3, H = 256 27.5 → 16.4. Below H = 160
     * it is mixed (training B = 8, H = 128 11.9 → 12.9; B = 3, H = 96 5.0 → 5.7; inference
     * B = 2, H = 128 1.86 → 1.37), so the rule stays as it was there. */
    if (8.0 * B * H * H < 2e6 && H < 160) n = 1;
    if (n > chunks) n = (int)chunks;
    if (n > LK_MAXT) n = LK_MAXT;
    return n < 1 ? 1 : n;
}

/* Bytes of a packed panel of `rows` rows (H rounded up to whole chunks, G·H columns). */
static double panel_bytes(int cell, lk_idx rows, lk_idx H)
{
    double units = (double)((H + LK_CU - 1) / LK_CU) * LK_CU;
    return 4.0 * (cell == LK_LSTM ? 4 : 3) * units * (double)rows;
}

/* By rows when what each step reads fits a core's cache: the packed [W_x; W_h] (x·W_x per
 * step), or W_h alone with x·W_x per block of steps (lk_xproj_auto then picks the block)
 * once each thread has ≥ 8 rows. Measured on the Intel family 6 model 167 (2 MB L2, 2
 * threads, LSTM inference, median of 9 alternating): T, B, D, H = 150, 16, 256, 256 11.56 →
 * 10.06 ms; 150, 64, 256, 256 41.3 → 36.7; 150, 16, 128, 256 9.57 → 7.41; 150, 32, 256, 256
 * 20.5 → 18.9; but 2000, 8, 256, 256 (4 rows a thread) 143 → 149, and 300, 12, 256, 256 a tie:
 * hence the 8 rows. */
int lk_split_auto(int cell, lk_idx B, lk_idx D, lk_idx H, int avail)
{
    if (avail <= 1) return LK_SPLIT_UNITS;
    if (B >= 2 * (lk_idx)avail && panel_bytes(cell, D + H, H) <= LK_SPLIT_BYTES)
        return LK_SPLIT_ROWS;
    if (B >= 8 * (lk_idx)avail && panel_bytes(cell, H, H) <= LK_SPLIT_BYTES) return LK_SPLIT_ROWS;
    return LK_SPLIT_UNITS;
}

int lk_fwd_threads(int split, lk_idx B, lk_idx H, int avail)
{
    if (split != LK_SPLIT_ROWS) return lk_packed_threads(B, H, avail);
    return avail < 1 ? 1 : avail > LK_MAXT ? LK_MAXT : avail;   /* (lk_forward: ≤ B groups) */
}

/* A three-way switch from the environment: unset, "" or "auto" → 0, `one` → 1, `two` → 2;
 * -1 for anything else, with *why = `expected`. (The LK_SPLIT_* and LK_XPROJ_* values.) */
static int env_choice(const char *name, const char *one, const char *two, const char *expected,
                      const char **why)
{
    const char *v = getenv(name);
    *why = NULL;
    if (!v || !*v || !strcmp(v, "auto")) return 0;
    if (!strcmp(v, one)) return 1;
    if (!strcmp(v, two)) return 2;
    *why = expected;
    return -1;
}

int lk_split_choice(const char **why)
{
    return env_choice("LSTMKIT_SPLIT", "units", "rows",
                      "LSTMKIT_SPLIT: expected auto, units or rows", why);
}

int lk_xproj_auto(int cell, lk_idx B, lk_idx D, lk_idx H, int split)
{
    /* by rows with [W_x; W_h] too big for the cache: only W_h is read every step */
    if (split == LK_SPLIT_ROWS && panel_bytes(cell, D + H, H) > LK_SPLIT_BYTES)
        return LK_XPROJ_BLOCK;
    /* Below 32 rows a step's product is too thin to hide the x rows' extra panel reads.
     * Measured on the Intel family 6 model 167 (avx512, 2 threads, LSTM inference, split by
     * units, median of 7 alternating), per step → per block: T, B, D, H = 100, 16, 512, 512
     * 33.4 → 28.0 ms; 100, 16, 1024, 1024 129.2 → 114.8; 100, 24, 512, 512 40.3 → 38.9; at
     * B = 32 and 64 within 1–4 % either way (Zen 4 had set the bound at 16). */
    return B < 32 ? LK_XPROJ_BLOCK : LK_XPROJ_STEP;
}

int lk_xproj_choice(const char **why)
{
    return env_choice("LSTMKIT_XPROJ", "step", "block",
                      "LSTMKIT_XPROJ: expected auto, step or block", why);
}
