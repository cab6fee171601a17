"""`lstmkit g2p train|predict|evaluate` in-process on a small slice of the bundled CMUdict:
the files a run writes, predict with --plot, evaluate agreeing with train, inspect, Ctrl-C and
--resume (bit-identical to an uninterrupted run), and bad input (exit 2, one line)."""

import json
import signal

import numpy as np
import pytest
from tests.cli_helpers import assert_user_error, run_cli

from lstmkit.data import cmudict

SMALL = ["--max-words", "800", "--units", "32", "--embed-dim", "16", "--batch-size", "64"]
SMALL += ["--beam", "3", "--quiet"]


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    out = tmp_path_factory.mktemp("g2p") / "run"
    from lstmkit.cli import main  # (capsys is function-scoped: the fixture runs without it)

    rc = main(["g2p", "train", "--out", str(out), "--epochs", "2", *SMALL])
    assert rc == 0
    return out


def test_train_writes_the_model_metrics_and_pictures(trained):
    for f in (
        "model.safetensors",
        "model.json",
        "checkpoint.safetensors",
        "metrics.json",
        "test_errors.tsv",
        "curves.png",
        "attention.png",
    ):
        assert (trained / f).exists(), f
        if f.endswith(".png"):
            assert (trained / f).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    m = json.loads((trained / "metrics.json").read_text())
    assert m["epochs"] == 2 and len(m["history"]["dev_wer"]) == 2
    for key in ("test_greedy", "test_beam3"):
        assert 0 < m[key]["per"] < 1.5 and 0 < m[key]["wer"] <= 1
    assert m["history"]["loss"][1] < m["history"]["loss"][0]  # it learns
    side = json.loads((trained / "model.json").read_text())
    assert side["lstmkit_task"] == "g2p" and len(side["phonemes"]) == 39
    assert m["test_words"] == len([w for w in _test_words(side)])


def _test_words(side):
    from lstmkit.apps.g2p.data import load

    return load(side["stress"], side["config"]["max_words"], side["config"]["seed"])[1]["test"]


def test_evaluate_agrees_with_train_and_writes_errors(trained, tmp_path, capsys):
    m = json.loads((trained / "metrics.json").read_text())
    for beam, key in ((1, "test_greedy"), (3, "test_beam3")):
        out = tmp_path / f"eval{beam}"
        rc, stdout, _ = run_cli(
            capsys, "g2p", "evaluate", trained, "--beam", beam, "--quiet", "--out", out
        )
        assert rc == 0 and "PER" in stdout and "WER" in stdout
        e = json.loads((out / "metrics.json").read_text())
        assert (e["per"], e["wer"]) == (m[key]["per"], m[key]["wer"])
        assert (out / "errors.tsv").read_text().startswith("word\tpredicted\tdictionary\n")


def test_predict_prints_n_best_and_plots_attention(trained, tmp_path, capsys):
    png = tmp_path / "att.png"
    rc, stdout, _ = run_cli(
        capsys,
        "g2p",
        "predict",
        trained,
        "Knight",
        "tomato",
        "--beam",
        "4",
        "--n-best",
        "2",
        "--plot",
        png,
    )
    assert rc == 0, stdout
    lines = stdout.splitlines()
    assert lines[0].startswith("knight ") and "log P" in lines[0] and lines[2].startswith("tomato")
    phonemes = set(json.loads((trained / "model.json").read_text())["phonemes"])
    assert set(lines[0].split("(")[0].split()[1:]) <= phonemes
    assert png.read_bytes()[:4] == b"\x89PNG" and png.stat().st_size > 5000
    rc, _, err = run_cli(capsys, "g2p", "predict", trained, "x", "--plot", png)
    assert_user_error(rc, err, "exists", "--force")


def test_inspect_describes_the_model(trained, capsys):
    rc, stdout, _ = run_cli(capsys, "inspect", trained)
    assert rc == 0 and "seq2seq" in stdout and "decoder (LSTM)" in stdout
    assert "attention (Attention)" in stdout and '"lstmkit_task": "g2p"' in stdout
    rc, stdout, _ = run_cli(capsys, "inspect", trained / "checkpoint.safetensors", "--json")
    assert rc == 0 and json.loads(stdout)["total_params"] > 0


def test_ctrl_c_saves_and_resume_is_bit_identical(trained, tmp_path, capsys, monkeypatch, request):
    from lstmkit.apps.g2p.data import load, make_batches, pairs_of
    from lstmkit.seq2seq import Seq2Seq

    lex, parts = load(False, 800, 0)
    per_epoch = len(make_batches(pairs_of(lex, parts["train"]), 64, 0))
    real = Seq2Seq.train_on_batch
    calls = {"n": 0}

    def interrupt_in_epoch_2(self, *a):
        calls["n"] += 1
        if calls["n"] == per_epoch + 3:  # during batch 3 of epoch 2
            signal.raise_signal(signal.SIGINT)  # what Ctrl-C sends
        return real(self, *a)

    monkeypatch.setattr(Seq2Seq, "train_on_batch", interrupt_in_epoch_2)
    old = signal.signal(signal.SIGINT, signal.default_int_handler)  # what a fresh process has
    request.addfinalizer(lambda: signal.signal(signal.SIGINT, old))
    out = tmp_path / "run"
    rc, stdout, _ = run_cli(capsys, "g2p", "train", "--out", out, "--epochs", "2", *SMALL)
    assert rc == 130 and "interrupted at epoch 2, batch 3" in stdout and "--resume" in stdout
    assert (out / "checkpoint.safetensors").exists() and (out / "model.safetensors").exists()
    monkeypatch.setattr(Seq2Seq, "train_on_batch", real)
    rc, stdout, _ = run_cli(
        capsys, "g2p", "train", "--out", out, "--epochs", "2", "--resume", "--quiet"
    )  # the run's own options come from model.json
    assert rc == 0, stdout
    # the final state (weights and Adam's moments) and the losses: as if never interrupted
    from safetensors.numpy import load_file

    a, b = load_file(out / "checkpoint.safetensors"), load_file(trained / "checkpoint.safetensors")
    assert sorted(a) == sorted(b) and all(np.array_equal(a[k], b[k]) for k in a)
    ma, mb = (json.loads((d / "metrics.json").read_text())["history"] for d in (out, trained))
    assert ma["loss"] == mb["loss"] and ma["dev_wer"] == mb["dev_wer"]
    rc, _, err = run_cli(capsys, "g2p", "train", "--out", out, "--epochs", "2", "--resume")
    assert_user_error(rc, err, "nothing to do", "--epochs")


def test_bad_input_is_one_line_and_exit_2(trained, tmp_path, capsys):
    rc, _, err = run_cli(capsys, "g2p", "predict", trained, "wor1d")
    assert_user_error(rc, err, "cannot spell 'wor1d'", "'1'")
    rc, _, err = run_cli(capsys, "g2p", "predict", trained, "a", "--beam", "2", "--n-best", "3")
    assert_user_error(rc, err, "--n-best")
    rc, _, err = run_cli(capsys, "g2p", "predict", trained, "a", "--plot", tmp_path / "a.jpg")
    assert_user_error(rc, err, ".png")
    rc, _, err = run_cli(capsys, "g2p", "train", "--out", tmp_path / "o", "--units", "33")
    assert_user_error(rc, err, "--units must be even")
    rc, _, err = run_cli(capsys, "g2p", "train", "--out", tmp_path / "empty", "--resume")
    assert_user_error(rc, err, "--resume", "checkpoint.safetensors")
    other = tmp_path / "other"
    other.mkdir()
    (other / "model.safetensors").write_bytes((trained / "model.safetensors").read_bytes())
    rc, _, err = run_cli(capsys, "g2p", "predict", other, "a")
    assert_user_error(rc, err, "no model.json")
    (other / "model.json").write_text(json.dumps({"lstmkit_task": "textgen"}))
    rc, _, err = run_cli(capsys, "g2p", "evaluate", other)
    assert_user_error(rc, err, "'textgen' model", "'g2p'")
    side = json.loads((trained / "model.json").read_text())
    side["phonemes"] = side["phonemes"][:-1]
    (other / "model.json").write_text(json.dumps(side))
    rc, _, err = run_cli(capsys, "g2p", "predict", other, "a")
    assert_user_error(rc, err, "38 phonemes")
    (other / "model.safetensors").write_bytes(b"garbage!" * 4)
    rc, _, err = run_cli(capsys, "g2p", "predict", other, "a")
    assert_user_error(rc, err, "model.safetensors")


def test_help_has_examples(capsys):
    rc, stdout, _ = run_cli(capsys, "g2p", "train", "--help")
    assert rc == 0 and "examples:" in stdout and "lstmkit g2p predict" in stdout


def test_the_split_is_the_documented_one():
    """docs/g2p.md and the literature comparison rest on this split: it must never move."""
    lex = cmudict.lexicon()
    parts = cmudict.split(lex)
    assert {w for p in parts.values() for w in p} == set(lex)
    assert {k: len(v) for k, v in parts.items()} == {"train": 108578, "dev": 3745, "test": 12603}
    assert [cmudict.split_of(w) for w in ("rhythm", "honest", "salmon", "knight")] == [
        "test",
        "test",
        "test",
        "train",
    ]
    assert lex["read"] == [("R", "EH", "D"), ("R", "IY", "D")]  # alternatives, stress stripped
    assert len({p for prons in lex.values() for pr in prons for p in pr}) == 39
