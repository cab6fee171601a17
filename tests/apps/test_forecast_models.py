"""The transform, the baselines and the backtest machinery, on series whose answer is known."""

import numpy as np
import pytest

from lstmkit.apps.forecast import backtest as bt
from lstmkit.apps.forecast import baselines
from lstmkit.apps.forecast.transforms import fit_prep, seasonal_test


def _seasonal(n=144, m=12, mult=True, seed=0):
    rng = np.random.default_rng(seed)
    t = np.arange(n)
    level = 100 * np.exp(0.01 * t)
    season = 1 + 0.3 * np.sin(2 * np.pi * t / m)
    noise = 1 + 0.01 * rng.standard_normal(n)
    return level * season * noise if mult else level + 30 * np.sin(2 * np.pi * t / m) + noise


def test_log_is_chosen_for_a_multiplicative_season_only():
    p = fit_prep(_seasonal(mult=True), 12)
    assert p.log and p.season == 12 and len(p.s) == 12
    q = fit_prep(_seasonal(mult=False), 12)
    assert not q.log and q.season == 12
    y = _seasonal()
    np.testing.assert_allclose(p.y(p.z(y), np.arange(len(y))), y)  # z → y undoes y → z
    rng = np.random.default_rng(0)
    assert not seasonal_test(rng.standard_normal(200).cumsum(), 12)
    assert fit_prep(rng.standard_normal(200).cumsum() + 50, 12).s == []


def test_naive2_is_exact_on_a_pure_multiplicative_season():
    t = np.arange(120)
    y = 50 * (1 + 0.4 * np.sin(2 * np.pi * t / 12))  # flat level, season × level
    f = baselines.forecast_at("naive2", y, [95], 12, 12)
    np.testing.assert_allclose(f[0], y[96:108], rtol=0.02)
    assert np.abs(baselines.forecast_at("naive", y, [95], 12, 12)[0] - y[96:108]).max() > 5


def test_holt_follows_a_line_and_a_level():
    z = 3.0 + 0.5 * np.arange(40)
    np.testing.assert_allclose(baselines.holt(z, 5), 3.0 + 0.5 * np.arange(40, 45), atol=1e-6)
    np.testing.assert_allclose(baselines.holt(np.full(30, 7.0), 3), 7.0)


@pytest.mark.parametrize("name", ["ets", "arima"])
def test_statsmodels_candidates_beat_seasonal_naive_on_a_trending_season(name):
    y = _seasonal(n=156)
    t = np.array([119, 125, 131])
    f = baselines.forecast_at(name, y, t, 12, 12)
    act = y[t[:, None] + np.arange(1, 13)]
    sn = baselines.forecast_at("seasonal_naive", y, t, 12, 12)
    assert np.abs(f - act).mean() < 0.5 * np.abs(sn - act).mean()


def test_origins_sit_in_the_tail_and_shrink_for_a_short_series():
    o = bt.place_origins(np.arange(200.0), 12, 12, 5, 6, None)
    assert list(o.t) == [163, 169, 175, 181, 187] and o.train_end == 164
    assert o.t[-1] + 12 == 199
    short = bt.place_origins(np.arange(32.0), 6, 12, 5, 3, None)  # 2·12 + 6 = 30 ≤ 32
    assert len(short.t) == 1 and short.train_end >= 24
    given = bt.place_origins(np.arange(100.0), 4, 1, 3, 2, 20)
    assert given.train_end == 80 and given.t[0] == 79 and given.t[-1] + 4 <= 99


def test_conformal_intervals_cover_their_level_on_gaussian_errors():
    rng = np.random.default_rng(0)
    H, K = 8, 5
    err = [
        rng.standard_normal((K, H)) * np.sqrt(np.arange(1, H + 1)) * s
        for s in rng.uniform(0.5, 3, 200)
    ]
    scales = [float(np.abs(e).mean()) for e in err]  # a scale per series, as MASE's
    c = bt.fit_conformal(err, scales, 0.8)
    assert 0.3 < c.b < 0.7  # the √h growth is found
    assert abs(c.coverage - 0.8) < 0.03, c.coverage
    fresh = 2.0 * rng.standard_normal((2000, H)) * np.sqrt(np.arange(1, H + 1))  # new errors
    inside = np.abs(fresh) <= c.half_width(float(np.abs(fresh[:5]).mean()), H)
    assert 0.7 < inside.mean() < 0.9, inside.mean()


def test_pick_keeps_the_ensemble_unless_a_candidate_clearly_beats_it():
    order = ["naive", "ets", "lstm", "lstm+ets"]
    s = {
        k: {"mase": v}
        for k, v in {"ets": 0.5, "lstm": 0.45, "naive": 1.0, "lstm+ets": 0.52}.items()
    }
    name, why = bt.pick(s, None, order)
    assert name == "lstm+ets" and "no candidate beats it by more than 20 %" in why
    s["lstm"]["mase"] = 0.4  # 23 % better than the ensemble
    name, why = bt.pick(s, None, order)
    assert name == "lstm" and why.startswith("its backtest MASE 0.400 beats the lstm+ets")
    del s["lstm+ets"]
    assert bt.pick(s, None, order[:3])[0] == "lstm"  # no ensemble: the lowest
    assert bt.pick(s, "ets", order) == ("ets", "--model ets")
