"""``lstmkit g2p train``: spelling → pronunciation on CMUdict, an encoder–decoder LSTM with
attention (:mod:`lstmkit.seq2seq`), teacher forcing, Adam.

Every epoch: one pass over the training pairs in length-grouped batches, then greedy
PER / WER on the dev words. ``model.safetensors`` holds the epoch with the lowest dev WER
so far; ``checkpoint.safetensors`` the latest state (weights, Adam's moments, position,
dropout RNGs, history). Ctrl-C finishes the batch in flight, writes the checkpoint and
exits 130; ``--resume`` goes on from that batch, bit for bit as if never stopped.
At the end the best model is scored on the held-out test words (greedy and beam search)
and the job writes metrics.json, curves.png (learning curve) and attention.png.
"""

from __future__ import annotations

import os
import time
from dataclasses import asdict, dataclass, fields

import numpy as np
from tqdm.auto import tqdm

from ...errors import ModelFileError, TrainingDiverged, UserError
from ...optim import Adam, ExponentialDecay
from ...seq2seq import Seq2Seq, Seq2SeqConfig
from ...seq2seq.io import load_checkpoint, load_seq2seq, save_checkpoint, save_seq2seq
from ...training.interrupt import DeferredInterrupt
from ..shared.modelfiles import SIDECAR
from ..shared.outfiles import write_json, write_text
from ..shared.sidecar import read_json
from . import data as gdata
from .decode import TASK, attention_matrix, error_table, pronounce, score
from .plots import attention_plot, curves_plot

EXAMPLES = ["rhythm", "honest", "knowingly", "physical", "weightless", "equivocate"]  # test split


@dataclass
class G2PConfig:
    epochs: int = 12
    batch_size: int = 128
    units: int = 256
    embed_dim: int = 64
    encoder_layers: int = 1
    attention: str = "luong"
    attention_units: int = 128
    dropout: float = 0.0
    learning_rate: float = 2e-3
    lr_decay: float = 0.8  # × per epoch
    stress: bool = False
    max_words: int | None = None
    max_len: int = 40
    beam: int = 5
    length_penalty: float = 1.0
    seed: int = 0
    verbose: int = 1


#: fixed by the first run: a --resume must not change them
FIXED = (
    "batch_size",
    "units",
    "embed_dim",
    "encoder_layers",
    "attention",
    "attention_units",
    "dropout",
    "learning_rate",
    "lr_decay",
    "stress",
    "max_words",
    "seed",
)


def check_config(cfg: G2PConfig) -> None:
    for k in (
        "epochs",
        "batch_size",
        "units",
        "embed_dim",
        "encoder_layers",
        "attention_units",
        "max_len",
        "beam",
    ):
        if getattr(cfg, k) < 1:
            raise UserError(f"--{k.replace('_', '-')} must be at least 1, got {getattr(cfg, k)}")
    if cfg.units % 2:
        raise UserError(f"--units must be even (half per encoder direction), got {cfg.units}")
    if not 0 <= cfg.dropout < 1:
        raise UserError(f"--dropout must be in [0, 1), got {cfg.dropout}")
    if not (cfg.learning_rate > 0 and 0 < cfg.lr_decay <= 1):
        raise UserError(
            f"--learning-rate must be > 0 and --lr-decay in (0, 1], got "
            f"{cfg.learning_rate}, {cfg.lr_decay}"
        )
    if cfg.max_words is not None and cfg.max_words < 20:
        raise UserError(f"--max-words must be at least 20, got {cfg.max_words}")


def build_model(vocab: gdata.Vocab, cfg: G2PConfig, steps_per_epoch: int) -> Seq2Seq:
    model = Seq2Seq(
        Seq2SeqConfig(
            vocab.src_size,
            vocab.tgt_size,
            embed_dim=cfg.embed_dim,
            units=cfg.units,
            encoder_layers=cfg.encoder_layers,
            attention=cfg.attention,
            attention_units=cfg.attention_units,
            dropout=cfg.dropout,
            seed=cfg.seed,
        )
    )
    lr = ExponentialDecay(cfg.learning_rate, steps_per_epoch, cfg.lr_decay)  # × decay / epoch
    model.compile(Adam(learning_rate=lr, global_clipnorm=5.0))
    return model


def _resume_config(out: str, cfg: G2PConfig) -> None:
    """The interrupted run's own settings (FIXED) replace those of the command line."""
    meta_path, ckpt = os.path.join(out, SIDECAR), os.path.join(out, "checkpoint.safetensors")
    if not (os.path.exists(meta_path) and os.path.exists(ckpt)):
        raise UserError(
            f"--resume: {out} has no {SIDECAR} and checkpoint.safetensors "
            f"from an earlier 'lstmkit g2p train'"
        )
    meta = read_json(meta_path)  # (a regular file of bounded, strict JSON)
    if not isinstance(meta, dict) or meta.get("lstmkit_task") != TASK:
        raise UserError(f"--resume: {meta_path} is not a g2p model description")
    saved_cfg = meta.get("config")
    saved = saved_cfg if isinstance(saved_cfg, dict) else {}
    defaults = G2PConfig()
    for k in FIXED:
        v, d = saved.get(k, getattr(cfg, k)), getattr(defaults, k)
        if k == "max_words":
            ok = v is None or (type(v) is int and v > 0)
        elif isinstance(d, bool) or isinstance(d, str):
            ok = type(v) is type(d) and (k != "attention" or v in ("luong", "bahdanau"))
        else:  # int or float options
            ok = type(v) is int or (isinstance(d, float) and type(v) is float)
        if not ok:
            raise ModelFileError(f"{meta_path}: config.{k} = {str(v)[:40]!r} is not allowed")
        setattr(cfg, k, v)
    check_config(cfg)


def _resume_state(ckpt: str, vocab: gdata.Vocab, n_batches: int):
    model, state = load_checkpoint(ckpt)
    if (model.config.src_vocab, model.config.tgt_vocab) != (vocab.src_size, vocab.tgt_size):
        raise ModelFileError(f"{ckpt}: the checkpoint's vocabularies do not match the data")
    num = (int, float)
    ok = (
        all(type(state.get(k)) is int for k in ("epoch", "batch", "seen"))
        and type(state.get("loss_sum")) in num
        and (state.get("best_wer") is None or type(state["best_wer"]) in num)
        and 0 <= state["batch"] <= n_batches
        and isinstance(state.get("history"), dict)
        and all(
            isinstance(state["history"].get(k), list)
            and all(type(v) in num for v in state["history"][k])
            for k in ("epoch", "loss", "dev_per", "dev_wer", "seconds")
        )
        and type(state["history"].get("partial_seconds", 0.0)) in num
    )
    if not ok:
        raise ModelFileError(f"{ckpt}: training_state lacks a valid epoch, batch and history")
    return model, state


def train_job(cfg: G2PConfig, out: str, resume: bool = False) -> str:
    check_config(cfg)
    if resume:
        _resume_config(out, cfg)
    lex, parts = gdata.load(cfg.stress, cfg.max_words, cfg.seed)
    vocab = gdata.Vocab.build(lex)
    pairs = gdata.pairs_of(lex, parts["train"])
    batches = gdata.make_batches(pairs, cfg.batch_size, cfg.seed)
    ckpt = os.path.join(out, "checkpoint.safetensors")
    model_path = os.path.join(out, "model.safetensors")
    if resume:
        model, state = _resume_state(ckpt, vocab, len(batches))
        if state["epoch"] >= cfg.epochs:
            raise UserError(
                f"nothing to do: the checkpoint in {out} already finished "
                f"{state['epoch']} epochs; pass a larger --epochs to continue"
            )
    else:
        model = build_model(vocab, cfg, len(batches))
        state = {
            "epoch": 0,
            "batch": 0,
            "loss_sum": 0.0,
            "seen": 0,
            "best_wer": None,
            "history": {"epoch": [], "loss": [], "dev_per": [], "dev_wer": [], "seconds": []},
        }
    meta = {
        "lstmkit_task": TASK,
        "sidecar_version": 1,
        "task": TASK,
        "letters": vocab.letters,
        "phonemes": vocab.phonemes,
        "stress": cfg.stress,
        "max_len": cfg.max_len,
        "data": "CMU Pronouncing Dictionary (bundled; lstmkit.data.cmudict)",
        "split": "sha256(word) mod 100: 0-9 test, 10-12 dev, rest train",
        "config": {k: v for k, v in asdict(cfg).items() if k != "verbose"},
    }
    write_json(os.path.join(out, SIDECAR), meta)
    hist = state["history"]
    print(
        f"{len(parts['train'])} training words ({len(pairs)} pronunciations, "
        f"{len(batches)} batches), {len(parts['dev'])} dev, {len(parts['test'])} test; "
        f"{len(vocab.letters)} letters → {len(vocab.phonemes)} phonemes; "
        f"{model.count_params():,} parameters",
        flush=True,
    )
    bar = None
    with DeferredInterrupt() as stop:
        for epoch in range(state["epoch"], cfg.epochs):
            order = gdata.epoch_order(len(batches), cfg.seed, epoch)
            t0 = time.perf_counter() - (hist.get("partial_seconds") or 0.0)
            if cfg.verbose:
                bar = tqdm(
                    total=len(batches),
                    initial=state["batch"],
                    unit="batch",
                    desc=f"epoch {epoch + 1}/{cfg.epochs}",
                    dynamic_ncols=True,
                )
            for b in range(state["batch"], len(batches)):
                src, tin, tout = gdata.batch_arrays(vocab, pairs, batches[order[b]])
                loss = model.train_on_batch(src, tin, tout)
                if not np.isfinite(loss):
                    raise TrainingDiverged(
                        f"training diverged at epoch {epoch + 1}, batch {b + 1} "
                        f"(non-finite loss); try a smaller --learning-rate"
                    )
                state["loss_sum"] += loss * len(src)
                state["seen"] += len(src)
                if bar is not None:
                    bar.update(1)
                    bar.set_postfix_str(
                        f"loss={state['loss_sum'] / state['seen']:.4f}", refresh=False
                    )
                if stop.pending:
                    hist["partial_seconds"] = time.perf_counter() - t0
                    state.update(epoch=epoch, batch=b + 1)
                    save_checkpoint(model, ckpt, state)
                    if not os.path.exists(model_path):
                        save_seq2seq(model, model_path)
                    if bar is not None:
                        bar.close()
                    print(
                        f"interrupted at epoch {epoch + 1}, batch {b + 1}: saved to {ckpt}; "
                        f"continue with\n  lstmkit g2p train --out {out} --resume",
                        flush=True,
                    )
                    raise KeyboardInterrupt
            if bar is not None:
                bar.close()
            seconds = time.perf_counter() - t0
            m, _ = score(model, vocab, lex, parts["dev"], max_len=cfg.max_len)
            for k, v in (
                ("epoch", epoch),
                ("loss", state["loss_sum"] / max(state["seen"], 1)),
                ("dev_per", m["per"]),
                ("dev_wer", m["wer"]),
                ("seconds", seconds),
            ):
                hist[k].append(v)
            hist["partial_seconds"] = 0.0
            print(
                f"epoch {epoch + 1}: loss {hist['loss'][-1]:.4f}, dev PER "
                f"{100 * m['per']:.2f} %, WER {100 * m['wer']:.2f} % ({seconds:.0f} s)",
                flush=True,
            )
            if state["best_wer"] is None or m["wer"] < state["best_wer"]:
                state["best_wer"] = m["wer"]
                save_seq2seq(model, model_path)
            state.update(epoch=epoch + 1, batch=0, loss_sum=0.0, seen=0)
            save_checkpoint(model, ckpt, state)
    return finish(cfg, out, lex, parts, vocab, hist)


def finish(cfg, out, lex, parts, vocab, hist) -> str:
    """Score the best model on the test words; write metrics.json and the pictures."""
    model = load_seq2seq(os.path.join(out, "model.safetensors"))
    test = parts["test"]
    t0 = time.perf_counter()
    greedy, _ = score(model, vocab, lex, test, max_len=cfg.max_len)
    t1 = time.perf_counter()
    beam, preds = score(
        model,
        vocab,
        lex,
        test,
        beam=cfg.beam,
        max_len=cfg.max_len,
        length_penalty=cfg.length_penalty,
    )
    t2 = time.perf_counter()
    best = int(np.argmin(hist["dev_wer"]))
    metrics = {
        "test_words": len(test),
        "params": model.count_params(),
        "test_greedy": {k: greedy[k] for k in ("per", "wer")},
        f"test_beam{cfg.beam}": {k: beam[k] for k in ("per", "wer")},
        "length_penalty": cfg.length_penalty,
        "best_epoch": best + 1,
        "epochs": len(hist["epoch"]),
        "train_seconds": float(sum(hist["seconds"])),
        "decode_seconds": {"greedy": t1 - t0, f"beam{cfg.beam}": t2 - t1},
        "history": {k: v for k, v in hist.items() if k != "partial_seconds"},
    }
    write_json(os.path.join(out, "metrics.json"), metrics)
    write_text(os.path.join(out, "test_errors.tsv"), error_table(test, preds, lex))
    curves_plot(os.path.join(out, "curves.png"), hist)
    words = [w for w in EXAMPLES if all(c in vocab.letters for c in w)]
    said = pronounce(model, vocab, words, beam=cfg.beam, max_len=cfg.max_len)
    items = [
        (w, hs[0][0], attention_matrix(model, vocab, w, hs[0][0]))
        for w, hs in zip(words, said, strict=True)
    ]
    attention_plot(os.path.join(out, "attention.png"), items)
    lines = [
        f"test ({len(test)} held-out words): greedy PER {100 * greedy['per']:.2f} %, "
        f"WER {100 * greedy['wer']:.2f} %; beam {cfg.beam}: PER {100 * beam['per']:.2f} %, "
        f"WER {100 * beam['wer']:.2f} %",
        f"best dev epoch {best + 1} of {len(hist['epoch'])}; training "
        f"{sum(hist['seconds']) / 60:.1f} min",
        *[f"  {w:<10} {' '.join(p)}" for w, p, _ in items],
        f"wrote: model.safetensors, model.json, checkpoint.safetensors, metrics.json, "
        f"test_errors.tsv, curves.png, attention.png in {out}/",
        f"more: lstmkit g2p predict {out} WORD… --plot attention.png",
    ]
    return "\n".join(lines)


def config_from_args(args) -> G2PConfig:
    names = {f.name for f in fields(G2PConfig)}
    kw = {k: getattr(args, k) for k in names if hasattr(args, k) and getattr(args, k) is not None}
    return G2PConfig(**kw)
