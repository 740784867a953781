"""One temperature rule: calibration, grouping, and the sample temperature on every spectrum."""

from __future__ import annotations

import warnings
from dataclasses import replace

import numpy as np
import pytest

from exsyfit.config import config_from_dict
from exsyfit.errors import ConfigError
from exsyfit.io.series import read_series
from exsyfit.io.temperature import group_temperatures, is_calibrated
from exsyfit.simulate import series as sim

_BASE = sim.example_truth("argyrodite_li2s", noise_rms=0.0, t1_noise=0.0)
TRUTH = replace(_BASE, sites=(replace(_BASE.sites[0], ppm=-2.0, sidebands=()),
                              replace(_BASE.sites[1], ppm=6.0)))
SMALL = sim.Acquisition(n_f1=64, n_f2=128, sw_ppm_f2=40.0, carrier_ppm=2.0)


def test_grouping_joins_within_tolerance_of_the_coldest_member():
    groups, means = group_temperatures([303.2, 263.0, 302.5, 264.1, 343.0, 305.0], 2.0)
    assert list(groups) == [1, 0, 1, 0, 3, 2]  # 305.0 is 2.5 K above 302.5: a new group
    assert means[1] == pytest.approx((263.0 + 264.1) / 2)
    assert means[0] == pytest.approx((303.2 + 302.5) / 2)


def test_grouping_with_zero_tolerance_and_unknown_values():
    groups, means = group_temperatures([300.0, None, 300.0, float("nan"), 300.1], 0.0)
    assert list(groups) == [0, -1, 0, -1, 1]
    assert np.isnan(means[1]) and np.isnan(means[3]) and means[4] == pytest.approx(300.1)
    with pytest.raises(ConfigError, match="temperature_tolerance_K"):
        group_temperatures([300.0], -1.0)


def test_is_calibrated():
    assert not is_calibrated("set value, uncalibrated (file TE)")
    assert is_calibrated("calibration slope/offset") and is_calibrated("per-experiment value")


@pytest.fixture(scope="module")
def folder(tmp_path_factory):
    d = tmp_path_factory.mktemp("temps")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        sim.simulate_series(d, TRUTH, [300.0, 301.0, 330.0], [0.01, 0.1], seed=1,
                            acquisition=SMALL)
    return d


def test_read_series_from_a_config_applies_the_calibration(folder):
    raw = {"data": {"paths": ["*"], "temperature_tolerance_K": 1.5, "replicates": True},
           "temperature": {"slope": 1.02, "offset_K": 3.0, "sigma_K": 0.7},
           "sites": {"A": {"ppm": -2.0}, "B": {"ppm": 6.0}},
           "model": {"temperature_model": "arrhenius", "exchange": ["A<->B"]}}
    config = config_from_dict(raw, folder / "config.toml")
    s = read_series(config)
    cal = [1.02 * t + 3.0 for t in (300.0, 300.0, 301.0, 301.0, 330.0, 330.0)]
    g1 = (cal[0] + cal[2]) / 2  # 300 and 301 K set lie 1.02 K apart: one group
    assert [sp.sample_temperature_K for sp in s.spectra] == pytest.approx(
        [g1, g1, g1, g1, cal[4], cal[4]])
    assert list(s.temperatures_K) == pytest.approx([sp.sample_temperature_K for sp in s.spectra])
    assert all(sp.temperature_sigma_K == 0.7 for sp in s.spectra)
    assert [sp.experiment for sp in s.spectra] == ["10", "11", "12", "13", "14", "15"]
    sp = s.spectra[2]
    assert sp.temperature_K == 301.0  # the set value from the file is kept
    assert sp.metadata["calibrated_temperature_K"] == pytest.approx(cal[2])
    assert sp.metadata["temperature_source"] == "calibration slope/offset"
    assert sp.metadata["temperature_calibrated"] is True


def test_read_series_without_calibration_says_uncalibrated(folder):
    s = read_series(["*"], folder, temperature_tolerance_K=0.5)
    assert [sp.sample_temperature_K for sp in s.spectra] == [300.0, 300.0, 301.0, 301.0,
                                                             330.0, 330.0]
    assert all(sp.metadata["temperature_calibrated"] is False for sp in s.spectra)
    assert s.spectra[0].metadata["temperature_source"] == "set value, uncalibrated (file TE)"
    assert s.spectra[0].temperature_sigma_K == 0.0


def test_read_series_needs_paths_and_folder_or_a_config():
    with pytest.raises(ConfigError, match="read_series"):
        read_series(["*"])


def test_integrating_spectra_of_a_calibrated_series_uses_the_sample_temperature(folder):
    from exsyfit.integrate.series import integrate_series

    s = read_series(["1[01]", "1[45]"], folder,
                    temperature_calibration={"slope": 1.0, "offset_K": 4.0})
    volumes = integrate_series(s.spectra, {"A": -2.0, "B": 6.0}).table
    assert sorted(set(volumes["temperature_K"])) == [304.0, 334.0]
