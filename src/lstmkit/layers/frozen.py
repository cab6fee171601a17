"""Frozen weights for serving: a recurrent layer's W_x, W_h as its own read-only copies.

Inference on the packed kernel keeps its packed weights between calls. For live weights
it must make sure they did not change in place since (a training step, a user's
assignment), so every call compares W_x, W_h with a kept copy: at 512 units that reads
16 MB, a third of a T = 25, B = 1 call on an Intel Xeon (family 6 model 167). Frozen
weights cannot change, so that compare is skipped: ``freeze_weights`` gives the layer a
token, new for every freeze and never reused in the process, which the kernel keeps with
its packing and accepts only with read-only W_x, W_h (``lstmkit.core.lstm.lstm_forward``'s
``frozen``). ``Model.for_inference()`` freezes every recurrent layer of a copy of a model.
"""

from __future__ import annotations

import itertools

import numpy as np

__all__ = ["FrozenWeights"]

_TOKENS = itertools.count(1)  # freeze_weights' tokens in this process (never reused)


class FrozenWeights:
    """Mixed into ``Recurrent``: params[0], params[1] are W_x (D, G·H) and W_h (H, G·H)."""

    params: list[np.ndarray]
    _frozen = 0  # the token freeze_weights gave W_x, W_h (0: live weights)

    def freeze_weights(self) -> None:
        """For serving: W_x and W_h become this layer's own read-only copies, which
        inference uses without checking them for changes (see the module docstring).
        Training a frozen layer's weights raises; ``Model.for_inference()`` does this to
        every layer of a copy. (Turning ``writeable`` back on and writing into them is not
        caught: don't.)"""
        for k in (0, 1):
            w = np.array(self.params[k], copy=True)
            w.flags.writeable = False
            self.params[k] = w
        self._frozen = next(_TOKENS)

    def set_weights(self, weights) -> None:
        """Keras' ``set_weights``; on frozen weights it puts new frozen copies in their
        place, with a new token (a server loading new weights), instead of writing into
        the read-only ones."""
        if not self.frozen:
            super().set_weights(weights)  # type: ignore[misc]
            return
        for k in (0, 1):  # writable for the checks and the copy-in; frozen again after
            self.params[k] = self.params[k].copy()
        try:
            super().set_weights(weights)  # type: ignore[misc]
        finally:
            self.freeze_weights()

    @property
    def frozen(self) -> bool:
        """True when ``freeze_weights`` made W_x, W_h read-only copies (and they still are)."""
        return bool(self._frozen) and not any(self.params[k].flags.writeable for k in (0, 1))

    def _frozen_token(self, need_cache: bool) -> int:
        """The token for the kernel: only for inference, and only while the weights are the
        read-only copies (a rebind into a model's buffers makes them live again)."""
        return self._frozen if not need_cache and self.frozen else 0
