"""Tests of the pure processing transforms (exsyfit.processing.transforms)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from exsyfit.errors import ConfigError
from exsyfit.processing.transforms import (
    AcquisitionParameters,
    ProcessingOptions,
    auto_phase,
    baseline_2d,
    fft_nmr,
    phase,
    phase_2d,
    ppm_axis,
    process_2d,
    remove_group_delay,
    scale_first_point,
    transform_2d,
    window_function,
)

REAL = Path(__file__).resolve().parents[2] / "shared" / "data" / "real"


def _lorentz_fid(n: int, sw: float, nu: float, fwhm: float, amp: float = 1.0) -> np.ndarray:
    t = np.arange(n) / sw
    return amp * np.exp(2j * np.pi * nu * t - np.pi * fwhm * t)


# ---------------------------------------------------------------- FT conventions


def test_carrier_at_n_over_2_and_frequency_decreasing_with_index():
    n, sw = 64, 6400.0
    dc = fft_nmr(np.ones(n, complex))
    assert np.argmax(np.abs(dc)) == n // 2
    # +sw/4 must land a quarter of the way from the left edge (higher frequency = lower index)
    plus = fft_nmr(np.exp(2j * np.pi * (sw / 4) * np.arange(n) / sw))
    assert np.argmax(np.abs(plus)) == n // 4
    minus = fft_nmr(np.exp(-2j * np.pi * (sw / 4) * np.arange(n) / sw))
    assert np.argmax(np.abs(minus)) == 3 * n // 4


def test_ppm_axis_matches_topspin_offset_formula():
    n, sw, sf, car = 2048, 20833.3333333334, 104.311138, -3.0
    ppm = ppm_axis(n, sw, sf, car)
    offset = car + sw / (2 * sf)
    np.testing.assert_allclose(ppm, offset - np.arange(n) * sw / (sf * n), rtol=0, atol=1e-9)
    assert ppm[n // 2] == pytest.approx(car, abs=1e-12)


def test_fid_amplitude_equals_integral_over_ppm():
    n, sw, sf = 4096, 5000.0, 155.0
    amp, nu = 3.7, 400.0
    fid = scale_first_point(_lorentz_fid(n, sw, nu, 5.0, amp), 0.5)
    spec = fft_nmr(fid).real * 2 * sf / sw
    ppm = ppm_axis(n, sw, sf, 0.0)
    step = abs(ppm[1] - ppm[0])
    assert spec.sum() * step == pytest.approx(amp, rel=1e-6)
    # the peak sits at nu / sf ppm within one point
    assert abs(ppm[np.argmax(spec)] - nu / sf) <= step


def test_remove_group_delay_undoes_a_fractional_delay():
    n, sw, g = 512, 1000.0, 67.986
    fid = _lorentz_fid(n, sw, 120.0, 20.0)
    buf = np.zeros(2 * n, complex)
    buf[:n] = fid
    f = np.fft.fftfreq(2 * n)
    delayed = np.fft.ifft(np.fft.fft(buf) * np.exp(-2j * np.pi * g * f))[:n]
    back = remove_group_delay(delayed, g)
    assert back.shape == (n - 68,)
    np.testing.assert_allclose(back[:300], fid[:300], atol=2e-3)
    # a truncated (integer) delay would leave a large error
    wrong = remove_group_delay(delayed, 67.0)
    assert np.abs(wrong[:300] - fid[:300]).max() > 0.1


def test_phase_convention_pivot_left_and_sign():
    n = 8
    spec = np.ones(n, complex)
    out = phase(spec, p0=90.0, p1=0.0)
    np.testing.assert_allclose(out, -1j * np.ones(n))
    out = phase(spec, p0=0.0, p1=360.0)
    np.testing.assert_allclose(np.angle(out[2]), -2 * np.pi * 2 / n)
    assert out[0] == pytest.approx(1.0)


def test_windows_are_one_at_t0_and_have_the_right_shape():
    n, sw = 100, 1000.0
    t = np.arange(n) / sw
    np.testing.assert_allclose(window_function(n, sw, "em", lb_hz=10.0), np.exp(-np.pi * 10 * t))
    q = window_function(n, sw, "qsine", ssb=2)
    assert q[0] == pytest.approx(1.0) and q[-1] == pytest.approx(0.0, abs=1e-12)
    np.testing.assert_allclose(q, np.cos(np.pi / 2 * np.arange(n) / (n - 1)) ** 2, atol=1e-12)
    gm = window_function(n, sw, "gm", lb_hz=-5.0, gb=0.3)
    assert gm[0] == pytest.approx(1.0)
    assert np.argmax(gm) == pytest.approx(0.3 * n, abs=1)
    assert window_function(n, sw, "sine")[0] == pytest.approx(0.0)


# ---------------------------------------------------------------- 2D pipeline


def _states_2d(fnmode: str, nu1: float, nu2: float, *, amp=2.0, td2=256, n1=64, sw1=2000.0,
               sw2=4000.0, fw=30.0, ph2=0.0, ph1=0.0) -> np.ndarray:
    """Hand-made hypercomplex data of one Lorentzian peak (independent of the writer)."""
    t2 = np.arange(td2) / sw2
    s2 = amp * np.exp(2j * np.pi * nu2 * t2 - np.pi * fw * t2 + 1j * np.deg2rad(ph2))
    if fnmode == "TPPI":
        t1 = np.arange(2 * n1) / (2 * sw1)
        c = np.cos(2 * np.pi * (nu1 + sw1 / 2) * t1 + np.deg2rad(ph1)) * np.exp(-np.pi * fw * t1)
        return c[:, None] * s2[None, :]
    t1 = np.arange(n1) / sw1
    c = np.exp(2j * np.pi * nu1 * t1 - np.pi * fw * t1 + 1j * np.deg2rad(ph1))
    if fnmode == "States-TPPI":
        c = c * (-1.0) ** np.arange(n1)
    rows = np.empty((2 * n1, td2), complex)
    if fnmode == "echo-antiecho":  # TopSpin's pairing, found on nmrtools-15n-trosy-2d
        rows[0::2] = -1j * np.conj(c)[:, None] * s2
        rows[1::2] = -1j * c[:, None] * s2
    else:
        rows[0::2] = c.real[:, None] * s2
        rows[1::2] = c.imag[:, None] * s2
    return rows


@pytest.mark.parametrize("fnmode", ["States", "States-TPPI", "TPPI", "echo-antiecho"])
def test_process_2d_quadrature_modes_position_and_volume(fnmode):
    sf1, sf2 = 100.0, 200.0
    acq = AcquisitionParameters(sw_hz_f2=4000.0, sw_hz_f1=2000.0, sf_mhz_f2=sf2, sf_mhz_f1=sf1,
                                carrier_ppm_f2=5.0, carrier_ppm_f1=1.0, fnmode=fnmode)
    nu1, nu2 = 300.0, -700.0
    spec, ppm1, ppm2 = process_2d(_states_2d(fnmode, nu1, nu2), acq,
                                  ProcessingOptions(size_f2=1024, size_f1=512))
    i, j = np.unravel_index(np.argmax(spec), spec.shape)
    d1, d2 = abs(ppm1[1] - ppm1[0]), abs(ppm2[1] - ppm2[0])
    assert abs(ppm1[i] - (1.0 + nu1 / sf1)) <= d1
    assert abs(ppm2[j] - (5.0 + nu2 / sf2)) <= d2
    # the whole-spectrum integral equals the t=0 amplitude (Lorentzian tails included)
    assert spec.sum() * d1 * d2 == pytest.approx(2.0, rel=2e-3)
    # pure absorption: nothing negative beyond truncation ripple
    assert spec.min() > -0.02 * spec.max()


def test_phase_errors_are_removed_by_the_stored_phases_and_by_auto_phase():
    acq = AcquisitionParameters(sw_hz_f2=4000.0, sw_hz_f1=2000.0, sf_mhz_f2=200.0,
                                sf_mhz_f1=200.0, carrier_ppm_f2=0.0, carrier_ppm_f1=0.0,
                                fnmode="States-TPPI")
    ref, *_ = process_2d(_states_2d("States-TPPI", 200.0, 200.0), acq)
    bad = _states_2d("States-TPPI", 200.0, 200.0, ph2=50.0, ph1=-35.0)
    fixed, *_ = process_2d(bad, acq, ProcessingOptions(p0_f2=50.0, p0_f1=-35.0))
    np.testing.assert_allclose(fixed, ref, atol=1e-9 * ref.max())
    hc = transform_2d(bad, acq)
    p = auto_phase([hc])
    assert p[0] == pytest.approx(50.0, abs=0.5) and p[2] == pytest.approx(-35.0, abs=0.5)
    np.testing.assert_allclose(phase_2d(hc, *p), ref, atol=0.01 * ref.max())


def test_first_point_scaling_removes_the_f1_ridge():
    acq = AcquisitionParameters(sw_hz_f2=4000.0, sw_hz_f1=2000.0, sf_mhz_f2=200.0,
                                sf_mhz_f1=200.0, carrier_ppm_f2=0.0, carrier_ppm_f1=0.0,
                                fnmode="States")
    data = _states_2d("States", 0.0, 0.0)
    good, _, _ = process_2d(data, acq)
    bad, _, _ = process_2d(data, acq, ProcessingOptions(first_point_scale=1.0))
    j = np.argmax(good.max(axis=0))
    far = slice(0, 100)  # rows far from the peak in the peak's column
    assert abs(np.median(good[far, j])) < 0.05 * abs(np.median(bad[far, j]))


def test_baseline_2d_removes_a_polynomial_offset_but_keeps_the_peak():
    rng = np.random.default_rng(3)
    n1, n2 = 128, 256
    y, x = np.mgrid[0:n1, 0:n2]
    peak = 100.0 * np.exp(-(((x - 128) / 4.0) ** 2) - ((y - 64) / 4.0) ** 2)
    base = 5.0 + 3.0 * (x / n2) - 2.0 * (y / n1)
    noisy = peak + base + rng.normal(0, 0.2, (n1, n2))
    out = baseline_2d(noisy, 1, 1)
    assert abs((out - peak)[:, :90].mean()) < 0.03
    assert np.abs(out - peak - (noisy - peak - base)).max() < 0.3
    box = (slice(50, 79), slice(114, 143))
    assert out[box].sum() == pytest.approx(peak[box].sum(), rel=0.01)


# ---------------------------------------------------------------- options


def test_options_from_dict_flat_and_nested_and_merge():
    o = ProcessingOptions.from_dict({"window_f2": "EM", "lb_hz_f2": 20, "f1": {"window": "qsine",
                                     "ssb": 2, "size": 256}, "auto_phase": True,
                                     "baseline_order_f2": "none", "p0_f2": "file"})
    assert (o.window_f2, o.lb_hz_f2, o.window_f1, o.ssb_f1, o.size_f1) == ("em", 20.0, "qsine",
                                                                           2.0, 256)
    assert o.auto_phase and o.baseline_order_f2 is None and o.p0_f2 is None
    merged = o.merged_with(ProcessingOptions(p0_f2=12.0, lb_hz_f2=99.0))
    assert merged.p0_f2 == 12.0 and merged.lb_hz_f2 == 20.0


def test_options_from_dict_reports_every_problem_with_suggestions():
    with pytest.raises(ConfigError) as exc:
        ProcessingOptions.from_dict({"windw_f2": "em", "lb_hz_f1": "lots", "window_f1": "hann",
                                     "f2": {"sizee": 3}, "baseline_order_f1": 42},
                                    where="[processing]")
    msg = str(exc.value)
    assert "[processing.windw_f2]: unknown key (did you mean 'window_f2'?)" in msg
    assert "[processing.lb_hz_f1]: found 'lots'; expected a finite number" in msg
    assert "[processing.window_f1]: found 'hann'" in msg
    assert "[processing.f2.sizee]: unknown key (did you mean 'size_f2'?)" in msg
    assert "[processing.baseline_order_f1]: found 42" in msg


# ---------------------------------------------------------------- real data against TopSpin


def test_processing_reproduces_topspin_1r_of_real_1d_data():
    folder = REAL / "lcs-1h-mas-1d" / "1"
    if not folder.is_dir():
        pytest.skip(f"real Bruker data not available at {folder}")
    import warnings

    import nmrglue as ng
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        dic, fid = ng.bruker.read(str(folder))
        pdic, r = ng.bruker.read_pdata(str(folder / "pdata" / "1"), scale_data=True)
    a, p = dic["acqus"], pdic["procs"]
    fid = fid[: a["TD"] // 2]
    # TopSpin's route: group delay as a linear phase after the FT (pre-echo wraps around)
    spec = fft_nmr(np.pad(fid, (0, p["SI"] - fid.size)), grpdly=a["GRPDLY"])
    spec = phase(spec, p["PHC0"], p["PHC1"]).real * 2.0 ** a["NC"]
    assert np.corrcoef(spec, r)[0, 1] > 0.99999
    # TopSpin's 1r * 2**NC_proc equals the DFT of fid * 2**NC
    assert np.dot(spec, r) / np.dot(spec, spec) == pytest.approx(1.0, abs=0.005)
    # exsyfit's route: time-domain shift that drops the filter's pre-echo; same spectrum
    # apart from the pre-echo's small high-frequency contribution
    shifted = remove_group_delay(fid, a["GRPDLY"])
    spec2 = fft_nmr(np.pad(shifted, (0, p["SI"] - shifted.size)))
    spec2 = phase(spec2, p["PHC0"], p["PHC1"]).real * 2.0 ** a["NC"]
    assert np.corrcoef(spec2, r)[0, 1] > 0.9995
    assert np.dot(spec2, r) / np.dot(spec2, spec2) == pytest.approx(1.0, abs=0.01)
    ppm = ppm_axis(p["SI"], a["SW_h"], p["SF"], (a["SFO1"] / p["SF"] - 1) * 1e6)
    assert ppm[0] == pytest.approx(p["OFFSET"], abs=1e-3)


# ---------------------------------------------------------------- phasing, prediction, strips


def _three_diagonal_peaks() -> np.ndarray:
    rows = sum(_states_2d("States-TPPI", nu, nu, fw=40.0) for nu in (-800.0, 0.0, 700.0))
    return rows


def test_auto_phase_finds_first_order_phases_in_both_dimensions():
    from exsyfit.processing.phasing import Hypercomplex2D

    acq = AcquisitionParameters(sw_hz_f2=4000.0, sw_hz_f1=2000.0, sf_mhz_f2=200.0,
                                sf_mhz_f1=200.0, carrier_ppm_f2=0.0, carrier_ppm_f1=0.0,
                                fnmode="States-TPPI")
    opts = ProcessingOptions(size_f2=512, size_f1=256)
    hc = transform_2d(_three_diagonal_peaks(), acq, opts)
    ref = phase_2d(hc)
    true = (20.0, 60.0, -30.0, -45.0)  # p0_f2, p1_f2, p0_f1, p1_f1 (the correction)
    x1, x2 = hc.fractions()
    ph2 = np.deg2rad(true[0] + true[1] * x2)
    ph1 = np.deg2rad(true[2] + true[3] * x1)
    bad = Hypercomplex2D(
        (np.cos(ph2) * hc.re_part - np.sin(ph2) * hc.im_part) * np.exp(1j * ph1)[:, None],
        (np.sin(ph2) * hc.re_part + np.cos(ph2) * hc.im_part) * np.exp(1j * ph1)[:, None],
        hc.ppm_f1, hc.ppm_f2)
    found = auto_phase([bad])
    assert found == pytest.approx(true, abs=4.0)
    np.testing.assert_allclose(phase_2d(bad, *found), ref, atol=0.05 * ref.max())
    # zero order only: the first orders keep their starting values
    p = auto_phase([bad], start=(0.0, 60.0, 0.0, -45.0), first_order=False)
    assert (p[1], p[3]) == (60.0, -45.0)
    assert p[0] == pytest.approx(20.0, abs=2.0) and p[2] == pytest.approx(-30.0, abs=2.0)


def test_burg_prediction_continues_decaying_signals():
    from exsyfit.processing.prediction import predict_forward

    t = np.arange(96)
    x = (np.exp((0.31j - 0.02) * t) + 0.5 * np.exp((-1.1j - 0.035) * t))[:, None]
    x = np.hstack([x, 2.0 * x])
    out = predict_forward(x[:48], 96, 16)
    np.testing.assert_array_equal(out[:48], x[:48])
    # Burg's estimates damp too little far out (TopSpin's prediction shares this); the points
    # next to the data are continued closely, and an order too small does much worse
    assert np.abs(out[48:64] - x[48:64]).max() < 1e-2
    assert np.abs(predict_forward(x[:48], 96, 2)[48:64] - x[48:64]).max() > 0.05
    assert predict_forward(x[:48], 40, 4).shape == (48, 2)  # nothing to predict


def test_strip_keeps_part_of_the_transform_and_phases_are_reported():
    from dataclasses import replace

    from exsyfit.processing.raw import process_planes

    acq = AcquisitionParameters(sw_hz_f2=4000.0, sw_hz_f1=2000.0, sf_mhz_f2=200.0,
                                sf_mhz_f1=200.0, carrier_ppm_f2=0.0, carrier_ppm_f1=0.0,
                                fnmode="States-TPPI",
                                defaults=ProcessingOptions(p0_f2=10.0, p1_f2=30.0))
    data = _three_diagonal_peaks()
    opts = ProcessingOptions(size_f2=512, size_f1=256)
    full = process_planes([data], acq, opts)
    cut = process_planes([data], replace(acq, strip_f2=(100, 200), strip_size_f2=512), opts)
    np.testing.assert_allclose(cut.spectra[0], full.spectra[0][:, 100:300], atol=1e-12)
    np.testing.assert_allclose(cut.ppm_f2, full.ppm_f2[100:300])
    assert full.phases_meta == {"F2": {"p0_deg": 10.0, "p1_deg": 30.0},
                                "F1": {"p0_deg": 0.0, "p1_deg": 0.0}, "source": "procs"}
    given = process_planes([data], acq, replace(opts, p0_f1=5.0))
    assert given.phases_meta["source"] == "config" and given.phases[2] == 5.0
    auto = process_planes([data], acq, replace(opts, auto_phase=True), mixing_times=[0.1])
    assert auto.phases_meta["source"] == "auto"
