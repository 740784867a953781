"""Report sections on how the numbers were obtained: acquisition, integration, model, priors,
the cross-peak symmetry check and provenance (versions, checksums, the config as run).

Acquisition facts come from the experiment table (experiments.csv: one row per spectrum, with
the header values of the vendor files) or a mapping; every item of the checklist a referee
asks for is listed, with "not recorded" when the files did not hold it.  A temperature that is
the spectrometer's set value is said to be uncalibrated.
"""

from __future__ import annotations

import datetime as _dt
import hashlib
import importlib.metadata
import platform
import sys
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from exsyfit import __version__
from exsyfit.output.labels import nucleus_unicode, unicode_name
from exsyfit.output.report_render import Block, Code, Heading, Para, Table, Warning_, fmt

if TYPE_CHECKING:  # pragma: no cover
    from exsyfit.fit.results import FitResult

__all__ = ["file_sha256", "dependency_versions", "NOT_AVAILABLE", "NOT_RECORDED",
           "symmetry_check", "reporting_blocks", "provenance_blocks",
           "site_positions_table"]

NOT_AVAILABLE = "not available (volume table input)"
NOT_RECORDED = "not recorded"
DEPENDENCIES = ("numpy", "scipy", "pandas", "matplotlib", "emcee", "arviz", "nmrglue", "corner",
                "xarray", "h5netcdf")


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



def symmetry_check(result: FitResult) -> tuple[Table | None, str]:
    """Cross-peak symmetry of every pair, with the statistic of the integration checks.

    Uses :func:`exsyfit.integrate.checks.cross_peak_symmetry` on the fitted volume table (one
    z per temperature and mixing time), so the numbers are those of the integration warnings.
    """
    from exsyfit.integrate.checks import cross_peak_symmetry

    if result.problem.spec.start != "equilibrium":
        return None, ("Cross-peak symmetry is not expected for a non-equilibrium start "
                      f"(model.start = '{result.problem.spec.start}'); not checked.")
    tests = cross_peak_symmetry(result.problem.table, list(result.sites),
                                by=("temperature_index", "mixing_time_s"))
    if not tests:
        return None, "No pair of cross peaks was measured; symmetry not checked."
    rows = []
    for t in tests:
        a, b = unicode_name(t.site_a), unicode_name(t.site_b)
        rows.append((f"{a}→{b} vs {b}→{a}", fmt(t.z.size), f"{t.combined_z:+.2f}",
                     fmt(t.rms_z), fmt(t.max_abs_z), "yes" if t.asymmetric else "no"))
    bad = [t for t in tests if t.asymmetric]
    verdict = ("consistent with V_AB = V_BA (no spectrum beyond the threshold and the combined "
               "z within the warning level)" if not bad else
               "cross peaks are asymmetric beyond the noise: check integration, sidebands, "
               "a non-equilibrium start (cross polarisation, short recycle delay) or a third "
               "site")
    table = Table(("cross-peak pair", "spectra", "combined z = Σz/√n", "rms z", "max |z|",
                   "asymmetric"), tuple(rows),
                  "Symmetry check: z = (V_ij − V_ji)/sqrt(σ_ij² + σ_ji²) per spectrum; the "
                  "combined z is standard normal under symmetry (the statistic of the "
                  "integration warnings). For an equilibrium start V_ij = V_ji whatever the T1 "
                  "values.")
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
        out = dict(obj)
        options = out.pop("options", None)  # integration.json: the [integration] options
        if isinstance(options, Mapping):
            for k, v in options.items():
                out.setdefault(k, v)
        return out
    out = {}
    for name in ("method", "choices", "warnings"):
        if hasattr(obj, name):
            out[name] = getattr(obj, name)
    if callable(getattr(obj, "site_positions", None)):
        out["sites"] = obj.site_positions()
    table = getattr(obj, "table", None)
    if isinstance(table, pd.DataFrame):
        for col in ("half_width_f1_ppm", "half_width_f2_ppm", "baseline",
                    "n_sideband_regions", "noise_direction"):
            if col in table:
                vals = pd.unique(table[col].dropna())
                out[col] = ", ".join(fmt(v) for v in vals[:8]) + (" …" if len(vals) > 8 else "")
    return out


def _ppm_pair(entry: Mapping[str, Any], key: str) -> str:
    """``"F1 / F2"`` of ``<key>_f1_ppm`` and ``<key>_f2_ppm`` in ppm (3 decimals; — if absent)."""
    def one(v: Any) -> str:
        try:
            value = float(v)
        except (TypeError, ValueError):
            return "—"
        return f"{value:.3f}" if np.isfinite(value) else "—"

    return f"{one(entry.get(f'{key}_f1_ppm'))} / {one(entry.get(f'{key}_f2_ppm'))}"


def site_positions_table(sites: Any) -> Table | None:
    """The site positions used by the integration: configured, found and fitted, ppm.

    Parameters
    ----------
    sites : list of dict or None
        The ``sites`` entry of integration.json
        (:meth:`exsyfit.integrate.results.IntegrationResult.site_positions`).

    Returns
    -------
    Table or None
        One row per site and temperature group; None when nothing was recorded.
    """
    if not isinstance(sites, Sequence) or isinstance(sites, str) or not sites:
        return None
    rows = []
    for e in sites:
        if not isinstance(e, Mapping):
            continue
        configured = e.get("configured_ppm")
        rows.append((fmt(e.get("temperature_K")), unicode_name(str(e.get("site", ""))),
                     "—" if configured is None else f"{float(configured):.3f}",
                     _ppm_pair(e, "found"), _ppm_pair(e, "fitted"), _ppm_pair(e, "fwhm"),
                     _ppm_pair(e, "search")))
    if not rows:
        return None
    return Table(("T (K)", "site", "configured (ppm)", "found F1 / F2 (ppm)",
                  "fitted F1 / F2 (ppm)", "FWHM F1 / F2 (ppm)", "search ± F1 / F2 (ppm)"),
                 tuple(rows),
                 "Site positions of each temperature group: as configured, as found (maximum "
                 "of the nearest diagonal peak, within the search tolerance) and as fitted by "
                 "the line-shape fit (the positions the volumes use), with the fitted widths.")


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
    ("spinning (MAS or static)", ("spinning", "mas", "sample_spinning")),
    ("probe", ("probe", "probe_head", "probhd")),
    ("rotor size", ("rotor", "rotor_mm", "rotor_size_mm")),
    ("pulse sequence", ("pulse_program", "pulse_sequence", "pulprog")),
    ("number of scans", ("scans", "ns")),
    ("recycle delay (s)", ("recycle_delay_s", "d1_s", "d1")),
    ("processing phases (°)", ("phases", "phases_deg")),
    ("set temperature (K)", ("set_temperature_K", "temperature_set_K")),
    ("temperature calibration (method, uncertainty)", ("temperature_calibration",
                                                       "temperature_source", "calibration")),
)

# gyromagnetic ratio / 2 pi, MHz/T, of the nuclei of Li-ion conductors (for the field from SF)
_GAMMA_MHZ_PER_T = {"1H": 42.5774, "6Li": 6.2661, "7Li": 16.5483, "19F": 40.0776,
                    "23Na": 11.2688, "31P": 17.2515, "13C": 10.7084, "27Al": 11.1031,
                    "29Si": 8.4655, "17O": 5.7743, "2H": 6.5359, "11B": 13.6630}


def _field_text(acq: Mapping[str, str], table: pd.DataFrame | None) -> str | None:
    """``155.5 MHz (⁷Li), 9.40 T (400 MHz ¹H)`` from the nucleus and its frequency."""
    if table is None or "sf_mhz" not in table or "nucleus" not in table:
        return None
    pairs = table[["nucleus", "sf_mhz"]].dropna().drop_duplicates()
    out = []
    for nuc, sf in pairs.itertuples(index=False):
        gamma = _GAMMA_MHZ_PER_T.get(str(nuc))
        text = f"{float(sf):.2f} MHz ({nucleus_unicode(str(nuc))})"
        if gamma:
            b0 = float(sf) / gamma
            text += f", {b0:.2f} T ({b0 * _GAMMA_MHZ_PER_T['1H']:.0f} MHz ¹H)"
        out.append(text)
    return "; ".join(out[:4]) or None


def _uncalibrated(table: pd.DataFrame | None, acq: Mapping[str, str]) -> bool:
    """True when the temperatures are the spectrometer's set values, not calibrated ones."""
    src = table["temperature_source"].astype(str) if table is not None and \
        "temperature_source" in table else pd.Series([acq.get("temperature_source", "")])
    return bool(src.str.contains("uncalibrated", case=False).any())


def reporting_blocks(result: FitResult, integration: Any, acquisition: Any) -> list[Block]:
    out: list[Block] = [Heading(2, "What was measured and how it was analysed")]
    acq, acq_table = _acquisition_summary(acquisition)
    integ = _as_mapping(integration)
    rows: list[tuple[str, str]] = []
    missing_acq = NOT_RECORDED if acquisition is not None else NOT_AVAILABLE
    missing_int = NOT_RECORDED if integration is not None else NOT_AVAILABLE
    for label, keys in _CHECKLIST:
        value = next((acq[k] for k in keys if k in acq), None)
        if label.startswith("magnetic field"):
            value = _field_text(acq, acq_table) or value
        rows.append((label, value if value is not None else missing_acq))
    uncalibrated = _uncalibrated(acq_table, acq)
    T = result.temperatures_K
    sig = result.problem.temperature_sigma_K
    t_txt = ", ".join(fmt(t) for t in T) + " K"
    if np.any(np.asarray(sig) > 0):
        t_txt += f" (1-sigma uncertainty {', '.join(fmt(s) for s in sig)} K, propagated)"
    if uncalibrated:
        t_txt += " (uncalibrated: the spectrometer's set values)"
    rows.append(("sample temperatures used in the fit", t_txt))
    tm = np.unique(result.problem.table["mixing_time_s"].to_numpy(float))
    rows.append(("mixing times (s)", ", ".join(fmt(t) for t in tm)))
    rows.append(("integration method", fmt(integ["method"]) if "method" in integ
                 else missing_int))
    region = [f"{k} = {integ[k]}" for k in ("half_width_f1_ppm", "half_width_f2_ppm",
                                            "half_width_ppm", "half_width_fwhm", "baseline")
              if integ.get(k) is not None]
    rows.append(("integration regions / baseline", "; ".join(region) if region
                 else missing_int))
    sb = [f"{k} = {integ[k]}" for k in ("sidebands", "n_sideband_regions", "mas_rate_hz",
                                        "f1_rotor_synchronised")
          if integ.get(k) is not None]
    rows.append(("spinning-sideband handling", "; ".join(sb) if sb else missing_int))
    rows.append(("starting magnetisation", result.problem.spec.start))
    rows.append(("reported rate", "k_ex = k_AB + k_BA of each pair (s^-1), with both "
                 "directional rates k_X→Y (per spin on X, s^-1) and the populations p(T)"))
    out.append(Table(("item", "value"), tuple(rows)))
    if uncalibrated:
        out.append(Warning_(
            "The temperatures are the spectrometer's set values (uncalibrated): under MAS the "
            "sample is warmer by frictional heating, often by several K, which biases Ea. "
            "Calibrate (e.g. with the 207Pb shift of Pb(NO3)2 or the 79Br T1 of KBr) and give "
            "the calibration in the [temperature] table of the config."))
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
             for k, v in integ.items() if k not in ("method", "warnings", "sites")]
    if other:
        out.append(Table(("integration setting", "value"), tuple(other)))
    positions = site_positions_table(integ.get("sites"))
    if positions is not None:
        out.append(positions)
    for w in integ.get("warnings", []) or []:
        out.append(Warning_(f"Integration: {w}"))
    out.append(Heading(3, "Model"))
    out.append(Para(_model_text(result)))
    out.append(Table(("parameter", "prior"), tuple(_priors_rows(result)), "Priors."))
    table, verdict = symmetry_check(result)
    out.append(Heading(3, "Cross-peak symmetry"))
    if table is not None:
        out.append(table)
    out.append(Para(verdict))
    return out



def provenance_blocks(result: FitResult, config_text: str | None,
                       config_path: str | Path | None, input_files: Sequence[str | Path],
                       ) -> list[Block]:
    """Versions, input checksums and the configuration text (as read by the caller)."""
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
    out.append(Heading(3, "Configuration as run"))
    out.append(Code(config_text, "toml") if config_text else Para("not given"))
    return out
