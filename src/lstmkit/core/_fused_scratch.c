/* _fused_scratch.c — the scratch memory kept per calling thread, and the marks that let a
 * later call reuse what a slot holds (declared in _fused_threads.h). */
#include "_fused_threads.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#if defined(_WIN32)
#define LK_WIN 1
#include <windows.h>
#include <malloc.h>
#else
#include <pthread.h>
#include <sys/mman.h>
#endif

/* ------------------------------------------------------------------ scratch */
/* Large buffers (≥ 4 MB) come straight from mmap on POSIX systems, 2 MB aligned, and go
 * back with munmap: through malloc, glibc's moving mmap threshold kept freed buffers of a
 * thread's arena in the process (an RSS that depended on what ran before). */
#define LK_HUGE ((size_t)2 << 20)
static size_t asize(size_t bytes)
{
    size_t align = bytes >= 2 * LK_HUGE ? LK_HUGE : 64;
    return (bytes + align - 1) / align * align;
}

static void *amalloc(size_t bytes)
{
    size_t n = asize(bytes);
#if defined(LK_WIN)
    return _aligned_malloc(n, bytes >= 2 * LK_HUGE ? LK_HUGE : 64);
#else
    if (bytes < 2 * LK_HUGE) {
        void *p = NULL;
        return posix_memalign(&p, 64, n) == 0 ? p : NULL;
    }
    char *m = mmap(NULL, n + LK_HUGE, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (m == MAP_FAILED) return NULL;
    size_t head = (LK_HUGE - (uintptr_t)m % LK_HUGE) % LK_HUGE;
    if (head) munmap(m, head);                       /* trim to a 2 MB boundary … */
    if (LK_HUGE - head) munmap(m + head + n, LK_HUGE - head);   /* … and the tail */
#ifdef MADV_HUGEPAGE
    madvise(m + head, n, MADV_HUGEPAGE);
#endif
    return m + head;
#endif
}

static void afree(void *p, size_t bytes)
{
    if (!p) return;
#if defined(LK_WIN)
    (void)bytes;
    _aligned_free(p);
#else
    if (bytes < 2 * LK_HUGE) free(p);
    else munmap(p, asize(bytes));
#endif
}

typedef struct {
    void *p[LK_NSLOT];
    size_t n[LK_NSLOT];
    unsigned char mark[LK_NSLOT][LK_MARKN];   /* what the slot holds (see lk_scratch_mark) */
    size_t markn[LK_NSLOT];                   /* 0: no mark */
    unsigned long used[LK_NSLOT], clock;      /* when a mark was last set or found */
} slots_t;

static void slots_free(void *v)
{
    slots_t *s = v;
    if (!s) return;
    for (int k = 0; k < LK_NSLOT; k++) afree(s->p[k], s->n[k]);
    free(s);
}

#if defined(LK_WIN)
static DWORD slots_key = FLS_OUT_OF_INDEXES;
static INIT_ONCE slots_once = INIT_ONCE_STATIC_INIT;
static void WINAPI slots_dtor(void *v) { slots_free(v); }
static BOOL CALLBACK slots_init(PINIT_ONCE o, void *a, void **c)
{
    (void)o; (void)a; (void)c;
    slots_key = FlsAlloc(slots_dtor);
    return TRUE;
}
static slots_t *slots_get(void)
{
    InitOnceExecuteOnce(&slots_once, slots_init, NULL, NULL);
    return slots_key == FLS_OUT_OF_INDEXES ? NULL : FlsGetValue(slots_key);
}
static int slots_set(slots_t *s) { return FlsSetValue(slots_key, s) ? 0 : -1; }
#else
static pthread_key_t slots_key;
static pthread_once_t slots_once = PTHREAD_ONCE_INIT;
static void slots_init(void) { pthread_key_create(&slots_key, slots_free); }
static slots_t *slots_get(void)
{
    pthread_once(&slots_once, slots_init);
    return pthread_getspecific(slots_key);
}
static int slots_set(slots_t *s) { return pthread_setspecific(slots_key, s); }
#endif

void *lk_scratch_keep(int slot, size_t bytes)
{
    slots_t *s = slots_get();
    if (!s) {
        if (!(s = calloc(1, sizeof *s)) || slots_set(s) != 0) {
            free(s);
            return NULL;
        }
    }
    if (s->n[slot] < bytes) {
        afree(s->p[slot], s->n[slot]);
        s->p[slot] = amalloc(bytes);
        s->n[slot] = s->p[slot] ? bytes : 0;
        s->markn[slot] = 0;                   /* new memory holds nothing */
    }
    return s->p[slot];
}

void *lk_scratch(int slot, size_t bytes)
{
    void *p = lk_scratch_keep(slot, bytes);
    slots_t *s = slots_get();
    if (s) s->markn[slot] = 0;
    return p;
}

void lk_scratch_mark(int slot, const void *mark, size_t n)
{
    slots_t *s = slots_get();
    if (!s) return;
    if (n > LK_MARKN) n = 0;                  /* too long to keep: no mark */
    if (n) memcpy(s->mark[slot], mark, n);    /* (mark may be NULL when n is 0) */
    s->markn[slot] = n;
    s->used[slot] = n ? ++s->clock : 0;
}

int lk_scratch_marked(int slot, const void *mark, size_t n)
{
    slots_t *s = slots_get();
    int yes = s && n && s->markn[slot] == n && memcmp(s->mark[slot], mark, n) == 0;
    if (yes) s->used[slot] = ++s->clock;
    return yes;
}

unsigned long lk_scratch_used(int slot)
{
    slots_t *s = slots_get();
    return s && s->markn[slot] ? s->used[slot] : 0;
}

void lk_scratch_drop(int slot)
{
    slots_t *s = slots_get();
    if (!s) return;
    afree(s->p[slot], s->n[slot]);
    s->p[slot] = NULL;
    s->n[slot] = 0;
}

size_t lk_scratch_bytes(void)
{
    slots_t *s = slots_get();
    size_t n = 0;
    for (int k = 0; s && k < LK_NSLOT; k++) n += s->n[k];
    return n;
}

void lk_scratch_release(void)
{
    slots_t *s = slots_get();
    slots_free(s);
    if (s) slots_set(NULL);
}
