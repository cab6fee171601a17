"""What ``compile`` sets up per model output, and the batch loss Keras computes from it.

Per output k: a loss L_k, a weight λ_k (``loss_weights``) and metrics. The batch loss,
as Keras 3 reduces it ("sum_over_batch_size"), with ℓ the per-sample (per-step) values,
s the sample weights and m the mask reaching the output:

    L_k = Σ ℓ·s·m / Σ m      (with a mask;   s = 1 without sample weights)
    L_k = Σ ℓ·s / n          (without one;   n = the number of loss terms)
    L   = Σ_k λ_k·L_k + Σ R(W)               (R: the layers' weight regularizers)

Metrics are means over the unmasked steps, Σ v·m / Σ m; ``weighted_metrics`` also take
the sample weights, Σ v·s·m / Σ s·m (Keras: ``metrics`` ignore sample and class weights).
Logged names follow Keras: "loss", for several outputs "<output>_loss" and
"<output>_<metric>", and "weighted_<metric>" where a weighted metric's name is taken.
"""

from __future__ import annotations

import inspect

import numpy as np

from .. import losses as losses_mod
from .. import metrics as metrics_mod
from ..training.data import Samples

__all__ = [
    "targets",
    "metric_weights",
    "reduce",
    "OutputMetric",
    "per_output",
    "resolve_losses",
    "resolve_loss_weights",
    "resolve_metrics",
]


def targets(y, n_outputs: int) -> tuple[list, list]:
    """(targets per output, sample weights per output) from what fit slices."""
    if isinstance(y, Samples):
        ys, sws = list(y.parts), list(y.weights)
    else:
        ys, sws = [y], [None]
    if len(ys) != n_outputs:
        raise ValueError(
            f"the model has {n_outputs} output(s) but y holds {len(ys)} target array(s)"
        )
    return ys, sws


def metric_weights(sw, mask_w, y_pred):
    """The weights of one output's per-sample values: s (broadcast over steps) times m."""
    if sw is None:
        return mask_w
    per = y_pred.shape[:-1]  # the shape of the per-sample values
    s = np.asarray(sw, np.float64)
    s = s.reshape(s.shape + (1,) * (len(per) - s.ndim))
    s = np.broadcast_to(s, per)
    return s if mask_w is None else s * mask_w


def reduce(loss, y_true, y_pred, sw, mask_w, from_logits=False):
    """(L_k, ∂L_k/∂y_pred) by Keras' rule (see the module docstring)."""
    fn = type(loss)(from_logits=True) if from_logits else loss
    if sw is None:
        return fn.value_and_grad(y_true, y_pred, sample_weight=mask_w)
    if "normalizer" not in inspect.signature(fn.value_and_grad).parameters:
        raise ValueError(f"sample_weight is not supported with the loss {type(loss).__name__}")
    w = metric_weights(sw, mask_w, y_pred)
    n = float(mask_w.sum()) if mask_w is not None else float(np.prod(y_pred.shape[:-1]))
    return fn.value_and_grad(y_true, y_pred, sample_weight=np.asarray(w), normalizer=n)


class OutputMetric:
    """A metric of one output, fed the batch structures fit passes around (``y`` may hold
    several targets and sample weights; ``y_pred`` and ``w`` are lists for several outputs)."""

    def __init__(self, metric, index: int, n_outputs: int, name: str, weighted: bool = False):
        self.metric, self.index, self.n_outputs, self.name = metric, index, n_outputs, name
        self.weighted = weighted  # Keras' weighted_metrics take the sample weights

    def reset(self) -> None:
        self.metric.reset()

    def update(self, y, y_pred, w) -> None:
        ys, sws = targets(y, self.n_outputs)
        k = self.index
        p = y_pred[k] if self.n_outputs > 1 else y_pred
        wk = w[k] if isinstance(w, list) else w
        sw = sws[k] if self.weighted else None
        self.metric.update(ys[k], p, metric_weights(sw, wk, np.asarray(p)))

    def result(self) -> float:
        return self.metric.result()

    def get_state(self):
        return self.metric.get_state()

    def set_state(self, s) -> None:
        self.metric.set_state(s)

    def __repr__(self):
        return f"OutputMetric({self.name!r})"


def per_output(value, names: list[str], what: str, default=None) -> list:
    """One value for every output from a single value, a list, or a dict by output name."""
    n = len(names)
    if isinstance(value, dict):
        unknown = sorted(set(value) - set(names))
        if unknown:
            raise ValueError(f"compile {what}: unknown output name(s) {unknown}; outputs: {names}")
        return [value.get(k, default) for k in names]
    if isinstance(value, (list, tuple)) and (n > 1 or len(value) == 1):
        if len(value) != n:
            raise ValueError(
                f"compile {what}: expected {n} entries (one per output), got {len(value)}"
            )
        return list(value)
    return [value] * n


def resolve_losses(loss, names) -> list:
    if loss is None:
        raise ValueError("compile needs a loss, e.g. loss='mse' or 'categorical_crossentropy'")
    out = per_output(loss, names, "loss")
    if any(v is None for v in out):
        raise ValueError(f"compile loss: every output needs a loss, got {out}")
    return [losses_mod.get(v) for v in out]


def resolve_loss_weights(loss_weights, names) -> list[float]:
    if loss_weights is None:
        return [1.0] * len(names)
    return [float(w) for w in per_output(loss_weights, names, "loss_weights", 1.0)]


def resolve_metrics(metrics, names, losses, weighted_metrics=None) -> list[OutputMetric]:
    """Keras' rules: a list for one output; a list of lists or a dict for several (a flat
    list there is refused, as Keras 3 does). ``weighted_metrics`` likewise."""
    out = _metrics(metrics, names, losses, False)
    if weighted_metrics:
        taken = {m.name for m in out}
        for m in _metrics(weighted_metrics, names, losses, True):
            if m.name.endswith("_loss") and isinstance(m.metric, metrics_mod.LossMetric):
                continue  # the per-output loss trackers come once
            if m.name in taken:
                m.name = f"weighted_{m.name}"
            out.append(m)
    return out


def _metrics(metrics, names, losses, weighted) -> list[OutputMetric]:
    n = len(names)
    per: list
    if not metrics:
        per = [[] for _ in names]
    elif n == 1:
        per = [list(metrics.values())[0] if isinstance(metrics, dict) else metrics]
        per = [per[0] if isinstance(per[0], (list, tuple)) else [per[0]]]
    elif isinstance(metrics, dict):
        per_output(metrics, names, "metrics")  # every key must name an output
        per = [metrics.get(k) or [] for k in names]
        per = [m if isinstance(m, (list, tuple)) else [m] for m in per]
    elif (
        isinstance(metrics, (list, tuple))
        and len(metrics) == n
        and all(isinstance(m, (list, tuple)) or m is None for m in metrics)
    ):
        per = [list(m or []) for m in metrics]
    else:
        raise ValueError(
            f"compile metrics: a model with {n} outputs {names} needs a list of {n} lists "
            f"or a dict by output name, got {metrics!r}"
        )
    out = []
    for k, (name, ms) in enumerate(zip(names, per, strict=True)):
        if n > 1:  # Keras logs each output's own loss too (weighted as the loss is)
            out.append(OutputMetric(metrics_mod.LossMetric(losses[k]), k, n, f"{name}_loss", True))
        for m in ms:
            metric = metrics_mod.get(m, losses[k].name)
            label = metric.name if n == 1 else f"{name}_{metric.name}"
            out.append(OutputMetric(metric, k, n, label, weighted))
    return out
