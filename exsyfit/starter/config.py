"""``exsyfit init``: a commented starter configuration for a folder of spectra.

What it does
------------
1. :func:`find_experiments`: every Bruker expno folder and Varian ``.fid`` folder directly inside
   the data folder (or the data folder itself, when it is one experiment) has its header read
   (:func:`exsyfit.io.series.experiment_table`).  Experiments that cannot belong to a 2D EXSY
   series (1D data, unreadable headers, another nucleus) are left out and listed.
2. The spectrum with the shortest mixing time at the lowest temperature is read: its diagonal
   peaks are the sites, with the least exchange blurring them.
3. Whether the experiment spins at the magic angle: the readers' decision from the probe
   head, the pulse program and the recorded rate, and, when they have only the rate, spinning
   sidebands in the spectrum (:mod:`exsyfit.starter.spinning`); the decision and its reason are
   written into the config.  Only MAS experiments get sideband and rotor-synchronisation advice.
4. :func:`exsyfit.starter.peakpick.pick_diagonal_peaks`: genuine 2D peaks on the diagonal above the
   stated S/N become sites ``A``, ``B``, ``C`` ... (``A`` the strongest); truncation wiggles
   (at (k + 1/4)/AQ1 from a stronger peak, AQ1 from TD1 and SW1), t1 ridges, phase lobes and
   (under MAS) spinning sidebands are rejected and listed with the reason.
5. :func:`starter_config_text` writes the TOML: a header comment with what was found, ``[data]
   paths`` relative to the config file, the sites, the temperature model (``arrhenius`` with
   two or more temperatures, else ``free``), ``[integration] sidebands = true`` under MAS when
   F2 sidebands were seen, ``[sampler] seed = 1`` and commented-out optional keys.
   :func:`write_starter_config` checks that the text loads with
   :func:`exsyfit.config.load_config` before it replaces anything.

The data folder is only read; the config is never written inside it.
"""

from __future__ import annotations

import datetime as _dt
import math
import os
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from exsyfit.errors import DataFormatError, ExsyfitError, OutputExistsError, SeriesError
from exsyfit.files import atomic_path
from exsyfit.io.series import _natural_key, detect_format, experiment_table, group_temperatures
from exsyfit.io.spectrum import Spectrum2D
from exsyfit.starter.peakpick import DiagonalPeaks, pick_diagonal_peaks
from exsyfit.starter.spinning import Spinning, acquisition_of, decide_spinning

__all__ = [
    "Experiments",
    "find_experiments",
    "acquisition_time_f1",
    "propose_sites",
    "read_reference_spectrum",
    "starter_config_text",
    "write_starter_config",
]

#: Placeholder sample temperature of experiments whose files hold none, K.
ASSUMED_TEMPERATURE_K = 298.15

_LOOKED_FOR = ("Bruker expno folders (acqus with ser, fid or pdata/) and Varian .fid folders "
               "(procpar with fid)")


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
        key=lambda p: _natural_key(p.name))
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
            spectrum: Spectrum2D, spinning: Spinning) -> list[str]:
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
        "#   MAS rate recorded: " + (f"{_fmt_list(rates)} Hz" if rates else "none"),
        "#   Spinning: " + (spinning.reason if spinning.mas else
                            f"not MAS (static or solution): {spinning.reason}; no sideband or "
                            "rotor-synchronisation settings are proposed"),
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
        f"#   noise sd {peaks.noise:.3g}, prominence threshold {peaks.threshold:.3g}; a site is a",
        f"#   2D peak on the diagonal with S/N >= {peaks.min_snr:g}"
        + (f"; t1 acquisition time AQ1 = {1e3 * peaks.aq1_s:.3g} ms, truncation wiggles every "
           f"{1 / (peaks.aq1_s * spectrum.sf_mhz):.3g} ppm in F1" if peaks.aq1_s else "") + "):",
    ]
    for s in peaks.sites:
        sb = f", F2 sidebands at +-MAS rate ({s.f2_sideband_ratio:.0%} of its height)" \
            if s.f2_sidebands_seen and s.f2_sideband_ratio is not None else ""
        lines.append(f"#   {s.name:<3} {s.ppm:7.2f} ppm (F1 {s.ppm_f1:.2f}, F2 {s.ppm_f2:.2f})  "
                     f"relative height {s.relative_height:.2f}, S/N {s.snr:.0f}{sb}")
    for r in peaks.rejected:
        lines.append(f"#   not a site: {r.ppm:.2f} ppm, {r.reason}")
    if peaks.weaker_ppm:
        lines.append("#   weaker peaks not used: "
                     + ", ".join(f"{p:.2f} ppm" for p in peaks.weaker_ppm))
    f1_width_hz = len(spectrum.ppm_f1) * spectrum.ppm_step_f1 * spectrum.sf_mhz
    rate = spinning.rate_hz if spinning.mas else None
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


def _integration_section(peaks: DiagonalPeaks, spectrum: Spectrum2D,
                         spinning: Spinning) -> list[str]:
    lines = ["[integration]",
             '# method = "auto"             # "auto", "box", "ellipse" or "lineshape" '
             "(overlapping peaks)",
             "# search_ppm = 0.5            # how far a site's peak may lie from its ppm; "
             "default one FWHM"]
    if not spinning.mas:
        lines.append("")
        return lines
    if peaks.mas_rate_ppm and peaks.f2_sidebands_seen:
        lines.append("sidebands = true               # add the F2 spinning sidebands seen at "
                     f"+-{peaks.mas_rate_ppm:.2f} ppm (MAS rate) to their centrebands")
    else:
        lines.append("# sidebands = true             # no sidebands were seen; set this if "
                     "some appear at +-MAS rate in F2")
    rate = spinning.rate_hz
    f1_width_hz = len(spectrum.ppm_f1) * spectrum.ppm_step_f1 * spectrum.sf_mhz
    if rate and math.isfinite(f1_width_hz) and abs(f1_width_hz - rate) > 0.02 * rate:
        lines.append("# f1_rotor_synchronised = false   # the F1 window is not the MAS rate: "
                     "sidebands also appear in F1")
    lines.append("")
    return lines


def acquisition_time_f1(spectrum: Spectrum2D) -> float | None:
    """t1 acquisition time AQ1 of a spectrum, s (None when unknown).

    AQ1 = complex t1 points / SW1 (Hz), from the description of the F1 processing the readers
    store (``metadata["processing_f1"]`` for data processed here,
    ``metadata["processing_f1_topspin"]`` for TopSpin's 2rr: TD1 and SW1 of acqu2s).
    """
    meta = spectrum.metadata if isinstance(spectrum.metadata, dict) else {}
    for key in ("processing_f1", "processing_f1_topspin"):
        desc = meta.get(key)
        if not isinstance(desc, dict) or desc.get("mode", "complex") != "complex":
            continue
        try:
            td, sw = float(desc["td_complex"]), float(desc["sw_hz"])
        except (KeyError, TypeError, ValueError):
            continue
        if td > 0 and sw > 0 and math.isfinite(td / sw):
            return td / sw
    return None


def propose_sites(spectrum: Spectrum2D, ref: pd.Series) -> tuple[DiagonalPeaks, Spinning]:
    """Decide MAS or not, then pick the sites of the reference spectrum.

    Parameters
    ----------
    spectrum : Spectrum2D
        The reference spectrum (shortest mixing time, lowest temperature).
    ref : pandas.Series
        Its experiment-table row (folder, format, MAS rate, pulse program, TD).

    Returns
    -------
    DiagonalPeaks
        With the sideband test made only under MAS.
    Spinning
        The decision and its reason.
    """
    acq = acquisition_of(ref)
    aq1 = acquisition_time_f1(spectrum)
    spinning = decide_spinning(acq)
    if spinning.mas is None:  # the files cannot tell: look for sidebands at the recorded rate
        trial = pick_diagonal_peaks(spectrum, mas_rate_hz=spinning.rate_hz, aq1_s=aq1)
        spinning = decide_spinning(acq, sidebands_seen=trial.f2_sidebands_seen)
    peaks = pick_diagonal_peaks(spectrum, mas_rate_hz=spinning.rate_hz if spinning.mas else None,
                                aq1_s=aq1)
    return peaks, spinning


def starter_config_text(data_folder: Path, exps: Experiments, ref: pd.Series,
                        spectrum: Spectrum2D, peaks: DiagonalPeaks, spinning: Spinning) -> str:
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
        From :func:`propose_sites`; at least two sites.
    spinning : Spinning
        From :func:`propose_sites`.

    Returns
    -------
    str
        The file text (loads with :func:`exsyfit.config.load_config`).
    """
    sites_lines, pairs = _sites_section(peaks)
    lines = _header(data_folder, exps, ref, peaks, spectrum, spinning)
    lines += _data_section(exps)
    lines += sites_lines
    lines += _model_section(exps, pairs)
    lines += _integration_section(peaks, spectrum, spinning)
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
    peaks, spinning = propose_sites(spectrum, ref)
    if len(peaks.sites) < 2:
        found = ", ".join(f"{s.ppm:.2f} ppm" for s in peaks.sites) or "none"
        raise SeriesError(
            f"{ref['experiment']}: found {len(peaks.sites)} diagonal peak(s) above the noise "
            f"({found}; threshold {peaks.threshold:.3g}, noise sd {peaks.noise:.3g}); an "
            "exchange analysis needs two or more sites. Write the config by hand (see "
            "'exsyfit info config') with a [sites.<name>] ppm for each site")
    text = starter_config_text(data_folder, exps, ref, spectrum, peaks, spinning)
    base.mkdir(parents=True, exist_ok=True)
    return _write_checked(text, output)


def _write_checked(text: str, output: Path) -> Path:
    """Write ``text`` beside ``output``, check it loads, then move it into place."""
    from exsyfit.config import load_config

    with atomic_path(output) as tmp:
        tmp.write_text(text, encoding="utf-8")
        load_config(tmp)
    return output
