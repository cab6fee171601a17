"""Forecast accuracy and the two baselines every forecast is measured against.

With y the actuals and ŷ the forecasts over the backtest (all origins, all horizons):

    mae   = mean |y − ŷ|
    rmse  = √ mean (y − ŷ)²
    mase  = mae / d,   d = mean_t |y_t − y_{t−m}| over the training part, m the season
            (1 without one; Hyndman & Koehler 2006, M4: < 1 beats the in-sample
            seasonal-naive forecast)
    smape = 100 · mean 2|y − ŷ| / (|y| + |ŷ|)      (0…200, in percent; 0/0 counts as 0)

Baselines from an origin t (last observed value y_t), h = 1…H:

    naive            ŷ_{t+h} = y_t
    seasonal naive   ŷ_{t+h} = y_{t+h−m·k},  k = ⌈h/m⌉  (the same season one period back)
"""

from __future__ import annotations

import numpy as np


def mase_scale(train, lag: int = 1) -> float:
    """d = mean |y_t − y_{t−lag}| on the training part (the denominator of MASE)."""
    train = np.asarray(train, np.float64)
    d = float(np.mean(np.abs(train[lag:] - train[:-lag]))) if len(train) > lag else 0.0
    return d if d > 0 else 1.0


def owa(smape: float, mase: float, smape_ref: float, mase_ref: float) -> float:
    """M4's overall weighted average: ½ (sMAPE / sMAPE_ref + MASE / MASE_ref); < 1 beats
    the reference (M4: Naive2)."""
    r1 = smape / smape_ref if smape_ref > 0 else 1.0
    r2 = mase / mase_ref if mase_ref > 0 else 1.0
    return 0.5 * (r1 + r2)


def scores(y_true, y_pred, scale: float) -> dict:
    y, p = np.asarray(y_true, np.float64), np.asarray(y_pred, np.float64)
    err = y - p
    mae = float(np.mean(np.abs(err)))
    denom = np.abs(y) + np.abs(p)
    ratio = np.divide(2 * np.abs(err), denom, out=np.zeros_like(denom), where=denom > 0)
    return {
        "mae": mae,
        "rmse": float(np.sqrt(np.mean(err**2))),
        "mase": mae / scale,
        "smape": float(100 * np.mean(ratio)),
    }


def naive(series, origins, horizon: int) -> np.ndarray:
    """(n_origins, H): the last observed value y_t repeated H times."""
    y = np.asarray(series, np.float64)
    return np.repeat(y[np.asarray(origins)][:, None], horizon, axis=1)


def seasonal_naive(series, origins, horizon: int, season: int) -> np.ndarray:
    """(n_origins, H): y_{t+h−m·⌈h/m⌉}; with no season (m < 2) it is the naive forecast."""
    if season < 2:
        return naive(series, origins, horizon)
    y = np.asarray(series, np.float64)
    h = np.arange(1, horizon + 1)
    back = h - season * np.ceil(h / season).astype(int)  # ≤ 0: index relative to t
    return y[np.asarray(origins)[:, None] + back[None, :]]


def detect_season(series, max_lag: int | None = None) -> int:
    """The lag (≥ 2) of the highest autocorrelation of the first differences, if it is
    above 0.2; else 0. A cheap stand-in for a periodogram, good for monthly/weekly data."""
    d = np.diff(np.asarray(series, np.float64))
    d = d - d.mean()
    n = len(d)
    max_lag = min(max_lag or n // 3, n // 2, 400)
    if max_lag < 2 or not np.any(d):
        return 0
    var = float(d @ d)
    acf = np.array([d[:-k] @ d[k:] / var for k in range(1, max_lag + 1)])
    k = int(np.argmax(acf[1:]) + 2)  # lags 2…max_lag
    return k if acf[k - 1] > 0.2 else 0
