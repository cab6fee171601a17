"""The settings of one run (:class:`Plan`): the season and where it came from, the
lookback, the LSTM's size and the backtest's origins — checked against the series'
lengths (the minimum is two seasons + the horizon, :func:`.backtest.min_length`)."""

from __future__ import annotations

from dataclasses import dataclass, field

from ...errors import UserError
from . import backtest as bt
from . import metrics as mf
from .series import Series

__all__ = ["Plan", "resolve"]


@dataclass
class Plan:
    H: int
    m: int
    season_how: str
    L: int
    units: int
    K: int
    stride: int
    test: int | None  # None: default tail, 0: no backtest
    series: list[Series]
    notes: list[str] = field(default_factory=list)


def _season(cfg, s: Series) -> tuple[int, str]:
    if cfg.season is not None:
        return int(cfg.season), "given"
    if s.axis is not None and s.axis.understood:
        name, m = s.axis.frequency()
        if m is not None:
            return m, f"{name} time column"
    m = mf.detect_season(s.y)
    return m, "detected from the autocorrelation" if m else "none detected"


def resolve(cfg, series: list[Series], loaded: dict | None = None) -> Plan:
    """Settings for this run, checking every series is long enough (a short one in a panel
    is left out with a note; a single one too short is an error naming the minimum)."""
    H = int(loaded["horizon"] if loaded else cfg.horizon)
    if H < 1:
        raise UserError(f"--horizon must be at least 1, got {H}")
    if cfg.test_size is not None and 0 < cfg.test_size < H:
        raise UserError(
            f"--test-size must be 0 (no backtest) or at least the horizon {H}, got {cfg.test_size}"
        )
    if cfg.origins < 1:
        raise UserError(f"--origins must be at least 1, got {cfg.origins}")
    if loaded:
        m, how = int(loaded["season"]), "from the model"
    else:
        m, how = _season(cfg, series[0])
    m = m if m >= 2 else 1
    need = bt.min_length(H, m)
    notes = []
    ok = [s for s in series if len(s.y) >= need]
    if len(ok) < len(series):
        short = [s for s in series if len(s.y) < need]
        s0 = short[0]
        what = f"2 seasons ({2 * m}) + horizon {H}" if m >= 2 else f"2 × horizon {H} + 8 + horizon"
        if len(series) == 1 or not ok:
            raise UserError(
                f"series {s0.name!r} has {len(s0.y)} values; with season {m} and horizon {H} "
                f"it needs at least {need} ({what}) — use a smaller --horizon or --season"
            )
        notes.append(
            f"{len(short)} series shorter than {need} steps left out: "
            + ", ".join(repr(s.name) for s in short[:8])
            + (" …" if len(short) > 8 else "")
        )
    if cfg.future_covariates:
        for s in ok:
            if s.future_rows < H:
                raise UserError(
                    f"future-known covariates need {H} rows after the last {cfg.target!r} value "
                    f"(the future rows); series {s.name!r} has {s.future_rows}"
                )
    stride = cfg.stride or max(1, -(-H // 2))
    if loaded:
        L, units = int(loaded["lookback"]), int(loaded["units"])
    else:
        L = cfg.lookback or (max(2 * m, 8) if m >= 2 else max(2 * H, 8))
        if L < 1:
            raise UserError(f"--lookback must be at least 1, got {L}")
        T0 = H + (cfg.origins - 1) * stride if cfg.test_size is None else cfg.test_size
        longest = max(len(s.y) for s in ok)
        cap = max(4, longest - max(T0, H) - H - 6)
        if not cfg.lookback and L > cap:
            notes.append(f"short series: lookback {L} → {cap}")
            L = cap
        windows = sum(max(0, len(s.y) - max(T0, H) - H - 1) for s in ok)
        units = cfg.units
        if windows < 300 and units > 8:
            notes.append(f"short series ({windows} training windows): an LSTM of 8 units")
            units = 8
    return Plan(H, m, how, L, units, cfg.origins, stride, cfg.test_size, ok, notes)
