"""Forecast accuracy measures and baselines, checked against direct computations."""

import numpy as np
import pytest

from lstmkit.apps.forecast import metrics as mf


def test_scores_match_definitions():
    rng = np.random.default_rng(1)
    y, p = rng.uniform(1, 5, 40), rng.uniform(1, 5, 40)
    train = rng.normal(size=30).cumsum()
    s = mf.scores(y, p, mf.mase_scale(train))
    d = sum(abs(train[i] - train[i - 1]) for i in range(1, 30)) / 29
    assert s["mae"] == pytest.approx(sum(abs(a - b) for a, b in zip(y, p, strict=True)) / 40)
    assert s["rmse"] == pytest.approx(
        (sum((a - b) ** 2 for a, b in zip(y, p, strict=True)) / 40) ** 0.5
    )
    assert s["mase"] == pytest.approx(s["mae"] / d)
    assert s["smape"] == pytest.approx(
        100 / 40 * sum(2 * abs(a - b) / (abs(a) + abs(b)) for a, b in zip(y, p, strict=True))
    )


def test_seasonal_naive_is_exact_on_a_periodic_series_and_naive_is_not():
    m, H = 7, 10
    y = np.tile(np.arange(m, dtype=float) ** 2, 12)
    origins = np.arange(20, len(y) - H)
    actual = y[origins[:, None] + np.arange(1, H + 1)]
    np.testing.assert_array_equal(mf.seasonal_naive(y, origins, H, m), actual)
    assert np.abs(mf.naive(y, origins, H) - actual).mean() > 1
    np.testing.assert_array_equal(mf.naive(y, origins, H)[:, -1], y[origins])


def test_detect_season():
    t = np.arange(300)
    rng = np.random.default_rng(0)
    y = 0.05 * t + np.sin(2 * np.pi * t / 12) + 0.1 * rng.normal(size=300)
    assert mf.detect_season(y) == 12
    assert mf.detect_season(rng.normal(size=300).cumsum()) == 0  # a random walk has none


def test_seasonal_mase_scale_and_owa():
    y = np.tile([1.0, 5.0, 2.0, 8.0], 5) + np.arange(20)
    assert mf.mase_scale(y, 4) == pytest.approx(4.0)  # |y_t − y_{t−4}| = 4 everywhere
    assert mf.mase_scale(y) == pytest.approx(np.abs(np.diff(y)).mean())
    assert mf.owa(10, 0.5, 20, 1.0) == pytest.approx(0.5)
    assert mf.owa(20, 1.0, 20, 1.0) == pytest.approx(1.0)
