"""Stateful callbacks survive kill -9 (issue 22, item 5), and a non-finite learning rate
cannot defeat the NaN guard (item 3).

* EarlyStopping (wait, best, best weights), ReduceLROnPlateau (wait, cooldown, best) and
  CSVLogger (its position in the file) are saved in the checkpoint and restored: a run
  killed at any moment and resumed ends bit-identical to one never interrupted — the same
  weights, history, learning rate, epochs trained and CSV log, byte for byte.
* Re-running a finished, early-stopped job trains no further.
* A step whose update makes a weight NaN/inf is undone and stops training; ``resume``
  refuses a checkpoint whose optimizer state or learning rate is not finite.

The kill test forks its runs from one warm process (no re-import per run) and kills
each at a random moment with SIGKILL from a timer, so a kill can land anywhere,
including in the middle of writing a checkpoint.
"""

from __future__ import annotations

import json
import os
import struct
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np
import pytest

from lstmkit import LSTM, Dense, Dropout, Sequential
from lstmkit.callbacks import Callback, CSVLogger, EarlyStopping, ReduceLROnPlateau
from lstmkit.errors import ModelFileError
from lstmkit.io.safefile import load_json, read_header
from lstmkit.optim import SGD, Adam

SRC = str(Path(__file__).resolve().parents[2] / "src")
ENV = {
    **os.environ,
    "PYTHONPATH": SRC,
    "OMP_NUM_THREADS": "1",
    "OPENBLAS_NUM_THREADS": "1",
    "MKL_NUM_THREADS": "1",
}


def _data(n=120, seed=0):
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((n, 5, 2)).astype(np.float32)
    y = (x[:, :, :1].mean(1) + 0.3 * rng.standard_normal((n, 1))).astype(np.float32)
    return x, y


def _model(lr=0.01):
    m = Sequential([LSTM(4, dropout=0.1), Dropout(0.1), Dense(1)], seed=0)
    m.compile(Adam(learning_rate=lr), "mse")
    return m


def _callbacks(log):
    return [
        EarlyStopping(monitor="val_loss", patience=3, restore_best_weights=True),
        ReduceLROnPlateau(monitor="val_loss", factor=0.5, patience=1, cooldown=1, min_delta=1e-3),
        CSVLogger(log),
    ]


FIT = dict(epochs=60, batch_size=8, verbose=0, seed=5, validation_split=0.25)


class CrashAtEpoch(Callback):
    class Crash(Exception):
        pass

    def __init__(self, epoch):
        super().__init__()
        self.epoch = epoch

    def on_epoch_begin(self, epoch, logs=None):
        if epoch == self.epoch:
            raise self.Crash


def _reference(tmp_path):
    m = _model()
    h = m.fit(*_data(), callbacks=_callbacks(tmp_path / "ref.csv"), **FIT)
    return m, h


def test_readme_example_resumes_with_its_early_stopping(tmp_path):
    """The README's fit(…, EarlyStopping(patience=3, restore_best_weights=True),
    checkpoint=…, resume=…): crash, resume → the same epochs, weights, log as no crash."""
    ref, h_ref = _reference(tmp_path)
    n_ref = len(h_ref.history["loss"])
    assert 8 < n_ref < FIT["epochs"], n_ref  # it does stop early, and not at once
    for crash in (2, n_ref - 2):
        ck, log = tmp_path / f"ck{crash}.safetensors", tmp_path / f"run{crash}.csv"
        with pytest.raises(CrashAtEpoch.Crash):
            _model().fit(
                *_data(),
                callbacks=_callbacks(log) + [CrashAtEpoch(crash)],
                checkpoint=ck,
                resume=ck,
                **FIT,
            )
        m = _model()
        h = m.fit(*_data(), callbacks=_callbacks(log), checkpoint=ck, resume=ck, **FIT)
        assert len(h.history["loss"]) == n_ref, crash
        assert h.history == h_ref.history
        assert np.array_equal(m.flat_params, ref.flat_params)
        assert m.optimizer.learning_rate == ref.optimizer.learning_rate
        assert log.read_bytes() == (tmp_path / "ref.csv").read_bytes()


def test_rerunning_a_finished_early_stopped_job_trains_no_further(tmp_path):
    ref, h_ref = _reference(tmp_path)
    ck, log = tmp_path / "ck.safetensors", tmp_path / "run.csv"
    m = _model()
    m.fit(*_data(), callbacks=_callbacks(log), checkpoint=ck, resume=ck, **FIT)
    it = m.optimizer.iterations
    again = _model()
    h = again.fit(*_data(), callbacks=_callbacks(log), checkpoint=ck, resume=ck, **FIT)
    assert again.optimizer.iterations == it  # not one more step
    assert h.history == h_ref.history
    assert np.array_equal(again.flat_params, ref.flat_params)  # the best weights, restored
    assert log.read_bytes() == (tmp_path / "ref.csv").read_bytes()


# ------------------------------------------------------------------ SIGKILL, forked runs
KILLER = r"""
import json, os, pathlib, random, signal, sys, time
import numpy as np
sys.path.insert(0, sys.argv[1])
import test_resume_callbacks as T

work, n_kills, seed = sys.argv[2], int(sys.argv[3]), int(sys.argv[4])
x, y = T._data()
ck, log = os.path.join(work, "ck.safetensors"), os.path.join(work, "run.csv")

def run(kill_after):
    pid = os.fork()
    if pid == 0:  # child: train (resuming), killed by SIGKILL after kill_after seconds
        try:
            if kill_after is not None:
                signal.signal(signal.SIGALRM, lambda *a: os.kill(os.getpid(), signal.SIGKILL))
                signal.setitimer(signal.ITIMER_REAL, kill_after)
            m = T._model()
            m.fit(x, y, callbacks=T._callbacks(log), checkpoint=ck, resume=ck,
                  checkpoint_every=2, **T.FIT)
            np.save(os.path.join(work, "final.npy"), m.flat_params)
            with open(os.path.join(work, "final.json"), "w") as f:
                json.dump({"history": m.history.history, "lr": m.optimizer.learning_rate}, f)
            os._exit(0)
        except BaseException:
            import traceback; traceback.print_exc()
            os._exit(3)
    _, status = os.waitpid(pid, 0)
    return status

def clean():
    for f in ("ck.safetensors", "run.csv", "final.npy"):
        if os.path.exists(os.path.join(work, f)):
            os.remove(os.path.join(work, f))

# the reference: one uninterrupted run; and how long a checkpointing run takes
m, h = T._reference(pathlib.Path(work))
clean()
t = time.perf_counter()
assert run(None) == 0
dt = time.perf_counter() - t
rnd = random.Random(seed)
ref_csv = open(os.path.join(work, "ref.csv"), "rb").read()
kills, cycles, points, mismatches = 0, 0, [], []
while kills < n_kills:  # cycles: train from scratch, killed at random moments, to the end
    cycles += 1
    clean()
    while True:
        at = rnd.uniform(0.05 * dt, 0.6 * dt)
        status = run(at)
        if os.WIFSIGNALED(status) and os.WTERMSIG(status) == signal.SIGKILL:
            kills += 1
            points.append(round(at, 3))
        elif os.WIFEXITED(status) and os.WEXITSTATUS(status) == 0:
            break  # it finished before its timer went off
        else:
            sys.exit(f"child ended with status {status}")
    same = (
        np.array_equal(np.load(os.path.join(work, "final.npy")), m.flat_params)
        and json.load(open(os.path.join(work, "final.json")))
        == {"history": h.history, "lr": m.optimizer.learning_rate}
        and open(log, "rb").read() == ref_csv
    )
    if not same:
        mismatches.append(cycles)
print(json.dumps({"kills": kills, "cycles": cycles, "points": points, "ref_seconds": dt,
                  "mismatches": mismatches}))
"""


def test_sigkill_at_random_moments_with_stateful_callbacks(tmp_path, stats):
    script = tmp_path / "killer.py"
    script.write_text(KILLER)
    # on tmpfs when there is one: a checkpoint's fsync costs nothing there, and a SIGKILL
    # (unlike a power cut) does not depend on it
    shm = "/dev/shm" if os.access("/dev/shm", os.W_OK) else None
    with tempfile.TemporaryDirectory(dir=shm or tmp_path) as work:
        r = subprocess.run(
            [sys.executable, str(script), str(Path(__file__).parent), work, "12", "7"],
            env=ENV,
            capture_output=True,
            text=True,
            timeout=900,  # (a safety net: the kill points follow the measured run time)
        )
    assert r.returncode == 0, r.stderr[-3000:]
    info = json.loads(r.stdout.strip().splitlines()[-1])
    stats(faults_injected=info["kills"], runs_resumed=info["kills"])
    assert info["kills"] >= 10, info
    stats(weights_lost=len(info["mismatches"]))
    assert info["mismatches"] == [], info  # weights, history, lr and CSV log: bit-identical


# ------------------------------------------------------------------ non-finite updates
class Snapshots(Callback):
    def __init__(self):
        super().__init__()
        self.after = {0: None}

    def on_train_begin(self, logs=None):
        self.after[0] = self.model.flat_params.copy()

    def on_train_batch_end(self, batch, logs=None):
        self.after[self.model.optimizer.iterations] = self.model.flat_params.copy()


@pytest.mark.parametrize(
    "opt",
    [
        lambda: SGD(learning_rate=float("nan")),
        lambda: Adam(learning_rate=float("inf")),
        lambda: SGD(learning_rate=1e38),
    ],
    ids=["sgd-nan", "adam-inf", "sgd-1e38"],
)
def test_an_update_that_makes_weights_nonfinite_is_undone(tmp_path, capsys, stats, opt):
    x, y = _data()
    m = Sequential([LSTM(4), Dense(1)], seed=0)
    m.compile(opt(), "mse")
    snaps = Snapshots()
    ck = tmp_path / "ck.safetensors"
    h = m.fit(x, y, epochs=2, batch_size=8, verbose=0, callbacks=[snaps], checkpoint=ck)
    stats(faults_injected=1)
    assert h.diverged is not None
    assert "training stopped at epoch 1" in capsys.readouterr().err
    good = snaps.after[m.optimizer.iterations]
    lost = not (np.isfinite(m.flat_params).all() and np.array_equal(m.flat_params, good))
    stats(weights_lost=int(lost))
    assert not lost
    assert all(np.isfinite(a).all() for d in m.optimizer.state.values() for a in d.values())


def _edit_checkpoint(src, dst, training_state=None, nan_tensor=None):
    """Copy a checkpoint, with its training_state JSON replaced and/or one tensor's
    first value set to NaN."""
    raw = Path(src).read_bytes()
    n = struct.unpack("<Q", raw[:8])[0]
    header = json.loads(raw[8 : 8 + n])
    data = bytearray(raw[8 + n :])
    if training_state is not None:
        header["__metadata__"]["training_state"] = json.dumps(training_state, allow_nan=True)
    if nan_tensor is not None:
        e = header[nan_tensor]
        b = e["data_offsets"][0]
        data[b : b + 4] = np.float32(np.nan).tobytes()
    hb = json.dumps(header).encode()
    Path(dst).write_bytes(struct.pack("<Q", len(hb)) + hb + bytes(data))


@pytest.mark.parametrize("what", ["lr-nan", "lr-inf", "lr-negative", "slot-nan", "weight-nan"])
def test_resume_refuses_a_checkpoint_with_nonfinite_optimizer_state(tmp_path, what, stats):
    x, y = _data()
    ck = tmp_path / "ck.safetensors"
    _model().fit(x, y, epochs=1, batch_size=8, verbose=0, seed=1, checkpoint=ck)
    _, meta, _ = read_header(ck)
    st = load_json(ck, meta, "training_state")
    tensors = read_header(ck)[0]
    bad = tmp_path / "bad.safetensors"
    if what.startswith("lr"):
        st["optimizer"]["learning_rate"] = {"lr-nan": float("nan"), "lr-inf": float("inf")}.get(
            what, -0.5
        )
        _edit_checkpoint(ck, bad, training_state=st)
    else:
        name = next(
            n for n in tensors if n.startswith("optimizer." if what == "slot-nan" else "0.")
        )
        _edit_checkpoint(ck, bad, nan_tensor=name)
    with pytest.raises(ModelFileError):
        _model().fit(x, y, epochs=2, batch_size=8, verbose=0, seed=1, checkpoint=bad, resume=bad)
    stats(inputs_tried=1, refused_cleanly=1, kind="checkpoints")
