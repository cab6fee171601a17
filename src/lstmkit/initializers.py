"""Keras' ``keras.initializers``: ``initializers.GlorotUniform()``, ``"he_normal"``, …
(the classes live in :mod:`lstmkit.layers.initializers`)."""

from .layers.initializers import (  # noqa: F401
    INITIALIZERS,
    Constant,
    GlorotNormal,
    GlorotUniform,
    HeNormal,
    HeUniform,
    Identity,
    Initializer,
    LecunNormal,
    LecunUniform,
    Ones,
    Orthogonal,
    RandomNormal,
    RandomUniform,
    TruncatedNormal,
    VarianceScaling,
    Zeros,
    get,
)

__all__ = sorted(INITIALIZERS) + ["Initializer", "get"]
