"""The input window a saved forecast model reads at the end of a CSV — what ``lstmkit
explain`` shows — for both sidecar formats:

* format 2 (:mod:`.net`): the series' own transform and scaling, fitted on the whole
  series given, then the L (+ H future) steps ending at the last value;
* format 1 (the first forecast job): x_s = [(d_s − μ)/σ, standardised covariates] with
  d the first differences and μ, σ, the covariate scaler from the sidecar.
"""

from __future__ import annotations

from types import SimpleNamespace

import numpy as np

from ...data.scaling import StandardScaler
from . import net
from .series import Series, load_panel
from .sidecar import is_current
from .transforms import fit_prep

__all__ = ["load_series", "features", "windows_at", "input_window"]


def load_series(table, cfg, label: str) -> Series:
    """The one series of ``table`` named by ``cfg`` (target, time, covariates)."""
    futs = list(getattr(cfg, "future_covariates", []) or [])
    fmt = getattr(cfg, "time_format", None)
    return load_panel(
        table, cfg.target, cfg.time, list(cfg.covariates), futs, None, fmt, 1.0, label
    )[0]


def features(s: Series, mu: float, sigma: float, cov_scaler: StandardScaler | None):
    """Format 1: (N, F) rows [(d_s − μ)/σ, covariates]; row 0 has d_0 = μ (unused)."""
    d = np.diff(s.y, prepend=s.y[0] + mu)  # (N,) d_0 := μ → feature 0
    feats = [((d - mu) / sigma)[:, None]]
    if s.cov.shape[1]:
        assert cov_scaler is not None  # a series with covariates comes with their scaler
        feats.append(cov_scaler.transform(s.cov))
    return np.concatenate(feats, axis=1).astype(np.float32)  # (N, F)


def windows_at(feats, origins, lookback: int) -> np.ndarray:
    """X (n, L, F): the L feature rows ending at each origin t (inclusive)."""
    idx = np.asarray(origins)[:, None] + np.arange(-lookback + 1, 1)[None, :]  # (n, L)
    return feats[idx]


def input_window(table, meta: dict, label: str) -> tuple[np.ndarray, list[str]]:
    """→ (x (1, T, F) float32, a label per step) for the last origin of the CSV."""
    cfg = SimpleNamespace(
        target=meta["target"],
        time=meta.get("time"),
        covariates=list(meta.get("covariates") or []),
        future_covariates=list(meta.get("future_covariates") or []),
        time_format=meta.get("time_format"),
    )
    s = load_series(table, cfg, label)
    N, L = len(s.y), int(meta["lookback"])
    labels = s.times if s.times else [f"{v:.4g}" for v in s.y]
    if not is_current(meta):
        cov = StandardScaler.from_dict(meta["cov_scaler"]) if cfg.covariates else None
        feats = features(s, meta["diff_mean"], meta["diff_std"], cov)  # (N, F)
        start = max(1 if N > 1 else 0, N - L)  # row 0 has no difference
        return feats[start:][None], list(labels[start:])

    def scaler(d, k):
        return StandardScaler.from_dict(d) if d else StandardScaler(np.zeros(k), np.ones(k))

    prep = fit_prep(s.y, int(meta["season"]), meta["transform"], meta["deseason"])
    assert s.fut is not None  # set by Series.__post_init__
    d = net.net_data(
        s.y,
        prep,
        s.cov,
        s.fut,
        scaler(meta.get("cov_scaler"), s.cov.shape[1]),
        scaler(meta.get("fut_scaler"), s.fut.shape[1]),
    )
    x = net.make_windows(d, [N - 1], L, int(meta["horizon"]), targets=False)
    steps = [labels[max(0, k)] for k in range(N - L, N)]
    steps += [f"+{h}" for h in range(1, x.shape[1] - L + 1)]
    return x, steps
