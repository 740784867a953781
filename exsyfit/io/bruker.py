"""Bruker experiment folders (``<expno>/acqus``, ``ser``, ``pdata/<procno>/2rr``): read.

Reading
-------
:func:`read_experiment` returns one :class:`~exsyfit.io.spectrum.Spectrum2D` per 2D spectrum held
by an experiment folder (one for a plain 2D, one per plane for a pseudo-3D with a list of
mixing times).  ``prefer="processed"`` reads TopSpin's ``pdata/<procno>/2rr``; ``"raw"``
processes the ``ser`` with :mod:`exsyfit.processing.transforms`; ``"auto"`` takes the 2rr when it
exists.

Intensity scale (``intensity_factor``)
    * processed: ``2rr * 2**NC_proc`` (TopSpin's scale), divided by ``NS * RG`` when
      ``normalise``;
    * raw: the stored integers times ``2**NC`` (acqus; with this factor TopSpin's ``1r`` equals
      the plain DFT of the ``fid``), divided by ``NS * RG`` when ``normalise``; the processing
      then scales volumes to signal amplitudes at t1 = t2 = 0 (see
      :mod:`exsyfit.processing.transforms`).
    The two scales differ by the Fourier-transform normalisation: never mix processed and raw
    spectra in one series.

Axes
    processed: ``OFFSET - i * SW_p / (SF * SI)`` from procs / proc2s; raw: the carrier
    ``(SFO1 / SF - 1) * 1e6`` at point ``SI / 2`` (SF from procs, else BF1).

Processing descriptions (``metadata``)
    raw: ``processing_f1`` / ``processing_f2``, how exsyfit processed each dimension (exact
    line profiles by default); processed: ``processing_f1_topspin`` / ``processing_f2_topspin``
    from acqu2s/proc2s and acqus/procs (:func:`topspin_processing`), used by the lineshape
    integrator only with ``[integration] processed_lineshape = "procs"``.

Mixing time (``mixing_time``)
    ``"D8"`` (default) or any ``"D<n>"`` from acqus (seconds); ``"vdlist"`` (the ``vdlist``
    file of the experiment, units s/m/u/n suffixes); ``"vclist*rotor"`` (loop counters of
    ``vclist`` times the rotor period ``1 / MAS rate`` or ``rotor_period_s``); or a number of
    seconds given by the user.  For a pseudo-3D the list must have one entry per plane; when a
    ``D<n>`` is requested for a pseudo-3D, the vdlist (or vclist*rotor) whose length matches the
    number of planes is used instead, and ``metadata["mixing_time_source"]`` says so.

Simulated experiments are written by :mod:`exsyfit.simulate.bruker`.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import replace
from pathlib import Path
from typing import Any

import nmrglue as ng
import numpy as np

from exsyfit.errors import DataFormatError
from exsyfit.io.bruker_checks import check_header
from exsyfit.io.bruker_metadata import is_bruker_experiment, read_metadata
from exsyfit.io.bruker_params import (
    _FNMODE_CODES,
    _MC2_CODES,
    _WDW_CODES,
    _acquisition_facts,
    _Experiment,
    _kind,
    _list_dimension,
    _mas_rate,
    _mixing_times,
    _temperature,
    _text,
)
from exsyfit.io.spectrum import Spectrum2D
from exsyfit.processing.raw import TOPSPIN_PHASES, phases_metadata, process_planes
from exsyfit.processing.transforms import AcquisitionParameters, ProcessingOptions

__all__ = [
    "is_bruker_experiment",
    "read_experiment",
    "read_experiments",
    "read_metadata",
    "topspin_processing",
]



# --------------------------------------------------------------------------------------------
# TopSpin's processing of a 2rr, as a line-shape description
# --------------------------------------------------------------------------------------------

_WDW_NAMES = {5: "TRAF", 6: "TRAFS", 7: "GMUL/JMOD", 8: "user window", 9: "SINC", 10: "QSINC",
              11: "TM"}


def _unsupported(reason: str) -> dict[str, Any]:
    return {"mode": "unsupported", "reason": reason}


def _param(dic: Mapping[str, Any], key: str, default: float | None = None) -> float | None:
    """A finite numeric parameter of a parsed JCAMP dictionary, else ``default``."""
    v = dic.get(key)
    if isinstance(v, bool) or not isinstance(v, (int, float)) or not math.isfinite(v):
        return default
    return float(v)


def _f1_quadrature(acqu: Mapping[str, Any], proc: Mapping[str, Any]) -> tuple[str | None, str]:
    """(F1 mode name or None, how it was found) from acqu2s FnMODE, else proc2s MC2."""
    code = int(_param(acqu, "FnMODE", 0) or 0)
    if code:
        return _FNMODE_CODES.get(code), f"acqu2s FnMODE = {code}"
    mc2 = _param(proc, "MC2")
    if mc2 is None:
        return None, "acqu2s FnMODE = 0 and no proc2s MC2"
    return _MC2_CODES.get(int(mc2)), f"proc2s MC2 = {int(mc2)}"


def topspin_processing(acqu: Mapping[str, Any], proc: Mapping[str, Any], dimension: str,
                       grpdly: float = 0.0) -> dict[str, Any]:
    """How TopSpin processed one dimension of a 2rr, from its stored parameters.

    The description has the keys of :func:`exsyfit.processing.transforms.processing_description`, so
    :meth:`exsyfit.processing.lineshapes.ProcessedLineProfile.from_metadata` turns it into the
    exact line
    profile: ``td_complex`` complex points sampled at ``sw_hz`` (acqu ``SW_h``, else ``SW``
    (ppm) x ``SFO1``), ``TD`` shortened to ``TDeff`` when ``0 < TDeff < TD``, halved for the
    complex pairs (States, States-TPPI, echo-antiecho in F1; every complex direct dimension),
    window ``WDW`` (0 none, 1 EM, 2 GM, 3 SINE, 4 QSINE) with ``LB`` (Hz), ``GB`` and ``SSB``,
    ``size`` = ``SI`` and ``first_point_scale`` = ``FCOR`` (0.5 when absent).

    With forward linear prediction (``ME_mod = 2``, ``TDeff > TD``) the profile spans the
    ``TDeff`` predicted points.  A digitally filtered direct dimension (``grpdly > 0``) is
    windowed by TopSpin as recorded, before the group delay is removed (checked on
    ``nmrtools-19f-cest-pseudo2d``: that order reproduces the 2rr with r = 1 - 2e-15), so the
    signal's t = 0 sees the window at point ``GRPDLY`` (``window_offset``, the window spanning
    the ``window_points`` recorded points), ``td_complex`` = recorded points - GRPDLY and the
    first point holds half of the signal (FCOR acts on the filter's pre-echo).

    Where no exact profile exists, ``{"mode": "unsupported", "reason": ...}`` is returned:
    TPPI (real t1 points) and QF / QSEQ F1 data, other windows (TRAF, SINC, ...) and missing
    or non-positive TD / SW.

    Parameters
    ----------
    acqu : mapping
        Parsed ``acqus`` (F2) or ``acqu2s`` (F1).
    proc : mapping
        Parsed ``procs`` (F2) or ``proc2s`` (F1).
    dimension : {"f1", "f2"}
        Which dimension the files describe.
    grpdly : float
        Digital-filter group delay of the direct dimension, points (0 for analog data).

    Returns
    -------
    dict
        ``mode`` ("complex" or "unsupported"), and either the profile keys or ``reason``.
    """
    if dimension not in ("f1", "f2"):
        raise ValueError(f"dimension must be 'f1' or 'f2', not {dimension!r}")
    acq_name, proc_name = ("acqu2s", "proc2s") if dimension == "f1" else ("acqus", "procs")
    if dimension == "f1":
        fnmode, found = _f1_quadrature(acqu, proc)
        if fnmode not in ("States", "States-TPPI", "echo-antiecho"):
            what = {"TPPI": "TPPI (real t1 points)", "QF": "QF (phase-twisted lines)",
                    "QSEQ": "QSEQ"}.get(str(fnmode), "unknown")
            return _unsupported(f"F1 quadrature {what} from {found}: the exact line model "
                                "covers States, States-TPPI and echo-antiecho")
    else:
        aq_mod = int(_param(acqu, "AQ_mod", 3) or 0)
        if aq_mod not in (1, 3):
            return _unsupported(f"acqus AQ_mod = {aq_mod}: the direct dimension is not "
                                "complex (simultaneous or DQD) data")
    td = _param(acqu, "TD")
    if td is None or td < 2:
        return _unsupported(f"{acq_name} TD = {acqu.get('TD')!r}; expected at least 2 points")
    tdeff = _param(proc, "TDeff", 0.0) or 0.0
    used = int(tdeff) if 0 < tdeff < td else int(td)
    if dimension == "f1" and int(_param(proc, "ME_mod", 0) or 0) == 2 and tdeff > td:
        used = int(tdeff)  # forward linear prediction up to TDeff
    sw = _param(acqu, "SW_h")
    if not sw or sw <= 0:
        sw_ppm, sfo = _param(acqu, "SW"), _param(acqu, "SFO1") or _param(acqu, "BF1")
        sw = sw_ppm * sfo if sw_ppm and sfo and sw_ppm > 0 and sfo > 0 else None
    if sw is None:
        return _unsupported(f"{acq_name} has no positive SW_h (nor SW and SFO1)")
    sf = _param(proc, "SF") or _param(acqu, "BF1")
    if not sf or sf <= 0:
        return _unsupported(f"neither {proc_name} SF nor {acq_name} BF1 is positive")
    wdw = int(_param(proc, "WDW", 0) or 0)
    if wdw not in _WDW_CODES:
        name = _WDW_NAMES.get(wdw, "unknown")
        return _unsupported(f"{proc_name} WDW = {wdw} ({name}) has no line model (supported: "
                            "0 none, 1 EM, 2 GM, 3 SINE, 4 QSINE)")
    fcor = _param(proc, "FCOR", 0.5)
    if fcor is None or not 0.0 <= fcor <= 2.0:
        return _unsupported(f"{proc_name} FCOR = {proc.get('FCOR')!r}; expected 0-2")
    gb = _param(proc, "GB", 0.0) or 0.0
    if _WDW_CODES[wdw] == "gm" and not 0.0 < gb <= 1.0:
        return _unsupported(f"{proc_name} GB = {gb:g} with WDW = 2 (GM); expected 0 < GB <= 1")
    n_rec = max(used // 2, 1)
    filtered = dimension == "f2" and grpdly > 0
    si = int(_param(proc, "SI", 0) or 0)
    return {"mode": "complex",
            "td_complex": max(int(round(n_rec - grpdly)), 1) if filtered else n_rec,
            "sw_hz": float(sw), "sf_mhz": float(sf), "window": _WDW_CODES[wdw],
            "lb_hz": float(_param(proc, "LB", 0.0) or 0.0), "gb": float(gb),
            "ssb": float(_param(proc, "SSB", 0.0) or 0.0),
            "window_offset": float(grpdly) if filtered else 0.0, "window_points": n_rec,
            "size": max(si, int(_param(proc, "FTSIZE", 0) or 0)),
            "first_point_scale": 0.5 if filtered else float(fcor),
            "source": f"{acq_name}/{proc_name}"}


def _topspin_descriptions(exp: _Experiment) -> dict[str, dict[str, Any]]:
    """``processing_f1_topspin`` / ``processing_f2_topspin`` metadata of a 2rr."""
    out = {}
    if exp.acqu2s is not None and exp.proc2s is not None:
        out["processing_f1_topspin"] = topspin_processing(exp.acqu2s, exp.proc2s, "f1")
    else:
        out["processing_f1_topspin"] = _unsupported("acqu2s or proc2s is missing")
    if exp.procs is not None:
        try:
            grpdly = _group_delay(exp)
        except DataFormatError as exc:
            out["processing_f2_topspin"] = _unsupported(str(exc))
        else:
            out["processing_f2_topspin"] = topspin_processing(exp.acqus, exp.procs, "f2",
                                                              grpdly)
    return out


# --------------------------------------------------------------------------------------------
# Reading spectra
# --------------------------------------------------------------------------------------------


def _refuse_non_2d(exp: _Experiment, kind: str) -> None:
    if kind == "1D":
        data = "fid" if (exp.folder / "fid").is_file() else "acqus only"
        raise DataFormatError(f"{exp.folder}: is a 1D experiment ({data}, acqus but no acqu2s); "
                              "an EXSY series needs 2D spectra")
    if kind == "pseudo-2D":
        which, name = _list_dimension(exp)
        raise DataFormatError(
            f"{exp.folder}: is a pseudo-2D experiment (each row of 'ser' is a 1D spectrum for "
            f"one entry of '{name}', {int(exp.num('TD', which=which))} rows); an EXSY series "
            "needs 2D spectra")
    if kind == "3D":
        raise DataFormatError(f"{exp.folder}: is a true 3D experiment (acqu3s with a "
                              "quadrature-detected indirect dimension); expected a 2D EXSY or a "
                              "pseudo-3D with a list of mixing times")


def _normalisation(exp: _Experiment, normalise: bool) -> tuple[int, float, float]:
    ns = int(exp.num("NS"))
    rg = float(exp.num("RG"))
    if normalise and (ns <= 0 or rg <= 0):
        raise DataFormatError(f"{exp.folder}: cannot normalise by NS={ns} and RG={rg} from "
                              "'acqus'; both must be positive (or pass normalise=False)")
    return ns, rg, (1.0 / (ns * rg) if normalise else 1.0)


def _base_metadata(exp: _Experiment) -> dict[str, Any]:
    rate, src = _mas_rate(exp)
    return {
        "nucleus": _text(exp.acqus, "NUC1") or "",
        "temperature_K": _temperature(exp),
        "mas_rate_hz": rate,
        "pulse_program": _text(exp.acqus, "PULPROG"),
        "extra": {**_acquisition_facts(exp), "mas_rate_source": src,
                  "TE_raw": exp.num("TE", None),
                  "nucleus_f1": _text(exp.acqu2s, "NUC1") if exp.acqu2s else None,
                  "expno": exp.folder.name, "procno": exp.procno},
    }


def _read_processed(exp: _Experiment, normalise: bool, mix: Any, mix_src: str,
                    ) -> list[Spectrum2D]:
    path = exp.pdata / "2rr"
    for name, dic in (("procs", exp.procs), ("proc2s", exp.proc2s)):
        if dic is None:
            raise DataFormatError(f"{exp.folder}: 'pdata/{exp.procno}/{name}' is missing; it is "
                                  f"needed to read '{path}'")
    si2 = int(exp.num("SI", which="procs"))
    si1 = int(exp.num("SI", which="proc2s"))
    nc_proc = int(exp.num("NC_proc", 0, which="procs"))
    itemsize = 8 if int(exp.num("DTYPP", 0, which="procs")) == 2 else 4
    expected = si1 * si2 * itemsize
    if path.stat().st_size != expected:
        raise DataFormatError(f"{exp.folder}: 'pdata/{exp.procno}/2rr' holds "
                              f"{path.stat().st_size} bytes; procs/proc2s SI = {si2} x {si1} "
                              f"of {itemsize}-byte values need {expected}")
    try:
        _, raw = ng.bruker.read_pdata(str(exp.pdata), bin_files=["2rr"], scale_data=False,
                                      read_acqus=False)
    except Exception as exc:
        raise DataFormatError(f"{exp.folder}: cannot read 'pdata/{exp.procno}/2rr': "
                              f"{exc}") from exc
    raw = np.asarray(raw, dtype=float)
    if raw.shape != (si1, si2):
        raise DataFormatError(f"{exp.folder}: 'pdata/{exp.procno}/2rr' has shape {raw.shape}; "
                              f"procs/proc2s SI give ({si1}, {si2})")
    ns, rg, norm = _normalisation(exp, normalise)
    factor = 2.0**nc_proc * norm
    axes = []
    for which, n in (("proc2s", si1), ("procs", si2)):
        offset = float(exp.num("OFFSET", which=which))
        sw_p = float(exp.num("SW_p", which=which))
        sf = exp.sf(which)
        axes.append(offset - np.arange(n) * sw_p / (sf * n))
    base = _base_metadata(exp)
    meta = dict(base["extra"], NC_proc=nc_proc, mixing_time_source=mix_src, SI=(si1, si2),
                sf_mhz_f1=exp.sf("proc2s"), **_topspin_descriptions(exp))
    # the phases TopSpin applied when it wrote this 2rr (as stored, TopSpin's convention)
    stored = [float(exp.num(key, 0.0, which=which)) for which in ("procs", "proc2s")
              for key in ("PHC0", "PHC1")]
    meta["phases"] = phases_metadata(stored, TOPSPIN_PHASES)
    return [Spectrum2D(
        data=raw * factor, ppm_f1=axes[0], ppm_f2=axes[1], nucleus=base["nucleus"],
        sf_mhz=exp.sf("procs"), mixing_time_s=mix, temperature_K=base["temperature_K"],
        source=exp.given, format="bruker-processed", scans=ns, receiver_gain=rg,
        mas_rate_hz=base["mas_rate_hz"], pulse_program=base["pulse_program"],
        intensity_factor=factor, metadata=meta)]


def _group_delay(exp: _Experiment) -> float:
    grpdly = exp.num("GRPDLY", -1)
    if grpdly is not None and grpdly > 0:
        return float(grpdly)
    if int(exp.num("DIGMOD", 1)) == 0:
        return 0.0
    dspfvs = int(exp.num("DSPFVS", 0))
    decim = exp.num("DECIM", 1)
    table = ng.fileio.bruker.bruker_dsp_table
    if dspfvs in table and int(decim) in table[dspfvs]:
        return float(table[dspfvs][int(decim)])
    return 0.0


def _read_ser(exp: _Experiment, n_rows: int) -> np.ndarray:
    """Complex raw data (n_rows, TD/2) times 2**NC; rows beyond n_rows are ignored."""
    path = exp.folder / "ser"
    if not path.is_file():
        raise DataFormatError(f"{exp.folder}: no 'ser' file (raw 2D data) in the experiment "
                              "folder")
    td = int(exp.num("TD"))
    dtypa = int(exp.num("DTYPA", 0))
    if dtypa not in (0, 2):
        raise DataFormatError(f"{exp.folder}: 'acqus' DTYPA = {dtypa}; only 0 (int32) and 2 "
                              "(float64) raw data are supported")
    order = ">" if int(exp.num("BYTORDA", 0)) == 1 else "<"
    dtype = np.dtype(f"{order}{'f8' if dtypa == 2 else 'i4'}")
    row_len = int(math.ceil(td * dtype.itemsize / 1024.0) * 1024 // dtype.itemsize)
    size = path.stat().st_size
    row_bytes = row_len * dtype.itemsize
    if td < 2 or td % 2:
        raise DataFormatError(f"{exp.folder}: 'acqus' TD = {td}; expected an even number >= 2")
    if size % row_bytes or size // row_bytes < n_rows:
        raise DataFormatError(
            f"{exp.folder}: 'ser' holds {size} bytes, i.e. {size / row_bytes:.2f} rows of "
            f"{row_bytes} bytes (TD = {td}, {dtype.itemsize}-byte values padded to 1024-byte "
            f"blocks); the acquisition parameters need {n_rows} complete rows: the file is "
            "truncated or TD/DTYPA do not match it")
    raw = np.fromfile(path, dtype=dtype, count=n_rows * row_len).reshape(n_rows, row_len)
    raw = raw[:, :td].astype(float)
    nc = int(exp.num("NC", 0))
    return (raw[:, 0::2] + 1j * raw[:, 1::2]) * 2.0**nc


def _file_defaults(exp: _Experiment) -> ProcessingOptions:
    """Window, transform size and phases stored in procs / proc2s (TopSpin's values).

    The transform size is ``FTSIZE`` when a strip is stored (``SI`` = ``STSI`` < ``FTSIZE``),
    else ``SI``; PHC0 / PHC1 are used as stored (TopSpin's sign and pivot, see
    :mod:`exsyfit.processing.phasing`).
    """
    vals: dict[str, Any] = {}
    for which, suf in (("procs", "f2"), ("proc2s", "f1")):
        if (exp.procs if which == "procs" else exp.proc2s) is None:
            continue
        wdw = int(exp.num("WDW", 0, which=which))
        if wdw not in _WDW_CODES:
            raise DataFormatError(
                f"{exp.folder}: 'pdata/{exp.procno}/{which}' WDW = {wdw} is a window exsyfit "
                "does not implement (supported: 0 none, 1 EM, 2 GM, 3 SINE, 4 QSINE); set "
                f"window_{suf} in the processing options")
        vals[f"window_{suf}"] = _WDW_CODES[wdw]
        vals[f"lb_hz_{suf}"] = float(exp.num("LB", 0.0, which=which))
        vals[f"gb_{suf}"] = float(exp.num("GB", 0.0, which=which))
        vals[f"ssb_{suf}"] = float(exp.num("SSB", 0.0, which=which))
        si = int(exp.num("SI", 0, which=which))
        ftsize = int(exp.num("FTSIZE", 0, which=which) or 0)
        size = ftsize if ftsize > si >= 8 else si
        vals[f"size_{suf}"] = size if size >= 8 else None
        vals[f"p0_{suf}"] = float(exp.num("PHC0", 0.0, which=which))
        vals[f"p1_{suf}"] = float(exp.num("PHC1", 0.0, which=which))
    return ProcessingOptions(**vals)


def _stored_transform(exp: _Experiment, which: str, td_complex: int,
                      ) -> tuple[tuple[int, int] | None, int, int | None]:
    """(strip, size the strip refers to, complex points used) from procs / proc2s."""
    if (exp.procs if which == "procs" else exp.proc2s) is None:
        return None, 0, None
    si = int(exp.num("SI", 0, which=which))
    ftsize = int(exp.num("FTSIZE", 0, which=which) or 0)
    stsr = int(exp.num("STSR", 0, which=which) or 0)
    stsi = int(exp.num("STSI", 0, which=which) or 0)
    strip = None
    if ftsize > si >= 8 and 0 < stsi <= ftsize - stsr and stsr >= 0:
        strip = (stsr, stsi)
    tdeff = int(exp.num("TDeff", 0, which=which) or 0)
    used = tdeff // 2 if 0 < tdeff // 2 < td_complex else None
    return strip, ftsize, used


def _prediction_f1(exp: _Experiment, n_t1: int) -> tuple[int, int] | None:
    """Forward linear prediction in F1 (proc2s ME_mod = 2, LPfc): (points, coefficients)."""
    if exp.proc2s is None or int(exp.num("ME_mod", 0, which="proc2s") or 0) != 2:
        return None
    tdeff = int(exp.num("TDeff", 0, which="proc2s") or 0)
    ncoef = int(exp.num("NCOEF", 0, which="proc2s") or 0)
    if tdeff // 2 <= n_t1 or ncoef < 2:
        return None
    return tdeff // 2, ncoef // 2


def _acquisition(exp: _Experiment, fnmode: str, rows: int = 0, td2: int = 0,
                 ) -> AcquisitionParameters:
    """Acquisition parameters and TopSpin's stored processing (strips, TDeff, F1 prediction).

    ``rows`` / ``td2``: raw rows of one plane and complex points per row (to decide whether
    TDeff shortens or extends the data).
    """
    sf2 = exp.sf("procs") if exp.procs is not None else float(exp.num("BF1"))
    sf1 = exp.sf("proc2s") if exp.proc2s is not None else float(exp.num("BF1", which="acqu2s"))
    sfo2 = float(exp.num("SFO1"))
    sfo1 = float(exp.num("SFO1", which="acqu2s"))
    sw1 = float(exp.num("SW_h", which="acqu2s"))
    sw2 = float(exp.num("SW_h"))
    if sw1 <= 0 or sw2 <= 0:
        raise DataFormatError(f"{exp.folder}: spectral width SW_h must be positive (acqus "
                              f"{sw2}, acqu2s {sw1})")
    n_t1 = rows if fnmode in ("TPPI", "QF") else rows // 2
    strip2, size2, used2 = _stored_transform(exp, "procs", td2 or 10**9)
    strip1, size1, used1 = _stored_transform(exp, "proc2s", n_t1 or 10**9)
    lp = _prediction_f1(exp, n_t1) if fnmode not in ("TPPI", "QF") else None
    return AcquisitionParameters(
        sw_hz_f2=sw2, sw_hz_f1=sw1, sf_mhz_f2=sf2, sf_mhz_f1=sf1,
        carrier_ppm_f2=(sfo2 / sf2 - 1.0) * 1e6, carrier_ppm_f1=(sfo1 / sf1 - 1.0) * 1e6,
        fnmode=fnmode, grpdly=_group_delay(exp), defaults=_file_defaults(exp),
        strip_f2=strip2, strip_f1=strip1, strip_size_f2=size2, strip_size_f1=size1,
        td_used_f2=used2, td_used_f1=None if lp else used1, lp_f1=lp)


def _processing_notes(exp: _Experiment) -> list[str]:
    """Stored TopSpin processing steps that the raw route does not reproduce."""
    notes = []
    for which in ("procs", "proc2s"):
        if (exp.procs if which == "procs" else exp.proc2s) is None:
            continue
        bc = int(exp.num("BC_mod", 0, which=which) or 0)
        if bc in (5, 6):
            notes.append(f"{which} BC_mod = {bc} (qfil/qpol solvent filter) is not applied: "
                         "the spectrum differs from TopSpin's near the suppressed line")
        me = int(exp.num("ME_mod", 0, which=which) or 0)
        if me and not (which == "proc2s" and me == 2):
            notes.append(f"{which} ME_mod = {me} (linear prediction) is not applied; only "
                         "forward complex prediction in F1 (ME_mod = 2) is")
    return notes


def _raw_planes(exp: _Experiment, kind: str) -> tuple[list[np.ndarray], str]:
    """Raw complex planes (rows, td2) and the F1 quadrature mode."""
    aq_mod = int(exp.num("AQ_mod", 3))
    if aq_mod not in (1, 3):
        raise DataFormatError(f"{exp.folder}: 'acqus' AQ_mod = {aq_mod}; only simultaneous "
                              "(qsim, 1) or digital quadrature (DQD, 3) detection is supported")
    if kind == "2D":
        t1_dim = "acqu2s"
        n_rows = int(exp.num("TD", which="acqu2s"))
        data = _read_ser(exp, n_rows)
        planes = [data]
    else:
        list_dim, _ = _list_dimension(exp)
        t1_dim = "acqu3s" if list_dim == "acqu2s" else "acqu2s"
        td_t1 = int(exp.num("TD", which=t1_dim))
        td_list = int(exp.num("TD", which=list_dim))
        data = _read_ser(exp, td_t1 * td_list)
        if list_dim == "acqu3s":  # list outermost
            planes = [data[i * td_t1:(i + 1) * td_t1] for i in range(td_list)]
        else:  # t1 outermost, list inner
            planes = [data[i::td_list] for i in range(td_list)]
    code = int(exp.num("FnMODE", 0, which=t1_dim))
    fnmode = exp.fnmode(t1_dim)  # acqu2s FnMODE = 0 falls back on proc2s MC2
    if fnmode is None or fnmode == "QSEQ":
        raise DataFormatError(f"{exp.folder}: F1 quadrature mode not usable ('{t1_dim}' FnMODE ="
                              f" {code}, proc2s MC2 = {exp.num('MC2', None, which='proc2s')}); "
                              "set fnmode in the processing options (States-TPPI, States, TPPI, "
                              "echo-antiecho or QF)")
    return planes, fnmode


def _read_raw(exp: _Experiment, kind: str, options: ProcessingOptions, normalise: bool,
              mix: Any, mix_src: str) -> list[Spectrum2D]:
    planes, fnmode = _raw_planes(exp, kind)
    acq = _acquisition(exp, options.fnmode or fnmode, planes[0].shape[0], planes[0].shape[1])
    ns, rg, norm = _normalisation(exp, normalise)
    nc = int(exp.num("NC", 0))
    mixes = mix if isinstance(mix, list) else [mix] * len(planes)
    done = process_planes([p * norm for p in planes], acq, options, mixes,
                          stored_phases="procs")
    base = _base_metadata(exp)
    notes = _processing_notes(exp)
    out = []
    for i, spec in enumerate(done.spectra):
        meta = dict(base["extra"], NC=nc, fnmode=done.fnmode, grpdly=acq.grpdly,
                    rows_used=planes[i].shape[0], phases_deg=done.phases,
                    phases=done.phases_meta, mixing_time_source=mix_src,
                    sf_mhz_f1=acq.sf_mhz_f1, **done.descriptions[i])
        if notes:
            meta["processing_notes"] = list(notes)
        if len(planes) > 1:
            meta["plane"] = i
        out.append(Spectrum2D(
            data=spec, ppm_f1=done.ppm_f1, ppm_f2=done.ppm_f2,
            nucleus=base["nucleus"], sf_mhz=acq.sf_mhz_f2, mixing_time_s=mixes[i],
            temperature_K=base["temperature_K"], source=exp.given, format="bruker-raw",
            scans=ns, receiver_gain=rg, mas_rate_hz=base["mas_rate_hz"],
            pulse_program=base["pulse_program"], intensity_factor=2.0**nc * norm,
            metadata=meta))
    return out


def read_experiment(folder: str | Path, *, prefer: str = "processed", procno: int = 1,
                    options: ProcessingOptions | None = None, normalise: bool = True,
                    mixing_time: str | float = "D8", rotor_period_s: float | None = None,
                    ) -> list[Spectrum2D]:
    """Read the 2D spectrum (or spectra) of one Bruker experiment folder.

    Parameters
    ----------
    folder : str or Path
        Experiment folder ``<expno>`` (holds acqus, acqu2s, ser, pdata/).
    prefer : {"processed", "raw", "auto"}
        ``"processed"`` reads ``pdata/<procno>/2rr`` (error if absent); ``"raw"`` processes the
        ``ser``; ``"auto"`` uses the 2rr when present, the ser otherwise.
    procno : int
        Processed-data number (also the source of stored window/phase settings for raw data).
    options : ProcessingOptions, optional
        Processing overrides for raw data (ignored for processed data).
    normalise : bool
        Divide by the number of scans NS and the receiver gain RG.
    mixing_time : str or float
        ``"D8"`` / ``"D<n>"``, ``"vdlist"``, ``"vclist*rotor"`` or seconds (see module doc).
    rotor_period_s : float, optional
        Rotor period for ``"vclist*rotor"`` when acqus has no MAS rate, s.

    Returns
    -------
    list of Spectrum2D
        One spectrum for a 2D experiment, one per plane for a pseudo-3D.

    Raises
    ------
    DataFormatError
        Missing or malformed files, 1D / pseudo-2D / 3D data, missing 2rr with
        ``prefer="processed"``; the message names the folder and the file.
    """
    if prefer not in ("processed", "raw", "auto"):
        raise ValueError(f"prefer must be 'processed', 'raw' or 'auto', not {prefer!r}")
    exp = _Experiment(folder, procno)
    kind = _kind(exp)
    _refuse_non_2d(exp, kind)
    has_2rr = (exp.pdata / "2rr").is_file()
    use_processed = prefer == "processed" or (prefer == "auto" and has_2rr)
    if use_processed and kind == "pseudo-3D":
        raise DataFormatError(f"{exp.folder}: processed pseudo-3D data are not supported; "
                              "use prefer='raw'")
    if use_processed and not has_2rr:
        raise DataFormatError(
            f"{exp.folder}: no processed spectrum: looked for {exp.pdata / '2rr'} "
            f"({_processed_procnos(exp)}); process it in TopSpin, choose procno, or read the "
            "raw data with prefer='raw'")
    check_header(exp, processed=use_processed)
    n_planes = None
    if kind == "pseudo-3D":
        list_dim, _ = _list_dimension(exp)
        n_planes = int(exp.num("TD", which=list_dim))
    mix, mix_src = _mixing_times(exp, mixing_time, rotor_period_s, n_planes)
    if n_planes is not None and not (isinstance(mix, list) and len(mix) == n_planes):
        raise DataFormatError(f"{exp.folder}: pseudo-3D with {n_planes} planes but mixing_time="
                              f"{mixing_time!r} gives {mix!r}; use 'vdlist' or 'vclist*rotor'")
    if n_planes is None and isinstance(mix, list):
        raise DataFormatError(f"{exp.folder}: mixing_time={mixing_time!r} gives "
                              f"{len(mix)} values but the experiment holds one 2D spectrum")
    if use_processed:
        return _read_processed(exp, normalise, mix, mix_src)
    return _read_raw(exp, kind, options or ProcessingOptions(), normalise, mix, mix_src)


def _processed_procnos(exp: _Experiment) -> str:
    """Which procnos of the experiment hold a 2rr, for messages."""
    pdata = exp.folder / "pdata"
    found = sorted((p.name for p in pdata.iterdir() if (p / "2rr").is_file()),
                   key=lambda n: (len(n), n)) if pdata.is_dir() else []
    if not found:
        return "no procno of pdata/ holds a 2rr"
    return f"2rr found in procno {', '.join(found)}"


def read_experiments(folders: Sequence[str | Path], *, options: ProcessingOptions | None = None,
                     **kwargs: Any) -> list[Spectrum2D]:
    """Read several raw experiments with identical processing and one shared phase correction.

    With ``options.auto_phase`` the phases are optimised once, on the spectrum with the
    shortest mixing time, and applied to every spectrum (one phase for the
    whole series).  Other keyword arguments go to :func:`read_experiment` (``prefer`` is
    forced to ``"raw"``).
    """
    options = options or ProcessingOptions()
    kwargs["prefer"] = "raw"
    if not options.auto_phase:
        return [s for f in folders for s in read_experiment(f, options=options, **kwargs)]
    if not folders:
        return []
    header = {k: kwargs[k] for k in ("procno", "mixing_time", "rotor_period_s") if k in kwargs}

    def shortest(folder: str | Path) -> float:
        mix = read_metadata(folder, **header)["mixing_time_s"]
        mix = [m for m in (mix if isinstance(mix, list) else [mix]) if m is not None]
        return min(mix, default=np.inf)

    # only the folder with the shortest mixing time is phased (process_planes phases its
    # shortest plane): the headers give the mixing times without processing every folder
    ref_folder = min(folders, key=shortest)
    ref = min(read_experiment(ref_folder, options=options, **kwargs),
              key=lambda s: s.mixing_time_s if s.mixing_time_s is not None else np.inf)
    p0_2, p1_2, p0_1, p1_1 = ref.metadata["phases_deg"]
    fixed = replace(options, auto_phase=False, p0_f2=p0_2, p1_f2=p1_2, p0_f1=p0_1, p1_f1=p1_1)
    return [s for f in folders for s in read_experiment(f, options=fixed, **kwargs)]
