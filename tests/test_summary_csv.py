"""summary.csv, summary_law.csv and summary_rounded.csv against the posterior draws."""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pytest

from exsyfit.config import config_from_dict
from exsyfit.fit.likelihood import problem_from_config
from exsyfit.fit.options import DiffusionConfig
from exsyfit.fit.results import FitResult
from exsyfit.fit.sampling import SamplerSettings, sample_posterior
from exsyfit.fit.summary_csv import law_table, round_uncertain, rounded_table, summary_table

from conftest import c8_volume_table, quick_fit

STEPS = 300


@pytest.fixture(scope="module")
def arrhenius() -> FitResult:
    return quick_fit(c8_volume_table(), "arrhenius", steps=STEPS)


def law_row(table: pd.DataFrame, quantity: str, pair: str = "A<->B") -> pd.Series:
    rows = table[(table["quantity"] == quantity) & (table["pair"] == pair)]
    assert len(rows) == 1, (quantity, pair)
    return rows.iloc[0]


# ---------------------------------------------------------------------- rounding rule
@pytest.mark.parametrize(("values", "text"), [
    ((5.07, 4.97, 5.17), "5.07 ± 0.10"),            # two significant figures of 0.10
    ((5.065, 4.9, 5.2), "5.07 +0.14/−0.17"),        # half up, asymmetric
    ((0.298, 0.2965, 0.2995), "0.2980 ± 0.0015"),   # trailing zero kept
    ((12345, 12100, 12590), "12350 ± 250"),         # rounded to tens
    ((3.42e-12, 3.2e-12, 3.65e-12), "(3.42 +0.23/−0.22)e−12"),
    ((1234567.0, 1200000.0, 1270000.0), "(1.235 ± 0.035)e6"),
    ((-0.001, -0.2, 0.2), "0.00 ± 0.20"),            # no "-0.00"
    ((-0.785, -0.81, -0.759), "−0.785 +0.026/−0.025"),  # U+2212: no formula in Excel
    ((0.5, 0.5, 0.5), "0.5"),                        # fixed quantity: no interval
    ((float("nan"), 1.0, 2.0), ""),
])
def test_rounding_to_two_significant_figures_of_the_uncertainty(values, text):
    assert round_uncertain(*values) == text


def test_rounded_interval_form():
    assert round_uncertain(5.07, 4.87, 5.28, interval=True) == "5.07 [4.87, 5.28]"
    assert round_uncertain(0.2992, 0.2924, 0.30525, interval=True) == "0.2992 [0.2924, 0.3053]"
    assert (round_uncertain(3.42e-12, 3.2e-12, 3.65e-12, interval=True)
            == "3.42e−12 [3.20e−12, 3.65e−12]")
    assert round_uncertain(-0.785, -0.833, -0.735, interval=True) == "−0.785 [−0.833, −0.735]"
    assert round_uncertain(5.07, 4.87, 5.28, sig=1) == "5.1 ± 0.2"


# ---------------------------------------------------------------------- per temperature
def test_summary_table_quantiles_are_those_of_the_draws(arrhenius):
    table = summary_table(arrhenius)
    T = arrhenius.temperatures_K
    assert len(table) == len(T) == 5
    np.testing.assert_allclose(table["inv_T_1000_per_K"], 1000.0 / T)
    k = arrhenius.rate_draws()
    for col, pct in (("k_ex_per_s", 50), ("k_ex_per_s_q16", 16), ("k_ex_per_s_q84", 84),
                     ("k_ex_per_s_q025", 2.5), ("k_ex_per_s_q975", 97.5)):
        np.testing.assert_allclose(table[col], np.percentile(k, pct, axis=0), rtol=1e-12)
    ln_k = np.log(k)
    np.testing.assert_allclose(table["ln_k_ex_per_s_q16"], np.percentile(ln_k, 16, axis=0))
    np.testing.assert_allclose(table["ln_k_ex_per_s_plus95"],
                               np.percentile(ln_k, 97.5, axis=0) - np.median(ln_k, axis=0))
    np.testing.assert_allclose(table["ln_k_ex_per_s_minus68"],
                               table["ln_k_ex_per_s"] - table["ln_k_ex_per_s_q16"])
    k_ab = arrhenius.directional_rate_draws("A", "B")
    np.testing.assert_allclose(table["k_per_s[A->B]_q84"], np.percentile(k_ab, 84, axis=0))
    t1 = arrhenius.draws("T1_s")[:, :, 1]
    np.testing.assert_allclose(table["T1_s[B]_q16"], np.percentile(t1, 16, axis=0))
    entries = arrhenius.summary_dict()["temperatures"]
    for t, entry in enumerate(entries):
        assert table["population[A]_q84"][t] == pytest.approx(entry["populations"]["A"]["q84"])
        assert table["chi2_reduced"][t] == pytest.approx(entry["chi2_reduced"])
    # the c8 truth (Ea 0.30 eV) gives k_ex growing with T: ln k_ex against 1000/T falls
    assert np.all(np.diff(table["ln_k_ex_per_s"]) > 0)


def test_old_summary_columns_keep_their_names_and_values(arrhenius):
    old = arrhenius.summary()
    new = arrhenius.summary_table()
    assert list(old.columns) == [c for c in new.columns if c in set(old.columns)]
    for col in old.columns:
        np.testing.assert_allclose(new[col], old[col])


# ---------------------------------------------------------------------- law
def test_law_table_matches_summary_json(arrhenius):
    law = law_table(arrhenius)
    s = arrhenius.summary_dict()
    for quantity in ("Ea_eV", "Ea_kJ_per_mol", "ln_A_per_s"):
        row = law_row(law, quantity)
        for key in ("median", "q16", "q84", "q025", "q975"):
            assert row[key] == pytest.approx(s[quantity][key], rel=1e-12)
    ea = arrhenius.draws("Ea_eV")[:, 0]
    assert law_row(law, "Ea_eV")["q16"] == pytest.approx(np.percentile(ea, 16))
    assert law_row(law, "Ea_eV")["unit"] == "eV"
    assert law_row(law, "A_per_s")["median"] == pytest.approx(
        np.exp(s["ln_A_per_s"]["median"]))
    assert law_row(law, "Ea_lnA_correlation")["median"] == pytest.approx(
        s["Ea_lnA_correlation"])
    row = law_row(law, "Ea_eV")
    assert row["rounded_68"] == round_uncertain(row["median"], row["q16"], row["q84"])
    assert row["rounded_95"] == round_uncertain(row["median"], row["q025"], row["q975"],
                                                interval=True)
    assert 0.28 < row["median"] < 0.32  # c8 truth: 0.30 eV


def test_eyring_and_free_models():
    table = c8_volume_table()
    eyring = quick_fit(table, "eyring", steps=STEPS)
    law = law_table(eyring)
    assert set(law["quantity"]) == {"dH_kJ_per_mol", "dS_J_per_mol_K"}
    s = eyring.summary_dict()
    assert law_row(law, "dS_J_per_mol_K")["q84"] == pytest.approx(s["dS_J_per_mol_K"]["q84"])
    assert law_row(law, "dH_kJ_per_mol")["unit"] == "kJ/mol"
    t = summary_table(eyring)
    y = np.log(eyring.rate_draws() / eyring.temperatures_K)
    np.testing.assert_allclose(t["ln_k_ex_over_T_q16"], np.percentile(y, 16, axis=0))
    np.testing.assert_allclose(t["ln_k_ex_over_T_plus68"],
                               np.percentile(y, 84, axis=0) - np.median(y, axis=0))
    free = quick_fit(table, "free", steps=STEPS)
    assert "ln_k_ex_over_T" not in summary_table(free)
    assert law_table(free).empty and "median" in law_table(free).columns
    t = summary_table(free)
    np.testing.assert_allclose(t["k_ex_per_s_q025"],
                               np.percentile(free.rate_draws(), 2.5, axis=0))


# ---------------------------------------------------------------------- files
def test_save_writes_the_three_tables(arrhenius, tmp_path):
    paths = arrhenius.save(tmp_path)
    csv = pd.read_csv(paths["summary_csv"])
    expected = arrhenius.summary_table()
    assert list(csv.columns) == list(expected.columns)
    np.testing.assert_allclose(csv["k_ex_per_s_q16"], expected["k_ex_per_s_q16"], rtol=1e-12)
    assert paths["summary_law_csv"].read_bytes().startswith(b"\xef\xbb\xbf")
    law = pd.read_csv(paths["summary_law_csv"])
    assert law.columns[0] == "quantity"
    assert law_row(law, "Ea_eV")["median"] == pytest.approx(
        arrhenius.summary_dict()["Ea_eV"]["median"], rel=1e-12)
    raw = paths["summary_rounded_csv"].read_bytes()
    assert raw.startswith(b"\xef\xbb\xbf")  # Excel reads UTF-8 (the ± sign) with the BOM
    rounded = pd.read_csv(paths["summary_rounded_csv"], encoding="utf-8-sig")
    assert rounded.columns[0] == "temperature_K"
    assert rounded["k_ex_per_s"][2] == round_uncertain(
        expected["k_ex_per_s"][2], expected["k_ex_per_s_q16"][2], expected["k_ex_per_s_q84"][2])
    assert rounded["ln_k_ex_per_s_95"][0] == round_uncertain(
        expected["ln_k_ex_per_s"][0], expected["ln_k_ex_per_s_q025"][0],
        expected["ln_k_ex_per_s_q975"][0], interval=True)
    assert rounded_table(arrhenius).shape == rounded.shape


# ---------------------------------------------------------------------- more sites, transport
def test_three_sites_are_keyed_by_pair():
    from exsyfit.simulate import series as sim
    from exsyfit.simulate.bundled import BUNDLED_THREE_SITE

    truth = sim.example_truth("three_site")
    design = BUNDLED_THREE_SITE["three_site_bruker_processed"]
    volumes = sim.simulate_volume_table(truth, design["temperatures_K"],
                                        design["mixing_times_s"], sigma=0.002, seed=31)
    pairs = ["PEO<->LLZO", "LLZO<->LiOH"]
    raw = {"data": {"volumes": "v.csv"}, "sites": {s.name: {"ppm": s.ppm} for s in truth.sites},
           "model": {"temperature_model": "arrhenius", "exchange": pairs}}
    problem = problem_from_config(volumes, config_from_dict(raw))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        out = sample_posterior(problem, SamplerSettings(seed=3, steps=STEPS))
    result = FitResult.from_sampling(problem, out, seed=3)
    table = summary_table(result)
    s = result.summary_dict()
    for pair in result.pairs:
        np.testing.assert_allclose(table[f"ln_k_ex_per_s[{pair}]_q84"],
                                   np.percentile(np.log(result.rate_draws(pair)), 84, axis=0))
        assert table[f"k_ex_per_s[{pair}]_q975"][0] == pytest.approx(
            s["temperatures"][0]["k_ex_per_s"][pair]["q975"])
        assert law_row(law_table(result), "Ea_eV", pair)["q16"] == pytest.approx(
            s["Ea_eV"][pair]["q16"])
    assert "k_per_s[LLZO->LiOH]_q16" in table and "population[LiOH]_q025" in table
    assert len(law_table(result)) == 2 * 5  # Ea eV, kJ/mol, ln A, A, correlation per pair


def test_transport_adds_diffusion_coefficients():
    volumes = c8_volume_table()
    raw = {"data": {"volumes": "v.csv"}, "sites": {"A": {"ppm": 1.0}, "B": {"ppm": 2.0}},
           "model": {"temperature_model": "arrhenius"}}
    problem = problem_from_config(volumes, config_from_dict(raw))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        out = sample_posterior(problem, SamplerSettings(seed=1, steps=STEPS))
    result = FitResult.from_sampling(problem, out,
                                     length_scale=DiffusionConfig("sphere", 200.0, 20.0))
    table = summary_table(result)
    d = result.draws("D_cm2_per_s")[:, 0, :]
    np.testing.assert_allclose(table["D_cm2_per_s_q16"], np.percentile(d, 16, axis=0))
    assert "h_m_per_s_q975" in table
    row = law_row(law_table(result), "D_Ea_eV")
    assert row["median"] == pytest.approx(result.summary_dict()["D_Ea_eV"]["median"])
    text = rounded_table(result)["D_cm2_per_s"][0]
    assert text == round_uncertain(table["D_cm2_per_s"][0], table["D_cm2_per_s_q16"][0],
                                   table["D_cm2_per_s_q84"][0])
    power = int(np.floor(np.log10(table["D_cm2_per_s"][0])))
    assert text.startswith("(") and text.endswith(f")e{power}".replace("-", "−"))  # D ~ 1e-10


def test_info_explains_the_quantile_columns():
    from exsyfit.info import describe

    text = " ".join(describe("models").split())
    assert "summary.csv" in text and "q16 to q84 is the 68 % interval" in text
    assert "q025 to q975 the 95 % interval" in text


def test_sampled_temperatures_and_spin_diffusion():
    volumes = c8_volume_table()
    volumes["temperature_sigma_K"] = 1.0
    result = quick_fit(volumes, "arrhenius", steps=STEPS, spin_diffusion=True)
    assert result.problem.sample_temperatures
    table = summary_table(result)
    T = result.draws("temperature_K")
    np.testing.assert_allclose(table["sample_temperature_K_q84"], np.percentile(T, 84, axis=0))
    s = result.summary_dict()
    row = law_row(law_table(result), "k_sd_per_s")
    assert row["q16"] == pytest.approx(s["k_sd_per_s"]["q16"]) and row["unit"] == "s^-1"
