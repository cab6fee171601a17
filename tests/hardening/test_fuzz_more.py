"""Hostile sidecars, checkpoints and .keras archives (issue 22): at least 1 000 of each,
every one refused cleanly or accepted with sane results — no traceback, no hang, at
most 1 s and 100 MB (tracemalloc peak) each, no code run, no module imported. Each kind
runs in its own subprocess (see _fuzz_harness.py: address space capped, audit hook,
a 5 s alarm per input)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

HERE = Path(__file__).resolve().parent
SRC = str(HERE.parents[1] / "src")
WORKERS = {
    "sidecars": "_fuzz_sidecars.py",
    "checkpoints": "_fuzz_checkpoints.py",
    ".keras archives": "_fuzz_keras.py",
}


@pytest.mark.parametrize("kind", list(WORKERS))
def test_fuzz(tmp_path, stats, kind):
    if kind == ".keras archives":
        pytest.importorskip("h5py")  # (the keras extra; the dev extra installs it)
    out = tmp_path / "result.json"
    env = {
        **os.environ,
        "PYTHONPATH": os.pathsep.join([SRC, str(HERE)]),
        "OMP_NUM_THREADS": "1",
        "OPENBLAS_NUM_THREADS": "1",
    }
    p = subprocess.run(
        [sys.executable, str(HERE / WORKERS[kind]), str(tmp_path), "0", str(out)],
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert p.returncode == 0, p.stderr[-3000:]
    r = json.loads(out.read_text())
    stats(
        kind=kind,
        seconds=r["max_seconds"],
        peak=r["max_peak_bytes"],
        inputs_tried=r["tried"],
        refused_cleanly=r["refused"],
        loaded_harmless=r["harmless"],
        crashed=r["crashed"],
        hangs=r["hangs"],
    )
    assert r["tried"] >= 1000, r["tried"]
    assert r["crashed"] == 0 and r["hangs"] == 0, "\n".join(r["failures"][:30])
    assert r["refused"] + r["harmless"] == r["tried"]
    assert r["refused"] > 0.6 * r["tried"]
    assert r["max_seconds"] <= 1.0 and r["max_peak_bytes"] <= 100 * 2**20
    assert r["dangerous_events"] == [] and r["new_modules"] == [], r
