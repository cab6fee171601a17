"""The forecast job's ``model.json``: every value checked, and checked against the weights.

Written by :func:`.job.train`; read by ``forecast --model`` and ``explain``. A value out
of range (``lookback`` 0, ``diff_std`` NaN or 0, a scaler σ of 0 …) or one that does not
fit the model (``horizon`` ≠ the model's outputs, covariates ≠ its input features) is a
one-line ModelFileError, as is a model forecast cannot use (a last layer with
``return_sequences=True``, a ``stateful`` layer).
"""

from __future__ import annotations

from ...layers.base import rng_layers
from ..shared.sidecar import (
    check_fields,
    fail,
    integer,
    list_of,
    nullable,
    number,
    scaler,
    string,
)

__all__ = ["FIELDS", "check"]

FIELDS = {
    "target": string(200, min_len=1),
    "time": nullable(string(200)),
    "covariates": list_of(string(200, min_len=1), 1000, unique=True),
    "lookback": integer(1, 100_000),
    "horizon": integer(1, 10_000),
    "season": integer(0, 100_000),
    # (bounded so that y_t + h·μ + σ·z stays finite for any horizon h and data in range)
    "diff_mean": number(ge=-1e250, le=1e250),
    "diff_std": number(gt=0, le=1e250),
    "cov_scaler": nullable(scaler()),
    "units": integer(1, 65536),
    "seed": integer(0, 2**32 - 1),
}
OPTIONAL = ("time", "units", "seed", "season")


def check(meta: dict, model, side: str) -> dict:
    """``meta`` checked (types, ranges) and held against ``model``; → the checked copy."""
    m = check_fields(side, meta, FIELDS, OPTIONAL)
    m.setdefault("time", None)
    m.setdefault("season", 0)
    C = len(m["covariates"])
    sc = m["cov_scaler"]
    if (sc is None) != (C == 0) or (sc is not None and len(sc["mean"]) != C):
        fail(side, f"cov_scaler must hold mean and std for the {C} covariates")
    if m["target"] in m["covariates"]:
        fail(side, f"the target {m['target']!r} is also listed as a covariate")
    stateful = [ly.name for ly in rng_layers(model.layers) if getattr(ly, "stateful", False)]
    if stateful:
        fail(side, f"layer {stateful[0]!r} is stateful; forecast needs a model without state")
    shape = tuple(model.input_shape or ())
    if len(shape) != 2 or shape[-1] != 1 + C:
        fail(
            side,
            f"the model reads inputs {shape} (time, features); a forecast model with "
            f"{C} covariate(s) reads {1 + C} feature(s) per step",
        )
    if shape[0] is not None and shape[0] != m["lookback"]:
        fail(side, f"lookback {m['lookback']} does not match the model's {shape[0]} steps")
    out = tuple(model.output_shape)
    if out != (m["horizon"],):
        fail(
            side,
            f"the model outputs {out} per window; forecast needs ({m['horizon']},), one "
            f"value per step of the horizon (a last layer with return_sequences=False)",
        )
    return m
