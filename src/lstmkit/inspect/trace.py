"""``trace``: the gates and states of every LSTM layer, from the layer's own forward pass.

How it works (so you can trust it): for each LSTM layer, ``trace`` calls the
layer's ordinary ``forward(x, training=True, mask=mask)`` — the very code a
model runs — and reads the arrays its core kernel keeps for backward
(:class:`lstmkit.core.lstm.LSTMCache`): the gate activations ``act`` (T, B, 4H)
in the order i, f, g, o, the cell states ``cs`` (T+1, B, H) and the outputs
``hs`` (T+1, B, H). Nothing is recomputed, so the trace satisfies

    c_t = f_t ⊙ c_{t-1} + i_t ⊙ g_t        h_t = o_t ⊙ tanh(c_t)

to the last bit, at every step that is not masked (a masked step carries
c and h through unchanged; the gates shown there were computed but not used).

While tracing, ``dropout``, ``recurrent_dropout`` (and zoneout's noise) are switched off (the
trace shows the inference computation; ``training=True`` only keeps the
cache), and the layer's ``_cache``, stateful ``states`` and RNG are restored
afterwards, so tracing does not change what the model does next.

Time order. Every array is batch-major ``(batch, time, units)`` and indexed by
**input position**: ``h[:, t]`` is the state after the layer has read ``x[:, t]``.
For a ``go_backwards`` layer (and the backward half of a Bidirectional) that
layer reads x[:, T-1] first, so its recurrence runs from t+1 to t:
``c[:, t] = f[:, t]·c[:, t+1] + i[:, t]·g[:, t]`` with ``c0`` after position T−1.
:attr:`Trace.c_prev` / :attr:`Trace.h_prev` give "the state before this step"
in either direction, so one formula checks both. (The layer's own
``return_sequences`` output of a ``go_backwards`` layer is in processing order,
as in Keras: it equals ``h[:, ::-1]``.)

A layer type other than LSTM can take part by defining
``_trace_arrays(cache) -> dict`` of time-major arrays with keys
``i f g o c h`` (T, B, H), ``c0 h0`` (B, H) and any extras (the variants in
:mod:`lstmkit.layers.variants` do).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import overload

import numpy as np
from numpy.typing import ArrayLike

from ..layers.base import Layer
from ..layers.bidirectional import Bidirectional
from ..layers.lstm import LSTM
from ..layers.recurrent import Recurrent
from ..model import Sequential

__all__ = [
    "GATE_NAMES",
    "QuietLayers",
    "Trace",
    "is_traceable",
    "is_traceable_bidirectional",
    "trace",
]

GATE_NAMES = ("i", "f", "g", "o")


@dataclass
class Trace:
    """Gates and states of one LSTM layer for one batch, batch-major (B, T, H)."""

    name: str
    i: np.ndarray  # input gate σ(z_i)
    f: np.ndarray  # forget gate σ(z_f)
    g: np.ndarray  # candidate tanh(z_g)
    o: np.ndarray  # output gate σ(z_o)
    c: np.ndarray  # cell state c_t
    h: np.ndarray  # hidden state h_t (the layer's output sequence, in input order)
    c0: np.ndarray  # (B, H) cell state before the first processed step
    h0: np.ndarray  # (B, H)
    go_backwards: bool = False
    mask: np.ndarray | None = None  # (B, T) 1 = step used, input order
    extra: dict = field(default_factory=dict)  # variant-specific arrays, (B, T, ·)

    def __getitem__(self, key: str) -> np.ndarray:
        if key in self.extra:
            return self.extra[key]
        return getattr(self, key)

    def keys(self) -> list[str]:
        return ["i", "f", "g", "o", "c", "h", "c0", "h0"] + list(self.extra)

    @property
    def shape(self) -> tuple[int, ...]:
        return self.c.shape

    def _prev(self, s, s0):
        # the state each step started from, at the same input position
        if self.go_backwards:  # processing order T-1, …, 0: previous is t+1
            return np.concatenate([s[:, 1:], s0[:, None]], axis=1)
        return np.concatenate([s0[:, None], s[:, :-1]], axis=1)

    @property
    def c_prev(self) -> np.ndarray:
        """(B, T, H): c_{t-1} of the recurrence (c[:, t+1] for go_backwards)."""
        return self._prev(self.c, self.c0)

    @property
    def h_prev(self) -> np.ndarray:
        return self._prev(self.h, self.h0)

    def saturation(self, eps: float = 0.1) -> dict[str, tuple[float, float]]:
        """Fraction of gate values near 0 (< eps) and near 1 (> 1 − eps), per gate:
        ``{"i": (low, high), …}`` (used steps only)."""
        out = {}
        m = None if self.mask is None else self.mask.astype(bool)
        for k in ("i", "f", "o"):
            a = self[k] if m is None else self[k][m]
            out[k] = (float(np.mean(a < eps)), float(np.mean(a > 1 - eps)))
        return out


def _lstm_arrays(cache):
    """Time-major arrays of an LSTM layer from its core cache."""
    H = cache.cs.shape[2]
    act = cache.act  # (T, B, 4H) i, f, g, o
    d = {k: act[:, :, n * H : (n + 1) * H] for n, k in enumerate(GATE_NAMES)}
    d.update(c=cache.cs[1:], h=cache.hs[1:], c0=cache.cs[0], h0=cache.hs[0])
    return d


def is_traceable(layer) -> bool:
    """Can :func:`trace` read the gates of this layer (an LSTM, or a variant that says how)?"""
    return isinstance(layer, LSTM) or hasattr(layer, "_trace_arrays")


class QuietLayers:
    """Switch dropout off and remember cache, states and RNG of recurrent layers."""

    def __init__(self, layers: Iterable[Recurrent]) -> None:
        self.layers = layers

    def __enter__(self):
        self.saved = [
            (
                ly.dropout,
                ly.recurrent_dropout,
                ly._cache,
                ly.states,
                ly.rng.bit_generator.state,
                getattr(ly, "stochastic", None),
            )
            for ly in self.layers
        ]
        for ly in self.layers:
            ly.dropout = ly.recurrent_dropout = 0.0
            if hasattr(ly, "stochastic"):  # e.g. zoneout: use the expectation
                ly.stochastic = False
            if ly.states is not None:
                ly.states = [s.copy() for s in ly.states]
        return self

    def __exit__(self, *exc):
        for ly, (d, rd, cache, states, rng, sto) in zip(self.layers, self.saved, strict=True):
            ly.dropout, ly.recurrent_dropout, ly._cache, ly.states = d, rd, cache, states
            ly.rng.bit_generator.state = rng
            if sto is not None and hasattr(ly, "stochastic"):
                ly.stochastic = sto


def _read(layer, name, mask):
    cache = layer._cache[0]
    d = {
        k: np.asarray(v)
        for k, v in (
            layer._trace_arrays(cache) if hasattr(layer, "_trace_arrays") else _lstm_arrays(cache)
        ).items()
    }
    extra: dict[str, np.ndarray] = {}
    out = {}
    for k, v in d.items():
        if k in ("c0", "h0"):
            out[k] = v.copy()
            continue
        v = v.transpose(1, 0, 2)  # (B, T, ·) batch-major
        if layer.go_backwards:
            v = v[:, ::-1]  # processing order → input order
        v = np.ascontiguousarray(v)
        (out if k in ("i", "f", "g", "o", "c", "h") else extra)[k] = v
    m = None if mask is None else np.asarray(mask).astype(layer.dtype)
    return Trace(name=name, go_backwards=layer.go_backwards, mask=m, extra=extra, **out)


def _run_traced(layer, x, mask, name):
    """Run one layer (LSTM or Bidirectional of LSTMs) with caches; return (y, traces)."""
    if isinstance(layer, Bidirectional):
        halves = [layer.forward_layer, layer.backward_layer]
        with QuietLayers(halves):
            y = layer.forward(x, training=True, mask=mask)
            tr = {
                f"{name}/forward": _read(halves[0], f"{name}/forward", mask),
                f"{name}/backward": _read(halves[1], f"{name}/backward", mask),
            }
        return y, tr
    with QuietLayers([layer]):
        y = layer.forward(x, training=True, mask=mask)
        tr = {name: _read(layer, name, mask)}
    return y, tr


def is_traceable_bidirectional(layer) -> bool:
    """A Bidirectional around a traceable layer."""
    return isinstance(layer, Bidirectional) and is_traceable(layer.forward_layer)


@overload
def trace(
    layer_or_model: Sequential | Bidirectional, x: ArrayLike, mask: ArrayLike | None = None
) -> dict[str, Trace]: ...
@overload
def trace(layer_or_model: Recurrent, x: ArrayLike, mask: ArrayLike | None = None) -> Trace: ...
@overload
def trace(
    layer_or_model: Layer, x: ArrayLike, mask: ArrayLike | None = None
) -> Trace | dict[str, Trace]: ...
def trace(
    layer_or_model: Layer | Sequential, x: ArrayLike, mask: ArrayLike | None = None
) -> Trace | dict[str, Trace]:
    """Gates i, f, g, o and states c, h of every LSTM layer for input x (batch, time, features).

    * an LSTM layer (or variant) → one :class:`Trace`;
    * a Bidirectional LSTM → ``{"<name>/forward": Trace, "<name>/backward": Trace}``;
    * a model (anything with ``.layers``) → a dict ``{layer name: Trace}`` in layer
      order, one entry per LSTM layer (two for a Bidirectional), computed by
      feeding x through every layer as inference does.

    ``mask`` (batch, time) of 0/1 is passed to the layers as a model would (and an
    Embedding with ``mask_zero`` adds its own through ``compute_mask``).
    """
    x = np.asarray(x)
    layers = getattr(layer_or_model, "layers", None)
    if layers is None:
        ly = layer_or_model
        if is_traceable_bidirectional(ly):
            return _run_traced(ly, x, mask, ly.name)[1]
        if not is_traceable(ly):
            raise TypeError(
                f"trace expected an LSTM layer, a Bidirectional LSTM or a model with "
                f".layers, got {type(ly).__name__}"
            )
        return _run_traced(ly, x, mask, ly.name)[1][ly.name]
    out = {}
    h = x
    for n, ly in enumerate(layers):
        name = ly.name if ly.name not in out else f"{ly.name}_{n}"
        next_mask = ly.compute_mask(mask, h)
        if is_traceable(ly) or is_traceable_bidirectional(ly):
            y, tr = _run_traced(ly, h, mask, name)
            out.update(tr)
        elif isinstance(ly, Recurrent):
            with QuietLayers([ly]):
                y = ly.forward(h, training=False, mask=mask)
        elif isinstance(ly, Bidirectional):
            with QuietLayers([ly.forward_layer, ly.backward_layer]):
                y = ly.forward(h, training=False, mask=mask)
        else:
            y = ly.forward(h, training=False, mask=mask)
        if isinstance(y, tuple):
            y = y[0]
        h, mask = y, next_mask
    if not out:
        raise ValueError(
            "trace found no LSTM layer in the model "
            f"(layers: {[type(ly).__name__ for ly in layers]})"
        )
    return out
