"""Uptake curves, transport conversions, diffusion-limited build-up (Crank, ch. 6)."""

from __future__ import annotations

import numpy as np
import pytest

from exsyfit.errors import ConfigError
from exsyfit.kinetics import exchange as model
from exsyfit.kinetics.diffusion import (
    diffusion_coefficient_from_rate,
    diffusion_mixing_matrix,
    m2_per_s_to_cm2_per_s,
    propagate_length_scale,
    rate_from_diffusion_coefficient,
    rate_from_transfer_coefficient,
    transfer_coefficient_from_rate,
    uptake,
    uptake_interface_sphere,
    uptake_slab,
    uptake_sphere,
)


def _sphere_series(tau: np.ndarray, n_terms: int = 4000) -> np.ndarray:
    n = np.arange(1, n_terms + 1)
    terms = np.exp(-np.outer(tau, n**2) * np.pi**2) / n**2
    return 1.0 - 6.0 / np.pi**2 * terms.sum(axis=1)


def _slab_series(tau: np.ndarray, n_terms: int = 4000) -> np.ndarray:
    m = 2 * np.arange(n_terms) + 1
    terms = 8.0 / (m**2 * np.pi**2) * np.exp(-np.outer(tau, m**2) * np.pi**2 / 4.0)
    return 1.0 - terms.sum(axis=1)


# --------------------------------------------------------------------------------------------
# uptake curves
# --------------------------------------------------------------------------------------------


def test_c10_sphere_oracle():
    tau = np.array([0.001, 0.01, 0.05, 0.1, 0.5, 1.0])
    expected = [0.10404745, 0.30851375, 0.60693976, 0.77047874, 0.99562786, 0.99996856]
    assert uptake_sphere(tau) == pytest.approx(expected, abs=1e-8)


def test_c10_slab_oracle():
    tau = np.array([0.001, 0.01, 0.1, 1.0])
    expected = [0.03568248, 0.11283792, 0.35682340, 0.93125968]
    assert uptake_slab(tau) == pytest.approx(expected, abs=1e-8)


def test_short_time_forms_agree_to_1e_5_up_to_tau_0_1():
    tau = np.logspace(-7, -1, 60)
    assert np.max(np.abs(uptake_sphere(tau) - (6 * np.sqrt(tau / np.pi) - 3 * tau))) < 1e-5
    assert np.max(np.abs(uptake_slab(tau) - 2 * np.sqrt(tau / np.pi))) < 1e-5
    # and they are wrong at long times, so the switch to the eigenmode series matters
    assert abs(uptake_sphere(1.0) - (6 * np.sqrt(1.0 / np.pi) - 3.0)) > 0.3


def test_uptake_matches_long_eigenmode_series_everywhere():
    tau = np.logspace(-4, 0.5, 80)  # 4000 terms converge fully from tau = 1e-4
    assert uptake_sphere(tau) == pytest.approx(_sphere_series(tau), abs=1e-13)
    assert uptake_slab(tau) == pytest.approx(_slab_series(tau), abs=1e-13)
    assert uptake(tau, "sphere") == pytest.approx(uptake_sphere(tau), abs=0)


def test_uptake_limits_shape_and_bad_input():
    assert uptake_sphere(0.0) == 0.0 and uptake_slab(0.0) == 0.0
    assert uptake_sphere(50.0) == pytest.approx(1.0, abs=1e-15)
    grid = np.logspace(-10, 0.3, 500).reshape(5, 100)
    f = uptake_sphere(grid)
    assert f.shape == (5, 100)
    assert np.all(np.diff(f.ravel()) > 0)  # strictly increasing, no seam at tau = 0.2
    with pytest.raises(ConfigError, match="dimensionless_time must be finite and >= 0"):
        uptake_slab([0.1, -1e-3])
    with pytest.raises(ConfigError, match="geometry must be 'sphere' or 'slab'; found 'cube'"):
        uptake(0.1, "cube")


def test_interface_limited_sphere_is_first_order_with_k_3h_over_a():
    h, a = 2e-9, 1e-6  # m/s, m
    k = rate_from_transfer_coefficient(h, a)
    assert k == pytest.approx(6e-3, rel=1e-14)
    t = np.array([0.0, 1.0, 100.0, 1e4])
    assert uptake_interface_sphere(h, a, t) == pytest.approx(1 - np.exp(-k * t), rel=1e-14)
    assert uptake_interface_sphere(h, a, 1e-3) == pytest.approx(k * 1e-3, rel=1e-5)


# --------------------------------------------------------------------------------------------
# conversions
# --------------------------------------------------------------------------------------------


def test_transfer_coefficient_round_trip():
    k = np.array([0.1, 1.0, 7.0])
    h = transfer_coefficient_from_rate(k, 30e-9)
    assert h == pytest.approx(k * 1e-8, rel=1e-14)
    assert rate_from_transfer_coefficient(h, 30e-9) == pytest.approx(k, rel=1e-14)


def test_diffusion_coefficient_numbers_and_round_trip():
    # D = 1e-11 cm^2/s = 1e-15 m^2/s, length 50 nm
    k_sphere = rate_from_diffusion_coefficient(1e-15, 50e-9, "sphere")
    k_slab = rate_from_diffusion_coefficient(1e-15, 50e-9, "slab")
    assert k_sphere == pytest.approx(np.pi**2 * 0.4, rel=1e-14)  # 3.9478 s^-1
    assert k_slab == pytest.approx(np.pi**2 * 0.1, rel=1e-14)  # 0.98696 s^-1
    D = diffusion_coefficient_from_rate(k_sphere, 50e-9, "sphere")
    assert D == pytest.approx(1e-15, rel=1e-14)
    assert m2_per_s_to_cm2_per_s(D) == pytest.approx(1e-11, rel=1e-14)
    with pytest.raises(ConfigError, match="geometry"):
        diffusion_coefficient_from_rate(1.0, 1e-6, "cylinder")


def test_propagate_length_scale_without_spread_is_the_plain_conversion():
    rates = np.array([[1.0, 2.0], [3.0, 4.0]])
    out = propagate_length_scale(rates, 40e-9, 0.0, np.random.default_rng(0), "sphere")
    assert out.D_m2_per_s == pytest.approx(rates * (40e-9) ** 2 / np.pi**2, rel=1e-12)
    assert out.D_cm2_per_s == pytest.approx(1e4 * out.D_m2_per_s, rel=1e-14)
    assert out.length_m == pytest.approx(np.full(2, 40e-9), rel=1e-12)


@pytest.mark.parametrize("distribution", ["lognormal", "normal"])
def test_propagate_length_scale_statistics(distribution):
    rng = np.random.default_rng(11)
    n = 20000
    rates = np.stack([np.full(n, 2.0), np.full(n, 6.0)], axis=1)  # two temperatures
    out = propagate_length_scale(rates, 100e-9, 20e-9, rng, "slab", distribution=distribution)
    assert out.D_m2_per_s.shape == (n, 2)
    assert np.all(out.length_m > 0)
    assert np.mean(out.length_m) == pytest.approx(100e-9, rel=0.01)
    assert np.std(out.length_m) == pytest.approx(20e-9, rel=0.03)
    # one length per draw, shared by the temperatures: the ratio is the rate ratio exactly
    assert out.D_m2_per_s[:, 1] / out.D_m2_per_s[:, 0] == pytest.approx(np.full(n, 3.0))
    # D ~ L^2: relative spread about twice that of the length
    rel_sd = np.std(out.D_m2_per_s[:, 0]) / np.mean(out.D_m2_per_s[:, 0])
    assert 0.38 < rel_sd < 0.45


def test_propagate_length_scale_is_reproducible_and_checks_input():
    a = propagate_length_scale(np.ones(5), 1e-7, 1e-8, np.random.default_rng(3), "sphere")
    b = propagate_length_scale(np.ones(5), 1e-7, 1e-8, np.random.default_rng(3), "sphere")
    assert np.array_equal(a.D_m2_per_s, b.D_m2_per_s)
    with pytest.raises(ConfigError, match="length_mean_m must be positive"):
        propagate_length_scale(np.ones(3), -1e-7, 1e-8, np.random.default_rng(0), "sphere")
    with pytest.raises(ConfigError, match="distribution"):
        propagate_length_scale(np.ones(3), 1e-7, 1e-8, np.random.default_rng(0), "sphere",
                               distribution="uniform")


# --------------------------------------------------------------------------------------------
# diffusion-limited build-up
# --------------------------------------------------------------------------------------------


@pytest.mark.parametrize("geometry", ["sphere", "slab"])
@pytest.mark.parametrize("n_modes", [4, 16, 64])
def test_equal_r1_cross_peak_is_exactly_pb_exp_r1t_times_uptake(geometry, n_modes):
    d = np.array([1e-5, 1e-3, 0.1, 3.0, 200.0])[:, None]  # D/L^2, s^-1
    p = np.array([0.85, 0.15])
    r1 = 1.3
    t = np.array([1e-4, 0.003, 0.02, 0.1, 0.5, 2.0])
    A = diffusion_mixing_matrix(d[:, 0], p, np.array([r1, r1]), t, geometry, n_modes=n_modes)
    F = uptake(d * t, geometry)
    decay = np.exp(-r1 * t)
    assert A[..., 1, 0] == pytest.approx(0.15 * decay * F, abs=1e-14)
    assert A[..., 0, 1] == pytest.approx(0.85 * decay * F, abs=1e-14)
    assert A[..., 0, 0] == pytest.approx(decay * (1 - 0.15 * F), abs=1e-14)
    assert A[..., 1, 1] == pytest.approx(decay * (1 - 0.85 * F), abs=1e-14)


@pytest.mark.parametrize("geometry", ["sphere", "slab"])
def test_detailed_balance_with_unequal_r1(geometry):
    p = np.array([0.7, 0.3])
    A = diffusion_mixing_matrix(np.array([1e-4, 0.05, 5.0]), p, np.array([2.5, 0.2]),
                                np.array([0.005, 0.1, 1.0]), geometry)
    sym = A * p  # A diag(p): symmetric cross peaks for an equilibrium start
    assert sym[..., 0, 1] == pytest.approx(sym[..., 1, 0], rel=1e-12, abs=1e-16)


@pytest.mark.parametrize("geometry", ["sphere", "slab"])
def test_unequal_r1_converges_to_a_many_mode_sum(geometry):
    t = np.array([1e-3, 0.01, 0.05, 0.2, 1.0, 3.0])
    p = np.array([0.9, 0.1])
    for r1 in ([2.0, 0.5], [0.5, 20.0], [20.0, 0.5]):
        for d in (1e-5, 1e-3, 1e-2, 1.0):
            ref = diffusion_mixing_matrix(d, p, np.array(r1), t, geometry, n_modes=30000,
                                          n_tail=0)
            A = diffusion_mixing_matrix(d, p, np.array(r1), t, geometry)
            few = diffusion_mixing_matrix(d, p, np.array(r1), t, geometry, n_modes=16,
                                          n_tail=0)
            err = np.max(np.abs(A - ref))
            assert err < (2e-5 if d < 1.0 else 2e-7)
            # the tail nodes matter: without them the error is 10x to 1000x larger
            assert np.max(np.abs(few - ref)) > 10 * err


def test_infinite_bath_limit_matches_diffusion_with_relaxation_pde():
    """p_B -> 0: cross peak / p_B = volume average of the particle magnetisation solving
    du/dt = D lap(u) - R1_B u in a sphere with u(a, t) = exp(-R1_A t) (finite differences)."""
    D, r1a, r1b, n = 1.0, 3.0, 0.5, 300
    r = np.linspace(0.0, 1.0, n + 1)
    h = r[1]
    i = np.arange(1, n)

    # du/dt = M u + b exp(-R1_A t), second-order finite differences (centre: 6 D (u1 - u0)/h^2)
    M = np.zeros((n, n))
    M[0, 0], M[0, 1] = -6.0 * D / h**2, 6.0 * D / h**2
    M[i, i] = -2.0 * D / h**2
    M[i, i - 1] = D / h**2 - D / (h * r[i])
    M[i[:-1], i[:-1] + 1] = D / h**2 + D / (h * r[i[:-1]])
    M -= r1b * np.eye(n)
    b = np.zeros(n)
    b[-1] = D / h**2 + D / (h * r[-2])

    # exact in time: u(t) = X diag((exp(lam t) - exp(-R1_A t)) / (lam + R1_A)) X^-1 b
    ts = np.array([0.01, 0.03, 0.1, 0.3])
    lam, X = np.linalg.eig(M)
    assert np.max(np.abs(lam.imag)) == 0.0
    lam, X = lam.real, X.real
    c = np.linalg.solve(X, b)
    g = (np.exp(np.outer(lam, ts)) - np.exp(-r1a * ts)[None, :]) / (lam + r1a)[:, None]
    full = np.vstack([X @ (c[:, None] * g), np.exp(-r1a * ts)])
    avg = np.trapezoid(3.0 * r[:, None] ** 2 * full, r, axis=0)
    pb = 1e-8
    A = diffusion_mixing_matrix(D, np.array([1 - pb, pb]), np.array([r1a, r1b]), ts)
    assert A[:, 1, 0] / pb == pytest.approx(avg, rel=2e-4)
    # a first-order model with the slowest-mode rate is clearly different
    first = model.mixing_matrix_two_site(np.pi**2 * D * pb, np.pi**2 * D, r1a, r1b, ts)
    assert np.max(np.abs(first[:, 1, 0] / pb / avg - 1)) > 0.2


def test_limits_no_diffusion_and_fast_diffusion():
    p = np.array([0.9, 0.1])
    r1 = np.array([2.0, 0.5])
    t = np.array([0.01, 0.1, 1.0])
    frozen = diffusion_mixing_matrix(0.0, p, r1, t)
    expected = np.zeros((3, 2, 2))
    expected[:, 0, 0] = np.exp(-2.0 * t)
    expected[:, 1, 1] = np.exp(-0.5 * t)
    assert frozen == pytest.approx(expected, abs=1e-15)
    # fast diffusion tends to fast two-site exchange (error ~ |R1_A - R1_B| / k)
    fast_first_order = model.mixing_matrix_two_site(1e6 * 0.1, 1e6 * 0.9, 2.0, 0.5, t)
    errors = [np.max(np.abs(diffusion_mixing_matrix(d, p, r1, t) - fast_first_order))
              for d in (1e2, 1e3, 1e4)]
    assert errors[2] < 1e-5
    assert errors[0] > 5 * errors[1] > 25 * errors[2]


def _log_log_slope(t: np.ndarray, y: np.ndarray) -> float:
    return float(np.polyfit(np.log(t), np.log(y), 1)[0])


@pytest.mark.parametrize("geometry", ["sphere", "slab"])
def test_early_build_up_is_sqrt_t_for_diffusion_and_linear_for_first_order(geometry):
    d = 0.05  # D/L^2, s^-1
    p = np.array([0.9, 0.1])
    r1 = np.array([1.0, 0.3])
    t = np.logspace(-4, -2, 12)  # D t / L^2 from 5e-6 to 5e-4
    diff = diffusion_mixing_matrix(d, p, r1, t, geometry)[:, 1, 0]
    slope_diffusion = _log_log_slope(t, diff)
    assert slope_diffusion == pytest.approx(0.5, abs=0.02)
    k_ex = np.pi**2 * d * (1.0 if geometry == "sphere" else 0.25)
    first = model.mixing_matrix_two_site(k_ex * p[1], k_ex * p[0], r1[0], r1[1], t)[:, 1, 0]
    assert _log_log_slope(t, first) == pytest.approx(1.0, abs=0.02)


def test_batched_shapes_match_element_by_element():
    rng = np.random.default_rng(5)
    d = 10 ** rng.uniform(-3, 1, (4, 3))
    p = np.stack([np.full((4, 3), 0.8), np.full((4, 3), 0.2)], axis=-1)
    r1 = rng.uniform(0.3, 3.0, (4, 3, 2))
    t = np.array([0.01, 0.05, 0.2, 1.0])
    A = diffusion_mixing_matrix(d, p, r1, t, "slab")
    assert A.shape == (4, 3, 4, 2, 2)
    for idx in np.ndindex(4, 3):
        single = diffusion_mixing_matrix(d[idx], p[idx], r1[idx], t, "slab")
        assert A[idx] == pytest.approx(single, abs=1e-15)
    # populations given once broadcast over the batch; output feeds predict_volumes
    shared = diffusion_mixing_matrix(d, np.array([0.8, 0.2]), r1, t, "slab")
    assert shared == pytest.approx(A, abs=1e-15)
    V = model.predict_volumes(shared, np.array([0.8, 0.2])[None, None, None, :])
    assert V.shape == (4, 3, 4, 2, 2)


def test_bad_mode_counts_and_geometry_raise():
    with pytest.raises(ConfigError, match="n_modes must be an integer >= 1"):
        diffusion_mixing_matrix(1.0, np.array([0.5, 0.5]), np.array([1.0, 1.0]), [0.1],
                                n_modes=0)
    with pytest.raises(ConfigError, match="geometry must be 'sphere' or 'slab'"):
        diffusion_mixing_matrix(1.0, np.array([0.5, 0.5]), np.array([1.0, 1.0]), [0.1],
                                geometry="cylinder")
