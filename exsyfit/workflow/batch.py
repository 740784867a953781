"""``exsyfit batch``: the whole job of many configs on a Dask cluster.

Each config's job (what ``exsyfit run`` does) is one task, run by
:func:`exsyfit.workflow.batch_task.run_config` on a ``dask.distributed`` worker: by default
an embedded :class:`~distributed.LocalCluster` with one single-threaded worker process per
core, or any running cluster given by its scheduler address.  Results go to ``OUTDIR/<name>/``
exactly as ``run`` writes them; ``OUTDIR/batch.csv`` has one row per config;
``OUTDIR/comparison.*`` puts the Arrhenius laws of all configs on one axis and tabulates Ea and
ln A.

Names: the config file's stem (``pristine.toml`` -> ``pristine``).  When several configs share
a stem, each of them is named by its path: the stem preceded by as many parent folders as it
takes to tell them apart, joined with ``_`` (``LAGP/pristine/config.toml`` and
``LAGP/cycled/config.toml`` -> ``pristine_config`` and ``cycled_config``).  A config given
twice is run once.
"""

from __future__ import annotations

import contextlib
import logging
import math
import os
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd

from exsyfit.errors import ExsyfitError
from exsyfit.files import output_error, output_lock, write_text_atomic
from exsyfit.workflow.batch_task import run_config

log = logging.getLogger("exsyfit")

#: The columns of batch.csv, in order; per-pair Ea columns (more than two sites) follow
#: ``Ea_eV_q975``.
BASE_COLUMNS = ("config", "status", "outdir", "Ea_eV_median", "Ea_eV_q025", "Ea_eV_q975",
                "error", "reused", "seconds")
_STATS = ("median", "q025", "q975")
#: How long to try to reach a scheduler given by its address.
CONNECT_TIMEOUT = "20s"

ProgressFactory = Callable[[str, int], Any]


@dataclass(frozen=True)
class BatchItem:
    """One config of a batch: the path as given, its unique name and results folder."""

    config: str
    name: str
    outdir: Path


@dataclass
class BatchResult:
    """What a batch did.

    Attributes
    ----------
    table : pandas.DataFrame
        The rows of batch.csv, one per config, in the order given.
    rows : list of dict
        The full row of each task (with the summary.json dict, seconds, peak memory, worker).
    exit_status : int
        0 all ok; 2 a config had bad input; 1 a config failed unexpectedly (takes precedence).
    files : list of pathlib.Path
        batch.csv and the comparison figure and table written.
    """

    table: pd.DataFrame
    rows: list[dict[str, Any]]
    exit_status: int
    files: list[Path] = field(default_factory=list)


# ---------------------------------------------------------------------- names
def unique_names(configs: Sequence[str | os.PathLike[str]]) -> list[str]:
    """Result-folder names of configs: the stem, made unique by parent folders when shared.

    Examples
    --------
    >>> unique_names(["a/pristine.toml", "a/cycled.toml"])
    ['pristine', 'cycled']
    >>> unique_names(["LAGP/pristine/config.toml", "LAGP/cycled/config.toml"])
    ['pristine_config', 'cycled_config']
    """
    parts = [Path(c).resolve().with_suffix("").parts for c in configs]
    names = [p[-1] for p in parts]
    for depth in range(2, max((len(p) for p in parts), default=1) + 1):
        clashes = {n for n in names if names.count(n) > 1}
        if not clashes:
            break
        names = ["_".join(p[-depth:]) if n in clashes else n
                 for n, p in zip(names, parts, strict=True)]
    # identical paths are removed by plan(); anything still equal gets a counter
    seen: dict[str, int] = {}
    out = []
    for n in names:
        seen[n] = seen.get(n, 0) + 1
        out.append(n if seen[n] == 1 else f"{n}-{seen[n]}")
    return out


def plan(configs: Sequence[str | os.PathLike[str]], outdir: str | os.PathLike[str],
         ) -> list[BatchItem]:
    """The configs of a batch with their names and results folders (duplicates dropped)."""
    if not configs:
        raise ExsyfitError("exsyfit batch: no CONFIG given; expected one or more TOML files")
    given: list[str] = []
    seen: set[Path] = set()
    for c in configs:
        resolved = Path(c).resolve()
        if resolved in seen:
            log.warning("%s: given more than once; run once", c)
            continue
        seen.add(resolved)
        given.append(str(c))
    root = Path(outdir)
    return [BatchItem(c, n, root / n) for c, n in zip(given, unique_names(given), strict=True)]


# ---------------------------------------------------------------------- cluster
@contextlib.contextmanager
def open_client(workers: int | None = None, scheduler: str | None = None,
                n_tasks: int | None = None) -> Iterator[Any]:
    """A ``distributed.Client``: of a running scheduler, or of an embedded LocalCluster.

    Parameters
    ----------
    workers : int, optional
        Worker processes of the local cluster (default: one per core, at most ``n_tasks``).
        Ignored, with a warning, when ``scheduler`` is given.
    scheduler : str, optional
        Address of a running scheduler, e.g. ``tcp://login1:8786``.
    n_tasks : int, optional
        Number of tasks, so that a small batch does not start idle workers.

    Raises
    ------
    ExsyfitError
        ``workers`` is not a positive integer, or the scheduler cannot be reached.
    """
    from distributed import Client, LocalCluster

    if workers is not None and (not isinstance(workers, int) or workers < 1):
        raise ExsyfitError(f"--workers: found {workers!r}; expected a positive integer")
    if scheduler:
        if workers is not None:
            log.warning("--workers %d ignored: the cluster at %s has its own workers", workers,
                        scheduler)
        try:
            client = Client(scheduler, timeout=CONNECT_TIMEOUT)
        except (OSError, TimeoutError, ValueError) as exc:
            raise ExsyfitError(
                f"--scheduler {scheduler}: cannot connect ({' '.join(str(exc).split())}); "
                "expected the address of a running Dask scheduler, e.g. tcp://host:8786"
            ) from exc
        with client:
            n_workers = len(client.scheduler_info().get("workers", {}))
            log.info("connected to the Dask scheduler at %s (%d workers)", scheduler, n_workers)
            if n_workers == 0:
                log.warning("the scheduler at %s has no workers yet; the jobs wait until "
                            "workers join", scheduler)
            yield client
        return
    n = workers or os.cpu_count() or 1
    if n_tasks is not None and workers is None:
        n = max(1, min(n, n_tasks))
    log.info("starting a local Dask cluster: %d worker process(es)", n)
    with LocalCluster(n_workers=n, threads_per_worker=1, processes=True,
                      dashboard_address=":0", silence_logs=logging.ERROR) as cluster, \
            Client(cluster) as client:
        yield client


# ---------------------------------------------------------------------- table
def _ea_columns(summary: dict[str, Any] | None) -> dict[str, float]:
    """``Ea_eV_median``, ... of a summary; keyed ``Ea_eV_median[A<->B]`` per pair."""
    ea = (summary or {}).get("Ea_eV")
    if not isinstance(ea, dict):
        return {}
    if "median" in ea:
        return {f"Ea_eV_{s}": float(ea[s]) for s in _STATS if s in ea}
    return {f"Ea_eV_{s}[{pair}]": float(stats[s]) for pair, stats in ea.items()
            if isinstance(stats, dict) for s in _STATS if s in stats}


def batch_table(items: Sequence[BatchItem], rows: Sequence[dict[str, Any]]) -> pd.DataFrame:
    """The rows of batch.csv (see :data:`BASE_COLUMNS`), one per config, in order."""
    records = []
    for item, row in zip(items, rows, strict=True):
        rec: dict[str, Any] = {"config": item.config, "status": row["status"],
                               "outdir": str(item.outdir), "error": row.get("error", ""),
                               "reused": bool(row.get("reused", False)),
                               "seconds": round(float(row.get("seconds", math.nan)), 2)}
        rec.update(_ea_columns(row.get("summary")))
        records.append(rec)
    # per-pair columns in order of first appearance (median, q025, q975 of each pair)
    extra = list(dict.fromkeys(k for r in records for k in r if k not in BASE_COLUMNS))
    columns = [*BASE_COLUMNS[:6], *extra, *BASE_COLUMNS[6:]]
    return pd.DataFrame.from_records(records, columns=columns)


def exit_status(rows: Sequence[dict[str, Any]]) -> int:
    """1 if any job failed unexpectedly, else 2 if any had bad input, else 0."""
    kinds = {r.get("error_kind", "") for r in rows if r["status"] != "ok"}
    return 1 if "unexpected" in kinds else 2 if kinds else 0


def _failed_row(exc: BaseException) -> dict[str, Any]:
    """The row of a task the cluster could not finish (worker died, cancelled, ...)."""
    message = " ".join(str(exc).split()) or "no message"
    return {"status": "error", "error": f"{type(exc).__name__}: {message}",
            "error_kind": "unexpected", "reused": False, "summary": None, "seconds": math.nan}


# ---------------------------------------------------------------------- run
def run_batch(configs: Sequence[str | os.PathLike[str]], outdir: str | os.PathLike[str], *,
              workers: int | None = None, scheduler: str | None = None, force: bool = False,
              progress: ProgressFactory | None = None, client: Any = None) -> BatchResult:
    """Run the whole job of every config on Dask; write batch.csv and the comparison.

    Parameters
    ----------
    configs : sequence of path-like
        TOML config files.
    outdir : path-like
        Results folder; each config's results go to ``outdir/<name>/``.
    workers, scheduler
        See :func:`open_client`; ignored when ``client`` is given.
    force : bool
        Run every job again, even when its results are current.
    progress : callable, optional
        ``progress(description, total)`` returning a bar with ``update(n)`` and ``close()``
        (e.g. ``tqdm``); None for no bar.
    client : distributed.Client, optional
        An existing client to submit to.

    Returns
    -------
    BatchResult

    Raises
    ------
    ExsyfitError
        No configs, OUTDIR cannot be written or another batch is writing into it, or the
        cluster cannot be reached.  A problem
        with one config is never raised: it is that config's row.
    """
    items = plan(configs, outdir)
    root = Path(outdir)
    try:
        root.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise output_error(root, exc) from exc
    with output_lock(root):  # one batch at a time writes into OUTDIR
        if client is None:
            with open_client(workers, scheduler, n_tasks=len(items)) as own:
                rows = _submit_all(own, items, force, progress)
        else:
            rows = _submit_all(client, items, force, progress)
        table = batch_table(items, rows)
        write_text_atomic(root / "batch.csv", table.to_csv(index=False))
        files = [root / "batch.csv", *_write_comparison(items, rows, root)]
    return BatchResult(table=table, rows=rows, exit_status=exit_status(rows), files=files)


def _submit_all(client: Any, items: Sequence[BatchItem], force: bool,
                progress: ProgressFactory | None) -> list[dict[str, Any]]:
    from distributed import as_completed

    futures = {
        client.submit(run_config, str(Path(it.config).resolve()), str(it.outdir.resolve()),
                      force, key=f"exsyfit-batch-{i}-{it.name}-{os.urandom(4).hex()}",
                      pure=False): i
        for i, it in enumerate(items)
    }
    rows: list[dict[str, Any] | None] = [None] * len(items)
    bar = progress("configs", len(items)) if progress is not None else None
    try:
        for done, future in enumerate(as_completed(futures), start=1):
            i = futures[future]
            try:
                row = future.result()
            except Exception as exc:  # the worker died or the task was lost
                row = _failed_row(exc)
            rows[i] = row
            if bar is not None:
                bar.update(1)
            else:
                log.info("[%d/%d] %s: %s", done, len(items), items[i].name, _describe(row))
    finally:
        if bar is not None:
            bar.close()
    return [r for r in rows if r is not None]


def _describe(row: dict[str, Any]) -> str:
    if row["status"] != "ok":
        return f"error: {row['error']}"
    cols = _ea_columns(row.get("summary"))
    ea = cols.get("Ea_eV_median")
    text = "results current, kept" if row.get("reused") else f"done in {row['seconds']:.0f} s"
    return f"{text}; Ea = {ea:.3f} eV" if ea is not None else text


# ---------------------------------------------------------------------- comparison
def _write_comparison(items: Sequence[BatchItem], rows: Sequence[dict[str, Any]], root: Path,
                      ) -> list[Path]:
    """comparison.png/.pdf (Arrhenius plots on one axis) and comparison.csv (Ea, ln A).

    With more than two sites, ``comparison.*`` shows each config's first pair and
    ``comparison_<A-B>.*`` each pair of those configs.
    """
    import matplotlib.pyplot as plt

    from exsyfit.output.comparison import comparison_table, plot_arrhenius_comparison
    from exsyfit.output.style import save_figure

    entries = {it.name: row["summary"] for it, row in zip(items, rows, strict=True)
               if row["status"] == "ok" and row.get("summary")}
    if not entries:
        return []
    files = [root / "comparison.csv"]
    write_text_atomic(files[0], comparison_table(entries).to_csv(index=False))
    pairs = list(dict.fromkeys(p for s in entries.values() if len(s.get("pairs") or []) > 1
                               for p in s["pairs"]))
    for stem, pair in _figure_stems(pairs).items():
        try:
            fig = plot_arrhenius_comparison(entries, pair=pair)
        except ValueError as exc:  # nothing with per-temperature results to draw
            log.warning("%s: not drawn (%s)", root / stem, exc)
            continue
        try:
            files += save_figure(fig, root / stem)
        finally:
            plt.close(fig)
    return files


def _figure_stems(pairs: Sequence[str]) -> dict[str, str | None]:
    """File stem of each comparison figure: ``comparison`` and one per pair, all distinct.

    'A-B<->C' and 'A<->B-C' give one name once made file-safe: the second is numbered.
    """
    stems: dict[str, str | None] = {"comparison": None}
    for pair in pairs:
        stem = base = f"comparison_{_safe(pair)}"
        while stem in stems:
            stem = f"{base}-{len(stems)}"
        stems[stem] = pair
    return stems


def _safe(pair: str) -> str:
    """A pair name as part of a file name (``A<->B`` -> ``A-B``)."""
    return "".join(c if c.isalnum() or c in "-_." else "_" for c in pair.replace("<->", "-"))
