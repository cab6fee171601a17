"""Run one small program in Keras 3 (torch backend) and in lstmkit; compare.

A *program* is a function of the library it runs on, ``lib`` = ``keras`` or ``lstmkit``,
written once with Keras' names (``lib.layers.LSTM``, ``lib.Input``, ``lib.Model``,
``lib.optimizers.Adam`` …): the claim under test is exactly that a Keras program runs
with only its imports changed. Weights are copied from Keras to lstmkit where the
program does not fix them (random initialisers draw from different streams); shapes
must agree exactly and numbers to 1e-5 (float32).
"""

from __future__ import annotations

import os

os.environ.setdefault("KERAS_BACKEND", "torch")

import numpy as np  # noqa: E402
import pytest  # noqa: E402

keras = pytest.importorskip("keras")

import lstmkit  # noqa: E402

TOL = dict(rtol=1e-5, atol=1e-5)
LIBS = {"keras": keras, "lstmkit": lstmkit}


def np_(a):
    """Keras' tensors (and nests of them) → NumPy."""
    if isinstance(a, (list, tuple)):
        return [np_(v) for v in a]
    if isinstance(a, dict):
        return {k: np_(v) for k, v in a.items()}
    return np.asarray(keras.ops.convert_to_numpy(a)) if not isinstance(a, np.ndarray) else a


def same(ours, theirs, what="output"):
    """Shapes exactly, numbers to 1e-5; nests (lists, dicts) entry by entry."""
    if isinstance(theirs, dict):
        assert isinstance(ours, dict) and sorted(ours) == sorted(theirs), (what, ours, theirs)
        for k in theirs:
            same(ours[k], theirs[k], f"{what}[{k!r}]")
        return
    if isinstance(theirs, (list, tuple)):
        assert isinstance(ours, (list, tuple)) and len(ours) == len(theirs), (what, ours)
        for k, (a, b) in enumerate(zip(ours, theirs, strict=True)):
            same(a, b, f"{what}[{k}]")
        return
    a, b = np.asarray(ours), np.asarray(theirs)
    assert a.shape == b.shape, f"{what}: lstmkit shape {a.shape} != keras {b.shape}"
    np.testing.assert_allclose(a.astype(np.float64), b.astype(np.float64), err_msg=what, **TOL)


def weighted(layers):
    return [layer for layer in layers if layer.get_weights()]


def copy_weights(theirs, ours):
    """Keras → lstmkit, layer by layer (the layers with weights, in order; both libraries
    keep Keras' weight shapes and order)."""
    kl, ll = weighted(theirs), weighted(ours)
    assert [len(a.get_weights()) for a in kl] == [len(b.get_weights()) for b in ll], (kl, ll)
    for a, b in zip(kl, ll, strict=True):
        b.set_weights([np_(w) for w in a.get_weights()])


def both(program):
    """(keras object, lstmkit object) from one program."""
    return program(keras), program(lstmkit)


def layer_case(make, x, copy=True, **call):
    """A layer called on x in both libraries (weights copied unless the program fixes them)."""
    k, ours = both(make)
    want = np_(k(x, **call))
    if copy and k.get_weights():
        ours(x, **call)  # builds
        ours.set_weights([np_(w) for w in k.get_weights()])
    got = ours(x, **call)
    same(got, want)
    return k, ours


def model_case(make, x, copy=True):
    """model.predict(x) in both libraries."""
    k, ours = both(make)
    want = np_(k.predict(x, verbose=0))
    if copy:
        if isinstance(ours, lstmkit.Sequential) and not ours.built:
            ours.build(np.shape(x if not isinstance(x, list) else x[0])[1:])
        copy_weights(k.layers, ours.layers)
    same(ours.predict(x), want)
    return k, ours


def train_case(make, compile_kw, x, y, epochs=2, batch_size=4, fit_kw=None, copy=True):
    """compile + fit (no shuffling) in both; the histories and the trained weights agree."""
    k, ours = both(make)
    fit_kw = fit_kw or {}
    if copy:
        if isinstance(ours, lstmkit.Sequential) and not ours.built:
            ours.build(np.shape(x if not isinstance(x, list) else x[0])[1:])
        copy_weights(k.layers, ours.layers)
    k.compile(**compile_kw(keras))
    ours.compile(**compile_kw(lstmkit))
    hk = k.fit(
        x,
        y,
        epochs=epochs,
        batch_size=batch_size,
        shuffle=False,
        verbose=0,
        **fit_kw(keras) if callable(fit_kw) else fit_kw,
    )
    hl = ours.fit(
        x,
        y,
        epochs=epochs,
        batch_size=batch_size,
        shuffle=False,
        verbose=0,
        **fit_kw(lstmkit) if callable(fit_kw) else fit_kw,
    )
    assert sorted(hl.history) == sorted(hk.history), (hl.history, hk.history)
    same({n: v for n, v in hl.history.items()}, {n: v for n, v in hk.history.items()}, "history")
    same(
        [w for layer in weighted(ours.layers) for w in layer.get_weights()],
        [np_(w) for layer in weighted(k.layers) for w in layer.get_weights()],
        "weights",
    )
    return k, ours, hk, hl


def data(*shape, seed=0, scale=1.0):
    return (np.random.default_rng(seed).standard_normal(shape) * scale).astype("float32")
