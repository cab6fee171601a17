"""Continuous recognition of spoken digit strings: a bidirectional LSTM trained with CTC.

    MFCC frames → stack 3 (30 ms steps, 39 features) → Bidirectional(LSTM(H)) × layers
                → Dense(11) logits z_t → CTC loss (blank = 0, digit d = class d + 1)

Graves, Fernández, Gomez & Schmidhuber (2006) trained exactly this kind of model on TIMIT
phones; here the labels are digits and the data are espeak-ng voices (``corpus.py``).

Training is a small loop of our own over batches of similar length (``length_batches``),
because the padded frames of a batch must be *masked*: the backward LSTM of a short
utterance must start at its last real frame, not at the batch's. Each step:

    forward  h ← layer.forward(h, training=True, mask)   for every layer
    loss     L, ∂L/∂z = CTCLoss(y, z, sample_weight=mask)  (mean over the batch)
    backward ∂ ← layer.backward(∂)                       in reverse
    update   model.apply_gradients()                     (Adam, global gradient-norm clip)

The batch order of epoch e comes from ``default_rng([seed, e])``, so a run interrupted after
batch b resumes exactly there from a checkpoint (weights + optimizer state) and the position.
The model with the lowest validation digit error rate is kept as ``model.safetensors``.
"""

from __future__ import annotations

import math
import os
import time
from dataclasses import asdict, dataclass

import numpy as np
from tqdm.auto import tqdm

from ...core.ctc import log_softmax
from ...core.ctc_decode import beam_decode, edit_distance, greedy_decode
from ...data.audio import FeatureConfig
from ...errors import ModelFileError, TrainingDiverged, UserError
from ...layers import LSTM, Bidirectional, Dense
from ...layers.base import rng_layers
from ...model import Sequential
from ...optim import Adam
from ...training.checkpoint import restore_checkpoint
from ...training.guard import all_finite
from ...training.interrupt import DeferredInterrupt
from ...training.state import FitState
from ..shared.modelfiles import SIDECAR, load_job_model, save_job_model
from ..shared.outfiles import write_json
from ..shared.sidecar import read_json
from . import sidecar
from .data import (
    N_CLASSES,
    STACK,
    Corpus,
    length_batches,
    model_input,
    norm_scale,
    pad_batch,
    perturb,
)

TASK = "speech"


@dataclass
class SpeechConfig:
    units: int = 128
    layers: int = 2
    epochs: int = 30
    batch_size: int = 16
    learning_rate: float = 2e-3
    max_train: int | None = None  # use only the first N training utterances (tests)
    max_eval: int | None = None  # … and the first N validation utterances
    augment: bool = True  # warp and stretch the training MFCCs anew each epoch (data.perturb)
    dropout: float = 0.0  # on each LSTM's inputs
    seed: int = 0
    verbose: int = 1


def build_model(cfg: SpeechConfig, input_dim: int) -> Sequential:
    layers = [
        Bidirectional(
            LSTM(cfg.units, return_sequences=True, dropout=cfg.dropout, seed=cfg.seed + 2 * k)
        )
        for k in range(cfg.layers)
    ]
    model = Sequential(layers + [Dense(N_CLASSES, seed=cfg.seed + 100)], name="speech_ctc")
    model.compile(optimizer=Adam(learning_rate=cfg.learning_rate, global_clipnorm=5.0), loss="ctc")
    model.build((None, input_dim))
    return model


def forward(model, x, mask, training=False):
    """Logits (B, T, 11), the mask passed to every layer."""
    h = x
    for layer in model.layers:
        h = layer.forward(h, training=training, mask=mask)
    return h


def train_step(model, x, mask, y) -> float:
    z = forward(model, x, mask, training=True)
    loss, dz = model.loss.value_and_grad(y, z, sample_weight=mask)
    if not math.isfinite(loss):  # not applied (the next forward replaces the caches)
        return loss
    d = dz
    for layer in reversed(model.layers):
        d = layer.backward(d)
    model.apply_gradients()
    return loss


def decode(model, xs: list, beam: int = 0, batch_size: int = 32) -> list[list[int]]:
    """Digit strings (lists of 0–9) for model inputs xs; beam 0 = greedy."""
    out = []
    for k in range(0, len(xs), batch_size):
        x, mask, _ = pad_batch(xs[k : k + batch_size])
        lp = log_softmax(forward(model, x, mask))
        lengths = mask.sum(axis=1).astype(int)
        if beam:
            hyps = beam_decode(lp, lengths, beam_width=beam)
        else:
            hyps = greedy_decode(lp, lengths)
        out += [[c - 1 for c in h] for h in hyps]
    return out


def scores(refs, hyps) -> dict:
    """Digit error rate (edit distance / reference digits) and whole-string accuracy."""
    errs = sum(edit_distance(r, h) for r, h in zip(refs, hyps, strict=True))
    n = sum(len(r) for r in refs)
    exact = sum(list(r) == list(h) for r, h in zip(refs, hyps, strict=True))
    return {
        "digit_error_rate": errs / max(n, 1),
        "string_accuracy": exact / max(len(refs), 1),
        "utterances": len(refs),
        "digits": n,
    }


def _atomic_json(path, obj):
    write_json(path, obj)  # (atomic: temp file + os.replace)


def train_job(corpus: Corpus, cfg: SpeechConfig, out: str, resume: bool = False, source=""):
    fcfg = FeatureConfig(**corpus.meta.get("features", {}))
    state_path, ckpt = (
        os.path.join(out, "train_state.json"),
        os.path.join(out, "checkpoint.safetensors"),
    )
    if resume:
        if not (os.path.exists(state_path) and os.path.exists(ckpt)):
            raise UserError(
                f"--resume: {out} has no train_state.json and checkpoint.safetensors "
                f"from an earlier 'lstmkit speech train'"
            )
        keys = (
            "units",
            "layers",
            "batch_size",
            "max_train",
            "max_eval",
            "seed",
            "augment",
            "dropout",
        )
        try:
            st = read_json(state_path)  # (a regular file of bounded, strict JSON)
            for k in keys:  # the architecture and data of the saved run
                setattr(cfg, k, st["config"][k])
            int(st["epoch"]), int(st["batch"]), list(st["norm_scale"])
        except (ValueError, KeyError, TypeError) as e:
            raise UserError(f"--resume: {state_path} is not a speech training state: {e}") from None
        if st["epoch"] >= cfg.epochs:
            raise UserError(
                f"nothing to do: the run in {out} already finished {st['epoch']} epochs; "
                f"pass a larger --epochs to continue"
            )
    tr, va = corpus.indices("train")[: cfg.max_train], corpus.indices("validation")[: cfg.max_eval]
    if len(tr) == 0 or len(va) == 0:
        raise UserError("the corpus needs training and validation utterances")
    if resume:
        scale = np.asarray(st["norm_scale"], np.float32)
    else:
        scale = norm_scale(corpus, tr)
        st = {"epoch": 0, "batch": 0, "running": [0.0, 0], "history": {}, "best": None}
    xs = {i: model_input(corpus.feats[i], scale) for i in np.concatenate([tr, va])}
    model = build_model(cfg, STACK * len(scale))
    if resume:
        restore_checkpoint(model, ckpt)
    meta = {
        "task": TASK,
        "labels": list("0123456789"),
        "blank": 0,
        "stack": STACK,
        "norm_scale": [float(s) for s in scale],
        "features": fcfg.to_dict(),
        "config": {k: getattr(cfg, k) for k in ("units", "layers")},
        "data": source,
    }
    write_json(os.path.join(out, SIDECAR), {"lstmkit_task": TASK, "sidecar_version": 1, **meta})
    hist = st["history"]
    t0 = time.perf_counter() - st.get("seconds", 0.0)

    def save_state(epoch, batch, running):
        st.update(epoch=epoch, batch=batch, running=running, seconds=time.perf_counter() - t0)
        st["config"] = asdict(cfg)
        st["norm_scale"] = meta["norm_scale"]
        # the checkpoint file says where the run stands too (what `lstmkit inspect` shows);
        # the batch order of an epoch needs no RNG state: it comes from (seed, epoch)
        model.fit_state = FitState(
            epoch=epoch,
            batch=batch,
            shuffle_rng=dict(model.rng.bit_generator.state),
            layer_rngs=[dict(layer.rng.bit_generator.state) for layer in rng_layers(model.layers)],
            running={"loss": list(running), "metrics": []} if batch else None,
            history={k: list(v) for k, v in hist.items()},
            history_epochs=list(range(len(hist.get("loss", [])))),
        )
        try:
            model.save_checkpoint(ckpt)
        finally:
            model.fit_state = None
        _atomic_json(state_path, st)

    lengths = [len(xs[i]) for i in tr]
    with DeferredInterrupt() as interrupt:
        for epoch in range(st["epoch"], cfg.epochs):
            rng = np.random.default_rng([cfg.seed, epoch])  # this epoch's order and warps
            batches = length_batches(lengths, cfg.batch_size, rng)
            aug_seed = int(rng.integers(2**62))
            first = st["batch"] if epoch == st["epoch"] else 0
            total, count = st["running"] if first else (0.0, 0)
            bar = tqdm(
                total=len(batches),
                initial=first,
                desc=f"epoch {epoch + 1}/{cfg.epochs}",
                unit="batch",
                disable=not cfg.verbose,
                dynamic_ncols=True,
                leave=False,
            )
            for b in range(first, len(batches)):
                idx = tr[batches[b]]
                if cfg.augment:  # each utterance's warp depends on (seed, epoch, utterance)
                    warp = [
                        perturb(corpus.feats[i], np.random.default_rng([aug_seed, i])) for i in idx
                    ]
                    xb = [model_input(f, scale) for f in warp]
                else:
                    xb = [xs[i] for i in idx]
                x, mask, y = pad_batch(xb, [corpus.labels[i] for i in idx])
                loss = train_step(model, x, mask, y)
                if math.isfinite(loss):
                    total, count = total + loss * len(idx), count + len(idx)
                bar.update(1)
                bar.set_postfix_str(f"ctc={total / max(count, 1):.3f}", refresh=False)
                if interrupt.pending:
                    bar.close()
                    save_state(epoch, b + 1, [total, count])
                    raise KeyboardInterrupt(f"after epoch {epoch + 1}, batch {b + 1}")
            bar.close()
            if count == 0 or not all_finite(model.buffers.params):
                raise TrainingDiverged(
                    f"training diverged in epoch {epoch + 1}: "
                    + ("no batch had a finite loss" if count == 0 else "the weights went NaN/inf")
                    + "; the best model so far is kept. Try a lower --learning-rate"
                )
            val = scores([corpus.labels[i] for i in va], decode(model, [xs[i] for i in va]))
            for k, v in (
                ("loss", total / max(count, 1)),
                ("val_der", val["digit_error_rate"]),
                ("val_string_accuracy", val["string_accuracy"]),
            ):
                hist.setdefault(k, []).append(v)
            better = bool(st["best"] is None or val["digit_error_rate"] <= st["best"]["val_der"])
            if better:
                st["best"] = {"epoch": epoch + 1, "val_der": val["digit_error_rate"]}
                save_job_model(model, out, meta)
            if cfg.verbose:
                print(
                    f"epoch {epoch + 1}: ctc loss {hist['loss'][-1]:.3f}, validation digit error "
                    f"{100 * val['digit_error_rate']:.2f}%, strings right "
                    f"{100 * val['string_accuracy']:.1f}%"
                    + ("  (best so far, saved)" if better else ""),
                    flush=True,
                )
            save_state(epoch + 1, 0, [0.0, 0])
            if interrupt.pending:
                raise KeyboardInterrupt(f"after epoch {epoch + 1}")
    return model, st


def load_speech_model(path: str):
    """→ (model, meta) with the sidecar checked against the model."""
    model, meta = load_job_model(path, TASK, sidecar.check)
    try:
        fcfg = FeatureConfig.from_dict(meta["features"])
        scale = np.asarray(meta["norm_scale"], np.float32)
        stack = int(meta["stack"])
        labels = meta["labels"]
    except (KeyError, TypeError, ValueError) as e:
        raise ModelFileError(f"{path}: model.json lacks or garbles a speech field: {e}") from None
    if scale.shape != (fcfg.n_mfcc,) or not np.all(scale > 0):
        raise ModelFileError(f"{path}: norm_scale must be {fcfg.n_mfcc} positive numbers")
    if model.input_shape[-1] != stack * fcfg.n_mfcc or model.output_shape[-1] != len(labels) + 1:
        raise ModelFileError(
            f"{path}: model.json (input {stack}×{fcfg.n_mfcc}, {len(labels)} labels + blank) "
            f"does not match the model (input {model.input_shape[-1]}, "
            f"{model.output_shape[-1]} outputs)"
        )
    meta["_fcfg"], meta["_scale"] = fcfg, scale
    return model, meta


def evaluate(model, meta, corpus: Corpus, split="test", beam=0, max_utts=None) -> dict:
    """Scores on a split, overall and by whether the accent is new to the model."""
    idx = corpus.indices(split)[:max_utts]
    if len(idx) == 0:
        raise UserError(f"the corpus has no {split!r} utterances")
    xs = [model_input(corpus.feats[i], meta["_scale"], meta["stack"]) for i in idx]
    refs = [corpus.labels[i] for i in idx]
    hyps = decode(model, xs, beam=beam)
    res = {"split": split, "decoder": f"beam {beam}" if beam else "greedy", **scores(refs, hyps)}
    new = corpus.new_accent(idx)
    for name, sel in (("seen_accent", ~new), ("new_accent", new)):
        if sel.any():
            res[name] = scores(
                [refs[k] for k in np.flatnonzero(sel)], [hyps[k] for k in np.flatnonzero(sel)]
            )
    res["voices"] = int(len(set(corpus.voice[idx])))
    res["examples"] = [
        {"voice": str(corpus.voice[i]), "ref": "".join(map(str, r)), "hyp": "".join(map(str, h))}
        for i, r, h in list(zip(idx, refs, hyps, strict=True))[:8]
    ]
    return res
