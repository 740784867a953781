"""Robustness: the result re-derived under alternative defensible choices.

The statistical interval of a fit says how much the noise moves the answer; it says nothing
about the choices made before the fit.  ``run`` therefore repeats the analysis with each choice
that a careful spectroscopist could equally have made, and reports the spread of the medians
as a systematic uncertainty (summary.json ``robustness``):

==================  =========================================================================
variant             when it runs
==================  =========================================================================
``route``           raw data processed here instead of TopSpin's 2rr (or the reverse), when
                    every experiment holds both
``lineshape`` /     line-shape fitting instead of box integration (or the reverse), when the
``box``             other method is defensible: box only where it was chosen explicitly or by
                    the automatic choice (whose bias test rejects box for overlapping peaks)
``regions_-30%`` /  integration regions 30 % smaller / larger (box: the region half widths;
``regions_+30%``    line shapes: the fit window around the sites)
``baseline``        the other local baseline model ('plane' <-> 'surroundings')
``start``           fitted start magnetisation instead of the equilibrium one (or the reverse)
==================  =========================================================================

Integration variants need spectra; with a volume table only ``start`` applies.  Each variant
fits the main model alone (no comparison models) with a shorter chain: 1000 steps, enough when
they exceed 20 autocorrelation times (else the variant samples on until 20 tau, at most 4000
steps).  Only the medians are used, and those hardly need a long chain: on the demo series
(tau about 30 steps) the 1000-step medians of Ea differed from a converged 50-tau fit by at most
0.05 posterior standard deviations (k_ex by at most 0.03 %, three seeds), at 40 % of its cost.

summary.json ``robustness`` holds ``default`` (the configured analysis) and ``variants`` (the
alternatives, each ``name``, ``what``, ``Ea_eV_median``, ``k_ex_per_s_median`` per temperature),
``skipped`` (alternatives left out, with the reason).  ``Ea_eV_systematic`` is half the range of
the Ea medians over the configured analysis and all variants; ``k_ex_systematic_fraction`` (per
temperature) is half the range of the k_ex medians divided by the configured analysis's median.
For more than two sites both are keyed by pair.
"""

from __future__ import annotations

import dataclasses
import logging
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from exsyfit.config import Config
from exsyfit.errors import ExsyfitError
from exsyfit.fit.results import FitResult
from exsyfit.workflow.parallel import Task
from exsyfit.workflow.stage_warnings import WarningCollector

log = logging.getLogger("exsyfit")

#: Steps of a variant's chain ...
STEPS = 1000
#: ... enough when longer than this many autocorrelation times (the main fit: 50) ...
TAU_MULTIPLE = 20.0
#: ... else it samples on until then, at most this many steps.
MAX_STEPS = 4000
#: Relative change of the integration regions.
REGION_CHANGE = 0.3
#: Prefix of the task names of the variants.
PREFIX = "robust:"


@dataclass(frozen=True)
class Variant:
    """One alternative analysis.

    Attributes
    ----------
    name : str
    what : str
        What differs from the configured analysis, in words.
    integration : dict
        Changed fields of :class:`exsyfit.integrate.options.IntegrationOptions`.
    prefer : str or None
        Changed ``[data] prefer`` (the raw-versus-2rr route).
    model : dict
        Changed fields of the model config.
    """

    name: str
    what: str
    integration: dict[str, Any] = field(default_factory=dict)
    prefer: str | None = None
    model: dict[str, Any] = field(default_factory=dict)

    @property
    def needs_spectra(self) -> bool:
        """The variant integrates the spectra again."""
        return bool(self.integration) or self.prefer is not None


@dataclass
class Plan:
    """The variants of a job and the alternatives left out, with the reason."""

    variants: list[Variant]
    skipped: list[dict[str, str]]


def _scaled(value: Any, factor: float) -> Any:
    """A half width (number, or mapping of numbers / [f1, f2] pairs) times ``factor``."""
    if isinstance(value, int | float):
        return float(value) * factor
    if isinstance(value, dict):
        return {k: _scaled(v, factor) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_scaled(v, factor) for v in value]
    return value


def _region_variants(options: Any, method: str) -> list[Variant]:
    out = []
    for sign, factor in (("-", 1 - REGION_CHANGE), ("+", 1 + REGION_CHANGE)):
        label = f"regions_{sign}{REGION_CHANGE:.0%}"
        if method == "lineshape":
            change = {"window_fwhm": options.window_fwhm * factor}
            what = (f"line-shape fit window {sign}{REGION_CHANGE:.0%} "
                    f"({options.window_fwhm * factor:.2g} FWHM beyond the outer sites)")
        elif options.half_width_ppm is None:
            change = {"half_width_fwhm": options.half_width_fwhm * factor}
            what = (f"integration regions {sign}{REGION_CHANGE:.0%} "
                    f"({options.half_width_fwhm * factor:.2g} x FWHM half width)")
        else:
            change = {"half_width_ppm": _scaled(options.half_width_ppm, factor)}
            what = f"integration regions {sign}{REGION_CHANGE:.0%} (half widths in ppm)"
        out.append(Variant(label, what, integration={"method": method, **change}))
    return out


def plan(config: Config, integration: Any = None, series: Any = None) -> Plan:
    """The variants that the data make relevant.

    Parameters
    ----------
    config : Config
    integration : IntegrationResult, optional
        The configured integration (its ``method`` is the one actually used); None for a
        volume table.
    series : Series, optional
        The series read (its table says whether raw data and 2rr both exist).
    """
    variants: list[Variant] = []
    skipped: list[dict[str, str]] = []
    if integration is not None:
        options = config.integration
        method = str(integration.method)
        table = series.table if series is not None else pd.DataFrame()
        both = ("has_raw" in table and "has_processed" in table and len(table)
                and bool(table["has_raw"].all()) and bool(table["has_processed"].all()))
        if both:
            other = "raw" if config.data.prefer == "processed" else "processed"
            variants.append(Variant(
                "route", "raw data processed by exsyfit instead of TopSpin's 2rr"
                if other == "raw" else "TopSpin's 2rr instead of raw data processed by exsyfit",
                prefer=other))
        else:
            skipped.append({"name": "route", "why": "the experiments do not hold both raw "
                            "data and processed (2rr) spectra"})
        if method in ("box", "ellipse"):
            variants.append(Variant("lineshape", f"line-shape fitting instead of {method} "
                                    "integration", integration={"method": "lineshape"}))
        elif options.method == "lineshape":
            variants.append(Variant("box", "box integration instead of line-shape fitting",
                                    integration={"method": "box"}))
        else:
            skipped.append({"name": "box", "why": "box integration is not defensible here: "
                            "the automatic choice found its overlap bias above "
                            f"{options.auto_bias_sigma:g} standard deviations"})
        variants += _region_variants(options, method)
        other_baseline = "surroundings" if options.baseline == "plane" else "plane"
        variants.append(Variant("baseline", f"local baseline '{other_baseline}' instead of "
                                f"'{options.baseline}'",
                                integration={"method": method, "baseline": other_baseline}))
    start = config.model.start
    if start == "fitted":
        variants.append(Variant("start", "equilibrium start magnetisation instead of a fitted "
                                "one", model={"start": "equilibrium"}))
    else:
        variants.append(Variant("start", f"fitted start magnetisation instead of the {start} "
                                "one", model={"start": "fitted"}))
    return Plan(variants, skipped)


def variant_config(config: Config, variant: Variant, steps: int | None = STEPS) -> Config:
    """The config of a variant: its changes, and a shorter fit of the main model alone.

    ``steps``: a fixed chain length (at most the configured one); None: until
    :data:`TAU_MULTIPLE` autocorrelation times, at most :data:`MAX_STEPS` steps.
    """
    cfg = config
    if variant.integration:
        cfg = dataclasses.replace(cfg, integration=dataclasses.replace(cfg.integration,
                                                                       **variant.integration))
    if variant.prefer is not None:
        cfg = dataclasses.replace(cfg, data=dataclasses.replace(cfg.data, prefer=variant.prefer))
    if variant.model:
        cfg = dataclasses.replace(cfg, model=dataclasses.replace(cfg.model, **variant.model))
    s = cfg.sampler
    sampler = dataclasses.replace(
        s, tau_multiple=min(s.tau_multiple, TAU_MULTIPLE),
        max_steps=min(s.max_steps, MAX_STEPS),
        steps=(None if steps is None else min(steps, s.steps or steps)),
        checkpoint_every=min(s.checkpoint_every, 250))
    return dataclasses.replace(cfg, sampler=sampler)


def medians(result: FitResult) -> dict[str, Any]:
    """Ea and per-temperature k_ex medians of a result (keyed by pair for > 2 sites)."""
    s = result.summary_dict()

    def med(stats: Any) -> Any:
        if isinstance(stats, dict) and "median" in stats:
            return float(stats["median"])
        if isinstance(stats, dict):
            return {k: med(v) for k, v in stats.items()}
        return None

    return {"Ea_eV_median": med(s["Ea_eV"]) if "Ea_eV" in s else None,
            "temperatures_K": [float(e["temperature_K"]) for e in s["temperatures"]],
            "k_ex_per_s_median": [med(e["k_ex_per_s"]) for e in s["temperatures"]]}


def run_variant(config: Config, variant: Variant, volumes: pd.DataFrame) -> dict[str, Any]:
    """Re-derive the result under one variant (a picklable task for a worker process).

    Returns
    -------
    dict
        ``name``, ``what``, ``Ea_eV_median``, ``temperatures_K``, ``k_ex_per_s_median``,
        ``steps``, ``converged``; or ``error`` when the variant could not be analysed.
    """
    from exsyfit.workflow.fitting import fit_one

    cfg = variant_config(config, variant)
    entry: dict[str, Any] = {"name": variant.name, "what": variant.what}
    with WarningCollector(quiet=True):  # the variant's own warnings are not the result's
        try:
            if variant.needs_spectra:  # read again ([data] exclude applies) and integrate
                from exsyfit.workflow.pipeline import integrate_spectra

                _, _, volumes = integrate_spectra(cfg)
            result = fit_one(cfg, volumes, label=f"robustness: {variant.name}")
            if not result.diagnostics["converged"] and config.sampler.steps is None:
                # tau beyond STEPS / TAU_MULTIPLE: sample on until TAU_MULTIPLE tau
                result = fit_one(variant_config(config, variant, steps=None), volumes,
                                 label=f"robustness: {variant.name}, longer")
        except ExsyfitError as exc:
            return {**entry, "error": str(exc)}
    entry.update(medians(result))
    entry["steps"] = int(result.diagnostics["n_steps"])
    entry["converged"] = bool(result.diagnostics["converged"])
    return entry


def tasks(config: Config, the_plan: Plan, volumes: pd.DataFrame) -> list[Task]:
    """One task per variant (names ``robust:<variant>``), cheaper ones than the main fits."""
    return [Task(PREFIX + v.name, run_variant, (config, v, volumes),
                 cost=1.5 if v.needs_spectra else 1.0) for v in the_plan.variants]


def _half_range(values: list[Any]) -> Any:
    """Half the range of numbers, or per key of dicts of numbers (None where absent)."""
    present = [v for v in values if v is not None]
    if not present:
        return None
    if isinstance(present[0], dict):
        return {k: _half_range([v.get(k) for v in present]) for k in present[0]}
    arr = np.asarray(present, dtype=float)
    return float(0.5 * (np.max(arr) - np.min(arr)))


def _fraction(half: Any, ref: Any) -> Any:
    if half is None or ref is None:
        return None
    if isinstance(half, dict):
        return {k: _fraction(half[k], ref.get(k)) for k in half}
    return float(half / ref) if ref > 0 else None


def _aligned(entry: dict[str, Any], temps: list[float], tol: float = 1.0) -> list[Any]:
    """The entry's k_ex medians at the temperatures ``temps`` (None where it has none)."""
    out = []
    for T in temps:
        hit = [k for t, k in zip(entry["temperatures_K"], entry["k_ex_per_s_median"],
                                 strict=True) if abs(t - T) <= tol]
        out.append(hit[0] if hit else None)
    return out


def summarise(main: FitResult, the_plan: Plan, done: dict[str, Any]) -> dict[str, Any]:
    """The summary.json ``robustness`` block (and a warning when the spread is large).

    Parameters
    ----------
    main : FitResult
        The configured analysis.
    the_plan : Plan
    done : dict
        Task name -> :func:`run_variant` output.
    """
    base = {"name": "default", "what": "the analysis as configured", **medians(main),
            "steps": int(main.diagnostics["n_steps"]),
            "converged": bool(main.diagnostics["converged"])}
    temps = base["temperatures_K"]
    entries, failed = [base], []
    for v in the_plan.variants:
        out = done.get(PREFIX + v.name)
        if out is None or "error" in out:
            reason = out.get("error", "not run") if out else "not run"
            failed.append({"name": v.name, "why": reason})
            log.warning("robustness variant '%s' (%s) could not be analysed: %s", v.name,
                        v.what, reason)
            continue
        out = dict(out)
        out["k_ex_per_s_median"] = _aligned(out, temps)
        out["temperatures_K"] = temps
        entries.append(out)
    ea_sys = _half_range([e["Ea_eV_median"] for e in entries])
    k_half = [_half_range([e["k_ex_per_s_median"][t] for e in entries])
              for t in range(len(temps))]
    k_frac = [_fraction(h, base["k_ex_per_s_median"][t]) for t, h in enumerate(k_half)]
    block = {
        "default": base,
        "variants": entries[1:],
        "Ea_eV_systematic": ea_sys,
        "k_ex_systematic_fraction": k_frac,
        "temperatures_K": temps,
        "skipped": the_plan.skipped + failed,
        "method": f"each variant fits the main model alone, {STEPS} steps (longer when that "
                  f"is under {TAU_MULTIPLE:g} autocorrelation times, at most {MAX_STEPS}); "
                  "systematic = half the range of the medians of the configured analysis and "
                  "the variants",
    }
    _warn_if_large(main, block)
    return block


def _warn_if_large(main: FitResult, block: dict[str, Any]) -> None:
    """A warning when the choices move Ea more than the noise does."""
    s = main.summary_dict()
    sys_ = block["Ea_eV_systematic"]
    if "Ea_eV" not in s or sys_ is None:
        return
    stats = s["Ea_eV"]
    pairs = stats.items() if "median" not in stats else [("", stats)]
    for pair, st in pairs:
        value = sys_ if not isinstance(sys_, dict) else sys_.get(pair)
        half = 0.5 * (st["q975"] - st["q025"])
        if value is not None and value > half:
            every = [block["default"], *block["variants"]]
            names = [e["name"] for e in every]
            eas = [e["Ea_eV_median"] if not isinstance(e["Ea_eV_median"], dict)
                   else e["Ea_eV_median"].get(pair) for e in every]
            lo, hi = names[int(np.argmin(eas))], names[int(np.argmax(eas))]
            log.warning(
                "Ea%s depends on the analysis choices more than on the noise: the robustness "
                "variants give a systematic uncertainty of +-%.3f eV against a statistical 95 %% "
                "half-width of %.3f eV (lowest: %s, highest: %s); quote both",
                f" ({pair})" if pair else "", value, half, lo, hi)
