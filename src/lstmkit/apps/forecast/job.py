"""Forecast one series or a panel H steps ahead, choosing among an LSTM, statistical
baselines and their ensemble by a rolling-origin backtest.

The steps (each in its own module):

    series.py      CSV → clean series (sorted, regular, missing values filled)
    transforms.py  log when the season is multiplicative, seasonal adjustment, scaling
    baselines.py   naive, seasonal naive, Naive2, ETS, ARIMA from any origin
    net.py         one global LSTM over all series (per-series scaling)
    backtest.py    origins, scores, the pick, conformal intervals
    report.py      forecast.csv, metrics.json, the plot, the summary

Candidates: the baselines, ``lstm`` and ``lstm+ets`` (the mean of the two). The LSTM is
always trained and scored. ``--model auto`` keeps, per series, the ``lstm+ets`` ensemble
unless another candidate's backtest MASE beats it by more than ``switch_margin`` (20 %),
and then takes that one (:func:`.backtest.pick`); ``--model NAME`` forces one. With
``refit`` (the default) every model is fitted again on the whole series for the
forecast past the end; the backtest scores the models fitted before the tail.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
from tqdm.auto import tqdm

from ...data.scaling import StandardScaler
from ...errors import UserError
from ..shared.modelfiles import save_job_model
from ..shared.progress import epoch_bar
from . import backtest as bt
from . import baselines, net
from .plan import Plan, resolve
from .series import Series, guess_time_column, load_panel
from .sidecar import make_meta
from .transforms import Prep, fit_prep
from .window import features, input_window, load_series, windows_at

__all__ = [
    "ForecastConfig",
    "Plan",
    "Series",
    "guess_time_column",
    "load_panel",
    "resolve",
    "run_forecast",
    "candidate_names",
    "build_model",
    "StandardScaler",
    "features",
    "input_window",
    "load_series",
    "windows_at",
]


@dataclass
class ForecastConfig:
    target: str
    time: str | None = None
    covariates: list[str] = field(default_factory=list)
    future_covariates: list[str] = field(default_factory=list)
    id: str | None = None
    time_format: str | None = None
    horizon: int = 12
    lookback: int | None = None  # None: 2·season (2·horizon without one), at least 8
    season: int | None = None  # None: from the time column's frequency, else detected
    test_size: int | None = None  # None: H + (origins − 1)·stride; 0: no backtest
    origins: int = 5
    stride: int | None = None  # None: ⌈H/2⌉
    epochs: int = 150
    batch_size: int | None = None  # None: 32, or 256 for more than 4000 windows
    units: int = 32
    learning_rate: float = 3e-3
    patience: int = 25
    seed: int = 0
    verbose: int = 1
    model: str = "auto"
    candidates: list[str] | None = None
    refit: bool = True
    level: float = 0.8
    nonnegative: bool = False
    max_missing: float = 0.2
    transform: str = "auto"
    deseason: str = "auto"
    max_windows: int = 60000
    switch_margin: float = 0.2  # auto leaves the lstm+ets ensemble only for a clearer win


def build_model(cfg: ForecastConfig, n_features: int, horizon: int):
    """The job's LSTM → Dense(H), compiled (clipped Adam): as :func:`.net.build_model`."""
    return net.build_model(cfg.units, horizon, cfg.learning_rate, cfg.seed)


def candidate_names(cfg: ForecastConfig, n_series: int) -> tuple[list[str], list[str]]:
    """→ (candidates, notes). The LSTM is always one of them."""
    notes = []
    if cfg.candidates:
        names = [c for c in cfg.candidates if c in (*baselines.BASELINES, "lstm", "lstm+ets")]
        bad = [c for c in cfg.candidates if c not in names]
        if bad:
            raise UserError(
                f"--candidates: unknown {', '.join(bad)}; expected some of "
                + ", ".join([*baselines.BASELINES, "lstm", "lstm+ets"])
            )
        names = list(dict.fromkeys(["lstm", *names]))
    else:
        names = ["naive", "seasonal_naive", "naive2", "ets", "arima", "lstm", "lstm+ets"]
        if n_series > 50 and "arima" in names:
            names.remove("arima")
            notes.append(
                f"arima left out of a panel of {n_series} series (a few seconds each); "
                "add it with --candidates"
            )
    if "arima" in names and not baselines.have_statsmodels():
        names.remove("arima")
        notes.append("arima needs statsmodels: pip install 'lstmkit[stats]'")
    if not baselines.have_statsmodels() and "ets" in names:
        notes.append(
            "ets is lstmkit's own damped Holt on the seasonally adjusted series "
            "(statsmodels' ETS with pip install 'lstmkit[stats]')"
        )
    if "lstm+ets" in names and "ets" not in names:
        names.append("ets")
    if cfg.model != "auto" and cfg.model not in names:
        raise UserError(f"--model {cfg.model}: not among the candidates {', '.join(names)}")
    return names, notes


@dataclass
class SeriesResult:
    series: Series
    origins: bt.Origins | None
    backtest: dict[str, np.ndarray]  # name → (K, H)
    final: dict[str, np.ndarray]  # name → (H,)
    scores: dict[str, dict] = field(default_factory=dict)
    picked: str = "lstm"
    why: str = ""
    forecast: np.ndarray | None = None
    lower: np.ndarray | None = None
    upper: np.ndarray | None = None


@dataclass
class ForecastResult:
    plan: Plan
    names: list[str]
    results: list[SeriesResult]
    conformal: bt.Conformal | None
    meta: dict
    epochs_run: int = 0
    refit_epochs: int = 0
    notes: list[str] = field(default_factory=list)
    files: list[str] = field(default_factory=list)
    model: object = None  # the final LSTM to save (None when it was loaded)
    state: str = "refit"  # 'refit' | 'no refit' | 'no backtest' | 'loaded'


def _lstm(cfg, plan, series, ends, out, model=None, meta_of=None, bar=True):
    """Train (or use ``model``) on y[:end] of every series → (model, [(n_i, H) forecasts
    at the given origins], epochs, scalers)."""
    preps = [
        fit_prep(s.y[:e], plan.m, cfg.transform, cfg.deseason)
        for s, e in zip(series, ends, strict=True)
    ]
    cs, fs = net.fit_scalers(series, ends)
    data = [net.net_data(s.y, p, s.cov, s.fut, cs, fs) for s, p in zip(series, preps, strict=True)]
    epochs = 0
    if model is None:

        def save_partial(m):
            if out is not None:
                try:
                    save_job_model(m, out, meta_of(cs, fs, preps))
                    print(f"interrupted: the model as trained so far is in {out}/model.safetensors")
                except Exception:  # noqa: BLE001 — nothing more can be saved
                    pass

        model, epochs = net.train_net(
            data,
            ends,
            plan.L,
            plan.H,
            plan.units,
            cfg.epochs,
            cfg.batch_size,
            cfg.learning_rate,
            cfg.seed,
            cfg.patience,
            cfg.max_windows,
            save_partial,
            epoch_bar(cfg.epochs, cfg.verbose) if bar else None,
        )
    return model, data, epochs, (cs, fs)


def run_forecast(
    series: list[Series], cfg: ForecastConfig, out: str | None, model=None, meta=None
) -> ForecastResult:
    """Backtest every candidate, pick, refit and forecast (files: :mod:`.report`)."""
    plan = resolve(cfg, series, meta)
    series = plan.series
    names, notes = candidate_names(cfg, len(series))
    if model is not None:
        names = [n for n in names if n != "lstm+ets"] if "ets" not in names else names
    H, m = plan.H, plan.m
    fut0 = series[0].fut
    assert fut0 is not None  # set by Series.__post_init__
    Cp, Cf = series[0].cov.shape[1], fut0.shape[1]
    if model is None:  # a model too big for this machine is refused before any work
        net.check_memory(
            plan.units,
            H,
            cfg.batch_size or 256,
            plan.L + (H if Cf else 0),
            2 + Cp + Cf + (1 if Cf else 0),
        )
    do_bt = plan.test != 0
    origins = [
        bt.place_origins(s.y, H, m, plan.K, plan.stride, plan.test) if do_bt else None
        for s in series
    ]
    res = [SeriesResult(s, o, {}, {}) for s, o in zip(series, origins, strict=True)]
    placed = [o for o in origins if o is not None]  # all of them with a backtest, none without

    def meta_of(cs: StandardScaler, fs: StandardScaler, preps: list[Prep]) -> dict:
        fitted_on = [(s.name, len(s.y), p) for s, p in zip(series, preps, strict=True)]
        return make_meta(cfg, plan, cs, fs, sum(len(s.y) for s in series), fitted_on)

    # ---- the statistical candidates: backtest origins and the last step in one call
    stats = [n for n in names if n in baselines.BASELINES]
    it = tqdm(res, desc="baselines", unit="series", disable=not cfg.verbose or len(res) < 5)
    for r in it:
        n = len(r.series.y)
        t = np.r_[r.origins.t, n - 1] if r.origins is not None else np.array([n - 1])
        for name in stats:
            f = baselines.forecast_at(name, r.series.y, t, H, m, refit_last=cfg.refit)
            r.backtest[name], r.final[name] = f[:-1], f[-1]

    # ---- the LSTM: trained before the tail (backtest), then refitted on everything
    ends = [len(s.y) if o is None else o.train_end for s, o in zip(series, origins, strict=True)]
    loaded = model is not None
    fitted, data, epochs, scalers = _lstm(cfg, plan, series, ends, out, model, meta_of)
    refit_epochs = 0
    if do_bt:
        pred = net.predict_net(fitted, data, [o.t for o in placed], plan.L, H)
        for r, p in zip(res, pred, strict=True):
            r.backtest["lstm"] = p
    final_model, final_data = fitted, data
    if loaded or (cfg.refit and do_bt):  # per-series scaling from the whole series
        full = [len(s.y) for s in series]
        final_model, final_data, refit_epochs, scalers = _lstm(
            cfg, plan, series, full, out, model if loaded else None, meta_of
        )
    last = net.predict_net(final_model, final_data, [[len(s.y) - 1] for s in series], plan.L, H)
    for r, p in zip(res, last, strict=True):
        r.final["lstm"] = p[0]
    if "lstm+ets" in names:
        for r in res:
            r.final["lstm+ets"] = 0.5 * (r.final["lstm"] + r.final["ets"])
            if do_bt:
                r.backtest["lstm+ets"] = 0.5 * (r.backtest["lstm"] + r.backtest["ets"])

    # ---- scores, the pick, intervals
    forced = (
        "lstm" if loaded and cfg.model == "auto" else (None if cfg.model == "auto" else cfg.model)
    )
    if not do_bt and forced is None:
        forced = "lstm"
        notes.append("--test-size 0: no backtest, so no choice and no interval; the LSTM forecasts")
    for r in res:
        if r.origins is not None:  # with a backtest
            r.scores = bt.score_all(r.series.y, r.origins, r.backtest, H)
            r.picked, r.why = bt.pick(r.scores, forced, names, margin=cfg.switch_margin)
        else:
            assert forced is not None  # set above when there is no backtest
            r.picked, r.why = forced, "--test-size 0"
    conf = None
    if do_bt:
        conf = bt.fit_conformal(
            [
                r.series.y[o.t[:, None] + np.arange(1, H + 1)] - r.backtest[r.picked]
                for r, o in zip(res, placed, strict=True)
            ],
            [o.scale for o in placed],
            cfg.level,
        )
    for r in res:
        r.forecast = r.final[r.picked].copy()
        if conf is not None and r.origins is not None:  # conf: only with a backtest
            w = conf.half_width(r.origins.scale, H)
            r.lower, r.upper = r.forecast - w, r.forecast + w
        else:
            r.lower = r.upper = np.full(H, np.nan)
        if cfg.nonnegative:
            r.forecast, r.lower, r.upper = (
                np.maximum(v, 0) for v in (r.forecast, r.lower, r.upper)
            )
    cs, fs = scalers
    meta_final = meta_of(cs, fs, [d.prep for d in final_data])
    return ForecastResult(
        plan,
        names,
        res,
        conf,
        meta_final,
        epochs,
        refit_epochs,
        plan.notes + notes,
        model=None if loaded else final_model,
        state="loaded"
        if loaded
        else "no backtest"
        if not do_bt
        else "refit"
        if cfg.refit
        else "no refit",
    )
