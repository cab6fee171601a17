"""Behaviour of the recurrent layers (LSTM, GRU, SimpleRNN, Bidirectional).

* stateful streaming in chunks == one pass over the whole sequence; reset_states;
* a masked, post-padded batch == each sequence run alone (forward and gradients),
  also with go_backwards and inside Bidirectional;
* float32 within 1e-5 of float64;
* dropout / recurrent_dropout: the analytic gradient with dropout on equals finite
  differences of the same forward with the same (seeded) masks; inference ignores dropout;
* clear errors for bad input; Keras weight shapes, config round trip, rebind.
"""

import numpy as np
import pytest

from lstmkit import GRU, LSTM, Bidirectional, Dense, SimpleRNN
from lstmkit.layers import LAYER_TYPES

KINDS = {"lstm": LSTM, "gru": GRU, "rnn": SimpleRNN}
GATES = {"lstm": 4, "gru": 3, "rnn": 1}


def make(kind, units=5, D=3, T=6, dtype="float64", seed=0, **kw):
    """A built layer whose biases are random and non-zero (the defaults are zeros)."""
    layer = KINDS[kind](units, dtype=dtype, seed=seed, **kw)
    layer.build((T, D))
    rng = np.random.default_rng(seed + 100)
    layer.set_weights([w + rng.uniform(-0.3, 0.3, w.shape) for w in layer.get_weights()])
    return layer


def wrap(kind, bidirectional, **kw):
    if not bidirectional:
        return make(kind, **kw)
    inner = KINDS[kind](5, dtype="float64", seed=0, **kw)
    bi = Bidirectional(inner)
    bi.build((6, 3))
    rng = np.random.default_rng(7)
    for half in (bi.forward_layer, bi.backward_layer):
        half.set_weights([w + rng.uniform(-0.3, 0.3, w.shape) for w in half.get_weights()])
    return bi


# ------------------------------------------------------------------ stateful
@pytest.mark.parametrize("kind", KINDS)
def test_stateful_chunks_equal_whole_sequence(kind):
    rng = np.random.default_rng(1)
    x = rng.standard_normal((2, 10, 3))
    whole = make(kind, return_sequences=True, return_state=True)
    y_all, *s_all = whole.forward(x)
    chunked = make(kind, return_sequences=True, return_state=True, stateful=True)
    outs = []
    for a, b in ((0, 3), (3, 7), (7, 10)):  # three uneven chunks
        y, *states = chunked.forward(x[:, a:b])
        outs.append(y)
    np.testing.assert_allclose(np.concatenate(outs, axis=1), y_all, atol=1e-12, rtol=0)
    for s, s_ref in zip(states, s_all, strict=True):
        np.testing.assert_allclose(s, s_ref, atol=1e-12, rtol=0)
    # without a reset the next chunk starts from the carried state; after one, from zeros
    y_carry = chunked.forward(x[:, :3])[0]
    assert np.max(np.abs(y_carry - y_all[:, :3])) > 1e-6
    chunked.reset_states()
    np.testing.assert_allclose(chunked.forward(x[:, :3])[0], y_all[:, :3], atol=1e-12, rtol=0)


@pytest.mark.parametrize("kind", KINDS)
def test_stateful_step_by_step_and_training_forward(kind):
    """One step at a time (T=1 calls, training=True so the backward cache is made) == whole."""
    rng = np.random.default_rng(2)
    x = rng.standard_normal((3, 5, 3))
    y_all = make(kind, return_sequences=True).forward(x)
    stream = make(kind, stateful=True)
    steps = [stream.forward(x[:, t : t + 1], training=True) for t in range(5)]
    np.testing.assert_allclose(np.stack(steps, axis=1), y_all, atol=1e-12, rtol=0)


# ---------------------------------------------------------------------- masks
LENGTHS = [6, 2, 4, 1]  # post-padded to T = 6


def _masked_batch(rng, D=3, T=6):
    x = rng.standard_normal((len(LENGTHS), T, D))
    mask = np.zeros((len(LENGTHS), T), bool)
    for b, L in enumerate(LENGTHS):
        mask[b, :L] = True
        x[b, L:] = 99.0  # padding must not leak in
    return x, mask


@pytest.mark.parametrize("return_sequences", [False, True], ids=["last", "sequences"])
@pytest.mark.parametrize("variant", ["plain", "go_backwards", "bidirectional"])
@pytest.mark.parametrize("kind", KINDS)
def test_masked_batch_equals_each_sequence_alone(kind, variant, return_sequences):
    rng = np.random.default_rng(3)
    x, mask = _masked_batch(rng)
    kw = dict(return_sequences=return_sequences, go_backwards=variant == "go_backwards")
    layer = wrap(kind, variant == "bidirectional", **kw)
    y = layer.forward(x, training=True, mask=mask)
    gy = rng.standard_normal(y.shape)
    rows = []  # where row b's valid outputs sit
    for L in LENGTHS:
        if not return_sequences:
            rows.append(slice(None))
        elif variant == "go_backwards":  # processing order: padding first
            rows.append(slice(6 - L, 6))
        else:
            rows.append(slice(0, L))
    if return_sequences:  # no gradient on padded outputs
        keep = np.zeros(y.shape[:2], bool)
        for b, sl in enumerate(rows):
            keep[b, sl] = True
        gy = gy * keep[:, :, None]
    dx = layer.backward(gy)
    grads = [g.copy() for g in layer.grads]
    sum_grads = [np.zeros_like(g) for g in grads]
    for b, L in enumerate(LENGTHS):
        y_b = layer.forward(x[b : b + 1, :L], training=True)
        np.testing.assert_allclose(y[b : b + 1, rows[b]], y_b, atol=1e-12, rtol=0)
        dx_b = layer.backward(gy[b : b + 1, rows[b]])
        np.testing.assert_allclose(dx[b : b + 1, :L], dx_b, atol=1e-12, rtol=0)
        assert not np.any(dx[b, L:]), "padding received a gradient"
        for acc, g in zip(sum_grads, layer.grads, strict=True):
            acc += g
    for g, g_ref in zip(grads, sum_grads, strict=True):  # batch gradient = Σ alone
        np.testing.assert_allclose(g, g_ref, atol=1e-11, rtol=0)
    if return_sequences and variant == "plain":
        # Keras semantics: a masked step repeats the last valid output
        for b, L in enumerate(LENGTHS):
            np.testing.assert_array_equal(y[b, L:], np.repeat(y[b, L - 1 : L], 6 - L, axis=0))


@pytest.mark.parametrize("kind", KINDS)
def test_compute_mask_follows_output(kind):
    _, mask = _masked_batch(np.random.default_rng(0))
    assert make(kind).compute_mask(mask) is None
    np.testing.assert_array_equal(make(kind, return_sequences=True).compute_mask(mask), mask)
    back = make(kind, return_sequences=True, go_backwards=True)
    np.testing.assert_array_equal(back.compute_mask(mask), mask[:, ::-1])


# -------------------------------------------------------------------- float32
@pytest.mark.parametrize("bidirectional", [False, True], ids=["single", "bidirectional"])
@pytest.mark.parametrize("kind", KINDS)
def test_float32_within_1e5_of_float64(kind, bidirectional):
    rng = np.random.default_rng(4)
    x, mask = _masked_batch(rng)
    x[~mask] = 0.0
    l64 = wrap(kind, bidirectional, return_sequences=True, return_state=True)
    cfg = l64.get_config() if not bidirectional else l64.forward_layer.get_config()
    cfg["dtype"] = "float32"
    l32 = KINDS[kind].from_config(cfg)
    l32 = Bidirectional(l32) if bidirectional else l32
    l32.build((6, 3))
    l32.set_weights(l64.get_weights())
    y64, *s64 = l64.forward(x, training=True, mask=mask)
    y32, *s32 = l32.forward(x.astype(np.float32), training=True, mask=mask)
    assert y32.dtype == np.float32 and all(p.dtype == np.float32 for p in l32.params)
    for a, b in zip([y32, *s32], [y64, *s64], strict=True):
        assert np.max(np.abs(a - b)) < 1e-5
    gy = rng.standard_normal(y64.shape)
    dx64, dx32 = l64.backward(gy), l32.backward(gy.astype(np.float32))
    assert dx32.dtype == np.float32
    for a, b in zip([dx32, *l32.grads], [dx64, *l64.grads], strict=True):
        assert np.max(np.abs(a - b)) < 1e-5 * max(1.0, float(np.max(np.abs(b))))


# -------------------------------------------------------------------- dropout
def _loss_and_grads(layer, x, gy, gs, seed, training=True):
    """L = Σ y⊙gy + Σ states⊙gs with the layer's rng reset so the dropout masks repeat."""
    for lay in getattr(layer, "forward_layer", None), getattr(layer, "backward_layer", None), layer:
        if lay is not None:
            lay.rng = np.random.default_rng(seed)
    y, *states = layer.forward(x, training=training)
    return (
        float(np.sum(y * gy) + sum(np.sum(s * g) for s, g in zip(states, gs, strict=False))),
        y,
        states,
    )


@pytest.mark.parametrize(
    "merge",
    ["concat", "sum", "mul", "ave", None],
    ids=["bi-concat", "bi-sum", "bi-mul", "bi-ave", "single"],
)
@pytest.mark.parametrize("kind", KINDS)
def test_dropout_gradient_matches_finite_differences(kind, merge):
    rng = np.random.default_rng(5)
    kw = dict(units=3, return_sequences=True, return_state=True, dropout=0.4, recurrent_dropout=0.3)
    if merge is None:
        layer = make(kind, D=2, T=4, **kw)
    else:
        layer = Bidirectional(KINDS[kind](dtype="float64", seed=1, **kw), merge_mode=merge)
        layer.build((4, 2))
    x = rng.standard_normal((2, 4, 2))
    _, y, states = _loss_and_grads(layer, x, 0, [0] * 4, seed=11)
    gy = rng.standard_normal(y.shape)
    gs = [rng.standard_normal(s.shape) for s in states]
    _loss_and_grads(layer, x, gy, gs, seed=11)
    dx = layer.backward((gy, *gs))
    analytic = [dx] + [g.copy() for g in layer.grads]
    eps = 1e-6
    for target, a in zip([x] + list(layer.params), analytic, strict=True):
        num = np.zeros_like(target)
        for k in np.ndindex(target.shape):
            old = target[k]
            target[k] = old + eps
            up = _loss_and_grads(layer, x, gy, gs, seed=11)[0]
            target[k] = old - eps
            down = _loss_and_grads(layer, x, gy, gs, seed=11)[0]
            target[k] = old
            num[k] = (up - down) / (2 * eps)
        assert np.max(np.abs(a - num)) < 1e-7 * max(1.0, float(np.max(np.abs(num))))
    # dropout was really on: the training output differs from inference
    y_inf = layer.forward(x, training=False)[0]
    assert np.max(np.abs(y - y_inf)) > 1e-3


@pytest.mark.parametrize("kind", KINDS)
def test_inference_ignores_dropout(kind):
    x = np.random.default_rng(6).standard_normal((3, 6, 3))
    with_drop = make(kind, return_sequences=True, dropout=0.5, recurrent_dropout=0.5)
    without = make(kind, return_sequences=True)
    np.testing.assert_array_equal(with_drop.forward(x, training=False), without.forward(x))
    a, b = with_drop.forward(x, training=True), with_drop.forward(x, training=True)
    assert np.max(np.abs(a - b)) > 1e-6  # a fresh mask per training call


# --------------------------------------------------------------------- errors
@pytest.mark.parametrize("kind", KINDS)
def test_bad_input_errors_say_expected_and_got(kind):
    name = KINDS[kind].__name__
    fresh = KINDS[kind](4)
    with pytest.raises(
        ValueError,
        match=rf"^{name} expected input of shape "
        r"\(batch, time, features\), got \(32, 3\)$",
    ):
        fresh.forward(np.zeros((32, 3)))
    layer = KINDS[kind](4)
    layer.forward(np.zeros((2, 5, 3)))
    with pytest.raises(
        ValueError,
        match=rf"^{name} expected input of shape "
        r"\(batch, time, 3\), got \(32, 3\)$",
    ):
        layer.forward(np.zeros((32, 3)))
    with pytest.raises(ValueError, match=r"\(batch, time, 3\), got \(2, 5, 4\)"):
        layer.forward(np.zeros((2, 5, 4)))
    with pytest.raises(
        ValueError,
        match=r"expected mask of shape \(batch, time\) = \(2, 5\), "
        r"got \(5, 2\)",
    ):
        layer.forward(np.zeros((2, 5, 3)), mask=np.ones((5, 2)))
    n = layer.n_states
    with pytest.raises(ValueError, match=r"expected initial state of shape \(2, 4\), got \(4,\)"):
        layer.forward(np.zeros((2, 5, 3)), initial_state=[np.zeros(4)] * n)
    with pytest.raises(ValueError, match=rf"expected {n} initial state arrays, got {n + 1}"):
        layer.forward(np.zeros((2, 5, 3)), initial_state=[np.zeros((2, 4))] * (n + 1))
    x = np.zeros((2, 5, 3))
    x[1, 2, 0] = np.nan
    layer.forward(x)  # not checked unless asked
    checked = KINDS[kind](4, check_finite=True)
    with pytest.raises(
        ValueError,
        match=r"NaN or inf: expected finite values, got nan at "
        r"\(batch, time, feature\) = \(1, 2, 0\)",
    ):
        checked.forward(x)
    with pytest.raises(RuntimeError, match=r"backward needs a forward\(x, training=True\)"):
        layer.backward(np.zeros((2, 4)))
    with pytest.raises(ValueError, match=r"units must be a positive integer, got 0"):
        KINDS[kind](0)
    with pytest.raises(ValueError, match=r"recurrent_dropout must be in \[0, 1\), got 1.0"):
        KINDS[kind](3, recurrent_dropout=1.0)


# ----------------------------------------------- weights, config, registration
@pytest.mark.parametrize("kind", KINDS)
def test_keras_shapes_config_round_trip_and_rebind(kind):
    G, H, D, T = GATES[kind], 5, 3, 6
    layer = make(kind, return_sequences=True, dropout=0.1, check_finite=True)
    shapes = [w.shape for w in layer.get_weights()]
    bias = (2, 3 * H) if kind == "gru" else (G * H,)  # GRU: [input bias; recurrent bias]
    assert shapes == [(D, G * H), (H, G * H), bias]
    assert LAYER_TYPES[layer.type_name] is KINDS[kind]
    clone = LAYER_TYPES[layer.type_name].from_config(layer.get_config())
    assert clone.get_config() == layer.get_config()
    clone.build((T, D))
    clone.load_named_tensors(layer.named_tensors())  # PyTorch names round trip
    x = np.random.default_rng(8).standard_normal((2, T, D))
    np.testing.assert_array_equal(clone.forward(x), layer.forward(x))
    assert clone.compute_output_shape((T, D)) == clone.forward(x).shape[1:]
    # the model may move params/grads into flat buffers: the layer must follow
    flat_p, flat_g = np.zeros(layer.count_params()), np.zeros(layer.count_params())
    views_p, views_g, k = [], [], 0
    for p in layer.params:
        views_p.append(flat_p[k : k + p.size].reshape(p.shape))
        views_g.append(flat_g[k : k + p.size].reshape(p.shape))
        k += p.size
    y_before = layer.forward(x)
    layer.rebind(views_p, views_g)
    np.testing.assert_array_equal(layer.forward(x), y_before)
    layer.backward(np.ones_like(layer.forward(x, training=True)))
    assert all(np.shares_memory(g, flat_g) for g in layer.grads)
    assert np.all(flat_g != 0)  # every gradient landed in the buffer


@pytest.mark.parametrize("kind", KINDS)
def test_bidirectional_config_round_trip_and_states(kind):
    bi = wrap(kind, True, return_sequences=True, return_state=True)
    clone = Bidirectional.from_config(bi.get_config())
    assert type(clone.forward_layer) is KINDS[kind]
    clone.build((6, 3))
    clone.set_weights(bi.get_weights())
    x = np.random.default_rng(9).standard_normal((2, 6, 3))
    out, out2 = bi.forward(x, training=True), clone.forward(x)
    for a, b in zip(out, out2, strict=True):
        np.testing.assert_array_equal(a, b)
    assert len(out) == 1 + 2 * bi.forward_layer.n_states
    assert [o.shape[1:] for o in out] == [tuple(s) for s in bi.compute_output_shape((6, 3))]
    bi.backward((np.ones_like(out[0]), *[None] * (len(out) - 1)))
    assert len(bi.initial_state_grads) == 2 * bi.forward_layer.n_states


@pytest.mark.parametrize("kind", KINDS)
def test_bidirectional_bad_input_errors(kind):
    name = KINDS[kind].__name__
    bi = Bidirectional(KINDS[kind](4))
    with pytest.raises(
        ValueError,
        match=rf"^{name} expected input of shape "
        r"\(batch, time, features\), got \(32, 3\)$",
    ):
        bi.forward(np.zeros((32, 3)))
    bi.forward(np.zeros((2, 5, 3)))
    with pytest.raises(ValueError, match=r"\(batch, time, 3\), got \(2, 5, 7\)$"):
        bi.forward(np.zeros((2, 5, 7)))
    with pytest.raises(TypeError, match=r"expected a recurrent layer .* got Dense"):
        Bidirectional(Dense(3))
    with pytest.raises(ValueError, match=r"inner layer type in .*got 'Dense'"):
        Bidirectional.from_config(
            {
                "name": "b",
                "merge_mode": "concat",
                "layer": {"type": "Dense", "config": {"units": 3}},
            }
        )


def test_bidirectional_accepts_an_already_built_layer():
    inner = GRU(4, dtype="float64")
    inner.build((5, 3))
    bi = Bidirectional(inner)
    bi.build((5, 3))
    assert len(bi.params) == 6 and bi.forward_layer.params[0].shape == (3, 12)
