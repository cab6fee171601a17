"""Every file a job writes goes through here, and through one writer underneath:
:func:`lstmkit.io.atomic.atomic_write` — a temporary file in the same directory (created
with ``O_EXCL``, so never an existing path or a symlink planted there), fsync, then
``os.replace`` over the name. So:

* a symlink at the name is replaced by the file, never followed (``ln -s /etc/passwd
  out/forecast.csv`` leaves /etc/passwd alone);
* a reader, a crash or a full disk never sees half a file: the old file stays, or there
  is none, and the error is one line (:class:`~lstmkit.errors.WriteError`, exit code 2);
* JSON is strict: NaN and ±inf become ``null`` (bare ``NaN`` is not JSON).

Single-file outputs (``explain --out page.html``, ``export --onnx m.onnx``) are refused
when the file exists, unless ``--force`` (:func:`check_out_file`).
"""

from __future__ import annotations

import csv
import io
import json
import math
import os

from ...errors import UserError
from ...io.atomic import atomic_write

__all__ = [
    "check_out_file",
    "json_safe",
    "save_figure",
    "write_bytes",
    "write_csv",
    "write_json",
    "write_text",
]


def write_bytes(path: str, data: bytes) -> str:
    """Write ``data`` to ``path`` atomically (see the module docstring); → path."""
    atomic_write(path, data)
    return path


def write_text(path: str, text: str) -> str:
    return write_bytes(path, text.encode("utf-8"))


def json_safe(obj):
    """A copy of ``obj`` with NaN / ±inf floats replaced by None (and tuples as lists)."""
    if isinstance(obj, float):
        return obj if math.isfinite(obj) else None
    if isinstance(obj, dict):
        return {k: json_safe(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [json_safe(v) for v in obj]
    return obj


def write_json(path: str, obj) -> str:
    """Strict JSON (NaN / ±inf written as null), indented, one trailing newline."""
    return write_text(path, json.dumps(json_safe(obj), indent=2, allow_nan=False) + "\n")


def write_csv(path: str, header: list[str], rows) -> str:
    """A CSV: the header, then rows of already formatted cells."""
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    w.writerow(header)
    w.writerows(rows)
    return write_text(path, buf.getvalue())


def save_figure(fig, path: str, **savefig_kw) -> str:
    """``fig.savefig`` into memory, then written atomically (format from the extension)."""
    buf = io.BytesIO()
    fmt = os.path.splitext(path)[1].lstrip(".").lower() or "png"
    fig.savefig(buf, format=fmt, **savefig_kw)
    return write_bytes(path, buf.getvalue())


def check_out_file(path: str, force: bool, option: str = "--out") -> str:
    """A single output file: its directory must exist; an existing file (or anything at
    the name) is refused unless ``force``; a directory is always refused."""
    d = os.path.dirname(os.path.abspath(path))
    if not os.path.isdir(d):
        raise UserError(f"{option} {path}: directory {d} does not exist")
    if os.path.isdir(path) and not os.path.islink(path):
        raise UserError(f"{option} {path} is a directory; expected a file name")
    if os.path.lexists(path) and not force:
        raise UserError(
            f"{option} {path} exists; choose another name or pass --force to replace it"
        )
    return path
