"""NMRPipe processed 2D spectra (``.ft2``, ``.ft``, ``.DAT``, ``.pipe``), read through nmrglue.

What is read
------------
* The 2048-byte header and the real data (:func:`nmrglue.pipe.read`); a transposed file
  (``FDTRANSPOSED``) is put back with F1 (first indirect, ``FDF1``) along rows and F2
  (direct, ``FDF2``) along columns.
* ppm axes from ``FDF<n>SW``, ``FDF<n>OBS`` and ``FDF<n>ORIG`` (nmrglue's unit conversion:
  point i at ``(ORIG + SW - (i + 1) SW / N) / OBS``); SW and OBS must be positive (nmrglue
  would silently take 1).
* Nucleus from ``FDF2LABEL`` (``"7Li"``, ``"Li7"``, ``"H1"``), spectrometer frequency
  ``FDF2OBS`` (MHz).
* Temperature: ``FDTEMPERATURE`` is in degrees Celsius; 0 is read as "not recorded" (set
  the sample temperature in ``[temperature] per_experiment``).
* No mixing time: give it per experiment (``[data] mixing_time = {"exsy_10ms.ft2" = 0.01,
  ...}``) or, for a single spectrum, as ``mixing_time`` in seconds.

Intensities are used as stored (see :mod:`exsyfit.io.fileformats`).
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import numpy as np

from exsyfit.errors import DataFormatError
from exsyfit.io.bruker_checks import MAX_TEMPERATURE_K
from exsyfit.io.fileformats import check_file_size, spectrum_from_arrays
from exsyfit.io.metadata import nucleus_name
from exsyfit.io.spectrum import Spectrum2D

__all__ = ["SUFFIXES", "is_nmrpipe_spectrum", "read_metadata", "read_experiment"]

#: File name endings recognised as NMRPipe spectra (any case).
SUFFIXES = (".ft2", ".ft", ".dat", ".pipe")
_HEADER_BYTES = 2048
_KELVIN = 273.15


def is_nmrpipe_spectrum(path: str | os.PathLike) -> bool:
    """True for a file with an NMRPipe ending and header (FDFLTORDER = 2.345)."""
    p = Path(path)
    if not p.is_file() or p.suffix.lower() not in SUFFIXES:
        return False
    try:
        head = p.read_bytes()[:12] if p.stat().st_size >= 12 else b""
    except OSError:
        return False
    if len(head) < 12:
        return False
    return any(abs(float(np.frombuffer(head, dtype=f"{o}f4")[2]) - 2.345) < 1e-4
               for o in "<>")


def _header(path: Path) -> tuple[dict[str, Any], np.ndarray]:
    import nmrglue as ng

    if not is_nmrpipe_spectrum(path):
        raise DataFormatError(f"{path}: not an NMRPipe spectrum; expected a file ending in "
                              f"{', '.join(SUFFIXES)} with an NMRPipe header")
    check_file_size(path, _HEADER_BYTES)
    try:
        dic, data = ng.pipe.read(str(path))
    except Exception as exc:  # nmrglue raises assorted errors on broken files
        raise DataFormatError(f"{path}: cannot read the NMRPipe file ({exc})") from exc
    return dic, np.asarray(data)


def _value(dic: dict[str, Any], key: str, path: Path) -> float:
    v = dic.get(key)
    if not isinstance(v, int | float) or not np.isfinite(v) or v <= 0:
        raise DataFormatError(f"{path}: header {key} = {v!r}; expected a positive number")
    return float(v)


def _temperature(dic: dict[str, Any]) -> float | None:
    t = dic.get("FDTEMPERATURE")
    if not isinstance(t, int | float) or not np.isfinite(t) or t == 0:
        return None
    kelvin = float(t) + _KELVIN
    return kelvin if 0 < kelvin <= MAX_TEMPERATURE_K else None


def read_metadata(path: str | os.PathLike, **_: Any) -> dict[str, Any]:
    """Header facts of an NMRPipe spectrum (reads the file through nmrglue).

    Returns
    -------
    dict
        ``format`` ("nmrpipe"), ``nucleus``, ``sf_mhz``, ``temperature_K`` (or None),
        ``size`` (``"n_f1xn_f2"``), ``ndim``, ``mixing_time_s`` (None: not in the format).
    """
    p = Path(path)
    dic, data = _header(p)
    return {
        "format": "nmrpipe", "folder": str(p), "nucleus": _label(dic),
        "sf_mhz": _value(dic, "FDF2OBS", p), "temperature_K": _temperature(dic),
        "size": "x".join(str(n) for n in data.shape), "ndim": int(data.ndim),
        "mixing_time_s": None, "has_processed": True, "has_raw": False,
    }


def _label(dic: dict[str, Any]) -> str:
    label = str(dic.get("FDF2LABEL", "")).strip()
    return nucleus_name(label) or label


def read_experiment(path: str | os.PathLike, *, mixing_time: float | None = None,
                    **_: Any) -> list[Spectrum2D]:
    """Read an NMRPipe 2D spectrum.

    Parameters
    ----------
    path : path-like
        The spectrum file.
    mixing_time : float, optional
        Mixing time, s (the format has none).

    Returns
    -------
    list of Spectrum2D
        One spectrum, ``format = "nmrpipe"``.

    Raises
    ------
    DataFormatError
        Not an NMRPipe file, not 2D, complex data, bad widths or frequencies, too large.
    """
    import nmrglue as ng

    p = Path(path)
    dic, data = _header(p)
    if data.ndim != 2 or dic.get("FDDIMCOUNT") != 2:
        raise DataFormatError(f"{p}: FDDIMCOUNT = {dic.get('FDDIMCOUNT')!r} (data shape "
                              f"{data.shape}); expected a 2D spectrum")
    for dim in ("FDF1", "FDF2"):
        if dic.get(f"{dim}QUADFLAG") != 1:
            raise DataFormatError(f"{p}: {dim}QUADFLAG = {dic.get(f'{dim}QUADFLAG')!r}; "
                                  "expected 1 (real data: delete the imaginaries, nmrPipe -di)")
        _value(dic, f"{dim}SW", p)
        _value(dic, f"{dim}OBS", p)
    order = list(dic.get("FDDIMORDER", []))[:2]
    if sorted(order) != [1.0, 2.0]:
        raise DataFormatError(f"{p}: FDDIMORDER starts {order!r}; expected the dimensions 2 "
                              "and 1 (F2, F1) of a 2D spectrum")
    ppm = [ng.pipe.make_uc(dic, data, dim).ppm_scale() for dim in (0, 1)]
    if order[0] != 2:  # transposed: the direct dimension F2 runs along axis 0
        data, ppm = data.T, ppm[::-1]
    spec = spectrum_from_arrays(
        p, data, ppm[0], ppm[1], nucleus=_label(dic), sf_mhz=_value(dic, "FDF2OBS", p),
        fmt="nmrpipe", temperature_K=_temperature(dic), temperature_key="FDTEMPERATURE",
        metadata={"sf_mhz_f1": _value(dic, "FDF1OBS", p),
                  "nucleus_f1": nucleus_name(str(dic.get("FDF1LABEL", ""))),
                  "transposed": order[0] != 2},
        mixing_time=mixing_time)
    return [spec]
