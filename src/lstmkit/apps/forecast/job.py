"""Forecast a series H steps ahead with a direct multi-output LSTM, and measure it honestly.

The model sees differences, not levels, so a trend it has not seen in training
(CO₂ keeps rising) does not push its inputs out of range. With y the target,
d_t = y_t − y_{t−1}, and μ, σ the mean and spread of d on the training part:

    input at step s   x_s = [(d_s − μ)/σ, standardised covariates at s]     (L steps up to t)
    output, h = 1…H   ŷ_{t+h} = y_t + h·μ + σ · LSTM(x)_h

so an LSTM that outputs zeros is the "naive with drift" forecast, and training
only has to learn what differs from it (the season, the cycle).

Backtest: the last ``test_size`` steps are held out. From every origin t whose
H targets fall in that tail the model, the naive and the seasonal-naive forecasts
are made, and mae / rmse / mase / smape are taken over all origins and horizons
(``metrics_forecast``). The model never trains on the tail; early stopping
watches the last 15 % of the training windows.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field

import numpy as np

from ...callbacks import EarlyStopping
from ...data.scaling import StandardScaler
from ...errors import UserError
from ...layers import LSTM, Dense
from ...model import Sequential
from ...optim import Adam
from ...resources import check_training_memory  # refuse before fit allocates
from ..shared.modelfiles import save_job_model
from ..shared.outdir import write_json
from ..shared.progress import epoch_bar
from ..shared.tables import format_table
from . import metrics as mf
from . import timeaxis
from .plot import forecast_plot


@dataclass
class ForecastConfig:
    target: str
    time: str | None = None
    covariates: list[str] = field(default_factory=list)
    horizon: int = 12
    lookback: int | None = None  # None: 2·season (at least 2·horizon when no season)
    season: int | None = None  # None: detect from the autocorrelation of differences
    test_size: int | None = None  # None: max(2·H, 20 % of the series)
    epochs: int = 150
    batch_size: int = 32
    units: int = 32
    learning_rate: float = 3e-3
    patience: int = 25
    seed: int = 0
    verbose: int = 1


@dataclass
class Series:
    """The data of one run: the target y (N,), covariates (N, C), time labels."""

    name: str
    y: np.ndarray
    cov: np.ndarray
    times: list[str] | None


def load_series(table, cfg: ForecastConfig, label: str) -> Series:
    y = table.numeric(cfg.target)
    cov = (
        np.stack([table.numeric(c) for c in cfg.covariates], axis=1)
        if cfg.covariates
        else np.zeros((len(y), 0))
    )
    times = table.strings(cfg.time) if cfg.time else None
    return Series(label, y, cov, times)


def guess_time_column(columns: list[str], target: str) -> str | None:
    for c in columns:
        if c != target and c.strip().lower() in (
            "time",
            "date",
            "month",
            "year",
            "datetime",
            "timestamp",
            "ds",
            "period",
            "week",
            "day",
        ):
            return c
    return None


# ------------------------------------------------------------------ windows
def features(s: Series, mu: float, sigma: float, cov_scaler: StandardScaler | None):
    """(N, F) inputs per step: row s = [(d_s − μ)/σ, covariates]; row 0 has d_0 = μ (unused)."""
    d = np.diff(s.y, prepend=s.y[0] + mu)  # (N,) d_0 := μ → feature 0
    feats = [((d - mu) / sigma)[:, None]]
    if s.cov.shape[1]:
        feats.append(cov_scaler.transform(s.cov))
    return np.concatenate(feats, axis=1).astype(np.float32)  # (N, F)


def windows_at(feats, origins, lookback: int) -> np.ndarray:
    """X (n, L, F): the L feature rows ending at each origin t (inclusive)."""
    idx = np.asarray(origins)[:, None] + np.arange(-lookback + 1, 1)[None, :]  # (n, L)
    return feats[idx]


def targets_at(y, origins, horizon: int, mu: float, sigma: float) -> np.ndarray:
    """Y (n, H): (y_{t+h} − y_t − h·μ)/σ."""
    o = np.asarray(origins)
    h = np.arange(1, horizon + 1)
    return ((y[o[:, None] + h] - y[o][:, None] - h * mu) / sigma).astype(np.float32)


def to_levels(y, origins, pred, mu: float, sigma: float) -> np.ndarray:
    """ŷ_{t+h} = y_t + h·μ + σ·pred_h."""
    h = np.arange(1, pred.shape[1] + 1)
    return y[np.asarray(origins)][:, None] + h * mu + sigma * np.asarray(pred, np.float64)


# ------------------------------------------------------------------ settings
def resolve(cfg: ForecastConfig, n: int, y) -> tuple[int, int, int, int]:
    """→ (season, lookback, horizon, test_size), checking the series is long enough."""
    H = int(cfg.horizon)
    if H < 1:
        raise UserError(f"--horizon must be at least 1, got {H}")
    season = mf.detect_season(y) if cfg.season is None else int(cfg.season)
    L = cfg.lookback or (max(2 * season, 8) if season >= 2 else max(2 * H, 8))
    if L < 1:
        raise UserError(f"--lookback must be at least 1, got {L}")
    test = cfg.test_size or max(2 * H, int(round(0.2 * n)))
    need = L + 1 + 2 * H + 8 + max(test, H)
    if n < need:
        raise UserError(
            f"series '{cfg.target}' has {n} values; lookback {L} + horizon {H} need "
            f"at least {need} (with a backtest of {max(test, H)} held-out steps and "
            f"8 training windows) — use a smaller --lookback/--horizon/--test-size"
        )
    return season, L, H, max(test, H)


def build_model(cfg: ForecastConfig, n_features: int, horizon: int):

    model = Sequential([LSTM(cfg.units, seed=cfg.seed), Dense(horizon, seed=cfg.seed + 1)])
    model.compile(optimizer=Adam(learning_rate=cfg.learning_rate, clipnorm=1.0), loss="mse")
    return model


# ------------------------------------------------------------------ the job
@dataclass
class ForecastResult:
    metrics: dict
    future_times: list[str]
    future: np.ndarray
    lower: np.ndarray
    upper: np.ndarray
    meta: dict
    epochs_run: int = 0
    files: list[str] = field(default_factory=list)


def backtest_origins(n: int, horizon: int, test: int) -> np.ndarray:
    return np.arange(n - test - 1, n - horizon)  # targets t+1…t+H inside the tail


def evaluate(model, s: Series, meta: dict, test: int):
    """Model and baselines from every backtest origin
    → (metrics, origins, ŷ (n, H), actual (n, H))."""
    L, H, mu, sigma = meta["lookback"], meta["horizon"], meta["diff_mean"], meta["diff_std"]
    cov_scaler = StandardScaler.from_dict(meta["cov_scaler"]) if meta["covariates"] else None
    feats = features(s, mu, sigma, cov_scaler)
    n = len(s.y)
    origins = backtest_origins(n, H, test)
    origins = origins[origins >= L]
    pred = to_levels(
        s.y, origins, model.predict(windows_at(feats, origins, L), verbose=0), mu, sigma
    )
    actual = s.y[origins[:, None] + np.arange(1, H + 1)]
    scale = mf.mase_scale(s.y[: n - test])
    metrics = {
        "lstm": mf.scores(actual, pred, scale),
        "naive": mf.scores(actual, mf.naive(s.y, origins, H), scale),
        "seasonal_naive": mf.scores(
            actual, mf.seasonal_naive(s.y, origins, H, meta["season"]), scale
        ),
    }
    return metrics, origins, pred, actual


def forecast_future(model, s: Series, meta: dict) -> np.ndarray:
    L, mu, sigma = meta["lookback"], meta["diff_mean"], meta["diff_std"]
    cov_scaler = StandardScaler.from_dict(meta["cov_scaler"]) if meta["covariates"] else None
    feats = features(s, mu, sigma, cov_scaler)
    t = len(s.y) - 1
    return to_levels(s.y, [t], model.predict(windows_at(feats, [t], L), verbose=0), mu, sigma)[0]


def train(s: Series, cfg: ForecastConfig, out: str | None = None):
    """Fit on everything before the held-out tail → (model, meta, test_size, history)."""
    n = len(s.y)
    season, L, H, test = resolve(cfg, n, s.y)
    train_end = n - test  # y[:train_end] is training data
    d = np.diff(s.y[:train_end])
    mu, sigma = float(d.mean()), float(d.std()) or 1.0
    cov_scaler = StandardScaler().fit(s.cov[:train_end]) if s.cov.shape[1] else None
    meta = {
        "task": "forecast",
        "target": cfg.target,
        "time": cfg.time,
        "covariates": list(cfg.covariates),
        "lookback": L,
        "horizon": H,
        "season": season,
        "diff_mean": mu,
        "diff_std": sigma,
        "cov_scaler": cov_scaler.to_dict() if cov_scaler else None,
        "units": cfg.units,
        "seed": cfg.seed,
    }
    feats = features(s, mu, sigma, cov_scaler)
    origins = np.arange(L, train_end - H)  # t + H ≤ train_end − 1
    X = windows_at(feats, origins, L)  # (n, L, F)
    Y = targets_at(s.y, origins, H, mu, sigma)  # (n, H)
    model = build_model(cfg, X.shape[2], H)

    check_training_memory(
        model,
        min(cfg.batch_size, len(X)),
        L,
        X.shape[2],
        hint="use a smaller --batch-size, --lookback or --units",
    )

    stop = EarlyStopping(monitor="val_loss", patience=cfg.patience, restore_best_weights=True)
    bar = epoch_bar(cfg.epochs, cfg.verbose)
    try:
        history = model.fit(
            X,
            Y,
            epochs=cfg.epochs,
            batch_size=cfg.batch_size,
            validation_split=0.15,
            shuffle=True,
            callbacks=[stop] + ([bar] if bar else []),
            verbose=0,
            seed=cfg.seed,
        )
    except KeyboardInterrupt:
        if out is not None and getattr(model, "built", True):
            try:
                save_job_model(model, out, meta)
                print(f"interrupted: the model as trained so far is in {out}/model.safetensors")
            except Exception:  # nothing more can be saved
                pass
        raise
    return model, meta, test, history


def run_forecast(
    s: Series,
    cfg: ForecastConfig,
    out: str,
    model=None,
    meta=None,
    dataset_credit: str | None = None,
) -> ForecastResult:
    """Train (or use ``model``/``meta`` from a saved run), backtest, forecast, write files."""
    history = None
    if model is None:
        model, meta, test, history = train(s, cfg, out)
    else:
        H, L = meta["horizon"], meta["lookback"]
        test = cfg.test_size or max(2 * H, int(round(0.2 * len(s.y))))
        if len(s.y) < L + 1:
            raise UserError(
                f"series '{meta['target']}' has {len(s.y)} values; the model needs "
                f"at least lookback + 1 = {L + 1}"
            )
    H = meta["horizon"]
    metrics = None
    if len(s.y) >= meta["lookback"] + test + 2 and test >= H:
        metrics, origins, pred, actual = evaluate(model, s, meta, test)
        err = actual - pred  # (n, H) backtest errors by horizon
        q_lo, q_hi = np.quantile(err, 0.1, axis=0), np.quantile(err, 0.9, axis=0)
    else:
        origins = np.zeros(0, int)
        q_lo = q_hi = np.zeros(H)
    future = forecast_future(model, s, meta)
    lower, upper = future + q_lo, future + q_hi
    ftimes = timeaxis.extend(s.times, len(s.y), H)
    res = ForecastResult(
        metrics,
        ftimes,
        future,
        lower,
        upper,
        meta,
        epochs_run=len(history.history.get("loss", [])) if history else 0,
    )

    # ---- files
    if history is not None:
        res.files.append(save_job_model(model, out, meta))
        res.files.append(os.path.join(out, "model.json"))
    path = os.path.join(out, "forecast.csv")
    with open(path, "w") as f:
        f.write(f"{meta['time'] or 'step'},forecast,lower_80,upper_80\n")
        for t, v, lo, hi in zip(ftimes, future, lower, upper, strict=True):
            f.write(f"{t},{v:.6g},{lo:.6g},{hi:.6g}\n")
    res.files.append(path)
    if metrics is not None:
        write_json(os.path.join(out, "metrics.json"), metrics)
        res.files.append(os.path.join(out, "metrics.json"))

    x = timeaxis.positions(s.times, len(s.y))
    fx = (
        timeaxis.positions((s.times or []) + ftimes, len(s.y) + H)[-H:]
        if s.times
        else np.arange(len(s.y), len(s.y) + H, dtype=float)
    )
    seg_o = origins[::H] if len(origins) else origins  # non-overlapping H-step segments
    bt_x = [x[t + 1 : t + H + 1] for t in seg_o]
    bt_p = [pred[k] for k in range(0, len(origins), H)] if len(origins) else []
    title = f"{s.name}: {H}-step LSTM forecast"
    if metrics:
        title += (
            f"  (backtest MASE: LSTM {metrics['lstm']['mase']:.2f}, naive "
            f"{metrics['naive']['mase']:.2f}, seasonal naive "
            f"{metrics['seasonal_naive']['mase']:.2f})"
        )
    path = os.path.join(out, "forecast.png")
    forecast_plot(
        path,
        x,
        s.y,
        bt_x,
        bt_p,
        fx,
        future,
        lower,
        upper,
        title=title,
        ylabel=meta["target"],
        test_start=x[len(s.y) - test] if len(origins) else None,
    )
    res.files.append(path)
    return res


def summary(res: ForecastResult, s: Series, out: str) -> str:
    m = res.meta
    lines = [
        f"series: {s.name}, {len(s.y)} steps, target '{m['target']}'",
        f"lookback {m['lookback']}, horizon {m['horizon']}, season "
        f"{m['season'] or 'none'}"
        + (f", trained {res.epochs_run} epochs" if res.epochs_run else ""),
    ]
    if res.metrics:
        rows = [
            [name] + [res.metrics[name][k] for k in ("mae", "rmse", "mase", "smape")]
            for name in ("lstm", "naive", "seasonal_naive")
        ]
        lines += [
            "",
            "backtest on the held-out tail:",
            format_table(["model", "mae", "rmse", "mase", "smape"], rows),
        ]
        better = res.metrics["lstm"]["mase"] < res.metrics["naive"]["mase"]
        lines.append(
            f"LSTM {'beats' if better else 'does NOT beat'} the naive forecast "
            f"(MASE {res.metrics['lstm']['mase']:.3f} vs "
            f"{res.metrics['naive']['mase']:.3f})"
        )
    lines += [
        "",
        f"next {m['horizon']} steps: "
        + ", ".join(
            f"{t}: {v:.4g}" for t, v in list(zip(res.future_times, res.future, strict=True))[:6]
        )
        + (" …" if m["horizon"] > 6 else ""),
    ]
    lines.append(f"wrote: {', '.join(os.path.basename(f) for f in res.files)} in {out}/")
    lines.append(f"plot: {os.path.join(out, 'forecast.png')}")
    return "\n".join(lines)
