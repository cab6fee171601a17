"""``lstmkit g2p train|predict|evaluate``: the command-line face of :mod:`lstmkit.apps.g2p`."""

from __future__ import annotations

import argparse
import os
import time

from tqdm.auto import tqdm

from ...errors import UserError
from ..shared.outdir import prepare_out_dir, write_json
from . import data as gdata
from .decode import attention_matrix, load_g2p, pronounce, score
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
    p.add_argument("--beam", type=int, help="beam size (1 = greedy; default 5, train: 5)")
    p.add_argument("--length-penalty", type=float, help="α of lp = ((5+n)/6)^α (default 1.0)")
    p.add_argument(
        "--max-len", type=int, help="longest pronunciation emitted (default: the model's)"
    )


def add_arguments(p) -> None:
    sub = p.add_subparsers(dest="action", metavar="ACTION")
    sub.required = True
    fmt = argparse.RawDescriptionHelpFormatter
    t = sub.add_parser(
        "train", help="train on CMUdict", description=DESCRIPTION, formatter_class=fmt
    )
    t.add_argument("--epochs", type=int, default=12, help="total epochs (default 12)")
    t.add_argument("--batch-size", type=int, default=128)
    t.add_argument(
        "--units", type=int, default=256, help="decoder units; 1/2 per encoder direction"
    )
    t.add_argument("--embed-dim", type=int, default=64)
    t.add_argument("--encoder-layers", type=int, default=1)
    t.add_argument("--attention", choices=["luong", "bahdanau"], default="luong")
    t.add_argument("--attention-units", type=int, default=128, help="bahdanau only")
    t.add_argument("--dropout", type=float, default=0.0)
    t.add_argument("--learning-rate", type=float, default=2e-3)
    t.add_argument("--lr-decay", type=float, default=0.8, help="learning rate × this per epoch")
    t.add_argument("--stress", action="store_true", help="keep stress marks (AH0/AH1/AH2)")
    t.add_argument("--max-words", type=int, help="use a seeded sample of N words (quick runs)")
    _common(t)
    t.add_argument("--resume", action="store_true", help="continue the run saved in --out")
    t.add_argument("--seed", type=int, default=0)
    t.add_argument("--out", help="output directory (new or empty, or with --resume the old one)")
    t.add_argument("--force", action="store_true", help="allow a non-empty --out")
    t.add_argument("--quiet", action="store_true", help="no progress bars")
    r = sub.add_parser(
        "predict", help="pronounce words", description=DESCRIPTION, formatter_class=fmt
    )
    r.add_argument("model", help="DIR or DIR/model.safetensors written by 'g2p train'")
    r.add_argument("words", nargs="+", metavar="WORD")
    r.add_argument("--n-best", type=int, default=1, help="print the N best (≤ --beam)")
    r.add_argument("--plot", metavar="FILE.png", help="draw the attention matrix of each word")
    r.add_argument("--force", action="store_true", help="replace an existing --plot file")
    _common(r)
    e = sub.add_parser(
        "evaluate", help="PER / WER on held-out words", description=DESCRIPTION, formatter_class=fmt
    )
    e.add_argument("model", help="DIR or DIR/model.safetensors written by 'g2p train'")
    e.add_argument("--split", choices=["test", "dev", "train"], default="test")
    e.add_argument("--limit", type=int, help="only the first N words of the split")
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
            out = args.out
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
        if args.plot and os.path.exists(args.plot) and not args.force:
            raise UserError(f"--plot {args.plot} exists; pass --force to replace it")
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
    if args.limit is not None and args.limit < 1:
        raise UserError(f"--limit must be at least 1, got {args.limit}")
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
        with open(os.path.join(out, "errors.tsv"), "w", encoding="utf-8") as f:
            f.write("word\tpredicted\tdictionary\n")
            for w, p in zip(words, preds, strict=True):
                if tuple(p) not in lex[w]:
                    f.write(f"{w}\t{' '.join(p)}\t{' | '.join(' '.join(r) for r in lex[w])}\n")
        print(f"wrote metrics.json, errors.tsv in {out}/")
    return 0
