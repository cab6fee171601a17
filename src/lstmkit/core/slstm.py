"""The sLSTM cell of xLSTM (Beck et al. 2024): exponential gating with a normaliser
state n and a stabiliser state m, one step, forward and backward.

P = [W_x (D, 4H), W_h (H, 4H), b (4H,)], gate blocks i, f, g (the cell input,
the paper's z), o. States h, c, n, m, all (B, H)::

    z_t = x_t · W_x + h_{t-1} · W_h + b
    ĩ = z_i (log of the exponential input gate)   log f = log σ(z_f)   g = tanh(z_g)   o = σ(z_o)
    m_t = max(log f + m_{t-1}, ĩ)                  stabiliser: keeps the exponentials ≤ 1
    i' = exp(ĩ − m_t)        f' = exp(log f + m_{t-1} − m_t)
    c_t = f' ⊙ c_{t-1} + i' ⊙ g
    n_t = f' ⊙ n_{t-1} + i'
    h_t = o ⊙ c_t / n_t

Why no gradient flows through m: with C_t = e^{m_t} c_t and N_t = e^{m_t} n_t (the
unstabilised states), c_t / n_t = C_t / N_t — m only rescales c and n together,
so h does not depend on it and its derivative through m is exactly zero. The
backward step therefore treats m as a constant (as the xLSTM kernels do); the
finite-difference test confirms the result. (A loss placed directly on the
final c, n or m states would see this stop-gradient.)

One head (a full W_h); the paper's block-diagonal multi-head W_h is a
restriction of it. The forget gate is the sigmoid form (log f = log σ(z_f)).
"""

from __future__ import annotations

import numpy as np

from .activations import sigmoid

__all__ = ["slstm_step", "slstm_step_backward"]


def _log_sigmoid(z):
    return -np.logaddexp(0.0, -z)  # log σ(z), no overflow


def slstm_step(x_t, states, P, rmask, aux=None):
    W_x, W_h, b = P
    h_prev, c_prev, n_prev, m_prev = states
    H = c_prev.shape[1]
    hr = h_prev if rmask is None else h_prev * rmask
    z = x_t @ W_x + hr @ W_h + b  # (B, 4H)
    i_log = z[:, :H]  # ĩ
    f_log = _log_sigmoid(z[:, H : 2 * H])  # log f
    g, o = np.tanh(z[:, 2 * H : 3 * H]), sigmoid(z[:, 3 * H :])
    m = np.maximum(f_log + m_prev, i_log)  # stabiliser
    i = np.exp(i_log - m)  # i'
    f = np.exp(f_log + m_prev - m)  # f'
    c = f * c_prev + i * g
    n = f * n_prev + i
    h = o * c / n
    return [h, c, n, m], dict(
        x=x_t,
        hr=hr,
        c_prev=c_prev,
        n_prev=n_prev,
        c=c,
        n=n,
        i=i,
        f=f,
        g=g,
        o=o,
        sf=sigmoid(z[:, H : 2 * H]),
    )


def slstm_step_backward(d, k, P, G, rmask):
    W_x, W_h, _ = P
    dh, dc, dn, _dm = d  # m carries no gradient (see above)
    i, f, g, o, c, n = k["i"], k["f"], k["g"], k["o"], k["c"], k["n"]
    r = c / n
    dzo = dh * r * o * (1 - o)
    dc = dc + dh * o / n  # h = o ⊙ c / n
    dn = dn - dh * o * r / n
    di = dc * g + dn  # dL/di'
    df = dc * k["c_prev"] + dn * k["n_prev"]  # dL/df'
    dzi = di * i  # i' = exp(ĩ − m): ∂i'/∂ĩ = i'
    dzf = df * f * (1 - k["sf"])  # ∂f'/∂z_f = f' ⊙ (1 − σ(z_f))
    dzg = dc * i * (1 - g * g)
    dz = np.concatenate([dzi, dzf, dzg, dzo], axis=1)  # (B, 4H)
    G[0] += k["x"].T @ dz
    G[1] += k["hr"].T @ dz
    G[2] += dz.sum(0)
    dh_prev = dz @ W_h.T
    if rmask is not None:
        dh_prev = dh_prev * rmask
    return dz @ W_x.T, [dh_prev, dc * f, dn * f, np.zeros_like(dh)], dc
