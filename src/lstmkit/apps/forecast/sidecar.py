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

:func:`one_series` checks and returns what a single series' forecast needs.
"""

from __future__ import annotations

import math

from ...errors import ModelFileError, UserError
from .transforms import Prep

__all__ = ["FORMAT", "make_meta", "is_current", "series_prep", "one_series"]

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
