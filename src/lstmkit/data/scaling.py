"""Standardisation that can be written to a model file and read back: x' = (x − μ) / σ."""

from __future__ import annotations

import numpy as np

__all__ = ["StandardScaler"]


class StandardScaler:
    """Per-feature μ, σ from the training part only (σ = 1 where a feature is constant)."""

    def __init__(self, mean=None, std=None):
        self.mean = None if mean is None else np.asarray(mean, np.float64)
        self.std = None if std is None else np.asarray(std, np.float64)

    def fit(self, x) -> StandardScaler:
        x = np.asarray(x, np.float64)
        self.mean = x.mean(axis=0)
        std = x.std(axis=0)
        self.std = np.where(std > 1e-12, std, 1.0)
        return self

    def transform(self, x):
        return (np.asarray(x, np.float64) - self.mean) / self.std

    def inverse_transform(self, x):
        return np.asarray(x, np.float64) * self.std + self.mean

    def to_dict(self) -> dict:
        return {"mean": np.atleast_1d(self.mean).tolist(), "std": np.atleast_1d(self.std).tolist()}

    @classmethod
    def from_dict(cls, d: dict) -> StandardScaler:
        return cls(d["mean"], d["std"])
