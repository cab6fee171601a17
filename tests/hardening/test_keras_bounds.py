"""``.keras`` archives (issue 22, item 6): bad ``units`` or a Bidirectional without its
layer are one-line refusals, not tracebacks; a config declaring ``units=30000`` over
small weights is refused before anything is allocated; a small archive that inflates to
gigabytes is refused while it inflates. The base archive is data/float.keras, saved by
Keras 3 (see _fuzz_keras.py)."""

from __future__ import annotations

import io
import json
import os
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

pytest.importorskip("h5py")

HERE = Path(__file__).resolve().parent
SRC = str(HERE.parents[1] / "src")
BASE = HERE / "data" / "float.keras"


def _archive(path, config=None, weights=None, method=zipfile.ZIP_STORED):
    with zipfile.ZipFile(BASE) as z:
        parts = {i.filename: z.read(i.filename) for i in z.infolist()}
    if config is not None:
        parts["config.json"] = json.dumps(config).encode()
    if weights is not None:
        parts["model.weights.h5"] = weights
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", method) as z:
        for n, d in parts.items():
            z.writestr(n, d)
    Path(path).write_bytes(buf.getvalue())
    return path


def _config():
    with zipfile.ZipFile(BASE) as z:
        return json.loads(z.read("config.json"))


def _layer(cfg, cls):
    return next(e for e in cfg["config"]["layers"] if e["class_name"] == cls)["config"]


def cases(d: Path, bomb: bool = True) -> dict[str, Path]:
    out = {}
    for v in ("x", -3, 2.5, None):
        c = _config()
        _layer(c, "LSTM")["units"] = v
        out[f"units={v}"] = _archive(d / f"units-{v}.keras", c)
    for v in (None, [], {"class_name": "GRU"}):
        c = _config()
        _layer(c, "Bidirectional")["layer"] = v
        out[f"bidir-layer={v}"] = _archive(d / f"bidir-{len(str(v))}.keras", c)
    c = _config()
    _layer(c, "LSTM")["units"] = 30000  # the weights stay those of LSTM(4)
    out["units=30000"] = _archive(d / "units-30000.keras", c)
    if bomb:
        with zipfile.ZipFile(BASE) as z:
            w = z.read("model.weights.h5")
        out["inflates-to-1GiB"] = _archive(
            d / "bomb.keras", weights=w + b"\0" * 2**30, method=zipfile.ZIP_DEFLATED
        )
    return out


CHILD = r"""
import resource, sys, time, tracemalloc
import lstmkit
from lstmkit.io.keras_interop import load_keras
from lstmkit.errors import UserError
with open("/proc/self/status") as f:
    vm = next(int(l.split()[1]) * 1024 for l in f if l.startswith("VmSize:"))
resource.setrlimit(resource.RLIMIT_AS, (vm + 2**30, resource.RLIM_INFINITY))
for p in sys.argv[1:]:
    tracemalloc.start()
    t = time.process_time()
    try:
        load_keras(p)
        kind = "loaded"
    except UserError:
        kind = "refused"
    except BaseException as e:
        kind = type(e).__name__
    print(kind, round(time.process_time() - t, 3), tracemalloc.get_traced_memory()[1], flush=True)
    tracemalloc.stop()
"""


def test_hostile_keras_archives_are_refused_within_bounds(tmp_path, stats):
    cs = cases(tmp_path)
    assert os.path.getsize(cs["inflates-to-1GiB"]) < 2_000_000
    r = subprocess.run(
        [sys.executable, "-c", CHILD, *map(str, cs.values())],
        env={**os.environ, "PYTHONPATH": SRC, "OMP_NUM_THREADS": "1"},
        capture_output=True,
        text=True,
        timeout=300,
    )
    rows = r.stdout.split("\n")[: len(cs)]
    assert len(rows) == len(cs), r.stderr[-2000:]
    for name, row in zip(cs, rows, strict=True):
        kind, cpu, peak = row.split()
        assert kind == "refused", (name, row)
        assert float(cpu) < 1.0 and int(peak) < 100 * 2**20, (name, row)
    stats(inputs_tried=len(cs), refused_cleanly=len(cs), kind=".keras archives")


def test_inspect_refuses_them_with_one_line(tmp_path):
    from _jobs import cli, one_line_error

    for p in cases(tmp_path, bomb=False).values():
        rc, _, err = cli("inspect", p)
        one_line_error(rc, err)
