"""``lstmkit longmemory``: the command-line face of :mod:`.job`."""

from __future__ import annotations

import os

from ...data import synthetic
from ...errors import UserError
from ..shared.args import float_in, int_in, seed, with_range
from ..shared.outdir import prepare_out_dir
from .job import cell_names, run_experiment

HELP = "long-memory experiments: adding problem, copy, temporal order (LSTM vs GRU vs SimpleRNN)"
DESCRIPTION = """\
Train LSTM, GRU and SimpleRNN (and the LSTM variants) on a classic long-memory
task and report, for each, the learning curve, the steps to solve and the final
error (one PNG, one JSON, and a gradient-flow plot). Reproducible from --seed.

tasks:
  adding   two marked numbers in a sequence of T random numbers; target their sum
           (solved: test MSE < 0.01 or >= 95% of answers within 0.04)
  copy     remember 5 symbols over a delay of T steps, then repeat them
  order    classify the order of two symbols hidden in a stream of length T

example:
  lstmkit longmemory adding --length 100 --model all --steps 3000 --out runs/adding100
  lstmkit longmemory order --length 60 --model lstm --seed 1
"""


def add_arguments(p):
    p.add_argument("task", metavar="TASK", choices=synthetic.TASKS, help="adding | copy | order")
    p.add_argument(
        "--length",
        "-T",
        type=int_in(2, 100_000),
        default=100,
        help=with_range("sequence length (copy: the delay; order: >= 20)", 2, 100_000, default=100),
    )
    p.add_argument(
        "--model",
        default="all",
        help="lstm | gru | rnn | a variant (peephole, cifg, lnlstm, lstmp, zoneout, "
        "slstm) | all | a comma-separated list (default all = lstm,gru,rnn)",
    )
    p.add_argument(
        "--steps",
        type=int_in(1, 10**7),
        default=3000,
        help=with_range("max training steps per model", 1, 10**7, default=3000),
    )
    p.add_argument(
        "--seed",
        type=seed(),
        default=0,
        help=with_range("seed of data and weights", 0, 2**32 - 1, default=0),
    )
    p.add_argument(
        "--out", help="output directory (new or empty; default lstmkit-runs/longmemory-N)"
    )
    p.add_argument("--force", action="store_true", help="allow a non-empty --out")
    p.add_argument(
        "--units",
        type=int_in(1, 65536),
        default=64,
        help=with_range("hidden units", 1, 65536, default=64),
    )
    p.add_argument(
        "--batch-size",
        type=int_in(1, 10**6),
        default=64,
        help=with_range("batch size", 1, 10**6, default=64),
    )
    p.add_argument(
        "--lr",
        type=float_in(0, 100, lo_open=True),
        default=1e-2,
        help=with_range("Adam learning rate", 0, 100, lo_open=True, default=0.01),
    )
    p.add_argument(
        "--eval-every",
        type=int_in(1, 10**7),
        default=50,
        help=with_range("steps between evaluations", 1, 10**7, default=50),
    )
    p.add_argument(
        "--no-forget-bias",
        action="store_true",
        help="start the LSTM forget-gate bias at 0 instead of 1 (unit_forget_bias=False)",
    )


def run(args) -> int:

    if args.length < (20 if args.task == "order" else 2):
        raise UserError(
            f"--length expected >= {20 if args.task == 'order' else 2} for {args.task}, "
            f"got {args.length}"
        )
    for nm in ("steps", "units", "batch_size", "eval_every"):
        if getattr(args, nm) < 1:
            raise UserError(
                f"--{nm.replace('_', '-')} expected a positive integer, got {getattr(args, nm)}"
            )
    models = ["lstm", "gru", "rnn"] if args.model == "all" else args.model.split(",")
    for m in models:
        if m not in cell_names():
            raise UserError(f"--model expected one of {', '.join(cell_names())} or all, got {m!r}")
    out = prepare_out_dir(args.out, "longmemory", args.force)
    print(
        f"longmemory {args.task}, T = {args.length}, seed {args.seed}, "
        f"up to {args.steps} steps per model"
    )
    run_experiment(
        args.task,
        args.length,
        models,
        args.steps,
        args.seed,
        out,
        args.batch_size,
        args.units,
        args.lr,
        args.eval_every,
        not args.no_forget_bias,
    )
    gates = [
        f"gates_{m}.png" for m in models if os.path.exists(os.path.join(out, f"gates_{m}.png"))
    ]
    print(
        f"wrote {out}/longmemory.json, longmemory.png, gradient_flow.png, gradient_flow_init.png"
        + "".join(f", {g}" for g in gates)
    )
    return 0
