"""Plain-text tables for the jobs' summaries."""

from __future__ import annotations

__all__ = ["format_table"]


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
