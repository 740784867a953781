"""Site line shapes: initial estimates from the data and the shared nonlinear shape fit.

Positions, widths and Lorentzian fractions are fitted once per temperature on a handful of
spectra (variable projection: nonlinear least squares on the shapes, linear on the amplitudes).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np
from scipy.optimize import least_squares

from exsyfit.errors import ConfigError
from exsyfit.integrate.lines import (
    Profiles,
    baseline_columns,
    centre_window,
    solve_linear,
    unit_lines,
)
from exsyfit.integrate.options import IntegrationOptions
from exsyfit.integrate.results import SiteSearch, SiteShape
from exsyfit.processing.noise import robust_sigma

#: A site's peak is searched for only when its maximum stands this many noise standard
#: deviations above zero (else the configured shift is used).
MIN_SEARCH_SNR = 5.0


def _half_height_fwhm(profile: np.ndarray, i0: int, ppm: np.ndarray) -> float | None:
    """FWHM from the less contaminated side of a peak in a 1D slice (ppm), or None."""
    top = profile[i0]
    if not top > 0:
        return None
    half = 0.5 * top
    step = abs(ppm[1] - ppm[0])
    sides = []
    for direction in (-1, 1):
        i = i0
        while 0 <= i + direction < profile.size and profile[i + direction] >= half:
            i += direction
        if not 0 <= i + direction < profile.size:
            continue
        a, b = profile[i], profile[i + direction]
        frac = (a - half) / (a - b) if a != b else 0.5
        sides.append((abs(i - i0) + frac) * step)
    return 2.0 * min(sides) if sides else None


def _climb(data: np.ndarray, r: int, c: int, rows: np.ndarray, cols: np.ndarray) -> tuple[int, int]:
    """Steepest ascent from (r, c) to a local maximum, staying within the allowed rows/cols."""
    for _ in range(data.size):
        r_lo, r_hi = max(r - 1, 0), min(r + 2, data.shape[0])
        c_lo, c_hi = max(c - 1, 0), min(c + 2, data.shape[1])
        block = np.where(np.outer(rows[r_lo:r_hi], cols[c_lo:c_hi]),
                         data[r_lo:r_hi, c_lo:c_hi], -np.inf)
        a, b = np.unravel_index(np.argmax(block), block.shape)
        if (r_lo + a, c_lo + b) == (r, c) or block[a, b] <= data[r, c]:
            break
        r, c = r_lo + int(a), c_lo + int(b)
    return r, c


def _interpolated(values: np.ndarray, k: int, axis: np.ndarray) -> float:
    """Position (ppm) of the maximum at index ``k`` refined by a parabola through 3 points."""
    if 0 < k < values.size - 1:
        y0, y1, y2 = values[k - 1], values[k], values[k + 1]
        den = y0 - 2 * y1 + y2
        if den < 0:
            shift = float(np.clip(0.5 * (y0 - y2) / den, -0.5, 0.5))
            return float(axis[k] + shift * (axis[k + 1] - axis[k]))
    return float(axis[k])


def search_sites(
    data: np.ndarray, ppm_f1: np.ndarray, ppm_f2: np.ndarray, names: Sequence[str],
    pos: Sequence[float], tol: Sequence[float], eta0: float, search_ppm: float | None,
    label: str = "series", warnings: list[str] | None = None,
) -> tuple[list[SiteShape], list[SiteSearch]]:
    """Find each site's diagonal peak near its configured shift, and its initial line shape.

    The strongest point within ``tol`` of the configured shift (and closer to it than to any
    other site) is followed uphill to the maximum of its peak.  That maximum must lie within the
    search tolerance of the configured shift in both dimensions: ``search_ppm`` if given, else
    one full width at half height of the peak in that dimension (at least two points).  A peak
    whose maximum is below :data:`MIN_SEARCH_SNR` robust noise standard deviations cannot be
    located: the configured shift is kept, with a warning.

    Parameters
    ----------
    data : numpy.ndarray
        One spectrum (F1 x F2), usually the one with the shortest mixing time.
    ppm_f1, ppm_f2 : numpy.ndarray
        Axes, ppm.
    names : sequence of str
        Site names.
    pos : sequence of float
        Configured shifts, ppm.
    tol : sequence of float
        Radius (ppm) of the window in which the search starts.
    eta0 : float
        Initial Lorentzian fraction.
    search_ppm : float or None
        Search tolerance, ppm (``None``: one FWHM).
    label : str
        Group label (temperature) for messages.
    warnings : list of str, optional
        Receives a warning for each site too weak to be located.

    Returns
    -------
    shapes : list of SiteShape
        Initial line shapes (position and half-height widths).
    searches : list of SiteSearch
        Configured and found positions and the tolerance applied.

    Raises
    ------
    ConfigError
        A site whose nearest peak lies beyond the search tolerance.
    """
    pos = np.asarray(pos, dtype=float)
    steps = (abs(ppm_f1[1] - ppm_f1[0]), abs(ppm_f2[1] - ppm_f2[0]))
    found = []
    for k, (name, p, t) in enumerate(zip(names, pos, tol, strict=True)):
        others = np.delete(pos, k)

        def own(axis: np.ndarray, p: float = p, others: np.ndarray = others) -> np.ndarray:
            """Points closer to this site's shift than to any other site's."""
            if others.size == 0:
                return np.ones(axis.size, dtype=bool)
            return np.abs(axis - p) < np.min(np.abs(axis[:, None] - others[None, :]), axis=1)

        own1, own2 = own(ppm_f1), own(ppm_f2)
        rsel = np.flatnonzero((np.abs(ppm_f1 - p) <= t) & own1)
        csel = np.flatnonzero((np.abs(ppm_f2 - p) <= t) & own2)
        if rsel.size == 0:
            rsel = np.array([np.argmin(np.abs(ppm_f1 - p))])
        if csel.size == 0:
            csel = np.array([np.argmin(np.abs(ppm_f2 - p))])
        sub = data[np.ix_(rsel, csel)]
        a, b = np.unravel_index(np.argmax(sub), sub.shape)
        own1[rsel], own2[csel] = True, True
        r0, c0 = _climb(data, int(rsel[a]), int(csel[b]), own1, own2)
        w2 = _half_height_fwhm(data[r0, :], c0, ppm_f2)
        w1 = _half_height_fwhm(data[:, c0], r0, ppm_f1)
        q1 = _interpolated(data[:, c0], r0, ppm_f1)
        q2 = _interpolated(data[r0, :], c0, ppm_f2)
        found.append((name, p, r0, c0, q1, q2, w1, w2))
    noise = float(robust_sigma(data))
    weak = {f[0] for f in found if not data[f[2], f[3]] >= MIN_SEARCH_SNR * noise}
    known1 = [f[6] for f in found if f[6] and f[0] not in weak]
    known2 = [f[7] for f in found if f[7] and f[0] not in weak]
    d1 = float(np.median(known1)) if known1 else 10 * steps[0]
    d2 = float(np.median(known2)) if known2 else 10 * steps[1]
    shapes, searches = [], []
    for name, p, r0, c0, q1, q2, w1, w2 in found:
        if name in weak:
            if warnings is not None:
                warnings.append(
                    f"{label}: no peak stands {MIN_SEARCH_SNR:g} noise standard deviations "
                    f"above zero near sites.{name}.ppm = {p:g}; its configured shift is used")
            r0, c0 = int(np.argmin(np.abs(ppm_f1 - p))), int(np.argmin(np.abs(ppm_f2 - p)))
            q1 = q2 = float(p)
            w1 = w2 = None
        s1 = search_ppm if search_ppm is not None else max(w1 or d1, 2 * steps[0])
        s2 = search_ppm if search_ppm is not None else max(w2 or d2, 2 * steps[1])
        if abs(q1 - p) > s1 or abs(q2 - p) > s2:
            rule = (f"[integration] search_ppm = {search_ppm:g}" if search_ppm is not None else
                    f"one FWHM of the line: {s1:.3g} ppm in F1, {s2:.3g} ppm in F2")
            raise ConfigError(
                f"sites.{name}.ppm = {p:g} ({label}): the nearest diagonal peak is at "
                f"F1 {q1:.3f} / F2 {q2:.3f} ppm, {max(abs(q1 - p), abs(q2 - p)):.3g} ppm away; "
                f"expected within the search tolerance ({rule}); set sites.{name}.ppm to the "
                f"peak's shift ({0.5 * (q1 + q2):.3f}) or raise [integration] search_ppm"
            )
        shapes.append(SiteShape(name, float(ppm_f1[r0]), float(ppm_f2[c0]), float(w1 or d1),
                                float(w2 or d2), eta0, eta0))
        searches.append(SiteSearch(name, float(p), q1, q2, float(w1 or np.nan),
                                   float(w2 or np.nan), float(s1), float(s2)))
    return shapes, searches


def fit_shapes(
    stack: np.ndarray, ppm_f1: np.ndarray, ppm_f2: np.ndarray, init: Sequence[SiteShape],
    nominal: Sequence[float], tol: Sequence[float], opts: IntegrationOptions,
    profiles: Profiles = (None, None),
) -> tuple[tuple[SiteShape, ...], str, ShapeFit | None]:
    """Variable-projection fit of positions, widths (and eta) shared by a few spectra.

    Returns the fitted shapes, a message ("" when the fit converged) and the linearisation
    used to propagate the noise into the shape parameters (None when the fit failed).
    """
    n = len(init)
    fit_eta = opts.eta == "fit"
    step1 = abs(ppm_f1[1] - ppm_f1[0])
    step2 = abs(ppm_f2[1] - ppm_f2[0])
    lo1, hi1, lo2, hi2 = centre_window(init, opts.window_fwhm)
    rm = (ppm_f1 >= lo1) & (ppm_f1 <= hi1)
    cm = (ppm_f2 >= lo2) & (ppm_f2 <= hi2)
    f1, f2 = ppm_f1[rm], ppm_f2[cm]
    y = stack[:, rm][:, :, cm].reshape(stack.shape[0], -1).T
    scale = float(np.max(np.abs(y))) or 1.0
    y = y / scale
    t1 = (f1 - f1.mean()) / max(np.ptp(f1) / 2, 1e-12)
    t2 = (f2 - f2.mean()) / max(np.ptp(f2) / 2, 1e-12)
    base = baseline_columns(opts.baseline, t1, t2)

    per = 6 if fit_eta else 4
    x0, lo, hi = [], [], []
    # a processed profile carries the resolution (window, truncation) itself: the decay's
    # width may then be well below one point
    floor1 = 0.02 * step1 if profiles[0] is not None else step1
    floor2 = 0.02 * step2 if profiles[1] is not None else step2
    for s, p, t in zip(init, nominal, tol, strict=True):
        x0 += [s.ppm_f1, s.ppm_f2, s.fwhm_f1, s.fwhm_f2]
        lo += [p - t, p - t, max(floor1, 0.2 * s.fwhm_f1 * (profiles[0] is None)),
               max(floor2, 0.2 * s.fwhm_f2 * (profiles[1] is None))]
        hi += [p + t, p + t, 5.0 * s.fwhm_f1, 5.0 * s.fwhm_f2]
        if fit_eta:
            x0 += [s.eta_f1, s.eta_f2]
            lo += [0.0, 0.0]
            hi += [1.0, 1.0]
    x0 = np.clip(np.array(x0), np.array(lo) + 1e-9, np.array(hi) - 1e-9)

    def unpack(x: np.ndarray) -> tuple[np.ndarray, ...]:
        x = x.reshape(n, per)
        e1 = x[:, 4] if fit_eta else np.full(n, opts.eta)
        e2 = x[:, 5] if fit_eta else np.full(n, opts.eta)
        return x[:, 0], x[:, 1], x[:, 2], x[:, 3], e1, e2

    def design(x: np.ndarray) -> np.ndarray:
        p1, p2, w1, w2, e1, e2 = unpack(x)
        g = unit_lines(f1, p1, w1, e1, profiles[0])
        h = unit_lines(f2, p2, w2, e2, profiles[1])
        peaks = np.einsum("rj,ci->rcji", g, h).reshape(f1.size * f2.size, n * n)
        return np.column_stack([peaks, *base]) if base else peaks

    def resid(x: np.ndarray) -> np.ndarray:
        xd = design(x)
        return (y - xd @ solve_linear(xd, y)).ravel()

    message = ""
    try:
        sol = least_squares(resid, x0, bounds=(lo, hi), x_scale="jac", tr_solver="lsmr",
                            max_nfev=200 * per * n)
        x = sol.x
        if sol.status <= 0:
            message = f"shape fit did not converge ({sol.message})"
    except (ValueError, np.linalg.LinAlgError) as exc:  # pragma: no cover - defensive
        x, message = x0, f"shape fit failed ({exc}); initial estimates used"
    def to_shapes(x: np.ndarray) -> tuple[SiteShape, ...]:
        p1, p2, w1, w2, e1, e2 = unpack(x)
        return tuple(
            SiteShape(s.name, float(p1[k]), float(p2[k]), float(w1[k]), float(w2[k]),
                      float(e1[k]), float(e2[k]))
            for k, s in enumerate(init)
        )

    info = None
    if not message:
        free = sol.active_mask == 0
        jac = np.asarray(sol.jac)[:, free]
        gmap = -np.linalg.pinv(jac) / scale  # d theta / d data, (n_free, n_points * n_spec)
        gmap = gmap.reshape(free.sum(), f1.size, f2.size, stack.shape[0]).transpose(0, 3, 1, 2)
        info = ShapeFit(x, free, gmap, rm, cm, to_shapes)
    return to_shapes(x), message, info


@dataclass
class ShapeFit:
    """Linearisation of the shape fit: how the free shape parameters respond to the data."""

    x: np.ndarray
    free: np.ndarray
    gmap: np.ndarray  # (n_free, n_fitted_spectra, n_rows_window, n_cols_window)
    rows: np.ndarray
    cols: np.ndarray
    to_shapes: Callable[[np.ndarray], tuple]
