"""`lstmkit forecast` in-process: a quick run, a saved-model run, bad input, Ctrl-C, and the
end-to-end runs that show the LSTM beating the naive forecast on three real series."""

import csv
import json

import numpy as np
import pytest

from cli_helpers import assert_user_error, run_cli
from lstmkit.data import datasets

QUICK = ["--epochs", "3", "--units", "8", "--quiet"]


def _co2_slice(tmp_path, n=200, bad=None):
    rows = list(csv.reader(open(datasets.get("co2").path)))
    p = tmp_path / "co2.csv"
    with open(p, "w", newline="") as f:
        w = csv.writer(f)
        w.writerow(["month", "co2", "noise"])
        for k, (m, v) in enumerate(rows[1 : n + 1]):
            w.writerow([m, bad if (bad and k == 57) else v, (k * 7919) % 13])
    return p


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
    assert rc == 0
    for f in ("forecast.csv", "metrics.json", "forecast.png", "model.safetensors", "model.json"):
        assert (out / f).stat().st_size > 0, f
    m = json.loads((out / "metrics.json").read_text())
    assert set(m) == {"lstm", "naive", "seasonal_naive"}
    for v in m.values():
        assert set(v) == {"mae", "rmse", "mase", "smape"} and all(np.isfinite(list(v.values())))
    rows = list(csv.reader(open(out / "forecast.csv")))
    assert rows[0][:2] == ["month", "forecast"] and len(rows) == 7
    last = list(csv.reader(open(tmp_path / "co2.csv")))[-1][0]  # e.g. "1974-10"
    y, m = int(last[:4]), int(last[5:])
    assert rows[1][0] == (f"{y + 1}-01" if m == 12 else f"{y}-{m + 1:02d}")
    assert "naive" in stdout and "seasonal_naive" in stdout and "forecast.png" in stdout
    assert (out / "forecast.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_forecast_from_saved_model_and_refusals(tmp_path, capsys):
    data, out = _co2_slice(tmp_path), tmp_path / "run"
    assert run_cli(capsys, "forecast", data, "--target", "co2", "--out", out, *QUICK)[0] == 0
    first = json.loads((out / "metrics.json").read_text())
    rc, stdout, _ = run_cli(
        capsys, "forecast", "--model", out / "model.safetensors", data, "--out", tmp_path / "again"
    )
    assert rc == 0, stdout
    again = json.loads((tmp_path / "again" / "metrics.json").read_text())
    assert again["lstm"]["mae"] == pytest.approx(first["lstm"]["mae"], rel=1e-5)
    assert not (tmp_path / "again" / "model.safetensors").exists()
    # the out dir now holds files: refused without --force, nothing overwritten
    before = (out / "forecast.csv").read_bytes()
    rc, _, err = run_cli(capsys, "forecast", data, "--target", "co2", "--out", out, *QUICK)
    assert_user_error(rc, err, "not empty", "--force")
    assert (out / "forecast.csv").read_bytes() == before
    # a model written by another task
    meta = json.loads((out / "model.json").read_text())
    meta["lstmkit_task"] = "classify"
    (out / "model.json").write_text(json.dumps(meta))
    rc, _, err = run_cli(capsys, "forecast", "--model", out, data, "--out", tmp_path / "x")
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
    elif case == "non_numeric":
        args[1], needles = _co2_slice(tmp_path, bad="n/a"), ["'n/a'", "data row 58"]
    elif case == "too_short":
        args[1], needles = _co2_slice(tmp_path, n=40), ["has 40 values", "lookback"]
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
        (tmp_path / "m" / "model.json").write_text('{"lstmkit_task": "forecast"}')
        args = ["forecast", "--model", tmp_path / "m", data, "--out", tmp_path / "o"]
        needles = ["model.safetensors"]
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
    )
    assert rc == 130 and "interrupted" in err
    assert (out / "model.safetensors").exists() and "interrupted" in stdout


@pytest.mark.slow
@pytest.mark.parametrize("name, horizon", [("co2", 12), ("elnino", 12), ("sunspots", 5)])
def test_forecast_end_to_end_beats_naive_on_real_series(tmp_path, capsys, name, horizon):
    out = tmp_path / name
    rc, stdout, _ = run_cli(
        capsys, "forecast", "--dataset", name, "--horizon", horizon, "--out", out, "--quiet"
    )
    assert rc == 0, stdout
    m = json.loads((out / "metrics.json").read_text())
    assert m["lstm"]["mase"] < m["naive"]["mase"], m
    assert "beats the naive forecast" in stdout


def test_forecast_without_out_makes_a_fresh_numbered_dir(tmp_path, capsys, monkeypatch):
    data = _co2_slice(tmp_path)
    monkeypatch.chdir(tmp_path)
    for k in (1, 2):
        rc, stdout, _ = run_cli(capsys, "forecast", data, "--target", "co2", *QUICK)
        assert rc == 0 and (tmp_path / "lstmkit-runs" / f"forecast-{k}" / "forecast.csv").exists()
