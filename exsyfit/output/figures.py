"""The standard figures of a run, written into ``<outdir>/figures/``.

Every ``plot_*`` function draws into the axes or figure it is given (or a new pyplot figure
when none is given) and returns the :class:`matplotlib.figure.Figure`; nothing is saved or
shown there.  :func:`save_figure` writes the formats of a :class:`PlotStyle` atomically and
:func:`make_figures` writes the standard set of a run: :func:`figure_jobs` lists them as
:class:`FigureJob` values (picklable), each drawn and written by :func:`render_figure`, one
after another or, through ``render``, in several processes at once (rendering a figure at
300 dpi takes longer than drawing it).  The plotting functions live in
:mod:`~exsyfit.output.arrhenius`, :mod:`~exsyfit.output.buildup`,
:mod:`~exsyfit.output.corner` and :mod:`~exsyfit.output.parameters`; they are re-exported here.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from exsyfit.output.arrhenius import plot_arrhenius, plot_eyring
from exsyfit.output.buildup import plot_buildup
from exsyfit.output.corner import corner_samples, plot_corner
from exsyfit.output.parameters import plot_parameters_vs_temperature
from exsyfit.output.style import OKABE_ITO, PlotStyle, pyplot, safe_name, save_figure

if TYPE_CHECKING:  # pragma: no cover
    from matplotlib.figure import Figure

    from exsyfit.fit.results import FitResult

__all__ = [
    "PlotStyle",
    "plot_arrhenius",
    "plot_eyring",
    "plot_buildup",
    "plot_corner",
    "corner_samples",
    "plot_parameters_vs_temperature",
    "save_figure",
    "FigureJob",
    "render_figure",
    "figure_jobs",
    "make_figures",
    "OKABE_ITO",
]


@dataclass(frozen=True)
class FigureJob:
    """One figure to draw and write: ``draw(*args, **kwargs)`` saved as ``stem`` + formats.

    Attributes
    ----------
    stem : pathlib.Path
        File name without extension.
    draw : callable
        A module-level plotting function returning a Figure.
    args : tuple
        Its positional arguments.
    kwargs : dict
        Its keyword arguments.
    style : PlotStyle
        Formats and resolution of the files.
    """

    stem: Path
    draw: Callable[..., Figure]
    args: tuple = ()
    kwargs: dict[str, Any] = field(default_factory=dict)
    style: PlotStyle = field(default_factory=PlotStyle)


def render_figure(job: FigureJob) -> list[Path]:
    """Draw one figure, write it in every format of its style, close it; the files written."""
    plt = pyplot()
    fig = job.draw(*job.args, **job.kwargs)
    try:
        return save_figure(fig, job.stem, job.style)
    finally:
        plt.close(fig)


def figure_jobs(result: FitResult, outdir: str | Path, *, free: FitResult | None = None,
                style: PlotStyle | None = None,
                robustness: Mapping[str, Any] | None = None) -> list[FigureJob]:
    """The standard figures of a fit (see :func:`make_figures`), not yet drawn."""
    style = style or PlotStyle()
    figdir = Path(outdir) / "figures"
    if robustness is None:
        robustness = _summary_robustness(Path(outdir) / "summary.json")
    multi_t = len(result.temperatures_K) >= 2
    pairs = [None] if len(result.pairs) == 1 else list(result.pairs)
    jobs: list[FigureJob] = []

    def add(name: str, draw: Callable[..., Figure], *args: Any, **kwargs: Any) -> None:
        jobs.append(FigureJob(figdir / name, draw, args, {"style": style, **kwargs}, style))

    def suffix(pair: str | None) -> str:
        return "" if pair is None else "_" + safe_name(pair.replace("<->", "-"))

    for pair in pairs:
        if result.temperature_model != "free" or multi_t:
            add(f"arrhenius{suffix(pair)}", plot_arrhenius, result, free=free, pair=pair,
                robustness=robustness)
        if result.temperature_model == "eyring" or (style.eyring and multi_t):
            add(f"eyring{suffix(pair)}", plot_eyring, result, free=free, pair=pair,
                robustness=robustness)
    for t, T in enumerate(result.temperatures_K):
        add(f"buildup_{T:.1f}K", plot_buildup, result, t)
    add("corner", plot_corner, result)
    add("parameters_vs_temperature", plot_parameters_vs_temperature, result)
    return jobs


def make_figures(result: FitResult, outdir: str | Path, *, free: FitResult | None = None,
                 style: PlotStyle | None = None,
                 robustness: Mapping[str, Any] | None = None,
                 render: Callable[[Sequence[FigureJob]], list[list[Path]]] | None = None,
                 ) -> list[Path]:
    """Write the standard figures of a fit into ``<outdir>/figures/``.

    Files (each in every format of the style): ``arrhenius`` (global fits, or free fits with
    two or more temperatures; one ``arrhenius_<X>-<Y>`` per pair with more than one
    exchanging pair), ``eyring`` (Eyring fits, or ``style.eyring``; per pair likewise),
    ``buildup_<T>K`` per temperature (T rounded to 0.1 K, e.g. ``buildup_303.0K``),
    ``corner`` and ``parameters_vs_temperature``.

    Parameters
    ----------
    result : FitResult
    outdir : path
    free : FitResult, optional
        Free-model fit of the same data (points of the Arrhenius plot).
    style : PlotStyle, optional
    robustness : mapping, optional
        The ``robustness`` entry of summary.json (systematic uncertainty, drawn on the
        Arrhenius and Eyring figures); read from ``<outdir>/summary.json`` when not given.
    render : callable, optional
        Renders a list of jobs and returns the files of each, in order (e.g. in several
        processes); default: :func:`render_figure` on each, one after another.

    Returns
    -------
    list of Path
        Every file written.
    """
    jobs = figure_jobs(result, outdir, free=free, style=style, robustness=robustness)
    files = render(jobs) if render is not None else [render_figure(job) for job in jobs]
    return [path for paths in files for path in paths]


def _summary_robustness(path: Path) -> Mapping[str, Any] | None:
    """The ``robustness`` entry of a summary.json, or None when absent or unreadable."""
    try:
        summary = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    rob = summary.get("robustness") if isinstance(summary, Mapping) else None
    return rob if isinstance(rob, Mapping) else None
