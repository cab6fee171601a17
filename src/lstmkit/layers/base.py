"""The Layer contract every lstmkit layer follows.

A layer owns its parameters as a list ``params`` and their gradients as an
aligned list ``grads``. The model may move them into one flat buffer per dtype
(see :meth:`Layer.rebind`), so a layer must always reach its weights through
``self.params[k]`` (the properties below do) and never keep other references.

    build(input_shape)            input_shape excludes the batch: (time, features) or (features,)
    forward(x, training=False, mask=None, **kw) -> y
    backward(dy) -> dx            fills self.grads (overwrites, does not accumulate)
    compute_output_shape(input_shape) -> output shape without batch
    compute_mask(mask, x) -> the mask for the next layer (None when the time axis is gone)
    get_weights() / set_weights(ws)   Keras shapes
    get_config() -> JSON-able dict;  Layer.from_config(cfg)
    named_tensors() -> {PyTorch-style name: array}; load_named_tensors(d)
"""

from __future__ import annotations

import numpy as np

_DTYPES = {"float32": np.float32, "float64": np.float64}


def as_dtype(dtype) -> np.dtype:
    """'float32' / 'float64' / np.float32 / np.float64 → np.dtype; anything else is refused."""
    key = np.dtype(dtype).name if not isinstance(dtype, str) else dtype
    if key not in _DTYPES:
        raise ValueError(f"dtype must be 'float32' or 'float64', got {dtype!r}")
    return np.dtype(_DTYPES[key])


class Layer:
    #: the type name written in saved configs (the allow-list key)
    type_name: str = "Layer"
    input_shape: tuple | None  # one sample's shape (no batch axis), once built

    def __init__(self, name: str | None = None, dtype="float32", seed=None):
        self.name = name or self.type_name.lower()
        self.dtype = as_dtype(dtype)
        self.seed = seed
        self.rng = np.random.default_rng(seed)
        self.params: list[np.ndarray] = []
        self.grads: list[np.ndarray] = []
        self.param_names: list[str] = []  # Keras-style names, aligned with params
        self.built = False
        self.input_shape = None

    # ----------------------------------------------------------------- build
    def build(self, input_shape):
        self.input_shape = tuple(input_shape)
        self.built = True

    def _add_param(self, name: str, value: np.ndarray) -> None:
        value = np.ascontiguousarray(value, dtype=self.dtype)
        self.params.append(value)
        self.grads.append(np.zeros_like(value))
        self.param_names.append(name)

    def rebind(self, params: list[np.ndarray], grads: list[np.ndarray]) -> None:
        """Point params and grads at new storage (views into the model's flat buffers).
        The current values are copied in."""
        if len(params) != len(self.params) or len(grads) != len(self.grads):
            raise ValueError(
                f"{self.name}: rebind expected {len(self.params)} arrays, got {len(params)}"
            )
        for k, (p, g) in enumerate(zip(params, grads, strict=True)):
            if p.shape != self.params[k].shape:
                raise ValueError(f"{self.name}: rebind shape {p.shape} != {self.params[k].shape}")
            p[...] = self.params[k]
            g[...] = self.grads[k]
            self.params[k], self.grads[k] = p, g

    def _ensure_built(self, x):
        if not self.built:
            self.build(x.shape[1:])

    # ----------------------------------------------------------- computation
    def forward(self, x, training=False, mask=None):
        raise NotImplementedError

    def backward(self, dy):
        raise NotImplementedError

    def __call__(self, x, training=False, mask=None, **kw):
        return self.forward(x, training=training, mask=mask, **kw)

    def compute_output_shape(self, input_shape):
        return tuple(input_shape)

    def compute_mask(self, mask, x=None):
        """The mask the next layer receives, given this layer's input mask and input x."""
        return mask

    def count_params(self) -> int:
        return int(sum(p.size for p in self.params))

    # ------------------------------------------------------------- weights io
    def get_weights(self) -> list[np.ndarray]:
        return [p.copy() for p in self.params]

    def set_weights(self, weights) -> None:
        weights = list(weights)
        if len(weights) != len(self.params):
            raise ValueError(
                f"{self.name} expected {len(self.params)} weight arrays "
                f"({', '.join(self.param_names)}), got {len(weights)}"
            )
        for k, (p, w) in enumerate(zip(self.params, weights, strict=True)):
            w = np.asarray(w)
            if w.shape != p.shape:
                raise ValueError(
                    f"{self.name}.{self.param_names[k]} expected shape {p.shape}, got {w.shape}"
                )
            p[...] = w

    def named_tensors(self) -> dict[str, np.ndarray]:
        """Tensors under the names they are saved with (PyTorch names for recurrent layers)."""
        return {n: p for n, p in zip(self.param_names, self.params, strict=True)}

    def load_named_tensors(self, tensors: dict[str, np.ndarray]) -> None:
        mine = self.named_tensors()
        missing = sorted(set(mine) - set(tensors))
        extra = sorted(set(tensors) - set(mine))
        if missing or extra:
            raise ValueError(
                f"{self.name}: expected tensors {sorted(mine)}, "
                f"missing {missing}, unexpected {extra}"
            )
        self.set_weights([tensors[n] for n in self.param_names])

    # ---------------------------------------------------------------- config
    def get_config(self) -> dict:
        return {"name": self.name, "dtype": self.dtype.name, "seed": self.seed}

    @classmethod
    def from_config(cls, config: dict):
        return cls(**config)

    def __repr__(self):
        return f"{type(self).__name__}(name={self.name!r})"


def rng_layers(layers: list[Layer]) -> list[Layer]:
    """Every layer object holding an rng, wrappers' inner layers included, in a fixed order.

    The order is the contract between a model's seeding, fit's reseeding and a
    checkpoint's list of RNG states: a wrapper (Bidirectional, …) is replaced by the
    layers it holds as ``forward_layer``, ``backward_layer`` or ``layer``."""
    out: list[Layer] = []
    for layer in layers:
        inner = [
            getattr(layer, a)
            for a in ("forward_layer", "backward_layer", "layer")
            if isinstance(getattr(layer, a, None), Layer)
        ]
        out.extend(rng_layers(inner) if inner else [layer])
    return out


def check_input(layer: Layer, x, ndim: int, what: str) -> np.ndarray:
    """Cast x to the layer's dtype and check its rank and (after build) its last size.

    Errors name what was expected and what came, e.g.
    ``LSTM expected input of shape (batch, time, 3), got (32, 3)``.
    """
    x = np.asarray(x)
    if x.dtype.kind not in "fiub":
        raise TypeError(f"{type(layer).__name__} expected a numeric array, got dtype {x.dtype}")
    want_last = None
    if layer.built and layer.input_shape is not None:
        want_last = layer.input_shape[-1]
    if x.ndim != ndim or (want_last is not None and x.shape[-1] != want_last):
        last = want_last if want_last is not None else "features"
        raise ValueError(
            f"{type(layer).__name__} expected input of shape ({what}, {last}), got {tuple(x.shape)}"
        )
    return x.astype(layer.dtype, copy=False)
