"""Reading a safetensors file we do not trust: every check happens before anything is built.

A safetensors file is ``[8-byte little-endian header length N][N bytes of JSON][data]``.
The JSON maps tensor names to ``{"dtype", "shape", "data_offsets": [begin, end]}``
(offsets into the data part) and may hold ``"__metadata__"``: a string → string map,
where lstmkit keeps ``format``, ``format_version``, ``config`` (JSON) and friends.

Checked here: the file is at least 8 bytes; N fits inside the file and is not absurd;
the header is UTF-8 JSON, an object, without duplicate names; every dtype is F32 or
F64; shapes have ≤ 4 non-negative bounded dims; each tensor's byte range matches its
shape and lies inside the file; the ranges tile the data part exactly (no gap, no
overlap, no trailing bytes); the metadata is a string map. Model configs are checked
by :func:`check_layer_entry`: types from the allow-list only, known keys only, plain
bounded values (a functional model's graph: :mod:`.safegraph`). Anything else raises
:class:`lstmkit.errors.ModelFileError`.
"""

from __future__ import annotations

import inspect
import json
import math
import os
import re

import numpy as np

from ..errors import ModelFileError
from ..layers import Bidirectional, InputLayer, Recurrent, TimeDistributed

__all__ = [
    "FORMAT",
    "FORMAT_VERSION",
    "MAX_HEADER_BYTES",
    "MAX_NDIM",
    "MAX_DIM",
    "MAX_ELEMENTS",
    "DTYPES",
    "DTYPE_NAMES",
    "NAME_RE",
    "MAX_INT",
    "MAX_UNITS",
    "MAX_STR",
    "SIZE_KEYS",
    "read_header",
    "load_json",
    "check_format",
    "plain_value",
    "allowed_keys",
    "WRAPPER_KEYS",
    "check_layer_entry",
]

FORMAT = "lstmkit"
FORMAT_VERSION = 1
MAX_HEADER_BYTES = 16 * 2**20
MAX_NDIM = 4
MAX_DIM = 2**28
MAX_ELEMENTS = 2**31
DTYPES: dict[str, np.dtype] = {"F32": np.dtype(np.float32), "F64": np.dtype(np.float64)}
DTYPE_NAMES = {v.name: k for k, v in DTYPES.items()}
NAME_RE = re.compile(r"^[A-Za-z0-9_.\-]{1,200}$")
MAX_INT = {"input_dim": 2**24}  # other ints (units, output_dim, …) are bounded by MAX_UNITS
MAX_UNITS = 65536
MAX_STR = 128
SIZE_KEYS = (  # must be ints ≥ 1 when present
    "units",
    "input_dim",
    "output_dim",
    "proj_size",
    "filters",
    "kernel_size",
    "n",
    "pool_size",
)


class _Duplicate(Exception):
    pass


def _no_duplicates(pairs):
    d = {}
    for k, v in pairs:
        if k in d:
            raise _Duplicate(k)
        d[k] = v
    return d


def read_header(path):
    """Validate the file's structure. Returns (tensors {name: (dtype, shape, begin, end)},
    metadata {str: str}, data_start)."""
    path = os.fspath(path)
    try:
        size = os.path.getsize(path)
        with open(path, "rb") as f:
            head = f.read(8)
            if size < 8 or len(head) < 8:
                raise ModelFileError(
                    f"{path}: {size} bytes is too short for a safetensors file "
                    f"(expected an 8-byte header length first)"
                )
            n = int.from_bytes(head, "little")
            if n > size - 8:
                raise ModelFileError(
                    f"{path}: header length {n} is larger than the file "
                    f"({size} bytes): truncated, or not a safetensors file"
                )
            if n > MAX_HEADER_BYTES or n < 2:
                raise ModelFileError(
                    f"{path}: header length {n} is outside 2..{MAX_HEADER_BYTES} bytes"
                )
            raw = f.read(n)
    except OSError as e:
        raise ModelFileError(f"cannot read model file {path}: {e.strerror or e}") from None
    try:
        header = json.loads(raw.decode("utf-8"), object_pairs_hook=_no_duplicates)
    except _Duplicate as e:
        raise ModelFileError(
            f"{path}: tensor or key {e.args[0]!r} appears twice in the header"
        ) from None
    except (UnicodeDecodeError, ValueError, RecursionError):
        raise ModelFileError(
            f"{path}: the header is not valid JSON (not a safetensors file?)"
        ) from None
    if not isinstance(header, dict):
        raise ModelFileError(
            f"{path}: the header must be a JSON object, got {type(header).__name__}"
        )
    meta = header.pop("__metadata__", {})
    if not isinstance(meta, dict) or not all(
        isinstance(k, str) and isinstance(v, str) for k, v in meta.items()
    ):
        raise ModelFileError(f"{path}: __metadata__ must map strings to strings")
    data_len = size - 8 - n
    tensors = {}
    for name, entry in header.items():
        tensors[name] = _check_entry(path, name, entry, data_len)
    spans = sorted((b, end, nm) for nm, (_, _, b, end) in tensors.items())
    pos = 0
    for b, end, nm in spans:
        if b != pos:
            raise ModelFileError(
                f"{path}: tensor {nm!r} starts at byte {b} of the data, expected {pos} "
                f"(overlapping or missing data)"
            )
        pos = end
    if pos != data_len:
        raise ModelFileError(
            f"{path}: the tensors cover {pos} bytes of data but the file holds "
            f"{data_len} (truncated or padded)"
        )
    return tensors, meta, 8 + n


def _check_entry(path, name, e, data_len):
    if not NAME_RE.match(name):
        raise ModelFileError(f"{path}: bad tensor name {name[:80]!r}")
    if not isinstance(e, dict) or set(e) != {"dtype", "shape", "data_offsets"}:
        raise ModelFileError(f"{path}: tensor {name!r}: expected keys dtype, shape, data_offsets")
    dt = e["dtype"]
    if not isinstance(dt, str) or dt not in DTYPES:
        raise ModelFileError(
            f"{path}: tensor {name!r} has dtype {dt!r}; expected one of {sorted(DTYPES)}"
        )
    shape = e["shape"]
    if (
        not isinstance(shape, list)
        or len(shape) > MAX_NDIM
        or not all(type(d) is int and 0 <= d <= MAX_DIM for d in shape)
    ):
        raise ModelFileError(
            f"{path}: tensor {name!r} has shape {str(shape)[:80]}; expected a list of "
            f"at most {MAX_NDIM} sizes in 0..{MAX_DIM}"
        )
    count = math.prod(shape)
    if count > MAX_ELEMENTS:
        raise ModelFileError(f"{path}: tensor {name!r} has {count} elements (limit {MAX_ELEMENTS})")
    off = e["data_offsets"]
    if (
        not isinstance(off, list)
        or len(off) != 2
        or not all(type(v) is int for v in off)
        or not 0 <= off[0] <= off[1] <= data_len
    ):
        raise ModelFileError(
            f"{path}: tensor {name!r} has byte range {str(off)[:80]} outside the "
            f"{data_len} bytes of data (truncated file?)"
        )
    if off[1] - off[0] != count * DTYPES[dt].itemsize:
        raise ModelFileError(
            f"{path}: tensor {name!r}: {off[1] - off[0]} bytes do not hold "
            f"shape {tuple(shape)} of {dt}"
        )
    return DTYPES[dt], tuple(shape), off[0], off[1]


def load_json(path, meta, key, required=True):
    if key not in meta:
        if required:
            raise ModelFileError(
                f"{path}: metadata has no {key!r} entry (not an lstmkit model file?)"
            )
        return None
    try:
        return json.loads(meta[key], object_pairs_hook=_no_duplicates)
    except (_Duplicate, ValueError, RecursionError):
        raise ModelFileError(f"{path}: metadata {key!r} is not valid JSON") from None


def check_format(path, meta):
    if meta.get("format") != FORMAT:
        raise ModelFileError(
            f"{path}: metadata format is {meta.get('format')!r}, expected {FORMAT!r}"
        )
    v = meta.get("format_version", "")
    if not v.isdigit() or not 1 <= int(v) <= FORMAT_VERSION:
        raise ModelFileError(
            f"{path}: format_version {v!r} is not supported "
            f"(this lstmkit reads 1..{FORMAT_VERSION})"
        )


# ------------------------------------------------------------------ configs
def plain_value(path, where, key, v):
    """Only plain, bounded JSON scalars are allowed in a layer config."""
    if v is None or isinstance(v, bool):
        return
    if isinstance(v, int):
        bound = MAX_INT.get(key, MAX_UNITS if key != "seed" else 2**63 - 1)
        low = -8 if key == "axis" else 0  # Concatenate(axis=-1)
        if not low <= v <= bound:
            raise ModelFileError(f"{path}: {where}.{key} = {v} is outside {low}..{bound}")
        return
    if isinstance(v, float):
        if not math.isfinite(v) or abs(v) > 1e6:
            raise ModelFileError(f"{path}: {where}.{key} = {v!r} is not a sane number")
        return
    if isinstance(v, str):
        if len(v) > MAX_STR:
            raise ModelFileError(
                f"{path}: {where}.{key} is a string of {len(v)} characters (limit {MAX_STR})"
            )
        return
    raise ModelFileError(
        f"{path}: {where}.{key} has a {type(v).__name__}; expected a number, string, bool or null"
    )


_PROBE = {
    "units": 1,
    "input_dim": 1,
    "output_dim": 1,
    "activation": "linear",
    "rate": 0.0,
    "proj_size": 2,
    "target_shape": "1",
    "dims": "1",
}
_PROBE_ALWAYS = {InputLayer: {"shape": "1"}}  # arguments whose default cannot make a layer
_KEYS_CACHE: dict = {}


def allowed_keys(cls) -> frozenset:
    """The config keys a layer type writes: those of an unbuilt instance's get_config()."""
    if cls not in _KEYS_CACHE:
        sig = inspect.signature(cls.__init__)
        need = {
            p.name: _PROBE.get(p.name, 1)
            for p in sig.parameters.values()
            if p.name != "self"
            and p.default is inspect.Parameter.empty
            and p.kind in (p.POSITIONAL_OR_KEYWORD, p.KEYWORD_ONLY)
        }
        need.update(_PROBE_ALWAYS.get(cls, {}))
        for units in (1, 4):  # e.g. LSTMP needs proj_size < units
            try:
                probe = {**need, "units": units} if "units" in need else need
                # + Keras' base arguments a config holds when they are not the defaults
                keys = set(cls(**probe).get_config()) | {"trainable", "activity_regularizer"}
                _KEYS_CACHE[cls] = frozenset(keys)
                break
            except (TypeError, ValueError):
                continue
        else:
            raise ModelFileError(f"cannot check configs of layer type {cls.type_name}")
    return _KEYS_CACHE[cls]


WRAPPER_KEYS = {
    "Bidirectional": {
        "name",
        "merge_mode",
        "layer",
        "backward_layer",
        "trainable",
        "activity_regularizer",
    },
    "TimeDistributed": {"name", "layer", "trainable", "activity_regularizer"},
}


def check_layer_entry(path, entry, where, layer_types, nested=False):
    """Validate one {"type", "config"} entry; returns (cls, config). Builds nothing."""

    if not isinstance(entry, dict) or set(entry) != {"type", "config"}:
        raise ModelFileError(f"{path}: {where} must be an object with keys 'type' and 'config'")
    t, cfg = entry["type"], entry["config"]
    allowed = sorted(layer_types) + ([] if nested else sorted(WRAPPER_KEYS))
    if not isinstance(t, str) or t not in allowed:
        raise ModelFileError(
            f"{path}: {where} has layer type {str(t)[:80]!r}, which is not on the "
            f"allow-list {allowed}"
        )
    if not isinstance(cfg, dict):
        raise ModelFileError(f"{path}: {where}.config must be an object")
    if t in WRAPPER_KEYS:
        keys = WRAPPER_KEYS[t]
        if set(cfg) - keys or "layer" not in cfg:
            raise ModelFileError(
                f"{path}: {where}.config expected keys {sorted(keys)}; got {sorted(cfg)}"
            )
        for k in keys - {"layer", "backward_layer"}:
            if k in cfg:
                plain_value(path, where, k, cfg[k])
        inner = [("layer", cfg["layer"])]
        if "backward_layer" in cfg:
            inner.append(("backward_layer", cfg["backward_layer"]))
        for key, e in inner:
            inner_cls, _ = check_layer_entry(path, e, f"{where}.{key}", layer_types, True)
            if t == "Bidirectional" and not issubclass(inner_cls, Recurrent):
                raise ModelFileError(
                    f"{path}: {where} wraps {inner_cls.__name__}; Bidirectional needs a "
                    f"recurrent layer"
                )
            if t == "TimeDistributed" and inner_cls is InputLayer:
                raise ModelFileError(f"{path}: {where} cannot wrap an InputLayer")
        return (Bidirectional if t == "Bidirectional" else TimeDistributed), cfg
    cls = layer_types[t]
    extra = sorted(set(cfg) - allowed_keys(cls))
    if extra:
        raise ModelFileError(f"{path}: {where} ({t}) has unknown config keys {extra[:10]}")
    for k, v in cfg.items():
        plain_value(path, where, k, v)
        if (
            k in SIZE_KEYS
            and (type(v) is not int or v < 1)
            and not (k == "proj_size" and v is None)
        ):
            raise ModelFileError(f"{path}: {where}.{k} = {str(v)[:40]} is not a positive integer")
    if "dtype" in cfg and cfg["dtype"] not in ("float32", "float64") and cls is not InputLayer:
        raise ModelFileError(
            f"{path}: {where}.dtype must be 'float32' or 'float64', got {cfg['dtype']!r}"
        )
    return cls, cfg
