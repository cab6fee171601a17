"""int8 on the bundled jobs' models, measured from the compiled C: the task metric moves by
less than 1 % relative (forecast backtest MASE, classify test accuracy, textgen validation
bits per character), the float32 C gives the job's own figure (and, for textgen, predict's
every output along its long validation streams), and the int8 outputs stay
within the stated tolerance of the float32 ones on the job's validation data:

    forecast  |Δ model output| ≤ 0.5 (standardised units; MASE is what counts)
    classify  |Δ probability| ≤ 0.05
    textgen   |Δ p(next char)| ≤ 0.05

The models are trained here by the jobs' own code (textgen on 150 000 characters, 1 epoch,
64 units, to stay fast); docs/export_c.md has the figures for the full CLI runs."""

import numpy as np
import pytest
from tests.io import _c_harness as H
from tests.io import _c_jobs as J

from lstmkit.apps.classify import job as cl
from lstmkit.apps.export.c_job import c_arguments
from lstmkit.apps.forecast import net
from lstmkit.apps.shared.modelfiles import load_job_model
from lstmkit.apps.textgen import job as tg
from lstmkit.data import datasets
from lstmkit.data.csv import read_text
from lstmkit.io import export_c

pytestmark = pytest.mark.slow


def _exes(tmp_path, job, model, meta):
    out = {}
    for q in (None, "int8"):
        d = tmp_path / str(q)
        export_c(model, d, quantize=q, measure=False, **c_arguments(meta))
        out[q] = J.compile_driver(d, job)
        out[q, "raw"] = H.compile_host(d)
    return out


def test_forecast_int8(tmp_path):
    """CO₂ with the job's defaults but ``refit=False`` (so the saved model and its sidecar's
    scaling are the ones the backtest scored) and 10 origins: the C model_forecast at the
    job's origins gives the job's backtest MASE; int8 moves it by < 1 %."""
    res = J.run_job(
        [J.co2_series()],
        target="co2",
        epochs=150,
        units=32,
        test_size=None,
        origins=10,
        refit=False,
        candidates=["naive", "seasonal_naive"],
    )
    exe = _exes(tmp_path, "forecast", res.model, res.meta)
    py = J.forecast_mase(res)
    f32, q8 = (J.forecast_mase(res, exe[q]) for q in (None, "int8"))
    assert abs(f32 - py) < 1e-6 * py
    assert abs(q8 - f32) < 0.01 * f32, (f32, q8)
    r = res.results[0]
    d = J.stored_data(res.meta, r.series)
    X = net.make_windows(d, r.origins.t, res.meta["lookback"], res.meta["horizon"], False)
    raw = [H.run_host(exe[q, "raw"], X, 0, res.meta["horizon"]) for q in (None, "int8")]
    assert 1e-4 < np.max(np.abs(raw[1] - raw[0])) < 0.5


def test_classify_int8(tmp_path):
    """The classify recipe (Masking, Conv1D × 2, Bidirectional(LSTM(64)), max pooling) as
    the job trains it on vowels, for 40 epochs (the CLI's default plans 108; the full run's
    figures are in docs/export_c.md) and without the baselines, to stay fast."""
    ex, te = J.vowels()
    cfg = J.vowels_config()
    cfg.epochs, cfg.baselines = 40, False
    cl.train_job(datasets.get("vowels").path, cfg, str(tmp_path), ex=ex)
    model, meta = load_job_model(str(tmp_path), "classify")
    exe = _exes(tmp_path, "classify", model, meta)
    py = J.classify_accuracy(model, meta, ex, te)
    f32, q8 = (J.classify_accuracy(model, meta, ex, te, exe[q]) for q in (None, "int8"))
    assert f32 == py and py > 0.9
    assert q8 > 0.99 * f32, (f32, q8)
    assert {type(layer).__name__ for layer in model.layers} >= {"Masking", "Conv1D"}
    p = [J.c_classify(exe[q], [ex.seqs[k] for k in te], 9)[0] for q in (None, "int8")]
    assert 1e-5 < np.max(np.abs(p[1] - p[0])) < 0.05


def test_textgen_int8(tmp_path):
    cfg = tg.TextgenConfig(epochs=1, units=64, max_chars=150_000, verbose=0)
    tg.train_job(read_text(datasets.get("pride").path), cfg, str(tmp_path))
    model, meta = load_job_model(str(tmp_path), "textgen")
    exe = _exes(tmp_path, "textgen", model, meta)
    x, y, _ = J.textgen_validation(meta)
    p = [J.c_target_probs(exe[q], x, y).astype(np.float64) for q in (None, "int8")]
    bpc = [float(-np.log(np.maximum(v, 1e-12)).mean() / np.log(2)) for v in p]
    py = J.textgen_bpc(model, meta)
    assert abs(bpc[0] - py) < 1e-5 * py
    # a trained model over long streams, step by step: every output of the float32 C = predict
    got = H.run_host(exe[None, "raw"], x[:2], 1, len(meta["chars"]))  # (2, L, V)
    model.reset_states()
    ref = model.predict(x[:2], batch_size=2)
    assert x.shape[1] > 400 and np.max(np.abs(got - ref)) < 1e-5
    assert abs(bpc[1] - bpc[0]) < 0.01 * bpc[0], bpc
    assert 1e-5 < np.max(np.abs(p[1] - p[0])) < 0.05
