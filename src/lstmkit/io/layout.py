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

__all__ = ["file_tensors", "model_file_tensors", "param_shapes", "total_elements"]

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
    if len(in_shape) != 2:
        raise ModelFileError(
            f"{path}: {where} ({t}) expects inputs (time, features), "
            f"gets {tuple(in_shape)} (batch excluded)"
        )
    G, H, D = GATES[t], int(cfg.get("units", 1)), _features(path, in_shape, where)
    P = None
    if t == "LSTMP":
        P = cfg.get("proj_size")
        P = H // 2 if P is None else int(P)
        if not 0 < P < H:
            raise ModelFileError(f"{path}: {where} LSTMP proj_size {P} is not in 1..units-1")
    return G, H, D, P, (P or H)


def _rnn_out(cfg, in_shape, width, path, where):
    if cfg.get("return_state"):
        raise ModelFileError(
            f"{path}: {where} has return_state=True; a Sequential needs one output per layer"
        )
    return (in_shape[0], width) if cfg.get("return_sequences") else (width,)


def _rnn_params(t, G, H, D, P) -> list[tuple[str, tuple]]:
    R = P or H  # rows of the recurrent kernel: what h_{t-1} is wide
    out = [
        ("kernel", (D, G * H)),
        ("recurrent_kernel", (R, G * H)),
        ("bias", (2, 3 * H) if t == "GRU" else (G * H,)),
    ]
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


def _rnn_files(t, G, H, D, P, suffix) -> dict[str, tuple]:
    R = P or H
    out = {
        f"weight_ih{suffix}": (G * H, D),
        f"weight_hh{suffix}": (G * H, R),
        f"bias_ih{suffix}": (G * H,),
        f"bias_hh{suffix}": (G * H,),
    }
    for name, shape in _rnn_params(t, G, H, D, P)[3:]:
        if t == "LSTMP":
            out[f"weight_hr{suffix}"] = (P, H)  # PyTorch: projectionᵀ
        else:
            out[f"{name}{suffix}"] = shape
    return out


def _layout(path, t, cfg, in_shape, where, files: bool):
    """(tensors, output shape) of one layer: a list of (param name, shape) or, with
    ``files``, a {file tensor name: shape} dict."""
    in_shape = tuple(in_shape)
    if t in PLAIN:
        return ({} if files else []), in_shape
    if t == "Dense":
        if not in_shape:
            raise ModelFileError(f"{path}: {where} (Dense) needs a feature axis")
        U, D = int(cfg.get("units", 1)), _features(path, in_shape, where)
        ps = [("kernel", (D, U))] + ([("bias", (U,))] if cfg.get("use_bias", True) else [])
        return (dict(ps) if files else ps), in_shape[:-1] + (U,)
    if t in POOLING or t in ("Conv1D", "AttentionPooling1D"):
        if len(in_shape) != 2:
            raise ModelFileError(f"{path}: {where} ({t}) expects (time, channels), gets {in_shape}")
        C = _features(path, in_shape, where)
        if t in POOLING:
            return ({} if files else []), ((1, C) if cfg.get("keepdims") else (C,))
        if t == "AttentionPooling1D":  # u = tanh(x·W + b), α = softmax(u·v)
            A = int(cfg.get("units", 32))
            ps = [("kernel", (C, A)), ("bias", (A,)), ("context", (A,))]
            return (dict(ps) if files else ps), (C,)
        k, F = int(cfg.get("kernel_size", 1)), int(cfg.get("filters", 1))
        conv: list[tuple[str, tuple[int, ...]]] = [("kernel", (k, C, F))]
        conv += [("bias", (F,))] if cfg.get("use_bias", True) else []
        return (dict(conv) if files else conv), (_conv_steps(cfg, in_shape[0]), F)
    if t == "Embedding":
        if len(in_shape) != 1:
            raise ModelFileError(
                f"{path}: {where} (Embedding) expects ids (time,), gets {in_shape}"
            )
        ps = [("embeddings", (int(cfg.get("input_dim", 1)), int(cfg.get("output_dim", 1))))]
        return (dict(ps) if files else ps), in_shape + (int(cfg.get("output_dim", 1)),)
    if t == "Bidirectional":
        inner = cfg["layer"]
        it, icfg = inner["type"], inner.get("config", {})
        if it not in GATES:
            raise ModelFileError(f"{path}: {where} wraps {it!r}, which has no tensor layout")
        G, H, D, P, W = _recurrent(path, it, icfg, in_shape, where)
        out = _rnn_out(icfg, in_shape, W, path, where)
        if cfg.get("merge_mode", "concat") == "concat":
            out = out[:-1] + (2 * out[-1],)
        if files:
            return {
                **_rnn_files(it, G, H, D, P, "_l0"),
                **_rnn_files(it, G, H, D, P, "_l0_reverse"),
            }, out
        half = _rnn_params(it, G, H, D, P)
        return [(f"forward_{n}", s) for n, s in half] + [(f"backward_{n}", s) for n, s in half], out
    if t in GATES:
        G, H, D, P, W = _recurrent(path, t, cfg, in_shape, where)
        out = _rnn_out(cfg, in_shape, W, path, where)
        return (_rnn_files(t, G, H, D, P, "_l0") if files else _rnn_params(t, G, H, D, P)), out
    raise ModelFileError(f"{path}: {where} has layer type {t!r}, which has no tensor layout")


def param_shapes(path, t: str, cfg: dict, in_shape, where: str = "layer"):
    """→ ([(param name, Keras shape)] in ``layer.params`` order, output shape)."""
    return _layout(path, t, cfg, in_shape, where, files=False)


def file_tensors(path, t: str, cfg: dict, in_shape, where: str = "layer"):
    """→ ({tensor name in an lstmkit file: shape}, output shape)."""
    return _layout(path, t, cfg, in_shape, where, files=True)


def layer_dtype(t: str, cfg: dict) -> np.dtype:
    return _dtype(cfg["layer"].get("config", {}) if t == "Bidirectional" else cfg)


def model_file_tensors(path, entries, input_shape) -> dict[str, tuple[np.dtype, tuple]]:
    """The tensors a file of the checked layer ``entries`` [(class, config)] holds:
    ``{"{layer index}.{name}": (dtype, shape)}``, from the configs alone (nothing built).
    Raises ModelFileError when the layers do not fit together."""
    shape = tuple(input_shape)
    out: dict = {}
    for i, (cls, cfg) in enumerate(entries):
        t = cls.type_name
        tensors, shape = file_tensors(path, t, cfg, shape, f"config[{i}]")
        dt = layer_dtype(t, cfg)
        out.update({f"{i}.{n}": (dt, tuple(s)) for n, s in tensors.items()})
        if any(d is not None and not 1 <= d <= 2**31 for d in shape):
            raise ModelFileError(f"{path}: config[{i}] gives outputs of shape {shape}")
    return out


def total_elements(tensors: dict) -> int:
    """How many values a {name: (dtype, shape, …)} map holds."""
    return sum(math.prod(v[1]) for v in tensors.values())
