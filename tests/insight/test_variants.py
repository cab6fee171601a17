"""LSTM variants: finite-difference gradients (float64), trace equations, LSTMP == torch,
and use inside Sequential / Bidirectional / configs."""

import numpy as np
import pytest

from lstmkit.inspect import trace
from lstmkit.layers import LAYER_TYPES, Bidirectional, Dense
from lstmkit.layers.variants import (
    CIFGLSTM,
    LSTMP,
    SLSTM,
    VARIANTS,
    LayerNormLSTM,
    PeepholeLSTM,
    ZoneoutLSTM,
)


def _make(cls, seq=True, **kw):
    rng = np.random.default_rng(7)
    layer = cls(3, return_sequences=seq, dtype="float64", seed=2, **kw)
    layer.build((5, 2))
    for p in layer.params:  # non-trivial values everywhere
        p[...] = p + 0.3 * rng.standard_normal(p.shape)
    return layer


def _loss_fn(layer, x, mask, R):
    state = layer.rng.bit_generator.state

    def f():
        layer.rng.bit_generator.state = state  # same dropout / zoneout masks
        y = layer.forward(x, training=True, mask=mask)
        return float(np.sum(y * R)), y

    return f


@pytest.mark.parametrize("cls", VARIANTS)
@pytest.mark.parametrize("seq,masked,dropout", [(True, True, 0.0), (False, False, 0.3)])
def test_variant_gradients_by_finite_differences(cls, seq, masked, dropout):
    rng = np.random.default_rng(0)
    kw = {"dropout": dropout}
    if cls is not LSTMP:
        kw["recurrent_dropout"] = dropout
    layer = _make(cls, seq, **kw)
    x = rng.standard_normal((2, 5, 2))
    mask = None
    if masked:
        mask = np.ones((2, 5))
        mask[1, 3:] = 0
        mask[0, 0] = 0
    out_w = layer.proj_size if cls is LSTMP else 3
    R = rng.standard_normal((2, 5, out_w) if seq else (2, out_w))
    f = _loss_fn(layer, x, mask, R)
    _, y = f()
    dx = layer.backward(R)
    grads = [g.copy() for g in layer.grads]
    eps = 1e-6
    for p, g in zip(layer.params, grads, strict=True):
        num = np.zeros_like(p)
        for idx in np.ndindex(p.shape):
            old = p[idx]
            p[idx] = old + eps
            lp = f()[0]
            p[idx] = old - eps
            lm = f()[0]
            p[idx] = old
            num[idx] = (lp - lm) / (2 * eps)
        np.testing.assert_allclose(g, num, rtol=1e-6, atol=1e-8)
    num_x = np.zeros_like(x)
    for idx in np.ndindex(x.shape):
        old = x[idx]
        x[idx] = old + eps
        lp = f()[0]
        x[idx] = old - eps
        lm = f()[0]
        x[idx] = old
        num_x[idx] = (lp - lm) / (2 * eps)
    np.testing.assert_allclose(dx, num_x, rtol=1e-6, atol=1e-8)


def test_lstmp_equals_torch_forward_and_backward():
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(3)
    B, T, D, H, P = 3, 7, 4, 6, 2
    layer = LSTMP(H, proj_size=P, return_sequences=True, dtype="float64", seed=0)
    layer.build((T, D))
    ref = torch.nn.LSTM(D, H, proj_size=P, batch_first=True, dtype=torch.float64)
    with torch.no_grad():  # torch's weights, random biases
        for p in ref.parameters():
            p.copy_(torch.tensor(rng.standard_normal(tuple(p.shape)) * 0.5))
    layer.load_named_tensors({k: v.detach().numpy() for k, v in ref.state_dict().items()})
    x = rng.standard_normal((B, T, D))
    xt = torch.tensor(x, requires_grad=True)
    yt, (hT, cT) = ref(xt)
    y = layer.forward(x, training=True)
    assert np.max(np.abs(y - yt.detach().numpy())) < 1e-12
    R = rng.standard_normal(y.shape)
    (yt * torch.tensor(R)).sum().backward()
    dx = layer.backward(R)
    assert np.max(np.abs(dx - xt.grad.numpy())) < 1e-12
    ours = layer.named_tensors()
    theirs = {k: p.grad.numpy() for k, p in ref.named_parameters()}
    names = dict(
        zip(
            ["weight_ih_l0", "weight_hh_l0", "bias_ih_l0", "weight_hr_l0"], layer.grads, strict=True
        )
    )
    for k, g in names.items():
        want = theirs[k]
        got = g if k.startswith("bias") else g.T
        assert np.max(np.abs(got - want)) < 1e-12, k
    assert np.max(np.abs(layer.grads[2] - theirs["bias_hh_l0"])) < 1e-12
    assert set(ours) == set(theirs)


def _c_eq(tr, mask=None):
    return tr.f * tr.c_prev + tr.i * tr.g


@pytest.mark.parametrize("cls", [PeepholeLSTM, CIFGLSTM, LayerNormLSTM, LSTMP, SLSTM])
def test_variant_trace_cell_equation(cls):
    layer = _make(cls, dropout=0.5)
    x = np.random.default_rng(1).standard_normal((2, 5, 2))
    tr = trace(layer, x)
    np.testing.assert_allclose(tr.c, _c_eq(tr), rtol=0, atol=1e-14)
    np.testing.assert_array_equal(tr.h, layer.forward(x))
    if cls is CIFGLSTM:
        np.testing.assert_allclose(tr.f, 1 - tr.i, atol=0)
    if cls is SLSTM:  # n_t = f'·n_{t-1} + i', h = o·c/n
        n_prev = np.concatenate([np.zeros((2, 1, 3)), tr["n"][:, :-1]], axis=1)
        np.testing.assert_allclose(tr["n"], tr.f * n_prev + tr.i, atol=1e-14)
        np.testing.assert_allclose(tr.h, tr.o * tr.c / tr["n"], atol=1e-14)
        assert np.all(tr.i <= 1) and np.all(tr.f <= 1)  # the stabiliser at work
    if cls in (PeepholeLSTM, CIFGLSTM):
        np.testing.assert_allclose(tr.h, tr.o * np.tanh(tr.c), atol=1e-15)
    if cls is LSTMP:
        np.testing.assert_allclose(tr.h, tr["u"] @ layer.params[3], atol=1e-14)


def test_zoneout_inference_is_the_expectation_and_training_is_random():
    layer = _make(ZoneoutLSTM, zoneout_cell=0.4, zoneout_hidden=0.2)
    x = np.random.default_rng(2).standard_normal((2, 5, 2))
    tr = trace(layer, x)
    c_new = tr.f * tr.c_prev + tr.i * tr.g
    np.testing.assert_allclose(tr.c, 0.4 * tr.c_prev + 0.6 * c_new, atol=1e-14)
    a, b = layer.forward(x, training=True), layer.forward(x, training=True)
    assert not np.allclose(a, b)
    np.testing.assert_array_equal(layer.forward(x), layer.forward(x))


def test_variants_inside_sequential_bidirectional_and_configs():
    from lstmkit.model import Sequential
    from lstmkit.optim import Adam

    rng = np.random.default_rng(4)
    x = rng.standard_normal((8, 6, 2)).astype(np.float32)
    y = rng.standard_normal((8, 1)).astype(np.float32)
    for cls in VARIANTS:
        assert LAYER_TYPES[cls.type_name] is cls
        layer = cls(4, return_sequences=True, seed=0)
        model = Sequential([Bidirectional(layer), cls(3, seed=1), Dense(1, seed=2)])
        model.compile(Adam(1e-2), "mse")
        losses = [float(model.train_on_batch(x, y)) for _ in range(15)]
        assert np.isfinite(losses).all() and losses[-1] < losses[0], cls.__name__
        clone = cls.from_config(layer.get_config())
        assert clone.get_config() == layer.get_config()
        bi = model.layers[0]
        assert set(bi.named_tensors()) == set(bi.forward_layer.named_tensors()) | {
            k.replace("_l0", "_l0_reverse") for k in bi.forward_layer.named_tensors()
        }


@pytest.mark.parametrize("cls", VARIANTS)
def test_variant_models_save_and_load(cls, tmp_path):
    from lstmkit.io import load_model
    from lstmkit.model import Sequential

    x = np.random.default_rng(0).standard_normal((2, 5, 3)).astype(np.float32)
    m = Sequential(
        [Bidirectional(cls(4, return_sequences=True, seed=0)), cls(3, seed=1), Dense(2, seed=2)]
    )
    y = m(x)
    m.save(tmp_path / "m.safetensors")
    m2 = load_model(tmp_path / "m.safetensors")
    assert type(m2.layers[1]) is cls
    np.testing.assert_array_equal(m2(x), y)
