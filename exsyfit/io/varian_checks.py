"""Plausibility of VnmrJ ``procpar`` values before any data are read.

Each value the Varian reader relies on is checked against what VnmrJ can write; anything else
raises :class:`~exsyfit.errors.DataFormatError` naming ``procpar``, the parameter, the value
found and what was expected.  The size limit is the Bruker reader's
(:data:`exsyfit.io.bruker_checks.MAX_POINTS`, 2**26 points per 2D spectrum).
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from exsyfit.errors import DataFormatError
from exsyfit.io.bruker_checks import MAX_POINTS, MAX_TEMPERATURE_K

__all__ = ["check_procpar", "temperature_problem", "MAX_GAIN_DB"]

#: Largest receiver gain accepted, dB (VnmrJ consoles use 0 to about 70 dB).
MAX_GAIN_DB = 200.0
_KELVIN = 273.15


def _values(pp: Mapping[str, Any], name: str, where: Path, required: bool
            ) -> list[float] | None:
    p = pp.get(name)
    if p is None or not p.values:
        if required:
            raise DataFormatError(f"{where}: parameter {name!r} is missing")
        return None
    if p.is_string:
        raise DataFormatError(f"{where}: {name} = {p.values[0]!r} is text; expected a number")
    out = []
    for v in p.values:
        try:
            out.append(float(v))
        except (TypeError, ValueError):
            raise DataFormatError(f"{where}: {name} = {v!r}; expected a number") from None
    return out


def _fail(where: Path, name: str, value: float, expected: str) -> None:
    raise DataFormatError(f"{where}: {name} = {value:g}; expected {expected}")


def _each(pp: Mapping[str, Any], name: str, where: Path, required: bool, ok: Any,
          expected: str) -> list[float] | None:
    vals = _values(pp, name, where, required)
    for v in vals or ():
        if not (math.isfinite(v) and ok(v)):
            _fail(where, name, v, expected)
    return vals


def _whole(v: float) -> bool:
    return v == math.floor(v)


def temperature_problem(pp: Mapping[str, Any], where: Path) -> str | None:
    """Why an active ``temp`` cannot be a VT temperature in degrees Celsius, or None."""
    p = pp.get("temp")
    if p is None or not p.active or not p.values or p.is_string:
        return None
    for v in p.values:
        try:
            kelvin = float(v) + _KELVIN
        except (TypeError, ValueError):
            return f"{where}: temp = {v!r}; expected degrees Celsius"
        if not (math.isfinite(kelvin) and 0 < kelvin <= MAX_TEMPERATURE_K):
            return (f"{where}: temp = {float(v):g}; expected degrees Celsius above -273.15 and "
                    f"up to {MAX_TEMPERATURE_K - _KELVIN:g}")
    return None


def check_procpar(pp: Mapping[str, Any], folder: Path) -> None:
    """Refuse procpar values the Varian reader cannot use.

    Parameters
    ----------
    pp : mapping
        Parsed procpar (:func:`exsyfit.io.varian.read_procpar`).
    folder : Path
        The ``<name>.fid`` folder (for messages).

    Raises
    ------
    DataFormatError
        Naming ``procpar``, the parameter, the value and what was expected.
    """
    where = folder / "procpar"
    limit = f"an even whole number from 2 to {2 * MAX_POINTS}"
    np_ = _each(pp, "np", where, True, lambda v: _whole(v) and 2 <= v <= 2 * MAX_POINTS
                and v % 2 == 0, limit)[0]
    ni_vals = _each(pp, "ni", where, False, lambda v: _whole(v) and 0 <= v <= MAX_POINTS,
                    f"a whole number of increments from 0 to {MAX_POINTS}")
    ni = max(int(ni_vals[0]), 1) if ni_vals else 1
    if ni * np_ / 2 > MAX_POINTS:
        _fail(where, "ni", float(ni), f"at most {MAX_POINTS} complex points in all "
              f"(ni x np/2; np = {np_:g})")
    _each(pp, "sfrq", where, True, lambda v: v > 0, "a frequency > 0 MHz")
    _each(pp, "sw", where, True, lambda v: v > 0, "a spectral width > 0 Hz")
    if ni > 1:
        _each(pp, "sw1", where, True, lambda v: v > 0, "a spectral width > 0 Hz")
    _each(pp, "nt", where, False, lambda v: _whole(v) and v >= 1,
          "a whole number of scans >= 1")
    _each(pp, "gain", where, False, lambda v: abs(v) <= MAX_GAIN_DB,
          f"a receiver gain within +-{MAX_GAIN_DB:g} dB")
    _each(pp, "phase", where, False, _whole, "whole numbers (1,2 for States)")
    _each(pp, "srate", where, False, lambda v: v >= 0, "a spinning rate >= 0 Hz")
    sizes = 1.0
    for name in ("fn", "fn1"):
        p = pp.get(name)
        if p is None or not p.active:
            continue
        vals = _each(pp, name, where, False, lambda v: _whole(v) and 0 <= v <= 2 * MAX_POINTS,
                     f"a whole number of points from 0 to {2 * MAX_POINTS}")
        sizes *= max((vals or [0.0])[0] / 2, 1.0)
    if sizes > MAX_POINTS:
        _fail(where, "fn1", float(pp["fn1"].values[0]) if "fn1" in pp else sizes,
              f"at most {MAX_POINTS} points in all (fn/2 x fn1/2)")
