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
from exsyfit.output.drawing import interval, legend_above, plain_log_ticks
from exsyfit.output.labels import model_name, temperature_text, text_name
from exsyfit.output.residuals import model_median
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
    model_obs = model_median(result)[sel]
    resid = (rows["volume"].to_numpy(float) - model_obs) / rows["sigma"].to_numpy(float)
    return {"rows": rows, "grid": grid, "band": band, "resid": resid}


def _draw_peak(ax: Axes, ax_res: Axes | None, result: FitResult, data: Mapping[str, Any],
               i: int, j: int, colour: str, marker: str, ls: str) -> None:
    sites = result.sites
    rows = data["rows"]
    m = ((rows["to_site"] == sites[i]) & (rows["from_site"] == sites[j])).to_numpy()
    label = text_name(sites[i]) if i == j else f"{text_name(sites[j])}→{text_name(sites[i])}"
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


def _legend_columns(ax: Axes, width_in: float) -> int:
    """Legend entries per row that fit across ``width_in`` inches (about 11 characters/in)."""
    labels = ax.get_legend_handles_labels()[1]
    if not labels:
        return 1
    per_entry = max(len(lab.replace("$", "")) for lab in labels) + 4
    return int(max(1, min(len(labels), (11.0 * width_in) // per_entry)))


def _format_residual_axis(ax: Axes) -> None:
    """Zero line, ±2 lines, a symmetric range of at least ±3 and chi²/n of the points drawn."""
    z = np.concatenate([np.asarray(ln.get_ydata(), float) for ln in ax.get_lines()
                        if ln.get_linestyle() == "None"] or [np.empty(0)])
    ax.axhline(0.0, color="0.3", lw=0.7, zorder=0)
    for s in (-2, 2):
        ax.axhline(s, color="0.6", lw=0.6, ls=":", zorder=0)
    lo, hi = ax.get_ylim()
    lim = max(3.0, abs(lo), abs(hi))
    ax.set_ylim(-lim, lim)
    ax.set_ylabel(r"resid./$\sigma$")
    if z.size:
        ax.text(0.99, 0.97, rf"$\chi^2/n$ = {np.mean(z**2):.2f} ($n$ = {z.size})",
                transform=ax.transAxes, ha="right", va="top", fontsize="small", color="0.3")


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
    # legends sit in a row above each panel, where they cannot cover data
    for key, title in (("diag", "diagonal peaks"), ("cross", "cross peaks (from→to)")):
        ax = axes[key]
        ax.set_ylabel("volume (arb. units)")
        lo, hi = ax.get_ylim()
        ax.set_ylim(min(lo, 0.0), hi + 0.05 * (hi - lo))
        ncol = _legend_columns(ax, style.width_in if row_title is None else 2.3)
        if row_title is None:
            legend_above(ax, ncol=ncol, title=title, alignment="left")
            continue
        ax.set_title(f"{row_title}: {title}" if key == "diag" else title, loc="left")
        if legend:
            ax.legend(loc="best", handlelength=1.2, ncol=1 if n_cross <= 4 else 2)
    if row_title is not None and "res_diag" in axes:
        axes["res_diag"].set_title("residuals", loc="left")
    res_axes = {id(axes[k]): axes[k] for k in ("res_diag", "res_cross") if k in axes}
    for ax in res_axes.values():
        _format_residual_axis(ax)
    for ax in axes.values():
        if log_axis:
            ax.set_xscale("log")
        ax.set_xlim(data["grid"][0], data["grid"][-1])
        if log_axis:
            plain_log_ticks(ax, "x", headroom=False)
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
            fig = new_figure(style, 5.6 if narrow else 3.9)
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
    """``263 K, Arrhenius fit``."""
    return (f"{temperature_text(result.temperatures_K[t])}, "
            f"{model_name(result.temperature_model)} fit")


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
                      row_title=temperature_text(result.temperatures_K[t]))
        if t < n_t - 1:
            for ax in axs[t]:
                ax.set_xlabel("")
    fig.suptitle(f"Build-up curves, {model_name(result.temperature_model)} fit: observed "
                 "volumes (±σ), posterior median and 95 % band, residuals/σ")
    return fig

