"""Keras → lstmkit: a Sequential's config plus its weights, from memory or from Keras 3 files.

    model = from_keras_weights(keras_model.get_config(), keras_model.get_weights())
    model = from_keras_h5("model.weights.h5", keras_model.get_config())   # Keras 3 save_weights
    model = load_keras("model.keras")                                     # Keras 3 model.save

Our layers use Keras' weight shapes (kernel (D, G·H), recurrent_kernel (H, G·H),
bias (G·H,), GRU bias (2, 3H) with ``reset_after=True``, gate orders i, f, c, o and
z, r, h), so ``get_weights()`` arrays are copied as they are; a recurrent layer with
``use_bias=False`` gets a zero bias.

Files are read with h5py (an optional extra: ``pip install lstmkit[keras]``) and
``zipfile`` — never pickle, never Keras — within the bounds of :mod:`.keras_checks`
(archive member sizes and compression ratio, every config value lstmkit uses, plain
uncompressed weights datasets). The arrays the config implies (:mod:`.layout`) are held
against the arrays present *before* the model is built, and the model is built without
random initialisation: a small file cannot make lstmkit allocate gigabytes.

A Keras 3 ``.weights.h5`` keeps each layer of a Sequential under
``layers/<snake_case class name>[_<k>]`` (``lstm``, ``lstm_1``, … in model order), its
arrays in ``vars/0``, ``vars/1``… (recurrent layers: under
``cell/vars``; Bidirectional: ``forward_layer/cell/vars`` and ``backward_layer/…``).

Supported: Sequential models of InputLayer, LSTM, GRU (reset_after=True), SimpleRNN
(tanh), Bidirectional, Dense, Embedding, Dropout, Activation, with the activations
lstmkit has. Anything else raises :class:`UserError` naming the layer and option.
One documented difference: inside ``Bidirectional(return_sequences=True)`` Keras sets
``zero_output_for_mask`` and writes 0 at masked steps, where lstmkit carries the last
state; outputs at real steps are the same.
"""

from __future__ import annotations

import io
import json
import os
import re

import numpy as np

from ..errors import ModelFileError, UserError
from ..layers import (
    GRU,
    LSTM,
    Activation,
    Bidirectional,
    Dense,
    Dropout,
    Embedding,
    Recurrent,
    SimpleRNN,
)
from ..layers.base import built_without_init
from ..layers.simple import ACTIVATION_NAMES
from ..model import Sequential
from . import layout
from .keras_checks import check_dataset, check_entries, read_archive

__all__ = ["from_keras_weights", "from_keras_h5", "load_keras"]

_RNN = ("LSTM", "GRU", "SimpleRNN")


def _snake(name: str) -> str:
    """Keras' naming.to_snake_case: 'SimpleRNN' → 'simple_rnn', 'LSTM' → 'lstm'."""
    name = re.sub(r"\W+", "", name)
    name = re.sub("(.)([A-Z][a-z]+)", r"\1_\2", name)
    return re.sub("([a-z])([A-Z])", r"\1_\2", name).lower()


def _layer_entries(model_config):
    """The list of {"class_name", "config"} of a Keras Sequential config (dict, JSON string,
    a ``to_json()`` / config.json wrapper, or the list itself)."""
    cfg = model_config
    if isinstance(cfg, (str, bytes)):
        try:
            cfg = json.loads(cfg)
        except (ValueError, RecursionError) as e:
            raise UserError(f"Keras model config is not valid JSON: {str(e)[:100]}") from None
    if isinstance(cfg, dict) and "class_name" in cfg and "config" in cfg:
        if cfg["class_name"] != "Sequential":
            raise UserError(
                f"only Keras Sequential models can be imported, got a "
                f"{str(cfg['class_name'])[:60]!r} model"
            )
        cfg = cfg["config"]
    if isinstance(cfg, dict):
        cfg = cfg.get("layers")
    if not isinstance(cfg, list) or not all(isinstance(e, dict) and "class_name" in e for e in cfg):
        raise UserError(
            "expected a Keras Sequential config (model.get_config()): a dict with a "
            "'layers' list of {'class_name', 'config'} entries"
        )
    check_entries(cfg)  # every value used below is of the right type and in range
    return cfg


def _act(where, c, key, allowed):
    v = c.get(key, allowed[0])
    if v not in allowed:
        raise UserError(
            f"Keras layer {where}: {key}={v!r} is not supported by lstmkit "
            f"(expected {' or '.join(map(repr, allowed))})"
        )
    return v


def _recurrent(cls_name, c, where, dtype):

    _act(where, c, "activation", ("tanh",))
    if cls_name != "SimpleRNN":
        _act(where, c, "recurrent_activation", ("sigmoid",))
    if cls_name == "GRU" and not c.get("reset_after", True):
        raise UserError(
            f"Keras layer {where}: GRU(reset_after=False) is not supported; lstmkit's "
            f"GRU is the reset-after form (Keras 3's default, PyTorch's)"
        )
    if c.get("time_major"):
        raise UserError(f"Keras layer {where}: time_major=True is not supported")
    kw = dict(
        units=int(c["units"]),
        name=c.get("name"),
        dtype=dtype,
        return_sequences=bool(c.get("return_sequences", False)),
        return_state=bool(c.get("return_state", False)),
        go_backwards=bool(c.get("go_backwards", False)),
        stateful=bool(c.get("stateful", False)),
        dropout=float(c.get("dropout", 0.0)),
        recurrent_dropout=float(c.get("recurrent_dropout", 0.0)),
    )
    if cls_name == "LSTM":
        kw["unit_forget_bias"] = bool(c.get("unit_forget_bias", True))
    layer = {"LSTM": LSTM, "GRU": GRU, "SimpleRNN": SimpleRNN}[cls_name](**kw)
    return layer, bool(c.get("use_bias", True))


def _convert(entries, dtype):
    """→ (layers, use_bias flags per layer (None for non-recurrent), input shape)."""

    layers, biases, in_shape = [], [], None
    for k, e in enumerate(entries):
        t, c = e["class_name"], e.get("config", {}) or {}
        where = f"{k} ({t} {c.get('name', '')!r})"
        if t == "InputLayer":
            shape = c.get("batch_shape", c.get("batch_input_shape"))
            if shape:
                in_shape = tuple(shape[1:])
            continue
        if k == 0 or in_shape is None:
            shape = c.get("batch_input_shape") or (c.get("build_config") or {}).get("input_shape")
            if shape and in_shape is None:
                in_shape = tuple(shape[1:])
        if t in _RNN:
            layer, bias = _recurrent(t, c, where, dtype)
        elif t == "Bidirectional":
            inner = c.get("layer", {})
            it = inner.get("class_name")
            if it not in _RNN:
                raise UserError(
                    f"Keras layer {where}: Bidirectional wraps {it!r}; expected one of {_RNN}"
                )
            back = c.get("backward_layer")
            if back and (
                back.get("class_name") != it
                or back["config"].get("units") != inner["config"].get("units")
            ):
                raise UserError(
                    f"Keras layer {where}: a custom backward_layer different from the "
                    f"forward one is not supported"
                )
            merge = c.get("merge_mode", "concat")
            if merge not in ("concat", "sum", "mul", "ave"):
                raise UserError(
                    f"Keras layer {where}: merge_mode={merge!r} is not supported "
                    f"(expected concat, sum, mul or ave)"
                )
            fwd, bias = _recurrent(it, inner["config"], where, dtype)
            layer = Bidirectional(fwd, merge_mode=merge, name=c.get("name"))
        elif t == "Dense":
            layer = Dense(
                int(c["units"]),
                activation=_act(where, c, "activation", ACTIVATION_NAMES),
                use_bias=bool(c.get("use_bias", True)),
                name=c.get("name"),
                dtype=dtype,
            )
            bias = None
        elif t == "Embedding":
            layer = Embedding(
                int(c["input_dim"]),
                int(c["output_dim"]),
                mask_zero=bool(c.get("mask_zero", False)),
                name=c.get("name"),
                dtype=dtype,
            )
            bias = None
        elif t == "Dropout":
            layer, bias = Dropout(float(c.get("rate", 0.0)), name=c.get("name"), dtype=dtype), None
        elif t == "Activation":
            layer = Activation(
                _act(where, c, "activation", ACTIVATION_NAMES), name=c.get("name"), dtype=dtype
            )
            bias = None
        else:
            raise UserError(
                f"Keras layer {where} is not supported; lstmkit imports InputLayer, "
                f"LSTM, GRU, SimpleRNN, Bidirectional, Dense, Embedding, Dropout, "
                f"Activation"
            )
        layers.append(layer)
        biases.append(bias)
    return layers, biases, in_shape


def _with_bias(layer, arrays, use_bias):
    """Keras arrays → our set_weights list (a zero bias where Keras has none)."""
    if use_bias is not False:
        return list(arrays)
    halves = (
        [layer.forward_layer, layer.backward_layer] if hasattr(layer, "forward_layer") else [layer]
    )
    out, arrays = [], list(arrays)
    for h in halves:
        out += arrays[:2] + [np.zeros_like(h.params[2])]
        arrays = arrays[2:]
    return out


def _prepare(model_config, dtype, input_shape, first_shape):
    """→ (unbuilt layers, use_bias flags, input shape) — nothing is allocated yet."""
    entries = _layer_entries(model_config)
    layers, biases, in_shape = _convert(entries, dtype)
    if not layers:
        raise UserError("the Keras config has no layers")
    if input_shape is not None:
        in_shape = tuple(input_shape)
    if in_shape is None:  # the first kernel says the feature size
        if isinstance(layers[0], Embedding):
            in_shape = (None,)
        elif first_shape is not None and len(first_shape) == 2:
            in_shape = (None, int(first_shape[0]))
        else:
            raise UserError(
                "the Keras config has no input shape; pass input_shape=(time, features)"
            )
    return layers, biases, in_shape


def _expected(layers, biases, in_shape) -> list[list[tuple[str, tuple]]]:
    """Per layer, the (name, shape) of the arrays Keras holds for it (its bias left out
    with ``use_bias=False``), from the configs alone (:func:`.layout.param_shapes`)."""
    out, shape = [], tuple(in_shape)
    for k, (layer, use_bias) in enumerate(zip(layers, biases, strict=True)):
        try:
            ps, shape = layout.param_shapes(
                "the Keras config",
                layer.type_name,
                layer.get_config(),
                shape,
                f"layer {k} ({layer.name!r})",
            )
        except ModelFileError as e:
            raise UserError(str(e)) from None
        if use_bias is False:
            ps = [(n, s) for n, s in ps if not n.endswith("bias")]
        out.append(ps)
    return out


def _check_shapes(layer, want, shapes, where):
    for (n, s), got in zip(want, shapes, strict=True):
        if tuple(got) != tuple(s):
            raise UserError(
                f"Keras weights for layer {where}: {n} expected shape {tuple(s)}, got {tuple(got)}"
            )


def _build(layers, in_shape, model_config):
    model = Sequential(layers, name=str(_name(model_config)))
    try:
        with built_without_init(layers):  # every weight comes from the file next
            model.build(in_shape)
    except ValueError as e:
        raise UserError(
            f"the Keras config does not describe a model lstmkit can build: {e}"
        ) from None
    return model


def _name(model_config):
    try:
        cfg = json.loads(model_config) if isinstance(model_config, (str, bytes)) else model_config
        cfg = cfg.get("config", cfg) if "class_name" in cfg else cfg
        return cfg.get("name", "from_keras")
    except Exception:
        return "from_keras"


def _set(layer, arrays, use_bias):
    layer.set_weights([np.asarray(a) for a in _with_bias(layer, arrays, use_bias)])


def from_keras_weights(model_config, weights, dtype=None, input_shape=None):
    """A Sequential from a Keras Sequential's ``get_config()`` and ``get_weights()``.
    dtype: "float32" / "float64" (default: the arrays' own, float32 if mixed)."""
    weights = [np.asarray(w) for w in weights]
    if dtype is None:
        dtype = "float64" if weights and all(w.dtype == np.float64 for w in weights) else "float32"
    first = weights[0].shape if weights else None
    layers, biases, in_shape = _prepare(model_config, dtype, input_shape, first)
    want = _expected(layers, biases, in_shape)
    if len(weights) != sum(map(len, want)):
        raise UserError(
            f"the Keras config needs {sum(map(len, want))} weight arrays, got {len(weights)}"
        )
    per_layer, rest = [], weights
    for layer, w in zip(layers, want, strict=True):
        _check_shapes(layer, w, [a.shape for a in rest[: len(w)]], layer.name)
        per_layer.append(rest[: len(w)])
        rest = rest[len(w) :]
    model = _build(layers, in_shape, model_config)
    for layer, b, arrays in zip(model.layers, biases, per_layer, strict=True):
        _set(layer, arrays, b)
    return model


# ------------------------------------------------------------------- Keras 3 files
def _read_vars(grp, path, where):
    """The datasets of a ``vars`` group, in order 0, 1, …; plain float datasets only
    (checked, not read)."""
    import h5py

    if not isinstance(grp, h5py.Group):
        raise ModelFileError(f"{path}: {where} is not a group")
    if len(grp) > 64:
        raise ModelFileError(f"{path}: {where} holds {len(grp)} entries")
    out = []
    for k in range(len(grp)):
        ds = grp.get(str(k))
        if not isinstance(ds, h5py.Dataset):
            raise ModelFileError(
                f"{path}: {where} expected datasets 0..{len(grp) - 1}, got {sorted(grp)[:8]}"
            )
        check_dataset(ds, path, f"{where}/{k}")
        out.append(ds)
    return out


def _h5_arrays(f, path, key, layer):
    """Keras' datasets of one layer in the open file, in get_weights() order."""

    root = f.get(f"layers/{key}")
    if root is None:
        top = sorted(f["layers"]) if "layers" in f else []
        raise ModelFileError(
            f"{path}: no group 'layers/{key}' for layer {layer.name!r} "
            f"(groups: {top[:12]}); is this the weights file of this config?"
        )
    if isinstance(layer, Bidirectional):
        return [
            a
            for half in ("forward_layer", "backward_layer")
            for a in _read_vars(
                root.get(f"{half}/cell/vars"), path, f"layers/{key}/{half}/cell/vars"
            )
        ]
    if isinstance(layer, Recurrent):
        return _read_vars(root.get("cell/vars"), path, f"layers/{key}/cell/vars")
    return _read_vars(root.get("vars"), path, f"layers/{key}/vars")


def _from_h5_file(f, path, model_config, dtype, input_shape):
    try:
        entries = [e for e in _layer_entries(model_config) if e["class_name"] != "InputLayer"]
    except UserError as err:
        raise ModelFileError(f"{path}: {err}") from None
    used: dict[str, int] = {}
    keys = []
    for e in entries:  # Keras 3 names the groups by class, in order
        base = _snake(e["class_name"])
        k = used.get(base, 0)
        used[base] = k + 1
        keys.append(base if k == 0 else f"{base}_{k}")
    first = _first_kernel(f, keys[0], entries[0]["class_name"]) if keys else None
    if dtype is None:
        dtype = _file_dtype(f)
    try:
        layers, biases, in_shape = _prepare(model_config, dtype, input_shape, first)
        want = _expected(layers, biases, in_shape)
    except UserError as e:
        raise ModelFileError(f"{path}: {e}") from None
    datasets = []
    for layer, w, key in zip(layers, want, keys, strict=True):
        ds = _h5_arrays(f, path, key, layer)
        if len(ds) != len(w):
            raise ModelFileError(
                f"{path}: layers/{key} holds {len(ds)} arrays, layer {layer.name!r} needs {len(w)}"
            )
        try:
            _check_shapes(layer, w, [d.shape for d in ds], f"{layer.name!r} (layers/{key})")
        except UserError as e:
            raise ModelFileError(f"{path}: {e}") from None
        datasets.append(ds)
    # every array is where the config says, of the shape it says: now build and read
    try:
        model = _build(layers, in_shape, model_config)
    except UserError as e:
        raise ModelFileError(f"{path}: {e}") from None
    for layer, b, ds in zip(model.layers, biases, datasets, strict=True):
        arrays = [d[()] for d in ds]
        if not all(np.isfinite(a).all() for a in arrays):
            raise ModelFileError(f"{path}: layer {layer.name!r} has NaN or infinite weights")
        _set(layer, arrays, b)
    return model


def _first_kernel(f, key, class_name):
    """The shape of the first layer's kernel (its rows are the input size) or None."""
    import h5py

    sub = {"Bidirectional": "forward_layer/cell/vars/0", "Dense": "vars/0"}.get(
        class_name, "cell/vars/0" if class_name in _RNN else None
    )
    ds = f.get(f"layers/{key}/{sub}") if sub else None
    if isinstance(ds, h5py.Dataset) and ds.dtype.kind == "f" and ds.ndim == 2:
        return ds.shape
    return None


def _file_dtype(f):
    """'float64' when every float array of the file is float64, else 'float32'."""
    import h5py

    kinds = set()
    f.visititems(
        lambda n, o: (
            kinds.add(o.dtype.name) if isinstance(o, h5py.Dataset) and o.dtype.kind == "f" else None
        )
    )
    return "float64" if kinds == {"float64"} else "float32"


def _open_h5(source, path):
    try:
        import h5py
    except ImportError:
        raise UserError(
            "reading Keras .h5 files needs h5py: pip install 'lstmkit[keras]'"
        ) from None
    try:
        return h5py.File(source, "r")
    except (OSError, ValueError) as e:
        raise ModelFileError(f"{path}: not an HDF5 file Keras wrote ({e})") from None


def from_keras_h5(path, model_config, dtype=None, input_shape=None):
    """A Sequential from a Keras 3 ``model.save_weights("….weights.h5")`` file and the
    model's config (``model.get_config()`` or ``model.to_json()``)."""
    path = os.fspath(path)
    with _open_h5(path, path) as f:
        return _from_h5_file(f, path, model_config, dtype, input_shape)


def load_keras(path, dtype=None):
    """A Sequential from a Keras 3 ``.keras`` archive (a zip of config.json and
    model.weights.h5; nothing in it is executed or unpickled), within the bounds of
    :mod:`.keras_checks`."""
    path = os.fspath(path)
    config, weights = read_archive(path)
    with _open_h5(io.BytesIO(weights), path) as f:
        return _from_h5_file(f, path, config, dtype, None)
