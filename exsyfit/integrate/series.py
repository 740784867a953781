"""Peak volumes with uncertainties from a series of 2D exchange spectra.

For N sites every spectrum holds N^2 peaks: the peak (F1 = site j, F2 = site i) is the
magnetisation that started on j and was detected on i (``from_site = j``, ``to_site = i``; see
:mod:`exsyfit.kinetics.exchange`).  Volumes are integrals over ppm in both dimensions, intensity x
ppm^2.

Methods
-------
``box`` / ``ellipse``
    Sum of the points inside a rectangle / ellipse around each peak, times the area of one point
    ``|dppm_f1 * dppm_f2|``, minus a local baseline (a plane fitted to, or the mean of, a frame
    of signal-free points around the region).  Half widths default to ``half_width_fwhm`` times
    the fitted FWHM of the site in that dimension, clipped so neighbouring regions do not
    overlap.  Truncated tails are not added back: a box holds a fixed fraction of a peak, the
    same in every spectrum of a series that shares linewidths.
``lineshape``
    Every peak is a product of unit-area pseudo-Voigt lines (``exsyfit.processing.lineshapes``);
    the F1
    shape of peak (j -> i) is site j's F1 line, the F2 shape is site i's F2 line.  Positions,
    widths and Lorentzian fractions are fitted once per temperature on a handful of spectra of
    the series (variable projection: nonlinear least squares on the shapes, linear on the
    amplitudes); the amplitudes of every spectrum, which *are* the volumes, then follow from one
    linear least-squares solve with all spectra as right-hand sides, together with a constant or
    plane baseline.  This is the method for overlapping peaks.  For spectra processed from
    raw data by exsyfit the lines are the exact processed transforms of pseudo-Voigt decays
    (``processed_lineshape``); for TopSpin's 2rr only with ``processed_lineshape = "procs"``.
``auto``
    The shapes are always fitted (they give the linewidths and positions).  From the fitted
    shapes and volumes, the signal that each box region would pick up from the *other* peaks
    (tails leaking into the region or into its baseline frame) is predicted: if it exceeds
    ``auto_bias_sigma`` noise standard deviations anywhere in the series, ``lineshape`` is used
    for the whole series, otherwise ``box``.  The reason is recorded in
    :attr:`IntegrationResult.choices`.

Uncertainties
-------------
Each volume is a linear function of the data, ``V = sum(w * data)`` with a weight map ``w``.  Its
variance is measured by applying the same map to signal-free rows of the same F2 columns
(:mod:`exsyfit.processing.noise`), which includes correlated noise (apodisation, zero filling) and
t1-noise
streaks.  For lineshape fits this is the covariance of the linear amplitudes under the noise the
spectrum really has.  Shape (position/width) uncertainty and lineshape-model error are not
included; a misfit warning is raised when the residual in the fit window exceeds the noise.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd

from exsyfit.errors import SeriesError
from exsyfit.integrate.checks import check_group
from exsyfit.integrate.groups import (
    PreparedGroup,
    check_sites,
    check_spectra,
    group_indices,
    prepare_group,
    site_ppm,
)
from exsyfit.integrate.lines import peak_model
from exsyfit.integrate.lineshape_fit import (
    lineshape_fit,
    misfit_ratio,
    noise_covariance,
    shape_covariance,
)
from exsyfit.integrate.method import choose_method
from exsyfit.integrate.options import IntegrationOptions
from exsyfit.integrate.regions import region_weights, resolve_half_widths
from exsyfit.integrate.results import GroupIntegration, IntegrationResult, Region
from exsyfit.io.spectrum import Spectrum2D

__all__ = ["integrate_series"]


def integrate_series(
    spectra: Sequence[Spectrum2D],
    sites: Mapping[str, float],
    *,
    options: IntegrationOptions | None = None,
    temperatures_K: Sequence[float | None] | None = None,
    experiments: Sequence[str] | None = None,
    progress: Callable[[int, int], Any] | None = None,
    site_ppm_by_temperature: Mapping[float, Mapping[str, float]] | None = None,
) -> IntegrationResult:
    """Volumes and uncertainties of all N^2 peaks of every spectrum of an EXSY series.

    Parameters
    ----------
    spectra : sequence of Spectrum2D
        The series (any number of mixing times and temperatures).
    sites : mapping
        Ordered ``{site name: ppm}`` of each site's diagonal peak.
    options : IntegrationOptions, optional
        Integration settings; defaults to ``IntegrationOptions()``.
    temperatures_K : sequence, optional
        Sample temperature (K) of each spectrum; defaults to the spectra's
        ``sample_temperature_K`` (set by :func:`exsyfit.io.series.read_series`), else their
        file ``temperature_K``.  Spectra with equal temperatures (and identical axes) share
        regions and shapes.
    experiments : sequence of str, optional
        Name of each spectrum for the ``experiment`` column; defaults to ``source``.
    progress : callable, optional
        Called as ``progress(done, total)`` after each temperature group.
    site_ppm_by_temperature : mapping, optional
        ``{temperature_K: {site: ppm}}`` overriding ``sites`` at that temperature (paramagnetic
        phases whose shifts move with temperature).

    Returns
    -------
    IntegrationResult
        Table with one row per peak per spectrum, warnings, method and per-group details.

    Raises
    ------
    ConfigError, DataFormatError, SeriesError
        Invalid sites or options, unreadable spectra, inconsistent lengths.
    """
    opts = options or IntegrationOptions()
    check_spectra(spectra)
    names = check_sites(sites)
    temps = _per_spectrum(temperatures_K, [s.analysis_temperature_K for s in spectra],
                          len(spectra), "temperatures_K")
    exps = _per_spectrum(experiments, [s.source or f"spectrum {k}" for k, s in enumerate(spectra)],
                         len(spectra), "experiments")
    temps = [None if t is None or not math.isfinite(float(t)) else float(t) for t in temps]
    warnings: list[str] = []
    groups_idx = group_indices(spectra, temps)
    _note_split_temperatures(groups_idx, temps, warnings)
    total = 2 * len(groups_idx)
    preps = []
    for g, idx in enumerate(groups_idx):
        t = temps[idx[0]]
        preps.append(prepare_group(spectra, idx, names, site_ppm(sites, site_ppm_by_temperature,
                                                                   t), t, opts, warnings))
        if progress is not None:
            progress(g + 1, total)
    method, choices = choose_method(preps, opts)
    groups = []
    for g, prep in enumerate(preps):
        group = _finish_group(prep, method, opts, names, warnings)
        group.decision = choices.get("reason", "")
        group.experiments = tuple(exps[k] for k in group.indices)
        check_group(group, spectra, exps, opts, warnings)
        groups.append(group)
        if progress is not None:
            progress(len(preps) + g + 1, total)
    table = _table(groups, spectra, temps, exps)
    return IntegrationResult(table, warnings, method, groups, choices)


def _per_spectrum(given: Sequence[Any] | None, default: Sequence[Any], n: int,
                  name: str) -> list[Any]:
    if given is None:
        return list(default)
    given = list(given)
    if len(given) != n:
        raise SeriesError(f"{name}: {len(given)} values given for {n} spectra")
    return given


def _note_split_temperatures(groups_idx: Sequence[Sequence[int]],
                             temps: Sequence[float | None], warnings: list[str]) -> None:
    seen: dict = {}
    for idx in groups_idx:
        t = temps[idx[0]]
        seen[t] = seen.get(t, 0) + 1
    for t, count in seen.items():
        if count > 1:
            warnings.append(
                f"spectra at {t} K do not share their ppm axes; they were integrated in "
                f"{count} sets with separately fitted shapes and regions"
            )


def _finish_group(prep: PreparedGroup, method: str, opts: IntegrationOptions,
                  names: Sequence[str], warnings: list[str]) -> GroupIntegration:
    """Volumes, covariance and misfit of one prepared group with the chosen method."""
    peak_maps, amps, base, windows = lineshape_fit(prep, opts, prep.orders)
    model = peak_model(prep.shapes, prep.ppm_f1, prep.ppm_f2, prep.orders, prep.sb, amps,
                        prep.profiles)
    regions: tuple[Region, ...] = ()
    hw = resolve_half_widths(prep.shapes, opts, warnings if method != "lineshape" else [],
                              prep.label)
    if method == "lineshape":
        weights = peak_maps
        volumes = amps.sum(axis=2)
    else:
        weights, regions = region_weights(prep.shapes, hw, prep.ppm_f1, prep.ppm_f2, prep.orders,
                                           prep.sb, method, opts.baseline, opts.baseline_margin,
                                           warnings, prep.label)
        volumes = np.einsum("prc,krc->kp", weights, prep.stack, optimize=True)
    noise = noise_covariance(prep, weights, windows, model, opts)
    cov = noise.cov
    shape_cov = None
    if method == "lineshape":
        shape_cov = shape_covariance(prep, opts, prep.orders, windows, model)
        if shape_cov is not None:
            cov = cov + shape_cov
    if noise.direction != "F1":
        warnings.append(
            f"{prep.label}: too few signal-free rows in the peak columns "
            f"({noise.n_regions:.1f} independent regions); noise regions from other columns "
            f"were added ({noise.direction}); t1 noise may be underestimated"
        )
    misfit = misfit_ratio(prep, model, base, windows, opts, noise)
    if method == "lineshape" and misfit > 1.5:
        warnings.append(
            f"{prep.label}: the lineshape model leaves residuals {misfit:.2f} times the noise in "
            "the fit window; volumes may be biased (check phase, baseline, lineshape, or "
            f"unlisted peaks){_topspin_hint(prep, opts)}"
        )
    return GroupIntegration(
        temperature_K=prep.temperature, indices=tuple(prep.indices), sites=tuple(names),
        method=method, shapes=prep.shapes, regions=regions, orders=prep.orders,
        sideband_ppm=prep.sb, volumes=volumes, cov=cov, amplitudes=amps,
        baseline_coef=base, windows=windows, baseline=opts.baseline, noise=noise,
        misfit_ratio=misfit, decision="", half_widths={k: tuple(v) for k, v in hw.items()},
        shape_cov=shape_cov, profiles=prep.profiles, searches=prep.searches,
    )


def _topspin_hint(prep: PreparedGroup, opts: IntegrationOptions) -> str:
    """Advice for TopSpin-processed (2rr) input whose F1 lines are modelled as pseudo-Voigt."""
    if prep.profiles[0] is not None or prep.spectra_format != "bruker-processed":
        return ""
    raw = '[data] prefer = "raw" (process the ser here, exact line profile)'
    if opts.processed_lineshape == "procs":
        return f"; the input is TopSpin's 2rr: try {raw}"
    return ("; the input is TopSpin's 2rr, whose short, windowed F1 line is not pseudo-Voigt: "
            f'try [integration] processed_lineshape = "procs" (line profile from proc2s) or '
            f"{raw}")


def _table(groups: Sequence[GroupIntegration], spectra: Sequence[Spectrum2D],
           temps: Sequence[float | None], exps: Sequence[str]) -> pd.DataFrame:
    """The volume table: one row per peak per spectrum."""
    rows = []
    for g in groups:
        shape = {s.name: s for s in g.shapes}
        sig = np.sqrt(np.clip(np.diagonal(g.cov, axis1=1, axis2=2), 0, None))
        n_sb = (len(g.regions) // len(g.peaks)) if g.regions else len(g.orders)
        for kk, k in enumerate(g.indices):
            tm = spectra[k].mixing_time_s
            for p, (j, i) in enumerate(g.peaks):
                box = g.method != "lineshape"
                rows.append({
                    "experiment": exps[k],
                    "temperature_K": temps[k] if temps[k] is not None else np.nan,
                    "mixing_time_s": float(tm) if tm is not None else np.nan,
                    "from_site": j, "to_site": i,
                    "volume": float(g.volumes[kk, p]), "sigma": float(sig[kk, p]),
                    "method": g.method,
                    "half_width_f1_ppm": g.half_widths[j][0] if box else np.nan,
                    "half_width_f2_ppm": g.half_widths[i][1] if box else np.nan,
                    "baseline": g.baseline,
                    "center_f1_ppm": shape[j].ppm_f1, "center_f2_ppm": shape[i].ppm_f2,
                    "fwhm_f1_ppm": shape[j].fwhm_f1, "fwhm_f2_ppm": shape[i].fwhm_f2,
                    "n_sideband_regions": n_sb - 1,
                    "noise_regions": g.noise.n_regions, "noise_direction": g.noise.direction,
                })
    return pd.DataFrame(rows)
