"""The benchmark harness runs end to end on the tiny shape and writes its table.

Numbers come from `make bench`, not from here: this only checks the plumbing
(three contenders built on the same weights, the table's columns, the JSON).
"""

import importlib.util
import json
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]

pytest.importorskip("torch")
pytest.importorskip("onnxruntime")
pytest.importorskip("threadpoolctl")


def _load_harness():
    spec = importlib.util.spec_from_file_location("bench_run", ROOT / "benchmarks" / "run.py")
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def test_harness_runs_tiny_and_writes_table(tmp_path, capsys):
    run = _load_harness()
    rc = run.main(
        [
            "--shapes",
            "tiny",
            "--quick",
            "--threads",
            "1",
            "--settle",
            "0",
            "--out",
            str(tmp_path),
            "--variants",
            "native,numpy",
        ]  # fmt: skip
    )
    assert rc == 0
    md = (tmp_path / "results.md").read_text()
    variants = ["native", "numpy"]
    cols = ["torch ms", "ORT ms", "native ms", "torch/native", "ORT/native", "numpy ms"]
    cols += ["torch/numpy", "native GF/s", "ours MB (tracemalloc)", "torch RSS Δ MB"]
    cols += ["native live ms", "ORT/native live"]  # the live layers beside the frozen ones
    for col in cols:
        assert f"| {col} |" in md, col
    assert "| tiny | 50,16,32,64 ×1 |" in md
    assert "CPU:" in md and "GEMM peak" in md and "CPU flags the kernel choice reads:" in md
    assert "- command: `python benchmarks/run.py --shapes tiny --quick" in md
    assert "lstmkit **native** (nothing forced):" in md  # the kernel line of each variant
    assert "lstmkit **numpy** (LSTMKIT_NO_EXT=1): numpy (LSTMKIT_NO_EXT=1)" in md
    res = json.loads((tmp_path / "results.json").read_text())
    (row,) = res["rows"]
    assert row["shape"] == "tiny" and row["cell"] == "LSTM"
    for k in ("torch fwd", "ort fwd", "torch train", "native fwd live") + tuple(
        f"{v} {w}" for v in variants for w in ("fwd", "train")
    ):
        assert row["ms"][k] > 0, k
    # every contender computed the same function on the same weights
    assert max(row["max_abs_diff"].values()) < 1e-4
    assert res["gemm_peak_gflops"] > 0
    assert row["mem MB"]["lstmkit tracemalloc"] > 0
    if "native" in res["kernel_peak_gflops"]:  # a packed kernel here: its peak and "at peak"
        assert res["kernel_peak_gflops"]["native"] > 0 and row["native fwd at peak ms"] > 0
        assert "| native at peak ms |" in md


def test_harness_rejects_unknown_shape(tmp_path):
    run = _load_harness()
    with pytest.raises(SystemExit):
        run.main(["--shapes", "huge", "--out", str(tmp_path)])
    assert not (tmp_path / "results.md").exists()


def test_both_avx2_table_runs_torch_forced_to_avx2(tmp_path):
    """The AVX2-laptop table: a fresh process with torch and lstmkit both held to AVX2."""
    run = _load_harness()
    from lstmkit.core import gates

    if not gates.extension_available() or not {"avx2", "fma"} <= set(run.machine.cpu_flags()):
        pytest.skip("no packed AVX2 kernel here (no extension, or a CPU without AVX2 + FMA)")
    rows = [{"shape": "tiny", "cell": "LSTM"}]
    run.narrow.narrow_rows(rows, run.__file__, 3, 1, 1, 0.0)
    got = rows[0]["both avx2"]
    assert got["torch isa"] == "AVX2"  # the switch took: torch's own dispatch says so
    assert got["kernel"].startswith("packed avx2")
    assert got["max_abs_diff"] < 1e-4  # the same function on the same weights
    assert all(got["ms"][k] > 0 for k in ("torch fwd", "torch train", "avx2 fwd", "avx2 train"))
    assert got["torch/avx2 fwd"] == got["ms"]["torch fwd"] / got["ms"]["avx2 fwd"]
    res = {"rows": rows}
    md = "\n".join(run.narrow.table_lines(res, run.report._name, run.report._table))
    assert "## AVX2 on both sides" in md and "| torch/avx2 fwd |" in md
    assert "| tiny | " in md and "get_cpu_capability()` said AVX2" in md
