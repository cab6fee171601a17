/* _fused_pack.h — copying weights and activations into the layouts the packed kernel
 * reads (ISA-independent: memcpy runs and a blocked transpose).
 *
 * Forward panel p (units p·NU … p·NU+NU−1) is KP rows × ns·NU columns; row k holds, for
 * each of ns slots s, NU consecutive units of one gate: column s·NU + u is
 * W[k, slot_gate[s]·H + p·NU + u] (0 for a unit ≥ H or a slot without a gate). So one
 * panel row gives all gates of its NU units: the LSTM's 4 slots z_i, z_f, z_g, z_o, or the
 * GRU's 3 (z, r, n; the kernel sends the n column of x rows and of h rows to two sums).
 *
 * Backward panel q (outputs q·PW … q·PW+PW−1) is K rows × PW columns, Wᵀ's columns:
 * row k, column c is W[q·PW + c, k] (0 for an output ≥ R).
 *
 * A left operand A (B × K) is packed in row blocks of at most MR rows, as even as
 * possible (block b holds rows B·b/n … B·(b+1)/n, n = ceil(B / MR)), each block k-major:
 * row r of block b, column k at A[r0·K + k·MRb + r], so the kernel reads the MRb values
 * of column k side by side.
 */
#ifndef LK_FUSED_PACK_H
#define LK_FUSED_PACK_H

#include "_fused_packed.h"

/* Panels p0 … p1−1 of W (K rows, row stride ldw) into P at rows koff … koff+K−1 of each
 * KP-row panel of ns slots. slot_gate[s] is the gate of W feeding slot s, or −1 for zeros. */
void lk_pack_fwd(const float *W, lk_idx K, lk_idx ldw, lk_idx H, int ns, const int *slot_gate,
                 lk_idx NU, lk_idx p0, lk_idx p1, float *P, lk_idx KP, lk_idx koff);

/* Panels q0 … q1−1 of Wᵀ, W (R rows × ≥ K columns, row stride ldw), PW columns each. */
void lk_pack_bwd(const float *W, lk_idx R, lk_idx K, lk_idx ldw, lk_idx PW, lk_idx q0,
                 lk_idx q1, float *Q);

/* Columns k0 … k1−1 of A (B × K, blocks of ≤ MR rows): column k of A is column k − koff
 * of src (rows ld apart), times the same element of scale if scale is given. */
void lk_pack_rows(const float *src, lk_idx ld, lk_idx B, lk_idx K, lk_idx k0, lk_idx k1,
                  lk_idx koff, const float *scale, int MR, float *A);

/* Columns k0 … k1−1 of A (M × K, blocks of ≤ MR rows) from the rows of a block of steps:
 * row m = τ·B + b of A is x + τ·st + b·sb (step τ of the block, batch row b), so the
 * x·W_x of several steps is one product with M = steps · B rows. */
void lk_pack_rows_tb(const float *x, lk_idx st, lk_idx sb, lk_idx B, lk_idx M, lk_idx K,
                     lk_idx k0, lk_idx k1, int MR, float *A);

/* How many row blocks B rows make with blocks of at most MR rows. */
static inline lk_idx lk_blocks(lk_idx B, int MR) { return (B + MR - 1) / MR; }

#endif /* LK_FUSED_PACK_H */
