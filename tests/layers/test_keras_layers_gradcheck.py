"""Finite differences (float64) for every layer and argument the Keras work added: the
generic cells (any activation, GRU reset_after=False, no bias), zero_output_for_mask,
Bidirectional merge_mode=None / backward_layer, Conv1D, pooling, LayerNormalization,
the merges, the shape layers, TimeDistributed, and the functional model's backward
(tensors read twice, initial_state routed to the encoder, several outputs)."""

import numpy as np
import pytest

import lstmkit as K
from lstmkit.training.data import Samples

L = K.layers
F64 = "float64"
RNG = np.random.default_rng(0)


def _outputs(y):
    return list(y) if isinstance(y, (list, tuple)) else [y]


def _loss(layer, x, dys, **kw):
    return sum(float((o * d).sum()) for o, d in zip(_outputs(layer.forward(x, **kw)), dys,
                                                        strict=True))  # fmt: skip


def _probe(a, rng, n=12):
    idx = [np.unravel_index(k, a.shape) for k in rng.choice(a.size, min(n, a.size), replace=False)]
    return idx


def gradcheck(layer, x, eps=1e-6, tol=1e-6, **kw):
    """∂(Σ y·dy)/∂x and ∂/∂θ by backward against central differences at random entries."""
    rng = np.random.default_rng(1)
    y = layer.forward(x, training=True, **kw)
    dys = [rng.standard_normal(np.shape(o)) for o in _outputs(y)]
    dx = layer.backward(tuple(dys) if isinstance(y, (list, tuple)) else dys[0])
    grads = [g.copy() for g in layer.grads]
    xs = x if isinstance(x, list) else [x]
    dxs = dx if isinstance(x, list) else [dx]
    for xi, dxi in zip(xs, dxs, strict=True):
        if dxi is None:
            continue
        for i in _probe(xi, rng):
            old = xi[i]
            xi[i] = old + eps
            up = _loss(layer, x, dys, **kw)
            xi[i] = old - eps
            down = _loss(layer, x, dys, **kw)
            xi[i] = old
            assert abs((up - down) / (2 * eps) - dxi[i]) < tol, ("dx", i)
    for p, g in zip(layer.params, grads, strict=True):
        for i in _probe(p, rng):
            old = p[i]
            p[i] = old + eps
            up = _loss(layer, x, dys, **kw)
            p[i] = old - eps
            down = _loss(layer, x, dys, **kw)
            p[i] = old
            assert abs((up - down) / (2 * eps) - g[i]) < tol, ("param", i)


def _x(*shape, scale=1.0):
    return RNG.standard_normal(shape) * scale


MASK = np.array([[1, 1, 1, 0, 0], [1, 1, 1, 1, 1], [1, 0, 0, 0, 0]], bool)

RECURRENT = {
    "lstm_relu": lambda: L.LSTM(4, activation="relu", return_sequences=True, dtype=F64),
    "lstm_elu_hard_sigmoid": lambda: L.LSTM(
        3, activation="elu", recurrent_activation="hard_sigmoid", dtype=F64
    ),
    "lstm_no_bias_fast": lambda: L.LSTM(3, use_bias=False, return_sequences=True, dtype=F64),
    "gru_reset_before": lambda: L.GRU(4, reset_after=False, return_sequences=True, dtype=F64),
    "gru_softsign_no_bias": lambda: L.GRU(3, activation="softsign", use_bias=False, dtype=F64),
    "rnn_relu": lambda: L.SimpleRNN(4, activation="selu", return_sequences=True, dtype=F64),
    "lstm_zero_output": lambda: L.LSTM(
        3, return_sequences=True, zero_output_for_mask=True, dtype=F64
    ),
    "gru_states": lambda: L.GRU(
        3, activation="relu", return_sequences=True, return_state=True, dtype=F64
    ),
    "bi_merge_none": lambda: L.Bidirectional(
        L.LSTM(3, return_sequences=True, dtype=F64), merge_mode=None
    ),
    "bi_backward_layer": lambda: L.Bidirectional(
        L.LSTM(3, return_sequences=True, dtype=F64),
        backward_layer=L.GRU(3, return_sequences=True, go_backwards=True, dtype=F64),
    ),
}


@pytest.mark.parametrize("cls", ["LSTM", "GRU"])
def test_initial_state_with_leading_masked_steps(cls):
    """Masked steps (the first ones too) carry the initial state; the gradients of the
    carried outputs flow back through it."""
    n = 2 if cls == "LSTM" else 1
    layer = getattr(L, cls)(3, return_sequences=True, return_state=True, dtype=F64)
    mask = np.array([[0, 1, 1, 0, 1], [1, 1, 1, 1, 1], [0, 0, 0, 0, 0]], bool)
    gradcheck(layer, _x(3, 5, 2), mask=mask, initial_state=[_x(3, 3) for _ in range(n)])


@pytest.mark.parametrize("name", sorted(RECURRENT))
@pytest.mark.parametrize("masked", [False, True])
def test_recurrent_gradients(name, masked):
    layer = RECURRENT[name]()
    gradcheck(layer, _x(3, 5, 2), mask=MASK if masked else None)


OTHERS = {
    "conv_valid": (lambda: L.Conv1D(3, 3, dtype=F64), (2, 7, 4)),
    "conv_same_strided": (
        lambda: L.Conv1D(4, 3, strides=2, padding="same", activation="tanh", dtype=F64),
        (2, 7, 4),
    ),
    "conv_causal_dilated_groups": (
        lambda: L.Conv1D(4, 2, padding="causal", dilation_rate=2, groups=2, dtype=F64),
        (2, 6, 4),
    ),
    "maxpool_same": (lambda: L.MaxPooling1D(3, 2, padding="same", dtype=F64), (2, 7, 3)),
    "avgpool_same": (lambda: L.AveragePooling1D(3, 2, padding="same", dtype=F64), (2, 7, 3)),
    "global_avg": (lambda: L.GlobalAveragePooling1D(dtype=F64), (2, 5, 3)),
    "global_max_keepdims": (lambda: L.GlobalMaxPooling1D(keepdims=True, dtype=F64), (2, 5, 3)),
    "layernorm": (lambda: L.LayerNormalization(dtype=F64), (2, 3, 4)),
    "layernorm_axes_rms": (
        lambda: L.LayerNormalization(axis=[1, 2], rms_scaling=True, dtype=F64),
        (2, 3, 4),
    ),
    "layernorm_no_center": (lambda: L.LayerNormalization(center=False, dtype=F64), (2, 4)),
    "repeat": (lambda: L.RepeatVector(3, dtype=F64), (2, 4)),
    "flatten_reshape_permute": (lambda: L.Permute((2, 1), dtype=F64), (2, 3, 4)),
    "reshape": (lambda: L.Reshape((-1, 2), dtype=F64), (2, 3, 4)),
    "flatten": (lambda: L.Flatten(dtype=F64), (2, 3, 4)),
    "time_distributed": (
        lambda: L.TimeDistributed(L.Dense(2, activation="gelu", dtype=F64)),
        (2, 4, 3),
    ),
}


@pytest.mark.parametrize("name", sorted(OTHERS))
def test_layer_gradients(name):
    make, shape = OTHERS[name]
    x = _x(*shape)
    layer = make()
    gradcheck(layer, x, mask=np.array([[1, 1, 0, 0, 0], [1, 1, 1, 1, 1]], bool)
              if name == "global_avg" else None)  # fmt: skip


def test_masking_passes_gradients_of_real_steps_only():
    layer, x = L.Masking(dtype=F64), _x(2, 4, 3)
    x[0, 1] = 0.0  # a masked step (all features equal mask_value)
    layer.forward(x, training=True)
    dx = layer.backward(np.ones_like(x))
    assert not dx[0, 1].any() and np.all(dx[0, [0, 2, 3]] == 1) and np.all(dx[1] == 1)


@pytest.mark.parametrize(
    "cls", ["Concatenate", "Add", "Subtract", "Multiply", "Average", "Maximum", "Minimum"]
)
def test_merge_gradients(cls):
    layer = getattr(L, cls)(dtype=F64) if cls != "Concatenate" else L.Concatenate(axis=1, dtype=F64)
    gradcheck(layer, [_x(2, 3, 4), _x(2, 3, 4)])


@pytest.mark.parametrize("act", sorted(set(K.layers.simple.ACTIVATION_NAMES) | {
    "elu", "gelu", "selu", "softplus", "swish", "mish", "log_softmax", "hard_silu"}))  # fmt: skip
def test_dense_activation_gradients(act):
    gradcheck(L.Dense(3, activation=act, dtype=F64), _x(4, 5))


def _flat_fd(model, x, y, eps=1e-6):
    """The loss's gradient by central differences over a sample of the flat parameters."""
    p = model.flat_params
    idx = np.random.default_rng(3).choice(p.size, 40, replace=False)
    out = {}
    for i in idx:
        old = p[i]
        p[i] = old + eps
        up = model.loss_value(y, *_pred(model, x))
        p[i] = old - eps
        down = model.loss_value(y, *_pred(model, x))
        p[i] = old
        out[i] = (up - down) / (2 * eps)
    return out


def _pred(model, x):
    y_pred, mask = model.forward_masked(x)
    return y_pred, model.loss_weights(y_pred, mask)


def test_functional_backward_shared_tensor_states_and_outputs():
    """A tensor read by two layers (summed gradients), initial_state routed back into the
    encoder, two outputs with loss weights, an L2 regularizer: the whole ∂L/∂θ."""
    enc = K.Input((None, 3))
    seq, h, c = L.LSTM(4, return_sequences=True, return_state=True, dtype=F64)(enc)
    dec_in = K.Input((None, 2))
    dec = L.GRU(4, activation="relu", return_sequences=True, dtype=F64)(dec_in, initial_state=h)
    both = L.Concatenate(dtype=F64)([L.GlobalAveragePooling1D(dtype=F64)(seq), c])
    out_a = L.TimeDistributed(L.Dense(2, dtype=F64), name="a")(dec)
    out_b = L.Dense(1, kernel_regularizer="l2", dtype=F64, name="b")(both)
    model = K.Model([enc, dec_in], [out_a, out_b])
    model.compile("sgd", loss=["mse", "mae"], loss_weights=[1.0, 0.3])
    x = [_x(3, 5, 3), _x(3, 4, 2)]
    y = Samples([_x(3, 4, 2), _x(3, 1)])
    model.compute_gradients(x, y)
    g = model.flat_grads.copy()
    for i, v in _flat_fd(model, x, y).items():
        assert abs(v - g[i]) < 1e-6, i


def test_sequential_activity_regularizer_and_frozen_layer():
    model = K.Sequential(
        [K.Input((5, 3)), L.LSTM(3, activity_regularizer="l2", dtype=F64),
         L.Dense(2, trainable=False, dtype=F64), L.Dense(1, dtype=F64)]
    )  # fmt: skip
    model.compile("sgd", "mse")
    x, y = _x(4, 5, 3), _x(4, 1)
    model.compute_gradients(x, y)
    g = model.flat_grads.copy()
    frozen = model.layers[1]
    assert all(not gr.any() for gr in frozen.grads)
    fd = _flat_fd(model, x, y)
    start = frozen.params[0].ctypes.data  # the frozen layer's slice of the flat buffer
    lo = (start - model.flat_params.ctypes.data) // 8
    hi = lo + sum(p.size for p in frozen.params)
    for i, v in fd.items():
        if not lo <= i < hi:
            assert abs(v - g[i]) < 1e-6, i
