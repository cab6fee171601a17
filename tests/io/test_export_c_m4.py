"""The exported C on a Cortex-M4: arm-none-eabi-gcc -mcpu=cortex-m4 -mfpu=fpv4-sp-d16
-mfloat-abi=hard with the strict flags (and -Wdouble-promotion: no double arithmetic sneaks
onto a single-precision FPU), no RAM of its own (data = bss = 0: the state is the caller's),
and — run on QEMU's mps2-an386 — the same outputs as predict, for run and step by step.

Needs arm-none-eabi-gcc and qemu-system-arm (.ci/cexport.sh installs them)."""

import numpy as np
import pytest
from tests.io import _c_harness as H
from tests.io.test_export_c import MODELS, make

from lstmkit import LSTM, Dense, Sequential
from lstmkit.io import export_c
from lstmkit.io.c_export import dequantized_model

pytestmark = pytest.mark.skipif(
    not (H.have("arm-none-eabi-gcc") and H.have("qemu-system-arm")),
    reason="arm-none-eabi-gcc / qemu-system-arm not installed (.ci/cexport.sh installs them)",
)


def job_like(kind: str):
    """The forecast job's LSTM(32) → Dense(12) on 1 input, the classify job's LSTM(64) →
    Dense(9, softmax) on 12: random weights of Glorot-like scale (1/√fan-in)."""
    D, H_, out, act = (1, 32, 12, None) if kind == "forecast" else (12, 64, 9, "softmax")
    m = Sequential([LSTM(H_), Dense(out, activation=act)])
    m.build((None, D))
    rng = np.random.default_rng(7)
    for layer in m.layers:
        for p in layer.params:
            p[...] = rng.standard_normal(p.shape) / np.sqrt(p.shape[0] if p.ndim > 1 else 4)
    return m


@pytest.mark.parametrize("kind", ["forecast", "classify"])
@pytest.mark.parametrize("quantize", [None, "int8"])
def test_cortex_m4_under_qemu_equals_predict(tmp_path, kind, quantize):
    model = job_like(kind)
    D = model.input_shape[-1]
    res = export_c(model, tmp_path, quantize=quantize)
    _, size = H.compile_m4_object(tmp_path)
    assert size["data"] == 0 and size["bss"] == 0  # all RAM is the caller's state
    assert res.weight_bytes < size["text"] < res.weight_bytes + 4000  # weights + a little code
    rng = np.random.default_rng(1)
    x_run = rng.standard_normal((2, 24, D)).astype(np.float32)
    x_stream = rng.standard_normal((40, D)).astype(np.float32)
    out = H.run_qemu(H.build_m4_firmware(tmp_path, "model", x_run, x_stream))
    assert abs(out["calib_ticks"] - 5000) <= 50  # 200 000 instructions = 5 000 ticks of 40
    ref_model = dequantized_model(model) if quantize else model
    got = np.array(out["run"]).reshape(2, -1)
    assert np.max(np.abs(got - ref_model.predict(x_run))) < 1e-5
    stream = np.array(out["stream"]).reshape(40, -1)
    ref = np.concatenate([ref_model.predict(x_stream[None, : t + 1]) for t in range(40)])
    assert np.max(np.abs(stream - ref)) < 1e-5
    per_step = 40 * out["step_ticks"] / out["steps"]  # instructions per step
    macs = 4 * model.layers[0].units * (D + model.layers[0].units)
    assert macs < per_step < 40 * macs  # the step is the work, not a constant


@pytest.mark.parametrize("key", list(MODELS))
def test_every_model_kind_cross_compiles_strict(tmp_path, key):
    model, _ = make(key)
    for q in (None, "int8"):
        export_c(model, tmp_path, name=key, quantize=q, measure=False)
        _, size = H.compile_m4_object(tmp_path, key)
        assert size["data"] == 0 and size["bss"] == 0
