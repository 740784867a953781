"""Fuzz test: peak tables of other programs raise nothing but ExsyfitError.

Files are generated in each format exsyfit reads (NMRPipe ``.tab``, Sparky lists, TopSpin
``peaklist.xml``) from valid skeletons with hostile cells and attributes (empty, NaN, inf,
huge, text, quotes, markup, stray separators), and as arbitrary text; every outcome must be a
table (or a volume table) or an :class:`exsyfit.errors.ExsyfitError`.
"""

from __future__ import annotations

from xml.sax.saxutils import quoteattr

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from exsyfit.integrate.peaktables import peak_tables_to_volumes
from exsyfit.io.peaklists import read_peak_list

from conftest import only_exsyfit_errors

CELLS = st.one_of(
    st.floats(allow_nan=True, allow_infinity=True).map(str),
    st.sampled_from(["1.3", "2.3", "0", "-0", "1e308", "nan", "inf", "", " ", "x", "None", "*",
                     '"', "<", "&", "]]>", "1,5", "ga", "lo"]),
    st.text(alphabet=st.characters(blacklist_categories=("Cs",)), max_size=5),
)
GOOD = st.floats(1e-3, 1e6).map(lambda v: f"{v:.6g}")


def _rows(draw, columns: list[str], f1: str, f2: str) -> list[list[str]]:
    """Rows of the four peaks of two sites at 1.3 and 2.3 ppm (so that many files are read
    and converted), other columns well-formed numbers; often one row corrupted: a hostile
    cell, a cell too few or too many, or a peak left out."""
    jitter = st.floats(-0.05, 0.05)
    rows = []
    for a, b in ((1.3, 1.3), (1.3, 2.3), (2.3, 1.3), (2.3, 2.3)):
        row = [draw(GOOD) for _ in columns]
        for name, ppm in ((f1, a), (f2, b)):
            if name in columns:
                row[columns.index(name)] = f"{ppm + draw(jitter):.3f}"
        rows.append(row)
    if draw(st.integers(0, 2)) == 0:
        row = rows[draw(st.integers(0, len(rows) - 1))]
        how = draw(st.sampled_from(["cell", "drop", "add", "peak"]))
        if how == "cell" and row:
            row[draw(st.integers(0, len(row) - 1))] = draw(CELLS)
        elif how == "drop" and row:
            row.pop()
        elif how == "add":
            row.append(draw(CELLS))
        else:
            rows.remove(row)
    return rows


FUZZ = settings(max_examples=150, deadline=None,
                suppress_health_check=[HealthCheck.function_scoped_fixture,
                                       HealthCheck.too_slow])


@st.composite
def nmrpipe_text(draw):
    names = ["INDEX", "X_PPM", "Y_PPM", draw(st.sampled_from(["VOL", "HEIGHT"]))] + draw(
        st.lists(st.sampled_from(
        ["VOL", "HEIGHT", "DVOL", "XW_HZ", "YW_HZ", "ASS", "X_PPM"]), max_size=4, unique=True))
    if draw(st.integers(0, 4)) == 0:
        names = draw(st.permutations(names))[:draw(st.integers(0, len(names)))]
    rows = _rows(draw, names, "Y_PPM", "X_PPM")
    lines = ["REMARK fuzz", "VARS " + " ".join(names), "FORMAT " + " ".join("%f" for _ in names)]
    return "\n".join(lines + [" ".join(r) for r in rows]) + "\n"


@st.composite
def sparky_text(draw):
    titles = ["Assignment", "w1", "w2", draw(st.sampled_from(["Volume", "Data Height"]))] + draw(
        st.lists(st.sampled_from(
        ["Data Height", "Volume", "lw1 (hz)", "lw2 (hz)", "S/N", "w1"]), max_size=4,
        unique=True))
    if draw(st.integers(0, 4)) == 0:
        titles = draw(st.permutations(titles))[:draw(st.integers(0, len(titles)))]
    rows = _rows(draw, titles, "w1", "w2")
    return "  ".join(titles) + "\n\n" + "\n".join(" ".join(r) for r in rows) + "\n"


@st.composite
def topspin_text(draw):
    peaks = [dict(zip(("F1", "F2", "intensity"), row, strict=False))
             for row in _rows(draw, ["F1", "F2", "intensity"], "F1", "F2")]
    if peaks and draw(st.integers(0, 4)) == 0:  # a hostile annotation
        peaks[0]["annotation"] = draw(CELLS)
    body = "".join("<Peak2D " + " ".join(f"{k}={quoteattr(v)}" for k, v in p.items()) + "/>\n"
                   for p in peaks)
    tail = draw(st.sampled_from(["</PeakList2D></PeakList>"] * 3 + ["</PeakList>", "",
                                                                     "<Peak2D"]))
    return '<?xml version="1.0"?>\n<PeakList><PeakList2D>\n' + body + tail + "\n"


ANY_TEXT = st.one_of(nmrpipe_text(), sparky_text(), topspin_text(),
                     st.text(alphabet=st.characters(blacklist_categories=("Cs",)), max_size=80))


@FUZZ
@given(text=ANY_TEXT)
def test_reading_random_peak_tables_raisesonly_exsyfit_errors(tmp_path, text):
    path = tmp_path / "peaks.txt"
    path.write_text(text, encoding="utf-8")
    only_exsyfit_errors(lambda: read_peak_list(path))


@FUZZ
@given(text=ANY_TEXT, sigma=st.sampled_from([None, 1.0, "2%"]))
def test_converting_random_peak_tables_raisesonly_exsyfit_errors(tmp_path, text, sigma):
    (tmp_path / "peaks.txt").write_text(text, encoding="utf-8")
    only_exsyfit_errors(lambda: peak_tables_to_volumes(
        ["peaks.txt"], tmp_path, {"A": 1.3, "B": 2.3}, mixing_time=0.1,
        temperatures_K={"peaks.txt": 300.0}, peak_sigma=sigma))
