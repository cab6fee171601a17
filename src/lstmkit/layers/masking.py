"""Masking(mask_value=0.0), as in Keras: a time step whose every feature equals
``mask_value`` is padding.

    mask[b, t] = any_c(x[b, t, c] ≠ mask_value)        y = x ⊙ mask

The layer passes x on with those steps zeroed and starts the mask (batch, time) that
the layers after it honour (recurrent layers carry their states through masked steps;
GlobalAveragePooling1D skips them)."""

from __future__ import annotations

import numpy as np

from .base import Layer

__all__ = ["Masking"]


class Masking(Layer):
    type_name = "Masking"

    def __init__(self, mask_value=0.0, **kw):
        super().__init__(**kw)
        self.mask_value = float(mask_value)

    def _keep(self, x):
        return np.any(x != self.mask_value, axis=-1)  # (batch, time)

    def forward(self, x, training=False, mask=None):
        x = np.asarray(x, self.dtype)
        self._ensure_built(x)
        self._m = self._keep(x)[..., None].astype(self.dtype)
        return x * self._m

    def backward(self, dy):
        return dy * self._m

    def output_mask(self, inputs, mask):
        return None if inputs is None else self._keep(np.asarray(inputs))

    def get_config(self):
        return {**super().get_config(), "mask_value": self.mask_value}
