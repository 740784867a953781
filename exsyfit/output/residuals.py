"""Standardised residuals of a fit: (observed − posterior-median model)/sigma per volume.

The model volume of each row of the volume table is the median over posterior draws of the
predicted volume; the residual is divided by the table's ``sigma`` (the uncertainty the fit
used).  Under a model that describes the data the residuals are standard normal: ``chi²/n``
near 1 and few ``|z|`` beyond 3.  Build-up figures and the report use the same numbers.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

if TYPE_CHECKING:  # pragma: no cover
    from exsyfit.fit.results import FitResult

__all__ = ["model_median", "standardised_residuals", "residuals_per_spectrum"]


def model_median(result: FitResult) -> np.ndarray:
    """Posterior-median model volume of every row of the fitted volume table.

    The prediction the fit's goodness of fit was computed with
    (:attr:`FitResult.goodness`, all draws), so figures, report and ``chi2_reduced`` agree.

    Returns
    -------
    numpy.ndarray, shape (n_rows,)
        Volumes on the table's scale.
    """
    return np.asarray(result.goodness.predicted_median, dtype=float)


def standardised_residuals(result: FitResult) -> pd.DataFrame:
    """The volume table with the median model volume and z = (volume − model)/sigma.

    Returns
    -------
    pandas.DataFrame
        The fitted table's columns plus ``model_volume`` and ``z``.
    """
    table = result.problem.table.copy()
    model = model_median(result)
    table["model_volume"] = model
    table["z"] = (table["volume"].to_numpy(float) - model) / table["sigma"].to_numpy(float)
    return table


def residuals_per_spectrum(result: FitResult) -> pd.DataFrame:
    """One row per spectrum: number of peaks, chi²/n, rms z and the largest |z| with its peak.

    Returns
    -------
    pandas.DataFrame
        Columns ``experiment`` (when the table has it), ``temperature_K``, ``mixing_time_s``,
        ``n``, ``chi2_per_volume``, ``rms_z``, ``max_abs_z``, ``worst_peak`` (``from→to``),
        sorted by temperature and mixing time.
    """
    table = standardised_residuals(result)
    temps = np.asarray(result.temperatures_K, dtype=float)
    table["temperature_K"] = temps[table["temperature_index"].to_numpy(int)]
    key = ["experiment"] if "experiment" in table else ["temperature_K", "mixing_time_s"]
    rows = []
    for _, g in table.groupby(key, sort=False):
        z = g["z"].to_numpy(float)
        k = int(np.argmax(np.abs(z)))
        worst = g.iloc[k]
        row = {"temperature_K": float(g["temperature_K"].iloc[0]),
               "mixing_time_s": float(g["mixing_time_s"].iloc[0]),
               "n": int(z.size), "chi2_per_volume": float(np.mean(z**2)),
               "rms_z": float(np.sqrt(np.mean(z**2))), "max_abs_z": float(abs(z[k])),
               "worst_peak": f"{worst['from_site']}→{worst['to_site']}"}
        if "experiment" in g:
            row = {"experiment": str(g["experiment"].iloc[0]), **row}
        rows.append(row)
    out = pd.DataFrame(rows)
    return out.sort_values(["temperature_K", "mixing_time_s"], kind="stable").reset_index(
        drop=True)
