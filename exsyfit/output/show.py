"""Figures of every spectrum of a series, drawn before anything is fitted (``exsyfit show``).

One figure per temperature (more pages when it has many mixing times).  Each mixing time is one
row of three panels:

* the 2D spectrum as contours from ``level_sigma`` noise sigmas (positive solid, negative
  dashed), with the site positions (dotted lines at each site's shift in F1 and F2, a cross at
  every diagonal and cross-peak position) and, when given, the integration regions;
* F2 slices: the row through each site's F1 shift, one colour per site, with the ±level band of
  the noise in grey, so phase errors (dispersive lobes), ridges and baseline offsets show;
* F1 slices: the column through each site's F2 shift, likewise.

The row title names the mixing time, the experiment and the processing phases (zero and first
order, F2 and F1, degrees) the spectrum records.  The functions return figures; they never
save or show.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from exsyfit.output.labels import temperature_text, text_name
from exsyfit.output.spectra import (
    axis_label,
    draw_contours,
    draw_region,
    noise_sigma,
    phase_text,
    ppm_axes,
)
from exsyfit.output.style import PlotStyle

if TYPE_CHECKING:  # pragma: no cover
    from matplotlib.axes import Axes
    from matplotlib.figure import Figure

    from exsyfit.io.spectrum import Spectrum2D

__all__ = ["plot_series_overview", "plot_spectrum_row"]


def _region_list(regions: Any, spectrum: Spectrum2D) -> list[Any]:
    """Regions to draw on one spectrum (from an IntegrationResult, a list, or nothing)."""
    if regions is None:
        return []
    groups = getattr(regions, "groups", None)
    if groups is not None:  # an IntegrationResult: the group holding this spectrum
        for g in groups:
            if spectrum.source in tuple(g.experiments) or spectrum.experiment in tuple(
                    g.experiments):
                return list(g.regions)
        return list(groups[0].regions) if len(groups) == 1 else []
    return list(regions)


def _boxes(sites: Mapping[str, float], half_width_ppm: float) -> list[Any]:
    """Square regions of ``half_width_ppm`` around every diagonal and cross-peak position."""
    from types import SimpleNamespace

    return [SimpleNamespace(center_f1=float(a), center_f2=float(b), half_width_f1=half_width_ppm,
                            half_width_f2=half_width_ppm, kind="box")
            for a in sites.values() for b in sites.values()]


def _view(spectrum: Spectrum2D, sites: Mapping[str, float], margin_ppm: float | None,
          ) -> tuple[float, float, float, float]:
    f1 = np.asarray(spectrum.ppm_f1, dtype=float)
    f2 = np.asarray(spectrum.ppm_f2, dtype=float)
    if margin_ppm is None:
        return float(f1.min()), float(f1.max()), float(f2.min()), float(f2.max())
    lo, hi = min(sites.values()) - margin_ppm, max(sites.values()) + margin_ppm
    return (max(lo, float(f1.min())), min(hi, float(f1.max())),
            max(lo, float(f2.min())), min(hi, float(f2.max())))


def _slices(ax: Axes, spectrum: Spectrum2D, sites: Mapping[str, float], dim: str,
            sigma: float, level_sigma: float, view: tuple[float, float, float, float],
            style: PlotStyle) -> None:
    """Rows (dim "F2") or columns (dim "F1") through every site's shift."""
    data = np.asarray(spectrum.data, dtype=float)
    f1 = np.asarray(spectrum.ppm_f1, dtype=float)
    f2 = np.asarray(spectrum.ppm_f2, dtype=float)
    axis = f2 if dim == "F2" else f1
    lo, hi = (view[2], view[3]) if dim == "F2" else (view[0], view[1])
    keep = (axis >= lo) & (axis <= hi)
    for k, (name, ppm) in enumerate(sites.items()):
        if dim == "F2":
            trace = data[int(np.argmin(np.abs(f1 - ppm))), :]
            where = "F1"
        else:
            trace = data[:, int(np.argmin(np.abs(f2 - ppm)))]
            where = "F2"
        ax.plot(axis[keep], trace[keep], color=style.colour(k), lw=0.8,
                label=f"{text_name(name)} ({where} = {ppm:.2f} ppm)")
    for ppm in sites.values():
        ax.axvline(ppm, color="0.6", lw=0.6, ls=":", zorder=0)
    ax.axhspan(-level_sigma * sigma, level_sigma * sigma, color="0.85", lw=0, zorder=0)
    ax.axhline(0.0, color="0.5", lw=0.5, zorder=0)
    ax.set_xlim(hi, lo)
    ax.set_xlabel(axis_label(dim, spectrum.nucleus))
    ax.set_yticks([])
    ax.set_title(f"{dim} slices through the sites", loc="left")
    ax.margins(y=0.08)
    bottom, top = ax.get_ylim()
    ax.set_ylim(bottom, top + 0.3 * (top - bottom))  # room for the legend above the peaks


def _short_name(name: str, limit: int = 40) -> str:
    """An experiment name that fits a panel title: the last two parts of a long path."""
    parts = Path(name).parts
    if len(name) <= limit or len(parts) <= 2:
        return name
    return "…/" + "/".join(parts[-2:])


def plot_spectrum_row(axes: Sequence[Axes], spectrum: Spectrum2D, sites: Mapping[str, float],
                      *, regions: Any = None, level_sigma: float = 5.0,
                      half_width_ppm: float | None = None, margin_ppm: float | None = None,
                      style: PlotStyle | None = None) -> None:
    """Draw one spectrum into three axes: contours, F2 slices, F1 slices.

    Parameters are those of :func:`plot_series_overview`, for one spectrum.
    """
    style = style or PlotStyle()
    ax_c, ax_2, ax_1 = axes
    sigma = noise_sigma(spectrum)
    view = _view(spectrum, sites, margin_ppm)
    draw_contours(ax_c, spectrum, sigma=sigma, level_sigma=level_sigma, view=view,
                  colours=(style.colour(0), style.colour(1)))
    regs = _region_list(regions, spectrum)
    if not regs and half_width_ppm:
        regs = _boxes(sites, half_width_ppm)
    for reg in regs:
        draw_region(ax_c, reg, "0.25", 0.8)
    for ppm in sites.values():
        ax_c.axvline(ppm, color="0.6", lw=0.5, ls=":", zorder=0)
        ax_c.axhline(ppm, color="0.6", lw=0.5, ls=":", zorder=0)
    for k, (name, ppm) in enumerate(sites.items()):
        ax_c.plot([ppm], [ppm], "+", color=style.colour(k), ms=7, mew=1.2)
        ax_c.annotate(text_name(name), (ppm, ppm), xytext=(4, 4), textcoords="offset points",
                      fontsize=style.font_size - 1, color=style.colour(k))
        for other in sites.values():
            if other != ppm:
                ax_c.plot([other], [ppm], "x", color="0.3", ms=4, mew=0.7)
    ppm_axes(ax_c, spectrum, view)
    tm = spectrum.mixing_time_s
    name = _short_name(spectrum.experiment or "/".join(Path(spectrum.source).parts[-2:]))
    head = rf"$t_\mathrm{{m}}$ = {tm:g} s" if tm is not None else "mixing time unknown"
    phases = phase_text(spectrum.metadata)
    ax_c.set_title((f"{head}, {name}" if name else head)
                   + (f"\nphases {phases}" if phases else "\nphases not recorded"), loc="left")
    ax_c.text(0.01, 0.01, f"σ = {sigma:.3g}, lowest contour {level_sigma:g} σ",
              transform=ax_c.transAxes, fontsize=style.font_size - 2, color="0.3",
              bbox={"fc": "white", "ec": "none", "alpha": 0.8, "pad": 1.0})
    _slices(ax_2, spectrum, sites, "F2", sigma, level_sigma, view, style)
    _slices(ax_1, spectrum, sites, "F1", sigma, level_sigma, view, style)



def plot_series_overview(spectra: Sequence[Spectrum2D], sites: Mapping[str, float], *,
                         regions: Any = None, level_sigma: float = 5.0,
                         half_width_ppm: float | None = None, margin_ppm: float | None = 1.5,
                         rows_per_page: int = 4, temperature_tolerance_K: float = 0.5,
                         style: PlotStyle | None = None) -> list[Figure]:
    """Every spectrum of a series as contours with sites, regions and 1D slices.

    Parameters
    ----------
    spectra : sequence of Spectrum2D
        The series (any order); grouped by temperature (``analysis_temperature_K``, within
        ``temperature_tolerance_K`` of the group's coldest member) and sorted by mixing time.
    sites : mapping of str to float
        Site name -> chemical shift of its diagonal peak, ppm.
    regions : IntegrationResult or sequence of regions, optional
        Integration regions to draw: an :class:`~exsyfit.integrate.results.IntegrationResult`
        (each spectrum gets its temperature group's regions) or objects with ``center_f1``,
        ``center_f2``, ``half_width_f1``, ``half_width_f2`` (ppm) and ``kind``.
    level_sigma : float
        Lowest contour and the grey band on the slices, in noise sigmas.
    half_width_ppm : float, optional
        Without ``regions``: draw square boxes of this half width (ppm) around every peak
        position.
    margin_ppm : float or None
        ppm shown beyond the outermost sites (None: the whole spectrum).
    rows_per_page : int
        Mixing times per figure; a temperature with more gets several figures.
    temperature_tolerance_K : float
        Spectra within this many K of a group's coldest member share a figure.
    style : PlotStyle, optional

    Returns
    -------
    list of matplotlib.figure.Figure
        In order of temperature, then page.  Each figure's label (``fig.get_label()``) is a
        file-name stem such as ``show_303K`` or ``show_303K_p2``.
    """
    import matplotlib as mpl

    from exsyfit.io.temperature import group_temperatures
    from exsyfit.output.style import pyplot

    if not spectra:
        return []
    if len(sites) == 0:
        raise ValueError("no sites given: expected a mapping of site names to ppm")
    style = style or PlotStyle()
    temps = [s.analysis_temperature_K for s in spectra]
    groups, group_K = group_temperatures(temps, temperature_tolerance_K)
    figures: list[Figure] = []
    for g in sorted(set(groups.tolist())):
        members = [k for k in range(len(spectra)) if groups[k] == g]
        members.sort(key=lambda k: (spectra[k].mixing_time_s is None,
                                    spectra[k].mixing_time_s or 0.0))
        T = float(group_K[members[0]]) if g >= 0 else float("nan")
        tag = f"{T:.0f}K" if math.isfinite(T) else "unknown_T"
        pages = [members[i:i + rows_per_page] for i in range(0, len(members), rows_per_page)]
        for p, page in enumerate(pages):
            with mpl.rc_context(style.rc()):
                fig = pyplot().figure(figsize=(10.0, 2.9 * len(page) + 0.6),
                                      layout="constrained")
                axes = fig.subplots(len(page), 3, squeeze=False,
                                    gridspec_kw={"width_ratios": [1.1, 1.0, 1.0]})
                for row, k in zip(axes, page, strict=True):
                    plot_spectrum_row(row, spectra[k], sites, regions=regions,
                                      level_sigma=level_sigma, half_width_ppm=half_width_ppm,
                                      margin_ppm=margin_ppm, style=style)
                axes[0, 1].legend(loc="upper right", fontsize=style.font_size - 1.5)
                where = temperature_text(T) if math.isfinite(T) else "temperature unknown"
                page_txt = f", page {p + 1} of {len(pages)}" if len(pages) > 1 else ""
                fig.suptitle(f"{where}: {len(members)} spectra{page_txt}; contours from "
                             f"{level_sigma:g} σ (dashed: negative), grey band ±{level_sigma:g} σ")
                fig.set_label(f"show_{tag}" + (f"_p{p + 1}" if len(pages) > 1 else ""))
            figures.append(fig)
    return figures
