"""Writing result files safely: one atomic writer for every file exsyfit produces.

A file is written to a temporary file created exclusively (``O_CREAT | O_EXCL``, so a planted
symlink is never followed) in the target's own folder under a unique name, flushed to disk,
given the permissions an ordinary new file gets under the user's umask (group-readable on a
shared server when the umask allows it), and then renamed over the target in one step.  On any
failure the temporary file is removed and the target is left as it was.  Disk-full and
permission problems are the user's to fix, so they become :class:`~exsyfit.errors.OutputError`
naming the path.
"""

from __future__ import annotations

import contextlib
import errno
import os
import tempfile
from collections.abc import Iterator
from pathlib import Path

from exsyfit.errors import OutputError

_UMASK: int | None = None


def _default_mode() -> int:
    """Mode of a new regular file under the current umask (0o666 & ~umask)."""
    global _UMASK
    if _UMASK is None:
        mask = os.umask(0)
        os.umask(mask)
        _UMASK = mask
    return 0o666 & ~_UMASK


def output_error(path: str | os.PathLike[str], exc: OSError) -> OutputError:
    """An :class:`OutputError` that names the path and says what went wrong in plain words."""
    reason = {
        errno.ENOSPC: "the disk is full",
        errno.EDQUOT: "the disk quota is exceeded",
        errno.EACCES: "permission denied",
        errno.EPERM: "permission denied",
        errno.EROFS: "the file system is read-only",
        errno.ENOENT: "the folder does not exist",
        errno.ENOTDIR: "a part of the path is a file, not a folder",
        errno.EISDIR: "it is a folder",
    }.get(exc.errno or 0, exc.strerror or str(exc))
    return OutputError(f"{path}: cannot write ({reason}); expected a writable location")


@contextlib.contextmanager
def atomic_path(path: str | os.PathLike[str]) -> Iterator[Path]:
    """Yield a fresh temporary path beside ``path``; rename it over ``path`` on success.

    The caller writes the whole file to the yielded path (for libraries that want a file name,
    such as matplotlib or h5netcdf).  The temporary file already exists, empty, when yielded.

    Raises
    ------
    exsyfit.errors.OutputError
        When the folder cannot be written (disk full, permissions, read-only, missing folder).
    """
    target = Path(path)
    try:
        fd, name = tempfile.mkstemp(dir=target.parent, prefix=f".{target.name}.", suffix=".tmp")
    except OSError as exc:
        raise output_error(target, exc) from exc
    os.close(fd)
    tmp = Path(name)
    try:
        yield tmp
        with open(tmp, "rb+") as fh:
            os.fsync(fh.fileno())
        os.chmod(tmp, _default_mode())
        os.replace(tmp, target)
    except OSError as exc:
        with contextlib.suppress(OSError):
            tmp.unlink()
        raise output_error(target, exc) from exc
    except BaseException:
        with contextlib.suppress(OSError):
            tmp.unlink()
        raise


def write_bytes_atomic(path: str | os.PathLike[str], data: bytes) -> None:
    """Write ``data`` to ``path`` atomically (see :func:`atomic_path`)."""
    with atomic_path(path) as tmp:
        try:
            with open(tmp, "wb") as fh:
                fh.write(data)
                fh.flush()
        except OSError as exc:
            raise output_error(path, exc) from exc


def write_text_atomic(path: str | os.PathLike[str], text: str) -> None:
    """Write ``text`` (UTF-8) to ``path`` atomically (see :func:`atomic_path`)."""
    write_bytes_atomic(path, text.encode("utf-8"))
