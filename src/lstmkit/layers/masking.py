"""Masking(mask_value=0.0), as in Keras: a time step whose every feature equals
``mask_value`` is padding. The layer passes x on with those steps zeroed and starts
the mask (batch, time) = any(x_t ≠ mask_value) that the layers after it honour
(recurrent layers carry their states through masked steps; pooling skips them)."""

from __future__ import annotations

import numpy as np

from .base import Layer, check_input

__all__ = ["Masking"]


class Masking(Layer):
    type_name = "Masking"

    def __init__(self, mask_value: float = 0.0, **kw):
        super().__init__(**kw)
        self.mask_value = float(mask_value)

    def compute_mask(self, mask, x=None):
        if x is None:
            return mask
        return np.any(np.asarray(x) != self.mask_value, axis=-1)  # (B, T)

    def forward(self, x, training=False, mask=None):
        x = check_input(self, x, 3, "batch, time")
        self._ensure_built(x)
        self._keep = np.any(x != self.mask_value, axis=-1, keepdims=True).astype(x.dtype)
        return x * self._keep

    def backward(self, dy):
        return np.asarray(dy, self.dtype) * self._keep

    def get_config(self):
        return {**super().get_config(), "mask_value": self.mask_value}
