/* lstmkit.core._fused — the elementwise LSTM step, forward and backward, fused in C.
 *
 * The same equations as lstmkit/core/gates.py (which stays the tested fallback):
 *
 *   forward (z holds x_t·W_x + b on entry, the activations i, f, g, o on exit):
 *     z += h_{t-1}·W_h
 *     i, f, o = σ(z_i, z_f, z_o) with σ(z) = ½·tanh(z/2) + ½;   g = tanh(z_g)
 *     c_t = f ⊙ c_{t-1} + i ⊙ g;   tc = tanh(c_t);   h_t = o ⊙ tc
 *     rows with m_t == 0 carry h_{t-1}, c_{t-1}
 *
 *   backward (dh, dc hold dL/dh_t, dL/dc_t on entry):
 *     do = dh ⊙ tc;   dc += dh ⊙ o ⊙ (1 − tc²)
 *     dz = [dc⊙g⊙i(1−i), dc⊙c_{t-1}⊙f(1−f), dc⊙i⊙(1−g²), do⊙o(1−o)]
 *     dc ← dc ⊙ f (= dc_{t-1});  dh ← carried part only (0, or dh where masked)
 *
 * float32 uses a rational tanh (Eigen's 13/6 minimax, max rel. error ~3e-7) that
 * gcc vectorises; float64 calls libm tanh so it stays equal to NumPy to ~1e-15.
 * Each row kernel is compiled for AVX-512, AVX2+FMA and baseline x86-64 and the
 * loader picks one at run time (target_clones) — no -march=native.
 *
 * The whole-sequence loops (forward_loop / backward_loop) call the cblas_?gemm of
 * the BLAS NumPy already loaded (found with dl_iterate_phdr, so no link-time BLAS
 * dependency); without one, Python runs the loop and calls the step kernels.
 *
 * Arrays arrive through the buffer protocol: dtype, C-contiguity and shape are
 * checked; the GIL is released while computing.
 *
 * One translation unit in six files: _fused_rows.h (the elementwise step, fast tanh),
 * _fused_blas.h (the BLAS NumPy loaded, our worker threads, the weight gradients),
 * _fused_mk.h (packing, AVX-512 microkernels), _fused_loops.h (the float32 time loops
 * on packed weights), _fused_args.h (argument checks), and here the Python functions.
 */
#define PY_SSIZE_T_CLEAN
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <Python.h>
#include <math.h>
#include <string.h>
#include <stdint.h>

#if defined(__linux__)
#include <dlfcn.h>
#include <link.h>
#include <pthread.h>
#define HAVE_DL 1
#endif

#if defined(__GNUC__) && !defined(__clang__) && defined(__x86_64__) && defined(__linux__)
#define CLONES __attribute__((target_clones("arch=x86-64-v4", "arch=x86-64-v3", "default")))
#else
#define CLONES
#endif

typedef Py_ssize_t idx;

#include "_fused_rows.h"

#include "_fused_blas.h"

#include "_fused_mk.h"
#include "_fused_loops.h"

#include "_fused_args.h"

#define P(k) (b[k].ok ? b[k].v.buf : NULL)

/* step_forward(z, rec, c_prev, c_t, tc, h_prev, h_t, m_t) — same as gates._np_step */
static PyObject *step_forward(PyObject *self, PyObject *args)
{
    PyObject *o[8];
    (void)self;
    if (!PyArg_ParseTuple(args, "OOOOOOOO", &o[0], &o[1], &o[2], &o[3], &o[4], &o[5], &o[6], &o[7]))
        return NULL;
    char fmt = fmt_of(o[0], "z");
    if (!fmt) return NULL;
    buf b[8];
    memset(b, 0, sizeof b);
    idx zs[2] = {-1, -1};
    if (get(o[0], &b[0], "z", fmt, 2, zs, 1) < 0) goto fail;
    idx B = b[0].v.shape[0], H4 = b[0].v.shape[1], H = H4 / 4;
    if (H4 % 4) { PyErr_SetString(PyExc_ValueError, "z: second axis must be 4H"); goto fail; }
    idx s4[2] = {B, H4}, s1[2] = {B, H}, sm[1] = {B};
    static const char *nm[8] = {"z", "rec", "c_prev", "c_t", "tc", "h_prev", "h_t", "m_t"};
    for (int k = 1; k < 7; k++)
        if (get(o[k], &b[k], nm[k], fmt, 2, k == 1 ? s4 : s1, k == 3 || k == 4 || k == 6) < 0) goto fail;
    if (get(o[7], &b[7], "m_t", fmt, 1, sm, 0) < 0) goto fail;
    if (!b[2].ok || !b[3].ok || !b[4].ok || !b[5].ok || !b[6].ok) {
        PyErr_SetString(PyExc_ValueError, "step_forward: only rec and m_t may be None"); goto fail;
    }
    Py_BEGIN_ALLOW_THREADS
    if (fmt == 'f') fwd_rows_f32(B, H, 0, H, P(0), 4 * H, H, P(1), NULL, P(2), P(3), P(4), P(5), P(6), P(7));
    else fwd_rows_f64(B, H, 0, H, P(0), 4 * H, H, P(1), NULL, P(2), P(3), P(4), P(5), P(6), P(7));
    Py_END_ALLOW_THREADS
    release(b, 8);
    Py_RETURN_NONE;
fail:
    release(b, 8);
    return NULL;
}

/* step_backward(dh, dc, a, tc, c_prev, dz, m_t[, work]) — same as gates._np_step_backward
 * (work, the NumPy kernel's scratch, is accepted and not needed) */
static PyObject *step_backward(PyObject *self, PyObject *args)
{
    PyObject *o[7], *work = NULL;
    (void)self;
    if (!PyArg_ParseTuple(args, "OOOOOOO|O", &o[0], &o[1], &o[2], &o[3], &o[4], &o[5], &o[6], &work))
        return NULL;
    (void)work;
    char fmt = fmt_of(o[0], "dh");
    if (!fmt) return NULL;
    buf b[7];
    memset(b, 0, sizeof b);
    idx s0[2] = {-1, -1};
    if (get(o[0], &b[0], "dh", fmt, 2, s0, 1) < 0) goto fail;
    idx B = b[0].v.shape[0], H = b[0].v.shape[1];
    idx s1[2] = {B, H}, s4[2] = {B, 4 * H}, sm[1] = {B};
    static const char *nm[7] = {"dh", "dc", "a", "tc", "c_prev", "dz", "m_t"};
    for (int k = 1; k < 6; k++)
        if (get(o[k], &b[k], nm[k], fmt, 2, (k == 2 || k == 5) ? s4 : s1, k == 1 || k == 5) < 0) goto fail;
    if (get(o[6], &b[6], "m_t", fmt, 1, sm, 0) < 0) goto fail;
    for (int k = 1; k < 6; k++)
        if (!b[k].ok) { PyErr_Format(PyExc_ValueError, "%s must not be None", nm[k]); goto fail; }
    Py_BEGIN_ALLOW_THREADS
    if (fmt == 'f') bwd_rows_f32(B, H, 0, H, P(0), P(1), P(2), P(3), P(4), P(5), P(6));
    else bwd_rows_f64(B, H, 0, H, P(0), P(1), P(2), P(3), P(4), P(5), P(6));
    Py_END_ALLOW_THREADS
    release(b, 7);
    Py_RETURN_NONE;
fail:
    release(b, 7);
    return NULL;
}

/* forward_loop(act, W_h, hs, cs, tcs, mask, rmask, hr, b, x, W_x) — the whole time loop.
 * x (T,B,D) and W_x (D,4H): the input product is computed here; x may be a strided view
 * (rows contiguous) only where the packed float32 loop runs. b (4H) or None.
 * act (T,B,4H): written, the gate activations on return (in inference the packed loop
 * needs none: act may then be 1 step long); hs (T+1,B,H) with hs[0] = h_0;
 * cs (T+1,B,H) with cs[0] = c_0 and tcs (T,B,H) when caching, else cs (2,B,H)
 * ping-pong and tcs (1,B,H); mask (T,B) or None; rmask (B,H) and hr (B,H) or None. */
static PyObject *forward_loop(PyObject *self, PyObject *args)
{
    PyObject *o[11];
    (void)self;
    o[8] = o[9] = o[10] = Py_None;
    if (!PyArg_ParseTuple(args, "OOOOOOOO|OOO", &o[0], &o[1], &o[2], &o[3], &o[4], &o[5], &o[6],
                          &o[7], &o[8], &o[9], &o[10]))
        return NULL;
    find_blas();
    if (!blas_s) { PyErr_SetString(PyExc_RuntimeError, "no cblas gemm found"); return NULL; }
    char fmt = fmt_of(o[0], "act");
    if (!fmt) return NULL;
    buf b[11];
    memset(b, 0, sizeof b);
    idx s0[3] = {-1, -1, -1};
    if (get(o[0], &b[0], "act", fmt, 3, s0, 1) < 0) goto fail;
    idx TA = b[0].v.shape[0], B = b[0].v.shape[1], H4 = b[0].v.shape[2], H = H4 / 4;
    idx sw[2] = {H, H4}, shs[3] = {-1, B, H};
    if (get(o[1], &b[1], "W_h", fmt, 2, sw, 0) < 0) goto fail;
    if (get(o[2], &b[2], "hs", fmt, 3, shs, 1) < 0) goto fail;
    idx T = b[2].v.shape[0] - 1;                               /* hs holds h_0 … h_T */
    idx scs[3] = {-1, B, H}, sbh[2] = {B, H}, sm[2] = {T, B};
    if (get(o[3], &b[3], "cs", fmt, 3, scs, 1) < 0) goto fail;
    if (get(o[4], &b[4], "tcs", fmt, 3, scs, 1) < 0) goto fail;
    if (get(o[5], &b[5], "mask", fmt, 2, sm, 0) < 0) goto fail;
    if (get(o[6], &b[6], "rmask", fmt, 2, sbh, 0) < 0) goto fail;
    if (get(o[7], &b[7], "hr", fmt, 2, sbh, 1) < 0) goto fail;
    idx sb[1] = {H4};
    if (get(o[8], &b[8], "b", fmt, 1, sb, 0) < 0) goto fail;
    idx sx[3] = {T, B, -1};
    idx xst = 0, xsb = 0;
    int xcontig = 1;
    if (get_rows3(o[9], &b[9], fmt, sx, &xst, &xsb, &xcontig) < 0) goto fail;
    idx D = b[9].ok ? b[9].v.shape[2] : 0, swx[2] = {D, H4};
    if (get(o[10], &b[10], "W_x", fmt, 2, swx, 0) < 0) goto fail;
    if (!b[9].ok || !b[10].ok) {
        PyErr_SetString(PyExc_ValueError, "forward_loop: x and W_x are required");
        goto fail;
    }
    if (!b[1].ok || !b[2].ok || !b[3].ok || !b[4].ok || (b[6].ok && !b[7].ok)) {
        PyErr_SetString(PyExc_ValueError, "forward_loop: W_h, hs, cs, tcs (and hr with rmask) are required");
        goto fail;
    }
    int cache = b[3].v.shape[0] == T + 1;
    if ((cache && b[4].v.shape[0] != T) || (!cache && (b[3].v.shape[0] != 2 || b[4].v.shape[0] != 1))) {
        PyErr_SetString(PyExc_ValueError, "forward_loop: cs/tcs must be (T+1, T) or (2, 1) steps long");
        goto fail;
    }
    int dbl = fmt == 'd';
    /* act holds every step; in inference the packed float32 loop needs none (z lives
     * per chunk, fwd_chunk in _fused_loops.h) and act may be shorter (1 step) */
    if (TA != T && (cache || dbl || TA < 1 || TA > T)) {
        PyErr_SetString(PyExc_ValueError, "forward_loop: act must hold T steps (a shorter window "
                        "only for float32 inference with x and W_x)");
        goto fail;
    }
    size_t es = dbl ? 8 : 4;
    char *act = P(0), *hs = P(2), *cs = P(3), *tcs = P(4), *mask = P(5), *rmask = P(6), *hr = P(7);
    const void *W_h = P(1);
    size_t zB = (size_t)B * H4 * es, hB = (size_t)B * H * es;
    int short_act = 0;
    Py_BEGIN_ALLOW_THREADS
    int done = 0;
#ifdef HAVE_MK
    if (!dbl)
        done = mk_forward(T, B, H, (float *)act, W_h, (float *)P(8), (float *)hs,
                          (float *)cs, (float *)tcs, cache, (float *)mask, (float *)rmask,
                          (float *)P(9), xst, xsb, (float *)P(10), D) == 0;
#endif
    short_act = !done && (TA != T || !xcontig);                /* only when out of memory */
    if (!done && !short_act)                                   /* act = x·W_x */
        gemm(dbl, T * B, H4, D, P(9), D, P(10), H4, 0, 0.0, act, H4);
    for (idx t = 0; t < T && !done && !short_act; t++) {
        char *h_prev = hs + t * hB, *z = act + t * zB;
        const void *hin = h_prev;
        if (rmask) {                                   /* recurrent dropout on h_{t-1} */
            if (dbl) mul_f64(B * H, (double *)h_prev, (double *)rmask, (double *)hr);
            else mul_f32(B * H, (float *)h_prev, (float *)rmask, (float *)hr);
            hin = hr;
        }
        if (B == 1 && blas_sv && blas_dv) gemv(dbl, 1, H, H4, W_h, H4, hin, z);  /* z += W_hᵀh */
        else gemm(dbl, B, H4, H, hin, H, W_h, H4, 0, 1.0, z, H4);   /* z += h_{t-1}·W_h */
        char *c_prev = cache ? cs + t * hB : cs + (t & 1) * hB;
        char *c_t = cache ? cs + (t + 1) * hB : cs + ((t + 1) & 1) * hB;
        char *tc = cache ? tcs + t * hB : tcs;
        char *m = mask ? mask + (size_t)t * B * es : NULL;
        if (dbl) fwd_rows_f64(B, H, 0, H, (double *)z, 4 * H, H, NULL, (double *)P(8), (double *)c_prev, (double *)c_t,
                              (double *)tc, (double *)h_prev, (double *)(h_prev + hB), (double *)m);
        else fwd_rows_f32(B, H, 0, H, (float *)z, 4 * H, H, NULL, (float *)P(8), (float *)c_prev, (float *)c_t,
                          (float *)tc, (float *)h_prev, (float *)(h_prev + hB), (float *)m);
    }
    Py_END_ALLOW_THREADS
    if (short_act) {
        if (!xcontig && TA == T)
            PyErr_SetString(PyExc_ValueError, "forward_loop: x must be C-contiguous here "
                            "(a strided x only for the packed float32 loop)");
        else
            PyErr_NoMemory();
        goto fail;
    }
    release(b, 11);
    Py_RETURN_NONE;
fail:
    release(b, 11);
    return NULL;
}

/* backward_loop(dhs, dh, dc, act, tcs, cs, dz, W_h, mask, rmask, work[, db, dx, W_x])
 * dhs (T,B,H) or None; dh, dc (B,H) hold dL/dh_T, dL/dc_T on entry and dh_0, dc_0
 * on exit; act (T,B,4H); tcs (T,B,H); cs (T+1,B,H); dz (T,B,4H) out; W_h (H,4H);
 * mask (T,B) or None; rmask (B,H) or None; work (B,H) scratch (needed with rmask);
 * db (4H), if given, gets Σ_t Σ_rows dz_t added (while dz_t is in cache); dx (T,B,D)
 * and W_x (D,4H), if given, may get dx = dz·W_xᵀ filled in step by step: returns True
 * if it did (packed float32 loop, D % 32 == 0), False if the caller must compute dx. */
static PyObject *backward_loop(PyObject *self, PyObject *args)
{
    PyObject *o[14];
    (void)self;
    o[11] = o[12] = o[13] = Py_None;
    if (!PyArg_ParseTuple(args, "OOOOOOOOOOO|OOO", &o[0], &o[1], &o[2], &o[3], &o[4], &o[5],
                          &o[6], &o[7], &o[8], &o[9], &o[10], &o[11], &o[12], &o[13]))
        return NULL;
    find_blas();
    if (!blas_s) { PyErr_SetString(PyExc_RuntimeError, "no cblas gemm found"); return NULL; }
    char fmt = fmt_of(o[3], "act");
    if (!fmt) return NULL;
    buf b[14];
    memset(b, 0, sizeof b);
    idx s0[3] = {-1, -1, -1};
    if (get(o[3], &b[3], "act", fmt, 3, s0, 0) < 0) goto fail;
    idx T = b[3].v.shape[0], B = b[3].v.shape[1], H4 = b[3].v.shape[2], H = H4 / 4;
    idx sT[3] = {T, B, H}, sbh[2] = {B, H}, sc[3] = {T + 1, B, H}, sz[3] = {T, B, H4},
        sw[2] = {H, H4}, sm[2] = {T, B};
    if (get(o[0], &b[0], "dhs", fmt, 3, sT, 0) < 0) goto fail;
    if (get(o[1], &b[1], "dh", fmt, 2, sbh, 1) < 0) goto fail;
    if (get(o[2], &b[2], "dc", fmt, 2, sbh, 1) < 0) goto fail;
    if (get(o[4], &b[4], "tcs", fmt, 3, sT, 0) < 0) goto fail;
    if (get(o[5], &b[5], "cs", fmt, 3, sc, 0) < 0) goto fail;
    if (get(o[6], &b[6], "dz", fmt, 3, sz, 1) < 0) goto fail;
    if (get(o[7], &b[7], "W_h", fmt, 2, sw, 0) < 0) goto fail;
    if (get(o[8], &b[8], "mask", fmt, 2, sm, 0) < 0) goto fail;
    if (get(o[9], &b[9], "rmask", fmt, 2, sbh, 0) < 0) goto fail;
    if (get(o[10], &b[10], "work", fmt, 2, sbh, 1) < 0) goto fail;
    idx sdb[1] = {H4};
    if (get(o[11], &b[11], "db", fmt, 1, sdb, 1) < 0) goto fail;
    idx sdx[3] = {T, B, -1};
    if (get(o[12], &b[12], "dx", fmt, 3, sdx, 1) < 0) goto fail;
    idx D = b[12].ok ? b[12].v.shape[2] : 0, swx[2] = {D, H4};
    if (get(o[13], &b[13], "W_x", fmt, 2, swx, 0) < 0) goto fail;
    for (int k = 1; k < 8; k++)
        if (!b[k].ok || (b[9].ok && !b[10].ok)) {
            PyErr_SetString(PyExc_ValueError, "backward_loop: only dhs, mask, rmask, work may be None");
            goto fail;
        }
    int dbl = fmt == 'd';
    size_t es = dbl ? 8 : 4, zB = (size_t)B * H4 * es, hB = (size_t)B * H * es;
    char *dhs = P(0), *dh = P(1), *dc = P(2), *act = P(3), *tcs = P(4), *cs = P(5), *dz = P(6),
         *mask = P(8), *rmask = P(9), *work = P(10);
    const void *W_h = P(7);
    int dx_done = 0;
    Py_BEGIN_ALLOW_THREADS
    int done = 0;
#ifdef HAVE_MK
    if (!dbl)
        done = mk_backward(T, B, H, (float *)dhs, (float *)dh, (float *)dc, (float *)act,
                           (float *)tcs, (float *)cs, (float *)dz, W_h, (float *)mask,
                           (float *)rmask, (float *)P(11), (float *)P(12), (float *)P(13), D,
                           &dx_done) == 0;
#endif
    for (idx t = T - 1; t >= 0 && !done; t--) {
        if (dhs) {                                                 /* dh_t += dy_t */
            if (dbl) add_f64(B * H, (double *)(dhs + t * hB), (double *)dh);
            else add_f32(B * H, (float *)(dhs + t * hB), (float *)dh);
        }
        char *m = mask ? mask + (size_t)t * B * es : NULL, *zt = dz + t * zB;
        if (dbl) bwd_rows_f64(B, H, 0, H, (double *)dh, (double *)dc, (double *)(act + t * zB),
                              (double *)(tcs + t * hB), (double *)(cs + t * hB), (double *)zt, (double *)m);
        else bwd_rows_f32(B, H, 0, H, (float *)dh, (float *)dc, (float *)(act + t * zB),
                          (float *)(tcs + t * hB), (float *)(cs + t * hB), (float *)zt, (float *)m);
        if (P(11)) {                                               /* db += Σ_rows dz_t */
            if (dbl) colsum_f64(B, H, 0, H, (double *)zt, (double *)P(11));
            else colsum_f32(B, H, 0, H, (float *)zt, (float *)P(11));
        }
        if (!rmask) {
            if (B == 1 && blas_sv && blas_dv) gemv(dbl, 0, H, H4, W_h, H4, zt, dh);
            else gemm(dbl, B, H, H4, zt, H4, W_h, H4, 1, 1.0, dh, H);   /* dh += dz·W_hᵀ */
        } else {
            gemm(dbl, B, H, H4, zt, H4, W_h, H4, 1, 0.0, work, H); /* dz·W_hᵀ ⊙ rmask */
            if (dbl) addmul_f64(B * H, (double *)work, (double *)rmask, (double *)dh);
            else addmul_f32(B * H, (float *)work, (float *)rmask, (float *)dh);
        }
    }
    Py_END_ALLOW_THREADS
    release(b, 14);
    return PyBool_FromLong(dx_done);
fail:
    release(b, 14);
    return NULL;
}

/* weight_grads(((A, dZ, dW), ...)): dW = Aᵀ·dZ; A (N, R), dZ (N, G), dW (R, G) out; each
 * 2-D with contiguous rows (column slices of a bigger array are fine) */
static PyObject *weight_grads(PyObject *self, PyObject *args)
{
    PyObject *seq;
    (void)self;
    if (!PyArg_ParseTuple(args, "O", &seq)) return NULL;
    find_blas();
    if (!blas_s) { PyErr_SetString(PyExc_RuntimeError, "no cblas gemm found"); return NULL; }
    PyObject *fast = PySequence_Fast(seq, "weight_grads: expected a sequence of (A, dZ, dW)");
    if (!fast) return NULL;
    Py_ssize_t n = PySequence_Fast_GET_SIZE(fast);
    buf b[3 * MAXW];
    memset(b, 0, sizeof b);
    wg_job J;
    memset(&J, 0, sizeof J);
    char fmt = 0;
    if (n < 1 || n > MAXW) { PyErr_SetString(PyExc_ValueError, "weight_grads: 1 to 8 triples"); goto fail; }
    for (Py_ssize_t i = 0; i < n; i++) {
        PyObject *t = PySequence_Fast_GET_ITEM(fast, i);
        if (!PyTuple_Check(t) || PyTuple_GET_SIZE(t) != 3) {
            PyErr_SetString(PyExc_ValueError, "weight_grads: each item must be (A, dZ, dW)"); goto fail;
        }
        if (!fmt && !(fmt = fmt_of(PyTuple_GET_ITEM(t, 0), "A"))) goto fail;
        idx sa[2] = {-1, -1}, lda, ldz, ldw;
        if (get2d(PyTuple_GET_ITEM(t, 0), &b[3 * i], "A", fmt, sa, 0, &lda) < 0) goto fail;
        idx N = b[3 * i].v.shape[0], R = b[3 * i].v.shape[1], sz[2] = {N, -1};
        if (get2d(PyTuple_GET_ITEM(t, 1), &b[3 * i + 1], "dZ", fmt, sz, 0, &ldz) < 0) goto fail;
        idx G = b[3 * i + 1].v.shape[1], sw[2] = {R, G};
        if (get2d(PyTuple_GET_ITEM(t, 2), &b[3 * i + 2], "dW", fmt, sw, 1, &ldw) < 0) goto fail;
        J.m[i].A = b[3 * i].v.buf; J.m[i].dZ = b[3 * i + 1].v.buf; J.m[i].W = b[3 * i + 2].v.buf;
        J.m[i].N = N; J.m[i].R = R; J.m[i].G = G;
        J.m[i].lda = lda; J.m[i].ldz = ldz; J.m[i].ldw = ldw;
        J.total += R;
    }
    J.n = (int)n;
    J.dbl = fmt == 'd';
    Py_BEGIN_ALLOW_THREADS
#ifdef HAVE_DL
    /* the BLAS thread count is process-wide: one call at a time sets and restores it */
    static pthread_mutex_t wg_lock = PTHREAD_MUTEX_INITIALIZER;
    pthread_mutex_lock(&wg_lock);
    int blas_nt = blas_nthreads && blas_set_nthreads ? blas_nthreads() : 1, nt = blas_nt;
#else
    int nt = 1;
#endif
    if (nt > 16) nt = 16;
    if (nt > J.total) nt = (int)J.total;
    if (nt < 1) nt = 1;
    wg_arg a[16];
    for (int k = 0; k < nt; k++) { a[k].J = &J; a[k].k = k; a[k].nt = nt; }
    if (nt == 1) {
        wg_worker(&a[0]);                   /* (one thread: the BLAS may thread the call) */
    }
#ifdef HAVE_DL
    else {
        pthread_t th[16];
        spawn_t sp[16];
        int started = 1;
        blas_set_nthreads(1);
        for (int k = 1; k < nt; k++, started++)
            if (spawn(&th[k], &sp[k], wg_worker, &a[k], k) != 0) break;
        wg_worker(&a[0]);
        for (int k = started; k < nt; k++) wg_worker(&a[k]);   /* shares not started */
        for (int k = 1; k < started; k++) pthread_join(th[k], NULL);
        blas_set_nthreads(blas_nt);
    }
    pthread_mutex_unlock(&wg_lock);
#endif
    Py_END_ALLOW_THREADS
    for (int i = 0; i < 3 * MAXW; i++) if (b[i].ok) PyBuffer_Release(&b[i].v);
    Py_DECREF(fast);
    Py_RETURN_NONE;
fail:
    for (int i = 0; i < 3 * MAXW; i++) if (b[i].ok) PyBuffer_Release(&b[i].v);
    Py_DECREF(fast);
    return NULL;
}

static PyObject *release_scratch(PyObject *self, PyObject *args)
{
    (void)self; (void)args;
#ifdef HAVE_MK
    release_scratch_here();
#endif
    Py_RETURN_NONE;
}

static PyObject *blas_info(PyObject *self, PyObject *args)
{
    (void)self; (void)args;
    find_blas();
    if (!blas_s) Py_RETURN_NONE;
    return Py_BuildValue("(si)", blas_lib, blas_ilp64);
}

/* mk_threads(B, H): threads the packed float32 loop would use now; 0 if it would not run */
static PyObject *mk_plan(PyObject *self, PyObject *args)
{
    Py_ssize_t B, H;
    (void)self;
    if (!PyArg_ParseTuple(args, "nn", &B, &H)) return NULL;
    find_blas();
#ifdef HAVE_MK
    if (mk_usable(B, H)) return PyLong_FromLong(mk_threads(B, H));
#endif
    return PyLong_FromLong(0);
}

static PyMethodDef methods[] = {
    {"mk_threads", mk_plan, METH_VARARGS,
     "mk_threads(B, H): threads of the packed float32 loop for this size (0: BLAS loop)"},
    {"step_forward", step_forward, METH_VARARGS, "step_forward(z, rec, c_prev, c_t, tc, h_prev, h_t, m_t)"},
    {"step_backward", step_backward, METH_VARARGS, "step_backward(dh, dc, a, tc, c_prev, dz, m_t[, work])"},
    {"forward_loop", forward_loop, METH_VARARGS, "forward_loop(act, W_h, hs, cs, tcs, mask, rmask, hr, b, x, W_x)"},
    {"backward_loop", backward_loop, METH_VARARGS,
     "backward_loop(dhs, dh, dc, act, tcs, cs, dz, W_h, mask, rmask, work[, db, dx, W_x]) -> dx filled?"},
    {"weight_grads", weight_grads, METH_VARARGS,
     "weight_grads(((A, dZ, dW), ...)): dW = A^T dZ for each triple, rows shared by threads"},
    {"release_scratch", release_scratch, METH_NOARGS,
     "free the calling thread's kept scratch (packed weights); the next call allocates again"},
    {"blas_info", blas_info, METH_NOARGS, "(library path, ilp64) of the gemm in use, or None"},
    {NULL, NULL, 0, NULL}
};

static struct PyModuleDef module = {PyModuleDef_HEAD_INIT, "_fused",
                                    "Fused LSTM step kernels (see gates.py).", -1, methods,
                                    NULL, NULL, NULL, NULL};

PyMODINIT_FUNC PyInit__fused(void) { return PyModule_Create(&module); }
