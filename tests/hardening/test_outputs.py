"""Output files (issue 22, items 2, 8 and part of 10): every file a job writes goes
through one atomic writer — a symlink planted at a job file's name is replaced, never
written through; ``--force`` removes the earlier run's files and only those; two runs
cannot write into one directory at once; single-file outputs are not overwritten
without ``--force``; a write that fails (disk full) is one line, exit 2, and leaves no
partial file; JSON is strict."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from _jobs import CLASSIFY, FORECAST, TEXTGEN, cli, one_line_error

SRC = str(Path(__file__).resolve().parents[2] / "src")


def _jobs(job_inputs, trained):
    """(name, argv without --out) of every command that writes files into --out DIR."""
    return [
        ("forecast", ["forecast", job_inputs["series"], "--target", "value", *FORECAST]),
        ("forecast-model", ["forecast", "--load", trained["forecast"], job_inputs["series"]]),
        ("classify", ["classify", "train", job_inputs["texts"], *CLASSIFY]),
        ("classify-predict", ["classify", "predict", trained["classify"], job_inputs["texts"]]),
        ("textgen", ["textgen", "train", job_inputs["novel"], *TEXTGEN]),
        ("textgen-sample", ["textgen", "sample", trained["textgen"], "--length", "20"]),
        (
            "longmemory",
            ["longmemory", "adding", "--length", "6", "--steps", "4", "--eval-every", "2"]
            + ["--units", "3", "--model", "lstm", "--batch-size", "8"],
        ),
    ]


def test_force_never_writes_through_a_symlink(tmp_path, job_inputs, trained, stats):
    victim = tmp_path / "victim.txt"
    n = 0
    for name, argv in _jobs(job_inputs, trained):
        first = tmp_path / f"{name}-1"
        rc, so, se = cli(*argv, "--out", first)
        assert rc == 0, (name, se[-1500:])
        files = sorted(p.name for p in first.iterdir() if not p.name.startswith("."))
        assert files, name
        d = tmp_path / f"{name}-2"
        d.mkdir()
        for f in files:  # every file the job writes: a symlink to the victim
            os.symlink(victim, d / f)
        victim.write_text("precious\n")
        rc, so, se = cli(*argv, "--out", d, "--force")
        assert rc == 0, (name, se[-1500:])
        assert victim.read_text() == "precious\n", (name, "written through a symlink")
        for f in files:
            assert not (d / f).is_symlink() and (d / f).stat().st_size > 0, (name, f)
        n += len(files)
    assert n >= 13
    stats(inputs_tried=n, refused_cleanly=n)


def test_force_removes_the_earlier_runs_files_and_keeps_yours(tmp_path, job_inputs, capsys):
    d = tmp_path / "out"
    d.mkdir()
    (d / "notes.txt").write_text("mine\n")
    rc, _, se = cli("classify", "train", job_inputs["texts"], *CLASSIFY, "--out", d, "--force")
    assert rc == 0, se
    assert (d / "predictions.csv").exists() and (d / "confusion.png").exists()
    rc, _, se = cli("textgen", "train", job_inputs["novel"], *TEXTGEN, "--out", d, "--force")
    assert rc == 0, se
    assert "removed" in se and "predictions.csv" in se
    names = {p.name for p in d.iterdir() if not p.name.startswith(".")}
    assert "predictions.csv" not in names and "confusion.png" not in names  # stale: gone
    assert {"notes.txt", "bpc.png", "checkpoint.safetensors", "model.json"} <= names
    assert (d / "notes.txt").read_text() == "mine\n"


def test_without_force_a_directory_with_files_is_refused(tmp_path, job_inputs):
    d = tmp_path / "out"
    d.mkdir()
    (d / "notes.txt").write_text("mine\n")
    rc, _, err = cli("forecast", job_inputs["series"], "--target", "value", *FORECAST, "--out", d)
    assert "--force" in one_line_error(rc, err)


def test_two_runs_cannot_write_into_one_directory(tmp_path, job_inputs, stats):
    from lstmkit.apps.shared.outdir import finish_out_dir, prepare_out_dir

    d = tmp_path / "out"
    prepare_out_dir(str(d), "forecast", force=True)  # a run in progress (this process)
    try:
        env = {**os.environ, "PYTHONPATH": SRC}
        argv = ["forecast", job_inputs["series"], "--target", "value", *FORECAST, "--force"]
        r = subprocess.run(
            [sys.executable, "-m", "lstmkit", *map(str, argv), "--out", str(d)],
            env=env,
            capture_output=True,
            text=True,
            timeout=120,
        )
        line = one_line_error(r.returncode, r.stderr)
        assert "another lstmkit run" in line and str(os.getpid()) in line
        assert not (d / "forecast.csv").exists()
    finally:
        finish_out_dir(str(d))
    stats(faults_injected=1)


@pytest.mark.parametrize("cmd", ["explain", "export"])
def test_single_file_outputs_need_force(tmp_path, trained, cmd):
    target = tmp_path / ("page.html" if cmd == "explain" else "m.onnx")
    target.write_text("mine\n")
    argv = (
        ["explain", "--out", target, "--seed", "1"]
        if cmd == "explain"
        else ["export", trained["forecast"], "--onnx", target]
    )
    rc, _, err = cli(*argv)
    assert "--force" in one_line_error(rc, err)
    assert target.read_text() == "mine\n"
    victim = tmp_path / "victim"
    victim.write_text("precious\n")
    target.unlink()
    os.symlink(victim, target)
    rc, _, err = cli(*argv, "--force")
    assert rc == 0, err
    assert victim.read_text() == "precious\n" and not target.is_symlink()


def test_export_verify_without_onnxruntime_writes_nothing(tmp_path, trained, monkeypatch):
    monkeypatch.setitem(sys.modules, "onnxruntime", None)  # import → ImportError
    target = tmp_path / "m.onnx"
    rc, _, err = cli("export", trained["forecast"], "--onnx", target, "--verify")
    assert "onnxruntime" in one_line_error(rc, err)
    assert not target.exists()


def test_onnx_extra_brings_onnxruntime():
    import tomllib

    cfg = tomllib.loads((Path(__file__).resolve().parents[2] / "pyproject.toml").read_text())
    extra = cfg["project"]["optional-dependencies"]["onnx"]
    assert any(r.startswith("onnxruntime") for r in extra), extra


FULL_DISK = r"""
import resource, signal, sys
signal.signal(signal.SIGXFSZ, signal.SIG_IGN)  # a write past the limit fails with EFBIG
limit = int(sys.argv[1])
from lstmkit.cli import main
resource.setrlimit(resource.RLIMIT_FSIZE, (limit, limit))
sys.exit(main(sys.argv[2:]))
"""


def test_a_failing_write_is_one_line_and_leaves_no_partial_file(tmp_path, job_inputs, stats):
    """RLIMIT_FSIZE below the size of the job's PNG: every file up to it is written, the
    PNG cannot be. The job must say so in one line (exit 2) and leave no partial file."""
    d = tmp_path / "out"
    argv = ["forecast", job_inputs["series"], "--target", "value", *FORECAST, "--out", d]
    env = {**os.environ, "PYTHONPATH": SRC}
    r = subprocess.run(
        [sys.executable, "-c", FULL_DISK, "30000", *map(str, argv)],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    line = one_line_error(r.returncode, r.stderr)
    assert "cannot write" in line and "forecast.png" in line, line
    names = sorted(p.name for p in d.iterdir())
    assert "forecast.png" not in names and not [n for n in names if n.endswith(".tmp")]
    for p in d.iterdir():
        if not p.name.startswith("."):
            assert p.stat().st_size > 0, p.name  # no 0-byte files beside the model
    assert json.loads((d / "model.json").read_text())["lstmkit_task"] == "forecast"
    stats(faults_injected=1)


def test_metrics_json_is_strict_json(tmp_path):
    """Values near 1e200 are finite, but the squared errors of the RMSE overflow to inf:
    metrics.json must still be JSON (null), not a bare Infinity / NaN."""
    import math

    p = tmp_path / "huge.csv"
    p.write_text(
        "t,value\n" + "".join(f"{k},{1e200 * (2 + math.sin(k / 2)):.6g}\n" for k in range(130))
    )
    d = tmp_path / "out"
    rc, _, err = cli("forecast", p, "--target", "value", *FORECAST, "--out", d)
    assert rc == 0, err
    text = (d / "metrics.json").read_text()

    def refuse(c):
        raise ValueError(c)

    json.loads(text, parse_constant=refuse)  # no NaN / Infinity / -Infinity
    assert "null" in text


def test_longmemory_names_the_files_it_wrote(tmp_path):
    d = tmp_path / "lm"
    rc, out, err = cli(
        "longmemory", "adding", "--length", "6", "--steps", "4", "--eval-every", "2",
        "--units", "3", "--model", "lstm,rnn", "--batch-size", "8", "--out", d,
    )  # fmt: skip
    assert rc == 0, err
    assert "<model>" not in out and "gates_lstm.png" in out and "gates_rnn.png" not in out
    assert (d / "gates_lstm.png").exists()


def test_record_lists_what_the_run_wrote(tmp_path, trained):
    rec = json.loads((trained["forecast"] / ".lstmkit-run.json").read_text())
    assert rec["job"] == "forecast"
    assert {"model.safetensors", "model.json", "forecast.csv", "forecast.png"} <= set(rec["files"])
    shutil.rmtree(tmp_path, ignore_errors=True)
