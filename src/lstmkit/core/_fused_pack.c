/* _fused_pack.c — the packing routines (layouts in _fused_pack.h). Measured on the
 * previous AVX-512-only version: memcpy runs and a 16-wide blocked transpose pack 4 MB
 * of weights in ~0.3 ms (1.0 ms element by element). */
#include "_fused_pack.h"

#include <string.h>

/* n floats, n one of the panel widths: a memcpy of constant size is inlined as one or two
 * vector moves, where a call per 8 floats made packing 4 MB of weights take ~1 ms. */
static inline void copy_units(float *d, const float *s, lk_idx n)
{
    switch (n) {
    case 2: memcpy(d, s, 2 * sizeof(float)); break;
    case 4: memcpy(d, s, 4 * sizeof(float)); break;
    case 8: memcpy(d, s, 8 * sizeof(float)); break;
    case 16: memcpy(d, s, 16 * sizeof(float)); break;
    default: memcpy(d, s, (size_t)n * sizeof(float));
    }
}

void lk_pack_fwd(const float *W, lk_idx K, lk_idx ldw, lk_idx H, int ns, const int *slot_gate,
                 lk_idx NU, lk_idx p0, lk_idx p1, float *P, lk_idx KP, lk_idx koff)
{
    for (lk_idx p = p0; p < p1; p++) {
        lk_idx u0 = p * NU, n = H - u0;                        /* valid units here */
        n = n > NU ? NU : n < 0 ? 0 : n;
        for (lk_idx k = 0; k < K; k++) {
            const float *w = W + k * ldw + u0;
            float *dst = P + (p * KP + koff + k) * ns * NU;
            for (int s = 0; s < ns; s++) {
                float *d = dst + s * NU;
                if (slot_gate[s] < 0) {
                    memset(d, 0, NU * sizeof(float));
                    continue;
                }
                const float *src = w + slot_gate[s] * H;
                if (n == NU) {
                    copy_units(d, src, NU);
                } else {
                    memcpy(d, src, n * sizeof(float));
                    memset(d + n, 0, (NU - n) * sizeof(float));
                }
            }
        }
    }
}

void lk_pack_bwd(const float *W, lk_idx R, lk_idx K, lk_idx ldw, lk_idx PW, lk_idx q0,
                 lk_idx q1, float *Q)
{
    for (lk_idx q = q0; q < q1; q++)
        for (lk_idx k0 = 0; k0 < K; k0 += 16) {         /* 16 columns of W: whole lines */
            float *dst = Q + (q * K + k0) * PW;
            lk_idx n = K - k0 < 16 ? K - k0 : 16;
            for (lk_idx c = 0; c < PW; c++) {
                lk_idx row = q * PW + c;
                if (row >= R) {
                    for (lk_idx kk = 0; kk < n; kk++) dst[kk * PW + c] = 0.0f;
                    continue;
                }
                const float *src = W + row * ldw + k0;
                for (lk_idx kk = 0; kk < n; kk++) dst[kk * PW + c] = src[kk];
            }
        }
}

/* Columns k0 … k1−1 of A (M × K, blocks of ≤ MR rows); row m of A is column k − koff of
 * src + o(m), times scale + o(m) if scale is given, with o(m) = (m / per)·st + (m % per)·sb
 * (per rows apart by sb, then the next group st further). */
static void pack_row_blocks(const float *src, const float *scale, lk_idx st, lk_idx sb,
                            lk_idx per, lk_idx M, lk_idx K, lk_idx k0, lk_idx k1,
                            lk_idx koff, int MR, float *A)
{
    lk_idx nblk = lk_blocks(M, MR);
    for (lk_idx b = 0, r0 = 0, r1; b < nblk; b++, r0 = r1) {
        r1 = M * (b + 1) / nblk;
        lk_idx m = r1 - r0;
        float *Ab = A + r0 * K;
        for (lk_idx r = 0; r < m; r++) {
            lk_idx o = ((r0 + r) / per) * st + ((r0 + r) % per) * sb - koff;
            const float *row = src + o;
            if (scale) {
                const float *sc = scale + o;
                for (lk_idx k = k0; k < k1; k++) Ab[k * m + r] = row[k] * sc[k];
            } else {
                for (lk_idx k = k0; k < k1; k++) Ab[k * m + r] = row[k];
            }
        }
    }
}

void lk_pack_rows(const float *src, lk_idx ld, lk_idx B, lk_idx K, lk_idx k0, lk_idx k1,
                  lk_idx koff, const float *scale, int MR, float *A)
{
    pack_row_blocks(src, scale, 0, ld, B, B, K, k0, k1, koff, MR, A);
}

void lk_pack_rows_tb(const float *x, lk_idx st, lk_idx sb, lk_idx B, lk_idx M, lk_idx K,
                     lk_idx k0, lk_idx k1, int MR, float *A)
{
    pack_row_blocks(x, NULL, st, sb, B, M, K, k0, k1, 0, MR, A);
}
