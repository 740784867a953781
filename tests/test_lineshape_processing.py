"""Processing-aware line shapes: exact lines of spectra processed from raw data."""

from __future__ import annotations

import numpy as np
import pytest

from exsyfit.integrate.options import IntegrationOptions
from exsyfit.integrate.series import integrate_series
from exsyfit.io import bruker, varian
from exsyfit.processing.lineshapes import ProcessedLineProfile, SimPeak, pseudo_voigt
from exsyfit.processing.transforms import (
    ProcessingOptions,
    apodize,
    fft_nmr,
    ppm_axis,
    scale_first_point,
    zero_fill,
)
from exsyfit.simulate import bruker as sim_bruker
from exsyfit.simulate import varian as sim_varian

SF = 155.5


def _decay(t, fwhm_hz, eta):
    x = np.pi * fwhm_hz * t
    return eta * np.exp(-x) + (1.0 - eta) * np.exp(-(x**2) / (4.0 * np.log(2.0)))


def _brute_force(prof: ProcessedLineProfile, carrier_ppm, center, fwhm, eta):
    """Simulate the FID of a unit-amplitude line and process it like exsyfit does."""
    t = np.arange(prof.td_complex) / prof.sw_hz
    nu = (center - carrier_ppm) * prof.sf_mhz
    fid = np.exp(2j * np.pi * nu * t) * _decay(t, fwhm * prof.sf_mhz, eta)
    fid = scale_first_point(fid, prof.first_point_scale)
    fid = apodize(fid, prof.sw_hz, prof.window, prof.lb_hz, prof.gb, prof.ssb)
    spec = fft_nmr(zero_fill(fid, prof.size)) * 2.0 * prof.sf_mhz / prof.sw_hz
    ppm = ppm_axis(prof.size, prof.sw_hz, prof.sf_mhz, carrier_ppm)
    return ppm, spec.real


PROFILES = [
    ProcessedLineProfile(32, 5000.0, SF, "qsine", ssb=2.0, size=64),
    ProcessedLineProfile(32, 5000.0, SF, "qsine", ssb=3.0, size=128),
    ProcessedLineProfile(24, 4000.0, SF, "sine", ssb=2.0, size=64),
    ProcessedLineProfile(48, 5000.0, SF, "em", lb_hz=30.0, size=128),
    ProcessedLineProfile(40, 5000.0, SF, "gm", lb_hz=-20.0, gb=0.2, size=256),
    ProcessedLineProfile(188, 12440.0, SF, "none", size=512),
]


@pytest.mark.parametrize("prof", PROFILES, ids=lambda p: f"{p.window}-{p.td_complex}")
def test_profile_matches_simulated_and_processed_fid(prof):
    carrier = 1.8
    ppm, ref = _brute_force(prof, carrier, 1.337, 0.6, 0.4)
    got = prof.line(ppm, 1.337, 0.6, 0.4) * prof.integral_factor
    assert np.max(np.abs(got - ref)) < 1e-6 * np.max(np.abs(ref))
    # away from the carrier, near the edge of the window: aliasing is part of the profile
    edge = carrier + 0.47 * prof.sw_hz / SF
    ppm, ref = _brute_force(prof, carrier, edge, 1.5, 1.0)
    got = prof.line(ppm, edge, 1.5, 1.0) * prof.integral_factor
    assert np.max(np.abs(got - ref)) < 1e-6 * np.max(np.abs(ref))


@pytest.mark.parametrize("prof", PROFILES, ids=lambda p: f"{p.window}-{p.td_complex}")
def test_profile_has_unit_area(prof):
    ppm = ppm_axis(prof.size, prof.sw_hz, SF, 1.8)
    step = abs(ppm[1] - ppm[0])
    for centre, fwhm, eta in ((1.3, 0.6, 0.4), (2.31, 0.2, 0.0), (-3.0, 2.0, 1.0)):
        area = prof.line(ppm, centre, fwhm, eta).sum() * step
        assert area == pytest.approx(1.0, abs=1e-9)
    # independent of zero filling: the same area on a four times finer axis
    fine = ppm_axis(4 * prof.size, prof.sw_hz, SF, 1.8)
    area = prof.line(fine, 1.3, 0.6, 0.4).sum() * abs(fine[1] - fine[0])
    assert area == pytest.approx(1.0, abs=1e-9)


def test_integral_factor_is_first_point_times_window_at_zero():
    assert PROFILES[0].integral_factor == pytest.approx(1.0, abs=1e-12)
    shifted = ProcessedLineProfile(32, 5000.0, SF, "qsine", ssb=3.0, first_point_scale=0.5)
    assert shifted.integral_factor == pytest.approx(np.sin(np.pi / 3) ** 2, rel=1e-12)
    full_point = ProcessedLineProfile(32, 5000.0, SF, "none", first_point_scale=1.0)
    assert full_point.integral_factor == pytest.approx(2.0, rel=1e-12)


def test_long_unwindowed_acquisition_gives_the_pseudo_voigt():
    prof = ProcessedLineProfile(4096, 5000.0, SF, "none", size=4096)
    ppm = ppm_axis(4096, 5000.0, SF, 1.8)
    ppm = ppm[np.abs(ppm - 1.337) < 6.0]
    sw_ppm = 5000.0 / SF
    got = prof.line(ppm, 1.337, 0.6, 0.4)
    # the processed line is periodic (aliased): compare with the periodic pseudo-Voigt
    ref = sum(pseudo_voigt(ppm + k * sw_ppm, 1.337, 0.6, 0.4) for k in range(-200, 201))
    assert np.max(np.abs(got - ref)) < 1e-4 * ref.max()
    # without the aliased wings still within 0.1 % of the peak
    plain = pseudo_voigt(ppm, 1.337, 0.6, 0.4)
    assert np.max(np.abs(got - plain)) < 1e-3 * plain.max()
    # a short, cosine-squared window gives a clearly broader, lower line
    short = ProcessedLineProfile(32, 5000.0, SF, "qsine", ssb=2.0, size=64)
    top = short.line(np.array([1.8]), 1.8, 0.6, 0.4)[0]
    ratio = top / pseudo_voigt(1.8, 1.8, 0.6, 0.4)
    assert 0.2 < ratio < 0.6


def test_lines_vectorised_over_centres():
    prof = PROFILES[0]
    ppm = ppm_axis(64, 5000.0, SF, 1.8)
    many = prof.lines(ppm, np.array([1.3, 2.3]), np.array([0.65, 0.55]), np.array([0.4, 0.3]))
    assert many.shape == (64, 2)
    np.testing.assert_allclose(many[:, 1], prof.line(ppm, 2.3, 0.55, 0.3), rtol=0, atol=1e-12)


def test_from_metadata():
    meta = {"mode": "complex", "td_complex": 32, "sw_hz": 5000.0, "sf_mhz": SF,
            "window": "qsine", "ssb": 2.0, "lb_hz": 0.0, "gb": 0.0, "size": 64,
            "first_point_scale": 0.5}
    assert ProcessedLineProfile.from_metadata(meta) == PROFILES[0]
    assert ProcessedLineProfile.from_metadata(dict(meta, mode="tppi")) is None
    assert ProcessedLineProfile.from_metadata({"td_complex": 32}) is None
    assert ProcessedLineProfile.from_metadata(None) is None
    with pytest.raises(ValueError, match="window"):
        ProcessedLineProfile(32, 5000.0, SF, "traf")


# --------------------------------------------------------------------------------------------
# Readers: the recorded processing reproduces the spectra
# --------------------------------------------------------------------------------------------

PEAK = SimPeak(1.3, 1.8, 2.0, 0.6, 0.5, 0.4, 0.3)
RAW = dict(td2=256, td1=32, sw_ppm_f2=80.0, sw_ppm_f1=32.0, o1_ppm=1.8, sf_mhz=SF,
           window_f1="qsine", ssb_f1=2.0, dtype="float64")


def _model(spec, volume=2.0):
    p1 = ProcessedLineProfile.from_metadata(spec.metadata["processing_f1"])
    p2 = ProcessedLineProfile.from_metadata(spec.metadata["processing_f2"])
    return volume * np.outer(p1.line(spec.ppm_f1, PEAK.ppm_f1, PEAK.fwhm_f1_ppm, PEAK.eta_f1),
                             p2.line(spec.ppm_f2, PEAK.ppm_f2, PEAK.fwhm_f2_ppm, PEAK.eta_f2))


def test_bruker_raw_metadata_reproduces_analog_spectrum(tmp_path):
    folder = sim_bruker.write_raw(tmp_path / "1", [PEAK], grpdly=0.0, **RAW)
    spec = bruker.read_experiment(folder, prefer="raw")[0]
    f1, f2 = spec.metadata["processing_f1"], spec.metadata["processing_f2"]
    assert (f1["td_complex"], f1["window"], f1["ssb"], f1["size"]) == (16, "qsine", 2.0, 32)
    assert f1["sw_hz"] == pytest.approx(32.0 * SF)
    assert (f2["td_complex"], f2["window"], f2["first_point_scale"]) == (256, "none", 0.5)
    model = _model(spec)
    assert np.max(np.abs(spec.data - model)) < 1e-6 * model.max()


def test_bruker_raw_metadata_digital_filter(tmp_path):
    folder = sim_bruker.write_raw(tmp_path / "1", [PEAK], grpdly=67.986, **RAW)
    spec = bruker.read_experiment(folder, prefer="raw")[0]
    f2 = spec.metadata["processing_f2"]
    # the group delay is removed before apodisation; the first point holds half the signal
    assert f2["td_complex"] == 256 - 68
    assert f2["first_point_scale"] == pytest.approx(0.5)
    model = _model(spec)
    # band-limited shifting of a truncated FID leaves a small ripple only
    assert np.max(np.abs(spec.data - model)) < 3e-3 * model.max()
    pv = 2.0 * np.outer(pseudo_voigt(spec.ppm_f1, 1.3, 0.6, 0.4),
                        pseudo_voigt(spec.ppm_f2, 1.8, 0.5, 0.3))
    assert np.max(np.abs(spec.data - pv)) > 0.2 * model.max()


def test_bruker_processing_options_recorded(tmp_path):
    folder = sim_bruker.write_raw(tmp_path / "1", [PEAK], grpdly=0.0, **RAW)
    opts = ProcessingOptions(window_f2="em", lb_hz_f2=20.0, size_f1=128, window_f1="sine",
                             ssb_f1=3.0)
    spec = bruker.read_experiment(folder, prefer="raw", options=opts)[0]
    f1, f2 = spec.metadata["processing_f1"], spec.metadata["processing_f2"]
    assert (f2["window"], f2["lb_hz"]) == ("em", 20.0)
    assert (f1["window"], f1["ssb"], f1["size"]) == ("sine", 3.0, 128)
    p1 = ProcessedLineProfile.from_metadata(f1)
    model = _model(spec) * p1.integral_factor
    assert np.max(np.abs(spec.data - model)) < 1e-6 * model.max()


def test_varian_metadata_reproduces_spectrum(tmp_path):
    folder = sim_varian.write_fid(tmp_path / "v.fid", [PEAK], np_=512, ni=24, sw_hz=80.0 * SF,
                              sw1_hz=30.0 * SF, sfrq_mhz=SF, carrier_ppm=1.8,
                              dtype="float32")
    spec = varian.read_experiment(folder, normalise=True)[0]
    f1 = spec.metadata["processing_f1"]
    assert (f1["td_complex"], f1["window"], f1["first_point_scale"]) == (24, "none", 0.5)
    model = _model(spec)
    assert np.max(np.abs(spec.data - model)) < 1e-5 * model.max()


# --------------------------------------------------------------------------------------------
# Integration with the processed profile
# --------------------------------------------------------------------------------------------


def _series(tmp_path, rng):
    peaks = [SimPeak(1.3, 1.3, 0.9, 0.65, 0.65, 0.4, 0.4),
             SimPeak(2.3, 2.3, 0.12, 0.55, 0.55, 0.3, 0.3),
             SimPeak(1.3, 2.3, 0.01, 0.65, 0.55, 0.4, 0.3),
             SimPeak(2.3, 1.3, 0.01, 0.55, 0.65, 0.3, 0.4)]
    spectra = []
    for k, scale in enumerate((1.0, 0.8)):
        pk = [SimPeak(p.ppm_f1, p.ppm_f2, p.volume * (scale if p.ppm_f1 == p.ppm_f2 else
                                                      1 + 4 * k), p.fwhm_f1_ppm, p.fwhm_f2_ppm,
                      p.eta_f1, p.eta_f2) for p in peaks]
        folder = sim_bruker.write_raw(tmp_path / str(k + 1), pk, noise_rms=2e-4, rng=rng,
                                  d8_s=0.01 * (1 + k), te_K=300.0, **dict(RAW, dtype="int32"))
        spectra.append((bruker.read_experiment(folder, prefer="raw")[0], pk))
    return spectra


def test_integration_uses_processed_profile(tmp_path):
    rng = np.random.default_rng(5)
    pairs = _series(tmp_path, rng)
    spectra = [s for s, _ in pairs]
    truth = np.array([[p.volume for p in pk] for _, pk in pairs])  # peak order as written
    sites = {"a": 1.3, "b": 2.3}
    order = [0, 2, 3, 1]  # (a->a, a->b, b->a, b->b) in exsyfit's peak order j*n+i
    res = integrate_series(spectra, sites, options=IntegrationOptions(method="lineshape"))
    g = res.groups[0]
    assert g.profiles[0] is not None and g.profiles[1] is not None
    sig = np.sqrt(np.diagonal(g.cov, axis1=1, axis2=2))
    z = (g.volumes - truth[:, order]) / sig
    assert np.max(np.abs(z)) < 4.0
    assert 0.7 < g.misfit_ratio < 1.3
    assert not [w for w in res.warnings if "residuals" in w or "negative" in w]
    shape = {s.name: s for s in g.shapes}
    assert shape["a"].fwhm_f1 == pytest.approx(0.65, abs=0.08)
    assert shape["a"].fwhm_f2 == pytest.approx(0.65, abs=0.03)
    # the analytic pseudo-Voigt cannot describe the cosine-squared, 16-point F1 line
    off = integrate_series(spectra, sites, options=IntegrationOptions(
        method="lineshape", processed_lineshape=False))
    assert off.groups[0].profiles == (None, None)
    assert off.groups[0].misfit_ratio > 1.5 * g.misfit_ratio
    # the model spectrum uses the same profile
    model = g.model_spectrum(0, spectra[0].ppm_f1, spectra[0].ppm_f2, include_baseline=False)
    resid = spectra[0].data - model
    assert np.max(np.abs(resid)) < 0.02 * np.max(spectra[0].data)


def test_processed_series_keeps_pseudo_voigt():
    from exsyfit.io.spectrum import Spectrum2D

    ppm1 = ppm_axis(128, 32 * SF, SF, 1.8)
    ppm2 = ppm_axis(256, 32 * SF, SF, 1.8)
    data = 1.0 * np.outer(pseudo_voigt(ppm1, 1.3, 0.6, 0.5), pseudo_voigt(ppm2, 1.3, 0.6, 0.5))
    data += 0.1 * np.outer(pseudo_voigt(ppm1, 2.3, 0.6, 0.5), pseudo_voigt(ppm2, 2.3, 0.6, 0.5))
    data += np.random.default_rng(1).normal(0, 1e-4, data.shape)
    spec = Spectrum2D(data, ppm1, ppm2, sf_mhz=SF, mixing_time_s=0.01, temperature_K=300.0,
                      format="bruker-processed")
    res = integrate_series([spec], {"a": 1.3, "b": 2.3},
                           options=IntegrationOptions(method="lineshape"))
    assert res.groups[0].profiles == (None, None)
    assert res.table.volume.iloc[0] == pytest.approx(1.0, abs=0.01)


# --------------------------------------------------------------------------------------------
# TopSpin-processed 2rr: line profile from procs / proc2s (processed_lineshape = "procs")
# --------------------------------------------------------------------------------------------

TS_RAW = dict(td2=256, td1=64, sw_ppm_f2=40.0, sw_ppm_f1=16.0, o1_ppm=1.8, sf_mhz=SF,
              window_f1="qsine", ssb_f1=2.0, dtype="int32", fnmode="States-TPPI")
# (mixing time s, diagonal a, diagonal b, each cross peak)
TS_SERIES = [(0.002, 0.9, 0.12, 0.002), (0.01, 0.85, 0.115, 0.01), (0.025, 0.8, 0.11, 0.025)]


def _parameter_files(folder):
    import nmrglue as ng

    files = {"acqus": "acqus", "acqu2s": "acqu2s", "procs": "pdata/1/procs",
             "proc2s": "pdata/1/proc2s"}
    return {k: ng.bruker.read_jcamp(str(folder / f)) for k, f in files.items()}


def _topspin_like_series(tmp_path, grpdly, seed=3):
    """Raw States-TPPI series (32 complex t1 points, cos^2 in F1) processed here and stored
    as 2rr with the raw experiment's acquisition and processing parameters."""
    rng = np.random.default_rng(seed)
    spectra, truth = [], []
    for k, (tm, da, db, x) in enumerate(TS_SERIES):
        peaks = [SimPeak(1.3, 1.3, da, 0.65, 0.65, 0.4, 0.4),
                 SimPeak(1.3, 2.3, x, 0.65, 0.55, 0.4, 0.3),
                 SimPeak(2.3, 1.3, x, 0.55, 0.65, 0.3, 0.4),
                 SimPeak(2.3, 2.3, db, 0.55, 0.55, 0.3, 0.3)]
        raw = sim_bruker.write_raw(tmp_path / f"raw{k}", peaks, noise_rms=2e-4, rng=rng, d8_s=tm,
                               te_K=300.0, grpdly=grpdly, **TS_RAW)
        spec = bruker.read_experiment(raw, prefer="raw")[0]
        out = sim_bruker.write_processed(tmp_path / f"2rr{k}", spec,
                                     parameters=_parameter_files(raw))
        spectra.append(bruker.read_experiment(out, prefer="processed")[0])
        truth.append([da, x, x, db])  # exsyfit's peak order a->a, a->b, b->a, b->b
    return spectra, np.array(truth)


def _z(res, truth):
    g = res.groups[0]
    sig = np.sqrt(np.diagonal(g.cov, axis1=1, axis2=2))
    return (g.volumes - truth) / sig, (g.volumes - truth) / truth


def test_topspin_2rr_volumes_with_procs_profile(tmp_path):
    spectra, truth = _topspin_like_series(tmp_path, grpdly=0.0)
    f1 = spectra[0].metadata["processing_f1_topspin"]
    assert (f1["mode"], f1["td_complex"], f1["window"], f1["ssb"]) == ("complex", 32, "qsine", 2.0)
    assert "processing_f1" not in spectra[0].metadata
    sites = {"a": 1.3, "b": 2.3}
    res = integrate_series(spectra, sites, options=IntegrationOptions(
        method="lineshape", processed_lineshape="procs"))
    g = res.groups[0]
    assert g.profiles[0] is not None and g.profiles[1] is not None
    z, _ = _z(res, truth)
    assert np.max(np.abs(z)) < 4.0
    assert 0.7 < g.misfit_ratio < 1.3
    assert not [w for w in res.warnings if "residuals" in w or "pseudo-Voigt" in w]
    # the default is "procs"; with True exact profiles are used only for data processed here,
    # so pseudo-Voigt lines for 2rr, which bias the small cross peaks at short mixing time and
    # the diagonal peaks
    default = integrate_series(spectra, sites, options=IntegrationOptions(method="lineshape"))
    assert default.groups[0].profiles[0] is not None
    pv = integrate_series(spectra, sites, options=IntegrationOptions(
        method="lineshape", processed_lineshape=True))
    assert pv.groups[0].profiles == (None, None)
    z_pv, rel_pv = _z(pv, truth)
    assert np.max(np.abs(z_pv)) > 10.0
    assert np.max(np.abs(rel_pv[0, 1:3])) > 0.2  # cross peaks of the shortest mixing time
    hint = [w for w in pv.warnings if "residuals" in w]
    assert hint and 'processed_lineshape = "procs"' in hint[0] and 'prefer = "raw"' in hint[0]


def test_topspin_2rr_digital_filter_exact_f2(tmp_path):
    spectra, truth = _topspin_like_series(tmp_path, grpdly=67.986)
    f2 = spectra[0].metadata["processing_f2_topspin"]
    assert (f2["mode"], f2["window_offset"], f2["td_complex"]) == ("complex", 67.986, 188)
    res = integrate_series(spectra, {"a": 1.3, "b": 2.3}, options=IntegrationOptions(
        method="lineshape", processed_lineshape="procs"))
    g = res.groups[0]
    assert g.profiles[0] is not None and g.profiles[1] is not None
    z, rel = _z(res, truth)
    assert np.max(np.abs(z)) < 4.0
    assert np.max(np.abs(rel[:, [0, 3]])) < 1e-3
    assert 0.7 < g.misfit_ratio < 1.3


def test_procs_option_reports_why_f1_stays_pseudo_voigt(tmp_path):
    raw = sim_bruker.write_raw(tmp_path / "raw", [PEAK], grpdly=0.0, **dict(RAW, fnmode="TPPI"))
    spec = bruker.read_experiment(raw, prefer="raw")[0]
    out = sim_bruker.write_processed(tmp_path / "2rr", spec, parameters=_parameter_files(raw))
    spec = bruker.read_experiment(out, prefer="processed")[0]
    assert spec.metadata["processing_f1_topspin"]["mode"] == "unsupported"
    res = integrate_series([spec], {"a": 1.3, "b": 1.8}, options=IntegrationOptions(
        method="lineshape", processed_lineshape="procs"))
    assert res.groups[0].profiles[0] is None
    assert [w for w in res.warnings if "F1 lines stay pseudo-Voigt" in w and "TPPI" in w]
