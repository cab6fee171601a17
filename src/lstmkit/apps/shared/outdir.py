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

__all__ = ["prepare_out_dir", "write_json", "write_text", "write_csv", "save_figure"]


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


def write_text(path: str, text: str) -> None:
    """``text`` into ``path`` through a temporary file in the same directory, then
    ``os.replace``: a reader never sees half a file."""
    tmp = f"{path}.tmp-{os.getpid()}"
    try:
        with open(tmp, "w", encoding="utf-8", newline="") as f:
            f.write(text)
        os.replace(tmp, path)
    finally:
        if os.path.exists(tmp):
            os.remove(tmp)


def write_csv(path: str, header: list[str], rows: list[list]) -> None:
    """A CSV (header + rows of already formatted cells) written as :func:`write_text`."""
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    w.writerow(header)
    w.writerows(rows)
    write_text(path, buf.getvalue())


def save_figure(fig, path: str) -> None:
    """``fig.savefig`` into a temporary file beside ``path``, then ``os.replace``."""
    root, ext = os.path.splitext(path)
    tmp = f"{root}.tmp-{os.getpid()}{ext}"
    try:
        fig.savefig(tmp)
        os.replace(tmp, path)
    finally:
        if os.path.exists(tmp):
            os.remove(tmp)
