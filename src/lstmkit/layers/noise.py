"""GaussianNoise(stddev), as in Keras: during training add N(0, stddev²) noise to every
input value (a regulariser: the model never sees exactly the same sequence twice);
in inference the input passes unchanged. ∂y/∂x = 1."""

from __future__ import annotations

from typing import Any

import numpy as np
from numpy.typing import ArrayLike

from .base import Layer

__all__ = ["GaussianNoise"]


class GaussianNoise(Layer):
    type_name = "GaussianNoise"

    def __init__(self, stddev: float, **kw: Any) -> None:
        super().__init__(**kw)
        if not stddev >= 0:
            raise ValueError(f"GaussianNoise stddev must be ≥ 0, got {stddev!r}")
        self.stddev = float(stddev)

    def forward(
        self, x: ArrayLike, training: bool = False, mask: ArrayLike | None = None
    ) -> np.ndarray:
        x = np.asarray(x, self.dtype)
        self._ensure_built(x)
        if not training or self.stddev == 0.0:
            return x
        return x + self.rng.normal(0.0, self.stddev, x.shape).astype(self.dtype)

    def backward(self, dy: ArrayLike) -> np.ndarray:
        return np.asarray(dy, self.dtype)

    def get_config(self) -> dict:
        return {**super().get_config(), "stddev": self.stddev}
