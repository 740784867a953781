"""Exchange rates, populations and T1 of every site against temperature."""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from exsyfit.output.drawing import errorbars, interval, legend_above, plain_log_ticks
from exsyfit.output.labels import math_name, temperature_text, text_name
from exsyfit.output.style import MARKERS, PlotStyle, new_figure

if TYPE_CHECKING:  # pragma: no cover
    from matplotlib.axes import Axes
    from matplotlib.figure import Figure

    from exsyfit.fit.results import FitResult

__all__ = ["plot_parameters_vs_temperature"]


def _pair_label(pair: str) -> str:
    a, b = pair.split("<->")
    return rf"${math_name(a)}\leftrightarrow {math_name(b)}$"


def _shared(ax: Axes, x: np.ndarray, draws: np.ndarray, colour: str, label: str,
            pad: float) -> None:
    """One value for every temperature: a line with its 95 % band across the range."""
    q = interval(draws)
    xs = np.array([x.min() - pad, x.max() + pad])
    ax.fill_between(xs, q["q025"], q["q975"], color=colour, alpha=0.25, lw=0)
    ax.plot(xs, [q["median"]] * 2, color=colour, lw=1.2, label=label)


def plot_parameters_vs_temperature(result: FitResult, *, fig: Figure | None = None,
                                   style: PlotStyle | None = None) -> Figure:
    """Exchange rates, populations and T1 against temperature (median, 68 % and 95 % bars).

    Parameters
    ----------
    result : FitResult
    fig : matplotlib.figure.Figure, optional
        An empty figure to draw into.
    style : PlotStyle, optional

    Returns
    -------
    matplotlib.figure.Figure
        Three panels sharing the x axis: k_ex of every exchanging pair (s^-1, log scale),
        populations and T1 (s, log scale).  Populations shared by all temperatures are drawn
        as one value (a line with its 95 % band).  Points of different sites are offset
        slightly in T so their bars do not hide each other.  For a single temperature the x
        axis lists the sites (and pairs) instead, and the temperature is in the title.
    """
    import matplotlib as mpl

    style = style or PlotStyle()
    T = result.temperatures_K
    n = len(result.sites)
    single = len(T) == 1
    span = float(np.ptp(T)) if not single else 1.0
    offsets = (np.arange(max(n, len(result.pairs))) - (n - 1) / 2) * 0.012 * span
    with mpl.rc_context(style.rc()):
        if fig is None:
            fig = new_figure(style, 5.0 if style.width_in < 5 else 3.8)
        ax_k, ax_p, ax_t = fig.subplots(3, 1, sharex=not single)
        pops = result.draws("populations")
        t1 = result.draws("T1_s")
        shared = len(T) > 1 and np.allclose(pops, pops[:, :1, :])
        pad = 0.04 * span
        for q, pair in enumerate(result.pairs):
            c, mk = style.colour(n + q), MARKERS[q % len(MARKERS)]
            x = np.array([q], float) if single else T + offsets[q] * (len(result.pairs) > 1)
            errorbars(ax_k, x, interval(result.rate_draws(pair)), c, mk,
                      label=_pair_label(pair) if len(result.pairs) > 1 else None)
        for i, site in enumerate(result.sites):
            c, mk = style.colour(i), MARKERS[i % len(MARKERS)]
            x = np.array([i], float) if single else T + offsets[i]
            if shared:
                _shared(ax_p, T, pops[:, 0, i], c, text_name(site), pad)
            else:
                errorbars(ax_p, x, interval(pops[:, :, i]), c, mk, label=text_name(site))
            errorbars(ax_t, x, interval(t1[:, :, i]), c, mk, label=text_name(site))
        ax_k.set_ylabel(r"$k_\mathrm{ex}$ (s$^{-1}$)")
        ax_k.set_yscale("log")
        plain_log_ticks(ax_k)
        ax_p.set_ylabel("population")
        ax_t.set_ylabel(r"$T_1$ (s)")
        ax_t.set_yscale("log")
        plain_log_ticks(ax_t)
        if np.ptp(pops) > 0.3:
            ax_p.set_ylim(-0.02, 1.02)
        if single:
            ax_k.set_xticks(range(len(result.pairs)),
                            [_pair_label(p) for p in result.pairs])
            for ax in (ax_p, ax_t):
                ax.set_xticks(range(n), [text_name(s) for s in result.sites])
            ax_k.set_xlim(-0.6, len(result.pairs) - 0.4)
            for ax in (ax_p, ax_t):
                ax.set_xlim(-0.6, n - 0.4)
            ax_t.set_xlabel("site")
            fig.suptitle(f"{temperature_text(T[0])}: exchange rate, populations and $T_1$")
        else:
            for ax in (ax_k, ax_p):
                ax.tick_params(labelbottom=False)
            ax_t.set_xlabel(r"$T$ (K)")
            ax_t.set_xlim(T.min() - 1.5 * pad, T.max() + 1.5 * pad)
            ax_t.xaxis.get_major_formatter().set_useOffset(False)
            if len(result.pairs) > 1:
                legend_above(ax_k)
            legend_above(ax_p, source=ax_t)
            if shared:
                _shared_note(ax_p, np.median(pops[:, 0, :], axis=0), style)
    return fig


def _shared_note(ax: Axes, values: np.ndarray, style: PlotStyle) -> None:
    """Say that the population lines hold at every temperature, in the widest gap between them."""
    lo, hi = ax.get_ylim()
    levels = np.sort(np.concatenate([[lo, hi], np.clip(values, lo, hi)]))
    k = int(np.argmax(np.diff(levels)))
    y = 0.5 * (levels[k] + levels[k + 1])
    ax.text(0.98, (y - lo) / (hi - lo), "same at every $T$: median and 95 % band",
            transform=ax.transAxes, ha="right", va="center", fontsize=style.font_size - 1,
            color="0.3")
