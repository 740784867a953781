"""Checks on integrated volumes: cross-peak symmetry, t_m -> 0 intercepts, negative volumes.

Each check compares a difference with its own standard deviation; the threshold rises with
the number of tests so that false alarms stay near 1 %.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np
from scipy.stats import norm

from exsyfit.integrate.options import IntegrationOptions
from exsyfit.integrate.results import GroupIntegration
from exsyfit.io.spectrum import Spectrum2D


def _threshold(opts: IntegrationOptions, n_tests: int) -> float:
    """|z| above which one of ``n_tests`` tests is flagged (about 1 % false alarms overall)."""
    return max(opts.warning_sigma, float(norm.isf(0.005 / max(n_tests, 1))))


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
    npairs = n * (n - 1) // 2
    thr = _threshold(opts, len(exps) * max(npairs, 1))
    for a in range(n):
        for b in range(a + 1, n):
            pab, pba = a * n + b, b * n + a  # a->b and b->a
            d = vol[:, pab] - vol[:, pba]
            var = cov[:, pab, pab] + cov[:, pba, pba] - 2 * cov[:, pab, pba]
            z = d / np.sqrt(np.clip(var, 1e-300, None))
            bad = [f"{e} (z = {zz:+.1f})" for e, zz in zip(exps, z, strict=True) if abs(zz) > thr]
            zmean = z.sum() / math.sqrt(len(z))
            if bad or (len(z) > 1 and abs(zmean) > opts.warning_sigma):
                warnings.append(
                    f"{label}: cross peaks {names[a]}->{names[b]} and {names[b]}->{names[a]} "
                    f"differ beyond the noise (mean z = {zmean:+.1f} over {len(z)} spectra"
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
    thr = _threshold(opts, n * (n - 1))
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
    thr = _threshold(opts, group.volumes.size)
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
