/* lstmkit.core._fused — the elementwise LSTM step, forward and backward, fused in C.
 *
 * The same equations as lstmkit/core/gates.py (which stays the tested fallback):
 *
 *   forward (z holds x_t·W_x + b on entry, the activations i, f, g, o on exit):
 *     z += h_{t-1}·W_h
 *     i, f, o = σ(z_i, z_f, z_o) with σ(z) = ½·tanh(z/2) + ½;   g = tanh(z_g)
 *     c_t = f ⊙ c_{t-1} + i ⊙ g;   tc = tanh(c_t);   h_t = o ⊙ tc
 *     rows with m_t == 0 carry h_{t-1}, c_{t-1}
 *
 *   backward (dh, dc hold dL/dh_t, dL/dc_t on entry):
 *     do = dh ⊙ tc;   dc += dh ⊙ o ⊙ (1 − tc²)
 *     dz = [dc⊙g⊙i(1−i), dc⊙c_{t-1}⊙f(1−f), dc⊙i⊙(1−g²), do⊙o(1−o)]
 *     dc ← dc ⊙ f (= dc_{t-1});  dh ← carried part only (0, or dh where masked)
 *
 * float32 uses a rational tanh (Eigen's 13/6 minimax, max rel. error ~3e-7) that
 * gcc vectorises; float64 calls libm tanh so it stays equal to NumPy to ~1e-15.
 * Each row kernel is compiled for AVX-512, AVX2+FMA and baseline x86-64 and the
 * loader picks one at run time (target_clones) — no -march=native.
 *
 * The whole-sequence loops (forward_loop / backward_loop) call the cblas_?gemm of
 * the BLAS NumPy already loaded (found with dl_iterate_phdr, so no link-time BLAS
 * dependency); without one, Python runs the loop and calls the step kernels.
 *
 * Arrays arrive through the buffer protocol: dtype, C-contiguity and shape are
 * checked; the GIL is released while computing.
 */
#define PY_SSIZE_T_CLEAN
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <Python.h>
#include <math.h>
#include <string.h>
#include <stdint.h>

#if defined(__linux__)
#include <dlfcn.h>
#include <link.h>
#include <pthread.h>
#define HAVE_DL 1
#endif

#if defined(__GNUC__) && !defined(__clang__) && defined(__x86_64__) && defined(__linux__)
#define CLONES __attribute__((target_clones("arch=x86-64-v4", "arch=x86-64-v3", "default")))
#else
#define CLONES
#endif

typedef Py_ssize_t idx;

/* ------------------------------------------------------------------ tanh */
/* Eigen's generic_fast_tanh_float: tanh(x) ≈ x·P(x²)/Q(x²) on [-7.905, 7.905]. */
static inline float tanh_f32(float x)
{
    const float lim = 7.90531110763549805f;
    float xc = x > lim ? lim : (x < -lim ? -lim : x);
    float x2 = xc * xc;
    float p = -2.76076847742355e-16f;
    p = p * x2 + 2.00018790482477e-13f;
    p = p * x2 + -8.60467152213735e-11f;
    p = p * x2 + 5.12229709037114e-08f;
    p = p * x2 + 1.48572235717979e-05f;
    p = p * x2 + 6.37261928875436e-04f;
    p = p * x2 + 4.89352455891786e-03f;
    p = p * xc;
    float q = 1.19825839466702e-06f;
    q = q * x2 + 1.18534705686654e-04f;
    q = q * x2 + 2.26843463243900e-03f;
    q = q * x2 + 4.89352518554385e-03f;
    float r = p / q;
    return fabsf(x) < 0.0004f ? x : r;      /* tanh(x) = x to float precision there */
}

static inline double tanh_f64(double x) { return tanh(x); }

/* --------------------------------------------------- row kernels (per type) */
/* All B rows, hidden units j0 ≤ j < j1 (a thread's share): z rows are zs apart with the
 * gates gs apart (4H and H for a (B, 4H) z; rec needs those), the c, tc, h rows H long;
 * m holds the mask value of each row (or is NULL). */
#define DEFINE_ROWS(T, SFX, TANH)                                                     \
CLONES static void fwd_rows_##SFX(idx B, idx H, idx j0, idx j1, T *restrict z, idx zs,  \
        idx gs, const T *restrict rec, const T *restrict bias,                        \
        const T *restrict c_prev, T *restrict c_t, T *restrict tc,                    \
        const T *restrict h_prev, T *restrict h_t, const T *restrict m)               \
{                                                                                     \
    for (idx r = 0; r < B; r++) {                                                     \
        T *zi = z + r * zs, *zf = zi + gs, *zg = zi + 2 * gs, *zo = zi + 3 * gs;      \
        const T *cp = c_prev + r * H;                                                 \
        T *ct = c_t + r * H, *tr = tc + r * H, *ht = h_t + r * H;                     \
        if (rec) {                                                                    \
            const T *q = rec + r * 4 * H;                                             \
            for (idx j = 0; j < 4 * H; j++) zi[j] += q[j];      /* z += h·W_h */      \
        }                                                                             \
        if (bias)                                               /* z += b */          \
            for (idx j = j0; j < j1; j++) {                                           \
                zi[j] += bias[j]; zf[j] += bias[H + j];                               \
                zg[j] += bias[2 * H + j]; zo[j] += bias[3 * H + j];                   \
            }                                                                         \
        for (idx j = j0; j < j1; j++) {                                               \
            T i = (T)0.5 * TANH((T)0.5 * zi[j]) + (T)0.5;       /* σ(z_i) */          \
            T f = (T)0.5 * TANH((T)0.5 * zf[j]) + (T)0.5;       /* σ(z_f) */          \
            T g = TANH(zg[j]);                                  /* tanh(z_g) */       \
            T o = (T)0.5 * TANH((T)0.5 * zo[j]) + (T)0.5;       /* σ(z_o) */          \
            T c = f * cp[j] + i * g;                            /* c_t */             \
            T t = TANH(c);                                                            \
            zi[j] = i; zf[j] = f; zg[j] = g; zo[j] = o;                               \
            ct[j] = c; tr[j] = t; ht[j] = o * t;                /* h_t = o⊙tanh(c_t) */\
        }                                                                             \
        if (m && m[r] == 0) {                                   /* masked: carry */   \
            memcpy(ht + j0, h_prev + r * H + j0, (j1 - j0) * sizeof(T));              \
            memcpy(ct + j0, cp + j0, (j1 - j0) * sizeof(T));                          \
        }                                                                             \
    }                                                                                 \
}                                                                                     \
                                                                                      \
/* dz may be a itself (the layer's backward overwrites the activations it no longer   \
 * needs): each j reads a before writing dz, and ivdep keeps the loop vectorised */   \
CLONES static void bwd_rows_##SFX(idx B, idx H, idx j0, idx j1, T *restrict dh,         \
        T *restrict dc,                                                               \
        const T *a, const T *restrict tc, const T *restrict c_prev,                   \
        T *dz, const T *restrict m)                                                   \
{                                                                                     \
    for (idx r = 0; r < B; r++) {                                                     \
        const T *ai = a + r * 4 * H, *af = ai + H, *ag = ai + 2 * H, *ao = ai + 3 * H;\
        T *di = dz + r * 4 * H, *df = di + H, *dg = di + 2 * H, *dO = di + 3 * H;     \
        T *dhr = dh + r * H, *dcr = dc + r * H;                                       \
        const T *tr = tc + r * H, *cp = c_prev + r * H;                               \
        const T mr = m ? m[r] : (T)1, keep = (T)1 - mr;                               \
        _Pragma("GCC ivdep")                                                          \
        for (idx j = j0; j < j1; j++) {                                               \
            T i = ai[j], f = af[j], g = ag[j], o = ao[j], t = tr[j];                  \
            T h_ = dhr[j], c_ = dcr[j], carry_h = 0, carry_c = 0;                     \
            if (m) { carry_h = h_ * keep; carry_c = c_ * keep; h_ *= mr; c_ *= mr; }  \
            dO[j] = (h_ * t) * ((1 - o) * o);                   /* do·o(1−o) */       \
            c_ += ((1 - t * t) * o) * h_;                       /* dc += dh⊙o(1−tc²) */\
            di[j] = (c_ * g) * ((1 - i) * i);                                         \
            df[j] = (c_ * cp[j]) * ((1 - f) * f);                                     \
            dg[j] = (c_ * i) * (1 - g * g);                                           \
            dcr[j] = c_ * f + carry_c;                          /* dc_{t-1} */        \
            dhr[j] = carry_h;                                   /* carried dh */      \
        }                                                                             \
    }                                                                                 \
}                                                                                     \
                                                                                      \
/* db[g·H + j] += Σ_rows dz[:, g·H + j] for the units j0 ≤ j < j1 of every gate g */    \
CLONES static void colsum_##SFX(idx B, idx H, idx j0, idx j1, const T *restrict dz,   \
                                 T *restrict db)                                      \
{                                                                                     \
    for (idx r = 0; r < B; r++)                                                       \
        for (idx g = 0; g < 4; g++) {                                                 \
            const T *d = dz + r * 4 * H + g * H;                                      \
            T *o = db + g * H;                                                        \
            for (idx j = j0; j < j1; j++) o[j] += d[j];                               \
        }                                                                             \
}                                                                                     \
                                                                                      \
CLONES static void mul_##SFX(idx n, const T *restrict x, const T *restrict y,         \
                              T *restrict out)                                        \
{ for (idx j = 0; j < n; j++) out[j] = x[j] * y[j]; }                                 \
                                                                                      \
CLONES static void add_##SFX(idx n, const T *restrict x, T *restrict acc)             \
{ for (idx j = 0; j < n; j++) acc[j] += x[j]; }                                       \
                                                                                      \
CLONES static void addmul_##SFX(idx n, const T *restrict x, const T *restrict y,      \
                                 T *restrict acc)                                     \
{ for (idx j = 0; j < n; j++) acc[j] += x[j] * y[j]; }

DEFINE_ROWS(float, f32, tanh_f32)
DEFINE_ROWS(double, f64, tanh_f64)

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

#include "_fused_mk.h"

/* ---------------------------------------------------- argument checking */
typedef struct { Py_buffer v; int ok; } buf;

static void release(buf *b, int n) { for (int k = 0; k < n; k++) if (b[k].ok) PyBuffer_Release(&b[k].v); }

/* Get a C-contiguous buffer of `fmt` ('f'/'d') with `nd` dims; shape entries < 0 are free. */
static int get(PyObject *o, buf *b, const char *name, char fmt, int nd, const idx *shape, int writable)
{
    b->ok = 0;
    if (o == Py_None) return 0;
    int flags = PyBUF_C_CONTIGUOUS | PyBUF_FORMAT | (writable ? PyBUF_WRITABLE : 0);
    if (PyObject_GetBuffer(o, &b->v, flags) < 0) {
        PyErr_Format(PyExc_ValueError, "%s: expected a C-contiguous%s array", name,
                     writable ? " writable" : "");
        return -1;
    }
    b->ok = 1;
    const char *f = b->v.format ? b->v.format : "B";
    if (f[0] == '<' || f[0] == '=' || f[0] == '@') f++;
    if (f[0] != fmt || f[1] != 0) {
        PyErr_Format(PyExc_ValueError, "%s: expected dtype %s, got format '%s'", name,
                     fmt == 'f' ? "float32" : "float64", b->v.format);
        return -1;
    }
    if (b->v.ndim != nd) {
        PyErr_Format(PyExc_ValueError, "%s: expected %d dimensions, got %d", name, nd, b->v.ndim);
        return -1;
    }
    for (int k = 0; k < nd; k++)
        if (shape[k] >= 0 && b->v.shape[k] != shape[k]) {
            PyErr_Format(PyExc_ValueError, "%s: expected size %zd on axis %d, got %zd",
                         name, shape[k], k, b->v.shape[k]);
            return -1;
        }
    return 0;
}

static char fmt_of(PyObject *o, const char *name)
{
    Py_buffer v;
    if (PyObject_GetBuffer(o, &v, PyBUF_FORMAT | PyBUF_STRIDES) < 0) return 0;
    const char *f = v.format ? v.format : "B";
    if (f[0] == '<' || f[0] == '=' || f[0] == '@') f++;
    char c = (f[1] == 0 && (f[0] == 'f' || f[0] == 'd')) ? f[0] : 0;
    PyBuffer_Release(&v);
    if (!c) PyErr_Format(PyExc_ValueError, "%s: expected float32 or float64", name);
    return c;
}

#define P(k) (b[k].ok ? b[k].v.buf : NULL)

/* step_forward(z, rec, c_prev, c_t, tc, h_prev, h_t, m_t) — same as gates._np_step */
static PyObject *step_forward(PyObject *self, PyObject *args)
{
    PyObject *o[8];
    (void)self;
    if (!PyArg_ParseTuple(args, "OOOOOOOO", &o[0], &o[1], &o[2], &o[3], &o[4], &o[5], &o[6], &o[7]))
        return NULL;
    char fmt = fmt_of(o[0], "z");
    if (!fmt) return NULL;
    buf b[8];
    memset(b, 0, sizeof b);
    idx zs[2] = {-1, -1};
    if (get(o[0], &b[0], "z", fmt, 2, zs, 1) < 0) goto fail;
    idx B = b[0].v.shape[0], H4 = b[0].v.shape[1], H = H4 / 4;
    if (H4 % 4) { PyErr_SetString(PyExc_ValueError, "z: second axis must be 4H"); goto fail; }
    idx s4[2] = {B, H4}, s1[2] = {B, H}, sm[1] = {B};
    static const char *nm[8] = {"z", "rec", "c_prev", "c_t", "tc", "h_prev", "h_t", "m_t"};
    for (int k = 1; k < 7; k++)
        if (get(o[k], &b[k], nm[k], fmt, 2, k == 1 ? s4 : s1, k == 3 || k == 4 || k == 6) < 0) goto fail;
    if (get(o[7], &b[7], "m_t", fmt, 1, sm, 0) < 0) goto fail;
    if (!b[2].ok || !b[3].ok || !b[4].ok || !b[5].ok || !b[6].ok) {
        PyErr_SetString(PyExc_ValueError, "step_forward: only rec and m_t may be None"); goto fail;
    }
    Py_BEGIN_ALLOW_THREADS
    if (fmt == 'f') fwd_rows_f32(B, H, 0, H, P(0), 4 * H, H, P(1), NULL, P(2), P(3), P(4), P(5), P(6), P(7));
    else fwd_rows_f64(B, H, 0, H, P(0), 4 * H, H, P(1), NULL, P(2), P(3), P(4), P(5), P(6), P(7));
    Py_END_ALLOW_THREADS
    release(b, 8);
    Py_RETURN_NONE;
fail:
    release(b, 8);
    return NULL;
}

/* step_backward(dh, dc, a, tc, c_prev, dz, m_t[, work]) — same as gates._np_step_backward
 * (work, the NumPy kernel's scratch, is accepted and not needed) */
static PyObject *step_backward(PyObject *self, PyObject *args)
{
    PyObject *o[7], *work = NULL;
    (void)self;
    if (!PyArg_ParseTuple(args, "OOOOOOO|O", &o[0], &o[1], &o[2], &o[3], &o[4], &o[5], &o[6], &work))
        return NULL;
    (void)work;
    char fmt = fmt_of(o[0], "dh");
    if (!fmt) return NULL;
    buf b[7];
    memset(b, 0, sizeof b);
    idx s0[2] = {-1, -1};
    if (get(o[0], &b[0], "dh", fmt, 2, s0, 1) < 0) goto fail;
    idx B = b[0].v.shape[0], H = b[0].v.shape[1];
    idx s1[2] = {B, H}, s4[2] = {B, 4 * H}, sm[1] = {B};
    static const char *nm[7] = {"dh", "dc", "a", "tc", "c_prev", "dz", "m_t"};
    for (int k = 1; k < 6; k++)
        if (get(o[k], &b[k], nm[k], fmt, 2, (k == 2 || k == 5) ? s4 : s1, k == 1 || k == 5) < 0) goto fail;
    if (get(o[6], &b[6], "m_t", fmt, 1, sm, 0) < 0) goto fail;
    for (int k = 1; k < 6; k++)
        if (!b[k].ok) { PyErr_Format(PyExc_ValueError, "%s must not be None", nm[k]); goto fail; }
    Py_BEGIN_ALLOW_THREADS
    if (fmt == 'f') bwd_rows_f32(B, H, 0, H, P(0), P(1), P(2), P(3), P(4), P(5), P(6));
    else bwd_rows_f64(B, H, 0, H, P(0), P(1), P(2), P(3), P(4), P(5), P(6));
    Py_END_ALLOW_THREADS
    release(b, 7);
    Py_RETURN_NONE;
fail:
    release(b, 7);
    return NULL;
}

/* x (T, B, D) of `fmt`, C-contiguous or with any (even negative) strides on its first two
 * axes as long as each row x[t, b, :] is contiguous (a transposed or reversed view);
 * *st, *sb get the strides of t and b in elements, *contig whether it is C-contiguous. */
static int get_rows3(PyObject *o, buf *b, char fmt, const idx *shape, idx *st, idx *sb,
                     int *contig)
{
    b->ok = 0;
    if (o == Py_None) return 0;
    if (PyObject_GetBuffer(o, &b->v, PyBUF_STRIDES | PyBUF_FORMAT) < 0) {
        PyErr_Clear();
        PyErr_SetString(PyExc_ValueError, "x: expected an array");
        return -1;
    }
    b->ok = 1;
    const char *f = b->v.format ? b->v.format : "B";
    if (f[0] == '<' || f[0] == '=' || f[0] == '@') f++;
    idx es = fmt == 'd' ? 8 : 4;
    if (f[0] != fmt || f[1] != 0 || b->v.ndim != 3) {
        PyErr_Format(PyExc_ValueError, "x: expected a 3-D %s array", fmt == 'f' ? "float32" : "float64");
        return -1;
    }
    for (int k = 0; k < 3; k++)
        if (shape[k] >= 0 && b->v.shape[k] != shape[k]) {
            PyErr_Format(PyExc_ValueError, "x: expected size %zd on axis %d, got %zd",
                         shape[k], k, b->v.shape[k]);
            return -1;
        }
    if ((b->v.shape[2] > 1 && b->v.strides[2] != es) || b->v.strides[0] % es || b->v.strides[1] % es) {
        PyErr_SetString(PyExc_ValueError, "x: each row x[t, b, :] must be contiguous");
        return -1;
    }
    *st = b->v.strides[0] / es;
    *sb = b->v.strides[1] / es;
    *contig = PyBuffer_IsContiguous(&b->v, 'C');
    return 0;
}

/* forward_loop(act, W_h, hs, cs, tcs, mask, rmask, hr[, b, x, W_x]) — the whole time loop.
 * x may be a strided view (rows contiguous) only where the packed float32 loop runs.
 * act (T,B,4H): x·W_x (+ b unless b is given: then the loop adds it) in, gate
 * activations out; with x (T,B,D) and W_x (D,4H) given, act is only written: the
 * input product is computed here too; hs (T+1,B,H) with hs[0] = h_0;
 * cs (T+1,B,H) with cs[0] = c_0 and tcs (T,B,H) when caching, else cs (2,B,H)
 * ping-pong and tcs (1,B,H); mask (T,B) or None; rmask (B,H) and hr (B,H) or None. */
static PyObject *forward_loop(PyObject *self, PyObject *args)
{
    PyObject *o[11];
    (void)self;
    o[8] = o[9] = o[10] = Py_None;
    if (!PyArg_ParseTuple(args, "OOOOOOOO|OOO", &o[0], &o[1], &o[2], &o[3], &o[4], &o[5], &o[6],
                          &o[7], &o[8], &o[9], &o[10]))
        return NULL;
    find_blas();
    if (!blas_s) { PyErr_SetString(PyExc_RuntimeError, "no cblas gemm found"); return NULL; }
    char fmt = fmt_of(o[0], "act");
    if (!fmt) return NULL;
    buf b[11];
    memset(b, 0, sizeof b);
    idx s0[3] = {-1, -1, -1};
    if (get(o[0], &b[0], "act", fmt, 3, s0, 1) < 0) goto fail;
    idx TA = b[0].v.shape[0], B = b[0].v.shape[1], H4 = b[0].v.shape[2], H = H4 / 4;
    idx sw[2] = {H, H4}, shs[3] = {-1, B, H};
    if (get(o[1], &b[1], "W_h", fmt, 2, sw, 0) < 0) goto fail;
    if (get(o[2], &b[2], "hs", fmt, 3, shs, 1) < 0) goto fail;
    idx T = b[2].v.shape[0] - 1;                               /* hs holds h_0 … h_T */
    idx scs[3] = {-1, B, H}, sbh[2] = {B, H}, sm[2] = {T, B};
    if (get(o[3], &b[3], "cs", fmt, 3, scs, 1) < 0) goto fail;
    if (get(o[4], &b[4], "tcs", fmt, 3, scs, 1) < 0) goto fail;
    if (get(o[5], &b[5], "mask", fmt, 2, sm, 0) < 0) goto fail;
    if (get(o[6], &b[6], "rmask", fmt, 2, sbh, 0) < 0) goto fail;
    if (get(o[7], &b[7], "hr", fmt, 2, sbh, 1) < 0) goto fail;
    idx sb[1] = {H4};
    if (get(o[8], &b[8], "b", fmt, 1, sb, 0) < 0) goto fail;
    idx sx[3] = {T, B, -1};
    idx xst = 0, xsb = 0;
    int xcontig = 1;
    if (get_rows3(o[9], &b[9], fmt, sx, &xst, &xsb, &xcontig) < 0) goto fail;
    idx D = b[9].ok ? b[9].v.shape[2] : 0, swx[2] = {D, H4};
    if (get(o[10], &b[10], "W_x", fmt, 2, swx, 0) < 0) goto fail;
    if (b[9].ok != b[10].ok) {
        PyErr_SetString(PyExc_ValueError, "forward_loop: give both x and W_x, or neither");
        goto fail;
    }
    if (!b[1].ok || !b[2].ok || !b[3].ok || !b[4].ok || (b[6].ok && !b[7].ok)) {
        PyErr_SetString(PyExc_ValueError, "forward_loop: W_h, hs, cs, tcs (and hr with rmask) are required");
        goto fail;
    }
    int cache = b[3].v.shape[0] == T + 1;
    if ((cache && b[4].v.shape[0] != T) || (!cache && (b[3].v.shape[0] != 2 || b[4].v.shape[0] != 1))) {
        PyErr_SetString(PyExc_ValueError, "forward_loop: cs/tcs must be (T+1, T) or (2, 1) steps long");
        goto fail;
    }
    int dbl = fmt == 'd';
    /* act holds every step, or (inference, packed float32 loop, x given) a window of
     * TA steps that x·W_x is computed into TA steps at a time */
    if (TA != T && (cache || dbl || !b[9].ok || TA < 1 || TA > T)) {
        PyErr_SetString(PyExc_ValueError, "forward_loop: act must hold T steps (a shorter window "
                        "only for float32 inference with x and W_x)");
        goto fail;
    }
    size_t es = dbl ? 8 : 4;
    char *act = P(0), *hs = P(2), *cs = P(3), *tcs = P(4), *mask = P(5), *rmask = P(6), *hr = P(7);
    const void *W_h = P(1);
    size_t zB = (size_t)B * H4 * es, hB = (size_t)B * H * es;
    int short_act = 0;
    Py_BEGIN_ALLOW_THREADS
    int done = 0;
#ifdef HAVE_MK
    if (!dbl)
        done = mk_forward(T, TA, B, H, (float *)act, W_h, (float *)P(8), (float *)hs,
                          (float *)cs, (float *)tcs, cache, (float *)mask, (float *)rmask,
                          (float *)P(9), xst, xsb, (float *)P(10), D) == 0;
#endif
    short_act = !done && (TA != T || !xcontig);                /* only when out of memory */
    if (!done && !short_act && b[9].ok)                        /* act = x·W_x */
        gemm(dbl, T * B, H4, D, P(9), D, P(10), H4, 0, 0.0, act, H4);
    for (idx t = 0; t < T && !done && !short_act; t++) {
        char *h_prev = hs + t * hB, *z = act + t * zB;
        const void *hin = h_prev;
        if (rmask) {                                   /* recurrent dropout on h_{t-1} */
            if (dbl) mul_f64(B * H, (double *)h_prev, (double *)rmask, (double *)hr);
            else mul_f32(B * H, (float *)h_prev, (float *)rmask, (float *)hr);
            hin = hr;
        }
        if (B == 1 && blas_sv && blas_dv) gemv(dbl, 1, H, H4, W_h, H4, hin, z);  /* z += W_hᵀh */
        else gemm(dbl, B, H4, H, hin, H, W_h, H4, 0, 1.0, z, H4);   /* z += h_{t-1}·W_h */
        char *c_prev = cache ? cs + t * hB : cs + (t & 1) * hB;
        char *c_t = cache ? cs + (t + 1) * hB : cs + ((t + 1) & 1) * hB;
        char *tc = cache ? tcs + t * hB : tcs;
        char *m = mask ? mask + (size_t)t * B * es : NULL;
        if (dbl) fwd_rows_f64(B, H, 0, H, (double *)z, 4 * H, H, NULL, (double *)P(8), (double *)c_prev, (double *)c_t,
                              (double *)tc, (double *)h_prev, (double *)(h_prev + hB), (double *)m);
        else fwd_rows_f32(B, H, 0, H, (float *)z, 4 * H, H, NULL, (float *)P(8), (float *)c_prev, (float *)c_t,
                          (float *)tc, (float *)h_prev, (float *)(h_prev + hB), (float *)m);
    }
    Py_END_ALLOW_THREADS
    if (short_act) {
        if (!xcontig && TA == T)
            PyErr_SetString(PyExc_ValueError, "forward_loop: x must be C-contiguous here "
                            "(a strided x only for the packed float32 loop)");
        else
            PyErr_NoMemory();
        goto fail;
    }
    release(b, 11);
    Py_RETURN_NONE;
fail:
    release(b, 11);
    return NULL;
}

/* backward_loop(dhs, dh, dc, act, tcs, cs, dz, W_h, mask, rmask, work[, db, dx, W_x])
 * dhs (T,B,H) or None; dh, dc (B,H) hold dL/dh_T, dL/dc_T on entry and dh_0, dc_0
 * on exit; act (T,B,4H); tcs (T,B,H); cs (T+1,B,H); dz (T,B,4H) out; W_h (H,4H);
 * mask (T,B) or None; rmask (B,H) or None; work (B,H) scratch (needed with rmask);
 * db (4H), if given, gets Σ_t Σ_rows dz_t added (while dz_t is in cache); dx (T,B,D)
 * and W_x (D,4H), if given, may get dx = dz·W_xᵀ filled in step by step: returns True
 * if it did (packed float32 loop, D % 32 == 0), False if the caller must compute dx. */
static PyObject *backward_loop(PyObject *self, PyObject *args)
{
    PyObject *o[14];
    (void)self;
    o[11] = o[12] = o[13] = Py_None;
    if (!PyArg_ParseTuple(args, "OOOOOOOOOOO|OOO", &o[0], &o[1], &o[2], &o[3], &o[4], &o[5],
                          &o[6], &o[7], &o[8], &o[9], &o[10], &o[11], &o[12], &o[13]))
        return NULL;
    find_blas();
    if (!blas_s) { PyErr_SetString(PyExc_RuntimeError, "no cblas gemm found"); return NULL; }
    char fmt = fmt_of(o[3], "act");
    if (!fmt) return NULL;
    buf b[14];
    memset(b, 0, sizeof b);
    idx s0[3] = {-1, -1, -1};
    if (get(o[3], &b[3], "act", fmt, 3, s0, 0) < 0) goto fail;
    idx T = b[3].v.shape[0], B = b[3].v.shape[1], H4 = b[3].v.shape[2], H = H4 / 4;
    idx sT[3] = {T, B, H}, sbh[2] = {B, H}, sc[3] = {T + 1, B, H}, sz[3] = {T, B, H4},
        sw[2] = {H, H4}, sm[2] = {T, B};
    if (get(o[0], &b[0], "dhs", fmt, 3, sT, 0) < 0) goto fail;
    if (get(o[1], &b[1], "dh", fmt, 2, sbh, 1) < 0) goto fail;
    if (get(o[2], &b[2], "dc", fmt, 2, sbh, 1) < 0) goto fail;
    if (get(o[4], &b[4], "tcs", fmt, 3, sT, 0) < 0) goto fail;
    if (get(o[5], &b[5], "cs", fmt, 3, sc, 0) < 0) goto fail;
    if (get(o[6], &b[6], "dz", fmt, 3, sz, 1) < 0) goto fail;
    if (get(o[7], &b[7], "W_h", fmt, 2, sw, 0) < 0) goto fail;
    if (get(o[8], &b[8], "mask", fmt, 2, sm, 0) < 0) goto fail;
    if (get(o[9], &b[9], "rmask", fmt, 2, sbh, 0) < 0) goto fail;
    if (get(o[10], &b[10], "work", fmt, 2, sbh, 1) < 0) goto fail;
    idx sdb[1] = {H4};
    if (get(o[11], &b[11], "db", fmt, 1, sdb, 1) < 0) goto fail;
    idx sdx[3] = {T, B, -1};
    if (get(o[12], &b[12], "dx", fmt, 3, sdx, 1) < 0) goto fail;
    idx D = b[12].ok ? b[12].v.shape[2] : 0, swx[2] = {D, H4};
    if (get(o[13], &b[13], "W_x", fmt, 2, swx, 0) < 0) goto fail;
    for (int k = 1; k < 8; k++)
        if (!b[k].ok || (b[9].ok && !b[10].ok)) {
            PyErr_SetString(PyExc_ValueError, "backward_loop: only dhs, mask, rmask, work may be None");
            goto fail;
        }
    int dbl = fmt == 'd';
    size_t es = dbl ? 8 : 4, zB = (size_t)B * H4 * es, hB = (size_t)B * H * es;
    char *dhs = P(0), *dh = P(1), *dc = P(2), *act = P(3), *tcs = P(4), *cs = P(5), *dz = P(6),
         *mask = P(8), *rmask = P(9), *work = P(10);
    const void *W_h = P(7);
    int dx_done = 0;
    Py_BEGIN_ALLOW_THREADS
    int done = 0;
#ifdef HAVE_MK
    if (!dbl)
        done = mk_backward(T, B, H, (float *)dhs, (float *)dh, (float *)dc, (float *)act,
                           (float *)tcs, (float *)cs, (float *)dz, W_h, (float *)mask,
                           (float *)rmask, (float *)P(11), (float *)P(12), (float *)P(13), D,
                           &dx_done) == 0;
#endif
    for (idx t = T - 1; t >= 0 && !done; t--) {
        if (dhs) {                                                 /* dh_t += dy_t */
            if (dbl) add_f64(B * H, (double *)(dhs + t * hB), (double *)dh);
            else add_f32(B * H, (float *)(dhs + t * hB), (float *)dh);
        }
        char *m = mask ? mask + (size_t)t * B * es : NULL, *zt = dz + t * zB;
        if (dbl) bwd_rows_f64(B, H, 0, H, (double *)dh, (double *)dc, (double *)(act + t * zB),
                              (double *)(tcs + t * hB), (double *)(cs + t * hB), (double *)zt, (double *)m);
        else bwd_rows_f32(B, H, 0, H, (float *)dh, (float *)dc, (float *)(act + t * zB),
                          (float *)(tcs + t * hB), (float *)(cs + t * hB), (float *)zt, (float *)m);
        if (P(11)) {                                               /* db += Σ_rows dz_t */
            if (dbl) colsum_f64(B, H, 0, H, (double *)zt, (double *)P(11));
            else colsum_f32(B, H, 0, H, (float *)zt, (float *)P(11));
        }
        if (!rmask) {
            if (B == 1 && blas_sv && blas_dv) gemv(dbl, 0, H, H4, W_h, H4, zt, dh);
            else gemm(dbl, B, H, H4, zt, H4, W_h, H4, 1, 1.0, dh, H);   /* dh += dz·W_hᵀ */
        } else {
            gemm(dbl, B, H, H4, zt, H4, W_h, H4, 1, 0.0, work, H); /* dz·W_hᵀ ⊙ rmask */
            if (dbl) addmul_f64(B * H, (double *)work, (double *)rmask, (double *)dh);
            else addmul_f32(B * H, (float *)work, (float *)rmask, (float *)dh);
        }
    }
    Py_END_ALLOW_THREADS
    release(b, 14);
    return PyBool_FromLong(dx_done);
fail:
    release(b, 14);
    return NULL;
}

/* A 2-D array of `fmt` whose rows may be strided (a column slice of a C array): the
 * last axis contiguous, rows `*ld` elements apart; shape entries < 0 are free. */
static int get2d(PyObject *o, buf *b, const char *name, char fmt, const idx *shape, int writable,
                 idx *ld)
{
    b->ok = 0;
    int flags = PyBUF_STRIDES | PyBUF_FORMAT | (writable ? PyBUF_WRITABLE : 0);
    if (o == Py_None || PyObject_GetBuffer(o, &b->v, flags) < 0) {
        if (o == Py_None) PyErr_Format(PyExc_ValueError, "%s must not be None", name);
        else { PyErr_Clear(); PyErr_Format(PyExc_ValueError, "%s: expected a%s array", name,
                                           writable ? " writable" : "n"); }
        return -1;
    }
    b->ok = 1;
    const char *f = b->v.format ? b->v.format : "B";
    if (f[0] == '<' || f[0] == '=' || f[0] == '@') f++;
    if (f[0] != fmt || f[1] != 0 || b->v.ndim != 2) {
        PyErr_Format(PyExc_ValueError, "%s: expected a 2-D %s array", name,
                     fmt == 'f' ? "float32" : "float64");
        return -1;
    }
    for (int k = 0; k < 2; k++)
        if (shape[k] >= 0 && b->v.shape[k] != shape[k]) {
            PyErr_Format(PyExc_ValueError, "%s: expected size %zd on axis %d, got %zd",
                         name, shape[k], k, b->v.shape[k]);
            return -1;
        }
    idx es = fmt == 'd' ? 8 : 4, s0 = b->v.strides[0], s1 = b->v.strides[1];
    if ((b->v.shape[1] > 1 && s1 != es) || s0 % es || s0 < b->v.shape[1] * es) {
        PyErr_Format(PyExc_ValueError, "%s: rows must be contiguous and not overlap", name);
        return -1;
    }
    *ld = b->v.shape[0] > 1 ? s0 / es : b->v.shape[1];
    if (*ld < 1) *ld = 1;
    return 0;
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

/* weight_grads(((A, dZ, dW), ...)): dW = Aᵀ·dZ; A (N, R), dZ (N, G), dW (R, G) out; each
 * 2-D with contiguous rows (column slices of a bigger array are fine) */
static PyObject *weight_grads(PyObject *self, PyObject *args)
{
    PyObject *seq;
    (void)self;
    if (!PyArg_ParseTuple(args, "O", &seq)) return NULL;
    find_blas();
    if (!blas_s) { PyErr_SetString(PyExc_RuntimeError, "no cblas gemm found"); return NULL; }
    PyObject *fast = PySequence_Fast(seq, "weight_grads: expected a sequence of (A, dZ, dW)");
    if (!fast) return NULL;
    Py_ssize_t n = PySequence_Fast_GET_SIZE(fast);
    buf b[3 * MAXW];
    memset(b, 0, sizeof b);
    wg_job J;
    memset(&J, 0, sizeof J);
    char fmt = 0;
    if (n < 1 || n > MAXW) { PyErr_SetString(PyExc_ValueError, "weight_grads: 1 to 8 triples"); goto fail; }
    for (Py_ssize_t i = 0; i < n; i++) {
        PyObject *t = PySequence_Fast_GET_ITEM(fast, i);
        if (!PyTuple_Check(t) || PyTuple_GET_SIZE(t) != 3) {
            PyErr_SetString(PyExc_ValueError, "weight_grads: each item must be (A, dZ, dW)"); goto fail;
        }
        if (!fmt && !(fmt = fmt_of(PyTuple_GET_ITEM(t, 0), "A"))) goto fail;
        idx sa[2] = {-1, -1}, lda, ldz, ldw;
        if (get2d(PyTuple_GET_ITEM(t, 0), &b[3 * i], "A", fmt, sa, 0, &lda) < 0) goto fail;
        idx N = b[3 * i].v.shape[0], R = b[3 * i].v.shape[1], sz[2] = {N, -1};
        if (get2d(PyTuple_GET_ITEM(t, 1), &b[3 * i + 1], "dZ", fmt, sz, 0, &ldz) < 0) goto fail;
        idx G = b[3 * i + 1].v.shape[1], sw[2] = {R, G};
        if (get2d(PyTuple_GET_ITEM(t, 2), &b[3 * i + 2], "dW", fmt, sw, 1, &ldw) < 0) goto fail;
        J.m[i].A = b[3 * i].v.buf; J.m[i].dZ = b[3 * i + 1].v.buf; J.m[i].W = b[3 * i + 2].v.buf;
        J.m[i].N = N; J.m[i].R = R; J.m[i].G = G;
        J.m[i].lda = lda; J.m[i].ldz = ldz; J.m[i].ldw = ldw;
        J.total += R;
    }
    J.n = (int)n;
    J.dbl = fmt == 'd';
    Py_BEGIN_ALLOW_THREADS
    int blas_nt = blas_nthreads && blas_set_nthreads ? blas_nthreads() : 1, nt = blas_nt;
    if (nt > 16) nt = 16;
    if (nt > J.total) nt = (int)J.total;
    if (nt < 1) nt = 1;
    wg_arg a[16];
    for (int k = 0; k < nt; k++) { a[k].J = &J; a[k].k = k; a[k].nt = nt; }
#ifndef HAVE_DL
    nt = 1;
#endif
    if (nt == 1) {
        wg_worker(&a[0]);                   /* (one thread: the BLAS may thread the call) */
    }
#ifdef HAVE_DL
    else {
        pthread_t th[16];
        spawn_t sp[16];
        int started = 1;
        blas_set_nthreads(1);
        for (int k = 1; k < nt; k++, started++)
            if (spawn(&th[k], &sp[k], wg_worker, &a[k], k) != 0) break;
        wg_worker(&a[0]);
        for (int k = started; k < nt; k++) wg_worker(&a[k]);   /* shares not started */
        for (int k = 1; k < started; k++) pthread_join(th[k], NULL);
        blas_set_nthreads(blas_nt);
    }
#endif
    Py_END_ALLOW_THREADS
    for (int i = 0; i < 3 * MAXW; i++) if (b[i].ok) PyBuffer_Release(&b[i].v);
    Py_DECREF(fast);
    Py_RETURN_NONE;
fail:
    for (int i = 0; i < 3 * MAXW; i++) if (b[i].ok) PyBuffer_Release(&b[i].v);
    Py_DECREF(fast);
    return NULL;
}

static PyObject *release_scratch(PyObject *self, PyObject *args)
{
    (void)self; (void)args;
#ifdef HAVE_MK
    release_scratch_here();
#endif
    Py_RETURN_NONE;
}

static PyObject *blas_info(PyObject *self, PyObject *args)
{
    (void)self; (void)args;
    find_blas();
    if (!blas_s) Py_RETURN_NONE;
    return Py_BuildValue("(si)", blas_lib, blas_ilp64);
}

/* mk_threads(B, H): threads the packed float32 loop would use now; 0 if it would not run */
static PyObject *mk_plan(PyObject *self, PyObject *args)
{
    Py_ssize_t B, H;
    (void)self;
    if (!PyArg_ParseTuple(args, "nn", &B, &H)) return NULL;
    find_blas();
#ifdef HAVE_MK
    if (mk_usable(B, H)) return PyLong_FromLong(mk_threads(B, H));
#endif
    return PyLong_FromLong(0);
}

static PyMethodDef methods[] = {
    {"mk_threads", mk_plan, METH_VARARGS,
     "mk_threads(B, H): threads of the packed float32 loop for this size (0: BLAS loop)"},
    {"step_forward", step_forward, METH_VARARGS, "step_forward(z, rec, c_prev, c_t, tc, h_prev, h_t, m_t)"},
    {"step_backward", step_backward, METH_VARARGS, "step_backward(dh, dc, a, tc, c_prev, dz, m_t[, work])"},
    {"forward_loop", forward_loop, METH_VARARGS, "forward_loop(act, W_h, hs, cs, tcs, mask, rmask, hr[, b, x, W_x])"},
    {"backward_loop", backward_loop, METH_VARARGS,
     "backward_loop(dhs, dh, dc, act, tcs, cs, dz, W_h, mask, rmask, work[, db, dx, W_x]) -> dx filled?"},
    {"weight_grads", weight_grads, METH_VARARGS,
     "weight_grads(((A, dZ, dW), ...)): dW = A^T dZ for each triple, rows shared by threads"},
    {"release_scratch", release_scratch, METH_NOARGS,
     "free the calling thread's kept scratch (packed weights); the next call allocates again"},
    {"blas_info", blas_info, METH_NOARGS, "(library path, ilp64) of the gemm in use, or None"},
    {NULL, NULL, 0, NULL}
};

static struct PyModuleDef module = {PyModuleDef_HEAD_INIT, "_fused",
                                    "Fused LSTM step kernels (see gates.py).", -1, methods,
                                    NULL, NULL, NULL, NULL};

PyMODINIT_FUNC PyInit__fused(void) { return PyModule_Create(&module); }
