"""``lstmkit classify train|predict``: the command-line face of :mod:`lstmkit.apps.classify`."""

from __future__ import annotations

import argparse

from ...data import datasets
from ...errors import UserError
from ..shared.modelfiles import load_job_model
from ..shared.outdir import prepare_out_dir
from . import job as cl

HELP = "classify sequences (multivariate time series or texts) with an LSTM"
DESCRIPTION = """\
Train a sequence classifier and report test accuracy, the confusion matrix (text and
PNG) and per-class precision/recall; or classify new data with a trained model.

Input: a CSV of time series (one row per time step: a sequence id column, numeric
features, a label) or of texts (one text and label per row), or a directory with
one folder per label holding .txt files (texts) or .csv files (one sequence each).
A 'split' column (train/test) is honoured, else 20% of the sequences are held out.

examples:
  lstmkit classify train --dataset vowels --out out/vowels     # bundled: 9 speakers
  lstmkit classify train --dataset austen --out out/austen     # bundled: which novel?
  lstmkit classify train readings.csv --id machine --label state --out out/machines
  lstmkit classify predict out/vowels/model.safetensors new.csv --out out/vowels-pred
"""


def _common(p):
    p.add_argument("--label", help="label column (default: 'label', else the last column)")
    p.add_argument("--id", help="sequence id column (time-series input)")
    p.add_argument("--order", help="time-step column to sort each sequence by")
    p.add_argument("--text", help="text column (text input)")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--out", help="output directory (new or empty)")
    p.add_argument("--force", action="store_true", help="allow a non-empty --out")


def add_arguments(p) -> None:
    sub = p.add_subparsers(dest="action", metavar="ACTION")
    sub.required = True
    t = sub.add_parser(
        "train",
        help="train and test a classifier",
        description=DESCRIPTION,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    t.add_argument("input", nargs="?", help="CSV file or directory (default: --dataset)")
    t.add_argument(
        "--dataset",
        choices=["vowels", "austen"],
        help="bundled example used when no input is given (default: vowels)",
    )
    t.add_argument("--kind", choices=["auto", "series", "text"], default="auto")
    t.add_argument("--split", help="column with train/test per row")
    t.add_argument("--test-fraction", type=float, default=0.2)
    t.add_argument("--epochs", type=int, default=40, help="maximum epochs (early stopping)")
    t.add_argument("--batch-size", type=int, default=32)
    t.add_argument("--units", type=int, help="LSTM units (default 64 series / 32 text)")
    t.add_argument("--maxlen", type=int, help="cut/pad sequences to this many steps/words")
    t.add_argument("--learning-rate", type=float, help="default 3e-3 series / 1e-3 text")
    t.add_argument("--quiet", action="store_true", help="no progress bar")
    _common(t)
    q = sub.add_parser(
        "predict",
        help="classify new data with a trained model",
        description=DESCRIPTION,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    q.add_argument("model", help="DIR or DIR/model.safetensors written by 'classify train'")
    q.add_argument("input", help="CSV file or directory to classify")
    q.add_argument("--epochs", type=int, default=1, help=argparse.SUPPRESS)
    _common(q)


def run(args) -> int:

    cfg = cl.ClassifyConfig(
        label=args.label, id=args.id, order=args.order, text=args.text, seed=args.seed
    )
    if args.action == "predict":
        model, meta = load_job_model(args.model, "classify")
        out = prepare_out_dir(args.out, "classify-predict", args.force) if args.out else None
        print(cl.predict_job(model, meta, args.input, cfg, out))
        return 0
    if args.epochs < 1:
        raise UserError(f"--epochs must be at least 1, got {args.epochs}")
    if not 0 < args.test_fraction < 1:
        raise UserError(f"--test-fraction must be between 0 and 1, got {args.test_fraction}")
    cfg.kind, cfg.split, cfg.test_fraction = args.kind, args.split, args.test_fraction
    cfg.epochs, cfg.batch_size, cfg.units = args.epochs, args.batch_size, args.units
    cfg.maxlen, cfg.learning_rate = args.maxlen, args.learning_rate
    cfg.verbose = 0 if args.quiet else 1
    path, name = args.input, args.input
    if path is None:
        ds = datasets.get(args.dataset or "vowels")
        path, name = ds.path, ds.name
        for role in ("label", "id", "text", "split", "order"):
            if role in ds.columns and getattr(cfg, role) is None:
                setattr(cfg, role, ds.columns[role])
        print(f"data: {ds.credit()}")
    elif args.dataset:
        raise UserError("give either an input file or --dataset, not both")
    ex = cl.read_examples(path, cfg)  # bad input is refused before DIR is made
    cl.fit_meta(ex, cl.split_indices(ex, cfg)[0], cfg)
    out = prepare_out_dir(args.out, "classify", args.force)
    print(cl.train_job(path, cfg, out, name=name, ex=ex))
    return 0
