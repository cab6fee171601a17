"""Weight initializers with Keras' names and defaults (``kernel_initializer="he_normal"``).

An initializer is called as ``init(shape, rng)`` → a float64 array (the layer casts it),
drawing from the layer's ``np.random.Generator``: the same seed gives the same weights,
though not Keras' numbers (its random streams are its backend's). Fans are Keras'
``compute_fans``: a 2-D shape (fan_in, fan_out); a convolution kernel
(*receptive field, fan_in, fan_out) multiplies both by the receptive field size.

    zeros / ones / constant(value=0)          identity(gain=1)      orthogonal(gain=1)
    random_normal(mean=0, stddev=0.05)        random_uniform(minval=-0.05, maxval=0.05)
    truncated_normal(mean=0, stddev=0.05)     (re-drawn beyond 2 standard deviations)
    variance_scaling(scale=1, mode="fan_in", distribution="truncated_normal"), and its
    special cases glorot_uniform / glorot_normal (fan_avg), he_* (scale 2, fan_in),
    lecun_* (fan_in): uniform limit √(3·scale/n); normal σ = √(scale/n) (/.8796 truncated)

In saved configs an initializer is a short string, ``"RandomNormal(mean=0.0, stddev=0.1)"``
(see :func:`to_spec`, :func:`parse_spec`): plain values only, nothing is evaluated.
"""

from __future__ import annotations

import math
import re
from typing import Any

import numpy as np

__all__ = [
    "compute_fans",
    "Initializer",
    "Zeros",
    "Ones",
    "Constant",
    "RandomNormal",
    "RandomUniform",
    "TruncatedNormal",
    "VarianceScaling",
    "GlorotNormal",
    "HeNormal",
    "HeUniform",
    "LecunNormal",
    "LecunUniform",
    "GlorotUniform",
    "Orthogonal",
    "Identity",
    "INITIALIZERS",
    "snake",
    "to_spec",
    "parse_spec",
    "get",
    "config_value",
]


def compute_fans(shape) -> tuple[int, int]:
    """(fan_in, fan_out) of a weight shape, as Keras computes them."""
    shape = tuple(int(d) for d in shape)
    if len(shape) < 1:
        return 1, 1
    if len(shape) == 1:
        return shape[0], shape[0]
    if len(shape) == 2:
        return shape[0], shape[1]
    rf = math.prod(shape[:-2])
    return shape[-2] * rf, shape[-1] * rf


class Initializer:
    """``init(shape, rng)`` → array. Subclasses keep their arguments as attributes."""

    def __call__(self, shape, rng: np.random.Generator) -> np.ndarray:
        raise NotImplementedError

    def get_config(self) -> dict:
        return dict(self.__dict__)

    def __repr__(self):
        return to_spec(self)


class Zeros(Initializer):
    def __call__(self, shape, rng):
        return np.zeros(shape)


class Ones(Initializer):
    def __call__(self, shape, rng):
        return np.ones(shape)


class Constant(Initializer):
    def __init__(self, value=0.0):
        self.value = float(value)

    def __call__(self, shape, rng):
        return np.full(shape, self.value)


class RandomNormal(Initializer):
    def __init__(self, mean=0.0, stddev=0.05, seed=None):
        self.mean, self.stddev, self.seed = float(mean), float(stddev), seed

    def __call__(self, shape, rng):
        return _rng(self, rng).normal(self.mean, self.stddev, shape)


class RandomUniform(Initializer):
    def __init__(self, minval=-0.05, maxval=0.05, seed=None):
        self.minval, self.maxval, self.seed = float(minval), float(maxval), seed

    def __call__(self, shape, rng):
        return _rng(self, rng).uniform(self.minval, self.maxval, shape)


def _truncated(rng, shape, mean, stddev):
    """N(0, 1) re-drawn outside (−2, 2), then scaled: Keras' truncated normal."""
    x = rng.standard_normal(shape)
    bad = np.abs(x) >= 2
    while bad.any():
        x[bad] = rng.standard_normal(int(bad.sum()))
        bad = np.abs(x) >= 2
    return mean + stddev * x


class TruncatedNormal(Initializer):
    def __init__(self, mean=0.0, stddev=0.05, seed=None):
        self.mean, self.stddev, self.seed = float(mean), float(stddev), seed

    def __call__(self, shape, rng):
        return _truncated(_rng(self, rng), shape, self.mean, self.stddev)


class VarianceScaling(Initializer):
    MODES = ("fan_in", "fan_out", "fan_avg")
    DISTRIBUTIONS = ("truncated_normal", "untruncated_normal", "uniform", "normal")

    def __init__(self, scale=1.0, mode="fan_in", distribution="truncated_normal", seed=None):
        if mode not in self.MODES:
            raise ValueError(f"VarianceScaling mode must be one of {self.MODES}, got {mode!r}")
        if distribution not in self.DISTRIBUTIONS:
            raise ValueError(
                f"VarianceScaling distribution must be one of {self.DISTRIBUTIONS}, "
                f"got {distribution!r}"
            )
        if not scale > 0:
            raise ValueError(f"VarianceScaling scale must be > 0, got {scale!r}")
        self.scale, self.mode, self.distribution, self.seed = float(scale), mode, distribution, seed

    def __call__(self, shape, rng):
        fan_in, fan_out = compute_fans(shape)
        n = {"fan_in": fan_in, "fan_out": fan_out, "fan_avg": (fan_in + fan_out) / 2}[self.mode]
        s = self.scale / max(1.0, n)
        rng = _rng(self, rng)
        if self.distribution == "uniform":
            limit = math.sqrt(3.0 * s)
            return rng.uniform(-limit, limit, shape)
        if self.distribution == "truncated_normal":  # .8796…: σ of N(0,1) truncated at ±2
            return _truncated(rng, shape, 0.0, math.sqrt(s) / 0.87962566103423978)
        return rng.normal(0.0, math.sqrt(s), shape)


def _scaling(name, scale, mode, distribution):
    def __init__(self, seed=None):
        VarianceScaling.__init__(self, scale, mode, distribution, seed)

    def get_config(self):
        return {"seed": self.seed}

    return type(name, (VarianceScaling,), {"__init__": __init__, "get_config": get_config})


GlorotNormal = _scaling("GlorotNormal", 1.0, "fan_avg", "truncated_normal")
HeNormal = _scaling("HeNormal", 2.0, "fan_in", "truncated_normal")
HeUniform = _scaling("HeUniform", 2.0, "fan_in", "uniform")
LecunNormal = _scaling("LecunNormal", 1.0, "fan_in", "truncated_normal")
LecunUniform = _scaling("LecunUniform", 1.0, "fan_in", "uniform")


class GlorotUniform(VarianceScaling):
    """U(−√(6/(fan_in + fan_out)), +…): one uniform draw (lstmkit's default kernels)."""

    def __init__(self, seed=None):
        super().__init__(1.0, "fan_avg", "uniform", seed)

    def __call__(self, shape, rng):
        fan_in, fan_out = compute_fans(shape)
        limit = math.sqrt(6.0 / (fan_in + fan_out))
        return _rng(self, rng).uniform(-limit, limit, shape)

    def get_config(self):
        return {"seed": self.seed}


class Orthogonal(Initializer):
    """Q of the QR of a normal matrix (signs fixed by diag R), times ``gain``."""

    def __init__(self, gain=1.0, seed=None):
        self.gain, self.seed = float(gain), seed

    def __call__(self, shape, rng):
        if getattr(rng, "skip_init", False):  # weights come from a file next: no QR
            return np.zeros(shape)
        rows, cols = math.prod(shape[:-1]), shape[-1]
        a = _rng(self, rng).standard_normal((max(rows, cols), min(rows, cols)))
        q, r = np.linalg.qr(a)
        q *= np.sign(np.diag(r))
        q = q.T if rows < cols else q
        return self.gain * q.reshape(shape)


class Identity(Initializer):
    def __init__(self, gain=1.0):
        self.gain = float(gain)

    def __call__(self, shape, rng):
        if len(shape) != 2:
            raise ValueError(f"the identity initializer needs a 2-D shape, got {tuple(shape)}")
        return self.gain * np.eye(*shape)


def _rng(init, rng):
    """An initializer's own seed (Keras' ``seed=``) wins over the layer's generator (but not
    over a layers.base.SkipInit: a layer built to receive weights from a file draws nothing)."""
    if getattr(rng, "skip_init", False):
        return rng
    return rng if getattr(init, "seed", None) is None else np.random.default_rng(init.seed)


INITIALIZERS = {
    c.__name__: c
    for c in (
        Zeros,
        Ones,
        Constant,
        RandomNormal,
        RandomUniform,
        TruncatedNormal,
        VarianceScaling,
        GlorotUniform,
        GlorotNormal,
        HeNormal,
        HeUniform,
        LecunNormal,
        LecunUniform,
        Orthogonal,
        Identity,
    )
}


def snake(name: str) -> str:
    """'GlorotUniform' → 'glorot_uniform' (Keras' string names)."""
    return re.sub(r"(?<=[a-z0-9])([A-Z])", r"_\1", name).lower()


_BY_STRING = {snake(n): c for n, c in INITIALIZERS.items()}
_BY_STRING.update(uniform=RandomUniform, normal=RandomNormal, zero=Zeros, one=Ones)


# -------------------------------------------------------------- specs: safe strings
_SPEC = re.compile(r"^([A-Za-z][A-Za-z0-9]*)\((.*)\)$")
_ARG = re.compile(r"^\s*([a-z_][a-z0-9_]*)\s*=\s*(.+?)\s*$")
_NUM = re.compile(r"^-?\d+(\.\d*)?([eE][-+]?\d+)?$")


def to_spec(obj) -> str:
    """An initializer / regularizer / constraint → ``"Name(k=v, …)"`` (plain values only)."""
    args = ", ".join(f"{k}={_plain(v)}" for k, v in obj.get_config().items())
    return f"{type(obj).__name__}({args})"


def _plain(v):
    if v is None or isinstance(v, bool):
        return str(v)
    if isinstance(v, (int, float)):
        return repr(v)
    return "'" + str(v) + "'"


def parse_spec(spec: str, table: dict, what: str):
    """``"Name(k=v, …)"`` → the object, for names in ``table`` and plain values only."""
    m = _SPEC.match(spec.strip())
    if not m or m.group(1) not in table:
        raise ValueError(f"{what} {spec[:80]!r} is not one of {sorted(table)}")
    kw: dict[str, Any] = {}
    for part in filter(None, (p for p in m.group(2).split(","))):
        a = _ARG.match(part)
        if not a:
            raise ValueError(f"{what} {spec[:80]!r}: cannot read argument {part[:40]!r}")
        v = a.group(2)
        if v in ("None", "True", "False"):
            kw[a.group(1)] = {"None": None, "True": True, "False": False}[v]
        elif _NUM.match(v):
            kw[a.group(1)] = float(v) if any(ch in v for ch in ".eE") else int(v)
        elif len(v) >= 2 and v[0] == v[-1] == "'" and re.match(r"^[a-z_]+$", v[1:-1]):
            kw[a.group(1)] = v[1:-1]
        else:
            raise ValueError(f"{what} {spec[:80]!r}: {v[:40]!r} is not a plain value")
    return table[m.group(1)](**kw)


def get(identifier, where: str = "initializer") -> Initializer:
    """A Keras name ("glorot_uniform", "zeros", …), a spec string or an Initializer."""
    if isinstance(identifier, Initializer):
        return identifier
    if isinstance(identifier, str):
        key = identifier.strip()
        if key in _BY_STRING:
            return _BY_STRING[key]()
        if key in INITIALIZERS:
            return INITIALIZERS[key]()
        if "(" in key:
            return parse_spec(key, INITIALIZERS, where)
    raise ValueError(
        f"{where} must be one of {sorted(_BY_STRING)} or an lstmkit initializer "
        f"(lstmkit.initializers.*), got {identifier!r}"
    )


def config_value(init):
    """What a layer config stores for an initializer: its Keras name when it has only
    default arguments, else a spec string."""
    if type(init).__name__ in INITIALIZERS and init.get_config() == type(init)().get_config():
        return snake(type(init).__name__)
    return to_spec(init)
