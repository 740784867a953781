"""Model comparison and the Arrhenius linearity check.

:func:`compare_models` ranks fits of the *same* volume table (free / Arrhenius / Eyring
temperature laws, with or without a spin-diffusion term, first-order or diffusion transport) by
their expected log pointwise predictive density (elpd), estimated by Pareto-smoothed
importance-sampling leave-one-out cross-validation (PSIS-LOO, Vehtari, Gelman & Gabry, Stat.
Comput. 27 (2017) 1413) or WAIC, from the per-volume log-likelihood stored in every
:class:`~exsyfit.fit.results.FitResult`.  One "observation" is one peak volume.

:func:`arrhenius_linearity` checks the assumption behind a global Arrhenius fit on a free fit:
a weighted straight line through the per-temperature posteriors of ln k.
"""

from __future__ import annotations

import warnings
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd
from scipy import stats as sps

from exsyfit.errors import FitError
from exsyfit.kinetics.laws import K_B_EV_PER_K, KJ_PER_MOL_PER_EV

if TYPE_CHECKING:  # pragma: no cover
    from exsyfit.fit.results import FitResult

__all__ = ["compare_models", "arrhenius_linearity", "describe_model"]


def describe_model(result: FitResult) -> str:
    """Short description of a fit's model, e.g. 'arrhenius, first-order, + spin diffusion'."""
    spec = result.problem.spec
    parts = [spec.temperature_model, spec.transport]
    if spec.spin_diffusion:
        parts.append("+ spin diffusion")
    if spec.fractional_error:
        parts.append("+ fractional error")
    if spec.start != "equilibrium":
        parts.append(f"start: {spec.start}")
    return ", ".join(parts)


def _check_same_data(results: Mapping[str, FitResult]) -> None:
    names = list(results)
    ref = results[names[0]].problem
    for name in names[1:]:
        prob = results[name].problem
        same = (len(prob.y) == len(ref.y) and np.array_equal(prob.y, ref.y)
                and np.array_equal(prob.sigma, ref.sigma))
        if not same:
            raise FitError(
                f"model comparison needs fits of the same volume table: '{name}' was fitted to "
                f"{len(prob.y)} volumes that differ from the {len(ref.y)} volumes of "
                f"'{names[0]}'; refit both models on one volumes.csv"
            )


def _verdict(d_elpd: float, dse: float, rank: int) -> str:
    if rank == 0:
        return "preferred: highest expected predictive accuracy"
    if not np.isfinite(d_elpd):
        return "not comparable (elpd not finite)"
    z = d_elpd / dse if dse > 0 else np.inf
    if z > 4:
        return (f"clearly worse: elpd lower by {d_elpd:.1f} ± {dse:.1f} "
                f"({z:.1f} standard errors)")
    if z > 2:
        return f"worse: elpd lower by {d_elpd:.1f} ± {dse:.1f} ({z:.1f} standard errors)"
    return (f"indistinguishable: elpd lower by {d_elpd:.1f} ± {dse:.1f} "
            "(within 2 standard errors); prefer the simpler or conventional model")


def compare_models(results: Mapping[str, FitResult], ic: str = "loo") -> pd.DataFrame:
    """Rank fits of the same volume table by estimated out-of-sample predictive accuracy.

    Parameters
    ----------
    results : mapping
        Model name -> FitResult, all fitted to the same volumes (two or more).
    ic : {"loo", "waic"}
        PSIS-LOO (default) or WAIC.

    Returns
    -------
    pandas.DataFrame
        The output of ``arviz.compare`` (index: model name, best first; columns ``rank``,
        ``elpd_loo``/``elpd_waic`` (log scale, higher is better), ``p_loo``/``p_waic``
        (effective number of parameters), ``elpd_diff``, ``weight``, ``se``, ``dse``,
        ``warning`` (True when Pareto k > 0.7 for some volume, i.e. LOO unreliable)) plus
        ``model`` (description), ``n_parameters`` (sampled), ``converged`` and
        ``interpretation`` (plain language: preferred / clearly worse / worse /
        indistinguishable, using 2 and 4 standard errors of the difference).

    Raises
    ------
    FitError
        Fewer than two fits, or fits of different volume tables.
    """
    import arviz as az

    if len(results) < 2:
        raise FitError(f"model comparison needs two or more fits; got {len(results)}")
    if ic not in ("loo", "waic"):
        raise FitError(f"ic = {ic!r}: expected 'loo' or 'waic'")
    _check_same_data(results)
    idatas = {}
    with warnings.catch_warnings():
        # ArviZ warns when walkers (chains) outnumber thinned draws, and about Pareto k
        # (reported in the table instead)
        warnings.simplefilter("ignore")
        for name, res in results.items():
            ll = np.asarray(res.derived["log_likelihood"])
            idatas[name] = az.from_dict(posterior={"lp": res.lp},
                                        log_likelihood={"volume": ll})
        table = az.compare(idatas, ic=ic, scale="log")
    table = pd.DataFrame(table)
    table["model"] = [describe_model(results[n]) for n in table.index]
    table["n_parameters"] = [results[n].problem.n_parameters for n in table.index]
    table["converged"] = [bool(results[n].diagnostics.get("converged", False))
                          for n in table.index]
    table["interpretation"] = [
        _verdict(float(row["elpd_diff"]), float(row["dse"]), int(row["rank"]))
        + ("; LOO unreliable (Pareto k > 0.7)" if bool(row.get("warning", False)) else "")
        for _, row in table.iterrows()
    ]
    return table


def _weighted_line(x: np.ndarray, y: np.ndarray, s: np.ndarray,
                   ) -> tuple[np.ndarray, np.ndarray]:
    """Weighted least squares y = a + b x; returns (coef [a, b], covariance)."""
    X = np.column_stack([np.ones_like(x), x])
    W = 1.0 / s**2
    cov = np.linalg.inv(X.T @ (X * W[:, None]))
    coef = cov @ (X.T @ (W * y))
    return coef, cov


def arrhenius_linearity(free_result: FitResult, pair: str | None = None) -> dict[str, Any]:
    """Is ln k of a free (per-temperature) fit a straight line in 1/T?

    A weighted least-squares line ln k = ln A - Ea/(k_B T) is fitted to the posterior medians
    of ln k_ex at each temperature, with weights 1/sd^2 (sd = half the 16-84 % interval; when
    the table carries temperature uncertainties, the slope times sigma_T/T^2 is added in
    quadrature, one iteration).  chi^2 against n_T - 2 degrees of freedom tests linearity; a
    quadratic term in 1/T (four or more temperatures) measures curvature.

    Parameters
    ----------
    free_result : FitResult
        A ``temperature_model = "free"`` fit with two or more temperatures.
    pair : str, optional
        Exchanging pair (default: the first).

    Returns
    -------
    dict
        ``pair``, ``n_temperatures``, ``Ea_eV`` and ``Ea_kJ_per_mol`` and ``ln_A_per_s``
        (each ``{"value", "sd"}``), ``Ea_lnA_correlation``, ``chi2``, ``dof``, ``p_value``
        (NaN for two temperatures), ``reduced_chi2``, ``max_abs_deviation_sigma`` and
        ``deviation_sigma`` (per temperature), ``curvature_sigma`` (quadratic coefficient /
        its sd; NaN below four temperatures), ``linear`` (p > 0.01 and |curvature| < 3; None
        when untestable), ``temperatures_K``, ``ln_k_median``, ``ln_k_sd``.

    Raises
    ------
    FitError
        Not a free fit, or fewer than two temperatures.
    """
    if free_result.temperature_model != "free":
        raise FitError(
            "the Arrhenius linearity check needs a fit with model.temperature_model = 'free' "
            f"(independent rates per temperature); got '{free_result.temperature_model}', whose "
            "rates follow the law by construction"
        )
    T = np.asarray(free_result.temperatures_K, dtype=float)
    if len(T) < 2:
        raise FitError(f"the Arrhenius linearity check needs two or more temperatures; the "
                       f"fit has {len(T)} ({T[0]:g} K)")
    pair = pair or free_result.pairs[0]
    ln_k = np.log(free_result.rate_draws(pair))
    q16, med, q84 = np.percentile(ln_k, [16, 50, 84], axis=0)
    sd = np.maximum(0.5 * (q84 - q16), 1e-12)
    x = 1.0 / T
    coef, cov = _weighted_line(x, med, sd)
    sig_T = np.asarray(free_result.problem.temperature_sigma_K, dtype=float)
    s_eff = sd
    if np.any(sig_T > 0):
        s_eff = np.sqrt(sd**2 + (coef[1] * sig_T / T**2) ** 2)
        coef, cov = _weighted_line(x, med, s_eff)
    resid = (med - (coef[0] + coef[1] * x)) / s_eff
    chi2 = float(np.sum(resid**2))
    dof = len(T) - 2
    p_value = float(sps.chi2.sf(chi2, dof)) if dof > 0 else float("nan")
    curvature = float("nan")
    if len(T) >= 4:
        xc = x - x.mean()
        X = np.column_stack([np.ones_like(xc), xc, xc**2])
        W = 1.0 / s_eff**2
        cov3 = np.linalg.inv(X.T @ (X * W[:, None]))
        c3 = cov3 @ (X.T @ (W * med))
        curvature = float(c3[2] / np.sqrt(cov3[2, 2]))
    ea = -coef[1] * K_B_EV_PER_K
    ea_sd = float(np.sqrt(cov[1, 1]) * K_B_EV_PER_K)
    corr = float(-cov[0, 1] / np.sqrt(cov[0, 0] * cov[1, 1]))
    linear: bool | None = None
    if dof > 0:
        linear = bool(p_value > 0.01 and (not np.isfinite(curvature) or abs(curvature) < 3))
    return {
        "pair": pair,
        "n_temperatures": int(len(T)),
        "Ea_eV": {"value": float(ea), "sd": ea_sd},
        "Ea_kJ_per_mol": {"value": float(ea * KJ_PER_MOL_PER_EV),
                          "sd": ea_sd * KJ_PER_MOL_PER_EV},
        "ln_A_per_s": {"value": float(coef[0]), "sd": float(np.sqrt(cov[0, 0]))},
        "Ea_lnA_correlation": corr,
        "chi2": chi2,
        "dof": int(dof),
        "p_value": p_value,
        "reduced_chi2": chi2 / dof if dof > 0 else float("nan"),
        "max_abs_deviation_sigma": float(np.max(np.abs(resid))),
        "deviation_sigma": [float(r) for r in resid],
        "curvature_sigma": curvature,
        "linear": linear,
        "temperatures_K": [float(t) for t in T],
        "ln_k_median": [float(v) for v in med],
        "ln_k_sd": [float(v) for v in s_eff],
    }
