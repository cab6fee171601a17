/* _fused_loops.c — the LSTM time loop with a BLAS call per step (see _fused_loops.h). */
#include "_fused_loops.h"

#include "_fused_blas.h"
#include "_fused_cpu.h"
#include "_fused_rows.h"

void lk_blas_forward(const lk_blas_fwd_args *a)
{
    lk_idx T = a->T, B = a->B, D = a->D, H = a->H, H4 = 4 * H;
    int dbl = a->dbl;
    size_t es = dbl ? 8 : 4, zB = (size_t)B * H4 * es, hB = (size_t)B * H * es;
    char *act = a->act, *hs = a->hs, *cs = a->cs, *tcs = a->tcs;
    const char *mask = a->mask;
    unsigned long ftz = dbl ? 0 : lk_ftz_on();
    lk_gemm(dbl, 0, 0, T * B, H4, D, a->x, D, a->W_x, H4, 0.0, act, H4);     /* act = x·W_x */
    for (lk_idx t = 0; t < T; t++) {
        char *h_prev = hs + t * hB, *z = act + t * zB;
        const void *hin = h_prev;
        if (a->rmask) {                                   /* recurrent dropout on h_{t-1} */
            if (dbl) lk_mul_f64(B * H, (double *)h_prev, a->rmask, a->hr);
            else lk_mul_f32(B * H, (float *)h_prev, a->rmask, a->hr);
            hin = a->hr;
        }
        if (B == 1 && lk_blas_has_gemv()) lk_gemv(dbl, 1, H, H4, a->W_h, H4, hin, z);
        else lk_gemm(dbl, 0, 0, B, H4, H, hin, H, a->W_h, H4, 1.0, z, H4);  /* z += h·W_h */
        char *c_prev = a->cache ? cs + t * hB : cs + (t & 1) * hB;
        char *c_t = a->cache ? cs + (t + 1) * hB : cs + ((t + 1) & 1) * hB;
        char *tc = a->cache ? tcs + t * hB : tcs;
        const char *m = mask ? mask + (size_t)t * B * es : NULL;
        if (dbl)
            lk_fwd_rows_f64(B, H, 0, H, (double *)z, H4, H, NULL, a->b, (double *)c_prev,
                            (double *)c_t, (double *)tc, (double *)h_prev,
                            (double *)(h_prev + hB), (const double *)m);
        else
            lk_fwd_rows_f32(B, H, 0, H, (float *)z, H4, H, NULL, a->b, (float *)c_prev,
                            (float *)c_t, (float *)tc, (float *)h_prev, (float *)(h_prev + hB),
                            (const float *)m);
    }
    if (!dbl) lk_ftz_restore(ftz);
}

void lk_blas_backward(const lk_blas_bwd_args *a)
{
    lk_idx T = a->T, B = a->B, H = a->H, H4 = 4 * H;
    int dbl = a->dbl;
    size_t es = dbl ? 8 : 4, zB = (size_t)B * H4 * es, hB = (size_t)B * H * es;
    const char *dhs = a->dhs, *act = a->act, *tcs = a->tcs, *cs = a->cs, *mask = a->mask;
    char *dz = a->dz;
    unsigned long ftz = dbl ? 0 : lk_ftz_on();
    for (lk_idx t = T - 1; t >= 0; t--) {
        if (dhs) {                                                   /* dh_t += dy_t */
            if (dbl) lk_add_f64(B * H, (const double *)(dhs + t * hB), a->dh);
            else lk_add_f32(B * H, (const float *)(dhs + t * hB), a->dh);
        }
        const char *m = mask ? mask + (size_t)t * B * es : NULL;
        char *zt = dz + t * zB;
        if (dbl)
            lk_bwd_rows_f64(B, H, 0, H, a->dh, a->dc, (const double *)(act + t * zB),
                            (const double *)(tcs + t * hB), (const double *)(cs + t * hB),
                            (double *)zt, (const double *)m);
        else
            lk_bwd_rows_f32(B, H, 0, H, a->dh, a->dc, (const float *)(act + t * zB),
                            (const float *)(tcs + t * hB), (const float *)(cs + t * hB),
                            (float *)zt, (const float *)m);
        if (a->db) {                                                 /* db += Σ_rows dz_t */
            if (dbl) lk_colsum_f64(B, H, 0, H, (const double *)zt, a->db);
            else lk_colsum_f32(B, H, 0, H, (const float *)zt, a->db);
        }
        if (!a->rmask) {                                             /* dh += dz·W_hᵀ */
            if (B == 1 && lk_blas_has_gemv()) lk_gemv(dbl, 0, H, H4, a->W_h, H4, zt, a->dh);
            else lk_gemm(dbl, 0, 1, B, H, H4, zt, H4, a->W_h, H4, 1.0, a->dh, H);
        } else {                                                     /* (dz·W_hᵀ) ⊙ m_r */
            lk_gemm(dbl, 0, 1, B, H, H4, zt, H4, a->W_h, H4, 0.0, a->work, H);
            if (dbl) lk_addmul_f64(B * H, a->work, a->rmask, a->dh);
            else lk_addmul_f32(B * H, a->work, a->rmask, a->dh);
        }
    }
    if (!dbl) lk_ftz_restore(ftz);
}
