"""Callbacks for ``Sequential.fit``, with Keras' names and hooks.

Hooks: ``on_train_begin/end(logs)``, ``on_epoch_begin/end(epoch, logs)``,
``on_train_batch_begin/end(batch, logs)``. ``logs`` holds "loss", metric names
and, at epoch end, "val_…" entries. A callback stops training by setting
``self.model.stop_training = True``.

A callback that carries state from epoch to epoch (EarlyStopping's patience counter and
best weights, ReduceLROnPlateau's counters, CSVLogger's place in its file, …) returns it
from ``get_state()`` and takes it back in ``set_state(state)``: a training checkpoint
saves it, and ``fit(resume=…)`` restores it after ``on_train_begin``, so a run killed
and resumed goes on exactly as if it had never stopped. The state is JSON-able values
and NumPy arrays; ``set_state`` raises ValueError on anything malformed.
"""

from __future__ import annotations

import csv
import io
import math
import os
import sys
import time
from typing import IO, Any

import numpy as np


class Callback:
    def __init__(self):
        # the model being fitted (a Sequential, or any model with its public methods; this
        # module sits below the model, so it is not named here), set by set_model
        self.model: Any = None
        self.params: dict[str, Any] = {}

    def set_model(self, model):
        self.model = model

    def set_params(self, params):
        self.params = params

    def on_train_begin(self, logs=None):
        pass

    def on_train_end(self, logs=None):
        pass

    def on_epoch_begin(self, epoch, logs=None):
        pass

    def on_epoch_end(self, epoch, logs=None):
        pass

    def on_train_batch_begin(self, batch, logs=None):
        pass

    def on_train_batch_end(self, batch, logs=None):
        pass

    def get_state(self) -> dict | None:
        """What a checkpoint must keep of this callback to resume exactly (None: nothing)."""
        return None

    def set_state(self, state: dict) -> None:
        """Take back what :meth:`get_state` returned (called after ``on_train_begin``)."""


def _count(state, key) -> int:
    v = state.get(key)
    if type(v) is not int or not 0 <= v < 2**40:
        raise ValueError(f"{key} = {str(v)[:40]} is not a count")
    return v


def _number(state, key, optional=False):
    v = state.get(key)
    if v is None and optional:
        return None
    if isinstance(v, bool) or not isinstance(v, (int, float)) or not math.isfinite(v):
        raise ValueError(f"{key} = {str(v)[:40]} is not a finite number")
    return float(v)


class CallbackList(Callback):
    def __init__(self, callbacks, model, params):
        super().__init__()
        self.callbacks = list(callbacks)
        for c in self.callbacks:
            c.set_model(model)
            c.set_params(params)

    def _call(self, hook, *a):
        for c in self.callbacks:
            getattr(c, hook)(*a)

    def on_train_begin(self, logs=None):
        self._call("on_train_begin", logs)

    def on_train_end(self, logs=None):
        self._call("on_train_end", logs)

    def on_epoch_begin(self, epoch, logs=None):
        self._call("on_epoch_begin", epoch, logs)

    def on_epoch_end(self, epoch, logs=None):
        self._call("on_epoch_end", epoch, logs)

    def on_train_batch_begin(self, b, logs=None):
        self._call("on_train_batch_begin", b, logs)

    def on_train_batch_end(self, b, logs=None):
        self._call("on_train_batch_end", b, logs)


class History(Callback):
    """``history.history["loss"]`` etc.: one value per epoch; ``history.epoch``: the epochs."""

    def __init__(self):
        super().__init__()
        self.history: dict[str, list] = {}
        self.epoch: list[int] = []
        #: set by fit: None, or where training stopped on a NaN/inf {"epoch", "batch", "loss"}
        self.diverged: dict | None = None

    def on_epoch_end(self, epoch, logs=None):
        self.epoch.append(epoch)
        for k, v in (logs or {}).items():
            self.history.setdefault(k, []).append(v)


def _monitor_mode(monitor, mode):
    if mode not in ("auto", "min", "max"):
        raise ValueError(f"mode must be 'auto', 'min' or 'max', got {mode!r}")
    if mode == "auto":
        mode = "max" if ("acc" in monitor or monitor.endswith("auc")) else "min"
    return mode


class _Monitor(Callback):
    def __init__(self, monitor, mode, min_delta):
        super().__init__()
        self.monitor = monitor
        self.mode = _monitor_mode(monitor, mode)
        self.min_delta = abs(float(min_delta))
        self.best = math.inf if self.mode == "min" else -math.inf

    def _best_state(self) -> float | None:
        return self.best if math.isfinite(self.best) else None  # ±inf: nothing seen yet

    def _set_best(self, state) -> None:
        b = _number(state, "best", optional=True)
        self.best = b if b is not None else (math.inf if self.mode == "min" else -math.inf)

    def _improved(self, value):
        if self.mode == "min":
            return value < self.best - self.min_delta
        return value > self.best + self.min_delta

    def _value(self, logs):
        v = (logs or {}).get(self.monitor)
        if v is None:
            print(
                f"{type(self).__name__}: metric {self.monitor!r} not available; "
                f"available: {sorted(logs or {})}",
                file=sys.stderr,
            )
        return v


class EarlyStopping(_Monitor):
    """Stop when ``monitor`` has not improved by ``min_delta`` for ``patience`` epochs;
    ``restore_best_weights`` puts back the weights of the best epoch. As in Keras,
    ``start_from_epoch`` epochs pass before monitoring starts (no stop, no best before)."""

    def __init__(
        self,
        monitor="val_loss",
        patience=0,
        min_delta=0.0,
        mode="auto",
        restore_best_weights=False,
        verbose=0,
        start_from_epoch=0,
    ):
        super().__init__(monitor, mode, min_delta)
        self.patience = int(patience)
        self.restore_best_weights = bool(restore_best_weights)
        self.verbose = verbose
        self.start_from_epoch = int(start_from_epoch)

    def on_train_begin(self, logs=None):
        self.wait, self.stopped_epoch, self.best_epoch = 0, None, None
        self.best = math.inf if self.mode == "min" else -math.inf
        self.best_weights = None

    def on_epoch_end(self, epoch, logs=None):
        v = self._value(logs)
        if v is None or epoch < self.start_from_epoch:
            return
        if self._improved(v):
            self.best, self.best_epoch, self.wait = v, epoch, 0
            if self.restore_best_weights:
                self.best_weights = {k: a.copy() for k, a in self.model.buffers.params.items()}
            return
        self.wait += 1
        if self.wait >= self.patience and epoch > 0:  # Keras' rule
            self.stopped_epoch = epoch
            self.model.stop_training = True

    def on_train_end(self, logs=None):
        if self.restore_best_weights and self.best_weights is not None:
            for k, a in self.model.buffers.params.items():
                a[...] = self.best_weights[k]
            if self.verbose and self.best_epoch is not None:  # set with best_weights
                print(f"Restoring model weights from the end of epoch {self.best_epoch + 1}.")

    def get_state(self):
        return {
            "wait": self.wait,
            "best": self._best_state(),
            "best_epoch": self.best_epoch,
            "stopped_epoch": self.stopped_epoch,
            "best_weights": self.best_weights,  # {dtype name: flat array} or None
        }

    def set_state(self, state):
        self.wait = _count(state, "wait")
        self._set_best(state)
        for k in ("best_epoch", "stopped_epoch"):
            setattr(self, k, None if state.get(k) is None else _count(state, k))
        bw = state.get("best_weights")
        if bw is not None:
            want = self.model.buffers.params
            if not isinstance(bw, dict) or set(bw) != set(want):
                raise ValueError(f"best_weights expected buffers {sorted(want)}")
            for k, a in want.items():
                b = bw[k]
                if not isinstance(b, np.ndarray) or b.shape != a.shape or b.dtype != a.dtype:
                    raise ValueError(f"best_weights[{k!r}] does not fit this model")
            bw = {k: np.array(bw[k]) for k in want}
        self.best_weights = bw


class ReduceLROnPlateau(_Monitor):
    """lr ← max(lr·factor, min_lr) when ``monitor`` has not improved for ``patience`` epochs."""

    def __init__(
        self,
        monitor="val_loss",
        factor=0.1,
        patience=10,
        min_delta=1e-4,
        mode="auto",
        cooldown=0,
        min_lr=0.0,
        verbose=0,
    ):
        super().__init__(monitor, mode, min_delta)
        if not 0 < factor < 1:
            raise ValueError(f"factor must be in (0, 1), got {factor!r}")
        self.factor, self.patience = float(factor), int(patience)
        self.cooldown, self.min_lr, self.verbose = int(cooldown), float(min_lr), verbose
        self.wait = self.cooldown_counter = 0

    def on_epoch_end(self, epoch, logs=None):
        v = self._value(logs)
        opt = self.model.optimizer
        if logs is not None:
            logs["learning_rate"] = opt.current_learning_rate()
        if v is None or callable(opt.learning_rate):
            return
        if self.cooldown_counter > 0:
            self.cooldown_counter -= 1
            self.wait = 0
        if self._improved(v):
            self.best, self.wait = v, 0
        elif self.cooldown_counter <= 0:
            self.wait += 1
            if self.wait >= self.patience and opt.learning_rate > self.min_lr:
                opt.learning_rate = max(opt.learning_rate * self.factor, self.min_lr)
                if self.verbose:
                    print(
                        f"Epoch {epoch + 1}: ReduceLROnPlateau reducing learning rate "
                        f"to {opt.learning_rate:g}."
                    )
                self.cooldown_counter, self.wait = self.cooldown, 0

    def get_state(self):
        return {
            "wait": self.wait,
            "cooldown_counter": self.cooldown_counter,
            "best": self._best_state(),
        }

    def set_state(self, state):
        self.wait = _count(state, "wait")
        self.cooldown_counter = _count(state, "cooldown_counter")
        self._set_best(state)


class LearningRateScheduler(Callback):
    """At the start of every epoch: lr ← schedule(epoch, lr) (or schedule(epoch), Keras'
    older form); the epoch's logs get "learning_rate". As ``keras.callbacks``."""

    def __init__(self, schedule, verbose=0):
        super().__init__()
        if not callable(schedule):
            raise TypeError(f"LearningRateScheduler expected a function, got {schedule!r}")
        self.schedule, self.verbose = schedule, verbose

    def on_epoch_begin(self, epoch, logs=None):
        opt = self.model.optimizer
        if callable(opt.learning_rate):
            raise ValueError(
                "LearningRateScheduler cannot set the rate of an optimizer made with a "
                "learning-rate schedule (as in Keras): give it a float learning_rate"
            )
        try:  # Keras' current API first, then its older one-argument form
            lr = self.schedule(epoch, float(opt.learning_rate))
        except TypeError:
            lr = self.schedule(epoch)
        if not isinstance(lr, (float, int, np.floating)) or isinstance(lr, bool):
            raise ValueError(f"the schedule function must return a float, got {lr!r}")
        opt.learning_rate = float(lr)
        if self.verbose > 0:
            print(f"\nEpoch {epoch + 1}: LearningRateScheduler setting learning rate to {lr}.")

    def on_epoch_end(self, epoch, logs=None):
        if logs is not None:
            logs["learning_rate"] = float(self.model.optimizer.learning_rate)


class TerminateOnNaN(Callback):
    """Stop as soon as a batch loss is NaN or infinite."""

    def on_train_batch_end(self, batch, logs=None):
        loss = (logs or {}).get("loss")
        if loss is not None and not math.isfinite(loss):
            print(f"Batch {batch}: invalid loss {loss}, terminating training", file=sys.stderr)
            self.model.stop_training = True


class CSVLogger(Callback):
    """One CSV row per epoch: epoch, then the logs' keys in sorted order.

    Its state is its place in the file (bytes written, columns): on resume the file is cut
    back to the end of the last epoch the checkpoint holds and continued from there, so a
    killed and resumed run leaves the same file as one never interrupted."""

    _file: IO[bytes] | None
    _writer: Any  # a csv.writer (its class is private to _csv)

    def __init__(self, filename, separator=",", append=False):
        super().__init__()
        self.filename, self.sep, self.append = os.fspath(filename), separator, append
        self._file = None
        self._keys = None
        self._header_done = False
        self._resume_at = None  # bytes to keep of the file (set_state), else start afresh

    def on_train_begin(self, logs=None):
        self._keys, self._header_done, self._resume_at = None, False, None
        self._close()

    def _open(self):
        """Open the file for the first row: continue a resumed one, append, or start afresh."""
        if self._resume_at is not None:
            f = open(self.filename, "r+b")
            f.seek(0, os.SEEK_END)
            if f.tell() < self._resume_at:
                f.close()
                raise ValueError(
                    f"CSVLogger: {self.filename} is shorter than the checkpoint says "
                    f"({self._resume_at} bytes): it was changed since"
                )
            f.truncate(self._resume_at)
            f.seek(self._resume_at)
            return f
        exists = self.append and os.path.exists(self.filename) and os.path.getsize(self.filename)
        self._header_done = bool(exists)
        return open(self.filename, "ab" if self.append else "wb")

    def _row(self, values) -> None:
        buf = io.StringIO()
        csv.writer(buf, delimiter=self.sep).writerow(values)
        assert self._file is not None  # (opened by on_train_begin)
        self._file.write(buf.getvalue().encode("utf-8"))

    def on_epoch_end(self, epoch, logs=None):
        logs = logs or {}
        if self._file is None:
            self._file = self._open()
        if self._keys is None:
            self._keys = sorted(logs)
        if not self._header_done:
            self._row(["epoch", *self._keys])
            self._header_done = True
        self._row([epoch, *[logs.get(k, "") for k in self._keys]])
        self._file.flush()

    def get_state(self):
        if self._file is not None:
            at = self._file.tell()
        elif self._resume_at is not None:
            at = self._resume_at
        else:  # nothing written yet in this fit
            at = (
                os.path.getsize(self.filename)
                if self.append and os.path.exists(self.filename)
                else 0
            )
        return {"bytes": at, "keys": self._keys, "header_done": self._header_done}

    def set_state(self, state):
        keys = state.get("keys")
        if keys is not None and (
            not isinstance(keys, list) or not all(isinstance(k, str) for k in keys)
        ):
            raise ValueError("keys must be a list of names")
        self._close()
        self._resume_at = _count(state, "bytes")
        self._keys, self._header_done = keys, bool(state.get("header_done"))
        if not os.path.exists(self.filename) and self._resume_at == 0:
            self._resume_at = None  # nothing was logged yet: start the file afresh

    def _close(self):
        if self._file:
            self._file.close()
            self._file = None

    def on_train_end(self, logs=None):
        self._close()


class ModelCheckpoint(_Monitor):
    """Save after every epoch (or only when ``monitor`` improved, with ``save_best_only``).

    The file is a full training checkpoint (weights, optimizer state, epoch,
    RNG states) in the safetensors format; ``lstmkit.load_model`` opens it and
    ``fit(resume=…)`` continues from it. Written atomically (temp file, fsync,
    os.replace), so a crash never leaves a half-written file under ``filepath``.
    ``filepath`` may hold ``{epoch}`` (1-based) and log keys, e.g. ``m-{epoch:02d}.safetensors``.
    """

    def __init__(self, filepath, monitor="val_loss", save_best_only=False, mode="auto", verbose=0):
        super().__init__(monitor, mode, 0.0)
        self.filepath, self.save_best_only, self.verbose = (
            os.fspath(filepath),
            save_best_only,
            verbose,
        )

    def on_epoch_end(self, epoch, logs=None):
        logs = logs or {}
        path = self.filepath.format(epoch=epoch + 1, **logs)
        if self.save_best_only:
            v = self._value(logs)
            if v is None or not self._improved(v):
                return
            self.best = v
        self.model.save_checkpoint(path)
        if self.verbose:
            print(f"Epoch {epoch + 1}: saved checkpoint to {path}")

    def get_state(self):
        return {"best": self._best_state()} if self.save_best_only else None

    def set_state(self, state):
        self._set_best(state)


def _fmt(logs):
    return " - ".join(
        f"{k}: {v:.4f}" if isinstance(v, float) else f"{k}: {v}" for k, v in logs.items()
    )


class ProgbarLogger(Callback):
    """verbose=1: a tqdm bar per epoch (loss / metrics, ETA); verbose=2: one line per epoch."""

    def __init__(self, verbose=1):
        super().__init__()
        self.verbose = verbose
        self._bar = None

    def on_epoch_begin(self, epoch, logs=None):
        self._t0 = time.perf_counter()
        epochs = self.params.get("epochs", "?")
        if self.verbose == 1:
            from tqdm.auto import tqdm

            self._bar = tqdm(
                total=self.params.get("steps"),
                desc=f"Epoch {epoch + 1}/{epochs}",
                file=sys.stdout,
                leave=True,
                dynamic_ncols=True,
                initial=self.params.get("initial_step", 0)
                if epoch == self.params.get("initial_epoch")
                else 0,
            )

    def on_train_batch_end(self, batch, logs=None):
        if self._bar is not None:
            self._bar.update(1)
            self._bar.set_postfix_str(_fmt(logs or {}), refresh=False)

    def on_epoch_end(self, epoch, logs=None):
        logs = {k: v for k, v in (logs or {}).items()}
        if self._bar is not None:
            self._bar.set_postfix_str(_fmt(logs), refresh=False)
            self._bar.close()
            self._bar = None
        elif self.verbose == 2:
            dt = time.perf_counter() - self._t0
            print(
                f"Epoch {epoch + 1}/{self.params.get('epochs', '?')} - {dt:.1f}s - {_fmt(logs)}",
                file=sys.stdout,
                flush=True,
            )

    def on_train_end(self, logs=None):
        if self._bar is not None:
            self._bar.close()
            self._bar = None


__all__ = [
    "Callback",
    "History",
    "EarlyStopping",
    "ReduceLROnPlateau",
    "LearningRateScheduler",
    "TerminateOnNaN",
    "CSVLogger",
    "ModelCheckpoint",
    "ProgbarLogger",
    "CallbackList",
]
