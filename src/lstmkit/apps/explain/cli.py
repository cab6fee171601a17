"""``lstmkit explain``: the command-line face of :mod:`.job` (arguments, input, output)."""

from __future__ import annotations

from ...errors import UserError
from ..shared.args import int_in, seed, with_range
from ..shared.outfiles import check_out_file, write_text
from . import input as inp
from .builtin import DEFAULT_TEXT, VOCAB, one_hot, train_bracket_counter
from .html import render_html
from .job import check_step, explain_data, lstm_layers
from .text import render_text

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
    p.add_argument("--step", type=int_in(), metavar="t", help="time step to show, 1…T (default 1)")
    p.add_argument(
        "--unit",
        type=int_in(),
        metavar="k",
        help="unit to follow, 0…H−1 (default: the unit whose c_t varies most)",
    )
    p.add_argument(
        "--layer",
        type=int_in(),
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
        help="where to write the page (default explain.html; an existing file needs --force)",
    )
    p.add_argument("--force", action="store_true", help="replace an existing --out file")
    p.add_argument(
        "--seed",
        type=seed(),
        default=0,
        help=with_range("seed of the built-in example", 0, 2**32 - 1, default=0),
    )


# ------------------------------------------------------------------ the data
def prepare(args) -> dict:
    """Parse the CLI arguments into the page data (model, input, step, unit)."""

    if args.model is None:
        if args.csv:
            raise UserError(
                "--csv needs a MODEL that reads numbers; the built-in example reads text"
            )
        text = DEFAULT_TEXT if args.input is None else args.input
        inp.check_text(text, list(VOCAB))  # before training: fail fast
        check_step(args.step, len(text))
        model, info = train_bracket_counter(seed=args.seed)
        x, tokens, source = one_hot(text), list(text), "built-in"
        if args.unit is None:  # follow the counting unit
            args.unit = info["counter"]
    else:
        model, meta, _ = inp.load(args.model)
        if not lstm_layers(model):  # before reading any input
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
    if args.format == "html":
        check_out_file(args.out, args.force)  # before the work
    data = prepare(args)
    if args.format == "text":
        print(render_text(data))
        return 0
    write_text(args.out, render_html(data))
    print(
        f"wrote {args.out}: layer {data['layer']['name']} ({data['layer']['units']} units), "
        f"{data['T']} steps, showing step {data['step']}, unit {data['unit']}"
    )
    return 0
