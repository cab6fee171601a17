"""LayerNormalization (Ba et al. 2016) with Keras' arguments and defaults (ε = 1e-3).

Over the axes A (Keras' ``axis``, default −1; the batch is axis 0), with N = ∏ sizes:

    μ = mean_A(x)   σ² = var_A(x)   x̂ = (x − μ) / √(σ² + ε)   y = γ ⊙ x̂ + β
    dx̂ = dy ⊙ γ    dx = (dx̂ − mean_A(dx̂) − x̂ ⊙ mean_A(dx̂ ⊙ x̂)) / √(σ² + ε)
    dγ = Σ_rest dy ⊙ x̂     dβ = Σ_rest dy

``rms_scaling=True`` is Keras' form: y = γ ⊙ x / √(σ² + ε) (no centring, no β).
The mask passes through unchanged.
"""

from __future__ import annotations

import numpy as np

from . import initializers
from .base import Layer, constraint_arg, regularizer_arg

__all__ = ["LayerNormalization"]


class LayerNormalization(Layer):
    type_name = "LayerNormalization"

    def __init__(
        self,
        axis=-1,
        epsilon=1e-3,
        center=True,
        scale=True,
        beta_initializer="zeros",
        gamma_initializer="ones",
        beta_regularizer=None,
        gamma_regularizer=None,
        beta_constraint=None,
        gamma_constraint=None,
        rms_scaling=False,
        **kw,
    ):
        super().__init__(**kw)
        axes = [axis] if isinstance(axis, int) else [int(a) for a in _axes_from(axis)]
        if 0 in axes:
            raise ValueError("LayerNormalization over the batch axis (axis=0) is not supported")
        self.axis = axes
        self.epsilon = float(epsilon)
        self.center, self.scale = bool(center), bool(scale)
        self.rms_scaling = bool(rms_scaling)
        self.beta_initializer = initializers.get(beta_initializer, "beta_initializer")
        self.gamma_initializer = initializers.get(gamma_initializer, "gamma_initializer")
        self.beta_regularizer = regularizer_arg(self, "beta_regularizer", beta_regularizer)
        self.gamma_regularizer = regularizer_arg(self, "gamma_regularizer", gamma_regularizer)
        self.beta_constraint = constraint_arg(self, "beta_constraint", beta_constraint)
        self.gamma_constraint = constraint_arg(self, "gamma_constraint", gamma_constraint)

    def build(self, input_shape):
        full = super().build(input_shape)
        nd = len(full)
        self.norm_axes = sorted(a % nd for a in self.axis)
        shape = tuple(full[a] for a in self.norm_axes)
        if any(d is None for d in shape):
            raise ValueError(f"LayerNormalization needs known sizes on axis {self.axis}: {full}")
        self.broadcast_shape = tuple(full[a] if a in self.norm_axes else 1 for a in range(nd))[1:]
        if self.scale or self.rms_scaling:
            self.add_param(
                "gamma",
                self.gamma_initializer(shape, self.rng),
                self.gamma_regularizer,
                self.gamma_constraint,
            )
        if self.center and not self.rms_scaling:
            self.add_param(
                "beta",
                self.beta_initializer(shape, self.rng),
                self.beta_regularizer,
                self.beta_constraint,
            )
        return full

    def _gamma_beta(self):
        k, g, b = 0, None, None
        if self.scale or self.rms_scaling:
            g, k = self.params[0].reshape(self.broadcast_shape), 1
        if self.center and not self.rms_scaling:
            b = self.params[k].reshape(self.broadcast_shape)
        return g, b

    def forward(self, x, training=False, mask=None):
        x = np.asarray(x, self.dtype)
        self._ensure_built(x)
        ax = tuple(self.norm_axes)
        var = x.var(axis=ax, keepdims=True)
        inv = 1.0 / np.sqrt(var + self.epsilon)  # 1/√(σ² + ε)
        xh = x * inv if self.rms_scaling else (x - x.mean(axis=ax, keepdims=True)) * inv
        g, b = self._gamma_beta()
        y = xh if g is None else xh * g
        if b is not None:
            y = y + b
        self._cache = (x, xh, inv)
        return y.astype(self.dtype, copy=False)

    def backward(self, dy):
        x, xh, inv = self._cache
        ax = tuple(self.norm_axes)
        rest = tuple(a for a in range(x.ndim) if a not in ax)
        g, b = self._gamma_beta()
        dy = np.asarray(dy, self.dtype)
        k = 0
        if g is not None:
            self.grads[0][...] = (dy * xh).sum(axis=rest).reshape(self.grads[0].shape)
            k = 1
        if b is not None:
            self.grads[k][...] = dy.sum(axis=rest).reshape(self.grads[k].shape)
        dxh = dy if g is None else dy * g
        if self.rms_scaling:  # y = γ·x·(σ² + ε)^(−½)
            xc = x - x.mean(axis=ax, keepdims=True)
            n = np.prod([x.shape[a] for a in ax])
            dvar = (dxh * x).sum(axis=ax, keepdims=True) * (-0.5) * inv**3
            return dxh * inv + dvar * 2.0 * xc / n
        m1 = dxh.mean(axis=ax, keepdims=True)
        m2 = (dxh * xh).mean(axis=ax, keepdims=True)
        return (dxh - m1 - xh * m2) * inv

    def get_config(self):
        return {
            **super().get_config(),
            "axis": " ".join(map(str, self.axis)),
            "epsilon": self.epsilon,
            "center": self.center,
            "scale": self.scale,
            "rms_scaling": self.rms_scaling,
            "beta_initializer": initializers.config_value(self.beta_initializer),
            "gamma_initializer": initializers.config_value(self.gamma_initializer),
            "beta_regularizer": None
            if self.beta_regularizer is None
            else repr(self.beta_regularizer),
            "gamma_regularizer": None
            if self.gamma_regularizer is None
            else repr(self.gamma_regularizer),
            "beta_constraint": None if self.beta_constraint is None else repr(self.beta_constraint),
            "gamma_constraint": None
            if self.gamma_constraint is None
            else repr(self.gamma_constraint),
        }


def _axes_from(axis):
    if isinstance(axis, str):
        return [int(a) for a in axis.split()]
    return list(axis)
