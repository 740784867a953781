"""Sites from one 2D exchange spectrum: genuine diagonal peaks, artefacts rejected.

How a site is found
-------------------
1. Candidates are local maxima of the diagonal profile ``data[i, j]`` with
   ``ppm_f1[i] = ppm_f2[j]`` (:func:`diagonal_profile`, :func:`scipy.signal.find_peaks`) whose
   prominence exceeds ``min_snr`` robust noise standard deviations
   (:func:`exsyfit.processing.noise.robust_sigma` of the whole spectrum) and ``min_relative``
   of the strongest diagonal point.
2. From each candidate the 2D spectrum is followed uphill to its 2D maximum.  A site is a 2D
   peak *on the diagonal*: its F1 and F2 positions agree within half its larger half-height
   width (at least 1.5 points), and its height is at least ``min_snr`` noise standard
   deviations.  Candidates that climb onto an already accepted, stronger peak are the same peak.
3. Artefacts of a stronger peak P are rejected and named:

   * in P's column (F2 within half P's F2 width, F1 elsewhere): an F1 artefact.  When the F1
     offset lies within 0.25/AQ1 of ``(k + 1/4)/AQ1`` (k >= 1; AQ1 the t1 acquisition time,
     from the acquisition: TD1 and SW1) it is a *truncation wiggle* (the positive side lobes,
     one every 1/AQ1, of a signal cut off at AQ1); otherwise a *t1 ridge or phase lobe*
     (streaks along F1 through a strong peak, or the dispersive lobe of a mis-phased line);
   * in P's row: the same in F2;
   * off the diagonal without a stronger partner: *not on the diagonal* (a cross peak or a
     ridge);
   * at +-1 or +-2 MAS rates from a stronger partner (along the diagonal, in its row or in its
     column), only when the experiment spins at the magic angle: a *spinning sideband*.

The data are only read.
"""

from __future__ import annotations

import math
import string
from dataclasses import dataclass

import numpy as np
from scipy.ndimage import map_coordinates
from scipy.signal import find_peaks

from exsyfit.errors import DataFormatError
from exsyfit.io.spectrum import Spectrum2D
from exsyfit.processing.noise import robust_sigma

__all__ = [
    "ProposedSite",
    "Rejected",
    "DiagonalPeaks",
    "spectrum_noise",
    "diagonal_profile",
    "pick_diagonal_peaks",
]


@dataclass(frozen=True)
class ProposedSite:
    """A diagonal peak proposed as a site.

    Attributes
    ----------
    name : str
        ``"A"``, ``"B"``, ... in order of decreasing height.
    ppm : float
        Proposed chemical shift, ppm: the F1 and F2 peak positions averaged with weights
        1/digital-resolution^2.
    ppm_f1, ppm_f2 : float
        Peak position in each dimension (parabolic interpolation of the 2D maximum), ppm.
    height : float
        Intensity at the peak maximum (spectrum intensity units).
    relative_height : float
        ``height`` over the height of the strongest site.
    snr : float
        ``height`` over the noise standard deviation.
    fwhm_f1, fwhm_f2 : float
        Full width at half height in each dimension, ppm (``nan`` when not measurable).
    f2_sideband_ratio : float or None
        Largest intensity found at +-1 MAS rate along F2 in the peak's row, over ``height``
        (None when no MAS rate is used or both positions lie outside the F2 window).
    f2_sidebands_seen : bool
        A local maximum standing ``min_snr`` noise standard deviations out of its surroundings
        lies at +-1 MAS rate in the peak's row.
    """

    name: str
    ppm: float
    ppm_f1: float
    ppm_f2: float
    height: float
    relative_height: float
    snr: float
    fwhm_f1: float = float("nan")
    fwhm_f2: float = float("nan")
    f2_sideband_ratio: float | None = None
    f2_sidebands_seen: bool = False


@dataclass(frozen=True)
class Rejected:
    """A diagonal candidate that is not a site.

    Attributes
    ----------
    ppm : float
        Where the candidate lies on the diagonal, ppm.
    kind : str
        ``"truncation"``, ``"ridge"`` (t1/F2 ridge or phase lobe), ``"off-diagonal"``,
        ``"sideband"`` or ``"weak"`` (below ``min_snr`` as a 2D peak).
    reason : str
        One line for the starter config.
    """

    ppm: float
    kind: str
    reason: str


@dataclass(frozen=True)
class DiagonalPeaks:
    """Result of :func:`pick_diagonal_peaks`.

    Attributes
    ----------
    sites : tuple of ProposedSite
        Genuine peaks, strongest first.
    rejected : tuple of Rejected
        Candidates rejected as artefacts, with the reason.
    weaker_ppm : tuple of float
        Genuine peaks left out because ``max_sites`` were kept, ppm.
    noise : float
        Robust noise standard deviation of the spectrum (intensity units).
    threshold : float
        Minimum prominence a diagonal peak needed (intensity units).
    min_snr : float
        Minimum height of a site over the noise standard deviation.
    mas_rate_ppm : float or None
        MAS rate in ppm of the observed nucleus used for the sideband test (None: none made).
    aq1_s : float or None
        t1 acquisition time used to name truncation wiggles, s.
    f2_sidebands_seen : bool
        True when an F2 sideband (a local maximum with a prominence of ``min_snr`` noise
        standard deviations at +-1 MAS rate in the row of a site) was found.
    """

    sites: tuple[ProposedSite, ...]
    rejected: tuple[Rejected, ...]
    weaker_ppm: tuple[float, ...]
    noise: float
    threshold: float
    min_snr: float
    mas_rate_ppm: float | None
    aq1_s: float | None
    f2_sidebands_seen: bool

    @property
    def sidebands_ppm(self) -> tuple[float, ...]:
        """Diagonal candidates rejected as spinning sidebands, ppm."""
        return tuple(r.ppm for r in self.rejected if r.kind == "sideband")


def spectrum_noise(data: np.ndarray) -> float:
    """Noise standard deviation of a 2D spectrum from the MAD of every point.

    Peaks cover a small part of a 2D spectrum, so the median absolute deviation of all points
    is set by the noise (:func:`exsyfit.processing.noise.robust_sigma`).

    Returns
    -------
    float
        Standard deviation (intensity units); a tiny positive value for noise-free data.
    """
    x = np.asarray(data, dtype=float).ravel()
    x = x[np.isfinite(x)]
    sigma = float(robust_sigma(x)) if x.size else 0.0
    if sigma > 0:
        return sigma
    scale = float(np.max(np.abs(x))) if x.size else 1.0
    return max(scale, 1.0) * np.finfo(float).eps


def _fractional_index(ppm: np.ndarray | float, axis: np.ndarray) -> np.ndarray:
    """Fractional index of ``ppm`` on a uniform ppm axis."""
    step = (axis[-1] - axis[0]) / (len(axis) - 1)
    return (np.asarray(ppm, dtype=float) - axis[0]) / step


def _index(ppm: float, axis: np.ndarray) -> int:
    return int(np.clip(round(float(_fractional_index(ppm, axis))), 0, len(axis) - 1))


def diagonal_profile(spectrum: Spectrum2D, step_ppm: float | None = None
                     ) -> tuple[np.ndarray, np.ndarray]:
    """Intensity along the diagonal ``F1 = F2`` (bilinear interpolation between points).

    Parameters
    ----------
    spectrum : Spectrum2D
    step_ppm : float, optional
        Sampling step, ppm; default half the finer digital resolution of the two dimensions.

    Returns
    -------
    ppm : numpy.ndarray
        Chemical shifts along the diagonal, decreasing, within both windows.
    values : numpy.ndarray
        Intensity at (ppm, ppm).

    Raises
    ------
    DataFormatError
        When the F1 and F2 windows do not overlap (no diagonal).
    """
    f1, f2 = spectrum.ppm_f1, spectrum.ppm_f2
    hi = min(float(np.max(f1)), float(np.max(f2)))
    lo = max(float(np.min(f1)), float(np.min(f2)))
    if not hi > lo or len(f1) < 2 or len(f2) < 2:
        raise DataFormatError(
            f"{spectrum.source}: the F1 window ({f1.max():.3g} .. {f1.min():.3g} ppm) and the "
            f"F2 window ({f2.max():.3g} .. {f2.min():.3g} ppm) do not overlap; an exchange "
            "spectrum needs a diagonal")
    step = step_ppm or 0.5 * min(spectrum.ppm_step_f1, spectrum.ppm_step_f2)
    n = int(math.floor((hi - lo) / step)) + 1
    ppm = hi - step * np.arange(n)
    coords = np.vstack([_fractional_index(ppm, f1), _fractional_index(ppm, f2)])
    values = map_coordinates(np.asarray(spectrum.data, dtype=float), coords, order=1,
                             mode="nearest")
    return ppm, values


def _parabolic(values: np.ndarray, k: int) -> float:
    """Offset (in points, within +-0.5) of the vertex of the parabola through k-1, k, k+1."""
    if k <= 0 or k >= len(values) - 1:
        return 0.0
    a, b, c = values[k - 1], values[k], values[k + 1]
    denom = a - 2 * b + c
    if denom >= 0:
        return 0.0
    return float(np.clip(0.5 * (a - c) / denom, -0.5, 0.5))


def _climb(data: np.ndarray, i: int, j: int) -> tuple[int, int]:
    """Steepest ascent from point (i, j) to a 2D local maximum."""
    n1, n2 = data.shape
    for _ in range(n1 + n2):
        i_lo, i_hi, j_lo, j_hi = max(i - 1, 0), min(i + 2, n1), max(j - 1, 0), min(j + 2, n2)
        block = data[i_lo:i_hi, j_lo:j_hi]
        di, dj = np.unravel_index(int(np.argmax(block)), block.shape)
        if block[di, dj] <= data[i, j]:
            break
        i, j = i_lo + int(di), j_lo + int(dj)
    return i, j


def _fwhm_points(profile: np.ndarray, k: int) -> float:
    """Full width at half height (points) of the maximum at ``k``; nan if not measurable."""
    top = profile[k]
    if not top > 0:
        return float("nan")
    half = 0.5 * top
    sides = []
    for direction in (-1, 1):
        m = k
        while 0 <= m + direction < profile.size and profile[m + direction] >= half:
            m += direction
        if 0 <= m + direction < profile.size:
            a, b = profile[m], profile[m + direction]
            sides.append(abs(m - k) + ((a - half) / (a - b) if a != b else 0.5))
    return 2.0 * min(sides) if sides else float("nan")


@dataclass(frozen=True)
class _Peak:
    """A 2D local maximum: grid point, interpolated position (ppm), widths (ppm), height."""

    i: int
    j: int
    ppm_f1: float
    ppm_f2: float
    fwhm_f1: float
    fwhm_f2: float
    height: float


def _peak_at(data: np.ndarray, spectrum: Spectrum2D, i: int, j: int) -> _Peak:
    f1, f2 = spectrum.ppm_f1, spectrum.ppm_f2
    s1, s2 = spectrum.ppm_step_f1, spectrum.ppm_step_f2
    sign1 = float(np.sign(f1[-1] - f1[0]))
    sign2 = float(np.sign(f2[-1] - f2[0]))
    return _Peak(i, j, float(f1[i] + sign1 * _parabolic(data[:, j], i) * s1),
                 float(f2[j] + sign2 * _parabolic(data[i, :], j) * s2),
                 _fwhm_points(data[:, j], i) * s1, _fwhm_points(data[i, :], j) * s2,
                 float(data[i, j]))


def _half_width(w: float, step: float) -> float:
    """Half a half-height width (ppm), at least 1.5 points; 3 points when unknown."""
    return max(0.5 * w, 1.5 * step) if math.isfinite(w) else 3.0 * step


def _lobe_order(offset_ppm: float, sf_mhz: float, aq1_s: float | None,
                parent_fwhm_ppm: float) -> int | None:
    """k when an F1 offset lies within 0.25/AQ1 of (k + 1/4)/AQ1 (1 <= k <= 5), else None.

    The absorption line of a signal cut off at AQ1 is ``sin(2 pi nu AQ1) / (2 pi nu)``: its
    positive side lobes lie at nu AQ1 = 1.23, 2.24, 3.24, ... (about k + 1/4), one every 1/AQ1.
    Only a line that is truncated has them: its half-height width is then at most about
    0.6/AQ1 (taken here as at most 1.5/AQ1).
    """
    if not aq1_s or not sf_mhz or not parent_fwhm_ppm * sf_mhz * aq1_s <= 1.5:
        return None
    x = abs(offset_ppm) * sf_mhz * aq1_s  # offset in units of 1/AQ1
    k = round(x - 0.25)
    return int(k) if 1 <= k <= 5 and abs(x - (k + 0.25)) <= 0.25 else None


def _belongs_to(line: np.ndarray, k_self: int, k_parent: int, noise: float) -> bool:
    """True when a 1D slice rises from ``k_self`` to ``k_parent`` without a dip between.

    Three-point averages; a dip is a value more than 3 standard deviations of such an average
    below the value at ``k_self``.  A genuine peak has its own maximum (a dip towards its
    neighbour's stripe); a wiggle, ridge or phase lobe in the neighbour's stripe has none.
    """
    smooth = np.convolve(line, np.ones(3) / 3.0, mode="same")
    v_self, v_par = smooth[k_self], smooth[k_parent]
    if not v_par > v_self:
        return False
    lo, hi = sorted((k_self, k_parent))
    return bool(smooth[lo:hi + 1].min() >= v_self - 3.0 * noise / math.sqrt(3.0))


def _artefact_of(cand: tuple[int, int], ppm: float, parent: _Peak, name: str,
                 spectrum: Spectrum2D, data: np.ndarray, noise: float,
                 aq1_s: float | None) -> Rejected | None:
    """Why the diagonal point ``cand`` is an F1 or F2 artefact of the stronger ``parent``.

    F1 artefact: the candidate's row rises, without a dip, to the parent's column (its signal
    lies in the parent's column: truncation wiggle, t1 ridge or F1 phase lobe).  F2 artefact:
    the same in the candidate's column towards the parent's row.
    """
    i, j = cand
    d1 = float(spectrum.ppm_f1[i] - parent.ppm_f1)
    d2 = float(spectrum.ppm_f2[j] - parent.ppm_f2)
    if j != parent.j and i != parent.i and _belongs_to(data[i, :], j, parent.j, noise):
        k = _lobe_order(d1, spectrum.sf_mhz, aq1_s, parent.fwhm_f1)
        if k is not None:
            return Rejected(ppm, "truncation", (
                f"F1 truncation wiggle of {name} ({d1:+.2f} ppm in its column: side lobe "
                f"{k} at ({k} + 1/4)/AQ1, AQ1 = {1e3 * aq1_s:.3g} ms)"))
        return Rejected(ppm, "ridge", (
            f"t1 ridge or F1 phase lobe of {name} (in its column, {d1:+.2f} ppm away in F1)"))
    if i != parent.i and j != parent.j and _belongs_to(data[:, j], i, parent.i, noise):
        return Rejected(ppm, "ridge", (
            f"F2 ridge or phase lobe of {name} (in its row, {d2:+.2f} ppm away in F2)"))
    return None


def _max_near(values: np.ndarray, axis: np.ndarray, ppm: float, tol: float) -> float | None:
    """Largest value within ``tol`` ppm of ``ppm`` on ``axis`` (None if outside the window)."""
    mask = np.abs(axis - ppm) <= tol
    if not mask.any():
        return None
    return float(np.max(values[mask]))


def _sideband_partner(data: np.ndarray, spectrum: Spectrum2D, diag_ppm: np.ndarray,
                      diag: np.ndarray, ppm: float, height: float, rate_ppm: float,
                      tol: float) -> int | None:
    """Order (1 or 2) of a stronger partner at +-order MAS rates, else None."""
    row = data[_index(ppm, spectrum.ppm_f1), :]
    column = data[:, _index(ppm, spectrum.ppm_f2)]
    for order in (1, 2):
        for sign in (1.0, -1.0):
            partner = ppm + sign * order * rate_ppm
            for values, axis in ((diag, diag_ppm), (row, spectrum.ppm_f2),
                                 (column, spectrum.ppm_f1)):
                found = _max_near(values, axis, partner, tol)
                if found is not None and found > height:
                    return order
    return None


def _f2_sideband_ratio(data: np.ndarray, spectrum: Spectrum2D, site: _Peak, rate_ppm: float,
                       tol: float, threshold: float) -> tuple[float | None, bool]:
    """(largest +-1 MAS sideband in the site's row / height, whether one is a real peak)."""
    row = data[site.i, :]
    best: float | None = None
    seen = False
    peaks, _ = find_peaks(row, prominence=threshold)
    for sign in (1.0, -1.0):
        target = site.ppm_f2 + sign * rate_ppm
        value = _max_near(row, spectrum.ppm_f2, target, tol)
        if value is None:
            continue
        best = value if best is None else max(best, value)
        mask = np.abs(spectrum.ppm_f2 - target) <= tol
        if np.any(mask[peaks]) and value > threshold:
            seen = True
    return (None if best is None else best / site.height), seen


def _site_name(n: int) -> str:
    letters = string.ascii_uppercase
    return letters[n] if n < len(letters) else f"S{n + 1}"


def pick_diagonal_peaks(
    spectrum: Spectrum2D,
    *,
    max_sites: int = 6,
    min_snr: float = 8.0,
    min_relative: float = 0.02,
    mas_rate_hz: float | None = None,
    aq1_s: float | None = None,
) -> DiagonalPeaks:
    """Propose sites from the diagonal peaks of one 2D exchange spectrum.

    Parameters
    ----------
    spectrum : Spectrum2D
        Preferably the shortest mixing time (least exchange).
    max_sites : int
        Keep at most this many genuine peaks (the strongest), >= 2.
    min_snr : float
        A site must stand out of its surroundings on the diagonal (prominence) and above zero
        (its 2D maximum) by this many noise standard deviations.
    min_relative : float
        ... and stand out on the diagonal by this fraction of the strongest diagonal point.
    mas_rate_hz : float, optional
        MAS rate, Hz, for the sideband test; ``None`` or 0: no sideband test (a static or
        solution experiment).
    aq1_s : float, optional
        t1 acquisition time, s, to name F1 truncation wiggles.

    Returns
    -------
    DiagonalPeaks
        Sites named ``A``, ``B``, ... by decreasing height, and the rejected candidates.

    Raises
    ------
    DataFormatError
        No diagonal (the F1 and F2 windows do not overlap).
    ValueError
        ``max_sites`` below 2.
    """
    if max_sites < 2:
        raise ValueError(f"max_sites = {max_sites}: expected at least 2")
    data = np.asarray(spectrum.data, dtype=float)
    noise = spectrum_noise(data)
    diag_ppm, diag = diagonal_profile(spectrum)
    threshold = max(min_snr * noise, min_relative * float(np.max(diag)))
    found, _ = find_peaks(diag, prominence=threshold)
    sf = spectrum.sf_mhz
    rate_ppm = (mas_rate_hz / sf if (mas_rate_hz and sf and math.isfinite(sf) and sf > 0)
                else None)
    tol = 1.5 * max(spectrum.ppm_step_f1, spectrum.ppm_step_f2)
    # strongest candidates first: an artefact is always weaker than its parent
    cands = sorted(((float(diag_ppm[k]), _peak_at(data, spectrum, *_climb(
        data, _index(float(diag_ppm[k]), spectrum.ppm_f1),
        _index(float(diag_ppm[k]), spectrum.ppm_f2)))) for k in found),
        key=lambda c: -c[1].height)
    genuine: list[_Peak] = []
    rejected: list[Rejected] = []
    seen_points: set[tuple[int, int]] = set()
    for ppm, peak in cands:
        if (peak.i, peak.j) in seen_points:
            continue  # the same 2D maximum reached from another diagonal candidate
        seen_points.add((peak.i, peak.j))
        why = _classify(peak, ppm, genuine, spectrum, data, diag_ppm, diag, noise, min_snr,
                        rate_ppm, tol, aq1_s)
        if why is not None:
            rejected.append(why)
        else:
            genuine.append(peak)
    kept, weaker = genuine[:max_sites], genuine[max_sites:]
    w1, w2 = spectrum.ppm_step_f1 ** -2, spectrum.ppm_step_f2 ** -2
    top = kept[0].height if kept else 1.0
    sites = []
    seen_any = False
    for n, p in enumerate(kept):
        ratio, seen = (None, False)
        if rate_ppm:
            ratio, seen = _f2_sideband_ratio(data, spectrum, p, rate_ppm, tol, min_snr * noise)
        seen_any = seen_any or seen
        sites.append(ProposedSite(
            name=_site_name(n), ppm=float((w1 * p.ppm_f1 + w2 * p.ppm_f2) / (w1 + w2)),
            ppm_f1=p.ppm_f1, ppm_f2=p.ppm_f2, height=p.height, relative_height=p.height / top,
            snr=p.height / noise, fwhm_f1=p.fwhm_f1, fwhm_f2=p.fwhm_f2,
            f2_sideband_ratio=ratio, f2_sidebands_seen=seen))
    return DiagonalPeaks(
        sites=tuple(sites), rejected=tuple(sorted(rejected, key=lambda r: -r.ppm)),
        weaker_ppm=tuple(float((w1 * g.ppm_f1 + w2 * g.ppm_f2) / (w1 + w2)) for g in weaker),
        noise=noise, threshold=threshold, min_snr=min_snr, mas_rate_ppm=rate_ppm,
        aq1_s=aq1_s, f2_sidebands_seen=seen_any)


def _classify(peak: _Peak, ppm: float, genuine: list[_Peak], spectrum: Spectrum2D,
              data: np.ndarray, diag_ppm: np.ndarray, diag: np.ndarray, noise: float,
              min_snr: float, rate_ppm: float | None, tol: float,
              aq1_s: float | None) -> Rejected | None:
    """None for a genuine site, else the reason it is not one."""
    cand = (_index(ppm, spectrum.ppm_f1), _index(ppm, spectrum.ppm_f2))
    for n, g in enumerate(genuine):
        why = _artefact_of(cand, ppm, g, f"the peak at {0.5 * (g.ppm_f1 + g.ppm_f2):.2f} ppm "
                           f"(site {_site_name(n)})", spectrum, data, noise, aq1_s)
        if why is not None:
            return why
    h1 = _half_width(peak.fwhm_f1, spectrum.ppm_step_f1)
    h2 = _half_width(peak.fwhm_f2, spectrum.ppm_step_f2)
    if abs(peak.ppm_f1 - peak.ppm_f2) > max(h1, h2):
        return Rejected(ppm, "off-diagonal", (
            f"its 2D maximum lies off the diagonal (F1 {peak.ppm_f1:.2f}, F2 {peak.ppm_f2:.2f} "
            "ppm): a cross peak or a ridge"))
    if peak.height < min_snr * noise:
        return Rejected(ppm, "weak", f"S/N {peak.height / noise:.1f} below {min_snr:g}")
    if rate_ppm:
        order = _sideband_partner(data, spectrum, diag_ppm, diag, ppm, peak.height, rate_ppm,
                                  tol)
        if order is not None:
            return Rejected(ppm, "sideband", (
                f"spinning sideband: a stronger peak lies {order} MAS rate(s) "
                f"({order * rate_ppm:.2f} ppm) away"))
    return None
