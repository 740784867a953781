"""Peak shapes with known areas, shared by the simulator and the lineshape integrator.

All shapes are normalised to unit area over ppm: the integral of ``pseudo_voigt(x, ...)``
over x (ppm) is 1, so a 2D peak ``volume * pseudo_voigt(f1) * pseudo_voigt(f2)`` integrates
to ``volume`` in intensity x ppm^2.
"""

from __future__ import annotations

from dataclasses import dataclass

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
