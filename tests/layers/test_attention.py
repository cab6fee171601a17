"""Attention / AdditiveAttention: finite-difference gradients (float64), and outputs, attention
weights, masks, shapes and gradients against Keras 3's own layers (torch backend) on the same
weights."""

import os

import numpy as np
import pytest

from lstmkit.layers import AdditiveAttention, Attention

os.environ.setdefault("KERAS_BACKEND", "torch")

CASES = [
    (Attention, {"use_scale": False}),
    (Attention, {"use_scale": True}),
    (Attention, {"use_scale": False, "score_mode": "concat"}),
    (Attention, {"use_scale": True, "score_mode": "concat"}),
    (AdditiveAttention, {"use_scale": True}),
    (AdditiveAttention, {"use_scale": False}),
]
IDS = [f"{c.__name__}-{'-'.join(f'{k}={v}' for k, v in kw.items())}" for c, kw in CASES]


def _data(rng, B=3, Tq=4, Tv=5, D=3, Dv=2, key=True):
    q = rng.standard_normal((B, Tq, D))
    v = rng.standard_normal((B, Tv, Dv if key else D))  # without a key, value is the key
    k = rng.standard_normal((B, Tv, D))
    q_mask = np.ones((B, Tq), bool)
    q_mask[0, -1] = q_mask[2, -2:] = False
    v_mask = np.ones((B, Tv), bool)
    v_mask[1, -2:] = v_mask[2, -1] = False
    return ([q, v, k] if key else [q, v]), [q_mask, v_mask]


def _layer(cls, kw, inputs, seed=0):
    layer = cls(dtype="float64", seed=seed, **kw)
    layer.build([a.shape[1:] for a in inputs])
    rng = np.random.default_rng(seed + 10)
    layer.set_weights([rng.uniform(0.5, 1.5, w.shape) for w in layer.get_weights()])
    return layer


@pytest.mark.parametrize("cls,kw", CASES, ids=IDS)
@pytest.mark.parametrize("key", [True, False])
@pytest.mark.parametrize("causal", [False, True])
def test_finite_difference_gradients(cls, kw, key, causal):
    rng = np.random.default_rng(1)
    inputs, mask = _data(rng, key=key)
    if causal:
        inputs[1], inputs[-1] = inputs[1][:, :4], inputs[-1][:, :4]  # Tv = Tq for a causal mask
        mask[1] = mask[1][:, :4]
    layer = _layer(cls, kw, inputs)
    R = rng.standard_normal((3, 4, inputs[1].shape[2]))

    def loss():
        out = layer.forward(inputs, training=True, mask=mask, use_causal_mask=causal)
        return float(np.sum(out * R))

    loss()
    d_inputs = layer.backward(R)
    assert len(d_inputs) == len(inputs)
    eps = 1e-6
    for a, da in zip(
        inputs + layer.params, d_inputs + [g.copy() for g in layer.grads], strict=True
    ):
        num = np.zeros_like(a)
        for idx in np.ndindex(a.shape):
            old = a[idx]
            a[idx] = old + eps
            up = loss()
            a[idx] = old - eps
            down = loss()
            a[idx] = old
            num[idx] = (up - down) / (2 * eps)
        assert np.allclose(da, num, rtol=1e-6, atol=1e-8), (np.abs(da - num).max(), a.shape)


def test_masks_zero_the_padded_weights_and_queries():
    rng = np.random.default_rng(2)
    inputs, (q_mask, v_mask) = _data(rng)
    layer = _layer(Attention, {}, inputs)
    out, A = layer.forward(inputs, mask=[q_mask, v_mask], return_attention_scores=True)
    assert out.shape == (3, 4, 2) and A.shape == (3, 4, 5)
    assert np.all(A[~np.broadcast_to(v_mask[:, None, :], A.shape)] == 0.0)
    assert np.allclose(A.sum(-1), 1.0)
    assert np.all(out[~q_mask] == 0.0)
    # what is masked does not matter: change the padded values and keys, same result
    v2, k2 = inputs[1].copy(), inputs[2].copy()
    v2[~v_mask] = 1e3
    k2[~v_mask] = -7.0
    out2 = layer.forward([inputs[0], v2, k2], mask=[q_mask, v_mask])
    assert np.allclose(out, out2, atol=1e-12)
    assert layer.compute_output_shape([(4, 3), (5, 2), (5, 3)]) == (4, 2)


def test_bad_inputs_are_refused_with_the_shapes():
    layer = Attention()
    with pytest.raises(ValueError, match=r"\[query, value\]"):
        layer.forward(np.zeros((2, 3, 4)))
    with pytest.raises(ValueError, match="same last size"):
        layer.forward([np.zeros((2, 3, 4)), np.zeros((2, 5, 4)), np.zeros((2, 5, 3))])
    with pytest.raises(ValueError, match="value_mask of shape"):
        layer.forward([np.zeros((2, 3, 4)), np.zeros((2, 5, 4))], mask=[None, np.ones((2, 4))])
    with pytest.raises(ValueError, match="score_mode"):
        Attention(score_mode="general")


def test_dropout_only_in_training_and_config_round_trip():
    rng = np.random.default_rng(3)
    inputs, mask = _data(rng)
    layer = _layer(AdditiveAttention, {"dropout": 0.5}, inputs)
    _, A = layer.forward(inputs, mask=mask, return_attention_scores=True)
    _, Ad = layer.forward(inputs, training=True, mask=mask, return_attention_scores=True)
    assert np.allclose(A.sum(-1), 1.0) and not np.allclose(Ad.sum(-1), 1.0)
    cfg = layer.get_config()
    assert "score_mode" not in cfg and cfg["dropout"] == 0.5
    assert AdditiveAttention.from_config(cfg).get_config() == cfg


# ------------------------------------------------------------------------------ Keras
@pytest.fixture(scope="module")
def keras():
    keras = pytest.importorskip("keras")
    assert keras.backend.backend() == "torch"
    from keras.src.backend.common import dtypes

    # Keras (torch backend) computes float64 matmuls in float32, to follow JAX's default
    # type promotion (dtypes.BIT64_TO_BIT32_DTYPE): turned off here, so that both sides
    # compute in float64 and can be compared to 1e-12
    old = keras.config.floatx(), dtypes.BIT64_TO_BIT32_DTYPE["float64"]
    keras.config.set_floatx("float64")
    dtypes.BIT64_TO_BIT32_DTYPE["float64"] = "float64"
    yield keras
    keras.config.set_floatx(old[0])
    dtypes.BIT64_TO_BIT32_DTYPE["float64"] = old[1]


@pytest.mark.parametrize("cls,kw", CASES, ids=IDS)
@pytest.mark.parametrize("key", [True, False])
@pytest.mark.parametrize("causal", [False, True])
def test_matches_keras_outputs_weights_and_gradients(keras, cls, kw, key, causal):
    import torch

    rng = np.random.default_rng(4)
    inputs, mask = _data(rng, key=key, Tv=4 if causal else 5)
    ours = _layer(cls, kw, inputs)
    theirs = getattr(keras.layers, cls.__name__)(dtype="float64", **kw)
    theirs.build([(None, *a.shape[1:]) for a in inputs])
    assert [tuple(w.shape) for w in theirs.get_weights()] == [w.shape for w in ours.get_weights()]
    theirs.set_weights(ours.get_weights())

    out, A = ours.forward(
        inputs, training=True, mask=mask, return_attention_scores=True, use_causal_mask=causal
    )
    tin = [torch.tensor(a, requires_grad=True) for a in inputs]
    tout, tA = theirs(
        tin,
        mask=[torch.tensor(m) for m in mask],
        return_attention_scores=True,
        use_causal_mask=causal,
    )
    np.testing.assert_allclose(out, tout.detach().numpy(), rtol=0, atol=1e-12)
    np.testing.assert_allclose(A, tA.detach().numpy(), rtol=0, atol=1e-12)
    assert tuple(theirs.compute_output_shape([(None, *a.shape[1:]) for a in inputs])) == (
        None,
        *ours.compute_output_shape([a.shape[1:] for a in inputs]),
    )

    R = rng.standard_normal(out.shape)
    d_inputs = ours.backward(R)
    (tout * torch.tensor(R)).sum().backward()
    for d, t in zip(d_inputs, tin, strict=True):
        np.testing.assert_allclose(d, t.grad.numpy(), rtol=1e-10, atol=1e-12)
    for g, w in zip(ours.grads, theirs.trainable_weights, strict=True):
        np.testing.assert_allclose(g, w.value.grad.numpy(), rtol=1e-10, atol=1e-12)
