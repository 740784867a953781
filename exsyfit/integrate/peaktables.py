"""Peak tables of other programs -> exsyfit's volume table (``[data] peak_tables``).

Each file is one spectrum (one mixing time at one temperature).  Every peak is assigned to
the site pair (``from_site`` = the site nearest in F1, ``to_site`` = the site nearest in F2)
when the nearest site shift lies within ``tolerance_ppm`` in both dimensions and no other site
does; every site pair must be found exactly once per file.

Mixing time and temperature are not in these files: they come from the config, per file
(``[data] mixing_time = {"t10ms.tab" = 0.010, ...}`` and ``[temperature] per_experiment =
{"t10ms.tab" = 298.0, ...}``, keys as the file is named in ``[data] peak_tables``, as a path
relative to the config, or its file name).  A TopSpin ``peaklist.xml`` that still sits in its
experiment (``<expno>/pdata/<procno>/peaklist.xml``) takes them from the experiment instead,
where the config gives none (``experiment_of``: mixing time as ``[data] mixing_time`` says, the
calibrated temperature), and its heights are divided by scans x receiver gain like a spectrum's
intensities.

Uncertainty: the file's own (NMRPipe ``DVOL``/``DHEIGHT``) when it has one, else
``[data] peak_sigma``: a number (in the units of the volumes, the same for every peak; for
heights turned into volumes, height x Hz^2) or a percentage ``"2%"`` of the largest absolute
volume of each file.

Heights
-------
A file without volumes is accepted with a warning: a height is proportional to a volume only
while the line widths stay the same, and widths change with temperature as exchange and
motion narrow the lines.  When the file gives both line widths (Sparky ``lw1 (hz)``/``lw2
(hz)``, NMRPipe ``XW_HZ``/``YW_HZ``) each height is turned into the volume of a 2D Lorentzian
of that height and those full widths at half height, ``V = h * (pi/2)**2 * lw1 * lw2`` (Hz^2;
for Gaussian lines the factor ``pi/(4 ln 2) = 1.133`` replaces ``(pi/2)**2 = 2.467``, a
common factor that changes no rate); without widths the heights are used as they are, with a
stronger warning.
"""

from __future__ import annotations

import glob
import math
import os
import warnings
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from exsyfit.errors import ConfigError, VolumeTableError
from exsyfit.io.peaklists import read_peak_list
from exsyfit.io.temperature import per_experiment_rows

__all__ = ["LORENTZ_FACTOR", "DEFAULT_TOLERANCE_PPM", "expand_peak_tables",
           "assign_peaks", "peak_tables_to_volumes"]

#: Volume / (height x lw1 x lw2) of a 2D Lorentzian line (full widths at half height).
LORENTZ_FACTOR = (math.pi / 2) ** 2
#: Default largest distance of a peak from its site shift in each dimension, ppm.
DEFAULT_TOLERANCE_PPM = 0.5
_GLOB = set("*?[")


def expand_peak_tables(patterns: Sequence[str], base_dir: str | os.PathLike
                       ) -> list[tuple[str, Path]]:
    """The files of ``[data] peak_tables`` as (name as written, absolute path), in order.

    Raises
    ------
    ConfigError
        A pattern that matches no file.
    """
    base = Path(base_dir)
    out: list[tuple[str, Path]] = []
    seen: set[Path] = set()
    for pattern in patterns:
        absolute = Path(pattern).expanduser().is_absolute()
        full = str(Path(pattern).expanduser()) if absolute else str(base / pattern)
        hits = sorted(glob.glob(full)) if _GLOB & set(pattern) else [full]
        hits = [h for h in hits if Path(h).is_file()]
        if not hits:
            raise ConfigError(f"[data] peak_tables: {pattern!r} matches no file (looked in "
                              f"{base}); expected NMRPipe .tab files or Sparky peak lists")
        for h in hits:
            if Path(h).resolve() not in seen:
                seen.add(Path(h).resolve())
                out.append((h if absolute else os.path.relpath(h, base), Path(h)))
    return out


def assign_peaks(peaks: pd.DataFrame, sites_ppm: Mapping[str, float], tolerance_ppm: float,
                 source: str) -> pd.DataFrame:
    """Give each peak its (from_site, to_site) by the nearest site shift in F1 and F2.

    Parameters
    ----------
    peaks : pandas.DataFrame
        A table of :mod:`exsyfit.io.peaklists`.
    sites_ppm : mapping
        Site name -> shift, ppm (at this file's temperature).
    tolerance_ppm : float
        Largest distance of a peak from its site shift in each dimension, ppm.
    source : str
        The file (for messages).

    Returns
    -------
    pandas.DataFrame
        ``peaks`` with ``from_site`` and ``to_site``.

    Raises
    ------
    VolumeTableError
        A peak farther than the tolerance from every site, or within it of two sites (naming
        the peak and the distances), or two peaks of one site pair.
    """
    names = list(sites_ppm)
    shifts = np.array([sites_ppm[n] for n in names], dtype=float)
    out = peaks.copy()
    for dim, axis, column in (("F1", "f1_ppm", "from_site"), ("F2", "f2_ppm", "to_site")):
        chosen = []
        for row in out.itertuples():
            pos = getattr(row, axis)
            dist = np.abs(shifts - pos)
            order = np.argsort(dist)
            peak = f"{source}: line {row.line}: peak {row.label!r} at {pos:g} ppm in {dim}"
            near = [names[i] for i in order if dist[i] <= tolerance_ppm]
            if not near:
                raise VolumeTableError(
                    f"{peak} is {dist[order[0]]:.3g} ppm from the nearest site "
                    f"{names[order[0]]!r} ({shifts[order[0]]:g} ppm); expected within "
                    f"{tolerance_ppm:g} ppm of a site ([data] peak_tolerance_ppm)")
            if len(near) > 1:
                a, b = order[0], order[1]
                raise VolumeTableError(
                    f"{peak} is ambiguous: {dist[a]:.3g} ppm from site {names[a]!r} and "
                    f"{dist[b]:.3g} ppm from site {names[b]!r}; expected one site within "
                    f"{tolerance_ppm:g} ppm (lower [data] peak_tolerance_ppm)")
            chosen.append(near[0])
        out[column] = chosen
    dup = out.duplicated(subset=["from_site", "to_site"], keep=False)
    if dup.any():
        rows = out[dup]
        first = rows.iloc[0]
        other = rows[(rows.from_site == first.from_site) & (rows.to_site == first.to_site)]
        raise VolumeTableError(
            f"{source}: peaks {', '.join(repr(x) for x in other.label)} (lines "
            f"{', '.join(str(x) for x in other.line)}) are all the peak "
            f"{first.from_site}->{first.to_site}; expected one peak per site pair")
    return out


def _file_values(files: list[tuple[str, Path]], values: Any, base_dir: Path, where: str,
                 what: str, check: Callable[[float], bool],
                 own: Sequence[float | None] | None = None) -> list[float]:
    """One value per file from a number (every file) or a table file -> value.

    ``own`` holds each file's value from its experiment (None where it has none); the config's
    value wins where both exist.
    """
    own = list(own) if own is not None else [None] * len(files)
    if isinstance(values, int | float) and not isinstance(values, bool):
        return [float(values)] * len(files)
    if not isinstance(values, Mapping) or not values:
        if all(v is not None for v in own):
            return [float(v) for v in own if v is not None]
        name = files[[v is None for v in own].index(True)][0]
        raise ConfigError(f"{where}: found {values!r}; expected a table peak-table file -> "
                          f"{what} for [data] peak_tables (e.g. {{\"{name}\" = ...}}): "
                          f"{name!r} is not a TopSpin peaklist.xml in an experiment that "
                          "records it")
    table = pd.DataFrame({"experiment": [n for n, _ in files],
                          "folder": [str(p) for _, p in files], "element": [None] * len(files)})
    by_name: dict[str, list[int]] = {}
    for i, (_, p) in enumerate(files):
        by_name.setdefault(p.name, []).append(i)
    direct = {k: v for k, v in values.items() if len(by_name.get(k, [])) == 1}
    rows = {by_name[k][0]: v for k, v in direct.items()}
    rest = {k: v for k, v in values.items() if k not in direct}
    rows.update(per_experiment_rows(table, rest, base_dir, where) if rest else {})
    rows = {**{i: v for i, v in enumerate(own) if v is not None}, **rows}
    out = []
    for i, (name, _) in enumerate(files):
        if i not in rows:
            raise ConfigError(f"{where}: no value for the peak table {name!r}; expected "
                              f"its {what} (every file of [data] peak_tables needs one)")
        if not check(float(rows[i])):
            raise ConfigError(f"{where}: {name!r} = {rows[i]!r}; expected {what}")
        out.append(float(rows[i]))
    return out


def _sigma(peaks: pd.DataFrame, peak_sigma: float | str | None, source: str) -> np.ndarray:
    own = peaks["sigma"].to_numpy(float)
    if np.all(np.isfinite(own)):
        return own
    if peak_sigma is None:
        raise ConfigError(f"[data] peak_sigma: not set and {source} gives no uncertainty; "
                          "expected a number (the noise of a volume, in the file's intensity "
                          "units) or a percentage of the largest volume, e.g. \"2%\"")
    if isinstance(peak_sigma, str):
        fraction = float(peak_sigma.strip().rstrip("%")) / 100
        value = fraction * float(np.max(np.abs(peaks["volume"].to_numpy(float))))
    else:
        value = float(peak_sigma)
    return np.where(np.isfinite(own), own, value)


def _volumes(peaks: pd.DataFrame, source: str) -> tuple[pd.DataFrame, str]:
    """Volumes of a file (heights turned into volumes, with a warning)."""
    peaks = peaks.copy()
    if peaks["volume"].notna().all():
        return peaks, "volume"
    if peaks["volume"].notna().any():
        row = peaks[peaks["volume"].isna()].iloc[0]
        raise VolumeTableError(f"{source}: line {row.line}: peak {row.label!r} has no volume "
                               "while others have; expected a volume for every peak")
    widths = peaks[["lw1_hz", "lw2_hz"]].to_numpy(float)
    base = (f"{source}: no volumes, peak heights used: heights are comparable across "
            "temperatures only while the line widths stay the same")
    if np.all(np.isfinite(widths)) and np.all(widths > 0):
        factor = LORENTZ_FACTOR * widths[:, 0] * widths[:, 1]
        warnings.warn(f"{base}; each height was multiplied by (pi/2)^2 x lw1 x lw2 (the "
                      "volume of a 2D Lorentzian, widths in Hz from the file)", stacklevel=3)
        kind = "height x (pi/2)^2 lw1 lw2"
    else:
        factor = np.ones(len(peaks))
        warnings.warn(f"{base}, and the file gives no line widths to correct them (lw1/lw2 "
                      "or XW_HZ/YW_HZ): the rates may be biased where widths change",
                      stacklevel=3)
        kind = "height"
    peaks["volume"] = peaks["height"].to_numpy(float) * factor
    peaks["sigma"] = peaks["sigma"].to_numpy(float) * factor
    return peaks, kind


def peak_tables_to_volumes(
    patterns: Sequence[str], base_dir: str | os.PathLike, sites_ppm: Mapping[str, float], *,
    mixing_time: Any, temperatures_K: Any, peak_sigma: float | str | None = None,
    tolerance_ppm: float = DEFAULT_TOLERANCE_PPM,
    site_ppm_at: Callable[[str, float], float] | None = None, temperature_sigma_K: float = 0.0,
    experiment_of: Callable[[Path], Mapping[str, float] | None] | None = None,
) -> pd.DataFrame:
    """Read peak tables and return exsyfit's volume table (one row per site pair per file).

    Parameters
    ----------
    patterns : sequence of str
        ``[data] peak_tables``: files or globs, relative to ``base_dir``.
    base_dir : path-like
        The config file's folder.
    sites_ppm : mapping
        Site name -> shift, ppm.
    mixing_time : float or mapping
        ``[data] mixing_time``: seconds for every file, or a table file -> seconds.
    temperatures_K : mapping
        ``[temperature] per_experiment``: file -> sample temperature, K.
    peak_sigma : float or str, optional
        ``[data] peak_sigma`` (see the module doc); needed when a file gives no uncertainty.
    tolerance_ppm : float
        Largest distance of a peak from its site shift in F1 and in F2, ppm.
    site_ppm_at : callable, optional
        ``(site, temperature_K) -> ppm`` for shifts that move with temperature.
    temperature_sigma_K : float
        ``[temperature] sigma_K``: 1-sigma uncertainty of every sample temperature, K.
    experiment_of : callable, optional
        ``path -> {"mixing_time_s", "temperature_K", "scale"}`` of the experiment a file
        belongs to, or None (see the module doc); ``scale`` multiplies the file's volumes and
        their uncertainties after ``peak_sigma`` is applied in the file's own units.

    Returns
    -------
    pandas.DataFrame
        The volume-table columns (``experiment``, ``temperature_K``, ``mixing_time_s``,
        ``from_site``, ``to_site``, ``volume``, ``sigma``, ``temperature_sigma_K``) plus
        ``f1_ppm``, ``f2_ppm``, ``intensity`` (what the volume was made from) and
        ``source_line``.

    Raises
    ------
    ConfigError
        A missing mixing time, temperature or ``peak_sigma``.
    VolumeTableError
        A peak that cannot be assigned, or a site pair without a peak (naming file and pair).
    """
    base = Path(base_dir)
    files = expand_peak_tables(patterns, base)
    own = [(experiment_of(path) if experiment_of else None) or {} for _, path in files]
    t_m = _file_values(files, mixing_time, base, "[data] mixing_time",
                       "a mixing time in seconds (0 to 3600)", lambda v: 0 <= v <= 3600,
                       [o.get("mixing_time_s") for o in own])
    temps = _file_values(files, temperatures_K, base, "[temperature] per_experiment",
                         "a sample temperature in K", lambda v: v > 0,
                         [o.get("temperature_K") for o in own])
    parts = []
    for (name, path), tm, temp, facts in zip(files, t_m, temps, own, strict=True):
        shifts = {s: (site_ppm_at(s, temp) if site_ppm_at else float(p))
                  for s, p in sites_ppm.items()}
        peaks = assign_peaks(read_peak_list(path), shifts, tolerance_ppm, name)
        peaks, kind = _volumes(peaks, name)
        peaks["sigma"] = _sigma(peaks, peak_sigma, name)
        scale = float(facts.get("scale", 1.0))
        peaks[["volume", "sigma"]] = peaks[["volume", "sigma"]].to_numpy(float) * scale
        found = set(zip(peaks.from_site, peaks.to_site, strict=True))
        for i in shifts:
            for j in shifts:
                if (i, j) not in found:
                    raise VolumeTableError(
                        f"{name}: no peak of the site pair {i}->{j} (F1 {shifts[i]:g} ppm, "
                        f"F2 {shifts[j]:g} ppm, within {tolerance_ppm:g} ppm); expected a "
                        "peak (or a zero volume) for every pair of sites")
        parts.append(pd.DataFrame({
            "experiment": name, "temperature_K": temp, "mixing_time_s": tm,
            "from_site": peaks.from_site, "to_site": peaks.to_site,
            "volume": peaks.volume.to_numpy(float), "sigma": peaks.sigma.to_numpy(float),
            "temperature_sigma_K": float(temperature_sigma_K),
            "f1_ppm": peaks.f1_ppm, "f2_ppm": peaks.f2_ppm, "intensity": kind,
            "source_line": peaks.line}))
    order = {s: k for k, s in enumerate(sites_ppm)}
    table = pd.concat(parts, ignore_index=True)
    table = table.sort_values(
        ["experiment", "from_site", "to_site"], kind="stable",
        key=lambda c: c.map(order) if c.name != "experiment" else c.map(
            {n: k for k, (n, _) in enumerate(files)}))
    return table.reset_index(drop=True)
