"""Drawing 2D spectra: noise-scaled contour levels, ppm axes, phases and titles.

Contours start at a chosen multiple of the noise (the median over blocks of the spectrum of the
robust MAD estimate :func:`exsyfit.processing.noise.robust_sigma`, which peaks do not move) and
rise geometrically to the largest point, so that noise never fills a panel and weak cross peaks
above the level are still drawn.  Positive contours are solid, negative ones dashed in a second
colour.  ppm axes decrease to the right and upwards (the NMR convention), with F2 horizontal
and F1 vertical.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

import numpy as np

from exsyfit.output.labels import nucleus_text
from exsyfit.processing.noise import robust_sigma

if TYPE_CHECKING:  # pragma: no cover
    from matplotlib.axes import Axes

    from exsyfit.io.spectrum import Spectrum2D

__all__ = ["noise_sigma", "contour_levels", "draw_contours", "draw_region", "ppm_axes",
           "axis_label", "phase_text", "View"]

View = tuple[float, float, float, float]
"""ppm limits ``(f1_lo, f1_hi, f2_lo, f2_hi)``."""


def noise_sigma(spectrum: Spectrum2D, tiles: int = 8) -> float:
    """Noise standard deviation of a spectrum, intensity units.

    The spectrum is cut into ``tiles`` x ``tiles`` blocks; the robust MAD estimate of each
    block is taken and the median over the blocks returned, so that peaks, ridges and
    sidebands (which raise the estimate of the few blocks holding them) do not bias it.
    """
    data = np.asarray(spectrum.data, dtype=float)
    rows = np.array_split(np.arange(data.shape[0]), min(tiles, data.shape[0]))
    cols = np.array_split(np.arange(data.shape[1]), min(tiles, data.shape[1]))
    per_tile = [float(robust_sigma(data[np.ix_(r, c)])) for r in rows for c in cols
                if r.size * c.size >= 16]
    sigma = float(np.median(per_tile)) if per_tile else float(robust_sigma(data))
    return sigma if sigma > 0 else 1.0


def contour_levels(top: float, sigma: float, level_sigma: float, n: int = 10) -> np.ndarray:
    """Geometric contour levels from ``level_sigma`` noise sigmas up to ``top`` (intensity units).

    Returns one level at ``level_sigma * sigma`` when the largest point is below it.
    """
    base = level_sigma * sigma
    if not np.isfinite(top) or top <= base:
        return np.array([base])
    return np.geomspace(base, top, n)


def _block(spectrum: Spectrum2D, view: View | None,
           ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    f1 = np.asarray(spectrum.ppm_f1, dtype=float)
    f2 = np.asarray(spectrum.ppm_f2, dtype=float)
    data = np.asarray(spectrum.data, dtype=float)
    if view is None:
        return f1, f2, data
    rm = (f1 >= view[0]) & (f1 <= view[1])
    cm = (f2 >= view[2]) & (f2 <= view[3])
    if rm.sum() < 2 or cm.sum() < 2:
        return f1, f2, data
    return f1[rm], f2[cm], data[np.ix_(rm, cm)]


def draw_contours(ax: Axes, spectrum: Spectrum2D, *, sigma: float | None = None,
                  level_sigma: float = 5.0, view: View | None = None, n_levels: int = 10,
                  colours: tuple[str, str] = ("#0072B2", "#D55E00"), lw: float = 0.6,
                  ) -> np.ndarray:
    """Positive (solid) and negative (dashed) contours of a spectrum from ``level_sigma`` σ.

    Parameters
    ----------
    ax : matplotlib.axes.Axes
    spectrum : Spectrum2D
    sigma : float, optional
        Noise standard deviation (intensity units); estimated from the spectrum when None.
    level_sigma : float
        Lowest contour in noise sigmas.
    view : tuple, optional
        ppm limits ``(f1_lo, f1_hi, f2_lo, f2_hi)`` of the part drawn.
    n_levels : int
        Number of positive (and of negative) levels.
    colours : tuple of str
        Colours of positive and negative contours.
    lw : float
        Line width, points.

    Returns
    -------
    numpy.ndarray
        The positive levels (intensity units).
    """
    sigma = noise_sigma(spectrum) if sigma is None else sigma
    f1, f2, block = _block(spectrum, view)
    levels = contour_levels(float(np.max(block)), sigma, level_sigma, n_levels)
    if np.max(block) > levels[0]:
        ax.contour(f2, f1, block, levels=levels, colors=colours[0], linewidths=lw)
    neg = contour_levels(float(-np.min(block)), sigma, level_sigma, n_levels)
    if -np.min(block) > neg[0]:
        ax.contour(f2, f1, block, levels=-neg[::-1], colors=colours[1], linewidths=lw,
                   linestyles="dashed")
    return levels


def draw_region(ax: Axes, reg: Any, colour: str, lw: float) -> None:
    """Outline of an integration region (box, or ``kind == "ellipse"``) in ppm (F2, F1)."""
    from matplotlib.patches import Ellipse, Rectangle

    w, h = 2 * reg.half_width_f2, 2 * reg.half_width_f1
    if getattr(reg, "kind", "box") == "ellipse":
        ax.add_patch(Ellipse((reg.center_f2, reg.center_f1), w, h, fill=False, ec=colour, lw=lw))
    else:
        ax.add_patch(Rectangle((reg.center_f2 - reg.half_width_f2,
                                reg.center_f1 - reg.half_width_f1), w, h, fill=False,
                               ec=colour, lw=lw))


def axis_label(dim: str, nucleus: str | None) -> str:
    """``$^{7}$Li F2 (ppm)`` (or ``F2 (ppm)`` when the nucleus is unknown)."""
    nuc = nucleus_text(nucleus)
    return f"{nuc} {dim} (ppm)" if nuc else f"{dim} (ppm)"


def ppm_axes(ax: Axes, spectrum: Spectrum2D, view: View | None = None) -> None:
    """Reversed ppm limits (NMR convention) and axis labels with the nucleus."""
    if view is None:
        f1, f2 = np.asarray(spectrum.ppm_f1), np.asarray(spectrum.ppm_f2)
        view = (float(f1.min()), float(f1.max()), float(f2.min()), float(f2.max()))
    ax.set_xlim(view[3], view[2])
    ax.set_ylim(view[1], view[0])
    ax.set_xlabel(axis_label("F2", spectrum.nucleus))
    ax.set_ylabel(axis_label("F1", spectrum.nucleus))


def phase_text(metadata: Mapping[str, Any]) -> str:
    """The processing phases of a spectrum, e.g. ``F2 12.0/−3.5°, F1 90.0/0.0° (0th/1st order)``.

    Reads ``phases_deg`` or ``phases``: a sequence ``(p0_f2, p1_f2, p0_f1, p1_f1)`` in
    degrees, a mapping of names to degrees, or the ``{"F2": {"p0_deg", "p1_deg"}, "F1": ...,
    "source"}`` mapping of :func:`exsyfit.processing.raw.phases_metadata` (the source is
    named).  Empty when the spectrum records none.
    """
    ph = metadata.get("phases_deg", metadata.get("phases"))
    if isinstance(ph, Mapping) and isinstance(ph.get("F2"), Mapping):
        try:
            p = [float(ph[d][k]) for d in ("F2", "F1") for k in ("p0_deg", "p1_deg")]
        except (KeyError, TypeError, ValueError):
            return ""
        source = f", {ph['source']}" if ph.get("source") else ""
        return (f"F2 {p[0]:.1f}/{p[1]:.1f}°, F1 {p[2]:.1f}/{p[3]:.1f}° (0th/1st order"
                f"{source})").replace("-", "−")
    if ph is None:
        return ""
    if isinstance(ph, Mapping):
        try:
            return ", ".join(f"{k} {float(v):.1f}°" for k, v in ph.items()).replace("-", "−")
        except (TypeError, ValueError):
            return ""
    if isinstance(ph, Sequence) and not isinstance(ph, str) and len(ph) == 4:
        try:
            p = [float(v) for v in ph]
        except (TypeError, ValueError):
            return ""
        return (f"F2 {p[0]:.1f}/{p[1]:.1f}°, F1 {p[2]:.1f}/{p[3]:.1f}° (0th/1st order)"
                ).replace("-", "−")
    return ""
