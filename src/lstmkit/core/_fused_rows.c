/* _fused_rows.c — the elementwise LSTM step, row by row (equations in _fused_rows.h). */
#include "_fused_rows.h"

#include <math.h>
#include <string.h>

#if defined(__GNUC__) && !defined(__clang__) && defined(__x86_64__) && defined(__linux__)
/* one copy per ISA level, chosen when the library loads (needs glibc's ifunc) */
#define CLONES __attribute__((target_clones("arch=x86-64-v4", "arch=x86-64-v3", "default")))
#else
#define CLONES
#endif

#if defined(_MSC_VER) && !defined(__clang__)
#define restrict __restrict
#define IVDEP
#elif defined(__clang__)
#define IVDEP _Pragma("clang loop vectorize(assume_safety)")
#else
#define IVDEP _Pragma("GCC ivdep")
#endif

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

/* All B rows, hidden units j0 ≤ j < j1 (a thread's share): z rows are zs apart with the
 * gates gs apart (4H and H for a (B, 4H) z; rec needs those), the c, tc, h rows H long;
 * m holds the mask value of each row (or is NULL). */
#define DEFINE_ROWS(T, SFX, TANH)                                                            \
CLONES void lk_fwd_rows_##SFX(lk_idx B, lk_idx H, lk_idx j0, lk_idx j1, T *restrict z, lk_idx zs, \
        lk_idx gs, const T *restrict rec, const T *restrict bias,                            \
        const T *restrict c_prev, T *restrict c_t, T *restrict tc,                           \
        const T *restrict h_prev, T *restrict h_t, const T *restrict m)                      \
{                                                                                            \
    for (lk_idx r = 0; r < B; r++) {                                                         \
        T *zi = z + r * zs, *zf = zi + gs, *zg = zi + 2 * gs, *zo = zi + 3 * gs;             \
        const T *cp = c_prev + r * H;                                                        \
        T *ct = c_t + r * H, *tr = tc + r * H, *ht = h_t + r * H;                            \
        if (rec) {                                                                           \
            const T *q = rec + r * 4 * H;                                                    \
            for (lk_idx j = 0; j < 4 * H; j++) zi[j] += q[j];      /* z += h·W_h */          \
        }                                                                                    \
        if (bias)                                               /* z += b */                 \
            for (lk_idx j = j0; j < j1; j++) {                                               \
                zi[j] += bias[j]; zf[j] += bias[H + j];                                      \
                zg[j] += bias[2 * H + j]; zo[j] += bias[3 * H + j];                          \
            }                                                                                \
        for (lk_idx j = j0; j < j1; j++) {                                                   \
            T i = (T)0.5 * TANH((T)0.5 * zi[j]) + (T)0.5;       /* σ(z_i) */                 \
            T f = (T)0.5 * TANH((T)0.5 * zf[j]) + (T)0.5;       /* σ(z_f) */                 \
            T g = TANH(zg[j]);                                  /* tanh(z_g) */              \
            T o = (T)0.5 * TANH((T)0.5 * zo[j]) + (T)0.5;       /* σ(z_o) */                 \
            T c = f * cp[j] + i * g;                            /* c_t */                    \
            T t = TANH(c);                                                                   \
            zi[j] = i; zf[j] = f; zg[j] = g; zo[j] = o;                                      \
            ct[j] = c; tr[j] = t; ht[j] = o * t;                /* h_t = o⊙tanh(c_t) */      \
        }                                                                                    \
        if (m && m[r] == 0) {                                   /* masked: carry */          \
            memcpy(ht + j0, h_prev + r * H + j0, (j1 - j0) * sizeof(T));                     \
            memcpy(ct + j0, cp + j0, (j1 - j0) * sizeof(T));                                 \
        }                                                                                    \
    }                                                                                        \
}                                                                                            \
                                                                                             \
/* dz may be a itself (the layer's backward overwrites the activations it no longer          \
 * needs): each j reads a before writing dz, and ivdep keeps the loop vectorised */          \
CLONES void lk_bwd_rows_##SFX(lk_idx B, lk_idx H, lk_idx j0, lk_idx j1, T *restrict dh,      \
        T *restrict dc,                                                                      \
        const T *a, const T *restrict tc, const T *restrict c_prev,                          \
        T *dz, const T *restrict m)                                                          \
{                                                                                            \
    for (lk_idx r = 0; r < B; r++) {                                                         \
        const T *ai = a + r * 4 * H, *af = ai + H, *ag = ai + 2 * H, *ao = ai + 3 * H;       \
        T *di = dz + r * 4 * H, *df = di + H, *dg = di + 2 * H, *dO = di + 3 * H;            \
        T *dhr = dh + r * H, *dcr = dc + r * H;                                              \
        const T *tr = tc + r * H, *cp = c_prev + r * H;                                      \
        const T mr = m ? m[r] : (T)1, keep = (T)1 - mr;                                      \
        IVDEP                                                                                \
        for (lk_idx j = j0; j < j1; j++) {                                                   \
            T i = ai[j], f = af[j], g = ag[j], o = ao[j], t = tr[j];                         \
            T h_ = dhr[j], c_ = dcr[j], carry_h = 0, carry_c = 0;                            \
            if (m) { carry_h = h_ * keep; carry_c = c_ * keep; h_ *= mr; c_ *= mr; }         \
            dO[j] = (h_ * t) * ((1 - o) * o);                   /* do·o(1−o) */              \
            c_ += ((1 - t * t) * o) * h_;                       /* dc += dh⊙o(1−tc²) */      \
            di[j] = (c_ * g) * ((1 - i) * i);                                                \
            df[j] = (c_ * cp[j]) * ((1 - f) * f);                                            \
            dg[j] = (c_ * i) * (1 - g * g);                                                  \
            dcr[j] = c_ * f + carry_c;                          /* dc_{t-1} */               \
            dhr[j] = carry_h;                                   /* carried dh */             \
        }                                                                                    \
    }                                                                                        \
}                                                                                            \
                                                                                             \
/* db[g·H + j] += Σ_rows dz[:, g·H + j] for the units j0 ≤ j < j1 of every gate g */         \
CLONES void lk_colsum_##SFX(lk_idx B, lk_idx H, lk_idx j0, lk_idx j1, const T *restrict dz,  \
                                 T *restrict db)                                             \
{                                                                                            \
    for (lk_idx r = 0; r < B; r++)                                                           \
        for (lk_idx g = 0; g < 4; g++) {                                                     \
            const T *d = dz + r * 4 * H + g * H;                                             \
            T *o = db + g * H;                                                               \
            for (lk_idx j = j0; j < j1; j++) o[j] += d[j];                                   \
        }                                                                                    \
}                                                                                            \
                                                                                             \
CLONES void lk_mul_##SFX(lk_idx n, const T *restrict x, const T *restrict y,                 \
                              T *restrict out)                                               \
{ for (lk_idx j = 0; j < n; j++) out[j] = x[j] * y[j]; }                                     \
                                                                                             \
CLONES void lk_add_##SFX(lk_idx n, const T *restrict x, T *restrict acc)                     \
{ for (lk_idx j = 0; j < n; j++) acc[j] += x[j]; }                                           \
                                                                                             \
CLONES void lk_addmul_##SFX(lk_idx n, const T *restrict x, const T *restrict y,              \
                                 T *restrict acc)                                            \
{ for (lk_idx j = 0; j < n; j++) acc[j] += x[j] * y[j]; }

DEFINE_ROWS(float, f32, tanh_f32)
DEFINE_ROWS(double, f64, tanh_f64)
