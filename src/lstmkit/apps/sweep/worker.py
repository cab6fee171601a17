"""A local sweep worker: ``python -m lstmkit.apps.sweep.worker --worker NAME`` reads its
jobs (a JSON list) on stdin and writes one JSON line per finished run (no pickle)."""

from __future__ import annotations

import json
import sys

from ...errors import UserError
from ...parallel import INSTALL_HINT
from .job import run_job


def worker_main(name: str) -> int:
    """``python -m lstmkit.apps.sweep.worker --worker NAME``: jobs (a JSON list) on stdin,
    one JSON line per finished run on stdout."""
    jobs = json.loads(sys.stdin.read())
    for j in jobs:
        try:
            row = run_job(j, name)
        except UserError as e:
            print(f"lstmkit sweep: error: {e}", file=sys.stderr)
            return 2
        print(json.dumps(row), flush=True)
    return 0


if __name__ == "__main__":
    if len(sys.argv) == 3 and sys.argv[1] == "--worker":
        sys.exit(worker_main(sys.argv[2]))
    sys.exit(
        f"usage: lstmkit sweep CONFIG (this module's --worker mode is internal); "
        f"MPI: {INSTALL_HINT}"
    )
