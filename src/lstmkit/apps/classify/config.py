"""The classify job's settings (the CLI's options, with their defaults).

``None`` means "the recipe decides" (see :mod:`.recipe`, where each default is
explained, and docs/classify.md for the measurements behind them)."""

from __future__ import annotations

from dataclasses import dataclass, field

__all__ = ["ClassifyConfig"]


@dataclass
class ClassifyConfig:
    kind: str = "auto"  # auto | series | text
    label: str | None = None
    id: str | None = None
    order: str | None = None
    text: str | None = None
    split: str | None = None
    features: list[str] = field(default_factory=list)
    test_fraction: float = 0.2
    # --- the model
    units: int | None = None  # LSTM units per direction (None: 64 series / 32 text)
    embed_dim: int = 32
    maxlen: int | None = None
    normalize: str = "auto"  # series: auto | sequence | global | both (see .series)
    pooling: str | None = None  # max | mean | attention | last (None: max series / last text)
    conv: bool | None = None  # series: a Conv1D front end before the LSTM (None: on)
    bidirectional: bool | None = None  # None: yes for series, no for text
    dropout: float | None = None  # before the output layer (None: 0.2 series / 0 text)
    noise: float | None = None  # series: σ of GaussianNoise on the input in training (None: 0.2)
    # --- training
    epochs: int | None = None  # None: from the step budget (recipe.plan_epochs)
    min_epochs: int | None = None  # early stopping never stops before this
    patience: int | None = None
    early_stopping: bool = True  # when there is a validation part
    validation: float | None = None  # fraction held out (None: the recipe's rule)
    batch_size: int | None = None  # None: 16 series / 32 text
    learning_rate: float | None = None  # None: 3e-3 series / 1e-3 text, cosine-decayed
    schedule: str | None = None  # cosine | constant (None: cosine series / constant text)
    class_weight: str = "balanced"  # balanced | none
    dtw_window: float = 0.1
    baselines: bool = True
    seed: int = 0
    verbose: int = 1
