"""Issue 22, item 10: the smaller holes — terminal escapes, lenient numbers, disordered
timestamps, a FIFO as input, the memory of refusing a gzip bomb, Ctrl-C during
imports, and what the README says about exporting stateful models."""

from __future__ import annotations

import gzip
import os
import shutil
import subprocess
import sys
import time
import tracemalloc
import zlib
from pathlib import Path

import pytest
from _jobs import FORECAST, cli, one_line_error

from lstmkit import LSTM, Dense, Sequential
from lstmkit.data.csv import read_table, read_text
from lstmkit.errors import UserError

ROOT = Path(__file__).resolve().parents[2]
SRC = str(ROOT / "src")
ESC = "\x1b"


def test_inspect_escapes_control_characters_in_layer_names(tmp_path):
    m = Sequential([LSTM(3, name="evil\x1b[2J\x1b]0;pwned\x07"), Dense(1, name="d\x9b31m")])
    m.build((4, 2))
    m.save(tmp_path / "m.safetensors")
    for extra in ([], ["--json"]):
        rc, out, err = cli("inspect", tmp_path / "m.safetensors", *extra)
        assert rc == 0, err
        assert ESC not in out and "\x07" not in out and "\x9b" not in out
        assert "\\x1b" in out or "\\u001b" in out  # shown, escaped


def test_sample_escapes_control_characters_of_the_vocabulary(tmp_path, trained):
    d = tmp_path / "m"
    shutil.copytree(trained["textgen"], d)
    side = d / "model.json"
    text = side.read_text()
    import json

    meta = json.loads(text)
    chars = meta["chars"]
    meta["chars"] = ESC + chars[1:]  # same length: the model still fits
    side.write_text(json.dumps(meta))
    rc, out, err = cli(
        "textgen", "sample", d, "--length", "300", "--prime", chars[5], "--temperature", "5"
    )
    assert rc == 0, err
    assert ESC not in out


@pytest.mark.parametrize(
    "cell", ["3_316.10", "\u0663.5", "1,5", "0x10", "nan", "inf", "1e999", " "]
)
def test_numbers_are_parsed_strictly(tmp_path, cell):
    p = tmp_path / "n.csv"
    p.write_text(f't;value\n1;2.5\n2;"{cell}"\n')
    with pytest.raises(UserError, match="expected a"):
        read_table(p).numeric("value")


def test_plain_numbers_still_read(tmp_path):
    p = tmp_path / "n.csv"
    p.write_text("t,value\n1,2.5\n2,-3e2\n3,+.5\n4, 7 \n5,1E-3\n")
    assert list(read_table(p).numeric("value")) == [2.5, -300.0, 0.5, 7.0, 0.001]


@pytest.mark.parametrize("kind", ["duplicate", "unsorted"])
def test_forecast_does_not_accept_disordered_timestamps_silently(tmp_path, job_inputs, kind):
    """A repeated time is refused (one line naming both rows); rows out of order are
    sorted and the run says so (the forecast job's rule since issue 18) — never silent."""
    lines = job_inputs["series"].read_text().splitlines()
    head, rows = lines[0], lines[1:]
    if kind == "duplicate":
        rows[40] = rows[39].split(",")[0] + "," + rows[40].split(",", 1)[1]
    else:
        rows[40], rows[41] = rows[41], rows[40]
    p = tmp_path / "s.csv"
    p.write_text("\n".join([head, *rows]) + "\n")
    rc, out, err = cli("forecast", p, "--target", "value", *FORECAST, "--out", tmp_path / "o")
    if kind == "duplicate":
        line = one_line_error(rc, err)
        assert "month" in line and "twice" in line, line
    else:
        assert rc == 0, err[-2000:]
        assert "not in time order" in out + err and "sorted by 'month'" in out + err


def test_a_fifo_as_csv_input_does_not_hang(tmp_path, stats):
    fifo = tmp_path / "in.csv"
    os.mkfifo(fifo)
    code = (
        "import sys\nfrom lstmkit.data.csv import read_table\n"
        "from lstmkit.errors import UserError\n"
        "try:\n    read_table(sys.argv[1])\nexcept UserError as e:\n    print(e)\n"
    )
    r = subprocess.run(
        [sys.executable, "-c", code, str(fifo)],
        env={**os.environ, "PYTHONPATH": SRC},
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert r.returncode == 0 and "FIFO" in r.stdout, (r.stdout, r.stderr)
    stats(inputs_tried=1, refused_cleanly=1)


def test_refusing_a_gzip_bomb_holds_almost_nothing(tmp_path, stats):
    """~400 KB on disk, ~400 MiB unpacked, against the default 256 MiB limit."""
    member = gzip.compress(b"0" * (4 * 2**20), compresslevel=9)  # 4 MiB → ~4 KB
    p = tmp_path / "bomb.csv.gz"
    p.write_bytes(member * 100)  # a valid multi-member gzip file
    assert os.path.getsize(p) < 500_000
    tracemalloc.start()
    t = time.perf_counter()
    with pytest.raises(UserError, match="larger than 256 MiB"):
        read_text(p)
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    assert peak < 100 * 2**20, peak
    assert time.perf_counter() - t < 10
    stats(inputs_tried=1, refused_cleanly=1)
    assert zlib  # (the members are plain deflate streams)


INTERRUPT_DURING_IMPORT = r"""
import importlib.abc, sys, tomllib

class Interrupt(importlib.abc.MetaPathFinder):  # Ctrl-C just as lstmkit.model is imported
    def find_spec(self, name, path=None, target=None):
        if name == "lstmkit.model":
            raise KeyboardInterrupt
        return None

sys.meta_path.insert(0, Interrupt())
entry = tomllib.load(open(sys.argv[1], "rb"))["project"]["scripts"]["lstmkit"]
mod, func = entry.split("#")[0].strip().split(":")
sys.argv = ["lstmkit", "--version"]
m = __import__(mod, fromlist=[func])  # what the console script does
sys.exit(getattr(m, func)())
"""


def test_ctrl_c_during_imports_is_not_a_traceback():
    """SIGINT while the package is still importing: 'interrupted', exit 130 — for the
    ``lstmkit`` console script, whose entry point is read from pyproject.toml."""
    r = subprocess.run(
        [sys.executable, "-c", INTERRUPT_DURING_IMPORT, str(ROOT / "pyproject.toml")],
        env={**os.environ, "PYTHONPATH": SRC},
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert r.returncode == 130 and "Traceback" not in r.stderr, r.stderr[-2000:]
    assert "interrupted" in r.stderr


def test_readme_says_stateful_models_cannot_go_to_onnx(tmp_path, trained):
    text = " ".join((ROOT / "README.md").read_text().split())
    assert "stateful" in text and "ONNX" in text
    i = text.index("stateful models")
    assert "ONNX" in text[i - 200 : i + 200]
    rc, _, err = cli("export", trained["textgen"], "--onnx", tmp_path / "t.onnx")
    assert "stateful" in one_line_error(rc, err)
