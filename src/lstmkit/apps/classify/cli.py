"""``lstmkit classify train|predict``: the command-line face of :mod:`lstmkit.apps.classify`."""

from __future__ import annotations

import argparse

from ...data import datasets
from ...errors import UserError
from ..shared.args import float_in, fraction, int_in, seed, with_range
from ..shared.modelfiles import load_job_model
from ..shared.outdir import prepare_out_dir
from . import job as cl
from . import sidecar

HELP = "classify sequences (multivariate time series or texts) with an LSTM"
DESCRIPTION = """\
Train a sequence classifier and report test accuracy beside the baselines (majority
class; for series 1-NN Euclidean and 1-NN DTW), the confusion matrix (text and PNG) and
per-class precision/recall; or classify new data with a trained model.

Input: a CSV of time series (one row per time step: a sequence id column, numeric
features, a label; an order column named t/time/step/timestamp/date is found and
used to sort the rows) or of texts (one text and label per row), or a directory with
one folder per label holding .txt files (texts) or .csv files (one sequence each).
A 'split' column (train/test) is honoured, else 20% of the sequences are held out.

The default recipe (chosen across the UCR/UEA data sets, see docs/classify.md):
per-sequence z-normalisation (univariate; multivariate adds the globally scaled
features), Conv1D front end, bidirectional LSTM, max pooling over time, class
weights, cosine learning-rate decay, epochs from a step budget; early stopping on a
stratified validation part only with 100 or more training sequences.

examples:
  lstmkit classify train --dataset vowels --out out/vowels     # bundled: 9 speakers
  lstmkit classify train --dataset austen --out out/austen     # bundled: which novel?
  lstmkit classify train readings.csv --id machine --label state --out out/machines
  lstmkit classify train gunpoint.csv --id id --order t --epochs 100 --no-early-stopping
  lstmkit classify predict out/vowels/model.safetensors new.csv --out out/vowels-pred
"""


def _common(p):
    p.add_argument("--label", help="label column (default: 'label', else the last column)")
    p.add_argument("--id", help="sequence id column (time-series input)")
    p.add_argument("--order", help="time-step column to sort each sequence by")
    p.add_argument("--text", help="text column (text input)")
    p.add_argument(
        "--seed", type=seed(), default=0, help=with_range("seed", 0, 2**32 - 1, default=0)
    )
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
    t.add_argument(
        "--test-fraction",
        type=fraction(),
        default=0.2,
        help=with_range("share of the sequences held out", 0, 1, True, True, default=0.2),
    )
    g = t.add_argument_group("model")
    g.add_argument(
        "--units",
        type=int_in(1, 65536),
        help=with_range("LSTM units per direction", 1, 65536, default="64 series / 32 text"),
    )
    g.add_argument(
        "--maxlen",
        type=int_in(1, sidecar.MAX_MAXLEN),
        help=with_range("cut/pad sequences to this many steps/words", 1, sidecar.MAX_MAXLEN),
    )
    g.add_argument(
        "--normalize",
        choices=["auto", "sequence", "global", "both"],
        default="auto",
        help="series: per-sequence z-normalisation, training-set scaling, or both "
        "(default auto: sequence for one feature, both for several)",
    )
    g.add_argument(
        "--pooling",
        choices=["max", "mean", "attention", "last"],
        help="how the LSTM's outputs over time become one vector (default max for series; "
        "text: last, the final state)",
    )
    g.add_argument("--no-conv", action="store_true", help="series: no Conv1D front end")
    g.add_argument(
        "--bidirectional",
        action=argparse.BooleanOptionalAction,
        help="a bidirectional LSTM (default: yes for series, no for text)",
    )
    g.add_argument(
        "--dropout",
        type=float_in(0, 1, hi_open=True),
        help=with_range(
            "before the output layer", 0, 1, hi_open=True, default="0.2 series / 0 text"
        ),
    )
    g.add_argument(
        "--noise",
        type=float_in(0, 100),
        help=with_range("series: sigma of Gaussian input noise in training", 0, 100, default=0.2),
    )
    g = t.add_argument_group("training")
    g.add_argument(
        "--epochs",
        type=int_in(1, 10**6),
        help=with_range("epochs", 1, 10**6, default="from a budget of 1500 steps, 30...300"),
    )
    g.add_argument(
        "--min-epochs",
        type=int_in(0, 10**6),
        help=with_range("early stopping never stops before this", 0, 10**6),
    )
    g.add_argument(
        "--patience",
        type=int_in(1, 10**6),
        help=with_range("epochs without improvement before stopping", 1, 10**6),
    )
    g.add_argument(
        "--no-early-stopping", action="store_true", help="train all epochs (no validation part)"
    )
    g.add_argument(
        "--validation",
        type=float_in(0, 1, hi_open=True),
        help=with_range(
            "fraction of the training sequences held out, stratified",
            0,
            1,
            hi_open=True,
            default="0.2 with 100 or more of them, else 0",
        ),
    )
    g.add_argument(
        "--batch-size",
        type=int_in(1, 10**6),
        help=with_range("batch size", 1, 10**6, default="16 series / 32 text"),
    )
    g.add_argument(
        "--learning-rate",
        type=float_in(0, 100, lo_open=True),
        help=with_range(
            "Adam learning rate", 0, 100, lo_open=True, default="3e-3 series / 1e-3 text"
        ),
    )
    g.add_argument(
        "--schedule",
        choices=["cosine", "constant"],
        help="learning rate: cosine decay over the planned steps (series default) or constant",
    )
    g.add_argument("--class-weight", choices=["balanced", "none"], default="balanced")
    g.add_argument(
        "--dtw-window",
        type=float_in(0, 1),
        default=0.1,
        help=with_range("DTW baseline band, fraction of the length", 0, 1, default=0.1),
    )
    g.add_argument("--no-baselines", action="store_true", help="skip the 1-NN baselines")
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
        model, meta = load_job_model(args.model, "classify", sidecar.check)
        out = prepare_out_dir(args.out, "classify-predict", args.force) if args.out else None
        print(cl.predict_job(model, meta, args.input, cfg, out))
        return 0
    cfg.kind, cfg.split, cfg.test_fraction = args.kind, args.split, args.test_fraction
    cfg.epochs, cfg.batch_size, cfg.units = args.epochs, args.batch_size, args.units
    cfg.maxlen, cfg.learning_rate = args.maxlen, args.learning_rate
    cfg.normalize, cfg.pooling = args.normalize, args.pooling
    cfg.conv, cfg.bidirectional = not args.no_conv, args.bidirectional
    cfg.dropout, cfg.min_epochs, cfg.patience = args.dropout, args.min_epochs, args.patience
    cfg.noise = args.noise
    cfg.early_stopping = not args.no_early_stopping
    cfg.validation = 0.0 if args.no_early_stopping and args.validation is None else args.validation
    cfg.schedule, cfg.class_weight = args.schedule, args.class_weight
    cfg.dtw_window, cfg.baselines = args.dtw_window, not args.no_baselines
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
