/* Included by _fused.c: the BLAS NumPy loaded (found at run time), our worker threads, and the
 * weight-gradient GEMMs after BPTT shared out to those threads. */

/* ------------------------------------------------------------------ BLAS */
/* cblas_?gemm of the BLAS NumPy loaded. ILP64 (`…64_` names) or LP64 ints. */
enum { RowMajor = 101, NoTrans = 111, Trans = 112 };
typedef void (*gemm64_t)(int, int, int, int64_t, int64_t, int64_t, double, const void *,
                         int64_t, const void *, int64_t, double, void *, int64_t);
typedef void (*sgemm64_t)(int, int, int, int64_t, int64_t, int64_t, float, const float *,
                          int64_t, const float *, int64_t, float, float *, int64_t);
typedef void (*dgemm64_t)(int, int, int, int64_t, int64_t, int64_t, double, const double *,
                          int64_t, const double *, int64_t, double, double *, int64_t);
typedef void (*sgemm32_t)(int, int, int, int, int, int, float, const float *, int,
                          const float *, int, float, float *, int);
typedef void (*dgemm32_t)(int, int, int, int, int, int, double, const double *, int,
                          const double *, int, double, double *, int);

typedef void (*sgemv64_t)(int, int, int64_t, int64_t, float, const float *, int64_t,
                          const float *, int64_t, float, float *, int64_t);
typedef void (*dgemv64_t)(int, int, int64_t, int64_t, double, const double *, int64_t,
                          const double *, int64_t, double, double *, int64_t);
typedef void (*sgemv32_t)(int, int, int, int, float, const float *, int, const float *, int,
                          float, float *, int);
typedef void (*dgemv32_t)(int, int, int, int, double, const double *, int, const double *, int,
                          double, double *, int);
typedef int (*nthreads_t)(void);

static void *blas_s, *blas_d;       /* function pointers, NULL if not found */
static void *blas_sv, *blas_dv;     /* the matching gemv (used when B = 1), may be NULL */
static nthreads_t blas_nthreads;    /* openblas_get_num_threads (threadpoolctl sets it) */
typedef void (*set_nthreads_t)(int);
static set_nthreads_t blas_set_nthreads;   /* openblas_set_num_threads, or NULL */
static int blas_ilp64;
static char blas_lib[512];

#ifdef HAVE_DL
static int find_blas_cb(struct dl_phdr_info *info, size_t size, void *data)
{
    (void)size; (void)data;
    const char *name = info->dlpi_name;
    if (!name || !strstr(name, "blas")) return 0;
    void *h = dlopen(name, RTLD_LAZY | RTLD_NOLOAD);
    if (!h) return 0;
    static const char *pre[] = {"scipy_", "", NULL};
    char nm[64];
    for (int k = 0; pre[k]; k++) {
#define SYM(fmt_) (snprintf(nm, sizeof nm, fmt_, pre[k]), dlsym(h, nm))
        void *s = SYM("%scblas_sgemm64_"), *d = SYM("%scblas_dgemm64_");
        if (s && d) {
            blas_s = s; blas_d = d; blas_ilp64 = 1;
            blas_sv = SYM("%scblas_sgemv64_"); blas_dv = SYM("%scblas_dgemv64_");
            blas_nthreads = (nthreads_t)SYM("%sopenblas_get_num_threads64_");
            blas_set_nthreads = (set_nthreads_t)SYM("%sopenblas_set_num_threads64_");
            goto found;
        }
#undef SYM
    }
    if (!strstr(name, "64")) {                  /* plain names: LP64 interface */
        void *s = dlsym(h, "cblas_sgemm"), *d = dlsym(h, "cblas_dgemm");
        if (s && d) {
            blas_s = s; blas_d = d; blas_ilp64 = 0;
            blas_sv = dlsym(h, "cblas_sgemv"); blas_dv = dlsym(h, "cblas_dgemv");
            blas_nthreads = (nthreads_t)dlsym(h, "openblas_get_num_threads");
            blas_set_nthreads = (set_nthreads_t)dlsym(h, "openblas_set_num_threads");
            goto found;
        }
    }
    dlclose(h);
    return 0;
found:
    snprintf(blas_lib, sizeof blas_lib, "%s", name);
    return 1;                                   /* keep h open: stop iterating */
}
#endif

static void find_blas(void)
{
#ifdef HAVE_DL
    if (!blas_s) dl_iterate_phdr(find_blas_cb, NULL);
#endif
}

/* C (M×N) = op(A) (M×K) · op(Bm) + beta·C, row-major; op = transpose if ta / tb. */
static void gemm_t(int dbl, int ta, idx M, idx N, idx K, const void *A, idx lda, const void *Bm,
                   idx ldb, int tb, double beta, void *C, idx ldc)
{
    int opa = ta ? Trans : NoTrans, opb = tb ? Trans : NoTrans;
    if (blas_ilp64) {
        if (dbl) ((dgemm64_t)blas_d)(RowMajor, opa, opb, M, N, K, 1.0, A, lda, Bm, ldb, beta, C, ldc);
        else ((sgemm64_t)blas_s)(RowMajor, opa, opb, M, N, K, 1.0f, A, lda, Bm, ldb, (float)beta, C, ldc);
    } else {
        if (dbl) ((dgemm32_t)blas_d)(RowMajor, opa, opb, (int)M, (int)N, (int)K, 1.0, A, (int)lda, Bm, (int)ldb, beta, C, (int)ldc);
        else ((sgemm32_t)blas_s)(RowMajor, opa, opb, (int)M, (int)N, (int)K, 1.0f, A, (int)lda, Bm, (int)ldb, (float)beta, C, (int)ldc);
    }
}

/* C (M×N) = A (M×K) · op(Bm) + beta·C, row-major; op = transpose if tb. */
static void gemm(int dbl, idx M, idx N, idx K, const void *A, idx lda, const void *Bm, idx ldb,
                 int tb, double beta, void *C, idx ldc)
{
    gemm_t(dbl, 0, M, N, K, A, lda, Bm, ldb, tb, beta, C, ldc);
}

/* y (N) += op(A) x with A row-major (rows × cols, lda); op = transpose if ta. */
static void gemv(int dbl, int ta, idx rows, idx cols, const void *A, idx lda, const void *x,
                 void *y)
{
    int op = ta ? Trans : NoTrans;
    if (blas_ilp64) {
        if (dbl) ((dgemv64_t)blas_dv)(RowMajor, op, rows, cols, 1.0, A, lda, x, 1, 1.0, y, 1);
        else ((sgemv64_t)blas_sv)(RowMajor, op, rows, cols, 1.0f, A, lda, x, 1, 1.0f, y, 1);
    } else {
        if (dbl) ((dgemv32_t)blas_dv)(RowMajor, op, (int)rows, (int)cols, 1.0, A, (int)lda, x, 1, 1.0, y, 1);
        else ((sgemv32_t)blas_sv)(RowMajor, op, (int)rows, (int)cols, 1.0f, A, (int)lda, x, 1, 1.0f, y, 1);
    }
}

/* ------------------------------------------------------------- threads */
/* Our worker threads live for one call. Linux puts a new thread on its parent's CPU
 * when the other CPUs are idle, and it then starts only when the parent is preempted:
 * measured ~2.7 ms on this project's 2-CPU machines, during which the parent works
 * alone (and a short call is half over). So a worker is started on a CPU other than
 * the caller's (it then starts in ~0.15 ms), and once running it widens its affinity
 * back to every CPU the process may use, so the scheduler can still move it. */
typedef struct {
    void *(*fn)(void *);
    void *arg;
#ifdef HAVE_DL
    cpu_set_t all;
#endif
} spawn_t;

static void *spawn_tramp(void *p)
{
    spawn_t *s = p;
#ifdef HAVE_DL
    pthread_setaffinity_np(pthread_self(), sizeof s->all, &s->all);
#endif
    return s->fn(s->arg);
}

/* Start fn(arg) as worker k (1, 2, …) of a call; s must live until the thread is joined. */
static int spawn(pthread_t *th, spawn_t *s, void *(*fn)(void *), void *arg, int k)
{
    s->fn = fn;
    s->arg = arg;
#ifdef HAVE_DL
    pthread_attr_t at;
    int placed = 0;
    if (sched_getaffinity(0, sizeof s->all, &s->all) == 0 && pthread_attr_init(&at) == 0) {
        int me = sched_getcpu(), n = 0, cpus[CPU_SETSIZE];
        for (int c = 0; c < CPU_SETSIZE; c++)
            if (CPU_ISSET(c, &s->all) && c != me) cpus[n++] = c;
        if (n > 0) {
            cpu_set_t one;
            CPU_ZERO(&one);
            CPU_SET(cpus[(k - 1) % n], &one);
            placed = pthread_attr_setaffinity_np(&at, sizeof one, &one) == 0 &&
                     pthread_create(th, &at, spawn_tramp, s) == 0;
        }
        pthread_attr_destroy(&at);
        if (placed) return 0;
    }
#endif
    return pthread_create(th, NULL, spawn_tramp, s);
}

/* ------------------------------------------------ weight gradients after BPTT */
/* dW = Aᵀ·dZ for a few (A, dZ, dW) triples at once (dW_x = Σ_t x_tᵀ dz_t, dW_h = …):
 * the rows of all dW together are cut into one share per thread, and each thread calls
 * the BLAS single-threaded on its share. Why not one threaded BLAS call each: OpenBLAS's
 * worker threads spin for ~0.1 s after a call, and the time loop that runs next (the
 * layer below's backward, or the next forward) had to share the cores with them —
 * measured: a forward right after a threaded sgemm took 105–150 ms instead of 70. */
#define MAXW 8
typedef struct {
    int n, dbl;
    struct { const char *A, *dZ; char *W; idx N, R, G, lda, ldz, ldw; } m[MAXW];
    idx total;                          /* Σ R */
} wg_job;

typedef struct { wg_job *J; int k, nt; } wg_arg;

static void *wg_worker(void *p)
{
    wg_arg *a = p;
    wg_job *J = a->J;
    idx lo = J->total * a->k / a->nt, hi = J->total * (a->k + 1) / a->nt, off = 0;
    size_t es = J->dbl ? 8 : 4;
    for (int i = 0; i < J->n; off += J->m[i].R, i++) {
        idx r0 = lo > off ? lo - off : 0, r1 = hi - off < J->m[i].R ? hi - off : J->m[i].R;
        if (r1 <= r0) continue;             /* dW[r0:r1] = A[:, r0:r1]ᵀ · dZ */
        gemm_t(J->dbl, 1, r1 - r0, J->m[i].G, J->m[i].N, J->m[i].A + r0 * es, J->m[i].lda,
               J->m[i].dZ, J->m[i].ldz, 0, 0.0, J->m[i].W + r0 * J->m[i].ldw * es, J->m[i].ldw);
    }
    return NULL;
}
