"""Uncertainty of peak volumes measured from the spectrum's own empty regions.

Every volume estimator used by :mod:`exsyfit.integrate` is linear in the data: a box or
ellipse
integral with a fitted baseline, and an amplitude from linear least squares with fixed peak
shapes, can all be written as ``V = sum(w * data)`` for a *weight map* ``w`` (intensity x ppm^2
per unit intensity).  The noise of ``V`` is then ``var(sum(w * noise))``, which depends on how
the noise is correlated between points (apodisation and zero filling correlate neighbouring
points; t1 noise runs as streaks along F1 through intense peaks).  Instead of assuming white
noise (``sigma_point**2 * sum(w**2)``, wrong by factors of several for apodised data) the
weight map is slid over signal-free parts of the spectrum and applied there; the scatter of the
results is the variance of the volume, with every correlation included.

The map is moved along F1 only, so it stays in the F2 columns of the peak: t1-noise streaks,
which run along F1 in the columns of intense peaks, are sampled with their real strength (they
would be missed by regions taken from other columns).  Only when the columns do not hold enough
empty rows are shifts along F2 added.

The same construction gives the covariance between the volumes of different peaks of one
spectrum (needed for sums and ratios), because all maps are applied to the same placements.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

__all__ = ["NoiseEstimate", "empty_region_covariance", "point_noise", "white_noise_covariance"]


@dataclass(frozen=True)
class NoiseEstimate:
    """Covariance of linear volume estimators measured in empty regions.

    Parameters
    ----------
    cov : numpy.ndarray
        Covariance of the volumes, shape (n_spectra, n_peaks, n_peaks), (intensity x ppm^2)^2.
    n_regions : float
        Effective number of independent empty regions the estimate rests on (placements
        divided by the extent of the weight map).  The relative uncertainty of a sigma is
        about ``1/sqrt(2 n_regions)``.
    direction : str
        ``"F1"`` (shifted along F1 in the peak's own columns), ``"F1+F2"`` (shifts along F2
        added because the columns held too few empty rows) or ``"white"`` (no empty region
        large enough: white-noise formula from the point noise, correlations ignored).
    """

    cov: np.ndarray
    n_regions: float
    direction: str

    @property
    def sigma(self) -> np.ndarray:
        """One-standard-deviation uncertainty of each volume, shape (n_spectra, n_peaks)."""
        return np.sqrt(np.clip(np.diagonal(self.cov, axis1=1, axis2=2), 0.0, None))


#: Median absolute deviation of a standard normal sample, times this, is its standard deviation.
MAD_TO_SIGMA = 1.4826


def robust_sigma(values: np.ndarray, axis: int | None = None) -> np.ndarray | float:
    """Standard deviation of Gaussian noise from the median absolute deviation (MAD x 1.4826).

    Robust against the few large values that peaks add to a noise region.

    Parameters
    ----------
    values : numpy.ndarray
        Samples (intensity units).
    axis : int, optional
        Axis along which to estimate; ``None`` flattens.

    Returns
    -------
    float or numpy.ndarray
        The noise standard deviation (same units as ``values``); 0 for an empty input.
    """
    x = np.asarray(values, dtype=float)
    if x.size == 0:
        return 0.0
    med = np.median(x, axis=axis, keepdims=True)
    out = MAD_TO_SIGMA * np.median(np.abs(x - med), axis=axis)
    return float(out) if np.ndim(out) == 0 else out


def point_noise(residual: np.ndarray, signal_rows: np.ndarray) -> np.ndarray:
    """Robust standard deviation of single points in signal-free rows.

    Parameters
    ----------
    residual : numpy.ndarray
        Spectra (or spectra minus fitted peaks), shape (n_spectra, n_f1, n_f2).
    signal_rows : numpy.ndarray
        Boolean mask of F1 rows that hold signal, shape (n_f1,).

    Returns
    -------
    numpy.ndarray
        Point noise of each spectrum (intensity units), from the median absolute deviation.
    """
    free = residual[:, ~np.asarray(signal_rows, bool), :]
    if free.shape[1] == 0:
        free = residual
    return robust_sigma(free.reshape(free.shape[0], -1), axis=1)


def white_noise_covariance(weights: np.ndarray, sigma_point: np.ndarray) -> np.ndarray:
    """Covariance ``sigma_point**2 * W W^T`` that white (uncorrelated) noise would give.

    Parameters
    ----------
    weights : numpy.ndarray
        Weight maps, shape (n_peaks, ...).
    sigma_point : numpy.ndarray
        Point noise per spectrum, shape (n_spectra,).

    Returns
    -------
    numpy.ndarray
        Shape (n_spectra, n_peaks, n_peaks).
    """
    w = weights.reshape(weights.shape[0], -1)
    gram = w @ w.T
    return np.asarray(sigma_point, float)[:, None, None] ** 2 * gram[None]


def _circular_overlap(support: np.ndarray, blocked: np.ndarray) -> np.ndarray:
    """Number of blocked positions hit by the support at every circular shift s."""
    f = np.fft.ifft(np.conj(np.fft.fft(support.astype(float))) * np.fft.fft(blocked.astype(float)))
    return np.rint(f.real).astype(int)


def _extent(profile: np.ndarray) -> float:
    """Participation length of a non-negative profile (number of points it effectively spans)."""
    tot = profile.sum()
    sq = (profile**2).sum()
    return float(tot**2 / sq) if sq > 0 else 1.0


def _shift_values_f1(weights: np.ndarray, data_cols: np.ndarray) -> np.ndarray:
    """``v[k, p, s] = sum_{r,c} w[p, r, c] * d[k, (r + s) % n1, c]`` for every shift s."""
    wf = np.fft.fft(weights, axis=1)
    df = np.fft.fft(data_cols, axis=1)
    prod = np.einsum("pfc,kfc->kpf", np.conj(wf), df, optimize=True)
    return np.fft.ifft(prod, axis=2).real


def empty_region_covariance(
    weights: np.ndarray,
    cols: np.ndarray,
    residual: np.ndarray,
    signal_rows: np.ndarray,
    signal_cols: np.ndarray,
    *,
    min_regions: float = 8.0,
    pool: bool = True,
) -> NoiseEstimate:
    """Covariance of ``V_p = sum(weights[p] * data[:, cols])`` from empty-region placements.

    Parameters
    ----------
    weights : numpy.ndarray
        Weight maps, shape (n_peaks, n_f1, n_cols): full F1 height, restricted to the spectrum
        columns ``cols``.
    cols : numpy.ndarray
        Column (F2) indices of the spectrum the maps cover, shape (n_cols,).
    residual : numpy.ndarray
        Spectra with the fitted peaks removed (or the raw spectra), (n_spectra, n_f1, n_f2).
        Only placements clear of signal are used, so peak tails need not be removed perfectly.
    signal_rows, signal_cols : numpy.ndarray
        Boolean masks of the F1 rows and F2 columns that hold signal (peaks, tails, sidebands).
    min_regions : float
        Minimum effective number of independent regions along F1 (over all pooled spectra);
        below it, shifts along F2 (same rows, other columns) are added.
    pool : bool
        Spectra of one series share their processing, hence the correlation of their noise.
        With ``pool`` the *level* of the noise is measured per spectrum and per column (the mean
        square of each column in signal-free rows, precise because it uses every point) while
        the *correlation factor* (empty-region variance over the white-noise variance at that
        level) is averaged over the spectra, which multiplies the number of regions the factor
        rests on by the number of spectra.  Without ``pool`` each spectrum stands alone.

    Returns
    -------
    NoiseEstimate
        The covariance is the mean of ``v v^T`` over placements (not centred: a baseline offset
        the estimator does not remove counts as error).
    """
    weights = np.asarray(weights, float)
    cols = np.asarray(cols, int)
    signal_rows = np.asarray(signal_rows, bool)
    signal_cols = np.asarray(signal_cols, bool)
    n_spec = residual.shape[0]

    strength = (weights**2).sum(axis=0)  # (n1, n_cols)
    row_support = strength.sum(axis=1) > 0
    row_profile = np.sqrt(strength.sum(axis=1))
    valid = _circular_overlap(row_support, signal_rows) == 0
    samples = []
    n_eff = 0.0
    direction = "F1"
    if valid.any():
        v = _shift_values_f1(weights, residual[:, :, cols])
        samples.append(v[:, :, valid])
        n_eff = valid.sum() / _extent(row_profile)
    total = n_eff * (n_spec if pool else 1)
    if total < min_regions:
        v2, n_eff2 = _f2_shift_samples(weights, cols, residual, row_support, signal_cols)
        if v2 is not None:
            samples.append(v2)
            n_eff += n_eff2
            direction = "F1+F2"

    if not samples or sum(s.shape[2] for s in samples) < 2:
        sigma_pt = point_noise(residual, signal_rows)
        return NoiseEstimate(white_noise_covariance(weights, sigma_pt), 0.0, "white")

    vals = np.concatenate(samples, axis=2)
    cov = np.einsum("kps,kqs->kpq", vals, vals) / vals.shape[2]
    if pool and n_spec > 1:
        cov = _pooled(cov, weights, residual[:, :, cols], signal_rows)
        n_eff *= n_spec
    return NoiseEstimate(cov, float(n_eff), direction)


def _pooled(cov, weights, data_cols, signal_rows):
    """Per-spectrum, per-column noise level times the correlation factor pooled over spectra."""
    free = data_cols[:, ~signal_rows, :]
    if free.shape[1] < 2:
        return cov
    col_var = np.mean(free**2, axis=1)  # (n_spec, n_cols)
    col_w2 = (weights**2).sum(axis=1)  # (n_peaks, n_cols)
    level = np.sqrt(col_var @ col_w2.T)  # (n_spec, n_peaks): white-noise sigma at that level
    ok = np.all(level > 0, axis=0)
    if not ok.all():
        return cov
    factor = np.mean(cov / (level[:, :, None] * level[:, None, :]), axis=0)
    return level[:, :, None] * factor[None] * level[:, None, :]


def _f2_shift_samples(
    weights: np.ndarray,
    cols: np.ndarray,
    residual: np.ndarray,
    row_support: np.ndarray,
    signal_cols: np.ndarray,
) -> tuple[np.ndarray | None, float]:
    """Placements of the weight maps shifted along F2 (same rows) clear of signal columns."""
    n2 = residual.shape[2]
    rows = np.flatnonzero(row_support)
    full = np.zeros((weights.shape[0], rows.size, n2))
    full[:, :, cols] = weights[:, rows, :]
    col_support = np.zeros(n2, bool)
    col_support[cols] = (weights[:, rows, :] ** 2).sum(axis=(0, 1)) > 0
    valid = _circular_overlap(col_support, signal_cols) == 0
    if not valid.any():
        return None, 0.0
    wf = np.fft.fft(full, axis=2)
    df = np.fft.fft(residual[:, rows, :], axis=2)
    prod = np.einsum("prf,krf->kpf", np.conj(wf), df, optimize=True)
    v = np.fft.ifft(prod, axis=2).real[:, :, valid]
    col_profile = np.sqrt((full**2).sum(axis=(0, 1)))
    return v, valid.sum() / _extent(col_profile)
