"""Loading is bounded by the tensors actually in the file (issue 22, items 1 and 10).

A 16 KB file that declares ``PeepholeLSTM(units=4096)`` (or any other variant) must be
refused before anything is built; a valid file is built from its tensors without random
initialisation (no QR decomposition at load); NaN weights are refused. (The tensor layout
worked out from a config alone is checked in ``test_layout.py``.)
"""

from __future__ import annotations

import json
import os
import struct
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from lstmkit import LSTM, Bidirectional, Dense, Sequential, load_model
from lstmkit.errors import ModelFileError
from lstmkit.layers import GRU, SimpleRNN
from lstmkit.layers.variants import VARIANTS

SRC = str(Path(__file__).resolve().parents[2] / "src")
VARIANT_NAMES = [c.type_name for c in VARIANTS]


def bomb(path, layer_type: str, units: int = 4096, n_values: int = 4096):
    """A small file whose config declares a huge recurrent layer, with only ``n_values``
    float32 values (16 KB by default) in one tensor named like the real first one."""
    cfg = [{"type": layer_type, "config": {"units": units, "name": "big"}}]
    data = np.zeros(n_values, np.float32).tobytes()
    header = {
        "__metadata__": {
            "format": "lstmkit",
            "format_version": "1",
            "config": json.dumps(cfg),
            "input_shape": json.dumps([5, 1]),
        },
        "0.weight_ih_l0": {"dtype": "F32", "shape": [n_values], "data_offsets": [0, len(data)]},
    }
    hb = json.dumps(header).encode()
    Path(path).write_bytes(struct.pack("<Q", len(hb)) + hb + data)


CHILD = r"""
import resource, sys, time, tracemalloc
import lstmkit
from lstmkit.errors import ModelFileError
with open("/proc/self/status") as f:
    vm = next(int(l.split()[1]) * 1024 for l in f if l.startswith("VmSize:"))
resource.setrlimit(resource.RLIMIT_AS, (vm + 2**30, resource.RLIM_INFINITY))
out = []
for p in sys.argv[1:]:
    tracemalloc.start()
    t = time.perf_counter()
    try:
        lstmkit.load_model(p)
        kind = "loaded"
    except ModelFileError:
        kind = "refused"
    except BaseException as e:
        kind = type(e).__name__
    dt = time.perf_counter() - t
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    out.append(f"{kind} {dt:.3f} {peak}")
print("\n".join(out))
"""


def test_a_small_file_declaring_a_huge_variant_is_refused_before_building(tmp_path, stats):
    paths = []
    for t in ["LSTM", "GRU", "SimpleRNN", *VARIANT_NAMES]:
        p = tmp_path / f"{t}.safetensors"
        bomb(p, t)
        assert os.path.getsize(p) < 17_000
        paths.append(str(p))
    env = {**os.environ, "PYTHONPATH": SRC, "OMP_NUM_THREADS": "1", "OPENBLAS_NUM_THREADS": "1"}
    r = subprocess.run(
        [sys.executable, "-c", CHILD, *paths], env=env, capture_output=True, text=True, timeout=120
    )
    assert r.returncode == 0, r.stderr[-2000:]
    rows = r.stdout.strip().split("\n")
    assert len(rows) == len(paths)
    for p, row in zip(paths, rows, strict=True):
        kind, dt, peak = row.split()
        assert kind == "refused", (Path(p).name, row)
        assert float(dt) < 1.0 and int(peak) < 100 * 2**20, (Path(p).name, row)
    stats(inputs_tried=len(paths), refused_cleanly=len(paths), kind="model files")


def test_loading_builds_without_random_init(tmp_path, monkeypatch):
    """No initializer draws and no QR decomposition run at load: the weights come from
    the file. (Built models of every layer type still load bit-identically.)"""
    m = Sequential(
        [
            LSTM(5, return_sequences=True),
            GRU(4, return_sequences=True),
            Bidirectional(SimpleRNN(3)),
            Dense(2),
        ],
        seed=0,
    )
    m.build((6, 3))
    p = tmp_path / "m.safetensors"
    m.save(p)
    calls = []
    real_qr = np.linalg.qr
    monkeypatch.setattr(np.linalg, "qr", lambda *a, **k: calls.append(1) or real_qr(*a, **k))
    loaded = load_model(p)
    assert calls == [], "a QR decomposition ran while loading"
    for a, b in zip(m.get_weights(), loaded.get_weights(), strict=True):
        assert np.array_equal(a, b)


def test_nan_weights_in_a_file_are_refused(tmp_path):
    m = Sequential([LSTM(3), Dense(1)], seed=0)
    m.build((4, 2))
    w = m.get_weights()
    w[1][0, 0] = np.nan
    m.set_weights(w)
    p = tmp_path / "nan.safetensors"
    m.save(p)
    with pytest.raises(ModelFileError, match="NaN or infinite"):
        load_model(p)
