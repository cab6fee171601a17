"""The harness shared by the fuzz workers (_fuzz_sidecars.py, _fuzz_checkpoints.py,
_fuzz_keras.py), each run in a subprocess by test_fuzz_more.py:

    python _fuzz_<kind>.py WORKDIR SEED OUT.json

After the worker's set-up (imports, base files, one warm-up trial) the address space is
capped at what is mapped + 512 MiB, an audit hook records anything that runs code or
spawns a process, and every case is timed, measured with tracemalloc and guarded by a
30 s alarm (a hang). Times are CPU seconds of this process (time.process_time): on a
shared machine wall time measures the neighbours; the wall time is reported too. Each
case ends as

    refused    lstmkit refused it with its one-line error (UserError / ModelFileError)
    harmless   accepted, and what the job then computed is sane (the trial says so)
    crashed    anything else: another exception, a MemoryError, a non-sane result,
               more than 1 s of CPU, a peak above 100 MB, or the 30 s alarm
"""

from __future__ import annotations

import json
import os
import resource
import signal
import sys
import time
import tracemalloc

from lstmkit.errors import UserError

MAX_SECONDS = 1.0
MAX_PEAK = 100 * 2**20
HANG_SECONDS = 30
DANGEROUS = (
    "os.system",
    "subprocess.Popen",
    "os.exec",
    "os.posix_spawn",
    "os.spawn",
    "os.fork",
    "pickle.find_class",
    "marshal.loads",
    "exec",
    "compile",
    "ctypes.dlopen",
    "socket.connect",
    "urllib.Request",
)

# values put where a file promises something else (every fuzz worker draws from these)
JUNK = [
    None,
    -1,
    0,
    2**63,
    10**30,
    1e308,
    -1e308,
    float("nan"),
    float("inf"),
    "x" * 5000,
    "",
    [],
    {},
    [[[[1]]]],
    True,
    "os.system",
    "__import__('os').system('true')",
    {"type": "Lambda", "config": {}},
    1.5,
    "1e309",
    [None] * 50,
    "\x1b[2J",
]


class Hang(BaseException):
    pass


def _alarm(signum, frame):
    raise Hang


def json_paths(o, pre=()):
    """Every path (tuple of keys / indices) into parsed JSON, the root excluded."""
    if pre:
        yield pre
    if isinstance(o, dict):
        for k, v in o.items():
            yield from json_paths(v, pre + (k,))
    elif isinstance(o, list):
        for k, v in enumerate(o):
            yield from json_paths(v, pre + (k,))


def replaced(o, path, value):
    """A deep copy of ``o`` with the value at ``path`` replaced (``...``: deleted)."""
    o = json.loads(json.dumps(o, allow_nan=True))
    d = o
    for k in path[:-1]:
        d = d[k]
    if value is ...:
        del d[path[-1]]
    else:
        d[path[-1]] = value
    return o


def run(cases, trial, out_path, warmup=None) -> None:
    """``cases``: iterable of (label, make) — ``make()`` writes the case's file(s) and
    returns the argument of ``trial``; ``trial(arg)`` returns "refused" / "harmless" or
    raises UserError (refused). Writes the tallies to ``out_path`` as JSON."""
    if warmup is not None:
        trial(warmup)  # every lazy import happens now
    with open("/proc/self/status") as f:
        vm = next(int(ln.split()[1]) * 1024 for ln in f if ln.startswith("VmSize:"))
    cap = vm + 512 * 2**20
    resource.setrlimit(resource.RLIMIT_AS, (cap, resource.getrlimit(resource.RLIMIT_AS)[1]))
    events, before = [], set(sys.modules)
    sys.addaudithook(lambda ev, args: events.append(ev) if ev.startswith(DANGEROUS) else None)
    signal.signal(signal.SIGALRM, _alarm)
    res = {
        "tried": 0,
        "refused": 0,
        "harmless": 0,
        "crashed": 0,
        "hangs": 0,
        "failures": [],
        "max_seconds": 0.0,  # CPU
        "max_wall_seconds": 0.0,
        "max_peak_bytes": 0,
        "rlimit_as": cap,
    }
    tracemalloc.start()
    for label, make in cases:
        arg = make()
        tracemalloc.reset_peak()
        t, c = time.perf_counter(), time.process_time()
        signal.alarm(HANG_SECONDS)
        why = None
        try:
            kind = trial(arg)
        except UserError:
            kind = "refused"
        except Hang:
            kind, why = "crashed", "hang"
            res["hangs"] += 1
        except BaseException as e:  # noqa: BLE001 — that is the point
            kind, why = "crashed", f"{type(e).__name__}: {str(e)[:200]}"
        finally:
            signal.alarm(0)
        wall, dt = time.perf_counter() - t, time.process_time() - c
        peak = tracemalloc.get_traced_memory()[1]
        if kind == "crashed" and why is None:
            why = "not sane"
        if kind != "crashed" and dt > MAX_SECONDS:
            kind, why = "crashed", f"took {dt:.2f} s of CPU"
        if kind != "crashed" and peak > MAX_PEAK:
            kind, why = "crashed", f"peak {peak / 2**20:.0f} MiB"
        res["tried"] += 1
        res[kind] += 1
        res["max_seconds"] = max(res["max_seconds"], dt)
        res["max_wall_seconds"] = max(res["max_wall_seconds"], wall)
        res["max_peak_bytes"] = max(res["max_peak_bytes"], peak)
        if kind == "crashed":
            res["failures"].append(f"{label}: {why}")
    tracemalloc.stop()
    res["dangerous_events"] = sorted(set(events))
    res["new_modules"] = sorted(set(sys.modules) - before)
    with open(out_path, "w") as f:
        json.dump(res, f, indent=1)


def write(path, data: bytes | str) -> str:
    """Replace whatever is at ``path`` (file, FIFO, symlink, directory) with ``data``."""
    if os.path.islink(path) or os.path.isfile(path) or _is_fifo(path):
        os.unlink(path)
    elif os.path.isdir(path):
        os.rmdir(path)
    with open(path, "wb") as f:
        f.write(data.encode() if isinstance(data, str) else data)
    return path


def _is_fifo(path) -> bool:
    import stat

    try:
        return stat.S_ISFIFO(os.lstat(path).st_mode)
    except FileNotFoundError:
        return False


def special(path, what: str) -> str:
    """Put a FIFO, a directory, a symlink to a device, or a sparse 80 MB file at ``path``."""
    write(path, b"")
    os.unlink(path)
    if what == "fifo":
        os.mkfifo(path)
    elif what == "dir":
        os.mkdir(path)
    elif what == "devzero":
        os.symlink("/dev/zero", path)
    elif what == "sparse":
        with open(path, "wb") as f:
            f.write(b"{")
            f.truncate(80 * 2**20)
    elif what == "dangling":
        os.symlink(path + ".nowhere", path)
    return path
