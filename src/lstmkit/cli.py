"""The ``lstmkit`` command: parses arguments, calls a job in :mod:`lstmkit.apps`, prints.

Each sub-command lives in its own module (``COMMANDS`` below) that provides

    HELP: str                      one line for the command list
    DESCRIPTION: str               shown by --help, with an example
    add_arguments(parser)          argparse arguments
    run(args) -> int               the exit code

Exit codes: 0 done; 2 bad input — a :class:`lstmkit.errors.UserError` (a file, a
column, an option, a model file or sidecar we refuse, a file we cannot write) is one
line on stderr; 3 the training diverged (:class:`lstmkit.errors.TrainingDiverged`: a
batch went NaN / inf, the job wrote no results); 130 Ctrl-C. Control characters in a
message are shown escaped. When the command ends, however it ends, the output
directory's record of the files it wrote is written and its lock released
(:mod:`lstmkit.apps.shared.outdir`). Nothing imports this module.
"""

from __future__ import annotations

import argparse
import importlib
import re
import sys

from .apps.shared.outdir import finish_all
from .apps.shared.tables import printable
from .errors import TrainingDiverged, UserError
from .parallel import HELP_EPILOG, cli_setup

__all__ = ["COMMANDS", "build_parser", "main"]

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
    def error(self, message):  # argparse's own errors (a bad or missing option): one line, exit 2
        m = re.match(r"argument ([^:/ ]+)(?:/[^:]+)?: (.*)", message)
        if m:  # "argument --units: expected …" → "--units expected …"
            message = f"{m[1]} {m[2]}"
        print(f"{self.prog}: error: {message} (see {self.prog} --help)", file=sys.stderr)
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
    try:
        args = parser.parse_args(argv)
    except SystemExit as e:  # a bad option (one line printed): its code; --help exits as usual
        if e.code in (0, None):
            raise
        return e.code if isinstance(e.code, int) else 2
    if not getattr(args, "_run", None):
        parser.print_help()
        return 2
    try:
        cli_setup(args)  # under mpiexec: rank 0 alone prints and writes files
        return int(args._run(args) or 0)
    except UserError as e:
        print(
            f"lstmkit {args.command}: error: {printable(str(e), newlines=False)}", file=sys.stderr
        )
        return 2
    except TrainingDiverged as e:
        print(
            f"lstmkit {args.command}: error: {printable(str(e), newlines=False)}", file=sys.stderr
        )
        return TrainingDiverged.exit_code
    except KeyboardInterrupt:
        print(f"lstmkit {args.command}: interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:  # `lstmkit … | head`: the reader left; not an error of ours
        import os

        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 0
    finally:
        finish_all()  # the output directory's record of this run, and its lock released


if __name__ == "__main__":
    sys.exit(main())
