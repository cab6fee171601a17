/* _fused_threads.c — worker threads and the chunk scheduler (see the header; the scratch
 * memory kept per thread is in _fused_scratch.c). */
#if defined(__linux__) && !defined(_GNU_SOURCE)
#define _GNU_SOURCE   /* sched_getcpu, pthread_attr_setaffinity_np, pthread_setname_np */
#endif
#include "_fused_threads.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#if defined(_WIN32)
#define LK_WIN 1
#include <windows.h>
#include <process.h>
#include <malloc.h>
#else
#include <pthread.h>
#include <sched.h>
#include <unistd.h>
#include <time.h>
#endif

/* ------------------------------------------------------------------ atomics */
#if defined(_MSC_VER) && !defined(__clang__)
#include <intrin.h>
static long long ld_acq(lk_atomic *p) { return _InterlockedCompareExchange64(p, 0, 0); }
static int cas(lk_atomic *p, long long *expect, long long want)
{
    long long seen = _InterlockedCompareExchange64(p, want, *expect);
    if (seen == *expect) return 1;
    *expect = seen;
    return 0;
}
static void add1(lk_atomic *p) { _InterlockedIncrement64(p); }
static void store_rel(lk_atomic *p, long long v) { _InterlockedExchange64(p, v); }
static void cpu_relax(void) { YieldProcessor(); }
#else
static long long ld_acq(lk_atomic *p) { return __atomic_load_n(p, __ATOMIC_ACQUIRE); }
static int cas(lk_atomic *p, long long *expect, long long want)
{
    return __atomic_compare_exchange_n(p, expect, want, 1, __ATOMIC_ACQ_REL, __ATOMIC_RELAXED);
}
static void add1(lk_atomic *p) { __atomic_fetch_add(p, 1, __ATOMIC_RELEASE); }
static void store_rel(lk_atomic *p, long long v) { __atomic_store_n(p, v, __ATOMIC_RELEASE); }
static void cpu_relax(void)
{
#if defined(__x86_64__) || defined(__i386__)
    __builtin_ia32_pause();
#elif defined(__aarch64__)
    __asm__ volatile("yield");
#endif
}
#endif

static void yield_cpu(void)
{
#if defined(LK_WIN)
    SwitchToThread();
#else
    sched_yield();
#endif
}

/* ---------------------------------------------------------------- scheduler */
static long take(lk_sched *S, int k, long start, long end)
{
    long len = end - start, lo = start + len * k / S->n, hi = start + len * (k + 1) / S->n;
    long long v = ld_acq(&S->next[k].v);
    for (;;) {
        long long want = v < lo ? lo : v;
        if (want >= hi) return -1;
        if (cas(&S->next[k].v, &v, want + 1)) return (long)(want - start);
    }
}

long lk_claim(lk_sched *S, int tid, long start, long end)
{
    for (int i = 0; i < S->n; i++) {
        long c = take(S, (tid + i) % S->n, start, end);
        if (c >= 0) return c;
    }
    return -1;
}

void lk_chunk_done(lk_sched *S) { add1(&S->done); }

void lk_phase_wait(lk_sched *S, long end)
{
    for (long spin = 0; ld_acq(&S->done) < end; spin++)
        if (spin > 500) yield_cpu();       /* busy machine: let the thread we wait for run */
        else cpu_relax();
}

/* ------------------------------------------------------------------ threads */
/* Linux puts a new thread on its parent's CPU when the other CPUs are idle, and it then
 * starts only when the parent is preempted: measured ~2.7 ms on this project's 2-CPU
 * machines, during which the parent works alone (and a short call is half over). So a
 * worker is started on a CPU other than the caller's (it then starts in ~0.15 ms), and
 * once running it widens its affinity back to every CPU the process may use. */
typedef struct {
    lk_worker fn;
    void *ctx;
    lk_sched *S;
    int tid;
    lk_atomic *go;                /* 0: wait, 1: run, -1: return at once */
#if defined(__linux__)
    cpu_set_t all;
    int widen;
#endif
} start_t;

static void thread_body(start_t *s)
{
#if defined(__linux__)
    pthread_setname_np(pthread_self(), "lstmkit");              /* (what top -H shows) */
    if (s->widen) pthread_setaffinity_np(pthread_self(), sizeof s->all, &s->all);
#endif
    long long g;
    while ((g = ld_acq(s->go)) == 0) yield_cpu();
    if (g == 1) s->fn(s->ctx, s->tid, s->S);
}

#if defined(LK_WIN)
typedef HANDLE thread_t;
static unsigned __stdcall tramp(void *p) { thread_body(p); return 0; }
static int start(thread_t *th, start_t *s)
{
    uintptr_t h = _beginthreadex(NULL, 0, tramp, s, 0, NULL);
    if (!h) return -1;
    *th = (HANDLE)h;
    return 0;
}
static void join(thread_t th) { WaitForSingleObject(th, INFINITE); CloseHandle(th); }
#else
typedef pthread_t thread_t;
static void *tramp(void *p) { thread_body(p); return NULL; }
static int start(thread_t *th, start_t *s)
{
#if defined(__linux__)
    pthread_attr_t at;
    s->widen = 0;
    if (sched_getaffinity(0, sizeof s->all, &s->all) == 0 && pthread_attr_init(&at) == 0) {
        int me = sched_getcpu(), n = 0, placed = 0;
        int mine[CPU_SETSIZE];
        for (int c = 0; c < CPU_SETSIZE; c++)
            if (CPU_ISSET(c, &s->all) && c != me) mine[n++] = c;
        if (n > 0) {
            cpu_set_t one;
            CPU_ZERO(&one);
            CPU_SET(mine[(s->tid - 1) % n], &one);
            s->widen = 1;
            placed = pthread_attr_setaffinity_np(&at, sizeof one, &one) == 0 &&
                     pthread_create(th, &at, tramp, s) == 0;
        }
        pthread_attr_destroy(&at);
        if (placed) return 0;
        s->widen = 0;
    }
#endif
    return pthread_create(th, NULL, tramp, s) == 0 ? 0 : -1;
}
static void join(thread_t th) { pthread_join(th, NULL); }
#endif

static void sched_reset(lk_sched *S, int n)
{
    for (int k = 0; k < LK_MAXT; k++) S->next[k].v = 0;
    S->done = 0;
    S->n = n;
}

/* Threads started for this call and joined at its end. */
static int run_fresh(lk_worker worker, void *ctx, int n, lk_sched *S)
{
    thread_t th[LK_MAXT];
    start_t st[LK_MAXT];
    lk_atomic go = 0;
    if (n > LK_MAXT) n = LK_MAXT;
    if (n < 1) n = 1;
    int started = 1;
    for (int k = 1; k < n; k++, started++) {
        st[k].fn = worker; st[k].ctx = ctx; st[k].S = S; st[k].tid = k; st[k].go = &go;
        if (start(&th[k], &st[k]) != 0) break;
    }
    if (started < n) {                       /* could not start them all: run alone */
        store_rel(&go, -1);
        for (int k = 1; k < started; k++) join(th[k]);
        n = started = 1;
    }
    sched_reset(S, n);
    store_rel(&go, 1);
    worker(ctx, 0, S);
    for (int k = 1; k < n; k++) join(th[k]);
    return n;
}

#if !defined(LK_WIN)
/* The pool: workers 1 … have kept between calls (POSIX). A call that finds the pool free
 * hands its job to them instead of starting threads (measured ~0.15 ms per thread on the
 * 2-CPU machines, more on a busy one: a tenth of a B = 1 call). A worker spins for
 * LK_SPIN_NS after a job (a stream of calls, a stack of layers: no wake-up at all), then
 * sleeps on a condition variable. Every worker acknowledges every job, taking part or
 * not, so a job's description is not rewritten while a late worker still reads it. A
 * call that finds the pool in use (another thread's call) starts its own threads. After
 * fork() the child has no workers: the pool starts again from none. LSTMKIT_POOL=0 turns
 * it off (threads per call, as before). */
#define LK_SPIN_NS 200000L
static struct {
    pthread_mutex_t use;          /* held by the call that uses the pool */
    pthread_mutex_t mu;           /* sleeping workers wait on cv under mu */
    pthread_cond_t cv;
    int have;                     /* workers started */
    lk_atomic gen;                /* the job number (bumped to hand out a job) */
    lk_atomic acks;               /* workers done with the current job */
    lk_worker fn;                 /* the job: fn(ctx, tid, S) on threads tid < n */
    void *ctx;
    lk_sched *S;
    int n;
    int asleep[LK_MAXT];          /* worker k waits on cv (set and cleared under mu) */
    start_t st[LK_MAXT];
    thread_t th[LK_MAXT];
} pool = {.use = PTHREAD_MUTEX_INITIALIZER, .mu = PTHREAD_MUTEX_INITIALIZER,
          .cv = PTHREAD_COND_INITIALIZER};
static lk_atomic pool_go = 1;
static pthread_once_t pool_once = PTHREAD_ONCE_INIT;

static long long now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (long long)ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

static void pool_loop(void *arg, int tid, lk_sched *unused)
{
    long long seen = (long long)(intptr_t)arg;
    (void)unused;
    for (;;) {
        long long g, t0 = 0;
        for (long spin = 0; (g = ld_acq(&pool.gen)) == seen; spin++) {
            cpu_relax();
            if ((spin & 255) != 255) continue;
            if (!t0) t0 = now_ns();
            else if (now_ns() - t0 > LK_SPIN_NS) {          /* idle: sleep until a job */
                pthread_mutex_lock(&pool.mu);
                pool.asleep[tid] = 1;
                while (ld_acq(&pool.gen) == seen) pthread_cond_wait(&pool.cv, &pool.mu);
                pool.asleep[tid] = 0;
                pthread_mutex_unlock(&pool.mu);
                t0 = 0;
#if defined(__linux__)
                /* Woken on a CPU other than the caller's (run_pool pinned it there): widen
                 * back to every CPU, as a new worker does (start). Kept pinned, it made LSTM
                 * training at B = 1 (BLAS calls per step, the weight gradients on the pool)
                 * run 7.7–8.1 ms instead of 4.1–4.7 in 6 of 24 variant-processes, per
                 * process and variant; widened, 0 of 24 (Intel family 6 model 167). */
                if (pool.st[tid].widen)
                    pthread_setaffinity_np(pthread_self(), sizeof pool.st[tid].all,
                                           &pool.st[tid].all);
#endif
            }
        }
        seen = g;
        if (tid < pool.n) pool.fn(pool.ctx, tid, pool.S);
        add1(&pool.acks);
    }
}

static void pool_forget(void)       /* in a fork child: the workers did not come along */
{
    pthread_mutex_init(&pool.use, NULL);
    pthread_mutex_init(&pool.mu, NULL);
    pthread_cond_init(&pool.cv, NULL);
    pool.have = 0;
}

static void pool_init(void) { pthread_atfork(NULL, NULL, pool_forget); }

static int pool_wanted(void)
{
    const char *v = getenv("LSTMKIT_POOL");
    return !(v && v[0] == '0');
}

/* Run on the pool; -1 if it is in use (or off). */
static int run_pool(lk_worker worker, void *ctx, int n, lk_sched *S)
{
    if (!pool_wanted()) return -1;
    pthread_once(&pool_once, pool_init);
    if (pthread_mutex_trylock(&pool.use) != 0) return -1;
    long long g = ld_acq(&pool.gen);
    while (pool.have < n - 1) {                 /* start the workers this job needs */
        int k = pool.have + 1;
        start_t *st = &pool.st[k];
        st->fn = pool_loop; st->ctx = (void *)(intptr_t)g; st->S = NULL; st->tid = k;
        st->go = &pool_go;
        if (start(&pool.th[k], st) != 0) break;
        pool.have = k;
    }
    if (n > pool.have + 1) n = pool.have + 1;
    sched_reset(S, n);
    pool.fn = worker; pool.ctx = ctx; pool.S = S; pool.n = n;
    store_rel(&pool.acks, 0);
    int have = pool.have;
    pthread_mutex_lock(&pool.mu);               /* the job, then wake whoever sleeps */
#if defined(__linux__)
    /* A sleeping worker woken now would be put on this CPU (the waker's) while the others
     * idle, and start only when this thread is preempted: ms later (the same effect as
     * for a new thread, see start). So it may run anywhere but here. */
    cpu_set_t away;
    int me = sched_getcpu(), some = 0;
    if (me >= 0 && sched_getaffinity(0, sizeof away, &away) == 0 && CPU_ISSET(me, &away)) {
        CPU_CLR(me, &away);
        some = CPU_COUNT(&away) > 0;
    }
    for (int k = 1; some && k <= have; k++)
        if (pool.asleep[k]) pthread_setaffinity_np(pool.th[k], sizeof away, &away);
#endif
    store_rel(&pool.gen, g + 1);
    pthread_cond_broadcast(&pool.cv);
    pthread_mutex_unlock(&pool.mu);
    worker(ctx, 0, S);
    for (long spin = 0; ld_acq(&pool.acks) < have; spin++)
        if (spin > 500) yield_cpu();
        else cpu_relax();
    pthread_mutex_unlock(&pool.use);
    return n;
}
#endif

int lk_run(lk_worker worker, void *ctx, int n, lk_sched *S)
{
    if (n > LK_MAXT) n = LK_MAXT;
    if (n <= 1) {
        sched_reset(S, 1);
        worker(ctx, 0, S);
        return 1;
    }
#if !defined(LK_WIN)
    int ran = run_pool(worker, ctx, n, S);
    if (ran > 0) return ran;
#endif
    return run_fresh(worker, ctx, n, S);
}

int lk_cpu_count(void)
{
#if defined(LK_WIN)
    SYSTEM_INFO si;
    GetSystemInfo(&si);
    return si.dwNumberOfProcessors > 0 ? (int)si.dwNumberOfProcessors : 1;
#elif defined(__linux__)
    cpu_set_t s;
    if (sched_getaffinity(0, sizeof s, &s) == 0) return CPU_COUNT(&s) > 0 ? CPU_COUNT(&s) : 1;
    return 1;
#else
    long n = sysconf(_SC_NPROCESSORS_ONLN);
    return n > 0 ? (int)n : 1;
#endif
}
