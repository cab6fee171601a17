"""The LSTM written to be read: one time step at a time, forward and backward.

This module is the specification. The fast path (:mod:`lstmkit.core.lstm`) is
tested against it, and it is tested against PyTorch and finite differences.
It is never optimised.

Shapes: x_t (B, D), h and c (B, H), W_x (D, 4H), W_h (H, 4H), b (4H,).
Gate order along the 4H axis: i, f, g, o (input, forget, candidate, output),
as in PyTorch and Keras.

Forward, one step (the seeds' ``f_t = σ(W_f·[h_{t-1}, x_t] + b_f)`` with the
concatenation split into two products)::

    z_t = x_t · W_x + h_{t-1} · W_h + b
    i_t = σ(z_i)   f_t = σ(z_f)   g_t = tanh(z_g)   o_t = σ(z_o)
    c_t = f_t ⊙ c_{t-1} + i_t ⊙ g_t
    h_t = o_t ⊙ tanh(c_t)

Backward, one step, with dh_t and dc_t arriving from step t+1 and from the loss::

    tc = tanh(c_t)
    do = dh_t ⊙ tc
    dc_t += dh_t ⊙ o_t ⊙ (1 − tc²)
    di = dc_t ⊙ g_t    dg = dc_t ⊙ i_t    df = dc_t ⊙ c_{t-1}    dc_{t-1} = dc_t ⊙ f_t
    dz = [di·i(1−i), df·f(1−f), dg·(1−g²), do·o(1−o)]
    dh_{t-1} = dz · W_hᵀ    dx_t = dz · W_xᵀ
    dW_x += x_tᵀ · dz       dW_h += h_{t-1}ᵀ · dz      db += Σ_batch dz

Two extras every layer needs:

* ``mask`` (T, B) of 0/1: where a step is masked, h and c are carried through
  unchanged (``h_t = h_{t-1}``, ``c_t = c_{t-1}``), as in Keras.
* ``rmask`` (B, H): recurrent dropout — ``h_{t-1}`` is multiplied by it before
  the recurrent product (the same mask at every step, Gal & Ghahramani 2016).
"""

from __future__ import annotations

import numpy as np

from .activations import sigmoid

__all__ = ["lstm_step_forward", "lstm_step_backward", "lstm_forward", "lstm_backward"]


def lstm_step_forward(x_t, h_prev, c_prev, W_x, W_h, b, m_t=None, rmask=None):
    """One LSTM step. Returns ``h_t, c_t`` and what the backward step needs."""
    H = h_prev.shape[1]
    hr = h_prev if rmask is None else h_prev * rmask  # (B, H) h_{t-1} seen by W_h
    z = x_t @ W_x + hr @ W_h + b  # (B, 4H) pre-activations
    i = sigmoid(z[:, 0 * H : 1 * H])  # input gate
    f = sigmoid(z[:, 1 * H : 2 * H])  # forget gate
    g = np.tanh(z[:, 2 * H : 3 * H])  # candidate cell
    o = sigmoid(z[:, 3 * H : 4 * H])  # output gate
    c = f * c_prev + i * g  # c_t = f ⊙ c_{t-1} + i ⊙ g
    tc = np.tanh(c)
    h = o * tc  # h_t = o ⊙ tanh(c_t)
    if m_t is not None:  # masked step: carry h, c
        m = m_t[:, None]
        h = m * h + (1 - m) * h_prev
        c = m * c + (1 - m) * c_prev
    cache = (x_t, h_prev, hr, c_prev, i, f, g, o, tc, m_t, rmask)
    return h, c, cache


def lstm_step_backward(dh, dc, cache, W_x, W_h):
    """Backward through one step: returns dx_t, dh_{t-1}, dc_{t-1}, dW_x, dW_h, db."""
    x_t, h_prev, hr, c_prev, i, f, g, o, tc, m_t, rmask = cache
    if m_t is not None:  # the carried part goes straight to t-1
        m = m_t[:, None]
        dh_carry, dc_carry = (1 - m) * dh, (1 - m) * dc
        dh, dc = m * dh, m * dc
    do = dh * tc
    dc = dc + dh * o * (1 - tc * tc)
    di = dc * g
    dg = dc * i
    df = dc * c_prev
    dc_prev = dc * f
    dz = np.concatenate(
        [di * i * (1 - i), df * f * (1 - f), dg * (1 - g * g), do * o * (1 - o)], axis=1
    )  # (B, 4H)
    dh_prev = dz @ W_h.T
    if rmask is not None:
        dh_prev = dh_prev * rmask
    dx_t = dz @ W_x.T
    dW_x = x_t.T @ dz
    dW_h = hr.T @ dz
    db = dz.sum(axis=0)
    if m_t is not None:
        dh_prev = dh_prev + dh_carry
        dc_prev = dc_prev + dc_carry
    return dx_t, dh_prev, dc_prev, dW_x, dW_h, db


def lstm_forward(x, W_x, W_h, b, h0=None, c0=None, mask=None, rmask=None):
    """Run the LSTM over a time-major sequence x (T, B, D).

    Returns ``hs`` (T, B, H), the final ``(h_T, c_T)`` and the per-step caches.
    """
    T, B, _ = x.shape
    H = W_h.shape[0]
    h = np.zeros((B, H), x.dtype) if h0 is None else h0
    c = np.zeros((B, H), x.dtype) if c0 is None else c0
    hs, caches = [], []
    for t in range(T):
        m_t = None if mask is None else mask[t]
        h, c, cache = lstm_step_forward(x[t], h, c, W_x, W_h, b, m_t, rmask)
        hs.append(h)
        caches.append(cache)
    return np.stack(hs), (h, c), caches


def lstm_backward(dhs, dh_T, dc_T, caches, W_x, W_h):
    """BPTT: gradients of the loss given dL/dh_t for every t (dhs, T×B×H) and
    dL/dh_T, dL/dc_T on the final state. Returns dx, dh0, dc0, dW_x, dW_h, db."""
    T = len(caches)
    dh, dc = dh_T.copy(), dc_T.copy()
    dW_x, dW_h = np.zeros_like(W_x), np.zeros_like(W_h)
    db = np.zeros(W_h.shape[1], W_h.dtype)
    dx = []
    for t in reversed(range(T)):
        dh = dh + dhs[t]  # dh_t += dy_t
        dx_t, dh, dc, gWx, gWh, gb = lstm_step_backward(dh, dc, caches[t], W_x, W_h)
        dW_x += gWx
        dW_h += gWh
        db += gb
        dx.append(dx_t)
    return np.stack(dx[::-1]), dh, dc, dW_x, dW_h, db
