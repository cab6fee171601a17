"""Checkpoints survive a crash: a run killed with SIGKILL and resumed ends bit-identical
to a run that was never interrupted (same seed)."""

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

from lstmkit import LSTM, Dense, Dropout, Sequential, load_model
from lstmkit.callbacks import Callback
from lstmkit.errors import ModelFileError
from lstmkit.io.safefile import load_json, read_header

SRC = str(Path(__file__).resolve().parents[1] / "src")

SCRIPT = r"""
import json, sys, time
import numpy as np
from lstmkit import LSTM, Dense, Dropout, Sequential
from lstmkit.callbacks import Callback

mode, out, ck, delay = sys.argv[1], sys.argv[2], sys.argv[3], float(sys.argv[4])
rng = np.random.default_rng(0)
x = rng.standard_normal((96, 6, 3)).astype(np.float32)
y = np.stack([x[:, :, 0].mean(1), x[:, -1, 1]], axis=1).astype(np.float32)
m = Sequential([LSTM(8, return_sequences=True, dropout=0.1), Dropout(0.2), LSTM(6), Dense(2)],
               seed=0)
m.compile("adam", "mse", metrics=["mae"])

class Slow(Callback):
    def on_train_batch_end(self, batch, logs=None):
        time.sleep(delay)

kw = {} if mode == "full" else dict(checkpoint=ck, checkpoint_every=2, resume=ck)
h = m.fit(x, y, epochs=4, batch_size=8, verbose=0, seed=3, validation_split=0.125,
          callbacks=[Slow()] if delay else [], **kw)
np.save(out, m.flat_params)
with open(out + ".json", "w") as f:
    json.dump({"history": h.history, "iterations": m.optimizer.iterations}, f)
"""


def _run(tmp_path, *args):
    env = {**os.environ, "PYTHONPATH": SRC, "OMP_NUM_THREADS": "1", "OPENBLAS_NUM_THREADS": "1"}
    return subprocess.Popen(
        [sys.executable, str(tmp_path / "train.py"), *map(str, args)],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def test_sigkill_then_resume_is_bit_identical(tmp_path):
    (tmp_path / "train.py").write_text(SCRIPT)
    ck = tmp_path / "ck.safetensors"
    full = _run(tmp_path, "full", tmp_path / "full.npy", ck, 0)
    # the run to be killed: slowed down so the kill lands mid-run, after the first checkpoint
    victim = _run(tmp_path, "ckpt", tmp_path / "victim.npy", ck, 0.03)
    deadline = time.time() + 60
    while not ck.exists():
        assert victim.poll() is None, victim.communicate()[1]
        assert time.time() < deadline, "no checkpoint appeared"
        time.sleep(0.01)
    time.sleep(0.25)
    os.kill(victim.pid, signal.SIGKILL)
    victim.wait()
    assert victim.returncode == -signal.SIGKILL
    assert not (tmp_path / "victim.npy").exists()  # it really died before the end
    _, meta, _ = read_header(ck)
    st = load_json(ck, meta, "training_state")
    assert (st["epoch"], st["batch"]) < (4, 0) and st["optimizer"]["iterations"] > 0
    resumed = _run(tmp_path, "ckpt", tmp_path / "resumed.npy", ck, 0)
    for p in (full, resumed):
        _, err = p.communicate(timeout=120)
        assert p.returncode == 0, err
    a, b = np.load(tmp_path / "full.npy"), np.load(tmp_path / "resumed.npy")
    assert a.dtype == np.float32 and np.array_equal(a, b)
    ha = json.loads((tmp_path / "full.npy.json").read_text())
    hb = json.loads((tmp_path / "resumed.npy.json").read_text())
    assert ha == hb and ha["iterations"] == 4 * 11
    assert not [p for p in tmp_path.iterdir() if p.name.endswith(".tmp")]


class Crash(Exception):
    pass


class CrashAt(Callback):
    def __init__(self, step):
        super().__init__()
        self.step = step

    def on_train_batch_end(self, batch, logs=None):
        if self.model.optimizer.iterations == self.step:
            raise Crash


def _model():
    m = Sequential(
        [
            LSTM(6, return_sequences=True, recurrent_dropout=0.2),
            Dropout(0.3),
            LSTM(4),
            Dense(2, activation="softmax"),
        ],
        seed=0,
    )
    m.compile("rmsprop", "categorical_crossentropy", metrics=["accuracy"])
    return m


@pytest.mark.parametrize("crash_step", [5, 7, 12])  # mid-epoch (twice) and at an epoch end
def test_resume_in_process_mid_epoch(tmp_path, crash_step):
    rng = np.random.default_rng(1)
    x = rng.standard_normal((40, 5, 3))
    y = np.eye(2)[(x[:, :, 0].sum(1) > 0).astype(int)]
    ref = _model()
    h_ref = ref.fit(x, y, epochs=3, batch_size=6, verbose=0, seed=7)
    ck = tmp_path / "ck.safetensors"
    with pytest.raises(Crash):
        _model().fit(
            x,
            y,
            epochs=3,
            batch_size=6,
            verbose=0,
            seed=7,
            checkpoint=ck,
            checkpoint_every=2,
            callbacks=[CrashAt(crash_step)],
        )
    m = _model()
    h = m.fit(
        x,
        y,
        epochs=3,
        batch_size=6,
        verbose=0,
        seed=7,
        checkpoint=ck,
        checkpoint_every=2,
        resume=ck,
    )
    assert np.array_equal(m.flat_params, ref.flat_params)
    assert h.history == h_ref.history
    # the checkpoint is also a model file
    assert np.array_equal(load_model(ck).predict(x), m.predict(x))


def test_resume_refuses_other_model(tmp_path):
    x = np.zeros((8, 5, 3))
    y = np.zeros((8, 2))
    ck = tmp_path / "ck.safetensors"
    _model().fit(x, y, epochs=1, batch_size=4, verbose=0, checkpoint=ck)
    other = Sequential([LSTM(5), Dense(2)])
    other.compile("rmsprop", "mse")
    with pytest.raises(ModelFileError, match="does not match"):
        other.fit(x, y, epochs=2, verbose=0, resume=ck)
    sgd = _model()
    sgd.compile("sgd", "mse")
    with pytest.raises(ModelFileError, match="optimizer RMSprop"):
        sgd.fit(x, y, epochs=2, verbose=0, resume=ck)
