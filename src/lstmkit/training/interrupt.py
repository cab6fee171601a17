"""Ctrl-C during ``fit``: finish the batch in flight, save, then stop."""

from __future__ import annotations

import signal
import sys
import threading

__all__ = ["DeferredInterrupt"]


class DeferredInterrupt:
    """Ctrl-C during fit: the first SIGINT only sets ``pending`` (the batch in flight
    finishes, so the weights and optimizer state stay consistent); fit then saves a
    checkpoint and raises KeyboardInterrupt. A second Ctrl-C interrupts at once.
    Installed only in the main thread, in one process, and when SIGINT has Python's
    default handler (a handler of the caller's is left alone)."""

    def __init__(self, enabled=True):
        self.enabled, self.pending, self._old = enabled, False, None

    def __enter__(self):
        if (
            self.enabled
            and threading.current_thread() is threading.main_thread()
            and signal.getsignal(signal.SIGINT) is signal.default_int_handler
        ):
            self._old = signal.signal(signal.SIGINT, self._handler)
        return self

    def _handler(self, signum, frame):
        if self.pending:
            raise KeyboardInterrupt
        self.pending = True
        print(
            "interrupt: finishing this batch, then saving (Ctrl-C again to stop at once)",
            file=sys.stderr,
            flush=True,
        )

    def __exit__(self, *exc):
        if self._old is not None:
            signal.signal(signal.SIGINT, self._old)
            self._old = None
        return False

    @staticmethod
    def message(epoch, b, checkpoint):
        where = f"after epoch {epoch + 1}, batch {b + 1}"
        return f"{where}; checkpoint saved to {checkpoint}" if checkpoint else where
