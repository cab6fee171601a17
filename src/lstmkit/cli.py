"""The ``lstmkit`` command: parses arguments, calls a job in :mod:`lstmkit.apps`, prints.

Each sub-command lives in its own module (``COMMANDS`` below) that provides

    HELP: str                      one line for the command list
    DESCRIPTION: str               shown by --help, with an example
    add_arguments(parser)          argparse arguments
    run(args) -> int               the exit code

Errors: a :class:`lstmkit.errors.UserError` becomes one line on stderr and exit
code 2; Ctrl-C exits 130. Nothing imports this module.
"""

from __future__ import annotations

import argparse
import importlib
import sys

from .errors import UserError
from .parallel import HELP_EPILOG, cli_setup

#: sub-command → module (imported only when that command runs or --help is asked)
COMMANDS: dict[str, str] = {
    "forecast": "lstmkit.apps.forecast.cli",
    "classify": "lstmkit.apps.classify.cli",
    "textgen": "lstmkit.apps.textgen.cli",
    "explain": "lstmkit.apps.explain.cli",
    "longmemory": "lstmkit.apps.longmemory.cli",
    "sweep": "lstmkit.apps.sweep.cli",
    "export": "lstmkit.apps.export.cli",
    "inspect": "lstmkit.apps.inspect.cli",
    "speech": "lstmkit.apps.speech.cli",
    "g2p": "lstmkit.apps.g2p.cli",
    "info": "lstmkit.apps.info.cli",
}


class _Parser(argparse.ArgumentParser):
    def error(self, message):  # argparse's own errors: usage + one line, exit 2
        self.print_usage(sys.stderr)
        print(f"lstmkit: error: {message}", file=sys.stderr)
        sys.exit(2)


class _Version(argparse.Action):  # the version and the kernel that runs (apps/info/cli.py)
    def __call__(self, parser, namespace, values, option_string=None):
        print(importlib.import_module("lstmkit.apps.info.cli").version_text())
        parser.exit()


def build_parser() -> argparse.ArgumentParser:

    parser = _Parser(
        prog="lstmkit",
        description="LSTM sequence jobs from one command.",
        epilog=HELP_EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--version", action=_Version, nargs=0, help="version and kernel, then exit")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)
    for name, modname in COMMANDS.items():
        mod = importlib.import_module(modname)
        p = sub.add_parser(
            name,
            help=mod.HELP,
            description=mod.DESCRIPTION,
            formatter_class=argparse.RawDescriptionHelpFormatter,
        )
        mod.add_arguments(p)
        p.set_defaults(_run=mod.run)
    return parser


def main(argv=None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if not getattr(args, "_run", None):
        parser.print_help()
        return 2
    try:
        cli_setup(args)  # under mpiexec: rank 0 alone prints and writes files
        return int(args._run(args) or 0)
    except UserError as e:
        print(f"lstmkit {args.command}: error: {e}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print(f"lstmkit {args.command}: interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:  # `lstmkit … | head`: the reader left; not an error of ours
        import os

        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 0


if __name__ == "__main__":
    sys.exit(main())
