"""Synthetic 2D EXSY series in real vendor formats, with known true volumes.

The physics comes from :mod:`exsyfit.kinetics.exchange` (rate matrix, mixing matrix, predicted
volumes); this
module only adds what a spectrometer adds: line shapes, MAS sidebands, a Curie-law intensity,
noise, t1 noise, and the vendor files (:func:`exsyfit.simulate.bruker.write_processed`,
:func:`exsyfit.simulate.bruker.write_raw`, :func:`exsyfit.simulate.varian.write_fid`).

Truth conventions
-----------------
* Pair exchange rates follow Arrhenius, ``k_ex(T) = k_ex(T_ref) exp(-Ea/k_B (1/T - 1/T_ref))``,
  plus an optional temperature-independent spin-diffusion rate added to every exchanging pair.
  Directional rates follow detailed balance
  (:func:`exsyfit.kinetics.exchange.exchange_rate_matrix`).
* ``T1(T) = T1(T_ref) exp(T1_Ea/k_B (1/T - 1/T_ref))`` (``T1_Ea_eV = 0``: constant).
* Line widths narrow with temperature: ``fwhm(T) = fwhm(T_ref) exp(-alpha (T - T_ref))``.
* The overall intensity follows Curie's law, ``c(T) = scale * T_ref / T``.
* MAS: t1 is rotor-synchronised (F1 spectral width = MAS rate), so F1 sidebands fold onto the
  centrebands; in F2 a site with satellite-transition sidebands puts the fraction
  ``sidebands[n-1]`` of its signal at each of ``+-n x MAS rate``.
* ``volume`` in the truth table is the whole F2 sideband manifold of the peak (what the model
  predicts, ``c A[i, j] M_j(0)``); ``volume_centreband`` is the part in the centreband.

Command line (regenerates the bundled ``spectra/`` exactly)::

    python -m exsyfit.simulate.series bundled --outdir spectra
    python -m exsyfit.simulate.series series OUTDIR --kind argyrodite_li2s \\
        --format bruker-processed \\
        --temperatures 263 303 343 --mixing-times 0.01 0.1 1 --seed 1
"""

from __future__ import annotations

import argparse
import json
import math
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from exsyfit.io.spectrum import Spectrum2D
from exsyfit.kinetics.exchange import exchange_rate_matrix, mixing_matrix, predict_volumes
from exsyfit.processing.lineshapes import SimPeak
from exsyfit.simulate import bruker as sim_bruker
from exsyfit.simulate import varian as sim_varian

__all__ = [
    "K_B_EV",
    "SiteTruth",
    "ExchangeTruth",
    "Truth",
    "example_truth",
    "true_volumes",
    "spectrum_peaks",
    "render_spectrum",
    "simulate_series",
    "simulate_volume_table",
    "write_bundled",
    "BUNDLED",
    "BUNDLED_THREE_SITE",
    "main",
]

K_B_EV = 8.617333262e-5  # Boltzmann constant, eV/K
FORMATS = ("bruker-processed", "bruker-raw", "varian")


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


def spectrum_peaks(truth: Truth, T: float, volumes: np.ndarray) -> list[SimPeak]:
    """Peaks of one spectrum: every (started j, detected i) pair, with F2 sidebands.

    Parameters
    ----------
    truth : Truth
    T : float
        Sample temperature, K (line widths).
    volumes : numpy.ndarray, shape (n, n)
        ``V[i, j]`` of this spectrum (whole manifold).
    """
    w = truth.fwhm(T)
    spacing = truth.mas_rate_hz / truth.sf_mhz
    peaks = []
    for j, sj in enumerate(truth.sites):
        for i, si in enumerate(truth.sites):
            v = float(volumes[i, j])
            common = dict(ppm_f1=sj.ppm, fwhm_f1_ppm=w[j], fwhm_f2_ppm=w[i], eta_f1=sj.eta,
                          eta_f2=si.eta)
            peaks.append(SimPeak(ppm_f2=si.ppm, volume=v * si.centreband_fraction, **common))
            for n, frac in enumerate(si.sidebands, start=1):
                for sign in (1, -1):
                    peaks.append(SimPeak(ppm_f2=si.ppm + sign * n * spacing, volume=v * frac,
                                         **common))
    return peaks


def _axis(n: int, sw_ppm: float, carrier_ppm: float) -> np.ndarray:
    return carrier_ppm + (n // 2 - np.arange(n)) * sw_ppm / n


def render_spectrum(truth: Truth, peaks: Sequence[SimPeak], *, n_f1: int, n_f2: int,
                    sw_ppm_f1: float, sw_ppm_f2: float, carrier_ppm: float,
                    rng: np.random.Generator, T: float | None = None,
                    mixing_time_s: float | None = None) -> Spectrum2D:
    """A processed spectrum: peaks sampled on the grid, plus noise and t1-noise streaks."""
    ppm1 = _axis(n_f1, sw_ppm_f1, carrier_ppm)
    ppm2 = _axis(n_f2, sw_ppm_f2, carrier_ppm)
    clean = np.zeros((n_f1, n_f2))
    for pk in peaks:
        clean += pk.render(ppm1, ppm2)
    data = clean.copy()
    if truth.t1_noise > 0:
        data += truth.t1_noise * np.outer(rng.standard_normal(n_f1), np.abs(clean).max(axis=0))
    if truth.noise_rms > 0:
        data += truth.noise_rms * rng.standard_normal(data.shape)
    return Spectrum2D(data=data, ppm_f1=ppm1, ppm_f2=ppm2, nucleus=truth.nucleus,
                      sf_mhz=truth.sf_mhz, mixing_time_s=mixing_time_s, temperature_K=T,
                      format="bruker-processed", mas_rate_hz=truth.mas_rate_hz)


def _time_noise(truth: Truth, n1_complex: int, n2_complex: int, sw_ppm_f1: float,
                sw_ppm_f2: float) -> float:
    """Time-domain noise per component giving ``truth.noise_rms`` in the spectrum."""
    return truth.noise_rms * sw_ppm_f1 * sw_ppm_f2 / (4.0 * math.sqrt(n1_complex * n2_complex))


@dataclass(frozen=True)
class Acquisition:
    """Sizes and windows of the simulated data (defaults are modest, for small files).

    ``n_f1``/``n_f2``: real points of processed spectra; ``td1``/``td2``: raw complex t1 points
    and complex t2 points; ``sw_ppm_f2``: F2 window (F1 window = MAS rate); ``carrier_ppm``.
    """

    n_f1: int = 128
    n_f2: int = 512
    td1: int = 32
    td2: int = 256
    sw_ppm_f2: float = 80.0
    carrier_ppm: float = 1.8
    ns: int = 16
    rg: float = 64.0
    varian_gain_dB: float = 30.0
    grpdly: float = 67.986
    phase_error_deg: tuple[float, float, float] = (25.0, 0.0, -10.0)  # p0 F2, p1 F2, p0 F1
    extra: dict[str, Any] = field(default_factory=dict)


def simulate_series(
    outdir: str | Path,
    truth: Truth,
    temperatures_K: Sequence[float],
    mixing_times_s: Sequence[float],
    *,
    format: str = "bruker-processed",
    seed: int = 0,
    acquisition: Acquisition | None = None,
    heating_K: float = 0.0,
    first_expno: int = 10,
    varian_arrayed: bool = True,
    overwrite: bool = False,
) -> pd.DataFrame:
    """Write a series of simulated spectra and return its true volumes.

    Parameters
    ----------
    outdir : path-like
        Folder that receives the experiments (created).
    truth : Truth
    temperatures_K : sequence of float
        Sample temperatures, K.
    mixing_times_s : sequence of float
        Mixing times, s (each temperature gets all of them).
    format : {"bruker-processed", "bruker-raw", "varian"}
        Bruker: one expno folder per spectrum, ``first_expno, first_expno + 1, ...``
        (temperature outer, mixing time inner) with TE, D8, NS, RG, MASR set.  Varian: one
        ``exsy_<T>K.fid`` arrayed over ``mix`` per temperature (``varian_arrayed``) or one
        ``exsy_<T>K_<k>.fid`` per spectrum.
    seed : int
        Seed of the local random generator (noise).
    acquisition : Acquisition, optional
        Sizes, gains, phase errors.
    heating_K : float
        Sample temperature minus the set temperature stored in the files (frictional heating),
        K; the truth table holds the sample temperature.
    first_expno : int
    varian_arrayed : bool
    overwrite : bool
        Replace existing experiments.

    Returns
    -------
    pandas.DataFrame
        :func:`true_volumes` with ``experiment`` = path relative to ``outdir``.
    """
    if format not in FORMATS:
        raise ValueError(f"format must be one of {FORMATS}, not {format!r}")
    acq = acquisition or Acquisition()
    outdir = Path(outdir)
    outdir.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(seed)
    names: list[str] = []
    sw1_ppm = truth.mas_rate_hz / truth.sf_mhz
    for t_i, T in enumerate(temperatures_K):
        V = truth.volumes(float(T), mixing_times_s)
        per_mix = [spectrum_peaks(truth, float(T), V[k]) for k in range(len(mixing_times_s))]
        t_set = float(T) - heating_K
        if format == "varian":
            names += _write_varian(outdir, truth, acq, T, t_set, mixing_times_s, per_mix,
                                   rng, varian_arrayed, overwrite)
            continue
        for k, tm in enumerate(mixing_times_s):
            expno = first_expno + t_i * len(mixing_times_s) + k
            folder = outdir / str(expno)
            if format == "bruker-processed":
                spec = render_spectrum(truth, per_mix[k], n_f1=acq.n_f1, n_f2=acq.n_f2,
                                       sw_ppm_f1=sw1_ppm, sw_ppm_f2=acq.sw_ppm_f2,
                                       carrier_ppm=acq.carrier_ppm, rng=rng, T=t_set,
                                       mixing_time_s=float(tm))
                sim_bruker.write_processed(folder, spec, ns=acq.ns, rg=acq.rg, te_K=t_set,
                                          d8_s=float(tm), masr_hz=truth.mas_rate_hz,
                                          nucleus=truth.nucleus, sf_mhz=truth.sf_mhz,
                                          overwrite=overwrite)
            else:
                p0, p1, p0_f1 = acq.phase_error_deg
                sim_bruker.write_raw(
                    folder, per_mix[k], td2=acq.td2, td1=2 * acq.td1, sw_ppm_f2=acq.sw_ppm_f2,
                    sw_ppm_f1=sw1_ppm, o1_ppm=acq.carrier_ppm, sf_mhz=truth.sf_mhz,
                    fnmode="States-TPPI", grpdly=acq.grpdly, p0=p0, p1=p1, p0_f1=p0_f1,
                    ns=acq.ns, rg=acq.rg, te_K=t_set, d8_s=float(tm),
                    masr_hz=truth.mas_rate_hz,
                    noise_rms=_time_noise(truth, acq.td1, acq.td2, sw1_ppm, acq.sw_ppm_f2),
                    rng=rng, nucleus=truth.nucleus, window_f1="qsine", ssb_f1=2.0,
                    overwrite=overwrite)
            names.append(str(expno))
    return true_volumes(truth, temperatures_K, mixing_times_s, experiments=names)


def _write_varian(outdir: Path, truth: Truth, acq: Acquisition, T: float, t_set: float,
                  mixing_times_s: Sequence[float], per_mix: list[list[SimPeak]],
                  rng: np.random.Generator, arrayed: bool, overwrite: bool) -> list[str]:
    sw1_hz = truth.mas_rate_hz
    common = dict(
        np_=2 * acq.td2, ni=acq.td1, sw_hz=acq.sw_ppm_f2 * truth.sf_mhz, sw1_hz=sw1_hz,
        sfrq_mhz=truth.sf_mhz, carrier_ppm=acq.carrier_ppm,
        nucleus=_varian_name(truth.nucleus), temp_C=t_set - 273.15, nt=acq.ns,
        gain=acq.varian_gain_dB, srate_hz=truth.mas_rate_hz,
        phase_error_deg=(acq.phase_error_deg[0], acq.phase_error_deg[1],
                         acq.phase_error_deg[2], 0.0),
        noise_rms=_time_noise(truth, acq.td1, acq.td2, sw1_hz / truth.sf_mhz, acq.sw_ppm_f2),
        t1_noise=truth.t1_noise, rng=rng, overwrite=overwrite,
    )
    if arrayed:
        name = f"exsy_{T:g}K.fid"
        sim_varian.write_fid(outdir / name, per_mix, mix_s=[float(t) for t in mixing_times_s],
                         **common)
        return [f"{name}[{k + 1}]" for k in range(len(mixing_times_s))]
    out = []
    for k, tm in enumerate(mixing_times_s):
        name = f"exsy_{T:g}K_{k + 1}.fid"
        sim_varian.write_fid(outdir / name, per_mix[k], mix_s=float(tm), **common)
        out.append(name)
    return out


def _varian_name(nucleus: str) -> str:
    import re

    m = re.fullmatch(r"(\d+)([A-Za-z]+)", nucleus)
    return f"{m.group(2)}{m.group(1)}" if m else nucleus


# --------------------------------------------------------------------------------------------
# bundled spectra
# --------------------------------------------------------------------------------------------

BUNDLED: dict[str, dict[str, Any]] = {
    "argyrodite_li2s_bruker_processed": dict(
        format="bruker-processed", seed=20240601,
        temperatures_K=[263.0, 288.0, 313.0, 338.0],
        mixing_times_s=[0.005, 0.02, 0.08, 0.3, 1.0],
        acquisition=Acquisition(n_f1=128, n_f2=512),
    ),
    "argyrodite_li2s_bruker_raw": dict(
        format="bruker-raw", seed=20240602,
        temperatures_K=[273.0, 303.0, 333.0],
        mixing_times_s=[0.01, 0.05, 0.2, 0.8],
        acquisition=Acquisition(td1=32, td2=256),
    ),
    "argyrodite_li2s_varian": dict(
        format="varian", seed=20240603,
        temperatures_K=[283.0, 323.0],
        mixing_times_s=[0.01, 0.1, 0.5],
        acquisition=Acquisition(td1=64, td2=256),
    ),
}


#: Three-site series (``example_truth("three_site")``): small, 3 temperatures x 5 mixing
#: times; the F2 window (80 ppm about 0.4 ppm) holds the LLZO sidebands at +-32 ppm.
BUNDLED_THREE_SITE: dict[str, dict[str, Any]] = {
    "three_site_bruker_processed": dict(
        format="bruker-processed", seed=20240611,
        temperatures_K=[273.0, 303.0, 333.0],
        mixing_times_s=[0.01, 0.05, 0.15, 0.4, 1.0],
        acquisition=Acquisition(n_f1=128, n_f2=512, carrier_ppm=0.4),
    ),
}


def _truth_json(truth: Truth) -> dict[str, Any]:
    d = asdict(truth)
    d["populations_normalised"] = truth.populations.tolist()
    return d


def write_bundled(outdir: str | Path = "spectra", *, overwrite: bool = True) -> dict[str, Path]:
    """(Re)generate the bundled simulated series in ``outdir`` (deterministic seeds).

    The argyrodite/Li2S series (:data:`BUNDLED`) and the three-site series
    (:data:`BUNDLED_THREE_SITE`).  Each series folder gets its experiments,
    ``truth_volumes.csv`` and ``truth.json``.
    """
    outdir = Path(outdir)
    written = {}
    for kind, series in (("argyrodite_li2s", BUNDLED), ("three_site", BUNDLED_THREE_SITE)):
        truth = example_truth(kind)
        for name, spec in series.items():
            written[name] = _write_bundled_series(outdir / name, truth, spec, overwrite)
    return written


def _write_bundled_series(folder: Path, truth: Truth, spec: dict[str, Any],
                          overwrite: bool) -> Path:
    """One bundled series: its experiments, ``truth_volumes.csv`` and ``truth.json``."""
    table = simulate_series(folder, truth, spec["temperatures_K"], spec["mixing_times_s"],
                            format=spec["format"], seed=spec["seed"],
                            acquisition=spec["acquisition"], overwrite=overwrite)
    table.to_csv(folder / "truth_volumes.csv", index=False, float_format="%.10g")
    info = {"truth": _truth_json(truth), "format": spec["format"], "seed": spec["seed"],
            "temperatures_K": spec["temperatures_K"],
            "mixing_times_s": spec["mixing_times_s"],
            "acquisition": {k: v for k, v in asdict(spec["acquisition"]).items()
                            if k != "extra"}}
    (folder / "truth.json").write_text(json.dumps(info, indent=2) + "\n")
    return folder


def main(argv: Sequence[str] | None = None) -> int:
    """``python -m exsyfit.simulate.series``: regenerate the bundled spectra or write a series."""
    parser = argparse.ArgumentParser(prog="python -m exsyfit.simulate.series",
                                     description="Write simulated 2D EXSY series.")
    sub = parser.add_subparsers(dest="command", required=True)
    b = sub.add_parser("bundled", help="regenerate the bundled spectra/ series")
    b.add_argument("--outdir", default="spectra")
    s = sub.add_parser("series", help="write one simulated series")
    s.add_argument("outdir")
    s.add_argument("--kind", default="argyrodite_li2s", choices=["argyrodite_li2s",
                                                                  "three_site"])
    s.add_argument("--format", default="bruker-processed", choices=list(FORMATS))
    s.add_argument("--temperatures", type=float, nargs="+", default=[263, 303, 343])
    s.add_argument("--mixing-times", type=float, nargs="+", default=[0.01, 0.05, 0.2, 1.0])
    s.add_argument("--seed", type=int, default=1)
    s.add_argument("--noise", type=float, default=None, help="noise_rms of spectrum points")
    s.add_argument("--overwrite", action="store_true")
    args = parser.parse_args(argv)
    if args.command == "bundled":
        write_bundled(args.outdir)
        return 0
    truth = example_truth(args.kind)
    if args.noise is not None:
        truth = replace(truth, noise_rms=args.noise)
    table = simulate_series(args.outdir, truth, args.temperatures, args.mixing_times,
                            format=args.format, seed=args.seed, overwrite=args.overwrite)
    table.to_csv(Path(args.outdir) / "truth_volumes.csv", index=False, float_format="%.10g")
    return 0


if __name__ == "__main__":  # pragma: no cover
    raise SystemExit(main())
