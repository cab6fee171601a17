"""A job's model on disk: ``model.safetensors`` and its ``model.json`` sidecar.

``model.safetensors`` holds the weights and architecture (``model.save``); beside it
``model.json`` holds the job's metadata (task, lookback, horizon, scaler parameters,
vocabulary …). Loading checks that the sidecar exists, is a regular file of bounded
JSON (:func:`.sidecar.read_json`), names the expected task and sidecar version, that
the weights load, and — with the job's ``check(meta, model, side)`` — every value of
the sidecar and its fit with the weights.
"""

from __future__ import annotations

import os

from ...errors import ModelFileError, UserError
from ...io.save import load_model
from .outfiles import write_json
from .sidecar import read_json

__all__ = [
    "SIDECAR",
    "SIDECAR_VERSION",
    "load_job_model",
    "load_weights",
    "read_sidecar",
    "resolve_model_path",
    "save_job_model",
]

SIDECAR = "model.json"
SIDECAR_VERSION = 1


def save_job_model(model, out: str, meta: dict) -> str:
    """model.safetensors + model.json (the task's metadata) in ``out``; returns the weights path."""
    path = os.path.join(out, "model.safetensors")
    model.save(path)
    write_json(
        os.path.join(out, SIDECAR),
        {"lstmkit_task": meta["task"], "sidecar_version": SIDECAR_VERSION, **meta},
    )
    return path


def resolve_model_path(path: str) -> str:
    """A model directory or its model.safetensors → the .safetensors path."""
    if os.path.isdir(path):
        path = os.path.join(path, "model.safetensors")
    if not os.path.exists(path):
        raise UserError(f"no such model file: {path}")
    return path


def read_sidecar(path: str) -> dict | None:
    """The job metadata (``model.json``) beside the weights at ``path``; None if there is none.
    A sidecar that is not a bounded JSON object in a regular file is a ModelFileError."""
    side = os.path.join(os.path.dirname(path) or ".", SIDECAR)
    if not os.path.lexists(side):
        return None
    meta = read_json(side)
    if not isinstance(meta, dict):
        raise ModelFileError(f"{side}: expected a JSON object, got {type(meta).__name__}")
    return meta


def load_weights(path: str):
    """:func:`lstmkit.load_model`, with anything the loader trips on turned into a
    ModelFileError (a file we cannot read is bad input, not a crash)."""

    try:
        return load_model(path)
    except UserError:
        raise
    except Exception as e:  # noqa: BLE001
        raise ModelFileError(f"cannot load {path}: {e}") from None


def load_job_model(path: str, task: str, check=None):
    """→ (model, meta). Refuses a missing/garbled sidecar, a model made by another task
    and — with the job's ``check(meta, model, side) -> meta`` — a sidecar whose values
    are out of range or do not fit the weights."""
    path = resolve_model_path(path)
    meta = read_sidecar(path)
    side = os.path.join(os.path.dirname(path) or ".", SIDECAR)
    if meta is None:
        raise ModelFileError(
            f"{path} has no {SIDECAR} beside it; expected a model written by 'lstmkit {task}'"
        )
    if "lstmkit_task" not in meta:
        raise ModelFileError(
            f"{path}: {SIDECAR} is not an lstmkit model description (no 'lstmkit_task')"
        )
    if meta["lstmkit_task"] != task:
        raise ModelFileError(
            f"{path} is a '{str(meta['lstmkit_task'])[:40]}' model; expected a '{task}' model"
        )
    if meta.get("sidecar_version", SIDECAR_VERSION) != SIDECAR_VERSION:
        raise ModelFileError(
            f"{side}: sidecar_version {str(meta.get('sidecar_version'))[:20]} is not "
            f"supported (this lstmkit reads {SIDECAR_VERSION})"
        )
    model = load_weights(path)
    if check is not None:
        meta = check(meta, model, side)
    return model, meta
