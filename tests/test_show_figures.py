"""Figures of every spectrum of a series before fitting: contours, sites, regions, slices."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402
from matplotlib.patches import Rectangle  # noqa: E402
from test_qcplot import _series  # noqa: E402

from exsyfit.integrate.options import IntegrationOptions  # noqa: E402
from exsyfit.integrate.series import integrate_series  # noqa: E402
from exsyfit.output.show import plot_series_overview  # noqa: E402
from exsyfit.output.spectra import noise_sigma  # noqa: E402

SITES = {"Li2S": 2.0, "LLZO": -2.0}


@pytest.fixture(scope="module")
def spectra():
    out = _series(pos_b=-2.0)
    hot = [replace(s, temperature_K=320.0, source=s.source + "_hot",
                   metadata={"phases_deg": (12.0, -3.5, 90.0, 0.0)}) for s in out]
    return out + hot


def test_one_figure_per_temperature_every_mixing_time(spectra):
    figs = plot_series_overview(spectra[::-1], SITES, level_sigma=5.0)
    assert [f.get_label() for f in figs] == ["show_300K", "show_320K"]
    cold = figs[0]
    rows = np.array(cold.axes).reshape(3, 3)
    # sorted by mixing time, each row: contours, F2 slices, F1 slices
    assert [r[0].get_title(loc="left").split(",")[0] for r in rows] == [
        r"$t_\mathrm{m}$ = 0.01 s", r"$t_\mathrm{m}$ = 0.2 s", r"$t_\mathrm{m}$ = 1 s"]
    assert "phases not recorded" in rows[0][0].get_title(loc="left")
    hot_title = np.array(figs[1].axes).reshape(3, 3)[0][0].get_title(loc="left")
    assert "phases F2 12.0/−3.5°, F1 90.0/0.0° (0th/1st order)" in hot_title
    # the lowest contour is 5 noise sigmas (noise 0.05; the estimate is blockwise MAD)
    spec = sorted(spectra[:3], key=lambda s: s.mixing_time_s)[0]
    lowest = min(c.levels.min() for c in rows[0][0].collections if hasattr(c, "levels")
                 and c.levels.min() > 0)
    assert lowest == pytest.approx(5 * noise_sigma(spec), rel=1e-12)
    assert noise_sigma(spec) == pytest.approx(0.05, rel=0.2)
    # F2 slice of site Li2S = the row of the spectrum at F1 = 2 ppm
    row = int(np.argmin(np.abs(spec.ppm_f1 - 2.0)))
    line = rows[0][1].get_lines()[0]
    keep = (spec.ppm_f2 >= -3.5) & (spec.ppm_f2 <= 3.5)
    np.testing.assert_allclose(line.get_ydata(), spec.data[row, keep])
    assert line.get_label() == "Li$_{2}$S (F1 = 2.00 ppm)"
    for fig in figs:
        plt.close(fig)


def test_regions_from_integration_and_pages(spectra):
    res = integrate_series(spectra[:3], {"A": 2.0, "B": -2.0},
                           options=IntegrationOptions(method="box"))
    figs = plot_series_overview(spectra[:3], SITES, regions=res, rows_per_page=2)
    assert [f.get_label() for f in figs] == ["show_300K_p1", "show_300K_p2"]
    ax = figs[0].axes[0]
    boxes = [p for p in ax.patches if isinstance(p, Rectangle)]
    assert len(boxes) == 4
    centres = sorted((round(b.get_x() + b.get_width() / 2, 3),
                      round(b.get_y() + b.get_height() / 2, 3)) for b in boxes)
    assert centres == [(-2.0, -2.0), (-2.0, 2.0), (2.0, -2.0), (2.0, 2.0)]
    assert len(figs[1].axes) == 3  # the third mixing time alone on page 2
    # without an integration: boxes of a given half width around every peak position
    (fig,) = plot_series_overview(spectra[:1], SITES, half_width_ppm=0.5)
    widths = {round(p.get_width(), 6) for p in fig.axes[0].patches}
    assert widths == {1.0}
    for f in [*figs, fig]:
        plt.close(f)


def test_no_sites_is_an_error(spectra):
    with pytest.raises(ValueError, match="no sites"):
        plot_series_overview(spectra, {})
    assert plot_series_overview([], SITES) == []


REAL_2D = Path(__file__).parents[2] / "shared/data/real/lcs-27al-31p-dhmqc-2d/1"


@pytest.mark.skipif(not REAL_2D.is_dir(), reason="../shared/data/real not present")
def test_real_bruker_2d_overview():
    from exsyfit.io.bruker import read_experiment

    (spec,) = read_experiment(REAL_2D, prefer="raw")
    i, j = np.unravel_index(np.argmax(spec.data), spec.data.shape)
    sites = {"peak": float(spec.ppm_f2[j])}
    (fig,) = plot_series_overview([spec], sites, margin_ppm=None)
    ax_c, ax_2, ax_1 = fig.axes
    # the phases the raw processing used are in the row title, as the spectrum records them
    p0_2 = spec.metadata["phases_deg"][0]
    assert f"phases F2 {p0_2:.1f}".replace("-", "−") in ax_c.get_title(loc="left")
    # contours from 5 sigma of the real noise; the strongest peak is above it
    lowest = min(c.levels.min() for c in ax_c.collections if hasattr(c, "levels")
                 and c.levels.min() > 0)
    assert lowest == pytest.approx(5 * noise_sigma(spec), rel=1e-12)
    assert spec.data.max() > 20 * noise_sigma(spec)
    # full ppm range, reversed
    assert ax_c.get_xlim() == pytest.approx((spec.ppm_f2.max(), spec.ppm_f2.min()))
    plt.close(fig)


def test_slice_legend_above_the_peaks_and_short_titles():
    # the strong site on the right, under the legend's corner unless there is room above it
    folder = "/data/nmr/2026/li6ps5cl/argyrodite_series/"
    long = [replace(s, experiment=folder + Path(s.source).name) for s in _series(pos_b=6.0)]
    (fig,) = plot_series_overview(long, {"A": 2.0, "B": 6.0}, level_sigma=5.0)
    rows = np.array(fig.axes).reshape(3, 3)
    fig.canvas.draw()
    ax = rows[0][1]
    legend_box = ax.get_legend().get_window_extent()
    for line in ax.get_lines()[:2]:
        x, y = line.get_xydata().T
        order = np.argsort(x)
        fine = np.linspace(x.min(), x.max(), 2000)  # the drawn segments, not only the points
        xy = ax.transData.transform(np.column_stack([fine, np.interp(fine, x[order],
                                                                     y[order])]))
        inside = ((xy[:, 0] >= legend_box.x0) & (xy[:, 0] <= legend_box.x1)
                  & (xy[:, 1] >= legend_box.y0) & (xy[:, 1] <= legend_box.y1))
        assert not inside.any()  # no slice point under the legend
    title = rows[0][0].get_title(loc="left").splitlines()[0]
    assert title == r"$t_\mathrm{m}$ = 0.01 s, …/argyrodite_series/tm0.01"
    plt.close(fig)
