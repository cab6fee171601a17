"""Adagrad, Adadelta, Adamax, Nadam, with Keras' defaults. g the (clipped) gradient, t = step + 1:

    Adagrad   a = a + g²  (a₀ = 0.1)       torch: p -= lr·g / (√a + ε)   keras: / √(a + ε)
    Adadelta  a = ρa + (1−ρ)g²;  Δ = −√(d + ε)/√(a + ε) · g;  d = ρd + (1−ρ)Δ²;  p += lr·Δ
              (the same in both conventions: torch's and Keras' rule agree)
    Adamax    m = β₁m + (1−β₁)g            torch: u = max(β₂u, |g| + ε);  p -= lr/(1−β₁ᵗ) · m/u
                                           keras: u = max(β₂u, |g|);  p -= lr/(1−β₁ᵗ) · m/(u + ε)
    Nadam     μ_t = β₁(1 − ½·0.96^(t·ψ)),  Π_t = μ₁⋯μ_t,  m, v as Adam,  v̂ = v/(1−β₂ᵗ)
              p -= lr · (μ_{t+1}·m/(1 − Π_t·μ_{t+1}) + (1 − μ_t)·g/(1 − Π_t)) / (√v̂ + ε)
              ψ = ``momentum_decay``: torch.optim.NAdam's 0.004, Keras' formula is ψ = 1

(Keras' defaults: learning_rate 0.001, ε 1e-7, Adagrad initial_accumulator_value 0.1,
Adadelta ρ 0.95, Adamax / Nadam β₁ 0.9, β₂ 0.999.)
"""

from __future__ import annotations

import numpy as np

from .base import Optimizer

__all__ = ["Adagrad", "Adadelta", "Adamax", "Nadam"]


class Adagrad(Optimizer):
    slots = ("accumulator",)

    def __init__(self, learning_rate=0.001, initial_accumulator_value=0.1, epsilon=1e-7, **kw):
        super().__init__(learning_rate, **kw)
        self.initial_accumulator_value = float(initial_accumulator_value)
        self.epsilon = float(epsilon)

    def build(self, params, segments=None):
        super().build(params, segments)
        for a in self.state["accumulator"].values():
            a.fill(self.initial_accumulator_value)

    def _update(self, p, g, st, lr, t):
        self.l2(p, g)
        a = st["accumulator"]
        a += g * g  # a = a + g²
        if self.keras:
            p -= lr * g / np.sqrt(a + self.epsilon)
        else:
            p -= lr * g / (np.sqrt(a) + self.epsilon)

    def get_config(self):
        return {
            **super().get_config(),
            "initial_accumulator_value": self.initial_accumulator_value,
            "epsilon": self.epsilon,
        }


class Adadelta(Optimizer):
    slots = ("accumulated_grad", "accumulated_delta")

    def __init__(self, learning_rate=0.001, rho=0.95, epsilon=1e-7, **kw):
        super().__init__(learning_rate, **kw)
        self.rho, self.epsilon = float(rho), float(epsilon)

    def _update(self, p, g, st, lr, t):
        self.l2(p, g)
        rho, eps = self.rho, self.epsilon
        a, d = st["accumulated_grad"], st["accumulated_delta"]
        a *= rho  # a = ρa + (1−ρ)g²
        a += (1 - rho) * (g * g)
        delta = -np.sqrt(d + eps) / np.sqrt(a + eps) * g  # Δ
        d *= rho  # d = ρd + (1−ρ)Δ²
        d += (1 - rho) * (delta * delta)
        p += lr * delta

    def get_config(self):
        return {**super().get_config(), "rho": self.rho, "epsilon": self.epsilon}


class Adamax(Optimizer):
    slots = ("m", "u")

    def __init__(self, learning_rate=0.001, beta_1=0.9, beta_2=0.999, epsilon=1e-7, **kw):
        super().__init__(learning_rate, **kw)
        self.beta_1, self.beta_2, self.epsilon = float(beta_1), float(beta_2), float(epsilon)

    def _update(self, p, g, st, lr, t):
        self.l2(p, g)
        m, u = st["m"], st["u"]
        m *= self.beta_1  # m = β₁m + (1−β₁)g
        m += (1 - self.beta_1) * g
        u *= self.beta_2
        if self.keras:  # u = max(β₂u, |g|);  p -= lr/(1−β₁ᵗ) · m/(u + ε)
            np.maximum(u, np.abs(g), out=u)
            p -= (lr / (1 - self.beta_1**t)) * (m / (u + self.epsilon))
        else:  # u = max(β₂u, |g| + ε);  p -= lr/(1−β₁ᵗ) · m/u
            np.maximum(u, np.abs(g) + self.epsilon, out=u)
            p -= (lr / (1 - self.beta_1**t)) * (m / u)

    def get_config(self):
        return {
            **super().get_config(),
            "beta_1": self.beta_1,
            "beta_2": self.beta_2,
            "epsilon": self.epsilon,
        }


class Nadam(Optimizer):
    slots = ("m", "v")

    def __init__(
        self,
        learning_rate=0.001,
        beta_1=0.9,
        beta_2=0.999,
        epsilon=1e-7,
        momentum_decay=None,
        **kw,
    ):
        super().__init__(learning_rate, **kw)
        self.beta_1, self.beta_2, self.epsilon = float(beta_1), float(beta_2), float(epsilon)
        if momentum_decay is None:  # Keras' formula is ψ = 1; torch.optim.NAdam's default
            momentum_decay = 1.0 if self.keras else 0.004
        self.momentum_decay = float(momentum_decay)
        self._prod, self._prod_t = 1.0, 0  # Π μ_k for k ≤ _prod_t

    def mu(self, t: int) -> float:
        return self.beta_1 * (1.0 - 0.5 * 0.96 ** (t * self.momentum_decay))

    def before_step(self, t):
        if self._prod_t != t - 1:  # e.g. after a checkpoint restore: Π from the start
            self._prod, self._prod_t = 1.0, 0
            for k in range(1, t):
                self._prod *= self.mu(k)
        self._prod *= self.mu(t)
        self._prod_t = t

    def _update(self, p, g, st, lr, t):
        self.l2(p, g)
        b1, b2 = self.beta_1, self.beta_2
        m, v = st["m"], st["v"]
        m *= b1
        m += (1 - b1) * g
        v *= b2
        v += (1 - b2) * (g * g)
        mu_t, mu_next = self.mu(t), self.mu(t + 1)
        prod = self._prod  # Π_t
        m_hat = (mu_next / (1 - prod * mu_next)) * m + ((1 - mu_t) / (1 - prod)) * g
        denom = np.sqrt(v / (1 - b2**t))
        denom += self.epsilon
        p -= lr * (m_hat / denom)

    def get_config(self):
        return {
            **super().get_config(),
            "beta_1": self.beta_1,
            "beta_2": self.beta_2,
            "epsilon": self.epsilon,
            "momentum_decay": self.momentum_decay,
        }
