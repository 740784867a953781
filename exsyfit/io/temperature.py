"""Sample temperature: calibration of the set temperature, and which spectra share one.

The spectrometer records the set (gas) temperature, not the sample's: frictional heating under
MAS and the gas-to-rotor gradient make them differ by several kelvin.  This module is the one
place that turns the recorded value into the sample temperature used by the analysis, and the
one rule for which spectra share a temperature.

Calibration (config table ``[temperature]``)
--------------------------------------------
``{"slope": 1.0, "offset_K": 0.0, "sigma_K": 1.0}`` gives ``T_sample = slope * T_set +
offset_K`` with a 1-sigma uncertainty ``sigma_K``; ``{"per_experiment": {"path": K, ...}}`` sets
the sample temperature of listed experiments (keys as written in ``[data] paths`` after
expansion, a folder path relative to the config, or an arrayed element ``"path[k]"``), and may
be combined with slope/offset for the others.

``temperature_source`` says where each value came from:

* ``"set value, uncalibrated (file TE)"`` (Bruker acqus TE), ``"set value, uncalibrated (file
  temp)"`` (Varian procpar temp): no calibration given (slope 1, offset 0);
* ``"calibration slope/offset"``: the set value through slope and offset;
* ``"per-experiment value"``: given in ``per_experiment``.

Grouping
--------
:func:`group_temperatures`: sorted by temperature, a spectrum joins the current group when it
lies within ``tolerance_K`` of the group's coldest member, else it starts a new group; the
group's temperature is the mean of its members.  ``[data] temperature_tolerance_K`` (default
:data:`DEFAULT_TOLERANCE_K`) sets the tolerance.  Spectra read by
:func:`exsyfit.io.series.read_series` carry the grouped value in
``Spectrum2D.sample_temperature_K``, so later stages group by equal values
(``tolerance_K = 0``) and never regroup with another rule.
"""

from __future__ import annotations

import difflib
import math
import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from exsyfit.errors import ConfigError, SeriesError
from exsyfit.settings import option, parse_table

__all__ = [
    "DEFAULT_TOLERANCE_K",
    "CALIBRATED_SLOPE_OFFSET",
    "PER_EXPERIMENT",
    "TemperatureCalibration",
    "validate_calibration",
    "calibrate_temperatures",
    "is_calibrated",
    "group_temperatures",
    "per_experiment_rows",
]

#: Default tolerance of :func:`group_temperatures`, K (``[data] temperature_tolerance_K``).
DEFAULT_TOLERANCE_K = 2.0
#: ``temperature_source`` of a set value passed through the slope/offset calibration.
CALIBRATED_SLOPE_OFFSET = "calibration slope/offset"
#: ``temperature_source`` of a value given per experiment.
PER_EXPERIMENT = "per-experiment value"
_UNCALIBRATED = "set value, uncalibrated"


def _set_value_source(fmt: str) -> str:
    where = {"bruker": "file TE", "varian": "file temp",
             "nmrpipe": "file FDTEMPERATURE"}.get(fmt.split("-")[0], "file")
    return f"{_UNCALIBRATED} ({where})"


def is_calibrated(source: str | None) -> bool:
    """True when a ``temperature_source`` is a calibrated or user-given sample temperature."""
    return bool(source) and not str(source).startswith(_UNCALIBRATED)


def _kelvin_table(value: Any) -> dict[str, float]:
    if not isinstance(value, Mapping) or not all(
            isinstance(v, int | float) and not isinstance(v, bool) and math.isfinite(v)
            and 0 < v <= 5000 for v in value.values()):
        raise ValueError("a table: experiment folder -> sample temperature in (0, 5000] K")
    return {str(k): float(v) for k, v in value.items()}


@dataclass(frozen=True)
class TemperatureCalibration:
    """Calibration of set temperature to sample temperature (the ``[temperature]`` table)."""

    slope: float = option(1.0, low=0, high=10, low_open=True,
                          help="sample temperature = slope x set temperature + offset_K")
    offset_K: float = option(0.0, low=-1000, high=1000, help="see slope, K")
    sigma_K: float = option(0.0, low=0, high=100,
                            help="1-sigma uncertainty of the sample temperature, K")
    per_experiment: Mapping[str, float] = option(
        default_factory=dict, kind="any", parse=_kelvin_table,
        help="table: experiment folder -> sample temperature, K (overrides the calibration)")

    def as_dict(self) -> dict[str, Any]:
        """The calibration as a plain dict (what :func:`calibrate_temperatures` takes)."""
        out: dict[str, Any] = {"slope": self.slope, "offset_K": self.offset_K,
                               "sigma_K": self.sigma_K}
        if self.per_experiment:
            out["per_experiment"] = dict(self.per_experiment)
        return out


def validate_calibration(cal: Mapping[str, Any] | None, where: str) -> dict[str, Any]:
    """Check the keys and values of a calibration table; return a normalised copy.

    Parameters
    ----------
    cal : mapping or None
        ``slope``, ``offset_K`` (K), ``sigma_K`` (K), ``per_experiment`` (experiment -> K).
    where : str
        Config location used in error messages.

    Returns
    -------
    dict
        ``slope``, ``offset_K``, ``sigma_K`` (defaults filled in) and ``per_experiment``
        (possibly empty).

    Raises
    ------
    ConfigError
        Unknown keys (with the nearest valid one) and bad values, all listed.
    """
    if cal is None:
        return {}
    parsed = parse_table(TemperatureCalibration, cal, where.strip("[]"))
    return {**parsed.as_dict(), "per_experiment": dict(parsed.per_experiment)}


def calibrate_temperatures(
    table: pd.DataFrame,
    calibration: Mapping[str, Any] | None,
    base_dir: str | os.PathLike = ".",
    *,
    where: str = "[temperature]",
) -> pd.DataFrame:
    """Fill ``temperature_K``, ``temperature_sigma_K`` and ``temperature_source``.

    Parameters
    ----------
    table : pandas.DataFrame
        Needs ``experiment``, ``folder``, ``format`` and ``set_temperature_K`` columns.
    calibration : mapping or None
        See the module docstring.
    base_dir : path-like
        Folder that relative ``per_experiment`` keys are relative to.
    where : str
        Config location used in error messages.

    Returns
    -------
    pandas.DataFrame
        A copy with the three columns set.

    Raises
    ------
    ConfigError
        Unknown keys (with the nearest valid one), bad values, a ``per_experiment`` key that
        names no experiment of the series (with the nearest experiment).
    SeriesError
        An experiment without any temperature (none in the file, none given).
    """
    cal = validate_calibration(calibration, where)
    slope = cal.get("slope", 1.0)
    offset = cal.get("offset_K", 0.0)
    sigma = cal.get("sigma_K", 0.0)
    per = cal.get("per_experiment", {})
    table = table.copy()
    used = per_experiment_rows(table, per, base_dir, f"{where} per_experiment")
    temps, sources, sigmas = [], [], []
    identity = slope == 1.0 and offset == 0.0
    for i, row in enumerate(table.itertuples(index=False)):
        if i in used:
            temps.append(used[i])
            sources.append(PER_EXPERIMENT)
        else:
            t_set = row.set_temperature_K
            problem = getattr(row, "temperature_error", None)
            if (t_set is None or not np.isfinite(t_set)) and isinstance(problem, str):
                raise SeriesError(f"{problem}; give the sample temperature in {where} "
                                  f"per_experiment = {{ \"{row.experiment}\" = <K> }}")
            if t_set is None or not np.isfinite(t_set):
                raise SeriesError(
                    f"{row.experiment}: the file holds no temperature (VT off or not recorded); "
                    f"give it in {where} per_experiment = {{ \"{row.experiment}\" = <K> }}")
            temps.append(slope * float(t_set) + offset)
            sources.append(_set_value_source(str(row.format)) if identity
                           else CALIBRATED_SLOPE_OFFSET)
        sigmas.append(sigma)
    table["temperature_K"] = temps
    table["temperature_sigma_K"] = sigmas
    table["temperature_source"] = sources
    return table


def per_experiment_rows(table: pd.DataFrame, values: Mapping[str, float],
                        base_dir: str | os.PathLike, where: str) -> dict[int, float]:
    """Row positions of ``table`` named by the keys of a per-experiment config table.

    Parameters
    ----------
    table : pandas.DataFrame
        Needs ``experiment``, ``folder`` and ``element`` columns.
    values : mapping
        Experiment (as written in ``[data] paths`` after expansion, a folder or file path
        relative to ``base_dir``, or an arrayed element ``"path[k]"``) -> value.
    base_dir : path-like
        The config file's folder.
    where : str
        Config location used in error messages.

    Returns
    -------
    dict
        Row position -> value.

    Raises
    ------
    ConfigError
        A key that names no experiment of the series (with the nearest experiment).
    """
    keys = _per_experiment_index(table, Path(base_dir))
    used: dict[int, float] = {}
    for key, value in values.items():
        rows = keys.get(key) or keys.get(_norm_key(key, Path(base_dir)))
        if not rows:
            names = sorted({str(e) for e in table["experiment"]})
            close = difflib.get_close_matches(key, names, n=1)
            hint = f" (did you mean '{close[0]}'?)" if close else ""
            raise ConfigError(f"{where}: {key!r} is not an experiment of the series{hint}; "
                              f"experiments: {', '.join(names)}")
        for r in rows:
            used[r] = value
    return used


def _norm_key(key: str, base: Path) -> str:
    p = Path(key).expanduser()
    return str((p if p.is_absolute() else base / p).resolve())


def _per_experiment_index(table: pd.DataFrame, base: Path) -> dict[str, list[int]]:
    """Every way a per_experiment key may name a row -> row positions."""
    idx: dict[str, list[int]] = {}
    for i, row in enumerate(table.itertuples(index=False)):
        element = row.element
        names = {str(row.experiment)}
        folder_key = str(Path(row.folder).resolve())
        if element is not None and not (isinstance(element, float) and np.isnan(element)):
            names.add(f"{folder_key}[{int(element)}]")
            plain = str(row.experiment).rsplit("[", 1)[0]
            names.update({plain, folder_key})
        else:
            names.add(folder_key)
        for n in names:
            idx.setdefault(n, []).append(i)
    return idx


def group_temperatures(temperatures_K: Sequence[float | None] | np.ndarray,
                       tolerance_K: float = DEFAULT_TOLERANCE_K,
                       ) -> tuple[np.ndarray, np.ndarray]:
    """Group temperatures that lie within ``tolerance_K`` of a group's coldest member.

    Parameters
    ----------
    temperatures_K : sequence of float or None
        Sample temperatures, K; None or NaN (unknown) form no group.
    tolerance_K : float
        Largest distance from the group's coldest member, K (0: equal values only).

    Returns
    -------
    groups : numpy.ndarray of int
        Group index of each temperature (0 = coldest group; -1 for unknown temperatures).
    group_K : numpy.ndarray
        Mean temperature of each entry's group (NaN for unknown temperatures).

    Raises
    ------
    ConfigError
        A negative or non-finite tolerance.
    """
    if not (isinstance(tolerance_K, int | float) and math.isfinite(tolerance_K)
            and tolerance_K >= 0):
        raise ConfigError(f"[data] temperature_tolerance_K = {tolerance_K!r}: expected a "
                          "number >= 0 (K)")
    t = np.array([np.nan if v is None else float(v) for v in temperatures_K], dtype=float)
    groups = np.full(len(t), -1, dtype=int)
    known = np.flatnonzero(np.isfinite(t))
    order = known[np.argsort(t[known], kind="stable")]
    g, start = -1, -np.inf
    for i in order:
        if t[i] - start > tolerance_K:
            g += 1
            start = t[i]
        groups[i] = g
    means = np.array([t[groups == k].mean() for k in range(g + 1)])
    group_k = np.full(len(t), np.nan)
    group_k[known] = means[groups[known]]
    return groups, group_k
