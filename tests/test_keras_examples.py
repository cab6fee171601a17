"""The Keras programs in examples/ run briefly with lstmkit, and — with their import lines
swapped back to the Keras ones each line names — with Keras 3 itself: the programs really
differ only in their imports."""

import importlib.util
import os
import re
import sys
from pathlib import Path

import numpy as np
import pytest

EXAMPLES = Path(__file__).resolve().parents[1] / "examples"


def _load(name, keras_imports=False, tmp_path=None):
    src = (EXAMPLES / name).read_text()
    if keras_imports:
        os.environ.setdefault("KERAS_BACKEND", "torch")
        pytest.importorskip("keras")
        swapped, n = re.subn(
            r"^(\s*)(?:import|from) [^\n#]*#\s*Keras:\s*([^\n]+)$", r"\1\2", src, flags=re.M
        )
        assert n >= 1, "no '# Keras:' import lines"
        src = swapped
    path = (tmp_path or EXAMPLES) / f"_{'keras_' if keras_imports else ''}{name}"
    if keras_imports:
        path.write_text(src)
    spec = importlib.util.spec_from_file_location(path.stem, path if keras_imports else
                                                  EXAMPLES / name)  # fmt: skip
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def test_import_lines_are_the_only_difference():
    """Each example marks its import block; every lstmkit import in it names its Keras line."""
    names = ("seed_keras_example.py", "stacked_lstm_forecaster.py", "bidirectional_lstm_text.py")
    for name in (*names, "lstm_seq2seq.py"):
        src = (EXAMPLES / name).read_text()
        block = src.split("# --- imports")[1].split("# ----")[0]
        lines = [ln for ln in block.splitlines()[1:] if ln.strip()]
        assert lines and all("# Keras: " in ln for ln in lines), (name, lines)
        assert all(re.search(r"# Keras: (import keras|from keras)", ln) for ln in lines)


def test_stacked_lstm_forecaster(capsys):
    mod = _load("stacked_lstm_forecaster.py")
    rmse, naive = mod.main(epochs=15, units=16)
    assert np.isfinite(rmse) and rmse < naive  # it learns the seasonal change pattern
    assert "RMSE" in capsys.readouterr().out


def test_bidirectional_text_classifier(capsys):
    mod = _load("bidirectional_lstm_text.py")
    h = mod.main(max_features=800, maxlen=24, embed=8, units=4, epochs=2, verbose=0)
    assert h["loss"][1] < h["loss"][0] and 0 <= h["val_accuracy"][-1] <= 1
    out = capsys.readouterr().out
    assert "Training sequences" in out and "Total params" in out


def test_lstm_seq2seq(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)  # the example saves s2s_model.keras in the working directory
    mod = _load("lstm_seq2seq.py")
    inputs, targets, decoded = mod.main(epochs=2, num_samples=300, latent_dim=16, verbose=0,
                                        show=2)  # fmt: skip
    assert len(decoded) == 2 and all(isinstance(d, str) and d for d in decoded)
    assert (tmp_path / "s2s_model.keras").exists()
    assert "Decoded sentence:" in capsys.readouterr().out


@pytest.mark.slow
@pytest.mark.filterwarnings("ignore::DeprecationWarning", "ignore::UserWarning")
def test_the_same_programs_run_in_keras(tmp_path, monkeypatch):
    """The import lines swapped back: Keras 3 runs each program as it stands."""
    monkeypatch.chdir(tmp_path)
    monkeypatch.setattr(sys, "argv", ["x"])
    f = _load("stacked_lstm_forecaster.py", True, tmp_path)
    rmse, _ = f.main(epochs=1, units=4)
    assert np.isfinite(rmse)
    t = _load("bidirectional_lstm_text.py", True, tmp_path)
    h = t.main(max_features=300, maxlen=12, embed=4, units=2, epochs=1, verbose=0)
    assert "val_accuracy" in h
    d = _load("seed_keras_example.py", True, tmp_path)
    assert 0 <= d.main(epochs=1, verbose=0) <= 1
    s = _load("lstm_seq2seq.py", True, tmp_path)
    _, _, decoded = s.main(epochs=1, num_samples=80, latent_dim=8, verbose=0, show=1)
    assert len(decoded) == 1
