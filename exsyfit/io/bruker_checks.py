"""Plausibility of Bruker header values before any data are read.

Every value the reader relies on is checked against what TopSpin can write; a value outside
that range raises :class:`~exsyfit.errors.DataFormatError` naming the parameter file, the key,
the value found and what was expected, instead of a crash deep in the reader or a silently
wrong spectrum.

Limits
------
* :data:`MAX_POINTS`: at most 2**26 (67,108,864) points per 2D spectrum, raw (TD1 x TD/2
  complex points) or processed (SI1 x SI2, also the zero-filled size of raw processing), i.e.
  1 GiB of complex numbers; larger sizes are refused before any memory is allocated.
* Intensity exponents ``NC`` / ``NC_proc`` within +-:data:`MAX_EXPONENT`.
* ``TE`` within (0, :data:`MAX_TEMPERATURE_K`] K; 0 or negative means "not recorded".
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

from exsyfit.errors import DataFormatError
from exsyfit.io.bruker_params import MAX_TEMPERATURE_K, _Experiment

__all__ = ["MAX_POINTS", "MAX_EXPONENT", "MAX_TEMPERATURE_K", "check_header",
           "temperature_problem"]

MAX_POINTS = 2**26
MAX_EXPONENT = 64


def _path(exp: _Experiment, which: str) -> Path:
    return exp.folder / which if which.startswith("acqu") else exp.pdata / which


def _fail(exp: _Experiment, which: str, key: str, value: Any, expected: str) -> None:
    shown = f"{value:g}" if isinstance(value, float) else repr(value)
    raise DataFormatError(f"{_path(exp, which)}: {key} = {shown}; expected {expected}")


def _number(exp: _Experiment, which: str, key: str, required: bool) -> float | None:
    if getattr(exp, which) is None:
        return None
    value = exp.num(key, which=which) if required else exp.num(key, None, which=which)
    return None if value is None else float(value)


def _positive(exp: _Experiment, which: str, key: str, unit: str, required: bool = True) -> None:
    v = _number(exp, which, key, required)
    if v is not None and not v > 0:
        _fail(exp, which, key, v, f"a positive {unit}")


def _integer(exp: _Experiment, which: str, key: str, low: int, high: int, what: str,
             required: bool = True) -> int | None:
    v = _number(exp, which, key, required)
    if v is None:
        return None
    if v != math.floor(v) or not low <= v <= high:
        _fail(exp, which, key, v, f"{what}, an integer from {low} to {high}")
    return int(v)


def _code(exp: _Experiment, which: str, key: str, meanings: dict[int, str]) -> None:
    v = _number(exp, which, key, False)
    if v is not None and v not in meanings:
        listed = ", ".join(f"{k} ({m})" for k, m in meanings.items())
        _fail(exp, which, key, v, f"one of {listed}")


def temperature_problem(exp: _Experiment) -> str | None:
    """Why acqus TE cannot be a temperature in kelvin, or None (also when not recorded)."""
    te = exp.num("TE", None)
    if te is None or te <= 0 or te <= MAX_TEMPERATURE_K:
        return None
    return (f"{_path(exp, 'acqus')}: TE = {float(te):g}; expected a temperature in kelvin "
            f"up to {MAX_TEMPERATURE_K:g}")


def check_header(exp: _Experiment, *, processed: bool) -> None:
    """Refuse header values the reader cannot use.

    Parameters
    ----------
    exp : _Experiment
        The parsed parameter files.
    processed : bool
        The 2rr will be read (checks procs/proc2s layout); else the ser (checks acqus/acqu2s
        storage and the sizes of the processing).

    Raises
    ------
    DataFormatError
        Naming the file, the key, the value and what was expected.
    """
    dims = [w for w in ("acqus", "acqu2s", "acqu3s") if getattr(exp, w) is not None]
    for which in dims:
        _positive(exp, which, "BF1", "frequency in MHz")
        _positive(exp, which, "SFO1", "frequency in MHz", required=False)
        _positive(exp, which, "SW_h", "spectral width in Hz", required=not processed)
    td = _integer(exp, "acqus", "TD", 2, 2 * MAX_POINTS, "the number of points", True)
    if td is not None and td % 2:
        _fail(exp, "acqus", "TD", float(td), "an even number of points (complex pairs)")
    rows = 1
    for which in dims[1:]:
        low = 2 if which == "acqu2s" and len(dims) == 2 else 1
        rows *= _integer(exp, which, "TD", low, MAX_POINTS, "the number of increments",
                         True) or 1
    if not processed:
        _code(exp, "acqus", "DTYPA", {0: "int32", 2: "float64"})
        _code(exp, "acqus", "BYTORDA", {0: "little endian", 1: "big endian"})
        _integer(exp, "acqus", "NC", -MAX_EXPONENT, MAX_EXPONENT, "the intensity exponent",
                 False)
        if td is not None and rows * td // 2 > MAX_POINTS:
            _fail(exp, "acqu2s", "TD", float(rows), f"at most {MAX_POINTS} complex points in "
                  f"all (TD1 x TD/2; TD = {td})")
    points = 1
    for which in ("procs", "proc2s"):
        if getattr(exp, which) is None:
            continue
        _positive(exp, which, "SF", "frequency in MHz", required=False)
        si = _integer(exp, which, "SI", 2 if processed else 0, MAX_POINTS, "the size",
                      processed)
        points *= si or 1
        if processed:
            _positive(exp, which, "SW_p", "spectral width in Hz")
            _code(exp, which, "DTYPP", {0: "int32", 2: "float64"})
            _code(exp, which, "BYTORDP", {0: "little endian", 1: "big endian"})
            _integer(exp, which, "NC_proc", -MAX_EXPONENT, MAX_EXPONENT,
                     "the intensity exponent", False)
    if points > MAX_POINTS:
        _fail(exp, "proc2s", "SI", float(exp.num("SI", which="proc2s")),
              f"at most {MAX_POINTS} points in all (SI1 x SI2; procs SI = "
              f"{int(exp.num('SI', which='procs'))})")
