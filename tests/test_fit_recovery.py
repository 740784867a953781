"""Seeded end-to-end recovery: simulate volumes from a known truth, sample, check intervals."""

from __future__ import annotations

import numpy as np
import pytest

from exsyfit.config import config_from_dict
from exsyfit.fit.likelihood import problem_from_config
from exsyfit.fit.results import FitResult
from exsyfit.fit.sampling import SamplerSettings, sample_posterior
from exsyfit.kinetics.laws import K_B_EV_PER_K

from conftest import C8_EA_EV, C8_P_A, C8_PREFACTOR_K_AB, c8_k_ex, c8_volume_table


def fit(table, seed=1, **model):
    raw = {"data": {"volumes": "v.csv"}, "sites": {"A": {"ppm": 1.0}, "B": {"ppm": 2.0}},
           "model": {"temperature_model": "arrhenius", **model}}
    problem = problem_from_config(table, config_from_dict(raw))
    out = sample_posterior(problem, SamplerSettings(seed=seed))
    return FitResult.from_sampling(problem, out, seed=seed)


def inside(stats, value):
    return stats["q025"] < value < stats["q975"]


@pytest.fixture(scope="module")
def arrhenius_fit():
    return fit(c8_volume_table(sigma=0.002, seed=11))


def test_arrhenius_recovers_truth(arrhenius_fit):
    s = arrhenius_fit.summary_dict()
    assert s["diagnostics"]["converged"] is True
    assert inside(s["Ea_eV"], C8_EA_EV)
    ln_a_kex = np.log(C8_PREFACTOR_K_AB / (1 - C8_P_A))
    assert inside(s["ln_A_per_s"], ln_a_kex)
    # the width matches a least-squares Monte Carlo spread (SD 0.0034 eV)
    width = (s["Ea_eV"]["q84"] - s["Ea_eV"]["q16"]) / 2
    assert 0.002 < width < 0.006
    t303 = s["temperatures"][2]
    assert t303["temperature_K"] == 303.0
    assert inside(t303["k_ex_per_s"], c8_k_ex(303.0))
    assert inside(t303["k_per_s"]["A->B"], 1.0)
    assert inside(t303["k_per_s"]["B->A"], 9.0)
    assert inside(t303["populations"]["A"], C8_P_A)
    t1_hits = [inside(e["T1_s"]["A"], 0.5) for e in s["temperatures"]]
    assert sum(t1_hits) >= 4


def test_diagnostics_are_reported(arrhenius_fit):
    d = arrhenius_fit.summary_dict()["diagnostics"]
    assert d["n_steps"] > 50 * d["tau_max"]
    assert 0.05 < d["acceptance_fraction"] < 0.9
    assert d["ess_min"] > 500
    assert d["n_log_prob_evaluations"] >= d["n_steps"] * d["n_walkers"]
    assert d["sampling_seconds"] > 0


def test_free_model_recovers_every_rate():
    result = fit(c8_volume_table(sigma=0.002, seed=12), temperature_model="free")
    s = result.summary_dict()
    assert "Ea_eV" not in s
    hits = [inside(e["k_ex_per_s"], c8_k_ex(e["temperature_K"])) for e in s["temperatures"]]
    assert sum(hits) >= 4  # 95 % intervals: at most one miss in five is plausible
    assert s["diagnostics"]["converged"]


def test_spin_diffusion_term_is_recovered():
    # a temperature-independent extra channel of 1 s^-1 on top of the c8 ionic exchange
    from exsyfit.kinetics.exchange import exchange_rate_matrix, mixing_matrix, predict_volumes

    table = c8_volume_table(sigma=0.002, seed=13)
    rng = np.random.default_rng(5)
    pops = np.array([C8_P_A, 1 - C8_P_A])
    for T in table["temperature_K"].unique():
        K = exchange_rate_matrix([c8_k_ex(T) + 1.0], pops, [(0, 1)])
        tms = np.sort(table["mixing_time_s"].unique())
        V = predict_volumes(mixing_matrix(K, [2.0, 1 / 3], tms), pops)
        for m, tm in enumerate(tms):
            for i, a in enumerate("AB"):
                for j, b in enumerate("AB"):
                    sel = ((table.temperature_K == T) & (table.mixing_time_s == tm)
                           & (table.to_site == a) & (table.from_site == b))
                    table.loc[sel, "volume"] = V[m, i, j] + 0.002 * rng.standard_normal()
    result = fit(table, spin_diffusion=True)
    s = result.summary_dict()
    assert inside(s["k_sd_per_s"], 1.0)
    assert inside(s["Ea_eV"], C8_EA_EV)


def test_cross_polarisation_start_is_fitted():
    # c2-like kinetics with a non-equilibrium start (0.3, 0.7): asymmetric cross peaks
    from exsyfit.kinetics.exchange import exchange_rate_matrix, mixing_matrix, predict_volumes

    rng = np.random.default_rng(3)
    rows = []
    tms = np.array([0.005, 0.01, 0.02, 0.05, 0.1, 0.2, 0.5])
    for T in (283.0, 323.0):
        k_ex = 10.0 * np.exp(-0.3 / K_B_EV_PER_K * (1 / T - 1 / 303))
        K = exchange_rate_matrix([k_ex], [0.8, 0.2], [(0, 1)])
        V = predict_volumes(mixing_matrix(K, [2.0, 0.5], tms), [0.3, 0.7])
        for m, tm in enumerate(tms):
            for i, a in enumerate("AB"):
                for j, b in enumerate("AB"):
                    rows.append(dict(experiment=f"{T}_{tm}", temperature_K=T,
                                     mixing_time_s=tm, from_site=b, to_site=a,
                                     volume=V[m, i, j] + 0.002 * rng.standard_normal(),
                                     sigma=0.002))
    import pandas as pd

    raw = {"data": {"volumes": "v.csv"},
           "sites": {"A": {"ppm": 1.0, "population": {"mean": 0.8, "sd": 0.02}},
                     "B": {"ppm": 2.0}},
           "model": {"temperature_model": "free", "start": "fitted"}}
    problem = problem_from_config(pd.DataFrame(rows), config_from_dict(raw))
    out = sample_posterior(problem, SamplerSettings(seed=2))
    s = FitResult.from_sampling(problem, out).summary_dict()
    for entry in s["temperatures"]:
        assert inside(entry["start_magnetisation"]["A"], 0.3)
    k303 = [e for e in s["temperatures"] if e["temperature_K"] == 283.0][0]
    assert inside(k303["k_ex_per_s"], 10.0 * np.exp(-0.3 / K_B_EV_PER_K * (1 / 283 - 1 / 303)))


def test_temperature_uncertainty_widens_the_activation_energy_interval(arrhenius_fit):
    table = c8_volume_table(sigma=0.002, seed=11).assign(temperature_sigma_K=3.0)
    uncertain = fit(table).summary_dict()
    certain = arrhenius_fit.summary_dict()

    def width(s):
        return s["Ea_eV"]["q975"] - s["Ea_eV"]["q025"]

    assert "sample_temperature_K" in uncertain["temperatures"][0]
    assert width(uncertain) > 1.5 * width(certain)
    assert inside(uncertain["Ea_eV"], C8_EA_EV)
