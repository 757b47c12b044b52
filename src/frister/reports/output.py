"""Writing a report to a file: whole and readable by its owner only, or not at all.

:func:`write_output` is the one way a report reaches a file (``--output``, the demo's
monthly report). It writes to a temporary file beside the target, created ``0600``
whatever the umask, flushes it to the disk and renames it over the target
(``os.replace``, atomic on one file system). So a reader sees the old file or the new
one, never half of one, and a failure (a full disk, a size limit, a directory where no
file can be created, such as ``/proc``) removes the temporary file and leaves the
target as it was. A target that exists and is not a regular file (a device such as
``/dev/full``, a pipe) is refused rather than replaced; a symbolic link is followed, so
the file it points to is replaced, not the link. Missing parent directories are created.

Every failure is an :class:`~frister.errors.OutputError` that names the path as given
and says what the system answered, never an internal error.
"""

from __future__ import annotations

import os
import stat
import tempfile
from pathlib import Path

from frister.errors import OutputError


def write_output(path: str | os.PathLike, data: bytes, mode: int = 0o600) -> Path:
    """Write ``data`` to ``path`` (see the module docstring); return the path as given.
    ``mode`` is for a file meant for another user (the metrics textfile, which holds
    counts only, for the Prometheus collector); every report is ``0600``."""
    shown = Path(path)
    target = Path(os.path.realpath(shown))
    try:
        existing = os.stat(target)
    except FileNotFoundError:
        existing = None
    except OSError as exc:  # e.g. a parent that is a file: "Not a directory"
        raise OutputError(f"{shown}: cannot write there: {exc.strerror}") from None
    if existing is not None and not stat.S_ISREG(existing.st_mode):
        raise OutputError(f"{shown}: not a regular file (a device, a pipe or a directory); give a file's path")
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise OutputError(f"{shown}: cannot create its directory: {exc.strerror}") from None
    try:
        fd, temporary = tempfile.mkstemp(dir=target.parent, prefix=f".{target.name}.", suffix=".tmp")
    except OSError as exc:
        raise OutputError(f"{shown}: cannot create a file there: {exc.strerror}") from None
    try:
        if mode != 0o600:
            os.fchmod(fd, mode)
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(temporary, target)
    except BaseException as exc:
        try:
            os.unlink(temporary)
        except OSError:
            pass
        if isinstance(exc, OSError):
            raise OutputError(f"{shown}: cannot write: {exc.strerror or type(exc).__name__}") from None
        raise
    return shown
