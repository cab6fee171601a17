/* _fused_threads.h — the worker threads of one call, the chunk scheduler they share, and
 * the scratch memory kept per calling thread (_fused_scratch.c). POSIX threads, or Win32
 * threads under MSVC.
 *
 * A call runs its worker on n threads: the calling thread is thread 0, threads 1 … n−1
 * come from a pool kept between calls (POSIX; see run_pool in _fused_threads.c), or are
 * started for the call and joined at its end when the pool is in use, off
 * (LSTMKIT_POOL=0) or on Windows (lk_run). Work is cut into numbered
 * chunks; each phase of the work (e.g. "the 16 chunks of step t") owns a range of
 * chunk numbers start … end−1, and every thread calls
 *
 *     while ((c = lk_claim(S, tid, start, end)) >= 0) { work on chunk c; lk_chunk_done(S); }
 *     lk_phase_wait(S, end);               (every chunk numbered < end is done)
 *
 * The range is cut into one contiguous share per thread: a thread takes the chunks of
 * its own share first (the same hidden units every step, so their weights stay in its
 * cache), then helps with the others'. If one thread is descheduled on a busy machine
 * the other does its work instead of waiting a time slice for it. Counters only grow.
 */
#ifndef LK_FUSED_THREADS_H
#define LK_FUSED_THREADS_H

#include <stddef.h>

#define LK_MAXT 64               /* threads of one call, at most */

#if defined(_MSC_VER) && !defined(__clang__)
typedef volatile long long lk_atomic;
#else
typedef long long lk_atomic;     /* used only through __atomic builtins */
#endif

typedef struct {
    struct { lk_atomic v; char pad[56]; } next[LK_MAXT];   /* next chunk of share k (or a
                                                               stale value below its start) */
    lk_atomic done;              /* chunks finished, all phases together */
    int n;                       /* threads sharing the work */
} lk_sched;

/* A chunk of the phase start … end−1 for thread tid, relative to start; -1 if none left. */
long lk_claim(lk_sched *S, int tid, long start, long end);
void lk_chunk_done(lk_sched *S);
void lk_phase_wait(lk_sched *S, long end);

/* Run worker(ctx, tid, S) on up to n threads (this one is tid 0) and wait for all; S is
 * reset for them. If a thread cannot be started the call runs on fewer (possibly one).
 * Returns the number of threads that ran. The pool's workers spin ~0.2 ms after a call
 * (the next call of a stream finds them awake), then sleep. */
typedef void (*lk_worker)(void *ctx, int tid, lk_sched *S);
int lk_run(lk_worker worker, void *ctx, int n, lk_sched *S);

/* Logical CPUs this process may use (at least 1). */
int lk_cpu_count(void);

/* Scratch kept between calls, per calling thread, in NSLOT slots that grow to the
 * largest size asked for (64-byte aligned; 2 MB pages where the OS allows, since a fresh
 * 8 MB buffer costs ~2000 page faults, a few ms per call). Freed when the thread ends,
 * or by lk_scratch_release(). NULL if out of memory. */
enum { LK_SCR_W, LK_SCR_WX, LK_SCR_STATE, LK_SCR_Z, LK_SCR_BIAS, LK_SCR_XA, LK_SCR_XW,
       LK_SCR_C0, LK_SCR_WCOPY, LK_NSLOT1 };
/* Inference keeps the packed weights of up to LK_NKEEP layers (a stack's layers take
 * turns): set 0 is the slots LK_SCR_W, LK_SCR_WX, LK_SCR_WCOPY; set k > 0 is
 * LK_SCR_KEPT(k, 0 … 2) (W, WX, WCOPY), after the others. */
#define LK_NKEEP 4
#define LK_SCR_KEPT(k, j) \
    ((k) == 0 ? ((j) == 0 ? LK_SCR_W : (j) == 1 ? LK_SCR_WX : LK_SCR_WCOPY) \
              : LK_NSLOT1 + 3 * ((k) - 1) + (j))
#define LK_NSLOT (LK_NSLOT1 + 3 * (LK_NKEEP - 1))
void *lk_scratch(int slot, size_t bytes);

/* A slot can carry a mark (up to LK_MARKN bytes) saying what it holds, so a later call can
 * reuse its contents (the packed weights of inference calls on the same weights):
 * lk_scratch_mark sets it, lk_scratch_marked tells whether the slot still carries an equal
 * mark, and lk_scratch clears it (whoever asks for the slot may overwrite it), as does a
 * reallocation. lk_scratch_keep is lk_scratch without clearing the mark. */
#define LK_MARKN 64
void *lk_scratch_keep(int slot, size_t bytes);
void lk_scratch_mark(int slot, const void *mark, size_t n);
int lk_scratch_marked(int slot, const void *mark, size_t n);
/* When the slot's mark was last set or found (a count per thread; 0: never, or cleared). */
unsigned long lk_scratch_used(int slot);
/* Gives a slot's memory back and keeps its mark: a mark that stands for what other slots
 * hold (the copy slot of a frozen set, which has nothing to compare). */
void lk_scratch_drop(int slot);
/* Bytes the calling thread's slots hold now. */
size_t lk_scratch_bytes(void);
void lk_scratch_release(void);

#endif /* LK_FUSED_THREADS_H */
