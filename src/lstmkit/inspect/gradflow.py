"""``gradient_flow``: how large ∂L/∂h_t (and ∂L/∂c_t) is at every time step.

This is the vanishing-gradient picture of the seeds, measured: with the loss on
the last step only, ‖∂L/∂h_t‖ of a SimpleRNN shrinks geometrically as t moves
back from T (each step multiplies by W_hᵀ·diag(1 − h²)), while the LSTM's cell
path ``dc_{t-1} = dc_t ⊙ f_t`` lets it survive when the forget gates are near 1.

How the numbers are made (so you can trust them):

* forward: the model's own layers, ``forward(x, training=True)`` with dropout
  switched off (as in :func:`lstmkit.inspect.trace`);
* the loss gradient dL/dŷ is pushed down through the layers with their own
  ``backward``; when it reaches a recurrent layer (LSTM, GRU, SimpleRNN), the
  gradient of its output sequence ``dhs`` and final states is handed to a
  step-by-step walk with the **reference** backward step of its cell
  (:func:`lstmkit.core.reference.lstm_step_backward`,
  :func:`lstmkit.core.gru.gru_step_backward`,
  :func:`lstmkit.core.rnn.rnn_step_backward` — the spec the fast kernels are
  tested against), fed with the fast forward's cache and the layer's weights.
  At each step the walk records

      dh_t = dL/dh_t   (from the output at t and from step t+1, before the step)
      dc_t = dL/dc_t   (from step t+1 and through h_t = o ⊙ tanh(c_t))

  i.e. the total derivative with respect to the node h_t / c_t — what
  ``h_t.retain_grad()`` gives in PyTorch (tested against it). The layer's own
  ``backward`` then continues to the layers below.

The norm at step t is the Frobenius norm over (batch, units) of the batch
loss's gradient. Steps are indexed by input position (``go_backwards`` undone).
Bidirectional layers are passed through but not recorded.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import overload

import numpy as np
from numpy.typing import ArrayLike

from ..core import gru as gru_core
from ..core import lstm as lstm_core
from ..core import reference
from ..core import rnn as rnn_core
from ..layers.base import Layer
from ..layers.bidirectional import Bidirectional
from ..layers.recurrent import Recurrent
from ..model import Sequential
from .trace import QuietLayers

__all__ = ["GradientFlow", "gradient_flow"]


@dataclass
class GradientFlow:
    """Per-step gradient norms of one recurrent layer."""

    name: str
    kind: str  # "LSTM", "GRU", "SimpleRNN", …
    dh: np.ndarray  # (T,) ‖∂L/∂h_t‖
    dc: np.ndarray | None  # (T,) ‖∂L/∂c_t‖ (cells with a c state), else None
    loss: float
    dh_full: np.ndarray | None = None  # (B, T, H) ∂L/∂h_t itself (keep_full=True)
    dc_full: np.ndarray | None = None


# ------------------------------------------------------------------- losses
def _loss_and_grad(loss, y_pred, y):
    """(L, dL/dŷ) for a loss name or a callable ``loss(y_pred, y) -> (L, dL/dŷ)``."""
    if callable(loss):
        return loss(y_pred, y)
    y_pred = np.asarray(y_pred)
    if loss == "mse":  # L = mean((ŷ − y)²)
        d = y_pred - np.asarray(y, y_pred.dtype).reshape(y_pred.shape)
        return float(np.mean(d * d)), 2 * d / d.size
    if loss in ("sparse_categorical_crossentropy", "categorical_crossentropy"):
        p = np.clip(y_pred, 1e-12, None)  # ŷ are probabilities
        if loss == "sparse_categorical_crossentropy":
            onehot = np.zeros_like(p)
            idx = np.asarray(y, np.int64)
            np.put_along_axis(onehot, idx[..., None], 1.0, axis=-1)
        else:
            onehot = np.asarray(y, p.dtype)
        n = p.size // p.shape[-1]  # L = −mean Σ y log p
        return float(-np.sum(onehot * np.log(p)) / n), -onehot / p / n
    raise ValueError(
        f"loss must be 'mse', 'sparse_categorical_crossentropy', "
        f"'categorical_crossentropy' or a callable, got {loss!r}"
    )


# ------------------------------------------------- per-step walks, time-major
def _lstm_walk(cache: lstm_core.LSTMCache, dhs, d_final, W_x, W_h):
    """Reference BPTT over an LSTM fast-path cache; returns dh_t, dc_t (T, B, H)."""
    T, B, _ = cache.x.shape
    H = W_h.shape[0]
    dh = np.zeros((B, H), W_h.dtype) if d_final[0] is None else np.array(d_final[0])
    dc = np.zeros((B, H), W_h.dtype) if d_final[1] is None else np.array(d_final[1])
    rec_h, rec_c = np.empty((T, B, H)), np.empty((T, B, H))
    act = cache.act
    assert act is not None  # a cache for backward keeps its activations
    for t in range(T - 1, -1, -1):
        if dhs is not None:
            dh = dh + dhs[t]  # dh_t += dy_t
        a = act[t]
        i, f, g, o = a[:, :H], a[:, H : 2 * H], a[:, 2 * H : 3 * H], a[:, 3 * H :]
        m_t = None if cache.mask is None else cache.mask[t]
        m = 1.0 if m_t is None else m_t[:, None]
        tc = cache.tc[t]
        rec_h[t] = dh
        rec_c[t] = dc + m * dh * o * (1 - tc * tc)  # dL/dc_t, all paths
        h_prev = cache.hs[t]
        hr = h_prev if cache.rmask is None else h_prev * cache.rmask
        step = (cache.x[t], h_prev, hr, cache.cs[t], i, f, g, o, tc, m_t, cache.rmask)
        _, dh, dc, *_ = reference.lstm_step_backward(dh, dc, step, W_x, W_h)
    return rec_h, rec_c


def _gru_walk(cache: gru_core.GRUCache, dhs, d_final, W_x, W_h):
    T, B, _ = cache.x.shape
    H = W_h.shape[0]
    dh = np.zeros((B, H), W_h.dtype) if d_final[0] is None else np.array(d_final[0])
    rec_h = np.empty((T, B, H))
    act = cache.act
    assert act is not None  # a cache for backward keeps its activations
    for t in range(T - 1, -1, -1):
        if dhs is not None:
            dh = dh + dhs[t]
        rec_h[t] = dh
        a = act[t]
        z, r, n = a[:, :H], a[:, H : 2 * H], a[:, 2 * H :]
        h_prev = cache.hs[t]
        hr = h_prev if cache.rmask is None else h_prev * cache.rmask
        m_t = None if cache.mask is None else cache.mask[t]
        step = (cache.x[t], h_prev, hr, z, r, n, cache.u_n[t], m_t, cache.rmask)
        _, dh, *_ = gru_core.gru_step_backward(dh, step, W_x, W_h)
    return rec_h, None


def _rnn_walk(cache: rnn_core.RNNCache, dhs, d_final, W_x, W_h):
    T, B, _ = cache.x.shape
    H = W_h.shape[0]
    dh = np.zeros((B, H), W_h.dtype) if d_final[0] is None else np.array(d_final[0])
    rec_h = np.empty((T, B, H))
    for t in range(T - 1, -1, -1):
        if dhs is not None:
            dh = dh + dhs[t]
        rec_h[t] = dh
        h_prev = cache.hs[t]
        hr = h_prev if cache.rmask is None else h_prev * cache.rmask
        m_t = None if cache.mask is None else cache.mask[t]
        _, dh, *_ = rnn_core.rnn_step_backward(
            dh, (cache.x[t], hr, cache.act[t], m_t, cache.rmask), W_x, W_h
        )
    return rec_h, None


def _state_grads(layer, dy):
    """dL/dh_t, dL/dc_t (time-major) of a recurrent layer whose forward cache is live,
    given the gradient dy of its output (as its ``backward`` would receive it)."""
    cache = layer._cache[0]
    d_states = None
    if isinstance(dy, (tuple, list)):
        dy, *d_states = dy
    d_final: list[np.ndarray | None] = [None] * layer.n_states
    if d_states:
        d_final = [None if d is None else np.asarray(d) for d in d_states]
    dhs = None
    if layer.return_sequences:
        dhs = np.asarray(dy).transpose(1, 0, 2)
    else:
        d_final[0] = np.asarray(dy) if d_final[0] is None else d_final[0] + dy
    if hasattr(layer, "_state_grads"):  # variants bring their own walk
        return layer._state_grads(cache, dhs, d_final)
    W_x, W_h = layer.params[0], layer.params[1]
    if isinstance(cache, lstm_core.LSTMCache):
        return _lstm_walk(cache, dhs, d_final, W_x, W_h)
    if isinstance(cache, gru_core.GRUCache):
        return _gru_walk(cache, dhs, d_final, W_x, W_h)
    if isinstance(cache, rnn_core.RNNCache):
        return _rnn_walk(cache, dhs, d_final, W_x, W_h)
    raise TypeError(f"gradient_flow does not know the cell of {type(layer).__name__}")


def _norms(a, go_backwards):
    """(T, B, H) time-major → per-step norms (T,) and (B, T, H), in input order."""
    if a is None:
        return None, None
    full = a.transpose(1, 0, 2)
    if go_backwards:
        full = full[:, ::-1]
    full = np.ascontiguousarray(full)
    return np.sqrt(np.einsum("bth,bth->t", full, full)), full


# -------------------------------------------------------------------- public
@overload
def gradient_flow(
    model_or_layer: Sequential,
    x: ArrayLike,
    y: ArrayLike,
    loss: str | Callable[[np.ndarray, np.ndarray], tuple[float, np.ndarray]] = "mse",
    mask: ArrayLike | None = None,
    keep_full: bool = False,
) -> dict[str, GradientFlow]: ...
@overload
def gradient_flow(
    model_or_layer: Layer,
    x: ArrayLike,
    y: ArrayLike,
    loss: str | Callable[[np.ndarray, np.ndarray], tuple[float, np.ndarray]] = "mse",
    mask: ArrayLike | None = None,
    keep_full: bool = False,
) -> GradientFlow: ...
def gradient_flow(
    model_or_layer: Layer | Sequential,
    x: ArrayLike,
    y: ArrayLike,
    loss: str | Callable[[np.ndarray, np.ndarray], tuple[float, np.ndarray]] = "mse",
    mask: ArrayLike | None = None,
    keep_full: bool = False,
) -> GradientFlow | dict[str, GradientFlow]:
    """‖∂L/∂h_t‖ (and ‖∂L/∂c_t‖) at every step t for each recurrent layer.

    ``model_or_layer``: a recurrent layer (its output is compared with y) or a
    model with ``.layers`` (the last layer's output is compared with y).
    ``loss``: "mse", "sparse_categorical_crossentropy", "categorical_crossentropy"
    (on probabilities) or ``callable(y_pred, y) -> (L, dL/dy_pred)``.
    Returns a :class:`GradientFlow` for a layer, ``{layer name: GradientFlow}`` for
    a model. The model's parameters, gradients, caches and states are left as they were.
    """
    x = np.asarray(x)
    found = getattr(model_or_layer, "layers", None)
    single = found is None
    layers: list = [model_or_layer] if found is None else found
    if single:
        if not isinstance(model_or_layer, Recurrent):
            raise TypeError(
                f"gradient_flow expected a recurrent layer or a model with .layers, "
                f"got {type(model_or_layer).__name__}"
            )
    rec = []
    for ly in layers:
        if isinstance(ly, Bidirectional):
            rec += [ly.forward_layer, ly.backward_layer]
        elif isinstance(ly, Recurrent):
            rec.append(ly)
    if not rec:
        raise ValueError(
            "gradient_flow found no recurrent layer "
            f"(layers: {[type(ly).__name__ for ly in layers]})"
        )
    saved_grads = [[g.copy() for g in ly.grads] for ly in layers]
    out = {}
    with QuietLayers(rec):
        h, m = x, mask
        for ly in layers:  # forward, keeping caches
            nm = ly.compute_mask(m, h)
            is_rec = isinstance(ly, (Recurrent, Bidirectional))
            h = ly.forward(h, training=is_rec, mask=m)
            m = nm
        L, dy = _loss_and_grad(loss, h if not isinstance(h, tuple) else h[0], y)
        for n in range(len(layers) - 1, -1, -1):  # backward, recording
            ly = layers[n]
            if isinstance(ly, Recurrent):
                gh, gc = _state_grads(ly, dy)
                dh, dh_full = _norms(gh, ly.go_backwards)
                dc, dc_full = _norms(gc, ly.go_backwards)
                name = ly.name if ly.name not in out else f"{ly.name}_{n}"
                out[name] = GradientFlow(
                    name,
                    type(ly).__name__,
                    dh,
                    dc,
                    L,
                    dh_full if keep_full else None,
                    dc_full if keep_full else None,
                )
            if n > 0:
                dy = ly.backward(dy)
    for ly, gs in zip(layers, saved_grads, strict=True):
        for g, s in zip(ly.grads, gs, strict=False):
            g[...] = s
    if single:
        return next(iter(out.values()))
    return dict(reversed(list(out.items())))  # layer order, bottom first
