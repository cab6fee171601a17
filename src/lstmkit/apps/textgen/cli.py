"""``lstmkit textgen train|sample``: the command-line face of :mod:`lstmkit.apps.textgen`."""

from __future__ import annotations

import argparse

from ...data import datasets
from ...data.csv import read_text
from ...data.text import CharVocab
from ...errors import UserError
from ..shared.args import float_in, int_in, seed, with_range
from ..shared.modelfiles import load_job_model
from ..shared.outdir import lock_out_dir, prepare_out_dir
from ..shared.outfiles import write_text
from ..shared.tables import printable
from . import job as tg
from . import sidecar

HELP = "character-level text generation (char-rnn: 2 stateful LSTMs, truncated BPTT)"
DESCRIPTION = """\
Train a character-level language model on a text and sample from it. Training
reports validation bits per character after every epoch (10% of the text held
out), saves the model after every epoch and continues an interrupted run with
--resume. With no TEXT, the bundled Pride and Prejudice (Jane Austen, 1813, public
domain) is used.

examples:
  lstmkit textgen train --out out/austen --epochs 3          # bundled novel
  lstmkit textgen train notes.txt --out out/notes --seq-len 100 --units 256
  lstmkit textgen train --out out/austen --epochs 6 --resume # 3 more epochs
  lstmkit textgen sample out/austen --length 400 --temperature 0.6 --prime "Mr. Darcy"
"""


def add_arguments(p) -> None:
    sub = p.add_subparsers(dest="action", metavar="ACTION")
    sub.required = True
    t = sub.add_parser(
        "train",
        help="train a char-rnn on a text file",
        description=DESCRIPTION,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    t.add_argument("text", nargs="?", help="UTF-8 text file (.txt or .gz); default: bundled novel")
    t.add_argument(
        "--epochs",
        type=int_in(1, 10**6),
        default=3,
        help=with_range("total epochs", 1, 10**6, default=3),
    )
    t.add_argument(
        "--seq-len",
        type=int_in(1, 100_000),
        default=64,
        help=with_range("BPTT length T", 1, 100_000, default=64),
    )
    t.add_argument(
        "--batch-size",
        type=int_in(1, 100_000),
        default=32,
        help=with_range("parallel streams B", 1, 100_000, default=32),
    )
    t.add_argument(
        "--units",
        type=int_in(1, 65536),
        default=128,
        help=with_range("units per LSTM", 1, 65536, default=128),
    )
    t.add_argument(
        "--learning-rate",
        type=float_in(0, 100, lo_open=True),
        default=5e-3,
        help=with_range("Adam learning rate", 0, 100, lo_open=True, default=5e-3),
    )
    t.add_argument(
        "--max-chars",
        type=int_in(1, 2**40),
        help=with_range("use only the first N characters", 1, 2**40),
    )
    t.add_argument(
        "--resume", action="store_true", help="continue the training saved in --out (same text)"
    )
    t.add_argument(
        "--seed", type=seed(), default=0, help=with_range("seed", 0, 2**32 - 1, default=0)
    )
    t.add_argument("--out", help="output directory (new or empty, or with --resume the old one)")
    t.add_argument("--force", action="store_true", help="allow a non-empty --out")
    t.add_argument("--quiet", action="store_true", help="no progress bar")
    s = sub.add_parser(
        "sample",
        help="generate text from a trained model",
        description=DESCRIPTION,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    s.add_argument("model", help="DIR or DIR/model.safetensors written by 'textgen train'")
    s.add_argument(
        "--length",
        type=int_in(1, 10**6),
        default=500,
        help=with_range("characters to generate", 1, 10**6, default=500),
    )
    s.add_argument(
        "--temperature",
        type=float_in(0, 100, lo_open=True),
        default=0.8,
        help=with_range("sampling temperature, lower is safer", 0, 100, lo_open=True, default=0.8),
    )
    s.add_argument("--prime", default=None, help="text to start from (default: 'The ')")
    s.add_argument(
        "--seed", type=seed(), default=0, help=with_range("seed", 0, 2**32 - 1, default=0)
    )
    s.add_argument("--epochs", type=int, default=1, help=argparse.SUPPRESS)
    s.add_argument("--out", help="also write the sample to DIR/sample.txt (new or empty DIR)")
    s.add_argument("--force", action="store_true")


def run(args) -> int:
    import numpy as np

    if args.action == "sample":
        if args.length < 1:
            raise UserError(f"--length must be at least 1, got {args.length}")
        model, meta = load_job_model(args.model, "textgen", sidecar.check)
        vocab = CharVocab(meta["chars"])
        prime = (
            args.prime
            if args.prime is not None
            else ("The " if all(c in vocab.ids for c in "The ") else vocab.chars[0])
        )
        text = tg.sample(
            model, vocab, args.length, args.temperature, prime, np.random.default_rng(args.seed)
        )
        print(printable(prime + text))  # a vocabulary may hold terminal control characters
        if args.out:
            import os

            out = prepare_out_dir(args.out, "textgen-sample", args.force)
            write_text(os.path.join(out, "sample.txt"), prime + text + "\n")
        return 0

    for name in ("epochs", "seq_len", "batch_size", "units"):
        if getattr(args, name) < 1:
            raise UserError(
                f"--{name.replace('_', '-')} must be at least 1, got {getattr(args, name)}"
            )
    if args.text is None:
        ds = datasets.get("pride")
        text, source = read_text(ds.path), ds.credit()
        print(f"data: {source}")
    else:
        text, source = read_text(args.text), args.text
    cfg = tg.TextgenConfig(
        seq_len=args.seq_len,
        batch_size=args.batch_size,
        units=args.units,
        epochs=args.epochs,
        learning_rate=args.learning_rate,
        max_chars=args.max_chars,
        seed=args.seed,
        verbose=0 if args.quiet else 1,
    )
    if args.resume:
        if not args.out:
            raise UserError("--resume needs --out DIR, the directory of the interrupted run")
        out = lock_out_dir(args.out, "textgen")
    else:
        tg.prepare(text, cfg)  # bad input before DIR is made
        out = prepare_out_dir(args.out, "textgen", args.force)
    print(tg.train_job(text, cfg, out, resume=args.resume, source=source))
    return 0
