"""Issue 18's checks on the public panel of docs/forecast.md (statsmodels' and sktime's
bundled series, installed by the dev extra): the whole panel is run through the job as
the benchmark does (last H points held out, backtest, pick, refit) and scored there.

Checked: --model auto's mean MASE ≤ ETS's; the LSTM alone within 15 % of ETS; the
interval's coverage on the rolling backtest within ±10 points of the nominal 80 %.
NOT checked because it does not hold (docs/forecast.md says why): "never worse than
seasonal naive by more than 5 % on any series" fails on us_realgdp, us_realinv, uk_ksi.
"""

import importlib.util
from pathlib import Path

import numpy as np
import pytest

ROOT = Path(__file__).resolve().parents[2]


def _bench():
    spec = importlib.util.spec_from_file_location(
        "forecast_panel", ROOT / "benchmarks" / "forecast_panel.py"
    )
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


@pytest.mark.slow
def test_auto_matches_ets_and_intervals_cover_on_the_public_panel(tmp_path):
    b = _bench()
    results = [b.run_one(name, H, rows, str(tmp_path), 0, 150, 5) for name, _, H, rows in b.panel()]
    assert len(results) == 14
    mean = {
        k: float(np.mean([r["holdout"][k]["mase"] for r in results]))
        for k in ("auto", "lstm", "ets")
    }
    assert mean["auto"] <= mean["ets"], mean
    assert mean["lstm"] <= 1.15 * mean["ets"], mean
    cov = [r for r in results if r["coverage_backtest"] is not None]
    pts = sum(r["backtest_points"] for r in cov)
    achieved = sum(r["coverage_backtest"] * r["backtest_points"] for r in cov) / pts
    assert abs(achieved - 0.8) <= 0.10, achieved
