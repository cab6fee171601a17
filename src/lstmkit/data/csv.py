"""Read a CSV (or .csv.gz) with the standard library's csv module into columns of strings.

    t = read_table("data.csv")
    t.columns                  # header names
    t.numeric("co2")           # float64 array; a bad cell is a UserError naming row and value
    t.strings("month")         # list[str]

Every problem a person can cause (no file, no header, ragged rows, a missing
column, a non-numeric cell) is a :class:`lstmkit.errors.UserError` with one line
that says what was expected and what came.
"""

from __future__ import annotations

import csv as _csv
import gzip
import io
import math
import os
import re
import zlib
from contextlib import contextmanager

import numpy as np

from ..errors import UserError
from ..safeopen import open_regular

__all__ = ["MAX_FILE_BYTES", "MISSING", "Table", "read_table", "read_text", "parse_number"]

#: cells that mean "no value" to :meth:`Table.numeric_or_missing` (compared lower-case)
MISSING = frozenset({"", "na", "n/a", "nan", "null"})

#: the most bytes read_text reads (after gunzip): a bigger file is refused before it is read
MAX_FILE_BYTES = 256 * 2**20


@contextmanager
def _opened(path):
    """The file's bytes (gunzipped for .gz): regular files only, so a FIFO cannot hang us."""
    with open_regular(path) as f:
        if path.endswith(".gz"):
            with gzip.GzipFile(fileobj=f, mode="rb") as g:
                yield g
        else:
            yield f


def _gunzipped_size(path, limit: int) -> int:
    """How many bytes the .gz holds once unpacked, counted in 1 MiB pieces that are thrown
    away; stops past ``limit`` (a gzip bomb is refused without ever being held)."""
    n = 0
    with _opened(path) as f:
        while n <= limit:
            c = f.read(2**20)
            if not c:
                break
            n += len(c)
    return n


def read_text(path, max_bytes: int = MAX_FILE_BYTES) -> str:
    """A whole text file (UTF-8, .gz allowed) as str; UserError if missing, unreadable,
    not a regular file, not text, or larger than ``max_bytes`` (never more than that is
    held in memory: a .gz is measured first, in pieces, then read once)."""
    path = os.fspath(path)
    if not os.path.exists(path):
        raise UserError(f"no such file: {path}")
    if os.path.isdir(path):
        raise UserError(f"expected a file, got a directory: {path}")
    too_big = (
        f"{path} is larger than {max_bytes // 2**20} MiB of text, the most lstmkit "
        f"reads; use a smaller file (or a sample of it)"
    )
    try:
        if os.path.getsize(path) > max_bytes:
            raise UserError(too_big)
        size = _gunzipped_size(path, max_bytes) if path.endswith(".gz") else None
        if size is not None and size > max_bytes:
            raise UserError(too_big)
        with _opened(path) as f:
            if size is None:
                size = os.fstat(f.fileno()).st_size
                if size > max_bytes:
                    raise UserError(too_big)
            raw = bytearray(size)  # filled in 1 MiB pieces: read(n) would reserve n bytes
            view, got = memoryview(raw), 0
            while got < size:
                k = f.readinto(view[got : min(size, got + 2**20)])
                if not k:
                    break
                got += k
            if got != size or f.read(1):
                raise UserError(f"{path} changed while it was read; try again")
    except (OSError, EOFError, zlib.error) as e:  # zlib.error: a corrupt .gz
        raise UserError(f"cannot read {path}: {getattr(e, 'strerror', None) or e}") from None
    try:
        return raw.decode("utf-8-sig")
    except UnicodeDecodeError as e:
        raise UserError(f"{path} is not UTF-8 text (bad byte at offset {e.start})") from None


#: a number as a person writes it in a CSV: ASCII digits, one optional '.', an optional
#: exponent (float() would also take '3_316.10', non-ASCII digits, 'nan' and 'inf')
_NUMBER = re.compile(r"[+-]?(?:[0-9]+\.?[0-9]*|\.[0-9]+)(?:[eE][+-]?[0-9]+)?")
_NONFINITE = re.compile(r"[+-]?(?:nan|inf|infinity)", re.IGNORECASE)


def parse_number(cell: str) -> float | None:
    """The cell as a float, or None when it is not a plain finite decimal number."""
    cell = cell.strip()
    if not _NUMBER.fullmatch(cell):
        return None
    v = float(cell)
    return v if math.isfinite(v) else None


class Table:
    """A CSV as a header and rows of strings (every row as long as the header)."""

    def __init__(self, path: str, columns: list[str], rows: list[list[str]]):
        self.path, self.columns, self.rows = path, columns, rows

    def __len__(self):
        return len(self.rows)

    def index(self, name: str) -> int:
        if name not in self.columns:
            raise UserError(
                f"column {name!r} not found in {self.path}; columns are: {', '.join(self.columns)}"
            )
        return self.columns.index(name)

    def strings(self, name: str) -> list[str]:
        k = self.index(name)
        return [r[k] for r in self.rows]

    def numeric(self, name: str) -> np.ndarray:
        """The column as float64; an empty or non-numeric cell is a UserError
        (row = data row, 1-based)."""
        k = self.index(name)
        out = np.empty(len(self.rows))  # (N,) the column's values
        for n, r in enumerate(self.rows):
            cell = r[k].strip()
            v = parse_number(cell)
            if v is None:
                what = "an empty cell" if not cell else repr(cell[:40])
                kind = (
                    "a finite number"
                    if _NUMBER.fullmatch(cell) or _NONFINITE.fullmatch(cell)
                    else "a number (ASCII digits, '.', optional exponent)"
                )
                raise UserError(
                    f"column {name!r} of {self.path}: expected {kind} in data row "
                    f"{n + 1} (line {n + 2}), got {what}"
                )
            out[n] = v
        return out

    def numeric_or_missing(self, name: str) -> np.ndarray:
        """The column as float64 with NaN where a cell is empty or a missing-value marker
        (``MISSING``: NA, N/A, NaN, null, case-insensitive); any other non-number is a
        UserError naming the row, as in :meth:`numeric`."""
        k = self.index(name)
        out = np.empty(len(self.rows))  # (N,) the column's values, NaN = missing
        for n, r in enumerate(self.rows):
            cell = r[k].strip()
            if cell.lower() in MISSING:
                out[n] = np.nan
                continue
            try:
                out[n] = float(cell)
            except ValueError:
                raise UserError(
                    f"column {name!r} of {self.path}: expected a number (or an empty cell "
                    f"for a missing value) in data row {n + 1} (line {n + 2}), got {cell!r}"
                ) from None
            if np.isinf(out[n]):
                raise UserError(
                    f"column {name!r} of {self.path}: expected a finite number in "
                    f"data row {n + 1} (line {n + 2}), got {cell!r}"
                )
        return out

    def is_numeric(self, name: str) -> bool:
        k = self.index(name)
        return all(parse_number(r[k]) is not None for r in self.rows)


def read_table(path) -> Table:
    text = read_text(path)
    path = os.fspath(path)
    if not text.strip():
        raise UserError(f"{path} is empty: expected a header line and data rows")
    first = text.split("\n", 1)[0]
    delim = max(",;\t", key=first.count) if any(c in first for c in ",;\t") else ","
    reader = _csv.reader(io.StringIO(text, newline=""), delimiter=delim)
    try:
        rows = [r for r in reader if r and any(c.strip() for c in r)]
    except _csv.Error as e:
        raise UserError(f"{path} is not a readable CSV: {e}") from None
    header = [c.strip() for c in rows[0]]
    if len(set(header)) != len(header):
        dup = sorted({c for c in header if header.count(c) > 1})
        raise UserError(f"{path}: expected unique column names in the header, got duplicates {dup}")
    body = rows[1:]
    if not body:
        raise UserError(f"{path} has a header but no data rows")
    for n, r in enumerate(body):
        if len(r) != len(header):
            raise UserError(
                f"{path}: expected {len(header)} fields in data row {n + 1} "
                f"(line {n + 2}) like the header, got {len(r)}"
            )
    return Table(path, header, body)
