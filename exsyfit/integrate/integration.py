"""Peak volumes with uncertainties from a series of 2D exchange spectra.

For N sites every spectrum holds N^2 peaks: the peak (F1 = site j, F2 = site i) is the
magnetisation that started on j and was detected on i (``from_site = j``, ``to_site = i``; see
:mod:`exsyfit.kinetics.exchange`).  Volumes are integrals over ppm in both dimensions, intensity x
ppm^2.

Methods
-------
``box`` / ``ellipse``
    Sum of the points inside a rectangle / ellipse around each peak, times the area of one point
    ``|dppm_f1 * dppm_f2|``, minus a local baseline (a plane fitted to, or the mean of, a frame
    of signal-free points around the region).  Half widths default to ``half_width_fwhm`` times
    the fitted FWHM of the site in that dimension, clipped so neighbouring regions do not
    overlap.  Truncated tails are not added back: a box holds a fixed fraction of a peak, the
    same in every spectrum of a series that shares linewidths.
``lineshape``
    Every peak is a product of unit-area pseudo-Voigt lines (``exsyfit.processing.lineshapes``);
    the F1
    shape of peak (j -> i) is site j's F1 line, the F2 shape is site i's F2 line.  Positions,
    widths and Lorentzian fractions are fitted once per temperature on a handful of spectra of
    the series (variable projection: nonlinear least squares on the shapes, linear on the
    amplitudes); the amplitudes of every spectrum, which *are* the volumes, then follow from one
    linear least-squares solve with all spectra as right-hand sides, together with a constant or
    plane baseline.  This is the method for overlapping peaks.  For spectra processed from
    raw data by exsyfit the lines are the exact processed transforms of pseudo-Voigt decays
    (``processed_lineshape``); for TopSpin's 2rr only with ``processed_lineshape = "procs"``.
``auto``
    The shapes are always fitted (they give the linewidths and positions).  From the fitted
    shapes and volumes, the signal that each box region would pick up from the *other* peaks
    (tails leaking into the region or into its baseline frame) is predicted: if it exceeds
    ``auto_bias_sigma`` noise standard deviations anywhere in the series, ``lineshape`` is used
    for the whole series, otherwise ``box``.  The reason is recorded in
    :attr:`IntegrationResult.choices`.

Uncertainties
-------------
Each volume is a linear function of the data, ``V = sum(w * data)`` with a weight map ``w``.  Its
variance is measured by applying the same map to signal-free rows of the same F2 columns
(:mod:`exsyfit.processing.noise`), which includes correlated noise (apodisation, zero filling) and
t1-noise
streaks.  For lineshape fits this is the covariance of the linear amplitudes under the noise the
spectrum really has.  Shape (position/width) uncertainty and lineshape-model error are not
included; a misfit warning is raised when the residual in the fit window exceeds the noise.
"""

from __future__ import annotations

import difflib
import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, fields
from typing import Any

import numpy as np
import pandas as pd
from scipy.optimize import least_squares
from scipy.stats import norm

from exsyfit.errors import ConfigError, DataFormatError, SeriesError
from exsyfit.io.spectrum import Spectrum2D
from exsyfit.processing.lineshapes import ProcessedLineProfile, pseudo_voigt
from exsyfit.processing.noise import NoiseEstimate, empty_region_covariance

__all__ = [
    "IntegrationOptions",
    "IntegrationResult",
    "GroupIntegration",
    "SiteShape",
    "Region",
    "integrate_series",
    "TABLE_COLUMNS",
]

TABLE_COLUMNS = (
    "experiment", "temperature_K", "mixing_time_s", "from_site", "to_site", "volume", "sigma",
)
_METHODS = ("auto", "box", "ellipse", "lineshape")
_BASELINES = ("plane", "surroundings", "none")


# --------------------------------------------------------------------------------------------
# Options
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class IntegrationOptions:
    """Settings of the integration stage (the ``[integration]`` table of the config).

    Parameters
    ----------
    method : {"auto", "box", "ellipse", "lineshape"}
        Volume estimator; see the module docstring.
    half_width_ppm : float, mapping or None
        Half width (ppm) of box/ellipse regions.  A number applies to every site and both
        dimensions; a mapping ``{site: w}`` or ``{site: [w_f1, w_f2]}`` sets it per site (the
        region of peak j -> i uses site j's F1 and site i's F2 half width).  ``None``: from the
        fitted linewidths, ``half_width_fwhm`` x FWHM.
    half_width_fwhm : float
        Default half width in units of the fitted FWHM (1.5 holds 99.9 % of a Gaussian line).
    baseline : {"plane", "surroundings", "none"}
        Local baseline: a plane fitted to the frame of points around each region (in lineshape
        mode: a plane over the fit window), the mean of that frame (a constant), or none.
    baseline_margin : float
        Width of the baseline frame, as a fraction of the region half width.
    sidebands : bool
        Add the volumes of spinning sidebands at multiples of the MAS rate: in F2, and in F1
        too unless ``f1_rotor_synchronised``.
    mas_rate_hz : float or None
        MAS rate, Hz; ``None`` takes it from the spectra.
    n_sidebands : int
        Sideband orders on each side of the centreband that are added.
    f1_rotor_synchronised : bool
        t1 increments were rotor-synchronised, so F1 sidebands are folded onto the centreband.
    noise_regions : float
        Minimum effective number of independent empty regions along F1 in the peak's own columns;
        below it regions shifted along F2 are added (and a warning is given).
    noise_pooling : bool
        Measure the noise level per spectrum and column but average the correlation factor over
        the spectra of a temperature (see :func:`exsyfit.processing.noise.empty_region_covariance`).
    eta : "fit" or float
        Lorentzian fraction of the pseudo-Voigt lines: fitted per site and dimension, or fixed.
    window_fwhm : float
        The lineshape fit window reaches this many FWHM beyond the outermost sites.
    position_tolerance_ppm : float or None
        How far fitted peak positions may move from the given site shifts; ``None``: 0.4 x the
        smallest separation between sites.
    max_shape_spectra : int
        Number of spectra (spread over the mixing times) the shapes are fitted on.
    auto_bias_sigma : float
        ``auto`` keeps box integration only if its predicted overlap bias stays below this many
        standard deviations for every peak.
    warning_sigma : float
        Minimum significance, in standard deviations, of the asymmetry / zero-intercept /
        negative-volume checks (raised for many tests to keep false alarms near 1 %).
    processed_lineshape : bool or "procs"
        ``True``: for spectra that exsyfit processed from raw data (their metadata describe
        the processing of each dimension), model lines as the exact processed transform of a
        pseudo-Voigt decay (:class:`exsyfit.processing.lineshapes.ProcessedLineProfile`: truncation,
        window, first point, zero filling) instead of an analytic pseudo-Voigt.
        ``"procs"``: the same, and also for TopSpin-processed 2rr spectra, from the
        parameters TopSpin stored (acqu2s/proc2s TD, FnMODE, SW_h, WDW, LB, GB, SSB, TDeff,
        FCOR; F2 from acqus/procs unless digitally filtered); see
        :func:`exsyfit.io.bruker.topspin_processing`.  Opt-in because TopSpin's
        first-point and TDeff handling has not been verified on real EXSY data.
        ``False``: pseudo-Voigt lines everywhere.
    """

    method: str = "auto"
    half_width_ppm: Any = None
    half_width_fwhm: float = 1.5
    baseline: str = "plane"
    baseline_margin: float = 0.5
    sidebands: bool = False
    mas_rate_hz: float | None = None
    n_sidebands: int = 1
    f1_rotor_synchronised: bool = True
    noise_regions: float = 8.0
    noise_pooling: bool = True
    eta: Any = "fit"
    window_fwhm: float = 3.0
    position_tolerance_ppm: float | None = None
    max_shape_spectra: int = 4
    auto_bias_sigma: float = 0.5
    warning_sigma: float = 3.5
    processed_lineshape: bool | str = True

    @classmethod
    def from_dict(cls, d: Mapping[str, Any], where: str = "[integration]") -> IntegrationOptions:
        """Build options from a config table, reporting every problem in one ConfigError.

        Parameters
        ----------
        d : mapping
            Key/value pairs (e.g. the parsed ``[integration]`` TOML table).
        where : str
            Path of the table in the config, used in messages.

        Raises
        ------
        ConfigError
            Unknown keys (with the nearest valid key suggested) or invalid values.
        """
        if not isinstance(d, Mapping):
            raise ConfigError(f"{where}: expected a table of settings, found {type(d).__name__}")
        valid = [f.name for f in fields(cls)]
        problems: list[str] = []
        kwargs: dict[str, Any] = {}
        for key, value in d.items():
            if key not in valid:
                near = difflib.get_close_matches(str(key), valid, n=1)
                hint = f"; did you mean '{near[0]}'?" if near else ""
                problems.append(
                    f"{where}.{key}: unknown key{hint} (valid keys: {', '.join(valid)})"
                )
                continue
            try:
                kwargs[key] = _CHECKS[key](value)
            except (TypeError, ValueError) as exc:
                problems.append(f"{where}.{key}: {exc}, found {value!r}")
        if problems:
            raise ConfigError("invalid integration settings:\n  " + "\n  ".join(problems))
        return cls(**kwargs)


def _choice(options: Sequence[str]) -> Callable[[Any], str]:
    def check(v: Any) -> str:
        if not isinstance(v, str) or v.lower() not in options:
            raise ValueError(f"expected one of {', '.join(repr(o) for o in options)}")
        return v.lower()
    return check


def _positive(kind: type = float, allow_none: bool = False, zero: bool = False) -> Callable:
    def check(v: Any) -> Any:
        if v is None and allow_none:
            return None
        if isinstance(v, bool) or not isinstance(v, (int, float)) or not math.isfinite(v):
            raise ValueError(f"expected a {'non-negative' if zero else 'positive'} number")
        if kind is int and int(v) != v:
            raise ValueError("expected a whole number")
        if v < 0 or (v == 0 and not zero):
            raise ValueError(f"expected a {'non-negative' if zero else 'positive'} number")
        return kind(v)
    return check


def _boolean(v: Any) -> bool:
    if not isinstance(v, bool):
        raise ValueError("expected true or false")
    return v


def _processed_lineshape(v: Any) -> bool | str:
    if isinstance(v, bool):
        return v
    if isinstance(v, str) and v.strip().lower() == "procs":
        return "procs"
    raise ValueError('expected true, false or "procs"')


def _eta(v: Any) -> Any:
    if isinstance(v, str) and v.lower() == "fit":
        return "fit"
    if isinstance(v, bool) or not isinstance(v, (int, float)) or not 0.0 <= v <= 1.0:
        raise ValueError("expected \"fit\" or a Lorentzian fraction between 0 and 1")
    return float(v)


def _half_width(v: Any) -> Any:
    if v is None:
        return None
    if isinstance(v, Mapping):
        out = {}
        for site, w in v.items():
            pair = list(w) if isinstance(w, (list, tuple)) else [w, w]
            if len(pair) != 2 or any(
                isinstance(x, bool) or not isinstance(x, (int, float)) or not x > 0 for x in pair
            ):
                raise ValueError(
                    f"site '{site}': expected a positive number or [f1, f2] pair of positive ppm"
                )
            out[str(site)] = (float(pair[0]), float(pair[1]))
        return out
    return _positive()(v)


_CHECKS: dict[str, Callable[[Any], Any]] = {
    "method": _choice(_METHODS),
    "half_width_ppm": _half_width,
    "half_width_fwhm": _positive(),
    "baseline": _choice(_BASELINES),
    "baseline_margin": _positive(),
    "sidebands": _boolean,
    "mas_rate_hz": _positive(allow_none=True),
    "n_sidebands": _positive(int),
    "f1_rotor_synchronised": _boolean,
    "noise_regions": _positive(),
    "noise_pooling": _boolean,
    "eta": _eta,
    "window_fwhm": _positive(),
    "position_tolerance_ppm": _positive(allow_none=True),
    "max_shape_spectra": _positive(int),
    "auto_bias_sigma": _positive(),
    "warning_sigma": _positive(),
    "processed_lineshape": _processed_lineshape,
}


# --------------------------------------------------------------------------------------------
# Result containers
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class SiteShape:
    """Fitted line of one site at one temperature (ppm)."""

    name: str
    ppm_f1: float
    ppm_f2: float
    fwhm_f1: float
    fwhm_f2: float
    eta_f1: float
    eta_f2: float


@dataclass(frozen=True)
class Region:
    """One box/ellipse region (a centreband or one sideband of a peak), ppm."""

    from_site: str
    to_site: str
    order_f1: int
    order_f2: int
    center_f1: float
    center_f2: float
    half_width_f1: float
    half_width_f2: float
    kind: str
    frame_margin: float


@dataclass
class GroupIntegration:
    """Everything computed for the spectra of one temperature (one set of regions/shapes).

    Attributes
    ----------
    indices : tuple of int
        Positions of these spectra in the input list, in the order of the arrays below.
    volumes, cov : numpy.ndarray
        Volumes (n, n_peaks) and their covariance (n, n_peaks, n_peaks); peak index
        ``p = j * n_sites + i`` for from-site j and to-site i.
    amplitudes : numpy.ndarray
        Fitted lineshape volumes per peak and sideband order, (n, n_peaks, n_orders); in box
        mode these come from the shape fit and serve the QC figure and the auto decision.
    baseline_coef : numpy.ndarray
        Baseline coefficients of the lineshape fit per cluster window, (n, n_clusters, n_terms).
    windows : list
        ``(order_f1, order_f2, f1_lo, f1_hi, f2_lo, f2_hi)`` ppm of each fitted cluster window.
    shape_cov : numpy.ndarray or None
        Part of ``cov`` due to the noise in the fitted shapes (lineshape mode), (n, p, p).
    """

    temperature_K: float | None
    indices: tuple[int, ...]
    sites: tuple[str, ...]
    method: str
    shapes: tuple[SiteShape, ...]
    regions: tuple[Region, ...]
    orders: tuple[tuple[int, int], ...]
    sideband_ppm: float
    volumes: np.ndarray
    cov: np.ndarray
    amplitudes: np.ndarray
    baseline_coef: np.ndarray
    windows: list
    baseline: str
    noise: NoiseEstimate
    misfit_ratio: float
    decision: str
    half_widths: dict = field(default_factory=dict)
    experiments: tuple[str, ...] = ()
    shape_cov: np.ndarray | None = None
    profiles: tuple = (None, None)

    @property
    def peaks(self) -> list[tuple[str, str]]:
        """(from_site, to_site) of each peak index."""
        return [(j, i) for j in self.sites for i in self.sites]

    def model_spectrum(
        self, k: int, ppm_f1: np.ndarray, ppm_f2: np.ndarray, *, include_baseline: bool = True
    ) -> np.ndarray:
        """Fitted lineshape model of the k-th spectrum of this group on the given axes.

        Parameters
        ----------
        k : int
            Position within :attr:`indices`.
        ppm_f1, ppm_f2 : numpy.ndarray
            Axes, ppm.
        include_baseline : bool
            Add the fitted baseline inside the fit windows.

        Returns
        -------
        numpy.ndarray
            Model intensities, shape (len(ppm_f1), len(ppm_f2)).
        """
        g, h = _order_lines(self.shapes, ppm_f1, ppm_f2, self.orders, self.sideband_ppm,
                            self.profiles)
        n = len(self.sites)
        amp = self.amplitudes[k].reshape(n, n, len(self.orders))  # [j, i, o]
        out = np.einsum("rjo,jio,cio->rc", g, amp, h, optimize=True)
        if include_baseline and self.baseline != "none":
            for c, win in enumerate(self.windows):
                rm, cm, t1, t2 = _window_terms(win, ppm_f1, ppm_f2)
                terms = [np.ones((rm.sum(), cm.sum()))]
                if self.baseline == "plane":
                    terms += [np.broadcast_to(t1[:, None], terms[0].shape),
                              np.broadcast_to(t2[None, :], terms[0].shape)]
                block = sum(b * t for b, t in zip(self.baseline_coef[k, c], terms, strict=False))
                out[np.ix_(rm, cm)] += block
        return out


@dataclass
class IntegrationResult:
    """Volumes table, warnings and everything needed to check the integration.

    Attributes
    ----------
    table : pandas.DataFrame
        One row per peak per spectrum; columns :data:`TABLE_COLUMNS` then ``method``,
        ``half_width_f1_ppm``, ``half_width_f2_ppm``, ``baseline``, ``center_f1_ppm``,
        ``center_f2_ppm``, ``fwhm_f1_ppm``, ``fwhm_f2_ppm``, ``n_sideband_regions``,
        ``noise_regions``, ``noise_direction``.
    warnings : list of str
        Human-readable findings (asymmetric cross peaks, non-zero intercepts, negative volumes,
        lineshape misfit, noise regions too small, clipped regions).
    method : str
        Method used (``box``, ``ellipse`` or ``lineshape``; ``auto`` is resolved).
    groups : list of GroupIntegration
        Per-temperature regions, shapes, volumes, covariances and models.
    choices : dict
        How ``auto`` decided, and the predicted box bias (in sigma) for each group.
    """

    table: pd.DataFrame
    warnings: list[str]
    method: str
    groups: list[GroupIntegration]
    choices: dict

    def group_of(self, index: int) -> tuple[GroupIntegration, int]:
        """The group holding input spectrum ``index`` and its position within the group."""
        for g in self.groups:
            if index in g.indices:
                return g, g.indices.index(index)
        raise KeyError(index)


# --------------------------------------------------------------------------------------------
# Line shapes and fit windows
# --------------------------------------------------------------------------------------------


def _lines(ppm: np.ndarray, pos: np.ndarray, fwhm: np.ndarray, eta: np.ndarray,
           profile: ProcessedLineProfile | None = None) -> np.ndarray:
    """Unit-area lines, shape (len(ppm), n_sites): processed profile if known, else pseudo-Voigt."""
    if profile is not None:
        return profile.lines(ppm, pos, fwhm, eta)
    return pseudo_voigt(np.asarray(ppm, float)[:, None], pos, fwhm, eta)


def _order_lines(shapes, ppm_f1, ppm_f2, orders, sb, profiles=(None, None)):
    """F1 lines g[r, j, o] and F2 lines h[c, i, o] of every site and sideband order."""
    p1 = np.array([s.ppm_f1 for s in shapes])
    p2 = np.array([s.ppm_f2 for s in shapes])
    w1 = np.array([s.fwhm_f1 for s in shapes])
    w2 = np.array([s.fwhm_f2 for s in shapes])
    e1 = np.array([s.eta_f1 for s in shapes])
    e2 = np.array([s.eta_f2 for s in shapes])
    g = np.stack([_lines(ppm_f1, p1 + m * sb, w1, e1, profiles[0]) for m, _ in orders], axis=2)
    h = np.stack([_lines(ppm_f2, p2 + n * sb, w2, e2, profiles[1]) for _, n in orders], axis=2)
    return g, h


def _window_terms(win, ppm_f1, ppm_f2):
    """Row/column masks of a window and its centred, scaled plane coordinates."""
    _, _, a1, b1, a2, b2 = win
    rm = (ppm_f1 >= a1) & (ppm_f1 <= b1)
    cm = (ppm_f2 >= a2) & (ppm_f2 <= b2)
    t1 = (ppm_f1[rm] - 0.5 * (a1 + b1)) / max(0.5 * (b1 - a1), 1e-12)
    t2 = (ppm_f2[cm] - 0.5 * (a2 + b2)) / max(0.5 * (b2 - a2), 1e-12)
    return rm, cm, t1, t2


def _centre_window(shapes, wf):
    lo1 = min(s.ppm_f1 - wf * s.fwhm_f1 for s in shapes)
    hi1 = max(s.ppm_f1 + wf * s.fwhm_f1 for s in shapes)
    lo2 = min(s.ppm_f2 - wf * s.fwhm_f2 for s in shapes)
    hi2 = max(s.ppm_f2 + wf * s.fwhm_f2 for s in shapes)
    return lo1, hi1, lo2, hi2


def _baseline_columns(baseline: str, t1: np.ndarray, t2: np.ndarray) -> list[np.ndarray]:
    """Baseline basis over a rectangular window, flattened row-major."""
    if baseline == "none":
        return []
    cols = [np.ones(t1.size * t2.size)]
    if baseline == "plane":
        cols.append(np.repeat(t1, t2.size))
        cols.append(np.tile(t2, t1.size))
    return cols


# --------------------------------------------------------------------------------------------
# Shape fit (nonlinear, once per temperature)
# --------------------------------------------------------------------------------------------


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


def _initial_shapes(data, ppm_f1, ppm_f2, names, pos, tol, eta0):
    """Positions from the local maximum near each site, widths from half-height crossings."""
    found = []
    pos = np.asarray(pos, dtype=float)
    for k, (name, p, t) in enumerate(zip(names, pos, tol, strict=True)):
        others = np.delete(pos, k)

        def own(axis: np.ndarray, p: float = p, others: np.ndarray = others) -> np.ndarray:
            """Points closer to this site's shift than to any other site's."""
            if others.size == 0:
                return np.ones(axis.size, dtype=bool)
            return np.abs(axis - p) < np.min(np.abs(axis[:, None] - others[None, :]), axis=1)

        rsel = np.flatnonzero((np.abs(ppm_f1 - p) <= t) & own(ppm_f1))
        csel = np.flatnonzero((np.abs(ppm_f2 - p) <= t) & own(ppm_f2))
        if rsel.size == 0:
            rsel = np.array([np.argmin(np.abs(ppm_f1 - p))])
        if csel.size == 0:
            csel = np.array([np.argmin(np.abs(ppm_f2 - p))])
        sub = data[np.ix_(rsel, csel)]
        a, b = np.unravel_index(np.argmax(sub), sub.shape)
        r0, c0 = rsel[a], csel[b]
        w2 = _half_height_fwhm(data[r0, :], c0, ppm_f2)
        w1 = _half_height_fwhm(data[:, c0], r0, ppm_f1)
        found.append((name, ppm_f1[r0], ppm_f2[c0], w1, w2))
    known1 = [f[3] for f in found if f[3]]
    known2 = [f[4] for f in found if f[4]]
    d1 = float(np.median(known1)) if known1 else 10 * abs(ppm_f1[1] - ppm_f1[0])
    d2 = float(np.median(known2)) if known2 else 10 * abs(ppm_f2[1] - ppm_f2[0])
    return [
        SiteShape(n, float(q1), float(q2), float(w1 or d1), float(w2 or d2), eta0, eta0)
        for n, q1, q2, w1, w2 in found
    ]


def _fit_shapes(stack, ppm_f1, ppm_f2, init, nominal, tol, opts, profiles=(None, None)):
    """Variable-projection fit of positions, widths (and eta) shared by a few spectra.

    Returns the fitted shapes, a message ("" when the fit converged) and the linearisation
    used to propagate the noise into the shape parameters (None when the fit failed).
    """
    n = len(init)
    fit_eta = opts.eta == "fit"
    step1 = abs(ppm_f1[1] - ppm_f1[0])
    step2 = abs(ppm_f2[1] - ppm_f2[0])
    lo1, hi1, lo2, hi2 = _centre_window(init, opts.window_fwhm)
    rm = (ppm_f1 >= lo1) & (ppm_f1 <= hi1)
    cm = (ppm_f2 >= lo2) & (ppm_f2 <= hi2)
    f1, f2 = ppm_f1[rm], ppm_f2[cm]
    y = stack[:, rm][:, :, cm].reshape(stack.shape[0], -1).T
    scale = float(np.max(np.abs(y))) or 1.0
    y = y / scale
    t1 = (f1 - f1.mean()) / max(np.ptp(f1) / 2, 1e-12)
    t2 = (f2 - f2.mean()) / max(np.ptp(f2) / 2, 1e-12)
    base = _baseline_columns(opts.baseline, t1, t2)

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

    def unpack(x):
        x = x.reshape(n, per)
        e1 = x[:, 4] if fit_eta else np.full(n, opts.eta)
        e2 = x[:, 5] if fit_eta else np.full(n, opts.eta)
        return x[:, 0], x[:, 1], x[:, 2], x[:, 3], e1, e2

    def design(x):
        p1, p2, w1, w2, e1, e2 = unpack(x)
        g = _lines(f1, p1, w1, e1, profiles[0])
        h = _lines(f2, p2, w2, e2, profiles[1])
        peaks = np.einsum("rj,ci->rcji", g, h).reshape(f1.size * f2.size, n * n)
        return np.column_stack([peaks, *base]) if base else peaks

    def resid(x):
        xd = design(x)
        return (y - xd @ _solve(xd, y)).ravel()

    message = ""
    try:
        sol = least_squares(resid, x0, bounds=(lo, hi), x_scale="jac", tr_solver="lsmr",
                            max_nfev=200 * per * n)
        x = sol.x
        if sol.status <= 0:
            message = f"shape fit did not converge ({sol.message})"
    except (ValueError, np.linalg.LinAlgError) as exc:  # pragma: no cover - defensive
        x, message = x0, f"shape fit failed ({exc}); initial estimates used"
    def to_shapes(x):
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
        info = _ShapeFit(x, free, gmap, rm, cm, to_shapes)
    return to_shapes(x), message, info


@dataclass
class _ShapeFit:
    """Linearisation of the shape fit: how the free shape parameters respond to the data."""

    x: np.ndarray
    free: np.ndarray
    gmap: np.ndarray  # (n_free, n_fitted_spectra, n_rows_window, n_cols_window)
    rows: np.ndarray
    cols: np.ndarray
    to_shapes: Callable[[np.ndarray], tuple]


# --------------------------------------------------------------------------------------------
# Weight maps: lineshape (linear part) and box/ellipse regions
# --------------------------------------------------------------------------------------------


def _cluster_windows(shapes, ppm_f1, ppm_f2, orders, sb, wf):
    lo1, hi1, lo2, hi2 = _centre_window(shapes, wf)
    out = []
    for m, n in orders:
        win = (m, n, lo1 + m * sb, hi1 + m * sb, lo2 + n * sb, hi2 + n * sb)
        rm, cm, _, _ = _window_terms(win, ppm_f1, ppm_f2)
        if rm.any() and cm.any():
            out.append(win)
    return out


def _design_points(shapes, ppm_f1, ppm_f2, orders, sb, windows, baseline, profiles=(None, None)):
    """Design matrix of the linear lineshape model over the union of the cluster windows.

    Returns ``(pr, pc, x, n_base)``: row/column indices of the fitted points, the design
    (n_points, n_coef) with the peak amplitudes first (peak-major, order-minor) and then
    ``n_base`` baseline terms per window.
    """
    n1, n2 = ppm_f1.size, ppm_f2.size
    union = np.zeros((n1, n2), bool)
    parts = []
    for win in windows:
        rm, cm, t1, t2 = _window_terms(win, ppm_f1, ppm_f2)
        union |= np.outer(rm, cm)
        parts.append((rm, cm, t1, t2))
    pr, pc = np.nonzero(union)
    ur, uc = np.flatnonzero(union.any(axis=1)), np.flatnonzero(union.any(axis=0))
    g = np.zeros((n1, len(shapes), len(orders)))
    h = np.zeros((n2, len(shapes), len(orders)))
    g[ur], h[uc] = _order_lines(shapes, ppm_f1[ur], ppm_f2[uc], orders, sb, profiles)
    n = len(shapes)
    cols = [g[pr, j, o] * h[pc, i, o]
            for j in range(n) for i in range(n) for o in range(len(orders))]
    n_base = {"none": 0, "surroundings": 1, "plane": 3}[baseline]
    for rm, cm, t1, t2 in parts:
        inside = rm[pr] & cm[pc]
        r1 = np.zeros(n1)
        r1[rm] = t1
        c2 = np.zeros(n2)
        c2[cm] = t2
        terms = [np.ones(pr.size), r1[pr], c2[pc]][:n_base]
        cols += [t * inside for t in terms]
    return pr, pc, np.column_stack(cols), n_base


def _solve(x: np.ndarray, y: np.ndarray) -> np.ndarray:
    """Linear least squares via the (small) normal equations; SVD fallback if ill-conditioned."""
    gram = x.T @ x
    d = np.sqrt(np.diag(gram))
    d[d == 0] = 1.0
    scaled = gram / np.outer(d, d)
    if np.linalg.cond(scaled) < 1e10:
        return np.linalg.solve(scaled, (x.T @ y) / d[:, None]) / d[:, None]
    return np.linalg.lstsq(x, y, rcond=None)[0]


def _lineshape_weights(shapes, ppm_f1, ppm_f2, orders, sb, windows, baseline,
                       profiles=(None, None)):
    """Least-squares weight maps of every coefficient, shape (n_coef, n1, n2), and n_base."""
    pr, pc, x, n_base = _design_points(shapes, ppm_f1, ppm_f2, orders, sb, windows, baseline,
                                       profiles)
    maps = np.zeros((x.shape[1], ppm_f1.size, ppm_f2.size))
    maps[:, pr, pc] = np.linalg.pinv(x)
    return maps, n_base


def _ls_volumes(shapes, prep, orders, windows, baseline):
    """Lineshape volumes (n_spectra, n_peaks) of every spectrum for given shapes."""
    pr, pc, x, _ = _design_points(shapes, prep.ppm_f1, prep.ppm_f2, orders, prep.sb, windows,
                                  baseline, prep.profiles)
    coef = _solve(x, prep.stack[:, pr, pc].T)
    n = len(shapes)
    return coef[: n * n * len(orders)].T.reshape(-1, n * n, len(orders)).sum(axis=2)


def _resolve_half_widths(shapes, opts, warnings, label):
    """Half widths per site and dimension (ppm), clipped so neighbouring regions do not overlap."""
    hw = {}
    for s in shapes:
        given = opts.half_width_ppm
        if given is None:
            hw[s.name] = [opts.half_width_fwhm * s.fwhm_f1, opts.half_width_fwhm * s.fwhm_f2]
        elif isinstance(given, Mapping):
            if s.name not in given:
                raise ConfigError(
                    f"[integration].half_width_ppm: no entry for site '{s.name}' "
                    f"(entries: {', '.join(given)}); give every site or a single number"
                )
            hw[s.name] = list(given[s.name])
        else:
            hw[s.name] = [float(given), float(given)]
    clipped = []
    for dim, attr in ((0, "ppm_f1"), (1, "ppm_f2")):
        pairs = sorted(
            ((abs(getattr(a, attr) - getattr(b, attr)), a.name, b.name)
             for k, a in enumerate(shapes) for b in shapes[k + 1:]),
        )
        for sep, a, b in pairs:
            tot = hw[a][dim] + hw[b][dim]
            if tot > sep:
                f = sep / tot
                hw[a][dim] *= f
                hw[b][dim] *= f
                clipped.append(f"{a}/{b} in F{dim + 1} ({sep:.3g} ppm apart)")
    if clipped and opts.method in ("box", "ellipse"):
        warnings.append(
            f"{label}: region half widths were reduced so that neighbouring regions do not "
            f"overlap: {'; '.join(clipped)}. Peaks this close overlap; lineshape fitting is "
            "the better choice."
        )
    return hw


def _region_weights(shapes, hw, ppm_f1, ppm_f2, orders, sb, kind, baseline, margin, warnings,
                    label):
    """Box/ellipse weight maps (including baseline) for every peak, summed over orders."""
    n1, n2 = ppm_f1.size, ppm_f2.size
    da = abs(ppm_f1[1] - ppm_f1[0]) * abs(ppm_f2[1] - ppm_f2[0])
    specs = []
    for j in shapes:
        for i in shapes:
            for m, n in orders:
                specs.append(Region(j.name, i.name, m, n, j.ppm_f1 + m * sb, i.ppm_f2 + n * sb,
                                    hw[j.name][0], hw[i.name][1], kind, margin))
    norms = [_region_norm(r, ppm_f1, ppm_f2) for r in specs]
    cores = [nm <= 1.0 for nm in norms]
    any_core = np.logical_or.reduce(cores)
    n_orders = len(orders)
    weights = np.zeros((len(shapes) ** 2, n1, n2))
    kept = []
    for k, (reg, nm, core) in enumerate(zip(specs, norms, cores, strict=True)):
        p = k // n_orders
        if not core.any():
            if (reg.order_f1, reg.order_f2) == (0, 0):
                raise SeriesError(
                    f"{label}: the region of peak {reg.from_site}->{reg.to_site} holds no data "
                    "points; the site shifts or half widths do not fit the spectral window"
                )
            warnings.append(
                f"{label}: sideband ({reg.order_f1}, {reg.order_f2}) of peak "
                f"{reg.from_site}->{reg.to_site} lies outside the spectrum and was not added"
            )
            continue
        w = core.astype(float)
        if baseline != "none":
            w -= _frame_weights(reg, nm, core, any_core, baseline, margin, ppm_f1, ppm_f2)
        weights[p] += da * w
        kept.append(reg)
    return weights, tuple(kept)


def _region_norm(reg: Region, ppm_f1, ppm_f2):
    d1 = (ppm_f1 - reg.center_f1) / reg.half_width_f1
    d2 = (ppm_f2 - reg.center_f2) / reg.half_width_f2
    if reg.kind == "ellipse":
        return np.sqrt(d1[:, None] ** 2 + d2[None, :] ** 2)
    return np.maximum(np.abs(d1)[:, None], np.abs(d2)[None, :])


def _frame_weights(reg, nm, core, any_core, baseline, margin, ppm_f1, ppm_f2):
    """Weights that estimate the baseline under the core from a frame of points around it."""
    m = margin
    for _ in range(5):
        frame = (nm > 1.0) & (nm <= 1.0 + m) & ~any_core
        if frame.sum() >= 12:
            break
        m *= 1.5
    fr, fc = np.nonzero(frame)
    out = np.zeros(core.shape)
    if fr.size < 3:
        return out
    n_core = core.sum()
    if baseline == "surroundings":
        out[fr, fc] = n_core / fr.size
        return out
    cr, cc = np.nonzero(core)
    z = np.column_stack([np.ones(fr.size), ppm_f1[fr] - reg.center_f1, ppm_f2[fc] - reg.center_f2])
    zsum = np.array([n_core, (ppm_f1[cr] - reg.center_f1).sum(),
                     (ppm_f2[cc] - reg.center_f2).sum()])
    out[fr, fc] = zsum @ np.linalg.pinv(z)
    return out


# --------------------------------------------------------------------------------------------
# Series handling
# --------------------------------------------------------------------------------------------


def _check_spectra(spectra: Sequence[Spectrum2D]) -> None:
    if len(spectra) == 0:
        raise SeriesError("no spectra to integrate")
    for k, s in enumerate(spectra):
        name = s.source or f"spectrum {k}"
        data = np.asarray(s.data)
        if data.ndim != 2 or data.shape != (len(s.ppm_f1), len(s.ppm_f2)):
            raise DataFormatError(
                f"{name}: data of shape {data.shape} does not match the ppm axes "
                f"({len(s.ppm_f1)} x {len(s.ppm_f2)} points expected)"
            )
        if min(data.shape) < 8:
            raise DataFormatError(f"{name}: too few points ({data.shape}) for 2D integration")
        if not np.all(np.isfinite(data)):
            raise DataFormatError(f"{name}: data contain NaN or infinite values")


def _group_indices(spectra, temps):
    """Spectra grouped by temperature (0.5 K) and identical axes, in input order."""
    groups: list[list[int]] = []
    keys: list[tuple] = []
    for k, s in enumerate(spectra):
        t = temps[k]
        found = None
        for g, key in enumerate(keys):
            tk, ref = key
            same_t = (t is None and tk is None) or (
                t is not None and tk is not None and abs(t - tk) <= 0.5)
            if same_t and _same_axes(spectra[ref], s):
                found = g
                break
        if found is None:
            keys.append((t, k))
            groups.append([k])
        else:
            groups[found].append(k)
    return groups


def _same_axes(a: Spectrum2D, b: Spectrum2D) -> bool:
    return (a.data.shape == b.data.shape and np.allclose(a.ppm_f1, b.ppm_f1, atol=1e-9)
            and np.allclose(a.ppm_f2, b.ppm_f2, atol=1e-9))


def _site_ppm(sites, overrides, t):
    pos = dict(sites)
    if overrides and t is not None:
        for tk, table in overrides.items():
            if abs(float(tk) - t) <= 0.5:
                unknown = set(table) - set(pos)
                if unknown:
                    raise ConfigError(
                        f"site shifts for {tk} K name unknown sites {sorted(unknown)}; "
                        f"sites are {list(pos)}"
                    )
                pos.update({k: float(v) for k, v in table.items()})
    return pos


def _check_sites(sites) -> list[str]:
    if not isinstance(sites, Mapping) or len(sites) < 2:
        raise ConfigError("sites: at least two sites (name -> ppm) are needed")
    for name, v in sites.items():
        if isinstance(v, bool) or not isinstance(v, (int, float)) or not math.isfinite(v):
            raise ConfigError(f"sites.{name}.ppm: expected a number (ppm), found {v!r}")
    return [str(n) for n in sites]


def _sideband_ppm(spectra, opts, label):
    if not opts.sidebands:
        return 0.0, ((0, 0),)
    rate = opts.mas_rate_hz
    if rate is None:
        rates = {s.mas_rate_hz for s in spectra if s.mas_rate_hz}
        if not rates:
            raise ConfigError(
                "[integration].sidebands = true needs the MAS rate: the spectra do not record it;"
                " set [integration].mas_rate_hz"
            )
        rate = float(np.median(list(rates)))
    sf = spectra[0].sf_mhz
    if not (sf and math.isfinite(sf) and sf > 0):
        raise DataFormatError(
            f"{label}: spectrometer frequency unknown, cannot place sidebands (sf_mhz = {sf})")
    nsb = opts.n_sidebands
    f1_orders = [0] if opts.f1_rotor_synchronised else list(range(-nsb, nsb + 1))
    orders = [(m, n) for m in f1_orders for n in range(-nsb, nsb + 1)]
    orders.sort(key=lambda o: (abs(o[0]) + abs(o[1]), o))
    return rate / sf, tuple(orders)


@dataclass
class _Prep:
    """Intermediate state of one group between the shape fit and the final integration."""

    indices: list[int]
    label: str
    temperature: float | None
    stack: np.ndarray
    ppm_f1: np.ndarray
    ppm_f2: np.ndarray
    shapes: tuple[SiteShape, ...]
    sb: float
    orders: tuple[tuple[int, int], ...]
    shape_fit: Any = None
    shape_subset: Any = None
    box_bias_sigma: float = float("nan")
    profiles: tuple = (None, None)
    spectra_format: str = ""


def _prepare_group(spectra, indices, names, site_pos, temp, opts, warnings):
    label = f"{temp:g} K" if temp is not None else "series"
    ref = spectra[indices[0]]
    ppm_f1, ppm_f2 = np.asarray(ref.ppm_f1, float), np.asarray(ref.ppm_f2, float)
    stack = np.stack([np.asarray(spectra[k].data, float) for k in indices])
    nominal = np.array([site_pos[n] for n in names])
    for n, p in zip(names, nominal, strict=True):
        if not (min(ppm_f1.min(), ppm_f2.min()) < p < max(ppm_f1.max(), ppm_f2.max())):
            raise ConfigError(
                f"sites.{n}.ppm = {p:g} lies outside the spectrum ({label}: F1 "
                f"{ppm_f1.min():.3g}..{ppm_f1.max():.3g} ppm, F2 {ppm_f2.min():.3g}.."
                f"{ppm_f2.max():.3g} ppm)"
            )
    seps = np.abs(nominal[:, None] - nominal[None, :]) + np.diag(np.full(len(names), np.inf))
    steps = max(abs(ppm_f1[1] - ppm_f1[0]), abs(ppm_f2[1] - ppm_f2[0]))
    if opts.position_tolerance_ppm is not None:
        tol = np.full(len(names), opts.position_tolerance_ppm)
    else:
        # at least two points, but never reaching half way to the nearest other site: on a
        # coarse grid (short t1) the search would otherwise find the neighbour's bigger peak
        tol = np.maximum(0.4 * seps.min(axis=1), np.minimum(2 * steps, 0.45 * seps.min(axis=1)))
    order = _by_mixing_time(spectra, indices)
    eta0 = 0.5 if opts.eta == "fit" else float(opts.eta)
    init = _initial_shapes(stack[order[0]], ppm_f1, ppm_f2, names, nominal, tol, eta0)
    sub = order[np.unique(np.linspace(0, len(order) - 1, min(len(order), opts.max_shape_spectra))
                          .round().astype(int))]
    profiles = _group_profiles([spectra[k] for k in indices], opts, warnings, label)
    shapes, msg, info = _fit_shapes(stack[sub], ppm_f1, ppm_f2, init, nominal, tol, opts,
                                    profiles)
    if msg:
        warnings.append(f"{label}: {msg}")
    sb, orders = _sideband_ppm([spectra[k] for k in indices], opts, label)
    return _Prep(list(indices), label, temp, stack, ppm_f1, ppm_f2, shapes, sb, orders,
                 shape_fit=info, shape_subset=sub, profiles=profiles,
                 spectra_format=_common_format([spectra[k] for k in indices]))


def _group_profiles(spectra, opts, warnings=None, label="series"):
    """Processed line profiles (F1, F2) shared by every spectrum of a group, else None.

    A dimension gets a :class:`ProcessedLineProfile` only when every spectrum carries the same
    description of its processing and ``opts.processed_lineshape`` allows it: with ``True``
    the ``metadata["processing_f1"/"processing_f2"]`` written by exsyfit's own processing of
    raw data; with ``"procs"`` also ``metadata["processing_f1_topspin"/"processing_f2_topspin"]``
    that the Bruker reader derives from TopSpin's parameters of a 2rr.  Otherwise the lines
    are pseudo-Voigt; with ``"procs"`` the reason an F1 profile is missing is added to
    ``warnings``.
    """
    if not opts.processed_lineshape:
        return (None, None)
    out = []
    for dim in ("f1", "f2"):
        descs = [_description(s, dim, opts.processed_lineshape == "procs") for s in spectra]
        first = descs[0]
        same = all(d == first for d in descs[1:])
        out.append(ProcessedLineProfile.from_metadata(first) if same else None)
        if warnings is not None and dim == "f1" and out[-1] is None and \
                opts.processed_lineshape == "procs":
            why = ("the spectra were processed differently" if not same else
                   first.get("reason", "no usable processing description")
                   if isinstance(first, Mapping) else "no processing description")
            warnings.append(f"{label}: processed_lineshape = \"procs\" but F1 lines stay "
                            f"pseudo-Voigt: {why}")
    return tuple(out)


def _common_format(spectra) -> str:
    """The ``format`` shared by every spectrum of a group ("" when they differ)."""
    formats = {s.format for s in spectra}
    return formats.pop() if len(formats) == 1 else ""


def _description(spectrum: Spectrum2D, dim: str, topspin: bool) -> Any:
    """Processing description of one dimension (exsyfit's own first, then TopSpin's)."""
    meta = spectrum.metadata if isinstance(spectrum.metadata, Mapping) else {}
    own = meta.get(f"processing_{dim}")
    if own is not None or not topspin:
        return own
    return meta.get(f"processing_{dim}_topspin")


def _by_mixing_time(spectra, indices):
    tm = np.array([spectra[k].mixing_time_s if spectra[k].mixing_time_s is not None else np.inf
                   for k in indices], float)
    return np.argsort(tm, kind="stable")


def _lineshape_fit(prep: _Prep, opts, orders):
    windows = _cluster_windows(prep.shapes, prep.ppm_f1, prep.ppm_f2, orders, prep.sb,
                               opts.window_fwhm)
    maps, n_base = _lineshape_weights(prep.shapes, prep.ppm_f1, prep.ppm_f2, orders, prep.sb,
                                      windows, opts.baseline, prep.profiles)
    n = len(prep.shapes)
    n_peak_coef = n * n * len(orders)
    coef = np.einsum("xrc,krc->kx", maps, prep.stack, optimize=True)
    amps = coef[:, :n_peak_coef].reshape(-1, n * n, len(orders))
    base = coef[:, n_peak_coef:].reshape(len(coef), len(windows), n_base)
    peak_maps = maps[:n_peak_coef].reshape(n * n, len(orders), *maps.shape[1:]).sum(axis=1)
    return peak_maps, amps, base, windows


def _signal_masks(prep: _Prep, windows, weights):
    rows = np.zeros(prep.ppm_f1.size, bool)
    cols = np.zeros(prep.ppm_f2.size, bool)
    for win in windows:
        rm, cm, _, _ = _window_terms(win, prep.ppm_f1, prep.ppm_f2)
        rows |= rm
        cols |= cm
    support = np.any(weights != 0, axis=0)
    rows |= support.any(axis=1)
    cols |= support.any(axis=0)
    return rows, cols


def _peak_model(shapes, ppm_f1, ppm_f2, orders, sb, amps, profiles=(None, None)):
    g, h = _order_lines(shapes, ppm_f1, ppm_f2, orders, sb, profiles)
    n = len(shapes)
    a = amps.reshape(len(amps), n, n, len(orders))
    return np.einsum("rjo,kjio,cio->krc", g, a, h, optimize=True)


def _noise(prep, weights, windows, model, opts):
    rows, cols_mask = _signal_masks(prep, windows, weights)
    used = np.flatnonzero(np.any(weights != 0, axis=(0, 1)))
    residual = prep.stack - model
    return empty_region_covariance(weights[:, :, used], used, residual, rows, cols_mask,
                                   min_regions=opts.noise_regions, pool=opts.noise_pooling)


def _shape_covariance(prep: _Prep, opts, orders, windows, model):
    """Covariance of the lineshape volumes caused by noise in the fitted shape parameters.

    The shape parameters are linear functions of the data near the optimum (Gauss-Newton); their
    covariance is measured like that of the volumes, by applying their weight maps to empty
    regions of each fitted spectrum, and is propagated with numerical derivatives of the volumes.
    """
    info = prep.shape_fit
    if info is None or not info.free.any():
        return None
    rows, cols_mask = _signal_masks(prep, windows, np.zeros((1, *prep.stack.shape[1:])))
    rows, cols_mask = rows | info.rows, cols_mask | info.cols
    residual = prep.stack - model
    rw, cw = np.flatnonzero(info.rows), np.flatnonzero(info.cols)
    n_free = int(info.free.sum())
    c_theta = np.zeros((n_free, n_free))
    for s_local, k in enumerate(prep.shape_subset):
        w = np.zeros((n_free, prep.ppm_f1.size, cw.size))
        w[:, rw, :] = info.gmap[:, s_local]
        est = empty_region_covariance(w, cw, residual[k:k + 1], rows, cols_mask, min_regions=0,
                                      pool=False)
        c_theta += est.cov[0]
    sens = []
    for m, idx in enumerate(np.flatnonzero(info.free)):
        step = math.sqrt(max(c_theta[m, m], 0.0)) or 1e-6 * max(abs(info.x[idx]), 1e-3)
        xp, xm = info.x.copy(), info.x.copy()
        xp[idx] += step
        xm[idx] -= step
        vp = _ls_volumes(info.to_shapes(xp), prep, orders, windows, opts.baseline)
        vm = _ls_volumes(info.to_shapes(xm), prep, orders, windows, opts.baseline)
        sens.append((vp - vm) / (2 * step))
    sens = np.stack(sens, axis=2)
    return np.einsum("kpm,mn,kqn->kpq", sens, c_theta, sens, optimize=True)


def _auto_bias(prep: _Prep, opts, warnings):
    """Largest overlap bias (in sigma) of box volumes, predicted from the fitted shapes.

    The bias of a box volume is the signal of the *other* peaks (their tails, through the region
    and through its baseline frame) that the box picks up; the fraction of its own peak that a
    box holds is the same in every spectrum and is not counted here.
    """
    centre = ((0, 0),)
    peak_maps, amps, _, windows = _lineshape_fit(prep, opts, centre)
    hw = _resolve_half_widths(prep.shapes, opts, [], prep.label)
    wbox, _ = _region_weights(prep.shapes, hw, prep.ppm_f1, prep.ppm_f2, centre, 0.0, "box",
                              opts.baseline, opts.baseline_margin, [], prep.label)
    g, h = _order_lines(prep.shapes, prep.ppm_f1, prep.ppm_f2, centre, 0.0, prep.profiles)
    n = len(prep.shapes)
    unit = np.einsum("rj,ci->jirc", g[:, :, 0], h[:, :, 0]).reshape(n * n, *g.shape[:1], -1)
    resp = np.einsum("prc,qrc->pq", wbox, unit, optimize=True)
    vol = amps[:, :, 0]
    leak = vol @ (resp - np.diag(np.diag(resp))).T  # other peaks' signal in each region
    model = _peak_model(prep.shapes, prep.ppm_f1, prep.ppm_f2, centre, 0.0, amps, prep.profiles)
    sig = _noise(prep, wbox, windows, model, opts).sigma
    with np.errstate(divide="ignore", invalid="ignore"):
        ratio = np.abs(leak) / sig
    return float(np.nanmax(ratio)) if np.isfinite(ratio).any() else float("inf")


def _finish_group(prep: _Prep, method, opts, names, warnings) -> GroupIntegration:
    peak_maps, amps, base, windows = _lineshape_fit(prep, opts, prep.orders)
    model = _peak_model(prep.shapes, prep.ppm_f1, prep.ppm_f2, prep.orders, prep.sb, amps,
                        prep.profiles)
    regions: tuple[Region, ...] = ()
    hw = _resolve_half_widths(prep.shapes, opts, warnings if method != "lineshape" else [],
                              prep.label)
    if method == "lineshape":
        weights = peak_maps
        volumes = amps.sum(axis=2)
    else:
        weights, regions = _region_weights(prep.shapes, hw, prep.ppm_f1, prep.ppm_f2, prep.orders,
                                           prep.sb, method, opts.baseline, opts.baseline_margin,
                                           warnings, prep.label)
        volumes = np.einsum("prc,krc->kp", weights, prep.stack, optimize=True)
    noise = _noise(prep, weights, windows, model, opts)
    cov = noise.cov
    shape_cov = None
    if method == "lineshape":
        shape_cov = _shape_covariance(prep, opts, prep.orders, windows, model)
        if shape_cov is not None:
            cov = cov + shape_cov
    if noise.direction != "F1":
        warnings.append(
            f"{prep.label}: too few signal-free rows in the peak columns "
            f"({noise.n_regions:.1f} independent regions); noise regions from other columns "
            f"were added ({noise.direction}); t1 noise may be underestimated"
        )
    misfit = _misfit(prep, model, base, windows, opts, noise)
    if method == "lineshape" and misfit > 1.5:
        warnings.append(
            f"{prep.label}: the lineshape model leaves residuals {misfit:.2f} times the noise in "
            "the fit window; volumes may be biased (check phase, baseline, lineshape, or "
            f"unlisted peaks){_topspin_hint(prep, opts)}"
        )
    return GroupIntegration(
        temperature_K=prep.temperature, indices=tuple(prep.indices), sites=tuple(names),
        method=method, shapes=prep.shapes, regions=regions, orders=prep.orders,
        sideband_ppm=prep.sb, volumes=volumes, cov=cov, amplitudes=amps,
        baseline_coef=base, windows=windows, baseline=opts.baseline, noise=noise,
        misfit_ratio=misfit, decision="", half_widths={k: tuple(v) for k, v in hw.items()},
        shape_cov=shape_cov, profiles=prep.profiles,
    )


def _topspin_hint(prep: _Prep, opts) -> str:
    """Advice for TopSpin-processed (2rr) input whose F1 lines are modelled as pseudo-Voigt."""
    if prep.profiles[0] is not None or prep.spectra_format != "bruker-processed":
        return ""
    raw = '[data] prefer = "raw" (process the ser here, exact line profile)'
    if opts.processed_lineshape == "procs":
        return f"; the input is TopSpin's 2rr: try {raw}"
    return ("; the input is TopSpin's 2rr, whose short, windowed F1 line is not pseudo-Voigt: "
            f'try [integration] processed_lineshape = "procs" (line profile from proc2s) or '
            f"{raw}")


def _misfit(prep, model, base, windows, opts, noise):
    """RMS residual in the centre fit window over RMS noise in empty rows of the same columns."""
    rm, cm, t1, t2 = _window_terms(windows[0], prep.ppm_f1, prep.ppm_f2)
    resid = prep.stack - model
    block = resid[:, rm][:, :, cm]
    terms = _baseline_columns(opts.baseline, t1, t2)
    if terms:
        bl = np.einsum("kt,tx->kx", base[:, 0, :], np.array(terms)).reshape(block.shape)
        block = block - bl
    rows, _ = _signal_masks(prep, windows, np.zeros((1, *prep.stack.shape[1:])))
    free = resid[:, ~rows][:, :, cm]
    if free.size == 0:
        return float("nan")
    ref = np.sqrt(np.mean(free**2))
    return float(np.sqrt(np.mean(block**2)) / ref) if ref > 0 else float("nan")


# --------------------------------------------------------------------------------------------
# Checks on the volumes
# --------------------------------------------------------------------------------------------


def _threshold(opts, n_tests):
    return max(opts.warning_sigma, float(norm.isf(0.005 / max(n_tests, 1))))


def _check_group(group: GroupIntegration, spectra, experiments, opts, warnings):
    names = group.sites
    n = len(names)
    label = f"{group.temperature_K:g} K" if group.temperature_K is not None else "series"
    vol, cov = group.volumes, group.cov
    sig = np.sqrt(np.clip(np.diagonal(cov, axis1=1, axis2=2), 0, None))
    exps = [experiments[k] for k in group.indices]
    npairs = n * (n - 1) // 2
    thr = _threshold(opts, len(exps) * max(npairs, 1))
    for a in range(n):
        for b in range(a + 1, n):
            pab, pba = a * n + b, b * n + a  # a->b and b->a
            d = vol[:, pab] - vol[:, pba]
            var = cov[:, pab, pab] + cov[:, pba, pba] - 2 * cov[:, pab, pba]
            z = d / np.sqrt(np.clip(var, 1e-300, None))
            bad = [f"{e} (z = {zz:+.1f})" for e, zz in zip(exps, z, strict=True) if abs(zz) > thr]
            zmean = z.sum() / math.sqrt(len(z))
            if bad or (len(z) > 1 and abs(zmean) > opts.warning_sigma):
                warnings.append(
                    f"{label}: cross peaks {names[a]}->{names[b]} and {names[b]}->{names[a]} "
                    f"differ beyond the noise (mean z = {zmean:+.1f} over {len(z)} spectra"
                    + (f"; {', '.join(bad)}" if bad else "")
                    + "). An equilibrium start gives equal cross peaks: suspect a "
                    "non-equilibrium start (CP, recycle delay short against T1), a third site, "
                    "unequal sideband fractions, or an artefact (t1 noise, phase, baseline)."
                )
    _check_intercepts(group, spectra, exps, sig, opts, warnings, label)
    _check_negative(group, exps, sig, opts, warnings, label)


def _check_intercepts(group, spectra, exps, sig, opts, warnings, label):
    names = group.sites
    n = len(names)
    tm = np.array([spectra[k].mixing_time_s if spectra[k].mixing_time_s is not None else np.nan
                   for k in group.indices], float)
    distinct = np.unique(tm[np.isfinite(tm)])
    if distinct.size == 0 or (distinct.size < 2 and distinct[0] > 0):
        return
    thr = _threshold(opts, n * (n - 1))
    for j in range(n):
        for i in range(n):
            if i == j:
                continue
            p = j * n + i
            v, s = _mean_at(tm, group.volumes[:, p], sig[:, p], distinct[0])
            if distinct[0] == 0:
                a, sa = v, s
            else:
                v2, s2 = _mean_at(tm, group.volumes[:, p], sig[:, p], distinct[1])
                t1, t2 = distinct[0], distinct[1]
                a = (t2 * v - t1 * v2) / (t2 - t1)
                sa = math.hypot(t2 * s, t1 * s2) / (t2 - t1)
            if abs(a) > thr * sa and (distinct[0] == 0 or abs(a) > 0.5 * abs(v)):
                warnings.append(
                    f"{label}: cross peak {names[j]}->{names[i]} does not tend to zero at short "
                    f"mixing time (extrapolated to t_m = 0: {a:.4g} +/- {sa:.2g}, "
                    f"{a / sa:+.1f} sigma; at t_m = {distinct[0]:g} s: {v:.4g}). Suspect overlap "
                    "with a diagonal peak, a t1-noise or first-point ridge, spin diffusion "
                    "during the pulses, or a diffusion-limited (sqrt t_m) build-up."
                )


def _mean_at(tm, v, s, t):
    sel = tm == t
    w = 1.0 / np.clip(s[sel], 1e-300, None) ** 2
    return float((w * v[sel]).sum() / w.sum()), float(1.0 / math.sqrt(w.sum()))


def _check_negative(group, exps, sig, opts, warnings, label):
    names = group.sites
    n = len(names)
    thr = _threshold(opts, group.volumes.size)
    bad = []
    for p in range(n * n):
        j, i = divmod(p, n)
        for k, e in enumerate(exps):
            v = group.volumes[k, p]
            if (i == j and v <= 0) or v < -thr * sig[k, p]:
                bad.append(f"{names[j]}->{names[i]} in {e} ({v:.3g} +/- {sig[k, p]:.2g})")
    if bad:
        warnings.append(
            f"{label}: negative volumes beyond the noise: {'; '.join(bad)}. Check phase, "
            "baseline and the site shifts."
        )


# --------------------------------------------------------------------------------------------
# Public entry point
# --------------------------------------------------------------------------------------------


def integrate_series(
    spectra: Sequence[Spectrum2D],
    sites: Mapping[str, float],
    *,
    options: IntegrationOptions | None = None,
    temperatures_K: Sequence[float | None] | None = None,
    experiments: Sequence[str] | None = None,
    progress: Callable[[int, int], Any] | None = None,
    site_ppm_by_temperature: Mapping[float, Mapping[str, float]] | None = None,
) -> IntegrationResult:
    """Volumes and uncertainties of all N^2 peaks of every spectrum of an EXSY series.

    Parameters
    ----------
    spectra : sequence of Spectrum2D
        The series (any number of mixing times and temperatures).
    sites : mapping
        Ordered ``{site name: ppm}`` of each site's diagonal peak.
    options : IntegrationOptions, optional
        Integration settings; defaults to ``IntegrationOptions()``.
    temperatures_K : sequence, optional
        Sample temperature (K) recorded for each spectrum; defaults to ``temperature_K`` of the
        spectra.  Spectra within 0.5 K of each other (and with identical axes) share regions
        and shapes.
    experiments : sequence of str, optional
        Name of each spectrum for the ``experiment`` column; defaults to ``source``.
    progress : callable, optional
        Called as ``progress(done, total)`` after each temperature group.
    site_ppm_by_temperature : mapping, optional
        ``{temperature_K: {site: ppm}}`` overriding ``sites`` at that temperature (paramagnetic
        phases whose shifts move with temperature).

    Returns
    -------
    IntegrationResult
        Table with one row per peak per spectrum, warnings, method and per-group details.

    Raises
    ------
    ConfigError, DataFormatError, SeriesError
        Invalid sites or options, unreadable spectra, inconsistent lengths.
    """
    opts = options or IntegrationOptions()
    _check_spectra(spectra)
    names = _check_sites(sites)
    temps = _per_spectrum(temperatures_K, [s.temperature_K for s in spectra], len(spectra),
                          "temperatures_K")
    exps = _per_spectrum(experiments, [s.source or f"spectrum {k}" for k, s in enumerate(spectra)],
                         len(spectra), "experiments")
    temps = [None if t is None or not math.isfinite(float(t)) else float(t) for t in temps]
    warnings: list[str] = []
    groups_idx = _group_indices(spectra, temps)
    _note_split_temperatures(groups_idx, temps, warnings)
    total = 2 * len(groups_idx)
    preps = []
    for g, idx in enumerate(groups_idx):
        t = temps[idx[0]]
        preps.append(_prepare_group(spectra, idx, names, _site_ppm(sites, site_ppm_by_temperature,
                                                                   t), t, opts, warnings))
        if progress is not None:
            progress(g + 1, total)
    method, choices = _choose_method(preps, opts, warnings)
    groups = []
    for g, prep in enumerate(preps):
        group = _finish_group(prep, method, opts, names, warnings)
        group.decision = choices.get("reason", "")
        group.experiments = tuple(exps[k] for k in group.indices)
        _check_group(group, spectra, exps, opts, warnings)
        groups.append(group)
        if progress is not None:
            progress(len(preps) + g + 1, total)
    table = _table(groups, spectra, temps, exps, opts)
    return IntegrationResult(table, warnings, method, groups, choices)


def _per_spectrum(given, default, n, name):
    if given is None:
        return list(default)
    given = list(given)
    if len(given) != n:
        raise SeriesError(f"{name}: {len(given)} values given for {n} spectra")
    return given


def _note_split_temperatures(groups_idx, temps, warnings):
    seen: dict = {}
    for idx in groups_idx:
        t = temps[idx[0]]
        seen[t] = seen.get(t, 0) + 1
    for t, count in seen.items():
        if count > 1:
            warnings.append(
                f"spectra at {t} K do not share their ppm axes; they were integrated in "
                f"{count} sets with separately fitted shapes and regions"
            )


def _choose_method(preps, opts, warnings):
    if opts.method != "auto":
        return opts.method, {"method": opts.method, "reason": f"method = '{opts.method}' requested"}
    per_group = {}
    for prep in preps:
        prep.box_bias_sigma = _auto_bias(prep, opts, warnings)
        per_group[prep.label] = prep.box_bias_sigma
    worst = max(per_group.values())
    seps = _separation_summary(preps)
    if worst > opts.auto_bias_sigma:
        method = "lineshape"
        reason = (f"auto: lineshape, because box integration would be biased by up to "
                  f"{worst:.2g} sigma through overlap ({seps})")
    else:
        method = "box"
        reason = (f"auto: box, because its predicted overlap bias is at most {worst:.2g} sigma "
                  f"({seps})")
    return method, {"method": method, "reason": reason, "box_bias_sigma": per_group}


def _separation_summary(preps):
    parts = []
    for prep in preps:
        s = prep.shapes
        ratios = [abs(a.ppm_f2 - b.ppm_f2) / (0.5 * (a.fwhm_f2 + b.fwhm_f2))
                  for k, a in enumerate(s) for b in s[k + 1:]]
        parts.append(f"{prep.label}: smallest separation {min(ratios):.2g} x FWHM")
    return "; ".join(parts)


def _table(groups, spectra, temps, exps, opts):
    rows = []
    for g in groups:
        shape = {s.name: s for s in g.shapes}
        sig = np.sqrt(np.clip(np.diagonal(g.cov, axis1=1, axis2=2), 0, None))
        n_sb = (len(g.regions) // len(g.peaks)) if g.regions else len(g.orders)
        for kk, k in enumerate(g.indices):
            tm = spectra[k].mixing_time_s
            for p, (j, i) in enumerate(g.peaks):
                box = g.method != "lineshape"
                rows.append({
                    "experiment": exps[k],
                    "temperature_K": temps[k] if temps[k] is not None else np.nan,
                    "mixing_time_s": float(tm) if tm is not None else np.nan,
                    "from_site": j, "to_site": i,
                    "volume": float(g.volumes[kk, p]), "sigma": float(sig[kk, p]),
                    "method": g.method,
                    "half_width_f1_ppm": g.half_widths[j][0] if box else np.nan,
                    "half_width_f2_ppm": g.half_widths[i][1] if box else np.nan,
                    "baseline": g.baseline,
                    "center_f1_ppm": shape[j].ppm_f1, "center_f2_ppm": shape[i].ppm_f2,
                    "fwhm_f1_ppm": shape[j].fwhm_f1, "fwhm_f2_ppm": shape[i].fwhm_f2,
                    "n_sideband_regions": n_sb - 1,
                    "noise_regions": g.noise.n_regions, "noise_direction": g.noise.direction,
                })
    return pd.DataFrame(rows)
