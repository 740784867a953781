"""Fitting the models of one job: which models, one fit, and the fits as parallel tasks.

The main model and its comparison variants (:func:`model_variants`) are independent fits of
the same volume table; :func:`model_tasks` turns them into :class:`exsyfit.workflow.parallel.Task`
objects that :func:`run_fits` runs concurrently.  :func:`resume_mode` decides whether an
interrupted fit may be continued (same config and volume table, by checksum) or not.
"""

from __future__ import annotations

import dataclasses
import logging
import warnings
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pandas as pd

from exsyfit.config import Config
from exsyfit.errors import FitError
from exsyfit.fit.results import FitResult, load_result
from exsyfit.workflow.parallel import Task, resolve_workers, run_tasks
from exsyfit.workflow.runfolder import MANIFEST, RunFolder, describe_change, read_manifest

log = logging.getLogger("exsyfit")

FIT_OUTPUTS = ("summary.json", "summary.csv", "summary_law.csv", "summary_rounded.csv",
               "posterior.nc")
#: Checkpoint of each model in the work folder (``<variant>_`` prefix for comparison models).
CHECKPOINT = "checkpoint.h5"


ProgressFactory = Callable[[str, int], Any]


def callback(factory: ProgressFactory | None, description: str) -> Callable[..., None] | None:
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


def output_names(names: list[str]) -> list[str]:
    """Result files of the models ``names`` (``main`` unprefixed, others ``<name>_``)."""
    return [f"{'' if n == 'main' else n + '_'}{f}" for n in names for f in FIT_OUTPUTS]


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
            label: str = "", fingerprint: str | None = None) -> FitResult:
    """Build the problem, sample it, and return the result (no files but the checkpoint).

    ``fingerprint`` (a checksum of the inputs and the config) is stored with the checkpoint,
    so a checkpoint of other inputs is never continued.
    """
    from exsyfit.fit.likelihood import problem_from_config
    from exsyfit.fit.sampling import ConvergenceWarning, sample_posterior

    problem = problem_from_config(volumes, config)
    log.info("fitting %d volumes at %d temperatures: %s model, %d parameters%s",
             len(problem.y), problem.n_temperatures, problem.spec.temperature_model,
             problem.n_parameters, f" ({label})" if label else "")
    tick = callback(progress, f"sampling{' (' + label + ')' if label else ''}")
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", ConvergenceWarning)
        out = sample_posterior(problem, config.sampler, checkpoint=checkpoint,
                               resume=resume, progress=tick, fingerprint=fingerprint)
    if tick is not None:
        tick(out.chain.shape[0], out.chain.shape[0])
    result = FitResult.from_sampling(problem, out, seed=config.sampler.seed,
                                     length_scale=config.diffusion)
    for w in caught:
        if issubclass(w.category, UserWarning):
            # the result's own warnings say the same about convergence in summary.json
            repeated = issubclass(w.category, ConvergenceWarning) and bool(result.warnings)
            log.warning("%s", w.message, extra={"in_summary": not repeated})
    d = result.diagnostics
    log.info("sampled %d steps x %d walkers in %.1f s (tau_max %.0f, converged: %s)",
             d["n_steps"], d["n_walkers"], d["sampling_seconds"], d["tau_max"],
             d["converged"])
    return result


def fit_and_save(config: Config, volumes: pd.DataFrame, work: Path, stem: str, resume: bool,
                  label: str, fingerprint: str | None,
                  progress: ProgressFactory | None = None) -> FitResult:
    """One model of a job: sample (continuing its checkpoint), write its files, return it."""
    checkpoint = work / f"{stem}{CHECKPOINT}"
    result = fit_one(config, volumes, checkpoint, resume=resume, progress=progress,
                     label=label, fingerprint=fingerprint)
    result.save(work, stem=stem)
    checkpoint.unlink(missing_ok=True)
    return result


def model_tasks(config: Config, volumes: pd.DataFrame, work: Path, names: list[str],
                 resume: bool, fingerprint: dict[str, str],
                 progress: ProgressFactory | None) -> tuple[list[Task], dict[str, FitResult]]:
    """Tasks for the models still to fit; models an interrupted run finished are loaded."""
    from exsyfit.fit.likelihood import problem_from_config

    tasks: list[Task] = []
    done: dict[str, FitResult] = {}
    for name in names:
        stem = "" if name == "main" else f"{name}_"
        cfg = config if name == "main" else variant_config(config, name)
        finished = work / f"{stem}posterior.nc"
        if resume and finished.exists() and not (work / f"{stem}{CHECKPOINT}").exists():
            log.info("resume: the %s model had finished before the interruption; kept",
                     "main" if name == "main" else name)
            done[name] = load_result(finished, problem_from_config(volumes, cfg),
                                     config.diffusion)
            continue
        label = "" if name == "main" else f"{name} model, for comparison"
        if resume and (work / f"{stem}{CHECKPOINT}").exists():
            log.info("resume: the %s model continues from its checkpoint", name)
        tasks.append(Task(name, fit_and_save,
                          (cfg, volumes, work, stem, resume, label,
                           f"{fingerprint['job']}:{name}"),
                          {"progress": progress}, cost=3.0 if name == "main" else 2.0))
    return tasks, done


def run_fits(tasks: list[Task], workers: int | None) -> dict[str, Any]:
    """Run the tasks (concurrently when possible); log each as it finishes."""
    if not tasks:
        return {}
    n = resolve_workers(workers, len(tasks))
    if n > 1:  # progress bars cannot cross process boundaries
        for task in tasks:
            task.kwargs.pop("progress", None)

    def done(name: str, seconds: float) -> None:
        if n > 1:
            log.info("finished: %s (%.1f s)", name, seconds)

    results, _ = run_tasks(tasks, n, on_done=done)
    return results


def resume_mode(folder: RunFolder, outdir: Path, names: list[str], resume: bool,
                force: bool, table_sha256: str) -> str:
    """``fresh``, ``continue`` (the interrupted run of the same inputs) or ``current``.

    Raises
    ------
    FitError
        ``resume`` of a run whose config or inputs changed (unless ``force``: fresh).
    """
    if not resume:
        return "fresh"
    current = folder.fingerprint
    interrupted = folder.interrupted_fingerprint()
    if interrupted is not None:
        if interrupted.get("job") == current["job"]:
            return "continue"
        change = describe_change(interrupted, current)
        if force:
            log.warning("%s changed since the interrupted fit; starting afresh (--force)",
                        change)
            return "fresh"
        raise FitError(
            f"{folder.path}: the interrupted fit was computed from a different version of "
            f"{change}; continuing it would mix two posteriors; rerun without --resume (or "
            "with --force to start afresh)")
    manifest = read_manifest(outdir)
    if manifest is None:
        log.info("resume: no interrupted fit in %s; starting afresh", outdir)
        return "fresh"
    stored = {"config": manifest.get("fingerprint", {}).get("config"),
              "inputs": manifest.get("volume_table_sha256")}
    wanted = {"config": current["config"], "inputs": table_sha256}
    if stored == wanted and all((outdir / f).exists() for f in output_names(names)):
        return "current"
    if force:
        return "fresh"
    raise FitError(
        f"{outdir / MANIFEST}: the results in {outdir} were computed from a different version "
        f"of {describe_change(stored, wanted)}; there is nothing to resume and they are not "
        "current; rerun without --resume and with --force to fit afresh")
