"""The GRU (Cho et al. 2014) in PyTorch's form: a readable one-step reference and a fast path.

Gate order along the 3H axis: **z, r, n** (update, reset, candidate) — Keras'
order, so the layer's Keras-shaped weights are the kernel's own arrays.
(PyTorch stores r, z, n; :mod:`lstmkit.layers.gru` reorders on import/export.)

Shapes: x_t (B, D), h (B, H), W_x (D, 3H), W_h (H, 3H), b_x and b_h (3H,).
The reset gate acts *after* the recurrent product (PyTorch, Keras
``reset_after=True``), which is why there are two biases that cannot be merged::

    a_t = x_t · W_x + b_x                       (B, 3H)  input side, all gates
    u_t = h_{t-1} · W_h + b_h                   (B, 3H)  recurrent side, all gates
    z_t = σ(a_z + u_z)          r_t = σ(a_r + u_r)
    n_t = tanh(a_n + r_t ⊙ u_n)
    h_t = (1 − z_t) ⊙ n_t + z_t ⊙ h_{t-1}

Backward, one step, with dh = dL/dh_t::

    dn = dh ⊙ (1 − z)          dz = dh ⊙ (h_{t-1} − n)
    dA_n = dn ⊙ (1 − n²)       (gradient of the pre-activation a_n + r ⊙ u_n)
    dA_r = dA_n ⊙ u_n ⊙ r(1−r) dA_z = dz ⊙ z(1−z)
    da = [dA_z, dA_r, dA_n]    (the input side)
    du = [dA_z, dA_r, dA_n ⊙ r] (the recurrent side)
    dh_{t-1} = dh ⊙ z + du · W_hᵀ
    dx_t = da · W_xᵀ   dW_x += x_tᵀ da   db_x += Σ da   dW_h += h_{t-1}ᵀ du   db_h += Σ du

Same extras as the LSTM: ``mask`` (T, B) carries h through masked steps;
``rmask`` (B, H) is recurrent dropout on the h_{t-1} that enters W_h (the
``z ⊙ h_{t-1}`` term uses the undropped h_{t-1}, as in Keras).
Tensors of the sequence functions are time-major: x (T, B, D), hs (T, B, H).

The fast path runs in C where it can (float32, B > 1, a packed ISA here; see
``gates.kernel_info()``): the packed kernel computes ``[x_t, h_{t-1}]·[W_x; W_h]`` per
step into four slots a_z+u_z, a_r+u_r, a_n, u_n (the two n halves stay apart because r
multiplies only u_n) and the gate step with it, on its own threads; backward likewise,
with dx_t = da_t·W_xᵀ in the loop. Elsewhere it is the NumPy loop below, one ``matmul``
per step. Both keep the same cache, so either backward can follow either forward.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from . import gates, workspace
from .activations import sigmoid

__all__ = [
    "gru_step_forward",
    "gru_step_backward",
    "gru_reference_forward",
    "gru_reference_backward",
    "GRUCache",
    "gru_forward",
    "gru_backward",
]


# ---------------------------------------------------------------- the reference
def gru_step_forward(x_t, h_prev, W_x, W_h, b_x, b_h, m_t=None, rmask=None):
    """One GRU step. Returns ``h_t`` and what the backward step needs."""
    H = h_prev.shape[1]
    hr = h_prev if rmask is None else h_prev * rmask  # (B, H) h_{t-1} seen by W_h
    a = x_t @ W_x + b_x  # (B, 3H) input side
    u = hr @ W_h + b_h  # (B, 3H) recurrent side
    z = sigmoid(a[:, :H] + u[:, :H])  # update gate
    r = sigmoid(a[:, H : 2 * H] + u[:, H : 2 * H])  # reset gate
    u_n = u[:, 2 * H :]
    n = np.tanh(a[:, 2 * H :] + r * u_n)  # candidate
    h = (1 - z) * n + z * h_prev  # h_t = (1−z) ⊙ n + z ⊙ h_{t-1}
    if m_t is not None:  # masked step: carry h
        m = m_t[:, None]
        h = m * h + (1 - m) * h_prev
    cache = (x_t, h_prev, hr, z, r, n, u_n, m_t, rmask)
    return h, cache


def gru_step_backward(dh, cache, W_x, W_h):
    """Backward through one step: returns dx_t, dh_{t-1}, dW_x, dW_h, db_x, db_h."""
    x_t, h_prev, hr, z, r, n, u_n, m_t, rmask = cache
    if m_t is not None:  # the carried part goes straight to t-1
        m = m_t[:, None]
        dh_carry = (1 - m) * dh
        dh = m * dh
    dn = dh * (1 - z)
    dz = dh * (h_prev - n)
    dA_n = dn * (1 - n * n)
    dA_r = dA_n * u_n * r * (1 - r)
    dA_z = dz * z * (1 - z)
    da = np.concatenate([dA_z, dA_r, dA_n], axis=1)  # (B, 3H) input side
    du = np.concatenate([dA_z, dA_r, dA_n * r], axis=1)  # (B, 3H) recurrent side
    dh_rec = du @ W_h.T
    if rmask is not None:
        dh_rec = dh_rec * rmask
    dh_prev = dh * z + dh_rec
    if m_t is not None:
        dh_prev = dh_prev + dh_carry
    return da @ W_x.T, dh_prev, x_t.T @ da, hr.T @ du, da.sum(axis=0), du.sum(axis=0)


def gru_reference_forward(x, W_x, W_h, b_x, b_h, h0=None, mask=None, rmask=None):
    """Step by step over x (T, B, D). Returns hs (T, B, H), h_T and the per-step caches."""
    T, B, _ = x.shape
    h = np.zeros((B, W_h.shape[0]), x.dtype) if h0 is None else h0
    hs, caches = [], []
    for t in range(T):
        h, cache = gru_step_forward(
            x[t], h, W_x, W_h, b_x, b_h, None if mask is None else mask[t], rmask
        )
        hs.append(h)
        caches.append(cache)
    return np.stack(hs), h, caches


def gru_reference_backward(dhs, dh_T, caches, W_x, W_h):
    """BPTT step by step. Returns dx, dh0, dW_x, dW_h, db_x, db_h."""
    dh = dh_T.copy()
    dW_x, dW_h = np.zeros_like(W_x), np.zeros_like(W_h)
    db_x, db_h = np.zeros(W_h.shape[1], W_h.dtype), np.zeros(W_h.shape[1], W_h.dtype)
    dx = []
    for t in reversed(range(len(caches))):
        dh = dh + dhs[t]  # dh_t += dy_t
        dx_t, dh, gWx, gWh, gbx, gbh = gru_step_backward(dh, caches[t], W_x, W_h)
        dW_x += gWx
        dW_h += gWh
        db_x += gbx
        db_h += gbh
        dx.append(dx_t)
    return np.stack(dx[::-1]), dh, dW_x, dW_h, db_x, db_h


# ---------------------------------------------------------------- the fast path
@dataclass
class GRUCache:
    """What the fast backward needs from the fast forward (time-major)."""

    x: np.ndarray  # (T, B, D) input
    act: np.ndarray | None  # (T, B, 3H) activations z, r, n (None: consumed)
    u_n: np.ndarray  # (T, B, H) h_{t-1} · W_hn + b_hn
    hs: np.ndarray  # (T+1, B, H) h_0 … h_T
    mask: np.ndarray | None  # (T, B) or None
    rmask: np.ndarray | None  # (B, H) or None


def gru_forward(x, W_x, W_h, b_x, b_h, h0=None, mask=None, rmask=None, need_cache=True, frozen=0):
    """Forward over x (T, B, D). Returns ``hs`` (T, B, H), ``h_T`` and the cache (None
    when ``need_cache=False``). ``frozen``: as in :func:`lstmkit.core.lstm.lstm_forward`."""
    T, B, D = x.shape
    H = W_h.shape[0]
    dt = x.dtype
    ext = gates.gru_packed_loop(dt, B, H, inference=not need_cache)
    if ext is not None:
        return _packed_forward(ext, x, W_x, W_h, b_x, b_h, h0, mask, rmask, need_cache, frozen)
    x = np.ascontiguousarray(x)  # (a strided view only for the packed loop)
    # a_t = x_t · W_x + b_x for every t at once; becomes the activations z, r, n in place.
    # b_hz, b_hr sit outside r ⊙ (…), so they are added here once, not at every step.
    act = np.empty((T, B, 3 * H), dt)  # pre-activations, then z, r, n
    np.matmul(x.reshape(T * B, D), W_x, out=act.reshape(T * B, 3 * H))
    act += b_x
    act[:, :, : 2 * H] += b_h[: 2 * H]
    b_hn = b_h[2 * H :]
    hs = np.empty((T + 1, B, H), dt)  # h_0 … h_T
    hs[0] = 0 if h0 is None else h0
    u_n = np.empty((T if need_cache else 1, B, H), dt)  # r is applied to this
    u = np.empty((B, 3 * H), dt)  # h_{t-1} · W_h
    hr = np.empty((B, H), dt) if rmask is not None else None
    for t in range(T):
        h_prev, h_t, a = hs[t], hs[t + 1], act[t]
        if hr is not None:  # (made exactly when rmask is given)
            np.multiply(h_prev, rmask, out=hr)
            np.matmul(hr, W_h, out=u)
        else:
            np.matmul(h_prev, W_h, out=u)
        zr, n = a[:, : 2 * H], a[:, 2 * H :]
        zr += u[:, : 2 * H]
        sigmoid(zr, out=zr)  # z, r = σ(a + u)
        un = u_n[t if need_cache else 0]
        np.add(u[:, 2 * H :], b_hn, out=un)  # u_n = h_{t-1} · W_hn + b_hn
        np.multiply(a[:, H : 2 * H], un, out=h_t)  # r ⊙ u_n (h_t as scratch)
        n += h_t
        np.tanh(n, out=n)  # n = tanh(a_n + r ⊙ u_n)
        np.subtract(h_prev, n, out=h_t)  # h_t = n + z ⊙ (h_{t-1} − n)
        h_t *= a[:, :H]
        h_t += n
        if mask is not None:
            keep = mask[t] == 0  # masked rows carry h
            if keep.any():
                h_t[keep] = h_prev[keep]
    h_T = hs[T].copy()
    cache = GRUCache(x, act, u_n, hs, mask, rmask) if need_cache else None
    return hs[1:], h_T, cache


def gru_backward(dhs, dh_T, cache: GRUCache, W_x, W_h, need_dx=True, consume=False, out=None):
    """BPTT over the whole sequence. ``dhs`` (T, B, H) or None, ``dh_T`` (B, H) or None.
    Returns dx (T, B, D) (None if not needed), dh_0, dW_x, dW_h, db_x, db_h.

    Memory: du_t = [dA_z, dA_r, dA_n ⊙ r] shares its first 2H columns with da_t, so only
    its last H are kept (``du_n``). ``consume=True`` writes da_t over the cached gates
    z, r, n of step t once they are read (the layer passes it and drops the cache after
    backward; the cache is spent). ``out=(dW_x, dW_h)``: arrays to write the weight
    gradients into (the layer's gradient buffers), when they fit.
    """
    x, act, u_n, hs = cache.x, cache.act, cache.u_n, cache.hs
    if act is None:
        raise RuntimeError("gru_backward: this cache was consumed by an earlier backward")
    T, B, D = x.shape
    H = W_h.shape[0]
    dt = x.dtype
    ext = gates.gru_packed_loop(dt, B, H)
    if ext is not None:
        return _packed_backward(ext, dhs, dh_T, cache, W_x, W_h, need_dx, consume, out)
    if consume:
        da = act  # da_t over z, r, n of step t
        cache.act = None
    else:
        da = np.empty((T, B, 3 * H), dt)  # dL/da_t (input side)
    du_n = np.empty((T, B, H), dt)  # dA_n ⊙ r, du_t's last H columns
    du = np.empty((B, 3 * H), dt)  # du_t of this step
    dh = np.zeros((B, H), dt) if dh_T is None else np.array(dh_T, dt)
    dh_rec = np.empty((B, H), dt)
    w = np.empty((B, H), dt)  # scratch
    z, r, n = (np.empty((B, H), dt) for _ in range(3))  # this step's gates (da may be act)
    W_hT = np.ascontiguousarray(W_h.T)  # (3H, H), once per call
    for t in range(T - 1, -1, -1):
        if dhs is not None:
            dh += dhs[t]  # dh_t += dy_t
        np.copyto(z, act[t, :, :H])
        np.copyto(r, act[t, :, H : 2 * H])
        np.copyto(n, act[t, :, 2 * H :])
        dA_z, dA_r, dA_n = da[t, :, :H], da[t, :, H : 2 * H], da[t, :, 2 * H :]
        carry = None
        if cache.mask is not None:
            m = cache.mask[t][:, None]
            carry = dh * (1 - m)  # masked rows: dh passes through
            dh *= m
        np.subtract(hs[t], n, out=dA_z)  # dz = dh ⊙ (h_{t-1} − n)
        dA_z *= dh
        np.subtract(1, z, out=w)  # dA_z = dz ⊙ z(1−z)
        w *= z
        dA_z *= w
        np.multiply(n, n, out=w)  # dA_n = dn ⊙ (1−n²),
        np.subtract(1, w, out=w)
        np.subtract(1, z, out=dA_n)  #   dn = dh ⊙ (1−z)
        dA_n *= dh
        dA_n *= w
        np.multiply(dA_n, u_n[t], out=dA_r)  # dA_r = dA_n ⊙ u_n ⊙ r(1−r)
        np.subtract(1, r, out=w)
        w *= r
        dA_r *= w
        du[:, : 2 * H] = da[t, :, : 2 * H]  # du = [dA_z, dA_r, dA_n ⊙ r]
        np.multiply(dA_n, r, out=du[:, 2 * H :])
        du_n[t] = du[:, 2 * H :]
        np.matmul(du, W_hT, out=dh_rec)  # du · W_hᵀ
        if cache.rmask is not None:
            dh_rec *= cache.rmask
        dh *= z  # dh_{t-1} = dh ⊙ z + du · W_hᵀ
        dh += dh_rec
        if carry is not None:
            dh += carry
    dx, dW_x, dW_h, db_x, db_h = _weight_grads(x, hs, da, du_n, cache.rmask, W_x, need_dx, out)
    return dx, dh, dW_x, dW_h, db_x, db_h


def _weight_grads(x, hs, da, du_n, rmask, W_x, need_dx, out, db_x=None, db_hn=None, dx=None):
    """The big GEMMs after the loop: dW_x = Σ x_tᵀ da_t, dW_h = Σ h_{t-1}ᵀ du_t, the biases
    (unless the loop summed them) and dx = da·W_xᵀ (unless the loop computed it)."""
    T, B, D = x.shape
    H = hs.shape[2]
    dt = x.dtype
    da2, dun2 = da.reshape(T * B, 3 * H), du_n.reshape(T * B, H)
    x2 = x.reshape(T * B, D)
    h_in = hs[:T] if rmask is None else hs[:T] * rmask
    h2 = h_in.reshape(T * B, H)
    dW_x = gates.output_array(out, 0, (D, 3 * H), dt)
    dW_h = gates.output_array(out, 1, (H, 3 * H), dt)
    wg = gates.weight_grads_kernel(dt)
    if wg is not None:  # on our threads (see gates)
        wg(((x2, da2, dW_x), (h2, da2[:, : 2 * H], dW_h[:, : 2 * H]), (h2, dun2, dW_h[:, 2 * H :])))
    else:
        np.matmul(x2.T, da2, out=dW_x)  # Σ x_tᵀ da_t
        dW_h[:, : 2 * H] = h2.T @ da2[:, : 2 * H]  # Σ h_{t-1}ᵀ du_t
        dW_h[:, 2 * H :] = h2.T @ dun2
    if db_x is None:
        db_x = da2.sum(axis=0)
    db_h = np.concatenate([db_x[: 2 * H], dun2.sum(axis=0) if db_hn is None else db_hn])
    if need_dx and dx is None:
        dx = (da2 @ W_x.T).reshape(T, B, D)
    return dx, dW_x, dW_h, db_x, db_h


def _packed_forward(ext, x, W_x, W_h, b_x, b_h, h0, mask, rmask, need_cache, frozen=0):
    """gru_forward on the C packed loop: same outputs and cache as the NumPy loop."""
    T, B, D = x.shape
    H = W_h.shape[0]
    dt = x.dtype
    hs = workspace.empty((T + 1, B, H), dt)  # h_0 … h_T (the big arrays: see workspace)
    hs[0] = 0 if h0 is None else h0
    act = workspace.empty((T, B, 3 * H), dt) if need_cache else None  # z, r, n
    u_n = workspace.empty((T, B, H), dt) if need_cache else None  # h_{t-1} · W_hn + b_hn
    if mask is not None:
        mask = np.ascontiguousarray(mask, dtype=dt)
    ext.gru_forward(
        x=x if x.strides[2] == x.itemsize else np.ascontiguousarray(x),  # (rows gathered in C)
        W_x=np.ascontiguousarray(W_x, dtype=dt),
        W_h=np.ascontiguousarray(W_h, dtype=dt),
        b_x=np.ascontiguousarray(b_x, dtype=dt),
        b_h=np.ascontiguousarray(b_h, dtype=dt),
        hs=hs,
        act=act,
        u_n=u_n,
        mask=mask,
        rmask=None if rmask is None else np.ascontiguousarray(rmask, dtype=dt),
        frozen=frozen,
    )
    h_T = hs[T].copy()
    cache = GRUCache(x, act, u_n, hs, mask, rmask) if u_n is not None else None  # need_cache
    return hs[1:], h_T, cache


def _packed_backward(ext, dhs, dh_T, cache, W_x, W_h, need_dx, consume, out):
    """gru_backward on the C packed loop (da, du_n, db and dx summed step by step)."""
    x, act, hs = cache.x, cache.act, cache.hs
    T, B, D = x.shape
    H = W_h.shape[0]
    dt = x.dtype
    if consume:
        da = act  # da_t over z, r, n of step t
        cache.act = None
    else:
        da = workspace.empty((T, B, 3 * H), dt)
    du_n = workspace.empty((T, B, H), dt)  # dA_n ⊙ r
    dh = np.zeros((B, H), dt) if dh_T is None else np.array(dh_T, dt)
    db_x, db_hn = np.zeros(3 * H, dt), np.zeros(H, dt)
    dx = workspace.empty((T, B, D), dt) if need_dx else None
    ext.gru_backward(
        act=act,
        hs=hs,
        u_n=cache.u_n,
        W_h=np.ascontiguousarray(W_h, dtype=dt),
        dh=dh,
        da=da,
        du_n=du_n,
        dhs=None if dhs is None else np.ascontiguousarray(dhs, dtype=dt),
        mask=None if cache.mask is None else np.ascontiguousarray(cache.mask, dtype=dt),
        rmask=None if cache.rmask is None else np.ascontiguousarray(cache.rmask, dtype=dt),
        db_x=db_x,
        db_hn=db_hn,
        dx=dx,
        W_x=np.ascontiguousarray(W_x, dtype=dt) if need_dx else None,
    )
    dx, dW_x, dW_h, db_x, db_h = _weight_grads(
        x, hs, da, du_n, cache.rmask, W_x, need_dx, out, db_x, db_hn, dx
    )
    return dx, dh, dW_x, dW_h, db_x, db_h
