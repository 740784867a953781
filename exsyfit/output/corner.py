"""Corner plot of the posterior of the global parameters (corner package)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING

import numpy as np

from exsyfit.errors import ConfigError
from exsyfit.output.labels import math_name, temperature_text, value_asymmetric
from exsyfit.output.style import PlotStyle, new_figure

if TYPE_CHECKING:  # pragma: no cover
    from matplotlib.figure import Figure

    from exsyfit.fit.results import FitResult

__all__ = ["corner_samples", "plot_corner"]


def _columns(result: FitResult, include_nuisance: bool,
             ) -> tuple[np.ndarray, list[str], list[str], list[str]]:
    """Samples, machine keys, symbols and units of the corner plot's columns."""
    cols: list[np.ndarray] = []
    keys: list[str] = []
    names: list[str] = []
    units: list[str] = []
    multi = len(result.pairs) > 1

    def add(key: str, name: str, unit: str, values: np.ndarray) -> None:
        cols.append(np.asarray(values, dtype=float))
        keys.append(key)
        names.append(name)
        units.append(unit)

    for q, pair in enumerate(result.pairs):
        a, b = pair.split("<->")
        tag = rf" ${math_name(a)}\leftrightarrow {math_name(b)}$" if multi else ""
        d = result.derived
        if "Ea_eV" in d:
            add(f"Ea_eV[{pair}]", rf"$E_\mathrm{{a}}${tag}", "eV", result.draws("Ea_eV")[:, q])
            add(f"ln_A_per_s[{pair}]", rf"ln($A$/s$^{{-1}}$){tag}", "",
                result.draws("ln_A_per_s")[:, q])
        elif "dH_kJ_per_mol" in d:
            add(f"dH_kJ_per_mol[{pair}]", rf"$\Delta H^\ddagger${tag}", r"kJ mol$^{-1}$",
                result.draws("dH_kJ_per_mol")[:, q])
            add(f"dS_J_per_mol_K[{pair}]", rf"$\Delta S^\ddagger${tag}",
                r"J mol$^{-1}$ K$^{-1}$", result.draws("dS_J_per_mol_K")[:, q])
        else:
            ln_k = np.log(result.rate_draws(pair))
            for t, T in enumerate(result.temperatures_K):
                add(f"ln_k_ex[{pair}]@{T:.1f}K",
                    rf"ln($k_\mathrm{{ex}}$/s$^{{-1}}$){tag} at {temperature_text(T)}", "",
                    ln_k[:, t])
        if "k_sd" in d:
            add(f"k_sd_per_s[{pair}]", rf"$k_\mathrm{{sd}}${tag}", r"s$^{-1}$",
                result.draws("k_sd")[:, q])
    pops = result.draws("populations")
    shared = np.allclose(pops, pops[:, :1, :])
    for i, site in enumerate(result.sites[:-1]):
        if shared:
            add(f"p[{site}]", rf"$p_{{{math_name(site)}}}$", "", pops[:, 0, i])
        elif include_nuisance:
            for t, T in enumerate(result.temperatures_K):
                add(f"p[{site}]@{T:.1f}K", rf"$p_{{{math_name(site)}}}$ at {temperature_text(T)}",
                    "", pops[:, t, i])
    if include_nuisance:
        t1 = result.draws("T1_s")
        for i, site in enumerate(result.sites):
            for t, T in enumerate(result.temperatures_K):
                add(f"ln_T1[{site}]@{T:.1f}K",
                    rf"ln($T_{{1,{math_name(site)}}}$/s) at {temperature_text(T)}", "",
                    np.log(t1[:, t, i]))
    keep = [k for k, c in enumerate(cols) if np.ptp(c) > 0]
    samples = np.column_stack([cols[k] for k in keep]) if keep else np.empty((0, 0))
    return (samples, [keys[k] for k in keep], [names[k] for k in keep],
            [units[k] for k in keep])


def corner_samples(result: FitResult, include_nuisance: bool = False,
                   ) -> tuple[np.ndarray, list[str], list[str]]:
    """Samples of the global parameters for a corner plot.

    Returns
    -------
    samples : numpy.ndarray, shape (n_samples, n_columns)
    keys : list of str
        Machine names (``Ea_eV[A<->B]``, ``ln_A_per_s[A<->B]``, ``p[A]``, ...).
    labels : list of str
        Axis labels with units (``$E_\\mathrm{a}$ (eV)``, ``ln($A$/s$^{-1}$)``, ...).
    """
    samples, keys, names, units = _columns(result, include_nuisance)
    return samples, keys, [f"{n} ({u})" if u else n for n, u in zip(names, units, strict=True)]


def plot_corner(result: FitResult, *, fig: Figure | None = None, style: PlotStyle | None = None,
                include_nuisance: bool = False, truths: Mapping[str, float] | None = None,
                ) -> Figure:
    """Corner plot of the global parameters (corner package).

    Parameters
    ----------
    result : FitResult
    fig : matplotlib.figure.Figure, optional
        An empty figure to draw into.
    style : PlotStyle, optional
    include_nuisance : bool
        Also show ln T1 per site and temperature (and per-temperature populations).
    truths : mapping, optional
        Reference values keyed as in :func:`corner_samples` (e.g. ``{"Ea_eV[A<->B]": 0.3}``;
        for one pair the bare name ``"Ea_eV"`` also works), drawn as lines.

    Returns
    -------
    matplotlib.figure.Figure
        Contours at 1 and 2 sigma (39 % and 86 % for 2D), 16/50/84 % marked on the
        histograms; the titles give the median and the 68 % interval, rounded
        together (two significant digits on the smaller error) with units.
    """
    import corner
    import matplotlib as mpl

    style = style or PlotStyle()
    samples, keys, names, units = _columns(result, include_nuisance)
    labels = [f"{n} ({u})" if u else n for n, u in zip(names, units, strict=True)]
    if samples.shape[1] == 0:
        raise ConfigError("nothing to show in a corner plot: every parameter is fixed")
    n = samples.shape[1]
    truth_vals = None
    if truths:
        bare = {k.split("[")[0] + k[k.index("]") + 1:] if "[" in k else k: k for k in keys}
        truth_vals = [truths.get(k, truths.get(next((b for b, kk in bare.items() if kk == k),
                                                    k))) for k in keys]
        truth_vals = [np.nan if v is None else float(v) for v in truth_vals]
    with mpl.rc_context(style.rc()):
        if fig is None:
            size = min(max(style.width_in, 1.45 * n + 0.6), 12.0)
            fig = new_figure(style, size, width_in=size, layout=None)
        corner.corner(
            samples, fig=fig, labels=labels, quantiles=[0.16, 0.5, 0.84], show_titles=False,
            label_kwargs={"fontsize": style.font_size}, color=style.colour(0),
            truths=truth_vals, truth_color=style.colour(1), smooth=1.0,
            levels=(1 - np.exp(-0.5), 1 - np.exp(-2.0)), plot_datapoints=False,
            fill_contours=True, max_n_ticks=3, labelpad=0.08,
        )
        for ax in fig.axes:
            ax.tick_params(labelsize=style.font_size - 1.5)
        for k in range(n):
            unit = f" {units[k]}" if units[k] else ""
            fig.axes[k * (n + 1)].set_title(
                f"{names[k]}\n= {value_asymmetric(samples[:, k], 68)}{unit}",
                fontsize=style.font_size - 1)
    return fig

