"""What a series goes through before a model sees it, and back (fitted on the training
part only):

    1. variance:   w_t = log y_t  when the season is multiplicative (Box-Cox λ = 0), else y_t
    2. season:     z_t = w_t − s_{t mod m}   (classical decomposition: s = mean of w − MA_m(w)
                   per season position, centred to sum 0), when the season is significant
    3. level:      per window, relative to the last value z_t and in units σ of Δz (below)

and the forecast comes back as ŷ_{t+h} = exp/id(ẑ_{t+h} + s_{(t+h) mod m}).

The season is significant when the autocorrelation at lag m of the detrended series
w − MA_m(w) passes the 90 % test of the M4 benchmarks:
|r_m| > 1.645 · √((1 + 2 Σ_{k<m} r_k²) / n). It is multiplicative when the series is
positive and the log makes the decomposition's remainder smaller relative to the season:
var(rem) / var(season + rem) drops by a quarter or more.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

import numpy as np

__all__ = ["Prep", "fit_prep", "moving_average", "seasonal_test"]


def moving_average(w: np.ndarray, m: int) -> np.ndarray:
    """Centred moving average of order m (2×m for even m); NaN where it is undefined."""
    n = len(w)
    out = np.full(n, np.nan)
    if m % 2:
        k = m // 2
        if n > 2 * k:
            c = np.convolve(w, np.ones(m) / m, mode="valid")
            out[k : n - k] = c
    else:
        k = m // 2
        if n > 2 * k:
            wts = np.r_[0.5, np.ones(m - 1), 0.5] / m  # (m + 1,)
            out[k : n - k] = np.convolve(w, wts, mode="valid")
    return out


def _acf(x: np.ndarray, lags: int) -> np.ndarray:
    x = x - x.mean()
    v = float(x @ x)
    if v <= 0:
        return np.zeros(lags + 1)
    return np.array([1.0] + [float(x[:-k] @ x[k:]) / v for k in range(1, lags + 1)])


def seasonal_test(w: np.ndarray, m: int) -> bool:
    """The M4 90 % autocorrelation test at lag m, on w − MA_m(w)."""
    if m < 2 or len(w) < 2 * m + 1:
        return False
    r = w - moving_average(w, m)
    r = r[~np.isnan(r)]
    if len(r) < m + 2:
        return False
    acf = _acf(r, m)
    limit = 1.645 * np.sqrt((1 + 2 * np.sum(acf[1:m] ** 2)) / len(r))
    return bool(abs(acf[m]) > limit)


def _indices(w: np.ndarray, m: int) -> tuple[np.ndarray, float]:
    """Seasonal indices s (m,) of w (position k = t mod m) and var(rem)/var(season + rem)."""
    detr = w - moving_average(w, m)
    t = np.arange(len(w))
    ok = ~np.isnan(detr)
    s = np.array(
        [np.mean(detr[ok & (t % m == k)]) if np.any(ok & (t % m == k)) else 0.0 for k in range(m)]
    )
    s -= s.mean()
    rem = detr[ok] - s[t[ok] % m]
    tot = float(np.var(detr[ok]))
    return s, (float(np.var(rem)) / tot if tot > 0 else 1.0)


@dataclass
class Prep:
    """A series' transform: ``log`` (bool), seasonal indices ``s`` (m values or none),
    and μ, σ of Δz on the training part. Written into results so a run can be explained."""

    log: bool
    season: int
    s: list[float]
    mu: float
    sigma: float

    def z(self, y: np.ndarray) -> np.ndarray:
        """(N,) y → z (steps 1 and 2)."""
        w = np.log(y) if self.log else np.asarray(y, np.float64)
        return w - self.seasonal(np.arange(len(w)))

    def seasonal(self, t: np.ndarray) -> np.ndarray:
        if not self.s:
            return np.zeros(np.shape(t))
        return np.asarray(self.s)[np.asarray(t) % len(self.s)]

    def y(self, z: np.ndarray, t: np.ndarray) -> np.ndarray:
        """ẑ at positions t (any shape) → ŷ (step 2 and 1 undone)."""
        w = np.asarray(z, np.float64) + self.seasonal(t)
        return np.exp(np.clip(w, -700, 700)) if self.log else w

    def describe(self) -> str:
        parts = ["log" if self.log else "no transform"]
        parts.append(f"deseasonalised (m={self.season})" if self.s else "no seasonal adjustment")
        return ", ".join(parts)

    def to_dict(self) -> dict:
        return asdict(self)


def fit_prep(y: np.ndarray, m: int, transform: str = "auto", deseason: str = "auto") -> Prep:
    """Choose and fit the transform on a training part ``y`` (see the module docstring).
    ``transform``: 'auto' | 'log' | 'none'; ``deseason``: 'auto' | 'on' | 'off'."""
    y = np.asarray(y, np.float64)
    positive = bool(np.all(y > 0))
    seasonal = m >= 2 and len(y) >= 2 * m + 1
    if deseason == "off":
        seasonal = False
    elif deseason == "auto" and seasonal:
        seasonal = seasonal_test(np.log(y) if positive else y, m) or seasonal_test(y, m)
    log = transform == "log" and positive
    if transform == "auto" and positive and seasonal:
        _, r_add = _indices(y, m)
        _, r_log = _indices(np.log(y), m)
        log = r_log < 0.75 * r_add
    w = np.log(y) if log else y
    s = _indices(w, m)[0].tolist() if seasonal else []
    p = Prep(log, m if seasonal else 0, s, 0.0, 1.0)
    d = np.diff(p.z(y))
    if len(d):
        p.mu = float(d.mean())
        p.sigma = float(d.std()) or float(np.abs(p.z(y)).mean()) or 1.0
    return p
