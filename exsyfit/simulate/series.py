"""Synthetic 2D EXSY series in real vendor formats, with known true volumes.

The physics comes from :mod:`exsyfit.simulate.truth` and :mod:`exsyfit.kinetics.exchange`; this
module only adds what a spectrometer adds: line shapes, MAS sidebands, noise, t1 noise, and the
vendor files (:func:`exsyfit.simulate.bruker.write_processed`,
:func:`exsyfit.simulate.bruker.write_raw`, :func:`exsyfit.simulate.varian.write_fid`).

* MAS: t1 is rotor-synchronised (F1 spectral width = MAS rate), so F1 sidebands fold onto the
  centrebands; in F2 a site with satellite-transition sidebands puts the fraction
  ``sidebands[n-1]`` of its signal at each of ``+-n x MAS rate``.
* :data:`DEFAULT_TEMPERATURES_K` and :data:`DEFAULT_MIXING_TIMES_S` are the series written
  when the caller gives none (``exsyfit simulate``).

Command line (regenerates the bundled ``spectra/`` exactly; see :mod:`exsyfit.simulate.bundled`)::

    python -m exsyfit.simulate.series bundled --outdir spectra
    python -m exsyfit.simulate.series series OUTDIR --kind argyrodite_li2s \\
        --format bruker-processed \\
        --temperatures 263 303 343 --mixing-times 0.01 0.1 1 --seed 1
"""

from __future__ import annotations

import math
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from exsyfit.io.spectrum import Spectrum2D
from exsyfit.processing.lineshapes import SimPeak
from exsyfit.simulate import bruker as sim_bruker
from exsyfit.simulate import varian as sim_varian
from exsyfit.simulate.truth import (
    K_B_EV,
    ExchangeTruth,
    SiteTruth,
    Truth,
    example_truth,
    simulate_volume_table,
    true_volumes,
)

__all__ = [
    "K_B_EV",
    "FORMATS",
    "DEFAULT_TEMPERATURES_K",
    "DEFAULT_MIXING_TIMES_S",
    "SiteTruth",
    "ExchangeTruth",
    "Truth",
    "Acquisition",
    "example_truth",
    "true_volumes",
    "spectrum_peaks",
    "render_spectrum",
    "simulate_series",
    "simulate_volume_table",
    "recycle_delay_s",
]

FORMATS = ("bruker-processed", "bruker-raw", "varian")
#: Temperatures (K) of a series when none are given: 263-343 K in 40 K steps.
DEFAULT_TEMPERATURES_K: tuple[float, ...] = (263.0, 303.0, 343.0)
#: Mixing times (s) of a series when none are given: 10 ms to 1 s.
DEFAULT_MIXING_TIMES_S: tuple[float, ...] = (0.01, 0.05, 0.2, 1.0)


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
                                          d1_s=recycle_delay_s(truth, float(T)),
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
                    d1_s=recycle_delay_s(truth, float(T)), overwrite=overwrite)
            names.append(str(expno))
    return true_volumes(truth, temperatures_K, mixing_times_s, experiments=names)


def recycle_delay_s(truth: Truth, T: float) -> float:
    """Recycle delay recorded in the simulated files: 5 x the longest T1 at T, s (0.1 s steps).

    Full relaxation between scans, as an EXSY series needs for its initial magnetisation.
    """
    return round(5.0 * float(np.max(truth.T1(T))), 1)


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
        t1_noise=truth.t1_noise, rng=rng, d1_s=recycle_delay_s(truth, float(T)),
        overwrite=overwrite,
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
    m = re.fullmatch(r"(\d+)([A-Za-z]+)", nucleus)
    return f"{m.group(2)}{m.group(1)}" if m else nucleus


if __name__ == "__main__":  # pragma: no cover
    from exsyfit.simulate.bundled import main

    raise SystemExit(main())
