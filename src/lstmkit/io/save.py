"""Saving and loading models as one safetensors file — no pickle, no code, ever.

File layout (``model.save("m.safetensors")``):

* tensors ``{layer index}.{PyTorch name}``, e.g. ``0.weight_ih_l0`` (G·H, D),
  ``0.bias_hh_l0``, ``2.kernel`` — each layer's ``named_tensors()``;
* metadata: ``format`` = "lstmkit", ``format_version`` = "1",
  ``config`` = JSON list of ``{"type": <allow-listed layer type>, "config": {...}}``
  (Bidirectional nests its layer the same way), ``input_shape`` = JSON list
  (batch excluded) and, for a compiled model, ``training_config`` = JSON of the
  optimizer / loss / metrics.

``load_model`` checks everything (:mod:`.safefile`) before it builds a layer or
reads a tensor; any problem is a :class:`lstmkit.errors.ModelFileError`.
"""

from __future__ import annotations

import json
import os
import tempfile

import numpy as np

from ..errors import ModelFileError, WriteError
from . import safefile
from .safefile import FORMAT, FORMAT_VERSION


def _remove_stale_temps(d, base) -> None:
    """Delete ``.{base}.{pid}.*.tmp`` files left by writers that were killed mid-write
    (their pid is gone); a live writer's temp file is never touched."""
    try:
        names = os.listdir(d)
    except OSError:
        return
    for name in names:
        if not (name.startswith(f".{base}.") and name.endswith(".tmp")):
            continue
        pid = name[len(base) + 2 :].split(".", 1)[0]
        if not pid.isdigit() or int(pid) == os.getpid():
            continue
        try:
            os.kill(int(pid), 0)  # raises if no such process
        except ProcessLookupError:
            try:
                os.unlink(os.path.join(d, name))
            except OSError:
                pass
        except (PermissionError, OverflowError, OSError):
            pass  # someone else's live process, or odd name


def atomic_write(path, data: bytes) -> None:
    """Write to a temporary file in the same directory, fsync, then os.replace: readers see
    the old file or the new one, never half of one, even if we are killed mid-write (the
    temp file a killed writer leaves is removed by the next write to the same path)."""
    path = os.fspath(path)
    d = os.path.dirname(os.path.abspath(path))
    base = os.path.basename(path)
    _remove_stale_temps(d, base)
    tmp = None
    try:
        fd, tmp = tempfile.mkstemp(prefix=f".{base}.{os.getpid()}.", suffix=".tmp", dir=d)
        with os.fdopen(fd, "wb") as f:  # (closed by the with even if fchmod fails)
            umask = os.umask(0)  # mkstemp makes 0600; give the file the usual mode
            os.umask(umask)
            os.fchmod(f.fileno(), 0o666 & ~umask)
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException as e:
        if tmp is not None and os.path.exists(tmp):
            os.unlink(tmp)
        if isinstance(e, OSError):  # disk full, read-only, no permission …
            kept = (
                "the previous file there is unchanged"
                if os.path.exists(path)
                else "nothing was written"
            )
            raise WriteError(
                f"cannot write {path}: {e.strerror or e} ({len(data)} bytes); {kept}", errno=e.errno
            ) from e
        raise
    try:  # make the rename itself durable
        dfd = os.open(d, os.O_RDONLY)
        try:
            os.fsync(dfd)
        finally:
            os.close(dfd)
    except OSError:
        pass


def model_tensors(model) -> dict[str, np.ndarray]:
    return {
        f"{i}.{n}": np.ascontiguousarray(a)
        for i, layer in enumerate(model.layers)
        for n, a in layer.named_tensors().items()
    }


def training_config(model):
    if model.optimizer is None or model.loss is None:
        return None
    return {
        "optimizer": {
            "type": type(model.optimizer).__name__,
            "config": model.optimizer.get_config(),
        },
        "loss": {"type": type(model.loss).__name__, "config": model.loss.get_config()},
        "metrics": [m.name for m in model.metrics],
    }


def model_metadata(model) -> dict[str, str]:
    cfg = model.get_config()
    meta = {
        "format": FORMAT,
        "format_version": str(FORMAT_VERSION),
        "config": json.dumps(cfg["layers"]),
        "input_shape": json.dumps(cfg["input_shape"]),
    }
    tc = training_config(model)
    if tc is not None:
        meta["training_config"] = json.dumps(tc)
    return meta


def encode(tensors, metadata) -> bytes:
    from safetensors.numpy import save

    return save(tensors, metadata=metadata)


def save_model(model, path) -> None:
    if not model.built:
        raise ValueError("cannot save a model that is not built: fit, predict or build it first")
    atomic_write(path, encode(model_tensors(model), model_metadata(model)))


# -------------------------------------------------------------------- loading
def _check_input_shape(path, shape):
    if (
        not isinstance(shape, list)
        or not 1 <= len(shape) <= 3
        or not all(d is None or (type(d) is int and 1 <= d <= 2**24) for d in shape)
    ):
        raise ModelFileError(f"{path}: input_shape {str(shape)[:80]} is not a list of 1–3 sizes")
    return shape


def _compile_from(path, model, tc):
    from .. import losses, optim

    try:
        if not isinstance(tc, dict) or set(tc) != {"optimizer", "loss", "metrics"}:
            raise ValueError("expected keys optimizer, loss, metrics")
        o, lo, ms = tc["optimizer"], tc["loss"], tc["metrics"]
        if o.get("type") not in optim.OPTIMIZERS:
            raise ValueError(
                f"optimizer type {str(o.get('type'))[:60]!r} is not one of "
                f"{sorted(optim.OPTIMIZERS)}"
            )
        if lo.get("type") not in losses.LOSSES:
            raise ValueError(
                f"loss type {str(lo.get('type'))[:60]!r} is not one of {sorted(losses.LOSSES)}"
            )
        for cfg in (o["config"], lo["config"]):
            for k, v in cfg.items():
                if isinstance(v, dict):  # a learning-rate schedule
                    for k2, v2 in v.get("config", {}).items():
                        safefile._plain_value(path, "training_config", k2, v2)
                else:
                    safefile._plain_value(path, "training_config", k, v)
        if not isinstance(ms, list) or len(ms) > 16 or not all(isinstance(m, str) for m in ms):
            raise ValueError("metrics must be a short list of names")
        opt = optim.OPTIMIZERS[o["type"]].from_config(o["config"])
        loss = losses.LOSSES[lo["type"]](**lo["config"])
        model.compile(optimizer=opt, loss=loss, metrics=ms)
    except ModelFileError:
        raise
    except (TypeError, ValueError, AttributeError, KeyError) as e:
        raise ModelFileError(f"{path}: bad training_config: {e}") from None


def read_model(path):
    """Check the file and rebuild the model (weights loaded). Returns (model, tensors, meta).
    A training checkpoint (metadata kind = "checkpoint") may also hold optimizer.* and
    state.* tensors (checked by :func:`lstmkit.io.checkpoint.restore_checkpoint`)."""
    from ..layers import LAYER_TYPES
    from ..model import Sequential

    path = os.fspath(path)
    tensors, meta, _ = safefile.read_header(path)
    safefile.check_format(path, meta)
    kind = meta.get("kind", "model")
    if kind not in ("model", "checkpoint"):
        raise ModelFileError(
            f"{path}: unknown file kind {kind[:40]!r}, expected 'model' or 'checkpoint'"
        )
    layers_cfg = safefile.load_json(path, meta, "config")
    if not isinstance(layers_cfg, list) or not 1 <= len(layers_cfg) <= 256:
        raise ModelFileError(f"{path}: config must be a list of 1..256 layer entries")
    checked = [
        safefile.check_layer_entry(path, e, f"config[{i}]", LAYER_TYPES)
        for i, e in enumerate(layers_cfg)
    ]
    shape = _check_input_shape(path, safefile.load_json(path, meta, "input_shape"))
    held = sum(int(np.prod(s)) for _, s, _, _ in tensors.values())
    want = safefile.min_params(checked, shape[-1], LAYER_TYPES)
    if want > held:
        raise ModelFileError(
            f"{path}: the config asks for at least {want} parameters but the "
            f"file holds only {held} values"
        )
    try:
        layers = [
            cls.from_config(cfg)
            if cls.type_name != "Bidirectional"
            else cls(
                LAYER_TYPES[cfg["layer"]["type"]].from_config(cfg["layer"]["config"]),
                **{k: v for k, v in cfg.items() if k != "layer"},
            )
            for cls, cfg in checked
        ]
        model = Sequential(layers)
        model.build(shape)
    except (TypeError, ValueError) as e:
        raise ModelFileError(f"{path}: the config does not describe a valid model: {e}") from None
    except MemoryError:
        raise ModelFileError(f"{path}: the config asks for more memory than there is") from None
    expected = {
        f"{i}.{n}": (layer.dtype, tuple(a.shape))
        for i, layer in enumerate(model.layers)
        for n, a in layer.named_tensors().items()
    }
    extra_ok = ("optimizer.", "state.") if kind == "checkpoint" else ()
    mine = {n: v for n, v in tensors.items() if not (extra_ok and n.startswith(extra_ok))}
    missing, extra = sorted(set(expected) - set(mine)), sorted(set(mine) - set(expected))
    if missing or extra:
        raise ModelFileError(
            f"{path}: tensors do not match the config: missing {missing[:8]}, "
            f"unexpected {extra[:8]}"
        )
    for n, (dt, shp) in expected.items():
        got_dt, got_shape = mine[n][0], mine[n][1]
        if got_dt != dt or got_shape != shp:
            raise ModelFileError(
                f"{path}: tensor {n!r} expected {safefile.DTYPE_NAMES[dt.name]} "
                f"{shp}, got {safefile.DTYPE_NAMES[got_dt.name]} {got_shape}"
            )
    arrays = read_tensors(path, list(expected))
    for i, layer in enumerate(model.layers):
        pre = f"{i}."
        layer.load_named_tensors({n[len(pre) :]: a for n, a in arrays.items() if n.startswith(pre)})
    tc = safefile.load_json(path, meta, "training_config", required=False)
    if tc is not None:
        _compile_from(path, model, tc)
    return model, tensors, meta


def read_tensors(path, names) -> dict[str, np.ndarray]:
    """Read already-validated tensors with safetensors (never pickle)."""
    from safetensors import safe_open

    try:
        with safe_open(os.fspath(path), framework="np") as f:
            return {n: f.get_tensor(n) for n in names}
    except Exception as e:  # safetensors' own checks, as a last line
        raise ModelFileError(f"{path}: cannot read tensors: {e}") from None


def load_model(path):
    """Rebuild a model saved by ``model.save`` (or a training checkpoint). Refuses, with
    ModelFileError, anything malformed, forged, truncated or off the allow-list."""
    return read_model(path)[0]
