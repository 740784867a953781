"""The stages of a whole job, as plain functions of a config and an output folder.

Each stage reads what the previous one wrote, so a user can edit ``volumes.csv`` and rerun
``fit``, or restyle figures with ``plot`` without refitting.  Notebooks call the same
functions.  Input data folders are only ever read.

==============  ==============================================  ===============================
stage           reads                                           writes (in OUTDIR)
==============  ==============================================  ===============================
``check``       the config and the headers of the data folders  nothing (prints a table)
``integrate``   spectra                                         volumes.csv, experiments.csv,
                                                                integration.json, figures/qc_*
``fit``         volumes.csv (or ``[data] volumes``)             summary.json, summary.csv,
                                                                posterior.nc, the same with a
                                                                variant prefix (free_, ...),
                                                                matrixlog.csv
``plot``        volumes + posterior                             figures/*
``report``      all of the above                                report.md, report.html
==============  ==============================================  ===============================
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
from exsyfit.errors import ConfigError, ExsyfitError, OutputExistsError
from exsyfit.files import write_text_atomic
from exsyfit.fit.results import FitResult, load_result
from exsyfit.integrate.volumes import read_volume_table

log = logging.getLogger("exsyfit")

FIT_OUTPUTS = ("summary.json", "summary.csv", "posterior.nc")
INTEGRATE_OUTPUTS = ("volumes.csv", "experiments.csv", "integration.json")
REPORT_OUTPUTS = ("report.md", "report.html")

ProgressFactory = Callable[[str, int], Any]


def _callback(factory: ProgressFactory | None, description: str) -> Callable[..., None] | None:
    """Adapt a progress-bar factory to the ``callback(done, total, ...)`` form of the library."""
    if factory is None:
        return None
    state: dict[str, Any] = {}

    def update(done: int, total: int, *_: Any) -> None:
        bar = state.get("bar")
        if bar is None:
            bar = state["bar"] = factory(description, total)
        bar.total = total
        bar.n = done
        bar.refresh()
        if done >= total:
            bar.close()

    return update


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


# ---------------------------------------------------------------------- integrate
def read_spectra(config: Config, progress: ProgressFactory | None = None) -> Any:
    """Read the series named in ``[data] paths`` (processing raw data if needed)."""
    from exsyfit.io.series import check_sites, read_series

    if not config.data.paths:
        raise ConfigError(f"{config.path}: [data.paths]: not set; this stage needs spectra "
                          "(the config gives a volume table in data.volumes)")
    options = config.processing
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        series = _read_series_call(read_series, config, options, progress)
    for w in caught:  # e.g. "processing every experiment from raw data": shown as warnings
        if issubclass(w.category, UserWarning):
            log.warning("%s", w.message)
    check_sites(series, {s.name: s.ppm for s in config.sites})
    return series


def _read_series_call(read_series: Callable[..., Any], config: Config, options: Any,
                      progress: ProgressFactory | None) -> Any:
    return read_series(
        list(config.data.paths), config.base_dir, prefer=config.data.prefer,
        procno=config.data.procno, options=options,
        normalise=config.data.normalise_intensity, mixing_time=config.data.mixing_time,
        temperature_calibration=config.temperature.as_dict(),
        temperature_tolerance_K=config.data.temperature_tolerance_K,
        replicates_allowed=config.data.replicates,
        progress=_callback(progress, "reading spectra"),
    )


def integrate(config: Config, outdir: Path, *, force: bool = False,
              progress: ProgressFactory | None = None) -> pd.DataFrame:
    """Read the spectra, integrate every peak, write volumes.csv and QC figures.

    Returns
    -------
    pandas.DataFrame
        The volume table.
    """
    from exsyfit.integrate.series import integrate_series

    ensure_writable(outdir, INTEGRATE_OUTPUTS, force)
    series = read_spectra(config, progress)
    options = config.integration
    sites = {s.name: s.ppm for s in config.sites}
    log.info("integrating %d spectra (%d peaks each)", len(series.spectra), len(sites) ** 2)
    result = integrate_series(
        series.spectra, sites, options=options,
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
    write_text_atomic(outdir / "volumes.csv", table.to_csv(index=False))
    write_text_atomic(outdir / "experiments.csv", series.table.to_csv(index=False))
    write_text_atomic(outdir / "integration.json", json.dumps(
        {"method": str(result.method), "warnings": list(result.warnings),
         "options": _jsonable(dataclasses.asdict(options))}, indent=2) + "\n")
    _write_qc_figures(series, result, outdir, config)
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


def _write_qc_figures(series: Any, result: Any, outdir: Path, config: Config) -> None:
    try:
        from exsyfit.output.figures import save_figure
        from exsyfit.output.qc import plot_integration_qc
    except ImportError:  # pragma: no cover - partial installs only
        return
    import matplotlib.pyplot as plt
    import numpy as np

    from exsyfit.io.temperature import group_temperatures

    style = config.plots
    temps = np.asarray(series.temperatures_K, dtype=float)
    groups = group_temperatures(temps, 0.0)[0]  # already grouped by the series reader
    (outdir / "figures").mkdir(exist_ok=True)
    for g in np.unique(groups):
        members = [s for s, gg in zip(series.spectra, groups, strict=True) if gg == g]
        fig = plot_integration_qc(members, result)
        T = float(np.mean(temps[groups == g]))
        save_figure(fig, outdir / "figures" / f"qc_{T:.0f}K", style)
        plt.close(fig)


# ---------------------------------------------------------------------- fit
def volume_table_path(config: Config, outdir: Path) -> Path:
    """``[data] volumes`` if set, else OUTDIR/volumes.csv."""
    if config.data.volumes is not None:
        return config.data.volumes
    path = outdir / "volumes.csv"
    if not path.exists():
        raise ExsyfitError(
            f"{path}: not found; run 'exsyfit integrate' (or 'exsyfit run') first, or set "
            "[data] volumes in the config"
        )
    return path


def variant_config(config: Config, name: str) -> Config:
    """The config of a model variant: 'free', 'spin_diffusion', 'no_spin_diffusion',
    'first-order', 'sphere' or 'slab'."""
    m = config.model
    if name == "free":
        model = dataclasses.replace(m, temperature_model="free", spin_diffusion=False)
    elif name in ("spin_diffusion", "no_spin_diffusion"):
        model = dataclasses.replace(m, spin_diffusion=name == "spin_diffusion",
                                    transport="first-order")
    else:
        model = dataclasses.replace(m, transport=name, spin_diffusion=False
                                    if name != "first-order" else m.spin_diffusion)
    return dataclasses.replace(config, model=model)


def model_variants(config: Config) -> list[str]:
    """Variants fitted beside the main model (for the Arrhenius points and comparison).

    By default (``[report] compare_models = true``): the free model beside a global law, and
    the same law with (or without) a temperature-independent spin-diffusion rate, so the
    report says which the data support.  ``[report] alternatives`` replaces the second part.
    """
    m = config.model
    names: list[str] = []
    compare = config.report.compare_models
    if m.temperature_model != "free" and compare:
        names.append("free")
    if config.report.alternatives is not None:
        alternatives = list(config.report.alternatives)
    elif compare and m.temperature_model != "free" and m.transport == "first-order":
        # by default, test for a temperature-independent (spin-diffusion) channel
        alternatives = ["no_spin_diffusion" if m.spin_diffusion else "spin_diffusion"]
    else:
        alternatives = []
    for name in alternatives:
        same = ((name == "free" and m.temperature_model == "free")
                or (name == "spin_diffusion" and m.spin_diffusion)
                or (name == "no_spin_diffusion" and not m.spin_diffusion)
                or name == m.transport)
        if name == "spin_diffusion" and m.temperature_model == "free":
            log.warning("[report] alternatives: 'spin_diffusion' needs a temperature law; "
                        "skipped with temperature_model = 'free'")
        elif name in ("sphere", "slab") and len(config.sites) != 2:
            log.warning("[report] alternatives: '%s' transport is a two-site model; skipped "
                        "for %d sites", name, len(config.sites))
        elif not same and name not in names:
            names.append(name)
    return names


def fit_one(config: Config, volumes: pd.DataFrame, checkpoint: Path | None = None, *,
            resume: bool = False, progress: ProgressFactory | None = None,
            label: str = "") -> FitResult:
    """Build the problem, sample it, and return the result (no files but the checkpoint)."""
    from exsyfit.fit.likelihood import problem_from_config
    from exsyfit.fit.sampling import ConvergenceWarning, sample_posterior

    problem = problem_from_config(volumes, config)
    log.info("fitting %d volumes at %d temperatures: %s model, %d parameters%s",
             len(problem.y), problem.n_temperatures, problem.spec.temperature_model,
             problem.n_parameters, f" ({label})" if label else "")
    tick = _callback(progress, f"sampling{' (' + label + ')' if label else ''}")
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", ConvergenceWarning)
        out = sample_posterior(problem, config.sampler, checkpoint=checkpoint,
                               resume=resume, progress=tick)
    if tick is not None:
        tick(out.chain.shape[0], out.chain.shape[0])
    for w in caught:
        if issubclass(w.category, ConvergenceWarning):
            log.warning("%s", w.message)
    result = FitResult.from_sampling(problem, out, seed=config.sampler.seed,
                                     length_scale=config.diffusion)
    d = result.diagnostics
    log.info("sampled %d steps x %d walkers in %.1f s (tau_max %.0f, converged: %s)",
             d["n_steps"], d["n_walkers"], d["sampling_seconds"], d["tau_max"],
             d["converged"])
    return result


def fit(config: Config, outdir: Path, *, force: bool = False, resume: bool = False,
        progress: ProgressFactory | None = None) -> dict[str, FitResult]:
    """Fit the volume table and write summary.json, summary.csv and posterior.nc.

    Model variants (:func:`model_variants`: the free model beside a global law, unless
    ``[report] compare_models = false``, plus ``[report] alternatives``) are fitted too and
    written with their name as prefix (``free_summary.json``, ...).  The matrix-logarithm
    cross-check is written to matrixlog.csv unless ``[report] matrix_log = false``.

    Returns
    -------
    dict
        ``{"main": FitResult, "<variant>": FitResult, ...}``.
    """
    variants = model_variants(config)
    outputs = list(FIT_OUTPUTS) + [f"{v}_{n}" for v in variants for n in FIT_OUTPUTS]
    ensure_writable(outdir, outputs, force or resume)
    path = volume_table_path(config, outdir)
    volumes = read_volume_table(path, sites=config.site_names)
    results: dict[str, FitResult] = {}
    for name in ["main", *variants]:
        stem = "" if name == "main" else f"{name}_"
        cfg = config if name == "main" else variant_config(config, name)
        ckpt = outdir / f"{stem}checkpoint.npz"
        done = outdir / f"{stem}posterior.nc"
        if resume and done.exists() and not ckpt.exists():
            # finished before the interruption: keep it
            from exsyfit.fit.likelihood import problem_from_config

            log.info("resume: %s already finished, kept", done.name)
            results[name] = load_result(done, problem_from_config(volumes, cfg),
                                        config.diffusion)
            continue
        label = "" if name == "main" else f"{name} model, for comparison"
        results[name] = fit_one(cfg, volumes, ckpt, resume=resume, progress=progress,
                                label=label)
        results[name].save(outdir, stem=stem)
        ckpt.unlink(missing_ok=True)
    if config.path is not None and config.path.exists():
        write_text_atomic(outdir / "config_used.toml", config.path.read_text(encoding="utf-8"))
    if config.report.matrix_log:
        write_matrix_log(config, volumes, outdir)
    s = results["main"].summary_dict()
    if "Ea_eV" in s and isinstance(s["Ea_eV"], dict) and "median" in s["Ea_eV"]:
        e = s["Ea_eV"]
        log.info("Ea = %.3f eV (95%% interval %.3f to %.3f)", e["median"], e["q025"],
                 e["q975"])
    return results


def write_matrix_log(config: Config, volumes: pd.DataFrame, outdir: Path) -> pd.DataFrame:
    """Single-mixing-time matrix-logarithm estimates of every spectrum (matrixlog.csv)."""
    from exsyfit.kinetics.matrixlog import matrix_log_table

    try:
        table = matrix_log_table(volumes, list(config.site_names), n_draws=200,
                                 seed=config.sampler.seed)
    except ExsyfitError as exc:
        log.warning("matrix-logarithm cross-check skipped: %s", exc)
        return pd.DataFrame()
    write_text_atomic(outdir / "matrixlog.csv", table.to_csv(index=False))
    failed = int((~table["ok"].astype(bool)).sum())
    log.info("matrix-logarithm cross-check: %d of %d spectra gave rates on their own (%d "
             "failed, as expected where cross peaks are near the noise, e.g. the shortest "
             "mixing times; see matrixlog.csv)", len(table) - failed, len(table), failed)
    return table


def load_fit(config: Config, outdir: Path) -> dict[str, FitResult]:
    """Load the results an earlier ``fit`` wrote into ``outdir``."""
    from exsyfit.fit.likelihood import problem_from_config

    path = outdir / "posterior.nc"
    if not path.exists():
        raise ExsyfitError(f"{path}: not found; run 'exsyfit fit' (or 'exsyfit run') first")
    volumes = read_volume_table(volume_table_path(config, outdir), sites=config.site_names)
    results = {"main": load_result(path, problem_from_config(volumes, config),
                                   config.diffusion)}
    for name in model_variants(config):
        variant_path = outdir / f"{name}_posterior.nc"
        if variant_path.exists():
            results[name] = load_result(
                variant_path, problem_from_config(volumes, variant_config(config, name)),
                config.diffusion)
    return results


# ---------------------------------------------------------------------- plot / report
def plot(config: Config, outdir: Path, results: dict[str, FitResult] | None = None,
         ) -> list[Path]:
    """Write the figures of a fit into OUTDIR/figures."""
    from exsyfit.output.figures import make_figures

    results = results or load_fit(config, outdir)
    return make_figures(results["main"], outdir, free=results.get("free"), style=config.plots)


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
    inputs = _input_files(config)
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


def _input_files(config: Config) -> list[Path]:
    """Every data file the job read (for checksums in the report)."""
    if config.data.volumes is not None:
        return [config.data.volumes]
    from exsyfit.io.series import expand_paths

    files: list[Path] = []
    for _, folder in expand_paths(list(config.data.paths), config.base_dir):
        if folder.is_dir():
            files += sorted(p for p in folder.rglob("*") if p.is_file())
        elif folder.is_file():
            files.append(folder)
    return files


def run(config: Config, outdir: Path, *, force: bool = False,
        progress: ProgressFactory | None = None) -> dict[str, Any]:
    """The whole job: integrate (if spectra are given), fit, plot, report."""
    outputs = list(FIT_OUTPUTS) + list(REPORT_OUTPUTS)
    if config.data.paths:
        outputs += list(INTEGRATE_OUTPUTS)
    ensure_writable(outdir, outputs, force)
    if config.data.paths:
        integrate(config, outdir, force=True, progress=progress)
    results = fit(config, outdir, force=True, progress=progress)
    figures = plot(config, outdir, results)
    paths = report(config, outdir, results, figures=figures)
    return {"results": results, "figures": figures, "report": paths}


