"""Temperature laws and unit conversions against the c6 oracles."""

from __future__ import annotations

import numpy as np
import pytest

from exsyfit.kinetics import laws as kinetics

TEMPS = np.array([253.0, 273.0, 293.0, 313.0, 333.0])
RATES = np.array([1.056765e-3, 2.895891e-3, 6.915404e-3, 1.477548e-2, 2.881770e-2])


def test_c6_rates_and_arrhenius_fit():
    k = 1e3 * np.exp(-0.30 / (kinetics.K_B_EV_PER_K * TEMPS))
    np.testing.assert_allclose(k, RATES, rtol=5e-7)
    ea, ln_a = kinetics.fit_arrhenius(TEMPS, k)
    assert ea == pytest.approx(0.30, abs=1e-10)
    assert ln_a == pytest.approx(np.log(1000.0), abs=1e-10)


def test_c6_eyring():
    k = 1e3 * np.exp(-0.30 / (kinetics.K_B_EV_PER_K * TEMPS))
    dh, ds = kinetics.fit_eyring(TEMPS, k)
    assert dh == pytest.approx(26.543, abs=5e-4)
    assert ds == pytest.approx(-195.58, abs=5e-3)


@pytest.mark.parametrize(
    ("ea", "kj", "slope"),
    [(0.12, 11.578, -1392.54), (0.13, 12.543, -1508.59), (0.27, 26.051, -3133.22),
     (0.315, 30.393, -3655.42), (0.39, 37.629, -4525.76), (0.515, 49.690, -5976.33)],
)
def test_c6_unit_conversions(ea, kj, slope):
    assert float(kinetics.ev_to_kj_per_mol(ea)) == pytest.approx(kj, abs=5e-4)
    assert -ea / kinetics.K_B_EV_PER_K == pytest.approx(slope, abs=5e-3)


def test_log10_axis_conversion():
    # Ea[eV] = -0.198421 x slope of log10 k against 1000/T
    assert kinetics.K_B_EV_PER_K * 1000 * np.log(10) == pytest.approx(0.198421, abs=1e-6)


def test_reference_parameterisation_round_trip():
    t_ref = kinetics.reference_temperature(TEMPS)
    assert 1 / t_ref == pytest.approx(np.mean(1 / TEMPS))
    ln_k_ref = np.log(1e3) - 0.3 / (kinetics.K_B_EV_PER_K * t_ref)
    np.testing.assert_allclose(
        np.exp(kinetics.arrhenius_ln_k(TEMPS, 0.3, ln_k_ref, t_ref)), RATES, rtol=5e-7)
    assert kinetics.arrhenius_ln_prefactor(0.3, ln_k_ref, t_ref) == pytest.approx(np.log(1e3))
    dh, ds = kinetics.fit_eyring(TEMPS, RATES)
    ln_k_eyr = np.log(kinetics.K_B_J_PER_K * TEMPS / kinetics.H_PLANCK_J_S) + ds / \
        kinetics.R_J_PER_MOL_K - dh * 1e3 / (kinetics.R_J_PER_MOL_K * TEMPS)
    ref = ln_k_eyr[2] + np.log(t_ref / TEMPS[2]) - dh * 1e3 / kinetics.R_J_PER_MOL_K * (
        1 / t_ref - 1 / TEMPS[2])
    np.testing.assert_allclose(kinetics.eyring_ln_k(TEMPS, dh, ref, t_ref), ln_k_eyr, atol=1e-10)
    assert kinetics.eyring_entropy(dh, ref, t_ref) == pytest.approx(ds, abs=1e-8)


def test_ln_k_of_every_law_in_both_forms():
    T = np.array([250.0, 300.0, 350.0])
    ea = np.array([[0.2], [0.45]])  # two draws
    ln_a = np.array([[20.0], [28.0]])
    expected = ln_a - ea / (kinetics.K_B_EV_PER_K * T)
    got = kinetics.ln_k("arrhenius", T, Ea_eV=ea, ln_A_per_s=ln_a)
    assert got.shape == (2, 3)
    np.testing.assert_allclose(got, expected, rtol=1e-13)
    ref = kinetics.ln_k("arrhenius", 300.0, Ea_eV=ea, ln_A_per_s=ln_a)
    np.testing.assert_allclose(
        kinetics.ln_k("arrhenius", T, Ea_eV=ea, ln_k_ref=ref, T_ref_K=300.0), expected,
        rtol=1e-13)
    dh, ds = 40.0, -25.0
    k = (kinetics.K_B_J_PER_K * T / kinetics.H_PLANCK_J_S * np.exp(ds / kinetics.R_J_PER_MOL_K)
         * np.exp(-dh * 1e3 / (kinetics.R_J_PER_MOL_K * T)))
    np.testing.assert_allclose(
        kinetics.ln_k("eyring", T, dH_kJ_per_mol=dh, dS_J_per_mol_K=ds), np.log(k), rtol=1e-13)
    free = np.log([1.0, 5.0, 30.0])
    np.testing.assert_array_equal(kinetics.ln_k("free", T, ln_k_free=free), free)
    with pytest.raises(ValueError, match="unknown temperature law"):
        kinetics.ln_k("vft", T)


def test_line_fits_are_vectorised_weighted_and_exact_on_a_law():
    T = np.array([260.0, 290.0, 320.0, 350.0])
    ea = np.array([0.25, 0.5])[:, None]
    ln_k = 25.0 - ea / (kinetics.K_B_EV_PER_K * T)
    got_ea, got_ln_a = kinetics.arrhenius_line(T, ln_k)
    np.testing.assert_allclose(got_ea, [0.25, 0.5], rtol=1e-12)
    np.testing.assert_allclose(got_ln_a, 25.0, rtol=1e-12)
    # a point with zero weight does not move the weighted line
    bent = ln_k.copy()
    bent[:, 0] += 3.0
    w = np.array([0.0, 1.0, 1.0, 1.0])
    np.testing.assert_allclose(kinetics.arrhenius_line(T, bent, w)[0], [0.25, 0.5], rtol=1e-12)
    assert kinetics.arrhenius_line(T, bent)[0][0] < 0.2
    dh, ds = 35.0, -40.0
    ln_k_e = kinetics.ln_k("eyring", T, dH_kJ_per_mol=dh, dS_J_per_mol_K=ds)
    got_dh, got_ds = kinetics.eyring_line(T, ln_k_e)
    assert got_dh == pytest.approx(dh, rel=1e-10)
    assert got_ds == pytest.approx(ds, rel=1e-9)
    assert kinetics.fit_eyring(T, np.exp(ln_k_e)) == pytest.approx((dh, ds), rel=1e-9)


def test_activation_energy_of_D_per_draw_with_sampled_temperatures():
    from exsyfit.kinetics.diffusion import diffusion_activation_energy, slowest_mode_factor

    rng = np.random.default_rng(0)
    T = np.array([280.0, 300.0, 320.0]) + rng.normal(0, 1, (50, 3))  # one set per draw
    ea = rng.uniform(0.2, 0.6, 50)
    D = 1e-6 * np.exp(-ea[:, None, None] / (kinetics.K_B_EV_PER_K * T[:, None, :]))
    got = diffusion_activation_energy(T[:, None, :], D)
    assert got.shape == (50, 1)
    np.testing.assert_allclose(got[:, 0], ea, rtol=1e-10)
    assert slowest_mode_factor("sphere") == pytest.approx(np.pi**2)
    assert slowest_mode_factor("slab") == pytest.approx(np.pi**2 / 4)


def test_transfer_coefficient_per_geometry():
    from exsyfit.errors import ConfigError
    from exsyfit.kinetics.diffusion import (
        rate_from_transfer_coefficient,
        transfer_coefficient_from_rate,
    )

    # sphere of radius 30 nm at 2 s^-1: h = k a / 3 = 2e-8 m/s; slab of half-thickness l: k l
    assert transfer_coefficient_from_rate(2.0, 30e-9) == pytest.approx(2e-8, rel=1e-12)
    assert transfer_coefficient_from_rate(2.0, 30e-9, "slab") == pytest.approx(6e-8, rel=1e-12)
    assert rate_from_transfer_coefficient(2e-8, 30e-9) == pytest.approx(2.0, rel=1e-12)
    with pytest.raises(ConfigError, match="geometry"):
        transfer_coefficient_from_rate(2.0, 30e-9, "cube")
