"""Goodness of fit: reduced chi-square, posterior-predictive p, residuals and the warning."""

from __future__ import annotations

import numpy as np
import pytest

from exsyfit.config import config_from_dict
from exsyfit.fit.goodness import goodness_of_fit, mismatch_warning
from exsyfit.fit.likelihood import problem_from_config
from exsyfit.fit.options import SamplerConfig
from exsyfit.fit.results import FitResult
from exsyfit.fit.sampling import sample_posterior

from conftest import c8_volume_table


def fit(table, steps=400):
    raw = {"data": {"volumes": "v.csv"}, "sites": {"A": {"ppm": 1.0}, "B": {"ppm": 2.0}},
           "model": {"temperature_model": "arrhenius"}}
    problem = problem_from_config(table, config_from_dict(raw))
    with pytest.warns(UserWarning):  # a short fixed chain is not converged
        out = sample_posterior(problem, SamplerConfig(seed=2, steps=steps))
    return FitResult.from_sampling(problem, out, seed=2)


@pytest.fixture(scope="module")
def clean():
    return fit(c8_volume_table(sigma=0.002, seed=4))


def test_clean_table_has_chi2_near_one_and_no_mismatch_warning(clean):
    d = clean.summary_dict()
    chi2 = d["diagnostics"]["chi2_reduced"]
    # 140 volumes, 15 fitted: chi2_red has sd sqrt(2/125) = 0.13
    assert 0.6 < chi2 < 1.5
    assert d["diagnostics"]["posterior_predictive_p"] > 0.01
    assert not any("does not describe" in w for w in d["warnings"])
    assert all(0.3 < e["chi2_reduced"] < 2.2 for e in d["temperatures"])


def test_residual_table_is_standardised_against_the_median_prediction(clean):
    res = clean.residuals()
    assert len(res) == len(clean.problem.y)
    np.testing.assert_allclose(res["standardised_residual"],
                               (res["volume"] - res["predicted"]) / res["sigma"])
    # unit variance within sampling error for a model that fits
    assert 0.7 < np.std(res["standardised_residual"]) < 1.3
    dof = clean.diagnostics["chi2_dof"]
    assert np.isclose(np.sum(res["standardised_residual"] ** 2) / dof,
                      clean.diagnostics["chi2_reduced"])


def test_scaled_cross_peaks_of_one_temperature_are_flagged():
    table = c8_volume_table(sigma=0.002, seed=4)
    bad = (table["temperature_K"] == 303.0) & (table["from_site"] != table["to_site"])
    table.loc[bad, "volume"] *= 1.5
    result = fit(table)
    d = result.summary_dict()
    assert d["diagnostics"]["chi2_reduced"] > 2.0
    assert d["diagnostics"]["posterior_predictive_p"] < 0.01
    warning = [w for w in d["warnings"] if "does not describe the data" in w]
    assert len(warning) == 1 and "303 K" in warning[0]
    per_t = {e["temperature_K"]: e["chi2_reduced"] for e in d["temperatures"]}
    assert max(per_t, key=per_t.get) == 303.0
    res = result.residuals()
    worst = res.loc[res["standardised_residual"].abs().idxmax()]
    assert worst["temperature_K"] == 303.0 and worst["from_site"] != worst["to_site"]


def test_posterior_predictive_p_is_uniformish_for_data_from_the_model():
    rng = np.random.default_rng(0)
    n_obs, n_draws = 50, 400
    mu = np.ones((n_draws, n_obs))
    sigma = np.full(n_obs, 0.1)
    ps, chis = [], []
    for _ in range(40):
        y = 1.0 + 0.1 * rng.standard_normal(n_obs)
        g = goodness_of_fit(y, sigma, mu, np.full_like(mu, 0.01), np.zeros(n_obs, int), 1, 0,
                            rng)
        ps.append(g.posterior_predictive_p)
        chis.append(g.chi2_reduced)
    assert 0.3 < np.mean(ps) < 0.7
    assert abs(np.mean(chis) - 1.0) < 0.1


def test_rate_table_matches_the_summary_and_the_matrix_log_agrees(clean):
    from exsyfit.kinetics.matrixlog import matrix_log_table

    rates = clean.rate_table()
    summary = clean.summary_dict()["temperatures"]
    assert list(rates["pair"]) == ["A<->B"] * len(summary)
    np.testing.assert_allclose(rates["k_ex_per_s_median"],
                               [e["k_ex_per_s"]["median"] for e in summary])
    table = matrix_log_table(clean.problem.table, ["A", "B"], [0.9, 0.1], n_draws=100, seed=1,
                             fit_rates=rates)
    rated = table[table["ok"]]
    kt = rated["k_ex_A<->B_fit_per_s"] * rated["mixing_time_s"]
    informative = rated[kt < 3.0]
    assert len(informative) > 8
    assert informative["agrees_with_fit"].mean() > 0.85
    # where exchange is nearly complete the single-spectrum logarithm is noise-dominated:
    # such rows are flagged, and the text says why
    saturated = rated[kt > 8.0]
    assert len(saturated) >= 2 and not saturated["agrees_with_fit"].any()
    assert saturated["fit_disagreement"].str.contains("nearly complete").all()


def test_no_degrees_of_freedom_leave_chi_square_undefined():
    # 4 volumes and 5 fitted parameters: no chi-square, and a warning that says why
    rng = np.random.default_rng(0)
    y = np.array([0.8, 0.1, 0.1, 0.05])
    mu = y + 0.01 * rng.standard_normal((200, 4))
    gof = goodness_of_fit(y, np.full(4, 0.01), mu, np.full((200, 4), 1e-4),
                          np.zeros(4, dtype=int), 1, 5, rng)
    assert gof.dof == -1
    assert np.isnan(gof.chi2_reduced) and np.isnan(gof.chi2_reduced_by_temperature).all()
    assert "cannot test the model" in mismatch_warning(gof, np.array([303.0]))
