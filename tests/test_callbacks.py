"""Callbacks: EarlyStopping, ReduceLROnPlateau, TerminateOnNaN, CSVLogger, ModelCheckpoint,
verbose."""

import csv

import numpy as np
import pytest

from lstmkit import LSTM, Dense, Sequential, load_model
from lstmkit.callbacks import (
    Callback,
    CSVLogger,
    EarlyStopping,
    ModelCheckpoint,
    ReduceLROnPlateau,
    TerminateOnNaN,
)


def _data(n=32):
    rng = np.random.default_rng(0)
    return (
        rng.standard_normal((n, 4, 2)).astype(np.float32),
        rng.standard_normal((n, 1)).astype(np.float32),
    )


def _model(opt="sgd"):
    m = Sequential([LSTM(4), Dense(1)], seed=0)
    m.compile(opt, "mse")
    return m


class Script(Callback):
    """Replaces val_loss with a scripted sequence and records the weights after each epoch."""

    def __init__(self, values):
        super().__init__()
        self.values, self.weights = values, []

    def on_epoch_end(self, epoch, logs=None):
        logs["val_loss"] = self.values[epoch]
        self.weights.append(self.model.flat_params.copy())


def test_early_stopping_restores_best_weights():
    x, y = _data()
    m = _model()
    s = Script([3.0, 2.0, 1.0, 2.0, 3.0, 4.0, 5.0, 6.0])
    es = EarlyStopping(monitor="val_loss", patience=2, restore_best_weights=True)
    h = m.fit(x, y, epochs=8, batch_size=8, verbose=0, callbacks=[s, es])
    assert len(h.history["loss"]) == 5 and es.stopped_epoch == 4 and es.best_epoch == 2
    assert np.array_equal(m.flat_params, s.weights[2])  # best epoch's weights are back
    assert not np.array_equal(s.weights[4], s.weights[2])
    m2 = _model()
    es2 = EarlyStopping(monitor="val_loss", patience=2)
    s2 = Script([3.0, 2.0, 1.0, 2.0, 3.0, 4.0, 5.0, 6.0])
    m2.fit(x, y, epochs=8, batch_size=8, verbose=0, callbacks=[s2, es2])
    assert np.array_equal(m2.flat_params, s2.weights[-1])  # without restore: last weights


def test_reduce_lr_on_plateau():
    x, y = _data()
    m = _model()
    m.optimizer.learning_rate = 0.1
    s = Script([1.0, 1.0, 1.0, 1.0, 0.5, 0.5])
    r = ReduceLROnPlateau(monitor="val_loss", factor=0.5, patience=1, min_lr=0.02)
    h = m.fit(x, y, epochs=6, batch_size=16, verbose=0, callbacks=[s, r])
    # no improvement at epochs 1, 2, 3 → three halvings (floored at 0.02), then it improves;
    # the log holds the rate each epoch trained with (as Keras)
    assert h.history["learning_rate"] == pytest.approx([0.1, 0.1, 0.05, 0.025, 0.02, 0.02])
    assert m.optimizer.learning_rate == pytest.approx(0.02)


def test_terminate_on_nan():
    x, y = _data()
    x[9, 1, 0] = np.nan  # in the second batch (no shuffle)
    m = _model()
    h = m.fit(x, y, epochs=3, batch_size=8, verbose=0, shuffle=False, callbacks=[TerminateOnNaN()])
    # the NaN batch is not applied: the weights stay those after the first batch
    assert m.optimizer.iterations == 1 and len(h.history["loss"]) == 1
    assert np.isnan(h.history["loss"][0]) and np.isfinite(m.flat_params).all()
    assert h.diverged == {"epoch": 0, "batch": 1, "loss": h.diverged["loss"]}


def test_csv_logger(tmp_path):
    x, y = _data()
    m = _model()
    m.compile("adam", "mse", metrics=["mae"])
    path = tmp_path / "log.csv"
    h = m.fit(
        x, y, epochs=3, batch_size=8, verbose=0, validation_split=0.25, callbacks=[CSVLogger(path)]
    )
    rows = list(csv.reader(open(path)))
    assert rows[0] == ["epoch", "loss", "mae", "val_loss", "val_mae"]
    assert len(rows) == 4 and [r[0] for r in rows[1:]] == ["0", "1", "2"]
    assert float(rows[3][1]) == pytest.approx(h.history["loss"][2])
    assert float(rows[2][3]) == pytest.approx(h.history["val_loss"][1])


def test_model_checkpoint_best_only(tmp_path):
    x, y = _data()
    m = _model("adam")
    s = Script([3.0, 2.0, 2.5, 1.0])
    mc = ModelCheckpoint(
        str(tmp_path / "m-{epoch}.safetensors"), monitor="val_loss", save_best_only=True
    )
    m.fit(x, y, epochs=4, batch_size=8, verbose=0, callbacks=[s, mc])
    names = sorted(p.name for p in tmp_path.iterdir())
    assert names == ["m-1.safetensors", "m-2.safetensors", "m-4.safetensors"]  # not epoch 3
    back = load_model(tmp_path / "m-4.safetensors")
    assert np.array_equal(back.flat_params, s.weights[3])
    assert not any(n.endswith(".tmp") for n in names)


def test_verbose_modes(capsys):
    x, y = _data()
    m = _model()
    m.fit(x, y, epochs=2, batch_size=8, verbose=0)
    out = capsys.readouterr()
    assert out.out == "" and out.err == ""
    m.fit(x, y, epochs=2, batch_size=8, verbose=2, validation_split=0.25)
    lines = capsys.readouterr().out.strip().splitlines()
    assert (
        len(lines) == 2
        and lines[0].startswith("Epoch 1/2")
        and "loss:" in lines[0]
        and "val_loss:" in lines[1]
    )
    m.fit(x, y, epochs=2, batch_size=8, verbose=1)
    out = capsys.readouterr().out
    assert "Epoch 1/2" in out and "Epoch 2/2" in out and "loss:" in out and "4/4" in out
