"""The jobs that came after the first hardening round — speech, g2p, the rebuilt forecast,
classify's recipe, the C export — against the same hostile user (issue 22, items 2, 3, 4,
8, 9): numeric options checked at parse time, their sidecars checked by a schema and
against the weights, single-file outputs refused unless --force and never written through
a symlink, a diverged training exits 3, a resumed run takes the directory's lock.

The speech and g2p models here are built, not trained (a few ms): the checks under test
do not care what the weights say."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from _jobs import cli, one_line_error

from lstmkit.apps.shared.modelfiles import save_job_model

FIXTURE = Path(__file__).resolve().parents[1] / "fixtures" / "speech" / "4071.wav"
SRC = str(Path(__file__).resolve().parents[2] / "src")


# ------------------------------------------------------------------ tiny models
@pytest.fixture(scope="module")
def speech_model(tmp_path_factory) -> Path:
    from lstmkit.apps.speech import job
    from lstmkit.apps.speech.data import STACK
    from lstmkit.data.audio import FeatureConfig

    d = tmp_path_factory.mktemp("speech") / "m"
    d.mkdir()
    fcfg = FeatureConfig()
    model = job.build_model(job.SpeechConfig(units=4, layers=1), STACK * fcfg.n_mfcc)
    meta = {
        "task": "speech",
        "labels": list("0123456789"),
        "blank": 0,
        "stack": STACK,
        "norm_scale": [1.0] * fcfg.n_mfcc,
        "features": fcfg.to_dict(),
        "config": {"units": 4, "layers": 1},
        "data": "built for the test",
    }
    save_job_model(model, str(d), meta)
    return d


@pytest.fixture(scope="module")
def g2p_model(tmp_path_factory) -> Path:
    from dataclasses import asdict

    from lstmkit.apps.g2p import data as gdata
    from lstmkit.apps.g2p.train import G2PConfig, build_model
    from lstmkit.seq2seq.io import save_seq2seq

    d = tmp_path_factory.mktemp("g2p") / "m"
    d.mkdir()
    cfg = G2PConfig(units=8, embed_dim=4, attention_units=4, max_words=200)
    lex, _ = gdata.load(cfg.stress, cfg.max_words, cfg.seed)
    vocab = gdata.Vocab.build(lex)
    save_seq2seq(build_model(vocab, cfg, 1), str(d / "model.safetensors"))
    meta = {
        "lstmkit_task": "g2p",
        "sidecar_version": 1,
        "task": "g2p",
        "letters": vocab.letters,
        "phonemes": vocab.phonemes,
        "stress": False,
        "max_len": 12,
        "config": asdict(cfg),
    }
    (d / "model.json").write_text(json.dumps(meta))
    return d


# ------------------------------------------------------------------ item 9: options
BAD = [
    (["speech", "train"], "--epochs", "0"),
    (["speech", "train"], "--units", "-3"),
    (["speech", "train"], "--layers", "0"),
    (["speech", "train"], "--batch-size", "0"),
    (["speech", "train"], "--learning-rate", "nan"),
    (["speech", "train"], "--learning-rate", "-1"),
    (["speech", "train"], "--dropout", "1"),
    (["speech", "train"], "--max-train", "0"),
    (["speech", "train"], "--seed", "-1"),
    (["speech", "evaluate", "--model", "M"], "--beam", "-1"),
    (["speech", "evaluate", "--model", "M"], "--max-eval", "0"),
    (["speech", "recognize", "x.wav", "--model", "M"], "--beam", "1e9"),
    (["g2p", "train"], "--epochs", "0"),
    (["g2p", "train"], "--units", "1"),
    (["g2p", "train"], "--batch-size", "-4"),
    (["g2p", "train"], "--learning-rate", "inf"),
    (["g2p", "train"], "--lr-decay", "0"),
    (["g2p", "train"], "--dropout", "nan"),
    (["g2p", "train"], "--max-words", "5"),
    (["g2p", "train"], "--seed", "-1"),
    (["g2p", "train"], "--encoder-layers", "0"),
    (["g2p", "predict", "M", "word"], "--beam", "0"),
    (["g2p", "predict", "M", "word"], "--max-len", "1000000000"),
    (["g2p", "predict", "M", "word"], "--n-best", "0"),
    (["g2p", "evaluate", "M"], "--limit", "0"),
    (["g2p", "evaluate", "M"], "--length-penalty", "nan"),
    (["export", "M", "--onnx", "m.onnx"], "--opset", "3"),
]


@pytest.mark.parametrize("base,opt,val", BAD, ids=[f"{' '.join(b[:2])}{o}={v}" for b, o, v in BAD])
def test_new_jobs_refuse_bad_numbers_at_parse_time(tmp_path, stats, base, opt, val):
    argv = [str(tmp_path / "none") if a == "M" else a for a in base]
    if argv[-1] == "train":
        argv += ["--out", tmp_path / "o"]
    rc, _, err = cli(*argv, opt, val)
    line = one_line_error(rc, err)
    assert opt in line and "expected" in line, line
    assert not (tmp_path / "o").exists()  # refused before any work
    stats(inputs_tried=1, refused_cleanly=1)


def test_new_jobs_show_ranges_in_help(capsys):
    from lstmkit.cli import main

    for argv, needles in [
        (["speech", "train", "--help"], ["1..65536", "(0, 100]", "0..4294967295"]),
        (["g2p", "train", "--help"], ["2..65536", "(0, 1]", "20..10000000"]),
        (["forecast", "--help"], ["(0, 100)", "0..10000000", "1..10000"]),
        (["classify", "train", "--help"], ["[0, 1)", "0..1000000"]),
    ]:
        with pytest.raises(SystemExit) as e:
            main(argv)
        assert e.value.code == 0
        text = " ".join(capsys.readouterr().out.split())
        for n in needles:
            assert n in text, (argv, n)


# ------------------------------------------------------------------ item 4: sidecars
def _tamper(src: Path, dst: Path, edit) -> Path:
    shutil.copytree(src, dst)
    meta = json.loads((dst / "model.json").read_text())
    edit(meta)
    (dst / "model.json").write_text(json.dumps(meta, allow_nan=True))
    return dst


def _feat(**kv):
    return lambda m: m["features"].update(kv)


SPEECH_CASES = [
    ("n_fft-huge", _feat(n_fft=2**30)),
    ("sample_rate-huge", _feat(sample_rate=10**9)),
    ("hop-0", _feat(hop=0)),
    ("win-string", _feat(win="400")),
    ("fmax-nan", _feat(fmax=float("nan"))),
    ("preemphasis-1", _feat(preemphasis=1.0)),
    ("n_mfcc-more", _feat(n_mfcc=20)),
    ("norm_scale-0", lambda m: m["norm_scale"].__setitem__(0, 0.0)),
    ("norm_scale-shorter", lambda m: m.update(norm_scale=m["norm_scale"][:-1])),
    ("stack-0", lambda m: m.update(stack=0)),
    ("stack-4", lambda m: m.update(stack=4)),
    ("labels-shorter", lambda m: m.update(labels=m["labels"][:-1])),
    ("labels-repeated", lambda m: m.update(labels=["0"] * 10)),
    ("no-features", lambda m: m.pop("features")),
]


@pytest.mark.parametrize("name,edit", SPEECH_CASES, ids=[n for n, _ in SPEECH_CASES])
def test_speech_sidecar_is_checked(tmp_path, speech_model, stats, name, edit):
    d = _tamper(speech_model, tmp_path / "m", edit)
    rc, _, err = cli("speech", "recognize", FIXTURE, "--model", d)
    line = one_line_error(rc, err)
    assert "model.json" in line, line
    stats(inputs_tried=1, refused_cleanly=1, kind="sidecars")


def test_the_untampered_speech_model_recognizes(tmp_path, speech_model):
    rc, out, err = cli("speech", "recognize", FIXTURE, "--model", speech_model)
    assert rc == 0 and out.startswith(str(FIXTURE)), err[-2000:]


def test_export_c_checks_the_sidecar_of_the_job(tmp_path, trained, stats):
    """What goes into the C is checked too: a classify sidecar with one class too many
    (C would index past the outputs) is one line, and nothing is written."""
    d = _tamper(trained["classify"], tmp_path / "m", lambda m: m["classes"].append("zz"))
    rc, _, err = cli("export", d, "--c", tmp_path / "c")
    line = one_line_error(rc, err)
    assert "model.json" in line and "classes" in line, line
    assert not (tmp_path / "c").exists()
    d2 = _tamper(trained["forecast"], tmp_path / "f", lambda m: m.update(horizon=99))
    rc, _, err = cli("export", d2, "--c", tmp_path / "c2")
    assert "horizon" in one_line_error(rc, err)
    stats(inputs_tried=2, refused_cleanly=2, kind="sidecars")


# ------------------------------------------------------------------ item 2: single files
def test_speech_and_g2p_single_file_outputs(tmp_path, speech_model, g2p_model, stats):
    """--plot / --inputs-csv: an existing file is refused without --force; with --force a
    symlink planted at the name is replaced, the file it pointed to is left alone."""
    victim = tmp_path / "victim.txt"
    victim.write_text("precious\n")
    runs = [
        (["speech", "recognize", FIXTURE, "--model", speech_model, "--plot"], "a.png"),
        (["speech", "recognize", FIXTURE, "--model", speech_model, "--inputs-csv"], "a.csv"),
        (["g2p", "predict", g2p_model, "cat", "--plot"], "g.png"),
    ]
    for argv, name in runs:
        link = tmp_path / name
        link.symlink_to(victim)
        rc, _, err = cli(*argv, link)
        assert "exists" in one_line_error(rc, err)
        rc, _, err = cli(*argv, link, "--force")
        assert rc == 0, err[-2000:]
        assert not link.is_symlink() and link.stat().st_size > 0
        assert victim.read_text() == "precious\n"
        link.unlink()
    stats(inputs_tried=len(runs), refused_cleanly=len(runs))


# ------------------------------------------------------------------ item 3: divergence
def test_speech_training_that_diverges_exits_3(tmp_path, monkeypatch, stats):
    """Every update writes NaN into the weights: the epoch ends with exit code 3 and one
    line, and no model is written as if it were a result."""
    from lstmkit import optim

    real = optim.Adam._update

    def update(self, p, g, st, lr, t):
        real(self, p, g, st, lr, t)
        p[:3] = np.nan

    monkeypatch.setattr(optim.Adam, "_update", update)
    out = tmp_path / "o"
    rc, _, err = cli(
        "speech", "train", "--out", out, "--epochs", "1", "--max-train", "8", "--max-eval",
        "4", "--units", "4", "--layers", "1", "--batch-size", "8", "--quiet",
    )  # fmt: skip
    lines = [ln for ln in err.splitlines() if ln.startswith("lstmkit speech")]
    assert rc == 3 and len(lines) == 1 and "diverged" in lines[0], (rc, err[-2000:])
    assert not (out / "model.safetensors").exists()
    stats(faults_injected=1)


def test_g2p_training_that_diverges_exits_3(tmp_path, monkeypatch, stats):
    from lstmkit.seq2seq import Seq2Seq

    monkeypatch.setattr(Seq2Seq, "train_on_batch", lambda self, *a, **k: float("nan"))
    out = tmp_path / "o"
    rc, _, err = cli(
        "g2p", "train", "--out", out, "--epochs", "1", "--max-words", "200", "--units", "8",
        "--embed-dim", "4", "--quiet",
    )  # fmt: skip
    lines = [ln for ln in err.splitlines() if ln.startswith("lstmkit g2p")]
    assert rc == 3 and len(lines) == 1 and "diverged" in lines[0], (rc, err[-2000:])
    stats(faults_injected=1)


# ------------------------------------------------------------------ --resume takes the lock
@pytest.mark.parametrize("job", ["speech", "g2p"])
def test_resume_is_refused_while_another_run_writes_there(tmp_path, job, stats):
    from lstmkit.apps.shared.outdir import finish_out_dir, prepare_out_dir

    out = tmp_path / "o"
    prepare_out_dir(str(out), job)  # this process now holds DIR's lock, as a running job would
    try:
        r = subprocess.run(
            [sys.executable, "-m", "lstmkit", job, "train", "--out", str(out), "--resume"],
            env={**os.environ, "PYTHONPATH": SRC},
            capture_output=True,
            text=True,
            timeout=300,
        )
    finally:
        finish_out_dir(str(out))
    line = one_line_error(r.returncode, r.stderr)
    assert "another lstmkit run" in line, line
    stats(inputs_tried=1, refused_cleanly=1)


def test_new_jobs_out_dirs_never_write_through_a_symlink(tmp_path, g2p_model, trained, stats):
    """`g2p evaluate --out` and `export --c`: every file name the job writes planted as a
    symlink, then --force — the files are replaced, the victim is untouched."""
    victim = tmp_path / "victim.txt"
    n = 0
    for name, argv in [
        ("g2p-eval", ["g2p", "evaluate", g2p_model, "--limit", "5", "--quiet", "--out"]),
        ("export-c", ["export", trained["forecast"], "--c"]),
    ]:
        first = tmp_path / f"{name}-1"
        rc, _, err = cli(*argv, first)
        assert rc == 0, (name, err[-1500:])
        files = sorted(p.name for p in first.iterdir() if not p.name.startswith("."))
        assert files, name
        d = tmp_path / f"{name}-2"
        d.mkdir()
        for f in files:
            os.symlink(victim, d / f)
        victim.write_text("precious\n")
        rc, _, err = cli(*argv, d, "--force")
        assert rc == 0, (name, err[-1500:])
        assert victim.read_text() == "precious\n", (name, "written through a symlink")
        for f in files:
            assert not (d / f).is_symlink() and (d / f).stat().st_size > 0, (name, f)
        n += len(files)
    assert n >= 5
    stats(inputs_tried=n, refused_cleanly=n)
