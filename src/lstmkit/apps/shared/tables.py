"""Plain-text tables for the jobs' summaries, and text made safe for a terminal."""

from __future__ import annotations

import re

__all__ = ["format_table", "printable"]

# C0 controls but tab and newline, DEL, C1 controls (ESC starts ANSI sequences: a model
# file's layer names or a vocabulary must not move the cursor or recolour the terminal)
_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f]")


def printable(text: str, newlines: bool = True) -> str:
    """``text`` with control characters shown as escapes (``\\x1b``); ``newlines=False``
    escapes newlines and tabs too (for one-line fields)."""
    pattern = _CONTROL if newlines else re.compile(r"[\x00-\x1f\x7f-\x9f]")
    return pattern.sub(lambda m: m.group().encode("unicode_escape").decode("ascii"), str(text))


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
