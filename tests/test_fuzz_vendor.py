"""Hostile header values: the vendor readers raise ExsyfitError (exit 2), never anything else.

A small simulated experiment of each kind (Bruker processed, Bruker raw, Varian) has one
parameter of acqus / acqu2s / procs / proc2s / procpar replaced by an extreme, undefined or
non-numeric value, or removed; reading its header and its data must either succeed or raise
an :class:`~exsyfit.errors.ExsyfitError`.  The named cases check that the message names the
file, the key, the value found and what was expected.
"""

from __future__ import annotations

import re
import shutil
import warnings
from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from exsyfit.errors import DataFormatError, ExsyfitError
from exsyfit.io import bruker, varian
from exsyfit.io.series import experiment_table
from exsyfit.io.spectrum import Spectrum2D
from exsyfit.processing.lineshapes import SimPeak
from exsyfit.simulate import bruker as sim_bruker
from exsyfit.simulate import varian as sim_varian

PEAK = [SimPeak(ppm_f2=1.0, ppm_f1=1.0, volume=1.0, fwhm_f2_ppm=2.0, fwhm_f1_ppm=2.0)]
BRUKER_FILES = ("acqus", "acqu2s", "pdata/1/procs", "pdata/1/proc2s")
HOSTILE = ("0", "-1", "1", "3", "0.5", "5000", "-5000", "1e9", "1e308", "-1e308", "nan",
           "inf", "abc", "<x>")


@pytest.fixture(scope="module")
def originals(tmp_path_factory) -> dict[str, Path]:
    root = tmp_path_factory.mktemp("fuzz")
    spec = Spectrum2D(np.random.default_rng(0).standard_normal((16, 32)),
                      np.linspace(10, -10, 16), np.linspace(10, -10, 32), sf_mhz=155.5)
    sim_bruker.write_processed(root / "proc", spec, te_K=300.0)
    sim_bruker.write_raw(root / "raw", PEAK, td2=32, td1=8, sw_ppm_f2=40.0, sw_ppm_f1=40.0,
                         o1_ppm=0.0, sf_mhz=155.5)
    sim_varian.write_fid(root / "v.fid", PEAK, np_=64, ni=8, sw_hz=5000.0, sw1_hz=5000.0,
                         sfrq_mhz=155.5, carrier_ppm=0.0, mix_s=[0.1, 0.2])
    return {"proc": root / "proc", "raw": root / "raw", "varian": root / "v.fid"}


def _jcamp_keys(path: Path) -> list[str]:
    return re.findall(r"^##\$(\w+)= (?!\()", path.read_text(), re.M)


def _set_jcamp(path: Path, key: str, value: str | None) -> None:
    text = path.read_text()
    if value is None:
        text = re.sub(rf"^##\${key}= .*\n", "", text, flags=re.M)
    else:
        text = re.sub(rf"^(##\${key}= ).*$", lambda m: m.group(1) + value, text, flags=re.M)
    path.write_text(text)


def _procpar_names(path: Path) -> list[str]:
    return re.findall(r"^(\w+) 1 1 ", path.read_text(), re.M)


def _set_procpar(path: Path, name: str, value: str | None) -> None:
    text = path.read_text()
    if value is None:
        text = re.sub(rf"^{name} .*\n.*\n0 \n", "", text, flags=re.M)
    else:
        text = re.sub(rf"^({name} 1 1 .*\n)\d+ .*\n", lambda m: f"{m.group(1)}1 {value} \n",
                      text, flags=re.M)
    path.write_text(text)


def _mutated(originals: dict[str, Path], kind: str, work: Path, file: str, key: str,
             value: str | None) -> Path:
    folder = work / ("exp.fid" if kind == "varian" else "1")
    if folder.exists():
        shutil.rmtree(folder)
    shutil.copytree(originals[kind], folder)
    if kind == "varian":
        _set_procpar(folder / "procpar", key, value)
    else:
        _set_jcamp(folder / file, key, value)
    return folder


def _read_all(kind: str, folder: Path) -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        if kind == "varian":
            varian.read_metadata(folder)
            varian.read_experiment(folder)
        else:
            bruker.read_metadata(folder)
            bruker.read_experiment(folder, prefer="processed" if kind == "proc" else "raw")
        experiment_table([folder.name], folder.parent,
                         temperature_calibration={"per_experiment": {folder.name: 300.0}})


@st.composite
def _mutation(draw, originals):
    kind = draw(st.sampled_from(["proc", "raw", "varian"]))
    if kind == "varian":
        file = "procpar"
        key = draw(st.sampled_from(_procpar_names(originals[kind] / file)))
    else:
        file = draw(st.sampled_from(BRUKER_FILES))
        key = draw(st.sampled_from(_jcamp_keys(originals[kind] / file)))
    value = draw(st.one_of(
        st.sampled_from(HOSTILE), st.none(),
        st.integers(-(2**40), 2**40).map(str),
        st.floats(allow_nan=True, allow_infinity=True).map(repr)))
    return kind, file, key, value


def test_fuzzed_headers_raise_only_exsyfit_errors(originals, tmp_path):
    @settings(max_examples=150, deadline=None, database=None,
              suppress_health_check=[HealthCheck.function_scoped_fixture])
    @given(_mutation(originals))
    def check(mutation):
        kind, file, key, value = mutation
        folder = _mutated(originals, kind, tmp_path, file, key, value)
        try:
            _read_all(kind, folder)
        except ExsyfitError:
            pass

    check()


@pytest.mark.parametrize(("kind", "file", "key", "value", "expected"), [
    ("proc", "pdata/1/procs", "BYTORDP", "7", r"procs: BYTORDP = 7; expected one of 0"),
    ("proc", "pdata/1/proc2s", "DTYPP", "1", r"proc2s: DTYPP = 1; expected one of 0 \(int32\)"),
    ("raw", "acqus", "BYTORDA", "2", r"acqus: BYTORDA = 2; expected one of 0"),
    ("raw", "acqus", "DTYPA", "1", r"acqus: DTYPA = 1; expected one of 0 \(int32\)"),
    ("proc", "pdata/1/procs", "NC_proc", "5000", r"procs: NC_proc = 5000; expected the "
                                                 r"intensity exponent, an integer from -64"),
    ("raw", "acqus", "NC", "5000", r"acqus: NC = 5000; expected the intensity exponent"),
    ("raw", "acqus", "SFO1", "0", r"acqus: SFO1 = 0; expected a positive frequency in MHz"),
    ("proc", "pdata/1/procs", "SF", "0", r"procs: SF = 0; expected a positive frequency"),
    ("proc", "pdata/1/proc2s", "SW_p", "0", r"proc2s: SW_p = 0; expected a positive spectral"),
    ("raw", "acqu2s", "TD", "1", r"acqu2s: TD = 1; expected the number of increments, an "
                                 r"integer from 2"),
    ("raw", "acqu2s", "TD", "0", r"acqu2s: TD = 0; expected"),
    ("raw", "pdata/1/proc2s", "SI", "1e9", r"proc2s: SI = 1e\+09; expected the size, an "
                                           r"integer from 0 to 67108864"),
    ("proc", "pdata/1/procs", "SI", "1000000000", r"procs: SI = 1e\+09; expected the size"),
])
def test_bruker_header_messages_name_file_key_value(originals, tmp_path, kind, file, key,
                                                    value, expected):
    folder = _mutated(originals, kind, tmp_path, file, key, value)
    with pytest.raises(DataFormatError, match=expected):
        bruker.read_experiment(folder, prefer="processed" if kind == "proc" else "raw")


def test_bruker_te_out_of_range_asks_for_the_sample_temperature(originals, tmp_path):
    folder = _mutated(originals, "proc", tmp_path, "acqus", "TE", "1e308")
    assert bruker.read_metadata(folder)["temperature_K"] is None
    with pytest.raises(ExsyfitError, match=r"acqus: TE = 1e\+308; expected a temperature in "
                                           r"kelvin up to 1000; give the sample temperature "
                                           r"in \[temperature\] per_experiment"):
        experiment_table(["1"], tmp_path)
    table = experiment_table(["1"], tmp_path,
                             temperature_calibration={"per_experiment": {"1": 305.0}})
    assert table["temperature_K"].tolist() == [305.0]


@pytest.mark.parametrize(("name", "value", "expected"), [
    ("np", "0", r"procpar: np = 0; expected an even whole number from 2"),
    ("ni", "1e9", r"procpar: ni = 1e\+09; expected a whole number of increments"),
    ("sw", "0", r"procpar: sw = 0; expected a spectral width > 0 Hz"),
    ("sfrq", "0", r"procpar: sfrq = 0; expected a frequency > 0 MHz"),
    ("nt", "0", r"procpar: nt = 0; expected a whole number of scans >= 1"),
    ("gain", "1e9", r"procpar: gain = 1e\+09; expected a receiver gain within"),
    ("fn1", "1e9", r"procpar: fn1 = 1e\+09; expected a whole number of points"),
])
def test_varian_procpar_messages_name_key_value(originals, tmp_path, name, value, expected):
    folder = _mutated(originals, "varian", tmp_path, "procpar", name, value)
    with pytest.raises(DataFormatError, match=expected):
        varian.read_experiment(folder)


@pytest.fixture(scope="module")
def foreign_files(tmp_path_factory) -> dict[str, bytes]:
    import nmrglue as ng

    root = tmp_path_factory.mktemp("foreign")
    udic = ng.fileiobase.create_blank_udic(2)
    for dim, n in ((0, 16), (1, 32)):
        udic[dim].update(size=n, complex=False, sw=3000.0, obs=155.5, car=280.0, label="7Li",
                         time=False, freq=True)
    data = np.random.default_rng(1).standard_normal((16, 32)).astype("float32")
    ng.pipe.write(str(root / "s.ft2"), ng.pipe.create_dic(udic), data)
    ng.sparky.write(str(root / "s.ucsf"), ng.sparky.create_dic(udic), data)
    return {name: (root / name).read_bytes() for name in ("s.ft2", "s.ucsf")}


def test_fuzzed_nmrpipe_and_sparky_headers_raise_only_exsyfit_errors(foreign_files, tmp_path):
    from exsyfit.io import nmrpipe, sparky

    @settings(max_examples=80, deadline=None, database=None,
              suppress_health_check=[HealthCheck.function_scoped_fixture])
    @given(st.sampled_from(["s.ft2", "s.ucsf"]), st.integers(0, 435),
           st.sampled_from([0.0, -1.0, 1.0, 3.0, 1e9, 1e30, -1e30, float("nan"),
                            float("inf")]),
           st.booleans())
    def check(name, offset, value, truncate):
        raw = bytearray(foreign_files[name])
        if name.endswith(".ft2"):
            at = 4 * (offset % 512)
            raw[at:at + 4] = np.float32(value).tobytes()
        else:  # Sparky header fields are big-endian
            raw[offset:offset + 4] = np.array(value, ">f4").tobytes()
        if truncate:
            raw = raw[: len(raw) // 2]
        path = tmp_path / name
        path.write_bytes(bytes(raw))
        reader = nmrpipe if name.endswith(".ft2") else sparky
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                reader.read_metadata(path)
                reader.read_experiment(path)
        except ExsyfitError:
            pass

    check()
