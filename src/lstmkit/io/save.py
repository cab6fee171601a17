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

from ..engine import Model, Sequential
from ..errors import ModelFileError
from ..layers import LAYER_TYPES, Bidirectional, TimeDistributed
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
    if "graph" in meta:  # layers of a graph need not read each other: bound each alone
        want = sum(safefile.min_params([e], 1, LAYER_TYPES) for e in checked)
    else:
        want = safefile.min_params(checked, shape[-1], LAYER_TYPES)
    if want > held:
        raise ModelFileError(
            f"{path}: the config asks for at least {want} parameters but the "
            f"file holds only {held} values"
        )
    try:
        layers = [_layer(cls, cfg) for cls, cfg in checked]
        graph = safefile.load_json(path, meta, "graph", required=False)
        if graph is not None:
            name = "functional"
            model = Model.from_graph(layers, graph, name=name)
        else:
            model = Sequential(layers)
            model.build((None, *shape))
    except (TypeError, ValueError, KeyError, IndexError) as e:
        raise ModelFileError(f"{path}: the config does not describe a valid model: {e}") from None
    except MemoryError:
        raise ModelFileError(f"{path}: the config asks for more memory than there is") from None
    expected = expected_tensors(model)
    extra_ok = ("optimizer.", "state.") if kind == "checkpoint" else ()
    check_tensors(path, tensors, expected, extra_ok)
    load_tensors_into(model, path, expected)
    tc = safefile.load_json(path, meta, "training_config", required=False)
    if tc is not None:
        opt, loss, metrics, lam = parse_training_config(path, tc)
        try:
            model.compile(optimizer=opt, loss=loss, metrics=metrics, loss_weights=lam)
        except (TypeError, ValueError) as e:
            raise ModelFileError(f"{path}: bad training_config: {e}") from None
    return model, tensors, meta


def _layer(cls, cfg):
    """A layer from its checked config; wrappers get their inner layers from the allow-list."""
    if cls is Bidirectional:
        cfg = dict(cfg)
        for key in ("layer", "backward_layer"):
            if key in cfg:
                inner = cfg[key]
                cfg[key] = LAYER_TYPES[inner["type"]].from_config(inner["config"])
        return Bidirectional(cfg.pop("layer"), **cfg)
    if cls is TimeDistributed:
        return TimeDistributed.from_config(cfg, LAYER_TYPES)
    return cls.from_config(cfg)


def load_model(path):
    """Rebuild a model saved by ``model.save`` (or a training checkpoint). Refuses, with
    ModelFileError, anything malformed, forged, truncated or off the allow-list."""
    return read_model(path)[0]
