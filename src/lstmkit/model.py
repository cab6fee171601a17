"""Sequential: a stack of layers trained the Keras way (compile / fit / evaluate / predict).

    model = Sequential([LSTM(128, return_sequences=True), LSTM(64), Dense(10, "softmax")])
    model.compile(optimizer="adam", loss="categorical_crossentropy", metrics=["accuracy"])
    model.fit(x_train, y_train, epochs=10, batch_size=32)

Layers are built from the first batch's shape (or ``build(input_shape)``,
batch excluded). After the build every parameter of the model is a view into
one flat contiguous buffer per dtype, ``model.flat_params``, and every gradient
a view into ``model.flat_grads``: an optimizer step is a few vectorised
operations on whole buffers, and averaging gradients across processes is one
Allreduce of ``flat_grads``.

Masks flow from layer to layer: layer k receives ``mask=`` from
``layers[k-1].compute_mask(mask, x)`` (an ``Embedding(mask_zero=True)`` starts
one; a recurrent layer without ``return_sequences`` ends it). A mask that
reaches the output weights the loss, so padded steps do not count.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from . import losses as losses_mod
from . import metrics as metrics_mod
from . import optim as optim_mod
from .io.format import write_model
from .layers.base import Layer, rng_layers
from .layers.simple import Activation, Dense
from .training import FitState, evaluate_loop, fit_loop, save_checkpoint


@dataclass(frozen=True)
class FlatBuffers:
    """A built model's parameters and gradients, one contiguous buffer per dtype name.

    ``params[k]`` / ``grads[k]``: every parameter (gradient) of dtype ``k`` ("float32",
    "float64"), layer after layer, each layer's ``params[j]`` a view into it.
    ``segments[k]``: the sizes of the variables in that buffer, in order (the
    optimizer uses them for per-variable clipping). An optimizer step, an Allreduce
    or a copy of the weights is one operation per buffer."""

    params: dict[str, np.ndarray]
    grads: dict[str, np.ndarray]
    segments: dict[str, list[int]]


class Sequential:
    def __init__(self, layers=None, name: str = "sequential", seed=None):
        self.name = name
        self.seed = seed
        self.layers: list[Layer] = []
        self.built = False
        self.input_shape = None  # without the batch axis
        self.optimizer = self.loss = None
        self.metrics: list = []
        self.stop_training = False
        self.history = None
        self._buffers = FlatBuffers({}, {}, {})
        self.rng = np.random.default_rng(seed)  # shuffling when fit gets no seed
        #: while fit runs: where it stands (what a checkpoint saves); None otherwise
        self.fit_state: FitState | None = None
        for layer in layers or []:
            self.add(layer)

    # ------------------------------------------------------------- structure
    def add(self, layer: Layer) -> None:
        if not isinstance(layer, Layer):
            raise TypeError(f"Sequential.add expected a Layer, got {type(layer).__name__}")
        if self.built:
            raise RuntimeError("cannot add a layer to a model that is already built")
        names = {other.name for other in self.layers}
        if layer.name in names:
            base, k = layer.name, 1
            while f"{base}_{k}" in names:
                k += 1
            layer.name = f"{base}_{k}"
        self.layers.append(layer)

    def build(self, input_shape) -> None:
        """Build every layer for inputs of shape (batch, *input_shape); then flatten the
        parameters into :attr:`buffers`."""
        if self.built:
            return
        if not self.layers:
            raise ValueError("Sequential has no layers to build")
        shape = tuple(None if d is None else int(d) for d in input_shape)
        self.input_shape = shape
        if self.seed is not None:  # layers without their own seed draw from the model's
            holders = rng_layers(self.layers)
            for layer, ss in zip(
                holders, np.random.SeedSequence(self.seed).spawn(len(holders)), strict=True
            ):
                if layer.seed is None:
                    layer.rng = np.random.default_rng(ss)
        for layer in self.layers:
            if not layer.built:
                layer.build(shape)
            shape = layer.compute_output_shape(shape)
            if isinstance(shape, list):
                raise ValueError(
                    f"{layer.name}: Sequential needs one output per layer; "
                    f"use return_state=False inside a Sequential"
                )
        self.output_shape = shape
        self._flatten()
        self.built = True
        if self.optimizer is not None:
            self.optimizer.build(self._buffers.params, self._buffers.segments)

    def _flatten(self) -> None:
        """Move every parameter (and gradient) into one contiguous buffer per dtype."""
        sizes: dict[str, list[int]] = {}
        for layer in self.layers:
            for p in layer.params:
                sizes.setdefault(p.dtype.name, []).append(p.size)
        flat_p = {k: np.empty(sum(v), k) for k, v in sizes.items()}  # all parameters
        flat_g = {k: np.zeros(sum(v), k) for k, v in sizes.items()}  # all gradients
        self._buffers = FlatBuffers(flat_p, flat_g, sizes)
        offset = dict.fromkeys(sizes, 0)
        for layer in self.layers:
            ps, gs = [], []
            for p in layer.params:
                k, o, n = p.dtype.name, offset[p.dtype.name], p.size
                ps.append(flat_p[k][o : o + n].reshape(p.shape))
                gs.append(flat_g[k][o : o + n].reshape(p.shape))
                offset[k] += n
            layer.rebind(ps, gs)

    @property
    def buffers(self) -> FlatBuffers:
        """The flat parameter and gradient buffers, one per dtype (see :class:`FlatBuffers`):
        what optimizers, MPI and EarlyStopping work on."""
        return self._buffers

    @property
    def flat_params(self):
        """Shortcut for ``buffers.params``: the one parameter buffer when every layer has
        the same dtype (the usual case), else the {dtype name: array} dict."""
        p = self._buffers.params
        return next(iter(p.values())) if len(p) == 1 else p

    @property
    def flat_grads(self):
        """Shortcut for ``buffers.grads``, as :attr:`flat_params`."""
        g = self._buffers.grads
        return next(iter(g.values())) if len(g) == 1 else g

    def count_params(self) -> int:
        return int(sum(layer.count_params() for layer in self.layers))

    def get_weights(self) -> list[np.ndarray]:
        return [w for layer in self.layers for w in layer.get_weights()]

    def set_weights(self, weights) -> None:
        weights = list(weights)
        want = sum(len(layer.params) for layer in self.layers)
        if len(weights) != want:
            raise ValueError(f"set_weights expected {want} arrays, got {len(weights)}")
        for layer in self.layers:
            n = len(layer.params)
            layer.set_weights(weights[:n])
            weights = weights[n:]

    def get_config(self) -> dict:
        return {
            "name": self.name,
            "layers": [
                {"type": layer.type_name, "config": layer.get_config()} for layer in self.layers
            ],
            "input_shape": None if self.input_shape is None else list(self.input_shape),
        }

    # ------------------------------------------------------------ computation
    def forward_masked(self, x, training=False):
        """Run every layer on x → (output, the mask reaching the output, or None)."""
        x = np.asarray(x)
        if not self.built:
            self.build(x.shape[1:])
        mask = None
        for layer in self.layers:
            y = layer.forward(x, training=training, mask=mask)
            mask = layer.compute_mask(mask, x)
            x = y
        return x, mask

    def _backward(self, dy, layers) -> None:
        for layer in reversed(layers):
            dy = layer.backward(dy)
            if dy is None:  # nothing flows below an Embedding
                break

    def __call__(self, x, training=False):
        return self.forward_masked(x, training)[0]

    def loss_weights(self, y_pred, mask):
        """The loss weights a mask reaching the output gives (padded steps do not count)."""
        if mask is not None and y_pred.ndim == 3 and mask.shape == y_pred.shape[:2]:
            return mask.astype(y_pred.dtype)
        return None

    def compute_gradients(self, x, y, training=True):
        """Forward, loss, backward: fills ``buffers.grads`` with ∂L/∂θ;
        returns (loss, y_pred, loss weights)."""
        self.check_compiled()
        y_pred, mask = self.forward_masked(x, training=training)
        w = self.loss_weights(y_pred, mask)
        if self._softmax_ce_from_logits():
            # Keras' shortcut: softmax output + cross-entropy from probabilities is taken from
            # the logits z: ∂L/∂z = softmax(z) − y exactly, never stalled by the ε-clipping of p
            last = self.layers[-1]
            loss, dz = type(self.loss)(from_logits=True).value_and_grad(
                y, last.logits, sample_weight=w
            )
            self._backward(last.backward_from_logits(dz), self.layers[:-1])
            return loss, y_pred, w
        loss, dy = self.loss.value_and_grad(y, y_pred, sample_weight=w)
        self._backward(dy, self.layers)
        return loss, y_pred, w

    def loss_value(self, y, y_pred, w=None) -> float:
        """The batch loss after a forward pass, as training computes it (from the logits
        for a softmax output with cross-entropy)."""
        if self._softmax_ce_from_logits():
            return type(self.loss)(from_logits=True)(y, self.layers[-1].logits, sample_weight=w)
        return self.loss(y, y_pred, sample_weight=w)

    def _softmax_ce_from_logits(self) -> bool:
        last = self.layers[-1]
        return (
            isinstance(self.loss, losses_mod.CategoricalCrossentropy)
            and not self.loss.from_logits
            and isinstance(last, (Dense, Activation))
            and last.activation == "softmax"
        )

    def train_on_batch(self, x, y, return_dict=False):
        """One gradient step on (x, y); returns the loss (and this batch's metrics)."""
        loss, y_pred, w = self.compute_gradients(x, y)
        self.apply_gradients()
        return self._pack(loss, y, y_pred, w, return_dict)

    def apply_gradients(self) -> None:
        """One optimizer step from ``flat_grads`` (a few vectorised ops per dtype buffer)."""
        self.optimizer.step(self._buffers.params, self._buffers.grads)

    def test_on_batch(self, x, y, return_dict=False):
        self.check_compiled()
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

    # ------------------------------------------------------------ Keras API
    def compile(self, optimizer="rmsprop", loss=None, metrics=None) -> None:
        self.optimizer = optim_mod.get(optimizer)
        if loss is None:
            raise ValueError("compile needs a loss, e.g. loss='mse' or 'categorical_crossentropy'")
        self.loss = losses_mod.get(loss)
        self.metrics = [metrics_mod.get(m, self.loss.name) for m in (metrics or [])]
        if self.built:
            self.optimizer.build(self._buffers.params, self._buffers.segments)

    def check_compiled(self) -> None:
        """Raise RuntimeError unless compile has given the model an optimizer and a loss."""
        if self.optimizer is None or self.loss is None:
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
        initial_epoch=0,
        seed=None,
        checkpoint=None,
        checkpoint_every=None,
        resume=None,
        comm=None,
    ):
        """Train; returns a History (``history.history["loss"]``, ``"val_loss"``, metrics…).

        ``seed`` makes the run bit-identical on the same machine (shuffling and every
        layer's dropout RNG are reseeded from it). ``checkpoint=path`` writes a training
        checkpoint atomically after every epoch (and every ``checkpoint_every`` batches);
        ``resume=path`` continues from one (a missing file means: start from scratch).
        Under ``mpiexec -n N`` it trains data-parallel (``batch_size`` stays the global
        batch; see :mod:`lstmkit.parallel`); ``comm=LocalComm()`` keeps it to this process.

        Faults: a batch whose loss or gradients are NaN/inf is not applied; training stops
        with the weights from before it, a line on stderr names the epoch and batch, and
        ``history.diverged`` = {"epoch", "batch", "loss"} (None when all went well). On
        Ctrl-C (SIGINT, one process, main thread) the batch in flight finishes, a
        checkpoint is written when ``checkpoint`` is set, and fit raises KeyboardInterrupt
        (a second Ctrl-C interrupts at once); ``resume=`` continues from that batch."""
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
        )

    def evaluate(self, x, y, batch_size=32, verbose=0, return_dict=False, comm=None):
        """Loss (and metrics) over all of (x, y), in batches, in inference mode."""
        logs = evaluate_loop(self, x, y, batch_size, comm=comm)
        if verbose:
            print(" - ".join(f"{k}: {v:.4f}" for k, v in logs.items()))
        if return_dict:
            return logs
        return logs["loss"] if not self.metrics else list(logs.values())

    def predict(self, x, batch_size=32, verbose=0):
        x = np.asarray(x)
        if len(x) == 0:
            raise ValueError("predict got an empty input")
        outs = [self.forward_masked(x[i : i + batch_size])[0] for i in range(0, len(x), batch_size)]
        return np.concatenate(outs, axis=0)

    def reset_states(self):
        for layer in self.layers:
            if hasattr(layer, "reset_states"):
                layer.reset_states()

    # ------------------------------------------------------------ printing, io
    def summary(self, print_fn=print) -> None:
        """Layers, output shapes and parameter counts (Keras' counts)."""
        if not self.built:
            raise ValueError(
                "This model has not been built yet: call build(input_shape) "
                "or fit / predict on some data first"
            )
        rows, shape = [], self.input_shape
        for layer in self.layers:
            shape = layer.compute_output_shape(shape)
            rows.append(
                (
                    f"{layer.name} ({type(layer).__name__})",
                    str((None, *shape)),
                    f"{layer.count_params():,}",
                )
            )
        w = [max(28, *(len(r[0]) + 2 for r in rows)), max(24, *(len(r[1]) + 2 for r in rows)), 12]
        line = "=" * sum(w)
        out = [
            f'Model: "{self.name}"',
            "-" * sum(w),
            "Layer (type)".ljust(w[0]) + "Output Shape".ljust(w[1]) + "Param #",
            line,
        ]
        out += [a.ljust(w[0]) + b.ljust(w[1]) + c for a, b, c in rows]
        total = self.count_params()
        out += [
            line,
            f"Total params: {total:,}",
            f"Trainable params: {total:,}",
            "Non-trainable params: 0",
            "-" * sum(w),
        ]
        for s in out:
            print_fn(s)

    def save(self, path) -> None:
        """One safetensors file: weights under PyTorch names + the config as JSON. No pickle."""
        write_model(self, path)

    def save_checkpoint(self, path) -> None:
        """Weights + optimizer state + training position + RNG states, written atomically."""
        save_checkpoint(self, path)

    def __repr__(self):
        return f"Sequential({[type(layer).__name__ for layer in self.layers]}, built={self.built})"
