/* _fused_rows.h — the elementwise LSTM step for float32 and float64, one row at a time,
 * compiled for the compiler's baseline (plus AVX2 and AVX-512 clones with GCC on Linux).
 * Used where no packed kernel runs: the Python loop's step kernels (gates.py) and the C
 * loop that calls the BLAS every step (_fused_loops.c). The packed kernel has its own copy
 * of these equations in vector form (_fused_packed.inc).
 *
 *   forward (z holds x_t·W_x on entry, the activations i, f, g, o on exit):
 *     z += h_{t-1}·W_h (rec, if given) + b (bias, if given)
 *     i, f, o = σ(z_i, z_f, z_o) with σ(z) = ½·tanh(z/2) + ½;   g = tanh(z_g)
 *     c_t = f ⊙ c_{t-1} + i ⊙ g;   tc = tanh(c_t);   h_t = o ⊙ tc
 *     rows with m_t == 0 carry h_{t-1}, c_{t-1}
 *   backward (dh, dc hold dL/dh_t, dL/dc_t on entry):
 *     do = dh ⊙ tc;   dc += dh ⊙ o ⊙ (1 − tc²)
 *     dz = [dc⊙g⊙i(1−i), dc⊙c_{t-1}⊙f(1−f), dc⊙i⊙(1−g²), do⊙o(1−o)]
 *     dc ← dc ⊙ f (= dc_{t-1});  dh ← carried part only (0, or dh where masked)
 *
 * float32 uses a rational tanh (Eigen's 13/6 minimax, max rel. error ~3e-7); float64 calls
 * libm tanh so it stays equal to NumPy to ~1e-15.
 *
 * All B rows, hidden units j0 ≤ j < j1: z rows are zs apart with the gates gs apart (4H
 * and H for a (B, 4H) z); the c, tc, h rows H long; m holds each row's mask value (or is
 * NULL). In backward dz may be a itself (each j reads a before writing dz).
 */
#ifndef LK_FUSED_ROWS_H
#define LK_FUSED_ROWS_H

#include <stddef.h>

typedef ptrdiff_t lk_idx;

#define LK_ROWS_DECL(T, SFX)                                                              \
    void lk_fwd_rows_##SFX(lk_idx B, lk_idx H, lk_idx j0, lk_idx j1, T *z, lk_idx zs,     \
                           lk_idx gs, const T *rec, const T *bias, const T *c_prev,       \
                           T *c_t, T *tc, const T *h_prev, T *h_t, const T *m);           \
    void lk_bwd_rows_##SFX(lk_idx B, lk_idx H, lk_idx j0, lk_idx j1, T *dh, T *dc,        \
                           const T *a, const T *tc, const T *c_prev, T *dz, const T *m);  \
    /* db[g·H + j] += Σ_rows dz[:, g·H + j], units j0 ≤ j < j1 of every gate g */       \
    void lk_colsum_##SFX(lk_idx B, lk_idx H, lk_idx j0, lk_idx j1, const T *dz, T *db);   \
    void lk_mul_##SFX(lk_idx n, const T *x, const T *y, T *out);     /* out = x ⊙ y */    \
    void lk_add_##SFX(lk_idx n, const T *x, T *acc);                 /* acc += x */       \
    void lk_addmul_##SFX(lk_idx n, const T *x, const T *y, T *acc);  /* acc += x ⊙ y */

LK_ROWS_DECL(float, f32)
LK_ROWS_DECL(double, f64)

#endif /* LK_FUSED_ROWS_H */
