"""Temperature laws for exchange rates: Arrhenius and Eyring, and unit conversions.

Arrhenius:  k = A exp(-Ea / (k_B T)), Ea in eV (solid-state ionics convention).
Eyring:     k = (k_B T / h) exp(dS/R) exp(-dH/(R T)), dH in kJ/mol, dS in J/(mol K).

Both laws are sampled as (slope, ln k at a reference temperature T_ref inside the data), which
keeps the two parameters nearly uncorrelated; ln A and dS follow from them.
"""

from __future__ import annotations

import numpy as np

K_B_EV_PER_K = 8.617333262e-5
"""Boltzmann constant, eV/K."""
K_B_J_PER_K = 1.380649e-23
"""Boltzmann constant, J/K."""
H_PLANCK_J_S = 6.62607015e-34
"""Planck constant, J s."""
R_J_PER_MOL_K = 8.314462618
"""Gas constant, J/(mol K)."""
KJ_PER_MOL_PER_EV = 96.48533212
"""1 eV per particle in kJ/mol."""


def ev_to_kj_per_mol(energy_eV: np.ndarray | float) -> np.ndarray:
    """Convert an energy per particle in eV to kJ/mol."""
    return np.asarray(energy_eV, dtype=float) * KJ_PER_MOL_PER_EV


def reference_temperature(temperatures_K: np.ndarray) -> float:
    """Centre of the data in 1/T: ``1 / mean(1/T)``, K."""
    return float(1.0 / np.mean(1.0 / np.asarray(temperatures_K, dtype=float)))


def arrhenius_ln_k(
    temperature_K: np.ndarray, Ea_eV: np.ndarray, ln_k_ref: np.ndarray, T_ref_K: float
) -> np.ndarray:
    """ln k(T) for an Arrhenius law given ln k at ``T_ref_K`` (rates in s^-1)."""
    T = np.asarray(temperature_K, dtype=float)
    return ln_k_ref - Ea_eV / K_B_EV_PER_K * (1.0 / T - 1.0 / T_ref_K)


def arrhenius_ln_prefactor(Ea_eV: np.ndarray, ln_k_ref: np.ndarray, T_ref_K: float) -> np.ndarray:
    """ln A (A in s^-1) from Ea (eV) and ln k at ``T_ref_K``."""
    return ln_k_ref + Ea_eV / (K_B_EV_PER_K * T_ref_K)


def eyring_ln_k(
    temperature_K: np.ndarray, dH_kJ_per_mol: np.ndarray, ln_k_ref: np.ndarray, T_ref_K: float
) -> np.ndarray:
    """ln k(T) for an Eyring law given ln k at ``T_ref_K`` (rates in s^-1)."""
    T = np.asarray(temperature_K, dtype=float)
    return (ln_k_ref + np.log(T / T_ref_K)
            - dH_kJ_per_mol * 1e3 / R_J_PER_MOL_K * (1.0 / T - 1.0 / T_ref_K))


def eyring_entropy(dH_kJ_per_mol: np.ndarray, ln_k_ref: np.ndarray, T_ref_K: float) -> np.ndarray:
    """Activation entropy dS (J/(mol K)) from dH (kJ/mol) and ln k at ``T_ref_K``."""
    ln_pre = np.log(K_B_J_PER_K * T_ref_K / H_PLANCK_J_S)
    return R_J_PER_MOL_K * (ln_k_ref - ln_pre) + dH_kJ_per_mol * 1e3 / T_ref_K


def fit_arrhenius(temperature_K: np.ndarray, k_per_s: np.ndarray) -> tuple[float, float]:
    """Unweighted least-squares Arrhenius line through (T, k) (see :func:`arrhenius_line`).

    Returns
    -------
    Ea_eV, ln_A : float
        Activation energy (eV) and ln of the prefactor (s^-1).
    """
    ea, ln_a = arrhenius_line(temperature_K, np.log(np.asarray(k_per_s, dtype=float)))
    return float(ea), float(ln_a)


def fit_eyring(temperature_K: np.ndarray, k_per_s: np.ndarray) -> tuple[float, float]:
    """Unweighted least-squares Eyring line, ln(k/T) against 1/T (see :func:`eyring_line`).

    Returns
    -------
    dH_kJ_per_mol, dS_J_per_mol_K : float
    """
    dh, ds = eyring_line(temperature_K, np.log(np.asarray(k_per_s, dtype=float)))
    return float(dh), float(ds)


LAWS = ("free", "arrhenius", "eyring")
"""Temperature laws of an exchange rate."""


def ln_k(
    law: str,
    temperature_K: np.ndarray | float,
    *,
    Ea_eV: np.ndarray | float | None = None,
    ln_A_per_s: np.ndarray | float | None = None,
    dH_kJ_per_mol: np.ndarray | float | None = None,
    dS_J_per_mol_K: np.ndarray | float | None = None,
    ln_k_ref: np.ndarray | float | None = None,
    T_ref_K: float | None = None,
    ln_k_free: np.ndarray | None = None,
) -> np.ndarray:
    """ln k(T) (k in s^-1) of a temperature law, broadcast over draws and temperatures.

    Parameters
    ----------
    law : {"free", "arrhenius", "eyring"}
        ``free``: one rate per temperature, given as ``ln_k_free`` (returned as given, after
        broadcasting against ``temperature_K``); ``arrhenius``: ``k = A exp(-Ea/(k_B T))``;
        ``eyring``: ``k = (k_B T/h) exp(dS/R) exp(-dH/(R T))``.
    temperature_K : array_like
        Temperatures, K; broadcast against the law parameters (e.g. ``T`` shape (n_T,) with
        parameters of shape (n_draws, 1) gives (n_draws, n_T)).
    Ea_eV, ln_A_per_s : array_like, optional
        Arrhenius activation energy (eV) and ln of the prefactor (A in s^-1).
    dH_kJ_per_mol, dS_J_per_mol_K : array_like, optional
        Eyring activation enthalpy (kJ/mol) and entropy (J/(mol K)).
    ln_k_ref, T_ref_K : array_like and float, optional
        The sampled form: ln k at the reference temperature ``T_ref_K`` (K), given instead of
        ``ln_A_per_s`` or ``dS_J_per_mol_K``.
    ln_k_free : array_like, optional
        ln k at each temperature for ``law = "free"``.

    Returns
    -------
    numpy.ndarray
        ln k, s^-1.

    Raises
    ------
    ValueError
        For an unknown law or missing parameters.
    """
    T = np.asarray(temperature_K, dtype=float)
    if law == "free":
        if ln_k_free is None:
            raise ValueError("law 'free' needs ln_k_free")
        out, _ = np.broadcast_arrays(np.asarray(ln_k_free, dtype=float), T)
        return np.array(out)
    if law == "arrhenius":
        if Ea_eV is None:
            raise ValueError("law 'arrhenius' needs Ea_eV")
        if ln_k_ref is not None and T_ref_K is not None:
            return arrhenius_ln_k(T, np.asarray(Ea_eV, float), np.asarray(ln_k_ref, float),
                                  T_ref_K)
        if ln_A_per_s is None:
            raise ValueError("law 'arrhenius' needs ln_A_per_s or ln_k_ref with T_ref_K")
        return np.asarray(ln_A_per_s, float) - np.asarray(Ea_eV, float) / (K_B_EV_PER_K * T)
    if law == "eyring":
        if dH_kJ_per_mol is None:
            raise ValueError("law 'eyring' needs dH_kJ_per_mol")
        dh = np.asarray(dH_kJ_per_mol, float)
        if ln_k_ref is not None and T_ref_K is not None:
            return eyring_ln_k(T, dh, np.asarray(ln_k_ref, float), T_ref_K)
        if dS_J_per_mol_K is None:
            raise ValueError("law 'eyring' needs dS_J_per_mol_K or ln_k_ref with T_ref_K")
        return (np.log(K_B_J_PER_K * T / H_PLANCK_J_S)
                + np.asarray(dS_J_per_mol_K, float) / R_J_PER_MOL_K
                - dh * 1e3 / (R_J_PER_MOL_K * T))
    raise ValueError(f"unknown temperature law {law!r}; expected one of {', '.join(LAWS)}")


def _line(x: np.ndarray, y: np.ndarray, weights: np.ndarray | None,
          ) -> tuple[np.ndarray, np.ndarray]:
    """Least-squares ``y = intercept + slope x`` along the last axis (broadcast)."""
    x, y = np.broadcast_arrays(np.asarray(x, float), np.asarray(y, float))
    w = np.ones_like(x) if weights is None else np.broadcast_to(np.asarray(weights, float),
                                                                 x.shape)
    sw = w.sum(axis=-1)
    xm = (w * x).sum(axis=-1) / sw
    ym = (w * y).sum(axis=-1) / sw
    xc = x - xm[..., None]
    slope = (w * xc * (y - ym[..., None])).sum(axis=-1) / (w * xc**2).sum(axis=-1)
    return slope, ym - slope * xm


def arrhenius_line(temperature_K: np.ndarray, ln_k_values: np.ndarray,
                   weights: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Straight line ln k = ln A - Ea/(k_B T) through points, vectorised over draws.

    Parameters
    ----------
    temperature_K : array_like, shape (..., n_T)
        Temperatures, K (one set, or one per draw).
    ln_k_values : array_like, shape (..., n_T)
        ln k (k in s^-1, or ln of any quantity with an Arrhenius law such as D).
    weights : array_like, optional
        Weights of the points (1/variance of ln k); unweighted when omitted.

    Returns
    -------
    Ea_eV, ln_A : numpy.ndarray
        Activation energy (eV) and intercept at 1/T = 0, shape (...).
    """
    slope, intercept = _line(1.0 / np.asarray(temperature_K, float), ln_k_values, weights)
    return -slope * K_B_EV_PER_K, intercept


def eyring_line(temperature_K: np.ndarray, ln_k_values: np.ndarray,
                weights: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Straight line ln(k/T) against 1/T (Eyring plot), vectorised over draws.

    Parameters
    ----------
    temperature_K : array_like, shape (..., n_T)
        Temperatures, K.
    ln_k_values : array_like, shape (..., n_T)
        ln k, k in s^-1.
    weights : array_like, optional
        Weights of the points (1/variance of ln k); unweighted when omitted.

    Returns
    -------
    dH_kJ_per_mol, dS_J_per_mol_K : numpy.ndarray
        Activation enthalpy (kJ/mol) and entropy (J/(mol K)), shape (...).
    """
    T = np.asarray(temperature_K, float)
    slope, intercept = _line(1.0 / T, np.asarray(ln_k_values, float) - np.log(T), weights)
    dH = -slope * R_J_PER_MOL_K / 1e3
    dS = R_J_PER_MOL_K * (intercept - np.log(K_B_J_PER_K / H_PLANCK_J_S))
    return dH, dS
