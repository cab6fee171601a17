"""Progress on long work: one bar over all epochs."""

from __future__ import annotations

from tqdm.auto import tqdm

from ...callbacks import Callback

__all__ = ["epoch_bar"]


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
