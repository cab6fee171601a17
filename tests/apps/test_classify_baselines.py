"""The classify baselines: DTW (row-at-once recurrence, band, unequal lengths) against a
plain double loop over the same band; 1-NN DTW with LB_Keogh pruning and early
abandoning finds the same neighbour as the exhaustive search; 1-NN Euclidean and the
majority class against direct formulas."""

import numpy as np
import pytest

from lstmkit.apps.classify.baselines import (
    band_radius,
    compute_baselines,
    dtw_distance,
    nn1_dtw,
    nn1_euclidean,
)


def dtw_loops(a, b, r):
    """D[i, j] = c + min(D[i−1, j−1], D[i−1, j], D[i, j−1]) over |j − i·s| ≤ max(r, ⌈s⌉)."""
    n, m = len(a), len(b)
    s = (m - 1) / max(n - 1, 1)
    rk = max(r, np.ceil(s))
    D = np.full((n, m), np.inf)
    for i in range(n):
        for j in range(m):
            if abs(j - i * s) > rk + 1e-12:
                continue
            c = float(((a[i] - b[j]) ** 2).sum())
            if i == 0 and j == 0:
                D[i, j] = c
                continue
            prev = min(
                D[i - 1, j - 1] if i and j else np.inf,
                D[i - 1, j] if i else np.inf,
                D[i, j - 1] if j else np.inf,
            )
            D[i, j] = c + prev
    return D[-1, -1]


def test_dtw_equals_the_double_loop():
    rng = np.random.default_rng(0)
    for _ in range(150):
        n, m = rng.integers(1, 25, 2)
        F, r = int(rng.integers(1, 4)), int(rng.integers(1, 6))
        a, b = rng.standard_normal((n, F)), rng.standard_normal((m, F))
        assert dtw_distance(a, b, r) == pytest.approx(dtw_loops(a, b, r), rel=1e-9, abs=1e-9)


def test_dtw_properties():
    rng = np.random.default_rng(1)
    a = rng.standard_normal((30, 2))
    assert dtw_distance(a, a, 3) == 0.0
    b = rng.standard_normal((30, 2))
    assert dtw_distance(a, b, 3) <= ((a - b) ** 2).sum() + 1e-9  # the diagonal is a path
    # a wider band never costs more
    assert dtw_distance(a, b, 10) <= dtw_distance(a, b, 3) + 1e-9
    shifted = np.roll(a, 2, axis=0)
    assert dtw_distance(a, shifted, 3) < ((a - shifted) ** 2).sum()


@pytest.mark.parametrize("equal", [True, False])
def test_nn1_dtw_is_the_exhaustive_search(equal):
    rng = np.random.default_rng(2 + equal)
    for _ in range(12):
        F = int(rng.integers(1, 3))

        def seq(T=None, F=F):
            return rng.standard_normal((T or int(rng.integers(5, 40)), F)).cumsum(0)

        T = int(rng.integers(5, 40)) if equal else None
        train = [seq(T) for _ in range(int(rng.integers(3, 25)))]
        test = [seq(T) for _ in range(8)]
        y = np.arange(len(train))  # every training sequence its own label: the index
        r = band_radius(train, 0.1)
        want = [int(np.argmin([dtw_loops(q, c, r) for c in train])) for q in test]
        np.testing.assert_array_equal(nn1_dtw(train, y, test), want)


def test_euclidean_and_majority():
    rng = np.random.default_rng(4)
    train = [rng.standard_normal((10, 2)) for _ in range(9)]
    test = [rng.standard_normal((10, 2)) for _ in range(5)]
    y = np.array([0, 0, 0, 0, 1, 1, 2, 2, 2])
    d = [[((q - c) ** 2).sum() for c in train] for q in test]
    np.testing.assert_array_equal(nn1_euclidean(train, y, test), y[np.argmin(d, axis=1)])
    y_test = np.array([0, 1, 0, 2, 0])
    b = compute_baselines(train, y, test, y_test)
    assert b["majority"] == pytest.approx(3 / 5)  # class 0 is the training majority
    assert set(b) == {"majority", "1-NN Euclidean", "1-NN DTW"}
    # unequal lengths: padded with zeros at the end
    short = [s[:6] for s in test]
    pad = [np.vstack([s, np.zeros((4, 2))]) for s in short]
    np.testing.assert_array_equal(nn1_euclidean(train, y, short), nn1_euclidean(train, y, pad))
