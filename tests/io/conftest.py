"""Session summary of the interop tests: the largest difference per comparison."""

from __future__ import annotations

from tests.io._errors import MAX_ERROR


def pytest_terminal_summary(terminalreporter, exitstatus, config):
    if not MAX_ERROR:
        return
    terminalreporter.section("lstmkit interop: largest differences seen")
    for what, (err, n) in sorted(MAX_ERROR.items()):
        terminalreporter.write_line(f"max |{what}|: {err:.3g} over {n} comparisons")
