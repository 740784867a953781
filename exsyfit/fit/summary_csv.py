"""The CSV summaries of a fit, laid out for Origin, Excel and scripts.

Three files, written by :meth:`exsyfit.fit.results.FitResult.save`:

``summary.csv`` (:func:`summary_table`)
    Numbers only, one row per temperature: ``temperature_K``, ``inv_T_1000_per_K``
    (1000/T, K^-1), then for every quantity its posterior median (the bare name) and the
    quantiles ``_q16``, ``_q84`` (68 % central interval), ``_q025``, ``_q975`` (95 %):
    ``k_ex_per_s``, ``ln_k_ex_per_s`` (natural log of k_ex in s^-1, the y axis of an
    Arrhenius plot; with the error-bar lengths ``_minus68``, ``_plus68``, ``_minus95``,
    ``_plus95`` as Origin and Excel expect them), for the Eyring model ``ln_k_ex_over_T``
    (ln of k_ex/T in s^-1 K^-1, the y axis of an Eyring plot, with the same error-bar
    lengths), ``k_per_s[A->B]``, ``population[A]``,
    ``T1_s[A]``, and, when present, ``sample_temperature_K``, ``D_over_L2_per_s``,
    ``D_cm2_per_s``, ``h_m_per_s``; last ``chi2_reduced``.  With more than two sites pair
    quantities carry the pair: ``k_ex_per_s[A<->B]``, ``ln_k_ex_per_s[A<->B]_q16``, ...
``summary_law.csv`` (:func:`law_table`)
    The global temperature law, one row per quantity and pair (its shape differs from the
    per-temperature table, so it is a table of its own rather than columns repeated on every
    row): ``quantity``, ``pair``, ``unit``, ``median``, ``q16``, ``q84``, ``q025``, ``q975``,
    ``rounded_68``, ``rounded_95``.  Header only for the free model without transport.
``summary_rounded.csv`` (:func:`rounded_table`)
    The per-temperature table as text for a paper: ``"5.07 ± 0.10"`` (median and 68 %
    interval, ``"5.07 +0.12/−0.10"`` when asymmetric) and ``"5.07 [4.87, 5.28]"`` (95 %),
    rounded by :func:`round_uncertain`.

summary_law.csv and summary_rounded.csv hold text with ± and − (U+2212) and are written with a
UTF-8 byte-order mark, so that Excel reads them as UTF-8 (pandas skips the mark).
"""

from __future__ import annotations

import math
from decimal import ROUND_HALF_UP, Decimal
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

if TYPE_CHECKING:
    from exsyfit.fit.results import FitResult

#: The minus sign of the rounded text (U+2212): typographically right, and Excel does not take
#: a cell that starts with it for a formula, as it would "-0.785 +0.026/-0.025".
MINUS = "\u2212"
#: Quantile columns of summary_law.csv -> percentile, in the order the columns are written.
LAW_STATS = {"median": 50.0, "q16": 16.0, "q84": 84.0, "q025": 2.5, "q975": 97.5}
#: Column suffix of summary.csv -> percentile of the posterior (the same quantiles).
SUFFIXES = {("" if k == "median" else f"_{k}"): v for k, v in LAW_STATS.items()}
#: Units of the law quantities (summary_law.csv ``unit`` column).
LAW_UNITS = {"Ea_eV": "eV", "Ea_kJ_per_mol": "kJ/mol", "ln_A_per_s": "ln(A/s^-1)",
             "A_per_s": "s^-1", "dH_kJ_per_mol": "kJ/mol", "dS_J_per_mol_K": "J/(mol K)",
             "k_sd_per_s": "s^-1", "D_Ea_eV": "eV", "Ea_lnA_correlation": ""}


def _percentiles(values: np.ndarray, pct: list[float]) -> np.ndarray:
    """Percentiles along the first axis (NaN for an all-NaN sample)."""
    with np.errstate(invalid="ignore"):
        return np.percentile(np.asarray(values, dtype=float), pct, axis=0)


# ---------------------------------------------------------------------- rounding
def _dec(x: float) -> Decimal:
    """The float as the decimal number it prints as (``5.065``, not 5.06499...)."""
    return Decimal(repr(float(x)))


def _text(d: Decimal, power: int = 0) -> str:
    """Plain decimal text (no ``-0``), with ``e<power>`` appended when power is not 0."""
    text = format(abs(d) if d.is_zero() else d, "f")
    return text if power == 0 else f"{text}e{power}"


def round_uncertain(median: float, lo: float, hi: float, interval: bool = False,
                    sig: int = 2) -> str:
    """A posterior median and its interval as text, rounded for a paper.

    The smaller of the two distances from the median to a bound is rounded to ``sig``
    significant figures; the median and the other distance (or both bounds) are rounded to
    the same decimal place (half up).  Very small or large numbers (median below 1e-3 or
    from 1e5) are written with a common power of ten.

    Parameters
    ----------
    median, lo, hi : float
        Median and the lower and upper bound of the interval (same unit).
    interval : bool
        False: ``"5.07 ± 0.10"`` (``"5.07 +0.12/-0.10"`` when the rounded distances differ).
        True: ``"5.07 [4.87, 5.28]"``.
    sig : int
        Significant figures of the uncertainty.

    Returns
    -------
    str
        The text, minus signs as U+2212 (``"−0.785 +0.026/−0.025"``); ``""`` when the median
        is not finite, the median to four significant figures when the interval has zero
        width (a fixed quantity).
    """
    if not math.isfinite(median):
        return ""
    if not (math.isfinite(lo) and math.isfinite(hi)):
        return f"{median:.4g}"
    m, lo_d, hi_d = _dec(median), _dec(lo), _dec(hi)
    down, up = m - lo_d, hi_d - m
    widths = [w for w in (down, up) if w > 0]
    if not widths:
        return f"{median:.4g}".replace("-", MINUS)
    power = (m.copy_abs() if not m.is_zero() else min(widths)).adjusted()
    if -3 <= power < 5:
        power = 0
    m, lo_d, hi_d, down, up = (v.scaleb(-power) for v in (m, lo_d, hi_d, down, up))
    exponent = min(widths).scaleb(-power).adjusted() - (sig - 1)

    def rounded(v: Decimal) -> Decimal:
        return v.quantize(Decimal(1).scaleb(exponent), rounding=ROUND_HALF_UP)

    if interval:
        m_t, lo_t, hi_t = (_text(rounded(v), power) for v in (m, lo_d, hi_d))
        text = f"{m_t} [{lo_t}, {hi_t}]"
    else:
        med_t, down_t, up_t = (_text(rounded(v)) for v in (m, down, up))
        body = f"{med_t} ± {up_t}" if down_t == up_t else f"{med_t} +{up_t}/-{down_t}"
        text = body if power == 0 else f"({body})e{power}"
    return text.replace("-", MINUS)


# ---------------------------------------------------------------------- per temperature
def _quantity_draws(result: FitResult) -> list[tuple[str, np.ndarray]]:
    """(column name, draws of shape (n_samples, n_temperatures)) of every quantity."""
    sites, pairs = result.sites, result.pairs
    keyed = result.keyed_by_pair
    out: list[tuple[str, np.ndarray]] = []
    if result.problem.sample_temperatures:
        out.append(("sample_temperature_K", result.draws("temperature_K")))

    def per_pair(name: str, values: np.ndarray) -> None:
        for q, pair in enumerate(pairs):
            out.append((name if not keyed else f"{name}[{pair}]", values[:, q, :]))

    k_ex = result.draws("k_ex")
    per_pair("k_ex_per_s", k_ex)
    with np.errstate(divide="ignore", invalid="ignore"):
        per_pair("ln_k_ex_per_s", np.log(k_ex))
        if result.temperature_model == "eyring":  # the y axis of an Eyring plot
            per_pair("ln_k_ex_over_T", np.log(k_ex / result.draws("temperature_K")[:, None, :]))
    K = result.draws("K")
    for i, j in result.problem.spec.pairs:
        out.append((f"k_per_s[{sites[i]}->{sites[j]}]", K[:, :, j, i]))
        out.append((f"k_per_s[{sites[j]}->{sites[i]}]", K[:, :, i, j]))
    pop, t1 = result.draws("populations"), result.draws("T1_s")
    out += [(f"population[{s}]", pop[:, :, i]) for i, s in enumerate(sites)]
    out += [(f"T1_s[{s}]", t1[:, :, i]) for i, s in enumerate(sites)]
    for key, name in (("D_over_L2", "D_over_L2_per_s"), ("D_cm2_per_s", "D_cm2_per_s"),
                      ("h_m_per_s", "h_m_per_s")):
        if key in result.derived:
            per_pair(name, result.draws(key))
    return out


def _quantiles_by_column(result: FitResult) -> dict[str, np.ndarray]:
    """Column name -> percentiles (5 in the order of :data:`SUFFIXES`, n_temperatures)."""
    pct = list(SUFFIXES.values())
    return {name: _percentiles(values, pct) for name, values in _quantity_draws(result)}


def summary_table(result: FitResult) -> pd.DataFrame:
    """The numeric per-temperature table of summary.csv (see the module docstring).

    Parameters
    ----------
    result : FitResult
        A fitted posterior.

    Returns
    -------
    pandas.DataFrame
        One row per temperature.  Every column of :meth:`FitResult.summary` is present with
        the same values; quantiles are those of the posterior draws (``numpy.percentile``,
        linear interpolation), so they equal summary.json's.
    """
    T = np.asarray(result.temperatures_K, dtype=float)
    columns: dict[str, np.ndarray] = {"temperature_K": T, "inv_T_1000_per_K": 1000.0 / T}
    for name, q in _quantiles_by_column(result).items():
        base, rest = (name.split("[", 1) + [""])[:2]
        for s, row in zip(SUFFIXES, q, strict=True):
            columns[f"{name}{s}"] = row
        if base in ("ln_k_ex_per_s", "ln_k_ex_over_T"):
            med, q16, q84, q025, q975 = q
            for label, values in (("_minus68", med - q16), ("_plus68", q84 - med),
                                  ("_minus95", med - q025), ("_plus95", q975 - med)):
                columns[f"{name}{label}"] = values
    gof = result.goodness
    columns["chi2_reduced"] = (np.asarray(gof.chi2_reduced_by_temperature, dtype=float)
                               if gof is not None else np.full(len(T), np.nan))
    return pd.DataFrame(columns)


def rounded_table(result: FitResult) -> pd.DataFrame:
    """The per-temperature table as rounded text (summary_rounded.csv).

    Returns
    -------
    pandas.DataFrame
        ``temperature_K`` (number), then per quantity of :func:`summary_table` a column
        with the median and 68 % interval (``"5.07 ± 0.10"``) and one ``<name>_95`` with the
        95 % interval (``"5.07 [4.87, 5.28]"``), both from :func:`round_uncertain`.
    """
    T = np.asarray(result.temperatures_K, dtype=float)
    columns: dict[str, list] = {"temperature_K": [float(f"{t:.6g}") for t in T]}
    for name, q in _quantiles_by_column(result).items():
        med, q16, q84, q025, q975 = q
        columns[name] = [round_uncertain(*v) for v in zip(med, q16, q84, strict=True)]
        columns[f"{name}_95"] = [round_uncertain(*v, interval=True)
                                 for v in zip(med, q025, q975, strict=True)]
    return pd.DataFrame(columns)


# ---------------------------------------------------------------------- global law
def _law_draws(result: FitResult) -> list[tuple[str, np.ndarray]]:
    """(quantity, draws of shape (n_samples, n_pairs)) of the temperature law."""
    from exsyfit.kinetics.laws import KJ_PER_MOL_PER_EV

    d = result.derived
    out: list[tuple[str, np.ndarray]] = []
    if "Ea_eV" in d:
        ea = result.draws("Ea_eV")
        ln_a = result.draws("ln_A_per_s")
        out += [("Ea_eV", ea), ("Ea_kJ_per_mol", ea * KJ_PER_MOL_PER_EV),
                ("ln_A_per_s", ln_a)]
    for key in ("dH_kJ_per_mol", "dS_J_per_mol_K"):
        if key in d:
            out.append((key, result.draws(key)))
    if "k_sd" in d:
        out.append(("k_sd_per_s", result.draws("k_sd")))
    if "D_cm2_per_s" in d and len(result.temperatures_K) >= 2:
        from exsyfit.kinetics.diffusion import diffusion_activation_energy

        out.append(("D_Ea_eV", diffusion_activation_energy(
            result.draws("temperature_K")[:, None, :], result.draws("D_cm2_per_s"))))
    return out


def law_table(result: FitResult) -> pd.DataFrame:
    """The global temperature law of summary_law.csv, one row per quantity and pair.

    Parameters
    ----------
    result : FitResult
        A fitted posterior.

    Returns
    -------
    pandas.DataFrame
        Columns ``quantity``, ``pair``, ``unit``, ``median``, ``q16``, ``q84``, ``q025``,
        ``q975``, ``rounded_68``, ``rounded_95``.  Quantities: ``Ea_eV``, ``Ea_kJ_per_mol``,
        ``ln_A_per_s``, ``A_per_s`` (= exp of ln A's quantiles) and ``Ea_lnA_correlation``
        (the correlation of the Ea and ln A draws, in ``median`` only) for the Arrhenius law;
        ``dH_kJ_per_mol``, ``dS_J_per_mol_K`` for the Eyring law; ``k_sd_per_s`` with spin
        diffusion; ``D_Ea_eV`` with a diffusion length.  No rows for the free model
        without them.
    """
    cols = ["quantity", "pair", "unit", *LAW_STATS, "rounded_68", "rounded_95"]
    rows: list[dict] = []
    pct = list(LAW_STATS.values())

    def add(name: str, pair: str, q: np.ndarray) -> None:
        med, q16, q84, q025, q975 = (float(v) for v in q)
        rows.append({"quantity": name, "pair": pair, "unit": LAW_UNITS.get(name, ""),
                     "median": med, "q16": q16, "q84": q84, "q025": q025, "q975": q975,
                     "rounded_68": round_uncertain(med, q16, q84),
                     "rounded_95": round_uncertain(med, q025, q975, interval=True)})

    draws = _law_draws(result)
    for q_pair, pair in enumerate(result.pairs):
        for name, values in draws:
            q = _percentiles(values[:, q_pair], pct)
            add(name, pair, q)
            if name == "ln_A_per_s":
                with np.errstate(over="ignore"):
                    add("A_per_s", pair, np.exp(q))
        if "Ea_eV" in result.derived:
            ea, ln_a = result.draws("Ea_eV")[:, q_pair], result.draws("ln_A_per_s")[:, q_pair]
            corr = float(np.corrcoef(ea, ln_a)[0, 1])
            rows.append({"quantity": "Ea_lnA_correlation", "pair": pair, "unit": "",
                         "median": corr, "rounded_68": f"{corr:.3f}", "rounded_95": ""})
    return pd.DataFrame(rows, columns=cols)
