"""Quality-control figure of the integration of one temperature of an EXSY series.

Shows every mixing time of the temperature, shortest first: contours of the spectrum from a
chosen multiple of the noise (4 σ by default) with the integration regions (box/ellipse) or
the fitted peaks and fit window (lineshape), and, in lineshape mode, below each spectrum the
residual (data minus fitted model, baseline included) in units of the noise, on a diverging
colour scale with its colour bar (red: data above the model) and contours at ±3, ±6 and
±12 σ.  The function draws into a figure and returns it; it never saves or shows.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np
from matplotlib.axes import Axes
from matplotlib.figure import Figure
from matplotlib.patches import Ellipse, Rectangle

from exsyfit.integrate.results import GroupIntegration, IntegrationResult
from exsyfit.io.spectrum import Spectrum2D
from exsyfit.output.labels import temperature_text
from exsyfit.output.spectra import View, draw_contours, draw_region, noise_sigma, ppm_axes

__all__ = ["plot_integration_qc"]

_RESIDUAL_LEVELS = (3.0, 6.0, 12.0)


def _locate(spectra: Sequence[Spectrum2D], result: IntegrationResult,
            ) -> tuple[GroupIntegration, list[int]]:
    """Group of the result holding these spectra and each spectrum's position in it."""
    for group in result.groups:
        names = list(group.experiments)
        pos = [names.index(s.source) if s.source in names else None for s in spectra]
        if all(p is not None for p in pos):
            return group, [int(p) for p in pos if p is not None]
    if len(result.groups) == 1 and len(spectra) == len(result.groups[0].indices):
        return result.groups[0], list(range(len(spectra)))
    raise ValueError(
        "the spectra do not match one temperature group of the integration result "
        "(pass the spectra of one temperature, with the same sources as when integrating)"
    )


def _view(group: GroupIntegration, margin: float = 1.0) -> View:
    """ppm limits (f1_lo, f1_hi, f2_lo, f2_hi) around the peaks."""
    s = group.shapes
    return (min(x.ppm_f1 - 3 * x.fwhm_f1 for x in s) - margin,
            max(x.ppm_f1 + 3 * x.fwhm_f1 for x in s) + margin,
            min(x.ppm_f2 - 3 * x.fwhm_f2 for x in s) - margin,
            max(x.ppm_f2 + 3 * x.fwhm_f2 for x in s) + margin)


def _draw_peaks(ax: Axes, group: GroupIntegration) -> None:
    shapes = {s.name: s for s in group.shapes}
    for j, i in group.peaks:
        a, b = shapes[j], shapes[i]
        ax.add_patch(Ellipse((b.ppm_f2, a.ppm_f1), b.fwhm_f2, a.fwhm_f1, fill=False, color="k",
                             lw=0.9))
        ax.plot([b.ppm_f2], [a.ppm_f1], "k+", ms=5)
    for win in group.windows[:1]:
        _, _, a1, b1, a2, b2 = win
        ax.add_patch(Rectangle((a2, a1), b2 - a2, b1 - a1, fill=False, color="0.5", lw=0.8,
                               ls=":"))


def _residual(ax: Axes, spec: Spectrum2D, group: GroupIntegration, k: int, view: View,
              sigma: float, lim: float) -> object:
    """Residual / noise as an image with ±3, ±6, ±12 contours; returns the image."""
    model = group.model_spectrum(k, spec.ppm_f1, spec.ppm_f2)
    z = (np.asarray(spec.data, dtype=float) - model) / sigma
    rm = (spec.ppm_f1 >= view[0]) & (spec.ppm_f1 <= view[1])
    cm = (spec.ppm_f2 >= view[2]) & (spec.ppm_f2 <= view[3])
    block = z[np.ix_(rm, cm)]
    f1, f2 = spec.ppm_f1[rm], spec.ppm_f2[cm]
    im = ax.imshow(block, extent=(f2[0], f2[-1], f1[-1], f1[0]), origin="upper",
                   aspect="auto", cmap="RdBu_r", vmin=-lim, vmax=lim, interpolation="nearest")
    levels = np.array(_RESIDUAL_LEVELS)
    if np.max(block) > levels[0]:
        ax.contour(f2, f1, block, levels=levels, colors="k", linewidths=0.5)
    if np.min(block) < -levels[0]:
        ax.contour(f2, f1, block, levels=-levels[::-1], colors="k", linewidths=0.5,
                   linestyles="dashed")
    ax.set_title(f"residual, max |z| = {np.max(np.abs(block)):.1f}", loc="left")
    return im


def plot_integration_qc(
    spectra_of_one_temperature: Sequence[Spectrum2D],
    result: IntegrationResult,
    *,
    fig: Figure | None = None,
    level_sigma: float = 4.0,
    max_columns: int = 4,
) -> Figure:
    """Contours of every mixing time of one temperature with regions or fitted peaks.

    Parameters
    ----------
    spectra_of_one_temperature : sequence of Spectrum2D
        Spectra of one temperature group, as passed to
        :func:`exsyfit.integrate.series.integrate_series` (matched by ``source``).
    result : IntegrationResult
        The integration result.
    fig : matplotlib.figure.Figure, optional
        Figure to draw into (cleared first); a new one is made otherwise.
    level_sigma : float
        Lowest contour, in noise sigmas (robust estimate over each spectrum).
    max_columns : int
        Spectra per row; more mixing times wrap onto further rows.

    Returns
    -------
    matplotlib.figure.Figure
        One panel per mixing time, shortest first (rows of at most ``max_columns``, balanced);
        in lineshape mode each spectrum has its residual (data − model)/σ below it, on one
        colour scale of ±6 σ with its colour bar.  Axes
        are in ppm, reversed (NMR convention), labelled ``F2 (ppm)`` / ``F1 (ppm)`` preceded by
        the nucleus when known.
    """
    if len(spectra_of_one_temperature) == 0:
        raise ValueError("no spectra given")
    group, pos = _locate(spectra_of_one_temperature, result)
    tm = [s.mixing_time_s if s.mixing_time_s is not None else np.nan
          for s in spectra_of_one_temperature]
    order = list(np.argsort(np.nan_to_num(np.array(tm, float), nan=np.inf), kind="stable"))
    lineshape = group.method == "lineshape"
    n = len(order)
    nblock = math.ceil(n / max(1, max_columns))
    ncol = math.ceil(n / nblock)
    per = 2 if lineshape else 1
    if fig is None:
        fig = Figure(figsize=(2.6 * ncol + 0.8, 2.5 * per * nblock + 0.5), layout="constrained")
    else:
        fig.clear()
        fig.set_layout_engine("constrained")
    axes = fig.subplots(per * nblock, ncol, squeeze=False)
    view = _view(group)
    sigmas = [noise_sigma(s) for s in spectra_of_one_temperature]
    resid_images: list[tuple[Axes, object]] = []
    for slot, idx in enumerate(order):
        block, col = divmod(slot, ncol)
        spec = spectra_of_one_temperature[idx]
        ax = axes[per * block, col]
        draw_contours(ax, spec, sigma=sigmas[idx], level_sigma=level_sigma, view=view)
        if lineshape:
            _draw_peaks(ax, group)
        else:
            for reg in group.regions:
                draw_region(ax, reg, "k", 0.9)
        ax.set_title(rf"$t_\mathrm{{m}}$ = {tm[idx]:g} s", loc="left")
        used = [ax]
        if lineshape:
            ax_r = axes[per * block + 1, col]
            im = _residual(ax_r, spec, group, pos[idx], view, sigmas[idx], lim=6.0)
            resid_images.append((ax_r, im))
            used.append(ax_r)
        for a in used:
            ppm_axes(a, spec, view)
    for slot in range(n, nblock * ncol):
        block, col = divmod(slot, ncol)
        for r in range(per):
            axes[per * block + r, col].set_visible(False)
    if resid_images:  # one scale (±6 σ) for every residual: one colour bar
        cb = fig.colorbar(resid_images[0][1], ax=list(axes.ravel()), shrink=0.6,
                          extend="both", aspect=30)
        cb.set_label("(data − model)/σ")
    where = "" if group.temperature_K is None else f"{temperature_text(group.temperature_K)}, "
    fig.suptitle(f"{where}{group.method} integration; contours from {level_sigma:g} σ "
                 "(dashed: negative)")
    return fig
