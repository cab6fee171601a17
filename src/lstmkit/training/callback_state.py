"""The state of a fit's callbacks in a training checkpoint.

``collect`` asks every callback for :meth:`~lstmkit.callbacks.Callback.get_state`; the
checkpoint keeps ``[{"type": class name, "state": …}]`` as JSON in its training_state,
and the NumPy arrays inside a state (EarlyStopping's best weights) as tensors named
``callback.{k}.{key}…`` (k: the position in that list), the JSON holding
``{"__tensor__": name}`` in their place. ``restore`` gives each callback of a resumed
fit the state saved for the callback of the same type at the same rank among that type
(the first EarlyStopping gets the first EarlyStopping's state, …).
"""

from __future__ import annotations

import math
import re
import sys

import numpy as np

from ..errors import ModelFileError

__all__ = ["check_saved", "collect", "join_arrays", "restore", "split_arrays"]

MAX_CALLBACKS = 64
MAX_DEPTH = 8
_KEY = re.compile(r"^[A-Za-z0-9_]{1,64}$")


def collect(callbacks) -> list[dict]:
    """``[{"type", "state"}]`` of the callbacks that have state, in order."""
    out = []
    for cb in callbacks:
        st = cb.get_state()
        if st is not None:
            out.append({"type": type(cb).__name__, "state": st})
    return out


def split_arrays(saved: list[dict]) -> tuple[list[dict], dict[str, np.ndarray]]:
    """Arrays out of the states: → (JSON-able list, {tensor name: array})."""
    tensors: dict[str, np.ndarray] = {}

    def walk(o, name):
        if isinstance(o, np.ndarray):
            tensors[name] = np.ascontiguousarray(o)
            return {"__tensor__": name}
        if isinstance(o, dict):
            return {k: walk(v, f"{name}.{k}") for k, v in o.items()}
        if isinstance(o, (list, tuple)):
            return [walk(v, f"{name}.{j}") for j, v in enumerate(o)]
        if isinstance(o, float) and not math.isfinite(o):
            return None
        return o.item() if isinstance(o, np.generic) else o

    return [
        {"type": e["type"], "state": walk(e["state"], f"callback.{k}")} for k, e in enumerate(saved)
    ], tensors


def check_saved(path, saved, tensor_names) -> list[str]:
    """Validate the checkpoint's callback list; → the tensor names it refers to (each must
    be a ``callback.`` tensor of the file, and every such tensor must be referred to)."""
    if not isinstance(saved, list) or len(saved) > MAX_CALLBACKS:
        raise ModelFileError(f"{path}: training_state.callbacks must be a list")
    refs: list[str] = []

    def walk(o, depth):
        if depth > MAX_DEPTH:
            raise ModelFileError(f"{path}: a callback state is nested too deep")
        if isinstance(o, dict):
            if set(o) == {"__tensor__"}:
                refs.append(o["__tensor__"])
                return
            for k, v in o.items():
                if not _KEY.match(k):
                    raise ModelFileError(f"{path}: bad key {k[:40]!r} in a callback state")
                walk(v, depth + 1)
        elif isinstance(o, list):
            if len(o) > 4096:
                raise ModelFileError(f"{path}: a callback state holds a list of {len(o)} items")
            for v in o:
                walk(v, depth + 1)
        elif o is not None and not isinstance(o, (bool, int, float, str)):
            raise ModelFileError(f"{path}: a callback state holds a {type(o).__name__}")
        elif isinstance(o, str) and len(o) > 1024:
            raise ModelFileError(f"{path}: a callback state holds a {len(o)}-character string")

    for e in saved:
        if (
            not isinstance(e, dict)
            or set(e) != {"type", "state"}
            or not isinstance(e["type"], str)
            or not _KEY.match(e["type"])
            or not isinstance(e["state"], dict)
        ):
            raise ModelFileError(f"{path}: training_state.callbacks holds a malformed entry")
        walk(e["state"], 0)
    held = {n for n in tensor_names if n.startswith("callback.")}
    if not all(isinstance(r, str) for r in refs) or set(refs) != held or len(refs) != len(held):
        raise ModelFileError(f"{path}: the callback states and the callback.* tensors do not match")
    return refs


def join_arrays(saved: list[dict], arrays: dict[str, np.ndarray]) -> list[dict]:
    """Put the arrays back where :func:`split_arrays` took them from."""

    def walk(o):
        if isinstance(o, dict):
            if set(o) == {"__tensor__"}:
                return arrays[o["__tensor__"]]
            return {k: walk(v) for k, v in o.items()}
        if isinstance(o, list):
            return [walk(v) for v in o]
        return o

    return [{"type": e["type"], "state": walk(e["state"])} for e in saved]


def restore(path, callbacks, saved: list[dict]) -> None:
    """Give each callback its saved state (same type, same rank among that type). A state
    that does not fit (``set_state`` raises ValueError) is a ModelFileError."""
    by_type: dict[str, list] = {}
    for e in saved:
        by_type.setdefault(e["type"], []).append(e["state"])
    seen: dict[str, int] = {}
    for cb in callbacks:
        t = type(cb).__name__
        k = seen.get(t, 0)
        if cb.get_state() is None or k >= len(by_type.get(t, [])):
            continue
        seen[t] = k + 1
        try:
            cb.set_state(by_type[t][k])
        except (ValueError, TypeError, KeyError) as e:
            raise ModelFileError(f"{path}: the saved state of {t} does not fit: {e}") from None
    left = sorted(t for t, states in by_type.items() if seen.get(t, 0) < len(states))
    if left:
        print(
            f"resume: {path} holds the state of callbacks this fit does not have: "
            f"{', '.join(left)} (ignored)",
            file=sys.stderr,
        )
