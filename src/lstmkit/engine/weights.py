"""A model's weights: the flat buffers every parameter lives in, Keras' weight lists,
the frozen (``trainable=False``) layers, and the summary table.

After the build every parameter of the model is a view into one flat contiguous buffer
per dtype, ``model.buffers`` (:class:`FlatBuffers`): an optimizer step is a few
vectorised operations on whole buffers, and averaging gradients across processes is one
Allreduce of the gradient buffer.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from ..layers.base import Layer, rng_layers

__all__ = ["FlatBuffers", "ModelWeights"]


@dataclass(frozen=True)
class FlatBuffers:
    """A built model's parameters and gradients, one contiguous buffer per dtype name.

    ``params[k]`` / ``grads[k]``: every parameter (gradient) of dtype ``k`` ("float32",
    "float64"), layer after layer, each layer's ``params[j]`` a view into it.
    ``segments[k]``: the sizes of the variables in that buffer, in order (the
    optimizer uses them for per-variable clipping). An optimizer step, an Allreduce
    or a copy of the weights is one operation per buffer."""

    params: dict[str, np.ndarray]
    grads: dict[str, np.ndarray]
    segments: dict[str, list[int]]


class ModelWeights:
    """What :class:`~lstmkit.engine.base.BaseModel` knows of its weights (``self.layers``,
    ``self._buffers``, ``self.optimizer``, ``self.trainable`` are the model's)."""

    layers: list[Layer]
    optimizer: Any
    built: bool
    trainable: bool
    name: str

    # ------------------------------------------------------------ the buffers
    def _flatten(self) -> None:
        """Move every parameter (and gradient) into one contiguous buffer per dtype."""
        sizes: dict[str, list[int]] = {}
        for layer in self.layers:
            for p in layer.params:
                sizes.setdefault(p.dtype.name, []).append(p.size)
        flat_p = {k: np.empty(sum(v), k) for k, v in sizes.items()}  # all parameters
        flat_g = {k: np.zeros(sum(v), k) for k, v in sizes.items()}  # all gradients
        self._buffers = FlatBuffers(flat_p, flat_g, sizes)
        offset = dict.fromkeys(sizes, 0)
        for layer in self.layers:
            ps, gs = [], []
            for p in layer.params:
                k, o, n = p.dtype.name, offset[p.dtype.name], p.size
                ps.append(flat_p[k][o : o + n].reshape(p.shape))
                gs.append(flat_g[k][o : o + n].reshape(p.shape))
                offset[k] += n
            layer.rebind(ps, gs)
        if self.optimizer is not None:
            self.optimizer.build(self._buffers.params, self._buffers.segments)

    @property
    def buffers(self) -> FlatBuffers:
        """The flat parameter and gradient buffers, one per dtype (see :class:`FlatBuffers`):
        what optimizers, MPI and EarlyStopping work on."""
        return self._buffers

    @property
    def flat_params(self):
        """Shortcut for ``buffers.params``: the one parameter buffer when every layer has
        the same dtype (the usual case), else the {dtype name: array} dict."""
        p = self._buffers.params
        return next(iter(p.values())) if len(p) == 1 else p

    @property
    def flat_grads(self):
        """Shortcut for ``buffers.grads``, as :attr:`flat_params`."""
        g = self._buffers.grads
        return next(iter(g.values())) if len(g) == 1 else g

    def autobuild(self) -> None:
        """Build now if the input shape is known already (Sequential with an Input)."""

    def ensure_built(self) -> None:
        self.autobuild()
        if not self.built:
            raise ValueError(
                "This model has not been built yet: call build(input_shape) "
                "or fit / predict on some data first"
            )

    # ---------------------------------------------------------------- weights
    def count_params(self) -> int:
        self.autobuild()
        return int(sum(layer.count_params() for layer in self.layers))

    def get_weights(self) -> list[np.ndarray]:
        self.autobuild()
        return [w for layer in self.layers for w in layer.get_weights()]

    def set_weights(self, weights) -> None:
        self.autobuild()
        weights = list(weights)
        want = sum(len(layer.params) for layer in self.layers)
        if len(weights) != want:
            raise ValueError(f"set_weights expected {want} arrays, got {len(weights)}")
        for layer in self.layers:
            n = len(layer.params)
            layer.set_weights(weights[:n])
            weights = weights[n:]

    def frozen_layers(self) -> list[Layer]:
        """The layers (wrappers' inner ones included) whose weights training leaves alone."""
        out = []
        for layer in self.layers:
            if not self.trainable or not layer.trainable:
                out.extend(rng_layers([layer]))
            else:
                out.extend(leaf for leaf in rng_layers([layer]) if not leaf.trainable)
        return out

    @property
    def weights(self) -> list[np.ndarray]:
        self.autobuild()
        return [p for layer in self.layers for p in layer.params]

    @property
    def trainable_weights(self) -> list[np.ndarray]:
        frozen = {id(p) for layer in self.frozen_layers() for p in layer.params}
        return [p for p in self.weights if id(p) not in frozen]

    @property
    def non_trainable_weights(self) -> list[np.ndarray]:
        frozen = {id(p) for layer in self.frozen_layers() for p in layer.params}
        return [p for p in self.weights if id(p) in frozen]

    # ------------------------------------------------------------ the summary
    def summary_rows(self) -> list[tuple[str, ...]]:
        raise NotImplementedError

    def summary(
        self,
        print_fn=print,
        line_length=None,
        positions=None,
        expand_nested=False,
        show_trainable=False,
        layer_range=None,
    ) -> None:
        """Layers, output shapes and parameter counts (Keras' counts)."""
        self.ensure_built()
        rows = self.summary_rows()
        heads = ["Layer (type)", "Output Shape", "Param #"] + (
            ["Connected to"] if len(rows[0]) > 3 else []
        )
        w = [max(len(h) + 2, *(len(r[k]) + 2 for r in rows)) for k, h in enumerate(heads)]
        w[0], w[1] = max(28, w[0]), max(24, w[1])
        line = "=" * sum(w)
        out = [
            f'Model: "{self.name}"',
            "-" * sum(w),
            "".join(h.ljust(n) for h, n in zip(heads, w, strict=True)),
            line,
        ]
        out += ["".join(c.ljust(n) for c, n in zip(r, w, strict=True)).rstrip() for r in rows]
        total = self.count_params()
        frozen = int(sum(p.size for p in self.non_trainable_weights))
        out += [
            line,
            f"Total params: {total:,}",
            f"Trainable params: {total - frozen:,}",
            f"Non-trainable params: {frozen:,}",
            "-" * sum(w),
        ]
        for s in out:
            print_fn(s)
