"""Peak shapes with known areas, shared by the simulator and the lineshape integrator.

All shapes are normalised to unit area over ppm: the integral of ``pseudo_voigt(x, ...)``
over x (ppm) is 1, so a 2D peak ``volume * pseudo_voigt(f1) * pseudo_voigt(f2)`` integrates
to ``volume`` in intensity x ppm^2.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

_GAUSS_NORM = 2.0 * np.sqrt(np.log(2.0) / np.pi)


def gaussian(x: np.ndarray, center: float, fwhm: float) -> np.ndarray:
    """Unit-area Gaussian in ppm. ``fwhm`` is the full width at half maximum, ppm."""
    x = np.asarray(x, dtype=float)
    return _GAUSS_NORM / fwhm * np.exp(-4.0 * np.log(2.0) * ((x - center) / fwhm) ** 2)


def lorentzian(x: np.ndarray, center: float, fwhm: float) -> np.ndarray:
    """Unit-area Lorentzian in ppm. ``fwhm`` is the full width at half maximum, ppm."""
    x = np.asarray(x, dtype=float)
    hw = 0.5 * fwhm
    return hw / np.pi / ((x - center) ** 2 + hw**2)


def pseudo_voigt(x: np.ndarray, center: float, fwhm: float, eta: float) -> np.ndarray:
    """Unit-area pseudo-Voigt: ``eta`` x Lorentzian + (1 - eta) x Gaussian, same FWHM (ppm)."""
    return eta * lorentzian(x, center, fwhm) + (1.0 - eta) * gaussian(x, center, fwhm)


def peak_2d(
    ppm_f1: np.ndarray,
    ppm_f2: np.ndarray,
    center_f1: float,
    center_f2: float,
    fwhm_f1: float,
    fwhm_f2: float,
    eta_f1: float = 0.5,
    eta_f2: float = 0.5,
) -> np.ndarray:
    """Unit-volume 2D peak (product of two pseudo-Voigt lines), shape (len(f1), len(f2))."""
    return np.outer(
        pseudo_voigt(ppm_f1, center_f1, fwhm_f1, eta_f1),
        pseudo_voigt(ppm_f2, center_f2, fwhm_f2, eta_f2),
    )


@dataclass(frozen=True)
class SimPeak:
    """One 2D peak of a simulated spectrum.

    Parameters
    ----------
    ppm_f1, ppm_f2 : float
        Peak position, ppm (F1 = started site, F2 = detected site).
    volume : float
        Integral of the peak, intensity x ppm^2, on the series' common intensity scale.
    fwhm_f1_ppm, fwhm_f2_ppm : float
        Full widths at half maximum, ppm.
    eta_f1, eta_f2 : float
        Lorentzian fraction of the pseudo-Voigt line in each dimension (0 = Gaussian).
    """

    ppm_f1: float
    ppm_f2: float
    volume: float
    fwhm_f1_ppm: float
    fwhm_f2_ppm: float
    eta_f1: float = 0.5
    eta_f2: float = 0.5

    def render(self, ppm_f1: np.ndarray, ppm_f2: np.ndarray) -> np.ndarray:
        """The peak sampled on the given ppm axes, shape (len(ppm_f1), len(ppm_f2))."""
        return self.volume * peak_2d(
            ppm_f1, ppm_f2, self.ppm_f1, self.ppm_f2,
            self.fwhm_f1_ppm, self.fwhm_f2_ppm, self.eta_f1, self.eta_f2,
        )


# --------------------------------------------------------------------------------------------
# Lines of spectra processed from raw data
# --------------------------------------------------------------------------------------------

_PROFILE_WINDOWS = ("none", "em", "gm", "sine", "qsine")
_PROFILE_CACHE: dict[tuple, np.ndarray] = {}
_PROFILE_CACHE_SIZE = 64


def _remember(key: tuple, value: np.ndarray) -> None:
    """Store an array in the small profile cache, dropping the oldest entries when full."""
    while len(_PROFILE_CACHE) >= _PROFILE_CACHE_SIZE:
        _PROFILE_CACHE.pop(next(iter(_PROFILE_CACHE)))
    value.flags.writeable = False
    _PROFILE_CACHE[key] = value


@dataclass(frozen=True)
class ProcessedLineProfile:
    """Exact line shape of one dimension of a spectrum that exsyfit processed from raw data.

    A line of the processed spectrum is the real part of the processed transform of a
    decaying complex exponential: ``td_complex`` points sampled every ``1 / sw_hz`` s,
    multiplied by the apodisation window and the first-point factor, zero filled and Fourier
    transformed.  Its value at any frequency is the discrete-time Fourier transform of the
    weighted samples (zero filling only chooses where it is sampled), so it is evaluated
    exactly, at any centre frequency and on any ppm axis, including aliasing.

    The decay is the pseudo-Voigt envelope ``eta*exp(-pi*w*t) + (1-eta)*exp(-(pi*w*t)**2 /
    (4 ln 2))`` with ``w`` the FWHM in Hz, so that for long, unwindowed acquisitions the line
    tends to :func:`pseudo_voigt` with the same FWHM and ``eta``.

    Normalisation: under exsyfit's scaling (each transform multiplied by ``2 sf / sw``) the
    ppm integral over one spectral width of the processed line of a unit-amplitude signal is
    ``2 * first_point_scale * window(0)``; the profile is divided by this factor so that it
    has unit area like :func:`pseudo_voigt` (for the usual first-point factor 0.5 and a
    window equal to 1 at t = 0 the factor is exactly 1, so the fitted volume is the signal
    amplitude at t = 0).  When the factor is below 0.05 (sine bells starting at zero) the
    integral carries no information and the profile is left at unit signal amplitude.

    Parameters
    ----------
    td_complex : int
        Number of complex time points that were apodised and transformed (for a digitally
        filtered direct dimension: after removal of the group delay).
    sw_hz : float
        Sampling rate (spectral width), Hz.
    sf_mhz : float
        Reference frequency defining ppm, MHz.
    window : str
        ``"none"``, ``"em"``, ``"gm"``, ``"sine"`` or ``"qsine"`` (definitions of
        :func:`exsyfit.processing.transforms.window_function`).
    lb_hz : float
        Line broadening, Hz (``em``, ``gm``).
    gb : float
        Gaussian maximum as a fraction of the acquisition time (``gm``).
    ssb : float
        Sine-bell shift (``sine``, ``qsine``).
    size : int
        Number of points after zero filling (informative: the profile does not depend on it).
    first_point_scale : float
        Effective weight of the first time point: the factor applied in processing times the
        fraction of the signal the point holds (0.5 for a Bruker digital filter, which leaves
        about half of the signal in the point at t = 0).
    window_offset : float
        Index of the window at the signal's t = 0 (TopSpin windows a digitally filtered FID
        with its group delay, so ``GRPDLY``; 0 otherwise).
    window_points : int
        Number of points the window spans (the recorded FID); 0 means ``td_complex``.
    """

    td_complex: int
    sw_hz: float
    sf_mhz: float
    window: str = "none"
    lb_hz: float = 0.0
    gb: float = 0.0
    ssb: float = 0.0
    size: int = 0
    first_point_scale: float = 0.5
    window_offset: float = 0.0
    window_points: int = 0

    def __post_init__(self) -> None:
        if self.td_complex < 1:
            raise ValueError(f"td_complex must be >= 1, got {self.td_complex}")
        if not (self.sw_hz > 0 and self.sf_mhz > 0):
            raise ValueError(f"sw_hz and sf_mhz must be positive, got {self.sw_hz}, "
                             f"{self.sf_mhz}")
        if self.window not in _PROFILE_WINDOWS:
            raise ValueError(f"unknown window {self.window!r}; expected one of "
                             f"{_PROFILE_WINDOWS}")

    @classmethod
    def from_metadata(cls, meta: dict[str, Any] | None) -> ProcessedLineProfile | None:
        """Profile from a ``Spectrum2D.metadata["processing_f1"/"processing_f2"]`` entry.

        The same keys describe TopSpin's processing of a 2rr
        (``metadata["processing_f1_topspin"]``, see
        :func:`exsyfit.io.bruker.topspin_processing`).

        Returns ``None`` when ``meta`` is missing or does not describe a complex (non-TPPI)
        transform with the keys ``td_complex``, ``sw_hz``, ``sf_mhz`` (for example
        ``{"mode": "unsupported", "reason": ...}``).
        """
        if not isinstance(meta, dict) or meta.get("mode", "complex") != "complex":
            return None
        try:
            return cls(
                td_complex=int(meta["td_complex"]), sw_hz=float(meta["sw_hz"]),
                sf_mhz=float(meta["sf_mhz"]), window=str(meta.get("window", "none")),
                lb_hz=float(meta.get("lb_hz", 0.0)), gb=float(meta.get("gb", 0.0)),
                ssb=float(meta.get("ssb", 0.0)), size=int(meta.get("size", 0)),
                first_point_scale=float(meta.get("first_point_scale", 0.5)),
                window_offset=float(meta.get("window_offset", 0.0)),
                window_points=int(meta.get("window_points", 0)),
            )
        except (KeyError, TypeError, ValueError):
            return None

    @property
    def times_s(self) -> np.ndarray:
        """Sampling times of the transformed points, s."""
        return np.arange(self.td_complex) / self.sw_hz

    @property
    def weights(self) -> np.ndarray:
        """Window times first-point factor for every time point."""
        return self._weights().copy()

    def _weights(self) -> np.ndarray:
        key = (self, "weights")
        if key in _PROFILE_CACHE:
            return _PROFILE_CACHE[key]
        from exsyfit.processing.transforms import window_function

        w = window_function(self.td_complex, self.sw_hz, self.window, self.lb_hz, self.gb,
                            self.ssb, offset=self.window_offset,
                            n_total=self.window_points or None)
        w = np.array(w, dtype=float)
        w[0] *= self.first_point_scale
        _remember(key, w)
        return w

    def _probe(self, ppm: np.ndarray) -> np.ndarray:
        """``exp(-2 pi i nu t)`` for every point (rows) and time (columns), cached."""
        key = (self, ppm.tobytes())
        if key not in _PROFILE_CACHE:
            nu = ppm * self.sf_mhz
            _remember(key, np.exp(-2j * np.pi * nu[:, None] * self.times_s[None, :]))
        return _PROFILE_CACHE[key]

    @property
    def integral_factor(self) -> float:
        """ppm integral of the processed line of a unit-amplitude signal (``2 fp w(0)``)."""
        return 2.0 * float(self.weights[0])

    def lines(self, ppm: np.ndarray, center: np.ndarray, fwhm: np.ndarray,
              eta: np.ndarray) -> np.ndarray:
        """Unit-area processed lines, shape (len(ppm), n_lines).

        Parameters
        ----------
        ppm : numpy.ndarray
            Points where the lines are evaluated, ppm (any axis, 1D).
        center, fwhm, eta : numpy.ndarray
            Centre (ppm), FWHM of the decay's spectrum (ppm) and Lorentzian fraction of
            every line; scalars or arrays of one common length.

        Returns
        -------
        numpy.ndarray
            Line intensities per ppm, shape (len(ppm), n_lines).
        """
        ppm = np.asarray(ppm, dtype=float).ravel()
        center, fwhm, eta = (np.atleast_1d(np.asarray(v, dtype=float))
                             for v in (center, fwhm, eta))
        center, fwhm, eta = np.broadcast_arrays(center, fwhm, eta)
        t = self.times_s
        x = np.pi * (fwhm * self.sf_mhz)[None, :] * t[:, None]
        decay = eta * np.exp(-x) + (1.0 - eta) * np.exp(-(x**2) / (4.0 * np.log(2.0)))
        # exp(2 pi i (nu_c - nu_p) t) = exp(2 pi i nu_c t) * exp(-2 pi i nu_p t), nu in Hz
        # from 0 ppm (phases of a few hundred radians: no loss of precision in double)
        carrier = np.exp(2j * np.pi * (center * self.sf_mhz)[None, :] * t[:, None])
        sig = (self._weights()[:, None] * decay) * carrier
        probe = self._probe(ppm)
        norm = 2.0 * float(self._weights()[0])
        if norm < 0.05:
            norm = 1.0
        return (2.0 * self.sf_mhz / self.sw_hz / norm) * (probe @ sig).real

    def line(self, ppm: np.ndarray, center: float, fwhm: float, eta: float) -> np.ndarray:
        """One unit-area processed line (ppm^-1) at ``ppm``; see :meth:`lines`."""
        return self.lines(ppm, np.array([center]), np.array([fwhm]), np.array([eta]))[:, 0]
