/* Included by _fused.c: the float32 time loops with their own recurrent GEMM.
 *
 * Why: at small batch a BLAS call per step re-packs all of W_h (H × 4H) to multiply
 * it by a few rows of h; torch/oneDNN keeps the weights packed across steps. Here
 * W_h is packed once per sequence into panels read straight by an AVX-512
 * register-blocked kernel, and the hidden units are split between threads so that
 * each thread does, per step, its share of the GEMM *and* of the elementwise step;
 * the threads meet once per step (h_t must be complete before step t+1).
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
static float *pack_fwd(const float *W_h, idx H)        /* (H, 4H) → H/8 panels of H × 32 */
{
    float *P = aligned_alloc(64, (size_t)H * 4 * H * sizeof(float));
    if (!P) return NULL;
    for (idx u = 0; u < H / 8; u++)
        for (idx k = 0; k < H; k++)
            for (int c = 0; c < 32; c++)
                P[(u * H + k) * 32 + c] = W_h[k * 4 * H + (c / 8) * H + 8 * u + c % 8];
    return P;
}

static float *pack_bwd(const float *W_h, idx H)        /* (H, 4H) → H/32 panels of 4H × 32 */
{
    float *Q = aligned_alloc(64, (size_t)H * 4 * H * sizeof(float));
    if (!Q) return NULL;
    for (idx q = 0; q < H / 32; q++)
        for (idx k = 0; k < 4 * H; k++)
            for (int c = 0; c < 32; c++)
                Q[(q * 4 * H + k) * 32 + c] = W_h[(32 * q + c) * 4 * H + k];
    return Q;
}

/* ------------------------------------------------------------- kernels */
/* MR rows of z (ld 4H) += MR rows of h · forward panel P; h packed k-major: A[k·MR + r]. */
INL MK void fwd_block(const int MR, const float *restrict P, const float *restrict A, idx H,
                      float *restrict z)
{
    v16 a0[12], a1[12];
#pragma GCC unroll 12
    for (int r = 0; r < MR; r++) { a0[r] = (v16){0}; a1[r] = (v16){0}; }
    for (idx k = 0; k < H; k++) {
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
        *(v8u *)zr += LO8(a0[r]);             /* z_i */
        *(v8u *)(zr + H) += HI8(a0[r]);       /* z_f */
        *(v8u *)(zr + 2 * H) += LO8(a1[r]);   /* z_g */
        *(v8u *)(zr + 3 * H) += HI8(a1[r]);   /* z_o */
    }
}

/* MR rows of dh (ld H) += (MR rows of dz · backward panel Q) [⊙ rm rows]; dz packed
 * k-major: A[k·MR + r]. */
INL MK void bwd_block(const int MR, const float *restrict Q, const float *restrict A, idx H,
                      float *restrict dh, const float *restrict rm)
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
        v16u *d0 = (v16u *)(dh + r * H), *d1 = (v16u *)(dh + r * H + 16);
        if (rm) {
            *d0 += a0[r] * *(const v16u *)(rm + r * H);
            *d1 += a1[r] * *(const v16u *)(rm + r * H + 16);
        } else {
            *d0 += a0[r];
            *d1 += a1[r];
        }
    }
}

#define CASE_F(n) case n: fwd_block(n, P, A + r0 * H, H, z + r0 * 4 * H); break;
#define CASE_B(n) case n: bwd_block(n, Q, A + r0 * 4 * H, H, dh + r0 * H, rm ? rm + r0 * H : NULL); break;

/* Rows go in blocks of ≤ 12, as even as possible: block b is rows B·b/n … B·(b+1)/n.
 * A (B × K) is packed block by block, each block k-major, so a kernel reads row r of
 * column k at a constant offset: A[r0·K + k·MR + r]. pack_cols fills columns k0 … k1−1
 * (a thread's share), optionally multiplied by scale (same layout as src). */
static void pack_cols(const float *src, idx ld, idx B, idx K, idx k0, idx k1,
                      const float *scale, float *A)
{
    idx nblk = (B + 11) / 12;
    for (idx b = 0, r0 = 0, r1; b < nblk; b++, r0 = r1) {
        r1 = B * (b + 1) / nblk;
        idx MR = r1 - r0;
        float *Ab = A + r0 * K;
        for (idx r = 0; r < MR; r++) {
            const float *row = src + (r0 + r) * ld, *sc = scale ? scale + (r0 + r) * ld : NULL;
            for (idx k = k0; k < k1; k++) Ab[k * MR + r] = sc ? row[k] * sc[k] : row[k];
        }
    }
}

/* z (B rows) += h · panel P, h packed by pack_cols (K = H). */
static MK void fwd_panel(const float *P, const float *A, idx B, idx H, float *z)
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

/* dh (B rows) += (dz · panel Q) [⊙ rm], dz packed by pack_cols (K = 4H). */
static MK void bwd_panel(const float *Q, const float *A, idx B, idx H, float *dh, const float *rm)
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

/* ------------------------------------------------------------- threads */
typedef struct { atomic_int count, gen; int n; } barrier_t;

static void barrier_wait(barrier_t *b)
{
    if (b->n == 1) return;
    int g = atomic_load_explicit(&b->gen, memory_order_acquire);
    if (atomic_fetch_add_explicit(&b->count, 1, memory_order_acq_rel) == b->n - 1) {
        atomic_store_explicit(&b->count, 0, memory_order_relaxed);
        atomic_fetch_add_explicit(&b->gen, 1, memory_order_release);
        return;
    }
    for (long spin = 0; atomic_load_explicit(&b->gen, memory_order_acquire) == g; spin++)
        if (spin > 2000) sched_yield();     /* a loaded machine: let the other thread run */
        else __builtin_ia32_pause();
}

typedef struct {
    idx T, B, H;
    int cache, nthreads;
    float *act, *hs, *cs, *tcs, *hr, *dh, *dc, *dz;
    const float *dhs, *mask, *rmask, *P, *bias;
    float *db;
    barrier_t bar;
    atomic_int go;             /* 0: wait, 1: run, -1: a thread failed to start, return */
} job_t;

typedef struct { job_t *J; int tid; } arg_t;

static int wait_go(job_t *J)
{
    int g;
    while ((g = atomic_load_explicit(&J->go, memory_order_acquire)) == 0) sched_yield();
    return g == 1;
}

static void *fwd_worker(void *p)
{
    arg_t *a = p;
    job_t *J = a->J;
    if (!wait_go(J)) return NULL;
    idx H = J->H, B = J->B, BH = B * H, nb = H / 8;
    idx u0 = nb * a->tid / J->nthreads, u1 = nb * (a->tid + 1) / J->nthreads;
    for (idx t = 0; t < J->T; t++) {
        float *z = J->act + t * B * 4 * H, *h_prev = J->hs + t * BH;
        const float *A = J->hr + (t & 1) * BH;                 /* h_{t-1} [⊙ rmask], packed */
        for (idx u = u0; u < u1; u++)                          /* z += h_{t-1}·W_h, my units */
            fwd_panel(J->P + u * H * 32, A, B, H, z + 8 * u);
        float *c_prev = J->cs + (J->cache ? t : (t & 1)) * BH;
        float *c_t = J->cs + (J->cache ? t + 1 : ((t + 1) & 1)) * BH;
        float *tc = J->tcs + (J->cache ? t : 0) * BH;
        fwd_rows_f32(B, H, 8 * u0, 8 * u1, z, NULL, J->bias, c_prev, c_t, tc, h_prev, h_prev + BH,
                     J->mask ? J->mask + t * B : NULL);
        /* my units of h_t [⊙ rmask], packed for step t+1 (ping-pong: the other thread
         * may still read this step's buffer) */
        pack_cols(h_prev + BH, H, B, H, 8 * u0, 8 * u1, J->rmask, J->hr + ((t + 1) & 1) * BH);
        barrier_wait(&J->bar);
    }
    return NULL;
}

static void *bwd_worker(void *p)
{
    arg_t *a = p;
    job_t *J = a->J;
    if (!wait_go(J)) return NULL;
    idx H = J->H, B = J->B, BH = B * H, nq = H / 32;
    idx q0 = nq * a->tid / J->nthreads, q1 = nq * (a->tid + 1) / J->nthreads;
    idx j0 = 32 * q0, j1 = 32 * q1;
    for (idx t = J->T - 1; t >= 0; t--) {
        float *dzt = J->dz + t * B * 4 * H;
        if (J->dhs)                                            /* dh_t += dy_t, my units */
            for (idx r = 0; r < B; r++)
                add_f32(j1 - j0, J->dhs + t * BH + r * H + j0, J->dh + r * H + j0);
        bwd_rows_f32(B, H, j0, j1, J->dh, J->dc, J->act + t * B * 4 * H, J->tcs + t * BH,
                     J->cs + t * BH, dzt, J->mask ? J->mask + t * B : NULL);
        if (J->db) colsum_f32(B, H, j0, j1, dzt, J->db);     /* db += Σ_rows dz_t, my units */
        float *A = J->hr + (t & 1) * B * 4 * H;                /* dz_t packed (ping-pong) */
        for (int g = 0; g < 4; g++)                            /* my units of each gate */
            pack_cols(dzt, 4 * H, B, 4 * H, g * H + j0, g * H + j1, NULL, A);
        barrier_wait(&J->bar);                                 /* dz_t complete */
        for (idx q = q0; q < q1; q++)                          /* dh += dz_t·W_hᵀ, my units */
            bwd_panel(J->P + q * 4 * H * 32, A, B, H, J->dh + 32 * q,
                      J->rmask ? J->rmask + 32 * q : NULL);
    }
    return NULL;
}

static int mk_usable(idx B, idx H)
{
    if (B < 2) return 0;                          /* B = 1: BLAS gemv is better (measured) */
    const char *e = getenv("LSTMKIT_NO_MK");
    if (e && *e && strcmp(e, "0") != 0) return 0;
    __builtin_cpu_init();
    return H % 32 == 0 && H > 0 && __builtin_cpu_supports("avx512f");
}

/* Threads: as many as NumPy's BLAS may use (threadpoolctl governs both), fewer when
 * a step is too small to share (each step costs a barrier), at most one per panel. */
static int mk_threads(idx B, idx H)
{
    int n = blas_nthreads ? blas_nthreads() : 1;
    double flops = 8.0 * B * H * H;
    if (flops < 2e6) n = 1;                 /* tiny steps: a barrier costs more than it saves */
    if (n > H / 32) n = (int)(H / 32);
    if (n > 64) n = 64;
    return n < 1 ? 1 : n;
}

/* Run worker on J->nthreads threads (this one is thread 0); if a thread cannot be
 * started, the started ones return at once and everything runs on this thread. */
static void run_threads(void *(*worker)(void *), job_t *J)
{
    pthread_t th[64];
    arg_t args[64];
    int n = J->nthreads, started = 1;
    atomic_init(&J->go, 0);
    for (int k = 1; k < n; k++, started++) {
        args[k].J = J; args[k].tid = k;
        if (pthread_create(&th[k], NULL, worker, &args[k]) != 0) break;
    }
    if (started < n) {
        atomic_store_explicit(&J->go, -1, memory_order_release);
        for (int k = 1; k < started; k++) pthread_join(th[k], NULL);
        J->nthreads = n = started = 1;
    }
    atomic_init(&J->bar.count, 0);
    atomic_init(&J->bar.gen, 0);
    J->bar.n = n;
    atomic_store_explicit(&J->go, 1, memory_order_release);
    args[0].J = J; args[0].tid = 0;
    worker(&args[0]);
    for (int k = 1; k < n; k++) pthread_join(th[k], NULL);
}

/* The forward loop on packed weights; -1 if it cannot run here (caller uses BLAS). */
static int mk_forward(idx T, idx B, idx H, float *act, const float *W_h, const float *bias,
                      float *hs, float *cs, float *tcs, int cache, const float *mask,
                      const float *rmask)
{
    if (!mk_usable(B, H)) return -1;
    float *P = pack_fwd(W_h, H);
    float *hr = aligned_alloc(64, 2 * (size_t)B * H * sizeof(float));
    if (!P || !hr) { free(P); free(hr); return -1; }
    pack_cols(hs, H, B, H, 0, H, rmask, hr);               /* h_0 [⊙ rmask], packed */
    job_t J = {.T = T, .B = B, .H = H, .cache = cache, .nthreads = mk_threads(B, H),
               .act = act, .hs = hs, .cs = cs, .tcs = tcs, .hr = hr, .mask = mask,
               .rmask = rmask, .P = P, .bias = bias};
    run_threads(fwd_worker, &J);
    free(P);
    free(hr);
    return 0;
}

static int mk_backward(idx T, idx B, idx H, const float *dhs, float *dh, float *dc,
                       float *act, float *tcs, float *cs, float *dz, const float *W_h,
                       const float *mask, const float *rmask, float *db)
{
    if (!mk_usable(B, H)) return -1;
    float *Q = pack_bwd(W_h, H);
    float *dzp = aligned_alloc(64, 2 * (size_t)B * 4 * H * sizeof(float));
    if (!Q || !dzp) { free(Q); free(dzp); return -1; }
    job_t J = {.T = T, .B = B, .H = H, .nthreads = mk_threads(B, H), .act = act, .cs = cs,
               .tcs = tcs, .dh = dh, .dc = dc, .dz = dz, .dhs = dhs, .mask = mask,
               .rmask = rmask, .P = Q, .hr = dzp, .db = db};
    run_threads(bwd_worker, &J);
    free(Q);
    free(dzp);
    return 0;
}
#endif  /* HAVE_MK */
