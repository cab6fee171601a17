"""The statistical forecasts every LSTM forecast is scored against, from a list of origins.

Each function takes one series y, the origins t (the forecast from t sees y_0…y_t), the
horizon H and the season m, and returns (len(origins), H). The last origin is usually
n − 1: the forecast past the end comes out of the same call as the backtest.

    naive            ŷ_{t+h} = y_t
    seasonal_naive   ŷ_{t+h} = y_{t+h−m⌈h/m⌉}
    naive2           the naive forecast of the seasonally adjusted series (M4's Naive2):
                     ŷ_{t+h} = T⁻¹(z_t + s_{t+h})  with z, s, T from :mod:`.transforms`
    ets              statsmodels' Holt-Winters exponential smoothing with a damped additive
                     trend, and a season (multiplicative when :mod:`.transforms` chose the
                     log, additive otherwise) when the seasonal test passes; without
                     statsmodels, lstmkit's own damped Holt on z (:func:`holt`), smoothing
                     weights by a grid search of the one-step squared error
    arima            statsmodels' ARIMA(p, d, q) on z, d = 1 when KPSS rejects level
                     stationarity (then with drift), (p, q) from a short list by AICc
"""

from __future__ import annotations

import contextlib
import importlib.util
import warnings
from typing import Any

import numpy as np

from . import metrics as mf
from .transforms import fit_prep

__all__ = ["BASELINES", "forecast_at", "have_statsmodels", "holt", "ets_source"]

BASELINES = ("naive", "seasonal_naive", "naive2", "ets", "arima")


def have_statsmodels() -> bool:
    return importlib.util.find_spec("statsmodels") is not None


def ets_source() -> str:
    return "statsmodels" if have_statsmodels() else "lstmkit"


# ------------------------------------------------------------------ lstmkit's own ETS
_A = np.array([0.05, 0.1, 0.2, 0.3, 0.5, 0.7, 0.9, 1.0])
_B = np.array([0.0, 0.02, 0.05, 0.1, 0.2])
_PHI = np.array([0.8, 0.9, 0.95, 0.98, 1.0])


def holt(z: np.ndarray, H: int) -> np.ndarray:
    """Damped-trend Holt on z, (H,) forecasts. With level l, trend b:

        e_t = z_t − (l + φ b)   l ← l + φ b + α e_t   b ← φ b + α β e_t
        ẑ_{n+h} = l + (φ + φ² + … + φ^h) b

    (α, β, φ) minimise Σ e_t² over a grid, all at once (a column per combination);
    β = 0 with b₀ = 0 is the no-trend form (simple exponential smoothing)."""
    z = np.asarray(z, np.float64)
    a, b_, phi = (g.ravel() for g in np.meshgrid(_A, _B, _PHI, indexing="ij"))
    a, b_, phi = np.r_[a, _A], np.r_[b_, np.zeros(len(_A))], np.r_[phi, np.ones(len(_A))]
    trend = np.r_[np.ones(len(a) - len(_A)), np.zeros(len(_A))]  # (K,) 0: no-trend column
    n = len(z)
    b0 = (z[min(n - 1, 4)] - z[0]) / max(1, min(n - 1, 4)) if n > 1 else 0.0
    level = np.full(len(a), z[0])  # (K,)
    slope = trend * b0  # (K,)
    sse = np.zeros(len(a))
    for t in range(1, n):
        f = level + phi * slope
        e = z[t] - f
        sse += e * e
        level = f + a * e
        slope = trend * (phi * slope + a * b_ * e)
    k = int(np.argmin(sse))
    damp = np.cumsum(phi[k] ** np.arange(1, H + 1))  # (H,) φ + … + φ^h
    return level[k] + damp * slope[k]


# ------------------------------------------------------------------ statsmodels
def _one_blas_thread():
    """statsmodels' fits call scipy's L-BFGS-B, whose BLAS calls are tiny: with a thread
    pool per call on a busy machine one fit took 7.7 s instead of 0.33 s (measured on 2
    shared cores). One BLAS thread for them, through threadpoolctl when it is there."""
    try:
        from threadpoolctl import threadpool_limits
    except ImportError:
        return contextlib.nullcontext()
    return threadpool_limits(limits=1, user_api="blas")


def _sm_ets_model(y, m, form, params=None):
    from statsmodels.tsa.holtwinters import ExponentialSmoothing

    trend, seasonal = form
    init: dict[str, Any] = {"initialization_method": "estimated"}
    if params is not None:  # the weights and start values of an earlier fit: no search
        init = {
            "initialization_method": "known",
            "initial_level": params["initial_level"],
            "initial_trend": params["initial_trend"] if trend else None,
            "initial_seasonal": params["initial_seasons"] if seasonal else None,
        }
    return ExponentialSmoothing(
        y,
        trend=trend,
        damped_trend=trend is not None,
        seasonal=seasonal,
        seasonal_periods=m if seasonal else None,
        **init,
    )


def _sm_ets(y, origins, H, m, refit_last: bool) -> np.ndarray:
    """Fit at the first origin; later origins run the same model (weights and start values
    kept) over the longer history; the last origin is refitted when ``refit_last``."""
    first = y[: origins[0] + 1]
    prep = fit_prep(first, m)
    form = ("add", ("mul" if prep.log else "add") if prep.s else None)
    with warnings.catch_warnings(), _one_blas_thread():
        warnings.simplefilter("ignore")  # statsmodels' convergence chatter
        try:
            fit = _sm_ets_model(first, m, form).fit()
        except Exception:  # noqa: BLE001 — e.g. too short for the seasonal form
            form = ("add", None)
            fit = _sm_ets_model(first, m, form).fit()
        keys = ["smoothing_level"] + ["smoothing_trend", "damping_trend"] * bool(form[0])
        keys += ["smoothing_seasonal"] * bool(form[1])
        fixed = {k: fit.params[k] for k in keys}
        out = []
        for k, t in enumerate(origins):
            hist = y[: t + 1]
            if k == 0:
                r = fit
            elif refit_last and k == len(origins) - 1:
                r = _sm_ets_model(hist, m, form).fit()
            else:
                r = _sm_ets_model(hist, m, form, fit.params).fit(optimized=False, **fixed)
            f = np.asarray(r.forecast(H), np.float64)
            out.append(f if np.all(np.isfinite(f)) else np.full(H, y[t]))
    return np.asarray(out, np.float64)


_ORDERS = [(0, 0), (1, 0), (0, 1), (1, 1), (2, 0), (2, 2)]  # (p, q) tried at the first origin


def _arima(y, origins, H, m, refit_last: bool) -> np.ndarray:
    """ARIMA on z: (p, d, q) by AICc at the first origin; later origins run the fitted
    model over the longer history (``apply``); the last is refitted when ``refit_last``."""
    from statsmodels.tsa.arima.model import ARIMA
    from statsmodels.tsa.stattools import kpss

    first = y[: origins[0] + 1]
    prep = fit_prep(first, m)  # one transform for all origins: the fitted model applies to z
    z = prep.z(y)
    h = np.arange(1, H + 1)
    with warnings.catch_warnings(), _one_blas_thread():
        warnings.simplefilter("ignore")
        try:
            d = 1 if kpss(z[: len(first)], regression="c", nlags="auto")[1] < 0.05 else 0
        except Exception:  # noqa: BLE001
            d = 1
        trend = "t" if d else "c"
        best, fit = np.inf, None
        for p, q in _ORDERS:
            try:
                r = ARIMA(z[: len(first)], order=(p, d, q), trend=trend).fit()
            except Exception:  # noqa: BLE001 — an order that does not fit is skipped
                continue
            if np.isfinite(r.aicc) and r.aicc < best:
                best, fit = r.aicc, r
        out = []
        for k, t in enumerate(origins):
            zt = z[: t + 1]
            try:
                if fit is None:
                    raise ValueError("no ARIMA order fitted")
                if k == 0:
                    r = fit
                elif refit_last and k == len(origins) - 1:
                    r = ARIMA(zt, order=fit.model.order, trend=trend).fit()
                else:
                    r = fit.apply(zt)
                zf = np.asarray(r.forecast(H), np.float64)
            except Exception:  # noqa: BLE001
                zf = np.full(H, zt[-1])
            out.append(prep.y(zf, t + h))
    return np.asarray(out, np.float64)


# ------------------------------------------------------------------ one entry point
def forecast_at(
    name: str, y: np.ndarray, origins, H: int, m: int, refit_last: bool = True
) -> np.ndarray:
    """(len(origins), H) forecasts of baseline ``name`` (one of BASELINES). ETS and ARIMA
    are fitted at the first origin and re-run at later ones; ``refit_last`` refits the last
    origin's (the final forecast's) on all its history."""
    y = np.asarray(y, np.float64)
    origins = np.asarray(origins, int)
    h = np.arange(1, H + 1)
    if name == "naive":
        return mf.naive(y, origins, H)
    if name == "seasonal_naive":
        return mf.seasonal_naive(y, origins, H, m if m >= 2 and origins.min() >= m - 1 else 0)
    if name == "naive2":
        out = []
        for t in origins:
            prep = fit_prep(y[: t + 1], m)
            out.append(prep.y(np.full(H, prep.z(y[: t + 1])[-1]), t + h))
        return np.asarray(out)
    if name == "ets":
        if have_statsmodels():
            return _sm_ets(y, origins, H, m, refit_last)
        out = []
        for t in origins:
            prep = fit_prep(y[: t + 1], m)
            out.append(prep.y(holt(prep.z(y[: t + 1]), H), t + h))
        return np.asarray(out)
    if name == "arima":
        if not have_statsmodels():
            raise RuntimeError("arima needs statsmodels")
        return _arima(y, origins, H, m, refit_last)
    raise ValueError(f"unknown baseline {name!r}")
