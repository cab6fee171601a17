"""The classic long-memory tasks, generated from a seed (nothing is downloaded).

Each generator returns ``x, y`` as NumPy arrays, batch-major, and is a pure
function of its arguments (same seed → same data).

* :func:`adding_problem` — Hochreiter & Schmidhuber (1997), in the form of
  Le et al. (2015): x (n, T, 2); channel 0 holds numbers drawn from U[0, 1],
  channel 1 marks two of them (one in each half of the sequence); the target
  y (n, 1) is their sum. Predicting the mean (1.0) gives MSE ≈ 1/6 ≈ 0.167;
  the task counts as solved when the test MSE is below 0.01 (or ≥ 95 % of
  answers are within 0.04).
* :func:`copy_task` — delayed recall (Hochreiter & Schmidhuber 1997;
  Arjovsky et al. 2016): K symbols from an alphabet of A, then ``delay`` blanks,
  then a "go" marker; the net must output blank everywhere and then the K
  symbols in order. x (n, K+delay+K, A+2) one-hot, y (n, K+delay+K) class ids
  (0 = blank, 1..A = symbols). A memoryless net gets the blanks right and
  guesses the symbols (symbol accuracy 1/A).
* :func:`temporal_order` — Hochreiter & Schmidhuber (1997), experiment 6a: a
  stream of distractors a, b, c, d with two relevant symbols (X or Y) at
  random positions in [0.1T, 0.2T] and [0.5T, 0.6T]; the class is their order
  (XX, XY, YX, YY). x (n, T, 8) one-hot, y (n,) class ids 0..3.
"""

from __future__ import annotations

import numpy as np

__all__ = [
    "ORDER_SYMBOLS",
    "TASKS",
    "adding_problem",
    "adding_solved",
    "copy_accuracy",
    "copy_task",
    "temporal_order",
]

TASKS = ("adding", "copy", "order")


def adding_problem(n: int, length: int, seed=None, dtype="float32"):
    """x (n, T, 2) [value, marker], y (n, 1) = sum of the two marked values."""
    if length < 2:
        raise ValueError(f"adding_problem needs length >= 2, got {length}")
    rng = np.random.default_rng(seed)
    T = int(length)
    x = np.zeros((n, T, 2), dtype)
    x[:, :, 0] = rng.random((n, T))  # the numbers, U[0, 1]
    half = T // 2
    p1 = rng.integers(0, half, n)  # one marker in the first half
    p2 = rng.integers(half, T, n)  # one in the second
    rows = np.arange(n)
    x[rows, p1, 1] = 1.0
    x[rows, p2, 1] = 1.0
    y = (x[rows, p1, 0] + x[rows, p2, 0])[:, None].astype(dtype)  # (n, 1)
    return x, y


def adding_solved(y_pred, y, mse_threshold=0.01, tol=0.04, frac=0.95):
    """Hochreiter & Schmidhuber's criterion: MSE < 0.01 or ≥ 95 % of answers within 0.04.
    Returns (solved, mse, fraction within tol)."""
    err = np.asarray(y_pred, np.float64).reshape(-1) - np.asarray(y, np.float64).reshape(-1)
    mse = float(np.mean(err**2))
    within = float(np.mean(np.abs(err) < tol))
    return (mse < mse_threshold or within >= frac), mse, within


def copy_task(n: int, delay: int, n_symbols: int = 8, n_copy: int = 5, seed=None, dtype="float32"):
    """Delayed recall. Input alphabet: 0 blank, 1..A symbols, A+1 "go" marker.

    x (n, T, A+2) one-hot with T = n_copy + delay + n_copy; y (n, T) class ids,
    blank (0) except the last n_copy steps, which must repeat the first n_copy
    input symbols.
    """
    if delay < 1 or n_copy < 1 or n_symbols < 2:
        raise ValueError(
            f"copy_task needs delay >= 1, n_copy >= 1, n_symbols >= 2; got "
            f"delay={delay}, n_copy={n_copy}, n_symbols={n_symbols}"
        )
    rng = np.random.default_rng(seed)
    K, A = int(n_copy), int(n_symbols)
    T = K + int(delay) + K
    seq = rng.integers(1, A + 1, (n, K))  # the symbols to remember
    ids = np.zeros((n, T), np.int64)  # input ids
    ids[:, :K] = seq
    ids[:, K + delay - 1] = A + 1  # "go": recall starts next step
    y = np.zeros((n, T), np.int64)
    y[:, T - K :] = seq
    x = np.zeros((n, T, A + 2), dtype)
    np.put_along_axis(x, ids[..., None], 1.0, axis=-1)
    return x, y


def copy_accuracy(y_prob, y, n_copy: int):
    """Fraction of recalled symbols right (the last n_copy steps only)."""
    pred = np.asarray(y_prob).argmax(-1)[:, -n_copy:]
    return float(np.mean(pred == np.asarray(y)[:, -n_copy:]))


ORDER_SYMBOLS = "abcdXYEB"  # distractors a-d, relevant X, Y, start E, end B


def temporal_order(n: int, length: int, seed=None, dtype="float32"):
    """x (n, T, 8) one-hot over ``ORDER_SYMBOLS``, y (n,) in 0..3 = XX, XY, YX, YY."""
    T = int(length)
    if T < 20:
        raise ValueError(f"temporal_order needs length >= 20, got {length}")
    rng = np.random.default_rng(seed)
    ids = rng.integers(0, 4, (n, T))  # distractors a, b, c, d
    ids[:, 0], ids[:, -1] = 6, 7  # E … B
    t1 = rng.integers(max(1, T // 10), T // 5 + 1, n)  # first relevant symbol
    t2 = rng.integers(T // 2, 3 * T // 5 + 1, n)  # second
    s1, s2 = rng.integers(0, 2, n), rng.integers(0, 2, n)  # 0 = X, 1 = Y
    rows = np.arange(n)
    ids[rows, t1] = 4 + s1
    ids[rows, t2] = 4 + s2
    x = np.zeros((n, T, 8), dtype)
    np.put_along_axis(x, ids[..., None], 1.0, axis=-1)
    y = (2 * s1 + s2).astype(np.int64)
    return x, y
