"""``lstmkit inspect MODEL``: what is in a model file, and where it came from."""

from __future__ import annotations

import hashlib
import json
import os
from typing import Any

from ...errors import ModelFileError, UserError
from ...io import safefile
from ...io.keras_interop import load_keras
from ...io.save import read_model
from ...seq2seq import io as s2s_io
from ..shared.modelfiles import read_sidecar, resolve_model_path
from ..shared.tables import printable

HELP = "show a model file's layers, shapes, parameter counts and origin"
DESCRIPTION = """\
Describe a model file without running it: its layers, output shapes, parameter
counts and tensors, and where it came from — the file's metadata (format,
training configuration, checkpoint position), the job's model.json beside it
(task, data, options) and the file's SHA-256. Reads lstmkit .safetensors files
(models and training checkpoints) and Keras 3 .keras archives. Nothing in the
file is executed or unpickled; a malformed file is refused with one line.

examples:
  lstmkit inspect out/forecast-1/model.safetensors
  lstmkit inspect out/vowels                      # the job directory
  lstmkit inspect my_keras_model.keras --json
"""


def add_arguments(p) -> None:
    p.add_argument("model", help="model.safetensors (or its directory), or a .keras archive")
    p.add_argument("--json", action="store_true", help="print one JSON object instead of text")


def _sha256(path):
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def _origin(path):
    """(origin dict, model) of the file."""
    if path.endswith(".keras"):
        import zipfile

        model = load_keras(path)
        try:
            with zipfile.ZipFile(path) as z:
                meta = (
                    json.loads(z.read("metadata.json")) if "metadata.json" in z.namelist() else {}
                )
        except (ValueError, zipfile.BadZipFile):
            meta = {}
        return {
            "format": "Keras 3 .keras archive",
            "keras": {k: v for k, v in meta.items() if isinstance(v, (str, int, float))},
        }, model

    model, _, meta = read_model(path)
    origin: dict[str, Any] = {
        "format": f"lstmkit {meta.get('kind', 'model')} file, format version "
        f"{meta.get('format_version')}"
    }
    tc = safefile.load_json(path, meta, "training_config", required=False)
    if tc:
        origin["training_config"] = tc
    ts = safefile.load_json(path, meta, "training_state", required=False)
    if isinstance(ts, dict):
        origin["checkpoint"] = {k: ts[k] for k in ("epoch", "batch") if type(ts.get(k)) is int}
    try:
        sc = read_sidecar(path)
    except ModelFileError:
        origin["job"] = {"error": "model.json beside it is not valid JSON"}
    else:
        if sc is not None:  # small scalar facts only (not vocabularies, scalers)
            origin["job"] = {
                k: v
                for k, v in sc.items()
                if isinstance(v, (str, int, float, bool)) and len(str(v)) <= 200
            }
    return origin, model


def describe(path):
    """Everything inspect prints, as a dict."""
    if not path.endswith(".keras"):
        path = resolve_model_path(path)
        if s2s_io.is_seq2seq_file(path):  # an encoder–decoder (lstmkit g2p): not a Sequential
            return _describe_seq2seq(path)
    elif not os.path.exists(path):
        raise UserError(f"no such model file: {path}")
    origin, model = _origin(path)
    layers, shape = [], model.input_shape
    for layer in model.layers:
        shape = layer.compute_output_shape(shape)
        layers.append(
            {
                "name": layer.name,
                "type": type(layer).__name__,
                "output_shape": [None, *shape],
                "params": layer.count_params(),
                "tensors": {n: list(a.shape) for n, a in layer.named_tensors().items()},
                "dtype": layer.dtype.name,
            }
        )
    return {
        "file": path,
        "bytes": os.path.getsize(path),
        "sha256": _sha256(path),
        "origin": origin,
        "input_shape": [None, *model.input_shape],
        "layers": layers,
        "total_params": model.count_params(),
    }


def _say(line: str) -> None:
    """Print one line whose names and metadata come from the file: no terminal escapes."""
    print(printable(line, newlines=False))


def _describe_seq2seq(path):
    d = s2s_io.describe(path)
    origin: dict[str, Any] = {
        "format": f"lstmkit {d['kind']} file (encoder–decoder with attention)"
    }
    sc = read_sidecar(path)
    if sc is not None:
        origin["job"] = {k: v for k, v in sc.items() if isinstance(v, (str, int, float, bool))}
    return {
        "file": path,
        "bytes": os.path.getsize(path),
        "sha256": _sha256(path),
        "origin": origin,
        **{k: d[k] for k in ("input_shape", "layers", "total_params")},
    }


def run(args) -> int:
    try:
        d = describe(args.model)
    except (UnicodeDecodeError, OSError) as e:
        raise ModelFileError(f"{args.model}: cannot read it as a model file ({e})") from None
    if args.json:
        print(json.dumps(d, indent=2))  # (ensure_ascii: control characters come as \u escapes)
        return 0
    _say(f"{d['file']}: {d['origin']['format']}, {d['bytes']:,} bytes, sha256 {d['sha256'][:16]}…")
    for key in ("job", "keras", "checkpoint"):
        if d["origin"].get(key):
            _say(f"  {key}: {json.dumps(d['origin'][key])}")
    tc = d["origin"].get("training_config")
    if isinstance(tc, dict):
        o, lo = tc.get("optimizer") or {}, tc.get("loss") or {}
        lr = (o.get("config") or {}).get("learning_rate")
        _say(
            f"  compiled with: {o.get('type')}(learning_rate={json.dumps(lr)}), loss "
            f"{lo.get('type')}, metrics {tc.get('metrics')}"
        )

    def shape(s) -> str:
        """(None, None, 6) → (batch, time, 6)."""
        dims = ("batch" if k == 0 else "time" if v is None else str(v) for k, v in enumerate(s))
        return "(" + ", ".join(dims) + ")"

    _say(f"input {shape(d['input_shape'])}")
    w = max(len(f"{row['name']} ({row['type']})") for row in d["layers"]) + 2
    _say(f"{'layer (type)':<{w}}{'output shape':<22}{'params':>10}  tensors")
    for row in d["layers"]:
        t = ", ".join(f"{n} {tuple(s)}" for n, s in row["tensors"].items())
        _say(
            f"{row['name'] + ' (' + row['type'] + ')':<{w}}{shape(row['output_shape']):<22}"
            f"{row['params']:>10,}  {t}"
        )
    _say(f"total parameters: {d['total_params']:,} ({d['layers'][0]['dtype']})")
    return 0
