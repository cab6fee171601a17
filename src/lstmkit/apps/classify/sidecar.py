"""The classify job's ``model.json``: every value checked, and checked against the weights.

Written by :func:`.job.fit_meta`; read by ``classify predict`` and ``explain``. The class
list must match the model's outputs, a text model's vocabulary its Embedding (a
lengthened vocabulary would give ids the Embedding does not have), a series model's
features and scaler its input width; ``maxlen`` is bounded (it sizes the input array).
"""

from __future__ import annotations

from ...layers import Embedding
from ..shared.sidecar import (
    boolean,
    check_fields,
    fail,
    integer,
    list_of,
    nullable,
    obj,
    one_of,
    scaler,
    string,
)

__all__ = ["FIELDS", "check"]

MAX_MAXLEN = 100_000
FIELDS = {
    "kind": one_of("series", "text"),
    "classes": list_of(string(200), 100_000, min_len=2, unique=True),
    "columns": obj(
        {r: nullable(string(200)) for r in ("label", "id", "order", "text", "split")},
        optional=("label", "id", "order", "text", "split"),
    ),
    "maxlen": integer(1, MAX_MAXLEN),
}
TEXT = {"vocab": list_of(string(200, min_len=1), 1_000_000, unique=True)}
SERIES = {
    "features": list_of(string(200, min_len=1), 10_000, min_len=1, unique=True),
    "normalize": one_of("sequence", "global", "both"),
    "patch": integer(1, MAX_MAXLEN),
    "masked": boolean(),
}


def check(meta: dict, model, side: str) -> dict:
    """``meta`` checked (types, ranges) and held against ``model``; → the checked copy."""
    m = check_fields(side, meta, FIELDS, optional=("columns",))
    m.setdefault("columns", {})
    if m["kind"] == "text":
        m = check_fields(side, m, TEXT)
        first = model.layers[0]
        if not isinstance(first, Embedding) or first.input_dim != len(m["vocab"]) + 2:
            got = getattr(first, "input_dim", type(first).__name__)
            fail(
                side,
                f"a vocabulary of {len(m['vocab'])} words needs an Embedding of "
                f"{len(m['vocab']) + 2} ids (pad, unknown, words); the model has {got}",
            )
    else:
        m = check_fields(side, m, SERIES, optional=("normalize", "patch", "masked"))
        if "normalize" not in m:  # a sidecar from before the recipe: global scaling only
            m.update(normalize="global", patch=1, masked=False)
        F, how, p = len(m["features"]), m["normalize"], m.get("patch", 1)
        if how != "sequence":
            m = check_fields(side, m, {"scaler": scaler(F)})
        if m["maxlen"] % p:
            fail(side, f"maxlen {m['maxlen']} is not a multiple of patch {p}")
        width = p * F * (2 if how == "both" else 1)  # (p steps folded; both: z-norm + scaled)
        shape = tuple(model.input_shape or ())
        if len(shape) != 2 or shape[-1] != width or shape[0] not in (None, m["maxlen"] // p):
            fail(
                side,
                f"{F} features ({how} normalisation, patches of {p}) need inputs "
                f"({m['maxlen'] // p}, {width}); the model reads {shape}",
            )
    out = tuple(model.output_shape)
    if out != (len(m["classes"]),):
        fail(
            side,
            f"{len(m['classes'])} classes need one probability each per example; the "
            f"model outputs {out}",
        )
    return m
