"""Grouping a series by temperature and axes, and preparing each group for integration.

Preparation checks the spectra and sites, searches each site near its configured shift, fits
the shared line shapes and resolves the spinning-sideband orders.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from exsyfit.errors import ConfigError, DataFormatError, SeriesError
from exsyfit.integrate.lines import Profiles
from exsyfit.integrate.options import IntegrationOptions
from exsyfit.integrate.results import SiteShape
from exsyfit.integrate.shapes import ShapeFit, SiteSearch, fit_shapes, search_sites
from exsyfit.io.spectrum import Spectrum2D
from exsyfit.io.temperature import group_temperatures
from exsyfit.processing.lineshapes import ProcessedLineProfile


def check_spectra(spectra: Sequence[Spectrum2D]) -> None:
    if len(spectra) == 0:
        raise SeriesError("no spectra to integrate")
    for k, s in enumerate(spectra):
        name = s.source or f"spectrum {k}"
        data = np.asarray(s.data)
        if data.ndim != 2 or data.shape != (len(s.ppm_f1), len(s.ppm_f2)):
            raise DataFormatError(
                f"{name}: data of shape {data.shape} does not match the ppm axes "
                f"({len(s.ppm_f1)} x {len(s.ppm_f2)} points expected)"
            )
        if min(data.shape) < 8:
            raise DataFormatError(f"{name}: too few points ({data.shape}) for 2D integration")
        if not np.all(np.isfinite(data)):
            raise DataFormatError(f"{name}: data contain NaN or infinite values")


def group_indices(
    spectra: Sequence[Spectrum2D], temps: Sequence[float | None]
) -> list[list[int]]:
    """Spectra grouped by temperature and identical axes, in input order.

    Spectra share a temperature when their values are equal: the series reader already
    grouped them (:func:`exsyfit.io.temperature.group_temperatures`, the one rule).
    """
    labels, _ = group_temperatures(temps, 0.0)
    groups: list[list[int]] = []
    keys: list[tuple] = []
    for k, s in enumerate(spectra):
        t = labels[k]
        found = None
        for g, key in enumerate(keys):
            tk, ref = key
            if t == tk and _same_axes(spectra[ref], s):
                found = g
                break
        if found is None:
            keys.append((t, k))
            groups.append([k])
        else:
            groups[found].append(k)
    return groups


def _same_axes(a: Spectrum2D, b: Spectrum2D) -> bool:
    return (a.data.shape == b.data.shape and np.allclose(a.ppm_f1, b.ppm_f1, atol=1e-9)
            and np.allclose(a.ppm_f2, b.ppm_f2, atol=1e-9))


def site_ppm(
    sites: Mapping[str, float], overrides: Mapping[float, Mapping[str, float]] | None,
    t: float | None,
) -> dict[str, float]:
    """Site shifts (ppm) at temperature ``t``: ``sites`` with the overrides for ``t`` applied.

    ``overrides`` are keyed by the (already grouped) temperatures of the series, K.
    """
    pos = dict(sites)
    if overrides and t is not None:
        for tk, table in overrides.items():
            if math.isclose(float(tk), t, rel_tol=0.0, abs_tol=1e-9):
                unknown = set(table) - set(pos)
                if unknown:
                    raise ConfigError(
                        f"site shifts for {tk} K name unknown sites {sorted(unknown)}; "
                        f"sites are {list(pos)}"
                    )
                pos.update({k: float(v) for k, v in table.items()})
    return pos


def check_sites(sites: Mapping[str, float]) -> list[str]:
    """Site names, after checking that there are at least two with finite shifts."""
    if not isinstance(sites, Mapping) or len(sites) < 2:
        raise ConfigError("sites: at least two sites (name -> ppm) are needed")
    for name, v in sites.items():
        if isinstance(v, bool) or not isinstance(v, (int, float)) or not math.isfinite(v):
            raise ConfigError(f"sites.{name}.ppm: expected a number (ppm), found {v!r}")
    return [str(n) for n in sites]


def _sideband_ppm(
    spectra: Sequence[Spectrum2D], opts: IntegrationOptions, label: str
) -> tuple[float, tuple[tuple[int, int], ...]]:
    """Sideband spacing (ppm) and the (F1, F2) orders integrated."""
    if not opts.sidebands:
        return 0.0, ((0, 0),)
    rate = opts.mas_rate_hz
    if rate is None:
        rates = {s.mas_rate_hz for s in spectra if s.mas_rate_hz}
        if not rates:
            raise ConfigError(
                "[integration].sidebands = true needs the MAS rate: the spectra do not record it;"
                " set [integration].mas_rate_hz"
            )
        rate = float(np.median(list(rates)))
    sf = spectra[0].sf_mhz
    if not (sf and math.isfinite(sf) and sf > 0):
        raise DataFormatError(
            f"{label}: spectrometer frequency unknown, cannot place sidebands (sf_mhz = {sf})")
    nsb = opts.n_sidebands
    f1_orders = [0] if opts.f1_rotor_synchronised else list(range(-nsb, nsb + 1))
    orders = [(m, n) for m in f1_orders for n in range(-nsb, nsb + 1)]
    orders.sort(key=lambda o: (abs(o[0]) + abs(o[1]), o))
    return rate / sf, tuple(orders)


@dataclass
class PreparedGroup:
    """Intermediate state of one group between the shape fit and the final integration."""

    indices: list[int]
    label: str
    temperature: float | None
    stack: np.ndarray
    ppm_f1: np.ndarray
    ppm_f2: np.ndarray
    shapes: tuple[SiteShape, ...]
    sb: float
    orders: tuple[tuple[int, int], ...]
    shape_fit: ShapeFit | None = None
    shape_subset: np.ndarray | None = None
    box_bias_sigma: float = float("nan")
    profiles: Profiles = (None, None)
    spectra_format: str = ""
    searches: tuple[SiteSearch, ...] = ()


def prepare_group(
    spectra: Sequence[Spectrum2D], indices: Sequence[int], names: Sequence[str],
    site_pos: Mapping[str, float], temp: float | None, opts: IntegrationOptions,
    warnings: list[str],
) -> PreparedGroup:
    """Stack a group's spectra, search its sites, fit the shared shapes, set sideband orders."""
    label = f"{temp:g} K" if temp is not None else "series"
    ref = spectra[indices[0]]
    ppm_f1, ppm_f2 = np.asarray(ref.ppm_f1, float), np.asarray(ref.ppm_f2, float)
    stack = np.stack([np.asarray(spectra[k].data, float) for k in indices])
    nominal = np.array([site_pos[n] for n in names])
    for n, p in zip(names, nominal, strict=True):
        if not (min(ppm_f1.min(), ppm_f2.min()) < p < max(ppm_f1.max(), ppm_f2.max())):
            raise ConfigError(
                f"sites.{n}.ppm = {p:g} lies outside the spectrum ({label}: F1 "
                f"{ppm_f1.min():.3g}..{ppm_f1.max():.3g} ppm, F2 {ppm_f2.min():.3g}.."
                f"{ppm_f2.max():.3g} ppm)"
            )
    seps = np.abs(nominal[:, None] - nominal[None, :]) + np.diag(np.full(len(names), np.inf))
    steps = max(abs(ppm_f1[1] - ppm_f1[0]), abs(ppm_f2[1] - ppm_f2[0]))
    a, b = np.unravel_index(int(np.argmin(seps)), seps.shape)
    fine = min(abs(ppm_f1[1] - ppm_f1[0]), abs(ppm_f2[1] - ppm_f2[0]))
    if seps[a, b] < fine:
        raise ConfigError(
            f"sites.{names[a]}.ppm = {nominal[a]:g} and sites.{names[b]}.ppm = {nominal[b]:g} "
            f"({label}) are {seps[a, b]:.3g} ppm apart, less than one point of the spectrum "
            f"({fine:.3g} ppm); expected distinct shifts, one per resolved diagonal peak")
    if opts.position_tolerance_ppm is not None:
        tol = np.full(len(names), opts.position_tolerance_ppm)
    else:
        # at least two points, but never reaching half way to the nearest other site: on a
        # coarse grid (short t1) the search would otherwise find the neighbour's bigger peak
        tol = np.maximum(0.4 * seps.min(axis=1), np.minimum(2 * steps, 0.45 * seps.min(axis=1)))
    order = _by_mixing_time(spectra, indices)
    eta0 = 0.5 if opts.eta == "fit" else float(opts.eta)
    init, searches = search_sites(stack[order[0]], ppm_f1, ppm_f2, names, nominal, tol, eta0,
                                  opts.search_ppm, label, warnings)
    # the fit may move a position as far as the search allowed (the peak found lies there)
    tol = np.array([max(t, abs(s.ppm_f1 - p) + steps, abs(s.ppm_f2 - p) + steps)
                    for t, s, p in zip(tol, init, nominal, strict=True)])
    sub = order[np.unique(np.linspace(0, len(order) - 1, min(len(order), opts.max_shape_spectra))
                          .round().astype(int))]
    profiles = group_profiles([spectra[k] for k in indices], opts, warnings, label)
    shapes, msg, info = fit_shapes(stack[sub], ppm_f1, ppm_f2, init, nominal, tol, opts,
                                    profiles)
    if msg:
        warnings.append(f"{label}: {msg}")
    sb, orders = _sideband_ppm([spectra[k] for k in indices], opts, label)
    return PreparedGroup(list(indices), label, temp, stack, ppm_f1, ppm_f2, shapes, sb, orders,
                         shape_fit=info, shape_subset=sub, profiles=profiles,
                         spectra_format=_common_format([spectra[k] for k in indices]),
                         searches=tuple(searches))


def group_profiles(
    spectra: Sequence[Spectrum2D], opts: IntegrationOptions, warnings: list[str] | None = None,
    label: str = "series",
) -> Profiles:
    """Processed line profiles (F1, F2) shared by every spectrum of a group, else None.

    A dimension gets a :class:`ProcessedLineProfile` only when every spectrum carries the same
    description of its processing and ``opts.processed_lineshape`` allows it: with ``True``
    the ``metadata["processing_f1"/"processing_f2"]`` written by exsyfit's own processing of
    raw data; with ``"procs"`` also ``metadata["processing_f1_topspin"/"processing_f2_topspin"]``
    that the Bruker reader derives from TopSpin's parameters of a 2rr.  Otherwise the lines
    are pseudo-Voigt; with ``"procs"`` the reason an F1 profile is missing is added to
    ``warnings``.
    """
    if not opts.processed_lineshape:
        return (None, None)
    out = []
    for dim in ("f1", "f2"):
        descs = [_description(s, dim, opts.processed_lineshape == "procs") for s in spectra]
        first = descs[0]
        same = all(d == first for d in descs[1:])
        out.append(ProcessedLineProfile.from_metadata(first) if same else None)
        if warnings is not None and dim == "f1" and out[-1] is None and \
                opts.processed_lineshape == "procs" and (not same or first is not None):
            why = ("the spectra were processed differently" if not same else
                   first.get("reason", "no usable processing description")
                   if isinstance(first, Mapping) else "no processing description")
            warnings.append(f"{label}: processed_lineshape = \"procs\" but F1 lines stay "
                            f"pseudo-Voigt: {why}")
    return tuple(out)


def _common_format(spectra: Sequence[Spectrum2D]) -> str:
    """The ``format`` shared by every spectrum of a group ("" when they differ)."""
    formats = {s.format for s in spectra}
    return formats.pop() if len(formats) == 1 else ""


def _description(spectrum: Spectrum2D, dim: str, topspin: bool) -> Any:
    """Processing description of one dimension (exsyfit's own first, then TopSpin's)."""
    meta = spectrum.metadata if isinstance(spectrum.metadata, Mapping) else {}
    own = meta.get(f"processing_{dim}")
    if own is not None or not topspin:
        return own
    return meta.get(f"processing_{dim}_topspin")


def _by_mixing_time(spectra: Sequence[Spectrum2D], indices: Sequence[int]) -> np.ndarray:
    """Positions within ``indices`` in order of increasing mixing time (unknown last)."""
    tm = np.array([spectra[k].mixing_time_s if spectra[k].mixing_time_s is not None else np.inf
                   for k in indices], float)
    return np.argsort(tm, kind="stable")
