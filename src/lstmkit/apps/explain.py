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

Output: a self-contained HTML page (:mod:`.explain_html`) or tables in the
terminal (:mod:`.explain_text`). Without a model file the page shows a small
LSTM trained on the spot to count brackets (:mod:`.explain_builtin`).
"""

from __future__ import annotations

import numpy as np

from ..errors import UserError
from ..inspect import trace
from ..inspect.trace import is_traceable, is_traceable_bidirectional
from ..layers import LSTM
from . import explain_input as inp
from .explain_builtin import DEFAULT_TEXT, VOCAB, one_hot, train_bracket_counter
from .explain_html import render_html
from .explain_text import render_text

HELP = "walk one LSTM time step through its four gates, with a model's real numbers"

DESCRIPTION = """\
Show one time step of one LSTM layer the way the tutorials draw it — forget gate,
input gate and candidate, cell state update, output gate — with the actual vectors
of a model, the σ / tanh curves with the actual pre-activations marked on them, and
one sentence per stage. The page is a single HTML file (no network): step through
time, pick a unit, hover a cell for its value.

Without a MODEL a 4-unit LSTM is trained on the spot (about a second) to count
open brackets in strings like "(a(b))"; watch its counting unit's cell state.

examples:
  lstmkit explain                                   # built-in bracket counter → explain.html
  lstmkit explain --input "((a)(b))" --step 4 --lang zh --out brackets.html
  lstmkit explain --format text --step 3            # the four stages as tables
  lstmkit explain out/austen --input "Mr. Darcy" --layer 2 --unit 7   # a textgen model
  lstmkit explain out/co2 --csv co2.csv --step 24   # a forecast model: its input window
"""

MAX_STEPS = 2000  # the page holds every step's vectors; beyond this it gets unwieldy


def add_arguments(p) -> None:
    p.add_argument(
        "model",
        nargs="?",
        metavar="MODEL.safetensors",
        help="a model saved by lstmkit, or a job's output directory holding "
        "model.safetensors + model.json (default: the built-in bracket counter)",
    )
    src = p.add_mutually_exclusive_group()
    src.add_argument("--input", metavar="TEXT", help="input text (a model that reads characters)")
    src.add_argument("--csv", metavar="FILE", help="input rows (a model that reads numbers)")
    p.add_argument("--step", type=int, metavar="t", help="time step to show, 1…T (default 1)")
    p.add_argument(
        "--unit",
        type=int,
        metavar="k",
        help="unit to follow, 0…H−1 (default: the unit whose c_t varies most)",
    )
    p.add_argument(
        "--layer",
        type=int,
        default=1,
        metavar="n",
        help="which LSTM layer of the model, 1 = first (default 1)",
    )
    p.add_argument(
        "--lang",
        choices=("en", "zh"),
        default="en",
        help="language of the explanations (default en; zh = 中文)",
    )
    p.add_argument(
        "--format",
        choices=("html", "text"),
        default="html",
        help="html page (default) or tables in the terminal",
    )
    p.add_argument(
        "--out",
        default="explain.html",
        metavar="FILE",
        help="where to write the page (default explain.html)",
    )
    p.add_argument("--seed", type=int, default=0, help="seed of the built-in example (default 0)")


# ------------------------------------------------------------------ the data
def _lstm_layers(model):
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

    lstms = _lstm_layers(model)
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
    _check_step(step, T)
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
def _check_step(step, T: int) -> None:
    if step is not None and not 1 <= step <= T:
        raise UserError(
            f"--step {step} is outside the input: it has {T} time step(s), choose 1…{T}"
        )


def prepare(args) -> dict:
    """Parse the CLI arguments into the page data (model, input, step, unit)."""

    if args.model is None:
        if args.csv:
            raise UserError(
                "--csv needs a MODEL that reads numbers; the built-in example reads text"
            )
        text = DEFAULT_TEXT if args.input is None else args.input
        inp.check_text(text, list(VOCAB))  # before training: fail fast
        _check_step(args.step, len(text))
        model, info = train_bracket_counter(seed=args.seed)
        x, tokens, source = one_hot(text), list(text), "built-in"
        if args.unit is None:  # follow the counting unit
            args.unit = info["counter"]
    else:
        model, meta, _ = inp.load(args.model)
        if not _lstm_layers(model):  # before reading any input
            kinds = ", ".join(type(ly).__name__ for ly in model.layers)
            raise UserError(
                f"{args.model}: expected a model with an LSTM layer, got layers: {kinds}"
            )
        source = args.model
        info = {"task": inp.task_of(meta) or "model"}
        x, tokens = inp.encode(model, meta, args.input, args.csv, source)
    return explain_data(
        model,
        x,
        tokens,
        layer=args.layer,
        step=args.step,
        unit=args.unit,
        lang=args.lang,
        source=source,
        info=info,
    )


def run(args) -> int:
    data = prepare(args)
    if args.format == "text":
        print(render_text(data))
        return 0

    try:
        with open(args.out, "w", encoding="utf-8") as fh:
            fh.write(render_html(data))
    except OSError as e:
        raise UserError(f"cannot write {args.out}: {e}") from None
    print(
        f"wrote {args.out}: layer {data['layer']['name']} ({data['layer']['units']} units), "
        f"{data['T']} steps, showing step {data['step']}, unit {data['unit']}"
    )
    return 0
