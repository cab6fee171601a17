"""The ``lstmkit`` command's entry point. It lives outside the package on purpose: a
Ctrl-C while the package is still importing its modules (numpy, the C kernel, …) is then
"interrupted" and exit code 130, as everywhere else in the CLI — not a traceback. The
command itself is :func:`lstmkit.cli.main`."""

from __future__ import annotations

import sys


def main() -> int:
    try:
        from lstmkit.cli import main as cli_main
    except KeyboardInterrupt:
        print("lstmkit: interrupted", file=sys.stderr)
        return 130
    return cli_main()
