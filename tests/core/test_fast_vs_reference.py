"""The fast sequence kernels give the readable references' numbers (float64, ~1e-12).

LSTM (core/lstm.py vs core/reference.py), GRU and SimpleRNN (fast vs reference in
core/gru.py, core/rnn.py); with and without ``mask`` and ``rmask``, with and without
initial states and final-state gradients, and the inference path (no cache) too.
The LSTM is checked with the default kernels (compiled when built) and with the
NumPy ones (``LSTMKIT_NO_EXT=1``).
"""

import numpy as np
import pytest

from lstmkit.core import gru, lstm, reference, rnn

TOL = 1e-12


def close(name, fast, ref):
    err = float(np.max(np.abs(fast - ref)))
    assert err <= TOL, f"{name}: max |fast − reference| = {err:.3e}"


def draw(seed, G, with_mask, with_rmask):
    """Random shapes (T=1 and B=1 included), weights, inputs, mask, rmask, output grads."""
    rng = np.random.default_rng(seed)
    T, B, D, H = (
        int(rng.integers(1, 9)),
        int(rng.integers(1, 6)),
        int(rng.integers(1, 7)),
        int(rng.integers(1, 9)),
    )
    if seed == 0:
        T = B = 1
    x = rng.standard_normal((T, B, D))
    W_x = rng.uniform(-0.7, 0.7, (D, G * H))
    W_h = rng.uniform(-0.7, 0.7, (H, G * H))
    mask = (rng.random((T, B)) > 0.3).astype(np.float64) if with_mask else None
    rmask = rng.choice([0.0, 1.0 / 0.7], size=(B, H)) if with_rmask else None
    with_init = seed % 2 == 0
    h0 = rng.standard_normal((B, H)) if with_init else None
    c0 = rng.standard_normal((B, H)) if with_init else None
    dhs = rng.standard_normal((T, B, H))
    dh_T, dc_T = rng.standard_normal((B, H)), rng.standard_normal((B, H))
    return rng, x, W_x, W_h, h0, c0, mask, rmask, dhs, dh_T, dc_T


def _zeros_if_none(a, like):
    return np.zeros_like(like) if a is None else a


CASES = [(s, m, r) for s in range(6) for m in (False, True) for r in (False, True)]


@pytest.mark.parametrize("kernels", ["default", "numpy"])
@pytest.mark.parametrize("seed,with_mask,with_rmask", CASES)
def test_lstm_fast_equals_reference(seed, with_mask, with_rmask, kernels, monkeypatch):
    if kernels == "numpy":  # the NumPy step kernels even where a compiled one is built
        monkeypatch.setenv("LSTMKIT_NO_EXT", "1")
    rng, x, W_x, W_h, h0, c0, mask, rmask, dhs, dh_T, dc_T = draw(seed, 4, with_mask, with_rmask)
    b = rng.uniform(-0.5, 0.5, W_h.shape[1])
    hs, (h_T, c_T), cache = lstm.lstm_forward(x, W_x, W_h, b, h0, c0, mask, rmask)
    hs_r, (h_Tr, c_Tr), caches = reference.lstm_forward(x, W_x, W_h, b, h0, c0, mask, rmask)
    close("hs", hs, hs_r)
    close("h_T", h_T, h_Tr)
    close("c_T", c_T, c_Tr)
    hs_i, (h_Ti, c_Ti), none = lstm.lstm_forward(
        x, W_x, W_h, b, h0, c0, mask, rmask, need_cache=False
    )
    assert none is None
    close("inference hs", hs_i, hs_r)
    close("inference c_T", c_Ti, c_Tr)
    fast = lstm.lstm_backward(dhs, dh_T, dc_T, cache, W_x, W_h)
    ref = reference.lstm_backward(dhs, dh_T, dc_T, caches, W_x, W_h)
    for name, f, r in zip(("dx", "dh0", "dc0", "dW_x", "dW_h", "db"), fast, ref, strict=True):
        close(name, f, r)
    # None for "no gradient" means zeros
    fast0 = lstm.lstm_backward(None, None, None, cache, W_x, W_h)
    ref0 = reference.lstm_backward(
        np.zeros_like(dhs), np.zeros_like(dh_T), np.zeros_like(dc_T), caches, W_x, W_h
    )
    for name, f, r in zip(("dx", "dh0", "dc0", "dW_x", "dW_h", "db"), fast0, ref0, strict=True):
        close(f"{name} (no upstream gradient)", f, r)


@pytest.mark.parametrize("seed,with_mask,with_rmask", CASES)
def test_gru_fast_equals_reference(seed, with_mask, with_rmask):
    rng, x, W_x, W_h, h0, _, mask, rmask, dhs, dh_T, _ = draw(seed, 3, with_mask, with_rmask)
    b_x, b_h = rng.uniform(-0.5, 0.5, W_h.shape[1]), rng.uniform(-0.5, 0.5, W_h.shape[1])
    hs, h_T, cache = gru.gru_forward(x, W_x, W_h, b_x, b_h, h0, mask, rmask)
    hs_r, h_Tr, caches = gru.gru_reference_forward(x, W_x, W_h, b_x, b_h, h0, mask, rmask)
    close("hs", hs, hs_r)
    close("h_T", h_T, h_Tr)
    hs_i, h_Ti, none = gru.gru_forward(x, W_x, W_h, b_x, b_h, h0, mask, rmask, need_cache=False)
    assert none is None
    close("inference hs", hs_i, hs_r)
    fast = gru.gru_backward(dhs, dh_T, cache, W_x, W_h)
    ref = gru.gru_reference_backward(dhs, dh_T, caches, W_x, W_h)
    for name, f, r in zip(("dx", "dh0", "dW_x", "dW_h", "db_x", "db_h"), fast, ref, strict=True):
        close(name, f, r)
    fast0 = gru.gru_backward(dhs, None, cache, W_x, W_h, need_dx=False)
    ref0 = gru.gru_reference_backward(dhs, np.zeros_like(dh_T), caches, W_x, W_h)
    assert fast0[0] is None
    for name, f, r in zip(
        ("dh0", "dW_x", "dW_h", "db_x", "db_h"), fast0[1:], ref0[1:], strict=True
    ):
        close(f"{name} (no final-state gradient)", f, r)
    # consume=True (the layer's way): da over the cached gates, same numbers, cache spent
    outs = (np.full_like(W_x, np.nan), np.full_like(W_h, np.nan))
    spent = gru.gru_backward(dhs, dh_T, cache, W_x, W_h, consume=True, out=outs)
    assert spent[2] is outs[0] and spent[3] is outs[1]
    for name, s, f in zip(("dx", "dh0", "dW_x", "dW_h", "db_x", "db_h"), spent, fast, strict=True):
        np.testing.assert_array_equal(s, f, err_msg=f"consumed: {name}")
    assert cache.act is None
    with pytest.raises(RuntimeError, match="consumed"):
        gru.gru_backward(dhs, dh_T, cache, W_x, W_h)


@pytest.mark.parametrize("seed,with_mask,with_rmask", CASES)
def test_rnn_fast_equals_reference(seed, with_mask, with_rmask):
    rng, x, W_x, W_h, h0, _, mask, rmask, dhs, dh_T, _ = draw(seed, 1, with_mask, with_rmask)
    b = rng.uniform(-0.5, 0.5, W_h.shape[1])
    hs, h_T, cache = rnn.rnn_forward(x, W_x, W_h, b, h0, mask, rmask)
    hs_r, h_Tr, caches = rnn.rnn_reference_forward(x, W_x, W_h, b, h0, mask, rmask)
    close("hs", hs, hs_r)
    close("h_T", h_T, h_Tr)
    hs_i, h_Ti, none = rnn.rnn_forward(x, W_x, W_h, b, h0, mask, rmask, need_cache=False)
    assert none is None
    close("inference hs", hs_i, hs_r)
    fast = rnn.rnn_backward(dhs, dh_T, cache, W_x, W_h)
    ref = rnn.rnn_reference_backward(dhs, dh_T, caches, W_x, W_h)
    for name, f, r in zip(("dx", "dh0", "dW_x", "dW_h", "db"), fast, ref, strict=True):
        close(name, f, r)
    fast0 = rnn.rnn_backward(None, dh_T, cache, W_x, W_h)
    ref0 = rnn.rnn_reference_backward(np.zeros_like(dhs), dh_T, caches, W_x, W_h)
    for name, f, r in zip(("dx", "dh0", "dW_x", "dW_h", "db"), fast0, ref0, strict=True):
        close(f"{name} (final-state gradient only)", f, r)


@pytest.mark.parametrize("kind", ["lstm", "gru", "rnn"])
def test_fast_path_works_in_float32(kind):
    """float32 in, float32 out, within float32 rounding of the float64 reference."""
    rng, x, W_x, W_h, h0, c0, mask, rmask, dhs, dh_T, dc_T = draw(
        3, {"lstm": 4, "gru": 3, "rnn": 1}[kind], True, True
    )
    G = W_h.shape[1]
    b = rng.uniform(-0.5, 0.5, G)
    f32 = [
        None if a is None else a.astype(np.float32) for a in (x, W_x, W_h, b, h0, c0, mask, rmask)
    ]
    if kind == "lstm":
        hs32 = lstm.lstm_forward(*f32)[0]
        hs64 = reference.lstm_forward(x, W_x, W_h, b, h0, c0, mask, rmask)[0]
    elif kind == "gru":
        hs32 = gru.gru_forward(f32[0], f32[1], f32[2], f32[3], f32[3], f32[4], f32[6], f32[7])[0]
        hs64 = gru.gru_reference_forward(x, W_x, W_h, b, b, h0, mask, rmask)[0]
    else:
        hs32 = rnn.rnn_forward(f32[0], f32[1], f32[2], f32[3], f32[4], f32[6], f32[7])[0]
        hs64 = rnn.rnn_reference_forward(x, W_x, W_h, b, h0, mask, rmask)[0]
    assert hs32.dtype == np.float32
    assert float(np.max(np.abs(hs32 - hs64))) < 1e-5
