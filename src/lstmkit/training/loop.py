"""The loops behind ``Sequential.fit`` and ``Sequential.evaluate``.

One epoch: draw a permutation of the samples from the shuffle RNG, walk it in
batches (forward, loss, backward, optimizer step), then evaluate on the
validation data. Everything random comes from generators that a checkpoint
saves (:class:`.state.FitState`): the shuffle RNG's state *at the start of the
epoch* (the permutation is drawn again on resume), each layer's RNG state
(dropout), the optimizer state and the position (epoch, next batch). Resuming
therefore repeats exactly the operations an uninterrupted run would have done:
the final weights are bit-identical.

The model is used through its public methods only: ``forward_masked``,
``loss_weights``, ``loss_value``, ``compute_gradients``, ``apply_gradients``,
``buffers`` and ``save_checkpoint``.
"""

from __future__ import annotations

import math
import os
import sys

import numpy as np

from ..callbacks import Callback, CallbackList, History, ProgbarLogger
from ..layers.base import rng_layers
from ..parallel import resolve_comm
from . import callback_state
from .checkpoint import restore_checkpoint
from .data import as_samples, input_shapes, with_weights
from .guard import StepGuard
from .interrupt import DeferredInterrupt
from .state import FitState, RunningMeans

__all__ = ["evaluate_loop", "fit_loop"]


def _check_samples(x, y) -> None:
    if len(x) != len(y):
        raise ValueError(f"x and y must have the same number of samples, got {len(x)} and {len(y)}")


def _step_is_finite(model, loss, comm) -> bool:
    """May this batch's gradients be applied? Not when a gradient (identical on every rank
    after the Allreduce) or, in one process, the loss is NaN or ±inf."""
    if not all(np.isfinite(g).all() for g in model.buffers.grads.values()):
        return False
    return comm.size > 1 or math.isfinite(float(loss))


def _diverged(epoch, b, steps, loss, what=None) -> dict:
    """Say once, on stderr, where training stopped; → the record kept in ``history.diverged``."""
    if what is None:
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


def evaluate_loop(model, x, y, batch_size=32, comm=None, sample_weight=None) -> dict:
    """Loss and metrics over all of (x, y) in inference mode (summed over MPI ranks)."""
    model.check_compiled()
    comm = resolve_comm(comm)  # under MPI: each rank a contiguous 1/N, sums reduced
    x, y = as_samples(x, "inputs x"), as_samples(y, "targets y")
    y = with_weights(y, sample_weight)
    _check_samples(x, y)
    x, y = comm.shard(x), comm.shard(y)
    run = RunningMeans(model)
    for i in range(0, len(x), batch_size):
        yb = y[i : i + batch_size]
        y_pred, mask = model.forward_masked(x[i : i + batch_size])
        w = model.loss_weights(y_pred, mask)
        run.update(model.loss_value(yb, y_pred, w), yb, y_pred, w)
    return comm.reduce_running(run).logs()


def _split_validation(x, y, validation_split, validation_data):
    """validation: the last fraction of the data, before any shuffling (as Keras)."""
    if validation_data is None and validation_split:
        if not 0.0 < validation_split < 1.0:
            raise ValueError(f"validation_split must be in (0, 1), got {validation_split!r}")
        cut = int(len(x) * (1.0 - validation_split))
        validation_data = (x[cut:], y[cut:])
        x, y = x[:cut], y[:cut]
    if validation_data is not None:
        if len(validation_data) not in (2, 3):
            raise ValueError(
                "validation_data must be a tuple (x_val, y_val) or (x_val, y_val, sample_weight)"
            )
        xv, yv = as_samples(validation_data[0], "x_val"), as_samples(validation_data[1], "y_val")
        if len(validation_data) == 3:
            yv = with_weights(yv, validation_data[2])
        validation_data = (xv, yv)
    return x, y, validation_data


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
    sample_weight=None,
    class_weight=None,
) -> History:
    """``Sequential.fit`` (its docstring says what each argument does)."""
    model.check_compiled()
    comm = resolve_comm(comm)  # MPI data parallelism (lstmkit.parallel), or a no-op
    x, y = as_samples(x, "inputs x"), as_samples(y, "targets y")
    y = with_weights(y, sample_weight, class_weight)
    _check_samples(x, y)
    if int(batch_size) < 1:
        raise ValueError(f"batch_size must be a positive integer, got {batch_size!r}")
    batch_size = int(batch_size)
    if checkpoint_every is not None and int(checkpoint_every) < 1:
        raise ValueError(
            f"checkpoint_every must be a positive number of batches, got {checkpoint_every!r}"
        )
    x, y, validation_data = _split_validation(x, y, validation_split, validation_data)
    n = len(x)
    if n == 0:
        raise ValueError("fit got no training samples")
    if not model.built:
        model.build(input_shapes(x))

    # randomness: the shuffle RNG and every layer's RNG, reseeded from `seed`
    holders = rng_layers(model.layers)
    if seed is not None:
        children = np.random.SeedSequence(seed).spawn(1 + len(holders))
        shuffle_rng = np.random.default_rng(children[0])
        for layer, ss in zip(holders, children[1:], strict=True):
            layer.rng = np.random.default_rng(ss)
    else:
        shuffle_rng = model.rng

    history = History()
    run = RunningMeans(model)
    state = FitState(epoch=int(initial_epoch), shuffle_rng=dict(shuffle_rng.bit_generator.state))
    if resume is not None and os.path.exists(resume):
        state = restore_checkpoint(model, resume)
        for layer, s in zip(holders, state.layer_rngs, strict=True):
            layer.rng.bit_generator.state = s
        history.history = {k: list(v) for k, v in state.history.items()}
        history.epoch = list(state.history_epochs)
        if state.batch and comm.is_root and state.running is not None:  # global sums: once
            run.set_state(state.running)
    start_epoch, start_batch = state.epoch, state.batch
    epoch_rng_state = state.shuffle_rng
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
    shown: list[Callback] = [ProgbarLogger(verbose)] if verbose in (1, 2) else []
    cbs = CallbackList(comm.callbacks(shown + list(callbacks or [])) + [history], model, params)
    model.history = history
    model.stop_training = False
    model.fit_state = state
    guard = StepGuard(model)

    def mark(epoch, batch):
        """Where the run stands now: what a checkpoint written next saves."""
        state.epoch, state.batch = epoch, batch
        state.shuffle_rng = dict(epoch_rng_state)
        state.layer_rngs = [dict(layer.rng.bit_generator.state) for layer in holders]
        state.running = run.get_state()
        state.stopped = bool(model.stop_training)
        state.callbacks = callback_state.collect(cbs.callbacks)

    def save_mid_epoch(epoch, batch):
        comm.reduce_running(run, to_root=True)
        mark(epoch, batch)
        if comm.is_root:
            model.save_checkpoint(checkpoint)

    cbs.on_train_begin()
    if resume is not None and state.callbacks:  # after on_train_begin, which resets them
        callback_state.restore(resume, cbs.callbacks, state.callbacks)
    history.diverged = None
    with DeferredInterrupt(enabled=comm.size == 1) as interrupt:
        for epoch in range(start_epoch, epochs if not state.stopped else start_epoch):
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
                    guard.save()
                    model.apply_gradients()
                    if not guard.ok():  # e.g. a NaN learning rate: undo the step and stop
                        guard.restore()
                        lr = model.optimizer.current_learning_rate()
                        history.diverged = _diverged(
                            epoch,
                            b,
                            steps,
                            loss,
                            f"the update made a weight NaN or inf (learning rate {lr:g})",
                        )
                        model.stop_training = True
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
                    save_mid_epoch(epoch, b + 1)
                cbs.on_train_batch_end(b, run.logs())
                if interrupt.pending:  # Ctrl-C came during this batch
                    if checkpoint is not None:
                        save_mid_epoch(epoch, b + 1)
                    raise KeyboardInterrupt(interrupt.message(epoch, b, checkpoint))
                if model.stop_training:
                    break
            logs = comm.reduce_running(run).logs()
            if validation_data is not None:
                x_val, y_val = validation_data
                vlogs = evaluate_loop(model, x_val, y_val, batch_size=batch_size, comm=comm)
                logs.update({f"val_{k}": v for k, v in vlogs.items()})
            epoch_rng_state = shuffle_rng.bit_generator.state
            mark(epoch + 1, 0)
            state.record_epoch(epoch, logs)  # a checkpoint written by a callback holds it
            cbs.on_epoch_end(epoch, logs)
            mark(epoch + 1, 0)
            state.take_history(history)  # History ran last: it has what callbacks added
            if checkpoint is not None and comm.is_root:
                model.save_checkpoint(checkpoint)
            if interrupt.pending:
                raise KeyboardInterrupt(interrupt.message(epoch, steps - 1, checkpoint))
            if model.stop_training:
                break
    cbs.on_train_end()
    model.fit_state = None
    return history
