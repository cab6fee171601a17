"""The baselines every classify result is printed beside: the majority class, 1-NN
Euclidean and 1-NN DTW with a warping window (Sakoe–Chiba band), in NumPy.

Sequences are lists of (T_k, F) arrays, after the same normalisation the model sees.

* **Euclidean**: d(a, b)² = Σ_t Σ_f (a_tf − b_tf)². Sequences of different lengths are
  padded at the end with zeros to the longest (after z-normalisation zero is the
  sequence's mean).
* **DTW** (dependent, multivariate: the local cost is the squared Euclidean distance
  between the feature vectors of two steps)::

      D[i, j] = c[i, j] + min(D[i−1, j−1], D[i−1, j], D[i, j−1]),   c[i, j] = ‖q_i − s_j‖²

  with D[0, 0] = c[0, 0], over the band |j − i·(m−1)/(n−1)| ≤ r around the diagonal
  (n, m the two lengths; r = ⌈window · mean training length⌉ steps, at least 1: for
  sequences of one length this is the usual band of ``window`` × the length; 0.1 by
  default). A row is computed at once: with A[j] = c[i, j] + min(D[i−1, j−1], D[i−1, j])
  and S the running sum of c[i, ·] along the row,
  D[i, j] = S[j] + min_{k ≤ j}(A[k] − S[k])  (one ``np.minimum.accumulate``).
  Candidates are visited in order of their LB_Keogh lower bound (the query's distance
  to the candidate's envelope of radius r + 1 along the scaled diagonal) and the search
  stops when the next bound is no better than the best distance found: the same
  neighbour as the exhaustive search, much faster.
"""

from __future__ import annotations

import math

import numpy as np

__all__ = ["Baselines", "compute_baselines", "dtw_distance", "nn1_dtw", "nn1_euclidean"]

DTW_WINDOW = 0.1  # the band's half-width as a fraction of the mean training length


def _padded(seqs, T=None) -> np.ndarray:
    """(n, T, F) float64, each sequence at the start, zeros after it."""
    T = T or max(len(s) for s in seqs)
    F = seqs[0].shape[1]
    out = np.zeros((len(seqs), T, F))
    for k, s in enumerate(seqs):
        out[k, : min(len(s), T)] = s[:T]
    return out


def nn1_euclidean(train, y_train, test) -> np.ndarray:
    """The label of each test sequence's nearest training sequence (Euclidean)."""
    T = max(max(len(s) for s in train), max(len(s) for s in test))
    A = _padded(train, T).reshape(len(train), -1)  # (N, T·F)
    y_train = np.asarray(y_train)
    out = np.empty(len(test), y_train.dtype)
    a2 = (A * A).sum(1)
    for i in range(0, len(test), 256):
        Q = _padded(test[i : i + 256], T).reshape(-1, A.shape[1])
        d2 = a2[None, :] - 2 * Q @ A.T  # + ‖q‖², the same for every candidate
        out[i : i + len(Q)] = y_train[np.argmin(d2, axis=1)]
    return out


def band_radius(train, window: float) -> int:
    return max(1, math.ceil(window * np.mean([len(s) for s in train])))


def _dtw_rows(q, C, lens, r, best=math.inf, tail=None) -> np.ndarray:
    """DTW from q (n, F) to each of C (K, M, F) (candidate k real up to lens[k]);
    → (K,) distances, inf for a candidate abandoned once all its paths cost ≥ ``best``.
    ``tail`` (K, n + 1): lower bounds of what rows i… of q add to any path (0 if None)."""
    n, (K, M, F) = len(q), C.shape
    tail = np.zeros((K, n + 1)) if tail is None else tail
    out = np.full(K, np.inf)
    alive = np.arange(K)  # the candidates still searched
    one_len = bool(np.all(lens == lens[0]))  # then one band for all: no masks
    s = (lens - 1) / max(n - 1, 1)  # (K,) slope of each pair's diagonal
    r_k = np.maximum(r, np.ceil(s))  # the band stays connected when m ≫ n
    X = C[:, :, 0] if F == 1 else C  # (K, M) or (K, M, F)
    # D rows with one column in front that is always inf: prev[:, 1 + j] = D[i−1, j]
    prev, cur = np.full((K, M + 1), np.inf), np.full((K, M + 1), np.inf)
    held = [(0, 0), (0, 0)]  # the columns prev, cur hold finite values in (to reset)
    for i in range(n):
        lo = np.maximum(0, np.ceil(i * s - r_k)).astype(np.int64)  # (K,) band of row i
        hi = np.minimum(lens - 1, np.floor(i * s + r_k)).astype(np.int64)
        j0, j1 = int(lo.min()), int(hi.max()) + 1
        if F == 1:
            d = X[:, j0:j1] - q[i, 0]
            c = d * d  # (K, W) local costs
        else:
            d = X[:, j0:j1, :] - q[i]
            c = np.einsum("kwf,kwf->kw", d, d)
        if i == 0:
            A = np.full_like(c, np.inf)
            A[:, 0] = c[:, 0]  # D[0, 0] = c[0, 0]
        else:
            A = c + np.minimum(prev[:, j0:j1], prev[:, j0 + 1 : j1 + 1])  # diag, up
        if not one_len:
            inband = (np.arange(j0, j1) >= lo[:, None]) & (np.arange(j0, j1) <= hi[:, None])
            A[~inband] = np.inf
            c = np.where(inband, c, 0.0)
        S = np.cumsum(c, axis=1)
        D = S + np.minimum.accumulate(A - S, axis=1)
        if not one_len:
            D[~inband] = np.inf
        b0, b1 = held[1]
        cur[:, b0:b1] = np.inf
        cur[:, j0 + 1 : j1 + 1] = D
        held = [(j0 + 1, j1 + 1), held[0]]
        prev, cur = cur, prev
        if best < math.inf and i % 2 == 1:  # drop a candidate whose every path costs more
            keep = D.min(1) + tail[:, i + 1] < best
            if not keep.all():
                if not keep.any():
                    return out
                alive, X, lens, s, r_k, prev, cur, tail = (
                    a[keep] for a in (alive, X, lens, s, r_k, prev, cur, tail)
                )
    out[alive] = prev[np.arange(len(alive)), lens]
    return out


def dtw_distance(a, b, r: int) -> float:
    """DTW between two sequences (T_a, F), (T_b, F) with band radius r (see the module)."""
    a, b = np.asarray(a, float), np.asarray(b, float)
    return float(_dtw_rows(a, b[None], np.array([len(b)]), r)[0])


def _envelopes(train, r) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Upper / lower envelopes (N, M, F) of radius r + 1 of each training sequence."""
    M = max(len(s) for s in train)
    F = train[0].shape[1]
    U = np.zeros((len(train), M, F))
    L = np.zeros((len(train), M, F))
    w = r + 1
    for k, s in enumerate(train):
        p = np.pad(s, ((w, w), (0, 0)), mode="edge")
        win = np.lib.stride_tricks.sliding_window_view(p, 2 * w + 1, axis=0)  # (m, F, 2w+1)
        U[k, : len(s)], L[k, : len(s)] = win.max(-1), win.min(-1)
    return U, L, np.array([len(s) for s in train])


def nn1_dtw(train, y_train, test, window: float = DTW_WINDOW, chunk: int = 8) -> np.ndarray:
    """The label of each test sequence's nearest training sequence under DTW."""
    r = band_radius(train, window)
    U, L, lens = _envelopes(train, r)
    C = _padded(train)  # (N, M, F)
    y_train = np.asarray(y_train)
    out = np.empty(len(test), y_train.dtype)
    rows = np.arange(len(train))[:, None]
    for t, q in enumerate(test):
        q = np.asarray(q, float)
        n = len(q)
        s = (lens - 1) / max(n - 1, 1)  # (N,) slopes of the diagonals
        j = np.rint(np.arange(n) * s[:, None]).astype(np.int64)
        Uq, Lq = U[rows, j], L[rows, j]  # (N, n, F) envelope along each diagonal
        lbrow = (np.maximum(q - Uq, 0) ** 2 + np.maximum(Lq - q, 0) ** 2).sum(2)  # (N, n)
        lbrow[np.ceil(s) > r] = 0.0  # a band wider than the envelope (m ≫ n): no bound
        tail = np.zeros((len(train), n + 1))  # tail[:, i] = Σ_{i' ≥ i} lbrow[:, i']
        tail[:, :n] = np.cumsum(lbrow[:, ::-1], axis=1)[:, ::-1]
        lb = tail[:, 0].copy()  # LB_Keogh(q, candidate)
        best, best_k = math.inf, 0
        if np.all(lens == n):  # one length: the diagonal is a path, so DTW ≤ Euclidean²
            e2 = ((C - q) ** 2).sum((1, 2))
            best_k = int(np.argmin(e2))
            best = float(e2[best_k]) * (1 + 1e-12) + 1e-12
            Ue, Le, _ = _envelopes([q], r)  # and LB_Keogh(candidate, q) is a bound too
            lb = np.maximum(
                lb, (np.maximum(C - Ue, 0) ** 2 + np.maximum(Le - C, 0) ** 2).sum((1, 2))
            )
        order = np.argsort(lb, kind="stable")
        pos, size = 0, chunk
        while pos < len(order) and lb[order[pos]] < best:
            idx = order[pos : pos + size]
            idx = idx[lb[idx] < best]
            d = _dtw_rows(q, C[idx, : lens[idx].max()], lens[idx], r, best, tail[idx])
            k = int(np.argmin(d))
            if d[k] < best:
                best, best_k = float(d[k]), idx[k]
            pos, size = pos + size, min(4 * size, 256)
        out[t] = y_train[best_k]
    return out


class Baselines(dict):
    """{name: test accuracy} for "majority", "1-NN Euclidean", "1-NN DTW"."""


def compute_baselines(train, y_train, test, y_test, window: float = DTW_WINDOW) -> Baselines:
    """Test accuracy of the majority class (of the training labels), 1-NN Euclidean and
    1-NN DTW (band ``window``; see the module docstring)."""
    y_train, y_test = np.asarray(y_train), np.asarray(y_test)
    vals, counts = np.unique(y_train, return_counts=True)
    out = Baselines()
    out["majority"] = float(np.mean(y_test == vals[np.argmax(counts)]))
    out["1-NN Euclidean"] = float(np.mean(nn1_euclidean(train, y_train, test) == y_test))
    out["1-NN DTW"] = float(np.mean(nn1_dtw(train, y_train, test, window) == y_test))
    return out
