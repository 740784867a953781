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
    """Unweighted least-squares Arrhenius line through (T, k).

    Returns
    -------
    Ea_eV, ln_A : float
        Activation energy (eV) and ln of the prefactor (s^-1).
    """
    x = 1.0 / np.asarray(temperature_K, dtype=float)
    slope, intercept = np.polyfit(x, np.log(np.asarray(k_per_s, dtype=float)), 1)
    return float(-slope * K_B_EV_PER_K), float(intercept)


def fit_eyring(temperature_K: np.ndarray, k_per_s: np.ndarray) -> tuple[float, float]:
    """Unweighted least-squares Eyring line, ln(k/T) against 1/T.

    Returns
    -------
    dH_kJ_per_mol, dS_J_per_mol_K : float
    """
    T = np.asarray(temperature_K, dtype=float)
    slope, intercept = np.polyfit(1.0 / T, np.log(np.asarray(k_per_s, dtype=float) / T), 1)
    dH = -slope * R_J_PER_MOL_K / 1e3
    dS = R_J_PER_MOL_K * (intercept - np.log(K_B_J_PER_K / H_PLANCK_J_S))
    return float(dH), float(dS)
