"""Rolling-origin backtest: where the origins are, how every candidate scores on them,
which candidate is picked, and intervals calibrated on the backtest errors.

Origins. With K origins ``stride`` apart, the held-out tail has T = H + (K−1)·stride
steps; origin k is t_k = n − T − 1 + k·stride, and its forecast covers t_k+1 … t_k+H, all
inside the tail. The LSTM trains once on y_0 … y_{n−T−1} and reads the real history up to
each t_k; the statistical models are fitted at t_0 and re-run over the longer history at
later origins. A series too short for K origins gets fewer.

Scores: MAE, RMSE, MASE (scaled by the in-sample seasonal-naive error, as in M4),
sMAPE, pooled over the origins and horizons of a series; a panel's aggregate is the mean
over series, and OWA = ½ (sMAPE / sMAPE_naive2 + MASE / MASE_naive2) as in M4.

Intervals (split conformal over the backtest): with e the errors of the picked forecast,
d the series' MASE scale and g_h = a·h^b fitted to the mean |e|/d by horizon,

    score = |e_{k,h}| / (d · g_h),   q = the ⌈(N+1)·level⌉-th smallest of the N scores,
    interval = ŷ_h ± q · d · g_h.

Coverage is checked honestly by leaving one origin out: q from the other origins, counted
on the left-out one.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from . import metrics as mf

__all__ = ["Origins", "place_origins", "score_all", "pick", "Conformal", "fit_conformal"]


@dataclass
class Origins:
    """A series' backtest: origins (K,), training end n − T, MASE scale."""

    t: np.ndarray
    train_end: int
    scale: float

    def actual(self, y: np.ndarray, H: int) -> np.ndarray:
        return y[self.t[:, None] + np.arange(1, H + 1)]


def min_length(H: int, m: int) -> int:
    """The shortest series the job forecasts: two seasons + the horizon (2H + 8 without one)."""
    return 2 * m + H if m >= 2 else 2 * H + 8


def place_origins(y, H: int, m: int, K: int, stride: int, test: int | None) -> Origins:
    """K origins (fewer if y is short: the training part keeps ≥ min_length − H steps)."""
    n = len(y)
    if test is not None:  # a given tail: K origins spread over it
        K = max(1, min(K, test - H + 1))
        stride = max(1, (test - H) // (K - 1)) if K > 1 else 1
    keep = min_length(H, m) - H
    K = max(1, min(K, 1 + (n - H - keep) // stride))
    T = H + (K - 1) * stride if test is None else max(test, H + (K - 1) * stride)
    T = min(T, n - keep)
    t0 = n - T - 1
    t = t0 + stride * np.arange(K)
    t = t[t + H <= n - 1]
    return Origins(t, n - T, mf.mase_scale(y[: n - T], m if m >= 2 and n - T > m else 1))


def score_all(y, orig: Origins, preds: dict[str, np.ndarray], H: int) -> dict[str, dict]:
    act = orig.actual(y, H)
    return {k: mf.scores(act, p, orig.scale) for k, p in preds.items()}


def pick(
    scores: dict[str, dict],
    forced: str | None,
    order: list[str],
    anchor: str = "lstm+ets",
    margin: float = 0.2,
) -> tuple[str, str]:
    """→ (name, why). ``forced`` if given; else the ensemble ``anchor`` unless another
    candidate's backtest MASE is lower than the anchor's by more than ``margin`` (a share),
    then that candidate. (Picking the plain minimum of a few origins chases noise: on the
    panel of docs/forecast.md it lost to the ensemble.) Without the anchor: the minimum."""
    if forced:
        return forced, f"--model {forced}"
    best = min(order, key=lambda k: (scores[k]["mase"], order.index(k)))
    ranked = sorted(order, key=lambda k: scores[k]["mase"])
    if anchor not in scores:
        others = ", ".join(f"{k} {scores[k]['mase']:.3f}" for k in ranked if k != best)
        return best, f"lowest backtest MASE {scores[best]['mase']:.3f} (then {others})"
    a, b = scores[anchor]["mase"], scores[best]["mase"]
    others = ", ".join(f"{k} {scores[k]['mase']:.3f}" for k in ranked if k != anchor)
    if best != anchor and b < (1 - margin) * a:
        others = ", ".join(f"{k} {scores[k]['mase']:.3f}" for k in ranked if k != best)
        return best, (
            f"its backtest MASE {b:.3f} beats the {anchor} ensemble's {a:.3f} by more than "
            f"{100 * margin:.0f} % (others: {others})"
        )
    return anchor, (
        f"the {anchor} ensemble (backtest MASE {a:.3f}): no candidate beats it by more than "
        f"{100 * margin:.0f} % ({others})"
    )


@dataclass
class Conformal:
    """Interval half-width per horizon = q · d · a·h^b (see the module docstring)."""

    level: float
    q: float
    a: float
    b: float
    coverage: float | None = None  # leave-one-origin-out, on the backtest
    n_scores: int = 0
    per_origin: list = field(default_factory=list)

    def half_width(self, scale: float, H: int) -> np.ndarray:
        h = np.arange(1, H + 1)
        return self.q * scale * self.a * h**self.b


def _growth(err: list[np.ndarray], scales: list[float]) -> tuple[float, float]:
    """a, b of g_h = a·h^b fitted to log mean |e|/d by horizon (b clipped to 0…1)."""
    e = np.concatenate([np.abs(x) / s for x, s in zip(err, scales, strict=True)])  # (ΣK, H)
    g = np.maximum(e.mean(axis=0), 1e-12)
    h = np.arange(1, e.shape[1] + 1)
    if len(h) < 2:
        return float(g[0]), 0.0
    b = float(np.clip(np.polyfit(np.log(h), np.log(g), 1)[0], 0.0, 1.0))
    a = float(np.exp(np.mean(np.log(g) - b * np.log(h))))
    return a, b


def _q(scores: np.ndarray, level: float) -> float:
    s = np.sort(scores.ravel())
    k = int(np.ceil((len(s) + 1) * level)) - 1
    return float(s[min(k, len(s) - 1)]) if len(s) else float("nan")


def fit_conformal(err: list[np.ndarray], scales: list[float], level: float) -> Conformal | None:
    """From the picked forecast's backtest errors (K_i, H) of every series."""
    err = [e for e in err if len(e)]
    if not err:
        return None
    sc = [s for e, s in zip(err, scales, strict=True)]
    a, b = _growth(err, sc)
    H = err[0].shape[1]
    g = a * np.arange(1, H + 1) ** b

    def scores(idx):
        rows = [np.abs(e[k]) / (s * g) for e, s in zip(err, sc, strict=True) for k in idx(e)]
        return np.concatenate(rows) if rows else np.zeros(0)

    q = _q(scores(lambda e: range(len(e))), level)
    K = max(len(e) for e in err)
    hits, total, per = 0, 0, []
    if K > 1:
        for k in range(K):
            qk = _q(scores(lambda e, k=k: [j for j in range(len(e)) if j != k]), level)
            inside = [
                np.abs(e[k]) <= qk * s * g for e, s in zip(err, sc, strict=True) if k < len(e)
            ]
            if inside:
                x = np.concatenate(inside)
                hits, total = hits + int(x.sum()), total + x.size
                per.append(float(x.mean()))
    cov = hits / total if total else None
    return Conformal(level, q, a, b, cov, sum(e.size for e in err), per)
