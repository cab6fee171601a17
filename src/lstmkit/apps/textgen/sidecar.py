"""The textgen job's ``model.json``: every value checked, and checked against the weights.

Written by :func:`.job.train_job`; read by ``textgen sample``, ``textgen train --resume``
and ``explain``. The character list must match the model's Embedding and its output
layer (a shortened or lengthened ``chars`` would index past them).
"""

from __future__ import annotations

from ...layers import Embedding
from ..shared.sidecar import SidecarError, check_fields, fail, integer, nullable, obj, string

__all__ = ["CONFIG", "FIELDS", "check", "check_meta"]

CONFIG = {
    "seq_len": integer(1, 100_000),
    "batch_size": integer(1, 100_000),
    "units": integer(1, 65_536),
    "embed_dim": integer(1, 65_536),
    "max_chars": nullable(integer(1, 2**40)),
}
FIELDS = {"chars": string(1_000_000, min_len=1), "source": string(100_000), "config": obj(CONFIG)}


def check_meta(meta: dict, side: str, need_config: bool = True) -> dict:
    """The values alone (``--resume``, which needs ``config``, checks them before it
    builds the model)."""
    m = check_fields(
        side, meta, FIELDS, optional=("source",) + (() if need_config else ("config",))
    )
    if len(set(m["chars"])) != len(m["chars"]):
        raise SidecarError(f"{side}: chars holds a character twice")
    return m


def check(meta: dict, model, side: str) -> dict:
    """``meta`` checked (types, ranges) and held against ``model``; → the checked copy."""
    m = check_meta(meta, side, need_config=False)  # (sampling needs only the characters)
    V = len(m["chars"])
    first = model.layers[0]
    if not isinstance(first, Embedding) or first.input_dim != V:
        fail(
            side,
            f"{V} characters need an Embedding of {V} ids; the model has "
            f"{getattr(first, 'input_dim', type(first).__name__)}",
        )
    if tuple(model.output_shape)[-1:] != (V,):
        fail(
            side, f"{V} characters need {V} outputs per step; the model gives {model.output_shape}"
        )
    return m
