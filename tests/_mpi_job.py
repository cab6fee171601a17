"""A tiny training job for tests/test_parallel.py: run in-process (one process) or as
``mpiexec -n 2 python tests/_mpi_job.py OUT.npy DTYPE BATCH N EPOCHS OPT [CKPT]``; rank 0 writes
the final flat parameters followed by the per-epoch losses and val losses to OUT.npy."""

from __future__ import annotations

import os
import sys

import numpy as np


def make_data(n, dtype, seed=0):
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(n, 6, 3)).astype(dtype)  # (n, T=6, D=3)
    y = (x[:, :, :1].sum(axis=1) * 0.3 + 0.1).astype(dtype)  # (n, 1)
    return x, y


def train(dtype="float32", batch=8, n=40, epochs=2, opt="adam", comm=None, checkpoint=None):
    from lstmkit import optim
    from lstmkit.layers import LSTM, Dense
    from lstmkit.model import Sequential

    x, y = make_data(n, dtype)
    model = Sequential([LSTM(5, dtype=dtype), Dense(1, dtype=dtype)], seed=1)
    model.compile(
        optimizer=optim.Adam(0.01) if opt == "adam" else optim.SGD(0.05, momentum=0.9),
        loss="mse",
        metrics=["mae"],
    )
    h = model.fit(
        x,
        y,
        batch_size=batch,
        epochs=epochs,
        verbose=0,
        seed=3,
        validation_split=0.25,
        comm=comm,
        checkpoint=checkpoint,
        checkpoint_every=2 if checkpoint else None,
        resume=checkpoint,
    )
    extra = np.array(h.history["loss"] + h.history["val_loss"] + h.history["val_mae"], np.float64)
    return np.concatenate([model.flat_params.astype(np.float64), extra]), model


if __name__ == "__main__":
    out, dtype, batch, n, epochs, opt = sys.argv[1:7]
    if os.environ.get("JOB_N_ON_RANK1") and os.environ.get("PMI_RANK") == "1":
        n = os.environ["JOB_N_ON_RANK1"]  # a rank with other data (a test)
    ckpt = sys.argv[7] if len(sys.argv) > 7 else None  # checkpoint every 2 batches, resume
    flat, model = train(dtype, int(batch), int(n), int(epochs), opt, checkpoint=ckpt)
    from lstmkit.parallel import world

    comm = world()
    if comm.is_root:
        np.save(out, flat)
    else:  # every rank ends with rank 0's weights
        print(f"rank {comm.rank}: size {comm.size}", file=sys.stderr)
