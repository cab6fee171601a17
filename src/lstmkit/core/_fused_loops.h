/* _fused_loops.h — the LSTM time loop in C with one BLAS call per step: float64 always,
 * and float32 where no packed kernel runs (LSTMKIT_ISA=blas, or no packed ISA here).
 *
 *   forward   act = x·W_x for all t (one GEMM); then per step
 *             z_t += h_{t-1}·W_h (⊙ m_r on h_{t-1}) (a gemv at B = 1), and the fused
 *             step of _fused_rows.h with + b
 *   backward  per step, from T−1 down: dh += dy_t; the fused step → dz_t, dc; db += Σ dz_t;
 *             dh += (dz_t·W_hᵀ) (⊙ m_r)
 * The weight gradients and dx are the caller's (large GEMMs after the loop).
 */
#ifndef LK_FUSED_LOOPS_H
#define LK_FUSED_LOOPS_H

#include <stddef.h>

typedef ptrdiff_t lk_idx;

typedef struct {
    int dbl;                     /* float64 (else float32) */
    lk_idx T, B, D, H;
    void *act;                   /* (T, B, 4H) scratch: z, then the activations */
    const void *x, *W_x, *W_h, *b;   /* x (T, B, D) C-contiguous; b (4H) or NULL */
    void *hs, *cs, *tcs;         /* as lk_fwd_args (_fused_packed.h): cache or ping-pong */
    int cache;
    const void *mask, *rmask;    /* (T, B), (B, H) or NULL */
    void *hr;                    /* (B, H) scratch, needed with rmask */
} lk_blas_fwd_args;

typedef struct {
    int dbl;
    lk_idx T, B, H;
    const void *dhs;             /* (T, B, H) or NULL */
    void *dh, *dc;               /* (B, H) in / out */
    const void *act, *tcs, *cs;  /* (T, B, 4H), (T, B, H), (T+1, B, H) */
    void *dz;                    /* (T, B, 4H) out; may be act */
    const void *W_h, *mask, *rmask;
    void *work;                  /* (B, H) scratch, needed with rmask */
    void *db;                    /* (4H) += Σ dz, or NULL */
} lk_blas_bwd_args;

void lk_blas_forward(const lk_blas_fwd_args *a);
void lk_blas_backward(const lk_blas_bwd_args *a);

#endif /* LK_FUSED_LOOPS_H */
