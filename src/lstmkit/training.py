"""The loops behind ``Sequential.fit`` and ``Sequential.evaluate``.

One epoch: draw a permutation of the samples from the shuffle RNG, walk it in
batches (forward, loss, backward, optimizer step), then evaluate on the
validation data. Everything random comes from generators that a checkpoint
saves: the shuffle RNG's state *at the start of the epoch* (the permutation is
drawn again on resume), each layer's RNG state (dropout), the optimizer state
and the position (epoch, next batch). Resuming therefore repeats exactly the
operations an uninterrupted run would have done: the final weights are
bit-identical.
"""

from __future__ import annotations

import math
import os
import signal
import sys
import threading

import numpy as np

from .callbacks import CallbackList, History, ProgbarLogger
from .model import rng_layers
from .parallel import resolve_comm


def _as_array(a, what):
    if a is None:
        raise ValueError(f"fit expected {what}, got None")
    return np.asarray(a)


class _Running:
    """The epoch's running loss and metrics (weighted means), restorable from a checkpoint."""

    def __init__(self, model):
        self.model = model
        self.reset()

    def reset(self):
        self.loss_total, self.loss_count = 0.0, 0.0
        for m in self.model.metrics:
            m.reset()

    def update(self, loss, y, y_pred, w):
        n = float(w.sum()) if w is not None else float(np.prod(y_pred.shape[:-1]))
        self.loss_total += loss * n
        self.loss_count += n
        for m in self.model.metrics:
            m.update(y, y_pred, w)

    def logs(self):
        out = {"loss": self.loss_total / self.loss_count if self.loss_count else 0.0}
        out.update({m.name: m.result() for m in self.model.metrics})
        return out

    def get_state(self):
        return {
            "loss": [self.loss_total, self.loss_count],
            "metrics": [m.get_state() for m in self.model.metrics],
        }

    def set_state(self, s):
        self.loss_total, self.loss_count = map(float, s["loss"])
        for m, ms in zip(self.model.metrics, s["metrics"], strict=True):
            m.set_state(ms)


def _step_is_finite(model, loss, comm) -> bool:
    """May this batch's gradients be applied? Not when a gradient (identical on every rank
    after the Allreduce) or, in one process, the loss is NaN or ±inf."""
    if not all(np.isfinite(g).all() for g in model._flat_g.values()):
        return False
    return comm.size > 1 or math.isfinite(float(loss))


def _diverged(epoch, b, steps, loss) -> dict:
    """Say once, on stderr, where training stopped; → the record kept in ``history.diverged``."""
    what = (
        f"the loss is {float(loss)}"
        if not math.isfinite(float(loss))
        else "a gradient is not finite"
    )
    print(
        f"training stopped at epoch {epoch + 1}, batch {b + 1} of {steps}: {what}; the "
        f"weights are those from before this batch (try a lower learning rate or "
        f"gradient clipping)",
        file=sys.stderr,
        flush=True,
    )
    return {"epoch": epoch, "batch": b, "loss": float(loss)}


class _DeferredInterrupt:
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


def evaluate_loop(model, x, y, batch_size=32, comm=None) -> dict:
    model._require_compiled()
    comm = resolve_comm(comm)  # under MPI: each rank a contiguous 1/N, sums reduced
    x, y = np.asarray(x), np.asarray(y)
    if len(x) != len(y):
        raise ValueError(f"x and y must have the same number of samples, got {len(x)} and {len(y)}")
    x, y = comm.shard(x), comm.shard(y)
    run = _Running(model)
    for i in range(0, len(x), batch_size):
        yb = y[i : i + batch_size]
        y_pred, mask = model._forward(x[i : i + batch_size])
        w = model._loss_weights(y_pred, mask)
        run.update(model.loss_value(yb, y_pred, w), yb, y_pred, w)
    return comm.reduce_running(run).logs()


def fit_loop(
    model,
    x,
    y,
    batch_size=32,
    epochs=1,
    verbose=1,
    callbacks=None,
    validation_split=0.0,
    validation_data=None,
    shuffle=True,
    initial_epoch=0,
    seed=None,
    checkpoint=None,
    checkpoint_every=None,
    resume=None,
    comm=None,
):
    model._require_compiled()
    comm = resolve_comm(comm)  # MPI data parallelism (lstmkit.parallel), or a no-op
    x, y = _as_array(x, "inputs x"), _as_array(y, "targets y")
    if len(x) != len(y):
        raise ValueError(f"x and y must have the same number of samples, got {len(x)} and {len(y)}")
    if int(batch_size) < 1:
        raise ValueError(f"batch_size must be a positive integer, got {batch_size!r}")
    batch_size = int(batch_size)
    if checkpoint_every is not None and int(checkpoint_every) < 1:
        raise ValueError(
            f"checkpoint_every must be a positive number of batches, got {checkpoint_every!r}"
        )
    # validation: the last fraction of the data, before any shuffling (as Keras)
    if validation_data is None and validation_split:
        if not 0.0 < validation_split < 1.0:
            raise ValueError(f"validation_split must be in (0, 1), got {validation_split!r}")
        cut = int(len(x) * (1.0 - validation_split))
        validation_data = (x[cut:], y[cut:])
        x, y = x[:cut], y[:cut]
    if validation_data is not None:
        if len(validation_data) != 2:
            raise ValueError("validation_data must be a tuple (x_val, y_val)")
        validation_data = (np.asarray(validation_data[0]), np.asarray(validation_data[1]))
    n = len(x)
    if n == 0:
        raise ValueError("fit got no training samples")
    if not model.built:
        model.build(x.shape[1:])

    # randomness: the shuffle RNG and every layer's RNG, reseeded from `seed`
    holders = rng_layers(model.layers)
    if seed is not None:
        children = np.random.SeedSequence(seed).spawn(1 + len(holders))
        shuffle_rng = np.random.default_rng(children[0])
        for layer, ss in zip(holders, children[1:], strict=True):
            layer.rng = np.random.default_rng(ss)
    else:
        shuffle_rng = model._rng

    history = History()
    run = _Running(model)
    start_epoch, start_batch = int(initial_epoch), 0
    epoch_rng_state = shuffle_rng.bit_generator.state
    if resume is not None and os.path.exists(resume):
        from .io.checkpoint import restore_checkpoint

        st = restore_checkpoint(model, resume)
        start_epoch, start_batch = st["epoch"], st["batch"]
        epoch_rng_state = st["shuffle_rng"]
        for layer, s in zip(holders, st["layer_rngs"], strict=True):
            layer.rng.bit_generator.state = s
        history.history = {k: list(v) for k, v in st["history"].items()}
        history.epoch = list(st["history_epochs"])
        if start_batch and comm.is_root:  # the saved sums are global: count them once
            run.set_state(st["running"])
    comm.start(
        model,
        holders,
        samples=n,
        batch_size=batch_size,
        epochs=epochs,
        start_epoch=start_epoch,
        start_batch=start_batch,
    )

    steps = math.ceil(n / batch_size)
    params = {
        "epochs": epochs,
        "steps": steps,
        "verbose": verbose,
        "samples": n,
        "initial_epoch": start_epoch,
        "initial_step": start_batch,
    }
    cbs = [ProgbarLogger(verbose)] if verbose in (1, 2) else []
    cbs = CallbackList(comm.callbacks(cbs + list(callbacks or [])) + [history], model, params)
    model.history = history
    model.stop_training = False

    def save(epoch, batch, pending=None):
        model._fit_state = {
            "epoch": epoch,
            "batch": batch,
            "shuffle_rng": epoch_rng_state,
            "layer_rngs": [l.rng.bit_generator.state for l in holders],
            "running": run.get_state(),
            "history": history,
            "pending": pending,
        }

    cbs.on_train_begin()
    history.diverged = None
    with _DeferredInterrupt(enabled=comm.size == 1) as interrupt:
        for epoch in range(start_epoch, epochs):
            shuffle_rng.bit_generator.state = epoch_rng_state  # the state before this permutation
            perm = shuffle_rng.permutation(n) if shuffle else np.arange(n)
            if epoch != start_epoch or not start_batch:
                run.reset()
            first = start_batch if epoch == start_epoch else 0
            cbs.on_epoch_begin(epoch)
            for b in range(first, steps):
                cbs.on_train_batch_begin(b)
                idx = comm.shard(perm[b * batch_size : (b + 1) * batch_size])  # this rank's slice
                yb = y[idx]
                loss, y_pred, w = comm.compute_gradients(model, x[idx], yb)  # + gradient Allreduce
                if _step_is_finite(model, loss, comm):
                    model.apply_gradients()
                else:  # keep the last good weights and stop
                    history.diverged = _diverged(epoch, b, steps, loss)
                    model.stop_training = True
                run.update(loss, yb, y_pred, w)
                if (
                    checkpoint is not None
                    and checkpoint_every
                    and (b + 1) % int(checkpoint_every) == 0
                    and b + 1 < steps
                ):
                    comm.reduce_running(run, to_root=True)
                    save(epoch, b + 1)
                    if comm.is_root:
                        model.save_checkpoint(checkpoint)
                cbs.on_train_batch_end(b, run.logs())
                if interrupt.pending:  # Ctrl-C came during this batch
                    if checkpoint is not None:
                        comm.reduce_running(run, to_root=True)
                        save(epoch, b + 1)
                        if comm.is_root:
                            model.save_checkpoint(checkpoint)
                    raise KeyboardInterrupt(interrupt.message(epoch, b, checkpoint))
                if model.stop_training:
                    break
            logs = comm.reduce_running(run).logs()
            if validation_data is not None:
                vlogs = evaluate_loop(model, *validation_data, batch_size=batch_size, comm=comm)
                logs.update({f"val_{k}": v for k, v in vlogs.items()})
            epoch_rng_state = shuffle_rng.bit_generator.state
            save(epoch + 1, 0, pending=(epoch, logs))
            cbs.on_epoch_end(epoch, logs)
            save(epoch + 1, 0)
            if checkpoint is not None and comm.is_root:
                model.save_checkpoint(checkpoint)
            if interrupt.pending:
                raise KeyboardInterrupt(interrupt.message(epoch, steps - 1, checkpoint))
            if model.stop_training:
                break
    cbs.on_train_end()
    model._fit_state = None
    return history
