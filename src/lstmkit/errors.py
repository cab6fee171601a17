"""lstmkit's own error types.

``UserError`` is for bad input a person handed us (a file, a column, an option):
the CLI prints its message as one line and exits with code 2, never a traceback.
``ModelFileError`` is a model file we refuse to load (it is a UserError too).
``TrainingDiverged``: a job whose training went NaN / inf (exit code 3).
"""

__all__ = ["LstmkitError", "ModelFileError", "UserError", "WriteError", "TrainingDiverged"]


class LstmkitError(Exception):
    """Base class of every error lstmkit raises on purpose."""


class UserError(LstmkitError, ValueError):
    """Bad input from the user: the message says what was expected and what came."""


class ModelFileError(UserError):
    """A model file that is malformed, truncated, forged or from another task."""


class TrainingDiverged(LstmkitError):
    """A job's training stopped because a batch went NaN / inf (the CLI exits with code 3;
    ``history.diverged`` says where). Not a UserError: the input was fine, the run was not."""

    exit_code = 3


class WriteError(UserError):
    """A file we could not write (disk full, no permission, …). Files are written to a
    temporary name and renamed, so whatever was at the path before is left intact.
    ``errno`` is the operating system's error number (e.g. errno.ENOSPC)."""

    def __init__(self, message, errno=None):
        super().__init__(message)
        self.errno = errno
