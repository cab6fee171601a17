"""What the three jobs share: the output directory rule, the model sidecar, a table printer.

Output directory rule (nothing the user had is overwritten): ``--out DIR`` must be
new or empty; an existing non-empty DIR is refused unless ``--force``, and then only
the files the job writes are replaced. Without ``--out`` a fresh numbered directory
``lstmkit-runs/<job>-N`` is made in the current directory.

Model files: ``model.safetensors`` (weights + architecture, written by
``Sequential.save``) and beside it ``model.json``, the job's metadata (task,
lookback, horizon, scaler parameters, vocabulary …). Loading checks that the
sidecar exists, parses, names the expected task, and that the weights load.
"""

from __future__ import annotations

import json
import os

from ..callbacks import Callback
from ..errors import ModelFileError, UserError
from ..io.save import load_model as _load

SIDECAR = "model.json"
SIDECAR_VERSION = 1


def prepare_out_dir(out: str | None, job: str, force: bool = False) -> str:
    if out is None:
        k = 1
        while os.path.exists(os.path.join("lstmkit-runs", f"{job}-{k}")):
            k += 1
        out = os.path.join("lstmkit-runs", f"{job}-{k}")
    if os.path.exists(out):
        if not os.path.isdir(out):
            raise UserError(f"--out {out} is a file; expected a directory (new or empty)")
        if os.listdir(out) and not force:
            raise UserError(
                f"--out {out} exists and is not empty; choose a new directory "
                f"or pass --force to replace this job's files in it"
            )
    try:
        os.makedirs(out, exist_ok=True)
        probe = os.path.join(out, ".lstmkit-write-test")
        with open(probe, "w"):
            pass
        os.remove(probe)
    except OSError as e:
        raise UserError(f"cannot write to output directory {out}: {e.strerror or e}") from None
    return out


def write_json(path: str, obj) -> None:
    with open(path, "w") as f:
        json.dump(obj, f, indent=2)
        f.write("\n")


def save_model(model, out: str, meta: dict) -> str:
    """model.safetensors + model.json (the task's metadata) in ``out``; returns the weights path."""
    path = os.path.join(out, "model.safetensors")
    model.save(path)
    write_json(
        os.path.join(out, SIDECAR),
        {"lstmkit_task": meta["task"], "sidecar_version": SIDECAR_VERSION, **meta},
    )
    return path


def resolve_model_path(path: str) -> str:
    """A model directory or its model.safetensors → the .safetensors path."""
    if os.path.isdir(path):
        path = os.path.join(path, "model.safetensors")
    if not os.path.exists(path):
        raise UserError(f"no such model file: {path}")
    return path


def read_sidecar(path: str) -> dict | None:
    """The job metadata (``model.json``) beside the weights at ``path``; None if there is none.
    A sidecar that is not a JSON object is a ModelFileError."""
    side = os.path.join(os.path.dirname(path) or ".", SIDECAR)
    if not os.path.exists(side):
        return None
    try:
        with open(side, encoding="utf-8") as f:
            meta = json.load(f)
    except (OSError, ValueError) as e:
        raise ModelFileError(f"{side} is not valid JSON: {e}") from None
    if not isinstance(meta, dict):
        raise ModelFileError(f"{side}: expected a JSON object, got {type(meta).__name__}")
    return meta


def load_weights(path: str):
    """``lstmkit.load_model(path)``, with anything the loader trips on turned into a
    ModelFileError (a file we cannot read is bad input, not a crash)."""

    try:
        return _load(path)
    except UserError:
        raise
    except Exception as e:  # noqa: BLE001
        raise ModelFileError(f"cannot load {path}: {e}") from None


def load_model(path: str, task: str):
    """→ (model, meta). Refuses a missing/garbled sidecar and a model made by another task."""
    path = resolve_model_path(path)
    meta = read_sidecar(path)
    if meta is None:
        raise ModelFileError(
            f"{path} has no {SIDECAR} beside it; expected a model written by 'lstmkit {task}'"
        )
    if "lstmkit_task" not in meta:
        raise ModelFileError(
            f"{path}: {SIDECAR} is not an lstmkit model description (no 'lstmkit_task')"
        )
    if meta["lstmkit_task"] != task:
        raise ModelFileError(
            f"{path} is a '{meta['lstmkit_task']}' model; expected a '{task}' model"
        )
    return load_weights(path), meta


def format_table(header: list[str], rows: list[list], floatfmt: str = ".4f") -> str:
    cells = [[h for h in header]] + [
        [format(v, floatfmt) if isinstance(v, float) else str(v) for v in r] for r in rows
    ]
    widths = [max(len(r[k]) for r in cells) for k in range(len(header))]
    lines = [
        "  ".join(
            c.ljust(w) if k == 0 else c.rjust(w)
            for k, (c, w) in enumerate(zip(r, widths, strict=True))
        )
        for r in cells
    ]
    lines.insert(1, "  ".join("-" * w for w in widths))
    return "\n".join(lines)


def epoch_bar(epochs: int, verbose: int = 1):
    """A callback drawing ONE tqdm bar over all epochs (loss, val_loss in the postfix);
    None when verbose is 0. Used with fit(verbose=0) so a 150-epoch run is one line."""
    if not verbose:
        return None

    class EpochBar(Callback):
        def on_train_begin(self, logs=None):
            from tqdm.auto import tqdm

            self.bar = tqdm(total=epochs, desc="training", unit="epoch", dynamic_ncols=True)

        def on_epoch_end(self, epoch, logs=None):
            self.bar.update(1)
            self.bar.set_postfix_str(
                " ".join(f"{k}={v:.4g}" for k, v in (logs or {}).items() if isinstance(v, float)),
                refresh=False,
            )

        def on_train_end(self, logs=None):
            self.bar.close()

    return EpochBar()
