"""The output directory rule every job follows (nothing the user had is overwritten).

``--out DIR`` must be new or empty; an existing non-empty DIR is refused unless
``--force``. Without ``--out`` a fresh numbered directory ``lstmkit-runs/<job>-N`` is
made in the current directory. Then:

* **one run at a time**: the job holds a lock on ``DIR/.lstmkit.lock`` (``flock``, released
  when the process ends, however it ends); a second run into the same DIR is refused;
* **a record of what the run wrote**: when the job ends (normally, on an error, on
  Ctrl-C) ``DIR/.lstmkit-run.json`` lists the files it created or replaced, with their
  inode, size and time; a run that was killed leaves the list of what was there before;
* **--force replaces the earlier run's files**: before the job starts, the files the
  earlier run's record lists are removed (when they are still the files it wrote) and
  named on stderr; anything else in DIR — your files — is left alone, and listed when
  there is no record to tell them apart.

Every file goes through :mod:`.outfiles` (temporary file + ``os.replace``: an existing
path, or a symlink planted there, is replaced, never written through).
"""

from __future__ import annotations

import atexit
import fcntl
import json
import os
import stat
import sys

from ...errors import UserError
from ...io.atomic import atomic_write
from .outfiles import write_json

__all__ = ["finish_all", "finish_out_dir", "lock_out_dir", "prepare_out_dir", "write_json"]

LOCK = ".lstmkit.lock"
RECORD = ".lstmkit-run.json"
OURS = (LOCK, RECORD)
_open_runs: dict[str, dict] = {}  # realpath → {"fd", "job", "before", "owned"}


def _key(st) -> list[int]:
    return [st.st_ino, st.st_size, st.st_mtime_ns]


def _files(out: str) -> dict[str, list[int]]:
    """{name: key} of the regular files (and symlinks) directly in ``out``, ours excluded."""
    found = {}
    for name in os.listdir(out):
        if name in OURS or (name.startswith(".") and name.endswith(".tmp")):
            continue
        st = os.lstat(os.path.join(out, name))
        if stat.S_ISREG(st.st_mode) or stat.S_ISLNK(st.st_mode):
            found[name] = _key(st)
    return found


def _read_record(out: str) -> dict | None:
    p = os.path.join(out, RECORD)
    try:
        st = os.lstat(p)
        if not stat.S_ISREG(st.st_mode) or st.st_size > 2**20:
            return None
        with open(p, encoding="utf-8") as f:
            rec = json.load(f)
    except (OSError, ValueError, RecursionError):
        return None
    return rec if isinstance(rec, dict) else None


def _earlier_files(out: str, rec: dict | None) -> dict[str, list[int]]:
    """The files of ``out`` the earlier run wrote, as its record tells: those it listed
    when it ended (still the same files), or — killed before it could — everything that
    is new or changed since the files it found when it started."""
    if rec is None:
        return {}
    now = _files(out)
    if isinstance(rec.get("files"), dict):
        return {n: k for n, k in now.items() if rec["files"].get(n) == k}
    if isinstance(rec.get("before"), dict):
        return {n: k for n, k in now.items() if rec["before"].get(n) != k}
    return {}


def _lock(out: str, job: str) -> int:
    path = os.path.join(out, LOCK)
    flags = os.O_RDWR | os.O_CREAT | getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_CLOEXEC", 0)
    for _ in range(5):  # the lock file may be replaced under us: lock the one at the path
        fd = os.open(path, flags, 0o644)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            other = os.pread(fd, 64, 0).decode("ascii", "replace").strip()
            os.close(fd)
            raise UserError(
                f"--out {out}: another lstmkit run (pid {other or '?'}) is writing into it; "
                f"wait for it to end or choose another directory"
            ) from None
        try:
            same = os.stat(fd).st_ino == os.lstat(path).st_ino
        except FileNotFoundError:
            same = False
        if same:
            os.ftruncate(fd, 0)
            os.pwrite(fd, f"{os.getpid()} {job}\n".encode(), 0)
            return fd
        os.close(fd)
    raise UserError(f"--out {out}: cannot take the lock {path}")


def _start(out: str, job: str, owned: dict) -> None:
    """Lock taken: note what is there now (what this run did not write) and make sure the
    record is written when the process ends."""
    real = os.path.realpath(out)
    run = _open_runs[real]
    run.update(job=job, before=_files(out), owned=owned)
    atomic_write(
        os.path.join(out, RECORD),
        json.dumps({"job": job, "pid": os.getpid(), "before": run["before"]}).encode(),
    )
    if len(_open_runs) == 1:
        atexit.register(finish_all)


def prepare_out_dir(out: str | None, job: str, force: bool = False) -> str:
    """Make (or check) the job's output directory, take its lock and, with ``force``,
    remove the earlier run's files. → the directory."""
    if out is None:
        k = 1
        while os.path.exists(os.path.join("lstmkit-runs", f"{job}-{k}")):
            k += 1
        out = os.path.join("lstmkit-runs", f"{job}-{k}")
    if os.path.lexists(out) and not os.path.isdir(out):
        raise UserError(f"--out {out} is a file; expected a directory (new or empty)")
    if os.path.realpath(out) in _open_runs:  # this process's earlier run there is over
        finish_out_dir(out)
    try:
        os.makedirs(out, exist_ok=True)
        fd = _lock(out, job)
    except OSError as e:
        raise UserError(f"cannot write to output directory {out}: {e.strerror or e}") from None
    _open_runs[os.path.realpath(out)] = {"fd": fd, "out": out}
    try:
        rec = _read_record(out)
        present = sorted(_files(out)) + sorted(
            n for n in os.listdir(out) if n not in OURS and not os.path.isfile(os.path.join(out, n))
        )
        if present and not force:
            raise UserError(
                f"--out {out} exists and is not empty; choose a new directory "
                f"or pass --force to replace this job's files in it"
            )
        if force and present:
            _remove_earlier(out, rec)
        _start(out, job, {})
    except BaseException:
        _release(os.path.realpath(out))
        raise
    return out


def _remove_earlier(out: str, rec: dict | None) -> None:
    earlier = _earlier_files(out, rec)
    removed = []
    for name in sorted(earlier):
        try:
            os.unlink(os.path.join(out, name))  # (a symlink is removed, not followed)
            removed.append(name)
        except OSError:
            pass
    if removed:
        print(
            f"--force: removed {len(removed)} file(s) of the earlier run in {out}: "
            f"{', '.join(removed[:12])}{' …' if len(removed) > 12 else ''}",
            file=sys.stderr,
        )
    kept = sorted(set(os.listdir(out)) - set(OURS) - set(removed))
    if kept and rec is None:
        print(
            f"--force: {out} holds {len(kept)} entr{'y' if len(kept) == 1 else 'ies'} no "
            f"lstmkit run recorded (kept; files of the same name as this job's are "
            f"replaced): {', '.join(kept[:12])}{' …' if len(kept) > 12 else ''}",
            file=sys.stderr,
        )


def lock_out_dir(out: str, job: str) -> str:
    """Continue in the directory of an earlier run (``--resume``): take its lock; the
    files that run wrote stay this run's."""
    if not os.path.isdir(out):
        raise UserError(
            f"--resume: --out {out} is no directory of an earlier run (no such directory)"
        )
    if os.path.realpath(out) in _open_runs:
        finish_out_dir(out)
    try:
        fd = _lock(out, job)
    except OSError as e:
        raise UserError(f"cannot write to output directory {out}: {e.strerror or e}") from None
    _open_runs[os.path.realpath(out)] = {"fd": fd, "out": out}
    try:
        owned = _earlier_files(out, _read_record(out))
        _start(out, job, owned)
    except BaseException:
        _release(os.path.realpath(out))
        raise
    return out


def _release(real: str) -> None:
    run = _open_runs.pop(real, None)
    if run is not None:
        os.close(run["fd"])


def finish_out_dir(out: str) -> None:
    """Write the record of the files this run wrote into ``out`` and release its lock
    (at exit this happens by itself; calling it twice is harmless)."""
    real = os.path.realpath(out)
    run = _open_runs.get(real)
    if run is None or "before" not in run:
        return _release(real)
    try:
        now = _files(out)
        wrote = {n: k for n, k in now.items() if run["before"].get(n) != k}
        kept = {n: k for n, k in now.items() if n in run["owned"] and n not in wrote}
        atomic_write(
            os.path.join(out, RECORD),
            json.dumps({"job": run["job"], "files": {**kept, **wrote}}, indent=1).encode(),
        )
    except OSError:
        pass  # (a vanished or read-only DIR: nothing to record)
    finally:
        _release(real)


def finish_all() -> None:
    """Finish every output directory this process has open (the CLI calls it when a
    command ends; it is also registered to run at exit)."""
    for real in list(_open_runs):
        finish_out_dir(_open_runs[real]["out"])
