"""The standard figures of a run, written into ``<outdir>/figures/``.

Every ``plot_*`` function draws into the axes or figure it is given (or a new pyplot figure
when none is given) and returns the :class:`matplotlib.figure.Figure`; nothing is saved or
shown there.  :func:`save_figure` writes the formats of a :class:`PlotStyle` atomically and
:func:`make_figures` writes the standard set of a run.  The plotting functions live in
:mod:`~exsyfit.output.arrhenius`, :mod:`~exsyfit.output.buildup`,
:mod:`~exsyfit.output.corner` and :mod:`~exsyfit.output.parameters`; they are re-exported here.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
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
    "make_figures",
    "OKABE_ITO",
]


def make_figures(result: FitResult, outdir: str | Path, *, free: FitResult | None = None,
                 style: PlotStyle | None = None,
                 robustness: Mapping[str, Any] | None = None) -> list[Path]:
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

    Returns
    -------
    list of Path
        Every file written.
    """
    plt = pyplot()
    style = style or PlotStyle()
    figdir = Path(outdir) / "figures"
    written: list[Path] = []

    def emit(fig: Figure, name: str) -> None:
        try:
            written.extend(save_figure(fig, figdir / name, style))
        finally:
            plt.close(fig)

    if robustness is None:
        robustness = _summary_robustness(Path(outdir) / "summary.json")
    multi_t = len(result.temperatures_K) >= 2
    pairs = [None] if len(result.pairs) == 1 else list(result.pairs)

    def suffix(pair: str | None) -> str:
        return "" if pair is None else "_" + safe_name(pair.replace("<->", "-"))

    for pair in pairs:
        if result.temperature_model != "free" or multi_t:
            emit(plot_arrhenius(result, free=free, style=style, pair=pair,
                                robustness=robustness), f"arrhenius{suffix(pair)}")
        if result.temperature_model == "eyring" or (style.eyring and multi_t):
            emit(plot_eyring(result, free=free, style=style, pair=pair, robustness=robustness),
                 f"eyring{suffix(pair)}")
    for t, T in enumerate(result.temperatures_K):
        emit(plot_buildup(result, t, style=style), f"buildup_{T:.1f}K")
    emit(plot_corner(result, style=style), "corner")
    emit(plot_parameters_vs_temperature(result, style=style), "parameters_vs_temperature")
    return written



def _summary_robustness(path: Path) -> Mapping[str, Any] | None:
    """The ``robustness`` entry of a summary.json, or None when absent or unreadable."""
    try:
        summary = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    rob = summary.get("robustness") if isinstance(summary, Mapping) else None
    return rob if isinstance(rob, Mapping) else None
