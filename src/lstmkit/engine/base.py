"""What Sequential and the functional Model share: compile / fit / evaluate / predict,
the batch methods, summaries, saving, the flat buffers and the weight lists.

A subclass supplies the graph: ``run(x, training) → (outputs, masks)`` (lists, one
entry per model output), ``backprop(douts, logits)`` (the gradients of the outputs, or
for a softmax output trained with cross-entropy ∂L/∂z of its logits), ``output_names``,
``logits_layer(k)`` and ``get_config()``.

After the build every parameter of the model is a view into one flat contiguous buffer
per dtype, ``model.buffers`` (:class:`FlatBuffers`): an optimizer step is a few
vectorised operations on whole buffers, and averaging gradients across processes is one
Allreduce of the gradient buffer.

Keras' training semantics (see :mod:`.compile`): sample weights, masks and loss
weights in the batch loss; the layers' weight regularizers and activity regularizers
added to it; ``trainable=False`` layers left alone by the optimizer (their gradients are
zeroed and their weights restored after a step); constraints applied after each step.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from .. import losses as losses_mod
from .. import optim as optim_mod
from ..io.format import read_weights_into, write_model, write_weights
from ..layers.base import Layer, rng_layers
from ..layers.simple import Activation, Dense
from ..training import FitState, evaluate_loop, fit_loop, save_checkpoint
from ..training.data import as_samples, with_weights
from . import compile as comp
from .weights import FlatBuffers, ModelWeights

__all__ = ["BaseModel", "FlatBuffers"]


class BaseModel(ModelWeights):
    #: a model called on symbolic tensors would be a nested model (not supported)
    is_model = True

    def __init__(self, name: str, seed=None, trainable: bool = True):
        self.name = name
        self.seed = seed
        self.layers: list[Layer] = []
        self.built = False
        self.trainable = bool(trainable)
        self.optimizer: Any = None
        self.loss: Any = None
        self.output_losses: list = []  # one Loss per output
        self.loss_weights_: list[float] = []
        self.metrics: list = []  # OutputMetric, in the order their logs appear
        self.stop_training = False
        self.history = None
        self._buffers = FlatBuffers({}, {}, {})
        self.rng = np.random.default_rng(seed)  # shuffling when fit gets no seed
        #: while fit runs: where it stands (what a checkpoint saves); None otherwise
        self.fit_state: FitState | None = None
        self._activity: list = []  # (layer, output) of the last forward, for activity regularizers

    # ------------------------------------------------------------- the graph
    @property
    def output_names(self) -> list[str]:
        raise NotImplementedError

    def run(self, x, training=False):
        raise NotImplementedError

    def backprop(self, douts: list, logits: dict) -> None:
        raise NotImplementedError

    def logits_layer(self, k: int):
        """The Dense / Activation layer whose softmax is output k, if nothing else reads it."""
        return None

    def seed_layers(self) -> None:
        """Layers without their own seed draw from the model's (``seed=``)."""
        if self.seed is None:
            return
        holders = rng_layers(self.layers)
        for layer, ss in zip(
            holders, np.random.SeedSequence(self.seed).spawn(len(holders)), strict=True
        ):
            if layer.seed is None:
                layer.rng = np.random.default_rng(ss)

    # ------------------------------------------------------------ computation
    def forward_masked(self, x, training=False):
        """Run the model on x → (output, the mask reaching it); lists for several outputs."""
        outs, masks = self.run(x, training=training)
        if len(outs) == 1:
            return outs[0], masks[0]
        return outs, masks

    def __call__(self, x, training=False):
        return self.forward_masked(x, training)[0]

    def loss_weights(self, y_pred, mask):
        """The loss weights a mask reaching an output gives (padded steps do not count)."""
        if isinstance(y_pred, list):
            return [self.loss_weights(p, m) for p, m in zip(y_pred, mask, strict=True)]
        if mask is not None and y_pred.ndim == 3 and mask.shape == y_pred.shape[:2]:
            return mask.astype(y_pred.dtype)
        return None

    def _from_logits(self, k):
        layer = self.logits_layer(k)
        loss = self.output_losses[k]
        if (
            isinstance(loss, losses_mod.CategoricalCrossentropy)
            and not loss.from_logits
            and isinstance(layer, (Dense, Activation))
            and layer.activation == "softmax"
            and layer.activity_regularizer is None
        ):
            return layer
        return None

    def _losses(self, y, y_pred, w, grads: bool):
        """Σ λ_k·L_k (+ the regularizers) and, with ``grads``, what backprop needs."""
        outs = y_pred if isinstance(y_pred, list) else [y_pred]
        ws = w if isinstance(w, list) else [w]
        ys, sws = comp.targets(y, len(outs))
        total, douts, logits = 0.0, [], {}  # type: tuple[float, list, dict]
        for k, (loss, lam) in enumerate(zip(self.output_losses, self.loss_weights_, strict=True)):
            src = self._from_logits(k)
            if src is not None:  # Keras' shortcut: ∂L/∂z = softmax(z) − y, from the logits
                value, d = comp.reduce(loss, ys[k], src.logits, sws[k], ws[k], from_logits=True)
            else:
                value, d = comp.reduce(loss, ys[k], outs[k], sws[k], ws[k])
            total += lam * value
            if grads:
                d = d if lam == 1.0 else d * np.asarray(lam, d.dtype)
                if src is not None:
                    logits[k] = d
                    douts.append(None)
                else:
                    douts.append(d)
        total += self.regularization_loss()
        return total, douts, logits

    def regularization_loss(self) -> float:
        """Σ R(W) over every regularized weight, plus the last forward's activity penalties."""
        reg = sum(leaf.regularization_loss() for leaf in rng_layers(self.layers))
        for layer, y in self._activity:
            reg += layer.activity_regularizer(y) / max(len(y), 1)
        return float(reg)

    def activity_gradient(self, layer, y):
        """∂(R(y)/batch)/∂y of a layer's activity regularizer (None without one)."""
        r = layer.activity_regularizer
        return None if r is None else r.gradient(y) / max(len(y), 1)

    def compute_gradients(self, x, y, training=True):
        """Forward, loss, backward: fills ``buffers.grads`` with ∂L/∂θ;
        returns (loss, y_pred, loss weights)."""
        self.check_compiled()
        y_pred, mask = self.forward_masked(x, training=training)
        w = self.loss_weights(y_pred, mask)
        loss, douts, logits = self._losses(y, y_pred, w, grads=True)
        self.backprop(douts, logits)
        for leaf in rng_layers(self.layers):
            if leaf.regularizers:
                leaf.add_regularization_gradients()
        for leaf in self.frozen_layers():
            for g in leaf.grads:
                g[...] = 0
        return loss, y_pred, w

    def loss_value(self, y, y_pred, w=None) -> float:
        """The batch loss after a forward pass, as training computes it (from the logits
        for a softmax output with cross-entropy; the regularizers included, as Keras)."""
        return self._losses(y, y_pred, w, grads=False)[0]

    def apply_gradients(self) -> None:
        """One optimizer step from ``flat_grads``; frozen weights are put back and
        constraints applied afterwards."""
        served = [leaf.name for leaf in rng_layers(self.layers) if getattr(leaf, "frozen", False)]
        if served:
            raise RuntimeError(
                f"cannot train: the weights of {', '.join(served)} are frozen for inference "
                "(Model.for_inference / freeze_weights); train the model they came from"
            )
        frozen = [(p, p.copy()) for leaf in self.frozen_layers() for p in leaf.params]
        self.optimizer.step(self._buffers.params, self._buffers.grads)
        for p, keep in frozen:
            p[...] = keep
        for leaf in rng_layers(self.layers):
            if leaf.constraints and leaf.trainable:
                leaf.apply_constraints()

    def for_inference(self):
        """A copy of this model for serving: the same predictions, with every recurrent
        layer's W_x, W_h frozen (``Recurrent.freeze_weights``), so repeated inference calls
        skip checking them for changes. The copy cannot be trained; this model is untouched."""
        import copy

        self.autobuild()
        twin = copy.deepcopy(self)
        for leaf in rng_layers(twin.layers):
            if hasattr(leaf, "freeze_weights") and leaf.params:
                leaf.freeze_weights()
        return twin

    # ------------------------------------------------------------ Keras API
    def compile(
        self,
        optimizer="rmsprop",
        loss=None,
        metrics=None,
        loss_weights=None,
        weighted_metrics=None,
        run_eagerly=False,
        steps_per_execution=1,
        jit_compile="auto",
        auto_scale_loss=True,
    ) -> None:
        """Keras' compile. ``loss`` / ``metrics`` / ``weighted_metrics`` / ``loss_weights`` per
        output as Keras takes them (a value, a list, a dict by output name). ``run_eagerly``,
        ``jit_compile`` and ``auto_scale_loss`` are accepted (lstmkit always runs eagerly)."""
        if steps_per_execution != 1:
            raise ValueError("compile: steps_per_execution must be 1 in lstmkit")
        names = self.output_names
        self.optimizer = optim_mod.get(optimizer)
        self.output_losses = comp.resolve_losses(loss, names)
        self.loss = self.output_losses[0] if len(names) == 1 else loss
        self.loss_weights_ = comp.resolve_loss_weights(loss_weights, names)
        self.metrics = comp.resolve_metrics(metrics, names, self.output_losses, weighted_metrics)
        if self.built:
            self.optimizer.build(self._buffers.params, self._buffers.segments)

    def check_compiled(self) -> None:
        """Raise RuntimeError unless compile has given the model an optimizer and a loss."""
        if self.optimizer is None or not self.output_losses:
            raise RuntimeError("the model must be compiled first: model.compile(optimizer, loss)")

    def fit(
        self,
        x,
        y,
        batch_size=32,
        epochs=1,
        verbose=1,
        callbacks=None,
        validation_split=0.0,
        validation_data=None,
        shuffle=True,
        class_weight=None,
        sample_weight=None,
        initial_epoch=0,
        steps_per_epoch=None,
        validation_steps=None,
        validation_batch_size=None,
        validation_freq=1,
        seed=None,
        checkpoint=None,
        checkpoint_every=None,
        resume=None,
        comm=None,
    ):
        """Train; returns a History (``history.history["loss"]``, ``"val_loss"``, metrics…).

        Keras' arguments, plus: ``seed`` makes the run bit-identical on the same machine
        (shuffling and every layer's dropout RNG are reseeded from it); ``checkpoint=path``
        writes a training checkpoint atomically after every epoch (and every
        ``checkpoint_every`` batches); ``resume=path`` continues from one (a missing file
        means: start from scratch). Under ``mpiexec -n N`` it trains data-parallel
        (``batch_size`` stays the global batch; see :mod:`lstmkit.parallel`);
        ``comm=LocalComm()`` keeps it to this process. ``validation_batch_size`` is
        accepted (the validation numbers do not depend on it).

        Faults: a batch whose loss or gradients are NaN/inf is not applied; training stops
        with the weights from before it, a line on stderr names the epoch and batch, and
        ``history.diverged`` = {"epoch", "batch", "loss"} (None when all went well). On
        Ctrl-C (SIGINT, one process, main thread) the batch in flight finishes, a
        checkpoint is written when ``checkpoint`` is set, and fit raises KeyboardInterrupt
        (a second Ctrl-C interrupts at once); ``resume=`` continues from that batch."""
        for nm, v, ok in (
            ("steps_per_epoch", steps_per_epoch, None),
            ("validation_steps", validation_steps, None),
            ("validation_freq", validation_freq, 1),
        ):
            if v != ok:
                raise ValueError(
                    f"fit: {nm}={v!r} is not supported by lstmkit (arrays only; use {ok!r})"
                )
        return fit_loop(
            self,
            x,
            y,
            batch_size=batch_size,
            epochs=epochs,
            verbose=verbose,
            callbacks=callbacks,
            validation_split=validation_split,
            validation_data=validation_data,
            shuffle=shuffle,
            initial_epoch=initial_epoch,
            seed=seed,
            checkpoint=checkpoint,
            checkpoint_every=checkpoint_every,
            resume=resume,
            comm=comm,
            sample_weight=sample_weight,
            class_weight=class_weight,
        )

    def evaluate(
        self, x, y, batch_size=32, verbose=0, sample_weight=None, return_dict=False, comm=None
    ):
        """Loss (and metrics) over all of (x, y), in batches, in inference mode."""
        logs = evaluate_loop(self, x, y, batch_size, comm=comm, sample_weight=sample_weight)
        if verbose:
            print(" - ".join(f"{k}: {v:.4f}" for k, v in logs.items()))
        if return_dict:
            return logs
        return logs["loss"] if not self.metrics else list(logs.values())

    def predict(self, x, batch_size=32, verbose=0):
        """The outputs for x, in batches (a list of arrays for several outputs)."""
        x = as_samples(x, "inputs x")
        if len(x) == 0:
            raise ValueError("predict got an empty input")
        parts = [self.run(x[i : i + batch_size])[0] for i in range(0, len(x), batch_size)]
        outs = [np.concatenate([p[k] for p in parts], axis=0) for k in range(len(parts[0]))]
        return outs[0] if len(outs) == 1 else outs

    def predict_on_batch(self, x):
        """The outputs for one batch x (no batching)."""
        outs = self.run(as_samples(x, "inputs x"))[0]
        return outs[0] if len(outs) == 1 else outs

    def _batch(self, x, y, sample_weight=None, class_weight=None):
        x, y = as_samples(x, "inputs x"), as_samples(y, "targets y")
        return x, with_weights(y, sample_weight, class_weight)

    def train_on_batch(self, x, y, sample_weight=None, class_weight=None, return_dict=False):
        """One gradient step on (x, y); returns the loss (and this batch's metrics)."""
        x, y = self._batch(x, y, sample_weight, class_weight)
        loss, y_pred, w = self.compute_gradients(x, y)
        self.apply_gradients()
        return self._pack(loss, y, y_pred, w, return_dict)

    def test_on_batch(self, x, y, sample_weight=None, return_dict=False):
        self.check_compiled()
        x, y = self._batch(x, y, sample_weight)
        y_pred, mask = self.forward_masked(x)
        w = self.loss_weights(y_pred, mask)
        return self._pack(self.loss_value(y, y_pred, w), y, y_pred, w, return_dict)

    def _pack(self, loss, y, y_pred, w, return_dict):
        out = {"loss": loss}
        for m in self.metrics:
            m.reset()
            m.update(y, y_pred, w)
            out[m.name] = m.result()
        if return_dict:
            return out
        return loss if not self.metrics else list(out.values())

    def reset_states(self):
        for layer in rng_layers(self.layers):
            if hasattr(layer, "reset_states"):
                layer.reset_states()

    # ------------------------------------------------------------ printing, io
    def save(self, path) -> None:
        """One safetensors file: weights under PyTorch names + the config as JSON. No pickle.
        (Any file name works; the contents are lstmkit's format, not Keras'.)"""
        write_model(self, path)

    def save_weights(self, filepath, overwrite=True) -> None:
        """The weights alone, as a safetensors file (``load_weights`` reads it back into a
        model of the same architecture)."""
        self.ensure_built()
        write_weights(self, filepath)

    def load_weights(self, filepath) -> None:
        """Weights written by ``save_weights`` (or ``save``), checked name by name."""
        self.ensure_built()
        read_weights_into(self, filepath)

    def save_checkpoint(self, path) -> None:
        """Weights + optimizer state + training position + RNG states, written atomically."""
        save_checkpoint(self, path)
