"""SGD, Adam, AdamW, RMSprop. With g the (clipped) gradient, p the parameters, t = step + 1:

    SGD      torch: b = μ·b + g  (b₁ = g);  d = g + μ·b (nesterov) or b;  p -= lr·d
             keras: m = μ·m − lr·g;  p += m  (nesterov: p += μ·m − lr·g)
    Adam     m = β₁m + (1−β₁)g;  v = β₂v + (1−β₂)g²    (amsgrad: v ← max over steps)
             torch: p -= lr/(1−β₁ᵗ) · m / (√v / √(1−β₂ᵗ) + ε)
             keras: p -= lr·√(1−β₂ᵗ)/(1−β₁ᵗ) · m / (√v + ε)
    AdamW    p -= lr·λ·p, then Adam (decoupled weight decay, both conventions)
    RMSprop  v = ρv + (1−ρ)g²   (centered: ḡ = ρḡ + (1−ρ)g, v − ḡ² in place of v)
             torch: p -= lr · g / (√v + ε)     (momentum: b = μb + g/(√v + ε); p -= lr·b)
             keras: p -= lr · g / √(v + ε)     (momentum: b = μb + lr·g/√(v + ε); p -= b)

See :mod:`.base` for the two conventions, clipping and weight decay.
"""

from __future__ import annotations

import math

import numpy as np

from .base import Optimizer

__all__ = ["SGD", "Adam", "AdamW", "RMSprop"]


class SGD(Optimizer):
    def __init__(self, learning_rate=0.01, momentum=0.0, nesterov=False, **kw):
        super().__init__(learning_rate, **kw)
        if not 0.0 <= momentum < 1.0 + 1e-12:
            raise ValueError(f"momentum must be in [0, 1], got {momentum!r}")
        if nesterov and momentum <= 0:
            raise ValueError("nesterov=True needs momentum > 0")
        self.momentum, self.nesterov = float(momentum), bool(nesterov)
        self.slots = ("momentum",) if self.momentum > 0 else ()

    def _update(self, p, g, st, lr, t):
        self.l2(p, g)  # torch: g += λ·p
        if self.keras:
            if self.momentum > 0:
                m = st["momentum"]
                m *= self.momentum  # m = μ·m − lr·g
                m -= lr * g
                if self.nesterov:
                    p += self.momentum * m - lr * g
                else:
                    p += m
            else:
                p -= lr * g
            return
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

    def get_config(self):
        return {**super().get_config(), "momentum": self.momentum, "nesterov": self.nesterov}


class Adam(Optimizer):
    slots: tuple[str, ...] = ("m", "v")
    decoupled = False  # AdamW: weight decay applied to p, not added to g

    def __init__(
        self, learning_rate=0.001, beta_1=0.9, beta_2=0.999, epsilon=1e-7, amsgrad=False, **kw
    ):
        super().__init__(learning_rate, **kw)
        self.beta_1, self.beta_2, self.epsilon = float(beta_1), float(beta_2), float(epsilon)
        self.amsgrad = bool(amsgrad)
        if self.amsgrad:
            self.slots = ("m", "v", "v_max")

    def _update(self, p, g, st, lr, t):
        if not self.decoupled:
            self.l2(p, g)  # torch: g += λ·p (L2, as torch.optim.Adam)
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
        if self.keras:  # α = lr·√(1−β₂ᵗ)/(1−β₁ᵗ);  p -= α·m / (√v + ε)
            denom = np.sqrt(v)
            denom += self.epsilon
            p -= (lr * bc2_sqrt / bc1) * (m / denom)
            return
        denom = np.sqrt(v)  # √v / √(1−β₂ᵗ) + ε
        denom /= bc2_sqrt
        denom += self.epsilon
        p -= (lr / bc1) * (m / denom)

    def get_config(self):
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

    def __init__(self, learning_rate=0.001, weight_decay=0.004, **kw):
        super().__init__(learning_rate, weight_decay=weight_decay, **kw)

    def _update(self, p, g, st, lr, t):
        if not self.keras:  # (under Keras' convention the base step has decayed p already)
            p *= 1 - lr * self.weight_decay
        super()._update(p, g, st, lr, t)


class RMSprop(Optimizer):
    def __init__(
        self, learning_rate=0.001, rho=0.9, momentum=0.0, epsilon=1e-7, centered=False, **kw
    ):
        super().__init__(learning_rate, **kw)
        self.rho, self.momentum, self.epsilon = float(rho), float(momentum), float(epsilon)
        self.centered = bool(centered)
        self.slots = (
            ("v",) + (("g_avg",) if centered else ()) + (("momentum",) if momentum > 0 else ())
        )

    def _update(self, p, g, st, lr, t):
        self.l2(p, g)
        rho, v = self.rho, st["v"]
        v *= rho  # v = ρv + (1−ρ)g²
        v += (1 - rho) * (g * g)
        if self.centered:
            ga = st["g_avg"]
            ga *= rho  # ḡ = ρḡ + (1−ρ)g
            ga += (1 - rho) * g
            denom = v - ga * ga
        else:
            denom = v
        if self.keras:  # g / √(v + ε), lr inside the momentum buffer
            inc = lr * g / np.sqrt(denom + self.epsilon)
            if self.momentum > 0:
                b = st["momentum"]
                b *= self.momentum
                b += inc
                p -= b
            else:
                p -= inc
            return
        denom = np.sqrt(denom)
        denom += self.epsilon  # √v + ε  (PyTorch's placement)
        if self.momentum > 0:
            b = st["momentum"]
            b *= self.momentum  # b = μb + g/(√v + ε)
            b += g / denom
            p -= lr * b
        else:
            p -= lr * (g / denom)

    def get_config(self):
        return {
            **super().get_config(),
            "rho": self.rho,
            "momentum": self.momentum,
            "epsilon": self.epsilon,
            "centered": self.centered,
        }
