"""Running the CLI in-process on tiny inputs, for the hardening tests."""

from __future__ import annotations


def cli(*argv) -> tuple[int, str, str]:
    """Run ``lstmkit argv…`` in this process → (exit code, stdout, stderr); an exception
    escaping the CLI (a traceback a user would see) propagates and fails the test."""
    import contextlib
    import io

    from lstmkit.cli import main

    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        rc = main([str(a) for a in argv])
    return rc, out.getvalue(), err.getvalue()


def one_line_error(rc, err, code=2) -> str:
    """Exit ``code`` with exactly one line on stderr (progress bars aside), no traceback."""
    lines = [ln for ln in err.splitlines() if ln.strip() and "%|" not in ln]
    assert rc == code and len(lines) == 1 and "Traceback" not in err, (rc, err[-2000:])
    return lines[0]


FORECAST = ["--horizon", "3", "--epochs", "1", "--units", "4", "--quiet", "--season", "12"]
CLASSIFY = ["--epochs", "1", "--units", "4", "--quiet"]
TEXTGEN = ["--seq-len", "16", "--batch-size", "4", "--units", "8", "--epochs", "1", "--quiet"]
