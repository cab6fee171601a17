"""Loading models as they were saved — no pickle, no code, ever.

``load_model`` checks everything (:mod:`.safefile`: the header; here: the format,
the allow-listed layer types, the parameter count the config implies, every
tensor's dtype and shape) before it builds a layer or reads a tensor; any problem
is a :class:`lstmkit.errors.ModelFileError`. The file layout is described in
:mod:`.format`; ``save_model(model, path)`` is ``model.save(path)``.
"""

from __future__ import annotations

import os

import numpy as np

from ..errors import ModelFileError
from ..layers import LAYER_TYPES
from ..model import Sequential
from . import safefile
from .format import (
    check_file,
    check_tensors,
    expected_tensors,
    load_tensors_into,
    parse_training_config,
    write_model,
)

__all__ = ["load_model", "read_model", "save_model"]


def save_model(model, path) -> None:
    """One safetensors file: weights under PyTorch names + the config as JSON. No pickle."""
    write_model(model, path)


def read_model(path):
    """Check the file and rebuild the model (weights loaded). Returns (model, tensors, meta).
    A training checkpoint (metadata kind = "checkpoint") may also hold optimizer.* and
    state.* tensors (checked by :func:`lstmkit.training.checkpoint.restore_checkpoint`)."""
    path = os.fspath(path)
    tensors, meta, checked, shape = check_file(path)
    kind = meta.get("kind", "model")
    held = sum(int(np.prod(s)) for _, s, _, _ in tensors.values())
    want = safefile.min_params(checked, shape[-1], LAYER_TYPES)
    if want > held:
        raise ModelFileError(
            f"{path}: the config asks for at least {want} parameters but the "
            f"file holds only {held} values"
        )
    try:
        layers = [
            cls.from_config(cfg)
            if cls.type_name != "Bidirectional"
            else cls(
                LAYER_TYPES[cfg["layer"]["type"]].from_config(cfg["layer"]["config"]),
                **{k: v for k, v in cfg.items() if k != "layer"},
            )
            for cls, cfg in checked
        ]
        model = Sequential(layers)
        model.build(shape)
    except (TypeError, ValueError) as e:
        raise ModelFileError(f"{path}: the config does not describe a valid model: {e}") from None
    except MemoryError:
        raise ModelFileError(f"{path}: the config asks for more memory than there is") from None
    expected = expected_tensors(model)
    extra_ok = ("optimizer.", "state.") if kind == "checkpoint" else ()
    check_tensors(path, tensors, expected, extra_ok)
    load_tensors_into(model, path, expected)
    tc = safefile.load_json(path, meta, "training_config", required=False)
    if tc is not None:
        opt, loss, metrics = parse_training_config(path, tc)
        model.compile(optimizer=opt, loss=loss, metrics=metrics)
    return model, tensors, meta


def load_model(path):
    """Rebuild a model saved by ``model.save`` (or a training checkpoint). Refuses, with
    ModelFileError, anything malformed, forged, truncated or off the allow-list."""
    return read_model(path)[0]
