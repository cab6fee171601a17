/* _fused_packed.h — the float32 time loops on packed weights, LSTM and GRU, forward and
 * backward: what they take and what they promise. No Python here (a C test driver links
 * these files alone, see tests/core/c/).
 *
 * Why packed: at small batch a BLAS call per step re-packs all of W_h (H × 4H) to multiply
 * it by a few rows of h; torch/oneDNN keeps the weights packed across steps. Here the
 * weights are packed once per call into panels that a register-blocked kernel reads
 * straight, and the hidden units are handed to threads in chunks of 32 (LK_CU): whoever
 * computes a chunk's part of the product also does its elementwise step, so z never goes
 * to memory and back. All chunks of step t finish before step t+1 starts (h_t must be
 * complete). For small weights the forward can instead give each thread its own batch
 * rows for the whole sequence (LK_SPLIT_ROWS: no wait per step). One source
 * (_fused_packed.inc) is compiled for each vector ISA.
 *
 * The equations (gate order along the G·H axis: LSTM i, f, g, o; GRU z, r, n):
 *
 *   LSTM forward   z_t = [x_t, h_{t-1}·m_r] · [W_x; W_h] + b
 *                  i, f, o = σ(z_i, z_f, z_o);  g = tanh(z_g)
 *                  c_t = f ⊙ c_{t-1} + i ⊙ g;   h_t = o ⊙ tanh(c_t)
 *   GRU forward    a_t = x_t·W_x + b_x;   u_t = (h_{t-1}·m_r)·W_h + b_h
 *                  z = σ(a_z + u_z);  r = σ(a_r + u_r);  n = tanh(a_n + r ⊙ u_n)
 *                  h_t = n + z ⊙ (h_{t-1} − n)
 *   masked rows (mask[t, b] == 0) carry h (and c) through the step; m_r is the
 *   recurrent-dropout mask (or 1).
 *
 *   LSTM backward  do = dh ⊙ tc;  dc += dh ⊙ o ⊙ (1 − tc²)
 *                  dz = [dc⊙g⊙i(1−i), dc⊙c_{t-1}⊙f(1−f), dc⊙i⊙(1−g²), do⊙o(1−o)]
 *                  dc_{t-1} = dc ⊙ f;  dh_{t-1} = (dz·W_hᵀ) ⊙ m_r;  dx_t = dz·W_xᵀ
 *   GRU backward   dA_z = dh⊙(h_{t-1} − n)⊙z(1−z);  dA_n = dh⊙(1−z)⊙(1−n²)
 *                  dA_r = dA_n⊙u_n⊙r(1−r);  da = [dA_z, dA_r, dA_n];  du = [dA_z, dA_r, dA_n⊙r]
 *                  dh_{t-1} = dh⊙z + (du·W_hᵀ)⊙m_r;  dx_t = da·W_xᵀ
 *   (masked rows: dh, dc pass to t−1 unchanged and give no dz.)
 */
#ifndef LK_FUSED_PACKED_H
#define LK_FUSED_PACKED_H

#include <stddef.h>

#include "_fused_cpu.h"

typedef ptrdiff_t lk_idx;

enum { LK_LSTM = 0, LK_GRU = 1 };
#define LK_CU 32                 /* hidden units per chunk of work */

/* How x_t·W_x is computed (see _fused_packed.inc): inside each step's product
 * ([x_t, h_{t-1}]·[W_x; W_h]), or for a block of steps at once before them (about
 * LK_XROWS rows x_τ per block). AUTO picks by size (lk_xproj_auto); LSTMKIT_XPROJ=step or
 * block forces one (lk_xproj_choice), so tests run both on any machine. */
enum { LK_XPROJ_AUTO = 0, LK_XPROJ_STEP = 1, LK_XPROJ_BLOCK = 2 };
#define LK_XROWS 96

/* How the forward's threads share the work (see _fused_packed_fwd.inc): chunks of hidden
 * units every step, all threads waiting for each other after it; or a group of batch rows
 * each, for the whole sequence, with no waits (weights that fit a core's cache, where the
 * per-step wait would cost more than the step). AUTO picks (lk_split_auto);
 * LSTMKIT_SPLIT=units or rows forces one (lk_split_choice). lk_packed_forward treats AUTO
 * as UNITS: the caller resolves it (it also picks the thread count, lk_fwd_threads). */
enum { LK_SPLIT_AUTO = 0, LK_SPLIT_UNITS = 1, LK_SPLIT_ROWS = 2 };
#define LK_SPLIT_BYTES (1 << 20)   /* by rows when the packed weights a step reads are at most this */

typedef struct {
    int cell;                    /* LK_LSTM or LK_GRU; G = 4 or 3 gates */
    lk_idx T, B, D, H;
    const float *x;              /* x[t, b, :] at x + t·x_st + b·x_sb (rows contiguous) */
    lk_idx x_st, x_sb;
    const float *W_x, *W_h;      /* (D, G·H), (H, G·H) */
    const float *b;              /* LSTM b (4H); GRU b_x (3H) */
    const float *b_h;            /* GRU b_h (3H); LSTM: NULL */
    float *hs;                   /* (T+1, B, H), hs[0] = h_0 on entry */
    float *cs, *tcs;             /* LSTM: (T+1, B, H) with cs[0] = c_0 and (T, B, H) when
                                    training; (2, B, H) ping-pong and (1, B, H) otherwise */
    float *act;                  /* training: (T, B, G·H) gate activations; else NULL */
    float *u_n;                  /* GRU training: (T, B, H) h_{t-1}·W_hn + b_hn; else NULL */
    const float *mask;           /* (T, B) or NULL */
    const float *rmask;          /* (B, H) or NULL */
    int nthreads;
    int xproj;                   /* LK_XPROJ_* (0: by size) */
    int split;                   /* LK_SPLIT_ROWS, or by units */
    unsigned long long frozen;   /* inference: 0, or a token for W_x, W_h that never change
                                    (read-only private copies: Recurrent.freeze_weights);
                                    a kept packing with the same token is used unchecked */
} lk_fwd_args;

typedef struct {
    int cell;
    lk_idx T, B, D, H;
    const float *dhs;            /* (T, B, H) dL/dh_t from above, or NULL */
    float *dh, *dc;              /* (B, H): dL/dh_T, dL/dc_T in; dh_0, dc_0 out (dc: LSTM) */
    const float *act;            /* (T, B, G·H) from the training forward */
    const float *cs, *tcs;       /* LSTM (T+1, B, H), (T, B, H) */
    const float *hs, *u_n;       /* GRU (T+1, B, H), (T, B, H) */
    float *dz;                   /* (T, B, G·H) out (LSTM dz, GRU da); may be act itself */
    float *du_n;                 /* GRU (T, B, H) out: dA_n ⊙ r */
    const float *W_x, *W_h;
    const float *mask, *rmask;
    float *db;                   /* (G·H), += Σ dz (LSTM) / Σ da (GRU b_x); or NULL */
    float *db_hn;                /* GRU (H), += Σ du_n; or NULL */
    float *dx;                   /* (T, B, D) out, dz·W_xᵀ, or NULL */
    int nthreads;
} lk_bwd_args;

/* Run on `isa` (one of the packed ones this build has, see lk_isa_best). 0 on success,
 * -1 if scratch memory could not be had (nothing was written then). */
int lk_packed_forward(lk_isa isa, const lk_fwd_args *a);
int lk_packed_backward(lk_isa isa, const lk_bwd_args *a);

/* Threads the packed loop would use for this size, given `avail` (the BLAS's thread
 * count, which threadpoolctl governs): fewer when a step is too small to share. */
int lk_packed_threads(lk_idx B, lk_idx H, int avail);

/* LK_SPLIT_UNITS or LK_SPLIT_ROWS for this forward (what AUTO runs), with `avail`
 * threads; and the threads the forward then uses. */
int lk_split_auto(int cell, lk_idx B, lk_idx D, lk_idx H, int avail);
int lk_fwd_threads(int split, lk_idx B, lk_idx H, int avail);

/* LSTMKIT_SPLIT from the environment: unset, "" or "auto" → LK_SPLIT_AUTO, "units",
 * "rows"; -1 for anything else (then *why says what was expected). */
int lk_split_choice(const char **why);

/* LK_XPROJ_STEP or LK_XPROJ_BLOCK for this size and thread split (what AUTO runs). */
int lk_xproj_auto(int cell, lk_idx B, lk_idx D, lk_idx H, int split);

/* LSTMKIT_XPROJ from the environment: unset, "" or "auto" → LK_XPROJ_AUTO, "step",
 * "block"; -1 for anything else (then *why says what was expected). */
int lk_xproj_choice(const char **why);

/* The forward product kernel's own speed on `isa` with n threads, GFLOP/s, on data in
 * cache, timed by clock() (seconds) over about `seconds`; 0 if isa has no packed kernel. */
double lk_packed_peak(lk_isa isa, int nthreads, double (*clock)(void), double seconds);

/* The per-ISA entry points behind lk_packed_*; one set per _fused_isa_*.c file. */
int lk_forward_avx512(const lk_fwd_args *a);
int lk_backward_avx512(const lk_bwd_args *a);
double lk_peak_avx512(int nthreads, double (*clock)(void), double seconds);
int lk_forward_avx2(const lk_fwd_args *a);
int lk_backward_avx2(const lk_bwd_args *a);
double lk_peak_avx2(int nthreads, double (*clock)(void), double seconds);
int lk_forward_sse2(const lk_fwd_args *a);
int lk_backward_sse2(const lk_bwd_args *a);
double lk_peak_sse2(int nthreads, double (*clock)(void), double seconds);
int lk_forward_neon(const lk_fwd_args *a);
int lk_backward_neon(const lk_bwd_args *a);
double lk_peak_neon(int nthreads, double (*clock)(void), double seconds);

#endif /* LK_FUSED_PACKED_H */
