"""Populations and T1 of every site against temperature."""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from exsyfit.output.drawing import errorbars, interval, plain_log_ticks
from exsyfit.output.style import MARKERS, PlotStyle, new_figure

if TYPE_CHECKING:  # pragma: no cover
    from matplotlib.figure import Figure

    from exsyfit.fit.results import FitResult

__all__ = ["plot_parameters_vs_temperature"]


def plot_parameters_vs_temperature(result: FitResult, *, fig: Figure | None = None,
                                   style: PlotStyle | None = None) -> Figure:
    """Populations and T1 of every site against temperature (median, 68 % and 95 % bars).

    Parameters
    ----------
    result : FitResult
    fig : matplotlib.figure.Figure, optional
        An empty figure to draw into.
    style : PlotStyle, optional

    Returns
    -------
    matplotlib.figure.Figure
        Top: populations; bottom: T1 (s, log scale).  Points of different sites are offset
        slightly in T so their bars do not hide each other.
    """
    import matplotlib as mpl

    style = style or PlotStyle()
    T = result.temperatures_K
    n = len(result.sites)
    span = np.ptp(T) if len(T) > 1 else 10.0
    offsets = (np.arange(n) - (n - 1) / 2) * 0.012 * span
    with mpl.rc_context(style.rc()):
        if fig is None:
            fig = new_figure(style, 3.9 if style.width_in < 5 else 3.0)
        ax_p, ax_t = fig.subplots(2, 1, sharex=True)
        pops = result.draws("populations")
        t1 = result.draws("T1_s")
        for i, site in enumerate(result.sites):
            c, mk = style.colour(i), MARKERS[i % len(MARKERS)]
            errorbars(ax_p, T + offsets[i], interval(pops[:, :, i]), c, mk, label=site)
            errorbars(ax_t, T + offsets[i], interval(t1[:, :, i]), c, mk, label=site)
        ax_p.set_ylabel("population")
        ax_t.set_ylabel(r"$T_1$ (s)")
        ax_t.set_yscale("log")
        plain_log_ticks(ax_t)
        ax_t.set_xlabel(r"$T$ (K)")
        ax_p.legend(title="site", loc="best", ncol=min(n, 4))
        ax_p.set_ylim(-0.02, 1.02) if np.ptp(pops) > 0.3 else None
    return fig

