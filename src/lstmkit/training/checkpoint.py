"""Training checkpoints that survive a crash, in the same safetensors format as models.

A checkpoint is a model file (see :mod:`lstmkit.io.format`; ``load_model`` opens it) plus

* tensors ``optimizer.{slot}.{dtype}`` — the optimizer's state buffers (Adam's m, v, …),
* tensors ``state.{k}.{j}`` — state j (h, c, …) of the k-th recurrent layer (in
  ``rng_layers`` order) when it is ``stateful`` and holds states, so a mid-epoch resume
  carries them on exactly,
* tensors ``callback.{k}.…`` — arrays in the state of the fit's k-th stateful callback
  (EarlyStopping's best weights; see :mod:`.callback_state`),
* metadata ``kind`` = "checkpoint" and ``training_state`` = JSON of the position
  (next epoch, next batch), the shuffle RNG state at the start of that epoch,
  every layer's RNG state, the optimizer's step count and learning rate, the
  epoch's running loss / metric sums, the history so far, whether training was
  stopped, and the callbacks' states.

Restoring refuses (ModelFileError) anything malformed, a learning rate that is not a
finite positive number, and any tensor holding NaN or ±inf (weights, optimizer state).

It is written atomically (temp file, fsync, os.replace): a SIGKILL at any moment
leaves either the previous checkpoint or the new one.
"""

from __future__ import annotations

import json
import math
from typing import Any, cast

import numpy as np

from ..errors import ModelFileError
from ..io.atomic import atomic_write
from ..io.format import (
    CHECKPOINT_PREFIXES,
    check_file,
    check_tensors,
    encode,
    expected_tensors,
    load_tensors_into,
    model_metadata,
    model_tensors,
    parse_training_config,
    read_tensors,
)
from ..io.safefile import load_json
from ..layers.base import rng_layers
from . import callback_state
from .state import FitState

__all__ = ["restore_checkpoint", "save_checkpoint"]


def save_checkpoint(model, path) -> None:
    """Weights + optimizer state + ``model.fit_state`` (where fit stands; at rest: epoch 0
    and the model's RNG states), written atomically."""
    if not model.built or model.optimizer is None:
        raise ValueError("a checkpoint needs a built, compiled model")
    holders = rng_layers(model.layers)
    tensors = model_tensors(model)
    opt = model.optimizer.get_state()
    tensors.update({f"optimizer.{n}": a for n, a in opt["slots"].items()})
    for k, layer in enumerate(holders):
        states = getattr(layer, "states", None)  # (h, c, …) of a stateful recurrent layer
        if getattr(layer, "stateful", False) and states is not None:
            tensors.update(
                {f"state.{k}.{j}": np.ascontiguousarray(s) for j, s in enumerate(states)}
            )
    fs = model.fit_state
    if fs is None:  # not inside fit: a checkpoint to start from
        fs = FitState(
            shuffle_rng=dict(model.rng.bit_generator.state),
            layer_rngs=[dict(layer.rng.bit_generator.state) for layer in holders],
        )
    state = fs.to_json()
    state["callbacks"], cb_tensors = callback_state.split_arrays(fs.callbacks)
    tensors.update(cb_tensors)
    state["optimizer"] = {"iterations": opt["iterations"], "learning_rate": opt["learning_rate"]}
    meta = model_metadata(model)
    meta["kind"] = "checkpoint"
    meta["training_state"] = json.dumps(state)
    atomic_write(path, encode(tensors, meta))


def _check_rng_state(path, s):
    try:
        if not isinstance(s, dict) or s.get("bit_generator") != "PCG64":
            raise ValueError("expected a PCG64 state")
        np.random.PCG64().state = cast(Any, s)  # numpy validates the fields
    except (ValueError, TypeError, KeyError, OverflowError) as e:
        raise ModelFileError(f"{path}: bad RNG state in training_state: {e}") from None
    return s


def _check_running(path, running, n_metrics) -> None:
    """A mid-epoch checkpoint's running sums: {"loss": [total, count], "metrics":
    [[total, count], …] one per metric}, finite, counts ≥ 0."""

    def pair(v):
        return (
            isinstance(v, list)
            and len(v) == 2
            and all(
                not isinstance(a, bool) and isinstance(a, (int, float)) and math.isfinite(a)
                for a in v
            )
            and v[1] >= 0
        )

    if (
        not isinstance(running, dict)
        or set(running) != {"loss", "metrics"}
        or not pair(running["loss"])
        or not isinstance(running["metrics"], list)
        or len(running["metrics"]) != n_metrics
        or not all(pair(m) for m in running["metrics"])
    ):
        raise ModelFileError(
            f"{path}: a mid-epoch checkpoint needs the running sums {{loss: [total, count], "
            f"metrics: {n_metrics} × [total, count]}}, finite"
        )


def _check_states(path, holders, tensors) -> dict:
    """{layer index k: number of states} for the state.{k}.{j} tensors, all checked."""
    found: dict = {}
    for name, (dt, shape, _, _) in tensors.items():
        if not name.startswith("state."):
            continue
        parts = name.split(".")
        if len(parts) != 3 or not all(p.isdigit() for p in parts[1:]):
            raise ModelFileError(f"{path}: bad state tensor name {name!r}")
        k, j = int(parts[1]), int(parts[2])
        layer = holders[k] if k < len(holders) else None
        n = getattr(layer, "n_states", 0)
        if layer is None or not getattr(layer, "stateful", False) or j >= n:
            raise ModelFileError(
                f"{path}: state tensor {name!r} matches no state of a stateful layer of this model"
            )
        if dt != layer.dtype or len(shape) != 2 or not 1 <= shape[1] <= layer.units or shape[0] < 1:
            raise ModelFileError(
                f"{path}: state tensor {name!r} is {dt.name} {shape}, expected "
                f"{layer.dtype} (batch, ≤ {layer.units})"
            )
        found.setdefault(k, set()).add((j, shape))
    for k, js in found.items():
        if (
            sorted(j for j, _ in js) != list(range(holders[k].n_states))
            or len({s[0] for _, s in js}) != 1
        ):
            raise ModelFileError(
                f"{path}: the states of layer {k} are incomplete or of different shapes"
            )
    return {k: len(js) for k, js in found.items()}


def restore_checkpoint(model, path) -> FitState:
    """Load weights and optimizer state into ``model`` (built, compiled) from a checkpoint;
    return the checked training state. The file gets every check of ``load_model`` that
    needs no model, and its tensors are held against ``model`` itself (nothing is built
    from the file's config)."""
    tensors, meta, _, _ = check_file(path)
    if meta.get("kind") != "checkpoint":
        raise ModelFileError(
            f"{path}: not a training checkpoint (kind {meta.get('kind')!r}); "
            f"use load_model for a saved model"
        )
    expected = expected_tensors(model)
    want = {n: shape for n, (_, shape) in expected.items()}
    got = {n: v[1] for n, v in tensors.items() if not n.startswith(CHECKPOINT_PREFIXES)}
    if want != got:
        raise ModelFileError(
            f"{path}: the checkpoint's model does not match this model: "
            f"{sorted(set(want) ^ set(got))[:6] or 'different shapes'}"
        )
    check_tensors(path, tensors, expected, CHECKPOINT_PREFIXES)
    tc = load_json(path, meta, "training_config", required=False)
    saved_opt = None if tc is None else parse_training_config(path, tc)[0]
    if (
        saved_opt is None
        or not isinstance(model.optimizer, type(saved_opt))  # (lstmkit.optimizers subclasses)
        or saved_opt.convention != model.optimizer.convention
    ):
        raise ModelFileError(
            f"{path}: the checkpoint was made with optimizer "
            f"{type(saved_opt).__name__} ({getattr(saved_opt, 'convention', '?')} convention), "
            f"this model is compiled with {type(model.optimizer).__name__} "
            f"({model.optimizer.convention})"
        )
    st = load_json(path, meta, "training_state")
    keys = {
        "epoch",
        "batch",
        "shuffle_rng",
        "layer_rngs",
        "running",
        "history",
        "history_epochs",
        "optimizer",
    }
    optional = {"stopped", "callbacks"}  # (absent in older checkpoints)
    if not isinstance(st, dict) or not keys <= set(st) <= keys | optional:
        raise ModelFileError(f"{path}: training_state expected keys {sorted(keys | optional)}")
    if type(st.get("stopped", False)) is not bool:
        raise ModelFileError(f"{path}: training_state.stopped must be true or false")
    for k in ("epoch", "batch"):
        if type(st[k]) is not int or not 0 <= st[k] < 2**40:
            raise ModelFileError(f"{path}: training_state.{k} = {str(st[k])[:40]} is not a count")
    holders = rng_layers(model.layers)
    if not isinstance(st["layer_rngs"], list) or len(st["layer_rngs"]) != len(holders):
        n_saved = len(st["layer_rngs"]) if isinstance(st["layer_rngs"], list) else "no list of"
        raise ModelFileError(
            f"{path}: training_state holds RNG states for "
            f"{n_saved} layers, the model has {len(holders)}"
        )
    for s in [st["shuffle_rng"], *st["layer_rngs"]]:
        _check_rng_state(path, s)
    h = st["history"]
    if (
        not isinstance(h, dict)
        or not all(isinstance(v, list) for v in h.values())
        or not isinstance(st["history_epochs"], list)
    ):
        raise ModelFileError(f"{path}: training_state.history is malformed")
    o = st["optimizer"]
    if (
        not isinstance(o, dict)
        or type(o.get("iterations")) is not int
        or not 0 <= o["iterations"] < 2**53
    ):
        raise ModelFileError(f"{path}: training_state.optimizer is malformed")
    lr = o.get("learning_rate")
    if lr is not None and (
        isinstance(lr, bool) or not isinstance(lr, (int, float)) or not 0 < lr < math.inf
    ):
        raise ModelFileError(
            f"{path}: training_state.optimizer.learning_rate = {str(lr)[:40]}; expected a "
            f"finite number > 0"
        )
    cb_saved = st.get("callbacks", [])
    cb_names = callback_state.check_saved(path, cb_saved, tensors)
    if st["batch"]:
        _check_running(path, st["running"], len(model.metrics))
    states = _check_states(path, holders, tensors)
    # all checked: copy weights and optimizer state in
    load_tensors_into(model, path, expected)
    if states:
        arrays = read_tensors(path, [f"state.{k}.{j}" for k, n in states.items() for j in range(n)])
        for k, n in states.items():
            holders[k].states = [arrays[f"state.{k}.{j}"].copy() for j in range(n)]
    cb_saved = callback_state.join_arrays(cb_saved, read_tensors(path, cb_names))
    slots = {n[len("optimizer.") :]: None for n in tensors if n.startswith("optimizer.")}
    arrays = read_tensors(path, [f"optimizer.{n}" for n in slots])
    try:
        model.optimizer.set_state(
            {
                "iterations": o["iterations"],
                "learning_rate": o.get("learning_rate"),
                "slots": {n: arrays[f"optimizer.{n}"] for n in slots},
            }
        )
    except (ValueError, TypeError) as e:
        raise ModelFileError(f"{path}: optimizer state does not fit this model: {e}") from None
    return FitState(
        epoch=st["epoch"],
        batch=st["batch"],
        shuffle_rng=st["shuffle_rng"],
        layer_rngs=st["layer_rngs"],
        running=st["running"],
        history={k: list(v) for k, v in h.items()},
        history_epochs=list(st["history_epochs"]),
        stopped=st.get("stopped", False),
        callbacks=cb_saved,
    )
