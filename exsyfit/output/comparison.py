"""Several analyses on one Arrhenius axis, and their activation energies in one table.

The inputs are summary.json dicts (one per config, e.g. the samples of a paper), so a batch
can be compared without its posteriors.  Per-temperature points are the posterior medians of
k_ex with their 95 % intervals; the law of a global fit is its median line
``ln k = ln A − Ea/(k_B T)`` (Eyring: ``ln(k_B T/h) + ΔS‡/R − ΔH‡/(R T)``) with an approximate
95 % band from the Ea and ln A intervals and their correlation (a normal approximation of the
posterior: the summary holds quantiles, not draws).
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from exsyfit.kinetics.laws import KJ_PER_MOL_PER_EV, ln_k
from exsyfit.output.drawing import secondary_temperature_axis
from exsyfit.output.labels import text_escape, value_interval
from exsyfit.output.style import MARKERS, PlotStyle, new_figure

if TYPE_CHECKING:  # pragma: no cover
    from matplotlib.figure import Figure

__all__ = ["plot_arrhenius_comparison", "comparison_table"]

_STATS = ("median", "q025", "q16", "q84", "q975")


def _pick(value: Any, pair: str | None) -> Any:
    """The entry of ``pair`` in a value keyed by pair, or the value itself."""
    if isinstance(value, Mapping) and "median" not in value:
        if pair is not None and pair in value:
            return value[pair]
        return next(iter(value.values()), None) if value else None
    return value


def _pairs(summary: Mapping[str, Any]) -> list[str]:
    pairs = summary.get("pairs")
    if isinstance(pairs, list) and pairs:
        return [str(p) for p in pairs]
    sites = summary.get("sites") or ["A", "B"]
    return [f"{sites[0]}<->{sites[1]}"] if len(sites) >= 2 else ["?"]


def _points(summary: Mapping[str, Any], pair: str | None) -> pd.DataFrame:
    rows = []
    for entry in summary.get("temperatures", []) or []:
        k = _pick(entry.get("k_ex_per_s"), pair)
        if not isinstance(k, Mapping) or not all(s in k for s in ("median", "q025", "q975")):
            continue
        rows.append({"T": float(entry["temperature_K"]), **{s: float(k[s]) for s in
                                                             ("median", "q025", "q975")}})
    return pd.DataFrame(rows, columns=["T", "median", "q025", "q975"])


def _sd(stats: Mapping[str, float]) -> float:
    return 0.5 * (float(stats["q84"]) - float(stats["q16"]))


def _linear_law_band(law: str, T: np.ndarray, names: tuple[str, str],
                     stats: tuple[Mapping[str, Any], Mapping[str, Any]], rho: float,
                     ) -> tuple[np.ndarray, np.ndarray]:
    """Median ln k of a law linear in its two parameters, and its 95 % half-width.

    The law is :func:`exsyfit.kinetics.laws.ln_k`; since ln k is linear in both parameters
    (Ea and ln A, or dH and dS), its gradient is the exact difference of unit steps, and the
    band is the normal approximation with the parameters' sds (half the 16-84 % interval) and
    correlation ``rho``.
    """
    def at(p0: float, p1: float) -> np.ndarray:
        return ln_k(law, T, **{names[0]: p0, names[1]: p1})

    mid = at(float(stats[0]["median"]), float(stats[1]["median"]))
    base = at(0.0, 0.0)
    g0, g1 = at(1.0, 0.0) - base, at(0.0, 1.0) - base
    s0, s1 = _sd(stats[0]), _sd(stats[1])
    var = (g0 * s0) ** 2 + (g1 * s1) ** 2 + 2 * rho * g0 * g1 * s0 * s1
    return mid, 1.96 * np.sqrt(np.clip(var, 0, None))


def _law(summary: Mapping[str, Any], pair: str | None, T: np.ndarray,
         ) -> tuple[np.ndarray, np.ndarray] | None:
    """Median ln k of the global law on ``T`` and its approximate 95 % half-width."""
    ea, ln_a = _pick(summary.get("Ea_eV"), pair), _pick(summary.get("ln_A_per_s"), pair)
    rho = _pick(summary.get("Ea_lnA_correlation"), pair)
    rho = float(rho) if isinstance(rho, int | float) and math.isfinite(rho) else 0.0
    if isinstance(ea, Mapping) and isinstance(ln_a, Mapping):
        return _linear_law_band("arrhenius", T, ("Ea_eV", "ln_A_per_s"), (ea, ln_a), rho)
    dh, ds = _pick(summary.get("dH_kJ_per_mol"), pair), _pick(summary.get("dS_J_per_mol_K"),
                                                              pair)
    if isinstance(dh, Mapping) and isinstance(ds, Mapping):
        return _linear_law_band("eyring", T, ("dH_kJ_per_mol", "dS_J_per_mol_K"), (dh, ds),
                                0.0)
    return None


def _usable(entries: Mapping[str, Mapping[str, Any]], pair: str | None = None,
            ) -> dict[str, Mapping[str, Any]]:
    """Entries with per-temperature results (and, when ``pair`` is given, that pair)."""
    return {str(k): v for k, v in entries.items()
            if isinstance(v, Mapping) and v.get("temperatures")
            and (pair is None or pair in _pairs(v))}


def plot_arrhenius_comparison(entries: Mapping[str, Mapping[str, Any]], *,
                              pair: str | None = None, style: PlotStyle | None = None,
                              fig: Figure | None = None) -> Figure:
    """Arrhenius plot of several analyses (configs, samples) on one axis.

    Parameters
    ----------
    entries : mapping of str to dict
        summary.json content per analysis, keyed by the name shown in the legend (e.g. the
        config name).  Entries without per-temperature results (failed runs) are left out.
    pair : str, optional
        Exchanging pair ``"A<->B"`` for analyses with more than two sites (default: the first
        pair of each analysis); analyses without that pair are left out.
    style : PlotStyle, optional
        Default: a double-column figure.
    fig : matplotlib.figure.Figure, optional
        An empty figure to draw into.

    Returns
    -------
    matplotlib.figure.Figure
        ln(k_ex/s⁻¹) against 1000/T (temperature in K on top): per-temperature medians with
        95 % bars, the median law of each global fit with its approximate 95 % band, and
        Ea with its 95 % interval (± the systematic when the summary has a robustness entry)
        in the legend.

    Raises
    ------
    ValueError
        When no entry has per-temperature results (for ``pair``, when given).
    """
    import matplotlib as mpl

    usable = _usable(entries, pair)
    if not usable:
        raise ValueError("no analysis with per-temperature results to compare (every entry "
                         "failed or is empty"
                         + (f", or none has the pair {pair})" if pair is not None else ")"))
    style = style or PlotStyle(width="double")
    all_T = np.concatenate([_points(s, pair)["T"].to_numpy() for s in usable.values()])
    all_T = all_T[np.isfinite(all_T)]
    lo, hi = (float(all_T.min()), float(all_T.max())) if all_T.size else (250.0, 350.0)
    pad = 0.05 * (1000 / lo - 1000 / hi + 1e-3)
    x_grid = np.linspace(1000 / hi - pad, 1000 / lo + pad, 150)
    T_grid = 1000.0 / x_grid
    with mpl.rc_context(style.rc()):
        if fig is None:
            fig = new_figure(style, 0.42 * style.width_in + 0.45 + 0.17 * len(usable))
        ax = fig.add_subplot()
        for k, (name, summary) in enumerate(usable.items()):
            colour, marker = style.colour(k), MARKERS[k % len(MARKERS)]
            pts = _points(summary, pair)
            label = text_escape(name)
            ea = _pick(summary.get("Ea_eV"), pair)
            if isinstance(ea, Mapping):
                label += f": $E_\\mathrm{{a}}$ = {value_interval(ea, 95)} eV"
                sys_ = _pick((summary.get("robustness") or {}).get("Ea_eV_systematic"), pair)
                if isinstance(sys_, int | float) and math.isfinite(sys_):
                    label += f" ± {sys_:.2g} (syst.)"
            elif summary.get("temperature_model") == "free":
                label += " (free fit)"
            y = np.log(pts["median"].to_numpy())
            err = np.vstack([y - np.log(pts["q025"].to_numpy()),
                             np.log(pts["q975"].to_numpy()) - y])
            ax.errorbar(1000.0 / pts["T"].to_numpy(), y, yerr=err, fmt=marker, color=colour,
                        mfc="white", mec=colour, mew=0.9, ms=3.5, elinewidth=0.9, capsize=1.5,
                        label=label, zorder=3)
            law = _law(summary, pair, T_grid)
            if law is not None:
                mid, half = law
                T_pts = pts["T"].to_numpy()
                inside = (T_grid >= T_pts.min() - 5) & (T_grid <= T_pts.max() + 5)
                ax.plot(x_grid[inside], mid[inside], color=colour, lw=1.0, zorder=2)
                ax.fill_between(x_grid[inside], (mid - half)[inside], (mid + half)[inside],
                                color=colour, alpha=0.18, lw=0, zorder=1)
        ax.set_xlim(x_grid[0], x_grid[-1])
        ax.set_xlabel(r"1000/$T$ (K$^{-1}$)")
        ax.set_ylabel(r"ln($k_\mathrm{ex}$ / s$^{-1}$)")
        ax.legend(loc="upper left", bbox_to_anchor=(0.0, -0.16), borderaxespad=0.0,
                  title="medians and 95 % intervals", alignment="left", ncol=1)
        secondary_temperature_axis(ax)
    return fig


def comparison_table(entries: Mapping[str, Mapping[str, Any]]) -> pd.DataFrame:
    """Activation energy and prefactor of every analysis, one row per analysis and pair.

    Parameters
    ----------
    entries : mapping of str to dict
        summary.json content per analysis, keyed by name.

    Returns
    -------
    pandas.DataFrame
        Columns ``config``, ``pair``, ``temperature_model``, ``n_temperatures``,
        ``T_min_K``, ``T_max_K``, ``Ea_eV_median``, ``Ea_eV_q025``, ``Ea_eV_q16``,
        ``Ea_eV_q84``, ``Ea_eV_q975``, ``Ea_eV_systematic``, ``Ea_kJ_per_mol_median``,
        ``Ea_kJ_per_mol_q025``, ``Ea_kJ_per_mol_q975``, ``ln_A_per_s_median``,
        ``ln_A_per_s_q025``, ``ln_A_per_s_q975`` and ``Ea_eV_text`` (median [95 %
        interval], rounded together).  Law columns are NaN for free fits and failed entries.
    """
    rows = []
    for name, summary in entries.items():
        summary = summary if isinstance(summary, Mapping) else {}
        temps = [float(e["temperature_K"]) for e in summary.get("temperatures", []) or []]
        for pair in _pairs(summary) if summary else ["?"]:
            row: dict[str, Any] = {
                "config": str(name), "pair": pair,
                "temperature_model": summary.get("temperature_model", ""),
                "n_temperatures": len(temps),
                "T_min_K": min(temps) if temps else np.nan,
                "T_max_K": max(temps) if temps else np.nan}
            ea = _pick(summary.get("Ea_eV"), pair)
            ln_a = _pick(summary.get("ln_A_per_s"), pair)
            for s in _STATS:
                row[f"Ea_eV_{s}"] = float(ea[s]) if isinstance(ea, Mapping) else np.nan
            sys_ = _pick((summary.get("robustness") or {}).get("Ea_eV_systematic"), pair)
            row["Ea_eV_systematic"] = float(sys_) if isinstance(sys_, int | float) else np.nan
            for s in ("median", "q025", "q975"):
                row[f"Ea_kJ_per_mol_{s}"] = row[f"Ea_eV_{s}"] * KJ_PER_MOL_PER_EV
                row[f"ln_A_per_s_{s}"] = (float(ln_a[s]) if isinstance(ln_a, Mapping)
                                          else np.nan)
            row["Ea_eV_text"] = value_interval(ea, 95) if isinstance(ea, Mapping) else ""
            rows.append(row)
    return pd.DataFrame(rows)

