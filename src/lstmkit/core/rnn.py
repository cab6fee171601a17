"""The simple (Elman) RNN: a readable one-step reference and a fast path.

The baseline the LSTM is compared with — PyTorch's ``nn.RNN(nonlinearity="tanh")``
and Keras' ``SimpleRNN``. Shapes: x_t (B, D), h (B, H), W_x (D, H), W_h (H, H), b (H,)::

    h_t = tanh(x_t · W_x + h_{t-1} · W_h + b)

Backward, one step, with dh = dL/dh_t::

    dz = dh ⊙ (1 − h_t²)
    dh_{t-1} = dz · W_hᵀ    dx_t = dz · W_xᵀ
    dW_x += x_tᵀ dz         dW_h += h_{t-1}ᵀ dz      db += Σ_batch dz

Same extras as the LSTM: ``mask`` (T, B) carries h through masked steps;
``rmask`` (B, H) is recurrent dropout on h_{t-1} before W_h.
Tensors of the sequence functions are time-major: x (T, B, D), hs (T, B, H).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

__all__ = [
    "rnn_step_forward",
    "rnn_step_backward",
    "rnn_reference_forward",
    "rnn_reference_backward",
    "RNNCache",
    "rnn_forward",
    "rnn_backward",
]


# ---------------------------------------------------------------- the reference
def rnn_step_forward(x_t, h_prev, W_x, W_h, b, m_t=None, rmask=None):
    """One step. Returns ``h_t`` and what the backward step needs."""
    hr = h_prev if rmask is None else h_prev * rmask  # (B, H) h_{t-1} seen by W_h
    a = np.tanh(x_t @ W_x + hr @ W_h + b)  # (B, H) h_t before masking
    h = a
    if m_t is not None:  # masked step: carry h
        m = m_t[:, None]
        h = m * a + (1 - m) * h_prev
    return h, (x_t, hr, a, m_t, rmask)


def rnn_step_backward(dh, cache, W_x, W_h):
    """Backward through one step: returns dx_t, dh_{t-1}, dW_x, dW_h, db."""
    x_t, hr, a, m_t, rmask = cache
    if m_t is not None:  # the carried part goes straight to t-1
        m = m_t[:, None]
        dh_carry = (1 - m) * dh
        dh = m * dh
    dz = dh * (1 - a * a)  # (B, H)
    dh_prev = dz @ W_h.T
    if rmask is not None:
        dh_prev = dh_prev * rmask
    if m_t is not None:
        dh_prev = dh_prev + dh_carry
    return dz @ W_x.T, dh_prev, x_t.T @ dz, hr.T @ dz, dz.sum(axis=0)


def rnn_reference_forward(x, W_x, W_h, b, h0=None, mask=None, rmask=None):
    """Step by step over x (T, B, D). Returns hs (T, B, H), h_T and the per-step caches."""
    T, B, _ = x.shape
    h = np.zeros((B, W_h.shape[0]), x.dtype) if h0 is None else h0
    hs, caches = [], []
    for t in range(T):
        h, cache = rnn_step_forward(x[t], h, W_x, W_h, b, None if mask is None else mask[t], rmask)
        hs.append(h)
        caches.append(cache)
    return np.stack(hs), h, caches


def rnn_reference_backward(dhs, dh_T, caches, W_x, W_h):
    """BPTT step by step. Returns dx, dh0, dW_x, dW_h, db."""
    dh = dh_T.copy()
    dW_x, dW_h = np.zeros_like(W_x), np.zeros_like(W_h)
    db = np.zeros(W_h.shape[1], W_h.dtype)
    dx = []
    for t in reversed(range(len(caches))):
        dh = dh + dhs[t]  # dh_t += dy_t
        dx_t, dh, gWx, gWh, gb = rnn_step_backward(dh, caches[t], W_x, W_h)
        dW_x += gWx
        dW_h += gWh
        db += gb
        dx.append(dx_t)
    return np.stack(dx[::-1]), dh, dW_x, dW_h, db


# ---------------------------------------------------------------- the fast path
@dataclass
class RNNCache:
    """What the fast backward needs from the fast forward (time-major)."""

    x: np.ndarray  # (T, B, D) input
    act: np.ndarray  # (T, B, H) tanh(z_t) before masking (a view of hs without mask)
    hs: np.ndarray  # (T+1, B, H) h_0 … h_T
    mask: np.ndarray | None  # (T, B) or None
    rmask: np.ndarray | None  # (B, H) or None


def rnn_forward(x, W_x, W_h, b, h0=None, mask=None, rmask=None, need_cache=True):
    """Forward over x (T, B, D). Returns ``hs`` (T, B, H), ``h_T`` and the cache (None
    when ``need_cache=False``)."""
    T, B, D = x.shape
    H = W_h.shape[0]
    dt = x.dtype
    hs = np.empty((T + 1, B, H), dt)  # h_0 … h_T
    hs[0] = 0 if h0 is None else h0
    # z_t = x_t · W_x + b for every t at once, written where h_t will go;
    # with a mask, tanh(z_t) needs its own buffer (masked rows of h_t differ)
    act = hs[1:] if mask is None else np.empty((T, B, H), dt)  # (T, B, H)
    np.matmul(x.reshape(T * B, D), W_x, out=act.reshape(T * B, H))
    act += b
    rec = np.empty((B, H), dt)  # h_{t-1} · W_h
    hr = np.empty((B, H), dt) if rmask is not None else None
    for t in range(T):
        h_prev = hs[t]
        if rmask is not None:
            assert hr is not None  # allocated with rmask
            np.multiply(h_prev, rmask, out=hr)
            np.matmul(hr, W_h, out=rec)
        else:
            np.matmul(h_prev, W_h, out=rec)
        a = act[t]
        a += rec
        np.tanh(a, out=a)  # tanh(x W_x + h W_h + b)
        if mask is not None:
            h_t = hs[t + 1]
            h_t[...] = a
            keep = mask[t] == 0  # masked rows carry h
            if keep.any():
                h_t[keep] = h_prev[keep]
    h_T = hs[T].copy()
    cache = RNNCache(x, act, hs, mask, rmask) if need_cache else None
    return hs[1:], h_T, cache


def rnn_backward(dhs, dh_T, cache: RNNCache, W_x, W_h, need_dx=True):
    """BPTT over the whole sequence. ``dhs`` (T, B, H) or None, ``dh_T`` (B, H) or None.
    Returns dx (T, B, D) (None if not needed), dh_0, dW_x, dW_h, db."""
    x, act, hs = cache.x, cache.act, cache.hs
    T, B, D = x.shape
    H = W_h.shape[0]
    dt = x.dtype
    dz = np.empty((T, B, H), dt)  # dL/dz_t for every t
    dh = np.zeros((B, H), dt) if dh_T is None else np.array(dh_T, dt)
    w = np.empty((B, H), dt)  # scratch
    W_hT = np.ascontiguousarray(W_h.T)  # (H, H), once per call
    for t in range(T - 1, -1, -1):
        if dhs is not None:
            dh += dhs[t]  # dh_t += dy_t
        carry = None
        if cache.mask is not None:
            m = cache.mask[t][:, None]
            carry = dh * (1 - m)  # masked rows: dh passes through
            dh *= m
        a = act[t]
        np.multiply(a, a, out=w)  # dz = dh ⊙ (1 − h_t²)
        np.subtract(1, w, out=w)
        np.multiply(dh, w, out=dz[t])
        np.matmul(dz[t], W_hT, out=dh)  # dh_{t-1} = dz · W_hᵀ
        if cache.rmask is not None:
            dh *= cache.rmask
        if carry is not None:
            dh += carry
    # the big GEMMs, after the loop
    dz2 = dz.reshape(T * B, H)
    dW_x = x.reshape(T * B, D).T @ dz2  # Σ x_tᵀ dz_t
    h_in = hs[:T] if cache.rmask is None else hs[:T] * cache.rmask
    dW_h = h_in.reshape(T * B, H).T @ dz2  # Σ h_{t-1}ᵀ dz_t
    db = dz2.sum(axis=0)  # Σ dz_t
    dx = (dz2 @ W_x.T).reshape(T, B, D) if need_dx else None
    return dx, dh, dW_x, dW_h, db
