"""Connectionist temporal classification (Graves, Fernández, Gomez & Schmidhuber 2006),
in the log domain: the loss −log p(l | x), its gradient, and the per-frame label posteriors.

A network emits, at every frame t = 0 … T−1, a distribution y_t over C classes: the
labels and one extra *blank* (class ``blank``, 0 by default). A *path* π is one class
per frame; the many-to-one map 𝓑 removes repeated classes, then blanks
(𝓑(a a − a b −) = a a b). CTC scores a label sequence l (length L) by summing over
every path that 𝓑 maps onto it::

    p(l | x) = Σ_{π ∈ 𝓑⁻¹(l)} Π_t y_t(π_t)

The sum is a dynamic programme over the blank-extended sequence
l' = (−, l₁, −, l₂, −, …, l_L, −) of length S = 2L + 1 (blank at even s).
Forward variables α_t(s) = log Σ over path prefixes π_{0..t} that end in l'_s::

    α_0(0) = log y_0(−),   α_0(1) = log y_0(l₁),   α_0(s) = −∞ for s ≥ 2
    α_t(s) = log y_t(l'_s) + logsumexp( α_{t−1}(s), α_{t−1}(s−1),
                                        α_{t−1}(s−2) if l'_s ≠ − and l'_s ≠ l'_{s−2} )

The skip s−2 → s is allowed only onto a label that differs from the one two back:
between two equal labels (repeats, "1 1") the path must pass the blank, which is
why T ≥ L + (number of adjacent repeats) is needed. Then, with T_b frames::

    log p(l | x) = logsumexp( α_{T−1}(S−1), α_{T−1}(S−2) )

Backward variables β_t(s) = log Σ over path suffixes π_{t+1..T−1} that complete a path
from l'_s at t (the emission at t itself *not* included)::

    β_{T−1}(S−1) = β_{T−1}(S−2) = 0,   β_{T−1}(s) = −∞ otherwise
    β_t(s) = logsumexp( β_{t+1}(s)   + log y_{t+1}(l'_s),
                        β_{t+1}(s+1) + log y_{t+1}(l'_{s+1}),
                        β_{t+1}(s+2) + log y_{t+1}(l'_{s+2})  if the skip s → s+2 is allowed )

so that exp(α_t(s) + β_t(s)) is the probability mass of the paths through (t, s), and
Σ_s exp(α_t(s) + β_t(s)) = p(l | x) at every t. The posterior of class k at frame t is

    γ_t(k) = Σ_{s : l'_s = k} exp(α_t(s) + β_t(s) − log p(l | x))        (Σ_k γ_t(k) = 1)

and the gradient of ℓ = −log p(l | x)::

    ∂ℓ/∂ log y_t(k) = −γ_t(k)                      (log-probabilities as free inputs)
    ∂ℓ/∂z_t(k)      = y_t(k) − γ_t(k)              (through y_t = softmax(z_t))

Frames t ≥ T_b (padding) get zero gradient. A label sequence that no path of T_b frames
can produce (T_b too short) has p = 0: ℓ = +∞, with ``zero_infinity`` ℓ = 0; its
gradient is zero either way (PyTorch's ``zero_infinity`` convention).

Shapes: log_probs (B, T, C) batch-major; labels (B, L_max) integer, entries past
label_lengths[b] ignored; input_lengths (B,) in 1 … T; label_lengths (B,) in 0 … L_max.
All arithmetic is in float64 (log-domain sums lose nothing to underflow).
"""

from __future__ import annotations

import numpy as np
from numpy.typing import ArrayLike

__all__ = [
    "NEG_INF",
    "log_softmax",
    "check_lengths",
    "extend_labels",
    "forward_backward",
    "posteriors",
    "ctc_loss",
    "ctc_loss_from_logits",
    "min_frames",
]

NEG_INF = -np.inf


def log_softmax(z: ArrayLike) -> np.ndarray:
    """log y = z − logsumexp(z) over the last axis, in float64."""
    z = np.asarray(z, np.float64)
    s = z - z.max(axis=-1, keepdims=True)
    return s - np.log(np.exp(s).sum(axis=-1, keepdims=True))


def check_lengths(
    log_probs: ArrayLike,
    labels: ArrayLike,
    input_lengths: ArrayLike,
    label_lengths: ArrayLike,
    blank: int = 0,
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Validate the four inputs; → (log_probs float64 (B,T,C), labels int64 (B,L), T_b, L_b)."""
    lp = np.asarray(log_probs, np.float64)
    if lp.ndim != 3:
        raise ValueError(
            f"CTC expected log-probabilities of shape (batch, time, classes), got {lp.shape}"
        )
    B, T, C = lp.shape
    lab = np.asarray(labels)
    if lab.ndim == 1 and B == 1:
        lab = lab[None]
    if lab.size == 0:
        lab = np.zeros((B, 0), np.int64)
    if lab.ndim != 2 or lab.shape[0] != B:
        raise ValueError(f"CTC expected labels of shape ({B}, max_label_length), got {lab.shape}")
    lab = lab.astype(np.int64)
    Tb = np.broadcast_to(np.asarray(input_lengths, np.int64), (B,)).copy()
    Lb = np.broadcast_to(np.asarray(label_lengths, np.int64), (B,)).copy()
    if Tb.min() < 1 or Tb.max() > T:
        raise ValueError(f"CTC expected input lengths in [1, {T}], got {Tb.min()} … {Tb.max()}")
    if Lb.min() < 0 or Lb.max() > lab.shape[1]:
        raise ValueError(
            f"CTC expected label lengths in [0, {lab.shape[1]}], got {Lb.min()} … {Lb.max()}"
        )
    if not 0 <= blank < C:
        raise ValueError(f"CTC blank index must be in [0, {C}), got {blank}")
    valid = np.arange(lab.shape[1])[None, :] < Lb[:, None]  # (B, L)
    used = lab[valid]
    if used.size and (used.min() < 0 or used.max() >= C or np.any(used == blank)):
        raise ValueError(
            f"CTC expected labels in [0, {C}) other than the blank {blank}, "
            f"got values {sorted(set(used.tolist()))}"
        )
    return lp, np.where(valid, lab, blank), Tb, Lb


def extend_labels(
    labels: np.ndarray, label_lengths: np.ndarray, blank: int = 0
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """l' = (−, l₁, −, …, l_L, −) per row → (ext (B, S), valid (B, S), skip (B, S)).

    S = 2·L_max + 1; valid[b, s] = s < 2·L_b + 1; skip[b, s]: the transition s−2 → s
    is allowed (l'_s is a label and differs from l'_{s−2})."""
    B, L = labels.shape
    S = 2 * L + 1
    ext = np.full((B, S), blank, np.int64)  # blank-extended labels
    ext[:, 1::2] = labels
    valid = np.arange(S)[None, :] < (2 * label_lengths[:, None] + 1)
    skip = np.zeros((B, S), bool)
    skip[:, 2:] = (ext[:, 2:] != blank) & (ext[:, 2:] != ext[:, :-2])
    return ext, valid, skip & valid


def _shift(a: np.ndarray, k: int) -> np.ndarray:
    """a shifted along the last axis by k (k > 0: a[s−k] at s; k < 0: a[s+|k|] at s), −∞ filled."""
    out = np.full_like(a, NEG_INF)
    if k > 0:
        out[..., k:] = a[..., :-k]
    else:
        out[..., :k] = a[..., -k:]
    return out


def forward_backward(
    log_probs: ArrayLike,
    labels: ArrayLike,
    input_lengths: ArrayLike,
    label_lengths: ArrayLike,
    blank: int = 0,
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """The CTC dynamic programme → (log p (B,), α (T,B,S), β (T,B,S), ext, valid).

    α and β as in the module docstring; entries at t ≥ T_b or s ≥ S_b are −∞."""
    lp, lab, Tb, Lb = check_lengths(log_probs, labels, input_lengths, label_lengths, blank)
    B, T, C = lp.shape
    ext, valid, skip = extend_labels(lab, Lb, blank)
    S = ext.shape[1]
    rows = np.arange(B)
    # e[t, b, s] = log y_t(l'_s): the emission of each extended position, −∞ where s ≥ S_b
    e = np.take_along_axis(lp, np.broadcast_to(ext[:, None, :], (B, T, S)), axis=2)
    e = np.where(valid[:, None, :], e, NEG_INF).transpose(1, 0, 2)  # (T, B, S)
    active = np.arange(T)[:, None] < Tb[None, :]  # (T, B): frame t is inside sample b

    alpha = np.full((T, B, S), NEG_INF)  # α_t(s)
    alpha[0, :, 0] = e[0, :, 0]
    if S > 1:
        alpha[0, :, 1] = e[0, :, 1]
    for t in range(1, T):
        a = alpha[t - 1]
        a2 = np.where(skip, _shift(a, 2), NEG_INF)
        alpha[t] = np.logaddexp(np.logaddexp(a, _shift(a, 1)), a2) + e[t]
    alpha[~active] = NEG_INF

    last = Tb - 1  # the final frame of each sample
    Sb = 2 * Lb + 1
    fin_a = alpha[last, rows, Sb - 1]
    fin_b = np.where(Lb > 0, alpha[last, rows, np.maximum(Sb - 2, 0)], NEG_INF)
    logp = np.logaddexp(fin_a, fin_b)  # log p(l | x), (B,)

    init = np.full((B, S), NEG_INF)  # β_{T_b−1}: 0 (= log 1) at S_b−1 and S_b−2
    init[rows, Sb - 1] = 0.0
    init[rows[Lb > 0], (Sb - 2)[Lb > 0]] = 0.0
    skip_next = np.zeros_like(skip)  # the skip s → s+2 is allowed
    skip_next[:, :-2] = skip[:, 2:]
    beta = np.full((T, B, S), NEG_INF)  # β_t(s)
    beta[T - 1] = np.where((last == T - 1)[:, None], init, NEG_INF)
    for t in range(T - 2, -1, -1):
        nb = beta[t + 1] + e[t + 1]  # β_{t+1}(s) + log y_{t+1}(l'_s)
        b2 = np.where(skip_next, _shift(nb, -2), NEG_INF)
        rec = np.logaddexp(np.logaddexp(nb, _shift(nb, -1)), b2)
        beta[t] = np.where((last == t)[:, None], init, np.where((t < last)[:, None], rec, NEG_INF))
    return logp, alpha, beta, ext, valid


def posteriors(
    log_probs: ArrayLike,
    labels: ArrayLike,
    input_lengths: ArrayLike,
    label_lengths: ArrayLike,
    blank: int = 0,
) -> tuple[np.ndarray, np.ndarray]:
    """→ (log p (B,), γ (B, T, C)): γ_t(k), the posterior that frame t emits class k given
    that the whole utterance reads l (the CTC *alignment*). Zero at t ≥ T_b, and zero for
    a sample whose labels cannot be produced in T_b frames (p = 0)."""
    logp, alpha, beta, ext, valid = forward_backward(
        log_probs, labels, input_lengths, label_lengths, blank
    )
    T, B, S = alpha.shape
    C = np.shape(log_probs)[-1]
    ok = np.isfinite(logp)  # samples with at least one path
    with np.errstate(invalid="ignore"):
        log_occ = alpha + beta - np.where(ok, logp, 0.0)[None, :, None]  # (T, B, S)
    occ = np.where(ok[None, :, None], np.exp(log_occ), 0.0)  # exp(−∞) = 0 at invalid (t, s)
    onehot = np.zeros((B, S, C))  # [l'_s = k] over the valid extended positions
    np.put_along_axis(onehot, ext[..., None], 1.0, axis=2)
    onehot *= valid[..., None]
    gamma = np.einsum("tbs,bsc->btc", occ, onehot)  # γ (B, T, C)
    return logp, gamma


def ctc_loss(
    log_probs: ArrayLike,
    labels: ArrayLike,
    input_lengths: ArrayLike,
    label_lengths: ArrayLike,
    blank: int = 0,
    zero_infinity: bool = False,
) -> tuple[np.ndarray, np.ndarray]:
    """→ (ℓ (B,), ∂ℓ/∂log_probs (B, T, C)) with ℓ_b = −log p(l_b | x_b) and gradient −γ.

    ``log_probs`` are treated as free inputs; for the gradient w.r.t. logits z (with
    log_probs = log_softmax(z)) use :func:`ctc_loss_from_logits`."""
    logp, gamma = posteriors(log_probs, labels, input_lengths, label_lengths, blank)
    nll = -logp
    if zero_infinity:
        nll = np.where(np.isfinite(nll), nll, 0.0)
    return nll, -gamma


def ctc_loss_from_logits(
    logits: ArrayLike,
    labels: ArrayLike,
    input_lengths: ArrayLike,
    label_lengths: ArrayLike,
    blank: int = 0,
    zero_infinity: bool = False,
) -> tuple[np.ndarray, np.ndarray]:
    """→ (ℓ (B,), ∂ℓ/∂z (B, T, C)) for y_t = softmax(z_t): ∂ℓ/∂z_t(k) = y_t(k) − γ_t(k) at
    frames t < T_b of samples with p > 0, and 0 elsewhere."""
    lp = log_softmax(logits)
    logp, gamma = posteriors(lp, labels, input_lengths, label_lengths, blank)
    B, T, _ = lp.shape
    Tb = np.broadcast_to(np.asarray(input_lengths, np.int64), (B,))
    live = (np.arange(T)[None, :] < Tb[:, None]) & np.isfinite(logp)[:, None]  # (B, T)
    dz = np.where(live[..., None], np.exp(lp) - gamma, 0.0)
    nll = -logp
    if zero_infinity:
        nll = np.where(np.isfinite(nll), nll, 0.0)
    return nll, dz


def min_frames(labels: np.ndarray) -> int:
    """The fewest frames that can carry ``labels``: L + the number of adjacent repeats
    (each repeat needs a blank between the two copies)."""
    lab = np.asarray(labels).ravel()
    return int(len(lab) + np.sum(lab[1:] == lab[:-1]))
