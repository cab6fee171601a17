"""trace() reads the layer's own forward pass: the equations hold exactly, h is the output."""

import numpy as np
import pytest

from lstmkit.inspect import trace
from lstmkit.layers import LSTM, Bidirectional, Dense, Embedding


def _check_equations(tr, atol=0.0):
    c_prev = tr.c_prev
    np.testing.assert_allclose(tr.c, tr.f * c_prev + tr.i * tr.g, rtol=0, atol=atol or 1e-15)
    np.testing.assert_allclose(tr.h, tr.o * np.tanh(tr.c), rtol=0, atol=atol or 1e-15)


@pytest.mark.parametrize("go_backwards", [False, True])
def test_trace_equations_and_output(go_backwards):
    rng = np.random.default_rng(0)
    x = rng.standard_normal((3, 7, 4))
    layer = LSTM(5, return_sequences=True, go_backwards=go_backwards, dtype="float64", seed=1)
    layer.build((7, 4))
    layer.params[2][...] = rng.standard_normal(20)  # non-zero biases everywhere
    tr = trace(layer, x)
    assert tr.i.shape == tr.c.shape == tr.h.shape == (3, 7, 5)
    for k in "ifo":
        assert np.all((tr[k] > 0) & (tr[k] < 1))
    _check_equations(tr)
    y = layer.forward(x)  # inference output, processing order
    np.testing.assert_array_equal(tr.h, y[:, ::-1] if go_backwards else y)
    # exactness: the first step starts from zeros
    c0_step = 0 if not go_backwards else -1
    np.testing.assert_array_equal(tr.c[:, c0_step], (tr.i * tr.g)[:, c0_step])


def test_trace_does_not_change_the_layer():
    rng = np.random.default_rng(1)
    x = rng.standard_normal((2, 5, 3)).astype(np.float32)
    layer = LSTM(
        4, return_sequences=True, stateful=True, dropout=0.3, recurrent_dropout=0.2, seed=3
    )
    layer.forward(x)  # builds, sets states
    states = [s.copy() for s in layer.states]
    rng_state = layer.rng.bit_generator.state
    tr = trace(layer, x)
    _check_equations(tr, atol=1e-6)
    assert layer.dropout == 0.3 and layer.recurrent_dropout == 0.2
    assert layer._cache is None
    assert layer.rng.bit_generator.state == rng_state
    for a, b in zip(layer.states, states, strict=True):
        np.testing.assert_array_equal(a, b)
    # stateful: the trace started from the carried states
    np.testing.assert_array_equal(tr.c0, states[1])


def test_trace_mask_carries_states():
    rng = np.random.default_rng(2)
    x = rng.standard_normal((2, 6, 3))
    mask = np.ones((2, 6))
    mask[1, 3:] = 0
    layer = LSTM(4, return_sequences=True, dtype="float64", seed=0)
    tr = trace(layer, x, mask=mask)
    used = mask.astype(bool)
    np.testing.assert_allclose(tr.c[used], (tr.f * tr.c_prev + tr.i * tr.g)[used], atol=1e-15)
    np.testing.assert_array_equal(tr.c[1, 3:], np.broadcast_to(tr.c[1, 2], (3, 4)))
    np.testing.assert_array_equal(tr.h, layer.forward(x, mask=mask))


class _Model:  # the minimum trace needs from a model: .layers
    def __init__(self, layers):
        self.layers = layers


def test_trace_model_with_embedding_bidirectional_and_stack():
    rng = np.random.default_rng(3)
    ids = rng.integers(1, 10, (2, 8))
    ids[0, 6:] = 0  # padding
    emb = Embedding(10, 3, mask_zero=True, dtype="float64", seed=0)
    bi = Bidirectional(LSTM(4, return_sequences=True, dtype="float64", seed=1))
    top = LSTM(2, dtype="float64", seed=2, name="top")
    model = _Model([emb, bi, top, Dense(1, dtype="float64", seed=4)])
    out = trace(model, ids)
    assert list(out) == [f"{bi.name}/forward", f"{bi.name}/backward", "top"]
    used = ids != 0
    for tr in out.values():
        np.testing.assert_allclose(tr.c[used], (tr.f * tr.c_prev + tr.i * tr.g)[used], atol=1e-15)
        np.testing.assert_allclose(tr.h[used], (tr.o * np.tanh(tr.c))[used], atol=1e-15)
    # the Bidirectional halves are its output, position by position
    x = emb.forward(ids)
    y = bi.forward(x, mask=used)
    # (at the real steps: masked steps of a Bidirectional sequence output are 0, as in Keras)
    np.testing.assert_array_equal(out[f"{bi.name}/forward"].h[used], y[..., :4][used])
    np.testing.assert_array_equal(out[f"{bi.name}/backward"].h[used], y[..., 4:][used])
    assert not y[~used].any()
    np.testing.assert_array_equal(out["top"].h[:, -1], top.forward(y, mask=used))


def test_trace_refuses_non_lstm():
    with pytest.raises(TypeError, match="expected an LSTM layer"):
        trace(Dense(3), np.zeros((1, 2, 3)))
    with pytest.raises(ValueError, match="no LSTM layer"):
        trace(_Model([Dense(3)]), np.zeros((1, 2, 3)))


def test_trace_sequential_model_after_training():
    from lstmkit.model import Sequential
    from lstmkit.optim import Adam

    rng = np.random.default_rng(4)
    x = rng.standard_normal((6, 9, 2))
    model = Sequential(
        [
            LSTM(4, return_sequences=True, dtype="float64", seed=0),
            LSTM(3, dtype="float64", seed=1),
            Dense(1, dtype="float64", seed=2),
        ]
    )
    model.compile(Adam(1e-2), "mse")
    for _ in range(3):
        model.train_on_batch(x, rng.standard_normal((6, 1)))  # params now live in flat buffers
    out = trace(model, x)
    assert list(out) == [ly.name for ly in model.layers[:2]]
    for tr in out.values():
        _check_equations(tr)
    last = out[model.layers[1].name]
    np.testing.assert_allclose(
        model(x), last.h[:, -1] @ model.layers[2].params[0] + model.layers[2].params[1], rtol=1e-12
    )
