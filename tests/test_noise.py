"""Empty-region noise of linear volume estimators against exactly known variances."""

import numpy as np
import pytest
from scipy.ndimage import gaussian_filter

from exsyfit.processing.noise import empty_region_covariance, point_noise, white_noise_covariance

N1, N2 = 256, 128
SIGMA = 0.7
SMOOTH = (2.0, 1.5)


def _box_maps():
    """Two weight maps (a 12 x 10 box and a tilted map) in rows 20..44, columns 40..70."""
    w = np.zeros((2, N1, 30))
    w[0, 24:36, 8:18] = 1.0
    r = np.arange(20, 44)[:, None]
    c = np.arange(30)[None, :]
    w[1, 20:44, :] = np.exp(-((r - 32) / 5.0) ** 2 - ((c - 15) / 6.0) ** 2) * (1 + 0.1 * (c - 15))
    return w, np.arange(40, 70)


def _masks():
    rows = np.zeros(N1, bool)
    rows[15:50] = True
    cols = np.zeros(N2, bool)
    cols[35:75] = True
    return rows, cols


def _smoothed(rng, n):
    return SIGMA * gaussian_filter(rng.normal(0, 1, (n, N1, N2)), (0, *SMOOTH), mode="wrap")


def _exact_var_smoothed(w, cols):
    """var(sum w * (K * n)) = SIGMA^2 * ||K^T w||^2 for a symmetric Gaussian kernel K."""
    full = np.zeros((w.shape[0], N1, N2))
    full[:, :, cols] = w
    kt = np.stack([gaussian_filter(m, SMOOTH, mode="wrap") for m in full])
    return SIGMA**2 * (kt**2).sum(axis=(1, 2))


def test_white_noise_matches_formula():
    rng = np.random.default_rng(3)
    w, cols = _box_maps()
    data = rng.normal(0, SIGMA, (6, N1, N2))
    rows, cmask = _masks()
    est = empty_region_covariance(w, cols, data, rows, cmask, pool=False)
    exact = SIGMA**2 * (w**2).sum(axis=(1, 2))
    ratio = np.mean(est.sigma**2, axis=0) / exact
    assert est.direction == "F1"
    assert ratio == pytest.approx([1.0, 1.0], abs=0.12)
    # the white-noise formula from the point noise agrees for white noise
    white = white_noise_covariance(w, point_noise(data, rows))
    assert np.diagonal(white, axis1=1, axis2=2).mean(0) / exact == pytest.approx([1, 1], abs=0.05)


def test_correlated_noise_variance_is_measured_not_assumed():
    rng = np.random.default_rng(4)
    w, cols = _box_maps()
    data = _smoothed(rng, 6)
    rows, cmask = _masks()
    est = empty_region_covariance(w, cols, data, rows, cmask)
    exact = _exact_var_smoothed(w, cols)
    ratio = np.mean(est.sigma**2, axis=0) / exact
    assert ratio == pytest.approx([1.0, 1.0], abs=0.15)
    # sqrt(N) x point noise would be wrong by a large factor for these data
    white = np.diagonal(white_noise_covariance(w, point_noise(data, rows)), axis1=1, axis2=2)
    assert np.all(exact / white.mean(0) > 4.0)


def test_covariance_between_maps():
    rng = np.random.default_rng(5)
    w, cols = _box_maps()
    data = _smoothed(rng, 8)
    rows, cmask = _masks()
    est = empty_region_covariance(w, cols, data, rows, cmask)
    full = np.zeros((2, N1, N2))
    full[:, :, cols] = w
    kt = np.stack([gaussian_filter(m, SMOOTH, mode="wrap") for m in full])
    exact_cov = SIGMA**2 * (kt[0] * kt[1]).sum()
    assert est.cov[:, 0, 1].mean() / exact_cov == pytest.approx(1.0, abs=0.15)


def test_t1_streaks_are_caught_in_the_same_columns():
    """Multiplicative t1 noise along F1 in the columns of a big peak (rows 24..36 hold it)."""
    rng = np.random.default_rng(6)
    w, cols = _box_maps()
    profile = np.zeros(N2)
    profile[45:60] = np.hanning(15)  # the big peak's F2 line: columns 45..59
    level = 2.0
    data = rng.normal(0, 0.1, (20, N1, N2)) + level * rng.normal(0, 1, (20, N1, 1)) * profile
    rows, cmask = _masks()
    est = empty_region_covariance(w, cols, data, rows, cmask, pool=False)
    proj = (w * profile[cols][None, None, :]).sum(axis=2)  # (maps, rows)
    exact = level**2 * (proj**2).sum(axis=1) + 0.1**2 * (w**2).sum(axis=(1, 2))
    assert np.mean(est.sigma**2, axis=0) / exact == pytest.approx([1.0, 1.0], abs=0.25)
    # regions taken from other columns (no streak) would miss most of it
    other = np.arange(90, 120)
    miss = empty_region_covariance(w, other, data, rows, cmask, pool=False)
    assert np.all(np.mean(miss.sigma**2, axis=0) < 0.1 * exact)


def test_pooling_keeps_per_spectrum_levels():
    rng = np.random.default_rng(7)
    w, cols = _box_maps()
    scales = np.array([0.5, 1.0, 2.0, 4.0])
    data = _smoothed(rng, 4) * scales[:, None, None]
    rows, cmask = _masks()
    est = empty_region_covariance(w, cols, data, rows, cmask, pool=True)
    exact = _exact_var_smoothed(w, cols)
    ratio = est.sigma[:, 0] / np.sqrt(exact[0]) / scales
    assert ratio == pytest.approx(np.ones(4), abs=0.12)
    assert est.n_regions > 4 * 10


def test_falls_back_to_other_columns_when_rows_are_full():
    rng = np.random.default_rng(8)
    w, cols = _box_maps()
    data = rng.normal(0, SIGMA, (2, N1, N2))
    rows = np.ones(N1, bool)
    rows[100:110] = False  # too few free rows for the map to fit anywhere
    cmask = np.zeros(N2, bool)
    cmask[35:75] = True
    est = empty_region_covariance(w, cols, data, rows, cmask, pool=False)
    assert est.direction == "F1+F2"
    exact = SIGMA**2 * (w**2).sum(axis=(1, 2))
    assert np.mean(est.sigma**2, axis=0) / exact == pytest.approx([1, 1], abs=0.3)
