"""Fuzz worker: tampered training checkpoints, resumed with ``fit(resume=…)``.

    python _fuzz_checkpoints.py WORKDIR SEED OUT.json

Two base checkpoints, written mid-epoch by real runs: one with Adam, EarlyStopping
(best weights), ReduceLROnPlateau, CSVLogger and ModelCheckpoint state; one of a stateful
model (h, c tensors). Cases: every model-file mutation of _fuzz_worker.py applied to them
(bytes, header, metadata, configs), every value of the training_state JSON replaced by
junk or deleted, NaN written into each tensor, optimizer / state / callback tensors
dropped, added, retyped or reshaped. The trial resumes a fresh model with the same
callbacks from the file and trains to the end; accepted files must leave finite weights.
"""

from __future__ import annotations

import json
import os
import sys

import numpy as np
from _fuzz_harness import JUNK, json_paths, replaced, run, write
from _fuzz_worker import mutations, pack, relayout, set_meta, split, tensors_of

from lstmkit import LSTM, Dense, Dropout, Sequential
from lstmkit.callbacks import (
    Callback,
    CSVLogger,
    EarlyStopping,
    ModelCheckpoint,
    ReduceLROnPlateau,
)


class Stop(Exception):
    pass


class StopAt(Callback):
    def __init__(self, step):
        super().__init__()
        self.step = step

    def on_train_batch_end(self, batch, logs=None):
        if self.model.optimizer.iterations == self.step:
            raise Stop


def setup(workdir, kind):
    rng = np.random.default_rng(1)
    if kind == "callbacks":
        x = rng.standard_normal((16, 4, 2)).astype(np.float32)
        y = x[:, :, :1].mean(1).astype(np.float32)
        fit = dict(epochs=4, batch_size=4, verbose=0, seed=0, validation_split=0.25)

        def model():
            m = Sequential([LSTM(3, dropout=0.1), Dropout(0.1), Dense(1)], seed=0)
            m.compile("adam", "mse", metrics=["mae"])
            return m

        def callbacks():
            return [
                EarlyStopping(patience=2, restore_best_weights=True),
                ReduceLROnPlateau(patience=1, factor=0.5),
                CSVLogger(os.path.join(workdir, f"log-{kind}.csv")),
                ModelCheckpoint(
                    os.path.join(workdir, f"best-{kind}.safetensors"), save_best_only=True
                ),
            ]

        stop = 5  # epoch 2, batch 2 of 3
    else:
        x = rng.standard_normal((8, 4, 2)).astype(np.float32)
        y = rng.standard_normal((8, 4, 1)).astype(np.float32)
        fit = dict(epochs=3, batch_size=4, verbose=0, seed=0, shuffle=False)

        def model():
            m = Sequential([LSTM(3, return_sequences=True, stateful=True), Dense(1)], seed=0)
            m.compile("rmsprop", "mse")
            return m

        def callbacks():
            return []

        stop = 3
    ck = os.path.join(workdir, f"base-{kind}.safetensors")
    try:
        model().fit(
            x, y, checkpoint=ck, checkpoint_every=1, callbacks=callbacks() + [StopAt(stop)], **fit
        )
    except Stop:
        pass
    return ck, (x, y, fit, model, callbacks)


def main():
    workdir, seed, out_path = sys.argv[1], int(sys.argv[2]), sys.argv[3]
    rng = np.random.default_rng(seed)
    bases = {k: setup(workdir, k) for k in ("callbacks", "stateful")}
    case = os.path.join(workdir, "case.safetensors")

    def trial(arg):
        x, y, fit, model, callbacks = bases[arg][1]
        m = model()
        with np.errstate(all="ignore"):
            m.fit(x, y, resume=case, callbacks=callbacks(), **fit)
        return "harmless" if np.isfinite(m.flat_params).all() else "crashed"

    for k, (ck, _) in bases.items():  # warm-up
        write(case, open(ck, "rb").read())
        assert trial(k) == "harmless"

    def cases():
        for kind, (ck, _) in bases.items():
            raw = open(ck, "rb").read()
            header, data = split(raw)

            def put(blob, kind=kind):
                return lambda: (write(case, blob), kind)[1]

            for label, blob, _ in mutations(kind, raw, rng):  # the model-file mutations
                yield f"{kind}:{label}", put(blob)
            st = json.loads(header["__metadata__"]["training_state"])
            paths = list(json_paths(st))
            picks = [
                paths[int(i)] for i in rng.choice(len(paths), min(len(paths), 14), replace=False)
            ]
            for p in picks:
                for v in [*JUNK, ...]:
                    h = set_meta(header, "training_state", replaced(st, p, v))
                    yield (
                        f"{kind}:ts.{'.'.join(map(str, p))[:40]}={str(v)[:10]}",
                        put(pack(h, data)),
                    )
            names = sorted(tensors_of(header))
            for n in names:
                b0 = header[n]["data_offsets"][0]
                d = bytearray(data)
                if header[n]["data_offsets"][1] > b0:
                    d[b0 : b0 + 4] = np.float32(np.nan).tobytes()
                    yield f"{kind}:nan-{n}", put(pack(header, bytes(d)))
                if not n[0].isdigit():  # optimizer., state., callback. tensors
                    h, dd = relayout(header, data, drop=[n])
                    yield f"{kind}:drop-{n}", put(pack(h, dd))
                    e = header[n]
                    count = int(np.prod(e["shape"]))
                    h, dd = relayout(
                        header, data, drop=[n], add={n: ("F64", e["shape"], b"\0" * 8 * count)}
                    )
                    yield f"{kind}:f64-{n}", put(pack(h, dd))
                    h, dd = relayout(
                        header,
                        data,
                        drop=[n],
                        add={n: ("F32", [count + 1], b"\0" * 4 * (count + 1))},
                    )
                    yield f"{kind}:longer-{n}", put(pack(h, dd))
            for extra in (
                "callback.0.best_weights.float32",
                "callback.9.x",
                "state.0.5",
                "optimizer.m.float64",
                "state.x.y",
            ):
                h, dd = relayout(header, data, add={extra: ("F32", [3], b"\0" * 12)})
                yield f"{kind}:add-{extra}", put(pack(h, dd))

    run(cases(), trial, out_path)


if __name__ == "__main__":
    main()
