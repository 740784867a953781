"""The volume table: one row per peak per spectrum (``volumes.csv``).

Required columns (see the interface reference): ``experiment``, ``temperature_K``,
``mixing_time_s``, ``from_site`` (site the magnetisation started on, F1), ``to_site`` (site it
was detected on, F2), ``volume`` and ``sigma`` (one standard deviation of ``volume``).  An
optional ``temperature_sigma_K`` column carries the uncertainty of the sample temperature.
Any further columns are kept and ignored by the fit.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pandas as pd

from exsyfit.errors import VolumeTableError
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


def read_volume_table(path: str | Path, sites: Sequence[str] | None = None) -> pd.DataFrame:
    """Read a volumes.csv file and check its columns and values.

    Parameters
    ----------
    path : str or Path
        CSV file with at least the columns in :data:`REQUIRED_COLUMNS`.
    sites : sequence of str, optional
        Site names of the config; every ``from_site``/``to_site`` must be one of them.

    Returns
    -------
    pandas.DataFrame
        The table with numeric columns as float and site columns as str.

    Raises
    ------
    VolumeTableError
        Missing file or column, non-numeric or non-finite values, negative sigma, ...
    """
    path = Path(path)
    if not path.is_file():
        raise VolumeTableError(f"{path}: file not found (expected a volume table in CSV format)")
    try:
        table = pd.read_csv(path, dtype={"from_site": str, "to_site": str, "experiment": str})
    except (pd.errors.ParserError, pd.errors.EmptyDataError, UnicodeDecodeError) as exc:
        raise VolumeTableError(f"{path}: cannot be read as CSV ({exc})") from None
    return validate_volume_table(table, source=str(path), sites=sites)


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
            raise VolumeTableError(
                f"{source}: column '{column}', row {row + 1}: found {table[column].iloc[row]!r}; "
                "expected a finite number"
            )
        table[column] = values.astype(float)
    for column, rule, ok in (
        ("sigma", "a positive number", table["sigma"] > 0),
        ("temperature_K", "a temperature above 0 K", table["temperature_K"] > 0),
        ("mixing_time_s", "a mixing time >= 0 s", table["mixing_time_s"] >= 0),
    ):
        if not ok.all():
            row = int(np.flatnonzero(~ok.to_numpy())[0])
            raise VolumeTableError(
                f"{source}: column '{column}', row {row + 1}: found {table[column].iloc[row]!r}; "
                f"expected {rule}"
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
