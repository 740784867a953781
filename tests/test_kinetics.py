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
