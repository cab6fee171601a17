"""The callback interface (Keras' hooks), the list that calls them, History, and the
checkers the callbacks' ``set_state`` share. See :mod:`lstmkit.callbacks`."""

from __future__ import annotations

import math
from typing import Any


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


def state_count(state, key) -> int:
    """state[key] as a count (an int in 0 … 2⁴⁰), else ValueError naming it."""
    v = state.get(key)
    if type(v) is not int or not 0 <= v < 2**40:
        raise ValueError(f"{key} = {str(v)[:40]} is not a count")
    return v


def state_number(state, key, optional=False):
    """state[key] as a finite float (None allowed if optional), else ValueError."""
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


__all__ = ["Callback", "CallbackList", "History", "state_count", "state_number"]
