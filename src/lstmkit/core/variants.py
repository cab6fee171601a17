"""LSTM variants, written like the reference: one step at a time, forward and backward.

Every variant is a pair of step functions run by the same sequence driver
(:func:`run_forward`, :func:`run_backward`), which also handles what every
layer needs: ``mask`` (T, B) (masked steps carry all states unchanged) and
``rmask`` (B, ·) (recurrent dropout on h_{t-1} before W_h). Shapes: x_t (B, D),
h (B, H) (B, P for LSTMP), c (B, H); W_x (D, 4H), W_h (H, 4H), b (4H,), gate
order i, f, g, o as in the LSTM.

    step_forward(x_t, states, P, rmask, aux_t) -> (new_states, cache dict)
    step_backward(d_states, cache, P, G, rmask) -> (dx_t, d_prev_states, dc_t)

``G`` are the gradient arrays aligned with the parameters ``P`` (accumulated
into); ``dc_t`` is the total dL/dc_t (for :func:`lstmkit.inspect.gradient_flow`).
The caches hold the gates i, f, g, o as they enter ``c_t = f ⊙ c_{t-1} + i ⊙ g``.

This module: peephole, CIFG, zoneout and LSTMP (a projection, as
``torch.nn.LSTM(proj_size=…)``). Layer-normalised LSTM and sLSTM are in
:mod:`.lnlstm` and :mod:`.slstm`.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from .activations import sigmoid

__all__ = [
    "run_forward",
    "run_backward",
    "peephole_step",
    "peephole_step_backward",
    "cifg_step",
    "cifg_step_backward",
    "zoneout_step",
    "zoneout_step_backward",
    "lstmp_step",
    "lstmp_step_backward",
]


# --------------------------------------------------------------- the driver
def run_forward(step, x, P, states0, mask=None, rmask=None, aux=None):
    """x (T, B, D) → hs (T, B, ·), final states, caches (one per step) and every step's states."""
    states = list(states0)
    hs, caches, seq = [], [], []
    for t in range(x.shape[0]):
        new, cache = step(x[t], states, P, rmask, None if aux is None else aux[t])
        if mask is not None:  # masked rows carry every state
            m = mask[t][:, None]
            new = [m * a + (1 - m) * s for a, s in zip(new, states, strict=True)]
        hs.append(new[0])
        caches.append(cache)
        seq.append(new)
        states = new
    return np.stack(hs), states, (caches, seq, mask)


def run_backward(step_back, dhs, d_final, caches, P, rmask=None, record=None):
    """BPTT. ``d_final``: gradients on the final states (None = 0). Returns dx (T, B, D),
    gradients on the initial states and on the parameters. ``record`` (a list) receives
    (t, dL/dh_t, dL/dc_t) for every step."""
    caches, seq, mask = caches
    G = [np.zeros_like(p) for p in P]
    d = [
        np.zeros_like(s) if g is None else np.asarray(g, s.dtype)
        for s, g in zip(seq[-1], d_final, strict=True)
    ]
    dx: list[Any] = [None] * len(caches)  # dx_t (B, D), filled from t = T−1 down
    for t in range(len(caches) - 1, -1, -1):
        if dhs is not None:
            d[0] = d[0] + dhs[t]  # dh_t += dy_t
        dh_t = d[0]
        carry = None
        if mask is not None:  # the carried part skips the cell
            m = mask[t][:, None]
            carry = [(1 - m) * a for a in d]
            d = [m * a for a in d]
        dx[t], d, dc_t = step_back(d, caches[t], P, G, rmask)
        if carry is not None:
            d = [a + c for a, c in zip(d, carry, strict=True)]
            if dc_t is not None:
                dc_t = dc_t + carry[1]
        if record is not None:
            record.append((t, dh_t, dc_t))
    return np.stack(dx), d, G


def _rec(h_prev, rmask):
    return h_prev if rmask is None else h_prev * rmask  # h_{t-1} as seen by W_h


def _back_rec(dz, W_h, rmask):
    dh = dz @ W_h.T  # dh_{t-1} = dz · W_hᵀ
    return dh if rmask is None else dh * rmask


def _accumulate(G, x_t, hr, dz):
    G[0] += x_t.T @ dz  # dW_x += x_tᵀ dz
    G[1] += hr.T @ dz  # dW_h += h_{t-1}ᵀ dz
    G[2] += dz.sum(axis=0)  # db += Σ dz


# ------------------------------------------------------------- peephole LSTM
def peephole_step(x_t, states, P, rmask, aux=None):
    """Gers & Schmidhuber (2000): the gates also look at the cell. P = [W_x, W_h, b, w_p (3, H)]::

    i = σ(z_i + w_i ⊙ c_{t-1})   f = σ(z_f + w_f ⊙ c_{t-1})   g = tanh(z_g)
    c_t = f ⊙ c_{t-1} + i ⊙ g    o = σ(z_o + w_o ⊙ c_t)       h_t = o ⊙ tanh(c_t)
    """
    W_x, W_h, b, w_p = P
    h_prev, c_prev = states
    H = c_prev.shape[1]
    hr = _rec(h_prev, rmask)
    z = x_t @ W_x + hr @ W_h + b  # (B, 4H)
    i = sigmoid(z[:, :H] + w_p[0] * c_prev)
    f = sigmoid(z[:, H : 2 * H] + w_p[1] * c_prev)
    g = np.tanh(z[:, 2 * H : 3 * H])
    c = f * c_prev + i * g
    o = sigmoid(z[:, 3 * H :] + w_p[2] * c)
    tc = np.tanh(c)
    h = o * tc
    return [h, c], dict(x=x_t, hr=hr, c_prev=c_prev, c=c, i=i, f=f, g=g, o=o, tc=tc)


def peephole_step_backward(d, k, P, G, rmask):
    W_x, W_h, _, w_p = P
    dh, dc = d
    i, f, g, o, tc = k["i"], k["f"], k["g"], k["o"], k["tc"]
    dzo = dh * tc * o * (1 - o)
    dc = dc + dh * o * (1 - tc * tc) + dzo * w_p[2]  # through h and through o's peephole
    dzi = dc * g * i * (1 - i)
    dzf = dc * k["c_prev"] * f * (1 - f)
    dzg = dc * i * (1 - g * g)
    dc_prev = dc * f + dzi * w_p[0] + dzf * w_p[1]
    dz = np.concatenate([dzi, dzf, dzg, dzo], axis=1)  # (B, 4H)
    _accumulate(G, k["x"], k["hr"], dz)
    G[3][0] += (dzi * k["c_prev"]).sum(0)
    G[3][1] += (dzf * k["c_prev"]).sum(0)
    G[3][2] += (dzo * k["c"]).sum(0)
    return dz @ W_x.T, [_back_rec(dz, W_h, rmask), dc_prev], dc


# ----------------------------------------------- coupled input-forget gate
def cifg_step(x_t, states, P, rmask, aux=None):
    """Coupled input and forget gate (Greff et al. 2017): f = 1 − i; three gate blocks
    i, g, o. P = [W_x (D, 3H), W_h (H, 3H), b (3H,)]::

        c_t = (1 − i) ⊙ c_{t-1} + i ⊙ g    h_t = o ⊙ tanh(c_t)
    """
    W_x, W_h, b = P
    h_prev, c_prev = states
    H = c_prev.shape[1]
    hr = _rec(h_prev, rmask)
    z = x_t @ W_x + hr @ W_h + b  # (B, 3H) i, g, o
    i = sigmoid(z[:, :H])
    g = np.tanh(z[:, H : 2 * H])
    o = sigmoid(z[:, 2 * H :])
    f = 1 - i
    c = f * c_prev + i * g
    tc = np.tanh(c)
    return [o * tc, c], dict(x=x_t, hr=hr, c_prev=c_prev, i=i, f=f, g=g, o=o, tc=tc)


def cifg_step_backward(d, k, P, G, rmask):
    W_x, W_h, _ = P
    dh, dc = d
    i, g, o, tc = k["i"], k["g"], k["o"], k["tc"]
    dc = dc + dh * o * (1 - tc * tc)
    dzi = dc * (g - k["c_prev"]) * i * (1 - i)  # ∂c/∂i = g − c_{t-1}
    dzg = dc * i * (1 - g * g)
    dzo = dh * tc * o * (1 - o)
    dz = np.concatenate([dzi, dzg, dzo], axis=1)  # (B, 3H)
    _accumulate(G, k["x"], k["hr"], dz)
    return dz @ W_x.T, [_back_rec(dz, W_h, rmask), dc * k["f"]], dc


# ------------------------------------------------------------------- zoneout
def zoneout_step(x_t, states, P, rmask, aux):
    """Zoneout (Krueger et al. 2017): each unit keeps its previous value with a
    per-step mask. ``aux`` = (d_c, d_h), each (B, H) of 0/1 in training or the
    rates themselves at inference (the expectation)::

        c̃ = f ⊙ c_{t-1} + i ⊙ g                 c_t = d_c ⊙ c_{t-1} + (1 − d_c) ⊙ c̃
        h̃ = o ⊙ tanh(c̃)                         h_t = d_h ⊙ h_{t-1} + (1 − d_h) ⊙ h̃
    """
    W_x, W_h, b = P
    h_prev, c_prev = states
    d_c, d_h = aux
    H = c_prev.shape[1]
    hr = _rec(h_prev, rmask)
    z = x_t @ W_x + hr @ W_h + b
    i, f = sigmoid(z[:, :H]), sigmoid(z[:, H : 2 * H])
    g, o = np.tanh(z[:, 2 * H : 3 * H]), sigmoid(z[:, 3 * H :])
    c_new = f * c_prev + i * g
    tc = np.tanh(c_new)
    c = d_c * c_prev + (1 - d_c) * c_new
    h = d_h * h_prev + (1 - d_h) * (o * tc)
    return [h, c], dict(
        x=x_t, hr=hr, c_prev=c_prev, c_new=c_new, i=i, f=f, g=g, o=o, tc=tc, d_c=d_c, d_h=d_h
    )


def zoneout_step_backward(d, k, P, G, rmask):
    W_x, W_h, _ = P
    dh, dc = d
    i, f, g, o, tc, d_c, d_h = (k[n] for n in ("i", "f", "g", "o", "tc", "d_c", "d_h"))
    dht = (1 - d_h) * dh  # dL/dh̃
    dct = (1 - d_c) * dc + dht * o * (1 - tc * tc)  # dL/dc̃
    dz = np.concatenate(
        [
            dct * g * i * (1 - i),
            dct * k["c_prev"] * f * (1 - f),
            dct * i * (1 - g * g),
            dht * tc * o * (1 - o),
        ],
        axis=1,
    )
    _accumulate(G, k["x"], k["hr"], dz)
    dh_prev = d_h * dh + _back_rec(dz, W_h, rmask)
    return dz @ W_x.T, [dh_prev, d_c * dc + dct * f], dct  # recorded: dL/dc̃ (h reads c̃)


# ---------------------------------------------------------------------- LSTMP
def lstmp_step(x_t, states, P, rmask, aux=None):
    """LSTM with a projection (Sak et al. 2014; ``torch.nn.LSTM(proj_size=P)``):
    P = [W_x (D, 4H), W_h (P, 4H), b (4H,), W_hr (H, P)]::

        z_t = x_t · W_x + h_{t-1} · W_h + b      (h is P wide, c is H wide)
        c_t = f ⊙ c_{t-1} + i ⊙ g                h_t = (o ⊙ tanh(c_t)) · W_hr
    """
    W_x, W_h, b, W_hr = P
    h_prev, c_prev = states
    H = c_prev.shape[1]
    hr = _rec(h_prev, rmask)
    z = x_t @ W_x + hr @ W_h + b
    i, f = sigmoid(z[:, :H]), sigmoid(z[:, H : 2 * H])
    g, o = np.tanh(z[:, 2 * H : 3 * H]), sigmoid(z[:, 3 * H :])
    c = f * c_prev + i * g
    tc = np.tanh(c)
    u = o * tc  # (B, H) before the projection
    return [u @ W_hr, c], dict(x=x_t, hr=hr, c_prev=c_prev, i=i, f=f, g=g, o=o, tc=tc, u=u)


def lstmp_step_backward(d, k, P, G, rmask):
    W_x, W_h, _, W_hr = P
    dh, dc = d
    i, f, g, o, tc = k["i"], k["f"], k["g"], k["o"], k["tc"]
    G[3] += k["u"].T @ dh  # dW_hr += uᵀ dh
    du = dh @ W_hr.T  # (B, H)
    dc = dc + du * o * (1 - tc * tc)
    dz = np.concatenate(
        [
            dc * g * i * (1 - i),
            dc * k["c_prev"] * f * (1 - f),
            dc * i * (1 - g * g),
            du * tc * o * (1 - o),
        ],
        axis=1,
    )
    _accumulate(G, k["x"], k["hr"], dz)
    return dz @ W_x.T, [_back_rec(dz, W_h, rmask), dc * f], dc
