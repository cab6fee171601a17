/* _fused_isa_avx2.c — the packed kernel (_fused_packed.inc) compiled for AVX2 + FMA, 8 lanes.
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

#if defined(__clang__)
#pragma clang attribute push(__attribute__((target("avx2,fma"))), apply_to = function)
#elif defined(__GNUC__)
#pragma GCC push_options
#pragma GCC target("avx2,fma")
#endif
#define LK_SIMD_AVX2 1
#define LK_NV 2
#define LK_MR 6
#define LK_MR3 4
#define LK_SUFFIX(f) f##_avx2
#include "_fused_simd.h"
#include "_fused_packed.inc"
#if defined(__clang__)
#pragma clang attribute pop
#elif defined(__GNUC__)
#pragma GCC pop_options
#endif
#else
typedef int lk_no_avx2;          /* (ISO C wants a translation unit to declare something) */
#endif
