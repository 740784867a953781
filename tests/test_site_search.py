"""Sites are searched near their configured shift within a stated tolerance, never moved far.

Two-site spectra rendered with :class:`exsyfit.processing.lineshapes.SimPeak` (lines 0.6 ppm
FWHM, 5 ppm apart) plus white noise.  The cross-peak symmetry statistic is checked on tables
whose z values are known.
"""

import numpy as np
import pandas as pd
import pytest

from exsyfit.errors import ConfigError
from exsyfit.integrate.checks import cross_peak_symmetry, symmetry_test
from exsyfit.integrate.options import IntegrationOptions
from exsyfit.integrate.series import integrate_series
from exsyfit.io.spectrum import Spectrum2D
from exsyfit.processing.lineshapes import SimPeak

FWHM = 0.6
TRUE = {"A": 6.0, "B": 1.0}


def _series(n=2, seed=3, b_volume=60.0):
    f1 = np.linspace(12.0, -5.0, 128, endpoint=False)
    f2 = np.linspace(12.0, -5.0, 256, endpoint=False)
    rng = np.random.default_rng(seed)
    peaks = [SimPeak(6.0, 6.0, 80.0, FWHM, FWHM, 0.5, 0.5),
             SimPeak(1.0, 1.0, b_volume, FWHM, FWHM, 0.5, 0.5),
             SimPeak(6.0, 1.0, 8.0, FWHM, FWHM, 0.5, 0.5),
             SimPeak(1.0, 6.0, 8.0, FWHM, FWHM, 0.5, 0.5)]
    clean = sum(p.render(f1, f2) for p in peaks)
    return [Spectrum2D(clean + rng.normal(0, 0.2, clean.shape), f1, f2, mixing_time_s=tm,
                       temperature_K=300.0, source=f"s{k}", sf_mhz=100.0)
            for k, tm in enumerate((0.01, 0.1)[:n])]


def test_site_beyond_one_fwhm_is_an_error_naming_configured_and_found_shift():
    spectra = _series()
    with pytest.raises(ConfigError) as err:
        integrate_series(spectra, {"A": 6.0, "B": 1.73})
    msg = str(err.value)
    assert "sites.B.ppm = 1.73" in msg
    found = float(msg.split("F2 ")[1].split(" ppm")[0])
    assert found == pytest.approx(1.0, abs=0.03)
    assert "search_ppm" in msg


def test_site_within_one_fwhm_is_found_and_reported():
    spectra = _series()
    res = integrate_series(spectra, {"A": 6.0, "B": 1.25},
                           options=IntegrationOptions(method="lineshape"))
    pos = {p["site"]: p for p in res.site_positions()}
    assert pos["B"]["configured_ppm"] == 1.25
    assert pos["B"]["found_f2_ppm"] == pytest.approx(1.0, abs=0.03)
    assert pos["B"]["fitted_f1_ppm"] == pytest.approx(1.0, abs=0.02)
    assert pos["B"]["fitted_f2_ppm"] == pytest.approx(1.0, abs=0.02)
    # the default tolerance is the measured full width at half height of the line
    assert pos["B"]["search_f2_ppm"] == pytest.approx(FWHM, rel=0.15)
    rows = res.table[(res.table.from_site == "B") & (res.table.to_site == "A")]
    assert rows["center_f1_ppm"].to_numpy() == pytest.approx(1.0, abs=0.02)
    assert rows["center_f2_ppm"].to_numpy() == pytest.approx(6.0, abs=0.02)


def test_search_ppm_widens_the_tolerance():
    spectra = _series()
    res = integrate_series(spectra, {"A": 6.0, "B": 1.73},
                           options=IntegrationOptions.from_dict({"search_ppm": 1.0}))
    pos = {p["site"]: p for p in res.site_positions()}
    assert pos["B"]["search_f1_ppm"] == 1.0
    assert pos["B"]["fitted_f2_ppm"] == pytest.approx(1.0, abs=0.02)
    with pytest.raises(ConfigError, match="search_ppm = 0.1"):
        integrate_series(spectra, {"A": 6.0, "B": 1.25},
                         options=IntegrationOptions.from_dict({"search_ppm": 0.1}))


def test_symmetry_statistic_values():
    t = symmetry_test("A", "B", [10.0, 12.0], [10.0, 10.0], [1.0, 1.0], [1.0, 1.0],
                      warning_sigma=3.5)
    assert t.z == pytest.approx([0.0, 2 / np.sqrt(2)])
    assert t.combined_z == pytest.approx(np.sqrt(2) / np.sqrt(2))
    assert t.rms_z == pytest.approx(1.0)
    assert not t.asymmetric
    big = symmetry_test("A", "B", [20.0], [10.0], [1.0], [1.0])
    assert big.asymmetric and big.flagged == (0,)
    # a covariance between the two volumes shrinks the variance of the difference
    cov = symmetry_test("A", "B", [11.0], [10.0], [1.0], [1.0], 0.5)
    assert cov.z[0] == pytest.approx(1.0)


def test_symmetry_from_a_table_averages_repeats():
    rows = []
    for tm in (0.1, 0.2):
        for rep in range(2):
            rows += [dict(temperature_K=300.0, mixing_time_s=tm, from_site="A", to_site="B",
                          volume=5.0 + rep, sigma=1.0),
                     dict(temperature_K=300.0, mixing_time_s=tm, from_site="B", to_site="A",
                          volume=4.5, sigma=1.0)]
    (test,) = cross_peak_symmetry(pd.DataFrame(rows), ["A", "B"])
    # repeats average to 5.5 with variance 1/2; z = (5.5 - 4.5) / sqrt(1/2 + 1/2) = 1
    assert test.z == pytest.approx([1.0, 1.0])
    assert test.combined_z == pytest.approx(2 / np.sqrt(2))


def test_two_sites_at_one_shift_are_named():
    with pytest.raises(ConfigError, match=r"sites.A.ppm = 6 and sites.B.ppm = 6 .* 0 ppm apart"):
        integrate_series(_series(), {"A": 6.0, "B": 6.0})


def test_a_site_too_weak_to_locate_keeps_its_shift_with_a_warning():
    spectra = _series(b_volume=0.3)  # B's maximum about 2 noise standard deviations
    res = integrate_series(spectra, {"A": 6.0, "B": 1.73},
                           options=IntegrationOptions(method="box"))
    assert any("near sites.B.ppm = 1.73" in w and "configured shift is used" in w
               for w in res.warnings)
    pos = {p["site"]: p for p in res.site_positions()}
    assert pos["B"]["found_f2_ppm"] == 1.73
