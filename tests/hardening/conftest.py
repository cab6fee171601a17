"""Shared tallies of the hardening tests, and the summary they print at the end.

Tests add to ``STATS`` (see :func:`tally`); the session summary prints

    inputs tried / refused cleanly / loaded (harmless mutation) / crashed
    faults injected / runs resumed / weights lost

and the tests themselves assert ``crashed == 0`` and ``weights lost == 0``; the
summary hook also fails the session if either is not 0.
"""

from __future__ import annotations

import pytest

STATS = {
    "inputs tried": 0,
    "refused cleanly": 0,
    "loaded (harmless)": 0,
    "crashed": 0,
    "faults injected": 0,
    "runs resumed": 0,
    "weights lost": 0,
}


def tally(**counts) -> None:
    """tally(inputs_tried=3, refused_cleanly=3) — keyword names with _ for spaces."""
    for k, v in counts.items():
        key = k.replace("_", " ")
        if key == "loaded harmless":
            key = "loaded (harmless)"
        assert key in STATS, key
        STATS[key] += int(v)


@pytest.fixture
def stats():
    return tally


def pytest_terminal_summary(terminalreporter, exitstatus, config):
    if not STATS["inputs tried"] and not STATS["faults injected"]:
        return  # no hardening test ran
    tr = terminalreporter
    tr.section("lstmkit hardening summary")
    tr.write_line(
        f"hostile inputs: {STATS['inputs tried']} tried, {STATS['refused cleanly']} "
        f"refused cleanly, {STATS['loaded (harmless)']} loaded correctly "
        f"(harmless mutation), {STATS['crashed']} crashed (must be 0)"
    )
    tr.write_line(
        f"training faults: {STATS['faults injected']} injected, {STATS['runs resumed']} "
        f"runs resumed, {STATS['weights lost']} weights lost (must be 0)"
    )


def pytest_sessionfinish(session, exitstatus):
    if STATS["crashed"] or STATS["weights lost"]:
        session.exitstatus = 1
