"""A trained model as dependency-free C99: ``<name>.h``, ``<name>.c`` and a README.

    from lstmkit.io import export_c
    export_c(model, "out/c")                      # out/c/model.h, model.c, README.md
    export_c(model, "out/c", quantize="int8")     # int8 weights (per-channel), float activations

The C code allocates nothing and uses nothing of the C library but ``<math.h>``; the weights
are ``static const`` arrays (flash on a microcontroller). The API streams: the caller owns a
``model_state`` (RAM, its exact size in the header and the README) and calls
``model_init`` once, ``model_reset`` at the start of a sequence and ``model_step`` per time
step, or ``model_run`` over a whole sequence (what ``model.predict`` gives for it).

Covered: Embedding, LSTM, GRU, SimpleRNN (stacked, stateful, go_backwards), Bidirectional
(``run`` only: it needs the whole sequence), Dense and its activations, Activation, Dropout,
GaussianNoise, and (``run`` only) Masking, Conv1D, GlobalMaxPooling1D, GlobalAveragePooling1D
and AttentionPooling1D — the classify job's recipe.
Anything else — the LSTM variants of :mod:`lstmkit.layers.variants` among them — is refused
with a :class:`CExportError` naming the layer and why. The jobs' metadata comes as plain
arguments: ``labels`` (classify), ``normalize``, ``input_scaler``, ``maxlen``, ``patch``
(classify series),
``forecast`` (a :class:`ForecastSpec`), ``vocab`` (textgen; adds a sampling loop).

:func:`dequantized_model` gives the int8 export's arithmetic in Python (weights ``s · q``),
to measure what int8 costs on a task before shipping it.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np
from numpy.typing import ArrayLike

from ...model import Sequential
from ...version import __version__
from ..atomic import atomic_write
from ..torch_interop import TimeMajorModel
from . import emit
from .jobs import ForecastSpec, Jobs, check
from .plan import CExportError, plan_model
from .quantize import dequantized_model
from .readme import readme

__all__ = ["export_c", "CExport", "CExportError", "ForecastSpec", "dequantized_model", "measure_m4"]

QUANTIZE = (None, "int8")
C_KEYWORDS = set(
    "auto break case char const continue default do double else enum extern float for goto "
    "if inline int long register restrict return short signed sizeof static struct switch "
    "typedef union unsigned void volatile while main".split()
)
M4_FLAGS = ["-mcpu=cortex-m4", "-mthumb", "-mfpu=fpv4-sp-d16", "-mfloat-abi=hard"]


@dataclass
class CExport:
    """What export_c wrote, and the memory the model needs."""

    header: str  # the paths written
    source: str
    readme: str
    state_bytes: int  # RAM: sizeof(<name>_state)
    weight_bytes: int  # flash: the weight arrays
    table_bytes: int  # flash: labels / vocabulary / scaler constants
    run_work_floats_per_step: int  # run's work memory per time step (0: streams)
    streams: bool
    m4_size: dict | None = None  # arm-none-eabi-size of <name>.o (text, data, bss), if measured
    layers: list = field(default_factory=list)  # (layer, bytes of weights)


def _check_name(name: str) -> str:
    if not re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]{0,30}", name or "") or name in C_KEYWORDS:
        raise CExportError(
            f"export_c: name must be a C identifier (letters, digits, _; not a keyword), "
            f"got {name!r}"
        )
    if name.lower().startswith("lk_"):
        raise CExportError(f"export_c: the prefix lk_ is the runtime's own; got name {name!r}")
    return name


def measure_m4(source_path: str, cc: str = "arm-none-eabi-gcc") -> dict | None:
    """The model compiled for a Cortex-M4 (-O2): text / data / bss of the object (text is
    flash: code + const weights) and a bound on the stack (the sum of every function's frame
    from -fstack-usage: nothing recurses); None without the compiler."""
    if shutil.which(cc) is None or shutil.which("arm-none-eabi-size") is None:
        return None
    with tempfile.TemporaryDirectory() as tmp:
        obj = os.path.join(tmp, "m.o")
        flags = ["-std=c99", "-O2", *M4_FLAGS, "-fstack-usage", "-c", source_path, "-o", obj]
        r = subprocess.run([cc, *flags], capture_output=True, text=True, cwd=tmp)
        if r.returncode != 0:
            return None
        out = subprocess.run(["arm-none-eabi-size", obj], capture_output=True, text=True).stdout
        with open(os.path.join(tmp, "m.su")) as f:
            stack = sum(int(line.split("\t")[1]) for line in f if line.strip())
    text, data, bss = (int(v) for v in out.splitlines()[1].split()[:3])
    version = subprocess.run([cc, "-dumpversion"], capture_output=True, text=True).stdout.strip()
    return {"text": text, "data": data, "bss": bss, "stack": stack, "compiler": f"{cc} {version}"}


def export_c(
    model: Sequential | TimeMajorModel,
    out_dir: str | os.PathLike[str],
    *,
    name: str = "model",
    quantize: str | None = None,
    labels: Sequence[str] | None = None,
    input_scaler: tuple[ArrayLike, ArrayLike] | None = None,
    maxlen: int | None = None,
    normalize: str | None = None,
    patch: int = 1,
    forecast: ForecastSpec | None = None,
    vocab: Sequence[str] | None = None,
    source: str = "",
    measure: bool = True,
) -> CExport:
    """Write ``<name>.h``, ``<name>.c`` and a README (``README.md``; ``README_<name>.md`` for
    another name) into ``out_dir`` (made if missing). ``quantize="int8"``: int8 weights with a
    float scale per output channel and matrix, float activations. ``labels``: class names
    (one per output); the classify job's series preprocessing (``<name>_classify``):
    ``normalize`` ("sequence": per-sequence z; "global": ``input_scaler`` = (mean, std) per raw
    feature; "both"; default "global" when a scaler is given), ``maxlen`` (raw steps kept /
    front-padded) and ``patch`` (raw steps per model step); ``forecast``: the forecast
    job's windows and levels for one series (``<name>_forecast``); ``vocab``: the token of
    every id (textgen, ``<name>_generate``). ``source`` names the model in the comments;
    ``measure`` adds the Cortex-M4 size to the README when ``arm-none-eabi-gcc`` is
    installed. Raises CExportError for a model or an option it cannot write."""
    name = _check_name(name)
    if quantize not in QUANTIZE:
        raise CExportError(f"export_c: quantize must be None or 'int8', got {quantize!r}")
    plan = plan_model(model)
    scaler = None
    if input_scaler is not None:
        mean, std = input_scaler
        scaler = (np.asarray(mean), np.asarray(std))  # checked (float64, one per input) below
    jobs = Jobs(
        labels=None if labels is None else [str(s) for s in labels],
        scaler=scaler,
        maxlen=int(maxlen or 0),
        normalize=normalize,
        patch=int(patch),
        forecast=forecast,
        vocab=None if vocab is None else [str(t) for t in vocab],
    )
    check(plan, jobs)
    int8 = quantize == "int8"
    what = "int8 weights" if int8 else "float32"
    banner = (
        f"{source or 'an lstmkit model'} as C99 ({what}), written by lstmkit "
        f"{__version__} (lstmkit.io.export_c)."
    )
    out = emit.write(plan, name, int8, jobs, banner)
    os.makedirs(out_dir, exist_ok=True)
    h_path = os.path.join(out_dir, f"{name}.h")
    c_path = os.path.join(out_dir, f"{name}.c")
    atomic_write(h_path, out.header.encode("utf-8"))
    atomic_write(c_path, out.source.encode("utf-8"))
    m4 = measure_m4(c_path) if measure else None
    r_path = os.path.join(out_dir, "README.md" if name == "model" else f"README_{name}.md")
    result = CExport(
        header=h_path,
        source=c_path,
        readme=r_path,
        state_bytes=4 * out.state_floats,
        weight_bytes=out.weight_bytes,
        table_bytes=out.table_bytes,
        run_work_floats_per_step=out.work_floats_per_step,
        streams=plan.streams,
        m4_size=m4,
        layers=out.layer_bytes,
    )
    atomic_write(r_path, readme(plan, name, int8, jobs, result, source).encode("utf-8"))
    return result
