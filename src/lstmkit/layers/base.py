"""The Layer contract every lstmkit layer follows.

A layer owns its parameters as a list ``params`` and their gradients as an
aligned list ``grads``. The model may move them into one flat buffer per dtype
(see :meth:`Layer.rebind`), so a layer must always reach its weights through
``self.params[k]`` (the properties below do) and never keep other references.

    build(input_shape)            Keras' shape (batch, time, features), or lstmkit's older
                                  form without the batch axis, (time, features): a layer of
                                  fixed rank tells the two apart by their length
    forward(x, training=False, mask=None, **kw) -> y
    backward(dy) -> dx            fills self.grads (overwrites, does not accumulate)
    compute_output_shape(shape)   in the form it was given (with or without the batch axis)
    compute_mask(inputs, mask)    the mask for the next layer (Keras' argument order)
    get_weights() / set_weights(ws)   Keras shapes
    get_config() -> JSON-able dict;  Layer.from_config(cfg)
    named_tensors() -> {PyTorch-style name: array}; load_named_tensors(d)

Keras' base arguments: ``name``, ``dtype``, ``trainable`` (False: the optimizer leaves
the layer's weights alone), ``input_shape`` / ``input_dim`` / ``batch_input_shape``
(the first layer of a Sequential builds it), ``activity_regularizer`` (R(y)/batch is
added to the loss), ``autocast`` (accepted; lstmkit has no mixed precision). Anything
else raises TypeError naming the layer and the arguments it takes.

Called on a symbolic tensor (``Input(shape=…)`` or another layer's output), a layer
records the call for the functional ``Model`` instead of computing
(:mod:`lstmkit.layers.graph`).
"""

from __future__ import annotations

import inspect
from contextlib import contextmanager

import numpy as np

from . import graph
from .regularizers import Constraint, Regularizer, get_constraint, get_regularizer

__all__ = [
    "as_dtype",
    "Layer",
    "rng_layers",
    "SkipInit",
    "built_without_init",
    "check_input",
    "accepted_arguments",
    "regularizer_arg",
    "constraint_arg",
    "shape_to_str",
    "shape_from_str",
]

_DTYPES = {"float32": np.float32, "float64": np.float64}


def as_dtype(dtype) -> np.dtype:
    """'float32' / 'float64' / np.float32 / np.float64 → np.dtype; anything else is refused.
    None is float32 (Keras' floatx)."""
    if dtype is None:
        return np.dtype(np.float32)
    key = np.dtype(dtype).name if not isinstance(dtype, str) else dtype
    if key not in _DTYPES:
        raise ValueError(f"dtype must be 'float32' or 'float64', got {dtype!r}")
    return np.dtype(_DTYPES[key])


class Layer:
    #: the type name written in saved configs (the allow-list key)
    type_name: str = "Layer"
    #: the rank of one sample's input (batch excluded) when it is fixed (LSTM: 2), else None
    input_ndim: int | None = None
    #: False: the layer drops an incoming mask (Keras' supports_masking); True passes it on
    supports_masking: bool = True
    input_shape: tuple | None  # one sample's shape (no batch axis), once built

    def __init__(
        self,
        name: str | None = None,
        dtype="float32",
        seed=None,
        *,
        input_shape=None,
        input_dim=None,
        batch_input_shape=None,
        batch_size=None,
        trainable: bool = True,
        activity_regularizer=None,
        autocast: bool = True,
        **unknown,
    ):
        if unknown:
            raise TypeError(
                f"{type(self).__name__} got unexpected argument(s) {sorted(unknown)}; "
                f"{type(self).__name__} takes {accepted_arguments(type(self))}"
            )
        if not isinstance(trainable, bool):
            raise ValueError(f"{type(self).__name__}: trainable must be a bool, got {trainable!r}")
        self.name = name or self.type_name.lower()
        self.dtype = as_dtype(dtype)
        self.seed = seed
        self.rng = np.random.default_rng(seed)
        self.params: list[np.ndarray] = []
        self.grads: list[np.ndarray] = []
        self.param_names: list[str] = []  # Keras-style names, aligned with params
        self.built = False
        self.input_shape = None
        self.trainable = trainable
        self.autocast = bool(autocast)
        self.activity_regularizer = get_regularizer(
            activity_regularizer, f"{type(self).__name__} activity_regularizer"
        )
        #: Keras' input_shape= / input_dim= / batch_input_shape=: one sample's shape
        self.declared_input_shape = _declared_shape(self, input_shape, input_dim, batch_input_shape)
        self.batch_size = None if batch_size is None else int(batch_size)
        self.regularizers: dict[str, Regularizer] = {}  # param name → Regularizer
        self.constraints: dict[str, Constraint] = {}  # param name → Constraint

    # ----------------------------------------------------------------- build
    def build(self, input_shape):
        """Record the input shape (batch excluded in ``self.input_shape``); returns the
        shape with the batch axis, (None, …), for a subclass to read."""
        if input_shape and isinstance(input_shape[0], (list, tuple)):  # several inputs
            self.input_shape = tuple(tuple(s) for s in input_shape)
            self.built = True
            return list(input_shape)
        full = self.with_batch(input_shape)
        self.input_shape = tuple(full[1:])
        self.built = True
        return full

    def with_batch(self, shape) -> tuple:
        """``shape`` with the batch axis: Keras' form as it is, lstmkit's older batch-less form
        with None in front. A layer of fixed rank (``input_ndim``) tells them apart by the
        length; any other layer takes a shape of one sample's minimal rank as batch-less."""
        if isinstance(shape, graph.KerasTensor):
            shape = shape.shape
        shape = tuple(None if d is None else int(d) for d in shape)
        n = self.input_ndim
        if n is not None:
            if len(shape) == n:
                return (None, *shape)
            if len(shape) == n + 1:
                return shape
            raise ValueError(
                f"{type(self).__name__} expected an input shape of {n + 1} axes "
                f"(batch, {_axes(n)}) or {n} ({_axes(n)}), got {shape}"
            )
        return (None, *shape) if len(shape) < 2 else shape

    def same_form(self, given, out):
        """``out`` (with the batch axis) in the form ``given`` came in (list/tuple aware)."""
        if isinstance(given, graph.KerasTensor) or len(self.with_batch(given)) == len(given):
            return out
        if isinstance(out, list):
            return [tuple(o[1:]) for o in out]
        return tuple(out[1:])

    def add_param(self, name: str, value: np.ndarray, regularizer=None, constraint=None) -> None:
        """A new parameter (and its zero gradient), with an optional Keras regularizer
        (added to the loss) and constraint (applied after each optimizer step)."""
        value = np.ascontiguousarray(value, dtype=self.dtype)
        self.params.append(value)
        self.grads.append(np.zeros_like(value))
        self.param_names.append(name)
        if regularizer is not None:
            self.regularizers[name] = regularizer
        if constraint is not None:
            self.constraints[name] = constraint

    _add_param = add_param

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
            self.build((None, *x.shape[1:]))

    # ----------------------------------------------------------- computation
    def forward(self, x, training=False, mask=None):
        raise NotImplementedError

    def backward(self, dy):
        raise NotImplementedError

    def __call__(self, x, *args, **kw):
        """On arrays: ``forward``. On symbolic tensors: record the call (functional API)."""
        if graph.is_symbolic(x, args, kw):
            return graph.symbolic_call(self, x, args, kw)
        if args:
            raise TypeError(
                f"{type(self).__name__}() takes the input and keyword arguments "
                f"(training=, mask=, …), got {len(args)} more positional argument(s)"
            )
        return self.forward(x, **kw)

    def compute_output_shape(self, input_shape):
        return input_shape if isinstance(input_shape, list) else tuple(input_shape)

    def compute_mask(self, inputs, mask=None):
        """The mask the next layer receives, given this layer's inputs and their mask
        (Keras' argument order). lstmkit's older order ``compute_mask(mask, x)`` (a bool
        array or None first) is still understood."""
        inputs, mask = _mask_args(inputs, mask)
        return self.output_mask(inputs, mask)

    def output_mask(self, inputs, mask):
        """What :meth:`compute_mask` returns: the mask itself if the layer supports masking."""
        return mask if self.supports_masking else None

    # ------------------------------------------------------- Keras' weight lists
    @property
    def weights(self) -> list[np.ndarray]:
        """The parameter arrays themselves (views into the model's buffers once built)."""
        return list(self.params)

    @property
    def trainable_weights(self) -> list[np.ndarray]:
        return list(self.params) if self.trainable else []

    @property
    def non_trainable_weights(self) -> list[np.ndarray]:
        return [] if self.trainable else list(self.params)

    def regularization_loss(self) -> float:
        """Σ R(W) over this layer's regularized weights."""
        by_name = dict(zip(self.param_names, self.params, strict=True))
        return float(sum(r(by_name[n]) for n, r in self.regularizers.items()))

    def add_regularization_gradients(self) -> None:
        """grads += ∂R/∂W for every regularized weight (after backward)."""
        for k, n in enumerate(self.param_names):
            if n in self.regularizers:
                self.grads[k] += self.regularizers[n].gradient(self.params[k])

    def apply_constraints(self) -> None:
        """W ← C(W) for every constrained weight (after an optimizer step)."""
        for k, n in enumerate(self.param_names):
            if n in self.constraints:
                self.params[k][...] = self.constraints[n](self.params[k])

    def base_config(self) -> dict:
        """The Keras base arguments worth saving, when they differ from the defaults."""
        out: dict[str, object] = {}
        if not self.trainable:
            out["trainable"] = False
        if self.activity_regularizer is not None:
            out["activity_regularizer"] = repr(self.activity_regularizer)
        return out

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
        return {
            "name": self.name,
            "dtype": self.dtype.name,
            "seed": self.seed,
            **self.base_config(),
        }

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


class SkipInit:
    """Stands in for a layer's RNG while the layer is built only to receive weights (a model
    read from a file): every initializer gets zeros, nothing random is drawn and no QR
    decomposition runs (``orthogonal`` checks ``skip_init``). See :func:`built_without_init`."""

    skip_init = True

    def uniform(self, low=0.0, high=1.0, size=None):
        return np.zeros(size)

    def normal(self, loc=0.0, scale=1.0, size=None):
        return np.zeros(size)

    def standard_normal(self, size=None, dtype=np.float64):
        return np.zeros(size, dtype)

    def random(self, size=None, dtype=np.float64):
        return np.zeros(size, dtype)


@contextmanager
def built_without_init(layers: list[Layer]):
    """Inside: every layer of ``layers`` (wrappers' inner layers too) draws its initial
    weights from :class:`SkipInit` (zeros); afterwards each gets its own RNG back."""
    holders = rng_layers(layers)
    saved = [layer.rng for layer in holders]
    try:
        for layer in holders:
            layer.rng = SkipInit()  # type: ignore[assignment]  # (draws like a Generator)
        yield
    finally:
        for layer, rng in zip(holders, saved, strict=True):
            layer.rng = rng


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


def _axes(n):
    return ", ".join(("time", "features")[-n:] if n <= 2 else ["…"] * (n - 1) + ["features"])


def _declared_shape(layer, input_shape, input_dim, batch_input_shape):
    given = [a for a in (input_shape, input_dim, batch_input_shape) if a is not None]
    if len(given) > 1:
        raise ValueError(
            f"{type(layer).__name__}: give one of input_shape, input_dim, batch_input_shape"
        )
    if input_dim is not None:
        return (int(input_dim),)
    if batch_input_shape is not None:
        return tuple(None if d is None else int(d) for d in tuple(batch_input_shape)[1:])
    if input_shape is None:
        return None
    if isinstance(input_shape, int):
        input_shape = (input_shape,)
    return tuple(None if d is None else int(d) for d in input_shape)


def _mask_args(inputs, mask):
    """(inputs, mask) from Keras' order, or from lstmkit's older (mask, inputs)."""
    first_is_mask = inputs is None or (isinstance(inputs, np.ndarray) and inputs.dtype == np.bool_)
    second_is_data = mask is None or (isinstance(mask, np.ndarray) and mask.dtype != np.bool_)
    if first_is_mask and second_is_data and not (inputs is None and mask is None):
        return mask, inputs
    if first_is_mask and mask is None and inputs is not None:
        return None, inputs  # compute_mask(mask): the old one-argument call
    return inputs, mask


def accepted_arguments(cls) -> list[str]:
    """Every keyword a layer class takes: its own __init__'s and its bases' (Keras' base
    arguments included)."""
    names: list[str] = []
    for c in cls.__mro__:
        init = c.__dict__.get("__init__")
        if init is None:
            continue
        for p in inspect.signature(init).parameters.values():
            if p.name != "self" and p.kind not in (p.VAR_KEYWORD, p.VAR_POSITIONAL):
                if p.name not in names:
                    names.append(p.name)
    return names


def regularizer_arg(layer, key, value):
    return get_regularizer(value, f"{type(layer).__name__} {key}")


def constraint_arg(layer, key, value):
    return get_constraint(value, f"{type(layer).__name__} {key}")


def shape_to_str(shape) -> str | None:
    """A shape as a config string, "None 5 3" (configs hold plain values only)."""
    return None if shape is None else " ".join("None" if d is None else str(int(d)) for d in shape)


def shape_from_str(s):
    """Inverse of :func:`shape_to_str`; a list or tuple passes through."""
    if s is None or not isinstance(s, str):
        return s
    try:
        return tuple(None if t == "None" else int(t) for t in s.split())
    except ValueError:
        raise ValueError(f"expected a shape like '5 3' or 'None 8', got {s[:40]!r}") from None
