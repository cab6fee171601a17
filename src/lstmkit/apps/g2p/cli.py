"""``lstmkit g2p train|predict|evaluate``: the command-line face of :mod:`lstmkit.apps.g2p`."""

from __future__ import annotations

import argparse
import os
import time

from tqdm.auto import tqdm

from ...errors import UserError
from ..shared.args import float_in, int_in, seed, with_range
from ..shared.outdir import lock_out_dir, prepare_out_dir
from ..shared.outfiles import check_out_file, write_json, write_text
from . import data as gdata
from .decode import MAX_LEN_LIMIT, attention_matrix, error_table, load_g2p, pronounce, score
from .plots import attention_plot
from .train import check_config, config_from_args, train_job

HELP = "spelling → pronunciation (CMUdict): encoder–decoder LSTM with attention"
DESCRIPTION = """\
Grapheme-to-phoneme conversion, the classic sequence-to-sequence benchmark: letters in,
ARPAbet phonemes out, trained on the bundled CMU Pronouncing Dictionary (BSD licence).
A bidirectional LSTM reads the spelling, an LSTM decoder with attention writes the
pronunciation (teacher forcing in training; greedy or beam-search decoding). The words
are split once and for all by a hash of the spelling: ≈ 10 % test, 3 % dev, the rest
train. Stress marks are stripped (39 phonemes) unless --stress. Scores: PER (phoneme
errors against the closest listed pronunciation) and WER (words matching none of them).

examples:
  lstmkit g2p train --out out/g2p                      # the full recipe (see docs/g2p.md)
  lstmkit g2p train --out out/g2p-small --max-words 3000 --epochs 3 --units 64
  lstmkit g2p train --out out/g2p --epochs 15 --resume # after Ctrl-C, or for more epochs
  lstmkit g2p predict out/g2p lstmkit pterodactyl --beam 5 --n-best 3
  lstmkit g2p predict out/g2p knight colonel --plot attention.png
  lstmkit g2p evaluate out/g2p --beam 5 --out out/g2p-eval
"""


def _common(p) -> None:
    p.add_argument(
        "--beam",
        type=int_in(1, 1000),
        help=with_range("beam size (1 = greedy)", 1, 1000, default=5),
    )
    p.add_argument(
        "--length-penalty",
        type=float_in(0, 100),
        help=with_range("alpha of lp = ((5+n)/6)^alpha", 0, 100, default=1.0),
    )
    p.add_argument(
        "--max-len",
        type=int_in(1, MAX_LEN_LIMIT),
        help=with_range("longest pronunciation emitted", 1, MAX_LEN_LIMIT, default="the model's"),
    )


def add_arguments(p) -> None:
    sub = p.add_subparsers(dest="action", metavar="ACTION")
    sub.required = True
    fmt = argparse.RawDescriptionHelpFormatter
    t = sub.add_parser(
        "train", help="train on CMUdict", description=DESCRIPTION, formatter_class=fmt
    )
    t.add_argument(
        "--epochs",
        type=int_in(1, 10**6),
        default=12,
        help=with_range("total epochs", 1, 10**6, default=12),
    )
    t.add_argument(
        "--batch-size",
        type=int_in(1, 10**6),
        default=128,
        help=with_range("batch size", 1, 10**6, default=128),
    )
    t.add_argument(
        "--units",
        type=int_in(2, 65536),
        default=256,
        help=with_range("decoder units, even (1/2 per encoder direction)", 2, 65536, default=256),
    )
    t.add_argument(
        "--embed-dim",
        type=int_in(1, 65536),
        default=64,
        help=with_range("letter embedding size", 1, 65536, default=64),
    )
    t.add_argument(
        "--encoder-layers",
        type=int_in(1, 64),
        default=1,
        help=with_range("encoder layers", 1, 64, default=1),
    )
    t.add_argument("--attention", choices=["luong", "bahdanau"], default="luong")
    t.add_argument(
        "--attention-units",
        type=int_in(1, 65536),
        default=128,
        help=with_range("bahdanau only", 1, 65536, default=128),
    )
    t.add_argument(
        "--dropout",
        type=float_in(0, 1, hi_open=True),
        default=0.0,
        help=with_range("dropout", 0, 1, hi_open=True, default=0.0),
    )
    t.add_argument(
        "--learning-rate",
        type=float_in(0, 100, lo_open=True),
        default=2e-3,
        help=with_range("Adam learning rate", 0, 100, lo_open=True, default=2e-3),
    )
    t.add_argument(
        "--lr-decay",
        type=float_in(0, 1, lo_open=True),
        default=0.8,
        help=with_range("learning rate x this per epoch", 0, 1, lo_open=True, default=0.8),
    )
    t.add_argument("--stress", action="store_true", help="keep stress marks (AH0/AH1/AH2)")
    t.add_argument(
        "--max-words",
        type=int_in(20, 10**7),
        help=with_range("use a seeded sample of N words (quick runs)", 20, 10**7),
    )
    _common(t)
    t.add_argument("--resume", action="store_true", help="continue the run saved in --out")
    t.add_argument(
        "--seed", type=seed(), default=0, help=with_range("seed", 0, 2**32 - 1, default=0)
    )
    t.add_argument("--out", help="output directory (new or empty, or with --resume the old one)")
    t.add_argument("--force", action="store_true", help="allow a non-empty --out")
    t.add_argument("--quiet", action="store_true", help="no progress bars")
    r = sub.add_parser(
        "predict", help="pronounce words", description=DESCRIPTION, formatter_class=fmt
    )
    r.add_argument("model", help="DIR or DIR/model.safetensors written by 'g2p train'")
    r.add_argument("words", nargs="+", metavar="WORD")
    r.add_argument(
        "--n-best",
        type=int_in(1, 1000),
        default=1,
        help=with_range("print the N best (<= --beam)", 1, 1000, default=1),
    )
    r.add_argument("--plot", metavar="FILE.png", help="draw the attention matrix of each word")
    r.add_argument("--force", action="store_true", help="replace an existing --plot file")
    _common(r)
    e = sub.add_parser(
        "evaluate", help="PER / WER on held-out words", description=DESCRIPTION, formatter_class=fmt
    )
    e.add_argument("model", help="DIR or DIR/model.safetensors written by 'g2p train'")
    e.add_argument("--split", choices=["test", "dev", "train"], default="test")
    e.add_argument(
        "--limit",
        type=int_in(1, 10**7),
        help=with_range("only the first N words of the split", 1, 10**7),
    )
    e.add_argument("--out", help="also write metrics.json and errors.tsv to DIR (new or empty)")
    e.add_argument("--force", action="store_true")
    e.add_argument("--quiet", action="store_true", help="no progress bar")
    _common(e)


def run(args) -> int:
    if args.action == "train":
        cfg = config_from_args(args)
        cfg.verbose = 0 if args.quiet else 1
        if args.resume:
            if not args.out:
                raise UserError("--resume needs --out DIR, the directory of the earlier run")
            out = args.out  # (no directory: the job says what --resume needs)
            if os.path.isdir(out):
                lock_out_dir(out, "g2p")  # one run at a time, as for a new run
        else:
            check_config(cfg)  # bad options before DIR is made
            out = prepare_out_dir(args.out, "g2p", args.force)
        print(train_job(cfg, out, resume=args.resume))
        return 0
    model, vocab, meta = load_g2p(args.model)
    beam = 5 if args.beam is None else args.beam
    max_len = meta["max_len"] if args.max_len is None else args.max_len
    lp = 1.0 if args.length_penalty is None else args.length_penalty
    if args.action == "predict":
        words = [vocab.check_word(w) for w in args.words]
        if args.plot and not args.plot.lower().endswith(".png"):
            raise UserError(f"--plot expects a file name ending in .png, got {args.plot!r}")
        if args.plot:
            check_out_file(args.plot, args.force, "--plot")
        said = pronounce(model, vocab, words, beam, max_len, lp, n_best=args.n_best)
        for w, hs in zip(words, said, strict=True):
            for k, (ph, logp) in enumerate(hs):
                tail = "" if logp is None else f"   (log P = {logp:.3f})"
                print(f"{w if k == 0 else '':<16} {' '.join(ph)}{tail}")
        if args.plot:
            items = [
                (w, hs[0][0], attention_matrix(model, vocab, w, hs[0][0]))
                for w, hs in zip(words[:9], said, strict=False)
            ]
            attention_plot(args.plot, items)
            print(f"wrote {args.plot}" + (" (the first 9 words)" if len(words) > 9 else ""))
        return 0
    return _evaluate(args, model, vocab, meta, beam, max_len, lp)


def _evaluate(args, model, vocab, meta, beam, max_len, lp) -> int:
    out = prepare_out_dir(args.out, "g2p-eval", args.force) if args.out else None
    cfg = meta.get("config") if isinstance(meta.get("config"), dict) else {}
    max_words, seed = cfg.get("max_words"), cfg.get("seed", 0)
    if not (max_words is None or type(max_words) is int) or type(seed) is not int:
        raise UserError(f"{args.model}: model.json config.max_words / seed are not integers")
    lex, parts = gdata.load(meta["stress"], max_words, seed)
    words = parts[args.split][: args.limit]
    bad = [w for w in words if any(c not in vocab.letters for c in w)]
    if bad:
        raise UserError(f"the model cannot spell {bad[0]!r}: its letters are {vocab.letters}")
    bar = None
    if not args.quiet:
        bar = tqdm(total=len(words), unit="word", desc=f"{args.split}, beam {beam}")
    t0 = time.perf_counter()
    m, preds = score(
        model,
        vocab,
        lex,
        words,
        beam=beam,
        max_len=max_len,
        length_penalty=lp,
        progress=None if bar is None else bar.update,
    )
    seconds = time.perf_counter() - t0
    if bar is not None:
        bar.close()
    print(
        f"{args.split}: {m['n']} words, beam {beam}: PER {100 * m['per']:.2f} % "
        f"({m['errors']} errors / {m['ref_tokens']} phonemes), WER {100 * m['wer']:.2f} % "
        f"({m['wrong']} words wrong), {seconds:.1f} s"
    )
    if out:
        write_json(
            os.path.join(out, "metrics.json"),
            {
                **m,
                "split": args.split,
                "beam": beam,
                "length_penalty": lp,
                "max_len": max_len,
                "seconds": seconds,
            },
        )
        write_text(os.path.join(out, "errors.tsv"), error_table(words, preds, lex))
        print(f"wrote metrics.json, errors.tsv in {out}/")
    return 0
