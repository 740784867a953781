"""The analysis report: report.md and a self-contained report.html with provenance.

Both files are rendered from one list of blocks (headings, paragraphs, tables, warnings, code,
images), so they hold the same numbers, and every posterior number is taken from
:meth:`FitResult.summary_dict` — the content of summary.json — formatted with four significant
digits.  The report follows what a careful analyst reports for 2D EXSY kinetics:
acquisition, processing and integration, model equations and priors, which rate is
reported, posterior summaries with intervals, the cross-peak symmetry check, the Arrhenius
parameters with their correlation, sampler diagnostics, model comparison and provenance
(versions, the config as run, SHA-256 checksums of the inputs, seed, date).
"""

from __future__ import annotations

import base64
import datetime as _dt
import hashlib
import html
import importlib.metadata
import math
import platform
import sys
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from exsyfit import __version__
from exsyfit.files import write_text_atomic

if TYPE_CHECKING:  # pragma: no cover
    from exsyfit.fit.results import FitResult

__all__ = ["write_report", "build_report", "file_sha256", "dependency_versions", "fmt"]

NOT_AVAILABLE = "not available (volume table input)"
NOT_RECORDED = "not recorded"
_FIGURE_CAPTIONS = {
    "arrhenius": "Arrhenius plot: per-temperature posteriors (68 % and 95 % bars) and the "
                 "global law with its 95 % credible band",
    "eyring": "Eyring plot, ln(k/T) against 1000/T",
    "buildup": "Build-up curves: observed volumes (±σ), posterior median and 95 % band of the "
               "model, residuals/σ",
    "corner": "Posterior of the global parameters (contours at 1 and 2 σ)",
    "parameters_vs_temperature": "Populations and T1 against temperature",
    "integration": "Integration regions on the spectrum",
}
DEPENDENCIES = ("numpy", "scipy", "pandas", "matplotlib", "emcee", "arviz", "nmrglue", "corner",
                "xarray", "h5netcdf")


# --------------------------------------------------------------------------------------------
# Blocks
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Heading:
    level: int
    text: str


@dataclass(frozen=True)
class Para:
    text: str


@dataclass(frozen=True)
class Warning_:
    text: str


@dataclass(frozen=True)
class Table:
    headers: tuple[str, ...]
    rows: tuple[tuple[str, ...], ...]
    caption: str = ""


@dataclass(frozen=True)
class Code:
    text: str
    language: str = ""


@dataclass(frozen=True)
class Image:
    path: str
    caption: str
    data_uri: str | None = None


Block = Heading | Para | Warning_ | Table | Code | Image


def fmt(value: Any) -> str:
    """Format a number with four significant digits (``'nan'`` for non-finite values)."""
    if value is None:
        return "—"
    if isinstance(value, bool | np.bool_):
        return "yes" if value else "no"
    if isinstance(value, int | np.integer):
        return str(int(value))
    try:
        v = float(value)
    except (TypeError, ValueError):
        return str(value)
    if not math.isfinite(v):
        return "nan" if math.isnan(v) else ("inf" if v > 0 else "-inf")
    return f"{v:.4g}"


def _ci(stats: Mapping[str, float]) -> str:
    """'median [q025, q975]'."""
    return f"{fmt(stats['median'])} [{fmt(stats['q025'])}, {fmt(stats['q975'])}]"


def _ci68(stats: Mapping[str, float]) -> str:
    return f"[{fmt(stats['q16'])}, {fmt(stats['q84'])}]"


# --------------------------------------------------------------------------------------------
# Provenance helpers
# --------------------------------------------------------------------------------------------


def file_sha256(path: str | Path) -> str:
    """SHA-256 of a file, or of a folder (sorted relative paths and contents of its files).

    Parameters
    ----------
    path : path
        File or folder (e.g. a Bruker experiment folder).

    Returns
    -------
    str
        Hex digest; ``"missing"`` when the path does not exist.
    """
    path = Path(path)
    h = hashlib.sha256()
    if path.is_file():
        with open(path, "rb") as fh:
            for chunk in iter(lambda: fh.read(1 << 20), b""):
                h.update(chunk)
        return h.hexdigest()
    if path.is_dir():
        for f in sorted(p for p in path.rglob("*") if p.is_file()):
            h.update(str(f.relative_to(path).as_posix()).encode() + b"\0")
            with open(f, "rb") as fh:
                for chunk in iter(lambda fh=fh: fh.read(1 << 20), b""):
                    h.update(chunk)
        return h.hexdigest()
    return "missing"


def dependency_versions() -> dict[str, str]:
    """Installed versions of Python, exsyfit and its main dependencies."""
    out = {"python": sys.version.split()[0], "platform": platform.platform(),
           "exsyfit": __version__}
    for name in DEPENDENCIES:
        try:
            out[name] = importlib.metadata.version(name)
        except importlib.metadata.PackageNotFoundError:
            out[name] = "not installed"
    return out


# --------------------------------------------------------------------------------------------
# Sections
# --------------------------------------------------------------------------------------------


def _rates_table(summary: Mapping[str, Any], pairs: Sequence[str]) -> Table:
    entries = summary["temperatures"]
    directions = list(entries[0]["k_per_s"])
    headers = ["T (K)"]
    if len(pairs) == 1:
        headers.append("k_ex (s^-1)")
    else:
        headers += [f"k_ex {p} (s^-1)" for p in pairs]
    headers += [f"k {d} (s^-1)" for d in directions]
    rows = []
    for e in entries:
        row = [fmt(e["temperature_K"])]
        if len(pairs) == 1:
            row.append(_ci(e["k_ex_per_s"]))
        else:
            row += [_ci(e["k_ex_per_s"][p]) for p in pairs]
        row += [_ci(e["k_per_s"][d]) for d in directions]
        rows.append(tuple(row))
    return Table(tuple(headers), tuple(rows),
                 "Exchange rates: posterior median [95 % credible interval].")


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
    for pair in pairs:
        for key, label in keys:
            if key in summary:
                s = _pick(summary[key], pair)
                rows.append((pair, label, fmt(s["median"]), _ci68(s),
                             f"[{fmt(s['q025'])}, {fmt(s['q975'])}]"))
        if "Ea_lnA_correlation" in summary:
            c = _pick(summary["Ea_lnA_correlation"], pair)
            rows.append((pair, "correlation(Ea, ln A)", fmt(c), "", ""))
    out.append(Table(("pair", "quantity", "median", "68 % interval", "95 % interval"),
                     tuple(rows), "Global temperature law (posterior)."))
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
    for w in summary.get("warnings", []):
        out.append(Warning_(str(w)))
    return out


def _symmetry_check(result: FitResult) -> tuple[Table | None, str]:
    """V_ij - V_ji of every cross-peak pair, in units of its standard deviation."""
    if result.problem.spec.start != "equilibrium":
        return None, ("Cross-peak symmetry is not expected for a non-equilibrium start "
                      f"(model.start = '{result.problem.spec.start}'); not checked.")
    tab = result.problem.table
    key = ["temperature_index", "mixing_time_s"]
    sites = result.sites
    rows = []
    all_z = []
    for a in range(len(sites)):
        for b in range(a + 1, len(sites)):
            ab = tab[(tab["from_site"] == sites[a]) & (tab["to_site"] == sites[b])]
            ba = tab[(tab["from_site"] == sites[b]) & (tab["to_site"] == sites[a])]
            m = ab.groupby(key)[["volume", "sigma"]].mean().merge(
                ba.groupby(key)[["volume", "sigma"]].mean(), left_index=True,
                right_index=True, suffixes=("_ab", "_ba"), how="inner")
            if m.empty:
                continue
            z = ((m["volume_ab"] - m["volume_ba"])
                 / np.sqrt(m["sigma_ab"] ** 2 + m["sigma_ba"] ** 2)).to_numpy(float)
            all_z.append(z)
            rows.append((f"{sites[a]}→{sites[b]} vs {sites[b]}→{sites[a]}", fmt(len(z)),
                         fmt(float(np.mean(z))), fmt(float(np.sqrt(np.mean(z**2)))),
                         fmt(float(np.max(np.abs(z))))))
    if not rows:
        return None, "No pair of cross peaks was measured; symmetry not checked."
    z = np.concatenate(all_z)
    verdict = ("consistent with V_AB = V_BA (rms below 2 sigma)"
               if np.sqrt(np.mean(z**2)) < 2 else
               "cross peaks are asymmetric beyond the noise: check integration, sidebands, "
               "a non-equilibrium start (cross polarisation, short recycle delay) or a third "
               "site")
    table = Table(("cross-peak pair", "spectra", "mean z", "rms z", "max |z|"), tuple(rows),
                  "Symmetry check: z = (V_ij − V_ji)/sqrt(σ_ij² + σ_ji²); for an equilibrium "
                  "start V_ij = V_ji whatever the T1 values.")
    return table, verdict


def _model_text(result: FitResult) -> str:
    spec = result.problem.spec
    lines = [
        "Longitudinal Bloch–McConnell model: d(ΔM)/dt = −L ΔM with "
        "L[i,i] = R1_i + Σ_m K[m,i], L[i,j] = −K[i,j]; mixing matrix A(t_m) = expm(−L t_m); "
        "peak volume V[i,j] = c_T · A[i,j](t_m) · M_j(0) (i = detected F2 site, j = started F1 "
        "site); one intensity scale c_T per temperature.",
        "Detailed balance p_i K[j,i] = p_j K[i,j] is built in: each pair carries k_ex = "
        "k_ij + k_ji, with k_i→j = k_ex p_j/(p_i + p_j).",
    ]
    if spec.transport != "first-order":
        lines.append(f"Transport: diffusion-limited uptake into '{spec.transport}' particles; "
                     "k_ex is the rate of the slowest uptake mode (pi² D/L² sphere, pi² D/(4L²) "
                     "slab, s^-1); D requires the particle length scale.")
    if spec.temperature_model == "arrhenius":
        lines.append("Arrhenius law: k_ex(T) = A exp(−Ea/(k_B T)), Ea in eV.")
    elif spec.temperature_model == "eyring":
        lines.append("Eyring law: k_ex(T) = (k_B T/h) exp(ΔS‡/R) exp(−ΔH‡/(R T)).")
    else:
        lines.append("Free model: an independent k_ex at each temperature.")
    if spec.spin_diffusion:
        lines.append("A temperature-independent spin-diffusion rate k_sd is added to k_ex.")
    if spec.fractional_error:
        lines.append("Likelihood: Gaussian, variance σ² + (f V_model)² with a fitted f.")
    else:
        lines.append("Likelihood: independent Gaussian errors σ (the table's sigma column) "
                     "on the volumes; the intensity scale of each temperature is integrated "
                     "out analytically with a flat prior.")
    return " ".join(lines)


def _priors_rows(result: FitResult) -> list[tuple[str, str]]:
    spec = result.problem.spec
    pri = spec.priors
    rows = [("exchange rates", f"log-uniform on k_ex in [{fmt(pri.k_ex_per_s[0])}, "
                               f"{fmt(pri.k_ex_per_s[1])}] s^-1")]
    if spec.temperature_model == "arrhenius":
        rows.append(("Ea", f"uniform in [{fmt(pri.Ea_eV[0])}, {fmt(pri.Ea_eV[1])}] eV"))
    if spec.temperature_model == "eyring":
        rows.append(("ΔH‡", f"uniform in [{fmt(pri.dH_kJ_per_mol[0])}, "
                            f"{fmt(pri.dH_kJ_per_mol[1])}] kJ/mol"))
    if spec.spin_diffusion:
        rows.append(("k_sd", f"uniform in [{fmt(pri.spin_diffusion_per_s[0])}, "
                             f"{fmt(pri.spin_diffusion_per_s[1])}] s^-1"))
    def t1_text(t1: Any) -> str:
        if t1 is None:
            return (f"uniform in R1 = 1/T1 (T1 in [{fmt(pri.T1_s[0])}, {fmt(pri.T1_s[1])}] s)")
        if isinstance(t1, float):
            return f"fixed at {fmt(t1)} s"
        return f"normal({fmt(t1.mean)}, {fmt(t1.sd)}) s"

    for site in spec.sites:
        p = site.population
        p_txt = ("uniform on the simplex" if p is None else f"fixed at {fmt(p)}"
                 if isinstance(p, float) else f"normal({fmt(p.mean)}, {fmt(p.sd)})")
        t1_txt = t1_text(site.T1_s)
        by_t = getattr(site, "T1_s_by_temperature", {})
        if by_t:
            t1_txt += "; at " + ", ".join(f"{T:g} K: {t1_text(v)}" for T, v in by_t.items())
        rows.append((f"site {site.name}",
                     f"population {p_txt} ({spec.populations}); T1 {t1_txt} ({spec.T1})"))
    return rows


def _as_mapping(obj: Any) -> dict[str, Any]:
    if obj is None:
        return {}
    if isinstance(obj, Mapping):
        return dict(obj)
    out = {}
    for name in ("method", "choices", "warnings"):
        if hasattr(obj, name):
            out[name] = getattr(obj, name)
    table = getattr(obj, "table", None)
    if isinstance(table, pd.DataFrame):
        for col in ("half_width_f1_ppm", "half_width_f2_ppm", "baseline",
                    "n_sideband_regions", "noise_direction"):
            if col in table:
                vals = pd.unique(table[col].dropna())
                out[col] = ", ".join(fmt(v) for v in vals[:8]) + (" …" if len(vals) > 8 else "")
    return out


def _acquisition_summary(acq: Any) -> tuple[dict[str, str], pd.DataFrame | None]:
    """Key -> value text, and the full experiment table when one was given."""
    if acq is None:
        return {}, None
    if isinstance(acq, pd.DataFrame):
        out = {}
        for col in acq.columns:
            vals = pd.unique(acq[col].dropna())
            if 0 < len(vals) <= 6:
                out[str(col)] = ", ".join(fmt(v) for v in vals)
            elif len(vals) > 6:
                num = pd.to_numeric(pd.Series(vals), errors="coerce")
                out[str(col)] = (f"{fmt(num.min())}–{fmt(num.max())} ({len(vals)} values)"
                                 if num.notna().all() else f"{len(vals)} different values")
        return out, acq
    return {str(k): (", ".join(fmt(x) for x in v) if isinstance(v, list | tuple) else fmt(v))
            for k, v in dict(acq).items()}, None


_CHECKLIST = (
    ("nucleus", ("nucleus",)),
    ("magnetic field / spectrometer frequency", ("field_T", "B0_T", "sf_mhz", "sfo1_mhz",
                                                 "spectrometer_frequency_mhz", "field")),
    ("MAS rate (Hz)", ("mas_rate_hz", "mas_rate", "spinning_rate_hz")),
    ("rotor size", ("rotor", "rotor_mm", "rotor_size_mm")),
    ("pulse sequence", ("pulse_program", "pulse_sequence")),
    ("number of scans", ("scans", "ns")),
    ("recycle delay (s)", ("recycle_delay_s", "d1_s")),
    ("set temperature (K)", ("set_temperature_K", "temperature_set_K")),
    ("temperature calibration (method, uncertainty)", ("temperature_calibration",
                                                       "temperature_source", "calibration")),
)


def _reporting_blocks(result: FitResult, integration: Any, acquisition: Any) -> list[Block]:
    out: list[Block] = [Heading(2, "What was measured and how it was analysed")]
    acq, acq_table = _acquisition_summary(acquisition)
    integ = _as_mapping(integration)
    rows: list[tuple[str, str]] = []
    missing_acq = NOT_RECORDED if acquisition is not None else NOT_AVAILABLE
    missing_int = NOT_RECORDED if integration is not None else NOT_AVAILABLE
    for label, keys in _CHECKLIST:
        value = next((acq[k] for k in keys if k in acq), None)
        rows.append((label, value if value is not None else missing_acq))
    T = result.temperatures_K
    sig = result.problem.temperature_sigma_K
    t_txt = ", ".join(fmt(t) for t in T) + " K"
    if np.any(np.asarray(sig) > 0):
        t_txt += f" (1-sigma uncertainty {', '.join(fmt(s) for s in sig)} K, propagated)"
    rows.append(("sample temperatures used in the fit", t_txt))
    tm = np.unique(result.problem.table["mixing_time_s"].to_numpy(float))
    rows.append(("mixing times (s)", ", ".join(fmt(t) for t in tm)))
    rows.append(("integration method", fmt(integ["method"]) if "method" in integ
                 else missing_int))
    region = [f"{k} = {integ[k]}" for k in ("half_width_f1_ppm", "half_width_f2_ppm",
                                            "half_width_ppm", "baseline") if k in integ]
    rows.append(("integration regions / baseline", "; ".join(region) if region
                 else missing_int))
    sb = [f"{k} = {integ[k]}" for k in ("sidebands", "n_sideband_regions", "mas_rate_hz",
                                        "f1_rotor_synchronised") if k in integ]
    rows.append(("spinning-sideband handling", "; ".join(sb) if sb else missing_int))
    rows.append(("starting magnetisation", result.problem.spec.start))
    rows.append(("reported rate", "k_ex = k_AB + k_BA of each pair (s^-1), with both "
                 "directional rates k_X→Y (per spin on X, s^-1) and the populations p(T)"))
    out.append(Table(("item", "value"), tuple(rows)))
    shown = {k for _, keys in _CHECKLIST for k in keys}
    extra = [(k, v) for k, v in acq.items() if k not in shown]
    if extra:
        out.append(Table(("acquisition parameter", "value(s)"), tuple(extra)))
    if acq_table is not None:
        head = acq_table.head(60)
        out.append(Table(tuple(str(c) for c in head.columns),
                         tuple(tuple(fmt(v) for v in r) for r in head.itertuples(index=False)),
                         "Experiments" + (" (first 60)" if len(acq_table) > 60 else "") + "."))
    other = [(k, fmt(v) if not isinstance(v, Mapping | list) else str(v))
             for k, v in integ.items() if k not in ("method", "warnings")]
    if other:
        out.append(Table(("integration setting", "value"), tuple(other)))
    for w in integ.get("warnings", []) or []:
        out.append(Warning_(f"Integration: {w}"))
    out.append(Heading(3, "Model"))
    out.append(Para(_model_text(result)))
    out.append(Table(("parameter", "prior"), tuple(_priors_rows(result)), "Priors."))
    table, verdict = _symmetry_check(result)
    out.append(Heading(3, "Cross-peak symmetry"))
    if table is not None:
        out.append(table)
    out.append(Para(verdict))
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
        row.append("" if ok else str(r["reason"]))
        rows.append(tuple(row))
    headers = ["experiment", "T (K)", "t_m (s)"]
    for pair in pairs:
        headers += [f"k_ex {pair} matrix log (s^-1)", f"k_ex {pair} global fit (s^-1)"]
    headers.append("failure")
    n_fail = int((~matrix_log["ok"].astype(bool)).sum())
    out.append(Table(tuple(headers), tuple(rows),
                     "Perrin-Gipe matrix logarithm of each spectrum alone (start magnetisation "
                     "from the column sums extrapolated to t_m = 0), against the global fit. "
                     f"{n_fail} of {len(matrix_log)} spectra fail (negative or complex "
                     "eigenvalues, or negative rates): they are reported, not patched. The "
                     "global fit does not use these numbers."))
    return out


def _provenance_blocks(result: FitResult, config_text: str | None,
                       config_path: str | Path | None, input_files: Sequence[str | Path],
                       ) -> list[Block]:
    out: list[Block] = [Heading(2, "Provenance")]
    now = _dt.datetime.now(_dt.UTC).replace(microsecond=0).isoformat()
    versions = dependency_versions()
    rows = [("date (UTC)", now), ("seed", fmt(result.seed))]
    rows += [(f"{k} version" if k not in ("platform",) else k, v) for k, v in versions.items()]
    out.append(Table(("item", "value"), tuple(rows)))
    files = list(input_files)
    if config_path is not None:
        files = [config_path] + [f for f in files if Path(f) != Path(config_path)]
    if files:
        out.append(Table(("input", "SHA-256"), tuple((str(f), file_sha256(f)) for f in files),
                         "Checksums of the inputs (folders: over sorted file names and "
                         "contents)."))
    if config_text is None and config_path is not None and Path(config_path).is_file():
        config_text = Path(config_path).read_text(encoding="utf-8")
    out.append(Heading(3, "Configuration as run"))
    out.append(Code(config_text, "toml") if config_text else Para("not given"))
    return out


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


def build_report(result: FitResult, *, free: FitResult | None = None, comparison: Any = None,
                 config_text: str | None = None, config_path: str | Path | None = None,
                 input_files: Sequence[str | Path] = (), figures: Sequence[str | Path] = (),
                 integration: Any = None, acquisition: Any = None,
                 outdir: str | Path = ".", embed_images: bool = False,
                 matrix_log: pd.DataFrame | None = None) -> list[Block]:
    """The report as a list of blocks (see :func:`write_report` for the arguments)."""
    summary = result.summary_dict()
    sites = list(summary["sites"])
    pairs = list(summary.get("pairs", result.pairs))
    blocks: list[Block] = [Heading(1, "exsyfit report")]
    blocks.append(Para(
        f"Sites: {', '.join(sites)}; exchanging pairs: {', '.join(pairs)}; temperature model: "
        f"{summary['temperature_model']}; transport: {summary.get('transport', 'first-order')}; "
        f"{summary.get('n_volumes', len(result.problem.y))} peak volumes at "
        f"{len(summary['temperatures'])} temperatures. All posterior numbers are those of "
        "summary.json (median and central credible intervals), rounded to four significant "
        "digits."))
    if not summary["diagnostics"].get("converged", False):
        blocks.append(Warning_("The sampler did not converge; see Sampler diagnostics."))
    blocks += _law_blocks(result, summary)
    blocks.append(Heading(2, "Per-temperature results"))
    blocks.append(_rates_table(summary, pairs))
    blocks.append(_sites_table(summary, sites))
    linearity = []
    lin_src = free if free is not None else (result if result.temperature_model == "free"
                                             else None)
    if lin_src is not None and len(lin_src.temperatures_K) >= 2:
        from exsyfit.fit.compare import arrhenius_linearity

        linearity = [arrhenius_linearity(lin_src, pair=p) for p in lin_src.pairs]
    blocks += _comparison_blocks(comparison, linearity)
    blocks += _matrix_log_blocks(result, summary, matrix_log)
    blocks += _diagnostics_blocks(result, summary)
    blocks += _reporting_blocks(result, integration, acquisition)
    blocks += _figure_blocks(Path(outdir), figures, embed_images)
    blocks += _provenance_blocks(result, config_text, config_path, input_files)
    return blocks


# --------------------------------------------------------------------------------------------
# Rendering
# --------------------------------------------------------------------------------------------


def _md_cell(text: str) -> str:
    return str(text).replace("|", "\\|").replace("\n", " ")


def to_markdown(blocks: Sequence[Block]) -> str:
    """Render blocks as GitHub-flavoured Markdown."""
    out: list[str] = []
    for b in blocks:
        if isinstance(b, Heading):
            out.append("#" * b.level + " " + b.text)
        elif isinstance(b, Para):
            out.append(b.text)
        elif isinstance(b, Warning_):
            out.append(f"> **Warning:** {b.text}")
        elif isinstance(b, Table):
            lines = ["| " + " | ".join(_md_cell(h) for h in b.headers) + " |",
                     "|" + "|".join("---" for _ in b.headers) + "|"]
            lines += ["| " + " | ".join(_md_cell(c) for c in r) + " |" for r in b.rows]
            if b.caption:
                lines.append("")
                lines.append(f"*{b.caption}*")
            out.append("\n".join(lines))
        elif isinstance(b, Code):
            out.append(f"```{b.language}\n{b.text.rstrip()}\n```")
        elif isinstance(b, Image):
            out.append(f"![{Path(b.path).stem}]({b.path})\n\n*{b.caption}*")
    return "\n\n".join(out) + "\n"


_CSS = """
body{font-family:system-ui,-apple-system,'Segoe UI',Helvetica,Arial,sans-serif;max-width:60em;
margin:2em auto;padding:0 1em;color:#222;line-height:1.45}
h1,h2,h3{line-height:1.2} h2{border-bottom:1px solid #ccc;padding-bottom:.2em;margin-top:1.8em}
table{border-collapse:collapse;margin:.8em 0;font-size:.92em}
th,td{border:1px solid #ccc;padding:.25em .6em;text-align:left;vertical-align:top}
th{background:#f2f2f2} caption{caption-side:bottom;text-align:left;font-style:italic;
color:#555;padding-top:.3em}
.warning{background:#fff3cd;border-left:5px solid #d55e00;padding:.6em 1em;margin:1em 0}
pre{background:#f6f8fa;padding:.8em;overflow:auto;font-size:.88em}
figure{margin:1.2em 0} figure img{max-width:100%;height:auto}
figcaption{font-style:italic;color:#555}
""".strip()


def to_html(blocks: Sequence[Block], title: str = "exsyfit report") -> str:
    """Render blocks as a self-contained HTML page (inline CSS; images by path or inlined)."""
    esc = html.escape
    body: list[str] = []
    for b in blocks:
        if isinstance(b, Heading):
            body.append(f"<h{b.level}>{esc(b.text)}</h{b.level}>")
        elif isinstance(b, Para):
            body.append(f"<p>{esc(b.text)}</p>")
        elif isinstance(b, Warning_):
            body.append(f'<div class="warning"><strong>Warning:</strong> {esc(b.text)}</div>')
        elif isinstance(b, Table):
            cap = f"<caption>{esc(b.caption)}</caption>" if b.caption else ""
            head = "".join(f"<th>{esc(h)}</th>" for h in b.headers)
            rows = "".join("<tr>" + "".join(f"<td>{esc(c)}</td>" for c in r) + "</tr>"
                           for r in b.rows)
            body.append(f"<table>{cap}<thead><tr>{head}</tr></thead><tbody>{rows}</tbody>"
                        "</table>")
        elif isinstance(b, Code):
            body.append(f"<pre><code>{esc(b.text)}</code></pre>")
        elif isinstance(b, Image):
            src = b.data_uri or b.path
            body.append(f'<figure><img src="{esc(src)}" alt="{esc(b.caption)}">'
                        f"<figcaption>{esc(b.caption)}</figcaption></figure>")
    return ("<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n"
            f"<meta name=\"generator\" content=\"exsyfit {esc(__version__)}\">\n"
            f"<title>{esc(title)}</title>\n<style>\n{_CSS}\n</style>\n</head>\n<body>\n"
            + "\n".join(body) + "\n</body>\n</html>\n")


def write_report(outdir: str | Path, result: FitResult, *, free: FitResult | None = None,
                 comparison: Any = None, config_text: str | None = None,
                 config_path: str | Path | None = None,
                 input_files: Sequence[str | Path] = (), figures: Sequence[str | Path] = (),
                 integration: Any = None, acquisition: Any = None,
                 embed_images: bool = False,
                 matrix_log: pd.DataFrame | None = None) -> dict[str, Path]:
    """Write report.md and report.html into ``outdir`` (atomically).

    Parameters
    ----------
    outdir : path
        Output folder (created if needed); figure paths are written relative to it.
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
        Acquisition parameters (nucleus, field, MAS rate, scans, recycle delay, temperature
        calibration, ...), or a table with one row per experiment.  Missing items are
        reported as "not available (volume table input)".
    embed_images : bool
        Inline the PNGs in the HTML (base64) so it can be moved on its own.
    matrix_log : pandas.DataFrame, optional
        Output of :func:`exsyfit.kinetics.matrixlog.matrix_log_table`, shown beside the global fit.

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
                          embed_images=embed_images, matrix_log=matrix_log)
    paths = {"markdown": outdir / "report.md", "html": outdir / "report.html"}
    md_blocks = [Image(b.path, b.caption) if isinstance(b, Image) else b for b in blocks]
    write_text_atomic(paths["markdown"], to_markdown(md_blocks))
    write_text_atomic(paths["html"], to_html(blocks))
    return paths
