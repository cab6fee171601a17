"""Progress on long work: one bar over all epochs."""

from __future__ import annotations

from tqdm.auto import tqdm

from ...callbacks import Callback
from ...errors import TrainingDiverged

__all__ = ["epoch_bar", "raise_if_diverged"]


def raise_if_diverged(history, saved: str = "nothing was written") -> None:
    """A job's fit that stopped on a NaN / inf batch is a failed job (exit code 3), not a
    result: raise TrainingDiverged, saying where it stopped and what was kept."""
    d = getattr(history, "diverged", None)
    if d:
        raise TrainingDiverged(
            f"training diverged at epoch {d['epoch'] + 1}, batch {d['batch'] + 1} (loss "
            f"{d['loss']:.4g}); {saved}. Try a lower --learning-rate"
        )


def epoch_bar(epochs: int, verbose: int = 1):
    """A callback drawing ONE tqdm bar over all epochs (loss, val_loss in the postfix);
    None when verbose is 0. Used with fit(verbose=0) so a 150-epoch run is one line."""
    if not verbose:
        return None

    class EpochBar(Callback):
        def on_train_begin(self, logs=None):
            self.bar = tqdm(total=epochs, desc="training", unit="epoch", dynamic_ncols=True)

        def on_epoch_end(self, epoch, logs=None):
            self.bar.update(1)
            self.bar.set_postfix_str(
                " ".join(f"{k}={v:.4g}" for k, v in (logs or {}).items() if isinstance(v, float)),
                refresh=False,
            )

        def on_train_end(self, logs=None):
            self.bar.close()

    return EpochBar()
