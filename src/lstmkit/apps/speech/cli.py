"""``lstmkit speech train|evaluate|recognize``: the command-line face of :mod:`.job`."""

from __future__ import annotations

import argparse
import json
import os

from ...errors import UserError
from ..shared.args import float_in, int_in, seed, with_range
from ..shared.outdir import lock_out_dir, prepare_out_dir
from ..shared.outfiles import check_out_file
from ..shared.tables import format_table
from . import job
from .data import load_corpus
from .plot import training_plot
from .recognize import recognize_file, write_inputs_csv

HELP = "recognise spoken digit strings (bidirectional LSTM + CTC, espeak-ng voices)"
DESCRIPTION = """\
Continuous speech recognition of digit strings ("three one four one five") with a
bidirectional LSTM trained by connectionist temporal classification (CTC; Graves
et al. 2006). The bundled corpus holds MFCC features of 2,000 utterances of 1-7
digits synthesised by espeak-ng in 340 voices (accents x voice variants, with
random speed, pitch, pauses, level and noise); the test voices are variants never
heard in training, some also with an accent never heard. Training saves after every
epoch (Ctrl-C saves too; continue with --resume) and keeps the model with the
lowest validation digit error rate. 'recognize' reads a WAV file (16 kHz mono
is best; other PCM rates are resampled, stereo is averaged) and prints the digits.

examples:
  lstmkit speech train --out out/digits                     # 30 epochs, ~4 CPU-minutes
  lstmkit speech train --out out/digits --epochs 40 --resume
  lstmkit speech evaluate --model out/digits --beam 8      # held-out voices
  espeak-ng -v en-us+m3 -w my.wav "4 0 7 1"
  lstmkit speech recognize my.wav --model out/digits --plot align.png
  lstmkit speech recognize my.wav --model out/digits --inputs-csv my.csv
  lstmkit explain out/digits --csv my.csv --step 20       # the first LSTM, step 20
"""


def add_arguments(p) -> None:
    sub = p.add_subparsers(dest="action", metavar="ACTION")
    sub.required = True
    kw = {"description": DESCRIPTION, "formatter_class": argparse.RawDescriptionHelpFormatter}
    t = sub.add_parser("train", help="train the recogniser on the bundled corpus", **kw)
    t.add_argument("--data", help="a corpus .npz made by python -m lstmkit.apps.speech.corpus")
    t.add_argument(
        "--epochs",
        type=int_in(1, 10**6),
        default=30,
        help=with_range("total epochs", 1, 10**6, default=30),
    )
    t.add_argument(
        "--units",
        type=int_in(1, 65536),
        default=128,
        help=with_range("units per LSTM direction", 1, 65536, default=128),
    )
    t.add_argument(
        "--layers",
        type=int_in(1, 64),
        default=2,
        help=with_range("bidirectional LSTM layers", 1, 64, default=2),
    )
    t.add_argument(
        "--batch-size",
        type=int_in(1, 10**6),
        default=16,
        help=with_range("utterances per batch", 1, 10**6, default=16),
    )
    t.add_argument(
        "--learning-rate",
        type=float_in(0, 100, lo_open=True),
        default=2e-3,
        help=with_range("Adam learning rate", 0, 100, lo_open=True, default=2e-3),
    )
    t.add_argument(
        "--no-augment",
        action="store_true",
        help="train on the MFCCs as they are (default: a random voice warp and speed each epoch)",
    )
    t.add_argument(
        "--dropout",
        type=float_in(0, 1, hi_open=True),
        default=0.0,
        help=with_range("on the LSTM inputs", 0, 1, hi_open=True, default=0),
    )
    t.add_argument(
        "--max-train",
        type=int_in(1, 10**7),
        help=with_range("use only the first N training utterances", 1, 10**7),
    )
    t.add_argument(
        "--max-eval",
        type=int_in(1, 10**7),
        help=with_range("use only the first N validation/test ones", 1, 10**7),
    )
    t.add_argument("--resume", action="store_true", help="continue the run saved in --out")
    t.add_argument(
        "--seed", type=seed(), default=0, help=with_range("seed", 0, 2**32 - 1, default=0)
    )
    t.add_argument("--out", help="output directory (new or empty, or with --resume the old one)")
    t.add_argument("--force", action="store_true", help="allow a non-empty --out")
    t.add_argument("--quiet", action="store_true", help="no progress bars")
    e = sub.add_parser("evaluate", help="digit error rate on the held-out voices", **kw)
    e.add_argument("--model", required=True, help="DIR (or DIR/model.safetensors) from 'train'")
    e.add_argument("--data", help="a corpus .npz (default: the bundled one)")
    e.add_argument("--split", choices=["test", "validation", "train"], default="test")
    e.add_argument(
        "--beam",
        type=int_in(0, 1000),
        default=0,
        help=with_range("prefix beam width (0: greedy)", 0, 1000, default=0),
    )
    e.add_argument(
        "--max-eval",
        type=int_in(1, 10**7),
        help=with_range("only the first N utterances of the split", 1, 10**7),
    )
    e.add_argument("--json", action="store_true", help="print the scores as JSON")
    r = sub.add_parser("recognize", help="print the digits spoken in WAV files", **kw)
    r.add_argument("wav", nargs="+", help="WAV file(s), 16 kHz mono best")
    r.add_argument("--model", required=True, help="DIR (or DIR/model.safetensors) from 'train'")
    r.add_argument(
        "--beam",
        type=int_in(0, 1000),
        default=8,
        help=with_range("prefix beam width (0: greedy)", 0, 1000, default=8),
    )
    r.add_argument("--plot", help="write the CTC alignment picture (PNG) of the first file here")
    r.add_argument("--force", action="store_true", help="replace existing --plot / --inputs-csv")
    r.add_argument(
        "--inputs-csv",
        help="write the first file's model inputs (30 ms steps x 39) as CSV, for "
        "'lstmkit explain MODEL --csv FILE'",
    )


def run(args) -> int:
    if args.action == "train":
        corpus = load_corpus(args.data)
        cfg = job.SpeechConfig(
            units=args.units,
            layers=args.layers,
            epochs=args.epochs,
            batch_size=args.batch_size,
            learning_rate=args.learning_rate,
            max_train=args.max_train,
            max_eval=args.max_eval,
            augment=not args.no_augment,
            dropout=args.dropout,
            seed=args.seed,
            verbose=0 if args.quiet else 1,
        )
        if args.resume:
            if not args.out:
                raise UserError("--resume needs --out DIR, the directory of the interrupted run")
            out = args.out  # (no directory: the job says what --resume needs)
            if os.path.isdir(out):
                lock_out_dir(out, "speech")  # one run at a time, as for a new run
        else:
            out = prepare_out_dir(args.out, "speech", args.force)
        source = args.data or "bundled spoken_digits.npz (espeak-ng voices)"
        print(f"data: {source}")
        try:
            _, st = job.train_job(corpus, cfg, out, resume=args.resume, source=source)
        except KeyboardInterrupt:
            if os.path.exists(os.path.join(out, "train_state.json")):
                print(
                    "interrupted: saved; continue with\n"
                    f"  lstmkit speech train --out {out} --resume"
                )
            else:
                print("interrupted before anything was saved: nothing to resume")
            raise
        return _report_training(out, st, cfg, corpus)

    model, meta = job.load_speech_model(args.model)
    if args.action == "evaluate":
        corpus = load_corpus(args.data)
        res = job.evaluate(model, meta, corpus, args.split, args.beam, args.max_eval)
        if args.json:
            print(json.dumps(res, indent=2))
            return 0
        rows: list[tuple[str, dict]] = [
            ("all held-out voices" if args.split == "test" else args.split, res)
        ]
        rows += [(k.replace("_", " "), res[k]) for k in ("seen_accent", "new_accent") if k in res]
        print(f"{args.split} set ({res['voices']} voices), {res['decoder']} decoding:")
        print(
            format_table(
                ["utterances", "n", "digits", "digit error %", "strings right %"],
                [
                    [
                        n,
                        r["utterances"],
                        r["digits"],
                        100 * r["digit_error_rate"],
                        100 * r["string_accuracy"],
                    ]
                    for n, r in rows
                ],
                floatfmt=".2f",
            )
        )
        for ex in res["examples"][:5]:
            print(f"  {ex['voice']:<24} said {ex['ref']:<8} heard {ex['hyp']}")
        return 0

    if args.plot:
        d = os.path.dirname(os.path.abspath(args.plot))
        if not args.plot.lower().endswith(".png"):
            raise UserError(f"--plot expected a .png file name, got {args.plot}")
        if not os.path.isdir(d) or not os.access(d, os.W_OK):
            raise UserError(
                f"--plot {args.plot}: the directory {d} does not exist or is not writable"
            )
        check_out_file(args.plot, args.force, "--plot")
    if args.inputs_csv:
        check_out_file(args.inputs_csv, args.force, "--inputs-csv")

    for k, path in enumerate(args.wav):
        digits, info = recognize_file(
            model, meta, path, beam=args.beam, plot=args.plot if k == 0 else None
        )
        print(f"{path}: {digits if digits else '(no digits heard)'}")
        if k == 0 and args.inputs_csv:
            write_inputs_csv(args.inputs_csv, info["inputs"])
            print(f"model inputs: {args.inputs_csv} (lstmkit explain {args.model} --csv ...)")
    if args.plot:
        print(f"alignment picture: {args.plot}")
    return 0


def _report_training(out, st, cfg, corpus) -> int:
    h = st["history"]
    training_plot(os.path.join(out, "training.png"), h["val_der"], h["loss"])
    size = os.path.getsize(os.path.join(out, "model.safetensors"))
    print(
        f"{len(h['loss'])} epochs in {st.get('seconds', 0.0):.0f} s; best validation digit error "
        f"{100 * st['best']['val_der']:.2f}% (epoch {st['best']['epoch']}); "
        f"model.safetensors {size / 1e6:.2f} MB"
    )
    print(
        "wrote: model.safetensors, model.json, checkpoint.safetensors, train_state.json, "
        f"training.png in {out}/"
    )
    print(f"more: lstmkit speech evaluate --model {out}")
    return 0
