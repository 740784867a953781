"""The vectorised log-posterior: predictions, marginal likelihood, parameterisation."""

from __future__ import annotations

import numpy as np
import pytest
from scipy.integrate import quad

from exsyfit.config import config_from_dict
from exsyfit.errors import FitError
from exsyfit.fit.likelihood import problem_from_config
from exsyfit.kinetics.laws import K_B_EV_PER_K

from conftest import C8_EA_EV, C8_P_A, c8_k_ex, c8_volume_table


def truth_vector(problem, scale=None):
    """Parameter vector of the c8 truth for an Arrhenius problem."""
    theta = problem.initial_guess()
    names = problem.parameter_names
    for k, name in enumerate(names):
        if name.startswith("Ea_eV"):
            theta[k] = C8_EA_EV
        elif name.startswith("ln_k_ex_ref"):
            theta[k] = np.log(c8_k_ex(problem.T_ref_K))
        elif name.startswith("ln_k_ex["):
            T = float(name.split("@")[1][:-1])
            theta[k] = np.log(c8_k_ex(T))
        elif name == "p[A]":
            theta[k] = C8_P_A
        elif name.startswith("R1_per_s[A]"):
            theta[k] = 2.0
        elif name.startswith("R1_per_s[B]"):
            theta[k] = 1 / 3.0
        elif name.startswith("ln_scale") and scale is not None:
            theta[k] = np.log(scale)
    return theta


def make(table, **model):
    raw = {"data": {"volumes": "v.csv"}, "sites": {"A": {"ppm": 1.0}, "B": {"ppm": 2.0}},
           "model": {"temperature_model": "arrhenius", **model}}
    return problem_from_config(table, config_from_dict(raw))


def test_prediction_at_truth_reproduces_c8_volumes():
    table = c8_volume_table(sigma=0)
    problem = make(table)
    pred = problem.predict(truth_vector(problem)[None])[0]
    np.testing.assert_allclose(pred, table["volume"], rtol=1e-9, atol=1e-12)
    row = table[(table.temperature_K == 303) & (table.mixing_time_s == 0.2)]
    assert row[(row.from_site == "A") & (row.to_site == "A")]["volume"].item() == \
        pytest.approx(5.56388843e-01, abs=1e-9)
    assert row[(row.from_site == "A") & (row.to_site == "B")]["volume"].item() == \
        pytest.approx(5.93471588e-02, abs=1e-9)


def test_free_and_eyring_models_predict_the_same_truth():
    table = c8_volume_table(sigma=0)
    free = make(table, temperature_model="free")
    np.testing.assert_allclose(free.predict(truth_vector(free)[None])[0], table["volume"],
                               rtol=1e-9, atol=1e-12)
    assert sum(n.startswith("ln_k_ex[") for n in free.parameter_names) == 5
    eyr = make(table, temperature_model="eyring")
    assert "dH_kJ_per_mol[A<->B]" in eyr.parameter_names


def test_marginal_likelihood_equals_numerical_integral_over_scale():
    table = c8_volume_table(sigma=0.01, seed=2, temperatures_K=(283.0, 323.0))
    problem = make(table)
    theta = truth_vector(problem)
    phys = problem.unpack(theta[None])
    marginal = problem.marginal_log_likelihood(phys)[0]
    explicit = make(table, fractional_error=True)
    th2 = truth_vector(explicit)
    th2[explicit.parameter_names.index("ln_frac_error")] = np.log(1e-12)
    i0 = explicit.parameter_names.index("ln_scale@283.0K")
    i1 = explicit.parameter_names.index("ln_scale@323.0K")

    def loglik(c0, c1):
        th = th2.copy()
        th[i0], th[i1] = np.log(c0), np.log(c1)
        return explicit.log_likelihood_pointwise(th[None]).sum()

    peak = loglik(1.0, 1.0)
    # the two temperatures factorise: integrate each scale with the other at its optimum
    I0 = quad(lambda c: np.exp(loglik(c, 1.0) - peak), 0.9, 1.1, points=[1.0])[0]
    I1 = quad(lambda c: np.exp(loglik(1.0, c) - peak), 0.9, 1.1, points=[1.0])[0]
    # log of the double integral = peak + log I0 + log I1 - (log-lik at the optimum not
    # double counted): factorisation gives exp(l0(c0) + l1(c1)).
    assert marginal == pytest.approx(peak + np.log(I0) + np.log(I1), abs=1e-3)


def test_conditional_scale_recovers_the_intensity_scale():
    table = c8_volume_table(sigma=0, scale=37.5)
    problem = make(table)
    phys = problem.with_scale(truth_vector(problem)[None])
    np.testing.assert_allclose(phys["scale"], 37.5, rtol=1e-9)


def test_log_posterior_is_vectorised_and_rejects_outside_prior():
    problem = make(c8_volume_table())
    theta = np.tile(truth_vector(problem), (5, 1))
    theta[1, problem.parameter_names.index("p[A]")] = 1.2
    theta[2, problem.parameter_names.index("Ea_eV[A<->B]")] = -0.1
    lp = problem(theta)
    assert lp.shape == (5,)
    assert np.isneginf(lp[1]) and np.isneginf(lp[2])
    assert np.all(np.isfinite(lp[[0, 3, 4]]))
    single = np.array([problem(t[None])[0] for t in theta[[0, 3, 4]]])
    np.testing.assert_allclose(lp[[0, 3, 4]], single)


def test_truth_beats_perturbed_parameters():
    problem = make(c8_volume_table())
    theta = truth_vector(problem)
    worse = theta.copy()
    worse[problem.parameter_names.index("Ea_eV[A<->B]")] += 0.05
    assert problem(theta[None])[0] > problem(worse[None])[0] + 10


def test_arrhenius_with_one_temperature_is_refused():
    table = c8_volume_table(temperatures_K=(303.0,))
    with pytest.raises(FitError, match=r"two or more temperatures.*'temperature_K'.*303"):
        make(table)
    make(table, temperature_model="free")  # the free model is fine


def test_spin_diffusion_adds_a_constant_rate():
    problem = make(c8_volume_table(), spin_diffusion=True)
    theta = truth_vector(problem)
    theta[problem.parameter_names.index("k_sd_per_s[A<->B]")] = 0.5
    k_ex = problem.unpack(theta[None])["k_ex"][0, 0]
    expected = [c8_k_ex(T) + 0.5 for T in problem.temperatures_K]
    np.testing.assert_allclose(k_ex, expected, rtol=1e-9)


def test_temperatures_sampled_with_their_uncertainty():
    table = c8_volume_table().assign(temperature_sigma_K=2.0)
    problem = make(table)
    assert problem.sample_temperatures
    assert "T_K@303.0K" in problem.parameter_names
    theta = truth_vector(problem)
    base = problem.log_prior(theta[None])[0]
    theta[problem.parameter_names.index("T_K@303.0K")] += 2.0
    assert problem.log_prior(theta[None])[0] == pytest.approx(base - 0.5)


def test_fixed_and_prior_populations_and_T1():
    raw = {"data": {"volumes": "v.csv"},
           "sites": {"A": {"ppm": 1.0, "population": 0.9, "T1_s": 0.5},
                     "B": {"ppm": 2.0, "T1_s": {"mean": 3.0, "sd": 0.3}}},
           "model": {"temperature_model": "arrhenius", "T1": "shared"}}
    problem = problem_from_config(c8_volume_table(), config_from_dict(raw))
    assert not any(n.startswith("p[") for n in problem.parameter_names)
    assert [n for n in problem.parameter_names if n.startswith("R1")] == ["R1_per_s[B]"]
    theta = truth_vector(problem)
    phys = problem.unpack(theta[None])
    np.testing.assert_allclose(phys["populations"][0, :, 0], 0.9)
    np.testing.assert_allclose(phys["r1"][0, :, 0], 2.0)
    # normal prior on T1_B: log prior drops by 0.5 at one sd (plus the Jacobian term)
    i = problem.parameter_names.index("R1_per_s[B]")
    lp0 = problem.log_prior(theta[None])[0]
    theta[i] = 1 / 3.3
    lp1 = problem.log_prior(theta[None])[0]
    assert lp1 - lp0 == pytest.approx(-0.5 + 2 * np.log(3.3 / 3.0), abs=1e-9)


def test_three_site_problem_with_two_exchanging_pairs():
    from exsyfit.kinetics.exchange import exchange_rate_matrix, mixing_matrix, predict_volumes

    p = np.array([0.6, 0.3, 0.1])
    rows = []
    for T in (280.0, 320.0):
        k = [3.0 * np.exp(-0.3 / K_B_EV_PER_K * (1 / T - 1 / 300)), 1.0]
        K = exchange_rate_matrix(k, p, [(0, 1), (0, 2)])
        V = predict_volumes(mixing_matrix(K, [1.0, 0.5, 2.0], [0.05, 0.2], populations=p), p)
        for m, tm in enumerate((0.05, 0.2)):
            for i, a in enumerate("ABC"):
                for j, b in enumerate("ABC"):
                    rows.append(dict(experiment=f"{T}_{tm}", temperature_K=T,
                                     mixing_time_s=tm, from_site=b, to_site=a,
                                     volume=V[m, i, j], sigma=1e-3))
    import pandas as pd

    raw = {"data": {"volumes": "v.csv"},
           "sites": {"A": {"ppm": 1.0}, "B": {"ppm": 2.0}, "C": {"ppm": 3.0}},
           "model": {"temperature_model": "free", "exchange": ["A<->B", "A<->C"]}}
    problem = problem_from_config(pd.DataFrame(rows), config_from_dict(raw))
    theta = problem.initial_guess()
    names = problem.parameter_names
    for k, name in enumerate(names):
        if name.startswith("ln_k_ex[A<->B]"):
            T = float(name.split("@")[1][:-1])
            theta[k] = np.log(3.0 * np.exp(-0.3 / K_B_EV_PER_K * (1 / T - 1 / 300)))
        elif name.startswith("ln_k_ex[A<->C]"):
            theta[k] = 0.0
        elif name == "p[A]":
            theta[k] = 0.6
        elif name == "p[B]":
            theta[k] = 0.3
        elif name.startswith("R1_per_s"):
            theta[k] = {"A": 1.0, "B": 0.5, "C": 2.0}[name[9]]
    pred = problem.predict(theta[None])[0]
    np.testing.assert_allclose(pred, pd.DataFrame(rows)["volume"], rtol=1e-9, atol=1e-12)


def test_T1_per_temperature_fixed_or_with_prior():
    raw = {"data": {"volumes": "v.csv"},
           "sites": {"A": {"ppm": 1.0, "T1_s_by_temperature": {
                         "263": 0.5, "303": {"mean": 0.5, "sd": 0.02}}},
                     "B": {"ppm": 2.0, "T1_s": 3.0}},
           "model": {"temperature_model": "arrhenius"}}
    problem = problem_from_config(c8_volume_table(), config_from_dict(raw))
    r1_names = [n for n in problem.parameter_names if n.startswith("R1")]
    # A fixed at 263 K, free elsewhere (303 K with a prior); B fixed everywhere
    assert r1_names == ["R1_per_s[A]@283.0K", "R1_per_s[A]@303.0K", "R1_per_s[A]@323.0K",
                        "R1_per_s[A]@343.0K"]
    theta = truth_vector(problem)
    phys = problem.unpack(theta[None])
    np.testing.assert_allclose(phys["r1"][0, 0], [2.0, 1 / 3.0])
    np.testing.assert_allclose(phys["r1"][0, :, 1], 1 / 3.0)
    i = problem.parameter_names.index("R1_per_s[A]@303.0K")
    lp0 = problem.log_prior(theta[None])[0]
    theta[i] = 1 / 0.52  # one sd away at 303 K
    assert problem.log_prior(theta[None])[0] - lp0 == pytest.approx(
        -0.5 + 2 * np.log(0.52 / 0.5), abs=1e-9)
    j = problem.parameter_names.index("R1_per_s[A]@323.0K")
    theta[j] = 1.0  # no prior at 323 K: the log prior does not change
    assert problem.log_prior(theta[None])[0] - lp0 == pytest.approx(
        -0.5 + 2 * np.log(0.52 / 0.5), abs=1e-9)


def test_T1_per_temperature_must_match_the_data():
    raw = {"data": {"volumes": "v.csv"},
           "sites": {"A": {"ppm": 1.0, "T1_s_by_temperature": {"250": 0.5}},
                     "B": {"ppm": 2.0}}}
    with pytest.raises(FitError, match=r"T1_s_by_temperature gives T1 at 250 K"):
        problem_from_config(c8_volume_table(), config_from_dict(raw))
    raw["sites"]["A"]["T1_s_by_temperature"] = {"263": 0.5}
    raw["model"] = {"T1": "shared"}
    with pytest.raises(FitError, match=r"needs model.T1 = 'per_temperature'"):
        problem_from_config(c8_volume_table(), config_from_dict(raw))
