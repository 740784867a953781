"""The exchange model against exact reference values and scipy's expm."""

from __future__ import annotations

import numpy as np
import pytest
import scipy.linalg
from hypothesis import given, settings
from hypothesis import strategies as st

from exsyfit.kinetics.exchange import (
    directional_rates,
    exchange_rate_matrix,
    mixing_matrix,
    mixing_matrix_eig,
    mixing_matrix_two_site,
    predict_volumes,
    relaxation_exchange_matrix,
)


def two_site(p_a, k_ex, r1a, r1b):
    K = exchange_rate_matrix([k_ex], [p_a, 1 - p_a], [(0, 1)])
    return K, np.array([r1a, r1b])


def test_c1_symmetric_case():
    K, r1 = two_site(0.5, 20.0, 1.0, 1.0)
    A = mixing_matrix(K, r1, [0.1])[0]
    expected = [[0.5136469231, 0.3911904949], [0.3911904949, 0.5136469231]]
    np.testing.assert_allclose(A, expected, atol=1e-10)
    V = predict_volumes(A, [0.5, 0.5])
    assert V[0, 0] == pytest.approx(0.2568234616, abs=1e-10)
    assert V[1, 0] == pytest.approx(0.1955952474, abs=1e-10)
    assert V[1, 0] / V[0, 0] == pytest.approx(np.tanh(1.0), abs=1e-10)
    assert V.sum() == pytest.approx(np.exp(-0.1), abs=1e-10)
    L = relaxation_exchange_matrix(K, r1)
    lam = np.sort(np.linalg.eigvals(L).real)
    np.testing.assert_allclose(lam, [1.0, 21.0], atol=1e-10)


C2_ROWS = [
    # t_m, A_AA, A_AB, A_BA, A_BB, V_AA, V_AB=V_BA, V_BB
    (0.01, 0.9615467704, 0.0751794297, 0.0187948574, 0.9192583413, 0.7692374164,
     0.0150358859, 0.1838516683),
    (0.05, 0.8339933575, 0.2952212975, 0.0738053244, 0.6679313776, 0.6671946860,
     0.0590442595, 0.1335862755),
    (0.2, 0.5637187424, 0.5255422908, 0.1313855727, 0.2681012039, 0.4509749939,
     0.1051084582, 0.0536202408),
    (1.0, 0.1415969682, 0.1656023217, 0.0414005804, 0.0484456622, 0.1132775746,
     0.0331204643, 0.0096891324),
]


@pytest.mark.parametrize("row", C2_ROWS)
def test_c2_unequal_populations_and_T1(row):
    tm, a_aa, a_ab, a_ba, a_bb, v_aa, v_x, v_bb = row
    K, r1 = two_site(0.8, 10.0, 2.0, 0.5)
    assert K[1, 0] == pytest.approx(2.0) and K[0, 1] == pytest.approx(8.0)
    A = mixing_matrix(K, r1, [tm])[0]
    np.testing.assert_allclose(A, [[a_aa, a_ab], [a_ba, a_bb]], atol=1e-10)
    V = predict_volumes(A, [0.8, 0.2])
    np.testing.assert_allclose(V, [[v_aa, v_x], [v_x, v_bb]], atol=1e-10)


def test_c2_eigenvalues():
    K, r1 = two_site(0.8, 10.0, 2.0, 0.5)
    lam = np.sort(np.linalg.eigvals(relaxation_exchange_matrix(K, r1)).real)
    np.testing.assert_allclose(lam, [1.6606100623, 10.8393899377], atol=1e-9)


def test_c3_minority_site_levels_off_above_population():
    K, r1 = two_site(0.95, 10.0, 1 / 0.6, 1 / 5.0)
    V = predict_volumes(mixing_matrix(K, r1, [0.1, 1.0]), [0.95, 0.05])
    assert V[0, 1, 0] == pytest.approx(0.0270791067, abs=1e-10)
    assert V[1, 1, 1] == pytest.approx(0.000692829262, abs=1e-12)
    assert V[1, 1, 0] / (V[1, 0, 0] + V[1, 1, 0]) == pytest.approx(0.058006, abs=1e-6)


def test_c5_non_equilibrium_start_gives_asymmetric_cross_peaks():
    K, r1 = two_site(0.8, 10.0, 2.0, 0.5)
    V = predict_volumes(mixing_matrix(K, r1, [0.05])[0], [0.3, 0.7])
    np.testing.assert_allclose(
        V, [[0.2501980072, 0.2066549083], [0.0221415973, 0.4675519643]], atol=1e-10
    )


def test_directional_rates_obey_detailed_balance():
    k_ab, k_ba = directional_rates(10.0, 0.8, 0.2)
    assert (k_ab, k_ba) == pytest.approx((2.0, 8.0))
    assert 0.8 * k_ab == pytest.approx(0.2 * k_ba)


rates = st.floats(1e-3, 200.0)
relax = st.floats(0.0, 20.0)
pops = st.floats(0.02, 0.98)
times = st.floats(0.0, 2.0)


@settings(max_examples=60, deadline=None)
@given(p=pops, k=rates, r1a=relax, r1b=relax, t=times)
def test_two_site_closed_form_matches_expm(p, k, r1a, r1b, t):
    K, r1 = two_site(p, k, r1a, r1b)
    expected = scipy.linalg.expm(-relaxation_exchange_matrix(K, r1) * t)
    np.testing.assert_allclose(mixing_matrix(K, r1, [t])[0], expected, rtol=1e-9, atol=1e-12)


@settings(max_examples=60, deadline=None)
@given(p=pops, k=rates, r1a=relax, r1b=relax, t=times)
def test_equilibrium_start_gives_symmetric_cross_peaks(p, k, r1a, r1b, t):
    K, r1 = two_site(p, k, r1a, r1b)
    V = predict_volumes(mixing_matrix(K, r1, [t])[0], [p, 1 - p])
    assert V[0, 1] == pytest.approx(V[1, 0], rel=1e-9, abs=1e-14)


@settings(max_examples=40, deadline=None)
@given(p=pops, k=rates, t=times)
def test_without_relaxation_columns_sum_to_one(p, k, t):
    K, _ = two_site(p, k, 0, 0)
    A = mixing_matrix(K, [0.0, 0.0], [t])[0]
    np.testing.assert_allclose(A.sum(axis=0), [1.0, 1.0], atol=1e-12)


def test_identity_at_zero_mixing_time():
    K, r1 = two_site(0.7, 15.0, 2.0, 0.3)
    np.testing.assert_allclose(mixing_matrix(K, r1, [0.0])[0], np.eye(2), atol=1e-15)
    K3 = exchange_rate_matrix([3.0, 1.0, 0.5], [0.5, 0.3, 0.2], [(0, 1), (0, 2), (1, 2)])
    A3 = mixing_matrix(K3, [1.0, 2.0, 0.5], [0.0], populations=[0.5, 0.3, 0.2])[0]
    np.testing.assert_allclose(A3, np.eye(3), atol=1e-12)


def test_no_exchange_limit_is_pure_relaxation():
    A = mixing_matrix_two_site(0.0, 0.0, 2.0, 0.5, 0.3)
    np.testing.assert_allclose(A, np.diag([np.exp(-0.6), np.exp(-0.15)]), atol=1e-15)


@settings(max_examples=40, deadline=None)
@given(p=pops, k=rates, r1a=relax, r1b=relax, t=times)
def test_general_n_site_path_equals_closed_form(p, k, r1a, r1b, t):
    K, r1 = two_site(p, k, r1a, r1b)
    L = relaxation_exchange_matrix(K, r1)
    closed = mixing_matrix(K, r1, [t])[0]
    np.testing.assert_allclose(mixing_matrix_eig(L, [t], [p, 1 - p])[0], closed,
                               rtol=1e-8, atol=1e-12)
    np.testing.assert_allclose(mixing_matrix_eig(L, [t])[0], closed, rtol=1e-8, atol=1e-12)


def test_three_site_matches_expm_and_respects_non_exchanging_pair():
    p = np.array([0.6, 0.3, 0.1])
    K = exchange_rate_matrix([5.0, 2.0], p, [(0, 1), (1, 2)])  # A<->B, B<->C only
    assert K[2, 0] == 0.0 and K[0, 2] == 0.0
    r1 = np.array([2.0, 0.7, 0.2])
    t = np.array([0.01, 0.1, 0.5])
    A = mixing_matrix(K, r1, t, populations=p)
    for m, tm in enumerate(t):
        expected = scipy.linalg.expm(-relaxation_exchange_matrix(K, r1) * tm)
        np.testing.assert_allclose(A[m], expected, rtol=1e-10, atol=1e-13)
    V = predict_volumes(A, p)
    np.testing.assert_allclose(V, np.swapaxes(V, -1, -2), atol=1e-13)


def test_batched_evaluation_matches_loop():
    rng = np.random.default_rng(4)
    k = rng.uniform(0.1, 50, size=(7, 3))
    p = rng.uniform(0.1, 0.9, size=(7, 3))
    r1 = rng.uniform(0.1, 3, size=(7, 3, 2))
    pops = np.stack([p, 1 - p], axis=-1)
    K = exchange_rate_matrix(k[..., None], pops, [(0, 1)])
    A = mixing_matrix(K, r1, [0.05, 0.3])
    for w in range(7):
        for t in range(3):
            single = mixing_matrix(K[w, t], r1[w, t], [0.05, 0.3])
            np.testing.assert_allclose(A[w, t], single, rtol=1e-12)


def test_paired_mixing_matrices_match_expm_one_time_per_matrix():
    from exsyfit.kinetics.exchange import mixing_matrix_paired

    rng = np.random.default_rng(3)
    p = np.array([0.5, 0.3, 0.2])
    pairs = [(0, 1), (0, 2), (1, 2)]
    k = rng.uniform(0.5, 20.0, (4, 3))  # four batch entries
    r1 = rng.uniform(0.2, 3.0, (4, 3))
    t = np.array([0.01, 0.1, 0.5, 2.0])  # one mixing time per entry
    K = exchange_rate_matrix(k, p, pairs)
    A = mixing_matrix_paired(K, r1, t, np.broadcast_to(p, (4, 3)))
    for b in range(4):
        expected = scipy.linalg.expm(-relaxation_exchange_matrix(K[b], r1[b]) * t[b])
        np.testing.assert_allclose(A[b], expected, rtol=1e-9, atol=1e-13)
    # two sites: the closed form
    K2 = exchange_rate_matrix(k[:, :1], p[:2] / p[:2].sum(), [(0, 1)])
    A2 = mixing_matrix_paired(K2, r1[:, :2], t)
    for b in range(4):
        np.testing.assert_allclose(
            A2[b], scipy.linalg.expm(-relaxation_exchange_matrix(K2[b], r1[b, :2]) * t[b]),
            rtol=1e-9, atol=1e-13)
