"""The volume table: one row per peak per spectrum (``volumes.csv``).

Required columns (see the interface reference): ``experiment``, ``temperature_K``,
``mixing_time_s``, ``from_site`` (site the magnetisation started on, F1), ``to_site`` (site it
was detected on, F2), ``volume`` and ``sigma`` (one standard deviation of ``volume``).  An
optional ``temperature_sigma_K`` column carries the uncertainty of the sample temperature.
Any further columns are kept and ignored by the fit.
"""

from __future__ import annotations

import csv
import io
import re
import warnings
from collections.abc import Collection, Sequence
from pathlib import Path

import numpy as np
import pandas as pd

from exsyfit.errors import VolumeTableError
from exsyfit.io.temperature import DEFAULT_TOLERANCE_K
from exsyfit.io.temperature import group_temperatures as _group_temperatures

REQUIRED_COLUMNS = (
    "experiment",
    "temperature_K",
    "mixing_time_s",
    "from_site",
    "to_site",
    "volume",
    "sigma",
)
_NUMERIC = ("temperature_K", "mixing_time_s", "volume", "sigma")


#: Names of the plausibility checks that ``[data] skip_checks`` can switch off.
PLAUSIBILITY_CHECKS = (
    "temperature_range",
    "mixing_time_range",
    "mixing_time_count",
    "zero_volumes",
    "negative_diagonals",
)
#: Plausible sample temperatures, K (outside: Celsius or a typing error).
TEMPERATURE_RANGE_K = (100.0, 1000.0)
#: Longest plausible mixing time, s (longer: milliseconds given as seconds).
MAX_MIXING_TIME_S = 60.0
#: Significance (standard deviations) beyond which a negative diagonal volume is flagged.
NEGATIVE_SIGMA = 3.5
_DECIMAL_COMMA = re.compile(r"^\s*[-+]?\d+,\d+(?:[eE][-+]?\d+)?\s*$")


def read_volume_table(
    path: str | Path, sites: Sequence[str] | None = None, *, skip_checks: Collection[str] = (),
    temperature_tolerance_K: float = DEFAULT_TOLERANCE_K,
) -> pd.DataFrame:
    """Read a volumes.csv file, check its columns and values, and check them for plausibility.

    Parameters
    ----------
    path : str or Path
        CSV file (comma-separated, ``.`` as decimal point) with at least the columns in
        :data:`REQUIRED_COLUMNS`.
    sites : sequence of str, optional
        Site names of the config; every ``from_site``/``to_site`` must be one of them.
    skip_checks : collection of str
        Plausibility checks to leave out (``[data] skip_checks``; see
        :func:`check_plausibility`).
    temperature_tolerance_K : float
        Rows closer than this in temperature share a temperature, K.

    Returns
    -------
    pandas.DataFrame
        The table with numeric columns as float and site columns as str.

    Raises
    ------
    VolumeTableError
        Missing or unreadable file, a decimal-comma or semicolon-separated file, missing
        column, non-numeric or non-finite values, sigma not positive, negative mixing time or
        temperature uncertainty, implausible values.
    """
    path = Path(path)
    if not path.is_file():
        raise VolumeTableError(f"{path}: file not found (expected a volume table in CSV format)")
    try:
        text = path.read_text(encoding="utf-8-sig")
    except (OSError, UnicodeDecodeError) as exc:
        raise VolumeTableError(f"{path}: cannot be read ({exc.__class__.__name__}: "
                               f"{getattr(exc, 'strerror', None) or exc})") from None
    _check_separators(text, str(path))
    try:
        table = pd.read_csv(io.StringIO(text), index_col=False,
                            dtype={"from_site": str, "to_site": str, "experiment": str})
    except (pd.errors.ParserError, pd.errors.EmptyDataError, ValueError) as exc:
        raise VolumeTableError(f"{path}: cannot be read as CSV ({exc})") from None
    table = validate_volume_table(table, source=str(path), sites=sites)
    check_plausibility(table, str(path), skip_checks=skip_checks,
                       temperature_tolerance_K=temperature_tolerance_K)
    return table


def _check_separators(text: str, source: str) -> None:
    """Refuse semicolon-separated and decimal-comma files with a message that says so."""
    lines = [ln for ln in text.splitlines() if ln.strip()]
    if not lines:
        return
    rows = list(csv.reader(lines[:200]))
    header = rows[0]
    if len(header) == 1 and ";" in header[0]:
        raise VolumeTableError(
            f"{source}: line 1: found ';'-separated columns ({header[0][:60]!r}); expected "
            "comma-separated values with '.' as decimal point (a spreadsheet with a decimal "
            "comma? save it as CSV with '.' decimals)")
    for k, row in enumerate(rows[1:], start=2):
        if len(row) > len(header):
            hint = ("; decimal commas? (e.g. '0,5' must be written 0.5)"
                    if re.search(r"\d,\d", lines[k - 1]) else "")
            raise VolumeTableError(
                f"{source}: line {k}: found {len(row)} fields, the header has {len(header)}"
                f"{hint}")


def validate_volume_table(
    table: pd.DataFrame, source: str = "volume table", sites: Sequence[str] | None = None
) -> pd.DataFrame:
    """Check a volume table and return a cleaned copy.

    Parameters
    ----------
    table : pandas.DataFrame
        Candidate table.
    source : str
        Name used in error messages (usually the file path).
    sites : sequence of str, optional
        Site names declared in the config; every ``from_site``/``to_site`` must be one of them.

    Raises
    ------
    VolumeTableError
        With the source, the column, the offending row (1-based data line) and value.
    """
    missing = [c for c in REQUIRED_COLUMNS if c not in table.columns]
    if missing:
        raise VolumeTableError(
            f"{source}: missing column(s) {', '.join(repr(c) for c in missing)}; "
            f"found {', '.join(repr(c) for c in table.columns)}; "
            f"expected at least {', '.join(REQUIRED_COLUMNS)}"
        )
    if len(table) == 0:
        raise VolumeTableError(f"{source}: the table has no rows")
    table = table.copy()
    for column in _NUMERIC + (("temperature_sigma_K",) if "temperature_sigma_K" in table else ()):
        values = pd.to_numeric(table[column], errors="coerce")
        bad = values.isna() | ~np.isfinite(values.to_numpy(dtype=float, na_value=np.nan))
        if bad.any():
            row = int(np.flatnonzero(bad.to_numpy())[0])
            found = table[column].iloc[row]
            hint = (" (a decimal comma? write it with '.')"
                    if isinstance(found, str) and _DECIMAL_COMMA.match(found) else "")
            raise VolumeTableError(
                f"{source}: column '{column}', row {row + 1}: found {found!r}; "
                f"expected a finite number{hint}"
            )
        table[column] = values.astype(float)
    for column, rule, ok in (
        ("sigma", "a positive number", table["sigma"] > 0),
        ("temperature_K", "a temperature above 0 K (degrees Celsius? add 273.15)",
         table["temperature_K"] > 0),
        ("mixing_time_s", "a mixing time >= 0 s", table["mixing_time_s"] >= 0),
        *((("temperature_sigma_K", "a temperature uncertainty >= 0 K",
            table["temperature_sigma_K"] >= 0),) if "temperature_sigma_K" in table else ()),
    ):
        if not ok.all():
            row = int(np.flatnonzero(~ok.to_numpy())[0])
            raise VolumeTableError(
                f"{source}: column '{column}', row {row + 1}: found "
                f"{float(table[column].iloc[row]):g}; expected {rule}"
            )
    for column in ("from_site", "to_site", "experiment"):
        if table[column].isna().any():
            row = int(np.flatnonzero(table[column].isna().to_numpy())[0])
            raise VolumeTableError(f"{source}: column '{column}', row {row + 1} is empty")
        table[column] = table[column].astype(str).str.strip()
    if sites is not None:
        known = set(sites)
        for column in ("from_site", "to_site"):
            unknown = sorted(set(table[column]) - known)
            if unknown:
                raise VolumeTableError(
                    f"{source}: column '{column}' names site(s) {', '.join(map(repr, unknown))} "
                    f"that are not in the config; expected one of {', '.join(map(repr, sites))}"
                )
    key = ["experiment", "temperature_K", "mixing_time_s", "from_site", "to_site"]
    dup = table.duplicated(subset=key)
    if dup.any():
        row = int(np.flatnonzero(dup.to_numpy())[0])
        raise VolumeTableError(
            f"{source}: row {row + 1} repeats the peak {table.iloc[row]['from_site']}->"
            f"{table.iloc[row]['to_site']} of experiment {table.iloc[row]['experiment']!r}; "
            "expected one row per peak per spectrum"
        )
    return table.reset_index(drop=True)


def group_temperatures(temperatures_K: np.ndarray, tolerance_K: float = 2.0) -> np.ndarray:
    """Group index of each temperature (:func:`exsyfit.io.temperature.group_temperatures`)."""
    return _group_temperatures(temperatures_K, tolerance_K)[0]


def _skip_hint(name: str) -> str:
    return f" (if the values are right, add \"{name}\" to [data] skip_checks)"


def check_plausibility(
    table: pd.DataFrame, source: str = "volume table", *, skip_checks: Collection[str] = (),
    temperature_tolerance_K: float = DEFAULT_TOLERANCE_K,
) -> list[str]:
    """Check a validated volume table for values that no honest fit can use.

    Errors (each names the column and the likely cause; each can be switched off by naming it
    in ``[data] skip_checks``):

    ``temperature_range``
        a temperature outside 100-1000 K (Celsius given as kelvin?);
    ``mixing_time_range``
        a mixing time above 60 s (milliseconds given as seconds?);
    ``mixing_time_count``
        fewer than two distinct mixing times at a temperature (no build-up to fit);
    ``zero_volumes``
        every volume zero;
    ``negative_diagonals``
        a spectrum whose diagonal volumes are all negative beyond 3.5 sigma (a sign-flipped
        spectrum).

    A single diagonal volume negative beyond 3.5 sigma in a spectrum whose other diagonals are
    positive is a warning (``warnings.warn``): phase or baseline may be off, but the spectrum
    can still be fitted.

    Parameters
    ----------
    table : pandas.DataFrame
        Output of :func:`validate_volume_table`.
    source : str
        Name used in messages (usually the file path).
    skip_checks : collection of str
        Names from :data:`PLAUSIBILITY_CHECKS` to leave out.
    temperature_tolerance_K : float
        Rows closer than this in temperature share a temperature, K.

    Returns
    -------
    list of str
        The warnings given.

    Raises
    ------
    VolumeTableError
        An implausible value, or an unknown name in ``skip_checks``.
    """
    unknown = sorted(set(skip_checks) - set(PLAUSIBILITY_CHECKS))
    if unknown:
        raise VolumeTableError(
            f"[data] skip_checks: found {', '.join(map(repr, unknown))}; expected names among "
            f"{', '.join(PLAUSIBILITY_CHECKS)}")
    skip = set(skip_checks)
    temp = table["temperature_K"].to_numpy(float)
    tm = table["mixing_time_s"].to_numpy(float)
    lo, hi = TEMPERATURE_RANGE_K
    if "temperature_range" not in skip:
        bad = np.flatnonzero((temp < lo) | (temp > hi))
        if bad.size:
            t = temp[bad[0]]
            cause = ("temperatures in degrees Celsius? add 273.15" if t < lo else
                     "a typing error or another unit?")
            raise VolumeTableError(
                f"{source}: column 'temperature_K', row {bad[0] + 1}: found {t:g}; expected a "
                f"sample temperature in kelvin between {lo:g} and {hi:g} K ({cause})"
                + _skip_hint("temperature_range"))
    if "mixing_time_range" not in skip:
        bad = np.flatnonzero(tm > MAX_MIXING_TIME_S)
        if bad.size:
            raise VolumeTableError(
                f"{source}: column 'mixing_time_s', row {bad[0] + 1}: found {tm[bad[0]]:g}; "
                f"expected seconds, at most {MAX_MIXING_TIME_S:g} s (milliseconds? divide by "
                "1000)" + _skip_hint("mixing_time_range"))
    if "mixing_time_count" not in skip:
        groups, group_k = _group_temperatures(temp, temperature_tolerance_K)
        for g in np.unique(groups):
            distinct = np.unique(tm[groups == g])
            if distinct.size < 2:
                t_k = group_k[groups == g][0]
                all_equal = np.unique(tm).size == 1
                cause = ("every row has the same mixing time: was the mixing time read from "
                         "the right parameter, or given in another unit?" if all_equal else
                         "a build-up needs at least two")
                raise VolumeTableError(
                    f"{source}: column 'mixing_time_s': at {t_k:g} K found only one mixing "
                    f"time ({distinct[0]:g} s); expected at least two distinct mixing times per "
                    f"temperature ({cause})" + _skip_hint("mixing_time_count"))
    vol = table["volume"].to_numpy(float)
    if "zero_volumes" not in skip and np.all(vol == 0):
        raise VolumeTableError(
            f"{source}: column 'volume': every value is 0; expected measured peak volumes "
            "(an empty or unprocessed spectrum?)" + _skip_hint("zero_volumes"))
    found: list[str] = []
    if "negative_diagonals" not in skip:
        found += _negative_diagonals(table, source)
    for message in found:
        warnings.warn(message, stacklevel=2)
    return found


def _negative_diagonals(table: pd.DataFrame, source: str) -> list[str]:
    """Error for a sign-flipped spectrum; warnings for single negative diagonal volumes."""
    diag = table[table["from_site"] == table["to_site"]]
    z = (diag["volume"] / diag["sigma"]).to_numpy(float)
    neg = pd.Series(z < -NEGATIVE_SIGMA, index=diag.index)
    out: list[str] = []
    key = ["experiment", "temperature_K", "mixing_time_s"]
    for (exp, _t, t_m), rows in diag.groupby(key, sort=False):
        flags = neg.loc[rows.index]
        if not flags.any():
            continue
        first = int(rows.index[np.flatnonzero(flags.to_numpy())[0]])
        shown = ", ".join(f"{r.from_site}: {r.volume:.4g} +/- {r.sigma:.2g}"
                          for r in rows.itertuples())
        if flags.all():
            raise VolumeTableError(
                f"{source}: column 'volume', row {first + 1}: every diagonal volume of "
                f"experiment {exp!r} (t_m = {t_m:g} s) is negative beyond the noise ({shown});"
                " expected positive diagonal peaks (a sign-flipped spectrum? check the phase "
                "or the sign of the intensity scale)" + _skip_hint("negative_diagonals"))
        out.append(
            f"{source}: column 'volume', row {first + 1}: experiment {exp!r} (t_m = {t_m:g} s) "
            f"has a negative diagonal volume beyond the noise ({shown}); check phase and "
            "baseline")
    return out
