"""`lstmkit textgen train|sample` in-process on a slice of the bundled novel: training with
validation bits per character, sampling, --resume, Ctrl-C, and bad input."""

import json
import math

import pytest

from cli_helpers import assert_user_error, run_cli
from lstmkit.data import datasets
from lstmkit.data.csv import read_text

SMALL = ["--seq-len", "16", "--batch-size", "8", "--units", "16", "--quiet"]


@pytest.fixture(scope="module")
def novel_slice(tmp_path_factory):
    p = tmp_path_factory.mktemp("text") / "slice.txt"
    p.write_text(read_text(datasets.get("pride").path)[:12000])
    return p


def test_textgen_train_sample_resume(tmp_path, capsys, novel_slice):
    out = tmp_path / "run"
    rc, stdout, _ = run_cli(
        capsys, "textgen", "train", novel_slice, "--out", out, "--epochs", "1", *SMALL
    )
    assert rc == 0, stdout
    m = json.loads((out / "metrics.json").read_text())
    V = m["vocab_size"]
    assert 0 < m["val_bpc"] < math.log2(V) + 0.5  # at most about uniform guessing
    assert "validation" in stdout and "bits/char" in stdout
    for f in ("model.safetensors", "model.json", "checkpoint.safetensors", "bpc.png"):
        assert (out / f).exists(), f
    rc, stdout, _ = run_cli(
        capsys,
        "textgen",
        "sample",
        out,
        "--length",
        "50",
        "--prime",
        "Eliza",
        "--temperature",
        "0.5",
    )
    assert rc == 0 and stdout.startswith("Eliza") and len(stdout.rstrip("\n")) == 55
    rc, stdout, _ = run_cli(
        capsys, "textgen", "train", novel_slice, "--out", out, "--epochs", "2", "--resume", *SMALL
    )
    assert rc == 0, stdout
    m2 = json.loads((out / "metrics.json").read_text())
    assert m2["epochs"] == 2 and len(m2["val_bpc_per_epoch"]) == 2  # every epoch, resumed too


def test_textgen_ctrl_c_exits_130_and_can_resume(tmp_path, capsys, novel_slice, monkeypatch):
    import lstmkit.model as model_mod

    real_fit = model_mod.Sequential.fit

    def fit_then_interrupt(self, *a, **kw):
        from lstmkit.callbacks import Callback

        class Stop(Callback):
            def on_epoch_begin(self, epoch, logs=None):  # Ctrl-C early in epoch 2
                if epoch == 1:
                    raise KeyboardInterrupt

        kw["callbacks"] = list(kw.get("callbacks") or []) + [Stop()]
        return real_fit(self, *a, **kw)

    monkeypatch.setattr(model_mod.Sequential, "fit", fit_then_interrupt)
    out = tmp_path / "run"
    rc, stdout, err = run_cli(
        capsys, "textgen", "train", novel_slice, "--out", out, "--epochs", "3", *SMALL
    )
    assert rc == 130 and "--resume" in stdout
    assert (out / "model.safetensors").exists()
    monkeypatch.setattr(model_mod.Sequential, "fit", real_fit)
    rc, stdout, _ = run_cli(
        capsys, "textgen", "train", novel_slice, "--out", out, "--epochs", "2", "--resume", *SMALL
    )
    assert rc == 0, stdout


@pytest.mark.parametrize(
    "case",
    [
        "missing_file",
        "empty_text",
        "too_short",
        "other_task_model",
        "bad_prime",
        "bad_temperature",
        "resume_nothing",
        "unwritable_out",
    ],
)
def test_textgen_bad_input(tmp_path, capsys, case, novel_slice):
    if case == "missing_file":
        args, needles = ["textgen", "train", tmp_path / "none.txt"], ["no such file"]
    elif case == "empty_text":
        (tmp_path / "e.txt").write_text("  \n")
        args, needles = ["textgen", "train", tmp_path / "e.txt", *SMALL], ["empty"]
    elif case == "too_short":
        (tmp_path / "s.txt").write_text("It is a truth universally acknowledged.")
        args, needles = ["textgen", "train", tmp_path / "s.txt", *SMALL], ["characters", "need"]
    elif case == "other_task_model":
        (tmp_path / "m").mkdir()
        (tmp_path / "m" / "model.safetensors").write_bytes(b"x")
        (tmp_path / "m" / "model.json").write_text('{"lstmkit_task": "forecast"}')
        args, needles = ["textgen", "sample", tmp_path / "m"], ["'forecast' model", "'textgen'"]
    elif case in ("bad_prime", "bad_temperature"):
        out = tmp_path / "run"
        assert (
            run_cli(
                capsys,
                "textgen",
                "train",
                novel_slice,
                "--out",
                out,
                "--epochs",
                "1",
                "--max-chars",
                "4000",
                *SMALL,
            )[0]
            == 0
        )
        if case == "bad_prime":
            args, needles = ["textgen", "sample", out, "--prime", "Ω"], ["never saw", "Ω"]
        else:
            args, needles = ["textgen", "sample", out, "--temperature", "0"], ["temperature"]
    elif case == "resume_nothing":
        (tmp_path / "empty").mkdir()
        args = ["textgen", "train", novel_slice, "--out", tmp_path / "empty", "--resume"]
        needles = ["--resume", "checkpoint"]
    elif case == "unwritable_out":
        (tmp_path / "f").write_text("x")
        args = ["textgen", "train", novel_slice, "--out", tmp_path / "f" / "x", *SMALL]
        needles = ["cannot write"]
    rc, _, err = run_cli(capsys, *args)
    assert_user_error(rc, err, *needles)


@pytest.mark.slow
def test_textgen_end_to_end_learns(tmp_path, capsys):
    """Bundled novel (first 150k characters), 2 epochs: validation bpc falls, well below
    the 6+ bits a uniform guess over the ~70 characters costs."""
    out = tmp_path / "run"
    rc, stdout, _ = run_cli(
        capsys,
        "textgen",
        "train",
        "--out",
        out,
        "--epochs",
        "2",
        "--max-chars",
        "150000",
        "--units",
        "64",
        "--quiet",
    )
    assert rc == 0, stdout
    m = json.loads((out / "metrics.json").read_text())
    v = m["val_bpc_per_epoch"]
    assert v[1] < v[0] and v[1] < 3.6, v
