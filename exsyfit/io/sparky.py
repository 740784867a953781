"""Sparky processed 2D spectra (``.ucsf``), read through nmrglue.

What is read
------------
* The UCSF header and the (real, tiled) data (:func:`nmrglue.sparky.read`).  Sparky names
  the axes w1 (indirect, F1) and w2 (direct, F2).
* ppm axes from each axis' ``spectral_width`` (Hz), ``spectrometer_freq`` (MHz), ``xmtr_freq``
  / ``center`` through nmrglue's unit conversion; width and frequency must be positive.
* Nucleus from ``w2`` ``nucleus`` (``"7Li"``, ``"1H"``).
* The format has no temperature and no mixing time: give them per experiment in the config
  (``[temperature] per_experiment`` and ``[data] mixing_time = {"exsy_10ms.ucsf" = 0.01}``).

Intensities are used as stored (see :mod:`exsyfit.io.fileformats`).
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import numpy as np

from exsyfit.errors import DataFormatError
from exsyfit.io.fileformats import check_file_size, spectrum_from_arrays
from exsyfit.io.metadata import nucleus_name
from exsyfit.io.spectrum import Spectrum2D

__all__ = ["SUFFIXES", "is_sparky_spectrum", "read_metadata", "read_experiment"]

#: File name endings recognised as Sparky spectra (any case).
SUFFIXES = (".ucsf",)
_MAGIC = b"UCSF NMR"
_HEADER_BYTES = 180 + 2 * 128


def is_sparky_spectrum(path: str | os.PathLike) -> bool:
    """True for a ``.ucsf`` file starting with the UCSF magic."""
    p = Path(path)
    if not p.is_file() or p.suffix.lower() not in SUFFIXES:
        return False
    try:
        with open(p, "rb") as f:
            return f.read(len(_MAGIC)) == _MAGIC
    except OSError:
        return False


def _read(path: Path) -> tuple[dict[str, Any], np.ndarray]:
    import nmrglue as ng

    if not is_sparky_spectrum(path):
        raise DataFormatError(f"{path}: not a Sparky spectrum; expected a .ucsf file starting "
                              "with 'UCSF NMR'")
    check_file_size(path, _HEADER_BYTES)
    try:
        dic, data = ng.sparky.read(str(path))
    except Exception as exc:  # nmrglue raises assorted errors on broken files
        raise DataFormatError(f"{path}: cannot read the Sparky file ({exc})") from exc
    return dic, np.asarray(data)


def _axis_value(dic: dict[str, Any], axis: str, key: str, path: Path) -> float:
    v = dic.get(axis, {}).get(key)
    if not isinstance(v, int | float) or not np.isfinite(v) or v <= 0:
        raise DataFormatError(f"{path}: header {axis} {key} = {v!r}; expected a positive "
                              "number")
    return float(v)


def _label(dic: dict[str, Any]) -> str:
    label = str(dic.get("w2", {}).get("nucleus", "")).strip()
    return nucleus_name(label) or label


def read_metadata(path: str | os.PathLike, **_: Any) -> dict[str, Any]:
    """Header facts of a Sparky spectrum (reads the file through nmrglue).

    Returns
    -------
    dict
        ``format`` ("sparky"), ``nucleus``, ``sf_mhz``, ``temperature_K`` (None: not in the
        format), ``size``, ``ndim``, ``mixing_time_s`` (None).
    """
    p = Path(path)
    dic, data = _read(p)
    return {
        "format": "sparky", "folder": str(p), "nucleus": _label(dic),
        "sf_mhz": _axis_value(dic, "w2", "spectrometer_freq", p) if data.ndim == 2 else None,
        "temperature_K": None, "size": "x".join(str(n) for n in data.shape),
        "ndim": int(data.ndim), "mixing_time_s": None, "has_processed": True,
        "has_raw": False,
    }


def read_experiment(path: str | os.PathLike, *, mixing_time: float | None = None,
                    **_: Any) -> list[Spectrum2D]:
    """Read a Sparky 2D spectrum.

    Parameters
    ----------
    path : path-like
        The ``.ucsf`` file.
    mixing_time : float, optional
        Mixing time, s (the format has none).

    Returns
    -------
    list of Spectrum2D
        One spectrum, ``format = "sparky"``.

    Raises
    ------
    DataFormatError
        Not a Sparky file, not 2D, bad widths or frequencies, too large.
    """
    import nmrglue as ng

    p = Path(path)
    dic, data = _read(p)
    if data.ndim != 2 or dic.get("naxis") != 2:
        raise DataFormatError(f"{p}: naxis = {dic.get('naxis')!r} (data shape {data.shape}); "
                              "expected a 2D spectrum")
    for axis in ("w1", "w2"):
        _axis_value(dic, axis, "spectral_width", p)
        _axis_value(dic, axis, "spectrometer_freq", p)
    ppm = [ng.sparky.make_uc(dic, data, dim).ppm_scale() for dim in (0, 1)]
    spec = spectrum_from_arrays(
        p, data, ppm[0], ppm[1], nucleus=_label(dic),
        sf_mhz=_axis_value(dic, "w2", "spectrometer_freq", p), fmt="sparky",
        temperature_K=None,
        metadata={"sf_mhz_f1": _axis_value(dic, "w1", "spectrometer_freq", p),
                  "nucleus_f1": nucleus_name(str(dic["w1"].get("nucleus", "")))},
        mixing_time=mixing_time)
    return [spec]
