"""Numeric command-line options, checked at parse time with their range in ``--help``.

    p.add_argument("--units", type=int_in(1, 65536), default=32,
                   help=with_range("LSTM units", 1, 65536, default=32))

A value outside the range, non-finite (``nan``, ``inf``) or written loosely (``3_316``,
non-ASCII digits, ``0x10``) is refused by argparse with one line naming the option, the
range and what came (exit code 2) — before any work starts.
"""

from __future__ import annotations

import argparse
import math
import re

__all__ = [
    "SEED_MAX",
    "float_in",
    "fraction",
    "int_in",
    "positive_float",
    "positive_int",
    "seed",
    "with_range",
]

SEED_MAX = 2**32 - 1
_INT = re.compile(r"[+-]?[0-9]+")
_FLOAT = re.compile(r"[+-]?(?:[0-9]+\.?[0-9]*|\.[0-9]+)(?:[eE][+-]?[0-9]+)?")


def _n(v) -> str:
    return str(v) if isinstance(v, int) else f"{v:g}"


def _span(lo, hi, lo_open=False, hi_open=False) -> str:
    if lo is None and hi is None:
        return ""
    if hi is None:
        return f"> {_n(lo)}" if lo_open else f">= {_n(lo)}"
    if lo is None:
        return f"< {_n(hi)}" if hi_open else f"<= {_n(hi)}"
    if not (lo_open or hi_open):
        return f"{_n(lo)}..{_n(hi)}"
    return f"{'(' if lo_open else '['}{_n(lo)}, {_n(hi)}{')' if hi_open else ']'}"


def int_in(lo: int | None = None, hi: int | None = None):
    """An argparse ``type``: an integer (ASCII digits) in lo..hi (None: unbounded)."""

    def parse(text: str) -> int:
        t = text.strip()
        v = int(t) if _INT.fullmatch(t) else None
        if v is None or (lo is not None and v < lo) or (hi is not None and v > hi):
            raise argparse.ArgumentTypeError(
                f"expected an integer {_span(lo, hi)}, got {text[:40]!r}".replace("  ", " ")
            )
        return v

    parse.__name__ = "integer"
    return parse


def float_in(lo=None, hi=None, lo_open: bool = False, hi_open: bool = False):
    """An argparse ``type``: a finite decimal number in the given range."""

    def parse(text: str) -> float:
        t = text.strip()
        v = float(t) if _FLOAT.fullmatch(t) else None
        bad = (
            v is None
            or not math.isfinite(v)
            or (lo is not None and (v <= lo if lo_open else v < lo))
            or (hi is not None and (v >= hi if hi_open else v > hi))
        )
        if bad or v is None:
            raise argparse.ArgumentTypeError(
                f"expected a finite number {_span(lo, hi, lo_open, hi_open)}, got {text[:40]!r}"
            )
        return v

    parse.__name__ = "number"
    return parse


def positive_int(hi: int | None = None):
    return int_in(1, hi)


def positive_float(hi=None):
    return float_in(0.0, hi, lo_open=True)


def fraction():
    """A number strictly between 0 and 1."""
    return float_in(0.0, 1.0, lo_open=True, hi_open=True)


def seed():
    return int_in(0, SEED_MAX)


def with_range(text: str, lo=None, hi=None, lo_open=False, hi_open=False, default=None) -> str:
    """A help line with the allowed range (and the default): 'LSTM units, 1..65536 (default 32)'."""
    d = "" if default is None else f" (default {default})"
    return f"{text}; {_span(lo, hi, lo_open, hi_open)}{d}"
