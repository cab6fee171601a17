"""``lstmkit longmemory``: the command-line face of :mod:`.job`."""

from __future__ import annotations

from ...data import synthetic
from ...errors import UserError
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
        type=int,
        default=100,
        help="sequence length (copy: the delay) (default 100)",
    )
    p.add_argument(
        "--model",
        default="all",
        help="lstm | gru | rnn | a variant (peephole, cifg, lnlstm, lstmp, zoneout, "
        "slstm) | all | a comma-separated list (default all = lstm,gru,rnn)",
    )
    p.add_argument(
        "--steps", type=int, default=3000, help="max training steps per model (default 3000)"
    )
    p.add_argument("--seed", type=int, default=0, help="seed of data and weights (default 0)")
    p.add_argument(
        "--out", help="output directory (new or empty; default lstmkit-runs/longmemory-N)"
    )
    p.add_argument("--force", action="store_true", help="allow a non-empty --out")
    p.add_argument("--units", type=int, default=64, help="hidden units (default 64)")
    p.add_argument("--batch-size", type=int, default=64, help="batch size (default 64)")
    p.add_argument("--lr", type=float, default=1e-2, help="Adam learning rate (default 1e-2)")
    p.add_argument(
        "--eval-every", type=int, default=50, help="steps between evaluations (default 50)"
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
    print(
        f"wrote {out}/longmemory.json, longmemory.png, gradient_flow.png, gradient_flow_init.png, "
        f"gates_<model>.png"
    )
    return 0
