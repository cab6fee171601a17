"""Losses and metrics: values and gradients vs finite differences and vs PyTorch."""

import warnings

import numpy as np
import pytest

torch = pytest.importorskip("torch")
F = torch.nn.functional

from lstmkit import losses, metrics  # noqa: E402
from lstmkit.layers import Dense  # noqa: E402

B, C = 5, 4


def _data(kind, rng):
    z = rng.standard_normal((B, C)) * 2
    if kind == "reg":
        return rng.standard_normal((B, C)), z
    if kind == "bin_prob":
        return (rng.random((B, C)) > 0.5).astype(float), rng.uniform(0.05, 0.95, (B, C))
    if kind == "bin_logit":
        return (rng.random((B, C)) > 0.5).astype(float), z
    if kind == "cat_prob":
        p = np.exp(z) / np.exp(z).sum(-1, keepdims=True)
        return np.eye(C)[rng.integers(0, C, B)], p
    if kind == "cat_logit":
        y = rng.random((B, C))
        return y / y.sum(-1, keepdims=True), z  # soft targets
    if kind == "sparse_prob":
        p = np.exp(z) / np.exp(z).sum(-1, keepdims=True)
        return rng.integers(0, C, B), p
    return rng.integers(0, C, B), z


def _torch_value(name, y, p):
    yt = torch.tensor(y)
    pt = p if isinstance(p, torch.Tensor) else torch.tensor(p)
    return {
        "mse": lambda: F.mse_loss(pt, yt),
        "mae": lambda: F.l1_loss(pt, yt),
        "huber": lambda: F.huber_loss(pt, yt, delta=0.7),
        "bce": lambda: F.binary_cross_entropy(pt, yt),
        "bce_logits": lambda: F.binary_cross_entropy_with_logits(pt, yt),
        # Keras normalises probabilities first: p / Σp (so the gradient has that term too)
        "cce": lambda: F.nll_loss(torch.log(pt / pt.sum(-1, keepdim=True)), yt.argmax(-1)),
        "cce_logits": lambda: F.cross_entropy(pt, yt),
        "scce": lambda: F.nll_loss(torch.log(pt / pt.sum(-1, keepdim=True)), yt),
        "scce_logits": lambda: F.cross_entropy(pt, yt),
    }[name]()


CASES = [
    ("mse", losses.MeanSquaredError(), "reg"),
    ("mae", losses.MeanAbsoluteError(), "reg"),
    ("huber", losses.Huber(delta=0.7), "reg"),
    ("bce", losses.BinaryCrossentropy(), "bin_prob"),
    ("bce_logits", losses.BinaryCrossentropy(from_logits=True), "bin_logit"),
    ("cce", losses.CategoricalCrossentropy(), "cat_prob"),
    ("cce_logits", losses.CategoricalCrossentropy(from_logits=True), "cat_logit"),
    ("scce", losses.SparseCategoricalCrossentropy(), "sparse_prob"),
    ("scce_logits", losses.SparseCategoricalCrossentropy(from_logits=True), "sparse_logit"),
]


@pytest.mark.parametrize("name,loss,kind", CASES, ids=[c[0] for c in CASES])
def test_value_and_gradient_vs_torch(name, loss, kind):
    rng = np.random.default_rng(0)
    y, p = _data(kind, rng)
    val, grad = loss.value_and_grad(y, p)
    pt = torch.tensor(p, requires_grad=True)
    tv = _torch_value(name, y, pt)
    tv.backward()
    assert abs(val - tv.item()) < 1e-12
    assert np.abs(grad - pt.grad.numpy()).max() < 1e-12


@pytest.mark.parametrize("name,loss,kind", CASES, ids=[c[0] for c in CASES])
def test_gradient_finite_differences(name, loss, kind):
    rng = np.random.default_rng(1)
    y, p = _data(kind, rng)
    if name == "cce":
        p = p * 1.3  # un-normalised probabilities exercise the p/Σp part
    _, grad = loss.value_and_grad(y, p)
    num = np.zeros_like(p)
    eps = 1e-6
    for idx in np.ndindex(p.shape):
        q = p.copy()
        q[idx] += eps
        lp = loss(y, q)
        q[idx] -= 2 * eps
        num[idx] = (lp - loss(y, q)) / (2 * eps)
    assert np.abs(num - grad).max() < 1e-7


@pytest.mark.parametrize(
    "loss",
    [
        losses.BinaryCrossentropy(from_logits=True),
        losses.CategoricalCrossentropy(from_logits=True),
        losses.SparseCategoricalCrossentropy(from_logits=True),
    ],
    ids=["bce", "cce", "scce"],
)
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_extreme_logits_are_stable(loss, dtype):
    z = np.array([[1e4, -1e4, 0.0], [-800.0, 800.0, 50.0], [90.0, -90.0, 1.0]], dtype)
    if isinstance(loss, losses.SparseCategoricalCrossentropy):
        y = np.array([1, 0, 2])
    elif isinstance(loss, losses.CategoricalCrossentropy):
        y = np.eye(3, dtype=dtype)[[1, 0, 2]]
    else:
        y = np.array([[1, 0, 1], [0, 1, 1], [1, 1, 0]], dtype)
    with warnings.catch_warnings(), np.errstate(over="raise", invalid="raise", divide="raise"):
        warnings.simplefilter("error")
        val, grad = loss.value_and_grad(y, z)
    assert np.isfinite(val) and np.all(np.isfinite(grad))
    zt = torch.tensor(z.astype(np.float64))
    yt = torch.tensor(y)
    want = {
        losses.BinaryCrossentropy: lambda: F.binary_cross_entropy_with_logits(zt, yt.double()),
        losses.CategoricalCrossentropy: lambda: F.cross_entropy(zt, yt.double()),
        losses.SparseCategoricalCrossentropy: lambda: F.cross_entropy(zt, yt),
    }[type(loss)]()
    assert val == pytest.approx(float(want), rel=1e-6)


def test_probabilities_clipped_not_nan():
    y = np.array([[1.0, 0.0]])
    with np.errstate(over="raise", invalid="raise", divide="raise"):
        v = losses.BinaryCrossentropy()(y, np.array([[0.0, 1.0]]))
        w = losses.CategoricalCrossentropy()(y, np.array([[0.0, 1.0]]))
    assert v == pytest.approx(-np.log(1e-7)) and w == pytest.approx(-np.log(1e-7))


def test_softmax_dense_chain_gives_softmax_minus_y():
    """Dense(softmax) + categorical CE from probabilities: dL/dz = (softmax(z) − y)/B."""
    rng = np.random.default_rng(2)
    layer = Dense(C, activation="softmax", dtype="float64", seed=0)
    x = rng.standard_normal((B, 3))
    y = np.eye(C)[rng.integers(0, C, B)]
    a = layer.forward(x, training=True)
    _, dy = losses.CategoricalCrossentropy().value_and_grad(y, a)
    layer.backward(dy)
    dz = (a - y) / B
    assert np.abs(layer.grads[0] - x.T @ dz).max() < 1e-13
    assert np.abs(layer.grads[1] - dz.sum(0)).max() < 1e-13


def test_sample_weight_is_weighted_mean():
    rng = np.random.default_rng(3)
    y, p = rng.standard_normal((4, 6, 2)), rng.standard_normal((4, 6, 2))
    w = (rng.random((4, 6)) > 0.4).astype(float)
    loss = losses.MeanSquaredError()
    v, g = loss.value_and_grad(y, p, sample_weight=w)
    per = ((p - y) ** 2).mean(-1)
    assert v == pytest.approx((per * w).sum() / w.sum())
    assert np.all(g[w == 0] == 0)
    with pytest.raises(ValueError, match="sample_weight expected shape"):
        loss(y, p, sample_weight=w[:, :3])


def test_bad_targets_are_refused():
    with pytest.raises(ValueError, match="expected y_true of shape"):
        losses.MeanSquaredError()(np.zeros((3, 2)), np.zeros((3, 4)))
    with pytest.raises(ValueError, match="class ids in"):
        losses.SparseCategoricalCrossentropy()(np.array([0, 5]), np.full((2, 3), 1 / 3))
    with pytest.raises(ValueError, match="loss must be one of"):
        losses.get("mse2")


def test_metrics():
    yp = np.array([[0.1, 0.7, 0.2], [0.8, 0.1, 0.1], [0.2, 0.3, 0.5], [0.3, 0.3, 0.4]])
    ids = np.array([1, 0, 1, 2])
    onehot = np.eye(3)[ids]
    acc = metrics.get("accuracy", "categorical_crossentropy")
    acc.update(onehot, yp)
    assert acc.result() == pytest.approx(0.75)
    sp = metrics.get("accuracy")  # picked from the shapes: sparse
    sp.update(ids, yp)
    assert sp.result() == pytest.approx(0.75)
    b = metrics.get("accuracy", "binary_crossentropy")
    b.update(np.array([[1], [0], [1]]), np.array([[0.9], [0.6], [0.2]]))
    assert b.result() == pytest.approx(1 / 3)
    # rmse over two batches == rmse of everything (not the mean of two roots)
    rng = np.random.default_rng(0)
    y1, p1, y2, p2 = (rng.standard_normal((4, 2)) for _ in range(4))
    r = metrics.get("rmse")
    r.update(y1, p1)
    r.update(y2, p2)
    allv = np.concatenate([p1 - y1, p2 - y2])
    assert r.result() == pytest.approx(np.sqrt((allv**2).mean()))
    m = metrics.get("mae")
    m.update(y1, p1)
    assert m.result() == pytest.approx(np.abs(p1 - y1).mean())
    with pytest.raises(ValueError, match="metric must be one of"):
        metrics.get("precisionx")
