"""Bounds for Keras files we do not trust, applied before anything is built or read in full.

* A ``.keras`` archive is a zip: it must be a regular file; ``config.json`` is at most
  ``MAX_CONFIG_BYTES``; ``model.weights.h5`` at most ``MAX_WEIGHTS_BYTES`` and — when
  the member is compressed (Keras itself stores it uncompressed) — at most
  ``MAX_RATIO`` times its compressed size. Members are read in 1 MiB pieces and counted
  as they come (the sizes in the zip directory are not trusted): a 1.5 MB archive cannot
  inflate to gigabytes.
* Every value of a layer config that lstmkit uses is checked (:func:`check_entries`):
  sizes are integers in range (``units`` ≤ 65 536), rates finite numbers in [0, 1),
  names short strings, switches booleans, a Bidirectional holds a layer. Anything else
  is a :class:`~lstmkit.errors.UserError` naming the layer and the key.
* A weights dataset must be a float array of at most 4 axes, stored in full and
  uncompressed (:func:`check_dataset`): its values then come from the file's own bytes,
  so a small file cannot expand into a large array; and its shape must equal the shape
  the config implies (:mod:`.layout`) before the model is built.
"""

from __future__ import annotations

import math
import zipfile

from ..errors import ModelFileError, UserError
from ..safeopen import open_regular

__all__ = [
    "MAX_CONFIG_BYTES",
    "MAX_RATIO",
    "MAX_WEIGHTS_BYTES",
    "check_dataset",
    "check_entries",
    "read_archive",
]

MAX_CONFIG_BYTES = 16 * 2**20
MAX_WEIGHTS_BYTES = 2**31
MAX_RATIO = 50
MAX_UNITS = 65536
MAX_VOCAB = 2**24
MAX_LAYERS = 256


def _read_member(z, info, limit, path) -> bytes:
    """A member's bytes, counted as they are inflated; refused past ``limit``."""
    parts, n = [], 0
    with z.open(info) as f:
        while True:
            c = f.read(2**20)
            if not c:
                break
            n += len(c)
            if n > limit:
                raise ModelFileError(
                    f"{path}: {info.filename} unpacks to more than {limit} bytes (from "
                    f"{info.compress_size} in the archive): refused"
                )
            parts.append(c)
    return b"".join(parts)


def read_archive(path) -> tuple[bytes, bytes]:
    """(config.json, model.weights.h5) of a ``.keras`` archive, within the bounds above."""
    try:
        with open_regular(path) as fh, zipfile.ZipFile(fh) as z:
            infos = {i.filename: i for i in z.infolist()}
            for need in ("config.json", "model.weights.h5"):
                if need not in infos:
                    raise ModelFileError(
                        f"{path}: a .keras archive holds {need}; this one has {sorted(infos)[:8]}"
                    )
            out = []
            for name, cap in (("config.json", MAX_CONFIG_BYTES), ("model.weights.h5", None)):
                info = infos[name]
                if cap is None:
                    cap = MAX_WEIGHTS_BYTES
                    if info.compress_type != zipfile.ZIP_STORED:
                        cap = min(cap, max(2**20, MAX_RATIO * info.compress_size))
                if info.file_size > cap:
                    raise ModelFileError(
                        f"{path}: {name} is {info.file_size} bytes unpacked (at most {cap} "
                        f"allowed for {info.compress_size} packed)"
                    )
                out.append(_read_member(z, info, cap, path))
    except (zipfile.BadZipFile, zipfile.LargeZipFile, OSError, EOFError, ValueError) as e:
        raise ModelFileError(f"{path}: not a .keras archive ({e})") from None
    except NotImplementedError as e:  # an unknown compression method
        raise ModelFileError(f"{path}: not a .keras archive Keras wrote ({e})") from None
    return out[0], out[1]


# ------------------------------------------------------------------ layer configs
_SIZES = {"units": MAX_UNITS, "input_dim": MAX_VOCAB, "output_dim": MAX_UNITS}
_RATES = ("dropout", "recurrent_dropout", "rate")
_BOOLS = (
    "return_sequences",
    "return_state",
    "go_backwards",
    "stateful",
    "use_bias",
    "unit_forget_bias",
    "mask_zero",
    "reset_after",
    "time_major",
)
_STRINGS = ("name", "activation", "recurrent_activation", "merge_mode")


def _check_config(where, c: dict) -> None:
    for k, hi in _SIZES.items():
        if k in c and (type(c[k]) is not int or not 1 <= c[k] <= hi):
            raise UserError(
                f"Keras layer {where}: {k} = {str(c[k])[:40]} is not an integer in 1..{hi}"
            )
    for k in _RATES:
        v = c.get(k, 0.0)
        if (
            isinstance(v, bool)
            or not isinstance(v, (int, float))
            or not (math.isfinite(v) and 0 <= v < 1)
        ):
            raise UserError(f"Keras layer {where}: {k} = {str(v)[:40]} is not a number in [0, 1)")
    for k in _BOOLS:
        if k in c and not isinstance(c[k], bool):
            raise UserError(f"Keras layer {where}: {k} = {str(c[k])[:40]} is not true or false")
    for k in _STRINGS:
        if k in c and c[k] is not None and (not isinstance(c[k], str) or len(c[k]) > 128):
            raise UserError(f"Keras layer {where}: {k} is not a short string")
    for k in ("batch_shape", "batch_input_shape"):
        s = c.get(k)
        if s is not None and (
            not isinstance(s, (list, tuple))
            or not 1 <= len(s) <= 4
            or not all(d is None or (type(d) is int and 1 <= d <= 2**24) for d in s)
        ):
            raise UserError(f"Keras layer {where}: {k} {str(s)[:60]} is not a list of sizes")
    bc = c.get("build_config")
    if bc is not None:
        if not isinstance(bc, dict):
            raise UserError(f"Keras layer {where}: build_config is not an object")
        _check_config(where, {"batch_shape": bc.get("input_shape")})


def check_entries(entries) -> None:
    """Every value lstmkit reads from a Keras Sequential's layer list, checked."""
    if len(entries) > MAX_LAYERS:
        raise UserError(f"the Keras config has {len(entries)} layers (at most {MAX_LAYERS})")
    for k, e in enumerate(entries):
        t, c = e.get("class_name"), e.get("config", {})
        if not isinstance(t, str) or len(t) > 64:
            raise UserError(f"Keras layer {k}: class_name is not a short string")
        if c is None:
            c = {}
        if not isinstance(c, dict):
            raise UserError(f"Keras layer {k} ({t}): config is not an object")
        where = f"{k} ({t})"
        _check_config(where, c)
        if t == "Bidirectional":
            for key in ("layer", "backward_layer"):
                inner = c.get(key)
                if inner is None and key == "backward_layer":
                    continue
                if (
                    not isinstance(inner, dict)
                    or not isinstance(inner.get("class_name"), str)
                    or not isinstance(inner.get("config"), dict)
                ):
                    raise UserError(
                        f"Keras layer {where}: {key} must be a layer ({{'class_name', 'config'}})"
                    )
                _check_config(f"{where}.{key}", inner["config"])
                if "units" not in inner["config"]:
                    raise UserError(f"Keras layer {where}.{key}: units is missing")
        elif t in ("LSTM", "GRU", "SimpleRNN", "Dense") and "units" not in c:
            raise UserError(f"Keras layer {where}: units is missing")
        elif t == "Embedding" and not {"input_dim", "output_dim"} <= set(c):
            raise UserError(f"Keras layer {where}: input_dim and output_dim are needed")


# ------------------------------------------------------------------ weights datasets
def check_dataset(ds, path, where) -> None:
    """A plain float dataset of ≤ 4 axes, stored in full and uncompressed."""
    if ds.dtype.kind != "f" or ds.ndim > 4 or ds.size > 2**31:
        raise ModelFileError(f"{path}: {where} is {ds.dtype} {ds.shape}; expected a float array")
    stored = ds.id.get_storage_size()
    if ds.compression is not None or ds.chunks is not None or stored < ds.nbytes:
        raise ModelFileError(
            f"{path}: {where} {ds.shape} is stored chunked, compressed or only partly "
            f"({stored} of {ds.nbytes} bytes); Keras writes weights as plain arrays"
        )
