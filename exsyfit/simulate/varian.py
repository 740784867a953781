"""Simulated Varian/Agilent (VnmrJ) 2D exchange experiments: ``<name>.fid/{fid, procpar}``.

:func:`write_fid` writes what :func:`exsyfit.io.varian.read_experiment` reads back to the given
peak volumes (the Varian sense of rotation, hypercomplex t1 with ``phase = 1, 2``, the block
order of an arrayed experiment).
"""

from __future__ import annotations

import os
import warnings
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import nmrglue as ng
import numpy as np

from exsyfit.io.varian import _BLOCK_HEADER_BYTES
from exsyfit.processing.lineshapes import SimPeak
from exsyfit.simulate.bruker import DEFAULT_D1_S, SIMULATED_PROBE
from exsyfit.simulate.fid import decay

__all__ = ["write_fid"]


def _time_signal(peaks: Sequence[SimPeak], *, n2: int, ni: int, sw2: float, sw1: float,
                 sfrq: float, f1_mhz: float, carrier2_ppm: float, carrier1_ppm: float,
                 amp_per_volume: float, phase_error_deg: Sequence[float]) -> np.ndarray:
    """Noise-free hypercomplex FID (ni, 2, n2) whose spectrum holds ``peaks``.

    The phase error is a true first-order error: the signal is sampled late by
    ``lp/(360 sw)`` (and ``lp1/(360 sw1)`` in t1) and rotated by ``rp + lp/2``, so the spectrum
    carries ``rp + lp*x`` (x = fractional NMR-order index) everywhere, and the reader's
    correction with the negated values restores pure absorption.
    """
    rp, lp, rp1, lp1 = (float(v) for v in phase_error_deg)
    t2 = np.arange(n2) / sw2 + lp / (360.0 * sw2)
    t1 = np.arange(ni) / sw1 + lp1 / (360.0 * sw1)
    phi2 = np.deg2rad(rp + 0.5 * lp)
    phi1 = np.deg2rad(rp1 + 0.5 * lp1)
    out = np.zeros((ni, 2, n2), dtype=np.complex128)
    for pk in peaks:
        nu2 = (pk.ppm_f2 - carrier2_ppm) * sfrq
        nu1 = (pk.ppm_f1 - carrier1_ppm) * f1_mhz
        d2 = decay(t2, pk.fwhm_f2_ppm * sfrq, pk.eta_f2) * np.exp(
            -2j * np.pi * nu2 * t2 + 1j * phi2)
        d1 = decay(t1, pk.fwhm_f1_ppm * f1_mhz, pk.eta_f1)
        a = pk.volume * amp_per_volume
        arg = 2 * np.pi * nu1 * t1 - phi1
        out[:, 0, :] += a * np.outer(d1 * np.cos(arg), d2)
        out[:, 1, :] += a * np.outer(-d1 * np.sin(arg), d2)
    return out


def _procpar_entry(name: str, values: Sequence[Any], *, string: bool = False,
                   active: bool = True) -> str:
    basictype = 2 if string else 1
    subtype = 2 if string else 1
    head = f"{name} {subtype} {basictype} 1e+18 -1e+18 0 2 1 0 {int(active)} 64\n"
    if string:
        body = f"{len(values)} " + "\n".join(f'"{v}"' for v in values) + "\n"
    else:
        body = f"{len(values)} " + " ".join(repr(float(v)) for v in values) + " \n"
    return head + body + "0 \n"


def write_fid(
    folder: str | os.PathLike,
    peaks: Sequence[SimPeak] | Sequence[Sequence[SimPeak]],
    *,
    np_: int,
    ni: int,
    sw_hz: float,
    sw1_hz: float,
    sfrq_mhz: float,
    carrier_ppm: float,
    carrier1_ppm: float | None = None,
    nucleus: str = "Li7",
    temp_C: float = 25.0,
    mix_s: float | Sequence[float] = 0.1,
    nt: int = 16,
    gain: float = 30.0,
    srate_hz: float = 0.0,
    phase_error_deg: Sequence[float] = (0.0, 0.0, 0.0, 0.0),
    noise_rms: float = 0.0,
    t1_noise: float = 0.0,
    rng: np.random.Generator | None = None,
    seqfil: str = "exsy",
    d1_s: float = DEFAULT_D1_S,
    probe: str = SIMULATED_PROBE,
    dtype: str = "float32",
    overwrite: bool = False,
) -> Path:
    """Write a simulated VnmrJ 2D exchange experiment (``fid`` + ``procpar``).

    Parameters
    ----------
    folder : path-like
        The ``<name>.fid`` folder to create.
    peaks : sequence of SimPeak, or one such sequence per mixing time
        Peaks on the normalised scale: :func:`read_experiment` with ``normalise=True`` returns
        spectra whose volumes (intensity x ppm^2) equal ``SimPeak.volume``.
    np_ : int
        Number of real points per FID (VnmrJ ``np``; complex points = np/2).
    ni : int
        Number of t1 increments (complex points in F1).
    sw_hz, sw1_hz : float
        Spectral widths in F2 and F1, Hz.
    sfrq_mhz : float
        Observe frequency, MHz (also used in F1: homonuclear exchange).
    carrier_ppm, carrier1_ppm : float
        Chemical shift of the carrier in F2 and F1 (F1 defaults to F2).
    nucleus : str
        VnmrJ nucleus name (``tn``), e.g. ``"Li7"``.
    temp_C : float
        VT set temperature, degrees Celsius.
    mix_s : float or sequence of float
        Mixing time(s), s; a sequence writes an experiment arrayed over ``mix``.
    nt, gain : int, float
        Number of scans and receiver gain (dB); the stored numbers are scaled by
        ``nt * 10**(gain/20)``.
    srate_hz : float
        MAS rate, Hz.
    phase_error_deg : (rp, lp, rp1, lp1)
        Phase error put into the data; the procpar stores the correction that removes it.
    noise_rms : float
        Standard deviation of Gaussian noise added to each real and imaginary time-domain
        point, on the normalised scale (as :func:`exsyfit.simulate.bruker.write_raw`).
    t1_noise : float
        Relative standard deviation of a random amplitude fluctuation per t1 increment
        (gives t1-noise streaks through intense peaks).
    rng : numpy.random.Generator, optional
        Random generator for the noise.
    seqfil, d1_s, probe : str, float, str
        Pulse sequence, recycle delay (s) and probe recorded in procpar.
    dtype : {"float32", "int32"}
        Storage type of the FID.
    overwrite : bool
        Replace an existing folder's files.

    Returns
    -------
    pathlib.Path
        The folder written.
    """
    folder = Path(folder)
    if folder.exists() and not overwrite and any(folder.iterdir()):
        raise FileExistsError(f"{folder} exists and is not empty")
    folder.mkdir(parents=True, exist_ok=True)
    rng = rng if rng is not None else np.random.default_rng(0)
    mixes = [float(m) for m in np.atleast_1d(np.asarray(mix_s, dtype=float))]
    arrayed = np.ndim(mix_s) > 0
    per_mix = _peaks_per_mix(peaks, len(mixes))
    n2 = np_ // 2
    c1 = carrier_ppm if carrier1_ppm is None else carrier1_ppm
    scale = nt * 10.0 ** (gain / 20.0)
    amp = scale  # processing scales volumes to the time-domain amplitude at t1 = t2 = 0
    rp, lp, rp1, lp1 = (float(v) for v in phase_error_deg)
    noise_t = noise_rms * scale
    elements = []
    for pk in per_mix:
        fid = _time_signal(pk, n2=n2, ni=ni, sw2=sw_hz, sw1=sw1_hz, sfrq=sfrq_mhz,
                           f1_mhz=sfrq_mhz, carrier2_ppm=carrier_ppm, carrier1_ppm=c1,
                           amp_per_volume=amp, phase_error_deg=(rp, lp, rp1, lp1))
        if t1_noise > 0:
            fid *= (1.0 + t1_noise * rng.standard_normal(ni))[:, None, None]
        if noise_rms > 0:
            fid += noise_t * (rng.standard_normal(fid.shape) + 1j * rng.standard_normal(fid.shape))
        elements.append(fid)
    cube = np.stack(elements)  # (n_mix, ni, 2, n2)
    # disk order: t1 outer, then mix (slower), phase (fastest): array = 'phase,mix'
    blocks = np.moveaxis(cube, 0, 1).reshape(ni * len(mixes) * 2, n2)
    if dtype == "int32":
        blocks = np.round(blocks.real) + 1j * np.round(blocks.imag)
    dic = ng.varian.create_dic(ng.fileiobase.create_blank_udic(2))
    dic.update({
        "nblocks": blocks.shape[0], "ntraces": 1, "np": 2 * n2,
        "ebytes": 4, "tbytes": 8 * n2, "bbytes": 8 * n2 + _BLOCK_HEADER_BYTES,
        "S_FLOAT": 1 if dtype == "float32" else 0, "S_32": 1 if dtype == "int32" else 0,
    })
    dic = ng.varian.repack_fileheader(dic)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        ng.varian.write_fid(str(folder / "fid"), dic, blocks, overwrite=True)
    mix_entry = mixes if arrayed else mixes[:1]
    array = "phase,mix" if arrayed else "phase"
    left_hz = sw_hz / 2.0 + carrier_ppm * sfrq_mhz       # rfp = 0: rfl = sw - left_ppm*sfrq
    left1_hz = sw1_hz / 2.0 + c1 * sfrq_mhz
    entries = [
        _procpar_entry("tn", [nucleus], string=True),
        _procpar_entry("seqfil", [seqfil], string=True),
        _procpar_entry("array", [array], string=True),
        _procpar_entry("arraydim", [ni * 2 * len(mixes)]),
        _procpar_entry("np", [2 * n2]),
        _procpar_entry("ni", [ni]),
        _procpar_entry("phase", [1, 2]),
        _procpar_entry("sw", [sw_hz]),
        _procpar_entry("sw1", [sw1_hz]),
        _procpar_entry("sfrq", [sfrq_mhz]),
        _procpar_entry("reffrq", [sfrq_mhz - carrier_ppm * sfrq_mhz * 1e-6]),
        _procpar_entry("refsource1", ["sfrq"], string=True),
        _procpar_entry("rfl", [sw_hz - left_hz]),
        _procpar_entry("rfp", [0.0]),
        _procpar_entry("rfl1", [sw1_hz - left1_hz]),
        _procpar_entry("rfp1", [0.0]),
        _procpar_entry("rp", [-rp]),
        _procpar_entry("lp", [-lp]),
        _procpar_entry("rp1", [-rp1]),
        _procpar_entry("lp1", [-lp1]),
        _procpar_entry("temp", [temp_C]),
        _procpar_entry("mix", mix_entry),
        _procpar_entry("nt", [nt]),
        _procpar_entry("gain", [gain]),
        _procpar_entry("srate", [srate_hz]),
        _procpar_entry("d1", [d1_s]),
        _procpar_entry("probe", [probe], string=True),
        _procpar_entry("d2", [0.0]),
        _procpar_entry("fn", [4 * n2]),
        _procpar_entry("fn1", [4 * ni]),
    ]
    (folder / "procpar").write_text("".join(entries), encoding="latin-1")
    (folder / "text").write_text("simulated exsyfit data\n", encoding="latin-1")
    return folder


def _peaks_per_mix(peaks: Any, n_mix: int) -> list[Sequence[SimPeak]]:
    """One list of peaks per mixing time."""
    peaks = list(peaks)
    if peaks and isinstance(peaks[0], SimPeak):
        return [peaks] * n_mix
    if len(peaks) != n_mix:
        raise ValueError(f"{len(peaks)} peak lists for {n_mix} mixing times")
    return [list(p) for p in peaks]
