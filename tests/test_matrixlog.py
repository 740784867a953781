"""Matrix-logarithm rates from single spectra: exact reference cases c1, c2, c5, N sites, tables."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from scipy.linalg import expm

from exsyfit.errors import ConfigError, VolumeTableError
from exsyfit.kinetics import exchange as model
from exsyfit.kinetics.matrixlog import (
    MatrixLogResult,
    compare_with_global_fit,
    estimate_start_magnetisation,
    matrix_log_table,
    rates_from_volumes,
)

# c2: p = (0.8, 0.2), k_AB = 2, k_BA = 8, R1 = (2, 0.5); t_m: (V_AA, V_AB = V_BA, V_BB)
C2_TABLE = {
    0.01: (0.7692374164, 0.0150358859, 0.1838516683),
    0.05: (0.6671946860, 0.0590442595, 0.1335862755),
    0.2: (0.4509749939, 0.1051084582, 0.0536202408),
    1.0: (0.1132775746, 0.0331204643, 0.0096891324),
}
C2_TRUE = (2.0, 8.0, 2.0, 0.5)


def _c2_volumes(t: float) -> np.ndarray:
    K = np.array([[0.0, 8.0], [2.0, 0.0]])
    A = model.mixing_matrix(K, np.array([2.0, 0.5]), np.array([t]))[0]
    return model.predict_volumes(A, np.array([0.8, 0.2]))


def _recovered(res: MatrixLogResult) -> np.ndarray:
    return np.array([res.K[1, 0], res.K[0, 1], res.r1[0], res.r1[1]])


# --------------------------------------------------------------------------------------------
# two sites: c1, c2
# --------------------------------------------------------------------------------------------


def test_c1_tabulated_volumes_give_k_10_and_r1_1():
    v_aa, v_ab = 0.2568234616, 0.1955952474
    res = rates_from_volumes([[v_aa, v_ab], [v_ab, v_aa]], [0.5, 0.5], 0.1)
    assert res.ok and res.reason == ""
    # the oracle volumes carry 10 decimals, which limits the recovery to ~1e-8
    assert _recovered(res) == pytest.approx([10.0, 10.0, 1.0, 1.0], abs=3e-8)
    assert res.k_ex[0, 1] == pytest.approx(20.0, abs=6e-8)
    assert np.sort(res.eigenvalues) == pytest.approx(np.exp([-2.1, -0.1]), abs=1e-9)


def test_c1_exact_volumes_recovered_to_1e_10():
    A = model.mixing_matrix_two_site(10.0, 10.0, 1.0, 1.0, 0.1)
    V = model.predict_volumes(A, np.array([0.5, 0.5]))
    oracle = np.array([[0.2568234616, 0.1955952474], [0.1955952474, 0.2568234616]])
    assert V == pytest.approx(oracle, abs=1e-10)
    res = rates_from_volumes(V, [0.5, 0.5], 0.1)
    assert res.ok
    assert _recovered(res) == pytest.approx([10.0, 10.0, 1.0, 1.0], abs=1e-10)


@pytest.mark.parametrize("t", sorted(C2_TABLE))
def test_c2_oracle_at_every_mixing_time(t):
    v_aa, v_x, v_bb = C2_TABLE[t]
    V_exact = _c2_volumes(t)
    # the model reproduces the oracle table ...
    assert V_exact == pytest.approx(np.array([[v_aa, v_x], [v_x, v_bb]]), abs=1e-10)
    # ... the exact volumes give the rates back to 1e-10 ...
    res = rates_from_volumes(V_exact, [0.8, 0.2], t)
    assert res.ok
    assert _recovered(res) == pytest.approx(C2_TRUE, abs=1e-10)
    # ... and so do the 10-decimal oracle numbers, to their own precision
    res_tab = rates_from_volumes([[v_aa, v_x], [v_x, v_bb]], [0.8, 0.2], t)
    assert res_tab.ok
    tol = 5e-8 if t <= 0.2 else 5e-6
    assert _recovered(res_tab) == pytest.approx(C2_TRUE, abs=tol)


def test_detailed_balance_and_symmetric_cross_peaks_after_averaging():
    V = _c2_volumes(0.05)
    V_noisy = V + np.array([[0.0, 4e-4], [-4e-4, 0.0]])  # asymmetric cross peaks
    res = rates_from_volumes(V_noisy, [0.8, 0.2], 0.05, average_cross_peaks=True)
    direct = rates_from_volumes(0.5 * (V_noisy + V_noisy.T), [0.8, 0.2], 0.05)
    assert res.ok
    assert res.K == pytest.approx(direct.K, abs=1e-12)
    # averaged cross peaks = exact detailed balance p_A k_AB = p_B k_BA
    assert 0.8 * res.K[1, 0] == pytest.approx(0.2 * res.K[0, 1], rel=1e-10)
    unaveraged = rates_from_volumes(V_noisy, [0.8, 0.2], 0.05)
    assert 0.8 * unaveraged.K[1, 0] != pytest.approx(0.2 * unaveraged.K[0, 1], rel=1e-3)


def test_scale_of_start_magnetisation_shifts_only_r1():
    t = 0.2
    res = rates_from_volumes(3.0 * _c2_volumes(t), [0.8, 0.2], t)
    assert res.K[1, 0] == pytest.approx(2.0, abs=1e-10)
    assert res.K[0, 1] == pytest.approx(8.0, abs=1e-10)
    assert res.r1 == pytest.approx(np.array([2.0, 0.5]) - np.log(3.0) / t, abs=1e-10)


# --------------------------------------------------------------------------------------------
# c5: non-equilibrium start
# --------------------------------------------------------------------------------------------

C5_V = np.array([[0.2501980072, 0.2066549083], [0.0221415973, 0.4675519643]])


def test_c5_true_start_recovers_rates():
    res = rates_from_volumes(C5_V, [0.3, 0.7], 0.05)
    assert res.ok
    assert _recovered(res) == pytest.approx(C2_TRUE, abs=2e-8)


def test_c5_wrong_populations_flagged_with_negative_r1():
    res = rates_from_volumes(C5_V, [0.8, 0.2], 0.05)
    assert not res.ok
    assert "negative R1_B" in res.reason
    assert "-37.6" in res.reason
    # the nonsense numbers are kept for diagnosis, not reported as ok
    assert res.K[1, 0] == pytest.approx(0.556, abs=1e-3)
    assert res.K[0, 1] == pytest.approx(20.77, abs=1e-2)
    assert res.r1[1] == pytest.approx(-37.59, abs=1e-2)


def test_averaging_cross_peaks_of_a_cp_start_is_caught_or_wrong():
    """Averaging is only valid for an equilibrium start; on c5 it gives a negative R1_A."""
    res = rates_from_volumes(C5_V, [0.3, 0.7], 0.05, average_cross_peaks=True)
    assert not res.ok
    assert "negative R1_A" in res.reason
    assert res.K[1, 0] == pytest.approx(10.60, abs=0.01)  # far from the true k_AB = 2


# --------------------------------------------------------------------------------------------
# three sites against scipy expm
# --------------------------------------------------------------------------------------------


def _three_site_case() -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    p = np.array([0.6, 0.3, 0.1])
    pairs = [(0, 1), (0, 2), (1, 2)]
    K = model.exchange_rate_matrix(np.array([5.0, 2.0, 0.7]), p, pairs)
    r1 = np.array([1.5, 0.4, 3.0])
    L = np.diag(r1 + K.sum(axis=0)) - K
    return p, K, r1, L


@pytest.mark.parametrize("t", [0.02, 0.1, 0.4])
def test_three_sites_equilibrium_start_against_expm(t):
    p, K, r1, L = _three_site_case()
    V = 2.5 * expm(-L * t) @ np.diag(p)
    res = rates_from_volumes(V, 2.5 * p, t, sites=["Li6PS5Cl", "Li2S", "LiCl"])
    assert res.ok, res.reason
    assert res.K == pytest.approx(K, abs=1e-9)
    assert res.r1 == pytest.approx(r1, abs=1e-9)
    assert res.L == pytest.approx(L, abs=1e-9)


def test_three_sites_non_equilibrium_start():
    _, K, r1, L = _three_site_case()
    m0 = np.array([0.2, 0.5, 0.3])
    V = expm(-L * 0.1) @ np.diag(m0)
    res = rates_from_volumes(V, m0, 0.1)
    assert res.ok
    assert res.K == pytest.approx(K, abs=1e-9)
    assert res.r1 == pytest.approx(r1, abs=1e-9)


# --------------------------------------------------------------------------------------------
# failures
# --------------------------------------------------------------------------------------------


def test_noise_induced_negative_eigenvalue_is_flagged():
    # c1 kinetics at a long mixing time: the fast eigenvalue exp(-21 * 0.5) = 2.8e-5 is
    # smaller than a 1e-4 error on the diagonal peaks
    t = 0.5
    V = model.predict_volumes(model.mixing_matrix_two_site(10.0, 10.0, 1.0, 1.0, t),
                              np.array([0.5, 0.5]))
    res = rates_from_volumes(V - 5e-5 * np.eye(2), [0.5, 0.5], t)
    assert not res.ok
    assert "eigenvalue 2 of the normalised volume matrix is negative" in res.reason
    assert np.isnan(res.K[0, 1]) and np.isnan(res.r1).all()
    assert res.eigenvalues[1] == pytest.approx(np.exp(-10.5) - 1e-4, rel=1e-6)


def test_seeded_noise_at_long_mixing_time_fails_often():
    t = 0.5
    V = model.predict_volumes(model.mixing_matrix_two_site(10.0, 10.0, 1.0, 1.0, t),
                              np.array([0.5, 0.5]))
    rng = np.random.default_rng(7)
    outcomes = [rates_from_volumes(V + 2e-4 * rng.standard_normal((2, 2)), [0.5, 0.5], t)
                for _ in range(200)]
    failures = [r for r in outcomes if not r.ok]
    assert 0.3 < len(failures) / len(outcomes) < 0.9
    assert any("negative" in r.reason for r in failures)
    assert all(r.reason for r in failures)
    assert all(np.isfinite(r.K).all() and r.reason == "" for r in outcomes if r.ok)


def test_complex_eigenvalues_are_flagged_not_passed_through():
    # a cyclic three-site matrix has a complex eigenvalue pair
    a, b = 0.6, 0.2
    V = np.array([[a, 0.0, b], [b, a, 0.0], [0.0, b, a]])
    res = rates_from_volumes(V, [1.0, 1.0, 1.0], 0.1)
    assert not res.ok
    assert "complex eigenvalues" in res.reason
    assert np.isnan(res.L).all()
    assert np.iscomplexobj(res.eigenvalues)


def test_negative_rate_is_flagged_with_its_name():
    # equal-R1 volumes with a cross peak that is negative: k_A->B < 0
    V = np.array([[0.9, 0.01], [-0.01, 0.08]])
    res = rates_from_volumes(V, [0.9, 0.1], 0.05, sites=["LLZO", "PEO"])
    assert not res.ok
    assert "negative rate k_LLZO->PEO" in res.reason
    assert res.K[1, 0] < 0


def test_eigenvalue_lost_in_rounding_is_flagged():
    A = model.mixing_matrix_two_site(30.0, 30.0, 1.0, 1.0, 1.0)  # exp(-61) ~ 3e-27
    res = rates_from_volumes(model.predict_volumes(A, np.array([0.5, 0.5])), [0.5, 0.5], 1.0)
    assert not res.ok
    assert "below the numerical resolution" in res.reason


@pytest.mark.parametrize(
    ("V", "m0", "t", "error", "match"),
    [
        (np.ones((2, 3)), [1, 1], 0.1, VolumeTableError, "square"),
        ([[1.0, np.nan], [0.0, 1.0]], [1, 1], 0.1, VolumeTableError, "non-finite"),
        (np.eye(2), [1.0, 0.0], 0.1, ConfigError, "start_magnetisation must be 2 positive"),
        (np.eye(2), [1.0, 1.0, 1.0], 0.1, ConfigError, "one per site"),
        (np.eye(2), [1.0, 1.0], 0.0, ConfigError, "mixing_time_s must be a positive"),
    ],
)
def test_bad_inputs_raise_clear_errors(V, m0, t, error, match):
    with pytest.raises(error, match=match):
        rates_from_volumes(V, m0, t)


# --------------------------------------------------------------------------------------------
# volume tables (c8 kinetics)
# --------------------------------------------------------------------------------------------

KB_EV = 8.617333262e-5
C8_T = np.array([263.0, 283.0, 303.0, 323.0, 343.0])
C8_TM = np.array([0.01, 0.02, 0.05, 0.1, 0.2, 0.5])
C8_KAB = 9.769659e4 * np.exp(-0.30 / (KB_EV * C8_T))
C8_P = np.array([0.9, 0.1])
C8_R1 = np.array([2.0, 1.0 / 3.0])


def _c8_table(sigma: float = 0.002) -> pd.DataFrame:
    rows = []
    for T, k in zip(C8_T, C8_KAB, strict=True):
        K = np.array([[0.0, 9.0 * k], [k, 0.0]])
        V = model.predict_volumes(model.mixing_matrix(K, C8_R1, C8_TM), C8_P)
        for q, t in enumerate(C8_TM):
            for i, to_site in enumerate("AB"):
                for j, from_site in enumerate("AB"):
                    rows.append({"experiment": f"{int(T)}K/{q + 1}", "temperature_K": T,
                                 "mixing_time_s": t, "from_site": from_site,
                                 "to_site": to_site, "volume": V[q, i, j], "sigma": sigma})
    return pd.DataFrame(rows)


def test_c8_oracle_volumes_at_303K():
    table = _c8_table()
    at = table[(table.temperature_K == 303.0) & (table.mixing_time_s == 0.05)]
    vol = {(r.from_site, r.to_site): r.volume for r in at.itertuples()}
    assert vol[("A", "A")] == pytest.approx(7.82514845e-01, abs=1e-8)
    assert vol[("B", "B")] == pytest.approx(6.34966454e-02, abs=1e-8)
    assert vol[("A", "B")] == pytest.approx(3.33229005e-02, abs=1e-9)


def test_table_with_given_start_magnetisation_recovers_every_spectrum():
    out = matrix_log_table(_c8_table(), ["A", "B"], [0.9, 0.1])
    assert list(out.columns[:5]) == ["experiment", "temperature_K", "mixing_time_s", "ok",
                                     "reason"]
    for col in ("k_A->B_per_s", "k_B->A_per_s", "R1_A_per_s", "R1_B_per_s",
                "k_ex_A<->B_per_s", "M0_A", "M0_B", "M0_source"):
        assert col in out.columns
    assert len(out) == len(C8_T) * len(C8_TM)
    assert out["ok"].all()
    expected_kab = np.repeat(C8_KAB, len(C8_TM))
    assert out["k_A->B_per_s"].to_numpy() == pytest.approx(expected_kab, rel=1e-8)
    assert out["k_B->A_per_s"].to_numpy() == pytest.approx(9 * expected_kab, rel=1e-8)
    assert out["k_ex_A<->B_per_s"].to_numpy() == pytest.approx(10 * expected_kab, rel=1e-8)
    assert out["R1_B_per_s"].to_numpy() == pytest.approx(1.0 / 3.0, abs=1e-8)


def test_table_start_magnetisation_per_temperature_mapping():
    start = {float(T): (1.8, 0.2) for T in C8_T}  # twice the true scale
    out = matrix_log_table(_c8_table(), ["A", "B"], start)
    assert out["ok"].all()
    assert out["k_A->B_per_s"].to_numpy() == pytest.approx(np.repeat(C8_KAB, len(C8_TM)),
                                                         rel=1e-8)
    shift = np.log(2.0) / out["mixing_time_s"].to_numpy()
    assert out["R1_A_per_s"].to_numpy() == pytest.approx(2.0 + shift, abs=1e-8)


def test_table_estimated_start_magnetisation():
    table = _c8_table()
    m0 = estimate_start_magnetisation(table, ["A", "B"])
    assert sorted(m0) == list(C8_T)
    for T in C8_T:  # extrapolated column sums: within 0.5% of (0.9, 0.1)
        assert m0[T] == pytest.approx(C8_P, rel=5e-3)
    out = matrix_log_table(table, ["A", "B"])
    assert out["ok"].all()
    assert out["M0_source"].iloc[0].startswith("column sums extrapolated to 0 s from 0.01 s")
    # exchange rates are insensitive to the estimate (within 0.3%); R1 absorbs the error of
    # the extrapolation (up to 3% here, worst at the shortest mixing time)
    assert out["k_A->B_per_s"].to_numpy() == pytest.approx(np.repeat(C8_KAB, len(C8_TM)),
                                                         rel=3e-3)
    r1a = out["R1_A_per_s"].to_numpy()
    assert np.all(np.abs(r1a - 2.0) < 0.06)
    assert np.median(np.abs(r1a - 2.0)) < 0.01


def test_table_missing_peak_marks_that_spectrum_only():
    table = _c8_table()
    drop = (table.temperature_K == 283.0) & (table.mixing_time_s == 0.1) & (
        table.from_site == "B") & (table.to_site == "A")
    out = matrix_log_table(table[~drop], ["A", "B"], [0.9, 0.1])
    bad = out[~out["ok"]]
    assert len(bad) == 1
    assert bad["reason"].iloc[0] == "missing peak(s) B->A"
    assert np.isnan(bad["k_A->B_per_s"].iloc[0])
    assert out["ok"].sum() == len(out) - 1


def test_table_monte_carlo_is_seeded_and_brackets_the_truth():
    table = _c8_table(sigma=0.002)
    out = matrix_log_table(table, ["A", "B"], [0.9, 0.1], n_draws=300, seed=3)
    again = matrix_log_table(table, ["A", "B"], [0.9, 0.1], n_draws=300, seed=3)
    pd.testing.assert_frame_equal(out, again)
    assert ((out["mc_failure_fraction"] >= 0) & (out["mc_failure_fraction"] <= 1)).all()
    row = out[(out.temperature_K == 303.0) & (out.mixing_time_s == 0.05)].iloc[0]
    # c8-like noise: a well-chosen mixing time mostly succeeds and has a ~5% width
    assert row["mc_failure_fraction"] < 0.5
    assert row["k_A->B_per_s_q16"] < 1.0 < row["k_A->B_per_s_q84"]
    assert 0.02 < (row["k_A->B_per_s_q84"] - row["k_A->B_per_s_q16"]) / 2 < 0.2
    # the coldest, shortest spectrum has cross peaks below the noise: mostly failures
    cold = out[(out.temperature_K == 263.0) & (out.mixing_time_s == 0.01)].iloc[0]
    assert cold["mc_failure_fraction"] > 0.4


@pytest.mark.parametrize(
    ("mutate", "sites", "start", "error", "match"),
    [
        (lambda t: t.drop(columns="volume"), ["A", "B"], None, VolumeTableError,
         "missing column"),
        (lambda t: t.assign(volume=t.volume.where(t.index != 3, np.nan)), ["A", "B"], None,
         VolumeTableError, "row 3"),
        (lambda t: pd.concat([t, t.iloc[:1]]), ["A", "B"], None, VolumeTableError,
         "more than one row"),
        (lambda t: t, ["A", "C"], None, VolumeTableError, "site\\(s\\) B"),
        (lambda t: t, ["A", "B"], {263.0: (0.9, 0.1)}, ConfigError, "temperature_K 283"),
    ],
)
def test_table_errors(mutate, sites, start, error, match):
    with pytest.raises(error, match=match):
        matrix_log_table(mutate(_c8_table()), sites, start)


def test_table_monte_carlo_needs_sigma():
    with pytest.raises(VolumeTableError, match="sigma"):
        matrix_log_table(_c8_table().drop(columns="sigma"), ["A", "B"], n_draws=10)


# --------------------------------------------------------------------------------------------
# why a spectrum failed, and agreement with the global fit
# --------------------------------------------------------------------------------------------


def _one_spectrum(V: np.ndarray, t: float, sigma: float = 1e-4) -> pd.DataFrame:
    return pd.DataFrame([{"experiment": "e1", "temperature_K": 300.0, "mixing_time_s": t,
                          "from_site": b, "to_site": a, "volume": V[i, j], "sigma": sigma}
                         for i, a in enumerate("AB") for j, b in enumerate("AB")])


def test_strong_cross_peaks_with_a_negative_eigenvalue_are_not_blamed_on_noise():
    # A = [[0.4, 0.6], [0.6, 0.4]]: column sums 1, symmetric, eigenvalues 1 and -0.2
    V = np.array([[0.3, 0.45], [0.45, 0.3]])
    out = matrix_log_table(_one_spectrum(V, 0.1), ["A", "B"], [0.75, 0.75])
    assert not out["ok"][0]
    assert out["cause"][0] == "negative eigenvalue"
    assert "negative" in out["reason"][0] and "noise" not in out["reason"][0]


def test_underestimated_start_magnetisation_is_named_as_normalisation():
    V = _c2_volumes(0.2)
    out = matrix_log_table(_one_spectrum(V, 0.2), ["A", "B"], [0.4, 0.1])  # half the truth
    assert not out["ok"][0]
    assert out["cause"][0] == "normalisation"
    assert "site 1" in out["reason"][0] or "site 2" in out["reason"][0]


def test_asymmetric_cross_peaks_point_to_a_non_equilibrium_start():
    K = np.array([[0.0, 8.0], [2.0, 0.0]])
    A = model.mixing_matrix(K, np.array([2.0, 0.5]), np.array([0.05]))[0]
    V = model.predict_volumes(A, np.array([0.3, 0.7]))  # start far from p = (0.8, 0.2)
    out = matrix_log_table(_one_spectrum(V, 0.05), ["A", "B"], [0.8, 0.2])
    assert not out["ok"][0]
    assert out["cause"][0] == "non-equilibrium start"


def test_cross_peaks_within_the_noise_are_blamed_on_noise():
    V = np.array([[0.9, -0.0002], [0.0003, 0.1]])
    out = matrix_log_table(_one_spectrum(V, 0.01, sigma=0.002), ["A", "B"], [0.9, 0.1])
    assert not out["ok"][0]
    assert out["cause"][0] == "noise"


def test_rows_that_disagree_with_the_global_fit_are_flagged():
    table = matrix_log_table(_c8_table(), ["A", "B"], [0.9, 0.1])
    truth = pd.DataFrame([{"temperature_K": T, "pair": "A<->B", "k_ex_per_s_median": 10 * k,
                           "k_ex_per_s_q025": 9 * k, "k_ex_per_s_q975": 11 * k}
                          for T, k in zip(C8_T, C8_KAB, strict=True)])
    out = compare_with_global_fit(table, truth)
    assert out["agrees_with_fit"].all()
    one_call = matrix_log_table(_c8_table(), ["A", "B"], [0.9, 0.1], fit_rates=truth)
    pd.testing.assert_frame_equal(one_call, out)
    np.testing.assert_allclose(out["k_ex_A<->B_fit_per_s"], np.repeat(10 * np.array(C8_KAB),
                                                                      len(C8_TM)))
    wrong = truth.assign(k_ex_per_s_median=truth["k_ex_per_s_median"] * 3)
    wrong.loc[1:, "k_ex_per_s_median"] = truth.loc[1:, "k_ex_per_s_median"]
    out = compare_with_global_fit(table, wrong)
    first = out["temperature_K"] == C8_T[0]
    assert not out.loc[first, "agrees_with_fit"].any()
    assert out.loc[~first, "agrees_with_fit"].all()
    assert "against the global fit" in out.loc[first, "fit_disagreement"].iloc[0]


def test_noisy_spectra_of_the_true_model_rarely_disagree_with_the_true_rates():
    # the c8 series with the noise its sigma states, against the true rates: a flag here is a
    # false alarm, which must stay rare (the rule allows about 0.3 % per spectrum)
    truth = pd.DataFrame([{"temperature_K": T, "pair": "A<->B", "k_ex_per_s_median": 10 * k,
                           "k_ex_per_s_q025": 9.8 * k, "k_ex_per_s_q975": 10.2 * k}
                          for T, k in zip(C8_T, C8_KAB, strict=True)])
    flagged = compared = 0
    for seed in range(4):
        table = _c8_table()
        rng = np.random.default_rng(seed)
        table["volume"] = table["volume"] + rng.normal(0.0, 0.002, len(table))
        out = matrix_log_table(table, ["A", "B"], [0.9, 0.1], n_draws=200, seed=seed,
                               fit_rates=truth)
        rated = out["agrees_with_fit"].notna()
        compared += int(rated.sum())
        flagged += int((out.loc[rated, "agrees_with_fit"] == False).sum())  # noqa: E712
    assert compared > 60
    assert flagged <= 2
    # a wrong global rate is found in the same noisy spectra
    wrong = truth.assign(k_ex_per_s_median=truth["k_ex_per_s_median"] * 3,
                         k_ex_per_s_q025=truth["k_ex_per_s_q025"] * 3,
                         k_ex_per_s_q975=truth["k_ex_per_s_q975"] * 3)
    out = matrix_log_table(table, ["A", "B"], [0.9, 0.1], n_draws=200, seed=0, fit_rates=wrong)
    rated = out["agrees_with_fit"].notna()
    assert (out.loc[rated, "agrees_with_fit"] == False).mean() > 0.5  # noqa: E712
