"""Layers that merge a list of tensors (functional API): Concatenate, Add, Subtract,
Multiply, Average, Maximum, Minimum.

    Concatenate(axis=-1)   y = [x₁, x₂, …] along ``axis`` (Keras' axis: the batch is axis 0)
    Add / Average          y = Σ x_k  /  (1/n)·Σ x_k          Subtract  y = x₁ − x₂
    Multiply               y = ∏ x_k                          Maximum / Minimum  element-wise

Masks as Keras: Concatenate expands each mask over its input's features, concatenates
and takes "any" over the last axis; the element-wise merges OR the masks when every
input has one, and drop them otherwise. ``backward(dy)`` returns the list of dx_k.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

from .base import Layer

__all__ = ["Add", "Subtract", "Multiply", "Average", "Maximum", "Minimum", "Concatenate"]


class _Merge(Layer):
    min_inputs = 2

    def merge(self, xs: list[np.ndarray]) -> np.ndarray:
        """The merged tensor of the inputs ``xs`` (one shape): each merge layer's formula."""
        raise NotImplementedError

    def _check_list(self, shapes_or_xs):
        if not isinstance(shapes_or_xs, (list, tuple)) or len(shapes_or_xs) < self.min_inputs:
            raise ValueError(
                f"{type(self).__name__} expects a list of at least {self.min_inputs} inputs, "
                f"got {type(shapes_or_xs).__name__}"
            )

    def build(self, input_shape):
        self._check_list(input_shape)
        self.input_shape = tuple(input_shape[0][1:])
        self.built = True
        return input_shape

    def compute_output_shape(self, input_shape):
        self._check_list(input_shape)
        out = list(input_shape[0])
        for s in input_shape[1:]:
            if len(s) != len(out):
                raise ValueError(f"{type(self).__name__}: inputs of different ranks {input_shape}")
            out = [a if a is not None else b for a, b in zip(out, s, strict=True)]
        return tuple(out)

    def output_mask(self, inputs, mask):
        if mask is None or not isinstance(mask, (list, tuple)) or any(m is None for m in mask):
            return None
        out = np.asarray(mask[0], bool)
        for m in mask[1:]:
            out = out | np.asarray(m, bool)
        return out

    def forward(self, x, training=False, mask=None):
        self._check_list(x)
        xs = [np.asarray(a, self.dtype) for a in x]
        for a in xs[1:]:
            if a.shape != xs[0].shape:
                raise ValueError(
                    f"{type(self).__name__} expects inputs of one shape, got "
                    f"{[tuple(b.shape) for b in xs]}"
                )
        self._xs = xs
        self.built = True
        return self.merge(xs)


class Add(_Merge):
    type_name = "Add"

    def merge(self, xs):
        return sum(xs[1:], xs[0].copy())

    def backward(self, dy):
        return [dy for _ in self._xs]


class Subtract(_Merge):
    type_name = "Subtract"

    def _check_list(self, v):
        if not isinstance(v, (list, tuple)) or len(v) != 2:
            raise ValueError("Subtract expects a list of exactly 2 inputs")

    def merge(self, xs):
        return xs[0] - xs[1]

    def backward(self, dy):
        return [dy, -dy]


class Multiply(_Merge):
    type_name = "Multiply"

    def merge(self, xs):
        out = xs[0].copy()
        for a in xs[1:]:
            out *= a
        return out

    def backward(self, dy):
        out = []
        for k in range(len(self._xs)):
            d = np.array(dy, self.dtype)
            for j, a in enumerate(self._xs):
                if j != k:
                    d *= a
            out.append(d)
        return out


class Average(Add):
    type_name = "Average"

    def merge(self, xs):
        return super().merge(xs) / len(xs)

    def backward(self, dy):
        return [dy / len(self._xs) for _ in self._xs]


class Maximum(_Merge):
    type_name = "Maximum"
    pick: Callable[..., Any] = staticmethod(np.argmax)

    def merge(self, xs):
        stack = np.stack(xs)
        self._k: np.ndarray = np.asarray(self.pick(stack, axis=0))  # which input wins
        return np.take_along_axis(stack, self._k[None], axis=0)[0]

    def backward(self, dy):
        return [np.where(self._k == k, dy, 0).astype(self.dtype) for k in range(len(self._xs))]


class Minimum(Maximum):
    type_name = "Minimum"
    pick: Callable[..., Any] = staticmethod(np.argmin)


class Concatenate(_Merge):
    type_name = "Concatenate"

    def __init__(self, axis=-1, **kw):
        super().__init__(**kw)
        self.axis = int(axis)
        if self.axis == 0:
            raise ValueError("Concatenate along the batch axis (axis=0) is not supported")

    def compute_output_shape(self, input_shape):
        self._check_list(input_shape)
        nd = len(input_shape[0])
        ax = self.axis % nd
        out = list(input_shape[0])
        for s in input_shape[1:]:
            if len(s) != nd or any(
                k != ax and a is not None and b is not None and a != b
                for k, (a, b) in enumerate(zip(out, s, strict=True))
            ):
                raise ValueError(
                    f"Concatenate axis={self.axis} needs inputs that agree on the other axes, "
                    f"got {input_shape}"
                )
        sizes = [s[ax] for s in input_shape]
        out[ax] = None if any(d is None for d in sizes) else sum(sizes)
        return tuple(out)

    def forward(self, x, training=False, mask=None):
        self._check_list(x)
        xs = [np.asarray(a, self.dtype) for a in x]
        self._sizes = [a.shape[self.axis] for a in xs]
        self.built = True
        try:
            return np.concatenate(xs, axis=self.axis)
        except ValueError:
            raise ValueError(
                f"Concatenate axis={self.axis}: shapes {[tuple(a.shape) for a in xs]} "
                f"do not fit together"
            ) from None

    def backward(self, dy):
        cuts = np.cumsum(self._sizes)[:-1]
        return np.split(np.asarray(dy), cuts, axis=self.axis)

    def output_mask(self, inputs, mask):
        if mask is None or not isinstance(mask, (list, tuple)) or all(m is None for m in mask):
            return None
        ms = []
        for a, m in zip(inputs, mask, strict=True):
            a = np.asarray(a)
            if m is None:
                ms.append(np.ones(a.shape, bool))
            else:
                m = np.asarray(m, bool)
                ms.append(np.broadcast_to(m[..., None], a.shape) if m.ndim < a.ndim else m)
        return np.any(np.concatenate(ms, axis=self.axis), axis=-1)

    def get_config(self):
        return {**super().get_config(), "axis": self.axis}
