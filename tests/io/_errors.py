"""The largest differences the interop tests saw, printed in the session summary
(``tests/io/conftest.py``). Each test asserts its own tolerance; this only reports."""

from __future__ import annotations

#: what was compared → largest absolute difference seen, and the number of comparisons
MAX_ERROR: dict[str, tuple[float, int]] = {}


def record(what: str, err: float) -> None:
    worst, n = MAX_ERROR.get(what, (0.0, 0))
    MAX_ERROR[what] = (max(worst, float(err)), n + 1)
