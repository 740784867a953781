"""Simulated Bruker experiment folders (acqus, acqu2s, ser, pdata/1/procs, proc2s, 2rr).

:func:`write_processed` and :func:`write_raw` create minimal TopSpin-like experiment folders
that :func:`exsyfit.io.bruker.read_experiment` reads back to the same spectrum / the same peak
volumes.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import nmrglue as ng
import numpy as np

from exsyfit.errors import OutputExistsError
from exsyfit.io.bruker_params import _FNMODE_CODES, _MC2_CODES, _WDW_CODES
from exsyfit.io.spectrum import Spectrum2D
from exsyfit.processing.lineshapes import SimPeak
from exsyfit.simulate.fid import decay, delay

__all__ = ["SIMULATED_PROBE", "DEFAULT_D1_S", "write_processed", "write_raw"]

_FNMODE_TO_CODE = {v: k for k, v in _FNMODE_CODES.items()}
_FNMODE_TO_MC2 = {v: k for k, v in _MC2_CODES.items()}
_WDW_TO_CODE = {v: k for k, v in _WDW_CODES.items()}
#: Probe head recorded in simulated files (a MAS probe: the series are spun).
SIMULATED_PROBE = "4 mm MAS BB/1H (simulated)"
#: Recycle delay D1 recorded when none is given, s.
DEFAULT_D1_S = 1.0


def _prepare_folder(folder: Path, overwrite: bool) -> None:
    if (folder / "acqus").exists() and not overwrite:
        raise OutputExistsError(f"{folder}: already holds an experiment (acqus); pass "
                                "overwrite=True to replace it")
    (folder / "pdata" / "1").mkdir(parents=True, exist_ok=True)


def _write_jcamp(path: Path, params: dict[str, Any], title: str) -> None:
    dic: dict[str, Any] = {
        "_coreheader": [f"##TITLE= Parameter file, {title}", "##JCAMPDX= 5.0",
                        "##DATATYPE= Parameter Values", "##ORIGIN= exsyfit simulation",
                        "##OWNER= exsyfit"],
        "_comments": ["$$ simulated data written by exsyfit"],
    }
    for key, value in params.items():  # plain Python types, so numbers are written as such
        if isinstance(value, list):
            dic[key] = [v.item() if isinstance(v, np.generic) else v for v in value]
        else:
            dic[key] = value.item() if isinstance(value, np.generic) else value
    ng.bruker.write_jcamp(dic, str(path), overwrite=True)


def _acqus_params(*, nucleus: str, sf_mhz: float, o1_ppm: float, sw_hz: float, td: int,
                  ns: int, rg: float, te_K: float, d8_s: float, masr_hz: float,
                  pulse_program: str, d1_s: float, probe: str,
                  extra: dict[str, Any] | None = None) -> dict[str, Any]:
    d = [0.0] * 64
    d[1] = float(d1_s)
    d[8] = float(d8_s)
    params = {
        "NUC1": nucleus, "BF1": float(sf_mhz), "SFO1": float(sf_mhz) * (1 + o1_ppm * 1e-6),
        "O1": float(o1_ppm * sf_mhz), "SW_h": float(sw_hz), "SW": float(sw_hz / sf_mhz),
        "TD": int(td), "NS": int(ns), "RG": float(rg), "TE": float(te_K), "D": d,
        "CNST": [0.0] * 64, "MASR": float(masr_hz), "PULPROG": pulse_program,
        "PROBHD": probe,
        "DTYPA": 0, "BYTORDA": 0, "NC": 0, "AQ_mod": 3, "DIGMOD": 1, "FnMODE": 0,
    }
    params.update(extra or {})
    return params


def _procs_params(*, si: int, sf_mhz: float, offset: float, sw_hz: float,
                  extra: dict[str, Any] | None = None, layout_only: bool = False,
                  ) -> dict[str, Any]:
    layout = {"SI": int(si), "SF": float(sf_mhz), "OFFSET": float(offset),
              "SW_p": float(sw_hz), "XDIM": int(si)}
    if layout_only:
        return layout
    params = {**layout, "NC_proc": 0, "DTYPP": 0, "BYTORDP": 0, "WDW": 0, "LB": 0.0,
              "GB": 0.0, "SSB": 0.0, "PHC0": 0.0, "PHC1": 0.0, "MC2": 0, "FCOR": 0.5,
              "TDeff": 0}
    params.update(extra or {})
    return params


_PARAMETER_FILES = ("acqus", "acqu2s", "procs", "proc2s")


def _checked_parameters(parameters: Mapping[str, Mapping[str, Any]] | None,
                        ) -> dict[str, dict[str, Any]]:
    """User parameters per file for :func:`write_processed`, without ``_`` entries."""
    out: dict[str, dict[str, Any]] = {name: {} for name in _PARAMETER_FILES}
    for name, values in (parameters or {}).items():
        if name not in out:
            raise ValueError(f"parameters: unknown file {name!r}; expected one of "
                             f"{', '.join(_PARAMETER_FILES)}")
        if not isinstance(values, Mapping):
            raise ValueError(f"parameters[{name!r}]: expected a mapping of KEY -> value")
        out[name] = {str(k): v for k, v in values.items() if not str(k).startswith("_")}
    return out


def write_processed(folder: str | Path, spectrum: Spectrum2D, *, ns: int = 16, rg: float = 1.0,
                    te_K: float | None = None, d8_s: float | None = None,
                    masr_hz: float | None = None, nc_proc: int | None = None,
                    nucleus: str | None = None, sf_mhz: float | None = None,
                    pulse_program: str = "noesyph", d1_s: float = DEFAULT_D1_S,
                    probe: str = SIMULATED_PROBE, overwrite: bool = False,
                    parameters: Mapping[str, Mapping[str, Any]] | None = None) -> Path:
    """Write a spectrum as a TopSpin-like processed experiment (acqus, acqu2s, procs, 2rr).

    The 2rr holds ``round(data * ns * rg / 2**NC_proc)`` as little-endian int32, with
    ``NC_proc`` chosen (unless given) so the largest value lies between 2**29 and 2**30, so that
    ``read_experiment(folder)`` returns ``spectrum.data`` to about 1e-9 relative precision and
    the same ppm axes.  The processing it records is the one an untruncated line sampled on
    the grid corresponds to: TD = 2 x SI in both dimensions (SI complex points, no zero
    filling, no window), so that the exact processed line profile the integrator derives from
    procs/proc2s matches the rendered lines (volume errors below 0.2 % instead of up to 30 %
    with TD = SI for 0.6 ppm lines).

    Parameters
    ----------
    folder : str or Path
        Experiment folder to create (``<expno>``).
    spectrum : Spectrum2D
        Data on the normalised scale with linear, decreasing ppm axes.
    ns, rg : int, float
        Scans and receiver gain recorded in acqus (the data are multiplied by ``ns * rg``).
    te_K, d8_s, masr_hz : float, optional
        Temperature (K), mixing time D8 (s) and MAS rate (Hz); default: from the spectrum
        (298 K, 0 s, 0 Hz when absent).
    nc_proc : int, optional
        TopSpin intensity exponent; default chosen from the data.
    nucleus, sf_mhz : optional
        Override the spectrum's nucleus and spectrometer frequency (MHz).
    pulse_program : str
        PULPROG recorded in acqus.
    d1_s, probe : float, str
        Recycle delay D1 (s) and probe head PROBHD recorded in acqus.
    overwrite : bool
        Replace an existing experiment in ``folder``.
    parameters : mapping, optional
        Parameters of the acquisition and of the processing that produced the spectrum,
        ``{"acqus": {...}, "acqu2s": {...}, "procs": {...}, "proc2s": {...}}`` (for example
        the parsed files of the raw experiment: TD, FnMODE, SW_h, GRPDLY, WDW, SSB, LB, GB,
        FCOR, TDeff, phases), written over the generated values.  The keys that describe the
        stored 2rr and its axes (SI, XDIM, NC_proc, DTYPP, BYTORDP, OFFSET, SW_p, SF) and the
        intensity scale (NS, RG) are always computed from the spectrum and the arguments;
        keys starting with ``_`` are ignored.

    Returns
    -------
    Path
        The experiment folder.
    """
    folder = Path(folder)
    extra = _checked_parameters(parameters)
    data = np.asarray(spectrum.data, dtype=float)
    if data.ndim != 2 or data.shape != (len(spectrum.ppm_f1), len(spectrum.ppm_f2)):
        raise ValueError(f"spectrum data shape {data.shape} does not match its axes")
    for ax in (spectrum.ppm_f1, spectrum.ppm_f2):
        step = np.diff(ax)
        if len(ax) < 2 or not np.all(step < 0) or np.ptp(step) > 1e-9 * abs(step.mean()) * 10:
            raise ValueError("write_processed needs linear ppm axes decreasing with index")
    sf = float(sf_mhz if sf_mhz is not None else spectrum.sf_mhz)
    if not math.isfinite(sf) or sf <= 0:
        raise ValueError("sf_mhz is needed (the spectrum has no valid sf_mhz)")
    nuc = nucleus or spectrum.nucleus
    te = te_K if te_K is not None else (spectrum.temperature_K or 298.0)
    d8 = d8_s if d8_s is not None else (spectrum.mixing_time_s or 0.0)
    masr = masr_hz if masr_hz is not None else (spectrum.mas_rate_hz or 0.0)
    scaled = data * ns * rg
    peak = float(np.abs(scaled).max())
    if nc_proc is None:
        nc_proc = int(math.floor(math.log2(peak))) - 29 if peak > 0 else 0
    ints = np.rint(scaled / 2.0**nc_proc)
    if np.abs(ints).max(initial=0) >= 2**31:
        raise ValueError(f"nc_proc={nc_proc} overflows int32 for these data")
    _prepare_folder(folder, overwrite)
    si1, si2 = data.shape
    sw = []
    for ax, n in ((spectrum.ppm_f1, si1), (spectrum.ppm_f2, si2)):
        sw.append(abs(ax[0] - ax[-1]) * sf * n / (n - 1))
    off1, off2 = float(spectrum.ppm_f1[0]), float(spectrum.ppm_f2[0])
    car2 = off2 - sw[1] / (2 * sf)
    car1 = off1 - sw[0] / (2 * sf)
    scale = {"NS": int(ns), "RG": float(rg)}
    _write_jcamp(folder / "acqus", {**_acqus_params(
        nucleus=nuc, sf_mhz=sf, o1_ppm=car2, sw_hz=sw[1], td=2 * si2, ns=ns, rg=rg, te_K=te,
        d8_s=d8, masr_hz=masr, pulse_program=pulse_program, d1_s=d1_s, probe=probe),
        **extra["acqus"], **scale}, "acqus")
    _write_jcamp(folder / "acqu2s", {**_acqus_params(
        nucleus=nuc, sf_mhz=sf, o1_ppm=car1, sw_hz=sw[0], td=2 * si1, ns=ns, rg=rg, te_K=te,
        d8_s=d8, masr_hz=masr, pulse_program=pulse_program, d1_s=d1_s, probe=probe,
        extra={"FnMODE": _FNMODE_TO_CODE["States-TPPI"]}), **extra["acqu2s"], **scale},
        "acqu2s")
    pdata = folder / "pdata" / "1"
    layout = {"NC_proc": nc_proc, "DTYPP": 0, "BYTORDP": 0}
    _write_jcamp(pdata / "procs", {**_procs_params(si=si2, sf_mhz=sf, offset=off2, sw_hz=sw[1]),
                                   **extra["procs"],
                                   **_procs_params(si=si2, sf_mhz=sf, offset=off2, sw_hz=sw[1],
                                                   layout_only=True), **layout}, "procs")
    _write_jcamp(pdata / "proc2s", {**_procs_params(
        si=si1, sf_mhz=sf, offset=off1, sw_hz=sw[0],
        extra={"MC2": _FNMODE_TO_MC2["States-TPPI"]}), **extra["proc2s"],
        **_procs_params(si=si1, sf_mhz=sf, offset=off1, sw_hz=sw[0], layout_only=True),
        **layout}, "proc2s")
    ints.astype("<i4").tofile(pdata / "2rr")
    return folder


def _t1_modulation(peaks: Sequence[SimPeak], rows: int, fnmode: str, sw1: float, sf: float,
                   o1_ppm_f1: float, p0_f1: float) -> np.ndarray:
    """Row coefficients (n_peaks, rows) multiplying each peak's complex t2 signal."""
    nu = np.array([(p.ppm_f1 - o1_ppm_f1) * sf for p in peaks])[:, None]
    w = np.array([p.fwhm_f1_ppm * sf for p in peaks])[:, None]
    eta = np.array([p.eta_f1 for p in peaks])[:, None]
    th = np.deg2rad(p0_f1)
    if fnmode == "TPPI":
        k = np.arange(rows)[None, :]
        t = k / (2.0 * sw1)
        c = np.exp(1j * (2 * np.pi * (nu + sw1 / 2.0) * t + th)) * decay(t, w, eta)
        return c.real.astype(complex)
    k = np.arange(rows // 2)[None, :]
    t = k / sw1
    c = np.exp(1j * (2 * np.pi * nu * t + th)) * decay(t, w, eta)
    if fnmode == "States-TPPI":
        c = c * (-1.0) ** k
    out = np.zeros((len(peaks), rows), complex)
    if fnmode in ("States", "States-TPPI"):
        out[:, 0:2 * c.shape[1]:2] = c.real
        out[:, 1:2 * c.shape[1]:2] = c.imag
    elif fnmode == "echo-antiecho":  # TopSpin's pairing (exsyfit.processing.transforms)
        out[:, 0:2 * c.shape[1]:2] = -1j * np.conj(c)
        out[:, 1:2 * c.shape[1]:2] = -1j * c
    else:
        raise ValueError(f"write_raw supports States, States-TPPI, TPPI and echo-antiecho, "
                         f"not {fnmode!r}")
    return out


def write_raw(folder: str | Path, peaks: Sequence[SimPeak], *, td2: int, td1: int,
              sw_ppm_f2: float, sw_ppm_f1: float, o1_ppm: float, sf_mhz: float,
              fnmode: str = "States-TPPI", grpdly: float = 67.986, p0: float = 0.0,
              p1: float = 0.0, p0_f1: float = 0.0, ns: int = 16, rg: float = 1.0,
              te_K: float = 298.0, d8_s: float = 0.0, masr_hz: float = 0.0,
              noise_rms: float = 0.0, rng: np.random.Generator | None = None,
              nucleus: str = "7Li", dtype: str = "int32", byte_order: str = "little",
              o1_ppm_f1: float | None = None, si_f2: int | None = None,
              si_f1: int | None = None, window_f1: str = "none", ssb_f1: float = 0.0,
              pulse_program: str = "noesyph", d1_s: float = DEFAULT_D1_S,
              probe: str = SIMULATED_PROBE, overwrite: bool = False) -> Path:
    """Synthesise a raw 2D EXSY experiment (ser + parameter files) from a list of peaks.

    Each peak contributes ``volume * ns * rg * c(t1) * s(t2)`` with pseudo-Voigt decays
    ``eta*exp(-pi*w*t) + (1-eta)*exp(-(pi*w*t)**2/(4 ln 2))`` (``w`` = FWHM in Hz) in both
    dimensions, so that ``read_experiment(folder, prefer="raw")`` returns pure-absorption peaks
    at the given ppm with volumes equal to ``SimPeak.volume`` (intensity x ppm^2, normalised
    scale).  The direct dimension imitates a Bruker digital filter: the first point holds half
    the signal (the filter's step response) and the FID is delayed by ``grpdly`` points with
    its pre-echo.  A phase error is applied and recorded in procs/proc2s (``PHC0 = p0``,
    ``PHC1 = p1``, proc2s ``PHC0 = p0_f1``; TopSpin convention) so that processing with the
    stored phases removes it.  The first-order error is simulated as what it is physically,
    an extra delay of ``p1 / 360`` points (plus a constant ``p0 + p1 / 2``); TopSpin's
    frequency-domain correction then leaves a small baseline roll (about 1 % of a volume for
    ``|p1|`` = 70 degrees), which baseline correction removes.

    Parameters
    ----------
    folder : str or Path
        Experiment folder to create.
    peaks : sequence of SimPeak
        Peaks (positions ppm, volumes, widths ppm, Lorentzian fractions).
    td2 : int
        Complex points per FID (acqus TD = 2 * td2).
    td1 : int
        Rows of the ser (acqu2s TD); even for States-type modes.
    sw_ppm_f2, sw_ppm_f1 : float
        Spectral widths, ppm.
    o1_ppm : float
        Carrier position, ppm (both dimensions unless ``o1_ppm_f1``).
    sf_mhz : float
        Spectrometer frequency (BF1 = SF), MHz.
    fnmode : str
        ``"States-TPPI"``, ``"States"``, ``"TPPI"`` or ``"echo-antiecho"``.
    grpdly : float
        Digital-filter group delay, points (0 = analog data, full first point).
    p0, p1, p0_f1 : float
        Phase errors applied and stored, degrees.
    ns, rg : int, float
        Scans and receiver gain (recorded; the signal is multiplied by ``ns * rg``).
    te_K, d8_s, masr_hz : float
        Temperature (K), mixing time D8 (s), MAS rate (Hz) recorded in acqus.
    noise_rms : float
        Standard deviation of Gaussian noise added to each real and imaginary time-domain
        point, on the normalised scale (before the ``ns * rg`` factor).
    rng : numpy.random.Generator, optional
        Random generator for the noise (default: ``numpy.random.default_rng(0)``).
    nucleus : str
        NUC1.
    dtype : {"int32", "float64"}
        Storage type (DTYPA 0 or 2); int32 uses NC so the largest value is about 2**29.
    byte_order : {"little", "big"}
        BYTORDA 0 or 1.
    o1_ppm_f1 : float, optional
        F1 carrier, ppm.
    si_f2, si_f1 : int, optional
        Sizes stored in procs/proc2s (default: 2 * td2 and 2 * complex t1 points, powers of 2).
    window_f1, ssb_f1 : str, float
        F1 window stored in proc2s (e.g. ``"qsine"`` with ``ssb_f1 = 2``).
    pulse_program : str
        PULPROG recorded in acqus.
    d1_s, probe : float, str
        Recycle delay D1 (s) and probe head PROBHD recorded in acqus.
    overwrite : bool
        Replace an existing experiment.

    Returns
    -------
    Path
        The experiment folder.
    """
    folder = Path(folder)
    if fnmode not in ("States", "States-TPPI", "TPPI", "echo-antiecho"):
        raise ValueError(f"fnmode {fnmode!r} not supported by write_raw")
    if fnmode != "TPPI" and td1 % 2:
        raise ValueError(f"td1 must be even for {fnmode}, got {td1}")
    if dtype not in ("int32", "float64") or byte_order not in ("little", "big"):
        raise ValueError("dtype must be int32/float64 and byte_order little/big")
    rng = rng if rng is not None else np.random.default_rng(0)
    o1_f1 = o1_ppm if o1_ppm_f1 is None else o1_ppm_f1
    sw2, sw1 = sw_ppm_f2 * sf_mhz, sw_ppm_f1 * sf_mhz
    peaks = list(peaks)
    t2 = np.arange(td2) / sw2
    amp = np.array([p.volume for p in peaks])[:, None] * ns * rg
    nu2 = np.array([(p.ppm_f2 - o1_ppm) * sf_mhz for p in peaks])[:, None]
    w2 = np.array([p.fwhm_f2_ppm * sf_mhz for p in peaks])[:, None]
    eta2 = np.array([p.eta_f2 for p in peaks])[:, None]
    theta = np.deg2rad(p0 + p1 / 2.0)
    s2 = amp * np.exp(1j * (2 * np.pi * nu2 * t2 + theta)) * decay(t2, w2, eta2)
    if grpdly > 0:
        s2[:, 0] *= 0.5
    s2 = delay(s2, grpdly + p1 / 360.0)
    coef = _t1_modulation(peaks, td1, fnmode, sw1, sf_mhz, o1_f1, p0_f1)
    ser = coef.T @ s2 if peaks else np.zeros((td1, td2), complex)
    if noise_rms > 0:
        ser = ser + noise_rms * ns * rg * (rng.standard_normal(ser.shape)
                                           + 1j * rng.standard_normal(ser.shape))
    inter = np.empty((td1, 2 * td2))
    inter[:, 0::2], inter[:, 1::2] = ser.real, ser.imag
    nc = 0
    if dtype == "int32":
        peak = float(np.abs(inter).max())
        nc = int(math.floor(math.log2(peak))) - 29 if peak > 0 else 0
        inter = np.rint(inter / 2.0**nc)
    itemsize = 4 if dtype == "int32" else 8
    row_len = int(math.ceil(2 * td2 * itemsize / 1024.0) * 1024 // itemsize)
    padded = np.zeros((td1, row_len))
    padded[:, :2 * td2] = inter
    order = "<" if byte_order == "little" else ">"
    _prepare_folder(folder, overwrite)
    padded.astype(f"{order}{'i4' if dtype == 'int32' else 'f8'}").tofile(folder / "ser")
    n_t1 = td1 if fnmode == "TPPI" else td1 // 2
    si2 = si_f2 or int(2 ** math.ceil(math.log2(2 * td2)))
    si1 = si_f1 or int(2 ** math.ceil(math.log2(max(2 * n_t1, 8))))
    car2, car1 = o1_ppm, o1_f1
    acq_extra = {"DTYPA": 0 if dtype == "int32" else 2,
                 "BYTORDA": 0 if byte_order == "little" else 1, "NC": nc,
                 "GRPDLY": float(grpdly) if grpdly > 0 else -1.0, "DECIM": 1,
                 "DSPFVS": 20 if grpdly > 0 else 0, "DIGMOD": 1 if grpdly > 0 else 0}
    _write_jcamp(folder / "acqus", _acqus_params(
        nucleus=nucleus, sf_mhz=sf_mhz, o1_ppm=car2, sw_hz=sw2, td=2 * td2, ns=ns, rg=rg,
        te_K=te_K, d8_s=d8_s, masr_hz=masr_hz, pulse_program=pulse_program, d1_s=d1_s, probe=probe,
        extra=acq_extra), "acqus")
    _write_jcamp(folder / "acqu2s", _acqus_params(
        nucleus=nucleus, sf_mhz=sf_mhz, o1_ppm=car1, sw_hz=sw1, td=td1, ns=ns, rg=rg,
        te_K=te_K, d8_s=d8_s, masr_hz=masr_hz, pulse_program=pulse_program, d1_s=d1_s, probe=probe,
        extra={"FnMODE": _FNMODE_TO_CODE[fnmode]}), "acqu2s")
    pdata = folder / "pdata" / "1"
    _write_jcamp(pdata / "procs", _procs_params(
        si=si2, sf_mhz=sf_mhz, offset=car2 + sw_ppm_f2 / 2.0, sw_hz=sw2,
        # TopSpin's removal of a group delay g leaves a phase of 180 g degrees
        extra={"PHC0": float((p0 - 180.0 * max(grpdly, 0.0) + 180.0) % 360.0 - 180.0),
               "PHC1": float(p1), "FCOR": 1.0 if grpdly > 0 else 0.5}),
        "procs")
    _write_jcamp(pdata / "proc2s", _procs_params(
        si=si1, sf_mhz=sf_mhz, offset=car1 + sw_ppm_f1 / 2.0, sw_hz=sw1,
        extra={"PHC0": float(p0_f1), "MC2": _FNMODE_TO_MC2[fnmode],
               "WDW": _WDW_TO_CODE[window_f1], "SSB": float(ssb_f1)}), "proc2s")
    return folder
