"""Attention layers in Keras's names: ``Attention`` (Luong, dot product) and
``AdditiveAttention`` (Bahdanau). Same arguments, weights and masks as
``keras.layers.Attention`` / ``keras.layers.AdditiveAttention``.

Inputs are a list ``[query (B, Tq, D), value (B, Tv, Dv), key (B, Tv, D)]`` (key
defaults to value); ``mask=[query_mask (B, Tq), value_mask (B, Tv)]`` (either may be
None; True marks a real step, False padding)::

    scores   S = Q·Kᵀ (× s if use_scale)                   Attention, score_mode "dot"
             S = w · Σ_d tanh(s·(q_d + k_d))              Attention, score_mode "concat"
             S = Σ_d s_d · tanh(q_d + k_d)                AdditiveAttention (s: (D,) if use_scale)
    padding  S ← S − 10⁹ where value_mask is False (and where j > i with use_causal_mask)
    weights  A = softmax(S) over Tv;  in training with dropout p: Ã = A ⊙ m / (1 − p)
    output   O = Ã·V   (B, Tq, Dv);   O ← 0 where query_mask is False

Backward, from dO::

    dO ← dO ⊙ query_mask;   dV = Ãᵀ·dO;   dÃ = dO·Vᵀ;   dA = dÃ ⊙ m / (1 − p)
    dS = A ⊙ (dA − Σ_j dA ⊙ A)                        (softmax; the −10⁹ shift passes dS on)
    dot:       dQ = s·dS·K;   dK = s·dSᵀ·Q;   ds = Σ dS ⊙ Q·Kᵀ
    additive:  U = tanh(q_i + k_j);  dZ = (dS ⊗ s) ⊙ (1 − U²);  dQ = Σ_j dZ;  dK = Σ_i dZ;
               ds = Σ dS ⊗ U
    concat:    P = q_i + k_j;  U = tanh(s·P);  dw = Σ dS ⊙ Σ_d U;  dZ = w·dS ⊙ (1 − U²);
               dQ = s·Σ_j dZ;  dK = s·Σ_i dZ;  ds = Σ dZ ⊙ P

``backward`` returns ``[dQ, dV, dK]`` (``[dQ, dV + dK]`` when no key was given).
"""

from __future__ import annotations

import numpy as np

from ..core.activations import softmax
from .base import Layer

__all__ = ["SCORE_MODES", "PADDING_SHIFT", "Attention", "AdditiveAttention"]

SCORE_MODES = ("dot", "concat")
PADDING_SHIFT = 1.0e9  # Keras' shift for masked scores (float32 / float64)


class Attention(Layer):
    """Dot-product (Luong) attention; ``score_mode="concat"`` is Keras' tanh-of-sum score."""

    type_name = "Attention"

    def __init__(
        self, use_scale: bool = False, score_mode: str = "dot", dropout: float = 0.0, **kw
    ):
        super().__init__(**kw)
        if score_mode not in SCORE_MODES:
            raise ValueError(f"score_mode must be one of {SCORE_MODES}, got {score_mode!r}")
        if not 0.0 <= dropout < 1.0:
            raise ValueError(f"dropout must be in [0, 1), got {dropout!r}")
        self.use_scale = bool(use_scale)
        self.score_mode = score_mode
        self.dropout = float(dropout)
        self._cache: tuple | None = None

    # ---------------------------------------------------------------- build
    def _add_scalar(self, name: str, value: float) -> None:
        self.params.append(np.array(value, self.dtype))  # shape (), as Keras
        self.grads.append(np.zeros((), self.dtype))
        self.param_names.append(name)

    def build(self, input_shape):
        shapes = [tuple(s) for s in input_shape]
        if not 2 <= len(shapes) <= 3:
            raise ValueError(
                f"{type(self).__name__} expected 2 or 3 input shapes (query, value, key), "
                f"got {len(shapes)}"
            )
        Layer.build(self, shapes)
        if self.use_scale:
            self._add_scalar("scale", 1.0)
        if self.score_mode == "concat":
            self._add_scalar("concat_score_weight", 1.0)

    def _index(self, name):
        return self.param_names.index(name)

    def compute_output_shape(self, input_shape):
        return (*input_shape[0][:-1], input_shape[1][-1])

    def output_mask(self, inputs, mask):
        """The query's mask (Keras): ``mask`` is [query_mask, value_mask] or None."""
        return None if not mask else mask[0]

    # ------------------------------------------------------------- checking
    def _inputs(self, inputs):
        name = type(self).__name__
        if not isinstance(inputs, (list, tuple)) or not 2 <= len(inputs) <= 3:
            raise ValueError(
                f"{name} expected a list [query, value] or [query, value, key], got "
                f"{type(inputs).__name__}"
                + (f" of length {len(inputs)}" if isinstance(inputs, (list, tuple)) else "")
            )
        arrs = [np.asarray(a) for a in inputs]
        for nm, a in zip(("query", "value", "key"), arrs, strict=False):
            if a.ndim != 3 or a.dtype.kind not in "fiu":
                raise ValueError(
                    f"{name} expected {nm} of shape (batch, time, features), got "
                    f"{tuple(a.shape)} {a.dtype}"
                )
        q, v = (a.astype(self.dtype, copy=False) for a in arrs[:2])
        k = arrs[2].astype(self.dtype, copy=False) if len(arrs) == 3 else v
        if not (q.shape[0] == v.shape[0] == k.shape[0]) or k.shape[1] != v.shape[1]:
            raise ValueError(
                f"{name} expected query (B, Tq, D), value (B, Tv, Dv), key (B, Tv, D) with one B "
                f"and one Tv, got {q.shape}, {v.shape}, {k.shape}"
            )
        if q.shape[2] != k.shape[2]:
            raise ValueError(
                f"{name} expected query and key with the same last size, got {q.shape[2]} "
                f"and {k.shape[2]}"
            )
        return q, v, k, len(arrs) == 3

    @staticmethod
    def _mask(m, shape, what):
        if m is None:
            return None
        m = np.asarray(m)
        if m.shape != shape:
            raise ValueError(f"Attention expected {what} of shape {shape}, got {m.shape}")
        return m.astype(bool)

    # -------------------------------------------------------------- scores
    def _scores(self, q, k):
        """S (B, Tq, Tv) and what backward needs."""
        if self.score_mode == "dot":
            S0 = q @ np.swapaxes(k, 1, 2)  # (B, Tq, Tv)
            return (S0 * self.params[0] if self.use_scale else S0), S0
        P = q[:, :, None, :] + k[:, None, :, :]  # (B, Tq, Tv, D)
        U = np.tanh(self.params[0] * P if self.use_scale else P)
        w = self.params[self._index("concat_score_weight")]
        return w * U.sum(-1), (P, U)

    def _scores_backward(self, dS, q, k, aux):
        if self.score_mode == "dot":
            g = dS * self.params[0] if self.use_scale else dS
            if self.use_scale:
                self.grads[0][...] = np.sum(dS * aux)  # ds = Σ dS ⊙ Q·Kᵀ
            return g @ k, np.swapaxes(g, 1, 2) @ q
        P, U = aux
        j = self._index("concat_score_weight")
        self.grads[j][...] = np.sum(dS * U.sum(-1))  # dw = Σ dS ⊙ Σ_d U
        dZ = (self.params[j] * dS)[..., None] * (1 - U * U)  # (B, Tq, Tv, D)
        if self.use_scale:
            self.grads[0][...] = np.sum(dZ * P)
            dZ = dZ * self.params[0]
        return dZ.sum(2), dZ.sum(1)

    # ------------------------------------------------------------- forward
    def forward(
        self,
        inputs,
        training=False,
        mask=None,
        return_attention_scores: bool = False,
        use_causal_mask: bool = False,
    ):
        q, v, k, has_key = self._inputs(inputs)
        if not self.built:
            self.build([a.shape[1:] for a in ((q, v, k) if has_key else (q, v))])
        B, Tq, _ = q.shape
        Tv = v.shape[1]
        if mask is not None and not isinstance(mask, (list, tuple)):
            raise ValueError("Attention expected mask=[query_mask, value_mask]")
        q_mask, v_mask = (list(mask) + [None, None])[:2] if mask is not None else (None, None)
        q_mask = self._mask(q_mask, (B, Tq), "query_mask")
        v_mask = self._mask(v_mask, (B, Tv), "value_mask")
        S, aux = self._scores(q, k)  # (B, Tq, Tv)
        keep = None if v_mask is None else v_mask[:, None, :]  # (B, 1, Tv)
        if use_causal_mask:
            causal = np.tril(np.ones((Tq, Tv), bool))[None]  # j ≤ i
            keep = causal if keep is None else keep & causal
        if keep is not None:
            S = np.where(keep, S, S - PADDING_SHIFT)
        A = softmax(S, axis=-1)  # (B, Tq, Tv) attention weights
        drop = None
        Ad = A
        if training and self.dropout > 0:
            drop = (self.rng.random(A.shape) >= self.dropout).astype(self.dtype)
            drop /= 1 - self.dropout
            Ad = A * drop
        out = Ad @ v  # O = Ã·V   (B, Tq, Dv)
        qm = None
        if q_mask is not None:
            qm = q_mask[..., None].astype(self.dtype)  # (B, Tq, 1)
            out = out * qm
        self._cache = (q, v, k, has_key, A, Ad, drop, qm, aux) if training else None
        return (out, Ad) if return_attention_scores else out

    # ------------------------------------------------------------ backward
    def backward(self, dy):
        if self._cache is None:
            raise RuntimeError(
                f"{type(self).__name__}.backward needs a forward(inputs, training=True) first"
            )
        q, v, k, has_key, A, Ad, drop, qm, aux = self._cache
        dO = np.asarray(dy, self.dtype)
        if qm is not None:
            dO = dO * qm
        dv = np.swapaxes(Ad, 1, 2) @ dO  # dV = Ãᵀ·dO      (B, Tv, Dv)
        dA = dO @ np.swapaxes(v, 1, 2)  # dÃ = dO·Vᵀ      (B, Tq, Tv)
        if drop is not None:
            dA *= drop
        dS = A * (dA - (dA * A).sum(-1, keepdims=True))  # softmax backward
        dq, dk = self._scores_backward(dS, q, k, aux)
        if not has_key:
            return [dq, dv + dk]
        return [dq, dv, dk]

    def get_config(self):
        return {
            **super().get_config(),
            "use_scale": self.use_scale,
            "score_mode": self.score_mode,
            "dropout": self.dropout,
        }


class AdditiveAttention(Attention):
    """Additive (Bahdanau) attention: S_ij = Σ_d s_d · tanh(q_id + k_jd).

    As in Keras there are no projection weights inside: project query and key with
    ``Dense`` layers first (Bahdanau's W_q·q and W_k·k). ``scale`` (D,) starts
    glorot-uniform, as Keras."""

    type_name = "AdditiveAttention"

    def __init__(self, use_scale: bool = True, dropout: float = 0.0, **kw):
        super().__init__(use_scale=use_scale, score_mode="dot", dropout=dropout, **kw)

    def build(self, input_shape):
        shapes = [tuple(s) for s in input_shape]
        if not 2 <= len(shapes) <= 3:
            raise ValueError(
                f"AdditiveAttention expected 2 or 3 input shapes (query, value, key), "
                f"got {len(shapes)}"
            )
        Layer.build(self, shapes)
        if self.use_scale:
            D = int(shapes[0][-1])
            limit = np.sqrt(6.0 / (D + D))  # glorot uniform of a (D,) vector: fan_in = fan_out = D
            self._add_param("scale", self.rng.uniform(-limit, limit, D))

    def _scores(self, q, k):
        U = np.tanh(q[:, :, None, :] + k[:, None, :, :])  # (B, Tq, Tv, D)
        S = U @ self.params[0] if self.use_scale else U.sum(-1)  # (B, Tq, Tv)
        return S, U

    def _scores_backward(self, dS, q, k, U):
        if self.use_scale:
            s = self.params[0]
            self.grads[0][...] = np.tensordot(dS, U, axes=([0, 1, 2], [0, 1, 2]))  # ds = Σ dS ⊗ U
            dZ = dS[..., None] * s * (1 - U * U)
        else:
            dZ = dS[..., None] * (1 - U * U)
        return dZ.sum(2), dZ.sum(1)

    def get_config(self):
        cfg = super().get_config()
        del cfg["score_mode"]
        return cfg
