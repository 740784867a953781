"""Independent fits as parallel tasks: same results, errors kept, serial where it must be."""

from __future__ import annotations

import os

import pytest

from exsyfit.errors import ConfigError
from exsyfit.workflow.parallel import (
    Task,
    available_cores,
    can_start_processes,
    resolve_workers,
    run_tasks,
)


def _square(x: int) -> tuple[int, int, str | None]:
    return x * x, os.getpid(), os.environ.get("OMP_NUM_THREADS")


def _fail(message: str) -> None:
    raise ConfigError(message)


def test_tasks_run_in_worker_processes_single_threaded():
    done = []
    results, seconds = run_tasks([Task(f"t{i}", _square, (i,), cost=i) for i in range(4)],
                                 workers=2, on_done=lambda name, s: done.append(name))
    assert {k: v[0] for k, v in results.items()} == {"t0": 0, "t1": 1, "t2": 4, "t3": 9}
    assert all(v[1] != os.getpid() for v in results.values())  # other processes
    assert all(v[2] == "1" for v in results.values())  # one BLAS thread per worker
    assert sorted(done) == ["t0", "t1", "t2", "t3"] and set(seconds) == set(results)


def test_serial_runs_in_this_process():
    results, _ = run_tasks([Task("a", _square, (3,))], workers=4)
    assert results["a"][:2] == (9, os.getpid())


def test_errors_keep_their_kind():
    with pytest.raises(ConfigError, match="bad key"):
        run_tasks([Task("a", _fail, ("bad key",)), Task("b", _square, (1,))], workers=2)


def test_worker_count():
    assert resolve_workers(None, 100) == available_cores()
    assert resolve_workers(8, 3) == 3 and resolve_workers(1, 5) == 1
    assert resolve_workers(0, 1) == 1


def test_inside_a_dask_worker_the_fits_run_serially():
    distributed = pytest.importorskip("distributed")
    with distributed.LocalCluster(n_workers=1, processes=False, threads_per_worker=1,
                                  dashboard_address=":0") as cluster, \
            distributed.Client(cluster) as client:
        assert client.submit(can_start_processes).result() is False
    assert can_start_processes()
