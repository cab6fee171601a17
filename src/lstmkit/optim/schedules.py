"""Learning-rate schedules: Keras' ``keras.optimizers.schedules``, called with the optimizer's
step (0 on the first update) → the learning rate of that update.

    ExponentialDecay        lr₀ · rate^(step / N)             (exponent floored when staircase)
    InverseTimeDecay        lr₀ / (1 + rate · step / N)       (step / N floored when staircase)
    PolynomialDecay         (lr₀ − lr_end) · (1 − min(step, N)/N)^power + lr_end
                            (cycle: N grows to the next multiple of N above step)
    PiecewiseConstantDecay  values[i] for boundaries[i−1] < step ≤ boundaries[i]
    CosineDecay             lr₀ · ((1 − α) · ½(1 + cos(π · min(step, N)/N)) + α);
                            with warmup_target: a linear ramp lr₀ → target over
                            warmup_steps, then the cosine from the target
    CosineDecayRestarts     SGDR (Loshchilov & Hutter): cosine periods N, N·t_mul, …,
                            each restart's peak times m_mul
    StepDecay               lr₀ · γ^⌊step / step_size⌋   (PyTorch's StepLR, lstmkit's own)
"""

from __future__ import annotations

import math

__all__ = [
    "LearningRateSchedule",
    "ExponentialDecay",
    "InverseTimeDecay",
    "PolynomialDecay",
    "PiecewiseConstantDecay",
    "CosineDecay",
    "CosineDecayRestarts",
    "StepDecay",
    "SCHEDULES",
]


class LearningRateSchedule:
    """A callable of the optimizer step (0 on the first update) → learning rate."""

    def __call__(self, step: int) -> float:
        raise NotImplementedError

    def get_config(self) -> dict:
        return dict(self.__dict__)

    @classmethod
    def from_config(cls, config):
        return cls(**config)


def _positive(name, v):
    if not v > 0:
        raise ValueError(f"{name} must be > 0, got {v!r}")
    return v


class ExponentialDecay(LearningRateSchedule):
    """lr = lr₀ · rateˢᵗᵉᵖ/ᵈᵉᶜᵃʸ_ˢᵗᵉᵖˢ (the exponent floored when ``staircase``)."""

    def __init__(self, initial_learning_rate, decay_steps, decay_rate, staircase=False, name=None):
        self.initial_learning_rate = float(initial_learning_rate)
        self.decay_steps = int(_positive("decay_steps", decay_steps))
        self.decay_rate = float(decay_rate)
        self.staircase = bool(staircase)

    def __call__(self, step):
        e = step / self.decay_steps
        return self.initial_learning_rate * self.decay_rate ** (
            math.floor(e) if self.staircase else e
        )


class InverseTimeDecay(LearningRateSchedule):
    def __init__(self, initial_learning_rate, decay_steps, decay_rate, staircase=False, name=None):
        self.initial_learning_rate = float(initial_learning_rate)
        self.decay_steps = int(_positive("decay_steps", decay_steps))
        self.decay_rate = float(decay_rate)
        self.staircase = bool(staircase)

    def __call__(self, step):
        p = step / self.decay_steps
        return self.initial_learning_rate / (
            1 + self.decay_rate * (math.floor(p) if self.staircase else p)
        )


class PolynomialDecay(LearningRateSchedule):
    def __init__(
        self,
        initial_learning_rate,
        decay_steps,
        end_learning_rate=0.0001,
        power=1.0,
        cycle=False,
        name=None,
    ):
        self.initial_learning_rate = float(initial_learning_rate)
        self.decay_steps = int(_positive("decay_steps", decay_steps))
        self.end_learning_rate = float(end_learning_rate)
        self.power = float(power)
        self.cycle = bool(cycle)

    def __call__(self, step):
        n: float = self.decay_steps
        if self.cycle:
            n = n * (1.0 if step == 0 else math.ceil(step / n))
        else:
            step = min(step, n)
        p = step / n
        lr0, lr1 = self.initial_learning_rate, self.end_learning_rate
        return (lr0 - lr1) * (1 - p) ** self.power + lr1


class PiecewiseConstantDecay(LearningRateSchedule):
    def __init__(self, boundaries, values, name=None):
        if len(values) != len(boundaries) + 1:
            raise ValueError(
                f"PiecewiseConstantDecay needs one more value than boundaries, got "
                f"{len(boundaries)} boundaries and {len(values)} values"
            )
        self.boundaries = [float(b) for b in boundaries]
        self.values = [float(v) for v in values]

    def __call__(self, step):
        for b, v in zip(self.boundaries, self.values, strict=False):
            if step <= b:
                return v
        return self.values[-1]


class CosineDecay(LearningRateSchedule):
    """lr = lr₀ · ((1−α)·½(1 + cos(π·min(step, N)/N)) + α), N = decay_steps; Keras'
    ``warmup_target`` / ``warmup_steps`` ramp linearly up first."""

    def __init__(
        self,
        initial_learning_rate,
        decay_steps,
        alpha=0.0,
        name=None,
        warmup_target=None,
        warmup_steps=0,
    ):
        self.initial_learning_rate = float(initial_learning_rate)
        self.decay_steps = int(_positive("decay_steps", decay_steps))
        self.alpha = float(alpha)
        self.warmup_target = None if warmup_target is None else float(warmup_target)
        self.warmup_steps = int(warmup_steps)

    def _decay(self, step, lr_from):
        cos = 0.5 * (1 + math.cos(math.pi * step / self.decay_steps))
        return lr_from * ((1 - self.alpha) * cos + self.alpha)

    def __call__(self, step):
        if self.warmup_target is None:
            return self._decay(min(step, self.decay_steps), self.initial_learning_rate)
        step = min(step, self.decay_steps + self.warmup_steps)
        if step < self.warmup_steps:
            lr0 = self.initial_learning_rate
            return (self.warmup_target - lr0) * step / self.warmup_steps + lr0
        return self._decay(step - self.warmup_steps, self.warmup_target)

    def get_config(self):
        out = {
            "initial_learning_rate": self.initial_learning_rate,
            "decay_steps": self.decay_steps,
            "alpha": self.alpha,
        }
        if self.warmup_target is not None:
            out.update(warmup_target=self.warmup_target, warmup_steps=self.warmup_steps)
        return out


class CosineDecayRestarts(LearningRateSchedule):
    def __init__(
        self, initial_learning_rate, first_decay_steps, t_mul=2.0, m_mul=1.0, alpha=0.0, name=None
    ):
        self.initial_learning_rate = float(initial_learning_rate)
        self.first_decay_steps = int(_positive("first_decay_steps", first_decay_steps))
        self.t_mul, self.m_mul, self.alpha = float(t_mul), float(m_mul), float(alpha)

    def __call__(self, step):
        frac = step / self.first_decay_steps
        if self.t_mul == 1.0:
            i = math.floor(frac)
            frac -= i
        else:
            i = math.floor(math.log(1.0 - frac * (1.0 - self.t_mul)) / math.log(self.t_mul))
            sum_r = (1.0 - self.t_mul**i) / (1.0 - self.t_mul)
            frac = (frac - sum_r) / self.t_mul**i
        m_fac = self.m_mul**i
        cos = 0.5 * m_fac * (1.0 + math.cos(math.pi * frac))
        return self.initial_learning_rate * ((1 - self.alpha) * cos + self.alpha)


class StepDecay(LearningRateSchedule):
    """lr = lr₀ · γ^⌊step / step_size⌋ (PyTorch's StepLR, counted in optimizer steps)."""

    def __init__(self, initial_learning_rate, step_size, gamma=0.1):
        self.initial_learning_rate = float(initial_learning_rate)
        self.step_size = int(_positive("step_size", step_size))
        self.gamma = float(gamma)

    def __call__(self, step):
        return self.initial_learning_rate * self.gamma ** (step // self.step_size)


SCHEDULES = {
    c.__name__: c
    for c in (
        ExponentialDecay,
        InverseTimeDecay,
        PolynomialDecay,
        PiecewiseConstantDecay,
        CosineDecay,
        CosineDecayRestarts,
        StepDecay,
    )
}
