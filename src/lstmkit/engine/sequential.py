"""Sequential: a stack of layers trained the Keras way (compile / fit / evaluate / predict).

    model = Sequential([LSTM(128, return_sequences=True), LSTM(64), Dense(10, "softmax")])
    model.compile(optimizer="adam", loss="categorical_crossentropy", metrics=["accuracy"])
    model.fit(x_train, y_train, epochs=10, batch_size=32)

The input shape comes from, in this order: ``Input(shape=…)`` as the first entry (as in
Keras 3), the first layer's ``input_shape=`` / ``input_dim=``, ``build(input_shape)``, or
the first batch. Given one of the first two, the model is built at once. ``build`` takes
Keras' shape with the batch axis, ``(None, T, D)``, or one sample's, ``(T, D)``;
``model.input_shape`` / ``output_shape`` are one sample's (batch excluded).

Masks flow from layer to layer: layer k receives ``mask=`` from
``layers[k-1].compute_mask(x, mask)`` (an ``Embedding(mask_zero=True)`` or ``Masking``
starts one; a recurrent layer without ``return_sequences`` ends it). A mask that
reaches the output weights the loss, so padded steps do not count.
"""

from __future__ import annotations

import numpy as np

from ..layers.base import Layer
from ..layers.graph import KerasTensor
from ..layers.input_layer import InputLayer
from ..layers.simple import Activation, Dense
from ..training.data import Samples
from .base import BaseModel

__all__ = ["RANK_KEEPING", "Sequential"]

#: layers whose output has their input's rank (whatever it is)
RANK_KEEPING = ("Dense", "Dropout", "Activation", "GaussianNoise", "Masking", "LayerNormalization")


class Sequential(BaseModel):
    def __init__(self, layers=None, name: str = "sequential", seed=None, trainable: bool = True):
        super().__init__(name, seed, trainable)
        self.input_shape: tuple | None = None  # without the batch axis
        self.output_shape: tuple | None = None
        #: from Input(…) or the first layer's input_shape=
        self.declared_input_shape: tuple | None = None
        for layer in layers or []:
            self.add(layer)

    # ------------------------------------------------------------- structure
    def add(self, layer) -> None:
        if isinstance(layer, KerasTensor) and isinstance(layer.node.layer, InputLayer):
            layer = layer.node.layer
        if isinstance(layer, InputLayer):
            if self.layers or self.declared_input_shape is not None:
                raise ValueError("Sequential: an Input can only come first")
            self.declared_input_shape = layer.shape
            return
        if not isinstance(layer, Layer):
            raise TypeError(f"Sequential.add expected a Layer, got {type(layer).__name__}")
        if self.built:
            raise RuntimeError("cannot add a layer to a model that is already built")
        if not self.layers and layer.declared_input_shape is not None:
            if self.declared_input_shape is None:
                self.declared_input_shape = layer.declared_input_shape
        names = {other.name for other in self.layers}
        if layer.name in names:
            base, k = layer.name, 1
            while f"{base}_{k}" in names:
                k += 1
            layer.name = f"{base}_{k}"
        self.layers.append(layer)

    def _sample_shape(self, input_shape) -> tuple:
        """One sample's shape from Keras' (None, …) or lstmkit's batch-less form."""
        if isinstance(input_shape, list) and input_shape and not isinstance(input_shape[0], int):
            if len(input_shape) != 1:
                raise ValueError(f"Sequential has one input, got {len(input_shape)} shapes")
            input_shape = input_shape[0]
        shape = tuple(None if d is None else int(d) for d in input_shape)
        fixed = self._first_fixed_rank()
        if fixed is not None:
            return fixed.with_batch(shape)[1:]
        return shape[1:] if len(shape) >= 2 and shape[0] is None else shape

    def _first_fixed_rank(self) -> Layer | None:
        """The first layer of fixed input rank (LSTM: 2) if only layers that keep the rank
        (Dense, Dropout, …) come before it: it tells (None, D) as one sample (time, D) in
        front of an LSTM from Keras' (batch, D) (which such a model could not take)."""
        for layer in self.layers:
            if layer.input_ndim is not None:
                return layer
            if layer.type_name not in RANK_KEEPING:
                return None
        return None

    def build(self, input_shape=None) -> None:
        """Build every layer for inputs of one sample's ``input_shape``; then flatten the
        parameters. Keras' form with the batch axis, (None, T, D), works too."""
        if self.built:
            return
        if not self.layers:
            raise ValueError("Sequential has no layers to build")
        if input_shape is None:
            input_shape = self.declared_input_shape
            if input_shape is None:
                raise ValueError(
                    "Sequential.build needs an input shape (or an Input / input_shape= first)"
                )
        shape = self._sample_shape(input_shape)
        self.input_shape = shape
        self.seed_layers()
        full = (None, *shape)
        for layer in self.layers:
            if not layer.built:
                layer.build(full)
            full = layer.compute_output_shape(full)
            if isinstance(full, list):
                raise ValueError(
                    f"{layer.name}: Sequential needs one output per layer; "
                    f"use return_state=False (and a merge_mode) inside a Sequential"
                )
        self.output_shape = tuple(full[1:])
        self._flatten()
        self.built = True

    def autobuild(self) -> None:
        if not self.built and self.declared_input_shape is not None and self.layers:
            self.build(self.declared_input_shape)

    @property
    def output_names(self) -> list[str]:
        return [self.layers[-1].name] if self.layers else ["output"]

    def get_config(self) -> dict:
        return {
            "name": self.name,
            "layers": [
                {"type": layer.type_name, "config": layer.get_config()} for layer in self.layers
            ],
            "input_shape": None if self.input_shape is None else list(self.input_shape),
        }

    # ------------------------------------------------------------ computation
    def run(self, x, training=False):
        """Every layer on x → ([output], [the mask reaching it])."""
        if isinstance(x, Samples):
            if len(x.parts) != 1:
                raise ValueError(f"Sequential has one input, got {len(x.parts)} arrays")
            x = x.parts[0]
        x = np.asarray(x)
        if not self.built:
            if self.declared_input_shape is not None:
                self.build(self.declared_input_shape)
            else:
                self.build(x.shape[1:])
        mask = None
        self._activity = []
        for layer in self.layers:
            y = layer.forward(x, training=training, mask=mask)
            mask = layer.compute_mask(x, mask)
            if layer.activity_regularizer is not None:
                self._activity.append((layer, y))
            x = y
        return [x], [mask]

    def backprop(self, douts, logits) -> None:
        layers, dy = self.layers, douts[0]
        if 0 in logits:  # ∂L/∂z of the softmax output layer
            head = self.layers[-1]
            assert isinstance(head, (Dense, Activation)), "only these compute logits"
            dy = head.backward_from_logits(logits[0])
            layers = self.layers[:-1]
        acts = {id(layer): y for layer, y in self._activity}
        for layer in reversed(layers):
            if id(layer) in acts:
                dy = dy + self.activity_gradient(layer, acts[id(layer)])
            dy = layer.backward(dy)
            if dy is None:  # nothing flows below an Embedding
                break

    def logits_layer(self, k):
        return self.layers[-1] if self.layers else None

    def summary_rows(self):
        if self.input_shape is None:
            raise ValueError("summary of a Sequential needs its input shape: build it first")
        rows, full = [], (None, *self.input_shape)
        for layer in self.layers:
            full = layer.compute_output_shape(full)
            rows.append(
                (f"{layer.name} ({type(layer).__name__})", str(full), f"{layer.count_params():,}")
            )
        return rows

    def __repr__(self):
        return f"Sequential({[type(layer).__name__ for layer in self.layers]}, built={self.built})"
