"""Shape layers around sequences: RepeatVector, Flatten, Reshape, Permute (Masking is
in masking.py).

RepeatVector(n)           (batch, D) → (batch, n, D)         the encoder–decoder bridge
Flatten()                 (batch, …) → (batch, ∏…)
Reshape(target_shape)     (batch, …) → (batch, *target_shape); one entry may be −1
Permute(dims)             permutes the non-batch axes (1-based, as Keras)
"""

from __future__ import annotations

import math

import numpy as np

from .base import Layer, shape_from_str, shape_to_str

__all__ = ["RepeatVector", "Flatten", "Reshape", "Permute"]


class RepeatVector(Layer):
    type_name = "RepeatVector"
    input_ndim = 1
    supports_masking = False

    def __init__(self, n: int, **kw):
        super().__init__(**kw)
        if int(n) != n or n < 1:
            raise ValueError(f"RepeatVector n must be a positive integer, got {n!r}")
        self.n = int(n)

    def compute_output_shape(self, input_shape):
        B, D = self.with_batch(input_shape)
        return self.same_form(input_shape, (B, self.n, D))

    def forward(self, x, training=False, mask=None):
        x = np.asarray(x, self.dtype)
        if x.ndim != 2:
            raise ValueError(
                f"RepeatVector expected input of shape (batch, features), got {x.shape}"
            )
        self._ensure_built(x)
        return np.repeat(x[:, None, :], self.n, axis=1)  # (batch, n, D)

    def backward(self, dy):
        return dy.sum(axis=1)

    def get_config(self):
        return {**super().get_config(), "n": self.n}


class Flatten(Layer):
    type_name = "Flatten"
    supports_masking = False

    def __init__(self, data_format=None, **kw):
        super().__init__(**kw)
        if data_format not in (None, "channels_last"):
            raise ValueError(f"Flatten: data_format={data_format!r} is not supported")

    def compute_output_shape(self, input_shape):
        full = self.with_batch(input_shape)
        rest = full[1:]
        n = None if any(d is None for d in rest) else math.prod(rest)
        return self.same_form(input_shape, (full[0], n))

    def forward(self, x, training=False, mask=None):
        x = np.asarray(x, self.dtype)
        self._ensure_built(x)
        self._shape = x.shape
        return x.reshape(len(x), -1)

    def backward(self, dy):
        return dy.reshape(self._shape)


class Reshape(Layer):
    type_name = "Reshape"
    supports_masking = False

    def __init__(self, target_shape, **kw):
        super().__init__(**kw)
        self.target_shape = tuple(int(d) for d in shape_from_str(target_shape))
        if sum(d == -1 for d in self.target_shape) > 1 or any(
            d < 1 and d != -1 for d in self.target_shape
        ):
            raise ValueError(f"Reshape target_shape {self.target_shape}: sizes ≥ 1, at most one −1")

    def _resolve(self, rest):
        if -1 not in self.target_shape:
            return self.target_shape
        if any(d is None for d in rest):
            return tuple(None if d == -1 else d for d in self.target_shape)
        known = math.prod(d for d in self.target_shape if d != -1)
        return tuple(math.prod(rest) // known if d == -1 else d for d in self.target_shape)

    def compute_output_shape(self, input_shape):
        full = self.with_batch(input_shape)
        return self.same_form(input_shape, (full[0], *self._resolve(full[1:])))

    def forward(self, x, training=False, mask=None):
        x = np.asarray(x, self.dtype)
        self._ensure_built(x)
        self._shape = x.shape
        try:
            return x.reshape(len(x), *self.target_shape)
        except ValueError:
            raise ValueError(
                f"Reshape cannot reshape {x.shape[1:]} (batch excluded) to {self.target_shape}"
            ) from None

    def backward(self, dy):
        return dy.reshape(self._shape)

    def get_config(self):
        return {**super().get_config(), "target_shape": shape_to_str(self.target_shape)}


class Permute(Layer):
    type_name = "Permute"
    supports_masking = False

    def __init__(self, dims, **kw):
        super().__init__(**kw)
        self.dims = tuple(int(d) for d in shape_from_str(dims))
        if sorted(self.dims) != list(range(1, len(self.dims) + 1)):
            raise ValueError(f"Permute dims must be a permutation of 1..n, got {self.dims}")

    def compute_output_shape(self, input_shape):
        full = self.with_batch(input_shape)
        return self.same_form(input_shape, (full[0], *(full[d] for d in self.dims)))

    def forward(self, x, training=False, mask=None):
        x = np.asarray(x, self.dtype)
        self._ensure_built(x)
        return x.transpose(0, *self.dims)

    def backward(self, dy):
        return dy.transpose(0, *(int(k) + 1 for k in np.argsort(self.dims)))

    def get_config(self):
        return {**super().get_config(), "dims": shape_to_str(self.dims)}
