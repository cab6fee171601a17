/* _fused_isa_neon.c — the packed kernel (_fused_packed.inc) compiled for NEON, 4 lanes
 * (the aarch64 baseline: every aarch64 CPU has it, so there is nothing to detect). */
#if defined(__aarch64__) || defined(_M_ARM64)
#include <arm_neon.h>
#include <string.h>

#include "_fused_cpu.h"
#include "_fused_pack.h"
#include "_fused_packed.h"
#include "_fused_threads.h"

#define LK_SIMD_NEON 1
#define LK_NV 4
#define LK_MR 6
#define LK_MR3 9
#define LK_SUFFIX(f) f##_neon
#include "_fused_simd.h"
#include "_fused_packed.inc"
#else
typedef int lk_no_neon;          /* (ISO C wants a translation unit to declare something) */
#endif
