"""`lstmkit forecast` in-process: a quick run, a saved-model run, bad input, Ctrl-C, the new
inputs (dates, panels, future covariates, short series, missing values) and the
end-to-end runs on the bundled series."""

import csv
import json

import numpy as np
import pytest

from cli_helpers import assert_user_error, run_cli
from lstmkit.data import datasets

QUICK = ["--epochs", "3", "--units", "8", "--quiet"]
FAST = [*QUICK, "--candidates", "naive,seasonal_naive,naive2,ets"]  # no ARIMA: seconds less


def _co2_slice(tmp_path, n=200, bad=None, name="co2.csv"):
    rows = list(csv.reader(open(datasets.get("co2").path)))
    p = tmp_path / name
    with open(p, "w", newline="") as f:
        w = csv.writer(f)
        w.writerow(["month", "co2", "noise"])
        for k, (m, v) in enumerate(rows[1 : n + 1]):
            w.writerow([m, bad if (bad and k == 57) else v, (k * 7919) % 13])
    return p


def _write(tmp_path, header, rows, name="d.csv"):
    p = tmp_path / name
    p.write_text(",".join(header) + "\n" + "".join(",".join(map(str, r)) + "\n" for r in rows))
    return p


def _forecast_rows(out):
    return list(csv.reader(open(out / "forecast.csv")))


def test_forecast_quick_run_writes_everything(tmp_path, capsys):
    out = tmp_path / "out"
    rc, stdout, _ = run_cli(
        capsys,
        "forecast",
        _co2_slice(tmp_path),
        "--target",
        "co2",
        "--horizon",
        "6",
        "--covariates",
        "noise",
        "--out",
        out,
        *QUICK,
    )
    assert rc == 0, stdout
    for f in ("forecast.csv", "metrics.json", "forecast.png", "model.safetensors", "model.json"):
        assert (out / f).stat().st_size > 0, f
    m = json.loads((out / "metrics.json").read_text())
    names = {"naive", "seasonal_naive", "naive2", "ets", "arima", "lstm", "lstm+ets"}
    assert set(m["backtest"]) == names | {"picked"}
    for v in m["backtest"].values():
        assert set(v) == {"mae", "rmse", "mase", "smape", "owa"}
        assert all(np.isfinite(list(v.values())))
    assert m["model"] in names and "backtest MASE" in m["why"]
    ens, best = m["backtest"]["lstm+ets"]["mase"], min(m["backtest"][n]["mase"] for n in names)
    # the ensemble, unless a candidate beats it by more than 20 %
    assert (
        m["model"] == "lstm+ets" if best >= 0.8 * ens else m["backtest"]["picked"]["mase"] == best
    )
    assert m["settings"]["season"] == 12 and m["settings"]["season_from"] == "monthly time column"
    assert 0 <= m["interval"]["coverage_backtest"] <= 1 and m["interval"]["level"] == 0.8
    rows = _forecast_rows(out)
    assert rows[0] == ["month", "forecast", "lower_80", "upper_80", "model", "lstm"]
    assert len(rows) == 7
    last = list(csv.reader(open(tmp_path / "co2.csv")))[-1][0]  # e.g. "1974-10"
    y, mo = int(last[:4]), int(last[5:])
    assert rows[1][0] == (f"{y + 1}-01" if mo == 12 else f"{y}-{mo + 1:02d}")
    lo, f, hi = (np.array([float(r[k]) for r in rows[1:]]) for k in (2, 1, 3))
    assert np.all(lo < f) and np.all(f < hi)
    assert f"picked: {m['model']}" in stdout and "the best baseline" in stdout
    assert "covered" in stdout and "refit: every model fitted again" in stdout
    assert (out / "forecast.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    sidecar = json.loads((out / "model.json").read_text())
    assert sidecar["format"] == 2 and sidecar["covariates"] == ["noise"]


def test_forecast_from_saved_model_and_refusals(tmp_path, capsys):
    data, out = _co2_slice(tmp_path), tmp_path / "run"
    assert run_cli(capsys, "forecast", data, "--target", "co2", "--out", out, *FAST)[0] == 0
    first = _forecast_rows(out)
    rc, stdout, _ = run_cli(
        capsys,
        "forecast",
        "--load",
        out / "model.safetensors",
        data,
        "--out",
        tmp_path / "again",
        "--quiet",
    )
    assert rc == 0, stdout
    again = _forecast_rows(tmp_path / "again")
    # the saved model is the refitted one: on the same data it gives the same LSTM forecast
    np.testing.assert_allclose(
        [float(r[5]) for r in again[1:]], [float(r[5]) for r in first[1:]], rtol=1e-5
    )
    assert {r[4] for r in again[1:]} == {"lstm"}  # a loaded model forecasts
    assert not (tmp_path / "again" / "model.safetensors").exists()
    # the old spelling --model FILE still loads, with a note
    rc, _, err = run_cli(
        capsys, "forecast", "--model", out, data, "--out", tmp_path / "old", "--quiet"
    )
    assert rc == 0 and "--model FILE is now --load FILE" in err
    # the out dir now holds files: refused without --force, nothing overwritten
    before = (out / "forecast.csv").read_bytes()
    rc, _, err = run_cli(capsys, "forecast", data, "--target", "co2", "--out", out, *QUICK)
    assert_user_error(rc, err, "not empty", "--force")
    assert (out / "forecast.csv").read_bytes() == before
    # a model written by another task
    meta = json.loads((out / "model.json").read_text())
    meta["lstmkit_task"] = "classify"
    (out / "model.json").write_text(json.dumps(meta))
    rc, _, err = run_cli(capsys, "forecast", "--load", out, data, "--out", tmp_path / "x")
    assert_user_error(rc, err, "'classify' model", "'forecast'")


@pytest.mark.parametrize(
    "case",
    [
        "missing_file",
        "missing_column",
        "non_numeric",
        "too_short",
        "unwritable_out",
        "no_target",
        "bad_horizon",
        "garbled_model",
        "bad_model_name",
        "test_size_below_horizon",
        "too_many_missing",
        "duplicate_time",
        "irregular_time",
    ],
)
def test_forecast_bad_input(tmp_path, capsys, case):
    data = _co2_slice(tmp_path)
    args = ["forecast", data, "--target", "co2", "--out", tmp_path / "o", *QUICK]
    needles = []
    if case == "missing_file":
        args[1], needles = tmp_path / "nope.csv", ["no such file", "nope.csv"]
    elif case == "missing_column":
        args[3], needles = "co3", ["column 'co3' not found", "month, co2"]
    elif case == "non_numeric":  # 'n/a' is a missing value now; a word is not a number
        args[1], needles = _co2_slice(tmp_path, bad="abc"), ["'abc'", "data row 58"]
    elif case == "too_short":  # 2 seasons + horizon 12 = 36
        args[1], needles = _co2_slice(tmp_path, n=30), ["has 30 values", "at least 36"]
    elif case == "unwritable_out":
        (tmp_path / "afile").write_text("x")
        args[5], needles = tmp_path / "afile" / "sub", ["cannot write", "afile"]
    elif case == "no_target":
        args, needles = ["forecast", data, "--out", tmp_path / "o"], ["--target is required"]
    elif case == "bad_horizon":
        args += ["--horizon", "0"]
        needles = ["--horizon expected an integer 1..10000, got '0'"]
    elif case == "garbled_model":
        (tmp_path / "m").mkdir()
        (tmp_path / "m" / "model.safetensors").write_bytes(b"garbage" * 10)
        (tmp_path / "m" / "model.json").write_text('{"lstmkit_task": "forecast", "format": 2}')
        args = ["forecast", "--load", tmp_path / "m", data, "--out", tmp_path / "o"]
        needles = ["model.safetensors"]
    elif case == "bad_model_name":
        args += ["--model", "prophet"]
        needles = ["--model must be one of", "'prophet'"]
    elif case == "test_size_below_horizon":
        args += ["--test-size", "5"]
        needles = ["--test-size must be 0", "horizon 12, got 5"]
    elif case == "too_many_missing":
        rows = [r for r in csv.reader(open(data))]
        for r in rows[21:81]:  # inside the series (leading gaps are dropped, not filled)
            r[1] = ""
        p = _write(tmp_path, rows[0], rows[1:], "holes.csv")
        args[1], needles = p, ["60 missing values out of 200 (30 %)", "--max-missing"]
    elif case in ("duplicate_time", "irregular_time"):
        rows = [r for r in csv.reader(open(data))]
        if case == "duplicate_time":
            rows[41][0] = rows[40][0]  # data rows 40 and 41 share a month
            needles = [f"{rows[40][0]!r} twice (data rows 40 and 41)"]
        else:
            for r in rows[1:]:
                r[0] = f"{r[0]}-01"  # monthly dates on the 1st
            rows[41][0] = rows[41][0][:8] + "15"  # one date mid-month
            needles = ["'month': the dates fall on day 1 of the month except data row 41"]
        args[1] = _write(tmp_path, rows[0], rows[1:], "times.csv")
    rc, _, err = run_cli(capsys, *args)
    assert_user_error(rc, err, *needles)
    if case != "unwritable_out":
        assert not (tmp_path / "o").exists()  # nothing is made for bad input


def test_forecast_ctrl_c_exits_130_and_keeps_the_model(tmp_path, capsys, monkeypatch):
    from lstmkit.apps.forecast import job as fc
    from lstmkit.callbacks import Callback

    class Interrupt(Callback):
        def on_epoch_end(self, epoch, logs=None):
            if epoch == 1:
                raise KeyboardInterrupt

    monkeypatch.setattr(fc, "epoch_bar", lambda epochs, verbose: Interrupt())
    out = tmp_path / "o"
    rc, stdout, err = run_cli(
        capsys,
        "forecast",
        _co2_slice(tmp_path),
        "--target",
        "co2",
        "--out",
        out,
        "--epochs",
        "5",
        "--units",
        "8",
        "--candidates",
        "naive",
    )
    assert rc == 130 and "interrupted" in err
    assert (out / "model.safetensors").exists() and "interrupted" in stdout


def test_dates_as_mm_yyyy_and_quarters_give_labels_and_the_season(tmp_path, capsys):
    rng = np.random.default_rng(0)
    q = [f"{1959 + k // 4}Q{k % 4 + 1}" for k in range(80)]
    y = 100 + np.arange(80) + 5 * np.tile([1, -1, 2, -2], 20) + rng.normal(size=80)
    p = _write(tmp_path, ["quarter", "gdp"], zip(q, np.round(y, 3), strict=True))
    out = tmp_path / "q"
    rc, stdout, _ = run_cli(
        capsys, "forecast", p, "--target", "gdp", "--horizon", "4", "--out", out, *FAST
    )
    assert rc == 0, stdout
    assert [r[0] for r in _forecast_rows(out)[1:]] == ["1979Q1", "1979Q2", "1979Q3", "1979Q4"]
    assert "season 4 (quarterly time column)" in stdout
    months = [f"{k % 12 + 1:02d}/{1980 + k // 12}" for k in range(60)]
    p = _write(tmp_path, ["month", "sales"], [(m, 10 + k % 12) for k, m in enumerate(months)])
    out = tmp_path / "m"
    rc, stdout, _ = run_cli(
        capsys, "forecast", p, "--target", "sales", "--horizon", "3", "--out", out, *FAST
    )
    assert rc == 0, stdout
    assert [r[0] for r in _forecast_rows(out)[1:]] == ["01/1985", "02/1985", "03/1985"]
    assert "season 12 (monthly time column)" in stdout
    # labels lstmkit cannot read: a warning, positions on the plot
    p = _write(tmp_path, ["when", "v"], [(f"w{k}", k % 7) for k in range(60)])
    rc, stdout, _ = run_cli(
        capsys,
        "forecast",
        p,
        "--target",
        "v",
        "--time",
        "when",
        "--horizon",
        "3",
        "--out",
        tmp_path / "w",
        *FAST,
    )
    assert rc == 0 and "in no format lstmkit knows" in stdout and "--time-format" in stdout


def test_short_series_missing_values_test_size_zero_and_forced_model(tmp_path, capsys):
    rng = np.random.default_rng(1)
    t = np.arange(30)  # 2 seasons + horizon 6: the shortest accepted
    y = 200 + 3 * t + 40 * np.sin(2 * np.pi * t / 12) + rng.normal(0, 5, 30)
    cells = [f"{v:.2f}" for v in y]
    cells[10] = ""  # one empty cell
    months = [f"{1991 + k // 12}-{k % 12 + 1:02d}" for k in range(30)]
    p = _write(tmp_path, ["month", "sales"], zip(months, cells, strict=True))
    out = tmp_path / "s"
    rc, stdout, _ = run_cli(
        capsys, "forecast", p, "--target", "sales", "--horizon", "6", "--out", out, *FAST
    )
    assert rc == 0, stdout
    assert "interpolated 1 missing value(s) of 'sales'" in stdout
    assert "an LSTM of 8 units" in stdout or "LSTM 8 units" in stdout
    rc, _, err = run_cli(
        capsys, "forecast", p, "--target", "sales", "--horizon", "7", "--out", tmp_path / "x", *FAST
    )
    assert_user_error(rc, err, "has 30 values", "at least 31", "2 seasons (24) + horizon 7")
    out = tmp_path / "z"
    rc, stdout, _ = run_cli(
        capsys,
        "forecast",
        p,
        "--target",
        "sales",
        "--horizon",
        "6",
        "--test-size",
        "0",
        "--out",
        out,
        *FAST,
    )
    assert rc == 0 and "--test-size 0: no backtest" in stdout
    m = json.loads((out / "metrics.json").read_text())
    assert m["backtest"] == {} and m["interval"] is None and m["model"] == "lstm"
    assert "no backtest: every model fitted on the whole series" in stdout
    rc, stdout, _ = run_cli(
        capsys,
        "forecast",
        p,
        "--target",
        "sales",
        "--horizon",
        "6",
        "--no-refit",
        "--out",
        tmp_path / "nr",
        *FAST,
    )
    assert rc == 0 and "no refit (--no-refit)" in stdout
    out = tmp_path / "f"
    rc, stdout, _ = run_cli(
        capsys,
        "forecast",
        p,
        "--target",
        "sales",
        "--horizon",
        "6",
        "--model",
        "seasonal_naive",
        "--out",
        out,
        *FAST,
    )
    assert rc == 0 and "picked: seasonal_naive — --model seasonal_naive" in stdout
    assert "refit: every model fitted again" in stdout
    rows = _forecast_rows(out)
    np.testing.assert_allclose([float(r[1]) for r in rows[1:]], y[18:24], atol=0.01)


def test_panel_with_future_covariates_and_nonnegative(tmp_path, capsys):
    rng = np.random.default_rng(2)
    rows = []
    for sid in ("a", "b", "c"):
        lvl = rng.uniform(5, 50)
        for k in range(84):  # 80 with sales, 4 future rows with only the promotion
            promo = int(k % 5 == 0)
            v = max(0.0, lvl * (1 + 0.5 * promo) + rng.normal(0, 1)) if k < 80 else ""
            rows.append(
                (sid, f"{2000 + k // 12}-{k % 12 + 1:02d}", promo, f"{v:.3f}" if v != "" else "")
            )
    p = _write(tmp_path, ["store", "month", "promo", "sales"], rows)
    out = tmp_path / "p"
    rc, stdout, _ = run_cli(
        capsys,
        "forecast",
        p,
        "--id",
        "store",
        "--target",
        "sales",
        "--future-covariates",
        "promo",
        "--horizon",
        "4",
        "--nonnegative",
        "--out",
        out,
        *FAST,
    )
    assert rc == 0, stdout
    fc = _forecast_rows(out)
    assert fc[0][:2] == ["id", "month"] and len(fc) == 1 + 3 * 4
    assert [r[0] for r in fc[1:]] == ["a"] * 4 + ["b"] * 4 + ["c"] * 4
    assert fc[1][1] == "2006-09"
    assert all(float(r[k]) >= 0 for r in fc[1:] for k in (2, 3, 4))  # forecast, lower, upper
    m = json.loads((out / "metrics.json").read_text())
    assert set(m["series"]) == {"a", "b", "c"} and m["model"] == "per series"
    assert m["backtest"]["naive2"]["owa"] == pytest.approx(1.0)
    assert "picked per series" in stdout and "3 series" in stdout
    assert (out / "series.csv").exists()
    side = json.loads((out / "model.json").read_text())
    assert side["id"] == "store" and side["future_covariates"] == ["promo"]
    assert side["trained_on"]["series"] == 3
    # the future rows are required for future-known covariates
    short = [r for r in rows if not (r[0] == "b" and r[3] == "" and r[1] >= "2006-11")]
    p = _write(tmp_path, ["store", "month", "promo", "sales"], short, "short.csv")
    rc, _, err = run_cli(
        capsys,
        "forecast",
        p,
        "--id",
        "store",
        "--target",
        "sales",
        "--future-covariates",
        "promo",
        "--horizon",
        "4",
        "--out",
        tmp_path / "x",
        *FAST,
    )
    assert_user_error(rc, err, "need 4 rows after the last 'sales' value", "'b' has 2")


@pytest.mark.slow
@pytest.mark.parametrize("name, horizon", [("co2", 12), ("elnino", 12), ("sunspots", 5)])
def test_forecast_end_to_end_on_real_series(tmp_path, capsys, name, horizon):
    out = tmp_path / name
    rc, stdout, _ = run_cli(
        capsys, "forecast", "--dataset", name, "--horizon", horizon, "--out", out, "--quiet"
    )
    assert rc == 0, stdout
    m = json.loads((out / "metrics.json").read_text())["backtest"]
    assert m["lstm"]["mase"] < m["naive"]["mase"], m
    assert m["picked"]["mase"] <= m["seasonal_naive"]["mase"], m
    assert "the LSTM" in stdout and "the best baseline" in stdout


def test_forecast_without_out_makes_a_fresh_numbered_dir(tmp_path, capsys, monkeypatch):
    data = _co2_slice(tmp_path)
    monkeypatch.chdir(tmp_path)
    for k in (1, 2):
        rc, stdout, _ = run_cli(capsys, "forecast", data, "--target", "co2", *FAST)
        assert rc == 0 and (tmp_path / "lstmkit-runs" / f"forecast-{k}" / "forecast.csv").exists()


def test_without_statsmodels_auto_still_works(tmp_path, capsys, monkeypatch):
    from lstmkit.apps.forecast import baselines

    monkeypatch.setattr(baselines, "have_statsmodels", lambda: False)
    out = tmp_path / "o"
    rc, stdout, _ = run_cli(
        capsys,
        "forecast",
        _co2_slice(tmp_path),
        "--target",
        "co2",
        "--horizon",
        "6",
        "--out",
        out,
        *QUICK,
    )
    assert rc == 0, stdout
    assert "arima needs statsmodels: pip install 'lstmkit[stats]'" in stdout
    assert "ets is lstmkit's own damped Holt" in stdout
    m = json.loads((out / "metrics.json").read_text())
    assert "arima" not in m["backtest"] and {"ets", "lstm+ets"} <= set(m["backtest"])
    assert m["backtest"]["ets"]["mase"] < m["backtest"]["seasonal_naive"]["mase"]
