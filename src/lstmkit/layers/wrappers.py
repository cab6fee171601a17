"""TimeDistributed(layer): the same layer applied to every time step.

    y[:, t] = layer(x[:, t])       x (batch, time, …) → y (batch, time, …)

The steps are folded into the batch, (batch·time, …), so the inner layer runs once
per call (for Dense the same numbers as Keras' loop over t; a Dropout inside draws
one mask per step, as Keras does). The mask passes through. The inner layer's
weights are the wrapper's (``params`` / ``grads`` are its lists).
"""

from __future__ import annotations

import numpy as np

from .base import Layer

__all__ = ["TimeDistributed"]


class TimeDistributed(Layer):
    type_name = "TimeDistributed"

    def __init__(self, layer: Layer, **kw):
        if not isinstance(layer, Layer):
            raise TypeError(f"TimeDistributed expected a layer, got {type(layer).__name__}")
        kw.setdefault("name", f"time_distributed_{layer.name}")
        kw.setdefault("dtype", layer.dtype.name)
        super().__init__(**kw)
        self.layer = layer

    # the inner layer's weights are the wrapper's
    @property
    def params(self):
        return self.layer.params

    @params.setter
    def params(self, value):  # set by Layer.__init__ only
        pass

    @property
    def grads(self):
        return self.layer.grads

    @grads.setter
    def grads(self, value):
        pass

    @property
    def param_names(self):
        return self.layer.param_names

    @param_names.setter
    def param_names(self, value):
        pass

    def rebind(self, params, grads):
        self.layer.rebind(params, grads)

    def build(self, input_shape):
        full = super().build(input_shape)
        if len(full) < 3:
            raise ValueError(
                f"TimeDistributed expected an input of at least 3 axes (batch, time, …), got {full}"
            )
        if not self.layer.built:
            self.layer.build((None, *full[2:]))
        return full

    def compute_output_shape(self, input_shape):
        full = self.with_batch(input_shape)
        inner = self.layer.compute_output_shape((None, *full[2:]))
        return self.same_form(input_shape, (full[0], full[1], *inner[1:]))

    def forward(self, x, training=False, mask=None):
        x = np.asarray(x)
        if x.ndim < 3:
            raise ValueError(
                f"TimeDistributed expected input of shape (batch, time, …), got {x.shape}"
            )
        self._ensure_built(x)
        B, T = x.shape[:2]
        inner_mask = None if mask is None else np.asarray(mask).reshape(B * T, *mask.shape[2:])
        y = self.layer.forward(
            x.reshape(B * T, *x.shape[2:]),
            training=training,
            mask=inner_mask if inner_mask is not None and inner_mask.ndim > 1 else None,
        )
        self._BT = (B, T)
        return y.reshape(B, T, *y.shape[1:])

    def backward(self, dy):
        B, T = self._BT
        dy = np.asarray(dy)
        dx = self.layer.backward(dy.reshape(B * T, *dy.shape[2:]))
        return None if dx is None else dx.reshape(B, T, *dx.shape[1:])

    def output_mask(self, inputs, mask):
        return mask

    def named_tensors(self):
        return self.layer.named_tensors()

    def load_named_tensors(self, tensors):
        self.layer.load_named_tensors(tensors)

    def regularization_loss(self):
        return self.layer.regularization_loss()

    def add_regularization_gradients(self):
        self.layer.add_regularization_gradients()

    def apply_constraints(self):
        self.layer.apply_constraints()

    def get_config(self):
        return {
            "name": self.name,
            "layer": {"type": self.layer.type_name, "config": self.layer.get_config()},
            **self.base_config(),
        }

    @classmethod
    def from_config(cls, config: dict, layer_types: dict | None = None):
        """Inverse of get_config; ``layer_types`` is the allow-list for the inner layer."""
        config = dict(config)
        inner = config.pop("layer")
        if isinstance(inner, dict):
            if layer_types is None or inner.get("type") not in layer_types:
                raise ValueError(
                    f"TimeDistributed expected an inner layer type in "
                    f"{sorted(layer_types or {})}, got {inner.get('type')!r}"
                )
            inner = layer_types[inner["type"]].from_config(inner.get("config", {}))
        return cls(inner, **config)
