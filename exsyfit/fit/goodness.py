"""Goodness of fit: reduced chi-square, posterior-predictive p-value, standardised residuals.

Definitions (volumes ``y_n`` with the table's ``sigma_n``; posterior draws ``s`` of the
predicted volumes ``mu_sn`` and of their variance ``v_sn = sigma_n^2 + (f_s mu_sn)^2``, f the
optional fractional error):

* **reduced chi-square** ``chi2_red = sum_n ((y_n - m_n)/sigma_n)^2 / (n_volumes - n_fitted)``
  with ``m_n`` the posterior median of ``mu_sn`` and ``n_fitted`` the sampled parameters plus
  the intensity scales integrated out analytically (one per temperature).  About 1 when the
  model describes the data within the stated sigma; well above 1 when it does not (or the
  sigmas are too small).  Per temperature, the same sum over that temperature's volumes divided
  by its share of the degrees of freedom, ``n_T (n_volumes - n_fitted)/n_volumes``.  NaN when
  no degree of freedom is left (``n_fitted >= n_volumes``): the data cannot test the model.
* **posterior-predictive p-value** (Gelman, Meng & Stern, Stat. Sin. 6 (1996) 733) of the
  discrepancy ``D(y, theta) = sum_n (y_n - mu_n)^2/v_n``: the fraction of draws for which
  replicated data ``y_rep ~ N(mu_s, v_s)`` are at least as discrepant as the observed volumes.
  Near 0 when the data are further from the model than noise explains.
* **standardised residual** of a volume: ``(y_n - m_n)/sigma_n``.

A fit whose ``chi2_red > 2`` or ``p < 0.01`` gets a warning in plain words
(:func:`mismatch_warning`).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

__all__ = ["GoodnessOfFit", "goodness_of_fit", "mismatch_warning", "CHI2_LIMIT", "P_LIMIT"]

CHI2_LIMIT = 2.0
"""Reduced chi-square above which the model is said not to describe the data."""
P_LIMIT = 0.01
"""Posterior-predictive p-value below which the model is said not to describe the data."""


@dataclass
class GoodnessOfFit:
    """Goodness-of-fit figures of one fit (see the module docstring)."""

    chi2_reduced: float
    posterior_predictive_p: float
    dof: float
    chi2_reduced_by_temperature: np.ndarray  # (n_T,)
    predicted_median: np.ndarray  # (n_obs,)
    standardised_residuals: np.ndarray  # (n_obs,)


def goodness_of_fit(y: np.ndarray, sigma: np.ndarray, mu: np.ndarray, var: np.ndarray,
                    temperature_index: np.ndarray, n_temperatures: int, n_fitted: int,
                    rng: np.random.Generator) -> GoodnessOfFit:
    """Compute the goodness-of-fit figures from posterior draws of the prediction.

    Parameters
    ----------
    y, sigma : numpy.ndarray, shape (n_obs,)
        Observed volumes and their standard deviations (table units).
    mu, var : numpy.ndarray, shape (n_draws, n_obs)
        Posterior draws of the predicted volumes and of the variance of a volume.
    temperature_index : numpy.ndarray of int, shape (n_obs,)
        Temperature group of every volume.
    n_temperatures : int
    n_fitted : int
        Number of fitted parameters (sampled plus analytically integrated).
    rng : numpy.random.Generator
        For the replicated data of the posterior-predictive check.

    Returns
    -------
    GoodnessOfFit
    """
    y = np.asarray(y, dtype=float)
    sigma = np.asarray(sigma, dtype=float)
    n = len(y)
    with np.errstate(all="ignore"):
        m = np.median(mu, axis=0)
        z = (y - m) / sigma
        dof = float(n - n_fitted)
        # no degrees of freedom left: the data cannot test the model (chi-square undefined)
        chi2 = float(np.sum(z**2) / dof) if dof > 0 else float("nan")
        per_t = np.array([np.sum(z[temperature_index == t] ** 2) for t in range(n_temperatures)])
        share = np.bincount(temperature_index, minlength=n_temperatures) * dof / n
        chi2_t = (per_t / np.maximum(share, 1e-300) if dof > 0
                  else np.full(n_temperatures, np.nan))
        d_obs = np.sum((y - mu) ** 2 / var, axis=1)
        # replicated data y_rep = mu + sqrt(var) e: the discrepancy is sum e^2 (chi-square n)
        d_rep = np.sum(rng.standard_normal(mu.shape) ** 2, axis=1)
        finite = np.isfinite(d_obs)
        p = float(np.mean(d_rep[finite] >= d_obs[finite])) if finite.any() else float("nan")
    return GoodnessOfFit(chi2_reduced=chi2, posterior_predictive_p=p, dof=dof,
                         chi2_reduced_by_temperature=chi2_t, predicted_median=m,
                         standardised_residuals=z)


def mismatch_warning(gof: GoodnessOfFit, temperatures_K: np.ndarray) -> str | None:
    """A plain-words warning when the model does not describe the data, else None."""
    chi2, p = gof.chi2_reduced, gof.posterior_predictive_p
    if gof.dof <= 0:
        n = len(gof.standardised_residuals)
        return (f"The data cannot test the model: it has {n - gof.dof:g} fitted parameters "
                f"(sampled, plus the intensity scales) for {n} volumes, so chi2_reduced is "
                "undefined and the bounds and priors shape the posterior as much as the data; "
                "add mixing times or temperatures, or fix parameters (populations, T1).")
    if not (chi2 > CHI2_LIMIT or p < P_LIMIT or not np.isfinite(chi2)):
        return None
    if not np.isfinite(chi2):
        return ("The model does not describe the data: its prediction is not finite for these "
                "volumes, so the goodness of fit cannot be computed; check the volume table "
                "for extreme volumes or sigmas.")
    p_text = f"= {p:.2g}" if p >= 0.001 else "< 0.001"
    worst = int(np.nanargmax(gof.chi2_reduced_by_temperature)) if np.isfinite(
        gof.chi2_reduced_by_temperature).any() else 0
    return (
        "The model does not describe the data: the volumes scatter about the fitted build-up "
        f"curves {np.sqrt(chi2):.1f} times more than their stated uncertainty sigma "
        f"(chi2_reduced = {chi2:.2f}, expected about 1; "
        f"posterior-predictive p {p_text}), "
        f"worst at {temperatures_K[worst]:g} K (chi2_reduced "
        f"{gof.chi2_reduced_by_temperature[worst]:.2f}). The rates and their intervals are "
        "not trustworthy until this is understood: look at the standardised residuals for "
        "artefacts (a mis-phased or mis-integrated spectrum, overlapping peaks), check that "
        "sigma is not underestimated, or try another model.")
