"""The integration QC figure: axes, labels and drawn artists."""

import matplotlib

matplotlib.use("Agg")

import numpy as np  # noqa: E402
import pytest  # noqa: E402
from matplotlib.figure import Figure  # noqa: E402
from matplotlib.patches import Ellipse, Rectangle  # noqa: E402

from exsyfit.integrate.options import IntegrationOptions  # noqa: E402
from exsyfit.integrate.series import integrate_series  # noqa: E402
from exsyfit.io.spectrum import Spectrum2D  # noqa: E402
from exsyfit.output.qc import plot_integration_qc  # noqa: E402
from exsyfit.processing.lineshapes import SimPeak  # noqa: E402


def _series(pos_b=1.0):
    f1 = np.linspace(10, -6, 96, endpoint=False)
    f2 = np.linspace(10, -6, 160, endpoint=False)
    rng = np.random.default_rng(0)
    out = []
    for tm, (vaa, vbb, vab) in {0.01: (87, 9, 1), 0.2: (55, 2, 6), 1.0: (13, 0.2, 1.7)}.items():
        peaks = [SimPeak(2.0, 2.0, vaa, 0.8, 0.8), SimPeak(pos_b, pos_b, vbb, 0.8, 0.8),
                 SimPeak(2.0, pos_b, vab, 0.8, 0.8), SimPeak(pos_b, 2.0, vab, 0.8, 0.8)]
        data = sum(p.render(f1, f2) for p in peaks) + rng.normal(0, 0.05, (96, 160))
        out.append(Spectrum2D(data, f1, f2, nucleus="7Li", mixing_time_s=tm,
                              temperature_K=300.0, source=f"tm{tm}"))
    return out


def test_lineshape_qc_figure():
    spectra = _series()
    res = integrate_series(spectra, {"A": 2.0, "B": 1.0},
                           options=IntegrationOptions(method="lineshape"))
    fig = plot_integration_qc(spectra, res)
    assert isinstance(fig, Figure)
    axes = fig.axes
    assert len(axes) == 7  # every mixing time (3), its residual (3) and one colour bar
    for ax in axes[:6]:
        assert ax.get_xlabel() == "$^{7}$Li F2 (ppm)"
        assert ax.get_ylabel() == "$^{7}$Li F1 (ppm)"
        x0, x1 = ax.get_xlim()
        y0, y1 = ax.get_ylim()
        assert x0 > x1 and y0 > y1  # ppm decreasing to the right and upwards
    titles = [ax.get_title(loc="left") for ax in axes[:3]]
    assert titles == [r"$t_\mathrm{m}$ = 0.01 s", r"$t_\mathrm{m}$ = 0.2 s",
                      r"$t_\mathrm{m}$ = 1 s"]
    assert "residual" in axes[3].get_title(loc="left")
    assert axes[6].get_ylabel() == "(data − model)/σ"
    # four fitted peaks drawn as FWHM ellipses, plus the fit window
    assert sum(isinstance(p, Ellipse) for p in axes[0].patches) == 4
    assert sum(isinstance(p, Rectangle) for p in axes[0].patches) == 1
    assert len(axes[3].images) == 1 and axes[0].collections
    # residual in noise units: the fitted model leaves noise of unit scale
    z = axes[3].images[0].get_array()
    assert 0.6 < float(np.std(z)) < 1.6
    # the lowest contour is 4 noise sigmas (noise 0.05), not the noise itself
    lowest = min(c.levels.min() for c in axes[0].collections if c.levels.min() > 0)
    assert lowest == pytest.approx(4 * 0.05, rel=0.15)


def test_box_qc_figure_draws_regions_into_given_figure():
    spectra = _series(pos_b=-2.0)
    res = integrate_series(spectra, {"A": 2.0, "B": -2.0},
                           options=IntegrationOptions(method="box"))
    fig = Figure()
    out = plot_integration_qc(spectra[::-1], res, fig=fig)
    assert out is fig
    assert len(fig.axes) == 3  # one panel per mixing time, no residuals in box mode
    assert sum(isinstance(p, Rectangle) for p in fig.axes[0].patches) == 4
    assert fig.axes[0].get_xlabel() == "$^{7}$Li F2 (ppm)"
    assert "0.01 s" in fig.axes[0].get_title(loc="left")  # sorted by mixing time


def test_qc_figure_rejects_foreign_spectra():
    spectra = _series()
    res = integrate_series(spectra, {"A": 2.0, "B": 1.0},
                           options=IntegrationOptions(method="lineshape"))
    other = [Spectrum2D(s.data, s.ppm_f1, s.ppm_f2, source="elsewhere") for s in spectra[:2]]
    with pytest.raises(ValueError, match="do not match"):
        plot_integration_qc(other, res)
