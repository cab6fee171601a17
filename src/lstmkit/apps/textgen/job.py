"""Character-level language model, the classic char-rnn (Karpathy 2015):

    ids (B, T) → Embedding(V, E) → LSTM(H, stateful) → LSTM(H, stateful) → Dense(V, softmax)

trained to predict the next character at every step, with the loss
L = −(1/BT) Σ log p(c_{t+1} | c_≤t) in nats; bits per character = L / ln 2.

Truncated BPTT with stateful batches: the training text is cut into B
contiguous streams; batch k holds the k-th T-character chunk of every stream,
so row b of batch k+1 continues row b of batch k. The LSTMs are ``stateful``:
the final (h, c) of one batch is the initial state of the next, while
gradients stop at the batch boundary (T steps back). States are reset at the
start of each epoch and before validation / sampling.

The last 10 % of the text is held out; its bits per character are measured
after every epoch the same way (stateful, streams of the held-out text).
"""

from __future__ import annotations

import math
import os
from dataclasses import dataclass

import numpy as np

from ...callbacks import Callback
from ...data.text import CharVocab
from ...errors import UserError
from ...layers import LSTM, Dense, Embedding
from ...model import Sequential
from ...optim import Adam
from ...resources import check_training_memory  # refuse before build/fit allocate
from ..shared.modelfiles import SIDECAR, save_job_model
from ..shared.outfiles import write_json
from ..shared.progress import raise_if_diverged
from ..shared.sidecar import read_json
from .plot import curve_plot
from .sidecar import check_meta


@dataclass
class TextgenConfig:
    seq_len: int = 64
    batch_size: int = 32
    units: int = 128
    embed_dim: int = 32
    epochs: int = 3
    learning_rate: float = 5e-3
    max_chars: int | None = None
    seed: int = 0
    verbose: int = 1


def streams(ids: np.ndarray, B: int, T: int):
    """ids (N,) → x, y (n_chunks·B, T) with row k·B + b = chunk k of stream b
    (y = x shifted by 1)."""
    L = (len(ids) - 1) // B  # characters per stream
    n_chunks = L // T
    if n_chunks < 1:
        return None, None
    x = ids[: B * L].reshape(B, L)[:, : n_chunks * T]  # (B, n_chunks·T)
    y = ids[1 : B * L + 1].reshape(B, L)[:, : n_chunks * T]
    x = x.reshape(B, n_chunks, T).transpose(1, 0, 2).reshape(n_chunks * B, T)
    y = y.reshape(B, n_chunks, T).transpose(1, 0, 2).reshape(n_chunks * B, T)
    return np.ascontiguousarray(x), np.ascontiguousarray(y)


def prepare(text: str, cfg: TextgenConfig, vocab: CharVocab | None = None):
    """→ (vocab, (x_train, y_train), (x_val, y_val), B_val)."""
    if not text.strip():
        raise UserError("the text is empty: expected some characters to learn from")
    if cfg.max_chars:
        text = text[: cfg.max_chars]
    vocab = vocab or CharVocab.build(text)
    ids = vocab.encode(text)
    B, T = cfg.batch_size, cfg.seq_len
    n_val = max(len(ids) // 10, 2 * T + 2)
    need = B * T + 1 + n_val
    if len(ids) < need:
        raise UserError(
            f"the text has {len(ids)} characters; batch {B} × sequence length {T} "
            f"need at least {need} (with 10% held out) — use a smaller "
            f"--batch-size/--seq-len or a longer text"
        )
    x, y = streams(ids[:-n_val], B, T)
    B_val = max(1, min(B, (n_val - 1) // T))
    xv, yv = streams(ids[-n_val:], B_val, T)
    return vocab, (x, y), (xv, yv), B_val


def build_model(V: int, cfg: TextgenConfig):

    model = Sequential(
        [
            Embedding(V, cfg.embed_dim, seed=cfg.seed),
            LSTM(cfg.units, return_sequences=True, stateful=True, seed=cfg.seed + 1),
            LSTM(cfg.units, return_sequences=True, stateful=True, seed=cfg.seed + 2),
            Dense(V, activation="softmax", seed=cfg.seed + 3),
        ]
    )
    model.compile(
        optimizer=Adam(learning_rate=cfg.learning_rate, clipnorm=5.0),
        loss="sparse_categorical_crossentropy",
    )
    # Embedding vectors start N(0, 1) (PyTorch's default) rather than Keras' U(−0.05, 0.05):
    # with tiny input vectors the model sits for hundreds of steps at the unigram
    # plateau (≈ 4.4 bits/char here); with N(0, 1) it leaves it within the first epoch.

    check_training_memory(
        model, cfg.batch_size, cfg.seq_len, hint="use a smaller --batch-size, --seq-len or --units"
    )
    model.build((cfg.seq_len,))
    emb = model.layers[0]
    emb.set_weights([np.random.default_rng(cfg.seed).standard_normal(emb.params[0].shape)])
    return model


def bits_per_char(model, x, y, B: int) -> float:
    """Mean −log₂ p(next char) over (x, y) fed as stateful batches of B rows, from reset states."""
    model.reset_states()
    total, count = 0.0, 0
    for k in range(0, len(x), B):
        p = model.predict(x[k : k + B], batch_size=B)  # (B, T, V)
        pt = np.take_along_axis(p, y[k : k + B][..., None], axis=-1)[..., 0]
        total -= float(np.log(np.maximum(pt, 1e-12)).sum())
        count += pt.size
    model.reset_states()
    return total / count / math.log(2)


def sample(
    model, vocab: CharVocab, length: int, temperature: float, prime: str, rng: np.random.Generator
) -> str:
    """Feed ``prime``, then draw ``length`` characters: p_T ∝ p^{1/T}."""
    if temperature <= 0:
        raise UserError(f"--temperature must be > 0, got {temperature}")
    bad = sorted({c for c in prime if c not in vocab.ids})
    if bad:
        raise UserError(f"--prime has characters the model never saw: {''.join(bad)!r}")
    if not prime:
        raise UserError("--prime must not be empty")
    model.reset_states()
    p = model.predict(vocab.encode(prime)[None, :], batch_size=1)[0, -1]  # (V,)
    out = []
    for _ in range(length):
        logp = np.log(np.maximum(p.astype(np.float64), 1e-30)) / temperature
        q = np.exp(logp - logp.max())
        k = int(rng.choice(len(q), p=q / q.sum()))
        out.append(vocab.chars[k])
        p = model.predict(np.array([[k]]), batch_size=1)[0, -1]
    model.reset_states()
    return "".join(out)


def train_job(
    text: str, cfg: TextgenConfig, out: str, resume: bool = False, source: str = ""
) -> str:

    meta_path = os.path.join(out, SIDECAR)
    ckpt = os.path.join(out, "checkpoint.safetensors")
    vocab = None
    if resume:
        if not (os.path.exists(meta_path) and os.path.exists(ckpt)):
            raise UserError(
                f"--resume: {out} has no {SIDECAR} and checkpoint.safetensors "
                f"from an earlier 'lstmkit textgen train'"
            )
        meta = read_json(meta_path)
        if not isinstance(meta, dict) or meta.get("lstmkit_task") != "textgen":
            task = meta.get("lstmkit_task") if isinstance(meta, dict) else None
            raise UserError(
                f"--resume: {meta_path} is a '{str(task)[:40]}' model; expected 'textgen'"
            )
        meta = check_meta(meta, meta_path)
        for k in ("seq_len", "batch_size", "units", "embed_dim", "max_chars"):
            setattr(cfg, k, meta["config"][k])
        vocab = CharVocab(meta["chars"])
        if set(text[: cfg.max_chars] if cfg.max_chars else text) - set(vocab.chars):
            raise UserError(
                "--resume: this text has characters the saved model's vocabulary "
                "lacks; resume with the same text"
            )
    vocab, (x, y), (xv, yv), B_val = prepare(text, cfg, vocab)
    meta = {
        "task": "textgen",
        "chars": vocab.chars,
        "source": source,
        "config": {
            k: getattr(cfg, k) for k in ("seq_len", "batch_size", "units", "embed_dim", "max_chars")
        },
    }
    write_json(meta_path, {"lstmkit_task": "textgen", "sidecar_version": 1, **meta})
    model = build_model(len(vocab), cfg)
    bpc_log: dict[str, list[float]] = {"train": [], "validation": []}

    class Epochs(Callback):
        def on_epoch_begin(self, epoch, logs=None):
            if not (epoch == self.params.get("initial_epoch") and self.params.get("initial_step")):
                self.model.reset_states()  # a mid-epoch resume keeps the checkpoint's h, c

        def on_epoch_end(self, epoch, logs=None):
            tr = logs["loss"] / math.log(2)
            va = bits_per_char(self.model, xv, yv, B_val)
            logs["bpc"], logs["val_bpc"] = tr, va
            bpc_log["train"].append(tr)
            bpc_log["validation"].append(va)
            print(
                f"epoch {epoch + 1}: train {tr:.3f} bits/char, validation {va:.3f} bits/char",
                flush=True,
            )
            save_job_model(self.model, out, meta)  # a usable model after every epoch

    try:
        hist = model.fit(
            x,
            y,
            epochs=cfg.epochs,
            batch_size=cfg.batch_size,
            shuffle=False,
            callbacks=[Epochs()],
            verbose=cfg.verbose,
            seed=cfg.seed,
            checkpoint=ckpt,
            resume=ckpt if resume else None,
        )
    except KeyboardInterrupt:
        if os.path.exists(ckpt):
            print(
                f"interrupted: the last finished epoch is saved; continue with\n"
                f"  lstmkit textgen train ... --out {out} --resume"
            )
        else:
            print("interrupted before the first epoch finished: nothing to resume")
        raise
    raise_if_diverged(
        hist,
        f"the model of the last finished epoch is in {out}/model.safetensors"
        if os.path.exists(os.path.join(out, "model.safetensors"))
        else "no epoch finished",
    )
    done = len(hist.history.get("loss", []))
    if done == 0 or not bpc_log["validation"]:
        raise UserError(
            f"nothing to do: the checkpoint in {out} already finished "
            f"{cfg.epochs} epochs; pass a larger --epochs to continue"
        )
    h = hist.history
    curve_plot(
        os.path.join(out, "bpc.png"),
        {
            "train (mean over the epoch)": [v / math.log(2) for v in h["loss"]],
            "validation (end of the epoch)": h.get("val_bpc", bpc_log["validation"]),
        },
        ylabel="bits per character",
        title="char-rnn: bits per character",
    )
    rng = np.random.default_rng(cfg.seed)
    prime = "The " if all(c in vocab.ids for c in "The ") else vocab.chars[0]
    text_out = sample(model, vocab, 300, 0.7, prime, rng)
    write_json(
        os.path.join(out, "metrics.json"),
        {
            "train_bpc": h["loss"][-1] / math.log(2),
            "val_bpc": h.get("val_bpc", bpc_log["validation"])[-1],
            "val_bpc_per_epoch": h.get("val_bpc", bpc_log["validation"]),  # resumed: all epochs
            "epochs": len(h["loss"]),
            "vocab_size": len(vocab),
            "train_chars": int(x.size),
        },
    )
    return "\n".join(
        [
            f"{int(x.size)} training characters, vocabulary {len(vocab)}, {len(h['loss'])} epochs",
            "validation bits/char: "
            + ", ".join(f"{v:.3f}" for v in h.get("val_bpc", bpc_log["validation"])),
            "",
            f"sample (temperature 0.7, prime {prime!r}):",
            prime + text_out,
            "",
            f"wrote: model.safetensors, model.json, checkpoint.safetensors, "
            f"metrics.json, bpc.png in {out}/",
            f"more: lstmkit textgen sample {out} --length 500",
        ]
    )
