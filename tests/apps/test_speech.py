"""`lstmkit speech train|evaluate|recognize` in-process: a tiny slice end to end, Ctrl-C and
--resume (bit-identical to an uninterrupted run), the sidecar check, bad input; and one
slower run on the whole training set that must recognise a held-out voice's WAV."""

import json
import os
import shutil
import signal
import wave

import numpy as np
import pytest
from safetensors.numpy import load_file
from tests.cli_helpers import assert_user_error, run_cli

from lstmkit.apps.speech import data, job

FIXTURE = os.path.join(os.path.dirname(__file__), "..", "fixtures", "speech", "4071.wav")
TINY = ["--max-train", "32", "--max-eval", "8", "--units", "8", "--layers", "1", "--quiet"]


@pytest.fixture(scope="module")
def tiny_model(tmp_path_factory):
    out = tmp_path_factory.mktemp("speech") / "run"
    from lstmkit.cli import main

    assert main(["speech", "train", "--out", str(out), "--epochs", "2", *TINY]) == 0
    return out


def test_train_evaluate_recognize_inspect(tiny_model, tmp_path, capsys):
    for f in ("model.safetensors", "model.json", "checkpoint.safetensors", "train_state.json"):
        assert (tiny_model / f).exists(), f
    meta = json.loads((tiny_model / "model.json").read_text())
    assert meta["lstmkit_task"] == "speech" and len(meta["norm_scale"]) == 13
    st = json.loads((tiny_model / "train_state.json").read_text())
    assert st["epoch"] == 2 and len(st["history"]["val_der"]) == 2

    rc, out, err = run_cli(capsys, "speech", "evaluate", "--model", tiny_model, "--max-eval",
                           "12", "--json")  # fmt: skip
    assert rc == 0, err
    res = json.loads(out)
    assert res["utterances"] == 12 and res["digits"] > 12 and 0 <= res["digit_error_rate"]
    assert set(res) >= {"string_accuracy", "seen_accent", "examples"}

    png = tmp_path / "align.png"
    rc, out, err = run_cli(capsys, "speech", "recognize", FIXTURE, "--model", tiny_model,
                           "--plot", png)  # fmt: skip
    assert rc == 0, err
    heard = out.splitlines()[0].split(": ", 1)[1]
    assert heard == "(no digits heard)" or heard.isdigit()
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and png.stat().st_size > 10_000

    csv = tmp_path / "in.csv"
    rc, out, err = run_cli(
        capsys, "speech", "recognize", FIXTURE, "--model", tiny_model, "--inputs-csv", csv
    )
    assert rc == 0 and csv.read_text().startswith("f0,f1,"), err
    rc, out, err = run_cli(capsys, "explain", tiny_model, "--csv", csv, "--step", "5",
                           "--format", "text")  # fmt: skip
    assert rc == 0 and "time step 5/" in out, err

    rc, out, err = run_cli(capsys, "inspect", tiny_model)
    assert rc == 0, err
    assert "Bidirectional" in out and '"lstmkit_task": "speech"' in out and "CTCLoss" in out


def _stereo_22k(path):
    """The fixture as a 22.05 kHz stereo WAV, as a user's recorder might write it."""
    from lstmkit.data import audio

    x, sr = audio.read_wav(FIXTURE)
    y = audio.resample(x, sr, 22050)
    q = np.round(np.stack([y, y], 1).ravel() * 32767).astype("<i2")
    with wave.open(str(path), "wb") as w:
        w.setnchannels(2)
        w.setsampwidth(2)
        w.setframerate(22050)
        w.writeframes(q.tobytes())
    return path


def test_other_rates_and_stereo_give_the_same_features(tiny_model, tmp_path, capsys):
    from lstmkit.data.audio import FeatureConfig

    st = _stereo_22k(tmp_path / "st.wav")
    f1, _ = data.wav_features(FIXTURE, FeatureConfig())
    f2, _ = data.wav_features(st, FeatureConfig())
    assert f1.shape == f2.shape
    scale = np.ones(13, np.float32)
    a, b = data.model_input(f1, scale), data.model_input(f2, scale)
    assert np.abs(a - b).max() < 0.05 * np.abs(a).max()
    rc, out, err = run_cli(capsys, "speech", "recognize", st, FIXTURE, "--model", tiny_model)
    assert rc == 0 and len(out.splitlines()) == 2, err


def _interrupt_at(monkeypatch, epoch_batch):
    """Send ourselves SIGINT during the given (epoch, batch) training step."""
    real, calls = job.train_step, {"n": 0}

    def step(model, x, mask, y):
        calls["n"] += 1
        if calls["n"] == epoch_batch:
            os.kill(os.getpid(), signal.SIGINT)
        return real(model, x, mask, y)

    monkeypatch.setattr(job, "train_step", step)


def test_ctrl_c_saves_and_resume_is_bit_identical(tmp_path, capsys, monkeypatch):
    # Python's own handler for this test (an earlier test may have left another one)
    old = signal.signal(signal.SIGINT, signal.default_int_handler)
    try:
        _ctrl_c_then_resume(tmp_path, capsys, monkeypatch)
    finally:
        signal.signal(signal.SIGINT, old)


def _ctrl_c_then_resume(tmp_path, capsys, monkeypatch):
    a, b = tmp_path / "a", tmp_path / "b"
    rc, _, err = run_cli(capsys, "speech", "train", "--out", a, "--epochs", "2", *TINY)
    assert rc == 0, err
    _interrupt_at(monkeypatch, 3)  # epoch 2 (2 batches per epoch), its first batch
    rc, out, err = run_cli(capsys, "speech", "train", "--out", b, "--epochs", "2", *TINY)
    assert rc == 130 and "--resume" in out, (out, err)
    st = json.loads((b / "train_state.json").read_text())
    assert (st["epoch"], st["batch"]) == (1, 1)
    rc, out, _ = run_cli(capsys, "inspect", b / "checkpoint.safetensors")
    assert rc == 0 and '"epoch": 1, "batch": 1' in out  # the checkpoint says where it stopped
    monkeypatch.undo()
    rc, out, err = run_cli(capsys, "speech", "train", "--out", b, "--epochs", "2", "--resume",
                           "--quiet")  # fmt: skip
    assert rc == 0, err
    wa, wb = load_file(a / "checkpoint.safetensors"), load_file(b / "checkpoint.safetensors")
    assert wa.keys() == wb.keys()
    for k in wa:
        np.testing.assert_array_equal(wa[k], wb[k], err_msg=k)
    rc, out, err = run_cli(capsys, "speech", "train", "--out", b, "--epochs", "2", "--resume",
                           "--quiet")  # fmt: skip
    assert_user_error(rc, err, "nothing to do")


@pytest.mark.parametrize(
    "case",
    ["not_wav", "missing_wav", "bad_plot", "other_task", "bad_scale", "no_model", "out_not_empty",
     "resume_nothing", "bad_epochs", "bad_corpus"],
)  # fmt: skip
def test_bad_input_is_one_line_and_exit_2(case, tiny_model, tmp_path, capsys):
    m = tmp_path / "m"
    if case in ("other_task", "bad_scale"):
        shutil.copytree(tiny_model, m)
        meta = json.loads((m / "model.json").read_text())
        if case == "other_task":
            meta["lstmkit_task"] = "textgen"
        else:
            meta["norm_scale"] = [1.0, 2.0]
        (m / "model.json").write_text(json.dumps(meta))
    if case == "not_wav":
        (tmp_path / "x.wav").write_text("hello")
        args, needles = ["recognize", tmp_path / "x.wav", "--model", tiny_model], ["PCM WAV"]
    elif case == "bad_plot":
        args = ["recognize", FIXTURE, "--model", tiny_model, "--plot", tmp_path / "no" / "a.png"]
        needles = ["--plot", "does not exist"]
    elif case == "missing_wav":
        args, needles = ["recognize", tmp_path / "n.wav", "--model", tiny_model], ["no such"]
    elif case == "other_task":
        args, needles = ["recognize", FIXTURE, "--model", m], ["'speech' model"]
    elif case == "bad_scale":
        args, needles = ["evaluate", "--model", m], ["norm_scale"]
    elif case == "no_model":
        args, needles = ["evaluate", "--model", tmp_path / "none"], ["no such model"]
    elif case == "out_not_empty":
        args, needles = ["train", "--out", tiny_model, *TINY], ["not empty"]
    elif case == "resume_nothing":
        args, needles = ["train", "--out", tmp_path, "--resume", *TINY], ["--resume"]
    elif case == "bad_epochs":
        args, needles = ["train", "--epochs", "0", *TINY], ["--epochs"]
    else:
        (tmp_path / "c.npz").write_bytes(b"junk")
        args, needles = ["train", "--data", tmp_path / "c.npz", *TINY], [".npz"]
    rc, _, err = run_cli(capsys, "speech", *args)
    assert_user_error(rc, err, *needles)


def test_corpus_holds_out_voices():
    c = data.load_corpus()
    tr, va, te = (set(c.voice[c.indices(s)]) for s in ("train", "validation", "test"))
    variants = lambda vs: {v.split("+")[1] for v in vs}  # noqa: E731
    assert not variants(tr) & variants(va) and not variants(tr) & variants(te)
    assert c.new_accent(c.indices("test")).any() and not c.new_accent(c.indices("train")).any()
    assert len(c.indices("train")) == 1500 and len(c.indices("test")) == 350
    lengths = {len(lab) for lab in c.labels}
    assert lengths == set(range(1, 8))


@pytest.mark.slow
def test_full_training_set_recognises_a_held_out_voice(tmp_path, capsys):
    """3 epochs on all 1,500 training utterances; the fixture is voice en-gb-scotland+f4
    (accent and variant both held out)."""
    out = tmp_path / "full"
    rc, _, err = run_cli(capsys, "speech", "train", "--out", out, "--epochs", "3", "--units",
                         "64", "--quiet")  # fmt: skip
    assert rc == 0, err
    st = _stereo_22k(tmp_path / "st.wav")
    rc, stdout, err = run_cli(capsys, "speech", "recognize", FIXTURE, st, "--model", out)
    assert rc == 0, err
    lines = stdout.splitlines()
    assert lines[0].endswith(": 4071") and lines[1].endswith(": 4071"), stdout
    rc, stdout, _ = run_cli(capsys, "speech", "evaluate", "--model", out, "--json")
    assert json.loads(stdout)["digit_error_rate"] < 0.10
