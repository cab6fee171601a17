"""Conv1D, the global poolings, AttentionPooling1D and Masking: forward against Keras
(torch backend) or a direct formula, backward against central finite differences in
float64 (every parameter and the input, with and without a mask), masks (Keras' rules
by default; lstmkit's opt-in Conv1D(keep_mask=True) and GlobalMaxPooling1D(use_mask=True)),
configs, and a model with them saved and loaded back."""

import os

import numpy as np
import pytest

os.environ.setdefault("KERAS_BACKEND", "torch")

from lstmkit import LSTM, Bidirectional, Dense
from lstmkit.io.save import load_model
from lstmkit.layers import (
    LAYER_TYPES,
    AttentionPooling1D,
    Conv1D,
    GlobalAveragePooling1D,
    GlobalMaxPooling1D,
    Masking,
)
from lstmkit.model import Sequential

MASK = np.array([[0, 0, 1, 1, 1, 1, 1], [1, 1, 1, 1, 1, 1, 1], [0, 0, 0, 0, 0, 1, 1]], bool)


def fd_check(layer, x, mask=None, eps=1e-6, tol=1e-7):
    """Analytic ∂L/∂x and ∂L/∂θ for L = Σ y ⊙ R (R random) == central differences."""
    rng = np.random.default_rng(3)
    y = layer.forward(x, training=True, mask=mask)
    R = rng.standard_normal(y.shape)
    dx = layer.backward(R)
    grads = [g.copy() for g in layer.grads]

    def loss():
        return float((layer.forward(x, training=True, mask=mask) * R).sum())

    num = np.zeros_like(x)
    for i in np.ndindex(x.shape):
        old = x[i]
        x[i] = old + eps
        up = loss()
        x[i] = old - eps
        num[i] = (up - loss()) / (2 * eps)
        x[i] = old
    np.testing.assert_allclose(dx, num, atol=tol, rtol=1e-6)
    for p, g in zip(layer.params, grads, strict=True):
        num = np.zeros_like(p)
        for i in np.ndindex(p.shape):
            old = p[i]
            p[i] = old + eps
            up = loss()
            p[i] = old - eps
            num[i] = (up - loss()) / (2 * eps)
            p[i] = old
        np.testing.assert_allclose(g, num, atol=tol, rtol=1e-6)


@pytest.mark.parametrize(
    "kw",
    [
        dict(padding="valid"),
        dict(padding="same"),
        dict(padding="causal", dilation_rate=2),
        dict(padding="same", strides=2),
        dict(padding="valid", strides=3, activation="relu"),
        dict(padding="same", activation="tanh", use_bias=False),
    ],
)
def test_conv1d_gradients(kw):
    layer = Conv1D(4, 3, dtype="float64", seed=0, **kw)
    x = np.random.default_rng(1).standard_normal((2, 9, 3))
    layer.build(x.shape[1:])
    if layer.use_bias:
        layer.params[1][...] = np.random.default_rng(2).uniform(-0.5, 0.5, 4)
    fd_check(layer, x)


POOLINGS = {
    "average": lambda: GlobalAveragePooling1D(dtype="float64"),
    "max": lambda: GlobalMaxPooling1D(dtype="float64"),
    "max_use_mask": lambda: GlobalMaxPooling1D(use_mask=True, dtype="float64"),
    "attention": lambda: AttentionPooling1D(5, dtype="float64", seed=0),
}


@pytest.mark.parametrize("kind", sorted(POOLINGS))
@pytest.mark.parametrize("masked", [False, True])
def test_pooling_gradients(kind, masked):
    layer = POOLINGS[kind]()
    x = np.random.default_rng(4).standard_normal((3, 7, 4))
    fd_check(layer, x, mask=MASK if masked else None)


def test_masking_gradient_and_mask():
    x = np.random.default_rng(5).standard_normal((3, 7, 2))
    x[~MASK] = 0.0
    layer = Masking(dtype="float64")
    np.testing.assert_array_equal(layer.compute_mask(None, x), MASK)
    y = layer.forward(x)
    np.testing.assert_array_equal(y, x)
    # y = x on real steps, 0 on padded ones (a finite difference there would unmask the step)
    R = np.random.default_rng(6).standard_normal(x.shape)
    np.testing.assert_array_equal(layer.backward(R), R * MASK[:, :, None])


def test_pooling_honours_the_mask():
    rng = np.random.default_rng(6)
    x = rng.standard_normal((3, 7, 4))
    x[~MASK] = 50.0  # padded steps hold large values: they must not count
    for n in range(3):
        real = x[n][MASK[n]]
        np.testing.assert_allclose(
            GlobalAveragePooling1D().forward(x, mask=MASK)[n], real.mean(0), rtol=1e-5
        )
        np.testing.assert_allclose(
            GlobalMaxPooling1D(use_mask=True).forward(x, mask=MASK)[n], real.max(0)
        )
        # Keras' GlobalMaxPooling1D ignores the mask: a padded step wins the max
        np.testing.assert_allclose(GlobalMaxPooling1D().forward(x, mask=MASK)[n], x[n].max(0))
    att = AttentionPooling1D(3, seed=0)
    att.forward(x, mask=MASK)
    a = att.attention_weights
    assert np.all(a[~MASK] == 0) and np.allclose(a.sum(1), 1)
    empty = np.zeros((1, 7), bool)  # a sequence with no real step pools to zeros
    pools = (GlobalAveragePooling1D(), GlobalMaxPooling1D(use_mask=True), AttentionPooling1D(3))
    for layer in pools:
        assert np.all(layer.forward(x[:1], mask=empty) == 0)
        assert layer.compute_mask(MASK, x) is None


def test_against_keras():
    keras = pytest.importorskip("keras")
    rng = np.random.default_rng(7)
    for T, kw in [
        (11, dict(padding="same", strides=2)),
        (10, dict(padding="same", strides=2)),
        (9, dict(padding="causal", dilation_rate=2)),
        (10, dict(padding="valid", strides=3)),
    ]:
        x = rng.standard_normal((2, T, 3))
        ours = Conv1D(4, 3, dtype="float64", seed=0, activation="relu", **kw)
        y = ours.forward(x)
        ref = keras.layers.Conv1D(4, 3, activation="relu", dtype="float64", **kw)
        ref.build((None, T, 3))
        ref.set_weights(ours.get_weights())
        np.testing.assert_allclose(y, keras.ops.convert_to_numpy(ref(x)), atol=1e-12)
    x = rng.standard_normal((3, 7, 4))
    m = MASK
    np.testing.assert_allclose(
        GlobalAveragePooling1D().forward(x, mask=m),
        keras.ops.convert_to_numpy(keras.layers.GlobalAveragePooling1D()(x, mask=m)),
        rtol=1e-5,
    )
    np.testing.assert_allclose(
        GlobalMaxPooling1D(keepdims=True).forward(x),
        keras.ops.convert_to_numpy(keras.layers.GlobalMaxPooling1D(keepdims=True)(x)),
        rtol=1e-6,
    )
    np.testing.assert_allclose(  # a mask, by default, is ignored: Keras' call takes none
        GlobalMaxPooling1D().forward(x, mask=m),
        keras.ops.convert_to_numpy(keras.layers.GlobalMaxPooling1D()(x)),
        rtol=1e-6,
    )
    xz = x.copy()
    xz[~m] = 0.0
    km = keras.layers.Masking(0.0)  # the mask Keras computes: any feature ≠ mask_value
    np.testing.assert_array_equal(
        keras.ops.convert_to_numpy(km.compute_mask(xz)), Masking().compute_mask(None, xz)
    )


def test_conv1d_mask_dropped_as_keras_or_kept_on_request():
    x = np.random.default_rng(9).standard_normal((3, 7, 2))
    assert Conv1D(4, 3, padding="same").compute_mask(x, MASK) is None  # Keras drops it
    kept = Conv1D(4, 3, padding="causal", keep_mask=True).compute_mask(x, MASK)
    np.testing.assert_array_equal(kept, MASK)
    assert Conv1D(4, 3, padding="same", keep_mask=True).get_config()["keep_mask"] is True
    with pytest.raises(ValueError, match="keep_mask=True needs an output as long"):
        Conv1D(4, 3, padding="valid", keep_mask=True)
    with pytest.raises(ValueError, match="keep_mask=True needs an output as long"):
        Conv1D(4, 3, padding="same", strides=2, keep_mask=True)


def test_opt_in_masks_keep_padding_out_of_the_model():
    """Masking → Conv1D(keep_mask) → LSTM → GlobalMaxPooling1D(use_mask): more padding
    does not change the output; with Keras' defaults (mask dropped at Conv1D) it does."""
    rng = np.random.default_rng(10)
    real = rng.standard_normal((1, 6, 2)).astype(np.float32)
    short = np.concatenate([real, np.zeros((1, 2, 2), np.float32)], 1)
    long = np.concatenate([real, np.zeros((1, 9, 2), np.float32)], 1)

    def model(opt_in):
        m = Sequential(
            [
                Masking(),
                Conv1D(5, 3, padding="same", activation="relu", keep_mask=opt_in),
                LSTM(4, return_sequences=True),
                GlobalMaxPooling1D(use_mask=opt_in),
                Dense(2),
            ],
            seed=0,
        )
        m.build((None, 2))
        m.layers[1].params[1][...] = 1.0  # a padded step's conv output is then ≠ 0
        return m

    m = model(True)
    np.testing.assert_allclose(m.predict(short), m.predict(long), rtol=1e-5, atol=1e-6)
    k = model(False)
    assert np.abs(k.predict(short) - k.predict(long)).max() > 1e-5


def test_shapes_and_errors():
    assert Conv1D(8, 5, padding="same").compute_output_shape((20, 3)) == (20, 8)
    assert Conv1D(8, 5, strides=2).compute_output_shape((20, 3)) == (8, 8)
    assert GlobalMaxPooling1D(keepdims=True).compute_output_shape((20, 3)) == (1, 3)
    with pytest.raises(ValueError, match="padding must be one of"):
        Conv1D(4, 3, padding="full")
    with pytest.raises(ValueError, match="at least 5 time steps"):
        Conv1D(4, 5).forward(np.zeros((1, 4, 2)))
    with pytest.raises(ValueError, match=r"expected input of shape \(batch, time"):
        GlobalAveragePooling1D().forward(np.zeros((2, 3)))


def test_model_with_new_layers_saves_and_loads(tmp_path):
    x = np.random.default_rng(8).standard_normal((4, 12, 2)).astype(np.float32)
    x[0, :5] = 0.0  # padding, masked
    pools = (GlobalMaxPooling1D(use_mask=True), GlobalAveragePooling1D(), AttentionPooling1D(4))
    for pool in pools:
        m = Sequential(
            [
                Masking(),
                Conv1D(6, 3, padding="same", activation="relu", keep_mask=True),
                Bidirectional(LSTM(8, return_sequences=True)),
                pool,
                Dense(3, activation="softmax"),
            ],
            seed=0,
        )
        y = m.predict(x)
        m.save(tmp_path / "m.safetensors")
        back = load_model(tmp_path / "m.safetensors")
        np.testing.assert_allclose(back.predict(x), y, rtol=1e-6)
        assert back.layers[1].keep_mask and getattr(back.layers[3], "use_mask", True)
    for name in ("Conv1D", "Masking", "GlobalMaxPooling1D", "GlobalAveragePooling1D"):
        assert name in LAYER_TYPES
