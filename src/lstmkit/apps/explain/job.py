"""``lstmkit explain``: one time step of one LSTM layer, walked through the four stages
of the seed tutorials — with a real model's numbers.

    1. forget gate        f_t = σ(W_f·[h_{t-1}, x_t] + b_f)
    2. input gate         i_t = σ(W_i·[h_{t-1}, x_t] + b_i),  g_t = tanh(W_g·[h_{t-1}, x_t] + b_g)
    3. cell state update  c_t = f_t ⊙ c_{t-1} + i_t ⊙ g_t
    4. output gate        o_t = σ(W_o·[h_{t-1}, x_t] + b_o),  h_t = o_t ⊙ tanh(c_t)

The gates and states come from :func:`lstmkit.inspect.trace` (the layer's own
forward pass). The pre-activations z are recomputed from the layer's weights as
z_t = x_t · W_x + h_{t-1} · W_h + b (the seeds' W·[h_{t-1}, x_t] split in two), so the
page can mark them on the σ / tanh curves; a test checks σ(z) equals the traced gates.

Time steps are numbered 1…T (h_0 = c_0 = 0 is the state before the first step);
units 0…H−1. A layer that reads backwards (go_backwards, the backward half of a
Bidirectional) is shown in its own reading order.

Output: a self-contained HTML page (:mod:`.html`) or tables in the terminal
(:mod:`.text`). Without a model file the page shows a small LSTM trained on the
spot to count brackets (:mod:`.builtin`). The command line is in :mod:`.cli`.
"""

from __future__ import annotations

import numpy as np

from ...errors import UserError
from ...inspect import trace
from ...inspect.trace import is_traceable, is_traceable_bidirectional
from ...layers import LSTM

MAX_STEPS = 2000  # the page holds every step's vectors; beyond this it gets unwieldy


def lstm_layers(model) -> list:
    """[(position in trace()'s answer, LSTM layer, index in model.layers)] for every plain
    LSTM (a Bidirectional gives two: its forward and backward halves). LSTM variants are
    traced too but not shown: their pre-activations are not x·W_x + h·W_h + b."""

    traced = []  # trace()'s order
    for n, ly in enumerate(model.layers):
        if is_traceable_bidirectional(ly):
            traced += [(ly.forward_layer, n), (ly.backward_layer, n)]
        elif is_traceable(ly):
            traced.append((ly, n))
    return [(pos, cell, n) for pos, (cell, n) in enumerate(traced) if isinstance(cell, LSTM)]


def _r(a) -> list:
    """Array → nested lists of floats with 7 significant digits (float32 precision)."""
    a = np.asarray(a, np.float64)
    return np.vectorize(lambda v: float(f"{v:.7g}"), otypes=[np.float64])(a).tolist()


def explain_data(
    model,
    x,
    tokens,
    *,
    layer: int = 1,
    step: int | None = None,
    unit: int | None = None,
    lang: str = "en",
    source: str = "",
    info: dict | None = None,
) -> dict:
    """Everything the page and the tables show, as JSON-able lists.

    model: anything with ``.layers`` (a Sequential, or a namespace of layers);
    x: the model input for ONE sequence, batch of 1; tokens: a label per step.
    Arrays are (T, H) with row t−1 holding step t; ``z_i … z_o`` are the pre-activations."""

    lstms = lstm_layers(model)
    if not lstms:
        kinds = ", ".join(type(ly).__name__ for ly in model.layers) or "none"
        raise UserError(f"expected a model with an LSTM layer, got layers: {kinds}")
    if not 1 <= layer <= len(lstms):
        raise UserError(
            f"--layer {layer}: the model has {len(lstms)} LSTM layer(s), choose 1…{len(lstms)}"
        )
    n_steps = np.shape(x)[1]
    if n_steps > MAX_STEPS:
        raise UserError(
            f"the input has {n_steps} time steps; explain shows at most {MAX_STEPS}: "
            "give a shorter input"
        )
    pos, cell, idx = lstms[layer - 1]
    key, tr = list(trace(model, x).items())[pos]
    # the chosen layer's input: feed x through the layers before it, as inference does
    xin, mask = np.asarray(x), None
    for ly in model.layers[:idx]:
        saved = getattr(ly, "states", None)  # a stateful layer keeps its state
        ly_mask = ly.compute_mask(mask, xin)
        xin = ly.forward(xin, training=False, mask=mask)
        xin, mask = (xin[0] if isinstance(xin, tuple) else xin), ly_mask
        if hasattr(ly, "states"):
            ly.states = saved
    xin = np.asarray(xin, np.float64)[0]  # (T, D) this sequence
    names = ("i", "f", "g", "o", "c", "h")
    arr = {k: np.asarray(tr[k], np.float64)[0] for k in names}  # (T, H), input order
    c0, h0 = np.asarray(tr.c0, np.float64)[0], np.asarray(tr.h0, np.float64)[0]
    tokens = list(tokens)
    if tr.go_backwards:  # show the layer's reading order
        arr = {k: v[::-1] for k, v in arr.items()}
        xin, tokens = xin[::-1], tokens[::-1]
    T, H = arr["c"].shape
    W_x, W_h, b = (np.asarray(p, np.float64) for p in cell.params[:3])
    h_prev = np.vstack([h0[None], arr["h"][:-1]])  # (T, H) h_{t-1}
    z = xin @ W_x + h_prev @ W_h + b  # (T, 4H) z_t = x_t·W_x + h_{t-1}·W_h + b
    bad = ~np.all(np.isfinite(np.hstack([z, arr["c"], arr["h"]])), axis=1)  # (T,)
    if bad.any():
        raise UserError(
            f"the layer computes NaN or inf from step {int(np.argmax(bad)) + 1} on: "
            "the model's weights or the input values are broken"
        )
    step = 1 if step is None else step
    check_step(step, T)
    if unit is None:  # the unit whose memory moves most
        unit = int(np.argmax(np.std(np.vstack([c0[None], arr["c"]]), axis=0)))
    if not 0 <= unit < H:
        raise UserError(f"--unit {unit}: the layer has {H} units, choose 0…{H - 1}")
    data = {
        "format": "lstmkit-explain/1",
        "lang": lang,
        "source": source,
        "info": info or {},
        "layer": {
            "name": key,
            "number": layer,
            "of": len(lstms),
            "units": H,
            "input_size": int(xin.shape[1]),
            "go_backwards": bool(tr.go_backwards),
        },
        "T": T,
        "step": int(step),
        "unit": int(unit),
        "tokens": [str(s) for s in tokens],
        "x": _r(xin),
        "h0": _r(h0),
        "c0": _r(c0),
    }
    for n, g in enumerate(("i", "f", "g", "o")):
        data[f"z_{g}"] = _r(z[:, n * H : (n + 1) * H])
    for k in names:
        data[k] = _r(arr[k])
    return data


# ------------------------------------------------------------ model + input
def check_step(step, T: int) -> None:
    if step is not None and not 1 <= step <= T:
        raise UserError(
            f"--step {step} is outside the input: it has {T} time step(s), choose 1…{T}"
        )
