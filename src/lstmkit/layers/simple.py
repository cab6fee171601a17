"""The small layers around a recurrent core: Dense, Activation, Dropout, Embedding."""

from __future__ import annotations

import numpy as np

from ..core.activations import sigmoid, softmax
from .base import Layer

ACTIVATION_NAMES = ("linear", "relu", "tanh", "sigmoid", "softmax")


def _check_activation(name):
    name = "linear" if name is None else name
    if name not in ACTIVATION_NAMES:
        raise ValueError(f"activation must be one of {ACTIVATION_NAMES}, got {name!r}")
    return name


def act_forward(name, z):
    if name == "linear":
        return z
    if name == "relu":
        return np.maximum(z, 0)
    if name == "tanh":
        return np.tanh(z)
    if name == "sigmoid":
        return sigmoid(z)
    return softmax(z, axis=-1)


def act_backward(name, a, z, dy):
    """dL/dz from dL/da, where a = act(z)."""
    if name == "linear":
        return dy
    if name == "relu":
        return dy * (z > 0)
    if name == "tanh":
        return dy * (1 - a * a)
    if name == "sigmoid":
        return dy * a * (1 - a)
    # softmax: dz = a ⊙ (dy − Σ dy ⊙ a)
    return a * (dy - (dy * a).sum(axis=-1, keepdims=True))


class Activation(Layer):
    type_name = "Activation"

    def __init__(self, activation, **kw):
        super().__init__(**kw)
        self.activation = _check_activation(activation)

    def forward(self, x, training=False, mask=None):
        self._ensure_built(np.asarray(x))
        self._z = np.asarray(x, self.dtype)
        self._a = act_forward(self.activation, self._z)
        return self._a

    @property
    def logits(self) -> np.ndarray:
        """The input of the last forward, before the activation."""
        return self._z

    def backward(self, dy):
        return act_backward(self.activation, self._a, self._z, dy)

    def backward_from_logits(self, dz):
        """backward given ∂L/∂z (the activation's derivative already applied)."""
        return dz

    def get_config(self):
        return {**super().get_config(), "activation": self.activation}


class Dense(Layer):
    """y = act(x · W + b); x is (batch, features) or (batch, time, features)."""

    type_name = "Dense"

    def __init__(self, units: int, activation=None, use_bias: bool = True, **kw):
        super().__init__(**kw)
        if int(units) != units or units < 1:
            raise ValueError(f"Dense units must be a positive integer, got {units!r}")
        self.units = int(units)
        self.activation = _check_activation(activation)
        self.use_bias = use_bias

    def build(self, input_shape):
        super().build(input_shape)
        D = int(input_shape[-1])
        limit = np.sqrt(6.0 / (D + self.units))  # glorot uniform, as Keras
        self._add_param("kernel", self.rng.uniform(-limit, limit, (D, self.units)))
        if self.use_bias:
            self._add_param("bias", np.zeros(self.units))

    def compute_output_shape(self, input_shape):
        return tuple(input_shape[:-1]) + (self.units,)

    def forward(self, x, training=False, mask=None):
        x = np.asarray(x)
        self._ensure_built(x)
        assert self.input_shape is not None  # set by _ensure_built
        if x.ndim < 2 or x.shape[-1] != self.input_shape[-1]:
            raise ValueError(
                f"Dense expected input of shape (batch, ..., {self.input_shape[-1]}), "
                f"got {tuple(x.shape)}"
            )
        self._x = x.astype(self.dtype, copy=False)
        z = self._x @ self.params[0]
        if self.use_bias:
            z += self.params[1]
        self._z = z
        self._a = act_forward(self.activation, z)
        return self._a

    @property
    def logits(self) -> np.ndarray:
        """z = x · W + b of the last forward, before the activation."""
        return self._z

    def backward(self, dy):
        return self.backward_from_logits(act_backward(self.activation, self._a, self._z, dy))

    def backward_from_logits(self, dz):
        """backward given ∂L/∂z (the activation's derivative already applied): what a
        softmax output trained with cross-entropy uses, ∂L/∂z = softmax(z) − y."""
        D = self._x.shape[-1]
        x2 = self._x.reshape(-1, D)
        dz2 = dz.reshape(-1, self.units)
        np.matmul(x2.T, dz2, out=self.grads[0])
        if self.use_bias:
            np.sum(dz2, axis=0, out=self.grads[1])
        return dz @ self.params[0].T

    def get_config(self):
        return {
            **super().get_config(),
            "units": self.units,
            "activation": self.activation,
            "use_bias": self.use_bias,
        }


class Dropout(Layer):
    """Inverted dropout: during training, zero a fraction ``rate`` and scale the rest
    by 1/(1−rate)."""

    type_name = "Dropout"

    def __init__(self, rate: float, **kw):
        super().__init__(**kw)
        if not 0.0 <= rate < 1.0:
            raise ValueError(f"Dropout rate must be in [0, 1), got {rate!r}")
        self.rate = float(rate)

    def forward(self, x, training=False, mask=None):
        x = np.asarray(x, self.dtype)
        self._ensure_built(x)
        if not training or self.rate == 0.0:
            self._keep = None
            return x
        self._keep = (self.rng.random(x.shape) >= self.rate).astype(self.dtype) / (1 - self.rate)
        return x * self._keep

    def backward(self, dy):
        return dy if self._keep is None else dy * self._keep

    def get_config(self):
        return {**super().get_config(), "rate": self.rate}


class Embedding(Layer):
    """Integer ids (batch, time) → vectors (batch, time, output_dim).

    With ``mask_zero=True`` id 0 is padding: the layer emits the mask
    ``ids != 0`` for the recurrent layers after it (input_dim must then count
    the padding id, as in Keras)."""

    type_name = "Embedding"

    def __init__(self, input_dim: int, output_dim: int, mask_zero: bool = False, **kw):
        super().__init__(**kw)
        self.input_dim, self.output_dim = int(input_dim), int(output_dim)
        self.mask_zero = bool(mask_zero)

    def build(self, input_shape):
        super().build(input_shape)
        self._add_param(
            "embeddings", self.rng.uniform(-0.05, 0.05, (self.input_dim, self.output_dim))
        )

    def compute_output_shape(self, input_shape):
        return tuple(input_shape) + (self.output_dim,)

    def compute_mask(self, mask, x=None):
        if not self.mask_zero or x is None:
            return mask
        return np.asarray(x) != 0

    def forward(self, x, training=False, mask=None):
        ids = np.asarray(x)
        if not self.built:
            self.build(ids.shape[1:])
        if ids.dtype.kind == "f":
            if not np.all(np.isfinite(ids)) or np.any(ids != np.round(ids)):
                raise ValueError("Embedding expected integer ids, got non-integer values")
            ids = ids.astype(np.int64)
        if ids.dtype.kind not in "iu":
            raise TypeError(f"Embedding expected integer ids, got dtype {ids.dtype}")
        if ids.size and (ids.min() < 0 or ids.max() >= self.input_dim):
            raise ValueError(
                f"Embedding expected ids in [0, {self.input_dim}), "
                f"got values in [{ids.min()}, {ids.max()}]"
            )
        self._ids = ids
        return self.params[0][ids]

    def backward(self, dy):
        g = self.grads[0]
        g.fill(0)
        np.add.at(g, self._ids.reshape(-1), dy.reshape(-1, self.output_dim))
        return None  # no gradient flows into integer ids

    def get_config(self):
        return {
            **super().get_config(),
            "input_dim": self.input_dim,
            "output_dim": self.output_dim,
            "mask_zero": self.mask_zero,
        }
