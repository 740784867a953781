"""Independent fits (and figures) of one job, run concurrently: one process per core by default.

A job holds several fits that do not depend on each other: the main model, the free-rate
points, comparison variants (spin diffusion, transport) and the robustness variants.  They run
as tasks on Dask's multiprocessing scheduler (``dask.compute(..., scheduler="processes")``:
fresh worker processes, nothing to start beforehand), each task a picklable call of a
module-level function.  Each task is seeded by the config alone, so the results are identical
to a serial run.  The figures of a run are drawn and written the same way, one task per
figure (:func:`render_figures`).

Workers are processes, not threads: the log-probability is numpy code that holds the GIL for
short kernels.  On Linux they are forked from a single-threaded parent, so they start without
importing anything again; elsewhere (or from a threaded parent) they are spawned.  Their log
lines are dropped: each result carries its own warnings back to the parent.  Spawned workers
run their numerical libraries single-threaded (``OMP_NUM_THREADS`` etc. set to 1 while the pool
starts) so that N workers use N cores, not N x N threads; forked workers keep the parent's
BLAS, which does not thread the likelihood's small per-walker matrices.

Inside a Dask worker (``exsyfit batch``, which already runs one job per core) or a process that
cannot start children, the tasks run one after another in that process.
"""

from __future__ import annotations

import contextlib
import logging
import multiprocessing
import os
import sys
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any

log = logging.getLogger("exsyfit")

_THREAD_VARIABLES = ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS",
                     "VECLIB_MAXIMUM_THREADS", "NUMEXPR_NUM_THREADS")


@dataclass
class Task:
    """One independent piece of work.

    Attributes
    ----------
    name : str
        Key of the result (``main``, ``free``, ``robust:box``, ...).
    func : callable
        A module-level (picklable) function.
    args : tuple
        Its positional arguments (picklable).
    kwargs : dict
        Its keyword arguments (picklable).
    cost : float
        Relative expected run time; the most expensive tasks are started first.
    """

    name: str
    func: Callable[..., Any]
    args: tuple = ()
    kwargs: dict[str, Any] = field(default_factory=dict)
    cost: float = 1.0


def available_cores() -> int:
    """Cores this process may run on."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # pragma: no cover - not on Linux
        return max(1, os.cpu_count() or 1)


def can_start_processes() -> bool:
    """False inside a daemonic process or a Dask worker (``exsyfit batch`` spreads whole jobs
    over the cores already, and a daemonic process cannot have children)."""
    if multiprocessing.current_process().daemon:
        return False
    if "distributed" in sys.modules:
        try:
            sys.modules["distributed"].get_worker()
        except (ValueError, AttributeError):
            return True
        return False
    return True


def resolve_workers(workers: int | None, n_tasks: int) -> int:
    """Worker processes to use: ``workers`` (default one per core), at most one per task."""
    n = available_cores() if workers is None or workers <= 0 else int(workers)
    if not can_start_processes():
        n = 1
    return max(1, min(n, n_tasks))


@contextlib.contextmanager
def _single_threaded_children() -> Iterator[None]:
    old = {k: os.environ.get(k) for k in _THREAD_VARIABLES}
    for k in _THREAD_VARIABLES:
        os.environ[k] = "1"
    try:
        yield
    finally:
        for k, v in old.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v


def _start_method() -> str:
    """``fork`` on Linux from a single-threaded process (the workers need not import exsyfit
    again: about 1 s of CPU each), else ``spawn``."""
    if sys.platform.startswith("linux") and threading.active_count() == 1:
        return "fork"
    return "spawn"


def _quiet_worker() -> None:
    """Worker start-up: the log stays with the parent (results carry their own warnings)."""
    log.handlers[:] = []
    log.propagate = False


def _timed(func: Callable[..., Any], args: tuple, kwargs: dict[str, Any]) -> tuple[Any, float]:
    t0 = time.perf_counter()
    out = func(*args, **kwargs)
    return out, time.perf_counter() - t0


def run_tasks(tasks: Sequence[Task], workers: int | None = None,
              on_done: Callable[[str, float], None] | None = None, what: str = "fits",
              ) -> tuple[dict[str, Any], dict[str, float]]:
    """Run independent tasks, concurrently when more than one worker is available.

    Parameters
    ----------
    tasks : sequence of Task
    workers : int, optional
        Worker processes; ``None`` or 0: one per core; 1: serially in this process.
    on_done : callable(name, seconds), optional
        Called in this process as each task finishes.
    what : str
        What the tasks are, for the log line (``"fits"``, ``"figures"``).

    Returns
    -------
    results : dict
        Task name -> return value.
    seconds : dict
        Task name -> wall time of the task itself (inside its worker).

    Raises
    ------
    Exception
        The first exception a task raised (an ExsyfitError stays an ExsyfitError).
    """
    ordered = sorted(tasks, key=lambda t: -t.cost)
    n = resolve_workers(workers, len(ordered))
    results: dict[str, Any] = {}
    seconds: dict[str, float] = {}
    if n == 1:
        for task in ordered:
            results[task.name], seconds[task.name] = _timed(task.func, task.args, task.kwargs)
            if on_done is not None:
                on_done(task.name, seconds[task.name])
        return results, seconds

    import dask
    from dask.callbacks import Callback

    keys = {}
    delayed = []
    for i, task in enumerate(ordered):
        # the local scheduler starts independent tasks from the last key in name order
        d = dask.delayed(_timed, pure=False)(task.func, task.args, task.kwargs,
                                             dask_key_name=f"exsyfit-task-{len(ordered) - i:04d}")
        keys[d.key] = task.name
        delayed.append(d)

    class _Done(Callback):
        def _posttask(self, key: Any, result: Any, dsk: Any, state: Any, worker_id: Any,
                      ) -> None:
            name = keys.get(key)
            if name is not None and on_done is not None:
                on_done(name, result[1])

    (log.info if what == "fits" else log.debug)("running %d %s on %d worker processes",
                                                len(ordered), what, n)
    with _single_threaded_children(), _Done(), dask.config.set(
            {"multiprocessing.context": _start_method()}):
        outs = dask.compute(*delayed, scheduler="processes", num_workers=n, chunksize=1,
                            optimize_graph=False, initializer=_quiet_worker)
    for task, (value, sec) in zip(ordered, outs, strict=True):
        results[task.name], seconds[task.name] = value, sec
    return results, seconds


def render_figures(jobs: Sequence[Any], workers: int | None = None) -> list[list[Any]]:
    """Draw and write figures (:class:`exsyfit.output.figures.FigureJob`) concurrently.

    Returns the files of each job, in the order of ``jobs``.  Rendering a figure at 300 dpi
    and as PDF costs about a second of CPU, so a run's dozen figures take half the wall time
    on two cores.
    """
    from exsyfit.output.figures import render_figure

    tasks = [Task(str(job.stem), render_figure, (job,)) for job in jobs]
    results, _ = run_tasks(tasks, workers, what="figures")
    return [results[str(job.stem)] for job in jobs]
