"""The speech job's ``model.json``: every value checked, and checked against the weights.

Written by :func:`.job.train_job`; read by ``speech evaluate`` / ``recognize`` and
``explain``. The feature settings are bounded (a sample rate of 10⁹ or an FFT of 2³⁰
points would allocate gigabytes per recording), the normalisation scales are finite and
positive, and the model's input width is ``stack × n_mfcc`` and its outputs the labels
plus the blank.
"""

from __future__ import annotations

from ..shared.sidecar import check_fields, fail, integer, list_of, number, obj, string

__all__ = ["FEATURES", "FIELDS", "check"]

FEATURES = obj(
    {
        "sample_rate": integer(1000, 192_000),
        "win": integer(16, 65_536),
        "hop": integer(1, 65_536),
        "n_fft": integer(16, 65_536),
        "n_mels": integer(1, 512),
        "n_mfcc": integer(1, 512),
        "fmin": number(ge=0, le=1e6),
        "fmax": number(gt=0, le=1e6),
        "preemphasis": number(ge=0, lt=1),
    }
)
FIELDS = {
    "labels": list_of(string(16, min_len=1), 1000, min_len=1, unique=True),
    "blank": integer(0, 0),
    "stack": integer(1, 64),
    "norm_scale": list_of(number(gt=0, le=1e30), 512, min_len=1),
    "features": FEATURES,
}


def check(meta: dict, model, side: str) -> dict:
    """``meta`` checked (types, ranges) and held against ``model``; → the checked copy."""
    m = check_fields(side, meta, FIELDS, optional=("blank",))
    f = m["features"]
    if f["win"] > f["n_fft"] or f["fmin"] >= f["fmax"] or f["fmax"] > f["sample_rate"] / 2:
        fail(side, "features: expected win <= n_fft and fmin < fmax <= sample_rate / 2")
    if f["n_mfcc"] > f["n_mels"] or len(m["norm_scale"]) != f["n_mfcc"]:
        fail(side, f"norm_scale must hold n_mfcc = {f['n_mfcc']} scales (n_mfcc <= n_mels)")
    width, classes = m["stack"] * f["n_mfcc"], len(m["labels"]) + 1
    shape = tuple(model.input_shape or ())
    if shape[-1:] != (width,) or tuple(model.output_shape)[-1:] != (classes,):
        fail(
            side,
            f"{m['stack']} stacked frames of {f['n_mfcc']} MFCCs and {classes - 1} labels + blank "
            f"need inputs of {width} and {classes} outputs; the model has {shape} → "
            f"{model.output_shape}",
        )
    return m
