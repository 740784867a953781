"""Model comparison by PSIS-LOO and the Arrhenius linearity check on simulated data."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from exsyfit.errors import FitError
from exsyfit.fit.compare import arrhenius_linearity, compare_models, describe_model

from conftest import c8_volume_table, quick_fit

KB = 8.617333262e-5
TEMPS = (263.0, 293.0, 323.0, 343.0)
TMS = (0.01, 0.03, 0.1, 0.3, 1.0)


def table_for(k_sd: float = 0.0, seed: int = 0, sigma: float = 0.002) -> pd.DataFrame:
    """c8 kinetics plus a constant spin-diffusion rate ``k_sd`` added to k_ex (s^-1)."""
    return c8_volume_table(sigma=sigma, seed=seed, temperatures_K=TEMPS, mixing_times_s=TMS,
                           k_sd=k_sd)


fit = quick_fit


@pytest.fixture(scope="module")
def plain():
    table = table_for()
    return {"arrhenius": fit(table, "arrhenius"), "free": fit(table, "free")}


@pytest.fixture(scope="module")
def with_sd():
    table = table_for(k_sd=8.0)
    return {"arrhenius": fit(table, "arrhenius"),
            "arrhenius+sd": fit(table, "arrhenius", spin_diffusion=True),
            "free": fit(table, "free")}


def test_compare_reports_sensible_elpd(plain):
    table = compare_models(plain)
    assert set(table.index) == {"arrhenius", "free"}
    for col in ("rank", "elpd_loo", "p_loo", "elpd_diff", "dse", "weight", "warning", "model",
                "n_parameters", "converged", "interpretation"):
        assert col in table.columns
    assert np.all(np.isfinite(table["elpd_loo"]))
    # Gaussian noise with sigma = 0.002: elpd per volume ~ -ln(sigma sqrt(2 pi e)) = 4.80
    n_obs = len(plain["free"].problem.y)
    per_volume = table["elpd_loo"].to_numpy() / n_obs
    assert np.all((per_volume > 4.4) & (per_volume < 5.0))
    # effective parameters: sampled ones plus the 4 analytically marginalised scales
    for name, row in table.iterrows():
        n_eff = plain[name].problem.n_parameters + len(TEMPS)
        assert 0.5 * n_eff < row["p_loo"] < 2.0 * n_eff
    # both models describe Arrhenius data: the difference is small
    assert table["elpd_diff"].max() < 10
    assert table.iloc[0]["interpretation"].startswith("preferred")
    assert describe_model(plain["free"]) == "free, first-order"


def test_spin_diffusion_model_wins_on_spin_diffusion_data(with_sd):
    table = compare_models(with_sd)
    assert table.index[0] != "arrhenius"  # the plain Arrhenius law cannot bend
    row = table.loc["arrhenius"]
    assert row["elpd_diff"] > 2 * row["dse"] and row["elpd_diff"] > 20
    assert row["interpretation"].startswith(("worse", "clearly worse"))
    two = compare_models({k: with_sd[k] for k in ("arrhenius", "arrhenius+sd")}, ic="waic")
    assert two.index[0] == "arrhenius+sd" and "elpd_waic" in two.columns
    # the spin-diffusion fit recovers the constant term and the ionic Ea
    ksd = np.median(with_sd["arrhenius+sd"].draws("k_sd"))
    ea = np.median(with_sd["arrhenius+sd"].draws("Ea_eV"))
    assert ksd == pytest.approx(8.0, rel=0.15)
    assert ea == pytest.approx(0.30, abs=0.03)


def test_compare_refuses_different_data(plain, with_sd):
    with pytest.raises(FitError, match="same volume table"):
        compare_models({"a": plain["arrhenius"], "b": with_sd["arrhenius"]})
    with pytest.raises(FitError, match="two or more"):
        compare_models({"a": plain["arrhenius"]})
    with pytest.raises(FitError, match="'loo' or 'waic'"):
        compare_models(plain, ic="bic")


def test_linearity_of_arrhenius_data(plain):
    lin = arrhenius_linearity(plain["free"])
    assert lin["n_temperatures"] == len(TEMPS) and lin["dof"] == len(TEMPS) - 2
    ea, sd = lin["Ea_eV"]["value"], lin["Ea_eV"]["sd"]
    assert 0.001 < sd < 0.02
    assert abs(ea - 0.30) < 4 * sd
    assert lin["Ea_kJ_per_mol"]["value"] == pytest.approx(ea * 96.48533212, rel=1e-9)
    # ln A of k_ex: ln(10) + 0.30 eV/(k_B 303 K)
    assert lin["ln_A_per_s"]["value"] == pytest.approx(np.log(10) + 0.30 / (KB * 303),
                                                       abs=4 * lin["ln_A_per_s"]["sd"])
    assert lin["p_value"] > 0.001 and lin["linear"] is True
    assert lin["Ea_lnA_correlation"] > 0.9
    # the straight line agrees with the global Arrhenius fit
    ea_global = np.median(plain["arrhenius"].draws("Ea_eV"))
    assert ea == pytest.approx(ea_global, abs=3 * sd)


def test_linearity_detects_curvature(with_sd):
    lin = arrhenius_linearity(with_sd["free"])
    assert lin["linear"] is False
    assert lin["p_value"] < 1e-4 or abs(lin["curvature_sigma"]) > 3
    # apparent Ea is far below the ionic 0.30 eV
    assert lin["Ea_eV"]["value"] < 0.2


def test_linearity_refuses_global_fit(plain):
    with pytest.raises(FitError, match="temperature_model = 'free'"):
        arrhenius_linearity(plain["arrhenius"])
