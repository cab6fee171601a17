"""Callbacks that watch a logged value or the learning rate: EarlyStopping,
ReduceLROnPlateau, ModelCheckpoint, LearningRateScheduler, TerminateOnNaN."""

from __future__ import annotations

import math
import os
import sys

import numpy as np

from .base import Callback, state_count, state_number


def monitor_mode(monitor, mode):
    """ "min" or "max" for ``monitor`` ("auto": max for accuracies and AUC, as Keras)."""
    if mode not in ("auto", "min", "max"):
        raise ValueError(f"mode must be 'auto', 'min' or 'max', got {mode!r}")
    if mode == "auto":
        mode = "max" if ("acc" in monitor or monitor.endswith("auc")) else "min"
    return mode


class Monitor(Callback):
    """The base of the callbacks that watch one logged value: its mode, min_delta and
    best value so far (kept in their state)."""

    def __init__(self, monitor, mode, min_delta):
        super().__init__()
        self.monitor = monitor
        self.mode = monitor_mode(monitor, mode)
        self.min_delta = abs(float(min_delta))
        self.best = math.inf if self.mode == "min" else -math.inf

    def _best_state(self) -> float | None:
        return self.best if math.isfinite(self.best) else None  # ±inf: nothing seen yet

    def _set_best(self, state) -> None:
        b = state_number(state, "best", optional=True)
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


class EarlyStopping(Monitor):
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
        self.wait = state_count(state, "wait")
        self._set_best(state)
        for k in ("best_epoch", "stopped_epoch"):
            setattr(self, k, None if state.get(k) is None else state_count(state, k))
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


class ReduceLROnPlateau(Monitor):
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
        self.wait = state_count(state, "wait")
        self.cooldown_counter = state_count(state, "cooldown_counter")
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


class ModelCheckpoint(Monitor):
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


__all__ = [
    "monitor_mode",
    "Monitor",
    "EarlyStopping",
    "ReduceLROnPlateau",
    "LearningRateScheduler",
    "TerminateOnNaN",
    "ModelCheckpoint",
]
