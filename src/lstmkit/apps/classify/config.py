"""The classify job's settings (the CLI's options, with their defaults)."""

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
    epochs: int = 40
    batch_size: int = 32
    units: int | None = None  # None: 64 for series, 32 for text
    embed_dim: int = 32
    maxlen: int | None = None
    learning_rate: float | None = None  # None: 3e-3 for series, 1e-3 for text
    patience: int | None = None  # None: 8 for series, 4 for text
    seed: int = 0
    verbose: int = 1
