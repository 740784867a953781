"""Polynomial baseline correction of 2D spectra, robust against peaks."""

from __future__ import annotations

import numpy as np
from scipy import ndimage

from exsyfit.processing.noise import robust_sigma

__all__ = ["baseline_2d", "baseline_correct"]


def baseline_correct(data: np.ndarray, order: int, axis: int = -1, n_iter: int = 4,
                     clip: float = 3.0, dilate: int = 3) -> np.ndarray:
    """Subtract a polynomial baseline from every 1D trace along ``axis``.

    Starting from each trace's median, the polynomial of each trace is fitted by least squares
    to the points that are not signal: points deviating from the current baseline by more than
    ``clip`` robust standard deviations (median absolute deviation of the baseline points of the
    whole spectrum), and their ``dilate`` neighbours on each side, are excluded, iteratively
    (noise from :func:`exsyfit.processing.noise.robust_sigma`).  Traces with too few baseline
    points keep their median.  Wings of broad lines that fall below the noise are treated as
    baseline.

    Parameters
    ----------
    data : numpy.ndarray
        Real 2D spectrum.
    order : int
        Polynomial order (0 = constant offset).
    axis : int
        1 or -1: along F2 (each row); 0: along F1 (each column).
    n_iter : int
        Number of exclusion rounds.
    clip : float
        Exclusion threshold, robust standard deviations.
    dilate : int
        Points on each side of a signal point also excluded from the fit.

    Returns
    -------
    numpy.ndarray
        Corrected copy of ``data``.
    """
    x = np.moveaxis(np.asarray(data, dtype=float), axis, -1)
    n = x.shape[-1]
    u = np.linspace(-1.0, 1.0, n)
    v = np.polynomial.legendre.legvander(u, order)  # (n, order+1)
    base = np.broadcast_to(np.median(x, axis=-1, keepdims=True), x.shape).copy()
    floor = 1e-12 * max(float(np.abs(x).max()), 1e-300)
    sigma = max(float(robust_sigma(x - base)), floor)
    struct = np.ones((1,) * (x.ndim - 1) + (2 * dilate + 1,), bool)
    min_points = max(2 * (order + 1), n // 10)
    for _ in range(n_iter):
        signal = np.abs(x - base) > clip * sigma
        if dilate > 0:
            signal = ndimage.binary_dilation(signal, structure=struct)
        w = (~signal).astype(float)
        ok = w.sum(axis=-1) >= min_points  # traces with enough baseline points
        ata = np.einsum("...k,ki,kj->...ij", w, v, v)
        atb = np.einsum("...k,ki,...k->...i", w, v, x)
        ata[~ok] = np.eye(order + 1)
        atb[~ok] = 0.0
        coef = np.linalg.solve(ata, atb[..., None])[..., 0]
        base = np.where(ok[..., None], coef @ v.T, base)
        quiet = (w > 0) & ok[..., None]
        if quiet.any():
            sigma = max(float(robust_sigma((x - base)[quiet])), floor)
    return np.moveaxis(x - base, -1, axis)


def baseline_2d(data: np.ndarray, order_f2: int | None, order_f1: int | None) -> np.ndarray:
    """Polynomial baseline correction along F2 (rows) and then F1 (columns); ``None`` skips."""
    out = np.asarray(data, dtype=float)
    if order_f2 is not None:
        out = baseline_correct(out, order_f2, axis=1)
    if order_f1 is not None:
        out = baseline_correct(out, order_f1, axis=0)
    return out
