"""Pure array transforms that turn raw 2D time-domain NMR data into a pure-absorption spectrum.

Nothing here reads or writes files: the vendor readers (:mod:`exsyfit.io.bruker`) collect the
acquisition parameters into :class:`AcquisitionParameters`, the user's choices into
:class:`ProcessingOptions`, and call :func:`process_2d`.

Conventions (checked against TopSpin on real data)
--------------------------------------------------------------------------------
Evidence: the real ser + 2rr pairs of ``shared/data/real`` (tests/test_real_topspin.py):
``nmrtools-19f-cest-pseudo2d`` (F2 path, fractional GRPDLY 67.987) is reproduced with
r = 0.9999998 (every row's maximum at the same point); ``nmrtools-15n-trosy-2d`` (echo-antiecho,
linear prediction, strip) with r = 0.9993 away from the water line (TopSpin's qfil solvent
filter is not reproduced; r = 0.9989 from 0.6 ppm), peak centroids within 0.1 point.

* **NMR order.** Spectra are returned with index 0 at the highest frequency (highest ppm).
  :func:`fft_nmr` applies numpy's FFT, an ``fftshift``, a reversal and a roll by one point,
  so the carrier sits at index ``n // 2`` and the chemical shift of point ``i`` is
  ``carrier_ppm + (n/2 - i) * sw_hz / (sf_mhz * n)``, identical to TopSpin's
  ``OFFSET - i * SW_p / (SF * SI)`` (both real pairs: axes equal to 2e-5 ppm).  F1 has the
  same direction as F2: reversing F1 drops r on the 15N pair to 0.21, and the carrier one
  point off (no roll) drops it below 0.99.
* **Digital filter.** Bruker's group delay ``GRPDLY`` (fractional number of points) is removed
  by an exact band-limited time shift before apodisation (:func:`remove_group_delay`), never
  truncated to whole points.  TopSpin instead windows the recorded FID, transforms it and
  removes the delay as a first-order phase ``exp(-2 pi i GRPDLY k / SI)`` pivoting on the
  *leftmost* point ``k = 0``; relative to a delay removal centred on the carrier this leaves
  the constant phase ``exp(-i pi GRPDLY)`` (180 x GRPDLY degrees), which :func:`transform_f2`
  applies so that TopSpin's stored PHC0 holds unchanged.  Evidence (19F pair): with it
  r = 0.9999998; without it the best PHC0 is 2.37 degrees away (r = 0.99914, the dispersive
  admixture of a TopSpin-convention series, which gave cross peaks of a few % of the diagonal
  and line-shape residuals 9-11 x the noise in tests/test_topspin_convention.py).  For an
  integer GRPDLY (76 on the 15N pair) the constant is 1.  Windowing the recorded FID instead
  of the shifted one (TopSpin's exact order) gives r = 1 - 2e-15 on the 19F pair but weights
  t = 0 by w(GRPDLY); exsyfit keeps t = 0 at weight 1 so that volumes are signal amplitudes,
  and describes TopSpin's order for 2rr line profiles (``window_offset``).
* **Phase.** TopSpin convention: the corrected spectrum is ``S[i] * exp(-1j * (p0 + p1 * i / n))``
  with the angles in degrees and ``i = 0`` the leftmost (highest ppm) point of the full
  transform (see :mod:`exsyfit.processing.phasing`); the opposite sign gives r = 0.974 on the
  19F pair.
* **Strips.** A stored strip (procs/proc2s ``STSR``/``STSI`` of ``FTSIZE``) is cut after the
  transform of ``FTSIZE`` points (both real pairs).
* **Echo-antiecho.** Rows ``a, b`` of each t1 increment are combined into the cosine and sine
  parts ``i (a + b) / 2`` and ``(b - a) / 2`` (15N pair: r = 0.9993; exchanging a and b, i.e.
  the opposite echo-antiecho sign, gives r = 0.02).  A pair of signals ``-i exp(-i w1 t1)``,
  ``-i exp(+i w1 t1)`` is therefore absorptive at +w1 with PHC0 = 0.
* **States-TPPI.** Each t1 increment k holds a cosine and a sine row, both multiplied by
  (-1)^k; combined as cos + i sin with the (-1)^k undone (checked by the project on a real,
  unlicensed 19F EXSY series against TopSpin, r = 0.994, and on the independent
  TopSpin-convention series of tests/test_topspin_convention.py).
* **Linear prediction.** proc2s ``ME_mod = 2`` (LPfc): forward prediction of the t1
  interferograms to ``TDeff`` points with ``NCOEF / 2`` complex Burg coefficients
  (:mod:`exsyfit.processing.prediction`, evidence table there).  ``TDeff`` below ``TD``
  (no prediction) truncates the data.
* **First point.** The first complex point of every t1 interferogram is multiplied by 0.5
  (TopSpin FCOR 0.5 in both pairs' proc2s).
  In a digitally filtered direct dimension the point at t2 = 0 (after removing the group delay)
  already holds about half of the signal, because the filter sees a step there, so F2 is left
  unscaled by default (TopSpin does the same, ``FCOR = 1``); for analog data it is scaled by 0.5.
* **Intensity scale.** Each Fourier transform is multiplied by ``2 * sf_mhz / sw_hz``, so that
  the integral over ppm (sum of points x ppm step) of a line equals the amplitude of its
  time-domain signal at t = 0, provided the window is 1 at t = 0.  A 2D peak therefore has a
  volume (intensity x ppm^2) equal to its signal amplitude at t1 = t2 = 0.

Varian / Agilent
----------------
The Varian reader conjugates the FID (opposite sense of rotation) and negates the phase = 2
rows, then uses the same States transform.  The real Varian files available are 1D / arrayed
(87Rb, 31P): they confirm the direct-dimension sense and the sign of rp (tests/test_io_varian.py);
the hypercomplex F1 sense of VnmrJ could not be checked on real data (no licensed real Varian
2D with a VnmrJ-processed spectrum was found) and follows NMRPy / ssNake's handling.

Quadrature in F1 (``fnmode``)
-----------------------------
``"States"`` and ``"States-TPPI"``: rows alternate cosine- and sine-modulated t1 data; States-TPPI
additionally alternates the sign of successive complex t1 points.  ``"TPPI"``: real t1 points at
half the dwell time with a 90 degree phase increment.  ``"echo-antiecho"``: pairs of rows
combined as above.  ``"QF"``: single-channel complex t1 data (phase-twisted lines, for
completeness only).
"""

from __future__ import annotations

import functools
import math
from collections.abc import Mapping
from dataclasses import dataclass, fields, replace
from typing import Any

import numpy as np

from exsyfit.processing.baseline import baseline_2d, baseline_correct  # noqa: F401
from exsyfit.processing.phasing import (  # noqa: F401  (re-exported)
    Hypercomplex2D,
    auto_phase,
    diagonal_mask,
    phase_2d,
)
from exsyfit.processing.prediction import predict_forward
from exsyfit.settings import parse_table

WINDOWS = ("none", "em", "gm", "sine", "qsine")
FNMODES = ("QF", "TPPI", "States", "States-TPPI", "echo-antiecho")

_FNMODE_ALIASES = {
    "qf": "QF",
    "tppi": "TPPI",
    "states": "States",
    "states-tppi": "States-TPPI",
    "states_tppi": "States-TPPI",
    "echo-antiecho": "echo-antiecho",
    "echo_antiecho": "echo-antiecho",
    "ea": "echo-antiecho",
}


# --------------------------------------------------------------------------------------------
# Options
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class ProcessingOptions:
    """User choices for processing raw 2D data; ``None`` means "take it from the file".

    Fields ending in ``_f2`` concern the direct dimension (t2 -> F2), ``_f1`` the indirect
    one (t1 -> F1).

    Parameters
    ----------
    window_f2, window_f1 : str or None
        Apodisation: ``"none"``, ``"em"`` (exponential, ``lb_hz``), ``"gm"`` (Lorentz-to-Gauss,
        ``lb_hz`` < 0 and ``gb``), ``"sine"`` or ``"qsine"`` (sine / squared sine bell shifted
        by pi/``ssb``; ``ssb = 2`` is a cosine bell, the usual choice for short t1).
    lb_hz_f2, lb_hz_f1 : float or None
        Line broadening, Hz.
    gb_f2, gb_f1 : float or None
        Gaussian maximum position for ``"gm"``, as a fraction (0-1) of the acquisition time.
    ssb_f2, ssb_f1 : float or None
        Sine-bell shift (TopSpin ``SSB``); 0 or 1 gives an unshifted sine.
    size_f2, size_f1 : int or None
        Number of real points of the spectrum after zero filling (TopSpin ``SI``).
    p0_f2, p1_f2, p0_f1, p1_f1 : float or None
        Zero- and first-order phase correction, degrees, in TopSpin's convention (PHC0, PHC1).
    baseline_order_f2, baseline_order_f1 : int or None
        Order of the polynomial baseline removed from every row (F2) / column (F1);
        ``None`` (default) applies no baseline correction.
    first_point_scale : float
        Factor for the first point of every t1 interferogram (and of the FID when the direct
        dimension has no digital filter).
    first_point_scale_f2 : float or None
        Factor for the first FID point; ``None`` chooses 1.0 for digitally filtered data and
        ``first_point_scale`` otherwise.
    auto_phase : bool
        Choose the zero- and first-order phases of both dimensions from the phases of the
        strongest peaks (:func:`exsyfit.processing.phasing.auto_phase`), on the spectrum with
        the shortest mixing time; one set of phases is shared by the series and reported as
        ``metadata["phases"]`` (``source = "auto"``).
    fnmode : str or None
        Override the F1 quadrature mode read from the file: "QF", "TPPI", "States",
        "States-TPPI" or "echo-antiecho".
    """

    window_f2: str | None = None
    lb_hz_f2: float | None = None
    gb_f2: float | None = None
    ssb_f2: float | None = None
    size_f2: int | None = None
    p0_f2: float | None = None
    p1_f2: float | None = None
    window_f1: str | None = None
    lb_hz_f1: float | None = None
    gb_f1: float | None = None
    ssb_f1: float | None = None
    size_f1: int | None = None
    p0_f1: float | None = None
    p1_f1: float | None = None
    baseline_order_f2: int | None = None
    baseline_order_f1: int | None = None
    first_point_scale: float = 0.5
    first_point_scale_f2: float | None = None
    auto_phase: bool = False
    fnmode: str | None = None

    def merged_with(self, defaults: ProcessingOptions) -> ProcessingOptions:
        """Fill every ``None`` field from ``defaults`` (for example the file's procs values)."""
        updates = {}
        for f in fields(self):
            if getattr(self, f.name) is None and getattr(defaults, f.name) is not None:
                updates[f.name] = getattr(defaults, f.name)
        return replace(self, **updates)

    @classmethod
    def from_dict(cls, d: dict[str, Any], where: str = "[processing]") -> ProcessingOptions:
        """Build options from a config table, reporting every problem at once.

        Keys are the field names (``window_f2 = "em"``) or per-dimension sub-tables
        (``[processing.f2] window = "em"``).  The strings ``"file"`` (any field) and
        ``"none"`` (baseline orders) stand for ``None``.

        Raises
        ------
        ConfigError
            Listing every unknown key (with the nearest valid one) and every bad value, each
            with its key path.
        """
        base = where.strip("[]")
        if not isinstance(d, Mapping):
            return parse_table(cls, d, base)  # names the table and what it should be
        flat: dict[str, Any] = {}
        paths: dict[str, str] = {}
        for key, value in d.items():
            if key in ("f1", "f2") and isinstance(value, Mapping):
                for sub, v in value.items():
                    flat[f"{sub}_{key}"], paths[f"{sub}_{key}"] = v, f"{base}.{key}.{sub}"
            else:
                flat[str(key)] = value
        checks = {f.name: functools.partial(_check_option, f.name) for f in fields(cls)}
        return parse_table(cls, flat, base, checks=checks, paths=paths)


def _check_option(name: str, value: Any) -> Any:
    """Validate one option value; return the normalised value or raise ValueError."""
    if isinstance(value, str) and value.strip().lower() == "file" and name not in (
        "first_point_scale", "auto_phase"
    ):
        return None
    if name.startswith("window"):
        if not isinstance(value, str) or value.lower() not in WINDOWS:
            raise ValueError(f"expected one of {', '.join(WINDOWS)} (or 'file')")
        return value.lower()
    if name == "fnmode":
        key = str(value).strip().lower()
        if key not in _FNMODE_ALIASES:
            raise ValueError(f"expected one of {', '.join(FNMODES)}")
        return _FNMODE_ALIASES[key]
    if name == "auto_phase":
        if not isinstance(value, bool):
            raise ValueError("expected true or false")
        return value
    if name.startswith("baseline_order"):
        if value is None or (isinstance(value, str) and value.lower() == "none"):
            return None
        if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= 10:
            raise ValueError("expected an integer polynomial order 0-10 or 'none'")
        return value
    if name.startswith("size"):
        if isinstance(value, bool) or not isinstance(value, int) or value < 8:
            raise ValueError("expected an integer number of points >= 8")
        return value
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
        raise ValueError("expected a finite number")
    value = float(value)
    if name.startswith("first_point_scale") and not 0.0 < value <= 2.0:
        raise ValueError("expected a factor in (0, 2]")
    if name.startswith("gb") and not 0.0 <= value <= 1.0:
        raise ValueError("expected a fraction of the acquisition time in [0, 1]")
    if name.startswith("ssb") and value < 0:
        raise ValueError("expected a sine-bell shift >= 0")
    return value


@dataclass(frozen=True)
class AcquisitionParameters:
    """What :func:`process_2d` needs to know about a raw 2D data set.

    Parameters
    ----------
    sw_hz_f2, sw_hz_f1 : float
        Spectral widths, Hz (Bruker ``SW_h`` of acqus / acqu2s).
    sf_mhz_f2, sf_mhz_f1 : float
        Reference frequencies that define ppm, MHz (Bruker ``SF`` of procs / proc2s).
    carrier_ppm_f2, carrier_ppm_f1 : float
        Chemical shift of the carrier, ppm (``(SFO1 / SF - 1) * 1e6``).
    fnmode : str
        F1 quadrature mode, one of :data:`FNMODES`.
    grpdly : float
        Digital-filter group delay of the direct dimension, points (0 for analog data).
    defaults : ProcessingOptions
        Processing settings stored with the data (window, size, phases), used where the
        user's options are ``None``.
    strip_f2, strip_f1 : tuple of int, optional
        ``(first point, number of points)`` of the stored part of the transform (TopSpin
        STSR / STSI), used when the transform size is ``strip_size_f2`` / ``strip_size_f1``
        (the FTSIZE the strip refers to).
    strip_size_f2, strip_size_f1 : int
        Transform size the strip refers to.
    td_used_f2, td_used_f1 : int, optional
        Complex points transformed (TopSpin TDeff / 2 when it is below TD / 2 and no
        prediction is requested); ``None`` uses every measured point.
    lp_f1 : tuple of int, optional
        ``(complex points after prediction, complex coefficients)``: forward linear
        prediction of the t1 interferograms (TopSpin ME_mod = 2 with TDeff / 2 and
        NCOEF / 2), see :mod:`exsyfit.processing.prediction`.
    """

    sw_hz_f2: float
    sw_hz_f1: float
    sf_mhz_f2: float
    sf_mhz_f1: float
    carrier_ppm_f2: float
    carrier_ppm_f1: float
    fnmode: str = "States-TPPI"
    grpdly: float = 0.0
    defaults: ProcessingOptions = ProcessingOptions()
    strip_f2: tuple[int, int] | None = None
    strip_f1: tuple[int, int] | None = None
    strip_size_f2: int = 0
    strip_size_f1: int = 0
    td_used_f2: int | None = None
    td_used_f1: int | None = None
    lp_f1: tuple[int, int] | None = None


# --------------------------------------------------------------------------------------------
# One-dimensional primitives (all act along ``axis``)
# --------------------------------------------------------------------------------------------


def scale_first_point(data: np.ndarray, factor: float = 0.5, axis: int = -1) -> np.ndarray:
    """Return a copy of ``data`` with the first point along ``axis`` multiplied by ``factor``."""
    out = np.array(data, dtype=complex if np.iscomplexobj(data) else float, copy=True)
    idx = [slice(None)] * out.ndim
    idx[axis] = 0
    out[tuple(idx)] *= factor
    return out


def window_function(n: int, sw_hz: float, window: str = "none", lb_hz: float = 0.0,
                    gb: float = 0.0, ssb: float = 0.0, offset: float = 0.0,
                    n_total: int | None = None) -> np.ndarray:
    """Apodisation weights for ``n`` time points sampled at ``1 / sw_hz`` seconds.

    Parameters
    ----------
    n : int
        Number of (complex) time points.
    sw_hz : float
        Sampling rate (spectral width), Hz.
    window : str
        ``"none"``, ``"em"``, ``"gm"``, ``"sine"`` or ``"qsine"`` (TopSpin definitions).
    lb_hz : float
        Line broadening, Hz (``em``, ``gm``).
    gb : float
        Position of the Gaussian maximum as a fraction of the acquisition time (``gm``).
    ssb : float
        Sine-bell shift; the bell starts at phase pi/ssb (``ssb`` < 2: pure sine).
    offset : float
        Index (fractional) of the window at which the returned weights start: the weights of
        a window defined over ``n_total`` points, at ``offset + arange(n)``.  TopSpin windows a
        digitally filtered FID before removing its group delay, so the signal's t = 0 sees
        the window at ``offset = GRPDLY``.
    n_total : int, optional
        Number of points the window is defined over (default ``n + offset``).

    Returns
    -------
    numpy.ndarray
        Weights, shape (n,); 1 at t = 0 for ``none``, ``em``, ``gm`` and cosine bells.
    """
    total = n_total if n_total is not None else n + int(math.ceil(offset))
    k = offset + np.arange(n)
    t = k / sw_hz
    aq = total / sw_hz
    if window == "none":
        return np.ones(n)
    if window == "em":
        return np.exp(-np.pi * lb_hz * t)
    if window == "gm":
        a = np.pi * lb_hz
        b = -a / (2.0 * gb * aq) if gb > 0 else 0.0
        return np.exp(-a * t - b * t**2)
    if window in ("sine", "qsine"):
        phi = np.pi / ssb if ssb >= 2 else 0.0
        w = np.sin((np.pi - phi) * k / max(total - 1, 1) + phi)
        return w**2 if window == "qsine" else w
    raise ValueError(f"unknown window {window!r}; expected one of {WINDOWS}")


def apodize(data: np.ndarray, sw_hz: float, window: str = "none", lb_hz: float = 0.0,
            gb: float = 0.0, ssb: float = 0.0, axis: int = -1) -> np.ndarray:
    """Multiply ``data`` along ``axis`` by :func:`window_function` (same parameters)."""
    n = data.shape[axis]
    w = window_function(n, sw_hz, window, lb_hz, gb, ssb)
    shape = [1] * data.ndim
    shape[axis] = n
    return data * w.reshape(shape)


def zero_fill(data: np.ndarray, size: int, axis: int = -1) -> np.ndarray:
    """Pad ``data`` with zeros (or truncate it) to ``size`` points along ``axis``."""
    n = data.shape[axis]
    if size <= n:
        return np.take(data, np.arange(size), axis=axis)
    pad = [(0, 0)] * data.ndim
    pad[axis] = (0, size - n)
    return np.pad(data, pad)


def remove_group_delay(fid: np.ndarray, grpdly: float, axis: int = -1) -> np.ndarray:
    """Shift a digitally filtered FID left by ``grpdly`` points (fractional) in the time domain.

    The shift is an exact band-limited (FFT) shift on a buffer twice as long as the FID, so
    the filter's pre-echo (the points before t = 0) is discarded instead of being wrapped onto
    the end of the FID.  The last ``ceil(grpdly)`` points, which held no signal, are dropped.
    Removing the delay before apodisation matters: a window applied to the delayed FID would
    weight t = 0 by ``w(grpdly / sw)`` and bias every volume.

    Parameters
    ----------
    fid : numpy.ndarray
        Complex time-domain data.
    grpdly : float
        Group delay, points (Bruker ``GRPDLY`` or the DSPFVS/DECIM table value).
    axis : int
        Time axis.

    Returns
    -------
    numpy.ndarray
        Shifted data, ``n - ceil(grpdly)`` points along ``axis``; index 0 is t = 0.
    """
    if not grpdly:
        return np.asarray(fid, dtype=complex)
    n = fid.shape[axis]
    buf = zero_fill(np.asarray(fid, dtype=complex), 2 * n, axis=axis)
    freq = np.fft.fftfreq(2 * n)
    shape = [1] * buf.ndim
    shape[axis] = 2 * n
    shifted = np.fft.ifft(np.fft.fft(buf, axis=axis) * np.exp(2j * np.pi * grpdly * freq)
                          .reshape(shape), axis=axis)
    keep = n - int(math.ceil(grpdly))
    return np.take(shifted, np.arange(max(keep, 1)), axis=axis)


def fft_nmr(data: np.ndarray, axis: int = -1, grpdly: float = 0.0) -> np.ndarray:
    """Fourier transform into NMR order (index 0 = highest frequency, carrier at ``n // 2``).

    Parameters
    ----------
    data : numpy.ndarray
        Complex time-domain data.
    axis : int
        Axis to transform.
    grpdly : float
        Delay of the signal, in points, removed exactly as a linear phase (Bruker digital
        filter ``GRPDLY``, fractional).

    Returns
    -------
    numpy.ndarray
        Complex spectrum, unscaled DFT (sum over time points).
    """
    spec = np.fft.fftshift(np.fft.fft(data, axis=axis), axes=axis)
    n = data.shape[axis]
    if grpdly:
        freq = np.fft.fftshift(np.fft.fftfreq(n))
        shape = [1] * data.ndim
        shape[axis] = n
        spec = spec * np.exp(2j * np.pi * grpdly * freq).reshape(shape)
    return np.roll(np.flip(spec, axis=axis), 1, axis=axis)


def ppm_axis(n: int, sw_hz: float, sf_mhz: float, carrier_ppm: float) -> np.ndarray:
    """Chemical shift of every point of an NMR-ordered spectrum of ``n`` points, ppm."""
    step = sw_hz / (sf_mhz * n)
    return carrier_ppm + (n // 2 - np.arange(n)) * step


def phase(data: np.ndarray, p0: float = 0.0, p1: float = 0.0, axis: int = -1) -> np.ndarray:
    """TopSpin phase correction: multiply by ``exp(-1j*(p0 + p1*i/n))``, angles in degrees."""
    n = data.shape[axis]
    ph = np.deg2rad(p0 + p1 * np.arange(n) / n)
    shape = [1] * data.ndim
    shape[axis] = n
    return data * np.exp(-1j * ph).reshape(shape)


# --------------------------------------------------------------------------------------------
# F1 quadrature
# --------------------------------------------------------------------------------------------


def f1_complex_interferogram(f2_spectra: np.ndarray, fnmode: str) -> tuple[np.ndarray, np.ndarray]:
    """Combine F2-transformed rows into complex t1 interferograms.

    Parameters
    ----------
    f2_spectra : numpy.ndarray
        Complex F2 spectra of every acquired row, shape (rows, n_f2), before F2 phasing.
    fnmode : str
        Quadrature mode in F1, one of :data:`FNMODES`.

    Returns
    -------
    re_part, im_part : numpy.ndarray
        Complex t1 interferograms (t1 along axis 0) built from the real and from the imaginary
        part of the F2 spectra.  After an F2 phase ``phi`` (TopSpin sign) the interferogram of
        the phased absorptive part is ``cos(phi) * re_part + sin(phi) * im_part``.
        For ``"TPPI"`` they are real-valued sequences at half the t1 dwell time.
    """
    s = np.asarray(f2_spectra)
    if fnmode in ("States", "States-TPPI", "echo-antiecho"):
        n = (s.shape[0] // 2) * 2
        if n == 0:
            raise ValueError(f"{fnmode} needs at least 2 rows, found {s.shape[0]}")
        a, b = s[0:n:2], s[1:n:2]
        if fnmode == "echo-antiecho":  # TopSpin's combination, see the module docstring
            a, b = 0.5j * (a + b), 0.5 * (b - a)
        re_part = a.real + 1j * b.real
        im_part = a.imag + 1j * b.imag
        if fnmode == "States-TPPI":
            sign = (-1.0) ** np.arange(re_part.shape[0])[:, None]
            re_part, im_part = re_part * sign, im_part * sign
        return re_part, im_part
    if fnmode == "TPPI":
        return s.real.astype(complex), s.imag.astype(complex)
    if fnmode == "QF":
        return s, -1j * s
    raise ValueError(f"unknown F1 mode {fnmode!r}; expected one of {FNMODES}")


def f1_transform(t1: np.ndarray, fnmode: str, size: int) -> np.ndarray:
    """Fourier transform complex t1 interferograms (axis 0) into an NMR-ordered F1 axis.

    For TPPI the real sequence is transformed at twice the size and the positive-frequency
    half is kept.  The result has ``size`` rows in every mode.
    """
    if fnmode == "TPPI":
        full = np.fft.fft(zero_fill(t1, 2 * size, axis=0), axis=0)[:size]
        return np.roll(np.flip(full, axis=0), 1, axis=0)
    return fft_nmr(zero_fill(t1, size, axis=0), axis=0)


# --------------------------------------------------------------------------------------------
# 2D processing
# --------------------------------------------------------------------------------------------


def _resolved(options: ProcessingOptions, acq: AcquisitionParameters, td2: int,
              n_t1: int) -> ProcessingOptions:
    """Options with file defaults and built-in defaults filled in."""
    opts = options.merged_with(acq.defaults)
    builtin = ProcessingOptions(
        window_f2="none", lb_hz_f2=0.0, gb_f2=0.0, ssb_f2=0.0,
        size_f2=int(2 ** math.ceil(math.log2(max(td2, 8)))),
        p0_f2=0.0, p1_f2=0.0,
        window_f1="none", lb_hz_f1=0.0, gb_f1=0.0, ssb_f1=0.0,
        size_f1=int(2 ** math.ceil(math.log2(max(2 * n_t1, 8)))),
        p0_f1=0.0, p1_f1=0.0, fnmode=acq.fnmode,
    )
    return opts.merged_with(builtin)


def _strip(acq: AcquisitionParameters, dim: str, size: int) -> tuple[int, int]:
    """(first point, number of points) kept of a transform of ``size`` points."""
    strip = getattr(acq, f"strip_{dim}")
    if strip is None or size != getattr(acq, f"strip_size_{dim}"):
        return 0, size
    start, count = int(strip[0]), int(strip[1])
    if start < 0 or count < 1 or start + count > size:
        return 0, size
    return start, count


def transform_f2(fid: np.ndarray, acq: AcquisitionParameters, opts: ProcessingOptions,
                 ) -> np.ndarray:
    """Direct-dimension transform of every row of raw data (no phasing).

    A digitally filtered FID (``acq.grpdly > 0``) is first shifted by the group delay
    (:func:`remove_group_delay`), so that the window and the first-point factor act on the
    signal's t = 0, and the spectrum is multiplied by the constant ``exp(-i pi g)`` that
    TopSpin's removal of the delay leaves (its linear phase pivots on the edge of the
    spectrum, see the module docstring): TopSpin's stored PHC0 then applies unchanged.
    ``opts`` must be resolved (no ``None`` fields); the result has ``opts.size_f2`` points,
    scaled by ``2 sf / sw``.
    """
    x = np.asarray(fid, dtype=complex)
    if acq.td_used_f2 is not None and 0 < acq.td_used_f2 < x.shape[1]:
        x = x[:, :acq.td_used_f2]
    fp2 = opts.first_point_scale_f2
    if fp2 is None:
        fp2 = 1.0 if acq.grpdly > 0 else opts.first_point_scale
    x = remove_group_delay(x, acq.grpdly, axis=1)
    x = scale_first_point(x, fp2, axis=1)
    x = apodize(x, acq.sw_hz_f2, opts.window_f2, opts.lb_hz_f2, opts.gb_f2, opts.ssb_f2, axis=1)
    spec = fft_nmr(zero_fill(x, opts.size_f2, axis=1), axis=1)
    if acq.grpdly:
        spec = spec * np.exp(-1j * np.pi * acq.grpdly)
    return spec * (2.0 * acq.sf_mhz_f2 / acq.sw_hz_f2)


def transform_2d(fid: np.ndarray, acq: AcquisitionParameters,
                 options: ProcessingOptions | None = None) -> Hypercomplex2D:
    """Window, zero-fill and Fourier transform raw 2D data in both dimensions (no phasing).

    Parameters
    ----------
    fid : numpy.ndarray
        Complex raw data, shape (rows, td2): one complex FID per row, rows in acquisition
        order (for States-type modes, cosine and sine rows alternate).
    acq : AcquisitionParameters
        Spectral widths, referencing, F1 mode, group delay, strips, prediction and stored
        processing settings.
    options : ProcessingOptions, optional
        Overrides of the stored settings.

    Returns
    -------
    Hypercomplex2D
        Scaled so that peak volumes (intensity x ppm^2) equal signal amplitudes at t = 0.
    """
    fid = np.asarray(fid, dtype=complex)
    if fid.ndim != 2:
        raise ValueError(f"expected 2D raw data (rows, points), got shape {fid.shape}")
    opts = _resolved(options or ProcessingOptions(), acq, fid.shape[1], fid.shape[0])
    fnmode = opts.fnmode
    x = transform_f2(fid, acq, opts)
    s2, c2 = _strip(acq, "f2", opts.size_f2)
    x = x[:, s2:s2 + c2]
    re_t1, im_t1 = f1_complex_interferogram(x, fnmode)
    t1_rate = 2.0 * acq.sw_hz_f1 if fnmode == "TPPI" else acq.sw_hz_f1
    scale_f1 = 2.0 * acq.sf_mhz_f1 / acq.sw_hz_f1
    parts = []
    for t1 in (re_t1, im_t1):
        if acq.td_used_f1 is not None and 0 < acq.td_used_f1 < t1.shape[0]:
            t1 = t1[:acq.td_used_f1]
        if acq.lp_f1 is not None and fnmode not in ("TPPI", "QF"):
            t1 = predict_forward(t1, acq.lp_f1[0], acq.lp_f1[1], axis=0)
        t1 = scale_first_point(t1, opts.first_point_scale, axis=0)
        t1 = apodize(t1, t1_rate, opts.window_f1, opts.lb_hz_f1, opts.gb_f1, opts.ssb_f1,
                     axis=0)
        parts.append(f1_transform(t1, fnmode, opts.size_f1) * scale_f1)
    s1, c1 = _strip(acq, "f1", opts.size_f1)
    ppm_f2 = ppm_axis(opts.size_f2, acq.sw_hz_f2, acq.sf_mhz_f2, acq.carrier_ppm_f2)
    ppm_f1 = ppm_axis(opts.size_f1, acq.sw_hz_f1, acq.sf_mhz_f1, acq.carrier_ppm_f1)
    return Hypercomplex2D(parts[0][s1:s1 + c1], parts[1][s1:s1 + c1], ppm_f1[s1:s1 + c1],
                          ppm_f2[s2:s2 + c2], n_full_f1=opts.size_f1, n_full_f2=opts.size_f2,
                          offset_f1=s1, offset_f2=s2)


def processing_description(acq: AcquisitionParameters, options: ProcessingOptions | None,
                           rows: int, td2: int) -> dict[str, dict[str, Any]]:
    """How :func:`transform_2d` processes each dimension, for exact line-shape models.

    Parameters
    ----------
    acq : AcquisitionParameters
        Acquisition parameters of the raw data.
    options : ProcessingOptions, optional
        The options passed to :func:`transform_2d`.
    rows : int
        Number of raw rows (t1 increments x quadrature components) transformed.
    td2 : int
        Complex points per raw FID.

    Returns
    -------
    dict
        ``{"processing_f1": {...}, "processing_f2": {...}}``, each with ``mode``
        (``"complex"``; ``"tppi"`` for a real t1 sequence and ``"qf"`` for phase-twisted
        single-channel t1 data, which the line-shape model does not cover), ``td_complex``
        (signal points that were apodised and transformed, predicted ones included),
        ``sw_hz`` (sampling rate, Hz), ``sf_mhz``, ``window``, ``lb_hz``, ``gb``, ``ssb``,
        ``window_offset`` and ``window_points`` (0 and ``td_complex`` here: exsyfit windows
        from the signal's t = 0; TopSpin's 2rr descriptions differ),
        ``size`` (points after zero filling) and ``first_point_scale``: the weight of the
        point at t = 0 relative to an ideal sample (factor applied times the fraction of the
        signal the point holds; a digitally filtered FID holds about half of the signal in
        its first point after the group delay).
        Suitable for :class:`exsyfit.processing.lineshapes.ProcessedLineProfile.from_metadata`.
    """
    opts = _resolved(options or ProcessingOptions(), acq, td2, rows)
    fp2 = opts.first_point_scale_f2
    if fp2 is None:
        fp2 = 1.0 if acq.grpdly > 0 else opts.first_point_scale
    n_rec = td2
    if acq.td_used_f2 is not None and 0 < acq.td_used_f2 < td2:
        n_rec = acq.td_used_f2
    held = 0.5 if acq.grpdly > 0 else 1.0
    n2 = max(n_rec - int(math.ceil(acq.grpdly)), 1) if acq.grpdly else n_rec
    f2 = {"mode": "complex", "td_complex": int(n2), "sw_hz": float(acq.sw_hz_f2),
          "sf_mhz": float(acq.sf_mhz_f2), "window": opts.window_f2,
          "lb_hz": float(opts.lb_hz_f2), "gb": float(opts.gb_f2), "ssb": float(opts.ssb_f2),
          "window_offset": 0.0, "window_points": int(n2), "size": int(opts.size_f2),
          "first_point_scale": float(fp2 * held)}
    tppi = opts.fnmode == "TPPI"
    n1 = rows if tppi or opts.fnmode == "QF" else rows // 2
    if acq.td_used_f1 is not None and 0 < acq.td_used_f1 < n1:
        n1 = acq.td_used_f1
    if acq.lp_f1 is not None and not tppi and opts.fnmode != "QF":
        n1 = max(n1, int(acq.lp_f1[0]))
    mode = "tppi" if tppi else ("qf" if opts.fnmode == "QF" else "complex")
    f1 = {"mode": mode, "td_complex": int(n1),
          "sw_hz": float(2.0 * acq.sw_hz_f1 if tppi else acq.sw_hz_f1),
          "sf_mhz": float(acq.sf_mhz_f1), "window": opts.window_f1,
          "lb_hz": float(opts.lb_hz_f1), "gb": float(opts.gb_f1), "ssb": float(opts.ssb_f1),
          "window_offset": 0.0, "window_points": int(n1),
          "size": int(opts.size_f1), "first_point_scale": float(opts.first_point_scale)}
    return {"processing_f1": f1, "processing_f2": f2}


def resolved_phases(options: ProcessingOptions, acq: AcquisitionParameters,
                    ) -> tuple[float, float, float, float]:
    """Phases ``(p0_f2, p1_f2, p0_f1, p1_f1)`` after filling ``None`` from the file defaults."""
    opts = options.merged_with(acq.defaults)
    return tuple(float(getattr(opts, k) or 0.0)  # type: ignore[return-value]
                 for k in ("p0_f2", "p1_f2", "p0_f1", "p1_f1"))


def finish_2d(hc: Hypercomplex2D, phases: tuple[float, float, float, float],
              options: ProcessingOptions) -> np.ndarray:
    """Phase a transformed spectrum and apply the requested baseline correction."""
    spec = phase_2d(hc, *phases)
    return baseline_2d(spec, options.baseline_order_f2, options.baseline_order_f1)


def process_2d(fid_2d: np.ndarray, acq_params: AcquisitionParameters,
               options: ProcessingOptions | None = None,
               ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Raw 2D data -> real pure-absorption spectrum with its ppm axes.

    Parameters
    ----------
    fid_2d : numpy.ndarray
        Complex raw data, shape (rows, td2), group delay still present.
    acq_params : AcquisitionParameters
        Acquisition and stored processing parameters.
    options : ProcessingOptions, optional
        User overrides; with ``auto_phase`` the phases are optimised on this spectrum.

    Returns
    -------
    spectrum : numpy.ndarray
        Real spectrum (n_f1, n_f2), volumes in (signal amplitude) x ppm^2.
    ppm_f1, ppm_f2 : numpy.ndarray
        Axes, decreasing with index.
    """
    options = options or ProcessingOptions()
    hc = transform_2d(fid_2d, acq_params, options)
    phases = resolved_phases(options, acq_params)
    if options.auto_phase:
        phases = auto_phase([hc], start=phases)
    return finish_2d(hc, phases, options), hc.ppm_f1, hc.ppm_f2
