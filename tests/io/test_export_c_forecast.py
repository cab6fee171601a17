"""The forecast job's windows and levels in C (lstmkit/apps/forecast/net.py: make_windows,
to_levels, with each series' Prep and the covariate scalers from model.json) against the
job's own Python forecast: a plain series, CO₂ (deseasonalised), a multiplicative one (log +
deseasonalised), past and future-known covariates, one series of a panel; what the C
refuses to transform, and the sidecars the export refuses."""

import numpy as np
import pytest
from tests.io import _c_harness as H
from tests.io import _c_jobs as J
from tests.io.test_export_c import randomise

from lstmkit import LSTM, Dense, Sequential
from lstmkit.apps.export.c_job import c_arguments
from lstmkit.apps.forecast import job as fc
from lstmkit.apps.forecast import net
from lstmkit.apps.forecast.transforms import Prep
from lstmkit.data.scaling import StandardScaler
from lstmkit.errors import ModelFileError, UserError
from lstmkit.io import export_c
from lstmkit.io.c_export import ForecastSpec


def _plain(n=160, seed=0):
    """A random walk with drift around 50: no season (m = 1), no transform."""
    rng = np.random.default_rng(seed)
    return fc.Series("walk", 50 + np.cumsum(0.3 + rng.standard_normal(n)), np.zeros((n, 0)))


def _multiplicative(n=144, m=12, seed=0):
    """A growing level times a season: the job takes logs and removes the season."""
    rng = np.random.default_rng(seed)
    t = np.arange(n)
    y = 100 * np.exp(0.01 * t) * (1 + 0.3 * np.sin(2 * np.pi * t / m))
    return fc.Series("mult", y * (1 + 0.01 * rng.standard_normal(n)), np.zeros((n, 0)))


def _with_covariates(n=150, H=6, seed=1):
    """y driven by two past covariates and a future-known one (H future rows of it)."""
    rng = np.random.default_rng(seed)
    cov = rng.standard_normal((n, 2)) * [3.0, 0.2] + [10.0, -1.0]
    price = 5 + np.sin(np.arange(n + H) / 5) + 0.1 * rng.standard_normal(n + H)
    y = 80 + np.cumsum(0.2 * rng.standard_normal(n)) + 0.5 * cov[:, 0] - 2 * price[:n]
    return fc.Series("cov", y, cov, fut=price[:, None])


def c_against_job(tmp_path, res, id_value=None, quantize=None):
    """Export the job's model (its sidecar), compile, and compare the C model_forecast with
    the job's Python: its forecast past the end (forecast.csv's lstm column) and, from every
    origin of the series (all seasonal phases), net.predict_net with the sidecar's numbers.
    → (max relative difference, max difference on the model's scale |Δ|/σ)."""
    meta = res.meta
    export_c(res.model, tmp_path, quantize=quantize, **c_arguments(meta, id_value), measure=False)
    exe = J.compile_driver(tmp_path, "forecast")
    r = next(r for r in res.results if id_value is None or r.series.name == id_value)
    s, L, H_ = r.series, meta["lookback"], meta["horizon"]
    n = len(s.y)
    last = J.c_forecast(exe, s, [n - 1], L, H_)[0]
    rel = [np.max(np.abs(last - r.final["lstm"]) / np.abs(r.final["lstm"]))]
    d = J.stored_data(meta, s, id_value)
    origins = np.arange(L, n)
    ref = net.predict_net(res.model, [d], [origins], L, H_)[0]  # (n − L, H)
    got = J.c_forecast(exe, s, origins, L, H_)
    rel.append(np.max(np.abs(got - ref) / np.abs(ref)))
    w = np.log if d.prep.log else np.asarray  # the season cancels in a difference of z
    on_scale = np.max(np.abs(w(got) - w(ref))) / d.prep.sigma  # |Δz| in units σ
    return max(rel), on_scale, d.prep


@pytest.mark.parametrize("kind", ["plain", "co2", "multiplicative"])
def test_forecast_c_is_the_jobs_forecast(tmp_path, kind):
    """A model trained by the forecast job, exported from its sidecar: the C forecast =
    the job's (1e-5 relative), for a plain series, CO₂ (deseasonalised; the job's default
    backtest and refit) and a multiplicative one (log + deseasonalised)."""
    if kind == "plain":
        res = J.run_job([_plain()], horizon=6, season=1)
    elif kind == "co2":
        res = J.run_job([J.co2_series()], target="co2", test_size=None)  # backtest, refit
        assert res.state == "refit"  # the sidecar holds the refit's scaling, not the backtest's
    else:
        res = J.run_job([_multiplicative()])
    rel, on_scale, prep = c_against_job(tmp_path, res)
    want = {"plain": (False, 0), "co2": (False, 12), "multiplicative": (True, 12)}[kind]
    assert (prep.log, prep.season) == want  # the path each case is meant to cover
    assert rel < 1e-5 and on_scale < 1e-5, (rel, on_scale)


def test_forecast_with_past_and_future_covariates(tmp_path):
    res = J.run_job(
        [_with_covariates()], horizon=6, season=1, covariates=["a", "b"], future_covariates=["p"]
    )
    assert res.model.input_shape[-1] == 2 + 2 + 1 + 1  # the covariates reach the network
    rel, on_scale, _ = c_against_job(tmp_path, res)
    assert rel < 1e-5 and on_scale < 1e-5, (rel, on_scale)
    text = (tmp_path / "model.h").read_text()
    assert "MODEL_COVARIATES 2 " in text and "MODEL_FUTURE_COVARIATES 1 " in text


def test_forecast_spec_with_everything_at_once(tmp_path):
    """export_c's ForecastSpec alone (no job): log, a season of 4, past and future-known
    covariates, random weights → C = net.predict_net with the same Prep and scalers from
    every origin, compiled by gcc and clang; and it cross-compiles for a Cortex-M4 with no
    RAM of its own (the double arithmetic passes -Wdouble-promotion)."""
    n, L, H_ = 90, 10, 4
    s = _with_covariates(n, H_, seed=5)
    prep = Prep(True, 4, [0.03, -0.01, 0.02, -0.04], 0.004, 0.02)
    cs, fs = StandardScaler().fit(s.cov), StandardScaler().fit(s.fut[:n])
    model = randomise(Sequential([LSTM(6), Dense(H_)]), 1, (None, 6))
    spec = ForecastSpec(L, H_, prep.mu, prep.sigma, True, prep.s, n - 1, cs.mean, cs.std)
    spec.fut_mean, spec.fut_std = fs.mean, fs.std
    export_c(model, tmp_path, forecast=spec, measure=False)
    origins = np.arange(L, n)
    d = net.net_data(s.y, prep, s.cov, s.fut, cs, fs)
    ref = net.predict_net(model, [d], [origins], L, H_)[0]
    for cc in ["gcc"] + (["clang"] if H.have("clang") else []):
        got = J.c_forecast(J.compile_driver(tmp_path, "forecast", cc=cc), s, origins, L, H_)
        assert np.max(np.abs(got - ref) / ref) < 1e-5, cc
    if H.have("arm-none-eabi-gcc"):
        _, size = H.compile_m4_object(tmp_path)
        assert size["data"] == 0 and size["bss"] == 0


def test_forecast_panel_exports_one_chosen_series(tmp_path):
    a, b = _multiplicative(seed=2), _multiplicative(seed=3)
    a.name, b.name = "north", "south"
    b.y = 0.3 * b.y[::-1]  # another level, trend and phase: its own Prep
    res = J.run_job([a, b], id="store")
    assert [e["id"] for e in res.meta["series"]] == ["north", "south"]
    with pytest.raises(UserError, match=r"panel of 2 series.*--id-value.*north, south"):
        c_arguments(res.meta)
    with pytest.raises(UserError, match="--id-value 'west'.*north, south"):
        c_arguments(res.meta, "west")
    rel, on_scale, prep = c_against_job(tmp_path, res, "south")
    assert rel < 1e-5 and on_scale < 1e-5, (rel, on_scale)
    assert prep.mu == res.meta["series"][1]["mu"] != res.meta["series"][0]["mu"]


def test_forecast_c_refuses_what_it_cannot_transform(tmp_path):
    """−1 (and out untouched) for y ≤ 0 under the log, and a seasonal origin t < L."""
    res = J.run_job([_multiplicative()])
    export_c(res.model, tmp_path, **c_arguments(res.meta), measure=False)
    exe = J.compile_driver(tmp_path, "forecast")
    L = res.meta["lookback"]
    y = _multiplicative().y
    win = np.stack([y[-L - 1 :], y[-L - 1 :], y[: L + 1]])
    win[1, 3] = 0.0
    rc, out = J.c_forecast_raw(exe, [len(y) - 1, len(y) - 1, L - 1], win)
    assert list(rc) == [0, -1, -1]
    assert np.all(out[1:] == -12345.0) and np.all(np.isfinite(out[0]))


def test_forecast_sidecar_refusals(tmp_path):
    res = J.run_job([_plain()], horizon=6, season=1)
    meta = dict(res.meta)
    old = {k: v for k, v in meta.items() if k not in ("format", "series")}
    with pytest.raises(UserError, match="format 1.*train a new model"):
        c_arguments({**old, "diff_mean": 0.1, "diff_std": 1.0})
    with pytest.raises(UserError, match="no 'series'.*train it again"):
        c_arguments({**old, "format": 2})
    bad = [
        ({"sigma": 0.0}, "sigma must be positive"),
        ({"s": [0.1, 0.2]}, "must be 0 seasonal indices"),
        ({"season": 1}, "season must be 0 or"),
        ({"mu": "x"}, "mu must be a finite number"),
        ({"log": 1}, "log must be true or false"),
    ]
    for change, needle in bad:
        entry = {**meta["series"][0], **change}
        with pytest.raises(ModelFileError, match=needle):
            c_arguments({**meta, "series": [entry]})
    with pytest.raises(ModelFileError, match="lookback must be a count"):
        c_arguments({**meta, "lookback": 0})
    with pytest.raises(ModelFileError, match="cov_scaler must hold"):
        c_arguments({**meta, "covariates": ["a"], "cov_scaler": {"mean": [1.0], "std": []}})
    with pytest.raises(UserError, match="--id-value is for a forecast model"):
        c_arguments({"lstmkit_task": "textgen", "chars": "ab"}, "x")
