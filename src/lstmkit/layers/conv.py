"""Conv1D: a 1-D convolution over the time axis (channels last, as Keras' default).

    y[b, t, o] = act( Σ_{j<k} Σ_c x̃[b, t·s + j·d, c] · W[j, c, o] + bias[o] )   W (k, C/groups, F)

x̃ is x padded with zeros as Keras: "valid" (none), "same" (output length ⌈L/s⌉; the
odd zero goes at the end), "causal" ((k−1)·d zeros in front, so y[t] sees x[≤ t]).
The windows are gathered with one index array, so forward and backward are a GEMM
each (per group). The window helpers here are shared with the pooling layers.

Masks: Keras' Conv1D drops an incoming mask, and so does this one by default.
``keep_mask=True`` (an lstmkit extension, not a Keras argument) passes the mask on
unchanged; it needs an output as long as the input (padding "same" or "causal",
strides 1). The classify recipe uses it: Masking → Conv1D → LSTM keeps padded steps
out of the LSTM's states.
"""

from __future__ import annotations

import numpy as np

from ..core.activations import activation_backward, activation_forward, canonical_activation
from . import initializers
from .base import Layer, constraint_arg, regularizer_arg

PADDINGS = ("valid", "same", "causal")


__all__ = [
    "Conv1D",
    "check_channels_last",
    "positive_int",
    "window_pads",
    "window_count",
    "window_index",
]


def check_channels_last(layer, data_format) -> None:
    """Refuse any data_format but channels_last (naming the layer)."""
    if data_format not in (None, "channels_last"):
        raise ValueError(
            f"{type(layer).__name__}: data_format={data_format!r} is not supported by lstmkit "
            f"(channels_last: (batch, time, channels))"
        )


def positive_int(layer, what, v) -> int:
    """v (or a one-entry tuple of it, as Keras allows) as a positive int."""
    if isinstance(v, (tuple, list)):
        if len(v) != 1:
            raise ValueError(f"{type(layer).__name__} {what} must be one integer, got {v!r}")
        v = v[0]
    if int(v) != v or v < 1:
        raise ValueError(f"{type(layer).__name__} {what} must be a positive integer, got {v!r}")
    return int(v)


def window_pads(L: int, k: int, s: int, d: int, padding: str) -> tuple[int, int]:
    """(left, right) zero padding for a window of k taps, stride s, dilation d."""
    eff = (k - 1) * d + 1
    if padding == "valid":
        return 0, 0
    if padding == "causal":
        return eff - 1, 0
    total = eff - 1 if s == 1 else max(0, (-(-L // s) - 1) * s + eff - L)
    return total // 2, total - total // 2


def window_count(L, k: int, s: int, d: int, padding: str):
    """Windows (output steps) over L steps; None for an unknown length."""
    if L is None:
        return None
    left, right = window_pads(L, k, s, d, padding)
    n = (L + left + right - ((k - 1) * d + 1)) // s + 1
    return max(n, 0)


def window_index(L_out: int, k: int, s: int, d: int) -> np.ndarray:
    """(L_out, k) positions in the padded input read by each output step."""
    return np.arange(L_out)[:, None] * s + np.arange(k)[None, :] * d  # (L_out, k)


class Conv1D(Layer):
    type_name = "Conv1D"
    input_ndim = 2
    supports_masking = False

    def __init__(
        self,
        filters: int,
        kernel_size,
        strides=1,
        padding="valid",
        data_format=None,
        dilation_rate=1,
        groups=1,
        activation=None,
        use_bias=True,
        kernel_initializer="glorot_uniform",
        bias_initializer="zeros",
        kernel_regularizer=None,
        bias_regularizer=None,
        kernel_constraint=None,
        bias_constraint=None,
        keep_mask: bool = False,
        **kw,
    ):
        super().__init__(**kw)
        check_channels_last(self, data_format)
        self.filters = positive_int(self, "filters", filters)
        self.kernel_size = positive_int(self, "kernel_size", kernel_size)
        self.strides = positive_int(self, "strides", strides)
        self.dilation_rate = positive_int(self, "dilation_rate", dilation_rate)
        self.groups = positive_int(self, "groups", groups)
        self.padding = str(padding).lower()
        if self.padding not in PADDINGS:
            raise ValueError(f"Conv1D padding must be one of {PADDINGS}, got {padding!r}")
        if self.strides > 1 and self.dilation_rate > 1:
            raise ValueError("Conv1D: strides > 1 with dilation_rate > 1 is not allowed (Keras)")
        if self.filters % self.groups:
            raise ValueError(f"Conv1D filters ({filters}) must be divisible by groups ({groups})")
        self.activation = canonical_activation(activation)
        self.use_bias = bool(use_bias)
        self.kernel_initializer = initializers.get(kernel_initializer, "Conv1D kernel_initializer")
        self.bias_initializer = initializers.get(bias_initializer, "Conv1D bias_initializer")
        self.kernel_regularizer = regularizer_arg(self, "kernel_regularizer", kernel_regularizer)
        self.bias_regularizer = regularizer_arg(self, "bias_regularizer", bias_regularizer)
        self.kernel_constraint = constraint_arg(self, "kernel_constraint", kernel_constraint)
        self.bias_constraint = constraint_arg(self, "bias_constraint", bias_constraint)
        self.keep_mask = bool(keep_mask)
        if self.keep_mask and (self.padding == "valid" or self.strides != 1):
            raise ValueError(
                f"Conv1D keep_mask=True needs an output as long as the input (padding 'same' "
                f"or 'causal', strides 1), got padding={self.padding!r}, strides={self.strides}"
            )

    def build(self, input_shape):
        full = super().build(input_shape)
        C = full[-1]
        if C is None or C % self.groups:
            raise ValueError(
                f"Conv1D needs input channels divisible by groups={self.groups}, got {full}"
            )
        shape = (self.kernel_size, C // self.groups, self.filters)
        self.add_param(
            "kernel",
            self.kernel_initializer(shape, self.rng),
            self.kernel_regularizer,
            self.kernel_constraint,
        )
        if self.use_bias:
            self.add_param(
                "bias",
                self.bias_initializer((self.filters,), self.rng),
                self.bias_regularizer,
                self.bias_constraint,
            )
        return full

    def output_mask(self, inputs, mask):
        return mask if self.keep_mask else None  # Keras drops it; keep_mask passes it on

    def compute_output_shape(self, input_shape):
        B, L, _ = self.with_batch(input_shape)
        k, s, d = self.kernel_size, self.strides, self.dilation_rate
        return self.same_form(
            input_shape, (B, window_count(L, k, s, d, self.padding), self.filters)
        )

    def forward(self, x, training=False, mask=None):
        x = np.asarray(x, self.dtype)
        if x.ndim != 3:
            raise ValueError(
                f"Conv1D expected input of shape (batch, time, channels), got {x.shape}"
            )
        self._ensure_built(x)
        B, L, C = x.shape
        k, s, d, g = self.kernel_size, self.strides, self.dilation_rate, self.groups
        left, right = window_pads(L, k, s, d, self.padding)
        xp = np.pad(x, ((0, 0), (left, right), (0, 0)))  # (B, L + pads, C)
        L_out = window_count(L, k, s, d, self.padding)
        if L_out < 1:
            raise ValueError(
                f"Conv1D with kernel_size {k} (dilation {d}) expected at least "
                f"{(k - 1) * d + 1} time steps with padding={self.padding!r}, got {L}"
            )
        idx = window_index(L_out, k, s, d)
        cols = xp[:, idx, :]  # (B, L_out, k, C)
        Cg, Fg = C // g, self.filters // g
        W = self.params[0]  # (k, C/g, F)
        z = np.empty((B, L_out, self.filters), self.dtype)
        for j in range(g):  # z_g = cols_g · W_g
            cg = cols[..., j * Cg : (j + 1) * Cg].reshape(B * L_out, k * Cg)
            Wg = W[:, :, j * Fg : (j + 1) * Fg].reshape(k * Cg, Fg)
            z[..., j * Fg : (j + 1) * Fg] = (cg @ Wg).reshape(B, L_out, Fg)
        if self.use_bias:
            z += self.params[1]
        a = activation_forward(self.activation, z)
        self._cache = (cols, idx, xp.shape, left, L, z, a)
        return a

    def backward(self, dy):
        cols, idx, xp_shape, left, L, z, a = self._cache
        dz = activation_backward(self.activation, z, a, np.asarray(dy, self.dtype))
        B, L_out, k, C = cols.shape
        g = self.groups
        Cg, Fg = C // g, self.filters // g
        W = self.params[0]
        dcols = np.empty_like(cols)
        for j in range(g):
            cg = cols[..., j * Cg : (j + 1) * Cg].reshape(B * L_out, k * Cg)
            dzg = dz[..., j * Fg : (j + 1) * Fg].reshape(B * L_out, Fg)
            self.grads[0][:, :, j * Fg : (j + 1) * Fg] = (cg.T @ dzg).reshape(k, Cg, Fg)
            Wg = W[:, :, j * Fg : (j + 1) * Fg].reshape(k * Cg, Fg)
            dcols[..., j * Cg : (j + 1) * Cg] = (dzg @ Wg.T).reshape(B, L_out, k, Cg)
        if self.use_bias:
            self.grads[1][...] = dz.sum(axis=(0, 1))
        dxp = np.zeros(xp_shape, self.dtype)
        # scatter the windows back (numpy's stub types a tuple index too narrowly)
        np.add.at(dxp, (slice(None), idx), dcols)  # type: ignore[arg-type]
        return dxp[:, left : left + L]

    def get_config(self):
        return {
            **super().get_config(),
            "filters": self.filters,
            "kernel_size": self.kernel_size,
            "strides": self.strides,
            "padding": self.padding,
            "dilation_rate": self.dilation_rate,
            "groups": self.groups,
            "activation": self.activation,
            "use_bias": self.use_bias,
            "kernel_initializer": initializers.config_value(self.kernel_initializer),
            "bias_initializer": initializers.config_value(self.bias_initializer),
            "kernel_regularizer": _spec(self.kernel_regularizer),
            "bias_regularizer": _spec(self.bias_regularizer),
            "kernel_constraint": _spec(self.kernel_constraint),
            "bias_constraint": _spec(self.bias_constraint),
            "keep_mask": self.keep_mask,
        }


def _spec(obj):
    return None if obj is None else repr(obj)
