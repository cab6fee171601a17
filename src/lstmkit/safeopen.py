"""Opening a file we were handed for reading: regular files only, never a hang.

``open(path)`` on a FIFO blocks until someone writes to it, and a device or a directory is
no data file either. :func:`open_regular` opens without blocking, checks on the open file
(so a swap of the path between check and open changes nothing) that it is a regular
file, and only then hands it over, in blocking mode, for reading. Anything else raises
``OSError`` (errno EINVAL, naming what the path is), which the callers turn into their
one-line errors (a :class:`~lstmkit.errors.UserError` or a ModelFileError).
"""

from __future__ import annotations

import errno
import os
import stat

__all__ = ["open_regular"]

_KINDS = (
    (stat.S_ISDIR, "a directory"),
    (stat.S_ISFIFO, "a FIFO (named pipe)"),
    (stat.S_ISSOCK, "a socket"),
    (stat.S_ISCHR, "a character device"),
    (stat.S_ISBLK, "a block device"),
)


def open_regular(path):
    """``path`` opened ``rb`` if it is a regular file (a symlink to one is fine: reading it
    changes nothing); ``OSError`` otherwise. The file's size is ``os.fstat(f.fileno())``."""
    fd = os.open(os.fspath(path), os.O_RDONLY | os.O_NONBLOCK | getattr(os, "O_CLOEXEC", 0))
    try:
        mode = os.fstat(fd).st_mode
        if not stat.S_ISREG(mode):
            what = next((name for test, name in _KINDS if test(mode)), "not a regular file")
            raise OSError(errno.EINVAL, f"expected a regular file, got {what}")
        os.set_blocking(fd, True)
        return os.fdopen(fd, "rb")
    except BaseException:
        os.close(fd)
        raise
