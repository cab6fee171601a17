"""What the forecast job writes into ``model.json`` beside its LSTM, in one place.

Fields (``format`` 2; the shared ones — ``lstmkit_task``, ``sidecar_version`` — are added
by :func:`lstmkit.apps.shared.modelfiles.save_job_model`):

    task               "forecast"
    format             2 = the windows of :mod:`.net` (format 1, the first job's
                       difference windows, had diff_mean / diff_std / cov_scaler)
    target, time       column names; ``time_format`` the --time-format given (or null)
    id                 the panel's id column (null for one series)
    covariates         past covariate columns; ``future_covariates`` future-known ones
    cov_scaler         {mean, std} of the past covariates over the training data
    fut_scaler         {mean, std} of the future-known covariates
    lookback, horizon  L and H of the windows; ``season`` m
    units, seed        the LSTM's size and seed
    transform, deseason  the policies ('auto' | 'log' | 'none', 'auto' | 'on' | 'off');
                       forecasting with a saved model (--load) fits each series' own
                       transform, seasonal indices, μ and σ again on the data it is given
                       (a global model forecasts series it never saw)
    trained_on         number of series and their total steps
    series             the series the saved LSTM was fitted on, each as it was scaled then
                       (what ``lstmkit export --c`` writes into C, :func:`series_prep`):
                         id     its --id value (one series: its name, e.g. the CSV's)
                         steps  its rows; the job's forecast starts after row steps − 1
                         log    true: modelled as log y
                         season m, the number of seasonal indices (0: not deseasonalised)
                         s      the m seasonal indices: row k (from the series' first row)
                                has s[k mod m] removed
                         mu, sigma  mean and spread of Δz
                       (models saved before it was added lack it: they cannot be exported)

:func:`check` holds a whole sidecar against this schema and against the weights (every
value's type and range; the horizon = the model's outputs, the covariates = its input
features; a stateful model or one whose last layer returns sequences is refused), for
``forecast --load``, ``explain`` and ``export --c``. :func:`one_series` returns what a
single series' forecast needs.
"""

from __future__ import annotations

import math

from ...errors import ModelFileError, UserError
from ...layers.base import rng_layers
from ..shared.sidecar import (
    boolean,
    check_fields,
    fail,
    integer,
    list_of,
    nullable,
    number,
    obj,
    one_of,
    scaler,
    string,
)
from .transforms import Prep

__all__ = ["FIELDS", "FORMAT", "check", "make_meta", "is_current", "series_prep", "one_series"]

FORMAT = 2


def make_meta(cfg, plan, cov_scaler, fut_scaler, n_steps: int, fitted_on: list) -> dict:
    """``fitted_on``: (id, steps, Prep) of every series the model was fitted on."""
    return {
        "task": "forecast",
        "format": FORMAT,
        "target": cfg.target,
        "time": cfg.time,
        "time_format": cfg.time_format,
        "id": cfg.id,
        "covariates": list(cfg.covariates),
        "future_covariates": list(cfg.future_covariates),
        "cov_scaler": cov_scaler.to_dict() if cfg.covariates else None,
        "fut_scaler": fut_scaler.to_dict() if cfg.future_covariates else None,
        "lookback": plan.L,
        "horizon": plan.H,
        "season": plan.m,
        "units": plan.units,
        "seed": cfg.seed,
        "transform": cfg.transform,
        "deseason": cfg.deseason,
        "trained_on": {"series": len(fitted_on), "steps": n_steps},
        "series": [
            {
                "id": str(k),
                "steps": int(n),
                "log": bool(p.log),
                "season": int(p.season),
                "s": [float(v) for v in p.s],
                "mu": float(p.mu),
                "sigma": float(p.sigma),
            }
            for k, n, p in fitted_on
        ],
    }


def is_current(meta: dict) -> bool:
    return meta.get("format") == FORMAT


def _number(v, what: str) -> float:
    if isinstance(v, bool) or not isinstance(v, (int, float)) or not math.isfinite(v):
        raise ModelFileError(f"model.json: {what} must be a finite number, got {v!r}")
    return float(v)


def _entry(e, k: int) -> tuple[str, int, Prep]:
    where = f"series[{k}]"
    if not isinstance(e, dict):
        raise ModelFileError(f"model.json: {where} must be an object, got {type(e).__name__}")
    missing = [f for f in ("id", "steps", "log", "season", "s", "mu", "sigma") if f not in e]
    if missing:
        raise ModelFileError(f"model.json: {where} lacks {', '.join(missing)}")
    steps, m, s = e["steps"], e["season"], e["s"]
    if isinstance(steps, bool) or not isinstance(steps, int) or steps < 1:
        raise ModelFileError(f"model.json: {where}.steps must be a count ≥ 1, got {steps!r}")
    if not isinstance(e["log"], bool):
        raise ModelFileError(f"model.json: {where}.log must be true or false, got {e['log']!r}")
    if isinstance(m, bool) or not isinstance(m, int) or m < 0 or m == 1:
        raise ModelFileError(f"model.json: {where}.season must be 0 or ≥ 2, got {m!r}")
    if not isinstance(s, list) or len(s) != m:
        n = len(s) if isinstance(s, list) else type(s).__name__
        raise ModelFileError(f"model.json: {where}.s must be {m} seasonal indices, got {n}")
    s = [_number(v, f"{where}.s") for v in s]
    mu, sigma = _number(e["mu"], f"{where}.mu"), _number(e["sigma"], f"{where}.sigma")
    if sigma <= 0:
        raise ModelFileError(f"model.json: {where}.sigma must be positive, got {sigma}")
    return str(e["id"]), steps, Prep(e["log"], m, s, mu, sigma)


def series_prep(meta: dict, id_value: str | None = None) -> tuple[str, int, Prep]:
    """→ (id, steps, Prep) of the series ``id_value`` the saved model was fitted on (of its
    only series when None). Refuses (UserError) a format-1 model, a sidecar without
    ``series``, an ambiguous or unknown id; a malformed entry is a ModelFileError."""
    if not is_current(meta):
        raise UserError(
            f"this forecast model has sidecar format {meta.get('format', 1)} (the first "
            f"forecast job's difference windows); format {FORMAT} is needed: train a new model "
            "with lstmkit forecast"
        )
    entries = meta.get("series")
    if entries is None:
        raise UserError(
            "model.json has no 'series' (each series' transform, seasonal indices, μ and σ): "
            "the model was saved by an earlier lstmkit forecast; train it again to export it"
        )
    if not isinstance(entries, list) or not entries:
        raise ModelFileError("model.json: 'series' must be a non-empty list")
    ids = [str(e.get("id")) if isinstance(e, dict) else "?" for e in entries]
    if id_value is None:
        if len(entries) > 1:
            raise UserError(
                f"the model was fitted on a panel of {len(entries)} series (--id "
                f"{meta.get('id')}); choose the one to export with --id-value, one of: "
                + ", ".join(ids[:10])
                + (" …" if len(ids) > 10 else "")
            )
        k = 0
    elif str(id_value) in ids:
        k = ids.index(str(id_value))
    else:
        raise UserError(
            f"--id-value {id_value!r}: not a series of the model; its ids are "
            + ", ".join(ids[:10])
            + (" …" if len(ids) > 10 else "")
        )
    return _entry(entries[k], k)


def _count(meta: dict, key: str) -> int:
    v = meta.get(key)
    if isinstance(v, bool) or not isinstance(v, int) or v < 1:
        raise ModelFileError(f"model.json: {key} must be a count ≥ 1, got {v!r}")
    return v


def _scaler(meta: dict, key: str, columns: str) -> tuple[list[float], list[float]]:
    n = len(meta.get(columns) or [])
    if not n:
        return [], []
    sc = meta.get(key)
    if not isinstance(sc, dict) or any(
        not isinstance(sc.get(k), list) or len(sc[k]) != n for k in ("mean", "std")
    ):
        raise ModelFileError(
            f"model.json: {key} must hold a mean and a std for each of {n} {columns}"
        )
    std = [_number(v, f"{key}.std") for v in sc["std"]]
    if any(v <= 0 for v in std):
        raise ModelFileError(f"model.json: {key}.std must be positive, got {std}")
    return [_number(v, f"{key}.mean") for v in sc["mean"]], std


def one_series(meta: dict, id_value: str | None = None) -> dict:
    """Everything one series' forecast needs, checked: id, steps, prep (:func:`series_prep`),
    lookback, horizon, and (mean, std) lists of the past (``cov``) and future-known
    (``fut``) covariate scalers, one per column (empty without such columns)."""
    sid, steps, prep = series_prep(meta, id_value)
    return {
        "id": sid,
        "steps": steps,
        "prep": prep,
        "lookback": _count(meta, "lookback"),
        "horizon": _count(meta, "horizon"),
        "cov": _scaler(meta, "cov_scaler", "covariates"),
        "fut": _scaler(meta, "fut_scaler", "future_covariates"),
    }


# (bounded so that z_t + h·μ + σ·out stays finite for any horizon and data in range)
_BIG = 1e250
SERIES = obj(
    {
        "id": string(1000),
        "steps": integer(1, 10**10),
        "log": boolean(),
        "season": integer(0, 100_000),
        "s": list_of(number(ge=-_BIG, le=_BIG), 100_000),
        "mu": number(ge=-_BIG, le=_BIG),
        "sigma": number(gt=0, le=_BIG),
    }
)
COLUMNS = list_of(string(200, min_len=1), 1000, unique=True)
FIELDS = {
    "task": one_of("forecast"),
    "format": one_of(FORMAT),
    "target": string(200, min_len=1),
    "time": nullable(string(200)),
    "time_format": nullable(string(200)),
    "id": nullable(string(200, min_len=1)),
    "covariates": COLUMNS,
    "future_covariates": COLUMNS,
    "cov_scaler": nullable(scaler()),
    "fut_scaler": nullable(scaler()),
    "lookback": integer(1, 100_000),
    "horizon": integer(1, 10_000),
    "season": integer(0, 100_000),
    "units": integer(1, 65_536),
    "seed": integer(0, 2**32 - 1),
    "transform": one_of("auto", "log", "none"),
    "deseason": one_of("auto", "on", "off"),
    "trained_on": obj({"series": integer(1, 10**7), "steps": integer(1, 10**12)}),
    "series": list_of(SERIES, 10**6),
}
OPTIONAL = ("series", "time_format", "seed", "trained_on")
#: format 1 (the first job's difference windows; ``explain`` still reads them)
FIELDS_1 = {
    "target": string(200, min_len=1),
    "time": nullable(string(200)),
    "covariates": COLUMNS,
    "lookback": integer(1, 100_000),
    "horizon": integer(1, 10_000),
    "season": integer(0, 100_000),
    "diff_mean": number(ge=-_BIG, le=_BIG),
    "diff_std": number(gt=0, le=_BIG),
    "cov_scaler": nullable(scaler()),
    "units": integer(1, 65_536),
    "seed": integer(0, 2**32 - 1),
}
OPTIONAL_1 = ("time", "units", "seed", "season")


def check(meta: dict, model, side: str) -> dict:
    """``meta`` checked (types, ranges; format 2, or the fields of format 1) and held
    against ``model`` (weights of the job's windows); → the checked copy."""
    if isinstance(meta, dict) and "format" not in meta:
        m = check_fields(side, meta, FIELDS_1, OPTIONAL_1)
        m.update(future_covariates=[], fut_scaler=None, time_format=None)
        m.setdefault("time", None)
        m.setdefault("season", 0)
        F = 1 + len(m["covariates"])  # (format 1 windows: [(d − μ)/σ, covariates])
    else:
        m = check_fields(side, meta, FIELDS, OPTIONAL)
        m.setdefault("time_format", None)
        F = None
    for cols, sc in (("covariates", "cov_scaler"), ("future_covariates", "fut_scaler")):
        n = len(m[cols])
        if (m[sc] is None) != (n == 0) or (m[sc] is not None and len(m[sc]["mean"]) != n):
            fail(side, f"{sc} must hold a mean and a std for each of the {n} {cols}")
    both = set(m["covariates"]) & set(m["future_covariates"])
    if m["target"] in set(m["covariates"]) | set(m["future_covariates"]) or both:
        fail(side, "a column is listed twice among target, covariates and future_covariates")
    for k, e in enumerate(m.get("series") or []):
        if e["season"] == 1 or len(e["s"]) != e["season"]:
            fail(side, f"series[{k}]: season {e['season']} needs that many seasonal indices s")
    stateful = [ly.name for ly in rng_layers(model.layers) if getattr(ly, "stateful", False)]
    if stateful:
        fail(side, f"layer {stateful[0]!r} is stateful; forecast needs a model without state")
    Cp, Cf = len(m["covariates"]), len(m["future_covariates"])
    F = F or 2 + Cp + Cf + (1 if Cf else 0)  # (the window's features: net.n_features)
    T = m["lookback"] + (m["horizon"] if Cf else 0)
    shape = tuple(model.input_shape or ())
    if len(shape) != 2 or shape[-1] != F:
        fail(
            side,
            f"the model reads inputs {shape} (time, features); a forecast model with {Cp} "
            f"past and {Cf} future covariate(s) reads {F} features per step",
        )
    if shape[0] is not None and shape[0] != T:
        fail(side, f"lookback {m['lookback']} does not match the model's {shape[0]} steps")
    out = tuple(model.output_shape)
    if out != (m["horizon"],):
        fail(
            side,
            f"the model outputs {out} per window; forecast needs ({m['horizon']},), one "
            f"value per step of the horizon (a last layer with return_sequences=False)",
        )
    return m
