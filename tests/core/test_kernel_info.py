"""`lstmkit --version` and `lstmkit info` say which kernel runs (and the switches change it)."""

import json

import pytest

from lstmkit import cli
from lstmkit.core import gates


def _run(capsys, *argv):
    try:
        rc = cli.main(list(argv))
    except SystemExit as e:  # --version exits through argparse
        rc = e.code
    out = capsys.readouterr()
    return rc, out.out, out.err


def test_version_names_the_kernel(capsys):
    rc, out, _ = _run(capsys, "--version")
    assert rc == 0
    first, second = out.strip().splitlines()
    assert first.startswith("lstmkit ")
    assert second == f"kernel: {gates.kernel_info()}"


def test_info_follows_the_switches(capsys, monkeypatch):
    monkeypatch.setenv("LSTMKIT_NO_EXT", "1")
    rc, out, _ = _run(capsys, "info", "--json")
    assert rc == 0 and json.loads(out)["kernel"] == "numpy (LSTMKIT_NO_EXT=1)"
    monkeypatch.delenv("LSTMKIT_NO_EXT")
    if not gates.extension_available():
        pytest.skip("no compiled kernel here: nothing else to switch")
    monkeypatch.setenv("LSTMKIT_ISA", "baseline")
    rc, out, _ = _run(capsys, "info")
    base = "sse2" if gates.kernel_details()["best"] != "neon" else "neon"
    assert rc == 0 and f"kernel: packed {base} (4 lanes)" in out
    monkeypatch.setenv("LSTMKIT_ISA", "blas")
    rc, out, _ = _run(capsys, "info", "--json")
    assert json.loads(out)["path"] == "blas" and "BLAS call per step" in json.loads(out)["kernel"]


def test_info_refuses_a_bad_isa_in_one_line(capsys, monkeypatch):
    if not gates.extension_available():
        pytest.skip("LSTMKIT_ISA is read by the compiled kernel")
    monkeypatch.delenv("LSTMKIT_NO_EXT", raising=False)  # (a run may force NumPy)
    monkeypatch.setenv("LSTMKIT_ISA", "avx9000")
    rc, out, err = _run(capsys, "info")
    assert rc == 2 and out == ""
    assert err.count("\n") == 1 and "LSTMKIT_ISA: expected one of" in err
    rc, out, _ = _run(capsys, "--version")  # --version still answers, and says why
    assert rc == 0 and "kernel: (not usable: LSTMKIT_ISA" in out
