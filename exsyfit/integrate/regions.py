"""Box and ellipse integration regions: half widths, region weights and baseline frames.

A box/ellipse volume is the sum of the points inside the region times the area of one point,
minus a local baseline estimated from a frame of signal-free points around it; both are one
weight map per peak.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np

from exsyfit.errors import ConfigError, SeriesError
from exsyfit.integrate.options import IntegrationOptions
from exsyfit.integrate.results import Region, SiteShape


def resolve_half_widths(
    shapes: Sequence[SiteShape], opts: IntegrationOptions, warnings: list[str], label: str
) -> dict[str, list[float]]:
    """Half widths per site and dimension (ppm), clipped so neighbouring regions do not overlap."""
    hw = {}
    for s in shapes:
        given = opts.half_width_ppm
        if given is None:
            hw[s.name] = [opts.half_width_fwhm * s.fwhm_f1, opts.half_width_fwhm * s.fwhm_f2]
        elif isinstance(given, Mapping):
            if s.name not in given:
                raise ConfigError(
                    f"[integration].half_width_ppm: no entry for site '{s.name}' "
                    f"(entries: {', '.join(given)}); give every site or a single number"
                )
            hw[s.name] = list(given[s.name])
        else:
            hw[s.name] = [float(given), float(given)]
    clipped = []
    for dim, attr in ((0, "ppm_f1"), (1, "ppm_f2")):
        pairs = sorted(
            ((abs(getattr(a, attr) - getattr(b, attr)), a.name, b.name)
             for k, a in enumerate(shapes) for b in shapes[k + 1:]),
        )
        for sep, a, b in pairs:
            tot = hw[a][dim] + hw[b][dim]
            if tot > sep:
                f = sep / tot
                hw[a][dim] *= f
                hw[b][dim] *= f
                clipped.append(f"{a}/{b} in F{dim + 1} ({sep:.3g} ppm apart)")
    if clipped and opts.method in ("box", "ellipse"):
        warnings.append(
            f"{label}: region half widths were reduced so that neighbouring regions do not "
            f"overlap: {'; '.join(clipped)}. Peaks this close overlap; lineshape fitting is "
            "the better choice."
        )
    return hw


def region_weights(
    shapes: Sequence[SiteShape], hw: Mapping[str, Sequence[float]], ppm_f1: np.ndarray,
    ppm_f2: np.ndarray, orders: Sequence[tuple[int, int]], sb: float, kind: str, baseline: str,
    margin: float, warnings: list[str], label: str,
) -> tuple[np.ndarray, tuple[Region, ...]]:
    """Box/ellipse weight maps (including baseline) for every peak, summed over orders."""
    n1, n2 = ppm_f1.size, ppm_f2.size
    da = abs(ppm_f1[1] - ppm_f1[0]) * abs(ppm_f2[1] - ppm_f2[0])
    specs = []
    for j in shapes:
        for i in shapes:
            for m, n in orders:
                specs.append(Region(j.name, i.name, m, n, j.ppm_f1 + m * sb, i.ppm_f2 + n * sb,
                                    hw[j.name][0], hw[i.name][1], kind, margin))
    norms = [_region_norm(r, ppm_f1, ppm_f2) for r in specs]
    cores = [nm <= 1.0 for nm in norms]
    any_core = np.logical_or.reduce(cores)
    n_orders = len(orders)
    weights = np.zeros((len(shapes) ** 2, n1, n2))
    kept = []
    for k, (reg, nm, core) in enumerate(zip(specs, norms, cores, strict=True)):
        p = k // n_orders
        if not core.any():
            if (reg.order_f1, reg.order_f2) == (0, 0):
                raise SeriesError(
                    f"{label}: the region of peak {reg.from_site}->{reg.to_site} holds no data "
                    "points; the site shifts or half widths do not fit the spectral window"
                )
            warnings.append(
                f"{label}: sideband ({reg.order_f1}, {reg.order_f2}) of peak "
                f"{reg.from_site}->{reg.to_site} lies outside the spectrum and was not added"
            )
            continue
        w = core.astype(float)
        if baseline != "none":
            w -= _frame_weights(reg, nm, core, any_core, baseline, margin, ppm_f1, ppm_f2)
        weights[p] += da * w
        kept.append(reg)
    return weights, tuple(kept)


def _region_norm(reg: Region, ppm_f1: np.ndarray, ppm_f2: np.ndarray) -> np.ndarray:
    """Distance of every point from the region centre in half widths (max-norm or ellipse)."""
    d1 = (ppm_f1 - reg.center_f1) / reg.half_width_f1
    d2 = (ppm_f2 - reg.center_f2) / reg.half_width_f2
    if reg.kind == "ellipse":
        return np.sqrt(d1[:, None] ** 2 + d2[None, :] ** 2)
    return np.maximum(np.abs(d1)[:, None], np.abs(d2)[None, :])


def _frame_weights(
    reg: Region, nm: np.ndarray, core: np.ndarray, any_core: np.ndarray, baseline: str,
    margin: float, ppm_f1: np.ndarray, ppm_f2: np.ndarray,
) -> np.ndarray:
    """Weights that estimate the baseline under the core from a frame of points around it."""
    m = margin
    for _ in range(5):
        frame = (nm > 1.0) & (nm <= 1.0 + m) & ~any_core
        if frame.sum() >= 12:
            break
        m *= 1.5
    fr, fc = np.nonzero(frame)
    out = np.zeros(core.shape)
    if fr.size < 3:
        return out
    n_core = core.sum()
    if baseline == "surroundings":
        out[fr, fc] = n_core / fr.size
        return out
    cr, cc = np.nonzero(core)
    z = np.column_stack([np.ones(fr.size), ppm_f1[fr] - reg.center_f1, ppm_f2[fc] - reg.center_f2])
    zsum = np.array([n_core, (ppm_f1[cr] - reg.center_f1).sum(),
                     (ppm_f2[cc] - reg.center_f2).sum()])
    out[fr, fc] = zsum @ np.linalg.pinv(z)
    return out
