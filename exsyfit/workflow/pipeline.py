"""The stages of a whole job, as plain functions of a config and an output folder.

Each stage reads what the previous one wrote, so a user can edit ``volumes.csv`` and rerun
``fit``, or restyle figures with ``plot`` without refitting.  Notebooks call the same
functions.  Input data folders are only ever read.

==============  ==============================================  ===============================
stage           reads                                           writes (in OUTDIR)
==============  ==============================================  ===============================
``check``       the config and the headers of the data folders  nothing (prints a table)
``show``        spectra                                         show/* (figures of every
                                                                spectrum, nothing integrated)
``integrate``   spectra                                         volumes.csv, experiments.csv,
                                                                integration.json, figures/qc_*
``fit``         volumes.csv (or ``[data] volumes``)             summary.json, summary.csv,
                                                                posterior.nc, the same with a
                                                                variant prefix (free_, ...),
                                                                matrixlog.csv, run.json
``plot``        volumes + posterior                             figures/*
``report``      all of the above                                report.md, report.html
``run``         spectra (or a volume table)                     all of the above, with the
                                                                robustness analysis
==============  ==============================================  ===============================

``fit`` and ``run`` write into a work folder and put the results in place together
(:mod:`exsyfit.workflow.runfolder`); their independent fits run concurrently
(:mod:`exsyfit.workflow.parallel`);
every warning of every stage reaches summary.json ``warnings``
(:mod:`exsyfit.workflow.stage_warnings`).
"""

from __future__ import annotations

import dataclasses
import json
import logging
import warnings
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

import pandas as pd

from exsyfit.config import Config
from exsyfit.errors import ConfigError, DataFormatError, ExsyfitError, OutputExistsError
from exsyfit.files import write_text_atomic
from exsyfit.fit.results import FitResult, load_result
from exsyfit.integrate.volumes import read_volume_table
from exsyfit.workflow.fitting import (
    FIT_OUTPUTS,
    ProgressFactory,
    fit_one,  # noqa: F401 - part of this module's interface (exsyfit.fit_volumes)
    model_tasks,
    model_variants,
    output_names,
    resume_mode,
    run_fits,
    variant_config,
)
from exsyfit.workflow.fitting import callback as _callback
from exsyfit.workflow.runfolder import (
    RunFolder,
    file_sha256,
    job_fingerprint,
    read_manifest,
    verify_results,
)
from exsyfit.workflow.stage_warnings import WarningCollector, unique_sentences

log = logging.getLogger("exsyfit")

INTEGRATE_OUTPUTS = ("volumes.csv", "experiments.csv", "integration.json")
REPORT_OUTPUTS = ("report.md", "report.html")

def default_outdir(config: Config) -> Path:
    """``results/`` beside the config file."""
    return config.base_dir / "results"


def ensure_writable(outdir: Path, names: Iterable[str], force: bool) -> None:
    """Refuse to overwrite existing results unless ``force``.

    Raises
    ------
    OutputExistsError
        Naming the first existing file.
    """
    outdir.mkdir(parents=True, exist_ok=True)
    existing = [n for n in names if (outdir / n).exists()]
    if existing and not force:
        raise OutputExistsError(
            f"{outdir / existing[0]}: exists (with {len(existing) - 1} more result file(s)); "
            "use --force to overwrite, or -o to choose another output folder"
        )


# ---------------------------------------------------------------------- exclude
def _matches(name: str, experiment: str) -> bool:
    """``[data] exclude`` entry ``name`` names ``experiment`` (as given, or its last part; a
    TopSpin ``<expno>/pdata/<procno>/peaklist.xml`` also by its experiment folder)."""
    given = Path(experiment.rstrip("/"))
    names = {str(given), given.name}
    if given.name == "peaklist.xml" and given.parent.parent.name == "pdata":
        names |= {str(given.parents[2]), given.parents[2].name}
    return name.rstrip("/") in names


def excluded_experiments(config: Config, experiments: Iterable[str]) -> set[str]:
    """The experiments ``[data] exclude`` leaves out.

    Raises
    ------
    ConfigError
        A name that matches none of ``experiments``, listing the available ones.
    """
    experiments = [str(e) for e in experiments]
    out: set[str] = set()
    for name in config.data.exclude:
        hits = {e for e in experiments if _matches(name, e)}
        if not hits:
            shown = ", ".join(experiments[:40]) + (" ..." if len(experiments) > 40 else "")
            raise ConfigError(f"{config.path}: [data.exclude]: found {name!r}, which names no "
                              f"experiment of the series; expected one of: {shown}")
        out |= hits
    return out


def peak_table_volumes(config: Config) -> pd.DataFrame:
    """The volume table of ``[data] peak_tables`` (:mod:`exsyfit.integrate.peaktables`)."""
    from exsyfit.integrate.peaktables import peak_tables_to_volumes

    tol = config.data.temperature_tolerance_K
    by_t = {s.name: s.ppm_by_temperature for s in config.sites}

    def ppm_at(site: str, t_k: float) -> float:
        hits = [v for k, v in by_t[site].items() if abs(float(k) - t_k) <= tol]
        return float(hits[0]) if hits else {s.name: s.ppm for s in config.sites}[site]

    return peak_tables_to_volumes(
        list(config.data.peak_tables), config.base_dir, {s.name: s.ppm for s in config.sites},
        mixing_time=config.data.mixing_time, temperatures_K=config.temperature.per_experiment,
        peak_sigma=config.data.peak_sigma, tolerance_ppm=config.data.peak_tolerance_ppm,
        site_ppm_at=ppm_at, temperature_sigma_K=config.temperature.sigma_K,
        experiment_of=lambda path: topspin_peaklist_facts(config, path))


def topspin_peaklist_facts(config: Config, path: Path) -> dict[str, float] | None:
    """Mixing time, sample temperature and intensity scale of a TopSpin ``peaklist.xml``.

    Only for a file that still sits in its experiment, ``<expno>/pdata/<procno>/peaklist.xml``
    with the experiment's ``acqus``: the mixing time as ``[data] mixing_time`` says (``auto``:
    D8), the set temperature calibrated as ``[temperature]`` says (without ``per_experiment``,
    whose keys name the peak-table files and are applied by the caller), and ``scale`` =
    1/(NS x RG) when ``[data] normalise_intensity``.  Values the experiment does not record
    are left out; None for any other file.
    """
    from exsyfit.io.bruker_metadata import is_bruker_experiment, read_metadata
    from exsyfit.io.temperature import calibrate_temperatures

    if path.name != "peaklist.xml" or path.parent.parent.name != "pdata" \
            or not path.parent.name.isdigit() or not is_bruker_experiment(path.parents[2]):
        return None
    spec = config.data.mixing_time
    spec = "D8" if not isinstance(spec, str) or spec == "auto" else spec
    meta = read_metadata(path.parents[2], procno=int(path.parent.name), mixing_time=spec)
    facts: dict[str, float] = {}
    if isinstance(meta["mixing_time_s"], float):
        facts["mixing_time_s"] = meta["mixing_time_s"]
    if meta["temperature_K"] is not None and not meta["temperature_error"]:
        row = pd.DataFrame({"experiment": [str(path)], "folder": [str(path.parents[2])],
                            "element": [None], "format": ["bruker"],
                            "set_temperature_K": [float(meta["temperature_K"])]})
        calibration = {k: v for k, v in config.temperature.as_dict().items()
                       if k != "per_experiment"}
        facts["temperature_K"] = float(calibrate_temperatures(
            row, calibration, config.base_dir)["temperature_K"].iloc[0])
    if config.data.normalise_intensity:
        scans, gain = float(meta["scans"]), float(meta["receiver_gain"])
        if scans <= 0 or gain <= 0:
            raise DataFormatError(f"{path.parents[2] / 'acqus'}: NS = {scans:g}, RG = {gain:g}; "
                                  "expected both positive to put the peak heights of "
                                  f"{path.name} on one scale (or [data] normalise_intensity = "
                                  "false)")
        facts["scale"] = 1.0 / (scans * gain)
    return facts


def load_volumes(config: Config, path: Path) -> pd.DataFrame:
    """Read a volume table (or convert ``[data] peak_tables``) and drop ``[data] exclude``."""
    if config.data.peak_tables:
        from exsyfit.integrate.volumes import check_plausibility, validate_volume_table

        table = validate_volume_table(peak_table_volumes(config), "[data] peak_tables",
                                      sites=config.site_names)
        check_plausibility(table, "[data] peak_tables", skip_checks=config.data.skip_checks,
                           temperature_tolerance_K=config.data.temperature_tolerance_K)
    else:
        table = read_volume_table(path, sites=config.site_names,
                                  skip_checks=config.data.skip_checks,
                                  temperature_tolerance_K=config.data.temperature_tolerance_K)
    if not config.data.exclude:
        return table
    known = list(dict.fromkeys(table["experiment"].astype(str)))
    if config.data.paths and config.data.volumes is None:
        # volumes.csv written by 'integrate' already lacks the experiments excluded then
        from exsyfit.io.series import expand_paths

        series = [label for label, _ in expand_paths(list(config.data.paths), config.base_dir)]
        excluded_experiments(config, series)  # unknown names are an error
        known = list(dict.fromkeys(known + series))
    drop = excluded_experiments(config, known)
    kept = table[~table["experiment"].astype(str).isin(drop)].reset_index(drop=True)
    if kept.empty:
        raise ConfigError(f"{config.path}: [data.exclude]: leaves no experiment; expected at "
                          "least one spectrum to remain")
    if len(kept) < len(table):
        log.info("left out %d experiment(s) named in [data] exclude: %s",
                 table.loc[table["experiment"].astype(str).isin(drop), "experiment"].nunique(),
                 ", ".join(sorted(drop & set(known))))
    return kept


# ---------------------------------------------------------------------- integrate
def read_spectra(config: Config, progress: ProgressFactory | None = None) -> Any:
    """Read the series named in ``[data] paths`` (processing raw data if needed).

    Experiments named in ``[data] exclude`` are left out before anything is read.
    """
    from exsyfit.io.series import check_sites, expand_paths, read_series

    if not config.data.paths:
        raise ConfigError(f"{config.path}: [data.paths]: not set; this stage needs spectra "
                          "(the config gives a volume table in data.volumes)")
    paths = list(config.data.paths)
    if config.data.exclude:
        found = expand_paths(paths, config.base_dir)
        drop = excluded_experiments(config, [label for label, _ in found])
        paths = [label for label, _ in found if label not in drop]
        log.info("left out %d experiment(s) named in [data] exclude", len(drop))
        if not paths:
            raise ConfigError(f"{config.path}: [data.exclude]: leaves no experiment; expected "
                              "at least one spectrum to remain")
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        series = _read_series_call(read_series, paths, config, progress)
    for w in caught:  # e.g. "processing every experiment from raw data": shown as warnings
        if issubclass(w.category, UserWarning):
            log.warning("%s", w.message)
    check_sites(series, {s.name: s.ppm for s in config.sites})
    return series


def _read_series_call(read_series: Callable[..., Any], paths: list[str], config: Config,
                      progress: ProgressFactory | None) -> Any:
    return read_series(
        paths, config.base_dir, prefer=config.data.prefer,
        procno=config.data.procno, options=config.processing,
        normalise=config.data.normalise_intensity, mixing_time=config.data.mixing_time,
        temperature_calibration=config.temperature.as_dict(),
        temperature_tolerance_K=config.data.temperature_tolerance_K,
        replicates_allowed=config.data.replicates,
        progress=_callback(progress, "reading spectra"),
    )


def integrate_spectra(config: Config, progress: ProgressFactory | None = None,
                      series: Any = None) -> tuple[Any, Any, pd.DataFrame]:
    """Read (unless ``series`` is given) and integrate the series in memory.

    Returns
    -------
    series : exsyfit.io.series.Series
    result : exsyfit.integrate.results.IntegrationResult
    table : pandas.DataFrame
        The volume table (volumes.csv).
    """
    from exsyfit.integrate.series import integrate_series

    if series is None:
        series = read_spectra(config, progress)
    sites = {s.name: s.ppm for s in config.sites}
    log.info("integrating %d spectra (%d peaks each)", len(series.spectra), len(sites) ** 2)
    result = integrate_series(
        series.spectra, sites, options=config.integration,
        temperatures_K=list(series.temperatures_K),
        experiments=list(series.table["experiment"]),
        progress=_callback(progress, "integrating"),
        site_ppm_by_temperature=_shift_overrides(config, series.temperatures_K),
    )
    table = result.table.copy()
    if "temperature_sigma_K" in series.table and "temperature_sigma_K" not in table:
        sig = dict(zip(series.table["experiment"], series.table["temperature_sigma_K"],
                       strict=True))
        table["temperature_sigma_K"] = table["experiment"].map(sig).astype(float)
    for message in result.warnings:
        log.warning("%s", message)
    return series, result, table


def _with_phases(series: Any) -> pd.DataFrame:
    """The experiment table with the processing phases of each experiment's spectra."""
    from exsyfit.output.spectra import phase_text

    phases: dict[str, str] = {}
    for spectrum in series.spectra:
        key = str(getattr(spectrum, "experiment", None) or spectrum.source)
        phases.setdefault(key, phase_text(spectrum.metadata))
    table = series.table.copy()
    table["phases"] = table["experiment"].astype(str).map(phases).fillna("")
    return table


def _write_integration(config: Config, dest: Path, series: Any, result: Any,
                       table: pd.DataFrame, warnings_: list[str],
                       workers: int | None = None) -> None:
    write_text_atomic(dest / "volumes.csv", table.to_csv(index=False))
    write_text_atomic(dest / "experiments.csv", _with_phases(series).to_csv(index=False))
    write_text_atomic(dest / "integration.json", json.dumps(
        {"method": str(result.method), "warnings": unique_sentences(warnings_),
         "options": _jsonable(dataclasses.asdict(config.integration)),
         "sites": _jsonable(result.site_positions())}, indent=2) + "\n")
    _write_qc_figures(series, result, dest, config, workers)


def integrate(config: Config, outdir: Path, *, force: bool = False,
              progress: ProgressFactory | None = None) -> pd.DataFrame:
    """Read the spectra, integrate every peak, write volumes.csv and QC figures.

    integration.json holds every warning of reading and integrating (a later ``fit`` carries
    them into summary.json).

    Returns
    -------
    pandas.DataFrame
        The volume table.
    """
    ensure_writable(outdir, INTEGRATE_OUTPUTS, force)
    with WarningCollector() as caught:
        series, result, table = integrate_spectra(config, progress)
    _write_integration(config, outdir, series, result, table, caught.messages)
    return table


def _shift_overrides(config: Config, temperatures_K: Iterable[float],
                     ) -> dict[float, dict[str, float]]:
    """``sites.*.ppm_by_temperature`` matched to the temperatures of the series."""
    temps = sorted({float(t) for t in temperatures_K})
    out: dict[float, dict[str, float]] = {}
    tol = config.data.temperature_tolerance_K
    for site in config.sites:
        for wanted, ppm in site.ppm_by_temperature.items():
            near = [t for t in temps if abs(t - wanted) <= tol]
            if not near:
                raise ConfigError(
                    f"{config.path}: [sites.{site.name}.ppm_by_temperature]: found a shift for "
                    f"{wanted:g} K; expected one of the series' temperatures "
                    f"({', '.join(f'{t:g}' for t in temps)} K, within "
                    f"data.temperature_tolerance_K = {tol:g})")
            for t in near:
                out.setdefault(t, {})[site.name] = ppm
    return out


def _jsonable(value: Any) -> Any:
    return json.loads(json.dumps(value, default=str))


#: Resolution of the integration QC figures (dots per inch, at most).
QC_DPI = 150


def _write_qc_figures(series: Any, result: Any, outdir: Path, config: Config,
                      workers: int | None = None) -> None:
    """One integration QC figure per temperature, rendered ``workers`` at a time."""
    try:
        from exsyfit.output.figures import FigureJob
        from exsyfit.output.qc import plot_integration_qc
    except ImportError:  # pragma: no cover - partial installs only
        return
    import numpy as np

    from exsyfit.io.temperature import group_temperatures
    from exsyfit.workflow.parallel import render_figures

    # diagnostic figures (many image panels per temperature): PNG at up to 150 dpi only,
    # which takes a third of the time of 300 dpi PNG + PDF
    style = dataclasses.replace(config.plots, formats=("png",),
                                dpi=min(int(config.plots.dpi), QC_DPI))
    temps = np.asarray(series.temperatures_K, dtype=float)
    groups = group_temperatures(temps, 0.0)[0]  # already grouped by the series reader
    (outdir / "figures").mkdir(exist_ok=True)
    jobs = []
    for g in np.unique(groups):
        members = [s for s, gg in zip(series.spectra, groups, strict=True) if gg == g]
        T = float(np.mean(temps[groups == g]))
        jobs.append(FigureJob(outdir / "figures" / f"qc_{T:.0f}K", plot_integration_qc,
                              (members, result), style=style))
    render_figures(jobs, workers)


# ---------------------------------------------------------------------- show
def show(config: Config, outdir: Path, *, force: bool = False,
         progress: ProgressFactory | None = None) -> list[Path]:
    """Figures of every spectrum of the series, before anything is integrated or fitted.

    One figure per temperature (and page) in OUTDIR/show/: contours from 5 noise sigmas, the
    site positions, F2 and F1 slices through every site with the noise band, and the phases
    each spectrum records (:func:`exsyfit.output.show.plot_series_overview`).  Integration
    regions are drawn when ``[integration] half_width_ppm`` fixes them; by default they follow
    the line widths fitted during integration and appear in the QC figures of ``integrate``.

    Returns
    -------
    list of pathlib.Path
        The figure files written.
    """
    import matplotlib.pyplot as plt

    from exsyfit.output.show import plot_series_overview
    from exsyfit.output.style import save_figure

    folder = outdir / "show"
    if folder.exists() and any(folder.iterdir()) and not force:
        raise OutputExistsError(f"{folder}: exists and is not empty; use --force to overwrite, "
                                "or -o to choose another output folder")
    series = read_spectra(config, progress)
    given = config.integration.half_width_ppm
    half_width = float(given) if isinstance(given, int | float) else None
    if half_width is None:
        log.info("integration regions are sized from the line widths fitted by 'integrate'; "
                 "drawn here only with a numeric [integration] half_width_ppm")
    written: list[Path] = []
    for fig in plot_series_overview(series.spectra, {s.name: s.ppm for s in config.sites},
                                    half_width_ppm=half_width, style=config.plots,
                                    temperature_tolerance_K=config.data.temperature_tolerance_K):
        written += save_figure(fig, folder / fig.get_label(), config.plots)
        plt.close(fig)
    log.info("%d figure file(s) of %d spectra written to %s", len(written),
             len(series.spectra), folder)
    return written


# ---------------------------------------------------------------------- fit
def volume_table_path(config: Config, outdir: Path) -> Path:
    """``[data] volumes`` if set, else OUTDIR/volumes.csv (written from ``[data] peak_tables``)."""
    if config.data.volumes is not None:
        return config.data.volumes
    if config.data.peak_tables:
        with warnings.catch_warnings():  # given again when the table is loaded
            warnings.simplefilter("ignore")
            text = peak_table_volumes(config).to_csv(index=False, float_format="%.10g")
        path = outdir / "volumes.csv"
        outdir.mkdir(parents=True, exist_ok=True)
        if not path.exists() or path.read_text(encoding="utf-8") != text:
            write_text_atomic(path, text)
        return path
    path = outdir / "volumes.csv"
    if not path.exists():
        raise ExsyfitError(
            f"{path}: not found; run 'exsyfit integrate' (or 'exsyfit run') first, or set "
            "[data] volumes in the config"
        )
    return path


def fit(config: Config, outdir: Path, *, force: bool = False, resume: bool = False,
        progress: ProgressFactory | None = None,
        workers: int | None = None) -> dict[str, FitResult]:
    """Fit the volume table and write summary.json, summary.csv and posterior.nc.

    Model variants (:func:`model_variants`: the free model beside a global law, unless
    ``[report] compare_models = false``, plus ``[report] alternatives``) are fitted too,
    concurrently (``workers`` processes, default one per core, 1: one after another), and
    written with their name as prefix (``free_summary.json``, ...).  The matrix-logarithm
    cross-check is written to matrixlog.csv unless ``[report] matrix_log = false``.  Every
    warning (those of integration.json included) goes to summary.json ``warnings``.

    The results appear in OUTDIR together when all are written (:mod:`exsyfit.workflow.runfolder`);
    ``resume`` continues an interrupted fit of the same config and volume table and refuses
    one of other inputs (``force``: start afresh).

    Returns
    -------
    dict
        ``{"main": FitResult, "<variant>": FitResult, ...}``.
    """
    names = ["main", *model_variants(config)]
    ensure_writable(outdir, output_names(names), force or resume)
    path = volume_table_path(config, outdir)
    table_sha256 = file_sha256(path)
    folder = RunFolder(outdir, job_fingerprint(config.path, config.raw, [path],
                                               checksums={path: table_sha256}))
    mode = resume_mode(folder, outdir, names, resume, force, table_sha256)
    if mode == "current":
        log.info("resume: the results in %s are complete and current; nothing to do", outdir)
        return load_fit(config, outdir)
    work = folder.start(keep=mode == "continue")
    with WarningCollector() as caught:
        caught.add(_integration_warnings(config, outdir))
        volumes = load_volumes(config, path)
        tasks, results = model_tasks(config, volumes, work, names, mode == "continue",
                                      folder.fingerprint, progress)
        results.update(run_fits(tasks, workers))
        results = {n: results[n] for n in names}
        finish_fit(config, volumes, work, results)
    write_summary(work, results, caught.messages)
    folder.commit("fit", skip=["*checkpoint*"],
                  extra={"volume_table_sha256": table_sha256})
    _log_result(results["main"])
    return results


def _integration_warnings(config: Config, outdir: Path) -> list[str]:
    """Warnings of the integrate stage that wrote OUTDIR/volumes.csv (none for data.volumes)."""
    path = outdir / "integration.json"
    if config.data.volumes is not None or not path.exists():
        return []
    try:
        return [str(w) for w in json.loads(path.read_text(encoding="utf-8")).get("warnings", [])]
    except (OSError, ValueError, AttributeError):
        return []


def finish_fit(config: Config, volumes: pd.DataFrame, dest: Path,
               results: dict[str, FitResult]) -> None:
    """Files of a fit beside the posteriors: config_used.toml and matrixlog.csv.

    The warnings of the comparison fits join the main result's list.
    """
    if config.path is not None and config.path.exists():
        write_text_atomic(dest / "config_used.toml", config.path.read_text(encoding="utf-8"))
    if config.report.matrix_log:
        main = results.get("main")
        write_matrix_log(config, volumes, dest,
                         fit_rates=main.rate_table() if main is not None else None)
    for name, result in results.items():
        if name != "main":
            for w in result.warnings:
                log.warning("%s model (for comparison): %s", name, w)


def write_summary(dest: Path, results: dict[str, FitResult], messages: Iterable[str],
                  extra: dict[str, Any] | None = None) -> dict[str, Any]:
    """Write the main summary.json with every warning (and ``extra`` keys, e.g. robustness).

    Returns
    -------
    dict
        What was written.
    """
    main = results["main"]
    main.warnings = unique_sentences([*main.warnings, *messages])
    summary = main.summary_dict()
    summary.update(extra or {})
    write_text_atomic(dest / "summary.json", json.dumps(summary, indent=2) + "\n")
    return summary


def _log_result(result: FitResult) -> None:
    s = result.summary_dict()
    if "Ea_eV" in s and isinstance(s["Ea_eV"], dict) and "median" in s["Ea_eV"]:
        e = s["Ea_eV"]
        log.info("Ea = %.3f eV (95%% interval %.3f to %.3f)", e["median"], e["q025"],
                 e["q975"])


def write_matrix_log(config: Config, volumes: pd.DataFrame, outdir: Path,
                     fit_rates: pd.DataFrame | None = None) -> pd.DataFrame:
    """Single-mixing-time matrix-logarithm estimates of every spectrum (matrixlog.csv).

    With ``fit_rates`` (:meth:`FitResult.rate_table` of the global fit) every row also says
    whether its rate agrees with the global posterior at its temperature.
    """
    from exsyfit.kinetics.matrixlog import matrix_log_table
    from exsyfit.output.report import matrix_log_causes

    try:
        table = matrix_log_table(volumes, list(config.site_names), n_draws=200,
                                 seed=config.sampler.seed, fit_rates=fit_rates)
    except ExsyfitError as exc:
        log.warning("matrix-logarithm cross-check skipped: %s", exc)
        return pd.DataFrame()
    write_text_atomic(outdir / "matrixlog.csv", table.to_csv(index=False))
    message = f"matrix-logarithm cross-check: {matrix_log_causes(table)}"
    if "agrees_with_fit" in table.columns:
        off = int((table["agrees_with_fit"] == False).sum())  # noqa: E712 (None = no rate)
        message += f" {off} spectra disagree with the global fit."
    log.info("%s See matrixlog.csv.", message)
    return table


def load_fit(config: Config, outdir: Path) -> dict[str, FitResult]:
    """Load the results an earlier ``fit`` (or ``run``) wrote into ``outdir``.

    Raises
    ------
    ExsyfitError
        No results; results of two runs (an interrupted switch, a file of another run); or a
        volume table changed since the fit.
    """
    from exsyfit.fit.likelihood import problem_from_config

    path = outdir / "posterior.nc"
    if not path.exists():
        raise ExsyfitError(f"{path}: not found; run 'exsyfit fit' (or 'exsyfit run') first")
    names = model_variants(config)
    verify_results(outdir, output_names(["main", *names]))
    table_path = volume_table_path(config, outdir)
    manifest = read_manifest(outdir) or {}
    recorded = manifest.get("volume_table_sha256")
    if recorded is not None and file_sha256(table_path) != recorded:
        raise ExsyfitError(f"{table_path}: changed since the fit in {outdir}; rerun "
                           "'exsyfit fit' (with --force) before plotting or reporting")
    volumes = load_volumes(config, table_path)
    results = {"main": load_result(path, problem_from_config(volumes, config),
                                   config.diffusion)}
    for name in names:
        variant_path = outdir / f"{name}_posterior.nc"
        if variant_path.exists():
            results[name] = load_result(
                variant_path, problem_from_config(volumes, variant_config(config, name)),
                config.diffusion)
    summary = outdir / "summary.json"
    if summary.exists():  # every warning of the run, as summary.json holds them
        try:
            results["main"].warnings = list(json.loads(summary.read_text())["warnings"])
        except (OSError, ValueError, KeyError, TypeError):
            pass
    return results


# ---------------------------------------------------------------------- plot / report
def plot(config: Config, outdir: Path, results: dict[str, FitResult] | None = None,
         workers: int | None = None) -> list[Path]:
    """Write the figures of a fit into OUTDIR/figures, ``workers`` at a time (default: one
    process per core; 1: one after another in this process)."""
    from exsyfit.output.figures import make_figures
    from exsyfit.workflow.parallel import render_figures

    results = results or load_fit(config, outdir)
    return make_figures(results["main"], outdir, free=results.get("free"), style=config.plots,
                        render=lambda jobs: render_figures(jobs, workers))


def report(config: Config, outdir: Path, results: dict[str, FitResult] | None = None,
           figures: Iterable[Path] = (), force: bool = True) -> dict[str, Path]:
    """Write report.md and report.html."""
    from exsyfit.fit.compare import compare_models
    from exsyfit.output.report import write_report

    ensure_writable(outdir, REPORT_OUTPUTS, force)
    results = results or load_fit(config, outdir)
    comparison = None
    if len(results) > 1:
        from exsyfit.fit.compare import describe_model

        named = {describe_model(r): r for r in results.values()}
        try:
            comparison = compare_models(named)
        except ExsyfitError as exc:
            log.warning("model comparison skipped: %s", exc)
    inputs = input_files(config)
    acquisition = None
    if (outdir / "experiments.csv").exists():
        acquisition = pd.read_csv(outdir / "experiments.csv")
    integration = None
    if (outdir / "integration.json").exists():
        integration = json.loads((outdir / "integration.json").read_text())
    figures = list(figures) or sorted((outdir / "figures").glob("*.png"))
    matrix_log = (pd.read_csv(outdir / "matrixlog.csv")
                  if (outdir / "matrixlog.csv").exists() else None)
    return write_report(
        outdir, results["main"], free=results.get("free"), comparison=comparison,
        config_text=config.path.read_text(encoding="utf-8") if config.path else None,
        config_path=config.path, input_files=inputs, figures=figures,
        integration=integration, acquisition=acquisition, matrix_log=matrix_log,
    )


def input_files(config: Config) -> list[Path]:
    """Every data file a config's job reads: its volume table, or every file of its folders."""
    if config.data.volumes is not None:
        return [config.data.volumes]
    if config.data.peak_tables:
        from exsyfit.integrate.peaktables import expand_peak_tables

        return [p for _, p in expand_peak_tables(config.data.peak_tables, config.base_dir)]
    from exsyfit.io.series import expand_paths

    files: list[Path] = []
    for _, folder in expand_paths(list(config.data.paths), config.base_dir):
        if folder.is_dir():
            files += sorted(p for p in folder.rglob("*") if p.is_file())
        elif folder.is_file():
            files.append(folder)
    return files


def run(config: Config, outdir: Path, *, force: bool = False,
        progress: ProgressFactory | None = None, workers: int | None = None,
        checksums: dict[Path, str] | None = None) -> dict[str, Any]:
    """The whole job: integrate (if spectra are given), fit, robustness, plot, report.

    The fits (main model, comparison models, robustness variants) run concurrently on
    ``workers`` processes (default one per core; 1: one after another in this process).
    Everything is written into a work folder and appears in OUTDIR together at the end.
    ``checksums``: SHA-256 of input files the caller already computed, by path (not read again).

    Returns
    -------
    dict
        ``results`` (name -> FitResult), ``figures`` and ``report`` (paths in OUTDIR),
        ``robustness`` (the summary.json block, or None), ``seconds`` (wall time per stage).
    """
    import time

    outputs = list(FIT_OUTPUTS) + list(REPORT_OUTPUTS)
    if config.data.paths:
        outputs += list(INTEGRATE_OUTPUTS)
    ensure_writable(outdir, outputs, force)
    t0 = time.perf_counter()
    folder = RunFolder(outdir, job_fingerprint(config.path, config.raw, input_files(config),
                                               "run", checksums))
    work = folder.start()
    try:
        return _run_job(config, outdir, folder, work, progress, workers, t0)
    except BaseException:  # nothing of a failed or interrupted run stays (run cannot resume)
        folder.discard()
        raise


def _run_job(config: Config, outdir: Path, folder: RunFolder, work: Path,
             progress: ProgressFactory | None, workers: int | None, t0: float,
             ) -> dict[str, Any]:
    import time

    from exsyfit.workflow import robustness as robust

    seconds: dict[str, float] = {}
    names = ["main", *model_variants(config)]
    with WarningCollector() as caught:
        if config.data.paths:
            with WarningCollector() as integration_caught:
                series, integ, table = integrate_spectra(config, progress)
            _write_integration(config, work, series, integ, table, integration_caught.messages,
                               workers)
            table_path = work / "volumes.csv"
        else:
            series = integ = None
            table_path = volume_table_path(config, outdir)
        volumes = load_volumes(config, table_path)
        seconds["integrate"] = time.perf_counter() - t0
        tasks, _ = model_tasks(config, volumes, work, names, False, folder.fingerprint,
                                progress)
        plan = robust.plan(config, integ, series) if config.report.robustness else None
        if plan is not None:
            tasks += robust.tasks(config, plan, volumes)
        t1 = time.perf_counter()
        done = run_fits(tasks, workers)
        seconds["fit"] = time.perf_counter() - t1
        results = {n: done[n] for n in names}
        finish_fit(config, volumes, work, results)
        block = (robust.summarise(results["main"], plan, done) if plan is not None else None)
    extra = {"robustness": block} if block is not None else {}
    write_summary(work, results, caught.messages, extra)
    t2 = time.perf_counter()
    with WarningCollector() as late:
        figures = plot(config, work, results, workers)
        seconds["plot"] = time.perf_counter() - t2
        t3 = time.perf_counter()
        paths = report(config, work, results, figures=figures)
        seconds["report"] = time.perf_counter() - t3
    if late.messages:  # e.g. a model comparison that could not be made
        write_summary(work, results, late.messages, extra)
    table_sha256 = file_sha256(table_path) if table_path.exists() else None
    folder.commit("run", skip=["*checkpoint*"], extra={"volume_table_sha256": table_sha256})
    _log_result(results["main"])
    seconds["total"] = time.perf_counter() - t0
    moved = {k: outdir / Path(p).relative_to(work) for k, p in paths.items()}
    return {"results": results, "figures": [outdir / Path(f).relative_to(work) for f in figures],
            "report": moved, "robustness": block, "seconds": seconds}
