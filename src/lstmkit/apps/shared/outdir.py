"""The output directory rule every job follows (nothing the user had is overwritten).

``--out DIR`` must be new or empty; an existing non-empty DIR is refused unless
``--force``, and then only the files the job writes are replaced. Without ``--out`` a
fresh numbered directory ``lstmkit-runs/<job>-N`` is made in the current directory.
"""

from __future__ import annotations

import csv
import io
import json
import os

from ...errors import UserError
from ...io.atomic import atomic_write

__all__ = ["prepare_out_dir", "save_figure", "write_csv", "write_json", "write_text"]


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


def write_text(path: str, text: str) -> None:
    """A text file (UTF-8) written atomically: temp file, fsync, os.replace."""
    atomic_write(path, text.encode("utf-8"))


def write_json(path: str, obj) -> None:
    write_text(path, json.dumps(obj, indent=2) + "\n")


def write_csv(path: str, header: list[str], rows: list[list]) -> None:
    """A CSV (header + rows of already formatted cells), written as :func:`write_text`."""
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    w.writerow(header)
    w.writerows(rows)
    write_text(path, buf.getvalue())


def save_figure(fig, path: str) -> None:
    """A matplotlib figure (format from the file's extension), written atomically:
    never half a picture."""
    buf = io.BytesIO()
    fig.savefig(buf, format=os.path.splitext(path)[1].lstrip(".") or "png")
    atomic_write(path, buf.getvalue())
