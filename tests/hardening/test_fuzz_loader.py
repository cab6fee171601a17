"""Hostile inputs: mutated model files, and the CSV / text readers behind the CLI.

Model files run in a subprocess (``_fuzz_worker.py``) with the address space capped at
what it has mapped + 1 GiB, an audit hook for anything that executes code or spawns a
process, tracemalloc per file and a 0.5 s bound per file. Each file must be refused with
ModelFileError or load as a valid model.
"""

from __future__ import annotations

import gzip
import json
import os
import subprocess
import sys
import time
import tracemalloc
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from lstmkit import cli
from lstmkit.data.csv import read_table, read_text
from lstmkit.data.text import CharVocab, WordVocab, words
from lstmkit.errors import UserError

HERE = Path(__file__).resolve().parent
SRC = str(HERE.parents[1] / "src")


def test_mutated_model_files_are_refused_cleanly(tmp_path, stats):
    out = tmp_path / "result.json"
    env = {**os.environ, "PYTHONPATH": SRC, "OMP_NUM_THREADS": "1", "OPENBLAS_NUM_THREADS": "1"}
    p = subprocess.run(
        [sys.executable, str(HERE / "_fuzz_worker.py"), str(tmp_path), "0", str(out)],
        env=env,
        capture_output=True,
        text=True,
        # (a safety net only: every input's CPU time is bounded below; on a loaded 2-core
        # machine ~1 000 inputs can take minutes of wall-clock time)
        timeout=900,
    )
    assert p.returncode == 0, p.stderr[-3000:]
    r = json.loads(out.read_text())
    stats(
        kind="model files",
        seconds=r["max_seconds"],
        peak=r["max_peak_bytes"],
        inputs_tried=r["tried"],
        refused_cleanly=r["refused"],
        loaded_harmless=r["harmless"],
        crashed=r["crashed"],
    )
    assert r["tried"] >= 1000
    assert r["crashed"] == 0, "\n".join(r["failures"][:30])
    assert r["refused"] + r["harmless"] == r["tried"]
    assert r["refused"] > 0.8 * r["tried"]  # nearly every mutation must be caught
    assert r["max_seconds"] < 0.5
    assert r["max_peak_bytes"] < 64 * 2**20, r["max_peak_bytes"]
    assert r["dangerous_events"] == [], r["dangerous_events"]
    assert r["new_modules"] == [], r["new_modules"]


# ------------------------------------------------------------------ CSV and text readers
def _csv_cases(d: Path):
    """(name, path, column to read as numbers or None) — every one must be a UserError."""

    def w(name, data: bytes):
        p = d / name
        p.write_bytes(data)
        return p

    yield "empty", w("empty.csv", b""), None
    yield "blank", w("blank.csv", b"  \n\n \t\n"), None
    yield "header-only", w("header.csv", b"time,value\n"), None
    yield "header-blank-lines", w("header2.csv", b"time,value\n\n,\n"), None
    yield "mixed", w("mixed.csv", b"time,value\n1,2.5\n2,abc\n3,4\n"), "value"
    yield "empty-cell", w("emptycell.csv", b"time,value\n1,2.5\n2,\n"), "value"
    for bad in (b"nan", b"NaN", b"inf", b"-inf", b"1e999", b"Infinity"):
        yield (
            f"nonfinite-{bad!r}",
            w(f"nf{len(bad)}{bad[0]}.csv", b"time,value\n1,2.5\n2," + bad + b"\n"),
            "value",
        )
    yield "wrong-delimiter", w("pipe.csv", b"time|value\n1|2\n2|3\n"), "value"
    yield "ragged", w("ragged.csv", b"a,b\n1,2\n3\n"), None
    yield "duplicate-header", w("dup.csv", b"a,a\n1,2\n"), None
    yield "non-utf8", w("latin.csv", b"time,value\n1,caf\xe9\n"), None
    yield "utf16", w("u16.csv", "time,value\n1,2\n".encode("utf-16")), None
    yield "nul-bytes", w("nul.csv", b"time,value\n1,\x002\n"), "value"
    yield "huge-field", w("field.csv", b"a,b\n1," + b"9" * 300_000 + b"\n"), "b"
    yield "bad-quote", w("quote.csv", b'a,b\n1,"2\n3,4\n'), "b"
    yield "corrupt-gz", w("bad.csv.gz", b"\x1f\x8b\x08\x00garbage-not-deflate" * 4), None
    yield "not-gz", w("plain.csv.gz", b"time,value\n1,2\n"), None
    yield "missing", d / "nope.csv", None
    yield "directory", d, None
    big = d / "big-line.csv"  # 2 GB, one line, sparse: no disk used
    with open(big, "wb") as f:
        f.write(b"a,b\n1,")
        f.truncate(2 * 2**30 + 7)
    yield "2GB-line", big, "b"


def test_csv_reader_refuses_bad_files_with_user_error(tmp_path, stats):
    tried = 0
    tracemalloc.start()
    try:
        for name, path, col in _csv_cases(tmp_path):
            tracemalloc.reset_peak()
            t = time.perf_counter()
            with pytest.raises(UserError) as e:
                t_ = read_table(path)
                if col is not None:
                    t_.numeric(col)
            peak = tracemalloc.get_traced_memory()[1]
            msg = str(e.value)
            assert "\n" not in msg and 10 < len(msg) < 400, (name, msg)
            assert peak < 32 * 2**20, (name, peak)  # nothing read unbounded
            assert time.perf_counter() - t < 1.0, name
            tried += 1
    finally:
        tracemalloc.stop()
    stats(inputs_tried=tried, refused_cleanly=tried)


def test_gzip_bomb_is_cut_at_the_limit(tmp_path, stats):
    p = tmp_path / "bomb.csv.gz"
    with gzip.open(p, "wb") as f:  # 8 MiB of zeros → ~8 KB on disk
        f.write(b"0" * (8 * 2**20))
    assert os.path.getsize(p) < 100_000
    tracemalloc.start()
    with pytest.raises(UserError, match="larger than 1 MiB"):
        read_text(p, max_bytes=2**20)
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    assert peak < 8 * 2**20
    stats(inputs_tried=1, refused_cleanly=1)


def test_valid_csv_still_reads(tmp_path):
    p = tmp_path / "ok.csv"
    p.write_text("time;value\n1;2.5\n2;-3e2\n")
    t = read_table(p)
    assert t.columns == ["time", "value"] and list(t.numeric("value")) == [2.5, -300.0]


@pytest.mark.parametrize(
    "job,pre,post",
    [
        ("forecast", [], ["--target", "value", "--epochs", "1"]),
        ("classify", ["train"], []),
        ("textgen", ["train"], []),
    ],
)
def test_cli_jobs_refuse_hostile_files_with_one_line(tmp_path, capsys, stats, job, pre, post):
    cases = {
        "empty": b"",
        "header-only": b"time,value,label\n",
        "non-utf8": b"\xff\xfe\x00bad",
        "nan": b"time,value,label\n" + b"".join(b"%d,nan,a\n" % k for k in range(40)),
    }
    big = tmp_path / "big.csv"
    with open(big, "wb") as f:
        f.write(b"time,value,label\n1,")
        f.truncate(2 * 2**30 + 1)
    paths = {"2GB-line": big}
    for name, data in cases.items():
        paths[name] = tmp_path / f"{name}.csv"
        paths[name].write_bytes(data)
    n = 0
    for name, path in paths.items():
        if job == "textgen" and name == "nan":
            continue  # any UTF-8 text is a corpus
        argv = [
            job,
            *pre,
            str(path),
            *post,
            "--out",
            str(tmp_path / f"out-{job}-{name}"),
            "--quiet",
        ]
        code = cli.main(argv)
        err = capsys.readouterr().err.strip().splitlines()
        assert code == 2, (name, err)
        assert len(err) == 1 and err[0].startswith(f"lstmkit {job}: error: "), (name, err)
        n += 1
    stats(inputs_tried=n, refused_cleanly=n)


@settings(max_examples=60, deadline=None)
@given(st.text(max_size=300))
def test_text_tokenisers_take_any_string(s):
    toks = words(s)
    assert all(isinstance(t, str) and t for t in toks)
    v = WordVocab.build([s, s], min_count=1)
    ids = v.encode([s], maxlen=16)
    assert ids.shape == (1, 16) and ids.min() >= 0 and ids.max() < len(v)
    if s:
        cv = CharVocab.build(s)
        assert cv.decode(cv.encode(s)) == s
    np.testing.assert_array_equal(WordVocab([]).encode([s], 4) <= 1, True)


# ------------------------------------------------------------------ hostile checkpoints
def _junk_paths(o, pre=()):
    yield pre
    if isinstance(o, dict):
        for k, v in o.items():
            yield from _junk_paths(v, pre + (k,))
    elif isinstance(o, list):
        for k, v in enumerate(o[:3]):
            yield from _junk_paths(v, pre + (k,))


def test_mutated_training_state_is_refused_or_resumes(tmp_path, stats):
    """fit(resume=…) on a checkpoint whose training_state JSON was tampered with."""
    import copy
    import random

    from safetensors import safe_open
    from safetensors.numpy import load_file, save_file

    from lstmkit import LSTM, Dense, Sequential
    from lstmkit.errors import ModelFileError

    def model():
        m = Sequential([LSTM(4), Dense(2)], seed=0)
        m.compile("adam", "mse", metrics=["mae"])
        return m

    rng = np.random.default_rng(0)
    x, y = rng.standard_normal((24, 4, 3)), rng.standard_normal((24, 2))
    ck = tmp_path / "ck.safetensors"
    model().fit(x, y, epochs=2, batch_size=4, verbose=0, seed=1, checkpoint=ck, checkpoint_every=4)
    tensors = load_file(ck)
    with safe_open(ck, framework="np") as f:
        meta = f.metadata()
    st0 = json.loads(meta["training_state"])
    paths = [p for p in _junk_paths(st0) if p]
    junk = [None, -1, 2**62, 1e308, float("nan"), "x", [], {}, [[1]], True, {"a": 1}, 0.5]
    rnd = random.Random(0)
    crashed, n = [], 0
    for _ in range(120):
        st = copy.deepcopy(st0)
        p = paths[rnd.randrange(len(paths))]
        d = st
        for q in p[:-1]:
            d = d[q]
        d[p[-1]] = junk[rnd.randrange(len(junk))]
        bad = tmp_path / "bad.safetensors"
        save_file(tensors, bad, metadata={**meta, "training_state": json.dumps(st)})
        n += 1
        try:
            with np.errstate(all="ignore"):
                model().fit(x, y, epochs=3, batch_size=4, verbose=0, seed=1, resume=bad)
        except ModelFileError:
            stats(refused_cleanly=1)
            continue
        except Exception as e:  # noqa: BLE001
            crashed.append(f"{p} = {d[p[-1]]!r}: {type(e).__name__}: {e}"[:300])
            continue
        stats(loaded_harmless=1)
    stats(inputs_tried=n, crashed=len(crashed), kind="checkpoints")
    assert not crashed, "\n".join(crashed[:20])
