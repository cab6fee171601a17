/* _fused_isa_sse2.c — the packed kernel (_fused_packed.inc) compiled for SSE2, the x86-64 baseline, 4 lanes (no FMA).
 * Only on x86-64; lk_isa_best() (in _fused_cpu.c) decides at run time whether it may run.
 * The target pragma enables the ISA for these functions only, so the rest of the build
 * stays at the compiler's baseline and no -march flag is needed (MSVC needs none). */
#if defined(__x86_64__) || defined(_M_X64)
#include <immintrin.h>
#include <string.h>

#include "_fused_cpu.h"
#include "_fused_pack.h"
#include "_fused_packed.h"
#include "_fused_threads.h"

/* (SSE2 is in every x86-64 build: no target pragma needed) */
#define LK_SIMD_SSE2 1
#define LK_NV 2
#define LK_MR 6
#define LK_MR3 4
#define LK_SUFFIX(f) f##_sse2
#include "_fused_simd.h"
#include "_fused_packed.inc"

#else
typedef int lk_no_sse2;          /* (ISO C wants a translation unit to declare something) */
#endif
