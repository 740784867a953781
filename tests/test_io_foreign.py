"""NMRPipe and Sparky processed spectra: files written by nmrglue's own writers, read back."""

from __future__ import annotations

import shutil
from pathlib import Path

import nmrglue as ng
import numpy as np
import pytest

from exsyfit.errors import ConfigError, DataFormatError, SeriesError
from exsyfit.io import nmrpipe, sparky
from exsyfit.io.series import detect_format, experiment_table, read_series
from exsyfit.processing.lineshapes import SimPeak
from exsyfit.simulate import series as sim

SF = 155.5
N1, N2 = 64, 128
SW1, SW2 = 20.0 * SF, 40.0 * SF  # Hz
CAR = 1.8  # ppm
PEAKS = [SimPeak(ppm_f2=1.3, ppm_f1=1.3, volume=1.0, fwhm_f2_ppm=0.6, fwhm_f1_ppm=0.6),
         SimPeak(ppm_f2=2.3, ppm_f1=1.3, volume=0.2, fwhm_f2_ppm=0.6, fwhm_f1_ppm=0.6),
         SimPeak(ppm_f2=-4.0, ppm_f1=6.0, volume=0.5, fwhm_f2_ppm=0.8, fwhm_f1_ppm=0.8)]


def _axis(n: int, sw_hz: float) -> np.ndarray:
    """Point i at carrier + (n/2 - i) sw/n: the TopSpin / nmrglue convention."""
    return CAR + (n // 2 - np.arange(n)) * sw_hz / SF / n


PPM1, PPM2 = _axis(N1, SW1), _axis(N2, SW2)
DATA = sum(p.render(PPM1, PPM2) for p in PEAKS).astype("float32")


def _udic(label: str = "7Li") -> dict:
    udic = ng.fileiobase.create_blank_udic(2)
    for dim, n, sw in ((0, N1, SW1), (1, N2, SW2)):
        udic[dim].update(size=n, complex=False, sw=sw, obs=SF, car=CAR * SF, label=label,
                         time=False, freq=True, encoding="states" if dim == 0 else "direct")
    return udic


def _write_pipe(path: Path, data: np.ndarray = DATA, **header: float) -> Path:
    dic = ng.pipe.create_dic(_udic())
    dic.update(header)
    ng.pipe.write(str(path), dic, data, overwrite=True)
    return path


def _write_sparky(path: Path, data: np.ndarray = DATA) -> Path:
    ng.sparky.write(str(path), ng.sparky.create_dic(_udic()), data, overwrite=True)
    return path


@pytest.mark.parametrize("suffix", [".ft2", ".DAT"])
def test_nmrpipe_round_trip_axes_and_data(tmp_path, suffix):
    path = _write_pipe(tmp_path / f"exsy{suffix}", FDTEMPERATURE=25.0)
    assert detect_format(path) == "nmrpipe" and nmrpipe.is_nmrpipe_spectrum(path)
    (s,) = nmrpipe.read_experiment(path, mixing_time=0.05)
    np.testing.assert_allclose(s.ppm_f1, PPM1, atol=1e-5)  # float32 header
    np.testing.assert_allclose(s.ppm_f2, PPM2, atol=1e-5)  # float32 header
    np.testing.assert_array_equal(s.data, DATA)
    assert (s.nucleus, s.sf_mhz, s.format, s.mixing_time_s) == ("7Li", SF, "nmrpipe", 0.05)
    assert s.temperature_K == pytest.approx(298.15)  # FDTEMPERATURE is in degrees Celsius
    i1, i2 = np.unravel_index(np.argmax(s.data), s.data.shape)
    assert abs(s.ppm_f1[i1] - 1.3) < s.ppm_step_f1 and abs(s.ppm_f2[i2] - 1.3) < s.ppm_step_f2


def test_nmrpipe_transposed_file_is_put_back(tmp_path):
    dic = ng.pipe.create_dic(_udic())
    dic["FDTRANSPOSED"] = 1.0
    dic["FDDIMORDER"] = [1.0, 2.0, 3.0, 4.0]
    dic["FDDIMORDER1"], dic["FDDIMORDER2"] = 1.0, 2.0
    dic["FDSIZE"], dic["FDSPECNUM"] = float(N1), float(N2)
    ng.pipe.write(str(tmp_path / "t.ft2"), dic, np.ascontiguousarray(DATA.T), overwrite=True)
    (s,) = nmrpipe.read_experiment(tmp_path / "t.ft2")
    assert s.metadata["transposed"] is True
    np.testing.assert_array_equal(s.data, DATA)
    np.testing.assert_allclose(s.ppm_f2, PPM2, atol=1e-5)  # float32 header


def test_sparky_round_trip_axes_and_data(tmp_path):
    path = _write_sparky(tmp_path / "exsy.ucsf")
    assert detect_format(path) == "sparky"
    (s,) = sparky.read_experiment(path)
    np.testing.assert_allclose(s.ppm_f1, PPM1, atol=1e-5)  # float32 header
    np.testing.assert_allclose(s.ppm_f2, PPM2, atol=1e-5)  # float32 header
    np.testing.assert_array_equal(s.data, DATA)
    assert (s.nucleus, s.sf_mhz, s.temperature_K, s.mixing_time_s) == ("7Li", SF, None, None)


def test_bad_headers_are_data_format_errors(tmp_path):
    with pytest.raises(DataFormatError, match=r"FDF1SW = 0.0; expected a positive number"):
        nmrpipe.read_experiment(_write_pipe(tmp_path / "a.ft2", FDF1SW=0.0))
    with pytest.raises(DataFormatError, match=r"FDF2OBS = 0.0; expected a positive number"):
        nmrpipe.read_experiment(_write_pipe(tmp_path / "b.ft2", FDF2OBS=0.0))
    (tmp_path / "c.ft2").write_bytes(b"\0" * 100)
    with pytest.raises(DataFormatError, match="not an NMRPipe spectrum"):
        nmrpipe.read_experiment(tmp_path / "c.ft2")
    head = (tmp_path / "exsy.ucsf")
    _write_sparky(head)
    (tmp_path / "short.ucsf").write_bytes(head.read_bytes()[:300])
    with pytest.raises(DataFormatError, match="short.ucsf"):
        sparky.read_experiment(tmp_path / "short.ucsf")


@pytest.fixture
def pipe_series(tmp_path):
    """Four NMRPipe spectra: two temperatures x two mixing times (the file has neither)."""
    for name in ("a_10ms", "a_200ms", "b_10ms", "b_200ms"):
        _write_pipe(tmp_path / f"{name}.ft2", DATA * (0.5 if "200" in name else 1.0))
    return tmp_path


def test_read_series_takes_mixing_times_and_temperatures_from_the_config(pipe_series):
    mix = {"a_10ms.ft2": 0.01, "a_200ms.ft2": 0.2, "b_10ms.ft2": 0.01, "b_200ms.ft2": 0.2}
    temps = {"per_experiment": {"a_10ms.ft2": 300.0, "a_200ms.ft2": 300.5,
                                "b_10ms.ft2": 320.0, "b_200ms.ft2": 320.0}}
    s = read_series(["*.ft2"], pipe_series, mixing_time=mix, temperature_calibration=temps)
    assert s.read_as == "processed"
    assert [sp.experiment for sp in s.spectra] == list(mix)
    assert [sp.mixing_time_s for sp in s.spectra] == [0.01, 0.2, 0.01, 0.2]
    assert [sp.sample_temperature_K for sp in s.spectra] == [300.25, 300.25, 320.0, 320.0]
    assert s.spectra[1].data.max() == pytest.approx(0.5 * DATA.max())
    table = experiment_table(["*.ft2"], pipe_series, mixing_time=mix,
                             temperature_calibration=temps)
    assert set(table["format"]) == {"nmrpipe"} and table["has_raw"].sum() == 0


def test_series_without_mixing_times_or_with_unknown_keys_is_refused(pipe_series):
    temps = {"per_experiment": {n.name: 300.0 for n in pipe_series.glob("*.ft2")}}
    with pytest.raises(SeriesError, match=r"NMRPipe files record no mixing time; give it per "
                                          r"experiment, \[data\] mixing_time = "):
        read_series(["*.ft2"], pipe_series, temperature_calibration=temps,
                    replicates_allowed=True)
    with pytest.raises(ConfigError, match=r"\[data\] mixing_time: 'a_10.ft2' is not an "
                                          r"experiment.*did you mean 'a_10ms.ft2'"):
        experiment_table(["*.ft2"], pipe_series, mixing_time={"a_10.ft2": 0.01},
                         temperature_calibration=temps)


def test_series_refuses_to_mix_programs(pipe_series):
    _write_sparky(pipe_series / "c.ucsf")
    sim.simulate_series(pipe_series / "bruker", sim.example_truth(), [300.0], [0.01],
                        acquisition=sim.Acquisition(n_f1=32, n_f2=64))
    shutil.move(pipe_series / "bruker" / "10", pipe_series / "10")
    temps = {"per_experiment": {"a_10ms.ft2": 300.0, "c.ucsf": 300.0}}
    mix = {"a_10ms.ft2": 0.01, "c.ucsf": 0.2}
    with pytest.raises(SeriesError, match="mixes nmrpipe, sparky spectra"):
        read_series(["a_10ms.ft2", "c.ucsf"], pipe_series, mixing_time=mix,
                    temperature_calibration=temps)
    with pytest.raises(SeriesError, match="mixes bruker, nmrpipe spectra"):
        read_series(["a_10ms.ft2", "10"], pipe_series, mixing_time={"a_10ms.ft2": 0.2},
                    temperature_calibration={"per_experiment": {"a_10ms.ft2": 300.0}})


def test_config_table_of_mixing_times(pipe_series):
    from exsyfit.config import config_from_dict

    names = ["a_10ms.ft2", "a_200ms.ft2", "b_10ms.ft2", "b_200ms.ft2"]
    mix = dict(zip(names, [0.01, 0.2] * 2, strict=True))
    temps = dict(zip(names, [300.0, 300.0, 320.0, 320.0], strict=True))
    raw = {"data": {"paths": ["*.ft2"], "mixing_time": mix},
           "temperature": {"per_experiment": temps},
           "sites": {"A": {"ppm": 1.3}, "B": {"ppm": 2.3}},
           "model": {"temperature_model": "arrhenius", "exchange": ["A<->B"]}}
    s = read_series(config_from_dict(raw, pipe_series / "config.toml"))
    assert [sp.mixing_time_s for sp in s.spectra] == [0.01, 0.2, 0.01, 0.2]
    assert list(s.temperatures_K) == [300.0, 300.0, 320.0, 320.0]
