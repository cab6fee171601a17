"""Layer-normalised LSTM (Ba, Kiros & Hinton 2016), one step, forward and backward.

The two products are normalised separately over their 4H features (the bias b
plays the role of LN's shift), and the cell is normalised before the tanh::

    z_t = LN(x_t · W_x; γ_x) + LN(h_{t-1} · W_h; γ_h) + b
    i, f, o = σ(z_i, z_f, z_o);  g = tanh(z_g)
    c_t = f ⊙ c_{t-1} + i ⊙ g
    h_t = o ⊙ tanh(LN(c_t; γ_c, β_c))

with LN(a; γ, β) = γ ⊙ (a − mean(a)) / sqrt(var(a) + ε) + β over the last axis.
P = [W_x (D, 4H), W_h (H, 4H), b (4H,), γ_x (4H,), γ_h (4H,), γ_c (H,), β_c (H,)].
Step functions follow the protocol of :mod:`.variants` (same driver).
"""

from __future__ import annotations

import numpy as np

from .activations import sigmoid

__all__ = ["EPS", "layer_norm", "layer_norm_backward", "lnlstm_step", "lnlstm_step_backward"]

EPS = 1e-5


def layer_norm(a, gamma, beta=None):
    """(γ ⊙ â + β, â, 1/σ) with â = (a − μ)/σ over the last axis."""
    mu = a.mean(axis=-1, keepdims=True)
    inv = 1.0 / np.sqrt(a.var(axis=-1, keepdims=True) + EPS)
    ahat = (a - mu) * inv
    y = gamma * ahat
    return (y if beta is None else y + beta), ahat, inv


def layer_norm_backward(dy, gamma, ahat, inv):
    """dL/da and dL/dγ from dL/dy:  da = (1/σ)(dâ − mean(dâ) − â·mean(dâ ⊙ â)), dâ = dy ⊙ γ."""
    dahat = dy * gamma
    da = inv * (
        dahat - dahat.mean(-1, keepdims=True) - ahat * (dahat * ahat).mean(-1, keepdims=True)
    )
    return da, (dy * ahat).sum(0)


def lnlstm_step(x_t, states, P, rmask, aux=None):
    W_x, W_h, b, g_x, g_h, g_c, b_c = P
    h_prev, c_prev = states
    H = c_prev.shape[1]
    hr = h_prev if rmask is None else h_prev * rmask
    nx, ax_hat, ax_inv = layer_norm(x_t @ W_x, g_x)  # (B, 4H)
    nh, ah_hat, ah_inv = layer_norm(hr @ W_h, g_h)  # (B, 4H)
    z = nx + nh + b
    i, f = sigmoid(z[:, :H]), sigmoid(z[:, H : 2 * H])
    g, o = np.tanh(z[:, 2 * H : 3 * H]), sigmoid(z[:, 3 * H :])
    c = f * c_prev + i * g
    nc, c_hat, c_inv = layer_norm(c, g_c, b_c)  # (B, H)
    tc = np.tanh(nc)
    return [o * tc, c], dict(
        x=x_t,
        hr=hr,
        c_prev=c_prev,
        i=i,
        f=f,
        g=g,
        o=o,
        tc=tc,
        ax=(ax_hat, ax_inv),
        ah=(ah_hat, ah_inv),
        cn=(c_hat, c_inv),
    )


def lnlstm_step_backward(d, k, P, G, rmask):
    W_x, W_h, _, g_x, g_h, g_c, _ = P
    dh, dc = d
    i, f, g, o, tc = k["i"], k["f"], k["g"], k["o"], k["tc"]
    dnc = dh * o * (1 - tc * tc)  # dL/d LN(c)
    dc_ln, dg_c = layer_norm_backward(dnc, g_c, *k["cn"])
    G[5] += dg_c
    G[6] += dnc.sum(0)
    dc = dc + dc_ln
    dz = np.concatenate(
        [
            dc * g * i * (1 - i),
            dc * k["c_prev"] * f * (1 - f),
            dc * i * (1 - g * g),
            dh * tc * o * (1 - o),
        ],
        axis=1,
    )  # (B, 4H)
    G[2] += dz.sum(0)
    dax, dg_x = layer_norm_backward(dz, g_x, *k["ax"])  # through LN(x · W_x)
    dah, dg_h = layer_norm_backward(dz, g_h, *k["ah"])  # through LN(h · W_h)
    G[0] += k["x"].T @ dax
    G[1] += k["hr"].T @ dah
    G[3] += dg_x
    G[4] += dg_h
    dh_prev = dah @ W_h.T
    if rmask is not None:
        dh_prev = dh_prev * rmask
    return dax @ W_x.T, [dh_prev, dc * f], dc
