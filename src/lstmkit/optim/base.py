"""The optimizer base: flat parameter buffers, clipping, weight decay, the two conventions.

A built model keeps all its parameters as views into one contiguous buffer per
dtype (``model.flat_params``) and their gradients in another (``model.flat_grads``),
so a step is a handful of vectorised operations on whole buffers. Buffers come as
``{key: 1-D array}`` (key = dtype name); a single array also works.

``convention`` — the one argument that picks whose arithmetic a step follows:

* ``"torch"`` (lstmkit's default): ``torch.optim``'s update rules, checked against
  PyTorch to float64 precision. ε outside the root (√v + ε, on bias-corrected √v̂
  for Adam), the learning rate applied after momentum, ``weight_decay`` as L2 (g += λ·p;
  AdamW decoupled), every clipping argument applied (clipvalue, clipnorm,
  global_clipnorm, in this order).
* ``"keras"`` (the default of :mod:`lstmkit.optimizers`, Keras' face): Keras 3's rules.
  Adam's ε is added to the *uncorrected* √v (ε̂ = ε·√(1−β₂ᵗ) in corrected terms);
  RMSprop, Adagrad and Adadelta take ε inside the root (√(v + ε)); momentum buffers hold
  lr·g (SGD: m = μm − lr·g, p += m), which differs from torch only when the learning
  rate changes; ``weight_decay`` is decoupled for every optimizer (p ← p − lr·λ·p before
  the step); only the first of clipnorm, global_clipnorm, clipvalue that is set applies.

Defaults are Keras' (``learning_rate=0.001``, ``epsilon=1e-7``, ``rho=0.9``) under both.
Clipping definitions (Keras'): ``clipvalue`` g = clip(g, −c, c); ``clipnorm`` each
variable g·c / max(‖g‖, c); ``global_clipnorm`` all variables together, same formula.
The gradient buffers serve as scratch space: clipping, L2 weight decay and Nesterov
change them in place.
"""

from __future__ import annotations

import math

import numpy as np

from .schedules import SCHEDULES, LearningRateSchedule

__all__ = ["CONVENTIONS", "Optimizer"]

CONVENTIONS = ("torch", "keras")
#: Keras optimizer arguments lstmkit accepts at their default only
_KERAS_DEFAULTS = {
    "use_ema": False,
    "ema_momentum": 0.99,
    "ema_overwrite_frequency": None,
    "loss_scale_factor": None,
    "gradient_accumulation_steps": None,
    "name": None,
}


def _as_buffers(x) -> dict:
    return x if isinstance(x, dict) else {"_": x}


class Optimizer:
    #: names of the per-parameter state buffers (each the size of the flat params)
    slots: tuple[str, ...] = ()

    def __init__(
        self,
        learning_rate=0.001,
        clipnorm=None,
        global_clipnorm=None,
        clipvalue=None,
        weight_decay=0.0,
        convention="torch",
        **keras_args,
    ):
        for k, v in keras_args.items():
            if k not in _KERAS_DEFAULTS:
                raise TypeError(f"{type(self).__name__} got unexpected argument {k!r}")
            if k != "name" and v != _KERAS_DEFAULTS[k]:
                raise ValueError(
                    f"{type(self).__name__}: {k}={v!r} is not supported by lstmkit "
                    f"(only the default, {_KERAS_DEFAULTS[k]!r})"
                )
        if convention not in CONVENTIONS:
            raise ValueError(
                f"{type(self).__name__} convention must be one of {CONVENTIONS}, got {convention!r}"
            )
        self.convention = convention
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
        self.weight_decay = 0.0 if weight_decay is None else float(weight_decay)
        self.iterations = 0  # number of updates done
        self.state: dict[str, dict[str, np.ndarray]] = {}  # slot → {key: buffer}
        self._segments: dict = {}  # key → sizes of the variables in that buffer
        self._built_for = None

    # ------------------------------------------------------------- helpers
    def current_learning_rate(self) -> float:
        lr = self.learning_rate
        return float(lr(self.iterations)) if callable(lr) else lr

    def build(self, params, segments=None):
        """Allocate state like ``params``; ``segments`` {key: sizes} enables per-variable
        clipnorm."""
        params = _as_buffers(params)
        self.state = {s: {k: np.zeros_like(p) for k, p in params.items()} for s in self.slots}
        self._segments = {k: np.asarray(v, np.int64) for k, v in (segments or {}).items()}
        self._built_for = {k: (p.shape, p.dtype) for k, p in params.items()}

    @property
    def keras(self) -> bool:
        return self.convention == "keras"

    def clip(self, grads: dict) -> None:
        if self.keras:  # Keras: the first one set, and only that one
            if self.clipnorm is not None:
                self._clip_each(grads, self.clipnorm)
            elif self.global_clipnorm is not None:
                self._clip_global(grads, self.global_clipnorm)
            elif self.clipvalue is not None:
                for g in grads.values():
                    np.clip(g, -self.clipvalue, self.clipvalue, out=g)
            return
        if self.clipvalue is not None:
            for g in grads.values():
                np.clip(g, -self.clipvalue, self.clipvalue, out=g)
        if self.clipnorm is not None:
            self._clip_each(grads, self.clipnorm)
        if self.global_clipnorm is not None:
            self._clip_global(grads, self.global_clipnorm)

    def _clip_each(self, grads, c):
        """Each variable on its own: g·c / max(‖g‖, c)."""
        for k, g in grads.items():
            sizes = self._segments.get(k, np.array([g.size]))
            starts = np.concatenate([[0], np.cumsum(sizes)[:-1]])
            norms = np.sqrt(np.add.reduceat(g * g, starts)) if g.size else np.zeros(0)
            g *= np.repeat(c / np.maximum(norms, c), sizes).astype(g.dtype)

    def _clip_global(self, grads, c):
        """All variables together: g·c / max(‖g‖, c)."""
        norm = math.sqrt(sum(float(np.dot(g, g)) for g in grads.values()))
        if norm > c:
            for g in grads.values():
                g *= c / norm

    def step(self, params, grads) -> None:
        """One update of ``params`` in place from ``grads`` (dicts key → flat array, or arrays)."""
        params, grads = _as_buffers(params), _as_buffers(grads)
        if self._built_for is None:
            self.build(params)
        self.clip(grads)
        lr = self.current_learning_rate()
        t = self.iterations + 1
        self.before_step(t)
        for k in params:
            st = {s: self.state[s][k] for s in self.slots}
            if self.keras and self.weight_decay:
                params[k] *= 1 - lr * self.weight_decay  # Keras: decoupled, before the step
            self._update(params[k], grads[k], st, lr, t)
        self.iterations = t

    def before_step(self, t: int) -> None:
        """Per-step state shared by all buffers (Nadam's Π μ), updated before the step."""

    def l2(self, p, g) -> None:
        """torch's weight decay: g += λ·p (Keras' decoupled decay is applied in step)."""
        if self.weight_decay and not self.keras:
            g += self.weight_decay * p

    def _update(self, p, g, st, lr, t):
        raise NotImplementedError

    # ------------------------------------------------------------ (de)serialise
    def get_config(self) -> dict:
        lr = self.learning_rate
        if isinstance(lr, LearningRateSchedule):
            lr = {"type": type(lr).__name__, "config": lr.get_config()}
        return {
            "learning_rate": lr,
            "clipnorm": self.clipnorm,
            "global_clipnorm": self.global_clipnorm,
            "clipvalue": self.clipvalue,
            "weight_decay": self.weight_decay,
            "convention": self.convention,
        }

    @classmethod
    def from_config(cls, config):
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
