"""Fuzz test: reading and validating arbitrary volume tables raises nothing but ExsyfitError.

Tables are generated as CSV text (valid, broken and hostile cells: empty, NaN, inf, huge,
negative, decimal commas, quotes, stray separators, a BOM, missing or extra columns) and as
data frames; every outcome must be a cleaned table or an :class:`exsyfit.errors.ExsyfitError`.
"""

from __future__ import annotations

import pandas as pd
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from exsyfit.integrate.volumes import (
    PLAUSIBILITY_CHECKS,
    REQUIRED_COLUMNS,
    check_plausibility,
    read_volume_table,
    validate_volume_table,
)

from conftest import only_exsyfit_errors

NUMBERS = st.one_of(
    st.floats(allow_nan=True, allow_infinity=True),
    st.integers(-10**30, 10**30),
    st.sampled_from([0, 0.0, -0.0, 1e308, -1e308, 1e-300, 300, 0.05, 25, 5000]),
)
CELLS = st.one_of(
    NUMBERS.map(str),
    st.sampled_from(["", " ", "nan", "NaN", "inf", "-inf", "0,5", "1,5e3", '"0,5"', "A", "B",
                     "C", "x", ";", '"', "\ufeff", "1;2", "True", "None"]),
    st.text(alphabet=st.characters(blacklist_categories=("Cs",)), max_size=6),
)
HEADERS = st.one_of(
    st.just(list(REQUIRED_COLUMNS)),
    st.lists(st.sampled_from([*REQUIRED_COLUMNS, "temperature_sigma_K", "extra", ""]),
             min_size=0, max_size=9),
)
FUZZ = settings(max_examples=150, deadline=None,
                suppress_health_check=[HealthCheck.function_scoped_fixture,
                                       HealthCheck.too_slow])


def _row(ncols: int):
    return st.lists(CELLS, min_size=max(ncols - 1, 0), max_size=ncols + 1)


@st.composite
def csv_text(draw):
    header = draw(HEADERS)
    rows = draw(st.lists(_row(len(header)), max_size=8))
    sep = draw(st.sampled_from([",", ",", ";", "\t"]))
    lines = [sep.join(header)] + [sep.join(r) for r in rows]
    return draw(st.sampled_from(["", "\ufeff"])) + "\n".join(lines) + "\n"


@st.composite
def plausible_frame(draw):
    """Well-formed tables with random numbers: the plausibility checks get real work."""
    n_t = draw(st.integers(1, 3))
    n_tm = draw(st.integers(1, 3))
    rows = []
    for k in range(n_t):
        temp = draw(NUMBERS)
        for m in range(n_tm):
            tm = draw(NUMBERS)
            for a in "AB":
                for b in "AB":
                    rows.append({"experiment": f"e{k}_{m}", "temperature_K": temp,
                                 "mixing_time_s": tm, "from_site": a, "to_site": b,
                                 "volume": draw(NUMBERS), "sigma": draw(NUMBERS)})
    return pd.DataFrame(rows)


@FUZZ
@given(text=csv_text(), skip=st.lists(st.sampled_from(PLAUSIBILITY_CHECKS), max_size=2))
def test_reading_random_csv_raisesonly_exsyfit_errors(tmp_path, text, skip):
    path = tmp_path / "volumes.csv"
    path.write_text(text, encoding="utf-8")
    only_exsyfit_errors(lambda: read_volume_table(path, sites=["A", "B"], skip_checks=skip))


@FUZZ
@given(frame=plausible_frame())
def test_validating_random_tables_raisesonly_exsyfit_errors(frame):
    def call():
        table = validate_volume_table(frame, sites=["A", "B"])
        check_plausibility(table)

    only_exsyfit_errors(call)
