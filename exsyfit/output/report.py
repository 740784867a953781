"""The analysis report: report.md and a self-contained report.html with provenance.

Both files are rendered from one list of blocks (:mod:`exsyfit.output.report_render`), so
they hold the same numbers, and every posterior number is taken from
:meth:`FitResult.summary_dict` — the content of summary.json — formatted with four significant
digits.  The report follows what a careful analyst reports for 2D EXSY kinetics: every warning
of every stage first (and again beside the numbers it concerns), the temperature law with the
systematic uncertainty of the robustness variants beside the statistical interval, rates,
populations and T1 per temperature, the goodness of fit (chi²/dof, posterior-predictive p,
standardised residuals per spectrum), model comparison, sampler diagnostics, acquisition,
processing and integration, model equations and priors, the cross-peak symmetry check and
provenance (versions, the config as run, SHA-256 checksums of the inputs, seed, date).
Figures are embedded in the HTML as data URIs, so the page opens offline and can be sent on
its own.
"""

from __future__ import annotations

import base64
import json
import re
import tomllib
from collections import Counter
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from exsyfit.files import write_text_atomic
from exsyfit.kinetics.laws import KJ_PER_MOL_PER_EV
from exsyfit.kinetics.matrixlog import CAUSES
from exsyfit.output.labels import unicode_name
from exsyfit.output.report_methods import (
    NOT_AVAILABLE,
    NOT_RECORDED,
    dependency_versions,
    file_sha256,
    provenance_blocks,
    reporting_blocks,
    symmetry_check,
)
from exsyfit.output.report_render import (
    Block,
    Heading,
    Image,
    Para,
    Table,
    Warning_,
    fmt,
    to_html,
    to_markdown,
)
from exsyfit.output.residuals import residuals_per_spectrum

if TYPE_CHECKING:  # pragma: no cover
    from exsyfit.fit.results import FitResult

__all__ = ["write_report", "build_report", "matrix_log_causes", "file_sha256",
           "dependency_versions", "fmt", "collect_warnings", "NOT_AVAILABLE", "NOT_RECORDED",
           "symmetry_check"]

DEFAULT_TITLE = "exsyfit report"
_FIGURE_CAPTIONS = {
    "arrhenius": "Arrhenius plot: per-temperature posteriors (68 % and 95 % bars) and the "
                 "global law with its 95 % credible band; below, the points minus the law",
    "eyring": "Eyring plot, ln(k/T) against 1000/T",
    "buildup": "Build-up curves: observed volumes (±σ), posterior median and 95 % band of the "
               "model, residuals/σ",
    "corner": "Posterior of the global parameters (contours at 1 and 2 σ; titles: median and "
              "68 % interval)",
    "parameters_vs_temperature": "Exchange rate, populations and T1 against temperature",
    "qc": "Integration check: every mixing time with the regions or fitted peaks, and the "
          "residual of the line-shape fit in noise units",
    "integration": "Integration regions on the spectrum",
}
# where a warning is repeated beside the numbers it concerns (first match wins)
_TOPICS = (
    ("diagnostics", re.compile(r"converg|autocorrelation|tau|chain|effective sample|ESS",
                               re.I)),
    ("fit", re.compile(r"chi2|chi²|χ²|posterior.predictive|does not describe|residual", re.I)),
    ("robustness", re.compile(r"robust|systematic|variant", re.I)),
    ("matrix_log", re.compile(r"matrix.log", re.I)),
    ("temperatures", re.compile(r"temperature|calibrat", re.I)),
)


def _ci(stats: Mapping[str, float]) -> str:
    """'median [q025, q975]'."""
    return f"{fmt(stats['median'])} [{fmt(stats['q025'])}, {fmt(stats['q975'])}]"


def _ci68(stats: Mapping[str, float]) -> str:
    return f"[{fmt(stats['q16'])}, {fmt(stats['q84'])}]"



def _rates_table(summary: Mapping[str, Any], pairs: Sequence[str]) -> Table:
    entries = summary["temperatures"]
    directions = list(entries[0]["k_per_s"])
    headers = ["T (K)"]
    if len(pairs) == 1:
        headers.append("k_ex (s^-1)")
    else:
        headers += [f"k_ex {p} (s^-1)" for p in pairs]
    headers += [f"k {d} (s^-1)" for d in directions]
    fractions = {p: _systematic_for(summary, "k_ex_systematic_fraction", p) for p in pairs}
    fractions = {p: f for p, f in fractions.items()
                 if isinstance(f, list | tuple) and len(f) == len(entries)}
    headers += [f"k_ex {p} systematic (%)" if len(pairs) > 1 else "k_ex systematic (%)"
                for p in fractions]
    rows = []
    for t, e in enumerate(entries):
        row = [fmt(e["temperature_K"])]
        if len(pairs) == 1:
            row.append(_ci(e["k_ex_per_s"]))
        else:
            row += [_ci(e["k_ex_per_s"][p]) for p in pairs]
        row += [_ci(e["k_per_s"][d]) for d in directions]
        row += [f"± {fmt(100 * float(f[t]))}" for f in fractions.values()]
        rows.append(tuple(row))
    caption = "Exchange rates: posterior median [95 % credible interval]."
    if fractions:
        caption += " Systematic: half the range of the robustness variants, % of k_ex."
    return Table(tuple(headers), tuple(rows), caption)


def _sites_table(summary: Mapping[str, Any], sites: Sequence[str]) -> Table:
    headers = ["T (K)"] + [f"p {s}" for s in sites] + [f"T1 {s} (s)" for s in sites]
    has_t = "sample_temperature_K" in summary["temperatures"][0]
    if has_t:
        headers.insert(1, "sample T (K)")
    rows = []
    for e in summary["temperatures"]:
        row = [fmt(e["temperature_K"])]
        if has_t:
            row.append(_ci(e["sample_temperature_K"]))
        row += [_ci(e["populations"][s]) for s in sites]
        row += [_ci(e["T1_s"][s]) for s in sites]
        rows.append(tuple(row))
    return Table(tuple(headers), tuple(rows),
                 "Populations and longitudinal relaxation times: median [95 % interval].")


def _pick(value: Any, pair: str) -> Any:
    """The entry of ``pair`` in a summary value keyed by pair (more than two sites), or the
    value itself (two sites)."""
    return value[pair] if isinstance(value, Mapping) and pair in value else value


def _law_blocks(result: FitResult, summary: Mapping[str, Any]) -> list[Block]:
    model = summary["temperature_model"]
    out: list[Block] = [Heading(2, "Temperature law")]
    T = [e["temperature_K"] for e in summary["temperatures"]]
    if model == "free":
        out.append(Para("Temperature model: free (an independent exchange rate at each "
                        "temperature); no global law was fitted. See the Arrhenius linearity "
                        "check below when a free fit is given."))
        return out
    pairs = summary.get("pairs", list(result.pairs))
    rate_word = ("k_ex = k_AB + k_BA of each pair" if result.problem.spec.transport
                 == "first-order" else "k_ex = slowest uptake mode of the diffusion-limited "
                 "model (pi² D/L² sphere, pi² D/(4L²) slab)")
    out.append(Para(
        f"Temperature model: {model}, for {rate_word}, over {fmt(min(T))}–{fmt(max(T))} K "
        f"({len(T)} temperatures); reference temperature {fmt(summary['reference_temperature_K'])}"
        " K (ln k is sampled there, so the sampled parameters are nearly uncorrelated)."))
    rows = []
    keys = [("Ea_eV", "Ea (eV)"), ("Ea_kJ_per_mol", "Ea (kJ/mol)"),
            ("ln_A_per_s", "ln A (A in s^-1)"), ("dH_kJ_per_mol", "ΔH‡ (kJ/mol)"),
            ("dS_J_per_mol_K", "ΔS‡ (J/(mol K))"), ("k_sd_per_s", "k_sd spin diffusion (s^-1)")]
    has_sys = isinstance(summary.get("robustness"), Mapping)
    for pair in pairs:
        ea_sys = _stat(_systematic_for(summary, "Ea_eV_systematic", pair))
        for key, label in keys:
            if key in summary:
                s = _pick(summary[key], pair)
                row = (pair, label, fmt(s["median"]), _ci68(s),
                       f"[{fmt(s['q025'])}, {fmt(s['q975'])}]")
                if has_sys:
                    sys_txt = {"Ea_eV": ea_sys, "Ea_kJ_per_mol": None if ea_sys is None
                               else ea_sys * KJ_PER_MOL_PER_EV}.get(key)
                    row += (f"± {fmt(sys_txt)}" if sys_txt is not None else "",)
                rows.append(row)
        if "Ea_lnA_correlation" in summary:
            c = _pick(summary["Ea_lnA_correlation"], pair)
            rows.append((pair, "correlation(Ea, ln A)", fmt(c), "", "")
                        + (("",) if has_sys else ()))
    heads = ("pair", "quantity", "median", "68 % interval", "95 % interval")
    caption = "Global temperature law (posterior)."
    if has_sys:
        heads += ("systematic",)
        caption += (" Systematic: half the range of the medians of the robustness variants "
                    "(analysis choices), to be quoted beside the statistical interval.")
    out.append(Table(heads, tuple(rows), caption))
    return out


def _diagnostics_blocks(result: FitResult, summary: Mapping[str, Any]) -> list[Block]:
    d = summary["diagnostics"]
    out: list[Block] = [Heading(2, "Sampler diagnostics")]
    if not d.get("converged", False):
        out.append(Warning_(
            f"The sampler did NOT converge: {d.get('n_steps')} steps is fewer than 50 "
            f"autocorrelation times (tau_max = {fmt(d.get('tau_max'))} steps). The numbers in "
            "this report may be unreliable; rerun with more steps (sampler.steps or "
            "sampler.max_steps)."))
    rows = [("converged", fmt(bool(d.get("converged", False)))),
            ("walkers", fmt(d.get("n_walkers"))),
            ("steps", fmt(d.get("n_steps"))),
            ("burn-in (steps)", fmt(d.get("burn_in"))),
            ("thinning", fmt(d.get("thin"))),
            ("max. autocorrelation time tau (steps)", fmt(d.get("tau_max"))),
            ("mean acceptance fraction", fmt(d.get("acceptance_fraction"))),
            ("min. effective sample size", fmt(d.get("ess_min"))),
            ("log-probability evaluations", fmt(d.get("n_log_prob_evaluations"))),
            ("sampling time (s)", fmt(d.get("sampling_seconds"))),
            ("seed", fmt(summary.get("seed"))),
            ("volumes fitted", fmt(summary.get("n_volumes")))]
    out.append(Table(("diagnostic", "value"), tuple(rows)))
    tau = d.get("tau")
    if isinstance(tau, Mapping) and tau:
        out.append(Table(("parameter", "tau (steps)"),
                         tuple((k, fmt(v)) for k, v in tau.items()),
                         "Integrated autocorrelation time of each sampled parameter."))
    return out



def _comparison_blocks(comparison: Any, linearities: Sequence[Mapping[str, Any]]
                       ) -> list[Block]:
    out: list[Block] = []
    if comparison is not None:
        out.append(Heading(2, "Model comparison"))
        df = pd.DataFrame(comparison)
        ic = "elpd_loo" if "elpd_loo" in df else "elpd_waic"
        p_col = "p_loo" if "p_loo" in df else "p_waic"
        cols = [c for c in ("rank", ic, p_col, "elpd_diff", "dse", "weight", "n_parameters",
                            "interpretation") if c in df]
        rows = tuple((str(name),) + tuple(fmt(r[c]) for c in cols) for name, r in df.iterrows())
        out.append(Table(("model",) + tuple(cols), rows,
                         f"{'PSIS-LOO' if ic == 'elpd_loo' else 'WAIC'} on the per-volume "
                         "log-likelihood: higher elpd = better expected predictive accuracy; "
                         "dse = standard error of the difference to the best model."))
    for lin in linearities:
        out.append(Heading(2, f"Arrhenius linearity check (free model, {lin['pair']})"))
        rows = (("pair", str(lin["pair"])),
                ("temperatures", fmt(lin["n_temperatures"])),
                ("Ea of a weighted straight line (eV)",
                 f"{fmt(lin['Ea_eV']['value'])} ± {fmt(lin['Ea_eV']['sd'])}"),
                ("Ea (kJ/mol)", f"{fmt(lin['Ea_kJ_per_mol']['value'])} ± "
                                f"{fmt(lin['Ea_kJ_per_mol']['sd'])}"),
                ("ln A (A in s^-1)", f"{fmt(lin['ln_A_per_s']['value'])} ± "
                                     f"{fmt(lin['ln_A_per_s']['sd'])}"),
                ("chi² / dof", f"{fmt(lin['chi2'])} / {lin['dof']}"),
                ("p-value", fmt(lin["p_value"])),
                ("largest deviation (sigma)", fmt(lin["max_abs_deviation_sigma"])),
                ("curvature (quadratic term / sd)", fmt(lin["curvature_sigma"])),
                ("linear in 1/T", "untestable (two temperatures)" if lin["linear"] is None
                 else fmt(lin["linear"])))
        out.append(Table(("quantity", "value"), rows))
    return out


def _matrix_log_blocks(result: FitResult, summary: Mapping[str, Any],
                       matrix_log: pd.DataFrame | None) -> list[Block]:
    """Single-mixing-time matrix-logarithm estimates beside the global fit."""
    if matrix_log is None or len(matrix_log) == 0:
        return []
    pairs = list(summary.get("pairs", result.pairs))
    out: list[Block] = [Heading(2, "Cross-check: matrix logarithm per spectrum")]
    global_k = {}
    for entry in summary["temperatures"]:
        for pair in pairs:
            s = _pick(entry["k_ex_per_s"], pair)
            global_k[(round(float(entry["temperature_K"]), 1), pair)] = s["median"]
    rows = []
    for _, r in matrix_log.iterrows():
        ok = bool(r["ok"])
        row = [str(r["experiment"]), fmt(r["temperature_K"]), fmt(r["mixing_time_s"])]
        for pair in pairs:
            col = f"k_ex_{pair}_per_s"
            value = fmt(r[col]) if ok and col in r else "failed"
            near = [v for (T, p), v in global_k.items()
                    if p == pair and abs(T - float(r["temperature_K"])) < 2.0]
            row += [value, fmt(near[0]) if near else ""]
        row += ["", ""] if ok else [_cause(r), _failure(r)]
        rows.append(tuple(row))
    headers = ["experiment", "T (K)", "t_m (s)"]
    for pair in pairs:
        headers += [f"k_ex {pair} matrix log (s^-1)", f"k_ex {pair} global fit (s^-1)"]
    headers += ["cause", "failure"]
    out.append(Table(tuple(headers), tuple(rows),
                     "Perrin-Gipe matrix logarithm of each spectrum alone (start magnetisation "
                     "from the column sums extrapolated to t_m = 0), against the global fit. "
                     f"{matrix_log_causes(matrix_log)} Failures are reported, not patched; the "
                     "global fit does not use these numbers."))
    counts = _cause_counts(matrix_log)
    if counts:
        out.append(Table(("cause", "spectra", "meaning"),
                         tuple((c, str(n), CAUSES.get(c, "")) for c, n in counts.items()),
                         "Why the matrix logarithm failed, counted over the spectra."))
    return out


def _cause(row: pd.Series) -> str:
    """The ``cause`` of a failed row (older tables without the column: not classified)."""
    cause = row.get("cause")
    return str(cause) if isinstance(cause, str) and cause else "not classified"


def _failure(row: pd.Series) -> str:
    """The problem found, without the general meaning of its cause (in the causes table)."""
    reason = str(row.get("reason", ""))
    tail = f"; likely cause: {CAUSES.get(_cause(row), chr(0))}"
    return reason[:-len(tail)] if reason.endswith(tail) else reason


def _cause_counts(matrix_log: pd.DataFrame) -> dict[str, int]:
    """Number of failed spectra per cause, most frequent first."""
    failed = matrix_log[~matrix_log["ok"].astype(bool)]
    counts = Counter(_cause(r) for _, r in failed.iterrows())
    return dict(counts.most_common())


def matrix_log_causes(matrix_log: pd.DataFrame) -> str:
    """One sentence counting the failed spectra of a matrix-log table by cause.

    Parameters
    ----------
    matrix_log : pandas.DataFrame
        Output of :func:`exsyfit.kinetics.matrixlog.matrix_log_table` (or matrixlog.csv):
        columns ``ok`` and ``cause`` (see :data:`exsyfit.kinetics.matrixlog.CAUSES`).

    Returns
    -------
    str
        E.g. ``"3 of 20 spectra fail: noise 2, negative rate 1."``, or
        ``"All 20 spectra give rates."``.
    """
    n = len(matrix_log)
    counts = _cause_counts(matrix_log) if n else {}
    if not counts:
        return f"All {n} spectra give rates."
    n_fail = sum(counts.values())
    return (f"{n_fail} of {n} spectra fail: "
            + ", ".join(f"{c} {k}" for c, k in counts.items()) + ".")




def _figure_blocks(outdir: Path, figures: Sequence[str | Path], embed: bool) -> list[Block]:
    pngs = [Path(f) for f in figures if Path(f).suffix.lower() == ".png"]
    if not pngs:
        return []
    out: list[Block] = [Heading(2, "Figures")]
    for f in pngs:
        try:
            rel = f.resolve().relative_to(outdir.resolve()).as_posix()
        except ValueError:
            rel = f.resolve().as_posix()
        uri = None
        if embed and f.is_file():
            uri = "data:image/png;base64," + base64.b64encode(f.read_bytes()).decode("ascii")
        pdf = f.with_suffix(".pdf")
        kind = next((k for k in _FIGURE_CAPTIONS if f.stem.startswith(k)), None)
        cap = f.stem.replace("_", " ")
        if kind is not None:
            cap = f"{_FIGURE_CAPTIONS[kind]} — {f.stem}"
        if pdf.exists():
            cap += f" (vector: {pdf.name})"
        out.append(Image(rel, cap, uri))
    return out


def _merged_summary(result: FitResult, outdir: Path,
                    robustness: Mapping[str, Any] | None) -> dict[str, Any]:
    """The fit's summary dict completed by what summary.json in ``outdir`` adds.

    Keys written by other stages (``robustness``, ``warnings``, goodness-of-fit entries in
    ``diagnostics`` and per temperature) are taken from the file when the fit does not hold
    them; the fit's own numbers are never replaced.
    """
    summary = result.summary_dict()
    path = outdir / "summary.json"
    try:
        on_disk = json.loads(path.read_text(encoding="utf-8")) if path.is_file() else {}
    except (OSError, ValueError):
        on_disk = {}
    if not isinstance(on_disk, Mapping) or on_disk.get("sites", summary["sites"]) != \
            summary["sites"]:
        on_disk = {}
    for key, value in on_disk.items():
        summary.setdefault(key, value)
    summary["warnings"] = list(dict.fromkeys(
        [str(w) for w in summary.get("warnings", [])]
        + [str(w) for w in on_disk.get("warnings", []) or []]))
    disk_d = on_disk.get("diagnostics")
    if isinstance(disk_d, Mapping):
        for key, value in disk_d.items():
            summary["diagnostics"].setdefault(key, value)
    disk_t = on_disk.get("temperatures")
    if isinstance(disk_t, list) and len(disk_t) == len(summary["temperatures"]):
        for mine, theirs in zip(summary["temperatures"], disk_t, strict=True):
            if isinstance(theirs, Mapping):
                for key, value in theirs.items():
                    mine.setdefault(key, value)
    if robustness is not None:
        summary["robustness"] = dict(robustness)
    return summary


def collect_warnings(summary: Mapping[str, Any], integration: Any = None,
                     extra: Sequence[str] = ()) -> list[str]:
    """Every warning of every stage, once each, in the order the stages ran.

    Parameters
    ----------
    summary : mapping
        summary.json content (its ``warnings``).
    integration : mapping or IntegrationResult, optional
        Integration warnings (prefixed ``Integration:``).
    extra : sequence of str
        Further warnings.
    """
    if isinstance(integration, Mapping):
        integ = integration.get("warnings", []) or []
    else:
        integ = getattr(integration, "warnings", []) or []
    out = [f"Integration: {w}" for w in integ]
    out += [str(w) for w in summary.get("warnings", []) or []]
    out += [str(w) for w in extra]
    seen: dict[str, None] = {}
    for w in out:
        bare = w.removeprefix("Integration: ")
        if w not in seen and bare not in seen and f"Integration: {w}" not in seen:
            seen[w] = None
    return list(seen)


def _topic(warning: str) -> str:
    return next((name for name, rx in _TOPICS if rx.search(warning)), "")


def _warnings_for(warnings: Sequence[str], topic: str) -> list[Block]:
    return [Warning_(w) for w in warnings if _topic(w) == topic]


def _stat(value: Any) -> float | None:
    try:
        v = float(value)
    except (TypeError, ValueError):
        return None
    return v if np.isfinite(v) else None


def _goodness_blocks(result: FitResult, summary: Mapping[str, Any],
                     warnings: Sequence[str]) -> list[Block]:
    """chi²/dof and posterior-predictive p overall and per temperature; residuals per spectrum."""
    out: list[Block] = [Heading(2, "Goodness of fit")]
    d = summary["diagnostics"]
    per = residuals_per_spectrum(result)
    chi2 = _stat(d.get("chi2_reduced"))
    ppp = _stat(d.get("posterior_predictive_p"))
    n_par = len(result.problem.parameter_names)
    n_vol = len(result.problem.table)
    if chi2 is None:
        dof = max(n_vol - n_par, 1)
        chi2 = float(np.sum(per["chi2_per_volume"] * per["n"])) / dof
    text = (f"chi²_reduced = {fmt(chi2)} ({n_vol} volumes, {n_par} parameters; volumes "
            "against the posterior-median prediction with the table's sigma)")
    if ppp is not None:
        text += f"; posterior-predictive p = {fmt(ppp)}"
    verdict = ("the model describes the data within their uncertainties" if chi2 <= 2 and
               (ppp is None or ppp >= 0.01) else
               "the model does NOT describe the data within their uncertainties (chi²_reduced "
               "> 2 or p < 0.01): the sigma of the volumes is too small, or the model misses "
               "something (a site, a non-equilibrium start, spin diffusion, an integration "
               "artefact); the intervals above are too narrow")
    out.append(Para(f"{text}: {verdict}."))
    out += _warnings_for(warnings, "fit")
    rows = []
    temps = summary["temperatures"]
    for t, entry in enumerate(temps):
        sel = per["temperature_K"].sub(float(result.temperatures_K[t])).abs() < 1e-9
        z_t = per[sel]
        chi_t = _stat(entry.get("chi2_reduced"))
        p_t = _stat(entry.get("posterior_predictive_p"))
        n_t = int(z_t["n"].sum())
        per_vol = float(np.sum(z_t["chi2_per_volume"] * z_t["n"]) / max(n_t, 1))
        rows.append((fmt(entry["temperature_K"]), fmt(n_t),
                     fmt(chi_t) if chi_t is not None else "—",
                     fmt(p_t) if p_t is not None else "—", fmt(per_vol),
                     fmt(float(z_t["max_abs_z"].max())) if len(z_t) else "—"))
    out.append(Table(("T (K)", "volumes", "chi²_reduced", "posterior-predictive p",
                      "chi²/n", "max |z|"), tuple(rows),
                     "Per temperature: chi²_reduced and p as in summary.json (— when the fit "
                     "did not record them); chi²/n and max |z| from the standardised residuals "
                     "z = (volume − posterior-median model)/sigma."))
    first = ["experiment"] if "experiment" in per else []
    cols = first + ["temperature_K", "mixing_time_s", "n", "chi2_per_volume", "rms_z",
                    "max_abs_z", "worst_peak"]
    heads = {"experiment": "spectrum", "temperature_K": "T (K)", "mixing_time_s": "t_m (s)",
             "n": "volumes", "chi2_per_volume": "chi²/n", "rms_z": "rms z",
             "max_abs_z": "max |z|", "worst_peak": "peak of max |z|"}
    body = tuple(tuple(fmt(r[c]) if c != "worst_peak" else str(r[c]) for c in cols)
                 for _, r in per.head(200).iterrows())
    out.append(Table(tuple(heads[c] for c in cols), body,
                     "Standardised residuals per spectrum (about 1 for rms z when the model and "
                     "the sigma are right; |z| > 3 is rare by chance)."))
    return out


def _systematic_for(summary: Mapping[str, Any], key: str, pair: str) -> Any:
    rob = summary.get("robustness")
    if not isinstance(rob, Mapping):
        return None
    return _pick(rob.get(key), pair)


def _robustness_blocks(summary: Mapping[str, Any], warnings: Sequence[str]) -> list[Block]:
    rob = summary.get("robustness")
    if not isinstance(rob, Mapping):
        return []
    out: list[Block] = [Heading(2, "Robustness: systematic uncertainty")]
    variants = [v for v in rob.get("variants", []) or [] if isinstance(v, Mapping)]
    ea_sys = rob.get("Ea_eV_systematic")
    out.append(Para(
        f"The result was re-derived under {len(variants)} alternative defensible analysis "
        "choices. The systematic uncertainty is half the range of the variants' medians"
        + (f": Ea ± {fmt(ea_sys)} eV" if isinstance(ea_sys, int | float) else "")
        + ". Quote it beside the statistical interval (e.g. Ea = median [95 % interval] ± "
        "systematic)."))
    temps = [fmt(e["temperature_K"]) for e in summary["temperatures"]]
    rows = []
    for v in variants:
        ks = v.get("k_ex_per_s_median")
        if isinstance(ks, Mapping):
            ks = next(iter(ks.values()), None)
        k_txt = ", ".join(fmt(k) for k in ks) if isinstance(ks, list | tuple) else fmt(ks)
        ea = v.get("Ea_eV_median")
        ea_txt = (", ".join(f"{p}: {fmt(x)}" for p, x in ea.items())
                  if isinstance(ea, Mapping) else fmt(ea))
        rows.append((str(v.get("name", "")), str(v.get("what", "")), ea_txt, k_txt))
    if rows:
        out.append(Table(("variant", "what changes", "Ea median (eV)",
                          f"k_ex median (s^-1) at {', '.join(temps)} K"), tuple(rows)))
    out += _warnings_for(warnings, "robustness")
    return out


def _title(title: str | None, config_text: str | None) -> str:
    """The given title, else ``[report] title`` of the config as run, else the default."""
    if title:
        return str(title)
    if config_text:
        try:
            cfg_title = tomllib.loads(config_text).get("report", {}).get("title")
        except (tomllib.TOMLDecodeError, AttributeError):
            cfg_title = None
        if isinstance(cfg_title, str) and cfg_title.strip():
            return cfg_title.strip()
    return DEFAULT_TITLE


def build_report(result: FitResult, *, free: FitResult | None = None, comparison: Any = None,
                 config_text: str | None = None, config_path: str | Path | None = None,
                 input_files: Sequence[str | Path] = (), figures: Sequence[str | Path] = (),
                 integration: Any = None, acquisition: Any = None,
                 outdir: str | Path = ".", embed_images: bool = True,
                 matrix_log: pd.DataFrame | None = None, title: str | None = None,
                 robustness: Mapping[str, Any] | None = None,
                 warnings: Sequence[str] = ()) -> list[Block]:
    """The report as a list of blocks (see :func:`write_report` for the arguments)."""
    if config_text is None and config_path is not None and Path(config_path).is_file():
        config_text = Path(config_path).read_text(encoding="utf-8")
    summary = _merged_summary(result, Path(outdir), robustness)
    all_warnings = collect_warnings(summary, integration, warnings)
    sites = list(summary["sites"])
    pairs = list(summary.get("pairs", result.pairs))
    blocks: list[Block] = [Heading(1, _title(title, config_text))]
    blocks.append(Para(
        f"Sites: {', '.join(unicode_name(s) for s in sites)}; exchanging pairs: "
        f"{', '.join(pairs)}; temperature model: {summary['temperature_model']}; transport: "
        f"{summary.get('transport', 'first-order')}; "
        f"{summary.get('n_volumes', len(result.problem.y))} peak volumes at "
        f"{len(summary['temperatures'])} temperatures. All posterior numbers are those of "
        "summary.json (median and central credible intervals), rounded to four significant "
        "digits."))
    if all_warnings:
        blocks.append(Heading(2, f"Warnings ({len(all_warnings)})"))
        blocks += [Warning_(w) for w in all_warnings]
    elif not summary["diagnostics"].get("converged", False):
        blocks.append(Warning_("The sampler did not converge; see Sampler diagnostics."))
    blocks += _law_blocks(result, summary)
    blocks.append(Heading(2, "Per-temperature results"))
    blocks.append(_rates_table(summary, pairs))
    blocks.append(_sites_table(summary, sites))
    blocks += _warnings_for(all_warnings, "temperatures")
    blocks += _goodness_blocks(result, summary, all_warnings)
    blocks += _robustness_blocks(summary, all_warnings)
    linearity = []
    lin_src = free if free is not None else (result if result.temperature_model == "free"
                                             else None)
    if lin_src is not None and len(lin_src.temperatures_K) >= 2:
        from exsyfit.fit.compare import arrhenius_linearity

        linearity = [arrhenius_linearity(lin_src, pair=p) for p in lin_src.pairs]
    blocks += _comparison_blocks(comparison, linearity)
    blocks += _matrix_log_blocks(result, summary, matrix_log)
    blocks += _warnings_for(all_warnings, "matrix_log") if matrix_log is not None else []
    blocks += _diagnostics_blocks(result, summary)
    blocks += _warnings_for(all_warnings, "diagnostics")
    blocks += reporting_blocks(result, integration, acquisition)
    blocks += _figure_blocks(Path(outdir), figures, embed_images)
    blocks += provenance_blocks(result, config_text, config_path, input_files)
    return blocks


def write_report(outdir: str | Path, result: FitResult, *, free: FitResult | None = None,
                 comparison: Any = None, config_text: str | None = None,
                 config_path: str | Path | None = None,
                 input_files: Sequence[str | Path] = (), figures: Sequence[str | Path] = (),
                 integration: Any = None, acquisition: Any = None,
                 embed_images: bool = True,
                 matrix_log: pd.DataFrame | None = None, title: str | None = None,
                 robustness: Mapping[str, Any] | None = None,
                 warnings: Sequence[str] = ()) -> dict[str, Path]:
    """Write report.md and report.html into ``outdir`` (atomically).

    Parameters
    ----------
    outdir : path
        Output folder (created if needed); figure paths are written relative to it.  A
        summary.json there completes the fit's summary (robustness, warnings of every stage,
        goodness of fit).
    result : FitResult
        The main fit; its numbers are those of summary.json.
    free : FitResult, optional
        A free-model fit of the same data, for the Arrhenius linearity check.
    comparison : pandas.DataFrame, optional
        Output of :func:`exsyfit.fit.compare.compare_models`.
    config_text : str, optional
        The configuration as run (TOML); read from ``config_path`` when not given.
    config_path : path, optional
        The config file (its checksum is listed with the inputs).
    input_files : sequence of path
        Volume table, spectrum folders, ... whose SHA-256 is recorded.
    figures : sequence of path
        Figure files (e.g. from :func:`exsyfit.output.figures.make_figures`); the PNGs are shown.
    integration : mapping or IntegrationResult, optional
        Integration method, region sizes, baseline, sideband handling and warnings.
    acquisition : mapping or pandas.DataFrame, optional
        Acquisition parameters (nucleus, field, MAS rate, scans, recycle delay, probe, pulse
        program, phases, temperature calibration, ...), or a table with one row per
        experiment (experiments.csv).  Missing items are reported as "not recorded" (or "not
        available (volume table input)" without any acquisition information).
    embed_images : bool
        Inline the PNGs in the HTML (base64 data URIs, the default) so it opens offline and
        can be moved or e-mailed on its own; report.md links the files.
    matrix_log : pandas.DataFrame, optional
        Output of :func:`exsyfit.kinetics.matrixlog.matrix_log_table`, shown beside the global fit.
    title : str, optional
        Title of the report; default the ``[report] title`` of the config, else
        "exsyfit report".
    robustness : mapping, optional
        The ``robustness`` entry of summary.json (variants and systematic uncertainties);
        read from ``outdir/summary.json`` when not given.
    warnings : sequence of str
        Further warnings to show at the top.

    Returns
    -------
    dict
        ``{"markdown": path, "html": path}``.
    """
    outdir = Path(outdir)
    outdir.mkdir(parents=True, exist_ok=True)
    blocks = build_report(result, free=free, comparison=comparison, config_text=config_text,
                          config_path=config_path, input_files=input_files, figures=figures,
                          integration=integration, acquisition=acquisition, outdir=outdir,
                          embed_images=embed_images, matrix_log=matrix_log, title=title,
                          robustness=robustness, warnings=warnings)
    paths = {"markdown": outdir / "report.md", "html": outdir / "report.html"}
    md_blocks = [Image(b.path, b.caption) if isinstance(b, Image) else b for b in blocks]
    title_text = blocks[0].text if isinstance(blocks[0], Heading) else DEFAULT_TITLE
    write_text_atomic(paths["markdown"], to_markdown(md_blocks))
    write_text_atomic(paths["html"], to_html(blocks, title=title_text))
    return paths
