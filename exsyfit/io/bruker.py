"""Bruker experiment folders (``<expno>/acqus``, ``ser``, ``pdata/<procno>/2rr``): read and write.

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

Writing (simulated data)
------------------------
:func:`write_processed` and :func:`write_raw` create minimal TopSpin-like experiment folders
that :func:`read_experiment` reads back to the same spectrum / the same peak volumes.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping, Sequence
from dataclasses import replace
from pathlib import Path
from typing import Any

import nmrglue as ng
import numpy as np

from exsyfit.errors import DataFormatError, OutputExistsError
from exsyfit.io.spectrum import Spectrum2D
from exsyfit.processing.lineshapes import SimPeak
from exsyfit.processing.transforms import (
    AcquisitionParameters,
    ProcessingOptions,
    auto_phase,
    finish_2d,
    processing_description,
    resolved_phases,
    transform_2d,
)

__all__ = [
    "is_bruker_experiment",
    "read_experiment",
    "read_experiments",
    "read_metadata",
    "topspin_processing",
    "write_processed",
    "write_raw",
]

_FNMODE_CODES = {1: "QF", 2: "QSEQ", 3: "TPPI", 4: "States", 5: "States-TPPI",
                 6: "echo-antiecho"}
_MC2_CODES = {0: "QF", 1: "QSEQ", 2: "TPPI", 3: "States", 4: "States-TPPI", 5: "echo-antiecho"}
_FNMODE_TO_CODE = {v: k for k, v in _FNMODE_CODES.items()}
_FNMODE_TO_MC2 = {v: k for k, v in _MC2_CODES.items()}
_WDW_CODES = {0: "none", 1: "em", 2: "gm", 3: "sine", 4: "qsine"}
_WDW_TO_CODE = {v: k for k, v in _WDW_CODES.items()}
_LIST_FILES = ("vdlist", "vclist")
_REQUIRED = object()


# --------------------------------------------------------------------------------------------
# Parameter files
# --------------------------------------------------------------------------------------------


def _read_jcamp(path: Path, folder: Path) -> dict[str, Any]:
    """Parse a JCAMP-DX parameter file; unreadable files raise DataFormatError."""
    try:
        dic = ng.bruker.read_jcamp(str(path), encoding="latin-1")
    except Exception as exc:  # nmrglue raises assorted errors on broken files
        raise DataFormatError(
            f"{folder}: cannot parse parameter file '{path.name}' ({path}): {exc}") from exc
    if not isinstance(dic, dict) or len(dic) <= 2:
        raise DataFormatError(
            f"{folder}: parameter file '{path.name}' ({path}) holds no '##$KEY= value' "
            "parameters; expected a TopSpin JCAMP-DX parameter file")
    return dic


def _optional_file(folder: Path, rel: str) -> dict[str, Any] | None:
    path = folder / rel
    return _read_jcamp(path, folder) if path.is_file() else None


def _value(dic: dict[str, Any], key: str, fname: str, folder: Path,
           default: Any = _REQUIRED, index: int | None = None) -> Any:
    """A numeric parameter (``index`` for arrays such as D, CNST); raise if not a number."""
    if key not in dic:
        if default is _REQUIRED:
            raise DataFormatError(f"{folder}: parameter {key} is missing from '{fname}'")
        return default
    raw = dic[key]
    shown = f"{key}" if index is None else f"{key}[{index}]"
    if index is not None:
        if not isinstance(raw, list) or index >= len(raw):
            if default is _REQUIRED:
                raise DataFormatError(
                    f"{folder}: parameter {shown} is missing from '{fname}' (found {raw!r})")
            return default
        raw = raw[index]
    if isinstance(raw, bool) or not isinstance(raw, (int, float)) or not math.isfinite(raw):
        raise DataFormatError(
            f"{folder}: parameter {shown} in '{fname}' is {raw!r}; expected a number")
    return raw


def _text(dic: dict[str, Any], key: str) -> str | None:
    v = dic.get(key)
    if v is None:
        return None
    v = str(v).strip().strip("<>").strip()
    return v or None


class _Experiment:
    """Parameter files of one experiment folder, read once."""

    def __init__(self, folder: str | Path, procno: int):
        self.given = str(folder)
        self.folder = Path(folder)
        self.procno = procno
        if not self.folder.is_dir():
            raise DataFormatError(f"{self.folder}: not a folder (expected a Bruker experiment "
                                  "folder <expno> holding acqus and ser/fid)")
        if not (self.folder / "acqus").is_file():
            hint = ""
            if (self.folder / "procs").is_file():
                hint = (" This looks like a processed-data folder (pdata/<procno>); give the "
                        "experiment folder two levels up and choose procno instead.")
            raise DataFormatError(f"{self.folder}: no 'acqus' file, so this is not a Bruker "
                                  f"experiment folder.{hint}")
        self.acqus = _read_jcamp(self.folder / "acqus", self.folder)
        self.acqu2s = _optional_file(self.folder, "acqu2s")
        self.acqu3s = _optional_file(self.folder, "acqu3s")
        self.pdata = self.folder / "pdata" / str(procno)
        self.procs = _optional_file(self.folder, f"pdata/{procno}/procs")
        self.proc2s = _optional_file(self.folder, f"pdata/{procno}/proc2s")

    # -- helpers ---------------------------------------------------------------------------
    def num(self, key: str, default: Any = _REQUIRED, index: int | None = None,
            which: str = "acqus") -> Any:
        dic = {"acqus": self.acqus, "acqu2s": self.acqu2s, "acqu3s": self.acqu3s,
               "procs": self.procs, "proc2s": self.proc2s}[which]
        if dic is None:
            if default is _REQUIRED:
                raise DataFormatError(f"{self.folder}: file '{which}' is missing")
            return default
        return _value(dic, key, which if which.startswith("acqu") else
                      f"pdata/{self.procno}/{which}", self.folder, default, index)

    @property
    def ndim(self) -> int:
        return 3 if self.acqu3s is not None else 2 if self.acqu2s is not None else 1

    def fnmode(self, which: str = "acqu2s") -> str | None:
        code = int(self.num("FnMODE", 0, which=which))
        if code == 0 and which == "acqu2s" and self.proc2s is not None:
            mc2 = int(self.num("MC2", -1, which="proc2s"))
            return _MC2_CODES.get(mc2)
        return _FNMODE_CODES.get(code)

    def sf(self, which: str) -> float:
        """Reference frequency SF (procs/proc2s) or BF1 of the matching acqu file, MHz."""
        acq = "acqus" if which == "procs" else "acqu2s"
        sf = self.num("SF", None, which=which)
        return float(sf) if sf else float(self.num("BF1", which=acq))

    def list_values(self, name: str) -> list[float] | None:
        path = self.folder / name
        if not path.is_file():
            return None
        return _parse_list(path, self.folder, counters=(name == "vclist"))


def _parse_list(path: Path, folder: Path, counters: bool) -> list[float]:
    """Values of a TopSpin vdlist (seconds; suffixes s, m, u, n) or vclist (integers)."""
    units = {"": 1.0, "s": 1.0, "m": 1e-3, "ms": 1e-3, "u": 1e-6, "us": 1e-6, "n": 1e-9,
             "ns": 1e-9}
    values = []
    pattern = re.compile(r"^([-+]?(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?)\s*([a-zA-Z]*)$")
    for lineno, line in enumerate(path.read_text(encoding="latin-1").splitlines(), start=1):
        text = line.split("#")[0].strip()
        if not text:
            continue
        m = pattern.match(text)
        unit = m.group(2).lower() if m else None
        if m is None or unit not in units or (counters and unit):
            kind = "an integer loop counter" if counters else "a delay such as 10m or 0.5"
            raise DataFormatError(f"{folder}: '{path.name}' line {lineno} is {text!r}; "
                                  f"expected {kind}")
        values.append(float(m.group(1)) * (1.0 if counters else units[unit]))
    if not values:
        raise DataFormatError(f"{folder}: '{path.name}' is empty")
    return values


# --------------------------------------------------------------------------------------------
# Metadata
# --------------------------------------------------------------------------------------------


def is_bruker_experiment(folder: str | Path) -> bool:
    """True if ``folder`` looks like a Bruker experiment (``acqus`` plus ``fid``/``ser``/pdata)."""
    p = Path(folder)
    return p.is_dir() and (p / "acqus").is_file() and any(
        (p / n).exists() for n in ("ser", "fid", "pdata"))


def _mas_rate(exp: _Experiment) -> tuple[float | None, str | None]:
    masr = exp.num("MASR", None)
    if masr is not None and masr > 0:
        return float(masr), "MASR"
    cnst31 = exp.num("CNST", None, index=31)
    if cnst31 is not None and cnst31 > 0:
        return float(cnst31), "CNST31"
    return None, None


def _temperature(exp: _Experiment) -> float | None:
    te = exp.num("TE", None)
    return float(te) if te is not None and te > 0 else None


def _list_dimension(exp: _Experiment) -> tuple[str | None, str | None]:
    """(acqu file of the list dimension, list name) for pseudo-nD data, else (None, None)."""
    candidates = ["acqu2s"] + (["acqu3s"] if exp.ndim == 3 else [])
    for which in candidates:
        code = int(exp.num("FnMODE", 0, which=which))
        if code not in (0, 1):
            continue
        if code == 0 and which == "acqu2s" and exp.fnmode("acqu2s") not in (None, "QF"):
            continue  # old data: FnMODE undefined but proc2s MC2 gives a 2D quadrature mode
        td = int(exp.num("TD", which=which))
        for name in _LIST_FILES:
            vals = exp.list_values(name)
            if vals is not None and len(vals) == td:
                return which, name
    return None, None


def _kind(exp: _Experiment) -> str:
    if exp.ndim == 1:
        return "1D"
    list_dim, _ = _list_dimension(exp)
    if exp.ndim == 2:
        return "pseudo-2D" if list_dim else "2D"
    return "pseudo-3D" if list_dim else "3D"


def _mixing_times(exp: _Experiment, spec: str | float, rotor_period_s: float | None,
                  n_planes: int | None) -> tuple[list[float] | float | None, str]:
    """Mixing time(s) in seconds and a description of where they came from."""
    if isinstance(spec, (int, float)) and not isinstance(spec, bool):
        return float(spec), "given"
    s = str(spec).strip()
    m = re.fullmatch(r"[dD](\d+)", s)
    if m:
        if n_planes:
            for name in ("vdlist", "vclist*rotor"):
                try:
                    vals, src = _mixing_times(exp, name, rotor_period_s, None)
                except DataFormatError:
                    continue
                if isinstance(vals, list) and len(vals) == n_planes:
                    return vals, src
        return float(exp.num("D", index=int(m.group(1)))), f"D{m.group(1)}"
    if s.lower() == "vdlist":
        vals = exp.list_values("vdlist")
        if vals is None:
            raise DataFormatError(f"{exp.folder}: mixing_time='vdlist' but there is no "
                                  "'vdlist' file in the experiment folder")
        return vals, "vdlist"
    if s.lower().replace(" ", "") in ("vclist*rotor", "vclist"):
        vals = exp.list_values("vclist")
        if vals is None:
            raise DataFormatError(f"{exp.folder}: mixing_time='vclist*rotor' but there is no "
                                  "'vclist' file in the experiment folder")
        period = rotor_period_s
        if period is None:
            rate, _ = _mas_rate(exp)
            if rate is None:
                raise DataFormatError(
                    f"{exp.folder}: mixing_time='vclist*rotor' needs the rotor period, but "
                    "acqus has no MAS rate (MASR or CNST31 > 0); pass rotor_period_s")
            period = 1.0 / rate
        return [v * period for v in vals], "vclist*rotor"
    raise DataFormatError(f"{exp.folder}: mixing_time={spec!r} not understood; expected "
                          "'D8' (any D<n>), 'vdlist', 'vclist*rotor' or a number of seconds")


def read_metadata(folder: str | Path, *, procno: int = 1, mixing_time: str | float = "D8",
                  rotor_period_s: float | None = None) -> dict[str, Any]:
    """Header information of an experiment folder, without reading the data.

    Parameters
    ----------
    folder : str or Path
        Bruker experiment folder (``<expno>``).
    procno : int
        Processed-data number looked up for ``has_2rr`` and SI.
    mixing_time : str or float
        Where the mixing time comes from (see module doc).
    rotor_period_s : float, optional
        Rotor period for ``"vclist*rotor"``, s.

    Returns
    -------
    dict
        ``folder, dimensionality ("1D", "2D", "pseudo-2D", "3D", "pseudo-3D"), nucleus,
        nucleus_f1, sf_mhz, temperature_K, scans, receiver_gain, mas_rate_hz, mas_rate_source,
        pulse_program, td (tuple of TD values), si (tuple or None), fnmode, has_2rr, has_ser,
        has_fid, mixing_time_s (float, list or None), mixing_time_source, mixing_time_error``.
    """
    exp = _Experiment(folder, procno)
    kind = _kind(exp)
    td = [int(exp.num("TD"))]
    if exp.acqu2s is not None:
        td.append(int(exp.num("TD", which="acqu2s")))
    if exp.acqu3s is not None:
        td.append(int(exp.num("TD", which="acqu3s")))
    si = None
    if exp.procs is not None:
        si = [int(exp.num("SI", which="procs"))]
        if exp.proc2s is not None:
            si.append(int(exp.num("SI", which="proc2s")))
    rate, rate_src = _mas_rate(exp)
    n_planes = None
    if kind == "pseudo-3D":
        list_dim, _ = _list_dimension(exp)
        n_planes = int(exp.num("TD", which=list_dim))
    mix: Any = None
    mix_src = None
    mix_err = None
    try:
        mix, mix_src = _mixing_times(exp, mixing_time, rotor_period_s, n_planes)
    except DataFormatError as exc:
        mix_err = str(exc)
    sf = exp.sf("procs") if exp.procs is not None else float(exp.num("BF1"))
    return {
        "folder": str(folder),
        "dimensionality": kind,
        "nucleus": _text(exp.acqus, "NUC1"),
        "nucleus_f1": _text(exp.acqu2s, "NUC1") if exp.acqu2s else None,
        "sf_mhz": sf,
        "temperature_K": _temperature(exp),
        "scans": int(exp.num("NS")),
        "receiver_gain": float(exp.num("RG")),
        "mas_rate_hz": rate,
        "mas_rate_source": rate_src,
        "pulse_program": _text(exp.acqus, "PULPROG"),
        "td": tuple(td),
        "si": tuple(si) if si else None,
        "fnmode": exp.fnmode() if exp.acqu2s is not None else None,
        "has_2rr": (exp.pdata / "2rr").is_file(),
        "has_ser": (exp.folder / "ser").is_file(),
        "has_fid": (exp.folder / "fid").is_file(),
        "mixing_time_s": mix,
        "mixing_time_source": mix_src,
        "mixing_time_error": mix_err,
    }


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

    Where no exact profile exists, ``{"mode": "unsupported", "reason": ...}`` is returned:
    TPPI (real t1 points) and QF / QSEQ F1 data, other windows (TRAF, SINC, ...), missing or
    non-positive TD / SW, and a digitally filtered direct dimension (``grpdly > 0``):
    TopSpin applies the window and FCOR to the FID before it removes the filter's group
    delay, which this description does not model.

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
        if grpdly > 0:
            return _unsupported(f"digitally filtered direct dimension (group delay {grpdly:g} "
                                "points): TopSpin windows the FID before removing the delay, "
                                "which is not modelled")
    td = _param(acqu, "TD")
    if td is None or td < 2:
        return _unsupported(f"{acq_name} TD = {acqu.get('TD')!r}; expected at least 2 points")
    tdeff = _param(proc, "TDeff", 0.0) or 0.0
    used = int(tdeff) if 0 < tdeff < td else int(td)
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
    return {"mode": "complex", "td_complex": max(used // 2, 1), "sw_hz": float(sw),
            "sf_mhz": float(sf), "window": _WDW_CODES[wdw],
            "lb_hz": float(_param(proc, "LB", 0.0) or 0.0), "gb": float(gb),
            "ssb": float(_param(proc, "SSB", 0.0) or 0.0),
            "size": int(_param(proc, "SI", 0) or 0), "first_point_scale": float(fcor),
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
        "extra": {"mas_rate_source": src, "TE_raw": exp.num("TE", None),
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
        vals[f"size_{suf}"] = si if si >= 8 else None
        vals[f"p0_{suf}"] = float(exp.num("PHC0", 0.0, which=which))
        vals[f"p1_{suf}"] = float(exp.num("PHC1", 0.0, which=which))
    return ProcessingOptions(**vals)


def _acquisition(exp: _Experiment, fnmode: str) -> AcquisitionParameters:
    sf2 = exp.sf("procs") if exp.procs is not None else float(exp.num("BF1"))
    sf1 = exp.sf("proc2s") if exp.proc2s is not None else float(exp.num("BF1", which="acqu2s"))
    sfo2 = float(exp.num("SFO1"))
    sfo1 = float(exp.num("SFO1", which="acqu2s"))
    sw1 = float(exp.num("SW_h", which="acqu2s"))
    sw2 = float(exp.num("SW_h"))
    if sw1 <= 0 or sw2 <= 0:
        raise DataFormatError(f"{exp.folder}: spectral width SW_h must be positive (acqus "
                              f"{sw2}, acqu2s {sw1})")
    return AcquisitionParameters(
        sw_hz_f2=sw2, sw_hz_f1=sw1, sf_mhz_f2=sf2, sf_mhz_f1=sf1,
        carrier_ppm_f2=(sfo2 / sf2 - 1.0) * 1e6, carrier_ppm_f1=(sfo1 / sf1 - 1.0) * 1e6,
        fnmode=fnmode, grpdly=_group_delay(exp), defaults=_file_defaults(exp))


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
    fnmode = _FNMODE_CODES.get(code)
    if code == 0:
        fnmode = exp.fnmode("acqu2s") if t1_dim == "acqu2s" else None
    if fnmode is None or fnmode == "QSEQ":
        raise DataFormatError(f"{exp.folder}: F1 quadrature mode not usable ('{t1_dim}' FnMODE ="
                              f" {code}, proc2s MC2 = {exp.num('MC2', None, which='proc2s')}); "
                              "set fnmode in the processing options (States-TPPI, States, TPPI, "
                              "echo-antiecho or QF)")
    return planes, fnmode


def _read_raw(exp: _Experiment, kind: str, options: ProcessingOptions, normalise: bool,
              mix: Any, mix_src: str) -> list[Spectrum2D]:
    planes, fnmode = _raw_planes(exp, kind)
    acq = _acquisition(exp, options.fnmode or fnmode)
    ns, rg, norm = _normalisation(exp, normalise)
    nc = int(exp.num("NC", 0))
    hcs = [transform_2d(p * norm, acq, options) for p in planes]
    phases = resolved_phases(options, acq)
    mixes = mix if isinstance(mix, list) else [mix] * len(hcs)
    if options.auto_phase:
        ref = int(np.argmin([m if m is not None else np.inf for m in mixes]))
        phases = auto_phase([hcs[ref]], start=phases)
    base = _base_metadata(exp)
    out = []
    for i, hc in enumerate(hcs):
        meta = dict(base["extra"], NC=nc, fnmode=acq.fnmode, grpdly=acq.grpdly,
                    rows_used=planes[i].shape[0], phases_deg=phases,
                    mixing_time_source=mix_src, sf_mhz_f1=acq.sf_mhz_f1,
                    **processing_description(acq, options, planes[i].shape[0],
                                             planes[i].shape[1]))
        if len(hcs) > 1:
            meta["plane"] = i
        out.append(Spectrum2D(
            data=finish_2d(hc, phases, options), ppm_f1=hc.ppm_f1, ppm_f2=hc.ppm_f2,
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
            f"{exp.folder}: no processed spectrum 'pdata/{procno}/2rr' "
            f"({'the pdata folder exists but holds no 2rr' if exp.pdata.is_dir() else 'no such pdata folder'}); "  # noqa: E501
            "process it in TopSpin or read the raw data with prefer='raw'")
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
    first = [s for f in folders for s in read_experiment(f, options=options, **kwargs)]
    if not first:
        return first
    ref = min(first, key=lambda s: s.mixing_time_s if s.mixing_time_s is not None else np.inf)
    p0_2, p1_2, p0_1, p1_1 = ref.metadata["phases_deg"]
    fixed = replace(options, auto_phase=False, p0_f2=p0_2, p1_f2=p1_2, p0_f1=p0_1, p1_f1=p1_1)
    return [s for f in folders for s in read_experiment(f, options=fixed, **kwargs)]


# --------------------------------------------------------------------------------------------
# Writers (simulated data)
# --------------------------------------------------------------------------------------------


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
        "_comments": ["$$ simulated data written by exsyfit.io.bruker"],
    }
    for key, value in params.items():  # plain Python types, so numbers are written as such
        if isinstance(value, list):
            dic[key] = [v.item() if isinstance(v, np.generic) else v for v in value]
        else:
            dic[key] = value.item() if isinstance(value, np.generic) else value
    ng.bruker.write_jcamp(dic, str(path), overwrite=True)


def _acqus_params(*, nucleus: str, sf_mhz: float, o1_ppm: float, sw_hz: float, td: int,
                  ns: int, rg: float, te_K: float, d8_s: float, masr_hz: float,
                  pulse_program: str, extra: dict[str, Any] | None = None) -> dict[str, Any]:
    d = [0.0] * 64
    d[8] = float(d8_s)
    params = {
        "NUC1": nucleus, "BF1": float(sf_mhz), "SFO1": float(sf_mhz) * (1 + o1_ppm * 1e-6),
        "O1": float(o1_ppm * sf_mhz), "SW_h": float(sw_hz), "SW": float(sw_hz / sf_mhz),
        "TD": int(td), "NS": int(ns), "RG": float(rg), "TE": float(te_K), "D": d,
        "CNST": [0.0] * 64, "MASR": float(masr_hz), "PULPROG": pulse_program,
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
                    pulse_program: str = "noesyph", overwrite: bool = False,
                    parameters: Mapping[str, Mapping[str, Any]] | None = None) -> Path:
    """Write a spectrum as a TopSpin-like processed experiment (acqus, acqu2s, procs, 2rr).

    The 2rr holds ``round(data * ns * rg / 2**NC_proc)`` as little-endian int32, with
    ``NC_proc`` chosen (unless given) so the largest value lies between 2**29 and 2**30, so that
    ``read_experiment(folder)`` returns ``spectrum.data`` to about 1e-9 relative precision and
    the same ppm axes.

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
        nucleus=nuc, sf_mhz=sf, o1_ppm=car2, sw_hz=sw[1], td=si2, ns=ns, rg=rg, te_K=te,
        d8_s=d8, masr_hz=masr, pulse_program=pulse_program), **extra["acqus"], **scale},
        "acqus")
    _write_jcamp(folder / "acqu2s", {**_acqus_params(
        nucleus=nuc, sf_mhz=sf, o1_ppm=car1, sw_hz=sw[0], td=si1, ns=ns, rg=rg, te_K=te,
        d8_s=d8, masr_hz=masr, pulse_program=pulse_program,
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


def _decay(t: np.ndarray, fwhm_hz: float, eta: float) -> np.ndarray:
    """Pseudo-Voigt time-domain decay whose spectrum has FWHM ``fwhm_hz`` and unit t=0 value."""
    x = np.pi * fwhm_hz * t
    return eta * np.exp(-x) + (1.0 - eta) * np.exp(-(x**2) / (4.0 * np.log(2.0)))


def _delay(signal: np.ndarray, points: float) -> np.ndarray:
    """Band-limited delay of each row by ``points`` (fractional), pre-echo kept at the start."""
    n = signal.shape[-1]
    buf = np.zeros(signal.shape[:-1] + (2 * n,), complex)
    buf[..., :n] = signal
    f = np.fft.fftfreq(2 * n)
    return np.fft.ifft(np.fft.fft(buf, axis=-1) * np.exp(-2j * np.pi * points * f),
                       axis=-1)[..., :n]


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
        c = np.exp(1j * (2 * np.pi * (nu + sw1 / 2.0) * t + th)) * _decay(t, w, eta)
        return c.real.astype(complex)
    k = np.arange(rows // 2)[None, :]
    t = k / sw1
    c = np.exp(1j * (2 * np.pi * nu * t + th)) * _decay(t, w, eta)
    if fnmode == "States-TPPI":
        c = c * (-1.0) ** k
    out = np.zeros((len(peaks), rows), complex)
    if fnmode in ("States", "States-TPPI"):
        out[:, 0:2 * c.shape[1]:2] = c.real
        out[:, 1:2 * c.shape[1]:2] = c.imag
    elif fnmode == "echo-antiecho":
        out[:, 0:2 * c.shape[1]:2] = c
        out[:, 1:2 * c.shape[1]:2] = np.conj(c)
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
              pulse_program: str = "noesyph", overwrite: bool = False) -> Path:
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
    s2 = amp * np.exp(1j * (2 * np.pi * nu2 * t2 + theta)) * _decay(t2, w2, eta2)
    if grpdly > 0:
        s2[:, 0] *= 0.5
    s2 = _delay(s2, grpdly + p1 / 360.0)
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
        te_K=te_K, d8_s=d8_s, masr_hz=masr_hz, pulse_program=pulse_program,
        extra=acq_extra), "acqus")
    _write_jcamp(folder / "acqu2s", _acqus_params(
        nucleus=nucleus, sf_mhz=sf_mhz, o1_ppm=car1, sw_hz=sw1, td=td1, ns=ns, rg=rg,
        te_K=te_K, d8_s=d8_s, masr_hz=masr_hz, pulse_program=pulse_program,
        extra={"FnMODE": _FNMODE_TO_CODE[fnmode]}), "acqu2s")
    pdata = folder / "pdata" / "1"
    _write_jcamp(pdata / "procs", _procs_params(
        si=si2, sf_mhz=sf_mhz, offset=car2 + sw_ppm_f2 / 2.0, sw_hz=sw2,
        extra={"PHC0": float(p0), "PHC1": float(p1), "FCOR": 1.0 if grpdly > 0 else 0.5}),
        "procs")
    _write_jcamp(pdata / "proc2s", _procs_params(
        si=si1, sf_mhz=sf_mhz, offset=car1 + sw_ppm_f1 / 2.0, sw_hz=sw1,
        extra={"PHC0": float(p0_f1), "MC2": _FNMODE_TO_MC2[fnmode],
               "WDW": _WDW_TO_CODE[window_f1], "SSB": float(ssb_f1)}), "proc2s")
    return folder
