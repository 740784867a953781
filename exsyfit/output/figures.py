"""Publication figures of a fit: Arrhenius/Eyring, build-up curves, corner, parameters vs T.

Every ``plot_*`` function draws into the axes or figure it is given (or a new pyplot figure
when none is given) and returns the :class:`matplotlib.figure.Figure`; nothing is saved or
shown here.  :func:`save_figure` writes the formats of a :class:`PlotStyle` atomically, and
:func:`make_figures` writes the standard set of a run into ``<outdir>/figures/``.

Conventions
-----------
* Rates are in s^-1; the Arrhenius axis is ``ln k`` (or ``log10 k``, ``[plots]
  arrhenius_axis = "log10"``) against ``1000/T`` in K^-1, with the temperature in K on a
  secondary top axis.
* Error bars on per-temperature points: thick = 68 %, thin = 95 % central credible interval
  of the posterior; the global temperature law is drawn as the posterior median with its
  95 % credible band (the band of the law, not of new data).
* Build-up figures show observed volumes (error bars = the ``sigma`` of the volume table) and
  the posterior median and 95 % band of the model volumes; the residual panel shows
  (observed - median model)/sigma.  Diagonal and cross peaks have separate panels, so small
  cross peaks stay visible next to large diagonal peaks.
* Colours follow the Okabe-Ito colour-blind-safe palette by default.
"""

from __future__ import annotations

import difflib
import math
import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, fields
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from exsyfit.errors import ConfigError
from exsyfit.kinetics.laws import (
    H_PLANCK_J_S,
    K_B_EV_PER_K,
    K_B_J_PER_K,
    KJ_PER_MOL_PER_EV,
    R_J_PER_MOL_K,
)

if TYPE_CHECKING:  # pragma: no cover
    from matplotlib.axes import Axes
    from matplotlib.figure import Figure

    from exsyfit.fit.results import FitResult

__all__ = [
    "PlotStyle",
    "plot_arrhenius",
    "plot_eyring",
    "plot_buildup",
    "plot_corner",
    "plot_parameters_vs_temperature",
    "save_figure",
    "make_figures",
    "OKABE_ITO",
]

OKABE_ITO = ("#0072B2", "#D55E00", "#009E73", "#CC79A7", "#E69F00", "#56B4E9", "#000000",
             "#F0E442")
"""Okabe & Ito (2008) colour-blind-safe palette (blue first; yellow late, it is pale)."""
TOL_BRIGHT = ("#4477AA", "#EE6677", "#228833", "#CCBB44", "#66CCEE", "#AA3377", "#BBBBBB")
"""Paul Tol's 'bright' qualitative palette (colour-blind safe)."""
_PALETTES = {"okabe-ito": OKABE_ITO, "tol-bright": TOL_BRIGHT}
_WIDTHS_IN = {"single": 3.3, "double": 7.0}
_FORMATS = ("png", "pdf", "svg", "eps")
_MARKERS = ("o", "s", "^", "D", "v", "P", "X", "<", ">")


# --------------------------------------------------------------------------------------------
# Style
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class PlotStyle:
    """Figure settings (the ``[plots]`` table of the config).

    Parameters
    ----------
    width : {"single", "double"} or float
        Figure width: one journal column (3.3 in), two columns (7.0 in) or inches.
    font_size : float
        Base font size, pt (tick labels and legends are 1 pt smaller).
    formats : tuple of str
        File formats written by :func:`save_figure` (``png``, ``pdf``, ``svg``, ``eps``).
    dpi : int
        Resolution of raster formats, dots per inch.
    palette : str or tuple of str
        ``"okabe-ito"`` (default), ``"tol-bright"`` or a list of matplotlib colours.
    arrhenius_axis : {"ln", "log10"}
        Natural or decadic logarithm of the rate on Arrhenius/Eyring plots.
    eyring : bool
        Also write the Eyring figure for Arrhenius fits (always written for Eyring fits).
    mixing_time_axis : {"auto", "linear", "log"}
        Mixing-time axis of build-up figures; ``auto`` is logarithmic when the longest mixing
        time is 20 or more times the shortest.
    """

    width: str | float = "single"
    font_size: float = 8.0
    formats: tuple[str, ...] = ("png", "pdf")
    dpi: int = 300
    palette: str | tuple[str, ...] = "okabe-ito"
    arrhenius_axis: str = "ln"
    eyring: bool = False
    mixing_time_axis: str = "auto"

    @classmethod
    def from_dict(cls, d: Mapping[str, Any], where: str = "[plots]") -> PlotStyle:
        """Build a style from a config table, reporting every problem in one ConfigError.

        Parameters
        ----------
        d : mapping
            Key/value pairs (the parsed ``[plots]`` TOML table).
        where : str
            Path of the table in the config, used in messages.

        Raises
        ------
        ConfigError
            Unknown keys (with the nearest valid key suggested) or invalid values, each named
            by its key path, e.g. ``[plots.width]``.
        """
        if not isinstance(d, Mapping):
            raise ConfigError(f"{where}: expected a table of settings, found {type(d).__name__}")
        valid = [f.name for f in fields(cls)]
        base = where.strip("[]")
        problems: list[str] = []
        kwargs: dict[str, Any] = {}
        for key, value in d.items():
            path = f"[{base}.{key}]"
            if key not in valid:
                near = difflib.get_close_matches(str(key), valid, n=1, cutoff=0.5)
                hint = f" (did you mean '{near[0]}'?)" if near else ""
                problems.append(f"{path}: unknown key{hint}; valid keys here: {', '.join(valid)}")
                continue
            try:
                kwargs[key] = _STYLE_CHECKS[key](value)
            except (TypeError, ValueError) as exc:
                problems.append(f"{path}: found {value!r}; expected {exc}")
        if problems:
            if len(problems) == 1:
                raise ConfigError(problems[0])
            raise ConfigError(f"{len(problems)} problems:\n  " + "\n  ".join(problems))
        return cls(**kwargs)

    @property
    def width_in(self) -> float:
        """Figure width, inches."""
        if isinstance(self.width, str):
            return _WIDTHS_IN[self.width]
        return float(self.width)

    @property
    def colours(self) -> tuple[str, ...]:
        """The palette as a tuple of colours."""
        if isinstance(self.palette, str):
            return _PALETTES[self.palette]
        return tuple(self.palette)

    def colour(self, k: int) -> str:
        """k-th colour of the palette (cycling)."""
        c = self.colours
        return c[k % len(c)]

    def rc(self) -> dict[str, Any]:
        """matplotlib rcParams for figures in this style."""
        small = self.font_size - 1.0
        return {
            "font.size": self.font_size,
            "axes.labelsize": self.font_size,
            "axes.titlesize": self.font_size,
            "xtick.labelsize": small,
            "ytick.labelsize": small,
            "legend.fontsize": small,
            "legend.title_fontsize": small,
            "figure.titlesize": self.font_size + 1,
            "axes.linewidth": 0.7,
            "lines.linewidth": 1.2,
            "lines.markersize": 3.5,
            "xtick.major.width": 0.7,
            "ytick.major.width": 0.7,
            "xtick.direction": "in",
            "ytick.direction": "in",
            "xtick.top": False,
            "ytick.right": True,
            "legend.frameon": False,
            "pdf.fonttype": 42,
            "ps.fonttype": 42,
            "svg.fonttype": "none",
            "savefig.dpi": self.dpi,
            "mathtext.default": "regular",
        }


def _check_width(v: Any) -> str | float:
    if isinstance(v, str) and v in _WIDTHS_IN:
        return v
    if isinstance(v, int | float) and not isinstance(v, bool) and 0.5 <= v <= 20:
        return float(v)
    raise ValueError("'single' (3.3 in), 'double' (7.0 in) or a width in inches (0.5-20)")


def _check_font(v: Any) -> float:
    if isinstance(v, int | float) and not isinstance(v, bool) and 4 <= v <= 30:
        return float(v)
    raise ValueError("a font size in pt between 4 and 30 (7-9 pt is legible in print)")


def _check_formats(v: Any) -> tuple[str, ...]:
    items = [v] if isinstance(v, str) else v
    if (isinstance(items, list | tuple) and items
            and all(isinstance(x, str) and x.lower() in _FORMATS for x in items)):
        return tuple(dict.fromkeys(x.lower() for x in items))
    raise ValueError(f"a non-empty list of formats from {', '.join(_FORMATS)}")


def _check_dpi(v: Any) -> int:
    if isinstance(v, int) and not isinstance(v, bool) and 50 <= v <= 2400:
        return int(v)
    raise ValueError("an integer resolution between 50 and 2400 dpi")


def _check_palette(v: Any) -> str | tuple[str, ...]:
    from matplotlib.colors import is_color_like

    if isinstance(v, str) and v.lower() in _PALETTES:
        return v.lower()
    if isinstance(v, list | tuple) and len(v) >= 2 and all(
            isinstance(c, str) and is_color_like(c) for c in v):
        return tuple(v)
    raise ValueError(f"{' or '.join(repr(p) for p in _PALETTES)}, or a list of at least two "
                     "matplotlib colours")


def _check_choice(options: Sequence[str]) -> Any:
    def check(v: Any) -> str:
        if isinstance(v, str) and v in options:
            return v
        raise ValueError(" or ".join(repr(o) for o in options))
    return check


def _check_bool(v: Any) -> bool:
    if isinstance(v, bool):
        return v
    raise ValueError("true or false")


_STYLE_CHECKS = {
    "width": _check_width,
    "font_size": _check_font,
    "formats": _check_formats,
    "dpi": _check_dpi,
    "palette": _check_palette,
    "arrhenius_axis": _check_choice(("ln", "log10")),
    "eyring": _check_bool,
    "mixing_time_axis": _check_choice(("auto", "linear", "log")),
}


# --------------------------------------------------------------------------------------------
# Small helpers
# --------------------------------------------------------------------------------------------


def _pyplot() -> Any:
    import matplotlib.pyplot as plt

    return plt


def _new_figure(style: PlotStyle, height_in: float, width_in: float | None = None,
                layout: str | None = "constrained") -> Figure:
    import matplotlib as mpl

    with mpl.rc_context(style.rc()):
        return _pyplot().figure(figsize=(width_in or style.width_in, height_in), layout=layout)


def _tex(name: str) -> str:
    """Escape a site name for use inside mathtext ``\\mathrm{...}``."""
    out = str(name)
    for ch in "\\{}_^$#%&~":
        out = out.replace(ch, "\\" + ch)
    return out.replace(" ", "\\ ")


def _rate_symbol(result: FitResult, rate: str, pair: str | None) -> str:
    """Mathtext symbol of the plotted rate."""
    if rate == "k_ex":
        sub = r"\mathrm{ex}"
        if len(result.pairs) > 1:
            a, b = (pair or result.pairs[0]).split("<->")
            sub += rf",\mathrm{{{_tex(a)}}}\leftrightarrow\mathrm{{{_tex(b)}}}"
        return rf"$k_{{{sub}}}$"
    a, b = rate.split("->")
    return rf"$k_{{\mathrm{{{_tex(a)}}}\rightarrow\mathrm{{{_tex(b)}}}}}$"


def _interval(values: np.ndarray, axis: int = 0) -> dict[str, np.ndarray]:
    q = np.percentile(values, [2.5, 16, 50, 84, 97.5], axis=axis)
    return dict(zip(("q025", "q16", "median", "q84", "q975"), q, strict=True))


def _errorbars(ax: Axes, x: np.ndarray, q: Mapping[str, np.ndarray], colour: str,
               marker: str = "o", label: str | None = None,
               xerr: np.ndarray | None = None, zorder: float = 3) -> None:
    """Median with thick 68 % and thin 95 % bars."""
    med = q["median"]
    lo95, hi95 = med - q["q025"], q["q975"] - med
    lo68, hi68 = med - q["q16"], q["q84"] - med
    ax.errorbar(x, med, yerr=np.vstack([lo95, hi95]), fmt="none", ecolor=colour,
                elinewidth=0.7, capsize=0, zorder=zorder)
    ax.errorbar(x, med, yerr=np.vstack([lo68, hi68]), xerr=xerr, fmt=marker, color=colour,
                mfc=colour, mec="white", mew=0.4, elinewidth=1.8, capsize=0, label=label,
                zorder=zorder + 0.1)


def _pm(stats: Mapping[str, float] | np.ndarray, digits: int | None = None) -> str:
    """'median ± half-width of the 68 % interval' with sensible digits."""
    if isinstance(stats, np.ndarray):
        q = np.percentile(stats, [16, 50, 84])
        med, err = float(q[1]), float(0.5 * (q[2] - q[0]))
    else:
        med, err = stats["median"], 0.5 * (stats["q84"] - stats["q16"])
    if digits is None:
        digits = max(0, 1 - int(math.floor(math.log10(err)))) if err > 0 else 3
        digits = min(digits, 6)
    return f"{med:.{digits}f} ± {err:.{digits}f}"


def _secondary_temperature_axis(ax: Axes) -> Any:
    """Top axis in K for an x axis of 1000/T (K^-1)."""
    def to_t(x: np.ndarray) -> np.ndarray:
        x = np.asarray(x, dtype=float)
        with np.errstate(divide="ignore", invalid="ignore"):
            return np.where(x != 0, 1000.0 / np.where(x != 0, x, 1.0), np.inf)

    sec = ax.secondary_xaxis("top", functions=(to_t, to_t))
    sec.set_xlabel(r"$T$ (K)")
    lo, hi = sorted(to_t(np.array(ax.get_xlim())))
    span = hi - lo
    step = next((s for s in (2, 5, 10, 20, 25, 50, 100, 200, 500) if span / s <= 6), 1000)
    ticks = np.arange(math.ceil(lo / step) * step, hi + 1e-9, step)
    sec.set_xticks(ticks)
    sec.set_xticklabels([f"{t:g}" for t in ticks])
    sec.tick_params(direction="in")
    return sec


# --------------------------------------------------------------------------------------------
# Arrhenius and Eyring
# --------------------------------------------------------------------------------------------


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
        a = result.draws("ln_A_per_s")[:, q, None]
        ln_k = a - result.draws("Ea_eV")[:, q, None] / (K_B_EV_PER_K * T[None, :])
    elif "dH_kJ_per_mol" in d:
        dh = result.draws("dH_kJ_per_mol")[:, q, None]
        ds = result.draws("dS_J_per_mol_K")[:, q, None]
        ln_k = (np.log(K_B_J_PER_K * T[None, :] / H_PLANCK_J_S) + ds / R_J_PER_MOL_K
                - dh * 1e3 / (R_J_PER_MOL_K * T[None, :]))
    else:
        return None
    if "k_sd" in d and not ionic_only:
        ln_k = np.logaddexp(ln_k, np.log(result.draws("k_sd")[:, q, None]))
    return ln_k[::_law_step(result)]


def _directional_fraction(result: FitResult, rate: str, q: int) -> np.ndarray | None:
    """k_(a->b)/k_ex per draw when it does not depend on temperature, else None."""
    if rate == "k_ex":
        return None
    a, b = rate.split("->")
    frac = result.directional_rate_draws(a, b) / result.rate_draws(result.pairs[q])
    if np.allclose(frac, frac[:, :1], rtol=1e-9, atol=0):
        return frac[::_law_step(result), 0]
    return None


def _global_label(result: FitResult, q: int, kind: str,
                  ln_shift: np.ndarray | None = None) -> str:
    """Annotation text with the global law's parameters.

    ``ln_shift`` (per draw) is added to ln A for a directional rate (ln of k_a->b / k_ex).
    """
    d = result.derived
    lines = []
    if "Ea_eV" in d:
        ea = result.draws("Ea_eV")[:, q]
        ln_a = result.draws("ln_A_per_s")[:, q]
        if ln_shift is not None:
            ln_a = ln_a[::_law_step(result)] + ln_shift
        if kind == "eyring":
            dh, ds = _eyring_from_law(result.temperatures_K,
                                      _law_ln_k(result, q, result.temperatures_K, True)
                                      + (0.0 if ln_shift is None else ln_shift[:, None]))
            lines.append(rf"$E_\mathrm{{a}}$ = {_pm(ea)} eV (Arrhenius fit)")
            lines.append(rf"$\Delta H^\ddagger$ = {_pm(dh)} kJ mol$^{{-1}}$")
            lines.append(rf"$\Delta S^\ddagger$ = {_pm(ds)} J mol$^{{-1}}$ K$^{{-1}}$")
        else:
            lines.append(rf"$E_\mathrm{{a}}$ = {_pm(ea)} eV")
            lines.append(rf"     = {_pm(ea * KJ_PER_MOL_PER_EV)} kJ mol$^{{-1}}$")
            lines.append(rf"ln($A$/s$^{{-1}}$) = {_pm(ln_a)}")
    if "dH_kJ_per_mol" in d:
        dh = result.draws("dH_kJ_per_mol")[:, q]
        ds = result.draws("dS_J_per_mol_K")[:, q]
        if ln_shift is not None:
            ds = ds[::_law_step(result)] + R_J_PER_MOL_K * ln_shift
        lines.append(rf"$\Delta H^\ddagger$ = {_pm(dh)} kJ mol$^{{-1}}$")
        lines.append(rf"$\Delta S^\ddagger$ = {_pm(ds)} J mol$^{{-1}}$ K$^{{-1}}$")
    if "k_sd" in d:
        lines.append(rf"$k_\mathrm{{sd}}$ = {_pm(result.draws('k_sd')[:, q])} s$^{{-1}}$")
    return "\n".join(lines)


def _eyring_from_law(T_data: np.ndarray, ln_k: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Eyring line fitted (per draw) to ln k on the data temperatures: dH (kJ/mol), dS."""
    x = 1.0 / T_data
    y = ln_k - np.log(T_data)[None, :]
    xc = x - x.mean()
    slope = (y - y.mean(axis=1, keepdims=True)) @ xc / np.sum(xc**2)
    intercept = y.mean(axis=1) - slope * x.mean()
    dh = -slope * R_J_PER_MOL_K / 1e3
    ds = R_J_PER_MOL_K * (intercept - np.log(K_B_J_PER_K / H_PLANCK_J_S))
    return dh, ds


def _rate_figure(result: FitResult, free: FitResult | None, ax: Axes | None,
                 style: PlotStyle | None, rate: str, pair: str | None, log10: bool | None,
                 kind: str) -> Figure:
    import contextlib

    import matplotlib as mpl

    # the style's rcParams apply to figures made here, or when a style is given explicitly;
    # axes passed in without a style keep the caller's settings
    styled = ax is None or style is not None
    style = style or PlotStyle()
    small: float | str = style.font_size - 1 if styled else "small"
    log10 = (style.arrhenius_axis == "log10") if log10 is None else bool(log10)
    q = _pair_index(result, pair)
    pair_name = result.pairs[q]
    if rate != "k_ex":
        a, b = rate.split("->") if "->" in rate else ("", "")
        if a not in result.sites or b not in result.sites:
            raise ConfigError(f"rate '{rate}': expected 'k_ex' or '<site>-><site>' with sites "
                              f"from {', '.join(result.sites)}")
        pair_name = next((p for p in result.pairs if set(p.split("<->")) == {a, b}), None)
        if pair_name is None:
            raise ConfigError(f"rate '{rate}': sites {a} and {b} do not exchange in this fit")
        q = result.pairs.index(pair_name)
    with mpl.rc_context(style.rc()) if styled else contextlib.nullcontext():
        if ax is None:
            fig = _new_figure(style, 0.8 * style.width_in if style.width_in < 5 else 4.2)
            ax = fig.add_subplot()
        fig = ax.figure
        conv = 1.0 / np.log(10.0) if log10 else 1.0
        src = free if free is not None else result
        q_src = src.pairs.index(pair_name) if pair_name in src.pairs else 0
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
            pts_label = "per-temperature fit (free model)"
        elif result.temperature_model == "free":
            pts_label = "per-temperature posterior"
        else:
            pts_label = f"posterior at each $T$ ({result.temperature_model} fit)"
        _errorbars(ax, x_pts, _interval(conv * y_draws), style.colour(0), label=pts_label,
                   xerr=xerr)

        T_all = np.concatenate([T_pts, result.temperatures_K])
        pad = 0.04 * (1000 / T_all.min() - 1000 / T_all.max() + 1e-9)
        x_grid = np.linspace(1000 / T_all.max() - pad, 1000 / T_all.min() + pad, 120)
        T_grid = 1000.0 / x_grid
        law = _law_ln_k(result, q, T_grid)
        text = ""
        ln_shift = None
        if law is not None and rate != "k_ex":
            frac = _directional_fraction(result, rate, q)
            if frac is None:
                law = None  # populations change with T: no single law for a directional rate
            else:
                ln_shift = np.log(frac)
                law = law + ln_shift[:, None]
        if law is not None:
            y_law = law - (np.log(T_grid)[None, :] if kind == "eyring" else 0.0)
            band = _interval(conv * y_law)
            name = "Eyring" if "dH_kJ_per_mol" in result.derived else "Arrhenius"
            ax.fill_between(x_grid, band["q025"], band["q975"], color=style.colour(1),
                            alpha=0.25, lw=0, label="95 % credible band", zorder=1)
            ax.plot(x_grid, band["median"], color=style.colour(1), lw=1.2,
                    label=f"{name} law (global fit)", zorder=2)
            if "k_sd" in result.derived:
                ion = _law_ln_k(result, q, T_grid, ionic_only=True)
                if ln_shift is not None:
                    ion = ion + ln_shift[:, None]
                y_ion = ion - (np.log(T_grid)[None, :] if kind == "eyring" else 0.0)
                ax.plot(
                    x_grid, np.median(conv * y_ion, axis=0), color=style.colour(1), lw=0.9,
                    ls="--", label="ionic term only", zorder=2)
            text = _global_label(result, q, kind, ln_shift)
        elif src.temperature_model == "free" and len(T_pts) >= 2:
            text = _linear_fit_overlay(ax, src, q_src, x_grid, conv, kind, style)
        symbol = _rate_symbol(result, rate, pair_name)
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
        ax.set_ylim(lo - 0.35 * (hi - lo), hi + 0.35 * (hi - lo))
        _ordered_legend(ax, loc="upper right", handlelength=1.6, borderaxespad=0.3)
        if text:
            ax.text(0.03, 0.03, text, transform=ax.transAxes, ha="left", va="bottom",
                    fontsize=small, linespacing=1.3)
        _secondary_temperature_axis(ax)
    return fig


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
                        kind: str, style: PlotStyle) -> str:
    """Weighted straight line through free-model points (see compare.arrhenius_linearity)."""
    from exsyfit.fit.compare import arrhenius_linearity

    lin = arrhenius_linearity(src, pair=src.pairs[q])
    T = 1000.0 / x_grid
    y = lin["ln_A_per_s"]["value"] - lin["Ea_eV"]["value"] / (K_B_EV_PER_K * T)
    if kind == "eyring":
        y = y - np.log(T)
    ax.plot(x_grid, conv * y, color=style.colour(1), lw=1.0, ls="--",
            label="weighted straight line", zorder=2)
    ea, sd = lin["Ea_eV"]["value"], lin["Ea_eV"]["sd"]
    return (rf"$E_\mathrm{{a}}$ = {_pm({'median': ea, 'q16': ea - sd, 'q84': ea + sd})} eV"
            rf" (line fit)" + "\n" + rf"$\chi^2$/dof = {lin['chi2']:.1f}/{lin['dof']}, "
            rf"$p$ = {lin['p_value']:.2g}")


def plot_arrhenius(result: FitResult, free: FitResult | None = None, ax: Axes | None = None,
                   style: PlotStyle | None = None, rate: str = "k_ex", pair: str | None = None,
                   log10: bool | None = None) -> Figure:
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

    Returns
    -------
    matplotlib.figure.Figure
    """
    return _rate_figure(result, free, ax, style, rate, pair, log10, "arrhenius")


def plot_eyring(result: FitResult, free: FitResult | None = None, ax: Axes | None = None,
                style: PlotStyle | None = None, rate: str = "k_ex", pair: str | None = None,
                log10: bool | None = None) -> Figure:
    """Eyring plot: ln(k/T) against 1000/T (same arguments as :func:`plot_arrhenius`).

    For an Arrhenius fit the law is drawn in Eyring coordinates and the annotation adds the
    activation enthalpy and entropy of a straight Eyring line through the law at the data
    temperatures (per posterior draw), dH ~ Ea - R T.
    """
    return _rate_figure(result, free, ax, style, rate, pair, log10, "eyring")


# --------------------------------------------------------------------------------------------
# Build-up curves
# --------------------------------------------------------------------------------------------


def _peaks(result: FitResult) -> list[tuple[int, int, bool]]:
    """(to i, from j, is_diagonal) for every peak, diagonals first."""
    n = len(result.sites)
    diag = [(i, i, True) for i in range(n)]
    cross = [(i, j, False) for j in range(n) for i in range(n) if i != j]
    return diag + cross


def _log_time_axis(style: PlotStyle, tm: np.ndarray) -> bool:
    if style.mixing_time_axis != "auto":
        return style.mixing_time_axis == "log"
    pos = tm[tm > 0]
    return len(pos) > 1 and pos.max() / pos.min() >= 20 and pos.size == tm.size


def _buildup_data(result: FitResult, t: int, n_draws: int, log_axis: bool,
                  ) -> dict[str, Any]:
    """Observed table rows, the model band on a grid and residuals at one temperature."""
    table = result.problem.table
    sel = (table["temperature_index"] == t).to_numpy()
    rows = table[sel]
    tm = rows["mixing_time_s"].to_numpy(float)
    if log_axis:
        grid = np.geomspace(tm.min() / 1.4, tm.max() * 1.4, 160)
    else:
        grid = np.linspace(0.0, tm.max() * 1.05, 160)
    pred = result.predict_buildup(t, grid, n_draws=n_draws)  # (S, G, N, N)
    band = _interval(pred)
    flat = result.theta.reshape(-1, result.theta.shape[-1])
    rng = np.random.default_rng(0)
    pick = rng.choice(len(flat), size=min(n_draws, len(flat)), replace=False)
    model_obs = np.median(result.problem.predict(flat[pick])[:, sel], axis=0)
    resid = (rows["volume"].to_numpy(float) - model_obs) / rows["sigma"].to_numpy(float)
    return {"rows": rows, "grid": grid, "band": band, "resid": resid}


def _draw_peak(ax: Axes, ax_res: Axes | None, result: FitResult, data: Mapping[str, Any],
               i: int, j: int, colour: str, marker: str, ls: str) -> None:
    sites = result.sites
    rows = data["rows"]
    m = ((rows["to_site"] == sites[i]) & (rows["from_site"] == sites[j])).to_numpy()
    label = sites[i] if i == j else f"{sites[j]}→{sites[i]}"
    band, grid = data["band"], data["grid"]
    ax.fill_between(grid, band["q025"][:, i, j], band["q975"][:, i, j], color=colour,
                    alpha=0.22, lw=0, zorder=1)
    ax.plot(grid, band["median"][:, i, j], color=colour, lw=1.0, ls=ls, zorder=2)
    if m.any():
        x = rows["mixing_time_s"].to_numpy(float)[m]
        ax.errorbar(x, rows["volume"].to_numpy(float)[m], yerr=rows["sigma"].to_numpy(float)[m],
                    fmt=marker, color=colour, mfc=colour, mec="white", mew=0.4, ms=3.5,
                    elinewidth=0.8, capsize=1.5, label=label, zorder=3)
        if ax_res is not None:
            ax_res.plot(x, data["resid"][m], marker, color=colour, mec="white", mew=0.3, ms=3.2,
                        ls="none", zorder=3)
    else:
        ax.plot([], [], marker, color=colour, label=f"{label} (not measured)")


def _format_residual_axis(ax: Axes) -> None:
    ax.axhline(0.0, color="0.3", lw=0.7, zorder=0)
    for s in (-2, 2):
        ax.axhline(s, color="0.6", lw=0.6, ls=":", zorder=0)
    lo, hi = ax.get_ylim()
    lim = max(3.0, abs(lo), abs(hi))
    ax.set_ylim(-lim, lim)
    ax.set_ylabel(r"resid./$\sigma$")


def _draw_buildup(result: FitResult, t: int, axes: Mapping[str, Axes], style: PlotStyle,
                  n_draws: int, legend: bool = True, row_title: str | None = None) -> None:
    """Draw one temperature into axes 'diag', 'cross', 'res_diag', 'res_cross'.

    Without ``row_title`` the panel names go into legend titles; with it, into axes titles
    (prefixed by ``row_title``) and legends are drawn only if ``legend``.
    """
    tm = result.problem.table["mixing_time_s"].to_numpy(float)
    log_axis = _log_time_axis(style, tm)
    data = _buildup_data(result, t, n_draws, log_axis)
    n_diag = 0
    n_cross = 0
    for k, (i, j, is_diag) in enumerate(_peaks(result)):
        if is_diag:
            marker, ls = _MARKERS[n_diag % len(_MARKERS)], "-"
            n_diag += 1
        else:
            marker, ls = _MARKERS[n_cross % len(_MARKERS)], ("-", "--", "-.", ":")[n_cross % 4]
            n_cross += 1
        ax = axes["diag" if is_diag else "cross"]
        ax_res = axes.get("res_diag" if is_diag else "res_cross")
        _draw_peak(ax, ax_res, result, data, i, j, style.colour(k), marker, ls)
    # diagonal peaks decay from the top left, cross peaks start at zero on the left: those
    # corners stay free for the legends; 15 % headroom keeps the legend off the curves
    for key, title, loc in (("diag", "diagonal peaks", "upper right"),
                            ("cross", "cross peaks (from→to)", "upper left")):
        ax = axes[key]
        ax.set_ylabel("volume (arb. units)")
        lo, hi = ax.get_ylim()
        ax.set_ylim(lo, hi + 0.15 * (hi - lo))
        ncol = 1 if n_cross <= 4 else 2
        if row_title is None:
            ax.legend(title=title, loc=loc, handlelength=1.2, ncol=ncol)
            continue
        ax.set_title(f"{row_title}: {title}" if key == "diag" else title, loc="left")
        if legend:
            ax.legend(loc=loc, handlelength=1.2, ncol=ncol)
    if row_title is not None and "res_diag" in axes:
        axes["res_diag"].set_title("residuals", loc="left")
    for key in ("res_diag", "res_cross"):
        if key in axes:
            _format_residual_axis(axes[key])
    for ax in axes.values():
        if log_axis:
            ax.set_xscale("log")
        ax.set_xlim(data["grid"][0], data["grid"][-1])
    bottom = [axes[k] for k in ("res_diag", "res_cross", "diag", "cross") if k in axes]
    for ax in bottom:
        ax.set_xlabel(r"mixing time $t_\mathrm{m}$ (s)")


def plot_buildup(result: FitResult, temperature_index: int | None = None, *,
                 fig: Figure | None = None, style: PlotStyle | None = None,
                 n_draws: int = 200) -> Figure:
    """Peak volumes against mixing time with the posterior-predictive band and residuals.

    Parameters
    ----------
    result : FitResult
    temperature_index : int, optional
        Temperature to show (index into ``result.temperatures_K``).  ``None`` draws every
        temperature: one row per temperature with diagonal peaks, cross peaks and residuals
        side by side (a double-column-wide figure).
    fig : matplotlib.figure.Figure, optional
        An empty figure to draw into; a new one otherwise.
    style : PlotStyle, optional
    n_draws : int
        Posterior draws used for the median and the 95 % band.

    Returns
    -------
    matplotlib.figure.Figure
        One temperature: panels for diagonal peaks, cross peaks and residuals/sigma (stacked
        for a single-column width, side by side for wider figures).
    """
    import matplotlib as mpl

    style = style or PlotStyle()
    n_t = len(result.temperatures_K)
    if temperature_index is not None and not 0 <= temperature_index < n_t:
        raise ConfigError(f"temperature_index {temperature_index} is out of range; the fit "
                          f"has {n_t} temperatures (0..{n_t - 1})")
    with mpl.rc_context(style.rc()):
        if temperature_index is None:
            return _buildup_all(result, fig, style, n_draws)
        t = temperature_index
        narrow = style.width_in < 5.0
        if fig is None:
            fig = _new_figure(style, 4.8 if narrow else 3.6)
        if narrow:
            gs = fig.add_gridspec(3, 1, height_ratios=[1.0, 1.0, 0.55])
            ax_d = fig.add_subplot(gs[0])
            ax_c = fig.add_subplot(gs[1], sharex=ax_d)
            ax_r = fig.add_subplot(gs[2], sharex=ax_d)
            axes = {"diag": ax_d, "cross": ax_c, "res_diag": ax_r, "res_cross": ax_r}
            _draw_buildup(result, t, axes, style, n_draws)
            for ax in (ax_d, ax_c):
                ax.tick_params(labelbottom=False)
                ax.set_xlabel("")
        else:
            gs = fig.add_gridspec(2, 2, height_ratios=[1.0, 0.4])
            ax_d = fig.add_subplot(gs[0, 0])
            ax_c = fig.add_subplot(gs[0, 1], sharex=ax_d)
            axes = {"diag": ax_d, "cross": ax_c,
                    "res_diag": fig.add_subplot(gs[1, 0], sharex=ax_d),
                    "res_cross": fig.add_subplot(gs[1, 1], sharex=ax_d)}
            _draw_buildup(result, t, axes, style, n_draws)
            for ax in (ax_d, ax_c):
                ax.tick_params(labelbottom=False)
                ax.set_xlabel("")
        fig.suptitle(_buildup_title(result, t))
    return fig


def _buildup_title(result: FitResult, t: int) -> str:
    return f"{result.temperatures_K[t]:.1f} K ({result.temperature_model} fit)"


def _buildup_all(result: FitResult, fig: Figure | None, style: PlotStyle,
                 n_draws: int) -> Figure:
    n_t = len(result.temperatures_K)
    width = max(style.width_in, _WIDTHS_IN["double"])
    if fig is None:
        fig = _new_figure(style, 1.75 * n_t + 0.4, width_in=width)
    axs = fig.subplots(n_t, 3, squeeze=False, sharex=True)
    for t in range(n_t):
        axes = {"diag": axs[t, 0], "cross": axs[t, 1], "res_diag": axs[t, 2],
                "res_cross": axs[t, 2]}
        _draw_buildup(result, t, axes, style, n_draws, legend=(t == 0),
                      row_title=f"{result.temperatures_K[t]:.1f} K")
        if t < n_t - 1:
            for ax in axs[t]:
                ax.set_xlabel("")
    fig.suptitle(f"Build-up curves ({result.temperature_model} fit): observed volumes, "
                 "posterior median and 95 % band")
    return fig


# --------------------------------------------------------------------------------------------
# Corner and parameters against temperature
# --------------------------------------------------------------------------------------------


def corner_samples(result: FitResult, include_nuisance: bool = False,
                   ) -> tuple[np.ndarray, list[str], list[str]]:
    """Samples of the global parameters for a corner plot.

    Returns
    -------
    samples : numpy.ndarray, shape (n_samples, n_columns)
    keys : list of str
        Machine names (``Ea_eV[A<->B]``, ``ln_A_per_s[A<->B]``, ``p[A]``, ...).
    labels : list of str
        Axis labels with units.
    """
    cols: list[np.ndarray] = []
    keys: list[str] = []
    labels: list[str] = []
    multi = len(result.pairs) > 1

    def add(key: str, label: str, values: np.ndarray) -> None:
        cols.append(np.asarray(values, dtype=float))
        keys.append(key)
        labels.append(label)

    for q, pair in enumerate(result.pairs):
        tag = f" {pair.replace('<->', '–')}" if multi else ""
        d = result.derived
        if "Ea_eV" in d:
            add(f"Ea_eV[{pair}]", rf"$E_\mathrm{{a}}${tag} (eV)", result.draws("Ea_eV")[:, q])
            add(f"ln_A_per_s[{pair}]", rf"ln($A${tag}/s$^{{-1}}$)",
                result.draws("ln_A_per_s")[:, q])
        elif "dH_kJ_per_mol" in d:
            add(f"dH_kJ_per_mol[{pair}]", rf"$\Delta H^\ddagger${tag} (kJ mol$^{{-1}}$)",
                result.draws("dH_kJ_per_mol")[:, q])
            add(f"dS_J_per_mol_K[{pair}]", rf"$\Delta S^\ddagger${tag} (J mol$^{{-1}}$K$^{{-1}}$)",
                result.draws("dS_J_per_mol_K")[:, q])
        else:
            ln_k = np.log(result.rate_draws(pair))
            for t, T in enumerate(result.temperatures_K):
                add(f"ln_k_ex[{pair}]@{T:.1f}K", rf"ln $k_\mathrm{{ex}}${tag} {T:.0f} K",
                    ln_k[:, t])
        if "k_sd" in d:
            add(f"k_sd_per_s[{pair}]", rf"$k_\mathrm{{sd}}${tag} (s$^{{-1}}$)",
                result.draws("k_sd")[:, q])
    pops = result.draws("populations")
    shared = np.allclose(pops, pops[:, :1, :])
    for i, site in enumerate(result.sites[:-1]):
        if shared:
            add(f"p[{site}]", rf"$p_\mathrm{{{_tex(site)}}}$", pops[:, 0, i])
        elif include_nuisance:
            for t, T in enumerate(result.temperatures_K):
                add(f"p[{site}]@{T:.1f}K", rf"$p_\mathrm{{{_tex(site)}}}$ {T:.0f} K",
                    pops[:, t, i])
    if include_nuisance:
        t1 = result.draws("T1_s")
        for i, site in enumerate(result.sites):
            for t, T in enumerate(result.temperatures_K):
                add(f"ln_T1[{site}]@{T:.1f}K",
                    rf"ln($T_{{1,\mathrm{{{_tex(site)}}}}}$/s) {T:.0f} K", np.log(t1[:, t, i]))
    keep = [k for k, c in enumerate(cols) if np.ptp(c) > 0]
    samples = np.column_stack([cols[k] for k in keep]) if keep else np.empty((0, 0))
    return samples, [keys[k] for k in keep], [labels[k] for k in keep]


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
        histograms, median and 68 % interval in the titles.
    """
    import corner
    import matplotlib as mpl

    style = style or PlotStyle()
    samples, keys, labels = corner_samples(result, include_nuisance)
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
            fig = _new_figure(style, size, width_in=size, layout=None)
        corner.corner(
            samples, fig=fig, labels=labels, quantiles=[0.16, 0.5, 0.84], show_titles=True,
            title_fmt=".3g", title_kwargs={"fontsize": style.font_size - 1},
            label_kwargs={"fontsize": style.font_size}, color=style.colour(0),
            truths=truth_vals, truth_color=style.colour(1), smooth=1.0,
            levels=(1 - np.exp(-0.5), 1 - np.exp(-2.0)), plot_datapoints=False,
            fill_contours=True, max_n_ticks=3, labelpad=0.08,
        )
        for ax in fig.axes:
            ax.tick_params(labelsize=style.font_size - 1.5)
    return fig


def _plain_log_ticks(ax: Axes) -> None:
    """Log axis with 1-2-5 ticks written as plain numbers and some headroom."""
    from matplotlib.ticker import FuncFormatter, LogLocator, NullFormatter

    lo, hi = ax.get_ylim()
    f = (hi / lo) ** 0.06
    ax.set_ylim(lo / f, hi * f)
    ax.yaxis.set_major_locator(LogLocator(base=10, subs=(1.0, 2.0, 5.0)))
    ax.yaxis.set_major_formatter(FuncFormatter(lambda v, _: f"{v:g}"))
    ax.yaxis.set_minor_formatter(NullFormatter())


def plot_parameters_vs_temperature(result: FitResult, *, fig: Figure | None = None,
                                   style: PlotStyle | None = None) -> Figure:
    """Populations and T1 of every site against temperature (median, 68 % and 95 % bars).

    Parameters
    ----------
    result : FitResult
    fig : matplotlib.figure.Figure, optional
        An empty figure to draw into.
    style : PlotStyle, optional

    Returns
    -------
    matplotlib.figure.Figure
        Top: populations; bottom: T1 (s, log scale).  Points of different sites are offset
        slightly in T so their bars do not hide each other.
    """
    import matplotlib as mpl

    style = style or PlotStyle()
    T = result.temperatures_K
    n = len(result.sites)
    span = np.ptp(T) if len(T) > 1 else 10.0
    offsets = (np.arange(n) - (n - 1) / 2) * 0.012 * span
    with mpl.rc_context(style.rc()):
        if fig is None:
            fig = _new_figure(style, 3.9 if style.width_in < 5 else 3.0)
        ax_p, ax_t = fig.subplots(2, 1, sharex=True)
        pops = result.draws("populations")
        t1 = result.draws("T1_s")
        for i, site in enumerate(result.sites):
            c, mk = style.colour(i), _MARKERS[i % len(_MARKERS)]
            _errorbars(ax_p, T + offsets[i], _interval(pops[:, :, i]), c, mk, label=site)
            _errorbars(ax_t, T + offsets[i], _interval(t1[:, :, i]), c, mk, label=site)
        ax_p.set_ylabel("population")
        ax_t.set_ylabel(r"$T_1$ (s)")
        ax_t.set_yscale("log")
        _plain_log_ticks(ax_t)
        ax_t.set_xlabel(r"$T$ (K)")
        ax_p.legend(title="site", loc="best", ncol=min(n, 4))
        ax_p.set_ylim(-0.02, 1.02) if np.ptp(pops) > 0.3 else None
    return fig


# --------------------------------------------------------------------------------------------
# Files
# --------------------------------------------------------------------------------------------


def save_figure(fig: Figure, path_stem: str | Path, style: PlotStyle | None = None,
                ) -> list[Path]:
    """Write a figure in every format of the style, atomically (temporary file, then rename).

    Parameters
    ----------
    fig : matplotlib.figure.Figure
    path_stem : path
        File name without extension (``.../figures/arrhenius``); its folder is created.
    style : PlotStyle, optional
        Formats and raster resolution (default PNG at 300 dpi and vector PDF).

    Returns
    -------
    list of Path
        The files written, in the order of ``style.formats``.
    """
    import matplotlib as mpl

    from exsyfit import __version__

    style = style or PlotStyle()
    stem = Path(path_stem)
    stem.parent.mkdir(parents=True, exist_ok=True)
    tight = fig.get_layout_engine() is None
    written = []
    for fmt in style.formats:
        path = stem.with_name(f"{stem.name}.{fmt}")
        tmp = stem.with_name(f".{stem.name}.{fmt}.tmp")
        meta: dict[str, Any] = {"Creator": f"exsyfit {__version__}"}
        if fmt == "pdf":
            meta["CreationDate"] = None
        elif fmt == "svg":
            meta = {"Creator": f"exsyfit {__version__}", "Date": None}
        elif fmt == "eps":
            meta = {}
        try:
            with mpl.rc_context(style.rc()):
                fig.savefig(tmp, format=fmt, dpi=style.dpi, metadata=meta,
                            bbox_inches="tight" if tight else None, pad_inches=0.03)
            os.replace(tmp, path)
        except BaseException:
            if tmp.exists():
                tmp.unlink()
            raise
        written.append(path)
    return written


def make_figures(result: FitResult, outdir: str | Path, *, free: FitResult | None = None,
                 style: PlotStyle | None = None, integration_qc: Any = None) -> list[Path]:
    """Write the standard figures of a fit into ``<outdir>/figures/``.

    Files (each in every format of the style): ``arrhenius`` (global fits, or free fits with
    two or more temperatures; one ``arrhenius_<X>-<Y>`` per pair with more than one
    exchanging pair), ``eyring`` (Eyring fits, or ``style.eyring``; per pair likewise),
    ``buildup_<T>K`` per temperature (T rounded to 0.1 K, e.g. ``buildup_303.0K``),
    ``corner``, ``parameters_vs_temperature`` and, when ``integration_qc`` is given,
    ``integration_<experiment>`` figures.

    Parameters
    ----------
    result : FitResult
    outdir : path
    free : FitResult, optional
        Free-model fit of the same data (points of the Arrhenius plot).
    style : PlotStyle, optional
    integration_qc : tuple, optional
        ``(spectra, integration_result)`` from
        :func:`exsyfit.integrate.integration.integrate_series`:
        the shortest and longest mixing time of every temperature are drawn with their
        integration regions.

    Returns
    -------
    list of Path
        Every file written.
    """
    plt = _pyplot()
    style = style or PlotStyle()
    figdir = Path(outdir) / "figures"
    written: list[Path] = []

    def emit(fig: Figure, name: str) -> None:
        try:
            written.extend(save_figure(fig, figdir / name, style))
        finally:
            plt.close(fig)

    multi_t = len(result.temperatures_K) >= 2
    pairs = [None] if len(result.pairs) == 1 else list(result.pairs)

    def suffix(pair: str | None) -> str:
        return "" if pair is None else "_" + _safe_name(pair.replace("<->", "-"))

    for pair in pairs:
        if result.temperature_model != "free" or multi_t:
            emit(plot_arrhenius(result, free=free, style=style, pair=pair),
                 f"arrhenius{suffix(pair)}")
        if result.temperature_model == "eyring" or (style.eyring and multi_t):
            emit(plot_eyring(result, free=free, style=style, pair=pair), f"eyring{suffix(pair)}")
    for t, T in enumerate(result.temperatures_K):
        emit(plot_buildup(result, t, style=style), f"buildup_{T:.1f}K")
    emit(plot_corner(result, style=style), "corner")
    emit(plot_parameters_vs_temperature(result, style=style), "parameters_vs_temperature")
    if integration_qc is not None:
        spectra, integ = integration_qc
        for k, name, fig in _integration_figures(spectra, integ, style):
            del k
            emit(fig, name)
    return written


# --------------------------------------------------------------------------------------------
# Integration quality control
# --------------------------------------------------------------------------------------------


def _safe_name(text: str) -> str:
    keep = "".join(c if c.isalnum() or c in "-_." else "_" for c in str(text))
    return keep.strip("._")[:60] or "spectrum"


def _integration_figures(spectra: Sequence[Any], integ: Any, style: PlotStyle,
                         ) -> list[tuple[int, str, Figure]]:
    """Shortest and longest mixing time of every temperature group."""
    out = []
    for g, group in enumerate(integ.groups):
        tms = [spectra[i].mixing_time_s for i in group.indices]
        if not tms:
            continue
        order = np.argsort(np.asarray(tms, dtype=float))
        picks = sorted({int(order[0]), int(order[-1])})
        for k in picks:
            idx = group.indices[k]
            spec = spectra[idx]
            fig = plot_integration(spec, group, style=style)
            T = group.temperature_K
            tag = f"{T:.1f}K" if T is not None else f"group{g}"
            out.append((idx, f"integration_{tag}_{spec.mixing_time_s * 1e3:g}ms", fig))
    return out


def plot_integration(spectrum: Any, group: Any, *, ax: Axes | None = None,
                     style: PlotStyle | None = None) -> Figure:
    """Contour plot of one spectrum with the integration regions of its temperature group.

    Parameters
    ----------
    spectrum : exsyfit.io.spectrum.Spectrum2D
    group : exsyfit.integrate.integration.GroupIntegration
        Regions (boxes or ellipses, ppm), fitted site positions and the method.
    ax : matplotlib.axes.Axes, optional
    style : PlotStyle, optional

    Returns
    -------
    matplotlib.figure.Figure
        ppm axes decreasing to the right/up (NMR convention); positive contours at
        logarithmically spaced levels from 4 x the noise level (or 2 % of the maximum) up.
    """
    import matplotlib as mpl
    from matplotlib.patches import Ellipse, Rectangle

    style = style or PlotStyle()
    data = np.asarray(spectrum.data, dtype=float)
    f1, f2 = np.asarray(spectrum.ppm_f1), np.asarray(spectrum.ppm_f2)
    with mpl.rc_context(style.rc()):
        if ax is None:
            fig = _new_figure(style, style.width_in)
            ax = fig.add_subplot()
        fig = ax.figure
        top = float(np.max(data))
        noise = float(np.median(np.abs(data - np.median(data)))) * 1.4826
        base = max(4 * noise, 0.02 * top) if top > 0 else 1.0
        levels = np.geomspace(base, top, 10) if top > base else [base]
        ax.contour(f2, f1, data, levels=levels, colors=style.colour(0), linewidths=0.5)
        for k, reg in enumerate(getattr(group, "regions", ())):
            colour = style.colour(1 + (reg.from_site != reg.to_site))
            xy = (reg.center_f2 - reg.half_width_f2, reg.center_f1 - reg.half_width_f1)
            w, h = 2 * reg.half_width_f2, 2 * reg.half_width_f1
            if reg.kind == "ellipse":
                patch = Ellipse((reg.center_f2, reg.center_f1), w, h, fill=False, ec=colour,
                                lw=0.8)
            else:
                patch = Rectangle(xy, w, h, fill=False, ec=colour, lw=0.8)
            ax.add_patch(patch)
            del k
        for shape in getattr(group, "shapes", ()):
            ax.plot(shape.ppm_f2, shape.ppm_f1, "+", color="k", ms=5, mew=0.7)
            ax.annotate(shape.name, (shape.ppm_f2, shape.ppm_f1), xytext=(3, 3),
                        textcoords="offset points", fontsize=style.font_size - 1)
        ax.set_xlim(f2.max(), f2.min())
        ax.set_ylim(f1.max(), f1.min())
        nuc = getattr(spectrum, "nucleus", "") or ""
        ax.set_xlabel(f"{nuc} F2 (ppm)".strip())
        ax.set_ylabel(f"{nuc} F1 (ppm)".strip())
        tm = getattr(spectrum, "mixing_time_s", None)
        T = getattr(group, "temperature_K", None)
        parts = [f"method: {getattr(group, 'method', '?')}"]
        if tm is not None:
            parts.insert(0, f"$t_\\mathrm{{m}}$ = {tm * 1e3:g} ms")
        if T is not None:
            parts.insert(0, f"{T:.1f} K")
        ax.set_title(", ".join(parts), loc="left")
    return fig
