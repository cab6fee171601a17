"""What the C export writes: a Sequential read into a list of :class:`CLayer`, or a
:class:`CExportError` naming the layer it cannot write and why.

Covered: ``Embedding`` (first layer; ``mask_zero`` carries the states through id 0),
``LSTM``, ``GRU``, ``SimpleRNN`` (stacked, ``go_backwards``, ``stateful``), ``Bidirectional``
around any of them (every merge mode), ``Dense`` (every activation), ``Activation``,
``Dropout`` and ``GaussianNoise`` (nothing at inference), ``Masking`` (a step whose every
feature is ``mask_value`` is padding: the recurrent states carry through it, pooling skips
it), ``Conv1D`` (valid / same / causal, strides, dilation; a mask passes only with
``keep_mask=True``, as in Python), ``GlobalMaxPooling1D``, ``GlobalAveragePooling1D`` and
``AttentionPooling1D`` (mask-aware, as in Python; a mask reaching Keras' default
``GlobalMaxPooling1D``, which ignores it, is refused: ``use_mask=True`` exports). A model
with a ``Bidirectional``, ``go_backwards``, ``Masking``, ``Conv1D`` or pooling layer needs
the whole sequence before its first output: it gets ``run`` but no ``step``.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from ...errors import UserError
from ...layers import (
    GRU,
    LSTM,
    Activation,
    AttentionPooling1D,
    Bidirectional,
    Conv1D,
    Dense,
    Dropout,
    Embedding,
    GaussianNoise,
    GlobalAveragePooling1D,
    GlobalMaxPooling1D,
    Masking,
    Recurrent,
    SimpleRNN,
)
from ...layers.base import Layer
from ..torch_interop import unwrap

__all__ = [
    "CELL_KINDS",
    "POOL_KINDS",
    "CONV_PADDING",
    "GATES",
    "VARIANT_WHY",
    "CExportError",
    "Cell",
    "CLayer",
    "Plan",
    "plan_model",
]

CELL_KINDS = {LSTM: "lstm", GRU: "gru", SimpleRNN: "rnn"}
POOL_KINDS = {
    GlobalMaxPooling1D: "max",
    GlobalAveragePooling1D: "mean",
    AttentionPooling1D: "attention",
}
CONV_PADDING = {"valid": 0, "same": 1, "causal": 2}
GATES = {"lstm": 4, "gru": 3, "rnn": 1}

#: why each LSTM variant has no C kernel (lstmkit.layers.variants)
VARIANT_WHY = {
    "PeepholeLSTM": "its gates read the cell state (peephole weights w_i, w_f, w_o)",
    "CIFGLSTM": "its coupled input-forget gate (f = 1 − i) has 3 gate blocks, not 4",
    "LayerNormLSTM": "it layer-normalises the gate products and the cell (γ, β per norm)",
    "ZoneoutLSTM": "zoneout is a training-time variant kept out of the C runtime",
    "LSTMP": "its h is projected (proj_size), so h and c differ in width",
    "SLSTM": "its exponential gates keep normaliser and stabiliser states (n, m)",
}


class CExportError(UserError):
    """A model (or an option) the C export cannot write; the message names the layer and why.
    A UserError: the CLI prints it as one line and exits with code 2."""


@dataclass
class Cell:
    """One direction of a recurrent layer, weights as the layer holds them (float64 copies)."""

    kind: str  # lstm | gru | rnn
    D: int
    H: int
    W_x: np.ndarray  # (D, G·H)
    W_h: np.ndarray  # (H, G·H)
    b: np.ndarray  # (G·H,); GRU (2, 3H) = [b_x; b_h]
    reverse: bool  # reads the sequence backwards
    flip: bool = False  # a Bidirectional's backward half: output back in input order


@dataclass
class CLayer:
    index: int
    name: str
    kind: str  # embedding | dense | activation | recurrent | masking | conv | pool
    d_in: int
    d_out: int
    act: str = "linear"
    cells: list[Cell] = field(default_factory=list)  # recurrent: one, or two (Bidirectional)
    return_sequences: bool = True
    merge: str | None = None  # Bidirectional merge mode
    W: np.ndarray | None = None  # Dense kernel (D, N) / Embedding table (V, E)
    b: np.ndarray | None = None  # Dense bias (N,) or None
    mask_zero: bool = False
    mask_value: float = 0.0  # Masking
    conv: tuple[int, int, int, str] = (1, 1, 1, "valid")  # Conv1D (kernel, stride, dilation, pad)
    pool: str = ""  # max | mean | attention
    keep_mask: bool = False  # Conv1D(keep_mask=True): the mask passes on (lstmkit's extension)
    v: np.ndarray | None = None  # AttentionPooling1D context vector (A,); W (C, A), b (A,)

    @property
    def keeps_mask(self) -> bool:
        """A mask passes this layer (Python's compute_mask): not past a Conv1D that changes
        the length, a pooling layer or a recurrent layer without return_sequences."""
        if self.kind == "conv":
            return self.keep_mask  # Keras' Conv1D drops a mask; keep_mask passes it on
        if self.kind == "pool":
            return False
        return self.kind != "recurrent" or self.return_sequences

    def describe(self) -> str:
        if self.kind == "embedding":
            assert self.W is not None  # an Embedding layer always has its table
            return f"Embedding({self.W.shape[0]}, {self.d_out}" + (
                ", mask_zero)" if self.mask_zero else ")"
            )
        if self.kind == "dense":
            return f"Dense({self.d_out}, {self.act})"
        if self.kind == "activation":
            return f"Activation({self.act})"
        if self.kind == "masking":
            return f"Masking({self.mask_value!r})"
        if self.kind == "conv":
            k, st, dil, pad = self.conv
            extra = (f", strides={st}" if st > 1 else "") + (
                f", dilation_rate={dil}" if dil > 1 else ""
            )
            return f"Conv1D({self.d_out}, {k}, {pad}{extra}, {self.act})"
        if self.kind == "pool":
            name = {"max": "GlobalMaxPooling1D", "mean": "GlobalAveragePooling1D"}
            if self.v is not None:
                return f"AttentionPooling1D({self.v.size})"
            return f"{name[self.pool]}()"
        c = self.cells[0]
        kind = {"lstm": "LSTM", "gru": "GRU", "rnn": "SimpleRNN"}[c.kind]
        s = f"{kind}({c.H}" + (", return_sequences" if self.return_sequences else "")
        s += ", go_backwards)" if c.reverse and not self.merge else ")"
        return f"Bidirectional({s}, {self.merge})" if self.merge else s


@dataclass
class Plan:
    layers: list[CLayer]
    input_ids: bool  # the model starts with an Embedding: one int id per step
    input_size: int  # floats per step (1 for ids)
    vocab_size: int  # Embedding input_dim (0 for float input)
    output_size: int
    returns_sequences: bool  # predict gives (batch, time, out), else (batch, out)
    streams: bool  # every layer can run one step at a time (no Bidirectional, go_backwards)
    masked: bool  # Embedding(mask_zero=True) or a Masking layer
    source_dtype: str

    @property
    def recurrent(self) -> list[CLayer]:
        return [c for c in self.layers if c.kind == "recurrent"]


def _f64(a) -> np.ndarray:
    return np.array(a, np.float64)


def _cell(layer, D: int, reverse: bool, flip: bool = False) -> Cell:
    kind = CELL_KINDS[type(layer)]
    W_x, W_h, b = (_f64(p) for p in layer.params[:3])
    return Cell(kind, D, layer.units, W_x, W_h, b, reverse, flip)


def _refuse(layer: Layer, k: int, why: str) -> CExportError:
    return CExportError(f"export_c: layer {k} {layer.name!r} ({type(layer).__name__}): {why}")


def _check_recurrent(layer, k: int, what: Layer) -> None:
    if type(layer) not in CELL_KINDS:
        why = VARIANT_WHY.get(
            type(layer).__name__, "it is not a recurrent cell the C runtime knows"
        )
        raise _refuse(
            what,
            k,
            f"cannot be written as C: {why}; export_c writes LSTM, GRU and SimpleRNN "
            f"(alone or in a Bidirectional)",
        )


def _sequence_layer(layer: Layer, k: int, width: int, params: list) -> CLayer:
    """Masking, Conv1D or a pooling layer → its CLayer."""
    if isinstance(layer, Masking):
        c = CLayer(k, layer.name, "masking", width, width)
        c.mask_value = float(layer.mask_value)
        return c
    if isinstance(layer, Conv1D):
        c = CLayer(k, layer.name, "conv", width, layer.filters, layer.activation, W=params[0])
        c.b = params[1] if layer.use_bias else None
        c.conv = (layer.kernel_size, layer.strides, layer.dilation_rate, layer.padding)
        c.keep_mask = layer.keep_mask
        return c
    if layer.keepdims if hasattr(layer, "keepdims") else False:
        raise _refuse(
            layer,
            k,
            "keepdims=True keeps a time axis of one step; export_c writes the pooled "
            "vector (keepdims=False)",
        )
    c = CLayer(k, layer.name, "pool", width, width)
    c.pool = POOL_KINDS[type(layer)]
    if c.pool == "attention":
        c.W, c.b, c.v = params  # (C, A), (A,), (A,)
    return c


def plan_model(model) -> Plan:
    """Read ``model`` (a built Sequential) into a Plan, or raise CExportError."""
    seq, batch_first = unwrap(model)
    if not batch_first:
        raise CExportError("export_c exports batch-major models; pass the TimeMajorModel's .model")
    if not getattr(seq, "built", False) or seq.input_shape is None:
        raise CExportError("export_c needs a built model: fit, predict or build it first")
    layers = list(seq.layers)
    shape = tuple(seq.input_shape)
    input_ids = isinstance(layers[0], Embedding)
    if input_ids and len(shape) != 1 or not input_ids and len(shape) != 2:
        raise CExportError(
            f"export_c exports sequence models: expected input (time, features) floats or "
            f"(time,) ids into an Embedding, got input shape {shape}"
        )
    width = 1 if input_ids else int(shape[-1])
    out: list[CLayer] = []
    time_axis = True  # still a sequence (no recurrent layer without return_sequences yet)
    streams, masked, vocab = True, False, 0
    live = False  # a mask reaches the next layer
    for k, layer in enumerate(layers):
        params = [_f64(p) for p in layer.params]
        if any(not np.all(np.isfinite(p)) for p in params):
            raise _refuse(layer, k, "has NaN or infinite weights")
        if isinstance(layer, Embedding):
            if k != 0:
                raise _refuse(layer, k, "an Embedding must be the first layer (it reads ids)")
            vocab, masked = layer.input_dim, layer.mask_zero
            c = CLayer(k, layer.name, "embedding", 1, layer.output_dim, W=params[0])
            c.mask_zero = layer.mask_zero
        elif isinstance(layer, Dense):
            b = params[1] if layer.use_bias else None
            c = CLayer(k, layer.name, "dense", width, layer.units, layer.activation, W=params[0])
            c.b = b
        elif isinstance(layer, Activation):
            c = CLayer(k, layer.name, "activation", width, width, layer.activation)
        elif isinstance(layer, (Dropout, GaussianNoise)):
            continue  # the identity at inference
        elif isinstance(layer, (Masking, Conv1D, *POOL_KINDS)):
            if not time_axis:
                raise _refuse(layer, k, "gets no sequence (an earlier layer ended the time axis)")
            if isinstance(layer, GlobalMaxPooling1D) and live and not layer.use_mask:
                raise _refuse(
                    layer,
                    k,
                    "ignores the mask that reaches it (as Keras); export_c pools over the "
                    "real steps only: use GlobalMaxPooling1D(use_mask=True)",
                )
            c = _sequence_layer(layer, k, width, params)
            streams = False
            masked = masked or c.kind == "masking"
            time_axis = c.kind != "pool"
        elif isinstance(layer, (Bidirectional, Recurrent)):
            if not time_axis:
                raise _refuse(layer, k, "gets no sequence (an earlier layer ended the time axis)")
            if isinstance(layer, Bidirectional):
                inner = layer.forward_layer
                _check_recurrent(inner, k, layer)
                _check_recurrent(layer.backward_layer, k, layer)
                gb = inner.go_backwards
                cells = [_cell(inner, width, gb), _cell(layer.backward_layer, width, not gb, True)]
                H = inner.units
                d_out = 2 * H if layer.merge_mode == "concat" else H
                c = CLayer(k, layer.name, "recurrent", width, d_out, cells=cells)
                c.merge = layer.merge_mode
                streams = False
            else:
                inner = layer
                _check_recurrent(inner, k, layer)
                c = CLayer(k, layer.name, "recurrent", width, inner.units)
                c.cells = [_cell(inner, width, inner.go_backwards)]
                streams = streams and not inner.go_backwards
            c.return_sequences = inner.return_sequences
            time_axis = inner.return_sequences
        else:
            raise _refuse(
                layer,
                k,
                "has no C counterpart; export_c writes Embedding, Masking, GaussianNoise, "
                "Conv1D, LSTM, GRU, SimpleRNN, Bidirectional, GlobalMaxPooling1D, "
                "GlobalAveragePooling1D, AttentionPooling1D, Dense, Activation and Dropout",
            )
        width = c.d_out
        out.append(c)
        live = (live or c.kind == "masking" or c.mask_zero) and c.keeps_mask
    if not any(c.kind == "recurrent" for c in out):
        raise CExportError(
            "export_c exports recurrent models: this one has no LSTM, GRU or SimpleRNN layer"
        )
    dtypes = {p.dtype.name for layer in layers for p in layer.params}
    return Plan(
        layers=out,
        input_ids=input_ids,
        input_size=1 if input_ids else int(shape[-1]),
        vocab_size=vocab,
        output_size=width,
        returns_sequences=time_axis,
        streams=streams,
        masked=masked,
        source_dtype="/".join(sorted(dtypes)),
    )
