"""PyTorch ⇄ lstmkit: ``torch.nn.LSTM`` / ``GRU`` / ``RNN`` weights in, ``state_dict`` out.

    model = from_torch(torch.nn.LSTM(3, 16, num_layers=2, batch_first=True))
    model.predict(x)              # == module(x)[0], x (batch, time, 3)

    state_dict, hparams = to_torch(model)
    torch.nn.LSTM(**{k: v for k, v in hparams.items() if k != "type"}).load_state_dict(...)

The mapping (gate order i, f, g, o is PyTorch's and ours, so no reordering for
the LSTM; the GRU's r, z, n ↔ z, r, n is done by :class:`lstmkit.layers.GRU`):

    torch layer k                    →  lstmkit layer k (return_sequences=True)
    weight_ih_l{k}   (G·H, D_k)      →  kernel            W_x = weight_ihᵀ  (D_k, G·H)
    weight_hh_l{k}   (G·H, H or P)   →  recurrent_kernel  W_h = weight_hhᵀ
    bias_ih_l{k} + bias_hh_l{k}      →  bias b  (LSTM, RNN);  GRU keeps both: (2, 3H)
    weight_hr_l{k}   (P, H)          →  LSTMP projection  W_hr = weight_hrᵀ
    …_reverse                        →  the backward half of a Bidirectional

``batch_first``: lstmkit models are batch-major. For a ``batch_first=True`` module
``from_torch`` returns a :class:`~lstmkit.model.Sequential`; for a time-major module
(``batch_first=False``, PyTorch's default) it returns a :class:`TimeMajorModel`, a thin
wrapper whose ``predict(x)`` takes and returns ``(time, batch, …)`` exactly like
the module (its ``.model`` is the batch-major Sequential; ``time_major=False`` asks
for that directly). Every other attribute is the Sequential's.

torch is imported only inside these functions; a ``state_dict`` of NumPy arrays
needs no torch at all.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

import numpy as np
from numpy.typing import ArrayLike

from ..errors import UserError
from ..layers import GRU, LSTM, Bidirectional, Recurrent, SimpleRNN
from ..layers.variants import LSTMP
from ..model import Sequential

__all__ = ["TimeMajorModel", "from_torch", "to_torch", "to_torch_module", "unwrap"]

_KEY = re.compile(r"^(weight_ih|weight_hh|bias_ih|bias_hh|weight_hr)_l(\d+)(_reverse)?$")
_GATES = {"LSTM": 4, "GRU": 3, "RNN": 1}


class TimeMajorModel:
    """A batch-major model seen through time-major eyes, as ``torch.nn.LSTM(batch_first=False)``:
    ``predict(x)`` takes x (time, batch, features) and returns (time, batch, units)
    (or (batch, units) when the last layer drops the time axis). ``.model`` is the
    underlying :class:`~lstmkit.model.Sequential`; every other attribute is its."""

    def __init__(self, model: Sequential) -> None:
        self.model = model

    def predict(self, x: ArrayLike, batch_size: int = 32, verbose: int = 0) -> np.ndarray:
        y = self.model.predict(np.swapaxes(np.asarray(x), 0, 1), batch_size=batch_size)
        return np.swapaxes(y, 0, 1) if y.ndim == 3 else y

    def __call__(self, x, training=False):
        y = self.model(np.swapaxes(np.asarray(x), 0, 1), training=training)
        return np.swapaxes(y, 0, 1) if y.ndim == 3 else y

    def __getattr__(self, name):
        if name == "model":  # not set yet: never recurse
            raise AttributeError(name)
        return getattr(self.model, name)

    def __repr__(self):
        return f"TimeMajorModel({self.model!r})"


def unwrap(model: Sequential | TimeMajorModel) -> tuple[Sequential, bool]:
    """(the batch-major Sequential, batch_first flag) of a model or a TimeMajorModel."""
    if isinstance(model, TimeMajorModel):
        return model.model, False
    return model, True


def _to_numpy(t) -> np.ndarray:
    if hasattr(t, "detach"):  # a torch tensor, without importing torch
        t = t.detach().cpu().numpy()
    return np.asarray(t)


def _module_hparams(module) -> tuple[dict, dict]:
    import torch

    kinds = {torch.nn.LSTM: "LSTM", torch.nn.GRU: "GRU", torch.nn.RNN: "RNN"}
    if type(module) not in kinds:
        raise UserError(
            f"from_torch expected a torch.nn.LSTM, GRU or RNN (or a state_dict with "
            f"its hyper-parameters), got {type(module).__module__}."
            f"{type(module).__name__}"
        )
    hp = dict(
        mode=kinds[type(module)],
        hidden_size=module.hidden_size,
        num_layers=module.num_layers,
        bidirectional=module.bidirectional,
        batch_first=module.batch_first,
        bias=module.bias,
        proj_size=getattr(module, "proj_size", 0),
        nonlinearity=getattr(module, "nonlinearity", "tanh"),
    )
    return hp, module.state_dict()


def from_torch(
    module: Any,
    *,
    mode: str | None = None,
    hidden_size: int | None = None,
    num_layers: int = 1,
    bidirectional: bool = False,
    batch_first: bool = False,
    bias: bool = True,
    proj_size: int = 0,
    nonlinearity: str = "tanh",
    dtype: str | None = None,
    time_major: bool | None = None,
) -> Sequential | TimeMajorModel:
    """An lstmkit model computing what ``module(x)[0]`` computes (in eval mode).

    module: a ``torch.nn.LSTM`` / ``GRU`` / ``RNN``, or a ``state_dict`` (tensors or
    NumPy arrays) — then ``mode`` ("LSTM", "GRU", "RNN") and ``hidden_size`` are
    required and the other hyper-parameters default as in PyTorch.
    dtype: "float32" / "float64" (default: the tensors' own).
    time_major: None follows ``batch_first`` (a time-major module gives a
    :class:`TimeMajorModel`); False always gives the batch-major Sequential.
    Options lstmkit cannot compute exactly raise :class:`UserError`.
    """
    if isinstance(module, Mapping):
        if mode is None or hidden_size is None:
            raise UserError(
                "from_torch(state_dict, ...) needs mode= ('LSTM', 'GRU' or 'RNN') and "
                "hidden_size= (the module's hyper-parameters)"
            )
        hp = dict(
            mode=str(mode).upper(),
            hidden_size=hidden_size,
            num_layers=num_layers,
            bidirectional=bidirectional,
            batch_first=batch_first,
            bias=bias,
            proj_size=proj_size,
            nonlinearity=nonlinearity,
        )
        sd = module
    else:
        hp, sd = _module_hparams(module)
    model = _build(hp, {k: _to_numpy(v) for k, v in sd.items()}, dtype)
    tm = (not hp["batch_first"]) if time_major is None else bool(time_major)
    return TimeMajorModel(model) if tm else model


def _build(hp, sd, dtype):

    mode = hp["mode"]
    if mode in ("RNN_TANH", "RNN_RELU"):
        mode, hp["nonlinearity"] = "RNN", mode[4:].lower()
    if mode not in _GATES:
        raise UserError(f"from_torch expected mode 'LSTM', 'GRU' or 'RNN', got {mode!r}")
    if mode == "RNN" and hp["nonlinearity"] != "tanh":
        raise UserError(
            f"torch.nn.RNN(nonlinearity={hp['nonlinearity']!r}) is not supported: "
            f"lstmkit's SimpleRNN computes h = tanh(x·W_x + h·W_h + b) only"
        )
    H, L, P = int(hp["hidden_size"]), int(hp["num_layers"]), int(hp["proj_size"] or 0)
    if H < 1 or L < 1:
        raise UserError(f"from_torch expected hidden_size ≥ 1 and num_layers ≥ 1, got {H}, {L}")
    if P and mode != "LSTM":
        raise UserError(f"proj_size is an LSTM option, got proj_size={P} with mode {mode!r}")
    if P and not 0 < P < H:
        raise UserError(f"proj_size must be in [1, hidden_size={H}), got {P}")
    ndir = 2 if hp["bidirectional"] else 1
    G = _GATES[mode]

    # ---- check every key and shape before building anything
    if "weight_ih_l0" not in sd:
        raise UserError(f"state_dict has no 'weight_ih_l0' (keys: {sorted(sd)[:8]})")
    D = int(sd["weight_ih_l0"].shape[-1]) if sd["weight_ih_l0"].ndim == 2 else -1
    expected: dict[str, tuple[int, ...]] = {}
    for k in range(L):
        d_in = D if k == 0 else (P or H) * ndir
        for sfx in ("", "_reverse")[:ndir]:
            expected[f"weight_ih_l{k}{sfx}"] = (G * H, d_in)
            expected[f"weight_hh_l{k}{sfx}"] = (G * H, P or H)
            if hp["bias"]:
                expected[f"bias_ih_l{k}{sfx}"] = (G * H,)
                expected[f"bias_hh_l{k}{sfx}"] = (G * H,)
            if P:
                expected[f"weight_hr_l{k}{sfx}"] = (P, H)
    missing, extra = sorted(set(expected) - set(sd)), sorted(set(sd) - set(expected))
    if missing or extra:
        raise UserError(
            f"state_dict does not match {mode}(hidden_size={H}, num_layers={L}, "
            f"bidirectional={bool(hp['bidirectional'])}, bias={bool(hp['bias'])}, "
            f"proj_size={P}): missing {missing[:6]}, unexpected {extra[:6]}"
        )
    for n, shape in expected.items():
        if tuple(sd[n].shape) != shape:
            raise UserError(f"state_dict[{n!r}] expected shape {shape}, got {tuple(sd[n].shape)}")
    if dtype is None:
        kinds = {np.asarray(a).dtype.name for a in sd.values()}
        if len(kinds) != 1 or kinds - {"float32", "float64"}:
            raise UserError(
                f"from_torch expected float32 or float64 tensors, got {sorted(kinds)}; "
                f"pass dtype='float32' or 'float64' to convert"
            )
        dtype = kinds.pop()

    # ---- build: one lstmkit layer per torch layer, all returning sequences
    cls = {"LSTM": LSTMP if P else LSTM, "GRU": GRU, "RNN": SimpleRNN}[mode]
    layers = []
    for k in range(L):
        kw = dict(return_sequences=True, dtype=dtype, name=f"{mode.lower()}_l{k}")
        if P:
            kw["proj_size"] = P
        inner = cls(H, **kw)
        layers.append(Bidirectional(inner, name=f"bidirectional_l{k}") if ndir == 2 else inner)
    model = Sequential(layers, name=f"from_torch_{mode.lower()}")
    model.build((None, D))
    for k, layer in enumerate(model.layers):
        mine = {}
        for n in layer.named_tensors():  # weight_ih_l0, …, weight_ih_l0_reverse, …
            torch_name = re.sub(r"_l0(_reverse)?$", rf"_l{k}\g<1>", n)
            mine[n] = sd[torch_name] if torch_name in sd else np.zeros(G * H)  # bias=False
        layer.load_named_tensors(mine)
    return model


def to_torch(
    model: Sequential | TimeMajorModel, tensors: str = "numpy"
) -> tuple[dict[str, Any], dict[str, Any]]:
    """(state_dict, hparams) of a stack of LSTM / GRU / SimpleRNN / LSTMP layers (or
    Bidirectional ones), the form ``torch.nn.{hparams['type']}(**rest).load_state_dict``
    takes. ``tensors="torch"`` gives torch tensors instead of NumPy arrays.

    The lstmkit model must be what one torch module computes: every layer of one cell
    type and size, each but the last with ``return_sequences=True``, no ``go_backwards``,
    Bidirectional only with ``merge_mode="concat"``. If the last layer returns only its
    final state, the model's output is the module's ``h_n`` (last layer, both directions
    concatenated), not ``output``.
    """

    seq, batch_first = unwrap(model)
    if not getattr(seq, "built", False):
        raise UserError("to_torch needs a built model: fit, predict or build it first")
    kinds = {LSTM: "LSTM", LSTMP: "LSTM", GRU: "GRU", SimpleRNN: "RNN"}
    cells: list[Recurrent] = []
    bidir: list[bool] = []
    for k, layer in enumerate(seq.layers):
        inner = layer.forward_layer if isinstance(layer, Bidirectional) else layer
        if not isinstance(inner, Recurrent) or type(inner) not in kinds:
            raise UserError(
                f"to_torch: layer {k} ({type(layer).__name__} {layer.name!r}) has no "
                f"place in a torch.nn.LSTM / GRU / RNN; expected only LSTM, GRU, "
                f"SimpleRNN or LSTMP layers (or Bidirectional ones)"
            )
        if isinstance(layer, Bidirectional) and layer.merge_mode != "concat":
            raise UserError(
                f"to_torch: layer {k} is Bidirectional(merge_mode="
                f"{layer.merge_mode!r}); torch concatenates the two directions"
            )
        if inner.go_backwards:
            raise UserError(f"to_torch: layer {k} has go_backwards=True; torch has no such option")
        halves = [inner, layer.backward_layer] if isinstance(layer, Bidirectional) else [inner]
        for c in halves:  # Keras' cell arguments torch's modules do not have
            if not c.fast or not c.use_bias or type(c) is not type(inner) or c.units != inner.units:
                raise UserError(
                    f"to_torch: layer {k} ({c.name!r}) is not a default torch cell: torch "
                    f"has tanh and σ only, the reset-after GRU, a bias and the same cell in "
                    f"both directions (activation={c.activation!r}, use_bias={c.use_bias})"
                )
        if k < len(seq.layers) - 1 and not inner.return_sequences:
            raise UserError(
                f"to_torch: layer {k} has return_sequences=False but is not the last; "
                f"a torch module feeds whole sequences from layer to layer"
            )
        cells.append(inner)
        bidir.append(isinstance(layer, Bidirectional))
    c0 = cells[0]
    for k, c in enumerate(cells):
        if (
            type(c) is not type(c0)
            or c.units != c0.units
            or bidir[k] != bidir[0]
            or getattr(c, "proj_size", 0) != getattr(c0, "proj_size", 0)
        ):
            raise UserError(
                f"to_torch: every layer must be the same cell, size and direction; "
                f"layer 0 is {type(c0).__name__}({c0.units}), layer {k} is "
                f"{type(c).__name__}({c.units}){' bidirectional' if bidir[k] else ''}"
            )
    sd: dict[str, Any] = {}  # name → NumPy array (or torch tensor, below)
    for k, layer in enumerate(seq.layers):
        for n, a in layer.named_tensors().items():
            sd[re.sub(r"_l0(_reverse)?$", rf"_l{k}\g<1>", n)] = np.ascontiguousarray(a).copy()
    hp = {
        "type": kinds[type(c0)],
        "input_size": int(c0.kernel.shape[0]),
        "hidden_size": c0.units,
        "num_layers": len(cells),
        "bias": True,
        "batch_first": batch_first,
        "bidirectional": bidir[0],
    }
    if isinstance(c0, LSTMP):
        hp["proj_size"] = c0.proj_size
    if hp["type"] == "RNN":
        hp["nonlinearity"] = "tanh"
    if tensors == "torch":
        import torch

        sd = {k: torch.from_numpy(v) for k, v in sd.items()}
    elif tensors != "numpy":
        raise ValueError(f"tensors must be 'numpy' or 'torch', got {tensors!r}")
    return sd, hp


def to_torch_module(model: Sequential | TimeMajorModel) -> Any:
    """The torch.nn.LSTM / GRU / RNN itself, weights loaded, in eval mode and the model's dtype."""
    import torch

    sd, hp = to_torch(model, tensors="torch")
    kw = {k: v for k, v in hp.items() if k != "type"}
    module = getattr(torch.nn, hp["type"])(**kw).to(next(iter(sd.values())).dtype)
    module.load_state_dict(sd)
    return module.eval()
