"""Frozen weights (``Recurrent.freeze_weights``, ``Model.for_inference``): the packed
inference kernel uses its kept packing of them without comparing W_x, W_h with a copy.

What must hold: the same outputs as live weights on every packed ISA here (LSTM and GRU,
B = 1 and B > 1, units and rows splits, call after call); the compare really is skipped
(shown by changing a frozen weight behind the kernel's back, which only a skipped
compare misses); the kernel refuses a token on writable weights; a frozen model cannot be
trained and its source model is untouched.
"""

import copy
import os

import numpy as np
import pytest
from threadpoolctl import threadpool_limits

import lstmkit
from lstmkit import layers
from lstmkit.core import gates

HAVE_EXT = gates.extension_available() and os.environ.get("LSTMKIT_NO_EXT", "") in ("", "0")
BEST = gates.kernel_details()["best"] if HAVE_EXT else None
ORDER = ["baseline", "avx2", "avx512"]  # narrow → wide (baseline: SSE2 or NEON)
ISAS = [
    i
    for i in ORDER
    if BEST is not None
    and (i == "baseline" or (BEST in ORDER[1:] and ORDER.index(i) <= ORDER.index(BEST)))
]
needs_ext = pytest.mark.skipif(not HAVE_EXT, reason="the compiled kernel is not built here")


def _stack(cell, D, H, n, seed):
    cls = {"LSTM": layers.LSTM, "GRU": layers.GRU}[cell]
    stack = [cls(H, return_sequences=True, seed=seed + k) for k in range(n)]
    return stack


def _run(stack, x):
    y = x
    for lay in stack:
        y = lay.forward(y, training=False)
    return np.array(y)


@needs_ext
@pytest.mark.parametrize("isa", ISAS)
@pytest.mark.parametrize("split", ["units", "rows"])
@pytest.mark.parametrize("cell,B", [("LSTM", 1), ("LSTM", 6), ("GRU", 1), ("GRU", 6)])
def test_frozen_layers_give_the_live_layers_outputs(cell, B, split, isa, monkeypatch):
    monkeypatch.setenv("LSTMKIT_ISA", isa)
    monkeypatch.setenv("LSTMKIT_SPLIT", split)
    rng = np.random.default_rng([B, cell == "GRU"])
    T, D, H = 9, 7, 37  # H a multiple of no vector width
    x = rng.standard_normal((B, T, D)).astype(np.float32)
    live = _stack(cell, D, H, 2, seed=3)
    _run(live, x)  # (builds)
    frozen = copy.deepcopy(live)
    for lay in frozen:
        lay.freeze_weights()
        assert lay.frozen and not lay.params[0].flags.writeable
    with threadpool_limits(2):
        for call in range(3):  # the first packs, the next ones reuse the kept packing
            np.testing.assert_array_equal(_run(frozen, x), _run(live, x), err_msg=f"call {call}")


@needs_ext
@pytest.mark.parametrize("cell", ["LSTM", "GRU"])
def test_frozen_weights_are_not_compared(cell):
    """A change behind the kernel's back (writeable turned on again, which the docstring
    forbids) is caught for live weights and, by design, not for frozen ones: the compare
    is skipped. Without the token honoured the second result would change."""
    rng = np.random.default_rng(5)
    x = rng.standard_normal((1, 6, 5)).astype(np.float32)
    (lay,) = _stack(cell, 5, 16, 1, seed=1)
    with threadpool_limits(2):
        lay.forward(x)  # (builds)
        lay.freeze_weights()
        before = _run([lay], x)
        W_h = lay.params[1]
        W_h.flags.writeable = True
        W_h[0, 0] += 3.0  # same array, same address: the kept packing still matches
        W_h.flags.writeable = False
        assert lay.frozen
        np.testing.assert_array_equal(_run([lay], x), before)  # not compared: old packing
        W_h.flags.writeable = True  # live again: compared, repacked, the new result
        assert not lay.frozen
        assert not np.array_equal(_run([lay], x), before)


@needs_ext
@pytest.mark.parametrize("isa", ISAS)
@pytest.mark.parametrize("split", ["units", "rows"])
@pytest.mark.parametrize("cell", ["LSTM", "GRU"])
def test_frozen_weights_keep_no_copy_to_compare_with(cell, split, isa, monkeypatch):
    """The scratch an inference call keeps: a live layer's holds a copy of W_x, W_h (what
    the next call compares with), a frozen layer's does not, and is smaller by exactly
    their size. Then a live call on the same thread still gets its copy and its answer."""
    monkeypatch.setenv("LSTMKIT_ISA", isa)
    monkeypatch.setenv("LSTMKIT_SPLIT", split)
    x = np.random.default_rng(2).standard_normal((3, 9, 7)).astype(np.float32)
    (live,) = _stack(cell, 7, 37, 1, seed=4)
    with threadpool_limits(2):
        _run([live], x)  # (builds)
        frozen = copy.deepcopy(live)
        frozen.freeze_weights()
        kept = {}
        for name, lay in (("live", live), ("frozen", frozen)):
            gates.release_scratch()
            assert gates.scratch_bytes() == 0
            out = _run([lay], x)
            kept[name] = gates.scratch_bytes()
            np.testing.assert_array_equal(_run([lay], x), out)  # (from what it kept)
        W_x, W_h = live.params[0], live.params[1]
        assert kept["live"] - kept["frozen"] == W_x.nbytes + W_h.nbytes
        assert kept["frozen"] >= W_x.nbytes + W_h.nbytes  # (the packed weights stay)
        np.testing.assert_array_equal(_run([live], x), _run([frozen], x))
        assert gates.scratch_bytes() >= kept["live"]  # the live layer's copy is back


@needs_ext
def test_the_kernel_refuses_a_token_on_writable_weights():
    ext = gates.loop_module(np.float32)
    T, B, D, H = 3, 1, 4, 8
    z = np.zeros
    kw = dict(
        x=z((T, B, D), np.float32),
        W_x=z((D, 4 * H), np.float32),
        W_h=z((H, 4 * H), np.float32),
        b=z(4 * H, np.float32),
        hs=z((T + 1, B, H), np.float32),
        cs=z((2, B, H), np.float32),
        tcs=z((1, B, H), np.float32),
        act=z((T, B, 4 * H), np.float32),
        training=False,
    )
    with pytest.raises(ValueError, match="frozen weights must be read-only"):
        ext.lstm_forward(**kw, frozen=7)
    for k in ("W_x", "W_h"):
        kw[k].flags.writeable = False
    ext.lstm_forward(**kw, frozen=7)  # read-only: accepted


def _model():
    m = lstmkit.Sequential(
        [
            lstmkit.layers.Input((8, 3)),
            lstmkit.layers.Bidirectional(lstmkit.layers.LSTM(6, return_sequences=True)),
            lstmkit.layers.GRU(5),
            lstmkit.layers.Dense(2),
        ]
    )
    m.compile(optimizer="adam", loss="mse")
    return m


def test_for_inference_predicts_the_same_and_cannot_be_trained():
    rng = np.random.default_rng(0)
    x = rng.standard_normal((4, 8, 3)).astype(np.float32)
    y = rng.standard_normal((4, 2)).astype(np.float32)
    model = _model()
    served = model.for_inference()
    np.testing.assert_array_equal(served.predict(x), model.predict(x))
    recurrent = [
        leaf
        for leaf in lstmkit.layers.base.rng_layers(served.layers)
        if hasattr(leaf, "freeze_weights")
    ]
    assert len(recurrent) == 3 and all(leaf.frozen for leaf in recurrent)  # both directions
    with pytest.raises(RuntimeError, match="frozen for inference"):
        served.fit(x, y, epochs=1, verbose=0)
    with pytest.raises(ValueError, match="read-only"):
        recurrent[0].params[0][0, 0] = 1.0
    before = model.get_weights()
    model.fit(x, y, epochs=1, verbose=0)  # the source trains as before
    assert any(not np.array_equal(a, b) for a, b in zip(before, model.get_weights(), strict=True))


def test_set_weights_on_a_served_model_replaces_the_frozen_weights():
    """A server loading new weights: set_weights on a for_inference() copy (a Bidirectional
    half included) gives new frozen copies with a new token, and the predictions follow."""
    rng = np.random.default_rng(1)
    x = rng.standard_normal((2, 8, 3)).astype(np.float32)
    y = rng.standard_normal((2, 2)).astype(np.float32)
    model = _model()
    served = model.for_inference()
    served.predict(x)  # (the kernel keeps a packing of the first weights)
    model.fit(x, y, epochs=2, verbose=0)  # new weights in the source
    tokens = [
        leaf._frozen
        for leaf in lstmkit.layers.base.rng_layers(served.layers)
        if leaf.params and hasattr(leaf, "freeze_weights")
    ]
    served.set_weights(model.get_weights())
    leaves = [
        leaf
        for leaf in lstmkit.layers.base.rng_layers(served.layers)
        if leaf.params and hasattr(leaf, "freeze_weights")
    ]
    assert all(leaf.frozen for leaf in leaves)
    assert all(leaf._frozen not in tokens for leaf in leaves)  # new tokens: no stale packing
    np.testing.assert_array_equal(served.predict(x), model.predict(x))
    with pytest.raises(ValueError, match="expected"):
        served.set_weights(model.get_weights()[:-1])
