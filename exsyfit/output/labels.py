"""Text of figures and reports: site names, chemical formulas, nuclei and rounded numbers.

Site names come from the user's config and may hold any character; every name drawn by
matplotlib goes through :func:`math_name` (inside mathtext) or :func:`text_name` (plain text),
which escape what mathtext would misread (``$``, ``"``, ``#``, ``\\``, ``_``, ``^``, ...).
Names that are chemical formulas built from element symbols (``Li2S``, ``Li6PS5Cl``) get
subscript counts; nuclei (``7Li``, ``Li7``, ``19F``) get a superscript mass number.  The same
conventions in Unicode (Li₂S, ⁷Li) serve reports.

Numbers with an interval are rounded together: the interval's half-widths to two significant
digits and the median to the same decimal place (``13.000 +0.056/−0.055``), so that a median is
never shown with fewer or more digits than its uncertainty supports.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping
from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:  # pragma: no cover
    from exsyfit.fit.results import FitResult

__all__ = [
    "math_escape", "text_escape", "math_name", "text_name", "unicode_name", "nucleus_text",
    "nucleus_unicode", "temperature_text", "rate_symbol", "round_interval", "value_interval",
    "value_asymmetric", "model_name",
]

_ELEMENTS = frozenset("""
H He Li Be B C N O F Ne Na Mg Al Si P S Cl Ar K Ca Sc Ti V Cr Mn Fe Co Ni Cu Zn Ga Ge As Se Br
Kr Rb Sr Y Zr Nb Mo Tc Ru Rh Pd Ag Cd In Sn Sb Te I Xe Cs Ba La Ce Pr Nd Pm Sm Eu Gd Tb Dy Ho
Er Tm Yb Lu Hf Ta W Re Os Ir Pt Au Hg Tl Pb Bi Po At Rn Fr Ra Ac Th Pa U Np Pu Am Cm Bk Cf Es
""".split())
_TOKEN = re.compile(r"([A-Z][a-z]?)(\d*(?:\.\d+)?)|([()\[\]])(\d*)")
_NUCLEUS = re.compile(r"^(?:(\d{1,3})([A-Z][a-z]?)|([A-Z][a-z]?)-?(\d{1,3}))$")
_SUB = str.maketrans("0123456789.", "₀₁₂₃₄₅₆₇₈₉.")
_SUP = str.maketrans("0123456789", "⁰¹²³⁴⁵⁶⁷⁸⁹")

# characters that mathtext misreads inside \mathrm{...}, and what is drawn instead
_MATH_ESCAPES = {
    "\\": "∖", "{": r"\{", "}": r"\}", "_": r"\_", "^": "ˆ", "$": r"\$", "#": "♯", "%": r"\%",
    "~": "∼", '"': "″", "`": "‘", " ": r"\ ",
}


def math_escape(text: str) -> str:
    """Escape arbitrary text for use inside mathtext ``\\mathrm{...}``.

    Characters mathtext cannot take literally are replaced by look-alikes (``"`` by ″, ``#`` by
    ♯, a backslash by ∖); the result always parses.
    """
    return "".join(_MATH_ESCAPES.get(ch, ch) for ch in str(text))


def text_escape(text: str) -> str:
    """Escape arbitrary text for a matplotlib label outside mathtext (``$`` becomes ``\\$``)."""
    return str(text).replace("$", r"\$")


def _formula_tokens(name: str) -> list[tuple[str, str]] | None:
    """(symbol, count) tokens when ``name`` is a chemical formula with a count, else None.

    A formula is made only of element symbols (and brackets) with optional counts, holds at
    least two element symbols and at least one count: ``Li2S`` and ``Li6PS5Cl`` are formulas;
    ``Li1`` (a crystallographic site), ``A``, ``LLZO`` and ``site 2`` are not.
    """
    pos, tokens, n_elements = 0, [], 0
    for m in _TOKEN.finditer(name):
        if m.start() != pos:
            return None
        pos = m.end()
        if m.group(1):
            if m.group(1) not in _ELEMENTS:
                return None
            n_elements += 1
            tokens.append((m.group(1), m.group(2)))
        else:
            tokens.append((m.group(3), m.group(4)))
    if pos != len(name) or n_elements < 2 or not any(c for _, c in tokens):
        return None
    return tokens


def math_name(name: str) -> str:
    """A site name as a mathtext fragment (no ``$``), e.g. ``\\mathrm{Li}_{2}\\mathrm{S}``."""
    tokens = _formula_tokens(str(name))
    if tokens is None:
        return rf"\mathrm{{{math_escape(name)}}}"
    return "".join(rf"\mathrm{{{math_escape(s)}}}" + (f"_{{{c}}}" if c else "")
                   for s, c in tokens)


def text_name(name: str) -> str:
    """A site name for a plain matplotlib label: ``Li$_{2}$S`` for formulas, else escaped."""
    tokens = _formula_tokens(str(name))
    if tokens is None:
        return text_escape(name)
    return "".join(s + (f"$_{{{c}}}$" if c else "") for s, c in tokens)


def unicode_name(name: str) -> str:
    """A site name in Unicode for reports: ``Li₂S`` for formulas, else unchanged."""
    tokens = _formula_tokens(str(name))
    if tokens is None:
        return str(name)
    return "".join(s + c.translate(_SUB) for s, c in tokens)


def _nucleus_parts(nucleus: str) -> tuple[str, str] | None:
    m = _NUCLEUS.match(str(nucleus).strip())
    if not m:
        return None
    mass, symbol = (m.group(1), m.group(2)) if m.group(1) else (m.group(4), m.group(3))
    return (mass, symbol) if symbol in _ELEMENTS else None


def nucleus_text(nucleus: str | None) -> str:
    """A nucleus for a matplotlib label: ``7Li`` or ``Li7`` becomes ``$^{7}$Li``."""
    if not nucleus:
        return ""
    parts = _nucleus_parts(nucleus)
    if parts is None:
        return text_escape(nucleus)
    return f"$^{{{parts[0]}}}${parts[1]}"


def nucleus_unicode(nucleus: str | None) -> str:
    """A nucleus in Unicode: ``7Li`` becomes ``⁷Li``."""
    if not nucleus:
        return ""
    parts = _nucleus_parts(nucleus)
    return str(nucleus) if parts is None else parts[0].translate(_SUP) + parts[1]


def temperature_text(T: float) -> str:
    """A temperature in K to 0.1 K without a trailing ``.0``: ``263 K``, ``263.2 K``."""
    return f"{float(T):.1f}".removesuffix(".0") + " K"


def model_name(temperature_model: str) -> str:
    """Display name of a temperature model: ``Arrhenius``, ``Eyring``, ``free``."""
    return {"arrhenius": "Arrhenius", "eyring": "Eyring"}.get(temperature_model,
                                                             temperature_model)


def rate_symbol(result: FitResult, rate: str, pair: str | None) -> str:
    """Mathtext symbol of a plotted rate: ``$k_{\\mathrm{ex}}$`` or ``$k_{A\\rightarrow B}$``."""
    if rate == "k_ex":
        sub = r"\mathrm{ex}"
        if len(result.pairs) > 1:
            a, b = (pair or result.pairs[0]).split("<->")
            sub += rf",{math_name(a)}\leftrightarrow {math_name(b)}"
        return rf"$k_{{{sub}}}$"
    a, b = rate.split("->")
    return rf"$k_{{{math_name(a)}\rightarrow {math_name(b)}}}$"


def _decimals(err: float, sig: int = 2) -> int:
    """Decimal places that show ``err`` with ``sig`` significant digits (0 for large values)."""
    if not math.isfinite(err) or err <= 0:
        return 3
    return int(min(max(sig - 1 - math.floor(math.log10(err)), 0), 8))


def round_interval(median: float, lo: float, hi: float, sig: int = 2) -> tuple[str, str, str]:
    """Median, lower and upper bound rounded together.

    The smaller distance from the median to a bound gets ``sig`` significant digits; the
    median and both bounds get the same number of decimal places.

    Returns
    -------
    tuple of str
        ``(median, lo, hi)`` as text.
    """
    err = min(abs(median - lo), abs(hi - median))
    if err == 0:
        err = max(abs(median - lo), abs(hi - median))
    d = _decimals(err, sig)
    return f"{median:.{d}f}", f"{lo:.{d}f}", f"{hi:.{d}f}"


def _quantiles(stats: Mapping[str, float] | np.ndarray, level: int) -> tuple[float, float, float]:
    keys = {95: ("q025", "q975"), 68: ("q16", "q84")}[level]
    if isinstance(stats, np.ndarray):
        pct = {95: (2.5, 97.5), 68: (16.0, 84.0)}[level]
        lo, med, hi = np.percentile(stats, [pct[0], 50.0, pct[1]])
        return float(med), float(lo), float(hi)
    return float(stats["median"]), float(stats[keys[0]]), float(stats[keys[1]])


def value_interval(stats: Mapping[str, float] | np.ndarray, level: int = 95) -> str:
    """``'median [lo, hi]'`` of posterior draws or a summary dict, rounded together.

    Parameters
    ----------
    stats : mapping or numpy.ndarray
        ``{"median", "q025", "q16", "q84", "q975"}`` or the draws themselves.
    level : {95, 68}
        Central credible interval shown, per cent.
    """
    med, lo, hi = round_interval(*_quantiles(stats, level))
    return f"{med} [{lo}, {hi}]".replace("-", "−")


def value_asymmetric(stats: Mapping[str, float] | np.ndarray, level: int = 68) -> str:
    """Mathtext ``median^{+upper}_{−lower}`` rounded together, e.g. ``13.000^{+0.056}_{−0.055}``."""
    m, lo, hi = _quantiles(stats, level)
    med, _, _ = round_interval(m, lo, hi)
    d = len(med.split(".")[1]) if "." in med else 0
    return rf"${med}^{{+{hi - m:.{d}f}}}_{{-{m - lo:.{d}f}}}$"
