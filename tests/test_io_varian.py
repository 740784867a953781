"""Varian/Agilent reader and writer: round trips, referencing, arrays, refusals, real files."""

from __future__ import annotations

import hashlib
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest

from exsyfit.errors import DataFormatError
from exsyfit.io import varian
from exsyfit.processing.lineshapes import SimPeak
from exsyfit.processing.transforms import ProcessingOptions
from exsyfit.simulate import varian as sim_varian

REAL = Path(__file__).resolve().parents[1] / ".." / "shared" / "data" / "real"
SF = 155.5
QSINE = ProcessingOptions(window_f1="qsine", ssb_f1=2.0)


def _checksums(folder: Path) -> dict[str, str]:
    return {str(p.relative_to(folder)): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(folder.rglob("*")) if p.is_file()}


def _box(sp, f1: float, f2: float, half: float = 2.5) -> float:
    m1 = np.abs(sp.ppm_f1 - f1) < half
    m2 = np.abs(sp.ppm_f2 - f2) < half
    return float(sp.data[np.ix_(m1, m2)].sum() * sp.ppm_step_f1 * sp.ppm_step_f2)


PEAKS = [
    SimPeak(-2.0, -2.0, 0.8, 0.6, 0.6, 0.0, 0.0),
    SimPeak(6.0, -2.0, 0.05, 0.6, 0.5, 0.0, 0.0),
    SimPeak(-2.0, 6.0, 0.05, 0.5, 0.6, 0.0, 0.0),
    SimPeak(6.0, 6.0, 0.1, 0.5, 0.5, 0.0, 0.0),
]


def _write(tmp_path: Path, name: str = "a.fid", **kw) -> Path:
    peaks = kw.pop("peaks", PEAKS)
    args = dict(np_=512, ni=64, sw_hz=60 * SF, sw1_hz=30 * SF, sfrq_mhz=SF, carrier_ppm=2.0,
                temp_C=30.0, mix_s=0.05, nt=8, gain=24.0)
    args.update(kw)
    return sim_varian.write_fid(tmp_path / name, peaks, **args)


def test_round_trip_volumes_axes_metadata(tmp_path):
    folder = _write(tmp_path, phase_error_deg=(35.0, 0.0, -20.0, 0.0))
    (sp,) = varian.read_experiment(folder, options=QSINE)
    assert sp.format == "varian"
    assert sp.nucleus == "7Li"
    assert sp.temperature_K == pytest.approx(303.15)
    assert sp.mixing_time_s == pytest.approx(0.05)
    assert sp.scans == 8 and sp.receiver_gain == 24.0
    assert sp.intensity_factor == pytest.approx(1 / (8 * 10 ** (24 / 20)))
    # axes: NMR order, left edge = carrier + sw/2
    assert sp.ppm_f2[0] == pytest.approx(2.0 + 30.0)
    assert sp.ppm_f1[0] == pytest.approx(2.0 + 15.0)
    assert np.all(np.diff(sp.ppm_f2) < 0) and np.all(np.diff(sp.ppm_f1) < 0)
    i1, i2 = np.unravel_index(np.argmax(sp.data), sp.shape)
    assert sp.ppm_f1[i1] == pytest.approx(-2.0, abs=sp.ppm_step_f1)
    assert sp.ppm_f2[i2] == pytest.approx(-2.0, abs=sp.ppm_step_f2)
    for pk in PEAKS:
        assert _box(sp, pk.ppm_f1, pk.ppm_f2) == pytest.approx(pk.volume, rel=0.01, abs=5e-4)


def test_stored_phases_are_applied_and_overridable(tmp_path):
    folder = _write(tmp_path, phase_error_deg=(60.0, 0.0, 40.0, 0.0))
    (good,) = varian.read_experiment(folder, options=QSINE)
    (bad,) = varian.read_experiment(folder, options=QSINE, phases=(0, 0, 0, 0))
    v_good = _box(good, -2.0, -2.0)
    v_bad = _box(bad, -2.0, -2.0)
    assert v_good == pytest.approx(0.8, rel=0.01)
    # unphased by 60 deg (F2) and 40 deg (F1): absorptive part scales by cos60*cos40
    assert v_bad == pytest.approx(0.8 * np.cos(np.deg2rad(60)) * np.cos(np.deg2rad(40)),
                                  rel=0.03)


def test_arrayed_mixing_times_and_normalisation(tmp_path):
    per_mix = [[SimPeak(-2.0, -2.0, v, 0.6, 0.6, 0.0, 0.0)] for v in (0.9, 0.5, 0.2)]
    folder = _write(tmp_path, peaks=per_mix, mix_s=[0.01, 0.1, 0.5], nt=32, gain=40.0)
    spectra = varian.read_experiment(folder, options=QSINE)
    assert [s.mixing_time_s for s in spectra] == pytest.approx([0.01, 0.1, 0.5])
    assert [s.source.endswith(f"[{k}]") for k, s in enumerate(spectra, 1)] == [True] * 3
    vols = [_box(s, -2.0, -2.0) for s in spectra]
    assert vols == pytest.approx([0.9, 0.5, 0.2], rel=0.01)
    raw = varian.read_experiment(folder, options=QSINE, normalise=False)
    assert _box(raw[0], -2.0, -2.0) == pytest.approx(0.9 * 32 * 10 ** 2, rel=0.01)
    meta = varian.read_metadata(folder)
    assert meta["mixing_times_s"] == pytest.approx([0.01, 0.1, 0.5])
    assert meta["dimensionality"] == "arrayed 2D"
    assert meta["mixing_time_source"] == "mix"


def test_mixing_time_sources(tmp_path):
    folder = _write(tmp_path, mix_s=0.25)
    assert varian.read_metadata(folder)["mixing_time_s"] == pytest.approx(0.25)
    assert varian.read_metadata(folder, mixing_time=0.125)["mixing_time_s"] == 0.125
    assert varian.read_metadata(folder, mixing_time="param:nt")["mixing_time_s"] == 8.0
    meta = varian.read_metadata(folder, mixing_time="param:mixT")
    assert "no parameter 'mixT'" in meta["mixing_time_error"]
    with pytest.raises(DataFormatError, match="no parameter 'mixT'"):
        varian.read_experiment(folder, mixing_time="param:mixT")


def test_procpar_parser_tolerates_multiline_strings(tmp_path):
    pp = tmp_path / "procpar"
    pp.write_text('sfrq 1 1 1e9 0 0 2 1 0 1 64\n1 155.5\n0\n'
                  'NTppdate 2 2 64 0 0 2 1 0 1 64\n1 "line one\nline two"\n0\n'
                  'tn 2 2 8 0 0 2 1 0 1 64\n1 "Li7"\n0\n')
    params = varian.read_procpar(pp)
    assert params["sfrq"].values == (155.5,)
    assert params["NTppdate"].values == ("line one\nline two",)
    assert varian.varian_nucleus(params["tn"].values[0]) == "7Li"


def test_refusals_name_folder_and_file(tmp_path):
    folder = _write(tmp_path)
    # truncated fid
    trunc = tmp_path / "trunc.fid"
    trunc.mkdir()
    (trunc / "procpar").write_bytes((folder / "procpar").read_bytes())
    (trunc / "fid").write_bytes((folder / "fid").read_bytes()[:5000])
    with pytest.raises(DataFormatError, match=r"trunc\.fid/fid: truncated"):
        varian.read_experiment(trunc)
    # missing procpar / fid
    nopp = tmp_path / "nopp.fid"
    nopp.mkdir()
    (nopp / "fid").write_bytes(b"")
    with pytest.raises(DataFormatError, match=r"nopp\.fid: no 'procpar' file"):
        varian.read_experiment(nopp)
    nofid = tmp_path / "nofid.fid"
    nofid.mkdir()
    (nofid / "procpar").write_bytes((folder / "procpar").read_bytes())
    with pytest.raises(DataFormatError, match=r"nofid\.fid: no 'fid' file"):
        varian.read_experiment(nofid)
    # garbage numbers in procpar
    bad = tmp_path / "bad.fid"
    bad.mkdir()
    (bad / "fid").write_bytes((folder / "fid").read_bytes())
    text = (folder / "procpar").read_text().replace("sfrq 1 1", "sfrq 1 1 x")
    (bad / "procpar").write_text(text)
    with pytest.raises(DataFormatError, match=r"bad\.fid/procpar: not a readable VnmrJ"):
        varian.read_experiment(bad)
    # not hypercomplex
    tppi = tmp_path / "tppi.fid"
    tppi.mkdir()
    (tppi / "fid").write_bytes((folder / "fid").read_bytes())
    head = "phase 1 1 1e+18 -1e+18 0 2 1 0 1 64\n"
    (tppi / "procpar").write_text((folder / "procpar").read_text().replace(
        head + "2 1.0 2.0", head + "1 3.0"))
    with pytest.raises(DataFormatError, match=r"tppi\.fid/procpar: phase = 3"):
        varian.read_experiment(tppi)


def test_writer_refuses_to_overwrite(tmp_path):
    _write(tmp_path)
    with pytest.raises(FileExistsError):
        _write(tmp_path)


# ---- real files ------------------------------------------------------------------------------

def _real(name: str) -> Path:
    p = REAL / name
    if not p.is_dir():
        pytest.skip(f"real test data {p} not present "
                    "(see ../shared/data/real/README.md beside the repository)")
    return p


def test_real_1d_is_refused_with_reason():
    folder = _real("nmrpy-varian-31p-1d/test2.fid")
    before = _checksums(folder)
    with pytest.raises(DataFormatError, match=r"test2\.fid: is a 1D experiment \(ni = 1"):
        varian.read_experiment(folder)
    meta = varian.read_metadata(folder)
    assert meta["nucleus"] == "31P"
    assert meta["sf_mhz"] == pytest.approx(242.8758083)
    assert meta["temperature_K"] == pytest.approx(298.15)
    assert meta["scans"] == 1000 and meta["receiver_gain"] == 50.0
    assert meta["ndim"] == 1 and meta["size"] == "1x16384"
    assert _checksums(folder) == before


def test_real_arrayed_1d_series_refused():
    folder = _real("nmrpy-varian-31p-array/test1.fid")
    with pytest.raises(DataFormatError,
                       match=r"test1\.fid: is a 1D experiment .*arrayed over 'nt'"):
        varian.read_experiment(folder)
    meta = varian.read_metadata(folder)
    assert meta["n_elements"] == 24
    assert meta["temperature_K"] == pytest.approx(269.15)  # temp = -4 C


def test_real_satrec_metadata_and_refusal():
    folder = _real("ssnake-87rb-satrec-varian/satrec2D.fid")
    before = _checksums(folder)
    meta = varian.read_metadata(folder, mixing_time="param:tau_recovery")
    assert meta["nucleus"] == "87Rb"
    assert meta["sf_mhz"] == pytest.approx(196.3444528)
    assert meta["temperature_K"] is None  # VT off: temp parameter inactive
    assert meta["n_elements"] == 12 and meta["array"] == "tau_recovery"
    assert meta["mixing_times_s"][0] == pytest.approx(0.001)
    assert meta["mixing_times_s"][-1] == pytest.approx(5.0)
    assert meta["size"] == "1x1923"
    with pytest.raises(DataFormatError, match=r"satrec2D\.fid: is a 1D experiment .*tau_recovery"):
        varian.read_experiment(folder)
    assert _checksums(folder) == before


def test_real_rp_sign_gives_absorption():
    """Stored rp (lp = 0) phases the real 87Rb spectrum: most of its area is positive."""
    import nmrglue as ng

    folder = _real("ssnake-87rb-satrec-varian/satrec2D.fid")
    pp = varian.read_procpar(folder / "procpar")
    _, data = ng.varian.read(str(folder))
    fid = np.asarray(data[-1], complex)
    fid[0] *= 0.5
    fid *= np.exp(-np.arange(fid.size) * np.pi * 2 / float(pp["sw"].values[0]))
    spec = np.fft.fftshift(np.fft.fft(fid))
    rp = float(pp["rp"].values[0])
    good = (spec * np.exp(1j * np.deg2rad(rp))).real
    bad = (spec * np.exp(-1j * np.deg2rad(rp))).real
    assert good.sum() / np.abs(good).sum() > 0.6
    assert good.sum() > bad.sum()


def test_auto_phase_recovers_the_stored_phase(tmp_path):
    folder = _write(tmp_path, phase_error_deg=(35.0, 0.0, -20.0, 0.0))
    (ref,) = varian.read_experiment(folder, options=QSINE)
    wrong = replace(QSINE, p0_f2=0.0, p0_f1=0.0, auto_phase=True)
    (sp,) = varian.read_experiment(folder, options=wrong)
    stored = ref.metadata["phases_deg"]
    found = sp.metadata["phases_deg"]
    assert found["rp"] == pytest.approx(stored["rp"], abs=2.0)
    assert found["rp1"] == pytest.approx(stored["rp1"], abs=2.0)
    assert _box(sp, -2.0, -2.0) == pytest.approx(_box(ref, -2.0, -2.0), rel=2e-3)
