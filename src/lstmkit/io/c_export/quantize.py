"""Weights in the C layout, float32 or int8 (per-channel symmetric).

Every weight matrix is written as rows, one per output unit (see ``templates/kernels.c``):
a Conv1D's row o is its kernel W[:, :, o] (all taps), an AttentionPooling1D's row a is W[:, a]
(its b and v stay float32).
int8: each row r of each matrix gets its own scale, ``s_r = max_k |W[r, k]| / 127`` (stored
float32), and codes ``q[r, k] = round(W[r, k] / s_r)`` in [−127, 127]; the C code computes
``s_r · Σ_k q[r, k] x_k``. A recurrent row [W_x[:, j]; W_h[:, j]] has two scales, one per
matrix (inputs and h differ in scale). Biases stay float32; activations stay float32.

:func:`dequantized_model` is the same arithmetic in Python: a copy of the model whose weights
are ``s · q``, so the int8 C model's outputs (to float32 rounding) and its task metrics can be
had from ``predict``.
"""

from __future__ import annotations

import copy
from typing import TypeVar

import numpy as np

from ...layers import Bidirectional
from ...model import Sequential
from ..torch_interop import TimeMajorModel
from .plan import Cell, CLayer, plan_model

__all__ = [
    "M",
    "rows_q8",
    "cell_arrays",
    "dense_arrays",
    "conv_arrays",
    "attention_arrays",
    "embedding_arrays",
    "dequantized_model",
]

M = TypeVar("M", Sequential, TimeMajorModel)


def rows_q8(rows: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """rows (N, K) → (q (N, K) int8, s (N,) float32) with rows ≈ s[:, None] · q."""
    rows = np.asarray(rows, np.float64)
    amax = np.abs(rows).max(axis=1) if rows.shape[1] else np.zeros(rows.shape[0])
    s = np.where(amax > 0, amax / 127.0, 1.0).astype(np.float32)  # (N,)
    q = np.clip(np.rint(rows / s.astype(np.float64)[:, None]), -127, 127).astype(np.int8)
    return q, s


def _deq(q, s) -> np.ndarray:
    return q.astype(np.float64) * s.astype(np.float64)[:, None]


def cell_arrays(cell: Cell, int8: bool) -> dict:
    """W (G·H, D+H) rows [W_x[:, j]; W_h[:, j]], sx, sh (int8 only), b (G·H or 6H)."""
    b = np.asarray(cell.b, np.float32).reshape(-1)  # GRU: [b_x; b_h] flattened
    if not int8:
        W = np.concatenate([cell.W_x, cell.W_h], axis=0).T  # (G·H, D+H)
        return {"W": W.astype(np.float32), "b": b}
    qx, sx = rows_q8(cell.W_x.T)
    qh, sh = rows_q8(cell.W_h.T)
    return {"W": np.concatenate([qx, qh], axis=1), "sx": sx, "sh": sh, "b": b}


def dense_arrays(layer: CLayer, int8: bool) -> dict:
    """W (N, D) rows W[:, j], s (int8 only), b (N) or None."""
    b = None if layer.b is None else np.asarray(layer.b, np.float32)
    assert layer.W is not None  # a Dense layer always has its kernel
    if not int8:
        return {"W": layer.W.T.astype(np.float32), "b": b}
    q, s = rows_q8(layer.W.T)
    return {"W": q, "s": s, "b": b}


def conv_arrays(layer: CLayer, int8: bool) -> dict:
    """Conv1D: W (F, K·C) rows W[:, :, o] (tap j, channel c at j·C + c), s (int8 only), b."""
    b = None if layer.b is None else np.asarray(layer.b, np.float32)
    assert layer.W is not None
    K, C, F = layer.W.shape
    rows = layer.W.reshape(K * C, F).T  # (F, K·C)
    if not int8:
        return {"W": rows.astype(np.float32), "b": b}
    q, s = rows_q8(rows)
    return {"W": q, "s": s, "b": b}


def attention_arrays(layer: CLayer, int8: bool) -> dict:
    """AttentionPooling1D: W (A, C) rows W[:, a], s (int8 only), b (A,), v (A,) (float)."""
    assert layer.W is not None
    b, v = np.asarray(layer.b, np.float32), np.asarray(layer.v, np.float32)
    if not int8:
        return {"W": layer.W.T.astype(np.float32), "b": b, "v": v}
    q, s = rows_q8(layer.W.T)
    return {"W": q, "s": s, "b": b, "v": v}


def embedding_arrays(layer: CLayer, int8: bool) -> dict:
    """E (V, E) rows, s (V,) (int8 only)."""
    assert layer.W is not None  # an Embedding layer always has its table
    if not int8:
        return {"W": layer.W.astype(np.float32)}
    q, s = rows_q8(layer.W)
    return {"W": q, "s": s}


def _dequantized_params(cl: CLayer) -> list[list[np.ndarray]]:
    """The float weights the int8 C model computes with, per lstmkit layer (halves of a
    Bidirectional one after the other), in the layer's own parameter shapes."""
    if cl.kind == "embedding":
        a = embedding_arrays(cl, True)
        return [[_deq(a["W"], a["s"])]]
    if cl.kind == "dense":
        a = dense_arrays(cl, True)
        W = _deq(a["W"], a["s"]).T  # (D, N)
        return [[W] + ([] if cl.b is None else [cl.b])]
    if cl.kind == "conv":
        a = conv_arrays(cl, True)
        W = _deq(a["W"], a["s"]).T.reshape(cl.conv[0], cl.d_in, cl.d_out)  # (K, C, F)
        return [[W] + ([] if cl.b is None else [cl.b])]
    if cl.kind == "pool":
        a = attention_arrays(cl, True)
        return [[_deq(a["W"], a["s"]).T, a["b"], a["v"]]]  # W (C, A), b, v (float32)
    out = []
    for cell in cl.cells:
        a = cell_arrays(cell, True)
        D = cell.D
        qx, qh = a["W"][:, :D], a["W"][:, D:]
        out.append([_deq(qx, a["sx"]).T, _deq(qh, a["sh"]).T, cell.b])
    return out


def dequantized_model(model: M) -> M:
    """A copy of ``model`` whose weights are the int8 export's ``s · q``: its ``predict`` is
    what the ``quantize="int8"`` C code computes (to float32 rounding)."""
    plan = plan_model(model)
    twin = copy.deepcopy(model)
    for cl in plan.layers:
        if cl.kind in ("activation", "masking") or cl.pool in ("max", "mean"):
            continue
        layer = twin.layers[cl.index]
        halves = (
            [layer.forward_layer, layer.backward_layer]
            if isinstance(layer, Bidirectional)
            else [layer]
        )
        for half, params in zip(halves, _dequantized_params(cl), strict=True):
            for p, v in zip(half.params, params, strict=True):
                p[...] = np.asarray(v, np.float64).reshape(p.shape)
    return twin
