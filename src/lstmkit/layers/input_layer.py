"""``Input(shape=…)``: where a functional model starts (and a Sequential may start).

    x = Input(shape=(None, 8))                 # (batch, time, 8), any length
    ids = Input(shape=(None,), dtype="int32")  # token ids for an Embedding

``Input`` returns a :class:`~lstmkit.layers.graph.KerasTensor` made by an
:class:`InputLayer` (no weights). ``Sequential([Input((T, D)), LSTM(…), …])`` takes the
shape from it and builds at once, as Keras does.
"""

from __future__ import annotations

import numpy as np

from .base import Layer, shape_from_str, shape_to_str
from .graph import KerasTensor, Node

__all__ = ["INPUT_DTYPES", "InputLayer", "Input"]

INPUT_DTYPES = ("float32", "float64", "int32", "int64", "bool")


class InputLayer(Layer):
    type_name = "InputLayer"

    def __init__(
        self,
        shape=None,
        batch_size=None,
        dtype=None,
        sparse=None,
        batch_shape=None,
        name=None,
        ragged=None,
        optional=False,
        **kw,
    ):
        for arg, v in (("sparse", sparse), ("ragged", ragged), ("optional", optional)):
            if v:
                raise ValueError(f"Input: {arg}=True is not supported by lstmkit (dense only)")
        if batch_shape is not None:
            if shape is not None:
                raise ValueError("Input: give shape= or batch_shape=, not both")
            batch_size, shape = batch_shape[0], tuple(batch_shape[1:])
        if shape is None:
            raise ValueError("Input needs shape=(…) (one sample's shape, batch excluded)")
        if isinstance(shape, int):
            shape = (shape,)
        self.shape = tuple(None if d is None else int(d) for d in shape)
        if not 1 <= len(self.shape) <= 3:
            raise ValueError(f"Input shape must have 1 to 3 axes, got {self.shape}")
        self.input_dtype = "float32" if dtype is None else np.dtype(dtype).name
        if self.input_dtype not in INPUT_DTYPES:
            raise ValueError(f"Input dtype must be one of {INPUT_DTYPES}, got {dtype!r}")
        float_dtype = self.input_dtype if self.input_dtype.startswith("float") else "float32"
        super().__init__(name=name or "input_layer", dtype=float_dtype, **kw)
        self.batch_size = None if batch_size is None else int(batch_size)
        self.built = True
        self.input_shape = self.shape
        self.output = KerasTensor(
            (self.batch_size, *self.shape), self.input_dtype, None, 0, self.name
        )
        node = Node(self, [], False, {}, {})
        node.outputs = [self.output]
        self.output.node = node

    def forward(self, x, training=False, mask=None):
        x = np.asarray(x)
        want = self.shape
        if x.ndim != len(want) + 1 or any(
            w is not None and g != w for w, g in zip(want, x.shape[1:], strict=True)
        ):
            raise ValueError(
                f"input {self.name!r} expected shape {(None, *want)}, got {tuple(x.shape)}"
            )
        if self.input_dtype.startswith("float"):
            return x.astype(self.input_dtype, copy=False)
        return x

    def backward(self, dy):
        return None

    def compute_output_shape(self, input_shape):
        return (self.batch_size, *self.shape)

    def get_config(self):
        return {
            "name": self.name,
            "shape": shape_to_str(self.shape),
            "batch_size": self.batch_size,
            "dtype": self.input_dtype,
        }

    @classmethod
    def from_config(cls, config: dict):
        config = dict(config)
        config["shape"] = shape_from_str(config["shape"])
        return cls(**config)


def Input(  # noqa: N802 (Keras' name)
    shape=None,
    batch_size=None,
    dtype=None,
    sparse=None,
    batch_shape=None,
    name=None,
    tensor=None,
    optional=False,
) -> KerasTensor:
    """A symbolic input of one sample's ``shape`` (batch excluded), as ``keras.Input``."""
    if tensor is not None:
        raise ValueError("Input(tensor=…) is not supported by lstmkit")
    layer = InputLayer(
        shape=shape,
        batch_size=batch_size,
        dtype=dtype,
        sparse=sparse,
        batch_shape=batch_shape,
        name=name,
        optional=optional,
    )
    return layer.output
