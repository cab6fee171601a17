"""LSTM, GRU and SimpleRNN with any activation: the Keras arguments the fast kernels lack.

The fast paths (:mod:`.lstm`, :mod:`.gru`, :mod:`.rnn`) are written for Keras'
defaults, tanh and σ. A layer built with another ``activation`` (a, default tanh)
or ``recurrent_activation`` (ρ, default σ), or a ``GRU(reset_after=False)``, runs
these loops instead: one readable step at a time, forward and backward, with the
same masking (masked steps carry the states) and recurrent dropout ``rmask`` on
the h_{t-1} that enters W_h. Shapes as in the rest of core: time-major x (T, B, D).
Activations are named as in :mod:`.activations` (``activation_forward``)::

    LSTM       z = x_t·W_x + h_{t-1}·W_h + b;   i, f, o = ρ(z_i, z_f, z_o);  g = a(z_g)
               c_t = f ⊙ c_{t-1} + i ⊙ g;        h_t = o ⊙ a(c_t)
    GRU        x_z, x_r, x_n = x_t·W_x + b_x;    z = ρ(x_z + h·W_hz [+ b_hz]);  r likewise
      reset_after=True    n = a(x_n + r ⊙ (h_{t-1}·W_hn + b_hn))
      reset_after=False   n = a(x_n + (r ⊙ h_{t-1})·W_hn)          (one bias, b_h = 0)
               h_t = z ⊙ h_{t-1} + (1 − z) ⊙ n
    SimpleRNN  h_t = a(x_t·W_x + h_{t-1}·W_h + b)
"""

from __future__ import annotations

import numpy as np

from .activations import activation_backward as act_b
from .activations import activation_forward as act_f

__all__ = [
    "lstm_forward",
    "lstm_backward",
    "gru_forward",
    "gru_backward",
    "rnn_forward",
    "rnn_backward",
]


def _carry(m_t, new, old):
    """A masked step keeps the old state: m·new + (1 − m)·old."""
    if m_t is None:
        return new
    m = m_t[:, None]
    return m * new + (1 - m) * old


# ---------------------------------------------------------------------------- LSTM
def lstm_forward(x, W_x, W_h, b, act, ract, h0, c0, mask, rmask):
    """→ hs (T, B, H), [h_T, c_T], cache."""
    T, B, _ = x.shape
    H = W_h.shape[0]
    h = np.zeros((B, H), x.dtype) if h0 is None else h0
    c = np.zeros((B, H), x.dtype) if c0 is None else c0
    hs = np.empty((T, B, H), x.dtype)  # h_1 … h_T
    steps = []
    for t in range(T):
        hr = h if rmask is None else h * rmask  # (B, H) h_{t-1} seen by W_h
        z = x[t] @ W_x + hr @ W_h + b  # (B, 4H) pre-activations i, f, g, o
        zi, zf, zg, zo = (z[:, k * H : (k + 1) * H] for k in range(4))
        i, f, g, o = act_f(ract, zi), act_f(ract, zf), act_f(act, zg), act_f(ract, zo)
        c_new = f * c + i * g
        ac = act_f(act, c_new)  # a(c_t)
        h_new = o * ac
        m_t = None if mask is None else mask[t]
        steps.append((h, hr, c, z, i, f, g, o, c_new, ac, m_t))
        h, c = _carry(m_t, h_new, h), _carry(m_t, c_new, c)
        hs[t] = h
    return hs, [h, c], (x, steps, rmask, act, ract)


def lstm_backward(dhs, dh_T, dc_T, cache, W_x, W_h):
    """→ dx (T, B, D), [dh_0, dc_0], [dW_x, dW_h, db]."""
    x, steps, rmask, act, ract = cache
    T, B, _ = x.shape
    H = W_h.shape[0]
    dh = np.zeros((B, H), x.dtype) if dh_T is None else dh_T.copy()
    dc = np.zeros((B, H), x.dtype) if dc_T is None else dc_T.copy()
    dW_x, dW_h = np.zeros_like(W_x), np.zeros_like(W_h)
    db = np.zeros(4 * H, x.dtype)
    dx = np.empty_like(x)
    for t in reversed(range(T)):
        if dhs is not None:
            dh = dh + dhs[t]
        h_prev, hr, c_prev, z, i, f, g, o, c_new, ac, m_t = steps[t]
        dh_keep = dc_keep = 0.0
        if m_t is not None:  # the carried part goes straight to t − 1
            m = m_t[:, None]
            dh_keep, dc_keep = (1 - m) * dh, (1 - m) * dc
            dh, dc = m * dh, m * dc
        do = dh * ac
        dc = dc + act_b(act, c_new, ac, dh * o)  # through h_t = o ⊙ a(c_t)
        di, dg, df = dc * g, dc * i, dc * c_prev
        zi, zf, zg, zo = (z[:, k * H : (k + 1) * H] for k in range(4))
        dz = np.concatenate(
            [act_b(ract, zi, i, di), act_b(ract, zf, f, df), act_b(act, zg, g, dg)]
            + [act_b(ract, zo, o, do)],
            axis=1,
        )  # (B, 4H)
        dx[t] = dz @ W_x.T
        dW_x += x[t].T @ dz
        dW_h += hr.T @ dz
        db += dz.sum(axis=0)
        dh_rec = dz @ W_h.T
        if rmask is not None:
            dh_rec = dh_rec * rmask
        dh = dh_rec + dh_keep
        dc = dc * f + dc_keep
    return dx, [dh, dc], [dW_x, dW_h, db]


# ----------------------------------------------------------------------------- GRU
def gru_forward(x, W_x, W_h, b_x, b_h, act, ract, reset_after, h0, mask, rmask):
    """→ hs (T, B, H), [h_T], cache. b_h is ignored (zero) when not reset_after."""
    T, B, _ = x.shape
    H = W_h.shape[0]
    h = np.zeros((B, H), x.dtype) if h0 is None else h0
    hs = np.empty((T, B, H), x.dtype)
    steps = []
    for t in range(T):
        hr = h if rmask is None else h * rmask  # (B, H) h_{t-1} seen by W_h
        a_in = x[t] @ W_x + b_x  # (B, 3H) input side z, r, n
        if reset_after:
            u = hr @ W_h + b_h  # (B, 3H) recurrent side
        else:
            u = hr @ W_h[:, : 2 * H]  # (B, 2H) z, r only
        az, ar = a_in[:, :H] + u[:, :H], a_in[:, H : 2 * H] + u[:, H : 2 * H]
        z, r = act_f(ract, az), act_f(ract, ar)
        if reset_after:
            u_n = u[:, 2 * H :]
            an = a_in[:, 2 * H :] + r * u_n
        else:
            u_n = r * hr  # (B, H) what enters W_hn
            an = a_in[:, 2 * H :] + u_n @ W_h[:, 2 * H :]
        n = act_f(act, an)
        h_new = z * h + (1 - z) * n
        m_t = None if mask is None else mask[t]
        steps.append((h, hr, az, ar, an, z, r, n, u_n, m_t))
        h = _carry(m_t, h_new, h)
        hs[t] = h
    return hs, [h], (x, steps, rmask, act, ract, reset_after)


def gru_backward(dhs, dh_T, cache, W_x, W_h):
    """→ dx, [dh_0], [dW_x, dW_h, db_x, db_h] (db_h zero when not reset_after)."""
    x, steps, rmask, act, ract, reset_after = cache
    T, B, _ = x.shape
    H = W_h.shape[0]
    dh = np.zeros((B, H), x.dtype) if dh_T is None else dh_T.copy()
    dW_x, dW_h = np.zeros_like(W_x), np.zeros_like(W_h)
    db_x, db_h = np.zeros(3 * H, x.dtype), np.zeros(3 * H, x.dtype)
    dx = np.empty_like(x)
    for t in reversed(range(T)):
        if dhs is not None:
            dh = dh + dhs[t]
        h_prev, hr, az, ar, an, z, r, n, u_n, m_t = steps[t]
        dh_keep = 0.0
        if m_t is not None:
            m = m_t[:, None]
            dh_keep, dh = (1 - m) * dh, m * dh
        dA_n = act_b(act, an, n, dh * (1 - z))
        dA_z = act_b(ract, az, z, dh * (h_prev - n))
        dhr = np.zeros_like(hr)  # dL/d(h_{t-1} seen by W_h)
        if reset_after:
            dA_r = act_b(ract, ar, r, dA_n * u_n)
            du = np.concatenate([dA_z, dA_r, dA_n * r], axis=1)  # (B, 3H)
            dW_h += hr.T @ du
            db_h += du.sum(axis=0)
            dhr += du @ W_h.T
        else:
            W_hn = W_h[:, 2 * H :]
            d_un = dA_n @ W_hn.T  # dL/d(r ⊙ h)
            dA_r = act_b(ract, ar, r, d_un * hr)
            du = np.concatenate([dA_z, dA_r], axis=1)  # (B, 2H)
            dW_h[:, : 2 * H] += hr.T @ du
            dW_h[:, 2 * H :] += u_n.T @ dA_n
            dhr += du @ W_h[:, : 2 * H].T + d_un * r
        da = np.concatenate([dA_z, dA_r, dA_n], axis=1)  # (B, 3H) input side
        dx[t] = da @ W_x.T
        dW_x += x[t].T @ da
        db_x += da.sum(axis=0)
        if rmask is not None:
            dhr = dhr * rmask
        dh = dh * z + dhr + dh_keep
    return dx, [dh], [dW_x, dW_h, db_x, db_h]


# ----------------------------------------------------------------------- SimpleRNN
def rnn_forward(x, W_x, W_h, b, act, h0, mask, rmask):
    """→ hs (T, B, H), [h_T], cache."""
    T, B, _ = x.shape
    H = W_h.shape[0]
    h = np.zeros((B, H), x.dtype) if h0 is None else h0
    hs = np.empty((T, B, H), x.dtype)
    steps = []
    for t in range(T):
        hr = h if rmask is None else h * rmask
        z = x[t] @ W_x + hr @ W_h + b  # (B, H)
        h_new = act_f(act, z)
        m_t = None if mask is None else mask[t]
        steps.append((hr, z, h_new, m_t))
        h = _carry(m_t, h_new, h)
        hs[t] = h
    return hs, [h], (x, steps, rmask, act)


def rnn_backward(dhs, dh_T, cache, W_x, W_h):
    """→ dx, [dh_0], [dW_x, dW_h, db]."""
    x, steps, rmask, act = cache
    T, B, _ = x.shape
    H = W_h.shape[0]
    dh = np.zeros((B, H), x.dtype) if dh_T is None else dh_T.copy()
    dW_x, dW_h = np.zeros_like(W_x), np.zeros_like(W_h)
    db = np.zeros(H, x.dtype)
    dx = np.empty_like(x)
    for t in reversed(range(T)):
        if dhs is not None:
            dh = dh + dhs[t]
        hr, z, h_new, m_t = steps[t]
        dh_keep = 0.0
        if m_t is not None:
            m = m_t[:, None]
            dh_keep, dh = (1 - m) * dh, m * dh
        dz = act_b(act, z, h_new, dh)
        dx[t] = dz @ W_x.T
        dW_x += x[t].T @ dz
        dW_h += hr.T @ dz
        db += dz.sum(axis=0)
        dh_rec = dz @ W_h.T
        if rmask is not None:
            dh_rec = dh_rec * rmask
        dh = dh_rec + dh_keep
    return dx, [dh], [dW_x, dW_h, db]
