"""Checks on integrated volumes: cross-peak symmetry, t_m -> 0 intercepts, negative volumes.

Each check compares a difference with its own standard deviation; the threshold rises with
the number of tests so that false alarms stay near 1 %.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy.stats import norm

from exsyfit.integrate.options import IntegrationOptions
from exsyfit.integrate.results import GroupIntegration
from exsyfit.io.spectrum import Spectrum2D

__all__ = [
    "SymmetryTest",
    "symmetry_test",
    "cross_peak_symmetry",
    "significance_threshold",
    "check_group",
]


#: Default significance (standard deviations) below which no check raises a warning.
DEFAULT_WARNING_SIGMA = 3.5


def significance_threshold(warning_sigma: float, n_tests: int) -> float:
    """|z| above which one of ``n_tests`` tests is flagged.

    Parameters
    ----------
    warning_sigma : float
        Minimum threshold, standard deviations.
    n_tests : int
        Number of tests made; the threshold rises with it so that the chance of any false
        alarm stays near 1 % (two-sided, Bonferroni).
    """
    return max(float(warning_sigma), float(norm.isf(0.005 / max(int(n_tests), 1))))


@dataclass(frozen=True)
class SymmetryTest:
    """Cross-peak symmetry of one pair of sites, V(a->b) against V(b->a).

    Under an equilibrium start (and detailed balance) the two cross peaks of a pair are equal at
    every mixing time, so ``z = (V_ab - V_ba) / sd(V_ab - V_ba)`` is a standard normal variable.

    Attributes
    ----------
    site_a, site_b : str
        The pair.
    z : numpy.ndarray
        z of every spectrum (or every temperature/mixing-time cell of a table).
    combined_z : float
        ``sum(z) / sqrt(n)``: standard normal under symmetry; sensitive to a consistent bias.
    rms_z : float
        Root mean square of ``z`` (about 1 under symmetry).
    max_abs_z : float
        Largest ``|z|``.
    threshold : float
        |z| of a single spectrum flagged as asymmetric (see :func:`significance_threshold`).
    flagged : tuple of int
        Positions in ``z`` whose ``|z|`` exceeds ``threshold``.
    asymmetric : bool
        A single z beyond ``threshold``, or (with two or more) ``|combined_z|`` beyond the
        warning level.
    """

    site_a: str
    site_b: str
    z: np.ndarray
    combined_z: float
    rms_z: float
    max_abs_z: float
    threshold: float
    flagged: tuple[int, ...]
    asymmetric: bool


def symmetry_test(
    site_a: str, site_b: str, v_ab: np.ndarray, v_ba: np.ndarray, var_ab: np.ndarray,
    var_ba: np.ndarray, cov_ab_ba: np.ndarray | float = 0.0, *,
    warning_sigma: float = DEFAULT_WARNING_SIGMA, n_tests: int | None = None,
) -> SymmetryTest:
    """The cross-peak symmetry statistic of one pair of sites.

    Parameters
    ----------
    site_a, site_b : str
        Site names.
    v_ab, v_ba : array_like
        Volumes of the a->b and b->a cross peaks, one per spectrum.
    var_ab, var_ba : array_like
        Their variances (volume units squared).
    cov_ab_ba : array_like or float
        Their covariance (0 when the volumes were measured independently).
    warning_sigma : float
        Minimum threshold, standard deviations.
    n_tests : int, optional
        Number of tests made in total (for the threshold); defaults to the number of spectra.

    Returns
    -------
    SymmetryTest
    """
    v_ab, v_ba = np.asarray(v_ab, float), np.asarray(v_ba, float)
    var = np.asarray(var_ab, float) + np.asarray(var_ba, float) - 2 * np.asarray(cov_ab_ba, float)
    z = np.atleast_1d((v_ab - v_ba) / np.sqrt(np.clip(var, 1e-300, None)))
    n = z.size
    thr = significance_threshold(warning_sigma, n_tests if n_tests is not None else n)
    combined = float(z.sum() / math.sqrt(n)) if n else float("nan")
    flagged = tuple(int(k) for k in np.flatnonzero(np.abs(z) > thr))
    return SymmetryTest(
        site_a=site_a, site_b=site_b, z=z, combined_z=combined,
        rms_z=float(np.sqrt(np.mean(z**2))) if n else float("nan"),
        max_abs_z=float(np.max(np.abs(z))) if n else float("nan"), threshold=thr,
        flagged=flagged, asymmetric=bool(flagged) or (n > 1 and abs(combined) > warning_sigma),
    )


def cross_peak_symmetry(
    table: pd.DataFrame, sites: Sequence[str],
    by: Sequence[str] = ("temperature_K", "mixing_time_s"), *,
    warning_sigma: float = DEFAULT_WARNING_SIGMA,
) -> list[SymmetryTest]:
    """Cross-peak symmetry of every pair of sites in a volume table.

    Rows of the same peak that share the ``by`` columns (e.g. repeated spectra at one
    temperature and mixing time) are averaged with inverse-variance weights first.

    Parameters
    ----------
    table : pandas.DataFrame
        Volume table (``from_site``, ``to_site``, ``volume``, ``sigma`` and the ``by`` columns).
    sites : sequence of str
        Site names.
    by : sequence of str
        Columns that identify one measurement cell.
    warning_sigma : float
        Minimum threshold, standard deviations.

    Returns
    -------
    list of SymmetryTest
        One per pair that has both cross peaks measured in at least one cell.
    """
    key = list(by)
    t = table.assign(_w=1.0 / np.clip(table["sigma"].to_numpy(float), 1e-300, None) ** 2)
    t = t.assign(_wv=t["_w"] * t["volume"])
    n = len(sites)
    pairs = []
    for a in range(n):
        for b in range(a + 1, n):
            cells = []
            for src, dst in ((sites[a], sites[b]), (sites[b], sites[a])):
                sel = t[(t["from_site"] == src) & (t["to_site"] == dst)]
                g = sel.groupby(key)[["_w", "_wv"]].sum()
                cells.append(pd.DataFrame({"v": g["_wv"] / g["_w"], "var": 1.0 / g["_w"]}))
            m = cells[0].merge(cells[1], how="inner", left_index=True, right_index=True,
                               suffixes=("_ab", "_ba"))
            if not m.empty:
                pairs.append((sites[a], sites[b], m))
    n_tests = sum(len(m) for *_, m in pairs)
    return [symmetry_test(a, b, m["v_ab"], m["v_ba"], m["var_ab"], m["var_ba"],
                          warning_sigma=warning_sigma, n_tests=n_tests) for a, b, m in pairs]


def check_group(
    group: GroupIntegration, spectra: Sequence[Spectrum2D], experiments: Sequence[str],
    opts: IntegrationOptions, warnings: list[str],
) -> None:
    """Append warnings on cross-peak symmetry, t_m -> 0 intercepts and negative volumes."""
    names = group.sites
    n = len(names)
    label = f"{group.temperature_K:g} K" if group.temperature_K is not None else "series"
    vol, cov = group.volumes, group.cov
    sig = np.sqrt(np.clip(np.diagonal(cov, axis1=1, axis2=2), 0, None))
    exps = [experiments[k] for k in group.indices]
    n_tests = len(exps) * max(n * (n - 1) // 2, 1)
    for a in range(n):
        for b in range(a + 1, n):
            pab, pba = a * n + b, b * n + a  # a->b and b->a
            test = symmetry_test(names[a], names[b], vol[:, pab], vol[:, pba], cov[:, pab, pab],
                                 cov[:, pba, pba], cov[:, pab, pba],
                                 warning_sigma=opts.warning_sigma, n_tests=n_tests)
            if test.asymmetric:
                bad = [f"{exps[k]} (z = {test.z[k]:+.1f})" for k in test.flagged]
                warnings.append(
                    f"{label}: cross peaks {names[a]}->{names[b]} and {names[b]}->{names[a]} "
                    f"differ beyond the noise (mean z = {test.combined_z:+.1f} over "
                    f"{test.z.size} spectra"
                    + (f"; {', '.join(bad)}" if bad else "")
                    + "). An equilibrium start gives equal cross peaks: suspect a "
                    "non-equilibrium start (CP, recycle delay short against T1), a third site, "
                    "unequal sideband fractions, or an artefact (t1 noise, phase, baseline)."
                )
    _check_intercepts(group, spectra, exps, sig, opts, warnings, label)
    _check_negative(group, exps, sig, opts, warnings, label)


def _check_intercepts(
    group: GroupIntegration, spectra: Sequence[Spectrum2D], exps: Sequence[str],
    sig: np.ndarray, opts: IntegrationOptions, warnings: list[str], label: str,
) -> None:
    names = group.sites
    n = len(names)
    tm = np.array([spectra[k].mixing_time_s if spectra[k].mixing_time_s is not None else np.nan
                   for k in group.indices], float)
    distinct = np.unique(tm[np.isfinite(tm)])
    if distinct.size == 0 or (distinct.size < 2 and distinct[0] > 0):
        return
    thr = significance_threshold(opts.warning_sigma, n * (n - 1))
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


def _mean_at(tm: np.ndarray, v: np.ndarray, s: np.ndarray, t: float) -> tuple[float, float]:
    """Inverse-variance mean of the volumes at mixing time ``t`` and its standard deviation."""
    sel = tm == t
    w = 1.0 / np.clip(s[sel], 1e-300, None) ** 2
    return float((w * v[sel]).sum() / w.sum()), float(1.0 / math.sqrt(w.sum()))


def _check_negative(
    group: GroupIntegration, exps: Sequence[str], sig: np.ndarray, opts: IntegrationOptions,
    warnings: list[str], label: str,
) -> None:
    names = group.sites
    n = len(names)
    thr = significance_threshold(opts.warning_sigma, group.volumes.size)
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
