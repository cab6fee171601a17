"""The CLI against a hostile user (issue 22, items 3, 4, 7, 9): out-of-range and
non-finite options, tampered sidecars, valid models a job cannot use, a training that
diverges. Each must end with one line on stderr and a non-zero exit code — never a
traceback, never a silently wrong answer with exit code 0."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from _jobs import CLASSIFY, FORECAST, TEXTGEN, cli, one_line_error

from lstmkit import LSTM, Dense, Sequential

SRC = str(Path(__file__).resolve().parents[2] / "src")

# ------------------------------------------------------------------ item 9: options
BAD_OPTIONS = [
    ("forecast", "--batch-size", "0"),
    ("forecast", "--batch-size", "-4"),
    ("forecast", "--units", "0"),
    ("forecast", "--units", "-3"),
    ("forecast", "--seed", "-1"),
    ("forecast", "--lookback", "0"),
    ("forecast", "--test-size", "-100"),
    ("forecast", "--origins", "0"),
    ("forecast", "--stride", "-2"),
    ("forecast", "--interval", "100"),
    ("forecast", "--interval", "nan"),
    ("forecast", "--max-missing", "100"),
    ("forecast", "--switch-margin", "inf"),
    ("forecast", "--season", "0"),
    ("forecast", "--season", "-5"),
    ("forecast", "--learning-rate", "-1"),
    ("forecast", "--learning-rate", "0"),
    ("forecast", "--learning-rate", "nan"),
    ("forecast", "--learning-rate", "inf"),
    ("forecast", "--horizon", "3_0"),
    ("forecast", "--epochs", "\u0663"),  # an Arabic-Indic digit three
    ("classify train", "--batch-size", "0"),
    ("classify train", "--units", "-3"),
    ("classify train", "--maxlen", "-5"),
    ("classify train", "--seed", "-1"),
    ("classify train", "--learning-rate", "nan"),
    ("classify train", "--test-fraction", "1.5"),
    ("classify train", "--dropout", "1"),
    ("classify train", "--validation", "nan"),
    ("classify train", "--min-epochs", "-1"),
    ("classify train", "--patience", "0"),
    ("classify train", "--noise", "inf"),
    ("classify train", "--dtw-window", "2"),
    ("classify train", "--epochs", "0"),
    ("textgen train", "--max-chars", "-19000"),
    ("textgen train", "--batch-size", "0"),
    ("textgen train", "--units", "0"),
    ("textgen train", "--seed", "-1"),
    ("textgen train", "--learning-rate", "inf"),
    ("textgen sample", "--temperature", "nan"),
    ("textgen sample", "--length", "0"),
    ("longmemory adding", "--lr", "nan"),
    ("longmemory adding", "--seed", "-1"),
    ("sweep", "--workers", "0"),
]


@pytest.mark.parametrize("cmd,opt,val", BAD_OPTIONS, ids=[f"{c}{o}={v}" for c, o, v in BAD_OPTIONS])
def test_bad_numeric_options_are_refused_at_parse_time(tmp_path, job_inputs, stats, cmd, opt, val):
    base = {
        "forecast": ["forecast", job_inputs["series"], "--target", "value", *FORECAST],
        "classify train": ["classify", "train", job_inputs["texts"], *CLASSIFY],
        "textgen train": ["textgen", "train", job_inputs["novel"], *TEXTGEN],
        "textgen sample": ["textgen", "sample", tmp_path / "nomodel"],
        "longmemory adding": ["longmemory", "adding", "--length", "8", "--steps", "2"],
        "sweep": ["sweep", tmp_path / "none.json"],
    }[cmd]
    argv = [*base, opt, val]
    if cmd not in ("textgen sample", "sweep"):
        argv += ["--out", tmp_path / "o"]
    rc, _, err = cli(*argv)
    line = one_line_error(rc, err)
    assert opt in line and "expected" in line, line
    assert not (tmp_path / "o").exists()  # refused before any work
    stats(inputs_tried=1, refused_cleanly=1)


def test_help_shows_the_allowed_ranges(capsys):
    from lstmkit.cli import main

    for argv, needles in [
        (["forecast", "--help"], ["1..65536", "(0, 100]", "1..10000"]),
        (["classify", "train", "--help"], ["(0, 1)", "1..100000"]),
        (["textgen", "train", "--help"], ["1..65536", "0..4294967295"]),
    ]:
        with pytest.raises(SystemExit) as e:
            main(argv)
        assert e.value.code == 0
        text = " ".join(capsys.readouterr().out.split())
        for n in needles:
            assert n in text, (argv, n)


# ------------------------------------------------------------------ item 4: sidecars
def _tampered(src: Path, dst: Path, edit) -> Path:
    shutil.copytree(src, dst)
    side = dst / "model.json"
    meta = json.loads(side.read_text())
    out = edit(meta)
    if isinstance(out, str):  # raw text
        side.write_text(out)
    else:
        side.write_text(json.dumps(meta, allow_nan=True))
    return dst


def _predict_argv(job, model_dir, job_inputs):
    if job == "forecast":
        return ["forecast", "--load", model_dir, job_inputs["series"], "--out", model_dir / "o"]
    if job == "classify":
        return ["classify", "predict", model_dir, job_inputs["texts"]]
    return ["textgen", "sample", model_dir, "--length", "20"]


def _set(**kv):
    def edit(m):
        m.update(kv)

    return edit


def _pop(key):
    return lambda m: m.pop(key)


SIDECAR_CASES = [
    ("forecast", "horizon-wrong", _set(horizon=5)),
    ("forecast", "horizon-string", _set(horizon="3")),
    ("forecast", "no-lookback", _pop("lookback")),
    ("forecast", "lookback-0", _set(lookback=0)),
    ("forecast", "lookback-negative", _set(lookback=-4)),
    ("forecast", "lookback-wrong", lambda m: m.update(lookback=m["lookback"] + 1)),
    ("forecast", "format-1", _set(format=1)),
    ("forecast", "units-string", _set(units="32")),
    ("forecast", "season-huge", _set(season=10**9)),
    ("forecast", "transform-bad", _set(transform="exp")),
    (
        "forecast",
        "sigma-nan",
        lambda m: json.dumps(m).replace('"sigma": ', '"sigma": NaN, "x": '),
    ),
    ("forecast", "sigma-0", lambda m: m["series"][0].update(sigma=0.0)),
    ("forecast", "mu-huge", lambda m: m["series"][0].update(mu=1e300)),
    ("forecast", "s-shorter", lambda m: m["series"][0].update(s=m["series"][0]["s"][:-1])),
    ("forecast", "covariates-more", _set(covariates=["temp", "value2"])),
    ("forecast", "covariates-none", _set(covariates=[])),
    ("forecast", "future-covariates-more", _set(future_covariates=["temp2"])),
    ("forecast", "scaler-std-0", lambda m: m["cov_scaler"].update(std=[0.0])),
    ("forecast", "deep-json", lambda m: "[" * 100_000 + "]" * 100_000),
    ("forecast", "not-json", lambda m: "{'lstmkit_task': 'forecast'"),
    ("forecast", "list", lambda m: "[1, 2]"),
    ("classify", "maxlen-1e9", _set(maxlen=10**9)),
    ("classify", "maxlen-0", _set(maxlen=0)),
    ("classify", "vocab-longer", lambda m: m["vocab"].extend(["zzz1", "zzz2"])),
    ("classify", "vocab-shorter", lambda m: m["vocab"].pop()),
    ("classify", "classes-one", lambda m: m.update(classes=m["classes"][:1])),
    ("classify", "classes-three", lambda m: m["classes"].append("c")),
    ("classify", "kind-bad", _set(kind="images")),
    ("textgen", "chars-shorter", lambda m: m.update(chars=m["chars"][:-3])),
    ("textgen", "chars-longer", lambda m: m.update(chars=m["chars"] + "\u00e9\u00e8")),
    ("textgen", "chars-repeated", lambda m: m.update(chars=m["chars"][:-1] + m["chars"][0])),
    ("textgen", "chars-list", lambda m: m.update(chars=list(m["chars"]))),
    ("textgen", "config-string", _set(config="x")),
    ("textgen", "version-2", _set(sidecar_version=2)),
]


@pytest.mark.parametrize(
    "job,name,edit", SIDECAR_CASES, ids=[f"{j}-{n}" for j, n, _ in SIDECAR_CASES]
)
def test_tampered_sidecars_are_refused_with_one_line(
    tmp_path, trained, job_inputs, stats, job, name, edit
):
    d = _tampered(trained[job], tmp_path / "m", edit)
    rc, _, err = cli(*_predict_argv(job, d, job_inputs))
    line = one_line_error(rc, err)
    assert "model.json" in line or "sidecar" in line, line
    stats(inputs_tried=1, refused_cleanly=1, kind="sidecars")


def test_a_fifo_as_sidecar_does_not_hang(tmp_path, trained, job_inputs, stats):
    d = tmp_path / "m"
    shutil.copytree(trained["textgen"], d)
    (d / "model.json").unlink()
    os.mkfifo(d / "model.json")
    env = {**os.environ, "PYTHONPATH": SRC}
    r = subprocess.run(
        [sys.executable, "-m", "lstmkit", *map(str, _predict_argv("textgen", d, job_inputs))],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    one_line_error(r.returncode, r.stderr)
    assert "FIFO" in r.stderr
    stats(inputs_tried=1, refused_cleanly=1, kind="sidecars")


# ------------------------------------------------------------------ item 7: unusable models
@pytest.mark.parametrize("kind", ["return_sequences", "stateful"])
def test_forecast_model_that_forecast_cannot_use_is_refused(tmp_path, trained, job_inputs, kind):
    d = tmp_path / "m"
    shutil.copytree(trained["forecast"], d)
    meta = json.loads((d / "model.json").read_text())
    kw = {"return_sequences": True} if kind == "return_sequences" else {"stateful": True}
    m = Sequential([LSTM(4, **kw), Dense(meta["horizon"])], seed=0)
    m.build((meta["lookback"], 2 + len(meta["covariates"])))  # (the job's window features)
    m.save(d / "model.safetensors")
    rc, _, err = cli("forecast", "--load", d, job_inputs["series"], "--out", tmp_path / "o")
    line = one_line_error(rc, err)
    assert ("return_sequences" in line) if kind == "return_sequences" else ("stateful" in line)


# ------------------------------------------------------------------ item 3: divergence
@pytest.fixture
def nan_at_second_step(monkeypatch):
    """Adam's second update writes NaN into the weights (a stand-in for any way an update
    can go non-finite; the guard must notice the weights, not only loss and gradients)."""
    from lstmkit import optim

    real = optim.Adam._update
    calls = {"n": 0}

    def update(self, p, g, st, lr, t):
        calls["n"] += 1
        real(self, p, g, st, lr, t)
        if calls["n"] == 2:
            p[:3] = np.nan

    monkeypatch.setattr(optim.Adam, "_update", update)


@pytest.mark.parametrize("job", ["forecast", "classify", "textgen"])
def test_a_job_stopped_by_divergence_exits_3(tmp_path, job_inputs, nan_at_second_step, stats, job):
    out = tmp_path / "o"
    argv = {
        "forecast": ["forecast", job_inputs["series"], "--target", "value", *FORECAST],
        "classify": ["classify", "train", job_inputs["texts"], *CLASSIFY],
        "textgen": ["textgen", "train", job_inputs["novel"], *TEXTGEN],
    }[job]
    rc, _, err = cli(*argv, "--out", out)
    lines = [ln for ln in err.splitlines() if ln.startswith(f"lstmkit {job}")]
    assert rc == 3 and len(lines) == 1 and "diverged" in lines[0], (rc, err[-2000:])
    assert "Traceback" not in err
    for f in ("forecast.csv", "metrics.json", "predictions.csv"):
        assert not (out / f).exists(), f  # no results from a run that failed
    stats(faults_injected=1)
