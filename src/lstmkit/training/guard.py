"""A step that makes a weight NaN or infinite is undone.

``fit`` already refuses to apply a batch whose loss or gradients are not finite. A
finite gradient can still give non-finite weights — a NaN or infinite learning rate, or
one so large that p − lr·d overflows — so :class:`StepGuard` copies the weights and the
optimizer state before each step and, when a weight is not finite afterwards, puts them
back: "the weights are those from before this batch" holds for every way a step can go
wrong. The copies are preallocated once (one memcpy per buffer and step).
"""

from __future__ import annotations

import math

import numpy as np

__all__ = ["StepGuard", "all_finite"]


def all_finite(buffers: dict) -> bool:
    """Are all values of the {key: flat array} buffers finite? A float64 sum is finite
    exactly when every float32 value is; float64 buffers (or a sum that overflows) get
    the element-wise test."""
    for a in buffers.values():
        if a.dtype == np.float32:
            with np.errstate(invalid="ignore", over="ignore"):
                if math.isfinite(float(np.add.reduce(a, dtype=np.float64))):
                    continue
        if not np.isfinite(a).all():
            return False
    return True


class StepGuard:
    """``save()`` before ``model.apply_gradients()``; then ``ok()`` says whether the new
    weights are finite, and ``restore()`` puts the saved weights and optimizer state back."""

    def __init__(self, model):
        self.model = model
        self._params: dict[str, np.ndarray] = {}
        self._slots: dict = {}
        self._iterations = 0

    def save(self) -> None:
        opt = self.model.optimizer
        for k, a in self.model.buffers.params.items():
            if k not in self._params or self._params[k].shape != a.shape:
                self._params[k] = np.empty_like(a)
            np.copyto(self._params[k], a)
        for s, d in opt.state.items():
            keep = self._slots.setdefault(s, {})
            for k, a in d.items():
                if k not in keep or keep[k].shape != a.shape:
                    keep[k] = np.empty_like(a)
                np.copyto(keep[k], a)
        self._iterations = opt.iterations

    def ok(self) -> bool:
        return all_finite(self.model.buffers.params)

    def restore(self) -> None:
        opt = self.model.optimizer
        for k, a in self.model.buffers.params.items():
            np.copyto(a, self._params[k])
        for s, d in opt.state.items():
            for k, a in d.items():
                np.copyto(a, self._slots[s][k])
        opt.iterations = self._iterations
