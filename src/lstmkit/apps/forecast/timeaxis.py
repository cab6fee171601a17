"""Time labels: turn a time column into numbers for a plot and extend it past the end.

Understood: integers (years, step numbers), ``YYYY-MM`` months, ISO dates
``YYYY-MM-DD``. Anything else is kept as labels and plotted by position.
"""

from __future__ import annotations

import re

import numpy as np

from ...errors import UserError

_MONTH = re.compile(r"^\d{4}-\d{2}$")


def _kind(times: list[str]) -> str:
    if not times:
        return "index"
    if all(re.fullmatch(r"-?\d+", t.strip()) for t in times):
        return "int"
    if all(_MONTH.match(t.strip()) for t in times):
        return "month"
    try:
        np.array([t.strip() for t in times], dtype="datetime64[D]")
        return "date"
    except ValueError:
        return "index"


def positions(times: list[str] | None, n: int) -> np.ndarray:
    """(n,) float x-positions: years as numbers, months as fractional years, else 0…n−1."""
    kind = _kind(times) if times else "index"
    if kind == "int":
        return np.array([float(t) for t in times])
    if kind == "month":
        return np.array([int(t[:4]) + (int(t[5:7]) - 1) / 12 for t in times])
    if kind == "date":
        d = np.array([t.strip() for t in times], dtype="datetime64[D]")
        return 1970 + d.astype(np.int64) / 365.2425
    return np.arange(n, dtype=float)


def check_order(times: list[str] | None, column: str | None) -> None:
    """A time column must not repeat a time, and times it can read (integers, months,
    dates) must increase: a series sorted wrongly or stitched twice is refused, not
    forecast (UserError naming the rows)."""
    if not times:
        return
    seen: dict[str, int] = {}
    for n, t in enumerate(times):
        k = t.strip()
        if k in seen:
            raise UserError(
                f"time column {column!r}: {k[:40]!r} appears twice (data rows {seen[k] + 1} "
                f"and {n + 1}); expected each time once"
            )
        seen[k] = n
    if _kind(times) == "index":
        return  # labels it cannot read: their order is the file's
    x = positions(times, len(times))
    bad = np.flatnonzero(np.diff(x) <= 0)
    if len(bad):
        n = int(bad[0])
        raise UserError(
            f"time column {column!r} is out of order at data rows {n + 1}–{n + 2} "
            f"({times[n].strip()[:40]!r} then {times[n + 1].strip()[:40]!r}); expected "
            f"increasing times"
        )


def extend(times: list[str] | None, n_steps: int, k: int) -> list[str]:
    """The labels of the k steps after the last one (same spacing as the last two)."""
    kind = _kind(times) if times else "index"
    if kind == "int":
        a = [int(t) for t in times]
        step = a[-1] - a[-2] if len(a) > 1 else 1
        return [str(a[-1] + step * j) for j in range(1, k + 1)]
    if kind == "month":
        y, m = int(times[-1][:4]), int(times[-1][5:7])
        out = []
        for _ in range(k):
            y, m = (y + 1, 1) if m == 12 else (y, m + 1)
            out.append(f"{y:04d}-{m:02d}")
        return out
    if kind == "date":
        tail = [t.strip() for t in times[-3:]]
        m = np.array(tail, dtype="datetime64[M]").astype(np.int64)  # months since 1970
        dm = np.diff(m)
        if len({t[8:10] for t in tail}) == 1 and len(dm) and np.all(dm == dm[0]) and dm[0] > 0:
            # monthly / quarterly / yearly dates on a fixed day: step in calendar months
            day = tail[-1][8:10]
            return [
                str(np.datetime64(int(m[-1] + dm[0] * j), "M")) + f"-{day}" for j in range(1, k + 1)
            ]
        d = np.array(tail[-2:], dtype="datetime64[D]")
        step = d[-1] - d[0] if len(d) > 1 else np.timedelta64(1, "D")
        return [str(d[-1] + step * j) for j in range(1, k + 1)]
    return (
        [f"t+{j}" for j in range(1, k + 1)]
        if not times
        else [f"{times[-1]}+{j}" for j in range(1, k + 1)]
    )
