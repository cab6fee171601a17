"""Standardisation that can be written to a model file and read back: x' = (x − μ) / σ."""

from __future__ import annotations

import numpy as np
from numpy.typing import ArrayLike

__all__ = ["StandardScaler"]


class StandardScaler:
    """Per-feature μ, σ from the training part only (σ = 1 where a feature is constant)."""

    def __init__(self, mean: ArrayLike | None = None, std: ArrayLike | None = None) -> None:
        self.mean = None if mean is None else np.asarray(mean, np.float64)
        self.std = None if std is None else np.asarray(std, np.float64)

    def fit(self, x: ArrayLike) -> StandardScaler:
        x = np.asarray(x, np.float64)
        self.mean = x.mean(axis=0)
        std = x.std(axis=0)
        self.std = np.where(std > 1e-12, std, 1.0)
        return self

    def _stats(self) -> tuple[np.ndarray, np.ndarray]:
        if self.mean is None or self.std is None:
            raise ValueError("StandardScaler: fit it (or give its mean and std) first")
        return self.mean, self.std

    def transform(self, x: ArrayLike) -> np.ndarray:
        mean, std = self._stats()
        return (np.asarray(x, np.float64) - mean) / std

    def inverse_transform(self, x: ArrayLike) -> np.ndarray:
        mean, std = self._stats()
        return np.asarray(x, np.float64) * std + mean

    def to_dict(self) -> dict:
        mean, std = self._stats()
        return {"mean": np.atleast_1d(mean).tolist(), "std": np.atleast_1d(std).tolist()}

    @classmethod
    def from_dict(cls, d: dict) -> StandardScaler:
        return cls(d["mean"], d["std"])
