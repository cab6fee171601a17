"""The built-in example of ``lstmkit explain``: a 4-unit LSTM that counts brackets.

Task: read a string of ``(``, ``)`` and the letters ``a``, ``b``; after every
character say how many brackets are open (the nesting depth). A person solves
it with one counter; the LSTM learns one too — a unit whose cell state c_t
steps up on ``(``, down on ``)`` and holds still on a letter, exactly the
"keep / write / read" story of the seed tutorials:

    (  → input gate i opens, candidate g ≈ ±1, forget gate f ≈ 1: c moves one way
    )  → input gate opens,   candidate g of the other sign:       c moves back
    a  → input gate (nearly) closes:                               c is kept

(Which way is "up" — the sign of the counter — is up to the training run.)

Model: one-hot (batch, time, 4) → LSTM(4, return_sequences=True) → Dense(1),
mean squared error against the depth, trained with ``Sequential.fit`` in about a second
(1500 batches of 32) with SGD, momentum 0.9 and gradient values clipped to ±1.
"""

from __future__ import annotations

import numpy as np

from ...inspect import Trace, trace
from ...layers import LSTM, Dense
from ...model import Sequential
from ...optim import SGD

VOCAB = "()ab"
DEFAULT_TEXT = "(a(b)(a(b)))a("
MAX_DEPTH = 4


def one_hot(text: str, vocab: str = VOCAB, dtype=np.float32) -> np.ndarray:
    """'(a)' → (1, 3, len(vocab)) one-hot rows; the caller checks the characters first."""
    x = np.zeros((1, len(text), len(vocab)), dtype)  # (batch=1, time, vocab)
    for t, ch in enumerate(text):
        x[0, t, vocab.index(ch)] = 1
    return x


def depth(text: str) -> np.ndarray:
    """Number of open brackets after each character, e.g. '(a)' → [1, 1, 0]."""
    d, out = 0, []
    for ch in text:
        d += (ch == "(") - (ch == ")")
        out.append(d)
    return np.array(out, np.float64)


def random_strings(rng: np.random.Generator, n: int, length: int) -> list[str]:
    """Balanced-so-far strings (depth never below 0, never above MAX_DEPTH)."""
    out = []
    for _ in range(n):
        d, s = 0, []
        for _ in range(length):
            r = rng.random()
            if r < 0.35 and d < MAX_DEPTH:
                ch = "("
            elif r < 0.7 and d > 0:
                ch = ")"
            else:
                ch = "ab"[rng.integers(2)]
            d += (ch == "(") - (ch == ")")
            s.append(ch)
        out.append("".join(s))
    return out


def _batch(rng, n, length, dtype):
    texts = random_strings(rng, n, length)
    x = np.concatenate([one_hot(s, dtype=dtype) for s in texts])  # (n, length, 4)
    y = np.stack([depth(s) for s in texts])[:, :, None].astype(dtype)  # (n, length, 1)
    return x, y


def train_bracket_counter(
    steps: int = 1500,
    units: int = 4,
    seed: int = 0,
    dtype="float32",
    lr: float = 0.05,
    momentum: float = 0.9,
):
    """Train the example; returns ``(model, info)``, model = Sequential([LSTM, Dense]).

    Training: 15 epochs over a fixed set of 32·⌈steps/15⌉ strings of length 20
    (``steps`` batches of 32 in all). ``info`` holds what the page tells the learner: the
    task, the training steps, the mean absolute error on fresh strings after
    training and the "counter": the unit whose c_t follows the depth most
    closely (|correlation|)."""

    rng = np.random.default_rng(seed)
    model = Sequential(
        [
            LSTM(units, return_sequences=True, seed=seed + 1, dtype=dtype, name="lstm"),
            Dense(1, seed=seed + 2, dtype=dtype, name="dense"),
        ]
    )
    model.compile(optimizer=SGD(learning_rate=lr, momentum=momentum, clipvalue=1.0), loss="mse")
    epochs = 15
    x, y = _batch(rng, 32 * -(-steps // epochs), 20, np.dtype(dtype))  # (n, 20, 4), (n, 20, 1)
    model.fit(x, y, batch_size=32, epochs=epochs, verbose=0, shuffle=True, seed=seed)
    x, y = _batch(rng, 100, 30, np.dtype(dtype))
    mae = float(np.mean(np.abs(model.predict(x) - y)))
    tr = trace(model.layers[0], x)
    assert isinstance(tr, Trace)  # layer 0 is the LSTM
    c = tr.c.reshape(-1, units)  # (100·30, H) cell states
    corr = [abs(np.corrcoef(c[:, k], y.reshape(-1))[0, 1]) for k in range(units)]
    info = {
        "task": "brackets",
        "train_steps": epochs * -(-steps // epochs),
        "mae": mae,
        "vocab": VOCAB,
        "counter": int(np.nanargmax(corr)),
        "counter_corr": float(np.nanmax(corr)),
    }
    return model, info
