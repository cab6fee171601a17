"""The LSTM of the forecast job: one global model over every series given (a panel of
one is a single series), each series scaled by its own numbers.

Each series is first made z by :mod:`.transforms` (log when the season is multiplicative,
seasonal indices removed), with μ, σ the mean and spread of Δz on its training part.
From an origin t (the last step seen) the window of L steps s = t−L+1 … t holds

    x_s = [(Δz_s − μ)/σ,  (z_s − z_t)/(σ√L),  past covariates_s,  future covariates_s,  0]

(the level is the last value z_t: each window is normalised by its own level, as in
ES-RNN), and with future-known covariates H more steps follow, s = t+1 … t+H:

    x_s = [0, 0, 0 …, future covariates_s, 1]

The H outputs are read as  ẑ_{t+h} = z_t + h·μ + σ·out_h,  so an LSTM that says 0 is the
seasonally adjusted naive forecast with drift; training only learns what differs.
Covariates are standardised with one mean and spread over all series.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ...callbacks import EarlyStopping
from ...data.scaling import StandardScaler
from ...layers import LSTM, Dense
from ...model import Sequential
from ...optim import Adam
from ...resources import check_training_memory
from ..shared.progress import raise_if_diverged
from .transforms import Prep

__all__ = ["NetData", "build_model", "make_windows", "train_net", "predict_net"]


@dataclass
class NetData:
    """The model-side view of one series: z (N,), its Prep, covariates (N, Cp) and
    future covariates (N + F, Cf), both already standardised."""

    z: np.ndarray
    prep: Prep
    cov: np.ndarray
    fut: np.ndarray


def net_data(y, prep: Prep, cov, fut, cov_scaler, fut_scaler) -> NetData:
    c = cov_scaler.transform(cov) if cov.shape[1] else np.zeros((len(y), 0))
    f = fut_scaler.transform(fut) if fut.shape[1] else np.zeros((len(fut), 0))
    return NetData(prep.z(y), prep, c, f)


def fit_scalers(series: list, ends: list[int]) -> tuple[StandardScaler, StandardScaler]:
    """Covariate scalers over the training parts y[:end] of all series."""

    def fit(rows):
        if not rows or rows[0].shape[1] == 0:
            return StandardScaler(np.zeros(0), np.ones(0))
        return StandardScaler().fit(np.concatenate(rows))

    return (
        fit([s.cov[:e] for s, e in zip(series, ends, strict=True)]),
        fit([s.fut[:e] for s, e in zip(series, ends, strict=True)]),
    )


def n_features(d: NetData) -> int:
    return 2 + d.cov.shape[1] + d.fut.shape[1] + (1 if d.fut.shape[1] else 0)


def make_windows(d: NetData, origins, L: int, H: int, targets: bool = True):
    """X (n, L [+ H], F) and, when ``targets``, Y (n, H) for the origins t of one series."""
    o = np.asarray(origins, int)
    z, mu, sg = d.z, d.prep.mu, d.prep.sigma
    idx = np.maximum(o[:, None] + np.arange(-L + 1, 1)[None, :], 0)  # (n, L) rows; row 0 pads
    dz = np.diff(z, prepend=z[0] + mu)  # (N,) Δz, with Δz_0 := μ
    parts = [
        ((dz[idx] - mu) / sg)[..., None],
        ((z[idx] - z[o][:, None]) / (sg * np.sqrt(L)))[..., None],
        d.cov[idx],
    ]
    Cf = d.fut.shape[1]
    if Cf:
        parts += [d.fut[idx], np.zeros((len(o), L, 1))]
    X = np.concatenate(parts, axis=2)  # (n, L, F)
    if Cf:
        fidx = o[:, None] + np.arange(1, H + 1)[None, :]  # (n, H) the future steps
        pad = np.zeros((len(o), H, 2 + d.cov.shape[1]))
        Xf = np.concatenate([pad, d.fut[fidx], np.ones((len(o), H, 1))], axis=2)
        X = np.concatenate([X, Xf], axis=1)  # (n, L + H, F)
    if not targets:
        return X.astype(np.float32)
    h = np.arange(1, H + 1)
    Y = (z[o[:, None] + h] - z[o][:, None] - h * mu) / sg  # (n, H)
    return X.astype(np.float32), Y.astype(np.float32)


def to_levels(d: NetData, origins, out) -> np.ndarray:
    """(n, H) network outputs → forecasts of y: ŷ = T⁻¹(z_t + hμ + σ·out + s_{t+h})."""
    o = np.asarray(origins, int)
    H = out.shape[1]
    h = np.arange(1, H + 1)
    zf = d.z[o][:, None] + h * d.prep.mu + d.prep.sigma * np.asarray(out, np.float64)
    return d.prep.y(zf, o[:, None] + h)


def build_model(units: int, horizon: int, learning_rate: float, seed: int):
    model = Sequential([LSTM(units, seed=seed), Dense(horizon, seed=seed + 1)])
    model.compile(optimizer=Adam(learning_rate=learning_rate, clipnorm=1.0), loss="mse")
    return model


def check_memory(units: int, H: int, batch: int, steps: int, features: int) -> None:
    """Refuse (UserError) a model that would not fit in memory, before any work is done."""
    check_training_memory(
        build_model(units, H, 1e-3, 0),
        batch,
        steps,
        features,
        hint="use a smaller --batch-size, --lookback or --units",
    )


def train_net(
    data: list[NetData],
    ends: list[int],
    L: int,
    H: int,
    units: int,
    epochs: int,
    batch_size: int | None,
    learning_rate: float,
    seed: int,
    patience: int = 25,
    max_windows: int = 60000,
    on_interrupt=None,
    bar=None,
):
    """One model over the training windows of every series (origins L … end−H−1 of each,
    from earlier origins padded with the first row when a series is short); the last 15 %
    of each series' windows watch early stopping. → (model, epochs run)."""
    rng = np.random.default_rng(seed)
    Xt: list[np.ndarray] = []
    Yt: list[np.ndarray] = []
    Xv_parts: list[np.ndarray] = []
    Yv_parts: list[np.ndarray] = []
    for d, end in zip(data, ends, strict=True):
        o = np.arange(max(1, min(L, end - H - 4)), end - H)
        if len(o) == 0:
            continue
        X, Y = make_windows(d, o, L, H)
        k = max(1, int(round(0.15 * len(o)))) if len(o) >= 4 else 0
        Xt.append(X[: len(o) - k])
        Yt.append(Y[: len(o) - k])
        Xv_parts.append(X[len(o) - k :])
        Yv_parts.append(Y[len(o) - k :])
    X, Y = np.concatenate(Xt), np.concatenate(Yt)
    Xv, Yv = np.concatenate(Xv_parts), np.concatenate(Yv_parts)
    if len(X) > max_windows:  # a big panel: a random subset of windows
        keep = np.sort(rng.choice(len(X), max_windows, replace=False))
        X, Y = X[keep], Y[keep]
    if len(Xv) > max_windows // 5:
        keep = np.sort(rng.choice(len(Xv), max_windows // 5, replace=False))
        Xv, Yv = Xv[keep], Yv[keep]
    bs = batch_size or (32 if len(X) < 4000 else 256)
    model = build_model(units, H, learning_rate, seed)
    check_training_memory(
        model,
        min(bs, len(X)),
        X.shape[1],
        X.shape[2],
        hint="use a smaller --batch-size, --lookback or --units",
    )
    callbacks = []
    val = (Xv, Yv) if len(Xv) else None
    if val is not None:
        callbacks.append(
            EarlyStopping(monitor="val_loss", patience=patience, restore_best_weights=True)
        )
    if bar:
        callbacks.append(bar)
    try:
        history = model.fit(
            X,
            Y,
            epochs=epochs,
            batch_size=bs,
            validation_data=val,
            shuffle=True,
            callbacks=callbacks,
            verbose=0,
            seed=seed,
        )
    except KeyboardInterrupt:
        if on_interrupt is not None:
            on_interrupt(model)
        raise
    raise_if_diverged(history)
    return model, len(history.history.get("loss", []))


def predict_net(model, data: list[NetData], origins: list, L: int, H: int) -> list[np.ndarray]:
    """Forecasts of y (len(origins_i), H) for each series, all in one predict call."""
    Xs = [make_windows(d, o, L, H, targets=False) for d, o in zip(data, origins, strict=True)]
    if not Xs:
        return []
    out = model.predict(np.concatenate(Xs), batch_size=1024, verbose=0)
    res, k = [], 0
    for d, o, X in zip(data, origins, Xs, strict=True):
        res.append(to_levels(d, o, out[k : k + len(X)]))
        k += len(X)
    return res
