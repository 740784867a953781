"""Tests of the Bruker reader and writers (exsyfit.io.bruker)."""

from __future__ import annotations

import re
import shutil
import warnings
from pathlib import Path

import numpy as np
import pytest

from exsyfit.errors import DataFormatError, OutputExistsError
from exsyfit.io import bruker
from exsyfit.io.spectrum import Spectrum2D
from exsyfit.processing.lineshapes import SimPeak
from exsyfit.processing.transforms import ProcessingOptions
from exsyfit.simulate import bruker as sim_bruker

REAL = Path(__file__).resolve().parents[2] / "shared" / "data" / "real"

SF = 155.5
PEAKS = [
    SimPeak(1.0, 1.0, 2.0, 0.25, 0.25, 0.0, 0.0),
    SimPeak(1.0, 4.0, 0.3, 0.25, 0.25, 0.0, 0.0),
    SimPeak(4.0, 1.0, 0.3, 0.25, 0.25, 0.0, 0.0),
    SimPeak(4.0, 4.0, 1.0, 0.3, 0.3, 0.0, 0.0),
]
RAW_KW = dict(td2=256, td1=128, sw_ppm_f2=12.0, sw_ppm_f1=12.0, o1_ppm=2.5, sf_mhz=SF)


def real(name: str) -> Path:
    path = REAL / name
    if not path.is_dir():
        pytest.skip(f"real Bruker data not available at {path}")
    return path


def box_volume(s: Spectrum2D, p1: float, p2: float, half: float = 0.75) -> tuple[float, int]:
    m1 = np.abs(s.ppm_f1 - p1) <= half
    m2 = np.abs(s.ppm_f2 - p2) <= half
    return float(s.data[np.ix_(m1, m2)].sum() * s.ppm_step_f1 * s.ppm_step_f2), int(
        m1.sum() * m2.sum())


def volume_tolerance(s: Spectrum2D, n_points: int, zero_fill: float = 4.0) -> float:
    """5 sigma of a box sum, from the noise of an empty corner (zero filling correlates points)."""
    corner = s.data[: s.shape[0] // 5, : s.shape[1] // 5]
    sigma = corner.std()
    return 5.0 * sigma * np.sqrt(n_points * zero_fill) * s.ppm_step_f1 * s.ppm_step_f2


# ---------------------------------------------------------------- processed round trip


def test_write_processed_round_trip(tmp_path):
    rng = np.random.default_rng(1)
    ppm1 = np.linspace(8.0, -2.0, 64)
    ppm2 = np.linspace(8.0, -2.0, 128)
    data = sum(p.render(ppm1, ppm2) for p in PEAKS) + rng.normal(0, 1e-3, (64, 128))
    spec = Spectrum2D(data=data, ppm_f1=ppm1, ppm_f2=ppm2, nucleus="7Li", sf_mhz=SF,
                      mixing_time_s=0.05, temperature_K=303.0, mas_rate_hz=10000.0)
    folder = sim_bruker.write_processed(tmp_path / "3", spec, ns=32, rg=101.0)
    out = bruker.read_experiment(folder)
    assert len(out) == 1
    s = out[0]
    assert s.format == "bruker-processed"
    np.testing.assert_allclose(s.data, data, rtol=0, atol=1e-8 * np.abs(data).max())
    np.testing.assert_allclose(s.ppm_f1, ppm1, atol=1e-9)
    np.testing.assert_allclose(s.ppm_f2, ppm2, atol=1e-9)
    assert (s.nucleus, s.sf_mhz, s.scans, s.receiver_gain) == ("7Li", SF, 32, 101.0)
    assert s.mixing_time_s == pytest.approx(0.05)
    assert s.temperature_K == pytest.approx(303.0)
    assert s.mas_rate_hz == pytest.approx(10000.0)
    nc = s.metadata["NC_proc"]
    assert s.intensity_factor == pytest.approx(2.0**nc / (32 * 101.0))
    # the stored integers use the int32 range
    raw = np.fromfile(folder / "pdata" / "1" / "2rr", dtype="<i4")
    assert 2**29 <= np.abs(raw).max() < 2**30
    # nmrglue's own NC_proc scaling agrees with ours
    import nmrglue as ng
    _, scaled = ng.bruker.read_pdata(str(folder / "pdata" / "1"), bin_files=["2rr"],
                                     scale_data=True)
    np.testing.assert_allclose(scaled / (32 * 101.0), s.data, rtol=1e-12)
    meta = bruker.read_metadata(folder)
    assert meta["has_2rr"] and not meta["has_ser"] and meta["dimensionality"] == "2D"
    assert meta["si"] == (128, 64)


def test_write_processed_refuses_to_overwrite(tmp_path):
    spec = Spectrum2D(data=np.ones((8, 8)), ppm_f1=np.linspace(5, 0, 8),
                      ppm_f2=np.linspace(5, 0, 8), sf_mhz=SF)
    sim_bruker.write_processed(tmp_path / "1", spec)
    with pytest.raises(OutputExistsError, match="already holds an experiment"):
        sim_bruker.write_processed(tmp_path / "1", spec)


# ---------------------------------------------------------------- TopSpin processing parameters

ACQU2S = {"TD": 64, "FnMODE": 5, "SW_h": 2488.0, "SW": 16.0, "SFO1": 155.5, "BF1": 155.5}
PROC2S = {"SI": 256, "SF": 155.49, "WDW": 4, "SSB": 2.0, "LB": 0.0, "GB": 0.0, "FCOR": 0.5,
          "TDeff": 0, "MC2": 4}


def test_topspin_f1_parameter_mapping():
    d = bruker.topspin_processing(ACQU2S, PROC2S, "f1")
    assert d == {"mode": "complex", "td_complex": 32, "sw_hz": 2488.0, "sf_mhz": 155.49,
                 "window": "qsine", "lb_hz": 0.0, "gb": 0.0, "ssb": 2.0, "size": 256,
                 "window_offset": 0.0, "window_points": 32,
                 "first_point_scale": 0.5, "source": "acqu2s/proc2s"}
    # window codes with their parameters
    for code, name in ((0, "none"), (1, "em"), (3, "sine"), (4, "qsine")):
        got = bruker.topspin_processing(ACQU2S, dict(PROC2S, WDW=code, LB=7.5, SSB=3.0), "f1")
        assert (got["window"], got["lb_hz"], got["ssb"]) == (name, 7.5, 3.0)
    gm = bruker.topspin_processing(ACQU2S, dict(PROC2S, WDW=2, LB=-12.0, GB=0.25), "f1")
    assert (gm["window"], gm["lb_hz"], gm["gb"]) == ("gm", -12.0, 0.25)
    # TDeff truncates (rows, so States pairs halve it); TDeff >= TD or 0 keeps TD
    assert bruker.topspin_processing(ACQU2S, dict(PROC2S, TDeff=40), "f1")["td_complex"] == 20
    assert bruker.topspin_processing(ACQU2S, dict(PROC2S, TDeff=128), "f1")["td_complex"] == 32
    # FCOR, and its default when absent
    assert bruker.topspin_processing(ACQU2S, dict(PROC2S, FCOR=1.0), "f1")[
        "first_point_scale"] == 1.0
    no_fcor = {k: v for k, v in PROC2S.items() if k != "FCOR"}
    assert bruker.topspin_processing(ACQU2S, no_fcor, "f1")["first_point_scale"] == 0.5
    # SW (ppm of SFO1) when SW_h is absent
    no_swh = {k: v for k, v in ACQU2S.items() if k != "SW_h"}
    assert bruker.topspin_processing(no_swh, PROC2S, "f1")["sw_hz"] == pytest.approx(16 * 155.5)


@pytest.mark.parametrize(("fnmode", "mc2", "expected"), [
    (4, 3, 32), (5, 4, 32), (6, 5, 32),  # States, States-TPPI, echo-antiecho: TD1 / 2
    (0, 4, 32),  # old data: FnMODE undefined, MC2 = States-TPPI
])
def test_topspin_f1_complex_modes(fnmode, mc2, expected):
    d = bruker.topspin_processing(dict(ACQU2S, FnMODE=fnmode), dict(PROC2S, MC2=mc2), "f1")
    assert d["mode"] == "complex" and d["td_complex"] == expected


@pytest.mark.parametrize(("acqu", "proc", "reason"), [
    (dict(ACQU2S, FnMODE=3), PROC2S, "TPPI"),
    (dict(ACQU2S, FnMODE=1), PROC2S, "QF"),
    (dict(ACQU2S, FnMODE=0), dict(PROC2S, MC2=2), "TPPI"),
    (ACQU2S, dict(PROC2S, WDW=5), "TRAF"),
    (ACQU2S, dict(PROC2S, WDW=2, GB=0.0), "GB"),
    (ACQU2S, dict(PROC2S, FCOR=3.0), "FCOR"),
    (dict(ACQU2S, TD=0), PROC2S, "TD"),
    ({"TD": 64, "FnMODE": 5}, PROC2S, "SW_h"),
])
def test_topspin_unsupported_f1_falls_back_with_reason(acqu, proc, reason):
    d = bruker.topspin_processing(acqu, proc, "f1")
    assert d["mode"] == "unsupported" and reason in d["reason"]


def test_topspin_f2_only_for_analog_complex_data():
    acqus = {"TD": 1024, "SW_h": 6220.0, "BF1": 155.5, "AQ_mod": 3}
    procs = {"SI": 1024, "SF": 155.5, "WDW": 1, "LB": 20.0, "FCOR": 0.5}
    d = bruker.topspin_processing(acqus, procs, "f2")
    assert (d["td_complex"], d["window"], d["lb_hz"], d["size"]) == (512, "em", 20.0, 1024)
    # digital filter: TopSpin windows the recorded FID, so t = 0 sees the window at GRPDLY
    filtered = bruker.topspin_processing(acqus, procs, "f2", grpdly=67.986)
    assert (filtered["td_complex"], filtered["window_offset"], filtered["window_points"],
            filtered["first_point_scale"]) == (444, 67.986, 512, 0.5)
    qseq = bruker.topspin_processing(dict(acqus, AQ_mod=2), procs, "f2")
    assert qseq["mode"] == "unsupported" and "AQ_mod" in qseq["reason"]
    with pytest.raises(ValueError, match="dimension"):
        bruker.topspin_processing(acqus, procs, "f3")


def test_write_processed_with_parameters_reads_back_the_description(tmp_path):
    ppm1 = np.linspace(8.0, -8.0, 64, endpoint=False)
    ppm2 = np.linspace(8.0, -8.0, 128, endpoint=False)
    spec = Spectrum2D(data=np.outer(np.hanning(64), np.hanning(128)), ppm_f1=ppm1,
                      ppm_f2=ppm2, nucleus="7Li", sf_mhz=SF)
    params = {"acqu2s": {"TD": 40, "FnMODE": 6, "SW_h": 16.0 * SF},
              "proc2s": {"WDW": 3, "SSB": 3.0, "TDeff": 32, "FCOR": 0.7, "SI": 999,
                         "_comments": ["ignored"]},
              "acqus": {"TD": 512, "NS": 1, "AQ_mod": 3, "GRPDLY": -1.0, "DIGMOD": 0}}
    folder = sim_bruker.write_processed(tmp_path / "1", spec, ns=8, parameters=params)
    s = bruker.read_experiment(folder)[0]
    np.testing.assert_allclose(s.data, spec.data, atol=1e-8)
    assert s.scans == 8  # NS follows the intensity scale, not the given parameters
    f1 = s.metadata["processing_f1_topspin"]
    assert (f1["td_complex"], f1["window"], f1["ssb"], f1["size"], f1["first_point_scale"]) \
        == (16, "sine", 3.0, 64, 0.7)
    f2 = s.metadata["processing_f2_topspin"]
    assert (f2["mode"], f2["td_complex"], f2["size"]) == ("complex", 256, 128)
    with pytest.raises(ValueError, match="unknown file"):
        sim_bruker.write_processed(tmp_path / "2", spec, parameters={"acqu": {}})


# ---------------------------------------------------------------- raw round trips


@pytest.mark.parametrize(
    ("fnmode", "dtype", "byte_order"),
    [("States-TPPI", "int32", "little"), ("States", "float64", "big"),
     ("echo-antiecho", "int32", "big"), ("TPPI", "float64", "little")],
)
def test_write_raw_round_trip_volumes_and_positions(tmp_path, fnmode, dtype, byte_order):
    rng = np.random.default_rng(7)
    folder = sim_bruker.write_raw(tmp_path / "10", PEAKS, **RAW_KW, fnmode=fnmode, dtype=dtype,
                              byte_order=byte_order, ns=8, rg=64.0, d8_s=0.2, te_K=313.0,
                              masr_hz=12500.0, noise_rms=2e-3, rng=rng)
    (s,) = bruker.read_experiment(folder, prefer="raw")
    assert s.format == "bruker-raw" and s.metadata["fnmode"] == fnmode
    assert (s.mixing_time_s, s.temperature_K, s.mas_rate_hz) == (0.2, 313.0, 12500.0)
    assert s.intensity_factor == pytest.approx(2.0 ** s.metadata["NC"] / (8 * 64.0))
    for p in PEAKS:
        vol, n = box_volume(s, p.ppm_f1, p.ppm_f2)
        tol = volume_tolerance(s, n)
        assert 0 < tol < 0.05 * p.volume
        assert vol == pytest.approx(p.volume, abs=tol)
        m1 = np.abs(s.ppm_f1 - p.ppm_f1) <= 0.5
        m2 = np.abs(s.ppm_f2 - p.ppm_f2) <= 0.5
        sub = s.data[np.ix_(m1, m2)]
        i, j = np.unravel_index(np.argmax(sub), sub.shape)
        assert abs(s.ppm_f1[m1][i] - p.ppm_f1) <= s.ppm_step_f1
        assert abs(s.ppm_f2[m2][j] - p.ppm_f2) <= s.ppm_step_f2


def test_known_phase_error_and_digital_filter_give_pure_absorption(tmp_path):
    kw = dict(RAW_KW, grpdly=67.986)
    ref_folder = sim_bruker.write_raw(tmp_path / "1", PEAKS, **kw, dtype="float64")
    bad_folder = sim_bruker.write_raw(tmp_path / "2", PEAKS, **kw, dtype="float64",
                                  p0=63.0, p1=-40.0, p0_f1=-110.0)
    (ref,) = bruker.read_experiment(ref_folder, prefer="raw")
    (fixed,) = bruker.read_experiment(bad_folder, prefer="raw")
    # TopSpin's PHC0 of a delayed FID carries 180 * GRPDLY degrees (exsyfit.processing)
    p0_topspin = (63.0 - 180.0 * 67.986 + 180.0) % 360.0 - 180.0
    assert fixed.metadata["phases_deg"] == pytest.approx((p0_topspin, -40.0, -110.0, 0.0))
    # absorptive and equal to the error-free spectrum up to a small baseline roll
    assert np.abs(fixed.data - ref.data).max() < 0.01 * ref.data.max()
    assert fixed.data.min() > -0.01 * fixed.data.max()
    # without the stored phases the spectrum is strongly dispersive
    (unphased,) = bruker.read_experiment(bad_folder, prefer="raw", options=ProcessingOptions(
        p0_f2=0.0, p1_f2=0.0, p0_f1=0.0))
    assert unphased.data.min() < -0.3 * unphased.data.max()
    # auto phase recovers the zero-order phases from the diagonal
    (auto,) = bruker.read_experiment(bad_folder, prefer="raw", options=ProcessingOptions(
        p0_f2=0.0, p0_f1=0.0, auto_phase=True))
    p0_2, p1_2, p0_1, _ = auto.metadata["phases_deg"]
    assert p1_2 == pytest.approx(-40.0, abs=5.0)  # first order fitted from peak phases
    assert (p0_2 - p0_topspin + 180) % 360 - 180 == pytest.approx(0.0, abs=2.5)
    assert (p0_1 + 110.0 + 180) % 360 - 180 == pytest.approx(0.0, abs=2.5)
    # volumes: the first-order correction leaves a baseline roll of up to ~1 % of the
    # largest volume in each box
    for p in PEAKS:
        assert box_volume(fixed, p.ppm_f1, p.ppm_f2)[0] == pytest.approx(
            box_volume(ref, p.ppm_f1, p.ppm_f2)[0], abs=0.02)


def test_window_and_zero_fill_options_keep_volumes(tmp_path):
    folder = sim_bruker.write_raw(tmp_path / "5", PEAKS, **RAW_KW, dtype="float64")
    opts = ProcessingOptions(window_f2="em", lb_hz_f2=20.0, window_f1="qsine", ssb_f1=2.0,
                             size_f2=1024, size_f1=512)
    (s,) = bruker.read_experiment(folder, prefer="raw", options=opts)
    assert s.shape == (512, 1024)
    # the windows are 1 at t = 0, so the total integral is the sum of the volumes
    total = s.data.sum() * s.ppm_step_f1 * s.ppm_step_f2
    assert total == pytest.approx(sum(p.volume for p in PEAKS), rel=1e-3)
    # the EM window adds Lorentzian wings: a box of +-1.2 ppm misses a few per cent
    vol, _ = box_volume(s, 1.0, 1.0, half=1.2)
    assert 0.9 * 2.0 < vol < 0.99 * 2.0


def test_read_experiments_shares_one_auto_phase(tmp_path):
    f1 = sim_bruker.write_raw(tmp_path / "1", PEAKS, **RAW_KW, p0=30.0, d8_s=0.01)
    f2 = sim_bruker.write_raw(tmp_path / "2", PEAKS[:1], **RAW_KW, p0=30.0, d8_s=0.5)
    opts = ProcessingOptions(p0_f2=0.0, auto_phase=True)
    spectra = bruker.read_experiments([f1, f2], options=opts)
    assert len(spectra) == 2
    phases = {s.metadata["phases_deg"] for s in spectra}
    assert len(phases) == 1
    p0_topspin = (30.0 - 180.0 * 67.986 + 180.0) % 360.0 - 180.0  # 180 * GRPDLY in PHC0
    assert next(iter(phases))[0] == pytest.approx(p0_topspin, abs=1.0)


def _pseudo_3d(tmp_path: Path) -> Path:
    a = sim_bruker.write_raw(tmp_path / "a", PEAKS, **RAW_KW, dtype="float64")
    b = sim_bruker.write_raw(tmp_path / "b", [PEAKS[0], PEAKS[3]], **RAW_KW, dtype="float64")
    out = tmp_path / "7"
    shutil.copytree(a, out)
    with open(out / "ser", "ab") as fh:
        fh.write((b / "ser").read_bytes())
    text = (a / "acqu2s").read_text().replace("##$FnMODE= 5", "##$FnMODE= 0")
    text = text.replace("##$TD= 128", "##$TD= 2")
    (out / "acqu3s").write_text(text)
    (out / "vdlist").write_text("10m\n0.5\n")
    return out


def test_pseudo_3d_with_vdlist_gives_one_spectrum_per_plane(tmp_path):
    folder = _pseudo_3d(tmp_path)
    meta = bruker.read_metadata(folder)
    assert meta["dimensionality"] == "pseudo-3D"
    assert meta["mixing_time_s"] == [0.01, 0.5] and meta["mixing_time_source"] == "vdlist"
    spectra = bruker.read_experiment(folder, prefer="raw", mixing_time="vdlist")
    assert [s.mixing_time_s for s in spectra] == [0.01, 0.5]
    assert box_volume(spectra[0], 1.0, 4.0)[0] == pytest.approx(0.3, abs=0.01)
    assert box_volume(spectra[1], 1.0, 4.0)[0] == pytest.approx(0.0, abs=0.01)
    assert box_volume(spectra[1], 4.0, 4.0)[0] == pytest.approx(1.0, abs=0.02)


def test_pseudo_3d_default_d8_uses_the_list_of_matching_length(tmp_path):
    spectra = bruker.read_experiment(_pseudo_3d(tmp_path), prefer="raw")
    assert [s.mixing_time_s for s in spectra] == [0.01, 0.5]
    assert spectra[0].metadata["mixing_time_source"] == "vdlist"
    assert [s.metadata["plane"] for s in spectra] == [0, 1]


def test_old_data_without_fnmode_use_mc2(tmp_path):
    folder = sim_bruker.write_raw(tmp_path / "1", PEAKS, **RAW_KW, fnmode="States")
    text = (folder / "acqu2s").read_text()
    (folder / "acqu2s").write_text(text.replace("##$FnMODE= 4", "##$FnMODE= 0"))
    (folder / "vdlist").write_text("\n".join(["1"] * 128))  # same length as TD1: still a 2D
    (s,) = bruker.read_experiment(folder, prefer="raw")
    assert s.metadata["fnmode"] == "States"
    assert box_volume(s, 4.0, 4.0)[0] == pytest.approx(1.0, abs=0.01)
    text = (folder / "pdata" / "1" / "proc2s").read_text()
    (folder / "pdata" / "1" / "proc2s").write_text(text.replace("##$MC2= 3", "##$MC2= 1"))
    with pytest.raises(DataFormatError, match="F1 quadrature mode not usable"):
        bruker.read_experiment(folder, prefer="raw", mixing_time=0.1)


def test_mixing_time_specifications(tmp_path):
    folder = sim_bruker.write_raw(tmp_path / "1", PEAKS[:1], **RAW_KW, d8_s=0.123, masr_hz=10000.0)
    (folder / "vclist").write_text("4\n")
    assert bruker.read_metadata(folder)["mixing_time_s"] == pytest.approx(0.123)
    assert bruker.read_metadata(folder, mixing_time="D1")["mixing_time_s"] == 1.0  # the D1
    m = bruker.read_metadata(folder, mixing_time="vclist*rotor")
    assert m["mixing_time_s"] == [pytest.approx(4e-4)]
    (s,) = bruker.read_experiment(folder, prefer="raw", mixing_time=0.07)
    assert s.mixing_time_s == 0.07
    with pytest.raises(DataFormatError, match="1 values but the experiment holds one"):
        bruker.read_experiment(folder, prefer="raw", mixing_time="vclist*rotor")
    with pytest.raises(DataFormatError, match="no 'vdlist' file"):
        bruker.read_experiment(folder, prefer="raw", mixing_time="vdlist")


# ---------------------------------------------------------------- malformed folders


def test_missing_folder_and_missing_acqus(tmp_path):
    with pytest.raises(DataFormatError, match="not a folder"):
        bruker.read_experiment(tmp_path / "nothing")
    folder = sim_bruker.write_raw(tmp_path / "1", PEAKS[:1], **RAW_KW)
    (folder / "acqus").unlink()
    with pytest.raises(DataFormatError, match=r"1: no 'acqus' file"):
        bruker.read_experiment(folder, prefer="raw")
    assert not bruker.is_bruker_experiment(folder)
    with pytest.raises(DataFormatError, match="processed-data folder"):
        bruker.read_experiment(folder / "pdata" / "1")


def test_truncated_ser(tmp_path):
    folder = sim_bruker.write_raw(tmp_path / "1", PEAKS[:1], **RAW_KW)
    assert bruker.is_bruker_experiment(folder)
    data = (folder / "ser").read_bytes()
    (folder / "ser").write_bytes(data[: len(data) // 2 + 100])
    with pytest.raises(DataFormatError, match=r"1: 'ser' holds .* the file is truncated"):
        bruker.read_experiment(folder, prefer="raw")


def test_missing_procs_for_processed(tmp_path):
    spec = Spectrum2D(data=np.ones((8, 8)), ppm_f1=np.linspace(5, 0, 8),
                      ppm_f2=np.linspace(5, 0, 8), sf_mhz=SF)
    folder = sim_bruker.write_processed(tmp_path / "4", spec)
    (folder / "pdata" / "1" / "proc2s").unlink()
    with pytest.raises(DataFormatError, match=r"4: 'pdata/1/proc2s' is missing"):
        bruker.read_experiment(folder)


def test_garbage_numbers_in_acqus(tmp_path):
    folder = sim_bruker.write_raw(tmp_path / "1", PEAKS[:1], **RAW_KW)
    text = (folder / "acqus").read_text()
    (folder / "acqus").write_text(text.replace("##$NS= 16", "##$NS= sixteen"))
    with pytest.raises(DataFormatError, match=r"1: parameter NS in 'acqus' is 'sixteen'; "
                                              "expected a number"):
        bruker.read_experiment(folder, prefer="raw")


def test_processed_missing_2rr_names_file(tmp_path):
    folder = sim_bruker.write_raw(tmp_path / "1", PEAKS[:1], **RAW_KW)
    with pytest.raises(DataFormatError, match=r"no processed spectrum: looked for .*pdata/1/2rr"
                                              r" \(no procno of pdata/ holds a 2rr\).*"
                                              "prefer='raw'"):
        bruker.read_experiment(folder)
    spec = Spectrum2D(data=np.ones((8, 8)), ppm_f1=np.linspace(5, 0, 8),
                      ppm_f2=np.linspace(5, 0, 8), sf_mhz=SF)
    shutil.copytree(sim_bruker.write_processed(tmp_path / "2", spec) / "pdata" / "1",
                    folder / "pdata" / "3")
    with pytest.raises(DataFormatError, match=r"2rr found in procno 3"):
        bruker.read_experiment(folder)
    assert len(bruker.read_experiment(folder, prefer="auto")) == 1


# ---------------------------------------------------------------- real data


def test_real_27al_31p_2d_ser_processes():
    folder = real("lcs-27al-31p-dhmqc-2d") / "1"
    meta = bruker.read_metadata(folder)
    assert meta["dimensionality"] == "2D" and meta["fnmode"] == "States-TPPI"
    assert (meta["nucleus"], meta["nucleus_f1"]) == ("27Al", "31P")
    assert meta["sf_mhz"] == pytest.approx(104.311138)
    assert (meta["scans"], meta["receiver_gain"], meta["temperature_K"]) == (512, 575.0, 303.0)
    assert (meta["mas_rate_hz"], meta["mas_rate_source"]) == (5000.0, "MASR")
    assert meta["pulse_program"] == "HMQC2md" and meta["td"] == (2048, 147)
    assert meta["has_ser"] and not meta["has_2rr"]
    (s,) = bruker.read_experiment(folder, prefer="raw")
    assert s.shape == (1024, 2048)  # SI from proc2s / procs
    assert s.metadata["rows_used"] == 147 and s.metadata["grpdly"] == 76.0
    # TopSpin's axes: OFFSET at point 0, step SW_p / (SF * SI)
    assert s.ppm_f2[0] == pytest.approx(96.79375, abs=1e-3)
    assert s.ppm_f1[0] == pytest.approx(38.78575, abs=1e-3)
    assert s.ppm_step_f2 == pytest.approx(20833.3333333334 / (104.311138 * 2048), rel=1e-9)
    assert s.ppm_step_f1 == pytest.approx(13513.5135135135 / (162.052977410004 * 1024),
                                          rel=1e-9)
    assert s.intensity_factor == pytest.approx(2.0**-6 / (512 * 575.0))
    assert np.isfinite(s.data).all() and s.data.max() > 0
    # the raw rows agree with nmrglue's reader (rows beyond TD1 = 147 are zero)
    import nmrglue as ng
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        _, ser = ng.bruker.read(str(folder))
    assert ser.shape == (192, 1024)
    assert np.abs(ser[147:]).max() == 0 and np.abs(ser[146]).max() > 0
    exp = bruker._Experiment(folder, 1)
    np.testing.assert_allclose(bruker._read_ser(exp, 147), ser[:147] * 2.0**-6)


def test_real_27al_31p_states_tppi_puts_the_peak_at_an_aluminophosphate_shift():
    """The F1 (States-TPPI) and F2 senses on real data, not only on exsyfit's own writer.

    The sample's correlation is tetrahedral AlO4 (27Al about 40 ppm) with a phosphate of an
    aluminophosphate (31P about -27 ppm).  A reversed F1 sense would put it at +21 ppm (the
    mirror about the F1 carrier, -2.9 ppm), dropping the (-1)^k of States-TPPI half a
    spectral width away, a reversed F2 sense at -46 ppm.
    """
    (s,) = bruker.read_experiment(real("lcs-27al-31p-dhmqc-2d") / "1", prefer="raw")
    i, j = np.unravel_index(np.argmax(s.data), s.shape)
    assert -32.0 < s.ppm_f1[i] < -22.0 and 30.0 < s.ppm_f2[j] < 50.0
    opts = ProcessingOptions(fnmode="States")
    (w,) = bruker.read_experiment(real("lcs-27al-31p-dhmqc-2d") / "1", prefer="raw",
                                  options=opts)
    i, _ = np.unravel_index(np.argmax(np.abs(w.data)), w.shape)
    assert not -32.0 < w.ppm_f1[i] < -22.0


def test_real_27al_processed_request_is_refused_with_reason():
    folder = real("lcs-27al-31p-dhmqc-2d") / "1"
    with pytest.raises(DataFormatError, match=r"no processed spectrum: looked for .*pdata/1/2rr "
                                              r"\(no procno of pdata/ holds a 2rr\)"):
        bruker.read_experiment(folder)


def test_real_29si_pseudo_2d_vdlist():
    folder = real("lcs-29si-cp-satrec-pseudo2d") / "100"
    meta = bruker.read_metadata(folder, mixing_time="vdlist")
    assert meta["dimensionality"] == "pseudo-2D"
    assert meta["mixing_time_s"] == [1.0, 2.0, 3.0, 5.0, 7.0, 10.0, 15.0, 20.0, 50.0]
    assert meta["nucleus"] == "29Si" and meta["temperature_K"] == pytest.approx(90.3)
    assert (meta["scans"], meta["td"]) == (128, (4096, 9))
    with pytest.raises(DataFormatError, match="pseudo-2D experiment .* 'vdlist', 9 rows"):
        bruker.read_experiment(folder, prefer="raw", mixing_time="vdlist")


@pytest.mark.parametrize("expno", [str(e) for e in range(80, 95)])
def test_real_13c_series_is_1d_and_refused(expno):
    folder = real("lcs-13c-cp-series") / expno
    meta = bruker.read_metadata(folder)
    assert meta["dimensionality"] == "1D" and meta["nucleus"] == "13C"
    assert meta["scans"] == (8192 if expno in ("80", "81") else 4096)
    assert meta["sf_mhz"] == pytest.approx(100.661801599976)
    assert meta["temperature_K"] is None  # TE = 0 in the file
    with pytest.raises(DataFormatError, match=rf"{expno}: is a 1D experiment .*an EXSY series "
                                              "needs 2D spectra"):
        bruker.read_experiment(folder, prefer="raw")


@pytest.mark.parametrize("name", ["lcs-1h-mas-1d", "nmrpy-bruker-1h-1d"])
def test_real_1d_data_refused(name):
    folder = real(name) / "1"
    meta = bruker.read_metadata(folder)
    assert meta["dimensionality"] == "1D" and meta["nucleus"] == "1H"
    for prefer in ("processed", "raw"):
        with pytest.raises(DataFormatError, match="is a 1D experiment"):
            bruker.read_experiment(folder, prefer=prefer)


def test_real_nmrpy_metadata():
    meta = bruker.read_metadata(real("nmrpy-bruker-1h-1d") / "1")
    assert (meta["temperature_K"], meta["scans"], meta["receiver_gain"]) == (306.0, 1, 8.0)
    assert meta["mas_rate_hz"] == 4200.0 and meta["sf_mhz"] == pytest.approx(400.12995932)


def test_real_copy_with_garbage_acqu2s(tmp_path):
    src = real("lcs-27al-31p-dhmqc-2d") / "1"
    dst = tmp_path / "1"
    shutil.copytree(src, dst)
    text = (dst / "acqu2s").read_text(encoding="latin-1")
    (dst / "acqu2s").write_text(text.replace("##$SW_h= 13513.5135135135", "##$SW_h= 1.2.3"),
                                encoding="latin-1")
    with pytest.raises(DataFormatError, match=r"parameter SW_h in 'acqu2s' is '1.2.3'"):
        bruker.read_experiment(dst, prefer="raw")


def test_real_27al_31p_topspin_parameters_map():
    import nmrglue as ng

    folder = real("lcs-27al-31p-dhmqc-2d") / "1"
    acqu2s = ng.bruker.read_jcamp(str(folder / "acqu2s"))
    proc2s = ng.bruker.read_jcamp(str(folder / "pdata" / "1" / "proc2s"))
    d = bruker.topspin_processing(acqu2s, proc2s, "f1")
    # TD1 = 147 rows of States-TPPI, TDeff = 146 -> 73 complex points, EM with LB = 0
    assert (d["mode"], d["td_complex"], d["window"], d["size"]) == ("complex", 73, "em", 1024)
    assert d["sw_hz"] == pytest.approx(13513.5135, rel=1e-8)
    assert d["first_point_scale"] == 0.5


def test_a_topspin_2rr_records_the_phases_topspin_applied(tmp_path):
    from exsyfit.io.bruker import read_experiment
    from exsyfit.output.spectra import phase_text

    bundled = Path(__file__).resolve().parents[1] / "spectra/argyrodite_li2s_bruker_processed/10"
    folder = tmp_path / "10"
    shutil.copytree(bundled, folder)
    for name, (p0, p1) in (("procs", (12.5, -3.0)), ("proc2s", (90.0, 0.0))):
        path = folder / "pdata/1" / name
        text = path.read_text()
        text = re.sub(r"##\$PHC0= .*", f"##$PHC0= {p0}", text)
        text = re.sub(r"##\$PHC1= .*", f"##$PHC1= {p1}", text)
        path.write_text(text)
    spectrum = read_experiment(folder)
    spectrum = spectrum[0] if isinstance(spectrum, list) else spectrum
    phases = spectrum.metadata["phases"]
    assert phases["F2"] == {"p0_deg": 12.5, "p1_deg": -3.0}
    assert phases["F1"] == {"p0_deg": 90.0, "p1_deg": 0.0}
    assert "TopSpin" in phases["source"]
    assert phase_text(spectrum.metadata).startswith("F2 12.5/−3.0°, F1 90.0/0.0°")
