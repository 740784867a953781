"""The line model shared by every estimator: unit-area lines, fit windows, baseline terms.

A peak (j -> i) is the product of site j's F1 line and site i's F2 line; a line is either the
exact processed transform of a pseudo-Voigt decay
(:class:`exsyfit.processing.lineshapes.ProcessedLineProfile`) or an analytic pseudo-Voigt.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

import numpy as np

from exsyfit.processing.lineshapes import ProcessedLineProfile, pseudo_voigt

if TYPE_CHECKING:
    from exsyfit.integrate.results import SiteShape

#: Processed line profiles (F1, F2); ``None`` in a dimension means pseudo-Voigt lines.
Profiles = tuple["ProcessedLineProfile | None", "ProcessedLineProfile | None"]
#: A fit window: ``(order_f1, order_f2, f1_lo, f1_hi, f2_lo, f2_hi)``, ppm.
Window = tuple[int, int, float, float, float, float]


def unit_lines(ppm: np.ndarray, pos: np.ndarray, fwhm: np.ndarray, eta: np.ndarray,
               profile: ProcessedLineProfile | None = None) -> np.ndarray:
    """Unit-area lines, shape (len(ppm), n_sites): processed profile if known, else pseudo-Voigt."""
    if profile is not None:
        return profile.lines(ppm, pos, fwhm, eta)
    return pseudo_voigt(np.asarray(ppm, float)[:, None], pos, fwhm, eta)


def order_lines(
    shapes: Sequence[SiteShape], ppm_f1: np.ndarray, ppm_f2: np.ndarray,
    orders: Sequence[tuple[int, int]], sb: float, profiles: Profiles = (None, None),
) -> tuple[np.ndarray, np.ndarray]:
    """F1 lines g[r, j, o] and F2 lines h[c, i, o] of every site and sideband order.

    Parameters
    ----------
    shapes : sequence of SiteShape
        Fitted lines (positions and widths in ppm).
    ppm_f1, ppm_f2 : numpy.ndarray
        Axes, ppm.
    orders : sequence of (int, int)
        Sideband orders (F1, F2); ``(0, 0)`` is the centreband.
    sb : float
        Sideband spacing (MAS rate / spectrometer frequency), ppm.
    profiles : tuple
        Processed line profiles (F1, F2), ``None`` for pseudo-Voigt lines.
    """
    p1 = np.array([s.ppm_f1 for s in shapes])
    p2 = np.array([s.ppm_f2 for s in shapes])
    w1 = np.array([s.fwhm_f1 for s in shapes])
    w2 = np.array([s.fwhm_f2 for s in shapes])
    e1 = np.array([s.eta_f1 for s in shapes])
    e2 = np.array([s.eta_f2 for s in shapes])
    g = np.stack([unit_lines(ppm_f1, p1 + m * sb, w1, e1, profiles[0]) for m, _ in orders], axis=2)
    h = np.stack([unit_lines(ppm_f2, p2 + n * sb, w2, e2, profiles[1]) for _, n in orders], axis=2)
    return g, h


def window_terms(
    win: Window, ppm_f1: np.ndarray, ppm_f2: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Row/column masks of a window and its centred, scaled plane coordinates."""
    _, _, a1, b1, a2, b2 = win
    rm = (ppm_f1 >= a1) & (ppm_f1 <= b1)
    cm = (ppm_f2 >= a2) & (ppm_f2 <= b2)
    t1 = (ppm_f1[rm] - 0.5 * (a1 + b1)) / max(0.5 * (b1 - a1), 1e-12)
    t2 = (ppm_f2[cm] - 0.5 * (a2 + b2)) / max(0.5 * (b2 - a2), 1e-12)
    return rm, cm, t1, t2


def centre_window(shapes: Sequence[SiteShape], wf: float) -> tuple[float, float, float, float]:
    """F1 and F2 limits (ppm) reaching ``wf`` FWHM beyond the outermost sites."""
    lo1 = min(s.ppm_f1 - wf * s.fwhm_f1 for s in shapes)
    hi1 = max(s.ppm_f1 + wf * s.fwhm_f1 for s in shapes)
    lo2 = min(s.ppm_f2 - wf * s.fwhm_f2 for s in shapes)
    hi2 = max(s.ppm_f2 + wf * s.fwhm_f2 for s in shapes)
    return lo1, hi1, lo2, hi2


def baseline_columns(baseline: str, t1: np.ndarray, t2: np.ndarray) -> list[np.ndarray]:
    """Baseline basis over a rectangular window, flattened row-major."""
    if baseline == "none":
        return []
    cols = [np.ones(t1.size * t2.size)]
    if baseline == "plane":
        cols.append(np.repeat(t1, t2.size))
        cols.append(np.tile(t2, t1.size))
    return cols


def peak_model(
    shapes: Sequence[SiteShape], ppm_f1: np.ndarray, ppm_f2: np.ndarray,
    orders: Sequence[tuple[int, int]], sb: float, amps: np.ndarray,
    profiles: Profiles = (None, None),
) -> np.ndarray:
    """Peak model (n_spectra, n1, n2) for amplitudes (n_spectra, n_peaks, n_orders)."""
    g, h = order_lines(shapes, ppm_f1, ppm_f2, orders, sb, profiles)
    n = len(shapes)
    a = amps.reshape(len(amps), n, n, len(orders))
    return np.einsum("rjo,kjio,cio->krc", g, a, h, optimize=True)


def solve_linear(x: np.ndarray, y: np.ndarray) -> np.ndarray:
    """Linear least squares via the (small) normal equations; SVD fallback if ill-conditioned."""
    gram = x.T @ x
    d = np.sqrt(np.diag(gram))
    d[d == 0] = 1.0
    scaled = gram / np.outer(d, d)
    if np.linalg.cond(scaled) < 1e10:
        return np.linalg.solve(scaled, (x.T @ y) / d[:, None]) / d[:, None]
    return np.linalg.lstsq(x, y, rcond=None)[0]
