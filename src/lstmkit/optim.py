"""Optimizers over flat parameter buffers: SGD, Adam, AdamW, RMSprop; clipping; LR schedules.

A built model keeps all its parameters as views into one contiguous buffer per
dtype (``model.flat_params``) and their gradients in another (``model.flat_grads``),
so a step here is a handful of vectorised operations on whole buffers. Buffers
come as ``{key: 1-D array}`` (key = dtype name); a single array also works.

The update rules are PyTorch's (``torch.optim``), which the tests check to
float64 precision; defaults are Keras' (``learning_rate``, ``epsilon=1e-7``,
``rho=0.9``). With g the (clipped) gradient, p the parameters, t = step + 1:

    SGD      b = μ·b + g  (b₁ = g);   d = g + μ·b (nesterov) or b;   p -= lr·d
    Adam     m = β₁m + (1−β₁)g;  v = β₂v + (1−β₂)g²
             p -= lr/(1−β₁ᵗ) · m / (√v / √(1−β₂ᵗ) + ε)
    AdamW    p -= lr·λ·p, then Adam (decoupled weight decay)
    RMSprop  v = ρv + (1−ρ)g²;  p -= lr · g / (√v + ε)
             (centered: √(v − ḡ²) with ḡ = ρḡ + (1−ρ)g; momentum: b = μb + g/(…); p -= lr·b)

Where Keras differs: Keras' RMSprop puts ε inside the root (g / √(v + ε)) and its
Adam uses ε on the un-corrected √v ("epsilon hat"); with momentum and a
constant learning rate Keras' SGD equals the rule above. We follow PyTorch.
``weight_decay`` on SGD/Adam/RMSprop is PyTorch's L2 term g += λ·p.

Clipping (Keras' definitions), applied to g before the update, in this order:
``clipvalue`` (g = clip(g, −c, c)), ``clipnorm`` (each variable:
g·c / max(‖g‖, c)), ``global_clipnorm`` (all variables together, same formula).
The gradient buffers serve as scratch space: clipping (and L2 weight decay,
Nesterov) change them in place.
"""

from __future__ import annotations

import math
from typing import Any, Self

import numpy as np


# ------------------------------------------------------------------ schedules
class LearningRateSchedule:
    """A callable of the optimizer step (0 on the first update) → learning rate."""

    def __call__(self, step: int) -> float:
        raise NotImplementedError

    def get_config(self) -> dict:
        return dict(self.__dict__)

    @classmethod
    def from_config(cls, config: dict) -> Self:
        return cls(**config)


class ExponentialDecay(LearningRateSchedule):
    """lr = lr₀ · rateˢᵗᵉᵖ/ᵈᵉᶜᵃʸ_ˢᵗᵉᵖˢ (the exponent floored when ``staircase``)."""

    def __init__(
        self,
        initial_learning_rate: float,
        decay_steps: int,
        decay_rate: float,
        staircase: bool = False,
    ) -> None:
        if decay_steps <= 0:
            raise ValueError(f"decay_steps must be > 0, got {decay_steps!r}")
        self.initial_learning_rate = float(initial_learning_rate)
        self.decay_steps = int(decay_steps)
        self.decay_rate = float(decay_rate)
        self.staircase = bool(staircase)

    def __call__(self, step: int) -> float:
        e = step / self.decay_steps
        return self.initial_learning_rate * self.decay_rate ** (
            math.floor(e) if self.staircase else e
        )


class CosineDecay(LearningRateSchedule):
    """lr = lr₀ · ((1−α)·½(1 + cos(π·min(step, N)/N)) + α), N = decay_steps."""

    def __init__(self, initial_learning_rate: float, decay_steps: int, alpha: float = 0.0) -> None:
        if decay_steps <= 0:
            raise ValueError(f"decay_steps must be > 0, got {decay_steps!r}")
        self.initial_learning_rate = float(initial_learning_rate)
        self.decay_steps = int(decay_steps)
        self.alpha = float(alpha)

    def __call__(self, step: int) -> float:
        s = min(step, self.decay_steps) / self.decay_steps
        cos = 0.5 * (1 + math.cos(math.pi * s))
        return self.initial_learning_rate * ((1 - self.alpha) * cos + self.alpha)


class StepDecay(LearningRateSchedule):
    """lr = lr₀ · γ^⌊step / step_size⌋ (PyTorch's StepLR, counted in optimizer steps)."""

    def __init__(self, initial_learning_rate: float, step_size: int, gamma: float = 0.1) -> None:
        if step_size <= 0:
            raise ValueError(f"step_size must be > 0, got {step_size!r}")
        self.initial_learning_rate = float(initial_learning_rate)
        self.step_size = int(step_size)
        self.gamma = float(gamma)

    def __call__(self, step: int) -> float:
        return self.initial_learning_rate * self.gamma ** (step // self.step_size)


SCHEDULES = {c.__name__: c for c in (ExponentialDecay, CosineDecay, StepDecay)}


# ----------------------------------------------------------------- optimizers
def _as_buffers(x) -> dict:
    return x if isinstance(x, dict) else {"_": x}


class Optimizer:
    #: names of the per-parameter state buffers (each the size of the flat params)
    slots: tuple[str, ...] = ()

    def __init__(
        self,
        learning_rate: float | LearningRateSchedule = 0.001,
        clipnorm: float | None = None,
        global_clipnorm: float | None = None,
        clipvalue: float | None = None,
        weight_decay: float = 0.0,
    ) -> None:
        if sum(c is not None for c in (clipnorm, global_clipnorm)) > 1:
            raise ValueError("set at most one of clipnorm and global_clipnorm")
        for nm, v in (
            ("clipnorm", clipnorm),
            ("global_clipnorm", global_clipnorm),
            ("clipvalue", clipvalue),
        ):
            if v is not None and not v > 0:
                raise ValueError(f"{nm} must be > 0, got {v!r}")
        if not isinstance(learning_rate, LearningRateSchedule):
            learning_rate = float(learning_rate)
        self.learning_rate = learning_rate
        self.clipnorm, self.global_clipnorm, self.clipvalue = clipnorm, global_clipnorm, clipvalue
        self.weight_decay = float(weight_decay)
        self.iterations = 0  # number of updates done
        self.state: dict[str, dict[str, np.ndarray]] = {}  # slot → {key: buffer}
        self._segments: dict = {}  # key → sizes of the variables in that buffer
        self._built_for: dict[str, tuple[tuple[int, ...], np.dtype]] | None = None

    # ------------------------------------------------------------- helpers
    def current_learning_rate(self) -> float:
        lr = self.learning_rate
        return float(lr(self.iterations)) if callable(lr) else lr

    def build(
        self, params: np.ndarray | dict[str, np.ndarray], segments: dict | None = None
    ) -> None:
        """Allocate state like ``params``; ``segments`` {key: sizes} enables per-variable
        clipnorm."""
        params = _as_buffers(params)
        self.state = {s: {k: np.zeros_like(p) for k, p in params.items()} for s in self.slots}
        self._segments = {k: np.asarray(v, np.int64) for k, v in (segments or {}).items()}
        self._built_for = {k: (p.shape, p.dtype) for k, p in params.items()}

    def clip(self, grads: dict) -> None:
        if self.clipvalue is not None:
            for g in grads.values():
                np.clip(g, -self.clipvalue, self.clipvalue, out=g)
        if self.clipnorm is not None:  # each variable on its own
            c = self.clipnorm
            for k, g in grads.items():
                sizes = self._segments.get(k, np.array([g.size]))
                starts = np.concatenate([[0], np.cumsum(sizes)[:-1]])
                norms = np.sqrt(np.add.reduceat(g * g, starts)) if g.size else np.zeros(0)
                g *= np.repeat(c / np.maximum(norms, c), sizes).astype(g.dtype)
        if self.global_clipnorm is not None:  # all variables together
            c = self.global_clipnorm
            norm = math.sqrt(sum(float(np.dot(g, g)) for g in grads.values()))
            if norm > c:
                for g in grads.values():
                    g *= c / norm

    def step(
        self, params: np.ndarray | dict[str, np.ndarray], grads: np.ndarray | dict[str, np.ndarray]
    ) -> None:
        """One update of ``params`` in place from ``grads`` (dicts key → flat array, or arrays)."""
        params, grads = _as_buffers(params), _as_buffers(grads)
        if self._built_for is None:
            self.build(params)
        self.clip(grads)
        lr = self.current_learning_rate()
        t = self.iterations + 1
        for k in params:
            st = {s: self.state[s][k] for s in self.slots}
            self._update(params[k], grads[k], st, lr, t)
        self.iterations = t

    def _update(self, p, g, st, lr, t):
        raise NotImplementedError

    # ------------------------------------------------------------ (de)serialise
    def get_config(self) -> dict:
        lr = self.learning_rate
        lr_config: float | dict = (
            {"type": type(lr).__name__, "config": lr.get_config()}
            if isinstance(lr, LearningRateSchedule)
            else lr
        )
        return {
            "learning_rate": lr_config,
            "clipnorm": self.clipnorm,
            "global_clipnorm": self.global_clipnorm,
            "clipvalue": self.clipvalue,
            "weight_decay": self.weight_decay,
        }

    @classmethod
    def from_config(cls, config: dict) -> Self:
        config = dict(config)
        lr = config.get("learning_rate")
        if isinstance(lr, dict):
            if lr.get("type") not in SCHEDULES:
                raise ValueError(
                    f"unknown learning-rate schedule {lr.get('type')!r}; "
                    f"expected one of {sorted(SCHEDULES)}"
                )
            config["learning_rate"] = SCHEDULES[lr["type"]].from_config(lr["config"])
        return cls(**config)

    def get_state(self) -> dict:
        """Everything needed to continue: ``{"iterations", "learning_rate", "slots"}``,
        slots as ``{"slot.key": array}`` (copies)."""
        lr = self.learning_rate if not callable(self.learning_rate) else None
        return {
            "iterations": self.iterations,
            "learning_rate": lr,
            "slots": {f"{s}.{k}": a.copy() for s, d in self.state.items() for k, a in d.items()},
        }

    def set_state(self, state: dict) -> None:
        want = {f"{s}.{k}": a for s, d in self.state.items() for k, a in d.items()}
        got = state.get("slots", {})
        if set(want) != set(got):
            raise ValueError(
                f"{type(self).__name__} state expected slots {sorted(want)}, got {sorted(got)}"
            )
        for n, a in want.items():
            b = np.asarray(got[n])
            if b.shape != a.shape or b.dtype != a.dtype:
                raise ValueError(
                    f"optimizer slot {n}: expected {a.dtype}{a.shape}, got {b.dtype}{b.shape}"
                )
            a[...] = b
        self.iterations = int(state["iterations"])
        if state.get("learning_rate") is not None and not callable(self.learning_rate):
            self.learning_rate = float(state["learning_rate"])


class SGD(Optimizer):
    def __init__(
        self,
        learning_rate: float | LearningRateSchedule = 0.01,
        momentum: float = 0.0,
        nesterov: bool = False,
        **kw: Any,
    ) -> None:
        super().__init__(learning_rate, **kw)
        if not 0.0 <= momentum < 1.0 + 1e-12:
            raise ValueError(f"momentum must be in [0, 1], got {momentum!r}")
        if nesterov and momentum <= 0:
            raise ValueError("nesterov=True needs momentum > 0")
        self.momentum, self.nesterov = float(momentum), bool(nesterov)
        self.slots = ("momentum",) if self.momentum > 0 else ()

    def _update(self, p, g, st, lr, t):
        if self.weight_decay:
            g += self.weight_decay * p  # g += λ·p
        if self.momentum > 0:
            b = st["momentum"]
            if t == 1:
                b[...] = g  # b₁ = g
            else:
                b *= self.momentum  # b = μ·b + g
                b += g
            if self.nesterov:
                g += self.momentum * b  # d = g + μ·b
                d = g
            else:
                d = b
        else:
            d = g
        p -= lr * d

    def get_config(self) -> dict:
        return {**super().get_config(), "momentum": self.momentum, "nesterov": self.nesterov}


class Adam(Optimizer):
    slots: tuple[str, ...] = ("m", "v")
    decoupled = False  # AdamW: weight decay applied to p, not added to g

    def __init__(
        self,
        learning_rate: float | LearningRateSchedule = 0.001,
        beta_1: float = 0.9,
        beta_2: float = 0.999,
        epsilon: float = 1e-7,
        amsgrad: bool = False,
        **kw: Any,
    ) -> None:
        super().__init__(learning_rate, **kw)
        self.beta_1, self.beta_2, self.epsilon = float(beta_1), float(beta_2), float(epsilon)
        self.amsgrad = bool(amsgrad)
        if self.amsgrad:
            self.slots = ("m", "v", "v_max")

    def _update(self, p, g, st, lr, t):
        if self.weight_decay and not self.decoupled:
            g += self.weight_decay * p  # g += λ·p (L2, as torch.optim.Adam)
        b1, b2 = self.beta_1, self.beta_2
        m, v = st["m"], st["v"]
        m *= b1  # m = β₁m + (1−β₁)g
        m += (1 - b1) * g
        v *= b2  # v = β₂v + (1−β₂)g²
        v += (1 - b2) * (g * g)
        if self.amsgrad:
            np.maximum(st["v_max"], v, out=st["v_max"])
            v = st["v_max"]
        bc1 = 1 - b1**t
        bc2_sqrt = math.sqrt(1 - b2**t)
        denom = np.sqrt(v)  # √v / √(1−β₂ᵗ) + ε
        denom /= bc2_sqrt
        denom += self.epsilon
        p -= (lr / bc1) * (m / denom)

    def get_config(self) -> dict:
        return {
            **super().get_config(),
            "beta_1": self.beta_1,
            "beta_2": self.beta_2,
            "epsilon": self.epsilon,
            "amsgrad": self.amsgrad,
        }


class AdamW(Adam):
    """Adam with decoupled weight decay (Loshchilov & Hutter): p -= lr·λ·p, then Adam."""

    decoupled = True

    def __init__(
        self,
        learning_rate: float | LearningRateSchedule = 0.001,
        weight_decay: float = 0.004,
        **kw: Any,
    ) -> None:
        super().__init__(learning_rate, weight_decay=weight_decay, **kw)

    def _update(self, p, g, st, lr, t):
        p *= 1 - lr * self.weight_decay
        super()._update(p, g, st, lr, t)


class RMSprop(Optimizer):
    def __init__(
        self,
        learning_rate: float | LearningRateSchedule = 0.001,
        rho: float = 0.9,
        momentum: float = 0.0,
        epsilon: float = 1e-7,
        centered: bool = False,
        **kw: Any,
    ) -> None:
        super().__init__(learning_rate, **kw)
        self.rho, self.momentum, self.epsilon = float(rho), float(momentum), float(epsilon)
        self.centered = bool(centered)
        self.slots = (
            ("v",) + (("g_avg",) if centered else ()) + (("momentum",) if momentum > 0 else ())
        )

    def _update(self, p, g, st, lr, t):
        if self.weight_decay:
            g += self.weight_decay * p
        rho, v = self.rho, st["v"]
        v *= rho  # v = ρv + (1−ρ)g²
        v += (1 - rho) * (g * g)
        if self.centered:
            ga = st["g_avg"]
            ga *= rho  # ḡ = ρḡ + (1−ρ)g
            ga += (1 - rho) * g
            denom = np.sqrt(v - ga * ga)
        else:
            denom = np.sqrt(v)
        denom += self.epsilon  # √v + ε  (PyTorch's placement)
        if self.momentum > 0:
            b = st["momentum"]
            b *= self.momentum  # b = μb + g/(√v + ε)
            b += g / denom
            p -= lr * b
        else:
            p -= lr * (g / denom)

    def get_config(self) -> dict:
        return {
            **super().get_config(),
            "rho": self.rho,
            "momentum": self.momentum,
            "epsilon": self.epsilon,
            "centered": self.centered,
        }


OPTIMIZERS: dict[str, type[Optimizer]] = {
    "SGD": SGD,
    "Adam": Adam,
    "AdamW": AdamW,
    "RMSprop": RMSprop,
}
_ALIASES = {"sgd": SGD, "adam": Adam, "adamw": AdamW, "rmsprop": RMSprop}


def get(identifier: str | Optimizer) -> Optimizer:
    """'adam' / 'sgd' / 'rmsprop' / 'adamw', or an Optimizer instance (returned as is)."""
    if isinstance(identifier, Optimizer):
        return identifier
    if isinstance(identifier, str) and identifier.lower() in _ALIASES:
        return _ALIASES[identifier.lower()]()
    raise ValueError(
        f"optimizer must be one of {sorted(_ALIASES)} or an Optimizer, got {identifier!r}"
    )
