"""Sliding windows for direct multi-step forecasting.

For a series of N steps with F features, window k covers steps k … k+L−1 (the
lookback) and its targets are the H steps after it::

    X[k] = series[k : k+L]            (L, F)
    Y[k] = target[k+L : k+L+H]        (H,)
"""

from __future__ import annotations

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view

__all__ = ["make_windows", "n_windows"]


def n_windows(n_steps: int, lookback: int, horizon: int) -> int:
    return max(0, n_steps - lookback - horizon + 1)


def make_windows(series, target, lookback: int, horizon: int):
    """series (N, F), target (N,) → X (n, L, F), Y (n, H) with n = N − L − H + 1."""
    series = np.asarray(series)
    if series.ndim == 1:
        series = series[:, None]
    target = np.asarray(target)
    n = n_windows(len(series), lookback, horizon)
    if n == 0:
        raise ValueError(
            f"need at least lookback + horizon = {lookback + horizon} steps, got {len(series)}"
        )
    X = sliding_window_view(series, lookback, axis=0)[:n]  # (n, F, L)
    X = np.ascontiguousarray(X.transpose(0, 2, 1))  # (n, L, F)
    Y = np.ascontiguousarray(sliding_window_view(target[lookback:], horizon)[:n])  # (n, H)
    return X, Y
