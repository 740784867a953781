"""Diffusion coefficients, diffusion-limited build-up and the model comparison between them."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from exsyfit.config import DiffusionConfig, config_from_dict
from exsyfit.fit.likelihood import problem_from_config
from exsyfit.fit.results import FitResult
from exsyfit.fit.sampling import SamplerSettings, sample_posterior
from exsyfit.kinetics.diffusion import diffusion_mixing_matrix
from exsyfit.kinetics.exchange import exchange_rate_matrix, mixing_matrix, predict_volumes
from exsyfit.kinetics.laws import K_B_EV_PER_K

MIXING_TIMES = np.array([0.002, 0.005, 0.01, 0.02, 0.05, 0.1, 0.2, 0.5, 1.0])
TEMPERATURES = (263.0, 293.0, 323.0, 353.0)
POPULATIONS = np.array([0.85, 0.15])
R1 = np.array([2.0, 0.5])
LENGTH_NM = 40.0


def d_over_l2(T: float) -> float:
    """True D/a^2 (s^-1): 0.5 s^-1 at 303 K, Ea = 0.30 eV."""
    return 0.5 * np.exp(-0.3 / K_B_EV_PER_K * (1 / T - 1 / 303.0))


def table(kind: str, seed: int = 0, sigma: float = 0.002) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    rows = []
    for T in TEMPERATURES:
        if kind == "sphere":
            A = diffusion_mixing_matrix(d_over_l2(T), POPULATIONS, R1, MIXING_TIMES, "sphere")
        else:  # first order with the same slowest-mode rate
            K = exchange_rate_matrix([np.pi**2 * d_over_l2(T)], POPULATIONS, [(0, 1)])
            A = mixing_matrix(K, R1, MIXING_TIMES)
        V = predict_volumes(A, POPULATIONS)
        for m, tm in enumerate(MIXING_TIMES):
            for i, a in enumerate("AB"):
                for j, b in enumerate("AB"):
                    rows.append(dict(experiment=f"{T}_{tm}", temperature_K=T, mixing_time_s=tm,
                                     from_site=b, to_site=a,
                                     volume=V[m, i, j] + sigma * rng.standard_normal(),
                                     sigma=sigma))
    return pd.DataFrame(rows)


def fit(volumes: pd.DataFrame, transport: str) -> FitResult:
    raw = {"data": {"volumes": "v.csv"}, "sites": {"A": {"ppm": 1.0}, "B": {"ppm": 2.0}},
           "model": {"temperature_model": "arrhenius", "transport": transport}}
    problem = problem_from_config(volumes, config_from_dict(raw))
    out = sample_posterior(problem, SamplerSettings(seed=1))
    return FitResult.from_sampling(problem, out, length_scale=DiffusionConfig(
        "sphere", LENGTH_NM, 2.0))


@pytest.fixture(scope="module")
def fits() -> dict[tuple[str, str], FitResult]:
    return {(data, model): fit(table(data), model)
            for data in ("sphere", "first-order") for model in ("sphere", "first-order")}


def inside(s: dict, value: float) -> bool:
    return s["q025"] < value < s["q975"]


def test_diffusion_coefficient_recovered(fits):
    s = fits[("sphere", "sphere")].summary_dict()
    assert s["diagnostics"]["converged"]
    assert inside(s["Ea_eV"], 0.30)
    hits, rate_hits = [], []
    for entry in s["temperatures"]:
        T = entry["temperature_K"]
        d_true_cm2 = d_over_l2(T) * (LENGTH_NM * 1e-7) ** 2
        rate_hits.append(inside(entry["D_over_L2_per_s"], d_over_l2(T)))
        hits.append(inside(entry["D_cm2_per_s"], d_true_cm2))
    # 95 % intervals at four temperatures: at most one miss is plausible
    assert sum(rate_hits) >= 3 and sum(hits) >= 3
    assert inside(s["D_Ea_eV"], 0.30)
    assert s["diffusion"]["geometry"] == "sphere"
    # k_ex and its Arrhenius law describe the slowest uptake mode, pi^2 D/a^2
    ln_a = np.log(np.pi**2 * 0.5) + 0.3 / (K_B_EV_PER_K * 303.0)
    assert inside(s["ln_A_per_s"], ln_a)
    k_hits = [inside(e["k_ex_per_s"], np.pi**2 * d_over_l2(e["temperature_K"]))
              for e in s["temperatures"]]
    assert sum(k_hits) >= 3


def test_first_order_rates_give_transfer_coefficients(fits):
    s = fits[("first-order", "first-order")].summary_dict()
    entry = s["temperatures"][1]
    k = np.pi**2 * d_over_l2(entry["temperature_K"])
    h_true = k * LENGTH_NM * 1e-9 / 3.0
    assert inside(entry["h_m_per_s"], h_true)
    assert entry["k_ex_per_s"]["q025"] < k < entry["k_ex_per_s"]["q975"]


@pytest.mark.parametrize("truth", ["sphere", "first-order"])
def test_loo_prefers_the_true_transport_model(fits, truth):
    import arviz as az

    other = "first-order" if truth == "sphere" else "sphere"
    comparison = az.compare({truth: fits[(truth, truth)].to_inference_data(),
                             other: fits[(truth, other)].to_inference_data()})
    assert comparison.index[0] == truth
    assert comparison.loc[other, "elpd_diff"] > 4 * comparison.loc[other, "dse"]
