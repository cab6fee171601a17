"""Seq2Seq files: safetensors + a JSON config — no pickle, no code, ever.

* tensors ``{layer}.{name}``: each layer's ``named_tensors()`` — PyTorch names for the
  LSTMs (``encoder_0.weight_ih_l0``, ``encoder_0.weight_ih_l0_reverse``,
  ``decoder.bias_hh_l0`` …), Keras names for the others (``output.kernel``,
  ``attention.scale`` …);
* metadata ``format`` = "lstmkit", ``format_version`` = "1", ``kind`` = "seq2seq",
  ``config`` = JSON of :class:`Seq2SeqConfig` (a fixed set of keys, plain bounded values).

A training checkpoint (``kind`` = "seq2seq-checkpoint") adds the optimizer's state
buffers as tensors ``optimizer.{slot}._``, its type and configuration (``optimizer``),
the dropout layers' RNG states (``rng_states``) and the caller's ``training_state``
(JSON). Files are written atomically.

Loading checks the file's structure (:func:`lstmkit.io.safefile.read_header`), the kind,
every config key and value, that the file holds at least as many values as the config
needs (before anything is allocated), and then each tensor's name, dtype and shape
against the model the config describes. Anything else: :class:`ModelFileError`.
"""

from __future__ import annotations

import json
import math
import os
from dataclasses import fields
from typing import Any, cast

import numpy as np

from .. import optim
from ..errors import ModelFileError
from ..io import safefile
from ..io.atomic import atomic_write
from ..io.format import encode, read_tensors
from .model import ATTENTIONS, Seq2Seq, Seq2SeqConfig

__all__ = [
    "MAX_SIZE",
    "model_tensors",
    "save_seq2seq",
    "save_checkpoint",
    "param_count",
    "check_config",
    "read_seq2seq",
    "load_seq2seq",
    "load_checkpoint",
    "is_seq2seq_file",
    "describe",
]

KIND, CHECKPOINT_KIND = "seq2seq", "seq2seq-checkpoint"
MAX_SIZE = 65536


def model_tensors(model: Seq2Seq) -> dict[str, np.ndarray]:
    return {
        f"{ln}.{n}": np.ascontiguousarray(a)
        for ln, layer in model.layers.items()
        for n, a in layer.named_tensors().items()
    }


def _metadata(model: Seq2Seq, kind: str) -> dict[str, str]:
    return {
        "format": safefile.FORMAT,
        "format_version": str(safefile.FORMAT_VERSION),
        "kind": kind,
        "config": json.dumps(model.get_config()),
    }


def save_seq2seq(model: Seq2Seq, path) -> None:
    atomic_write(path, encode(model_tensors(model), _metadata(model, KIND)))


def save_checkpoint(model: Seq2Seq, path, training_state: dict) -> None:
    """Model + optimizer state + ``training_state`` (any JSON the caller needs to go on)."""
    if model.optimizer is None:
        raise ValueError("a checkpoint needs a compiled model")
    opt = model.optimizer
    st = opt.get_state()
    tensors = model_tensors(model)
    tensors.update({f"optimizer.{n}": a for n, a in st["slots"].items()})
    meta = _metadata(model, CHECKPOINT_KIND)
    meta["optimizer"] = json.dumps(
        {
            "type": type(opt).__name__,
            "config": opt.get_config(),
            "iterations": st["iterations"],
            "learning_rate": st["learning_rate"],
        }
    )
    meta["rng_states"] = json.dumps([la.rng.bit_generator.state for la in model.rng_layers()])
    meta["training_state"] = json.dumps(training_state)
    atomic_write(path, encode(tensors, meta))


# ------------------------------------------------------------------- loading
def param_count(c: Seq2SeqConfig) -> int:
    """Parameters the config asks for, computed without building anything."""
    H, E, h, A = c.units, c.embed_dim, c.units // 2, c.attention_units
    n = (c.src_vocab + c.tgt_vocab) * E
    for k in range(c.encoder_layers):
        d = E if k == 0 else H
        n += 2 * (4 * h * (d + h) + 4 * h)
    n += 4 * H * (E + H) + 4 * H
    n += H * H if c.attention == "luong" else 2 * H * A + 2 * A
    return n + 2 * H * H + H + H * c.tgt_vocab + c.tgt_vocab


def check_config(path, cfg) -> Seq2SeqConfig:
    """A Seq2SeqConfig from untrusted JSON: exactly the known keys, plain bounded values."""
    names = {f.name: f for f in fields(Seq2SeqConfig)}
    if not isinstance(cfg, dict) or set(cfg) != set(names):
        got = sorted(cfg) if isinstance(cfg, dict) else type(cfg).__name__
        raise ModelFileError(f"{path}: config expected keys {sorted(names)}, got {got}")
    for k, v in cfg.items():
        if k in ("attention", "dtype"):
            ok = v in (ATTENTIONS if k == "attention" else ("float32", "float64"))
        elif k == "dropout":
            ok = type(v) in (int, float) and math.isfinite(v) and 0 <= v < 1
        elif k == "seed":
            ok = type(v) is int and 0 <= v < 2**63
        else:
            ok = type(v) is int and 1 <= v <= MAX_SIZE
        if not ok:
            raise ModelFileError(f"{path}: config.{k} = {str(v)[:40]!r} is not allowed")
    try:
        return Seq2SeqConfig(**cfg)
    except ValueError as e:
        raise ModelFileError(f"{path}: {e}") from None


def _check_plain(path, what, cfg) -> None:
    for k, v in cfg.items():
        if isinstance(v, dict) and k == "learning_rate":  # a schedule: {"type", "config"}
            if v.get("type") not in optim.SCHEDULES or not isinstance(v.get("config"), dict):
                raise ModelFileError(f"{path}: {what}.learning_rate is not a known schedule")
            _check_plain(path, f"{what}.learning_rate", v["config"])
        elif k == "convention":  # the optimizer's arithmetic (lstmkit.optim.CONVENTIONS)
            if v not in optim.CONVENTIONS:
                raise ModelFileError(f"{path}: {what}.convention = {str(v)[:40]!r} is not known")
        elif not (
            v is None
            or isinstance(v, bool)
            or (isinstance(v, (int, float)) and math.isfinite(v) and abs(v) <= 1e12)
        ):
            raise ModelFileError(f"{path}: {what}.{k} = {str(v)[:40]!r} is not a plain number")


def read_seq2seq(
    path: str | os.PathLike[str], kinds: tuple[str, ...] = (KIND, CHECKPOINT_KIND)
) -> tuple[Seq2Seq, dict, dict]:
    """→ (model, header tensors, metadata), weights loaded; a checkpoint's optimizer is not."""
    path = os.fspath(path)
    tensors, meta, _ = safefile.read_header(path)
    safefile.check_format(path, meta)
    kind = meta.get("kind", "model")
    if kind not in kinds:
        raise ModelFileError(
            f"{path}: file kind {kind[:40]!r}; expected {' or '.join(map(repr, kinds))} "
            f"(a sequence-to-sequence model, e.g. from 'lstmkit g2p train')"
        )
    config = check_config(path, safefile.load_json(path, meta, "config"))
    held = sum(math.prod(s) for _, s, _, _ in tensors.values())
    if param_count(config) > held:
        raise ModelFileError(
            f"{path}: the config asks for {param_count(config)} parameters but the file "
            f"holds only {held} values"
        )
    try:
        model = Seq2Seq(config)
    except (ValueError, MemoryError) as e:
        raise ModelFileError(f"{path}: the config does not describe a valid model: {e}") from None
    expected = {n: (a.dtype, a.shape) for n, a in model_tensors(model).items()}
    mine = {n: v for n, v in tensors.items() if not n.startswith("optimizer.")}
    if kind == KIND and len(mine) != len(tensors):
        raise ModelFileError(f"{path}: a model file holds no optimizer.* tensors")
    missing, extra = sorted(set(expected) - set(mine)), sorted(set(mine) - set(expected))
    if missing or extra:
        raise ModelFileError(
            f"{path}: tensors do not match the config: missing {missing[:6]}, "
            f"unexpected {extra[:6]}"
        )
    for n, (dt, shape) in expected.items():
        if mine[n][0] != dt or mine[n][1] != shape:
            raise ModelFileError(
                f"{path}: tensor {n!r} expected {dt.name} {shape}, got "
                f"{mine[n][0].name} {mine[n][1]}"
            )
    arrays = read_tensors(path, list(expected))
    for ln, layer in model.layers.items():
        pre = f"{ln}."
        try:
            layer.load_named_tensors(
                {n[len(pre) :]: a for n, a in arrays.items() if n.startswith(pre)}
            )
        except ValueError as e:
            raise ModelFileError(f"{path}: {e}") from None
    return model, tensors, meta


def load_seq2seq(path) -> Seq2Seq:
    """The model saved by :func:`save_seq2seq` (or the weights of a checkpoint)."""
    return read_seq2seq(path)[0]


def load_checkpoint(path) -> tuple[Seq2Seq, dict]:
    """→ (compiled model with its optimizer state restored, training_state as saved)."""
    model, tensors, meta = read_seq2seq(path, kinds=(CHECKPOINT_KIND,))
    o = safefile.load_json(path, meta, "optimizer")
    if (
        not isinstance(o, dict)
        or set(o) != {"type", "config", "iterations", "learning_rate"}
        or o["type"] not in optim.OPTIMIZERS
        or not isinstance(o["config"], dict)
        or type(o["iterations"]) is not int
        or o["iterations"] < 0
    ):
        raise ModelFileError(f"{path}: the optimizer entry is not one lstmkit writes")
    _check_plain(path, "optimizer", o["config"])
    _check_plain(path, "optimizer", {"learning_rate": o["learning_rate"]})
    try:
        model.compile(optim.OPTIMIZERS[o["type"]].from_config(o["config"]))
    except (TypeError, ValueError) as e:
        raise ModelFileError(f"{path}: bad optimizer configuration: {e}") from None
    opt = model.optimizer
    assert opt is not None  # set by compile
    want = [f"optimizer.{n}" for n in opt.get_state()["slots"]]
    have = sorted(n for n in tensors if n.startswith("optimizer."))
    if sorted(want) != have:
        raise ModelFileError(f"{path}: optimizer tensors expected {sorted(want)}, got {have[:6]}")
    slots = {n[len("optimizer.") :]: a for n, a in read_tensors(path, want).items()}
    try:
        opt.set_state(
            {"iterations": o["iterations"], "learning_rate": o["learning_rate"], "slots": slots}
        )
    except ValueError as e:
        raise ModelFileError(f"{path}: {e}") from None
    _restore_rngs(path, model, safefile.load_json(path, meta, "rng_states"))
    state = safefile.load_json(path, meta, "training_state")
    if not isinstance(state, dict):
        raise ModelFileError(f"{path}: training_state must be a JSON object")
    return model, state


def is_seq2seq_file(path) -> bool:
    """Whether a (structurally valid) safetensors file says it is a seq2seq model/checkpoint."""
    _, meta, _ = safefile.read_header(os.fspath(path))
    return meta.get("kind") in (KIND, CHECKPOINT_KIND)


def _restore_rngs(path, model: Seq2Seq, states) -> None:
    """The dropout layers' generators as they were (numpy validates each PCG64 state)."""
    layers = model.rng_layers()
    if not isinstance(states, list) or len(states) != len(layers):
        raise ModelFileError(f"{path}: expected {len(layers)} RNG states in rng_states")
    for layer, s in zip(layers, states, strict=True):
        try:
            if not isinstance(s, dict) or s.get("bit_generator") != "PCG64":
                raise ValueError("not a PCG64 state")
            bg = np.random.PCG64()
            bg.state = cast(Any, s)  # a dict read from JSON: numpy validates its fields
        except (TypeError, ValueError, KeyError, OverflowError):
            raise ModelFileError(f"{path}: a saved RNG state is not a PCG64 state") from None
        layer.rng = np.random.Generator(bg)


def describe(path) -> dict:
    """What ``lstmkit inspect`` shows of a seq2seq file: layers, tensors, parameter counts."""
    model, _, meta = read_seq2seq(path)
    layers = []
    for ln, layer in model.layers.items():
        layers.append(
            {
                "name": ln,
                "type": type(layer).__name__,
                "output_shape": [None, None, _width(model, ln)],
                "params": layer.count_params(),
                "tensors": {n: list(a.shape) for n, a in layer.named_tensors().items()},
                "dtype": layer.dtype.name,
            }
        )
    return {
        "kind": meta.get("kind"),
        "config": model.get_config(),
        "input_shape": [None, None],
        "layers": layers,
        "total_params": model.count_params(),
    }


def _width(model: Seq2Seq, name: str) -> int:
    c = model.config
    return {
        "src_embedding": c.embed_dim,
        "tgt_embedding": c.embed_dim,
        "query_proj": c.attention_units,
        "key_proj": c.units if c.attention == "luong" else c.attention_units,
        "output": c.tgt_vocab,
    }.get(name, c.units)
