"""workspace.empty reuses a big array only when nothing else holds it."""

import numpy as np
import pytest

from lstmkit import layers
from lstmkit.core import workspace

BIG = (workspace.MIN_BYTES // 4 + 1,)  # just over the size the workspace keeps


@pytest.fixture(autouse=True)
def _fresh():
    workspace.release()
    yield
    workspace.release()


def test_a_free_array_comes_back_a_held_one_does_not():
    a = workspace.empty(BIG, np.float32)
    a_id = id(a)
    b = workspace.empty(BIG, np.float32)  # a is still held here
    assert b is not a
    del a, b
    c = workspace.empty(BIG, np.float32)
    assert id(c) == a_id  # the first kept one, free again
    view = c[10:]
    del c
    d = workspace.empty(BIG, np.float32)  # a view keeps it alive: not handed out
    assert id(d) != a_id and view.base is not None and id(view.base) == a_id


def test_small_arrays_and_other_shapes_are_new():
    small = workspace.empty((8, 8), np.float32)
    assert workspace.kept_bytes() == 0 and small.shape == (8, 8)
    a = workspace.empty(BIG, np.float32)
    a_id = id(a)
    del a
    other = workspace.empty((BIG[0] + 16,), np.float32)
    assert id(other) != a_id
    again = workspace.empty(BIG, np.float64)  # same shape, other dtype
    assert id(again) != a_id and again.dtype == np.float64


def test_release_forgets_the_kept_arrays():
    workspace.empty(BIG, np.float32)
    assert workspace.kept_bytes() >= workspace.MIN_BYTES
    workspace.release()
    assert workspace.kept_bytes() == 0


@pytest.mark.parametrize("cls", [layers.LSTM, layers.GRU])
def test_a_held_output_is_not_overwritten_by_the_next_call(cls):
    """Outputs, caches and gradients live in workspace arrays; a later call must not
    write into any of them while the caller still holds it."""
    B, D, H = 16, 64, 128
    T = workspace.MIN_BYTES // (4 * B * H) + 1  # (T, B, H) floats: over MIN_BYTES
    rng = np.random.default_rng(0)
    lay = cls(H, return_sequences=True, seed=0)
    x1, x2 = (rng.standard_normal((B, T, D)).astype(np.float32) for _ in range(2))
    y1 = lay.forward(x1, training=True)
    keep = y1.copy()
    dx1 = lay.backward(np.ones_like(y1))
    dkeep = dx1.copy()
    for _ in range(3):  # inference and training calls on other data
        lay.forward(x2)
        y = lay.forward(x2, training=True)
        lay.backward(y)
    np.testing.assert_array_equal(y1, keep)
    np.testing.assert_array_equal(dx1, dkeep)
    assert workspace.kept_bytes() > 0  # (the arrays did go through the workspace)
    del y1, dx1
    again = lay.forward(x1, training=True)  # once free, reused: the same results
    np.testing.assert_array_equal(again, keep)
