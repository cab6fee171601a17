/* _fused_blas.c — finding NumPy's BLAS at run time, gemm / gemv through it, and the weight
 * gradients on our threads (see _fused_blas.h). */
#if defined(__linux__) && !defined(_GNU_SOURCE)
#define _GNU_SOURCE                   /* dl_iterate_phdr, RTLD_NOLOAD */
#endif
#include "_fused_blas.h"

#include <ctype.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "_fused_threads.h"

#if defined(_WIN32)
#include <windows.h>
#include <psapi.h>
#else
#include <dlfcn.h>
#include <pthread.h>
#endif
#if defined(__linux__)
#include <link.h>
#elif defined(__APPLE__)
#include <mach-o/dyld.h>
#endif

/* --------------------------------------------------------------- symbols */
enum { RowMajor = 101, NoTrans = 111, Trans = 112 };
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
typedef int (*get_threads_t)(void);
typedef void (*set_threads_t)(int);

static void *blas_s, *blas_d, *blas_sv, *blas_dv;   /* NULL until found */
static get_threads_t blas_get_threads;
static set_threads_t blas_set_threads;
static int blas_ilp64, searched;
static char blas_lib[512];

static int name_says_blas(const char *name)
{
    char low[512];
    size_t n = strlen(name);
    if (n >= sizeof low) n = sizeof low - 1;
    for (size_t k = 0; k < n; k++) low[k] = (char)tolower((unsigned char)name[k]);
    low[n] = 0;
    return strstr(low, "blas") || strstr(low, "accelerate") || strstr(low, "veclib");
}

#if defined(_WIN32)
typedef HMODULE lib_t;
static void *sym(lib_t h, const char *s) { return (void *)GetProcAddress(h, s); }
#else
typedef void *lib_t;
static void *sym(lib_t h, const char *s) { return dlsym(h, s); }
#endif

/* Take the gemm of library h (named name) if it has one; 1 if taken. */
static int try_lib(lib_t h, const char *name)
{
    static const char *pre[] = {"scipy_", "", NULL};
    char nm[80];
    for (int k = 0; pre[k]; k++) {
#define SYM(f) (snprintf(nm, sizeof nm, f, pre[k]), sym(h, nm))
        void *s = SYM("%scblas_sgemm64_"), *d = SYM("%scblas_dgemm64_");
        if (s && d) {
            blas_s = s; blas_d = d; blas_ilp64 = 1;
            blas_sv = SYM("%scblas_sgemv64_"); blas_dv = SYM("%scblas_dgemv64_");
            blas_get_threads = (get_threads_t)SYM("%sopenblas_get_num_threads64_");
            blas_set_threads = (set_threads_t)SYM("%sopenblas_set_num_threads64_");
            snprintf(blas_lib, sizeof blas_lib, "%s", name);
            return 1;
        }
#undef SYM
    }
    void *s = sym(h, "cblas_sgemm"), *d = sym(h, "cblas_dgemm");   /* LP64 interface */
    if (s && d) {
        blas_s = s; blas_d = d; blas_ilp64 = 0;
        blas_sv = sym(h, "cblas_sgemv"); blas_dv = sym(h, "cblas_dgemv");
        blas_get_threads = (get_threads_t)sym(h, "openblas_get_num_threads");
        blas_set_threads = (set_threads_t)sym(h, "openblas_set_num_threads");
        snprintf(blas_lib, sizeof blas_lib, "%s", name);
        return 1;
    }
    return 0;
}

#if defined(__linux__)
static int phdr_cb(struct dl_phdr_info *info, size_t size, void *data)
{
    (void)size; (void)data;
    const char *name = info->dlpi_name;
    if (!name || !*name || !name_says_blas(name)) return 0;
    void *h = dlopen(name, RTLD_LAZY | RTLD_NOLOAD);
    if (!h) return 0;
    if (try_lib(h, name)) return 1;            /* keep h open: stop iterating */
    dlclose(h);
    return 0;
}
#endif

int lk_blas_find(void)
{
    if (searched) return blas_s != NULL;
    searched = 1;
#if defined(__linux__)
    dl_iterate_phdr(phdr_cb, NULL);
#elif defined(__APPLE__)
    for (uint32_t i = 0, n = _dyld_image_count(); i < n && !blas_s; i++) {
        const char *name = _dyld_get_image_name(i);
        if (!name || !name_says_blas(name)) continue;
        void *h = dlopen(name, RTLD_LAZY | RTLD_NOLOAD);
        if (h && !try_lib(h, name)) dlclose(h);
    }
#elif defined(_WIN32)
    HMODULE mods[1024];
    DWORD bytes = 0;
    if (K32EnumProcessModules(GetCurrentProcess(), mods, sizeof mods, &bytes)) {
        for (DWORD i = 0; i < bytes / sizeof(HMODULE) && !blas_s; i++) {
            char name[512];
            if (GetModuleFileNameA(mods[i], name, sizeof name) && name_says_blas(name))
                try_lib(mods[i], name);
        }
    }
#endif
    return blas_s != NULL;
}

const char *lk_blas_lib(void) { return blas_lib; }
int lk_blas_ilp64(void) { return blas_ilp64; }
int lk_blas_has_gemv(void) { return blas_sv && blas_dv; }
int lk_blas_threads(void) { return blas_get_threads ? blas_get_threads() : 0; }

/* ---------------------------------------------------------------- calls */
void lk_gemm(int dbl, int ta, int tb, lk_idx M, lk_idx N, lk_idx K, const void *A, lk_idx lda,
             const void *B, lk_idx ldb, double beta, void *C, lk_idx ldc)
{
    int opa = ta ? Trans : NoTrans, opb = tb ? Trans : NoTrans;
    if (blas_ilp64) {
        if (dbl) ((dgemm64_t)blas_d)(RowMajor, opa, opb, M, N, K, 1.0, A, lda, B, ldb, beta, C, ldc);
        else ((sgemm64_t)blas_s)(RowMajor, opa, opb, M, N, K, 1.0f, A, lda, B, ldb, (float)beta, C, ldc);
    } else {
        if (dbl) ((dgemm32_t)blas_d)(RowMajor, opa, opb, (int)M, (int)N, (int)K, 1.0, A, (int)lda,
                                     B, (int)ldb, beta, C, (int)ldc);
        else ((sgemm32_t)blas_s)(RowMajor, opa, opb, (int)M, (int)N, (int)K, 1.0f, A, (int)lda,
                                 B, (int)ldb, (float)beta, C, (int)ldc);
    }
}

void lk_gemv(int dbl, int ta, lk_idx rows, lk_idx cols, const void *A, lk_idx lda,
             const void *x, void *y)
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

/* ------------------------------------------------------ weight gradients */
typedef struct {
    const lk_wgrad *m;
    int n, dbl;
    lk_idx total;                /* Σ R */
} wg_job;

static void wg_worker(void *ctx, int tid, lk_sched *S)
{
    const wg_job *J = ctx;
    lk_idx lo = J->total * tid / S->n, hi = J->total * (tid + 1) / S->n, off = 0;
    size_t es = J->dbl ? 8 : 4;
    for (int i = 0; i < J->n; off += J->m[i].R, i++) {
        const lk_wgrad *w = &J->m[i];
        lk_idx r0 = lo > off ? lo - off : 0, r1 = hi - off < w->R ? hi - off : w->R;
        if (r1 <= r0) continue;                        /* dW[r0:r1] = A[:, r0:r1]ᵀ · dZ */
        lk_gemm(J->dbl, 1, 0, r1 - r0, w->G, w->N, (const char *)w->A + r0 * es, w->lda,
                w->dZ, w->ldz, 0.0, (char *)w->dW + r0 * w->ldw * es, w->ldw);
    }
}

#if defined(_WIN32)
static SRWLOCK wg_lock = SRWLOCK_INIT;
static void lock(void) { AcquireSRWLockExclusive(&wg_lock); }
static void unlock(void) { ReleaseSRWLockExclusive(&wg_lock); }
#else
static pthread_mutex_t wg_lock = PTHREAD_MUTEX_INITIALIZER;
static void lock(void) { pthread_mutex_lock(&wg_lock); }
static void unlock(void) { pthread_mutex_unlock(&wg_lock); }
#endif

void lk_weight_grads(int dbl, const lk_wgrad *m, int n)
{
    wg_job J = {.m = m, .n = n, .dbl = dbl, .total = 0};
    for (int i = 0; i < n; i++) J.total += m[i].R;
    lk_sched S;
    /* the BLAS thread count is process-wide: one call at a time sets and restores it */
    lock();
    int blas_nt = lk_blas_threads(), nt = blas_nt > 0 && blas_set_threads ? blas_nt : 1;
    if (nt > 16) nt = 16;
    if (nt > J.total) nt = (int)J.total;
    if (nt <= 1) {
        S.n = 1;
        wg_worker(&J, 0, &S);               /* one thread: the BLAS may thread the call */
    } else {
        blas_set_threads(1);
        lk_run(wg_worker, &J, nt, &S);      /* (fewer threads if some cannot start: the
                                               shares follow S.n) */
        blas_set_threads(blas_nt);
    }
    unlock();
}
