"""What a fit carries from batch to batch, and what a checkpoint saves of it.

:class:`FitState` is where a ``fit`` stands: the next epoch and batch, the RNG
states that make the rest of the run repeat exactly, the epoch's running sums and
the history so far. ``fit`` keeps it on ``model.fit_state`` while it runs (None
otherwise), and :func:`lstmkit.training.checkpoint.save_checkpoint` writes it.

:class:`RunningMeans` is the epoch's running loss and metrics (weighted means),
restorable from a checkpoint so that a mid-epoch resume reports the same numbers.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from .data import loss_count

__all__ = ["FitState", "RunningMeans"]


@dataclass
class FitState:
    """Everything a checkpoint needs, besides weights and optimizer, to resume bit-identically.

    ``epoch`` / ``batch``: the next epoch to run and the next batch in it (batch 0: the
    epoch starts afresh). ``shuffle_rng``: the shuffle RNG's state at the start of that
    epoch (its permutation is drawn again on resume). ``layer_rngs``: the state of
    every ``rng_layers`` layer's RNG (dropout masks). ``running``: the epoch's running
    sums (:meth:`RunningMeans.get_state`), needed mid-epoch only. ``history`` /
    ``history_epochs``: what ``History`` holds for the finished epochs. ``stopped``: training
    was stopped (early stopping, divergence) — a resumed fit trains no further.
    ``callbacks``: ``[{"type": class name, "state": get_state()}]`` of every callback that
    has state, in the fit's order (restored after ``on_train_begin``)."""

    epoch: int = 0
    batch: int = 0
    shuffle_rng: dict = field(default_factory=dict)
    layer_rngs: list[dict] = field(default_factory=list)
    running: dict | None = None
    history: dict[str, list] = field(default_factory=dict)
    history_epochs: list[int] = field(default_factory=list)
    stopped: bool = False
    callbacks: list[dict] = field(default_factory=list)

    def record_epoch(self, epoch: int, logs: dict) -> None:
        """Add a finished epoch's logs (before the callbacks run, so that a checkpoint
        written by one of them already holds this epoch)."""
        if self.history_epochs and self.history_epochs[-1] == epoch:
            return
        self.history_epochs.append(epoch)
        for k, v in logs.items():
            self.history.setdefault(k, []).append(v)

    def take_history(self, history) -> None:
        """Copy a ``History`` callback's record (after the callbacks, which may add to logs)."""
        self.history = {k: list(v) for k, v in history.history.items()}
        self.history_epochs = list(history.epoch)

    def to_json(self) -> dict:
        return {
            "epoch": self.epoch,
            "batch": self.batch,
            "shuffle_rng": self.shuffle_rng,
            "layer_rngs": self.layer_rngs,
            "running": self.running,
            "history": self.history,
            "history_epochs": self.history_epochs,
            "stopped": self.stopped,
            "callbacks": self.callbacks,
        }


class RunningMeans:
    """The epoch's running loss and metrics (weighted means), restorable from a checkpoint."""

    def __init__(self, model):
        self.model = model
        self.reset()

    def reset(self) -> None:
        self.loss_total, self.loss_count = 0.0, 0.0
        for m in self.model.metrics:
            m.reset()

    def update(self, loss, y, y_pred, w) -> None:
        n = loss_count(y_pred, w)
        self.loss_total += loss * n
        self.loss_count += n
        for m in self.model.metrics:
            m.update(y, y_pred, w)

    def logs(self) -> dict:
        out = {"loss": self.loss_total / self.loss_count if self.loss_count else 0.0}
        out.update({m.name: m.result() for m in self.model.metrics})
        return out

    def get_state(self) -> dict:
        return {
            "loss": [self.loss_total, self.loss_count],
            "metrics": [m.get_state() for m in self.model.metrics],
        }

    def set_state(self, s: dict) -> None:
        self.loss_total, self.loss_count = map(float, s["loss"])
        for m, ms in zip(self.model.metrics, s["metrics"], strict=True):
            m.set_state(ms)
