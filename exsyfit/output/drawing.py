"""Drawing primitives shared by the figures: credible intervals, error bars and axes.

Error bars on per-temperature points: thick = 68 %, thin = 95 % central credible interval of
the posterior, both drawn above an open marker, so that a bar shorter than the marker still
shows as a line through it.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

import numpy as np

if TYPE_CHECKING:  # pragma: no cover
    from matplotlib.axes import Axes

__all__ = ["interval", "errorbars", "secondary_temperature_axis", "plain_log_ticks",
           "legend_above"]


def interval(values: np.ndarray, axis: int = 0) -> dict[str, np.ndarray]:
    """Median and the 2.5/16/84/97.5 % quantiles of draws along ``axis``."""
    q = np.percentile(values, [2.5, 16, 50, 84, 97.5], axis=axis)
    return dict(zip(("q025", "q16", "median", "q84", "q975"), q, strict=True))


def errorbars(ax: Axes, x: np.ndarray, q: Mapping[str, np.ndarray], colour: str,
              marker: str = "o", label: str | None = None,
              xerr: np.ndarray | None = None, zorder: float = 3, ms: float = 3.2) -> None:
    """Median with thick 68 % and thin 95 % bars, drawn over an open marker.

    The marker has a white face and the bars are drawn above it, so a bar shorter than the
    marker still shows as a line through it.
    """
    med = q["median"]
    lo95, hi95 = med - q["q025"], q["q975"] - med
    lo68, hi68 = med - q["q16"], q["q84"] - med
    ax.errorbar(x, med, yerr=np.vstack([lo95, hi95]), fmt="none", ecolor=colour,
                elinewidth=0.7, capsize=1.2, capthick=0.7, zorder=zorder + 0.1)
    bars = ax.errorbar(x, med, yerr=np.vstack([lo68, hi68]), xerr=xerr, fmt=marker,
                       color=colour, mfc="white", mec=colour, mew=0.9, ms=ms, elinewidth=1.8,
                       capsize=0, label=label, zorder=zorder + 0.2)
    bars[0].set_zorder(zorder)


def secondary_temperature_axis(ax: Axes) -> Any:
    """Top axis in K for an x axis of 1000/T (K^-1)."""
    def to_t(x: np.ndarray) -> np.ndarray:
        x = np.asarray(x, dtype=float)
        with np.errstate(divide="ignore", invalid="ignore"):
            return np.where(x != 0, 1000.0 / np.where(x != 0, x, 1.0), np.inf)

    sec = ax.secondary_xaxis("top", functions=(to_t, to_t))
    sec.set_xlabel(r"$T$ (K)")
    lo, hi = sorted(to_t(np.array(ax.get_xlim())))
    span = hi - lo
    step = next((s for s in (2, 5, 10, 20, 25, 50, 100, 200, 500) if span / s <= 6), 1000)
    ticks = np.arange(math.ceil(lo / step) * step, hi + 1e-9, step)
    sec.set_xticks(ticks)
    sec.set_xticklabels([f"{t:g}" for t in ticks])
    sec.tick_params(direction="in")
    return sec


def plain_log_ticks(ax: Axes, axis: str = "y", headroom: bool = True) -> None:
    """Log axis with ticks written as plain numbers (0.05, 0.1, 0.2) and no minor labels.

    1-2-5 ticks up to three decades, one tick per decade beyond; minor ticks stay unlabelled,
    so a log axis spanning less than a decade never prints overlapping labels.
    """
    from matplotlib.ticker import FuncFormatter, LogLocator, NullFormatter

    target = ax.yaxis if axis == "y" else ax.xaxis
    get, set_ = (ax.get_ylim, ax.set_ylim) if axis == "y" else (ax.get_xlim, ax.set_xlim)
    lo, hi = get()
    if headroom:
        f = (hi / lo) ** 0.06
        set_(lo / f, hi * f)
        lo, hi = lo / f, hi * f
    decades = math.log10(hi / lo) if lo > 0 and hi > lo else 1.0
    subs = (1.0, 2.0, 5.0) if decades <= 3.0 else (1.0,)
    target.set_major_locator(LogLocator(base=10, subs=subs))
    target.set_major_formatter(FuncFormatter(lambda v, _: f"{v:g}"))
    target.set_minor_formatter(NullFormatter())


def legend_above(ax: Axes, ncol: int | None = None, source: Axes | None = None,
                 **kwargs: Any) -> Any:
    """A legend in a row above the axes, where it cannot cover data.

    ``source`` takes the entries from other axes (e.g. markers drawn in another panel).
    """
    handles, labels = (source or ax).get_legend_handles_labels()
    if not handles:
        return None
    n = len(handles) if ncol is None else ncol
    return ax.legend(handles, labels, loc="lower left", bbox_to_anchor=(0.0, 1.01),
                     ncol=n, borderaxespad=0.0, handlelength=1.3, columnspacing=1.0,
                     handletextpad=0.4, **kwargs)
