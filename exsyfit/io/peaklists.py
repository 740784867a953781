"""Peak tables written by other programs: NMRPipe ``.tab``, Sparky and TopSpin peak lists.

Every reader returns a tidy :class:`pandas.DataFrame`, one row per peak, with the columns

``label``
    the peak's assignment or index in the file (str);
``f1_ppm``, ``f2_ppm``
    position in the indirect (F1) and direct (F2) dimension, ppm;
``volume``, ``height``
    the integrated volume and the peak height (NaN where the file has none);
``sigma``
    one standard deviation of the volume (or of the height when the file has no volume), NaN
    where the file gives none;
``lw1_hz``, ``lw2_hz``
    full line widths at half height in F1 and F2, Hz (NaN where the file gives none);
``line``
    the 1-based line of the file the peak was read from.

Formats
-------
NMRPipe peak table (``.tab``, as written by ``pkFindROI``/``nlinLS`` and by
``nmrglue.pipe.write_table``)
    ``VARS`` names the columns, ``FORMAT`` gives their C formats, ``REMARK``/``DATA``/
    ``NULLVALUE``/``NULLSTRING`` lines are skipped.  ``X`` is the direct dimension (F2), ``Y``
    the indirect one (F1): ``X_PPM``/``Y_PPM`` positions, ``VOL`` volume, ``HEIGHT`` height,
    ``XW_HZ``/``YW_HZ`` widths, optional ``DVOL``/``DHEIGHT`` uncertainties, ``ASS`` the
    assignment.
Sparky peak list (the ``lt`` window saved as text)
    A header line of column titles (``Assignment  w1  w2`` then any of ``w1 (hz)``, ``w2 (hz)``,
    ``Data Height``, ``Volume``, ``S/N``, ``lw1 (hz)``, ``lw2 (hz)``), an optional blank line,
    then one peak per line; ``w1`` is F1 and ``w2`` F2 in ppm; the volume may be followed by
    Sparky's two-letter integration method (``ga``, ``lo``, ``bx``, ``el``, ...).

TopSpin peak list (``pdata/<procno>/peaklist.xml``, written by TopSpin's peak picking)
    ``<PeakList>`` holding ``<PeakList2D>`` with one ``<Peak2D F1=".." F2=".." intensity=".."
    annotation=".." type=".."/>`` per peak: ``F1``/``F2`` in ppm, ``intensity`` the height
    (no volume, no widths, no uncertainty), ``annotation`` the label.  A 1D list
    (``<Peak1D>``) is refused.

TopSpin's 2D integral lists (``int2d``, ``integrals.txt``) are not read: their layout is not
publicly documented.
"""

from __future__ import annotations

import math
import os
import re
import xml.parsers.expat
from pathlib import Path

import numpy as np
import pandas as pd

from exsyfit.errors import ExsyfitError

__all__ = ["PeakListError", "COLUMNS", "read_nmrpipe_table", "read_sparky_list",
           "read_topspin_peaklist", "read_peak_list", "detect_peak_format"]

#: Columns of every reader's table.
COLUMNS = ("label", "f1_ppm", "f2_ppm", "volume", "height", "sigma", "lw1_hz", "lw2_hz",
           "line")


class PeakListError(ExsyfitError):
    """A peak table that cannot be read (the message names the file, line and column)."""


# ------------------------------------------------------------------------------- NMRPipe
_PIPE_SPECIAL = ("NULLSTRING", "NULLVALUE", "REMARK", "DATA", "#")
#: NMRPipe column -> tidy column (the first present of each tidy column wins).
_PIPE_MAP = (
    ("f1_ppm", ("Y_PPM",)), ("f2_ppm", ("X_PPM",)), ("volume", ("VOL",)),
    ("height", ("HEIGHT",)), ("lw1_hz", ("YW_HZ",)), ("lw2_hz", ("XW_HZ",)),
)


def read_nmrpipe_table(path: str | os.PathLike) -> pd.DataFrame:
    """Read an NMRPipe peak table (``.tab``).

    Parameters
    ----------
    path : path-like
        The table file.

    Returns
    -------
    pandas.DataFrame
        The columns of :data:`COLUMNS`.

    Raises
    ------
    PeakListError
        A missing or repeated ``VARS`` line, no ``X_PPM``/``Y_PPM`` column, neither ``VOL`` nor
        ``HEIGHT``, a row with the wrong number of fields or a value that is not a number
        (naming the file, line and column).
    """
    path = Path(path)
    lines = _read_lines(path)
    names: list[str] | None = None
    rows: list[tuple[int, list[str]]] = []
    for n, text in enumerate(lines, start=1):
        stripped = text.strip()
        if not stripped or stripped.startswith(_PIPE_SPECIAL) or stripped.startswith("FORMAT"):
            continue
        if stripped.startswith("VARS"):
            if names is not None:
                raise PeakListError(f"{path}: line {n}: a second VARS line; expected one")
            names = stripped.split()[1:]
            continue
        if names is None:
            raise PeakListError(f"{path}: line {n}: found data before the VARS line; expected "
                                "an NMRPipe table (VARS and FORMAT header lines)")
        rows.append((n, stripped.split()))
    if names is None:
        raise PeakListError(f"{path}: no VARS line; expected an NMRPipe peak table (VARS and "
                            "FORMAT header lines, columns such as X_PPM Y_PPM VOL HEIGHT)")
    for need in ("X_PPM", "Y_PPM"):
        if need not in names:
            raise PeakListError(f"{path}: VARS line: no {need} column; found "
                                f"{' '.join(names)}; expected X_PPM (F2) and Y_PPM (F1)")
    if "VOL" not in names and "HEIGHT" not in names:
        raise PeakListError(f"{path}: VARS line: neither VOL nor HEIGHT; found "
                            f"{' '.join(names)}; expected a volume or height column")
    out = _empty(len(rows))
    for k, (n, fields) in enumerate(rows):
        if len(fields) != len(names):
            raise PeakListError(f"{path}: line {n}: found {len(fields)} fields; expected "
                                f"{len(names)} (the VARS line)")
        out.at[k, "line"] = n
        out.at[k, "label"] = _pipe_label(fields, names, k)
        for column, candidates in _PIPE_MAP:
            for name in candidates:
                if name in names:
                    out.at[k, column] = _number(fields[names.index(name)], path, n, name)
                    break
        sigma_name = "DVOL" if "VOL" in names else "DHEIGHT"
        if sigma_name in names:
            out.at[k, "sigma"] = _number(fields[names.index(sigma_name)], path, n, sigma_name)
    return _finish(out, path)


def _pipe_label(fields: list[str], names: list[str], k: int) -> str:
    if "ASS" in names and fields[names.index("ASS")] not in ("None", "*", "-"):
        return fields[names.index("ASS")]
    if "INDEX" in names:
        return f"#{fields[names.index('INDEX')]}"
    return f"#{k + 1}"


# ------------------------------------------------------------------------------- Sparky
#: Sparky column title -> tidy column (None: read and ignored).
_SPARKY_TITLES = {
    "Assignment": "label", "w1 (hz)": None, "w2 (hz)": None, "w1": "f1_ppm", "w2": "f2_ppm",
    "Data Height": "height", "Volume": "volume", "S/N": None, "lw1 (hz)": "lw1_hz",
    "lw2 (hz)": "lw2_hz",
}
_SPARKY_HEADER = re.compile("|".join(re.escape(t) for t in sorted(_SPARKY_TITLES, key=len,
                                                                   reverse=True)))
_METHOD = re.compile(r"^[A-Za-z]{1,3}$")


def read_sparky_list(path: str | os.PathLike) -> pd.DataFrame:
    """Read a Sparky peak list (the text of Sparky's ``lt`` peak list window).

    Parameters
    ----------
    path : path-like
        The peak list file.

    Returns
    -------
    pandas.DataFrame
        The columns of :data:`COLUMNS` (Sparky gives no uncertainty: ``sigma`` is NaN).

    Raises
    ------
    PeakListError
        A header without ``Assignment``, ``w1`` and ``w2``, an unknown column title, neither
        ``Volume`` nor ``Data Height``, a row with too few fields or a value that is not a
        number (naming the file, line and column).
    """
    path = Path(path)
    lines = _read_lines(path)
    start = next((n for n, t in enumerate(lines) if t.strip()), None)
    if start is None:
        raise PeakListError(f"{path}: the file is empty; expected a Sparky peak list")
    header = lines[start]
    titles = _SPARKY_HEADER.findall(header)
    rest = _SPARKY_HEADER.sub(" ", header).strip()
    if rest:
        raise PeakListError(f"{path}: line {start + 1}: unknown column title(s) {rest!r}; "
                            f"expected Sparky titles among {', '.join(_SPARKY_TITLES)}")
    if titles[:3] != ["Assignment", "w1", "w2"]:
        raise PeakListError(f"{path}: line {start + 1}: found {header.strip()!r}; expected a "
                            "Sparky peak list header starting 'Assignment  w1  w2'")
    if "Volume" not in titles and "Data Height" not in titles:
        raise PeakListError(f"{path}: line {start + 1}: neither 'Volume' nor 'Data Height'; "
                            "expected a volume or height column")
    data = [(n + 1, t.split()) for n, t in enumerate(lines) if n > start and t.strip()]
    out = _empty(len(data))
    for k, (n, fields) in enumerate(data):
        out.at[k, "line"] = n
        pos = 0
        for title in titles:
            if pos >= len(fields):
                raise PeakListError(f"{path}: line {n}: no value for column {title!r}; "
                                    f"expected {len(titles)} columns (the header)")
            column = _SPARKY_TITLES[title]
            if column == "label":
                out.at[k, "label"] = fields[pos]
            elif column is not None:
                out.at[k, column] = _number(fields[pos], path, n, title)
            else:
                _number(fields[pos], path, n, title)
            pos += 1
            if title == "Volume" and pos < len(fields) and _METHOD.match(fields[pos]):
                pos += 1  # the integration method Sparky writes after a volume
    return _finish(out, path)


# ------------------------------------------------------------------------------- TopSpin
def read_topspin_peaklist(path: str | os.PathLike) -> pd.DataFrame:
    """Read a TopSpin 2D peak list (``peaklist.xml``).

    Parameters
    ----------
    path : path-like
        The ``peaklist.xml`` file.

    Returns
    -------
    pandas.DataFrame
        The columns of :data:`COLUMNS`: ``height`` from ``intensity`` (TopSpin's peak list
        holds heights only), ``label`` from ``annotation`` (else ``#<n>``); ``volume``,
        ``sigma`` and the widths are NaN.

    Raises
    ------
    PeakListError
        XML that does not parse (with its line), a 1D peak list, no ``<Peak2D>``, or a peak
        without ``F1``, ``F2`` or ``intensity`` or with a value that is not a number.
    """
    path = Path(path)
    _read_lines(path)  # the same file checks as every reader
    peaks: list[tuple[int, dict[str, str]]] = []
    tags: set[str] = set()
    parser = xml.parsers.expat.ParserCreate()

    def start(name: str, attrs: dict[str, str]) -> None:
        tags.add(name)
        if name == "Peak2D":
            peaks.append((parser.CurrentLineNumber, attrs))

    parser.StartElementHandler = start
    try:
        parser.Parse(path.read_bytes(), True)
    except xml.parsers.expat.ExpatError as exc:
        raise PeakListError(f"{path}: line {exc.lineno}: not well-formed XML "
                            f"({xml.parsers.expat.errors.messages[exc.code]}); expected a "
                            "TopSpin peaklist.xml") from None
    if not peaks:
        found = "a 1D peak list (Peak1D)" if "Peak1D" in tags else "no Peak2D element"
        raise PeakListError(f"{path}: {found}; expected a TopSpin 2D peak list "
                            "(<PeakList2D> with <Peak2D F1=.. F2=.. intensity=../>)")
    out = _empty(len(peaks))
    for k, (n, attrs) in enumerate(peaks):
        out.at[k, "line"] = n
        out.at[k, "label"] = attrs.get("annotation", "").strip() or f"#{k + 1}"
        for column, name in (("f1_ppm", "F1"), ("f2_ppm", "F2"), ("height", "intensity")):
            if name not in attrs:
                raise PeakListError(f"{path}: line {n}: a Peak2D without {name!r}; expected "
                                    "F1, F2 (ppm) and intensity")
            out.at[k, column] = _number(attrs[name], path, n, name)
    return _finish(out, path)


# ------------------------------------------------------------------------------- any
def detect_peak_format(path: str | os.PathLike) -> str:
    """``"nmrpipe"``, ``"sparky"`` or ``"topspin"`` from the first non-blank line of a file.

    Raises
    ------
    PeakListError
        A file that is none of them (TopSpin integral lists included: not readable here).
    """
    path = Path(path)
    first = next((t.strip() for t in _read_lines(path) if t.strip()), "")
    if first.startswith(("VARS", "REMARK", "DATA", "FORMAT")):
        return "nmrpipe"
    if first.startswith("Assignment"):
        return "sparky"
    if first.startswith(("<?xml", "<PeakList")):
        return "topspin"
    raise PeakListError(f"{path}: line 1: found {first[:60]!r}; expected an NMRPipe peak "
                        "table (VARS/FORMAT lines), a Sparky peak list ('Assignment  w1  w2 "
                        "...') or a TopSpin peaklist.xml; TopSpin integral lists are not "
                        "supported")


def read_peak_list(path: str | os.PathLike) -> pd.DataFrame:
    """Read an NMRPipe table, a Sparky list or a TopSpin peaklist.xml (see the module doc)."""
    reader = {"nmrpipe": read_nmrpipe_table, "sparky": read_sparky_list,
              "topspin": read_topspin_peaklist}
    return reader[detect_peak_format(path)](path)


# ------------------------------------------------------------------------------- helpers
def _read_lines(path: Path) -> list[str]:
    if not path.is_file():
        raise PeakListError(f"{path}: file not found (expected a peak table)")
    try:
        return path.read_text(encoding="utf-8-sig", errors="strict").splitlines()
    except (OSError, UnicodeDecodeError) as exc:
        raise PeakListError(f"{path}: cannot be read as text ({exc.__class__.__name__}); "
                            "expected a peak table") from None


def _number(text: str, path: Path, line: int, column: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise PeakListError(f"{path}: line {line}, column {column!r}: found {text!r}; "
                            "expected a number") from None
    if not math.isfinite(value):
        raise PeakListError(f"{path}: line {line}, column {column!r}: found {text!r}; "
                            "expected a finite number")
    return value


def _empty(n: int) -> pd.DataFrame:
    out = pd.DataFrame({c: np.full(n, np.nan) for c in COLUMNS})
    out["label"] = [""] * n
    out["line"] = np.zeros(n, dtype=int)
    return out


def _finish(out: pd.DataFrame, path: Path) -> pd.DataFrame:
    if out.empty:
        raise PeakListError(f"{path}: no peaks; expected at least one peak line")
    out["line"] = out["line"].astype(int)
    return out[list(COLUMNS)]
