"""The lstmkit model file format: a model ↔ safetensors tensors + string metadata.

File layout (``model.save("m.safetensors")``):

* tensors ``{layer index}.{PyTorch name}``, e.g. ``0.weight_ih_l0`` (G·H, D),
  ``0.bias_hh_l0``, ``2.kernel`` — each layer's ``named_tensors()``;
* metadata: ``format`` = "lstmkit", ``format_version`` = "1",
  ``config`` = JSON list of ``{"type": <allow-listed layer type>, "config": {...}}``
  (Bidirectional and TimeDistributed nest their layer the same way), ``input_shape`` =
  JSON list (batch excluded) and, for a compiled model, ``training_config`` = JSON of the
  optimizer / loss / metrics (for several outputs: lists, one entry per output, and
  ``loss_weights``);
* a functional model adds ``graph`` = JSON of its layer calls (see
  :meth:`lstmkit.engine.Model.get_config`): nodes that name a layer by its index in
  ``config`` and read earlier nodes' outputs; no code, nothing pickled;
* ``save_weights`` files: the same tensors, metadata ``kind`` = "weights" and ``config``.

This module only writes the format and reads tensors that :mod:`.safefile` has
checked; rebuilding a model from a file is :mod:`.save`'s job. It knows nothing of
the model class (it reads ``model.layers``, ``model.get_config()``, …), so the
model can save itself without an import cycle.
"""

from __future__ import annotations

import json
import os
from typing import Any

import numpy as np
import safetensors.numpy
from safetensors import safe_open

from .. import losses, metrics, optim
from ..errors import ModelFileError
from ..layers import LAYER_TYPES
from . import safefile, safegraph
from .atomic import atomic_write
from .safefile import FORMAT, FORMAT_VERSION

#: tensors a training checkpoint holds besides the model's (lstmkit.training.checkpoint)
CHECKPOINT_PREFIXES = ("optimizer.", "state.", "callback.")

__all__ = [
    "CHECKPOINT_PREFIXES",
    "check_file",
    "read_weights_into",
    "write_weights",
    "check_tensors",
    "encode",
    "expected_tensors",
    "load_tensors_into",
    "model_metadata",
    "model_tensors",
    "parse_training_config",
    "read_tensors",
    "training_config",
    "write_model",
]


def model_tensors(model) -> dict[str, np.ndarray]:
    """``{layer index}.{name}`` → array, each layer's ``named_tensors()``."""
    return {
        f"{i}.{n}": np.ascontiguousarray(a).reshape(a.shape)  # a scalar stays shape ()
        for i, layer in enumerate(model.layers)
        for n, a in layer.named_tensors().items()
    }


def _loss_entry(loss) -> dict:
    return {"type": type(loss).__name__, "config": loss.get_config()}


def training_config(model) -> dict | None:
    """The optimizer, loss and metrics of a compiled model as JSON-able data (None if not
    compiled). One output: ``loss`` an entry, ``metrics`` the names; several: a list of
    entries, a list of name lists, and ``loss_weights``."""
    losses_ = getattr(model, "output_losses", None) or (
        [model.loss] if model.loss is not None else []
    )
    if model.optimizer is None or not losses_:
        return None
    out: dict[str, Any] = {
        "optimizer": {
            "type": type(model.optimizer).__name__,
            "config": model.optimizer.get_config(),
        },
    }
    lam = list(getattr(model, "loss_weights_", None) or [1.0] * len(losses_))
    own = [getattr(m, "metric", m) for m in model.metrics]
    index = [getattr(m, "index", 0) for m in model.metrics]
    if len(losses_) == 1:
        out["loss"] = _loss_entry(losses_[0])
        out["metrics"] = [m.name for m in model.metrics]
        if lam != [1.0]:
            out["loss_weights"] = lam
        return out
    out["loss"] = [_loss_entry(lo) for lo in losses_]
    out["metrics"] = [
        [m.name for m, k in zip(own, index, strict=True) if k == j and not _is_loss_metric(m)]
        for j in range(len(losses_))
    ]
    out["loss_weights"] = lam
    return out


def _is_loss_metric(m) -> bool:
    """The per-output loss trackers compile adds (not metrics the user asked for)."""
    return isinstance(m, metrics.LossMetric) and m.name == m.loss.name


def model_metadata(model) -> dict[str, str]:
    """The file's string metadata: format, version, layer config, input shape, training config."""
    cfg = model.get_config()
    meta = {
        "format": FORMAT,
        "format_version": str(FORMAT_VERSION),
        "config": json.dumps(cfg["layers"]),
        "input_shape": json.dumps(cfg["input_shape"]),
    }
    if "graph" in cfg:
        meta["graph"] = json.dumps(cfg["graph"])
    tc = training_config(model)
    if tc is not None:
        meta["training_config"] = json.dumps(tc)
    return meta


def encode(tensors: dict[str, np.ndarray], metadata: dict[str, str]) -> bytes:
    """The bytes of a safetensors file (header with ``metadata``, then the tensors)."""
    return safetensors.numpy.save(tensors, metadata=metadata)


def write_model(model, path) -> None:
    """Save a built model to ``path`` atomically (see :func:`lstmkit.io.atomic.atomic_write`)."""
    if not model.built:
        raise ValueError("cannot save a model that is not built: fit, predict or build it first")
    atomic_write(path, encode(model_tensors(model), model_metadata(model)))


def write_weights(model, path) -> None:
    """``save_weights``: the model's tensors, with the layer config to check them by."""
    meta = {
        "format": FORMAT,
        "format_version": str(FORMAT_VERSION),
        "kind": "weights",
        "config": json.dumps(model.get_config()["layers"]),
    }
    atomic_write(path, encode(model_tensors(model), meta))


def read_weights_into(model, path) -> None:
    """``load_weights``: read a ``save_weights`` (or ``save`` / checkpoint) file's tensors
    into a built model of the same architecture; every name, dtype and shape checked."""
    path = os.fspath(path)
    tensors, meta, _ = safefile.read_header(path)
    safefile.check_format(path, meta)
    expected = expected_tensors(model)
    check_tensors(path, tensors, expected, ("optimizer.", "state."))
    load_tensors_into(model, path, expected)


def expected_tensors(model) -> dict[str, tuple[np.dtype, tuple[int, ...]]]:
    """The tensors a file of this (built) model holds: {name: (dtype, shape)}."""
    return {
        f"{i}.{n}": (layer.dtype, tuple(a.shape))
        for i, layer in enumerate(model.layers)
        for n, a in layer.named_tensors().items()
    }


def check_tensors(path, found: dict, expected: dict, extra_prefixes: tuple = ()) -> None:
    """The header's tensors ``found`` {name: (dtype, shape, begin, end)} against ``expected``
    {name: (dtype, shape)}: the same names (besides those under ``extra_prefixes``), each
    with the expected dtype and shape. Raises ModelFileError naming the first mismatch."""
    mine = {n: v for n, v in found.items() if not (extra_prefixes and n.startswith(extra_prefixes))}
    missing, extra = sorted(set(expected) - set(mine)), sorted(set(mine) - set(expected))
    if missing or extra:
        raise ModelFileError(
            f"{path}: tensors do not match the config: missing {missing[:8]}, "
            f"unexpected {extra[:8]}"
        )
    for n, (dt, shp) in expected.items():
        got_dt, got_shape = mine[n][0], mine[n][1]
        if got_dt != dt or got_shape != shp:
            raise ModelFileError(
                f"{path}: tensor {n!r} expected {safefile.DTYPE_NAMES[dt.name]} "
                f"{shp}, got {safefile.DTYPE_NAMES[got_dt.name]} {got_shape}"
            )


def read_tensors(path, names) -> dict[str, np.ndarray]:
    """Read already-validated tensors with safetensors (never pickle); every value must be
    finite (a tensor holding NaN or ±inf is a ModelFileError)."""
    try:
        with safe_open(os.fspath(path), framework="np") as f:
            arrays = {n: f.get_tensor(n) for n in names}
    except Exception as e:  # safetensors' own checks, as a last line
        raise ModelFileError(f"{path}: cannot read tensors: {e}") from None
    for n, a in arrays.items():  # a NaN weight would make every answer NaN, silently
        if not np.isfinite(a).all():
            raise ModelFileError(f"{path}: tensor {n!r} holds NaN or infinite values")
    return arrays


def load_tensors_into(model, path, expected: dict) -> None:
    """Read the (checked) tensors ``expected`` names from ``path`` into the model's layers."""
    arrays = read_tensors(path, list(expected))
    for i, layer in enumerate(model.layers):
        pre = f"{i}."
        layer.load_named_tensors({n[len(pre) :]: a for n, a in arrays.items() if n.startswith(pre)})


# ------------------------------------------------------- checks that need no model
def _check_input_shape(path, shape):
    if (
        not isinstance(shape, list)
        or not 1 <= len(shape) <= 3
        or not all(d is None or (type(d) is int and 1 <= d <= 2**24) for d in shape)
    ):
        raise ModelFileError(f"{path}: input_shape {str(shape)[:80]} is not a list of 1–3 sizes")
    return shape


def _plain_config(path, cfg):
    for k, v in cfg.items():
        if isinstance(v, dict):  # a learning-rate schedule
            for k2, v2 in v.get("config", {}).items():
                if isinstance(v2, list) and len(v2) <= 64:  # PiecewiseConstantDecay
                    for e in v2:
                        if type(e) not in (int, float):
                            raise ValueError(f"{k2} must be a list of numbers")
                        safefile.plain_value(path, "training_config", k2, e)
                else:
                    safefile.plain_value(path, "training_config", k2, v2)
        else:
            safefile.plain_value(path, "training_config", k, v)


def _loss_from(path, lo):
    if not isinstance(lo, dict) or lo.get("type") not in losses.LOSSES:
        t = lo.get("type") if isinstance(lo, dict) else lo
        raise ValueError(f"loss type {str(t)[:60]!r} is not one of {sorted(losses.LOSSES)}")
    cfg = lo.get("config", {})
    if not isinstance(cfg, dict):
        raise ValueError("a loss config must be an object")
    _plain_config(path, cfg)
    return losses.LOSSES[lo["type"]](**cfg)


def parse_training_config(path, tc) -> tuple:
    """A file's ``training_config`` → (optimizer, loss(es), metric names, loss weights),
    every value checked. Several outputs: a list of losses, a list of name lists."""
    try:
        if (
            not isinstance(tc, dict)
            or not {"optimizer", "loss", "metrics"} <= set(tc)
            or (set(tc) - {"optimizer", "loss", "metrics", "loss_weights"})
        ):
            raise ValueError("expected keys optimizer, loss, metrics (and loss_weights)")
        o, lo, ms = tc["optimizer"], tc["loss"], tc["metrics"]
        if o.get("type") not in optim.OPTIMIZERS:
            raise ValueError(
                f"optimizer type {str(o.get('type'))[:60]!r} is not one of "
                f"{sorted(optim.OPTIMIZERS)}"
            )
        _plain_config(path, o["config"])
        many = isinstance(lo, list)
        loss: Any = [_loss_from(path, e) for e in lo] if many else _loss_from(path, lo)
        if many and not 1 <= len(loss) <= 64:
            raise ValueError("a model has 1..64 outputs")
        names = ms if many else [ms]
        if not isinstance(names, list) or (many and len(names) != len(loss)):
            raise ValueError("metrics must be a list (one list per output)")
        for k, group in enumerate(names):
            if not isinstance(group, list) or len(group) > 16:
                raise ValueError("metrics must be a short list of names")
            for m in group:  # each must be a known metric for its loss
                if not isinstance(m, str):
                    raise ValueError("metrics must be names")
                metrics.get(m, (loss[k] if many else loss).name)
        lam = tc.get("loss_weights")
        if lam is not None:
            n = len(loss) if many else 1
            if not isinstance(lam, list) or len(lam) != n:
                raise ValueError(f"loss_weights must be a list of {n} numbers")
            for v in lam:
                if type(v) not in (int, float):
                    raise ValueError("loss_weights must be numbers")
                safefile.plain_value(path, "training_config", "loss_weights", v)
        opt = optim.OPTIMIZERS[o["type"]].from_config(o["config"])
    except ModelFileError:
        raise
    except (TypeError, ValueError, AttributeError, KeyError) as e:
        raise ModelFileError(f"{path}: bad training_config: {e}") from None
    return opt, loss, ms, lam


def check_file(path) -> tuple[dict, dict, list, list]:
    """Every check of a model file that needs no model: the header
    (:func:`.safefile.read_header`), the format, the file kind ("model" or "checkpoint"),
    each layer entry against the allow-list, the input shape.
    Returns (tensors, metadata, [(layer class, config)], input_shape)."""
    path = os.fspath(path)
    tensors, meta, _ = safefile.read_header(path)
    safefile.check_format(path, meta)
    kind = meta.get("kind", "model")
    if kind not in ("model", "checkpoint"):
        raise ModelFileError(
            f"{path}: unknown file kind {kind[:40]!r}, expected 'model' or 'checkpoint'"
        )
    layers_cfg = safefile.load_json(path, meta, "config")
    if not isinstance(layers_cfg, list) or not 1 <= len(layers_cfg) <= 256:
        raise ModelFileError(f"{path}: config must be a list of 1..256 layer entries")
    checked = [
        safefile.check_layer_entry(path, e, f"config[{i}]", LAYER_TYPES)
        for i, e in enumerate(layers_cfg)
    ]
    shape = _check_input_shape(path, safefile.load_json(path, meta, "input_shape"))
    if "graph" in meta:
        safegraph.check_graph(path, safefile.load_json(path, meta, "graph"), checked)
    return tensors, meta, checked, shape
