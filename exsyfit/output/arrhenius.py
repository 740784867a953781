"""Arrhenius and Eyring figures: ln k against 1000/T with the global law and its band.

Rates are in s^-1; the axis is ``ln k`` (or ``log10 k``, ``[plots] arrhenius_axis =
"log10"``) against ``1000/T`` in K^-1, with the temperature in K on a secondary top axis.  The
global temperature law is drawn as the posterior median with its 95 % credible band (the band
of the law, not of new data); per-temperature points carry 68 % and 95 % bars.
"""

from __future__ import annotations

import contextlib
import math
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

import numpy as np

from exsyfit.errors import ConfigError
from exsyfit.kinetics.laws import KJ_PER_MOL_PER_EV, R_J_PER_MOL_K, eyring_line, ln_k
from exsyfit.output.drawing import errorbars, interval, secondary_temperature_axis
from exsyfit.output.labels import model_name, rate_symbol, round_interval, value_interval
from exsyfit.output.style import PlotStyle, new_figure

if TYPE_CHECKING:  # pragma: no cover
    from matplotlib.axes import Axes
    from matplotlib.figure import Figure

    from exsyfit.fit.results import FitResult

__all__ = ["plot_arrhenius", "plot_eyring"]


def _pair_index(result: FitResult, pair: str | None) -> int:
    if pair is None:
        return 0
    if pair not in result.pairs:
        raise ConfigError(f"pair '{pair}' is not exchanging in this fit; pairs: "
                          f"{', '.join(result.pairs)}")
    return result.pairs.index(pair)


def _point_draws(src: FitResult, rate: str, q: int) -> np.ndarray:
    """Per-temperature rate draws (S, n_T), s^-1."""
    if rate == "k_ex":
        return src.rate_draws(src.pairs[q])
    a, b = rate.split("->")
    return src.directional_rate_draws(a, b)


_MAX_LAW_DRAWS = 600


def _law_step(result: FitResult) -> int:
    """Thinning of the posterior draws used for law curves (at most about 600 draws)."""
    n = result.theta.shape[0] * result.theta.shape[1]
    return max(1, n // _MAX_LAW_DRAWS)


def _law_ln_k(result: FitResult, q: int, T: np.ndarray, ionic_only: bool = False,
              ) -> np.ndarray | None:
    """ln k_ex of the global temperature law on a grid, (S, len(T)); None for 'free'.

    The draws are thinned by :func:`_law_step`.
    """
    d = result.derived
    if "Ea_eV" in d:
        law = ln_k("arrhenius", T[None, :], Ea_eV=result.draws("Ea_eV")[:, q, None],
                   ln_A_per_s=result.draws("ln_A_per_s")[:, q, None])
    elif "dH_kJ_per_mol" in d:
        law = ln_k("eyring", T[None, :], dH_kJ_per_mol=result.draws("dH_kJ_per_mol")[:, q, None],
                   dS_J_per_mol_K=result.draws("dS_J_per_mol_K")[:, q, None])
    else:
        return None
    if "k_sd" in d and not ionic_only:
        law = np.logaddexp(law, np.log(result.draws("k_sd")[:, q, None]))
    return law[::_law_step(result)]


def _directional_fraction(result: FitResult, rate: str, q: int) -> np.ndarray | None:
    """k_(a->b)/k_ex per draw when it does not depend on temperature, else None."""
    if rate == "k_ex":
        return None
    a, b = rate.split("->")
    frac = result.directional_rate_draws(a, b) / result.rate_draws(result.pairs[q])
    if np.allclose(frac, frac[:, :1], rtol=1e-9, atol=0):
        return frac[::_law_step(result), 0]
    return None


def _ci_line(name: str, draws: np.ndarray, unit: str) -> str:
    """``name = median [q2.5, q97.5] unit`` rounded together (a 95 % credible interval)."""
    return f"{name} = {value_interval(draws, 95)}{unit}"


def _global_label(result: FitResult, q: int, kind: str,
                  ln_shift: np.ndarray | None = None) -> list[str]:
    """Annotation lines with the global law's parameters (medians, 95 % intervals).

    ``ln_shift`` (per draw) is added to ln A for a directional rate (ln of k_a->b / k_ex).
    """
    d = result.derived
    ea_sym, kj = r"$E_\mathrm{a}$", r" kJ mol$^{-1}$"
    dh_sym, ds_sym = r"$\Delta H^\ddagger$", r"$\Delta S^\ddagger$"
    ds_unit = r" J mol$^{-1}$ K$^{-1}$"
    lines = []
    if "Ea_eV" in d:
        ea = result.draws("Ea_eV")[:, q]
        ln_a = result.draws("ln_A_per_s")[:, q]
        if ln_shift is not None:
            ln_a = ln_a[::_law_step(result)] + ln_shift
        if kind == "eyring":
            dh, ds = eyring_line(result.temperatures_K,
                                 _law_ln_k(result, q, result.temperatures_K, True)
                                 + (0.0 if ln_shift is None else ln_shift[:, None]))
            lines.append(_ci_line(ea_sym, ea, " eV") + " (Arrhenius fit)")
            lines.append(_ci_line(dh_sym, dh, kj))
            lines.append(_ci_line(ds_sym, ds, ds_unit))
        else:
            lines.append(_ci_line(ea_sym, ea, " eV"))
            lines.append(_ci_line("     ", ea * KJ_PER_MOL_PER_EV, kj))
            lines.append(_ci_line(r"ln($A$/s$^{-1}$)", ln_a, ""))
    if "dH_kJ_per_mol" in d:
        dh = result.draws("dH_kJ_per_mol")[:, q]
        ds = result.draws("dS_J_per_mol_K")[:, q]
        if ln_shift is not None:
            ds = ds[::_law_step(result)] + R_J_PER_MOL_K * ln_shift
        lines.append(_ci_line(dh_sym, dh, kj))
        lines.append(_ci_line(ds_sym, ds, ds_unit))
    if "k_sd" in d:
        lines.append(_ci_line(r"$k_\mathrm{sd}$", result.draws("k_sd")[:, q], r" s$^{-1}$"))
    return lines


def _for_pair(value: Any, pair: str) -> Any:
    """The entry of ``pair`` in a value keyed by pair (more than two sites), or the value."""
    if isinstance(value, Mapping):
        return value.get(pair)
    return value


def _systematic(robustness: Mapping[str, Any] | None, pair: str, n_points: int,
                ) -> tuple[np.ndarray | None, float | None, int]:
    """Per-temperature k_ex systematic fractions, the Ea systematic (eV), number of variants."""
    if not robustness:
        return None, None, 0
    frac = _for_pair(robustness.get("k_ex_systematic_fraction"), pair)
    frac_arr = None
    if frac is not None:
        arr = np.asarray(frac, dtype=float).ravel()
        if arr.size == n_points and np.all(np.isfinite(arr)) and np.all(arr >= 0):
            frac_arr = arr
    ea = _for_pair(robustness.get("Ea_eV_systematic"), pair)
    ea_val = float(ea) if isinstance(ea, int | float) and math.isfinite(ea) else None
    return frac_arr, ea_val, len(robustness.get("variants", []) or [])


def _check_rate(result: FitResult, rate: str, pair: str | None) -> tuple[int, str]:
    """Index and name of the pair of the plotted rate."""
    q = _pair_index(result, pair)
    if rate == "k_ex":
        return q, result.pairs[q]
    a, b = rate.split("->") if "->" in rate else ("", "")
    if a not in result.sites or b not in result.sites:
        raise ConfigError(f"rate '{rate}': expected 'k_ex' or '<site>-><site>' with sites "
                          f"from {', '.join(result.sites)}")
    pair_name = next((p for p in result.pairs if set(p.split("<->")) == {a, b}), None)
    if pair_name is None:
        raise ConfigError(f"rate '{rate}': sites {a} and {b} do not exchange in this fit")
    return result.pairs.index(pair_name), pair_name


def _rate_figure(result: FitResult, free: FitResult | None, ax: Axes | None,
                 style: PlotStyle | None, rate: str, pair: str | None, log10: bool | None,
                 kind: str, robustness: Mapping[str, Any] | None = None) -> Figure:
    import matplotlib as mpl

    # the style's rcParams apply to figures made here, or when a style is given explicitly;
    # axes passed in without a style keep the caller's settings
    styled = ax is None or style is not None
    style = style or PlotStyle()
    small: float | str = style.font_size - 1 if styled else "small"
    log10 = (style.arrhenius_axis == "log10") if log10 is None else bool(log10)
    q, pair_name = _check_rate(result, rate, pair)
    with mpl.rc_context(style.rc()) if styled else contextlib.nullcontext():
        ax_res = None
        if ax is None:
            narrow = style.width_in < 5
            fig = new_figure(style, 1.05 * style.width_in if narrow else 4.6)
            gs = fig.add_gridspec(2, 1, height_ratios=[3.0, 1.0])
            ax = fig.add_subplot(gs[0])
            ax_res = fig.add_subplot(gs[1], sharex=ax)
        fig = ax.figure
        conv = 1.0 / np.log(10.0) if log10 else 1.0
        src = free if free is not None else result
        if pair_name not in src.pairs:
            raise ConfigError(f"pair '{pair_name}' is not exchanging in the free fit; pairs: "
                              f"{', '.join(src.pairs)}")
        q_src = src.pairs.index(pair_name)
        draws = _point_draws(src, rate, q_src)
        T_pts = src.temperatures_K
        if src.problem.sample_temperatures:
            t_draws = src.draws("temperature_K")
        else:
            t_draws = np.broadcast_to(T_pts, draws.shape)
        y_draws = np.log(draws)
        if kind == "eyring":
            y_draws = y_draws - np.log(t_draws)
        x_pts = 1000.0 / T_pts
        xerr = None
        if src.problem.sample_temperatures:
            xq = np.percentile(1000.0 / t_draws, [16, 84], axis=0)
            xerr = np.abs(xq - x_pts[None, :])
        if free is not None:
            pts_label = "free fit at each $T$"
        elif result.temperature_model == "free":
            pts_label = "posterior at each $T$"
        else:
            pts_label = f"{model_name(result.temperature_model)} fit at each $T$"
        pts = interval(conv * y_draws)
        errorbars(ax, x_pts, pts, style.colour(0), label=pts_label + " (68/95 %)", xerr=xerr)

        T_all = np.concatenate([T_pts, result.temperatures_K])
        pad = 0.04 * (1000 / T_all.min() - 1000 / T_all.max() + 1e-9)
        x_grid = np.linspace(1000 / T_all.max() - pad, 1000 / T_all.min() + pad, 120)
        T_grid = 1000.0 / x_grid
        law = _law_ln_k(result, q, T_grid)
        lines: list[str] = []
        ln_shift = None
        ref_grid = ref_pts = band = None
        if law is not None and rate != "k_ex":
            frac = _directional_fraction(result, rate, q)
            if frac is None:
                law = None  # populations change with T: no single law for a directional rate
            else:
                ln_shift = np.log(frac)
                law = law + ln_shift[:, None]
        colour = style.colour(1)
        if law is not None:
            y_law = law - (np.log(T_grid)[None, :] if kind == "eyring" else 0.0)
            band = interval(conv * y_law)
            name = "Eyring" if "dH_kJ_per_mol" in result.derived else "Arrhenius"
            ax.fill_between(x_grid, band["q025"], band["q975"], color=colour, alpha=0.35,
                            lw=0.5, ec=colour, label="95 % credible band", zorder=1)
            ax.plot(x_grid, band["median"], color=colour, lw=1.0,
                    label=f"{name} law (global fit)", zorder=2)
            if "k_sd" in result.derived:
                ion = _law_ln_k(result, q, T_grid, ionic_only=True)
                if ln_shift is not None:
                    ion = ion + ln_shift[:, None]
                y_ion = ion - (np.log(T_grid)[None, :] if kind == "eyring" else 0.0)
                ax.plot(
                    x_grid, np.median(conv * y_ion, axis=0), color=colour, lw=0.9,
                    ls="--", label="ionic term only", zorder=2)
            lines = _global_label(result, q, kind, ln_shift)
            ref_grid = band["median"]
        elif src.temperature_model == "free" and len(T_pts) >= 2:
            lines, ref_grid = _linear_fit_overlay(ax, src, q_src, x_grid, conv, kind, style)
        if ref_grid is not None:
            order = np.argsort(x_grid)
            ref_pts = np.interp(x_pts, x_grid[order], ref_grid[order])
        frac, ea_sys, n_var = _systematic(robustness, pair_name, len(x_pts))
        if frac is not None and rate == "k_ex":
            _systematic_bars(ax, x_pts, pts["median"], frac, conv, x_grid)
        if ea_sys is not None and lines and "Ea_eV" in result.derived:
            lines.append(rf"$E_\mathrm{{a}}$ systematic ± {ea_sys:.2g} eV ({n_var} analysis "
                         "variants)")
        if lines and band is not None:
            lines.append("medians, 95 % credible intervals")
        elif lines:
            lines.append("95 % interval of the line fit (±1.96 sd)")
        symbol = rate_symbol(result, rate, pair_name)
        unit = r"s$^{-1}$"
        if kind == "eyring":
            inner = f"{symbol}/$T$ / (s$^{{-1}}$ K$^{{-1}}$)"
            ylabel = f"log$_{{10}}$[{inner}]" if log10 else f"ln[{inner}]"
        else:
            ylabel = f"log$_{{10}}$({symbol} / {unit})" if log10 else f"ln({symbol} / {unit})"
        ax.set_ylabel(ylabel)
        ax.set_xlabel(r"1000/$T$ (K$^{-1}$)")
        ax.set_xlim(x_grid[0], x_grid[-1])
        lo, hi = ax.get_ylim()
        ax.set_ylim(lo - 0.45 * (hi - lo), hi + 0.35 * (hi - lo))
        _ordered_legend(ax, loc="upper right", handlelength=1.6, borderaxespad=0.3)
        if lines:
            ax.text(0.03, 0.03, "\n".join(lines), transform=ax.transAxes, ha="left",
                    va="bottom", fontsize=small, linespacing=1.3)
        secondary_temperature_axis(ax)
        if ax_res is not None:
            ax.tick_params(labelbottom=False)
            ax.set_xlabel("")
            _deviation_panel(ax_res, x_pts, pts, ref_pts, x_grid, band, frac, conv, style,
                             log10, xerr, "points − law" if band is not None else
                             "points − line")
    return fig


def _systematic_bars(ax: Axes, x: np.ndarray, y: np.ndarray, frac: np.ndarray, conv: float,
                     x_grid: np.ndarray) -> None:
    """Grey bars of the systematic uncertainty, beside the statistical ones."""
    dx = 0.012 * abs(x_grid[-1] - x_grid[0])
    lo = conv * -np.log1p(-np.minimum(frac, 0.99))
    hi = conv * np.log1p(frac)
    ax.errorbar(x + dx, y, yerr=np.vstack([lo, hi]), fmt="none", ecolor="0.5", elinewidth=2.2,
                capsize=0, alpha=0.8, zorder=2.5, label="systematic (analysis choices)")


def _deviation_panel(ax: Axes, x_pts: np.ndarray, pts: Mapping[str, np.ndarray],
                     ref_pts: np.ndarray | None, x_grid: np.ndarray,
                     band: Mapping[str, np.ndarray] | None, frac: np.ndarray | None,
                     conv: float, style: PlotStyle, log10: bool, xerr: Any,
                     note: str = "points − law") -> None:
    """Points and band minus the law (or line): bars and band width magnified."""
    ax.set_xlabel(r"1000/$T$ (K$^{-1}$)")
    ax.set_ylabel(r"$\Delta$log$_{10}k$" if log10 else r"$\Delta$ln $k$")
    if ref_pts is None:
        ax.set_visible(False)
        return
    ax.axhline(0.0, color=style.colour(1), lw=1.0, zorder=2, ls="-" if band is not None else "--")
    if band is not None:
        ax.fill_between(x_grid, band["q025"] - band["median"], band["q975"] - band["median"],
                        color=style.colour(1), alpha=0.35, lw=0.5, ec=style.colour(1), zorder=1)
    dev = {k: v - ref_pts for k, v in pts.items()}
    errorbars(ax, x_pts, dev, style.colour(0), xerr=xerr)
    if frac is not None:
        _systematic_bars(ax, x_pts, dev["median"], frac, conv, x_grid)
    lim = max(float(np.max(np.abs(np.concatenate([dev["q025"], dev["q975"]])))), 1e-3)
    ax.set_ylim(-1.25 * lim, 1.25 * lim)
    ax.text(0.99, 0.04, note, transform=ax.transAxes, ha="right", va="bottom",
            fontsize=style.font_size - 1.5, color="0.35")


def _ordered_legend(ax: Axes, **kwargs: Any) -> None:
    """Legend with points first, then lines, then bands."""
    from matplotlib.container import Container
    from matplotlib.lines import Line2D

    h, lab = ax.get_legend_handles_labels()

    def rank(k: int) -> int:
        return 0 if isinstance(h[k], Container) else 1 if isinstance(h[k], Line2D) else 2

    order = sorted(range(len(h)), key=rank)
    ax.legend([h[k] for k in order], [lab[k] for k in order], **kwargs)


def _linear_fit_overlay(ax: Axes, src: FitResult, q: int, x_grid: np.ndarray, conv: float,
                        kind: str, style: PlotStyle) -> tuple[list[str], np.ndarray]:
    """Weighted straight line through free-model points (see compare.arrhenius_linearity).

    Returns the annotation lines and the line on ``x_grid``.
    """
    from exsyfit.fit.compare import arrhenius_linearity

    lin = arrhenius_linearity(src, pair=src.pairs[q])
    T = 1000.0 / x_grid
    y = ln_k("arrhenius", T, Ea_eV=lin["Ea_eV"]["value"], ln_A_per_s=lin["ln_A_per_s"]["value"])
    if kind == "eyring":
        y = y - np.log(T)
    ax.plot(x_grid, conv * y, color=style.colour(1), lw=1.0, ls="--",
            label="weighted straight line", zorder=2)
    ea, sd = lin["Ea_eV"]["value"], lin["Ea_eV"]["sd"]
    med, lo, hi = round_interval(ea, ea - 1.96 * sd, ea + 1.96 * sd)
    return ([rf"$E_\mathrm{{a}}$ = {med} [{lo}, {hi}] eV (line fit)",
             rf"$\chi^2$/dof = {lin['chi2']:.1f}/{lin['dof']}, $p$ = {lin['p_value']:.2g}"],
            conv * y)


def plot_arrhenius(result: FitResult, free: FitResult | None = None, ax: Axes | None = None,
                   style: PlotStyle | None = None, rate: str = "k_ex", pair: str | None = None,
                   log10: bool | None = None,
                   robustness: Mapping[str, Any] | None = None) -> Figure:
    """Arrhenius plot: ln k (or log10 k) against 1000/T with the global law and its band.

    Parameters
    ----------
    result : FitResult
        The fit whose temperature law is drawn (Arrhenius or Eyring; a free fit gets a
        weighted straight line through its points instead).
    free : FitResult, optional
        A ``temperature_model = "free"`` fit of the same data; its per-temperature posteriors
        are the points.  Without it the points are the main fit's rates at each temperature
        (for a global fit these lie on the law by construction).
    ax : matplotlib.axes.Axes, optional
        Axes to draw into; a new figure of the style's width otherwise.
    style : PlotStyle, optional
    rate : str
        ``"k_ex"`` (k_AB + k_BA of the pair) or a directional rate ``"A->B"`` (s^-1).
    pair : str, optional
        Exchanging pair ``"A<->B"`` for more than two sites (default: the first).
    log10 : bool, optional
        Decadic instead of natural log (default: ``style.arrhenius_axis``).
    robustness : mapping, optional
        The ``robustness`` entry of summary.json: ``k_ex_systematic_fraction`` (per
        temperature, or keyed by pair) is drawn as grey bars beside the points and
        ``Ea_eV_systematic`` (eV) is written under Ea.

    Returns
    -------
    matplotlib.figure.Figure
        A new figure has two panels: the rates with the law, and below them the points and the
        band minus the law (so that intervals narrower than the markers can be read).  With
        ``ax`` given, only the first panel is drawn into it.
    """
    return _rate_figure(result, free, ax, style, rate, pair, log10, "arrhenius", robustness)


def plot_eyring(result: FitResult, free: FitResult | None = None, ax: Axes | None = None,
                style: PlotStyle | None = None, rate: str = "k_ex", pair: str | None = None,
                log10: bool | None = None,
                robustness: Mapping[str, Any] | None = None) -> Figure:
    """Eyring plot: ln(k/T) against 1000/T (same arguments as :func:`plot_arrhenius`).

    For an Arrhenius fit the law is drawn in Eyring coordinates and the annotation adds the
    activation enthalpy and entropy of a straight Eyring line through the law at the data
    temperatures (per posterior draw), dH ~ Ea - R T.
    """
    return _rate_figure(result, free, ax, style, rate, pair, log10, "eyring", robustness)

