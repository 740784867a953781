"""One task of ``exsyfit batch``: the whole job of one config, as a Dask worker runs it.

:func:`run_config` is what the cluster executes for each config.  It never raises for a
problem with one config: it returns a plain, picklable row (status ``ok`` or ``error``, the
one-line message, whether the input or the program was at fault), so one broken config never
stops the others.

Results that are complete and current are reused: after a successful job the task writes
``batch_fingerprint.json`` beside the results, holding the SHA-256 of the config file and of
every input file (the volume table, or every file of every spectrometer folder).  A later batch
reuses the results when the fingerprint says ``complete`` and every checksum still matches;
otherwise the job runs again.  Results a batch wrote (a fingerprint is present) are replaced
when stale; results written by anything else are never overwritten without ``force``.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import sys
import threading
import time
import traceback
from pathlib import Path
from typing import Any

from exsyfit.errors import ExsyfitError
from exsyfit.files import output_error, output_lock, write_text_atomic
from exsyfit.workflow.runfolder import file_sha256

log = logging.getLogger("exsyfit")

#: Written beside the results of each config (see the module docstring).
FINGERPRINT = "batch_fingerprint.json"
#: The job's own log lines (info, warnings), written beside its results.
LOG_FILE = "batch.log"
#: Traceback of an unexpected failure, written beside the results.
TRACEBACK_FILE = "batch_error.txt"

# Figures (pyplot) and the sampler are not safe to run twice at once in one process: a worker
# with several threads runs its jobs one after another.
_RUN_LOCK = threading.Lock()


def input_checksums(config: Any) -> dict[Path, str]:
    """SHA-256 of every input file of a config's job, by its path as the job names it."""
    from exsyfit.workflow.pipeline import input_files

    sums: dict[Path, str] = {}
    for path in input_files(config):
        try:
            sums[path] = file_sha256(path)
        except OSError as exc:
            raise ExsyfitError(f"{path}: cannot be read ({exc.strerror or exc}); expected a "
                               "readable input file") from exc
    return sums


def fingerprint(config_path: Path, config: Any,
                checksums: dict[Path, str] | None = None) -> dict[str, Any]:
    """Checksums of a config file and of every input file of its job.

    Input files are keyed by their path relative to the config's folder (absolute when
    outside it), so a project folder moved as a whole stays current.  ``checksums``:
    :func:`input_checksums` of the config, when already computed.
    """
    from exsyfit import __version__

    base = Path(config.base_dir).resolve()
    inputs: dict[str, str] = {}
    sums = input_checksums(config) if checksums is None else checksums
    for path, digest in sums.items():
        resolved = path.resolve()
        try:
            key = resolved.relative_to(base).as_posix()
        except ValueError:
            key = str(resolved)
        inputs[key] = digest
    return {"config_sha256": file_sha256(config_path), "inputs": inputs,
            "exsyfit_version": __version__}


def _stored_fingerprint(outdir: Path) -> dict[str, Any] | None:
    try:
        stored = json.loads((outdir / FINGERPRINT).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return stored if isinstance(stored, dict) else None


def is_current(outdir: Path, current: dict[str, Any]) -> bool:
    """True when ``outdir`` holds the complete results of exactly these inputs."""
    stored = _stored_fingerprint(outdir)
    return (stored is not None and stored.get("complete") is True
            and stored.get("config_sha256") == current["config_sha256"]
            and stored.get("inputs") == current["inputs"]
            and (outdir / "summary.json").is_file())


def _write_fingerprint(outdir: Path, current: dict[str, Any], complete: bool) -> None:
    write_text_atomic(outdir / FINGERPRINT,
                      json.dumps({**current, "complete": complete}, indent=2) + "\n")


class _ThreadLog(logging.Handler):
    """Collects the log lines of the calling thread (the job) as text."""

    def __init__(self) -> None:
        super().__init__(logging.INFO)
        self.thread = threading.get_ident()
        self.lines: list[str] = []
        self.warnings: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        if record.thread != self.thread:
            return
        message = record.getMessage()
        if record.levelno >= logging.WARNING:
            self.warnings.append(message)
            message = f"warning: {message}"
        self.lines.append(message)


_FILE_BACKENDS = {"agg", "cairo", "pdf", "pgf", "ps", "svg", "template"}


def _use_file_backend() -> None:
    """Figures are drawn off the main thread on a worker: never with a GUI backend."""
    import matplotlib

    backend = matplotlib.get_backend().lower()
    if backend not in _FILE_BACKENDS and "inline" not in backend:
        matplotlib.use("Agg")


def _peak_memory_MB() -> float | None:
    """Peak resident memory of this process so far, MB (None where not measurable)."""
    try:
        import resource
    except ImportError:  # pragma: no cover - Windows
        return None
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return peak / 1e6 if sys.platform == "darwin" else peak / 1024.0


def _write_quietly(path: Path, text: str) -> None:
    """Write a log file beside the results if the folder exists (the row has the message)."""
    if path.parent.is_dir():
        with contextlib.suppress(ExsyfitError):
            write_text_atomic(path, text)


def _one_line(exc: BaseException) -> str:
    text = " ".join(str(exc).split())
    return text if isinstance(exc, ExsyfitError) else f"{type(exc).__name__}: {text}"


def _job(config_path: Path, outdir: Path, force: bool, row: dict[str, Any]) -> None:
    from exsyfit.config import load_config
    from exsyfit.workflow.pipeline import run

    config = load_config(config_path)
    sums = input_checksums(config)  # hashed once: for this fingerprint and for run.json
    current = fingerprint(config_path, config, sums)
    if not force and is_current(outdir, current):
        row["reused"] = True
    else:
        # results a batch wrote (a fingerprint is there) are its own to replace; an
        # incomplete fingerprint marks a job that was interrupted
        owned = _stored_fingerprint(outdir) is not None
        fresh = not outdir.exists() or not any(outdir.iterdir())
        try:
            outdir.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise output_error(outdir, exc) from exc
        with output_lock(outdir):  # no other exsyfit process writes here meanwhile
            if owned or fresh:
                _write_fingerprint(outdir, current, complete=False)
            # one core per job: the cluster runs the jobs side by side
            done = run(config, outdir, force=force or owned or fresh, workers=1,
                       checksums=sums)
            if isinstance(done, dict) and isinstance(done.get("seconds"), dict):
                row["stage_seconds"] = dict(done["seconds"])
            _write_fingerprint(outdir, current, complete=True)
            (outdir / TRACEBACK_FILE).unlink(missing_ok=True)  # of an earlier failure
    summary = json.loads((outdir / "summary.json").read_text(encoding="utf-8"))
    row["summary"] = summary
    row["status"] = "ok"


def run_config(config: str, outdir: str, force: bool = False) -> dict[str, Any]:
    """Run the whole job of one config (what ``exsyfit run`` does) into ``outdir``.

    Parameters
    ----------
    config : str
        Path of the TOML config file (absolute on a cluster: workers resolve it).
    outdir : str
        The config's own results folder.
    force : bool
        Run again even when the results are current, and overwrite results that a batch did
        not write.

    Returns
    -------
    dict
        ``status`` ('ok' or 'error'), ``error`` (one-line message, '' when ok),
        ``error_kind`` ('input' for bad input, 'unexpected' for a bug, '' when ok),
        ``reused`` (results were current and kept), ``summary`` (the summary.json dict when
        ok), ``seconds`` (wall time of the task, s), ``cpu_seconds`` (CPU time of the worker
        process during the task, s), ``peak_memory_MB`` (peak resident memory
        of the worker process so far, MB), ``worker`` (host:pid) and, when the job ran,
        ``stage_seconds`` (wall time per stage of the job, s, as ``run`` reports it).
    """
    start, cpu_start = time.perf_counter(), time.process_time()
    row: dict[str, Any] = {"status": "error", "error": "", "error_kind": "", "reused": False,
                           "summary": None}
    path, folder = Path(config), Path(outdir)
    handler = _ThreadLog()
    with _RUN_LOCK:
        _use_file_backend()
        level = log.level
        log.addHandler(handler)
        log.setLevel(logging.INFO)
        try:
            _job(path, folder, force, row)
        except ExsyfitError as exc:
            row.update(error=_one_line(exc), error_kind="input")
        except Exception as exc:  # a bug: reported in the row, the traceback kept on disk
            row.update(error=_one_line(exc), error_kind="unexpected")
            handler.lines.append(traceback.format_exc())
            _write_quietly(folder / TRACEBACK_FILE, traceback.format_exc())
        finally:
            log.removeHandler(handler)
            log.setLevel(level)
        if not row["reused"]:
            if row["status"] == "error":
                handler.lines.append(f"error: {row['error']}")
            _write_quietly(folder / LOG_FILE, "\n".join(handler.lines) + "\n")
    row["seconds"] = time.perf_counter() - start
    row["cpu_seconds"] = time.process_time() - cpu_start
    row["peak_memory_MB"] = _peak_memory_MB()
    row["worker"] = f"{os.uname().nodename if hasattr(os, 'uname') else ''}:{os.getpid()}"
    return row
