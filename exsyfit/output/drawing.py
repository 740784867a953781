"""Drawing primitives shared by the figures: credible intervals, error bars and axes.

Error bars on per-temperature points: thick = 68 %, thin = 95 % central credible interval of
the posterior, both drawn above a marker that is smaller than the thin bar is long, so the bars
stay visible.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

import numpy as np

if TYPE_CHECKING:  # pragma: no cover
    from matplotlib.axes import Axes

__all__ = ["interval", "errorbars", "secondary_temperature_axis", "plain_log_ticks"]


def interval(values: np.ndarray, axis: int = 0) -> dict[str, np.ndarray]:
    q = np.percentile(values, [2.5, 16, 50, 84, 97.5], axis=axis)
    return dict(zip(("q025", "q16", "median", "q84", "q975"), q, strict=True))


def errorbars(ax: Axes, x: np.ndarray, q: Mapping[str, np.ndarray], colour: str,
               marker: str = "o", label: str | None = None,
               xerr: np.ndarray | None = None, zorder: float = 3) -> None:
    """Median with thick 68 % and thin 95 % bars."""
    med = q["median"]
    lo95, hi95 = med - q["q025"], q["q975"] - med
    lo68, hi68 = med - q["q16"], q["q84"] - med
    ax.errorbar(x, med, yerr=np.vstack([lo95, hi95]), fmt="none", ecolor=colour,
                elinewidth=0.7, capsize=0, zorder=zorder)
    ax.errorbar(x, med, yerr=np.vstack([lo68, hi68]), xerr=xerr, fmt=marker, color=colour,
                mfc=colour, mec="white", mew=0.4, elinewidth=1.8, capsize=0, label=label,
                zorder=zorder + 0.1)



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



def plain_log_ticks(ax: Axes) -> None:
    """Log axis with 1-2-5 ticks written as plain numbers and some headroom."""
    from matplotlib.ticker import FuncFormatter, LogLocator, NullFormatter

    lo, hi = ax.get_ylim()
    f = (hi / lo) ** 0.06
    ax.set_ylim(lo / f, hi * f)
    ax.yaxis.set_major_locator(LogLocator(base=10, subs=(1.0, 2.0, 5.0)))
    ax.yaxis.set_major_formatter(FuncFormatter(lambda v, _: f"{v:g}"))
    ax.yaxis.set_minor_formatter(NullFormatter())

