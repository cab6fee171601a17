"""Reading a job's ``model.json`` sidecar as untrusted input: bounded, then checked.

:func:`read_json` opens regular files only (a FIFO cannot hang us), reads at most
``MAX_BYTES``, refuses JSON nested deeper than ``MAX_DEPTH``, NaN / Infinity and
duplicate keys. Each job then checks its sidecar with a schema built from the small
checkers below (types and ranges, every value) and against the weights' shapes (its
``sidecar.py``: ``check(meta, model, side)``). Any problem is one
:class:`~lstmkit.errors.ModelFileError` naming the file, the key, what was expected and
what came — never a traceback, never a silently wrong answer.

    FIELDS = {"lookback": integer(1, 100_000), "diff_std": number(gt=0),
              "covariates": list_of(string(), max_len=1000, unique=True)}
    meta = check_fields(side, meta, FIELDS, optional={"time"})
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable

from ...errors import ModelFileError
from ...safeopen import open_regular

__all__ = [
    "MAX_BYTES",
    "MAX_DEPTH",
    "SidecarError",
    "boolean",
    "check_fields",
    "fail",
    "integer",
    "list_of",
    "nullable",
    "number",
    "obj",
    "one_of",
    "read_json",
    "scaler",
    "string",
]

MAX_BYTES = 2 * 2**20  # a 20 000-word vocabulary is ~250 KB; parsed JSON can take 25× its size
MAX_DEPTH = 16


class SidecarError(ModelFileError):
    """A sidecar value that is not what the job wrote (raised by the checkers)."""


def _short(v) -> str:
    s = json.dumps(v, allow_nan=True) if not isinstance(v, str) else repr(v)
    return s if len(s) <= 60 else s[:57] + "…"


class _Dup(Exception):
    pass


def _pairs(pairs):
    d = {}
    for k, v in pairs:
        if k in d:
            raise _Dup(k)
        d[k] = v
    return d


def _depth(o) -> int:
    """Nesting depth of parsed JSON, without recursion."""
    best, todo = 0, [(o, 1)]
    while todo:
        v, d = todo.pop()
        if isinstance(v, (dict, list)):
            best = max(best, d)
            if d > MAX_DEPTH:
                return d
            todo.extend((x, d + 1) for x in (v.values() if isinstance(v, dict) else v))
    return best


def _no_constant(name):
    raise ValueError(f"{name} is not a number JSON allows")


def read_json(path: str):
    """The parsed JSON of ``path`` (any type; see the module docstring for the bounds)."""
    try:
        with open_regular(path) as f:
            size = f.seek(0, 2)
            if size > MAX_BYTES:
                raise SidecarError(f"{path} is {size} bytes; a sidecar is at most {MAX_BYTES}")
            f.seek(0)
            raw = f.read(MAX_BYTES + 1)
    except OSError as e:
        raise SidecarError(f"cannot read {path}: {e.strerror or e}") from None
    try:
        obj = json.loads(raw.decode("utf-8"), object_pairs_hook=_pairs, parse_constant=_no_constant)
    except _Dup as e:
        raise SidecarError(f"{path}: key {str(e.args[0])[:40]!r} appears twice") from None
    except RecursionError:
        raise SidecarError(f"{path} is nested deeper than {MAX_DEPTH} levels") from None
    except (UnicodeDecodeError, ValueError) as e:
        raise SidecarError(f"{path} is not valid JSON: {str(e)[:120]}") from None
    if _depth(obj) > MAX_DEPTH:
        raise SidecarError(f"{path} is nested deeper than {MAX_DEPTH} levels")
    return obj


# ------------------------------------------------------------------ checkers
#: a checker: (value, where) -> value, raising ValueError(what was expected)
Check = Callable[[object, str], object]


def integer(lo: int, hi: int) -> Check:
    def check(v, where):
        if type(v) is not int or not lo <= v <= hi:
            raise ValueError(f"an integer in {lo}..{hi}")
        return v

    return check


def number(ge=None, gt=None, le=None, lt=None) -> Check:
    """A finite number (int or float) in the given bounds."""
    bounds = " ".join(
        f"{op} {b:g}" for op, b in ((">=", ge), (">", gt), ("<=", le), ("<", lt)) if b is not None
    )

    def check(v, where):
        ok = (
            not isinstance(v, bool)
            and isinstance(v, (int, float))
            and math.isfinite(v)
            and (ge is None or v >= ge)
            and (gt is None or v > gt)
            and (le is None or v <= le)
            and (lt is None or v < lt)
        )
        if not ok:
            raise ValueError(f"a finite number{' ' + bounds if bounds else ''}")
        return float(v)

    return check


def string(max_len: int = 1000, min_len: int = 0) -> Check:
    def check(v, where):
        if not isinstance(v, str) or not min_len <= len(v) <= max_len:
            raise ValueError(f"a string of {min_len}..{max_len} characters")
        return v

    return check


def boolean() -> Check:
    def check(v, where):
        if not isinstance(v, bool):
            raise ValueError("true or false")
        return v

    return check


def nullable(inner: Check) -> Check:
    def check(v, where):
        return None if v is None else inner(v, where)

    return check


def one_of(*values) -> Check:
    def check(v, where):
        if v not in values:
            raise ValueError(f"one of {', '.join(map(repr, values))}")
        return v

    return check


def list_of(item: Check, max_len: int, min_len: int = 0, unique: bool = False) -> Check:
    def check(v, where):
        if not isinstance(v, list) or not min_len <= len(v) <= max_len:
            raise ValueError(f"a list of {min_len}..{max_len} items")
        out = [_at(item, x, f"{where}[{k}]") for k, x in enumerate(v)]
        if unique and len(set(map(json.dumps, out))) != len(out):
            raise ValueError("a list without repeated items")
        return out

    return check


def obj(fields: dict[str, Check], optional=()) -> Check:
    """A JSON object with these keys (those in ``optional`` may be missing; others are
    ignored: a newer lstmkit may add some)."""

    def check(v, where):
        if not isinstance(v, dict):
            raise ValueError("an object")
        return _fields(v, fields, optional, where)

    return check


def scaler(n: int | None = None) -> Check:
    """A StandardScaler's {"mean": [finite], "std": [finite > 0]} (of ``n`` features)."""
    k = "any number of" if n is None else str(n)

    def check(v, where):
        d = obj({"mean": list_of(number(), 100_000), "std": list_of(number(gt=0), 100_000)})(
            v, where
        )
        assert isinstance(d, dict)  # (obj's checker returns the checked object)
        if len(d["mean"]) != len(d["std"]) or (n is not None and len(d["mean"]) != n):
            raise ValueError(f"mean and std for {k} features")
        return d

    return check


class _Nested(Exception):
    """A checker deeper down failed: carries the full message."""


def _at(check: Check, v, where):
    try:
        return check(v, where)
    except ValueError as e:
        raise _Nested(f"{where} = {_short(v)}: expected {e}") from None


def _fields(meta: dict, fields: dict[str, Check], optional, where=""):
    out = dict(meta)
    for key, check in fields.items():
        name = f"{where}.{key}" if where else key
        if key not in meta:
            if key in optional:
                continue
            raise _Nested(f"{name} is missing")
        out[key] = _at(check, meta[key], name)
    return out


def check_fields(side: str, meta, fields: dict[str, Check], optional=()) -> dict:
    """``meta`` checked against ``fields`` → a copy with the checked values; a
    SidecarError naming ``side`` and the first key that is wrong."""
    if not isinstance(meta, dict):
        raise SidecarError(f"{side}: expected a JSON object, got {type(meta).__name__}")
    try:
        return _fields(meta, fields, optional)
    except _Nested as e:
        raise SidecarError(f"{side}: {e}") from None


def fail(side: str, message: str):
    """Raise the SidecarError of a consistency check (a sidecar that does not fit its weights)."""
    raise SidecarError(f"{side}: {message}")
