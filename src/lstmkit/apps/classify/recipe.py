"""The classify job's model and training recipe — one set of defaults for every data set,
chosen by measurement across the UCR/UEA sets (docs/classify.md has the numbers).

Model (series)::

    [Masking]            when training sequences differ in length (padding is masked)
    GaussianNoise(0.2)   in training only (``noise``; 0 turns it off)
    Conv1D(64, 8, same, relu) → Conv1D(64, 5, same, relu)     (``conv``; on by default)
    Bidirectional(LSTM(units, return_sequences=True))          (``bidirectional``)
    GlobalMaxPooling1D   (``pooling``: max | mean | attention, or last = the final state)
    Dropout(0.2) → Dense(C, softmax)

Masks: Keras' Conv1D drops a mask and its GlobalMaxPooling1D ignores one; here padded
steps must take no part, so the recipe uses lstmkit's two opt-in extensions,
``Conv1D(keep_mask=True)`` and ``GlobalMaxPooling1D(use_mask=True)`` (docs/keras.md).

Model (text): Embedding(V, 32, mask_zero) → LSTM(32) → Dense(C, softmax), Adam 1e-3
(constant), batch 32 — the series recipe's bidirectional LSTM, pooling, dropout and
cosine decay did not help on the Austen sentences (docs/classify.md), so text keeps the
model it had; every switch below applies to text too when given.

Training:

* **class weights** w_c = n / (C · n_c) ("balanced"): the loss of class c counts w_c
  times, so a rare class is not ignored; they are 1 when the classes are balanced.
  (Applied as targets w_c · one-hot(c) with categorical cross-entropy:
  −w_c log p_c, gradient w_c (p − one-hot).)
* **epochs** from a budget of optimizer steps: ⌈STEP_BUDGET / steps per epoch⌉, kept
  within [MIN_AUTO_EPOCHS, MAX_AUTO_EPOCHS]; small sets get many epochs, large ones
  fewer, and the time stays bounded.
* **learning rate**: Adam, 3e-3 (text 1e-3), cosine-decayed to 1 % over the planned
  steps; gradient norm clipped to 1 per variable.
* **validation**: with at least VALIDATE_FROM training sequences (text: always), a *stratified*
  VALIDATION_FRACTION of them (every class in proportion) is held out for early
  stopping on the validation loss (best weights restored, ``patience`` epochs without
  improvement, and not before ``min_epochs``: a third of the epochs for series, whose
  validation loss is noisy early on; none for text, which overfits within a few
  epochs). With fewer sequences a held-out part would be a handful of examples whose
  loss is noise: all of them train, for the planned epochs (the cosine schedule ends
  the training).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from ...callbacks import EarlyStopping
from ...layers import (
    LSTM,
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
)
from ...layers.base import Layer
from ...model import Sequential
from ...optim import Adam, CosineDecay
from .config import ClassifyConfig

__all__ = [
    "POOLING",
    "TrainPlan",
    "build_model",
    "class_weights",
    "plan_training",
    "restore_masks",
    "stratified_split",
    "weighted_targets",
]

POOLING = ("max", "mean", "attention", "last")
STEP_BUDGET = 1500  # optimizer steps a default series training aims at
MIN_AUTO_EPOCHS, MAX_AUTO_EPOCHS = 30, 300
TEXT_EPOCHS = 40
VALIDATE_FROM = 100  # training sequences needed before a part is held out for validation
VALIDATION_FRACTION = 0.2
CONV_FILTERS, CONV_KERNELS = 64, (8, 5)
NOISE = 0.2  # σ of the training-time input noise (inputs are normalised: σ ≈ 1)


def resolve(cfg: ClassifyConfig, kind: str) -> ClassifyConfig:
    """cfg with every "the recipe decides" (None) replaced by the default for ``kind``."""
    text = kind == "text"
    defaults = {
        "units": 32 if text else 64,
        "pooling": "last" if text else "max",
        "bidirectional": not text,
        "dropout": 0.0 if text else 0.2,
        "batch_size": 32 if text else 16,
        "schedule": "constant" if text else "cosine",
        "learning_rate": 1e-3 if text else 3e-3,
        "noise": 0.0 if text else NOISE,
    }
    out = ClassifyConfig(**vars(cfg))
    for k, v in defaults.items():
        if getattr(out, k) is None:
            setattr(out, k, v)
    return out


@dataclass
class TrainPlan:
    epochs: int
    min_epochs: int
    patience: int
    validation: float  # fraction held out (0: none)
    early_stopping: bool
    learning_rate: float
    batch_size: int


def plan_training(n_train: int, kind: str, cfg: ClassifyConfig) -> TrainPlan:
    """The epochs, validation and early-stopping settings for ``n_train`` sequences."""
    cfg = resolve(cfg, kind)
    batch_size, learning_rate = cfg.batch_size, cfg.learning_rate
    assert batch_size is not None and learning_rate is not None  # resolve() set them
    val = cfg.validation
    if val is None:
        val = VALIDATION_FRACTION if n_train >= VALIDATE_FROM or kind == "text" else 0.0
    n_fit = n_train - int(round(val * n_train))
    steps = math.ceil(n_fit / batch_size)
    if cfg.epochs:
        epochs = cfg.epochs
    elif kind == "text":
        epochs = TEXT_EPOCHS
    else:
        epochs = min(MAX_AUTO_EPOCHS, max(MIN_AUTO_EPOCHS, math.ceil(STEP_BUDGET / steps)))
    if cfg.min_epochs is not None:
        floor = cfg.min_epochs
    else:  # series: a third of the epochs; text overfits within a few epochs: no floor
        floor = 1 if kind == "text" else max(1, epochs // 3)
    patience = cfg.patience or (4 if kind == "text" else 20)
    return TrainPlan(
        epochs=epochs,
        min_epochs=min(floor, epochs),
        patience=patience,
        validation=val,
        early_stopping=cfg.early_stopping and val > 0,
        learning_rate=learning_rate,
        batch_size=batch_size,
    )


def stratified_split(y: np.ndarray, fraction: float, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """(fit, validation) positions into y: round(fraction · n_c) of every class c held out
    (at least one sequence of each class stays in the fitting part)."""
    rng = np.random.default_rng(seed)
    fit: list[int] = []
    val: list[int] = []
    for c in np.unique(y):
        idx = rng.permutation(np.flatnonzero(y == c))
        k = min(int(round(fraction * len(idx))), len(idx) - 1)
        val.extend(idx[:k])
        fit.extend(idx[k:])
    return rng.permutation(np.array(fit, np.int64)), np.sort(np.array(val, np.int64))


def class_weights(y: np.ndarray, C: int, how: str = "balanced") -> np.ndarray:
    """(C,) w_c = n / (C · n_c) for "balanced" (classes absent from y get 1), else ones."""
    if how == "none":
        return np.ones(C)
    counts = np.bincount(y, minlength=C).astype(float)
    return np.where(counts > 0, len(y) / (C * np.maximum(counts, 1)), 1.0)


def weighted_targets(y: np.ndarray, w: np.ndarray) -> np.ndarray:
    """(n, C) float32 targets w_{y_n} · one-hot(y_n) for categorical cross-entropy."""
    T = np.zeros((len(y), len(w)), np.float32)
    T[np.arange(len(y)), y] = w[y]
    return T


def _pool(how: str, seed: int) -> Layer:
    if how == "max":
        return GlobalMaxPooling1D(use_mask=True)
    if how == "mean":
        return GlobalAveragePooling1D()
    return AttentionPooling1D(32, seed=seed)


def build_model(
    meta: dict, cfg: ClassifyConfig, plan: TrainPlan | None = None, steps_per_epoch: int = 1
) -> Sequential:
    """The compiled model for ``meta`` (the sidecar) and the settings in ``cfg``; the
    cosine schedule spans ``plan.epochs · steps_per_epoch`` steps (no plan: the plan for
    VALIDATE_FROM sequences)."""
    C, text = len(meta["classes"]), meta["kind"] == "text"
    plan = plan or plan_training(VALIDATE_FROM, meta["kind"], cfg)
    cfg = resolve(cfg, meta["kind"])
    units, pooling, s = cfg.units, cfg.pooling, cfg.seed
    assert pooling is not None  # resolve() set it
    layers: list[Layer] = []
    if text:
        layers.append(Embedding(len(meta["vocab"]) + 2, cfg.embed_dim, mask_zero=True, seed=s))
    else:
        if meta.get("masked"):
            layers.append(Masking())
        if cfg.noise:
            layers.append(GaussianNoise(cfg.noise, seed=s + 5))
        if cfg.conv is not False:
            for k, width in enumerate(CONV_KERNELS):
                layers.append(
                    Conv1D(
                        CONV_FILTERS,
                        width,
                        padding="same",
                        activation="relu",
                        keep_mask=True,
                        seed=s + 10 + k,
                    )
                )
    rnn = LSTM(units, return_sequences=pooling != "last", seed=s + 1)
    layers.append(Bidirectional(rnn) if cfg.bidirectional else rnn)
    if pooling != "last":
        layers.append(_pool(pooling, s + 3))
    if cfg.dropout:
        layers.append(Dropout(cfg.dropout, seed=s + 4))
    layers.append(Dense(C, activation="softmax", seed=s + 7))
    model = Sequential(layers)
    lr: float | CosineDecay = plan.learning_rate
    if cfg.schedule == "cosine":
        lr = CosineDecay(plan.learning_rate, max(1, plan.epochs * steps_per_epoch), alpha=0.01)
    model.compile(
        optimizer=Adam(learning_rate=lr, clipnorm=1.0),
        loss="categorical_crossentropy",
        metrics=["accuracy"],
    )
    return model


def restore_masks(model) -> None:
    """A model file written before ``keep_mask`` / ``use_mask`` existed (Conv1D passed a
    mask on and GlobalMaxPooling1D honoured it then) gets those options back, so it
    predicts as it was trained; the recipe sets both on every model it builds."""
    for layer in model.layers:
        if isinstance(layer, Conv1D) and layer.padding != "valid" and layer.strides == 1:
            layer.keep_mask = True
        elif isinstance(layer, GlobalMaxPooling1D):
            layer.use_mask = True


def early_stopping(plan: TrainPlan) -> EarlyStopping:
    return EarlyStopping(
        monitor="val_loss",
        patience=plan.patience,
        restore_best_weights=True,
        start_from_epoch=plan.min_epochs,
    )
