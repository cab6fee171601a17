"""Finite differences on the readable references (LSTM, GRU, SimpleRNN), float64.

The loss is L = Σ hs ⊙ G + Σ h_T ⊙ g_h (+ Σ c_T ⊙ g_c) with random G, g_h, g_c,
so every path a gradient can take (through the outputs and through the final
states) is exercised. Each argument (x, W_x, W_h, b, h0, c0) is perturbed element
by element with central differences, with and without ``mask`` and ``rmask``.
"""

import numpy as np
import pytest

from lstmkit.core import gru, reference, rnn

T, B, D, H = 4, 3, 3, 4
EPS = 1e-6
RTOL = 1e-7


def numerical_grad(loss, arr):
    """∂loss/∂arr by central differences, perturbing arr in place."""
    g = np.zeros_like(arr)
    for k in np.ndindex(arr.shape):
        old = arr[k]
        arr[k] = old + EPS
        up = loss()
        arr[k] = old - EPS
        down = loss()
        arr[k] = old
        g[k] = (up - down) / (2 * EPS)
    return g


def assert_grad(name, analytic, numeric):
    scale = max(1.0, float(np.max(np.abs(numeric))))
    err = float(np.max(np.abs(analytic - numeric))) / scale
    assert err < RTOL, f"d{name}: max relative error {err:.2e} (analytic vs finite difference)"


def extras(rng, with_mask, with_rmask):
    mask = None
    if with_mask:
        mask = (rng.random((T, B)) > 0.35).astype(np.float64)
        mask[0, 0] = 0.0  # a masked first step: carries h0, c0
        mask[:, 1] = [1, 1, 0, 0]  # a post-padded row
    rmask = rng.choice([0.0, 2.0], size=(B, H)) if with_rmask else None
    return mask, rmask


FLAGS = [(False, False), (True, False), (False, True), (True, True)]
IDS = ["plain", "mask", "rmask", "mask+rmask"]


@pytest.mark.parametrize("with_mask,with_rmask", FLAGS, ids=IDS)
def test_lstm_reference_gradients(with_mask, with_rmask):
    rng = np.random.default_rng(1)
    x = rng.standard_normal((T, B, D))
    W_x, W_h = rng.uniform(-0.8, 0.8, (D, 4 * H)), rng.uniform(-0.8, 0.8, (H, 4 * H))
    b = rng.uniform(-0.5, 0.5, 4 * H)
    h0, c0 = rng.standard_normal((B, H)), rng.standard_normal((B, H))
    G, g_h, g_c = (rng.standard_normal(s) for s in ((T, B, H), (B, H), (B, H)))
    mask, rmask = extras(rng, with_mask, with_rmask)

    def loss():
        hs, (h_T, c_T), _ = reference.lstm_forward(x, W_x, W_h, b, h0, c0, mask, rmask)
        return np.sum(hs * G) + np.sum(h_T * g_h) + np.sum(c_T * g_c)

    _, _, caches = reference.lstm_forward(x, W_x, W_h, b, h0, c0, mask, rmask)
    dx, dh0, dc0, dW_x, dW_h, db = reference.lstm_backward(G, g_h, g_c, caches, W_x, W_h)
    for name, a, arr in (
        ("x", dx, x),
        ("W_x", dW_x, W_x),
        ("W_h", dW_h, W_h),
        ("b", db, b),
        ("h0", dh0, h0),
        ("c0", dc0, c0),
    ):
        assert_grad(name, a, numerical_grad(loss, arr))


@pytest.mark.parametrize("with_mask,with_rmask", FLAGS, ids=IDS)
def test_gru_reference_gradients(with_mask, with_rmask):
    rng = np.random.default_rng(2)
    x = rng.standard_normal((T, B, D))
    W_x, W_h = rng.uniform(-0.8, 0.8, (D, 3 * H)), rng.uniform(-0.8, 0.8, (H, 3 * H))
    b_x, b_h = rng.uniform(-0.5, 0.5, 3 * H), rng.uniform(-0.5, 0.5, 3 * H)
    h0 = rng.standard_normal((B, H))
    G, g_h = rng.standard_normal((T, B, H)), rng.standard_normal((B, H))
    mask, rmask = extras(rng, with_mask, with_rmask)

    def loss():
        hs, h_T, _ = gru.gru_reference_forward(x, W_x, W_h, b_x, b_h, h0, mask, rmask)
        return np.sum(hs * G) + np.sum(h_T * g_h)

    _, _, caches = gru.gru_reference_forward(x, W_x, W_h, b_x, b_h, h0, mask, rmask)
    dx, dh0, dW_x, dW_h, db_x, db_h = gru.gru_reference_backward(G, g_h, caches, W_x, W_h)
    for name, a, arr in (
        ("x", dx, x),
        ("W_x", dW_x, W_x),
        ("W_h", dW_h, W_h),
        ("b_x", db_x, b_x),
        ("b_h", db_h, b_h),
        ("h0", dh0, h0),
    ):
        assert_grad(name, a, numerical_grad(loss, arr))


@pytest.mark.parametrize("with_mask,with_rmask", FLAGS, ids=IDS)
def test_rnn_reference_gradients(with_mask, with_rmask):
    rng = np.random.default_rng(3)
    x = rng.standard_normal((T, B, D))
    W_x, W_h = rng.uniform(-0.8, 0.8, (D, H)), rng.uniform(-0.8, 0.8, (H, H))
    b = rng.uniform(-0.5, 0.5, H)
    h0 = rng.standard_normal((B, H))
    G, g_h = rng.standard_normal((T, B, H)), rng.standard_normal((B, H))
    mask, rmask = extras(rng, with_mask, with_rmask)

    def loss():
        hs, h_T, _ = rnn.rnn_reference_forward(x, W_x, W_h, b, h0, mask, rmask)
        return np.sum(hs * G) + np.sum(h_T * g_h)

    _, _, caches = rnn.rnn_reference_forward(x, W_x, W_h, b, h0, mask, rmask)
    dx, dh0, dW_x, dW_h, db = rnn.rnn_reference_backward(G, g_h, caches, W_x, W_h)
    for name, a, arr in (
        ("x", dx, x),
        ("W_x", dW_x, W_x),
        ("W_h", dW_h, W_h),
        ("b", db, b),
        ("h0", dh0, h0),
    ):
        assert_grad(name, a, numerical_grad(loss, arr))


def test_gradcheck_catches_a_wrong_gradient():
    """The check itself can fail: a gradient off by 1e-5 in one element is refused."""
    rng = np.random.default_rng(4)
    W = rng.standard_normal((3, 2))

    def loss():
        return float(np.sum(np.tanh(W) ** 2))

    good = 2 * np.tanh(W) * (1 - np.tanh(W) ** 2)
    assert_grad("W", good, numerical_grad(loss, W))
    bad = good.copy()
    bad[1, 1] += 1e-5
    with pytest.raises(AssertionError):
        assert_grad("W", bad, numerical_grad(loss, W))
