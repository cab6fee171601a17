"""The LSTM fast path: the equations of :mod:`lstmkit.core.reference`, arranged for speed.

What makes it fast (and what to keep when changing it):

* the input product for all steps is one GEMM: ``(T·B, D) @ (D, 4H)``;
* only ``h_{t-1} · W_h`` stays inside the time loop;
* every buffer is allocated once per call and each step writes into it with
  ``out=`` (no temporaries in the loop); the pre-activations z are turned into
  the gate activations in place and kept for backward;
* backward keeps only ``dz · W_hᵀ`` inside the loop; dW_x, dW_h, db and dx are
  one large GEMM / reduction each, after it (the C loop below moves db and dx
  into the loop, where its threads already have dz_t in cache).

Tensors here are time-major: x (T, B, D), hs (T, B, H). The gate order along
4H is i, f, g, o. The elementwise part of a step is in :mod:`.gates` so a
compiled kernel can replace it; the NumPy version is always available.

Three ways the time loop runs, fastest first (all tested equal to the reference):

1. in C, ``gates.loop_module(dtype)`` (the ``_fused`` extension):
   * float32 (B > 1, and B = 1 in inference): the packed kernel (AVX-512, AVX2, SSE2 or
     NEON, chosen at run time, see ``gates.kernel_info()``) packs the weights once per
     call (inference keeps them packed for the next call on the same, unchanged weights)
     and hands chunks of hidden units to threads (or, when what a step reads of the packed
     weights fits in 1 MB, one group of batch rows to each thread for the whole sequence:
     no wait after each step; ``LSTMKIT_SPLIT=units|rows`` forces one). At B ≥ 32 it
     computes ``z_t = [x_t, h_{t-1}]·[W_x; W_h]`` step by step (x_t·W_x summed per step
     along with h_{t-1}·W_h); below, or split by rows with only W_h under 1 MB (≥ 8 rows
     a thread), x·W_x for a block of ~96 rows x_τ at once, then ``h_{t-1}·W_h`` per step
     (``LSTMKIT_XPROJ=step|block`` forces one). Training keeps the activations in act[t];
     inference needs no (T, B, 4H) array at all and reads a strided x in place. It also
     adds b in the loop, sums db while dz_t is in cache and computes dx_t = dz_t·W_xᵀ step
     by step with the same threads (dW_x, dW_h stay large GEMMs after the loop);
   * float64, training at B = 1 (the GRU's runs packed), or ``LSTMKIT_ISA=blas``: x·W_x
     as one GEMM, then a call of the BLAS NumPy loaded per step;
2. in Python, one ``matmul`` per step plus the compiled step kernel;
3. in Python with the NumPy step kernels (``LSTMKIT_NO_EXT=1``, or no compiler); the
   weights' i, f, o columns are halved first, so that one tanh gives every gate
   (σ(z) = ½·tanh(z/2) + ½; ``gates.halve_sigmoid_columns``).

Same extras as the reference: ``mask`` (T, B) carries h, c through masked
steps; ``rmask`` (B, H) is recurrent dropout on h_{t-1}.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from . import gates, workspace

__all__ = ["LSTMCache", "lstm_forward", "lstm_backward"]


@dataclass
class LSTMCache:
    """What backward needs from forward (time-major)."""

    x: np.ndarray  # (T, B, D) input
    act: np.ndarray | None  # (T, B, 4H) gate activations i, f, g, o (None: consumed)
    hs: np.ndarray  # (T+1, B, H) h_0 … h_T (index 0 is the initial state)
    cs: np.ndarray  # (T+1, B, H) c_0 … c_T
    tc: np.ndarray  # (T, B, H) tanh(c_t) before masking
    mask: np.ndarray | None  # (T, B) or None
    rmask: np.ndarray | None  # (B, H) or None


def lstm_forward(
    x, W_x, W_h, b, h0=None, c0=None, mask=None, rmask=None, need_cache=True, frozen=0
):
    """Forward over x (T, B, D). Returns ``hs`` (T, B, H), ``(h_T, c_T)``, cache.

    With ``need_cache=False`` (inference) the cell states and tanh(c) are not
    kept for every step and the returned cache is None. ``frozen`` (inference, packed
    loop): 0, or a token promising that the read-only W_x, W_h never change (see
    ``Recurrent.freeze_weights``): the weights packed by an earlier call with the same
    token are then used without comparing W_x, W_h with their kept copy. x may be any view whose
    rows x[t, b, :] are contiguous (a layer passes its batch-major input transposed):
    the packed inference loop reads it in place, the other paths copy it.
    """
    T, B, D = x.shape
    H = W_h.shape[0]
    dt = x.dtype
    ext = gates.loop_module(dt)
    packed = ext is not None and gates.lstm_packed_loop(dt, B, H, inference=not need_cache)
    act = None  # pre-activations, then gates i,f,g,o (the packed inference loop needs none)
    if need_cache or not packed:
        act = workspace.empty((T, B, 4 * H), dt)
    halved = ext is None and gates.numpy_step_halved(dt)
    if halved:  # NumPy steps: z/2 in the i, f, o columns (σ through one tanh, see gates)
        W_x, W_h, b = gates.halve_sigmoid_columns(W_x, W_h, b)
    if ext is None:  # z_t = x_t · W_x + b for every t at once; h_{t-1} · W_h in the loop
        assert act is not None  # (made above: this is not the packed loop)
        np.matmul(x.reshape(T * B, D), W_x, out=act.reshape(T * B, 4 * H))
        act += b
    hs = workspace.empty((T + 1, B, H), dt)  # h_0 … h_T (the big arrays: see workspace)
    hs[0] = 0 if h0 is None else h0
    if need_cache:
        cs = workspace.empty((T + 1, B, H), dt)  # c_0 … c_T
        tcs = workspace.empty((T, B, H), dt)  # tanh(c_t)
    else:
        cs = np.empty((2, B, H), dt)  # ping-pong c_{t-1}, c_t
        tcs = np.empty((1, B, H), dt)
    cs[0] = 0 if c0 is None else c0
    if mask is not None:
        mask = np.ascontiguousarray(mask, dtype=dt)  # (T, B) of 0/1
    hr = np.empty((B, H), dt) if rmask is not None else None  # h_{t-1} ⊙ rmask
    if ext is not None:  # the whole loop in C (x·W_x, b and h_{t-1}·W_h inside)
        if rmask is not None:
            rmask = np.ascontiguousarray(rmask, dtype=dt)
        strided_ok = packed and x.strides[2] == x.itemsize  # (rows gathered in C)
        ext.lstm_forward(
            x=x if strided_ok else np.ascontiguousarray(x),
            W_x=np.ascontiguousarray(W_x, dtype=dt),
            W_h=np.ascontiguousarray(W_h, dtype=dt),
            b=np.ascontiguousarray(b, dtype=dt),
            hs=hs,
            cs=cs,
            tcs=tcs,
            act=act,
            mask=mask,
            rmask=rmask,
            hr=hr,
            training=need_cache,
            frozen=frozen,
        )
    else:
        step = gates.lstm_step_kernel(dt, halved=halved)
        _forward_steps(act, W_h, hs, cs, tcs, mask, rmask, hr, need_cache, step)
    h_T = hs[T].copy()
    c_T = (cs[T] if need_cache else cs[T & 1]).copy()
    cache = LSTMCache(x, act, hs, cs, tcs, mask, rmask) if need_cache else None
    return hs[1:], (h_T, c_T), cache


def _forward_steps(act, W_h, hs, cs, tcs, mask, rmask, hr, need_cache, step):
    """The time loop in Python: one GEMM and one step-kernel call per t."""
    T, B, H4 = act.shape
    rec = np.empty((B, H4), act.dtype)  # h_{t-1} · W_h
    for t in range(T):
        h_prev = hs[t]
        if rmask is not None:
            np.multiply(h_prev, rmask, out=hr)
            np.matmul(hr, W_h, out=rec)
        else:
            np.matmul(h_prev, W_h, out=rec)
        if need_cache:
            c_prev, c_t, tc = cs[t], cs[t + 1], tcs[t]
        else:
            c_prev, c_t, tc = cs[t & 1], cs[(t + 1) & 1], tcs[0]
        m_t = None if mask is None else mask[t]
        # z += rec; gates; c_t = f⊙c_{t-1} + i⊙g; h_t = o⊙tanh(c_t); masking
        step(act[t], rec, c_prev, c_t, tc, h_prev, hs[t + 1], m_t)


def lstm_backward(
    dhs, dh_T, dc_T, cache: LSTMCache, W_x, W_h, need_dx=True, consume=False, out=None
):
    """BPTT over the whole sequence.

    ``dhs`` (T, B, H) is dL/dh_t from the layer above (None for zeros), ``dh_T``,
    ``dc_T`` the gradients on the final state (None for zeros).
    Returns ``dx`` (T, B, D) (None if not needed), dh_0, dc_0, dW_x, dW_h, db.

    ``consume=True`` lets the C loop write dz_t over the activations of step t, which
    it has just read for the last time: no second (T, B, 4H) array, the largest one
    (the layer passes it, and drops the cache after backward; the cache is unusable
    afterwards). ``out=(dW_x, dW_h, db)``, C-contiguous arrays of the right shapes,
    receive the weight gradients in place (the layer's gradient buffers).
    """
    x, act, hs, cs, tcs = cache.x, cache.act, cache.hs, cache.cs, cache.tc
    if act is None:
        raise RuntimeError("lstm_backward: this cache was consumed by an earlier backward")
    T, B, D = x.shape
    H = W_h.shape[0]
    dt = x.dtype
    ext = gates.loop_module(dt)
    if consume and ext is not None:
        dz = act  # dz_t over act_t (see above)
        cache.act = None
    else:
        dz = workspace.empty((T, B, 4 * H), dt)  # dL/dz_t for every t
    dh = np.zeros((B, H), dt) if dh_T is None else np.array(dh_T, dt)
    dc = np.zeros((B, H), dt) if dc_T is None else np.array(dc_T, dt)
    db = dx = None
    if ext is not None:
        # the whole loop in C: fused step, dh += dz_t·W_hᵀ, and db += Σ dz_t while hot
        rmask = cache.rmask
        db = gates.output_array(out, 2, (4 * H,), dt)  # Σ dz_t, summed into
        db.fill(0)
        dx_t = workspace.empty((T, B, D), dt) if need_dx else None  # dz_t·W_xᵀ, if the loop can
        if ext.lstm_backward(
            act=act,
            tcs=tcs,
            cs=cs,
            W_h=np.ascontiguousarray(W_h, dtype=dt),
            dh=dh,
            dc=dc,
            dz=dz,
            dhs=None if dhs is None else np.ascontiguousarray(dhs, dtype=dt),
            mask=cache.mask,
            rmask=rmask,
            work=np.empty((B, H), dt) if rmask is not None else None,
            db=db,
            dx=dx_t,
            W_x=np.ascontiguousarray(W_x, dtype=dt) if need_dx else None,
        ):
            dx = dx_t
    else:
        _backward_steps(dhs, dh, dc, cache, dz, W_h)
    # the big GEMMs, after the loop
    dz2 = dz.reshape(T * B, 4 * H)
    h_in = hs[:T] if cache.rmask is None else hs[:T] * cache.rmask
    x2 = (x if x.flags.c_contiguous else workspace.copy(x)).reshape(T * B, D)  # (a strided x)
    h2 = h_in.reshape(T * B, H)
    wg = gates.weight_grads_kernel(dt)
    if wg is not None:  # both on our threads (see gates)
        dW_x = gates.output_array(out, 0, (D, 4 * H), dt)
        dW_h = gates.output_array(out, 1, (H, 4 * H), dt)
        wg(((x2, dz2, dW_x), (h2, dz2, dW_h)))
    else:
        dW_x = x2.T @ dz2  # Σ x_tᵀ dz_t
        dW_h = h2.T @ dz2  # Σ h_{t-1}ᵀ dz_t
    if db is None:
        db = dz2.sum(axis=0)  # Σ dz_t
    if need_dx and dx is None:
        dx = (dz2 @ W_x.T).reshape(T, B, D)  # dx_t = dz_t · W_xᵀ
    return dx, dh, dc, dW_x, dW_h, db


def _backward_steps(dhs, dh, dc, cache, dz, W_h):
    """The backward time loop in Python: one step-kernel call and one GEMM per t."""
    T, B, H4 = dz.shape
    dt = dz.dtype
    dh_next = np.empty((B, H4 // 4), dt)
    work = gates.lstm_backward_workspace(B, H4 // 4, dt)
    step = gates.lstm_step_backward_kernel(dt)
    W_hT = np.ascontiguousarray(W_h.T)  # (4H, H), once per call
    for t in range(T - 1, -1, -1):
        if dhs is not None:
            dh += dhs[t]  # dh_t += dy_t
        m_t = None if cache.mask is None else cache.mask[t]
        # fills dz[t]; dc becomes dc_{t-1}; dh keeps only the carried (masked) part
        step(dh, dc, cache.act[t], cache.tc[t], cache.cs[t], dz[t], m_t, work)
        np.matmul(dz[t], W_hT, out=dh_next)  # dh_{t-1} = dz · W_hᵀ
        if cache.rmask is not None:
            dh_next *= cache.rmask
        dh += dh_next
