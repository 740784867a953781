"""Text of figures: formulas, nuclei, escaping for mathtext, numbers rounded with their errors."""

from __future__ import annotations

import string

import pytest
from matplotlib.mathtext import MathTextParser

from exsyfit.output.labels import (
    math_name,
    nucleus_text,
    nucleus_unicode,
    round_interval,
    temperature_text,
    text_name,
    unicode_name,
    value_asymmetric,
    value_interval,
)

PARSER = MathTextParser("agg")


def _parses(s: str) -> bool:
    PARSER.parse(s, 72)
    return True


@pytest.mark.parametrize("name", ['a"b', "x$y", "p#q", "back\\slash", "u_v^w", "{b}", "50%",
                                  "t~`", "Li(1) [oct]", string.punctuation])
def test_any_site_name_parses_in_mathtext(name):
    assert _parses(f"${math_name(name)}$")
    assert _parses(f"$k_{{{math_name(name)}\\rightarrow {math_name('B')}}}$")
    # outside mathtext a lone $ is escaped, so the label is not taken for math
    assert "$" not in text_name(name).replace(r"\$", "")


def test_formulas_and_nuclei():
    assert math_name("Li2S") == r"\mathrm{Li}_{2}\mathrm{S}"
    assert text_name("Li6PS5Cl") == "Li$_{6}$PS$_{5}$Cl"
    assert unicode_name("Li7La3Zr2O12") == "Li₇La₃Zr₂O₁₂"
    # crystallographic sites, letters and acronyms stay as typed
    for name in ("Li1", "A", "LLZO", "site 2", "B2"):
        assert unicode_name(name) == name and text_name(name) == name
    assert nucleus_text("7Li") == "$^{7}$Li" and nucleus_text("Li7") == "$^{7}$Li"
    assert nucleus_unicode("19F") == "¹⁹F" and nucleus_unicode("X") == "X"
    assert temperature_text(263.0) == "263 K" and temperature_text(263.26) == "263.3 K"


def test_numbers_rounded_with_their_interval():
    # two significant digits on the smaller error; the median to the same decimal place
    assert round_interval(13.0, 12.9451, 13.0562) == ("13.000", "12.945", "13.056")
    assert round_interval(0.29843, 0.2954, 0.3012) == ("0.2984", "0.2954", "0.3012")
    assert round_interval(152.3, 140.0, 170.0) == ("152", "140", "170")
    stats = {"median": 13.0, "q025": 12.89, "q16": 12.9451, "q84": 13.0562, "q975": 13.11}
    assert value_asymmetric(stats) == "$13.000^{+0.056}_{-0.055}$"
    assert value_interval(stats) == "13.00 [12.89, 13.11]"
    assert value_interval({**stats, "median": -1.5, "q025": -1.71, "q975": -1.2}) == \
        "−1.50 [−1.71, −1.20]"
