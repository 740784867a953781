"""Assemble an EXSY series (several mixing times x several temperatures) from the user's paths.

Steps
-----
1. :func:`expand_paths`: every entry of ``[data] paths`` is a folder, a spectrum file or a
   glob, relative to the config file's folder.  Stray files (and folders holding no
   spectrometer file at all) that a glob picks up are skipped; a pattern that matches no
   experiment is an error.
2. :func:`experiment_table`: the format of each entry is detected (:func:`detect_format`:
   Bruker ``acqus``, Varian ``procpar`` + ``fid``, NMRPipe ``.ft2``/``.ft``/``.DAT``/``.pipe``,
   Sparky ``.ucsf``) and only headers are read: nucleus, set temperature, mixing time, scans,
   gain, MAS rate, size, whether processed/raw data exist, and the acquisition facts of
   :mod:`exsyfit.io.metadata`.  ``mixing_time`` may be a table ``{experiment: seconds}``
   (needed for NMRPipe and Sparky files, which record none; it overrides the header value of
   the experiments it names).  Temperature calibration is
   applied here (``temperature_K`` = sample temperature).  This is what ``exsyfit check``
   prints.  An arrayed Varian experiment gives one row per array element
   (``experiment`` = ``"path[k]"``, k from 1).
3. :func:`read_series`: reads every spectrum, processed identically, groups temperatures and
   refuses what cannot form one series.

Processing rule (never mix)
---------------------------
With ``prefer="processed"`` every experiment must have TopSpin's ``2rr``.  If some experiments
lack it (or the series holds Varian data, which are always processed here) **all** experiments
are processed from their raw data with the same options instead, and ``Series.read_as`` /
``Series.notes`` say so; if some experiment has no raw data either, the series is refused.
Processed and raw intensities are on different scales, so a series is never mixed.
NMRPipe and Sparky spectra carry the intensity scale of the program that wrote them: a series
must come from one program (and is used as stored, without scans/gain normalisation).

Temperature
-----------
Calibration and grouping follow :mod:`exsyfit.io.temperature` (the one rule).  Every spectrum
returned by :func:`read_series` carries its experiment name (``experiment``), its grouped,
calibrated sample temperature (``sample_temperature_K``, the value of volumes.csv) and its
uncertainty (``temperature_sigma_K``); ``metadata`` adds ``calibrated_temperature_K`` (before
grouping), ``set_temperature_K``, ``temperature_source`` and ``temperature_calibrated``.
``read_series(config)`` takes every setting, the calibration included, from a loaded config.
"""

from __future__ import annotations

import glob
import math
import os
import warnings
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from exsyfit.errors import ConfigError, DataFormatError, SeriesError
from exsyfit.io import nmrpipe, sparky, varian
from exsyfit.io.fileformats import FOREIGN_FORMATS
from exsyfit.io.spectrum import Spectrum2D
from exsyfit.io.temperature import (
    DEFAULT_TOLERANCE_K,
    calibrate_temperatures,
    group_temperatures,
    is_calibrated,
    per_experiment_rows,
)

__all__ = [
    "Series",
    "expand_paths",
    "detect_format",
    "experiment_table",
    "calibrate_temperatures",
    "group_temperatures",
    "read_series",
    "check_sites",
]

_TABLE_COLUMNS = [
    "experiment", "format", "nucleus", "set_temperature_K", "temperature_K",
    "temperature_sigma_K", "temperature_source", "mixing_time_s", "scans", "receiver_gain",
    "mas_rate_hz", "size", "has_processed", "has_raw",
]
_ACQUISITION_COLUMNS = ["field_T", "pulse_program", "recycle_delay_s", "probe", "spinning",
                        "spinning_reason"]
_SPECTROMETER_FILES = ("acqus", "acqu", "acqu2s", "ser", "fid", "procpar", "pdata", "2rr")
_GLOB_CHARS = set("*?[")


# --------------------------------------------------------------------------------------------
# paths and vendors
# --------------------------------------------------------------------------------------------


def _bruker():
    from exsyfit.io import bruker

    return bruker


def detect_format(folder: str | os.PathLike) -> str | None:
    """``"bruker"``, ``"varian"`` (folders), ``"nmrpipe"``, ``"sparky"`` (files) or None."""
    if nmrpipe.is_nmrpipe_spectrum(folder):
        return "nmrpipe"
    if sparky.is_sparky_spectrum(folder):
        return "sparky"
    if _bruker().is_bruker_experiment(folder):
        return "bruker"
    if varian.is_varian_experiment(folder):
        return "varian"
    return None


def _is_spectrum_file(path: Path) -> bool:
    return nmrpipe.is_nmrpipe_spectrum(path) or sparky.is_sparky_spectrum(path)


def _looks_like_experiment(path: Path) -> bool:
    if path.is_file():
        return _is_spectrum_file(path)
    return path.is_dir() and any((path / f).exists() for f in _SPECTROMETER_FILES)


def expand_paths(paths: Sequence[str], base_dir: str | os.PathLike) -> list[tuple[str, Path]]:
    """Expand folders and globs into experiment folders.

    Parameters
    ----------
    paths : sequence of str
        Folders or glob patterns; relative ones are relative to ``base_dir``.
    base_dir : path-like
        The config file's folder.

    Returns
    -------
    list of (str, pathlib.Path)
        The experiment as written (the expanded pattern, relative when the pattern was) and
        its absolute folder, in the order given (glob matches sorted naturally).

    Raises
    ------
    SeriesError
        A pattern that matches nothing, or a named folder that is not an experiment.
    """
    if isinstance(paths, str | os.PathLike):
        paths = [str(paths)]
    base = Path(base_dir)
    out: list[tuple[str, Path]] = []
    seen: set[Path] = set()
    for pattern in paths:
        pattern = str(pattern)
        absolute = Path(pattern).expanduser().is_absolute()
        full = str(Path(pattern).expanduser()) if absolute else str(base / pattern)
        is_glob = bool(_GLOB_CHARS & set(pattern))
        matches = sorted(glob.glob(full), key=_natural_key) if is_glob else (
            [full] if os.path.exists(full) else [])
        if not matches:
            where = f" (looked in {base})" if not absolute else ""
            raise SeriesError(f"[data] paths: {pattern!r} matches no file or folder{where}")
        found = 0
        for m in matches:
            folder = Path(m)
            if is_glob and not _looks_like_experiment(folder):
                continue  # a stray file (README, notes.txt) or an unrelated folder
            if not is_glob and not folder.is_dir() and not _is_spectrum_file(folder):
                raise SeriesError(
                    f"[data] paths: {pattern!r} is a file but not an NMRPipe or Sparky "
                    "spectrum; expected an experiment folder (Bruker <expno> with acqus, or "
                    "Varian <name>.fid with procpar and fid) or a processed spectrum file "
                    f"({', '.join(nmrpipe.SUFFIXES + sparky.SUFFIXES)})")
            key = folder.resolve()
            if key in seen:
                continue
            seen.add(key)
            shown = m if absolute else os.path.relpath(m, base)
            out.append((shown, folder))
            found += 1
        if not found:
            raise SeriesError(
                f"[data] paths: {pattern!r} matches {len(matches)} entries but none is an "
                "experiment folder (Bruker <expno> with acqus, or Varian <name>.fid)")
    return out


def _natural_key(s: str) -> list[Any]:
    import re

    return [int(t) if t.isdigit() else t for t in re.split(r"(\d+)", s)]


# --------------------------------------------------------------------------------------------
# experiment table
# --------------------------------------------------------------------------------------------


def _bruker_mixing(mixing_time: str | float) -> str | float:
    return "D8" if mixing_time == "auto" else mixing_time


def _varian_mixing(mixing_time: str | float) -> str | float:
    if isinstance(mixing_time, str) and mixing_time not in ("auto",) \
            and not mixing_time.startswith("param:"):
        return f"param:{mixing_time}"
    return mixing_time


def _foreign_row(shown: str, path: Path, fmt: str, mixing_time: Any) -> dict[str, Any]:
    """The one table row of an NMRPipe or Sparky spectrum file."""
    reader = nmrpipe if fmt == "nmrpipe" else sparky
    meta = reader.read_metadata(path)
    if meta["ndim"] != 2:
        raise SeriesError(f"{shown}: holds a {meta['ndim']}D spectrum ({meta['size']}); an "
                          "EXSY series needs 2D spectra")
    given = isinstance(mixing_time, int | float) and not isinstance(mixing_time, bool)
    name = "NMRPipe" if fmt == "nmrpipe" else "Sparky"
    return {
        "experiment": shown, "format": fmt, "nucleus": meta["nucleus"],
        "set_temperature_K": meta["temperature_K"],
        "mixing_time_s": float(mixing_time) if given else None, "scans": None,
        "receiver_gain": None, "mas_rate_hz": None, "size": meta["size"],
        "has_processed": True, "has_raw": False, "folder": str(path), "element": None,
        "mixing_time_error": None if given else (
            f"{name} files record no mixing time; give it per experiment, [data] "
            f"mixing_time = {{ \"{shown}\" = <seconds>, ... }}"),
        "temperature_error": None, **{k: None for k in _ACQUISITION_COLUMNS},
    }


def _rows_for(shown: str, folder: Path, fmt: str, procno: int,
              mixing_time: Any) -> list[dict[str, Any]]:
    if fmt in FOREIGN_FORMATS:
        return [_foreign_row(shown, folder, fmt, mixing_time)]
    if isinstance(mixing_time, Mapping):
        mixing_time = "auto"  # vendor value unless the table names the experiment
    if fmt == "bruker":
        meta = _bruker().read_metadata(folder, procno=procno,
                                       mixing_time=_bruker_mixing(mixing_time))
        dims = meta["dimensionality"]
        if dims in ("1D", "pseudo-2D", "3D"):
            raise SeriesError(f"{shown}: is a {dims} experiment; an EXSY series needs 2D spectra")
        td = meta["td"]
        si = meta["si"]
        mix = meta["mixing_time_s"]
        mixes = mix if isinstance(mix, list) else [mix]
        size = "x".join(str(v) for v in reversed(si)) if (meta["has_2rr"] and si) else \
            "x".join(str(v) for v in reversed(td))
        rows = []
        for k, m in enumerate(mixes):
            rows.append({
                "experiment": shown if len(mixes) == 1 else f"{shown}[{k + 1}]",
                "format": "bruker", "nucleus": meta["nucleus"],
                "set_temperature_K": meta["temperature_K"], "mixing_time_s": m,
                "scans": meta["scans"], "receiver_gain": meta["receiver_gain"],
                "mas_rate_hz": meta["mas_rate_hz"], "size": size,
                "has_processed": bool(meta["has_2rr"]), "has_raw": bool(meta["has_ser"]),
                "folder": str(folder), "element": k + 1 if len(mixes) > 1 else None,
                "mixing_time_error": meta.get("mixing_time_error"),
                "temperature_error": meta.get("temperature_error"),
                **{k: meta.get(k) for k in _ACQUISITION_COLUMNS},
            })
        return rows
    meta = varian.read_metadata(folder, mixing_time=_varian_mixing(mixing_time))
    if meta["ndim"] < 2:
        arr = f", arrayed over {meta['array']!r}" if meta["array"] else ""
        raise SeriesError(f"{shown}: is a 1D experiment (ni = 1{arr}); an EXSY series needs "
                          "2D spectra")
    n = meta["n_elements"]
    scans = meta["scans"] if isinstance(meta["scans"], list) else [meta["scans"]] * n
    rows = []
    for k in range(n):
        rows.append({
            "experiment": shown if n == 1 else f"{shown}[{k + 1}]",
            "format": "varian", "nucleus": meta["nucleus"],
            "set_temperature_K": meta["temperature_K"],
            "mixing_time_s": meta["mixing_times_s"][k],
            "scans": scans[k] if len(scans) == n else scans[0],
            "receiver_gain": meta["receiver_gain"], "mas_rate_hz": meta["mas_rate_hz"],
            "size": meta["size"], "has_processed": False, "has_raw": bool(meta["has_raw"]),
            "folder": str(folder), "element": k + 1 if n > 1 else None,
            "mixing_time_error": meta["mixing_time_error"],
            "temperature_error": meta.get("temperature_error"),
            **{k: meta.get(k) for k in _ACQUISITION_COLUMNS},
        })
    return rows


def experiment_table(
    paths: Sequence[str],
    base_dir: str | os.PathLike,
    *,
    procno: int = 1,
    mixing_time: str | float = "auto",
    temperature_calibration: Mapping[str, Any] | None = None,
) -> pd.DataFrame:
    """Header summary of every experiment (one row per 2D spectrum), without reading data.

    Parameters
    ----------
    paths : sequence of str
        ``[data] paths``: folders or globs, relative to ``base_dir``.
    base_dir : path-like
        The config file's folder.
    procno : int
        Bruker processed-data number.
    mixing_time : str or float
        ``"auto"`` (Bruker D8, Varian mixN/mix), a Bruker source (``"D9"``, ``"vdlist"``,
        ``"vclist*rotor"``), a Varian parameter (``"param:NAME"``) or seconds.
    temperature_calibration : mapping, optional
        See the module docstring.

    Returns
    -------
    pandas.DataFrame
        Columns ``experiment, format, nucleus, set_temperature_K, temperature_K,
        temperature_sigma_K, temperature_source, mixing_time_s, scans, receiver_gain,
        mas_rate_hz, size, has_processed, has_raw``, the acquisition facts ``field_T,
        pulse_program, recycle_delay_s, probe, spinning, spinning_reason`` (see
        :mod:`exsyfit.io.metadata`), plus ``folder`` (absolute), ``element`` (array element or
        None), ``mixing_time_error`` and ``temperature_error``.

    Raises
    ------
    SeriesError, DataFormatError, ConfigError
        Patterns matching nothing, folders of unknown format, 1D data, unreadable headers,
        bad calibration settings.
    """
    rows: list[dict[str, Any]] = []
    for shown, folder in expand_paths(paths, base_dir):
        fmt = detect_format(folder)
        if fmt is None:
            present = sorted(p.name for p in folder.iterdir())[:8]
            raise DataFormatError(
                f"{shown}: not a Bruker or Varian experiment (found {present}); expected "
                "acqus (+ acqu2s, ser or pdata/<procno>/2rr) or procpar + fid")
        rows.extend(_rows_for(shown, folder, fmt, procno, mixing_time))
    table = pd.DataFrame(rows)
    if isinstance(mixing_time, Mapping):
        table = _mixing_from_config(table, mixing_time, base_dir)
    table = calibrate_temperatures(table, temperature_calibration, base_dir)
    first = _TABLE_COLUMNS + _ACQUISITION_COLUMNS
    extra = [c for c in table.columns if c not in first]
    return table[first + extra]


def _mixing_from_config(table: pd.DataFrame, values: Mapping[str, Any],
                        base_dir: str | os.PathLike) -> pd.DataFrame:
    """Mixing times given per experiment in the config (``[data] mixing_time`` table)."""
    for key, v in values.items():
        if isinstance(v, bool) or not isinstance(v, int | float) or not math.isfinite(v) \
                or not 0 <= v <= 3600:
            raise ConfigError(f"[data] mixing_time {key!r} = {v!r}: expected seconds from 0 "
                              "to 3600")
    rows = per_experiment_rows(table, values, base_dir, "[data] mixing_time")
    table = table.copy()
    for i, value in rows.items():
        table.iloc[i, table.columns.get_loc("mixing_time_s")] = float(value)
        table.iloc[i, table.columns.get_loc("mixing_time_error")] = None
    return table


# --------------------------------------------------------------------------------------------
# series
# --------------------------------------------------------------------------------------------


@dataclass
class Series:
    """Spectra of one EXSY series with their header table.

    Attributes
    ----------
    spectra : list of Spectrum2D
        One per row of ``table``, all processed the same way.
    table : pandas.DataFrame
        :func:`experiment_table` columns plus ``read_as`` ("processed" / "raw"),
        ``temperature_group`` (0, 1, ... by increasing temperature) and
        ``temperature_group_K`` (mean sample temperature of the group).
    temperatures_K : numpy.ndarray
        Grouped sample temperature of each spectrum: the value for volumes.csv.
    read_as : str
        ``"processed"`` or ``"raw"``.
    notes : list of str
        Decisions taken while reading (for example processing everything from raw data).
    """

    spectra: list[Spectrum2D]
    table: pd.DataFrame
    temperatures_K: np.ndarray
    read_as: str = "processed"
    notes: list[str] = field(default_factory=list)

    @property
    def mixing_times_s(self) -> np.ndarray:
        """Mixing time of each spectrum, s."""
        return self.table["mixing_time_s"].to_numpy(dtype=float)

    @property
    def temperature_sigmas_K(self) -> np.ndarray:
        """Uncertainty of each spectrum's sample temperature, K."""
        return self.table["temperature_sigma_K"].to_numpy(dtype=float)


def _looked_for(row: Any, procno: int) -> str:
    """The files an experiment without usable data was searched for."""
    folder = Path(row["folder"])
    if row["format"] == "varian":
        return f"{row['experiment']} (looked for {folder / 'fid'})"
    return (f"{row['experiment']} (looked for {folder / 'pdata' / str(procno) / '2rr'} and "
            f"{folder / 'ser'})")


def _choose_source(table: pd.DataFrame, prefer: str, procno: int = 1
                   ) -> tuple[str, list[str]]:
    notes: list[str] = []
    if prefer not in ("processed", "raw"):
        raise ConfigError(f"[data] prefer = {prefer!r}: expected 'processed' or 'raw'")
    if prefer == "processed" and table["has_processed"].all():
        return "processed", notes
    if prefer == "processed":
        lacking = table.loc[~table["has_processed"].astype(bool), "experiment"].tolist()
        notes.append(
            f"{len(lacking)} of {len(table)} experiments have no processed spectrum "
            f"({', '.join(map(str, lacking[:5]))}{' ...' if len(lacking) > 5 else ''}); every "
            "experiment is processed from its raw data with the same settings instead, so "
            "the series is not mixed")
    no_raw = [_looked_for(row, procno) for _, row in table.iterrows() if not row["has_raw"]]
    if no_raw:
        why = ("some have no processed spectrum and " if prefer == "processed" else "")
        raise SeriesError(
            f"cannot process the series the same way: {why}these have no raw data: "
            f"{'; '.join(no_raw)}; check [data] procno and paths (processed and raw spectra "
            "are never mixed)")
    return "raw", notes


def _check_table(table: pd.DataFrame, replicates_allowed: bool) -> None:
    if len(table) < 2:
        only = table["experiment"].iloc[0] if len(table) else "nothing"
        raise SeriesError(f"an EXSY series needs at least 2 spectra; found 1 ({only})")
    nuclei = sorted(set(table["nucleus"]))
    if len(nuclei) > 1:
        firsts = [f"{n}: {table.loc[table['nucleus'] == n, 'experiment'].iloc[0]}"
                  for n in nuclei]
        raise SeriesError(f"the series mixes nuclei ({'; '.join(firsts)}); all spectra must "
                          "observe the same nucleus")
    missing = table[table["mixing_time_s"].isna()]
    if len(missing):
        row = missing.iloc[0]
        reason = row.get("mixing_time_error") or "no mixing-time parameter found"
        raise SeriesError(f"{row['experiment']}: no mixing time ({reason}); set [data] "
                          "mixing_time to the parameter that holds it, or a number of seconds")
    if not replicates_allowed:
        key = list(zip(table["temperature_group"], np.round(table["mixing_time_s"], 9),
                       strict=True))
        seen: dict[Any, str] = {}
        for k, exp in zip(key, table["experiment"], strict=True):
            if k in seen:
                t = table.loc[table["experiment"] == exp, "temperature_group_K"].iloc[0]
                raise SeriesError(
                    f"{seen[k]} and {exp} have the same temperature ({t:.1f} K) and mixing "
                    f"time ({k[1]:g} s); remove one or set [data] replicates = true")
            seen[k] = exp


def read_series(
    paths: Sequence[str] | Any,
    base_dir: str | os.PathLike | None = None,
    *,
    prefer: str = "processed",
    procno: int = 1,
    options: Any = None,
    normalise: bool = True,
    mixing_time: str | float = "auto",
    temperature_calibration: Mapping[str, Any] | None = None,
    temperature_tolerance_K: float = DEFAULT_TOLERANCE_K,
    replicates_allowed: bool = False,
    progress: Callable[[int, int, str], None] | None = None,
) -> Series:
    """Read every spectrum of an EXSY series, processed the same way, on one intensity scale.

    ``read_series(config)`` with a loaded config (:func:`exsyfit.load_config`) takes the
    paths, the ``[data]`` settings, the ``[temperature]`` calibration and the ``[processing]``
    options from it; the keyword arguments are then not used.

    Parameters
    ----------
    paths, base_dir, procno, mixing_time, temperature_calibration
        As :func:`experiment_table`; or a loaded config as the only argument.
    prefer : {"processed", "raw"}
        Bruker data to read; see the module docstring for the never-mix rule.
    options : exsyfit.processing.transforms.ProcessingOptions, optional
        Processing of raw data (same for every experiment).  With ``auto_phase`` one phase
        correction, found on the shortest-mixing-time spectrum, is applied to all spectra.
    normalise : bool
        Divide by scans and receiver gain.
    temperature_tolerance_K : float
        Spectra whose sample temperatures lie within this of a group's coldest member share
        one temperature (the group mean).
    replicates_allowed : bool
        Allow several spectra with the same temperature group and mixing time.
    progress : callable, optional
        Called as ``progress(done, total, experiment)`` after each experiment folder.

    Returns
    -------
    Series
        Its spectra carry ``experiment``, ``sample_temperature_K`` (grouped, calibrated) and
        ``temperature_sigma_K``.

    Raises
    ------
    SeriesError
        Fewer than 2 spectra, mixed nuclei, missing mixing times, duplicates, 1D data, a
        series that cannot be processed one way.
    DataFormatError, ConfigError
        From the readers and the calibration.
    """
    if base_dir is None:
        if not hasattr(paths, "data") or not hasattr(paths, "base_dir"):
            raise ConfigError("read_series: give the paths and the config's folder "
                              "(read_series(paths, base_dir)), or a loaded config")
        return read_series(**_config_settings(paths), progress=progress)
    table = experiment_table(paths, base_dir, procno=procno, mixing_time=mixing_time,
                             temperature_calibration=temperature_calibration)
    groups, group_k = group_temperatures(table["temperature_K"], temperature_tolerance_K)
    table["temperature_group"] = groups
    table["temperature_group_K"] = group_k
    _check_table(table, replicates_allowed)
    foreign = table["format"].isin(FOREIGN_FORMATS)
    if foreign.any() and table["format"].nunique() > 1:
        kinds = sorted(set(table["format"]))
        raise SeriesError(f"the series mixes {', '.join(kinds)} spectra; spectra processed by "
                          "another program (NMRPipe, Sparky) carry their own intensity scale, "
                          "so a series must come from one program")
    if foreign.all():
        source, notes = "processed", []
    elif (table["format"] == "varian").any() and prefer == "processed" \
            and (table["format"] == "bruker").any():
        source, notes = _choose_source(table.assign(has_processed=False), "processed", procno)
    else:
        source, notes = _choose_source(table, prefer if (table["format"] == "bruker").any()
                                       else "raw", procno)
    if notes and table["has_processed"].any():
        warnings.warn(notes[0], stacklevel=2)
    opts = _series_options(table, source, options, procno, normalise, mixing_time)
    spectra = _read_all(table, source, opts, procno, normalise, mixing_time, progress)
    table["read_as"] = source
    spectra = [_with_temperature(sp, row) for sp, row in
               zip(spectra, table.itertuples(index=False), strict=True)]
    return Series(spectra=spectra, table=table, temperatures_K=group_k.astype(float),
                  read_as=source, notes=notes)


def _config_settings(config: Any) -> dict[str, Any]:
    """Keyword arguments of :func:`read_series` from a loaded config (duck-typed)."""
    data = config.data
    if getattr(data, "paths", None) in (None, (), []):
        raise ConfigError(f"{getattr(config, 'path', 'config')}: [data] paths: not set; "
                          "expected the spectra to read")
    calibration = config.temperature
    return dict(
        paths=list(data.paths), base_dir=config.base_dir, prefer=data.prefer,
        procno=data.procno, options=getattr(config, "processing", None),
        normalise=data.normalise_intensity, mixing_time=data.mixing_time,
        temperature_calibration=calibration.as_dict() if hasattr(calibration, "as_dict")
        else calibration,
        temperature_tolerance_K=data.temperature_tolerance_K,
        replicates_allowed=data.replicates)


def _with_temperature(sp: Spectrum2D, row: Any) -> Spectrum2D:
    """The spectrum with its experiment name and sample temperature (one table row)."""
    set_t = row.set_temperature_K
    meta = {**sp.metadata,
            "set_temperature_K": None if set_t is None or not np.isfinite(set_t)
            else float(set_t),
            "calibrated_temperature_K": float(row.temperature_K),
            "temperature_source": str(row.temperature_source),
            "temperature_calibrated": is_calibrated(str(row.temperature_source))}
    return replace(sp, experiment=str(row.experiment),
                   sample_temperature_K=float(row.temperature_group_K),
                   temperature_sigma_K=float(row.temperature_sigma_K), metadata=meta)


def _read_folder(folder: str, fmt: str, source: str, options: Any, procno: int,
                 normalise: bool, mixing_time: str | float) -> list[Spectrum2D]:
    if fmt in FOREIGN_FORMATS:
        return (nmrpipe if fmt == "nmrpipe" else sparky).read_experiment(folder)
    if isinstance(mixing_time, Mapping):
        mixing_time = "auto"  # the table's per-experiment values are applied after reading
    if fmt == "bruker":
        return _bruker().read_experiment(folder, prefer=source, procno=procno, options=options,
                                         normalise=normalise,
                                         mixing_time=_bruker_mixing(mixing_time))
    return varian.read_experiment(folder, options=options, normalise=normalise,
                                  mixing_time=_varian_mixing(mixing_time))


def _series_options(table: pd.DataFrame, source: str, options: Any, procno: int,
                    normalise: bool, mixing_time: str | float) -> Any:
    """Options with one auto-phase result for the whole series (raw data only)."""
    if source != "raw" or options is None or not getattr(options, "auto_phase", False):
        return options
    ref = table.sort_values("mixing_time_s").iloc[0]
    spec = _read_folder(ref["folder"], ref["format"], source, options, procno, normalise,
                        mixing_time)
    el = ref["element"]
    k = int(el) - 1 if el is not None and not (isinstance(el, float) and np.isnan(el)) else 0
    ph = spec[k].metadata.get("phases_deg")
    if isinstance(ph, dict):
        ph = tuple(ph.values())
    p0_2, p1_2, p0_1, p1_1 = (float(v) for v in ph)
    return replace(options, auto_phase=False, p0_f2=p0_2, p1_f2=p1_2, p0_f1=p0_1, p1_f1=p1_1)


def _read_all(table: pd.DataFrame, source: str, options: Any, procno: int, normalise: bool,
              mixing_time: str | float, progress: Callable[[int, int, str], None] | None
              ) -> list[Spectrum2D]:
    folders = list(dict.fromkeys(table["folder"]))
    by_folder: dict[str, list[Spectrum2D]] = {}
    for n, folder in enumerate(folders):
        rows = table[table["folder"] == folder]
        fmt = rows["format"].iloc[0]
        spectra = _read_folder(folder, fmt, source, options, procno, normalise, mixing_time)
        if len(spectra) != len(rows):
            raise DataFormatError(f"{rows['experiment'].iloc[0]}: header announces {len(rows)} "
                                  f"spectra but {len(spectra)} were read")
        by_folder[folder] = spectra
        if progress is not None:
            progress(n + 1, len(folders), str(rows["experiment"].iloc[0]))
    out: list[Spectrum2D] = []
    counters: dict[str, int] = {}
    for row in table.itertuples(index=False):
        k = counters.get(row.folder, 0)
        counters[row.folder] = k + 1
        sp = by_folder[row.folder][k]
        out.append(replace(sp, source=str(row.experiment),
                           mixing_time_s=float(row.mixing_time_s)))
    return out


def check_sites(series: Series | Sequence[Spectrum2D], sites_ppm: Mapping[str, float],
                *, margin_ppm: float = 0.0) -> None:
    """Refuse spectra whose windows do not contain every site in both dimensions.

    Parameters
    ----------
    series : Series or sequence of Spectrum2D
    sites_ppm : mapping
        Site name -> chemical shift, ppm.
    margin_ppm : float
        Required distance of each site from the window edges, ppm.

    Raises
    ------
    SeriesError
        Naming the site, the spectrum and its F1/F2 window.
    """
    spectra = series.spectra if isinstance(series, Series) else list(series)
    for sp in spectra:
        for dim, axis in (("F2", sp.ppm_f2), ("F1", sp.ppm_f1)):
            lo, hi = float(np.min(axis)), float(np.max(axis))
            for name, ppm in sites_ppm.items():
                if not (lo + margin_ppm <= float(ppm) <= hi - margin_ppm):
                    raise SeriesError(
                        f"{sp.source}: site {name} at {float(ppm):g} ppm lies outside the "
                        f"{dim} window {hi:.3g} .. {lo:.3g} ppm; check [sites.{name}] ppm or "
                        "the referencing of the spectra")
