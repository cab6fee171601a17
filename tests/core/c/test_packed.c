/* test_packed.c — the packed kernel of every ISA this CPU has, against a plain float64
 * reference of the same equations (_fused_packed.h): LSTM and GRU, forward (training and
 * inference) and backward with dx, H and D not multiples of the vector width, B = 1,
 * masks, recurrent dropout, 1 and 2 threads. No Python: this is what CI runs under
 * qemu-aarch64 for the NEON kernel (.ci/kernels.sh), and natively for the x86 ones.
 *
 *     cc -O2 -pthread -Isrc/lstmkit/core tests/core/c/test_packed.c \
 *        src/lstmkit/core/_fused_{cpu,threads,pack,packed,isa_*}.c -lm -o test_packed
 *     ./test_packed [isa …]          (default: every packed ISA this CPU runs)
 *
 * Exit status 0 when every case is within float32 tolerance, 1 otherwise.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "_fused_cpu.h"
#include "_fused_packed.h"
#include "_fused_threads.h"

/* ------------------------------------------------------------ the problem */
static unsigned long long rng_state = 88172645463325252ull;
static double urand(void)                        /* uniform in [0, 1) */
{
    rng_state ^= rng_state << 13;
    rng_state ^= rng_state >> 7;
    rng_state ^= rng_state << 17;
    return (double)(rng_state >> 11) / 9007199254740992.0;
}
static float nrand(void) { return (float)((urand() + urand() + urand() - 1.5) * 2.0); }

static float *fill(size_t n, float scale)
{
    float *p = malloc((n ? n : 1) * sizeof(float));
    for (size_t k = 0; k < n; k++) p[k] = nrand() * scale;
    return p;
}

static double sig(double x) { return 1.0 / (1.0 + exp(-x)); }

typedef struct {
    int cell;
    lk_idx T, B, D, H;
    float *x, *W_x, *W_h, *b, *b_h, *h0, *c0, *mask, *rmask, *dhs, *dhT, *dcT;
} problem;

/* ------------------------------------------------------------ the reference */
/* Forward and backward in float64, one step at a time (the equations of _fused_packed.h).
 * Out: hs (T+1)·B·H; backward: dh0, dc0 (B·H), dx (T·B·D), db (G·H), db_hn (H). */
typedef struct { double *hs, *dh0, *dc0, *dx, *db, *db_hn; } ref_out;

static void reference(const problem *p, ref_out *o)
{
    lk_idx T = p->T, B = p->B, D = p->D, H = p->H, G = p->cell == LK_LSTM ? 4 : 3, GH = G * H;
    double *hs = o->hs, *cs = calloc((T + 1) * B * H, 8), *act = calloc(T * B * GH, 8);
    double *un = calloc(T * B * H, 8), *tc = calloc(T * B * H, 8), *z = malloc(4 * H * 8);
    for (lk_idx k = 0; k < B * H; k++) { hs[k] = p->h0[k]; cs[k] = p->c0 ? p->c0[k] : 0; }
    for (lk_idx t = 0; t < T; t++)
        for (lk_idx r = 0; r < B; r++) {
            const double *hp = hs + (t * B + r) * H, *cp = cs + (t * B + r) * H;
            double *ht = hs + ((t + 1) * B + r) * H, *ct = cs + ((t + 1) * B + r) * H;
            double m = p->mask ? p->mask[t * B + r] : 1, *a = act + (t * B + r) * GH;
            for (lk_idx j = 0; j < 4 * H; j++) z[j] = 0;
            for (lk_idx g = 0; g < G; g++)
                for (lk_idx j = 0; j < H; j++) {
                    double ax = 0, ah = 0;
                    for (lk_idx k = 0; k < D; k++)
                        ax += (double)p->x[(t * B + r) * D + k] * p->W_x[k * GH + g * H + j];
                    for (lk_idx k = 0; k < H; k++)
                        ah += hp[k] * (p->rmask ? p->rmask[r * H + k] : 1) * p->W_h[k * GH + g * H + j];
                    if (p->cell == LK_LSTM) z[g * H + j] = ax + ah + p->b[g * H + j];
                    else if (g < 2) z[g * H + j] = ax + ah + p->b[g * H + j] + p->b_h[g * H + j];
                    else { z[2 * H + j] = ax + p->b[2 * H + j]; z[3 * H + j] = ah + p->b_h[2 * H + j]; }
                }
            for (lk_idx j = 0; j < H; j++) {
                if (p->cell == LK_LSTM) {
                    double i = sig(z[j]), f = sig(z[H + j]), g = tanh(z[2 * H + j]), oo = sig(z[3 * H + j]);
                    double c = f * cp[j] + i * g;
                    a[j] = i; a[H + j] = f; a[2 * H + j] = g; a[3 * H + j] = oo;
                    tc[(t * B + r) * H + j] = tanh(c);
                    ct[j] = m * c + (1 - m) * cp[j];
                    ht[j] = m * oo * tanh(c) + (1 - m) * hp[j];
                } else {
                    double zz = sig(z[j]), rr = sig(z[H + j]), u = z[3 * H + j];
                    double n = tanh(z[2 * H + j] + rr * u);
                    a[j] = zz; a[H + j] = rr; a[2 * H + j] = n; un[(t * B + r) * H + j] = u;
                    ht[j] = m * (n + zz * (hp[j] - n)) + (1 - m) * hp[j];
                }
            }
        }
    double *dh = calloc(B * H, 8), *dc = calloc(B * H, 8), *dz = malloc(4 * H * 8);
    for (lk_idx k = 0; k < B * H; k++) { dh[k] = p->dhT[k]; dc[k] = p->dcT ? p->dcT[k] : 0; }
    for (lk_idx k = 0; k < GH; k++) o->db[k] = 0;
    for (lk_idx k = 0; k < H; k++) o->db_hn[k] = 0;
    double *dhn = malloc(B * H * 8);
    for (lk_idx t = T - 1; t >= 0; t--) {
        for (lk_idx r = 0; r < B; r++) {
            double m = p->mask ? p->mask[t * B + r] : 1, *a = act + (t * B + r) * GH;
            double *dhr = dh + r * H, *dcr = dc + r * H, *out = dhn + r * H;
            for (lk_idx j = 0; j < H; j++) dhr[j] += p->dhs[(t * B + r) * H + j];
            for (lk_idx j = 0; j < H; j++) {
                double h_ = dhr[j] * m;
                if (p->cell == LK_LSTM) {
                    double i = a[j], f = a[H + j], g = a[2 * H + j], oo = a[3 * H + j];
                    double th = tc[(t * B + r) * H + j], c_ = dcr[j] * m + h_ * oo * (1 - th * th);
                    dz[j] = c_ * g * i * (1 - i);
                    dz[H + j] = c_ * cs[(t * B + r) * H + j] * f * (1 - f);
                    dz[2 * H + j] = c_ * i * (1 - g * g);
                    dz[3 * H + j] = h_ * th * oo * (1 - oo);
                    dcr[j] = c_ * f + dcr[j] * (1 - m);
                    out[j] = dhr[j] * (1 - m);
                } else {
                    double zz = a[j], rr = a[H + j], n = a[2 * H + j], hp = hs[(t * B + r) * H + j];
                    double dA_n = h_ * (1 - zz) * (1 - n * n);
                    dz[j] = h_ * (hp - n) * zz * (1 - zz);
                    dz[H + j] = dA_n * un[(t * B + r) * H + j] * rr * (1 - rr);
                    dz[2 * H + j] = dA_n;
                    dz[3 * H + j] = dA_n * rr;                       /* du_n */
                    out[j] = h_ * zz + dhr[j] * (1 - m);
                    o->db_hn[j] += dA_n * rr;
                }
            }
            for (lk_idx k = 0; k < GH; k++) o->db[k] += dz[k];
            for (lk_idx k = 0; k < H; k++) {                        /* dh_{t-1} += du·W_hᵀ */
                double s = 0;
                for (lk_idx g = 0; g < G; g++)
                    for (lk_idx j = 0; j < H; j++) {
                        double d = (p->cell == LK_GRU && g == 2) ? dz[3 * H + j] : dz[g * H + j];
                        s += d * p->W_h[k * GH + g * H + j];
                    }
                out[k] += s * (p->rmask ? p->rmask[r * H + k] : 1);
            }
            for (lk_idx k = 0; k < D; k++) {                        /* dx_t = da·W_xᵀ */
                double s = 0;
                for (lk_idx j = 0; j < GH; j++) s += dz[j] * p->W_x[k * GH + j];
                o->dx[(t * B + r) * D + k] = s;
            }
        }
        memcpy(dh, dhn, B * H * 8);
    }
    memcpy(o->dh0, dh, B * H * 8);
    memcpy(o->dc0, dc, B * H * 8);
    free(cs); free(act); free(un); free(tc); free(z); free(dh); free(dc); free(dz); free(dhn);
}

/* ------------------------------------------------------------ comparing */
static int failures;

/* max |got − want| ≤ rtol · max(1, max |want|), reported by name */
static void check(const char *what, const char *name, const float *got, const double *want,
                  size_t n, double rtol)
{
    double big = 1, err = 0;
    for (size_t k = 0; k < n; k++) big = fabs(want[k]) > big ? fabs(want[k]) : big;
    for (size_t k = 0; k < n; k++) {
        double e = fabs((double)got[k] - want[k]);
        if (!(e <= err)) err = e;                   /* (NaN counts as an error) */
    }
    if (!(err <= rtol * big)) {
        printf("FAIL %s: %s max error %.3g (scale %.3g)\n", what, name, err, big);
        failures++;
    }
}

static void run_case(lk_isa isa, int cell, lk_idx T, lk_idx B, lk_idx D, lk_idx H, int extras,
                     int nthreads, int xproj, int split)
{
    lk_idx G = cell == LK_LSTM ? 4 : 3, GH = G * H, BH = B * H;
    problem p = {.cell = cell, .T = T, .B = B, .D = D, .H = H};
    p.x = fill(T * B * D, 1);
    p.W_x = fill(D * GH, 0.5f / sqrtf((float)D));
    p.W_h = fill(H * GH, 0.5f / sqrtf((float)H));
    p.b = fill(GH, 0.5f);
    p.b_h = cell == LK_GRU ? fill(GH, 0.5f) : NULL;
    p.h0 = fill(BH, 1);
    p.c0 = cell == LK_LSTM ? fill(BH, 1) : NULL;
    p.dhs = fill(T * BH, 1);
    p.dhT = fill(BH, 1);
    p.dcT = cell == LK_LSTM ? fill(BH, 1) : NULL;
    if (extras) {
        p.mask = malloc(T * B * sizeof(float));
        for (lk_idx k = 0; k < T * B; k++) p.mask[k] = urand() < 0.7 ? 1.0f : 0.0f;
        for (lk_idx t = 0; t < T; t++) p.mask[t * B] = 0;          /* a fully masked row */
        p.rmask = malloc(BH * sizeof(float));
        for (lk_idx k = 0; k < BH; k++) p.rmask[k] = urand() < 0.8 ? 1.25f : 0.0f;
    }
    ref_out o = {malloc((T + 1) * BH * 8), malloc(BH * 8), malloc(BH * 8), malloc(T * B * D * 8),
                 malloc(GH * 8), malloc(H * 8)};
    reference(&p, &o);

    char what[160];
    snprintf(what, sizeof what, "%s %s T=%td B=%td D=%td H=%td %s threads=%d by %s x·W_x %s",
             lk_isa_name(isa), cell == LK_LSTM ? "LSTM" : "GRU", T, B, D, H,
             extras ? "mask+rmask" : "plain", nthreads, split == LK_SPLIT_ROWS ? "rows" : "units",
             xproj == LK_XPROJ_BLOCK ? "per block" : "per step");
    /* training forward */
    float *hs = calloc((T + 1) * BH, 4), *cs = calloc((T + 1) * BH, 4), *tcs = calloc(T * BH, 4);
    float *act = calloc(T * B * GH, 4), *un = calloc(T * BH, 4);
    memcpy(hs, p.h0, BH * 4);
    if (p.c0) memcpy(cs, p.c0, BH * 4);
    lk_fwd_args fa = {.cell = cell, .T = T, .B = B, .D = D, .H = H, .x = p.x, .x_st = B * D,
                      .x_sb = D, .W_x = p.W_x, .W_h = p.W_h, .b = p.b, .b_h = p.b_h, .hs = hs,
                      .cs = cs, .tcs = tcs, .act = act, .u_n = cell == LK_GRU ? un : NULL,
                      .mask = p.mask, .rmask = p.rmask, .nthreads = nthreads,
                      .xproj = xproj, .split = split};
    if (lk_packed_forward(isa, &fa) != 0) { printf("FAIL %s: forward did not run\n", what); failures++; }
    check(what, "hs (training)", hs, o.hs, (T + 1) * BH, 2e-5);
    /* inference forward: same h_t */
    float *hs2 = calloc((T + 1) * BH, 4), *cs2 = calloc(2 * BH, 4), *tc2 = calloc(BH, 4);
    memcpy(hs2, p.h0, BH * 4);
    if (p.c0) memcpy(cs2, p.c0, BH * 4);
    lk_fwd_args fi = fa;
    fi.hs = hs2; fi.cs = cs2; fi.tcs = tc2; fi.act = NULL; fi.u_n = NULL;
    lk_packed_forward(isa, &fi);
    check(what, "hs (inference)", hs2, o.hs, (T + 1) * BH, 2e-5);
    if (memcmp(hs, hs2, (T + 1) * BH * 4) != 0) {
        printf("FAIL %s: inference differs from training\n", what);
        failures++;
    }
    /* inference keeps its packed weights: a second call reuses them, and a call after W_h
     * changed in place (same pointer) must see the change, as a cold call does. The
     * change: row k of W_h (unit k of h_{t-1}), with k one that recurrent dropout keeps in
     * a batch row b that some step does not mask (row 0 is masked at every step); none
     * (B = 1 with extras): the output cannot change. */
    lk_idx wk = -1;
    for (lk_idx b = extras ? 1 : 0; b < B && wk < 0; b++) {
        int live = 0;
        for (lk_idx t = 0; t < T; t++) live |= !p.mask || p.mask[t * B + b] != 0;
        for (lk_idx k = 0; live && k < H && wk < 0; k++)
            if (!p.rmask || p.rmask[b * H + k] != 0) wk = k;
    }
    float *hs3 = calloc((T + 1) * BH, 4), *hs4 = calloc((T + 1) * BH, 4);
    float *hs5 = calloc((T + 1) * BH, 4);
    float *outs[3] = {hs3, hs4, hs5};
    for (int k = 0; k < 3; k++) {
        if (k == 1 && wk >= 0) p.W_h[wk * GH + 1] += 0.25f;   /* row wk, gate i, unit 1 */
        if (k == 2) lk_scratch_release();              /* cold: nothing kept */
        memcpy(outs[k], p.h0, BH * 4);
        if (p.c0) memcpy(cs2, p.c0, BH * 4);
        fi.hs = outs[k];
        lk_packed_forward(isa, &fi);
    }
    if (wk >= 0) p.W_h[wk * GH + 1] -= 0.25f;
    if (memcmp(hs3, hs2, (T + 1) * BH * 4) != 0) {
        printf("FAIL %s: a second inference call differs from the first\n", what);
        failures++;
    }
    int frozen = wk < 0;
    if (memcmp(hs4, hs5, (T + 1) * BH * 4) != 0 ||
        (!frozen && memcmp(hs4, hs3, (T + 1) * BH * 4) == 0)) {
        printf("FAIL %s: a call after W_h changed in place did not see the change\n", what);
        failures++;
    }
    free(hs3); free(hs4); free(hs5);
    /* backward with dx */
    float *dh = malloc(BH * 4), *dc = calloc(BH, 4), *dz = calloc(T * B * GH, 4);
    float *dun = calloc(T * BH, 4), *dx = calloc(T * B * D, 4), *db = calloc(GH, 4);
    float *dbn = calloc(H, 4);
    memcpy(dh, p.dhT, BH * 4);
    if (p.dcT) memcpy(dc, p.dcT, BH * 4);
    lk_bwd_args ba = {.cell = cell, .T = T, .B = B, .D = D, .H = H, .dhs = p.dhs, .dh = dh,
                      .dc = dc, .act = act, .cs = cs, .tcs = tcs, .hs = hs, .u_n = un, .dz = dz,
                      .du_n = dun, .W_x = p.W_x, .W_h = p.W_h, .mask = p.mask,
                      .rmask = p.rmask, .db = db, .db_hn = cell == LK_GRU ? dbn : NULL,
                      .dx = dx, .nthreads = nthreads};
    if (lk_packed_backward(isa, &ba) != 0) { printf("FAIL %s: backward did not run\n", what); failures++; }
    check(what, "dh0", dh, o.dh0, BH, 5e-5);
    if (cell == LK_LSTM) check(what, "dc0", dc, o.dc0, BH, 5e-5);
    check(what, "dx", dx, o.dx, T * B * D, 5e-5);
    check(what, "db", db, o.db, GH, 5e-5);
    if (cell == LK_GRU) check(what, "db_hn", dbn, o.db_hn, H, 5e-5);
    free(hs); free(cs); free(tcs); free(act); free(un); free(hs2); free(cs2); free(tc2);
    free(dh); free(dc); free(dz); free(dun); free(dx); free(db); free(dbn);
    free(o.hs); free(o.dh0); free(o.dc0); free(o.dx); free(o.db); free(o.db_hn);
    free(p.x); free(p.W_x); free(p.W_h); free(p.b); free(p.b_h); free(p.h0); free(p.c0);
    free(p.dhs); free(p.dhT); free(p.dcT); free(p.mask); free(p.rmask);
}

/* The split and x·W_x choices AUTO makes (lk_split_auto, lk_xproj_auto), 2 threads. */
static void check_auto(void)
{
    static const struct { int cell; lk_idx B, D, H; int split, xproj; } want[] = {
        {LK_LSTM, 16, 32, 64, LK_SPLIT_ROWS, LK_XPROJ_BLOCK},    /* [W_x; W_h] ≤ 1 MB */
        {LK_LSTM, 32, 32, 64, LK_SPLIT_ROWS, LK_XPROJ_STEP},
        {LK_LSTM, 4, 32, 64, LK_SPLIT_ROWS, LK_XPROJ_BLOCK},
        {LK_LSTM, 16, 256, 256, LK_SPLIT_ROWS, LK_XPROJ_BLOCK},  /* only W_h ≤ 1 MB */
        {LK_LSTM, 64, 128, 256, LK_SPLIT_ROWS, LK_XPROJ_BLOCK},
        {LK_LSTM, 8, 256, 256, LK_SPLIT_UNITS, LK_XPROJ_BLOCK},  /* < 8 rows a thread */
        {LK_LSTM, 64, 512, 512, LK_SPLIT_UNITS, LK_XPROJ_STEP},  /* W_h 4 MB */
        {LK_LSTM, 16, 512, 512, LK_SPLIT_UNITS, LK_XPROJ_BLOCK}, /* < 32 rows */
        {LK_LSTM, 32, 512, 512, LK_SPLIT_UNITS, LK_XPROJ_STEP},
        {LK_GRU, 16, 256, 256, LK_SPLIT_ROWS, LK_XPROJ_BLOCK},
        {LK_LSTM, 1, 512, 512, LK_SPLIT_UNITS, LK_XPROJ_BLOCK},
    };
    for (size_t k = 0; k < sizeof want / sizeof want[0]; k++) {
        int sp = lk_split_auto(want[k].cell, want[k].B, want[k].D, want[k].H, 2);
        int xp = lk_xproj_auto(want[k].cell, want[k].B, want[k].D, want[k].H, sp);
        if (sp != want[k].split || xp != want[k].xproj) {
            printf("FAIL auto choice %zu (B %td, D %td, H %td): split %d xproj %d, expected %d %d\n",
                   k, want[k].B, want[k].D, want[k].H, sp, xp, want[k].split, want[k].xproj);
            failures++;
        }
    }
    if (lk_split_auto(LK_LSTM, 64, 128, 256, 1) != LK_SPLIT_UNITS) {
        printf("FAIL auto choice: one thread must not split by rows\n");
        failures++;
    }
}

int main(int argc, char **argv)
{
    lk_isa isas[4];
    int n = 0;
    if (argc > 1) {
        for (int k = 1; k < argc && n < 4; k++)
            for (int i = LK_ISA_SSE2; i <= LK_ISA_AVX512; i++)
                if (!strcmp(argv[k], lk_isa_name((lk_isa)i))) isas[n++] = (lk_isa)i;
    } else {
        lk_isa best = lk_isa_best();
        if (best == LK_ISA_NEON) isas[n++] = LK_ISA_NEON;
        else
            for (int i = LK_ISA_AVX512; i >= LK_ISA_SSE2; i--)
                if (i != LK_ISA_NEON && i <= (int)best) isas[n++] = (lk_isa)i;
    }
    if (n == 0) { printf("no packed ISA to test (best here: %s)\n", lk_isa_name(lk_isa_best())); return 1; }
    static const lk_idx shapes[][4] = {           /* T, B, D, H */
        {5, 4, 3, 32}, {4, 13, 7, 37}, {3, 1, 5, 40}, {4, 30, 33, 64}, {2, 7, 2, 5}, {3, 16, 64, 96},
        /* several blocks of x·W_x (LK_XROWS rows each), the last one partial */
        {30, 5, 9, 21}, {100, 1, 6, 17},
        /* one row block, H a multiple of every panel width; B = 1 with 2 blocks of x·W_x */
        {6, 3, 11, 64}, {100, 1, 6, 32},
    };
    check_auto();
    int cases = 0;
    for (int i = 0; i < n; i++)
        for (int cell = LK_LSTM; cell <= LK_GRU; cell++)
            for (size_t s = 0; s < sizeof shapes / sizeof shapes[0]; s++)
                for (int extras = 0; extras < 2; extras++)
                    for (int xp = LK_XPROJ_STEP; xp <= LK_XPROJ_BLOCK; xp++)
                        for (int sp = LK_SPLIT_UNITS; sp <= LK_SPLIT_ROWS; sp++) {
                            /* by rows: 2 or 3 row groups (uneven ones, and B < threads) */
                            int nt = sp == LK_SPLIT_ROWS ? 2 + (int)(s % 2) : (s % 2) ? 2 : 1;
                            run_case(isas[i], cell, shapes[s][0], shapes[s][1], shapes[s][2],
                                     shapes[s][3], extras, nt, xp, sp);
                            cases++;
                        }
    printf("%d cases on", cases);
    for (int i = 0; i < n; i++) printf(" %s", lk_isa_name(isas[i]));
    printf(": %s (%d failed checks)\n", failures ? "FAILED" : "ok", failures);
    return failures ? 1 : 0;
}
