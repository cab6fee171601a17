"""Property tests of the recurrent layers (LSTM, GRU, SimpleRNN), with the compiled kernel
and with the NumPy path (``LSTMKIT_NO_EXT=1``), over random shapes, dtypes, masks and
initial states:

* forward and backward give finite values from finite input;
* running the sequence in two chunks (the first chunk's final states fed as the second's
  initial states) equals running it whole;
* float32 ≈ float64 with the same weights;
* extreme inputs (±1e4, ±1e30, subnormals) give finite outputs, |h| ≤ 1, finite
  gradients, and no overflow / invalid / divide-by-zero floating-point event (those
  raise here; underflow to a subnormal is not an error: it is the saturated answer).
"""

from __future__ import annotations

import warnings

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from lstmkit import GRU, LSTM, SimpleRNN
from lstmkit.core import gates

CELLS = {"LSTM": LSTM, "GRU": GRU, "SimpleRNN": SimpleRNN}
SETTINGS = settings(
    max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)


@pytest.fixture(params=["compiled", "numpy"])
def path(request, monkeypatch):
    if request.param == "compiled":
        if not gates.extension_available():
            pytest.skip("the compiled kernel is not built on this machine")
        monkeypatch.delenv("LSTMKIT_NO_EXT", raising=False)
    else:
        monkeypatch.setenv("LSTMKIT_NO_EXT", "1")
    return request.param


@st.composite
def problems(draw, extreme=False):
    cell = draw(st.sampled_from(sorted(CELLS)))
    dtype = draw(st.sampled_from(["float32", "float64"]))
    B, T, D = draw(st.integers(1, 4)), draw(st.integers(1, 7)), draw(st.integers(1, 5))
    seed = draw(st.integers(0, 2**16))
    rng = np.random.default_rng(seed)
    if extreme:
        big = draw(st.sampled_from([1e4, 1e30, float(np.finfo(dtype).smallest_subnormal), 0.0]))
        x = (rng.choice([-1.0, 1.0], (B, T, D)) * big).astype(dtype)
    else:
        x = (rng.standard_normal((B, T, D)) * draw(st.sampled_from([0.1, 1.0, 3.0]))).astype(dtype)
    mask = None
    if draw(st.booleans()):
        mask = (rng.random((B, T)) > 0.3).astype(dtype)
    state = draw(st.booleans())
    return cell, dtype, x, mask, state, seed


def _layer(cell, dtype, seed, **kw):
    return CELLS[cell](
        int(kw.pop("H")), dtype=dtype, seed=seed, return_sequences=True, return_state=True, **kw
    )


def _init_states(cell, B, H, dtype, seed):
    n = CELLS[cell].n_states
    rng = np.random.default_rng(seed + 1)
    return [np.tanh(rng.standard_normal((B, H))).astype(dtype) for _ in range(n)]


def _strict():
    """overflow / invalid / divide-by-zero raise; any warning raises."""

    class Ctx:
        def __enter__(self):
            self.e = np.errstate(over="raise", invalid="raise", divide="raise", under="ignore")
            self.w = warnings.catch_warnings()
            self.e.__enter__()
            self.w.__enter__()
            warnings.simplefilter("error")

        def __exit__(self, *a):
            self.w.__exit__(*a)
            self.e.__exit__(*a)

    return Ctx()


def _run(layer, x, mask, states, seed):
    ys = layer.forward(x, training=True, mask=mask, initial_state=states)
    hs, finals = ys[0], ys[1:]
    dy = np.random.default_rng(seed + 2).standard_normal(hs.shape).astype(x.dtype)
    dx = layer.backward(dy)
    return hs, finals, dx, [g.copy() for g in layer.grads]


@SETTINGS
@given(p=problems(), H=st.integers(1, 6))
def test_finite_forward_backward_and_chunked_equals_whole(path, p, H):
    cell, dtype, x, mask, use_state, seed = p
    B, T, _ = x.shape
    states = _init_states(cell, B, H, dtype, seed) if use_state else None
    with _strict():
        whole = _layer(cell, dtype, seed, H=H)
        hs, finals, dx, grads = _run(whole, x, mask, states, seed)
        for a in (hs, dx, *finals, *grads):
            assert np.isfinite(a).all()
        # in two chunks: the final states of the first start the second
        t1 = T // 2
        if t1:
            part = _layer(cell, dtype, seed, H=H)
            part.build(x.shape[1:])
            part.set_weights(whole.get_weights())
            m1 = None if mask is None else mask[:, :t1]
            m2 = None if mask is None else mask[:, t1:]
            y1 = part.forward(x[:, :t1], mask=m1, initial_state=states)
            y2 = part.forward(x[:, t1:], mask=m2, initial_state=list(y1[1:]))
            tol = 1e-5 if dtype == "float32" else 1e-12
            np.testing.assert_allclose(
                np.concatenate([y1[0], y2[0]], axis=1), hs, rtol=tol, atol=tol
            )
            for a, b in zip(y2[1:], finals, strict=True):
                np.testing.assert_allclose(a, b, rtol=tol, atol=tol)


@SETTINGS
@given(p=problems(), H=st.integers(1, 6))
def test_float32_matches_float64(path, p, H):
    cell, _, x, mask, use_state, seed = p
    B = x.shape[0]
    states = _init_states(cell, B, H, "float64", seed) if use_state else None
    l64 = _layer(cell, "float64", seed, H=H)
    l32 = _layer(cell, "float32", seed, H=H)
    with _strict():
        h64, f64, dx64, g64 = _run(l64, x.astype(np.float64), mask, states, seed)
        l32.build(x.shape[1:])
        l32.set_weights([w.astype(np.float32) for w in l64.get_weights()])
        s32 = None if states is None else [s.astype(np.float32) for s in states]
        h32, f32, dx32, g32 = _run(l32, x.astype(np.float32), mask, s32, seed)
    assert h32.dtype == np.float32 and dx32.dtype == np.float32
    np.testing.assert_allclose(h32, h64, rtol=1e-4, atol=2e-5)
    np.testing.assert_allclose(dx32, dx64, rtol=1e-3, atol=1e-4)
    for a, b in zip(g32, g64, strict=True):
        np.testing.assert_allclose(a, b, rtol=1e-3, atol=2e-4 * (1 + np.abs(b).max()))


@SETTINGS
@given(p=problems(extreme=True), H=st.integers(1, 6))
def test_extreme_inputs_saturate_without_fp_errors(path, p, H):
    cell, dtype, x, mask, use_state, seed = p
    B = x.shape[0]
    states = _init_states(cell, B, H, dtype, seed) if use_state else None
    with _strict():
        layer = _layer(cell, dtype, seed, H=H)
        hs, finals, dx, grads = _run(layer, x, mask, states, seed)
    for a in (hs, *finals, dx, *grads):
        assert np.isfinite(a).all()
    assert np.abs(hs).max() <= 1.0  # h is a product of squashed values
