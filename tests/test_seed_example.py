"""The seed tutorial's Keras program runs as written (only imports changed), on real data."""

import importlib.util
from pathlib import Path

import numpy as np
import pytest

pytest.importorskip("sklearn")  # the example's data; scikit-learn is in the dev extra

from lstmkit.demo import digits_sequences  # noqa: E402

EXAMPLE = Path(__file__).resolve().parents[1] / "examples" / "seed_keras_example.py"


def test_digits_as_sequences():
    (xtr, ytr), (xte, yte) = digits_sequences()
    assert xtr.shape[1:] == (8, 8) and xte.shape[1:] == (8, 8) and xtr.dtype == np.float32
    assert len(xtr) + len(xte) == 1797 and abs(len(xte) / 1797 - 0.1) < 0.01
    assert np.allclose(ytr.sum(1), 1) and ytr.shape[1] == 10
    assert abs(xtr.mean()) < 1e-4 and abs(xtr.std() - 1) < 1e-3  # standardised
    counts = yte.sum(0)  # stratified
    assert counts.min() >= 17 and counts.max() <= 19


def test_seed_program_learns(capsys):
    spec = importlib.util.spec_from_file_location("seed_keras_example", EXAMPLE)
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    acc = mod.main(epochs=2, verbose=0)  # the full run (10 epochs) reaches ≥ 0.95
    assert acc >= 0.6  # chance is 0.1
    assert "test accuracy" in capsys.readouterr().out


def test_demo_entry_point(capsys):
    from lstmkit import demo

    acc = demo.main(epochs=1, verbose=0)
    assert acc > 0.3 and "test accuracy" in capsys.readouterr().out
