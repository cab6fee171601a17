/* _fused_simd.h — one small vocabulary of float32 vector operations over each ISA's
 * intrinsics, so the packed kernel (_fused_packed.inc) is written once for every width.
 *
 * The including file defines exactly one of
 *     LK_SIMD_AVX512   16 lanes, __m512   (x86-64 with AVX-512F)
 *     LK_SIMD_AVX2      8 lanes, __m256   (x86-64 with AVX2 + FMA)
 *     LK_SIMD_SSE2      4 lanes, __m128   (x86-64 baseline: no FMA, a·b + c in two ops)
 *     LK_SIMD_NEON      4 lanes, float32x4_t (aarch64 baseline)
 * and compiles the functions that use them for that ISA (a target pragma around the
 * include on x86, see _fused_isa_x86.c). Then:
 *
 *     vf                the vector type, VW lanes
 *     vf_zero(), vf_set1(s)                       all lanes 0 / s
 *     vf_load(p), vf_store(p, v)                  VW floats, p needs no alignment
 *     vf_add, vf_sub, vf_mul, vf_div, vf_min, vf_max (a, b)
 *     vf_fma(a, b, c)   a·b + c (fused where the ISA has it)
 *     vf_abs(a)
 *     vf_recip(a)       1/a to about 23 bits (the ISA's estimate and Newton steps; cheaper
 *                       than a division, which is the slowest thing in the gate step)
 *     vf_lt_sel(a, b, x, y)   lane-wise a < b ? x : y
 *     vf_store_half(p, v, hi)  VW/2 floats: the low (hi = 0) or high (hi = 1) half of v
 *
 * Nothing here allocates or keeps state; every function is static inline.
 */
#ifndef LK_FUSED_SIMD_H
#define LK_FUSED_SIMD_H

#if defined(_MSC_VER) && !defined(__clang__)
#define LK_SIMD_INLINE static __forceinline
#else
#define LK_SIMD_INLINE static inline __attribute__((always_inline))
#endif

#if defined(LK_SIMD_AVX512)
#include <immintrin.h>
#define VW 16
typedef __m512 vf;
LK_SIMD_INLINE vf vf_zero(void) { return _mm512_setzero_ps(); }
LK_SIMD_INLINE vf vf_set1(float s) { return _mm512_set1_ps(s); }
LK_SIMD_INLINE vf vf_load(const float *p) { return _mm512_loadu_ps(p); }
LK_SIMD_INLINE void vf_store(float *p, vf v) { _mm512_storeu_ps(p, v); }
LK_SIMD_INLINE vf vf_add(vf a, vf b) { return _mm512_add_ps(a, b); }
LK_SIMD_INLINE vf vf_sub(vf a, vf b) { return _mm512_sub_ps(a, b); }
LK_SIMD_INLINE vf vf_mul(vf a, vf b) { return _mm512_mul_ps(a, b); }
LK_SIMD_INLINE vf vf_div(vf a, vf b) { return _mm512_div_ps(a, b); }
LK_SIMD_INLINE vf vf_min(vf a, vf b) { return _mm512_min_ps(a, b); }
LK_SIMD_INLINE vf vf_max(vf a, vf b) { return _mm512_max_ps(a, b); }
LK_SIMD_INLINE vf vf_fma(vf a, vf b, vf c) { return _mm512_fmadd_ps(a, b, c); }
LK_SIMD_INLINE vf vf_abs(vf a)
{
    return _mm512_castsi512_ps(_mm512_and_si512(_mm512_castps_si512(a),
                                                _mm512_set1_epi32(0x7fffffff)));
}
LK_SIMD_INLINE vf vf_lt_sel(vf a, vf b, vf x, vf y)
{
    return _mm512_mask_blend_ps(_mm512_cmp_ps_mask(a, b, _CMP_LT_OQ), y, x);
}
LK_SIMD_INLINE vf vf_recip(vf a)                /* 14-bit estimate, one Newton step */
{
    vf r = _mm512_rcp14_ps(a);
    return _mm512_mul_ps(r, _mm512_fnmadd_ps(a, r, _mm512_set1_ps(2.0f)));
}
LK_SIMD_INLINE void vf_store_half(float *p, vf v, int hi)
{
    _mm256_storeu_ps(p, hi ? _mm512_extractf32x8_ps(v, 1) : _mm512_castps512_ps256(v));
}

#elif defined(LK_SIMD_AVX2)
#include <immintrin.h>
#define VW 8
typedef __m256 vf;
LK_SIMD_INLINE vf vf_zero(void) { return _mm256_setzero_ps(); }
LK_SIMD_INLINE vf vf_set1(float s) { return _mm256_set1_ps(s); }
LK_SIMD_INLINE vf vf_load(const float *p) { return _mm256_loadu_ps(p); }
LK_SIMD_INLINE void vf_store(float *p, vf v) { _mm256_storeu_ps(p, v); }
LK_SIMD_INLINE vf vf_add(vf a, vf b) { return _mm256_add_ps(a, b); }
LK_SIMD_INLINE vf vf_sub(vf a, vf b) { return _mm256_sub_ps(a, b); }
LK_SIMD_INLINE vf vf_mul(vf a, vf b) { return _mm256_mul_ps(a, b); }
LK_SIMD_INLINE vf vf_div(vf a, vf b) { return _mm256_div_ps(a, b); }
LK_SIMD_INLINE vf vf_min(vf a, vf b) { return _mm256_min_ps(a, b); }
LK_SIMD_INLINE vf vf_max(vf a, vf b) { return _mm256_max_ps(a, b); }
LK_SIMD_INLINE vf vf_fma(vf a, vf b, vf c) { return _mm256_fmadd_ps(a, b, c); }
LK_SIMD_INLINE vf vf_abs(vf a) { return _mm256_andnot_ps(_mm256_set1_ps(-0.0f), a); }
LK_SIMD_INLINE vf vf_lt_sel(vf a, vf b, vf x, vf y)
{
    return _mm256_blendv_ps(y, x, _mm256_cmp_ps(a, b, _CMP_LT_OQ));
}
LK_SIMD_INLINE vf vf_recip(vf a)                /* 12-bit estimate, one Newton step */
{
    vf r = _mm256_rcp_ps(a);
    return _mm256_mul_ps(r, _mm256_fnmadd_ps(a, r, _mm256_set1_ps(2.0f)));
}
LK_SIMD_INLINE void vf_store_half(float *p, vf v, int hi)
{
    _mm_storeu_ps(p, hi ? _mm256_extractf128_ps(v, 1) : _mm256_castps256_ps128(v));
}

#elif defined(LK_SIMD_SSE2)
#include <emmintrin.h>
#define VW 4
typedef __m128 vf;
LK_SIMD_INLINE vf vf_zero(void) { return _mm_setzero_ps(); }
LK_SIMD_INLINE vf vf_set1(float s) { return _mm_set1_ps(s); }
LK_SIMD_INLINE vf vf_load(const float *p) { return _mm_loadu_ps(p); }
LK_SIMD_INLINE void vf_store(float *p, vf v) { _mm_storeu_ps(p, v); }
LK_SIMD_INLINE vf vf_add(vf a, vf b) { return _mm_add_ps(a, b); }
LK_SIMD_INLINE vf vf_sub(vf a, vf b) { return _mm_sub_ps(a, b); }
LK_SIMD_INLINE vf vf_mul(vf a, vf b) { return _mm_mul_ps(a, b); }
LK_SIMD_INLINE vf vf_div(vf a, vf b) { return _mm_div_ps(a, b); }
LK_SIMD_INLINE vf vf_min(vf a, vf b) { return _mm_min_ps(a, b); }
LK_SIMD_INLINE vf vf_max(vf a, vf b) { return _mm_max_ps(a, b); }
LK_SIMD_INLINE vf vf_fma(vf a, vf b, vf c) { return _mm_add_ps(_mm_mul_ps(a, b), c); }
LK_SIMD_INLINE vf vf_abs(vf a) { return _mm_andnot_ps(_mm_set1_ps(-0.0f), a); }
LK_SIMD_INLINE vf vf_lt_sel(vf a, vf b, vf x, vf y)
{
    vf m = _mm_cmplt_ps(a, b);                          /* (no blendv before SSE4.1) */
    return _mm_or_ps(_mm_and_ps(m, x), _mm_andnot_ps(m, y));
}
LK_SIMD_INLINE vf vf_recip(vf a)                /* 12-bit estimate, one Newton step */
{
    vf r = _mm_rcp_ps(a);
    return _mm_mul_ps(r, _mm_sub_ps(_mm_set1_ps(2.0f), _mm_mul_ps(a, r)));
}
LK_SIMD_INLINE void vf_store_half(float *p, vf v, int hi)
{
    if (hi) _mm_storeh_pi((__m64 *)p, v);
    else _mm_storel_pi((__m64 *)p, v);
}

#elif defined(LK_SIMD_NEON)
#include <arm_neon.h>
#define VW 4
typedef float32x4_t vf;
LK_SIMD_INLINE vf vf_zero(void) { return vdupq_n_f32(0.0f); }
LK_SIMD_INLINE vf vf_set1(float s) { return vdupq_n_f32(s); }
LK_SIMD_INLINE vf vf_load(const float *p) { return vld1q_f32(p); }
LK_SIMD_INLINE void vf_store(float *p, vf v) { vst1q_f32(p, v); }
LK_SIMD_INLINE vf vf_add(vf a, vf b) { return vaddq_f32(a, b); }
LK_SIMD_INLINE vf vf_sub(vf a, vf b) { return vsubq_f32(a, b); }
LK_SIMD_INLINE vf vf_mul(vf a, vf b) { return vmulq_f32(a, b); }
LK_SIMD_INLINE vf vf_div(vf a, vf b) { return vdivq_f32(a, b); }
LK_SIMD_INLINE vf vf_min(vf a, vf b) { return vminq_f32(a, b); }
LK_SIMD_INLINE vf vf_max(vf a, vf b) { return vmaxq_f32(a, b); }
LK_SIMD_INLINE vf vf_fma(vf a, vf b, vf c) { return vfmaq_f32(c, a, b); }
LK_SIMD_INLINE vf vf_abs(vf a) { return vabsq_f32(a); }
LK_SIMD_INLINE vf vf_lt_sel(vf a, vf b, vf x, vf y) { return vbslq_f32(vcltq_f32(a, b), x, y); }
LK_SIMD_INLINE vf vf_recip(vf a)                /* 8-bit estimate, two Newton steps */
{
    vf r = vrecpeq_f32(a);
    r = vmulq_f32(r, vrecpsq_f32(a, r));
    return vmulq_f32(r, vrecpsq_f32(a, r));
}
LK_SIMD_INLINE void vf_store_half(float *p, vf v, int hi)
{
    vst1_f32(p, hi ? vget_high_f32(v) : vget_low_f32(v));
}

#else
#error "_fused_simd.h: define one of LK_SIMD_AVX512, LK_SIMD_AVX2, LK_SIMD_SSE2, LK_SIMD_NEON"
#endif

#endif /* LK_FUSED_SIMD_H */
