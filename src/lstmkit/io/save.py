"""Loading models as they were saved — no pickle, no code, ever.

``load_model`` checks everything (:mod:`.safefile`: the header; here: the format,
the allow-listed layer types, the parameter count the config implies, every
tensor's dtype and shape) before it builds a layer or reads a tensor; any problem
is a :class:`lstmkit.errors.ModelFileError`. The file layout is described in
:mod:`.format`; ``save_model(model, path)`` is ``model.save(path)``.
"""

from __future__ import annotations

import os

from ..engine import Model, Sequential
from ..errors import ModelFileError
from ..layers.base import built_without_init
from . import safefile
from .format import (
    CHECKPOINT_PREFIXES,
    check_file,
    check_tensors,
    expected_tensors,
    load_tensors_into,
    parse_training_config,
    write_model,
)
from .layout import graph_file_tensors, layer_from_config, model_file_tensors, total_elements

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
    extra_ok = CHECKPOINT_PREFIXES if kind == "checkpoint" else ()
    # every tensor the config implies must be in the file (names, dtypes, shapes) BEFORE
    # anything is built: a small file cannot ask for gigabytes. A functional graph's
    # layers are each held against their layout at the node(s) that call them.
    graph = safefile.load_json(path, meta, "graph", required=False)
    if graph is not None:
        want = graph_file_tensors(path, checked, graph)
    else:
        want = model_file_tensors(path, checked, shape)
    mine = {n: v for n, v in tensors.items() if not (extra_ok and n.startswith(extra_ok))}
    if set(mine) == set(want) and total_elements(want) > total_elements(mine):
        raise ModelFileError(
            f"{path}: the config asks for at least {total_elements(want)} parameters but the "
            f"file holds only {total_elements(mine)} values"
        )
    check_tensors(path, tensors, want, extra_ok)
    try:
        layers = [layer_from_config(cls, cfg) for cls, cfg in checked]
        with built_without_init(layers):  # the weights come from the file: no random init
            if graph is not None:
                model = Model.from_graph(layers, graph, name="functional")
            else:
                model = Sequential(layers)
                model.build((None, *shape))
    except (TypeError, ValueError, KeyError, IndexError) as e:
        raise ModelFileError(f"{path}: the config does not describe a valid model: {e}") from None
    except MemoryError:
        raise ModelFileError(f"{path}: the config asks for more memory than there is") from None
    expected = expected_tensors(model)
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


def load_model(path):
    """Rebuild a model saved by ``model.save`` (or a training checkpoint). Refuses, with
    ModelFileError, anything malformed, forged, truncated or off the allow-list."""
    return read_model(path)[0]
