"""Callbacks that write the run down: CSVLogger (a row per epoch, resumable) and
ProgbarLogger (a bar or a line per epoch)."""

from __future__ import annotations

import csv
import io
import os
import sys
import time
from typing import IO, Any

from .base import Callback, state_count


class CSVLogger(Callback):
    """One CSV row per epoch: epoch, then the logs' keys in sorted order.

    Its state is its place in the file (bytes written, columns): on resume the file is cut
    back to the end of the last epoch the checkpoint holds and continued from there, so a
    killed and resumed run leaves the same file as one never interrupted."""

    _file: IO[bytes] | None
    _writer: Any  # a csv.writer (its class is private to _csv)

    def __init__(self, filename, separator=",", append=False):
        super().__init__()
        self.filename, self.sep, self.append = os.fspath(filename), separator, append
        self._file = None
        self._keys = None
        self._header_done = False
        self._resume_at = None  # bytes to keep of the file (set_state), else start afresh

    def on_train_begin(self, logs=None):
        self._keys, self._header_done, self._resume_at = None, False, None
        self._close()

    def _open(self):
        """Open the file for the first row: continue a resumed one, append, or start afresh."""
        if self._resume_at is not None:
            f = open(self.filename, "r+b")
            f.seek(0, os.SEEK_END)
            if f.tell() < self._resume_at:
                f.close()
                raise ValueError(
                    f"CSVLogger: {self.filename} is shorter than the checkpoint says "
                    f"({self._resume_at} bytes): it was changed since"
                )
            f.truncate(self._resume_at)
            f.seek(self._resume_at)
            return f
        exists = self.append and os.path.exists(self.filename) and os.path.getsize(self.filename)
        self._header_done = bool(exists)
        return open(self.filename, "ab" if self.append else "wb")

    def _row(self, values) -> None:
        buf = io.StringIO()
        csv.writer(buf, delimiter=self.sep).writerow(values)
        assert self._file is not None  # (opened by on_train_begin)
        self._file.write(buf.getvalue().encode("utf-8"))

    def on_epoch_end(self, epoch, logs=None):
        logs = logs or {}
        if self._file is None:
            self._file = self._open()
        if self._keys is None:
            self._keys = sorted(logs)
        if not self._header_done:
            self._row(["epoch", *self._keys])
            self._header_done = True
        self._row([epoch, *[logs.get(k, "") for k in self._keys]])
        self._file.flush()

    def get_state(self):
        if self._file is not None:
            at = self._file.tell()
        elif self._resume_at is not None:
            at = self._resume_at
        else:  # nothing written yet in this fit
            at = (
                os.path.getsize(self.filename)
                if self.append and os.path.exists(self.filename)
                else 0
            )
        return {"bytes": at, "keys": self._keys, "header_done": self._header_done}

    def set_state(self, state):
        keys = state.get("keys")
        if keys is not None and (
            not isinstance(keys, list) or not all(isinstance(k, str) for k in keys)
        ):
            raise ValueError("keys must be a list of names")
        self._close()
        self._resume_at = state_count(state, "bytes")
        self._keys, self._header_done = keys, bool(state.get("header_done"))
        if not os.path.exists(self.filename) and self._resume_at == 0:
            self._resume_at = None  # nothing was logged yet: start the file afresh

    def _close(self):
        if self._file:
            self._file.close()
            self._file = None

    def on_train_end(self, logs=None):
        self._close()


def format_logs(logs):
    """ "loss: 0.1234 - acc: 0.9000": the logs as one line."""
    return " - ".join(
        f"{k}: {v:.4f}" if isinstance(v, float) else f"{k}: {v}" for k, v in logs.items()
    )


class ProgbarLogger(Callback):
    """verbose=1: a tqdm bar per epoch (loss / metrics, ETA); verbose=2: one line per epoch."""

    def __init__(self, verbose=1):
        super().__init__()
        self.verbose = verbose
        self._bar = None

    def on_epoch_begin(self, epoch, logs=None):
        self._t0 = time.perf_counter()
        epochs = self.params.get("epochs", "?")
        if self.verbose == 1:
            from tqdm.auto import tqdm

            self._bar = tqdm(
                total=self.params.get("steps"),
                desc=f"Epoch {epoch + 1}/{epochs}",
                file=sys.stdout,
                leave=True,
                dynamic_ncols=True,
                initial=self.params.get("initial_step", 0)
                if epoch == self.params.get("initial_epoch")
                else 0,
            )

    def on_train_batch_end(self, batch, logs=None):
        if self._bar is not None:
            self._bar.update(1)
            self._bar.set_postfix_str(format_logs(logs or {}), refresh=False)

    def on_epoch_end(self, epoch, logs=None):
        logs = {k: v for k, v in (logs or {}).items()}
        if self._bar is not None:
            self._bar.set_postfix_str(format_logs(logs), refresh=False)
            self._bar.close()
            self._bar = None
        elif self.verbose == 2:
            dt = time.perf_counter() - self._t0
            epochs = self.params.get("epochs", "?")
            print(
                f"Epoch {epoch + 1}/{epochs} - {dt:.1f}s - {format_logs(logs)}",
                file=sys.stdout,
                flush=True,
            )

    def on_train_end(self, logs=None):
        if self._bar is not None:
            self._bar.close()
            self._bar = None


__all__ = ["CSVLogger", "ProgbarLogger", "format_logs"]
