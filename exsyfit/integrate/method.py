"""The ``auto`` method: box integration unless its predicted overlap bias is too large."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from exsyfit.integrate.groups import PreparedGroup
from exsyfit.integrate.lines import order_lines, peak_model
from exsyfit.integrate.lineshape_fit import lineshape_fit, noise_covariance
from exsyfit.integrate.options import IntegrationOptions
from exsyfit.integrate.regions import region_weights, resolve_half_widths


def _auto_bias(prep: PreparedGroup, opts: IntegrationOptions) -> float:
    """Largest overlap bias (in sigma) of box volumes, predicted from the fitted shapes.

    The bias of a box volume is the signal of the *other* peaks (their tails, through the region
    and through its baseline frame) that the box picks up; the fraction of its own peak that a
    box holds is the same in every spectrum and is not counted here.
    """
    centre = ((0, 0),)
    peak_maps, amps, _, windows = lineshape_fit(prep, opts, centre)
    hw = resolve_half_widths(prep.shapes, opts, [], prep.label)
    wbox, _ = region_weights(prep.shapes, hw, prep.ppm_f1, prep.ppm_f2, centre, 0.0, "box",
                              opts.baseline, opts.baseline_margin, [], prep.label)
    g, h = order_lines(prep.shapes, prep.ppm_f1, prep.ppm_f2, centre, 0.0, prep.profiles)
    n = len(prep.shapes)
    unit = np.einsum("rj,ci->jirc", g[:, :, 0], h[:, :, 0]).reshape(n * n, *g.shape[:1], -1)
    resp = np.einsum("prc,qrc->pq", wbox, unit, optimize=True)
    vol = amps[:, :, 0]
    leak = vol @ (resp - np.diag(np.diag(resp))).T  # other peaks' signal in each region
    model = peak_model(prep.shapes, prep.ppm_f1, prep.ppm_f2, centre, 0.0, amps, prep.profiles)
    sig = noise_covariance(prep, wbox, windows, model, opts).sigma
    with np.errstate(divide="ignore", invalid="ignore"):
        ratio = np.abs(leak) / sig
    return float(np.nanmax(ratio)) if np.isfinite(ratio).any() else float("inf")


def choose_method(
    preps: Sequence[PreparedGroup], opts: IntegrationOptions
) -> tuple[str, dict]:
    """The method for the whole series and how it was chosen (``auto`` resolved)."""
    if opts.method != "auto":
        return opts.method, {"method": opts.method, "reason": f"method = '{opts.method}' requested"}
    per_group = {}
    for prep in preps:
        prep.box_bias_sigma = _auto_bias(prep, opts)
        per_group[prep.label] = prep.box_bias_sigma
    worst = max(per_group.values())
    seps = _separation_summary(preps)
    if worst > opts.auto_bias_sigma:
        method = "lineshape"
        reason = (f"auto: lineshape, because box integration would be biased by up to "
                  f"{worst:.2g} sigma through overlap ({seps})")
    else:
        method = "box"
        reason = (f"auto: box, because its predicted overlap bias is at most {worst:.2g} sigma "
                  f"({seps})")
    return method, {"method": method, "reason": reason, "box_bias_sigma": per_group}


def _separation_summary(preps: Sequence[PreparedGroup]) -> str:
    parts = []
    for prep in preps:
        s = prep.shapes
        ratios = [abs(a.ppm_f2 - b.ppm_f2) / (0.5 * (a.fwhm_f2 + b.fwhm_f2))
                  for k, a in enumerate(s) for b in s[k + 1:]]
        parts.append(f"{prep.label}: smallest separation {min(ratios):.2g} x FWHM")
    return "; ".join(parts)
