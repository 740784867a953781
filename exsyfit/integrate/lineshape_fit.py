"""Line-shape integration: linear amplitudes for fixed shapes, their noise and shape covariance.

The amplitudes of every spectrum, which *are* the volumes, follow from one linear least-squares
solve with all spectra as right-hand sides, together with a constant or plane baseline per
cluster window.  Each amplitude is a weight map applied to the data, so its covariance is
measured on empty regions (:func:`exsyfit.processing.noise.empty_region_covariance`).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import TYPE_CHECKING

import numpy as np

from exsyfit.integrate.lines import (
    Profiles,
    Window,
    baseline_columns,
    centre_window,
    order_lines,
    solve_linear,
    window_terms,
)
from exsyfit.integrate.options import IntegrationOptions
from exsyfit.integrate.results import SiteShape
from exsyfit.processing.noise import NoiseEstimate, empty_region_covariance

if TYPE_CHECKING:
    from exsyfit.integrate.groups import PreparedGroup


def _cluster_windows(
    shapes: Sequence[SiteShape], ppm_f1: np.ndarray, ppm_f2: np.ndarray,
    orders: Sequence[tuple[int, int]], sb: float, wf: float,
) -> list[Window]:
    """The centre fit window and its copies at each sideband order that hold data points."""
    lo1, hi1, lo2, hi2 = centre_window(shapes, wf)
    out = []
    for m, n in orders:
        win = (m, n, lo1 + m * sb, hi1 + m * sb, lo2 + n * sb, hi2 + n * sb)
        rm, cm, _, _ = window_terms(win, ppm_f1, ppm_f2)
        if rm.any() and cm.any():
            out.append(win)
    return out


def _design_points(
    shapes: Sequence[SiteShape], ppm_f1: np.ndarray, ppm_f2: np.ndarray,
    orders: Sequence[tuple[int, int]], sb: float, windows: Sequence[Window], baseline: str,
    profiles: Profiles = (None, None),
) -> tuple[np.ndarray, np.ndarray, np.ndarray, int]:
    """Design matrix of the linear lineshape model over the union of the cluster windows.

    Returns ``(pr, pc, x, n_base)``: row/column indices of the fitted points, the design
    (n_points, n_coef) with the peak amplitudes first (peak-major, order-minor) and then
    ``n_base`` baseline terms per window.
    """
    n1, n2 = ppm_f1.size, ppm_f2.size
    union = np.zeros((n1, n2), bool)
    parts = []
    for win in windows:
        rm, cm, t1, t2 = window_terms(win, ppm_f1, ppm_f2)
        union |= np.outer(rm, cm)
        parts.append((rm, cm, t1, t2))
    pr, pc = np.nonzero(union)
    ur, uc = np.flatnonzero(union.any(axis=1)), np.flatnonzero(union.any(axis=0))
    g = np.zeros((n1, len(shapes), len(orders)))
    h = np.zeros((n2, len(shapes), len(orders)))
    g[ur], h[uc] = order_lines(shapes, ppm_f1[ur], ppm_f2[uc], orders, sb, profiles)
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


def _lineshape_weights(
    shapes: Sequence[SiteShape], ppm_f1: np.ndarray, ppm_f2: np.ndarray,
    orders: Sequence[tuple[int, int]], sb: float, windows: Sequence[Window], baseline: str,
    profiles: Profiles = (None, None),
) -> tuple[np.ndarray, int]:
    """Least-squares weight maps of every coefficient, shape (n_coef, n1, n2), and n_base."""
    pr, pc, x, n_base = _design_points(shapes, ppm_f1, ppm_f2, orders, sb, windows, baseline,
                                       profiles)
    maps = np.zeros((x.shape[1], ppm_f1.size, ppm_f2.size))
    maps[:, pr, pc] = np.linalg.pinv(x)
    return maps, n_base


def _ls_volumes(
    shapes: Sequence[SiteShape], prep: PreparedGroup, orders: Sequence[tuple[int, int]],
    windows: Sequence[Window], baseline: str,
) -> np.ndarray:
    """Lineshape volumes (n_spectra, n_peaks) of every spectrum for given shapes."""
    pr, pc, x, _ = _design_points(shapes, prep.ppm_f1, prep.ppm_f2, orders, prep.sb, windows,
                                  baseline, prep.profiles)
    coef = solve_linear(x, prep.stack[:, pr, pc].T)
    n = len(shapes)
    return coef[: n * n * len(orders)].T.reshape(-1, n * n, len(orders)).sum(axis=2)


def lineshape_fit(
    prep: PreparedGroup, opts: IntegrationOptions, orders: Sequence[tuple[int, int]]
) -> tuple[np.ndarray, np.ndarray, np.ndarray, list[Window]]:
    """Linear line-shape fit of every spectrum of a group for its fitted shapes.

    Returns
    -------
    peak_maps : numpy.ndarray
        Weight map of each peak volume (summed over sideband orders), (n_peaks, n1, n2).
    amps : numpy.ndarray
        Volumes per peak and sideband order, (n_spectra, n_peaks, n_orders).
    base : numpy.ndarray
        Baseline coefficients, (n_spectra, n_windows, n_terms).
    windows : list
        The fit windows.
    """
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


def signal_masks(
    prep: PreparedGroup, windows: Sequence[Window], weights: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """Rows and columns that hold signal: the fit windows and the support of the weights."""
    rows = np.zeros(prep.ppm_f1.size, bool)
    cols = np.zeros(prep.ppm_f2.size, bool)
    for win in windows:
        rm, cm, _, _ = window_terms(win, prep.ppm_f1, prep.ppm_f2)
        rows |= rm
        cols |= cm
    support = np.any(weights != 0, axis=0)
    rows |= support.any(axis=1)
    cols |= support.any(axis=0)
    return rows, cols


def noise_covariance(
    prep: PreparedGroup, weights: np.ndarray, windows: Sequence[Window], model: np.ndarray,
    opts: IntegrationOptions,
) -> NoiseEstimate:
    """Covariance of the volumes ``sum(weights * data)`` measured on empty regions."""
    rows, cols_mask = signal_masks(prep, windows, weights)
    used = np.flatnonzero(np.any(weights != 0, axis=(0, 1)))
    residual = prep.stack - model
    return empty_region_covariance(weights[:, :, used], used, residual, rows, cols_mask,
                                   min_regions=opts.noise_regions, pool=opts.noise_pooling)


def shape_covariance(
    prep: PreparedGroup, opts: IntegrationOptions, orders: Sequence[tuple[int, int]],
    windows: Sequence[Window], model: np.ndarray,
) -> np.ndarray | None:
    """Covariance of the lineshape volumes caused by noise in the fitted shape parameters.

    The shape parameters are linear functions of the data near the optimum (Gauss-Newton); their
    covariance is measured like that of the volumes, by applying their weight maps to empty
    regions of each fitted spectrum, and is propagated with numerical derivatives of the volumes.
    """
    info = prep.shape_fit
    if info is None or not info.free.any():
        return None
    rows, cols_mask = signal_masks(prep, windows, np.zeros((1, *prep.stack.shape[1:])))
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


def misfit_ratio(
    prep: PreparedGroup, model: np.ndarray, base: np.ndarray, windows: Sequence[Window],
    opts: IntegrationOptions, noise: NoiseEstimate,
) -> float:
    """RMS residual in the centre fit window over RMS noise in empty rows of the same columns."""
    rm, cm, t1, t2 = window_terms(windows[0], prep.ppm_f1, prep.ppm_f2)
    resid = prep.stack - model
    block = resid[:, rm][:, :, cm]
    terms = baseline_columns(opts.baseline, t1, t2)
    if terms:
        bl = np.einsum("kt,tx->kx", base[:, 0, :], np.array(terms)).reshape(block.shape)
        block = block - bl
    rows, _ = signal_masks(prep, windows, np.zeros((1, *prep.stack.shape[1:])))
    free = resid[:, ~rows][:, :, cm]
    if free.size == 0:
        return float("nan")
    ref = np.sqrt(np.mean(free**2))
    return float(np.sqrt(np.mean(block**2)) / ref) if ref > 0 else float("nan")
