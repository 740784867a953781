"""Phase correction of hypercomplex 2D spectra: TopSpin's convention and an automatic phasing.

Convention (TopSpin's, checked on real data)
--------------------------------------------
The corrected spectrum of one dimension is ``S[i] * exp(-1j * (p0 + p1 * i / n))`` with the
angles in degrees, ``i = 0`` the leftmost (highest ppm) point and ``n`` the number of points
of the transform; TopSpin applies its stored PHC0 / PHC1 with this sign (opposite to
``exp(+i phi)``).  With the stored PHC0 of ``nmrtools-19f-cest-pseudo2d`` (PHC0 = -172.35, EM,
fractional GRPDLY 67.987) exsyfit's F2 transform equals TopSpin's 2rr rows with r = 1 - 2e-15;
the opposite sign gives r = 0.974.  The pivot of PHC1 (the leftmost point of the full
transform, before a strip is cut) is TopSpin's documented definition; the real pairs have
PHC1 = 0, so it could not be checked on them.

Automatic phasing (:func:`auto_phase`)
--------------------------------------
Zero *and* first order in both dimensions.  The phase of every strong, isolated peak is
measured where its magnitude is largest: at the centre of a line the hypercomplex quadrants are
``re = A cos(phi2) exp(i phi1)`` and ``im = A sin(phi2) exp(i phi1)``, so ``phi1`` and
``phi2`` follow without any model of the line shape (peaks of an EXSY spectrum are positive,
which removes the 180 degree ambiguity).  A straight line ``p0 + p1 * i / n`` is fitted to the
peak phases of each dimension, weighted by peak height; the first order is kept only when the
peaks need it (a constant phase leaves them more than 5 degrees rms apart and the slope at
least halves that spread; peaks spread over more than 5 % of the dimension), else ``p1``
stays at its starting value (the stored one).  Finally the zero-order phases are refined by
maximising the absorptive integral of the peak regions (a first-order phase does not follow
from an integral: a phase ramp across a line only adds a dispersive contribution of either
sign).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy import ndimage, optimize

__all__ = ["Hypercomplex2D", "auto_phase", "diagonal_mask", "phase_2d", "peak_phases"]


@dataclass(frozen=True)
class Hypercomplex2D:
    """Both F2 quadrature components of a 2D spectrum, F1-transformed, before phasing.

    ``re_part`` / ``im_part`` are complex arrays (n_f1, n_f2): the F1 transform of the real /
    imaginary part of the F2 spectra.  :func:`phase_2d` turns them into the real spectrum for
    any set of phases without recomputing the transforms.  ``n_full_f1`` / ``n_full_f2``
    are the sizes of the full transforms (a stored strip is a part of them) and
    ``offset_f1`` / ``offset_f2`` the index of the strip's first point in them; the phase
    ramp runs over the full transform.
    """

    re_part: np.ndarray
    im_part: np.ndarray
    ppm_f1: np.ndarray
    ppm_f2: np.ndarray
    n_full_f1: int = 0
    n_full_f2: int = 0
    offset_f1: int = 0
    offset_f2: int = 0

    def fractions(self) -> tuple[np.ndarray, np.ndarray]:
        """Position ``i / n`` of every point in the full transforms (F1, F2)."""
        n1, n2 = self.re_part.shape
        full1 = self.n_full_f1 or n1
        full2 = self.n_full_f2 or n2
        return ((self.offset_f1 + np.arange(n1)) / full1,
                (self.offset_f2 + np.arange(n2)) / full2)


def phase_2d(hc: Hypercomplex2D, p0_f2: float = 0.0, p1_f2: float = 0.0, p0_f1: float = 0.0,
             p1_f1: float = 0.0) -> np.ndarray:
    """Real (absorptive) 2D spectrum for the given phases (degrees, TopSpin convention)."""
    x1, x2 = hc.fractions()
    ph2 = np.deg2rad(p0_f2 + p1_f2 * x2)
    ph1 = np.deg2rad(p0_f1 + p1_f1 * x1)
    mixed = np.cos(ph2) * hc.re_part + np.sin(ph2) * hc.im_part
    return (mixed * np.exp(-1j * ph1)[:, None]).real


def diagonal_mask(ppm_f1: np.ndarray, ppm_f2: np.ndarray, half_width_ppm: float) -> np.ndarray:
    """Boolean mask (n_f1, n_f2) of the points within ``half_width_ppm`` of the diagonal."""
    return np.abs(ppm_f1[:, None] - ppm_f2[None, :]) <= half_width_ppm


def _magnitude(hc: Hypercomplex2D) -> np.ndarray:
    return np.hypot(np.abs(hc.re_part), np.abs(hc.im_part))


def _default_phase_mask(hc: Hypercomplex2D) -> np.ndarray:
    """Strong points near the diagonal (or all strong points for heteronuclear axes)."""
    mag = _magnitude(hc)
    strong = mag >= 0.05 * mag.max()
    width = 0.02 * abs(hc.ppm_f2[0] - hc.ppm_f2[-1])
    diag = diagonal_mask(hc.ppm_f1, hc.ppm_f2, width) & strong
    return diag if diag.any() else strong


def peak_phases(hc: Hypercomplex2D, mask: np.ndarray | None = None, max_peaks: int = 12,
                ) -> list[tuple[float, float, float, float, float]]:
    """Phases of the strongest peaks, measured at their magnitude maxima.

    Parameters
    ----------
    hc : Hypercomplex2D
        Transformed, unphased spectrum.
    mask : numpy.ndarray, optional
        Points allowed as peak maxima (default: strong points near the diagonal).
    max_peaks : int
        At most this many peaks (strongest first) are returned.

    Returns
    -------
    list of tuple
        ``(x_f1, x_f2, phi1_deg, phi2_deg, height)`` per peak: position as a fraction of
        the full transform, phases in degrees (TopSpin sign: the phase that removes them),
        magnitude.
    """
    mask = _default_phase_mask(hc) if mask is None else mask
    mag = _magnitude(hc)
    local = (mag == ndimage.maximum_filter(mag, size=5, mode="nearest")) & mask
    idx = np.argwhere(local)
    if idx.size == 0:
        return []
    order = np.argsort(mag[local])[::-1][:max_peaks]
    x1, x2 = hc.fractions()
    out = []
    for i1, i2 in idx[order]:
        re, im = hc.re_part[i1, i2], hc.im_part[i1, i2]
        phi1 = 0.5 * np.angle(re * re + im * im)
        u = re * np.exp(-1j * phi1)
        v = im * np.exp(-1j * phi1)
        phi2 = np.arctan2(v.real, u.real)  # pi ambiguity of phi1 -> pi in phi2
        if np.cos(phi2) * u.real + np.sin(phi2) * v.real < 0:
            phi2 += np.pi
        out.append((float(x1[i1]), float(x2[i2]), float(np.rad2deg(phi1)),
                    float(np.rad2deg(phi2)), float(mag[i1, i2])))
    return out


def _wrap(deg: float | np.ndarray) -> float | np.ndarray:
    return (np.asarray(deg) + 180.0) % 360.0 - 180.0


def _line_fit(x: np.ndarray, phi: np.ndarray, w: np.ndarray, p0: float, p1: float,
              first_order: bool) -> tuple[float, float]:
    """Weighted fit of ``p0 + p1 x`` to phases known modulo 360 (and 180 for F1 pairs)."""
    if not first_order or len(x) < 2 or np.ptp(x) < 0.05:
        resid = _wrap(phi - p1 * x - p0)
        ang = np.angle(np.sum(w * np.exp(1j * np.deg2rad(resid))))
        return float(p0 + np.rad2deg(ang)), p1
    best = (np.inf, p0, p1)
    for slope in np.arange(-720.0, 721.0, 4.0):  # coarse search, then least squares
        resid = _wrap(phi - slope * x)
        off = np.rad2deg(np.angle(np.sum(w * np.exp(1j * np.deg2rad(resid)))))
        cost = float(np.sum(w * (1.0 - np.cos(np.deg2rad(resid - off)))))
        if cost < best[0]:
            best = (cost, off, slope)

    def cost(q: np.ndarray) -> float:
        return float(np.sum(w * (1.0 - np.cos(np.deg2rad(phi - q[0] - q[1] * x)))))

    res = optimize.minimize(cost, np.array(best[1:]), method="Nelder-Mead",
                            options={"xatol": 0.01, "fatol": 1e-12})
    # keep the first order only when the peaks need it: a constant phase leaves them more
    # than 5 degrees (rms) apart and the slope halves that spread
    flat_p0, _ = _line_fit(x, phi, w, p0, p1, False)
    spread0 = np.sqrt(np.sum(w * _wrap(phi - flat_p0 - p1 * x) ** 2) / np.sum(w))
    spread1 = np.sqrt(np.sum(w * _wrap(phi - res.x[0] - res.x[1] * x) ** 2) / np.sum(w))
    if spread0 < 5.0 or spread1 > 0.5 * spread0:
        return flat_p0, p1
    return float(res.x[0]), float(res.x[1])


def auto_phase(spectra: list[Hypercomplex2D], masks: list[np.ndarray] | None = None,
               start: tuple[float, float, float, float] = (0, 0, 0, 0),
               first_order: bool = True) -> tuple[float, float, float, float]:
    """Zero- and first-order phases shared by a series, from the phases of its peaks.

    Parameters
    ----------
    spectra : list of Hypercomplex2D
        Spectra of the series (typically the shortest mixing time).
    masks : list of numpy.ndarray, optional
        Boolean masks of the points allowed as peaks / whose absorptive integral is
        maximised, one per spectrum.  Default: points within 2 % of the F2 spectral width of
        the diagonal whose magnitude is above 5 % of the spectrum's maximum.
    start : tuple of float
        Phases ``(p0_f2, p1_f2, p0_f1, p1_f1)``, degrees; first orders that the peaks do not
        determine keep these values.
    first_order : bool
        Fit the first-order phases too (else only the zero orders).

    Returns
    -------
    tuple of float
        ``(p0_f2, p1_f2, p0_f1, p1_f1)`` in degrees, TopSpin convention.
    """
    if masks is None:
        masks = [_default_phase_mask(hc) for hc in spectra]
    peaks = [p for hc, m in zip(spectra, masks, strict=True) for p in peak_phases(hc, m)]
    p0_2, p1_2, p0_1, p1_1 = (float(v) for v in start)
    if peaks:
        arr = np.array(peaks)
        w = arr[:, 4] / arr[:, 4].max()
        # phi1 of a peak is known modulo 180 degrees (jointly with phi2): fit doubled angles
        q0, q1 = _line_fit(arr[:, 0], 2.0 * arr[:, 2], w, 2.0 * p0_1, 2.0 * p1_1, first_order)
        p0_1, p1_1 = 0.5 * q0, 0.5 * q1
        flip = np.cos(np.deg2rad(arr[:, 2] - p0_1 - p1_1 * arr[:, 0])) < 0
        phi2 = arr[:, 3] + 180.0 * flip
        p0_2, p1_2 = _line_fit(arr[:, 1], phi2, w, p0_2, p1_2, first_order)
    p = np.array([p0_2, p1_2, p0_1, p1_1])
    norms = [max(float(_magnitude(hc)[m].sum()), 1e-300)
             for hc, m in zip(spectra, masks, strict=True)]

    def objective(q: np.ndarray) -> float:
        return -sum(phase_2d(hc, q[0], p[1], q[1], p[3])[m].sum() / nrm
                    for hc, m, nrm in zip(spectra, masks, norms, strict=True))

    if not peaks:  # no peak found: coarse grid of the zero orders
        grid = np.arange(0.0, 360.0, 10.0)
        vals = [(objective(np.array([a, b])), a, b) for a in grid for b in grid]
        _, p[0], p[2] = min(vals)
    elif objective(p[[0, 2]] + [180.0, 0.0]) < objective(p[[0, 2]]):
        p[0] += 180.0  # both F1 and F2 phases known up to a joint 180: peaks are positive
    res = optimize.minimize(objective, p[[0, 2]], method="Nelder-Mead",
                            options={"xatol": 0.05, "fatol": 1e-10, "maxiter": 2000})
    p[0], p[2] = res.x
    if abs(_wrap(p[0] - float(start[0]))) > 90.0:  # same spectrum: the representative
        p[0] += 180.0                              # whose F2 phase is nearest the start
        p[2] += 180.0
    return (float(_wrap(p[0])), float(p[1]), float(_wrap(p[2])), float(p[3]))
