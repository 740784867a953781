"""The known truth of a simulated series: sites, exchange pairs and their temperature laws.

Truth conventions
-----------------
* Pair exchange rates follow Arrhenius, ``k_ex(T) = k_ex(T_ref) exp(-Ea/k_B (1/T - 1/T_ref))``,
  plus an optional temperature-independent spin-diffusion rate added to every exchanging pair.
  Directional rates follow detailed balance
  (:func:`exsyfit.kinetics.exchange.exchange_rate_matrix`).
* ``T1(T) = T1(T_ref) exp(T1_Ea/k_B (1/T - 1/T_ref))`` (``T1_Ea_eV = 0``: constant).
* Line widths narrow with temperature: ``fwhm(T) = fwhm(T_ref) exp(-alpha (T - T_ref))``.
* The overall intensity follows Curie's law, ``c(T) = scale * T_ref / T``.
* ``volume`` in the truth table is the whole F2 sideband manifold of the peak (what the model
  predicts, ``c A[i, j] M_j(0)``); ``volume_centreband`` is the part in the centreband.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import asdict, dataclass, replace
from typing import Any

import numpy as np
import pandas as pd

from exsyfit.kinetics.exchange import exchange_rate_matrix, mixing_matrix, predict_volumes

__all__ = [
    "K_B_EV",
    "SiteTruth",
    "ExchangeTruth",
    "Truth",
    "example_truth",
    "true_volumes",
    "simulate_volume_table",
    "truth_json",
]

K_B_EV = 8.617333262e-5  # Boltzmann constant, eV/K


@dataclass(frozen=True)
class SiteTruth:
    """One Li site.

    Parameters
    ----------
    name : str
        Site name (as in the config, e.g. ``"A"`` or ``"Li2S"``).
    ppm : float
        Isotropic chemical shift, ppm.
    population : float
        Equilibrium population (normalised over the sites).
    T1_s : float
        Longitudinal relaxation time at the reference temperature, s.
    T1_Ea_eV : float
        Activation energy of T1 (see module doc); 0 = temperature independent.
    fwhm_ppm : float
        Line width (FWHM) at the reference temperature, ppm, both dimensions.
    narrowing_per_K : float
        Relative line narrowing per kelvin (alpha).
    eta : float
        Lorentzian fraction of the pseudo-Voigt line.
    sidebands : tuple of float
        Fraction of the site's signal in each F2 spinning sideband of order +-1, +-2, ...
        (per side); the centreband keeps ``1 - 2 sum(sidebands)``.
    start_magnetisation : float or None
        Magnetisation at the start of the mixing time (cross-polarisation); None = population.
    """

    name: str
    ppm: float
    population: float
    T1_s: float
    T1_Ea_eV: float = 0.0
    fwhm_ppm: float = 0.6
    narrowing_per_K: float = 0.0
    eta: float = 0.5
    sidebands: tuple[float, ...] = ()
    start_magnetisation: float | None = None

    @property
    def centreband_fraction(self) -> float:
        """Fraction of the signal in the F2 centreband."""
        return 1.0 - 2.0 * float(sum(self.sidebands))


@dataclass(frozen=True)
class ExchangeTruth:
    """Exchange between two sites: ``k_ex = k_AB + k_BA`` at the reference temperature, Ea."""

    site_a: str
    site_b: str
    k_ex_ref_per_s: float
    Ea_eV: float


@dataclass(frozen=True)
class Truth:
    """Everything a simulated series is made from.

    Parameters
    ----------
    sites : tuple of SiteTruth
    exchanges : tuple of ExchangeTruth
        Exchanging pairs (pairs not listed do not exchange).
    reference_temperature_K : float
        T_ref of the Arrhenius, T1, line width and Curie laws.
    spin_diffusion_per_s : float
        Temperature-independent rate added to ``k_ex`` of every exchanging pair, s^-1.
    nucleus : str
    sf_mhz : float
        Spectrometer frequency of the nucleus, MHz.
    mas_rate_hz : float
        MAS rate, Hz (also the F1 spectral width: rotor-synchronised t1).
    scale : float
        Total equilibrium magnetisation at T_ref on the normalised scale (intensity x ppm^2).
    curie : bool
        Scale intensities by T_ref / T.
    noise_rms : float
        Standard deviation of the noise of a spectrum point (no window), normalised scale.
    t1_noise : float
        Relative amplitude of t1-noise streaks through intense peaks.
    """

    sites: tuple[SiteTruth, ...]
    exchanges: tuple[ExchangeTruth, ...]
    reference_temperature_K: float = 303.0
    spin_diffusion_per_s: float = 0.0
    nucleus: str = "7Li"
    sf_mhz: float = 155.5
    mas_rate_hz: float = 5000.0
    scale: float = 1.0
    curie: bool = True
    noise_rms: float = 0.0
    t1_noise: float = 0.0

    # ---- derived quantities -------------------------------------------------------------
    @property
    def names(self) -> list[str]:
        """Site names in order."""
        return [s.name for s in self.sites]

    @property
    def pairs(self) -> list[tuple[int, int]]:
        """Site indices of each exchanging pair."""
        idx = {n: i for i, n in enumerate(self.names)}
        return [(idx[e.site_a], idx[e.site_b]) for e in self.exchanges]

    @property
    def populations(self) -> np.ndarray:
        """Normalised populations."""
        p = np.array([s.population for s in self.sites], dtype=float)
        return p / p.sum()

    def _boltz(self, T: np.ndarray, ea: float) -> np.ndarray:
        return np.exp(-ea / K_B_EV * (1.0 / T - 1.0 / self.reference_temperature_K))

    def k_ex(self, T: float | np.ndarray) -> np.ndarray:
        """Pair exchange rates at T, shape (..., n_pairs), s^-1 (spin diffusion included)."""
        T = np.asarray(T, dtype=float)[..., None]
        k = np.array([e.k_ex_ref_per_s for e in self.exchanges])
        ea = np.array([e.Ea_eV for e in self.exchanges])
        return k * self._boltz(T, ea) + self.spin_diffusion_per_s

    def T1(self, T: float | np.ndarray) -> np.ndarray:
        """T1 of every site at T, shape (..., n_sites), s."""
        T = np.asarray(T, dtype=float)[..., None]
        t1 = np.array([s.T1_s for s in self.sites])
        ea = np.array([s.T1_Ea_eV for s in self.sites])
        return t1 / self._boltz(T, ea)

    def fwhm(self, T: float) -> np.ndarray:
        """Line width of every site at T, ppm."""
        return np.array([s.fwhm_ppm * math.exp(-s.narrowing_per_K
                                               * (T - self.reference_temperature_K))
                         for s in self.sites])

    def intensity(self, T: float | np.ndarray) -> np.ndarray:
        """Overall intensity scale c(T)."""
        T = np.asarray(T, dtype=float)
        return self.scale * (self.reference_temperature_K / T if self.curie else np.ones_like(T))

    @property
    def start_magnetisation(self) -> np.ndarray:
        """M_j(0) per site (populations unless given)."""
        p = self.populations
        return np.array([s.start_magnetisation if s.start_magnetisation is not None else p[i]
                         for i, s in enumerate(self.sites)], dtype=float)

    def volumes(self, T: float, mixing_times_s: Sequence[float]) -> np.ndarray:
        """Model volumes V[t, i, j] (detected i, started j) at one temperature."""
        K = exchange_rate_matrix(self.k_ex(T), self.populations, self.pairs)
        A = mixing_matrix(K, 1.0 / self.T1(T), np.asarray(mixing_times_s, float),
                          self.populations)
        return predict_volumes(A, self.start_magnetisation, float(self.intensity(T)))


def example_truth(kind: str = "argyrodite_li2s", **changes: Any) -> Truth:
    """Realistic example systems.

    Parameters
    ----------
    kind : {"argyrodite_li2s", "three_site"}
        ``"argyrodite_li2s"``: 7Li in a Li6PS5Cl argyrodite (1.3 ppm, p = 0.88, T1 0.5 s,
        satellite sidebands at 5 kHz MAS) mixed with Li2S (2.3 ppm, T1 3 s, no sidebands);
        Ea = 0.30 eV, k_ex = 5 s^-1 at 303 K (about 1-19 s^-1 over 263-343 K), lines of
        0.55-0.65 ppm that narrow slightly on heating.
        ``"three_site"``: PEO:LiTFSI (-0.8 ppm), LLZO (1.6 ppm) and LiOH/Li2CO3-like surface
        (0.6 ppm); PEO<->LLZO (0.35 eV) and LLZO<->surface (0.25 eV) exchange, PEO and the
        surface do not.
    **changes
        Fields of :class:`Truth` to replace (``noise_rms=0.002``, ...).
    """
    if kind == "argyrodite_li2s":
        truth = Truth(
            sites=(
                SiteTruth("argyrodite", 1.3, 0.88, T1_s=0.5, fwhm_ppm=0.65,
                          narrowing_per_K=0.002, eta=0.4, sidebands=(0.05,)),
                SiteTruth("Li2S", 2.3, 0.12, T1_s=3.0, fwhm_ppm=0.55, eta=0.3),
            ),
            exchanges=(ExchangeTruth("argyrodite", "Li2S", 5.0, 0.30),),
            reference_temperature_K=303.0, nucleus="7Li", sf_mhz=155.5,
            mas_rate_hz=5000.0, scale=1.0, noise_rms=0.001, t1_noise=0.002,
        )
    elif kind == "three_site":
        truth = Truth(
            sites=(
                SiteTruth("PEO", -0.8, 0.5, T1_s=1.5, fwhm_ppm=0.4, eta=0.6),
                SiteTruth("LLZO", 1.6, 0.4, T1_s=0.8, fwhm_ppm=0.7, eta=0.4, sidebands=(0.04,)),
                SiteTruth("LiOH", 0.6, 0.1, T1_s=4.0, fwhm_ppm=0.5, eta=0.3),
            ),
            exchanges=(ExchangeTruth("PEO", "LLZO", 2.0, 0.35),
                       ExchangeTruth("LLZO", "LiOH", 4.0, 0.25)),
            reference_temperature_K=303.0, nucleus="7Li", sf_mhz=155.5,
            mas_rate_hz=5000.0, scale=1.0, noise_rms=0.001, t1_noise=0.0,
        )
    else:
        raise ValueError(f"unknown example kind {kind!r}; expected 'argyrodite_li2s' or "
                         "'three_site'")
    return replace(truth, **changes) if changes else truth


def _label(T: float, tm: float) -> str:
    return f"T{T:g}K_tm{tm:g}s"


def true_volumes(truth: Truth, temperatures_K: Sequence[float], mixing_times_s: Sequence[float],
                 *, experiments: Sequence[str] | None = None) -> pd.DataFrame:
    """The noise-free volume table (volumes.csv columns) of a series.

    Parameters
    ----------
    truth : Truth
    temperatures_K, mixing_times_s : sequence of float
        Every combination is one spectrum (temperature outer, mixing time inner).
    experiments : sequence of str, optional
        Experiment names in that order; default ``"T<T>K_tm<tm>s"``.

    Returns
    -------
    pandas.DataFrame
        ``experiment, temperature_K, mixing_time_s, from_site, to_site, volume, sigma``
        (sigma = 0) and ``volume_centreband``.
    """
    rows = []
    names = truth.names
    k = 0
    for T in temperatures_K:
        V = truth.volumes(float(T), mixing_times_s)
        for t_i, tm in enumerate(mixing_times_s):
            exp = experiments[k] if experiments is not None else _label(T, tm)
            k += 1
            for j, src in enumerate(names):
                for i, dst in enumerate(names):
                    v = float(V[t_i, i, j])
                    rows.append({
                        "experiment": exp, "temperature_K": float(T),
                        "mixing_time_s": float(tm), "from_site": src, "to_site": dst,
                        "volume": v, "sigma": 0.0,
                        "volume_centreband": v * truth.sites[i].centreband_fraction,
                    })
    return pd.DataFrame(rows)


def simulate_volume_table(truth: Truth, temperatures_K: Sequence[float],
                          mixing_times_s: Sequence[float], sigma: float, seed: int = 0
                          ) -> pd.DataFrame:
    """Noisy volume table (Gaussian noise of standard deviation ``sigma`` on every volume).

    Returns the :func:`true_volumes` table with ``volume`` replaced by a noisy value,
    ``sigma`` set and the noise-free value kept as ``true_volume``.
    """
    rng = np.random.default_rng(seed)
    table = true_volumes(truth, temperatures_K, mixing_times_s)
    table["true_volume"] = table["volume"]
    table["volume"] = table["volume"] + sigma * rng.standard_normal(len(table))
    table["sigma"] = float(sigma)
    return table.drop(columns=["volume_centreband"])


def truth_json(truth: Truth) -> dict[str, Any]:
    """The truth as plain JSON-ready values (with the normalised populations)."""
    d = asdict(truth)
    d["populations_normalised"] = truth.populations.tolist()
    return d
