"""Time-domain building blocks shared by the simulated vendor files.

Each simulated peak is a pseudo-Voigt line; its time-domain envelope is
``eta * exp(-pi w |t|) + (1 - eta) * exp(-(pi w t)**2 / (4 ln 2))`` with ``w`` the FWHM in Hz,
equal to 1 at t = 0 so that the transformed peak's volume equals the signal amplitude at t = 0.
"""

from __future__ import annotations

import numpy as np

__all__ = ["decay", "delay"]


def decay(t: np.ndarray, fwhm_hz: float | np.ndarray, eta: float | np.ndarray) -> np.ndarray:
    """Pseudo-Voigt time-domain envelope, value 1 at t = 0.

    Parameters
    ----------
    t : ndarray
        Times, s (negative times give the mirrored envelope).
    fwhm_hz : float or ndarray
        Full width at half maximum of the line, Hz (broadcast against ``t``).
    eta : float or ndarray
        Lorentzian fraction, 0 to 1.

    Returns
    -------
    ndarray
        The envelope at ``t``.
    """
    x = np.pi * np.asarray(fwhm_hz) * np.abs(t)
    return eta * np.exp(-x) + (1.0 - eta) * np.exp(-(x**2) / (4.0 * np.log(2.0)))


def delay(signal: np.ndarray, points: float) -> np.ndarray:
    """Band-limited delay of each row by ``points`` (fractional), pre-echo kept at the start.

    Parameters
    ----------
    signal : ndarray
        Complex signal, time along the last axis.
    points : float
        Delay in sampling intervals.

    Returns
    -------
    ndarray
        The delayed signal, same shape.
    """
    n = signal.shape[-1]
    buf = np.zeros(signal.shape[:-1] + (2 * n,), complex)
    buf[..., :n] = signal
    f = np.fft.fftfreq(2 * n)
    return np.fft.ifft(np.fft.fft(buf, axis=-1) * np.exp(-2j * np.pi * points * f),
                       axis=-1)[..., :n]
