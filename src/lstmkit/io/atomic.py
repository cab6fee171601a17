"""Writing a file so that a reader never sees half of it, even if we are killed mid-write.

``atomic_write(path, data)``: write to a temporary file in the same directory,
fsync, then ``os.replace`` over ``path`` (and fsync the directory). A temp file that
a killed writer leaves behind is removed by the next write to the same path.
"""

from __future__ import annotations

import os
import tempfile

from ..errors import WriteError

__all__ = ["atomic_write"]


def _remove_stale_temps(d, base) -> None:
    """Delete ``.{base}.{pid}.*.tmp`` files left by writers that were killed mid-write
    (their pid is gone); a live writer's temp file is never touched."""
    try:
        names = os.listdir(d)
    except OSError:
        return
    for name in names:
        if not (name.startswith(f".{base}.") and name.endswith(".tmp")):
            continue
        pid = name[len(base) + 2 :].split(".", 1)[0]
        if not pid.isdigit() or int(pid) == os.getpid():
            continue
        try:
            os.kill(int(pid), 0)  # raises if no such process
        except ProcessLookupError:
            try:
                os.unlink(os.path.join(d, name))
            except OSError:
                pass
        except (PermissionError, OverflowError, OSError):
            pass  # someone else's live process, or odd name


def atomic_write(path, data: bytes) -> None:
    """Write to a temporary file in the same directory, fsync, then os.replace: readers see
    the old file or the new one, never half of one, even if we are killed mid-write (the
    temp file a killed writer leaves is removed by the next write to the same path)."""
    path = os.fspath(path)
    d = os.path.dirname(os.path.abspath(path))
    base = os.path.basename(path)
    _remove_stale_temps(d, base)
    tmp = None
    try:
        fd, tmp = tempfile.mkstemp(prefix=f".{base}.{os.getpid()}.", suffix=".tmp", dir=d)
        with os.fdopen(fd, "wb") as f:  # (closed by the with even if fchmod fails)
            umask = os.umask(0)  # mkstemp makes 0600; give the file the usual mode
            os.umask(umask)
            os.fchmod(f.fileno(), 0o666 & ~umask)
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException as e:
        if tmp is not None and os.path.exists(tmp):
            os.unlink(tmp)
        if isinstance(e, OSError):  # disk full, read-only, no permission …
            kept = (
                "the previous file there is unchanged"
                if os.path.exists(path)
                else "nothing was written"
            )
            raise WriteError(
                f"cannot write {path}: {e.strerror or e} ({len(data)} bytes); {kept}", errno=e.errno
            ) from e
        raise
    try:  # make the rename itself durable
        dfd = os.open(d, os.O_RDONLY)
        try:
            os.fsync(dfd)
        finally:
            os.close(dfd)
    except OSError:
        pass
