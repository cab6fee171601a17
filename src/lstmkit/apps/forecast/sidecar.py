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
                       each series' own transform, seasonal indices, μ and σ are fitted on
                       the data it is given (a global model: per-series scaling is not
                       stored, so the model forecasts series it never saw)
    trained_on         number of series and their total steps
"""

from __future__ import annotations

__all__ = ["FORMAT", "make_meta", "is_current"]

FORMAT = 2


def make_meta(cfg, plan, cov_scaler, fut_scaler, n_series: int, n_steps: int) -> dict:
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
        "trained_on": {"series": n_series, "steps": n_steps},
    }


def is_current(meta: dict) -> bool:
    return meta.get("format") == FORMAT
