"""``exsyfit init``: a commented starter configuration for a folder of spectra.

What it does
------------
1. :func:`find_experiments`: every Bruker expno folder and Varian ``.fid`` folder directly inside
   the data folder (or the data folder itself, when it is one experiment) has its header read
   (:func:`exsyfit.io.series.experiment_table`).  Experiments that cannot belong to a 2D EXSY
   series (1D data, unreadable headers, another nucleus) are left out and listed.
2. The spectrum with the shortest mixing time at the lowest temperature is read: its diagonal
   peaks are the sites, with the least exchange blurring them.
3. :func:`pick_diagonal_peaks`: peak picking on the diagonal profile ``data[i, j]`` with
   ``ppm_f1[i] = ppm_f2[j]`` (:func:`scipy.signal.find_peaks`), with a prominence threshold set
   by the noise (robust standard deviation of the whole spectrum).  A diagonal peak whose
   partners at +-1 or +-2 MAS rates (along the diagonal, or along F2 in its own row, or along
   F1 in its own column) are stronger than itself is a spinning sideband and is dropped.  The
   strongest remaining peaks become sites ``A``, ``B``, ``C`` ... (``A`` the strongest).
4. :func:`starter_config_text` writes the TOML: a header comment with what was found, ``[data]
   paths`` relative to the config file, the sites, the temperature model (``arrhenius`` with
   two or more temperatures, else ``free``), ``[integration] sidebands = true`` when the MAS
   rate is known and F2 sidebands were seen, ``[sampler] seed = 1`` and commented-out optional
   keys.  :func:`write_starter_config` checks that the text loads with
   :func:`exsyfit.config.load_config` before it replaces anything.

The data folder is only read; the config is never written inside it.
"""

from __future__ import annotations

import datetime as _dt
import math
import os
import string
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from scipy.ndimage import map_coordinates
from scipy.signal import find_peaks

from exsyfit.errors import DataFormatError, ExsyfitError, OutputExistsError, SeriesError
from exsyfit.io.series import detect_format, experiment_table, group_temperatures
from exsyfit.io.spectrum import Spectrum2D

__all__ = [
    "ProposedSite",
    "DiagonalPeaks",
    "Experiments",
    "robust_noise",
    "diagonal_profile",
    "pick_diagonal_peaks",
    "find_experiments",
    "read_reference_spectrum",
    "starter_config_text",
    "write_starter_config",
]

#: Placeholder sample temperature of experiments whose files hold none, K.
ASSUMED_TEMPERATURE_K = 298.15

_LOOKED_FOR = ("Bruker expno folders (acqus with ser, fid or pdata/) and Varian .fid folders "
               "(procpar with fid)")


# --------------------------------------------------------------------------------------------
# peak picking
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class ProposedSite:
    """A diagonal peak proposed as a site.

    Attributes
    ----------
    name : str
        ``"A"``, ``"B"``, ... in order of decreasing height.
    ppm : float
        Proposed chemical shift, ppm: the F1 and F2 peak positions averaged with weights
        1/digital-resolution^2.
    ppm_f1, ppm_f2 : float
        Peak position in each dimension (parabolic interpolation of the local maximum), ppm.
    height : float
        Intensity at the peak maximum (spectrum intensity units).
    relative_height : float
        ``height`` over the height of the strongest site.
    snr : float
        ``height`` over the noise standard deviation.
    f2_sideband_ratio : float or None
        Largest intensity found at +-1 MAS rate along F2 in the peak's row, over ``height``
        (None when the MAS rate is unknown or both positions lie outside the F2 window).
    f2_sidebands_seen : bool
        A local maximum standing ``min_snr`` noise standard deviations out of its surroundings
        lies at +-1 MAS rate in the peak's row.
    """

    name: str
    ppm: float
    ppm_f1: float
    ppm_f2: float
    height: float
    relative_height: float
    snr: float
    f2_sideband_ratio: float | None = None
    f2_sidebands_seen: bool = False


@dataclass(frozen=True)
class DiagonalPeaks:
    """Result of :func:`pick_diagonal_peaks`.

    Attributes
    ----------
    sites : tuple of ProposedSite
        Genuine peaks, strongest first.
    sidebands_ppm : tuple of float
        Diagonal peaks rejected as spinning sidebands, ppm.
    weaker_ppm : tuple of float
        Genuine peaks above the threshold left out because ``max_sites`` were kept, ppm.
    noise : float
        Robust noise standard deviation of the spectrum (intensity units).
    threshold : float
        Minimum prominence a diagonal peak needed (intensity units).
    mas_rate_ppm : float or None
        MAS rate in ppm of the observed nucleus (None: unknown).
    f2_sidebands_seen : bool
        True when an F2 sideband (a local maximum with a prominence of ``min_snr`` noise
        standard deviations at +-1 MAS rate in the row of a site) was found.
    """

    sites: tuple[ProposedSite, ...]
    sidebands_ppm: tuple[float, ...]
    weaker_ppm: tuple[float, ...]
    noise: float
    threshold: float
    mas_rate_ppm: float | None
    f2_sidebands_seen: bool


def robust_noise(data: np.ndarray) -> float:
    """Noise standard deviation from the median absolute deviation of every point.

    Peaks cover a small part of a 2D spectrum, so the median absolute deviation of all points
    (times 1.4826, exact for Gaussian noise) is set by the noise, not by the peaks.

    Parameters
    ----------
    data : numpy.ndarray
        Spectrum intensities.

    Returns
    -------
    float
        Standard deviation (intensity units); the smallest positive value for noise-free data.
    """
    x = np.asarray(data, dtype=float).ravel()
    x = x[np.isfinite(x)]
    mad = float(np.median(np.abs(x - np.median(x)))) if x.size else 0.0
    sigma = 1.4826 * mad
    if sigma > 0:
        return sigma
    scale = float(np.max(np.abs(x))) if x.size else 1.0
    return max(scale, 1.0) * np.finfo(float).eps


def _fractional_index(ppm: np.ndarray | float, axis: np.ndarray) -> np.ndarray:
    """Fractional index of ``ppm`` on a uniform, decreasing ppm axis."""
    step = (axis[-1] - axis[0]) / (len(axis) - 1)
    return (np.asarray(ppm, dtype=float) - axis[0]) / step


def diagonal_profile(spectrum: Spectrum2D, step_ppm: float | None = None
                     ) -> tuple[np.ndarray, np.ndarray]:
    """Intensity along the diagonal ``F1 = F2`` (bilinear interpolation between points).

    Parameters
    ----------
    spectrum : Spectrum2D
    step_ppm : float, optional
        Sampling step, ppm; default half the finer digital resolution of the two dimensions.

    Returns
    -------
    ppm : numpy.ndarray
        Chemical shifts along the diagonal, decreasing, within both windows.
    values : numpy.ndarray
        Intensity at (ppm, ppm).

    Raises
    ------
    DataFormatError
        When the F1 and F2 windows do not overlap (no diagonal).
    """
    f1, f2 = spectrum.ppm_f1, spectrum.ppm_f2
    hi = min(float(np.max(f1)), float(np.max(f2)))
    lo = max(float(np.min(f1)), float(np.min(f2)))
    if not hi > lo or len(f1) < 2 or len(f2) < 2:
        raise DataFormatError(
            f"{spectrum.source}: the F1 window ({f1.max():.3g} .. {f1.min():.3g} ppm) and the "
            f"F2 window ({f2.max():.3g} .. {f2.min():.3g} ppm) do not overlap; an exchange "
            "spectrum needs a diagonal")
    step = step_ppm or 0.5 * min(spectrum.ppm_step_f1, spectrum.ppm_step_f2)
    n = int(math.floor((hi - lo) / step)) + 1
    ppm = hi - step * np.arange(n)
    coords = np.vstack([_fractional_index(ppm, f1), _fractional_index(ppm, f2)])
    values = map_coordinates(np.asarray(spectrum.data, dtype=float), coords, order=1,
                             mode="nearest")
    return ppm, values


def _parabolic(values: np.ndarray, k: int) -> float:
    """Offset (in points, within +-0.5) of the vertex of the parabola through k-1, k, k+1."""
    if k <= 0 or k >= len(values) - 1:
        return 0.0
    a, b, c = values[k - 1], values[k], values[k + 1]
    denom = a - 2 * b + c
    if denom >= 0:
        return 0.0
    return float(np.clip(0.5 * (a - c) / denom, -0.5, 0.5))


def _refine(data: np.ndarray, ppm_f1: np.ndarray, ppm_f2: np.ndarray, ppm: float,
            reach: int = 2) -> tuple[float, float, float]:
    """Local 2D maximum near (ppm, ppm) with parabolic interpolation: (ppm_f1, ppm_f2, height)."""
    i0 = int(np.clip(round(float(_fractional_index(ppm, ppm_f1))), 0, len(ppm_f1) - 1))
    j0 = int(np.clip(round(float(_fractional_index(ppm, ppm_f2))), 0, len(ppm_f2) - 1))
    i_lo, i_hi = max(i0 - reach, 0), min(i0 + reach + 1, len(ppm_f1))
    j_lo, j_hi = max(j0 - reach, 0), min(j0 + reach + 1, len(ppm_f2))
    block = data[i_lo:i_hi, j_lo:j_hi]
    di, dj = np.unravel_index(int(np.argmax(block)), block.shape)
    i, j = i_lo + int(di), j_lo + int(dj)
    step1 = (ppm_f1[-1] - ppm_f1[0]) / (len(ppm_f1) - 1)
    step2 = (ppm_f2[-1] - ppm_f2[0]) / (len(ppm_f2) - 1)
    p1 = ppm_f1[i] + _parabolic(data[:, j], i) * step1
    p2 = ppm_f2[j] + _parabolic(data[i, :], j) * step2
    return float(p1), float(p2), float(data[i, j])


def _max_near(values: np.ndarray, axis: np.ndarray, ppm: float, tol: float) -> float | None:
    """Largest value within ``tol`` ppm of ``ppm`` on ``axis`` (None if outside the window)."""
    lo, hi = float(np.min(axis)), float(np.max(axis))
    if not (lo - tol <= ppm <= hi + tol):
        return None
    mask = np.abs(axis - ppm) <= tol
    if not mask.any():
        return None
    return float(np.max(values[mask]))


def _is_sideband(data: np.ndarray, spectrum: Spectrum2D, diag_ppm: np.ndarray,
                 diag: np.ndarray, ppm: float, height: float, rate_ppm: float,
                 tol: float) -> bool:
    """True when a partner at +-1 or +-2 MAS rates is stronger than the peak itself."""
    f1, f2 = spectrum.ppm_f1, spectrum.ppm_f2
    i = int(np.clip(round(float(_fractional_index(ppm, f1))), 0, len(f1) - 1))
    j = int(np.clip(round(float(_fractional_index(ppm, f2))), 0, len(f2) - 1))
    row, column = data[i, :], data[:, j]
    for order in (1, 2):
        for sign in (1.0, -1.0):
            partner = ppm + sign * order * rate_ppm
            for values, axis in ((diag, diag_ppm), (row, f2), (column, f1)):
                found = _max_near(values, axis, partner, tol)
                if found is not None and found > height:
                    return True
    return False


def _f2_sideband_ratio(data: np.ndarray, spectrum: Spectrum2D, site_f1: float,
                       site_f2: float, height: float, rate_ppm: float, tol: float,
                       threshold: float) -> tuple[float | None, bool]:
    """(largest +-1 MAS sideband in the site's row / height, whether one is a real peak)."""
    f1, f2 = spectrum.ppm_f1, spectrum.ppm_f2
    i = int(np.clip(round(float(_fractional_index(site_f1, f1))), 0, len(f1) - 1))
    row = data[i, :]
    best: float | None = None
    seen = False
    peaks, _ = find_peaks(row, prominence=threshold)
    for sign in (1.0, -1.0):
        target = site_f2 + sign * rate_ppm
        value = _max_near(row, f2, target, tol)
        if value is None:
            continue
        best = value if best is None else max(best, value)
        mask = np.abs(f2 - target) <= tol
        if np.any(mask[peaks]) and value > threshold:
            seen = True
    return (None if best is None else best / height), seen


def pick_diagonal_peaks(
    spectrum: Spectrum2D,
    *,
    max_sites: int = 6,
    min_snr: float = 8.0,
    min_relative: float = 0.02,
    mas_rate_hz: float | None = None,
) -> DiagonalPeaks:
    """Propose sites from the diagonal peaks of one 2D exchange spectrum.

    Parameters
    ----------
    spectrum : Spectrum2D
        Preferably the shortest mixing time (least exchange).
    max_sites : int
        Keep at most this many genuine peaks (the strongest), >= 2.
    min_snr : float
        A peak must stand out of its surroundings (prominence) by this many noise standard
        deviations.
    min_relative : float
        ... and by this fraction of the strongest diagonal peak (keeps truncation wiggles
        beside very strong peaks out).
    mas_rate_hz : float, optional
        MAS rate, Hz; default the spectrum's own.  Without one no sideband test is made.

    Returns
    -------
    DiagonalPeaks
        Sites named ``A``, ``B``, ... by decreasing height.

    Raises
    ------
    DataFormatError
        No diagonal (the F1 and F2 windows do not overlap).
    """
    if max_sites < 2:
        raise ValueError(f"max_sites = {max_sites}: expected at least 2")
    data = np.asarray(spectrum.data, dtype=float)
    noise = robust_noise(data)
    diag_ppm, diag = diagonal_profile(spectrum)
    threshold = max(min_snr * noise, min_relative * float(np.max(diag)))
    found, _ = find_peaks(diag, prominence=threshold)
    rate = mas_rate_hz if mas_rate_hz is not None else spectrum.mas_rate_hz
    sf = spectrum.sf_mhz
    rate_ppm = rate / sf if (rate and sf and math.isfinite(sf) and sf > 0) else None
    tol = 1.5 * max(spectrum.ppm_step_f1, spectrum.ppm_step_f2)

    genuine: list[tuple[float, float, float]] = []
    sidebands: list[float] = []
    for k in found:
        p1, p2, height = _refine(data, spectrum.ppm_f1, spectrum.ppm_f2, float(diag_ppm[k]))
        if rate_ppm and _is_sideband(data, spectrum, diag_ppm, diag, float(diag_ppm[k]),
                                     height, rate_ppm, tol):
            sidebands.append(float(diag_ppm[k]))
            continue
        genuine.append((p1, p2, height))
    genuine.sort(key=lambda g: -g[2])
    kept, weaker = genuine[:max_sites], genuine[max_sites:]
    w1, w2 = spectrum.ppm_step_f1 ** -2, spectrum.ppm_step_f2 ** -2
    top = kept[0][2] if kept else 1.0
    sites = []
    seen_any = False
    for n, (p1, p2, height) in enumerate(kept):
        ratio, seen = (None, False)
        if rate_ppm:
            ratio, seen = _f2_sideband_ratio(data, spectrum, p1, p2, height, rate_ppm, tol,
                                             min_snr * noise)
        seen_any = seen_any or seen
        sites.append(ProposedSite(
            name=_site_name(n), ppm=float((w1 * p1 + w2 * p2) / (w1 + w2)), ppm_f1=p1,
            ppm_f2=p2, height=height, relative_height=height / top, snr=height / noise,
            f2_sideband_ratio=ratio, f2_sidebands_seen=seen))
    return DiagonalPeaks(sites=tuple(sites), sidebands_ppm=tuple(sidebands),
                         weaker_ppm=tuple(float(w2 * g[1] + w1 * g[0]) / (w1 + w2)
                                          for g in weaker),
                         noise=noise, threshold=threshold, mas_rate_ppm=rate_ppm,
                         f2_sidebands_seen=seen_any)


def _site_name(n: int) -> str:
    letters = string.ascii_uppercase
    return letters[n] if n < len(letters) else f"S{n + 1}"


# --------------------------------------------------------------------------------------------
# experiments in a data folder
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Experiments:
    """The experiments of a data folder that can form an EXSY series.

    Attributes
    ----------
    table : pandas.DataFrame
        :func:`exsyfit.io.series.experiment_table` rows of the usable experiments, with
        ``experiment`` relative to ``base_dir``, plus ``temperature_group_K``.
    paths : tuple of str
        The ``[data] paths`` entries that select exactly these experiments (a glob when every
        experiment of the folder is usable).
    skipped : tuple of (str, str)
        Left-out folders and why.
    single : bool
        True when the data folder itself is one experiment.
    no_temperature : tuple of str
        Experiments whose files hold no temperature (VT off or not recorded); their
        ``temperature_K`` is the placeholder :data:`ASSUMED_TEMPERATURE_K` until the user gives
        the sample temperature in ``[temperature] per_experiment``.
    """

    table: pd.DataFrame
    paths: tuple[str, ...]
    skipped: tuple[tuple[str, str], ...]
    single: bool
    no_temperature: tuple[str, ...] = ()


def _rel(path: Path, base: Path) -> str:
    """``path`` relative to ``base`` with forward slashes (absolute if that is impossible)."""
    try:
        return Path(os.path.relpath(path.resolve(), base.resolve())).as_posix()
    except ValueError:  # another drive on Windows
        return path.resolve().as_posix()


def _natural(name: str) -> list[Any]:
    import re

    return [int(t) if t.isdigit() else t for t in re.split(r"(\d+)", name)]


def _nested_hint(folder: Path) -> str:
    """A hint naming sub-folders that hold experiments one level deeper."""
    deeper = []
    for child in sorted(p for p in folder.iterdir() if p.is_dir()):
        try:
            if any(detect_format(g) for g in child.iterdir() if g.is_dir()):
                deeper.append(child.name)
        except OSError:
            continue
    if not deeper:
        return ""
    return (f"; experiments were found one level deeper, in {', '.join(deeper[:5])}: pass "
            "that folder instead")


def find_experiments(data_folder: Path, base_dir: Path) -> Experiments:
    """Find the experiments of an EXSY series in ``data_folder`` and read their headers.

    Parameters
    ----------
    data_folder : Path
        A folder of Bruker expno / Varian ``.fid`` folders, or one experiment folder.
    base_dir : Path
        The folder the config will live in (``[data] paths`` are relative to it).

    Returns
    -------
    Experiments

    Raises
    ------
    SeriesError
        The folder does not exist, holds no experiment, or none of its experiments is a 2D
        spectrum of the series (each reason listed).
    """
    folder = Path(data_folder)
    if not folder.is_dir():
        raise SeriesError(f"{folder}: no such folder; expected a folder holding {_LOOKED_FOR}")
    single = detect_format(folder) is not None
    candidates = [folder] if single else sorted(
        (p for p in folder.iterdir() if p.is_dir() and detect_format(p) is not None),
        key=lambda p: _natural(p.name))
    if not candidates:
        raise SeriesError(
            f"{folder}: no experiment found; looked for {_LOOKED_FOR} directly inside it and "
            f"at the folder itself{_nested_hint(folder)}")
    tables, skipped, no_temperature = [], [], []
    for exp in candidates:
        rel = _rel(exp, base_dir)
        try:
            tables.append(_header_rows(rel, base_dir, no_temperature))
        except (SeriesError, DataFormatError) as exc:
            skipped.append((rel, str(exc)))
    if not tables:
        reasons = "; ".join(f"{why}" for _, why in skipped[:4])
        more = f" (and {len(skipped) - 4} more)" if len(skipped) > 4 else ""
        raise SeriesError(f"{folder}: none of its {len(candidates)} experiment(s) is a 2D "
                          f"spectrum an EXSY series can use: {reasons}{more}")
    table = pd.concat(tables, ignore_index=True)
    table, skipped = _one_nucleus(table, skipped)
    _, group_k = group_temperatures(table["temperature_K"], 2.0)
    table["temperature_group_K"] = group_k
    paths = _paths_for(folder, base_dir, table, single, skipped, no_temperature)
    kept = set(map(str, table["experiment"]))
    return Experiments(table=table, paths=paths, skipped=tuple(skipped), single=single,
                       no_temperature=tuple(e for e in no_temperature if e in kept))


def _header_rows(rel: str, base_dir: Path, no_temperature: list[str]) -> pd.DataFrame:
    """Header rows of one experiment; a missing temperature becomes a noted placeholder."""
    try:
        return experiment_table([rel], base_dir)
    except SeriesError as exc:
        if "holds no temperature" not in str(exc):
            raise
    table = experiment_table([rel], base_dir, temperature_calibration={
        "per_experiment": {rel: ASSUMED_TEMPERATURE_K}})
    no_temperature.append(rel)
    return table


def _one_nucleus(table: pd.DataFrame, skipped: list[tuple[str, str]]
                 ) -> tuple[pd.DataFrame, list[tuple[str, str]]]:
    """Keep the experiments of the most common nucleus."""
    counts = table["nucleus"].value_counts()
    if len(counts) == 1:
        return table, skipped
    main = str(counts.index[0])
    other = table[table["nucleus"] != main]
    for exp, nuc in zip(other["experiment"], other["nucleus"], strict=True):
        skipped.append((str(exp), f"{exp}: observes {nuc}, the series observes {main}"))
    return table[table["nucleus"] == main].reset_index(drop=True), skipped


def _paths_for(folder: Path, base_dir: Path, table: pd.DataFrame, single: bool,
               skipped: list[tuple[str, str]], no_temperature: list[str]
               ) -> tuple[str, ...]:
    """A glob over the folder when it selects exactly the usable experiments, else a list."""
    rel = _rel(folder, base_dir)
    if single:
        return (rel,)
    folders = list(dict.fromkeys(table["folder"]))
    explicit = tuple(_rel(Path(f), base_dir) for f in folders)
    if skipped:
        return explicit
    pattern = f"{rel}/*" if rel != "." else "*"
    calibration = {"per_experiment": {e: ASSUMED_TEMPERATURE_K for e in no_temperature}}
    try:
        by_glob = experiment_table([pattern], base_dir, temperature_calibration=calibration)
    except (SeriesError, DataFormatError):
        return explicit
    if sorted(map(str, by_glob["folder"])) != sorted(map(str, table["folder"])):
        return explicit
    return (pattern,)


def read_reference_spectrum(experiments: Experiments) -> tuple[Spectrum2D, pd.Series]:
    """Read the shortest-mixing-time spectrum of the lowest temperature.

    Returns
    -------
    Spectrum2D
        The spectrum (processed data when present, else processed here from raw data with
        the stored parameters).
    pandas.Series
        Its row of the experiment table.
    """
    table = experiments.table
    coldest = table[table["temperature_group_K"] == table["temperature_group_K"].min()]
    with_mix = coldest[coldest["mixing_time_s"].notna()]
    pool = with_mix if len(with_mix) else coldest
    row = pool.sort_values("mixing_time_s", kind="stable").iloc[0]
    element = row.get("element")
    index = 0 if element is None or (isinstance(element, float) and math.isnan(element)) \
        else int(element) - 1
    if row["format"] == "bruker":
        from exsyfit.io import bruker

        spectra = bruker.read_experiment(row["folder"], prefer="auto", mixing_time="D8")
    else:
        from exsyfit.io import varian

        spectra = varian.read_experiment(row["folder"], mixing_time="auto")
    return spectra[min(index, len(spectra) - 1)], row


# --------------------------------------------------------------------------------------------
# the config text
# --------------------------------------------------------------------------------------------


def _fmt_list(values: Sequence[float], unit_fmt: str = "{:g}") -> str:
    return ", ".join(unit_fmt.format(v) for v in values)


def _toml_str(s: str) -> str:
    return '"' + s.replace("\\", "\\\\").replace('"', '\\"') + '"'


def _shown(ref: pd.Series, data_folder: Path) -> str:
    """The reference experiment named relative to the data folder."""
    name = _rel(Path(ref["folder"]), data_folder)
    element = ref.get("element")
    if element is not None and not (isinstance(element, float) and math.isnan(element)):
        name += f"[{int(element)}]"
    return name


def _header(data_folder: Path, exps: Experiments, ref: pd.Series, peaks: DiagonalPeaks,
            spectrum: Spectrum2D) -> list[str]:
    table = exps.table
    temps = sorted(set(np.round(table["temperature_group_K"].astype(float), 1)))
    mixes = sorted(set(table["mixing_time_s"].dropna().astype(float)))
    rates = sorted({float(r) for r in table["mas_rate_hz"].dropna() if r})
    formats = []
    for fmt, processed in zip(table["format"], table["has_processed"], strict=True):
        label = "Varian fid" if fmt == "varian" else (
            "Bruker processed 2rr" if processed else "Bruker raw ser")
        if label not in formats:
            formats.append(label)
    lines = [
        f"# exsyfit starter configuration, written by 'exsyfit init' on "
        f"{_dt.date.today().isoformat()}",
        f"# Data folder (read only; nothing is written there): {data_folder.resolve()}",
        f"# Found {len(table)} 2D spectra in {table['folder'].nunique()} experiment folder(s): "
        f"{', '.join(formats)}; nucleus {', '.join(sorted(set(table['nucleus'])))}",
        f"#   temperatures (K, sample = set temperature until calibrated): {_fmt_list(temps)}",
        f"#   mixing times (s): {_fmt_list(mixes) or 'none found in the headers'}",
        "#   MAS rate: " + (f"{_fmt_list(rates)} Hz" if rates else "not recorded"),
    ]
    if exps.no_temperature:
        lines.append(f"#   WARNING: {len(exps.no_temperature)} experiment(s) hold no temperature "
                     "(VT off?): give their sample temperatures in [temperature] "
                     f"per_experiment below (a placeholder of {ASSUMED_TEMPERATURE_K:g} K is "
                     "written there)")
    if table["mixing_time_s"].isna().any():
        lines.append("#   WARNING: some spectra have no mixing time in their headers; set "
                     "[data] mixing_time (see below)")
    for exp, why in exps.skipped:
        lines.append(f"#   left out {exp}: {why}")
    lines += [
        "#",
        f"# Diagonal peaks picked on {_shown(ref, data_folder)} "
        f"({float(ref['temperature_K']):g} K, mixing time {float(ref['mixing_time_s']):g} s;",
        f"#   noise sd {peaks.noise:.3g}, prominence threshold {peaks.threshold:.3g}):",
    ]
    for s in peaks.sites:
        sb = f", F2 sidebands at +-MAS rate ({s.f2_sideband_ratio:.0%} of its height)" \
            if s.f2_sidebands_seen and s.f2_sideband_ratio is not None else ""
        lines.append(f"#   {s.name:<3} {s.ppm:7.2f} ppm (F1 {s.ppm_f1:.2f}, F2 {s.ppm_f2:.2f})  "
                     f"relative height {s.relative_height:.2f}, S/N {s.snr:.0f}{sb}")
    if peaks.sidebands_ppm:
        lines.append("#   ignored as spinning sidebands: "
                     + ", ".join(f"{p:.2f} ppm" for p in peaks.sidebands_ppm))
    if peaks.weaker_ppm:
        lines.append("#   weaker peaks not used: "
                     + ", ".join(f"{p:.2f} ppm" for p in peaks.weaker_ppm))
    f1_width_hz = len(spectrum.ppm_f1) * spectrum.ppm_step_f1 * spectrum.sf_mhz
    rate = spectrum.mas_rate_hz
    if rate and math.isfinite(f1_width_hz):
        synced = abs(f1_width_hz - rate) <= 0.02 * rate
        lines.append(f"#   F1 window {f1_width_hz:.0f} Hz "
                     + ("= MAS rate: t1 rotor-synchronised, F1 sidebands folded onto the "
                        "centrebands" if synced else f"differs from the MAS rate {rate:g} Hz"))
    lines += [
        "#",
        "# Next steps:",
        "#   1. rename the sites below after what they are (e.g. [sites.argyrodite] and",
        "#      [sites.Li2S]) and check their ppm against your spectra;",
        "#   2. exsyfit check THIS_FILE   lists the experiments, temperatures and mixing times;",
        "#   3. exsyfit run THIS_FILE     integrates, fits, draws figures and writes a report",
        "#      into results/ beside this file.",
        "# Every key is described by 'exsyfit info config'.",
        "",
    ]
    return lines


def _data_section(exps: Experiments) -> list[str]:
    lines = ["[data]",
             "# Bruker expno / Varian .fid folders (globs allowed), relative to this file."]
    if len(exps.paths) == 1:
        lines.append(f"paths = [{_toml_str(exps.paths[0])}]")
    else:
        lines.append("paths = [")
        lines += [f"    {_toml_str(p)}," for p in exps.paths]
        lines.append("]")
    lines += [
        '# volumes = "volumes.csv"      # instead of paths: fit a volume table (volumes.csv '
        "columns)",
        '# mixing_time = "D8"           # where the mixing time is: "auto", "D<n>", "vdlist",',
        '#                              # "vclist*rotor", "param:NAME" (Varian) or seconds',
        '# prefer = "processed"         # "processed" (TopSpin 2rr) or "raw" (ser/fid processed '
        "here)",
        "",
        "# Sample temperature = slope x set temperature + offset_K (calibrate with e.g. the",
        "# 207Pb shift of Pb(NO3)2 at the same MAS rate); sigma_K goes into the Ea interval.",
    ]
    if exps.no_temperature:
        lines += [
            "[temperature]",
            "# slope = 1.0",
            "# offset_K = 0.0",
            "# sigma_K = 1.0",
            "# EDIT: these files hold no temperature; replace the placeholders by the sample "
            "temperatures, K",
            "[temperature.per_experiment]",
        ]
        lines += [f"{_toml_str(e)} = {ASSUMED_TEMPERATURE_K}" for e in exps.no_temperature]
    else:
        lines += ["# [temperature]", "# slope = 1.0", "# offset_K = 0.0", "# sigma_K = 1.0"]
    lines.append("")
    return lines


def _sites_section(peaks: DiagonalPeaks) -> tuple[list[str], list[str]]:
    names = [s.name for s in peaks.sites]
    lines = ["# Sites: the table names are yours. Rename A, B, ... after what the peaks are",
             "# (e.g. argyrodite, Li2S); ppm is the diagonal-peak shift used in both dimensions."]
    for n, s in enumerate(peaks.sites):
        lines += [f"[sites.{s.name}]", f"ppm = {s.ppm:.2f}"]
        if n == 0:
            lines += [
                "# T1_s = { mean = 0.5, sd = 0.1 }    # prior on T1, s (e.g. from "
                "saturation recovery); a number fixes it",
                "# population = { mean = 0.9, sd = 0.05 }   # prior on the population; a "
                "number fixes it",
            ]
        lines.append("")
    pairs = [f'"{a}<->{b}"' for i, a in enumerate(names) for b in names[i + 1:]]
    return lines, pairs


def _model_section(exps: Experiments, pairs: list[str]) -> list[str]:
    n_temps = exps.table["temperature_group_K"].nunique()
    model = "arrhenius" if n_temps >= 2 else "free"
    why = (f"{n_temps} temperatures" if n_temps >= 2 else
           "one temperature: no temperature law can be fitted")
    return [
        "[model]",
        f'temperature_model = "{model}"   # {why}; "free" (rates per temperature), '
        '"arrhenius" or "eyring"',
        f"# exchange = [{', '.join(pairs[:1])}]    # exchanging pairs; default every pair: "
        f"{', '.join(p.strip(chr(34)) for p in pairs)}",
        "# spin_diffusion = true     # add a temperature-independent rate to every pair "
        "(spin diffusion)",
        "",
    ]


def _integration_section(peaks: DiagonalPeaks, spectrum: Spectrum2D) -> list[str]:
    lines = ["[integration]",
             '# method = "auto"             # "auto", "box", "ellipse" or "lineshape" '
             "(overlapping peaks)"]
    if peaks.mas_rate_ppm and peaks.f2_sidebands_seen:
        lines.append("sidebands = true               # add the F2 spinning sidebands seen at "
                     f"+-{peaks.mas_rate_ppm:.2f} ppm (MAS rate) to their centrebands")
    elif peaks.mas_rate_ppm:
        lines.append("# sidebands = true             # no sidebands were seen; set this if "
                     "some appear at +-MAS rate in F2")
    else:
        lines.append("# sidebands = true             # the headers give no MAS rate; set "
                     "mas_rate_hz too")
        lines.append("# mas_rate_hz = 10000.0")
    rate = spectrum.mas_rate_hz
    f1_width_hz = len(spectrum.ppm_f1) * spectrum.ppm_step_f1 * spectrum.sf_mhz
    if rate and math.isfinite(f1_width_hz) and abs(f1_width_hz - rate) > 0.02 * rate:
        lines.append("# f1_rotor_synchronised = false   # the F1 window is not the MAS rate: "
                     "sidebands also appear in F1")
    lines.append("")
    return lines


def starter_config_text(data_folder: Path, exps: Experiments, ref: pd.Series,
                        spectrum: Spectrum2D, peaks: DiagonalPeaks) -> str:
    """The commented TOML of a starter configuration.

    Parameters
    ----------
    data_folder : Path
        The folder given by the user (shown in the header).
    exps : Experiments
        From :func:`find_experiments`.
    ref : pandas.Series
        Experiment-table row of the spectrum the peaks were picked on.
    spectrum : Spectrum2D
        That spectrum.
    peaks : DiagonalPeaks
        From :func:`pick_diagonal_peaks`; at least two sites.

    Returns
    -------
    str
        The file text (loads with :func:`exsyfit.config.load_config`).
    """
    sites_lines, pairs = _sites_section(peaks)
    lines = _header(data_folder, exps, ref, peaks, spectrum)
    lines += _data_section(exps)
    lines += sites_lines
    lines += _model_section(exps, pairs)
    lines += _integration_section(peaks, spectrum)
    lines += [
        "[sampler]",
        "seed = 1",
        "# max_steps = 20000    # upper limit of the automatic run (until 50 autocorrelation "
        "times)",
    ]
    return "\n".join(lines) + "\n"


def _inside(path: Path, folder: Path) -> bool:
    try:
        path.resolve().relative_to(folder.resolve())
        return True
    except ValueError:
        return False


def write_starter_config(data_folder: Path, output: Path, *, force: bool = False) -> Path:
    """Find the series in ``data_folder``, propose sites and write a commented config.

    Parameters
    ----------
    data_folder : Path
        Folder of Bruker expno / Varian ``.fid`` folders, or one experiment folder.  Only read.
    output : Path
        Config file to write (an existing folder gets ``exsyfit.toml`` inside it).
    force : bool
        Replace an existing file.

    Returns
    -------
    Path
        The file written.

    Raises
    ------
    SeriesError
        No experiments in the folder (naming it and what was looked for), no 2D experiment of
        one nucleus, or fewer than two diagonal peaks.
    OutputExistsError
        ``output`` exists and ``force`` is false.
    ExsyfitError
        ``output`` lies inside the data folder.
    """
    data_folder, output = Path(data_folder), Path(output)
    if output.is_dir():
        output = output / "exsyfit.toml"
    base = output.resolve().parent
    exps = find_experiments(data_folder, base)
    if _inside(output, data_folder):
        raise ExsyfitError(
            f"{output}: lies inside the data folder {data_folder}; exsyfit never writes into "
            "data folders. Write the config beside it instead, e.g. -o "
            f"{data_folder.resolve().parent / 'exsyfit.toml'}")
    if output.exists() and not force:
        raise OutputExistsError(f"{output}: exists; use --force to replace it, or -o to write "
                                "another file")
    spectrum, ref = read_reference_spectrum(exps)
    peaks = pick_diagonal_peaks(spectrum)
    if len(peaks.sites) < 2:
        found = ", ".join(f"{s.ppm:.2f} ppm" for s in peaks.sites) or "none"
        raise SeriesError(
            f"{ref['experiment']}: found {len(peaks.sites)} diagonal peak(s) above the noise "
            f"({found}; threshold {peaks.threshold:.3g}, noise sd {peaks.noise:.3g}); an "
            "exchange analysis needs two or more sites. Write the config by hand (see "
            "'exsyfit info config') with a [sites.<name>] ppm for each site")
    text = starter_config_text(data_folder, exps, ref, spectrum, peaks)
    base.mkdir(parents=True, exist_ok=True)
    return _write_checked(text, output)


def _write_checked(text: str, output: Path) -> Path:
    """Write ``text`` beside ``output``, check it loads, then move it into place."""
    from exsyfit.config import load_config

    tmp = output.with_name(f".{output.name}.tmp{os.getpid()}")
    try:
        tmp.write_text(text, encoding="utf-8")
        load_config(tmp)
        os.replace(tmp, output)
    finally:
        tmp.unlink(missing_ok=True)
    return output
