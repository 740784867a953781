"""Quality-control figure of the integration of one temperature of an EXSY series.

Shows the shortest and the longest mixing time: contours of the spectrum with the integration
regions (box/ellipse) or the fitted peaks and fit window (lineshape), and, in lineshape mode, the
residual (data minus fitted model, baseline included) with contours at multiples of the noise.
The function draws into a figure and returns it; it never saves or shows.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from matplotlib.figure import Figure
from matplotlib.patches import Ellipse, Rectangle

from exsyfit.integrate.results import GroupIntegration, IntegrationResult
from exsyfit.io.spectrum import Spectrum2D

__all__ = ["plot_integration_qc"]


def _axis_label(dim: str, nucleus: str | None) -> str:
    return f"{nucleus} {dim} (ppm)" if nucleus else f"{dim} (ppm)"


def _locate(spectra: Sequence[Spectrum2D], result: IntegrationResult):
    """Group of the result holding these spectra and each spectrum's position in it."""
    for group in result.groups:
        names = list(group.experiments)
        pos = [names.index(s.source) if s.source in names else None for s in spectra]
        if all(p is not None for p in pos):
            return group, pos
    if len(result.groups) == 1 and len(spectra) == len(result.groups[0].indices):
        return result.groups[0], list(range(len(spectra)))
    raise ValueError(
        "the spectra do not match one temperature group of the integration result "
        "(pass the spectra of one temperature, with the same sources as when integrating)"
    )


def _view(group: GroupIntegration, margin: float = 1.0):
    """ppm limits (f1_lo, f1_hi, f2_lo, f2_hi) around the peaks."""
    s = group.shapes
    return (min(x.ppm_f1 - 3 * x.fwhm_f1 for x in s) - margin,
            max(x.ppm_f1 + 3 * x.fwhm_f1 for x in s) + margin,
            min(x.ppm_f2 - 3 * x.fwhm_f2 for x in s) - margin,
            max(x.ppm_f2 + 3 * x.fwhm_f2 for x in s) + margin)


def _contours(ax, spec: Spectrum2D, view, n_levels: int = 12):
    rm = (spec.ppm_f1 >= view[0]) & (spec.ppm_f1 <= view[1])
    cm = (spec.ppm_f2 >= view[2]) & (spec.ppm_f2 <= view[3])
    block = np.asarray(spec.data)[np.ix_(rm, cm)]
    top = float(np.max(np.abs(block))) or 1.0
    levels = top * np.geomspace(0.005, 0.9, n_levels)
    ax.contour(spec.ppm_f2[cm], spec.ppm_f1[rm], block, levels=levels, colors="C0",
               linewidths=0.7)
    ax.contour(spec.ppm_f2[cm], spec.ppm_f1[rm], block, levels=-levels[::-1], colors="C3",
               linewidths=0.7, linestyles="dashed")


def _draw_regions(ax, group: GroupIntegration):
    for reg in group.regions:
        w, h = 2 * reg.half_width_f2, 2 * reg.half_width_f1
        if reg.kind == "ellipse":
            patch = Ellipse((reg.center_f2, reg.center_f1), w, h, fill=False, color="k", lw=1.0)
        else:
            corner = (reg.center_f2 - reg.half_width_f2, reg.center_f1 - reg.half_width_f1)
            patch = Rectangle(corner, w, h, fill=False, color="k", lw=1.0)
        ax.add_patch(patch)


def _draw_peaks(ax, group: GroupIntegration):
    shapes = {s.name: s for s in group.shapes}
    for j, i in group.peaks:
        a, b = shapes[j], shapes[i]
        ax.add_patch(Ellipse((b.ppm_f2, a.ppm_f1), b.fwhm_f2, a.fwhm_f1, fill=False, color="k",
                             lw=1.0))
        ax.plot([b.ppm_f2], [a.ppm_f1], "k+", ms=6)
    for win in group.windows[:1]:
        _, _, a1, b1, a2, b2 = win
        ax.add_patch(Rectangle((a2, a1), b2 - a2, b1 - a1, fill=False, color="0.5", lw=0.8,
                               ls=":"))


def _residual(ax, spec: Spectrum2D, group: GroupIntegration, k: int, view):
    model = group.model_spectrum(k, spec.ppm_f1, spec.ppm_f2)
    resid = np.asarray(spec.data) - model
    rm = (spec.ppm_f1 >= view[0]) & (spec.ppm_f1 <= view[1])
    cm = (spec.ppm_f2 >= view[2]) & (spec.ppm_f2 <= view[3])
    block = resid[np.ix_(rm, cm)]
    outside = resid[~rm]
    noise = float(np.std(outside)) if outside.size else float(np.std(block))
    noise = noise or 1.0
    lim = max(float(np.max(np.abs(block))), 3 * noise)
    ax.imshow(block, extent=(spec.ppm_f2[cm][0], spec.ppm_f2[cm][-1], spec.ppm_f1[rm][-1],
                             spec.ppm_f1[rm][0]),
              origin="upper", aspect="auto", cmap="RdBu_r", vmin=-lim, vmax=lim)
    levels = noise * np.array([3.0, 6.0, 12.0])
    ax.contour(spec.ppm_f2[cm], spec.ppm_f1[rm], block, levels=levels, colors="k",
               linewidths=0.6)
    ax.contour(spec.ppm_f2[cm], spec.ppm_f1[rm], block, levels=-levels[::-1], colors="k",
               linewidths=0.6, linestyles="dashed")
    ax.set_title(f"residual (contours at 3, 6, 12 x noise {noise:.2g})", fontsize=9)


def plot_integration_qc(
    spectra_of_one_temperature: Sequence[Spectrum2D],
    result: IntegrationResult,
    *,
    fig: Figure | None = None,
) -> Figure:
    """Contours of the shortest and longest mixing-time spectra with regions or fitted peaks.

    Parameters
    ----------
    spectra_of_one_temperature : sequence of Spectrum2D
        Spectra of one temperature group, as passed to
        :func:`exsyfit.integrate.series.integrate_series` (matched by ``source``).
    result : IntegrationResult
        The integration result.
    fig : matplotlib.figure.Figure, optional
        Figure to draw into (cleared first); a new one is made otherwise.

    Returns
    -------
    matplotlib.figure.Figure
        One column per mixing time (shortest, longest); the top row holds the spectra, the
        bottom row (lineshape mode only) the residuals.  Axes are in ppm, reversed (NMR
        convention), labelled ``F2 (ppm)`` / ``F1 (ppm)`` preceded by the nucleus when known.
    """
    if len(spectra_of_one_temperature) == 0:
        raise ValueError("no spectra given")
    group, pos = _locate(spectra_of_one_temperature, result)
    tm = [s.mixing_time_s if s.mixing_time_s is not None else np.nan
          for s in spectra_of_one_temperature]
    order = np.argsort(np.nan_to_num(np.array(tm, float), nan=np.inf), kind="stable")
    picks = [order[0]] if len(order) == 1 else [order[0], order[-1]]
    lineshape = group.method == "lineshape"
    if fig is None:
        fig = Figure(figsize=(5.0 * len(picks), 4.5 * (2 if lineshape else 1)))
    else:
        fig.clear()
    axes = fig.subplots(2 if lineshape else 1, len(picks), squeeze=False)
    view = _view(group)
    for col, idx in enumerate(picks):
        spec = spectra_of_one_temperature[idx]
        ax = axes[0, col]
        _contours(ax, spec, view)
        if lineshape:
            _draw_peaks(ax, group)
        else:
            _draw_regions(ax, group)
        temp = "" if group.temperature_K is None else f", {group.temperature_K:g} K"
        ax.set_title(f"t_m = {tm[idx]:g} s{temp} ({group.method})", fontsize=9)
        if lineshape:
            _residual(axes[1, col], spec, group, pos[idx], view)
        for a in axes[:, col]:
            a.set_xlim(view[3], view[2])
            a.set_ylim(view[1], view[0])
            a.set_xlabel(_axis_label("F2", spec.nucleus))
            a.set_ylabel(_axis_label("F1", spec.nucleus))
    fig.tight_layout()
    return fig
