"""Every way a run can die: NaN / inf loss, exploding gradients, a full disk while a
checkpoint is written, Ctrl-C (library and CLI), SIGKILL at random moments, and a
configuration too big for the machine."""

from __future__ import annotations

import errno
import os
import random
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

import lstmkit
from lstmkit import LSTM, Dense, Dropout, Sequential, load_model
from lstmkit.callbacks import Callback
from lstmkit.errors import UserError, WriteError
from lstmkit.io.safefile import load_json, read_header

SRC = str(Path(__file__).resolve().parents[2] / "src")
ENV = {
    **os.environ,
    "PYTHONPATH": SRC,
    "OMP_NUM_THREADS": "1",
    "OPENBLAS_NUM_THREADS": "1",
    "MKL_NUM_THREADS": "1",
}


def _data(n=48, seed=0):
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((n, 5, 3)).astype(np.float32)
    y = np.stack([x[:, :, 0].mean(1), x[:, -1, 1]], axis=1).astype(np.float32)
    return x, y


def _model(seed=0, opt="adam"):
    m = Sequential([LSTM(6, return_sequences=True), Dropout(0.1), LSTM(4), Dense(2)], seed=seed)
    m.compile(opt, "mse")
    return m


class Snapshots(Callback):
    """The weights after every applied batch, keyed by the optimizer's step count."""

    def __init__(self):
        super().__init__()
        self.after = {}

    def on_train_batch_end(self, batch, logs=None):
        self.after[self.model.optimizer.iterations] = self.model.flat_params.copy()


# ------------------------------------------------------------------ NaN / inf
@pytest.mark.parametrize("fault", ["nan-input", "inf-target", "huge-lr"])
def test_nonfinite_loss_stops_with_last_good_weights_saved(tmp_path, capsys, stats, fault):
    x, y = _data()
    bad_batch = 2  # batch size 8, no shuffling
    if fault == "nan-input":
        x[bad_batch * 8 + 3, 2, 1] = np.nan
    elif fault == "inf-target":
        y[bad_batch * 8 + 5, 0] = np.inf
    m = _model(opt=lstmkit.optim.SGD(learning_rate=1e6) if fault == "huge-lr" else "adam")
    snaps = Snapshots()
    ck = tmp_path / "ck.safetensors"
    h = m.fit(
        x, y, epochs=3, batch_size=8, shuffle=False, verbose=0, checkpoint=ck, callbacks=[snaps]
    )
    stats(faults_injected=1)
    d = h.diverged
    assert d is not None
    if fault != "huge-lr":  # (SGD with lr 1e6 blows up somewhere)
        assert (d["epoch"], d["batch"]) == (0, bad_batch) and not np.isfinite(d["loss"])
    err = capsys.readouterr().err
    assert f"training stopped at epoch {d['epoch'] + 1}, batch {d['batch'] + 1} of 6" in err
    # the bad step was not applied: the weights are those after the previous batch
    good = snaps.after[m.optimizer.iterations]
    assert np.isfinite(m.flat_params).all() and np.array_equal(m.flat_params, good)
    # … and the checkpoint holds them and a loadable model
    saved = load_model(ck)
    lost = not np.array_equal(
        np.concatenate([w.ravel() for w in saved.get_weights()]),
        np.concatenate([w.ravel() for w in m.get_weights()]),
    )
    stats(weights_lost=int(lost))
    assert not lost
    assert len(h.history["loss"]) == d["epoch"] + 1  # stopped in that epoch


def test_cli_jobs_clip_gradients_by_default():
    from lstmkit.apps.classify import job as classify
    from lstmkit.apps.forecast import job as forecast
    from lstmkit.apps.textgen import job as textgen

    opts = [
        forecast.build_model(forecast.ForecastConfig(target="y"), 2, 3).optimizer,
        classify.build_model(
            {"classes": ["a", "b"], "kind": "series"}, classify.ClassifyConfig()
        ).optimizer,
        textgen.build_model(5, textgen.TextgenConfig(units=4, embed_dim=3, seq_len=4)).optimizer,
    ]
    for o in opts:
        assert (o.clipnorm or o.global_clipnorm) is not None, type(o).__name__
    # and clipping does bound an exploding step: one SGD step from a gradient of norm 1e12
    o = lstmkit.optim.SGD(learning_rate=1.0, global_clipnorm=1.0)
    p, g = {"float32": np.zeros(4, np.float32)}, {"float32": np.full(4, 5e11, np.float32)}
    o.build(p)
    o.step(p, g)
    assert np.linalg.norm(p["float32"]) == pytest.approx(1.0, rel=1e-5)


# ------------------------------------------------------------------ disk full
def test_disk_full_while_checkpointing_keeps_previous_checkpoint(tmp_path, monkeypatch, stats):
    x, y = _data()
    ck = tmp_path / "ck.safetensors"
    m = _model()
    m.fit(x, y, epochs=1, batch_size=8, verbose=0, seed=1, checkpoint=ck)
    before = ck.read_bytes()
    real_fdopen = os.fdopen

    class HalfWriter:
        """Writes half the bytes, then the disk is full."""

        def __init__(self, f):
            self.f = f

        def write(self, data):
            self.f.write(data[: len(data) // 2])
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

        def __getattr__(self, k):
            return getattr(self.f, k)

        def __enter__(self):
            return self

        def __exit__(self, *a):
            return self.f.__exit__(*a)

    monkeypatch.setattr(
        os, "fdopen", lambda fd, mode="r", *a, **k: HalfWriter(real_fdopen(fd, mode, *a, **k))
    )
    with pytest.raises(WriteError) as e:
        m.fit(x, y, epochs=3, batch_size=8, verbose=0, seed=1, checkpoint=ck, resume=ck)
    monkeypatch.undo()
    stats(faults_injected=1)
    msg = str(e.value)
    assert e.value.errno == errno.ENOSPC and isinstance(e.value, UserError)
    assert "No space left on device" in msg and "previous file there is unchanged" in msg
    assert str(ck) in msg and "\n" not in msg
    lost = ck.read_bytes() != before
    stats(weights_lost=int(lost))
    assert not lost
    assert [p.name for p in tmp_path.iterdir()] == ["ck.safetensors"]  # no temp file left
    # and training resumes from it once there is space again
    m2 = _model()
    m2.fit(x, y, epochs=2, batch_size=8, verbose=0, seed=1, checkpoint=ck, resume=ck)
    ref = _model()
    ref.fit(x, y, epochs=2, batch_size=8, verbose=0, seed=1)
    assert np.array_equal(m2.flat_params, ref.flat_params)
    stats(runs_resumed=1)


# ------------------------------------------------------------------ Ctrl-C
class SigintAt(Callback):
    def __init__(self, step):
        super().__init__()
        self.step = step

    def on_train_batch_begin(self, batch, logs=None):
        if self.model.optimizer.iterations == self.step:  # mid-batch: before its step
            os.kill(os.getpid(), signal.SIGINT)


def test_sigint_finishes_the_batch_saves_and_raises(tmp_path, capsys, stats):
    if signal.getsignal(signal.SIGINT) is not signal.default_int_handler:
        pytest.skip("the test runner replaced Python's SIGINT handler")
    x, y = _data()
    ck = tmp_path / "ck.safetensors"
    snaps = Snapshots()
    with pytest.raises(KeyboardInterrupt, match="after epoch 2, batch 2; checkpoint saved"):
        _model().fit(
            x,
            y,
            epochs=3,
            batch_size=8,
            verbose=0,
            seed=4,
            checkpoint=ck,
            callbacks=[snaps, SigintAt(7)],
        )
    stats(faults_injected=1)
    assert signal.getsignal(signal.SIGINT) is signal.default_int_handler  # handler restored
    assert "finishing this batch" in capsys.readouterr().err
    _, meta, _ = read_header(ck)
    st = load_json(ck, meta, "training_state")
    assert (st["epoch"], st["batch"], st["optimizer"]["iterations"]) == (1, 2, 8)
    saved = np.concatenate([w.ravel() for w in load_model(ck).get_weights()])
    m = _model()
    m.build(x.shape[1:])
    m.set_weights(load_model(ck).get_weights())
    assert np.array_equal(m.flat_params, snaps.after[8])  # the batch in flight finished
    assert saved.size == m.flat_params.size
    # resume → the same weights as a run never interrupted
    m = _model()
    m.fit(x, y, epochs=3, batch_size=8, verbose=0, seed=4, checkpoint=ck, resume=ck)
    ref = _model()
    ref.fit(x, y, epochs=3, batch_size=8, verbose=0, seed=4)
    lost = not np.array_equal(m.flat_params, ref.flat_params)
    stats(runs_resumed=1, weights_lost=int(lost))
    assert not lost


def test_cli_sigint_exits_130_and_resumes(tmp_path, stats):
    out = tmp_path / "run"
    args = [
        sys.executable,
        "-m",
        "lstmkit",
        "textgen",
        "train",
        "--max-chars",
        "60000",
        "--units",
        "24",
        "--seq-len",
        "20",
        "--batch-size",
        "8",
        "--epochs",
        "6",
        "--out",
        str(out),
        "--quiet",
    ]
    ref_args = [a if a != str(out) else str(tmp_path / "ref") for a in args]
    ref = subprocess.Popen(ref_args, env=ENV, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    p = subprocess.Popen(args, env=ENV, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    ck = out / "checkpoint.safetensors"
    # Wait on a real condition, not a clock: the first epoch's checkpoint (written
    # atomically, so it is whole once it exists). The deadline is only a safety net for a
    # loaded machine; the run has 5 more epochs to go, so it is still training when the
    # signal comes.
    deadline = time.monotonic() + 600
    while not ck.exists():
        assert p.poll() is None, p.communicate()
        assert time.monotonic() < deadline, "no checkpoint after 600 s"
        time.sleep(0.01)
    assert p.poll() is None, p.communicate()
    p.send_signal(signal.SIGINT)
    so, se = p.communicate(timeout=600)
    stats(faults_injected=1)
    assert p.returncode == 130, (so, se)
    assert "lstmkit textgen: interrupted" in se and "Traceback" not in se
    assert "--resume" in so
    _, meta, _ = read_header(ck)
    st = load_json(ck, meta, "training_state")
    assert (1, 0) <= (st["epoch"], st["batch"]) < (6, 0)  # saved where it stopped
    load_model(ck)
    r = subprocess.run(
        args[:-1] + ["--resume", "--quiet"], env=ENV, capture_output=True, text=True, timeout=600
    )
    assert r.returncode == 0, r.stderr
    _, meta, _ = read_header(ck)
    assert load_json(ck, meta, "training_state")["epoch"] == 6
    assert ref.wait(timeout=600) == 0, ref.stderr.read()[-2000:]
    a = load_model(out / "model.safetensors").get_weights()
    b = load_model(tmp_path / "ref" / "model.safetensors").get_weights()
    lost = not all(np.array_equal(u, v) for u, v in zip(a, b, strict=True))
    stats(runs_resumed=1, weights_lost=int(lost))
    assert not lost  # = the uninterrupted run


# ------------------------------------------------------------------ SIGKILL loop
SCRIPT = r"""
import sys, time
import numpy as np
from lstmkit import LSTM, Dense, Dropout, Sequential
from lstmkit.callbacks import Callback
out, ck, delay = sys.argv[1], sys.argv[2], float(sys.argv[3])
rng = np.random.default_rng(0)
x = rng.standard_normal((64, 6, 3)).astype(np.float32)
y = np.stack([x[:, :, 0].mean(1), x[:, -1, 1]], axis=1).astype(np.float32)
m = Sequential(
    [LSTM(8, return_sequences=True, dropout=0.1), Dropout(0.2), LSTM(6), Dense(2)], seed=0
)
m.compile("adam", "mse")
class Slow(Callback):
    def on_train_begin(self, logs=None):
        print("training", flush=True)  # (the test kills at random moments after this)
    def on_train_batch_end(self, batch, logs=None):
        time.sleep(delay)
kw = dict(checkpoint=ck, checkpoint_every=1, resume=ck) if ck != "-" else {}
m.fit(x, y, epochs=12, batch_size=8, verbose=0, seed=3, validation_split=0.125,
      callbacks=[Slow()], **kw)
np.save(out, m.flat_params)
"""


def test_sigkill_at_random_moments_then_resume(tmp_path, stats):
    (tmp_path / "train.py").write_text(SCRIPT)
    run = lambda out, ck, delay: subprocess.Popen(  # noqa: E731
        [sys.executable, str(tmp_path / "train.py"), str(out), str(ck), str(delay)],
        env=ENV,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    full = run(tmp_path / "full.npy", "-", 0)
    ck = tmp_path / "ck.safetensors"
    rnd = random.Random(1234)
    kills = resumed = 0
    positions = []
    final = tmp_path / "victim.npy"
    while not final.exists() and kills < 40:
        p = run(final, ck, 0.04)
        # a random moment of the training itself (not of Python's start-up, which takes
        # longer on a loaded machine): after the run says it is training
        p.stdout.readline()
        time.sleep(rnd.uniform(0.0, 0.3))
        if p.poll() is None:
            p.send_signal(signal.SIGKILL)
            kills += 1
        p.wait()
        assert p.returncode in (0, -signal.SIGKILL), p.stderr.read()[-2000:]
        if ck.exists():  # never corrupt: always loads
            load_model(ck)
            _, meta, _ = read_header(ck)
            st = load_json(ck, meta, "training_state")
            positions.append((st["epoch"], st["batch"]))
            resumed += 1
        if kills >= 12 and not final.exists():  # enough: let it finish
            p = run(final, ck, 0)
            assert p.wait(timeout=600) == 0, p.stderr.read()[-2000:]
            resumed += 1
    assert full.wait(timeout=600) == 0, full.stderr.read()[-2000:]
    stats(faults_injected=kills, runs_resumed=resumed)
    assert kills >= 10
    assert positions == sorted(positions)  # progress only moves forward
    # temp files of killed writers are removed by the next write
    assert not [q.name for q in tmp_path.iterdir() if q.name.endswith(".tmp")]
    a, b = np.load(tmp_path / "full.npy"), np.load(final)
    lost = not np.array_equal(a, b)
    stats(weights_lost=int(lost))
    assert not lost


# ------------------------------------------------------------------ resource bounds
def test_memory_estimate_refuses_too_big_a_configuration():
    from lstmkit.resources import available_bytes, check_training_memory, estimate_training_bytes

    have = available_bytes()
    assert have is None or have > 0
    small = Sequential([LSTM(32), Dense(1)])
    big = Sequential([LSTM(8192, return_sequences=True), Dense(1)])
    e_small = estimate_training_bytes(small, 32, 50, 4)
    e_big = estimate_training_bytes(big, 1024, 5000, 4)
    assert e_big > 1000 * e_small
    # grows with batch × time × units
    assert estimate_training_bytes(small, 64, 50, 4) > e_small
    assert estimate_training_bytes(small, 32, 100, 4) > e_small
    assert check_training_memory(small, 32, 50, 4, available=2**30) == e_small
    with pytest.raises(
        UserError,
        match=r"needs about .* GiB .*batch 1024 × time 5000 × "
        r"units 8192.*only 1\.0 GiB is available",
    ):
        check_training_memory(big, 1024, 5000, 4, available=2**30)
    assert not big.built  # nothing was allocated
    # the estimate bounds what a real step takes (tracemalloc's peak), without being absurd
    import tracemalloc

    x, y = np.zeros((16, 40, 4), np.float32), np.zeros((16, 1), np.float32)
    m = Sequential([LSTM(64), Dense(1)])
    m.compile("adam", "mse")
    est = estimate_training_bytes(m, 16, 40, 4)
    tracemalloc.start()
    m.train_on_batch(x, y)
    m.train_on_batch(x, y)
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    assert peak < est < 3 * peak, (est, peak)


@pytest.mark.parametrize(
    "argv",
    [
        ["textgen", "train", "--units", "20000", "--batch-size", "256", "--seq-len", "1000"],
        ["forecast", "--units", "30000", "--batch-size", "4096", "--epochs", "1"],
    ],
)
def test_cli_refuses_a_configuration_bigger_than_the_machine(tmp_path, capsys, argv):
    from lstmkit import cli

    code = cli.main(argv + ["--out", str(tmp_path / "o"), "--quiet"])
    err = capsys.readouterr().err.strip().splitlines()
    assert code == 2 and len(err) == 1, err
    assert "of memory to train" in err[0] and "is available" in err[0]


def test_stateful_layers_resume_mid_epoch_bit_identical(tmp_path, stats):
    """A stateful model (as textgen's) carries h, c from batch to batch: a checkpoint in
    the middle of an epoch keeps them, so the resumed run equals the uninterrupted one."""
    rng = np.random.default_rng(3)
    x = rng.standard_normal((32, 5, 3)).astype(np.float32)
    y = rng.standard_normal((32, 5, 2)).astype(np.float32)

    def model():
        m = Sequential(
            [
                LSTM(6, return_sequences=True, stateful=True),
                lstmkit.GRU(4, return_sequences=True, stateful=True),
                Dense(2),
            ],
            seed=0,
        )
        m.compile("adam", "mse")
        return m

    class Stop(Exception):
        pass

    class CrashAt(Callback):
        def on_train_batch_end(self, batch, logs=None):
            if self.model.optimizer.iterations == 7:
                raise Stop

    kw = dict(epochs=2, batch_size=8, shuffle=False, verbose=0, seed=2)
    ref = model()
    ref.fit(x, y, **kw)
    ck = tmp_path / "ck.safetensors"
    with pytest.raises(Stop):
        model().fit(x, y, checkpoint=ck, checkpoint_every=2, callbacks=[CrashAt()], **kw)
    stats(faults_injected=1)
    _, meta, _ = read_header(ck)
    assert load_json(ck, meta, "training_state")["batch"] == 2  # mid-epoch 2
    m = model()
    m.fit(x, y, checkpoint=ck, checkpoint_every=2, resume=ck, **kw)
    lost = not np.array_equal(m.flat_params, ref.flat_params)
    stats(runs_resumed=1, weights_lost=int(lost))
    assert not lost


def test_temp_files_of_killed_writers_are_cleaned_live_ones_kept(tmp_path):
    from lstmkit.io.atomic import atomic_write

    dead = subprocess.run(
        [sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True
    ).stdout.strip()
    stale = tmp_path / f".m.safetensors.{dead}.abc123.tmp"
    live = tmp_path / f".m.safetensors.{os.getppid()}.def456.tmp"  # our parent is alive
    other = tmp_path / f".n.safetensors.{dead}.x.tmp"  # another file's temp
    for q in (stale, live, other):
        q.write_bytes(b"half a file")
    atomic_write(tmp_path / "m.safetensors", b"new")
    assert (tmp_path / "m.safetensors").read_bytes() == b"new"
    assert not stale.exists() and live.exists() and other.exists()
