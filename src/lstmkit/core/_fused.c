/* lstmkit.core._fused — the LSTM and GRU time loops in C, called from core/lstm.py and
 * core/gru.py (gates.py finds this module; the NumPy code there stays the tested fallback).
 *
 * Every entry point takes its arrays by keyword (Python passes `x=…, W_h=…`), checks each
 * one's dtype, shape and layout through the buffer protocol (_fused_args.c), releases the
 * GIL and runs one of:
 *
 *   the packed kernel   float32, LSTM and GRU: weights packed once per call, a register-
 *                       blocked product and the fused gate step per chunk of 32 units,
 *                       on our own threads (_fused_packed.h, one source _fused_packed.inc
 *                       compiled for AVX-512, AVX2 + FMA, SSE2 and NEON; the widest the CPU
 *                       and OS support is chosen at run time, LSTMKIT_ISA forces a
 *                       narrower one, _fused_cpu.h);
 *   the BLAS loop       LSTM float64, or float32 with LSTMKIT_ISA=blas (LSTMKIT_NO_MK=1):
 *                       one GEMM for x·W_x, a gemm (gemv at B = 1) per step in the BLAS
 *                       NumPy loaded, and the row kernels of _fused_rows.h (_fused_loops.h);
 *   the step kernels    step_forward / step_backward: one step's gate arithmetic, for the
 *                       Python loop (gates.py) where there is no BLAS to call.
 *
 * The equations are written out in _fused_packed.h (both cells, both directions) and
 * _fused_rows.h (the LSTM step); the Python side in core/reference.py and core/gru.py.
 */
#define PY_SSIZE_T_CLEAN
#include <Python.h>

#include <string.h>

#include "_fused_args.h"
#include "_fused_blas.h"
#include "_fused_cpu.h"
#include "_fused_loops.h"
#include "_fused_packed.h"
#include "_fused_rows.h"
#include "_fused_threads.h"

/* The packed loop runs at B ≥ 2, and at B = 1 for inference and for GRU training: there
 * each step streams all of W_h once whichever loop runs, and the packed one (x·W_x per
 * block of steps, the packed weights kept between calls in inference) has the smaller
 * fixed cost. LSTM training at B = 1 keeps the BLAS's gemv, which reads W_h in place and
 * needs no packing pass. Measured on Intel family 6 model 167 (avx512, 2 threads), one
 * training step (forward + backward), T, D, H → ms, BLAS or NumPy loop vs packed: LSTM
 * 25, 512, 512 4.44 vs 7.86; 100, 256, 256 3.67 vs 3.31; 100, 128, 128 1.34 vs 1.44;
 * 200, 64, 64 0.85 vs 0.80; GRU (whose other loop is NumPy's) 25, 512, 512 6.53 vs 5.09;
 * 100, 256, 256 5.48 vs 2.67; 100, 128, 128 2.89 vs 1.12; 200, 64, 64 4.34 vs 0.66. */

/* Threads for our loops: the BLAS's own count (threadpoolctl governs both), else the CPUs. */
static int avail_threads(void)
{
    int n = lk_blas_threads();
    return n > 0 ? n : lk_cpu_count();
}

/* A switch read from the environment now (choose returns -1 and says why for a value it
 * does not understand): its value, or -1 with a ValueError. */
static int switch_now(int (*choose)(const char **why))
{
    const char *why;
    int v = choose(&why);
    if (v < 0) PyErr_SetString(PyExc_ValueError, why);
    return v;
}

/* The ISA to run now (LSTMKIT_ISA); how the packed forward gets x·W_x (LSTMKIT_XPROJ). */
static int isa_now(void) { return switch_now(lk_isa_choice); }
static int xproj_now(void) { return switch_now(lk_xproj_choice); }
static int split_now(void) { return switch_now(lk_split_choice); }

/* A forward's thread split (LSTMKIT_SPLIT, `split`, resolved if AUTO) and thread count. */
static void fwd_threads(lk_fwd_args *a, int split)
{
    int avail = avail_threads();
    a->split = split == LK_SPLIT_AUTO ? lk_split_auto(a->cell, a->B, a->D, a->H, avail) : split;
    a->nthreads = lk_fwd_threads(a->split, a->B, a->H, avail);
}

/* The packed loop runs float32 at B ≥ 2, and at B = 1 for an inference forward and for
 * any GRU forward or backward (an LSTM training forward at B = 1 keeps its cache for the
 * BLAS loop's backward). */
static int packed_here(int isa, char fmt, Py_ssize_t B, int inference, int gru)
{
    return fmt == 'f' && isa != LK_ISA_BLAS && (B >= 2 || (B == 1 && (inference || gru)));
}

static int need_blas(void)
{
    if (lk_blas_find()) return 0;
    PyErr_SetString(PyExc_RuntimeError, "no cblas gemm found in the BLAS NumPy loaded");
    return -1;
}

/* plan(B, H, float64=False, inference=False, gru=False) -> (path, threads): what
 * lstm_forward (gru_forward, with gru) would run for this size (inference: a forward
 * without training): path is the packed ISA ("avx512", "avx2", "sse2", "neon") or "blas". */
static PyObject *py_plan(PyObject *self, PyObject *args, PyObject *kw)
{
    static char *kwlist[] = {"B", "H", "float64", "inference", "gru", NULL};
    Py_ssize_t B, H;
    int dbl = 0, inference = 0, gru = 0;
    (void)self;
    if (!PyArg_ParseTupleAndKeywords(args, kw, "nn|ppp", kwlist, &B, &H, &dbl, &inference, &gru))
        return NULL;
    int isa = isa_now();
    if (isa < 0) return NULL;
    lk_blas_find();
    if (!packed_here(isa, dbl ? 'd' : 'f', B, inference, gru)) return Py_BuildValue("(si)", "blas", 1);
    return Py_BuildValue("(si)", lk_isa_name((lk_isa)isa), lk_packed_threads(B, H, avail_threads()));
}

/* frozen = a token (Recurrent.freeze_weights) says W_x, W_h never change, so a kept packing
 * of them is used without comparing them with its copy: only read-only arrays may say so
 * (the layer's own private copies; a live, writable weight is always compared). */
static int frozen_ok(const lk_buf *wx, const lk_buf *wh, unsigned long long frozen, const char *fn)
{
    if (!frozen || (wx->v.readonly && wh->v.readonly)) return 0;
    PyErr_Format(PyExc_ValueError, "%s: frozen weights must be read-only arrays (W_x, W_h)", fn);
    return -1;
}

/* ------------------------------------------------------------------ LSTM */
/* lstm_forward(*, x, W_x, W_h, b, hs, cs, tcs, act=None, mask=None, rmask=None, hr=None,
 *              training=False, frozen=0)
 *   x (T, B, D): rows contiguous (a strided view is read in place by the packed loop; the
 *   BLAS loop needs it C-contiguous); W_x (D, 4H); W_h (H, 4H); b (4H) or None;
 *   hs (T+1, B, H) with hs[0] = h_0; training: cs (T+1, B, H) with cs[0] = c_0, tcs (T, B, H)
 *   and act (T, B, 4H) for the gate activations; inference: cs (2, B, H) ping-pong, tcs
 *   (1, B, H), and act (T, B, 4H) only if the BLAS loop runs (its z); mask (T, B);
 *   rmask (B, H) with hr (B, H) scratch for the BLAS loop; frozen: see frozen_ok.
 * Returns the path that ran ("avx512", …, "blas"). */
static PyObject *py_lstm_forward(PyObject *self, PyObject *args, PyObject *kw)
{
    static char *kwlist[] = {"x", "W_x", "W_h", "b", "hs", "cs", "tcs", "act", "mask", "rmask",
                             "hr", "training", "frozen", NULL};
    enum { X, WX, WH, BIAS, HS, CS, TCS, ACT, MASK, RMASK, HR, N };
    static const char *fn = "lstm_forward";
    PyObject *o[N] = {0};
    int cache = 0;
    unsigned long long frozen = 0;
    lk_buf b[N];
    memset(b, 0, sizeof b);
    (void)self;
    if (!PyArg_ParseTupleAndKeywords(args, kw, "|$OOOOOOOOOOOpK", kwlist, &o[X], &o[WX], &o[WH],
                                     &o[BIAS], &o[HS], &o[CS], &o[TCS], &o[ACT], &o[MASK],
                                     &o[RMASK], &o[HR], &cache, &frozen))
        return NULL;
    char fmt = lk_fmt_of(o[X], "x");
    if (!fmt || need_blas() < 0) return NULL;
    Py_ssize_t any3[3] = {-1, -1, -1}, st = 0, sb = 0;
    int contig = 1;
    if (lk_get_rows3(o[X], &b[X], fmt, any3, &st, &sb, &contig) < 0 || lk_require(&b[X], fn, "x") < 0)
        goto fail;
    Py_ssize_t T = b[X].v.shape[0], B = b[X].v.shape[1], D = b[X].v.shape[2];
    Py_ssize_t any2[2] = {-1, -1};
    if (lk_get(o[WH], &b[WH], "W_h", fmt, 2, any2, 0) < 0 || lk_require(&b[WH], fn, "W_h") < 0)
        goto fail;
    Py_ssize_t H = b[WH].v.shape[0], H4 = 4 * H;
    if (b[WH].v.shape[1] != H4) {
        PyErr_Format(PyExc_ValueError, "W_h: expected (H, 4H), got (%zd, %zd)", H, b[WH].v.shape[1]);
        goto fail;
    }
    Py_ssize_t swx[2] = {D, H4}, sbias[1] = {H4}, shs[3] = {T + 1, B, H};
    Py_ssize_t sc[3] = {-1, B, H}, sact[3] = {T, B, H4}, sm[2] = {T, B}, sbh[2] = {B, H};
    if (lk_get(o[WX], &b[WX], "W_x", fmt, 2, swx, 0) < 0 ||
        lk_get(o[BIAS], &b[BIAS], "b", fmt, 1, sbias, 0) < 0 ||
        lk_get(o[HS], &b[HS], "hs", fmt, 3, shs, 1) < 0 || lk_get(o[CS], &b[CS], "cs", fmt, 3, sc, 1) < 0 ||
        lk_get(o[TCS], &b[TCS], "tcs", fmt, 3, sc, 1) < 0 ||
        lk_get(o[ACT], &b[ACT], "act", fmt, 3, sact, 1) < 0 ||
        lk_get(o[MASK], &b[MASK], "mask", fmt, 2, sm, 0) < 0 ||
        lk_get(o[RMASK], &b[RMASK], "rmask", fmt, 2, sbh, 0) < 0 ||
        lk_get(o[HR], &b[HR], "hr", fmt, 2, sbh, 1) < 0)
        goto fail;
    if (lk_require(&b[WX], fn, "W_x") < 0 || lk_require(&b[HS], fn, "hs") < 0 ||
        lk_require(&b[CS], fn, "cs") < 0 || lk_require(&b[TCS], fn, "tcs") < 0)
        goto fail;
    if (cache ? (b[CS].v.shape[0] != T + 1 || b[TCS].v.shape[0] != T)
              : (b[CS].v.shape[0] != 2 || b[TCS].v.shape[0] != 1)) {
        PyErr_SetString(PyExc_ValueError, cache ? "lstm_forward: training needs cs (T+1, B, H), tcs (T, B, H)"
                                                : "lstm_forward: inference needs cs (2, B, H), tcs (1, B, H)");
        goto fail;
    }
    if (frozen_ok(&b[WX], &b[WH], frozen, fn) < 0) goto fail;
    int isa = isa_now();
    if (isa < 0) goto fail;
    int packed = packed_here(isa, fmt, B, !cache, 0), xproj = xproj_now(), split = split_now();
    if (xproj < 0 || split < 0) goto fail;
    if ((cache || !packed) && lk_require(&b[ACT], fn, cache ? "act (training)" : "act (the BLAS loop's z)") < 0)
        goto fail;
    const char *ran = NULL;
    int bad_x = 0;
    Py_BEGIN_ALLOW_THREADS
    if (packed && T > 0) {
        lk_fwd_args a = {.cell = LK_LSTM, .T = T, .B = B, .D = D, .H = H, .x = LK_PTR(b[X]),
                         .x_st = st, .x_sb = sb, .W_x = LK_PTR(b[WX]), .W_h = LK_PTR(b[WH]),
                         .b = LK_PTR(b[BIAS]), .hs = LK_PTR(b[HS]), .cs = LK_PTR(b[CS]),
                         .tcs = LK_PTR(b[TCS]), .act = cache ? LK_PTR(b[ACT]) : NULL,
                         .mask = LK_PTR(b[MASK]), .rmask = LK_PTR(b[RMASK]), .xproj = xproj,
                         .frozen = frozen};
        fwd_threads(&a, split);
        if (lk_packed_forward((lk_isa)isa, &a) == 0) ran = lk_isa_name((lk_isa)isa);
    }
    if (!ran && b[ACT].ok && contig && (!b[RMASK].ok || b[HR].ok)) {   /* the BLAS loop */
        lk_blas_fwd_args a = {.dbl = fmt == 'd', .T = T, .B = B, .D = D, .H = H,
                              .act = LK_PTR(b[ACT]), .x = LK_PTR(b[X]), .W_x = LK_PTR(b[WX]),
                              .W_h = LK_PTR(b[WH]), .b = LK_PTR(b[BIAS]), .hs = LK_PTR(b[HS]),
                              .cs = LK_PTR(b[CS]), .tcs = LK_PTR(b[TCS]), .cache = cache,
                              .mask = LK_PTR(b[MASK]), .rmask = LK_PTR(b[RMASK]),
                              .hr = LK_PTR(b[HR])};
        lk_blas_forward(&a);
        ran = "blas";
    } else if (!ran) {
        bad_x = !contig;
    }
    Py_END_ALLOW_THREADS
    if (!ran) {
        if (bad_x) PyErr_SetString(PyExc_ValueError, "lstm_forward: x must be C-contiguous for "
                                   "the BLAS loop (a strided x only for the packed loop)");
        else if (b[RMASK].ok && !b[HR].ok && b[ACT].ok)
            PyErr_SetString(PyExc_ValueError, "lstm_forward: hr is required with rmask");
        else PyErr_NoMemory();
        goto fail;
    }
    lk_release(b, N);
    return PyUnicode_FromString(ran);
fail:
    lk_release(b, N);
    return NULL;
}

/* lstm_backward(*, act, tcs, cs, W_h, dh, dc, dz, dhs=None, mask=None, rmask=None,
 *               work=None, db=None, dx=None, W_x=None) -> dx filled?
 *   act (T, B, 4H); tcs (T, B, H); cs (T+1, B, H); W_h (H, 4H); dh, dc (B, H) hold dL/dh_T,
 *   dL/dc_T on entry and dh_0, dc_0 on exit; dz (T, B, 4H) out (may be act: written over
 *   it); dhs (T, B, H); mask (T, B); rmask (B, H) with work (B, H) scratch (BLAS loop);
 *   db (4H) gets Σ dz added; dx (T, B, D) with W_x (D, 4H): the packed loop fills
 *   dx = dz·W_xᵀ step by step and returns True, the BLAS loop leaves it (False). */
static PyObject *py_lstm_backward(PyObject *self, PyObject *args, PyObject *kw)
{
    static char *kwlist[] = {"act", "tcs", "cs", "W_h", "dh", "dc", "dz", "dhs", "mask",
                             "rmask", "work", "db", "dx", "W_x", NULL};
    enum { ACT, TCS, CS, WH, DH, DC, DZ, DHS, MASK, RMASK, WORK, DB, DX, WX, N };
    static const char *fn = "lstm_backward";
    PyObject *o[N] = {0};
    lk_buf b[N];
    memset(b, 0, sizeof b);
    (void)self;
    if (!PyArg_ParseTupleAndKeywords(args, kw, "|$OOOOOOOOOOOOOO", kwlist, &o[ACT], &o[TCS],
                                     &o[CS], &o[WH], &o[DH], &o[DC], &o[DZ], &o[DHS], &o[MASK],
                                     &o[RMASK], &o[WORK], &o[DB], &o[DX], &o[WX]))
        return NULL;
    char fmt = lk_fmt_of(o[ACT], "act");
    if (!fmt || need_blas() < 0) return NULL;
    Py_ssize_t any3[3] = {-1, -1, -1};
    if (lk_get(o[ACT], &b[ACT], "act", fmt, 3, any3, 0) < 0) goto fail;
    Py_ssize_t T = b[ACT].v.shape[0], B = b[ACT].v.shape[1], H4 = b[ACT].v.shape[2], H = H4 / 4;
    if (H4 % 4) { PyErr_SetString(PyExc_ValueError, "act: last axis must be 4H"); goto fail; }
    Py_ssize_t sT[3] = {T, B, H}, sbh[2] = {B, H}, sc[3] = {T + 1, B, H}, sz[3] = {T, B, H4};
    Py_ssize_t sw[2] = {H, H4}, sm[2] = {T, B}, sdb[1] = {H4}, sdx[3] = {T, B, -1};
    if (lk_get(o[TCS], &b[TCS], "tcs", fmt, 3, sT, 0) < 0 || lk_get(o[CS], &b[CS], "cs", fmt, 3, sc, 0) < 0 ||
        lk_get(o[WH], &b[WH], "W_h", fmt, 2, sw, 0) < 0 || lk_get(o[DH], &b[DH], "dh", fmt, 2, sbh, 1) < 0 ||
        lk_get(o[DC], &b[DC], "dc", fmt, 2, sbh, 1) < 0 || lk_get(o[DZ], &b[DZ], "dz", fmt, 3, sz, 1) < 0 ||
        lk_get(o[DHS], &b[DHS], "dhs", fmt, 3, sT, 0) < 0 ||
        lk_get(o[MASK], &b[MASK], "mask", fmt, 2, sm, 0) < 0 ||
        lk_get(o[RMASK], &b[RMASK], "rmask", fmt, 2, sbh, 0) < 0 ||
        lk_get(o[WORK], &b[WORK], "work", fmt, 2, sbh, 1) < 0 ||
        lk_get(o[DB], &b[DB], "db", fmt, 1, sdb, 1) < 0 || lk_get(o[DX], &b[DX], "dx", fmt, 3, sdx, 1) < 0)
        goto fail;
    Py_ssize_t D = b[DX].ok ? b[DX].v.shape[2] : 0, swx[2] = {D, H4};
    if (b[DX].ok && (lk_get(o[WX], &b[WX], "W_x", fmt, 2, swx, 0) < 0 || lk_require(&b[WX], fn, "W_x (with dx)") < 0))
        goto fail;
    const char *need[] = {"tcs", "cs", "W_h", "dh", "dc", "dz"};
    for (int k = TCS; k <= DZ; k++)
        if (lk_require(&b[k], fn, need[k - TCS]) < 0) goto fail;
    int isa = isa_now();
    if (isa < 0) goto fail;
    int packed = packed_here(isa, fmt, B, 0, 0), dx_done = 0, ran = 0;
    if (!packed && b[RMASK].ok && lk_require(&b[WORK], fn, "work (with rmask)") < 0) goto fail;
    Py_BEGIN_ALLOW_THREADS
    if (packed) {
        lk_bwd_args a = {.cell = LK_LSTM, .T = T, .B = B, .D = D, .H = H, .dhs = LK_PTR(b[DHS]),
                         .dh = LK_PTR(b[DH]), .dc = LK_PTR(b[DC]), .act = LK_PTR(b[ACT]),
                         .cs = LK_PTR(b[CS]), .tcs = LK_PTR(b[TCS]), .dz = LK_PTR(b[DZ]),
                         .W_x = LK_PTR(b[WX]), .W_h = LK_PTR(b[WH]), .mask = LK_PTR(b[MASK]),
                         .rmask = LK_PTR(b[RMASK]), .db = LK_PTR(b[DB]), .dx = LK_PTR(b[DX]),
                         .nthreads = lk_packed_threads(B, H, avail_threads())};
        ran = lk_packed_backward((lk_isa)isa, &a) == 0;
        dx_done = ran && b[DX].ok;
    }
    if (!ran && (!b[RMASK].ok || b[WORK].ok)) {
        lk_blas_bwd_args a = {.dbl = fmt == 'd', .T = T, .B = B, .H = H, .dhs = LK_PTR(b[DHS]),
                              .dh = LK_PTR(b[DH]), .dc = LK_PTR(b[DC]), .act = LK_PTR(b[ACT]),
                              .tcs = LK_PTR(b[TCS]), .cs = LK_PTR(b[CS]), .dz = LK_PTR(b[DZ]),
                              .W_h = LK_PTR(b[WH]), .mask = LK_PTR(b[MASK]),
                              .rmask = LK_PTR(b[RMASK]), .work = LK_PTR(b[WORK]),
                              .db = LK_PTR(b[DB])};
        lk_blas_backward(&a);
        ran = 1;
    }
    Py_END_ALLOW_THREADS
    if (!ran) {
        PyErr_NoMemory();
        goto fail;
    }
    lk_release(b, N);
    return PyBool_FromLong(dx_done);
fail:
    lk_release(b, N);
    return NULL;
}

/* ------------------------------------------------------------------- GRU */
/* gru_forward(*, x, W_x, W_h, b_x, b_h, hs, act=None, u_n=None, mask=None, rmask=None,
 *             frozen=0)
 * float32, packed loop only (plan() says whether it runs; core/gru.py has the rest):
 *   x (T, B, D) rows contiguous; W_x (D, 3H); W_h (H, 3H); b_x, b_h (3H) or None;
 *   hs (T+1, B, H) with hs[0] = h_0; training: act (T, B, 3H) gets z, r, n and u_n (T, B, H)
 *   gets h_{t-1}·W_hn + b_hn; mask (T, B); rmask (B, H). Returns the ISA that ran. */
static PyObject *py_gru_forward(PyObject *self, PyObject *args, PyObject *kw)
{
    static char *kwlist[] = {"x", "W_x", "W_h", "b_x", "b_h", "hs", "act", "u_n", "mask",
                             "rmask", "frozen", NULL};
    enum { X, WX, WH, BX, BH, HS, ACT, UN, MASK, RMASK, N };
    static const char *fn = "gru_forward";
    PyObject *o[N] = {0};
    unsigned long long frozen = 0;
    lk_buf b[N];
    memset(b, 0, sizeof b);
    (void)self;
    if (!PyArg_ParseTupleAndKeywords(args, kw, "|$OOOOOOOOOOK", kwlist, &o[X], &o[WX], &o[WH],
                                     &o[BX], &o[BH], &o[HS], &o[ACT], &o[UN], &o[MASK], &o[RMASK],
                                     &frozen))
        return NULL;
    Py_ssize_t any3[3] = {-1, -1, -1}, any2[2] = {-1, -1}, st = 0, sb = 0;
    int contig = 1;
    if (lk_get_rows3(o[X], &b[X], 'f', any3, &st, &sb, &contig) < 0 || lk_require(&b[X], fn, "x") < 0 ||
        lk_get(o[WH], &b[WH], "W_h", 'f', 2, any2, 0) < 0 || lk_require(&b[WH], fn, "W_h") < 0)
        goto fail;
    Py_ssize_t T = b[X].v.shape[0], B = b[X].v.shape[1], D = b[X].v.shape[2];
    Py_ssize_t H = b[WH].v.shape[0], H3 = 3 * H;
    if (b[WH].v.shape[1] != H3) {
        PyErr_Format(PyExc_ValueError, "W_h: expected (H, 3H), got (%zd, %zd)", H, b[WH].v.shape[1]);
        goto fail;
    }
    Py_ssize_t swx[2] = {D, H3}, sb3[1] = {H3}, shs[3] = {T + 1, B, H};
    Py_ssize_t sact[3] = {T, B, H3}, sun[3] = {T, B, H}, sm[2] = {T, B}, sbh[2] = {B, H};
    if (lk_get(o[WX], &b[WX], "W_x", 'f', 2, swx, 0) < 0 ||
        lk_get(o[BX], &b[BX], "b_x", 'f', 1, sb3, 0) < 0 || lk_get(o[BH], &b[BH], "b_h", 'f', 1, sb3, 0) < 0 ||
        lk_get(o[HS], &b[HS], "hs", 'f', 3, shs, 1) < 0 ||
        lk_get(o[ACT], &b[ACT], "act", 'f', 3, sact, 1) < 0 ||
        lk_get(o[UN], &b[UN], "u_n", 'f', 3, sun, 1) < 0 ||
        lk_get(o[MASK], &b[MASK], "mask", 'f', 2, sm, 0) < 0 ||
        lk_get(o[RMASK], &b[RMASK], "rmask", 'f', 2, sbh, 0) < 0)
        goto fail;
    if (lk_require(&b[WX], fn, "W_x") < 0 || lk_require(&b[HS], fn, "hs") < 0) goto fail;
    if (b[ACT].ok != b[UN].ok) {
        PyErr_SetString(PyExc_ValueError, "gru_forward: act and u_n go together (training)");
        goto fail;
    }
    if (frozen_ok(&b[WX], &b[WH], frozen, fn) < 0) goto fail;
    int isa = isa_now();
    if (isa < 0) goto fail;
    if (!packed_here(isa, 'f', B, !b[ACT].ok, 1)) {
        PyErr_Format(PyExc_RuntimeError, "gru_forward: no packed loop for B = %zd here (%s)", B,
                     lk_isa_name((lk_isa)isa));
        goto fail;
    }
    int rc = 0, xproj = xproj_now(), split = split_now();
    if (xproj < 0 || split < 0) goto fail;
    Py_BEGIN_ALLOW_THREADS
    lk_fwd_args a = {.cell = LK_GRU, .T = T, .B = B, .D = D, .H = H, .x = LK_PTR(b[X]),
                     .x_st = st, .x_sb = sb, .W_x = LK_PTR(b[WX]), .W_h = LK_PTR(b[WH]),
                     .b = LK_PTR(b[BX]), .b_h = LK_PTR(b[BH]), .hs = LK_PTR(b[HS]),
                     .act = LK_PTR(b[ACT]), .u_n = LK_PTR(b[UN]), .mask = LK_PTR(b[MASK]),
                     .rmask = LK_PTR(b[RMASK]), .xproj = xproj, .frozen = frozen};
    fwd_threads(&a, split);
    rc = lk_packed_forward((lk_isa)isa, &a);
    Py_END_ALLOW_THREADS
    if (rc != 0) {
        PyErr_NoMemory();
        goto fail;
    }
    lk_release(b, N);
    return PyUnicode_FromString(lk_isa_name((lk_isa)isa));
fail:
    lk_release(b, N);
    return NULL;
}

/* gru_backward(*, act, hs, u_n, W_h, dh, da, du_n, dhs=None, mask=None, rmask=None,
 *              db_x=None, db_hn=None, dx=None, W_x=None) -> dx filled?
 * float32, packed loop only: act (T, B, 3H) z, r, n; hs (T+1, B, H); u_n (T, B, H);
 *   W_h (H, 3H); dh (B, H) dL/dh_T in, dh_0 out; da (T, B, 3H) out (may be act);
 *   du_n (T, B, H) out: dA_n ⊙ r; db_x (3H) += Σ da; db_hn (H) += Σ du_n;
 *   dx (T, B, D) with W_x (D, 3H): dx = da·W_xᵀ. */
static PyObject *py_gru_backward(PyObject *self, PyObject *args, PyObject *kw)
{
    static char *kwlist[] = {"act", "hs", "u_n", "W_h", "dh", "da", "du_n", "dhs", "mask",
                             "rmask", "db_x", "db_hn", "dx", "W_x", NULL};
    enum { ACT, HS, UN, WH, DH, DA, DUN, DHS, MASK, RMASK, DBX, DBN, DX, WX, N };
    static const char *fn = "gru_backward";
    PyObject *o[N] = {0};
    lk_buf b[N];
    memset(b, 0, sizeof b);
    (void)self;
    if (!PyArg_ParseTupleAndKeywords(args, kw, "|$OOOOOOOOOOOOOO", kwlist, &o[ACT], &o[HS],
                                     &o[UN], &o[WH], &o[DH], &o[DA], &o[DUN], &o[DHS], &o[MASK],
                                     &o[RMASK], &o[DBX], &o[DBN], &o[DX], &o[WX]))
        return NULL;
    Py_ssize_t any3[3] = {-1, -1, -1};
    if (lk_get(o[ACT], &b[ACT], "act", 'f', 3, any3, 0) < 0 || lk_require(&b[ACT], fn, "act") < 0)
        goto fail;
    Py_ssize_t T = b[ACT].v.shape[0], B = b[ACT].v.shape[1], H3 = b[ACT].v.shape[2], H = H3 / 3;
    if (H3 % 3) { PyErr_SetString(PyExc_ValueError, "act: last axis must be 3H"); goto fail; }
    Py_ssize_t shs[3] = {T + 1, B, H}, sT[3] = {T, B, H}, sw[2] = {H, H3}, sbh[2] = {B, H};
    Py_ssize_t sa[3] = {T, B, H3}, sm[2] = {T, B}, sb3[1] = {H3}, sb1[1] = {H}, sdx[3] = {T, B, -1};
    if (lk_get(o[HS], &b[HS], "hs", 'f', 3, shs, 0) < 0 || lk_get(o[UN], &b[UN], "u_n", 'f', 3, sT, 0) < 0 ||
        lk_get(o[WH], &b[WH], "W_h", 'f', 2, sw, 0) < 0 || lk_get(o[DH], &b[DH], "dh", 'f', 2, sbh, 1) < 0 ||
        lk_get(o[DA], &b[DA], "da", 'f', 3, sa, 1) < 0 || lk_get(o[DUN], &b[DUN], "du_n", 'f', 3, sT, 1) < 0 ||
        lk_get(o[DHS], &b[DHS], "dhs", 'f', 3, sT, 0) < 0 ||
        lk_get(o[MASK], &b[MASK], "mask", 'f', 2, sm, 0) < 0 ||
        lk_get(o[RMASK], &b[RMASK], "rmask", 'f', 2, sbh, 0) < 0 ||
        lk_get(o[DBX], &b[DBX], "db_x", 'f', 1, sb3, 1) < 0 ||
        lk_get(o[DBN], &b[DBN], "db_hn", 'f', 1, sb1, 1) < 0 ||
        lk_get(o[DX], &b[DX], "dx", 'f', 3, sdx, 1) < 0)
        goto fail;
    Py_ssize_t D = b[DX].ok ? b[DX].v.shape[2] : 0, swx[2] = {D, H3};
    if (b[DX].ok && (lk_get(o[WX], &b[WX], "W_x", 'f', 2, swx, 0) < 0 || lk_require(&b[WX], fn, "W_x (with dx)") < 0))
        goto fail;
    const char *need[] = {"hs", "u_n", "W_h", "dh", "da", "du_n"};
    for (int k = HS; k <= DUN; k++)
        if (lk_require(&b[k], fn, need[k - HS]) < 0) goto fail;
    int isa = isa_now();
    if (isa < 0) goto fail;
    if (!packed_here(isa, 'f', B, 0, 1)) {
        PyErr_Format(PyExc_RuntimeError, "gru_backward: no packed loop for B = %zd here (%s)", B,
                     lk_isa_name((lk_isa)isa));
        goto fail;
    }
    int rc = 0;
    Py_BEGIN_ALLOW_THREADS
    lk_bwd_args a = {.cell = LK_GRU, .T = T, .B = B, .D = D, .H = H, .dhs = LK_PTR(b[DHS]),
                     .dh = LK_PTR(b[DH]), .act = LK_PTR(b[ACT]), .hs = LK_PTR(b[HS]),
                     .u_n = LK_PTR(b[UN]), .dz = LK_PTR(b[DA]), .du_n = LK_PTR(b[DUN]),
                     .W_x = LK_PTR(b[WX]), .W_h = LK_PTR(b[WH]), .mask = LK_PTR(b[MASK]),
                     .rmask = LK_PTR(b[RMASK]), .db = LK_PTR(b[DBX]), .db_hn = LK_PTR(b[DBN]),
                     .dx = LK_PTR(b[DX]), .nthreads = lk_packed_threads(B, H, avail_threads())};
    rc = lk_packed_backward((lk_isa)isa, &a);
    Py_END_ALLOW_THREADS
    if (rc != 0) {
        PyErr_NoMemory();
        goto fail;
    }
    int dx_done = b[DX].ok;
    lk_release(b, N);
    return PyBool_FromLong(dx_done);
fail:
    lk_release(b, N);
    return NULL;
}

/* ------------------------------------------------------------ step kernels */
/* step_forward(z, rec, c_prev, c_t, tc, h_prev, h_t, m_t) — as gates._np_step: z (B, 4H)
 * holds x_t·W_x + b and gets the activations; rec (B, 4H) = h_{t-1}·W_h or None; m_t (B)
 * or None. (By keyword or by position: the NumPy kernel it replaces takes them so.) */
static PyObject *py_step_forward(PyObject *self, PyObject *args, PyObject *kw)
{
    static char *kwlist[] = {"z", "rec", "c_prev", "c_t", "tc", "h_prev", "h_t", "m_t", NULL};
    enum { Z, REC, CP, CT, TC, HP, HT, M, N };
    PyObject *o[N] = {0};
    lk_buf b[N];
    memset(b, 0, sizeof b);
    (void)self;
    if (!PyArg_ParseTupleAndKeywords(args, kw, "OOOOOOOO", kwlist, &o[Z], &o[REC], &o[CP], &o[CT],
                                     &o[TC], &o[HP], &o[HT], &o[M]))
        return NULL;
    char fmt = lk_fmt_of(o[Z], "z");
    if (!fmt) return NULL;
    Py_ssize_t any2[2] = {-1, -1};
    if (lk_get(o[Z], &b[Z], "z", fmt, 2, any2, 1) < 0) goto fail;
    Py_ssize_t B = b[Z].v.shape[0], H4 = b[Z].v.shape[1], H = H4 / 4;
    if (H4 % 4) { PyErr_SetString(PyExc_ValueError, "z: second axis must be 4H"); goto fail; }
    Py_ssize_t s4[2] = {B, H4}, s1[2] = {B, H}, sm[1] = {B};
    static const char *nm[N] = {"z", "rec", "c_prev", "c_t", "tc", "h_prev", "h_t", "m_t"};
    for (int k = REC; k <= HT; k++)
        if (lk_get(o[k], &b[k], nm[k], fmt, 2, k == REC ? s4 : s1, k == CT || k == TC || k == HT) < 0)
            goto fail;
    if (lk_get(o[M], &b[M], "m_t", fmt, 1, sm, 0) < 0) goto fail;
    for (int k = CP; k <= HT; k++)
        if (lk_require(&b[k], "step_forward", nm[k]) < 0) goto fail;
    Py_BEGIN_ALLOW_THREADS
    if (fmt == 'f')
        lk_fwd_rows_f32(B, H, 0, H, LK_PTR(b[Z]), H4, H, LK_PTR(b[REC]), NULL, LK_PTR(b[CP]),
                        LK_PTR(b[CT]), LK_PTR(b[TC]), LK_PTR(b[HP]), LK_PTR(b[HT]), LK_PTR(b[M]));
    else
        lk_fwd_rows_f64(B, H, 0, H, LK_PTR(b[Z]), H4, H, LK_PTR(b[REC]), NULL, LK_PTR(b[CP]),
                        LK_PTR(b[CT]), LK_PTR(b[TC]), LK_PTR(b[HP]), LK_PTR(b[HT]), LK_PTR(b[M]));
    Py_END_ALLOW_THREADS
    lk_release(b, N);
    Py_RETURN_NONE;
fail:
    lk_release(b, N);
    return NULL;
}

/* step_backward(dh, dc, a, tc, c_prev, dz, m_t, work=None) — as gates._np_step_backward
 * (work, the NumPy kernel's scratch, is accepted and not needed). */
static PyObject *py_step_backward(PyObject *self, PyObject *args, PyObject *kw)
{
    static char *kwlist[] = {"dh", "dc", "a", "tc", "c_prev", "dz", "m_t", "work", NULL};
    enum { DH, DC, A, TC, CP, DZ, M, N };
    PyObject *o[N] = {0}, *work = NULL;
    lk_buf b[N];
    memset(b, 0, sizeof b);
    (void)self;
    if (!PyArg_ParseTupleAndKeywords(args, kw, "OOOOOOO|O", kwlist, &o[DH], &o[DC], &o[A], &o[TC],
                                     &o[CP], &o[DZ], &o[M], &work))
        return NULL;
    char fmt = lk_fmt_of(o[DH], "dh");
    if (!fmt) return NULL;
    Py_ssize_t any2[2] = {-1, -1};
    if (lk_get(o[DH], &b[DH], "dh", fmt, 2, any2, 1) < 0 || lk_require(&b[DH], "step_backward", "dh") < 0)
        goto fail;
    Py_ssize_t B = b[DH].v.shape[0], H = b[DH].v.shape[1];
    Py_ssize_t s1[2] = {B, H}, s4[2] = {B, 4 * H}, sm[1] = {B};
    static const char *nm[N] = {"dh", "dc", "a", "tc", "c_prev", "dz", "m_t"};
    for (int k = DC; k <= DZ; k++)
        if (lk_get(o[k], &b[k], nm[k], fmt, 2, (k == A || k == DZ) ? s4 : s1, k == DC || k == DZ) < 0 ||
            lk_require(&b[k], "step_backward", nm[k]) < 0)
            goto fail;
    if (lk_get(o[M], &b[M], "m_t", fmt, 1, sm, 0) < 0) goto fail;
    Py_BEGIN_ALLOW_THREADS
    if (fmt == 'f')
        lk_bwd_rows_f32(B, H, 0, H, LK_PTR(b[DH]), LK_PTR(b[DC]), LK_PTR(b[A]), LK_PTR(b[TC]),
                        LK_PTR(b[CP]), LK_PTR(b[DZ]), LK_PTR(b[M]));
    else
        lk_bwd_rows_f64(B, H, 0, H, LK_PTR(b[DH]), LK_PTR(b[DC]), LK_PTR(b[A]), LK_PTR(b[TC]),
                        LK_PTR(b[CP]), LK_PTR(b[DZ]), LK_PTR(b[M]));
    Py_END_ALLOW_THREADS
    lk_release(b, N);
    Py_RETURN_NONE;
fail:
    lk_release(b, N);
    return NULL;
}

/* ------------------------------------------------------- weight gradients */
/* weight_grads(((A, dZ, dW), ...)): dW = Aᵀ·dZ for each triple; A (N, R), dZ (N, G),
 * dW (R, G) out, each 2-D with contiguous rows (column slices of a bigger array are fine). */
static PyObject *py_weight_grads(PyObject *self, PyObject *args)
{
    PyObject *seq;
    (void)self;
    if (!PyArg_ParseTuple(args, "O", &seq)) return NULL;
    if (need_blas() < 0) return NULL;
    PyObject *fast = PySequence_Fast(seq, "weight_grads: expected a sequence of (A, dZ, dW)");
    if (!fast) return NULL;
    Py_ssize_t n = PySequence_Fast_GET_SIZE(fast);
    lk_buf b[3 * LK_MAXW];
    lk_wgrad m[LK_MAXW];
    memset(b, 0, sizeof b);
    char fmt = 0;
    if (n < 1 || n > LK_MAXW) {
        PyErr_SetString(PyExc_ValueError, "weight_grads: 1 to 8 triples");
        goto fail;
    }
    for (Py_ssize_t i = 0; i < n; i++) {
        PyObject *t = PySequence_Fast_GET_ITEM(fast, i);
        if (!PyTuple_Check(t) || PyTuple_GET_SIZE(t) != 3) {
            PyErr_SetString(PyExc_ValueError, "weight_grads: each item must be (A, dZ, dW)");
            goto fail;
        }
        if (!fmt && !(fmt = lk_fmt_of(PyTuple_GET_ITEM(t, 0), "A"))) goto fail;
        Py_ssize_t sa[2] = {-1, -1}, lda, ldz, ldw;
        if (lk_get2d(PyTuple_GET_ITEM(t, 0), &b[3 * i], "A", fmt, sa, 0, &lda) < 0) goto fail;
        Py_ssize_t N = b[3 * i].v.shape[0], R = b[3 * i].v.shape[1], sz[2] = {N, -1};
        if (lk_get2d(PyTuple_GET_ITEM(t, 1), &b[3 * i + 1], "dZ", fmt, sz, 0, &ldz) < 0) goto fail;
        Py_ssize_t G = b[3 * i + 1].v.shape[1], sw[2] = {R, G};
        if (lk_get2d(PyTuple_GET_ITEM(t, 2), &b[3 * i + 2], "dW", fmt, sw, 1, &ldw) < 0) goto fail;
        m[i] = (lk_wgrad){.A = b[3 * i].v.buf, .dZ = b[3 * i + 1].v.buf, .dW = b[3 * i + 2].v.buf,
                          .N = N, .R = R, .G = G, .lda = lda, .ldz = ldz, .ldw = ldw};
    }
    Py_BEGIN_ALLOW_THREADS
    lk_weight_grads(fmt == 'd', m, (int)n);
    Py_END_ALLOW_THREADS
    lk_release(b, 3 * LK_MAXW);
    Py_DECREF(fast);
    Py_RETURN_NONE;
fail:
    lk_release(b, 3 * LK_MAXW);
    Py_DECREF(fast);
    return NULL;
}

/* ------------------------------------------------------------- reporting */
static double now_seconds(void)
{
    static PyObject *perf = NULL;               /* time.perf_counter, called with the GIL */
    PyGILState_STATE g = PyGILState_Ensure();
    if (!perf) {
        PyObject *m = PyImport_ImportModule("time");
        perf = m ? PyObject_GetAttrString(m, "perf_counter") : NULL;
        Py_XDECREF(m);
    }
    PyObject *r = perf ? PyObject_CallNoArgs(perf) : NULL;
    double t = r ? PyFloat_AsDouble(r) : 0.0;
    Py_XDECREF(r);
    if (!r) PyErr_Clear();
    PyGILState_Release(g);
    return t;
}

/* kernel_peak(threads=0, seconds=0.3) -> GFLOP/s of the packed product kernel now
 * chosen (LSTMKIT_ISA applies), on data in cache; threads 0: as lstm_forward would use. */
static PyObject *py_kernel_peak(PyObject *self, PyObject *args, PyObject *kw)
{
    static char *kwlist[] = {"threads", "seconds", NULL};
    int nt = 0;
    double seconds = 0.3, gf = 0.0;
    (void)self;
    if (!PyArg_ParseTupleAndKeywords(args, kw, "|id", kwlist, &nt, &seconds)) return NULL;
    int isa = isa_now();
    if (isa < 0) return NULL;
    lk_blas_find();
    if (nt <= 0) nt = avail_threads();
    Py_BEGIN_ALLOW_THREADS
    gf = lk_packed_peak((lk_isa)isa, nt, now_seconds, seconds);
    Py_END_ALLOW_THREADS
    return PyFloat_FromDouble(gf);
}

static PyObject *py_release_scratch(PyObject *self, PyObject *args)
{
    (void)self; (void)args;
    lk_scratch_release();
    Py_RETURN_NONE;
}

static PyObject *py_scratch_bytes(PyObject *self, PyObject *args)
{
    (void)self; (void)args;
    return PyLong_FromSize_t(lk_scratch_bytes());
}

static PyObject *py_blas_info(PyObject *self, PyObject *args)
{
    (void)self; (void)args;
    if (!lk_blas_find()) Py_RETURN_NONE;
    return Py_BuildValue("(si)", lk_blas_lib(), lk_blas_ilp64());
}

#if defined(__clang__)
/* (not __clang_version__: Debian's ends in a space, which `lstmkit --version` printed) */
#define LK_COMPILER "clang " Py_STRINGIFY(__clang_major__) "." Py_STRINGIFY(__clang_minor__) \
                    "." Py_STRINGIFY(__clang_patchlevel__)
#elif defined(__GNUC__)
#define LK_COMPILER "gcc " __VERSION__
#elif defined(_MSC_VER)
#define LK_COMPILER "msvc " Py_STRINGIFY(_MSC_VER)
#else
#define LK_COMPILER "unknown compiler"
#endif

/* kernel_info() -> dict: isa (what runs now), best (what this CPU and build allow), lanes,
 * note (why a request was changed, or None), threads, blas, ilp64, compiler, ftz. */
static PyObject *py_kernel_info(PyObject *self, PyObject *args)
{
    (void)self; (void)args;
    const char *why = NULL;
    int isa = lk_isa_choice(&why);
    lk_blas_find();
    PyObject *note = why ? PyUnicode_FromString(why) : (Py_INCREF(Py_None), Py_None);
    return Py_BuildValue("{s:s,s:s,s:i,s:N,s:i,s:s,s:O,s:s,s:O}",
                         "isa", isa < 0 ? "invalid" : lk_isa_name((lk_isa)isa),
                         "best", lk_isa_name(lk_isa_best()),
                         "lanes", isa < 0 ? 0 : lk_isa_lanes((lk_isa)isa),
                         "note", note, "threads", avail_threads(),
                         "blas", lk_blas_lib(), "ilp64", lk_blas_ilp64() ? Py_True : Py_False,
                         "compiler", LK_COMPILER, "ftz", Py_True);
}

#define KW METH_VARARGS | METH_KEYWORDS
static PyMethodDef methods[] = {
    {"plan", (PyCFunction)(void (*)(void))py_plan, KW,
     "plan(B, H, float64=False) -> (path, threads) lstm_forward would use"},
    {"lstm_forward", (PyCFunction)(void (*)(void))py_lstm_forward, KW,
     "lstm_forward(*, x, W_x, W_h, b, hs, cs, tcs, act=None, mask=None, rmask=None, hr=None, "
     "training=False) -> path"},
    {"lstm_backward", (PyCFunction)(void (*)(void))py_lstm_backward, KW,
     "lstm_backward(*, act, tcs, cs, W_h, dh, dc, dz, dhs=None, mask=None, rmask=None, work=None, "
     "db=None, dx=None, W_x=None) -> dx filled?"},
    {"gru_forward", (PyCFunction)(void (*)(void))py_gru_forward, KW,
     "gru_forward(*, x, W_x, W_h, b_x, b_h, hs, act=None, u_n=None, mask=None, rmask=None) -> path"},
    {"gru_backward", (PyCFunction)(void (*)(void))py_gru_backward, KW,
     "gru_backward(*, act, hs, u_n, W_h, dh, da, du_n, dhs=None, mask=None, rmask=None, "
     "db_x=None, db_hn=None, dx=None, W_x=None) -> dx filled?"},
    {"step_forward", (PyCFunction)(void (*)(void))py_step_forward, KW,
     "step_forward(z, rec, c_prev, c_t, tc, h_prev, h_t, m_t)"},
    {"step_backward", (PyCFunction)(void (*)(void))py_step_backward, KW,
     "step_backward(dh, dc, a, tc, c_prev, dz, m_t, work=None)"},
    {"weight_grads", py_weight_grads, METH_VARARGS,
     "weight_grads(((A, dZ, dW), ...)): dW = A^T dZ for each triple, rows shared by threads"},
    {"release_scratch", py_release_scratch, METH_NOARGS,
     "free the calling thread's kept scratch (packed weights); the next call allocates again"},
    {"scratch_bytes", py_scratch_bytes, METH_NOARGS,
     "bytes of scratch kept for the calling thread now (packed weights, their copies, ...)"},
    {"blas_info", py_blas_info, METH_NOARGS, "(library path, ilp64) of the gemm in use, or None"},
    {"kernel_info", py_kernel_info, METH_NOARGS, "which kernel runs here and why (a dict)"},
    {"kernel_peak", (PyCFunction)(void (*)(void))py_kernel_peak, KW,
     "kernel_peak(threads=0, seconds=0.3) -> GFLOP/s of the packed product kernel, in cache"},
    {NULL, NULL, 0, NULL}};

static struct PyModuleDef module = {PyModuleDef_HEAD_INIT, "_fused",
                                    "The LSTM and GRU time loops in C (see core/gates.py).", -1,
                                    methods, NULL, NULL, NULL, NULL};

PyMODINIT_FUNC PyInit__fused(void) { return PyModule_Create(&module); }
