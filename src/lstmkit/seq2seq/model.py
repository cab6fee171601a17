"""An encoder–decoder with attention, built from lstmkit's layers (their forward/backward):

    src ids (B, S) → Embedding(mask_zero) → Bidirectional(LSTM(H/2)) × L → y (B, S, H)
    h_0, c_0 of the decoder = [→h_S, ←h_1], [→c_S, ←c_1]     (the encoder's final states)
    tgt ids (B, T) = [BOS, y_1 … y_{T-1}] → Embedding → LSTM(H) → s (B, T, H)
    luong:    K = y·W_k (Dense, no bias);  ctx = Attention()([s, y, K])        (dot score)
    bahdanau: ctx = AdditiveAttention()([s·W_q, y, y·W_k + b_k])               (tanh score)
    ã = tanh([ctx, s]·W_c + b_c)   (B, T, H);   logits = ã·W_o + b_o   (B, T, V)
    L = −(1/N) Σ_{t: y_t ≠ PAD} log softmax(logits_t)[y_t]         N = number of real tokens

The attention sits after the decoder LSTM (Luong et al. 2015's placement, without input
feeding), so in training (teacher forcing: the true previous token is the decoder's input)
the decoder LSTM runs over the whole target sequence in one call of the fast kernel and
attention is two batched matrix products. ``attention="bahdanau"`` uses Bahdanau et al.'s
additive score (Keras's AdditiveAttention) in the same place. Decoding one token at a time
is :mod:`lstmkit.seq2seq.search`.

Every parameter lives in one flat buffer (``flat_params``, gradients in ``flat_grads``),
as in Sequential, so an optimizer step is a few operations on whole arrays.
Ids: 0 = PAD in both vocabularies; in the target 1 = BOS, 2 = EOS.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, fields
from typing import cast

import numpy as np
from numpy.typing import ArrayLike

from .. import optim
from ..layers import LSTM, AdditiveAttention, Attention, Bidirectional, Dense, Dropout, Embedding
from ..layers.base import Layer, as_dtype

__all__ = [
    "ATTENTIONS",
    "Seq2SeqConfig",
    "Encoded",
    "dense2d",
    "dense2d_backward",
    "softmax_cross_entropy",
    "Seq2Seq",
]

PAD, BOS, EOS = 0, 1, 2
ATTENTIONS = ("luong", "bahdanau")


@dataclass
class Seq2SeqConfig:
    src_vocab: int  # source ids 0 … src_vocab − 1 (0 = padding)
    tgt_vocab: int  # target ids 0 … tgt_vocab − 1 (0 = padding, 1 = BOS, 2 = EOS)
    embed_dim: int = 64
    units: int = 256  # H: decoder units; each encoder direction has H / 2
    encoder_layers: int = 1
    attention: str = "luong"
    attention_units: int = 128  # bahdanau only: size of the projected query and key
    dropout: float = 0.0  # on the encoder outputs and on ã, in training
    dtype: str = "float32"
    seed: int = 0

    def __post_init__(self):
        for k in ("src_vocab", "tgt_vocab", "embed_dim", "units", "encoder_layers"):
            v = getattr(self, k)
            if type(v) is not int or not 1 <= v <= 65536:
                raise ValueError(f"Seq2SeqConfig.{k} must be an integer in 1..65536, got {v!r}")
        if self.units % 2:
            raise ValueError(f"units must be even (H/2 per encoder direction), got {self.units}")
        if self.tgt_vocab < 4:
            raise ValueError(
                f"tgt_vocab counts PAD, BOS, EOS and a token: ≥ 4, got {self.tgt_vocab}"
            )
        if self.attention not in ATTENTIONS:
            raise ValueError(f"attention must be one of {ATTENTIONS}, got {self.attention!r}")
        if type(self.attention_units) is not int or not 1 <= self.attention_units <= 65536:
            raise ValueError(f"attention_units must be in 1..65536, got {self.attention_units!r}")
        if not 0.0 <= self.dropout < 1.0:
            raise ValueError(f"dropout must be in [0, 1), got {self.dropout!r}")
        as_dtype(self.dtype)


@dataclass
class Encoded:
    """What the decoder reads from a batch of sources (batch-major)."""

    values: np.ndarray  # y (N, S, H)
    keys: np.ndarray  # (N, S, H) luong, (N, S, A) bahdanau
    mask: np.ndarray  # (N, S) bool, True at real source steps
    h0: np.ndarray  # (N, H)
    c0: np.ndarray  # (N, H)

    def repeat(self, k: int) -> Encoded:
        """Each row k times in a row (row n·k + j is beam j of source n)."""
        return Encoded(*(np.repeat(getattr(self, f.name), k, axis=0) for f in fields(self)))


def dense2d(layer: Dense, x: np.ndarray, training: bool) -> np.ndarray:
    """A Dense layer over (B, T, D) as one (B·T, D) product (NumPy's batched 3-D matmul
    runs B small GEMMs); the layer caches the 2-D view, so backward takes (B·T, U)."""
    B, T, D = x.shape
    return layer.forward(x.reshape(B * T, D), training).reshape(B, T, -1)


def dense2d_backward(layer: Dense, dy: np.ndarray) -> np.ndarray:
    B, T, U = dy.shape
    return layer.backward(dy.reshape(B * T, U)).reshape(B, T, -1)


def softmax_cross_entropy(logits: np.ndarray, target: np.ndarray) -> tuple[float, np.ndarray]:
    """Mean −log p(target) over the non-PAD targets, and dL/dlogits. logits (B, T, V)."""
    mask = target != PAD  # (B, T)
    n = max(int(mask.sum()), 1)
    z = logits - logits.max(-1, keepdims=True)
    logp = z - np.log(np.exp(z).sum(-1, keepdims=True))  # log softmax (B, T, V)
    picked = np.take_along_axis(logp, target[..., None], -1)[..., 0]  # (B, T)
    loss = -float(picked[mask].sum()) / n
    d = np.exp(logp)  # softmax − onehot, on real tokens, / N
    np.put_along_axis(d, target[..., None], np.take_along_axis(d, target[..., None], -1) - 1, -1)
    d *= (mask / n).astype(d.dtype)[..., None]
    return loss, d


class Seq2Seq:
    """Encoder–decoder with attention; see the module docstring for the equations."""

    def __init__(self, config: Seq2SeqConfig):
        self.config = c = config
        H, E, dt = c.units, c.embed_dim, c.dtype
        seeds = iter(np.random.SeedSequence(c.seed).generate_state(32).tolist())
        kw = lambda name: {"name": name, "dtype": dt, "seed": next(seeds)}  # noqa: E731
        self.src_embedding = Embedding(c.src_vocab, E, mask_zero=True, **kw("src_embedding"))
        self.encoder = [
            Bidirectional(
                LSTM(
                    H // 2,
                    return_sequences=True,
                    return_state=(k == c.encoder_layers - 1),
                    **kw(f"encoder_{k}"),
                )
            )
            for k in range(c.encoder_layers)
        ]
        self.tgt_embedding = Embedding(c.tgt_vocab, E, **kw("tgt_embedding"))
        self.decoder = LSTM(H, return_sequences=True, return_state=True, **kw("decoder"))
        if c.attention == "luong":
            self.query_proj = None
            self.key_proj = Dense(H, use_bias=False, **kw("key_proj"))
            self.attention = Attention(**kw("attention"))
        else:
            self.query_proj = Dense(c.attention_units, use_bias=False, **kw("query_proj"))
            self.key_proj = Dense(c.attention_units, **kw("key_proj"))
            self.attention = AdditiveAttention(**kw("attention"))
        self.combine = Dense(H, activation="tanh", **kw("combine"))
        self.output = Dense(c.tgt_vocab, **kw("output"))
        self.enc_dropout = Dropout(c.dropout, **kw("enc_dropout"))
        self.out_dropout = Dropout(c.dropout, **kw("out_dropout"))
        self._build()
        self.optimizer: optim.Optimizer | None = None

    # ------------------------------------------------------------ structure
    @property
    def layers(self) -> dict[str, Layer]:
        """name → layer, for every layer with parameters, in a fixed order."""
        named: list[tuple[str, Layer]] = [("src_embedding", self.src_embedding)]
        named += [(f"encoder_{k}", e) for k, e in enumerate(self.encoder)]
        named += [("tgt_embedding", self.tgt_embedding), ("decoder", self.decoder)]
        if self.query_proj is not None:
            named.append(("query_proj", self.query_proj))
        named += [("key_proj", self.key_proj), ("attention", self.attention)]
        named += [("combine", self.combine), ("output", self.output)]
        return dict(named)

    def _build(self):
        c, H = self.config, self.config.units
        self.src_embedding.build((None,))
        for k, enc in enumerate(self.encoder):
            enc.build((None, c.embed_dim if k == 0 else H))
        self.tgt_embedding.build((None,))
        self.decoder.build((None, c.embed_dim))
        A = H if self.query_proj is None else c.attention_units
        if self.query_proj is not None:
            self.query_proj.build((None, H))
        self.key_proj.build((None, H))
        self.attention.build([(None, A), (None, H), (None, A)])
        self.combine.build((None, 2 * H))
        self.output.build((None, H))
        # one flat buffer for all parameters, one for all gradients (layers hold views)
        layers = list(self.layers.values())
        n = sum(p.size for layer in layers for p in layer.params)
        dt = as_dtype(c.dtype)
        self.flat_params, self.flat_grads = np.empty(n, dt), np.zeros(n, dt)
        o = 0
        for layer in layers:
            ps, gs = [], []
            for p in layer.params:
                ps.append(self.flat_params[o : o + p.size].reshape(p.shape))
                gs.append(self.flat_grads[o : o + p.size].reshape(p.shape))
                o += p.size
            layer.rebind(ps, gs)
        # the LSTMs and Dense layers start with Keras' initialisers, the embeddings N(0, 1)
        # (PyTorch's default; as in the textgen job, it leaves the unigram plateau sooner)
        for emb in (self.src_embedding, self.tgt_embedding):
            emb.params[0][...] = emb.rng.standard_normal(emb.params[0].shape)

    def count_params(self) -> int:
        return int(self.flat_params.size)

    def rng_layers(self) -> list[Layer]:
        """Every layer object holding an rng that training draws from (dropout), fixed order."""
        out = [self.enc_dropout, self.out_dropout, self.attention]
        for e in self.encoder:
            out += [e.forward_layer, e.backward_layer]
        return out + [self.decoder]

    # -------------------------------------------------------------- forward
    def encode(self, src: ArrayLike, training: bool = False) -> Encoded:
        src = self._ids(src, self.config.src_vocab, "source")
        mask = src != PAD  # (B, S)
        x = self.src_embedding.forward(src, training)  # (B, S, E)
        for enc in self.encoder[:-1]:
            x = enc.forward(x, training, mask=mask)  # (B, S, H)
        y, h_f, c_f, h_b, c_b = self.encoder[-1].forward(x, training, mask=mask)
        y = self.enc_dropout.forward(y, training)
        keys = dense2d(self.key_proj, y, training)  # (B, S, H or A)
        h0 = np.concatenate([h_f, h_b], -1)  # (B, H)
        c0 = np.concatenate([c_f, c_b], -1)
        return Encoded(y, keys, mask, h0, c0)

    def decode(
        self,
        enc: Encoded,
        tgt_in: ArrayLike,
        h0: np.ndarray,
        c0: np.ndarray,
        training: bool = False,
        scores: bool = False,
    ) -> tuple[np.ndarray, ...]:
        """Teacher-forced decoder over tgt_in (B, T) from states h0, c0 →
        logits (B, T, V), h_T, c_T (and the attention weights (B, T, S) with scores=True)."""
        tgt_in = self._ids(tgt_in, self.config.tgt_vocab, "target")
        d = self.tgt_embedding.forward(tgt_in, training)  # (B, T, E)
        s, h, c = self.decoder.forward(d, training, initial_state=[h0, c0])  # (B, T, H)
        q = s if self.query_proj is None else dense2d(self.query_proj, s, training)
        q_mask = (tgt_in != PAD) if training else None
        ctx, A = self.attention.forward(
            [q, enc.values, enc.keys],
            training,
            mask=[q_mask, enc.mask],
            return_attention_scores=True,
        )  # (B, T, H), (B, T, S)
        a = dense2d(self.combine, np.concatenate([ctx, s], -1), training)  # ã (B, T, H)
        a = self.out_dropout.forward(a, training)
        logits = dense2d(self.output, a, training)  # (B, T, V)
        return (logits, h, c, A) if scores else (logits, h, c)

    def forward(self, src: ArrayLike, tgt_in: ArrayLike, training: bool = False) -> np.ndarray:
        enc = self.encode(src, training)
        return self.decode(enc, tgt_in, enc.h0, enc.c0, training)[0]

    def attention_weights(self, src: ArrayLike, tgt_in: ArrayLike) -> np.ndarray:
        """A (B, T, S): the weights each step t of a given target sequence put on the source."""
        enc = self.encode(src)
        return self.decode(enc, tgt_in, enc.h0, enc.c0, scores=True)[3]

    # ------------------------------------------------------------- backward
    def backward(self, dlogits: np.ndarray) -> None:
        """After forward(training=True): fills flat_grads with ∂L/∂θ."""
        H = self.config.units
        da = self.out_dropout.backward(dense2d_backward(self.output, dlogits))
        dcat = dense2d_backward(self.combine, da)  # (B, T, 2H)
        dctx, ds = dcat[..., :H], dcat[..., H:]
        dq, dv, dk = self.attention.backward(dctx)
        ds = ds + (dq if self.query_proj is None else dense2d_backward(self.query_proj, dq))
        dy = dv + dense2d_backward(self.key_proj, dk)  # dL/dy (B, S, H)
        dd = self.decoder.backward(ds)  # (B, T, E)
        self.tgt_embedding.backward(dd)
        # set by decoder.backward (the layer declares the attribute as None before)
        dh0, dc0 = cast("tuple[np.ndarray, np.ndarray]", self.decoder.initial_state_grads)
        h = H // 2  # the decoder's initial state is [→h, ←h], [→c, ←c]
        dy = self.enc_dropout.backward(dy)
        dx = self.encoder[-1].backward((dy, dh0[:, :h], dc0[:, :h], dh0[:, h:], dc0[:, h:]))
        for enc in reversed(self.encoder[:-1]):
            dx = enc.backward(dx)
        self.src_embedding.backward(dx)

    # -------------------------------------------------------------- training
    def compile(self, optimizer: str | optim.Optimizer) -> None:
        self.optimizer = optim.get(optimizer)
        self.optimizer.build(self.flat_params)

    def compute_gradients(self, src: ArrayLike, tgt_in: ArrayLike, tgt_out: ArrayLike) -> float:
        """Forward (training), loss, backward: flat_grads = ∂L/∂θ; returns L."""
        logits = self.forward(src, tgt_in, training=True)
        loss, dlogits = softmax_cross_entropy(logits, np.asarray(tgt_out))
        self.backward(dlogits)
        return loss

    def train_on_batch(self, src: ArrayLike, tgt_in: ArrayLike, tgt_out: ArrayLike) -> float:
        """One optimizer step; a NaN/inf loss or gradient is not applied (returns nan)."""
        if self.optimizer is None:
            raise RuntimeError("compile the model first: model.compile(Adam(...))")
        loss = self.compute_gradients(src, tgt_in, tgt_out)
        if not (np.isfinite(loss) and np.all(np.isfinite(self.flat_grads))):
            return float("nan")
        self.optimizer.step(self.flat_params, self.flat_grads)
        return loss

    def loss(self, src: ArrayLike, tgt_in: ArrayLike, tgt_out: ArrayLike) -> float:
        return softmax_cross_entropy(self.forward(src, tgt_in), np.asarray(tgt_out))[0]

    # --------------------------------------------------------------- checks
    @staticmethod
    def _ids(ids: ArrayLike, V: int, what: str) -> np.ndarray:
        ids = np.asarray(ids)
        if ids.ndim != 2 or ids.dtype.kind not in "iu":
            raise ValueError(
                f"Seq2Seq expected {what} ids of shape (batch, time), integers, got "
                f"{tuple(ids.shape)} {ids.dtype}"
            )
        if ids.size and (ids.min() < 0 or ids.max() >= V):
            raise ValueError(
                f"Seq2Seq expected {what} ids in [0, {V}), got [{ids.min()}, {ids.max()}]"
            )
        return ids

    def get_config(self) -> dict:
        return asdict(self.config)
