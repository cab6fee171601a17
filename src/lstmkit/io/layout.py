"""The tensors a checked layer config implies, worked out from the config alone.

Before a single layer of an untrusted file is built, the loader compares the tensors the
config asks for with the tensors the file actually holds (names, shapes, dtypes). A small
file that declares ``PeepholeLSTM(units=4096)`` therefore cannot make lstmkit allocate
gigabytes or run a QR decomposition: its tensors would have to be in the file first.

Two layouts per layer type, both from the config and the input shape (batch excluded):

* :func:`param_shapes` — ``layer.params`` in Keras shapes, as ``build`` makes them
  (kernel (D, G·H), recurrent_kernel (H, G·H), bias (G·H,), GRU bias (2, 3H), …);
  what the Keras importer compares a ``.weights.h5`` with;
* :func:`file_tensors` — ``layer.named_tensors()`` as lstmkit writes them (PyTorch
  names and shapes: ``weight_ih_l0`` (G·H, D), ``bias_hh_l0``, …).

A layer type missing from the tables below cannot be loaded from a file (the loader
refuses it): a new layer type needs its row here. ``tests/hardening/test_load_bounds.py``
checks every row against a built layer of random small configs.
"""

from __future__ import annotations

import math

import numpy as np

from ..errors import ModelFileError
from ..layers import LAYER_TYPES, WRAPPER_TYPES, Bidirectional, TimeDistributed

__all__ = [
    "file_tensors",
    "graph_file_tensors",
    "layer_from_config",
    "model_file_tensors",
    "param_shapes",
    "total_elements",
    "layer_dtype",
]

#: gate blocks along a recurrent kernel's second axis (G in G·H)
GATES = {
    "LSTM": 4,
    "GRU": 3,
    "SimpleRNN": 1,
    "PeepholeLSTM": 4,
    "CIFGLSTM": 3,
    "LayerNormLSTM": 4,
    "LSTMP": 4,
    "ZoneoutLSTM": 4,
    "SLSTM": 4,
}
PLAIN = ("Activation", "Dropout", "Masking", "GaussianNoise")  # no parameters, shape kept
POOLING = ("GlobalMaxPooling1D", "GlobalAveragePooling1D")  # (time, C) → (C,), no parameters
#: no parameters; the output shape is the (unbuilt) layer's compute_output_shape
SHAPING = (
    "InputLayer",
    "RepeatVector",
    "Flatten",
    "Reshape",
    "Permute",
    "MaxPooling1D",
    "AveragePooling1D",
    "Add",
    "Subtract",
    "Multiply",
    "Average",
    "Maximum",
    "Minimum",
    "Concatenate",
)
#: layers whose tensors are worked out below, besides GATES, PLAIN, POOLING and SHAPING
WEIGHTED = (
    "Dense",
    "Embedding",
    "Conv1D",
    "AttentionPooling1D",
    "LayerNormalization",
    "Attention",
    "AdditiveAttention",
    "Bidirectional",
    "TimeDistributed",
)


def layer_from_config(cls, cfg):
    """A layer object (not built: no weights yet) from its checked config; wrappers get
    their inner layers from the allow-list."""
    if cls is Bidirectional:
        cfg = dict(cfg)
        for key in ("layer", "backward_layer"):
            if key in cfg:
                inner = cfg[key]
                cfg[key] = LAYER_TYPES[inner["type"]].from_config(inner["config"])
        return Bidirectional(cfg.pop("layer"), **cfg)
    if cls is TimeDistributed:
        return TimeDistributed.from_config(cfg, LAYER_TYPES)
    return cls.from_config(cfg)


def _strip(shape):
    """A compute_output_shape result without its batch axis (a list for several outputs)."""
    if isinstance(shape, list):
        return [tuple(s[1:]) for s in shape]
    return tuple(shape[1:])


def _out_shape(path, t, cfg, in_shape, where, layer=None):
    """The output shape(s) (batch excluded) of a layer that is not built: its own rule."""
    try:
        if layer is None:
            cls = {**LAYER_TYPES, **WRAPPER_TYPES}[t]
            layer = layer_from_config(cls, cfg)
        full = [(None, *s) for s in in_shape] if isinstance(in_shape, list) else (None, *in_shape)
        return _strip(layer.compute_output_shape(full))
    except (TypeError, ValueError, KeyError, IndexError, ZeroDivisionError) as e:
        raise ModelFileError(
            f"{path}: {where} ({t}) does not fit its inputs {in_shape}: {e}"
        ) from None


def _conv_steps(cfg, T):
    """Conv1D's output length for T input steps (its padding rule: valid, causal, same)."""
    if T is None:
        return None
    k, s, d = (int(cfg.get(n, 1)) for n in ("kernel_size", "strides", "dilation_rate"))
    span, T = (k - 1) * d, int(T)
    pad = cfg.get("padding", "valid")
    total = (
        0
        if pad == "valid"
        else span
        if pad == "causal"
        else max((-(-T // s) - 1) * s + span + 1 - T, 0)
    )
    return max(0, (T + total - span - 1) // s + 1)


def _dtype(cfg) -> np.dtype:
    return np.dtype(cfg.get("dtype") or "float32")


def _features(path, in_shape, where) -> int:
    """The feature size D (the last input axis), which must be known."""
    if not in_shape or type(in_shape[-1]) is not int:
        raise ModelFileError(
            f"{path}: {where} gets inputs {tuple(in_shape)} without a feature size"
        )
    return in_shape[-1]


def _recurrent(path, t, cfg, in_shape, where):
    """→ (G, H, D, P or None, output width)."""
    if isinstance(in_shape, list) or len(in_shape) != 2:
        raise ModelFileError(
            f"{path}: {where} ({t}) expects inputs (time, features), "
            f"gets {in_shape} (batch excluded)"
        )
    G, H, D = GATES[t], int(cfg.get("units", 1)), _features(path, in_shape, where)
    P = None
    if t == "LSTMP":
        P = cfg.get("proj_size")
        P = H // 2 if P is None else int(P)
        if not 0 < P < H:
            raise ModelFileError(f"{path}: {where} LSTMP proj_size {P} is not in 1..units-1")
    return G, H, D, P, (P or H)


def _rnn_out(path, t, cfg, in_shape, width, where):
    """(time, width) or (width,); with return_state a list [output, state, …] (a
    functional graph reads the states; a Sequential refuses them)."""
    y = (in_shape[0], width) if cfg.get("return_sequences") else (width,)
    if cfg.get("return_state"):
        return _out_shape(path, t, cfg, in_shape, where)
    return y


def _rnn_params(t, cfg, G, H, D, P) -> list[tuple[str, tuple]]:
    R = P or H  # rows of the recurrent kernel: what h_{t-1} is wide
    out: list[tuple[str, tuple]] = [("kernel", (D, G * H)), ("recurrent_kernel", (R, G * H))]
    if cfg.get("use_bias", True):  # GRU reset_after: separate input and recurrent biases
        two = t == "GRU" and cfg.get("reset_after", True)
        out.append(("bias", (2, 3 * H) if two else (G * H,)))
    if t == "PeepholeLSTM":
        out.append(("peephole", (3, H)))
    elif t == "LayerNormLSTM":
        out += [
            ("ln_x_gamma", (4 * H,)),
            ("ln_h_gamma", (4 * H,)),
            ("ln_c_gamma", (H,)),
            ("ln_c_beta", (H,)),
        ]
    elif t == "LSTMP":
        out.append(("projection", (H, P)))
    return out


def _rnn_files(t, cfg, G, H, D, P, suffix) -> dict[str, tuple]:
    R = P or H
    out: dict[str, tuple] = {f"weight_ih{suffix}": (G * H, D), f"weight_hh{suffix}": (G * H, R)}
    if cfg.get("use_bias", True):
        out.update({f"bias_ih{suffix}": (G * H,), f"bias_hh{suffix}": (G * H,)})
    for name, shape in _rnn_params(t, cfg, G, H, D, P):
        if name in ("kernel", "recurrent_kernel", "bias"):
            continue
        if t == "LSTMP":
            out[f"weight_hr{suffix}"] = (P, H)  # PyTorch: projectionᵀ
        else:
            out[f"{name}{suffix}"] = shape
    return out


def _rank(path, t, in_shape, where, ranks=(2,)):
    if isinstance(in_shape, list) or len(in_shape) not in ranks:
        raise ModelFileError(
            f"{path}: {where} ({t}) expects inputs of rank {ranks} (batch excluded), "
            f"gets {in_shape}"
        )


def _bidirectional(path, cfg, in_shape, where, files):
    halves = []
    for key in ("layer", "backward_layer"):
        inner = cfg.get(key) if key == "layer" else cfg.get(key) or cfg["layer"]
        it, icfg = inner["type"], inner.get("config", {})
        if it not in GATES:
            raise ModelFileError(f"{path}: {where} wraps {it!r}, which has no tensor layout")
        halves.append((it, icfg, *_recurrent(path, it, icfg, in_shape, where)))
    out = _out_shape(path, "Bidirectional", cfg, in_shape, where)
    if files:
        files_of: dict[str, tuple] = {}
        for suffix, (it, icfg, G, H, D, P, _) in zip(("_l0", "_l0_reverse"), halves, strict=True):
            files_of.update(_rnn_files(it, icfg, G, H, D, P, suffix))
        return files_of, out
    ps = []
    for side, (it, icfg, G, H, D, P, _) in zip(("forward", "backward"), halves, strict=True):
        ps += [(f"{side}_{n}", sh) for n, sh in _rnn_params(it, icfg, G, H, D, P)]
    return ps, out


def _layer_norm(path, cfg, in_shape, where):
    full = (None, *in_shape)
    axis = cfg.get("axis", -1)
    try:
        axes = [int(a) for a in axis.split()] if isinstance(axis, str) else axis
        axes = [axes] if type(axes) is int else list(axes)
    except (TypeError, ValueError):
        raise ModelFileError(f"{path}: {where} LayerNormalization axis {axis!r}") from None
    if not all(type(a) is int and -len(full) <= a < len(full) for a in axes):
        raise ModelFileError(f"{path}: {where} LayerNormalization axis {axis!r} for {full}")
    shape = tuple(full[a % len(full)] for a in sorted(a % len(full) for a in axes))
    if not all(type(d) is int for d in shape):
        raise ModelFileError(f"{path}: {where} LayerNormalization needs known sizes, got {full}")
    ps: list[tuple[str, tuple]] = []
    if cfg.get("scale", True) or cfg.get("rms_scaling", False):
        ps.append(("gamma", shape))
    if cfg.get("center", True) and not cfg.get("rms_scaling", False):
        ps.append(("beta", shape))
    return ps


def _layout(path, t, cfg, in_shape, where, files: bool):
    """(tensors, output shape) of one layer: a list of (param name, shape) or, with
    ``files``, a {file tensor name: shape} dict. ``in_shape`` excludes the batch axis (a
    list of shapes for a layer called on several inputs)."""
    in_shape = [tuple(s) for s in in_shape] if isinstance(in_shape, list) else tuple(in_shape)
    ps: list[tuple[str, tuple]]
    if t in PLAIN:
        return ({} if files else []), in_shape
    if t in SHAPING:
        return ({} if files else []), _out_shape(path, t, cfg, in_shape, where)
    if t == "Dense":
        if isinstance(in_shape, list) or not in_shape:
            raise ModelFileError(f"{path}: {where} (Dense) needs a feature axis")
        U, D = int(cfg.get("units", 1)), _features(path, in_shape, where)
        ps = [("kernel", (D, U))] + ([("bias", (U,))] if cfg.get("use_bias", True) else [])
        return (dict(ps) if files else ps), in_shape[:-1] + (U,)
    if t in POOLING or t in ("Conv1D", "AttentionPooling1D"):
        _rank(path, t, in_shape, where)
        C = _features(path, in_shape, where)
        if t in POOLING:
            return ({} if files else []), ((1, C) if cfg.get("keepdims") else (C,))
        if t == "AttentionPooling1D":  # u = tanh(x·W + b), α = softmax(u·v)
            A = int(cfg.get("units", 32))
            ps = [("kernel", (C, A)), ("bias", (A,)), ("context", (A,))]
            return (dict(ps) if files else ps), (C,)
        k, F = int(cfg.get("kernel_size", 1)), int(cfg.get("filters", 1))
        groups = int(cfg.get("groups", 1) or 1)
        if groups < 1 or C % groups or F % groups:
            raise ModelFileError(f"{path}: {where} Conv1D groups {groups} for {C} → {F} channels")
        ps = [("kernel", (k, C // groups, F))]
        ps += [("bias", (F,))] if cfg.get("use_bias", True) else []
        return (dict(ps) if files else ps), (_conv_steps(cfg, in_shape[0]), F)
    if t == "Embedding":
        _rank(path, t, in_shape, where, (1,))
        ps = [("embeddings", (int(cfg.get("input_dim", 1)), int(cfg.get("output_dim", 1))))]
        return (dict(ps) if files else ps), in_shape + (int(cfg.get("output_dim", 1)),)
    if t == "LayerNormalization":
        if isinstance(in_shape, list) or not in_shape:
            raise ModelFileError(f"{path}: {where} (LayerNormalization) needs a feature axis")
        ps = _layer_norm(path, cfg, in_shape, where)
        return (dict(ps) if files else ps), in_shape
    if t in ("Attention", "AdditiveAttention"):
        if not isinstance(in_shape, list) or not 2 <= len(in_shape) <= 3:
            raise ModelFileError(f"{path}: {where} ({t}) expects [query, value(, key)]")
        out = _out_shape(path, t, cfg, in_shape, where)
        if t == "AdditiveAttention":
            ps = [("scale", (_features(path, in_shape[0], where),))]
            ps = ps if cfg.get("use_scale", True) else []
        else:
            ps = [("scale", ())] if cfg.get("use_scale") else []
            ps += [("concat_score_weight", ())] if cfg.get("score_mode") == "concat" else []
        return (dict(ps) if files else ps), out
    if t == "TimeDistributed":
        inner = cfg["layer"]
        it, icfg = inner["type"], inner.get("config", {})
        if isinstance(in_shape, list) or not in_shape:
            raise ModelFileError(f"{path}: {where} (TimeDistributed) needs a time axis")
        tensors, inner_out = _layout(path, it, icfg, in_shape[1:], f"{where}.layer", files)
        if isinstance(inner_out, list):
            raise ModelFileError(f"{path}: {where} wraps a layer with several outputs")
        return tensors, (in_shape[0], *inner_out)
    if t == "Bidirectional":
        return _bidirectional(path, cfg, in_shape, where, files)
    if t in GATES:
        G, H, D, P, W = _recurrent(path, t, cfg, in_shape, where)
        out = _rnn_out(path, t, cfg, in_shape, W, where)
        tensors = (
            _rnn_files(t, cfg, G, H, D, P, "_l0") if files else _rnn_params(t, cfg, G, H, D, P)
        )
        return tensors, out
    raise ModelFileError(f"{path}: {where} has layer type {t!r}, which has no tensor layout")


def param_shapes(path, t: str, cfg: dict, in_shape, where: str = "layer"):
    """→ ([(param name, Keras shape)] in ``layer.params`` order, output shape)."""
    return _layout(path, t, cfg, in_shape, where, files=False)


def file_tensors(path, t: str, cfg: dict, in_shape, where: str = "layer"):
    """→ ({tensor name in an lstmkit file: shape}, output shape)."""
    return _layout(path, t, cfg, in_shape, where, files=True)


def layer_dtype(t: str, cfg: dict) -> np.dtype:
    wrapped = t in ("Bidirectional", "TimeDistributed")
    return _dtype(cfg["layer"].get("config", {}) if wrapped else cfg)


def _check_out(path, shape, where):
    for s in shape if isinstance(shape, list) else [shape]:
        if any(d is not None and not (type(d) is int and 1 <= d <= 2**31) for d in s):
            raise ModelFileError(f"{path}: {where} gives outputs of shape {s}")


def model_file_tensors(path, entries, input_shape) -> dict[str, tuple[np.dtype, tuple]]:
    """The tensors a file of the checked layer ``entries`` [(class, config)] holds:
    ``{"{layer index}.{name}": (dtype, shape)}``, from the configs alone (nothing built).
    Raises ModelFileError when the layers do not fit together."""
    shape = tuple(input_shape)
    out: dict = {}
    for i, (cls, cfg) in enumerate(entries):
        t = cls.type_name
        tensors, shape = file_tensors(path, t, cfg, shape, f"config[{i}]")
        if isinstance(shape, list):
            raise ModelFileError(
                f"{path}: config[{i}] has several outputs (return_state=True?); "
                f"a Sequential needs one output per layer"
            )
        dt = layer_dtype(t, cfg)
        out.update({f"{i}.{n}": (dt, tuple(s)) for n, s in tensors.items()})
        _check_out(path, shape, f"config[{i}]")
    return out


def _input_shape(path, cfg, where):
    """An InputLayer's shape (batch excluded) from its config alone."""
    try:
        layer = LAYER_TYPES["InputLayer"].from_config(cfg)
        shape = tuple(layer.output.shape[1:])
    except (TypeError, ValueError, KeyError, IndexError) as e:
        raise ModelFileError(f"{path}: {where} is not a valid InputLayer: {e}") from None
    _check_out(path, shape, where)
    return shape


def graph_file_tensors(path, entries, graph) -> dict[str, tuple[np.dtype, tuple]]:
    """The tensors a functional model's file holds, from the configs and the (checked, see
    :mod:`.safegraph`) graph alone: each node's layer is held against its layout at the
    shapes of the nodes it reads; a layer called by several nodes has one set of tensors,
    the same at every call."""
    made: list[list] = []  # output shapes of each node
    out: dict = {}
    seen: dict[int, dict] = {}
    for j, nd in enumerate(graph["nodes"]):
        i = nd["layer"]
        cls, cfg = entries[i]
        t, where = cls.type_name, f"graph.nodes[{j}] (config[{i}])"
        if t == "InputLayer":
            made.append([_input_shape(path, cfg, where)])
            continue
        try:
            ins = [made[a][b] for a, b in nd["inputs"]]
        except IndexError:
            raise ModelFileError(
                f"{path}: {where} reads an output its node does not have"
            ) from None
        pos = ins[: nd["positional"]]
        if not pos:
            raise ModelFileError(f"{path}: {where} has no positional input")
        tensors, shape = file_tensors(path, t, cfg, pos if nd["list"] else pos[0], where)
        if i in seen and seen[i] != tensors:
            raise ModelFileError(f"{path}: {where} calls a shared layer on other shapes")
        seen[i] = tensors
        _check_out(path, shape, where)
        made.append(shape if isinstance(shape, list) else [shape])
        dt = layer_dtype(t, cfg)
        out.update({f"{i}.{n}": (dt, tuple(s)) for n, s in tensors.items()})
    return out


def total_elements(tensors: dict) -> int:
    """How many values a {name: (dtype, shape, …)} map holds."""
    return sum(math.prod(v[1]) for v in tensors.values())
