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


def _figure_with_pid(title: str):
    import matplotlib.figure

    fig = matplotlib.figure.Figure(figsize=(2, 2))
    fig.add_subplot().set_title(f"{title} {os.getpid()}")
    fig.text(0, 0, str(os.getpid()))
    return fig


def test_figures_render_in_worker_processes_and_keep_their_order(tmp_path):
    from exsyfit.output.figures import FigureJob, PlotStyle
    from exsyfit.workflow.parallel import render_figures

    style = PlotStyle(formats=("png", "pdf"), dpi=50)
    jobs = [FigureJob(tmp_path / f"f{i}", _figure_with_pid, (f"figure {i}",), style=style)
            for i in range(3)]
    files = render_figures(jobs, workers=2)
    assert files == [[tmp_path / f"f{i}.png", tmp_path / f"f{i}.pdf"] for i in range(3)]
    assert all(p.stat().st_size > 0 for paths in files for p in paths)
    serial = render_figures([FigureJob(tmp_path / "s", _figure_with_pid, ("s",), style=style)],
                            workers=1)
    assert serial == [[tmp_path / "s.png", tmp_path / "s.pdf"]]
