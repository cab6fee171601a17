"""The lstmkit model file format: a model ↔ safetensors tensors + string metadata.

File layout (``model.save("m.safetensors")``):

* tensors ``{layer index}.{PyTorch name}``, e.g. ``0.weight_ih_l0`` (G·H, D),
  ``0.bias_hh_l0``, ``2.kernel`` — each layer's ``named_tensors()``;
* metadata: ``format`` = "lstmkit", ``format_version`` = "1",
  ``config`` = JSON list of ``{"type": <allow-listed layer type>, "config": {...}}``
  (Bidirectional nests its layer the same way), ``input_shape`` = JSON list
  (batch excluded) and, for a compiled model, ``training_config`` = JSON of the
  optimizer / loss / metrics.

This module only writes the format and reads tensors that :mod:`.safefile` has
checked; rebuilding a model from a file is :mod:`.save`'s job. It knows nothing of
the model class (it reads ``model.layers``, ``model.get_config()``, …), so the
model can save itself without an import cycle.
"""

from __future__ import annotations

import json
import os

import numpy as np
import safetensors.numpy
from safetensors import safe_open

from .. import losses, metrics, optim
from ..errors import ModelFileError
from ..layers import LAYER_TYPES
from . import safefile
from .atomic import atomic_write
from .safefile import FORMAT, FORMAT_VERSION

__all__ = [
    "check_file",
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
        f"{i}.{n}": np.ascontiguousarray(a)
        for i, layer in enumerate(model.layers)
        for n, a in layer.named_tensors().items()
    }


def training_config(model) -> dict | None:
    """The optimizer, loss and metrics of a compiled model as JSON-able data
    (None if not compiled)."""
    if model.optimizer is None or model.loss is None:
        return None
    return {
        "optimizer": {
            "type": type(model.optimizer).__name__,
            "config": model.optimizer.get_config(),
        },
        "loss": {"type": type(model.loss).__name__, "config": model.loss.get_config()},
        "metrics": [m.name for m in model.metrics],
    }


def model_metadata(model) -> dict[str, str]:
    """The file's string metadata: format, version, layer config, input shape, training config."""
    cfg = model.get_config()
    meta = {
        "format": FORMAT,
        "format_version": str(FORMAT_VERSION),
        "config": json.dumps(cfg["layers"]),
        "input_shape": json.dumps(cfg["input_shape"]),
    }
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
    """Read already-validated tensors with safetensors (never pickle)."""
    try:
        with safe_open(os.fspath(path), framework="np") as f:
            return {n: f.get_tensor(n) for n in names}
    except Exception as e:  # safetensors' own checks, as a last line
        raise ModelFileError(f"{path}: cannot read tensors: {e}") from None


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


def parse_training_config(path, tc) -> tuple:
    """A file's ``training_config`` → (optimizer, loss, metric names), every value checked."""
    try:
        if not isinstance(tc, dict) or set(tc) != {"optimizer", "loss", "metrics"}:
            raise ValueError("expected keys optimizer, loss, metrics")
        o, lo, ms = tc["optimizer"], tc["loss"], tc["metrics"]
        if o.get("type") not in optim.OPTIMIZERS:
            raise ValueError(
                f"optimizer type {str(o.get('type'))[:60]!r} is not one of "
                f"{sorted(optim.OPTIMIZERS)}"
            )
        if lo.get("type") not in losses.LOSSES:
            raise ValueError(
                f"loss type {str(lo.get('type'))[:60]!r} is not one of {sorted(losses.LOSSES)}"
            )
        for cfg in (o["config"], lo["config"]):
            for k, v in cfg.items():
                if isinstance(v, dict):  # a learning-rate schedule
                    for k2, v2 in v.get("config", {}).items():
                        safefile.plain_value(path, "training_config", k2, v2)
                else:
                    safefile.plain_value(path, "training_config", k, v)
        if not isinstance(ms, list) or len(ms) > 16 or not all(isinstance(m, str) for m in ms):
            raise ValueError("metrics must be a short list of names")
        opt = optim.OPTIMIZERS[o["type"]].from_config(o["config"])
        loss = losses.LOSSES[lo["type"]](**lo["config"])
        for m in ms:  # each must be a known metric for this loss
            metrics.get(m, loss.name)
    except ModelFileError:
        raise
    except (TypeError, ValueError, AttributeError, KeyError) as e:
        raise ModelFileError(f"{path}: bad training_config: {e}") from None
    return opt, loss, ms


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
    return tensors, meta, checked, shape
