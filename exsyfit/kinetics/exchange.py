"""Longitudinal exchange with relaxation: rate matrices, mixing matrices, predicted volumes.

This module is the one place where the physics of the 2D exchange experiment lives.

Conventions (Macura & Ernst, Mol. Phys. 41 (1980) 95; Perrin & Dwyer, Chem. Rev. 90 (1990) 935)
-----------------------------------------------------------------------------------------------
* Sites are indexed 0..N-1 in the user's order.  ``K[i, j]`` (i != j) is the first-order rate
  constant, s^-1, for a spin on site j to move to site i (``K[B, A] = k_AB``, "A -> B").
* Deviations from equilibrium obey the longitudinal Bloch-McConnell equations
  ``d(dM)/dt = -L dM`` with ``L[i, i] = R1_i + sum_{m != i} K[m, i]`` and ``L[i, j] = -K[i, j]``.
* The mixing matrix is ``A(t_m) = expm(-L t_m)``.  ``A[i, j]`` is the magnetisation detected on
  site i (F2) per unit magnetisation that started on site j (F1).
* The volume of the peak at (F1 = j, F2 = i) is ``V[i, j] = c * A[i, j] * M_j(0)``; for an
  equilibrium start ``M_j(0) = p_j`` (populations, summing to 1), otherwise any given or
  fitted starting magnetisation (cross-polarisation start).
* Detailed balance ``p_i K[j, i] = p_j K[i, j]`` is built into the parameterisation: each
  exchanging pair carries one exchange rate ``k_ex = K[i, j] + K[j, i]``, split as
  ``K[j, i] = k_ex p_j / (p_i + p_j)`` (two sites: ``k_AB = k_ex p_B``, ``k_BA = k_ex p_A``).
  A temperature-independent spin-diffusion rate enters the same way, added to ``k_ex``.

All functions broadcast over leading batch axes (walkers, temperatures, mixing times), so a
whole emcee ensemble is evaluated in one call.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

__all__ = [
    "directional_rates",
    "exchange_rate_matrix",
    "relaxation_exchange_matrix",
    "mixing_matrix",
    "mixing_matrix_two_site",
    "two_site_modes",
    "mixing_matrix_two_site_modes",
    "mixing_matrix_eig",
    "mixing_matrix_paired",
    "predict_volumes",
]


def _expm1_ratio(x: np.ndarray) -> np.ndarray:
    """(1 - exp(-x)) / x, continuous at x = 0 (value 1)."""
    x = np.asarray(x, dtype=float)
    small = np.abs(x) < 1e-8
    if not small.any():
        return -np.expm1(-x) / x
    safe = np.where(small, 1.0, x)
    return np.where(small, 1.0 - 0.5 * x, -np.expm1(-safe) / safe)


def directional_rates(
    k_ex: np.ndarray, p_i: np.ndarray, p_j: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """Split a pair exchange rate into its two directions under detailed balance.

    Parameters
    ----------
    k_ex : array_like
        Pair exchange rate ``k_ij + k_ji``, s^-1.
    p_i, p_j : array_like
        Equilibrium populations of the two sites (any positive scale).

    Returns
    -------
    k_i_to_j, k_j_to_i : numpy.ndarray
        ``k_ex p_j/(p_i + p_j)`` and ``k_ex p_i/(p_i + p_j)``, s^-1.
    """
    k_ex = np.asarray(k_ex, dtype=float)
    total = np.asarray(p_i, dtype=float) + np.asarray(p_j, dtype=float)
    return k_ex * p_j / total, k_ex * p_i / total


def exchange_rate_matrix(
    k_ex_pairs: np.ndarray, populations: np.ndarray, pairs: Sequence[tuple[int, int]]
) -> np.ndarray:
    """Build ``K`` (``K[i, j]`` = rate j -> i, s^-1) from pair exchange rates and populations.

    Parameters
    ----------
    k_ex_pairs : array_like, shape (..., n_pairs)
        Exchange rate of each pair, s^-1.
    populations : array_like, shape (..., n_sites)
        Equilibrium populations.
    pairs : sequence of (i, j)
        Site indices of each exchanging pair; pairs not listed do not exchange.

    Returns
    -------
    numpy.ndarray, shape (..., n_sites, n_sites)
        Off-diagonal rate matrix with zero diagonal.
    """
    k_ex_pairs = np.asarray(k_ex_pairs, dtype=float)
    populations = np.asarray(populations, dtype=float)
    n = populations.shape[-1]
    batch = np.broadcast_shapes(k_ex_pairs.shape[:-1], populations.shape[:-1])
    K = np.zeros(batch + (n, n))
    for q, (i, j) in enumerate(pairs):
        k_ij, k_ji = directional_rates(
            k_ex_pairs[..., q], populations[..., i], populations[..., j]
        )
        K[..., j, i] = k_ij  # i -> j
        K[..., i, j] = k_ji  # j -> i
    return K


def relaxation_exchange_matrix(K: np.ndarray, r1: np.ndarray) -> np.ndarray:
    """Return ``L = diag(R1) + diag(column sums of K) - K``.

    Parameters
    ----------
    K : array_like, shape (..., n, n)
        Rate matrix, ``K[i, j]`` = rate j -> i, s^-1 (diagonal ignored).
    r1 : array_like, shape (..., n)
        Longitudinal relaxation rates 1/T1 of the sites, s^-1.
    """
    K = np.asarray(K, dtype=float)
    n = K.shape[-1]
    off = K * (1.0 - np.eye(n))
    leave = off.sum(axis=-2)  # total rate out of each site (column sums)
    diag = np.asarray(r1, dtype=float) + leave
    return np.eye(n) * diag[..., None, :] - off


def mixing_matrix_two_site(
    k_ab: np.ndarray,
    k_ba: np.ndarray,
    r1a: np.ndarray,
    r1b: np.ndarray,
    t: np.ndarray,
) -> np.ndarray:
    """Closed-form two-site mixing matrix ``expm(-L t)`` (Palmer, Kroenke & Loria,
    Methods Enzymol. 339 (2001) 204; Kleckner & Foster, BBA 1814 (2011) 942).

    Parameters
    ----------
    k_ab, k_ba : array_like
        Rates A -> B and B -> A, s^-1.
    r1a, r1b : array_like
        Relaxation rates of A and B, s^-1.
    t : array_like
        Mixing time(s), s.  All inputs broadcast together.

    Returns
    -------
    numpy.ndarray, shape (..., 2, 2)
        ``[[A_AA, A_AB], [A_BA, A_BB]]`` with ``A_BA`` the A -> B transfer.

    Notes
    -----
    Written with ``Delta = sqrt((a - d)^2 + 4 k_AB k_BA)`` and the stable factor
    ``(1 - exp(-Delta t)) / Delta``, so it stays exact when exchange vanishes.
    """
    modes = two_site_modes(k_ab, k_ba, r1a, r1b)
    return mixing_matrix_two_site_modes(*modes, k_ab, k_ba, t)


def two_site_modes(k_ab: np.ndarray, k_ba: np.ndarray, r1a: np.ndarray, r1b: np.ndarray,
                   ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The time-independent part of :func:`mixing_matrix_two_site`.

    Returns
    -------
    lam_minus, delta, half_diff : numpy.ndarray
        Slow eigenvalue of L, ``Delta`` = fast minus slow eigenvalue, and ``(d - a)/2`` with
        ``a = R1_A + k_AB``, ``d = R1_B + k_BA``; all s^-1.
    """
    k_ab, k_ba, r1a, r1b = (np.asarray(v, dtype=float) for v in (k_ab, k_ba, r1a, r1b))
    a = r1a + k_ab
    d = r1b + k_ba
    delta = np.sqrt((a - d) ** 2 + 4.0 * k_ab * k_ba)
    return 0.5 * (a + d - delta), delta, 0.5 * (d - a)


def mixing_matrix_two_site_modes(lam_minus: np.ndarray, delta: np.ndarray,
                                 half_diff: np.ndarray, k_ab: np.ndarray, k_ba: np.ndarray,
                                 t: np.ndarray) -> np.ndarray:
    """Two-site mixing matrix from :func:`two_site_modes` at mixing times ``t`` (s).

    All inputs broadcast together; the result has shape (..., 2, 2) as
    :func:`mixing_matrix_two_site`.
    """
    t = np.asarray(t, dtype=float)
    e_minus = np.exp(-lam_minus * t)
    dt = delta * t
    g = t * _expm1_ratio(dt)  # (1 - exp(-delta t)) / delta
    half = 0.5 * (1.0 + np.exp(-dt))
    skew = half_diff * g
    eg = e_minus * g
    k_ab, k_ba = np.asarray(k_ab, dtype=float), np.asarray(k_ba, dtype=float)
    out = np.empty(np.broadcast_shapes(eg.shape, skew.shape, k_ab.shape, k_ba.shape) + (2, 2))
    out[..., 0, 0] = e_minus * (half + skew)
    out[..., 1, 1] = e_minus * (half - skew)
    out[..., 0, 1] = eg * k_ba
    out[..., 1, 0] = eg * k_ab
    return out


def mixing_matrix_eig(
    L: np.ndarray, t: np.ndarray, populations: np.ndarray | None = None
) -> np.ndarray:
    """General N-site ``expm(-L t)`` by eigen-decomposition, batched.

    Parameters
    ----------
    L : array_like, shape (..., n, n)
        Relaxation-exchange matrix (see :func:`relaxation_exchange_matrix`).
    t : array_like, shape (n_t,)
        Mixing times, s.  The result gains a trailing-but-two axis of length n_t.
    populations : array_like, shape (..., n), optional
        Equilibrium populations.  When given (and L obeys detailed balance for them),
        ``D^-1/2 L D^1/2`` is symmetric and a real symmetric eigensolver is used, which is
        faster and exact to rounding; otherwise a general eigensolver is used.

    Returns
    -------
    numpy.ndarray, shape (..., n_t, n, n)
    """
    L = np.asarray(L, dtype=float)
    t = np.atleast_1d(np.asarray(t, dtype=float))
    pops = None if populations is None else np.asarray(populations, dtype=float)[..., None, :]
    return _expm_paired(L[..., None, :, :], t, pops)


def _expm_paired(L: np.ndarray, t: np.ndarray, populations: np.ndarray | None) -> np.ndarray:
    """``expm(-L t)`` with ``t`` broadcast against the batch axes of ``L`` (..., n, n)."""
    if populations is not None:
        s = np.sqrt(np.clip(populations, 1e-300, None))
        S = L * s[..., None, :] / s[..., :, None]  # D^-1/2 L D^1/2
        S = 0.5 * (S + np.swapaxes(S, -1, -2))
        lam, U = np.linalg.eigh(S)
        X = U * s[..., :, None]  # D^1/2 U
        Xinv = np.swapaxes(U, -1, -2) / s[..., None, :]  # U^T D^-1/2
    else:
        lam, X = np.linalg.eig(L)
        Xinv = np.linalg.inv(X)
    expo = np.exp(-lam * np.asarray(t, dtype=float)[..., None])
    return np.real(np.matmul(X * expo[..., None, :], Xinv))


def mixing_matrix_paired(
    K: np.ndarray, r1: np.ndarray, t: np.ndarray, populations: np.ndarray | None = None
) -> np.ndarray:
    """Mixing matrices ``expm(-L t)`` with one mixing time per rate matrix.

    This is the kernel of the likelihood: every (walker, temperature, mixing time) is one
    batch entry.  Two sites use the closed form, more sites the (symmetrised) eigensolver.

    Parameters
    ----------
    K : array_like, shape (..., n, n)
        Rate matrix, ``K[i, j]`` = rate j -> i, s^-1.
    r1 : array_like, shape (..., n)
        Relaxation rates, s^-1.
    t : array_like, shape (...)
        Mixing times, s, broadcast against the batch axes of ``K``.
    populations : array_like, shape (..., n), optional
        Populations for the symmetric eigensolver (N > 2 only).

    Returns
    -------
    numpy.ndarray, shape (..., n, n)
    """
    K = np.asarray(K, dtype=float)
    r1 = np.asarray(r1, dtype=float)
    t = np.asarray(t, dtype=float)
    if K.shape[-1] == 2:
        return mixing_matrix_two_site(K[..., 1, 0], K[..., 0, 1], r1[..., 0], r1[..., 1], t)
    pops = None if populations is None else np.asarray(populations, dtype=float)
    return _expm_paired(relaxation_exchange_matrix(K, r1), t, pops)


def mixing_matrix(
    K: np.ndarray, r1: np.ndarray, t: np.ndarray, populations: np.ndarray | None = None
) -> np.ndarray:
    """Mixing matrix for any number of sites on a grid of mixing times; closed form for two.

    Parameters
    ----------
    K, r1, populations : array_like
        Rate matrix (s^-1, ``K[i, j]`` = rate j -> i), relaxation rates (s^-1) and optional
        populations, shaped as in :func:`mixing_matrix_paired`.
    t : array_like, shape (n_t,)
        Mixing times, s; every one applies to every rate matrix.

    Returns
    -------
    numpy.ndarray, shape (..., n_t, n, n)
    """
    K = np.asarray(K, dtype=float)
    r1 = np.asarray(r1, dtype=float)
    t = np.atleast_1d(np.asarray(t, dtype=float))
    pops = None if populations is None else np.asarray(populations, dtype=float)[..., None, :]
    return mixing_matrix_paired(K[..., None, :, :], r1[..., None, :], t, pops)


def predict_volumes(
    mixing: np.ndarray, start_magnetisation: np.ndarray, scale: float | np.ndarray = 1.0
) -> np.ndarray:
    """Peak volumes ``V[i, j] = scale * A[i, j] * M_j(0)``.

    Parameters
    ----------
    mixing : array_like, shape (..., n, n)
        Mixing matrix (detected i, started j).
    start_magnetisation : array_like, shape (..., n)
        Magnetisation of each site at the start of the mixing time (populations for an
        equilibrium start).  Broadcast against the batch axes of ``mixing``.
    scale : float or array_like
        Overall intensity scale c.
    """
    mixing = np.asarray(mixing, dtype=float)
    m0 = np.asarray(start_magnetisation, dtype=float)
    scale = np.asarray(scale, dtype=float)
    return scale[..., None, None] * mixing * m0[..., None, :]
