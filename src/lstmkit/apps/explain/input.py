"""Model and input for ``lstmkit explain``: load a saved model (file or job directory) and
turn ``--input TEXT`` / ``--csv FILE`` into exactly what that model reads.

A job's ``model.json`` sidecar (see :mod:`lstmkit.apps.common`) says how:

* ``textgen``  characters → ids 0…V−1 of its character vocabulary (``chars``/``vocab``);
  a character outside it is an error (the model never saw it);
* ``classify`` text: lower-cased words → word ids (unknown words → the OOV id, as the job
  does); series: the CSV's ``features`` columns, standardised with the job's scaler;
* ``forecast`` the CSV's target (and covariates) → the job's own features
  [(d_s − μ)/σ, covariates] over the last ``lookback`` rows: the window a forecast reads.

Without a sidecar: ``--csv`` feeds the numeric columns as they are; ``--input`` needs a
vocabulary. A first layer that is an Embedding gets ids (1, T); otherwise characters are
one-hot (1, T, V). Every problem is a one-line :class:`~lstmkit.errors.UserError`.
"""

from __future__ import annotations

import os

import numpy as np

from ...data.csv import read_table
from ...data.scaling import StandardScaler
from ...data.text import OOV, WordVocab, words
from ...errors import UserError
from ..classify import sidecar as classify_sidecar
from ..forecast import job as fc
from ..forecast import sidecar as forecast_sidecar
from ..shared.modelfiles import SIDECAR, load_weights, read_sidecar, resolve_model_path
from ..speech import sidecar as speech_sidecar
from ..textgen import sidecar as textgen_sidecar

#: a job's sidecar is checked by that job's own schema before explain reads it
CHECKS = {
    "forecast": forecast_sidecar.check,
    "classify": classify_sidecar.check,
    "textgen": textgen_sidecar.check,
    "speech": speech_sidecar.check,
}


def load(path: str):
    """(model, meta, source name) from a model file or a job directory; the sidecar is
    optional, and when it names a job it must pass that job's checks."""
    path = resolve_model_path(path)  # UserError if missing
    model, meta = load_weights(path), read_sidecar(path) or {}
    check = CHECKS.get(task_of(meta))
    if check is not None:
        meta = check(meta, model, os.path.join(os.path.dirname(path) or ".", SIDECAR))
    return model, meta, path


def task_of(meta: dict) -> str:
    return str(meta.get("lstmkit_task") or meta.get("task") or "")


def char_vocab(meta: dict):
    for k in ("chars", "vocab", "alphabet"):
        v = meta.get(k)
        if v and (isinstance(v, str) or all(isinstance(c, str) and len(c) == 1 for c in v)):
            return list(v)
    return None


def check_text(text: str, vocab) -> None:
    if not text:
        raise UserError("--input is empty: expected at least one character")
    unseen = sorted(set(ch for ch in text if ch not in vocab))
    if unseen:
        shown = "".join(vocab)
        shown = shown if len(shown) <= 60 else shown[:60] + "…"
        raise UserError(
            f"--input has character(s) the model never saw: {''.join(unseen)!r}; "
            f"it knows {len(vocab)}: {shown!r}"
        )


def _first_is_embedding(model) -> bool:
    return type(model.layers[0]).__name__ == "Embedding"


def encode_chars(text: str, vocab, model):
    """Characters → (1, T) ids for an Embedding first layer, else (1, T, V) one-hot."""
    check_text(text, vocab)
    ids = np.array([[vocab.index(ch) for ch in text]])  # (1, T)
    if _first_is_embedding(model):
        return ids
    want = getattr(model.layers[0], "input_shape", None)
    if want and want[-1] != len(vocab):
        raise UserError(
            f"the model reads {want[-1]} features per step but its vocabulary has "
            f"{len(vocab)} characters"
        )
    x = np.zeros((1, len(text), len(vocab)), np.float32)  # (1, T, V) one-hot
    x[0, np.arange(len(text)), ids[0]] = 1
    return x


def encode_words(text: str, meta: dict):

    toks = words(text)
    if not toks:
        raise UserError("--input has no words: expected some text for a word model")
    vocab = WordVocab(meta["vocab"])
    ids = np.array([[vocab.ids.get(w, OOV) for w in toks]])  # (1, T) word ids
    labels = [w if w in vocab.ids else f"{w}?" for w in toks]  # ? = unknown → the OOV id
    return ids, labels


def _check_width(model, x, what):
    want = getattr(model.layers[0], "input_shape", None)
    if want and want[-1] != x.shape[-1]:
        raise UserError(
            f"{what}: the model reads {want[-1]} feature(s) per step, got {x.shape[-1]}"
        )


def encode_csv(path: str, meta: dict, model):
    """--csv FILE → ((1, T, F) float32, labels) as the model's job would feed it."""

    table = read_table(path)
    task = task_of(meta)
    if task == "forecast":
        x, labels = fc.input_window(table, meta, os.path.basename(path))
    else:
        cols = meta.get("features") if task == "classify" else None
        cols = cols or [c for c in table.columns if table.is_numeric(c)]
        if not cols:
            raise UserError(f"{path}: expected numeric columns, found none")
        x = np.stack([table.numeric(c) for c in cols], axis=1)  # (T, F)
        if isinstance(meta.get("scaler"), dict):
            x = StandardScaler.from_dict(meta["scaler"]).transform(x)
        first = table.columns[0]
        labels = table.strings(first) if first not in cols else [f"{v:.4g}" for v in x[:, 0]]
        x = x[None]
    _check_width(model, x, path)
    return np.asarray(x, np.float32), list(labels)


def encode(model, meta: dict, text: str | None, csv: str | None, name: str):
    """The model input for one sequence and a label per step."""
    task = task_of(meta)
    if csv is not None:
        return encode_csv(csv, meta, model)
    if text is None:
        raise UserError(
            "give the model an input: --input TEXT for a text model, "
            "--csv FILE for a model of numbers"
        )
    if task == "classify" and meta.get("kind") == "text":
        return encode_words(text, meta)
    if task in ("forecast",) or (task == "classify" and meta.get("kind") == "series"):
        raise UserError(f"{name} is a {task} model of numbers: give its input with --csv FILE")
    vocab = char_vocab(meta)
    if vocab is None:
        raise UserError(
            f"{name} has no character vocabulary (no model.json with 'chars' beside "
            "it): give its input with --csv FILE instead of --input"
        )
    return encode_chars(text, vocab, model), list(text)
