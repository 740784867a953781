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
import stat
import tempfile
from collections.abc import Iterator, Sequence
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


def _temporary(target: Path) -> tuple[int, Path]:
    """Create a unique empty temporary file beside ``target`` (exclusively, mode 0600)."""
    try:
        fd, name = tempfile.mkstemp(dir=target.parent, prefix=f".{target.name}.", suffix=".tmp")
    except OSError as exc:
        raise output_error(target, exc) from exc
    return fd, Path(name)


def _commit(tmp: Path, target: Path) -> None:
    """fsync ``tmp`` and give it the umask's mode (refusing anything but a regular file: a
    symlink planted in its place is not followed), then rename it over ``target``."""
    try:
        fd = os.open(tmp, os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0))
    except OSError as exc:
        if exc.errno != errno.ELOOP:
            raise
        fd = -1
    if fd < 0 or not stat.S_ISREG(os.fstat(fd).st_mode):
        if fd >= 0:
            os.close(fd)
        raise OutputError(f"{tmp}: the temporary file was replaced by something else (a "
                          f"link?); expected exsyfit's own file; {target} was not written")
    try:
        os.fsync(fd)
        os.fchmod(fd, _default_mode())
    finally:
        os.close(fd)
    os.replace(tmp, target)


@contextlib.contextmanager
def _removed_on_failure(tmp: Path, target: Path) -> Iterator[None]:
    """Remove ``tmp`` if the block fails; an OSError becomes an :class:`OutputError`."""
    try:
        yield
    except OSError as exc:
        with contextlib.suppress(OSError):
            tmp.unlink()
        raise output_error(target, exc) from exc
    except BaseException:
        with contextlib.suppress(OSError):
            tmp.unlink()
        raise


@contextlib.contextmanager
def atomic_path(path: str | os.PathLike[str]) -> Iterator[Path]:
    """Yield a fresh temporary path beside ``path``; rename it over ``path`` on success.

    The caller writes the whole file to the yielded path (for libraries that want a file name,
    such as matplotlib or h5netcdf).  The temporary file already exists, empty, when yielded;
    if it is no longer a regular file afterwards (a symlink planted in its place), nothing is
    renamed.

    Raises
    ------
    exsyfit.errors.OutputError
        When the folder cannot be written (disk full, permissions, read-only, missing folder).
    """
    target = Path(path)
    fd, tmp = _temporary(target)
    os.close(fd)
    with _removed_on_failure(tmp, target):
        yield tmp
        _commit(tmp, target)


def write_bytes_atomic(path: str | os.PathLike[str], data: bytes) -> None:
    """Write ``data`` to ``path`` atomically, through the descriptor of the new temporary file
    (never reopened by name, so nothing planted in its place is written to)."""
    target = Path(path)
    fd, tmp = _temporary(target)
    with _removed_on_failure(tmp, target):
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
        _commit(tmp, target)


def write_text_atomic(path: str | os.PathLike[str], text: str) -> None:
    """Write ``text`` (UTF-8) to ``path`` atomically (see :func:`write_bytes_atomic`)."""
    write_bytes_atomic(path, text.encode("utf-8"))


#: Folders exsyfit creates inside an output folder (a link planted there would divert writes).
OUTPUT_SUBFOLDERS = ("figures", "show")


def prepare_output_folder(outdir: str | os.PathLike[str],
                          inputs: Sequence[str | os.PathLike[str]] = ()) -> Path:
    """Check that ``outdir`` can receive results, and create it (with its parents).

    Parameters
    ----------
    outdir : path-like
        The output folder.
    inputs : sequence of path-like
        Input folders, which are only ever read (e.g. ``Config.input_folders()``).

    Raises
    ------
    exsyfit.errors.OutputError
        ``outdir`` is a file, lies inside one of ``inputs``, cannot be created or written, or
        holds a symbolic link where exsyfit writes a folder of its own.
    """
    out = Path(outdir)
    if out.exists() and not out.is_dir():
        raise OutputError(f"{out}: is a file; expected an output folder (-o OUTDIR)")
    resolved = out.resolve()
    for folder in inputs:
        folder = Path(folder).resolve()
        if resolved == folder or folder in resolved.parents:
            raise OutputError(f"{out}: is inside the input folder {folder}; expected an "
                              "output folder outside the data (input folders are only read)")
    try:
        out.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise output_error(out, exc) from None
    if not os.access(out, os.W_OK | os.X_OK):
        raise OutputError(f"{out}: cannot write (permission denied); expected a writable "
                          "output folder")
    for name in OUTPUT_SUBFOLDERS:
        if (out / name).is_symlink():
            raise OutputError(f"{out / name}: is a symbolic link; expected a folder of "
                              "exsyfit's own (remove the link)")
    return out


LOCK_NAME = ".exsyfit.lock"


@contextlib.contextmanager
def output_lock(folder: str | os.PathLike[str]) -> Iterator[Path]:
    """Hold an exclusive lock on an output folder while results are written into it.

    The lock is ``fcntl.flock`` on ``folder/.exsyfit.lock`` (opened with ``O_NOFOLLOW``, so a
    planted symlink is refused): the kernel releases it when the process ends, so a run that
    was killed leaves no stale lock behind.  The lock file is removed on release.

    Raises
    ------
    exsyfit.errors.OutputError
        When another process holds the lock (naming the folder and its process id), or the
        folder cannot be written.
    """
    import fcntl

    target = Path(folder)
    lock = target / LOCK_NAME
    flags = os.O_RDWR | os.O_CREAT | getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_CLOEXEC", 0)
    while True:
        try:
            fd = os.open(lock, flags, 0o644)
        except OSError as exc:
            if exc.errno == errno.ELOOP:
                raise OutputError(f"{lock}: is a symbolic link; expected exsyfit's own lock "
                                  "file (remove the link)") from None
            raise output_error(lock, exc) from exc
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            holder = os.pread(fd, 32, 0).decode("ascii", "replace").strip() or "unknown"
            os.close(fd)
            raise OutputError(
                f"{target}: another exsyfit run (process {holder}) is writing into this "
                "folder; expected it to finish first, or choose another output folder with -o"
            ) from None
        # the file may have been removed by the previous holder between open and flock
        try:
            same = os.path.samestat(os.fstat(fd), os.stat(lock, follow_symlinks=False))
        except FileNotFoundError:
            same = False
        if same:
            break
        os.close(fd)
    try:
        os.ftruncate(fd, 0)
        os.pwrite(fd, f"{os.getpid()}\n".encode("ascii"), 0)
        yield lock
    finally:
        with contextlib.suppress(OSError):
            os.unlink(lock)
        os.close(fd)
