/* Included by _fused.c: the float32 time loops with their own recurrent GEMM.
 *
 * Why: at small batch a BLAS call per step re-packs all of W_h (H × 4H) to multiply
 * it by a few rows of h; torch/oneDNN keeps the weights packed across steps. Here
 * W_h is packed once per sequence into panels read straight by an AVX-512
 * register-blocked kernel, and the hidden units are handed to threads in chunks of
 * 32: whoever computes a chunk's part of the GEMM also does its elementwise step;
 * all chunks of step t finish before step t+1 starts (h_t must be complete).
 *
 * Forward panel u (units 8u … 8u+7) is H × 32: column c holds gate c/8 of unit
 * 8u + c%8, so one panel yields z_i, z_f, z_g, z_o of its 8 units:
 *     z_t[:, g·H + 8u + c] += Σ_k h_{t-1}[:, k] · W_h[k, g·H + 8u + c]
 * Backward panel q (units 32q … 32q+31) is 4H × 32, W_hᵀ's columns:
 *     dh[:, 32q + c] += Σ_k dz_t[:, k] · W_h[32q + c, k]
 *
 * Used only when the CPU has AVX-512 (checked at run time), H % 32 == 0 and B > 1;
 * otherwise _fused.c runs its BLAS loop. Set LSTMKIT_NO_MK=1 to force that one.
 */
#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <sys/mman.h>

#if defined(__GNUC__) && !defined(__clang__) && defined(__x86_64__) && defined(HAVE_DL)
#define HAVE_MK 1
#define MK __attribute__((target("avx512f,avx512vl,avx512dq,fma")))
#define INL static inline __attribute__((always_inline))

typedef float v16 __attribute__((vector_size(64)));
typedef float v16u __attribute__((vector_size(64), aligned(4)));
typedef float v8u __attribute__((vector_size(32), aligned(4)));
#define LO8(v) __builtin_shufflevector(v, v, 0, 1, 2, 3, 4, 5, 6, 7)
#define HI8(v) __builtin_shufflevector(v, v, 8, 9, 10, 11, 12, 13, 14, 15)

/* ------------------------------------------------------------- packing */
static void *amalloc(size_t bytes)       /* 64-byte aligned (C11 wants a multiple of 64) */
{
    /* big buffers (the packed weights) on 2 MB pages where the kernel allows it: a fresh
     * 8 MB buffer costs ~2000 page faults on 4 KB pages, a few ms per call */
    const size_t huge = (size_t)2 << 20;
    if (bytes >= 2 * huge) {
        void *p = aligned_alloc(huge, (bytes + huge - 1) / huge * huge);
#ifdef MADV_HUGEPAGE
        if (p) madvise(p, (bytes + huge - 1) / huge * huge, MADV_HUGEPAGE);
#endif
        return p;
    }
    return aligned_alloc(64, (bytes + 63) / 64 * 64);
}

/* Scratch kept between calls, per calling thread: the packed weights of a layer are as
 * big as its weights (8 MB at H = D = 512), and a fresh buffer costs page faults on
 * every call (measured ~3 ms at that size on 4 KB pages). The slots grow to the largest
 * size asked for and stay allocated (like oneDNN's scratchpad) until the thread ends
 * (a pthread key's destructor frees them) or release_scratch() is called. */
enum { SCR_W, SCR_WX, SCR_STATE, SCR_Z, NSCR };   /* weights, W_xᵀ, [x|h] or dz, z */
typedef struct { void *p[NSCR]; size_t n[NSCR]; } slots_t;
static pthread_key_t slots_key;
static pthread_once_t slots_once = PTHREAD_ONCE_INIT;

static void slots_free(void *v)
{
    slots_t *s = v;
    if (!s) return;
    for (int k = 0; k < NSCR; k++) free(s->p[k]);
    free(s);
}

static void slots_init(void) { pthread_key_create(&slots_key, slots_free); }

static void *scratch(int slot, size_t bytes)
{
    pthread_once(&slots_once, slots_init);
    slots_t *s = pthread_getspecific(slots_key);
    if (!s) {
        if (!(s = calloc(1, sizeof *s)) || pthread_setspecific(slots_key, s) != 0) {
            free(s);
            return NULL;
        }
    }
    if (s->n[slot] < bytes) {
        free(s->p[slot]);
        s->p[slot] = amalloc(bytes);
        s->n[slot] = s->p[slot] ? bytes : 0;
    }
    return s->p[slot];
}

/* Free this thread's scratch now (the next call allocates it again). */
static void release_scratch_here(void)
{
    pthread_once(&slots_once, slots_init);
    slots_t *s = pthread_getspecific(slots_key);
    slots_free(s);
    pthread_setspecific(slots_key, NULL);
}

/* W (K, 4H) → H/8 panels of K × 32; panels u0 … u1−1 here (the threads share the work).
 * Row k of panel u is [W_i, W_f, W_g, W_o][k, 8u … 8u+7]: four runs of 8 floats. */
static void pack_fwd(const float *W, idx K, idx H, idx u0, idx u1, float *P, idx KP, idx koff)
{                                     /* (panels KP rows long; W's rows go to koff … koff+K−1) */
    for (idx u = u0; u < u1; u++)
        for (idx k = 0; k < K; k++) {
            const float *w = W + k * 4 * H + 8 * u;
            float *p = P + (u * KP + koff + k) * 32;
            for (int g = 0; g < 4; g++) memcpy(p + 8 * g, w + g * H, 8 * sizeof(float));
        }
}

/* W (R, 4H) → R/32 panels of 4H × 32 (W's transpose, 32 columns at a time); q0 … q1−1.
 * Transposed 16 columns of W at a time so the reads are whole cache lines. */
static void pack_bwd(const float *W, idx H, idx q0, idx q1, float *Q)
{
    for (idx q = q0; q < q1; q++)
        for (idx k0 = 0; k0 < 4 * H; k0 += 16) {
            float *dst = Q + (q * 4 * H + k0) * 32;
            idx n = 4 * H - k0 < 16 ? 4 * H - k0 : 16;
            for (int c = 0; c < 32; c++) {
                const float *src = W + (32 * q + c) * 4 * H + k0;
                for (idx kk = 0; kk < n; kk++) dst[kk * 32 + c] = src[kk];
            }
        }
}

/* ------------------------------------------------------------- kernels */
/* MR rows of z (ld 4H) += (or =, if set) MR rows of a (K long) · forward panel P (K × 32);
 * a packed k-major: A[k·MR + r]. */
INL MK void fwd_block(const int MR, const float *restrict P, const float *restrict A, idx K,
                      idx H, float *restrict z, int set)
{
    v16 a0[12], a1[12];
#pragma GCC unroll 12
    for (int r = 0; r < MR; r++) { a0[r] = (v16){0}; a1[r] = (v16){0}; }
    for (idx k = 0; k < K; k++) {
        v16 w0 = *(const v16 *)(P + 32 * k), w1 = *(const v16 *)(P + 32 * k + 16);
#pragma GCC unroll 12
        for (int r = 0; r < MR; r++) {
            float s = A[k * MR + r];
            a0[r] += s * w0;
            a1[r] += s * w1;
        }
    }
#pragma GCC unroll 12
    for (int r = 0; r < MR; r++) {
        float *zr = z + r * 4 * H;
        if (set) {
            *(v8u *)zr = LO8(a0[r]);
            *(v8u *)(zr + H) = HI8(a0[r]);
            *(v8u *)(zr + 2 * H) = LO8(a1[r]);
            *(v8u *)(zr + 3 * H) = HI8(a1[r]);
        } else {
            *(v8u *)zr += LO8(a0[r]);             /* z_i */
            *(v8u *)(zr + H) += HI8(a0[r]);       /* z_f */
            *(v8u *)(zr + 2 * H) += LO8(a1[r]);   /* z_g */
            *(v8u *)(zr + 3 * H) += HI8(a1[r]);   /* z_o */
        }
    }
}

/* MR rows of dh (ld ldh) += (or =, if set) (MR rows of dz · backward panel Q) [⊙ rm rows,
 * ld ldh]; dz packed k-major: A[k·MR + r]. */
INL MK void bwd_block(const int MR, const float *restrict Q, const float *restrict A, idx H,
                      float *restrict dh, idx ldh, const float *restrict rm, int set)
{
    v16 a0[12], a1[12];
#pragma GCC unroll 12
    for (int r = 0; r < MR; r++) { a0[r] = (v16){0}; a1[r] = (v16){0}; }
    for (idx k = 0; k < 4 * H; k++) {
        v16 w0 = *(const v16 *)(Q + 32 * k), w1 = *(const v16 *)(Q + 32 * k + 16);
#pragma GCC unroll 12
        for (int r = 0; r < MR; r++) {
            float s = A[k * MR + r];
            a0[r] += s * w0;
            a1[r] += s * w1;
        }
    }
#pragma GCC unroll 12
    for (int r = 0; r < MR; r++) {
        v16u *d0 = (v16u *)(dh + r * ldh), *d1 = (v16u *)(dh + r * ldh + 16);
        if (set) {
            *d0 = a0[r];
            *d1 = a1[r];
        } else if (rm) {
            *d0 += a0[r] * *(const v16u *)(rm + r * ldh);
            *d1 += a1[r] * *(const v16u *)(rm + r * ldh + 16);
        } else {
            *d0 += a0[r];
            *d1 += a1[r];
        }
    }
}

#define CASE_F(n) case n: fwd_block(n, P, A + r0 * K, K, H, z + r0 * 4 * H, set); break;
#define CASE_B(n) case n: bwd_block(n, Q, A + r0 * 4 * H, H, dh + r0 * ldh, ldh, rm ? rm + r0 * ldh : NULL, set); break;

/* Rows go in blocks of ≤ 12, as even as possible: block b is rows B·b/n … B·(b+1)/n.
 * A (B × K) is packed block by block, each block k-major, so a kernel reads row r of
 * column k at a constant offset: A[r0·K + k·MR + r]. pack_cols fills columns k0 … k1−1
 * (a thread's share), optionally multiplied by scale (same layout as src). */
static void pack_cols(const float *src, idx ld, idx B, idx K, idx k0, idx k1, idx koff,
                      const float *scale, float *A)
{                                     /* (column k of A is column k − koff of src) */
    idx nblk = (B + 11) / 12;
    for (idx b = 0, r0 = 0, r1; b < nblk; b++, r0 = r1) {
        r1 = B * (b + 1) / nblk;
        idx MR = r1 - r0;
        float *Ab = A + r0 * K;
        for (idx r = 0; r < MR; r++) {
            const float *row = src + (r0 + r) * ld - koff;
            const float *sc = scale ? scale + (r0 + r) * ld - koff : NULL;
            for (idx k = k0; k < k1; k++) Ab[k * MR + r] = sc ? row[k] * sc[k] : row[k];
        }
    }
}

/* z (B rows) += (or = if set) a · panel P, a (B × K) packed by pack_cols. */
static MK void fwd_panel(const float *P, const float *A, idx B, idx K, idx H, float *z, int set)
{
    idx nblk = (B + 11) / 12;
    for (idx b = 0, r0 = 0, r1; b < nblk; b++, r0 = r1) {
        r1 = B * (b + 1) / nblk;
        switch (r1 - r0) {
        CASE_F(1) CASE_F(2) CASE_F(3) CASE_F(4) CASE_F(5) CASE_F(6)
        CASE_F(7) CASE_F(8) CASE_F(9) CASE_F(10) CASE_F(11) CASE_F(12)
        }
    }
}

/* dh (B rows, ld ldh) += (or = if set) (dz · panel Q) [⊙ rm], dz packed by pack_cols (K = 4H). */
static MK void bwd_panel(const float *Q, const float *A, idx B, idx H, float *dh, idx ldh,
                         const float *rm, int set)
{
    idx nblk = (B + 11) / 12;
    for (idx b = 0, r0 = 0, r1; b < nblk; b++, r0 = r1) {
        r1 = B * (b + 1) / nblk;
        switch (r1 - r0) {
        CASE_B(1) CASE_B(2) CASE_B(3) CASE_B(4) CASE_B(5) CASE_B(6)
        CASE_B(7) CASE_B(8) CASE_B(9) CASE_B(10) CASE_B(11) CASE_B(12)
        }
    }
}
#endif  /* HAVE_MK */
