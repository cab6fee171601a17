"""1-D convolution and pooling over the time axis (channels last, as Keras' default).

    Conv1D(filters, kernel_size)   y[t] = act(Σ_j x[t·s + j·d] · W[j] + b)      W (k, C/groups, F)
    MaxPooling1D / AveragePooling1D(pool_size=2, strides=pool_size)
    GlobalAveragePooling1D         mean over time (masked steps left out)
    GlobalMaxPooling1D             max over time (Keras ignores a mask here, and so do we)

Padding as Keras: "valid" (none), "same" (output length ⌈L/s⌉; the extra zero goes at
the end), "causal" (Conv1D: (k−1)·d zeros in front, so y[t] sees x[≤ t]). A window is
gathered with one index array, so forward and backward are a GEMM each.
Conv and pooling layers drop an incoming mask, as Keras does.
"""

from __future__ import annotations

import numpy as np

from ..core.activations import activation_backward, activation_forward, canonical_activation
from . import initializers
from .base import Layer, constraint_arg, regularizer_arg

PADDINGS = ("valid", "same", "causal")


def _channels_last(layer, data_format):
    if data_format not in (None, "channels_last"):
        raise ValueError(
            f"{type(layer).__name__}: data_format={data_format!r} is not supported by lstmkit "
            f"(channels_last: (batch, time, channels))"
        )


def _positive(layer, what, v) -> int:
    if isinstance(v, (tuple, list)):
        if len(v) != 1:
            raise ValueError(f"{type(layer).__name__} {what} must be one integer, got {v!r}")
        v = v[0]
    if int(v) != v or v < 1:
        raise ValueError(f"{type(layer).__name__} {what} must be a positive integer, got {v!r}")
    return int(v)


def _pads(L, k, s, d, padding):
    """(left, right) zero padding for a window of k taps, stride s, dilation d."""
    eff = (k - 1) * d + 1
    if padding == "valid":
        return 0, 0
    if padding == "causal":
        return eff - 1, 0
    total = eff - 1 if s == 1 else max(0, (-(-L // s) - 1) * s + eff - L)
    return total // 2, total - total // 2


def _out_len(L, k, s, d, padding):
    if L is None:
        return None
    left, right = _pads(L, k, s, d, padding)
    n = (L + left + right - ((k - 1) * d + 1)) // s + 1
    return max(n, 0)


def _windows(L_out, k, s, d):
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
        **kw,
    ):
        super().__init__(**kw)
        _channels_last(self, data_format)
        self.filters = _positive(self, "filters", filters)
        self.kernel_size = _positive(self, "kernel_size", kernel_size)
        self.strides = _positive(self, "strides", strides)
        self.dilation_rate = _positive(self, "dilation_rate", dilation_rate)
        self.groups = _positive(self, "groups", groups)
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

    def compute_output_shape(self, input_shape):
        B, L, _ = self.with_batch(input_shape)
        k, s, d = self.kernel_size, self.strides, self.dilation_rate
        return self.same_form(input_shape, (B, _out_len(L, k, s, d, self.padding), self.filters))

    def forward(self, x, training=False, mask=None):
        x = np.asarray(x, self.dtype)
        if x.ndim != 3:
            raise ValueError(
                f"Conv1D expected input of shape (batch, time, channels), got {x.shape}"
            )
        self._ensure_built(x)
        B, L, C = x.shape
        k, s, d, g = self.kernel_size, self.strides, self.dilation_rate, self.groups
        left, right = _pads(L, k, s, d, self.padding)
        xp = np.pad(x, ((0, 0), (left, right), (0, 0)))  # (B, L + pads, C)
        L_out = _out_len(L, k, s, d, self.padding)
        if L_out < 1:
            raise ValueError(f"Conv1D: the input of length {L} is shorter than the kernel")
        idx = _windows(L_out, k, s, d)
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
        np.add.at(dxp, (slice(None), idx), dcols)  # scatter the windows back
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
        }


def _spec(obj):
    return None if obj is None else repr(obj)


class _Pooling1D(Layer):
    input_ndim = 2
    supports_masking = False

    def __init__(self, pool_size=2, strides=None, padding="valid", data_format=None, **kw):
        super().__init__(**kw)
        _channels_last(self, data_format)
        self.pool_size = _positive(self, "pool_size", pool_size)
        self.strides = self.pool_size if strides is None else _positive(self, "strides", strides)
        self.padding = str(padding).lower()
        if self.padding not in ("valid", "same"):
            raise ValueError(
                f"{type(self).__name__} padding must be 'valid' or 'same', got {padding!r}"
            )

    def compute_output_shape(self, input_shape):
        B, L, C = self.with_batch(input_shape)
        n = _out_len(L, self.pool_size, self.strides, 1, self.padding)
        return self.same_form(input_shape, (B, n, C))

    def _gather(self, x):
        x = np.asarray(x, self.dtype)
        if x.ndim != 3:
            raise ValueError(
                f"{type(self).__name__} expected input of shape (batch, time, channels), "
                f"got {x.shape}"
            )
        self._ensure_built(x)
        B, L, C = x.shape
        k, s = self.pool_size, self.strides
        left, right = _pads(L, k, s, 1, self.padding)
        L_out = _out_len(L, k, s, 1, self.padding)
        if L_out < 1:
            raise ValueError(f"{type(self).__name__}: input of length {L} < pool_size {k}")
        idx = _windows(L_out, k, s, 1)  # (L_out, k) positions in the padded input
        valid = (idx >= left) & (idx < left + L)  # padded positions do not count
        src = np.clip(idx - left, 0, L - 1)
        self._shape = (x.shape, idx, valid, src)
        return x[:, src, :], valid  # (B, L_out, k, C)

    def get_config(self):
        return {
            **super().get_config(),
            "pool_size": self.pool_size,
            "strides": self.strides,
            "padding": self.padding,
        }


class MaxPooling1D(_Pooling1D):
    type_name = "MaxPooling1D"

    def forward(self, x, training=False, mask=None):
        w, valid = self._gather(x)
        w = np.where(valid[None, :, :, None], w, -np.inf)
        self._arg = np.argmax(w, axis=2)  # (B, L_out, C)
        return np.take_along_axis(w, self._arg[:, :, None, :], axis=2)[:, :, 0, :]

    def backward(self, dy):
        shape, idx, valid, src = self._shape
        B, L_out, C = dy.shape
        dx = np.zeros(shape, self.dtype)
        pos = src[np.arange(L_out)[None, :, None], self._arg]  # (B, L_out, C) input steps
        b = np.arange(B)[:, None, None]
        c = np.arange(C)[None, None, :]
        np.add.at(dx, (b, pos, c), dy)
        return dx


class AveragePooling1D(_Pooling1D):
    """Mean of each window; with padding="same" the padded zeros do not count (Keras)."""

    type_name = "AveragePooling1D"

    def forward(self, x, training=False, mask=None):
        w, valid = self._gather(x)
        self._n = valid.sum(axis=1).astype(self.dtype)  # (L_out,) real steps per window
        return (w * valid[None, :, :, None]).sum(axis=2) / self._n[None, :, None]

    def backward(self, dy):
        shape, idx, valid, src = self._shape
        dx = np.zeros(shape, self.dtype)
        share = (dy / self._n[None, :, None])[:, :, None, :] * valid[None, :, :, None]
        np.add.at(dx, (slice(None), src), share)
        return dx


class _GlobalPooling1D(Layer):
    input_ndim = 2

    def __init__(self, data_format=None, keepdims=False, **kw):
        super().__init__(**kw)
        _channels_last(self, data_format)
        self.keepdims = bool(keepdims)

    def compute_output_shape(self, input_shape):
        B, _, C = self.with_batch(input_shape)
        return self.same_form(input_shape, (B, 1, C) if self.keepdims else (B, C))

    def output_mask(self, inputs, mask):
        return None

    def _check(self, x):
        x = np.asarray(x, self.dtype)
        if x.ndim != 3:
            raise ValueError(
                f"{type(self).__name__} expected input of shape (batch, time, channels), "
                f"got {x.shape}"
            )
        self._ensure_built(x)
        return x

    def get_config(self):
        return {**super().get_config(), "keepdims": self.keepdims}


class GlobalAveragePooling1D(_GlobalPooling1D):
    """y = Σ_t m_t·x_t / Σ_t m_t (m = 1 without a mask)."""

    type_name = "GlobalAveragePooling1D"

    def forward(self, x, training=False, mask=None):
        x = self._check(x)
        m = np.ones(x.shape[:2], self.dtype) if mask is None else np.asarray(mask, self.dtype)
        self._w = m / m.sum(axis=1, keepdims=True)  # (B, T) weights
        y = np.einsum("bt,btc->bc", self._w, x)
        return y[:, None, :] if self.keepdims else y

    def backward(self, dy):
        dy = np.asarray(dy, self.dtype).reshape(len(self._w), -1)
        return self._w[:, :, None] * dy[:, None, :]


class GlobalMaxPooling1D(_GlobalPooling1D):
    type_name = "GlobalMaxPooling1D"
    supports_masking = False

    def forward(self, x, training=False, mask=None):
        x = self._check(x)
        self._arg = np.argmax(x, axis=1)  # (B, C)
        self._T = x.shape[1]
        y = np.take_along_axis(x, self._arg[:, None, :], axis=1)[:, 0, :]
        return y[:, None, :] if self.keepdims else y

    def backward(self, dy):
        dy = np.asarray(dy, self.dtype).reshape(self._arg.shape)
        B, C = dy.shape
        dx = np.zeros((B, self._T, C), self.dtype)
        np.put_along_axis(dx, self._arg[:, None, :], dy[:, None, :], axis=1)
        return dx
