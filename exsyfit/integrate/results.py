"""Result containers of the integration: fitted site shapes, regions, per-group details."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from exsyfit.integrate.lines import order_lines, window_terms
from exsyfit.processing.noise import NoiseEstimate

__all__ = ["SiteShape", "SiteSearch", "Region", "GroupIntegration", "IntegrationResult"]


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
class SiteSearch:
    """Where a configured site was found in the data.

    Attributes
    ----------
    name : str
        Site name.
    configured_ppm : float
        Shift given in the config, ppm.
    found_f1_ppm, found_f2_ppm : float
        Maximum of the diagonal peak nearest to it (parabolic interpolation), ppm.
    fwhm_f1_ppm, fwhm_f2_ppm : float
        Full width at half height of that peak in each dimension, ppm (``nan`` if unknown).
    search_f1_ppm, search_f2_ppm : float
        How far the peak may lie from ``configured_ppm`` in each dimension, ppm.
    """

    name: str
    configured_ppm: float
    found_f1_ppm: float
    found_f2_ppm: float
    fwhm_f1_ppm: float
    fwhm_f2_ppm: float
    search_f1_ppm: float
    search_f2_ppm: float


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
    searches: tuple[SiteSearch, ...] = ()

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
        g, h = order_lines(self.shapes, ppm_f1, ppm_f2, self.orders, self.sideband_ppm,
                            self.profiles)
        n = len(self.sites)
        amp = self.amplitudes[k].reshape(n, n, len(self.orders))  # [j, i, o]
        out = np.einsum("rjo,jio,cio->rc", g, amp, h, optimize=True)
        if include_baseline and self.baseline != "none":
            for c, win in enumerate(self.windows):
                rm, cm, t1, t2 = window_terms(win, ppm_f1, ppm_f2)
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
        One row per peak per spectrum; columns
        :data:`exsyfit.integrate.volumes.REQUIRED_COLUMNS` then ``method``,
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

    def site_positions(self) -> list[dict[str, float | str | None]]:
        """Configured, found and fitted position of every site in every group, ppm.

        Returns
        -------
        list of dict
            One entry per site per group: ``temperature_K``, ``site``, ``configured_ppm``,
            ``found_f1_ppm``/``found_f2_ppm`` (peak maximum), ``fitted_f1_ppm``/
            ``fitted_f2_ppm`` (line-shape fit: the positions the volumes use),
            ``fwhm_f1_ppm``/``fwhm_f2_ppm`` (fitted) and ``search_f1_ppm``/``search_f2_ppm``
            (the tolerance applied).
        """
        out: list[dict[str, float | str | None]] = []
        for g in self.groups:
            fitted = {s.name: s for s in g.shapes}
            for found in g.searches:
                s = fitted[found.name]
                out.append({
                    "temperature_K": g.temperature_K, "site": found.name,
                    "configured_ppm": found.configured_ppm,
                    "found_f1_ppm": found.found_f1_ppm, "found_f2_ppm": found.found_f2_ppm,
                    "fitted_f1_ppm": s.ppm_f1, "fitted_f2_ppm": s.ppm_f2,
                    "fwhm_f1_ppm": s.fwhm_f1, "fwhm_f2_ppm": s.fwhm_f2,
                    "search_f1_ppm": found.search_f1_ppm, "search_f2_ppm": found.search_f2_ppm,
                })
        return out
