"""The small layers around a recurrent core: Dense, Activation, Dropout, Embedding.

Activations are Keras' (``activation="gelu"``, "elu", "selu", "softplus", "swish", …;
the list and formulas are in :mod:`lstmkit.core.activations`).
"""

from __future__ import annotations

import numpy as np

from ..core.activations import activation_backward, activation_forward, canonical_activation
from . import initializers
from .base import Layer, constraint_arg, regularizer_arg, shape_from_str, shape_to_str

__all__ = [
    "ACTIVATION_NAMES",
    "act_forward",
    "act_backward",
    "Activation",
    "Dense",
    "Dropout",
    "Embedding",
]

#: the activations lstmkit's Keras-file import (lstmkit.io.keras_interop) maps; the layers
#: here take every name in lstmkit.core.activations.ACTIVATION_NAMES
ACTIVATION_NAMES = ("linear", "relu", "tanh", "sigmoid", "softmax")


def _check_activation(name):
    return canonical_activation(name)


def act_forward(name, z):
    return activation_forward(name, z)


def act_backward(name, a, z, dy):
    """dL/dz from dL/da, where a = act(z)."""
    return activation_backward(name, z, a, dy)


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
    """y = act(x · W + b); x is (batch, features) or (batch, …, features).

    Keras' arguments: ``activation``, ``use_bias``, ``kernel_initializer``
    (glorot_uniform), ``bias_initializer`` (zeros), ``kernel_regularizer``,
    ``bias_regularizer``, ``kernel_constraint``, ``bias_constraint``."""

    type_name = "Dense"

    def __init__(
        self,
        units: int,
        activation=None,
        use_bias: bool = True,
        kernel_initializer="glorot_uniform",
        bias_initializer="zeros",
        kernel_regularizer=None,
        bias_regularizer=None,
        kernel_constraint=None,
        bias_constraint=None,
        lora_rank=None,
        lora_alpha=None,
        **kw,
    ):
        super().__init__(**kw)
        if int(units) != units or units < 1:
            raise ValueError(f"Dense units must be a positive integer, got {units!r}")
        if lora_rank is not None or lora_alpha is not None:
            raise ValueError("Dense: lora_rank is not supported by lstmkit (use None)")
        self.units = int(units)
        self.activation = _check_activation(activation)
        self.use_bias = bool(use_bias)
        self.kernel_initializer = initializers.get(kernel_initializer, "Dense kernel_initializer")
        self.bias_initializer = initializers.get(bias_initializer, "Dense bias_initializer")
        self.kernel_regularizer = regularizer_arg(self, "kernel_regularizer", kernel_regularizer)
        self.bias_regularizer = regularizer_arg(self, "bias_regularizer", bias_regularizer)
        self.kernel_constraint = constraint_arg(self, "kernel_constraint", kernel_constraint)
        self.bias_constraint = constraint_arg(self, "bias_constraint", bias_constraint)

    def build(self, input_shape):
        full = super().build(input_shape)
        D = full[-1]
        if D is None:
            raise ValueError(f"Dense needs a known last axis, got input shape {full}")
        self.add_param(
            "kernel",
            self.kernel_initializer((int(D), self.units), self.rng),
            self.kernel_regularizer,
            self.kernel_constraint,
        )
        if self.use_bias:
            self.add_param(
                "bias",
                self.bias_initializer((self.units,), self.rng),
                self.bias_regularizer,
                self.bias_constraint,
            )
        return full

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
            "kernel_initializer": initializers.config_value(self.kernel_initializer),
            "bias_initializer": initializers.config_value(self.bias_initializer),
            "kernel_regularizer": _spec(self.kernel_regularizer),
            "bias_regularizer": _spec(self.bias_regularizer),
            "kernel_constraint": _spec(self.kernel_constraint),
            "bias_constraint": _spec(self.bias_constraint),
        }


class Dropout(Layer):
    """Inverted dropout: during training, zero a fraction ``rate`` and scale the rest
    by 1/(1−rate)."""

    type_name = "Dropout"

    def __init__(self, rate: float, noise_shape=None, **kw):
        super().__init__(**kw)
        if not 0.0 <= rate < 1.0:
            raise ValueError(f"Dropout rate must be in [0, 1), got {rate!r}")
        self.rate = float(rate)
        # Keras' noise_shape: the mask's shape, None where it takes the input's size
        # (e.g. (None, 1, None): one mask per sequence, shared by every time step)
        noise_shape = shape_from_str(noise_shape)
        self.noise_shape = (
            None
            if noise_shape is None
            else tuple(None if d is None else int(d) for d in noise_shape)
        )

    def forward(self, x, training=False, mask=None):
        x = np.asarray(x, self.dtype)
        self._ensure_built(x)
        if not training or self.rate == 0.0:
            self._keep = None
            return x
        shape = x.shape
        if self.noise_shape is not None:
            if len(self.noise_shape) != x.ndim:
                raise ValueError(
                    f"Dropout noise_shape {tuple(self.noise_shape)} must have one entry per "
                    f"axis of the input {x.shape}"
                )
            shape = tuple(
                s if n is None else n for n, s in zip(self.noise_shape, x.shape, strict=True)
            )
        self._keep = (self.rng.random(shape) >= self.rate).astype(self.dtype) / (1 - self.rate)
        return x * self._keep

    def backward(self, dy):
        return dy if self._keep is None else dy * self._keep

    def get_config(self):
        return {
            **super().get_config(),
            "rate": self.rate,
            "noise_shape": shape_to_str(self.noise_shape),
        }


class Embedding(Layer):
    """Integer ids (batch, time) → vectors (batch, time, output_dim).

    With ``mask_zero=True`` id 0 is padding: the layer emits the mask
    ``ids != 0`` for the recurrent layers after it (input_dim must then count
    the padding id, as in Keras)."""

    type_name = "Embedding"

    def __init__(
        self,
        input_dim: int,
        output_dim: int,
        embeddings_initializer="uniform",
        embeddings_regularizer=None,
        embeddings_constraint=None,
        mask_zero: bool = False,
        weights=None,
        lora_rank=None,
        lora_alpha=None,
        **kw,
    ):
        if "input_length" in kw:
            raise TypeError(
                "Embedding got unexpected argument 'input_length' (Keras 3 has none: give "
                "the sequence length in Input(shape=(T,)) or input_shape=(T,))"
            )
        super().__init__(**kw)
        if lora_rank is not None or lora_alpha is not None:
            raise ValueError("Embedding: lora_rank is not supported by lstmkit (use None)")
        self.input_dim, self.output_dim = int(input_dim), int(output_dim)
        self.mask_zero = bool(mask_zero)
        self.embeddings_initializer = initializers.get(
            embeddings_initializer, "Embedding embeddings_initializer"
        )
        self.embeddings_regularizer = regularizer_arg(
            self, "embeddings_regularizer", embeddings_regularizer
        )
        self.embeddings_constraint = constraint_arg(
            self, "embeddings_constraint", embeddings_constraint
        )
        self._weights = None if weights is None else np.asarray(weights)
        if self._weights is not None:  # Keras: Embedding(…, weights=[matrix]) (pretrained)
            if self._weights.ndim == 3 and len(self._weights) == 1:
                self._weights = self._weights[0]
            if self._weights.shape != (self.input_dim, self.output_dim):
                raise ValueError(
                    f"Embedding weights= expected shape {(self.input_dim, self.output_dim)}, "
                    f"got {self._weights.shape}"
                )

    def build(self, input_shape):
        full = super().build(input_shape)
        value = self._weights
        if value is None:
            value = self.embeddings_initializer((self.input_dim, self.output_dim), self.rng)
        self.add_param("embeddings", value, self.embeddings_regularizer, self.embeddings_constraint)
        return full

    def compute_output_shape(self, input_shape):
        return tuple(input_shape) + (self.output_dim,)

    def output_mask(self, inputs, mask):
        if not self.mask_zero or inputs is None:
            return mask
        return np.asarray(inputs) != 0

    def forward(self, x, training=False, mask=None):
        ids = np.asarray(x)
        if not self.built:
            self.build((None, *ids.shape[1:]))
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
            "embeddings_initializer": initializers.config_value(self.embeddings_initializer),
            "embeddings_regularizer": _spec(self.embeddings_regularizer),
            "embeddings_constraint": _spec(self.embeddings_constraint),
        }


def _spec(obj):
    return None if obj is None else repr(obj)
