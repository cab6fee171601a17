/* Included by _fused.c after _fused_mk.h: the float32 time loops on packed weights —
 * the chunk scheduler, the forward and backward workers, mk_forward / mk_backward. */
#ifdef HAVE_MK

/* ------------------------------------------------------------- threads */
/* Work is handed out in chunks (32 hidden units of a step, or of the weights being
 * packed); each phase owns a range of chunk numbers start … end−1, cut into one
 * contiguous share per thread. A thread takes the chunks of its own share first (the
 * same units every step, so their W_h panels stay in its L2), then helps with the
 * others' shares; then waits until every chunk of the phase is done. If the machine
 * is busy and one thread is descheduled, the other one does its work instead of
 * waiting a whole time slice for it. Counters only grow, so nothing is reset. */
#define MAXT 64
typedef struct {
    struct { atomic_long v; char pad[56]; } next[MAXT];   /* next chunk of share k (or stale,
                                                              < its start); one cache line each */
    atomic_long done;
    int n;
} sched_t;

static long take(sched_t *S, int k, long start, long end)
{
    long len = end - start, lo = start + len * k / S->n, hi = start + len * (k + 1) / S->n;
    long v = atomic_load_explicit(&S->next[k].v, memory_order_relaxed);
    for (;;) {
        long want = v < lo ? lo : v;
        if (want >= hi) return -1;
        if (atomic_compare_exchange_weak_explicit(&S->next[k].v, &v, want + 1, memory_order_acq_rel,
                                                  memory_order_relaxed))
            return want - start;
    }
}

/* Claim a chunk of the phase start … end−1 for thread tid; -1 if none is left. */
static long claim_t(sched_t *S, int tid, long start, long end)
{
    for (int i = 0; i < S->n; i++) {
        long c = take(S, (tid + i) % S->n, start, end);
        if (c >= 0) return c;
    }
    return -1;
}
#define claim(S, start, end) claim_t(S, tid, start, end)

static void chunk_done(sched_t *S) { atomic_fetch_add_explicit(&S->done, 1, memory_order_release); }

static void phase_wait(sched_t *S, long end)                /* all chunks before end done */
{
    for (long spin = 0; atomic_load_explicit(&S->done, memory_order_acquire) < end; spin++)
        if (spin > 500) sched_yield();      /* busy machine: let the thread we wait for run */
        else __builtin_ia32_pause();
}

typedef struct {
    idx T, B, H;
    int cache, nthreads;
    float *act, *hs, *cs, *tcs, *hr, *dh, *dc, *dz;
    const float *dhs, *mask, *rmask, *P, *bias, *x, *PX;   /* PX: W_xᵀ packed (backward's dx) */
    idx D, xst, xsb;           /* x[t, b, :] at x + t·xst + b·xsb */
    const float *W_x, *W_h;
    float *db, *dx;
    float *zl;                 /* inference: each thread's z of one chunk, B × 128 */
    sched_t S;
    atomic_int go;             /* 0: wait, 1: run, -1: a thread failed to start, return */
} job_t;

typedef struct { job_t *J; int tid; } arg_t;

static int wait_go(job_t *J)
{
    int g;
    while ((g = atomic_load_explicit(&J->go, memory_order_acquire)) == 0) sched_yield();
    return g == 1;
}

/* Step t, units j0 … j0+31:
 *     z_t[:, chunk] = [x_t, h_{t-1}] · [W_x; W_h][:, chunk]     (one GEMM, K = D + H)
 * then the elementwise step, then h_t's 32 columns and a share of x_{t+1}'s columns are
 * packed for step t+1. Training writes z_t straight into act[t] (kept for backward);
 * inference into a small buffer of this thread's (B × 4 gates × 32 units), so no array
 * of size T·B·4H exists. Measured against computing x·W_x for a window of steps first
 * and adding h·W_h in the loop: inference at medium 71–73 → 59–65 ms, training forward
 * 72.5 → 68.1 ms (same process, interleaved), large and small the same. */
static void fwd_chunk(job_t *J, idx t, idx j0, int tid)
{
    idx H = J->H, B = J->B, D = J->D, K = D + H, BH = B * H;
    const float *A = J->hr + (t & 1) * B * K;                  /* [x_t, h_{t-1}], packed */
    float *h_prev = J->hs + t * BH;
    if (J->cache) {                        /* training: z_t straight into act[t], kept */
        float *z = J->act + t * B * 4 * H;
        for (idx u = j0 / 8; u < j0 / 8 + 4; u++)
            fwd_panel(J->P + u * K * 32, A, B, K, H, z + 8 * u, 1);
        fwd_rows_f32(B, H, j0, j0 + 32, z, 4 * H, H, NULL, J->bias, J->cs + t * BH,
                     J->cs + (t + 1) * BH, J->tcs + t * BH, h_prev, h_prev + BH,
                     J->mask ? J->mask + t * B : NULL);
    } else {                               /* inference: z_t in this thread's small buffer */
        float *zl = J->zl + (size_t)tid * B * 128;
        for (idx u = 0; u < 4; u++)                            /* units j0+8u … j0+8u+7 */
            fwd_panel(J->P + (j0 / 8 + u) * K * 32, A, B, K, 32, zl + 8 * u, 1);
        fwd_rows_f32(B, H, j0, j0 + 32, zl - j0, 128, 32, NULL, J->bias, J->cs + (t & 1) * BH,
                     J->cs + ((t + 1) & 1) * BH, J->tcs, h_prev, h_prev + BH,
                     J->mask ? J->mask + t * B : NULL);
    }
    float *An = J->hr + ((t + 1) & 1) * B * K;                 /* step t+1's, ping-pong */
    pack_cols(h_prev + BH, H, B, K, D + j0, D + j0 + 32, D, J->rmask, An);
    if (t + 1 < J->T) {                                        /* this chunk's share of x_{t+1} */
        idx nc = H / 32, c = j0 / 32;
        pack_cols(J->x + (t + 1) * J->xst, J->xsb, B, K, D * c / nc, D * (c + 1) / nc, 0, NULL, An);
    }
}

static void *fwd_worker(void *p)
{
    job_t *J = ((arg_t *)p)->J;
    int tid = ((arg_t *)p)->tid;
    if (!wait_go(J)) return NULL;
    idx H = J->H, D = J->D;
    long nc = H / 32, base = 0, c;
    while ((c = claim(&J->S, 0, nc)) >= 0) {       /* pack [W_x; W_h], (D+H) × 32: 32 units */
        pack_fwd(J->W_x, D, H, 4 * c, 4 * c + 4, (float *)J->P, D + H, 0);
        pack_fwd(J->W_h, H, H, 4 * c, 4 * c + 4, (float *)J->P, D + H, D);
        chunk_done(&J->S);
    }
    phase_wait(&J->S, nc);
    base = nc;
    for (idx t = 0; t < J->T; t++) {
        while ((c = claim(&J->S, base, base + nc)) >= 0) {
            fwd_chunk(J, t, 32 * c, tid);
            chunk_done(&J->S);
        }
        base += nc;
        phase_wait(&J->S, base);                               /* h_t complete */
    }
    return NULL;
}

/* Step t, units j0 … j0+31, first half: dh += dy_t, the elementwise step (dz_t, dc),
 * db, dz_t packed for the GEMM. */
static void bwd_chunk_a(job_t *J, idx t, idx j0)
{
    idx H = J->H, B = J->B, BH = B * H, j1 = j0 + 32;
    float *dzt = J->dz + t * B * 4 * H;
    if (J->dhs)
        for (idx r = 0; r < B; r++)
            add_f32(32, J->dhs + t * BH + r * H + j0, J->dh + r * H + j0);
    bwd_rows_f32(B, H, j0, j1, J->dh, J->dc, J->act + t * B * 4 * H, J->tcs + t * BH,
                 J->cs + t * BH, dzt, J->mask ? J->mask + t * B : NULL);
    if (J->db) colsum_f32(B, H, j0, j1, dzt, J->db);
    float *A = J->hr + (t & 1) * B * 4 * H;
    for (int g = 0; g < 4; g++)                                /* these units of each gate */
        pack_cols(dzt, 4 * H, B, 4 * H, g * H + j0, g * H + j1, 0, NULL, A);
}

static void *bwd_worker(void *p)
{
    job_t *J = ((arg_t *)p)->J;
    int tid = ((arg_t *)p)->tid;
    if (!wait_go(J)) return NULL;
    idx H = J->H, B = J->B;
    long nc = H / 32, c;
    long nb = nc + (J->dx ? J->D / 32 : 0);                    /* second phase: dh and dx */
    while ((c = claim(&J->S, 0, nb)) >= 0) {                  /* pack W_hᵀ, W_xᵀ: 32 rows */
        if (c < nc) pack_bwd(J->W_h, H, c, c + 1, (float *)J->P);
        else pack_bwd(J->W_x, H, c - nc, c - nc + 1, (float *)J->PX);
        chunk_done(&J->S);
    }
    phase_wait(&J->S, nb);
    for (idx t = J->T - 1; t >= 0; t--) {
        long start = nb + (J->T - 1 - t) * (nc + nb);
        while ((c = claim(&J->S, start, start + nc)) >= 0) {  /* elementwise → dz_t */
            bwd_chunk_a(J, t, 32 * c);
            chunk_done(&J->S);
        }
        phase_wait(&J->S, start + nc);                         /* dz_t complete */
        const float *A = J->hr + (t & 1) * B * 4 * H;
        start += nc;
        while ((c = claim(&J->S, start, start + nb)) >= 0) {  /* dh += dz_t·W_hᵀ */
            if (c < nc)                                        /* dh_{t-1}, 32 units */
                bwd_panel(J->P + c * 4 * H * 32, A, B, H, J->dh + 32 * c, H,
                          J->rmask ? J->rmask + 32 * c : NULL, 0);
            else                                               /* dx_t = dz_t·W_xᵀ, 32 inputs */
                bwd_panel(J->PX + (c - nc) * 4 * H * 32, A, B, H,
                          J->dx + t * B * J->D + 32 * (c - nc), J->D, NULL, 1);
            chunk_done(&J->S);
        }
        phase_wait(&J->S, start + nb);                         /* dh_{t-1} complete */
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
 * a step is too small to share (each step costs a wait for all chunks), at most one per chunk. */
static int mk_threads(idx B, idx H)
{
    int n = blas_nthreads ? blas_nthreads() : 1;
    double flops = 8.0 * B * H * H;
    if (flops < 2e6) n = 1;                 /* tiny steps: the wait costs more than it saves */
    if (n > H / 32) n = (int)(H / 32);
    if (n > MAXT) n = MAXT;
    return n < 1 ? 1 : n;
}

/* Run worker on J->nthreads threads (this one is thread 0); if a thread cannot be
 * started, the started ones return at once and everything runs on this thread. */
static void run_threads(void *(*worker)(void *), job_t *J)
{
    pthread_t th[MAXT];
    spawn_t sp[MAXT];
    arg_t args[MAXT];
    int n = J->nthreads, started = 1;
    atomic_init(&J->go, 0);
    for (int k = 1; k < n; k++, started++) {
        args[k].J = J; args[k].tid = k;
        if (spawn(&th[k], &sp[k], worker, &args[k], k) != 0) break;
    }
    if (started < n) {
        atomic_store_explicit(&J->go, -1, memory_order_release);
        for (int k = 1; k < started; k++) pthread_join(th[k], NULL);
        J->nthreads = n = started = 1;
    }
    for (int k = 0; k < MAXT; k++) atomic_init(&J->S.next[k].v, 0);
    atomic_init(&J->S.done, 0);
    J->S.n = n;
    atomic_store_explicit(&J->go, 1, memory_order_release);
    args[0].J = J; args[0].tid = 0;
    worker(&args[0]);
    for (int k = 1; k < n; k++) pthread_join(th[k], NULL);
}

/* The forward loop on packed weights, z_t = [x_t, h_{t-1}]·[W_x; W_h] step by step (x[t, b]
 * at x + t·xst + b·xsb); -1 if it cannot run here (the caller uses BLAS). */
static int mk_forward(idx T, idx B, idx H, float *act, const float *W_h, const float *bias,
                      float *hs, float *cs, float *tcs, int cache, const float *mask,
                      const float *rmask, const float *x, idx xst, idx xsb, const float *W_x,
                      idx D)
{
    if (!mk_usable(B, H)) return -1;
    int nt = mk_threads(B, H);
    idx K = D + H;                                             /* rows of a weight panel */
    float *P = scratch(SCR_W, (size_t)K * 4 * H * sizeof(float));
    float *hr = scratch(SCR_STATE, 2 * (size_t)B * K * sizeof(float));
    float *zl = !cache ? scratch(SCR_Z, (size_t)nt * B * 128 * sizeof(float)) : NULL;
    if (!P || !hr || (!cache && !zl)) return -1;
    pack_cols(x, xsb, B, K, 0, D, 0, NULL, hr);                /* [x_0, h_0 (⊙ rmask)] */
    pack_cols(hs, H, B, K, D, K, D, rmask, hr);
    job_t J = {.T = T, .B = B, .H = H, .cache = cache, .nthreads = nt, .zl = zl,
               .act = act, .hs = hs, .cs = cs, .tcs = tcs, .hr = hr, .mask = mask,
               .rmask = rmask, .P = P, .bias = bias, .x = x, .W_x = W_x, .D = D,
               .xst = xst, .xsb = xsb, .W_h = W_h};
    run_threads(fwd_worker, &J);
    return 0;
}

/* With dx (T·B × D) and W_x (D × 4H) given and D % 32 == 0, dx = dz·W_xᵀ is computed
 * step by step too (*dx_done = 1). */
static int mk_backward(idx T, idx B, idx H, const float *dhs, float *dh, float *dc,
                       float *act, float *tcs, float *cs, float *dz, const float *W_h,
                       const float *mask, const float *rmask, float *db, float *dx,
                       const float *W_x, idx D, int *dx_done)
{
    *dx_done = 0;
    if (!mk_usable(B, H)) return -1;
    if (!dx || !W_x || D % 32 != 0 || D == 0) dx = NULL;
    float *Q = scratch(SCR_W, (size_t)H * 4 * H * sizeof(float));
    float *QX = dx ? scratch(SCR_WX, (size_t)D * 4 * H * sizeof(float)) : NULL;
    float *dzp = scratch(SCR_STATE, 2 * (size_t)B * 4 * H * sizeof(float));
    if (!Q || !dzp) return -1;
    if (!QX) dx = NULL;
    job_t J = {.T = T, .B = B, .H = H, .nthreads = mk_threads(B, H), .act = act, .cs = cs,
               .tcs = tcs, .dh = dh, .dc = dc, .dz = dz, .dhs = dhs, .mask = mask,
               .rmask = rmask, .P = Q, .hr = dzp, .db = db, .dx = dx, .PX = QX, .D = D,
               .W_x = W_x, .W_h = W_h};
    run_threads(bwd_worker, &J);
    *dx_done = dx != NULL;
    return 0;
}
#endif  /* HAVE_MK */
