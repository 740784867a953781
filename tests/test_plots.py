"""Figures: labels with units, plotted series, bands, secondary axis, files written."""

from __future__ import annotations

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
import pytest  # noqa: E402
from matplotlib.collections import PolyCollection  # noqa: E402
from matplotlib.container import ErrorbarContainer  # noqa: E402

from exsyfit import config  # noqa: E402
from exsyfit.errors import ConfigError  # noqa: E402
from exsyfit.fit import results  # noqa: E402
from exsyfit.output.figures import (  # noqa: E402
    PlotStyle,
    corner_samples,
    make_figures,
    plot_arrhenius,
    plot_buildup,
    plot_corner,
    plot_eyring,
    plot_parameters_vs_temperature,
    save_figure,
)

from conftest import c8_volume_table, quick_fit  # noqa: E402

KB = 8.617333262e-5
TEMPS = (263.0, 293.0, 323.0, 343.0)
TMS = (0.01, 0.03, 0.1, 0.3, 1.0)


def c8_table(seed: int = 0, sigma: float = 0.002) -> pd.DataFrame:
    """Reference set c8 kinetics (Ea 0.30 eV, k_AB(303 K) = 1/s, p_A 0.9, T1 0.5/3 s)."""
    return c8_volume_table(sigma=sigma, seed=seed, temperatures_K=TEMPS, mixing_times_s=TMS)


fit = quick_fit


@pytest.fixture(scope="module")
def fits() -> dict[str, results.FitResult]:
    table = c8_table()
    return {"arrhenius": fit(table, "arrhenius"), "free": fit(table, "free")}


@pytest.fixture(autouse=True)
def _close_figures():
    yield
    plt.close("all")


# ------------------------------------------------------------------------------ style


def test_style_defaults_and_widths():
    s = PlotStyle()
    assert s.width_in == pytest.approx(3.3)
    assert PlotStyle(width="double").width_in == pytest.approx(7.0)
    assert PlotStyle.from_dict({"width": 5}).width_in == pytest.approx(5.0)
    assert s.formats == ("png", "pdf") and s.dpi == 300
    assert 7 <= s.font_size <= 9
    assert s.colour(0) == "#0072B2" and s.colour(8) == s.colour(0)


def test_style_from_dict_reports_every_problem():
    with pytest.raises(ConfigError) as exc:
        PlotStyle.from_dict({"widht": "single", "dpi": 3, "arrhenius_axis": "log2"})
    msg = str(exc.value)
    assert "3 problems" in msg
    assert "[plots.widht]" in msg and "did you mean 'width'" in msg
    assert "[plots.dpi]" in msg and "found 3" in msg
    assert "[plots.arrhenius_axis]" in msg and "'log10'" in msg


def test_style_values_validated():
    st = PlotStyle.from_dict({"formats": ["PNG", "svg"], "palette": ["red", "#00ff00"],
                              "eyring": True, "arrhenius_axis": "log10"})
    assert st.formats == ("png", "svg") and st.colours == ("red", "#00ff00") and st.eyring
    with pytest.raises(ConfigError, match=r"\[plots.palette\]"):
        PlotStyle.from_dict({"palette": ["notacolour", "red"]})
    with pytest.raises(ConfigError, match=r"\[plots.formats\]"):
        PlotStyle.from_dict({"formats": ["jpg"]})


def test_config_validates_plots_table():
    with pytest.raises(ConfigError, match=r"plots.font_sise.*did you mean 'font_size'"):
        config.config_from_dict({"data": {"volumes": "x.csv"},
                                 "sites": {"A": {"ppm": 1.0}, "B": {"ppm": 2.0}},
                                 "plots": {"font_sise": 8}})


# ------------------------------------------------------------------------------ Arrhenius


def _law_line(ax):
    return next(line for line in ax.get_lines() if "law" in str(line.get_label()))


def test_arrhenius_figure_content(fits):
    res, free = fits["arrhenius"], fits["free"]
    fig = plot_arrhenius(res, free=free)
    ax, ax_dev = fig.axes[:2]
    assert ax.get_ylabel() == r"ln($k_{\mathrm{ex}}$ / s$^{-1}$)"
    assert ax_dev.get_xlabel() == r"1000/$T$ (K$^{-1}$)"
    # 68 % and 95 % bars: two error-bar series; the band is a filled polygon
    bars = [c for c in ax.containers if isinstance(c, ErrorbarContainer)]
    assert len(bars) == 2
    assert sum(isinstance(c, PolyCollection) for c in ax.collections) >= 1
    # points = per-temperature posterior medians of ln k_ex of the free fit
    x, y = bars[1].lines[0].get_data()
    np.testing.assert_allclose(x, 1000 / free.temperatures_K)
    np.testing.assert_allclose(y, np.median(np.log(free.rate_draws()), axis=0), rtol=1e-12)
    # the law is the posterior median of ln A - Ea/(k_B T)
    xl, yl = _law_line(ax).get_data()
    T = 1000 / xl
    expect = np.median(res.draws("ln_A_per_s")[:, :1] - res.draws("Ea_eV")[:, :1] / (KB * T),
                       axis=0)
    np.testing.assert_allclose(yl, expect, atol=0.02)
    # slope of the median law ~ -Ea/k_B with Ea near 0.30 eV (c8 truth)
    slope = np.polyfit(1 / T, yl, 1)[0]
    assert -slope * KB == pytest.approx(0.30, abs=0.02)
    # secondary axis in K, ticks inside the data range
    (sec,) = ax.child_axes
    assert sec.get_xlabel() == r"$T$ (K)"
    ticks = sec.get_xticks()
    assert len(ticks) >= 3 and ticks.min() >= 250 and ticks.max() <= 350
    # Ea in eV and kJ/mol in the annotation, matching the posterior median
    text = " ".join(t.get_text() for t in ax.texts)
    ea = np.median(res.draws("Ea_eV"))
    assert f"{ea:.3f}"[:4] in text and "eV" in text and "kJ mol" in text
    # the interval written is the 95 % one, as the legend's band
    lo, hi = np.percentile(res.draws("Ea_eV"), [2.5, 97.5])
    written = text.split("[")[1].split("]")[0].replace("−", "-").split(", ")
    assert float(written[0]) == pytest.approx(lo, abs=2e-4)
    assert float(written[1]) == pytest.approx(hi, abs=2e-4)
    assert "95 %" in text
    # lower panel: the points minus the law, magnified
    dev = [c for c in ax_dev.containers if isinstance(c, ErrorbarContainer)][1]
    y_dev = dev.lines[0].get_ydata()
    law_at_pts = np.interp(x, xl, yl)
    np.testing.assert_allclose(y_dev, y - law_at_pts, atol=1e-9)


def test_law_curves_are_the_kinetics_laws(fits):
    """The drawn law is kinetics.laws.ln_k of the posterior draws (the same thinned draws)."""
    from exsyfit.kinetics.laws import eyring_line, ln_k

    res = fits["arrhenius"]
    ax = plot_arrhenius(res).axes[0]
    xl, yl = _law_line(ax).get_data()
    T = 1000 / np.asarray(xl)
    step = max(1, res.theta.shape[0] * res.theta.shape[1] // 600)
    law = ln_k("arrhenius", T[None, :], Ea_eV=res.draws("Ea_eV")[::step, :1],
               ln_A_per_s=res.draws("ln_A_per_s")[::step, :1])
    np.testing.assert_allclose(yl, np.median(law, axis=0), rtol=1e-12)
    # Eyring coordinates: the same law minus ln T; dH from an Eyring line through it
    ax_e = plot_eyring(res).axes[0]
    np.testing.assert_allclose(_law_line(ax_e).get_ydata(), np.median(law - np.log(T), axis=0),
                               rtol=1e-12)
    law_pts = ln_k("arrhenius", res.temperatures_K[None, :],
                   Ea_eV=res.draws("Ea_eV")[::step, :1],
                   ln_A_per_s=res.draws("ln_A_per_s")[::step, :1])
    dh, _ = eyring_line(res.temperatures_K, law_pts)
    text = " ".join(t.get_text() for t in ax_e.texts)
    dh_line = next(line for line in text.split("\n") if "Delta H" in line)
    assert float(dh_line.split("= ")[1].split(" [")[0]) == pytest.approx(np.median(dh),
                                                                         rel=2e-3)


def test_arrhenius_shows_systematic(fits):
    res, free = fits["arrhenius"], fits["free"]
    rob = {"variants": [{"name": "box"}, {"name": "lineshape"}], "Ea_eV_systematic": 0.0042,
           "k_ex_systematic_fraction": [0.05, 0.1, 0.2, 0.3]}
    ax = plot_arrhenius(res, free=free, robustness=rob).axes[0]
    assert "systematic ± 0.0042 eV (2 analysis variants)" in " ".join(
        t.get_text() for t in ax.texts)
    sys_bars = [c for c in ax.containers if c.get_label() == "systematic (analysis choices)"]
    assert len(sys_bars) == 1
    segs = sys_bars[0].lines[2][0].get_segments()  # no caps: the bar segments
    half = [s[1][1] - s[0][1] for s in segs]
    np.testing.assert_allclose(half, np.log1p([0.05, 0.1, 0.2, 0.3]) - np.log1p(
        -np.array([0.05, 0.1, 0.2, 0.3])), rtol=1e-9)


def test_log10_option_changes_label_and_values(fits):
    res, free = fits["arrhenius"], fits["free"]
    ax_ln = plot_arrhenius(res, free=free).axes[0]
    ax_10 = plot_arrhenius(res, free=free, log10=True).axes[0]
    assert ax_10.get_ylabel().startswith("log$_{10}$(") and "s$^{-1}$" in ax_10.get_ylabel()
    y_ln = _law_line(ax_ln).get_ydata()
    y_10 = _law_line(ax_10).get_ydata()
    np.testing.assert_allclose(y_10, y_ln / np.log(10), rtol=1e-12)
    ax_style = plot_arrhenius(res, style=PlotStyle(arrhenius_axis="log10")).axes[0]
    assert ax_style.get_ylabel().startswith("log$_{10}$")


def test_directional_rate_and_given_axes(fits):
    res = fits["arrhenius"]
    fig, ax = plt.subplots()
    out = plot_arrhenius(res, ax=ax, rate="A->B")
    assert out is fig
    assert r"\rightarrow" in ax.get_ylabel()
    bars = [c for c in ax.containers if isinstance(c, ErrorbarContainer)]
    y = bars[1].lines[0].get_ydata()
    np.testing.assert_allclose(y, np.median(np.log(res.directional_rate_draws("A", "B")), 0))
    # k_AB = p_B k_ex: the directional law lies ln(p_B) below the k_ex law (p_B ~ 0.1)
    k_ex_law = _law_line(plot_arrhenius(res).axes[0]).get_ydata()
    shift = np.median(_law_line(ax).get_ydata() - k_ex_law)
    assert shift == pytest.approx(np.log(0.1), abs=0.05)
    with pytest.raises(ConfigError, match="rate 'A->C'"):
        plot_arrhenius(res, rate="A->C")


def test_free_fit_alone_gets_weighted_line(fits):
    ax = plot_arrhenius(fits["free"]).axes[0]
    labels = [line.get_label() for line in ax.get_lines()]
    assert "weighted straight line" in labels
    assert "line fit" in " ".join(t.get_text() for t in ax.texts)


def test_eyring_coordinates(fits):
    res, free = fits["arrhenius"], fits["free"]
    ax = plot_eyring(res, free=free).axes[0]
    assert "/$T$" in ax.get_ylabel() and "K$^{-1}$" in ax.get_ylabel()
    x, y = [c for c in ax.containers if isinstance(c, ErrorbarContainer)][1].lines[0].get_data()
    ln_k = np.median(np.log(free.rate_draws()), axis=0)
    np.testing.assert_allclose(y, ln_k - np.log(free.temperatures_K), rtol=1e-10)
    text = " ".join(t.get_text() for t in ax.texts)
    assert r"\Delta H" in text and r"\Delta S" in text


# ------------------------------------------------------------------------------ build-up


def test_buildup_single_temperature(fits):
    res = fits["arrhenius"]
    fig = plot_buildup(res, 1)
    ax_d, ax_c, ax_r = fig.axes
    assert ax_d.get_ylabel() == "volume (arb. units)"
    assert ax_r.get_xlabel() == r"mixing time $t_\mathrm{m}$ (s)"
    assert ax_d.get_xscale() == "log"  # 1 s / 0.01 s >= 20
    # one model line + band per peak: 2 diagonal and 2 cross peaks
    assert len([ln for ln in ax_d.get_lines() if ln.get_linestyle() != "None"]) >= 2
    assert sum(isinstance(c, PolyCollection) for c in ax_d.collections) == 2
    assert sum(isinstance(c, PolyCollection) for c in ax_c.collections) == 2
    assert len([c for c in ax_d.containers if isinstance(c, ErrorbarContainer)]) == 2
    assert len([c for c in ax_c.containers if isinstance(c, ErrorbarContainer)]) == 2
    assert [t.get_text() for t in ax_c.get_legend().get_texts()] == ["A→B", "B→A"]
    assert fig.get_suptitle() == "293 K, Arrhenius fit"
    # legends sit above the panels, outside the data area
    fig.canvas.draw()
    for ax in (ax_d, ax_c):
        assert ax.get_legend().get_window_extent().y0 >= ax.get_window_extent().y1 - 1
    # residuals: one point per volume at this temperature, of unit scale for the true model
    resid = np.concatenate([ln.get_ydata() for ln in ax_r.get_lines()
                            if ln.get_linestyle() == "None"])
    assert resid.size == 4 * len(TMS)
    assert 0.4 < np.sqrt(np.mean(resid**2)) < 1.8
    # the model band brackets the large diagonal peak at the shortest mixing time
    table = res.problem.table
    v = table[(table.temperature_index == 1) & (table.from_site == "A") & (table.to_site == "A")
              & (table.mixing_time_s == TMS[0])]["volume"].iloc[0]
    line = ax_d.get_lines()[0]
    xs, ys = line.get_data()
    assert np.interp(np.log(TMS[0]), np.log(xs), ys) == pytest.approx(v, abs=0.01)


def test_buildup_layouts(fits):
    res = fits["arrhenius"]
    fig = plot_buildup(res, 0, style=PlotStyle(width="double", mixing_time_axis="linear"))
    assert len(fig.axes) == 4 and fig.axes[0].get_xscale() == "linear"
    fig_all = plot_buildup(res)
    assert len(fig_all.axes) == 3 * len(TEMPS)
    assert fig_all.axes[0].get_title(loc="left").startswith("263 K")
    with pytest.raises(ConfigError, match="temperature_index 9"):
        plot_buildup(res, 9)


# ------------------------------------------------------------------------------ corner, T


def test_corner_global_parameters(fits):
    res = fits["arrhenius"]
    samples, keys, labels = corner_samples(res)
    assert keys == ["Ea_eV[A<->B]", "ln_A_per_s[A<->B]", "p[A]"]
    assert "(eV)" in labels[0]
    np.testing.assert_allclose(samples[:, 0], res.draws("Ea_eV")[:, 0])
    fig = plot_corner(res, truths={"Ea_eV": 0.30})
    assert len(fig.axes) == 9
    assert "(eV)" in fig.axes[6].get_xlabel()
    _, keys_all, _ = corner_samples(res, include_nuisance=True)
    assert len(keys_all) == 3 + 2 * len(TEMPS)
    _, keys_free, _ = corner_samples(fits["free"])
    assert keys_free[0] == "ln_k_ex[A<->B]@263.0K" and len(keys_free) == len(TEMPS) + 1


def test_parameters_vs_temperature(fits):
    res = fits["arrhenius"]
    fig = plot_parameters_vs_temperature(res)
    ax_k, ax_p, ax_t = fig.axes
    k_bars = [c for c in ax_k.containers if isinstance(c, ErrorbarContainer)]
    np.testing.assert_allclose(k_bars[1].lines[0].get_ydata(),
                               np.median(res.rate_draws(), axis=0))
    # populations shared by all temperatures: one value drawn as a line across the range
    assert not [c for c in ax_p.containers if isinstance(c, ErrorbarContainer)]
    line = ax_p.get_lines()[0]
    assert np.ptp(line.get_ydata()) == 0
    assert line.get_ydata()[0] == pytest.approx(np.median(res.draws("populations")[:, 0, 0]))
    # the note saying so sits between the lines (p ~ 0.9 and 0.1), not on them
    (note,) = [t for t in ax_p.texts if "every $T$" in t.get_text()]
    lo, hi = ax_p.get_ylim()
    y_note = lo + note.get_position()[1] * (hi - lo)
    p_med = np.median(res.draws("populations")[:, 0, :], axis=0)
    assert min(p_med) + 0.2 < y_note < max(p_med) - 0.2
    assert ax_p.get_ylabel() == "population" and ax_t.get_ylabel() == r"$T_1$ (s)"
    assert ax_t.get_yscale() == "log" and ax_t.get_xlabel() == r"$T$ (K)"
    bars = [c for c in ax_t.containers if isinstance(c, ErrorbarContainer)]
    assert len(bars) == 4  # 2 sites x (68 %, 95 %)
    t1_a = bars[1].lines[0].get_ydata()
    assert np.all(np.abs(t1_a - 0.5) < 0.05)  # c8: T1A = 0.5 s


# ------------------------------------------------------------------------------ files


def test_save_figure_formats_atomic(tmp_path, fits):
    fig = plot_parameters_vs_temperature(fits["arrhenius"])
    style = PlotStyle(dpi=100)
    paths = save_figure(fig, tmp_path / "sub" / "pvt", style)
    assert [p.name for p in paths] == ["pvt.png", "pvt.pdf"]
    assert paths[1].read_bytes()[:5] == b"%PDF-"
    from PIL import Image

    with Image.open(paths[0]) as im:
        w, h = im.size
    assert w == pytest.approx(3.3 * 100, abs=2)  # exact width: constrained layout, no cropping
    assert not list((tmp_path / "sub").glob(".*tmp"))


def test_make_figures_writes_the_set(tmp_path, fits):
    style = PlotStyle(formats=("png",), dpi=60, eyring=True)
    paths = make_figures(fits["arrhenius"], tmp_path, free=fits["free"], style=style)
    names = sorted(p.name for p in paths)
    expected = sorted(["arrhenius.png", "eyring.png", "corner.png",
                       "parameters_vs_temperature.png"]
                      + [f"buildup_{T:.1f}K.png" for T in TEMPS])
    assert names == expected
    assert all(p.parent == tmp_path / "figures" and p.stat().st_size > 1000 for p in paths)
    assert plt.get_fignums() == []  # every figure closed
