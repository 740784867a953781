"""Build-up figures: peak volumes against mixing time with the model band and residuals.

Observed volumes carry error bars of the volume table's ``sigma``; the model is the posterior
median and 95 % band of the predicted volumes; the residual panel shows (observed − median
model)/sigma.  Diagonal and cross peaks have separate panels, so small cross peaks stay visible
next to large diagonal peaks.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

import numpy as np

from exsyfit.errors import ConfigError
from exsyfit.output.drawing import interval
from exsyfit.output.style import MARKERS, WIDTHS_IN, PlotStyle, new_figure

if TYPE_CHECKING:  # pragma: no cover
    from matplotlib.axes import Axes
    from matplotlib.figure import Figure

    from exsyfit.fit.results import FitResult

__all__ = ["plot_buildup"]


def _peaks(result: FitResult) -> list[tuple[int, int, bool]]:
    """(to i, from j, is_diagonal) for every peak, diagonals first."""
    n = len(result.sites)
    diag = [(i, i, True) for i in range(n)]
    cross = [(i, j, False) for j in range(n) for i in range(n) if i != j]
    return diag + cross


def _log_time_axis(style: PlotStyle, tm: np.ndarray) -> bool:
    if style.mixing_time_axis != "auto":
        return style.mixing_time_axis == "log"
    pos = tm[tm > 0]
    return len(pos) > 1 and pos.max() / pos.min() >= 20 and pos.size == tm.size


def _buildup_data(result: FitResult, t: int, n_draws: int, log_axis: bool,
                  ) -> dict[str, Any]:
    """Observed table rows, the model band on a grid and residuals at one temperature."""
    table = result.problem.table
    sel = (table["temperature_index"] == t).to_numpy()
    rows = table[sel]
    tm = rows["mixing_time_s"].to_numpy(float)
    if log_axis:
        grid = np.geomspace(tm.min() / 1.4, tm.max() * 1.4, 160)
    else:
        grid = np.linspace(0.0, tm.max() * 1.05, 160)
    pred = result.predict_buildup(t, grid, n_draws=n_draws)  # (S, G, N, N)
    band = interval(pred)
    flat = result.theta.reshape(-1, result.theta.shape[-1])
    rng = np.random.default_rng(0)
    pick = rng.choice(len(flat), size=min(n_draws, len(flat)), replace=False)
    model_obs = np.median(result.problem.predict(flat[pick])[:, sel], axis=0)
    resid = (rows["volume"].to_numpy(float) - model_obs) / rows["sigma"].to_numpy(float)
    return {"rows": rows, "grid": grid, "band": band, "resid": resid}


def _draw_peak(ax: Axes, ax_res: Axes | None, result: FitResult, data: Mapping[str, Any],
               i: int, j: int, colour: str, marker: str, ls: str) -> None:
    sites = result.sites
    rows = data["rows"]
    m = ((rows["to_site"] == sites[i]) & (rows["from_site"] == sites[j])).to_numpy()
    label = sites[i] if i == j else f"{sites[j]}→{sites[i]}"
    band, grid = data["band"], data["grid"]
    ax.fill_between(grid, band["q025"][:, i, j], band["q975"][:, i, j], color=colour,
                    alpha=0.22, lw=0, zorder=1)
    ax.plot(grid, band["median"][:, i, j], color=colour, lw=1.0, ls=ls, zorder=2)
    if m.any():
        x = rows["mixing_time_s"].to_numpy(float)[m]
        ax.errorbar(x, rows["volume"].to_numpy(float)[m], yerr=rows["sigma"].to_numpy(float)[m],
                    fmt=marker, color=colour, mfc=colour, mec="white", mew=0.4, ms=3.5,
                    elinewidth=0.8, capsize=1.5, label=label, zorder=3)
        if ax_res is not None:
            ax_res.plot(x, data["resid"][m], marker, color=colour, mec="white", mew=0.3, ms=3.2,
                        ls="none", zorder=3)
    else:
        ax.plot([], [], marker, color=colour, label=f"{label} (not measured)")


def _format_residual_axis(ax: Axes) -> None:
    ax.axhline(0.0, color="0.3", lw=0.7, zorder=0)
    for s in (-2, 2):
        ax.axhline(s, color="0.6", lw=0.6, ls=":", zorder=0)
    lo, hi = ax.get_ylim()
    lim = max(3.0, abs(lo), abs(hi))
    ax.set_ylim(-lim, lim)
    ax.set_ylabel(r"resid./$\sigma$")


def _draw_buildup(result: FitResult, t: int, axes: Mapping[str, Axes], style: PlotStyle,
                  n_draws: int, legend: bool = True, row_title: str | None = None) -> None:
    """Draw one temperature into axes 'diag', 'cross', 'res_diag', 'res_cross'.

    Without ``row_title`` the panel names go into legend titles; with it, into axes titles
    (prefixed by ``row_title``) and legends are drawn only if ``legend``.
    """
    tm = result.problem.table["mixing_time_s"].to_numpy(float)
    log_axis = _log_time_axis(style, tm)
    data = _buildup_data(result, t, n_draws, log_axis)
    n_diag = 0
    n_cross = 0
    for k, (i, j, is_diag) in enumerate(_peaks(result)):
        if is_diag:
            marker, ls = MARKERS[n_diag % len(MARKERS)], "-"
            n_diag += 1
        else:
            marker, ls = MARKERS[n_cross % len(MARKERS)], ("-", "--", "-.", ":")[n_cross % 4]
            n_cross += 1
        ax = axes["diag" if is_diag else "cross"]
        ax_res = axes.get("res_diag" if is_diag else "res_cross")
        _draw_peak(ax, ax_res, result, data, i, j, style.colour(k), marker, ls)
    # diagonal peaks decay from the top left, cross peaks start at zero on the left: those
    # corners stay free for the legends; 15 % headroom keeps the legend off the curves
    for key, title, loc in (("diag", "diagonal peaks", "upper right"),
                            ("cross", "cross peaks (from→to)", "upper left")):
        ax = axes[key]
        ax.set_ylabel("volume (arb. units)")
        lo, hi = ax.get_ylim()
        ax.set_ylim(lo, hi + 0.15 * (hi - lo))
        ncol = 1 if n_cross <= 4 else 2
        if row_title is None:
            ax.legend(title=title, loc=loc, handlelength=1.2, ncol=ncol)
            continue
        ax.set_title(f"{row_title}: {title}" if key == "diag" else title, loc="left")
        if legend:
            ax.legend(loc=loc, handlelength=1.2, ncol=ncol)
    if row_title is not None and "res_diag" in axes:
        axes["res_diag"].set_title("residuals", loc="left")
    for key in ("res_diag", "res_cross"):
        if key in axes:
            _format_residual_axis(axes[key])
    for ax in axes.values():
        if log_axis:
            ax.set_xscale("log")
        ax.set_xlim(data["grid"][0], data["grid"][-1])
    bottom = [axes[k] for k in ("res_diag", "res_cross", "diag", "cross") if k in axes]
    for ax in bottom:
        ax.set_xlabel(r"mixing time $t_\mathrm{m}$ (s)")


def plot_buildup(result: FitResult, temperature_index: int | None = None, *,
                 fig: Figure | None = None, style: PlotStyle | None = None,
                 n_draws: int = 200) -> Figure:
    """Peak volumes against mixing time with the posterior-predictive band and residuals.

    Parameters
    ----------
    result : FitResult
    temperature_index : int, optional
        Temperature to show (index into ``result.temperatures_K``).  ``None`` draws every
        temperature: one row per temperature with diagonal peaks, cross peaks and residuals
        side by side (a double-column-wide figure).
    fig : matplotlib.figure.Figure, optional
        An empty figure to draw into; a new one otherwise.
    style : PlotStyle, optional
    n_draws : int
        Posterior draws used for the median and the 95 % band.

    Returns
    -------
    matplotlib.figure.Figure
        One temperature: panels for diagonal peaks, cross peaks and residuals/sigma (stacked
        for a single-column width, side by side for wider figures).
    """
    import matplotlib as mpl

    style = style or PlotStyle()
    n_t = len(result.temperatures_K)
    if temperature_index is not None and not 0 <= temperature_index < n_t:
        raise ConfigError(f"temperature_index {temperature_index} is out of range; the fit "
                          f"has {n_t} temperatures (0..{n_t - 1})")
    with mpl.rc_context(style.rc()):
        if temperature_index is None:
            return _buildup_all(result, fig, style, n_draws)
        t = temperature_index
        narrow = style.width_in < 5.0
        if fig is None:
            fig = new_figure(style, 4.8 if narrow else 3.6)
        if narrow:
            gs = fig.add_gridspec(3, 1, height_ratios=[1.0, 1.0, 0.55])
            ax_d = fig.add_subplot(gs[0])
            ax_c = fig.add_subplot(gs[1], sharex=ax_d)
            ax_r = fig.add_subplot(gs[2], sharex=ax_d)
            axes = {"diag": ax_d, "cross": ax_c, "res_diag": ax_r, "res_cross": ax_r}
            _draw_buildup(result, t, axes, style, n_draws)
            for ax in (ax_d, ax_c):
                ax.tick_params(labelbottom=False)
                ax.set_xlabel("")
        else:
            gs = fig.add_gridspec(2, 2, height_ratios=[1.0, 0.4])
            ax_d = fig.add_subplot(gs[0, 0])
            ax_c = fig.add_subplot(gs[0, 1], sharex=ax_d)
            axes = {"diag": ax_d, "cross": ax_c,
                    "res_diag": fig.add_subplot(gs[1, 0], sharex=ax_d),
                    "res_cross": fig.add_subplot(gs[1, 1], sharex=ax_d)}
            _draw_buildup(result, t, axes, style, n_draws)
            for ax in (ax_d, ax_c):
                ax.tick_params(labelbottom=False)
                ax.set_xlabel("")
        fig.suptitle(_buildup_title(result, t))
    return fig


def _buildup_title(result: FitResult, t: int) -> str:
    return f"{result.temperatures_K[t]:.1f} K ({result.temperature_model} fit)"


def _buildup_all(result: FitResult, fig: Figure | None, style: PlotStyle,
                 n_draws: int) -> Figure:
    n_t = len(result.temperatures_K)
    width = max(style.width_in, WIDTHS_IN["double"])
    if fig is None:
        fig = new_figure(style, 1.75 * n_t + 0.4, width_in=width)
    axs = fig.subplots(n_t, 3, squeeze=False, sharex=True)
    for t in range(n_t):
        axes = {"diag": axs[t, 0], "cross": axs[t, 1], "res_diag": axs[t, 2],
                "res_cross": axs[t, 2]}
        _draw_buildup(result, t, axes, style, n_draws, legend=(t == 0),
                      row_title=f"{result.temperatures_K[t]:.1f} K")
        if t < n_t - 1:
            for ax in axs[t]:
                ax.set_xlabel("")
    fig.suptitle(f"Build-up curves ({result.temperature_model} fit): observed volumes, "
                 "posterior median and 95 % band")
    return fig

