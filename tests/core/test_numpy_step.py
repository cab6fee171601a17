"""The NumPy forward step on halved σ columns gives the plain step's result bit for bit."""

import numpy as np
import pytest

from lstmkit.core import gates


@pytest.mark.parametrize("dt", [np.float32, np.float64])
@pytest.mark.parametrize("masked", [False, True])
def test_halved_step_equals_plain_step(monkeypatch, dt, masked):
    monkeypatch.setenv("LSTMKIT_NO_EXT", "1")
    assert gates.numpy_step_halved(dt)
    rng = np.random.default_rng(7)
    B, D, H = 5, 3, 13  # H not a multiple of any vector width
    x, h_prev, c_prev = (rng.standard_normal((B, n)).astype(dt) for n in (D, H, H))
    W_x, W_h = (rng.standard_normal((n, 4 * H)).astype(dt) for n in (D, H))
    b = rng.standard_normal(4 * H).astype(dt)
    m_t = np.array([1, 0, 1, 1, 0], dt) if masked else None
    out = {}
    for halved in (False, True):
        Wx, Wh, bb = gates.halve_sigmoid_columns(W_x, W_h, b) if halved else (W_x, W_h, b)
        z = x @ Wx + bb  # (B, 4H)
        c_t, tc, h_t = (np.empty((B, H), dt) for _ in range(3))
        step = gates.lstm_step_kernel(dt, halved=halved)
        step(z, h_prev @ Wh, c_prev, c_t, tc, h_prev, h_t, m_t)
        out[halved] = (z, c_t, tc, h_t)
    for plain, half in zip(out[False], out[True], strict=True):
        np.testing.assert_array_equal(half, plain)
