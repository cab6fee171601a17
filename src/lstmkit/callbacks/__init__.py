"""Callbacks for ``Sequential.fit``, with Keras' names and hooks (the interface in
:mod:`.base`, the watchers in :mod:`.monitors`, the writers in :mod:`.loggers`).

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

from .base import Callback, CallbackList, History
from .loggers import CSVLogger, ProgbarLogger
from .monitors import (
    EarlyStopping,
    LearningRateScheduler,
    ModelCheckpoint,
    ReduceLROnPlateau,
    TerminateOnNaN,
)

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
